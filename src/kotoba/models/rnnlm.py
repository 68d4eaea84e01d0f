"""Recurrent language models (the book's chapters 5 and 6).

* :class:`SimpleRnnlm` — TimeEmbedding → TimeRNN → TimeAffine → TimeSoftmaxWithLoss.
* :class:`Rnnlm` — the same with a TimeLSTM.
* :class:`BetterRnnlm` — two LSTM layers, dropout before and after each, and weight tying
  (the output projection is the transposed embedding matrix).

All share the book's interface: ``predict(xs)`` gives next-word scores, ``forward(xs, ts)``
the mean loss, ``backward()`` fills ``grads``, ``reset_state()`` clears the LSTM/RNN state
kept between truncated-BPTT batches. ``params``/``grads`` hold every *distinct* trainable
array once, so an optimizer can use them directly (the tied matrix of :class:`BetterRnnlm`
appears once, its gradient already summed over both uses). ``config`` is a JSON-ready dict
that :func:`build_lm` turns back into an (untrained) model of the same shape; checkpoints
(:mod:`kotoba.lm.checkpoint`) store it next to the parameters, which are saved in ``params``
order:

* SimpleRnnlm: ``embed_W (V, D), rnn_Wx (D, H), rnn_Wh (H, H), rnn_b (H,), affine_W (H, V), affine_b (V,)``
* Rnnlm: ``embed_W, lstm_Wx (D, 4H), lstm_Wh (H, 4H), lstm_b (4H,), affine_W (H, V), affine_b (V,)``
* BetterRnnlm: ``embed_W (V, H), lstm1 Wx, Wh, b, lstm2 Wx, Wh, b, affine_b (V,)``

LSTM gate columns follow :data:`kotoba.layers.time.GATE_ORDER`, the book's (f, g, i, o).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ConfigError
from ..layers.time import (
    GATE_ORDER,
    TimeAffine,
    TimeDropout,
    TimeEmbedding,
    TimeLSTM,
    TimeRNN,
    TimeSoftmaxWithLoss,
    reorder_gates,
)

#: The gate order the initial LSTM weights are drawn in. All ``4H`` columns are i.i.d., so any
#: order gives the book's initialisation; drawing in the order kotoba's layers used before
#: version 2 (PyTorch's) keeps every seed giving the same model, and training the same result.
_DRAW_GATE_ORDER = ("i", "f", "g", "o")


def _lstm_init(r: np.random.Generator, D: int, H: int, dtype: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The book's LSTM weights: ``Wx (D, 4H), Wh (H, 4H)`` randn / sqrt(fan_in), ``b (4H,)`` zeros."""
    Wx = (r.standard_normal((D, 4 * H)) / np.sqrt(D)).astype(dtype)
    Wh = (r.standard_normal((H, 4 * H)) / np.sqrt(H)).astype(dtype)
    Wx, Wh = (reorder_gates(w, _DRAW_GATE_ORDER, GATE_ORDER) for w in (Wx, Wh))
    return Wx, Wh, np.zeros(4 * H, dtype=dtype)


def _check_sizes(**sizes: int) -> None:
    for name, v in sizes.items():
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ConfigError(f"{name} must be a positive integer, got {v!r}")


class _TimeLanguageModel:
    """Shared plumbing: ``layers`` (everything before the loss), ``loss_layer``, ``rnn_layers``."""

    layers: list
    rnn_layers: list
    loss_layer: TimeSoftmaxWithLoss
    params: list[np.ndarray]
    grads: list[np.ndarray]
    config: dict[str, Any]
    rng: np.random.Generator

    def predict(self, xs: np.ndarray, train_flg: bool = False) -> np.ndarray:
        """Next-word scores: ``xs: (N, T) int -> (N, T, V)`` (unnormalised logits)."""
        for layer in self.layers:
            if isinstance(layer, TimeDropout):
                layer.train_flg = train_flg
        x = xs
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def forward(self, xs: np.ndarray, ts: np.ndarray, train_flg: bool = True) -> float:
        """Mean cross-entropy of predicting ``ts: (N, T)`` from ``xs: (N, T)`` (ids ``-1`` ignored)."""
        return self.loss_layer.forward(self.predict(xs, train_flg), ts)

    def backward(self, dout: float = 1) -> None:
        """Fill ``grads`` (for the last ``forward``)."""
        d = self.loss_layer.backward(dout)
        for layer in reversed(self.layers):
            d = layer.backward(d)

    def reset_state(self) -> None:
        """Forget the recurrent state (start of an epoch, of a new text, of an evaluation)."""
        for layer in self.rnn_layers:
            layer.reset_state()

    def hidden_state(self) -> dict[str, np.ndarray]:
        """The kept recurrent state as named arrays (``h0``, ``c0``, ``h1``, ...; empty if reset)."""
        out = {}
        for i, layer in enumerate(self.rnn_layers):
            for name in ("h", "c"):
                v = getattr(layer, name, None)
                if v is not None:
                    out[f"{name}{i}"] = v.copy()
        return out

    def load_hidden_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`hidden_state` returned (missing entries mean a reset layer)."""
        for i, layer in enumerate(self.rnn_layers):
            layer.reset_state()
            if f"h{i}" in state:
                layer.set_state(state[f"h{i}"], state.get(f"c{i}"))


def _book_init(r: np.random.Generator, V: int, D: int, H: int, gates: int, dtype: Any):
    """The book's initial weights for embedding → one recurrent layer (``gates`` = 1 for an RNN,
    4 for an LSTM) → affine: a small embedding, randn / sqrt(fan_in) matrices, zero biases.
    Returns ``embed_W (V, D), Wx (D, G), Wh (H, G), b (G,), affine_W (H, V), affine_b (V,)``, G = gates * H."""
    embed_W = (r.standard_normal((V, D)) / 100).astype(dtype)
    if gates == 4:
        Wx, Wh, b = _lstm_init(r, D, H, dtype)
    else:
        Wx = (r.standard_normal((D, H)) / np.sqrt(D)).astype(dtype)
        Wh = (r.standard_normal((H, H)) / np.sqrt(H)).astype(dtype)
        b = np.zeros(H, dtype=dtype)
    return embed_W, Wx, Wh, b, (r.standard_normal((H, V)) / np.sqrt(H)).astype(dtype), np.zeros(V, dtype=dtype)


class SimpleRnnlm(_TimeLanguageModel):
    """Embedding → vanilla RNN → affine → softmax (the book's chapter-5 model)."""

    recurrent_layer: type = TimeRNN
    gates = 1  # column blocks of Wx/Wh per hidden unit

    def __init__(
        self,
        vocab_size: int = 10000,
        wordvec_size: int = 100,
        hidden_size: int = 100,
        rng: np.random.Generator | None = None,
        dtype: Any = np.float32,
    ):
        _check_sizes(vocab_size=vocab_size, wordvec_size=wordvec_size, hidden_size=hidden_size)
        V, D, H = vocab_size, wordvec_size, hidden_size
        self.rng = rng if rng is not None else np.random.default_rng()
        embed_W, Wx, Wh, b, affine_W, affine_b = _book_init(self.rng, V, D, H, self.gates, dtype)
        self.layers = [
            TimeEmbedding(embed_W),
            self.recurrent_layer(Wx, Wh, b, stateful=True),
            TimeAffine(affine_W, affine_b),
        ]
        self.rnn_layers = [self.layers[1]]
        self.loss_layer = TimeSoftmaxWithLoss()
        self.params = [p for layer in self.layers for p in layer.params]
        self.grads = [g for layer in self.layers for g in layer.grads]
        self.config = {"class": type(self).__name__, "vocab_size": V, "wordvec_size": D, "hidden_size": H}


class Rnnlm(SimpleRnnlm):
    """Embedding → LSTM → affine → softmax (the book's chapter-6 model): SimpleRnnlm with a
    TimeLSTM, whose ``Wx``/``Wh``/``b`` hold the four gates side by side (4H columns)."""

    recurrent_layer = TimeLSTM
    gates = 4


class BetterRnnlm(_TimeLanguageModel):
    """Two LSTM layers with dropout and weight tying (the book's ``BetterRnnlm``).

    Layers: Embedding → Dropout → LSTM → Dropout → LSTM → Dropout → Affine(``embed_W.T``).
    Tying needs ``wordvec_size == hidden_size``. The affine weight is a *view* of the
    embedding matrix (same memory), and ``backward`` adds the affine gradient (transposed)
    into the embedding gradient, so ``params``/``grads`` list the tied matrix once.
    Dropout masks are drawn from ``rng`` (the generator also used for the initial weights).
    """

    def __init__(
        self,
        vocab_size: int = 10000,
        wordvec_size: int = 650,
        hidden_size: int = 650,
        dropout_ratio: float = 0.5,
        rng: np.random.Generator | None = None,
        dtype: Any = np.float32,
    ):
        _check_sizes(vocab_size=vocab_size, wordvec_size=wordvec_size, hidden_size=hidden_size)
        if wordvec_size != hidden_size:
            raise ConfigError(
                f"BetterRnnlm ties the output weights to the embedding, so wordvec_size ({wordvec_size}) "
                f"must equal hidden_size ({hidden_size})"
            )
        if not 0.0 <= dropout_ratio < 1.0:
            raise ConfigError(f"dropout_ratio must be in [0, 1), got {dropout_ratio}")
        V, D, H = vocab_size, wordvec_size, hidden_size
        self.rng = rng if rng is not None else np.random.default_rng()
        r = self.rng
        embed_W = (r.standard_normal((V, D)) / 100).astype(dtype)
        lstm1 = TimeLSTM(*_lstm_init(r, D, H, dtype), stateful=True)
        lstm2 = TimeLSTM(*_lstm_init(r, H, H, dtype), stateful=True)
        affine_b = np.zeros(V, dtype=dtype)
        self.embed = TimeEmbedding(embed_W)
        self.affine = TimeAffine(embed_W.T, affine_b)  # tied: a view, not a copy
        self.layers = [
            self.embed,
            TimeDropout(dropout_ratio, rng=r),
            lstm1,
            TimeDropout(dropout_ratio, rng=r),
            lstm2,
            TimeDropout(dropout_ratio, rng=r),
            self.affine,
        ]
        self.rnn_layers = [lstm1, lstm2]
        self.loss_layer = TimeSoftmaxWithLoss()
        self.params = [embed_W] + lstm1.params + lstm2.params + [affine_b]
        self.grads = [self.embed.grads[0]] + lstm1.grads + lstm2.grads + [self.affine.grads[1]]
        self.config = {
            "class": type(self).__name__,
            "vocab_size": V,
            "wordvec_size": D,
            "hidden_size": H,
            "dropout_ratio": float(dropout_ratio),
        }

    def backward(self, dout: float = 1) -> None:
        super().backward(dout)
        # The tied matrix is used twice; its gradient is the sum of both uses.
        self.embed.grads[0] += self.affine.grads[0].T


#: Model classes by name, as stored in ``config["class"]``.
LM_CLASSES: dict[str, type] = {cls.__name__: cls for cls in (SimpleRnnlm, Rnnlm, BetterRnnlm)}


def build_lm(config: dict[str, Any], rng: np.random.Generator | None = None) -> _TimeLanguageModel:
    """A fresh model of the class and sizes in ``config`` (what a model's ``config`` holds)."""
    if not isinstance(config, dict) or config.get("class") not in LM_CLASSES:
        known = ", ".join(LM_CLASSES)
        raise ConfigError(f"unknown language-model config {config!r} (class must be one of {known})")
    kwargs = {k: v for k, v in config.items() if k != "class"}
    try:
        return LM_CLASSES[config["class"]](**kwargs, rng=rng)
    except TypeError as e:
        raise ConfigError(f"bad language-model config {config!r}: {e}") from e
