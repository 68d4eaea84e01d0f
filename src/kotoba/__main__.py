"""``python -m kotoba``: the CLI, with Ctrl-C / SIGTERM during start-up ending quietly.

Loading NumPy and the CLI takes a moment; a signal in that window has nothing to stop or save, so
it exits with 128 + the signal number instead of an import traceback. Once :func:`kotoba.cli.main`
runs, it handles signals itself.

The cyclic garbage collector is off until the CLI has loaded what the command needs
(:func:`kotoba.cli.main` turns it back on): importing NumPy and Numba creates a few hundred thousand
objects, and the collections they trigger cost ~0.1 s of each command's start-up.
"""

import gc
import signal
import sys


def _leave(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def run() -> int:
    """Entry point: import the CLI under quiet start-up signal handlers, then hand over to it."""
    gc.disable()
    previous = {s: signal.signal(s, _leave) for s in (signal.SIGINT, signal.SIGTERM)}
    from .cli import main

    for s, handler in previous.items():
        signal.signal(s, handler)
    return main()


if __name__ == "__main__":
    sys.exit(run())
