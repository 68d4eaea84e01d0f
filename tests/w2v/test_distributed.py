"""Data-parallel training on a local Dask cluster: pieces, vocabulary, quality, lost workers, cleanup."""

from __future__ import annotations

import multiprocessing
import os
import signal

import numpy as np
import pytest

pytest.importorskip("distributed")

from test_rounds import _toy_corpus  # noqa: E402

from kotoba.errors import ConfigError  # noqa: E402
from kotoba.text.readers import iter_sentences  # noqa: E402
from kotoba.text.vocab import build_vocab  # noqa: E402
from kotoba.word2vec import Word2VecConfig, train  # noqa: E402
from kotoba.word2vec.distributed import (  # noqa: E402
    ClusterError,
    _materialise,
    connect,
    plan_pieces,
    train_distributed,
)

CFG = dict(dim=16, window=3, min_count=2, epochs=3, sample=0.0, job_words=300, round_words=600, threads=1)


@pytest.fixture
def no_leftover_processes():
    """Every test here must leave no worker process behind, also when it fails."""
    before = {p.pid for p in multiprocessing.active_children()}
    yield
    left = [p for p in multiprocessing.active_children() if p.pid not in before]
    for p in left:  # clean up so that one failure does not cascade, then fail
        p.kill()
    assert not left, f"worker processes left running: {left}"


@pytest.fixture
def cluster(no_leftover_processes):
    """A 2-worker local cluster this test controls (to kill a worker), always shut down."""
    from distributed import LocalCluster

    c = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None)
    try:
        yield c
    finally:
        c.close()


@pytest.mark.parametrize("n", [1, 2, 3, 7])
def test_pieces_cut_at_line_ends_cover_every_line_once(tmp_path, n):
    lines = [" ".join(f"w{i}_{j}" for j in range(i % 9 + 1)) for i in range(200)]
    text = ("\n".join(lines) + "\n").encode()
    f = tmp_path / "c.txt"
    f.write_bytes(text)
    (tmp_path / "z.txt.gz").write_bytes(b"")  # a compressed file goes whole to one worker
    plan = plan_pieces([f], n)
    assert len(plan) == n
    got = b""
    for w, pieces in enumerate(plan):
        out = tmp_path / f"w{w}"
        out.mkdir()
        for p in _materialise(pieces, out):
            part = p.read_bytes()
            assert part.endswith(b"\n")  # whole lines only
            got += part
    assert got == text


def test_one_huge_line_is_cut_at_spaces(tmp_path):
    f = tmp_path / "one.txt"
    words = [f"t{i}" for i in range(5000)]
    f.write_text(" ".join(words))
    seen = []
    for w, pieces in enumerate(plan_pieces([f], 3)):
        out = tmp_path / f"w{w}"
        out.mkdir()
        for p in _materialise(pieces, out):
            seen += p.read_text().split()
    assert seen == words


def test_bad_cluster_address_is_a_clear_error():
    with pytest.raises(ConfigError, match="local:N"):
        with connect("local:zero"):
            pass


def test_two_workers_train_as_well_as_one_process_and_shut_down(tmp_path, no_leftover_processes):
    corpus = _toy_corpus(tmp_path / "c.txt")
    cfg = Word2VecConfig(**CFG, seed=1)
    m = train_distributed(corpus, cfg, "local:2")
    single = train(corpus, cfg)
    # the map-reduce vocabulary equals the single-machine one
    ref = build_vocab(iter_sentences(corpus), min_count=2)
    assert sorted(m.words) == sorted(ref.words) and dict(zip(m.words, m.counts)) == dict(zip(ref.words, ref.counts))
    assert m.stats["workers"] == 2 and m.stats["raw_words"] == single.stats["raw_words"]
    assert m.stats["comm"]["rounds"] == 3 * m.stats["rounds"] and m.stats["comm"]["bytes_per_round"] > 0
    for model in (m, single):  # the same quality class: the topics separate
        assert model.wv.similarity("a1", "a2") > model.wv.similarity("a1", "b2") + 0.2
    assert m.losses[-1]["loss"] < m.losses[0]["loss"]
    # a seeded run with the same number of workers gives the same bytes
    again = train_distributed(corpus, cfg, "local:2")
    np.testing.assert_array_equal(again.wv.vectors, m.wv.vectors)


def _kill_one_worker(client):
    pids = client.run(os.getpid)
    os.kill(sorted(pids.values())[0], signal.SIGKILL)


class _Hung(BaseException):
    """The deadline passed (a BaseException, so that no handler in the trainer can take it for a lost worker)."""


@pytest.fixture
def deadline():
    """Fail, never hang: a run still going after 240 s is interrupted (SIGALRM) and the test fails."""

    def fail(signum, frame):  # not a TimeoutError: the trainer turns those into ClusterError
        raise _Hung("the distributed run did not end within 240 s after a worker was killed")

    previous = signal.signal(signal.SIGALRM, fail)
    signal.alarm(240)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_a_killed_worker_fails_the_run_with_a_clear_error(tmp_path, cluster, deadline):
    from distributed import Client

    corpus = _toy_corpus(tmp_path / "c.txt", n_sent=2000)
    cfg = Word2VecConfig(**dict(CFG, epochs=20))
    with Client(cluster) as killer:
        calls = []

        def kill_after_first_report(info):
            calls.append(info)
            if len(calls) == 1:
                _kill_one_worker(killer)

        with pytest.raises(ClusterError, match="left the cluster|failed on worker"):
            train_distributed(corpus, cfg, cluster.scheduler_address, callback=kill_after_first_report)
    assert calls


class _Stop(Exception):
    pass


def test_cluster_checkpoint_resume_equals_the_uninterrupted_run(tmp_path, no_leftover_processes):
    from kotoba.word2vec import Word2VecModel

    corpus = _toy_corpus(tmp_path / "c.txt")
    cfg = Word2VecConfig(**dict(CFG, round_words=200, job_words=100))
    full = train_distributed(corpus, cfg, "local:2")
    ckpt = tmp_path / "ckpt"
    seen = []

    def stop_midway(info):
        seen.append(info)
        if len(seen) == 5:
            raise _Stop

    with pytest.raises(_Stop):
        train_distributed(corpus, cfg, "local:2", checkpoint_dir=ckpt, checkpoint_seconds=0.0, callback=stop_midway)
    assert Word2VecModel.load(ckpt).stats["rounds_done"] > 0
    resumed = train_distributed(corpus, cfg, "local:2", checkpoint_dir=ckpt, resume=True)
    np.testing.assert_array_equal(resumed.wv.vectors, full.wv.vectors)
    np.testing.assert_array_equal(resumed.syn1neg, full.syn1neg)


def test_workers_use_the_configured_tokenizer(tmp_path, no_leftover_processes):
    corpus = tmp_path / "ja.txt"
    corpus.write_text("吾輩は猫である。名前はまだ無い。\n" * 40, encoding="utf-8")
    cfg = Word2VecConfig(**CFG, tokenizer="char", seed=1)
    m = train_distributed(corpus, cfg, "local:2")
    assert sorted(m.words) == sorted(train(corpus, cfg).words) and "猫" in m.words
