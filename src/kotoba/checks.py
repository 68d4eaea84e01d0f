"""Validation of option values: one helper per kind, one message shape for every trainer.

Each check raises :class:`~kotoba.errors.ConfigError` naming the option, the value and the range,
so a config's ``__post_init__`` is a list of one-line checks.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

from .errors import ConfigError


def check_int(name: str, value: object, minimum: int = 1, *, optional: bool = False) -> None:
    """``value`` is an integer (not a bool) >= ``minimum``, or None when ``optional``."""
    if optional and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        none = "None or " if optional else ""
        raise ConfigError(f"{name}={value!r}: must be {none}an integer >= {minimum}")


def check_float(
    name: str,
    value: object,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    """``value`` is a finite real number in the range from ``low`` to ``high`` (ends open or closed)."""
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        lo = ("(" if low_open else "[") + f"{low:g}"
        hi = f"{high:g}" + (")" if high_open else "]")
        raise ConfigError(f"{name}={value!r}: must be a finite number in {lo}, {hi}")
