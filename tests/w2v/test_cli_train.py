"""``kotoba train`` end to end on a small generated corpus."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kotoba.cli import main
from kotoba.text import Vocab
from kotoba.vectors import WordVectors


@pytest.fixture
def corpus(tmp_path):
    # two topics whose words only meet within their own topic
    rng = np.random.default_rng(0)
    topics = [["cat", "dog", "pet", "fur", "paw"], ["car", "road", "wheel", "drive", "fuel"]]
    lines = []
    for _ in range(300):
        words = topics[int(rng.integers(2))]
        lines.append(" ".join(words[int(k)] for k in rng.integers(0, 5, size=8)))
    p = tmp_path / "corpus.txt"
    p.write_text("\n".join(lines) + "\n")
    return p


SMALL = ["--dim", "16", "--epochs", "2", "--min-count", "2", "--threads", "1", "--seed", "3"]


def test_train_writes_loadable_binary_vectors_and_json(corpus, tmp_path, capsys):
    out = tmp_path / "vectors.bin"
    vocab = tmp_path / "vocab.txt"
    rc = main(["train", str(corpus), "-o", str(out), "--sg", "--save-vocab", str(vocab), "--quiet", "--json", *SMALL])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["vocab_size"] == 10 and summary["dim"] == 16 and summary["format"] == "binary"
    assert summary["words"] == 2400 and summary["epochs"] == 2
    assert summary["seconds"] > 0 and summary["words_per_sec"] > 0
    assert np.isfinite(summary["final_loss"])
    wv = WordVectors.load_word2vec_format(out, binary=True)
    assert len(wv) == 10 and wv.vector_size == 16
    assert np.all(np.isfinite(wv.vectors))
    v = Vocab.load(vocab)
    assert sorted(v.words) == sorted(["cat", "dog", "pet", "fur", "paw", "car", "road", "wheel", "drive", "fuel"])
    assert v.total_words == 2400


def test_text_format_hs_cbow_and_human_summary(corpus, tmp_path, capsys):
    out = tmp_path / "vectors.txt"  # .txt selects the text format
    rc = main(["train", str(corpus), "-o", str(out), "--cbow", "--hs", "--negative", "0", *SMALL])
    assert rc == 0
    assert "wrote" in capsys.readouterr().out
    assert out.read_text().startswith("10 16\n")
    assert len(WordVectors.load_word2vec_format(out, binary=False)) == 10


def test_bad_corpus_path_exits_2_with_message(tmp_path, capsys):
    missing = tmp_path / "no_such_corpus.txt"
    rc = main(["train", str(missing), "-o", str(tmp_path / "v.bin"), "--quiet"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "kotoba: error:" in err and "no_such_corpus.txt" in err
    assert not (tmp_path / "v.bin").exists()


def test_empty_corpus_and_too_high_min_count(tmp_path, corpus, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n")
    assert main(["train", str(empty), "-o", str(tmp_path / "v.bin"), "--quiet"]) == 2
    assert "no tokens" in capsys.readouterr().err
    assert main(["train", str(corpus), "-o", str(tmp_path / "v.bin"), "--quiet", "--min-count", "100000"]) == 2
    assert "min_count=100000" in capsys.readouterr().err
    assert not (tmp_path / "v.bin").exists()


def test_option_errors_exit_2(corpus, tmp_path, capsys):
    assert main(["train", str(corpus), "-o", str(tmp_path / "v.bin"), "--resume"]) == 2
    assert "--checkpoint" in capsys.readouterr().err
    assert main(["train", str(corpus), "-o", str(tmp_path / "v.bin"), "--dim", "0"]) == 2
    assert "dim" in capsys.readouterr().err
    assert main(["train", str(corpus), "-o", str(tmp_path)]) == 2
    assert "folder" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", str(corpus), "-o", "v.bin", "--sg", "--cbow"])


def test_checkpoint_then_resume(corpus, tmp_path, capsys):
    ck = tmp_path / "ck"
    a = tmp_path / "a.bin"
    assert main(["train", str(corpus), "-o", str(a), "--checkpoint", str(ck), "--quiet", *SMALL]) == 0
    assert (ck / "corpus" / "ids.int32").exists()
    b = tmp_path / "b.bin"
    # every epoch is already done: resuming just rewrites the same vectors
    assert main(["train", str(corpus), "-o", str(b), "--checkpoint", str(ck), "--resume", "--quiet", *SMALL]) == 0
    va = WordVectors.load_word2vec_format(a)
    vb = WordVectors.load_word2vec_format(b)
    assert va.index_to_key == vb.index_to_key
    np.testing.assert_array_equal(va.vectors, vb.vectors)
