"""Embedding layers and negative sampling (the book's ``ch04/negative_sampling_layer.py``), NumPy.

Row-sparse gradients
--------------------
An embedding matrix ``W: (V, D)`` only gets gradient on the rows a batch looked up. Besides the
dense ``grads`` (always exact, so every optimizer works), the layers here expose
``row_grads: list[RowGrad | None]``, aligned with ``params``: a :class:`RowGrad` says "the dense
gradient is zero except that ``values[i]`` is added to row ``rows[i]``" (the layers here merge
repeated ids, so their rows are unique and ``RowGrad.unique`` is set). The
``RowGrad`` objects are created once and updated in place by each ``backward``, so a model can
collect them once, like ``grads``. :class:`kotoba.optim.SGD` and :class:`kotoba.optim.SparseAdam`
accept them (``update(params, grads, row_grads)``) and then touch only those rows, which turns an
``O(V·D)`` step into ``O(batch·D)``.

To keep the dense gradient exact without clearing all ``V·D`` entries on every step, an
:class:`Embedding` zeroes only the rows it wrote in its previous ``backward``. That is correct as
long as nothing else *adds* to a layer's ``grads`` arrays (scaling them, as
:func:`kotoba.optim.clip_grads` does, is fine; :func:`kotoba.optim.merge_shared` writes its sums
to new arrays for this reason).
"""

from __future__ import annotations

import numpy as np

from ..errors import DataError, EmptyCorpusError
from .basic import SigmoidWithLoss


class RowGrad:
    """Row-sparse gradient of a ``(V, D)`` parameter.

    ``rows: (M,)`` int row ids and ``values: (M, D)``; the dense gradient is ``zeros((V, D))``
    with ``values[i]`` added to row ``rows[i]`` for every ``i``. ``unique`` tells a consumer
    that no row repeats (the layers here always merge repeats, so an optimizer can use plain
    fancy indexing instead of a scatter-add); a RowGrad with ``unique=False`` may repeat rows.
    The arrays are rebound (not copied) by each ``backward`` and are only valid until the next.
    """

    __slots__ = ("rows", "values", "unique")

    def __init__(self, rows: np.ndarray | None = None, values: np.ndarray | None = None, unique: bool = False) -> None:
        self.rows = rows
        self.values = values
        self.unique = unique

    def to_dense(self, shape: tuple[int, ...], dtype=np.float64) -> np.ndarray:
        """The dense gradient this stands for (for tests and debugging)."""
        out = np.zeros(shape, dtype=dtype)
        if self.rows is not None:
            scatter_add_rows(out, self.rows, self.values)
        return out


def scatter_add_rows(target: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """``target[rows[i]] += values[i]`` for every ``i``, repeated rows accumulating.

    ``target: (V, D)``, ``rows: (M,)`` int, ``values: (M, D)``. ``np.add.at`` on the 2-D array
    is slow (one small inner loop per row); on a C-contiguous target the same sum is done by one
    1-D ``np.add.at`` over flat element indices ``row·D + col``, which NumPy runs through its
    fast unbuffered path (measured ~6x faster for 600 rows of 100 floats).
    """
    rows = np.asarray(rows).reshape(-1)
    if rows.size == 0:
        return
    d = target.shape[1]
    values = np.asarray(values).reshape(rows.size, d)
    if target.flags.c_contiguous:
        flat = (rows[:, None] * d + np.arange(d)).reshape(-1)
        np.add.at(target.reshape(-1), flat, values.reshape(-1))
    else:
        np.add.at(target, rows, values)


def sum_rows(rows: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge repeated rows: ``(rows (M,), values (M, D)) -> (unique_rows (U,), sums (U, D))``,
    ``unique_rows`` sorted, ``sums`` a new array.

    A stable sort groups equal rows; each group's first value is copied and only the remaining
    repeats (in word batches a minority) go through the slower scatter-add.
    """
    rows = np.asarray(rows).reshape(-1)
    values = np.asarray(values).reshape(rows.size, -1)
    order = np.argsort(rows, kind="stable")
    s = rows[order]
    first = np.empty(s.size, dtype=bool)
    first[:1] = True
    np.not_equal(s[1:], s[:-1], out=first[1:])
    uniq = s[first]
    sums = values[order[first]]
    if uniq.size < rows.size:
        group = np.cumsum(first) - 1  # position in uniq of every sorted entry
        repeat = ~first
        scatter_add_rows(sums, group[repeat], values[order[repeat]])
    return uniq, sums


class Embedding:
    """Row lookup ``W[idx]``. ``idx: (...) int -> (..., D)`` with ``W: (V, D)``.

    ``backward(dout)`` sums ``dout`` per distinct id (repeated ids add up), writes the sums into
    the rows of ``grads[0]`` and records them in ``row_grads[0]`` (unique rows); see the module
    docstring.
    """

    def __init__(self, W: np.ndarray) -> None:
        self.params = [W]
        self.grads = [np.zeros_like(W)]
        self.row_grads: list[RowGrad | None] = [RowGrad()]
        self.idx: np.ndarray | None = None
        self._written: np.ndarray | None = None  # rows of grads[0] that may be non-zero

    def forward(self, idx: np.ndarray) -> np.ndarray:
        (W,) = self.params
        # A private copy: callers may reuse their batch buffers, and backward needs these ids.
        self.idx = np.array(idx, dtype=np.intp)
        return np.take(W, self.idx, axis=0)

    def backward(self, dout: np.ndarray) -> None:
        dW = self.grads[0]
        if self._written is not None:
            dW[self._written] = 0
        rows, values = sum_rows(self.idx, dout.reshape(self.idx.size, dW.shape[1]))
        dW[rows] = values
        self._written = rows
        rg = self.row_grads[0]
        rg.rows, rg.values, rg.unique = rows, values, True
        return None


class EmbeddingDot:
    """Dot products of ``h`` with looked-up rows of ``W`` (the output side of word2vec).

    ``forward(h, idx)``: ``h: (N, D)``, ``idx: (N,)`` or ``(N, K)`` int ``-> (N,)`` or ``(N, K)``
    with ``out[n, k] = W[idx[n, k]] · h[n]``. The book uses one layer per column of ``idx``; a
    single layer over ``(N, K)`` ids does the same work in one batched matmul.
    """

    def __init__(self, W: np.ndarray) -> None:
        self.embed = Embedding(W)
        self.params = self.embed.params
        self.grads = self.embed.grads
        self.row_grads = self.embed.row_grads
        self.cache: tuple[np.ndarray, np.ndarray, tuple[int, ...]] | None = None

    def forward(self, h: np.ndarray, idx: np.ndarray) -> np.ndarray:
        idx = np.asarray(idx)
        n = h.shape[0]
        target_W = self.embed.forward(idx.reshape(n, -1))  # (N, K, D)
        out = np.matmul(target_W, h[:, :, None])[:, :, 0]  # (N, K)
        self.cache = (h, target_W, idx.shape)
        return out.reshape(idx.shape)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        h, target_W, shape = self.cache
        n = h.shape[0]
        dout = np.asarray(dout, dtype=h.dtype).reshape(n, -1)  # (N, K)
        self.embed.backward(dout[:, :, None] * h[:, None, :])
        return np.matmul(dout[:, None, :], target_W)[:, 0, :]  # (N, D)


class UnigramSampler:
    """Draws negative samples with probability ``∝ count(w) ** power`` (word2vec uses 0.75).

    ``corpus``: word ids ``(L,)``; words with count 0 are never drawn. ``get_negative_sample(target)``
    returns ``(N, sample_size)`` ids for ``target: (N,)``, drawn **with replacement** (as the
    word2vec C code does; the book's CPU version draws without replacement within a row) from the
    distribution *conditioned on not being the row's target*: the book sets ``p[target] = 0`` and
    renormalises, which is what this does, vectorised over the batch: a uniform number is drawn
    on ``[0, 1 − p_t)``, moved past the target's slice of the cumulative table, and located
    with ``searchsorted``. So the target never appears among its own negatives.
    """

    def __init__(
        self, corpus: np.ndarray, power: float, sample_size: int, rng: np.random.Generator | None = None
    ) -> None:
        corpus = np.asarray(corpus).reshape(-1)
        if corpus.size == 0:
            raise EmptyCorpusError("cannot build a unigram sampler from an empty corpus")
        if sample_size < 1:
            raise ValueError(f"sample_size must be >= 1, got {sample_size}")
        counts = np.bincount(corpus)
        if np.count_nonzero(counts) < 2:
            raise DataError("negative sampling needs a corpus with at least two distinct words")
        self.sample_size = sample_size
        self.vocab_size = counts.size
        self.rng = rng if rng is not None else np.random.default_rng()
        # where(): 0 ** 0 is 1, but an unseen word must keep probability 0 even for power = 0.
        p = np.where(counts > 0, counts.astype(np.float64) ** power, 0.0)
        self.word_p = p / p.sum()
        cdf = np.cumsum(self.word_p)
        cdf /= cdf[-1]
        cdf[-1] = 1.0
        self._cdf = cdf
        # Word w owns [lo[w], cdf[w]); width from the table itself so the slices tile exactly.
        self._lo = np.concatenate(([0.0], cdf[:-1]))
        self._width = cdf - self._lo

    def _draw(self, target: np.ndarray) -> np.ndarray:
        lo = self._lo[target][:, None]
        width = self._width[target][:, None]
        u = self.rng.random((target.size, self.sample_size)) * (1.0 - width)
        u += np.where(u >= lo, width, 0.0)
        return np.searchsorted(self._cdf, u, side="right")

    def get_negative_sample(self, target: np.ndarray) -> np.ndarray:
        """``target: (N,)`` int -> ``(N, sample_size)`` intp negatives, none equal to its row's target."""
        target = np.asarray(target, dtype=np.intp).reshape(-1)
        neg = self._draw(target)
        # Rounding at a slice boundary can (with probability ~1e-16) still hit the target or run
        # off the table's end; redraw just those entries.
        bad = (neg == target[:, None]) | (neg >= self.vocab_size)
        while bad.any():
            rows = np.nonzero(bad)[0]
            neg[bad] = self._draw(target[rows])[:, 0]
            bad = (neg == target[:, None]) | (neg >= self.vocab_size)
        return neg


class NegativeSamplingLoss:
    """word2vec's negative-sampling loss on output vectors ``W: (V, D)``.

    ``forward(h, target)``: ``h: (N, D)``, ``target: (N,)`` -> scalar
    ``mean_n [ −log σ(W[t_n]·h_n) − Σ_k log σ(−W[neg_nk]·h_n) ]`` with ``sample_size``
    negatives per row from a :class:`UnigramSampler` over ``corpus``. ``backward(dout=1)``
    returns ``dh: (N, D)`` and fills ``grads[0]`` / ``row_grads[0]`` for ``W``.

    The book builds ``sample_size + 1`` EmbeddingDot/SigmoidWithLoss pairs (so ``W`` appears
    ``sample_size + 1`` times in ``params``); here one :class:`EmbeddingDot` over the
    ``(N, 1 + sample_size)`` ids (positive first) and one :class:`SigmoidWithLoss` give the same
    loss and gradient, with ``params == [W]``.
    """

    def __init__(
        self,
        W: np.ndarray,
        corpus: np.ndarray,
        power: float = 0.75,
        sample_size: int = 5,
        rng: np.random.Generator | None = None,
    ) -> None:
        self.sample_size = sample_size
        self.sampler = UnigramSampler(corpus, power, sample_size, rng=rng)
        self.embed_dot = EmbeddingDot(W)
        self.loss_layer = SigmoidWithLoss()
        self.params = self.embed_dot.params
        self.grads = self.embed_dot.grads
        self.row_grads = self.embed_dot.row_grads
        self._labels: np.ndarray | None = None

    def _labels_for(self, n: int, dtype: np.dtype) -> np.ndarray:
        lab = self._labels
        if lab is None or lab.shape[0] != n or lab.dtype != dtype:
            lab = np.zeros((n, 1 + self.sample_size), dtype=dtype)
            lab[:, 0] = 1
            self._labels = lab
        return lab

    def forward(self, h: np.ndarray, target: np.ndarray) -> float:
        target = np.asarray(target, dtype=np.intp).reshape(-1)
        negative = self.sampler.get_negative_sample(target)
        ids = np.concatenate((target[:, None], negative), axis=1)
        score = self.embed_dot.forward(h, ids)
        return self.loss_layer.forward(score, self._labels_for(target.size, score.dtype))

    def backward(self, dout: float = 1) -> np.ndarray:
        return self.embed_dot.backward(self.loss_layer.backward(dout))
