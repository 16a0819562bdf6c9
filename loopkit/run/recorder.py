"""The run folder's own files, written by loopkit alone.

:class:`RunFolder` refuses a folder a step moved or swapped for a symbolic link;
:class:`Recorder` is the one door to it: every text and record passes the redactor and the
path scrubber exactly once on its way to disk, and ``run.json`` is rewritten at most every
RUN_JSON_EVERY_S while the run goes on.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from loopkit.errors import LoopkitError
from loopkit.fsio import atomic_write, json_text
from loopkit.run.record import RunRecord
from loopkit.scrub import PathScrubber, Redactor, is_binary, rewrite_file

RUN_JSON_EVERY_S = 5.0


class RunFolder:
    """A run folder whose files loopkit writes; refused when a step has moved it or swapped
    it (or a folder inside it) for a symbolic link."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.real = Path(os.path.realpath(path))

    def file(self, rel: str) -> Path:
        path = self.path / rel
        if Path(os.path.realpath(path.parent)) != self.real / Path(rel).parent:
            raise LoopkitError(f"{path.parent} was replaced during the run (a symbolic link?); "
                               "nothing more is written there")
        return path

    def files(self) -> Iterator[Path]:
        """Regular files of the folder, sorted; links (to files or folders) are not followed."""
        for folder, dirs, names in os.walk(self.path, followlinks=False):
            dirs.sort()
            for name in sorted(names):
                path = Path(folder) / name
                if path.is_file() and not path.is_symlink():
                    yield path

    def links(self) -> list[str]:
        """Symbolic links a step left in the folder (recorded, never followed)."""
        found = []
        for folder, dirs, names in os.walk(self.path, followlinks=False):
            for name in sorted(dirs + names):
                path = Path(folder) / name
                if path.is_symlink():
                    found.append(f"{path.relative_to(self.path)} -> {os.readlink(path)}")
        return sorted(found)



@dataclass
class Recorder:
    """Writes the run folder's own files: redacted and path-scrubbed before serialising,
    never through a link a step left there, ``run.json`` at most every RUN_JSON_EVERY_S."""

    folder: RunFolder
    redactor: Redactor
    scrubber: PathScrubber
    last_write: float = 0.0

    def clean(self, data: Any) -> Any:
        return self.scrubber.data(self.redactor.data(data))

    def text(self, rel: str, text: str) -> None:
        clean = self.scrubber.text(self.redactor.text(text))
        atomic_write(self.folder.file(rel), clean, follow_links=False)

    def clean_files(self, exclude: set[str]) -> None:
        """One pass over each file the steps could write (their outputs, the shell's log,
        whatever they left in the folder): secrets redacted and, in text files, machine
        paths scrubbed, in a single rewrite. The pump redacted step output as it arrived;
        this pass is what covers the bytes a step wrote into the folder by itself."""
        def both(text: str) -> str:
            return self.scrubber.text(self.redactor.text(text))

        for path in self.folder.files():
            if str(path.relative_to(self.folder.path)) not in exclude:
                rewrite_file(path, self.redactor.text if is_binary(path) else both)

    def json(self, rel: str, data: Any) -> None:
        atomic_write(self.folder.file(rel), json_text(self.clean(data)), follow_links=False)

    def run(self, run: RunRecord, force: bool = True) -> None:
        if force or time.monotonic() - self.last_write >= RUN_JSON_EVERY_S:
            atomic_write(self.folder.file("run.json"), run.to_json(self.clean),
                         follow_links=False)
            self.last_write = time.monotonic()
