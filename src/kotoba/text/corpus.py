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
"""

from __future__ import annotations

import os
import sys
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, EmptyCorpusError, FormatError
from ..io import atomic_write, load_json, save_json
from .readers import ReadStats, Source, corpus_files, iter_sentences
from .vocab import Vocab

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
        return self.ids[self.sent_offsets[i]:self.sent_offsets[i + 1]]

    @classmethod
    def open(cls, path: str | os.PathLike) -> "EncodedCorpus":
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
        if n_ids and (int(ids.min()) < 0 or int(ids.max()) >= vocab_size):
            raise FormatError(f"{path / IDS_FILE}: word ids outside [0, {vocab_size})")
        return cls(path, ids, offsets, raw_words, vocab_size, meta)


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


def encode_corpus(
    source: Source,
    vocab: Vocab,
    out_dir: str | os.PathLike,
    lowercase: bool = False,
    max_sentence_len: int = 10000,
    *,
    reuse: bool = True,
    stats: ReadStats | None = None,
) -> EncodedCorpus:
    """Encode the corpus text as ids of ``vocab`` into ``out_dir`` and open it.

    With ``reuse`` (default), an ``out_dir`` already holding an encoding of the same files
    (same paths, sizes and modification times), the same vocabulary (fingerprint) and the same
    options is opened as is, without reading the text. ``lowercase`` and ``max_sentence_len``
    are passed to :func:`iter_sentences` and must match those used to build ``vocab``.
    ``stats``, if given, is filled in only when the text is actually read (not on reuse).
    Raises :class:`EmptyCorpusError` if no token of the corpus is in the vocabulary.
    """
    out_dir = Path(out_dir)
    files = corpus_files(source)
    wanted = {
        "format": FORMAT_VERSION,
        "byteorder": sys.byteorder,
        "sources": _source_record(files),
        "vocab_sha256": vocab.fingerprint(),
        "vocab_size": len(vocab),
        "lowercase": bool(lowercase),
        "max_sentence_len": int(max_sentence_len),
    }
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
        for sentence in iter_sentences(files, lowercase, max_sentence_len, stats=st):
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
    meta = dict(wanted, n_ids=n_ids, n_sentences=n_sent, raw_words=st.tokens - raw_before,
                lines=st.lines, invalid_utf8=st.invalid_utf8)
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
