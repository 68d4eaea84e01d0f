"""LM checkpoints: round trips give identical outputs; bad or mismatched files are refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kotoba.errors import ConfigError, FormatError
from kotoba.lm.checkpoint import load_lm, save_lm, sidecar_path
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
    assert vocab == VOCAB and meta == {"epoch": 3, "valid_ppl": 123.4}
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
