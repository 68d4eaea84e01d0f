"""`kotoba corpus wiki` vs gensim's WikiCorpus on the enwiki sample that ships inside gensim.

1. Like with like: kotoba's articles are tokenized the way WikiCorpus does (lower-cased, runs of letters,
   2-15 characters, articles under 50 tokens dropped) and compared with WikiCorpus.get_texts: the same
   articles? how many tokens? where do they differ and why (tables, headings: kotoba drops them)?
2. Speed: each tool as a whole process (interpreter start and imports included), alternating, several
   repeats; MB/s of the dump as stored (bz2-compressed bytes) and of the XML it holds (uncompressed).

    PYTHONPATH=src python bench/wiki_vs_gensim.py --repeats 5 --workers 1 2
"""

from __future__ import annotations

import argparse
import bz2
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import gensim
from gensim.corpora.wikicorpus import WikiCorpus, extract_pages, filter_wiki, tokenize

from kotoba.text.wiki import iter_wiki_articles

SAMPLE = (
    Path(gensim.__file__).parent
    / "test"
    / "test_data"
    / "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
)
WORD = re.compile(r"(?:(?!\d)\w)+")  # gensim.utils.PAT_ALPHABETIC
GENSIM_RUN = """
import sys, time, json
from gensim.corpora.wikicorpus import WikiCorpus
t = time.perf_counter()
n = sum(1 for _ in WikiCorpus(sys.argv[1], dictionary={}, processes=int(sys.argv[2])).get_texts())
print(json.dumps({"articles": n, "seconds": time.perf_counter() - t}))
"""


def gensim_tokens(text: str) -> list[str]:
    """WikiCorpus's tokenization of clean text (gensim.corpora.wikicorpus.tokenize), rewritten."""
    return [t for t in WORD.findall(text.lower()) if 2 <= len(t) <= 15 and not t.startswith("_")]


def table_and_heading_tokens(titles: set[str]) -> tuple[int, int]:
    """Tokens gensim makes of the articles' tables ({| ... |} line blocks) and headings (== ... ==)."""
    tables = headings = 0
    for title, text, _ in extract_pages(bz2.BZ2File(SAMPLE)):
        if title not in titles:
            continue
        headings += sum(len(tokenize(h)) for h in re.findall(r"^=+(.*?)=+\s*$", text, re.MULTILINE))
        depth, block = 0, []
        for line in text.splitlines():
            head = line.lstrip()
            depth += head.startswith("{|")
            if depth:
                block.append(line)
            depth -= bool(depth) and head.startswith("|}")
        tables += len(tokenize(filter_wiki("\n".join(block))))
    return tables, headings


def compare_counts() -> None:
    corpus = WikiCorpus(str(SAMPLE), dictionary={}, processes=1)
    corpus.metadata = True
    theirs = {title: toks for toks, (_, title) in corpus.get_texts()}
    ours = {}
    for article in iter_wiki_articles(SAMPLE, workers=1):
        toks = gensim_tokens(" ".join(article.paragraphs))
        if len(toks) >= 50:
            ours[article.title] = toks
    both = set(theirs) & set(ours)
    g, k = sum(len(theirs[t]) for t in both), sum(len(ours[t]) for t in both)
    ratios = sorted((len(ours[t]) / len(theirs[t]), t) for t in both)
    print(
        f"articles kept: gensim {len(theirs)}, kotoba {len(ours)}, both {len(both)}; "
        f"only gensim {sorted(set(theirs) - set(ours))}, only kotoba {sorted(set(ours) - set(theirs))}"
    )
    print(f"tokens (gensim's tokenization, same articles): gensim {g:,}, kotoba {k:,}, kotoba/gensim {k / g:.3f}")
    r = [x for x, _ in ratios]
    within = {p: sum(abs(x - 1) <= p / 100 for x in r) for p in (5, 10)}
    print(
        f"per article kotoba/gensim: median {statistics.median(r):.3f}; within 5%: {within[5]}, "
        f"within 10%: {within[10]} of {len(r)}"
    )
    for x, t in ratios[:4] + ratios[-2:]:
        print(f"  {t!r}: gensim {len(theirs[t]):,}, kotoba {len(ours[t]):,} tokens ({x:.2f})")
    tables, headings = table_and_heading_tokens(both)
    print(f"gensim's tokens from tables {tables:,} and headings {headings:,} (kotoba drops both); gap {g - k:,}")


def run_once(cmd: list[str]) -> tuple[float, float]:
    """(whole-process seconds, in-process seconds as the tool reports them)."""
    t = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=os.environ).stdout
    wall = time.perf_counter() - t
    return wall, float(json.loads(out.strip().splitlines()[-1])["seconds"])


def compare_speed(repeats: int, workers: list[int]) -> None:
    stored = SAMPLE.stat().st_size
    with bz2.open(SAMPLE) as f:
        xml = sum(len(b) for b in iter(lambda: f.read(1 << 20), b""))
    print(f"dump: {stored / 1e6:.2f} MB as stored (bz2), {xml / 1e6:.2f} MB of XML")
    with tempfile.TemporaryDirectory() as tmp:
        for w in workers:
            cmds = {
                "kotoba": [
                    sys.executable,
                    "-m",
                    "kotoba",
                    "corpus",
                    "wiki",
                    str(SAMPLE),
                    "-o",
                    f"{tmp}/o.txt",
                    "--json",
                    "--workers",
                    str(w),
                ],
                "gensim": [sys.executable, "-c", GENSIM_RUN, str(SAMPLE), str(w)],
            }
            times: dict[str, list[tuple[float, float]]] = {name: [] for name in cmds}
            for _ in range(repeats):  # alternate, so load from others hits both alike
                for name, cmd in cmds.items():
                    times[name].append(run_once(cmd))
            for name, ts in times.items():
                wall = statistics.median(t for t, _ in ts)
                inner = statistics.median(t for _, t in ts)
                print(
                    f"workers={w} {name}: whole process {wall:.2f} s = {stored / 1e6 / wall:.2f} MB/s bz2, "
                    f"{xml / 1e6 / wall:.2f} MB/s XML; in-process {inner:.2f} s = {xml / 1e6 / inner:.2f} MB/s XML "
                    f"(median of {repeats})"
                )
            ratio = statistics.median(t for t, _ in times["gensim"]) / statistics.median(t for t, _ in times["kotoba"])
            print(f"workers={w}: kotoba / gensim speed (whole process) {ratio:.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--no-counts", action="store_true", help="skip the article/token comparison")
    args = ap.parse_args()
    import mwparserfromhell

    print(
        f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
        f"Python {platform.python_version()}, gensim {gensim.__version__}, mwparserfromhell "
        f"{mwparserfromhell.__version__}, load average {os.getloadavg()[0]:.2f}"
    )
    if not args.no_counts:
        compare_counts()
    compare_speed(args.repeats, args.workers)


if __name__ == "__main__":
    main()
