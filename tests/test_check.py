"""The lab-check framework (course_lib.check) and lab 01's verifiers."""

import pytest

from course_lib import check
from course_lib.exercises import lab01


def _todo():
    raise NotImplementedError("Reread lessons/01_forward_vs_backward.ipynb")


def test_pass_not_done_and_summary(capsys):
    check.start("lab99_demo", exercises=3)
    check.exercise(1, "one", lambda: 2, lambda v: check.expect_equal(v, 2, "hint"))
    check.exercise(2, "two", _todo, lambda v: check.expect_equal(v, 2, "hint"))
    out = capsys.readouterr().out
    assert "✅ Exercise 1 passed: one" in out
    assert "⏳ Exercise 2 not done yet: two. Reread lessons/01" in out
    check.summary()
    assert capsys.readouterr().out.strip() == "lab99_demo: 1 of 3 exercises passed"
    assert check.results() == {1: True, 2: False}


def test_wrong_answer_raises_with_hint_and_is_recorded_as_failed():
    check.start("lab99_demo", exercises=1)
    with pytest.raises(AssertionError, match="Hint: count the multiplies"):
        check.exercise(1, "one", lambda: 3, lambda v: check.expect_equal(v, 2, "count the multiplies"))
    assert check.results() == {1: False}


def test_expectations():
    check.expect_close(1.0000001, 1.0, "h")
    with pytest.raises(AssertionError, match="off"):
        check.expect_close(1.1, 1.0, "h", rel=0.01)
    with pytest.raises(AssertionError, match="expected a number"):
        check.expect_close("abc", 1.0, "h")
    with pytest.raises(AssertionError, match="Hint: h"):
        check.expect_true(False, "h")


def test_bad_use():
    with pytest.raises(TypeError, match="lab"):
        check.start("", exercises=1)
    with pytest.raises(ValueError, match="exercises"):
        check.start("x", exercises=0)
    check.start("x", exercises=2)
    with pytest.raises(ValueError, match="number"):
        check.exercise(3, "t", lambda: 1, lambda v: None)
    with pytest.raises(TypeError, match="answer"):
        check.exercise(1, "t", 42, lambda v: None)


# Lab 01's verifiers accept the right answer and reject plausible wrong ones.

def test_lab01_linear_flops():
    lab01.verify_linear_flops(2 * 32 * 256 * 512)
    for wrong in (32 * 256 * 512, 256 * 512, 2 * 256 * 512):  # forgot the 2, the batch
        with pytest.raises(AssertionError, match="Hint"):
            lab01.verify_linear_flops(wrong)


def test_lab01_mlp_training_flops():
    fwd = [2 * 128 * 64 * 256, 2 * 128 * 256 * 256, 2 * 128 * 256 * 10]
    lab01.verify_mlp_training_flops(3 * sum(fwd) - fwd[0])
    with pytest.raises(AssertionError, match="first layer"):
        lab01.verify_mlp_training_flops(3 * sum(fwd))  # the 6N rule without the first-layer effect


def test_lab01_ratio():
    fwd = [2 * 128 * 64 * 256, 2 * 128 * 256 * 256, 2 * 128 * 256 * 10]
    lab01.verify_training_inference_ratio((3 * sum(fwd) - fwd[0]) / sum(fwd))
    with pytest.raises(AssertionError):
        lab01.verify_training_inference_ratio(3.0)


def test_lab01_time_ratio():
    lab01.verify_time_ratio(3.7)
    for wrong in (0.3, float("nan"), "fast"):
        with pytest.raises(AssertionError):
            lab01.verify_time_ratio(wrong)
