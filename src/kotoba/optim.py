"""Optimizers and gradient utilities (the book's ``common/optimizer.py`` and ``common/util.py``).

Every optimizer has ``update(params, grads)`` and changes the ``params`` arrays **in place**
(models and layers hold references to them). State (velocities, moments) is kept per position
in ``params``, so pass the same list, in the same order, on every call.

Shared parameters: a model whose layers share one array lists it several times in ``params``
(e.g. CBOW's context Embeddings all hold ``W_in``). Run :func:`merge_shared` first, as the
book's trainer runs ``remove_duplicate``: it returns each array once with the gradients summed.
:class:`SGD` (whose update is linear in the gradient) and :class:`SparseAdam` (which groups
params by identity) are also correct on the unmerged lists.

Row-sparse updates: ``SGD.update`` and ``SparseAdam.update`` take an optional ``row_grads``
list aligned with ``params`` (see :mod:`kotoba.layers.embedding`): where an entry is a
:class:`~kotoba.layers.RowGrad`, only the rows it names are read and written, instead of the
whole ``(V, D)`` matrix. Pass the model's unmerged lists then (``row_grads`` must stay aligned
with ``params``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .layers.embedding import RowGrad, scatter_add_rows, sum_rows

__all__ = [
    "SGD",
    "Momentum",
    "Nesterov",
    "AdaGrad",
    "RMSprop",
    "Adam",
    "SparseAdam",
    "clip_grads",
    "merge_shared",
]

# The book's constant, added to sqrt(h) / sqrt(v) to avoid dividing by zero.
EPS = 1e-7


def _row_grad(row_grads: Sequence[RowGrad | None] | None, i: int) -> RowGrad | None:
    if row_grads is None:
        return None
    rg = row_grads[i]
    return rg if rg is not None and rg.rows is not None else None


class SGD:
    """Plain stochastic gradient descent: ``p -= lr * g``.

    With ``row_grads``, a param that has a :class:`~kotoba.layers.RowGrad` gets
    ``p[rows[i]] -= lr * values[i]`` (repeats accumulate) and its dense grad is not read.
    The same array may appear several times in ``params``: each of its gradients is applied,
    which for this linear update equals one step on their sum.
    """

    def __init__(self, lr: float = 0.01) -> None:
        self.lr = lr

    def update(
        self,
        params: Sequence[np.ndarray],
        grads: Sequence[np.ndarray],
        row_grads: Sequence[RowGrad | None] | None = None,
    ) -> None:
        for i, p in enumerate(params):
            rg = _row_grad(row_grads, i)
            if rg is None:
                p -= self.lr * grads[i]
            elif rg.unique:
                p[rg.rows] -= self.lr * rg.values
            else:
                scatter_add_rows(p, rg.rows, (-self.lr) * rg.values)


class Momentum:
    """SGD with momentum: ``v = momentum·v − lr·g; p += v``."""

    def __init__(self, lr: float = 0.01, momentum: float = 0.9) -> None:
        self.lr = lr
        self.momentum = momentum
        self.v: list[np.ndarray] | None = None

    def update(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        if self.v is None:
            self.v = [np.zeros_like(p) for p in params]
        for p, g, v in zip(params, grads, self.v):
            v *= self.momentum
            v -= self.lr * g
            p += v


class Nesterov:
    """Nesterov accelerated gradient in the book's form (Sutskever et al. reparametrised so the
    stored parameters are the look-ahead point): ``v = μv − lr·g; p += μ²v − (1+μ)·lr·g``."""

    def __init__(self, lr: float = 0.01, momentum: float = 0.9) -> None:
        self.lr = lr
        self.momentum = momentum
        self.v: list[np.ndarray] | None = None

    def update(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        if self.v is None:
            self.v = [np.zeros_like(p) for p in params]
        mu = self.momentum
        for p, g, v in zip(params, grads, self.v):
            v *= mu
            v -= self.lr * g
            p += mu * mu * v
            p -= (1 + mu) * self.lr * g


class AdaGrad:
    """AdaGrad: ``h += g²; p −= lr·g / (√h + 1e-7)``."""

    def __init__(self, lr: float = 0.01) -> None:
        self.lr = lr
        self.h: list[np.ndarray] | None = None

    def update(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        if self.h is None:
            self.h = [np.zeros_like(p) for p in params]
        for p, g, h in zip(params, grads, self.h):
            h += g * g
            p -= self.lr * g / (np.sqrt(h) + EPS)


class RMSprop:
    """RMSprop: ``h = ρh + (1−ρ)g²; p −= lr·g / (√h + 1e-7)`` with ``ρ = decay_rate``."""

    def __init__(self, lr: float = 0.01, decay_rate: float = 0.99) -> None:
        self.lr = lr
        self.decay_rate = decay_rate
        self.h: list[np.ndarray] | None = None

    def update(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        if self.h is None:
            self.h = [np.zeros_like(p) for p in params]
        for p, g, h in zip(params, grads, self.h):
            h *= self.decay_rate
            h += (1 - self.decay_rate) * g * g
            p -= self.lr * g / (np.sqrt(h) + EPS)


class Adam:
    """Adam (Kingma & Ba) in the book's form: with ``t`` the number of updates so far,
    ``m += (1−β1)(g − m); v += (1−β2)(g² − v);
    p −= lr·√(1−β2ᵗ)/(1−β1ᵗ) · m / (√v + 1e-7)``."""

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999) -> None:
        self.lr = lr
        self.beta1 = beta1
        self.beta2 = beta2
        self.iter = 0
        self.m: list[np.ndarray] | None = None
        self.v: list[np.ndarray] | None = None

    def update(self, params: Sequence[np.ndarray], grads: Sequence[np.ndarray]) -> None:
        if self.m is None:
            self.m = [np.zeros_like(p) for p in params]
            self.v = [np.zeros_like(p) for p in params]
        self.iter += 1
        lr_t = float(
            self.lr * np.sqrt(1.0 - self.beta2**self.iter) / (1.0 - self.beta1**self.iter)
        )  # float: keeps float32 arrays float32
        for p, g, m, v in zip(params, grads, self.m, self.v):
            m += (1 - self.beta1) * (g - m)
            v += (1 - self.beta2) * (g * g - v)
            p -= lr_t * m / (np.sqrt(v) + EPS)


class SparseAdam:
    """ "Lazy" Adam for embedding matrices, like PyTorch's ``SparseAdam``.

    Each step touches only the rows (indices along the first axis) that got gradient: for
    those rows the moments and the parameter are updated with exactly :class:`Adam`'s formula;
    every other row keeps its parameter *and its moments* unchanged (dense Adam would decay
    the moments and keep moving the row). So a row hit on every step follows dense Adam
    exactly, while a step costs ``O(rows touched · D)`` instead of ``O(V · D)``.

    Which rows are touched: from ``row_grads[i]`` when given (no dense read at all), otherwise
    the rows of ``grads[i]`` that are not entirely zero (for a 1-D param, its non-zero
    entries). The bias-correction step count ``t`` is per parameter and counts the updates in
    which that parameter had any touched row (PyTorch does the same).

    The same array may appear several times in ``params`` (unmerged shared weights): its
    gradients are summed before the update, so :func:`merge_shared` is not needed.
    """

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999) -> None:
        self.lr = lr
        self.beta1 = beta1
        self.beta2 = beta2
        # Keyed by the position of each array's first occurrence in params.
        self.m: dict[int, np.ndarray] = {}
        self.v: dict[int, np.ndarray] = {}
        self.step: dict[int, int] = {}

    def update(
        self,
        params: Sequence[np.ndarray],
        grads: Sequence[np.ndarray],
        row_grads: Sequence[RowGrad | None] | None = None,
    ) -> None:
        groups: dict[int, list[int]] = {}
        for i, p in enumerate(params):
            groups.setdefault(id(p), []).append(i)
        for members in groups.values():
            first = members[0]
            p = params[first]
            rows_list, values_list = [], []
            already_unique = len(members) == 1
            for i in members:
                rg = _row_grad(row_grads, i)
                if rg is not None:
                    already_unique = already_unique and rg.unique
                    rows = np.asarray(rg.rows).reshape(-1)
                    values = rg.values.reshape(rows.size, -1)
                else:
                    g = grads[i].reshape(p.shape[0], -1)
                    rows = np.flatnonzero(np.any(g != 0, axis=1))
                    values = g[rows]
                rows_list.append(rows)
                values_list.append(values)
            if already_unique:  # one member whose rows cannot repeat (a dense grad's never do)
                rows, g_rows = rows_list[0], values_list[0]
            else:
                rows, g_rows = sum_rows(np.concatenate(rows_list), np.concatenate(values_list))
            if rows.size:
                self._update_rows(first, p, rows, g_rows.reshape((rows.size,) + p.shape[1:]))

    def _update_rows(self, key: int, p: np.ndarray, rows: np.ndarray, g: np.ndarray) -> None:
        """Adam on ``p[rows]`` with the summed gradient ``g: (len(rows),) + p.shape[1:]``."""
        if key not in self.m:
            self.m[key] = np.zeros_like(p)
            self.v[key] = np.zeros_like(p)
            self.step[key] = 0
        self.step[key] += 1
        t = self.step[key]
        lr_t = float(
            self.lr * np.sqrt(1.0 - self.beta2**t) / (1.0 - self.beta1**t)
        )  # float: keeps float32 arrays float32
        g = g.astype(p.dtype, copy=False)
        m = self.m[key][rows]
        v = self.v[key][rows]
        # In place with one scratch array: these rows are the whole cost of a word2vec step.
        tmp = g - m
        tmp *= 1 - self.beta1
        m += tmp
        np.multiply(g, g, out=tmp)
        tmp -= v
        tmp *= 1 - self.beta2
        v += tmp
        self.m[key][rows] = m
        self.v[key][rows] = v
        np.sqrt(v, out=tmp)
        tmp += EPS
        np.divide(m, tmp, out=tmp)
        tmp *= lr_t
        p[rows] -= tmp


def clip_grads(grads: Sequence[np.ndarray], max_norm: float) -> float:
    """Scale all ``grads`` in place by one factor so that their global L2 norm is at most
    ``max_norm`` (the book's ``clip_grads``); returns the norm before clipping.

    An array listed twice counts once. Only the dense ``grads`` are scaled, not ``row_grads``.
    """
    unique = list({id(g): g for g in grads}.values())
    # a dot product per array (BLAS, no squared temporary); float32 accumulation is plenty for a clip
    total = float(np.sqrt(sum(float(np.vdot(g.ravel(), g.ravel())) for g in unique)))
    rate = max_norm / (total + 1e-6)
    if rate < 1:
        for g in unique:
            g *= rate
    return total


def _layout(a: np.ndarray) -> tuple:
    """What makes two arrays the same elements in the same order: data address, shape, strides."""
    return (a.__array_interface__["data"][0], a.shape, a.strides, a.dtype.str)


def merge_shared(
    params: Sequence[np.ndarray], grads: Sequence[np.ndarray], compare_values: bool = True
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Each shared parameter once, with its gradients summed (the book's ``remove_duplicate``).

    Params ``j > i`` merge into the earlier ``i`` when

    * they are the same array (the same object, or a view with the same memory, shape and
      strides): ``g_i + g_j``;
    * they are weight-tied transposes — ``p_j`` is a ``p_i.T`` view of the same memory, or
      (``compare_values=True``, the book's test) 2-D with ``p_j.shape == p_i.T.shape`` and
      equal values: ``g_i + g_j.T``. The value test cannot tell tied weights from two
      independent matrices that happen to be equal (e.g. both still all zeros); pass
      ``compare_values=False`` to merge views only.

    Returns new lists, in first-occurrence order. Unlike the book, the layers' own ``grads``
    arrays are never modified: a merged gradient is a new array (layers such as
    :class:`~kotoba.layers.Embedding` rely on nobody adding into their ``grads``).
    """
    if len(params) != len(grads):
        raise ValueError(f"{len(params)} params but {len(grads)} grads")
    out_params: list[np.ndarray] = []
    out_grads: list[np.ndarray] = []
    owned: list[bool] = []  # whether out_grads[k] is our own new array (safe to add into)
    first_at: dict[tuple, int] = {}  # layout of a kept param -> its output index
    for p, g in zip(params, grads):
        k, transposed = first_at.get(_layout(p)), False
        if k is None and p.ndim == 2:
            k, transposed = first_at.get(_layout(p.T)), True
            if k is None and compare_values:
                k = next(
                    (
                        j
                        for j, q in enumerate(out_params)
                        if q.ndim == 2 and q.shape == p.shape[::-1] and np.array_equal(q.T, p)
                    ),
                    None,
                )
        if k is None:
            first_at[_layout(p)] = len(out_params)
            out_params.append(p)
            out_grads.append(g)
            owned.append(False)
            continue
        if not owned[k]:
            out_grads[k] = out_grads[k].copy()
            owned[k] = True
        out_grads[k] += g.T if transposed else g
    return out_params, out_grads
