"""Imported once by the fork server that forks the ``--workers`` processes.

Importing torch costs a worker about 1.4 s of CPU; spawned workers each paid it, on the cores
the other workers were already rendering on. The fork server (:mod:`multiprocessing`'s
``forkserver``, started by :func:`nanobragg.series.executors.start_worker_server` while the
parent parses its command line) imports torch and the renderer here, once, with garbage
collection paused as the console launcher does (:mod:`nanobragg.cli.launch`), then freezes the
survivors, so that every worker forked from it starts with them, shared copy-on-write. No
torch operation runs here: the server holds no thread pool a fork would break.
"""

import gc

gc.disable()
try:
    import torch  # noqa: F401

    import nanobragg.series.render  # noqa: F401
    import nanobragg.simulator  # noqa: F401
finally:
    gc.enable()
gc.freeze()
