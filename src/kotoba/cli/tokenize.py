"""CLI command ``kotoba tokenize``: segment text into space-separated words (``mecab -Owakati``)."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..io import atomic_write
from ..text.aozora import is_aozora, iter_aozora_paragraphs, iter_text_lines
from ..text.readers import corpus_files
from ..text.tokenize import ALIASES, NAMES, tokenize_lines
from .common import positive_int

_DESCRIPTION = """\
Segment FILES into words: one output line per input line, words separated by one space, as
`mecab -Owakati` does. Files are UTF-8 or Shift_JIS (cp932), detected; folders are read in
sorted order. Aozora Bunko texts (a .zip, or a file with Aozora's notation guide or colophon)
are recognised and cleaned first: title, notation guide, ruby, editor notes and colophon are
dropped, and each paragraph becomes one line. Reading and writing stream, so any size works."""

_EXAMPLE = "example:\n  kotoba tokenize wagahaiwa_nekodearu.zip -o neko.txt --tokenizer mecab --workers 2"


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``kotoba tokenize`` to the top-level parser."""
    p = sub.add_parser(
        "tokenize",
        help="segment (Japanese) text into space-separated words, like mecab -Owakati",
        description=_DESCRIPTION,
        epilog=_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("files", nargs="+", metavar="FILES", help="text files, Aozora .zip files or folders")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="segmented text to write (UTF-8)")
    p.add_argument(
        "--tokenizer",
        default="mecab",
        choices=NAMES + tuple(ALIASES),
        help="mecab (alias ja): MeCab + IPADIC; mecab-unidic: UniDic's shorter units; "
        "char: one token per character; whitespace: split on spaces (default mecab)",
    )
    p.add_argument(
        "--workers",
        type=positive_int,
        default=os.cpu_count() or 1,
        help="tokenising processes; 1 tokenises in this process (default: all CPUs)",
    )
    p.set_defaults(func=_tokenize)


def _tokenize(args: argparse.Namespace) -> int:
    files = corpus_files(args.files)
    counts = {"lines": 0, "chars": 0, "tokens": 0}
    start = time.perf_counter()
    segmented = tokenize_lines(_counted(_input_lines(files), counts), args.tokenizer, args.workers)
    with atomic_write(args.output, "w", encoding="utf-8") as out:
        for tokens in segmented:
            counts["tokens"] += len(tokens)
            out.write(" ".join(tokens) + "\n")
    seconds = time.perf_counter() - start
    print(
        f"wrote {args.output}: {counts['lines']:,} lines, {counts['tokens']:,} tokens from {len(files)} file(s); "
        f"{counts['chars'] / max(seconds, 1e-9):,.0f} chars/s ({seconds:.1f} s, {args.tokenizer}, "
        f"{args.workers} worker(s))"
    )
    return 0


def _input_lines(files: list[Path]) -> Iterator[str]:
    for path in files:
        yield from iter_aozora_paragraphs(path) if is_aozora(path) else iter_text_lines(path)


def _counted(lines: Iterable[str], counts: dict[str, int]) -> Iterator[str]:
    for line in lines:
        counts["lines"] += 1
        counts["chars"] += len(line)
        yield line
