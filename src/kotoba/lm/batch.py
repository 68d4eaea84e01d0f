"""Truncated-BPTT batches: the corpus cut into ``N`` parallel streams read ``T`` tokens at a time.

A corpus of ``L + 1`` ids gives ``L`` (input, target) pairs ``(ids[k], ids[k + 1])``. Row ``i``
of every batch reads its own stream, and row ``i`` of batch ``k + 1`` continues exactly where
row ``i`` of batch ``k`` stopped, so a stateful model can carry its hidden state from one batch
to the next. An epoch has ``L // (N * T)`` batches (:func:`num_batches`), in both modes:

* ``wrap=True`` — the book's ``RnnlmTrainer.get_batch``: row ``i`` starts at ``i * (L // N)``,
  and the time index keeps counting across epochs (epoch ``e`` starts at ``e * num_batches * T``;
  pass ``epoch=e``), positions taken modulo ``L``. So from the second epoch on, the streams
  start elsewhere and run off the end of the corpus onto its start.
* ``wrap=False`` (default) — each row reads a contiguous, non-wrapping span of
  ``num_batches * T`` pairs, row ``i`` starting at ``shift + i * num_batches * T``. The
  ``L mod (N * T)`` pairs left over (fewer than ``N * T``) are split between the head and the
  tail: epoch ``e`` starts ``shift = epoch_shift(e, T, slack)`` tokens in (0 in the first
  epoch), so the truncation points move from epoch to epoch, as they do in the book's layout.
  That matters: with the same cut points every epoch, the book's Rnnlm recipe measured valid
  perplexity 145.0 instead of the wrapping layout's 140.8 (PTB, 4 epochs, one seed).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from ..errors import ConfigError, DataError


def _check(n_ids: int, batch_size: int, time_size: int) -> int:
    if batch_size < 1 or time_size < 1:
        raise ConfigError(f"batch_size and time_size must be >= 1, got {batch_size} and {time_size}")
    n = max(n_ids - 1, 0) // (batch_size * time_size)
    if n == 0:
        raise DataError(
            f"a corpus of {n_ids} tokens is too short for one batch of {batch_size} x {time_size} "
            f"(needs at least {batch_size * time_size + 1}); use a smaller batch_size or time_size"
        )
    return n


def epoch_shift(epoch: int, time_size: int, slack: int) -> int:
    """Tokens skipped at the head in epoch ``epoch`` of the non-wrapping layout: 0 in epoch 0,
    then golden-ratio steps through ``[0, min(time_size - 1, slack)]`` so successive epochs cut
    the streams at well-spread different points."""
    span = min(time_size - 1, slack)
    if span <= 0:
        return 0
    return int(((epoch * 0.6180339887498949) % 1.0) * (span + 1))


def num_batches(n_ids: int, batch_size: int, time_size: int) -> int:
    """Batches per epoch for a corpus of ``n_ids`` tokens: ``(n_ids - 1) // (batch_size * time_size)``.

    Raises :class:`~kotoba.errors.DataError` when that is 0.
    """
    return _check(n_ids, batch_size, time_size)


def bptt_batches(
    ids: np.ndarray, batch_size: int, time_size: int, wrap: bool = False, start: int = 0, epoch: int = 0
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield one epoch of ``(xs, ts)``, both ``(batch_size, time_size)`` int32, ``ts`` = ``xs`` shifted by one.

    ``start`` skips the first ``start`` batches (to resume an epoch part-way through);
    ``epoch`` (0-based) shifts the time index as the book's trainer does (``wrap=True``) or
    moves the start by :func:`epoch_shift` tokens (``wrap=False``). See the module docstring.
    """
    ids = np.asarray(ids)
    if ids.ndim != 1:
        raise DataError(f"token ids must be a 1-D array, got shape {ids.shape}")
    N, T = batch_size, time_size
    n = _check(len(ids), N, T)
    L = len(ids) - 1
    if wrap:
        offsets = np.arange(N) * (L // N)
    else:
        offsets = epoch_shift(epoch, T, L - n * N * T) + np.arange(N) * (n * T)
    steps = np.arange(T)
    if wrap:
        steps = steps + epoch * n * T
    for k in range(start, n):
        pos = offsets[:, None] + (k * T + steps)[None, :]
        if wrap:
            pos %= L
        yield ids[pos].astype(np.int32), ids[pos + 1].astype(np.int32)
