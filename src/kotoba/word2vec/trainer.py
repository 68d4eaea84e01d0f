"""Fast word2vec training: CBOW / skip-gram, negative sampling and/or hierarchical softmax.

The corpus is read twice in a streaming way (once to count words, once to encode it into a
memory-mapped array of word ids, see :mod:`kotoba.text`), then ``threads`` Python threads each
run the ``nogil`` Numba kernel of :mod:`kotoba.word2vec.kernels` over jobs of about ``job_words``
tokens, updating the shared weight matrices without locks (Hogwild, as word2vec.c and gensim do).
With CBOW blocks, each thread keeps its own copy of the ``hot_rows`` most frequent words' input
vectors and hands its changes to them over after every job (see :class:`Word2VecConfig`): those rows
are the ones both threads write all the time.

As in word2vec.c and gensim, the corpus is cut into ``threads`` contiguous parts trained side by
side (:func:`_interleave_jobs`), not front to back: with 2 threads that order scored +0.009 WS353
and +0.1 analogy points on text8-prefix CBOW (mean of 24 seeds) and +0.04 WS353 on PTB CBOW (8 seeds).

Each job's random stream is seeded from ``(base seed, epoch, job number)`` and its learning rate
from the tokens trained before it in that order, so with ``threads=1`` a run is bit-for-bit
repeatable, and a run stopped at a job boundary (after every epoch, or when ``should_stop`` asks)
and resumed from its checkpoint equals an uninterrupted one.

:func:`train` reads as its steps: load the checkpoint to resume from (:func:`load_resume_point`),
read the corpus into ids (:func:`_read_corpus`), set the starting weights (:func:`_start_point`),
build the run (:class:`_Run`: kernel bundles, job order, worker scratch), train epoch by epoch
(:func:`_train_epochs`: jobs on worker threads, progress, checkpoints, the stop hook), and wrap
the result (:func:`_model`).
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

from ..errors import ConfigError, DataError, DivergenceError, EmptyCorpusError, FormatError, TrainingInterrupted
from ..jit import kernels_loaded
from ..text.corpus import IDS_FILE, encode_corpus, scan_corpus
from ..text.readers import corpus_files, corpus_record
from ..text.vocab import Vocab
from ..vectors import WordVectors
from .bundles import (
    Corpus,
    Weights,
    hot_row_count,
    kernel_layers,
    make_job,
    make_params,
    make_scratch,
    make_tables,
    pad_weights,
    padded_width,
    unpad_in_place,
)
from .config import Word2VecConfig, same_training
from .kernels import sync_hot, train_job
from .model import JSON_NAME, NPZ_NAME, Word2VecModel

# --------------------------------------------------------------------------- job order


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


# --------------------------------------------------------------------------- one run


class _Run:
    """State of one training run over encoded arrays (shared by fresh and resumed runs).

    ``start.parts``: the thread count whose job order (:func:`_interleave_jobs`) the run follows;
    a resumed run keeps the order of the run it continues, whatever its own thread count.
    """

    def __init__(
        self,
        config: Word2VecConfig,
        ids_file: Path,
        offsets: np.ndarray,
        counts: np.ndarray,
        start: _StartPoint,
    ):
        syn0, syn1neg, syn1 = start.take_weights()  # syn0: V rows, then the threads' copies of hot rows
        v = len(counts)
        self.config = config
        # The ids are read job by job from the encoded corpus file into each worker's buffer, not
        # memory-mapped: the pages of a mapping a run walks through all stay in its resident set
        # (93 MB on a 23M-token corpus) while a job needs only its own few kB.
        self.ids_file = ids_file
        self.offsets = np.array(offsets, np.int64)
        # The start point's rows are already padded with zero columns to a multiple of 8 floats, so
        # the kernels' vector loops have no scalar tail (dim 100 -> 104: ~30% faster per row update
        # in a micro-benchmark, ~8% for whole skip-gram runs). The padding stays exactly zero: every
        # update to a padded column is a product with another padded zero. A disabled output layer is
        # a dummy (1, 1) matrix the kernel never touches.
        self.dim = config.dim
        padded = syn0.shape[1]
        self.kernel_weights = Weights(*kernel_layers((syn0, syn1neg, syn1)))
        self.weights = self.kernel_weights._replace(syn0=syn0[:v])  # the model: the shared rows
        self.has_ns = syn1neg is not None
        self.has_hs = syn1 is not None
        self.base_seed = start.base_seed
        self.train_words = int(self.offsets[-1] - self.offsets[0])
        self.total_words = self.train_words * config.epochs
        self.params = make_params(config, self.total_words)
        self.tables = make_tables(counts, config)
        self.parts = start.parts
        self.jobs = _interleave_jobs(_make_jobs(self.offsets, config.job_words), self.offsets, self.parts)
        self.threads = config.resolved_threads()
        max_len = int(np.max(np.diff(self.offsets))) if self.offsets.size > 1 else 1
        max_job = max((int(self.offsets[s1] - self.offsets[s0]) for s0, s1, _ in self.jobs), default=1)
        hot = (syn0.shape[0] - v) // self.threads  # the start point made room for them (_start_point)
        self.scratch = [
            make_scratch(config, max_len, padded, hot_rows=hot, hot_base=v + k * hot) for k in range(self.threads)
        ]
        self.hot_lock = threading.Lock()  # one thread at a time adds its hot rows' changes to syn0
        self.id_buffers = [np.empty(max(max_job, 1), np.int32) for _ in range(self.threads)]

    def vectors(self) -> np.ndarray:
        """The input vectors (V, D) without the padding (a copy)."""
        return np.ascontiguousarray(self.weights.syn0[:, : self.dim])

    def output_layers(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        """(syn1neg, syn1) without the padding (copies), None for a disabled layer."""
        neg = np.ascontiguousarray(self.weights.syn1neg[:, : self.dim]) if self.has_ns else None
        hs = np.ascontiguousarray(self.weights.syn1[:, : self.dim]) if self.has_hs else None
        return neg, hs

    def release(self) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """(syn0, syn1neg, syn1) without the padding, made in the padded matrices' own memory (the run is over)."""
        w, self.weights, self.kernel_weights = self.weights, None, None
        return (
            unpad_in_place(w.syn0, self.dim),
            unpad_in_place(w.syn1neg, self.dim) if self.has_ns else None,
            unpad_in_place(w.syn1, self.dim) if self.has_hs else None,
        )

    def lr_at(self, pos: int) -> float:
        c = self.config
        return max(c.min_alpha, c.alpha - (c.alpha - c.min_alpha) * pos / max(self.total_words, 1))

    def position(self, epoch: int, job: int) -> int:
        """Tokens trained before job ``job`` of epoch ``epoch`` (the schedule position)."""
        within = self.jobs[job][2] if job < len(self.jobs) else self.train_words
        return epoch * self.train_words + within

    def _job(self, epoch: int, j: int, worker: int, ids_file) -> tuple[float, int, int, int]:
        """Job ``j`` of ``epoch`` on worker ``worker``'s buffers; ``ids_file``: its open handle on the ids."""
        s0, s1, pos = self.jobs[j]
        lo, hi = int(self.offsets[s0]), int(self.offsets[s1])
        ids = self.id_buffers[worker][: hi - lo]
        ids_file.seek(lo * ids.itemsize)
        if ids_file.readinto(ids) != ids.nbytes:
            raise FormatError(f"{self.ids_file}: shorter than its sentence offsets say (changed during training?)")
        corpus = Corpus(ids=ids, offsets=self.offsets[s0 : s1 + 1] - lo)
        job = make_job(0, s1 - s0, epoch * self.train_words + pos, _job_seed(self.base_seed, epoch, j))
        out = train_job(self.params, corpus, job, self.kernel_weights, self.tables, self.scratch[worker])
        self._sync_hot(worker)  # the job's changes to the hot rows reach syn0 before the job counts as done
        return out

    def _sync_hot(self, worker: int) -> None:
        """Add worker ``worker``'s changes to its own copy of the hot rows into syn0 and take the merged
        rows back; when a worker starts, its copy is unchanged since its last job (or all zeros), so this
        only takes the shared rows."""
        sc = self.scratch[worker]
        if sc.hot_rows:
            with self.hot_lock:
                sync_hot(self.kernel_weights.syn0, sc.hot_rows, sc.hot_base, sc.snap0)

    def epoch(
        self,
        epoch: int,
        first_job: int,
        on_result: Callable[[float, int, int, int], None],
        should_stop: Callable[[], bool] | None,
    ) -> int:
        """Run jobs ``first_job:`` of one epoch on the worker threads; returns the job index reached.

        Jobs are handed out in order and every job handed out is finished, so the jobs done are
        always ``first_job:reached``: ``reached < len(self.jobs)`` only when ``should_stop`` (asked,
        one call at a time, before each job is handed out) returned True. ``on_result`` sees
        each job's output in the caller's thread.
        """
        lock = threading.Lock()
        nxt = [first_job]
        halted = threading.Event()  # should_stop said so, or a worker failed
        done: queue.SimpleQueue = queue.SimpleQueue()

        def take() -> int | None:
            with lock:
                if halted.is_set() or nxt[0] >= len(self.jobs):
                    return None
                if should_stop is not None and should_stop():
                    halted.set()
                    return None
                nxt[0] += 1
                return nxt[0] - 1

        def worker(k: int) -> None:
            try:
                self._sync_hot(k)
                with open(self.ids_file, "rb", buffering=0) as ids_file:
                    while (j := take()) is not None:
                        done.put(self._job(epoch, j, k, ids_file))
            except BaseException as e:  # handed to the main thread, which re-raises it
                halted.set()
                done.put(e)
            finally:
                done.put(None)

        n_workers = max(1, min(self.threads, len(self.jobs) - first_job))
        workers = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(n_workers)]
        for t in workers:
            t.start()
        try:
            _collect(done, n_workers, on_result)
        finally:
            halted.set()
            for t in workers:
                t.join()
        return nxt[0]


def _collect(done: queue.SimpleQueue, n_workers: int, on_result: Callable[..., None]) -> None:
    """Hand the workers' results to ``on_result`` until every worker has ended; re-raise a worker's error."""
    running = n_workers
    while running:
        item = done.get()
        if item is None:
            running -= 1
        elif isinstance(item, BaseException):
            raise item
        else:
            on_result(*item)


def _load_kernel(config: Word2VecConfig) -> None:
    """Load (or compile) the training kernel for ``config`` now, by running it on an empty job.

    Before the model's memory is taken, so that LLVM's code pages, which loading touches, can be
    given back (:func:`kotoba.jit.kernels_loaded`) before they would add to the run's peak. The
    arguments have the run's types (one compiled specialisation serves both); nothing is trained.
    """
    width = padded_width(config.dim)
    w = np.zeros((2, width), np.float32)
    corpus = Corpus(ids=np.zeros(1, np.int32), offsets=np.zeros(2, np.int64))
    tables = make_tables(np.array([2, 1], np.int64), config)
    train_job(make_params(config, 1), corpus, make_job(0, 0, 0, np.uint64(0)), Weights(w, w, w), tables,
              make_scratch(config, 1, width))  # fmt: skip
    sync_hot(w, 0, 0, np.zeros((0, width), np.float32))
    kernels_loaded()


def _init_weights(
    v: int, d: int, config: Word2VecConfig, rng: np.random.Generator, width: int | None = None, extra_rows: int = 0
):
    """(syn0, syn1neg, syn1) as (V, width) float32 matrices (default width d) whose first d columns
    are the model and the rest zero padding; None for a disabled output layer. ``extra_rows``: zero
    rows after syn0's V (the threads' copies of hot rows, :class:`~kotoba.word2vec.bundles.Scratch`)."""
    # input vectors uniform in [-r/d, r/d), output vectors zero; word2vec.c has r = 0.5, gensim 4
    # and kotoba's default r = 1 (+0.3 analogy points, +0.01 WS353 on text8-prefix CBOW)
    width = d if width is None else width
    syn0 = np.zeros((v + extra_rows, width), np.float32)
    # drawn and scaled a block of rows at a time, in place: the same numbers and float32 operations
    # as one (V, d) draw of (r - 0.5) * width / d, without a (V, d) temporary beside the matrix
    step = 4096
    for i0 in range(0, v, step):
        block = rng.random((min(step, v - i0), d), dtype=np.float32)
        block -= np.float32(0.5)
        block *= np.float32(2.0 * config.init_range)
        block /= np.float32(d)
        syn0[i0 : i0 + block.shape[0], :d] = block
    syn1neg = np.zeros((v, width), np.float32) if config.negative > 0 else None
    syn1 = np.zeros((v, width), np.float32) if config.hs else None
    return syn0, syn1neg, syn1


# --------------------------------------------------------------------------- train()


@dataclass
class _StartPoint:
    """Where a run begins: fresh weights at epoch 0, job 0, or a checkpoint's state."""

    syn0: np.ndarray
    syn1neg: np.ndarray | None
    syn1: np.ndarray | None
    base_seed: int
    losses: list[dict[str, float]]
    epoch: int
    job: int
    parts: int

    def take_weights(self) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """(syn0, syn1neg, syn1), dropping this object's references (the run takes them over)."""
        out = (self.syn0, self.syn1neg, self.syn1)
        self.syn0 = self.syn1neg = self.syn1 = None  # type: ignore[assignment]
        return out


def train(
    corpus: str | os.PathLike | Sequence[str | os.PathLike],
    config: Word2VecConfig | None = None,
    *,
    work_dir: str | os.PathLike | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    resume: bool = False,
    callback: Callable[[dict[str, float]], None] | None = None,
    rng: np.random.Generator | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Word2VecModel:
    """Train word2vec on a text corpus: a file (plain, .gz, .bz2, .xz), a folder of them, or a list.

    One sentence per line, tokens separated by whitespace; lines longer than
    ``config.max_sentence_len`` tokens are cut into chunks (so text8's single line works as is).
    Raises EmptyCorpusError for an empty corpus or one where no word reaches ``min_count``.

    work_dir: where the encoded corpus is written (a temporary folder if None).
    checkpoint_dir: the model is saved there after every epoch; with ``resume=True`` a run
    continues from the checkpoint found there (same config required, ``threads`` may differ).
    callback: called with ``{"epoch", "words", "total_words", "loss", "lr", "words_per_sec"}`` about ten
    times an epoch (``words``: tokens trained so far, over all epochs); the library draws no progress
    bar itself (the CLI draws one from these reports).
    rng: source of all randomness (initial vectors and the kernels' seeds); default
    ``numpy.random.default_rng(config.seed)``.
    should_stop: asked (from a worker thread, one call at a time, so it must be cheap and
    thread-safe, e.g. reading a flag a signal handler sets) before each job is started. Once it
    returns True the workers finish the jobs they hold, the model is checkpointed at that job
    boundary (when ``checkpoint_dir`` is given), and :class:`TrainingInterrupted` is raised;
    ``resume=True`` then continues from there (with ``threads=1`` and a seed, to the same bytes
    as an uninterrupted run).
    """
    config = config or Word2VecConfig()
    if config.deterministic:  # hook: thread-count-independent round training (kotoba.word2vec.rounds)
        from .rounds import train_rounds

        return train_rounds(corpus, config, work_dir=work_dir, checkpoint_dir=checkpoint_dir, resume=resume,
                            callback=callback, rng=rng, should_stop=should_stop)  # fmt: skip
    t_start = time.perf_counter()
    record = corpus_record(corpus_files(corpus))
    state = load_resume_point(checkpoint_dir, config, record) if resume else None
    stats: dict[str, Any] = {"corpus": record}
    with tempfile.TemporaryDirectory(prefix="kotoba-w2v-") as tmp:
        out_dir = Path(work_dir) if work_dir is not None else Path(tmp)
        words, counts, encoded = _read_corpus(corpus, config, state, out_dir)
        raw_words, ids_file, offsets = encoded.raw_words, encoded.path / IDS_FILE, encoded.sent_offsets
        invalid_utf8 = int(encoded.meta.get("invalid_utf8", 0))  # sequences read as U+FFFD
        del encoded  # unmaps the ids: the run reads them job by job
        _load_kernel(config)
        start = _start_point(config, len(words), state, rng)
        run = _Run(config, ids_file, offsets, counts, start)
        stats.update(raw_words=raw_words, train_words=run.train_words, epochs_done=start.epoch)
        stats["invalid_utf8"] = invalid_utf8
        t_train = time.perf_counter()
        _train_epochs(run, start, stats, words, counts, callback, checkpoint_dir, should_stop)
        train_seconds = time.perf_counter() - t_train
    seconds = time.perf_counter() - t_start
    epochs_run = (run.total_words - run.position(start.epoch, start.job)) / max(run.train_words, 1)
    stats.update(
        seconds=seconds,
        train_seconds=train_seconds,
        words_per_sec=raw_words * epochs_run / seconds if seconds > 0 else 0.0,
    )
    return _model(run, words, counts, start.losses, stats, final=True)


def _check_same_corpus(checkpoint_dir, recorded: list | None, current: list) -> None:
    """ConfigError if the checkpoint was trained on other text (checkpoints before this was recorded pass)."""
    if recorded is not None and recorded != current:
        names = ", ".join(r["name"] for r in recorded)
        raise ConfigError(
            f"{checkpoint_dir}: the checkpoint was trained on another corpus ({names}; names, sizes and first "
            "bytes differ); resume on the same files, or start a new run in another folder"
        )


def load_resume_point(checkpoint_dir, config: Word2VecConfig, corpus: list) -> Word2VecModel | None:
    """The checkpoint in ``checkpoint_dir`` (None if there is none yet); ConfigError if it trained another
    config, or text other than ``corpus`` (a :func:`~kotoba.text.readers.corpus_record`). Every way of
    training (Hogwild, rounds, a cluster) resumes through here."""
    if checkpoint_dir is None:
        raise ConfigError("resume=True needs a checkpoint_dir")
    # the arrays are renamed into place first (kotoba.io.save_pair): either file means a save was made
    if not any((Path(checkpoint_dir) / name).exists() for name in (NPZ_NAME, JSON_NAME)):
        return None
    state = Word2VecModel.load(checkpoint_dir)
    if not same_training(state.config, config):
        changed = ", ".join(
            f"{k}={v!r} (checkpoint: {state.config.to_dict()[k]!r})"
            for k, v in config.to_dict().items()
            if k != "threads" and state.config.to_dict()[k] != v
        )
        raise ConfigError(
            f"{checkpoint_dir}: the checkpoint was made with different settings: {changed}; "
            "resume with the checkpoint's settings, or start a new run in another folder"
        )
    _check_same_corpus(checkpoint_dir, state.stats.get("corpus"), corpus)
    return state


def _read_corpus(corpus, config: Word2VecConfig, state: Word2VecModel | None, out_dir: Path):
    """(words, counts, EncodedCorpus): one scan that counts and encodes, or encoding with a checkpoint's vocabulary."""
    if state is None:
        # EmptyCorpusError for an empty corpus or when min_count removes every word
        vocab, encoded = scan_corpus(
            corpus,
            out_dir,
            config.min_count,
            config.max_vocab_size,
            config.lowercase,
            config.max_sentence_len,
            corpus_name=str(corpus),
            tokenizer=config.tokenizer,
        )
        words, counts = vocab.words, vocab.counts
    else:
        words, counts = state.words, state.counts
        encoded = encode_corpus(
            corpus,
            Vocab(words, counts),
            out_dir,
            lowercase=config.lowercase,
            max_sentence_len=config.max_sentence_len,
            tokenizer=config.tokenizer,
        )
    invalid = int(encoded.meta.get("invalid_utf8", 0))
    if invalid > encoded.raw_words:
        # more undecodable sequences than words: not UTF-8 text, and training on U+FFFD runs is useless
        raise DataError(
            f"{corpus}: not UTF-8 text ({invalid:,} invalid UTF-8 sequences in {encoded.raw_words:,} words): a binary "
            "file, or text in another encoding? convert it to UTF-8 (e.g. iconv -f SHIFT-JIS -t UTF-8)"
        )
    if len(words) < 2:
        # negative sampling would draw the target itself as every negative; hs needs two leaves
        kept = f"only {words[0]!r} survives" if words else "no word survives"
        raise EmptyCorpusError(
            f"word2vec needs at least 2 distinct words that survive min_count={config.min_count} and "
            f"max_vocab_size={config.max_vocab_size}; {kept} (lower min_count, raise max_vocab_size, or use more text)"
        )
    return words, counts, encoded


def start_weights(
    config: Word2VecConfig, v: int, state: Word2VecModel | None, rng: np.random.Generator | None, extra_rows: int = 0
) -> tuple[list[np.ndarray | None], int]:
    """([syn0, syn1neg, syn1] padded to :func:`~kotoba.word2vec.bundles.padded_width`, None for a disabled
    layer; the base seed of the jobs' seeds): fresh from ``rng`` (default: seeded by ``config.seed``), or
    the checkpoint ``state``'s. For the Hogwild and the round trainers alike. ``extra_rows``: zero rows
    after syn0's V."""
    if state is not None:
        return pad_weights(state.wv.vectors, state.syn1neg, state.syn1, extra_rows), state.base_seed
    rng = rng if rng is not None else np.random.default_rng(config.seed)
    weights = list(_init_weights(v, config.dim, config, rng, padded_width(config.dim), extra_rows))
    return weights, int(rng.integers(0, 2**63))


def _start_point(
    config: Word2VecConfig, v: int, state: Word2VecModel | None, rng: np.random.Generator | None
) -> _StartPoint:
    """The padded weights and schedule position a run starts from; syn0 with room for each thread's copy
    of the hot rows after its V rows (:class:`_Run`)."""
    threads = config.resolved_threads()
    copies = threads * hot_row_count(config, v, threads)
    (syn0, syn1neg, syn1), base_seed = start_weights(config, v, state, rng, copies)
    if state is None:
        return _StartPoint(syn0, syn1neg, syn1, base_seed, [], 0, 0, threads)
    return _StartPoint(
        syn0=syn0,
        syn1neg=syn1neg,
        syn1=syn1,
        base_seed=base_seed,
        losses=list(state.losses),
        epoch=int(state.stats.get("epochs_done", 0)),
        job=int(state.stats.get("jobs_done", 0)),
        parts=int(state.stats.get("job_parts", config.resolved_threads())),
    )


def _model(run: _Run, words, counts, losses, stats, final: bool = False) -> Word2VecModel:
    """The model as trained so far; ``final``: the run is over, its matrices become the model's (unpadded in place)."""
    if final:
        vectors, syn1neg, syn1 = run.release()
    else:
        vectors, (syn1neg, syn1) = run.vectors(), run.output_layers()
    wv = WordVectors(words, vectors, counts, copy=not final)  # a final model takes the run's memory over
    return Word2VecModel(run.config, list(words), counts, wv, syn1neg, syn1, losses, dict(stats), run.base_seed)


# --------------------------------------------------------------------------- epochs, progress, checkpoints


class _Progress:
    """Loss and speed bookkeeping: job results in, ``callback`` dicts and loss history out."""

    def __init__(self, run: _Run, done_at_start: int, callback, losses: list[dict[str, float]]):
        self.run, self.callback, self.losses = run, callback, losses
        self.interval = max(run.config.job_words, run.train_words // 10)
        self.done_at_start = done_at_start
        self.done = done_at_start
        self.t0 = time.perf_counter()
        self.epoch = 0
        self._reset()

    def _reset(self) -> None:
        self.loss, self.pairs, self.words = 0.0, 0, 0

    def add(self, loss: float, loss_pairs: int, pairs: int, seen: int) -> None:
        """One job's result (train_job's return value)."""
        self.loss += loss
        self.pairs += loss_pairs
        self.words += seen
        self.done += seen
        if self.words >= self.interval:
            self.flush()

    def flush(self) -> None:
        """Report the interval so far; DivergenceError if its loss is not finite."""
        if self.pairs == 0:
            return
        mean = self.loss / self.pairs
        config = self.run.config
        if not math.isfinite(mean):
            raise DivergenceError(
                f"word2vec loss became {mean} in epoch {self.epoch + 1}; lower alpha (now {config.alpha})"
            )
        lr = self.run.lr_at(self.done)
        self.losses.append({"epoch": self.epoch + 1, "words": self.done, "loss": mean, "lr": lr})
        if self.callback is not None:
            elapsed = max(time.perf_counter() - self.t0, 1e-9)
            self.callback(
                {
                    "epoch": self.epoch + 1,
                    "words": self.done,
                    "total_words": self.run.total_words,
                    "loss": mean,
                    "lr": lr,
                    "words_per_sec": (self.done - self.done_at_start) / elapsed,
                }
            )
        self._reset()


def _train_epochs(
    run: _Run,
    start: _StartPoint,
    stats: dict,
    words,
    counts,
    callback,
    checkpoint_dir,
    should_stop: Callable[[], bool] | None,
) -> None:
    """Epochs ``start.epoch:``, the first from job ``start.job``; a checkpoint after each epoch and on a stop."""
    config = run.config
    done_at_start = run.position(start.epoch, start.job)
    prog = _Progress(run, done_at_start, callback, start.losses)
    for epoch in range(start.epoch, config.epochs):
        prog.epoch = epoch
        first = start.job if epoch == start.epoch else 0
        reached = run.epoch(epoch, first, prog.add, should_stop)
        prog.flush()
        if reached < len(run.jobs):
            _save_stopped(run, epoch, reached, stats, prog, words, counts, checkpoint_dir)
        stats.update(epochs_done=epoch + 1, jobs_done=0, job_parts=run.parts)
        if checkpoint_dir is not None:
            _checkpoint(run, stats, prog, words, counts, checkpoint_dir)


def _checkpoint(run: _Run, stats: dict, prog: _Progress, words, counts, checkpoint_dir) -> None:
    stats["seconds"] = time.perf_counter() - prog.t0
    _model(run, words, counts, prog.losses, stats).save(checkpoint_dir)


def _save_stopped(run: _Run, epoch: int, job: int, stats: dict, prog: _Progress, words, counts, checkpoint_dir):
    """Checkpoint at job ``job`` of ``epoch`` (if there is a checkpoint folder), then raise TrainingInterrupted."""
    stats.update(epochs_done=epoch, jobs_done=job, job_parts=run.parts)
    where = f"epoch {epoch + 1} of {run.config.epochs}, job {job} of {len(run.jobs)}"
    if checkpoint_dir is None:
        raise TrainingInterrupted(f"training stopped at {where}; no checkpoint folder was given, nothing saved", None)
    _checkpoint(run, stats, prog, words, counts, checkpoint_dir)
    raise TrainingInterrupted(
        f"training stopped at {where}; checkpoint saved in {checkpoint_dir} (resume from it to continue)",
        Path(checkpoint_dir),
    )
