"""Training in rounds: shards train side by side from one model, then their changes are combined.

The machinery shared by ``Word2VecConfig(deterministic=True)`` on one machine (:func:`train_rounds`)
and by data-parallel training on a cluster (:mod:`kotoba.word2vec.distributed`):

- the corpus is cut into shards fixed by the data -- ``config.shards`` contiguous runs of jobs on
  one machine, one shard per worker on a cluster -- and each epoch into the same number of rounds
  for every shard (:func:`round_jobs`);
- in a round every shard trains its slice of jobs with the single-machine Numba kernel, starting
  from the model of the last round boundary (``base``) on a working copy of its own;
- what changed -- only the rows that differ from ``base`` -- is added up in shard order whatever
  order the shards finish in, and the combined change is added to ``base`` and to every copy: on
  one machine straight from the shards' copies (:func:`merge_copies`), on a cluster from the
  workers' deltas (:class:`SparseDelta`) by a :class:`Combiner`, with the same float operations.

Each job's random stream is seeded from (base seed, epoch, shard, job), and each shard runs the
learning-rate schedule over its own tokens, which advance in lockstep with every other shard's:
the schedule is global (a fraction of all the tokens of all the shards) without any shard knowing
the others. So the vectors depend on the data, the seed and the shard count only: not on the
number of threads that run the shards, nor on their timing.
"""

from __future__ import annotations

import math
import os
import queue
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit

from ..errors import DivergenceError, EmptyCorpusError, FormatError, TrainingInterrupted
from ..text.corpus import IDS_FILE, encode_corpus, scan_corpus
from ..text.readers import corpus_files, corpus_record
from ..text.vocab import Vocab
from ..vectors import WordVectors
from .bundles import (
    Corpus,
    Params,
    Scratch,
    Tables,
    Weights,
    kernel_layers,
    make_job,
    make_params,
    make_scratch,
    make_tables,
)
from .config import COMBINE_RULES, Word2VecConfig
from .kernels import FASTMATH, train_job
from .model import Word2VecModel
from .trainer import _load_kernel, _make_jobs, load_resume_point, start_weights

#: a job: (first sentence, end sentence, tokens of its shard before it)
Job = tuple[int, int, int]

# --------------------------------------------------------------------------- the kernel, per job


def job_seed(base_seed: int, epoch: int, shard: int, job: int) -> np.uint64:
    """64-bit seed of one job; the kernel runs it through splitmix64, so a multiplicative mix is enough."""
    mix = (epoch * 1_000_003 + job + 1) * 0x9E3779B97F4A7C15 + (shard + 1) * 0xD1B54A32D192ED03
    return np.uint64((base_seed + mix) % (1 << 64))


def run_job(
    params: Params,
    corpus: Corpus,
    job: Job,
    word_pos: int,
    seed: np.uint64,
    weights: Sequence[np.ndarray],
    tables: Tables,
    scratch: Scratch,
) -> tuple[float, int, int, int]:
    """Train one job with the single-machine kernel on ``weights`` [syn0, syn1neg, syn1], in place.

    ``word_pos`` places the job on the learning-rate schedule of ``params.total_words`` tokens.
    Returns the kernel's (loss sum, loss pairs, pairs, tokens read).
    """
    return train_job(params, corpus, make_job(job[0], job[1], word_pos, seed), Weights(*weights), tables, scratch)


# --------------------------------------------------------------------------- weights


def unpad(weights: Sequence[np.ndarray], dim: int, config: Word2VecConfig) -> tuple:
    """Padded [syn0, syn1neg, syn1] -> (syn0, syn1neg or None, syn1 or None) as (V, dim) copies."""
    enabled = (True, config.negative > 0, config.hs)
    return tuple(np.ascontiguousarray(w[:, :dim]) if on else None for w, on in zip(weights, enabled))


def trained_layers(config: Word2VecConfig) -> list[int]:
    """Indices into [syn0, syn1neg, syn1] of the matrices training changes."""
    return [0] + ([1] if config.negative > 0 else []) + ([2] if config.hs else [])


# --------------------------------------------------------------------------- sparse deltas


@dataclass
class SparseDelta:
    """The change of some rows of each trained matrix: ``rows[k]`` (n_k,) int32 ascending,
    ``values[k]`` (n_k, dim) float32, for layer ``layers[k]`` of [syn0, syn1neg, syn1]."""

    layers: list[int]
    rows: list[np.ndarray]
    values: list[np.ndarray]

    @property
    def nbytes(self) -> int:
        """Payload size: what a collective step moves for it."""
        return sum(r.nbytes + v.nbytes for r, v in zip(self.rows, self.values))


@njit(cache=True, nogil=True)
def _changed_rows(work: np.ndarray, base: np.ndarray, cand: np.ndarray, out: np.ndarray) -> int:
    """Write into ``out`` the rows of ``cand`` whose bits differ between ``work`` and ``base``; returns how many.

    work / base: (V, W/2) int64 views of the (V, W) float32 matrices (W is even: rows are padded to
    8 floats); cand: (n,) ascending candidate rows (every row that may have changed). OR-ing the
    XORs of whole rows vectorises, unlike a float compare with an early exit; a row that differs
    only by the sign of a zero counts as changed (its delta is 0). Runs without the GIL, so threads
    that finished their shards extract their deltas side by side.
    """
    n = 0
    for r in cand:
        x = np.int64(0)
        for i in range(work.shape[1]):
            x |= work[r, i] ^ base[r, i]
        if x != 0:
            out[n] = r
            n += 1
    return n


@njit(cache=True, nogil=True)
def _take_rows(work: np.ndarray, base: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """``values[k] = work[rows[k], :dim] - base[rows[k], :dim]``, then those rows of ``work`` = base."""
    d = values.shape[1]
    for k in range(rows.size):
        r = rows[k]
        for i in range(d):
            values[k, i] = work[r, i] - base[r, i]
        for i in range(work.shape[1]):
            work[r, i] = base[r, i]


@njit(cache=True, nogil=True)
def _add_rows(target: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """``target[rows[k], :dim] += values[k]`` (rows distinct)."""
    for k in range(rows.size):
        r = rows[k]
        for i in range(values.shape[1]):
            target[r, i] += values[k, i]


@njit(cache=True, nogil=True)
def _copy_rows(dst: np.ndarray, src: np.ndarray, rows: np.ndarray) -> None:
    for k in range(rows.size):
        r = rows[k]
        for i in range(src.shape[1]):
            dst[r, i] = src[r, i]


@njit(cache=True, nogil=True)
def _add_rows_sq(target: np.ndarray, sq: np.ndarray, hits: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """:func:`_add_rows`, each added row's squared norm into ``sq[row]`` and 1 into ``hits[row]``; a row
    with ``hits`` 0 is written, not added to (its sums are the last round's).

    No fastmath: the norm is summed in index order, exactly as :func:`_merge_rows` sums it, so a
    shard's contribution has the same bits whichever of the two adds it.
    """
    for k in range(rows.size):
        r = rows[k]
        first = hits[r] == 0  # the row's sums hold the last round's values: overwrite them
        hits[r] += 1
        n2 = np.float32(0.0)
        for i in range(values.shape[1]):
            target[r, i] = values[k, i] if first else target[r, i] + values[k, i]
            n2 += values[k, i] * values[k, i]
        sq[r] = n2 if first else sq[r] + n2


@njit(cache=True, nogil=True, fastmath=FASTMATH)
def _row_scale(acc, hits, sq, r: int, rule: int, added: int) -> np.float32:
    """The factor row ``r``'s summed change ``acc[r]`` gets under ``rule`` (see :func:`_drain`)."""
    if rule == 1 and added > 1:
        return np.float32(1.0) / np.float32(added)
    if rule == 2:
        return np.float32(1.0) / np.float32(hits[r])
    if rule == 3:
        n2 = np.float32(0.0)
        for i in range(acc.shape[1]):
            n2 += acc[r, i] * acc[r, i]
        if n2 > sq[r]:
            return sq[r] / n2
    return np.float32(1.0)


@njit(cache=True, nogil=True)
def _drain(acc, hits, sq, rows: np.ndarray, values: np.ndarray, rule: int, added: int) -> None:
    """Combined values of ``rows`` from the sums ``acc``, counts ``hits`` and squared norms ``sq``.

    ``hits`` is reset to 0; ``acc`` and ``sq`` are left as they are (a row's first addition in the
    next round overwrites them). rule 0: the sum; 1: divided by ``added`` (shards in the round);
    2: divided by the row's count; 3: the sum times min(1, sum of the squared norms / squared norm
    of the sum).
    """
    for k in range(rows.size):
        r = rows[k]
        scale = _row_scale(acc, hits, sq, r, rule, added)
        for i in range(values.shape[1]):
            values[k, i] = acc[r, i] * scale if rule else acc[r, i]
        hits[r] = 0


@njit(cache=True, nogil=True)
def _merge_rows(base, base64, works, works64, flags, rows, stales, rule: int, added: int, acc, hits, sq) -> None:
    """One round's end for ``rows`` of one matrix: every shard's change, the combination and the new
    base, in one pass per row.

    works / works64: every shard's working copy (and its int64 view) in shard order; flags:
    (len(works), V) rows each shard's kernel marked (none for a shard that did not train);
    stales: every working copy's (V,) flags, set for each row given a new base value (the kernel
    copies it when it next marks the row, so a copy is written only where its shard reads).
    acc (1, D), hits (1,) and sq (1,): one row's sums.
    The float operations are those of :func:`_add_rows_sq` (shard by shard, in order) and
    :func:`_drain`, then ``base += value``; no fastmath, so the norm is summed in index order and
    the multiply and the add are two roundings. A row whose bits no shard changed is left alone.
    """
    dim = acc.shape[1]
    for k in range(rows.size):
        r = rows[k]
        hits[0] = 0
        for s in range(len(works)):
            if flags[s, r] == 0:
                continue
            w, w64 = works[s], works64[s]
            x = np.int64(0)
            for i in range(w64.shape[1]):
                x |= w64[r, i] ^ base64[r, i]
            if x == 0:
                continue
            first = hits[0] == 0
            hits[0] += 1
            n2 = np.float32(0.0)
            for i in range(dim):
                d = w[r, i] - base[r, i]
                acc[0, i] = d if first else acc[0, i] + d
                n2 += d * d
            sq[0] = n2 if first else sq[0] + n2
        if hits[0] == 0:
            continue
        scale = _row_scale(acc, hits, sq, 0, rule, added)
        for i in range(dim):
            base[r, i] += acc[0, i] * scale if rule else acc[0, i]
        for st in stales:
            st[r] = 1


def extract_delta(
    work: Sequence[np.ndarray],
    base: Sequence[np.ndarray],
    dim: int,
    layers: list[int],
    cand: dict[int, np.ndarray] | None = None,
) -> SparseDelta:
    """The rows of ``work`` that differ from ``base`` and by how much (``work - base``, (n, dim) float32).

    cand: per layer, the ascending rows that may differ (:func:`touched_rows`); None: all rows.
    Those rows of ``work`` are set back to ``base``'s, so ``work`` equals ``base`` afterwards.
    """
    rows, values = [], []
    for k in layers:
        c = cand[k] if cand is not None else np.arange(work[k].shape[0], dtype=np.int32)
        buf = np.empty(c.size, np.int32)
        r = buf[: _changed_rows(work[k].view(np.int64), base[k].view(np.int64), c, buf)].copy()
        v = np.empty((r.size, dim), np.float32)
        _take_rows(work[k], base[k], r, v)
        rows.append(r)
        values.append(v)
    return SparseDelta(list(layers), rows, values)


def touched_rows(scratch: Sequence[Scratch], layers: list[int]) -> dict[int, np.ndarray]:
    """The rows the kernel marked in any of ``scratch``'s ``touched`` flags, per layer (ascending
    int32); the flags are cleared. O(V) bytes per layer, against O(V·D) floats for comparing
    every row of the working copy with ``base``."""
    return {k: np.flatnonzero(_marks(scratch, k)).astype(np.int32) for k in layers}


def _marks(scratch: Sequence[Scratch], k: int) -> np.ndarray:
    """Layer ``k``'s flags marked in any of ``scratch`` (a (V,) uint8 copy); the flags are cleared."""
    flags = scratch[0].touched[k].copy()
    for sc in scratch[1:]:
        flags |= sc.touched[k]
    for sc in scratch:
        sc.touched[k] = 0
    return flags


def apply_delta(weights: Sequence[np.ndarray], delta: SparseDelta) -> None:
    """``weights[k][rows, :dim] += values``: the same float32 operations on every copy of the model."""
    for k, r, v in zip(delta.layers, delta.rows, delta.values):
        _add_rows(weights[k], r, v)


class Combiner:
    """Adds shards' deltas in shard order (whatever order they arrive in) under ``rule``: what a
    cluster's client does with its workers' deltas (one machine merges its copies in place, see
    :meth:`ShardTrainer.round`, with the same float operations).

    ``sum``: every change counts in full (as if the shards had trained one after another on the
    same start); ``mean``: the sum divided by the number of shards; ``rowmean``: each row's sum
    divided by the number of shards that changed that row; ``mix``: per row, the sum scaled by
    min(1, Σ|d_s|² / |Σ d_s|²) -- the sum when the shards' changes are unrelated (rare words:
    each shard adds what only it saw), the mean when they all point the same way (frequent
    words, which every shard fits on its own). Float additions happen in shard
    order, so the result is bit-identical for the same deltas.
    """

    def __init__(self, shapes: dict[int, tuple[int, int]], rule: str, threads: int = 1):
        self.rule = rule
        self.threads = threads  # for :meth:`result`: rows are combined independently, so in parallel
        self.acc = {k: np.zeros(s, np.float32) for k, s in shapes.items()}
        self.hits = {k: np.zeros(s[0], np.int32) for k, s in shapes.items()}
        self.sq = {k: np.zeros(s[0], np.float32) for k, s in shapes.items()}
        self.pending: dict[int, SparseDelta | None] = {}
        self.next = 0
        self.added = 0

    def add(self, shard: int, delta: SparseDelta | None) -> None:
        """Hand in shard ``shard``'s delta (None: the shard had nothing to train this round)."""
        self.pending[shard] = delta
        while self.next in self.pending:
            d = self.pending.pop(self.next)
            self.next += 1
            if d is not None:
                self.added += 1
                for k, r, v in zip(d.layers, d.rows, d.values):
                    _add_rows_sq(self.acc[k], self.sq[k], self.hits[k], r, v)

    def result(self) -> SparseDelta:
        """The combined delta of everything added; resets the combiner for the next round."""
        layers = list(self.acc)
        rows = [np.flatnonzero(self.hits[k]).astype(np.int32) for k in layers]
        values = [np.empty((r.size, self.acc[k].shape[1]), np.float32) for k, r in zip(layers, rows)]
        rule = COMBINE_RULES.index(self.rule)

        def drain(_: int, task: tuple[int, slice]) -> None:
            i, span = task
            k = layers[i]
            _drain(self.acc[k], self.hits[k], self.sq[k], rows[i][span], values[i][span], rule, self.added)

        parallel_map(_row_tasks(rows, self.threads), self.threads, drain)
        self.next = self.added = 0
        return SparseDelta(layers, rows, values)


def merge_copies(
    base: Sequence[np.ndarray],
    works: Sequence[Sequence[np.ndarray]],
    flags: dict[int, np.ndarray],
    stales: dict[int, Sequence[np.ndarray]],
    added: int,
    dim: int,
    rule: str,
    threads: int,
) -> None:
    """Add the shards' changes of a round (the first ``dim`` columns) to ``base``, and mark each row it
    changed as stale in every copy.

    works: one padded [syn0, syn1neg, syn1] working copy per shard, in shard order; flags: per
    layer, (len(works), V) uint8, the rows each shard may have changed (all 0 for one that did not
    train: the copies always go in together, so the kernel is compiled once per shard count);
    stales: per layer, every copy's (V,) uint8 stale flags (the kernel brings a stale row up to date
    from ``base`` when it first marks it); added: how many shards trained (the ``mean`` rule's
    divisor). The same ``base``, to the bit, as :class:`Combiner` given each trained shard's
    :func:`extract_delta` and then :func:`apply_delta`; rows split over ``threads`` threads.
    """
    code = COMBINE_RULES.index(rule)
    rows = {k: np.flatnonzero(f.any(axis=0)).astype(np.int32) for k, f in flags.items()}
    layers = list(flags)

    def part(_: int, task: tuple[int, slice]) -> None:
        i, span = task
        k = layers[i]
        mine = tuple(w[k] for w in works)
        acc, hits, sq = np.empty((1, dim), np.float32), np.zeros(1, np.int32), np.zeros(1, np.float32)
        _merge_rows(
            base[k], base[k].view(np.int64), mine, tuple(w.view(np.int64) for w in mine), flags[k],
            rows[k][span], tuple(stales[k]), code, added, acc, hits, sq,
        )  # fmt: skip

    parallel_map(_row_tasks([rows[k] for k in layers], threads), threads, part)


# --------------------------------------------------------------------------- shards and rounds


def split_shards(offsets: np.ndarray, job_words: int, n_shards: int) -> list[list[Job]]:
    """Cut the corpus's jobs into ``n_shards`` contiguous runs; job positions count from each run's start.

    offsets: (S+1,) sentence offsets. Fewer shards come back when there are fewer jobs.
    """
    jobs = _make_jobs(offsets, job_words)
    n = min(n_shards, len(jobs))
    cuts = [len(jobs) * k // n for k in range(n + 1)]
    shards = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        first = offsets[jobs[a][0]]
        shards.append([(s0, s1, int(offsets[s0] - first)) for s0, s1, _ in jobs[a:b]])
    return shards


def shard_words(jobs: list[Job], offsets: np.ndarray) -> int:
    """Tokens in a shard's jobs."""
    return int(offsets[jobs[-1][1]] - offsets[jobs[0][0]]) if jobs else 0


def rounds_per_epoch(largest_shard_words: int, round_words: int) -> int:
    """Rounds that give the largest shard about ``round_words`` tokens each."""
    return max(1, -(-largest_shard_words // round_words))


def round_jobs(n_jobs: int, n_rounds: int, r: int) -> range:
    """Which of a shard's ``n_jobs`` jobs round ``r`` of ``n_rounds`` trains (every shard ends together)."""
    return range(n_jobs * r // n_rounds, n_jobs * (r + 1) // n_rounds)


@dataclass
class RoundStats:
    """What one shard's round gave: the kernel's sums, and the seconds spent training and extracting."""

    loss: float = 0.0
    loss_pairs: int = 0
    pairs: int = 0
    words: int = 0
    seconds: float = 0.0

    def add(self, other: RoundStats) -> None:
        self.loss += other.loss
        self.loss_pairs += other.loss_pairs
        self.pairs += other.pairs
        self.words += other.words
        self.seconds += other.seconds


def _row_tasks(rows: Sequence[np.ndarray], parts: int) -> list[tuple[int, slice]]:
    """(layer index, slice) pairs cutting each layer's ``rows`` into up to ``parts`` contiguous spans:
    the work of a combined delta, row by row independent, split for :func:`parallel_map`."""
    tasks = []
    for i, r in enumerate(rows):
        n = max(1, min(parts, r.size))
        cuts = [r.size * k // n for k in range(n + 1)]
        tasks += [(i, slice(a, b)) for a, b in zip(cuts[:-1], cuts[1:]) if b > a]
    return tasks


def parallel_map(items: Sequence[Any], n_threads: int, fn: Callable[[int, Any], Any]) -> list[Any]:
    """``[fn(thread, item) for item in items]`` on ``n_threads`` threads, results in item order.

    ``thread`` is the index (0..n_threads-1) of the thread running the call, so ``fn`` can use
    per-thread buffers. The first exception raised by any call is re-raised here after every
    thread stopped.
    """
    todo: queue.SimpleQueue = queue.SimpleQueue()
    for i in range(len(items)):
        todo.put(i)
    out: list[Any] = [None] * len(items)
    failed = threading.Event()

    def worker(t: int) -> None:
        while not failed.is_set():
            try:
                i = todo.get_nowait()
            except queue.Empty:
                return
            try:
                out[i] = fn(t, items[i])
            except BaseException:
                failed.set()
                raise

    on_threads(max(1, min(n_threads, len(items))), worker)
    return out


def on_threads(n: int, fn: Callable[[int], Any]) -> list[Any]:
    """``[fn(0), ..., fn(n - 1)]``, each call on a thread of its own (``n == 1``: the caller's).

    The first exception raised by any call is re-raised here after every thread ended.
    """
    out: list[Any] = [None] * n
    errors: list[BaseException] = []

    def run(t: int) -> None:
        try:
            out[t] = fn(t)
        except BaseException as e:  # re-raised in the caller's thread
            errors.append(e)

    if n == 1:
        run(0)
    else:
        threads = [threading.Thread(target=run, args=(t,), daemon=True) for t in range(n)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    if errors:
        raise errors[0]
    return out


class ShardTrainer:
    """Trains shards of one encoded corpus round by round on working copies of ``base``.

    ids / offsets: the encoded corpus (all shards index into it); shards: each a list of jobs;
    base: padded [syn0, syn1neg, syn1], None for a disabled layer (the model at the last round boundary, changed only by
    :meth:`round` and :meth:`apply`); threads: how many shards train at once (each shard has its own copy).
    ``shard_ids`` numbers the shards for their seeds (a cluster worker passes its index);
    ``n_rounds`` overrides the rounds per epoch (a cluster agrees on one count for all workers);
    ``job_threads`` > 1 trains each shard's jobs Hogwild on that many threads (a cluster worker's
    cores; the result then depends on timing, as a single-machine Hogwild run does). ``ids_file``:
    the file ``ids`` maps (a memory-mapped corpus); each round's ids are then read from it into a
    thread's buffer -- through the mapping the kernel ran ~25% slower on this machine (page faults
    as it walks the corpus) and every page walked stayed in the resident set.
    """

    def __init__(
        self,
        config: Word2VecConfig,
        tables: Tables,
        ids: np.ndarray,
        offsets: np.ndarray,
        shards: list[list[Job]],
        base: list[np.ndarray],
        dim: int,
        base_seed: int,
        threads: int,
        shard_ids: Sequence[int] | None = None,
        n_rounds: int | None = None,
        job_threads: int = 1,
        ids_file: str | os.PathLike | None = None,
    ):
        self.config, self.tables, self.ids, self.offsets = config, tables, ids, offsets
        self.shards, self.base, self.dim, self.base_seed = shards, kernel_layers(base), dim, base_seed
        self.shard_ids = list(shard_ids) if shard_ids is not None else list(range(len(shards)))
        self.layers = trained_layers(config)
        self.threads = max(1, min(threads, len(shards)))
        self.words = [shard_words(j, offsets) for j in shards]
        # each shard runs the schedule over its own tokens; all shards advance in lockstep, so
        # this is the global schedule (see the module docstring)
        self.params = [make_params(config, w * config.epochs) for w in self.words]
        self.corpus = Corpus(ids=ids, offsets=offsets)
        self.n_rounds = n_rounds or rounds_per_epoch(max(self.words), config.round_words)
        # a copy per shard, not per thread: the round's end then merges them all in one pass per row
        self.work = [[w.copy() for w in self.base] for _ in shards]
        max_len = int(np.max(np.diff(offsets))) if offsets.size > 1 else 1
        width = base[0].shape[1]
        self.job_threads = max(1, job_threads)
        self.ids_file = Path(ids_file) if ids_file is not None else None
        most = max((self._span(s, r)[2] for s in range(len(shards)) for r in range(self.n_rounds)), default=0)
        self.round_ids = [np.empty(max(most, 1), np.int32) for _ in range(self.threads)] if ids_file else []
        self.scratch = [self._shard_scratch(max_len, width) for _ in shards]

    def _shard_scratch(self, max_len: int, width: int) -> list[Scratch]:
        """A shard's buffers, one per job thread, sharing its stale flags (set only by
        :func:`merge_copies`, i.e. on one machine, where a shard has one job thread)."""
        first = make_scratch(self.config, max_len, width, track_rows=self.base[0].shape[0])
        first = first._replace(base=Weights(*self.base))
        rest = [
            make_scratch(self.config, max_len, width, track_rows=first.touched.shape[1])
            for _ in range(self.job_threads - 1)
        ]
        return [first] + [sc._replace(stale=first.stale, base=first.base) for sc in rest]

    def train_shard(self, thread: int, shard: int, epoch: int, r: int) -> tuple[SparseDelta | None, RoundStats]:
        """Round ``r`` of ``epoch`` for one shard on its copy, on thread ``thread`` -> (its delta, stats).

        The copy equals ``base`` before and after (the changed rows are put back).
        """
        t0 = time.perf_counter()
        st = self._train(thread, shard, epoch, r)
        if st is None:
            return None, RoundStats()
        cand = touched_rows(self.scratch[shard], self.layers)
        delta = extract_delta(self.work[shard], self.base, self.dim, self.layers, cand)
        st.seconds = time.perf_counter() - t0
        return delta, st

    def _span(self, shard: int, r: int) -> tuple[int, int, int]:
        """(first sentence, end sentence, tokens) of the jobs ``shard`` trains in round ``r``."""
        jobs, todo = self.shards[shard], round_jobs(len(self.shards[shard]), self.n_rounds, r)
        if not len(todo):
            return 0, 0, 0
        s0, s1 = jobs[todo[0]][0], jobs[todo[-1]][1]
        return s0, s1, int(self.offsets[s1] - self.offsets[s0])

    def _round_corpus(self, thread: int, shard: int, r: int) -> tuple[Corpus, int]:
        """The corpus the round's jobs index into, and the sentence number its sentence 0 has."""
        if self.ids_file is None:
            return self.corpus, 0
        s0, s1, n = self._span(shard, r)
        lo = int(self.offsets[s0])
        ids = self.round_ids[thread][:n]
        with open(self.ids_file, "rb", buffering=0) as f:
            f.seek(lo * ids.itemsize)
            if f.readinto(ids) != ids.nbytes:
                raise FormatError(f"{self.ids_file}: shorter than its sentence offsets say (changed during training?)")
        return Corpus(ids=ids, offsets=np.asarray(self.offsets[s0 : s1 + 1]) - lo), s0

    def _train(self, thread: int, shard: int, epoch: int, r: int) -> RoundStats | None:
        """Train the shard's jobs of the round on its copy (left changed); None if it has none.

        ``thread``: whose buffer the round's ids are read into."""
        jobs = self.shards[shard]
        todo = round_jobs(len(jobs), self.n_rounds, r)
        if not len(todo):
            return None
        st = RoundStats()
        work, words = self.work[shard], self.words[shard]
        corpus, first = self._round_corpus(thread, shard, r)

        def one(t: int, j: int) -> RoundStats:
            seed = job_seed(self.base_seed, epoch, self.shard_ids[shard], j)
            pos = epoch * words + jobs[j][2]
            job = (jobs[j][0] - first, jobs[j][1] - first, jobs[j][2])
            out = run_job(self.params[shard], corpus, job, pos, seed, work, self.tables, self.scratch[shard][t])
            return RoundStats(*out)

        for job_stats in parallel_map(todo, self.job_threads, one):
            st.add(job_stats)
        return st

    def round(self, epoch: int, r: int) -> RoundStats:
        """Train every shard's slice of round ``r`` of ``epoch``, each on its own copy, then add the
        combined change to ``base`` (:func:`merge_copies`); -> summed stats. A copy's rows the round
        changed are brought up to date by the kernel when the shard next uses them.

        The threads take shards in order; nothing is merged until all have trained, so there is no
        work between a thread's shards and the merge runs on all threads.
        """
        stats = parallel_map(range(len(self.shards)), self.threads, lambda t, s: self._train(t, s, epoch, r))
        trained = [s for s, st in enumerate(stats) if st is not None]
        total = RoundStats()
        if trained:
            flags = {k: np.stack([_marks(sc, k) for sc in self.scratch]) for k in self.layers}
            stales = {k: [sc[0].stale[k] for sc in self.scratch] for k in self.layers}
            merge_copies(self.base, self.work, flags, stales, len(trained), self.dim, self.config.combine, self.threads)
            for s in trained:
                total.add(stats[s])
        return total

    def apply(self, delta: SparseDelta) -> None:
        """Add a combined delta to ``base`` and copy its rows into every working copy."""

        # row by row independent, so split over the threads (the kernels run without the GIL): done
        # serially this was most of the time the shard threads waited between rounds
        def part(_: int, task: tuple[int, slice]) -> None:
            i, span = task
            k, r = delta.layers[i], delta.rows[i][span]
            _add_rows(self.base[k], r, delta.values[i][span])
            for w in self.work:
                _copy_rows(w[k], self.base[k], r)

        parallel_map(_row_tasks(delta.rows, self.threads), self.threads, part)


# --------------------------------------------------------------------------- one machine, deterministic


def model_checksum(syn0: np.ndarray) -> int:
    """CRC-32 of the input vectors: ties a mid-epoch checkpoint's JSON to its arrays."""
    return zlib.crc32(np.ascontiguousarray(syn0).view(np.uint8))


class Progress:
    """Loss bookkeeping and the callback: a report every ~10% of an epoch, at round boundaries."""

    def __init__(self, config: Word2VecConfig, epoch_words: int, done: int, losses: list, callback):
        self.config, self.epoch_words, self.losses, self.callback = config, epoch_words, losses, callback
        self.total = epoch_words * config.epochs
        self.interval = max(config.job_words, epoch_words // 10)
        self.done = self.start = done
        self.acc = RoundStats()
        self.t0 = time.perf_counter()

    def lr(self) -> float:
        c = self.config
        return max(c.min_alpha, c.alpha - (c.alpha - c.min_alpha) * self.done / max(self.total, 1))

    def add(self, epoch: int, st: RoundStats, force: bool = False) -> None:
        self.acc.add(st)
        self.done += st.words
        if (self.acc.words >= self.interval or force) and self.acc.loss_pairs:
            mean = self.acc.loss / self.acc.loss_pairs
            if not math.isfinite(mean):
                raise DivergenceError(
                    f"word2vec loss became {mean} in epoch {epoch + 1}; lower alpha (now {self.config.alpha})"
                )
            self.losses.append({"epoch": epoch + 1, "words": self.done, "loss": mean, "lr": self.lr()})
            if self.callback is not None:
                rate = (self.done - self.start) / max(time.perf_counter() - self.t0, 1e-9)
                self.callback(
                    {
                        "epoch": epoch + 1,
                        "words": self.done,
                        "total_words": self.total,
                        "loss": mean,
                        "lr": self.lr(),
                        "words_per_sec": rate,
                    }  # fmt: skip
                )
            self.acc = RoundStats()


def train_rounds(
    corpus: Any,
    config: Word2VecConfig,
    *,
    work_dir: Any = None,
    checkpoint_dir: Any = None,
    resume: bool = False,
    checkpoint_seconds: float | None = 600.0,
    callback: Callable[[dict[str, float]], None] | None = None,
    rng: np.random.Generator | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Word2VecModel:
    """Train word2vec in rounds of ``config.shards`` shards on ``config.threads`` threads (``deterministic``).

    Same corpus, result and checkpoint as :func:`kotoba.word2vec.train`; a seeded run gives
    bit-identical vectors for any thread count. Checkpoints are written at the end of every epoch
    and at the first round boundary after each ``checkpoint_seconds``; ``resume`` continues from
    one bit-identically to an uninterrupted run. ``should_stop`` is asked after every round; once
    it returns True the model is checkpointed there (with ``checkpoint_dir``) and
    :class:`~kotoba.errors.TrainingInterrupted` is raised. :func:`kotoba.word2vec.train` comes here
    for a config with ``deterministic=True``.
    """
    t_start = time.perf_counter()
    record = corpus_record(corpus_files(corpus))
    state = load_state(checkpoint_dir, config, record) if resume else None
    with tempfile.TemporaryDirectory(prefix="kotoba-w2v-") as tmp:
        out_dir = Path(work_dir) if work_dir is not None else Path(tmp)
        if state is None:
            vocab, enc = scan_corpus(
                corpus, out_dir, config.min_count, config.max_vocab_size, config.lowercase,
                config.max_sentence_len, corpus_name=str(corpus), tokenizer=config.tokenizer,
            )  # fmt: skip
        else:
            vocab = Vocab(state.words, state.counts)
            enc = encode_corpus(
                corpus, vocab, out_dir, config.lowercase, config.max_sentence_len, tokenizer=config.tokenizer
            )
        if config.hs and len(vocab) < 2:
            raise EmptyCorpusError("hierarchical softmax needs at least 2 distinct words that survive min_count")
        _load_kernel(config)
        weights, base_seed = start_weights(config, len(vocab), state, rng)
        if state is None:
            losses: list[dict[str, float]] = []
            epoch0 = round0 = 0
        else:
            losses = list(state.losses)
            epoch0, round0 = int(state.stats.get("epochs_done", 0)), int(state.stats.get("rounds_done", 0))
        shards = split_shards(enc.sent_offsets, config.job_words, config.shards)
        trainer = ShardTrainer(
            config, make_tables(vocab.counts, config), enc.ids, enc.sent_offsets, shards,
            weights, config.dim, base_seed, config.resolved_threads(), ids_file=enc.path / IDS_FILE,
        )  # fmt: skip
        stats: dict[str, Any] = {
            "corpus": record, "raw_words": enc.raw_words, "train_words": enc.n_words, "rounds": trainer.n_rounds,
        }  # fmt: skip
        save = Saver(checkpoint_dir, checkpoint_seconds, config, vocab, trainer.base, base_seed, losses, stats)
        t_train = time.perf_counter()
        progress = Progress(config, enc.n_words, _done(epoch0, round0, trainer), losses, callback)
        _train_loop(trainer, epoch0, round0, progress, save, should_stop)
        train_seconds = time.perf_counter() - t_train
    seconds = time.perf_counter() - t_start
    stats.update(seconds=seconds, train_seconds=train_seconds)
    stats["words_per_sec"] = stats["raw_words"] * (config.epochs - epoch0) / seconds if seconds > 0 else 0.0
    return save.model()


def _done(epoch: int, r: int, trainer: ShardTrainer) -> int:
    """Tokens trained before round ``r`` of ``epoch`` (for the progress report)."""
    words = 0
    for jobs in trainer.shards:
        done = round_jobs(len(jobs), trainer.n_rounds, r - 1).stop if r else 0
        words += jobs[done][2] if done < len(jobs) else shard_words(jobs, trainer.offsets)
    return epoch * sum(trainer.words) + words


def _train_loop(trainer: ShardTrainer, epoch0: int, round0: int, progress: Progress, save: Saver, should_stop) -> None:
    for epoch in range(epoch0, trainer.config.epochs):
        for r in range(round0 if epoch == epoch0 else 0, trainer.n_rounds):
            st = trainer.round(epoch, r)
            last = r == trainer.n_rounds - 1
            progress.add(epoch, st, force=last)
            stop = should_stop is not None and should_stop() and not (last and epoch == trainer.config.epochs - 1)
            save.round_done(epoch, r, last, force=stop)
            if stop:
                raise TrainingInterrupted(f"training stopped after round {r + 1} of epoch {epoch + 1}", save.directory)


class Saver:
    """Builds the model from the padded ``base`` weights and writes checkpoints at round boundaries:
    after every epoch, and after the first round that ends ``seconds`` after the last save."""

    def __init__(self, directory, seconds, config, vocab: Vocab, base: list[np.ndarray], base_seed: int, losses, stats):
        self.directory, self.seconds, self.config, self.vocab = directory, seconds, config, vocab
        self.base, self.base_seed, self.losses, self.stats = base, base_seed, losses, stats
        self.last = time.perf_counter()

    def model(self) -> Word2VecModel:
        syn0, syn1neg, syn1 = unpad(self.base, self.config.dim, self.config)
        wv = WordVectors(self.vocab.words, syn0, self.vocab.counts)
        return Word2VecModel(
            self.config, list(self.vocab.words), self.vocab.counts, wv, syn1neg, syn1, self.losses,
            dict(self.stats), self.base_seed,
        )  # fmt: skip

    def round_done(self, epoch: int, r: int, last: bool, force: bool = False) -> None:
        self.stats.update(epochs_done=epoch + 1 if last else epoch, rounds_done=0 if last else r + 1)
        if self.directory is None:
            return
        due = self.seconds is not None and time.perf_counter() - self.last >= self.seconds
        if last or due or force:
            model = self.model()
            model.stats["round_checksum"] = model_checksum(model.wv.vectors)
            model.save(self.directory)
            self.last = time.perf_counter()


def load_state(checkpoint_dir: Any, config: Word2VecConfig, corpus: list) -> Word2VecModel | None:
    """The checkpoint to resume from (None if the folder has none yet), checked as a single-machine one
    is (:func:`~kotoba.word2vec.trainer.load_resume_point`: config and corpus) and, for a mid-epoch
    checkpoint, that its arrays are those its JSON was written with."""
    state = load_resume_point(checkpoint_dir, config, corpus)
    if state is None:
        return None
    want = state.stats.get("round_checksum")
    if want is not None and model_checksum(state.wv.vectors) != int(want):
        raise FormatError(f"{checkpoint_dir}: the arrays are not those the JSON describes (interrupted save?)")
    return state
