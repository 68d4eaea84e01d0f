"""A word -> id hash table over UTF-8 bytes, filled by a Numba tokeniser (for :func:`scan_corpus`).

Looking tokens up in a Python dict costs about 50 ns each plus a bytes object per token; this
kernel splits a block of bytes and finds or adds each token in an open-addressing table in one
loop, with no Python object per token. Ids are given in order of first appearance.

Whitespace is what ``bytes.split()`` cuts at plus ASCII 0x1c-0x1f (``str.split()`` cuts at
those too); the caller turns any other Unicode whitespace into spaces first. A newline also
ends a line, whose position the kernel records.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_EMPTY = -1
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


@njit(cache=True, inline="always")
def _is_space(c: int) -> bool:
    return c == 32 or 9 <= c <= 13 or 28 <= c <= 31


@njit(cache=True)
def _tokenise(data, ids, ends, table, word_start, word_len, word_hash, arena, n_words, arena_used):
    """Look up (adding if new) every token of ``data``: (L,) uint8.

    Writes the tokens' ids to ``ids`` and, for each newline, the number of tokens before it to
    ``ends``. The caller guarantees room: ``len(ids) > L // 2``, ``len(ends) >=`` newlines,
    the word arrays and ``arena`` can take ``L // 2 + 1`` more words and ``L`` more bytes, and
    the table stays at most half full. -> (n_ids, n_ends, n_words, arena_used).
    """
    mask = np.uint64(len(table) - 1)
    n = len(data)
    n_ids = 0
    n_ends = 0
    i = 0
    while i < n:
        c = data[i]
        if _is_space(c):
            if c == 10:
                ends[n_ends] = n_ids
                n_ends += 1
            i += 1
            continue
        start = i
        h = _FNV_OFFSET
        while i < n and not _is_space(data[i]):
            h = (h ^ np.uint64(data[i])) * _FNV_PRIME
            i += 1
        length = i - start
        slot = h & mask
        while True:
            w = table[slot]
            if w == _EMPTY:
                w = n_words
                table[slot] = w
                word_start[w] = arena_used
                word_len[w] = length
                word_hash[w] = h
                arena[arena_used:arena_used + length] = data[start:i]
                arena_used += length
                n_words += 1
                break
            if word_hash[w] == h and word_len[w] == length:
                s = word_start[w]
                same = True
                for k in range(length):
                    if arena[s + k] != data[start + k]:
                        same = False
                        break
                if same:
                    break
            slot = (slot + np.uint64(1)) & mask
        ids[n_ids] = w
        n_ids += 1
    return n_ids, n_ends, n_words, arena_used


@njit(cache=True)
def _rehash(word_hash, n_words, size):
    table = np.full(size, _EMPTY, np.int32)
    mask = np.uint64(size - 1)
    for w in range(n_words):
        slot = word_hash[w] & mask
        while table[slot] != _EMPTY:
            slot = (slot + np.uint64(1)) & mask
        table[slot] = w
    return table


def _grown(a: np.ndarray, need: int) -> np.ndarray:
    """``a`` itself if it holds ``need`` items, else a copy at least twice as long."""
    if len(a) >= need:
        return a
    out = np.zeros(max(need, 2 * len(a)), a.dtype)
    out[:len(a)] = a
    return out


class WordTable:
    """Distinct words seen so far, as UTF-8 bytes, with ids in order of first appearance."""

    def __init__(self) -> None:
        self.n_words = 0
        self.arena_used = 0
        self.table = np.full(1 << 10, _EMPTY, np.int32)
        self.word_start = np.zeros(256, np.int64)
        self.word_len = np.zeros(256, np.int32)
        self.word_hash = np.zeros(256, np.uint64)
        self.arena = np.zeros(4096, np.uint8)

    def __len__(self) -> int:
        return self.n_words

    def encode(self, data: bytes) -> tuple[np.ndarray, np.ndarray]:
        """Ids of the tokens of ``data``, adding new words.

        -> ids: (n,) int32; ends: (lines,) int64, the number of tokens before each newline.
        """
        buf = np.frombuffer(data, np.uint8)
        most = len(buf) // 2 + 1  # tokens need a separator each, so at most this many
        self._reserve(most, len(buf))
        ids = np.empty(most, np.int32)
        ends = np.empty(data.count(b"\n"), np.int64)
        n_ids, n_ends, self.n_words, self.arena_used = _tokenise(
            buf, ids, ends, self.table, self.word_start, self.word_len, self.word_hash, self.arena,
            self.n_words, self.arena_used)
        return ids[:n_ids], ends[:n_ends]

    def words(self) -> list[str]:
        """The words in id order, decoded (the caller passed valid UTF-8)."""
        arena = self.arena[:self.arena_used].tobytes()
        starts = self.word_start[:self.n_words].tolist()
        lens = self.word_len[:self.n_words].tolist()
        return [arena[s:s + n].decode("utf-8") for s, n in zip(starts, lens)]

    def _reserve(self, words: int, nbytes: int) -> None:
        need = self.n_words + words
        self.word_start = _grown(self.word_start, need)
        self.word_len = _grown(self.word_len, need)
        self.word_hash = _grown(self.word_hash, need)
        self.arena = _grown(self.arena, self.arena_used + nbytes)
        if 2 * need > len(self.table):  # keep the table at most half full: short probe runs
            size = len(self.table)
            while 2 * need > size:
                size *= 2
            self.table = _rehash(self.word_hash, self.n_words, size)
