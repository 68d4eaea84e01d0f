"""Catalogue (issue 11): vectors files and queries, through ``kotoba similar`` / ``analogy`` and the library."""

from __future__ import annotations

import gzip
import struct
import time
import tracemalloc

import numpy as np
import pytest

from kotoba.errors import FormatError
from kotoba.vectors import WordVectors

from .robust_helpers import assert_error

WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog"]


def _vectors(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((len(WORDS), 4)).astype(np.float32)


@pytest.fixture
def vec_txt(tmp_path):
    WordVectors(WORDS, _vectors()).save_word2vec_format(tmp_path / "v.txt", binary=False)
    return (tmp_path / "v.txt").read_text().splitlines()


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n")


def test_header_claims_more_rows_than_the_file_has(kotoba, tmp_path, vec_txt):
    _write(tmp_path / "h.txt", ["20 4", *vec_txt[1:]])
    assert_error(kotoba("similar", "h.txt", "the"), "h.txt", "header declares 20 vectors", "ends after 8")


def test_header_claims_fewer_rows_than_the_file_has(kotoba, tmp_path, vec_txt):
    _write(tmp_path / "h.txt", ["3 4", *vec_txt[1:]])
    assert_error(kotoba("similar", "h.txt", "the"), "h.txt", "more data after the lines the header declares")


@pytest.mark.parametrize("kind", ["text", "binary", "gzip"])
def test_header_claiming_absurd_sizes_allocates_nothing_from_it(tmp_path, kind):
    rows = b"a 1 2 3\nb 1 2 3\n" if kind != "binary" else b"a " + struct.pack("<3f", 1, 2, 3)
    data = b"1000000000000 3\n" + rows
    path = tmp_path / "huge.vec"
    path.write_bytes(gzip.compress(data) if kind == "gzip" else data)
    tracemalloc.start()
    t0 = time.perf_counter()
    with pytest.raises(FormatError, match="declares 1000000000000 vectors"):
        WordVectors.load_word2vec_format(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 100 << 20 and time.perf_counter() - t0 < 5  # was: MemoryError allocating 12 TB


def test_header_claiming_an_absurd_dimension(kotoba, tmp_path):
    (tmp_path / "d.txt").write_bytes(b"2 1000000000000\na 1 2 3\n")
    assert_error(kotoba("similar", "d.txt", "a"), "d.txt", "1000000000000 float32", "ends inside entry 1")


def test_wrong_dimension_on_a_row(kotoba, tmp_path, vec_txt):
    bad = list(vec_txt)
    bad[3] += " 0.5"
    _write(tmp_path / "w.txt", bad)
    assert_error(kotoba("similar", "w.txt", "the"), "w.txt: line 4: word 'brown' has 5 values, the header says 4")


def test_truncated_binary_file(kotoba, tmp_path):
    WordVectors(WORDS, _vectors()).save_word2vec_format(tmp_path / "v.bin", binary=True)
    data = (tmp_path / "v.bin").read_bytes()
    (tmp_path / "t.bin").write_bytes(data[:-7])
    assert_error(kotoba("similar", "t.bin", "the"), "t.bin", "truncated", "entry 8", "'lazy'", "download or save")


def test_duplicate_words(kotoba, tmp_path, vec_txt):
    _write(tmp_path / "d.txt", [f"{len(WORDS) + 1} 4", *vec_txt[1:], vec_txt[1]])
    assert_error(kotoba("similar", "d.txt", "the"), "d.txt: line 10: duplicate word 'the' (first at line 2)")


@pytest.mark.parametrize("word", ["two words", "new\nline", "tab\there"])
@pytest.mark.parametrize("binary", [True, False])
def test_words_with_whitespace_are_refused_on_save(tmp_path, word, binary):
    wv = WordVectors([word, "ok"], np.eye(2, dtype=np.float32))
    with pytest.raises(FormatError, match="contains whitespace; the word2vec format cannot store it"):
        wv.save_word2vec_format(tmp_path / "v.out", binary=binary)
    assert not (tmp_path / "v.out").exists()


def test_not_a_vectors_file(kotoba, tmp_path):
    (tmp_path / "corpus.txt").write_text("the quick brown fox\n")
    assert_error(kotoba("similar", "corpus.txt", "the"), "corpus.txt: line 1: expected a header")
    (tmp_path / "empty.txt").write_text("")
    assert_error(kotoba("similar", "empty.txt", "the"), "empty.txt: line 1: expected a header")
    (tmp_path / "folder").mkdir()
    assert_error(kotoba("similar", "folder", "the"), "folder: is a directory")
    assert_error(kotoba("similar", "missing.bin", "the"), "missing.bin: no such file")


def test_gensim_text_and_binary_files_load(tmp_path):
    gensim_kv = pytest.importorskip("gensim.models.keyedvectors")
    kv = gensim_kv.KeyedVectors(4)
    kv.add_vectors(WORDS, _vectors())
    for binary in (True, False):
        kv.save_word2vec_format(str(tmp_path / "g.out"), binary=binary)
        wv = WordVectors.load_word2vec_format(tmp_path / "g.out")
        assert wv.index_to_key == WORDS
        np.testing.assert_array_equal(wv.vectors, _vectors())


def test_word2vec_c_binary_layout_loads(tmp_path):
    # word2vec.c writes "word" " " D float32 "\n" per entry
    vecs = _vectors()
    body = b"".join(w.encode() + b" " + v.astype("<f4").tobytes() + b"\n" for w, v in zip(WORDS, vecs))
    (tmp_path / "c.bin").write_bytes(f"{len(WORDS)} 4\n".encode() + body)
    wv = WordVectors.load_word2vec_format(tmp_path / "c.bin")
    assert wv.index_to_key == WORDS
    np.testing.assert_array_equal(wv.vectors, vecs)


def test_fasttext_vec_loads(tmp_path):
    # fastText .vec: a header, "</s>" as a word, and a space before every newline
    words = ["</s>", *WORDS]
    vecs = np.random.default_rng(1).standard_normal((len(words), 4)).astype(np.float32)
    rows = [f"{w} " + " ".join(f"{x:.4f}" for x in v) + " " for w, v in zip(words, vecs)]
    _write(tmp_path / "wiki.vec", [f"{len(words)} 4", *rows])
    wv = WordVectors.load_word2vec_format(tmp_path / "wiki.vec")
    assert wv.index_to_key == words
    np.testing.assert_allclose(wv.vectors, vecs, atol=1e-4)


# ------------------------------------------------------------------------------------- queries


@pytest.fixture
def vectors_file(tmp_path):
    WordVectors(WORDS, _vectors()).save_word2vec_format(tmp_path / "v.bin")
    return "v.bin"


def test_unknown_word_with_close_match_suggestions(kotoba, vectors_file):
    assert_error(kotoba("similar", vectors_file, "The"), "word 'The' is not in the vocabulary (did you mean: 'the'?)")
    assert_error(kotoba("similar", vectors_file, "quikc"), "'quikc' is not in the vocabulary", "'quick'")
    assert_error(kotoba("analogy", vectors_file, "the", "fox", "cat"), "word 'cat' is not in the vocabulary")


def test_empty_query(kotoba, vectors_file):
    assert_error(kotoba("similar", vectors_file, ""), "empty word in the query")
    assert_error(kotoba("analogy", vectors_file, "the", " ", "fox"), "empty word in the query")


@pytest.mark.parametrize("n,shown", [("0", "0"), ("-3", "-3"), ("x", "'x'")])
def test_topn_not_positive_is_a_usage_error(kotoba, vectors_file, n, shown):
    res = kotoba("similar", vectors_file, "the", "-n", n)
    assert res.rc == 2 and f"argument -n/--topn: expected a positive integer, got {shown}" in res.err


def test_analogy_with_a_repeated_word(kotoba, vectors_file):
    assert_error(kotoba("analogy", vectors_file, "the", "the", "fox"), "repeats a word; give three different words")
    assert_error(kotoba("analogy", vectors_file, "the", "fox", "the"), "repeats a word")


def test_a_good_query_still_works(kotoba, vectors_file):
    res = kotoba("similar", vectors_file, "the", "-n", "3", "--json")
    assert res.rc == 0 and len(res.out.splitlines()) == 3
