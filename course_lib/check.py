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
  points somewhere useful without giving the answer away; :func:`exercise`
  prints ``❌ Exercise 1 not right yet: …`` with the hint and goes on;
- any other error, in the learner's function or in the verifier → prints
  ``❌ Exercise 1 failed: …`` with the error's type and message and goes on.

No check prints or leaks the expected value: messages show the learner's
answer and a hint only.

Verifiers use :func:`expect_equal`, :func:`expect_close`,
:func:`expect_int`, :func:`expect_number` and :func:`expect_true`. Introduced with lab 01.
"""

from __future__ import annotations

import math
import numbers
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

    Prints one line and records the outcome for :func:`summary`; nothing it
    does stops *Run All*:

    - ``✅ … passed`` when ``verify`` accepts the value;
    - ``⏳ … not done yet`` when ``answer`` raises ``NotImplementedError``;
    - ``❌ … not right yet`` with the hint when ``verify`` raises ``AssertionError``;
    - ``❌ … failed`` with the error's type and message for any other
      exception, in the learner's function or in the check. Every lab.
    """
    if _lab["name"] is None:
        raise RuntimeError("call course_lib.check.start(lab, exercises) at the top of the lab first")
    number = v.integer("number", number, minimum=1, maximum=_lab["total"])
    if not callable(answer):
        raise TypeError(f"answer must be the function you wrote (callable), got {type(answer).__name__}")
    _lab["results"][number] = False
    try:
        value = answer()
    except NotImplementedError as err:
        print(f"⏳ Exercise {number} not done yet: {title}. {err}")
        return
    except Exception as err:  # the learner's code failed: say how, and go on
        print(f"❌ Exercise {number} failed: {title}. Your function raised {_describe(err)}")
        return
    try:
        verify(value)
    except AssertionError as err:
        print(f"❌ Exercise {number} not right yet: {title}. {err}")
        return
    except Exception as err:  # the check could not use the answer: say how, and go on
        print(f"❌ Exercise {number} failed: {title}. Checking your answer raised {_describe(err)}")
        return
    _lab["results"][number] = True
    print(f"✅ Exercise {number} passed: {title}")


def _describe(err: BaseException) -> str:
    text = str(err)
    if len(text) > 300:
        text = text[:297] + "..."
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def results() -> dict[int, bool]:
    """``{exercise number: passed}`` for the exercises run so far. Lesson 06, sections 2 and 7; every lab."""
    return dict(_lab["results"])


def summary() -> None:
    """Print the one line instructors and tests read:
    ``<lab name>: X of Y exercises passed``. Every lab."""
    passed = sum(results().values())
    print(f"{_lab['name']}: {passed} of {_lab['total']} exercises passed")


def _scalar(got, hint: str):
    """A numpy or torch scalar (or one-element array) as a Python number; more elements get a hint."""
    if type(got).__name__ in ("Tensor", "ndarray") or (type(got).__module__ == "numpy" and hasattr(got, "item")):
        n = int(getattr(got, "numel", lambda: getattr(got, "size", 1))())
        if n != 1:
            shape = tuple(getattr(got, "shape", ()))
            raise AssertionError(f"Not yet: your answer is an array of shape {shape} ({n} values); "
                                 f"return one number (e.g. with .item() or float(...)). Hint: {hint}")
        return got.item()
    return got


def expect_equal(got, want, hint: str) -> None:
    """Exact equality (ints, strings, tuples), else ``AssertionError`` with ``hint``.

    numpy and torch scalars of the right value are accepted; an array or
    tensor with more than one element gets a hint. The message shows the
    learner's answer, never ``want``. Every lab.
    """
    got = _scalar(got, hint)
    try:
        same = type(got) is not bool and got == want and isinstance(got == want, bool)
    except Exception:
        same = False
    if not same:
        raise AssertionError(f"Not yet: your answer is {v.show(got)}, which is not right. Hint: {hint}")


def expect_close(got, want: float, hint: str, *, rel: float = 1e-6, abs_tol: float = 0.0) -> None:
    """``got`` within a relative tolerance ``rel`` of ``want``, else ``AssertionError`` with ``hint``.

    ``got`` must be a number (numpy and torch scalars too); a string such as
    ``'1500'`` or ``True`` is refused, and so is a number too large for a float. Every lab.
    """
    got_f = expect_number(got, hint)
    if not math.isclose(got_f, want, rel_tol=rel, abs_tol=abs_tol):
        raise AssertionError(f"Not yet: your answer {got_f:.6g} is off. Hint: {hint}")


def expect_int(got, hint: str) -> int:
    """``got`` as an int if it is a whole number (Python, numpy or 0-dim torch integer), else ``AssertionError``.

    ``bool`` and floats are refused: a count of batches or GPUs is an integer. Every lab.
    """
    got = _scalar(got, hint)
    if isinstance(got, bool) or not isinstance(got, numbers.Integral):
        raise AssertionError(f"Not yet: answer with a whole number (an int), got {v.show(got)} "
                             f"({type(got).__name__}). Hint: {hint}")
    return int(got)


def expect_number(got, hint: str) -> float:
    """``got`` as a finite float if it is a number (numpy and torch scalars too), else ``AssertionError``. Every lab."""
    got = _scalar(got, hint)
    if isinstance(got, (bool, str)) or not isinstance(got, numbers.Real):
        raise AssertionError(f"Not yet: expected a number, got {v.show(got)} ({type(got).__name__}). Hint: {hint}")
    try:
        got_f = float(got)
    except (OverflowError, ValueError):
        raise AssertionError(f"Not yet: your answer {v.show(got)} is not a finite number. Hint: {hint}") from None
    if not math.isfinite(got_f):
        raise AssertionError(f"Not yet: your answer {got_f} is not a finite number. Hint: {hint}")
    return got_f


def expect_true(condition: bool, hint: str) -> None:
    """``condition`` holds, else ``AssertionError`` with ``hint``. Every lab."""
    if not condition:
        raise AssertionError(f"Not yet. Hint: {hint}")
