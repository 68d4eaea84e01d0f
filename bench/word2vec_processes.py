"""kotoba vs gensim as a user runs them: whole processes at kotoba's CLI defaults (issue 10).

    .venv/bin/python bench/word2vec_processes.py [--corpus text8|imdb|both] [--model cbow|sg|both]
        [--seeds 3] [--data-dir ../shared/data] [--cache /tmp/kotoba-bench-cache] [--json out.json]
        [--kotoba-args "..."]

Each run is a fresh process, timed from start to exit (imports, scan, training, writing vectors):
``kotoba train CORPUS -o out.bin --threads 2 --seed S`` (nothing else: kotoba's defaults) against
``gensim.models.Word2Vec(corpus_file=..., workers=2)`` given the same dim 100, window 5, negative 5,
sample 1e-3, min_count 5, 5 epochs, seed S, alpha 0.05 (CBOW) / 0.025 (skip-gram; word2vec.c's
rates, which the issue's gensim figures used) and its own default min_alpha 0.0001, then
``save_word2vec_format(binary=True)``. Peak RSS is the process's own, reported by a small launcher (see ``timed``).

Runs alternate kotoba / gensim seed by seed, so load from other jobs falls on both; time is the
median over seeds, quality the mean: analogy accuracy (``questions-words.txt``, restrict_vocab
30,000), Spearman on WS353, SimLex-999 and MEN (``kotoba.vectors.evaluate``, gensim's rules).

Corpora: the text8 prefix (kotoba reads the ``.gz``, one 1.17M-word line it cuts at 10,000; gensim
gets it split into 1,000-word lines, written once before the clocks start) and IMDb (both files,
``<br />`` removed, lowercased, ``[a-z0-9]+(?:'[a-z]+)?`` tokens, one review per line: 23.3M tokens,
written once to the cache folder and read by both).
"""

from __future__ import annotations

import argparse
import compileall
import gzip
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from kotoba.vectors import WordVectors, read_word2vec_format
from kotoba.vectors.evaluate import evaluate_analogies, evaluate_word_pairs

REPO = Path(__file__).resolve().parents[1]
SETTINGS = dict(vector_size=100, window=5, negative=5, sample=1e-3, min_count=5, epochs=5)
ALPHA = {"sg": 0.025, "cbow": 0.05}
THREADS = 2
TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

GENSIM = """
import sys
from gensim.models import Word2Vec
path, out, sg, seed, alpha = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
m = Word2Vec(corpus_file=path, sg=sg, hs=0, workers={threads}, seed=seed, alpha=alpha, **{settings})
m.wv.save_word2vec_format(out, binary=True)
"""


def machine() -> str:
    """CPU model, core count and load average: what every figure was measured on."""
    model = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{model}, {os.cpu_count()} logical CPUs, load {load}"


def prepare(corpus: str, data: Path, cache: Path) -> tuple[Path, Path]:
    """(kotoba's input, gensim's input) for ``corpus``, written once into ``cache``."""
    cache.mkdir(parents=True, exist_ok=True)
    if corpus == "text8":
        src = data / "text8/text8-prefix.gz"
        out = cache / "text8-prefix.lines.txt"
        if not out.exists():
            with gzip.open(src, "rt", encoding="utf-8") as f:
                words = f.read().split()
            _write(out, (" ".join(words[i : i + 1000]) for i in range(0, len(words), 1000)))
        return src, out
    out = cache / "imdb-23m.txt"
    if not out.exists():
        _write(out, _imdb_lines([data / "imdb/imdb_reviews.tsv.gz", data / "imdb/imdb_unsup.tsv.gz"]))
    return out, out


def _imdb_lines(files: list[Path]):
    for file in files:
        with gzip.open(file, "rt", encoding="utf-8") as f:
            next(f)  # header: split label id rating text
            for line in f:
                text = line.rstrip("\n").split("\t", 4)[4].replace("<br />", " ").lower()
                yield " ".join(TOKEN.findall(text))


def _write(path: Path, lines) -> None:
    tmp = path.with_suffix(".part")
    with open(tmp, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(line + "\n")
    os.replace(tmp, path)


# A small fresh process starts the command and reports its peak RSS. Started straight from this
# one, the command's ru_maxrss would be at least this process's own peak: Linux carries the memory
# high-water mark of the process image that exec replaces into the child's figure (and Python
# starts children with vfork, whose image is this process's), and this process grows to ~200 MB
# evaluating vectors.
_LAUNCH = """
import os, sys, time
t = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
dt = time.perf_counter() - t
with open(sys.argv[1], "w") as f:
    f.write(f"{dt} {usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""


def timed(cmd: list[str]) -> tuple[float, float]:
    """Run ``cmd`` to completion: (wall seconds, peak RSS in MB), measured by a launcher process."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp, "report")
        p = subprocess.run([sys.executable, "-c", _LAUNCH, str(report), *cmd],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
        dt, rss_kb, code = report.read_text().split() if report.exists() else ("0", "0", str(p.returncode))
    if int(code) != 0 or p.returncode != 0:
        err = p.stderr.decode(errors="replace")
        raise RuntimeError(f"{cmd[:3]}... failed ({code}): {err[-2000:]}")
    return float(dt), int(rss_kb) / 1024.0  # ru_maxrss is in KiB on Linux


def kotoba_cmd(path: Path, out: Path, model: str, seed: int, extra: list[str]) -> list[str]:
    kotoba = Path(sys.executable).with_name("kotoba")
    cmd = [str(kotoba), "train", str(path), "-o", str(out), "--threads", str(THREADS), "--seed", str(seed), "--quiet"]
    return cmd + (["--sg"] if model == "sg" else []) + extra


def gensim_cmd(path: Path, out: Path, model: str, seed: int) -> list[str]:
    code = GENSIM.format(threads=THREADS, settings=SETTINGS)
    return [sys.executable, "-c", code, str(path), str(out), str(int(model == "sg")), str(seed), str(ALPHA[model])]


def quality(vectors: Path, data: Path) -> dict[str, float]:
    """Scores of the vectors file ``vectors`` (see :func:`scores`)."""
    words, vecs, _ = read_word2vec_format(vectors)
    return scores(WordVectors(words, vecs), data)


def scores(wv, data: Path) -> dict[str, float]:
    """Analogy accuracy (%, restrict_vocab 30,000) and Spearman on WS353, SimLex-999 and MEN."""
    acc, _ = evaluate_analogies(wv, data / "eval/questions-words.txt", restrict_vocab=30000)
    pairs = {
        "ws353": "eval/wordsim353.tsv",
        "simlex": "eval/simlex999.txt",
        "men": "eval/word-sim/EN-MEN-TR-3k.txt",
    }
    out = {"analogy": 100.0 * acc}
    for name, rel in pairs.items():
        out[name] = float(evaluate_word_pairs(wv, data / rel)[1][0])
    return out


def bench(corpus: str, model: str, args) -> dict[str, dict]:
    k_in, g_in = prepare(corpus, args.data_dir, args.cache)
    runs: dict[str, list] = {"kotoba": [], "gensim": []}
    with tempfile.TemporaryDirectory(prefix="w2v-bench-") as tmp:
        # as after installation: kotoba's kernels compiled and in Numba's cache before the clocks run
        warm = Path(tmp, "warm.txt")
        # (over 512 distinct words, so the word table grows once: its rehash is compiled too)
        many = " ".join(f"w{i}" for i in range(2000))
        warm.write_text("a b c d e f a b c d e f\n" * 20 + many + "\n", encoding="utf-8")
        timed(kotoba_cmd(warm, Path(tmp, "warm.bin"), model, 1, ["--min-count", "1", *shlex.split(args.kotoba_args)]))
        for r in range(args.seeds):
            seed = args.seed + r
            for system in ("kotoba", "gensim") if r % 2 == 0 else ("gensim", "kotoba"):
                out = Path(tmp, f"{system}-{seed}.bin")
                if system == "kotoba":
                    cmd = kotoba_cmd(k_in, out, model, seed, shlex.split(args.kotoba_args))
                else:
                    cmd = gensim_cmd(g_in, out, model, seed)
                load = os.getloadavg()[0]
                dt, rss = timed(cmd)
                runs[system].append(dict(seconds=dt, rss_mb=rss, load=load, seed=seed, **quality(out, args.data_dir)))
                print(f"  {corpus} {model} {system} seed {seed}: {dt:.2f} s, {rss:.0f} MB, load {load:.1f}", flush=True)
    return {s: _summary(v) for s, v in runs.items()}


def _summary(runs: list[dict]) -> dict:
    out = {"seconds": statistics.median(r["seconds"] for r in runs), "runs": runs}
    for key in ("rss_mb",):
        out[key] = max(r[key] for r in runs)
    for key in ("analogy", "ws353", "simlex", "men"):
        out[key] = statistics.mean(r[key] for r in runs)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", choices=["text8", "imdb", "both"], default="both")
    ap.add_argument("--model", choices=["cbow", "sg", "both"], default="both")
    ap.add_argument("--seeds", type=int, default=3, help="runs per system (seeds seed, seed+1, ...)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "kotoba-bench-cache")
    ap.add_argument("--kotoba-args", default="", help="extra kotoba train options (default: none, its defaults)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)
    corpora = ["text8", "imdb"] if args.corpus == "both" else [args.corpus]
    models = ["cbow", "sg"] if args.model == "both" else [args.model]
    # kotoba's modules compiled as an installed wheel's are (`make install` does it too): an edit since
    # then, or PYTHONDONTWRITEBYTECODE, would otherwise have each kotoba process compile them again
    compileall.compile_dir(REPO / "src", quiet=1)
    print(f"machine: {machine()}; python {platform.python_version()}; kotoba args: {args.kotoba_args or '(defaults)'}")
    results = []
    for corpus in corpora:
        for model in models:
            rows = bench(corpus, model, args)
            k, g = rows["kotoba"], rows["gensim"]
            ratio = g["seconds"] / k["seconds"]
            print(
                f"{corpus} {model}: time k/g {k['seconds']:.2f}/{g['seconds']:.2f} s (x{ratio:.2f}), "
                f"analogy {k['analogy']:.2f}/{g['analogy']:.2f}, WS353 {k['ws353']:.3f}/{g['ws353']:.3f}, "
                f"SimLex {k['simlex']:.3f}/{g['simlex']:.3f}, MEN {k['men']:.3f}/{g['men']:.3f}, "
                f"RSS {k['rss_mb']:.0f}/{g['rss_mb']:.0f} MB",
                flush=True,
            )
            results.append(dict(corpus=corpus, model=model, machine=machine(), **rows))
    print(f"machine after: {machine()}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
