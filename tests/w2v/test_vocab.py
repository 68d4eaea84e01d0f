"""Vocabulary: counting, ordering, min_count, pruning, save/load."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kotoba.errors import ConfigError, DataError, EmptyCorpusError, FormatError, UnknownWordError
from kotoba.text import Vocab, build_vocab, iter_sentences


def test_counts_order_and_totals():
    sents = [["b", "a", "c", "a"], ["c", "d", "b", "e"], ["a", "x"]]
    v = build_vocab(sents, min_count=2)
    # a=3; b=2 and c=2 tie -> first appearance (b before c); d, e, x dropped
    assert v.words == ["a", "b", "c"]
    assert v.counts.dtype == np.int64 and v.counts.tolist() == [3, 2, 2]
    assert v.total_words == 7 and v.raw_total_words == 10
    assert len(v) == 3 and "a" in v and "d" not in v
    assert v.id("c") == 2 and v.index == {"a": 0, "b": 1, "c": 2}
    with pytest.raises(UnknownWordError, match="'d'"):
        v.id("d")


def test_max_vocab_size_keeps_most_frequent():
    sents = [["a"] * 5 + ["b"] * 3 + ["c"] * 3 + ["d"] * 4]
    v = build_vocab(sents, min_count=1, max_vocab_size=3)
    assert v.words == ["a", "d", "b"]
    assert v.raw_total_words == 15 and v.total_words == 12


def test_empty_results_name_min_count_and_corpus():
    with pytest.raises(EmptyCorpusError, match=r"min_count=5 times in corpus\.txt"):
        build_vocab([["a", "b"], ["a"]], corpus_name="corpus.txt")
    with pytest.raises(EmptyCorpusError, match="no tokens"):
        build_vocab([[], []])
    with pytest.raises(ConfigError):
        build_vocab([["a"]], min_count=0)


def test_pruning_bounds_the_table_and_keeps_frequent_words_exact():
    rng = np.random.default_rng(0)
    # 3 frequent words throughout, plus a stream of 3,000 singletons
    sents = []
    for i in range(300):
        s = ["the", "of", "and"] * 3 + [f"rare{i}_{j}" for j in range(10)]
        sents.append([s[k] for k in rng.permutation(len(s))])
    exact = Counter(t for s in sents for t in s)
    v = build_vocab(iter(sents), min_count=1, max_table_size=50)
    assert sorted(v.words[:3]) == ["and", "of", "the"]
    assert v.counts[:3].tolist() == [900, 900, 900]
    assert len(v) <= 50 + 19  # at most one sentence of new words past the limit
    assert v.raw_total_words == sum(exact.values())
    # without pruning the same corpus gives exact counts for every word
    full = build_vocab(sents, min_count=1)
    assert len(full) == len(exact) and dict(zip(full.words, full.counts.tolist())) == exact


def test_build_from_reader(tmp_path):
    p = tmp_path / "c.txt"
    p.write_text("The cat\nthe dog the\n")
    v = build_vocab(iter_sentences(p, lowercase=True), min_count=2)
    assert v.words == ["the"] and v.counts.tolist() == [3] and v.raw_total_words == 5


def test_save_load_round_trip(tmp_path):
    v = Vocab(["日本", "b", "a"], [9, 4, 4], raw_total_words=30)
    p = tmp_path / "vocab.txt"
    v.save(p)
    assert p.read_text(encoding="utf-8") == "日本 9\nb 4\na 4\n"
    w = Vocab.load(p)
    assert w.words == v.words and w.counts.tolist() == [9, 4, 4]
    assert w.fingerprint() == v.fingerprint()
    assert w.raw_total_words == w.total_words == 17  # raw count is not stored


@pytest.mark.parametrize(
    "content,match",
    [
        ("a 3\nb\n", r"vocab.txt:2: expected 'word count'"),
        ("a 3\nb x\n", r"vocab.txt:2"),
        ("a 3\nb -1\n", r"vocab.txt:2"),
        ("a 3 4\n", r"vocab.txt:1"),
        ("a 3\na 2\n", r"'a' occurs twice"),
        ("\n\n", r"no words"),
    ],
)
def test_load_rejects_bad_files(tmp_path, content, match):
    p = tmp_path / "vocab.txt"
    p.write_text(content)
    with pytest.raises(FormatError, match=match):
        Vocab.load(p)


def test_load_missing_file_and_bad_words(tmp_path):
    with pytest.raises(DataError, match="nope.txt"):
        Vocab.load(tmp_path / "nope.txt")
    with pytest.raises(DataError, match="whitespace"):
        Vocab(["a b"], [1]).save(tmp_path / "v.txt")
    with pytest.raises(DataError, match="twice"):
        Vocab(["a", "a"], [1, 1])


@settings(max_examples=50, deadline=None)
@given(
    sents=st.lists(st.lists(st.sampled_from("abcdefghij"), max_size=10), min_size=1, max_size=10),
    min_count=st.integers(1, 4),
)
def test_matches_a_plain_counter(sents, min_count):
    exact = Counter(t for s in sents for t in s)
    first = {}
    for t in (t for s in sents for t in s):
        first.setdefault(t, len(first))
    expected = sorted((w for w, c in exact.items() if c >= min_count), key=lambda w: (-exact[w], first[w]))
    if not expected:
        with pytest.raises(EmptyCorpusError):
            build_vocab(sents, min_count=min_count)
        return
    v = build_vocab(sents, min_count=min_count)
    assert v.words == expected
    assert v.counts.tolist() == [exact[w] for w in expected]
    assert v.raw_total_words == sum(exact.values())


def test_real_corpora_match_their_published_counts():
    from conftest import shared_file

    ptb = build_vocab(iter_sentences(shared_file("ptb/ptb.train.txt")), min_count=1)
    assert (ptb.raw_total_words, len(ptb)) == (887_521, 9_999)
    assert ptb.words[0] == "the" and ptb.counts[ptb.id("<unk>")] == 45_020
    text8 = build_vocab(iter_sentences(shared_file("text8/text8-prefix.gz")), min_count=1)
    assert (text8.raw_total_words, len(text8)) == (1_171_945, 57_993)


SPECIALS = ("<unk>", "<eos>")


def test_specials_keep_their_rank_or_come_last():
    sents = [["a", "b", "<eos>"], ["a", "c", "<eos>"], ["a", "b", "d", "<eos>"]]
    v = build_vocab(sents, min_count=1, specials=SPECIALS)
    # a 3, <eos> 3 (ties: first appearance), b 2, c 1, d 1; <unk> never seen: last, count 0
    assert v.words == ["a", "<eos>", "b", "c", "d", "<unk>"]
    assert v.counts.tolist() == [3, 3, 2, 1, 1, 0]
    # a cut keeps both specials: two places left for the other words
    assert build_vocab(sents, min_count=1, max_vocab_size=4, specials=SPECIALS).words == ["a", "<eos>", "b", "<unk>"]
    # a special below min_count still comes (last, with its count)
    rare = build_vocab([["a", "a", "<unk>"]], min_count=2, specials=SPECIALS)
    assert rare.words == ["a", "<unk>", "<eos>"] and rare.counts.tolist() == [2, 1, 0]


def test_a_ranked_special_is_not_cut_by_another_missing_one():
    # <unk> ranks 3rd of a 3-word cut while <eos> is absent: both must be in, with one other word
    v = build_vocab(
        [["a"] * 5 + ["b"] * 4 + ["<unk>"] * 3 + ["c"] * 2], min_count=1, max_vocab_size=3, specials=SPECIALS
    )
    assert v.words == ["a", "<unk>", "<eos>"] and len(v) == 3


@settings(max_examples=50, deadline=None)
@given(
    sents=st.lists(st.lists(st.sampled_from(["a", "b", "c", "d", "<unk>", "<eos>"]), max_size=8), min_size=1),
    min_count=st.integers(1, 3),
    max_size=st.one_of(st.none(), st.integers(2, 6)),
)
def test_specials_always_in_and_the_rest_by_frequency(sents, min_count, max_size):
    if not any(sents):
        return
    v = build_vocab(sents, min_count=min_count, max_vocab_size=max_size, specials=SPECIALS)
    assert set(SPECIALS) <= set(v.words) and (max_size is None or len(v) <= max_size)
    plain = build_vocab(sents, min_count=1)
    others = [w for w in plain.words if w not in SPECIALS and plain.counts[plain.id(w)] >= min_count]
    n = len(others) if max_size is None else max_size - 2
    assert [w for w in v.words if w not in SPECIALS] == others[:n]


def test_specials_need_room():
    with pytest.raises(ConfigError, match="room for <unk>, <eos>"):
        build_vocab([["a"]], min_count=1, max_vocab_size=1, specials=SPECIALS)
    with pytest.raises(ConfigError, match="distinct"):
        build_vocab([["a"]], min_count=1, specials=("<unk>", "<unk>"))


def test_dict_form_equality_and_indexing():
    v = Vocab(["the", "<eos>", "日本"], [5, 3, 1])
    w = Vocab.from_dict(v.to_dict())
    assert w == v and w is not v and w[2] == "日本" and w.counts.dtype == np.int64
    assert Vocab(["the", "<eos>", "日本"], [5, 3, 2]) != v and v != ["the", "<eos>", "日本"]
    with pytest.raises(DataError, match="'words' and 'counts'"):
        Vocab.from_dict({"words": ["a"]})
    with pytest.raises(DataError, match="integers"):
        Vocab.from_dict({"words": ["a"], "counts": ["1"]})
