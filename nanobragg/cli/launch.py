"""Process entry of the ``nanobragg`` command, tuned for a one-shot process.

A small simulation takes a fraction of the time Python spends starting and stopping around it,
and a large one allocates the same big temporaries chunk after chunk; three settings that a
library must not impose on its host process pay off here:

* memory: every chunk allocates and frees the same large temporaries. Left to itself, glibc's
  malloc hands them back to the kernel and faults them in again, page by page (0.1-4 million
  page faults and 1-9 s of system time for the 1024² benchmark with 200 terms per pixel).
  Fixing the mmap threshold at glibc's largest value and trimming the heap only above 1 GiB
  keeps freed blocks for the next chunk (peak memory as before: the blocks are reused);
* start-up: importing torch builds about a million Python objects; collecting garbage while
  they are being created only re-scans survivors, so collection waits until the imports are
  done, and ``gc.freeze`` then keeps those long-lived objects out of every later collection;
* exit: a normal interpreter shutdown tears torch down object by object (0.3-0.6 s on a
  2-core machine). By the time the command returns, every output file has been written and
  closed (``nanobragg.io.atomic``), so after flushing stdout and stderr the process ends at once.

Only the console command goes through here; ``nanobragg.cli.main.main`` stays an ordinary
function for in-process callers and tests.
"""

from __future__ import annotations

import ctypes
import gc
import os
import sys

from nanobragg.errors import EXIT_ERROR


def main() -> None:
    """Run the command line and end the process with its exit status."""
    _keep_freed_memory()
    gc.disable()
    try:
        from nanobragg.cli.main import main as run_command_line
    finally:
        gc.enable()
    gc.freeze()
    status = run_command_line()
    _exit_now(status)


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters (malloc.h)
_MMAP_THRESHOLD_MAX = 32 << 20  # glibc's upper limit on 64-bit systems
_TRIM_THRESHOLD = 1 << 30


def _keep_freed_memory() -> None:
    """Tune glibc's malloc (see the module docstring); nothing elsewhere."""
    try:
        os.confstr("CS_GNU_LIBC_VERSION")
        libc = ctypes.CDLL("libc.so.6")  # the glibc soname on every architecture it supports
        libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX)
        libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
    except (ValueError, OSError, AttributeError):  # not glibc
        pass


def _exit_now(status: int) -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # reader gone (e.g. piped into `head`) or stream closed
            status = status or EXIT_ERROR
    os._exit(status)


if __name__ == "__main__":  # pragma: no cover
    main()
