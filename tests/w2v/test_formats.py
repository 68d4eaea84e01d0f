"""word2vec text/binary files: byte-compatible with gensim and word2vec.c, strict on damage."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kotoba.errors import ConfigError, DataError, FormatError
from kotoba.vectors import WordVectors

gensim_kv = pytest.importorskip("gensim.models.keyedvectors")
KeyedVectors = gensim_kv.KeyedVectors
GENSIM_DATA = Path(gensim_kv.__file__).resolve().parents[1] / "test" / "test_data"


def _wv(rng, V=60, D=7, counts=False):
    words = [f"w{i}" for i in range(V)]
    words[1:4] = ["東京", "naïve", "🙂"]
    # values over many magnitudes so the text format meets exponents, tiny and huge numbers
    vecs = (rng.standard_normal((V, D)) * 10.0 ** rng.integers(-8, 8, (V, D))).astype(np.float32)
    vecs[0, :3] = [0.0, -0.0, 1e-4]
    return WordVectors(words, vecs, counts=np.arange(V, 0, -1) * 10 if counts else None)


def _kv(wv):
    kv = KeyedVectors(wv.vector_size)
    kv.add_vectors(wv.index_to_key, np.array(wv.vectors))
    return kv


def test_text_bytes_equal_gensims(rng, tmp_path):
    wv = _wv(rng)
    wv.save_word2vec_format(tmp_path / "ours.txt", binary=False)
    _kv(wv).save_word2vec_format(str(tmp_path / "gensim.txt"), binary=False)
    assert (tmp_path / "ours.txt").read_bytes() == (tmp_path / "gensim.txt").read_bytes()


@pytest.mark.parametrize("binary", [True, False])
def test_our_files_load_in_gensim_and_back_exactly(rng, tmp_path, binary):
    wv = _wv(rng)
    path = tmp_path / ("v.bin" if binary else "v.txt")
    wv.save_word2vec_format(path, binary=binary)
    kv = KeyedVectors.load_word2vec_format(str(path), binary=binary)
    assert kv.index_to_key == wv.index_to_key
    np.testing.assert_array_equal(kv.vectors, wv.vectors)  # exact for text too: shortest round-trip decimals
    back = WordVectors.load_word2vec_format(path)  # format detected
    assert back.index_to_key == wv.index_to_key
    np.testing.assert_array_equal(back.vectors, wv.vectors)
    assert back.vectors.dtype == np.float32 and back.counts is None


@pytest.mark.parametrize("binary", [True, False])
def test_gensim_files_load_exactly(rng, tmp_path, binary):
    wv = _wv(rng)
    path = tmp_path / "g.w2v"
    _kv(wv).save_word2vec_format(str(path), binary=binary)
    back = WordVectors.load_word2vec_format(path, binary=binary)
    assert back.index_to_key == wv.index_to_key
    np.testing.assert_array_equal(back.vectors, wv.vectors)
    np.testing.assert_array_equal(WordVectors.load_word2vec_format(path).vectors, wv.vectors)  # autodetected


def test_binary_layout_is_word2vec_c(tmp_path):
    wv = WordVectors(["ab", "猫"], np.array([[1.0, -2.5], [0.5, 3.0]], dtype=np.float32))
    wv.save_word2vec_format(tmp_path / "v.bin", binary=True)
    expected = (
        b"2 2\n"
        + b"ab "
        + struct.pack("<2f", 1.0, -2.5)
        + b"\n"
        + "猫 ".encode()
        + struct.pack("<2f", 0.5, 3.0)
        + b"\n"
    )
    assert (tmp_path / "v.bin").read_bytes() == expected
    wv.save_word2vec_format(tmp_path / "v.txt", binary=False)
    assert (tmp_path / "v.txt").read_text(encoding="utf-8") == "2 2\nab 1.0 -2.5\n猫 0.5 3.0\n"


def test_word2vec_c_text_with_trailing_spaces_and_shipped_files_load():
    # word2vec.c and fastText write "%lf " per value: a space before each newline.
    for name in ("toy-model.vec", "lee_fasttext.vec", "euclidean_vectors.bin", "high_precision.kv.txt"):
        path = GENSIM_DATA / name
        if not path.exists():
            pytest.skip(f"gensim test file {path} is absent")
        kv = KeyedVectors.load_word2vec_format(str(path), binary=name.endswith(".bin"))
        wv = WordVectors.load_word2vec_format(path)
        assert wv.index_to_key == kv.index_to_key, name
        np.testing.assert_array_equal(wv.vectors, kv.vectors)


def test_limit_reads_a_prefix(rng, tmp_path):
    wv = _wv(rng)
    for binary in (True, False):
        p = tmp_path / f"v{binary}"
        wv.save_word2vec_format(p, binary=binary)
        part = WordVectors.load_word2vec_format(p, limit=5)
        assert part.index_to_key == wv.index_to_key[:5]
        np.testing.assert_array_equal(part.vectors, wv.vectors[:5])
    with pytest.raises(ConfigError):
        WordVectors.load_word2vec_format(p, limit=-1)


def test_gzip_read_and_write(rng, tmp_path):
    wv = _wv(rng)
    for binary in (True, False):
        wv.save_word2vec_format(tmp_path / "v.w2v.gz", binary=binary)
        raw = (tmp_path / "v.w2v.gz").read_bytes()
        assert raw[:2] == b"\x1f\x8b"
        np.testing.assert_array_equal(WordVectors.load_word2vec_format(tmp_path / "v.w2v.gz").vectors, wv.vectors)
        np.testing.assert_array_equal(
            KeyedVectors.load_word2vec_format(str(tmp_path / "v.w2v.gz"), binary=binary).vectors, wv.vectors
        )
        # a gzipped file under any name is recognised by its magic bytes
        (tmp_path / "renamed").write_bytes(raw)
        assert WordVectors.load_word2vec_format(tmp_path / "renamed").index_to_key == wv.index_to_key
    wv.save_word2vec_format(tmp_path / "a.gz", binary=True)
    wv.save_word2vec_format(tmp_path / "b.gz", binary=True)
    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()  # reproducible (mtime 0)


def test_counts_travel_in_a_vocab_file_like_gensims_fvocab(rng, tmp_path):
    wv = _wv(rng, counts=True)
    wv.save_word2vec_format(tmp_path / "v.bin", vocab_path=tmp_path / "vocab.txt")
    assert (tmp_path / "vocab.txt").read_text(encoding="utf-8").splitlines()[1] == "東京 590"
    back = WordVectors.load_word2vec_format(tmp_path / "v.bin", vocab_path=tmp_path / "vocab.txt")
    np.testing.assert_array_equal(back.counts, wv.counts)
    kv = KeyedVectors.load_word2vec_format(str(tmp_path / "v.bin"), fvocab=str(tmp_path / "vocab.txt"), binary=True)
    assert kv.get_vecattr("東京", "count") == 590
    with pytest.raises(DataError, match="no counts"):
        _wv(rng).save_word2vec_format(tmp_path / "x.bin", vocab_path=tmp_path / "x.vocab")


def test_writes_are_atomic_and_leave_no_temp_files(rng, tmp_path):
    wv = _wv(rng)
    target = tmp_path / "v.bin"
    wv.save_word2vec_format(target)
    before = target.read_bytes()
    bad = WordVectors(["fine", "two words"], np.zeros((2, 3)))
    with pytest.raises(FormatError, match="'two words' contains whitespace"):
        bad.save_word2vec_format(target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.bin"]


def _write(tmp_path, data: bytes, name="bad.w2v") -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


@pytest.mark.parametrize(
    "data, binary, message",
    [
        (b"", None, "line 1: expected a header"),
        (b"hello world\nfoo 1 2\n", None, "line 1: expected a header"),
        (b"3\n", None, "line 1: expected a header"),
        (b"2 0\n", None, "line 1: expected a header"),
        (b"2 3\na 1 2 3\nb 1 2\n", False, r"line 3: word 'b' has 2 values, the header says 3"),
        (b"2 3\na 1 2 3\nb 1 2 3 4\n", None, r"line 3: word 'b' has 4 values"),
        (b"2 2\na 1 2\nb 1 x\n", False, "line 3: word 'b' has a value that is not a number"),
        (b"3 2\na 1 2\nb 3 4\n", False, "header declares 3 vectors but the file ends after 2"),
        (b"2 2\na 1 2\na 3 4\n", False, r"line 3: duplicate word 'a' \(first at line 2\)"),
        (b"1 2\na 1 2\nb 3 4\n", False, "more data after"),
        (b"2 2\na " + struct.pack("<2f", 1, 2) + b"\nb " + struct.pack("<f", 1), True, "ends inside entry 2"),
        (
            b"2 2\na " + struct.pack("<2f", 1, 2) + b"\na " + struct.pack("<2f", 3, 4),
            True,
            "entry 2: duplicate word 'a'",
        ),
        (b"1 2\na " + struct.pack("<2f", 1, 2) + b"\nextra stuff", True, "more data after"),
        (b"1 2\n\xff\xfe " + struct.pack("<2f", 1, 2), True, "entry 1: word .* is not valid utf-8"),
    ],
)
def test_damaged_files_raise_format_error_naming_file_and_place(tmp_path, data, binary, message):
    p = _write(tmp_path, data)
    with pytest.raises(FormatError, match=message) as e:
        WordVectors.load_word2vec_format(p, binary=binary)
    assert str(p) in str(e.value)


def test_undecodable_words_can_be_ignored_and_missing_files_are_clear(tmp_path):
    p = _write(tmp_path, b"1 2\nab\xff " + struct.pack("<2f", 1, 2) + b"\n")
    assert WordVectors.load_word2vec_format(p, unicode_errors="ignore").index_to_key == ["ab"]
    with pytest.raises(FormatError, match="no such file"):
        WordVectors.load_word2vec_format(tmp_path / "absent.bin")
    with pytest.raises(FormatError, match="is a directory"):
        WordVectors.load_word2vec_format(tmp_path)
    gz = _write(tmp_path, gzip.compress(b"2 2\na 1 2\nb 3 4\n")[:-12], "cut.gz")
    with pytest.raises(FormatError, match="cut.gz"):
        WordVectors.load_word2vec_format(gz)


def test_text_file_read_as_binary_fails_clearly(rng, tmp_path):
    wv = _wv(rng, V=5, D=3)
    wv.save_word2vec_format(tmp_path / "v.bin", binary=True)
    with pytest.raises(FormatError, match="is this a binary file|has a value"):
        WordVectors.load_word2vec_format(tmp_path / "v.bin", binary=False)


# Words: any non-empty run of letters, marks, numbers, punctuation and symbols (accents, kana,
# kanji, emoji, combining marks) -- no whitespace, controls or lone surrogates.
_word = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp", "Co", "Cn")),
    min_size=1,
    max_size=12,
)
_words = st.lists(_word, min_size=1, max_size=8, unique=True)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=_words, seed=st.integers(0, 2**32 - 1), binary=st.booleans())
def test_unicode_words_round_trip_through_both_formats(tmp_path, words, seed, binary):
    rng = np.random.default_rng(seed)
    vecs = (rng.standard_normal((len(words), 3)) * 10.0 ** rng.integers(-30, 30, (len(words), 3))).astype(np.float32)
    wv = WordVectors(words, vecs)
    path = tmp_path / "prop.w2v"
    wv.save_word2vec_format(path, binary=binary)
    back = WordVectors.load_word2vec_format(path)
    assert back.index_to_key == words
    np.testing.assert_array_equal(back.vectors, vecs)
    kv = KeyedVectors.load_word2vec_format(str(path), binary=binary)
    assert kv.index_to_key == words
    np.testing.assert_array_equal(kv.vectors, vecs)
