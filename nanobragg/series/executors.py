"""Where frames are rendered: in this process, in local worker processes, or on Dask.

All three follow one protocol: ``run(frames)`` yields a :class:`FrameResult` per frame as
frames complete (in any order), and ``close()`` releases the workers. Results travel back to
this process, which alone writes files and the manifest (:mod:`nanobragg.series.store`), so
workers need no shared file system. Each worker builds one :class:`FrameRenderer` from the job
it received once (process pool initializer, with cores/K torch threads per local worker; Dask:
the job is scattered to every worker once and the renderer is kept per worker), and at most
``2 x workers`` frames are in flight, which bounds the memory held by finished frames waiting
to be written.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol

from nanobragg.series import SeriesError, worker
from nanobragg.series.plan import FrameSpec
from nanobragg.series.render import FrameRenderer, FrameResult, SeriesJob

#: seconds to wait for a Dask scheduler to answer
DASK_CONNECT_TIMEOUT_S = 10


class Executor(Protocol):
    workers: int

    def run(self, frames: Sequence[FrameSpec]) -> Iterator[FrameResult]: ...

    def close(self) -> None: ...


class InlineExecutor:
    """Every frame in this process with one Simulator, in frame order, as a two-stage
    pipeline: frame i is encoded (noise image, file bytes, hash: C and numpy code that
    releases the GIL) in a helper thread while torch renders frame i + 1 here."""

    workers = 1

    def __init__(self, job: SeriesJob) -> None:
        self.renderer = FrameRenderer(job)
        self.encoder = cf.ThreadPoolExecutor(1, thread_name_prefix="nanobragg-series-encode")

    def run(self, frames: Sequence[FrameSpec]) -> Iterator[FrameResult]:
        encoding = None
        for frame in frames:
            image, model = self.renderer.render_image(frame)
            nxt = self.encoder.submit(self.renderer.encode, image, model, frame)
            if encoding is not None:
                yield encoding.result()
            encoding = nxt
        if encoding is not None:
            yield encoding.result()

    def close(self) -> None:
        self.encoder.shutdown(wait=True, cancel_futures=True)


# ------------------------------------------------------------------------------------------------
# Local worker processes
# ------------------------------------------------------------------------------------------------

def worker_threads(workers: int) -> int:
    """Torch threads of each of ``workers`` local processes: this process's threads (the
    cores, or ``OMP_NUM_THREADS``) shared out, at least one each."""
    import torch

    return max(1, torch.get_num_threads() // workers)


def _worker_context() -> multiprocessing.context.BaseContext:
    """Workers fork from a server that has imported torch (:mod:`nanobragg.series.preload`)
    where the platform has one, else they are spawned; never forked from this process, whose
    torch may hold threads."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["nanobragg.series.preload"])
    return context


def start_worker_server() -> None:
    """Start the fork server now, so that its imports run while this process parses the frame
    and builds its own Simulator (nothing to do where workers are spawned)."""
    context = _worker_context()
    if context.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


class ProcessExecutor:
    """K worker processes (K ~ the number of cores) of cores/K torch threads each, forked
    when the executor is made from the server :func:`start_worker_server` started (they
    start with torch imported); the job is pickled once and sent once to each
    (:mod:`nanobragg.series.worker`)."""

    def __init__(self, job: SeriesJob, workers: int) -> None:
        self.workers = workers
        job.threads = worker_threads(workers)
        context = _worker_context()
        # the workers' lifeline (nanobragg.series.worker): this process holds the only
        # write end, so it closes when this process ends, even by kill -9
        lifeline, self._lifeline = context.Pipe(duplex=False)
        self.pool = cf.ProcessPoolExecutor(workers, mp_context=context,
                                           initializer=worker.start,
                                           initargs=(worker.job_bytes(job), lifeline))
        for _ in range(workers):  # the pool spawns a process per submit until it has K
            self.pool.submit(worker.ready)

    def run(self, frames: Sequence[FrameSpec]) -> Iterator[FrameResult]:
        yield from _windowed(frames, 2 * self.workers,
                             lambda frame: self.pool.submit(worker.render, frame),
                             lambda pending: cf.wait(pending, return_when=cf.FIRST_COMPLETED)[0])

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        self._lifeline.close()


def _windowed(frames: Iterable[FrameSpec], window: int, submit, wait_some
              ) -> Iterator[FrameResult]:
    """Keep ``window`` frames in flight; yield each result as it completes."""
    todo = iter(frames)
    pending = set()
    for frame in todo:
        pending.add(submit(frame))
        if len(pending) >= window:
            break
    while pending:
        done = wait_some(pending)
        for future in done:
            pending.discard(future)
            yield future.result()
            nxt = next(todo, None)
            if nxt is not None:
                pending.add(submit(nxt))


# ------------------------------------------------------------------------------------------------
# Dask
# ------------------------------------------------------------------------------------------------

_DASK_RENDERERS: dict[str, FrameRenderer] = {}


def _render_on_dask(job: SeriesJob, frame: FrameSpec) -> FrameResult:
    """Runs on a Dask worker: the scattered job arrives once; its renderer is kept."""
    renderer = _DASK_RENDERERS.get(job.key)
    if renderer is None:
        _DASK_RENDERERS.clear()
        renderer = _DASK_RENDERERS[job.key] = FrameRenderer(job)
    return renderer.render(frame)


def parse_dask_target(text: str) -> tuple[str | None, int | None]:
    """``local`` / ``local:K`` -> (None, K or None); anything else is a scheduler address."""
    if text == "local" or text.startswith("local:"):
        count = text.partition(":")[2]
        if count and (not count.isdigit() or int(count) < 1):
            raise SeriesError(f"--dask {text}: local:K needs a positive number of workers")
        return None, int(count) if count else None
    return text, None


class DaskExecutor:
    """Frames as tasks of a Dask distributed scheduler (or a LocalCluster started here)."""

    def __init__(self, job: SeriesJob, target: str) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise SeriesError("--dask needs the Python package 'distributed'") from None
        address, local_workers = parse_dask_target(target)
        self.cluster = None
        try:
            if address is None:
                self.cluster = LocalCluster(n_workers=local_workers or 2, threads_per_worker=1,
                                            processes=True, dashboard_address=None)
                self.client = Client(self.cluster)
            else:
                self.client = Client(address, timeout=DASK_CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError, ValueError) as exc:
            self.close()
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise SeriesError(f"--dask {target}: no Dask scheduler answers ({reason})") from None
        nthreads = self.client.nthreads()
        self.workers = max(1, sum(nthreads.values()))
        job.threads = job.threads or 1
        self.job = self.client.scatter(job, broadcast=True, hash=False)

    def run(self, frames: Sequence[FrameSpec]) -> Iterator[FrameResult]:
        from distributed import wait

        def submit(frame: FrameSpec):
            return self.client.submit(_render_on_dask, self.job, frame, pure=False)

        def wait_some(pending):
            return wait(pending, return_when="FIRST_COMPLETED").done

        yield from _windowed(frames, 2 * self.workers, submit, wait_some)

    def close(self) -> None:
        for thing in (getattr(self, "client", None), self.cluster):
            if thing is not None:
                thing.close()
