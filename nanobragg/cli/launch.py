"""Process entry of the ``nanobragg`` command, tuned for a one-shot process.

A small simulation takes a fraction of the time Python spends starting and stopping around it,
and a large one allocates the same big temporaries chunk after chunk; three settings that a
library must not impose on its host process pay off here:

* memory: freed chunk temporaries stay in the process (:mod:`nanobragg.allocator`);
* start-up: importing torch builds about a million Python objects; collecting garbage while
  they are being created only re-scans survivors, so collection waits until the imports are
  done, and ``gc.freeze`` then keeps those long-lived objects out of every later collection;
* exit: a normal interpreter shutdown tears torch down object by object (0.3-0.6 s on a
  2-core machine). By the time the command returns, every output file has been written and
  closed (``nanobragg.io.atomic``), so after the exit handlers have run and stdout and stderr
  are flushed, the process ends at once.

Only the console commands (``nanobragg``, ``nanobragg-series``) go through here;
``nanobragg.cli.main.main`` and ``nanobragg.series.run.main`` stay ordinary functions for
in-process callers and tests.
"""

from __future__ import annotations

import atexit
import gc
import os
import signal
import sys
from collections.abc import Callable

from nanobragg.allocator import retain_freed_memory
from nanobragg.console import Console, raise_terminated
from nanobragg.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_TERMINATED, Terminated


def main() -> None:
    """Run the ``nanobragg`` command line and end the process with its exit status."""
    launch("nanobragg", _nanobragg_entry)


def _nanobragg_entry() -> Callable[[], int]:
    from nanobragg.cli.main import main as run_command_line

    return run_command_line


def launch(prog: str, load_entry: Callable[[], Callable[[], int]]) -> None:
    """Import the command (``load_entry`` returns its main function) with the settings above,
    run it and end the process with its status; ``nanobragg-series`` comes in here too."""
    retain_freed_memory()
    gc.disable()
    signal.signal(signal.SIGTERM, raise_terminated)
    try:
        run_command_line = load_entry()
    except KeyboardInterrupt:  # Ctrl-C while torch loads: no traceback, as during the run
        _exit_now(Console(prog).stopped(EXIT_INTERRUPTED))
    except Terminated:
        _exit_now(Console(prog).stopped(EXIT_TERMINATED))
    finally:
        gc.enable()
    gc.freeze()
    status = run_command_line()
    _exit_now(status)


def _exit_now(status: int) -> None:
    # exit handlers still run (coverage, profilers and logging save their data there; torch's
    # take milliseconds); only the slow teardown of modules and objects is skipped
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # reader gone (e.g. piped into `head`) or stream closed
            status = status or EXIT_ERROR
    os._exit(status)


if __name__ == "__main__":  # pragma: no cover
    main()
