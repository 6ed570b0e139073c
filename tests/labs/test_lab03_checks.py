"""Lab 03's verifiers accept the right answer (computed here by hand) and
reject plausible wrong ones."""

import math

import pytest

from course_lib.exercises import lab03


def test_intensity():
    b, k, n, p = 16, 4096, 4096, 2
    right = 2 * b * k * n / (p * (b * k + k * n + b * n))
    assert right == pytest.approx(15.876, rel=1e-4)
    lab03.verify_intensity(right)
    for wrong in (b * k * n / (p * (b * k + k * n + b * n)),  # forgot the factor 2
                  2 * b * k * n / (p * (b * k + k * n)),  # forgot writing the output
                  2 * b * k * n / (4 * (b * k + k * n + b * n)),  # fp32 bytes
                  float(b)):  # the rule of thumb "intensity ≈ batch"
        with pytest.raises(AssertionError, match="Hint"):
            lab03.verify_intensity(wrong)


def test_roofline():
    # L4: 121 TFLOP/s bf16, 0.30 TB/s; batch 256 on 8192 x 8192 in bf16
    i = 2 * 256 * 8192 * 8192 / (2 * (256 * 8192 + 8192 * 8192 + 256 * 8192))
    assert i == pytest.approx(240.94, rel=1e-4)
    assert 121e12 / 0.30e12 == pytest.approx(403.3, rel=1e-3)  # ridge > intensity: memory-bound
    right = (0.30e12 * i, "memory")
    lab03.verify_roofline(right)
    for wrong in ((121e12, "compute"),  # assumed compute-bound
                  (121e12, "memory"),  # right side, but the peak instead of bandwidth x intensity
                  (0.30e12 * i, "compute"),  # wrong side
                  (0.30 * i, "memory"),  # TB/s not converted to bytes/s
                  0.30e12 * i):  # not a pair
        with pytest.raises(AssertionError, match="Hint"):
            lab03.verify_roofline(wrong)


def test_batch():
    # A100: ridge 312 / 2.04 = 152.9 FLOP/byte; exact B = ceil(R*2*k*k / (2*k*k - R*2*2*k))
    k, ridge = 8192, 312 / 2.04
    right = math.ceil(ridge * 2 * k * k / (2 * k * k - ridge * 2 * 2 * k))
    assert right == 159
    lab03.verify_batch(right)
    for wrong in (153,  # "intensity ≈ batch": the ridge rounded up
                  152,  # the ridge rounded down
                  160,  # one too many
                  159.0):  # not an int
        with pytest.raises(AssertionError, match="Hint"):
            lab03.verify_batch(wrong)


def test_setting():
    lab03.verify_setting((16, 0.002))
    lab03.verify_setting((8, 0.0))
    for wrong in ((1, 0.0),  # no batching: 222 requests/s at most, the queue explodes
                  (4, 0.002),  # 667 requests/s at most, still below 800
                  (16, 2.0),  # a timeout of 2 s, not 2 ms
                  (16, 2),  # milliseconds instead of seconds
                  (0, 0.002),  # max_batch below 1
                  (128, 0.002),  # above the limit
                  16):  # not a pair
        with pytest.raises(AssertionError, match="Hint"):
            lab03.verify_setting(wrong)


def test_setting_reports_the_p95_it_got():
    with pytest.raises(AssertionError, match="p95 = "):
        lab03.verify_setting((2, 0.0))


def test_capacity():
    # the points lie on 3 ms + 0.2 ms per sample exactly
    overhead, per_sample = 0.003, 0.0002
    for b, s in zip(lab03.EXERCISE_5["batch_sizes"], lab03.EXERCISE_5["seconds"]):
        assert s == pytest.approx(overhead + per_sample * b)
    right = 32 / (overhead + per_sample * 32)
    assert right == pytest.approx(3404.26, rel=1e-5)
    lab03.verify_capacity(right)
    for wrong in (1 / (overhead + per_sample),  # no batching
                  1 / per_sample,  # forgot the overhead
                  32 / overhead,  # forgot the per-sample cost
                  32 / lab03.EXERCISE_5["seconds"][-1]):  # used the batch-64 time
        with pytest.raises(AssertionError, match="Hint"):
            lab03.verify_capacity(wrong)


def test_numpy_integers_of_the_right_value_are_accepted():
    # Issue 12: np.int64 answers were refused by an isinstance(int) check (exercises 3 and 4).
    import numpy as np

    right = lab03._expected_batch()
    lab03.verify_batch(np.int64(right))
    with pytest.raises(AssertionError, match="Hint"):
        lab03.verify_batch(np.int64(right + 1))
    lab03.verify_setting((np.int64(16), np.float64(0.002)))
    lab03.verify_setting((np.int32(16), np.float32(0.002)))
