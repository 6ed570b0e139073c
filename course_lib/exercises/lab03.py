"""Verifiers for lab 03 (batch size): the arithmetic intensity of a matmul,
which side of a device's ridge point it falls on, the batch at which it turns
compute-bound, a dynamic-batching setting that meets a p95 latency target,
and the most a batching server can serve, from a fitted cost model.

The inputs of each exercise live here (``EXERCISE_1`` …: this student's
variant, :func:`course_lib.check.variant`) so the lab and its checks cannot drift apart; expected values come from
:mod:`course_lib.predict`, :mod:`course_lib.hardware` and
:mod:`course_lib.simulate` (a seeded simulation for exercise 4).
"""

from __future__ import annotations

from .. import check, hardware, predict, simulate

LESSON = "lessons/03_batch_size.ipynb"

_BASE = {
    1: {"batch": 16, "k": 4096, "n": 4096, "bytes_per_value": 2},
    2: {"accelerator": "L4", "dtype": "bf16", "batch": 256, "k": 8192, "n": 8192, "bytes_per_value": 2},
    3: {"accelerator": "A100 80GB SXM", "dtype": "bf16", "k": 8192, "n": 8192, "bytes_per_value": 2},
    4: {"rate": 800.0, "overhead": 0.004, "per_sample": 0.0005, "p95_target": 0.020,
        "n_requests": 2000, "seed": 0, "max_batch_limit": 64},
    5: {"batch_sizes": [1, 4, 16, 64], "seconds": [0.0032, 0.0038, 0.0062, 0.0158], "max_batch": 32},
}
_CHOICES = {  # a student's variant: each listed input takes one of these values (check.variant)
    1: {"batch": (8, 16, 32, 64), "k": (2048, 4096, 8192), "n": (1024, 4096, 8192)},
    2: {"accelerator": ("L4", "A100 80GB SXM", "H100 SXM"), "batch": (64, 256, 1024)},
    3: {"accelerator": ("A100 80GB SXM", "H100 SXM", "L4"), "k": (4096, 8192), "n": (4096, 8192)},
    4: {"rate": (600.0, 800.0, 1000.0), "seed": (0, 1, 2)},
    5: {"max_batch": (16, 32, 48)},
}


def __getattr__(name: str):
    """``EXERCISE_N``: this student's inputs of exercise N (:func:`course_lib.check.variant`)."""
    return check.inputs_attribute("lab03", name, _BASE, _CHOICES)


def _inputs(n: int) -> dict:
    return check.variant("lab03", n, _BASE[n], _CHOICES.get(n, {}))


# ---------------------------------------------------------------- exercise 1


def _expected_intensity() -> float:
    """The answer to exercise 1. Lab 03, exercise 1."""
    e = _inputs(1)
    return predict.arithmetic_intensity(e["batch"], e["k"], e["n"], e["bytes_per_value"])


def verify_intensity(flop_per_byte) -> None:
    """Exercise 1: FLOPs per byte of a (batch x k)·(k x n) matmul. Lab 03, exercise 1."""
    check.expect_close(flop_per_byte, _expected_intensity(),
                       "count 2 FLOPs (a multiply and an add) per term of the sum, and the bytes of all three matrices: "
                       "both inputs read once and the output written once (section 3 of " + LESSON + ")", rel=1e-6)


# ---------------------------------------------------------------- exercise 2


def _expected_roofline() -> tuple[float, str]:
    """The answer to exercise 2. Lab 03, exercise 2."""
    e = _inputs(2)
    dev = hardware.accelerator(e["accelerator"])
    peak, bw = dev.peak_flops(e["dtype"]), dev.bandwidth
    intensity = predict.arithmetic_intensity(e["batch"], e["k"], e["n"], e["bytes_per_value"])
    side = "compute" if intensity >= hardware.ridge_point(peak, bw) else "memory"
    return hardware.attainable_flops(intensity, peak, bw), side


def verify_roofline(answer) -> None:
    """Exercise 2: (attainable FLOP/s, "memory" or "compute") of the matmul on the device.
    Lab 03, exercise 2."""
    check.expect_true(isinstance(answer, tuple) and len(answer) == 2,
                      "return a pair: (attainable FLOP/s as a number, 'memory' or 'compute')")
    flops, side = answer
    want_flops, want_side = _expected_roofline()
    check.expect_true(side in ("memory", "compute"), "the second item is the string 'memory' or 'compute'")
    check.expect_equal(side, want_side,
                       "compare the matmul's arithmetic intensity with the device's ridge point, peak FLOP/s / "
                       "bandwidth in bytes/s (hardware.ridge_point); below it the device waits for memory")
    check.expect_close(flops, want_flops,
                       "the roofline is min(peak FLOP/s, bandwidth x intensity), in FLOP/s: use the dense bf16 peak "
                       "and the bandwidth in bytes/s (TB/s x 1e12) from hardware.accelerator(...)", rel=1e-6)


# ---------------------------------------------------------------- exercise 3


def _expected_batch() -> int:
    """The answer to exercise 3. Lab 03, exercise 3."""
    e = _inputs(3)
    dev = hardware.accelerator(e["accelerator"])
    return hardware.compute_bound_batch(e["k"], e["n"], dev.peak_flops(e["dtype"]), dev.bandwidth, e["bytes_per_value"])


def verify_batch(batch) -> None:
    """Exercise 3: the smallest batch whose intensity reaches the ridge point. Lab 03, exercise 3."""
    batch = check.expect_int(batch, "answer with a whole batch size (an int)")
    check.expect_equal(batch, _expected_batch(),
                       "'intensity ≈ batch' is only an approximation: the k x n weight is read too. Find the smallest "
                       "batch whose exact intensity (predict.arithmetic_intensity) is at least the ridge point")


# ---------------------------------------------------------------- exercise 4


def simulate_setting(max_batch, timeout) -> simulate.SimResult:
    """The exercise-4 server with the learner's ``max_batch`` and ``timeout`` (seconds). Lab 03, exercise 4."""
    e = _inputs(4)
    return simulate.simulate_batching(e["rate"], max_batch, timeout, e["overhead"], e["per_sample"],
                                      n_requests=e["n_requests"], seed=e["seed"])


def verify_setting(answer) -> None:
    """Exercise 4: a (max_batch, timeout in seconds) whose simulated p95 meets the target.
    Lab 03, exercise 4."""
    e = _inputs(4)
    check.expect_true(isinstance(answer, tuple) and len(answer) == 2,
                      "return a pair: (max_batch as an int, timeout in seconds)")
    max_batch, timeout = answer
    max_batch = check.expect_int(max_batch, f"max_batch is a whole number from 1 to {e['max_batch_limit']}")
    check.expect_true(1 <= max_batch <= e["max_batch_limit"],
                      f"max_batch is a whole number from 1 to {e['max_batch_limit']}")
    timeout = check.expect_number(timeout, "the timeout is in seconds, between 0 and 1 (2 ms is 0.002)")
    check.expect_true(0 <= timeout <= 1, "the timeout is in seconds, between 0 and 1 (2 ms is 0.002)")
    res = simulate_setting(max_batch, timeout)
    check.expect_true(res.p95 <= e["p95_target"],
                      f"your setting gives p95 = {res.p95 * 1e3:.1f} ms. First check that max_batch / (overhead + "
                      "per_sample x max_batch) is well above the arrival rate (simulate.max_throughput); then try "
                      "the setting in simulate.simulate_batching with the exercise's seed and n_requests (section 4)")


# ---------------------------------------------------------------- exercise 5


def _expected_capacity() -> float:
    """The answer to exercise 5. Lab 03, exercise 5."""
    e = _inputs(5)
    fit = simulate.fit_cost_model(e["batch_sizes"], e["seconds"])
    return simulate.max_throughput(e["max_batch"], fit.overhead, fit.per_sample)


def verify_capacity(requests_per_s) -> None:
    """Exercise 5: the most requests/s a server with this cost model and max_batch can serve.
    Lab 03, exercise 5."""
    check.expect_close(requests_per_s, _expected_capacity(),
                       "fit a straight line time = overhead + per_sample x batch through the measured points; a "
                       "server always busy with full batches serves max_batch requests every "
                       "overhead + per_sample x max_batch seconds (section 4)", rel=1e-3)
