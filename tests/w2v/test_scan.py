"""One-pass scan_corpus: exactly build_vocab + encode_corpus, the pruning fallback, bounded memory."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kotoba.errors import ConfigError, DataError, EmptyCorpusError
from kotoba.text import ReadStats, build_vocab, encode_corpus, iter_sentences
from kotoba.text import corpus as corpus_mod
from kotoba.text.corpus import scan_corpus


def _two_pass(
    source,
    out: Path,
    min_count=1,
    max_vocab_size=None,
    lowercase=False,
    max_sentence_len=10000,
    max_table_size=5_000_000,
):
    vocab = build_vocab(iter_sentences(source, lowercase, max_sentence_len), min_count, max_vocab_size, max_table_size)
    stats = ReadStats()
    enc = encode_corpus(source, vocab, out, lowercase, max_sentence_len, reuse=False, stats=stats)
    return vocab, enc, stats


def _assert_same(source, tmp_path: Path, block_size=1 << 16, **kw):
    """scan_corpus gives the two-pass vocabulary, ids, offsets, meta and read stats; returns them."""
    kw.setdefault("min_count", 1)
    v1, e1, st1 = _two_pass(source, tmp_path / "two", **kw)
    st2 = ReadStats()
    v2, e2 = scan_corpus(source, tmp_path / "one", stats=st2, block_size=block_size, **kw)
    assert v2.words == v1.words
    assert v2.counts.tolist() == v1.counts.tolist()
    assert v2.raw_total_words == v1.raw_total_words
    assert e2.ids.tolist() == e1.ids.tolist()
    assert e2.sent_offsets.tolist() == e1.sent_offsets.tolist()
    assert e2.raw_words == e1.raw_words and e2.vocab_size == len(v2)
    assert e2.meta == e1.meta
    assert st2 == st1
    assert not list((tmp_path / "one").glob("*.tmp"))  # provisional files removed
    return v2, e2


def test_small_corpus_oov_only_lines_and_ties(tmp_path):
    p = tmp_path / "c.txt"
    # b and a tie at 3 (b first), then d, zz, c, q at 2 in order of first appearance;
    # with min_count=3 "yy zz" and "q" hold no kept word
    p.write_text("b d zz a\nyy zz\n\nc a q b\nq\n b d c a")
    vocab, enc = _assert_same(p, tmp_path, min_count=2)
    assert vocab.words == ["b", "a", "d", "zz", "c", "q"]
    vocab, enc = _assert_same(p, tmp_path / "m3", min_count=3)
    assert vocab.words == ["b", "a"]
    assert enc.sent_offsets.tolist() == [0, 2, 4, 6]  # "yy zz" and "q" are gone
    assert vocab.raw_total_words == 15 and enc.raw_words == 15


@pytest.mark.parametrize("max_vocab_size", [1, 2, 3, 100])
def test_max_vocab_size(tmp_path, max_vocab_size):
    p = tmp_path / "c.txt"
    p.write_text("x y z x y x w\nw w w v\n")
    vocab, _ = _assert_same(p, tmp_path, max_vocab_size=max_vocab_size)
    assert len(vocab) == min(max_vocab_size, 5)


def test_long_single_line_is_cut_like_iter_sentences(tmp_path):
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in rng.zipf(1.3, 30_000) % 3000]
    p = tmp_path / "one_line.txt"
    p.write_text(" " + " ".join(words))  # text8 style: leading space, no newline
    for max_len in (1, 7, 1000, 10000, 40000):
        for block in (97, 4096):
            _assert_same(p, tmp_path / f"{max_len}-{block}", min_count=2, max_sentence_len=max_len, block_size=block)


def test_several_files_and_a_directory(tmp_path):
    d = tmp_path / "corpus"
    (d / "sub").mkdir(parents=True)
    (d / "a.txt").write_text("one two three\ntwo three")  # no final newline: the line still ends here
    (d / "sub" / "b.txt").write_text("three two\n\n")
    (d / "c.txt").write_text("")
    (d / ".hidden").write_text("never read")
    vocab, enc = _assert_same(d, tmp_path / "dir", max_sentence_len=2)
    assert enc.sent_offsets.tolist() == [0, 2, 3, 5, 7]
    _assert_same([d / "a.txt", d / "a.txt"], tmp_path / "twice", min_count=3)


# Whitespace str.split knows but bytes.split does not, invalid UTF-8, a BOM, Greek sigma for
# lowercase, U+FFFF, U+FFFD, and CJK: the byte-level tokenising must agree with the reader's.
_PIECES = [
    "a",
    "b",
    "Ab",
    "ΣΑΣ",
    "σ",
    "ΟΔΟΣ",
    "猫",
    "犬だ",
    "\uffff",
    "\ufffd",
    "é",
    "É",
    "x\x00y",
    " ",
    "  ",
    "\t",
    "\r",
    "\x0b",
    "\x0c",
    "\x1c",
    "\x1f",
    "\x85",
    "\xa0",
    "\u2028",
    "\u3000",
    "\n",
    "\n\n",
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    parts=st.lists(st.sampled_from(_PIECES), max_size=60),
    junk=st.sampled_from([b"", b"\xff", b"\xe3\x81", b"\xc3"]),
    bom=st.booleans(),
    lowercase=st.booleans(),
    min_count=st.integers(1, 3),
    max_vocab_size=st.sampled_from([None, 1, 3]),
    max_len=st.integers(1, 5),
    block=st.integers(1, 9),
)
def test_generated_text_matches_two_passes(
    tmp_path_factory, parts, junk, bom, lowercase, min_count, max_vocab_size, max_len, block
):
    tmp = tmp_path_factory.mktemp("gen")
    data = "".join(parts).encode("utf-8")
    data = (b"\xef\xbb\xbf" if bom else b"") + data[: len(data) // 2] + junk + data[len(data) // 2 :]
    p = tmp / "g.txt"
    p.write_bytes(data)
    try:
        _assert_same(
            p,
            tmp,
            block_size=block,
            min_count=min_count,
            max_vocab_size=max_vocab_size,
            lowercase=lowercase,
            max_sentence_len=max_len,
        )
    except EmptyCorpusError as e:
        # then both routes must fail, with the same message
        with pytest.raises(EmptyCorpusError) as two:
            _two_pass(p, tmp / "two2", min_count, max_vocab_size, lowercase, max_len)
        assert str(two.value) == str(e)


def test_pruning_falls_back_to_two_passes(tmp_path):
    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in rng.zipf(1.5, 20_000) % 5000]
    p = tmp_path / "z.txt"
    p.write_text("\n".join(" ".join(words[i : i + 13]) for i in range(0, len(words), 13)))
    vocab, _ = _assert_same(p, tmp_path / "pruned", min_count=2, max_table_size=300)
    exact, _ = _assert_same(p, tmp_path / "exact", min_count=2)
    assert len(vocab) < len(exact)  # pruning did happen, and scan_corpus followed build_vocab
    distinct = len(set(words))
    _assert_same(p, tmp_path / "at_limit", min_count=2, max_table_size=distinct)  # no pruning yet


def test_errors(tmp_path):
    empty = tmp_path / "e.txt"
    empty.write_text(" \n\t\n")
    with pytest.raises(EmptyCorpusError, match="contains no tokens"):
        scan_corpus(empty, tmp_path / "out")
    rare = tmp_path / "r.txt"
    rare.write_text("a b c\n")
    with pytest.raises(EmptyCorpusError, match="min_count=2"):
        scan_corpus(rare, tmp_path / "out", min_count=2, corpus_name="rare.txt")
    with pytest.raises(DataError, match="no such file"):
        scan_corpus(tmp_path / "missing.txt", tmp_path / "out")
    for kw in (
        {"min_count": 0},
        {"max_vocab_size": 0},
        {"max_sentence_len": 0},
        {"block_size": 0},
        {"max_table_size": 0},
    ):
        with pytest.raises(ConfigError):
            scan_corpus(rare, tmp_path / "out", **kw)
    assert not list((tmp_path / "out").glob("*"))


def test_encode_corpus_reuses_a_scanned_folder(tmp_path):
    p = tmp_path / "c.txt"
    p.write_text("a b a\nc a b\n")
    vocab, _ = scan_corpus(p, tmp_path / "enc", min_count=1)
    ids_file = tmp_path / "enc" / corpus_mod.IDS_FILE
    mtime = ids_file.stat().st_mtime_ns
    again = encode_corpus(p, vocab, tmp_path / "enc")
    assert ids_file.stat().st_mtime_ns == mtime and again.ids.tolist() == [0, 1, 0, 2, 0, 1]


def test_memory_stays_bounded_on_a_20mb_single_line(tmp_path):
    piece = " ".join(f"w{i % 5000}" for i in range(100_000)) + " "
    peaks = []
    for size in (5 << 20, 20 << 20):
        p = tmp_path / f"big{size}.txt"
        with open(p, "w") as f:
            for _ in range(size // len(piece)):
                f.write(piece)
        tracemalloc.start()
        try:
            vocab, enc = scan_corpus(p, tmp_path / f"out{size}")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert enc.n_words == (size // len(piece)) * 100_000 and len(vocab) == 5000
        peaks.append(peak)
        del enc
    assert peaks[1] < (20 << 20) / 4, f"peak {peaks[1] / 1e6:.1f} MB for a 20 MB file"
    assert peaks[1] < 1.5 * peaks[0], f"peak grew with the file: {peaks[0] / 1e6:.1f} -> {peaks[1] / 1e6:.1f} MB"


def test_word_table_ids_growth_and_line_ends():
    from kotoba.text.wordtable import WordTable

    table = WordTable()
    ids, ends = table.encode(b"")
    assert ids.tolist() == [] and ends.tolist() == [] and len(table) == 0
    ids, ends = table.encode(b" ab a\x1cab\n\n b\xc3\xa9\x0bab\t")
    assert ids.tolist() == [0, 1, 0, 2, 0] and ends.tolist() == [3, 3]
    words = [f"w{i}" for i in range(70_000)]  # several rehashes; many words share prefixes
    ids, _ = table.encode(" ".join(words).encode())
    assert ids.tolist() == list(range(3, 70_003))
    ids, _ = table.encode(" ".join(reversed(words)).encode() + b" ab")
    assert ids.tolist() == list(range(70_002, 2, -1)) + [0]
    assert table.words()[:3] == ["ab", "a", "bé"] and table.words()[3:] == words
    picked = [2, 0, 70_002, 1, 2]  # the vocabulary's one-go decoding: same words, any order, repeats
    assert table.words().take(picked) == [table.words()[i] for i in picked] and table.words().take([]) == []


def test_word_table_splits_at_exactly_the_str_isspace_characters():
    from kotoba.text.wordtable import WordTable

    # every code point below U+3100 (all of str.isspace's are) and a few above, between two letters
    chars = [chr(c) for c in [*range(0x3100), 0xFEFF, 0xFFFD, 0xFFFF, 0x1F600] if not 0xD800 <= c < 0xE000]
    text = " ".join("a" + ch + "b" for ch in chars)
    table = WordTable()
    ids, ends = table.encode(text.encode("utf-8"))
    words = table.words()
    assert [words[i] for i in ids.tolist()] == text.split()
    assert len(ends) == text.count("\n")
