"""Optimizers, clip_grads and merge_shared."""

from __future__ import annotations

import numpy as np
import pytest

from kotoba.layers import Embedding, RowGrad
from kotoba.optim import SGD, AdaGrad, Adam, Momentum, Nesterov, RMSprop, SparseAdam, clip_grads, merge_shared

OPTIMIZERS = [
    lambda: SGD(lr=0.1),
    lambda: Momentum(lr=0.05),
    lambda: Nesterov(lr=0.05),
    lambda: AdaGrad(lr=0.5),
    lambda: RMSprop(lr=0.05),
    lambda: Adam(lr=0.1),
    lambda: SparseAdam(lr=0.1),
]


@pytest.mark.parametrize("make", OPTIMIZERS)
def test_optimizer_minimises_quadratic_in_place(make):
    """f(W, b) = ½‖A⊙(W − W*)‖² + ½‖b − b*‖²: every optimizer should get close to the minimum."""
    rng = np.random.default_rng(0)
    W_star, b_star = rng.standard_normal((4, 3)), rng.standard_normal(3)
    A = rng.uniform(0.5, 2.0, size=(4, 3))
    W, b = np.zeros((4, 3)), np.zeros(3)
    params = [W, b]
    opt = make()

    def f():
        return 0.5 * np.sum((A * (W - W_star)) ** 2) + 0.5 * np.sum((b - b_star) ** 2)

    start = f()
    for _ in range(300):
        grads = [A * A * (W - W_star), b - b_star]
        opt.update(params, grads)
    assert params[0] is W and params[1] is b  # updated in place, same objects
    assert f() < 1e-2 * start


def test_sgd_step_is_exact():
    p = np.array([1.0, 2.0])
    SGD(lr=0.5).update([p], [np.array([2.0, -2.0])])
    np.testing.assert_array_equal(p, [0.0, 3.0])


def test_adam_first_step_matches_book_formula():
    p = np.array([1.0, -1.0])
    g = np.array([0.5, -2.0])
    Adam(lr=0.01).update([p], [g])
    # t = 1: m = 0.1 g, v = 0.001 g², lr_t = lr·√0.001/0.1  =>  step ≈ lr·sign(g)
    lr_t = 0.01 * np.sqrt(1 - 0.999) / (1 - 0.9)
    expected = np.array([1.0, -1.0]) - lr_t * 0.1 * g / (np.sqrt(0.001 * g * g) + 1e-7)
    np.testing.assert_allclose(p, expected)


def test_sparse_adam_equals_adam_on_rows_touched_every_step(rng):
    W0 = rng.standard_normal((6, 3))
    W_dense, W_lazy = W0.copy(), W0.copy()
    dense, lazy = Adam(lr=0.05), SparseAdam(lr=0.05)
    always = np.array([1, 4])
    for _ in range(20):
        rows = np.concatenate((always, rng.integers(0, 6, size=2)))
        values = rng.standard_normal((4, 3))
        g = RowGrad(rows, values).to_dense(W0.shape)
        dense.update([W_dense], [g])
        lazy.update([W_lazy], [np.zeros_like(g)], row_grads=[RowGrad(rows, values)])
    np.testing.assert_allclose(W_lazy[always], W_dense[always], rtol=1e-12)


def test_sparse_adam_leaves_untouched_rows_and_moments_alone(rng):
    W = rng.standard_normal((5, 2))
    W0 = W.copy()
    opt = SparseAdam(lr=0.1)
    g = np.zeros_like(W)
    g[2] = [1.0, -1.0]
    opt.update([W], [g])  # dense grad: touched rows found from the non-zero rows
    np.testing.assert_array_equal(np.flatnonzero(np.any(W != W0, axis=1)), [2])
    m_row2 = opt.m[0][2].copy()
    g[:] = 0
    g[0] = 1.0
    opt.update([W], [g])
    np.testing.assert_array_equal(opt.m[0][2], m_row2)  # not decayed while untouched


def test_sparse_optimizers_handle_unmerged_shared_weights(rng):
    """Two Embeddings share W; SGD and SparseAdam on the raw lists (with row grads) must equal
    the dense updates on the merged gradient."""
    W = rng.standard_normal((8, 3))
    e1, e2 = Embedding(W), Embedding(W)
    e1.forward(np.array([1, 2, 2]))
    e2.forward(np.array([2, 7, 1]))
    e1.backward(rng.standard_normal((3, 3)))
    e2.backward(rng.standard_normal((3, 3)))
    params, grads = e1.params + e2.params, e1.grads + e2.grads
    row_grads = e1.row_grads + e2.row_grads
    merged_p, merged_g = merge_shared(params, grads)
    assert len(merged_p) == 1 and merged_p[0] is W
    for dense_opt, sparse_opt in ((SGD(0.1), SGD(0.1)), (Adam(0.1), SparseAdam(0.1))):
        W_ref = W.copy()
        dense_opt.update([W_ref], [merged_g[0]])
        before = W.copy()
        sparse_opt.update(params, grads, row_grads=row_grads)
        np.testing.assert_allclose(W, W_ref, rtol=1e-12, atol=1e-15)
        W[...] = before  # same start for the next pair
    # merge_shared must not have written into the layers' own grads
    np.testing.assert_allclose(e1.grads[0] + e2.grads[0], merged_g[0])


def test_sgd_row_grads_float32():
    W = np.ones((4, 2), np.float32)
    SGD(lr=0.5).update([W], [np.zeros_like(W)], row_grads=[RowGrad(np.array([3, 3]), np.ones((2, 2), np.float32))])
    assert W.dtype == np.float32
    np.testing.assert_array_equal(W[:, 0], [1, 1, 1, 0])


def test_clip_grads_in_place():
    g1, g2 = np.array([3.0, 0.0]), np.array([[0.0], [4.0]])
    norm = clip_grads([g1, g2], max_norm=1.0)
    assert norm == pytest.approx(5.0)
    total = np.sqrt(np.sum(g1**2) + np.sum(g2**2))
    assert total == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(g1, [0.6, 0.0], rtol=1e-5)
    small = np.array([0.1, 0.1])
    clip_grads([small], max_norm=1.0)
    np.testing.assert_array_equal(small, [0.1, 0.1])  # under the limit: untouched
    twice = np.array([3.0, 4.0])
    assert clip_grads([twice, twice], 1.0) == pytest.approx(5.0)  # listed twice, counted once
    np.testing.assert_allclose(twice, [0.6, 0.8], rtol=1e-5)


def test_merge_shared_same_object_and_transposed_view(rng):
    W = rng.standard_normal((4, 3))
    b = rng.standard_normal(3)
    gW1, gW2 = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    gWT, gb = rng.standard_normal((3, 4)), rng.standard_normal(3)
    params = [W, b, W, W.T]
    grads = [gW1, gb, gW2, gWT]
    p, g = merge_shared(params, grads)
    assert len(p) == 2 and p[0] is W and p[1] is b
    np.testing.assert_allclose(g[0], gW1 + gW2 + gWT.T)
    assert g[1] is gb
    np.testing.assert_array_equal(gW1, grads[0])  # inputs untouched (sum went to a new array)


def test_merge_shared_equal_values_book_check(rng):
    W = rng.standard_normal((4, 3))
    W_copy_T = W.T.copy()  # not the same memory: only the book's value test can tie it
    g1, g2 = rng.standard_normal((4, 3)), rng.standard_normal((3, 4))
    p, g = merge_shared([W, W_copy_T], [g1, g2])
    assert len(p) == 1
    np.testing.assert_allclose(g[0], g1 + g2.T)
    p, g = merge_shared([W, W_copy_T], [g1, g2], compare_values=False)
    assert len(p) == 2


def test_merge_shared_keeps_distinct_params(rng):
    A, B = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))
    p, g = merge_shared([A, B], [np.ones((3, 3)), np.zeros((3, 3))])
    assert p[0] is A and p[1] is B and len(g) == 2
    with pytest.raises(ValueError):
        merge_shared([A], [])
