"""Gradient checks (float64, central differences) and behaviour of the Time layers."""

from __future__ import annotations

import numpy as np
import pytest

from kotoba.gradcheck import check_gradients, numerical_gradient, relative_error
from kotoba.layers.time import (
    GATE_ORDER,
    LSTM,
    RNN,
    TimeAffine,
    TimeDropout,
    TimeEmbedding,
    TimeLSTM,
    TimeRNN,
    TimeSoftmaxWithLoss,
    reorder_gates,
)

TOL = 1e-5
N, T, D, H = 3, 4, 5, 4


def randn(rng, *shape, scale=0.5):
    return rng.standard_normal(shape) * scale


def check_layer(forward, backward, inputs, params, grads_of_params, rng, out_shape):
    """Check d(sum(out * G))/d(inputs and params) for a layer with array output."""
    G = rng.standard_normal(out_shape)

    def loss():
        return float(np.sum(forward() * G))

    def analytic():
        forward()
        dins = backward(G)
        return list(dins) + [g.copy() for g in grads_of_params()]

    errs = check_gradients(loss, list(inputs) + list(params), analytic)
    assert max(errs) < TOL, errs


def book_lstm(xs, Wx, Wh, b, h, c):
    """The book's LSTM equations, written out independently of kotoba's kernels (float64):
    ``xs: (N, T, D) -> hs: (N, T, H), h, c``."""
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
    H = Wh.shape[0]
    hs = []
    for t in range(xs.shape[1]):
        A = xs[:, t] @ Wx + h @ Wh + b
        f, g, i, o = sig(A[:, :H]), np.tanh(A[:, H : 2 * H]), sig(A[:, 2 * H : 3 * H]), sig(A[:, 3 * H :])
        c = f * c + g * i
        h = o * np.tanh(c)
        hs.append(h)
    return np.stack(hs, axis=1), h, c


def test_gate_order_is_the_books():
    assert GATE_ORDER == ("f", "g", "i", "o")


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 2e-6)])
@pytest.mark.parametrize("blas", [False, True])
def test_time_lstm_is_the_books_lstm(rng, monkeypatch, dtype, tol, blas):
    """Weights in the book's layout give the book's hidden states, on both step-product paths."""
    import kotoba.layers.time as time_mod

    monkeypatch.setattr(time_mod, "_BLAS_MIN_MACS", 0 if blas else 10**12)
    Wx, Wh, b = randn(rng, D, 4 * H, scale=1.0), randn(rng, H, 4 * H, scale=1.0), randn(rng, 4 * H, scale=1.0)
    xs, h0, c0 = randn(rng, N, 2 * T, D, scale=1.0), randn(rng, N, H), randn(rng, N, H)
    ref, h_ref, c_ref = book_lstm(xs, Wx, Wh, b, h0, c0)
    layer = TimeLSTM(*(p.astype(dtype) for p in (Wx, Wh, b)), stateful=True)
    layer.set_state(h0, c0)
    got = np.concatenate([layer.forward(xs[:, :T].astype(dtype)), layer.forward(xs[:, T:].astype(dtype))], axis=1)
    np.testing.assert_allclose(got, ref, rtol=tol, atol=tol)
    np.testing.assert_allclose(layer.c, c_ref, rtol=tol, atol=tol)
    h, c = LSTM(Wx, Wh, b).forward(xs[:, 0], h0, c0)
    _, h1, c1 = book_lstm(xs[:, :1], Wx, Wh, b, h0, c0)
    np.testing.assert_allclose(h, h1, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(c, c1, rtol=1e-12, atol=1e-12)


def test_reorder_gates_round_trip(rng):
    w = randn(rng, 3, 4 * H)
    torch = reorder_gates(w, GATE_ORDER, ("i", "f", "g", "o"))
    np.testing.assert_array_equal(torch[:, :H], w[:, 2 * H : 3 * H])  # i first
    np.testing.assert_array_equal(torch[:, H : 2 * H], w[:, :H])  # then f
    np.testing.assert_array_equal(reorder_gates(torch, ("i", "f", "g", "o"), GATE_ORDER), w)
    with pytest.raises(ValueError, match="same four gates"):
        reorder_gates(w, GATE_ORDER, ("i", "f", "g", "x"))
    with pytest.raises(ValueError, match="4 \\* hidden"):
        reorder_gates(w[:, :-1], GATE_ORDER, GATE_ORDER)


def test_rnn_step_gradients(rng):
    Wx, Wh, b = randn(rng, D, H), randn(rng, H, H), randn(rng, H)
    x, h = randn(rng, N, D), randn(rng, N, H)
    layer = RNN(Wx, Wh, b)
    check_layer(lambda: layer.forward(x, h), layer.backward, [x, h], layer.params, lambda: layer.grads, rng, (N, H))
    # Bias is broadcast over the batch, so its gradient is the batch sum.
    dt = np.ones((N, H)) * (1 - layer.forward(x, h) ** 2)
    layer.backward(np.ones((N, H)))
    np.testing.assert_allclose(layer.grads[2], dt.sum(axis=0))


@pytest.mark.parametrize("stateful", [False, True])
def test_time_rnn_gradients(rng, stateful):
    Wx, Wh, b = randn(rng, D, H), randn(rng, H, H), randn(rng, H)
    xs = randn(rng, N, T, D)
    h0 = randn(rng, N, H)
    layer = TimeRNN(Wx, Wh, b, stateful=stateful)

    def forward():
        if stateful:
            layer.set_state(h0)
        return layer.forward(xs)

    check_layer(forward, lambda G: [layer.backward(G)], [xs], layer.params, lambda: layer.grads, rng, (N, T, H))
    if stateful:  # gradient w.r.t. the initial state
        G = rng.standard_normal((N, T, H))
        forward()
        layer.backward(G)
        num = numerical_gradient(lambda: float(np.sum(forward() * G)), h0)
        assert relative_error(num, layer.dh) < TOL


def test_time_rnn_matches_step_layer(rng):
    Wx, Wh, b = randn(rng, D, H), randn(rng, H, H), randn(rng, H)
    xs = randn(rng, N, T, D)
    hs = TimeRNN(Wx, Wh, b).forward(xs)
    step = RNN(Wx, Wh, b)
    h = np.zeros((N, H))
    for t in range(T):
        h = step.forward(xs[:, t], h)
        np.testing.assert_allclose(hs[:, t], h, rtol=1e-12, atol=1e-12)


def test_lstm_step_gradients(rng):
    Wx, Wh, b = randn(rng, D, 4 * H), randn(rng, H, 4 * H), randn(rng, 4 * H)
    x, h, c = randn(rng, N, D), randn(rng, N, H), randn(rng, N, H)
    layer = LSTM(Wx, Wh, b)
    Gh, Gc = rng.standard_normal((N, H)), rng.standard_normal((N, H))

    def loss():
        hn, cn = layer.forward(x, h, c)
        return float(np.sum(hn * Gh) + np.sum(cn * Gc))

    def analytic():
        layer.forward(x, h, c)
        return list(layer.backward(Gh, Gc)) + [g.copy() for g in layer.grads]

    errs = check_gradients(loss, [x, h, c] + layer.params, analytic)
    assert max(errs) < TOL, errs


def test_lstm_gate_layout(rng):
    """With only the forget-gate bias huge and the input gate shut, c passes straight through."""
    Wx, Wh = np.zeros((D, 4 * H)), np.zeros((H, 4 * H))
    b = np.zeros(4 * H)
    b[:H] = 50.0  # f = 1 (the book's first block)
    b[2 * H : 3 * H] = -50.0  # i = 0
    b[3 * H :] = 50.0  # o = 1
    c = randn(rng, N, H)
    h, c_next = LSTM(Wx, Wh, b).forward(randn(rng, N, D), randn(rng, N, H), c)
    np.testing.assert_allclose(c_next, c, atol=1e-12)
    np.testing.assert_allclose(h, np.tanh(c), atol=1e-12)


@pytest.mark.parametrize("stateful", [False, True])
def test_time_lstm_gradients(rng, stateful):
    Wx, Wh, b = randn(rng, D, 4 * H), randn(rng, H, 4 * H), randn(rng, 4 * H)
    xs = randn(rng, N, T, D)
    h0, c0 = randn(rng, N, H), randn(rng, N, H)
    layer = TimeLSTM(Wx, Wh, b, stateful=stateful)

    def forward():
        if stateful:
            layer.set_state(h0, c0)
        return layer.forward(xs)

    check_layer(forward, lambda G: [layer.backward(G)], [xs], layer.params, lambda: layer.grads, rng, (N, T, H))
    if stateful:
        G = rng.standard_normal((N, T, H))
        forward()
        layer.backward(G)
        for s0, analytic in [(h0, layer.dh), (c0, layer.dc)]:
            num = numerical_gradient(lambda: float(np.sum(forward() * G)), s0)
            assert relative_error(num, analytic) < TOL


def test_time_lstm_matches_step_layer_and_keeps_state(rng):
    Wx, Wh, b = randn(rng, D, 4 * H), randn(rng, H, 4 * H), randn(rng, 4 * H)
    xs = randn(rng, N, 2 * T, D)
    step = LSTM(Wx, Wh, b)
    h, c = np.zeros((N, H)), np.zeros((N, H))
    expected = []
    for t in range(2 * T):
        h, c = step.forward(xs[:, t], h, c)
        expected.append(h)
    layer = TimeLSTM(Wx, Wh, b, stateful=True)
    got = np.concatenate([layer.forward(xs[:, :T]), layer.forward(xs[:, T:])], axis=1)
    np.testing.assert_allclose(got, np.stack(expected, axis=1), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.h, h)
    np.testing.assert_allclose(layer.c, c)
    layer.reset_state()
    np.testing.assert_allclose(layer.forward(xs[:, :T]), np.stack(expected[:T], axis=1), atol=1e-12)
    with pytest.raises(ValueError, match="reset_state"):
        layer.forward(xs[:1, :T])  # kept state is for N rows


def test_time_embedding_gradients_with_repeated_ids(rng):
    W = randn(rng, 6, D)
    xs = np.array([[1, 1, 2, 5], [1, 0, 2, 2], [3, 1, 1, 1]], dtype=np.int32)
    layer = TimeEmbedding(W)

    def backward(G):
        layer.backward(G)
        return []  # ids have no gradient

    check_layer(lambda: layer.forward(xs), backward, [], layer.params, lambda: layer.grads, rng, (3, 4, D))
    G = rng.standard_normal((3, 4, D))
    layer.forward(xs)
    layer.backward(G)
    np.testing.assert_allclose(layer.grads[0][1], G[xs == 1].sum(axis=0))
    np.testing.assert_allclose(layer.grads[0][4], 0.0)


def test_time_affine_gradients(rng):
    W, b = randn(rng, H, 7), randn(rng, 7)
    x = randn(rng, N, T, H)
    layer = TimeAffine(W, b)
    check_layer(
        lambda: layer.forward(x), lambda G: [layer.backward(G)], [x], layer.params, lambda: layer.grads, rng, (N, T, 7)
    )


def test_time_affine_with_transposed_view(rng):
    E = randn(rng, 7, H)
    layer = TimeAffine(E.T, np.zeros(7))
    x = randn(rng, N, T, H)
    np.testing.assert_allclose(layer.forward(x), x @ E.T)
    assert np.shares_memory(layer.params[0], E)
    G = rng.standard_normal((N, T, 7))
    dx = layer.backward(G)
    np.testing.assert_allclose(layer.grads[0], x.reshape(-1, H).T @ G.reshape(-1, 7))
    np.testing.assert_allclose(dx, G @ E)


def test_time_softmax_with_loss_ignores_labels(rng):
    V = 6
    xs = randn(rng, N, T, V, scale=2.0)
    ts = rng.integers(0, V, size=(N, T))
    ts[0, 1] = ts[2, 3] = ts[1, 0] = -1
    layer = TimeSoftmaxWithLoss(ignore_label=-1)

    def analytic():
        layer.forward(xs, ts)
        return [layer.backward(1).copy()]

    errs = check_gradients(lambda: layer.forward(xs, ts), [xs], analytic)
    assert errs[0] < TOL
    # The loss is the mean over the 9 scored positions only.
    logp = xs - xs.max(-1, keepdims=True)
    logp -= np.log(np.exp(logp).sum(-1, keepdims=True))
    keep = ts != -1
    expected = -np.mean(logp[keep, ts[keep]])
    assert layer.forward(xs, ts) == pytest.approx(expected, rel=1e-12)
    dx = layer.backward(2.0)
    assert np.all(dx[~keep] == 0)
    np.testing.assert_allclose(dx[keep].sum(-1), 0.0, atol=1e-12)
    np.testing.assert_allclose(dx[keep][0], 2.0 * (np.exp(logp[keep][0]) - np.eye(V)[ts[keep][0]]) / keep.sum())


def test_time_softmax_all_ignored_is_zero(rng):
    layer = TimeSoftmaxWithLoss()
    assert layer.forward(randn(rng, 2, 3, 4), np.full((2, 3), -1)) == 0.0
    assert np.all(layer.backward() == 0)


def test_time_softmax_float32_large_scores():
    xs = np.array([[[1000.0, 0.0, -1000.0]]], dtype=np.float32)
    layer = TimeSoftmaxWithLoss()
    assert layer.forward(xs, np.array([[2]])) == pytest.approx(2000.0)
    assert np.isfinite(layer.backward()).all()


def test_time_dropout_gradient_and_seeded_mask(rng):
    xs = randn(rng, N, T, H)
    layer = TimeDropout(0.5, rng=np.random.default_rng(7))
    out = layer.forward(xs)
    mask = layer.mask

    def forward():  # the same mask on every call: re-seed
        layer.rng = np.random.default_rng(7)
        return layer.forward(xs)

    check_layer(forward, lambda G: [layer.backward(G)], [xs], [], lambda: [], rng, (N, T, H))
    np.testing.assert_array_equal(forward(), out)
    assert set(np.unique(mask)) <= {0.0, 2.0}
    assert 0 < (mask == 0).sum() < mask.size
    layer.train_flg = False
    assert layer.forward(xs) is xs
    np.testing.assert_array_equal(layer.backward(xs), xs)


@pytest.mark.parametrize("cls,gates", [(TimeRNN, 1), (TimeLSTM, 4)])
def test_blas_and_compiled_step_products_agree(rng, monkeypatch, cls, gates):
    """Small per-step products run in a compiled loop, large ones in BLAS: same numbers."""
    import kotoba.layers.time as time_mod

    Wx, Wh, b = randn(rng, D, gates * H), randn(rng, H, gates * H), randn(rng, gates * H)
    xs, G = randn(rng, N, T, D), rng.standard_normal((N, T, H))
    results = []
    for threshold in (10**12, 0):  # compiled loop, then BLAS
        monkeypatch.setattr(time_mod, "_BLAS_MIN_MACS", threshold)
        layer = cls(Wx, Wh, b)
        hs = layer.forward(xs)
        dxs = layer.backward(G)
        results.append([hs, dxs] + [g.copy() for g in layer.grads])
    for a, c in zip(*results):
        np.testing.assert_allclose(a, c, rtol=1e-10, atol=1e-12)


def test_pytorch_order_conversion_gives_pytorchs_lstm(rng):
    """Weights moved to PyTorch's (i, f, g, o) blocks, run through torch.nn.LSTM's equations (written
    out here), give kotoba's TimeLSTM's hidden states: the conversion bench/lm_ptb.py relies on."""
    Wx, Wh, b = randn(rng, D, 4 * H, scale=1.0), randn(rng, H, 4 * H, scale=1.0), randn(rng, 4 * H, scale=1.0)
    xs = randn(rng, N, T, D, scale=1.0)
    W_ih, W_hh, b_ih = (reorder_gates(w, GATE_ORDER, ("i", "f", "g", "o")) for w in (Wx, Wh, b))
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))  # noqa: E731
    h, c, hs = np.zeros((N, H)), np.zeros((N, H)), []
    for t in range(T):
        z = xs[:, t] @ W_ih + h @ W_hh + b_ih
        i, f, g, o = sig(z[:, :H]), sig(z[:, H : 2 * H]), np.tanh(z[:, 2 * H : 3 * H]), sig(z[:, 3 * H :])
        c = f * c + i * g
        h = o * np.tanh(c)
        hs.append(h)
    np.testing.assert_allclose(TimeLSTM(Wx, Wh, b).forward(xs), np.stack(hs, axis=1), rtol=1e-12, atol=1e-12)
