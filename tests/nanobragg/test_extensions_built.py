"""The compiled loops are optional for a user's install, but CI must build them: otherwise the
tests that hold them equal to their references would skip and a broken build would pass."""

from __future__ import annotations

import importlib
import os

import pytest


@pytest.mark.skipif(os.environ.get("CI", "").lower() not in ("1", "true"),
                    reason="only CI requires the optional C extensions to be built")
@pytest.mark.parametrize("module", ["nanobragg._cterms", "nanobragg._cnoise",
                                    "nanobragg._cindex"])
def test_ci_builds_every_compiled_loop(module: str) -> None:
    importlib.import_module(module)
