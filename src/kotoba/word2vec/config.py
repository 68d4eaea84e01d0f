"""The word2vec run's hyper-parameters: one frozen dataclass, stored as JSON in checkpoints."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any

from ..checks import check_float, check_int
from ..errors import ConfigError, FormatError
from ..text.tokenize import ALIASES, NAMES

#: default ``min_alpha / alpha``
MIN_ALPHA_RATIO = 0.1

#: how round training adds up the shards' changes (see :class:`Word2VecConfig`)
COMBINE_RULES = ("sum", "mean", "rowmean", "mix")


@dataclass(frozen=True)
class Word2VecConfig:
    """Hyper-parameters of a word2vec run (word2vec.c's names and defaults where it has them).

    ``alpha`` defaults to 0.025 for skip-gram and 0.05 for CBOW (word2vec.c), ``min_alpha`` to
    ``0.1 * alpha`` (word2vec.c: ``1e-4 * alpha``; 0.1 is where gensim's ``corpus_file`` mode with
    2 workers effectively ends, and measured +0.4 analogy points / +0.01 WS353 on text8-prefix
    CBOW, see BENCHMARKS.md); ``threads`` None means ``os.cpu_count()``. ``batch_negatives`` (skip-gram
    with negative sampling only) trains each window as one HogBatch step: its context words share
    one set of negatives, the target's output row is a minibatch over the window and each negative
    row is stepped pair by pair (see :func:`kotoba.word2vec.kernels.sg_window_step`) -- ~2.5x faster
    than the per-pair rule on IMDb, and +0.003 WS353 / +0.18 analogy points there over the all-minibatch
    window (24 runs against 12, BENCHMARKS.md); ``False`` gives word2vec.c's per-pair updates.
    ``cbow_block`` (CBOW with negative sampling only, no HS): that many targets, taken from lanes
    spread over the sentence, share one set of negatives and are updated as one HogBatch
    minibatch (default 8: on 23M tokens of IMDb, 3 seeds, +1.2 analogy points over 16 at the same
    speed, and at or above gensim's scores; 16 was within noise of per-target updates on the
    text8 prefix but 0.7 analogy points below gensim on IMDb); 1 gives word2vec.c's per-target
    updates. ``sg_block`` likewise for skip-gram
    (with ``batch_negatives``, NS only): the pairs of that many windows share one set of
    negatives; 1 (the default) gives one set per window -- 16 scored +0.05 WS353 / MEN on
    text8-prefix but -1.4 analogy points on 23M tokens of IMDb. ``init_range``: input vectors start uniform in
    ``±init_range / dim`` (word2vec.c: 0.5; gensim and the default: 1.0, +0.3 analogy points on
    text8-prefix CBOW).
    ``hot_rows`` (CBOW blocks, more than one thread): each worker thread keeps its own copy of the
    input vectors of that many most frequent words and adds what it changed in them to the shared
    matrix after every job (Hogwild for the other rows): the hottest rows are otherwise written by
    both cores all the time and move between their caches on nearly every update. Default 1024:
    whole IMDb CBOW runs on 2 threads 1.16-1.17x faster, the same scores over 7 seeds (BENCHMARKS.md);
    0 gives plain Hogwild (word2vec.c, gensim). With one thread it changes nothing.
    ``lowercase`` and ``tokenizer`` (a :mod:`kotoba.text.tokenize` name: ``mecab`` for Japanese) say
    how the text becomes words.

    Round training (:mod:`kotoba.word2vec.rounds`, used by ``deterministic`` runs and by
    :mod:`kotoba.word2vec.distributed`): the corpus is cut into ``shards`` parts fixed by the data
    (a distributed run uses one shard per worker instead); in each round every shard trains about
    ``round_words`` tokens from the model of the last round boundary, and the changed rows are
    combined by ``combine`` (``"sum"``, ``"mean"`` or ``"rowmean"``: each row's summed change
    divided by the number of shards that changed it; ``"mix"``: the sum scaled down towards the
    mean as far as the shards' changes of a row agree, see :class:`~kotoba.word2vec.rounds.Combiner`).
    ``deterministic`` gives bit-identical vectors for a seed whatever ``threads`` is.
    """

    sg: bool = False
    hs: bool = False
    negative: int = 5
    dim: int = 100
    window: int = 5
    min_count: int = 5
    sample: float = 1e-3
    epochs: int = 5
    alpha: float | None = None
    min_alpha: float | None = None
    threads: int | None = None
    seed: int = 0
    cbow_mean: bool = True
    max_vocab_size: int | None = None
    lowercase: bool = False
    tokenizer: str = "whitespace"
    max_sentence_len: int = 10000
    ns_exponent: float = 0.75
    batch_negatives: bool = True
    cbow_block: int = 8
    sg_block: int = 1
    init_range: float = 1.0
    hot_rows: int = 1024
    job_words: int = 10000
    deterministic: bool = False
    shards: int = 4
    round_words: int = 50000
    combine: str = "mix"

    def __post_init__(self) -> None:
        names = ("dim", "window", "min_count", "epochs", "max_sentence_len", "job_words", "cbow_block", "sg_block")
        for name in names + ("shards", "round_words"):
            check_int(name, getattr(self, name))
        check_int("negative", self.negative, 0)
        check_int("hot_rows", self.hot_rows, 0)
        if self.window > self.max_sentence_len:
            # the kernels' scratch buffers are sized by the window: refuse before allocating from it
            raise ConfigError(
                f"window={self.window}: must be <= max_sentence_len={self.max_sentence_len} (no sentence is longer)"
            )
        check_int("seed", self.seed, 0)
        check_int("threads", self.threads, optional=True)
        check_int("max_vocab_size", self.max_vocab_size, optional=True)
        check_float("sample", self.sample, 0, 1, high_open=True)
        check_float("ns_exponent", self.ns_exponent)
        check_float("init_range", self.init_range, 0, low_open=True)
        if self.tokenizer not in NAMES + tuple(ALIASES):
            raise ConfigError(f"tokenizer={self.tokenizer!r}: must be one of {', '.join(NAMES + tuple(ALIASES))}")
        if self.combine not in COMBINE_RULES:
            raise ConfigError(f"combine={self.combine!r}: must be one of {', '.join(COMBINE_RULES)}")
        if not self.hs and self.negative == 0:
            raise ConfigError("negative=0 and hs=False: nothing to train (use negative sampling, hs, or both)")
        alpha = (0.025 if self.sg else 0.05) if self.alpha is None else self.alpha
        check_float("alpha", alpha, 0, low_open=True)
        min_alpha = MIN_ALPHA_RATIO * alpha if self.min_alpha is None else self.min_alpha
        check_float("min_alpha", min_alpha, 0, alpha)
        object.__setattr__(self, "alpha", float(alpha))
        object.__setattr__(self, "min_alpha", float(min_alpha))

    def resolved_threads(self) -> int:
        return int(self.threads) if self.threads is not None else (os.cpu_count() or 1)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Word2VecConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise FormatError(f"unknown word2vec config keys {sorted(unknown)}")
        return cls(**d)


def same_training(a: Word2VecConfig, b: Word2VecConfig) -> bool:
    """Configs that train the same model: the thread count changes speed and the job order (see
    _interleave_jobs), ``hot_rows`` only when threads' changes become visible to each other."""
    return dataclasses.replace(a, threads=None, hot_rows=0) == dataclasses.replace(b, threads=None, hot_rows=0)
