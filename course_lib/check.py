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

Per-student variants: an instructor gives each learner an id, set with
``cl.setup(student="ada")`` (:func:`set_student`) or the environment variable
``COURSE_STUDENT`` (which wins: ``make grade`` sets it to the submission's
folder name). A lab module's inputs (``labNN.EXERCISE_3``) then come from
:func:`variant`: each input listed with alternatives takes one of them, picked
deterministically from the id, and the verifiers compute the expected answer
from those same inputs. Without an id every learner gets the shared inputs.

Grading: when the environment variable ``COURSE_RESULTS`` names a file, every
:func:`start` and :func:`exercise` also appends one JSON line to it (the lab,
the exercise, the outcome, the hint shown, the verifier's name), which
``tools/grade.py`` reads.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import os
import re
from typing import Callable, Mapping, Sequence

from . import _validate as v

_lab: dict = {"name": None, "total": 0, "results": {}}
_student: dict = {"id": None}

#: Environment variable naming the student whose variant the labs use (an instructor's setting; it wins).
STUDENT_ENV = "COURSE_STUDENT"
#: Environment variable naming a file to which every outcome is appended as a JSON line (``make grade``).
RESULTS_ENV = "COURSE_RESULTS"
_STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")


def _student_id(name: str, value) -> str:
    value = v.string(name, value)
    if not _STUDENT_ID.match(value):
        raise ValueError(f"{name} must be 1 to 64 letters, digits or . _ @ + - (starting with a letter or digit), "
                         f"got {v.show(value)}")
    return value


def set_student(student: str | None) -> None:
    """Use ``student``'s variant of every lab's inputs from now on (``None``: the shared inputs).

    ``cl.setup(student="ada")`` calls it. The environment variable
    ``COURSE_STUDENT``, when set, wins (an instructor's setting). Every lab.
    """
    _student["id"] = None if student is None else _student_id("student", student)


def student() -> str | None:
    """The student id the labs' inputs are drawn for: ``COURSE_STUDENT`` if set, else
    :func:`set_student`'s, else ``None`` (the shared inputs). Every lab."""
    env = os.environ.get(STUDENT_ENV, "").strip()
    return _student_id(STUDENT_ENV, env) if env else _student["id"]


def variant(lab: str, exercise: int, base: Mapping, choices: Mapping[str, Sequence]) -> dict:
    """The inputs of exercise ``exercise`` of ``lab`` for the current :func:`student`.

    ``base`` holds the shared inputs; each key of ``choices`` lists the values
    that input may take in a student's variant. The pick is deterministic
    (a SHA-256 of lab, exercise, key and student id), so a learner, their
    notebook's checks and the grader all see the same numbers. Without a
    student id the result is ``base``. Every lab's ``EXERCISE_N``.
    """
    lab = v.string("lab", lab)
    exercise = v.positive_int("exercise", exercise)
    out = dict(v.mapping("base", base))
    sid = student()
    for key in sorted(v.mapping("choices", choices)):
        if key not in out:
            raise ValueError(f"choices names {key!r}, which is not one of base's keys {sorted(out)}")
        options = v.sequence(f"choices[{key!r}]", choices[key])
        if sid is not None:
            digest = hashlib.sha256(f"{lab}|{exercise}|{key}|{sid}".encode()).digest()
            out[key] = options[int.from_bytes(digest[:8], "big") % len(options)]
    return out


def inputs_attribute(lab: str, name: str, base: Mapping[int, Mapping], choices: Mapping[int, Mapping]) -> dict:
    """A lab module's ``EXERCISE_N`` (its module ``__getattr__`` calls this): :func:`variant` of
    ``base[N]`` with ``choices.get(N, {})``; ``AttributeError`` for any other name. Every lab."""
    base, choices = v.mapping("base", base), v.mapping("choices", choices)
    match = re.fullmatch(r"EXERCISE_(\d+)", v.string("name", name))
    if not match or int(match.group(1)) not in base:
        raise AttributeError(f"module 'course_lib.exercises.{lab}' has no attribute {name!r}")
    n = int(match.group(1))
    return variant(lab, n, base[n], choices.get(n, {}))


def _record(**entry) -> None:
    """Append one JSON line to the file named by ``COURSE_RESULTS`` (grading), if set."""
    path = os.environ.get(RESULTS_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")


def start(lab: str, exercises: int) -> None:
    """Begin a lab named ``lab`` with ``exercises`` exercises (forgets earlier results). Every lab."""
    if not isinstance(lab, str) or not lab:
        raise TypeError(f"lab must be a non-empty string, got {lab!r}")
    _lab.update(name=lab, total=v.positive_int("exercises", exercises), results={})
    sid = student()
    _record(event="start", lab=lab, exercises=_lab["total"], student=sid)
    if sid is not None:
        print(f"{lab}: the inputs below are student {sid}'s variant")


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
    outcome, message = _run(answer, verify)
    _lab["results"][number] = outcome == "passed"
    _record(event="exercise", lab=_lab["name"], exercise=number, title=title, outcome=outcome, message=message,
            verifier=f"{getattr(verify, '__module__', '?')}.{getattr(verify, '__qualname__', '?')}")
    print({"passed": f"✅ Exercise {number} passed: {title}",
           "not done": f"⏳ Exercise {number} not done yet: {title}. {message}",
           "wrong": f"❌ Exercise {number} not right yet: {title}. {message}",
           "failed": f"❌ Exercise {number} failed: {title}. {message}"}[outcome])


def _run(answer, verify) -> tuple[str, str]:
    """``(outcome, message)``: passed, not done, wrong (the hint) or failed (the error)."""
    try:
        value = answer()
    except NotImplementedError as err:
        return "not done", str(err)
    except Exception as err:  # the learner's code failed: say how, and go on
        return "failed", f"Your function raised {_describe(err)}"
    try:
        verify(value)
    except AssertionError as err:
        return "wrong", str(err)
    except Exception as err:  # the check could not use the answer: say how, and go on
        return "failed", f"Checking your answer raised {_describe(err)}"
    return "passed", ""


def _describe(err: BaseException) -> str:
    text = str(err)
    if len(text) > 300:
        text = text[:297] + "..."
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def results() -> dict[int, bool]:
    """``{exercise number: passed}`` for the exercises run so far. Every lab."""
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
