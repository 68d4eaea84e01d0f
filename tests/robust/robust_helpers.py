"""Helpers for the bad-input catalogue (tests/robust): check what the user sees."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SRC = Path(__file__).resolve().parents[2] / "src"


@dataclass
class Result:
    rc: int
    out: str
    err: str


def assert_error(res: Result, *needles: str, rc: int = 2) -> None:
    """A clear error: exit status ``rc``, one ``kotoba: error:`` line naming every needle, no traceback."""
    assert res.rc == rc, (res.rc, res.err)
    assert "Traceback" not in res.err, res.err
    assert "kotoba: error:" in res.err or "error:" in res.err, res.err
    for n in needles:
        assert n in res.err, (n, res.err)


def run_kotoba(argv: list[str], cwd: Path, **kw) -> subprocess.CompletedProcess:
    """The real command in a child process (for signals, resource limits and SIGKILL)."""
    env = dict(os.environ, PYTHONPATH=str(SRC), PYTHONUNBUFFERED="1")
    return subprocess.run(
        [sys.executable, "-m", "kotoba", *argv], cwd=cwd, env=env, capture_output=True, text=True, **kw
    )


def write_topics(path: Path, lines: int = 300, seed: int = 0) -> Path:
    """A small corpus of two topics (10 words), enough for every trainer to run in a moment."""
    rng = np.random.default_rng(seed)
    topics = [["cat", "dog", "pet", "fur", "paw"], ["car", "road", "wheel", "drive", "fuel"]]
    rows = []
    for _ in range(lines):
        words = topics[int(rng.integers(2))]
        rows.append(" ".join(words[int(k)] for k in rng.integers(0, 5, size=8)))
    path.write_text("\n".join(rows) + "\n")
    return path


#: the smallest word2vec run that exercises everything
SMALL = ["--dim", "8", "--epochs", "1", "--min-count", "1", "--threads", "1", "--quiet"]
#: the smallest LM run
LM_SMALL = ["--wordvec", "4", "--hidden", "4", "--batch-size", "2", "--time-size", "5", "--epochs", "1", "--quiet"]
