"""A full disk, simulated with ``RLIMIT_FSIZE``: a clear error, and nothing half-written under a final name.

With SIGXFSZ ignored, a write past the limit fails with EFBIG ("File too large") like a write to a
full disk fails with ENOSPC; both go through the same path in :func:`kotoba.io.atomic_write`.
"""

from __future__ import annotations

import resource
import signal

import pytest

from .robust_helpers import run_kotoba, write_topics

LIMIT = 64 << 10  # bytes any file of the child may grow to


def _small_disk() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # inherited: the write returns EFBIG instead of killing
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


def _no_temp_files(folder) -> None:
    assert not [p.name for p in folder.iterdir() if ".tmp-" in p.name]


@pytest.mark.parametrize("fmt", ["v.txt", "v.bin"])
def test_vectors_on_a_full_disk(tmp_path, fmt):
    write_topics(tmp_path / "c.txt")
    (tmp_path / fmt).write_text("old vectors\n")
    argv = ["train", "c.txt", "-o", fmt, "--dim", "2000", "--epochs", "1", "--min-count", "1", "--threads", "1"]
    res = run_kotoba([*argv, "--quiet"], tmp_path, preexec_fn=_small_disk, timeout=120)
    assert res.returncode == 2, res.stderr
    assert f"kotoba: error: cannot write {fmt}: File too large" in res.stderr and "Traceback" not in res.stderr
    assert "nothing was written there" in res.stderr
    assert (tmp_path / fmt).read_text() == "old vectors\n"  # the previous file is intact
    _no_temp_files(tmp_path)


def test_lm_checkpoint_on_a_full_disk(tmp_path):
    write_topics(tmp_path / "c.txt")
    argv = ["lm", "train", "--data", "c.txt", "-o", "m.npz", "--wordvec", "100", "--hidden", "100", "--epochs", "1"]
    res = run_kotoba([*argv, "--batch-size", "2", "--time-size", "5", "--quiet"], tmp_path, preexec_fn=_small_disk)
    assert res.returncode == 2, res.stderr
    assert "kotoba: error: cannot write m.npz: File too large" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "m.npz").exists() and not (tmp_path / "m.npz.json").exists()
    _no_temp_files(tmp_path)
