"""Numba start-up for processes that run only kotoba's kernels (the ``kotoba`` command).

The first time a process loads or compiles a Numba function, Numba sets up its CPU target and,
to support ``np.dot`` / ``np.linalg`` inside jitted code, probes for SciPy's BLAS by importing
``scipy.linalg.cython_blas`` -- which imports all of ``scipy.linalg``: 0.1-0.3 s on the
development machine, a third of kotoba's start-up on a small corpus, and up to 2 s under load
(BENCHMARKS.md). kotoba's kernels use no BLAS. :func:`start_numba` sets the target up with that
probe failing, so the process skips the import.

This is for the CLI, never for library users: afterwards *any* Numba function in the process that
calls ``np.dot`` or ``np.linalg`` fails to compile (Numba says SciPy is required), so importing
kotoba as a library changes nothing about Numba.
"""

from __future__ import annotations

import sys

_PROBE = "scipy.linalg.cython_blas"


def start_numba() -> None:
    """Set up Numba's CPU target without its SciPy BLAS probe (see the module docstring).

    Does nothing when SciPy's linear algebra is already imported (the probe is then free) or
    when Numba's target was already set up in this process.
    """
    if "scipy.linalg" in sys.modules:
        return
    import numpy as np

    from .word2vec.kernels import seed_state

    sys.modules[_PROBE] = None  # type: ignore[assignment]  # None in sys.modules: that import fails
    try:
        seed_state(np.uint64(1))  # the first cached function loaded sets the target up
    finally:
        del sys.modules[_PROBE]
