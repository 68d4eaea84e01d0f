"""`kotoba lm ...` end to end on tiny data: train -> eval --json -> generate, import-book, download,
and user errors as exit code 2 with a message."""

from __future__ import annotations

import functools
import http.server
import json
import pickle
import shutil
import threading

import numpy as np
import pytest

from conftest import shared_file
from kotoba.cli import main
from kotoba.lm.checkpoint import load_lm
from kotoba.lm.data import ptb_vocab


def tiny_corpus(rng, n_lines):
    subjects, verbs, objects = ["the cat", "a dog", "the bird"], ["sat on", "saw", "ate"], ["the mat", "a fish", "it"]
    lines = [f"{subjects[rng.integers(3)]} {verbs[rng.integers(3)]} {objects[rng.integers(3)]}" for _ in range(n_lines)]
    return "\n".join(lines) + "\n"


@pytest.fixture
def corpus(tmp_path):
    rng = np.random.default_rng(1)
    train = tmp_path / "train.txt"
    valid = tmp_path / "valid.txt"
    train.write_text(tiny_corpus(rng, 300), encoding="utf-8")
    valid.write_text(tiny_corpus(rng, 40), encoding="utf-8")
    return train, valid


def last_json(text):
    return json.loads(text.strip().splitlines()[-1])


def test_train_eval_generate(tmp_path, corpus, capsys):
    train, valid = corpus
    ckpt = tmp_path / "lm.npz"
    png = tmp_path / "curve.png"
    rc = main(
        [
            "lm",
            "train",
            "--data",
            str(train),
            "--valid",
            str(valid),
            "--model",
            "lstm",
            "--wordvec",
            "16",
            "--hidden",
            "16",
            "--batch-size",
            "4",
            "--time-size",
            "8",
            "--lr",
            "5",
            "--epochs",
            "3",
            "--seed",
            "0",
            "-o",
            str(ckpt),
            "--quiet",
            "--plot",
            str(png),
        ]
    )
    assert rc == 0
    assert ckpt.exists() and png.read_bytes()[:4] == b"\x89PNG"
    model, vocab, meta = load_lm(ckpt)
    assert type(model).__name__ == "Rnnlm" and "cat" in vocab and "<unk>" in vocab
    assert len(meta["valid_perplexity"]) == 3
    capsys.readouterr()

    assert main(["lm", "eval", str(ckpt), "--data", str(valid), "--json"]) == 0
    res = last_json(capsys.readouterr().out)
    # the grammar has at most 3 choices per slot: a trained model is far below the vocab size
    n_tokens = sum(len(line.split()) + 1 for line in valid.read_text().splitlines())
    assert 1 < res["perplexity"] < 6 and res["tokens"] == n_tokens
    assert res["perplexity"] == pytest.approx(meta["valid_perplexity"][meta["best_epoch"] - 1], rel=1e-4)

    args = [
        "lm",
        "generate",
        str(ckpt),
        "--start",
        "the cat",
        "--length",
        "30",
        "--temperature",
        "0.8",
        "--top-k",
        "5",
        "--seed",
        "3",
        "--no-stop",
    ]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert main(args) == 0
    assert capsys.readouterr().out == text  # same seed, same text
    words = text.split()
    assert words[:2] == ["the", "cat"] and len(words) >= 20 and set(words) <= set(vocab)


def test_train_ptb_layout_rnn_and_better(tmp_path, corpus, capsys, monkeypatch):
    train, valid = corpus
    d = tmp_path / "ptb"
    d.mkdir()
    for split, src in (("train", train), ("valid", valid), ("test", valid)):
        (d / f"ptb.{split}.txt").write_text(src.read_text())
    monkeypatch.setenv("KOTOBA_DATA", str(d))  # --data-dir defaults to $KOTOBA_DATA
    for model in ("rnn", "better"):
        ckpt = tmp_path / f"{model}.npz"
        rc = main(
            [
                "lm",
                "train",
                "--model",
                model,
                "--wordvec",
                "8",
                "--hidden",
                "8",
                "--batch-size",
                "4",
                "--time-size",
                "6",
                "--epochs",
                "1",
                "--optimizer",
                "adam",
                "--lr",
                "0.01",
                "--wrap",
                "--dropout",
                "0.2",
                "-o",
                str(ckpt),
                "--quiet",
            ]
        )
        assert rc == 0
        m, vocab, meta = load_lm(ckpt)
        assert type(m).__name__ == {"rnn": "SimpleRnnlm", "better": "BetterRnnlm"}[model]
        assert vocab == ptb_vocab(d) and meta["data"] == "ptb" and meta["wrap"] is True
        capsys.readouterr()
        assert main(["lm", "eval", str(ckpt), "--split", "test", "--json"]) == 0
        assert last_json(capsys.readouterr().out)["perplexity"] < len(vocab)


def test_import_book_cli(tmp_path, capsys):
    d = tmp_path / "ptb"
    d.mkdir()
    for split in ("train", "valid", "test"):
        (d / f"ptb.{split}.txt").write_text(" a b c \n b <unk> d \n c \n")
    V, D, H = len(ptb_vocab(d)), 3, 2
    rng = np.random.default_rng(0)
    ps = [rng.standard_normal(s).astype(np.float16) for s in ((V, D), (D, 4 * H), (H, 4 * H), (4 * H,), (H, V), (V,))]
    pkl = tmp_path / "Rnnlm.pkl"
    pkl.write_bytes(pickle.dumps(ps))
    out = tmp_path / "book.npz"
    assert main(["lm", "import-book", str(pkl), "--model", "rnnlm", "--data-dir", str(d), "-o", str(out)]) == 0
    assert "V=6, D=3, H=2" in capsys.readouterr().out
    assert main(["lm", "eval", str(out), "--data-dir", str(d), "--split", "valid", "--json"]) == 0
    assert np.isfinite(last_json(capsys.readouterr().out)["perplexity"])


def test_download_cli_against_local_server(tmp_path, capsys):
    src = shared_file("ptb/ptb.train.txt").parent
    root = tmp_path / "served"
    root.mkdir()
    for split in ("train", "valid", "test"):
        shutil.copyfile(src / f"ptb.{split}.txt", root / f"ptb.{split}.txt")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        dest = tmp_path / "dl"
        url = f"http://127.0.0.1:{server.server_address[1]}"
        assert main(["lm", "download", "--dest", str(dest), "--url", url]) == 0
        assert sorted(p.name for p in dest.iterdir()) == ["ptb.test.txt", "ptb.train.txt", "ptb.valid.txt"]
        assert capsys.readouterr().out.count("ptb.") == 3
        (root / "ptb.test.txt").write_text("tampered\n")
        (dest / "ptb.test.txt").unlink()
        assert main(["lm", "download", "--dest", str(dest), "--url", url]) == 2
        assert "SHA-256 mismatch" in capsys.readouterr().err
    finally:
        server.shutdown()
        server.server_close()
        t.join(5)


@pytest.mark.parametrize(
    "argv,msg",
    [
        (["lm", "eval", "{tmp}/missing.npz", "--json", "--data", "{tmp}/x.txt"], "missing.npz"),
        (["lm", "train", "--data", "ptb", "-o", "{tmp}/o.npz", "--quiet"], "--data-dir DIR (or set KOTOBA_DATA"),
        (["lm", "eval", "{tmp}/x.txt", "--data-dir", "{tmp}"], "kotoba lm download --dest DIR"),
        (["lm", "train", "--data", "{tmp}/nope.txt", "-o", "{tmp}/o.npz", "--quiet"], "nope.txt"),
        (["lm", "train", "--data", "{tmp}/x.txt", "--hidden", "0", "-o", "{tmp}/o.npz"], "--hidden"),
        (["lm", "train", "--data", "{tmp}/x.txt", "-o", "{tmp}/o.npz", "--quiet"], "too short"),
        (["lm", "import-book", "{tmp}/x.txt", "--data-dir", "{tmp}", "-o", "{tmp}/o.npz"], "pickle"),
        (["lm", "download"], "--dest"),
    ],
)
def test_user_errors_exit_2(tmp_path, capsys, monkeypatch, argv, msg):
    monkeypatch.delenv("KOTOBA_DATA", raising=False)
    (tmp_path / "x.txt").write_text("just a few words\n")
    rc = main([a.replace("{tmp}", str(tmp_path)) for a in argv])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("kotoba: error:") and msg in err
    assert not (tmp_path / "o.npz").exists()


def test_generate_unknown_word_exit_2(tmp_path, corpus, capsys):
    train, _ = corpus
    ckpt = tmp_path / "lm.npz"
    assert (
        main(
            [
                "lm",
                "train",
                "--data",
                str(train),
                "--wordvec",
                "4",
                "--hidden",
                "4",
                "--batch-size",
                "2",
                "--time-size",
                "4",
                "--epochs",
                "1",
                "-o",
                str(ckpt),
                "--quiet",
            ]
        )
        == 0
    )
    rc = main(["lm", "generate", str(ckpt), "--start", "the caat"])
    err = capsys.readouterr().err
    assert rc == 2 and "'caat'" in err and "cat" in err
