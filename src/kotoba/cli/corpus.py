"""CLI commands that turn raw sources into kotoba corpora: ``kotoba corpus wiki``.

The library (:mod:`kotoba.text.wiki`) does the work and reports progress through a callback; this
module parses the options, draws the progress bar and prints the summary.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .common import add_text_options, tokenizer_from


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``kotoba corpus ...`` to the top-level parser."""
    p = sub.add_parser("corpus", help="turn raw sources (Wikipedia dumps) into plain-text corpora")
    corpus_sub = p.add_subparsers(dest="corpus_command", metavar="SOURCE", required=True)
    w = corpus_sub.add_parser(
        "wiki",
        help="a Wikipedia (MediaWiki XML) dump to plain text",
        description=(
            "Turn a MediaWiki XML dump (pages-articles*.xml.bz2 as Wikimedia ships it; .gz, .xz or plain .xml "
            "too) into plain text, one paragraph per line: articles only, redirects skipped, wiki markup "
            "removed, HTML entities decoded. Streams the dump in bounded memory and cleans pages in worker "
            "processes, keeping the dump's order."
        ),
        epilog="example: kotoba corpus wiki jawiki-latest-pages-articles.xml.bz2 -o jawiki.txt --lang ja",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    w.add_argument("dump", metavar="DUMP", help="MediaWiki XML dump (.xml, .xml.bz2, .gz, .xz)")
    w.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="TEXT",
        help="text file to write (UTF-8; a name ending in .gz, .bz2 or .xz is compressed)",
    )
    add_text_options(w)
    w.add_argument("--per-article", action="store_true", help="one article per line instead of one paragraph")
    w.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="processes cleaning pages (default: one per CPU; 1 = none)",
    )
    w.add_argument("--quiet", action="store_true", help="no progress bar and no summary text")
    w.add_argument("--json", action="store_true", help="print a one-line JSON summary on stdout")
    w.set_defaults(func=cmd_wiki)


class _Bar:
    """A tqdm bar over the dump's bytes on disk, fed by the library's progress callback."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.shown = 0

    def __call__(self, stats) -> None:
        from tqdm.auto import tqdm

        if self.bar is None:
            self.bar = tqdm(total=stats.file_bytes, unit="B", unit_scale=True, desc="dump", file=sys.stderr)
        self.bar.update(stats.bytes_read - self.shown)
        self.shown = stats.bytes_read
        self.bar.set_postfix_str(f"{stats.pages:,} pages, {stats.articles:,} articles", refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def cmd_wiki(args: argparse.Namespace) -> int:
    from ..text.wiki import is_wiki_dump, write_wiki_text

    dump, output = Path(args.dump), Path(args.output)
    if not dump.is_file():
        raise ConfigError(f"{dump}: no such file")
    if not is_wiki_dump(dump):
        raise ConfigError(f"{dump}: not a MediaWiki XML dump (it does not start with <mediawiki>)")
    if output.is_dir():
        raise ConfigError(f"-o {output}: is a folder; give a file name such as {output / 'wiki.txt'}")
    if args.workers is not None and args.workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {args.workers}")
    tokenizer = tokenizer_from(args)
    bar = None if args.quiet or args.json else _Bar()
    try:
        stats = write_wiki_text(
            dump,
            output,
            tokenize=None if tokenizer == "whitespace" else tokenizer,
            unit="article" if args.per_article else "paragraph",
            workers=args.workers,
            progress=bar,
        )
    finally:
        if bar is not None:
            bar.close()
    summary = {
        "output": str(output),
        "pages": stats.pages,
        "articles": stats.articles,
        "redirects": stats.redirects,
        "empty_articles": stats.empty,
        "lines": stats.lines,
        "tokens": stats.tokens,
        "seconds": round(stats.seconds, 3),
        "mb_per_s": round(stats.mb_per_s, 3),
    }
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    elif not args.quiet:
        print(
            f"wrote {output}: {stats.articles:,} articles ({stats.redirects:,} redirects and "
            f"{stats.other_namespaces:,} other pages skipped), {stats.lines:,} lines, {stats.tokens:,} tokens "
            f"in {stats.seconds:.1f} s ({stats.mb_per_s:.2f} MB/s of the dump as stored)"
        )
    return 0
