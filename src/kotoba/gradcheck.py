"""Numerical gradient checking (central differences, float64).

Every reference layer is tested with these: perturb one element of an input or parameter by
``±eps``, re-run the forward pass, and compare ``(f(x+eps) - f(x-eps)) / 2eps`` with the
analytic gradient from ``backward``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of the scalar ``f()`` with respect to ``x`` (modified in place
    and restored). ``x`` should be float64 so that ``eps`` is meaningful."""
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i].copy()
        x[i] = old + eps
        fp = float(f())
        x[i] = old - eps
        fm = float(f())
        x[i] = old
        grad[i] = (fp - fm) / (2 * eps)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """``‖a − b‖ / max(‖a‖ + ‖b‖, 1e-12)``: robust to tiny gradients, 0 when both are 0."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    denom = max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12)
    return float(np.linalg.norm(a - b) / denom)


def check_gradients(
    loss: Callable[[], float],
    arrays: list[np.ndarray],
    analytic: Callable[[], list[np.ndarray]],
    eps: float = 1e-6,
) -> list[float]:
    """Relative error between numerical and analytic gradients for each array.

    ``loss()`` runs forward and returns a scalar; ``analytic()`` runs forward + backward on
    the current values and returns the gradients in the same order as ``arrays``.
    """
    grads = [np.array(g, dtype=np.float64) for g in analytic()]
    return [relative_error(numerical_gradient(loss, x, eps), g) for x, g in zip(arrays, grads)]
