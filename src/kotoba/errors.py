"""User-facing errors: the one place their messages are shaped.

Every error a user can cause (bad file, empty corpus, unknown word, diverging loss) is a
:class:`KotobaError`; the CLI prints ``kotoba: error: <message>`` and exits 2 instead of a
traceback.
"""

from __future__ import annotations


class KotobaError(Exception):
    """Base class of every error kotoba raises on purpose."""


class DataError(KotobaError):
    """Input data is missing, empty or malformed (corpus, evaluation file, vocabulary)."""


class EmptyCorpusError(DataError):
    """The corpus has no tokens (or none survive ``min_count``)."""


class FormatError(DataError):
    """A vectors file or checkpoint is not in the format it claims to be."""


class UnknownWordError(KotobaError, KeyError):
    """A word is not in the vocabulary. ``str()`` gives a readable message (not KeyError's repr)."""

    def __init__(self, word: str, suggestions: list[str] | None = None):
        self.word = word
        self.suggestions = list(suggestions or [])
        super().__init__(word)

    def __str__(self) -> str:
        msg = f"word {self.word!r} is not in the vocabulary"
        if self.suggestions:
            msg += " (did you mean: " + ", ".join(repr(s) for s in self.suggestions) + "?)"
        return msg


class ConfigError(KotobaError, ValueError):
    """An option has an invalid value (negative window, dim 0, ...)."""


class DivergenceError(KotobaError, FloatingPointError):
    """Training produced a NaN/inf loss: the learning rate is probably too high."""


class UnsafePickleError(KotobaError):
    """A pickle asked for something other than plain NumPy arrays and was refused."""


class InvalidUtf8Warning(UserWarning):
    """Some bytes of the text were not valid UTF-8 and were read as U+FFFD (counted, not fatal)."""


class UnsegmentedTextWarning(UserWarning):
    """Text read with the whitespace tokenizer looks like Japanese without spaces between words."""


class OutputError(KotobaError, OSError):
    """An output file could not be written (folder missing or read-only, disk full, file too large).

    Subclasses :class:`OSError` too, so code that handles OS errors keeps working; nothing is left
    under the output's name (see :func:`kotoba.io.atomic_write`). ``str()`` is the message alone,
    even when ``errno`` / ``filename`` are set.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "cannot write the output"


class TrainingInterrupted(KotobaError):
    """Training stopped early because its ``should_stop()`` hook returned True.

    Raised by the trainers after they have saved what is needed to resume. ``checkpoint`` is what
    was saved (a file or folder), or None if nothing could be (no checkpoint location was given);
    ``epoch`` / ``step`` say where training stopped when the trainer knows.
    """

    def __init__(
        self,
        message: str = "training interrupted",
        checkpoint: object = None,
        *,
        epoch: int | None = None,
        step: int | None = None,
    ):
        self.checkpoint = checkpoint
        self.epoch = epoch
        self.step = step
        super().__init__(message)
