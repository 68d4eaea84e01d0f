"""The word2vec.c file formats, text and binary, as gensim and fastText (``.vec``) read and write them.

* header ``"V D\\n"`` in both;
* text: ``word v1 v2 ... vD\\n`` with each value the shortest decimal that reads back to the same
  float32 (what gensim writes, so our text files are byte-identical to gensim's and load exactly);
* binary: ``word`` + ``b" "`` + D little-endian float32 + ``b"\\n"`` (word2vec.c's layout).

A ``.gz`` file (by its magic bytes) is read transparently; a path ending in ``.gz`` is written
gzipped. Readers report the file and line (text) or entry (binary) of every problem.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import re
import zlib
from collections.abc import Iterator, Sequence
from numbers import Integral
from pathlib import Path
from typing import IO

import numpy as np

from ..errors import ConfigError, DataError, FormatError
from ..io import atomic_write

# ASCII whitespace as ``bytes.split()`` sees it: the word2vec formats separate fields with it, so
# a word containing one cannot be written (and since we split on bytes, multi-byte UTF-8 characters
# such as U+3000 IDEOGRAPHIC SPACE stay inside words, exactly as gensim's ``split(" ")`` keeps them).
_ASCII_WS = b" \t\n\r\x0b\x0c"
_WHITESPACE = re.compile(b"[" + re.escape(_ASCII_WS) + b"]")
_CHUNK = 1 << 20
#: first allocation for the vectors of a compressed file, whose size on disk bounds nothing
_FIRST_BYTES = 1 << 26
#: longest header line accepted ("V D\\n" is a few bytes; garbage without a newline stops here)
_MAX_HEADER = 1024


def write_word2vec_format(
    path: str | os.PathLike,
    words: Sequence[str],
    vectors: np.ndarray,
    counts: np.ndarray | None,
    binary: bool = True,
    vocab_path: str | os.PathLike | None = None,
    encoding: str = "utf-8",
) -> None:
    """Write ``words`` and their ``vectors`` (V, D) float32 in the word2vec.c format, atomically."""
    encoded = [w.encode(encoding) for w in words]
    if _WHITESPACE.search(b"/".join(encoded)):  # one search over all words; then find the culprit
        w = next(w for w, e in zip(words, encoded) if _WHITESPACE.search(e))
        raise FormatError(f"word {w!r} contains whitespace; the word2vec format cannot store it")
    if vocab_path is not None and counts is None:
        raise DataError(f"cannot write {vocab_path}: these vectors have no counts")
    V, D = vectors.shape
    step = max(1, _CHUNK // (4 * D + 16))  # rows per write: about _CHUNK bytes
    with _open_write(path) as f:
        f.write(f"{V} {D}\n".encode("ascii"))
        for i0 in range(0, V, step):
            f.write(_records(encoded[i0 : i0 + step], vectors[i0 : i0 + step], binary))
    if vocab_path is not None:
        with _open_write(vocab_path) as f:
            f.write(b"".join(e + b" " + str(int(c)).encode() + b"\n" for e, c in zip(encoded, counts)))


def _records(encoded: list[bytes], vectors: np.ndarray, binary: bool) -> bytes:
    """The word2vec records of ``encoded`` words and their ``vectors`` (n, D), joined."""
    if not binary:
        # str() of a float32 scalar is its shortest round-trip decimal, as gensim writes.
        return b"".join(e + b" " + " ".join(map(str, row)).encode("ascii") + b"\n" for e, row in zip(encoded, vectors))
    # the rows as slices of one little-endian copy of the block: one conversion, not one per row
    n = 4 * vectors.shape[1]
    rows = np.ascontiguousarray(vectors, dtype="<f4").tobytes()
    return b"".join(part for k, e in enumerate(encoded) for part in (e, b" ", rows[k * n : (k + 1) * n], b"\n"))


def read_word2vec_format(
    path: str | os.PathLike,
    binary: bool | None = None,
    limit: int | None = None,
    encoding: str = "utf-8",
    unicode_errors: str = "strict",
    vocab_path: str | os.PathLike | None = None,
) -> tuple[list[str], np.ndarray, np.ndarray | None]:
    """Read a word2vec.c / gensim / fastText ``.vec`` file -> (words, (V, D) float32 vectors, counts or None)."""
    path = Path(path)
    if limit is not None and (not isinstance(limit, Integral) or limit < 0):
        raise ConfigError(f"limit must be a non-negative integer, got {limit!r}")
    with _open_read(path) as f:
        try:
            words, vecs = _Reader(f, path, encoding, unicode_errors).read(binary, limit)
        except (EOFError, OSError, zlib.error) as e:  # gzip.BadGzipFile is an OSError
            raise FormatError(f"{path}: unreadable or truncated file ({e})") from e
    counts = _read_counts(Path(vocab_path), words, encoding) if vocab_path is not None else None
    return words, vecs, counts


@contextlib.contextmanager
def _open_write(path: str | os.PathLike) -> Iterator[IO[bytes]]:
    """Atomic binary write; gzipped when the name ends in ``.gz`` (mtime 0: reproducible bytes)."""
    path = Path(path)
    with atomic_write(path, "wb") as raw:
        if path.name.endswith(".gz"):
            with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
                yield gz  # closing it writes the gzip trailer into the temp file before the rename
        else:
            yield raw


def _open_read(path: Path) -> IO[bytes]:
    if not path.exists():
        raise FormatError(f"{path}: no such file")
    if path.is_dir():
        raise FormatError(f"{path}: is a directory, not a vectors file")
    try:
        f = open(path, "rb")
    except OSError as e:
        raise FormatError(f"{path}: cannot open ({e.strerror or e})") from e
    magic = f.read(2)
    f.seek(0)
    if magic == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=f, mode="rb")  # type: ignore[return-value]
    return f


def _size_on_disk(f: IO[bytes]) -> int | None:
    """Bytes the stream can still hold if it is a plain file; None for a compressed one."""
    if isinstance(f, gzip.GzipFile):
        return None
    return os.fstat(f.fileno()).st_size


class _Rows:
    """The (n, D) float32 matrix of a file, grown as rows arrive instead of allocated from the header.

    The first allocation is bounded by what the file can hold (rows of at least ``min_row``
    bytes in ``size`` bytes) or, for a compressed file, by ``_FIRST_BYTES``; then it doubles
    up to the ``n`` rows the header declares. An honest plain file is allocated once.
    """

    def __init__(self, n: int, D: int, size: int | None, min_row: int):
        self.n, self.D = n, D
        bound = size // min_row if size is not None else _FIRST_BYTES // (4 * D)
        self.first = max(1, min(n, bound))
        self.a = np.empty((0, D), np.float32)
        self.len = 0

    def append(self, row: np.ndarray) -> None:
        if self.len == len(self.a):
            cap = self.first if not len(self.a) else min(self.n, 2 * len(self.a))
            grown = np.empty((cap, self.D), np.float32)
            grown[: self.len] = self.a[: self.len]
            self.a = grown
        self.a[self.len] = row
        self.len += 1

    def array(self) -> np.ndarray:
        return self.a if self.len == len(self.a) else self.a[: self.len].copy()


class _Reader:
    """Parses one word2vec file from a binary stream; keeps positions for error messages."""

    def __init__(self, f: IO[bytes], path: Path, encoding: str, unicode_errors: str):
        self.f = f
        self.path = path
        self.encoding = encoding
        self.errors = unicode_errors
        self.hint = ""  # appended to text-parsing errors when the caller insisted on text
        self._rest = b""  # bytes read past the last binary entry

    def decode(self, raw: bytes, where: str) -> str:
        try:
            return raw.decode(self.encoding, self.errors)
        except UnicodeDecodeError as e:
            raise FormatError(
                f"{self.path}: {where}: word {raw[:60]!r} is not valid {self.encoding} ({e.reason}); "
                "try unicode_errors='ignore' (word2vec.c may cut multi-byte characters)"
            ) from None

    def read(self, binary: bool | None, limit: int | None) -> tuple[list[str], np.ndarray]:
        header = self.f.readline(_MAX_HEADER)
        fields = header.split()
        try:
            V, D = (int(x) for x in fields)
            ok = V >= 0 and D >= 1 and len(fields) == 2 and header.endswith(b"\n")
        except ValueError:
            ok = False
        if not ok:
            raise FormatError(
                f"{self.path}: line 1: expected a header 'VOCAB_SIZE DIMENSIONS', got {header[:80]!r} "
                "(files without a header, like GloVe's, are not word2vec format)"
            )
        n = V if limit is None else min(V, limit)
        if binary is None:
            binary = self._looks_binary(D)
        elif not binary:
            self.hint = " (is this a binary file? pass binary=True or leave binary unset)"
        words, vecs = (self._binary if binary else self._text)(V, D, n)
        if limit is None:
            self._expect_end(binary)
        return words, vecs

    def _looks_binary(self, D: int) -> bool:
        """Text if the first record is one line of a word and D numbers; binary otherwise."""
        start = self.f.tell()
        # room for one text line of D long numbers (capped: a header claiming a huge D reads no more)
        head = self.f.read(min((1 << 16) + 40 * D, _FIRST_BYTES))
        self.f.seek(start)
        line = head.split(b"\n", 1)[0].split()
        if len(line) != D + 1:
            return True
        try:
            np.array(line[1:], dtype=np.float32)
        except ValueError:
            return True
        return False

    def _add(self, words: list[str], seen: dict[str, str], word: str, where: str) -> None:
        if word in seen:
            raise FormatError(f"{self.path}: {where}: duplicate word {word!r} (first at {seen[word]})")
        seen[word] = where
        words.append(word)

    def _text(self, V: int, D: int, n: int) -> tuple[list[str], np.ndarray]:
        words: list[str] = []
        seen: dict[str, str] = {}
        # a row is at least "w" + D times " 0" + "\n"; a longer line than any row could be is refused
        rows = _Rows(n, D, _size_on_disk(self.f), 2 * D + 2)
        max_line = (1 << 16) + 64 * D
        lineno = 1
        while len(words) < n:
            line = self.f.readline(max_line)
            lineno += 1
            if not line:
                raise FormatError(
                    f"{self.path}: truncated: the header declares {V} vectors but the file ends after "
                    f"{len(words)} (line {lineno - 1}); download or save the file again, or fix the header"
                )
            if len(line) == max_line and not line.endswith(b"\n"):
                raise FormatError(
                    f"{self.path}: line {lineno}: longer than {max_line:,} bytes, too long for a word and "
                    f"{D} numbers{self.hint}"
                )
            parts = line.split()
            if not parts:
                continue  # a blank line carries nothing
            where = f"line {lineno}"
            word = self.decode(parts[0], where)
            if len(parts) != D + 1:
                raise FormatError(
                    f"{self.path}: {where}: word {word!r} has {len(parts) - 1} values, the header says {D}{self.hint}"
                )
            try:
                row = np.array(parts[1:], dtype=np.float32)
            except ValueError:
                raise FormatError(
                    f"{self.path}: {where}: word {word!r} has a value that is not a number{self.hint}"
                ) from None
            self._add(words, seen, word, where)
            rows.append(row)
        return words, rows.array()

    def _binary(self, V: int, D: int, n: int) -> tuple[list[str], np.ndarray]:
        words: list[str] = []
        seen: dict[str, str] = {}
        rec = 4 * D
        rows = _Rows(n, D, _size_on_disk(self.f), rec + 2)
        buf, pos = b"", 0
        while len(words) < n:
            sp = buf.find(b" ", pos)
            if sp == -1 or len(buf) - sp - 1 < rec:
                # bounded reads: the buffer grows only with data that is really there
                more = self.f.read(_CHUNK)
                if not more:
                    last = f" (last word read: {words[-1]!r})" if words else ""
                    raise FormatError(
                        f"{self.path}: truncated: the header declares {V} vectors of {D} float32 but the data "
                        f"ends inside entry {len(words) + 1}{last}; download or save the file again, or fix the header"
                    )
                buf, pos = buf[pos:] + more, 0
                continue
            # word2vec.c ends each record with "\n", gensim does not: skip it before a word.
            raw = buf[pos:sp].lstrip(b"\n")
            where = f"entry {len(words) + 1}"
            if not raw or any(ch in raw for ch in _ASCII_WS):
                raise FormatError(
                    f"{self.path}: {where}: malformed word {raw[:60]!r} (wrong dimensions in the header, "
                    "or not a binary word2vec file?)"
                )
            word = self.decode(raw, where)
            self._add(words, seen, word, where)
            rows.append(np.frombuffer(buf, dtype="<f4", count=D, offset=sp + 1))
            pos = sp + 1 + rec
        self._rest = buf[pos:]
        return words, rows.array()

    def _expect_end(self, binary: bool) -> None:
        """After the declared vectors only whitespace may follow, else the header lied."""
        rest = (self._rest if binary else b"") + self.f.read(1 << 16)
        if rest.strip():
            raise FormatError(
                f"{self.path}: more data after the {'entries' if binary else 'lines'} the header declares "
                f"(next bytes: {rest.strip()[:40]!r}); is the header's vocabulary size right?"
            )


def _read_counts(path: Path, words: list[str], encoding: str) -> np.ndarray:
    if not path.exists():
        raise FormatError(f"{path}: no such file")
    counts: dict[str, int] = {}
    with _open_read(path) as f:
        for lineno, line in enumerate(io.TextIOWrapper(f, encoding=encoding), 1):
            parts = line.split()
            if not parts:
                continue
            try:
                word, c = parts
                counts[word] = int(c)
            except ValueError:
                raise FormatError(f"{path}: line {lineno}: expected 'word count', got {line[:80]!r}") from None
    missing = [w for w in words if w not in counts]
    if missing:
        raise FormatError(f"{path}: no count for {len(missing)} words, e.g. {missing[0]!r}")
    return np.array([counts[w] for w in words], dtype=np.int64)
