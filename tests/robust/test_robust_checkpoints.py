"""Catalogue (issue 11): damaged, foreign and mismatched checkpoints, word2vec (``train --resume``) and LM."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from .robust_helpers import LM_SMALL, assert_error, write_topics

W2V = ["--dim", "8", "--epochs", "2", "--min-count", "1", "--threads", "1", "--quiet"]


@pytest.fixture(scope="module")
def w2v_checkpoint(tmp_path_factory):
    """A word2vec checkpoint folder after 1 of 2 epochs (the corpus cache left out)."""
    from kotoba.word2vec import Word2VecConfig, train

    d = tmp_path_factory.mktemp("w2v")
    write_topics(d / "c.txt")
    config = Word2VecConfig(dim=8, epochs=1, min_count=1, threads=1)
    model = train(d / "c.txt", config)
    # the checkpoint a 2-epoch run leaves after its first epoch
    model.config = Word2VecConfig(dim=8, epochs=2, min_count=1, threads=1)
    model.save(d / "ck")
    return d


def _resume(kotoba, src: Path, tmp_path: Path, damage, corpus: str = "c.txt"):
    shutil.copy(src / "c.txt", tmp_path / "c.txt")
    shutil.copytree(src / "ck", tmp_path / "ck")
    damage(tmp_path / "ck")
    return kotoba("train", corpus, "-o", "v.bin", *W2V, "--checkpoint", "ck", "--resume")


def _edit_json(d: Path, change) -> None:
    meta = json.loads((d / "word2vec.json").read_text())
    change(meta)
    (d / "word2vec.json").write_text(json.dumps(meta))


def _edit_npz(d: Path, change) -> None:
    arrays = dict(np.load(d / "word2vec.npz"))
    change(arrays)
    np.savez(d / "word2vec.npz", **arrays)


def test_w2v_resume_from_the_intact_checkpoint_works(kotoba, w2v_checkpoint, tmp_path):
    res = _resume(kotoba, w2v_checkpoint, tmp_path, lambda d: None)
    assert res.rc == 0, res.err


@pytest.mark.parametrize(
    "damage,needles",
    [
        (lambda d: _edit_json(d, lambda m: m.update(version=99)), ["word2vec.json", "unsupported version 99"]),
        (lambda d: (d / "word2vec.json").write_text('{"hello": 1}'), ["word2vec.json", "not a kotoba word2vec model"]),
        (lambda d: (d / "word2vec.json").write_text("[1, 2]"), ["not a kotoba word2vec model"]),
        (lambda d: (d / "word2vec.json").write_text("{"), ["word2vec.json", "not valid JSON"]),
        (lambda d: (d / "word2vec.json").write_text("[" * 100_000), ["word2vec.json", "not valid JSON"]),
        (lambda d: _edit_npz(d, lambda a: a.pop("vectors")), ["incomplete or invalid word2vec model", "vectors"]),
        (lambda d: _edit_npz(d, lambda a: a.update(vectors=a["vectors"][:, :3])), ["arrays do not match", "dim 8"]),
        (
            lambda d: _edit_npz(d, lambda a: a.update(vectors=np.array([{"x": 1}], dtype=object))),
            ["word2vec.npz", "holds Python objects", "refused"],
        ),
        (lambda d: (d / "word2vec.npz").unlink(), ["word2vec.npz: no such file"]),
        (
            lambda d: (d / "word2vec.npz").write_bytes((d / "word2vec.npz").read_bytes()[:300]),
            ["word2vec.npz", "not a readable .npz checkpoint"],
        ),
        (lambda d: _edit_json(d, lambda m: m["config"].update(bogus=1)), ["unknown word2vec config keys ['bogus']"]),
        (lambda d: _edit_json(d, lambda m: m.update(words=5)), ["incomplete or invalid word2vec model"]),
    ],
    ids=[
        "version",
        "foreign-json",
        "json-list",
        "bad-json",
        "deep-json",
        "missing-array",
        "shape",
        "object-array",
        "no-npz",
        "truncated-npz",
        "config-keys",
        "words-type",
    ],
)
def test_w2v_damaged_checkpoint(kotoba, w2v_checkpoint, tmp_path, damage, needles):
    assert_error(_resume(kotoba, w2v_checkpoint, tmp_path, damage), *needles)


@pytest.mark.parametrize(
    "change",
    [
        lambda m: m["stats"].update(epochs_done="x"),
        lambda m: m.update(base_seed="abc"),
        lambda m: m.update(losses=5),
        lambda m: m.update(words=list(range(len(m["words"])))),
    ],
    ids=["epochs-done", "base-seed", "losses", "int-words"],
)
def test_w2v_checkpoint_with_malformed_fields(kotoba, w2v_checkpoint, tmp_path, change):
    res = _resume(kotoba, w2v_checkpoint, tmp_path, lambda d: _edit_json(d, change))
    assert_error(res, "word2vec.json", "invalid")


def test_w2v_resume_with_changed_settings_names_the_change(kotoba, w2v_checkpoint, tmp_path):
    shutil.copy(w2v_checkpoint / "c.txt", tmp_path / "c.txt")
    shutil.copytree(w2v_checkpoint / "ck", tmp_path / "ck")
    res = kotoba(
        "train", "c.txt", "-o", "v.bin", *W2V, "--dim", "16", "--window", "3", "--checkpoint", "ck", "--resume"
    )
    assert_error(res, "ck: the checkpoint was made with different settings: dim=16 (checkpoint: 8), window=3")
    assert "resume with the checkpoint's settings" in res.err
    assert not (tmp_path / "v.bin").exists()
    # the thread count may change on resume (it changes speed, not the model)
    res = kotoba("train", "c.txt", "-o", "v.bin", *W2V, "--threads", "2", "--checkpoint", "ck", "--resume")
    assert res.rc == 0, res.err


def test_w2v_resume_on_another_corpus_is_refused(kotoba, w2v_checkpoint, tmp_path):
    write_topics(tmp_path / "other.txt", seed=5)  # same words, different text
    res = _resume(kotoba, w2v_checkpoint, tmp_path, lambda d: None, corpus="other.txt")
    assert_error(res, "corpus")


def test_w2v_deterministic_resume_on_another_corpus_or_settings_is_refused(kotoba, tmp_path):
    write_topics(tmp_path / "c.txt")
    write_topics(tmp_path / "other.txt", seed=5)
    det = [*W2V, "--deterministic", "--checkpoint", "ck"]
    assert kotoba("train", "c.txt", "-o", "v.bin", *det).rc == 0
    res = kotoba("train", "other.txt", "-o", "v2.bin", *det, "--resume")
    assert_error(res, "another corpus")
    res = kotoba("train", "c.txt", "-o", "v2.bin", *det, "--resume", "--window", "3")
    assert_error(res, "ck: the checkpoint was made with different settings: window=3 (checkpoint: 5)")
    assert kotoba("train", "c.txt", "-o", "v3.bin", *det, "--resume").rc == 0  # the same text resumes


# ------------------------------------------------------------------------------------- LM


@pytest.fixture(scope="module")
def lm_checkpoint(tmp_path_factory):
    from kotoba.cli import main

    d = tmp_path_factory.mktemp("lm")
    write_topics(d / "c.txt")
    argv = ["lm", "train", "--data", str(d / "c.txt"), "-o", str(d / "m.npz"), "--state", str(d / "st.npz")]
    assert main([*argv, *LM_SMALL]) == 0
    return d


def _lm_copy(src: Path, tmp_path: Path) -> Path:
    for name in ("m.npz", "m.npz.json", "st.npz", "c.txt"):
        shutil.copy(src / name, tmp_path / name)
    return tmp_path / "m.npz"


def _edit_side(p: Path, change) -> None:
    side = Path(str(p) + ".json")
    meta = json.loads(side.read_text())
    change(meta)
    side.write_text(json.dumps(meta))


def _edit_lm_npz(p: Path, change) -> None:
    arrays = dict(np.load(p))
    change(arrays)
    np.savez(p, **arrays)


def _drop_a_word(meta: dict) -> None:
    meta["vocab"] = {k: v[:-1] for k, v in meta["vocab"].items()}


@pytest.mark.parametrize(
    "damage,needles",
    [
        (lambda p: _edit_side(p, lambda m: m.update(version=7)), ["m.npz.json", "unsupported checkpoint version 7"]),
        (lambda p: Path(str(p) + ".json").write_text('{"a": 1}'), ["not a kotoba language-model checkpoint"]),
        (lambda p: _edit_side(p, _drop_a_word), ["m.npz.json", "vocab has 11 words but config says vocab_size=12"]),
        (lambda p: _edit_side(p, lambda m: m.update(vocab=5)), ["bad 'vocab'", "must be a dict"]),
        (lambda p: _edit_side(p, lambda m: m["config"].update(hidden_size="x")), ["bad model config"]),
        (lambda p: _edit_side(p, lambda m: m["config"].update({"class": "Evil"})), ["bad model config", "Evil"]),
        (lambda p: _edit_lm_npz(p, lambda a: a.update(p0=a["p0"][:, :3])), ["parameter p0 is shape"]),
        (lambda p: _edit_lm_npz(p, lambda a: a.pop("p1")), ["m.npz: has 5 arrays but a Rnnlm needs 6"]),
        (
            lambda p: _edit_lm_npz(p, lambda a: a.update(p0=np.array([None], dtype=object))),
            ["m.npz", "holds Python objects", "refused"],
        ),
        (lambda p: Path(str(p) + ".json").unlink(), ["side file m.npz.json is missing"]),
        (lambda p: p.write_bytes(b"PK\x03\x04 truncated"), ["m.npz", "not a readable .npz"]),
    ],
    ids=[
        "version",
        "foreign",
        "vocab-size",
        "vocab-type",
        "config-type",
        "class",
        "shape",
        "missing",
        "object-array",
        "no-side",
        "truncated",
    ],
)
def test_lm_damaged_checkpoint(kotoba, lm_checkpoint, tmp_path, damage, needles):
    ckpt = _lm_copy(lm_checkpoint, tmp_path)
    damage(ckpt)
    assert_error(kotoba("lm", "generate", "m.npz", "--length", "3"), *needles)
    assert_error(kotoba("lm", "eval", "m.npz", "--data", "c.txt"), *needles)


def test_lm_checkpoint_claiming_absurd_sizes(kotoba, lm_checkpoint, tmp_path):
    ckpt = _lm_copy(lm_checkpoint, tmp_path)
    _edit_side(ckpt, lambda m: m["config"].update(hidden_size=10**12))
    assert_error(kotoba("lm", "generate", "m.npz"), "m.npz.json: config claims", "hidden_size=1000000000000")


def test_lm_resume_with_changed_settings_or_corpus_is_refused(kotoba, lm_checkpoint, tmp_path):
    _lm_copy(lm_checkpoint, tmp_path)
    wider = [*LM_SMALL, "--hidden", "8"]  # the last --hidden wins: 8 instead of the saved 4
    res = kotoba("lm", "train", "--data", "c.txt", "-o", "m2.npz", "--state", "st.npz", "--resume", *wider)
    assert_error(res, "st.npz: saved for model", "'hidden_size': 4", "'hidden_size': 8")
    (tmp_path / "d.txt").write_text("a b c\n" * 50)
    res = kotoba("lm", "train", "--data", "d.txt", "-o", "m2.npz", "--state", "st.npz", "--resume", *LM_SMALL)
    assert_error(res, "st.npz: saved for model", "'vocab_size'")
    res = kotoba("lm", "train", "--data", "c.txt", "-o", "m2.npz", "--state", "nothing.npz", "--resume", *LM_SMALL)
    assert_error(res, "--state nothing.npz: no such file to resume from")
