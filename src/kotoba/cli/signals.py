"""Ctrl-C and SIGTERM during training: ask the trainer to stop cleanly, and quit at once on a second one.

The trainers take a ``should_stop()`` hook which they call between steps; when it turns True they
write a checkpoint and raise :class:`~kotoba.errors.TrainingInterrupted`. :func:`stop_on_signals`
installs SIGINT/SIGTERM handlers that only set a flag (so no write is cut in the middle); the
flag is the hook. A second signal raises :class:`KeyboardInterrupt` in the main thread for users
who cannot wait (outputs are still never half-written: every file is renamed into place), and a
third one gets the default action. Until a trainer first asks the hook (while the corpus is read,
the kernels load, a cluster starts) nothing listens for the flag and nothing trained would be
saved, so the first signal raises :class:`KeyboardInterrupt` at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator

#: signals that ask for a clean stop
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopFlag:
    """Callable ``should_stop`` hook: True once a stop signal has arrived.

    ``signum``: the first stop signal received (None before); ``exit_code``: the shell's
    convention, 128 + signal number (130 for SIGINT, 143 for SIGTERM).
    """

    def __init__(self) -> None:
        self.signum: int | None = None
        self.count = 0
        self.asked = False  # a trainer has asked: it is listening, and stops at its next boundary

    def __call__(self) -> bool:
        self.asked = True
        return self.signum is not None

    @property
    def exit_code(self) -> int:
        return 128 + int(self.signum if self.signum is not None else signal.SIGINT)

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum is not None else "SIGINT"


def _notice(signum: int) -> bytes:
    name = signal.Signals(signum).name
    again = "Ctrl-C" if signum == signal.SIGINT else name
    return (
        f"\nkotoba: {name} received: stopping after the current step and saving a checkpoint "
        f"({again} again quits at once)\n"
    ).encode()


@contextlib.contextmanager
def stop_on_signals(signals: tuple[int, ...] = STOP_SIGNALS, *, notify: bool = True) -> Iterator[StopFlag]:
    """Within the block, the first of ``signals`` sets the yielded :class:`StopFlag` instead of
    killing the process once the flag has been asked (before that, and on the second signal, it
    raises KeyboardInterrupt). The previous handlers come back on exit. Outside the main thread
    (where Python cannot set handlers) the flag never fires."""
    flag = StopFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum: int, frame: object) -> None:
        flag.count += 1
        if flag.signum is None and flag.asked:
            flag.signum = signum
            if notify:
                # os.write, not print: a handler may run in the middle of another write to stderr
                with contextlib.suppress(OSError):
                    os.write(2, _notice(signum))
            return
        if flag.signum is None:  # before training: nothing to stop cleanly, quit now
            flag.signum = signum
        for s in signals:
            signal.signal(s, signal.SIG_DFL)  # a further signal is not caught at all
        raise KeyboardInterrupt

    previous = {s: signal.signal(s, handler) for s in signals}
    try:
        yield flag
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
