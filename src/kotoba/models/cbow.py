"""Continuous bag-of-words (CBOW): predict a word from the mean of its context vectors.

Two models, as in the book: :class:`SimpleCBOW` (chapter 3, full softmax over the vocabulary)
and :class:`CBOW` (chapter 4, Embedding inputs and negative sampling).

Initialisation follows word2vec.c rather than the book: ``W_in`` uniform in
``[-0.5/H, 0.5/H)`` and ``W_out`` zeros (the book uses ``0.01 * randn`` for both). Zeros are fine
for ``W_out`` because nothing needs breaking symmetry there: on the first step the gradient of
``W_out`` is ``dscore ⊗ h`` with ``h`` built from the random, nonzero ``W_in`` rows, so each output
vector moves in a different direction at once, and ``W_in`` starts learning from the second step.
A zero ``W_out`` also makes every initial score 0, so the first loss is exactly ``ln V`` (full
softmax) or ``(1 + sample_size) ln 2`` (negative sampling) — a handy sanity check.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..layers import Embedding, MatMul, NegativeSamplingLoss, RowGrad, SoftmaxWithLoss

__all__ = ["SimpleCBOW", "CBOW", "init_word2vec_weights"]


def init_word2vec_weights(
    vocab_size: int, hidden_size: int, out_shape: tuple[int, int], rng: np.random.Generator | None
) -> tuple[np.ndarray, np.ndarray]:
    """word2vec.c's initialisation: ``W_in: (V, H) float32`` uniform in ``[-0.5/H, 0.5/H)``,
    ``W_out: out_shape float32`` zeros (``(H, V)`` for a MatMul output, ``(V, H)`` for EmbeddingDot)."""
    if vocab_size < 1 or hidden_size < 1:
        raise ConfigError(f"vocab_size and hidden_size must be >= 1, got {vocab_size} and {hidden_size}")
    rng = np.random.default_rng() if rng is None else rng
    W_in = (rng.random((vocab_size, hidden_size), dtype=np.float32) - 0.5) / hidden_size  # stays float32
    W_out = np.zeros(out_shape, dtype=np.float32)
    return W_in, W_out


def check_contexts(contexts: np.ndarray, n_contexts: int) -> None:
    if contexts.ndim < 2 or contexts.shape[1] != n_contexts:
        raise ConfigError(
            f"contexts must have {n_contexts} words per sample (2 * window_size), got shape {contexts.shape}"
        )


def collect_params(layers: list) -> tuple[list[np.ndarray], list[np.ndarray], list[RowGrad | None]]:
    """The layers' ``params``, ``grads`` and ``row_grads`` concatenated, aligned with each other.

    ``row_grads`` entries are the Embedding layers' :class:`~kotoba.layers.RowGrad` objects
    (updated in place by each backward) and ``None`` for dense-only layers such as ``MatMul``;
    optimizers that take them (``SGD``, ``SparseAdam``) then update only the rows a batch used.
    """
    params: list[np.ndarray] = []
    grads: list[np.ndarray] = []
    row_grads: list[RowGrad | None] = []
    for layer in layers:
        params += layer.params
        grads += layer.grads
        row_grads += getattr(layer, "row_grads", [None] * len(layer.params))
    return params, grads, row_grads


class SimpleCBOW:
    """CBOW with a full softmax output (the book's ``ch03/simple_cbow.py``), any window size.

    With ``one_hot=False`` (default) the inputs are word ids and the context layers are
    ``Embedding`` layers: ``contexts: (N, 2w) int, target: (N,) int -> loss``. With
    ``one_hot=True`` they are the book's ``MatMul`` layers on one-hot vectors:
    ``contexts: (N, 2w, V), target: (N, V)`` (e.g. from ``convert_one_hot(..., dtype=np.float32)``).
    The two give the same loss for the same weights; the id form skips the ``V``-wide product.
    All context layers share the one ``W_in: (V, H)``; ``W_out: (H, V)``. ``word_vecs`` is ``W_in``.
    """

    def __init__(
        self,
        vocab_size: int,
        hidden_size: int,
        window_size: int = 1,
        one_hot: bool = False,
        rng: np.random.Generator | None = None,
    ):
        if window_size < 1:
            raise ConfigError(f"window_size must be >= 1, got {window_size}")
        W_in, W_out = init_word2vec_weights(vocab_size, hidden_size, (hidden_size, vocab_size), rng)
        in_layer = MatMul if one_hot else Embedding
        self.one_hot = one_hot
        self.in_layers = [in_layer(W_in) for _ in range(2 * window_size)]
        self.out_layer = MatMul(W_out)
        self.loss_layer = SoftmaxWithLoss()
        self.params, self.grads, self.row_grads = collect_params(self.in_layers + [self.out_layer])
        self.word_vecs = W_in

    def forward(self, contexts: np.ndarray, target: np.ndarray) -> float:
        check_contexts(contexts, len(self.in_layers))
        h = sum(layer.forward(contexts[:, i]) for i, layer in enumerate(self.in_layers))
        h = h / len(self.in_layers)
        score = self.out_layer.forward(h)
        return self.loss_layer.forward(score, target)

    def backward(self, dout: float = 1) -> None:
        ds = self.loss_layer.backward(dout)
        dh = self.out_layer.backward(ds) / len(self.in_layers)
        for layer in self.in_layers:
            layer.backward(dh)


class CBOW:
    """CBOW with negative sampling (the book's ``ch04/cbow.py``).

    ``contexts: (N, 2w) int, target: (N,) int -> loss`` (mean over the batch of the positive
    plus ``sample_size`` negative binary cross-entropies). ``W_in: (V, H)`` is shared by the
    ``2w`` context Embeddings; ``W_out: (V, H)`` by the EmbeddingDot of the sampling loss.
    Negatives are drawn from ``corpus``'s unigram counts raised to ``power``, using ``rng``.
    ``word_vecs`` is ``W_in`` itself, so it reflects training without copying.
    """

    def __init__(
        self,
        vocab_size: int,
        hidden_size: int,
        window_size: int,
        corpus: np.ndarray,
        rng: np.random.Generator | None = None,
        *,
        sample_size: int = 5,
        power: float = 0.75,
    ):
        if window_size < 1:
            raise ConfigError(f"window_size must be >= 1, got {window_size}")
        rng = np.random.default_rng() if rng is None else rng
        W_in, W_out = init_word2vec_weights(vocab_size, hidden_size, (vocab_size, hidden_size), rng)
        self.in_layers = [Embedding(W_in) for _ in range(2 * window_size)]
        self.ns_loss = NegativeSamplingLoss(W_out, corpus, power=power, sample_size=sample_size, rng=rng)
        self.params, self.grads, self.row_grads = collect_params(self.in_layers + [self.ns_loss])
        self.word_vecs = W_in

    def forward(self, contexts: np.ndarray, target: np.ndarray) -> float:
        check_contexts(contexts, len(self.in_layers))
        h = sum(layer.forward(contexts[:, i]) for i, layer in enumerate(self.in_layers))
        h = h / len(self.in_layers)
        return self.ns_loss.forward(h, target)

    def backward(self, dout: float = 1) -> None:
        dh = self.ns_loss.backward(dout) / len(self.in_layers)
        for layer in self.in_layers:
            layer.backward(dh)
