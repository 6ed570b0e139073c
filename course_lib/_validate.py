"""Input checks shared by every public function of ``course_lib``.

Each check names the argument, the value it got and what is allowed, in the
style of scikit-learn's validation, so a learner who passes a bad value sees
at once which argument to fix. Not tied to one lesson.
"""

from __future__ import annotations

import math
import numbers
from typing import Iterable


def integer(name: str, value, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an int, or raise if it is not an integer in range. Every lesson and lab."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}{_upto(maximum)}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be an integer <= {maximum}, got {value}")
    return value


def number(
    name: str,
    value,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    allow_zero: bool = True,
) -> float:
    """Return ``value`` as a finite float, or raise if it is not one in range.

    ``minimum`` is inclusive; ``allow_zero=False`` additionally rejects 0
    (for sizes and prices where zero makes no sense). Every lesson and lab.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}{_upto(maximum)}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    if not allow_zero and value == 0:
        raise ValueError(f"{name} must be non-zero, got {value}")
    return value


def positive(name: str, value) -> float:
    """A finite number > 0. Every lesson and lab."""
    return number(name, value, minimum=0.0, allow_zero=False)


def positive_int(name: str, value) -> int:
    """An integer >= 1. Every lesson and lab."""
    return integer(name, value, minimum=1)


def choice(name: str, value, allowed: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``allowed`` (case-sensitive strings). Every lesson and lab."""
    allowed = list(allowed)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {allowed}, got {value!r}")
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
    return value


def _upto(maximum) -> str:
    return "" if maximum is None else f" and <= {maximum}"
