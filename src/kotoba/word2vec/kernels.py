"""Numba word2vec kernels: skip-gram / CBOW with negative sampling and/or hierarchical softmax.

Everything here works on plain arrays (no kotoba objects inside jitted code) and follows
word2vec.c's update rules:

* **Skip-gram**: for a centre word ``w`` and each context word ``c`` in its (randomly reduced)
  window, the input row ``syn0[c]`` predicts ``w``: positive target ``w``, ``negative`` sampled
  negatives (a sample equal to ``w`` is skipped), and/or the Huffman path of ``w``.
* **CBOW**: the hidden vector is the sum (``cbow_mean=False``) or mean (``cbow_mean=True``) of
  the context rows; the error ``neu1e`` accumulated over the targets is added *undivided* to
  every context row — word2vec.c's rule even in mean mode (the exact gradient of the mean would
  be ``neu1e / n_ctx``; word2vec.c's larger step is what its default ``alpha`` is tuned for).
* Output rows are updated with the pre-update hidden vector, the input row(s) once after all
  targets, so one step equals a plain SGD step on the summed loss when the targets are distinct.

* **HogBatch skip-gram** (:func:`sg_window_step`, the trainer's default for skip-gram with
  negative sampling): the context words of one window share one set of negatives, so only K
  random draws are made per window; the target's row is a minibatch over the window, each negative
  row is stepped pair by pair in a copy of the thread's own.
* **HogBatch CBOW** (:func:`cbow_block_step`, the default for CBOW with negative sampling only):
  ``block`` consecutive CBOW examples share one set of negatives and are updated as one
  minibatch, so the K negative rows are read once per block. With more than one thread, the input
  rows of the most frequent words come from the thread's own copy of them, rows the trainer
  appends to ``syn0`` for each thread (``scratch.hot_base``) and adds back into the shared rows
  after every job (:func:`sync_hot`): Hogwild threads writing the same hot rows move their cache
  lines between cores on nearly every update.

Sigmoid: interpolated from a table (:func:`sigmoid`, within 2e-6 of ``1/(1+exp(-f))``), with
word2vec.c's MAX_EXP = 6 clipping: for negative sampling ``f > 6`` counts as sigmoid 1 and
``f < -6`` as 0; for hierarchical softmax a node with ``|f| >= 6`` is skipped (as word2vec.c
does). The loss ``-log sigmoid(±f)`` is computed exactly (softplus), clipped or not, on every
LOSS_EVERY-th step.

Speed notes (measured on PTB, see bench/word2vec_vs_gensim.py): the step functions are inlined
into the job loop (a call passing a dozen arrays costs as much as a small step); ``train_job``
borrows every array it is given (:func:`kotoba.word2vec.lowlevel.borrow`), so no helper call
counts references on them (an atomic write to memory every thread shares), and shared matrices
are indexed ``m[row, i]``, never sliced into row views; the rows of the next step are prefetched
while a step computes; the trainer pads rows to a multiple of 8 floats so the vector loops have no
scalar tail.

Randomness: a per-job xorshift64* generator seeded (through splitmix64) from a 64-bit seed the
trainer derives from its ``numpy.random.Generator`` — draws the reduced window, the subsampling
coin, and the negatives (alias method, see :mod:`kotoba.word2vec.sampling`).

The learning rate decays linearly from ``alpha`` to ``min_alpha`` over ``total_words`` (vocabulary
tokens × epochs, counted before subsampling, as word2vec.c does); ``word_pos`` is where this job
starts in that count, so the schedule does not depend on thread timing. It is recomputed at the
start of every sentence and every 1024 centre words inside long sentences.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from kotoba.word2vec.lowlevel import borrow, prefetch_row

MAX_EXP = np.float32(6.0)

# Reassociation lets LLVM vectorise the float32 dot products; no 'nnan'/'ninf' so NaN checks
# and the softplus of large arguments stay correct.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}

_JIT = dict(cache=True, nogil=True, fastmath=FASTMATH)

_ZERO = np.float32(0.0)
_ONE = np.float32(1.0)


# --------------------------------------------------------------------------- random numbers


@njit(cache=True, nogil=True, inline="always")
def seed_state(seed: np.uint64) -> np.uint64:
    """splitmix64 finaliser of ``seed`` -> a non-zero xorshift64* state."""
    z = seed + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    if z == np.uint64(0):
        z = np.uint64(0x2545F4914F6CDD1D)
    return z


@njit(cache=True, nogil=True, inline="always")
def next_state(s: np.uint64) -> np.uint64:
    s ^= s >> np.uint64(12)
    s ^= s << np.uint64(25)
    s ^= s >> np.uint64(27)
    return s


@njit(cache=True, nogil=True, inline="always")
def output(s: np.uint64) -> np.uint64:
    """xorshift64*: the multiply scrambles the weak low bits of the plain xorshift state."""
    return s * np.uint64(0x2545F4914F6CDD1D)


@njit(cache=True, nogil=True, inline="always")
def bounded(r: np.uint64, n: int) -> int:
    """Map the high 32 bits of ``r`` to [0, n) by multiply-shift (no division)."""
    return int(((r >> np.uint64(32)) * np.uint64(n)) >> np.uint64(32))


@njit(cache=True, nogil=True, inline="always")
def unit_float(r: np.uint64) -> np.float32:
    """24 middle bits of ``r`` as a float32 in [0, 1)."""
    return np.float32((r >> np.uint64(8)) & np.uint64(0xFFFFFF)) * np.float32(1.0 / 16777216.0)


@njit(cache=True, nogil=True, inline="always")
def draw_negative(r: np.uint64, prob: np.ndarray, alias: np.ndarray) -> int:
    """One alias-method draw from a single 64-bit random number (index from the high bits, coin from the low)."""
    i = bounded(r, prob.size)
    if unit_float(r) >= prob[i]:
        i = alias[i]
    return i


@njit(cache=True, nogil=True, inline="always")
def draw_negatives(state: np.uint64, negs: np.ndarray, count: int, prob: np.ndarray, alias: np.ndarray) -> np.uint64:
    """Fill ``negs[:count]`` with alias-method draws; returns the advanced generator state."""
    for k in range(count):
        state = next_state(state)
        negs[k] = draw_negative(output(state), prob, alias)
    return state


@njit(cache=True, nogil=True, inline="always")
def gather_context(sen: np.ndarray, left: int, right: int, centre: int, ctx: np.ndarray) -> int:
    """Copy ``sen[left:right]`` without position ``centre`` into ``ctx``; returns how many."""
    n = 0
    for j in range(left, right):
        if j != centre:
            ctx[n] = sen[j]
            n += 1
    return n


# --------------------------------------------------------------------------- building blocks


# sigmoid on [-MAX_EXP, MAX_EXP] from a 1025-point table with linear interpolation: one lookup
# instead of a libm expf call (the single most expensive instruction of a training step), and
# within 2e-6 of the exact value (the interpolation error is at most h^2/8 * max|sigmoid''| with
# h = 12/1024), unlike word2vec.c's 1000-entry step table (error up to 3e-3).
SIGMOID_POINTS = 1024
_SIGMOID_TABLE = (1.0 / (1.0 + np.exp(-np.linspace(-6.0, 6.0, SIGMOID_POINTS + 1)))).astype(np.float32)
_SIGMOID_SCALE = np.float32(SIGMOID_POINTS / 12.0)


@njit(**_JIT, inline="always")
def sigmoid(f: np.float32) -> np.float32:
    """σ(f) for -MAX_EXP <= f <= MAX_EXP (callers clip), interpolated from the table."""
    x = (f + MAX_EXP) * _SIGMOID_SCALE
    i = int(x)
    if i >= SIGMOID_POINTS:
        i = SIGMOID_POINTS - 1
    elif i < 0:
        i = 0
    lo = _SIGMOID_TABLE[i]
    return lo + (x - np.float32(i)) * (_SIGMOID_TABLE[i + 1] - lo)


@njit(**_JIT, inline="always")
def _softplus(x: np.float32) -> np.float32:
    """log(1 + exp(x)) without overflow."""
    if x > _ZERO:
        return x + np.float32(np.log1p(np.exp(-x)))
    return np.float32(np.log1p(np.exp(x)))


# The steps index shared matrices as m[row, i] instead of taking row views (m[row]): in Numba a
# view of an array is a new reference to its memory, i.e. an atomic increment and decrement of a
# reference count that every worker thread shares -- cache-line ping-pong between cores on each
# target of each step. (Views of the arrays train_job borrows carry no count; the steps are also
# called with ordinary arrays.)


@njit(**_JIT, inline="always")
def ns_coef(f: np.float32, label: np.float32, lr: np.float32) -> np.float32:
    """The step ``(label - σ(f)) · lr`` of one negative-sampling score ``f``, with word2vec.c's clipping:
    beyond ``±MAX_EXP`` the sigmoid counts as exactly 1 or 0."""
    if f > MAX_EXP:
        return (label - _ONE) * lr
    if f < -MAX_EXP:
        return label * lr
    return (label - sigmoid(f)) * lr


@njit(**_JIT, inline="always")
def ns_loss(f: np.float32, label: np.float32) -> float:
    """``-log σ(f)`` for label 1 (a target, an HS branch taken), ``-log σ(-f)`` for label 0, exactly (softplus)."""
    return _softplus(-f) if label > _ZERO else _softplus(f)


@njit(**_JIT, inline="always")
def ns_update(hm, hr, syn1neg, target, negs, nneg, lr, neu1e, gbuf, want_loss=True) -> float:
    """Negative sampling for the hidden vector ``hm[hr]`` (D,): updates ``syn1neg`` rows, adds to ``neu1e`` (D,).

    Target ``target`` has label 1, ``negs[:nneg]`` label 0 (entries equal to ``target`` skipped).
    gbuf: (>= nneg + 1,) float32 scratch. Returns the summed loss
    ``-log σ(h·u_t) - Σ log σ(-h·u_n)`` (0 unless ``want_loss``).
    """
    d = hm.shape[1]
    loss = 0.0
    # all scores first: independent dot products the CPU overlaps, then the updates
    for k in range(nneg + 1):
        if k == 0:
            t = target
            label = _ONE
        else:
            t = negs[k - 1]
            if t == target:
                gbuf[k] = _ZERO
                continue
            label = _ZERO
        f = _ZERO
        for i in range(d):
            f += hm[hr, i] * syn1neg[t, i]
        if want_loss:
            loss += ns_loss(f, label)
        gbuf[k] = ns_coef(f, label, lr)
    for k in range(nneg + 1):
        g = gbuf[k]
        if g != _ZERO:
            t = target if k == 0 else negs[k - 1]
            for i in range(d):
                neu1e[i] += g * syn1neg[t, i]
            for i in range(d):
                syn1neg[t, i] += g * hm[hr, i]
    return loss


@njit(**_JIT, inline="always")
def hs_update(hm, hr, syn1, codes, points, target, clen, lr, neu1e, want_loss=True) -> float:
    """Hierarchical softmax along the Huffman path of ``target`` (its first ``clen`` nodes) for ``hm[hr]``.

    At each inner node ``points[target, k]`` the probability of the branch taken is ``σ(h·v)`` for
    code 0 and ``σ(-h·v)`` for code 1 (word2vec.c). Adds to ``neu1e``; returns the summed
    ``-log`` probability (0 unless ``want_loss``).
    """
    d = hm.shape[1]
    loss = 0.0
    for k in range(clen):
        p = points[target, k]
        f = _ZERO
        for i in range(d):
            f += hm[hr, i] * syn1[p, i]
        label = _ONE - np.float32(codes[target, k])
        if want_loss:
            loss += ns_loss(f, label)
        if f <= -MAX_EXP or f >= MAX_EXP:
            continue
        g = (label - sigmoid(f)) * lr
        for i in range(d):
            neu1e[i] += g * syn1[p, i]
        for i in range(d):
            syn1[p, i] += g * hm[hr, i]
    return loss


# --------------------------------------------------------------------------- one training step


@njit(**_JIT, inline="always")
def sg_step(
    syn0, syn1neg, syn1, inp, target, negs, nneg, codes, points, clen, lr, neu1e, gbuf, want_loss=True
) -> float:
    """One skip-gram step: input word ``inp`` predicts ``target``.

    syn0: (V, D) input vectors, syn1neg: (V, D) NS output vectors, syn1: (V, D) HS inner-node
    vectors; negs: (>= nneg,) int negatives; codes/points: (V, L) Huffman tree, of which the
    first ``clen`` nodes of ``target``'s path are used (``clen = 0`` disables HS; ``nneg = -1``
    disables NS, while ``nneg = 0`` still trains the positive target alone). neu1e: (D,) and
    gbuf: (>= nneg + 1,) float32 scratch. Returns the summed loss of the step (0 unless ``want_loss``).
    """
    d = syn0.shape[1]
    for i in range(d):
        neu1e[i] = _ZERO
    loss = 0.0
    if clen > 0:
        loss += hs_update(syn0, inp, syn1, codes, points, target, clen, lr, neu1e, want_loss)
    if nneg >= 0:
        loss += ns_update(syn0, inp, syn1neg, target, negs, nneg, lr, neu1e, gbuf, want_loss)
    for i in range(d):
        syn0[inp, i] += neu1e[i]
    return loss


@njit(**_JIT, inline="always")
def cbow_step(
    syn0,
    syn1neg,
    syn1,
    ctx,
    nctx,
    cbow_mean,
    target,
    negs,
    nneg,
    codes,
    points,
    clen,
    lr,
    neu1,
    neu1e,
    gbuf,
    want_loss=True,
) -> float:
    """One CBOW step: context words ``ctx[:nctx]`` (nctx >= 1) predict ``target``.

    Same arrays and switches as :func:`sg_step`; neu1 is (1, D) scratch for the hidden vector.
    Every context row receives the full ``neu1e`` (word2vec.c's rule, also in mean mode).
    """
    d = syn0.shape[1]
    for i in range(d):
        neu1[0, i] = _ZERO
        neu1e[i] = _ZERO
    for j in range(nctx):
        c = ctx[j]
        for i in range(d):
            neu1[0, i] += syn0[c, i]
    if cbow_mean and nctx > 1:
        inv = _ONE / np.float32(nctx)
        for i in range(d):
            neu1[0, i] *= inv
    loss = 0.0
    if clen > 0:
        loss += hs_update(neu1, 0, syn1, codes, points, target, clen, lr, neu1e, want_loss)
    if nneg >= 0:
        loss += ns_update(neu1, 0, syn1neg, target, negs, nneg, lr, neu1e, gbuf, want_loss)
    for j in range(nctx):
        c = ctx[j]
        for i in range(d):
            syn0[c, i] += neu1e[i]
    return loss


@njit(**_JIT)
def sg_window_step(syn0, syn1neg, ctx, nctx, target, negs, nneg, lr, grad, err, rows, want_loss=True) -> float:
    """HogBatch skip-gram step (arXiv 1611.06172): every context word in ``ctx[:nctx]`` predicts
    ``target`` against the *same* negatives ``negs[:nneg]``, and the input rows are updated once, at
    the end.

    The positive term is a minibatch: every context word is scored against the target's output row
    as the window found it, and the row takes the summed update last. Each negative's row is stepped
    pair by pair instead: context word j is scored against it as the words before j left it, so the
    window's related context words do not all push a negative row by the same stale score (the
    minibatch rule for the negatives cost IMDb skip-gram 0.003 WS353 and 0.18 analogy points, 24 runs
    against 12, BENCHMARKS.md). A negative equal to the target is skipped; one drawn twice is stepped twice.
    The negative rows are stepped in this thread's own copies of them, ``rows[:nneg]`` (their values
    at the start in ``rows[nneg:2 nneg]``), and what changed is added to the shared rows at the end:
    written pair by pair, a hot shared row would move between the cores' caches on every pair (on 2
    threads the copies made the step 1.04x faster; bench/kernel_ab.py). grad: (>= nctx, >= 1), err: (>= nctx, D)
    and rows: (>= 2 nneg, D) float32 scratch. Returns the summed loss (0 unless ``want_loss``).
    """
    d = syn0.shape[1]
    for t in range(nneg):
        r = negs[t]
        if r != target and _slot(negs, t) == t:
            for i in range(d):
                rows[t, i] = rows[nneg + t, i] = syn1neg[r, i]
    # three, two or one different negative rows at a time (in the order drawn), each pass stepping them
    # for every context word in turn
    t = _distinct_run(target, negs, 0, nneg)
    if t == 3:  # (nearly always) the target row is scored in the first three negatives' passes
        loss = _sg_pairs_target3(syn0, syn1neg, ctx, nctx, target, rows, 0, 1, 2, lr, grad, err, want_loss)
    else:
        loss = _sg_positive(syn0, syn1neg, ctx, nctx, target, lr, grad, err, want_loss)
        t = 0
    while t < nneg:
        m = _distinct_run(target, negs, t, nneg)
        if m == 3:
            sa, sb, sc = _slot(negs, t), _slot(negs, t + 1), _slot(negs, t + 2)
            loss += _sg_pairs3(syn0, rows, ctx, nctx, sa, sb, sc, lr, err, want_loss)
        elif m == 2:
            loss += _sg_pairs2(syn0, rows, ctx, nctx, _slot(negs, t), _slot(negs, t + 1), lr, err, want_loss)
        elif m == 1:
            loss += _sg_pairs1(syn0, rows, ctx, nctx, _slot(negs, t), lr, err, want_loss)
        t += max(m, 1)  # (0: a negative equal to the target)
    for t in range(nneg):
        r = negs[t]
        if r != target and _slot(negs, t) == t:
            for i in range(d):
                syn1neg[r, i] += rows[t, i] - rows[nneg + t, i]
    _sg_window_end(syn0, syn1neg, ctx, nctx, target, grad, err)
    return loss


@njit(**_JIT, inline="always")
def _sg_window_end(syn0, syn1neg, ctx, nctx, target, grad, err) -> None:
    """The target row's summed update from the input rows as the window found them (four context rows
    per pass), then the input rows' errors."""
    d = syn0.shape[1]
    j = 0
    while j + 4 <= nctx:
        c0, c1, c2, c3 = ctx[j], ctx[j + 1], ctx[j + 2], ctx[j + 3]
        g0, g1, g2, g3 = grad[j, 0], grad[j + 1, 0], grad[j + 2, 0], grad[j + 3, 0]
        for i in range(d):
            syn1neg[target, i] = (
                syn1neg[target, i] + g0 * syn0[c0, i] + g1 * syn0[c1, i] + g2 * syn0[c2, i] + g3 * syn0[c3, i]
            )
        j += 4
    for k in range(j, nctx):
        g0, c = grad[k, 0], ctx[k]
        for i in range(d):
            syn1neg[target, i] += g0 * syn0[c, i]
    for k in range(nctx):
        c = ctx[k]
        for i in range(d):
            syn0[c, i] += err[k, i]


@njit(**_JIT, inline="always")
def _slot(negs: np.ndarray, t: int) -> int:
    """Where negative ``t``'s row is copied: the first draw of the same row."""
    for u in range(t):
        if negs[u] == negs[t]:
            return u
    return t


@njit(**_JIT, inline="always")
def _distinct_run(target: int, negs: np.ndarray, t: int, nneg: int) -> int:
    """How many of the negatives from ``negs[t]`` on (at most three) are different rows, none the
    target: 0 when ``negs[t]`` is the target."""
    a = negs[t]
    if a == target:
        return 0
    if t + 1 >= nneg or negs[t + 1] == a or negs[t + 1] == target:
        return 1
    b = negs[t + 1]
    if t + 2 >= nneg or negs[t + 2] == a or negs[t + 2] == b or negs[t + 2] == target:
        return 2
    return 3


@njit(**_JIT, inline="always")
def _sg_positive(syn0, syn1neg, ctx, nctx, target, lr, grad, err, want_loss) -> float:
    """The positive term of a skip-gram window: ``grad[j, 0]``, the step of context word j scored
    against the target row (four context rows per pass), and ``err[j]`` set to its share of the
    error. Returns its loss (0 unless ``want_loss``)."""
    d = syn0.shape[1]
    j = 0
    while j + 4 <= nctx:
        c0, c1, c2, c3 = ctx[j], ctx[j + 1], ctx[j + 2], ctx[j + 3]
        f0 = f1 = f2 = f3 = _ZERO
        for i in range(d):
            x = syn1neg[target, i]
            f0 += syn0[c0, i] * x
            f1 += syn0[c1, i] * x
            f2 += syn0[c2, i] * x
            f3 += syn0[c3, i] * x
        grad[j, 0], grad[j + 1, 0], grad[j + 2, 0], grad[j + 3, 0] = f0, f1, f2, f3
        j += 4
    for k in range(j, nctx):
        c = ctx[k]
        f = _ZERO
        for i in range(d):
            f += syn0[c, i] * syn1neg[target, i]
        grad[k, 0] = f
    loss = 0.0
    for k in range(nctx):
        f = grad[k, 0]
        if want_loss:
            loss += ns_loss(f, _ONE)
        g = ns_coef(f, _ONE, lr)
        grad[k, 0] = g
        for i in range(d):
            err[k, i] = g * syn1neg[target, i]
    return loss


@njit(**_JIT, inline="always")
def _sg_pairs_target3(syn0, syn1neg, ctx, nctx, target, out, ra, rb, rc, lr, grad, err, want_loss) -> float:
    """Context word j against the target row ``syn1neg[target]`` (read, not updated: its step goes to
    ``grad[j, 0]``) and three different negative rows ``out[ra]``, ``out[rb]``, ``out[rc]`` as the
    words before j left them, in one pass; then ``err[j]`` set and the negative rows stepped in
    another. Returns the loss (0 unless ``want_loss``)."""
    d = syn0.shape[1]
    loss = 0.0
    for j in range(nctx):
        c = ctx[j]
        f0 = fa = fb = fc = _ZERO
        for i in range(d):
            s = syn0[c, i]
            f0 += s * syn1neg[target, i]
            fa += s * out[ra, i]
            fb += s * out[rb, i]
            fc += s * out[rc, i]
        if want_loss:
            loss += ns_loss(f0, _ONE) + ns_loss(fa, _ZERO) + ns_loss(fb, _ZERO) + ns_loss(fc, _ZERO)
        g0, ga, gb, gc = ns_coef(f0, _ONE, lr), ns_coef(fa, _ZERO, lr), ns_coef(fb, _ZERO, lr), ns_coef(fc, _ZERO, lr)
        grad[j, 0] = g0
        for i in range(d):
            s, xa, xb, xc = syn0[c, i], out[ra, i], out[rb, i], out[rc, i]
            err[j, i] = g0 * syn1neg[target, i] + ga * xa + gb * xb + gc * xc
            out[ra, i] = xa + ga * s
            out[rb, i] = xb + gb * s
            out[rc, i] = xc + gc * s
    return loss


@njit(**_JIT, inline="always")
def _sg_pairs3(syn0, out, ctx, nctx, ra, rb, rc, lr, err, want_loss) -> float:
    """Three different negative rows ``out[ra]``, ``out[rb]``, ``out[rc]`` stepped pair by pair: context
    word j scored against each as the words before j left it (one pass), then the steps added to
    ``err[j]`` and to the rows (another). Returns the loss (0 unless ``want_loss``)."""
    d = syn0.shape[1]
    loss = 0.0
    for j in range(nctx):
        c = ctx[j]
        fa = fb = fc = _ZERO
        for i in range(d):
            s = syn0[c, i]
            fa += s * out[ra, i]
            fb += s * out[rb, i]
            fc += s * out[rc, i]
        if want_loss:
            loss += ns_loss(fa, _ZERO) + ns_loss(fb, _ZERO) + ns_loss(fc, _ZERO)
        ga, gb, gc = ns_coef(fa, _ZERO, lr), ns_coef(fb, _ZERO, lr), ns_coef(fc, _ZERO, lr)
        for i in range(d):
            s, xa, xb, xc = syn0[c, i], out[ra, i], out[rb, i], out[rc, i]
            err[j, i] = err[j, i] + ga * xa + gb * xb + gc * xc
            out[ra, i] = xa + ga * s
            out[rb, i] = xb + gb * s
            out[rc, i] = xc + gc * s
    return loss


@njit(**_JIT, inline="always")
def _sg_pairs2(syn0, out, ctx, nctx, ra, rb, lr, err, want_loss) -> float:
    """:func:`_sg_pairs3` for two different negative rows."""
    d = syn0.shape[1]
    loss = 0.0
    for j in range(nctx):
        c = ctx[j]
        fa = fb = _ZERO
        for i in range(d):
            s = syn0[c, i]
            fa += s * out[ra, i]
            fb += s * out[rb, i]
        if want_loss:
            loss += ns_loss(fa, _ZERO) + ns_loss(fb, _ZERO)
        ga, gb = ns_coef(fa, _ZERO, lr), ns_coef(fb, _ZERO, lr)
        for i in range(d):
            s, xa, xb = syn0[c, i], out[ra, i], out[rb, i]
            err[j, i] = err[j, i] + ga * xa + gb * xb
            out[ra, i] = xa + ga * s
            out[rb, i] = xb + gb * s
    return loss


@njit(**_JIT, inline="always")
def _sg_pairs1(syn0, out, ctx, nctx, r, lr, err, want_loss) -> float:
    """:func:`_sg_pairs3` for one negative row."""
    d = syn0.shape[1]
    loss = 0.0
    for j in range(nctx):
        c = ctx[j]
        f = _ZERO
        for i in range(d):
            f += syn0[c, i] * out[r, i]
        if want_loss:
            loss += ns_loss(f, _ZERO)
        g = ns_coef(f, _ZERO, lr)
        for i in range(d):
            s, x = syn0[c, i], out[r, i]
            err[j, i] += g * x
            out[r, i] = x + g * s
    return loss


@njit(**_JIT, inline="always")
def _row(c: int, nhot: int, hot_base: int) -> int:
    """The input row a blocked step uses for word ``c``: the thread's copy of a hot row, else ``c``."""
    return c + hot_base if c < nhot else c


@njit(**_JIT, inline="always")
def _out_row(target: int, negs: np.ndarray, t: int) -> int:
    """Output row of term ``t`` of an example: its target (t = 0) or negative t - 1."""
    return target if t == 0 else negs[t - 1]


@njit(**_JIT, inline="always")
def _block_loss(scores, targets, n, negs, nneg) -> float:
    """The loss of ``n`` examples' scores ``scores[b, t]`` (t = 0 the target ``targets[b]``, t > 0 negative
    t - 1; a negative equal to the example's target does not count)."""
    loss = 0.0
    for b in range(n):
        loss += ns_loss(scores[b, 0], _ONE)
    for t in range(1, nneg + 1):
        for b in range(n):
            if negs[t - 1] != targets[b]:
                loss += ns_loss(scores[b, t], _ZERO)
    return loss


@njit(**_JIT, inline="always")
def _block_steps(grad, targets, n, negs, nneg, lr) -> None:
    """Scores ``grad[:n, :nneg + 1]`` (as in :func:`_block_loss`) -> their steps, in place (0 for a
    negative equal to the example's target). A pass of its own: computed inside the loops that score,
    the steps cost the (then minibatch) skip-gram windows 6 % (kernel A/B)."""
    for b in range(n):
        grad[b, 0] = ns_coef(grad[b, 0], _ONE, lr)
        for t in range(1, nneg + 1):
            grad[b, t] = _ZERO if negs[t - 1] == targets[b] else ns_coef(grad[b, t], _ZERO, lr)


@njit(**_JIT)
def cbow_block_step(
    syn0, nhot, hot_base, syn1neg, bctx, bnctx, btgt, nb, cbow_mean, negs, nneg, lr, h, grad, err, want_loss=True
):
    """HogBatch CBOW step: ``nb`` consecutive CBOW examples share the negatives ``negs[:nneg]``.

    Example b: context rows ``bctx[b, :bnctx[b]]`` (bnctx[b] >= 1) predict ``btgt[b]``. All
    hidden vectors and scores come from the pre-update rows, then the output rows and the input
    rows are updated: one plain SGD step on the block's summed loss (with word2vec.c's rule that
    each context row receives its example's full error, also in mean mode). The K negative rows
    are read once per block instead of once per target, and only K random draws are needed per
    block; the per-block work is a small (nb, D) x (D, K+1) product. Scratch: h and err (>= nb, D),
    grad (>= nb, >= nneg+1) float32. ``syn0[hot_base + c]`` is this thread's own copy of input row
    ``c < nhot`` (the most frequent words), read and updated instead of row ``c`` (nhot = 0: none;
    see :func:`sync_hot`). Returns the summed loss (0 unless ``want_loss``).
    """
    d = syn0.shape[1]
    for b in range(nb):
        # The sum from left to right, two rows per pass over h (the same additions in the same order).
        # A thread's copy of a hot row is a row of the same matrix, so choosing it is a select on the
        # row number: a branch around two loops here cost single-thread runs 11 % (text8 CBOW; about
        # 70 % of context words are hot, so it was mispredicted often).
        nc = bnctx[b]
        r = _row(bctx[b, 0], nhot, hot_base)
        if nc >= 2:
            r1 = _row(bctx[b, 1], nhot, hot_base)
            for i in range(d):
                h[b, i] = syn0[r, i] + syn0[r1, i]
            j = 2
        else:
            for i in range(d):
                h[b, i] = syn0[r, i]
            j = 1
        while j + 2 <= nc:
            r0, r1 = _row(bctx[b, j], nhot, hot_base), _row(bctx[b, j + 1], nhot, hot_base)
            for i in range(d):
                h[b, i] = h[b, i] + syn0[r0, i] + syn0[r1, i]
            j += 2
        if j < nc:
            r = _row(bctx[b, j], nhot, hot_base)
            for i in range(d):
                h[b, i] += syn0[r, i]
        if cbow_mean and bnctx[b] > 1:
            inv = _ONE / np.float32(bnctx[b])
            for i in range(d):
                h[b, i] *= inv
    # the scores first (a negative row against four hidden vectors per pass over it), then the loss
    # and the steps in their own passes
    for b in range(nb):
        row = btgt[b]
        f = _ZERO
        for i in range(d):
            f += h[b, i] * syn1neg[row, i]
        grad[b, 0] = f
    for t in range(1, nneg + 1):
        row = negs[t - 1]
        b = 0
        while b + 4 <= nb:
            f0 = f1 = f2 = f3 = _ZERO
            for i in range(d):
                r = syn1neg[row, i]
                f0 += h[b, i] * r
                f1 += h[b + 1, i] * r
                f2 += h[b + 2, i] * r
                f3 += h[b + 3, i] * r
            grad[b, t], grad[b + 1, t], grad[b + 2, t], grad[b + 3, t] = f0, f1, f2, f3
            b += 4
        for c in range(b, nb):
            f = _ZERO
            for i in range(d):
                f += h[c, i] * syn1neg[row, i]
            grad[c, t] = f
    loss = _block_loss(grad, btgt, nb, negs, nneg) if want_loss else 0.0
    _block_steps(grad, btgt, nb, negs, nneg, lr)
    # errors from the pre-update output rows, then the output rows (each read once per block for
    # the negatives), then the input rows. The terms are added three (errors) or four (a negative
    # row's updates from the block) per pass over the row: the same additions in the same order as
    # one pass per term, with the destination loaded and stored once per group instead of per term.
    for b in range(nb):
        t = 0
        if nneg < 2:
            for i in range(d):
                err[b, i] = _ZERO
        else:  # the first three terms set the error
            r0, r1, r2, g0, g1, g2 = btgt[b], negs[0], negs[1], grad[b, 0], grad[b, 1], grad[b, 2]
            for i in range(d):
                err[b, i] = g0 * syn1neg[r0, i] + g1 * syn1neg[r1, i] + g2 * syn1neg[r2, i]
            t = 3
        while t + 3 <= nneg + 1:
            r0, r1, r2 = _out_row(btgt[b], negs, t), _out_row(btgt[b], negs, t + 1), _out_row(btgt[b], negs, t + 2)
            g0, g1, g2 = grad[b, t], grad[b, t + 1], grad[b, t + 2]
            for i in range(d):
                err[b, i] = err[b, i] + g0 * syn1neg[r0, i] + g1 * syn1neg[r1, i] + g2 * syn1neg[r2, i]
            t += 3
        for u in range(t, nneg + 1):
            r0, g0 = _out_row(btgt[b], negs, u), grad[b, u]
            for i in range(d):
                err[b, i] += g0 * syn1neg[r0, i]
    for b in range(nb):
        g = grad[b, 0]
        if g != _ZERO:
            row = btgt[b]
            for i in range(d):
                syn1neg[row, i] += g * h[b, i]
    for t in range(1, nneg + 1):
        row = negs[t - 1]
        b = 0
        while b + 4 <= nb:
            g0, g1, g2, g3 = grad[b, t], grad[b + 1, t], grad[b + 2, t], grad[b + 3, t]
            for i in range(d):
                syn1neg[row, i] = (
                    syn1neg[row, i] + g0 * h[b, i] + g1 * h[b + 1, i] + g2 * h[b + 2, i] + g3 * h[b + 3, i]
                )
            b += 4
        for c in range(b, nb):
            g0 = grad[c, t]
            for i in range(d):
                syn1neg[row, i] += g0 * h[c, i]
    for b in range(nb):
        for j in range(bnctx[b]):
            r = _row(bctx[b, j], nhot, hot_base)
            for i in range(d):
                syn0[r, i] += err[b, i]
    return loss


# --------------------------------------------------------------------------- whole jobs

# The loss is only needed for progress reports; computing it (an exp and a log1p per target)
# costs ~15% of skip-gram time on every step and still ~5 % on every 8th (kernel A/B: 32 instead of
# 8 is 1.06x), so it is evaluated on every LOSS_EVERY-th step only: a job of 10,000 words still
# samples about two hundred examples, and every job its first step.
LOSS_EVERY = 32


@njit(**_JIT, inline="always")
def _lr(alpha, min_alpha, pos, total_words) -> np.float32:
    frac = pos / total_words if total_words > 0 else 1.0
    lr = alpha - (alpha - min_alpha) * frac
    if lr < min_alpha:
        lr = min_alpha
    return np.float32(lr)


@njit(**_JIT)
def _subsample(ids, lo, hi, keep, sen, state):
    """Copy ids[lo:hi] into ``sen`` dropping frequent words with probability 1 - keep[w]. -> (n, state)."""
    n = 0
    for p in range(lo, hi):
        w = ids[p]
        kp = keep[w]
        if kp < _ONE:
            state = next_state(state)
            if kp < unit_float(output(state)):
                continue
        sen[n] = w
        n += 1
    return n, state


@njit(**_JIT, inline="always")
def _draw(state, negs, negative, t, touched, stale, syn1neg, base1, track):
    """:func:`draw_negatives` from the tables ``t``, marking the drawn syn1neg rows (layer 1) in
    ``touched`` (see :func:`_mark_rows`)."""
    state = draw_negatives(state, negs, negative, t.neg_prob, t.neg_alias)
    if track:
        _mark_rows(touched, stale, 1, negs, negative, syn1neg, base1)
    return state


@njit(**_JIT, inline="always")
def _mark_rows(touched, stale, layer, rows, n, work, base):
    """Mark ``rows[:n]`` of ``layer`` in ``touched``. The first time in a round, a row ``stale`` says
    is older than ``base`` (round training merged a newer value there) is first copied from it."""
    for k in range(n):
        r = rows[k]
        if touched[layer, r] == 0:
            touched[layer, r] = 1
            if stale[layer, r]:
                stale[layer, r] = 0
                for i in range(work.shape[1]):
                    work[r, i] = base[r, i]


@njit(**_JIT, inline="always")
def _mark_sentence(touched, stale, base, w8, sen, n, hs, points, codelens):
    """Mark every row a sentence's words can change: syn0 and syn1neg rows of its words (layers 0, 1:
    contexts and targets) and, with HS, the inner nodes on their Huffman paths (layer 2)."""
    _mark_rows(touched, stale, 0, sen, n, w8.syn0, base.syn0)
    _mark_rows(touched, stale, 1, sen, n, w8.syn1neg, base.syn1neg)
    if hs:
        for k in range(n):
            w = sen[k]
            _mark_rows(touched, stale, 2, points[w], codelens[w], w8.syn1, base.syn1)


@njit(**_JIT, inline="always")
def _prefetch_next(syn0, syn1neg, sen, i, n, window, hot) -> None:
    """Request the rows of the example at sentence position ``i`` that are likely not in the cache: its
    target's output row and the input row of the word entering its window (unless that word's input
    row is among the ``hot`` rows the thread keeps its own copy of)."""
    if i < n:
        prefetch_row(syn1neg, sen[i])
        if i + window < n and sen[i + window] >= hot:
            prefetch_row(syn0, sen[i + window])


@njit(**_JIT)
def train_job(params, corpus, job, weights, tables, scratch):
    """Train on sentences ``job.s_begin:job.s_end`` of an encoded corpus (one worker's job).

    The arguments are the named bundles of :mod:`kotoba.word2vec.bundles` (a bundle in the wrong
    place fails to compile instead of training on the wrong array): ``params`` the scalar
    hyper-parameters (:class:`~kotoba.word2vec.bundles.Params`), ``corpus`` the encoded ids,
    ``job`` the sentence range with its learning-rate position and seed, ``weights`` the (V, D)
    float32 matrices updated in place (Hogwild across threads; syn0 followed by the threads' copies
    of its hot rows), ``tables`` the subsampling, negative-sampling and Huffman tables, ``scratch``
    this thread's buffers.
    Returns (loss_sum, loss_pairs, pairs, words_seen): the loss summed over the ``loss_pairs``
    (input, target) pairs it was evaluated on (every LOSS_EVERY-th step), the number of pairs
    trained, and the vocabulary tokens read (before subsampling).
    """
    # every array borrowed (no reference counts, see kotoba.word2vec.lowlevel): otherwise each helper
    # call and inlined helper counts references on the shared matrices, an atomic write per array
    p, w8, t, sc, corpus = params, borrow(weights), borrow(tables), borrow(scratch), borrow(corpus)
    ids, offsets = corpus.ids, corpus.offsets
    syn0, syn1neg, syn1 = w8.syn0, w8.syn1neg, w8.syn1
    codes, points, codelens = t.codes, t.points, t.codelens
    sen, ctx, negs, neu1, neu1e, grad, err = sc.sen, sc.ctx, sc.negs, sc.neu1, sc.neu1e, sc.grad, sc.err
    bctx, bnctx, btgt, bh = sc.bctx, sc.bnctx, sc.btgt, sc.bh
    nhot, hot = sc.hot_rows, sc.hot_base  # the blocked steps' rows of this thread's copy of hot rows
    negative, window, mean = p.negative, p.window, p.cbow_mean
    # round training asks which rows the job may have changed (a superset): the words of its
    # subsampled sentences, the negatives drawn, their HS paths -- so only those are compared
    touched, stale, base1 = sc.touched, sc.stale, sc.base.syn1neg
    track = touched.shape[1] > 0
    state = seed_state(job.seed)
    nneg = negative if negative > 0 else -1
    # CBOW with negative sampling only: examples are gathered into blocks of p.block sharing negatives
    blocked = not p.sg and not p.hs and nneg > 0 and p.block > 1
    # skip-gram with NS only: the pairs of p.sg_block windows are gathered into one block likewise
    sg_blocked = p.sg and p.batch and not p.hs and nneg > 0 and p.sg_block > 1
    per_block = p.block if blocked else (p.sg_block if sg_blocked else 1)
    nb = 0  # examples (CBOW) or pairs (skip-gram) in the block being gathered
    nw = 0  # windows in it (skip-gram)
    # per-target gradients of the per-pair steps; grad is otherwise used only by the HogBatch
    # step, which never runs in the same call as a per-pair NS step
    gbuf = grad[0]
    # HogBatch skip-gram draws each window's negatives one window ahead, to prefetch their rows:
    # the first window's here
    now, nxt = negs[: max(negative, 1)], negs[max(negative, 1) :]
    if p.sg and p.batch and nneg > 0 and not sg_blocked:
        state = _draw(state, now, negative, t, touched, stale, syn1neg, base1, track)
    loss = 0.0
    loss_pairs = 0
    pairs = 0
    steps = 0
    seen = 0
    for s in range(job.s_begin, job.s_end):
        lo = offsets[s]
        hi = offsets[s + 1]
        n, state = _subsample(ids, lo, hi, t.keep, sen, state)
        if track:
            _mark_sentence(touched, stale, sc.base, w8, sen, n, p.hs, points, codelens)
        lr = _lr(p.alpha, p.min_alpha, job.word_pos + seen, p.total_words)
        # Blocks take their examples from per_block lanes spread over the sentence (example k at
        # position (k % per_block) * lanes + k // per_block), so the targets sharing negatives have
        # unrelated contexts: consecutive CBOW targets sharing them cost 1.8 analogy points on text8
        lanes = (n + per_block - 1) // per_block
        span = lanes * per_block
        for k in range(span):
            i = (k % per_block) * lanes + k // per_block
            if i >= n:
                continue
            if k > 0 and (k & 1023) == 0:
                lr = _lr(p.alpha, p.min_alpha, job.word_pos + seen + k * (hi - lo) // span, p.total_words)
            state = next_state(state)
            b = bounded(output(state), window)  # word2vec.c's reduced window: 1..window
            left = max(0, i - window + b)
            right = min(n, i + window - b + 1)
            w = sen[i]
            clen = codelens[w] if p.hs else 0
            if sg_blocked:
                for j in range(left, right):
                    if j != i:
                        bctx[nb, 0] = sen[j]
                        bnctx[nb] = 1
                        btgt[nb] = w
                        nb += 1
                nw += 1
                if nw == p.sg_block:
                    state = _draw(state, negs, negative, t, touched, stale, syn1neg, base1, track)
                    want = steps % LOSS_EVERY == 0
                    loss += cbow_block_step(
                        syn0, nhot, hot, syn1neg, bctx, bnctx, btgt, nb, False, negs, nneg, lr, bh, grad, err, want
                    )
                    if want:
                        loss_pairs += nb
                    pairs += nb
                    steps += 1
                    nb = 0
                    nw = 0
            elif p.sg and p.batch and nneg > 0:
                nctx = gather_context(sen, left, right, i, ctx)
                if nctx == 0:
                    continue
                # the next window's negatives are drawn now, and its rows that are likely not in the
                # cache (the negatives, the next target, the word entering the window) requested,
                # so that they load while this window computes
                state = _draw(state, nxt, negative, t, touched, stale, syn1neg, base1, track)
                for q in range(negative):
                    prefetch_row(syn1neg, nxt[q])
                _prefetch_next(syn0, syn1neg, sen, i + 1, n, window, 0)
                want = steps % LOSS_EVERY == 0
                loss += sg_window_step(syn0, syn1neg, ctx, nctx, w, now, nneg, lr, grad, err, bh, want)
                now, nxt = nxt, now
                if clen > 0:
                    for j in range(nctx):
                        loss += sg_step(
                            syn0, syn1neg, syn1, ctx[j], w, negs, -1, codes, points, clen, lr, neu1e, gbuf, want
                        )
                if want:
                    loss_pairs += nctx
                pairs += nctx
                steps += 1
            elif p.sg:
                for j in range(left, right):
                    if j == i:
                        continue
                    state = _draw(state, negs, negative, t, touched, stale, syn1neg, base1, track)
                    want = steps % LOSS_EVERY == 0
                    loss += sg_step(
                        syn0, syn1neg, syn1, sen[j], w, negs, nneg, codes, points, clen, lr, neu1e, gbuf, want
                    )
                    if want:
                        loss_pairs += 1
                    pairs += 1
                    steps += 1
            elif blocked:
                nctx = 0
                for j in range(left, right):
                    if j != i:
                        bctx[nb, nctx] = sen[j]
                        nctx += 1
                if nctx == 0:
                    continue
                bnctx[nb] = nctx
                btgt[nb] = w
                nb += 1
                # this lane's next example is in the next block: its target and entering context word
                _prefetch_next(syn0, syn1neg, sen, i + 1, n, window, nhot)
                if nb == p.block:
                    # (drawn here, not one block ahead as skip-gram does: ahead cost CBOW on text8
                    # 0.013 SimLex and 0.010 WS353 over 10 seeds at 2 threads, for ~2 % speed)
                    state = _draw(state, negs, negative, t, touched, stale, syn1neg, base1, track)
                    want = steps % LOSS_EVERY == 0
                    loss += cbow_block_step(
                        syn0, nhot, hot, syn1neg, bctx, bnctx, btgt, nb, mean, negs, nneg, lr, bh, grad, err, want
                    )
                    if want:
                        loss_pairs += nb
                    pairs += nb
                    steps += 1
                    nb = 0
            else:
                nctx = gather_context(sen, left, right, i, ctx)
                if nctx == 0:
                    continue
                state = _draw(state, negs, negative, t, touched, stale, syn1neg, base1, track)
                want = steps % LOSS_EVERY == 0
                loss += cbow_step(
                    syn0,
                    syn1neg,
                    syn1,
                    ctx,
                    nctx,
                    p.cbow_mean,
                    w,
                    negs,
                    nneg,
                    codes,
                    points,
                    clen,
                    lr,
                    neu1,
                    neu1e,
                    gbuf,
                    want,
                )
                if want:
                    loss_pairs += 1
                pairs += 1
                steps += 1
        seen += hi - lo
    if nb > 0:  # the job's last, partial block
        state = _draw(state, negs, negative, t, touched, stale, syn1neg, base1, track)
        lr = _lr(p.alpha, p.min_alpha, job.word_pos + seen, p.total_words)
        want = steps % LOSS_EVERY == 0
        loss += cbow_block_step(
            syn0, nhot, hot, syn1neg, bctx, bnctx, btgt, nb, mean, negs, nneg, lr, bh, grad, err, want
        )
        if want:
            loss_pairs += nb
        pairs += nb
    return loss, loss_pairs, pairs, seen


@njit(**_JIT)
def sync_hot(syn0, nhot, hot_base, snap0) -> None:
    """Hand a thread's changes to its own hot rows to the shared rows, and take the shared rows back.

    syn0: (V + copies, D) input vectors, rows ``0:V`` shared; ``syn0[hot_base : hot_base + nhot]`` the
    thread's copy of rows ``0:nhot``, snap0 (>= nhot, D) what they were when it last synchronised.
    Adds the copy's change since then to the shared rows, then the copy and the snapshot become the
    sum (which has the other threads' changes too).
    """
    for r in range(nhot):
        for i in range(syn0.shape[1]):
            v = syn0[r, i] + (syn0[hot_base + r, i] - snap0[r, i])
            syn0[r, i] = v
            syn0[hot_base + r, i] = v
            snap0[r, i] = v
