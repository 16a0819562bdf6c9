"""What a parsed nanoBragg command line yields beyond the simulation config: the outputs to
write, the files read, and where each config value came from (to name the flag in messages)."""

from __future__ import annotations

from dataclasses import dataclass, field

from nanobragg.config import SimulationConfig
from nanobragg.errors import NanoBraggError

#: environment variable giving the default of ``-dtype``
DTYPE_ENV = "NB_PYTORCH_DTYPE"
HELP_FLAGS = ("-h", "-help", "--help")

DEFAULT_FLOATFILE = "floatimage.bin"
DEFAULT_INTFILE = "intimage.img"
DEFAULT_NOISEFILE = "noiseimage.img"
DEFAULT_PGMFILE = "image.pgm"
DEFAULT_ADC = 40.0


class ArgumentError(NanoBraggError):
    """A bad command line: unknown flag, missing or garbled value, bad combination."""


@dataclass
class OutputOptions:
    """What to write and print, beyond the simulation itself (C defaults)."""

    floatfile: str = DEFAULT_FLOATFILE
    intfile: str = DEFAULT_INTFILE
    noisefile: str = DEFAULT_NOISEFILE
    pgmfile: str = DEFAULT_PGMFILE
    write_noise: bool = True
    write_pgm: bool = True
    #: int-image and PGM scale factors; <= 0 means automatic (C rules)
    scale: float = 0.0
    pgmscale: float = 0.0
    adc: float = DEFAULT_ADC
    #: ``-trace_pixel SLOW FAST``
    trace_pixel: tuple[int, int] | None = None
    #: ``-printout`` / ``-printout_pixel FAST SLOW`` (C's per-pixel debug lines)
    printout: bool = False
    printout_pixel: tuple[int, int] | None = None
    progress: bool = True
    #: ``-max_terms``: refuse a render above this many terms (None: $NB_MAX_TERMS or the
    #: default of nanobragg.workload; 0: no limit)
    max_terms: int | None = None
    #: extra outputs beyond C
    cbf_file: str | None = None
    h5_file: str | None = None
    png_file: str | None = None

    def files(self) -> list[tuple[str, str]]:
        """(flag, file name) of every file this run writes, in C's order, extras last."""
        out = [("-floatfile", self.floatfile), ("-intfile", self.intfile)]
        if self.write_pgm:
            out.append(("-pgmfile", self.pgmfile))
        if self.write_noise:
            out.append(("-noisefile", self.noisefile))
        if self.cbf_file:
            out.append(("-cbf", self.cbf_file))
        if self.h5_file:
            out.append(("-h5", self.h5_file))
        if self.png_file:
            out.append(("-pngfile", self.png_file))
        return out


@dataclass
class ParsedArgs:
    """Result of :func:`nanobragg.cli.args.parse_args`."""

    simulation: SimulationConfig
    outputs: OutputOptions
    #: ``-h``/``--help`` was given (nothing else was parsed)
    show_help: bool = False
    #: input files as typed (for messages): -img, -mask, -mat, -sourcefile
    img_file: str | None = None
    mask_file: str | None = None
    mat_file: str | None = None
    source_file: str | None = None
    #: -stol/-4stol/-Q files as typed (read only to be checked)
    table_files: list[tuple[str, str]] = field(default_factory=list)
    #: config field (dotted path) -> the flag and values that last set it, as typed
    origins: dict[str, str] = field(default_factory=dict)
    #: config field -> the table's name of the flag that last set it
    setters: dict[str, str] = field(default_factory=dict)
    #: one line per token read differently from an exact reading (C's matching), for stderr
    notices: list[str] = field(default_factory=list)

    def input_files(self) -> list[tuple[str, str]]:
        """(flag, name as typed) of every file this run reads."""
        named = [("-img", self.img_file), ("-mask", self.mask_file), ("-mat", self.mat_file),
                 ("-sourcefile", self.source_file)]
        sf = self.simulation.structure_factors
        if sf.hkl_file is not None:
            named.append(("-hkl", str(sf.hkl_file)))
        elif sf.dump_file is not None:
            named.append(("-dump", str(sf.dump_file)))
        return [(flag, name) for flag, name in named if name is not None] + self.table_files
