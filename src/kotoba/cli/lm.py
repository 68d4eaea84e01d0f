"""CLI commands: ``kotoba lm train | eval | generate | import-book | download``.

Heavy modules are imported inside the handlers so that ``kotoba --help`` stays quick.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import sys
import time
from typing import Any

from ..errors import ConfigError, DataError
from .common import add_text_options, tokenizer_from

#: ``--model`` choice -> model class (kotoba.models.rnnlm); sizes left unset take the class's defaults
MODELS = {"rnn": "SimpleRnnlm", "lstm": "Rnnlm", "better": "BetterRnnlm"}

#: What a user of this CLI does about missing PTB files.
_HOW_TO_GET_PTB = (
    "pass --data-dir DIR (or set KOTOBA_DATA=DIR) to a folder holding ptb.train.txt, ptb.valid.txt and "
    "ptb.test.txt, or fetch them with `kotoba lm download --dest DIR`"
)


def register(sub: argparse._SubParsersAction) -> None:
    """Add this group's subcommands to the top-level parser."""
    lm = sub.add_parser("lm", help="RNN/LSTM language models: train, evaluate, generate text")
    lsub = lm.add_subparsers(dest="lm_command", metavar="SUBCOMMAND", required=True)
    data_dir_help = "folder holding ptb.{train,valid,test}.txt (default: $KOTOBA_DATA)"

    p = lsub.add_parser(
        "train",
        help="train a language model and save a checkpoint",
        epilog="example:\n  kotoba lm train --data ptb --data-dir ../shared/data/ptb -o lstm.npz --plot lm.png\n"
        "  kotoba lm train --data neko.zip --lang ja --valid bottyan.txt -o neko-lm.npz",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--data",
        nargs="+",
        default=["ptb"],
        metavar="ptb|FILE",
        help="'ptb' (default) or text files, one sentence per line",
    )
    p.add_argument("--valid", metavar="FILE", help="validation text for --data FILE... (PTB uses ptb.valid.txt)")
    p.add_argument("--data-dir", default=None, help=data_dir_help)
    p.add_argument("--vocab-size", type=int, default=10000, help="vocabulary cap for --data FILE... (default 10000)")
    p.add_argument("--min-count", type=int, default=1, help="drop rarer words to <unk> (--data FILE... only)")
    add_text_options(p)
    p.add_argument(
        "--model",
        choices=list(MODELS),
        default="lstm",
        help="rnn: SimpleRnnlm; lstm: Rnnlm (default); better: BetterRnnlm (2 LSTMs, dropout, tied weights)",
    )
    p.add_argument("--wordvec", type=int, default=None, help="word vector size (default: the model's, 100; better 650)")
    p.add_argument("--hidden", type=int, default=None, help="hidden size (default: the model's, 100; better 650)")
    p.add_argument("--batch-size", type=int, default=20)
    p.add_argument("--time-size", type=int, default=35, help="truncated-BPTT length")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: 20 for sgd, 0.001 for adam)")
    p.add_argument("--optimizer", choices=("sgd", "adam"), default="sgd")
    p.add_argument("--max-grad", type=float, default=0.25, help="clip the global gradient norm (0: no clipping)")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument(
        "--lr-decay",
        type=float,
        default=4.0,
        help="divide the lr by this when the valid perplexity does not improve (1: never)",
    )
    p.add_argument("--dropout", type=float, default=0.5, help="dropout ratio (better only)")
    p.add_argument("--seed", type=int, default=0)
    wrap = p.add_mutually_exclusive_group()
    wrap.add_argument(
        "--wrap", dest="wrap", action="store_true", help="batch rows wrap around the corpus end as in the book"
    )
    wrap.add_argument("--no-wrap", dest="wrap", action="store_false", help="stop each row at the corpus end (default)")
    p.set_defaults(wrap=False)
    p.add_argument("-o", "--output", required=True, metavar="CKPT", help="checkpoint path to write")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--plot", metavar="PNG", help="write the training perplexity curve here")
    p.add_argument(
        "--state",
        metavar="NPZ",
        help="keep a resumable trainer state here (after every epoch and every --state-every batches)",
    )
    p.add_argument("--state-every", type=int, default=None, metavar="N", help="also save --state every N batches")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue from --state (same options); the result equals an uninterrupted run",
    )
    p.set_defaults(func=cmd_train)

    p = lsub.add_parser(
        "eval",
        help="perplexity of a checkpoint on a PTB split or text files",
        epilog="example:\n  kotoba lm eval lstm.npz --split test --data-dir ../shared/data/ptb\n"
        "  kotoba lm eval neko-lm.npz --data kokoro.txt      # split into words as the model's training text was",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("checkpoint", metavar="CKPT")
    p.add_argument("--split", default="test", choices=("train", "valid", "test"), help="PTB split (default test)")
    p.add_argument("--data", nargs="+", metavar="FILE", help="evaluate on these text files instead of PTB")
    p.add_argument("--data-dir", default=None, help=data_dir_help)
    p.add_argument("--batch-size", type=int, default=10)
    p.add_argument("--time-size", type=int, default=35)
    p.add_argument("--json", action="store_true", help="print one JSON object (last line) instead of text")
    p.set_defaults(func=cmd_eval)

    p = lsub.add_parser(
        "generate",
        help="sample text from a checkpoint",
        epilog='example:\n  kotoba lm generate lstm.npz --start "the meaning of" --temperature 0.8 --top-k 40\n'
        "  kotoba lm generate neko-lm.npz --start 吾輩は --length 80      # Japanese: tokenised, joined without spaces",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("checkpoint", metavar="CKPT")
    p.add_argument(
        "--start",
        default="",
        help="start phrase, split into words as the training text was (default: a sentence start)",
    )
    p.add_argument("--length", type=int, default=50, help="words to generate at most")
    p.add_argument("--temperature", type=float, default=1.0, help="softmax temperature; 0 = greedy")
    p.add_argument("--top-k", type=int, default=None, help="sample among the k best words only")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--allow-unk", action="store_true", help="let <unk> be sampled")
    p.add_argument("--no-stop", action="store_true", help="keep going past <eos> (shown as new lines)")
    p.set_defaults(func=cmd_generate)

    p = lsub.add_parser("import-book", help="convert weights pickled by the book's code to a kotoba checkpoint")
    p.add_argument("pickle", metavar="PKL", help="Rnnlm.pkl / BetterRnnlm.pkl from the book's save_params")
    p.add_argument("--model", choices=("rnnlm", "better"), default="rnnlm")
    p.add_argument("--data-dir", default=None, help=data_dir_help + "; needed to map the book's word ids")
    p.add_argument("-o", "--output", required=True, metavar="CKPT")
    p.set_defaults(func=cmd_import_book)

    p = lsub.add_parser("download", help="download the PTB files and check their SHA-256")
    p.add_argument("--dest", default=None, help="target folder (default: $KOTOBA_DATA)")
    p.add_argument("--url", default=None, help="base URL to fetch ptb.*.txt from (default: the book's source)")
    p.set_defaults(func=cmd_download)


def _say(args: argparse.Namespace, msg: str) -> None:
    if not getattr(args, "quiet", False):
        print(msg, file=sys.stderr)


def _positive(name: str, value: float | int | None) -> None:
    if value is not None and not (value > 0 and math.isfinite(value)):  # NaN fails every comparison
        raise ConfigError(f"--{name} must be a finite number > 0, got {value}")


def _ptb_flags(cmd):
    """Run a command; a missing PTB folder or file is reported with the flags that fix it."""

    @functools.wraps(cmd)
    def run(args: argparse.Namespace) -> int:
        from ..lm.data import PtbNotFoundError

        try:
            return cmd(args)
        except PtbNotFoundError as e:
            raise DataError(f"{e}; {_HOW_TO_GET_PTB}") from e

    return run


def _load_training_data(args):
    """-> (train ids, valid ids or None, vocab, description of the data)."""
    from ..lm.data import build_lm_vocab, encode_lm, load_ptb

    if args.data == ["ptb"]:
        if args.valid:
            raise ConfigError("--valid is for --data FILE...; PTB uses ptb.valid.txt")
        train, vocab = load_ptb(args.data_dir, "train")
        valid, _ = load_ptb(args.data_dir, "valid")
        return train, valid, vocab, "ptb"
    if "ptb" in args.data:
        raise ConfigError("--data takes either 'ptb' or text files, not both")
    tokenizer = tokenizer_from(args)
    vocab = build_lm_vocab(args.data, max_size=args.vocab_size, min_count=args.min_count, tokenizer=tokenizer)
    train = encode_lm(args.data, vocab, tokenizer)
    valid = encode_lm(args.valid, vocab, tokenizer) if args.valid else None
    return train, valid, vocab, [os.path.abspath(p) for p in args.data]


def _check_train_args(args: argparse.Namespace) -> float:
    """Flag values the library would refuse in its own words; -> the learning rate."""
    lr = args.lr if args.lr is not None else (20.0 if args.optimizer == "sgd" else 1e-3)
    for name, v in (
        ("wordvec", args.wordvec),
        ("hidden", args.hidden),
        ("batch-size", args.batch_size),
        ("time-size", args.time_size),
        ("lr", lr),
        ("epochs", args.epochs),
        ("vocab-size", args.vocab_size),
        ("lr-decay", args.lr_decay),
        ("state-every", args.state_every),
    ):
        _positive(name, v)
    if not (args.max_grad >= 0 and math.isfinite(args.max_grad)):
        raise ConfigError(f"--max-grad must be a finite number >= 0, got {args.max_grad}")
    if not 0 <= args.dropout < 1:
        raise ConfigError(f"--dropout must be in [0, 1), got {args.dropout}")
    if args.resume and not args.state:
        raise ConfigError("--resume needs --state NPZ (the file a previous run kept)")
    return lr


def _model_config(args: argparse.Namespace, vocab_size: int) -> dict:
    """The ``config`` :func:`kotoba.models.rnnlm.build_lm` builds from: sizes given on the command line only."""
    config = {"class": MODELS[args.model], "vocab_size": vocab_size}
    if args.wordvec is not None:
        config["wordvec_size"] = args.wordvec
    if args.hidden is not None:
        config["hidden_size"] = args.hidden
    if args.model == "better":
        config["dropout_ratio"] = args.dropout
    return config


class _ProgressPrinter:
    """The ``progress`` callback of ``kotoba lm train``: a tqdm bar per epoch, a line per validation."""

    def __init__(self) -> None:
        self.bar: Any = None  # the tqdm bar of the epoch under way

    def __call__(self, p) -> None:
        from tqdm.auto import tqdm

        if p.kind == "batch":
            if self.bar is None:
                self.bar = tqdm(
                    total=p.batches_per_epoch,
                    initial=p.iteration - 1,
                    desc=f"epoch {p.epoch}/{p.max_epoch}",
                    unit="batch",
                    leave=False,
                    file=sys.stderr,
                )
            self.bar.set_postfix(ppl=f"{p.train_ppl:.1f}", tok_s=f"{p.tokens_per_s:.0f}", refresh=False)
            self.bar.update(1)
            if p.iteration == p.batches_per_epoch:
                self.close()
        else:
            self.close()
            lr = "?" if p.lr is None else f"{p.lr:.4g}"
            tqdm.write(
                f"epoch {p.epoch}: valid perplexity {p.valid_ppl:.2f} (best {p.best_ppl:.2f}), lr {lr}",
                file=sys.stderr,
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _train_meta(args: argparse.Namespace, config: dict, source, lr: float, seconds: float, trainer) -> dict:
    """What ``kotoba lm train`` records in the checkpoint's ``meta``: the options and the curves."""
    return {
        "model": args.model,
        "wordvec_size": config["wordvec_size"],
        "hidden_size": config["hidden_size"],
        "data": source,
        "tokenizer": tokenizer_from(args),
        "optimizer": args.optimizer,
        "lr": lr,
        "lr_decay": args.lr_decay,
        "max_grad": args.max_grad,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "time_size": args.time_size,
        "wrap": args.wrap,
        "seed": args.seed,
        "dropout": args.dropout if args.model == "better" else None,
        "train_seconds": round(seconds, 2),
        "train_perplexity": trainer.ppl_list,
        "valid_perplexity": trainer.valid_ppl_list,
        "best_epoch": trainer.best_epoch,
    }


@_ptb_flags
def cmd_train(args: argparse.Namespace) -> int:
    import numpy as np

    from ..lm.batch import num_batches
    from ..lm.checkpoint import save_lm
    from ..lm.trainer import FitConfig, RnnlmTrainer
    from ..models.rnnlm import build_lm
    from ..optim import SGD, Adam

    lr = _check_train_args(args)
    train, valid, vocab, source = _load_training_data(args)
    n_batches = num_batches(len(train), args.batch_size, args.time_size)  # fails early on a tiny corpus
    rng = np.random.default_rng(args.seed)
    model = build_lm(_model_config(args, len(vocab)), rng=rng)
    D, H = model.config["wordvec_size"], model.config["hidden_size"]
    trainer = RnnlmTrainer(model, SGD(lr=lr) if args.optimizer == "sgd" else Adam(lr=lr))
    if args.resume:
        if not os.path.exists(args.state):
            raise DataError(f"--state {args.state}: no such file to resume from")
        trainer.load_state(args.state)
        _say(args, f"resuming from {args.state} at epoch {trainer.epoch + 1}, batch {trainer.iteration}")
    _say(args, f"training {args.model} (V={len(vocab)}, D={D}, H={H}) on {len(train):,} tokens")
    t0 = time.perf_counter()

    def save_best(model, info: dict) -> None:
        # write -o at every new best validation perplexity, so a run killed later keeps its best model
        save_lm(args.output, model, vocab, meta={"model": args.model, "data": source, "partial": True, **info})

    config = FitConfig(
        batch_size=args.batch_size,
        time_size=args.time_size,
        max_epoch=args.epochs,
        max_grad=args.max_grad or None,
        eval_interval=min(20, n_batches),  # a tiny corpus still gets a curve point per epoch
        lr_decay=args.lr_decay,
        wrap=args.wrap,
        state_every=args.state_every,
    )
    printer = None if args.quiet else _ProgressPrinter()
    try:
        trainer.fit(
            train,
            config,
            valid_ids=valid,
            checkpoint=save_best if valid is not None else None,
            state_path=args.state,
            rng=None if args.resume else rng,
            progress=printer,
            should_stop=getattr(args, "should_stop", None),  # set by kotoba.cli.main: Ctrl-C / SIGTERM
        )
    finally:
        if printer is not None:
            printer.close()
    seconds = time.perf_counter() - t0
    if trainer.best_params is not None:
        trainer.use_best()  # the epoch with the best validation perplexity, as the book keeps
    meta = _train_meta(args, model.config, source, lr, seconds, trainer)
    if trainer.ppl_list:
        _say(args, f"last training perplexity {trainer.ppl_list[-1]:.2f}")
    if trainer.best_ppl is not None:
        _say(args, f"best valid perplexity {trainer.best_ppl:.2f} (epoch {trainer.best_epoch})")
    model.reset_state()
    save_lm(args.output, model, vocab, meta=meta)
    if args.plot:
        trainer.plot(args.plot)
    print(f"saved {args.output} ({seconds:.1f} s)")
    return 0


@_ptb_flags
def cmd_eval(args: argparse.Namespace) -> int:
    from ..lm.checkpoint import load_lm
    from ..lm.data import encode_lm, ptb_path
    from ..lm.trainer import perplexity

    _positive("batch-size", args.batch_size)
    _positive("time-size", args.time_size)
    paths = args.data if args.data else [ptb_path(args.data_dir, args.split)]  # a missing file before the load
    model, vocab, meta = load_lm(args.checkpoint)
    ids = encode_lm(paths, vocab, _tokenizer_of(meta) if args.data else "whitespace")
    if len(ids) < 2:
        raise DataError("evaluation text needs at least 2 tokens")
    model.reset_state()
    ppl = float(perplexity(model, ids, batch_size=args.batch_size, time_size=args.time_size))
    what = ", ".join(str(p) for p in paths)
    if args.json:
        print(
            json.dumps({"checkpoint": str(args.checkpoint), "data": what, "tokens": int(len(ids)), "perplexity": ppl})
        )
    else:
        print(f"perplexity {ppl:.2f} on {what} ({len(ids):,} tokens)")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    import numpy as np

    from ..lm.checkpoint import load_lm
    from ..lm.data import EOS
    from ..lm.generate import generate
    from ..text.tokenize import detokenize, get_tokenizer

    model, vocab, meta = load_lm(args.checkpoint)
    tokenizer = _tokenizer_of(meta)
    words = generate(
        model,
        vocab,
        get_tokenizer(tokenizer)(args.start),
        length=args.length,
        temperature=args.temperature,
        top_k=args.top_k,
        rng=np.random.default_rng(args.seed),
        skip_unk=not args.allow_unk,
        stop_at_eos=not args.no_stop,
    )
    lines = detokenize(words, tokenizer).split(EOS)
    print("\n".join(line.strip() for line in lines))
    return 0


def _tokenizer_of(meta: dict) -> str:
    """The tokenizer a checkpoint's training text was read with (checkpoints before it was recorded: whitespace)."""
    return str(meta.get("tokenizer") or "whitespace")


@_ptb_flags
def cmd_import_book(args: argparse.Namespace) -> int:
    from ..lm.book_import import import_book

    meta = import_book(args.pickle, model=args.model, data_dir=args.data_dir, out=args.output)
    print(
        f"saved {args.output} ({meta['model']}: V={meta['vocab_size']}, D={meta['wordvec_size']}, "
        f"H={meta['hidden_size']})"
    )
    return 0


def cmd_download(args: argparse.Namespace) -> int:
    from ..lm.data import DATA_ENV, PTB_BASE_URL, download_ptb

    dest = args.dest or os.environ.get(DATA_ENV)
    if not dest:
        raise ConfigError(f"say where to put the files: --dest DIR (or set {DATA_ENV})")
    paths = download_ptb(dest, base_url=args.url or PTB_BASE_URL)
    for p in paths:
        print(p)
    return 0
