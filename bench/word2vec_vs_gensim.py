"""kotoba's word2vec against gensim 4.x: throughput and quality at the same settings.

    .venv/bin/python bench/word2vec_vs_gensim.py [--corpus ptb|text8|both] [--model sg|cbow|both]
        [--threads 2] [--repeat 1] [--no-cold] [--data-dir ../shared/data] [--json out.json]

Both systems get the same settings: dim 100, window 5, negative 5, sample 1e-3, min_count 5,
5 epochs, the same thread count and seed, alpha 0.025 (skip-gram) / 0.05 (CBOW, word2vec.c's
defaults; gensim's own default would be 0.025 for both) and min_alpha 0.0001 for gensim.

(For kotoba at its own defaults, as whole processes, see ``bench/word2vec_processes.py``; here kotoba's
other defaults -- CBOW / skip-gram blocks, initial range -- apply as they are.)

The learning-rate schedule is matched to what gensim actually does in ``corpus_file`` mode:
each of its W workers reads 1/W of the file but measures its progress against the whole
epoch's word count (``word2vec_corpusfile.pyx``, ``get_next_alpha``), so its rate only falls
to ``alpha * (1 - (E - 1 + 1/W) / E)`` — 0.1·alpha for W = 2, E = 5 — and averages about
0.55·alpha instead of 0.5·alpha. kotoba's linear schedule is given that end value as
``min_alpha`` (same start, same mean rate), unless ``--nominal-schedule`` asks for
``min_alpha = 0.0001`` (which costs kotoba a few tenths of analogy points here: 5 epochs over
~1M words is an under-trained regime, where a higher late rate helps).

* Timings are end to end, file to trained vectors: vocabulary scan, (kotoba) encoding, training.
  gensim reads ``corpus_file`` (its fastest mode). text8-prefix is a single 1.17M-word line:
  gensim gets it decompressed and split into 1,000-word lines in a temp file, prepared before
  its clock starts; kotoba reads the ``.gz`` as is (its reader cuts lines at 10,000 tokens).
* words/s = raw corpus tokens × epochs / seconds.
* kotoba "warm" runs in this process after its Numba kernels are loaded; "cold" runs once in a
  subprocess with an empty ``NUMBA_CACHE_DIR``, so it includes compiling the kernels.
* Quality, for both systems with :mod:`kotoba.vectors.evaluate` (gensim's rules): analogy accuracy on
  ``eval/questions-words.txt`` (restrict_vocab 30,000), Spearman on WordSim353 and SimLex-999.

The multi-threaded runs are not deterministic (Hogwild), and on a shared machine timings are
noisy, and one run's quality scores vary by a few tenths of a point (analogy) and ±0.02
(Spearman) from seed to seed: use ``--repeat`` (different seeds) and read the spread.
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from kotoba.io import save_json
from kotoba.vectors import WordVectors
from kotoba.vectors.evaluate import evaluate_analogies, evaluate_word_pairs
from kotoba.word2vec import Word2VecConfig, train

REPO = Path(__file__).resolve().parents[1]
CORPORA = {"ptb": "ptb/ptb.train.txt", "text8": "text8/text8-prefix.gz"}
SETTINGS = dict(dim=100, window=5, negative=5, sample=1e-3, min_count=5, epochs=5)
ALPHA = {"sg": 0.025, "cbow": 0.05}
MIN_ALPHA = 0.0001


def quality(wv: WordVectors, data: Path) -> dict[str, float]:
    """Analogy accuracy (%) and WordSim353 / SimLex-999 Spearman rho."""
    acc, _ = evaluate_analogies(wv, data / "eval/questions-words.txt", restrict_vocab=30000)
    ws = evaluate_word_pairs(wv, data / "eval/wordsim353.tsv")[1][0]
    sl = evaluate_word_pairs(wv, data / "eval/simlex999.txt")[1][0]
    return {"analogy": 100.0 * acc, "ws353": float(ws), "simlex": float(sl)}


def gensim_effective_min_alpha(alpha: float, threads: int, epochs: int) -> float:
    """The rate gensim's corpus_file mode ends at with ``threads`` workers (see the module docstring)."""
    return max(MIN_ALPHA, alpha * (1.0 - (epochs - 1 + 1.0 / threads) / epochs))


def kotoba_config(model: str, threads: int, seed: int, nominal: bool = False) -> Word2VecConfig:
    alpha = ALPHA[model]
    min_alpha = MIN_ALPHA if nominal else gensim_effective_min_alpha(alpha, threads, SETTINGS["epochs"])
    return Word2VecConfig(sg=model == "sg", alpha=alpha, min_alpha=min_alpha, threads=threads, seed=seed, **SETTINGS)


def run_kotoba(
    path: Path, model: str, threads: int, seed: int, nominal: bool = False
) -> tuple[float, WordVectors, int]:
    t = time.perf_counter()
    m = train(path, kotoba_config(model, threads, seed, nominal))
    return time.perf_counter() - t, m.wv, int(m.stats["raw_words"])


def run_kotoba_cold(path: Path, model: str, threads: int, seed: int, nominal: bool = False) -> float:
    """End-to-end seconds of one kotoba run in a fresh process with an empty Numba cache."""
    code = (
        "import sys, time; t = time.perf_counter();"
        "from kotoba.word2vec import train; import bench_cfg;"
        f"train({str(path)!r}, bench_cfg.cfg); print(time.perf_counter() - t)"
    )
    with tempfile.TemporaryDirectory(prefix="kotoba-cold-") as tmp:
        Path(tmp, "bench_cfg.py").write_text(
            "from kotoba.word2vec import Word2VecConfig\n"
            f"cfg = Word2VecConfig(**{kotoba_config(model, threads, seed, nominal).to_dict()!r})\n",
            encoding="utf-8",
        )
        env = dict(os.environ, NUMBA_CACHE_DIR=str(Path(tmp, "numba-cache")), PYTHONPATH=tmp)
        out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def gensim_input(path: Path, tmp: Path) -> Path:
    """gensim's corpus_file needs plain text lines; text8 is split into 1,000-word lines (untimed)."""
    if path.suffix != ".gz":
        return path
    with gzip.open(path, "rt", encoding="utf-8") as f:
        words = f.read().split()
    out = tmp / (path.stem + ".lines.txt")
    out.write_text(
        "\n".join(" ".join(words[i : i + 1000]) for i in range(0, len(words), 1000)) + "\n", encoding="utf-8"
    )
    return out


def run_gensim(path: Path, model: str, threads: int, seed: int) -> tuple[float, WordVectors]:
    from gensim.models import Word2Vec

    t = time.perf_counter()
    m = Word2Vec(
        corpus_file=str(path),
        sg=int(model == "sg"),
        hs=0,
        vector_size=SETTINGS["dim"],
        window=SETTINGS["window"],
        negative=SETTINGS["negative"],
        sample=SETTINGS["sample"],
        min_count=SETTINGS["min_count"],
        epochs=SETTINGS["epochs"],
        alpha=ALPHA[model],
        min_alpha=MIN_ALPHA,
        workers=threads,
        seed=seed,
    )
    dt = time.perf_counter() - t
    return dt, WordVectors(list(m.wv.index_to_key), np.asarray(m.wv.vectors))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", choices=["ptb", "text8", "both"], default="both")
    ap.add_argument("--model", choices=["sg", "cbow", "both"], default="both")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs per system, with seeds seed, seed+1, ... (median time, mean quality reported)",
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-cold", action="store_true", help="skip the cold-start (fresh Numba cache) kotoba run")
    ap.add_argument(
        "--nominal-schedule", action="store_true", help="kotoba min_alpha=0.0001 instead of gensim's effective one"
    )
    ap.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)

    corpora = ["ptb", "text8"] if args.corpus == "both" else [args.corpus]
    models = ["cbow", "sg"] if args.model == "both" else [args.model]
    import gensim

    sched = "nominal min_alpha 0.0001" if args.nominal_schedule else "min_alpha = gensim's effective end rate"
    print(
        f"gensim {gensim.__version__}, threads={args.threads}, repeat={args.repeat}, settings {SETTINGS}, "
        f"alpha {ALPHA}; kotoba: {sched}; quality via kotoba.vectors.evaluate\n"
    )
    # load (or compile) the kernels once so the warm runs measure training, not the JIT
    with tempfile.TemporaryDirectory() as tmp:
        warm = Path(tmp, "warm.txt")
        warm.write_text("a b c d e f a b c d e f\n" * 20, encoding="utf-8")
        for model in models:
            train(warm, Word2VecConfig(sg=model == "sg", min_count=1, epochs=1, threads=1, dim=8))
    results = []
    header = (
        f"{'corpus':6} {'model':5} {'system':7} {'seconds':>8} {'words/s':>10} "
        f"{'analogy%':>9} {'WS353':>7} {'SimLex':>7}"
    )
    for corpus in corpora:
        path = args.data_dir / CORPORA[corpus]
        if not path.exists():
            print(f"skipping {corpus}: {path} is absent")
            continue
        with tempfile.TemporaryDirectory(prefix="gensim-input-") as tmp:
            g_path = gensim_input(path, Path(tmp))
            for model in models:
                print(header)
                rows = {}
                for system in ("kotoba", "gensim"):
                    times, quals, raw = [], [], 0
                    for r in range(args.repeat):
                        seed = args.seed + r
                        if system == "kotoba":
                            dt, wv, raw = run_kotoba(path, model, args.threads, seed, args.nominal_schedule)
                        else:
                            dt, wv = run_gensim(g_path, model, args.threads, seed)
                        times.append(dt)
                        quals.append(quality(wv, args.data_dir))
                    raw = raw or rows["kotoba"]["raw_words"]
                    sec = statistics.median(times)
                    q = {k: statistics.mean(x[k] for x in quals) for k in quals[0]}
                    rows[system] = dict(
                        corpus=corpus,
                        model=model,
                        system=system,
                        seconds=sec,
                        times=times,
                        raw_words=raw,
                        words_per_sec=raw * SETTINGS["epochs"] / sec,
                        **q,
                    )
                    r = rows[system]
                    print(
                        f"{corpus:6} {model:5} {system:7} {sec:8.2f} {r['words_per_sec'] / 1e6:9.2f}M "
                        f"{r['analogy']:9.2f} {r['ws353']:7.3f} {r['simlex']:7.3f}"
                    )
                k, g = rows["kotoba"], rows["gensim"]
                k["speedup_vs_gensim"] = g["seconds"] / k["seconds"]
                line = (
                    f"  kotoba/gensim: throughput x{k['speedup_vs_gensim']:.2f}, "
                    f"analogy {k['analogy'] - g['analogy']:+.2f} pts, "
                    f"WS353 {k['ws353'] - g['ws353']:+.3f}, SimLex {k['simlex'] - g['simlex']:+.3f}"
                )
                if not args.no_cold:
                    k["cold_seconds"] = run_kotoba_cold(path, model, args.threads, args.seed, args.nominal_schedule)
                    line += f"; kotoba cold start {k['cold_seconds']:.2f} s vs warm {k['seconds']:.2f} s"
                print(line + "\n")
                results += [k, g]
    if args.json:
        save_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
