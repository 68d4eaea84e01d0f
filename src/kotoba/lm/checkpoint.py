"""Language-model checkpoints: ``<path>`` (.npz of the parameters) + ``<path>.json`` (the rest).

The ``.npz`` holds the model's ``params`` in order under the names ``p0, p1, ...`` (see
:mod:`kotoba.models.rnnlm` for what each one is) and is read with ``allow_pickle=False``.
The JSON side file holds::

    {"format": "kotoba-lm", "version": 1,
     "config": {"class": "Rnnlm", "vocab_size": ..., "wordvec_size": ..., "hidden_size": ...},
     "params": [{"name": "p0", "shape": [V, D], "dtype": "float32"}, ...],
     "vocab": ["<eos>", "the", ...],          # word of every id, len == vocab_size
     "meta": {...}}                           # anything JSON: epoch, perplexity, corpus, ...

Both files are written atomically (:mod:`kotoba.io`), the ``.npz`` first, and
:func:`load_lm` checks that they agree, so a crash between the two writes is reported as a
mismatch instead of loading wrong weights.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, FormatError
from ..io import load_json, load_npz, save_json, save_npz
from ..models.rnnlm import build_lm

FORMAT = "kotoba-lm"
VERSION = 1


def sidecar_path(path: str | os.PathLike) -> Path:
    """The JSON side file of a checkpoint: ``<path>.json``."""
    return Path(str(path) + ".json")


def save_lm(path: str | os.PathLike, model: Any, vocab: Sequence[str], meta: dict | None = None) -> Path:
    """Write ``model`` (its ``config`` and ``params``), ``vocab`` and ``meta`` to ``path`` and ``path.json``.

    Returns ``path``. Raises :class:`ConfigError` if ``vocab`` does not have one word per
    output of the model or ``meta`` is not JSON-serialisable.
    """
    path = Path(path)
    config = dict(model.config)
    vocab = [str(w) for w in vocab]
    if len(vocab) != config["vocab_size"]:
        raise ConfigError(f"vocabulary has {len(vocab)} words but the model has vocab_size={config['vocab_size']}")
    meta = dict(meta or {})
    try:
        json.dumps(meta)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"checkpoint meta must be JSON-serialisable: {e}") from e
    arrays = {f"p{i}": p for i, p in enumerate(model.params)}
    side = {
        "format": FORMAT,
        "version": VERSION,
        "config": config,
        "params": [{"name": k, "shape": list(a.shape), "dtype": str(a.dtype)} for k, a in arrays.items()],
        "vocab": vocab,
        "meta": meta,
    }
    save_npz(path, arrays)
    save_json(sidecar_path(path), side)
    return path


def load_lm(path: str | os.PathLike, rng: np.random.Generator | None = None) -> tuple[Any, list[str], dict]:
    """Rebuild the model saved by :func:`save_lm`: ``-> (model, vocab, meta)``.

    The model class and sizes come from the side file's ``config``; ``rng`` only seeds the
    dropout masks of a :class:`~kotoba.models.rnnlm.BetterRnnlm` trained further. Raises
    :class:`FormatError` (naming the file and the problem) when a file is missing, not a
    kotoba LM checkpoint, or the two files disagree.
    """
    path = Path(path)
    side_path = sidecar_path(path)
    if not side_path.exists():
        raise FormatError(f"{path}: checkpoint side file {side_path.name} is missing (both files are needed)")
    side = load_json(side_path)
    if not isinstance(side, dict) or side.get("format") != FORMAT:
        raise FormatError(f"{side_path}: not a kotoba language-model checkpoint (format is not {FORMAT!r})")
    if side.get("version") != VERSION:
        raise FormatError(f"{side_path}: unsupported checkpoint version {side.get('version')!r} (expected {VERSION})")
    try:
        model = build_lm(side["config"], rng=rng)
    except (ConfigError, KeyError) as e:
        raise FormatError(f"{side_path}: bad model config ({e})") from e
    vocab = side.get("vocab")
    if not isinstance(vocab, list) or not all(isinstance(w, str) for w in vocab):
        raise FormatError(f"{side_path}: 'vocab' must be a list of strings")
    if len(vocab) != model.config["vocab_size"]:
        raise FormatError(
            f"{side_path}: vocab has {len(vocab)} words but config says vocab_size={model.config['vocab_size']}"
        )
    arrays = load_npz(path)
    if len(arrays) != len(model.params):
        raise FormatError(f"{path}: has {len(arrays)} arrays but a {side['config']['class']} needs {len(model.params)}")
    for i, p in enumerate(model.params):
        name = f"p{i}"
        a = arrays.get(name)
        if a is None or a.shape != p.shape:
            got = "missing" if a is None else f"shape {a.shape}"
            raise FormatError(f"{path}: parameter {name} is {got}, expected shape {p.shape} (files do not match?)")
        if not np.issubdtype(a.dtype, np.floating):
            raise FormatError(f"{path}: parameter {name} has dtype {a.dtype}, expected floats")
        p[...] = a  # in place: keeps the tied embedding/affine view of BetterRnnlm shared
    meta = side.get("meta") or {}
    return model, vocab, meta
