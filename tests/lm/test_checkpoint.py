"""LM checkpoints: round trips give identical outputs; bad or mismatched files are refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kotoba.errors import ConfigError, FormatError
from kotoba.layers.time import TimeLSTM
from kotoba.lm.checkpoint import VERSION, load_lm, save_lm, sidecar_path
from kotoba.models.rnnlm import BetterRnnlm, Rnnlm, SimpleRnnlm

VOCAB = [f"w{i}" for i in range(12)] + ["<eos>", "日本"]


@pytest.mark.parametrize("cls", [SimpleRnnlm, Rnnlm, BetterRnnlm])
def test_round_trip_identical_outputs(tmp_path, rng, cls):
    model = cls(len(VOCAB), 6, 6, rng=rng)
    for p in model.params:  # non-trivial biases too
        p += rng.standard_normal(p.shape).astype(p.dtype) * 0.1
    path = save_lm(tmp_path / "m.npz", model, VOCAB, meta={"epoch": 3, "valid_ppl": 123.4})
    assert path == tmp_path / "m.npz" and sidecar_path(path).exists()
    loaded, vocab, meta = load_lm(path)
    assert type(loaded) is cls and loaded.config == model.config
    assert vocab.words == VOCAB and meta == {"epoch": 3, "valid_ppl": 123.4}
    xs = rng.integers(0, len(VOCAB), size=(2, 5)).astype(np.int32)
    model.reset_state()
    np.testing.assert_array_equal(loaded.predict(xs), model.predict(xs))
    if cls is BetterRnnlm:  # still tied after loading
        assert np.shares_memory(loaded.affine.params[0], loaded.params[0])


def test_refuses_bad_files(tmp_path, rng):
    model = Rnnlm(len(VOCAB), 4, 4, rng=rng)
    path = save_lm(tmp_path / "m.npz", model, VOCAB)
    side = json.loads(sidecar_path(path).read_text(encoding="utf-8"))

    with pytest.raises(FormatError, match="side file"):
        load_lm(tmp_path / "absent.npz")

    bad = dict(side, format="something-else")
    sidecar_path(path).write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(FormatError, match="not a kotoba language-model checkpoint"):
        load_lm(path)

    bad = dict(side, config=dict(side["config"], hidden_size=5))  # sidecar from another model
    sidecar_path(path).write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(FormatError, match="shape"):
        load_lm(path)

    bad = dict(side, config={"class": "Transformer"})
    sidecar_path(path).write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(FormatError, match="config"):
        load_lm(path)

    bad = dict(side, vocab=VOCAB[:-1])
    sidecar_path(path).write_text(json.dumps(bad), encoding="utf-8")
    with pytest.raises(FormatError, match="vocab"):
        load_lm(path)

    sidecar_path(path).write_text(json.dumps(side), encoding="utf-8")
    path.write_bytes(b"not a zip file")
    with pytest.raises(FormatError, match="npz"):
        load_lm(path)


def test_save_checks_vocab_and_meta(tmp_path, rng):
    model = SimpleRnnlm(len(VOCAB), 3, 3, rng=rng)
    with pytest.raises(ConfigError, match="vocabulary"):
        save_lm(tmp_path / "m.npz", model, VOCAB[:3])
    with pytest.raises(ConfigError, match="JSON"):
        save_lm(tmp_path / "m.npz", model, VOCAB, meta={"x": object()})
    assert not (tmp_path / "m.npz").exists()


def write_v1_checkpoint(path, model, vocab):
    """A checkpoint as kotoba wrote it before version 2, written out by hand: LSTM gate blocks in
    PyTorch's order (i, f, g, o), the vocabulary a JSON list of words."""
    lstm = {id(p) for layer in model.rnn_layers if isinstance(layer, TimeLSTM) for p in layer.params}
    arrays = {}
    for k, p in enumerate(model.params):
        if id(p) in lstm:
            H = p.shape[-1] // 4
            f, g, i, o = (p[..., j * H : (j + 1) * H] for j in range(4))  # the book's blocks
            p = np.concatenate([i, f, g, o], axis=-1)
        arrays[f"p{k}"] = p
    np.savez(path, **arrays)
    side = {
        "format": "kotoba-lm",
        "version": 1,
        "config": model.config,
        "params": [{"name": k, "shape": list(a.shape), "dtype": str(a.dtype)} for k, a in arrays.items()],
        "vocab": list(vocab),
        "meta": {"epoch": 2},
    }
    sidecar_path(path).write_text(json.dumps(side), encoding="utf-8")


@pytest.mark.parametrize("cls", [SimpleRnnlm, Rnnlm, BetterRnnlm])
def test_version_1_checkpoints_load_converted(tmp_path, rng, cls):
    model = cls(len(VOCAB), 6, 6, rng=rng)
    for p in model.params:
        p += rng.standard_normal(p.shape).astype(p.dtype) * 0.3
    path = tmp_path / "old.npz"
    write_v1_checkpoint(path, model, VOCAB)
    loaded, vocab, meta = load_lm(path)
    assert list(vocab) == VOCAB and meta == {"epoch": 2}
    for p, q in zip(model.params, loaded.params):
        np.testing.assert_array_equal(p, q)
    xs = rng.integers(0, len(VOCAB), size=(2, 5)).astype(np.int32)
    model.reset_state()
    np.testing.assert_array_equal(loaded.predict(xs), model.predict(xs))
    # and saving it again writes the current version
    save_lm(tmp_path / "new.npz", loaded, vocab)
    assert json.loads(sidecar_path(tmp_path / "new.npz").read_text(encoding="utf-8"))["version"] == VERSION == 2


def test_unknown_version_is_named(tmp_path, rng):
    path = save_lm(tmp_path / "m.npz", Rnnlm(len(VOCAB), 4, 4, rng=rng), VOCAB)
    side = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
    sidecar_path(path).write_text(json.dumps(dict(side, version=7)), encoding="utf-8")
    with pytest.raises(FormatError, match="version 7"):
        load_lm(path)
