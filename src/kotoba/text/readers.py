"""Stream sentences of whitespace-separated tokens from text files, in bounded memory.

A corpus is a file, a directory (every non-hidden file below it, in sorted path order) or a
list of those. Files ending in ``.gz``, ``.bz2`` or ``.xz`` are decompressed on the fly.
One line is one sentence; tokens are separated by any Unicode whitespace (``str.split()``).

Files are read in fixed-size binary blocks and decoded incrementally, so memory stays bounded
even for text8-style corpora that are one 100 MB line: a line longer than ``max_sentence_len``
tokens comes out as consecutive chunks of at most that many tokens (concatenated, the chunks
are exactly the line's tokens). A token cut in two by a block boundary is carried over to the
next block, so it is never split.

Documents that are not plain text are recognised by their first bytes and read through their own
reader: a Wikipedia XML dump (:mod:`.wiki`, one paragraph per line) and an Aozora Bunko text
(:mod:`.aozora`, ``.zip`` or ``.txt``, cp932 or UTF-8, markup removed, one paragraph per line).
A ``tokenizer`` other than ``"whitespace"`` (:mod:`.tokenize`: ``mecab`` for Japanese, ``char``)
segments each line first, in worker processes; the rest of the path then sees whitespace-separated
tokens as for any text. Plain text that looks like unsegmented Japanese read with the whitespace
tokenizer gets an :class:`~kotoba.errors.UnsegmentedTextWarning`.

Invalid UTF-8 never stops reading: each invalid sequence becomes U+FFFD (as with
``errors="replace"``) and is counted in :class:`ReadStats`. A leading UTF-8 BOM is dropped.
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import hashlib
import lzma
import os
import threading
import warnings
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ..errors import ConfigError, DataError, EmptyCorpusError, UnsegmentedTextWarning

PathLike = str | os.PathLike
Source = PathLike | Iterable[PathLike]

#: bytes read from a (decompressed) file at a time. The tokens of one block are held at once
#: as str objects (about 10x the bytes), and larger blocks were measured to be no faster.
BLOCK_SIZE = 1 << 16
#: a run of non-whitespace characters longer than this is refused: the file is not tokenised
#: text (or not text at all), and holding the run would break the bounded-memory promise
MAX_TOKEN_CHARS = 1 << 20

_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
# What a broken compressed stream raises while being read.
_READ_ERRORS = (OSError, EOFError, lzma.LZMAError, zlib.error)


@dataclass
class ReadStats:
    """Counts gathered while reading; pass one to :func:`iter_sentences` to have it filled in.

    ``bytes`` counts bytes after decompression; ``lines`` counts newline-terminated lines plus
    a last line without a newline; ``invalid_utf8`` counts invalid byte sequences, each of
    which was read as one U+FFFD.
    """

    files: int = 0
    lines: int = 0
    tokens: int = 0
    bytes: int = 0
    invalid_utf8: int = 0


# Invalid UTF-8 is counted through a codec error handler. The count lives in a thread-local,
# read right after each (synchronous) decode call, so interleaved generators and threads
# cannot mix up their counts.
_ERRORS_NAME = "kotoba.text.count_replace"
_local = threading.local()


def _count_and_replace(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    _local.invalid = getattr(_local, "invalid", 0) + 1
    return "\ufffd", exc.end


codecs.register_error(_ERRORS_NAME, _count_and_replace)


def corpus_files(source: Source) -> list[Path]:
    """The files a corpus source names, in reading order.

    ``source`` is a path (file or directory) or an iterable of paths. Directories are walked
    recursively in sorted path order, skipping hidden files and folders (names starting with
    ``.``). Raises :class:`DataError` naming the path if a path is missing or a directory has
    no files, or if ``source`` is an empty list.
    """
    paths = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    if not paths:
        raise DataError("no corpus files given")
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(
                q
                for q in p.rglob("*")
                if q.is_file() and not any(part.startswith(".") for part in q.relative_to(p).parts)
            )
            if not found:
                raise DataError(f"{p}: directory contains no files")
            files.extend(found)
        elif p.is_file():
            files.append(p)
        elif p.exists():
            raise DataError(f"{p}: not a regular file or directory")
        else:
            raise DataError(f"{p}: no such file or directory")
    return files


def corpus_record(files: list[Path]) -> list[dict]:
    """What identifies a corpus across runs and folders: each file's name, size and the SHA-256 of its
    first MiB (cheap on any size; paths are left out so a moved corpus is still the same one)."""
    out = []
    for p in files:
        try:
            with open(p, "rb") as f:
                head = hashlib.sha256(f.read(1 << 20)).hexdigest()
        except OSError as e:
            raise DataError(f"{p}: cannot open ({e.strerror or e})") from e
        out.append({"name": p.name, "size": p.stat().st_size, "head_sha256": head})
    return out


def iter_sentences(
    source: Source,
    lowercase: bool = False,
    max_sentence_len: int = 10000,
    stats: ReadStats | None = None,
    *,
    block_size: int = BLOCK_SIZE,
    tokenizer: str = "whitespace",
    workers: int | None = None,
) -> Iterator[list[str]]:
    """Yield each sentence (line) of the corpus as a list of tokens.

    Lines with no tokens are skipped; a line of more than ``max_sentence_len`` tokens is yielded
    as consecutive chunks of ``max_sentence_len`` tokens (the last one shorter). ``lowercase``
    applies ``str.lower`` to the text. If ``stats`` is given it is updated as reading goes on.
    ``tokenizer`` names a :mod:`kotoba.text.tokenize` tokeniser, run in ``workers`` processes
    (default: one per CPU) when it is not ``"whitespace"``.

    Files are resolved (and missing paths reported as :class:`DataError`) when this is called,
    not on first iteration. A corpus with no token at all raises :class:`EmptyCorpusError`
    once it has been read to the end.
    """
    if max_sentence_len < 1:
        raise ConfigError(f"max_sentence_len must be >= 1, got {max_sentence_len}")
    if block_size < 1:
        raise ConfigError(f"block_size must be >= 1, got {block_size}")
    files = corpus_files(source)
    st = stats if stats is not None else ReadStats()
    reader = TextReader(lowercase, tokenizer, workers, block_size)
    return _iter_files(files, reader, max_sentence_len, st)


def _iter_files(files: list[Path], reader: TextReader, max_len: int, st: ReadStats) -> Iterator[list[str]]:
    tokens_before = st.tokens
    for path in files:
        yield from _iter_file(path, reader, max_len, st)
    if st.tokens == tokens_before:
        raise empty_corpus_error(files)


def empty_corpus_error(files: list[Path]) -> EmptyCorpusError:
    """The error for a corpus whose ``files`` hold no token at all."""
    names = str(files[0]) if len(files) == 1 else f"{len(files)} files ({files[0]}, ...)"
    return EmptyCorpusError(f"corpus {names} contains no tokens")


def _iter_file(path: Path, reader: TextReader, max_len: int, st: ReadStats) -> Iterator[list[str]]:
    sentence: list[str] = []  # tokens of the current line not yet yielded
    for piece in reader.pieces(path, st):
        lines = piece.split("\n")
        for line in lines[:-1]:
            toks = line.split()
            st.tokens += len(toks)
            sentence.extend(toks)
            while len(sentence) >= max_len:
                yield sentence[:max_len]
                del sentence[:max_len]
            if sentence:
                yield sentence
                sentence = []
        toks = lines[-1].split()
        st.tokens += len(toks)
        sentence.extend(toks)
        while len(sentence) >= max_len:
            yield sentence[:max_len]
            del sentence[:max_len]
    if sentence:
        yield sentence


@dataclass(frozen=True)
class TextReader:
    """How files become text pieces: the one reader interface of both trainers.

    ``tokenizer`` names a :mod:`kotoba.text.tokenize` tokeniser; anything but ``"whitespace"``
    runs in ``workers`` processes (None: one per CPU). ``lowercase`` applies ``str.lower``.
    """

    lowercase: bool = False
    tokenizer: str = "whitespace"
    workers: int | None = None
    block_size: int = BLOCK_SIZE

    def pieces(self, path: Path, st: ReadStats) -> Iterator[str]:
        """The text of ``path`` as whitespace-separated tokens, in pieces that never cut a token
        (each but the last ends with whitespace; lines end with ``"\n"``)."""
        kind = document_kind(path)
        if kind == "text" and self.tokenizer == "whitespace":
            return _checked_for_japanese(path, file_pieces(path, self.lowercase, st, self.block_size))
        lines = _document_lines(path, kind, st, self.block_size)
        if self.lowercase:
            lines = (line.lower() for line in lines)
        if self.tokenizer != "whitespace":
            from .tokenize import tokenize_lines

            workers = self.workers if self.workers is not None else (os.cpu_count() or 1)
            lines = (" ".join(t) for t in tokenize_lines(lines, self.tokenizer, workers))
        elif kind == "aozora":
            _warn_unsegmented(path)
        return _joined(lines, self.block_size)


def document_kind(path: Path) -> str:
    """``"wiki"`` (a MediaWiki XML dump), ``"aozora"`` (an Aozora Bunko text) or ``"text"``, by content."""
    from .aozora import is_aozora
    from .wiki import is_wiki_dump

    if is_wiki_dump(path):
        return "wiki"
    if path.suffix.lower() not in _OPENERS and is_aozora(path):
        return "aozora"
    return "text"


def _document_lines(path: Path, kind: str, st: ReadStats, block_size: int) -> Iterator[str]:
    """The lines of one document without their line ends: paragraphs of a dump or an Aozora text, or a file's lines."""
    if kind == "wiki":
        from .wiki import iter_wiki_lines

        return _counted(path, iter_wiki_lines(path), st)
    if kind == "aozora":
        from .aozora import iter_aozora_paragraphs

        return _counted(path, iter_aozora_paragraphs(path), st)
    return _lines_of(file_pieces(path, False, st, block_size))


def _counted(path: Path, lines: Iterator[str], st: ReadStats) -> Iterator[str]:
    st.files += 1
    st.bytes += path.stat().st_size  # of the document file as stored (a dump stays compressed)
    for line in lines:
        st.lines += 1
        yield line


def _lines_of(pieces: Iterator[str]) -> Iterator[str]:
    """Whole lines from text pieces (a line cut between two pieces is put back together)."""
    carry = ""
    for piece in pieces:
        lines = (carry + piece).split("\n")
        carry = lines.pop()
        yield from lines
    if carry:
        yield carry


def _joined(lines: Iterable[str], block_size: int) -> Iterator[str]:
    """Lines joined into pieces of about ``block_size`` characters, each line ended by ``"\n"``."""
    buf: list[str] = []
    size = 0
    for line in lines:
        buf.append(line)
        size += len(line) + 1
        if size >= block_size:
            yield "\n".join(buf) + "\n"
            buf, size = [], 0
    if buf:
        yield "\n".join(buf) + "\n"


def _checked_for_japanese(path: Path, pieces: Iterator[str]) -> Iterator[str]:
    """``pieces`` as they are, after a look at the first one: unsegmented Japanese gets a warning."""
    from .tokenize import looks_unsegmented

    first = next(pieces, None)
    if first is None:
        return
    if looks_unsegmented(first.splitlines()[:200]):
        _warn_unsegmented(path)
    yield first
    yield from pieces


def _warn_unsegmented(path: Path) -> None:
    warnings.warn(
        UnsegmentedTextWarning(
            f"{path}: looks like Japanese text without spaces between words; read as it is, each line "
            "would be one 'word'. Use the Japanese tokenizer ('mecab') to segment it."
        ),
        stacklevel=2,
    )


def file_pieces(path: Path, lowercase: bool, st: ReadStats, block_size: int = BLOCK_SIZE) -> Iterator[str]:
    """Yield the decoded text of one plain-text file in pieces that never cut a token.

    Each piece but the last ends with whitespace (a token cut by a block boundary is carried
    over to the next piece); concatenated, the pieces are the file's text without a leading BOM,
    lowercased if ``lowercase``. Fills in ``st.files``, ``bytes``, ``lines`` and
    ``invalid_utf8``; counting tokens is left to the caller, who splits the pieces.
    """
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors=_ERRORS_NAME)
    carry = ""  # the start of a token cut by the block boundary
    line_open = False  # has the current line any character yet (for the line count)?
    opener = _OPENERS.get(path.suffix.lower(), open)
    try:
        f = opener(path, "rb")
    except OSError as e:
        raise DataError(f"{path}: cannot open ({e.strerror or e})") from e
    with f:
        st.files += 1
        while True:
            block = _read_block(f, block_size, path)
            final = not block
            st.bytes += len(block)
            text = _decode(decoder, block, final, st)
            if carry:
                text = carry + text
                carry = ""
            newlines = text.count("\n")
            st.lines += newlines
            line_open = (bool(text) and text[-1] != "\n") or (line_open and newlines == 0)
            if not final and text and not text[-1].isspace():
                # the last token may go on in the next block: keep it back (rsplit scans from the end)
                carry = text.rsplit(None, 1)[-1]
                text = text[: len(text) - len(carry)]
                if len(carry) > MAX_TOKEN_CHARS:
                    raise DataError(
                        f"{path}: a run of more than {MAX_TOKEN_CHARS:,} characters without "
                        "whitespace; is this a tokenised text file?"
                    )
            # Lowercasing whitespace-ended pieces (never a cut token) gives the same tokens
            # whatever the block size: str.lower's only context rule, the Greek final sigma,
            # does not look past whitespace.
            yield text.lower() if lowercase else text
            if final:
                break
    if line_open:
        st.lines += 1


def _read_block(f: IO[bytes], n: int, path: Path) -> bytes:
    try:
        return f.read(n)
    except _READ_ERRORS as e:
        raise DataError(f"{path}: cannot read ({e})") from e


def _decode(decoder: codecs.IncrementalDecoder, block: bytes, final: bool, st: ReadStats) -> str:
    _local.invalid = 0
    text = decoder.decode(block, final)
    st.invalid_utf8 += _local.invalid
    return text
