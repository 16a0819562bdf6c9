"""The vendored golden files are exactly the C program's outputs recorded in case.yaml."""

from __future__ import annotations

import hashlib

import pytest
from golden_cases import all_cases

CASES = all_cases()


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_vendored_files_match_their_recorded_sha256(case):
    recorded = case.meta["sha256"]
    assert recorded, "case.yaml records no checksums"
    for name, digest in recorded.items():
        assert hashlib.sha256((case.path / name).read_bytes()).hexdigest() == digest, name


def test_all_52_public_cases_are_vendored():
    assert len(CASES) == 52
