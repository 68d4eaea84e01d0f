"""A/B two versions of kotoba's word2vec kernels in one process, on the same jobs.

Whole-process timings on a shared 2-core machine move by 10-20 % from run to run, which hides
kernel changes of a few per cent. This loads two ``kernels.py`` files as separate modules (a git
revision's or a path), builds one run with the working tree's trainer, and times alternated
chunks of the same jobs with each: the median of the per-chunk ratios is the figure (the same file
against itself gives 1.00 within ~1 %). Both kernels train the same shared weights in turn, so the
numbers are speeds, not results. Compare a change against the *previous code*, not only against
the change switched off: the switched-off path can itself be slower (BENCHMARKS.md, skip-gram
output-row copies).

    .venv/bin/python bench/kernel_ab.py --a HEAD~1 --corpus imdb6.txt --sg --threads 2
    .venv/bin/python bench/kernel_ab.py --a old/kernels.py --b src/kotoba/word2vec/kernels.py ... hot_rows=0
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from word2vec_processes import machine

ROOT = Path(__file__).resolve().parent.parent
KERNELS = "src/kotoba/word2vec/kernels.py"


def kernels_file(spec: str, tmp: Path, name: str) -> Path:
    """A path as given, or the kernels.py of git revision ``spec`` written into ``tmp``."""
    for path in (Path(spec), ROOT / spec):
        if path.is_file():
            return path
    text = subprocess.run(["git", "show", f"{spec}:{KERNELS}"], cwd=ROOT, check=True, capture_output=True).stdout
    path = tmp / f"{name}.py"
    path.write_bytes(text)
    return path


def load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def config_overrides(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, value = item.split("=", 1)
        out[key] = float(value) if any(c in value for c in ".e") else int(value)
    return out


def run_chunk(kernels, run, ids, jobs: list[int], threads: int) -> tuple[float, int]:
    """Train ``jobs`` on ``threads`` threads with ``kernels``; -> (seconds, pairs trained)."""
    from kotoba.word2vec.bundles import Corpus, make_job

    todo, lock, pairs = list(jobs), threading.Lock(), [0]

    def worker(w: int) -> None:
        while True:
            with lock:
                if not todo:
                    return
                j = todo.pop(0)
            s0, s1, pos = run.jobs[j]
            lo, hi = run.offsets[s0], run.offsets[s1]
            corpus = Corpus(ids[lo:hi], run.offsets[s0 : s1 + 1] - lo)
            job = make_job(0, s1 - s0, pos, np.uint64(j))
            out = kernels.train_job(run.params, corpus, job, run.weights, run.tables, run.scratch[w])
            with lock:
                pairs[0] += out[2]

    ts = [threading.Thread(target=worker, args=(w,)) for w in range(threads)]
    t0 = time.perf_counter()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return time.perf_counter() - t0, pairs[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--a", default="HEAD", help="git revision or kernels.py path (default HEAD)")
    ap.add_argument("--b", default=KERNELS, help="git revision or kernels.py path (default: the working tree's)")
    ap.add_argument("--corpus", required=True, help="text corpus (a few million tokens is plenty)")
    ap.add_argument("--sg", action="store_true", help="skip-gram (default CBOW)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--chunks", type=int, default=30, help="alternated chunks per kernel")
    ap.add_argument("--chunk-jobs", type=int, default=40, help="jobs (10,000 tokens each) per chunk")
    ap.add_argument("config", nargs="*", help="Word2VecConfig overrides, e.g. hot_rows=0")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="kernel-ab-"))
    # a kernels file loaded under another module name must not share Numba's cache with the real one
    os.environ["NUMBA_CACHE_DIR"] = str(tmp / "numba-cache")
    sys.path.insert(0, str(ROOT / "src"))
    from kotoba.text.corpus import IDS_FILE
    from kotoba.word2vec import trainer
    from kotoba.word2vec.config import Word2VecConfig

    ka = load(kernels_file(args.a, tmp, "kernels_a"), "kernels_a")
    kb = load(kernels_file(args.b, tmp, "kernels_b"), "kernels_b")
    cfg = Word2VecConfig(sg=args.sg, epochs=1, threads=args.threads, seed=1, **config_overrides(args.config))
    words, counts, enc = trainer._read_corpus(args.corpus, cfg, None, tmp)
    ids = np.array(enc.ids)
    start = trainer._start_point(cfg, len(words), None, np.random.default_rng(1))
    run = trainer._Run(cfg, enc.path / IDS_FILE, enc.sent_offsets, counts, start)
    n = args.chunk_jobs
    for k in (ka, kb):  # compile both before timing
        run_chunk(k, run, ids, [0], 1)
    times: dict[str, list[float]] = {"A": [], "B": []}
    rates = []
    first = 0
    for r in range(args.chunks):
        if first + n > len(run.jobs):
            first = 0
        for name in ("A", "B") if r % 2 == 0 else ("B", "A"):
            dt, pairs = run_chunk(ka if name == "A" else kb, run, ids, list(range(first, first + n)), args.threads)
            times[name].append(dt)
            rates.append(pairs / dt)
        first += n
    a, b = np.array(times["A"]), np.array(times["B"])
    print(f"machine: {machine()}")
    print(f"A {args.a}: median {np.median(a):.3f} s per chunk; B {args.b}: {np.median(b):.3f} s")
    model = "skip-gram" if args.sg else "CBOW"
    print(f"B speed-up over A: median {np.median(a / b):.3f}, mean {np.mean(a / b):.3f}")
    rate = np.median(rates) / 1e6
    print(f"  ({args.chunks} chunks of {n} jobs, {args.threads} threads, {model}, {rate:.2f}M pairs/s)")


if __name__ == "__main__":
    main()
