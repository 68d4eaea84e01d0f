"""A word -> id hash table over UTF-8 bytes, filled by a Numba tokeniser (for :func:`scan_corpus`).

Looking tokens up in a Python dict costs about 50 ns each plus a bytes object per token; this
kernel splits a block of bytes and finds or adds each token in an open-addressing table in one
loop, with no Python object per token. Ids are given in order of first appearance.

Tokens are separated by the characters ``str.isspace`` accepts, found in the UTF-8 bytes, so
the tokens are those of ``str.split()`` on the decoded text. A newline also ends a line,
whose position the kernel records.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import njit

_EMPTY = -1
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)


@njit(cache=True)
def _space_len(c, b1, b2):
    """Bytes in the character ``c b1 b2 ...`` if it is whitespace (as ``str.isspace`` says), else 0.

    ``c`` starts a character of valid UTF-8 (a lead byte never occurs inside one); ``b1``,
    ``b2`` are the next bytes (0 past the end). ASCII: tab to carriage return, 0x1c-0x1f and
    space; beyond: U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F, U+205F and
    U+3000. Scalars only: passing the array to a helper per byte cost 10x (reference counting).
    """
    if c == 32 or 9 <= c <= 13 or 28 <= c <= 31:
        return 1
    if c == 0xC2:
        return 2 if b1 == 0x85 or b1 == 0xA0 else 0
    if c == 0xE1:
        return 3 if b1 == 0x9A and b2 == 0x80 else 0
    if c == 0xE2:
        if b1 == 0x80 and (b2 <= 0x8A or b2 == 0xA8 or b2 == 0xA9 or b2 == 0xAF):
            return 3
        return 3 if b1 == 0x81 and b2 == 0x9F else 0
    if c == 0xE3:
        return 3 if b1 == 0x80 and b2 == 0x80 else 0
    return 0


@njit(cache=True)
def _tokenise(data, ids, ends, table, word_start, word_len, word_hash, arena, n_words, arena_used):
    """Look up (adding if new) every token of ``data``: (L,) uint8, valid UTF-8.

    Writes the tokens' ids to ``ids`` and, for each newline, the number of tokens before it to
    ``ends``. The caller guarantees room: ``len(ids) > L // 2``, ``len(ends) >=`` newlines,
    the word arrays and ``arena`` can take ``L // 2 + 1`` more words and ``L + L // 2 + 1`` more
    bytes (each word is stored followed by a newline), and the table stays at most half full.
    Returns (n_ids, n_ends, n_words, arena_used).
    """
    mask = np.uint64(len(table) - 1)
    n = len(data)
    n_ids = 0
    n_ends = 0
    start = -1  # where the current token began, -1 between tokens
    h = _FNV_OFFSET
    i = 0
    while i <= n:
        if i == n:
            k = 1  # the end closes the last token
        else:
            c = data[i]
            if 0xC2 <= c <= 0xE3:
                k = _space_len(c, data[i + 1] if i + 1 < n else 0, data[i + 2] if i + 2 < n else 0)
            else:
                k = _space_len(c, 0, 0)
        if k == 0:
            if start < 0:
                start = i
                h = _FNV_OFFSET
            h = (h ^ np.uint64(data[i])) * _FNV_PRIME
            i += 1
            continue
        if start >= 0:  # find the token data[start:i] in the table or add it (inline: a helper
            length = i - start  # taking the arrays would pay reference counting per token)
            slot = h & mask
            while True:
                w = table[slot]
                if w == _EMPTY:
                    w = n_words
                    table[slot] = w
                    word_start[w] = arena_used
                    word_len[w] = length
                    word_hash[w] = h
                    arena[arena_used : arena_used + length] = data[start:i]
                    arena[arena_used + length] = 10  # words() splits the arena at these
                    arena_used += length + 1
                    n_words += 1
                    break
                if word_hash[w] == h and word_len[w] == length:
                    s = word_start[w]
                    same = True
                    for j in range(length):
                        if arena[s + j] != data[start + j]:
                            same = False
                            break
                    if same:
                        break
                slot = (slot + np.uint64(1)) & mask
            ids[n_ids] = w
            n_ids += 1
            start = -1
        if i < n and data[i] == 10:
            ends[n_ends] = n_ids
            n_ends += 1
        i += k
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
    out[: len(a)] = a
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
        """Ids of the tokens of ``data`` (valid UTF-8), adding new words.

        -> ids: (n,) int32; ends: (lines,) int64, the number of tokens before each newline.
        """
        buf = np.frombuffer(data, np.uint8)
        most = len(buf) // 2 + 1  # tokens need a separator each, so at most this many
        self._reserve(most, len(buf))
        ids = np.empty(most, np.int32)
        ends = np.empty(data.count(b"\n"), np.int64)
        n_ids, n_ends, self.n_words, self.arena_used = _tokenise(
            buf,
            ids,
            ends,
            self.table,
            self.word_start,
            self.word_len,
            self.word_hash,
            self.arena,
            self.n_words,
            self.arena_used,
        )
        return ids[:n_ids], ends[:n_ends]

    def words(self) -> Sequence[str]:
        """The words in id order, each decoded when it is read (the caller passed valid UTF-8).

        Lazily: a corpus's table holds every distinct word (156,353 in the IMDb reviews) and a
        vocabulary keeps a share of them (57,224 at min_count 5); decoding all at once left ~6 MB of
        freed ``str`` memory the process kept for the whole run.
        """
        return _Words(self.arena, self.word_start[: self.n_words], self.word_len[: self.n_words])

    def _reserve(self, words: int, nbytes: int) -> None:
        need = self.n_words + words
        self.word_start = _grown(self.word_start, need)
        self.word_len = _grown(self.word_len, need)
        self.word_hash = _grown(self.word_hash, need)
        self.arena = _grown(self.arena, self.arena_used + nbytes + words)
        if 2 * need > len(self.table):  # keep the table at most half full: short probe runs
            size = len(self.table)
            while 2 * need > size:
                size *= 2
            self.table = _rehash(self.word_hash, self.n_words, size)


class _Words(Sequence[str]):
    """A read-only sequence over a :class:`WordTable`'s arena: item i is word i, decoded on access."""

    def __init__(self, arena: np.ndarray, start: np.ndarray, length: np.ndarray) -> None:
        self.arena, self.start, self.length = arena, start, length

    def __len__(self) -> int:
        return len(self.start)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        s = int(self.start[i])
        return self.arena[s : s + int(self.length[i])].tobytes().decode("utf-8")
