"""The ``kotoba`` command: argparse subcommands, one module per command group.

Each module exposes ``register(subparsers)`` which adds its subcommands and sets
``func=handler`` on them; handlers take the parsed ``args`` and return an exit code.
The CLI knows every part of kotoba; nothing else imports the CLI.

:func:`main` is the one place errors become messages and exit codes (``docs/errors.md``):
0 done; 1 an internal error (a bug: ``--debug`` or ``KOTOBA_DEBUG=1`` shows the traceback);
2 a usage, data or output error (``kotoba: error: ...``); 128 + signal number when stopped by
SIGINT (130) or SIGTERM (143), after saying how to resume. Training commands get
``args.should_stop``, a hook that turns True at the first Ctrl-C / SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import shlex
import sys
import traceback
import warnings

from .. import __version__
from ..errors import KotobaError, TrainingInterrupted, UnsegmentedTextWarning
from ..io import check_writable
from ..jit import start_numba
from . import corpus, demo, lm, plots, tokenize, vectors, w2v
from .signals import StopFlag, stop_on_signals

# command -> (the option that keeps what a resumed run needs, as the user types it)
_RESUMABLE = {("train",): ("checkpoint", "--checkpoint DIR"), ("lm", "train"): ("state", "--state NPZ")}
# command -> outputs checked before any work starts: (argument name, is a folder)
_OUTPUTS = {
    ("train",): (("output", False), ("save_vocab", False), ("checkpoint", True)),
    ("lm", "train"): (("output", False), ("plot", False), ("state", False)),
    ("lm", "import-book"): (("output", False),),
    ("demo",): (("out", True),),
    ("tokenize",): (("output", False),),
    ("map",): (("output", False),),
    ("export",): (("projector", True),),
    ("corpus", "wiki"): (("output", False),),
}
# commands whose first step runs kotoba's Numba kernels (reading a corpus, training)
_NUMBA = {"train", "lm", "demo", "corpus"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kotoba",
        description="Word vectors (word2vec) and RNN/LSTM language models, from scratch on NumPy.",
    )
    parser.add_argument("--version", action="version", version=f"kotoba {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors (or set KOTOBA_DEBUG=1)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    w2v.register(sub)
    vectors.register(sub)
    plots.register(sub)
    lm.register(sub)
    tokenize.register(sub)
    demo.register(sub)
    corpus.register(sub)
    return parser


def _command(args: argparse.Namespace) -> tuple[str, ...]:
    sub = getattr(args, "lm_command", None) or getattr(args, "corpus_command", None)
    return (args.command, sub) if sub else (args.command,)


def _check_outputs(args: argparse.Namespace) -> None:
    """Fail before hours of training, not after: every output must be writable."""
    for name, folder in _OUTPUTS.get(_command(args), ()):
        value = getattr(args, name, None)
        if value:
            check_writable(value, folder=folder)


def _warn_threads(args: argparse.Namespace) -> None:
    """More threads than cores is allowed (a shared machine may give more later) but never faster."""
    threads, cores = getattr(args, "threads", None), os.cpu_count() or 1
    if isinstance(threads, int) and threads > cores:
        print(
            f"kotoba: warning: --threads {threads} is more than the {cores} CPU cores; it will not be faster",
            file=sys.stderr,
        )


def resume_command(argv: list[str]) -> str:
    """The command line that continues an interrupted run: the same one plus ``--resume``."""
    return shlex.join(["kotoba", *argv, *([] if "--resume" in argv else ["--resume"])])


def _interrupted(e: TrainingInterrupted, args: argparse.Namespace, argv: list[str], stop: StopFlag) -> int:
    _error(f"interrupted by {stop.name}: {e}")
    option = _RESUMABLE.get(_command(args))
    saved = e.checkpoint is not None or (option is not None and getattr(args, option[0], None))
    if saved:
        print(f"kotoba: to continue, run: {resume_command(argv)}", file=sys.stderr)
    elif option is not None:
        print(f"kotoba: nothing was saved to resume from; give {option[1]} to make a run resumable", file=sys.stderr)
    return stop.exit_code


def _error(message: str) -> None:
    print(f"kotoba: error: {message}", file=sys.stderr)


def _run(args: argparse.Namespace, argv: list[str], stop: StopFlag, debug: bool) -> int:
    """Call the handler; every way it can end becomes a message and an exit code."""
    try:
        _check_outputs(args)
        _warn_threads(args)
        return int(args.func(args) or 0)
    except TrainingInterrupted as e:
        return _interrupted(e, args, argv, stop)
    except KeyboardInterrupt:
        print(f"\nkotoba: interrupted by {stop.name}", file=sys.stderr)
        return stop.exit_code
    except BrokenPipeError:
        # the reader of our output went away (kotoba similar ... | head): not an error to report
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + 13
    except KotobaError as e:
        if debug:
            traceback.print_exc()
        _error(str(e))
    except MemoryError:
        if debug:
            traceback.print_exc()
        _error("out of memory; try smaller sizes (vocabulary, dimensions, batch) or a machine with more memory")
    except OSError as e:
        if debug:
            traceback.print_exc()
        where = f"{e.filename}: " if e.filename else ""
        _error(f"{where}{e.strerror or e}")
    except Exception as e:
        if debug:
            traceback.print_exc()
        print(
            f"kotoba: internal error: {type(e).__name__}: {e}\n"
            "kotoba: this is a bug in kotoba; rerun with --debug for the traceback and report it",
            file=sys.stderr,
        )
        return 1
    return 2


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # Ctrl-C before the command started (parsing) or after it ended
        print("\nkotoba: interrupted", file=sys.stderr)
        return 130


def _main(argv: list[str] | None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    _start(args)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    debug = bool(args.debug or os.environ.get("KOTOBA_DEBUG"))
    stoppable = _command(args) in _RESUMABLE
    with stop_on_signals() if stoppable else contextlib.nullcontext(StopFlag()) as stop, warnings.catch_warnings():
        if not debug:
            # NumPy's overflow / invalid-value warnings come before a DivergenceError that says it clearly
            warnings.simplefilter("ignore", RuntimeWarning)
        warnings.showwarning = _show_warning  # restored by catch_warnings
        args.should_stop = stop if stoppable else None
        return _run(args, argv, stop, debug)


def _start(args: argparse.Namespace) -> None:
    """What every command needs before its handler: Numba set up for the commands that use it, then the
    garbage collector back on (``python -m kotoba`` starts with it off), with the objects of the
    imports frozen out of its way (they live as long as the process)."""
    if args.command in _NUMBA:
        start_numba()
    if not gc.isenabled():  # the entry point turned it off; in-process callers keep their own settings
        gc.freeze()
        gc.enable()


_shown: set[str] = set()


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Library warnings as one line each, with the option that acts on them; a warning repeated by a
    second pass over the same text (vocabulary, then ids) is shown once."""
    hint = " (pass --lang ja)" if issubclass(category, UnsegmentedTextWarning) else ""
    text = f"kotoba: warning: {message}{hint}"
    if text not in _shown:
        _shown.add(text)
        print(text, file=sys.stderr)
