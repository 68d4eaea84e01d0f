"""Word vectors as a user holds them: similarity queries.

:class:`WordVectors` is a vocabulary (``index_to_key``) plus a ``(V, D)`` float32 matrix.
Its queries follow gensim's ``KeyedVectors`` arithmetic step for step (same float32/float64
mix, same ordering of candidates), so a query gives the same words and the same cosines as
gensim on the same vectors. Files are the word2vec.c formats of :mod:`.formats`.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Sequence
from numbers import Integral

import numpy as np

from ..errors import ConfigError, DataError, UnknownWordError
from .formats import read_word2vec_format, write_word2vec_format

Key = str | np.ndarray
#: A positive/negative query term: a word, a vector, or either with an explicit weight.
Term = Key | tuple

# How many of the most frequent words difflib scans for "did you mean" suggestions: bounded so an
# unknown word costs milliseconds, not a pass over a million-word vocabulary.
_SUGGEST_POOL = 10000


def _unitvec(v: np.ndarray) -> np.ndarray:
    """(D,) float -> (D,) float32 of unit length, as gensim's ``matutils.unitvec``.

    gensim scales in float64 by the reciprocal of the float64 norm and casts back; doing the same
    makes cosines bit-identical. A zero vector stays zero.
    """
    v64 = np.asarray(v, dtype=np.float64)
    n = float(np.sqrt(np.dot(v64, v64)))
    if n == 0.0 or not np.isfinite(n):
        return np.asarray(v, dtype=np.float32).copy()
    return (v64 * (1.0 / n)).astype(np.float32)


def _safe(norms: np.ndarray) -> np.ndarray:
    """Norms with zeros replaced by 1, so a zero vector scores 0 instead of NaN."""
    return np.where(norms > 0, norms, np.float32(1.0)).astype(np.float32)


def gensim_top(dists: np.ndarray, topn: int) -> np.ndarray:
    """Indices of the ``topn`` largest ``dists``, largest first.

    Uses the same partial sort as gensim's ``matutils.argsort(reverse=True)`` (argpartition of
    the negated scores, then a sort of that slice), so even exact ties come out in the same order.
    """
    x = -np.asarray(dists)
    if topn >= x.size:
        return np.argsort(x)[:topn]
    part = np.argpartition(x, topn)[:topn]
    return part.take(np.argsort(x.take(part)))


class WordVectors:
    """A vocabulary and its vectors.

    index_to_key: V distinct words, usually most frequent first.
    vectors: (V, D), stored as a private read-only float32 copy, so cached norms stay valid and
        a trainer that keeps updating its own matrix does not change these vectors; assign a new
        array to ``wv.vectors`` to change them. ``copy=False``: keep ``vectors`` itself (made
        read-only) when it is float32 C-order -- for a caller that gives its matrix up.
    counts: (V,) int64 corpus counts, or None.
    """

    def __init__(
        self, index_to_key: Sequence[str], vectors: np.ndarray, counts: np.ndarray | None = None, *, copy: bool = True
    ):
        index_to_key = list(index_to_key)
        for w in index_to_key:
            if not isinstance(w, str) or not w:
                raise DataError(f"every key must be a non-empty str, got {w!r}")
        key_to_index: dict[str, int] = {}
        for i, w in enumerate(index_to_key):
            if w in key_to_index:
                raise DataError(f"duplicate word {w!r} at positions {key_to_index[w]} and {i}")
            key_to_index[w] = i
        self.index_to_key = index_to_key
        self.key_to_index = key_to_index
        self._set_vectors(vectors, copy)
        if counts is not None:
            counts = np.asarray(counts)
            if counts.shape != (len(index_to_key),) or not np.issubdtype(counts.dtype, np.integer):
                raise DataError(f"counts must be ({len(index_to_key)},) integers, got {counts.dtype} {counts.shape}")
            counts = counts.astype(np.int64)
        self.counts = counts
        self._lower: dict[str, list[str]] | None = None

    # ---- the matrix and its cached norms -------------------------------------------------

    @property
    def vectors(self) -> np.ndarray:
        """(V, D) float32, read-only."""
        return self._vectors

    @vectors.setter
    def vectors(self, value: np.ndarray) -> None:
        self._set_vectors(value, copy=True)

    def _set_vectors(self, value: np.ndarray, copy: bool) -> None:
        """Validate and keep ``value``: a read-only float32 C-order copy, or with ``copy=False`` the array
        itself when it is already float32 C-order (its owner gives it up: a trainer's final matrix)."""
        arr = np.asarray(value)
        if arr.ndim != 2 or arr.shape[1] < 1:
            raise DataError(f"vectors must be a (V, D) matrix with D >= 1, got shape {arr.shape}")
        if arr.shape[0] != len(self.index_to_key):
            raise DataError(f"{len(self.index_to_key)} words but {arr.shape[0]} vectors")
        own = np.array(arr, dtype=np.float32, order="C", copy=True if copy else None)
        own.flags.writeable = False
        self._vectors = own
        self._norms: np.ndarray | None = None
        self._safe_norms: np.ndarray | None = None
        self._normed: np.ndarray | None = None

    @property
    def norms(self) -> np.ndarray:
        """(V,) float32 L2 norms (computed as gensim does, so cosines match it bit for bit)."""
        if self._norms is None:
            self._norms = np.linalg.norm(self._vectors, axis=1)
        return self._norms

    @property
    def safe_norms(self) -> np.ndarray:
        """``norms`` with zeros replaced by 1 (divide by these: a zero vector scores 0, not NaN)."""
        if self._safe_norms is None:
            self._safe_norms = _safe(self.norms)
        return self._safe_norms

    def get_normed_vectors(self) -> np.ndarray:
        """(V, D) float32 unit rows (zero rows stay zero); cached until ``vectors`` is replaced."""
        if self._normed is None:
            normed = self._vectors / self.safe_norms[:, None]
            normed.flags.writeable = False
            self._normed = normed
        return self._normed

    # ---- lookups -------------------------------------------------------------------------

    @property
    def vector_size(self) -> int:
        return self._vectors.shape[1]

    def __len__(self) -> int:
        return len(self.index_to_key)

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and word in self.key_to_index

    def __repr__(self) -> str:
        return f"WordVectors({len(self)} words, {self.vector_size} dims)"

    def get_index(self, word: str) -> int:
        """Row of ``word``; :class:`UnknownWordError` with suggestions if it has none."""
        try:
            return self.key_to_index[word]
        except (KeyError, TypeError):
            raise UnknownWordError(word, self.suggest(word)) from None

    def __getitem__(self, words: str | Sequence[str]) -> np.ndarray:
        """word -> (D,) float32; list of n words -> (n, D) float32."""
        if isinstance(words, str):
            return self._vectors[self.get_index(words)]
        words = list(words)
        if not words:
            raise ConfigError("no words given")
        return self._vectors[[self.get_index(w) for w in words]]

    def suggest(self, word: object, n: int = 3) -> list[str]:
        """Up to ``n`` known words close to an unknown one: other casings first, then difflib
        matches among the ``_SUGGEST_POOL`` first (most frequent) words of similar length."""
        if not isinstance(word, str) or not word:
            return []
        if self._lower is None:
            self._lower = {}
            for w in self.index_to_key:
                self._lower.setdefault(w.lower(), []).append(w)
        out = [w for w in self._lower.get(word.lower(), []) if w != word][:n]
        if len(out) < n:
            pool = [w for w in self.index_to_key[:_SUGGEST_POOL] if abs(len(w) - len(word)) <= 2]
            for w in difflib.get_close_matches(word, pool, n=n, cutoff=0.75):
                if w not in out and w != word:
                    out.append(w)
        return out[:n]

    # ---- queries (gensim semantics) ------------------------------------------------------

    def _terms(self, positive, negative) -> tuple[list[np.ndarray], list[float], list[int]]:
        """Normalise query terms into (unit vectors, weights, indices of input words)."""
        vecs, weights, used = [], [], []
        for items, default in ((_as_list(positive), 1.0), (_as_list(negative), -1.0)):
            for item in items:
                weight = default
                if isinstance(item, tuple):
                    if not _is_weighted(item):
                        raise ConfigError(f"a weighted term must be (word or vector, number), got {item!r}")
                    item, weight = item[0], float(item[1])
                if isinstance(item, str):
                    idx = self.get_index(item)
                    used.append(idx)
                    vecs.append(self._vectors[idx] / self.safe_norms[idx])
                else:
                    vecs.append(self._check_vector(item))
                weights.append(weight)
        if not vecs:
            raise ConfigError("give at least one positive or negative word (or vector)")
        return vecs, weights, used

    def _check_vector(self, v) -> np.ndarray:
        v = np.asarray(v, dtype=np.float32)
        if v.shape != (self.vector_size,):
            raise ConfigError(f"a query vector must have shape ({self.vector_size},), got {v.shape}")
        # Inputs are unit-normalised like words (gensim would average a raw vector as is).
        n = np.float32(np.linalg.norm(v))
        return v / n if n > 0 else v

    def _mean_unit(self, vecs: list[np.ndarray], weights: list[float]) -> np.ndarray:
        """Weighted mean of unit inputs, normalised: gensim's ``get_mean_vector`` arithmetic
        (float32 running sum, float64 division by the total |weight|, float64 normalisation)."""
        w = np.asarray(weights, dtype=np.float64)
        mean = np.zeros(self.vector_size, dtype=np.float32)
        for wi, v in zip(w, vecs):
            mean += wi * v
        total = np.abs(w).sum()
        return _unitvec(mean.astype(np.float64) / total if total > 0 else mean)

    def _limit(self, restrict_vocab: int | None) -> int:
        if restrict_vocab is None:
            return len(self)
        if not isinstance(restrict_vocab, Integral) or restrict_vocab < 1:
            raise ConfigError(f"restrict_vocab must be a positive integer, got {restrict_vocab!r}")
        return min(int(restrict_vocab), len(self))

    def _top(self, dists: np.ndarray, topn: int | None, exclude: Iterable[int]):
        if topn is None:
            return dists
        if not isinstance(topn, Integral) or topn < 0:
            raise ConfigError(f"topn must be a non-negative integer or None, got {topn!r}")
        if topn == 0:
            return []
        exclude = list(exclude)
        best = gensim_top(dists, topn + len(exclude))
        skip = set(exclude)
        return [(self.index_to_key[i], float(dists[i])) for i in best if i not in skip][:topn]

    def most_similar(
        self,
        positive: Term | Sequence[Term] | None = None,
        negative: Term | Sequence[Term] | None = None,
        topn: int | None = 10,
        restrict_vocab: int | None = None,
    ) -> list[tuple[str, float]] | np.ndarray:
        """Words nearest (cosine) to the mean of the unit-normalised inputs.

        positive/negative: words, (D,) vectors, or ``(word_or_vector, weight)`` pairs; weights
        default to +1 / -1. Input words are left out of the answer. restrict_vocab: only the first
        N words are candidates. topn=None returns the (N,) array of all cosines instead.
        """
        vecs, weights, used = self._terms(positive, negative)
        mean = self._mean_unit(vecs, weights)
        n = self._limit(restrict_vocab)
        dists = np.dot(self._vectors[:n], mean) / self.safe_norms[:n]
        return self._top(dists, topn, used)

    def most_similar_cosmul(
        self,
        positive: Key | Sequence[Key] | None = None,
        negative: Key | Sequence[Key] | None = None,
        topn: int | None = 10,
        restrict_vocab: int | None = None,
    ) -> list[tuple[str, float]] | np.ndarray:
        """3CosMul of Levy & Goldberg (2014): prod over positives of (1+cos)/2 divided by
        (prod over negatives of (1+cos)/2 + 1e-6), cosines shifted into [0, 1] as gensim does.

        Unlike gensim, ``restrict_vocab`` is honoured and vector inputs are unit-normalised.
        """
        pos = [self._cosmul_term(t) for t in _as_list(positive)]
        neg = [self._cosmul_term(t) for t in _as_list(negative)]
        if not pos:
            raise ConfigError("most_similar_cosmul needs at least one positive word (or vector)")
        n = self._limit(restrict_vocab)
        V, norms = self._vectors[:n], self.safe_norms[:n]
        pos_d = [(1 + np.dot(V, v) / norms) / 2 for v, _ in pos]
        neg_d = [(1 + np.dot(V, v) / norms) / 2 for v, _ in neg]
        dists = np.prod(pos_d, axis=0) / (np.prod(neg_d, axis=0) + 0.000001)
        used = {i for _, i in pos + neg if i is not None}
        return self._top(dists, topn, sorted(used))

    def _cosmul_term(self, t) -> tuple[np.ndarray, int | None]:
        if isinstance(t, str):
            idx = self.get_index(t)
            return self._vectors[idx] / self.safe_norms[idx], idx
        return self._check_vector(t), None

    def analogy(
        self, a: str, b: str, c: str, topn: int = 1, restrict_vocab: int | None = None
    ) -> list[tuple[str, float]]:
        """a is to b as c is to ?: the words nearest to b - a + c (3CosAdd), as (word, cosine)."""
        return self.most_similar(positive=[b, c], negative=[a], topn=topn, restrict_vocab=restrict_vocab)

    def similarity(self, w1: str, w2: str) -> float:
        """Cosine similarity of two words."""
        return float(self._cosine(w1, w2))

    def distance(self, w1: str, w2: str) -> float:
        """Cosine distance, 1 - similarity (in float32, as gensim)."""
        return float(1 - self._cosine(w1, w2))

    def _cosine(self, w1: str, w2: str) -> np.float32:
        return np.dot(_unitvec(self[w1]), _unitvec(self[w2]))

    def n_similarity(self, ws1: Sequence[str], ws2: Sequence[str]) -> float:
        """Cosine between the means of the raw vectors of two word lists."""
        if not len(ws1) or not len(ws2):
            raise ConfigError("n_similarity needs two non-empty word lists")
        m1 = self[list(ws1)].sum(axis=0) / np.float32(len(ws1))
        m2 = self[list(ws2)].sum(axis=0) / np.float32(len(ws2))
        return float(np.dot(_unitvec(m1), _unitvec(m2)))

    def doesnt_match(self, words: Sequence[str]) -> str:
        """The word farthest (cosine) from the normalised mean of the unit vectors of ``words``."""
        words = list(words)
        if len(words) < 2:
            raise ConfigError("doesnt_match needs at least two words")
        normed = self.get_normed_vectors()[[self.get_index(w) for w in words]]
        mean = _unitvec(normed.sum(axis=0) / np.float32(len(words)))
        dists = np.dot(normed, mean)
        return min(zip(dists, words))[1]

    def rank(self, w1: str, w2: str) -> int:
        """1 + how many words (other than ``w1``) are closer to ``w1`` than ``w2`` is."""
        i1, i2 = self.get_index(w1), self.get_index(w2)
        v = self._vectors[i1]
        # Compared as distances 1 - cos, as gensim does: cosines closer than float rounding of
        # 1 - cos are ties, not "closer".
        dist = 1 - np.dot(self._vectors, v) / (np.linalg.norm(v) * self.safe_norms)
        closer = dist < dist[i2]
        closer[i1] = False
        return int(closer.sum()) + 1

    # ---- word2vec files ------------------------------------------------------------------

    def save_word2vec_format(
        self,
        path: str | os.PathLike,
        binary: bool = True,
        vocab_path: str | os.PathLike | None = None,
        encoding: str = "utf-8",
    ) -> None:
        """Write the word2vec.c format (binary or text) atomically, words in index order.

        vocab_path: also write ``word count`` lines (word2vec.c's ``-save-vocab``, gensim's
        ``fvocab``); needs ``counts``. A path ending in ``.gz`` is gzipped.
        """
        write_word2vec_format(path, self.index_to_key, self._vectors, self.counts, binary, vocab_path, encoding)

    @classmethod
    def load_word2vec_format(
        cls,
        path: str | os.PathLike,
        binary: bool | None = None,
        limit: int | None = None,
        encoding: str = "utf-8",
        unicode_errors: str = "strict",
        vocab_path: str | os.PathLike | None = None,
    ) -> WordVectors:
        """Read a word2vec.c / gensim file, text or binary (``binary=None`` detects which).

        limit: read only the first N vectors. vocab_path: a ``word count`` file to fill ``counts``.
        Raises :class:`FormatError` naming the file and line (text) or entry (binary) on a bad
        header, wrong number of values, truncated data, duplicate words or undecodable words.
        """
        return cls(*read_word2vec_format(path, binary, limit, encoding, unicode_errors, vocab_path))


def _as_list(value) -> list:
    """gensim's shorthand: a single word, (D,) vector or (term, weight) pair stands for a
    one-element list."""
    if value is None:
        return []
    if isinstance(value, str) or _is_weighted(value):
        return [value]
    if isinstance(value, np.ndarray):
        return [value] if value.ndim == 1 else list(value)
    return list(value)


def _is_weighted(value) -> bool:
    return (
        isinstance(value, tuple)
        and len(value) == 2
        and isinstance(value[1], (Integral, float, np.floating))
        and not isinstance(value[1], bool)
    )
