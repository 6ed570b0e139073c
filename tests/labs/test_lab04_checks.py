"""Lab 04 verifiers: each accepts the right answer and rejects plausible wrong ones."""

import math

import pytest
import torch

from course_lib import precision
from course_lib.exercises import lab04


def _int4(w, q=7, rounding=torch.round, per_row=True):
    amax = w.abs().amax(dim=1, keepdim=True) if per_row else w.abs().max()
    scale = amax / q
    return rounding(w / scale).clamp(-8, 8).to(torch.int8), scale


# ---------------------------------------------------------------- exercise 1


def test_int4_quantize_accepts_right_answers():
    w = lab04.lab_weights()
    lab04.verify_int4_quantize(_int4(w))
    lab04.verify_int4_quantize(precision.quantize(w, 4, axis=0))
    codes, scale = _int4(w)
    lab04.verify_int4_quantize((codes.float(), scale))  # float codes that are whole numbers are fine


@pytest.mark.parametrize(
    "wrong",
    [
        lambda w: _int4(w, q=8),  # −8…7 mistaken for a symmetric range: codes reach 8
        lambda w: _int4(w, q=15),  # unsigned 4-bit range
        lambda w: _int4(w, rounding=torch.trunc),  # truncation: errors up to a whole step
        lambda w: _int4(w, per_row=False),  # one scale for the whole tensor
        lambda w: (w / (w.abs().amax(dim=1, keepdim=True) / 7), w.abs().amax(dim=1, keepdim=True) / 7),  # not rounded
        lambda w: _int4(w)[0],  # codes only
        lambda w: (_int4(w)[0][:4], _int4(w)[1]),  # wrong shape
    ],
)
def test_int4_quantize_rejects_wrong_answers(wrong):
    with pytest.raises(AssertionError):
        lab04.verify_int4_quantize(wrong(lab04.lab_weights()))


# ---------------------------------------------------------------- exercise 2


def test_error_bound():
    w = lab04.lab_weights()
    right = float(w.abs().max()) / 7 / 2
    lab04.verify_error_bound(right)
    for wrong in (float(w.abs().max()) / 7, float(w.abs().max()) / 8 / 2, float(w.abs().max()) / 15 / 2,
                  float(w.abs().amax(dim=1).mean()) / 7 / 2):
        with pytest.raises(AssertionError):
            lab04.verify_error_bound(wrong)


def test_error_bound_rejects_non_numbers():
    with pytest.raises(AssertionError):
        lab04.verify_error_bound(None)
    with pytest.raises(AssertionError):
        lab04.verify_error_bound(float("nan"))


# ---------------------------------------------------------------- exercise 3


def test_loss_scale():
    # by hand: fp16's smallest normal is 2^-14 = 6.1035e-5; 6.1035e-5 / 3e-7 = 203.45 -> 2^8 = 256
    # (128 × 3e-7 = 3.84e-5 is still subnormal). fp16's max is 65,504; 65,504 / 10 = 6,550.4 -> 2^12 = 4,096
    # (8,192 × 10 = 81,920 overflows to inf).
    assert 128 * 3e-7 < 2.0**-14 <= 256 * 3e-7
    assert 4096 * 10 <= 65504 < 8192 * 10
    lab04.verify_loss_scale((256.0, 4096.0))
    lab04.verify_loss_scale((2**8, 2**12))
    for wrong in [
        (0.25, 4096.0),  # lifted only to the smallest subnormal (2^-24)
        (128.0, 4096.0),  # one power of two short
        (256.0, 8192.0),  # 10 × 8192 overflows fp16
        (256.0, 65536.0),  # GradScaler's default initial scale
        (203.45, 6550.4),  # not powers of two
        (4096.0, 256.0),  # the two swapped
        (256.0, 2**15),  # from fp16's max alone, forgetting the gradient of 10
    ]:
        with pytest.raises(AssertionError):
            lab04.verify_loss_scale(wrong)
    with pytest.raises(AssertionError):
        lab04.verify_loss_scale(256.0)


# ---------------------------------------------------------------- exercise 4


def test_int4_model_bytes():
    n_weights = 64 * 256 + 256 * 256 * 2 + 256 * 10
    n_rows = 256 * 3 + 10
    right = n_weights // 2 + 4 * n_rows
    assert right == 78120
    lab04.verify_int4_model_bytes(right)
    n_bias = n_rows
    for wrong in (
        n_weights // 2,  # forgot the scales
        (n_weights + n_bias) // 2 + 4 * n_rows,  # counted the biases
        n_weights * 4 + 4 * n_rows,  # bits, not bytes
        n_weights * 4,  # fp32 bytes
        n_weights // 2 + 4 * 4,  # one scale per layer
    ):
        with pytest.raises(AssertionError):
            lab04.verify_int4_model_bytes(wrong)


# ---------------------------------------------------------------- exercise 5


def test_formats_for_big_value():
    # 50,000 (not lesson 04's 70,000): by hand, fp16 reaches 65,504 with a step of 32 there; bf16's
    # step is 256 (0.3% at most); E4M3 clamps to 448; E5M2's neighbours are 49,152 and 57,344 (1.7% off)
    assert lab04.EXERCISE_5 == {"value": 50000.0, "tolerance": 0.01}
    assert precision.representable(50000.0, "fp8_e5m2") == 49152.0
    lab04.verify_formats_for_big_value({"fp32", "bf16", "fp16"})
    lab04.verify_formats_for_big_value(["bf16", "fp32", "fp16"])
    for wrong in (
        {"fp32", "bf16"},  # fp16 forgotten: 50,000 is below its 65,504
        {"fp32", "bf16", "fp16", "fp8_e4m3"},  # E4M3 clamps to 448: finite but wrong
        {"fp32", "bf16", "fp16", "fp8_e5m2"},  # in range, but 1.7% off
        {"fp32"},
    ):
        with pytest.raises(AssertionError, match="Hint"):
            lab04.verify_formats_for_big_value(wrong)
    with pytest.raises(AssertionError):
        lab04.verify_formats_for_big_value(None)


def test_formats_refuses_a_dict_and_strings_with_a_hint():
    """Issue 26: a dict with the right names as keys passed (set(dict) is its keys)."""
    from course_lib import check

    for wrong in ({"fp32": 1, "bf16": 1, "fp16": 1}, "fp32", {1, 2}, [None]):
        with pytest.raises(AssertionError, match="Hint"):
            lab04.verify_formats_for_big_value(wrong)
    check.start("lab04_precision", exercises=5)
    check.exercise(5, "formats", lambda: {"fp32": 1, "bf16": 1, "fp16": 1}, lab04.verify_formats_for_big_value)
    assert check.results() == {5: False}


def test_int4_codes_that_are_infinite_meta_or_complex_get_a_hint_not_a_crash():
    """Issue 26: infinite codes raised OverflowError, meta-device codes crashed, complex codes passed."""
    import torch

    from course_lib import check

    w = lab04.lab_weights()
    q = 7
    scale = w.abs().amax(dim=1, keepdim=True) / q
    codes = torch.round(w / scale)
    lab04.verify_int4_quantize((codes, scale))  # the right answer passes
    for wrong in ((torch.full_like(codes, float("inf")), scale), (codes, torch.full_like(scale, float("nan"))),
                  (codes.to("meta"), scale), (codes, scale.to("meta")),
                  (codes.to(torch.complex64), scale), (codes, scale.to(torch.complex64)),
                  (codes.bool(), scale)):
        with pytest.raises(AssertionError, match="Hint"):
            lab04.verify_int4_quantize(wrong)
        check.start("lab04_precision", exercises=5)
        check.exercise(1, "int4", lambda: wrong, lab04.verify_int4_quantize)
        assert check.results() == {1: False}


def test_expected_values_by_hand():
    # the values the verifiers compute, derived independently
    assert lab04._loss_scale_window() == (256.0, 4096.0)  # derived by hand in test_loss_scale
    assert precision.representable(3e-7 * 256, "fp16") > 2.0**-14 > precision.representable(3e-7 * 128, "fp16")
    assert math.isfinite(precision.representable(10 * 4096.0, "fp16"))
    assert math.isinf(precision.representable(10 * 8192.0, "fp16"))
    assert math.isinf(precision.representable(70000.0, "fp16"))
