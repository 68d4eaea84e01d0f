"""User-facing errors: the one place their messages are shaped.

Every error a user can cause (bad file, empty corpus, unknown word, diverging loss) is a
:class:`KotobaError`; the CLI prints ``kotoba: error: <message>`` and exits 2 instead of a
traceback.
"""

from __future__ import annotations

import os


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


class TrainingInterrupted(KotobaError):
    """Training was stopped on request at a job boundary; ``checkpoint`` is the folder saved there (None if none)."""

    def __init__(self, message: str, checkpoint: os.PathLike | None = None):
        super().__init__(message)
        self.checkpoint = checkpoint
