"""Process-wide malloc setting for long chunked renders (glibc only).

Every chunk of the kernel allocates and frees the same large temporaries. Left to itself,
glibc's malloc hands such blocks back to the kernel and faults them in again, page by page:
0.1-4 million page faults and 1-9 s of system time for the 1024² benchmark with 200 terms per
pixel, varying from run to run. Fixing the mmap threshold at glibc's largest value and trimming
the heap only above 1 GiB keeps freed blocks for the next chunk; the peak memory stays the same,
since the kept blocks are the ones the next chunk reuses.

The ``nanobragg`` command calls :func:`retain_freed_memory` at start. A library must not change
its host process's allocator on its own, so programs that render through the Python API call it
themselves if they want the same behaviour.
"""

from __future__ import annotations

import ctypes
import os

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters (malloc.h)
_MMAP_THRESHOLD_MAX = 32 << 20  # glibc's upper limit on 64-bit systems
_TRIM_THRESHOLD = 1 << 30


def retain_freed_memory() -> bool:
    """Tune glibc's malloc as described above; returns False (and does nothing) elsewhere."""
    try:
        os.confstr("CS_GNU_LIBC_VERSION")
        libc = ctypes.CDLL("libc.so.6")  # the glibc soname on every architecture it supports
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX)
                    & libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))
    except (ValueError, OSError, AttributeError):  # not glibc
        return False
