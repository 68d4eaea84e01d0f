"""Text generation from a trained language model, one sampled word at a time.

The model is used as the book's ``RnnlmGen`` uses it: its LSTM layers are stateful, so after
``reset_state()`` the start phrase is fed once and then each sampled word is fed back as a
(1, 1) batch, the hidden state carrying the whole history.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from ..errors import ConfigError, UnknownWordError
from ..text.vocab import EOS, UNK, Vocab


class StatefulLM(Protocol):
    def predict(self, xs: np.ndarray) -> np.ndarray: ...

    def reset_state(self) -> None: ...


def next_word_logits(model: StatefulLM, ids: Sequence[int], vocab_size: int) -> np.ndarray:
    """Feed ``ids`` (as one (1, T) batch) to the stateful model; scores of the word after them.

    ``model.predict``: (1, T) int32 -> (1, T, V) scores; returns the last step's (V,) as float64.
    """
    xs = np.asarray(ids, dtype=np.int32).reshape(1, -1)
    scores = np.asarray(model.predict(xs))
    return scores.reshape(-1, vocab_size)[-1].astype(np.float64)


def sample_from_logits(
    logits: np.ndarray,
    temperature: float = 1.0,
    top_k: int | None = None,
    rng: np.random.Generator | None = None,
    banned: Sequence[int] = (),
) -> int:
    """Draw one id from ``softmax(logits / temperature)`` restricted to the ``top_k`` best ids.

    ``banned`` ids get probability 0. ``temperature == 0`` means greedy (the arg-max, lowest id
    on ties), the limit of the distribution as the temperature goes to 0.
    """
    if temperature < 0 or not np.isfinite(temperature):
        raise ConfigError(f"temperature must be a finite number >= 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ConfigError(f"top_k must be >= 1, got {top_k}")
    z = np.array(logits, dtype=np.float64)
    if banned:
        z[list(banned)] = -np.inf
    if top_k is not None and top_k < z.size:
        # Everything below the k-th largest score is dropped (ties at the cut are kept).
        kth = np.partition(z, z.size - top_k)[z.size - top_k]
        z[z < kth] = -np.inf
    if temperature == 0:
        return int(np.argmax(z))
    z = (z - z.max()) / temperature
    p = np.exp(z)
    # Inverse-CDF draw: no renormalisation error to trip over, unlike Generator.choice(p=...).
    cdf = np.cumsum(p)
    u = (rng if rng is not None else np.random.default_rng()).random() * cdf[-1]
    return int(min(np.searchsorted(cdf, u, side="right"), z.size - 1))


def _start_ids(words: Sequence[str], w2i: dict[str, int], vocab: Sequence[str]) -> list[int]:
    if not words:
        if EOS not in w2i:
            raise ConfigError(f"empty start phrase and the vocabulary has no {EOS} to start from")
        words = [EOS]
    ids = []
    for w in words:
        if w not in w2i:
            raise UnknownWordError(w, difflib.get_close_matches(w, vocab, n=3))
        ids.append(w2i[w])
    return ids


def generate(
    model: StatefulLM,
    vocab: Vocab | Sequence[str],
    start: str | Sequence[str],
    length: int = 50,
    temperature: float = 1.0,
    top_k: int | None = None,
    rng: np.random.Generator | None = None,
    skip_unk: bool = True,
    stop_at_eos: bool = True,
) -> list[str]:
    """Continue ``start`` with up to ``length`` sampled words; returns start words + new words.

    ``vocab``: the model's :class:`~kotoba.text.vocab.Vocab` (or its words in id order).
    ``start`` is a phrase (split on whitespace) or a list of words; every word must be in
    ``vocab``, else UnknownWordError with close matches (a typo silently read as ``<unk>`` would
    give odd text with no hint why). An empty start begins at a sentence boundary (``<eos>``,
    which is then not part of the result). ``skip_unk`` never samples ``<unk>``; with
    ``stop_at_eos`` generation ends at the first sampled ``<eos>``, which is not returned.
    ``rng``: a numpy Generator (a fresh unseeded one if None). Resets the model's state first.
    """
    if length < 0:
        raise ConfigError(f"length must be >= 0, got {length}")
    vocab = list(vocab)  # id -> word
    w2i = {w: i for i, w in enumerate(vocab)}
    if rng is None:
        rng = np.random.default_rng()
    words = start.split() if isinstance(start, str) else list(start)
    ids = _start_ids(words, w2i, vocab)
    banned = [w2i[UNK]] if skip_unk and UNK in w2i else []
    eos = w2i.get(EOS)
    model.reset_state()
    logits = next_word_logits(model, ids, len(vocab))
    for step in range(length):
        nxt = sample_from_logits(logits, temperature, top_k, rng, banned)
        if stop_at_eos and nxt == eos:
            break
        words.append(vocab[nxt])
        if step + 1 < length:  # the last word needs no prediction after it
            logits = next_word_logits(model, [nxt], len(vocab))
    return words
