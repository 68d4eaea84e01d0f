"""kotoba.util on the book's sentence, with values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kotoba.errors import ConfigError, EmptyCorpusError, UnknownWordError
from kotoba.util import (
    analogy,
    convert_one_hot,
    cos_similarity,
    create_co_matrix,
    create_contexts_target,
    most_similar,
    ppmi,
    preprocess,
)

TEXT = "You say goodbye and I say hello."

# Rows/cols: you say goodbye and i hello .  (each word's neighbours at distance 1)
BOOK_C = np.array(
    [
        [0, 1, 0, 0, 0, 0, 0],
        [1, 0, 1, 0, 1, 1, 0],
        [0, 1, 0, 1, 0, 0, 0],
        [0, 0, 1, 0, 1, 0, 0],
        [0, 1, 0, 1, 0, 0, 0],
        [0, 1, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 1, 0],
    ]
)


@pytest.fixture
def book():
    return preprocess(TEXT)


def test_preprocess(book):
    corpus, w2i, i2w = book
    assert corpus.tolist() == [0, 1, 2, 3, 4, 1, 5, 6]
    assert corpus.dtype == np.int32
    assert w2i == {"you": 0, "say": 1, "goodbye": 2, "and": 3, "i": 4, "hello": 5, ".": 6}
    assert all(i2w[i] == w for w, i in w2i.items())


def test_preprocess_whitespace_and_empty():
    corpus, w2i, _ = preprocess("  A  b.\n a ")
    assert list(w2i) == ["a", "b", "."]
    assert corpus.tolist() == [0, 1, 2, 0]
    with pytest.raises(EmptyCorpusError):
        preprocess(" \n ")


def test_contexts_target(book):
    corpus = book[0]
    contexts, target = create_contexts_target(corpus, window_size=1)
    assert contexts.tolist() == [[0, 2], [1, 3], [2, 4], [3, 1], [4, 5], [1, 6]]
    assert target.tolist() == [1, 2, 3, 4, 1, 5]
    contexts2, target2 = create_contexts_target(corpus, window_size=2)
    assert contexts2.shape == (4, 4) and target2.shape == (4,)
    # left words in text order, then right words: for target 'goodbye' (position 2)
    assert contexts2[0].tolist() == [0, 1, 3, 4]
    assert target2[0] == 2
    with pytest.raises(EmptyCorpusError):
        create_contexts_target(corpus[:2], window_size=1)
    with pytest.raises(ConfigError):
        create_contexts_target(corpus, window_size=0)


def test_one_hot(book):
    corpus = book[0]
    oh = convert_one_hot(corpus, 7)
    assert oh.shape == (8, 7) and oh.dtype == np.int32
    assert (oh.sum(axis=1) == 1).all()
    assert oh.argmax(axis=1).tolist() == corpus.tolist()
    contexts, _ = create_contexts_target(corpus)
    oh2 = convert_one_hot(contexts, 7, dtype=np.float32)
    assert oh2.shape == (6, 2, 7) and oh2.dtype == np.float32
    assert oh2[3, 1].tolist() == [0, 1, 0, 0, 0, 0, 0]  # contexts[3, 1] is 'say'
    with pytest.raises(ConfigError):
        convert_one_hot(np.array([7]), 7)


def test_co_matrix(book):
    C = create_co_matrix(book[0], 7, window_size=1)
    np.testing.assert_array_equal(C, BOOK_C)
    # window 2: 'you' sees 'say' and 'goodbye'; 'say' (twice) sees you, goodbye, and | and, i, hello, .
    C2 = create_co_matrix(book[0], 7, window_size=2)
    assert C2[0].tolist() == [0, 1, 1, 0, 0, 0, 0]
    assert C2[1].tolist() == [1, 0, 1, 2, 1, 1, 1]
    assert (C2 == C2.T).all()
    # repeated pairs accumulate: 'a a a' has a next to itself 4 times (2 pairs, both directions)
    assert create_co_matrix(np.array([0, 0, 0]), 1)[0, 0] == 4


def test_ppmi_by_hand():
    M = ppmi(BOOK_C)
    assert M.dtype == np.float32
    # N = 14, row sums S = [1, 4, 2, 2, 2, 2, 1]
    assert M[0, 1] == pytest.approx(math.log2(1 * 14 / (1 * 4)), abs=1e-5)  # 1.807
    assert M[1, 2] == pytest.approx(math.log2(14 / (4 * 2)), abs=1e-5)  # 0.807
    assert M[5, 6] == pytest.approx(math.log2(14 / (2 * 1)), abs=1e-5)  # 2.807
    assert (M[BOOK_C == 0] == 0).all()
    np.testing.assert_allclose(M, M.T)
    # negative PMI is clipped to 0: a pair much rarer than chance
    C = np.array([[10, 1], [1, 10]])
    assert ppmi(C)[0, 1] == 0.0 and ppmi(C)[0, 0] > 0
    # an all-zero row gives zeros, not NaN; blocks give the same answer as one pass
    C = np.zeros((3, 3), dtype=np.int32)
    C[0, 1] = C[1, 0] = 2
    assert np.isfinite(ppmi(C)).all() and (ppmi(C)[2] == 0).all()
    np.testing.assert_array_equal(ppmi(BOOK_C, block_rows=2), M)


def test_cos_similarity():
    assert cos_similarity(BOOK_C[0], BOOK_C[4]) == pytest.approx(1 / math.sqrt(2), abs=1e-6)
    assert cos_similarity(np.array([1.0, 0]), np.array([0, 2.0])) == 0.0
    assert cos_similarity(np.zeros(3), np.ones(3)) == 0.0  # eps keeps it finite


def test_most_similar(book, capsys):
    _, w2i, i2w = book
    res = most_similar("you", w2i, i2w, BOOK_C, top=5)
    words = [w for w, _ in res]
    # 'you' has the single neighbour 'say'; goodbye, i, hello have it as one of two: cos = 1/sqrt 2
    assert words[:3] == ["goodbye", "i", "hello"]
    assert [s for _, s in res[:3]] == pytest.approx([1 / math.sqrt(2)] * 3, abs=1e-6)
    assert "you" not in words and len(res) == 5
    assert capsys.readouterr().out == ""
    most_similar("you", w2i, i2w, BOOK_C, top=2, verbose=True)
    out = capsys.readouterr().out
    assert "[query] you" in out and "goodbye" in out
    with pytest.raises(UnknownWordError) as e:
        most_similar("yuo", w2i, i2w, BOOK_C)
    assert "yuo" in str(e.value) and "you" in e.value.suggestions
    assert len(most_similar("you", w2i, i2w, BOOK_C, top=100)) == 6


def test_analogy():
    # hand-made 2-D vectors where man->woman is the same offset as king->queen
    words = ["man", "woman", "king", "queen", "apple"]
    w2i = {w: i for i, w in enumerate(words)}
    i2w = dict(enumerate(words))
    W = np.array([[1.0, 0.0], [1.0, 1.0], [3.0, 0.2], [3.0, 1.2], [-1.0, -1.0]])
    res = analogy("man", "woman", "king", w2i, i2w, W, top=2)
    assert res[0][0] == "queen"
    assert len(res) == 2 and {w for w, _ in res}.isdisjoint({"man", "woman", "king"})
    with pytest.raises(UnknownWordError):
        analogy("man", "woman", "prince", w2i, i2w, W)
