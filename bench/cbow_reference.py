"""Speed of the reference (NumPy) layers: CBOW with negative sampling on PTB.

The model is the book's ``ch04/cbow.py`` built from :mod:`kotoba.layers` — ``2·window``
Embedding layers sharing ``W_in``, their mean, and a NegativeSamplingLoss on ``W_out`` — trained
in float32 for a fixed number of iterations. It reports target words per second (training loop
only: batching, forward, backward, update; not data loading), the same per CPU-second of this
process, and the mean loss of every 100 iterations.

``--update sparse`` (default) passes the layers' ``row_grads`` to the optimizer so that only the
rows a batch touched are updated; ``--update dense`` is the book's way (merge the shared
gradients, update whole matrices), kept for comparison.

Example::

    .venv/bin/python bench/cbow_reference.py --iters 2000 --optimizer sgd
    .venv/bin/python bench/cbow_reference.py --iters 2000 --optimizer sparse-adam --profile
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import sys
import time
from pathlib import Path

import numpy as np

from kotoba.io import save_json
from kotoba.layers import Embedding, NegativeSamplingLoss
from kotoba.lm.data import load_corpus
from kotoba.optim import SGD, Adam, SparseAdam, merge_shared

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ptb" / "ptb.train.txt"


class BenchCBOW:
    """The book's CBOW (negative sampling), with ``row_grads`` collected next to ``grads``.

    ``contexts: (N, 2w) int, target: (N,) int -> loss``.
    """

    def __init__(
        self, vocab_size: int, hidden_size: int, window_size: int, corpus: np.ndarray, rng: np.random.Generator
    ):
        # word2vec.c's initialisation: small uniform W_in, zero W_out.
        W_in = ((rng.random((vocab_size, hidden_size), dtype=np.float32) - 0.5) / hidden_size).astype(np.float32)
        W_out = np.zeros((vocab_size, hidden_size), dtype=np.float32)
        self.in_layers = [Embedding(W_in) for _ in range(2 * window_size)]
        self.ns_loss = NegativeSamplingLoss(W_out, corpus, power=0.75, sample_size=5, rng=rng)
        self.params, self.grads, self.row_grads = [], [], []
        for layer in self.in_layers + [self.ns_loss]:
            self.params += layer.params
            self.grads += layer.grads
            self.row_grads += layer.row_grads
        self.word_vecs = W_in

    def forward(self, contexts: np.ndarray, target: np.ndarray) -> float:
        h = self.in_layers[0].forward(contexts[:, 0])
        for i, layer in enumerate(self.in_layers[1:], start=1):
            h += layer.forward(contexts[:, i])
        h *= np.float32(1.0 / len(self.in_layers))
        return self.ns_loss.forward(h, target)

    def backward(self, dout: float = 1) -> None:
        dh = self.ns_loss.backward(dout)
        dh *= np.float32(1.0 / len(self.in_layers))
        for layer in self.in_layers:
            layer.backward(dh)


def contexts_target(corpus: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """The book's ``create_contexts_target`` without the Python loop: ``(L−2w, 2w), (L−2w,)``."""
    n = corpus.size - 2 * window
    offsets = [o for o in range(-window, window + 1) if o != 0]
    contexts = np.stack([corpus[window + o : window + o + n] for o in offsets], axis=1)
    return contexts, corpus[window : window + n]


def make_optimizer(name: str, lr: float | None):
    if name == "sgd":
        return SGD(lr if lr is not None else 2.5)
    if name == "sparse-adam":
        return SparseAdam(lr if lr is not None else 0.001)
    return Adam(lr if lr is not None else 0.001)


def train(args: argparse.Namespace) -> dict:
    t0 = time.perf_counter()
    corpus, vocab = load_corpus(args.data)
    contexts, target = contexts_target(corpus, args.window)
    load_s = time.perf_counter() - t0
    rng = np.random.default_rng(args.seed)
    if args.model == "kotoba":
        from kotoba.models import CBOW

        model = CBOW(len(vocab), args.hidden, args.window, corpus, rng)
        if not hasattr(model, "row_grads"):
            # Same order as model.params: the context Embeddings, then the sampling loss.
            model.row_grads = [rg for layer in model.in_layers + [model.ns_loss] for rg in layer.row_grads]
    else:
        model = BenchCBOW(len(vocab), args.hidden, args.window, corpus, rng)
    opt = make_optimizer(args.optimizer, args.lr)

    n, B = target.size, args.batch
    order = rng.permutation(n)
    pos = 0
    losses: list[float] = []
    curve: list[float] = []
    start, cpu_start = time.perf_counter(), time.process_time()
    for it in range(args.iters):
        if pos + B > n:  # next epoch
            order = rng.permutation(n)
            pos = 0
        idx = order[pos : pos + B]
        pos += B
        loss = model.forward(contexts[idx], target[idx])
        model.backward()
        if args.update == "sparse":
            opt.update(model.params, model.grads, model.row_grads)
        else:
            params, grads = merge_shared(model.params, model.grads, compare_values=False)
            opt.update(params, grads)
        losses.append(loss)
        if (it + 1) % 100 == 0:
            curve.append(float(np.mean(losses[-100:])))
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    return {
        "data": str(args.data),
        "vocab_size": len(vocab),
        "corpus_tokens": int(corpus.size),
        "iters": args.iters,
        "batch": B,
        "window": args.window,
        "hidden": args.hidden,
        "model": args.model,
        "optimizer": args.optimizer,
        "update": args.update,
        "lr": getattr(opt, "lr"),
        "load_s": round(load_s, 2),
        "train_s": round(elapsed, 3),
        "targets_per_s": round(args.iters * B / elapsed),
        # CPU time of this process (all its threads): less disturbed by other jobs on a busy machine.
        "cpu_s": round(cpu, 3),
        "targets_per_cpu_s": round(args.iters * B / cpu),
        "loss_per_100_iters": [round(x, 4) for x in curve],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="ptb.train.txt (default: %(default)s)")
    ap.add_argument("--iters", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--window", type=int, default=5)
    ap.add_argument("--hidden", type=int, default=100)
    ap.add_argument("--optimizer", choices=("sgd", "sparse-adam", "adam"), default="sgd")
    ap.add_argument(
        "--lr",
        type=float,
        default=None,
        help="default 2.5 for sgd (the loss is a batch mean, so this is word2vec's 0.025 per target at batch 100), "
        "0.001 for the Adams",
    )
    ap.add_argument("--update", choices=("sparse", "dense"), default="sparse")
    ap.add_argument(
        "--model",
        choices=("inline", "kotoba"),
        default="inline",
        help="inline: the model defined here; kotoba: kotoba.models.CBOW (same layers)",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--profile", action="store_true", help="print the top of a cProfile of the run")
    ap.add_argument("--json", type=Path, default=None, help="also write the results to this file")
    args = ap.parse_args(argv)
    if args.update == "sparse" and args.optimizer == "adam":
        ap.error("--update sparse needs --optimizer sgd or sparse-adam (dense Adam reads whole matrices)")
    if not args.data.is_file():
        print(f"cbow_reference: data file {args.data} not found (pass --data)", file=sys.stderr)
        return 2
    if args.profile:
        prof = cProfile.Profile()
        result = prof.runcall(train, args)
        pstats.Stats(prof).sort_stats("tottime").print_stats(18)
    else:
        result = train(args)
    print(json.dumps(result, indent=1))
    if args.json is not None:
        save_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
