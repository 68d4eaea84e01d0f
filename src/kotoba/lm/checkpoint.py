"""Language-model checkpoints: ``<path>`` (.npz of the parameters) + ``<path>.json`` (the rest).

The ``.npz`` holds the model's ``params`` in order under the names ``p0, p1, ...`` (see
:mod:`kotoba.models.rnnlm` for what each one is) and is read with ``allow_pickle=False``.
The JSON side file holds::

    {"format": "kotoba-lm", "version": 2,
     "config": {"class": "Rnnlm", "vocab_size": ..., "wordvec_size": ..., "hidden_size": ...},
     "params": [{"name": "p0", "shape": [V, D], "dtype": "float32"}, ...],
     "vocab": {"words": ["the", ...], "counts": [50770, ...]},   # Vocab.to_dict(), len == vocab_size
     "meta": {...}}                           # anything JSON: epoch, perplexity, corpus, ...

Versions: **2** stores the LSTM gate blocks in the book's order (:data:`kotoba.layers.time.GATE_ORDER`,
f, g, i, o) and the vocabulary as a :class:`~kotoba.text.vocab.Vocab` (words and counts). **1**
(kotoba before the layers took the book's layout) stored the gates in PyTorch's order
:data:`V1_GATE_ORDER` (i, f, g, o) and the vocabulary as a list of words; :func:`load_lm` still
reads it: it moves the gate blocks and gives the words counts of 0 (version 1 did not keep them).

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

from ..errors import ConfigError, DataError, FormatError
from ..io import load_pair, save_pair
from ..layers.time import GATE_ORDER, TimeLSTM, reorder_gates
from ..models.rnnlm import build_lm
from ..text.vocab import Vocab

FORMAT = "kotoba-lm"
VERSION = 2
#: versions :func:`load_lm` reads
READABLE_VERSIONS = (1, 2)
#: LSTM gate order of version-1 files (PyTorch's, which kotoba's layers used until version 2)
V1_GATE_ORDER = ("i", "f", "g", "o")


def lstm_param_positions(model: Any) -> list[int]:
    """Positions in ``model.params`` of the arrays with LSTM gate blocks (``Wx``, ``Wh``, ``b``)."""
    lstm = {id(p) for layer in getattr(model, "rnn_layers", []) if isinstance(layer, TimeLSTM) for p in layer.params}
    return [k for k, p in enumerate(model.params) if id(p) in lstm]


def gates_from_v1(model: Any, arrays: Sequence[np.ndarray]) -> list[np.ndarray]:
    """``arrays`` aligned with ``model.params`` as a version-1 file held them -> the same with
    every LSTM array's gate blocks moved from :data:`V1_GATE_ORDER` to the book's."""
    out = list(arrays)
    for k in lstm_param_positions(model):
        out[k] = reorder_gates(out[k], V1_GATE_ORDER, GATE_ORDER)
    return out


def sidecar_path(path: str | os.PathLike) -> Path:
    """The JSON side file of a checkpoint: ``<path>.json``."""
    return Path(str(path) + ".json")


def as_vocab(vocab: Vocab | Sequence[str]) -> Vocab:
    """``vocab`` itself, or a word list as a :class:`Vocab` with counts of 0 (counts unknown)."""
    if isinstance(vocab, Vocab):
        return vocab
    words = [str(w) for w in vocab]
    return Vocab(words, np.zeros(len(words), dtype=np.int64))


def save_lm(path: str | os.PathLike, model: Any, vocab: Vocab | Sequence[str], meta: dict | None = None) -> Path:
    """Write ``model`` (its ``config`` and ``params``), ``vocab`` and ``meta`` to ``path`` and ``path.json``.

    ``vocab`` is a :class:`Vocab` (a plain word list is stored with counts of 0). Returns
    ``path``. Raises :class:`ConfigError` if ``vocab`` does not have one word per output of the
    model or ``meta`` is not JSON-serialisable.
    """
    path = Path(path)
    config = dict(model.config)
    vocab = as_vocab(vocab)
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
        "vocab": vocab.to_dict(),
        "meta": meta,
    }
    save_pair(path, arrays, sidecar_path(path), side)  # one save a crash cannot split
    return path


def load_lm(path: str | os.PathLike, rng: np.random.Generator | None = None) -> tuple[Any, Vocab, dict]:
    """Rebuild the model saved by :func:`save_lm` (any version in :data:`READABLE_VERSIONS`):
    ``-> (model, vocab, meta)``.

    The model class and sizes come from the side file's ``config``; ``rng`` only seeds the
    dropout masks of a :class:`~kotoba.models.rnnlm.BetterRnnlm` trained further. Raises
    :class:`FormatError` (naming the file and the problem) when a file is missing, not a
    kotoba LM checkpoint, or the two files disagree.
    """
    path = Path(path)
    side_path = sidecar_path(path)
    arrays, side = load_pair(path, side_path)
    if not isinstance(side, dict) or side.get("format") != FORMAT:
        raise FormatError(f"{side_path}: not a kotoba language-model checkpoint (format is not {FORMAT!r})")
    version = side.get("version")
    if version not in READABLE_VERSIONS:
        raise FormatError(
            f"{side_path}: unsupported checkpoint version {version!r} (this kotoba reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))}; a newer kotoba wrote it?)"
        )
    _check_sizes(side_path, side.get("config"), arrays)
    try:
        model = build_lm(side["config"], rng=rng)
    except (ConfigError, KeyError) as e:
        raise FormatError(f"{side_path}: bad model config ({e})") from e
    vocab = _read_vocab(side_path, side.get("vocab"), version)
    if len(vocab) != model.config["vocab_size"]:
        raise FormatError(
            f"{side_path}: vocab has {len(vocab)} words but config says vocab_size={model.config['vocab_size']}"
        )
    params = _read_params(path, model, side["config"]["class"], arrays)
    if version == 1:
        params = gates_from_v1(model, params)
    for p, a in zip(model.params, params):
        p[...] = a  # in place: keeps the tied embedding/affine view of BetterRnnlm shared
    meta = side.get("meta") or {}
    return model, vocab, meta


def _read_vocab(side_path: Path, stored: Any, version: int) -> Vocab:
    if version == 1:  # a list of words
        if not isinstance(stored, list) or not all(isinstance(w, str) for w in stored):
            raise FormatError(f"{side_path}: 'vocab' must be a list of strings")
        stored = {"words": stored, "counts": [0] * len(stored)}
    try:
        return Vocab.from_dict(stored)
    except DataError as e:
        raise FormatError(f"{side_path}: bad 'vocab' ({e})") from e


def _check_sizes(side_path: Path, config: object, arrays: dict[str, np.ndarray]) -> None:
    """Refuse a config claiming sizes the arrays cannot hold, before the model is built (and allocated).

    Every model has at least a V x D embedding and an H x H recurrent matrix, so V*D + H*H is at
    most the number of values saved; a malformed config is left to ``build_lm`` to describe.
    """
    try:
        V, D, H = (int(config[k]) for k in ("vocab_size", "wordvec_size", "hidden_size"))  # type: ignore[index]
    except (KeyError, TypeError, ValueError):
        return
    held = sum(a.size for a in arrays.values())
    if V * D + H * H > held:
        raise FormatError(
            f"{side_path}: config claims vocab_size={V}, wordvec_size={D}, hidden_size={H}, more than the "
            f"{held:,} values in {side_path.name[:-5]} (files do not match?)"
        )


def _read_params(path: Path, model: Any, class_name: str, arrays: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The arrays ``p0, p1, ...`` of the ``.npz``, checked against the shapes of ``model.params``."""
    if len(arrays) != len(model.params):
        raise FormatError(f"{path}: has {len(arrays)} arrays but a {class_name} needs {len(model.params)}")
    out = []
    for i, p in enumerate(model.params):
        name = f"p{i}"
        a = arrays.get(name)
        if a is None or a.shape != p.shape:
            got = "missing" if a is None else f"shape {a.shape}"
            raise FormatError(f"{path}: parameter {name} is {got}, expected shape {p.shape} (files do not match?)")
        if not np.issubdtype(a.dtype, np.floating):
            raise FormatError(f"{path}: parameter {name} has dtype {a.dtype}, expected floats")
        out.append(a)
    return out
