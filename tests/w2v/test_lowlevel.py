"""The kernels' two intrinsics: a borrowed array is the same memory without a reference count, a
prefetch changes nothing and is really emitted."""

from __future__ import annotations

import platform

import numpy as np
import pytest
from numba import njit
from numba.core.errors import TypingError

from kotoba.word2vec.bundles import Weights
from kotoba.word2vec.lowlevel import borrow, prefetch_row


@njit
def _fill_borrowed(a, value):
    b = borrow(a)
    b[1, 2] = value
    return b.shape[0], b.shape[1], b[0, 0], b.strides[0]


def test_borrowed_array_is_the_same_memory():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert _fill_borrowed(a, 99.0) == (3, 4, 0.0, 16)
    assert a[1, 2] == 99.0  # written through to the original


@njit
def _sum_weights(w, scale):
    b = borrow((w, scale))
    w2, s = b
    w2.syn1[0, 0] += s
    return w2.syn0.sum() + w2.syn1neg.sum() + s


def test_borrow_goes_through_nested_tuples_and_namedtuples():
    w = Weights(np.ones((2, 2), np.float32), np.full((2, 2), 2, np.float32), np.zeros((1, 2), np.float32))
    assert _sum_weights(w, 0.5) == pytest.approx(4 + 8 + 0.5)
    assert w.syn1[0, 0] == 0.5


def test_borrow_refuses_what_holds_other_references():
    @njit
    def borrow_list(items):
        return borrow(items)

    with pytest.raises(TypingError):
        borrow_list([np.zeros(2)])


@njit
def _prefetch_all(m):
    s = 0.0
    for r in range(m.shape[0]):
        prefetch_row(m, r)
        s += m[r, m.shape[1] - 1]
    return s


def test_prefetch_changes_nothing_and_is_emitted():
    m = np.random.default_rng(0).random((7, 13)).astype(np.float32)  # rows not on cache-line bounds
    before = m.copy()
    assert _prefetch_all(m) == pytest.approx(float(m[:, -1].sum()), rel=1e-6)
    np.testing.assert_array_equal(m, before)
    if platform.machine() in ("x86_64", "AMD64"):
        assert "prefetcht0" in _prefetch_all.inspect_asm(_prefetch_all.signatures[0])
