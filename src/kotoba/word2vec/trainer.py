"""Fast word2vec training: CBOW / skip-gram, negative sampling and/or hierarchical softmax.

The corpus is read twice in a streaming way (once to count words, once to encode it into a
memory-mapped array of word ids, see :mod:`kotoba.text`), then ``threads`` Python threads each
run the ``nogil`` Numba kernel of :mod:`kotoba.word2vec.kernels` over jobs of about ``job_words``
tokens, updating the shared weight matrices without locks (Hogwild, as word2vec.c and gensim do).

As in word2vec.c and gensim, the corpus is cut into ``threads`` contiguous parts trained side by
side (:func:`_interleave_jobs`), not front to back: with 2 threads that order scored +0.009 WS353
and +0.1 analogy points on text8-prefix CBOW (mean of 24 seeds) and +0.04 WS353 on PTB CBOW (8 seeds).

Each job's random stream is seeded from ``(base seed, epoch, job number)`` and its learning rate
from the tokens trained before it in that order, so with ``threads=1`` a run is bit-for-bit
repeatable and an interrupted run resumed from an epoch checkpoint equals an uninterrupted one.
"""

from __future__ import annotations

import math
import os
import queue
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, DivergenceError, EmptyCorpusError
from ..text.corpus import encode_corpus, scan_corpus, subsample_keep_probs
from ..text.vocab import Vocab
from ..vectors import WordVectors
from .config import Word2VecConfig, same_training
from .kernels import train_job
from .model import JSON_NAME, Word2VecModel
from .sampling import build_alias_table, build_huffman_tree

# --------------------------------------------------------------------------- the trainer


@dataclass
class _Scratch:
    """One worker thread's buffers, allocated once per run so the kernel never allocates."""

    sen: np.ndarray
    ctx: np.ndarray
    negs: np.ndarray
    neu1: np.ndarray
    neu1e: np.ndarray
    grad: np.ndarray
    err: np.ndarray


def _job_seed(base_seed: int, epoch: int, job: int) -> np.uint64:
    # the kernel runs this through splitmix64, so a simple odd-multiplier mix is enough here
    return np.uint64((base_seed + (epoch * 1_000_003 + job + 1) * 0x9E3779B97F4A7C15) % (1 << 64))


def _make_jobs(offsets: np.ndarray, job_words: int) -> list[tuple[int, int, int]]:
    """Split sentences into runs of >= job_words tokens: [(first sentence, end sentence, first token)]."""
    n_sent = offsets.size - 1
    starts = [0]
    while starts[-1] < n_sent:
        target = offsets[starts[-1]] + job_words
        nxt = int(np.searchsorted(offsets, target, side="left"))
        starts.append(min(max(nxt, starts[-1] + 1), n_sent))
    return [(starts[k], starts[k + 1], int(offsets[starts[k]] - offsets[0])) for k in range(len(starts) - 1)]


def _interleave_jobs(jobs: list[tuple[int, int, int]], offsets: np.ndarray, parts: int) -> list[tuple[int, int, int]]:
    """Training order of word2vec.c / gensim with ``parts`` threads: the jobs are cut into ``parts``
    contiguous runs, and job k of every run comes before job k + 1 of any, so concurrent threads
    work on distant parts of the corpus. Each job's third field becomes the number of tokens
    trained before it in this order (its learning-rate position).
    """
    per = -(-len(jobs) // parts)
    order = [p * per + k for k in range(per) for p in range(parts) if p * per + k < len(jobs)]
    out, pos = [], 0
    for j in order:
        s0, s1, _ = jobs[j]
        out.append((s0, s1, pos))
        pos += int(offsets[s1] - offsets[s0])
    return out


class _Run:
    """State of one training run over encoded arrays (shared by fresh and resumed runs)."""

    def __init__(
        self,
        config: Word2VecConfig,
        ids: np.ndarray,
        offsets: np.ndarray,
        counts: np.ndarray,
        syn0: np.ndarray,
        syn1neg: np.ndarray | None,
        syn1: np.ndarray | None,
        base_seed: int,
    ):
        self.config = config
        self.ids = ids
        self.offsets = offsets
        v, d = syn0.shape
        self.dim = d
        # Rows are padded with zero columns to a multiple of 8 floats so the kernels' vector loops
        # have no scalar tail (dim 100 -> 104: ~30% faster per row update in a micro-benchmark,
        # ~8% for whole skip-gram runs). The padding stays exactly zero: every update to a padded
        # column is a product with another padded zero. A disabled output layer is a dummy (1, 1)
        # matrix the kernel never touches.
        padded = -(-d // 8) * 8
        self.syn0 = _pad(syn0, padded)
        self._syn1neg = _pad(syn1neg, padded) if syn1neg is not None else np.zeros((1, 1), np.float32)
        self._syn1 = _pad(syn1, padded) if syn1 is not None else np.zeros((1, 1), np.float32)
        self.has_ns = syn1neg is not None
        self.has_hs = syn1 is not None
        self.base_seed = base_seed
        self.train_words = int(offsets[-1] - offsets[0])
        self.total_words = self.train_words * config.epochs
        if config.sample > 0:
            # word2vec.c: keep a word with probability (sqrt(f/t) + 1) * t/f, f = its count, t = sample * total
            self.keep = subsample_keep_probs(counts, config.sample, int(counts.sum())).astype(np.float32)
        else:
            self.keep = np.ones(v, np.float32)
        if config.negative > 0:
            table = build_alias_table(counts, config.ns_exponent)
            self.neg_prob, self.neg_alias = table.prob, table.alias
        else:
            self.neg_prob, self.neg_alias = np.ones(1, np.float32), np.zeros(1, np.int32)
        if config.hs:
            tree = build_huffman_tree(counts)
            self.codes, self.points, self.codelens = tree.codes, tree.points, tree.codelens
        else:
            self.codes = np.zeros((v, 1), np.uint8)
            self.points = np.zeros((v, 1), np.int32)
            self.codelens = np.zeros(v, np.int32)
        max_len = int(np.max(np.diff(offsets))) if offsets.size > 1 else 1
        self.threads = config.resolved_threads()
        self.jobs = _interleave_jobs(_make_jobs(offsets, config.job_words), offsets, self.threads)
        self.scratch = [
            # the kernel trusts these sizes (it runs without bounds checks)
            _Scratch(
                sen=np.empty(max(max_len, 1), np.int32),
                ctx=np.empty(2 * config.window, np.int32),
                negs=np.empty(max(config.negative, 1), np.int32),
                neu1=np.empty((1, padded), np.float32),
                neu1e=np.empty(padded, np.float32),
                grad=np.empty((2 * config.window, config.negative + 1), np.float32),
                err=np.empty((2 * config.window, padded), np.float32),
            )
            for _ in range(self.threads)
        ]

    def vectors(self) -> np.ndarray:
        """The input vectors (V, D) without the padding (a copy)."""
        return np.ascontiguousarray(self.syn0[:, : self.dim])

    def output_layers(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(syn1neg, syn1) without the padding (copies), None for a disabled layer."""
        neg = np.ascontiguousarray(self._syn1neg[:, : self.dim]) if self.has_ns else None
        hs = np.ascontiguousarray(self._syn1[:, : self.dim]) if self.has_hs else None
        return neg, hs

    def lr_at(self, pos: int) -> float:
        c = self.config
        return max(c.min_alpha, c.alpha - (c.alpha - c.min_alpha) * pos / max(self.total_words, 1))

    def _job(self, epoch: int, j: int, s: _Scratch) -> tuple[float, int, int, int]:
        c = self.config
        s0, s1, pos = self.jobs[j]
        return train_job(
            c.sg,
            self.ids,
            self.offsets,
            s0,
            s1,
            self.syn0,
            self._syn1neg,
            self._syn1,
            self.keep,
            self.neg_prob,
            self.neg_alias,
            self.codes,
            self.points,
            self.codelens,
            c.negative,
            c.hs,
            c.batch_negatives,
            c.window,
            c.cbow_mean,
            c.alpha,
            c.min_alpha,
            epoch * self.train_words + pos,
            self.total_words,
            _job_seed(self.base_seed, epoch, j),
            s.sen,
            s.ctx,
            s.negs,
            s.neu1,
            s.neu1e,
            s.grad,
            s.err,
        )

    def epoch(self, epoch: int, on_result: Callable[[float, int, int, int], None]) -> None:
        """Run every job of one epoch on the worker threads.

        ``on_result`` sees each job's output in the caller's thread."""
        todo: queue.SimpleQueue = queue.SimpleQueue()
        for j in range(len(self.jobs)):
            todo.put(j)
        done: queue.SimpleQueue = queue.SimpleQueue()
        stop = threading.Event()

        def worker(s: _Scratch) -> None:
            try:
                while not stop.is_set():
                    try:
                        j = todo.get_nowait()
                    except queue.Empty:
                        break
                    done.put(self._job(epoch, j, s))
            except BaseException as e:  # handed to the main thread, which re-raises it
                done.put(e)
            finally:
                done.put(None)

        n_workers = min(self.threads, len(self.jobs))
        workers = [threading.Thread(target=worker, args=(self.scratch[k],), daemon=True) for k in range(n_workers)]
        for t in workers:
            t.start()
        running = n_workers
        try:
            while running:
                item = done.get()
                if item is None:
                    running -= 1
                elif isinstance(item, BaseException):
                    raise item
                else:
                    on_result(*item)
        finally:
            stop.set()
            for t in workers:
                t.join()


def _pad(a: np.ndarray, width: int) -> np.ndarray:
    out = np.zeros((a.shape[0], width), np.float32)
    out[:, : a.shape[1]] = a
    return out


def _init_weights(v: int, d: int, config: Word2VecConfig, rng: np.random.Generator):
    # word2vec.c: input vectors uniform in [-0.5/d, 0.5/d), output vectors zero. gensim 4 uses
    # twice that range; on text8-prefix CBOW (5 epochs, mean of 3 seeds) its range measured
    # +0.4 analogy points and the same WS353/SimLex — not a clear enough win to leave the reference.
    syn0 = ((rng.random((v, d), dtype=np.float32) - np.float32(0.5)) / np.float32(d)).astype(np.float32)
    syn1neg = np.zeros((v, d), np.float32) if config.negative > 0 else None
    syn1 = np.zeros((v, d), np.float32) if config.hs else None
    return syn0, syn1neg, syn1


def train(
    corpus: str | os.PathLike | Sequence[str | os.PathLike],
    config: Word2VecConfig | None = None,
    *,
    work_dir: str | os.PathLike | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    resume: bool = False,
    progress: bool = True,
    callback: Callable[[dict[str, float]], None] | None = None,
    rng: np.random.Generator | None = None,
) -> Word2VecModel:
    """Train word2vec on a text corpus: a file (plain, .gz, .bz2, .xz), a folder of them, or a list.

    One sentence per line, tokens separated by whitespace; lines longer than
    ``config.max_sentence_len`` tokens are cut into chunks (so text8's single line works as is).
    Raises EmptyCorpusError for an empty corpus or one where no word reaches ``min_count``.

    work_dir: where the encoded corpus is written (a temporary folder if None).
    checkpoint_dir: the model is saved there after every epoch; with ``resume=True`` a run
    continues from the checkpoint found there (same config required, ``threads`` may differ).
    callback: called with ``{"epoch", "words", "loss", "lr", "words_per_sec"}`` at each progress interval.
    rng: source of all randomness (initial vectors and the kernels' seeds); default
    ``numpy.random.default_rng(config.seed)``.
    """
    config = config or Word2VecConfig()
    t_start = time.perf_counter()
    state = None
    if resume:
        if checkpoint_dir is None:
            raise ConfigError("resume=True needs a checkpoint_dir")
        if (Path(checkpoint_dir) / JSON_NAME).exists():
            state = Word2VecModel.load(checkpoint_dir)
            if not same_training(state.config, config):
                raise ConfigError(f"{checkpoint_dir}: the checkpoint was made with a different config: {state.config}")
    source = corpus
    stats: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="kotoba-w2v-") as tmp:
        out_dir = Path(work_dir) if work_dir is not None else Path(tmp)
        if state is None:
            # one read of the text counts the vocabulary and encodes the ids; EmptyCorpusError
            # for an empty corpus or when min_count removes every word
            vocab, encoded = scan_corpus(
                source,
                out_dir,
                config.min_count,
                config.max_vocab_size,
                config.lowercase,
                config.max_sentence_len,
                corpus_name=str(source),
            )
            words, counts = vocab.words, vocab.counts
        else:
            words, counts = state.words, state.counts
            encoded = encode_corpus(
                source,
                Vocab(words, counts),
                out_dir,
                lowercase=config.lowercase,
                max_sentence_len=config.max_sentence_len,
            )
        if config.hs and len(words) < 2:
            raise EmptyCorpusError("hierarchical softmax needs at least 2 distinct words that survive min_count")
        ids, offsets, raw_words = encoded.ids, encoded.sent_offsets, encoded.raw_words
        if state is None:
            rng = rng if rng is not None else np.random.default_rng(config.seed)
            syn0, syn1neg, syn1 = _init_weights(len(words), config.dim, config, rng)
            base_seed = int(rng.integers(0, 2**63))
            losses: list[dict[str, float]] = []
            start_epoch = 0
        else:
            syn0 = np.array(state.wv.vectors, np.float32)
            syn1neg = None if state.syn1neg is None else np.array(state.syn1neg, np.float32)
            syn1 = None if state.syn1 is None else np.array(state.syn1, np.float32)
            base_seed, losses = state.base_seed, list(state.losses)
            start_epoch = int(state.stats.get("epochs_done", 0))
        run = _Run(config, ids, offsets, counts, syn0, syn1neg, syn1, base_seed)
        stats.update(raw_words=raw_words, train_words=run.train_words, epochs_done=start_epoch)
        t_train = time.perf_counter()
        _train_epochs(run, start_epoch, losses, stats, words, counts, progress, callback, checkpoint_dir)
        train_seconds = time.perf_counter() - t_train
    seconds = time.perf_counter() - t_start
    epochs_run = config.epochs - start_epoch
    stats.update(
        seconds=seconds,
        train_seconds=train_seconds,
        words_per_sec=raw_words * epochs_run / seconds if seconds > 0 else 0.0,
    )
    return _model(run, words, counts, losses, stats)


def _model(run: _Run, words, counts, losses, stats) -> Word2VecModel:
    wv = WordVectors(words, run.vectors(), counts)
    syn1neg, syn1 = run.output_layers()
    return Word2VecModel(run.config, list(words), counts, wv, syn1neg, syn1, losses, dict(stats), run.base_seed)


def _train_epochs(
    run: _Run, start_epoch: int, losses: list, stats: dict, words, counts, progress: bool, callback, checkpoint_dir
) -> None:
    from tqdm.auto import tqdm

    config = run.config
    interval = max(config.job_words, run.train_words // 10)
    t0 = time.perf_counter()
    done_at_start = start_epoch * run.train_words
    with tqdm(
        total=run.total_words,
        initial=done_at_start,
        unit="w",
        unit_scale=True,
        disable=not progress,
        desc="word2vec",
        dynamic_ncols=True,
        smoothing=0.1,
    ) as bar:
        acc = {"loss": 0.0, "pairs": 0, "words": 0, "done": done_at_start}

        def on_result(loss: float, loss_pairs: int, pairs: int, seen: int) -> None:
            acc["loss"] += loss
            acc["pairs"] += loss_pairs
            acc["words"] += seen
            acc["done"] += seen
            bar.update(seen)
            if acc["words"] >= interval:
                flush()

        def flush() -> None:
            if acc["pairs"] == 0:
                return
            mean = acc["loss"] / acc["pairs"]
            if not math.isfinite(mean):
                raise DivergenceError(
                    f"word2vec loss became {mean} in epoch {epoch + 1}; lower alpha (now {config.alpha})"
                )
            lr = run.lr_at(acc["done"])
            info = {
                "epoch": epoch + 1,
                "words": acc["done"],
                "loss": mean,
                "lr": lr,
                "words_per_sec": (acc["done"] - done_at_start) / max(time.perf_counter() - t0, 1e-9),
            }
            losses.append({"epoch": epoch + 1, "words": acc["done"], "loss": mean})
            bar.set_postfix(loss=f"{mean:.4f}", lr=f"{lr:.5f}", refresh=False)
            if callback is not None:
                callback(info)
            acc.update(loss=0.0, pairs=0, words=0)

        for epoch in range(start_epoch, config.epochs):
            run.epoch(epoch, on_result)
            flush()
            stats["epochs_done"] = epoch + 1
            if checkpoint_dir is not None:
                stats["seconds"] = time.perf_counter() - t0
                _model(run, words, counts, losses, stats).save(checkpoint_dir)
