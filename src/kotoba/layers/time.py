"""Time layers for recurrent language models (the book's chapters 5 and 6).

Every layer follows the book's convention: ``params`` and ``grads`` are lists of arrays,
``forward`` caches what ``backward`` needs, and ``backward`` writes the parameter gradients
into ``grads`` *in place* (so a model or optimizer can hold references to them). The dtype of
the parameters decides the dtype of the computation: float32 for training, float64 for
gradient checks.

Shapes: ``N`` batch, ``T`` time steps, ``D`` input size, ``H`` hidden size, ``V`` vocabulary.

Speed notes (the book's code does the same maths, more slowly):

* ``TimeRNN``/``TimeLSTM`` compute ``x @ Wx + b`` for all ``T`` steps in one GEMM before the
  loop, and ``dWx``, ``dWh``, ``db`` and ``dxs`` with one GEMM/reduction each after the loop;
  only ``h @ Wh`` (and its transpose in backward) runs per step — a compiled single-threaded
  loop when it is small, BLAS when it is large (see ``_step_matmul``). The four LSTM gates
  come out of a single ``(N, 4H)`` product and a single ``tanh`` call per step.
* ``TimeAffine`` is one GEMM over the ``N*T`` rows; ``TimeSoftmaxWithLoss`` computes the
  softmax, the loss *and* the gradient in its forward pass, in place in one reused buffer
  (row blocks that stay in L2), so ``backward`` costs nothing and no extra ``(N*T, V)``
  temporaries are made.

**LSTM gate layout.** The ``4H`` columns of ``Wx``, ``Wh`` and ``b`` are ordered
:data:`GATE_ORDER` = ``(f, g, i, o)`` — forget gate, cell candidate, input gate, output gate —
exactly as the book's ``common/time_layers.py`` slices ``A = x Wx + h Wh + b``, so weights
trained with the book's code work here unchanged. Other layouts (PyTorch's ``i, f, g, o``,
kotoba's version-1 checkpoints) are converted when weights are read or written
(:func:`reorder_gates`), never inside the layers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import njit

from .basic import Dropout
from .embedding import scatter_add_rows

#: Order of the four ``H``-wide column blocks of the LSTM weights: the book's.
GATE_ORDER = ("f", "g", "i", "o")


def reorder_gates(w: np.ndarray, src: Sequence[str], dst: Sequence[str]) -> np.ndarray:
    """Permute the four gate blocks of ``w: (..., 4H)`` along the last axis from ``src`` order
    (e.g. ``("i", "f", "g", "o")``) to ``dst`` order; returns a new C-contiguous array."""
    if sorted(src) != sorted(dst) or len(set(src)) != 4:
        raise ValueError(f"gate orders {tuple(src)} and {tuple(dst)} must name the same four gates")
    if w.shape[-1] % 4:
        raise ValueError(f"LSTM weight of shape {w.shape}: last axis is not 4 * hidden")
    by_gate = dict(zip(src, np.split(w, 4, axis=-1)))
    return np.ascontiguousarray(np.concatenate([by_gate[g] for g in dst], axis=-1))


# ------------------------------------------------------------------------------------------
# Recurrent steps. Only ``h @ Wh`` (and ``da @ Wh.T`` going back) has to run once per step;
# everything that spans all T steps (x @ Wx, dWx, dWh, dxs) is one BLAS call in the layers.
# A small per-step product such as (20, 100) @ (100, 400) is below what a threaded BLAS
# handles well: on a busy 2-core machine OpenBLAS's thread hand-offs made each step ~50x
# slower. So small products run in a compiled loop (j, the output column, innermost over
# contiguous rows, which LLVM vectorises) and only large ones (hidden 650: 34M multiply-adds
# a step, where the compiled loop would re-stream a 7 MB Wh per row) go to BLAS. Gate
# nonlinearities stay in NumPy, whose SIMD tanh is several times faster than scalar libm calls.

#: Per-step products with more multiply-adds than this use BLAS (N * K * M).
_BLAS_MIN_MACS = 4_000_000


@njit(cache=True)
def _matmul_small(h: np.ndarray, W: np.ndarray, out: np.ndarray) -> None:
    """``out = h @ W`` single-threaded; ``h: (N, K)`` any strides, ``W: (K, M)``, ``out: (N, M)`` C."""
    N, K = h.shape
    M = W.shape[1]
    for n in range(N):
        row = out[n]
        row[:] = 0
        for k in range(K):
            hk = h[n, k]
            for j in range(M):
                row[j] += hk * W[k, j]


def _step_matmul(h: np.ndarray, W: np.ndarray, out: np.ndarray) -> None:
    """``out = h @ W`` for one recurrent step (``W`` and ``out`` C-contiguous)."""
    if h.shape[0] * W.size > _BLAS_MIN_MACS:
        np.matmul(h, W, out=out)
    else:
        _matmul_small(h, W, out)


# The LSTM gate maths lives in the three kernels below and nowhere else: TimeLSTM runs them once
# per step, the single-step LSTM runs them on a sequence of length 1. Column blocks of a row of
# ``acts`` (see GATE_ORDER): f = [0, H), g = [H, 2H), i = [2H, 3H), o = [3H, 4H).


@njit(cache=True)
def _lstm_pre(acts: np.ndarray, t: int, hW: np.ndarray) -> None:
    """``acts[:, t] += hW`` (``h @ Wh``), then halve the f, i, o columns: ``sigmoid(x) =
    0.5 tanh(x / 2) + 0.5``, so one ``tanh`` over all ``4H`` columns activates every gate."""
    N, _, H4 = acts.shape
    H = H4 // 4
    for n in range(N):
        row = acts[n, t]  # indexing [n, t] keeps the row a contiguous slice for LLVM
        for j in range(H4):
            row[j] += hW[n, j]
        for j in range(H):
            row[j] *= 0.5
        for j in range(2 * H, H4):
            row[j] *= 0.5


@njit(cache=True)
def _lstm_cell(acts: np.ndarray, t: int, c_prev: np.ndarray, cs: np.ndarray) -> None:
    """After the ``tanh``: finish the sigmoids of f, i, o in place; ``cs[:, t] = f c_prev + g i``."""
    N, _, H4 = acts.shape
    H = H4 // 4
    for n in range(N):
        row = acts[n, t]
        c = cs[n, t]
        for j in range(H):
            row[j] = 0.5 * row[j] + 0.5
        for j in range(2 * H, H4):
            row[j] = 0.5 * row[j] + 0.5
        for j in range(H):
            c[j] = row[j] * c_prev[n, j] + row[H + j] * row[2 * H + j]


@njit(cache=True)
def _lstm_grad_step(
    t: int,
    dhs: np.ndarray,
    acts: np.ndarray,
    cs: np.ndarray,
    tanh_cs: np.ndarray,
    c0: np.ndarray,
    dh: np.ndarray,
    dc: np.ndarray,
    das: np.ndarray,
) -> None:
    """One step back: from ``dh`` (from step t+1) and ``dc`` fill ``das[:, t]`` (pre-activation
    gradients of f, g, i, o) and turn ``dc`` into the gradient of ``c_{t-1}``, in place."""
    N, _, H4 = acts.shape
    H = H4 // 4
    for n in range(N):
        a = acts[n, t]
        da = das[n, t]
        for j in range(H):
            f, g, i, o = a[j], a[H + j], a[2 * H + j], a[3 * H + j]
            tc = tanh_cs[n, t, j]
            cp = cs[n, t - 1, j] if t > 0 else c0[n, j]
            dhj = dhs[n, t, j] + dh[n, j]
            dcj = dc[n, j] + dhj * o * (1 - tc * tc)
            da[j] = dcj * cp * f * (1 - f)  # sigmoid' = s (1 - s)
            da[H + j] = dcj * i * (1 - g * g)  # tanh' = 1 - t^2
            da[2 * H + j] = dcj * g * i * (1 - i)
            da[3 * H + j] = dhj * tc * o * (1 - o)
            dc[n, j] = dcj * f


def _lstm_forward_step(
    acts: np.ndarray,
    t: int,
    h: np.ndarray,
    Wh: np.ndarray,
    hW: np.ndarray,
    c: np.ndarray,
    cs: np.ndarray,
    tanh_cs: np.ndarray,
    hs: np.ndarray,
) -> None:
    """Step ``t`` of the LSTM: ``acts[:, t]`` holds ``x_t @ Wx + b`` and becomes the activated
    gates; fills ``cs[:, t]``, ``tanh_cs[:, t]`` and ``hs[:, t]`` from ``h``, ``c`` (step t-1).
    ``hW: (N, 4H)`` is scratch space."""
    H = Wh.shape[0]
    _step_matmul(h, Wh, hW)
    _lstm_pre(acts, t, hW)
    a = acts[:, t]
    np.tanh(a, out=a)
    _lstm_cell(acts, t, c, cs)
    np.tanh(cs[:, t], out=tanh_cs[:, t])
    np.multiply(a[:, 3 * H :], tanh_cs[:, t], out=hs[:, t])


def _initial_state(kept: np.ndarray | None, N: int, H: int, dtype: np.dtype) -> np.ndarray:
    """The kept state if there is one (it must match the batch), else zeros ``(N, H)``."""
    if kept is None:
        return np.zeros((N, H), dtype=dtype)
    if kept.shape != (N, H):
        raise ValueError(f"kept hidden state has shape {kept.shape}, this batch needs {(N, H)}; call reset_state()")
    return kept


class RNN:
    """One vanilla RNN step: ``h_next = tanh(x @ Wx + h_prev @ Wh + b)``.

    ``Wx: (D, H)``, ``Wh: (H, H)``, ``b: (H,)``; ``x: (N, D)``, ``h_prev: (N, H) -> (N, H)``.
    """

    def __init__(self, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray):
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
        self.cache: tuple | None = None

    def forward(self, x: np.ndarray, h_prev: np.ndarray) -> np.ndarray:
        Wx, Wh, b = self.params
        h_next = np.tanh(x @ Wx + h_prev @ Wh + b)
        self.cache = (x, h_prev, h_next)
        return h_next

    def backward(self, dh_next: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``dh_next: (N, H) -> (dx: (N, D), dh_prev: (N, H))``."""
        Wx, Wh, _ = self.params
        x, h_prev, h_next = self.cache
        dt = dh_next * (1.0 - h_next * h_next)
        self.grads[0][...] = x.T @ dt
        self.grads[1][...] = h_prev.T @ dt
        self.grads[2][...] = dt.sum(axis=0)  # b is broadcast over the batch
        return dt @ Wx.T, dt @ Wh.T


class TimeRNN:
    """``T`` RNN steps at once: ``xs: (N, T, D) -> hs: (N, T, H)``.

    With ``stateful=True`` the last hidden state is kept and used as the next call's initial
    state (truncated BPTT; ``set_state`` replaces it, ``reset_state`` drops it); otherwise
    every call starts from zeros, as in the book.
    After ``backward``, ``dh`` is the gradient with respect to the initial state.
    """

    def __init__(self, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray, stateful: bool = False):
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
        self.stateful = stateful
        self.h: np.ndarray | None = None
        self.dh: np.ndarray | None = None
        self._cache: tuple | None = None

    def set_state(self, h: np.ndarray, c: np.ndarray | None = None) -> None:
        """Use ``h: (N, H)`` as the next initial state (a stateful layer's; ``c`` is ignored)."""
        self.h = np.array(h, dtype=self.params[0].dtype)

    def reset_state(self) -> None:
        self.h = None

    def forward(self, xs: np.ndarray) -> np.ndarray:
        Wx, Wh, b = self.params
        N, T, D = xs.shape
        H = Wh.shape[0]
        h0 = _initial_state(self.h if self.stateful else None, N, H, Wx.dtype)
        # All input projections in one GEMM; each step adds h @ Wh and applies tanh in place.
        hs = (xs.reshape(N * T, D) @ Wx).reshape(N, T, H)
        hs += b
        Wh = np.ascontiguousarray(Wh)
        hW = np.empty((N, H), dtype=hs.dtype)
        h = h0
        for t in range(T):
            _step_matmul(h, Wh, hW)
            h = hs[:, t]
            h += hW
            np.tanh(h, out=h)
        self.h = hs[:, -1].copy()
        self._cache = (xs, h0, hs)
        return hs

    def backward(self, dhs: np.ndarray) -> np.ndarray:
        """``dhs: (N, T, H) -> dxs: (N, T, D)``."""
        Wx, Wh, _ = self.params
        xs, h0, hs = self._cache
        N, T, D = xs.shape
        H = Wh.shape[0]
        dts = np.empty_like(hs)  # gradient w.r.t. the pre-activation of every step
        WhT = np.ascontiguousarray(Wh.T)
        dh = np.zeros((N, H), dtype=hs.dtype)
        for t in reversed(range(T)):
            dt = dts[:, t]
            np.add(dhs[:, t], dh, out=dt)
            ht = hs[:, t]
            dt *= 1.0 - ht * ht  # tanh' = 1 - h^2
            _step_matmul(dt, WhT, dh)  # dh_prev = dt @ Wh.T
        self.dh = dh
        d2 = dts.reshape(N * T, H)
        hprev = np.concatenate([h0[:, None, :], hs[:, :-1]], axis=1).reshape(N * T, H)
        self.grads[0][...] = xs.reshape(N * T, D).T @ d2
        self.grads[1][...] = hprev.T @ d2
        self.grads[2][...] = d2.sum(axis=0)
        return (d2 @ Wx.T).reshape(N, T, D)


class LSTM:
    """One LSTM step, the book's equations with ``A = x @ Wx + h_prev @ Wh + b`` in :data:`GATE_ORDER`::

        f = sigmoid(A[:, :H]), g = tanh(A[:, H:2H]), i = sigmoid(A[:, 2H:3H]), o = sigmoid(A[:, 3H:])
        c_next = f * c_prev + g * i,   h_next = o * tanh(c_next)

    ``Wx: (D, 4H)``, ``Wh: (H, 4H)``, ``b: (4H,)``;
    ``forward(x: (N, D), h_prev: (N, H), c_prev: (N, H)) -> (h_next, c_next)``. It runs
    :class:`TimeLSTM`'s kernels on a sequence of one step, so both share one definition of the maths.
    """

    def __init__(self, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray):
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
        self.cache: tuple | None = None

    def forward(self, x: np.ndarray, h_prev: np.ndarray, c_prev: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        Wx, Wh, b = self.params
        N, H = h_prev.shape
        dtype = Wx.dtype
        acts = (x @ Wx + b).astype(dtype, copy=False).reshape(N, 1, 4 * H)
        h_prev = np.ascontiguousarray(h_prev, dtype=dtype)
        c_prev = np.ascontiguousarray(c_prev, dtype=dtype)
        cs, tanh_cs, hs = (np.empty((N, 1, H), dtype=dtype) for _ in range(3))
        hW = np.empty((N, 4 * H), dtype=dtype)
        _lstm_forward_step(acts, 0, h_prev, np.ascontiguousarray(Wh), hW, c_prev, cs, tanh_cs, hs)
        self.cache = (x, h_prev, c_prev, acts, cs, tanh_cs)
        return hs[:, 0], cs[:, 0]

    def backward(self, dh_next: np.ndarray, dc_next: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(dh_next, dc_next) -> (dx: (N, D), dh_prev: (N, H), dc_prev: (N, H))``."""
        Wx, Wh, _ = self.params
        x, h_prev, c_prev, acts, cs, tanh_cs = self.cache
        N, H = h_prev.shape
        das = np.empty_like(acts)
        dhs = np.ascontiguousarray(dh_next, dtype=acts.dtype).reshape(N, 1, H)
        dc = np.array(dc_next, dtype=acts.dtype)  # becomes dc_prev in place
        _lstm_grad_step(0, dhs, acts, cs, tanh_cs, c_prev, np.zeros_like(dc), dc, das)
        da = das[:, 0]
        self.grads[0][...] = x.T @ da
        self.grads[1][...] = h_prev.T @ da
        self.grads[2][...] = da.sum(axis=0)
        return da @ Wx.T, da @ Wh.T, dc


class TimeLSTM:
    """``T`` :class:`LSTM` steps at once: ``xs: (N, T, D) -> hs: (N, T, H)``; gates in :data:`GATE_ORDER`.

    ``stateful`` keeps ``h`` and ``c`` between calls (truncated BPTT). After ``backward``,
    ``dh`` (and ``dc``) are the gradients with respect to the initial state.
    """

    def __init__(self, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray, stateful: bool = False):
        self.params = [Wx, Wh, b]
        self.grads = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
        self.stateful = stateful
        self.h: np.ndarray | None = None
        self.c: np.ndarray | None = None
        self.dh: np.ndarray | None = None
        self.dc: np.ndarray | None = None
        self._cache: tuple | None = None

    def set_state(self, h: np.ndarray, c: np.ndarray | None = None) -> None:
        """Use ``h`` (and ``c``, zeros if omitted) as a stateful layer's next initial state."""
        dtype = self.params[0].dtype
        self.h = np.array(h, dtype=dtype)
        self.c = np.zeros_like(self.h) if c is None else np.array(c, dtype=dtype)

    def reset_state(self) -> None:
        self.h, self.c = None, None

    def forward(self, xs: np.ndarray) -> np.ndarray:
        Wx, Wh, b = self.params
        N, T, D = xs.shape
        H = Wh.shape[0]
        dtype = Wx.dtype
        h0 = np.ascontiguousarray(_initial_state(self.h if self.stateful else None, N, H, dtype))
        c0 = np.ascontiguousarray(_initial_state(self.c if self.stateful else None, N, H, dtype))
        # Input projections of all steps in one GEMM; each step adds h @ Wh and applies the gates.
        acts = (xs.reshape(N * T, D) @ Wx).reshape(N, T, 4 * H)
        acts += b
        cs = np.empty((N, T, H), dtype=dtype)
        tanh_cs = np.empty((N, T, H), dtype=dtype)
        hs = np.empty((N, T, H), dtype=dtype)
        Wh = np.ascontiguousarray(Wh)
        hW = np.empty((N, 4 * H), dtype=dtype)
        h, c = h0, c0
        for t in range(T):
            _lstm_forward_step(acts, t, h, Wh, hW, c, cs, tanh_cs, hs)
            h, c = hs[:, t], cs[:, t]
        self.h = hs[:, -1].copy()
        self.c = cs[:, -1].copy()
        self._cache = (xs, h0, c0, acts, cs, tanh_cs, hs)
        return hs

    def backward(self, dhs: np.ndarray) -> np.ndarray:
        """``dhs: (N, T, H) -> dxs: (N, T, D)``."""
        Wx, Wh, _ = self.params
        xs, h0, c0, acts, cs, tanh_cs, hs = self._cache
        N, T, D = xs.shape
        H = Wh.shape[0]
        das = np.empty_like(acts)
        dh = np.zeros((N, H), dtype=acts.dtype)  # gradient arriving from step t+1 ...
        dc = np.zeros((N, H), dtype=acts.dtype)
        dhs = np.ascontiguousarray(dhs, dtype=acts.dtype)
        WhT = np.ascontiguousarray(Wh.T)
        for t in reversed(range(T)):
            _lstm_grad_step(t, dhs, acts, cs, tanh_cs, c0, dh, dc, das)
            _step_matmul(das[:, t], WhT, dh)  # ... dh_prev = da @ Wh.T; after t = 0, d loss / d h0
        self.dh, self.dc = dh, dc
        d2 = das.reshape(N * T, 4 * H)
        hprev = np.concatenate([h0[:, None, :], hs[:, :-1]], axis=1).reshape(N * T, H)
        self.grads[0][...] = xs.reshape(N * T, D).T @ d2
        self.grads[1][...] = hprev.T @ d2
        self.grads[2][...] = d2.sum(axis=0)
        return (d2 @ Wx.T).reshape(N, T, D)


class TimeEmbedding:
    """Row lookup over a batch of sequences: ``xs: (N, T) int -> (N, T, D)``; ``W: (V, D)``."""

    def __init__(self, W: np.ndarray):
        self.params = [W]
        self.grads = [np.zeros_like(W)]
        self.idx: np.ndarray | None = None

    def forward(self, xs: np.ndarray) -> np.ndarray:
        self.idx = np.asarray(xs)
        return self.params[0][self.idx]

    def backward(self, dout: np.ndarray) -> None:
        dW = self.grads[0]
        dW[...] = 0
        # a scatter-add (not dW[idx] += dout) so that repeated ids accumulate every occurrence
        rows = self.idx.reshape(-1).astype(np.intp, copy=False)  # flat indices row * D must not overflow
        scatter_add_rows(dW, rows, dout.reshape(-1, dW.shape[1]))
        return None


class TimeAffine:
    """``x: (N, T, D) -> x @ W + b: (N, T, M)``, one GEMM over the ``N*T`` rows.

    ``W`` may be a transposed view (weight tying); it is used as given, never copied.
    """

    def __init__(self, W: np.ndarray, b: np.ndarray):
        self.params = [W, b]
        # zeros_like keeps W's memory layout: a transposed (tied) W gets a transposed gradient
        # buffer, which backward fills with a C-order GEMM and the tying model adds contiguously.
        self.grads = [np.zeros_like(W), np.zeros_like(b)]
        self.x2: np.ndarray | None = None
        self._ones: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        W, b = self.params
        N, T, D = x.shape
        self.x2 = x.reshape(N * T, D)
        out = self.x2 @ W
        out += b
        return out.reshape(N, T, -1)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        W, _ = self.params
        N, T, M = dout.shape
        d2 = dout.reshape(N * T, M)
        dW, db = self.grads
        if dW.flags.c_contiguous:
            np.matmul(self.x2.T, d2, out=dW)
        else:  # dW.T is C-contiguous: compute dW.T = d2.T @ x directly into it
            np.matmul(d2.T, self.x2, out=dW.T)
        # db = ones @ d2: a BLAS GEMV, about twice as fast as d2.sum(axis=0) on (N*T, V)
        if self._ones is None or self._ones.shape[0] != N * T or self._ones.dtype != d2.dtype:
            self._ones = np.ones(N * T, dtype=d2.dtype)
        np.matmul(self._ones, d2, out=db)
        return (d2 @ W.T).reshape(N, T, -1)


class TimeSoftmaxWithLoss:
    """Mean cross-entropy of ``softmax(xs)`` against integer targets.

    ``forward(xs: (N, T, V) scores, ts: (N, T) int) -> float``: the mean of ``-log p[target]``
    over the positions whose target is not ``ignore_label``. Ignored positions are left out of
    the loss, of the gradient (zero rows) *and* of the count that the mean divides by; if every
    target is ignored the loss is 0.

    The gradient ``(softmax - onehot) / n_valid`` is computed during ``forward`` in one reused
    buffer (in-place subtract-max, exp, normalise), so ``backward(dout)`` only scales it. The
    returned array is that buffer: it is valid until the next ``forward``.
    """

    def __init__(self, ignore_label: int = -1):
        self.params: list[np.ndarray] = []
        self.grads: list[np.ndarray] = []
        self.ignore_label = ignore_label
        self._buf: np.ndarray | None = None
        self._ones_v: np.ndarray | None = None
        self._dx: np.ndarray | None = None

    #: Rows per block in forward: 32 rows x 10k words x 4 bytes = 1.3 MB, inside a 2 MB L2.
    _BLOCK_ROWS = 32

    def _ones(self, V: int, dtype: np.dtype) -> np.ndarray:
        if self._ones_v is None or self._ones_v.shape[0] != V or self._ones_v.dtype != dtype:
            self._ones_v = np.ones(V, dtype=dtype)
        return self._ones_v

    def _buffer(self, shape: tuple[int, int], dtype: np.dtype) -> np.ndarray:
        if self._buf is None or self._buf.shape != shape or self._buf.dtype != dtype:
            self._buf = np.empty(shape, dtype=dtype)
        return self._buf

    def forward(self, xs: np.ndarray, ts: np.ndarray) -> float:
        N, T, V = xs.shape
        x2 = xs.reshape(N * T, V)
        t = np.asarray(ts).reshape(N * T)
        valid = t != self.ignore_label
        n = int(valid.sum())
        rows = np.flatnonzero(valid)
        tv = t[rows]
        p = self._buffer((N * T, V), xs.dtype)
        ones = self._ones(V, p.dtype)
        inv_n = 1.0 / max(n, 1)
        keep = valid.astype(p.dtype) * inv_n  # zero on ignored rows
        m = np.empty(N * T, dtype=p.dtype)
        s = np.empty(N * T, dtype=p.dtype)
        # Blocks of rows small enough to stay in L2 through max, subtract, exp, sum and scale.
        for a in range(0, N * T, self._BLOCK_ROWS):
            b = min(a + self._BLOCK_ROWS, N * T)
            xb, pb = x2[a:b], p[a:b]
            m[a:b] = xb.max(axis=1)
            np.subtract(xb, m[a:b, None], out=pb)
            np.exp(pb, out=pb)
            np.matmul(pb, ones, out=s[a:b])  # row sums as a BLAS GEMV: ~2x faster than sum(axis=1)
            # Gradient for dout = 1: (p / s - onehot) / n on valid rows, zero on ignored rows.
            pb *= (keep[a:b] / s[a:b])[:, None]
        # -log softmax[t] = log(sum exp(x - max)) + max - x_t
        nll = np.log(s[rows].astype(np.float64)) + m[rows] - x2[rows, tv]
        loss = float(nll.sum()) * inv_n
        p[rows, tv] -= inv_n
        self._dx = p.reshape(N, T, V)
        return loss

    def backward(self, dout: float = 1) -> np.ndarray:
        if dout == 1:
            return self._dx
        return self._dx * dout


class TimeDropout(Dropout):
    """The book's TimeDropout: inverted dropout on ``xs: (N, T, D)``. Dropout is elementwise, so
    this is :class:`~kotoba.layers.basic.Dropout` as is (``train_flg``, ``rng``, mask in ``mask``)."""
