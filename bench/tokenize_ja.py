"""Japanese tokenising speed: ``kotoba.text.tokenize.tokenize_lines`` against a plain fugashi loop.

    .venv/bin/python bench/tokenize_ja.py [--copies 4] [--repeats 3] [--workers 2]
        [--block-chars 1024 4096 16384 65536 262144] [--data-dir ../shared/data]

The text is the raw 吾輩は猫である read by :func:`kotoba.text.aozora.iter_aozora_paragraphs`
(2,256 paragraphs, 373k characters), ``--copies`` times over, held in memory so that only
tokenising is timed. Each repeat times, one after the other (paired, so machine load hits all
alike):

* ``fugashi nodes``: ``[w.surface for w in GenericTagger(ipadic.MECAB_ARGS)(line)]``, the usual
  fugashi loop (it also yields full-width spaces as tokens; the others do not);
* ``workers=1``: ``tokenize_lines(lines, "mecab", workers=1)``, MeCab's wakati output split;
* ``workers=N, block B``: the same over N worker processes, for each block size, pool start-up
  included.

characters/s = characters of the text / seconds; medians over the repeats, and each timing's
ratio to the fugashi loop of the same repeat. CPU seconds count this process and its worker
processes: on a busy machine they show the cost when wall time cannot.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import fugashi
import ipadic

from kotoba.text.aozora import iter_aozora_paragraphs
from kotoba.text.tokenize import tokenize_lines


def main() -> None:
    args = parse_args()
    novel = list(iter_aozora_paragraphs(Path(args.data_dir) / "sentencepiece-texts" / "wagahaiwa_nekodearu.txt"))
    lines = novel * args.copies
    chars = sum(map(len, lines))
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, load {load()}")
    print(f"text: {len(lines):,} paragraphs, {chars:,} characters ({args.copies} copies of the novel)")

    tagger = fugashi.GenericTagger(ipadic.MECAB_ARGS)
    runs: dict[str, Callable[[], object]] = {
        "fugashi nodes": lambda: [[w.surface for w in tagger(line)] for line in lines],
        "workers=1": lambda: list(tokenize_lines(lines, "mecab", workers=1)),
    }
    for b in args.block_chars:
        runs[f"workers={args.workers}, block {b}"] = lambda b=b: list(
            tokenize_lines(lines, "mecab", workers=args.workers, block_chars=b)
        )
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, run in runs.items():
            cpu_start, start = cpu_seconds(), time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - start)
            cpu[name].append(cpu_seconds() - cpu_start)

    base = seconds["fugashi nodes"]
    print(f"\n| run | chars/s (median of {args.repeats}) | × fugashi loop (median of paired ratios) | CPU s |")
    print("|---|---|---|---|")
    for name, s in seconds.items():
        ratio = statistics.median(b / t for b, t in zip(base, s))
        print(f"| {name} | {chars / statistics.median(s):,.0f} | {ratio:.2f} | {statistics.median(cpu[name]):.2f} |")
    print(f"\nload after: {load()}")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--copies", type=int, default=4, help="copies of the novel in the text (default 4)")
    p.add_argument("--repeats", type=int, default=3, help="paired repeats (default 3)")
    p.add_argument("--workers", type=int, default=2, help="worker processes of the parallel runs (default 2)")
    p.add_argument(
        "--block-chars", type=int, nargs="+", default=[1024, 4096, 16384, 65536, 262144], help="block sizes to time"
    )
    p.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[1].parent / "shared" / "data"))
    return p.parse_args()


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def cpu_seconds() -> float:
    """User + system CPU time of this process and of its finished children (the workers)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
