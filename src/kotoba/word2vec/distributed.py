"""Data-parallel word2vec on a Dask cluster (``pip install kotoba[distributed]``).

Why Dask (see docs/scaling.md): it installs from PyPI in ~15 MB, starts a local cluster offline
for tests, and its schedulers already run where users have clusters (Kubernetes, HPC batch
systems, YARN, SSH). The collective step here is small -- sparse deltas of the rows a round
touched, gathered to this process and the combined delta broadcast back -- so Dask's
point-to-point transfers are enough and no all-reduce library (MPI, gloo) is needed.

The run, from this process (the client):

1. the corpus (files, folders) is cut into one piece list per worker: byte ranges of plain files,
   whole compressed files (:func:`plan_pieces`); each worker cuts its ranges at line ends
   (:func:`cut_position`), so every line is read by exactly one worker;
2. map-reduce vocabulary: each worker counts its pieces with the single-machine counter
   (:func:`kotoba.text.scan_corpus`, same table pruning, ``min_count`` 1), the client merges the
   counts in worker order and prunes once (``min_count``, ``max_vocab_size``), then broadcasts the
   vocabulary and the initial weights; each worker encodes its shard on its local disk and builds
   the noise / subsampling / Huffman tables from the broadcast counts (the same arrays everywhere);
3. rounds (:mod:`kotoba.word2vec.rounds`): every worker trains ``round_words`` tokens of its shard
   with the single-machine kernel from the current model and returns its sparse delta; the client
   combines them in worker order and sends the combined delta with the next round's call. The
   client's copy of the model is what checkpoints and the result are made of.

A worker lost mid-round (or any failure on a worker) fails the round: :class:`ClusterError` says
which worker and what to do; the client's model is not touched by a failed round.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, EmptyCorpusError, KotobaError
from ..text.corpus import scan_corpus
from ..text.readers import corpus_files, corpus_record
from ..text.vocab import Vocab, vocab_from_counts
from .bundles import make_tables, pad_weights
from .config import Word2VecConfig
from .model import Word2VecModel
from .rounds import (
    Combiner,
    Progress,
    RoundStats,
    Saver,
    ShardTrainer,
    SparseDelta,
    apply_delta,
    load_state,
    rounds_per_epoch,
    split_shards,
    trained_layers,
)
from .trainer import _init_weights

LOCAL = "local:"
_COMPRESSED = (".gz", ".bz2", ".xz")
#: how far past a cut point a line end is looked for before a space will do (one-line corpora, text8)
_LINE_SEARCH = 1 << 20
#: seconds between checks that every worker is still there while a step runs
_POLL = 0.5
#: seconds a broadcast to the workers may take before the round fails (a worker lost mid-send)
_SCATTER_TIMEOUT = 120


class ClusterError(KotobaError):
    """The cluster cannot be reached, or a worker failed or left during a step."""


# --------------------------------------------------------------------------- the cluster


@contextlib.contextmanager
def connect(address: str) -> Iterator[Any]:
    """A Dask client for ``address`` (a scheduler, e.g. ``tcp://host:8786``) or ``local:N``.

    ``local:N`` starts N worker processes with one thread each on 127.0.0.1 (free ports, no
    dashboard) and always shuts them down on exit, also after an error.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError as e:  # the optional extra is missing
        raise ConfigError("distributed training needs Dask: pip install 'kotoba[distributed]'") from e
    if address.startswith(LOCAL):
        n = address[len(LOCAL) :]
        if not n.isdigit() or int(n) < 1:
            raise ConfigError(f"cluster {address!r}: expected local:N with N >= 1 workers")
        try:
            cluster = LocalCluster(
                n_workers=int(n), threads_per_worker=1, processes=True, host="127.0.0.1", scheduler_port=0,
                dashboard_address=None, silence_logs=logging.ERROR,
            )  # fmt: skip
        except (OSError, RuntimeError, TimeoutError) as e:
            raise ClusterError(f"could not start a local Dask cluster of {n} workers ({e})") from e
        try:
            with Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    try:
        client = Client(address, timeout=30)
    except (OSError, TimeoutError) as e:
        raise ClusterError(f"cannot reach the Dask scheduler at {address!r} ({e}); is it running?") from e
    try:
        yield client
    finally:
        client.close()


def _workers(client: Any) -> dict[str, int]:
    """Address -> thread count of every worker, sorted by address (the worker order of the run)."""
    info = client.scheduler_info(n_workers=-1)["workers"]
    return {a: int(info[a].get("nthreads", 1)) for a in sorted(info)}


def _run_step(client: Any, fn: Callable, args_per_worker: list[tuple], addrs: list[str], what: str) -> list[Any]:
    """Run ``fn(*args)`` on each worker (pinned) and return the results in worker order.

    Raises :class:`ClusterError` as soon as a worker leaves the cluster or a call fails (a
    :class:`KotobaError` raised on a worker is re-raised as is), cancelling the other calls.
    """
    from distributed import wait

    tag = uuid.uuid4().hex
    futures = [
        client.submit(fn, *args, workers=[a], allow_other_workers=False, pure=False, key=f"kotoba-{tag}-{i}")
        for i, (a, args) in enumerate(zip(addrs, args_per_worker))
    ]
    try:
        while True:
            with contextlib.suppress(TimeoutError):
                wait(futures, timeout=_POLL)
            for i, f in enumerate(futures):
                if f.status == "cancelled":
                    raise ClusterError(f"{what} was cancelled on worker {addrs[i]} (did the worker restart?)")
                if f.status == "error":
                    exc = f.exception()
                    if isinstance(exc, KotobaError):
                        raise exc
                    raise ClusterError(f"{what} failed on worker {addrs[i]}: {type(exc).__name__}: {exc}") from exc
            if all(f.status == "finished" for f in futures):
                return client.gather(futures)
            alive = set(client.scheduler_info(n_workers=-1)["workers"])
            lost = [a for a in addrs if a not in alive]
            if lost:
                raise ClusterError(
                    f"worker {lost[0]} left the cluster during {what}; the round was not applied. "
                    "Restart the workers and resume from the last checkpoint."
                )
    except OSError as e:  # the scheduler went away
        raise ClusterError(f"lost the connection to the Dask scheduler during {what} ({e})") from e
    finally:
        client.cancel([f for f in futures if f.status != "finished"])


def _broadcast(client: Any, data: Any, addrs: list[str], what: str) -> Any:
    """Send ``data`` to every worker once -> its future(s); :class:`ClusterError` if a worker is gone.

    The scatter runs on a helper thread while this one checks every ``_POLL`` s that the workers are
    still there: a scatter to a worker killed mid-run can block past its own timeout (measured: the
    killed-worker test's run hung in it until the test's 240 s alarm).
    """
    out: dict[str, Any] = {}

    def send() -> None:
        try:
            out["futures"] = client.scatter(data, workers=addrs, broadcast=True, hash=False, timeout=_SCATTER_TIMEOUT)
        except BaseException as e:  # re-raised (as a ClusterError) in the caller's thread
            out["error"] = e

    sender = threading.Thread(target=send, name="kotoba-broadcast", daemon=True)
    end = time.monotonic() + _SCATTER_TIMEOUT
    try:
        sender.start()
        while True:
            sender.join(_POLL)
            if "futures" in out:
                return out["futures"]
            if "error" in out:
                raise out["error"]
            lost = sorted(set(addrs) - set(client.scheduler_info(n_workers=-1)["workers"]))
            if lost:  # the scatter may wait for it forever: leave it to the daemon thread
                raise OSError(f"worker {lost[0]} is gone")
            if time.monotonic() > end:
                raise TimeoutError(f"no answer within {_SCATTER_TIMEOUT} s")
    # CommClosedError is an OSError; KeyError: the scheduler no longer knows one of the workers
    except (OSError, TimeoutError, KeyError) as e:
        raise ClusterError(
            f"could not send {what} to the workers ({e}): a worker left the cluster. "
            "Restart the workers and resume from the last checkpoint."
        ) from e


# --------------------------------------------------------------------------- pieces of the corpus


@dataclass(frozen=True)
class Piece:
    """A part of one corpus file: bytes ``[start, end)`` before cutting at line ends; a compressed file is whole."""

    path: str
    start: int
    end: int
    whole: bool


def plan_pieces(files: Sequence[Path], n_workers: int) -> list[list[Piece]]:
    """Split the files' bytes into ``n_workers`` nearly equal, contiguous lists of pieces (corpus order).

    Plain files are cut by byte position (the workers move each cut to a line end); a compressed
    file cannot be entered in the middle, so it goes whole to the worker its middle falls to.
    Workers left without a piece get an empty list.
    """
    sizes = [os.path.getsize(f) for f in files]
    total = max(sum(sizes), 1)
    bounds = [total * w // n_workers for w in range(n_workers + 1)]
    plan: list[list[Piece]] = [[] for _ in range(n_workers)]
    at = 0
    for f, size in zip(files, sizes):
        if str(f).lower().endswith(_COMPRESSED):
            w = min(n_workers - 1, int(np.searchsorted(bounds, at + size // 2, side="right")) - 1)
            plan[w].append(Piece(str(f), 0, size, True))
        else:
            for w in range(n_workers):
                lo, hi = max(bounds[w], at), min(bounds[w + 1], at + size)
                if lo < hi:
                    plan[w].append(Piece(str(f), lo - at, hi - at, False))
        at += size
    return plan


def cut_position(f: Any, pos: int, size: int) -> int:
    """Where a piece boundary at byte ``pos`` really falls: just after the next line end.

    The same for the two pieces that meet there, so each line belongs to the piece it starts in.
    A file with no line end within ``_LINE_SEARCH`` bytes (one huge line) is cut after the next
    space or tab instead. 0 and ``size`` stay as they are.
    """
    if pos <= 0 or pos >= size:
        return min(max(pos, 0), size)
    f.seek(pos - 1)
    data = f.read(_LINE_SEARCH)
    i = data.find(b"\n")
    if i < 0:
        spaces = [j for j in (data.find(b" "), data.find(b"\t")) if j >= 0]
        if not spaces:
            return min(pos - 1 + len(data), size)
        i = min(spaces)
    return pos + i


def _materialise(pieces: list[Piece], folder: Path) -> list[Path]:
    """The files a worker reads: each plain byte range copied to ``folder``, compressed files as they are."""
    out = []
    for k, p in enumerate(pieces):
        if p.whole:
            out.append(Path(p.path))
            continue
        with open(p.path, "rb") as f:
            size = os.path.getsize(p.path)
            lo, hi = cut_position(f, p.start, size), cut_position(f, p.end, size)
            if hi <= lo:
                continue
            dest = folder / f"piece-{k:05d}.txt"
            with open(dest, "wb") as g:
                f.seek(lo)
                left = hi - lo
                while left:
                    block = f.read(min(left, 1 << 22))
                    g.write(block)
                    left -= len(block)
            out.append(dest)
    return out


# --------------------------------------------------------------------------- the worker side

#: per-run state of this worker process, by run id (tasks of one run find what earlier ones left)
_STATE: dict[str, dict[str, Any]] = {}


def _w_count(run_id: str, pieces: list[Piece], config: dict) -> tuple[list[str], np.ndarray, int]:
    """Worker: read and count its pieces -> (words, counts (W,) int64, tokens read)."""
    from distributed import get_worker

    c = Word2VecConfig.from_dict(config)
    folder = Path(tempfile.mkdtemp(prefix="kotoba-shard-", dir=get_worker().local_directory))
    _STATE[run_id] = {"folder": folder}
    files = _materialise(pieces, folder)
    if not files:
        return [], np.zeros(0, np.int64), 0
    try:
        # workers=1: a Dask worker is a daemon process, which may not start the tokeniser's own pool
        vocab, enc = scan_corpus(
            files, folder / "local", 1, None, c.lowercase, c.max_sentence_len, tokenizer=c.tokenizer, workers=1
        )
    except EmptyCorpusError:
        return [], np.zeros(0, np.int64), 0
    _STATE[run_id].update(vocab=vocab, enc=enc)
    return vocab.words, vocab.counts, int(enc.raw_words)


def _w_setup(run_id: str, words: list[str], counts: np.ndarray, weights: tuple, config: dict, setup: dict) -> int:
    """Worker: encode its shard in the global vocabulary and build its trainer -> its training tokens."""
    st = _STATE.get(run_id)
    if st is None or "enc" not in st:
        raise ClusterError(f"worker has no shard for run {run_id} (was it restarted?)")
    c = Word2VecConfig.from_dict(config)
    ids, offsets = _remap(st["vocab"], st["enc"], {w: i for i, w in enumerate(words)})
    st.update(ids=ids, offsets=offsets)
    if len(ids) == 0:
        return 0
    shard = split_shards(offsets, c.job_words, 1)
    st["trainer"] = ShardTrainer(
        c, make_tables(np.asarray(counts), c), ids, offsets, shard, pad_weights(*weights), c.dim,
        setup["base_seed"], 1, shard_ids=[setup["index"]], n_rounds=setup["n_rounds"], job_threads=setup["threads"],
    )  # fmt: skip
    return int(len(ids))


def _remap(local: Vocab, enc: Any, index: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Local ids -> global ids, dropping words the global vocabulary lacks and sentences left empty.

    -> (ids (N,) int32, offsets (S+1,) int64), in memory (12 bytes a token while it runs).
    """
    perm = np.array([index.get(w, -1) for w in local.words], np.int32)
    new = perm[np.asarray(enc.ids)]
    offsets = np.asarray(enc.sent_offsets)
    if (new >= 0).all():
        return new, offsets.copy()
    keep = new >= 0
    kept = np.concatenate(([0], np.cumsum(keep, dtype=np.int64)))[offsets]
    return new[keep], np.concatenate(([0], np.unique(kept[1:])))


def _w_round(run_id: str, epoch: int, r: int, combined: SparseDelta | None) -> tuple[SparseDelta | None, RoundStats]:
    """Worker: add the last round's combined delta, train round ``r`` of ``epoch`` -> (its delta, stats)."""
    st = _STATE.get(run_id)
    if st is None or "trainer" not in st:
        raise ClusterError(f"worker has no model for run {run_id} (was it restarted?)")
    trainer: ShardTrainer = st["trainer"]
    if combined is not None:
        trainer.apply(combined)
    return trainer.train_shard(0, 0, epoch, r)


def _w_close(run_id: str) -> None:
    """Worker: forget the run and delete its local files."""
    st = _STATE.pop(run_id, None)
    if st is not None:
        st.pop("enc", None)
        shutil.rmtree(st["folder"], ignore_errors=True)


# --------------------------------------------------------------------------- the client side


@dataclass
class CommStats:
    """Payload bytes of the collective steps (deltas gathered here, combined deltas sent out) and the
    training seconds of the slowest worker of each round, summed (the rest of the wall time is the
    collective step and Dask's overhead)."""

    rounds: int = 0
    gathered: int = 0
    broadcast: int = 0
    worker_seconds: float = 0.0

    def as_dict(self, trained_words: int) -> dict[str, float]:
        sent = self.gathered + self.broadcast
        return {
            "rounds": self.rounds,
            "bytes_gathered": self.gathered,
            "bytes_broadcast": self.broadcast,
            "bytes_per_round": sent / max(self.rounds, 1),
            "bytes_per_word": sent / max(trained_words, 1),
            "worker_train_seconds": self.worker_seconds,
        }


def train_distributed(
    corpus: Any,
    config: Word2VecConfig,
    cluster: str,
    *,
    checkpoint_dir: Any = None,
    resume: bool = False,
    checkpoint_seconds: float | None = 600.0,
    callback: Callable[[dict[str, float]], None] | None = None,
    rng: np.random.Generator | None = None,
) -> Word2VecModel:
    """Train word2vec across the workers of a Dask cluster (``cluster``: scheduler address or ``local:N``).

    The corpus paths must be readable under the same names on every worker (a shared file
    system). Returns the same model as :func:`kotoba.word2vec.train`; checkpoints (written here,
    at round boundaries, see :class:`kotoba.word2vec.rounds.Saver`) are single-machine checkpoints
    too. ``config.threads`` is the kernel threads per worker (default: the worker's Dask threads).
    ``model.stats["comm"]`` holds the bytes moved (:class:`CommStats`). Raises :class:`ClusterError`
    when a worker is lost (resume from the last checkpoint).
    """
    t_start = time.perf_counter()
    files = corpus_files(corpus)
    state = load_state(checkpoint_dir, config, corpus_record(files)) if resume else None
    run_id = uuid.uuid4().hex
    with connect(cluster) as client:
        workers = _workers(client)
        if not workers:
            raise ClusterError(f"cluster {cluster!r} has no workers")
        addrs = list(workers)
        try:
            return _train_on(client, addrs, workers, files, config, state, run_id, t_start,
                             checkpoint_dir, checkpoint_seconds, callback, rng)  # fmt: skip
        finally:
            with contextlib.suppress(Exception):
                # only the workers still there: a call to a lost one waited ~30 s for it (measured)
                alive = set(client.scheduler_info(n_workers=-1)["workers"])
                client.run(_w_close, run_id, workers=[a for a in addrs if a in alive])


def _merge_counts(parts: list[tuple[list[str], np.ndarray, int]], config: Word2VecConfig, name: str) -> Vocab:
    """The global vocabulary: counts summed in worker order (first appearance decides ties), pruned once."""
    index: dict[str, int] = {}
    totals: list[int] = []
    raw = 0
    for words, counts, tokens in parts:
        raw += tokens
        for w, c in zip(words, np.asarray(counts).tolist()):
            i = index.setdefault(w, len(totals))
            if i == len(totals):
                totals.append(0)
            totals[i] += c
    counts = np.array(totals, np.int64)
    return vocab_from_counts(list(index), counts, raw, config.min_count, config.max_vocab_size, corpus_name=name)


def _train_on(client, addrs, workers, files, config, state, run_id, t_start, checkpoint_dir, seconds, callback, rng):
    plan = plan_pieces(files, len(addrs))
    cfg = config.to_dict()
    parts = _run_step(client, _w_count, [(run_id, p, cfg) for p in plan], addrs, "vocabulary counting")
    raw_words = sum(p[2] for p in parts)
    if state is None:
        vocab = _merge_counts(parts, config, str(files[0]) if len(files) == 1 else f"{len(files)} files")
        rng = rng if rng is not None else np.random.default_rng(config.seed)
        weights = _init_weights(len(vocab), config.dim, config, rng)
        base_seed = int(rng.integers(0, 2**63))
        losses: list[dict[str, float]] = []
        epoch0 = round0 = 0
    else:
        vocab = Vocab(state.words, state.counts)
        weights = (state.wv.vectors, state.syn1neg, state.syn1)
        base_seed, losses = state.base_seed, list(state.losses)
        epoch0, round0 = int(state.stats.get("epochs_done", 0)), int(state.stats.get("rounds_done", 0))
    if config.hs and len(vocab) < 2:
        raise EmptyCorpusError("hierarchical softmax needs at least 2 distinct words that survive min_count")
    # every worker needs one agreed round count; the byte split makes shards of about equal size
    n_rounds = rounds_per_epoch(max(max(p[2] for p in parts), 1), config.round_words)
    big = _broadcast(client, [vocab.words, vocab.counts, weights], addrs, "the vocabulary")
    setups = [
        (run_id, big[0], big[1], big[2], cfg, {"base_seed": base_seed, "index": i, "n_rounds": n_rounds,
                                               "threads": config.threads or workers[a]})
        for i, a in enumerate(addrs)
    ]  # fmt: skip
    shard_words = _run_step(client, _w_setup, setups, addrs, "shard encoding")
    del big
    active = [a for a, n in zip(addrs, shard_words) if n > 0]
    if not active:
        raise EmptyCorpusError(f"no worker's shard of {files[0]} has a word of the vocabulary")
    train_words = sum(shard_words)
    master = pad_weights(*weights)
    stats: dict[str, Any] = {"corpus": corpus_record(files), "raw_words": raw_words, "train_words": train_words,
                             "rounds": n_rounds, "workers": len(active)}  # fmt: skip
    save = Saver(checkpoint_dir, seconds, config, vocab, master, base_seed, losses, stats)
    shapes = {k: (master[k].shape[0], config.dim) for k in trained_layers(config)}
    progress = Progress(config, train_words, _position(epoch0, round0, n_rounds, train_words), losses, callback)
    comm = CommStats()
    t_train = time.perf_counter()
    _rounds(client, active, Combiner(shapes, config.combine), master, epoch0, round0, n_rounds, run_id,
            config, progress, save, comm)  # fmt: skip
    seconds_all = time.perf_counter() - t_start
    stats.update(seconds=seconds_all, train_seconds=time.perf_counter() - t_train)
    stats["words_per_sec"] = raw_words * (config.epochs - epoch0) / seconds_all if seconds_all > 0 else 0.0
    stats["comm"] = comm.as_dict(progress.done - progress.start)
    return save.model()


def _position(epoch: int, r: int, n_rounds: int, train_words: int) -> int:
    """About how many tokens were trained before round ``r`` of ``epoch`` (for progress reports)."""
    return epoch * train_words + train_words * r // n_rounds


def _rounds(client, addrs, combiner, master, epoch0, round0, n_rounds, run_id, config, progress, save, comm) -> None:
    """The round loop: every worker trains a round, the client combines and sends the result with the next."""
    combined = None
    for epoch in range(epoch0, config.epochs):
        for r in range(round0 if epoch == epoch0 else 0, n_rounds):
            what = f"round {r + 1} of epoch {epoch + 1}"
            sent = _broadcast(client, combined, addrs, f"the delta for {what}") if combined is not None else None
            out = _run_step(client, _w_round, [(run_id, epoch, r, sent)] * len(addrs), addrs, what)
            if combined is not None:
                comm.broadcast += combined.nbytes * len(addrs)
            total = RoundStats()
            for i, (delta, st) in enumerate(out):
                combiner.add(i, delta)
                comm.gathered += delta.nbytes if delta is not None else 0
                total.add(st)
            combined = combiner.result()
            apply_delta(master, combined)
            comm.rounds += 1
            comm.worker_seconds += max(st.seconds for _, st in out)  # the slowest worker sets the pace
            last = r == n_rounds - 1
            progress.add(epoch, total, force=last)
            save.round_done(epoch, r, last)
