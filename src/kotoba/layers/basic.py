"""Basic reference layers (NumPy), in the style of *ゼロから作るDeep Learning ❷* ``common/layers.py``.

Layer convention used throughout :mod:`kotoba.layers`:

* ``params: list[np.ndarray]`` and ``grads: list[np.ndarray]`` in the same order and shapes;
  ``grads`` are preallocated with ``np.zeros_like`` and overwritten in place by ``backward``,
  so a model can collect references to them once.
* Weight arrays passed to a constructor are stored as-is (never copied), so several layers can
  share one array (weight sharing / tying).
* ``forward(...)`` caches what ``backward`` needs; ``backward(dout=1)`` returns the gradient with
  respect to the input(s). The dtype follows the params (float32 in training, float64 in
  gradient checks).
"""

from __future__ import annotations

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function, elementwise, accurate and without overflow for any ``x``.

    With ``z = exp(−|x|) ≤ 1``: ``σ(x) = 1/(1+z)`` for ``x ≥ 0`` and ``z/(1+z)`` for ``x < 0``.
    ``1 / (1 + exp(−x))`` overflows (with a warning) for ``x ≪ 0``, and ``(1 + tanh(x/2))/2``
    loses all relative precision there.
    """
    x = np.asarray(x)
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0, z) / (1.0 + z)


def softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over the last axis; subtracting the row maximum keeps ``exp`` from overflowing.

    ``x: (..., C) -> (..., C)``, rows sum to 1.
    """
    x = np.asarray(x)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _class_ids(t: np.ndarray, num_classes: int, batch_shape: tuple[int, ...]) -> np.ndarray:
    """Turn one-hot labels ``(..., C)`` into class ids ``(...)``; pass ids through."""
    t = np.asarray(t)
    if t.shape == batch_shape + (num_classes,) and t.ndim == len(batch_shape) + 1:
        return t.argmax(axis=-1)
    if t.shape != batch_shape:
        raise ValueError(
            f"labels of shape {t.shape} fit neither ids {batch_shape} nor one-hot {batch_shape + (num_classes,)}"
        )
    return t


def cross_entropy_error(y: np.ndarray, t: np.ndarray) -> float:
    """Mean cross-entropy of predicted probabilities ``y`` against labels ``t`` (the book's function).

    ``y: (N, C)`` or ``(C,)`` probabilities; ``t``: class ids ``(N,)`` or one-hot ``(N, C)``.
    As in the book, ``1e-7`` is added inside the log so that a zero probability gives a large
    finite loss instead of ``inf``.
    """
    y = np.asarray(y)
    if y.ndim == 1:
        y = y.reshape(1, -1)
        t = np.asarray(t).reshape(1, -1) if np.ndim(t) == 1 else np.asarray(t).reshape(1)
    ids = _class_ids(t, y.shape[-1], y.shape[:-1]).reshape(-1)
    y2 = y.reshape(-1, y.shape[-1])
    n = y2.shape[0]
    return float(-np.sum(np.log(y2[np.arange(n), ids] + 1e-7)) / n)


class MatMul:
    """``x @ W`` without bias. ``x: (..., D) -> (..., H)`` with ``W: (D, H)``."""

    def __init__(self, W: np.ndarray) -> None:
        self.params = [W]
        self.grads = [np.zeros_like(W)]
        self.x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return x @ self.params[0]

    def backward(self, dout: np.ndarray) -> np.ndarray:
        (W,) = self.params
        x = self.x
        dx = dout @ W.T
        # Leading axes are flattened so the same code serves (N, D) and (N, T, D) inputs.
        self.grads[0][...] = x.reshape(-1, x.shape[-1]).T @ dout.reshape(-1, dout.shape[-1])
        return dx


class Affine:
    """``x @ W + b``. ``x: (..., D) -> (..., H)`` with ``W: (D, H)``, ``b: (H,)``."""

    def __init__(self, W: np.ndarray, b: np.ndarray) -> None:
        self.params = [W, b]
        self.grads = [np.zeros_like(W), np.zeros_like(b)]
        self.x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        W, b = self.params
        self.x = x
        return x @ W + b

    def backward(self, dout: np.ndarray) -> np.ndarray:
        W, _ = self.params
        x = self.x
        d2 = dout.reshape(-1, dout.shape[-1])
        self.grads[0][...] = x.reshape(-1, x.shape[-1]).T @ d2
        self.grads[1][...] = d2.sum(axis=0)
        return dout @ W.T


class Sigmoid:
    """Elementwise logistic function; ``backward`` uses the cached output: ``dσ = σ(1 − σ)``."""

    def __init__(self) -> None:
        self.params: list[np.ndarray] = []
        self.grads: list[np.ndarray] = []
        self.out: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = sigmoid(x)
        return self.out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * (1.0 - self.out) * self.out


class SigmoidWithLoss:
    """Sigmoid followed by binary cross-entropy, computed from the logits.

    ``forward(x, t)``: ``x`` scores of any shape ``(N, ...)``, ``t`` labels (0/1, or
    probabilities) of the same shape. The loss is summed over all axes but the first and
    averaged over the batch axis ``N`` — for ``x: (N,)`` that is the book's mean over the
    batch, and for ``x: (N, K)`` it is the book's sum of ``K`` such layers (used by
    :class:`~kotoba.layers.NegativeSamplingLoss`).

    The loss is ``softplus(x) − t·x`` (``= −t log σ(x) − (1−t) log(1−σ(x))``), exact and
    finite for any ``x``, so no ``1e-7`` fudge is needed; the gradient is ``(σ(x) − t) / N``.
    """

    def __init__(self) -> None:
        self.params: list[np.ndarray] = []
        self.grads: list[np.ndarray] = []
        self.y: np.ndarray | None = None
        self.t: np.ndarray | None = None

    def forward(self, x: np.ndarray, t: np.ndarray) -> float:
        x = np.asarray(x)
        t = np.asarray(t, dtype=x.dtype)
        if t.shape != x.shape:
            raise ValueError(f"labels of shape {t.shape} do not match scores of shape {x.shape}")
        self.y = sigmoid(x)
        self.t = t
        n = x.shape[0] if x.ndim else 1
        return float(np.sum(np.logaddexp(0, x) - t * x) / n)

    def backward(self, dout: float = 1) -> np.ndarray:
        y = self.y
        n = y.shape[0] if y.ndim else 1
        return (y - self.t) * (dout / n)


class Softmax:
    """Softmax over the last axis. ``backward``: ``dx = y·(dout − Σ y·dout)``."""

    def __init__(self) -> None:
        self.params: list[np.ndarray] = []
        self.grads: list[np.ndarray] = []
        self.out: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = softmax(x)
        return self.out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        y = self.out
        dx = y * dout
        dx -= y * dx.sum(axis=-1, keepdims=True)
        return dx


class SoftmaxWithLoss:
    """Softmax followed by cross-entropy, averaged over all leading positions.

    ``forward(x, t)``: ``x: (N, C)`` (or ``(..., C)``) scores; ``t``: class ids ``(N,)`` or
    one-hot ``(N, C)`` as in the book. The loss is computed as ``logsumexp(x) − x[t]``, which
    stays exact where ``softmax`` underflows to 0; the gradient is ``(y − onehot(t)) / N``.
    """

    def __init__(self) -> None:
        self.params: list[np.ndarray] = []
        self.grads: list[np.ndarray] = []
        self.y: np.ndarray | None = None
        self.t: np.ndarray | None = None

    def forward(self, x: np.ndarray, t: np.ndarray) -> float:
        x = np.asarray(x)
        ids = _class_ids(t, x.shape[-1], x.shape[:-1]).reshape(-1)
        x2 = x.reshape(-1, x.shape[-1])
        shifted = x2 - x2.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        s = e.sum(axis=1, keepdims=True)
        self.y = e / s
        self.t = ids
        n = x2.shape[0]
        self._shape = x.shape
        return float(np.sum(np.log(s[:, 0]) - shifted[np.arange(n), ids]) / n)

    def backward(self, dout: float = 1) -> np.ndarray:
        n = self.y.shape[0]
        dx = self.y.copy()
        dx[np.arange(n), self.t] -= 1
        dx *= dout / n
        return dx.reshape(self._shape)


class Dropout:
    """Inverted dropout: in training each element is kept with probability ``1 − dropout_ratio``
    and scaled by ``1 / (1 − dropout_ratio)``, so inference is the identity (no rescaling).

    ``train_flg`` (attribute, default True) selects the mode; ``forward(x, train_flg)`` may also
    override it per call as in the book. The mask comes from ``rng`` (a
    ``numpy.random.Generator``; a fresh unseeded one if omitted).
    """

    def __init__(self, dropout_ratio: float = 0.5, rng: np.random.Generator | None = None) -> None:
        if not 0.0 <= dropout_ratio < 1.0:
            raise ValueError(f"dropout_ratio must be in [0, 1), got {dropout_ratio}")
        self.params: list[np.ndarray] = []
        self.grads: list[np.ndarray] = []
        self.dropout_ratio = dropout_ratio
        self.rng = rng if rng is not None else np.random.default_rng()
        self.train_flg = True
        self.mask: np.ndarray | None = None

    def forward(self, x: np.ndarray, train_flg: bool | None = None) -> np.ndarray:
        if train_flg is None:
            train_flg = self.train_flg
        if not train_flg or self.dropout_ratio == 0.0:
            self.mask = None
            return x
        dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.dtype(np.float64)
        keep = self.rng.random(x.shape, dtype=dtype) >= self.dropout_ratio
        # The mask carries the 1/(1-p) scale so backward is one multiply.
        self.mask = keep.astype(dtype) * dtype.type(1.0 / (1.0 - self.dropout_ratio))
        return x * self.mask

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout if self.mask is None else dout * self.mask
