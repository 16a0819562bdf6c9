"""Physical constants and the conversions from user units (mm, Å, degrees, mrad, µm, eV) to SI,
in one place.

The conversions are written exactly as the C program evaluates them (``atof(x)/1000.0``,
``atof(x)/RTD``, ``x*1e-6``, ...): a division and a multiplication by the reciprocal differ in
the last bit for some inputs, and the float64 image must stay C's to the last bit. That is why
some units have two spellings below (C converts ``-water`` with ``/1e6`` but ``-detector_thick``
with ``*1e-6``). This module imports nothing, so that the command-line parser stays free of torch.
"""

#: degrees per radian, exactly as C computes it (180 * M_1_PI); inputs are divided by it
RTD = 180.0 * 0.318309886183790671538
#: h*c in eV·Å, used by -energy
HC_EV_ANGSTROM = 12398.42
#: Thomson cross-section r_e^2 (m^2), as hard-coded in nanoBragg
R_E_SQR = 7.94079248018965e-30
AVOGADRO = 6.02214179e23

MM_PER_M = 1000.0
ANGSTROM_PER_M = 1.0e10


def mm(v: float) -> float:
    """mm -> m (C: ``atof(x)/1000.0``)."""
    return v / MM_PER_M


def um(v: float) -> float:
    """µm -> m, as C converts sensor thickness and attenuation length (``x*1e-6``)."""
    return v * 1e-6


def um_divided(v: float) -> float:
    """µm -> m, as C converts the water droplet size (``atof(x)/1e6``)."""
    return v / 1e6


def deg(v: float) -> float:
    """degrees -> rad (C: ``atof(x)/RTD``)."""
    return v / RTD


def mrad(v: float) -> float:
    """mrad -> rad (C: ``atof(x)/1000.0``)."""
    return v / 1000.0


def angstrom(v: float) -> float:
    """Å -> m, as C converts the wavelength (``atof(x)/1.0e10``)."""
    return v / ANGSTROM_PER_M


def angstrom_times(v: float) -> float:
    """Å -> m, as C converts ``-dmin`` (``x*1e-10``)."""
    return v * 1e-10


def percent(v: float) -> float:
    """% -> fraction (C: ``atof(x)/100.0``)."""
    return v / 100.0


def ev_wavelength(energy_ev: float) -> float:
    """Photon energy in eV -> wavelength in m (C: ``(12398.42/atof(x))/1.0e10``)."""
    return (HC_EV_ANGSTROM / energy_ev) / ANGSTROM_PER_M
