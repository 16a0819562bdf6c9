"""MTZ reflection files (``-mtz``, or ``-hkl x.mtz``), read with gemmi: beyond C."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nanobragg.errors import InputFileError
from nanobragg.io.format import FileFormat
from nanobragg.io.hkl import HKLData
from nanobragg.io.inputfile import check_input_file

#: MTZ column types that hold structure-factor amplitudes (F, and F(+)/F(-))
AMPLITUDE_TYPES = ("F", "G")
MTZ_TYPE_NAMES = {"P": "phase", "J": "intensity", "K": "anomalous intensity", "Q": "sigma",
                  "L": "anomalous sigma", "D": "anomalous difference", "W": "weight",
                  "A": "phase probability", "I": "integer", "H": "Miller index", "B": "batch",
                  "Y": "M/ISYM", "R": "real number"}


def read_mtz(path: Path, column: str | None = None, name: str | None = None) -> HKLData:
    """Read amplitudes from an MTZ file with gemmi and expand them to a complete P1 list.

    Beyond C (which only reads text HKL files). The amplitude column is ``column`` or, by
    default, the first column of MTZ type ``F``. Missing values (NaN) are dropped. The
    reflections are expanded with every rotation of the file's space group and with Friedel
    mates (F(-h) = F(h), no anomalous signal), so that looking up any hkl of the P1 grid gives
    its symmetry-equivalent amplitude. Where two expansions land on the same hkl the first one
    (identity operator, then the file's own order) is kept.

    Raises:
        InputFileError: gemmi missing, file unreadable, or no suitable column.
    """
    name = str(path) if name is None else name
    try:
        import gemmi
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise InputFileError(f"{name}: reading MTZ files needs the 'gemmi' package") from exc
    check_input_file(Path(path), name)
    try:
        mtz = gemmi.read_mtz_file(str(path))
    except (RuntimeError, OSError, ValueError) as exc:
        raise InputFileError(f"{name}: cannot read MTZ file ({exc})") from exc
    labels = [c.label for c in mtz.columns]
    amp = [c.label for c in mtz.columns if c.type in AMPLITUDE_TYPES]
    if column is None:
        if not amp:
            raise InputFileError(f"{name}: no amplitude (type F) column; columns are {labels}")
        column = amp[0]
    elif column not in labels:
        raise InputFileError(f"{name}: no column {column!r}; columns are {labels}")
    elif column not in amp:
        kind = mtz.column_with_label(column).type
        what = MTZ_TYPE_NAMES.get(kind, "not an amplitude")
        raise InputFileError(f"-mtz_column {column}: {name} column of MTZ type {kind} ({what}), "
                             f"not amplitudes; amplitude columns are {amp}")
    data = np.array(mtz.array, dtype=np.float64)
    hkl = np.rint(data[:, :3]).astype(np.int64)
    values = data[:, labels.index(column)]
    keep = ~np.isnan(values)
    hkl, values = hkl[keep], values[keep]
    if hkl.shape[0] == 0:
        raise InputFileError(f"{name}: column {column!r} has no values")
    sg = mtz.spacegroup if mtz.spacegroup is not None else gemmi.find_spacegroup_by_name("P1")
    ops = sg.operations()
    rotations = [np.array(op.rot, dtype=np.int64) // op.DEN for op in ops.sym_ops]
    expanded = [hkl @ r for r in rotations]
    expanded += [-x for x in expanded]
    all_hkl = np.concatenate(expanded)
    all_f = np.tile(values, len(expanded))
    _, first = np.unique(all_hkl, axis=0, return_index=True)
    first.sort()
    message = (
        f"read {len(values)} amplitudes ({column}) from {name}, space group {sg.hm}: "
        f"expanded to {len(first)} P1 reflections incl. Friedel mates"
    )
    return HKLData(all_hkl[first], all_f[first], name, (message,))


FORMAT = FileFormat(
    name="mtz", what="-mtz: reflections with amplitude columns (CCP4 MTZ, via gemmi)",
    suffixes=(".mtz",), understand=lambda head: head.startswith(b"MTZ "), read=read_mtz)
