"""Read Aozora Bunko (青空文庫) texts as plain running text, one paragraph per line.

Aozora distributes each work as a ``.zip`` holding one Shift_JIS (cp932) ``.txt`` with CRLF
line ends; UTF-8 copies (with or without a BOM) circulate too. The file is laid out as::

    title / author lines            <- title block, dropped
    -------------------------       <- notation guide (【テキスト中に現れる記号について】 ...), dropped
    ...
    -------------------------
    body, one paragraph a line      <- kept: ruby 漢字《かんじ》 and its start mark ｜, and editor
    ...                                notes ［＃...］ (nested ones too) are removed
    底本：...                        <- colophon, dropped to the end

Gaiji placeholders ``※`` (whose description is a note) and the accent-decomposed Latin in
``〔...〕`` are kept as they stand, as the MeCab-segmented Aozora corpora keep them.

Encoding is decided on the first :data:`SNIFF_BYTES` bytes: a UTF-8 BOM or strict UTF-8 means
UTF-8, else strict cp932 means cp932, else :class:`~kotoba.errors.DataError`. The rest of the
file is then decoded strictly in that encoding, so a file that changes encoding midway is an
error too, never mojibake.
"""

from __future__ import annotations

import codecs
import io
import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Union

from ..errors import DataError

PathLike = Union[str, "os.PathLike[str]"]

#: bytes looked at to decide the encoding (and, at each end, to sniff the Aozora markers)
SNIFF_BYTES = 1 << 16
#: a title block longer than this is not one: the file then has none and nothing is dropped
MAX_TITLE_LINES = 10

GUIDE_MARK = "【テキスト中に現れる記号について】"
COLOPHON_MARK = "底本："
_ENCODINGS = ("utf-8-sig", "cp932")
# what opening or reading a file or zip member raises (a damaged zip: BadZipFile, also on a CRC error)
_READ_ERRORS = (OSError, zipfile.BadZipFile)
_ZIP_IMAGES = (".png", ".jpg", ".jpeg", ".gif")

_DASHES = re.compile(r"-{20,}")
_NOTE = re.compile(r"［＃[^［］]*］")  # innermost note; applied until none is left
_RUBY = re.compile(r"《[^《》]*》")
_RUBY_START = "｜"


def is_aozora(path: PathLike) -> bool:
    """Whether ``path`` looks like an Aozora Bunko text: a file, or a zip's one ``.txt``, whose
    start holds the notation guide or whose end holds the colophon (``底本：``), in UTF-8 or cp932."""
    path = Path(path)
    try:
        if not zipfile.is_zipfile(path):
            with open(path, "rb") as f:
                return _has_markers(f, os.fstat(f.fileno()).st_size)
        with zipfile.ZipFile(path) as z:
            member = _text_member(z)
            if member is None:
                return False
            with z.open(member) as f:
                return _has_markers(f, member.file_size)
    except _READ_ERRORS as e:
        raise _read_error(path, e) from e


def _has_markers(f: IO[bytes], size: int) -> bool:
    head = tail = f.read(SNIFF_BYTES)
    if size > SNIFF_BYTES:
        f.seek(size - SNIFF_BYTES)  # in a zip member this decompresses up to there
        tail = f.read()
    return any(GUIDE_MARK.encode(enc) in head or COLOPHON_MARK.encode(enc) in tail for enc in ("utf-8", "cp932"))


def _text_member(z: zipfile.ZipFile) -> zipfile.ZipInfo | None:
    """The zip's one ``.txt``, if besides it the zip holds only folders and images (the gaiji
    pictures some Aozora zips carry), else None."""
    names = [(i, i.filename.lower()) for i in z.infolist() if not i.is_dir()]
    texts = [i for i, name in names if name.endswith(".txt")]
    others = [i for i, name in names if not name.endswith((".txt", *_ZIP_IMAGES))]
    return texts[0] if len(texts) == 1 and not others else None


def iter_aozora_paragraphs(path: PathLike) -> Iterator[str]:
    """Yield the body paragraphs of an Aozora text (``.zip``, or ``.txt`` in UTF-8 or cp932),
    markup removed, stripped of surrounding whitespace; empty paragraphs are skipped."""
    yield from _body_lines(iter_text_lines(path))


def iter_text_lines(path: PathLike) -> Iterator[str]:
    """Yield the lines of a text file (or of the one ``.txt`` inside a ``.zip``) without their
    line ends (LF, CRLF or CR), decoding UTF-8 or cp932 as detected (see the module docstring).

    Raises :class:`DataError` naming the file if it cannot be opened, is neither encoding, or
    stops being valid in the detected one.
    """
    path = Path(path)
    try:
        yield from _decoded_lines(path)
    except _READ_ERRORS as e:
        raise _read_error(path, e) from e


def _decoded_lines(path: Path) -> Iterator[str]:
    with _open_binary(path) as f:
        encoding = _detect_encoding(f.read(SNIFF_BYTES), path)
    with _open_binary(path) as f:
        text = io.TextIOWrapper(f, encoding=encoding, errors="strict", newline=None)
        n = 0  # lines read, for the error message
        try:
            for line in text:
                n += 1
                yield line.rstrip("\n")
        except UnicodeDecodeError as e:
            raise DataError(
                f"{path}: not valid {_label(encoding)} after line {n} although the start of the file is "
                f"({e.reason}); convert the whole file to UTF-8"
            ) from e


def _read_error(path: Path, e: Exception) -> DataError:
    return DataError(f"{path}: cannot read ({getattr(e, 'strerror', None) or e})")


def _open_binary(path: Path) -> IO[bytes]:
    """The raw bytes of ``path``, or of its single ``.txt`` member if it is a zip."""
    if not zipfile.is_zipfile(path):
        return open(path, "rb")
    z = zipfile.ZipFile(path)
    member = _text_member(z)
    if member is None:
        z.close()
        raise DataError(
            f"{path}: not a zip of one .txt file (and images) as Aozora Bunko ships them; unpack the text to read"
        )
    # closing the ZipFile leaves the archive open until the member stream is closed too
    stream = z.open(member)
    z.close()
    return stream


def _detect_encoding(head: bytes, path: Path) -> str:
    for enc in _ENCODINGS:
        try:
            # unless the file is shorter, the sniffed bytes may end in the middle of a character
            codecs.getincrementaldecoder(enc)(errors="strict").decode(head, final=len(head) < SNIFF_BYTES)
        except UnicodeDecodeError:
            continue
        return enc
    raise DataError(
        f"{path}: neither UTF-8 nor Shift_JIS (cp932) text; convert it to UTF-8 (for EUC-JP: iconv -f EUC-JP -t UTF-8)"
    )


def _label(encoding: str) -> str:
    return "UTF-8" if encoding.startswith("utf-8") else "Shift_JIS (cp932)"


def _body_lines(lines: Iterator[str]) -> Iterator[str]:
    """Drop the title block and notation guide, clean the body, stop at the colophon."""
    kept = _drop_title_block(lines)
    yield from filter(None, map(clean_line, kept))
    started = bool(kept)
    for line in lines:
        if line.startswith(COLOPHON_MARK):
            return
        if not started and _DASHES.fullmatch(line.strip()):
            _skip_guide(lines)  # the guide may come after the title block's blank line
            continue
        para = clean_line(line)
        if para:
            started = True
            yield para


def _drop_title_block(lines: Iterator[str]) -> list[str]:
    """Consume the title block (and a notation guide right after it); return the lines read if
    they were no title block after all (none ended within :data:`MAX_TITLE_LINES` lines)."""
    title: list[str] = []
    for line in lines:
        if not line.strip():
            return []
        if _DASHES.fullmatch(line.strip()):
            _skip_guide(lines)
            return []
        title.append(line)
        if len(title) > MAX_TITLE_LINES:
            break
    return title


def _skip_guide(lines: Iterator[str]) -> None:
    """Consume the notation guide up to and including its closing dashed line."""
    for line in lines:
        if _DASHES.fullmatch(line.strip()):
            return


def clean_line(line: str) -> str:
    """One line with editor notes, ruby and ruby start marks removed, whitespace stripped.

    >>> clean_line("　一番｜獰悪《どうあく》な種族※［＃「言＋墟のつくり」、第4水準2-88-74］")
    '一番獰悪な種族※'
    """
    while "［＃" in line:
        stripped = _NOTE.sub("", line)
        if stripped == line:  # an unclosed note: leave the rest as text rather than loop
            break
        line = stripped
    return _RUBY.sub("", line).replace(_RUBY_START, "").strip()
