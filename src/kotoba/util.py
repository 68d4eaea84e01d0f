"""Text utilities of the book's ``common/util.py``, vectorised and typed.

The count-based pipeline of chapter 2 (:func:`preprocess` → :func:`create_co_matrix` →
:func:`ppmi` → SVD) and the helpers the word2vec chapters use to build training data
(:func:`create_contexts_target`, :func:`convert_one_hot`) and to inspect vectors
(:func:`cos_similarity`, :func:`most_similar`, :func:`analogy`).

Differences from the book, all deliberate:

* no Python double loops: the co-occurrence matrix is filled with ``np.add.at`` per window offset,
  and PPMI is computed on whole row blocks;
* :func:`preprocess` splits on any whitespace (the book splits on single spaces, so two spaces in a
  row produce an empty-string "word");
* :func:`most_similar` and :func:`analogy` *return* their ranking as ``[(word, similarity), ...]``
  and print only when ``verbose=True``; an unknown word raises
  :class:`~kotoba.errors.UnknownWordError` (the book prints a message and returns ``None``);
* :func:`analogy` ranks by cosine (all rows normalised), the book by the dot product with a
  normalised query, which favours long (frequent-word) vectors.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import DTypeLike

from .errors import ConfigError, EmptyCorpusError, UnknownWordError

__all__ = [
    "preprocess",
    "create_contexts_target",
    "convert_one_hot",
    "create_co_matrix",
    "cos_similarity",
    "most_similar",
    "ppmi",
    "analogy",
]


def preprocess(text: str) -> tuple[np.ndarray, dict[str, int], dict[int, str]]:
    """Lowercase ``text``, split ``.`` off as its own word, number words by first appearance.

    Returns ``corpus: (N,) int32`` (the text as word ids), ``word_to_id`` and ``id_to_word``.
    ``'You say goodbye and I say hello.'`` gives ``[0 1 2 3 4 1 5 6]`` with id 6 = ``'.'``.
    """
    words = text.lower().replace(".", " .").split()
    if not words:
        raise EmptyCorpusError("the text has no words")
    word_to_id: dict[str, int] = {}
    for w in words:
        word_to_id.setdefault(w, len(word_to_id))
    id_to_word = {i: w for w, i in word_to_id.items()}
    corpus = np.fromiter((word_to_id[w] for w in words), dtype=np.int32, count=len(words))
    return corpus, word_to_id, id_to_word


def _check_window(window_size: int) -> None:
    if window_size < 1:
        raise ConfigError(f"window_size must be >= 1, got {window_size}")


def create_contexts_target(corpus: np.ndarray, window_size: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Every position with a full window on both sides, as (contexts, target).

    ``corpus: (N,) int -> contexts: (N - 2w, 2w), target: (N - 2w,)`` (same dtype as the corpus),
    where ``contexts[i]`` lists the ``w`` words left of ``target[i]`` then the ``w`` words right of
    it, nearest-last on the left and nearest-first on the right (the book's order).
    """
    _check_window(window_size)
    corpus = np.asarray(corpus)
    if corpus.ndim != 1:
        raise ConfigError(f"corpus must be 1-D word ids, got shape {corpus.shape}")
    span = 2 * window_size + 1
    if len(corpus) < span:
        raise EmptyCorpusError(
            f"corpus of {len(corpus)} words is shorter than one window ({span} words for window_size={window_size})"
        )
    windows = np.lib.stride_tricks.sliding_window_view(corpus, span)  # (N-2w, 2w+1), a view
    target = windows[:, window_size].copy()
    contexts = np.delete(windows, window_size, axis=1)  # a fresh array
    return contexts, target


def convert_one_hot(corpus: np.ndarray, vocab_size: int, dtype: DTypeLike = np.int32) -> np.ndarray:
    """One-hot encode word ids along a new last axis: ``(N,) -> (N, V)``, ``(N, C) -> (N, C, V)``.

    ``dtype`` defaults to the book's int32; pass ``np.float32`` to feed a ``MatMul`` layer without
    the product being promoted to float64.
    """
    corpus = np.asarray(corpus)
    if corpus.size and (corpus.min() < 0 or corpus.max() >= vocab_size):
        raise ConfigError(f"word ids must lie in [0, {vocab_size}), got range [{corpus.min()}, {corpus.max()}]")
    one_hot = np.zeros(corpus.shape + (vocab_size,), dtype=dtype)
    np.put_along_axis(one_hot, corpus[..., None].astype(np.intp), 1, axis=-1)
    return one_hot


def create_co_matrix(corpus: np.ndarray, vocab_size: int, window_size: int = 1) -> np.ndarray:
    """Symmetric co-occurrence counts: ``corpus: (N,) int -> C: (V, V) int32``.

    ``C[i, j]`` counts the times word ``j`` occurs within ``window_size`` positions of word ``i``
    (either side; a word next to itself counts on the diagonal), exactly the book's loop.
    """
    _check_window(window_size)
    corpus = np.asarray(corpus, dtype=np.intp)
    C = np.zeros((vocab_size, vocab_size), dtype=np.int32)
    for d in range(1, window_size + 1):
        left, right = corpus[:-d], corpus[d:]
        # Each pair at distance d is one right-neighbour of `left` and one left-neighbour of
        # `right`; np.add.at (unlike fancy-index +=) accumulates repeated pairs.
        np.add.at(C, (left, right), 1)
        np.add.at(C, (right, left), 1)
    return C


def cos_similarity(x: np.ndarray, y: np.ndarray, eps: float = 1e-8) -> float:
    """Cosine similarity of two vectors ``(H,), (H,) -> float``; ``eps`` keeps a zero vector at 0."""
    nx = x / (np.sqrt(np.sum(x**2)) + eps)
    ny = y / (np.sqrt(np.sum(y**2)) + eps)
    return float(np.dot(nx, ny))


def _normalize_rows(m: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    return m / (np.linalg.norm(m, axis=1, keepdims=True) + eps)


def _lookup(word: str, word_to_id: Mapping[str, int]) -> int:
    try:
        return word_to_id[word]
    except KeyError:
        raise UnknownWordError(word, difflib.get_close_matches(word, list(word_to_id), n=3)) from None


def _rank(
    similarity: np.ndarray, exclude: Sequence[int], id_to_word: Mapping[int, str], top: int
) -> list[tuple[str, float]]:
    similarity = similarity.copy()
    similarity[list(exclude)] = -np.inf
    k = min(top, len(similarity) - len(set(exclude)))
    if k <= 0:
        return []
    # A stable sort breaks ties by the lower id (the more frequent word in frequency-ordered
    # vocabularies), so equal similarities rank the same way on every run.
    best = np.argsort(-similarity, kind="stable")[:k]
    return [(id_to_word[int(i)], float(similarity[i])) for i in best]


def most_similar(
    query: str,
    word_to_id: Mapping[str, int],
    id_to_word: Mapping[int, str],
    word_matrix: np.ndarray,
    top: int = 5,
    verbose: bool = False,
) -> list[tuple[str, float]]:
    """The ``top`` words nearest to ``query`` by cosine, excluding ``query`` itself.

    ``word_matrix: (V, H)``, row ``i`` the vector of word ``i``. Returns ``[(word, sim), ...]``
    best first; with ``verbose`` also prints them as the book does.
    """
    qid = _lookup(query, word_to_id)
    m = _normalize_rows(word_matrix)
    result = _rank(m @ m[qid], [qid], id_to_word, top)
    if verbose:
        print(f"\n[query] {query}")
        for w, s in result:
            print(f" {w}: {s:.6g}")
    return result


def ppmi(C: np.ndarray, eps: float = 1e-8, block_rows: int = 1024) -> np.ndarray:
    """Positive pointwise mutual information of a co-occurrence matrix: ``(V, V) -> (V, V) float32``.

    ``PPMI[i, j] = max(0, log2(C[i, j] * N / (S_row[i] * S_col[j]) + eps))`` with ``N`` the total
    count; for the symmetric matrices of :func:`create_co_matrix` row and column sums are the book's
    single ``S``. Cells with ``C[i, j] == 0`` are 0 (no division by a zero row sum). Rows are
    processed ``block_rows`` at a time so the float64 temporaries stay small for large vocabularies.
    """
    C = np.asarray(C)
    if C.ndim != 2:
        raise ConfigError(f"co-occurrence matrix must be 2-D, got shape {C.shape}")
    N = float(C.sum())
    row = C.sum(axis=1, dtype=np.float64)
    col = C.sum(axis=0, dtype=np.float64)
    M = np.zeros(C.shape, dtype=np.float32)
    for start in range(0, C.shape[0], block_rows):
        c = C[start : start + block_rows].astype(np.float64)
        denom = row[start : start + block_rows, None] * col[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            pmi = np.log2(c * N / denom + eps)
        M[start : start + block_rows] = np.where(c > 0, np.maximum(pmi, 0.0), 0.0)
    return M


def analogy(
    a: str,
    b: str,
    c: str,
    word_to_id: Mapping[str, int],
    id_to_word: Mapping[int, str],
    word_matrix: np.ndarray,
    top: int = 5,
    verbose: bool = False,
) -> list[tuple[str, float]]:
    """Solve ``a : b = c : ?`` by 3CosAdd: rank words by cosine with ``b - a + c`` (rows normalised).

    ``word_matrix: (V, H)``. The three question words are excluded from the answer. Returns
    ``[(word, sim), ...]`` best first; with ``verbose`` also prints them.
    """
    ids = [_lookup(w, word_to_id) for w in (a, b, c)]
    m = _normalize_rows(word_matrix)
    query = m[ids[1]] - m[ids[0]] + m[ids[2]]
    query /= np.linalg.norm(query) + 1e-8
    result = _rank(m @ query, ids, id_to_word, top)
    if verbose:
        print(f"\n[analogy] {a}:{b} = {c}:?")
        for w, s in result:
            print(f" {w}: {s:.6g}")
    return result
