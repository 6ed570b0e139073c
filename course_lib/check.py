"""The lab-check framework: a pass line, a hint, or "not done yet".

A lab exercise asks the learner to fill in a function; the check cell calls
:func:`exercise` with that function and a verifier from
``course_lib.exercises.labNN``::

    check.start("lab01_flops", exercises=4)
    ...
    def linear_flops():
        raise NotImplementedError("Reread lessons/01_forward_vs_backward.ipynb")
    check.exercise(1, "FLOPs of a Linear layer", linear_flops, lab01.linear_flops)
    ...
    check.summary()   # -> "lab01_flops: 0 of 4 exercises passed"

- right answer → prints ``✅ Exercise 1 passed: …`` and records it;
- ``NotImplementedError`` → prints ``⏳ Exercise 1 not done yet: …`` and
  records it, so "Run All" goes on to the next exercise;
- wrong answer → the verifier raises ``AssertionError`` with a hint that
  points somewhere useful without giving the answer away.

Verifiers use :func:`expect_equal`, :func:`expect_close` and
:func:`expect_true`. Introduced with lab 01.
"""

from __future__ import annotations

import math
from typing import Callable

from . import _validate as v

_lab: dict = {"name": None, "total": 0, "results": {}}


def start(lab: str, exercises: int) -> None:
    """Begin a lab named ``lab`` with ``exercises`` exercises (forgets earlier results). Every lab."""
    if not isinstance(lab, str) or not lab:
        raise TypeError(f"lab must be a non-empty string, got {lab!r}")
    _lab.update(name=lab, total=v.positive_int("exercises", exercises), results={})


def exercise(number: int, title: str, answer: Callable[[], object], verify: Callable[[object], None]) -> None:
    """Run the learner's ``answer()`` and check it with ``verify(value)``.

    Prints a pass line, or a "not done yet" line when ``answer`` raises
    ``NotImplementedError``; a wrong answer raises ``AssertionError`` from
    ``verify``. The outcome is recorded for :func:`summary`. Every lab.
    """
    if _lab["name"] is None:
        raise RuntimeError("call course_lib.check.start(lab, exercises) at the top of the lab first")
    number = v.integer("number", number, minimum=1, maximum=_lab["total"])
    if not callable(answer):
        raise TypeError(f"answer must be the function you wrote (callable), got {type(answer).__name__}")
    try:
        value = answer()
    except NotImplementedError as err:
        _lab["results"][number] = False
        print(f"⏳ Exercise {number} not done yet: {title}. {err}")
        return
    _lab["results"][number] = False
    verify(value)
    _lab["results"][number] = True
    print(f"✅ Exercise {number} passed: {title}")


def results() -> dict[int, bool]:
    """``{exercise number: passed}`` for the exercises run so far. Lesson 06, sections 2 and 7; every lab."""
    return dict(_lab["results"])


def summary() -> None:
    """Print the one line instructors and tests read:
    ``<lab name>: X of Y exercises passed``. Every lab."""
    passed = sum(results().values())
    print(f"{_lab['name']}: {passed} of {_lab['total']} exercises passed")


def expect_equal(got, want, hint: str) -> None:
    """Exact equality (ints, strings, tuples), else ``AssertionError`` with ``hint``. Every lab."""
    if got != want:
        raise AssertionError(f"Not yet: your answer is {got!r}, which is not right. Hint: {hint}")


def expect_close(got, want: float, hint: str, *, rel: float = 1e-6, abs_tol: float = 0.0) -> None:
    """``got`` within a relative tolerance ``rel`` of ``want``, else ``AssertionError`` with ``hint``.
    Every lab."""
    try:
        got_f = float(got)
    except (TypeError, ValueError):
        raise AssertionError(f"Not yet: expected a number, got {got!r}. Hint: {hint}") from None
    if not math.isfinite(got_f) or not math.isclose(got_f, want, rel_tol=rel, abs_tol=abs_tol):
        raise AssertionError(f"Not yet: your answer {got_f:.6g} is off. Hint: {hint}")


def expect_true(condition: bool, hint: str) -> None:
    """``condition`` holds, else ``AssertionError`` with ``hint``. Every lab."""
    if not condition:
        raise AssertionError(f"Not yet. Hint: {hint}")
