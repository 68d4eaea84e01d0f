"""Gradient checks (float64, central differences) and behaviour tests for kotoba.layers.basic."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from kotoba.gradcheck import check_gradients
from kotoba.layers import (
    Affine,
    Dropout,
    MatMul,
    Sigmoid,
    SigmoidWithLoss,
    Softmax,
    SoftmaxWithLoss,
    cross_entropy_error,
    sigmoid,
    softmax,
)

TOL = 1e-5


def check_layer(layer, x: np.ndarray, rng: np.random.Generator) -> list[float]:
    """Gradcheck ``sum(C * layer.forward(x))`` w.r.t. ``x`` and every param, C fixed random."""
    C = rng.standard_normal(layer.forward(x).shape)

    def loss() -> float:
        return float(np.sum(C * layer.forward(x)))

    def analytic() -> list[np.ndarray]:
        layer.forward(x)
        dx = layer.backward(C)
        return [dx, *layer.grads]

    return check_gradients(loss, [x, *layer.params], analytic)


def test_matmul_gradients(rng):
    layer = MatMul(rng.standard_normal((4, 3)))
    assert max(check_layer(layer, rng.standard_normal((5, 4)), rng)) < TOL


def test_matmul_accepts_3d_input(rng):
    layer = MatMul(rng.standard_normal((4, 3)))
    assert max(check_layer(layer, rng.standard_normal((2, 5, 4)), rng)) < TOL


def test_affine_gradients(rng):
    layer = Affine(rng.standard_normal((4, 3)), rng.standard_normal(3))
    assert max(check_layer(layer, rng.standard_normal((6, 4)), rng)) < TOL


def test_affine_shares_weights_not_copies(rng):
    W, b = rng.standard_normal((4, 3)), np.zeros(3)
    a1, a2 = Affine(W, b), Affine(W, b)
    assert a1.params[0] is W and a2.params[0] is W
    W[0, 0] = 42.0
    assert a1.forward(np.eye(4))[0, 0] == 42.0


def test_sigmoid_gradients(rng):
    assert max(check_layer(Sigmoid(), rng.standard_normal((3, 4)), rng)) < TOL


def test_softmax_gradients(rng):
    assert max(check_layer(Softmax(), rng.standard_normal((3, 5)), rng)) < TOL


def test_sigmoid_and_softmax_are_stable():
    x = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = sigmoid(x)
        p = softmax(np.array([[1000.0, 1000.0, -1000.0], [0.0, 0.0, 0.0]]))
    np.testing.assert_allclose(s, [0.0, 1 / (1 + np.exp(30)), 0.5, 1 / (1 + np.exp(-30)), 1.0], rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(p, [[0.5, 0.5, 0.0], [1 / 3, 1 / 3, 1 / 3]], atol=1e-12)


def test_float32_is_kept(rng):
    W = rng.standard_normal((4, 3)).astype(np.float32)
    layer = Affine(W, np.zeros(3, np.float32))
    y = layer.forward(rng.standard_normal((2, 4)).astype(np.float32))
    layer.backward(np.ones_like(y))
    assert y.dtype == np.float32 and layer.grads[0].dtype == np.float32
    assert sigmoid(np.zeros(2, np.float32)).dtype == np.float32
    assert softmax(np.zeros((2, 3), np.float32)).dtype == np.float32


@pytest.mark.parametrize("shape", [(6,), (4, 3)])
def test_sigmoid_with_loss_gradients(rng, shape):
    x = rng.standard_normal(shape) * 3
    t = (rng.random(shape) < 0.5).astype(np.float64)
    layer = SigmoidWithLoss()

    def analytic():
        layer.forward(x, t)
        return [layer.backward()]

    assert check_gradients(lambda: layer.forward(x, t), [x], analytic)[0] < TOL


def test_sigmoid_with_loss_value_matches_book_definition(rng):
    x = rng.standard_normal(8)
    t = (rng.random(8) < 0.5).astype(np.float64)
    y = 1 / (1 + np.exp(-x))
    expected = -np.mean(t * np.log(y) + (1 - t) * np.log(1 - y))
    assert SigmoidWithLoss().forward(x, t) == pytest.approx(expected, rel=1e-12)
    # Huge logits: the book's version hits log(0 + 1e-7); this one stays exact and finite.
    assert SigmoidWithLoss().forward(np.array([-800.0]), np.array([1.0])) == pytest.approx(800.0)


def test_sigmoid_with_loss_rejects_mismatched_labels():
    with pytest.raises(ValueError, match="do not match"):
        SigmoidWithLoss().forward(np.zeros(3), np.zeros(4))


@pytest.mark.parametrize("one_hot", [False, True])
def test_softmax_with_loss_gradients(rng, one_hot):
    x = rng.standard_normal((5, 4))
    ids = rng.integers(0, 4, 5)
    t = np.eye(4)[ids] if one_hot else ids
    layer = SoftmaxWithLoss()

    def analytic():
        layer.forward(x, t)
        return [layer.backward()]

    assert check_gradients(lambda: layer.forward(x, t), [x], analytic)[0] < TOL
    # ids and one-hot give the same loss and that loss is the mean cross-entropy
    y = softmax(x)
    assert layer.forward(x, t) == pytest.approx(-np.mean(np.log(y[np.arange(5), ids])), rel=1e-12)


def test_softmax_with_loss_extreme_logits_are_finite():
    layer = SoftmaxWithLoss()
    loss = layer.forward(np.array([[0.0, 2000.0]]), np.array([0]))
    assert loss == pytest.approx(2000.0)
    np.testing.assert_allclose(layer.backward(), [[-1.0, 1.0]])


def test_softmax_with_loss_rejects_bad_labels():
    with pytest.raises(ValueError, match="fit neither"):
        SoftmaxWithLoss().forward(np.zeros((3, 4)), np.zeros((3, 5)))


def test_cross_entropy_error_matches_book(rng):
    y = softmax(rng.standard_normal((3, 4)))
    t = np.array([0, 3, 1])
    expected = -np.sum(np.log(y[np.arange(3), t] + 1e-7)) / 3
    assert cross_entropy_error(y, t) == pytest.approx(expected)
    assert cross_entropy_error(y, np.eye(4)[t]) == pytest.approx(expected)
    assert cross_entropy_error(y[1], 3) == pytest.approx(-np.log(y[1, 3] + 1e-7))


def test_dropout_gradients_with_fixed_mask(rng):
    x = rng.standard_normal((4, 6))
    layer = Dropout(0.3)

    def fwd():
        layer.rng = np.random.default_rng(7)  # the same mask on every call
        return layer.forward(x)

    C = rng.standard_normal(x.shape)

    def analytic():
        fwd()
        return [layer.backward(C)]

    assert check_gradients(lambda: float(np.sum(C * fwd())), [x], analytic)[0] < TOL


def test_dropout_is_inverted_and_identity_at_inference():
    x = np.ones((200, 500), np.float32)
    layer = Dropout(0.4, rng=np.random.default_rng(0))
    y = layer.forward(x)
    assert y.dtype == np.float32
    kept = y != 0
    assert abs(kept.mean() - 0.6) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.6, rtol=1e-6)  # scaled at train time
    assert abs(y.mean() - 1.0) < 0.02
    layer.train_flg = False
    assert layer.forward(x) is x
    assert layer.backward(x) is x
    assert layer.forward(x, train_flg=True).min() == 0.0  # per-call override as in the book


def test_dropout_seeded_masks_repeat():
    x = np.ones((3, 8))
    a = Dropout(0.5, rng=np.random.default_rng(3)).forward(x)
    b = Dropout(0.5, rng=np.random.default_rng(3)).forward(x)
    np.testing.assert_array_equal(a, b)


def test_dropout_rejects_bad_ratio():
    with pytest.raises(ValueError):
        Dropout(1.0)
