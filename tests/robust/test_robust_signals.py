"""Ctrl-C / SIGTERM in the CLI: the first signal asks the trainer to stop, the exit status says which
signal, the message gives the exact resume command; a second signal quits at once.

These tests send real signals to this process while a stand-in trainer polls ``should_stop``; the
end-to-end runs with the real trainers are in test_robust_interrupt.py.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from kotoba.cli import main, resume_command
from kotoba.cli.signals import StopFlag, stop_on_signals
from kotoba.errors import TrainingInterrupted

from .robust_helpers import SRC, Result


def _fake_train(monkeypatch, signum: int, checkpoint: bool = True) -> list:
    """Replace the word2vec trainer by a loop that signals itself and stops when asked."""
    import kotoba.word2vec as w2v

    seen = []

    def train(corpus, config, *, should_stop=None, checkpoint_dir=None, **kw):
        seen.append(should_stop)
        assert not should_stop()  # a real trainer asks before its first job
        os.kill(os.getpid(), signum)
        deadline = time.monotonic() + 5
        while not should_stop():  # a real trainer checks between steps
            assert time.monotonic() < deadline, "the signal never set the flag"
            time.sleep(0.001)
        raise TrainingInterrupted(
            "training stopped at epoch 1 of 5, job 3 of 9", checkpoint_dir if checkpoint else None
        )

    monkeypatch.setattr(w2v, "train", train)
    return seen


@pytest.mark.parametrize("signum,code,name", [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")])
def test_a_signal_stops_training_with_its_exit_status_and_the_resume_command(
    capfd, tmp_path, monkeypatch, signum, code, name
):
    # capfd, not capsys: the handler's notice goes straight to fd 2 (it may interrupt a write to sys.stderr)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.txt").write_text("a b c\n")
    seen = _fake_train(monkeypatch, signum)
    argv = ["train", "c.txt", "-o", "v.bin", "--checkpoint", "ck dir", "--epochs", "5"]
    rc = main(argv)
    res = Result(rc, *capfd.readouterr())
    assert res.rc == code
    assert isinstance(seen[0], StopFlag)
    assert f"kotoba: {name} received: stopping after the current step and saving a checkpoint" in res.err
    assert f"kotoba: error: interrupted by {name}: training stopped at epoch 1 of 5, job 3 of 9" in res.err
    line = next(s for s in res.err.splitlines() if "to continue, run:" in s)
    assert shlex.split(line.split("run: ", 1)[1]) == ["kotoba", *argv, "--resume"]  # quoted: 'ck dir' survives
    # the handlers are gone again: the next SIGINT would be an ordinary KeyboardInterrupt
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_without_a_checkpoint_folder_the_message_says_how_to_make_runs_resumable(kotoba, tmp_path, monkeypatch):
    (tmp_path / "c.txt").write_text("a b c\n")
    _fake_train(monkeypatch, signal.SIGINT, checkpoint=False)
    res = kotoba("train", "c.txt", "-o", "v.bin")
    assert res.rc == 130
    assert "nothing was saved to resume from; give --checkpoint DIR to make a run resumable" in res.err
    assert "to continue" not in res.err


@pytest.mark.parametrize("signum,code,name", [(signal.SIGINT, 130, "SIGINT"), (signal.SIGTERM, 143, "SIGTERM")])
def test_a_signal_before_training_starts_quits_at_once(kotoba, tmp_path, monkeypatch, signum, code, name):
    """While the corpus is read (the trainer has not asked yet) there is nothing to save: no waiting."""
    import kotoba.word2vec as w2v

    (tmp_path / "c.txt").write_text("a b c\n")
    after = []

    def train(corpus, config, *, should_stop=None, **kw):
        os.kill(os.getpid(), signum)  # the scan: nobody has asked the hook yet
        time.sleep(0.5)
        after.append("the scan went on")

    monkeypatch.setattr(w2v, "train", train)
    res = kotoba("train", "c.txt", "-o", str(tmp_path / "v.bin"), "--checkpoint", str(tmp_path / "ck"))
    assert res.rc == code and not after
    assert f"kotoba: interrupted by {name}" in res.err and "Traceback" not in res.err
    assert "saving a checkpoint" not in res.err and "to continue" not in res.err
    assert not (tmp_path / "v.bin").exists()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_resume_command_is_not_doubled():
    assert resume_command(["train", "a b.txt", "--resume"]) == "kotoba train 'a b.txt' --resume"
    assert resume_command(["lm", "train", "--state", "s.npz"]) == "kotoba lm train --state s.npz --resume"


def test_non_training_commands_keep_the_default_ctrl_c(kotoba, monkeypatch):
    import kotoba.cli.vectors as cv

    def similar(args):
        assert args.should_stop is None
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        raise KeyboardInterrupt  # what Ctrl-C raises while a big vectors file loads

    monkeypatch.setattr(cv, "_similar", similar)  # register() runs at every main(): it picks this up
    res = kotoba("similar", "v.bin", "word")
    assert res.rc == 130 and "kotoba: interrupted by SIGINT" in res.err and "Traceback" not in res.err


def test_second_signal_quits_at_once():
    # in a child: the flag is set by the first SIGINT, the second raises KeyboardInterrupt at once
    code = textwrap.dedent(
        """
        import os, signal, sys, time
        from kotoba.cli.signals import stop_on_signals
        with stop_on_signals() as stop:
            assert not stop()  # a trainer listens
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
            assert stop() and stop.exit_code == 130, "first signal: flag only"
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(5)
            except KeyboardInterrupt:
                print("quit at once", flush=True)
                sys.exit(stop.exit_code)
        """
    )
    env = dict(os.environ, PYTHONPATH=str(SRC))
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert res.returncode == 130 and "quit at once" in res.stdout, res.stderr
    assert "Ctrl-C again quits at once" in res.stderr


def test_stop_flag_outside_the_main_thread_never_fires():
    import threading

    out = []

    def worker():
        with stop_on_signals() as stop:
            out.append(stop())

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert out == [False]
