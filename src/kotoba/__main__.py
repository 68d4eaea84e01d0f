"""``python -m kotoba``: the CLI, with Ctrl-C / SIGTERM during start-up ending quietly.

Loading NumPy and the CLI takes a moment; a signal in that window has nothing to stop or save, so
it exits with 128 + the signal number instead of an import traceback. Once :func:`kotoba.cli.main`
runs, it handles signals itself.

The cyclic garbage collector is off until the CLI has loaded what the command needs
(:func:`kotoba.cli.main` turns it back on): importing NumPy and Numba creates a few hundred thousand
objects, and the collections they trigger cost ~0.1 s of each command's start-up.

For the commands that run no BLAS (word2vec training, the corpus tools and the tokeniser), OpenBLAS
gets one thread unless the user set ``OPENBLAS_NUM_THREADS``: loading NumPy starts OpenBLAS's pool
of worker threads, which spin ~0.1 s of CPU waiting for work that never comes (text8-prefix CBOW:
1.91 -> 1.80 CPU seconds per run; on a loaded machine the spin takes time from the run itself).
"""

import atexit
import contextlib
import gc
import os
import signal
import sys
import threading

#: commands whose work is all Numba loops (the language models' commands multiply matrices with BLAS)
_NO_BLAS = {"train", "corpus", "tokenize"}


def _leave(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def run() -> int:
    """Entry point: import the CLI under quiet start-up signal handlers, then hand over to it."""
    gc.disable()
    one_blas_thread(sys.argv[1:])
    previous = {s: signal.signal(s, _leave) for s in (signal.SIGINT, signal.SIGTERM)}
    from .jit import hide_numba_extras, show_numba_extras

    hidden = hide_numba_extras()
    from .cli import main

    show_numba_extras(hidden)
    for s, handler in previous.items():
        signal.signal(s, handler)
    return _exit(main())


def one_blas_thread(argv: list[str]) -> None:
    """Before NumPy loads: one OpenBLAS thread for a command in :data:`_NO_BLAS` (see the module docstring)."""
    command = next((a for a in argv if not a.startswith("-")), None)
    if command in _NO_BLAS:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _exit(code: int) -> int:
    """End the process now: the exit handlers run, then ``os._exit`` skips the interpreter's teardown.

    Tearing down the modules and objects that NumPy and Numba created takes ~40 ms, a visible
    share of a short training run, and frees nothing a process that ends needs freed. Every file
    kotoba writes is closed (and renamed into place) before this point. Daemon threads (tqdm's
    monitor) end with the process either way; when another thread is still running, the
    interpreter's usual exit waits for it instead.
    """
    main = threading.main_thread()
    if any(t is not main and not t.daemon for t in threading.enumerate()):
        return code
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    sys.exit(run())
