"""Tokenisers (``line -> list[str]``) chosen by name, and an order-keeping parallel runner.

============== ==============================================================================
name           tokens
============== ==============================================================================
whitespace     ``str.split()``: already segmented text, or languages written with spaces
mecab (``ja``) MeCab with IPADIC through fugashi: the segmentation of ``mecab -Owakati``
mecab-unidic   MeCab with UniDic (unidic-lite): UniDic's shorter units
char           one token per non-whitespace character
words          runs of letters and digits (with inner apostrophes and hyphens): raw English
               text such as Wikipedia, punctuation dropped ("fire," and "fire" are one word)
============== ==============================================================================

Tokenising Japanese is the slow step of a pipeline (MeCab: some 0.3-0.5 M characters/s on one
core); :func:`tokenize_lines` spreads blocks of lines over worker processes and gives the
results back in input order, with a bounded number of blocks in flight.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Protocol

from ..errors import ConfigError, KotobaError

#: characters of text per block sent to a worker (see BENCHMARKS.md, "Japanese tokenising":
#: smaller blocks cost more in inter-process overhead, larger ones add latency and memory)
BLOCK_CHARS = 1 << 16
#: blocks in flight per worker: enough to keep every worker busy while the caller consumes
BLOCKS_PER_WORKER = 2
#: a whitespace token holding more Japanese/CJK characters than this on average is unsegmented
UNSEGMENTED_CHARS_PER_TOKEN = 6.0

ALIASES = {"ja": "mecab"}
_JA_EXTRA = 'the Japanese extra: pip install "kotoba[ja]"'
_UNIDIC = "fugashi and unidic-lite: pip install fugashi unidic-lite"
NAMES = ("whitespace", "mecab", "mecab-unidic", "char", "words")

# kana, CJK ideographs (with extension A and compatibility), half-width katakana, 々〆〇
_CJK = re.compile(r"[\u3005-\u3007\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]")


class Tokenizer(Protocol):
    """What :func:`get_tokenizer` returns: a named callable ``line -> tokens``."""

    name: str

    def __call__(self, line: str) -> list[str]: ...


class WhitespaceTokenizer:
    name = "whitespace"

    def __call__(self, line: str) -> list[str]:
        return line.split()


class CharTokenizer:
    name = "char"

    def __call__(self, line: str) -> list[str]:
        return [c for c in line if not c.isspace()]


class WordsTokenizer:
    """Runs of letters and digits, joined by an inner apostrophe or hyphen (``don't``, ``well-known``)."""

    name = "words"
    _WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")

    def __call__(self, line: str) -> list[str]:
        return self._WORD.findall(line)


class MecabTokenizer:
    """MeCab in wakati (space-separated) output mode; whitespace in the text is never a token."""

    def __init__(self, name: str, mecab_args: str):
        import fugashi  # imported here: the extra is needed only by those who tokenise Japanese

        self.name = name
        # -Owakati: MeCab writes the segmentation itself, ~1.4x faster than building node objects
        self._tagger = fugashi.GenericTagger(mecab_args + " -Owakati")

    def __call__(self, line: str) -> list[str]:
        return self._tagger.parse(line).split()


#: tokenisers of languages written without spaces: their words are joined back without them
_UNSPACED = ("mecab", "mecab-unidic", "char")


def detokenize(words: Iterable[str], tokenizer: str = "whitespace") -> str:
    """Words back into text: joined by spaces, or without them for the Japanese and ``char`` tokenisers."""
    return ("" if ALIASES.get(tokenizer, tokenizer) in _UNSPACED else " ").join(words)


def get_tokenizer(name: str) -> Tokenizer:
    """The tokeniser called ``name`` (one of :data:`NAMES`, or an alias in :data:`ALIASES`).

    Raises :class:`ConfigError` for an unknown name and :class:`KotobaError` saying what to
    install when the MeCab tokenisers' packages are missing.
    """
    name = ALIASES.get(name, name)
    if name == "whitespace":
        return WhitespaceTokenizer()
    if name == "char":
        return CharTokenizer()
    if name == "words":
        return WordsTokenizer()
    if name in ("mecab", "mecab-unidic"):
        try:
            return MecabTokenizer(name, _mecab_args(name))
        except ImportError:
            install = _JA_EXTRA if name == "mecab" else _UNIDIC
            raise KotobaError(f"the {name!r} tokeniser needs {install}") from None
    known = ", ".join(NAMES + tuple(ALIASES))
    raise ConfigError(f"unknown tokeniser {name!r}; choose one of {known}")


def _mecab_args(name: str) -> str:
    """MeCab's dictionary arguments for ``name``; ImportError if the dictionary is missing."""
    if name == "mecab":
        import ipadic

        return ipadic.MECAB_ARGS
    import unidic_lite

    d = unidic_lite.DICDIR
    return f'-r "{d}/mecabrc" -d "{d}"'


def tokenize_lines(
    lines: Iterable[str], tokenizer: str = "whitespace", workers: int = 1, *, block_chars: int = BLOCK_CHARS
) -> Iterator[list[str]]:
    """Yield ``get_tokenizer(tokenizer)(line)`` for each line, in input order.

    With ``workers > 1`` blocks of lines (about ``block_chars`` characters each) are tokenised
    in that many worker processes; at most ``BLOCKS_PER_WORKER * workers`` blocks are in
    flight, so memory stays bounded however long ``lines`` is. ``workers=1`` runs in this
    process. The tokeniser is built here first, so a bad name or a missing package is reported
    before any worker starts.
    """
    if workers < 1:
        raise ConfigError(f"workers must be >= 1, got {workers}")
    if block_chars < 1:
        raise ConfigError(f"block_chars must be >= 1, got {block_chars}")
    tok = get_tokenizer(tokenizer)
    if workers == 1:
        return map(tok, lines)
    return _tokenize_parallel(lines, tok.name, workers, block_chars)


def _tokenize_parallel(lines: Iterable[str], name: str, workers: int, block_chars: int) -> Iterator[list[str]]:
    pool = ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(name,))
    pending: deque[Future[list[str]]] = deque()
    try:
        for block in _blocks(lines, block_chars):
            pending.append(pool.submit(_tokenize_block, block))
            if len(pending) >= BLOCKS_PER_WORKER * workers:
                yield from map(str.split, pending.popleft().result())
        while pending:
            yield from map(str.split, pending.popleft().result())
    finally:
        # also reached when the caller stops early: drop the blocks not started yet
        pool.shutdown(cancel_futures=True)


def _blocks(lines: Iterable[str], block_chars: int) -> Iterator[list[str]]:
    """Group lines into lists of at least ``block_chars`` characters (the last may be shorter)."""
    block: list[str] = []
    size = 0
    for line in lines:
        block.append(line)
        size += len(line)
        if size >= block_chars:
            yield block
            block, size = [], 0
    if block:
        yield block


_worker_tokenizer: Tokenizer | None = None


def _init_worker(name: str) -> None:
    global _worker_tokenizer
    _worker_tokenizer = get_tokenizer(name)


def _tokenize_block(block: list[str]) -> list[str]:
    """Each line's tokens joined by spaces. No token holds whitespace, so ``str.split`` gives them
    back exactly, and a list of strings pickles several times faster than a list of token lists."""
    assert _worker_tokenizer is not None, "worker started without _init_worker"
    return [" ".join(_worker_tokenizer(line)) for line in block]


def looks_unsegmented(lines: Iterable[str], max_chars: int = 200_000) -> bool:
    """Whether text is plainly unsegmented Japanese (or other CJK): at least 30% of its characters
    are kana or ideographs, and the whitespace tokens holding any average more than
    :data:`UNSEGMENTED_CHARS_PER_TOKEN` of them. Looks at the first ``max_chars`` characters.

    Segmented Japanese averages under 2 such characters per token; a raw novel hundreds.
    """
    chars = cjk_chars = cjk_tokens = 0
    for line in lines:
        for token in line.split():
            n = len(_CJK.findall(token))
            chars += len(token)
            cjk_chars += n
            cjk_tokens += n > 0
        if chars >= max_chars:
            break
    if not cjk_tokens or cjk_chars < 0.3 * chars:
        return False
    return cjk_chars / cjk_tokens > UNSEGMENTED_CHARS_PER_TOKEN
