"""``python -m kotoba``: the CLI, with Ctrl-C / SIGTERM during start-up ending quietly.

Loading NumPy and the CLI takes a moment; a signal in that window has nothing to stop or save, so
it exits with 128 + the signal number instead of an import traceback. Once :func:`kotoba.cli.main`
runs, it handles signals itself.
"""

import signal
import sys


def _leave(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def run() -> int:
    """Entry point: import the CLI under quiet start-up signal handlers, then hand over to it."""
    previous = {s: signal.signal(s, _leave) for s in (signal.SIGINT, signal.SIGTERM)}
    from .cli import main

    for s, handler in previous.items():
        signal.signal(s, handler)
    return main()


if __name__ == "__main__":
    sys.exit(run())
