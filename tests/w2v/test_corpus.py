"""Encoded corpus: ids/offsets round trip, OOV dropping, reuse, subsampling formula."""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest

from kotoba.errors import EmptyCorpusError, FormatError
from kotoba.text import EncodedCorpus, Vocab, build_vocab, encode_corpus, iter_sentences, subsample_keep_probs
from kotoba.text import corpus as corpus_mod


@pytest.fixture
def small(tmp_path):
    p = tmp_path / "c.txt"
    p.write_text("a b c a\nzz yy\n\nb a qq c\nc\n")
    vocab = build_vocab(iter_sentences(p), min_count=2)  # a=3, b=2, c=3 -> a, c, b
    return p, vocab


def test_round_trip_offsets_and_oov_dropping(small, tmp_path):
    p, vocab = small
    assert vocab.words == ["a", "c", "b"]
    enc = encode_corpus(p, vocab, tmp_path / "enc")
    assert enc.ids.dtype == np.int32 and isinstance(enc.ids, np.memmap)
    assert enc.sent_offsets.dtype == np.int64
    # "zz yy" has no in-vocabulary word, so that sentence disappears; "qq" is dropped
    assert enc.ids.tolist() == [0, 2, 1, 0, 2, 0, 1, 1]
    assert enc.sent_offsets.tolist() == [0, 4, 7, 8]
    assert enc.n_sentences == 3 and enc.n_words == 8
    assert enc.raw_words == 11
    decoded = [[vocab.words[i] for i in enc.sentence(k)] for k in range(enc.n_sentences)]
    assert decoded == [["a", "b", "c", "a"], ["b", "a", "c"], ["c"]]
    again = EncodedCorpus.open(tmp_path / "enc")
    assert again.ids.tolist() == enc.ids.tolist() and again.raw_words == 11


def test_long_lines_and_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(corpus_mod, "_WRITE_BLOCK", 7)  # force many block writes
    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(20)]
    lines = [[words[j] for j in rng.integers(0, 20, size=rng.integers(1, 60))] for _ in range(40)]
    p = tmp_path / "c.txt"
    p.write_text("\n".join(" ".join(l) for l in lines) + "\n")
    vocab = build_vocab(iter_sentences(p), min_count=1)
    enc = encode_corpus(p, vocab, tmp_path / "enc", max_sentence_len=25)
    expected = []
    for line in lines:
        for k in range(0, len(line), 25):
            expected.append([vocab.index[w] for w in line[k : k + 25]])
    assert [enc.sentence(i).tolist() for i in range(enc.n_sentences)] == expected
    assert enc.n_words == vocab.total_words


def test_reuse_when_unchanged_and_reencode_when_changed(small, tmp_path):
    p, vocab = small
    out = tmp_path / "enc"
    encode_corpus(p, vocab, out)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["sources"][0]["path"] == str(p.resolve()) and meta["raw_words"] == 11

    os.utime(out / "ids.int32", ns=(1, 1))  # mark the file so that a rewrite is visible
    encode_corpus(p, vocab, out)
    assert (out / "ids.int32").stat().st_mtime_ns == 1  # reused, not rewritten

    encode_corpus(p, vocab, out, lowercase=True)  # other options -> encoded again
    assert (out / "ids.int32").stat().st_mtime_ns != 1

    p.write_text("c c c a\n")
    enc = encode_corpus(p, vocab, out)  # changed source -> encoded again
    assert enc.ids.tolist() == [1, 1, 1, 0] and enc.raw_words == 4

    other = Vocab(["c", "a"], [3, 1])
    enc = encode_corpus(p, other, out)  # other vocabulary -> encoded again
    assert enc.ids.tolist() == [0, 0, 0, 1] and enc.vocab_size == 2


def test_no_in_vocabulary_word_is_an_error(small, tmp_path):
    p, _ = small
    with pytest.raises(EmptyCorpusError, match="c.txt"):
        encode_corpus(p, Vocab(["nothere"], [5]), tmp_path / "enc")
    assert not (tmp_path / "enc" / "meta.json").exists()
    assert not (tmp_path / "enc" / "ids.int32").exists()


def test_open_detects_damage(small, tmp_path):
    p, vocab = small
    out = tmp_path / "enc"
    encode_corpus(p, vocab, out)
    with open(out / "ids.int32", "ab") as f:
        f.write(b"\0\0\0\0")
    with pytest.raises(FormatError, match="ids.int32"):
        EncodedCorpus.open(out)
    np.array([0, 1, 2, 9, 0, 1, 1, 1], dtype=np.int32).tofile(out / "ids.int32")
    with pytest.raises(FormatError, match="outside"):
        EncodedCorpus.open(out)
    # encode_corpus repairs a damaged cache instead of trusting it
    assert encode_corpus(p, vocab, out).ids.tolist() == [0, 2, 1, 0, 2, 0, 1, 1]
    with pytest.raises(FormatError, match="meta.json"):
        EncodedCorpus.open(tmp_path / "nowhere")


def test_subsample_formula_by_hand():
    counts = np.array([1000, 100, 10, 0])
    sample, total = 1e-3, 50_000  # t = sample * total = 50
    keep = subsample_keep_probs(counts, sample, total)
    assert keep.dtype == np.float64 and keep.shape == (4,)
    # f=1000: (sqrt(1000/50) + 1) * 50/1000 = (4.4721 + 1) * 0.05 = 0.27361
    assert keep[0] == pytest.approx((math.sqrt(20) + 1) * 0.05, rel=1e-12)
    assert keep[0] == pytest.approx(0.273607, abs=1e-6)
    # f=100: (sqrt(2) + 1) * 0.5 = 1.207 -> clipped to 1; rare and zero counts: 1
    assert keep[1:].tolist() == [1.0, 1.0, 1.0]
    assert subsample_keep_probs(counts, 0, total).tolist() == [1.0] * 4
    assert subsample_keep_probs(counts, -1.0, total).tolist() == [1.0] * 4
    # monotone: more frequent words are kept less often
    k = subsample_keep_probs(np.arange(1, 10_000), 1e-4, 10**6)
    assert np.all(np.diff(k) <= 0) and k.min() > 0
