"""Shared fixtures. Real data lives in ../shared/data (override with KOTOBA_SHARED_DATA);
tests that need it skip with a clear reason when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("KOTOBA_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared_file(rel: str) -> Path:
    """Path of a file under ../shared/data, or skip the test naming what is missing."""
    p = SHARED_DATA / rel
    if not p.exists():
        pytest.skip(f"shared data file {p} is absent (set KOTOBA_SHARED_DATA to the shared/data folder)")
    return p


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
