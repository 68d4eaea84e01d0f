"""The word2vec trainer: config checks, determinism, checkpoints/resume, save/load, real-corpus sanity."""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
from pathlib import Path

import numpy as np
import pytest

from conftest import shared_file
from kotoba.errors import ConfigError, EmptyCorpusError, FormatError, TrainingInterrupted
from kotoba.word2vec import Word2VecConfig, Word2VecModel, train


def _toy_corpus(path, n_sent=400, seed=0):
    """Two topics whose words never meet in a sentence, plus shared function words."""
    rng = np.random.default_rng(seed)
    topics = [[f"a{i}" for i in range(8)], [f"b{i}" for i in range(8)]]
    glue = ["the", "of", "and"]
    lines = []
    for k in range(n_sent):
        words = topics[k % 2]
        sent = [words[i] if rng.random() < 0.75 else glue[i % 3] for i in rng.integers(0, 8, size=12)]
        lines.append(" ".join(sent))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


SMALL = dict(dim=16, window=3, min_count=2, epochs=3, sample=0.0, job_words=500)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(dim=0),
        dict(window=0),
        dict(epochs=0),
        dict(negative=-1),
        dict(negative=0, hs=False),
        dict(sample=-1e-3),
        dict(sample=1.0),
        dict(alpha=0.0),
        dict(alpha=float("nan")),
        dict(alpha=0.01, min_alpha=0.1),
        dict(threads=0),
        dict(min_count=0),
        dict(dim=2.5),
        dict(max_vocab_size=0),
        dict(seed=-1),
        dict(hot_rows=-1),
    ],
)
def test_bad_config_values_raise_config_error(kwargs):
    with pytest.raises(ConfigError):
        Word2VecConfig(**kwargs)


def test_config_defaults():
    """word2vec.c's rates; the schedule's end point and the initial range chosen by measured quality."""
    assert Word2VecConfig(sg=True).alpha == 0.025
    cbow = Word2VecConfig(sg=False)
    assert cbow.alpha == 0.05 and cbow.min_alpha == pytest.approx(0.05 * 0.1)
    assert cbow.init_range == 1.0 and cbow.cbow_block == 8 and cbow.sg_block == 1
    assert Word2VecConfig(alpha=0.1, min_alpha=1e-5).min_alpha == 1e-5  # word2vec.c's end point stays reachable
    assert Word2VecConfig.from_dict(cbow.to_dict()) == cbow
    with pytest.raises(FormatError):
        Word2VecConfig.from_dict({"nonsense": 1})


def test_empty_corpus_and_min_count_errors(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n", encoding="utf-8")
    with pytest.raises(EmptyCorpusError):
        train(empty, Word2VecConfig(**SMALL))
    rare = tmp_path / "rare.txt"
    rare.write_text("every word here is different\n", encoding="utf-8")
    with pytest.raises(EmptyCorpusError, match="min_count"):
        train(rare, Word2VecConfig(**SMALL))


@pytest.mark.parametrize(
    "sg,hs,negative,batch",
    [
        (True, False, 5, True),
        (True, False, 5, False),
        (False, False, 5, True),
        (False, False, 5, False),
        (True, True, 0, True),
        (True, True, 2, True),
        (False, True, 3, True),
    ],
)
def test_single_thread_runs_are_bit_identical_and_learn(tmp_path, sg, hs, negative, batch):
    corpus = _toy_corpus(tmp_path / "toy.txt")
    blocks = dict(batch_negatives=batch, cbow_block=16 if batch else 1)
    cfg = Word2VecConfig(sg=sg, hs=hs, negative=negative, threads=1, seed=3, **blocks, **SMALL)
    a = train(corpus, cfg)
    b = train(corpus, cfg)
    np.testing.assert_array_equal(a.wv.vectors, b.wv.vectors)
    assert a.losses == b.losses
    assert (a.syn1neg is not None) == (negative > 0) and (a.syn1 is not None) == hs
    c = train(corpus, dataclasses.replace(cfg, seed=4))
    assert not np.array_equal(a.wv.vectors, c.wv.vectors)
    # the loss goes down and the two topics separate
    assert a.losses[-1]["loss"] < a.losses[0]["loss"]
    assert a.wv.similarity("a1", "a2") > a.wv.similarity("a1", "b2") + 0.2
    assert a.stats["raw_words"] == 400 * 12 and a.stats["epochs_done"] == 3
    assert a.stats["words_per_sec"] > 0


@pytest.mark.parametrize("model", [{}, dict(sg=True, sg_block=2)], ids=["cbow", "sg-blocks"])
@pytest.mark.parametrize("hot_rows", [0, 4, 1024])
def test_multithreaded_run_learns_too(tmp_path, hot_rows, model):
    """Plain Hogwild, some and all (19 words) rows of each thread's own: every thread's changes arrive."""
    corpus = _toy_corpus(tmp_path / "toy.txt")
    m = train(corpus, Word2VecConfig(threads=2, seed=1, hot_rows=hot_rows, **model, **SMALL))
    assert m.wv.similarity("b1", "b5") > m.wv.similarity("b1", "a5") + 0.2
    assert m.wv.similarity("a0", "a3") > m.wv.similarity("a0", "b3") + 0.2


def test_hot_rows_change_nothing_on_one_thread(tmp_path):
    corpus = _toy_corpus(tmp_path / "toy.txt")
    a = train(corpus, Word2VecConfig(threads=1, seed=2, hot_rows=0, **SMALL))
    b = train(corpus, Word2VecConfig(threads=1, seed=2, **SMALL))
    np.testing.assert_array_equal(a.wv.vectors, b.wv.vectors)


def test_hot_row_count_only_for_blocked_steps_on_several_threads():
    from kotoba.word2vec.bundles import hot_row_count

    cbow = Word2VecConfig()
    assert hot_row_count(cbow, 50_000, 2) == 1024 and hot_row_count(cbow, 300, 2) == 300
    assert hot_row_count(cbow, 50_000, 1) == 0
    assert hot_row_count(Word2VecConfig(cbow_block=1), 50_000, 2) == 0  # per-target steps use syn0 only
    assert hot_row_count(Word2VecConfig(hs=True), 50_000, 2) == 0
    assert hot_row_count(Word2VecConfig(sg=True), 50_000, 2) == 0  # one set of negatives per window
    assert hot_row_count(Word2VecConfig(sg=True, sg_block=4), 50_000, 2) == 1024
    assert hot_row_count(Word2VecConfig(hot_rows=0), 50_000, 2) == 0


def test_a_run_resumes_with_another_hot_row_count():
    """Like the thread count, hot_rows changes when threads see each other's changes, not the model trained."""
    from kotoba.word2vec.config import same_training

    assert same_training(Word2VecConfig(hot_rows=0, threads=1), Word2VecConfig(threads=2))
    assert not same_training(Word2VecConfig(cbow_block=4), Word2VecConfig())


class _Stop(Exception):
    pass


def test_interrupted_and_resumed_run_equals_uninterrupted(tmp_path):
    corpus = _toy_corpus(tmp_path / "toy.txt")
    cfg = Word2VecConfig(sg=True, threads=1, seed=7, **SMALL)
    full = train(corpus, cfg)

    def stop_in_epoch_3(info):
        if info["epoch"] == 3:
            raise _Stop

    ckpt = tmp_path / "ckpt"
    with pytest.raises(_Stop):
        train(corpus, cfg, checkpoint_dir=ckpt, callback=stop_in_epoch_3)
    assert Word2VecModel.load(ckpt).stats["epochs_done"] == 2
    with pytest.raises(ConfigError):  # a different config cannot continue this checkpoint
        train(
            corpus,
            Word2VecConfig(sg=True, threads=1, seed=8, **SMALL),
            checkpoint_dir=ckpt,
            resume=True,
        )
    resumed = train(corpus, Word2VecConfig(sg=True, threads=1, seed=7, **SMALL), checkpoint_dir=ckpt, resume=True)
    np.testing.assert_array_equal(resumed.wv.vectors, full.wv.vectors)
    np.testing.assert_array_equal(resumed.syn1neg, full.syn1neg)
    assert resumed.losses == full.losses
    assert Word2VecModel.load(ckpt).stats["epochs_done"] == 3


class _StopAfter:
    """A should_stop hook that lets ``n`` jobs start, then asks to stop (counts its calls)."""

    def __init__(self, n):
        self.n, self.calls = n, 0

    def __call__(self):
        self.calls += 1
        return self.calls > self.n


@pytest.mark.parametrize("sg", [False, True])
def test_stop_hook_checkpoints_mid_epoch_and_resume_is_bit_identical(tmp_path, sg):
    corpus = _toy_corpus(tmp_path / "toy.txt")
    cfg = Word2VecConfig(sg=sg, threads=1, seed=3, **SMALL)
    full = train(corpus, cfg)
    ckpt = tmp_path / "ckpt"
    # 400 sentences x 12 tokens in jobs of >= 500 tokens: 10 jobs an epoch; stop twice inside epochs
    for n, where in ((13, (1, 3)), (9, (2, 2))):
        with pytest.raises(TrainingInterrupted) as info:
            train(corpus, cfg, checkpoint_dir=ckpt, resume=True, should_stop=_StopAfter(n))
        assert info.value.checkpoint == ckpt and str(ckpt) in str(info.value)
        stats = Word2VecModel.load(ckpt).stats
        assert (stats["epochs_done"], stats["jobs_done"]) == where
    hook = _StopAfter(10**9)
    resumed = train(corpus, cfg, checkpoint_dir=ckpt, resume=True, should_stop=hook)
    assert hook.calls == 8  # asked once before each remaining job, never after the last
    np.testing.assert_array_equal(resumed.wv.vectors, full.wv.vectors)
    np.testing.assert_array_equal(resumed.syn1neg, full.syn1neg)
    assert (resumed.stats["epochs_done"], resumed.stats["jobs_done"]) == (3, 0)


def test_stop_without_checkpoint_folder_says_nothing_was_saved(tmp_path):
    corpus = _toy_corpus(tmp_path / "toy.txt", n_sent=100)
    with pytest.raises(TrainingInterrupted, match="nothing saved") as info:
        train(corpus, Word2VecConfig(threads=2, **SMALL), should_stop=lambda: True)
    assert info.value.checkpoint is None


@pytest.mark.parametrize("deterministic", [False, True])
def test_a_save_killed_between_its_two_renames_resumes_bit_identically(tmp_path, monkeypatch, deterministic):
    """Killed after the arrays were renamed into place and before the JSON was (kotoba.io.save_pair):
    the checkpoint still loads -- the arrays' JSON waits beside them -- and the run resumes exactly."""
    corpus = _toy_corpus(tmp_path / "toy.txt")
    cfg = Word2VecConfig(threads=1, seed=4, deterministic=deterministic, **SMALL)
    full = train(corpus, cfg)
    ckpt = tmp_path / "ckpt"
    with pytest.raises(TrainingInterrupted):
        train(corpus, cfg, checkpoint_dir=ckpt, should_stop=_StopAfter(0 if deterministic else 3))
    real = os.replace

    def killed_before_the_json(src, dst):
        if Path(dst) == ckpt / "word2vec.json":
            raise KeyboardInterrupt("killed")
        real(src, dst)

    monkeypatch.setattr("kotoba.io.os.replace", killed_before_the_json)
    with pytest.raises(KeyboardInterrupt):  # the resumed run's next save is cut in the middle
        train(corpus, cfg, checkpoint_dir=ckpt, resume=True)
    monkeypatch.undo()
    assert (ckpt / "word2vec.json.next").exists()
    resumed = train(corpus, cfg, checkpoint_dir=ckpt, resume=True)
    np.testing.assert_array_equal(resumed.wv.vectors, full.wv.vectors)


def test_version_1_checkpoint_still_resumes(tmp_path):
    """A checkpoint written before mid-epoch stops existed (no jobs_done anywhere) continues as before."""
    corpus = _toy_corpus(tmp_path / "toy.txt")
    cfg = Word2VecConfig(threads=1, seed=4, cbow_block=1, sg_block=1, init_range=0.5, **SMALL)  # version 1's rules
    full = train(corpus, cfg)
    ckpt = tmp_path / "ckpt"
    with pytest.raises(TrainingInterrupted):
        train(corpus, cfg, checkpoint_dir=ckpt, should_stop=_StopAfter(20))
    # rewrite it as version 1 wrote it: epoch-end state only, no jobs_done / job_parts
    meta_path = ckpt / "word2vec.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    assert meta["version"] == 2 and meta["stats"]["jobs_done"] == 0
    meta["version"] = 1
    del meta["stats"]["jobs_done"], meta["stats"]["job_parts"], meta["config"]["cbow_block"]
    del meta["config"]["init_range"], meta["config"]["sg_block"]
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    with np.load(ckpt / "word2vec.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if k != "jobs_done"}
    np.savez(ckpt / "word2vec.npz", **arrays)
    assert Word2VecModel.load(ckpt).config == cfg  # fields added since read as version 1 behaved
    resumed = train(corpus, cfg, checkpoint_dir=ckpt, resume=True)
    np.testing.assert_array_equal(resumed.wv.vectors, full.wv.vectors)
    meta["version"] = 99  # as a newer kotoba would write it (the resume saved again: no pairing token)
    meta.pop("save_token", None)
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(FormatError, match="version 99"):
        Word2VecModel.load(ckpt)


def test_save_load_round_trip_and_damage_detection(tmp_path):
    corpus = _toy_corpus(tmp_path / "toy.txt")
    m = train(corpus, Word2VecConfig(hs=True, threads=1, **SMALL))
    m.save(tmp_path / "model")
    back = Word2VecModel.load(tmp_path / "model")
    assert back.config == m.config and back.words == m.words
    np.testing.assert_array_equal(back.wv.vectors, m.wv.vectors)
    np.testing.assert_array_equal(back.syn1neg, m.syn1neg)
    np.testing.assert_array_equal(back.syn1, m.syn1)
    np.testing.assert_array_equal(back.counts, m.counts)
    assert back.losses == m.losses
    # a JSON from another epoch than the arrays (a save interrupted between the two files)
    meta_path = tmp_path / "model" / "word2vec.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["stats"]["epochs_done"] = 1
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(FormatError, match="different epochs"):
        Word2VecModel.load(tmp_path / "model")
    with pytest.raises(FormatError):
        Word2VecModel.load(tmp_path / "nothing-here")


def test_the_library_prints_nothing_and_reports_through_the_callback(tmp_path, capsys):
    corpus = _toy_corpus(tmp_path / "toy.txt", n_sent=100)
    cfg = Word2VecConfig(threads=1, **dict(SMALL, epochs=1))
    seen = []
    train(corpus, cfg, callback=seen.append)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""
    assert seen and {"epoch", "words", "total_words", "loss", "lr", "words_per_sec"} <= set(seen[-1])
    assert seen[-1]["words"] == seen[-1]["total_words"]  # the last report is at the end of training


def test_ptb_prefix_gives_sensible_neighbours(tmp_path):
    src = shared_file("ptb/ptb.train.txt")
    prefix = tmp_path / "ptb-prefix.txt"
    with open(src, encoding="utf-8") as f:
        prefix.write_text("".join(itertools.islice(f, 10_000)), encoding="utf-8")  # ~210k tokens
    m = train(prefix, Word2VecConfig(sg=False, threads=2, epochs=5, seed=0))
    assert m.stats["raw_words"] > 200_000
    top = [w for w, _ in m.wv.most_similar("monday", topn=10)]
    days = {"tuesday", "wednesday", "thursday", "friday"}
    assert days & set(top), top
    # the mean loss per pair fell well below its starting value
    assert m.losses[-1]["loss"] < 0.85 * m.losses[0]["loss"]


@pytest.mark.parametrize("r", [0.5, 1.0])
def test_initialisation_range(tmp_path, r):
    """Input vectors start uniform in [-r/d, r/d) (word2vec.c: r = 0.5, the default 1.0), output vectors at zero."""
    from kotoba.word2vec.trainer import _init_weights

    cfg = Word2VecConfig(dim=40, hs=True, init_range=r)
    syn0, syn1neg, syn1 = _init_weights(500, 40, cfg, np.random.default_rng(0))
    assert syn0.dtype == np.float32 and syn0.shape == (500, 40)
    assert syn0.min() >= -r / 40 and syn0.max() < r / 40
    assert syn0.min() < -0.9 * r / 40 and syn0.max() > 0.9 * r / 40  # the whole range is used
    assert not syn1neg.any() and not syn1.any()


def test_padded_initialisation_is_the_unpadded_one_plus_zero_columns():
    # the trainer draws its weights padded (no second matrix); the numbers are those of the plain draw
    from kotoba.word2vec.trainer import _init_weights

    cfg = Word2VecConfig(dim=30, hs=True)
    plain = _init_weights(9000, 30, cfg, np.random.default_rng(3))  # more rows than one draw block
    padded = _init_weights(9000, 30, cfg, np.random.default_rng(3), width=32)
    for p, q in zip(plain, padded):
        assert q.shape == (9000, 32) and np.array_equal(q[:, :30], p) and not q[:, 30:].any()


@pytest.mark.parametrize("v", [1, 4095, 4096, 9001])
def test_unpad_in_place_equals_slicing_and_reuses_the_memory(v):
    from kotoba.word2vec.bundles import unpad_in_place

    a = np.random.default_rng(v).random((v, 104), dtype=np.float32)
    want = a[:, :100].copy()
    out = unpad_in_place(a, 100)
    assert out.flags.c_contiguous and np.shares_memory(out, a) and np.array_equal(out, want)
