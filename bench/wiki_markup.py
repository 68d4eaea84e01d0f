"""Markup removal on the enwiki sample in gensim: kotoba's cleaner vs the parsers and regexes one could use.

Cleaners, each set up the way a careful user would (files, categories, refs, tables, headings dropped):
  kotoba           kotoba.text.wiki.paragraphs (walks mwparserfromhell's token stream)
  mwparser-tree    mwparserfromhell.parse + removing those nodes + strip_code()
  wikitextparser   wikitextparser.parse + blanking those nodes + plain_text()
  regex            a careful regex pass written here (innermost-first loops for nested templates and links)
  gensim           gensim.corpora.wikicorpus.filter_wiki (what WikiCorpus uses)

Per cleaner: MB/s of article wikitext (UTF-8, one process; the cleaners take turns article by article),
output lines with markup left, and words lost / extra against the consensus (for each article and word,
the median count over the five cleaners).

    PYTHONPATH=src:bench python bench/wiki_markup.py [--dump DUMP]
"""

from __future__ import annotations

import argparse
import html
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable

import mwparserfromhell
import wikitextparser
from gensim.corpora.wikicorpus import filter_wiki

from kotoba.text.wiki import BASE_DROP_PREFIXES, _iter_pages, paragraphs
from wiki_vs_gensim import SAMPLE

DROP_TAGS = {"ref", "math", "gallery", "timeline", "imagemap", "score", "syntaxhighlight", "source", "references"}
LEFT = re.compile(r"\{\{|\}\}|\[\[|\]\]|\{\||\|\}|<ref|</?[a-z]+[ />]|&[a-z]+;|''|^=+.*=+$|^[*#|!]|\|\s*\w+\s*=")
WORD = re.compile(r"\w+")


def lines_of(text: str) -> list[str]:
    """The same line post-processing for every cleaner: collapse spaces, keep lines with a letter or digit."""
    out = (re.sub(r"\s+", " ", line).strip() for line in text.splitlines())
    return [line for line in out if re.search(r"\w", line)]


def _dropped_link(title: str) -> bool:
    prefix, colon, _ = str(title).strip().partition(":")
    return bool(colon) and prefix.strip().lower() in BASE_DROP_PREFIXES


def mwparser_tree(text: str) -> list[str]:
    code = mwparserfromhell.parse(text)
    drop = [n for n in code.filter_wikilinks() if _dropped_link(n.title)]
    drop += [n for n in code.filter_tags() if str(n.tag).lower() in DROP_TAGS or n.wiki_markup == "{|"]
    drop += code.filter_headings() + code.filter_templates(recursive=False)
    for node in drop:
        try:
            code.remove(node)
        except ValueError:  # inside a node removed already
            pass
    return lines_of(code.strip_code())


def wikitext_parser(text: str) -> list[str]:
    parsed = wikitextparser.parse(text)
    for link in reversed(parsed.wikilinks):
        if _dropped_link(link.title):
            link.string = ""
    for tag in reversed(parsed.get_tags()):
        if tag.name.lower() in DROP_TAGS:
            tag.string = ""
    plain = parsed.plain_text(replace_tables=lambda _: "")
    return lines_of(re.sub(r"(?m)^=+.*=+\s*$", "", plain))


_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_REF = re.compile(r"<ref\b[^>]*/>|<ref\b[^>]*>.*?</ref\s*>", re.DOTALL | re.IGNORECASE)
_TAG_BLOCK = re.compile(
    r"<(math|gallery|timeline|imagemap|score|syntaxhighlight|source)\b[^>]*>.*?</\1\s*>", re.DOTALL | re.IGNORECASE
)
_TEMPLATE = re.compile(r"\{\{[^{}]*\}\}")
_TABLE = re.compile(r"\{\|(?:(?!\{\|).)*?\|\}", re.DOTALL)
_LINK = re.compile(r"\[\[([^\[\]]*)\]\]")
_EXT = re.compile(r"\[(?:https?|ftp)://[^\s\]]+(?: ([^\]]*))?\]")
_URL = re.compile(r"https?://\S+")
_QUOTES = re.compile(r"'{2,}")
_HEADING = re.compile(r"(?m)^=+.*?=+\s*$")
_LIST = re.compile(r"(?m)^[*#:;]+\s*")
_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*\b[^<>\n]*>")


def _until_stable(pattern: re.Pattern, repl: str | Callable, text: str) -> str:
    while True:
        new = pattern.sub(repl, text)
        if new == text:
            return text
        text = new


def _link(m: re.Match) -> str:
    title, _, label = m.group(1).partition("|")
    if _dropped_link(title):
        return ""
    if re.match(r"[a-z][a-z-]{1,11}:", title) and not label:
        return ""
    return (label or title).lstrip(":")


def regex(text: str) -> list[str]:
    text = _TAG_BLOCK.sub("", _REF.sub("", _COMMENT.sub("", text)))
    text = _until_stable(_TEMPLATE, "", text)
    text = _until_stable(_TABLE, "", text)
    text = _until_stable(_LINK, _link, text)  # innermost first: a caption's links, then the file link
    text = _URL.sub("", _EXT.sub(lambda m: m.group(1) or "", text))
    text = _TAG.sub("", _LIST.sub("", _HEADING.sub("", _QUOTES.sub("", text))))
    return lines_of(html.unescape(text))


def gensim(text: str) -> list[str]:
    return lines_of(filter_wiki(text))


def kotoba(text: str) -> list[str]:
    return paragraphs(text)


CLEANERS = {
    "kotoba": kotoba,
    "mwparser-tree": mwparser_tree,
    "wikitextparser": wikitext_parser,
    "regex": regex,
    "gensim": gensim,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dump", default=str(SAMPLE), help="MediaWiki dump (default: the enwiki sample in gensim)")
    dump = ap.parse_args().dump
    with open(dump, "rb") as raw:
        texts = [p.text for p in _iter_pages(raw, dump, set()) if p.ns == "0" and not p.redirect]
    mb = sum(len(t.encode()) for t in texts) / 1e6
    outputs: dict[str, list[list[str]]] = {name: [] for name in CLEANERS}
    seconds = dict.fromkeys(CLEANERS, 0.0)
    seconds["parse alone"] = 0.0
    for text in texts:  # the cleaners take turns on each article, so load from others hits all alike
        for name, clean in CLEANERS.items():
            t = time.perf_counter()
            outputs[name].append(clean(text))
            seconds[name] += time.perf_counter() - t
        t = time.perf_counter()
        mwparserfromhell.parse(text)
        seconds["parse alone"] += time.perf_counter() - t
    speed = {name: mb / s for name, s in seconds.items()}
    counts = {name: [Counter(WORD.findall(" ".join(o).lower())) for o in out] for name, out in outputs.items()}
    print(f"{len(texts)} articles, {mb:.2f} MB of wikitext")
    print("| cleaner | MB/s | lines | lines with markup left | words | lost vs consensus | extra vs consensus |")
    print("|---|---|---|---|---|---|---|")
    for name, out in outputs.items():
        lost = extra = 0
        for i, own in enumerate(counts[name]):
            words = set().union(*(c[i] for c in counts.values()))
            for w in words:
                consensus = statistics.median(c[i][w] for c in counts.values())
                lost += max(0, consensus - own[w])
                extra += max(0, own[w] - consensus)
        lines = [line for o in out for line in o]
        left = sum(bool(LEFT.search(line)) for line in lines)
        words = sum(sum(c.values()) for c in counts[name])
        print(f"| {name} | {speed[name]:.2f} | {len(lines):,} | {left:,} | {words:,} | {lost:,.0f} | {extra:,.0f} |")
    print(f"mwparserfromhell.parse alone (the node tree, no cleaning): {speed['parse alone']:.2f} MB/s")


if __name__ == "__main__":
    main()
