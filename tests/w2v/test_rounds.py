"""Round training: sparse deltas, the ordered combiner, shards, and --deterministic runs."""

from __future__ import annotations

import numpy as np
import pytest

from kotoba.word2vec import Word2VecConfig, Word2VecModel
from kotoba.word2vec.rounds import (
    Combiner,
    SparseDelta,
    apply_delta,
    extract_delta,
    merge_copies,
    round_jobs,
    split_shards,
    touched_rows,
    train_rounds,
)


def _toy_corpus(path, n_sent=400, seed=0):
    """Two topics whose words never meet in a sentence, plus shared function words."""
    rng = np.random.default_rng(seed)
    topics = [[f"a{i}" for i in range(8)], [f"b{i}" for i in range(8)]]
    glue = ["the", "of", "and"]
    lines = []
    for k in range(n_sent):
        words = topics[k % 2]
        lines.append(" ".join(words[i] if rng.random() < 0.75 else glue[i % 3] for i in rng.integers(0, 8, size=12)))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


SMALL = dict(dim=16, window=3, min_count=2, epochs=3, sample=0.0, job_words=300, round_words=600, shards=4)


def _delta(rows, values):
    return SparseDelta([0], [np.array(rows, np.int32)], [np.array(values, np.float32)])


def test_touched_rows_unions_the_threads_flags_and_clears_them():
    from kotoba.word2vec.bundles import make_scratch

    scratch = [make_scratch(Word2VecConfig(), 10, 8, track_rows=6) for _ in range(2)]
    scratch[0].touched[0, [1, 4]] = 1
    scratch[1].touched[0, [4, 5]] = 1
    scratch[1].touched[1, 2] = 1
    got = touched_rows(scratch, [0, 1])
    assert got[0].tolist() == [1, 4, 5] and got[1].tolist() == [2] and got[0].dtype == np.int32
    assert not any(sc.touched.any() for sc in scratch)


def test_extract_delta_over_candidate_rows_sees_only_those(rng):
    base = [rng.random((6, 8), dtype=np.float32)]
    work = [base[0].copy()]
    work[0][[1, 4], 2] += 0.5
    d = extract_delta(work, base, 5, [0], {0: np.array([0, 4], np.int32)})
    assert d.rows[0].tolist() == [4]  # row 1 changed but was not a candidate


def test_extract_delta_finds_exactly_the_changed_rows_and_restores_them(rng):
    base = [rng.random((6, 8), dtype=np.float32)]
    work = [base[0].copy()]
    work[0][[1, 4], 2] += 0.5
    d = extract_delta(work, base, 5, [0])
    assert d.rows[0].tolist() == [1, 4]
    np.testing.assert_allclose(d.values[0][:, 2], 0.5, rtol=1e-6)
    assert d.values[0].shape == (2, 5) and np.count_nonzero(d.values[0]) == 2
    np.testing.assert_array_equal(work[0], base[0])  # the copy is back to the base
    assert d.nbytes == 2 * 4 + 2 * 5 * 4


@pytest.mark.parametrize("rule", ["sum", "mean", "rowmean"])
def test_combiner_rules_and_order_independence(rule, rng):
    deltas = [_delta([0, 2], rng.random((2, 3))), _delta([2], rng.random((1, 3))), _delta([1, 2], rng.random((2, 3)))]
    dense = np.zeros((3, 4, 3), np.float32)
    for s, d in enumerate(deltas):
        dense[s, d.rows[0]] = d.values[0]
    hits = (dense != 0).any(axis=2).sum(axis=0)
    want = dense.sum(axis=0) / {"sum": 1, "mean": 3, "rowmean": np.maximum(hits, 1)[:, None]}[rule]
    results = []
    for order in ([0, 1, 2], [2, 0, 1], [1, 2, 0]):
        c = Combiner({0: (4, 3)}, rule)
        for s in order:
            c.add(s, deltas[s])
        results.append(c.result())
    assert results[0].rows[0].tolist() == [0, 1, 2]
    np.testing.assert_allclose(results[0].values[0], want[:3], rtol=1e-6)
    for r in results[1:]:  # arrival order does not change a single bit
        np.testing.assert_array_equal(r.values[0], results[0].values[0])
    c.add(0, None)  # the combiner starts afresh after result(); a shard with nothing to do adds nothing
    assert c.result().rows[0].size == 0


@pytest.mark.parametrize("rule", ["sum", "rowmean", "mix"])
def test_a_combiner_reused_for_a_second_round_keeps_nothing_of_the_first(rule, rng):
    # a row's first addition in a round overwrites the sums the last round left (they are not zeroed)
    rounds_of = [
        [_delta(sorted(rng.choice(20, 9, replace=False)), rng.random((9, 4))) for _ in range(3)] for _ in range(2)
    ]
    reused = Combiner({0: (20, 4)}, rule, threads=2)
    for deltas in rounds_of:
        for s, d in enumerate(deltas):
            reused.add(s, d)
        second = reused.result()
    fresh = Combiner({0: (20, 4)}, rule)
    for s, d in enumerate(rounds_of[1]):
        fresh.add(s, d)
    want = fresh.result()
    assert second.rows[0].tolist() == want.rows[0].tolist()
    np.testing.assert_array_equal(second.values[0], want.values[0])


@pytest.mark.parametrize("rule", ["sum", "mean", "rowmean", "mix"])
def test_merging_the_shards_copies_gives_the_bits_of_combining_their_deltas(rule, rng):
    # one machine merges the shards' working copies in place; a cluster's client combines deltas
    n_rows, width, dim = 300, 8, 6
    base = [rng.standard_normal((n_rows, width), dtype=np.float32)]
    trained = [0, 2, 3]  # shard 1 had nothing to train this round: its copy is the base
    works, flags = [], []
    for s in range(4):
        w = base[0].copy()
        mark = np.zeros(n_rows, np.uint8)
        if s in trained:
            rows = np.union1d(rng.choice(n_rows, 120, replace=False), np.arange(10))  # low rows: in every shard
            w[rows, :dim] += rng.standard_normal((rows.size, dim), dtype=np.float32)
            mark[rows] = 1
            mark[rows[-1] + 1 :: 7] = 1  # marked but unchanged rows are skipped
        works.append([w])
        flags.append(mark)
    base0 = base[0].copy()
    combiner = Combiner({0: (n_rows, dim)}, rule)
    for s in range(4):
        cand = {0: np.flatnonzero(flags[s]).astype(np.int32)}
        combiner.add(s, extract_delta([w.copy() for w in works[s]], base, dim, [0], cand) if s in trained else None)
    want_base = [base[0].copy()]
    apply_delta(want_base, combiner.result())

    stales = [np.zeros(n_rows, np.uint8) for _ in works]
    merge_copies(base, works, {0: np.stack(flags)}, {0: stales}, len(trained), dim, rule, 2)
    np.testing.assert_array_equal(base[0], want_base[0])
    changed = np.flatnonzero((base[0] != base0).any(axis=1))
    for st in stales:  # every copy, the untrained shard's too, is told which rows are newer in the base
        assert np.flatnonzero(st).tolist() == changed.tolist()


def test_apply_delta_adds_to_the_named_rows():
    w = [np.ones((3, 8), np.float32)]
    apply_delta(w, _delta([2], [[1, 2, 3]]))
    assert w[0][2, :4].tolist() == [2, 3, 4, 1] and w[0][:2].sum() == 16


def test_shards_and_rounds_cover_every_job_once():
    offsets = np.cumsum([0] + [7] * 100)
    shards = split_shards(offsets, 20, 3)
    assert len(shards) == 3
    flat = [j[:2] for s in shards for j in s]
    assert flat == sorted(set(flat)) and flat[0][0] == 0 and flat[-1][1] == 100
    for jobs in shards:
        assert jobs[0][2] == 0  # positions count from the shard's start
        covered = [j for r in range(4) for j in round_jobs(len(jobs), 4, r)]
        assert covered == list(range(len(jobs)))


def test_deterministic_runs_are_identical_for_any_thread_count_and_learn(tmp_path):
    corpus = _toy_corpus(tmp_path / "c.txt")
    runs = {t: train_rounds(corpus, Word2VecConfig(**SMALL, threads=t, seed=3)) for t in (1, 2, 3)}
    for t in (2, 3):
        np.testing.assert_array_equal(runs[t].wv.vectors, runs[1].wv.vectors)
        np.testing.assert_array_equal(runs[t].syn1neg, runs[1].syn1neg)
        assert runs[t].losses == runs[1].losses
    again = train_rounds(corpus, Word2VecConfig(**SMALL, threads=2, seed=3))
    np.testing.assert_array_equal(again.wv.vectors, runs[1].wv.vectors)
    other = train_rounds(corpus, Word2VecConfig(**SMALL, threads=2, seed=4))
    assert not np.array_equal(other.wv.vectors, runs[1].wv.vectors)
    m = runs[2]
    assert m.stats["rounds"] > 1 and m.stats["epochs_done"] == 3
    assert m.losses[-1]["loss"] < m.losses[0]["loss"]
    assert m.wv.similarity("a1", "a2") > m.wv.similarity("a1", "b2") + 0.2


def test_hs_and_skip_gram_rounds_are_thread_count_independent(tmp_path):
    corpus = _toy_corpus(tmp_path / "c.txt")
    cfg = dict(SMALL, sg=True, hs=True, negative=2, epochs=1)
    a = train_rounds(corpus, Word2VecConfig(**cfg, threads=1))
    b = train_rounds(corpus, Word2VecConfig(**cfg, threads=2))
    np.testing.assert_array_equal(a.wv.vectors, b.wv.vectors)
    np.testing.assert_array_equal(a.syn1, b.syn1)


class _Stop(Exception):
    pass


def test_resume_from_a_mid_epoch_checkpoint_equals_the_uninterrupted_run(tmp_path):
    corpus = _toy_corpus(tmp_path / "c.txt")
    cfg = Word2VecConfig(**dict(SMALL, job_words=100, round_words=100), threads=2)
    full = train_rounds(corpus, cfg)
    ckpt = tmp_path / "ckpt"
    seen = []

    def stop_midway(info):
        seen.append(info)
        if len(seen) == 7:
            raise _Stop

    with pytest.raises(_Stop):
        train_rounds(corpus, cfg, checkpoint_dir=ckpt, checkpoint_seconds=0.0, callback=stop_midway)
    saved = Word2VecModel.load(ckpt)
    assert saved.stats["rounds_done"] > 0  # stopped inside an epoch
    resumed = train_rounds(corpus, dataclass_replace(cfg, threads=1), checkpoint_dir=ckpt, resume=True)
    np.testing.assert_array_equal(resumed.wv.vectors, full.wv.vectors)
    np.testing.assert_array_equal(resumed.syn1neg, full.syn1neg)


def dataclass_replace(cfg, **kw):
    import dataclasses

    return dataclasses.replace(cfg, **kw)


def test_cli_deterministic_writes_the_same_file_for_one_and_two_threads(tmp_path, capsys):
    from kotoba.cli import main

    corpus = _toy_corpus(tmp_path / "c.txt")
    small = ["--dim", "16", "--window", "3", "--min-count", "2", "--epochs", "2", "--round-words", "600"]
    outs = []
    for threads in ("1", "2"):
        out = tmp_path / f"v{threads}.bin"
        assert (
            main(["train", str(corpus), "-o", str(out), "--deterministic", "--threads", threads, "--quiet", *small])
            == 0
        )
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] and len(outs[0]) > 0


def test_train_with_deterministic_config_stops_on_request_and_resumes_to_the_same_bytes(tmp_path):
    from kotoba.errors import TrainingInterrupted
    from kotoba.word2vec import train

    corpus = _toy_corpus(tmp_path / "c.txt")
    cfg = Word2VecConfig(**SMALL, threads=2, deterministic=True)
    full = train(corpus, cfg)
    np.testing.assert_array_equal(full.wv.vectors, train_rounds(corpus, cfg).wv.vectors)
    asked = []

    def stop_at_fourth_round():
        asked.append(1)
        return len(asked) == 4

    ckpt = tmp_path / "ckpt"
    with pytest.raises(TrainingInterrupted) as e:
        train(corpus, cfg, checkpoint_dir=ckpt, should_stop=stop_at_fourth_round)
    assert e.value.checkpoint == ckpt
    resumed = train(corpus, cfg, checkpoint_dir=ckpt, resume=True)
    np.testing.assert_array_equal(resumed.wv.vectors, full.wv.vectors)


def test_deterministic_runs_use_the_configured_tokenizer(tmp_path):
    # unsegmented text: with the tokenizer the words are characters, not whole lines
    corpus = tmp_path / "ja.txt"
    corpus.write_text("吾輩は猫である。名前はまだ無い。\n" * 40, encoding="utf-8")
    m = train_rounds(corpus, Word2VecConfig(**SMALL, tokenizer="char", threads=2, seed=1))
    assert "猫" in m.words and all(len(w) == 1 for w in m.words)


def test_shard_trainer_reading_rounds_from_the_ids_file_equals_reading_them_from_memory(tmp_path):
    # --deterministic reads each round's ids from the encoded corpus file; a cluster worker hands in
    # an array: the same training either way
    from kotoba.text.corpus import IDS_FILE, scan_corpus
    from kotoba.word2vec.bundles import make_tables, pad_weights
    from kotoba.word2vec.rounds import ShardTrainer

    cfg = Word2VecConfig(**SMALL, threads=2, seed=1)
    vocab, enc = scan_corpus(_toy_corpus(tmp_path / "c.txt"), tmp_path / "enc", 2, None, False, 1000)
    weights = pad_weights(
        np.random.default_rng(0).random((len(vocab), 16), dtype=np.float32),
        np.zeros((len(vocab), 16), np.float32),
        None,
    )
    bases = []
    for source in (dict(ids_file=enc.path / IDS_FILE), {}):
        shards = split_shards(enc.sent_offsets, cfg.job_words, cfg.shards)
        tr = ShardTrainer(cfg, make_tables(vocab.counts, cfg), np.array(enc.ids), np.array(enc.sent_offsets),
                          shards, [None if w is None else w.copy() for w in weights], 16, 5, 2, **source)  # fmt: skip
        for r in range(tr.n_rounds):
            tr.round(0, r)
        for copy, sc in zip(tr.work, tr.scratch):  # a copy equals the base but for the rows marked stale
            fresh = sc[0].stale == 0
            assert all(np.array_equal(copy[k][fresh[k]], tr.base[k][fresh[k]]) for k in tr.layers)
        bases.append(tr.base)
    assert tr.n_rounds >= 2
    for a, b in zip(*bases):
        np.testing.assert_array_equal(a, b)
