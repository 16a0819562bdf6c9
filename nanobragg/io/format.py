"""What a file format declares: its name, how it recognises its files, how it reads and writes.

Every module of :mod:`nanobragg.io` that implements a format ends with one ``FORMAT =
FileFormat(...)``, and :mod:`nanobragg.io.registry` lists them all (the models are pre-commit's
``lang_base.py`` protocol with ``all_languages.py``, and dxtbx's ``Format.understand``). A format
implements its reading rules once; the command line, nb-compare, the analysis tools and the
series/refine commands read and write that format through its module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: how many leading bytes :attr:`FileFormat.understand` is shown
HEAD_BYTES = 64

#: (slow, fast) pixel counts, for the formats whose files do not say
Shape = tuple[int, int]


@dataclass(frozen=True)
class FileFormat:
    """One file format.

    Attributes:
        name: short name (``"smv"``), as :func:`nanobragg.io.registry.by_name` finds it.
        what: one line on what its files hold and which flags use them.
        suffixes: the usual file-name endings (lower case, with the dot); for recognition only
            when :attr:`understand` is None or says no.
        understand: whether a file starting with these bytes (at most :data:`HEAD_BYTES`) is
            of this format; None for formats that carry no signature (raw floats, text tables).
        read: the format's reader (its own signature and return type, see the module).
        write: the format's encoder: the whole file's bytes (written atomically by the caller).
        pixels: image formats only: ``pixels(path, shape)`` is the image as float64
            [slow, fast] (``shape`` is needed by formats without a header, else ignored).
    """

    name: str
    what: str
    suffixes: tuple[str, ...] = ()
    understand: Callable[[bytes], bool] | None = None
    read: Callable[..., Any] | None = None
    write: Callable[..., bytes] | None = None
    pixels: Callable[[Path, Shape | None], np.ndarray] | None = None

    def recognises(self, head: bytes, path: Path | None = None) -> bool:
        """By content when the format has a signature, else (or also) by the file's suffix."""
        if self.understand is not None and self.understand(head[:HEAD_BYTES]):
            return True
        return path is not None and path.suffix.lower() in self.suffixes
