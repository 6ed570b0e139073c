"""Lab 05's verifiers accept the right answer (computed here by hand) and
reject plausible wrong ones."""

import pytest

from course_lib import energy
from course_lib.exercises import lab05


def test_break_even():
    e = lab05.EXERCISE_1
    right = e["training_cost"] / (e["requests_per_day"] * e["cost_per_request"])
    assert right == pytest.approx(1500.0)
    lab05.verify_break_even(right)
    lab05.verify_break_even(round(right, 1))
    for wrong in (e["training_cost"] / e["cost_per_request"],  # forgot the traffic
                  right / 365,  # years, not days
                  e["training_cost"] / (e["requests_per_day"] * e["cost_per_request"] * 365)):  # yearly cost
        with pytest.raises(AssertionError, match="Hint"):
            lab05.verify_break_even(wrong)
    with pytest.raises(AssertionError):
        lab05.verify_break_even("1500 days")


def test_training_cost():
    e = lab05.EXERCISE_2
    flops = 6 * 7e9 * 2e12
    hours = flops / (312e12 * 0.45) / 3600  # A100 bf16 dense peak, NVIDIA datasheet
    right = hours * 1.8
    lab05.verify_training_cost(right)
    assert lab05._expected_training_cost() == pytest.approx(right)
    for wrong in (right / 3,  # 2·N·D instead of 6·N·D
                  right * 0.45,  # forgot the utilization
                  right * 3600,  # seconds × price per hour
                  right * 312 / 989):  # H100 peak instead of A100
        with pytest.raises(AssertionError):
            lab05.verify_training_cost(wrong)
    assert e["accelerator"] == "A100 80GB SXM"


def test_daily_cost():
    seconds = 2 * 8e9 * 600 / (121e12 * 0.2)  # L4 bf16 dense peak, NVIDIA datasheet
    right = seconds / 3600 * 0.8 * 2e6
    lab05.verify_daily_cost(right)
    for wrong in (right * 3,  # 6·N per token (training) instead of 2·N
                  right / 600,  # one token per request
                  right * 0.2,  # forgot the utilization
                  right / 24):  # per hour
        with pytest.raises(AssertionError):
            lab05.verify_daily_cost(wrong)


def test_best_size():
    assert lab05._expected_best_size() == 3e9
    lab05.verify_best_size(3e9)
    lab05.verify_best_size(3_000_000_000)
    for wrong in (7e9,  # best when inference is ignored
                  20e9,  # the largest candidate
                  13e9,  # the target model itself
                  3):  # in billions, not parameters
        with pytest.raises(AssertionError):
            lab05.verify_best_size(wrong)


def test_training_co2():
    hours = 6 * 7e9 * 2e12 / (312e12 * 0.45) / 3600
    kwh = hours * 400 / 1000 * 1.1  # A100 SXM TDP 400 W, PUE 1.1
    right = kwh * 0.4 / 1000
    lab05.verify_training_co2(right)
    for wrong in (right * 1000,  # kg, not tonnes
                  right / 1.1,  # forgot the PUE
                  right / 0.4 * energy.DEFAULT_GRID_KG_PER_KWH):  # the default grid, not the given one
        with pytest.raises(AssertionError):
            lab05.verify_training_co2(wrong)


def test_break_even_refuses_a_string_of_the_right_value():
    # Issue 12: '1500' passed because expect_close called float() on it.
    right = lab05._expected_break_even()
    assert right == pytest.approx(3e6 / (4e6 * 0.0005)) == pytest.approx(1500)
    for wrong in ("1500", str(right), True):
        with pytest.raises(AssertionError, match="expected a number"):
            lab05.verify_break_even(wrong)
    import numpy as np

    lab05.verify_break_even(np.float64(1500.0))


def test_best_size_numpy_gets_a_hint_never_a_crash():
    """Issue 26: a numpy array made the check crash (ambiguous truth value)."""
    import numpy as np

    from course_lib import check

    lab05.verify_best_size(np.float64(3e9))  # a numpy scalar of the right value passes
    for wrong in (np.array([3e9, 5e9]), np.array([]), "3e9", None):
        with pytest.raises(AssertionError, match="Hint"):
            lab05.verify_best_size(wrong)
        check.start("lab05_cost", exercises=5)
        check.exercise(4, "best size", lambda: wrong, lab05.verify_best_size)
        assert check.results() == {4: False}
