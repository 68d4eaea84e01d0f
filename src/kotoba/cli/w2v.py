"""CLI command ``kotoba train``: word2vec vectors from a text corpus.

Hyper-parameter options default to ``None`` here so that the defaults live in one place,
:class:`kotoba.word2vec.Word2VecConfig`; only the options given are passed on. Heavy modules
(Numba kernels) are imported inside the handler so that ``kotoba --help`` stays quick.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import ConfigError
from .common import add_text_options, tokenizer_from

#: output suffixes that select the text format when --format is not given
_TEXT_SUFFIXES = (".txt", ".vec", ".txt.gz", ".vec.gz")

# (option, config field, type, help) for options passed to Word2VecConfig only when given
_HYPER = [
    ("--dim", "dim", int, "vector size (default 100)"),
    ("--window", "window", int, "max context words on each side (default 5)"),
    ("--negative", "negative", int, "negative samples per word; 0 with --hs for pure hierarchical softmax (default 5)"),
    ("--min-count", "min_count", int, "drop words seen fewer times (default 5)"),
    ("--sample", "sample", float, "frequent-word subsampling threshold; 0 turns it off (default 1e-3)"),
    ("--epochs", "epochs", int, "passes over the corpus (default 5)"),
    ("--alpha", "alpha", float, "initial learning rate (default 0.05 for CBOW, 0.025 for skip-gram)"),
    ("--min-alpha", "min_alpha", float, "final learning rate (default alpha * 0.1; word2vec.c: alpha * 1e-4)"),
    (
        "--cbow-block",
        "cbow_block",
        int,
        "CBOW targets sharing one set of negatives, updated as one minibatch; 1 = word2vec.c (default 8)",
    ),
    (
        "--sg-block",
        "sg_block",
        int,
        "skip-gram windows whose pairs share one set of negatives (default 1: one set per window)",
    ),
    (
        "--hot-rows",
        "hot_rows",
        int,
        "CBOW, several threads: each thread's own copy of this many most frequent words' vectors, added back "
        "after every job; 0 = plain Hogwild (default 1024)",
    ),
    ("--init-range", "init_range", float, "input vectors start uniform in +-R/dim (default 1.0; word2vec.c: 0.5)"),
    ("--threads", "threads", int, "worker threads (default: all CPUs)"),
    ("--seed", "seed", int, "random seed; with --threads 1 a run is repeatable (default 0)"),
    ("--max-vocab-size", "max_vocab_size", int, "keep only this many most frequent words"),
    ("--shards", "shards", int, "with --deterministic: corpus parts trained side by side (default 4)"),
    (
        "--round-words",
        "round_words",
        int,
        "with --deterministic or --cluster: tokens per shard per round (default 50000)",
    ),
]


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``kotoba train`` to the top-level parser."""
    p = sub.add_parser(
        "train",
        help="train word2vec vectors (CBOW / skip-gram) on a text corpus",
        description=(
            "Train word2vec on CORPUS: text files (.gz/.bz2/.xz too) or folders of them, one sentence "
            "per line, words separated by whitespace; Wikipedia XML dumps and Aozora Bunko texts (.zip or "
            ".txt) are recognised and read as text. Japanese without spaces needs --lang ja. "
            "Writes the vectors in word2vec.c's format."
        ),
        epilog="example:\n  kotoba train text8.gz -o vectors.bin --sg --epochs 5\n"
        "  kotoba train wagahaiwa_nekodearu.zip -o neko.bin --lang ja --min-count 3",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("corpus", nargs="+", metavar="CORPUS", help="text file or folder (several allowed)")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="VECTORS",
        help="vectors file to write (e.g. vectors.bin); a name ending in .gz is gzipped",
    )
    arch = p.add_mutually_exclusive_group()
    arch.add_argument("--sg", dest="sg", action="store_true", default=None, help="skip-gram")
    arch.add_argument("--cbow", dest="sg", action="store_false", default=None, help="CBOW (default)")
    p.add_argument("--hs", action="store_true", default=None, help="hierarchical softmax (with or without --negative)")
    for opt, dest, typ, help_ in _HYPER:
        p.add_argument(opt, dest=dest, type=typ, default=None, help=help_)
    p.add_argument("--lowercase", action="store_true", default=None, help="lowercase the text before counting")
    add_text_options(p)
    p.add_argument(
        "--format",
        choices=("binary", "text"),
        default=None,
        help="vectors file format (default: text if VECTORS ends in .txt or .vec, else binary)",
    )
    p.add_argument(
        "--checkpoint",
        metavar="DIR",
        help="save the model here after every epoch (the encoded corpus is kept in DIR/corpus)",
    )
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint in --checkpoint DIR")
    p.add_argument(
        "--deterministic",
        action="store_true",
        default=None,
        help="train in rounds of fixed shards: a seeded run gives identical vectors for any --threads",
    )
    p.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="train on a Dask cluster: its scheduler address (tcp://host:8786) or local:N for N local workers",
    )
    p.add_argument("--save-vocab", metavar="PATH", help="also write the vocabulary as 'word count' lines")
    p.add_argument("--plot", metavar="PNG", help="also draw the training loss and learning rate to this picture")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary text")
    p.add_argument("--json", action="store_true", help="print a one-line JSON summary on stdout")
    p.set_defaults(func=cmd_train)


def _output_format(args: argparse.Namespace) -> str:
    if args.format is not None:
        return args.format
    return "text" if str(args.output).lower().endswith(_TEXT_SUFFIXES) else "binary"


class ProgressBar:
    """A tqdm bar over the words trained, fed by the trainer's progress reports (the library prints nothing)."""

    def __init__(self, desc: str = "word2vec") -> None:
        self.desc = desc
        self.bar = None

    def __call__(self, info: dict) -> None:
        if self.bar is None:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=info.get("total_words"), unit="w", unit_scale=True, desc=self.desc,
                            dynamic_ncols=True, file=sys.stderr)  # fmt: skip
        self.bar.update(info["words"] - self.bar.n)
        self.bar.set_postfix(loss=f"{info['loss']:.4f}", lr=f"{info['lr']:.5f}", refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _train(args: argparse.Namespace, source, config, checkpoint: Path | None):
    """The single-machine trainer (Hogwild, or rounds with --deterministic) or the cluster (--cluster)."""
    bar = None if args.quiet else ProgressBar()
    try:
        if args.cluster:
            from ..word2vec.distributed import train_distributed

            return train_distributed(
                source, config, args.cluster, checkpoint_dir=checkpoint, resume=args.resume, callback=bar
            )
        from ..word2vec import train  # with config.deterministic it trains in rounds (kotoba.word2vec.rounds)

        return train(
            source,
            config,
            work_dir=checkpoint / "corpus" if checkpoint else None,
            checkpoint_dir=checkpoint,
            resume=args.resume,
            callback=bar,
            should_stop=getattr(args, "should_stop", None),  # set by kotoba.cli.main: Ctrl-C / SIGTERM
        )
    finally:
        if bar is not None:
            bar.close()


def cmd_train(args: argparse.Namespace) -> int:
    from ..text.readers import corpus_files
    from ..text.vocab import Vocab

    output = Path(args.output)
    if output.is_dir():
        raise ConfigError(f"-o {output}: is a folder; give a file name such as {output / 'vectors.bin'}")
    if args.resume and not args.checkpoint:
        raise ConfigError("--resume needs --checkpoint DIR (the folder the interrupted run saved to)")
    corpus_files(args.corpus)  # fail on a missing path now, before loading the Numba kernels

    from ..word2vec import Word2VecConfig

    given = {dest: getattr(args, dest) for _, dest, _, _ in _HYPER if getattr(args, dest) is not None}
    for flag in ("sg", "hs", "lowercase", "deterministic"):
        if getattr(args, flag) is not None:
            given[flag] = getattr(args, flag)
    given["tokenizer"] = tokenizer_from(args)
    config = Word2VecConfig(**given)

    source = args.corpus[0] if len(args.corpus) == 1 else list(args.corpus)
    checkpoint = Path(args.checkpoint) if args.checkpoint else None
    model = _train(args, source, config, checkpoint)

    fmt = _output_format(args)
    model.wv.save_word2vec_format(output, binary=(fmt == "binary"))
    if args.save_vocab:
        Vocab(model.words, model.counts).save(args.save_vocab)
    if args.plot:
        from ..plot import plot_word2vec_loss

        plot_word2vec_loss(model.losses, args.plot, title=f"word2vec {'skip-gram' if config.sg else 'CBOW'}")

    stats = model.stats
    final_loss = model.losses[-1]["loss"] if model.losses else None
    summary = {
        "output": str(output),
        "format": fmt,
        "words": int(stats.get("raw_words", 0)),
        "train_words": int(stats.get("train_words", 0)),
        "vocab_size": len(model.words),
        "dim": config.dim,
        "epochs": config.epochs,
        "seconds": round(float(stats.get("seconds", 0.0)), 3),
        "words_per_sec": round(float(stats.get("words_per_sec", 0.0)), 1),
        "final_loss": None if final_loss is None else round(float(final_loss), 6),
        "invalid_utf8": int(stats.get("invalid_utf8", 0)),
    }
    if summary["invalid_utf8"]:
        print(
            f"kotoba: warning: {summary['invalid_utf8']:,} invalid UTF-8 sequences in the corpus were read as U+FFFD; "
            "is it in another encoding? (convert it, e.g. iconv -f SHIFT-JIS -t UTF-8)",
            file=sys.stderr,
        )
    if args.json:
        print(json.dumps(summary, ensure_ascii=False))
    elif not args.quiet:
        loss = "n/a" if final_loss is None else f"{final_loss:.4f}"
        print(
            f"wrote {output} ({fmt}): {summary['vocab_size']:,} words x {config.dim} dims; "
            f"{summary['words']:,} corpus words x {config.epochs} epochs in {summary['seconds']:.1f} s "
            f"({summary['words_per_sec']:,.0f} words/s), final loss {loss}",
            file=sys.stdout,
        )
    return 0
