"""The output directory of a series: frame files, ``manifest.jsonl``, ``series.json``.

Kill-safety: every file is written through a temporary sibling and renamed when complete
(:mod:`nanobragg.io.atomic`), so a frame file is complete or absent; a frame enters the
manifest (one appended line) only after its file is in place. A kill -9 therefore
leaves at most the in-flight frames to redo, plus hidden ``.*.part`` temporaries, which the
next run removes. Rerunning the same command keeps every frame whose file exists with the
manifest's sha256 and renders the rest; ``series.json`` records the command, and a different
one is refused unless ``--overwrite``. At the end the manifest is rewritten in frame order.

Frames are written by one writer thread, in the order recorded (file, then manifest line), so
that the disk is never on the rendering path; at most :data:`MAX_QUEUED` frames wait, and
:meth:`SeriesStore.close` (also on Ctrl-C and SIGTERM) lets the queued ones finish.

With ``--format h5`` frames are staged as raw pixels in ``.frames/`` and assembled into
``series.h5`` once all are done (then the staging files go); a frame's sha256 is then that of
its pixels (little-endian), as staged and as stored in the HDF5 dataset.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import json
import shutil
import time
from pathlib import Path

from nanobragg.io.atomic import atomic_open, atomic_path, atomic_write_bytes
from nanobragg.series import SeriesError
from nanobragg.series.plan import FrameSpec
from nanobragg.series.render import EXTENSIONS, FrameResult

MANIFEST = "manifest.jsonl"
HEADER = "series.json"
H5_NAME = "series.h5"
STAGING = ".frames"
#: frames recorded but not yet on disk before record() waits for the writer
MAX_QUEUED = 4


def frame_name(index: int, fmt: str) -> str:
    """Frame files are numbered from 1 (frame_00001 is index 0), as processing programs
    expect image numbers."""
    name = f"frame_{index + 1:05d}.{EXTENSIONS[fmt]}"
    return f"{STAGING}/{name}" if fmt == "h5" else name


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_out_dir(out: Path, command: dict, overwrite: bool) -> None:
    """Refuse an unusable output directory before anything is computed or written."""
    if out.exists() and not out.is_dir():
        raise SeriesError(f"--out {out}: exists and is not a directory")
    if not out.exists():
        if not out.parent.is_dir():
            raise SeriesError(f"--out {out}: parent directory {out.parent} does not exist")
        return
    header = out / HEADER
    if header.is_file():
        try:
            recorded = json.loads(header.read_text())["command"]
        except (OSError, ValueError, KeyError):
            recorded = None
        if recorded != command and not overwrite:
            raise SeriesError(f"--out {out}: holds a series made by a different command "
                              "(see its series.json); give --overwrite to replace it")
    elif any(out.iterdir()) and not overwrite:
        raise SeriesError(f"--out {out}: not empty and holds no series; give --overwrite to "
                          "write into it anyway")


class SeriesStore:
    """Writes frames into ``out`` and keeps the manifest."""

    def __init__(self, out: Path, command: dict, fmt: str) -> None:
        self.out, self.command, self.fmt = out, command, fmt
        self.entries: dict[int, dict] = {}
        self._writer = cf.ThreadPoolExecutor(1, thread_name_prefix="nanobragg-series-write")
        self._queued: list[cf.Future] = []

    def open(self, frames: list[FrameSpec]) -> set[int]:
        """Create or resume the directory; return the indices already done."""
        self.out.mkdir(exist_ok=True)
        self._remove_temporaries()
        header = self.out / HEADER
        if not header.is_file() or self._recorded() != self.command:
            self._clear()
            created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            record = {"command": self.command, "created": created}
            atomic_write_bytes(header, (json.dumps(record, indent=1) + "\n").encode())
        if self.fmt == "h5":
            (self.out / STAGING).mkdir(exist_ok=True)
        wanted = {f.index for f in frames}
        self.entries = {i: e for i, e in self._read_manifest().items()
                        if i in wanted and self._intact(e)}
        self._rewrite_manifest()
        return set(self.entries)

    def record(self, frame: FrameSpec, result: FrameResult, flags: list[str]) -> None:
        """Queue the frame for the writer thread: its file (atomically), then its manifest
        line; ``flags`` are the ``nanobragg`` flags that reproduce the frame. An error of an
        earlier write is raised here."""
        name = frame_name(frame.index, self.fmt)
        entry = {"index": frame.index, "path": H5_NAME if self.fmt == "h5" else name,
                 "sha256": result.sha256, "image": result.image,
                 **frame.manifest_fields()}
        if self.fmt == "h5":
            entry["dataset"] = "/entry/data/data"
        entry["nanobragg_flags"] = flags
        while len(self._queued) >= MAX_QUEUED or (self._queued and self._queued[0].done()):
            self._queued.pop(0).result()
        self._queued.append(self._writer.submit(self._write, name, result.data, entry))

    def _write(self, name: str, data: bytes, entry: dict) -> None:
        # no fsync: a kill cannot leave a partial file, and a power loss is caught by the
        # manifest hash on the next run (the frame is then rendered again)
        atomic_write_bytes(self.out / name, data, durable=False)
        with open(self.out / MANIFEST, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")
        self.entries[entry["index"]] = entry

    def flush(self) -> None:
        """Wait until every recorded frame is on disk (raising a write's error)."""
        while self._queued:
            self._queued.pop(0).result()

    def close(self) -> None:
        """Let the queued frames finish and stop the writer (errors are left to flush)."""
        cf.wait(self._queued)
        self._writer.shutdown(wait=True)

    def finish(self, write_h5=None) -> None:
        """Rewrite the manifest in frame order; with h5, ``write_h5(h5, staged_paths)`` fills
        a new ``series.h5`` from the staged frames (skipped when it is already complete)."""
        self.flush()
        self._rewrite_manifest()
        staging = self.out / STAGING
        if self.fmt != "h5" or not staging.is_dir():
            return
        staged = [self.out / frame_name(i, "h5") for i in sorted(self.entries)]
        if all(p.is_file() for p in staged):
            import h5py

            with atomic_path(self.out / H5_NAME) as tmp, h5py.File(tmp, "w") as h5:
                write_h5(h5, staged)
        shutil.rmtree(staging, ignore_errors=True)

    @property
    def created(self) -> str:
        """When the series was started (UTC, ISO 8601): the NXmx start_time."""
        try:
            return str(json.loads((self.out / HEADER).read_text())["created"])
        except (OSError, ValueError, KeyError):
            return "1970-01-01T00:00:00Z"

    # ------------------------------------------------------------------ internals
    def _recorded(self):
        try:
            return json.loads((self.out / HEADER).read_text())["command"]
        except (OSError, ValueError, KeyError):
            return None

    def _clear(self) -> None:
        """--overwrite (or a new series): remove what an earlier series wrote."""
        for path in self.out.glob("frame_*"):
            if path.suffix.lstrip(".") in EXTENSIONS.values() and path.is_file():
                path.unlink()
        for name in (MANIFEST, HEADER, H5_NAME):
            with contextlib.suppress(FileNotFoundError):
                (self.out / name).unlink()
        shutil.rmtree(self.out / STAGING, ignore_errors=True)

    def _remove_temporaries(self) -> None:
        for folder in (self.out, self.out / STAGING):
            for path in folder.glob(".*.part") if folder.is_dir() else ():
                path.unlink(missing_ok=True)

    def _read_manifest(self) -> dict[int, dict]:
        entries: dict[int, dict] = {}
        path = self.out / MANIFEST
        if not path.is_file():
            return entries
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
                entries[int(entry["index"])] = entry
            except (ValueError, KeyError, TypeError):
                continue  # a line cut short by a kill
        return entries

    def _intact(self, entry: dict) -> bool:
        """The frame's file exists with the recorded sha256."""
        if self.fmt == "h5":
            staged = self.out / frame_name(int(entry["index"]), "h5")
            if staged.is_file():
                return sha256_of(staged.read_bytes()) == entry.get("sha256")
            return self._in_h5(entry)
        path = self.out / str(entry.get("path", ""))
        return path.is_file() and sha256_of(path.read_bytes()) == entry.get("sha256")

    def _in_h5(self, entry: dict) -> bool:
        path = self.out / H5_NAME
        if not path.is_file():
            return False
        import h5py
        import hdf5plugin  # noqa: F401 - registers the bitshuffle filter

        try:
            with h5py.File(path, "r") as h5:
                pixels = h5["entry/data/data"][int(entry["index"])]
        except (OSError, KeyError, IndexError, ValueError):
            return False
        return sha256_of(pixels.astype(pixels.dtype.newbyteorder("<")).tobytes()) == entry.get(
            "sha256")

    def _rewrite_manifest(self) -> None:
        with atomic_open(self.out / MANIFEST) as handle:
            for index in sorted(self.entries):
                handle.write((json.dumps(self.entries[index]) + "\n").encode())
