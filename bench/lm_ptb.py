"""Benchmark: the book's chapter-6 LSTM language model on PTB, kotoba vs PyTorch (CPU).

Trains kotoba's ``Rnnlm`` with the book's ``train_rnnlm.py`` settings (wordvec 100, hidden 100,
batch 20, time 35, SGD lr 20, gradient-norm clip 0.25, the book's wrapping batch layout) and
reports training tokens/s and valid/test perplexity. If ``torch`` is importable it trains an
equivalent PyTorch LM in the same run: same sizes, the *same initial weights* (copied from
kotoba's freshly built model, gate blocks moved from the book's f, g, i, o to PyTorch's
i, f, g, o), the same batches, the same clip, the same number of iterations, on the CPU with
``torch.set_num_threads`` equal to the thread count given to NumPy's BLAS; its perplexity is
measured with kotoba's own ``perplexity`` function through a small adapter, so both numbers come
from one procedure. Prints the tokens/s ratio.

    .venv/bin/python bench/lm_ptb.py --data-dir ../shared/data/ptb            # 4 epochs (long)
    .venv/bin/python bench/lm_ptb.py --data-dir ../shared/data/ptb --iters 60 --eval-tokens 20000

Timings are wall-clock on whatever the machine is doing at the time: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default=None, help="folder with ptb.{train,valid,test}.txt (default: $KOTOBA_DATA)")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--iters", type=int, default=None, help="stop after this many batches (quick run)")
    p.add_argument("--threads", type=int, default=None, help="BLAS / torch threads (default: all usable cores)")
    p.add_argument("--eval-tokens", type=int, default=None, help="score only the first N tokens of valid/test")
    p.add_argument("--no-eval", action="store_true", help="skip the perplexity evaluation")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON here")
    return p.parse_args(argv)


ARGS = parse_args() if __name__ == "__main__" else None
THREADS = (ARGS.threads if ARGS and ARGS.threads else None) or len(os.sched_getaffinity(0))
# BLAS reads its thread count when it loads, so this must happen before NumPy is imported.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[var] = str(THREADS)

import numpy as np  # noqa: E402

from kotoba.layers.time import GATE_ORDER, reorder_gates  # noqa: E402
from kotoba.lm.batch import bptt_batches, num_batches  # noqa: E402
from kotoba.lm.data import load_ptb  # noqa: E402
from kotoba.lm.trainer import RnnlmTrainer, perplexity  # noqa: E402
from kotoba.models.rnnlm import Rnnlm  # noqa: E402
from kotoba.optim import SGD  # noqa: E402

# The book's ch06/train_rnnlm.py
BATCH, TIME, WORDVEC, HIDDEN, LR, MAX_GRAD = 20, 35, 100, 100, 20.0, 0.25
TORCH_GATE_ORDER = ("i", "f", "g", "o")  # torch.nn.LSTM's row blocks; kotoba's (the book's) is GATE_ORDER


def train_kotoba(model, train_ids, epochs, iters):
    trainer = RnnlmTrainer(model, SGD(lr=LR))
    t0 = time.perf_counter()
    trainer.fit(
        train_ids,
        batch_size=BATCH,
        time_size=TIME,
        max_epoch=epochs,
        max_grad=MAX_GRAD,
        wrap=True,
        max_iters=iters,
        lr_decay=1.0,
    )
    seconds = time.perf_counter() - t0
    n = num_batches(len(train_ids), BATCH, TIME)
    done = trainer.epoch * n + trainer.iteration
    last_ppl = trainer.ppl_list[-1] if trainer.ppl_list else float("nan")
    return done, seconds, last_ppl


def torch_model_from(kotoba_params, torch):
    """An nn.Module with exactly kotoba's Rnnlm weights: (embed_W, Wx, Wh, b, affine_W, affine_b)."""
    nn = torch.nn
    embed_W, Wx, Wh, b, affine_W, affine_b = (np.array(p, dtype=np.float32) for p in kotoba_params)
    V, D = embed_W.shape
    H = Wh.shape[0]

    class TorchLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(V, D)
            self.lstm = nn.LSTM(D, H, batch_first=True)
            self.affine = nn.Linear(H, V)

        def forward(self, x, state=None):
            hs, state = self.lstm(self.embed(x), state)
            return self.affine(hs), state

    m = TorchLM()
    to_torch = lambda w: torch.from_numpy(reorder_gates(w, GATE_ORDER, TORCH_GATE_ORDER))  # noqa: E731
    with torch.no_grad():
        m.embed.weight.copy_(torch.from_numpy(embed_W))
        m.lstm.weight_ih_l0.copy_(to_torch(Wx).T)  # torch computes x @ W_ih.T
        m.lstm.weight_hh_l0.copy_(to_torch(Wh).T)
        m.lstm.bias_ih_l0.copy_(to_torch(b))
        m.lstm.bias_hh_l0.zero_()
        m.affine.weight.copy_(torch.from_numpy(affine_W).T)
        m.affine.bias.copy_(torch.from_numpy(affine_b))
    # torch's LSTM has two bias vectors that always add up; training both would take two SGD
    # steps on the one bias kotoba has (and count its gradient twice in the clip norm).
    m.lstm.bias_hh_l0.requires_grad_(False)
    return m


class TorchAdapter:
    """kotoba's predict/reset_state interface over the torch model, so ``perplexity`` can score it."""

    def __init__(self, model, torch):
        self.model, self.torch, self.state = model, torch, None

    def reset_state(self):
        self.state = None

    def predict(self, xs, train_flg=False):
        with self.torch.no_grad():
            out, self.state = self.model(self.torch.from_numpy(xs.astype(np.int64)), self.state)
        return out.numpy()


def train_torch(model, train_ids, iters, torch):
    F = torch.nn.functional
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=LR)
    done, losses = 0, []
    t0 = time.perf_counter()
    while done < iters:
        state = None  # each epoch starts from a zero state, as kotoba's trainer does
        for xs, ts in bptt_batches(train_ids, BATCH, TIME, wrap=True):
            if state is not None:
                state = tuple(s.detach() for s in state)  # truncated BPTT
            logits, state = model(torch.from_numpy(xs.astype(np.int64)), state)
            loss = F.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), torch.from_numpy(ts.astype(np.int64)).reshape(-1)
            )
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, MAX_GRAD)
            opt.step()
            losses.append(loss.item())
            done += 1
            if done >= iters:
                break
    seconds = time.perf_counter() - t0
    tail = losses[-((len(losses) - 1) % 20 + 1) :]  # the last block of up to 20, as kotoba's ppl_list
    return done, seconds, float(np.exp(np.mean(tail)))


def evaluate(model, valid, test, eval_tokens):
    cut = (lambda ids: ids[:eval_tokens]) if eval_tokens else (lambda ids: ids)
    return (
        perplexity(model, cut(valid), batch_size=10, time_size=TIME),
        perplexity(model, cut(test), batch_size=10, time_size=TIME),
    )


def main(args: argparse.Namespace) -> int:
    train, vocab = load_ptb(args.data_dir, "train")
    valid, _ = load_ptb(args.data_dir, "valid")
    test, _ = load_ptb(args.data_dir, "test")
    V = len(vocab)
    n = num_batches(len(train), BATCH, TIME)
    iters = min(args.iters, n * args.epochs) if args.iters else n * args.epochs
    print(
        f"PTB: {len(train):,} train tokens, V={V}; {n} batches/epoch; {iters} iterations; "
        f"threads={THREADS}; batch {BATCH} x time {TIME}, wordvec {WORDVEC}, hidden {HIDDEN}, "
        f"SGD lr {LR}, clip {MAX_GRAD}"
    )

    model = Rnnlm(V, WORDVEC, HIDDEN, rng=np.random.default_rng(args.seed))
    init = [p.copy() for p in model.params]
    done, secs, last_ppl = train_kotoba(model, train, args.epochs, iters)
    res = {
        "threads": THREADS,
        "iterations": done,
        "kotoba": {"seconds": secs, "tokens_per_s": done * BATCH * TIME / secs, "last_train_ppl": last_ppl},
    }
    print(
        f"kotoba : {done} iters in {secs:.1f} s = {res['kotoba']['tokens_per_s']:,.0f} tokens/s; "
        f"train ppl (last 20 iters) {last_ppl:.1f}"
    )
    if not args.no_eval:
        t0 = time.perf_counter()
        res["kotoba"]["valid_ppl"], res["kotoba"]["test_ppl"] = evaluate(model, valid, test, args.eval_tokens)
        print(
            f"kotoba : valid ppl {res['kotoba']['valid_ppl']:.2f}, test ppl {res['kotoba']['test_ppl']:.2f} "
            f"({time.perf_counter() - t0:.1f} s to evaluate)"
        )

    torch = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            print("torch is not installed: no PyTorch comparison")
    if torch is not None:
        torch.set_num_threads(THREADS)
        torch.manual_seed(args.seed)
        tm = torch_model_from(init, torch)
        t_done, t_secs, t_ppl = train_torch(tm, train, done, torch)
        res["torch"] = {
            "version": torch.__version__,
            "seconds": t_secs,
            "tokens_per_s": t_done * BATCH * TIME / t_secs,
            "last_train_ppl": t_ppl,
        }
        print(
            f"torch  : {t_done} iters in {t_secs:.1f} s = {res['torch']['tokens_per_s']:,.0f} tokens/s; "
            f"train ppl (last 20 iters) {t_ppl:.1f}  (torch {torch.__version__}, CPU, {THREADS} threads)"
        )
        if not args.no_eval:
            res["torch"]["valid_ppl"], res["torch"]["test_ppl"] = evaluate(
                TorchAdapter(tm, torch), valid, test, args.eval_tokens
            )
            print(f"torch  : valid ppl {res['torch']['valid_ppl']:.2f}, test ppl {res['torch']['test_ppl']:.2f}")
        res["speed_ratio_kotoba_over_torch"] = res["kotoba"]["tokens_per_s"] / res["torch"]["tokens_per_s"]
        print(f"tokens/s ratio kotoba / torch = {res['speed_ratio_kotoba_over_torch']:.2f}")
    if args.json:
        from kotoba.io import save_json

        save_json(args.json, res)
    return 0


if __name__ == "__main__":
    from kotoba.errors import KotobaError

    try:
        sys.exit(main(ARGS))
    except KotobaError as e:
        print(f"lm_ptb: error: {e}", file=sys.stderr)
        sys.exit(2)
