"""Truncated-BPTT batching: exact windows, state continuity, wrap vs no-wrap, batch counts."""

from __future__ import annotations

import numpy as np
import pytest

from kotoba.errors import ConfigError, DataError
from kotoba.lm.batch import bptt_batches, epoch_shift, num_batches


def test_no_wrap_rows_are_contiguous_spans():
    ids = np.arange(100, 126)  # 26 ids -> 25 (x, t) pairs; N=2, T=3 -> 4 batches, 1 pair dropped
    batches = list(bptt_batches(ids, 2, 3))
    assert len(batches) == num_batches(len(ids), 2, 3) == 4
    xs = np.concatenate([x for x, _ in batches], axis=1)
    ts = np.concatenate([t for _, t in batches], axis=1)
    np.testing.assert_array_equal(xs[0], np.arange(100, 112))
    np.testing.assert_array_equal(xs[1], np.arange(112, 124))
    np.testing.assert_array_equal(ts, xs + 1)
    assert batches[0][0].dtype == np.int32 and batches[0][0].shape == (2, 3)
    # The first batch exactly, by hand.
    np.testing.assert_array_equal(batches[0][0], [[100, 101, 102], [112, 113, 114]])


def test_wrap_is_the_books_layout():
    ids = np.arange(26)
    L, N, T = 25, 2, 3
    batches = list(bptt_batches(ids, N, T, wrap=True))
    assert len(batches) == L // (N * T) == 4
    jump = L // N  # 12: row i starts at i * jump
    for k, (xs, ts) in enumerate(batches):
        for i in range(N):
            pos = (i * jump + k * T + np.arange(T)) % L
            np.testing.assert_array_equal(xs[i], ids[pos])
            np.testing.assert_array_equal(ts[i], ids[pos + 1])


def test_wrap_continues_the_time_index_across_epochs_like_the_book():
    """The book's trainer never resets time_idx, so epoch 2 starts where epoch 1 stopped, mod L."""
    ids = np.arange(15)  # L = 14, N = 2, T = 3: 2 batches per epoch, rows start at 0 and 7
    L, N, T = 14, 2, 3
    time_idx = 0
    for epoch in range(3):
        for xs, ts in bptt_batches(ids, N, T, wrap=True, epoch=epoch):
            for t in range(T):  # the book's double loop, literally
                for i, offset in enumerate([0, 7]):
                    assert xs[i, t] == ids[(offset + time_idx) % L]
                    assert ts[i, t] == ids[1:][(offset + time_idx) % L]
                time_idx += 1
    # Epoch 2 (time index 12..17): row 0 wraps at the end: 12, 13, 0, 1.
    xs = np.concatenate([x for x, _ in bptt_batches(ids, N, T, wrap=True, epoch=2)], axis=1)
    np.testing.assert_array_equal(xs[0], [12, 13, 0, 1, 2, 3])
    ts = np.concatenate([t for _, t in bptt_batches(ids, N, T, wrap=True, epoch=2)], axis=1)
    np.testing.assert_array_equal(ts[0], [13, 14, 1, 2, 3, 4])


def test_no_wrap_moves_the_cut_points_each_epoch_within_the_slack():
    ids = np.arange(40)  # L = 39, N = 2, T = 3: 6 batches use 36 pairs, slack 3 -> shifts in 0..2
    N, T = 2, 3
    shifts = [epoch_shift(e, T, 3) for e in range(8)]
    assert shifts[0] == 0 and set(shifts) == {0, 1, 2}
    for e, s in enumerate(shifts):
        batches = list(bptt_batches(ids, N, T, epoch=e))
        assert len(batches) == num_batches(len(ids), N, T) == 6
        xs = np.concatenate([x for x, _ in batches], axis=1)
        ts = np.concatenate([t for _, t in batches], axis=1)
        np.testing.assert_array_equal(xs[0], np.arange(s, s + 18))  # contiguous, never wraps
        np.testing.assert_array_equal(xs[1], np.arange(s + 18, s + 36))
        np.testing.assert_array_equal(ts, xs + 1)
        assert ts.max() <= 39
    # no slack: the layout cannot move
    assert all(epoch_shift(e, 35, 0) == 0 for e in range(5))


def test_start_skips_batches():
    ids = np.arange(50)
    full = list(bptt_batches(ids, 2, 4))
    rest = list(bptt_batches(ids, 2, 4, start=3))
    assert len(rest) == len(full) - 3
    for (a, b), (c, d) in zip(full[3:], rest):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)


def test_too_short_corpus_and_bad_sizes():
    with pytest.raises(DataError, match="too short"):
        list(bptt_batches(np.arange(6), 2, 3))
    with pytest.raises(DataError):
        num_batches(6, 2, 3)
    assert num_batches(7, 2, 3) == 1
    with pytest.raises(ConfigError):
        num_batches(100, 0, 3)
