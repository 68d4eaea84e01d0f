"""Data-parallel and deterministic word2vec vs the single-process Hogwild trainer, on IMDb.

Runs, on the same corpus and settings: one process with 2 Hogwild threads (``train``), a local
Dask cluster of 2 worker processes × 1 kernel thread (``train_distributed``, ``local:2``), and
``deterministic`` round training with 2 threads (``train_rounds``). Prints one JSON line per run:
words/s, the payload bytes of the collective step per round and per trained word (cluster only),
and analogy / WordSim353 / SimLex-999 / MEN scores.

Corpus: both IMDb files of ``../shared/data/imdb`` (100,000 reviews, ~23M tokens), ``<br />``
removed, lowercased, tokens ``[a-z0-9]+(?:'[a-z]+)?``, one review per line, written once to
``--work``. ``--text8`` uses the text8 prefix instead (1.2M tokens, for a quick look).

    PYTHONPATH=src python bench/distributed.py --epochs 2 --runs hogwild,cluster,deterministic
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import shutil
import sys
import time
from pathlib import Path

# this file's name shadows the ``distributed`` package for scripts run from bench/: drop its folder
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from kotoba.vectors.evaluate import evaluate_analogies, evaluate_word_pairs  # noqa: E402
from kotoba.word2vec import Word2VecConfig, train  # noqa: E402
from kotoba.word2vec.distributed import train_distributed  # noqa: E402
from kotoba.word2vec.rounds import train_rounds  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def imdb_corpus(work: Path) -> Path:
    """The tokenised IMDb text, one review per line (made once)."""
    out = work / "imdb.txt"
    if out.exists():
        return out
    tmp = work / "imdb.txt.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for name in ("imdb_reviews.tsv.gz", "imdb_unsup.tsv.gz"):
            with gzip.open(DATA / "imdb" / name, "rt", encoding="utf-8") as src:
                next(src)  # header: split label id rating text
                for line in src:
                    text = line.rstrip("\n").split("\t", 4)[4].replace("<br />", " ").lower()
                    f.write(" ".join(TOKEN.findall(text)) + "\n")
    tmp.replace(out)
    return out


def text8_corpus(work: Path) -> Path:
    out = work / "text8-prefix.txt"
    if not out.exists():
        with gzip.open(DATA / "text8" / "text8-prefix.gz", "rb") as src, open(out, "wb") as f:
            shutil.copyfileobj(src, f)
    return out


def scores(wv) -> dict[str, float]:
    ev = DATA / "eval"
    analogy, _ = evaluate_analogies(wv, ev / "questions-words.txt")
    out = {"analogy": round(100 * analogy, 2)}
    for key, path in (
        ("ws353", ev / "wordsim353.tsv"),
        ("simlex", ev / "simlex999.txt"),
        ("men", ev / "word-sim" / "EN-MEN-TR-3k.txt"),
    ):
        (_, _), (rho, _), _ = evaluate_word_pairs(wv, path)
        out[key] = round(float(rho), 4)
    return out


def run(kind: str, corpus: Path, config: Word2VecConfig) -> dict:
    t0 = time.perf_counter()
    if kind == "hogwild":
        m = train(corpus, config)
    elif kind == "cluster":
        m = train_distributed(corpus, config, "local:2")
    elif kind == "deterministic":
        m = train_rounds(corpus, config)
    else:
        raise SystemExit(f"unknown run {kind!r}")
    seconds = time.perf_counter() - t0
    out = {
        "run": kind,
        "vocab": len(m.words),
        "seconds": round(seconds, 1),
        "words_per_sec": round(m.stats["raw_words"] * config.epochs / seconds),
        "train_words_per_sec": round(m.stats["train_words"] * config.epochs / m.stats["train_seconds"]),
        **scores(m.wv),
    }
    comm = m.stats.get("comm")
    if comm:
        out.update(
            rounds=comm["rounds"],
            bytes_per_round=round(comm["bytes_per_round"]),
            bytes_per_word=round(comm["bytes_per_word"], 1),
            worker_train_seconds=round(comm["worker_train_seconds"], 1),
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default="/tmp/kotoba-bench-distributed", help="folder for the tokenised corpus")
    ap.add_argument("--text8", action="store_true", help="the text8 prefix instead of IMDb")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--round-words", type=int, default=None)
    ap.add_argument("--combine", default=None)
    ap.add_argument("--shards", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--runs", default="hogwild,cluster,deterministic", help="comma-separated, run in this order")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    corpus = text8_corpus(work) if args.text8 else imdb_corpus(work)
    extra = {k: v for k, v in (("round_words", args.round_words), ("combine", args.combine), ("shards", args.shards))}
    extra = {k: v for k, v in extra.items() if v is not None}
    for kind in args.runs.split(","):
        threads = 1 if kind == "cluster" else 2
        config = Word2VecConfig(epochs=args.epochs, threads=threads, min_count=5, seed=args.seed, **extra)
        head = {"corpus": corpus.name, "epochs": args.epochs, "seed": args.seed, **extra}
        print(json.dumps({**head, **run(kind, corpus, config)}), flush=True)


if __name__ == "__main__":
    main()
