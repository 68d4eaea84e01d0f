"""A trained word2vec model and its checkpoint: ``word2vec.npz`` (arrays) + ``word2vec.json`` (the rest)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, DataError, FormatError
from ..io import load_pair, save_pair
from ..vectors import WordVectors
from .config import Word2VecConfig

FORMAT = "kotoba-word2vec"
#: 2 adds ``jobs_done`` / ``job_parts`` (a checkpoint inside an epoch); version-1 folders still load
FORMAT_VERSION = 2
_READABLE_VERSIONS = (1, 2)
#: values of config fields added later, for checkpoints written before they existed (the
#: behaviour of that code: per-target CBOW updates, word2vec.c's initial range)
LEGACY_CONFIG = {"cbow_block": 1, "sg_block": 1, "init_range": 0.5}
NPZ_NAME = "word2vec.npz"
JSON_NAME = "word2vec.json"


@dataclass
class Word2VecModel:
    """A trained (or partly trained) word2vec model.

    words / counts: the vocabulary (most frequent first); wv: the input vectors as
    :class:`kotoba.vectors.WordVectors`; syn1neg: (V, D) float32 negative-sampling output
    vectors (None without NS); syn1: (V, D) float32 hierarchical-softmax inner-node vectors (row
    i for node i < V-1; None without HS). losses: one dict per progress interval with ``epoch``,
    ``words`` (tokens processed so far) and ``loss`` (mean loss per training pair over the
    interval). stats: ``raw_words`` (corpus tokens per epoch, out-of-vocabulary included),
    ``train_words`` (in-vocabulary tokens per epoch), ``epochs_done``, ``jobs_done`` (jobs of the
    next epoch already trained: non-zero only in a checkpoint written on a stop request),
    ``job_parts`` (the thread count that set the job order), ``seconds`` (wall time of
    the whole ``train`` call), ``train_seconds`` (kernel phase only), ``words_per_sec``
    (raw_words × epochs / seconds).
    """

    config: Word2VecConfig
    words: list[str]
    counts: np.ndarray
    wv: Any
    syn1neg: np.ndarray | None
    syn1: np.ndarray | None
    losses: list[dict[str, float]] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)
    base_seed: int = 0

    def save(self, directory: str | os.PathLike) -> None:
        """Write ``word2vec.npz`` (arrays, no pickle) and ``word2vec.json`` (vocab, config, progress)
        as one atomic save (:func:`~kotoba.io.save_pair`)."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        arrays = {
            "vectors": np.asarray(self.wv.vectors),
            "counts": self.counts,
            "epochs_done": np.array(self.stats.get("epochs_done", 0), np.int64),
            "jobs_done": np.array(self.stats.get("jobs_done", 0), np.int64),
        }
        if self.syn1neg is not None:
            arrays["syn1neg"] = self.syn1neg
        if self.syn1 is not None:
            arrays["syn1"] = self.syn1
        # one save a crash cannot split (see save_pair): the last complete checkpoint always loads
        save_pair(
            d / NPZ_NAME,
            arrays,
            d / JSON_NAME,
            {
                "format": FORMAT,
                "version": FORMAT_VERSION,
                "config": self.config.to_dict(),
                "words": self.words,
                "base_seed": str(self.base_seed),
                "losses": self.losses,
                "stats": self.stats,
            },
        )

    @classmethod
    def load(cls, directory: str | os.PathLike) -> Word2VecModel:
        """Read a model written by :meth:`save`; FormatError if files are missing or inconsistent."""
        d = Path(directory)
        arrays, meta = load_pair(d / NPZ_NAME, d / JSON_NAME)
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise FormatError(f"{d / JSON_NAME}: not a kotoba word2vec model")
        if meta.get("version") not in _READABLE_VERSIONS:
            raise FormatError(
                f"{d / JSON_NAME}: unsupported version {meta.get('version')!r} (this kotoba reads {_READABLE_VERSIONS})"
            )
        try:
            config = Word2VecConfig.from_dict({**LEGACY_CONFIG, **meta["config"]})
            words = list(meta["words"])
            vectors = arrays["vectors"]
            counts = arrays["counts"]
        except (KeyError, TypeError, ConfigError) as e:
            raise FormatError(f"{d}: incomplete or invalid word2vec model ({e})") from e
        try:
            stats = dict(meta.get("stats", {}))
            losses = list(meta.get("losses", []))
            base_seed = int(meta.get("base_seed", "0"))
            # version 1 saved only at epoch ends: no jobs_done anywhere, i.e. 0
            stamp = (int(arrays.get("epochs_done", -1)), int(arrays.get("jobs_done", 0)))
            saved = (int(stats.get("epochs_done", -2)), int(stats.get("jobs_done", 0)))
        except (TypeError, ValueError) as e:
            raise FormatError(f"{d / JSON_NAME}: invalid stats, losses or base_seed ({e})") from e
        if stamp != saved:
            raise FormatError(f"{d}: {NPZ_NAME} and {JSON_NAME} are from different epochs or jobs (interrupted save?)")
        if vectors.shape != (len(words), config.dim) or counts.shape != (len(words),):
            raise FormatError(f"{d}: arrays do not match the vocabulary of {len(words)} words and dim {config.dim}")
        syn1neg = arrays.get("syn1neg")
        syn1 = arrays.get("syn1")
        if (syn1neg is not None) != (config.negative > 0) or (syn1 is not None) != config.hs:
            raise FormatError(
                f"{d}: output layers do not match the config (negative={config.negative}, hs={config.hs})"
            )
        try:
            wv = WordVectors(words, vectors.astype(np.float32), counts.astype(np.int64))
        except (DataError, TypeError, ValueError) as e:
            raise FormatError(f"{d / JSON_NAME}: invalid words ({e})") from e
        return cls(config, words, counts.astype(np.int64), wv, syn1neg, syn1, losses, stats, base_seed)
