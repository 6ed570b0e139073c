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


def test_wrong_answer_prints_the_hint_is_recorded_as_failed_and_run_all_goes_on(capsys):
    check.start("lab99_demo", exercises=2)
    check.exercise(1, "one", lambda: 3, lambda v: check.expect_equal(v, 2, "count the multiplies"))
    check.exercise(2, "two", lambda: 2, lambda v: check.expect_equal(v, 2, "h"))
    out = capsys.readouterr().out
    assert "❌ Exercise 1 not right yet: one. Not yet: your answer is 3, which is not right. " \
           "Hint: count the multiplies" in out
    assert "✅ Exercise 2 passed: two" in out
    assert check.results() == {1: False, 2: True}


def _boom():
    return {}["missing"]


@pytest.mark.parametrize("answer, verify, where, kind", [
    (lambda: 1 / 0, lambda v: None, "Your function raised", "ZeroDivisionError: division by zero"),
    (_boom, lambda v: None, "Your function raised", "KeyError: 'missing'"),
    (lambda: [1], lambda v: v["sgd"], "Checking your answer raised", "TypeError: list indices"),
    (lambda: 5, lambda v: (_ for _ in ()).throw(RuntimeError("verifier broke")),
     "Checking your answer raised", "RuntimeError: verifier broke"),
])
def test_any_error_fails_the_exercise_with_type_and_message_and_run_all_goes_on(capsys, answer, verify, where, kind):
    check.start("lab99_demo", exercises=2)
    check.exercise(1, "one", answer, verify)
    check.exercise(2, "two", lambda: 2, lambda v: None)
    out = capsys.readouterr().out
    assert f"❌ Exercise 1 failed: one. {where} {kind}" in out
    assert check.results() == {1: False, 2: True}
    check.summary()
    assert capsys.readouterr().out.strip() == "lab99_demo: 1 of 2 exercises passed"


def test_expectations():
    check.expect_close(1.0000001, 1.0, "h")
    with pytest.raises(AssertionError, match="off"):
        check.expect_close(1.1, 1.0, "h", rel=0.01)
    with pytest.raises(AssertionError, match="expected a number"):
        check.expect_close("abc", 1.0, "h")
    with pytest.raises(AssertionError, match="Hint: h"):
        check.expect_true(False, "h")


def test_numpy_and_torch_scalars_of_the_right_value_are_accepted():
    import numpy as np
    import torch

    for got in (np.int64(7), np.int32(7), torch.tensor(7), np.array(7), np.array([7]), torch.tensor([7])):
        check.expect_equal(got, 7, "h")
        assert check.expect_int(got, "h") == 7
    for got in (np.float64(2.5), np.float32(2.5), torch.tensor(2.5), torch.tensor(2.5, dtype=torch.bfloat16)):
        check.expect_close(got, 2.5, "h")
    for bad in (7.0, True, "7", np.float64(7.0)):
        with pytest.raises(AssertionError, match="whole number"):
            check.expect_int(bad, "h")


def test_multi_element_arrays_and_tensors_get_a_hint_not_ambiguous():
    import numpy as np
    import torch

    for got in (np.array([1, 2]), torch.tensor([1.0, 2.0]), torch.ones(2, 2)):
        with pytest.raises(AssertionError, match=r"return one number.*Hint: h"):
            check.expect_equal(got, 1, "h")
        with pytest.raises(AssertionError, match=r"return one number.*Hint: h"):
            check.expect_close(got, 1.0, "h")


def test_expect_close_refuses_strings_bools_and_overflow():
    for bad in ("1500", True, None, [1500]):
        with pytest.raises(AssertionError, match="expected a number"):
            check.expect_close(bad, 1500.0, "h")
    with pytest.raises(AssertionError, match="not a finite number"):
        check.expect_close(10**400, 1.0, "h")  # used to raise OverflowError
    with pytest.raises(AssertionError, match="not a finite number"):
        check.expect_close(float("inf"), 1.0, "h")


def test_messages_never_show_the_expected_value(capsys):
    secret = 123456789
    for fn in (lambda: check.expect_equal(5, secret, "h"), lambda: check.expect_close(5, float(secret), "h"),
               lambda: check.expect_equal(np_array_2(), secret, "h")):
        with pytest.raises(AssertionError) as err:
            fn()
        assert "123456789" not in str(err.value) and "1.23457e+08" not in str(err.value)
    check.start("lab99_demo", exercises=1)
    check.exercise(1, "one", lambda: 5, lambda v: check.expect_equal(v, secret, "h"))
    assert "123456789" not in capsys.readouterr().out


def np_array_2():
    import numpy as np

    return np.array([1, 2])


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


def _timing(seconds, n=5):
    """A real measurement (measure.time_it) of a call that sleeps ``seconds``."""
    import time

    from course_lib import measure

    return measure.time_it(lambda: time.sleep(seconds), warmup=0, repeats=n)


def test_lab01_time_ratio():
    lab01.verify_time_ratio((_timing(0.003), _timing(0.001)))
    # a busy machine slowed the inference measurement: not refused (only a swapped pair is)
    lab01.verify_time_ratio((_timing(0.0108), _timing(0.0122)))
    same = _timing(0.003)
    with pytest.raises(AssertionError, match="same object"):
        lab01.verify_time_ratio((same, same))
    flop_ratio = 2.81  # issue 12: the FLOP ratio of exercise 3 used to pass as a "measured" time ratio
    for wrong in (flop_ratio, 3, 3.0, 0.3, float("nan"), "fast",
                  (_timing(0.001), _timing(0.003)),          # the pair swapped: training faster than inference
                  (_timing(0.003, n=2), _timing(0.001, n=2)),  # two samples: no median worth the name
                  (0.003, 0.001)):                          # medians typed in, not measurements
        with pytest.raises(AssertionError, match="Hint"):
            lab01.verify_time_ratio(wrong)


def test_lab01_time_ratio_accepts_only_what_time_it_measured():
    """Issue 26: hand-made Timing records (even all-zero samples) and two timings of an empty
    function passed exercise 4."""
    from course_lib import measure

    real = (_timing(0.003), _timing(0.001))
    copies = tuple(measure.Timing(t.samples, t.n_threads, t.device) for t in real)
    zeros = (measure.Timing((0.0,) * 20, 1, "cpu"), measure.Timing((0.0,) * 20, 1, "cpu"))
    empty = (measure.time_it(lambda: None), measure.time_it(lambda: None))
    for wrong, says in ((copies, "built by hand"), (zeros, "built by hand"), (empty, "does nothing")):
        with pytest.raises(AssertionError, match=says):
            lab01.verify_time_ratio(wrong)
    check.start("lab01_flops", exercises=4)  # through the framework: a hint, never a crash
    check.exercise(4, "time ratio", lambda: zeros, lab01.verify_time_ratio)
    assert check.results() == {4: False}


def test_lab01_flop_ratio_answer_is_rejected_for_exercise_4():
    fwd = [2 * 128 * 64 * 256, 2 * 128 * 256 * 256, 2 * 128 * 256 * 10]
    ratio = (3 * sum(fwd) - fwd[0]) / sum(fwd)
    assert round(ratio, 2) == 2.81
    with pytest.raises(AssertionError, match="a measurement is needed"):
        lab01.verify_time_ratio(ratio)
