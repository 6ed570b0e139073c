"""Verifiers for lab 05 (cost scaling): break-even, training cost, a
service's daily cost, inference-aware sizing, training emissions.

The inputs of each exercise live here (``EXERCISE_1`` …: this student's
variant, :func:`course_lib.check.variant`) so the lab and its checks cannot drift apart; expected values come from :mod:`course_lib.cost`
and :mod:`course_lib.energy`.
"""

from __future__ import annotations

from .. import check, cost, energy, hardware

LESSON = "lessons/05_cost_scaling.ipynb"

_BASE = {
    1: {"training_cost": 3e6, "cost_per_request": 0.0005, "requests_per_day": 4e6},
    2: {"n_params": 7e9, "n_tokens": 2e12, "accelerator": "A100 80GB SXM", "utilization": 0.45,
        "price_per_hour": 1.8},
    3: {"n_params": 8e9, "tokens_per_request": 600, "accelerator": "L4", "utilization": 0.2,
        "price_per_hour": 0.8, "requests_per_day": 2e6},
    4: {"target_params": 13e9, "target_tokens": 260e9, "inference_tokens": 2e12,
        "candidates": (2e9, 3e9, 5e9, 7e9, 10e9, 13e9, 20e9)},
    5: {"n_params": 7e9, "n_tokens": 2e12, "accelerator": "A100 80GB SXM", "utilization": 0.45,
        "pue": 1.1, "grid_kg_per_kwh": 0.4},
}
_CHOICES = {  # a student's variant: each listed input takes one of these values (check.variant)
    1: {"training_cost": (2e6, 3e6, 5e6), "cost_per_request": (0.0003, 0.0005, 0.0008),
        "requests_per_day": (2e6, 4e6, 8e6)},
    2: {"n_params": (3e9, 7e9, 13e9), "n_tokens": (1e12, 2e12, 3e12), "utilization": (0.35, 0.45, 0.5)},
    3: {"n_params": (3e9, 8e9), "tokens_per_request": (400, 600, 900), "requests_per_day": (1e6, 2e6, 5e6)},
    4: {"inference_tokens": (5e11, 2e12, 1e13)},
    5: {"n_params": (3e9, 7e9, 13e9), "pue": (1.1, 1.2, 1.4), "grid_kg_per_kwh": (0.05, 0.2, 0.4, 0.7)},
}


def __getattr__(name: str):
    """``EXERCISE_N``: this student's inputs of exercise N (:func:`course_lib.check.variant`)."""
    return check.inputs_attribute("lab05", name, _BASE, _CHOICES)


def _inputs(n: int) -> dict:
    return check.variant("lab05", n, _BASE[n], _CHOICES.get(n, {}))


def _expected_break_even() -> float:
    """The answer to exercise 1. Lab 05, exercise 1."""
    e = _inputs(1)
    return cost.break_even_days(e["training_cost"], cost.daily_inference_cost(e["requests_per_day"], e["cost_per_request"]))


def verify_break_even(days) -> None:
    """Exercise 1: the break-even day, in days. Lab 05, exercise 1."""
    check.expect_close(days, _expected_break_even(),
                       "divide the one-off training cost by what inference costs per *day* "
                       "(requests per day × cost per request); see section 1 of " + LESSON, rel=1e-3)


def _expected_training_cost() -> float:
    """The answer to exercise 2. Lab 05, exercise 2."""
    e = _inputs(2)
    return cost.training_cost(e["n_params"], e["n_tokens"], accelerator=e["accelerator"], utilization=e["utilization"],
                              price_per_hour=e["price_per_hour"])


def verify_training_cost(dollars) -> None:
    """Exercise 2: training cost in dollars. Lab 05, exercise 2."""
    check.expect_close(dollars, _expected_training_cost(),
                       "training FLOPs are 6·N·D; divide by the accelerator's bf16 peak times the utilization "
                       "to get seconds, then convert to hours before multiplying by the price (section 3)", rel=1e-3)


def _expected_daily_cost() -> float:
    """The answer to exercise 3. Lab 05, exercise 3."""
    e = dict(_inputs(3))
    requests = e.pop("requests_per_day")
    return cost.daily_inference_cost(requests, cost.cost_per_request(e.pop("n_params"), **e))  # model, positional


def verify_daily_cost(dollars) -> None:
    """Exercise 3: the service's daily cost in dollars. Lab 05, exercise 3."""
    check.expect_close(dollars, _expected_daily_cost(),
                       "a forward pass costs 2·N FLOPs per token, and a request has many tokens; "
                       "seconds per request = FLOPs ÷ (peak × utilization) (section 3)", rel=1e-3)


def _expected_best_size() -> float:
    """The answer to exercise 4. Lab 05, exercise 4."""
    e = _inputs(4)
    target = cost.chinchilla_loss(e["target_params"], e["target_tokens"])
    return min(e["candidates"], key=lambda n: cost.size_at_quality(n, target, e["inference_tokens"]).total_flops)


def verify_best_size(n_params) -> None:
    """Exercise 4: the candidate size (parameters) with the least lifetime compute. Lab 05, exercise 4."""
    hint = "return one of the candidate sizes, in parameters (e.g. 7e9, not 7)"
    n_params = check.expect_number(n_params, hint)  # a numpy or torch scalar is fine; an array gets a hint
    check.expect_true(n_params in _inputs(4)["candidates"], hint)
    check.expect_equal(n_params, _expected_best_size(),
                       "for each candidate, find the training tokens that reach the target loss "
                       "(cost.tokens_for_loss), then add training 6·N·D and serving 2·N·D_inference (section 6)")


def _expected_training_co2_tonnes() -> float:
    """The answer to exercise 5. Lab 05, exercise 5."""
    e = _inputs(5)
    hours = cost.training_hours(e["n_params"], e["n_tokens"], accelerator=e["accelerator"], utilization=e["utilization"])
    kwh = energy.energy_kwh(hardware.accelerator(e["accelerator"]).tdp_w, hours, pue=e["pue"])
    return energy.co2_kg(kwh, e["grid_kg_per_kwh"]) / 1000


def verify_training_co2(tonnes) -> None:
    """Exercise 5: training emissions in tonnes of CO2e. Lab 05, exercise 5."""
    check.expect_close(tonnes, _expected_training_co2_tonnes(),
                       "energy (kWh) = accelerator-hours × TDP in kW × PUE; CO2 = kWh × grid intensity (kg), "
                       "and a tonne is 1,000 kg (section 4)", rel=1e-3)
