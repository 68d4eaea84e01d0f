"""Japanese end to end: word2vec and an LSTM language model on the nineteen Aozora works.

    .venv/bin/python bench/japanese.py [--data-dir ../shared/data] [--repeat 3] [--sg] [--lm-epochs 2]
        [--lm-tokens N] [--skip-lm] [--json out.json]

* word2vec: ``kotoba train`` and gensim 4.x ``Word2Vec(corpus_file=...)`` as whole processes on the
  same segmented text (``aozora-wakati/*.txt``, MeCab + IPADIC, 1.25M tokens) at kotoba's CLI defaults
  (CBOW, or skip-gram with ``--sg``; dim 100, window 5, negative 5, sample 1e-3, min_count 5,
  5 epochs, 2 threads). The works are single lines; both systems get them cut into 1,000-token
  lines (gensim's corpus_file mode trains nothing useful on 100k-token lines). Runs alternate
  kotoba / gensim, seeds 1..N; wall time is the median, quality the mean.
* Quality: Spearman on the Japanese Word Similarity Dataset (``eval/ja/score_*.csv``), each entry
  tokenised with MeCab + IPADIC and multi-token entries scored by the mean of their token vectors
  (:func:`kotoba.vectors.evaluate.evaluate_jwsd`), the same function for both systems' vectors;
  nearest neighbours of 猫, 先生, 探偵, 汽車 from kotoba's first run.
* LM: the book's Rnnlm (one LSTM layer, 100-dim embeddings and state) on the same works, the last 10% of
  the tokens held out; validation perplexity per epoch and a generated passage.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from kotoba.text.tokenize import get_tokenizer
from kotoba.vectors import WordVectors
from kotoba.vectors.evaluate import evaluate_jwsd

REPO = Path(__file__).resolve().parents[1]
POS = ("noun", "verb", "adj", "adv")
QUERIES = ("猫", "先生", "探偵", "汽車")
GENSIM = """
import sys
from gensim.models import Word2Vec
src, out, sg, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
m = Word2Vec(corpus_file=src, sg=sg, vector_size=100, window=5, negative=5, sample=1e-3, min_count=5,
             epochs=5, workers=2, seed=seed, alpha=0.025 if sg else 0.05)
m.wv.save_word2vec_format(out, binary=True)
"""


def machine() -> str:
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
    return f"{platform.node()}: {cpu}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"


def prepare(data: Path, tmp: Path) -> Path:
    """The nineteen works as one file of 1,000-token lines."""
    out = tmp / "aozora-1000.txt"
    with open(out, "w", encoding="utf-8") as f:
        for p in sorted((data / "aozora-wakati").glob("*.txt")):
            toks = p.read_text(encoding="utf-8").split()
            for i in range(0, len(toks), 1000):
                f.write(" ".join(toks[i : i + 1000]) + "\n")
    return out


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def quality(path: Path, data: Path, tokenize) -> dict[str, float]:
    wv = WordVectors.load_word2vec_format(path)
    out = {}
    for pos in POS:
        r = evaluate_jwsd(wv, data / f"eval/ja/score_{pos}.csv", tokenize)
        out[pos] = float(r["spearman"][0])
        out[f"{pos}_pairs"] = r["pairs"]
    return out


def word2vec(corpus: Path, tmp: Path, data: Path, sg: bool, repeat: int) -> dict:
    tokenize = get_tokenizer("mecab")
    kotoba = [str(REPO / ".venv/bin/kotoba"), "train", str(corpus), "--threads", "2", "--quiet"]
    runs: dict[str, list] = {"kotoba": [], "gensim": []}
    for seed in range(1, repeat + 1):
        for system in ("kotoba", "gensim"):
            out = tmp / f"{system}-{seed}.bin"
            if system == "kotoba":
                cmd = kotoba + ["-o", str(out), "--seed", str(seed)] + (["--sg"] if sg else [])
            else:
                cmd = [sys.executable, "-c", GENSIM, str(corpus), str(out), str(int(sg)), str(seed)]
            secs = timed(cmd)
            runs[system].append({"seconds": secs, **quality(out, data, tokenize)})
            print(f"  {system} seed {seed}: {secs:.1f} s, noun rho {runs[system][-1]['noun']:.3f}", flush=True)
    wv = WordVectors.load_word2vec_format(tmp / "kotoba-1.bin")
    neighbours = {w: [(n, round(s, 3)) for n, s in wv.most_similar(w, topn=8)] for w in QUERIES if w in wv}
    summary = {}
    for system, rs in runs.items():
        summary[system] = {"seconds": statistics.median(r["seconds"] for r in rs)}
        for k in rs[0]:
            if k != "seconds":
                summary[system][k] = float(np.mean([r[k] for r in rs]))
    summary["speedup"] = summary["gensim"]["seconds"] / summary["kotoba"]["seconds"]
    return {"summary": summary, "runs": runs, "neighbours": neighbours}


def language_model(data: Path, epochs: int, tokens: int | None, seed: int) -> dict:
    from kotoba.lm.data import load_corpus
    from kotoba.lm.generate import generate
    from kotoba.lm.trainer import RnnlmTrainer, perplexity
    from kotoba.models.rnnlm import Rnnlm
    from kotoba.optim import SGD

    files = sorted((data / "aozora-wakati").glob("*.txt"))
    ids, vocab = load_corpus(files, max_size=10000)
    ids = ids[:tokens] if tokens else ids
    n_valid = len(ids) // 10
    train_ids, valid_ids = ids[:-n_valid], ids[-n_valid:]
    rng = np.random.default_rng(seed)
    model = Rnnlm(len(vocab), 100, 100, rng=rng)
    trainer = RnnlmTrainer(model, SGD(lr=20.0))
    t0 = time.perf_counter()
    trainer.fit(train_ids, batch_size=20, time_size=35, max_epoch=epochs, max_grad=0.25, valid_ids=valid_ids, rng=rng)
    secs = time.perf_counter() - t0
    trainer.use_best()
    ppl = perplexity(model, valid_ids)
    model.reset_state()
    passage = generate(model, vocab, "吾輩 は", length=60, temperature=0.8, top_k=40, rng=rng)
    return {
        "train_tokens": len(train_ids),
        "valid_tokens": len(valid_ids),
        "vocab": len(vocab),
        "epochs": epochs,
        "seconds": secs,
        "valid_ppl_per_epoch": list(trainer.valid_ppl_list),
        "valid_ppl": ppl,
        "generated": "".join(w for w in passage if w != "<eos>"),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--sg", action="store_true", help="skip-gram instead of CBOW")
    ap.add_argument("--lm-epochs", type=int, default=2)
    ap.add_argument("--lm-tokens", type=int, default=None, help="use only the first N tokens for the LM")
    ap.add_argument("--skip-lm", action="store_true")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    print(machine())
    result: dict = {"machine": machine(), "model": "skip-gram" if args.sg else "CBOW"}
    with tempfile.TemporaryDirectory(prefix="kotoba-ja-") as t:
        tmp = Path(t)
        corpus = prepare(args.data_dir, tmp)
        result["word2vec"] = w2v = word2vec(corpus, tmp, args.data_dir, args.sg, args.repeat)
    s = w2v["summary"]
    print(
        f"word2vec {result['model']}: kotoba {s['kotoba']['seconds']:.1f} s, gensim {s['gensim']['seconds']:.1f} s "
        f"(kotoba {s['speedup']:.2f}x faster)"
    )
    for pos in POS:
        print(
            f"  {pos:4} Spearman: kotoba {s['kotoba'][pos]:.3f}, gensim {s['gensim'][pos]:.3f} "
            f"({s['kotoba'][pos + '_pairs']:.0f} pairs scored)"
        )
    for w, ns in w2v["neighbours"].items():
        print(f"  {w}: " + ", ".join(n for n, _ in ns))
    if not args.skip_lm:
        result["lm"] = lm = language_model(args.data_dir, args.lm_epochs, args.lm_tokens, seed=1)
        print(
            f"LM: {lm['train_tokens']:,} train tokens, V={lm['vocab']}, {lm['epochs']} epochs in {lm['seconds']:.0f} s,"
            f" valid ppl per epoch {[round(p, 1) for p in lm['valid_ppl_per_epoch']]}\n  generated: {lm['generated']}"
        )
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
