"""Shared fixtures. Real data lives in ../shared/data (override with KOTOBA_SHARED_DATA);
tests that need it skip with a clear reason when it is absent."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("KOTOBA_SHARED_DATA", REPO.parent / "shared" / "data"))

# A suite started in the background by a non-interactive shell (`make test &`, nohup) inherits Ctrl-C
# ignored, and so would every kotoba process it starts. The signal tests check what Ctrl-C does in a
# terminal, so this process takes the terminal's default (its children then start with it too).
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def shared_file(rel: str) -> Path:
    """Path of a file under ../shared/data, or skip the test naming what is missing."""
    p = SHARED_DATA / rel
    if not p.exists():
        pytest.skip(f"shared data file {p} is absent (set KOTOBA_SHARED_DATA to the shared/data folder)")
    return p


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
