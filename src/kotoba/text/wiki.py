"""Wikipedia (MediaWiki XML) dumps as a plain-text corpus, streamed in bounded memory.

Typical use::

    from kotoba.text.wiki import is_wiki_dump, iter_wiki_articles, iter_wiki_lines, write_wiki_text

    stats = write_wiki_text("jawiki-latest-pages-articles.xml.bz2", "jawiki.txt", tokenize="mecab")
    for line in iter_wiki_lines("enwiki-latest-pages-articles1.xml.bz2", workers=1):
        ...
    for article in iter_wiki_articles("enwiki-latest-pages-articles1.xml.bz2"):
        article.title, article.paragraphs

A dump (``.bz2``, ``.gz``, ``.xz`` or plain ``.xml``; the compression is told by the first bytes, not the
name) is read with ``xml.etree.ElementTree.iterparse``; every ``<page>`` is dropped from the tree once
read, so memory stays bounded on a 20 GB enwiki dump. Only articles are kept: namespace 0, redirects
skipped.

Output is **one paragraph per line** (``unit="paragraph"``, the default): a paragraph is a topical unit
and word2vec's context window never crosses a line, while a whole article is thousands of words that
the corpus reader would cut into chunks at arbitrary places anyway. ``unit="article"`` gives one article
per line (for document-level use, as gensim's ``WikiCorpus`` does). List items are lines of their own.

Markup is removed by walking the token stream of ``mwparserfromhell``'s tokenizer (its C tokenizer
when built): templates (nested), tables, ``<ref>``, ``<math>``, galleries, comments, headings,
file/image/category and interlanguage links are dropped; ``[[link|label]]`` becomes ``label``,
``[url label]`` becomes ``label``, bold/italic quotes and list markers go, HTML entities are decoded.
Walking the tokens instead of building mwparserfromhell's node tree gives the same structure at about
three times the speed (``BENCHMARKS.md``, "Wikipedia dumps").

Cleaning runs in worker processes over batches of pages; results come back in dump order, and at
most ``2 * workers`` batches are in flight, so a slow consumer never lets work pile up in memory.
"""

from __future__ import annotations

import bz2
import gzip
import html
import lzma
import os
import re
import time
import xml.etree.ElementTree as ET
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from ..errors import ConfigError, DataError

__all__ = [
    "BASE_DROP_PREFIXES",
    "WikiArticle",
    "WikiStats",
    "is_wiki_dump",
    "iter_wiki_articles",
    "iter_wiki_lines",
    "paragraphs",
    "strip_markup",
    "write_wiki_text",
]

PathLike = str | os.PathLike[str]
#: a tokenizer: a function from a line of text to its words (must be picklable when workers > 1),
#: or the name of one of :mod:`kotoba.text.tokenize`'s tokenizers, built once in each worker
Tokenize = Callable[[str], list[str]] | str | None

#: pages sent to a worker at once, and the most wikitext characters in one batch
BATCH_PAGES = 64
BATCH_CHARS = 1 << 20
#: seconds between two progress reports
PROGRESS_EVERY = 0.5

#: how each compressed format begins, and what opens it
_MAGIC: tuple[tuple[bytes, Callable[..., Any]], ...] = (
    (b"BZh", bz2.open),
    (b"\x1f\x8b", gzip.open),
    (b"\xfd7zXZ\x00", lzma.open),
)
_READ_ERRORS = (OSError, EOFError, lzma.LZMAError, zlib.error, ET.ParseError)
#: link prefixes whose links are not prose: files, images, media, categories (English names; the
#: dump's own names for namespaces 6, 14 and -2 are added from its <siteinfo>)
BASE_DROP_PREFIXES = frozenset({"file", "image", "media", "category"})
_NON_PROSE_NS = {"-2", "6", "14"}


@dataclass
class WikiStats:
    """Counts gathered while reading a dump; pass one to :func:`iter_wiki_lines` to have it filled in.

    ``bytes_read`` counts bytes of the dump file as stored (compressed, for a ``.bz2``) read so far,
    out of ``file_bytes``; ``mb_per_s`` is therefore compressed megabytes (10^6 bytes) per second.
    ``articles`` are namespace-0 non-redirect pages; ``empty`` of them had no text left after cleaning.
    ``tokens`` counts whitespace-separated words (after ``tokenize``, when one is given).
    """

    pages: int = 0
    articles: int = 0
    redirects: int = 0
    other_namespaces: int = 0
    empty: int = 0
    paragraphs: int = 0
    lines: int = 0
    tokens: int = 0
    bytes_read: int = 0
    file_bytes: int = 0
    seconds: float = 0.0

    @property
    def mb_per_s(self) -> float:
        return self.bytes_read / 1e6 / self.seconds if self.seconds > 0 else 0.0


# ---------------------------------------------------------------------------------------------- reading


def _sniff_opener(head: bytes) -> Callable[..., Any] | None:
    for magic, opener in _MAGIC:
        if head.startswith(magic):
            return opener
    return None


def is_wiki_dump(path: PathLike) -> bool:
    """Whether ``path`` is a MediaWiki XML dump (plain or compressed): it starts with ``<mediawiki``.

    Only the first few kilobytes are read. A folder, a missing or unreadable file is not a dump.
    """
    try:
        with open(path, "rb") as raw:
            opener = _sniff_opener(raw.read(8))
            raw.seek(0)
            f = opener(raw) if opener else raw
            head = f.read(4096)
    except _READ_ERRORS:
        return False
    head = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"<?xml"):
        end = head.find(b"?>")
        head = head[end + 2 :].lstrip() if end >= 0 else b""
    return head.startswith(b"<mediawiki")


@dataclass
class _Page:
    title: str
    ns: str
    redirect: bool
    text: str


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _iter_pages(raw: IO[bytes], name: str, drop_prefixes: set[str]) -> Iterator[_Page]:
    """Pages of the dump read from ``raw``, in order; fills ``drop_prefixes`` from <siteinfo>.

    The root element is emptied after each page: ``iterparse`` keeps every element it has built
    attached to the root, and even cleared pages would add up over 20 million of them.
    """
    opener = _sniff_opener(raw.read(8))
    raw.seek(0)
    f = opener(raw) if opener else raw
    events = ET.iterparse(f, events=("start", "end"))
    _, root = next(events)
    if _local(root.tag) != "mediawiki":
        raise DataError(f"{name}: not a MediaWiki XML dump (the root element is <{_local(root.tag)}>)")
    q = root.tag[: root.tag.find("}") + 1]  # the export schema's XML namespace, e.g. {http://...-0.10/}
    for event, elem in events:
        if event != "end":
            continue
        tag = _local(elem.tag)
        if tag == "namespace" and elem.get("key") in _NON_PROSE_NS and elem.text:
            drop_prefixes.add(elem.text.strip().casefold())
        elif tag == "page":
            yield _Page(
                title=elem.findtext(q + "title") or "",
                ns=(elem.findtext(q + "ns") or "0").strip(),
                redirect=elem.find(q + "redirect") is not None,
                text=elem.findtext(f"{q}revision/{q}text") or "",
            )
            root.clear()


# ---------------------------------------------------------------------------------------------- markup


@lru_cache(maxsize=1)
def _tokenizer():
    """mwparserfromhell's tokenizer: the C one when it is built, else the pure-Python one."""
    try:
        from mwparserfromhell.parser import CTokenizer, use_c
    except ImportError as e:
        raise ConfigError("reading Wikipedia dumps needs mwparserfromhell: pip install 'kotoba[wiki]'") from e
    if use_c and CTokenizer is not None:
        return CTokenizer()
    from mwparserfromhell.parser.tokenizer import Tokenizer

    return Tokenizer()


#: tags whose contents are not prose: footnotes, formulas, galleries, code, tables (wiki and HTML)
_DROP_TAGS = frozenset(
    {
        "ref",
        "references",
        "math",
        "chem",
        "ce",
        "gallery",
        "timeline",
        "imagemap",
        "score",
        "syntaxhighlight",
        "source",
        "graph",
        "templatedata",
        "hiero",
        "table",
        "noinclude",
        "includeonly",
        "mapframe",
        "maplink",
    }
)
_INTERLANGUAGE = re.compile(r"[a-z][a-z-]{1,11}:")
_MAGIC_WORD = re.compile(r"__[A-Z]+__")
_EMPTY_PARENS = re.compile(r"\(\s*[,;:]?\s*\)")
_SPACES = re.compile(r"\s+")
#: punctuation a dropped template or list marker leaves at the start of a line (": Coptic letter Alpha")
_LEADING_PUNCT = re.compile(r"^[\s:;,.]+")
_WORDY = re.compile(r"\w")


class _Frame:
    """An open construct in the token stream: what it is and the visible text collected inside it."""

    __slots__ = ("kind", "markup", "name", "parts", "sep", "state")

    def __init__(self, kind: str, markup: str | None = None):
        self.kind = kind  # root, drop (dropped whole), link, ext (external link), entity, tag
        self.parts: list[str] = []
        self.sep = -1  # index in parts where a link's label starts
        self.name = ""  # a tag's name
        self.state = "name"  # a tag: name -> attrs -> body -> closing
        self.markup = markup  # a tag's wiki markup ('' for bold, {| for a table, * for a list item)


def _link_text(frame: _Frame, drop_prefixes: frozenset[str]) -> str:
    """What a ``[[title|label]]`` shows as prose: its label, its title, or nothing."""
    title = "".join(frame.parts if frame.sep < 0 else frame.parts[: frame.sep]).strip()
    label = "" if frame.sep < 0 else "".join(frame.parts[frame.sep :]).strip()
    if title.startswith(":"):  # [[:Category:X]] is an ordinary visible link
        return label or title[1:]
    prefix, colon, _ = title.partition(":")
    if colon and prefix.strip().casefold() in drop_prefixes:
        return ""
    if not label and _INTERLANGUAGE.match(title):  # [[fr:Anarchisme]]
        return ""
    return label or title


def _close_tag(frame: _Frame) -> str:
    """The visible text of a closed tag: its body, unless the tag is not prose."""
    if frame.markup == "{|" or frame.name in _DROP_TAGS:
        return ""
    return "".join(frame.parts)


def _selfclosing_text(frame: _Frame) -> str:
    return " " if frame.name == "br" else ""


def strip_markup(wikitext: str, drop_prefixes: frozenset[str] = BASE_DROP_PREFIXES) -> str:
    """The prose of one page's wikitext, markup removed; newlines kept where the source had them.

    ``drop_prefixes`` are lower-cased link prefixes (``file``, ``category`` …) whose links are dropped.
    A page mwparserfromhell fails on (its ``ParserError``, an internal error) gives no text.
    """
    from mwparserfromhell.parser import ParserError

    try:
        tokens = _tokenizer().tokenize(wikitext, 0, False)
    except ParserError:  # an internal error of mwparserfromhell on one page must not end a 20 GB run
        return ""
    stack = [_Frame("root")]
    skip = 0  # inside a construct that is dropped whole: count what opens and closes until it ends
    for tok in tokens:
        kind = type(tok).__name__
        if skip:
            if kind in _OPENERS:
                skip += 1
            elif kind in _CLOSERS:
                skip -= 1
                if not skip:
                    _close(stack, kind, drop_prefixes)
            continue
        top = stack[-1]
        if kind == "Text":
            if top.kind != "tag" or top.state == "body":
                top.parts.append(tok["text"])
            elif top.state == "name":
                top.name += tok["text"].strip().lower()
        elif kind in _OPENERS:
            stack.append(_Frame(_OPENERS[kind], tok.get("wiki_markup")))
            skip = int(stack[-1].kind == "drop")
        elif kind in _CLOSERS:
            _close(stack, kind, drop_prefixes)
        elif kind == "WikilinkSeparator" or kind == "ExternalLinkSeparator":
            if top.sep < 0:
                top.sep = len(top.parts)
        elif kind == "HTMLEntityNumeric" or kind == "HTMLEntityHex":
            top.parts.append("#" if kind == "HTMLEntityNumeric" else "x")
        elif kind == "TagAttrStart":
            top.state = "attrs"
        elif kind == "TagCloseOpen":
            top.state = "body"
            skip = int(top.markup == "{|" or top.name in _DROP_TAGS)  # a <ref>'s body: not collected at all
        elif kind == "TagOpenClose":
            top.state = "closing"
    while len(stack) > 1:  # the tokenizer balances its tokens; this only guards against a surprise
        stack.pop()
    return "".join(stack[0].parts)


_OPENERS = {
    "TemplateOpen": "drop",
    "ArgumentOpen": "drop",
    "CommentStart": "drop",
    "HeadingStart": "drop",
    "WikilinkOpen": "link",
    "ExternalLinkOpen": "ext",
    "HTMLEntityStart": "entity",
    "TagOpenOpen": "tag",
}
_CLOSERS = {
    "TemplateClose",
    "ArgumentClose",
    "CommentEnd",
    "HeadingEnd",
    "WikilinkClose",
    "ExternalLinkClose",
    "HTMLEntityEnd",
    "TagCloseClose",
    "TagCloseSelfclose",
}


def _close(stack: list[_Frame], kind: str, drop_prefixes: frozenset[str]) -> None:
    """Pop the construct ``kind`` closes and hand its visible text to the one around it."""
    frame = stack.pop()
    if frame.kind == "drop":
        text = "\n" if kind == "HeadingEnd" else ""
    elif frame.kind == "link":
        text = _link_text(frame, drop_prefixes)
    elif frame.kind == "ext":  # [url label] shows the label; a bare or unlabelled URL shows nothing
        text = "".join(frame.parts[frame.sep :]) if frame.sep >= 0 else ""
    elif frame.kind == "entity":
        text = html.unescape("&" + "".join(frame.parts) + ";")
    elif kind == "TagCloseSelfclose":
        text = _selfclosing_text(frame)
    else:
        text = _close_tag(frame)
    parent = stack[-1]
    if text and (parent.kind != "tag" or parent.state == "body"):
        parent.parts.append(text)


#: what the tokenizer leaves as plain text when the source markup is unbalanced (an unclosed quote in a
#: <ref>, a table with broken attributes); such lines get a second, regex pass
_LEFTOVER = re.compile(r"<|\[\[|\]\]|\{\{|\}\}|\{\||\|\}|''|&")
_REF = re.compile(r"<ref\b[^>]*?/>|<ref\b[^>]*>.*?(?:</ref\s*>|$)", re.IGNORECASE)
_HTML_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*\b[^<>]*>")
_BROKEN_LINK = re.compile(r"\[\[(?:[^\[\]|]*\|)?([^\[\]|]*)\]\]")
_BRACES = re.compile(r"\[\[|\]\]|\{\{|\}\}|\{\||\|\}|'{2,}")


def _repair(line: str, drop_prefixes: frozenset[str]) -> str:
    """Remove markup the tokenizer could not pair up: stray refs, tags, link brackets, quotes, entities."""
    stripped = line.lstrip("[: ")
    prefix, colon, _ = stripped.partition(":")
    if line.lstrip().startswith("[[") and colon and prefix.casefold() in drop_prefixes:
        return ""  # a file or category link broken over several lines
    line = _HTML_TAG.sub("", _REF.sub("", line))
    line = _BRACES.sub("", _BROKEN_LINK.sub(r"\1", line))
    return html.unescape(line)


def _drop_tables(wikitext: str) -> str:
    """The wikitext without its tables, found line by line as MediaWiki does: from ``{|`` to ``|}``.

    The tokenizer can pair a ``{|`` whose attributes it cannot read with a much later ``|}`` and drop
    prose with it (``Alaska`` in the sample lost 3,700 words so); a table left open is kept as it is.
    """
    if "{|" not in wikitext:
        return wikitext
    kept, depth = [], 0
    for line in wikitext.split("\n"):
        head = line.lstrip(" \t:")
        depth += head.startswith("{|")
        if depth == 0:
            kept.append(line)
        elif head.startswith("|}"):
            depth -= 1
    return "\n".join(kept) if depth == 0 else wikitext


def paragraphs(wikitext: str, drop_prefixes: frozenset[str] = BASE_DROP_PREFIXES) -> list[str]:
    """One page's prose as paragraphs: non-empty source lines, whitespace collapsed, markup removed.

    A line with no letter or digit left (the remains of an infobox, a bare list marker) is dropped, and
    so are table rows of a table that was never closed (lines starting ``{|``, ``|`` or ``!``).
    """
    out = []
    for line in strip_markup(_drop_tables(wikitext), drop_prefixes).splitlines():
        if line.lstrip().startswith(("{|", "|", "!")):
            continue
        if _LEFTOVER.search(line):
            line = _repair(line, drop_prefixes)
        line = _LEADING_PUNCT.sub("", _SPACES.sub(" ", _EMPTY_PARENS.sub("", _MAGIC_WORD.sub("", line)))).strip()
        if _WORDY.search(line):
            out.append(line)
    return out


# ---------------------------------------------------------------------------------------------- pipeline


@lru_cache(maxsize=4)
def _named_tokenizer(name: str) -> Callable[[str], list[str]]:
    """A tokenizer of :mod:`kotoba.text.tokenize` by name, built once per process."""
    try:
        from . import tokenize as tokenize_module
    except ImportError as e:
        raise ConfigError(f"tokenizer {name!r} needs kotoba.text.tokenize, which this install lacks") from e
    return tokenize_module.get_tokenizer(name)


@dataclass(frozen=True)
class WikiArticle:
    """One article's title and its text as paragraphs (tokenized words joined by spaces, if asked)."""

    title: str
    paragraphs: list[str]


def _clean_batch(texts: list[str], drop_prefixes: frozenset[str], tokenize: Tokenize) -> list[list[str]]:
    """Worker: the paragraphs of each page of a batch (a page with no prose gives an empty list)."""
    split = _named_tokenizer(tokenize) if isinstance(tokenize, str) else tokenize
    out = []
    for text in texts:
        paras = paragraphs(text, drop_prefixes)
        if split is not None:
            paras = [p for p in (" ".join(split(p)) for p in paras) if p]
        out.append(paras)
    return out


class _Clean:
    """``_clean_batch`` with the settings bound; picklable, so it can be sent to worker processes.

    ``drop_prefixes`` is the live set that reading <siteinfo> fills in before the first page comes.
    """

    def __init__(self, drop_prefixes: set[str], tokenize: Tokenize):
        self.drop_prefixes, self.tokenize = drop_prefixes, tokenize

    def __call__(self, batch: list[_Page]) -> list[list[str]]:
        return _clean_batch([page.text for page in batch], frozenset(self.drop_prefixes), self.tokenize)


def _batches(pages: Iterable[_Page], stats: WikiStats) -> Iterator[list[_Page]]:
    """Group the articles into batches; count what is skipped."""
    batch: list[_Page] = []
    chars = 0
    for page in pages:
        stats.pages += 1
        if page.ns != "0":
            stats.other_namespaces += 1
        elif page.redirect:
            stats.redirects += 1
        else:
            stats.articles += 1
            batch.append(page)
            chars += len(page.text)
            if len(batch) >= BATCH_PAGES or chars >= BATCH_CHARS:
                yield batch
                batch, chars = [], 0
    if batch:
        yield batch


def _in_order(work: Iterator[list[_Page]], run: _Clean, workers: int) -> Iterator[tuple[list[_Page], list]]:
    """Each batch with ``run(batch)``, in order; run in worker processes when ``workers > 1``.

    At most ``2 * workers`` batches are submitted and not yet consumed: ``Pool.imap`` would read the
    whole dump ahead into memory if the consumer were slower than the workers.
    """
    if workers <= 1:
        for batch in work:
            yield batch, run(batch)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    # fork where there is one: spawn and forkserver re-import the caller's __main__, which breaks any script
    # without an ``if __name__ == "__main__"`` guard; the workers run only text code, no threads
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        pending: deque = deque()
        try:
            for batch in work:
                pending.append((batch, pool.submit(run, batch)))
                if len(pending) >= 2 * workers:
                    batch, future = pending.popleft()
                    yield batch, future.result()
            while pending:
                batch, future = pending.popleft()
                yield batch, future.result()
        except BrokenProcessPool as e:
            raise DataError(f"a worker process cleaning pages died ({e}); try workers=1 to see why") from e
        finally:
            for _, future in pending:
                future.cancel()


def iter_wiki_articles(
    path: PathLike,
    *,
    tokenize: Tokenize = None,
    workers: int | None = None,
    stats: WikiStats | None = None,
    progress: Callable[[WikiStats], None] | None = None,
) -> Iterator[WikiArticle]:
    """The articles of a MediaWiki dump with their text, in dump order; those with no text left are skipped.

    ``tokenize`` splits each paragraph into words, joined by single spaces (for Japanese, which has no
    spaces between words): a function ``str -> list[str]`` (picklable when ``workers > 1``) or the name of
    a :mod:`kotoba.text.tokenize` tokenizer; ``None`` keeps the text as it is. ``workers`` processes clean
    the pages (default: one per CPU; 1 runs everything in this process). ``progress(stats)`` is called
    about every half second and once at the end; ``stats`` (or a fresh :class:`WikiStats`) is filled in.
    """
    workers = (os.cpu_count() or 1) if workers is None else workers
    if workers < 1:
        raise ConfigError(f"workers must be at least 1, got {workers}")
    if isinstance(tokenize, str):
        _named_tokenizer(tokenize)  # fail here, not in a worker, if the name is wrong
    stats = stats if stats is not None else WikiStats()
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    stats.file_bytes = path.stat().st_size
    start = last = time.perf_counter()
    drop_prefixes: set[str] = set(BASE_DROP_PREFIXES)
    with open(path, "rb") as raw:
        try:
            batches = _batches(_iter_pages(raw, str(path), drop_prefixes), stats)
            for batch, results in _in_order(batches, _Clean(drop_prefixes, tokenize), workers):
                for page, paras in zip(batch, results):
                    stats.empty += not paras
                    stats.paragraphs += len(paras)
                    stats.tokens += sum(len(p.split()) for p in paras)
                    if paras:
                        yield WikiArticle(page.title, paras)
                now = time.perf_counter()
                if progress is not None and now - last >= PROGRESS_EVERY:
                    stats.bytes_read, stats.seconds, last = raw.tell(), now - start, now
                    progress(stats)
        except _READ_ERRORS as e:
            raise DataError(f"{path}: broken or truncated dump near byte {raw.tell():,} ({e})") from e
        stats.bytes_read, stats.seconds = raw.tell(), time.perf_counter() - start
    if progress is not None:
        progress(stats)


def iter_wiki_lines(
    path: PathLike,
    *,
    tokenize: Tokenize = None,
    unit: str = "paragraph",
    workers: int | None = None,
    stats: WikiStats | None = None,
    progress: Callable[[WikiStats], None] | None = None,
) -> Iterator[str]:
    """Lines of plain text from the articles of a MediaWiki dump, in dump order: the corpus reader's entry.

    ``unit`` is ``"paragraph"`` (one paragraph or list item per line) or ``"article"`` (one article per
    line); the other arguments are :func:`iter_wiki_articles`'s. ``stats.lines`` counts the lines given.
    """
    if unit not in ("paragraph", "article"):
        raise ConfigError(f"unit must be 'paragraph' or 'article', got {unit!r}")
    stats = stats if stats is not None else WikiStats()
    for article in iter_wiki_articles(path, tokenize=tokenize, workers=workers, stats=stats, progress=progress):
        if unit == "article":
            stats.lines += 1
            yield " ".join(article.paragraphs)
        else:
            stats.lines += len(article.paragraphs)
            yield from article.paragraphs


def write_wiki_text(
    path: PathLike,
    output: PathLike,
    *,
    tokenize: Tokenize = None,
    unit: str = "paragraph",
    workers: int | None = None,
    progress: Callable[[WikiStats], None] | None = None,
) -> WikiStats:
    """Write :func:`iter_wiki_lines` of the dump ``path`` to the UTF-8 text file ``output``, atomically.

    ``output`` appears only once complete (a temp file beside it is renamed at the end); a name ending
    in ``.gz``, ``.bz2`` or ``.xz`` is compressed. Returns the counts (articles, lines, tokens, MB/s).
    """
    from ..io import atomic_write

    stats = WikiStats()
    lines = iter_wiki_lines(path, tokenize=tokenize, unit=unit, workers=workers, stats=stats, progress=progress)
    openers: dict[str, Callable[..., Any]] = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
    compress = openers.get(Path(output).suffix.lower())
    if compress is None:
        with atomic_write(output, "w", encoding="utf-8") as f:
            _write_lines(f, lines)
    else:
        with atomic_write(output, "wb") as raw, compress(raw, "wt", encoding="utf-8") as f:
            _write_lines(f, lines)  # closing f flushes the compressor into raw; raw itself stays open
    return stats


def _write_lines(f: IO[str], lines: Iterable[str]) -> None:
    for line in lines:
        f.write(line)
        f.write("\n")
