"""The ``kotoba`` command: argparse subcommands, one module per command group.

Each module exposes ``register(subparsers)`` which adds its subcommands and sets
``func=handler`` on them; handlers take the parsed ``args`` and return an exit code.
The CLI knows every part of kotoba; nothing else imports the CLI.
"""

from __future__ import annotations

import argparse
import sys
import traceback
import warnings

from .. import __version__
from ..errors import KotobaError, UnsegmentedTextWarning
from . import corpus, demo, lm, plots, tokenize, vectors, w2v


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kotoba",
        description="Word vectors (word2vec) and RNN/LSTM language models, from scratch on NumPy.",
    )
    parser.add_argument("--version", action="version", version=f"kotoba {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    w2v.register(sub)
    vectors.register(sub)
    plots.register(sub)
    lm.register(sub)
    tokenize.register(sub)
    demo.register(sub)
    corpus.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    warnings.showwarning = _show_warning
    try:
        return int(args.func(args) or 0)
    except KotobaError as e:
        if args.debug:
            traceback.print_exc()
        print(f"kotoba: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("kotoba: interrupted", file=sys.stderr)
        return 130


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Library warnings as one line each, with the option that acts on them."""
    hint = " (pass --lang ja)" if issubclass(category, UnsegmentedTextWarning) else ""
    print(f"kotoba: warning: {message}{hint}", file=sys.stderr)
