"""The corpus encoded once as word ids on disk, memory-mapped for every training epoch.

:func:`encode_corpus` reads the text once and writes, in a folder:

- ``ids.int32``: the in-vocabulary word ids of the whole corpus, one flat native-endian int32
  array (out-of-vocabulary tokens are dropped, as word2vec.c does);
- ``sent_offsets.int64``: sentence boundaries into ``ids``; sentence ``i`` is
  ``ids[sent_offsets[i]:sent_offsets[i + 1]]``, the first offset is 0 and the last is
  ``len(ids)``; sentences left with no in-vocabulary word are dropped;
- ``meta.json``: the source files (absolute path, size, mtime), options, vocabulary fingerprint
  and counts. It is written last, so its presence means the two arrays are complete, and
  :func:`encode_corpus` reuses the folder when nothing it records has changed.

Epochs 2..n (and epoch 1 after a restart) then read ids from the memory map instead of
re-tokenising text. Both arrays are written in blocks, so encoding needs bounded memory.

:func:`scan_corpus` gives the same vocabulary and folder as :func:`kotoba.text.build_vocab`
followed by :func:`encode_corpus`, reading the text once instead of twice.
"""

from __future__ import annotations

import os
import sys
from array import array
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
from numba import njit

from ..errors import ConfigError, EmptyCorpusError, FormatError
from ..io import atomic_write, load_json, save_json
from .readers import BLOCK_SIZE, ReadStats, Source, TextReader, corpus_files, empty_corpus_error, iter_sentences
from .vocab import DEFAULT_MAX_TABLE_SIZE, Vocab, build_vocab, check_vocab_options, select_words, vocab_from_counts
from .wordtable import WordTable

IDS_FILE = "ids.int32"
OFFSETS_FILE = "sent_offsets.int64"
META_FILE = "meta.json"
FORMAT_VERSION = 1
#: ids buffered before each write (4 MiB of int32)
_WRITE_BLOCK = 1 << 20


@dataclass
class EncodedCorpus:
    """A memory-mapped encoded corpus (see the module docstring for the files).

    ``ids``: (N,) int32, read-only memmap, every value in ``[0, vocab_size)``;
    ``sent_offsets``: (S + 1,) int64, ``sent_offsets[0] == 0``, ``sent_offsets[-1] == N``,
    strictly increasing; ``raw_words``: tokens in the text including out-of-vocabulary ones.
    """

    path: Path
    ids: np.ndarray
    sent_offsets: np.ndarray
    raw_words: int
    vocab_size: int
    meta: dict[str, Any] = field(repr=False)

    @property
    def n_sentences(self) -> int:
        return len(self.sent_offsets) - 1

    @property
    def n_words(self) -> int:
        """In-vocabulary tokens, ``len(ids)``."""
        return len(self.ids)

    def sentence(self, i: int) -> np.ndarray:
        """Word ids of sentence ``i``: (length,) int32 view."""
        return self.ids[self.sent_offsets[i] : self.sent_offsets[i + 1]]

    @classmethod
    def open(cls, path: str | os.PathLike) -> EncodedCorpus:
        """Memory-map an encoded corpus folder, checking that its files agree with its meta.

        The check reads ``ids`` once (min and max) because the training kernels index arrays
        with these ids without bounds checks. Raises :class:`FormatError` on any mismatch.
        """
        path = Path(path)
        meta = load_json(path / META_FILE)
        try:
            if meta.get("format") != FORMAT_VERSION:
                raise FormatError(f"{path}: encoded corpus format {meta.get('format')!r}, expected {FORMAT_VERSION}")
            if meta.get("byteorder") != sys.byteorder:
                raise FormatError(f"{path}: encoded on a {meta.get('byteorder')}-endian machine")
            n_ids, n_sent, vocab_size = int(meta["n_ids"]), int(meta["n_sentences"]), int(meta["vocab_size"])
            raw_words = int(meta["raw_words"])
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise FormatError(f"{path / META_FILE}: missing or bad field ({e})") from e
        ids = _map(path / IDS_FILE, np.int32, n_ids)
        offsets = _map(path / OFFSETS_FILE, np.int64, n_sent + 1)
        if offsets[0] != 0 or offsets[-1] != n_ids or (n_sent and not np.all(np.diff(offsets) > 0)):
            raise FormatError(f"{path / OFFSETS_FILE}: sentence offsets are not 0 < ... < {n_ids}")
        if n_ids and not _ids_within(path / IDS_FILE, vocab_size):
            raise FormatError(f"{path / IDS_FILE}: word ids outside [0, {vocab_size})")
        return cls(path, ids, offsets, raw_words, vocab_size, meta)


def _ids_within(file: Path, vocab_size: int, block: int = 1 << 18) -> bool:
    """All int32 ids in ``file`` lie in [0, vocab_size), read in blocks of ``block`` ids.

    Read through a buffer, not the memory map: every page of a mapping once read stays in the
    process's resident set until it is unmapped (93 MB for 23M tokens), while a buffer costs 1 MB.
    """
    with open(file, "rb") as f:
        while (part := np.fromfile(f, np.int32, count=block)).size:
            if int(part.min()) < 0 or int(part.max()) >= vocab_size:
                return False
    return True


def _map(file: Path, dtype: type, n: int) -> np.ndarray:
    if not file.is_file():
        raise FormatError(f"{file}: no such file")
    size = file.stat().st_size
    if size != n * np.dtype(dtype).itemsize:
        raise FormatError(f"{file}: {size} bytes, expected {n} values of {np.dtype(dtype).name}")
    if n == 0:
        return np.zeros(0, dtype)  # mmap cannot map an empty file
    return np.memmap(file, dtype=dtype, mode="r", shape=(n,))


def _source_record(files: list[Path]) -> list[dict[str, Any]]:
    out = []
    for p in files:
        st = p.stat()
        out.append({"path": str(p.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns})
    return out


def _meta(files: list[Path], vocab: Vocab, lowercase: bool, max_sentence_len: int, tokenizer: str) -> dict[str, Any]:
    """What an encoding depends on: reused only when all of it is unchanged."""
    return {
        "format": FORMAT_VERSION,
        "byteorder": sys.byteorder,
        "sources": _source_record(files),
        "vocab_sha256": vocab.fingerprint(),
        "vocab_size": len(vocab),
        "lowercase": bool(lowercase),
        "max_sentence_len": int(max_sentence_len),
        "tokenizer": tokenizer,
    }


def encode_corpus(
    source: Source,
    vocab: Vocab,
    out_dir: str | os.PathLike,
    lowercase: bool = False,
    max_sentence_len: int = 10000,
    *,
    reuse: bool = True,
    stats: ReadStats | None = None,
    tokenizer: str = "whitespace",
    workers: int | None = None,
) -> EncodedCorpus:
    """Encode the corpus text as ids of ``vocab`` into ``out_dir`` and open it.

    With ``reuse`` (default), an ``out_dir`` already holding an encoding of the same files
    (same paths, sizes and modification times), the same vocabulary (fingerprint) and the same
    options is opened as is, without reading the text (so a segmented Japanese corpus is not
    tokenised again). ``lowercase``, ``max_sentence_len``, ``tokenizer`` and ``workers`` are passed
    to :func:`iter_sentences` and must match those used to build ``vocab``.
    ``stats``, if given, is filled in only when the text is actually read (not on reuse).
    Raises :class:`EmptyCorpusError` if no token of the corpus is in the vocabulary.
    """
    out_dir = Path(out_dir)
    files = corpus_files(source)
    wanted = _meta(files, vocab, lowercase, max_sentence_len, tokenizer)
    meta_path = out_dir / META_FILE
    if reuse and meta_path.is_file():
        try:
            old = load_json(meta_path)
            if isinstance(old, dict) and all(old.get(k) == v for k, v in wanted.items()):
                return EncodedCorpus.open(out_dir)
        except FormatError:
            pass  # damaged cache: encode again
    out_dir.mkdir(parents=True, exist_ok=True)
    # The meta says "these arrays are complete"; remove it before touching them.
    meta_path.unlink(missing_ok=True)

    st = stats if stats is not None else ReadStats()
    raw_before = st.tokens
    lookup = vocab.index.get
    n_ids = 0
    n_sent = 0
    with atomic_write(out_dir / IDS_FILE, "wb") as f_ids, atomic_write(out_dir / OFFSETS_FILE, "wb") as f_off:
        ids_buf = array("i")
        off_buf = array("q", [0])
        if ids_buf.itemsize != 4 or off_buf.itemsize != 8:
            raise RuntimeError("unexpected C integer sizes")  # array('i') is int32 on every supported platform
        sentences = iter_sentences(files, lowercase, max_sentence_len, stats=st, tokenizer=tokenizer, workers=workers)
        for sentence in sentences:
            ids = [i for i in map(lookup, sentence) if i is not None]
            if not ids:
                continue
            ids_buf.extend(ids)
            n_ids += len(ids)
            n_sent += 1
            off_buf.append(n_ids)
            if len(ids_buf) >= _WRITE_BLOCK:
                f_ids.write(ids_buf.tobytes())
                del ids_buf[:]
            if len(off_buf) >= _WRITE_BLOCK:
                f_off.write(off_buf.tobytes())
                del off_buf[:]
        if n_ids == 0:
            raise EmptyCorpusError(
                f"none of the {st.tokens - raw_before:,} tokens of {files[0]}"
                f"{' and other files' if len(files) > 1 else ''} is in the vocabulary ({len(vocab)} words)"
            )
        f_ids.write(ids_buf.tobytes())
        f_off.write(off_buf.tobytes())
    meta = dict(
        wanted,
        n_ids=n_ids,
        n_sentences=n_sent,
        raw_words=st.tokens - raw_before,
        lines=st.lines,
        invalid_utf8=st.invalid_utf8,
    )
    save_json(meta_path, meta)
    return EncodedCorpus.open(out_dir)


def subsample_keep_probs(counts: np.ndarray, sample: float, total: int) -> np.ndarray:
    """Probability of keeping each word under word2vec.c's frequent-word subsampling.

    counts: (V,) int -> (V,) float64. With ``t = sample * total`` and ``f`` a word's count,
    keep = (sqrt(f / t) + 1) * t / f, clipped to at most 1 (rare words are always kept).
    ``total`` is the number of in-vocabulary tokens (``Vocab.total_words``, word2vec.c's
    ``train_words``). ``sample <= 0`` turns subsampling off: all ones. A count of 0 gives 1.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if sample <= 0:
        return np.ones(counts.shape, dtype=np.float64)
    if total <= 0:
        raise ConfigError(f"total must be > 0 for subsampling, got {total}")
    t = float(sample) * float(total)
    with np.errstate(divide="ignore", invalid="ignore"):
        keep = (np.sqrt(counts / t) + 1.0) * t / counts
    keep[counts <= 0] = 1.0
    return np.minimum(keep, 1.0)


# --- one-pass vocabulary + encoding -------------------------------------------------------------

#: ids held before a write while scanning, and ids remapped at a time: the NumPy temporaries of
#: one block (about 20 bytes an id) bound the scan's memory next to the count table
_SCAN_IDS_BLOCK = 1 << 16
_PROV_IDS = ".scan-ids.tmp"
_PROV_CUTS = ".scan-cuts.tmp"


class _TablePruned(Exception):
    """More distinct words than the counting table holds: build_vocab would have pruned."""


def scan_corpus(
    source: Source,
    out_dir: str | os.PathLike,
    min_count: int = 5,
    max_vocab_size: int | None = None,
    lowercase: bool = False,
    max_sentence_len: int = 10000,
    *,
    max_table_size: int = DEFAULT_MAX_TABLE_SIZE,
    corpus_name: str = "the corpus",
    stats: ReadStats | None = None,
    block_size: int = BLOCK_SIZE,
    tokenizer: str = "whitespace",
    workers: int | None = None,
) -> tuple[Vocab, EncodedCorpus]:
    """Count the vocabulary and encode the corpus into ``out_dir`` reading the text once.

    The result is exactly ``build_vocab(iter_sentences(...), min_count, max_vocab_size,
    max_table_size)`` followed by ``encode_corpus(source, vocab, out_dir, ...)``: the same
    words, counts, ids, sentence offsets and meta (so a later :func:`encode_corpus` with this
    vocabulary reuses the folder). How: every token gets a provisional id (order of first
    appearance) written to a temporary file while the words are counted; once the vocabulary
    is known, one permutation array maps provisional ids to final ones, dropping the removed
    words and the sentences left empty, streamed in blocks. Memory is bounded by the count
    table and one block, as for the two-pass route.

    If the corpus has more than ``max_table_size`` distinct words, :func:`build_vocab` prunes
    its table (see there) and the provisional ids no longer match its counts; then this falls
    back to the two passes of :func:`build_vocab` and :func:`encode_corpus`. ``tokenizer`` and
    ``workers`` choose how lines become tokens (:class:`~kotoba.text.readers.TextReader`).
    Raises :class:`EmptyCorpusError` for a corpus with no token, or none kept by ``min_count``.
    """
    check_vocab_options(min_count, max_vocab_size, max_table_size)
    if max_sentence_len < 1:
        raise ConfigError(f"max_sentence_len must be >= 1, got {max_sentence_len}")
    if block_size < 1:
        raise ConfigError(f"block_size must be >= 1, got {block_size}")
    out_dir = Path(out_dir)
    files = corpus_files(source)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / META_FILE).unlink(missing_ok=True)  # the arrays are about to change
    st = stats if stats is not None else ReadStats()
    prov_ids, prov_cuts = out_dir / _PROV_IDS, out_dir / _PROV_CUTS
    try:
        try:
            reader = TextReader(lowercase, tokenizer, workers, block_size)
            scan = _Scan(files, reader, max_sentence_len, max_table_size, ReadStats())
            scan.run(prov_ids, prov_cuts)
        except _TablePruned:
            prov_ids.unlink(missing_ok=True)
            prov_cuts.unlink(missing_ok=True)
            vocab = build_vocab(
                iter_sentences(files, lowercase, max_sentence_len, tokenizer=tokenizer, workers=workers),
                min_count,
                max_vocab_size,
                max_table_size,
                corpus_name=corpus_name,
            )
            encoded = encode_corpus(
                files,
                vocab,
                out_dir,
                lowercase,
                max_sentence_len,
                reuse=False,
                stats=st,
                tokenizer=tokenizer,
                workers=workers,
            )
            return vocab, encoded
        for name in ("files", "lines", "tokens", "bytes", "invalid_utf8"):
            setattr(st, name, getattr(st, name) + getattr(scan.stats, name))
        if scan.n_tokens == 0:
            raise empty_corpus_error(files)
        counts = scan.counts
        vocab = vocab_from_counts(
            scan.words.words(), counts, scan.n_tokens, min_count, max_vocab_size, corpus_name=corpus_name
        )
        perm = np.full(len(counts), -1, np.int32)
        perm[select_words(counts, min_count, max_vocab_size)] = np.arange(len(vocab), dtype=np.int32)
        n_ids, n_sent = _remap(prov_ids, prov_cuts, scan.n_tokens, scan.n_cuts, perm, out_dir)
    finally:
        prov_ids.unlink(missing_ok=True)
        prov_cuts.unlink(missing_ok=True)
    meta = dict(
        _meta(files, vocab, lowercase, max_sentence_len, tokenizer),
        n_ids=n_ids,
        n_sentences=n_sent,
        raw_words=scan.n_tokens,
        lines=scan.stats.lines,
        invalid_utf8=scan.stats.invalid_utf8,
    )
    save_json(out_dir / META_FILE, meta)
    return vocab, EncodedCorpus.open(out_dir)


class _Scan:
    """The reading pass of :func:`scan_corpus`: provisional ids, sentence ends and counts.

    After :meth:`run`: ``words`` (the distinct words; provisional id = order of first
    appearance), ``counts`` ((len(words),) int64 per provisional id), ``n_tokens`` and
    ``n_cuts`` (sentences, each written as its end position in the token stream).
    """

    def __init__(self, files: list[Path], reader: TextReader, max_len: int, max_table_size: int, stats: ReadStats):
        self.files, self.reader, self.max_len = files, reader, max_len
        self.max_table_size, self.stats = max_table_size, stats
        self.words = WordTable()
        self.counts = np.zeros(0, np.int64)
        self.n_tokens = 0
        self.n_cuts = 0

    def run(self, ids_path: Path, cuts_path: Path) -> None:
        ids_buf: list[np.ndarray] = []
        cuts_buf: list[np.ndarray] = []
        buffered = 0
        # The tokeniser runs without the GIL on a thread of its own, one piece behind the reading
        # and decoding here: on 23M tokens of IMDb the two took about equally long one after the other.
        with (
            open(ids_path, "wb") as f_ids,
            open(cuts_path, "wb") as f_cuts,
            ThreadPoolExecutor(1, thread_name_prefix="kotoba-scan") as pool,
        ):
            for path in self.files:
                line_start = last_cut = self.n_tokens
                for ids, ends in self._tokenised(self.reader.pieces(path, self.stats), pool):
                    total = self.n_tokens + len(ids)
                    cuts = _sentence_ends(ends + self.n_tokens, line_start, last_cut, total, self.max_len)
                    if len(ends):
                        line_start = self.n_tokens + int(ends[-1])
                    if len(cuts):
                        last_cut = int(cuts[-1])
                    self.n_tokens = total
                    ids_buf.append(ids)
                    cuts_buf.append(cuts)
                    buffered += len(ids)
                    if len(self.words) > self.max_table_size:
                        raise _TablePruned
                    if buffered >= _SCAN_IDS_BLOCK:
                        self._flush(ids_buf, cuts_buf, f_ids, f_cuts)
                        buffered = 0
                if self.n_tokens > last_cut:  # the file's last line, if it has no newline
                    cuts_buf.append(np.array([self.n_tokens], np.int64))
            self._flush(ids_buf, cuts_buf, f_ids, f_cuts)
        self.stats.tokens += self.n_tokens

    def _tokenised(self, pieces: Iterator[str], pool: ThreadPoolExecutor) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """(provisional ids, line ends) of each piece, in order: piece k is tokenised on ``pool``'s
        thread while piece k + 1 is read. One thread: the pieces enter the table in order."""
        pending: Future | None = None
        for piece in pieces:
            # The decoder replaced invalid bytes, so this is valid UTF-8 (ASCII text: a plain copy).
            job = pool.submit(self.words.encode, piece.encode("utf-8"))
            if pending is not None:
                yield pending.result()
            pending = job
        if pending is not None:
            yield pending.result()

    def _flush(
        self, ids_buf: list[np.ndarray], cuts_buf: list[np.ndarray], f_ids: IO[bytes], f_cuts: IO[bytes]
    ) -> None:
        ids = np.concatenate(ids_buf) if ids_buf else np.zeros(0, np.int32)
        f_ids.write(ids)
        if cuts_buf:
            cuts = np.concatenate(cuts_buf)
            f_cuts.write(cuts)
            self.n_cuts += len(cuts)
        counts = np.bincount(ids, minlength=len(self.words))
        counts[: len(self.counts)] += self.counts
        self.counts = counts
        ids_buf.clear()
        cuts_buf.clear()


def _sentence_ends(ends: np.ndarray, line_start: int, last_cut: int, total: int, max_len: int) -> np.ndarray:
    """Where sentences end in the token stream, as :func:`iter_sentences` cuts them.

    ``ends``: (L,) int64 positions of the line ends in this piece; the first line began at
    ``line_start``, the last cut so far is ``last_cut``, the piece's tokens end at ``total``
    (the line open there is cut only at multiples of ``max_len``). A line is cut after every
    ``max_len`` tokens and at its end unless that leaves an empty sentence.
    -> (C,) int64 increasing positions ``> last_cut``.
    """
    starts = np.concatenate(([line_start], ends[:-1]))[: len(ends)]
    lengths = ends - starts
    parts = [np.arange(starts[i] + max_len, ends[i] + 1, max_len) for i in np.flatnonzero(lengths >= max_len)]
    parts.append(ends[lengths % max_len != 0])
    open_start = int(ends[-1]) if len(ends) else line_start
    first = open_start + max(1, (last_cut - open_start) // max_len + 1) * max_len
    parts.append(np.arange(first, total + 1, max_len))
    cuts = np.sort(np.concatenate(parts).astype(np.int64, copy=False))
    return cuts[cuts > last_cut]


@njit(cache=True, nogil=True)
def _remap_block(prov, perm, cuts, start, n_ids, prev, out_ids, out_offsets):
    """One block of :func:`_remap`: ``prov`` (n,) int32 provisional ids from position ``start`` on.

    Writes the kept final ids to ``out_ids`` and, for each cut in ``cuts`` (the block's sentence
    ends, increasing, in ``(start, start + n]``), the final offset it becomes to ``out_offsets``
    unless that sentence is empty (offset not above ``prev``, the last one written); ``n_ids``:
    final ids written before the block. -> (ids written, offsets written, last offset).
    """
    kept = 0
    n_off = 0
    c = 0
    for j in range(len(prov)):
        new = perm[prov[j]]
        if new >= 0:
            out_ids[kept] = new
            kept += 1
        while c < len(cuts) and cuts[c] - start == j + 1:
            off = n_ids + kept
            if off > prev:
                out_offsets[n_off] = off
                n_off += 1
                prev = off
            c += 1
    return kept, n_off, prev


def _remap(
    ids_path: Path, cuts_path: Path, n_tokens: int, n_cuts: int, perm: np.ndarray, out_dir: Path
) -> tuple[int, int]:
    """Write the final ids and sentence offsets from the provisional ones, block by block.

    perm: (W,) int32 provisional id -> final id, -1 for a dropped word. Sentences whose every
    word was dropped disappear. Returns (ids written, sentences written).
    """
    cuts = np.memmap(cuts_path, np.int64, mode="r", shape=(n_cuts,)) if n_cuts else np.zeros(0, np.int64)
    out_ids = np.empty(_SCAN_IDS_BLOCK, np.int32)
    n_ids = 0  # final ids written so far
    n_sent = 0
    prev = 0  # the last offset written
    start = 0  # provisional position of the block
    c = 0  # the first cut not yet mapped
    with (
        open(ids_path, "rb") as f_in,
        atomic_write(out_dir / IDS_FILE, "wb") as f_ids,
        atomic_write(out_dir / OFFSETS_FILE, "wb") as f_off,
    ):
        f_off.write(np.zeros(1, np.int64))
        while start < n_tokens:
            prov = np.fromfile(f_in, np.int32, _SCAN_IDS_BLOCK)
            stop = start + len(prov)
            c_stop = int(np.searchsorted(cuts, stop, side="right"))
            block_cuts = np.asarray(cuts[c:c_stop])
            offsets = np.empty(len(block_cuts), np.int64)
            kept, n_off, prev = _remap_block(prov, perm, block_cuts, start, n_ids, prev, out_ids, offsets)
            f_ids.write(out_ids[:kept])
            f_off.write(offsets[:n_off])
            n_sent += n_off
            n_ids += kept
            start, c = stop, c_stop
    del cuts
    return n_ids, n_sent
