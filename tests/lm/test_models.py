"""Whole-model gradient checks (float64) and learning for the recurrent language models."""

from __future__ import annotations

import numpy as np
import pytest

from kotoba.errors import ConfigError
from kotoba.gradcheck import check_gradients
from kotoba.layers.time import TimeDropout
from kotoba.models.rnnlm import BetterRnnlm, Rnnlm, SimpleRnnlm, build_lm
from kotoba.optim import Adam

V = 7


def _reseed_dropout(model, seed=5):
    g = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, TimeDropout):
            layer.rng = g


@pytest.mark.parametrize(
    "make",
    [
        lambda r: SimpleRnnlm(V, 3, 4, rng=r, dtype=np.float64),
        lambda r: Rnnlm(V, 3, 4, rng=r, dtype=np.float64),
        lambda r: BetterRnnlm(V, 4, 4, dropout_ratio=0.3, rng=r, dtype=np.float64),
    ],
    ids=["SimpleRnnlm", "Rnnlm", "BetterRnnlm"],
)
def test_whole_model_gradients(make, rng):
    model = make(rng)
    # Larger weights than the book's init so that every gradient is far from zero.
    for p in model.params:
        p[...] = rng.standard_normal(p.shape) * 0.5
    xs = rng.integers(0, V, size=(2, 5)).astype(np.int32)
    ts = rng.integers(0, V, size=(2, 5)).astype(np.int32)
    ts[1, 2] = -1

    def loss():
        model.reset_state()
        _reseed_dropout(model)
        return model.forward(xs, ts)

    def analytic():
        loss()
        model.backward()
        return [g.copy() for g in model.grads]

    errs = check_gradients(loss, model.params, analytic)
    assert max(errs) < 1e-5, errs


def test_better_rnnlm_ties_weights(rng):
    model = BetterRnnlm(11, 6, 6, rng=rng)
    embed_W = model.params[0]
    assert np.shares_memory(model.affine.params[0], embed_W)
    assert len(model.params) == len(model.grads) == 8  # the tied matrix once
    assert len({id(p) for p in model.params}) == 8
    embed_W[3, 2] = 42.0
    assert model.affine.params[0][2, 3] == 42.0
    with pytest.raises(ConfigError, match="wordvec_size"):
        BetterRnnlm(11, 6, 8)


def test_book_init_and_float32(rng):
    m = Rnnlm(50, 8, 6, rng=rng)
    assert all(p.dtype == np.float32 for p in m.params)
    assert [p.shape for p in m.params] == [(50, 8), (8, 24), (6, 24), (24,), (6, 50), (50,)]
    assert np.all(m.params[3] == 0) and np.all(m.params[5] == 0)
    assert m.params[0].std() == pytest.approx(0.01, rel=0.2)
    assert m.params[1].std() == pytest.approx(1 / np.sqrt(8), rel=0.2)
    assert m.config == {"class": "Rnnlm", "vocab_size": 50, "wordvec_size": 8, "hidden_size": 6}
    assert build_lm(m.config).config == m.config
    with pytest.raises(ConfigError):
        build_lm({"class": "Nope"})
    with pytest.raises(ConfigError):
        Rnnlm(0, 8, 6)


def test_predict_shape_and_state(rng):
    m = Rnnlm(20, 5, 6, rng=rng)
    xs = rng.integers(0, 20, size=(3, 8)).astype(np.int32)
    whole = m.predict(xs).copy()
    m.reset_state()
    halves = np.concatenate([m.predict(xs[:, :4]).copy(), m.predict(xs[:, 4:]).copy()], axis=1)
    assert whole.shape == (3, 8, 20) and whole.dtype == np.float32
    np.testing.assert_allclose(halves, whole, rtol=1e-5, atol=1e-6)  # state carried over
    state = m.hidden_state()
    after = m.predict(xs[:, :2]).copy()
    m.load_hidden_state(state)
    np.testing.assert_array_equal(m.predict(xs[:, :2]), after)


def test_dropout_only_in_training(rng):
    m = BetterRnnlm(20, 6, 6, dropout_ratio=0.5, rng=rng)
    xs = rng.integers(0, 20, size=(2, 4)).astype(np.int32)
    m.reset_state()
    a = m.predict(xs).copy()
    m.reset_state()
    b = m.predict(xs).copy()
    m.reset_state()
    c = m.predict(xs, train_flg=True).copy()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("cls", [Rnnlm, SimpleRnnlm])
def test_memorises_a_short_sequence(cls):
    rng = np.random.default_rng(1)
    # A 16-token cycle over 6 words where the next word depends on more than the current one.
    seq = np.array([0, 1, 2, 0, 3, 4, 0, 1, 5, 2, 3, 0, 4, 1, 5, 3])
    ids = np.tile(seq, 8)
    model = cls(6, 16, 32, rng=rng)
    opt = Adam(lr=0.02)
    xs, ts = ids[None, :-1].astype(np.int32), ids[None, 1:].astype(np.int32)
    for _ in range(150):
        model.reset_state()
        model.forward(xs, ts)
        model.backward()
        opt.update(model.params, model.grads)
    model.reset_state()
    assert np.exp(model.forward(xs, ts)) < 1.5
