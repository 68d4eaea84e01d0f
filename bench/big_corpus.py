"""Big-corpus load test: word2vec on a generated >= 2 GB text with a Zipf vocabulary of >= 1M types.

    python bench/big_corpus.py                      # 2 GB, 2,000,000 types, dim 50, 1 epoch, 2 threads
    python bench/big_corpus.py --gb 0.05 --types 100000   # a quick smoke run

1. Generates the text in a temporary folder, vectorised with NumPy: token ranks drawn from a
   Zipf-Mandelbrot law p(r) ~ 1 / (r + 1 + 2.7), the shape of English word frequencies, over
   ``--types`` word forms (shorter forms for frequent ranks, as in real text), sentences of
   geometric length (mean 20 tokens), one per line; ~4M tokens per NumPy step.
2. Trains on it in a child process (the library's ``train``, as ``kotoba train`` does) under a
   memory cap (``RLIMIT_DATA``: anonymous memory; the memory-mapped encoded corpus is file-backed
   and reclaimable, so it is reported apart), sampling the child's ``/proc`` status every 0.2 s.
3. Checks that every word counted at least ``min_count`` times is in the vocabulary with its
   exact count (so vocabulary counting stayed under its pruning limit), and prints one JSON line:
   sizes, times, words/s, peak resident memory (anonymous and file-backed) and the bound

       anon_bound = R0 + V * (C_VOCAB + 4 * (2 * D8 + 5 * D))

   with V the vocabulary, D the dimension, D8 = D rounded up to a multiple of 8 (the kernels'
   padded rows: input and output matrices while training), 5 * D for the unpadded float32 arrays
   alive at the peak (the two initial matrices, still referenced by ``train``, and the copies made
   at the end: input vectors, output layer, WordVectors' own), C_VOCAB bytes per word for the
   vocabulary's Python strings, dicts and count/alias/subsampling tables, R0 the interpreter with
   NumPy and Numba loaded.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

R0 = 300 << 20  # bytes: Python + NumPy + Numba + LLVM and the kernels, a generous allowance
C_VOCAB = 600  # bytes per vocabulary word, an upper estimate (see the module docstring)


def word_forms(types: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct lowercase word forms for ranks 0..types-1: -> ((types, W) uint8, (types,) int64 lengths).

    Row r holds the form of rank r left-aligned, then one space, then zero padding. The form is
    r + 26**3 in base 26 (a-z): 4 letters for the ~450,000 most frequent ranks, 5 beyond, so
    frequent words are the short ones, as in real text (about 5.2 bytes a token with the space).
    """
    r = np.arange(types, dtype=np.int64) + 26**3
    lengths = np.floor(np.log(r) / np.log(26) + 1e-9).astype(np.int64) + 1
    width = int(lengths.max())
    forms = np.zeros((types, width + 1), np.uint8)
    rest = r.copy()
    for k in range(width - 1, -1, -1):  # base-26 digits from the last one
        col = k - (width - lengths)  # where digit k of a right-aligned number lands once left-aligned
        ok = col >= 0
        forms[ok, col[ok]] = ord("a") + rest[ok] % 26
        rest //= 26
    forms[np.arange(types), lengths] = ord(" ")
    return forms, lengths


def zipf_ranks(rng: np.random.Generator, n: int, types: int, q: float = 2.7) -> np.ndarray:
    """``n`` ranks from the Zipf-Mandelbrot law p(r) ~ 1 / (r + 1 + q), r < types, by inverting its
    continuous CDF (closed form for exponent 1: no table search, O(1) a token)."""
    u = rng.random(n)
    ranks = np.floor((1 + q) * ((types + 1 + q) / (1 + q)) ** u - (1 + q)).astype(np.int64)
    return np.minimum(ranks, types - 1)


def generate(path: Path, target_bytes: int, types: int, seed: int, chunk: int = 4_000_000) -> dict:
    """Write about ``target_bytes`` of Zipf text to ``path``; -> counts per rank and sizes."""
    rng = np.random.default_rng(seed)
    forms, lengths = word_forms(types)
    counts = np.zeros(types, np.int64)
    written = tokens = lines = 0
    t0 = time.perf_counter()
    with open(path, "wb") as f:  # a scratch input for the benchmark, not a kotoba output
        while written < target_bytes:
            ids = zipf_ranks(rng, chunk, types)
            counts += np.bincount(ids, minlength=types)
            rows = forms[ids]  # (chunk, W): one gather of whole rows
            eol = np.flatnonzero(rng.random(chunk) < 1 / 20)  # sentence ends: geometric lengths, mean 20
            rows[eol, lengths[ids[eol]]] = ord("\n")
            rows[-1, lengths[ids[-1]]] = ord("\n")
            out = rows[rows != 0]  # drop the padding: the text, row after row
            f.write(out.tobytes())
            written += out.size
            tokens += chunk
            lines += len(eol)
    return {
        "bytes": written,
        "tokens": tokens,
        "lines": lines,
        "types_generated": types,
        "types_seen": int((counts > 0).sum()),
        "generate_seconds": round(time.perf_counter() - t0, 1),
        "counts": counts,
    }


def _child(args: argparse.Namespace) -> None:
    """Train in this process (run by the parent under the memory cap) and print one JSON line."""
    from kotoba.word2vec import Word2VecConfig, train

    config = Word2VecConfig(
        dim=args.dim, epochs=args.epochs, min_count=args.min_count, threads=args.threads, sg=args.sg, seed=1
    )
    t0 = time.perf_counter()
    model = train(args.corpus, config, work_dir=Path(args.work) / "encoded")
    model.wv.save_word2vec_format(Path(args.work) / "vectors.bin", binary=True)
    np.save(Path(args.work) / "vocab_counts.npy", model.counts)
    with open(Path(args.work) / "vocab_words.txt", "w", encoding="utf-8") as f:
        f.write("\n".join(model.words))
    s = model.stats
    print(
        json.dumps(
            {
                "vocab_size": len(model.words),
                "raw_words": int(s["raw_words"]),
                "train_words": int(s["train_words"]),
                "seconds": round(time.perf_counter() - t0, 1),
                "train_seconds": round(float(s["train_seconds"]), 1),
                "words_per_sec": round(float(s["raw_words"]) * args.epochs / float(s["train_seconds"])),
                "words_per_sec_end_to_end": round(float(s["words_per_sec"])),
            }
        )
    )


def _status(pid: int) -> dict[str, int]:
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                    out[key] = int(value.split()[0]) << 10
    except OSError:
        pass
    return out


def train_capped(corpus: Path, work: Path, args: argparse.Namespace) -> dict:
    """Run the child under RLIMIT_DATA = ``args.mem_cap_gb``; -> its JSON plus peak memory figures."""
    cap = int(args.mem_cap_gb * (1 << 30))

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))

    argv = [sys.executable, __file__, "--child", "--corpus", str(corpus), "--work", str(work)]
    argv += ["--dim", str(args.dim), "--epochs", str(args.epochs), "--min-count", str(args.min_count)]
    argv += ["--threads", str(args.threads)] + (["--sg"] if args.sg else [])
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, preexec_fn=limit, text=True)
    peak = {"RssAnon": 0, "RssFile": 0, "VmRSS": 0}
    while proc.poll() is None:
        st = _status(proc.pid)
        for k in peak:
            peak[k] = max(peak[k], st.get(k, 0))
        time.sleep(0.2)
    out = proc.stdout.read()
    if proc.returncode != 0:
        raise SystemExit(f"training failed (exit {proc.returncode}); memory cap {args.mem_cap_gb} GB")
    result = json.loads(out.strip().splitlines()[-1])
    result.update(
        memory_cap_gb=args.mem_cap_gb,
        peak_rss_anon_mb=round(peak["RssAnon"] / 2**20),
        peak_rss_file_mb=round(peak["RssFile"] / 2**20),
        peak_rss_mb=round(peak["VmRSS"] / 2**20),
    )
    return result


def check_vocab(work: Path, counts: np.ndarray, min_count: int, types: int) -> bool:
    """The trained vocabulary is exactly the generated words counted >= min_count, with exact counts."""
    forms, lengths = word_forms(types)
    got_words = (work / "vocab_words.txt").read_text(encoding="utf-8").split("\n")
    got = dict(zip(got_words, np.load(work / "vocab_counts.npy", allow_pickle=False).tolist()))
    keep = np.flatnonzero(counts >= min_count)
    if len(keep) != len(got):
        return False
    return all(got.get(forms[r, : lengths[r]].tobytes().decode()) == counts[r] for r in keep)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gb", type=float, default=2.0, help="text size to generate (default 2 GB)")
    ap.add_argument("--types", type=int, default=2_000_000, help="distinct word forms (default 2,000,000)")
    ap.add_argument("--dim", type=int, default=50)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--min-count", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--sg", action="store_true")
    ap.add_argument("--mem-cap-gb", type=float, default=4.0, help="RLIMIT_DATA of the training process")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--corpus", help=argparse.SUPPRESS)
    ap.add_argument("--work", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(args)
        return
    with tempfile.TemporaryDirectory(prefix="kotoba-big-") as tmp:
        work = Path(tmp)
        gen = generate(work / "big.txt", int(args.gb * 1e9), args.types, args.seed)
        counts = gen.pop("counts")
        print(json.dumps({"generated": gen}), flush=True)
        result = train_capped(work / "big.txt", work, args)
        V, D = result["vocab_size"], args.dim
        D8 = -(-D // 8) * 8
        bound = R0 + V * (C_VOCAB + 4 * (2 * D8 + 5 * D))
        result.update(
            gen,
            dim=D,
            epochs=args.epochs,
            threads=args.threads,
            sg=args.sg,
            min_count=args.min_count,
            anon_bound_mb=round(bound / 2**20),
            vocab_exact=check_vocab(work, counts, args.min_count, args.types),
            encoded_corpus_mb=round(sum(p.stat().st_size for p in (work / "encoded").iterdir()) / 2**20),
        )
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
