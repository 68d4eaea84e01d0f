"""Streaming sentence reader: chunking, block boundaries, compression, UTF-8, memory."""

from __future__ import annotations

import bz2
import gzip
import lzma
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kotoba.errors import ConfigError, DataError, EmptyCorpusError
from kotoba.text import ReadStats, corpus_files, iter_sentences
from kotoba.text.aozora import COLOPHON_MARK, GUIDE_MARK


def _flat(sentences):
    return [t for s in sentences for t in s]


def test_single_huge_line_is_chunked_and_exact(tmp_path):
    tokens = [f"w{(i * 7919) % 1013}" for i in range(25_000)]
    p = tmp_path / "one_line.txt"
    p.write_text(" " + " ".join(tokens))  # text8 style: leading space, no newline
    st_ = ReadStats()
    # a small block size puts many block boundaries inside tokens
    chunks = list(iter_sentences(p, stats=st_, block_size=4093))
    assert [len(c) for c in chunks] == [10_000, 10_000, 5_000]
    assert _flat(chunks) == tokens
    assert (st_.files, st_.lines, st_.tokens) == (1, 1, 25_000)
    assert st_.bytes == p.stat().st_size


def test_lines_are_sentences_and_blank_lines_skipped(tmp_path):
    p = tmp_path / "a.txt"
    p.write_text("the cat  sat\n\n   \nOn\tthe mat\r\nend")
    for bs in (1, 2, 5, 1 << 16):
        stats = ReadStats()
        assert list(iter_sentences(p, stats=stats, block_size=bs)) == [
            ["the", "cat", "sat"],
            ["On", "the", "mat"],
            ["end"],
        ]
        assert stats.lines == 5 and stats.tokens == 7
    assert list(iter_sentences(p, lowercase=True, max_sentence_len=2)) == [
        ["the", "cat"],
        ["sat"],
        ["on", "the"],
        ["mat"],
        ["end"],
    ]


def test_lowercase_does_not_depend_on_block_boundaries(tmp_path):
    # Greek capital sigma lowercases by context (final form at a word end): a block boundary
    # inside a word must not change the result
    p = tmp_path / "g.txt"
    text = "ΟΔΟΣ ΣΟΦΟΣ\nΣ ΑΣΑ ÉCOLE"
    p.write_text(text, encoding="utf-8")
    expected = [[t.lower() for t in line.split()] for line in text.split("\n")]
    assert expected[0] == ["οδος", "σοφος"]
    for bs in range(1, 12):
        assert list(iter_sentences(p, lowercase=True, block_size=bs)) == expected


def test_memory_stays_bounded_on_a_20mb_single_line(tmp_path):
    p = tmp_path / "big.txt"
    piece = " ".join(f"tok{i % 5000}" for i in range(100_000)) + " "  # ~0.8 MB, no newline
    with open(p, "w") as f:
        while f.tell() < 20_000_000:
            f.write(piece)
    size = p.stat().st_size
    tracemalloc.start()
    try:
        n = sum(len(s) for s in iter_sentences(p))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == (size // len(piece)) * 100_000
    assert peak < size / 4, f"peak {peak / 1e6:.1f} MB for a {size / 1e6:.1f} MB file"


@pytest.mark.parametrize("suffix,opener", [(".gz", gzip.open), (".bz2", bz2.open), (".xz", lzma.open)])
def test_compressed_files(tmp_path, suffix, opener):
    text = "alpha beta\ngamma\n" * 100
    p = tmp_path / ("c.txt" + suffix)
    with opener(p, "wt", encoding="utf-8") as f:
        f.write(text)
    stats = ReadStats()
    got = list(iter_sentences(p, stats=stats, block_size=64))
    assert got == [["alpha", "beta"], ["gamma"]] * 100
    assert stats.bytes == len(text)


def test_corrupt_compressed_file_is_a_data_error(tmp_path):
    p = tmp_path / "bad.gz"
    p.write_bytes(b"this is not gzip data at all")
    with pytest.raises(DataError, match="bad.gz"):
        list(iter_sentences(p))


def test_directory_is_read_recursively_in_sorted_order(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2.txt").write_text("two\n")
    (tmp_path / "a.txt").write_text("one\n")
    (tmp_path / "c.txt.gz").write_bytes(gzip.compress(b"three\n"))
    (tmp_path / ".hidden").write_text("never\n")
    assert [p.name for p in corpus_files(tmp_path)] == ["a.txt", "2.txt", "c.txt.gz"]
    assert list(iter_sentences(tmp_path)) == [["one"], ["two"], ["three"]]
    # a list of paths is read in the order given
    assert list(iter_sentences([tmp_path / "c.txt.gz", tmp_path / "a.txt"])) == [["three"], ["one"]]


def test_invalid_utf8_is_replaced_and_counted_and_bom_stripped(tmp_path):
    p = tmp_path / "u.txt"
    # BOM, valid 2-byte char, a lone continuation byte, a truncated 3-byte sequence at EOF
    p.write_bytes(b"\xef\xbb\xbfcaf\xc3\xa9 x\x80y\nend \xe3\x81")
    for bs in (1, 2, 3, 1 << 16):
        stats = ReadStats()
        got = list(iter_sentences(p, stats=stats, block_size=bs))
        assert got == [["café", "x\ufffdy"], ["end", "\ufffd"]]
        assert stats.invalid_utf8 == 2


def test_missing_and_empty_sources(tmp_path):
    with pytest.raises(DataError, match="nope.txt"):
        iter_sentences(tmp_path / "nope.txt")  # raised on call, not on first next()
    with pytest.raises(DataError, match="no corpus files"):
        iter_sentences([])
    (tmp_path / "empty_dir").mkdir()
    with pytest.raises(DataError, match="empty_dir"):
        iter_sentences(tmp_path / "empty_dir")
    blank = tmp_path / "blank.txt"
    blank.write_text("  \n\n")
    with pytest.raises(EmptyCorpusError, match="blank.txt"):
        list(iter_sentences(blank))
    with pytest.raises(ConfigError):
        iter_sentences(blank, max_sentence_len=0)


def test_runaway_token_is_refused(tmp_path, monkeypatch):
    import kotoba.text.readers as readers

    monkeypatch.setattr(readers, "MAX_TOKEN_CHARS", 100)
    p = tmp_path / "bin.txt"
    p.write_text("x" * 1000)
    with pytest.raises(DataError, match="without whitespace"):
        list(iter_sentences(p, block_size=64))


_token = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufeff"), min_size=1, max_size=8
).filter(lambda s: s.split() == [s])


@settings(max_examples=60, deadline=None)
@given(
    lines=st.lists(st.lists(_token, max_size=12), max_size=8),
    block_size=st.integers(1, 40),
    max_len=st.integers(1, 6),
)
def test_random_tokens_round_trip(tmp_path_factory, lines, block_size, max_len):
    text = "\n".join(" ".join(line) for line in lines)
    # a text with Aozora Bunko's markers is read as one (its colophon dropped: tests/text/test_aozora.py)
    assume(COLOPHON_MARK not in text and GUIDE_MARK not in text)
    p = Path(tmp_path_factory.mktemp("rt")) / "r.txt"
    p.write_bytes(text.encode("utf-8"))
    expected_tokens = [t for line in lines for t in line]
    if not expected_tokens:
        with pytest.raises(EmptyCorpusError):
            list(iter_sentences(p, block_size=block_size))
        return
    stats = ReadStats()
    got = list(iter_sentences(p, max_sentence_len=max_len, stats=stats, block_size=block_size))
    assert all(1 <= len(s) <= max_len for s in got)
    assert _flat(got) == expected_tokens
    assert stats.tokens == len(expected_tokens) and stats.invalid_utf8 == 0
    # chunks never straddle lines: re-joining chunks per line gives the non-empty lines back
    assert len(got) == sum(-(-len(line) // max_len) for line in lines if line)
