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
from numba.cpython.unsafe.numbers import trailing_zeros

_EMPTY = -1
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_LOW = np.uint64(0x2121212121212121)  # per byte: below this is whitespace or a control character
_HIGH = np.uint64(0x8080808080808080)


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


def _byte_classes() -> np.ndarray:
    """(256,) uint8: 1 for an ASCII whitespace byte, 2 for a lead byte of a possible multi-byte space
    (see :func:`_space_len`), 0 for any other byte (part of a token)."""
    cls = np.zeros(256, np.uint8)
    cls[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32]] = 1
    cls[[0xC2, 0xE1, 0xE2, 0xE3]] = 2
    return cls


_CLASSES = _byte_classes()


@njit(cache=True, inline="always")
def _word_at(words, i):
    """The 8 bytes from byte ``i`` on as one little-endian word (two aligned loads)."""
    q, r = i >> 3, np.uint64(8 * (i & 7))
    return words[q] if r == 0 else (words[q] >> r) | (words[q + 1] << (np.uint64(64) - r))


@njit(cache=True, inline="always")
def _low_bytes(k):
    """A mask of the low ``k`` (0..8) bytes of a word."""
    return np.uint64(0xFFFFFFFFFFFFFFFF) if k >= 8 else (np.uint64(1) << np.uint64(8 * k)) - np.uint64(1)


@njit(cache=True, inline="always")
def _space_at(data, i, n, cls):
    """Whether a whitespace character starts at byte ``i`` (< n)."""
    k = cls[data[i]]
    if k == 2:
        return _space_len(data[i], data[i + 1] if i + 1 < n else 0, data[i + 2] if i + 2 < n else 0) > 0
    return k == 1


@njit(cache=True, nogil=True)
def _tokenise(data, words, i, cls, ids, n_ids, ends, n_ends, slots, word_start, word_len, arena, n_words, arena_used):
    """Look up (adding if new) every token of ``data[i:]``: (L,) uint8, valid UTF-8.

    Writes the tokens' ids to ``ids[n_ids:]`` and, for each newline, the number of tokens before
    it to ``ends[n_ends:]``. words: the same bytes as (W,) uint64, zero-padded by at least one whole
    word past ``L``. cls: :func:`_byte_classes`. slots: the hash table, (S, 3): rows of [hash,
    id | length << 32, the word's first 8 bytes] (-1: empty), so that a probe reads one row and a
    word of up to 8 bytes is found without reading the arena -- per token one cache miss, not one
    per word array. Returns early, before the new word that would make the table more than half
    full (the caller grows it and calls again from there). The caller guarantees room:
    ``len(ids) > L // 2``, ``len(ends) >=`` newlines, the word arrays and ``arena`` can take
    ``L // 2 + 1`` more words and ``L + L // 2 + 1`` more bytes (each word is stored followed by a
    newline).
    Returns (where it stopped: L when done, n_ids, n_ends, n_words, arena_used).
    """
    mask = np.uint64(len(slots) - 1)
    n = len(data)
    while i < n:
        c = data[i]
        k = cls[c]
        if k == 1:  # ASCII whitespace: the common case, one table read per byte
            if c == 10:
                ends[n_ends] = n_ids
                n_ends += 1
            i += 1
            continue
        if k == 2:
            k = _space_len(c, data[i + 1] if i + 1 < n else 0, data[i + 2] if i + 2 < n else 0)
            if k:
                i += k
                continue
        # A token: its bytes up to the next whitespace or the end, hashed 8 at a time (little-endian
        # words from the token's start, the last one zero-padded), so that a short ASCII token costs
        # one load: the first byte below 0x21 or above 0x7f in the word is found with a borrow trick
        # (the lowest flagged byte is always a true one) and, when it is an ASCII space or the end,
        # ends the token there. Any other such byte (a control character, non-ASCII, a multi-byte
        # space) sends the rest of the token to the byte-by-byte loop, which makes the same words.
        start = i
        h = _FNV_OFFSET
        while True:
            x = _word_at(words, i)
            flags = ((x - _LOW) | x) & _HIGH
            if flags == 0:  # eight token bytes
                h = (h ^ x) * _FNV_PRIME
                i += 8
                continue
            k = np.int64(trailing_zeros(flags)) >> 3  # the first flagged byte
            if i + k >= n or cls[data[i + k]] == 1:  # the token ends after k more bytes
                if k:
                    h = (h ^ (x & _low_bytes(k))) * _FNV_PRIME
                i = min(i + k, n)
                break
            x, got = np.uint64(0), 0
            while i < n and not _space_at(data, i, n, cls):
                x |= np.uint64(data[i]) << np.uint64(8 * got)
                got += 1
                i += 1
                if got == 8:
                    h = (h ^ x) * _FNV_PRIME
                    x, got = np.uint64(0), 0
            if got:
                h = (h ^ x) * _FNV_PRIME
            break
        length = i - start
        h = (h ^ np.uint64(length)) * _FNV_PRIME  # the length, then high bits down into the slot bits
        h ^= h >> np.uint64(32)
        head = np.int64(_word_at(words, start) & _low_bytes(min(length, 8)))  # the first 8 bytes
        # find data[start:i] in the table or add it (inline: a called helper taking the arrays would
        # pay reference counting per token; the small helpers above are inlined by Numba)
        key = np.int64(h)
        slot = h & mask
        while True:
            info = slots[slot, 1]
            if info < 0:
                if 2 * (n_words + 1) > len(slots):
                    return start, n_ids, n_ends, n_words, arena_used
                w = n_words
                slots[slot, 0] = key
                slots[slot, 1] = np.int64(w) | (np.int64(length) << 32)
                slots[slot, 2] = head
                word_start[w] = arena_used
                word_len[w] = length
                arena[arena_used : arena_used + length] = data[start:i]
                arena[arena_used + length] = 10  # words() splits the arena at these
                arena_used += length + 1
                n_words += 1
                break
            if slots[slot, 0] == key and (info >> 32) == length and slots[slot, 2] == head:
                w = np.int64(info & 0xFFFFFFFF)
                same = True
                if length > 8:  # the first 8 bytes matched; compare the rest with the stored word
                    s = word_start[w]
                    for j in range(8, length):
                        if arena[s + j] != data[start + j]:
                            same = False
                            break
                if same:
                    break
            slot = (slot + np.uint64(1)) & mask
        ids[n_ids] = w
        n_ids += 1
    return n, n_ids, n_ends, n_words, arena_used


@njit(cache=True)
def _rehash(slots, size):
    """The table's rows re-inserted into a table of ``size`` (a power of two) rows."""
    out = np.full((size, slots.shape[1]), _EMPTY, np.int64)
    mask = np.uint64(size - 1)
    for r in range(len(slots)):
        if slots[r, 1] < 0:
            continue
        slot = np.uint64(slots[r, 0]) & mask
        while out[slot, 1] >= 0:
            slot = (slot + np.uint64(1)) & mask
        out[slot] = slots[r]
    return out


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
        self.slots = np.full((1 << 10, 3), _EMPTY, np.int64)
        self.word_start = np.zeros(256, np.int64)
        self.word_len = np.zeros(256, np.int32)
        self.arena = np.zeros(4096, np.uint8)

    def __len__(self) -> int:
        return self.n_words

    def encode(self, data: bytes) -> tuple[np.ndarray, np.ndarray]:
        """Ids of the tokens of ``data`` (valid UTF-8), adding new words.

        -> ids: (n,) int32; ends: (lines,) int64, the number of tokens before each newline.
        """
        # the kernel reads 8-byte words: a copy padded with zeros to whole words and one word more
        padded = np.zeros((len(data) + 15) // 8, np.uint64)
        buf = padded.view(np.uint8)[: len(data)]
        buf[:] = np.frombuffer(data, np.uint8)
        most = len(buf) // 2 + 1  # tokens need a separator each, so at most this many
        self._reserve(most, len(buf))
        ids = np.empty(most, np.int32)
        ends = np.empty(data.count(b"\n"), np.int64)
        pos = n_ids = n_ends = 0
        while True:
            pos, n_ids, n_ends, self.n_words, self.arena_used = _tokenise(
                buf, padded, pos, _CLASSES, ids, n_ids, ends, n_ends, self.slots, self.word_start, self.word_len,
                self.arena, self.n_words, self.arena_used,
            )  # fmt: skip
            if pos == len(buf):
                break
            self.slots = _rehash(self.slots, 2 * len(self.slots))  # it stopped at half full
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
        self.arena = _grown(self.arena, self.arena_used + nbytes + words)


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

    def take(self, positions: list[int]) -> list[str]:
        """Words ``positions``, decoded in one go: a vocabulary's 15-60k words at ~0.3 µs each instead
        of ~2.5 µs one at a time. Tokens hold no whitespace, so a newline can join and split them."""
        if not positions:
            return []
        arena = memoryview(self.arena)
        starts, lengths = self.start[positions].tolist(), self.length[positions].tolist()
        joined = b"\n".join([arena[s : s + n] for s, n in zip(starts, lengths)])
        return joined.decode("utf-8").split("\n")
