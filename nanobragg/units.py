"""Conversions from command-line units to SI (metres, radians), in one place."""

MM = 1.0e-3
UM = 1.0e-6
ANGSTROM = 1.0e-10
MRAD = 1.0e-3
#: degrees per radian, exactly as C computes it (180 * M_1_PI); inputs are divided by it
RTD = 180.0 * 0.318309886183790671538
DEG = 1.0 / RTD
#: h*c in eV·Å, used by -energy
HC_EV_ANGSTROM = 12398.42
#: Thomson cross-section r_e^2 (m^2), as hard-coded in nanoBragg
R_E_SQR = 7.94079248018965e-30
AVOGADRO = 6.02214179e23
