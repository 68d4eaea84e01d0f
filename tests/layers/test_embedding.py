"""Gradient checks and behaviour tests for kotoba.layers.embedding."""

from __future__ import annotations

import numpy as np
import pytest

from kotoba.errors import DataError, EmptyCorpusError
from kotoba.gradcheck import check_gradients
from kotoba.layers import (
    Embedding,
    EmbeddingDot,
    NegativeSamplingLoss,
    RowGrad,
    UnigramSampler,
    scatter_add_rows,
    sum_rows,
)

TOL = 1e-5


def test_embedding_gradient_with_repeated_ids(rng):
    W = rng.standard_normal((6, 3))
    idx = np.array([[1, 4, 1], [1, 0, 5]])  # id 1 three times in one batch
    layer = Embedding(W)
    C = rng.standard_normal((2, 3, 3))

    def analytic():
        layer.forward(idx)
        layer.backward(C)
        return layer.grads

    err = check_gradients(lambda: float(np.sum(C * layer.forward(idx))), [W], analytic)[0]
    assert err < TOL
    np.testing.assert_allclose(layer.grads[0][1], C[0, 0] + C[0, 2] + C[1, 0])
    np.testing.assert_array_equal(layer.grads[0][[2, 3]], 0)


def test_two_embeddings_sharing_W_like_cbow_input(rng):
    """CBOW's input: h = (W[a] + W[b]) / 2 from two layers sharing W; the gradient of W is the
    sum of both layers' grads (what merge_shared computes), rows hit twice counting twice."""
    W = rng.standard_normal((5, 4))
    l1, l2 = Embedding(W), Embedding(W)
    assert l1.params[0] is l2.params[0] is W
    a, b = np.array([0, 3, 2]), np.array([3, 3, 1])
    C = rng.standard_normal((3, 4))

    def loss():
        return float(np.sum(C * 0.5 * (l1.forward(a) + l2.forward(b))))

    def analytic():
        loss()
        l1.backward(0.5 * C)
        l2.backward(0.5 * C)
        return [l1.grads[0] + l2.grads[0]]

    assert check_gradients(loss, [W], analytic)[0] < TOL
    total = l1.grads[0] + l2.grads[0]
    np.testing.assert_allclose(total[3], 0.5 * (C[1] + C[0] + C[1]))


def test_embedding_dense_grads_stay_exact_across_steps(rng):
    """Only the previous step's rows are cleared; the dense gradient must still be exact."""
    W = rng.standard_normal((50, 4))
    layer = Embedding(W)
    for _ in range(5):
        idx = rng.integers(0, 50, size=7)
        dout = rng.standard_normal((7, 4))
        layer.forward(idx)
        layer.backward(dout)
        expected = np.zeros_like(W)
        np.add.at(expected, idx, dout)
        np.testing.assert_allclose(layer.grads[0], expected)
        rg = layer.row_grads[0]
        np.testing.assert_allclose(rg.to_dense(W.shape), expected)
        assert rg.unique and np.array_equal(rg.rows, np.unique(idx))  # repeats merged


def test_embedding_keeps_its_own_ids(rng):
    """A caller reusing its batch buffer must not corrupt the layer's backward."""
    W = rng.standard_normal((10, 2))
    layer = Embedding(W)
    buf = np.array([1, 2, 3])
    layer.forward(buf)
    buf[:] = 9
    layer.backward(np.ones((3, 2)))
    assert set(np.flatnonzero(layer.grads[0][:, 0])) == {1, 2, 3}


def test_embedding_float32(rng):
    W = rng.standard_normal((10, 3)).astype(np.float32)
    layer = Embedding(W)
    out = layer.forward(np.array([[1, 2], [3, 1]]))
    layer.backward(np.ones_like(out))
    assert out.shape == (2, 2, 3) and out.dtype == np.float32 and layer.grads[0].dtype == np.float32
    assert layer.grads[0][1, 0] == 2.0


@pytest.mark.parametrize("idx_shape", [(5,), (5, 3)])
def test_embedding_dot_gradients(rng, idx_shape):
    W = rng.standard_normal((7, 4))
    h = rng.standard_normal((5, 4))
    idx = rng.integers(0, 7, size=idx_shape)
    layer = EmbeddingDot(W)
    C = rng.standard_normal(idx_shape)

    def analytic():
        layer.forward(h, idx)
        dh = layer.backward(C)
        return [dh, *layer.grads]

    errs = check_gradients(lambda: float(np.sum(C * layer.forward(h, idx))), [h, W], analytic)
    assert max(errs) < TOL
    np.testing.assert_allclose(
        layer.forward(h, idx), np.sum(W[idx] * (h[:, None] if len(idx_shape) == 2 else h), axis=-1)
    )


def test_scatter_add_and_sum_rows(rng):
    rows = np.array([3, 1, 3, 0, 3])
    vals = rng.standard_normal((5, 2))
    for target in (np.zeros((4, 2)), np.zeros((2, 4)).T):  # contiguous and strided
        scatter_add_rows(target, rows, vals)
        expected = np.zeros((4, 2))
        np.add.at(expected, rows, vals)
        np.testing.assert_allclose(target, expected)
    u, s = sum_rows(rows, vals)
    np.testing.assert_array_equal(u, [0, 1, 3])
    np.testing.assert_allclose(s, expected[u])
    assert RowGrad().to_dense((2, 2)).sum() == 0


# ---------------------------------------------------------------------------------------
# UnigramSampler


def zipf_corpus(rng: np.random.Generator, vocab: int = 20, size: int = 5000) -> np.ndarray:
    p = 1.0 / np.arange(1, vocab + 1)
    return rng.choice(vocab, size=size, p=p / p.sum())


def test_sampler_distribution_matches_count_power(rng):
    corpus = zipf_corpus(rng)
    sampler = UnigramSampler(corpus, 0.75, 5, rng=np.random.default_rng(1))
    counts = np.bincount(corpus)
    expected_p = counts**0.75 / np.sum(counts**0.75)
    np.testing.assert_allclose(sampler.word_p, expected_p)
    # A row's own target is excluded, so with each word as target 2000 times the expected counts
    # are the sum over targets of "p with p[t] = 0, renormalised".
    targets = np.repeat(np.arange(20), 2000)
    neg = sampler.get_negative_sample(targets)
    observed = np.bincount(neg.ravel(), minlength=20)
    cond = np.tile(expected_p, (20, 1))
    cond[np.arange(20), np.arange(20)] = 0
    cond /= cond.sum(axis=1, keepdims=True)
    expected = cond.sum(axis=0) * 2000 * 5
    chi2 = np.sum((observed - expected) ** 2 / expected)
    assert chi2 < 60  # 19 degrees of freedom; p(chi2 > 60) ~ 4e-6
    assert chi2 > 1  # not suspiciously exact either


def test_sampler_never_draws_the_target(rng):
    corpus = np.array([0] * 1000 + [1] * 2 + [2] * 3)  # target 0 owns ~99.7% before exclusion
    sampler = UnigramSampler(corpus, 0.75, 10, rng=rng)
    target = np.array([0, 1, 2, 0, 0] * 400)
    neg = sampler.get_negative_sample(target)
    assert neg.shape == (2000, 10)
    assert not np.any(neg == target[:, None])
    assert set(np.unique(neg[target == 0])) == {1, 2}


def test_sampler_skips_unseen_words_and_is_seeded(rng):
    corpus = np.array([0, 0, 2, 2, 2, 4])  # ids 1 and 3 never occur
    a = UnigramSampler(corpus, 0.75, 4, rng=np.random.default_rng(5))
    b = UnigramSampler(corpus, 0.75, 4, rng=np.random.default_rng(5))
    target = np.array([0, 2, 4, 1])
    na, nb = a.get_negative_sample(target), b.get_negative_sample(target)
    np.testing.assert_array_equal(na, nb)
    assert not np.isin(na, [1, 3]).any()
    zero_power = UnigramSampler(corpus, 0.0, 3, rng=rng)
    assert zero_power.word_p[1] == 0 and zero_power.word_p[0] == pytest.approx(1 / 3)


def test_sampler_rejects_degenerate_corpora():
    with pytest.raises(EmptyCorpusError):
        UnigramSampler(np.array([], dtype=int), 0.75, 5)
    with pytest.raises(DataError, match="two distinct words"):
        UnigramSampler(np.array([3, 3, 3]), 0.75, 5)


# ---------------------------------------------------------------------------------------
# NegativeSamplingLoss


def test_negative_sampling_loss_gradients_and_value(rng):
    corpus = zipf_corpus(rng, vocab=9, size=300)
    W = rng.standard_normal((9, 4))
    h = rng.standard_normal((6, 4))
    target = np.array([0, 1, 1, 5, 8, 0])
    layer = NegativeSamplingLoss(W, corpus, power=0.75, sample_size=3, rng=np.random.default_rng(2))
    assert layer.params == [W] and layer.params[0] is W
    negative = layer.sampler.get_negative_sample(target)
    layer.sampler.get_negative_sample = lambda t: negative  # fixed negatives: deterministic loss

    def analytic():
        layer.forward(h, target)
        dh = layer.backward()
        return [dh, *layer.grads]

    errs = check_gradients(lambda: layer.forward(h, target), [h, W], analytic)
    assert max(errs) < TOL

    def log_sigmoid(x):
        return -np.logaddexp(0, -x)

    pos = np.sum(W[target] * h, axis=1)
    neg = np.einsum("nkd,nd->nk", W[negative], h)
    expected = np.mean(-log_sigmoid(pos) - np.sum(log_sigmoid(-neg), axis=1))
    assert layer.forward(h, target) == pytest.approx(expected, rel=1e-12)
    layer.backward()
    np.testing.assert_allclose(layer.row_grads[0].to_dense(W.shape), layer.grads[0], atol=1e-15)


def test_negative_sampling_loss_float32_zero_init(rng):
    corpus = zipf_corpus(rng, vocab=30, size=500)
    W = np.zeros((30, 8), np.float32)
    layer = NegativeSamplingLoss(W, corpus, sample_size=5, rng=rng)
    h = rng.standard_normal((10, 8)).astype(np.float32)
    loss = layer.forward(h, rng.integers(0, 30, 10))
    dh = layer.backward()
    assert loss == pytest.approx(6 * np.log(2), rel=1e-6)  # every score 0: (1 + 5) ln 2
    assert dh.dtype == np.float32 and layer.grads[0].dtype == np.float32
