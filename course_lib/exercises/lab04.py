"""Verifiers for lab 04 (lessons/04_precision.ipynb).

The inputs of each exercise live here (``EXERCISE_1`` …) and the lab reads
them. Expected values come from ``course_lib.precision`` (``quantize``,
``get_format``, ``representable``, ``weight_bytes``) on the same tensor and
model the lab builds, so they cannot drift from what the lesson teaches.
"""

from __future__ import annotations

import math

import torch

from .. import check, models, precision

# The inputs of each exercise (the lab reads them as EXERCISE_N: one source). A student's
# variant takes each input listed in _CHOICES from its alternatives (check.variant).
_BASE = {
    1: {"rows": 8, "cols": 16, "seed": 4, "bits": 4},  # exercise 2 reuses these weights
    3: {"small_gradient": 3e-7, "large_gradient": 10.0},  # the fp16 gradients to keep: smallest and largest magnitude
    4: {"d_in": 64, "hidden": 256, "d_out": 10, "depth": 3, "bits": 4, "scale_bytes": 4},
    # Not lesson 04's table value (70,000, whose row answers the question; issue 22).
    5: {"value": 50000.0, "tolerance": 0.01},
}
_CHOICES = {
    1: {"seed": (1, 2, 3, 4, 5, 6, 7)},
    3: {"small_gradient": (2e-7, 3e-7, 5e-7, 1e-6), "large_gradient": (5.0, 10.0, 20.0, 40.0)},
    4: {"hidden": (128, 256, 384), "depth": (2, 3, 4)},
    5: {"value": (240.0, 3000.0, 50000.0, 90000.0)},  # four different sets of formats
}


def __getattr__(name: str):
    """``EXERCISE_N``: this student's inputs of exercise N (:func:`course_lib.check.variant`)."""
    return check.inputs_attribute("lab04", name, _BASE, _CHOICES)


def _inputs(n: int) -> dict:
    return check.variant("lab04", n, _BASE[n], _CHOICES.get(n, {}))


def lab_weights() -> torch.Tensor:
    """The 8 × 16 weight matrix of exercises 1 and 2: seeded, rows of different sizes. Lab 04, exercise 1."""
    e = _inputs(1)
    g = torch.Generator().manual_seed(e["seed"])
    w = torch.randn(e["rows"], e["cols"], generator=g)
    return w * torch.linspace(0.1, 2.0, e["rows"])[:, None]


def lab_mlp() -> models.MLP:
    """The MLP of exercise 4. Lab 04, exercise 4."""
    return models.MLP(**{k: _inputs(4)[k] for k in ("d_in", "hidden", "d_out", "depth")}, seed=0)


def verify_int4_quantize(answer) -> None:
    """Exercise 1: ``(codes, scale)`` of symmetric INT4 quantization, one scale per row. Lab 04, exercise 1."""
    check.expect_true(
        isinstance(answer, tuple) and len(answer) == 2 and all(isinstance(t, torch.Tensor) for t in answer),
        "return a tuple (codes, scale) of two tensors.",
    )
    codes, scale = answer
    for name, t in (("codes", codes), ("scale", scale)):
        check.expect_true(t.device.type != "meta", f"{name} is a tensor on the 'meta' device, which holds no "
                          "values: compute it on the CPU from w.")
        check.expect_true(not (t.is_complex() or t.dtype == torch.bool),
                          f"{name} must hold real numbers (an integer or float dtype), got {t.dtype}.")
        check.expect_true(bool(torch.isfinite(t.double()).all()),
                          f"{name} holds inf or nan: is a row's max|w| zero, or did you divide by zero?")
    w = lab_weights()
    want_codes, want_scale = precision.quantize(w, 4, axis=0)
    check.expect_true(
        codes.shape == w.shape,
        f"codes must have the weights' shape {tuple(w.shape)}, one code per weight.",
    )
    codes_f = codes.double()
    check.expect_true(
        bool((codes_f == codes_f.round()).all()),
        "codes must be whole numbers: round w / scale to the nearest integer.",
    )
    check.expect_true(
        int(codes_f.abs().max()) <= 7,
        "symmetric INT4 codes run from −7 to 7 (q = 2^(bits−1) − 1): is your scale max|w| / 7?",
    )
    try:
        scale_b = torch.as_tensor(scale, dtype=torch.float64).expand(w.shape)
    except RuntimeError:
        raise AssertionError("Not yet. Hint: scale must broadcast against w: one value per row, shape (rows, 1).") from None
    check.expect_true(
        bool(torch.allclose(scale_b[:, 0], want_scale[:, 0].double(), rtol=1e-5))
        and bool((scale_b == scale_b[:, :1]).all()),
        "use one scale per row (per output channel): scale = max|w| over the row / 7 (lesson 04, section 5).",
    )
    err = (codes_f * scale_b - w.double()).abs()
    check.expect_true(
        bool((err <= scale_b / 2 * (1 + 1e-5)).all()),
        "some weights are off by more than half a step: round to the nearest code instead of truncating.",
    )
    check.expect_true(bool(torch.equal(codes_f, want_codes.double())), "compare with precision.quantize(w, 4, axis=0).")


def verify_error_bound(answer) -> None:
    """Exercise 2: the largest rounding error INT4 per-row quantization can make on the weights.
    Lab 04, exercise 2."""
    _, scale = precision.quantize(lab_weights(), 4, axis=0)
    check.expect_close(
        answer,
        float(scale.max()) / 2,
        "rounding to the nearest code is off by at most half a step, and the step of each row is "
        "its max|w| / 7; which row has the largest step? (lesson 04, section 5)",
        rel=1e-5,
    )


def _loss_scale_window() -> tuple[float, float]:
    """Exercise 3's answer: (the smallest power-of-two loss scale that lifts the small gradient
    to fp16's smallest normal number, the largest that keeps the large gradient × scale within fp16's max)."""
    fmt, e = precision.get_format("fp16"), _inputs(3)
    low = 2.0 ** math.ceil(math.log2(fmt.smallest_normal / e["small_gradient"]))
    high = 2.0 ** math.floor(math.log2(fmt.max / e["large_gradient"]))
    return low, high


def verify_loss_scale(answer) -> None:
    """Exercise 3: the window of power-of-two loss scales for fp16 gradients
    between the two magnitudes of ``_inputs(3)``: (smallest, largest). Lab 04, exercise 3."""
    check.expect_true(
        isinstance(answer, tuple) and len(answer) == 2,
        "return a tuple (smallest_scale, largest_scale).",
    )
    low, high = answer
    want_low, want_high = _loss_scale_window()
    e = _inputs(3)
    check.expect_close(
        low,
        want_low,
        f"the smallest scale: the smallest power of two S with S × {e['small_gradient']:g} ≥ fp16's smallest *normal* number "
        "(torch.finfo(torch.float16).smallest_normal), not its smallest subnormal (lesson 04, section 4).",
    )
    check.expect_close(
        high,
        want_high,
        f"the largest scale: the largest power of two S with S × {e['large_gradient']:g} still ≤ fp16's largest number "
        "(torch.finfo(torch.float16).max); one power of two more and the scaled gradient becomes inf.",
    )


def verify_int4_model_bytes(answer) -> None:
    """Exercise 4: bytes of the MLP's Linear weights at INT4 plus one fp32 scale per output row.
    Lab 04, exercise 4."""
    n_weights, n_rows = precision.linear_weight_count(lab_mlp())
    check.expect_equal(
        answer,
        precision.weight_bytes(n_weights, _inputs(4)["bits"], n_scales=n_rows, scale_bytes=_inputs(4)["scale_bytes"]),
        "count only the Linear weight matrices (not the biases), at half a byte each, then add 4 bytes "
        "for each output row's scale (lesson 04, section 5).",
    )


def verify_formats_for_big_value(answer) -> None:
    """Exercise 5: the torch float formats that store the value within the tolerance. Lab 04, exercise 5."""
    e = _inputs(5)
    value, tolerance = e["value"], e["tolerance"]
    want = {
        name
        for name in precision.TORCH_FLOATS
        if math.isfinite(precision.representable(value, name))
        and abs(precision.representable(value, name) - value) <= tolerance * value
    }
    shape_hint = "Not yet. Hint: return a set (or list) of format names such as 'fp16'."
    if not isinstance(answer, (set, frozenset, list, tuple)):
        raise AssertionError(f"{shape_hint} Got {type(answer).__name__}"
                             + (": a dict's keys are not an answer." if isinstance(answer, dict) else "."))
    if not all(isinstance(name, str) for name in answer):
        raise AssertionError(shape_hint + " Every item must be a format's name (a string).")
    check.expect_equal(
        set(answer),
        want,
        f"a format must reach {value:,g} (look at the max column of precision.format_table()), must not "
        "just clamp at its largest value, and must land within the tolerance: read each value back with "
        "precision.representable.",
    )
