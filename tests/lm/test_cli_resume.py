"""`kotoba lm train --state ... --resume`: a run stopped after epoch 1 and resumed equals one
that ran straight through."""

from __future__ import annotations

import numpy as np

from kotoba.cli import main
from kotoba.lm.checkpoint import load_lm


def write_corpus(path, rng, n_lines):
    words = ["the", "cat", "a", "dog", "sat", "on", "mat", "saw", "fish", "ate"]
    lines = [" ".join(words[i] for i in rng.integers(0, len(words), rng.integers(3, 9))) for _ in range(n_lines)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def train_args(train, valid, out, epochs, state=None, resume=False, quiet=True):
    args = [
        "lm",
        "train",
        "--data",
        str(train),
        "--valid",
        str(valid),
        "--model",
        "better",
        "--wordvec",
        "12",
        "--hidden",
        "12",
        "--batch-size",
        "4",
        "--time-size",
        "6",
        "--epochs",
        str(epochs),
        "--seed",
        "3",
        "--dropout",
        "0.3",
        "-o",
        str(out),
    ]
    if quiet:
        args.append("--quiet")
    if state:
        args += ["--state", str(state)]
    if resume:
        args.append("--resume")
    return args


def test_resume_equals_uninterrupted(tmp_path, capsys):
    rng = np.random.default_rng(0)
    train, valid = tmp_path / "train.txt", tmp_path / "valid.txt"
    write_corpus(train, rng, 120)
    write_corpus(valid, rng, 20)

    assert main(train_args(train, valid, tmp_path / "straight.npz", 2)) == 0
    state = tmp_path / "state.npz"
    assert main(train_args(train, valid, tmp_path / "first.npz", 1, state)) == 0
    capsys.readouterr()
    assert main(train_args(train, valid, tmp_path / "resumed.npz", 2, state, resume=True, quiet=False)) == 0
    assert "resuming from" in capsys.readouterr().err  # it continued, it did not start over

    straight, _, meta_s = load_lm(tmp_path / "straight.npz")
    resumed, _, meta_r = load_lm(tmp_path / "resumed.npz")
    for a, b in zip(straight.params, resumed.params):
        np.testing.assert_array_equal(a, b)
    assert meta_s["valid_perplexity"] == meta_r["valid_perplexity"]


def test_resume_needs_a_state_file(tmp_path, capsys):
    rng = np.random.default_rng(0)
    train = tmp_path / "train.txt"
    write_corpus(train, rng, 50)
    assert main(train_args(train, train, tmp_path / "x.npz", 1, resume=True)) == 2
    assert "--resume needs --state" in capsys.readouterr().err
    assert main(train_args(train, train, tmp_path / "x.npz", 1, tmp_path / "none.npz", resume=True)) == 2
    assert "no such file" in capsys.readouterr().err


def test_best_model_is_written_during_training(tmp_path, monkeypatch, capsys):
    """-o holds the best model so far after every improving epoch: a run that dies in epoch 2
    still leaves epoch 1's model behind."""
    import kotoba.lm.trainer as trainer_mod
    from kotoba.errors import DivergenceError

    rng = np.random.default_rng(0)
    train, valid = tmp_path / "train.txt", tmp_path / "valid.txt"
    write_corpus(train, rng, 120)
    write_corpus(valid, rng, 20)
    real = trainer_mod.perplexity
    calls = []

    def failing_second_time(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise DivergenceError("simulated failure in epoch 2")
        return real(*args, **kwargs)

    monkeypatch.setattr(trainer_mod, "perplexity", failing_second_time)
    out = tmp_path / "lm.npz"
    assert main(train_args(train, valid, out, 3)) == 2
    assert "simulated failure" in capsys.readouterr().err
    model, vocab, meta = load_lm(out)
    assert meta["epoch"] == 1 and meta["partial"] is True and meta["valid_ppl"] > 1
