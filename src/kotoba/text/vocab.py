"""The vocabulary of both engines: words with their corpus counts, most frequent first.

One type (:class:`Vocab`), one file format (``word count`` lines, :meth:`Vocab.save` /
:meth:`Vocab.load`; :meth:`Vocab.to_dict` where a checkpoint keeps it inside its JSON), one
builder (:func:`build_vocab`) with ``min_count``, ``max_vocab_size`` and ``specials``: tokens
such as the language model's :data:`UNK` and :data:`EOS` that are always in the vocabulary.

:func:`build_vocab` counts words in one streaming pass. To keep memory bounded on corpora with
millions of distinct tokens it prunes the count table the way word2vec.c's ``ReduceVocab``
does; see its docstring for what that approximation costs.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError, EmptyCorpusError, FormatError, UnknownWordError
from ..io import atomic_write

#: distinct words the counting table may hold before it is pruned (about 120 bytes each in
#: CPython, so roughly 0.6 GB at the limit)
DEFAULT_MAX_TABLE_SIZE = 5_000_000

#: The special tokens of the language models (the book's PTB spelling): the word that stands for
#: every word outside the vocabulary, and the token that ends each sentence (line).
UNK = "<unk>"
EOS = "<eos>"


class Vocab:
    """Words and their counts; word id = position in ``words``.

    ``words``: list of str, ``counts``: (V,) int64 in the same order (``build_vocab`` gives
    them by descending count, ties in order of first appearance). ``index`` maps word -> id.
    ``total_words`` is the sum of the kept counts (the in-vocabulary tokens of the corpus);
    ``raw_total_words`` is every token read, including the words that were dropped.
    """

    def __init__(self, words: Sequence[str], counts: Sequence[int] | np.ndarray, raw_total_words: int | None = None):
        self.words = list(words)
        self.counts = np.asarray(counts, dtype=np.int64).reshape(-1)
        if len(self.words) != len(self.counts):
            raise DataError(f"vocabulary has {len(self.words)} words but {len(self.counts)} counts")
        if len(self.counts) and self.counts.min() < 0:
            raise DataError("vocabulary counts must be >= 0")
        self.index = {w: i for i, w in enumerate(self.words)}
        if len(self.index) != len(self.words):
            dup = next(w for i, w in enumerate(self.words) if self.index[w] != i)  # index keeps the last
            raise DataError(f"word {dup!r} occurs twice in the vocabulary")
        self.total_words = int(self.counts.sum())
        self.raw_total_words = self.total_words if raw_total_words is None else int(raw_total_words)

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self.index

    def __iter__(self) -> Iterator[str]:
        return iter(self.words)

    def __eq__(self, other: object) -> bool:
        """Same words in the same order with the same counts."""
        if not isinstance(other, Vocab):
            return NotImplemented
        return self.words == other.words and np.array_equal(self.counts, other.counts)

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __getitem__(self, i: int) -> str:
        """The word of id ``i``."""
        return self.words[i]

    def __repr__(self) -> str:
        return f"Vocab({len(self)} words, {self.total_words} tokens)"

    def to_dict(self) -> dict:
        """``{"words": [...], "counts": [...]}``: the vocabulary inside a checkpoint's JSON."""
        return {"words": list(self.words), "counts": self.counts.tolist()}

    @classmethod
    def from_dict(cls, d: object) -> Vocab:
        """The inverse of :meth:`to_dict`; :class:`DataError` saying what is wrong otherwise."""
        if not isinstance(d, dict) or not isinstance(d.get("words"), list) or not isinstance(d.get("counts"), list):
            raise DataError("a vocabulary must be a dict with the lists 'words' and 'counts'")
        if not all(isinstance(w, str) for w in d["words"]) or not all(isinstance(c, int) for c in d["counts"]):
            raise DataError("vocabulary words must be strings and counts integers")
        return cls(d["words"], d["counts"])

    def id(self, word: str) -> int:
        """The id of ``word``; :class:`UnknownWordError` if it is not in the vocabulary."""
        try:
            return self.index[word]
        except KeyError:
            raise UnknownWordError(word) from None

    def fingerprint(self) -> str:
        """SHA-256 hex digest of the words and counts in order (to tell if a cache is stale)."""
        h = hashlib.sha256()
        if self.words:  # each word followed by a newline, hashed as one string
            h.update(("\n".join(self.words) + "\n").encode("utf-8", "surrogatepass"))
        h.update(self.counts.astype("<i8").tobytes())
        return h.hexdigest()

    def save(self, path: str | os.PathLike) -> None:
        """Write ``word count`` lines (UTF-8), the format of word2vec.c's ``-save-vocab``, atomically."""
        for w in self.words:
            if not w or w.split() != [w]:
                raise DataError(f"cannot save word {w!r}: empty or contains whitespace")
        with atomic_write(path, "w", encoding="utf-8") as f:
            for w, c in zip(self.words, self.counts.tolist()):
                f.write(f"{w} {c}\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> Vocab:
        """Read a file of ``word count`` lines, keeping its order.

        The file does not record how many tokens were dropped, so ``raw_total_words`` is set
        to ``total_words``. Raises :class:`FormatError` naming the file and line on a bad line.
        """
        path = Path(path)
        if not path.is_file():
            raise DataError(f"{path}: no such vocabulary file")
        words: list[str] = []
        counts: list[int] = []
        with open(path, encoding="utf-8-sig", errors="strict", newline="\n") as f:
            try:
                for lineno, line in enumerate(f, 1):
                    fields = line.split()
                    if not fields:
                        continue
                    if len(fields) != 2 or not fields[1].isdigit() or not fields[1].isascii():
                        raise FormatError(
                            f"{path}:{lineno}: expected 'word count' (count a non-negative integer), "
                            f"got {line.rstrip(chr(10))!r}"
                        )
                    words.append(fields[0])
                    counts.append(int(fields[1]))
            except UnicodeDecodeError as e:
                raise FormatError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from e
        if not words:
            raise FormatError(f"{path}: vocabulary file has no words")
        try:
            return cls(words, counts)
        except DataError as e:
            raise FormatError(f"{path}: {e}") from e


def build_vocab(
    sentences: Iterable[Sequence[str]],
    min_count: int = 5,
    max_vocab_size: int | None = None,
    max_table_size: int = DEFAULT_MAX_TABLE_SIZE,
    *,
    corpus_name: str = "the corpus",
    specials: Sequence[str] = (),
) -> Vocab:
    """Count words in one pass; keep those seen ``min_count`` times, most frequent first.

    ``sentences``: an iterable of token lists (e.g. :func:`kotoba.text.iter_sentences`).
    ``max_vocab_size`` keeps only the that many most frequent words (ties: first appearance).
    ``specials`` (e.g. ``(UNK, EOS)``) are always kept, within ``max_vocab_size``: see
    :func:`vocab_from_counts`. ``corpus_name`` is used in error messages.

    Bounded memory, approximately: whenever the table of counts holds more than
    ``max_table_size`` distinct words, every word counted ``<= t`` times so far is dropped
    from it and ``t`` (starting at 1) goes up by one for the next pruning, as in word2vec.c's
    ``ReduceVocab``. A pruned word starts again from 0 if it comes back, so after pruning the
    counts of rare words are undercounts, a word near ``min_count`` can be lost, and tie order
    for a re-added word is its first appearance after it was last pruned. A word that was never
    pruned (its count was above ``t`` at every pruning) keeps its exact count. Without pruning
    (fewer distinct words than ``max_table_size``) the result is exact.
    ``raw_total_words`` always counts every token read.
    """
    check_vocab_options(min_count, max_vocab_size, max_table_size, specials)
    counts: Counter[str] = Counter()  # insertion-ordered: select_words keeps first appearance for ties
    raw = 0
    threshold = 1
    for sentence in sentences:
        counts.update(sentence)
        raw += len(sentence)
        while len(counts) > max_table_size:
            for w in [w for w, c in counts.items() if c <= threshold]:
                del counts[w]
            threshold += 1
    return vocab_from_counts(
        list(counts),
        np.fromiter(counts.values(), np.int64, len(counts)),
        raw,
        min_count,
        max_vocab_size,
        corpus_name=corpus_name,
        specials=specials,
    )


def check_vocab_options(
    min_count: int, max_vocab_size: int | None, max_table_size: int, specials: Sequence[str] = ()
) -> None:
    """Raise :class:`ConfigError` for an option :func:`build_vocab` cannot use."""
    if min_count < 1:
        raise ConfigError(f"min_count must be >= 1, got {min_count}")
    if len(set(specials)) != len(specials):
        raise ConfigError(f"special tokens must be distinct, got {list(specials)}")
    least = max(1, len(specials))
    if max_vocab_size is not None and max_vocab_size < least:
        room = f" (room for {', '.join(specials)})" if specials else ""
        raise ConfigError(f"max_vocab_size must be >= {least} or None{room}, got {max_vocab_size}")
    if max_table_size < 1:
        raise ConfigError(f"max_table_size must be >= 1, got {max_table_size}")


def vocab_from_counts(
    words: Sequence[str],
    counts: np.ndarray,
    raw_total_words: int,
    min_count: int,
    max_vocab_size: int | None,
    *,
    corpus_name: str = "the corpus",
    specials: Sequence[str] = (),
) -> Vocab:
    """The vocabulary :func:`build_vocab` makes from its table of counts.

    ``words`` in order of first appearance with ``counts``: (len(words),) int64. Keeps the words
    counted at least ``min_count`` times, sorted by descending count with ties in the order
    given, then the first ``max_vocab_size`` of them. Raises :class:`EmptyCorpusError` if
    ``raw_total_words`` is 0 or no word is kept.

    ``specials`` are always kept: a special counted ``min_count`` times that ranks among the first
    ``max_vocab_size`` keeps its place; the others come last, in the order given (with their count,
    0 if never seen). The remaining ``max_vocab_size - len(specials)`` places go to the most
    frequent other words.
    """
    if raw_total_words == 0:
        raise EmptyCorpusError(f"{corpus_name} contains no tokens")
    if specials:
        return _vocab_with_specials(words, counts, raw_total_words, min_count, max_vocab_size, specials)
    order = select_words(counts, min_count, max_vocab_size)
    if not len(order):
        raise EmptyCorpusError(
            f"no word occurs at least min_count={min_count} times in {corpus_name} "
            f"({raw_total_words:,} tokens, {len(words):,} distinct words); lower min_count or use a larger corpus"
        )
    return Vocab(_take(words, order), counts[order], raw_total_words=raw_total_words)


def _take(words: Sequence[str], order: np.ndarray) -> list[str]:
    """``[words[i] for i in order]``; a word table's words (kotoba.text.wordtable) decoded in one go."""
    take = getattr(words, "take", None)
    return take(order.tolist()) if take is not None else [words[i] for i in order.tolist()]


def select_words(counts: np.ndarray, min_count: int, max_vocab_size: int | None) -> np.ndarray:
    """Positions of the kept words, in vocabulary order.

    counts: (W,) int in order of first appearance -> (V,) int64 positions of the words counted
    ``>= min_count`` times, by descending count (a stable sort, so ties stay in first-appearance
    order), at most ``max_vocab_size`` of them.
    """
    kept = np.flatnonzero(counts >= min_count)
    order = kept[np.argsort(-counts[kept], kind="stable")]
    return order if max_vocab_size is None else order[:max_vocab_size]


def _vocab_with_specials(
    words: Sequence[str],
    counts: np.ndarray,
    raw_total_words: int,
    min_count: int,
    max_vocab_size: int | None,
    specials: Sequence[str],
) -> Vocab:
    """:func:`vocab_from_counts` when some words must be kept (see there)."""
    ranked = select_words(counts, min_count, None)
    wanted = set(specials)
    position = {w: i for i, w in enumerate(words) if w in wanted}  # specials in the table
    is_special = np.zeros(len(words), dtype=bool)
    is_special[list(position.values())] = True
    top = ranked if max_vocab_size is None else ranked[:max_vocab_size]
    placed = top[is_special[top]]  # specials that keep their rank
    others = ranked[~is_special[ranked]]
    if max_vocab_size is not None:
        others = others[: max_vocab_size - len(specials)]
    keep = np.zeros(len(words), dtype=bool)
    keep[placed] = keep[others] = True
    order = ranked[keep[ranked]]
    last = [w for w in specials if w not in position or not keep[position[w]]]
    last_counts = [int(counts[position[w]]) if w in position else 0 for w in last]
    return Vocab(
        _take(words, order) + last,
        np.concatenate([counts[order], np.asarray(last_counts, dtype=np.int64)]),
        raw_total_words=raw_total_words,
    )
