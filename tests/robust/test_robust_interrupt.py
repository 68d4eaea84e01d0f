"""Real signals to real training runs (child processes), at random moments.

* SIGINT / SIGTERM: exit status 130 / 143, a message with the resume command; running that command
  finishes the run, and (seeded, one thread) the result is bit-identical to an uninterrupted run.
* SIGKILL: whatever is under a final name afterwards is complete (loads), and so is a pair save's
  waiting ``<name>.next`` half; only ``*.tmp-*`` files may be left over unread.

The moments are drawn afresh each run and shown in failure messages. A run that finishes before
its signal arrives is fine (nothing to resume); the check that the signal path works at all is
test_robust_signals.py, which never depends on timing.
"""

from __future__ import annotations

import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from kotoba.io import PAIR_TOKEN, load_json, load_npz, load_pair

from .robust_helpers import SRC

pytestmark = pytest.mark.slow


def _zipf_corpus(path: Path, tokens: int, types: int, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, types + 1)
    ids = rng.choice(types, size=tokens, p=p / p.sum())
    words = np.array([f"w{i}" for i in range(types)])[ids].reshape(-1, 20)
    path.write_text("\n".join(" ".join(row) for row in words) + "\n")
    return path


def _start(argv: list[str], cwd: Path) -> subprocess.Popen:
    import os

    env = dict(os.environ, PYTHONPATH=str(SRC), PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "kotoba", *argv],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _signal_at(procs_moments: list[tuple[subprocess.Popen, float, int]]) -> list[tuple[int, str]]:
    """Send each process its signal at its moment (seconds after now); -> [(returncode, stderr)]."""
    t0 = time.monotonic()
    for proc, moment, signum in sorted(procs_moments, key=lambda x: x[1]):
        time.sleep(max(0.0, t0 + moment - time.monotonic()))
        if proc.poll() is None:
            proc.send_signal(signum)
    return [(p.wait(timeout=300), p.communicate()[1]) for p, _, _ in procs_moments]


def _resume_argv(stderr: str) -> list[str]:
    line = next(s for s in stderr.splitlines() if "kotoba: to continue, run: " in s)
    argv = shlex.split(line.split("run: ", 1)[1])
    assert argv[0] == "kotoba" and argv[-1] == "--resume"
    return argv[1:]


def _interrupt_and_resume(tmp_path: Path, make_argv, moments: list[float]) -> list[str]:
    """Run ``make_argv("ref")`` to the end and ``make_argv(k)`` interrupted at ``moments[k]`` (SIGINT,
    SIGTERM alternately), then each printed resume command; -> a note per interrupted run.

    A signal that lands while Python is still loading (before kotoba's handlers) ends the run
    quietly with no resume line; the user then reruns the command, which here means with --resume
    (a fresh start), so every run still ends compared with the reference.
    """
    sigs = [signal.SIGINT, signal.SIGTERM]
    ref = _start(make_argv("ref"), tmp_path)
    runs = [(_start(make_argv(k), tmp_path), m, sigs[k % 2]) for k, m in enumerate(moments)]
    results = _signal_at(runs)
    assert ref.wait(timeout=300) == 0, ref.communicate()[1]
    resumed, notes = [], []
    for k, (rc, err) in enumerate(results):
        sig = sigs[k % 2]
        note = f"run {k}: {sig.name} at {moments[k]:.2f} s -> exit {rc}; stderr: {err[-600:]}"
        notes.append(note)
        if rc == 0:  # finished before the signal arrived
            continue
        assert rc in (128 + sig, -sig), note
        assert "Traceback" not in err, note
        if "kotoba: to continue, run: " in err:
            assert f"kotoba: error: interrupted by {sig.name}: training stopped" in err, note
            argv = _resume_argv(err)
        elif list(tmp_path.glob(f"*{k}.*")):
            # the signal came after kotoba handed signals back, on the way out: the work was done and
            # its files, written atomically, are complete (the caller compares them with the reference)
            continue
        else:  # stopped while starting up: nothing was written, nothing to resume
            argv = make_argv(k)
        resumed.append((_start(argv, tmp_path), note))
    for proc, note in resumed:
        rc = proc.wait(timeout=300)
        assert rc == 0, (note, proc.communicate()[1][-600:])
    return notes


def test_word2vec_interrupted_and_resumed_equals_an_uninterrupted_run(tmp_path):
    _zipf_corpus(tmp_path / "c.txt", 200_000, 2000)
    rng = np.random.default_rng()
    moments = sorted(rng.uniform(1.0, 3.5, size=2))

    def argv(k):
        return ["train", "c.txt", "-o", f"v{k}.bin", "--checkpoint", f"ck{k}", "--dim", "16", "--epochs", "2"] + [
            "--min-count", "1", "--threads", "1", "--seed", "7", "--quiet",
        ]  # fmt: skip

    results = _interrupt_and_resume(tmp_path, argv, moments)
    ref = (tmp_path / "vref.bin").read_bytes()
    for k, note in enumerate(results):
        assert (tmp_path / f"v{k}.bin").read_bytes() == ref, note  # bit-identical to the uninterrupted run


def test_lm_interrupted_and_resumed_equals_an_uninterrupted_run(tmp_path):
    _zipf_corpus(tmp_path / "c.txt", 20_000, 300)
    rng = np.random.default_rng()
    moments = sorted(rng.uniform(1.0, 3.5, size=2))

    def argv(k):
        return ["lm", "train", "--data", "c.txt", "-o", f"m{k}.npz", "--state", f"st{k}.npz", "--epochs", "2"] + [
            "--wordvec", "16", "--hidden", "16", "--batch-size", "4", "--time-size", "10", "--seed", "5", "--quiet",
        ]  # fmt: skip

    results = _interrupt_and_resume(tmp_path, argv, moments)
    ref = load_npz(tmp_path / "mref.npz")
    for k, note in enumerate(results):
        got = load_npz(tmp_path / f"m{k}.npz")
        assert got.keys() == ref.keys(), note
        for name in ref.keys() - {PAIR_TOKEN}:  # the token only pairs the files of one save
            assert np.array_equal(got[name], ref[name]), (name, note)


# ------------------------------------------------------------------------------------- SIGKILL


def _check_complete(folder: Path) -> list[str]:
    """Open every file under a final name in ``folder``; -> the names checked."""
    from kotoba.text.vocab import Vocab
    from kotoba.vectors import WordVectors

    checked = []
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or ".tmp-" in p.name or p.name == "c.txt":
            continue
        # <name>.next: a pair save's next half (kotoba.io.save_pair), itself written atomically
        kind = Path(p.name.removesuffix(".next"))
        if kind.suffix == ".bin":
            WordVectors.load_word2vec_format(p)
        elif kind.suffix == ".npz":
            load_npz(p)
            _check_pair(p)
        elif kind.suffix == ".json":
            load_json(p)
        elif kind.name.startswith("vocab"):
            Vocab.load(p)
        elif kind.suffix == ".png":
            data = p.read_bytes()
            assert data.startswith(b"\x89PNG") and data.endswith(b"IEND\xaeB`\x82"), p
        elif p.parent.name == "corpus":
            continue  # the encoded-corpus cache: validated through its meta.json when opened
        else:
            raise AssertionError(f"unexpected output {p}")
        checked.append(p.name)
    return checked


def _check_pair(p: Path) -> None:
    """The word2vec checkpoint and the LM model are ``.npz`` + JSON pairs: under its final name,
    the ``.npz`` loads with its JSON as one save (the LM state is a single ``.npz``)."""
    from kotoba.lm.checkpoint import sidecar_path
    from kotoba.word2vec.model import JSON_NAME, NPZ_NAME

    # a waiting half is skipped: its pair under the final names is what must load
    if p.name == NPZ_NAME:
        load_pair(p, p.with_name(JSON_NAME))
    elif p.name == "m.npz":  # the test's LM model (-o m.npz)
        load_pair(p, sidecar_path(p))


def test_sigkill_at_random_moments_leaves_no_truncated_file(tmp_path):
    _zipf_corpus(tmp_path / "c.txt", 200_000, 2000)
    rng = np.random.default_rng()
    moments = sorted(rng.uniform(0.3, 4.0, size=4))
    runs = []
    for k, m in enumerate(moments):
        d = tmp_path / f"run{k}"
        d.mkdir()
        if k % 2 == 0:
            argv = ["train", "../c.txt", "-o", "v.bin", "--checkpoint", "ck", "--save-vocab", "vocab.txt"]
            argv += ["--dim", "16", "--epochs", "4", "--min-count", "1", "--threads", "1", "--quiet"]
        else:
            argv = ["lm", "train", "--data", "../c.txt", "-o", "m.npz", "--state", "st.npz", "--state-every", "1"]
            argv += ["--plot", "curve.png", "--wordvec", "8", "--hidden", "8", "--epochs", "2", "--quiet"]
        runs.append((_start(argv, d), m, signal.SIGKILL))
    for (rc, err), m, k in zip(_signal_at(runs), moments, range(len(moments))):
        note = f"run {k}: SIGKILL at {m:.2f} s -> exit {rc}; {err[-400:]}"
        assert rc in (0, -signal.SIGKILL), note
        _check_complete(tmp_path / f"run{k}")
