"""Skip-gram: predict each context word from the target word's vector.

:class:`SimpleSkipGram` (book chapter 3, full softmax) and :class:`SkipGram` (chapter 4,
negative sampling). The loss is the **sum** over the ``2w`` context positions, as in the book,
so a skip-gram loss is about ``2w`` times a CBOW loss on the same data. Initialisation as in
:mod:`kotoba.models.cbow` (word2vec.c: uniform ``W_in``, zero ``W_out``).
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from ..layers import Embedding, MatMul, NegativeSamplingLoss, SoftmaxWithLoss
from .cbow import check_contexts, collect_params, init_word2vec_weights

__all__ = ["SimpleSkipGram", "SkipGram"]


class SimpleSkipGram:
    """Skip-gram with a full softmax output (the book's ``ch03/simple_skip_gram.py``).

    ``one_hot=False`` (default): ``contexts: (N, 2w) int, target: (N,) int`` through an
    ``Embedding``; ``one_hot=True``: the book's ``MatMul`` on ``contexts: (N, 2w, V)``,
    ``target: (N, V)``. One score ``(N, V)`` is shared by the ``2w`` softmax losses.
    ``W_in: (V, H)`` (``word_vecs``), ``W_out: (H, V)``.
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
        self.one_hot = one_hot
        self.in_layer = (MatMul if one_hot else Embedding)(W_in)
        self.out_layer = MatMul(W_out)
        self.loss_layers = [SoftmaxWithLoss() for _ in range(2 * window_size)]
        self.params, self.grads, self.row_grads = collect_params([self.in_layer, self.out_layer])
        self.word_vecs = W_in

    def forward(self, contexts: np.ndarray, target: np.ndarray) -> float:
        check_contexts(contexts, len(self.loss_layers))
        h = self.in_layer.forward(target)
        score = self.out_layer.forward(h)
        return sum(layer.forward(score, contexts[:, i]) for i, layer in enumerate(self.loss_layers))

    def backward(self, dout: float = 1) -> None:
        ds = sum(layer.backward(dout) for layer in self.loss_layers)
        self.in_layer.backward(self.out_layer.backward(ds))


class SkipGram:
    """Skip-gram with negative sampling (the book's ``ch04/skip_gram.py``).

    ``contexts: (N, 2w) int, target: (N,) int -> loss``. One ``Embedding`` of the target,
    ``2w`` negative-sampling losses (each with its own sampler on ``corpus``, drawing from ``rng``)
    sharing ``W_out: (V, H)``. ``word_vecs`` is ``W_in: (V, H)`` itself.
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
        self.in_layer = Embedding(W_in)
        self.loss_layers = [
            NegativeSamplingLoss(W_out, corpus, power=power, sample_size=sample_size, rng=rng)
            for _ in range(2 * window_size)
        ]
        self.params, self.grads, self.row_grads = collect_params([self.in_layer] + self.loss_layers)
        self.word_vecs = W_in

    def forward(self, contexts: np.ndarray, target: np.ndarray) -> float:
        check_contexts(contexts, len(self.loss_layers))
        h = self.in_layer.forward(target)
        return sum(layer.forward(h, contexts[:, i]) for i, layer in enumerate(self.loss_layers))

    def backward(self, dout: float = 1) -> None:
        dh = sum(layer.backward(dout) for layer in self.loss_layers)
        self.in_layer.backward(dh)
