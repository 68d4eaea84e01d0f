"""Language modelling: corpora (:mod:`.data`, text through :mod:`kotoba.text`), truncated-BPTT
batches (:mod:`.batch`), training and perplexity (:mod:`.trainer`), checkpoints
(:mod:`.checkpoint`), the book's weights (:mod:`.book_import`), generation (:mod:`.generate`).

The names below are imported on first use (PEP 562), so ``import kotoba.lm.data`` stays light
and does not pull in the models or the optimizers.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "bptt_batches": "batch",
    "num_batches": "batch",
    "save_lm": "checkpoint",
    "load_lm": "checkpoint",
    "FitConfig": "trainer",
    "FitProgress": "trainer",
    "RnnlmTrainer": "trainer",
    "perplexity": "trainer",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
