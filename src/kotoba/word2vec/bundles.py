"""The named bundles the word2vec kernel takes: what used to be 33 positional arguments.

Each bundle is a ``typing.NamedTuple`` (Numba compiles attribute access to a plain field load, so
bundling costs nothing in the jitted loop) built by keyword, and each has its own type: passing
bundles in the wrong order fails when the kernel is compiled instead of silently training on the
wrong array. Fields are coerced to fixed Python / NumPy types here so one compiled specialisation
serves every run (a NumPy int where a Python int was expected would compile a second one).

* :class:`Params` -- the scalar hyper-parameters of a run (from :class:`Word2VecConfig`).
* :class:`Corpus` -- the encoded corpus: word ids and sentence offsets.
* :class:`JobRange` -- one job: a sentence range, its learning-rate position and random seed.
* :class:`Weights` -- the (V, D) float32 matrices the kernel updates in place.
* :class:`Tables` -- read-only per-word tables: subsampling, negative sampling, Huffman tree.
* :class:`Scratch` -- one worker thread's buffers, allocated once per run.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..text.corpus import subsample_keep_probs
from .config import Word2VecConfig
from .sampling import build_alias_table, build_huffman_tree


class Params(NamedTuple):
    """Scalar hyper-parameters; ``total_words`` is the learning-rate schedule's length (tokens × epochs)."""

    sg: bool
    hs: bool
    negative: int
    batch: bool
    window: int
    cbow_mean: bool
    block: int
    sg_block: int
    alpha: float
    min_alpha: float
    total_words: int


class Corpus(NamedTuple):
    """ids: (N,) int32 word ids; offsets: (S+1,) int64 sentence starts into ``ids``."""

    ids: np.ndarray
    offsets: np.ndarray


class JobRange(NamedTuple):
    """Sentences ``s_begin:s_end``; ``word_pos``: tokens trained before this job (schedule position)."""

    s_begin: int
    s_end: int
    word_pos: int
    seed: np.uint64


class Weights(NamedTuple):
    """syn0 / syn1neg / syn1: (V, Dp) float32 (Dp = D padded to a multiple of 8); a disabled layer is (1, 1)."""

    syn0: np.ndarray
    syn1neg: np.ndarray
    syn1: np.ndarray


class Tables(NamedTuple):
    """keep: (V,) float32 subsampling keep probabilities; neg_prob / neg_alias: (V,) alias table;
    codes (V, L) uint8 / points (V, L) int32 / codelens (V,) int32: the Huffman tree (dummies without HS)."""

    keep: np.ndarray
    neg_prob: np.ndarray
    neg_alias: np.ndarray
    codes: np.ndarray
    points: np.ndarray
    codelens: np.ndarray


class Scratch(NamedTuple):
    """One thread's buffers; the kernel trusts these sizes (it runs without bounds checks).

    sen (max sentence len,) int32, ctx (2*window,) int32, negs (2*max(negative, 1),) int32 (a step's
    negatives and the next step's), neu1 (1, Dp) and neu1e (Dp,) float32, grad (R, negative+1) and
    err (R, Dp) float32 with R = max(2*window, cbow_block, 2*window*sg_block); for blocks bctx
    (R, 2*window), bnctx and btgt (R,) int32, bh (R, Dp) float32. touched: (3, V) uint8 flags the
    kernel sets for every row of [syn0, syn1neg, syn1] it may change (round training reads and clears
    them), or (3, 0): no marking.
    stale: (3, V) uint8, rows of the working copy older than ``base`` (the model of the last round
    boundary, padded [syn0, syn1neg, syn1]; (1, 1) dummies when nothing is stale): the kernel copies
    such a row from ``base`` when it first marks it.
    hot_rows H, hot_base: the blocked steps read and update row ``hot_base + c`` of ``syn0`` (the
    thread's own copy, rows the trainer appends to the matrix) instead of row ``c < H``; H = 0: none.
    snap0 (H, Dp) float32: the copy's value at the last :func:`~kotoba.word2vec.kernels.sync_hot`.
    """

    sen: np.ndarray
    ctx: np.ndarray
    negs: np.ndarray
    neu1: np.ndarray
    neu1e: np.ndarray
    grad: np.ndarray
    err: np.ndarray
    bctx: np.ndarray
    bnctx: np.ndarray
    btgt: np.ndarray
    bh: np.ndarray
    touched: np.ndarray
    stale: np.ndarray
    base: Weights
    hot_rows: int
    hot_base: int
    snap0: np.ndarray


def padded_width(dim: int) -> int:
    """Row width the kernels get: a multiple of 8 floats (no scalar tail in their vector loops)."""
    return -(-dim // 8) * 8


def pad_weights(
    syn0: np.ndarray, syn1neg: np.ndarray | None, syn1: np.ndarray | None, extra_rows: int = 0
) -> list[np.ndarray | None]:
    """(V, D) matrices -> new [syn0, syn1neg, syn1] padded with zero columns; None stays None (a disabled
    layer). ``extra_rows``: zero rows after syn0's V (the threads' copies of hot rows, :class:`Scratch`)."""
    width = padded_width(syn0.shape[1])
    out: list[np.ndarray | None] = []
    for a, extra in ((syn0, extra_rows), (syn1neg, 0), (syn1, 0)):
        if a is None:
            out.append(None)
        else:
            p = np.zeros((a.shape[0] + extra, width), np.float32)
            p[: a.shape[0], : a.shape[1]] = a
            out.append(p)
    return out


def kernel_layers(weights) -> list[np.ndarray]:
    """[syn0, syn1neg, syn1] as the kernel takes them: a disabled layer (None) becomes a (1, 1) dummy
    the kernel never touches."""
    return [w if w is not None else np.zeros((1, 1), np.float32) for w in weights]


def unpad_in_place(a: np.ndarray, dim: int) -> np.ndarray:
    """A padded (V, Dp) C-order matrix -> (V, dim) over the same memory, rows moved down block by block.

    For the end of a run: the model is handed over without a second (V, dim) matrix beside the
    padded one (23 MB on IMDb's vocabulary at dim 100). ``a`` itself is scrambled afterwards.
    """
    v, width = a.shape
    if width == dim:
        return a
    flat = a.reshape(-1)  # a view: ``a`` is C-contiguous
    step = 4096
    for i0 in range(0, v, step):
        i1 = min(i0 + step, v)
        # the block is copied out (reshape of a strided view) before it is written: overlap is harmless,
        # and a block's target ends at i1 * dim <= i1 * width, before any row not yet moved
        flat[i0 * dim : i1 * dim] = a[i0:i1, :dim].reshape(-1)
    return flat[: v * dim].reshape(v, dim)


def make_params(config: Word2VecConfig, total_words: int) -> Params:
    """The kernel's scalars for ``config``, with a schedule over ``total_words`` tokens."""
    return Params(
        sg=bool(config.sg),
        hs=bool(config.hs),
        negative=int(config.negative),
        batch=bool(config.batch_negatives),
        window=int(config.window),
        cbow_mean=bool(config.cbow_mean),
        block=int(config.cbow_block),
        sg_block=int(config.sg_block),
        alpha=float(config.alpha),
        min_alpha=float(config.min_alpha),
        total_words=int(total_words),
    )


def make_job(s_begin: int, s_end: int, word_pos: int, seed: np.uint64) -> JobRange:
    return JobRange(s_begin=int(s_begin), s_end=int(s_end), word_pos=int(word_pos), seed=np.uint64(seed))


def make_tables(counts: np.ndarray, config: Word2VecConfig) -> Tables:
    """Subsampling keep probabilities, alias table and Huffman tree for vocabulary ``counts`` (V,)."""
    v = counts.size
    if config.sample > 0:
        # word2vec.c: keep a word with probability (sqrt(f/t) + 1) * t/f, f = its count, t = sample * total
        keep = subsample_keep_probs(counts, config.sample, int(counts.sum())).astype(np.float32)
    else:
        keep = np.ones(v, np.float32)
    if config.negative > 0:
        alias = build_alias_table(counts, config.ns_exponent)
        neg_prob, neg_alias = alias.prob, alias.alias
    else:
        neg_prob, neg_alias = np.ones(1, np.float32), np.zeros(1, np.int32)
    if config.hs:
        tree = build_huffman_tree(counts)
        codes, points, codelens = tree.codes, tree.points, tree.codelens
    else:
        codes, points, codelens = np.zeros((v, 1), np.uint8), np.zeros((v, 1), np.int32), np.zeros(v, np.int32)
    return Tables(keep=keep, neg_prob=neg_prob, neg_alias=neg_alias, codes=codes, points=points, codelens=codelens)


def make_scratch(
    config: Word2VecConfig,
    max_sentence: int,
    padded_dim: int,
    track_rows: int = 0,
    hot_rows: int = 0,
    hot_base: int = 0,
) -> Scratch:
    """Buffers for one thread: sentences up to ``max_sentence`` tokens, rows of ``padded_dim`` floats;
    ``track_rows`` > 0: flags for that many rows per matrix, which the kernel marks as it trains;
    ``hot_rows``: how many of the hottest input vectors the thread has its own copy of
    (:func:`hot_row_count`), at rows ``hot_base:`` of the input matrix."""
    w, k = config.window, config.negative
    # a block holds cbow_block CBOW examples or the (up to 2*window) pairs of sg_block windows
    rows = max(2 * w, config.cbow_block, 2 * w * config.sg_block)
    return Scratch(
        sen=np.empty(max(max_sentence, 1), np.int32),
        ctx=np.empty(2 * w, np.int32),
        negs=np.empty(2 * max(k, 1), np.int32),
        neu1=np.empty((1, padded_dim), np.float32),
        neu1e=np.empty(padded_dim, np.float32),
        grad=np.empty((rows, k + 1), np.float32),
        err=np.empty((rows, padded_dim), np.float32),
        bctx=np.empty((rows, 2 * w), np.int32),
        bnctx=np.empty(rows, np.int32),
        btgt=np.empty(rows, np.int32),
        bh=np.empty((max(rows, 2 * k), padded_dim), np.float32),  # (also a skip-gram window's negative rows)
        touched=np.zeros((3, track_rows), np.uint8),
        stale=np.zeros((3, track_rows), np.uint8),
        base=Weights(*(np.zeros((1, 1), np.float32) for _ in range(3))),
        hot_rows=hot_rows,
        hot_base=hot_base,
        snap0=np.zeros((hot_rows, padded_dim), np.float32),
    )


def hot_row_count(config: Word2VecConfig, vocab_size: int, threads: int) -> int:
    """How many of the most frequent words' input rows each Hogwild thread keeps its own copy of.

    ``config.hot_rows`` (at most the vocabulary) when the kernel's blocked steps run (CBOW or
    skip-gram blocks with negative sampling only) on more than one thread, else 0: one thread shares
    nothing, and the other steps read the shared matrix only.
    """
    blocked = (
        config.negative > 0
        and not config.hs
        and (config.cbow_block > 1 if not config.sg else (config.batch_negatives and config.sg_block > 1))
    )
    return min(config.hot_rows, vocab_size) if blocked and threads > 1 else 0
