"""kotoba.jit: the CLI's Numba start-up without SciPy's BLAS probe, and the collector turned back on."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("scipy")


def _python(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_train_command_skips_the_scipy_import_and_leaves_scipy_usable(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text("the cat sat on the mat\n" * 50, encoding="utf-8")
    printed = _python(f"""
        import gc, sys
        gc.disable()  # as python -m kotoba starts
        from kotoba.cli import main
        assert main(["train", {str(corpus)!r}, "-o", {str(tmp_path / "v.bin")!r}, "--min-count", "1",
                     "--epochs", "1", "--threads", "1", "--quiet"]) == 0
        print("scipy.linalg" in sys.modules, gc.isenabled())
        import scipy.linalg  # SciPy itself still imports afterwards
        print(scipy.linalg.norm([3.0, 4.0]))
    """)
    assert printed.splitlines() == ["False True", "5.0"]


def test_library_use_keeps_numba_blas():
    # importing and running kotoba as a library changes nothing about Numba: np.dot still compiles
    printed = _python("""
        import numpy as np
        from numba import njit
        from kotoba.word2vec.kernels import seed_state
        seed_state(np.uint64(1))
        print(njit(lambda a: np.dot(a, a))(np.ones(3)))
    """)
    assert printed == "3.0"


def test_start_numba_is_a_no_op_once_scipy_linalg_is_loaded():
    printed = _python("""
        import sys
        import scipy.linalg
        from kotoba.jit import start_numba
        start_numba()
        print(sys.modules["scipy.linalg.cython_blas"] is not None)
    """)
    assert printed == "True"
