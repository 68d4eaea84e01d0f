"""Numba word2vec kernels: sampling tables, one step against NumPy maths, whole-job behaviour."""

from __future__ import annotations

import heapq

import numpy as np
import pytest

from kotoba.layers import Embedding, NegativeSamplingLoss
from kotoba.optim import SGD
from kotoba.word2vec import Word2VecConfig
from kotoba.word2vec import kernels as w2v
from kotoba.word2vec.bundles import Corpus, Tables, Weights, make_job, make_params, make_scratch
from kotoba.word2vec.sampling import alias_probabilities, build_alias_table, build_huffman_tree

# --------------------------------------------------------------------------- sampling tables


def test_alias_table_is_exactly_count_pow_075():
    counts = np.array([1000, 400, 250, 7, 3, 1, 1, 60], np.int64)
    table = build_alias_table(counts, 0.75)
    want = counts**0.75 / (counts**0.75).sum()
    np.testing.assert_allclose(alias_probabilities(table), want, rtol=1e-6, atol=1e-9)
    assert table.prob.dtype == np.float32 and table.alias.dtype == np.int32


def test_alias_draws_follow_the_distribution():
    counts = np.array([500, 200, 50, 20, 5, 1], np.int64)
    table = build_alias_table(counts, 0.75)
    state = w2v.seed_state(np.uint64(123))
    n = 200_000
    draws = np.empty(n, np.int64)
    for k in range(n):
        # keep the state a uint64: a plain Python int would be typed as a signed int64
        state = np.uint64(w2v.next_state(np.uint64(state)))
        draws[k] = w2v.draw_negative(np.uint64(w2v.output(state)), table.prob, table.alias)
    freq = np.bincount(draws, minlength=counts.size) / n
    want = counts**0.75 / (counts**0.75).sum()
    # binomial standard error is < 0.0012 here; allow 4 sigma
    np.testing.assert_allclose(freq, want, atol=0.005)


def test_alias_rejects_bad_counts():
    with pytest.raises(ValueError):
        build_alias_table(np.zeros(3))
    with pytest.raises(ValueError):
        build_alias_table(np.array([1, -1]))


def _huffman_cost(counts):
    heap = list(map(int, counts))
    heapq.heapify(heap)
    cost = 0
    while len(heap) > 1:
        a, b = heapq.heappop(heap), heapq.heappop(heap)
        cost += a + b
        heapq.heappush(heap, a + b)
    return cost


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_huffman_codes_are_optimal_prefix_free_paths(seed):
    rng = np.random.default_rng(seed)
    counts = np.sort(rng.integers(1, 1000, size=57))[::-1].copy()
    rng.shuffle(counts)  # the builder must not rely on sorted input
    v = counts.size
    tree = build_huffman_tree(counts)
    words = ["".join(map(str, tree.codes[w, : tree.codelens[w]])) for w in range(v)]
    assert len(set(words)) == v
    for a in words:  # prefix-free
        assert not any(b != a and b.startswith(a) for b in words)
    assert sum(2.0 ** -len(c) for c in words) == pytest.approx(1.0)  # a full binary tree
    assert int((counts * tree.codelens).sum()) == _huffman_cost(counts)  # optimal weighted length
    order = np.argsort(-counts, kind="stable")
    assert np.all(np.diff(tree.codelens[order]) >= 0)  # more frequent => not longer
    # every path starts at the root (inner node V-2) and stays inside the V-1 inner nodes
    assert np.all(tree.points[:, 0] == v - 2)
    for w in range(v):
        p = tree.points[w, : tree.codelens[w]]
        assert np.all((p >= 0) & (p <= v - 2))
    # two words sharing a code prefix share the same inner nodes along it
    for a in range(v):
        for b in range(a + 1, v):
            k = 0
            while k < min(tree.codelens[a], tree.codelens[b]) and tree.codes[a, k] == tree.codes[b, k]:
                assert tree.points[a, k] == tree.points[b, k]
                k += 1
            if k < min(tree.codelens[a], tree.codelens[b]):
                assert tree.points[a, k] == tree.points[b, k]  # they split at the same node


def test_huffman_two_words():
    tree = build_huffman_tree(np.array([5, 3]))
    assert tree.codelens.tolist() == [1, 1]
    assert sorted(tree.codes[:, 0].tolist()) == [0, 1]
    assert tree.points[:, 0].tolist() == [0, 0]
    with pytest.raises(ValueError):
        build_huffman_tree(np.array([5]))


# --------------------------------------------------------------------------- one step vs NumPy


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _hs_reference(h, syn1, code, point):
    labels = 1.0 - code.astype(np.float64)
    f = syn1[point] @ h
    s = _sigmoid(f)
    loss = -np.sum(labels * np.log(s) + (1 - labels) * np.log(1 - s))
    dscore = s - labels
    dh = dscore @ syn1[point]
    dsyn1 = np.zeros_like(syn1)
    np.add.at(dsyn1, point, dscore[:, None] * h[None, :])
    return loss, dh, dsyn1


def _tables(rng, v=12, d=8):
    syn0 = (rng.random((v, d)) - 0.5).astype(np.float32)
    syn1neg = (0.5 * rng.standard_normal((v, d))).astype(np.float32)
    syn1 = (0.5 * rng.standard_normal((v, d))).astype(np.float32)
    return syn0, syn1neg, syn1


NO_PATH = (np.zeros((1, 1), np.uint8), np.zeros((1, 1), np.int32))  # never read when clen = 0


def _scratch(d):
    """(neu1e, gbuf) scratch buffers of a step."""
    return np.empty(d, np.float32), np.empty(16, np.float32)


def _reference_ns_sgd(w_in, w_out, inputs, target, negs, lr, combine):
    """The book's layers (Embedding -> NegativeSamplingLoss) plus one plain SGD step, in float64.

    inputs: (N, C) input-row ids; target: one id, or (N,) ids, one per row; ``combine`` "rows"
    treats each of the N rows as one example (C = 1, skip-gram; N > 1 is a HogBatch window sharing
    ``negs``), "mean" averages the C context rows of each example (CBOW; N > 1 is a HogBatch block
    sharing ``negs``). The layers average the loss over the N rows, so
    it is scaled back to a sum (the kernels do plain per-pair SGD). Returns (loss, W_in, W_out).
    """
    w_in, w_out = w_in.astype(np.float64), w_out.astype(np.float64)
    n, c = inputs.shape
    embed = Embedding(w_in)
    loss_layer = NegativeSamplingLoss(w_out, np.arange(w_out.shape[0]), power=0.75, sample_size=len(negs))
    # feed the kernel's negatives instead of fresh draws
    loss_layer.sampler.get_negative_sample = lambda t: np.tile(np.asarray(negs, np.intp), (t.size, 1))
    rows = embed.forward(inputs)  # (N, C, D)
    h = rows.mean(axis=1) if combine == "mean" else rows[:, 0, :]
    loss = loss_layer.forward(h, np.broadcast_to(np.asarray(target), (n,)).copy()) * n
    dh = loss_layer.backward(float(n))
    # word2vec.c gives every CBOW context row the full dL/dh (not dL/dh / C): see word2vec.kernels
    embed.backward(np.repeat(dh[:, None, :], c, axis=1))
    SGD(lr).update(embed.params + loss_layer.params, embed.grads + loss_layer.grads)
    return loss, w_in, w_out


def test_sg_ns_step_matches_reference_layers(rng):
    syn0, syn1neg, syn1 = _tables(rng)
    inp, target, negs, lr = 3, 7, np.array([1, 4, 9, 0, 11], np.int32), 0.05
    ref_loss, want0, want1 = _reference_ns_sgd(syn0, syn1neg, np.array([[inp]]), target, negs, lr, "rows")
    loss = w2v.sg_step(syn0, syn1neg, syn1, inp, target, negs, negs.size, *NO_PATH, 0, np.float32(lr), *_scratch(8))
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    np.testing.assert_allclose(syn0, want0, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(syn1neg, want1, rtol=1e-5, atol=1e-6)


def _rows():
    """Scratch for a window step's copies of its negative rows (NaN: they must be copied, not assumed)."""
    return np.full((10, 8), np.nan, np.float32)


def _window_reference(syn0, syn1neg, ctx, target, negs, lr):
    """The skip-gram window step in float64: the positive term a minibatch (every context word scored
    against the target row as the window found it, the row updated last), each negative row stepped
    context word by context word in the order drawn (a negative equal to the target skipped), the
    input rows updated at the end. Returns (loss, syn0, syn1neg)."""
    w0, w1 = syn0.astype(np.float64), syn1neg.astype(np.float64)
    f = w0[ctx] @ w1[target]
    loss = float(np.sum(np.log1p(np.exp(-f))))
    g0 = lr * (1.0 - _sigmoid(f))
    err = g0[:, None] * w1[target]
    for r in negs:
        if r == target:
            continue
        for j, c in enumerate(ctx):
            f = w0[c] @ w1[r]
            loss += float(np.log1p(np.exp(f)))
            g = -lr * _sigmoid(f)
            err[j] += g * w1[r]
            w1[r] += g * w0[c]
    w1[target] += g0 @ w0[ctx]
    np.add.at(w0, ctx, err)
    return loss, w0, w1


# with three different negatives first, the target row is scored in their passes, one context word at
# a time; with fewer (K < 3 here), four, then one context rows per pass; either way the error rows are
# set, not added to (so the scratch starts as NaN); the negatives after the first three go two per pass
@pytest.mark.parametrize(("nctx", "nneg"), [(2, 3), (3, 3), (4, 3), (5, 3), (6, 3), (8, 3), (5, 1), (5, 2), (6, 5)])
def test_sg_window_step_matches_reference(rng, nctx, nneg):
    syn0, syn1neg, _ = _tables(rng)
    ctx = np.array([0, 2, 5, 6, 10, 3, 11, 2], np.int32)[:nctx]  # word 2 twice in the longest
    target, negs, lr = 7, np.array([1, 4, 9, 0, 11], np.int32)[:nneg], 0.05
    ref_loss, want0, want1 = _window_reference(syn0, syn1neg, ctx, target, negs, lr)
    grad, err = np.full((10, 6), np.nan, np.float32), np.full((10, 8), np.nan, np.float32)
    loss = w2v.sg_window_step(syn0, syn1neg, ctx, ctx.size, target, negs, negs.size, np.float32(lr), grad, err, _rows())
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    np.testing.assert_allclose(syn0, want0, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(syn1neg, want1, rtol=1e-5, atol=1e-6)


def test_sg_window_step_negative_rows_read_the_window_s_earlier_steps(rng):
    # the rule itself, apart from the reference above: the second context word's score against a
    # negative row includes the first one's step (one word twice, so the two scores differ clearly)
    syn0, syn1neg, _ = _tables(rng)
    ctx, target, negs, lr = np.array([3, 3], np.int32), 7, np.array([1], np.int32), 0.5
    x, n = syn0[3].astype(np.float64), syn1neg[1].astype(np.float64)
    g_first = -lr * _sigmoid(x @ n)
    fresh = -lr * _sigmoid(x @ (n + g_first * x))
    grad, err = np.empty((2, 2), np.float32), np.empty((2, 8), np.float32)
    w2v.sg_window_step(syn0, syn1neg, ctx, 2, target, negs, 1, np.float32(lr), grad, err, _rows())
    np.testing.assert_allclose(syn1neg[1], n + (g_first + fresh) * x, rtol=1e-5)
    stale = n + 2 * g_first * x  # both words scored against the row the window found
    assert np.abs(syn1neg[1] - stale).max() > 1e-3


def test_cbow_ns_step_matches_reference_layers(rng):
    syn0, syn1neg, syn1 = _tables(rng)
    ctx, target, negs, lr = np.array([2, 5, 6, 10], np.int32), 7, np.array([1, 4, 9], np.int32), 0.05
    ref_loss, want0, want1 = _reference_ns_sgd(syn0, syn1neg, ctx[None, :], target, negs, lr, "mean")
    d = syn0.shape[1]
    loss = w2v.cbow_step(
        syn0,
        syn1neg,
        syn1,
        ctx,
        ctx.size,
        True,
        target,
        negs,
        negs.size,
        *NO_PATH,
        0,
        np.float32(lr),
        np.empty((1, d), np.float32),
        *_scratch(d),
    )
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    np.testing.assert_allclose(syn0, want0, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(syn1neg, want1, rtol=1e-5, atol=1e-6)


# a negative drawn twice is stepped twice (the second time reading the first's steps, in its one copy),
# one equal to the target is skipped, and the different rows around them still go three, two or one per
# pass: [1, 1, 7, 4, 9] ends with a pair, [7, 1, 4, 9, 1] has three after the target, then a repeat
@pytest.mark.parametrize("drawn", [[1, 1, 7, 4, 9], [7, 1, 4, 9, 1]])
def test_sg_window_step_with_a_repeated_negative_or_the_target_drawn(rng, drawn):
    syn0, syn1neg, _ = _tables(rng)
    ctx, target, negs, lr = np.array([0, 2, 5, 6, 10], np.int32), 7, np.array(drawn, np.int32), 0.05
    ref_loss, want0, want1 = _window_reference(syn0, syn1neg, ctx, target, negs, lr)
    grad, e = np.empty((10, 6), np.float32), np.empty((10, 8), np.float32)
    loss = w2v.sg_window_step(syn0, syn1neg, ctx, ctx.size, target, negs, negs.size, np.float32(lr), grad, e, _rows())
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    np.testing.assert_allclose(syn0, want0, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(syn1neg, want1, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("mean", "nneg"), [(True, 3), (False, 3), (True, 1)])
def test_cbow_block_step_matches_reference_minibatch(rng, mean, nneg):
    syn0, syn1neg, _ = _tables(rng)
    # four consecutive-looking examples: overlapping contexts and a repeated target (the layers have
    # no rule for a negative equal to the target: that skip is checked in the next test)
    bctx = np.array([[2, 5, 6, 10], [5, 6, 10, 3], [6, 10, 3, 2], [10, 3, 2, 8]], np.int32)
    btgt = np.array([7, 9, 7, 11], np.int32)
    negs, lr = np.array([1, 4, 0], np.int32)[:nneg], 0.05
    scaled = syn0.copy()
    if not mean:  # sum of C rows == mean of the same rows scaled by C (as in the test below)
        scaled *= bctx.shape[1]
    ref_loss, want0, want1 = _reference_ns_sgd(scaled, syn1neg, bctx, btgt, negs, lr, "mean")
    d = syn0.shape[1]
    # NaN scratch: the hidden vectors and errors must be set, not added to
    h, err = np.full((4, d), np.nan, np.float32), np.full((4, d), np.nan, np.float32)
    grad, bnctx, lr32 = np.empty((4, 4), np.float32), np.full(4, 4, np.int32), np.float32(lr)
    loss = w2v.cbow_block_step(syn0, 0, 0, syn1neg, bctx, bnctx, btgt, 4, mean, negs, nneg, lr32, h, grad, err)
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    np.testing.assert_allclose(syn1neg, want1, rtol=1e-5, atol=1e-6)
    if mean:
        np.testing.assert_allclose(syn0, want0, rtol=1e-5, atol=1e-6)


def test_skip_gram_block_of_windows_matches_reference_minibatch(rng):
    """Skip-gram blocks are CBOW blocks of one-word contexts: the pairs of several windows (each
    window's context words predicting its centre word) share the negatives."""
    syn0, syn1neg, _ = _tables(rng)
    inputs = np.array([0, 2, 5, 2, 6, 10, 3], np.int32)  # two windows' pairs, word 2 in both
    targets = np.array([7, 7, 7, 8, 8, 8, 8], np.int32)
    negs, lr, d = np.array([1, 4, 9], np.int32), 0.05, 8
    ref_loss, want0, want1 = _reference_ns_sgd(syn0, syn1neg, inputs[:, None], targets, negs, lr, "rows")
    n = inputs.size
    h, grad, err = np.empty((n, d), np.float32), np.empty((n, 4), np.float32), np.empty((n, d), np.float32)
    ones = np.ones(n, np.int32)
    loss = w2v.cbow_block_step(
        syn0, 0, 0, syn1neg, inputs[:, None], ones, targets, n, False, negs, 3, np.float32(lr), h, grad, err
    )
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    np.testing.assert_allclose(syn0, want0, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(syn1neg, want1, rtol=1e-5, atol=1e-6)


def test_cbow_block_step_with_hot_rows_changes_the_copy_not_syn0(rng):
    """Rows 0:H are read from and written to the thread's copy (rows appended to syn0); syncing gives
    the shared-matrix step."""
    a0, a1, _ = _tables(rng)
    v, d, nb, nhot = a0.shape[0], a0.shape[1], 3, 4
    b0, b1 = np.concatenate([a0, a0[:nhot]]), a1.copy()  # the copy at rows v:v+4
    bctx = np.array([[0, 5, 2, 9], [1, 3, 0, 7], [4, 2, 8, 6]], np.int32)  # rows < 4 are hot
    bnctx, btgt = np.full(nb, 4, np.int32), np.array([7, 1, 10], np.int32)
    negs, lr = np.array([3, 11], np.int32), np.float32(0.05)

    def step(syn0, nhot, hot_base, syn1neg):
        h, grad, err = np.empty((nb, d), np.float32), np.empty((nb, 3), np.float32), np.empty((nb, d), np.float32)
        w2v.cbow_block_step(syn0, nhot, hot_base, syn1neg, bctx, bnctx, btgt, nb, True, negs, 2, lr, h, grad, err)

    step(a0, 0, 0, a1)
    snap0 = b0[v:].copy()
    before = b0.copy()
    step(b0, nhot, v, b1)
    np.testing.assert_array_equal(b0[:nhot], before[:nhot])  # the hot rows changed in the copy only
    np.testing.assert_array_equal(b0[nhot:v], a0[nhot:])  # the other rows exactly as with no copy
    assert (a0[:nhot] != before[:nhot]).any() and (b0[v:] != before[:nhot]).any()
    w2v.sync_hot(b0, nhot, v, snap0)
    np.testing.assert_allclose(b0[:v], a0, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(b1, a1)  # output rows are never private
    np.testing.assert_array_equal(b0[v:], b0[:nhot])
    np.testing.assert_array_equal(snap0, b0[:nhot])


def test_sync_hot_adds_this_threads_change_to_the_shared_rows(rng):
    """Two threads' changes to the same hot row both arrive; each copy ends as the merged rows."""
    shared = rng.random((6, 8)).astype(np.float32)
    start = shared[:3].copy()
    syn0 = np.concatenate([shared, start, start])  # thread a's copy at rows 6:9, thread b's at 9:12
    snap_a, snap_b = start.copy(), start.copy()
    syn0[7] += 1.0
    syn0[10] += 2.0
    syn0[11] -= 0.5
    rest = shared[3:].copy()
    w2v.sync_hot(syn0, 3, 6, snap_a)
    w2v.sync_hot(syn0, 3, 9, snap_b)
    np.testing.assert_allclose(syn0[:3], start + np.array([[0.0], [3.0], [-0.5]], np.float32), rtol=1e-6)
    np.testing.assert_array_equal(syn0[3:6], rest)
    np.testing.assert_array_equal(syn0[9:12], syn0[:3])
    np.testing.assert_array_equal(snap_b, syn0[:3])


@pytest.mark.parametrize("nctx", [1, 2, 3, 4, 5])  # the hidden vector sums two context rows per pass
def test_cbow_block_of_one_equals_the_per_target_step(rng, nctx):
    a0, a1, syn1 = _tables(rng)
    b0, b1 = a0.copy(), a1.copy()
    ctx, target, negs, lr, d = (
        np.array([2, 5, 6, 3, 10], np.int32)[:nctx],
        7,
        np.array([1, 4, 7], np.int32),
        np.float32(0.05),
        8,
    )
    w2v.cbow_step(
        a0, a1, syn1, ctx, nctx, True, target, negs, 3, *NO_PATH, 0, lr, np.empty((1, d), np.float32), *_scratch(d)
    )
    h, grad, err = np.full((1, d), np.nan, np.float32), np.empty((1, 4), np.float32), np.empty((1, d), np.float32)
    w2v.cbow_block_step(
        b0,
        0,
        0,
        b1,
        ctx[None, :],
        np.array([nctx], np.int32),
        np.array([target], np.int32),
        1,
        True,
        negs,
        3,
        lr,
        h,
        grad,
        err,
    )
    np.testing.assert_allclose(b0, a0, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(b1, a1, rtol=1e-6, atol=1e-7)


def test_cbow_sum_mode_uses_the_summed_context(rng):
    syn0, syn1neg, syn1 = _tables(rng)
    ctx, target, negs, lr = np.array([2, 5, 6], np.int32), 7, np.array([1, 4], np.int32), 0.05
    # sum of C rows == mean of the same rows scaled by C: compare against a mean-mode run on scaled rows
    scaled = syn0.copy()
    scaled[ctx] *= ctx.size
    ref_loss, _, want1 = _reference_ns_sgd(scaled, syn1neg, ctx[None, :], target, negs, lr, "mean")
    d = syn0.shape[1]
    loss = w2v.cbow_step(
        syn0,
        syn1neg,
        syn1,
        ctx,
        ctx.size,
        False,
        target,
        negs,
        negs.size,
        *NO_PATH,
        0,
        np.float32(lr),
        np.empty((1, d), np.float32),
        *_scratch(d),
    )
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    np.testing.assert_allclose(syn1neg, want1, rtol=1e-5, atol=1e-6)


def test_sg_and_cbow_hs_steps_match_numpy(rng):
    v, d, lr = 12, 8, 0.05
    counts = rng.integers(1, 100, size=v)
    tree = build_huffman_tree(counts)
    target = int(np.argmin(counts))  # the longest path
    code, point, clen = tree.codes[target], tree.points[target], int(tree.codelens[target])
    negs = np.zeros(1, np.int32)
    # skip-gram
    syn0, syn1neg, syn1 = _tables(rng, v, d)
    inp = 2
    ref_loss, dh, ds1 = _hs_reference(syn0[inp].astype(np.float64), syn1.astype(np.float64), code[:clen], point[:clen])
    want0 = syn0.astype(np.float64)
    want0[inp] -= lr * dh
    want1 = syn1.astype(np.float64) - lr * ds1
    loss = w2v.sg_step(
        syn0, syn1neg, syn1, inp, target, negs, -1, tree.codes, tree.points, clen, np.float32(lr), *_scratch(d)
    )
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    np.testing.assert_allclose(syn0, want0, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(syn1, want1, rtol=1e-5, atol=1e-6)
    # CBOW (mean)
    syn0, syn1neg, syn1 = _tables(rng, v, d)
    before_neg = syn1neg.copy()
    ctx = np.array([0, 3, 4], np.int32)
    h = syn0[ctx].astype(np.float64).mean(0)
    ref_loss, dh, ds1 = _hs_reference(h, syn1.astype(np.float64), code[:clen], point[:clen])
    want0 = syn0.astype(np.float64)
    want0[ctx] -= lr * dh
    want1 = syn1.astype(np.float64) - lr * ds1
    loss = w2v.cbow_step(
        syn0,
        syn1neg,
        syn1,
        ctx,
        ctx.size,
        True,
        target,
        negs,
        -1,
        tree.codes,
        tree.points,
        clen,
        np.float32(lr),
        np.empty((1, d), np.float32),
        *_scratch(d),
    )
    assert loss == pytest.approx(ref_loss, rel=1e-5)
    np.testing.assert_allclose(syn0, want0, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(syn1, want1, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(syn1neg, before_neg)  # NS switched off


def test_ns_clipping_follows_word2vec_c(rng):
    d = 4
    syn0 = np.full((3, d), 2.0, np.float32)  # h·u = 16 > MAX_EXP for the positive target
    syn1neg = np.full((3, d), 2.0, np.float32)
    before = syn1neg.copy()
    loss = w2v.sg_step(syn0, syn1neg, syn0, 0, 1, np.zeros(1, np.int32), 0, *NO_PATH, 0, np.float32(0.1), *_scratch(d))
    np.testing.assert_array_equal(syn1neg, before)  # sigmoid counts as 1: no update
    assert loss == pytest.approx(np.log1p(np.exp(-16.0)), rel=1e-4)


# --------------------------------------------------------------------------- whole jobs


def _toy_corpus(rng, v=30, n_sent=60, length=20):
    lens = rng.integers(1, length, size=n_sent)
    offsets = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    # Zipf-ish ids so subsampling and the alias table have something to do
    ids = np.minimum(rng.zipf(1.3, size=offsets[-1]) - 1, v - 1).astype(np.int32)
    counts = np.bincount(ids, minlength=v).astype(np.int64) + 1
    return ids, offsets, counts


def _run_job(
    ids,
    offsets,
    counts,
    *,
    sg,
    hs,
    negative=3,
    seed=5,
    keep=None,
    d=10,
    window=3,
    batch=False,
    touched=None,
    stale=None,
):
    """One train_job over the whole toy corpus; ``batch``: HogBatch (4 skip-gram windows, 8 CBOW targets a block);
    ``touched``: a (3, V) uint8 array the kernel marks the rows it may change in (round training);
    ``stale`` (with ``touched``): (3, V) uint8 rows whose working values are scrambled, to be taken
    from the base (the untouched initial weights) when first marked."""
    v = counts.size
    rng = np.random.default_rng(0)
    syn0 = ((rng.random((v, d), dtype=np.float32) - 0.5) / d).astype(np.float32)
    syn1neg = np.zeros((v, d), np.float32)
    syn1 = np.zeros((v, d), np.float32)
    table = build_alias_table(counts)
    tree = build_huffman_tree(counts)
    if keep is None:
        keep = np.ones(v, np.float32)
    cfg = Word2VecConfig(
        sg=sg,
        hs=hs,
        negative=negative,
        window=window,
        batch_negatives=batch,
        cbow_block=8 if batch else 1,
        sg_block=4 if batch else 1,
        alpha=0.05,
    )
    params = make_params(cfg, int(ids.size))._replace(min_alpha=0.0001)
    tables = Tables(keep, table.prob, table.alias, tree.codes, tree.points, tree.codelens)
    scratch = make_scratch(cfg, ids.size, d, track_rows=0 if touched is None else touched.shape[1])
    if touched is not None:
        scratch = scratch._replace(touched=touched)
    if stale is not None:
        scratch = scratch._replace(stale=stale, base=Weights(syn0.copy(), syn1neg.copy(), syn1.copy()))
        for k, w in enumerate((syn0, syn1neg, syn1)):
            w[stale[k] == 1] = 7.0  # what a copy holds before the kernel brings the row up to date
    out = w2v.train_job(
        params,
        Corpus(ids=ids, offsets=offsets),
        make_job(0, offsets.size - 1, 0, np.uint64(seed)),
        Weights(syn0=syn0, syn1neg=syn1neg, syn1=syn1),
        tables,
        scratch,
    )
    return out, syn0, syn1neg, syn1


@pytest.mark.parametrize(
    "sg,hs,negative,batch",
    [
        (True, False, 3, False),
        (True, False, 3, True),
        (True, True, 2, True),
        (False, False, 3, False),
        (False, False, 3, True),
        (True, True, 0, False),
        (False, True, 2, False),
    ],
)
def test_train_job_is_deterministic_and_seed_dependent(rng, sg, hs, negative, batch):
    ids, offsets, counts = _toy_corpus(rng)
    a = _run_job(ids, offsets, counts, sg=sg, hs=hs, negative=negative, seed=5, batch=batch)
    b = _run_job(ids, offsets, counts, sg=sg, hs=hs, negative=negative, seed=5, batch=batch)
    c = _run_job(ids, offsets, counts, sg=sg, hs=hs, negative=negative, seed=6, batch=batch)
    loss, loss_pairs, pairs, seen = a[0]
    assert seen == ids.size and pairs > 0 and np.isfinite(loss) and loss > 0
    assert 0 < loss_pairs < pairs
    for x, y in zip(a[1:], b[1:]):
        np.testing.assert_array_equal(x, y)
    assert a[0] == b[0]
    assert not np.array_equal(a[1], c[1])
    # the output layer that is switched on was trained, the other left at zero
    assert np.any(a[2] != 0) == (negative > 0)
    assert np.any(a[3] != 0) == hs


@pytest.mark.parametrize(
    "sg,hs,negative,batch",
    [(True, False, 3, True), (True, True, 2, False), (False, False, 3, True), (False, True, 2, False)],
)
def test_train_job_marks_every_row_it_changes_and_trains_the_same(rng, sg, hs, negative, batch):
    ids, offsets, counts = _toy_corpus(rng, v=40)
    keep = np.ones(counts.size, np.float32)
    keep[0] = 0.0  # always dropped by subsampling: its syn0 row never changes, and is not marked
    kw = dict(sg=sg, hs=hs, negative=negative, batch=batch, keep=keep)
    plain = _run_job(ids, offsets, counts, **kw)
    touched = np.zeros((3, counts.size), np.uint8)
    tracked = _run_job(ids, offsets, counts, **kw, touched=touched)
    start = _run_job(ids[:0], offsets[:1], counts, **kw)  # the initial weights
    for k in range(3):
        np.testing.assert_array_equal(plain[1 + k], tracked[1 + k])  # marking changes nothing trained
        changed = np.flatnonzero(np.any(tracked[1 + k] != start[1 + k], axis=1))
        assert set(changed) <= set(np.flatnonzero(touched[k]))  # a superset of the changed rows
    assert touched[0, 0] == 0 and touched[0].sum() > 0 and touched[1].sum() > 0
    assert (touched[2].sum() > 0) == hs


@pytest.mark.parametrize(
    "sg,hs,negative,batch", [(True, False, 3, True), (False, False, 3, True), (True, True, 2, False)]
)
def test_train_job_takes_a_stale_row_from_the_base_when_it_first_marks_it(rng, sg, hs, negative, batch):
    # round training leaves a copy's rows stale after a merge; the kernel must train on the base's values
    ids, offsets, counts = _toy_corpus(rng, v=40)
    kw = dict(sg=sg, hs=hs, negative=negative, batch=batch)
    plain = _run_job(ids, offsets, counts, **kw, touched=np.zeros((3, counts.size), np.uint8))
    stale = (rng.random((3, counts.size)) < 0.5).astype(np.uint8)
    was = stale.copy()
    touched = np.zeros((3, counts.size), np.uint8)
    lazy = _run_job(ids, offsets, counts, **kw, touched=touched, stale=stale)
    for k in range(3):
        used = touched[k] == 1
        np.testing.assert_array_equal(lazy[1 + k][used], plain[1 + k][used])  # trained as if up to date
        assert not stale[k][used].any()  # brought up to date once
        assert (lazy[1 + k][~used & (was[k] == 1)] == 7.0).all()  # rows it never used are left alone
        assert (stale[k][~used] == was[k][~used]).all()


def test_train_job_subsampling_drops_words(rng):
    ids, offsets, counts = _toy_corpus(rng)
    keep = np.ones(counts.size, np.float32)
    keep[0] = 0.0  # the most frequent word is always dropped
    (_, _, pairs_all, _), *_ = _run_job(ids, offsets, counts, sg=True, hs=False)
    (_, _, pairs_sub, seen), syn0, syn1neg, _ = _run_job(ids, offsets, counts, sg=True, hs=False, keep=keep)
    assert seen == ids.size  # progress still counts every token
    assert pairs_sub < pairs_all
    # word 0 was never a positive target (its output row only moves when drawn as a negative,
    # which pushes it away) and never an input
    init = _run_job(ids[:0], offsets[:1], counts, sg=True, hs=False)[1]
    np.testing.assert_array_equal(syn0[0], init[0])


def test_train_job_learns_a_planted_structure():
    """Two disjoint 'topics' of words never share a sentence: vectors should separate them."""
    rng = np.random.default_rng(1)
    v, n_sent, length = 20, 600, 12
    topic = rng.integers(0, 2, size=n_sent)
    ids = np.concatenate([rng.integers(0, 10, size=length) + 10 * t for t in topic]).astype(np.int32)
    offsets = (np.arange(n_sent + 1) * length).astype(np.int64)
    counts = np.bincount(ids, minlength=v).astype(np.int64)
    for sg, batch in ((True, False), (True, True), (False, False), (False, True)):
        _, syn0, _, _ = _run_job(ids, offsets, counts, sg=sg, hs=False, negative=5, d=16, window=4, batch=batch)
        u = syn0 / np.linalg.norm(syn0, axis=1, keepdims=True)
        sim = u @ u.T
        same = np.mean([sim[i, j] for i in range(v) for j in range(v) if i != j and i // 10 == j // 10])
        diff = np.mean([sim[i, j] for i in range(v) for j in range(v) if i // 10 != j // 10])
        assert same > diff + 0.3, (sg, batch, same, diff)


def test_table_sigmoid_is_within_2e6_of_exact():
    f = np.linspace(-6.0, 6.0, 20_001).astype(np.float32)
    got = np.array([w2v.sigmoid(np.float32(x)) for x in f])
    exact = 1.0 / (1.0 + np.exp(-f.astype(np.float64)))
    assert np.max(np.abs(got - exact)) < 2e-6


# --------------------------------------------------------------------------- training order


def test_jobs_are_interleaved_like_word2vec_c_threads():
    from kotoba.word2vec.trainer import _interleave_jobs, _make_jobs

    offsets = np.array([0, 3, 5, 9, 10, 14, 20, 21], np.int64)
    jobs = _make_jobs(offsets, 3)
    assert _interleave_jobs(jobs, offsets, 1) == jobs  # one thread: front to back
    for parts in (2, 3, 4, 10):
        order = _interleave_jobs(jobs, offsets, parts)
        assert sorted(j[:2] for j in order) == sorted(j[:2] for j in jobs)  # every job exactly once
        sizes = [int(offsets[s1] - offsets[s0]) for s0, s1, _ in order]
        assert [p for _, _, p in order] == list(np.cumsum([0] + sizes[:-1]))  # lr position = tokens before it
    # two threads: the first half's and the second half's jobs alternate, each half in corpus order
    assert [j[0] for j in _interleave_jobs(jobs, offsets, 2)] == [0, 5, 1, 6, 3]
