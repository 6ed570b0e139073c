"""Lab 09's verifiers accept the right answer (computed here by hand) and
reject plausible wrong ones: per token vs per request, total vs active
parameters, prompt priced as output, reasoning tokens left out."""

import math

import pytest

from course_lib.exercises import lab09


def test_inference_share():
    e = lab09.EXERCISE_1
    per_request = (800 * 0.02 + 1200 * 0.25) / 1e6  # $0.000316
    inference = per_request * 2e6 * 365 * 2
    right = inference / (3.1e6 + inference)
    assert right == pytest.approx(0.129546, abs=1e-6)
    assert lab09._expected_inference_share() == pytest.approx(right)
    lab09.verify_inference_share(right)
    wrongs = {
        "price per million read as per request": 2e6 * (0.02 + 0.25) * 365 * 2,
        "prompt priced as output": (800 + 1200) * 0.25 / 1e6 * 2e6 * 365 * 2,
        "output priced as prompt": (800 + 1200) * 0.02 / 1e6 * 2e6 * 365 * 2,
        "one year, not two": inference / 2,
        "per day, not over the lifetime": per_request * 2e6,
    }
    for why, wrong_inference in wrongs.items():
        with pytest.raises(AssertionError, match="Hint"):
            lab09.verify_inference_share(wrong_inference / (e["training_cost"] + wrong_inference))
    with pytest.raises(AssertionError):
        lab09.verify_inference_share(1 - right)  # training's share
    with pytest.raises(AssertionError):
        lab09.verify_inference_share(100 * right)  # a percentage


def test_reasoning_batch():
    # Llama 3 8B's shape: 8,030,261,248 parameters; KV per token 2 × 32 layers × 8 KV heads × 128 × 2 bytes
    weights = 8_030_261_248 * 2
    kv_token = 2 * 32 * 8 * 128 * 2
    usable = 96e9 * 0.9
    right = math.floor((usable - weights) / (kv_token * 10_000))
    assert right == 53
    assert lab09._expected_reasoning_batch() == right
    lab09.verify_reasoning_batch(right)
    for wrong in (math.floor((usable - weights) / (kv_token * 2_000)),  # the reasoning trace left out
                  math.floor((usable - weights) / (kv_token * 4 * 10_000)),  # 32 KV heads: no grouped-query attention
                  math.floor((96e9 - weights) / (kv_token * 10_000)),  # no reserve
                  math.floor(usable / (kv_token * 10_000)),  # the weights forgotten
                  math.floor((usable - weights) / (kv_token / 2 * 10_000)),  # K or V only
                  round((usable - weights) / (kv_token * 10_000)) + 1):  # rounded up
        with pytest.raises(AssertionError, match="Hint"):
            lab09.verify_reasoning_batch(wrong)
    with pytest.raises(AssertionError):
        lab09.verify_reasoning_batch(53.7)
    with pytest.raises(AssertionError):
        lab09.verify_reasoning_batch(53.0)  # a count is an int


def test_break_even_with_and_without_reasoning():
    chat = (512 * 0.0178 + 717 * 0.0482) / 1e6
    thinking = (512 * 0.0178 + (717 + 6271) * 0.2402) / 1e6
    right = (4e6 / (5e6 * chat), 4e6 / (5e6 * thinking))
    assert right == pytest.approx((18317.95, 474.037), rel=1e-5)
    assert lab09._expected_break_even_days() == pytest.approx(right)
    lab09.verify_break_even_days(right)
    lab09.verify_break_even_days(list(right))
    wrongs = [
        (right[0], 4e6 / (5e6 * (512 * 0.0178 + 6988 * 0.0482) / 1e6)),  # reasoning at the chat deployment's output price
        (right[0], 4e6 / (5e6 * (512 * 0.0178 + 717 * 0.2402) / 1e6)),  # reasoning tokens left out
        (4e6 / (5e6 * (512 + 717) * 0.0482 / 1e6), right[1]),  # prompt priced as output
        (4e6 / (5e6 * (0.0178 + 0.0482)), 4e6 / (5e6 * (0.0178 + 0.2402))),  # prices per million read as per request
        (right[0] / 365, right[1] / 365),  # years
        (right[1], right[0]),  # swapped
    ]
    for wrong in wrongs:
        with pytest.raises(AssertionError, match="Hint"):
            lab09.verify_break_even_days(wrong)
    with pytest.raises(AssertionError):
        lab09.verify_break_even_days(right[0])


def test_moe_vs_dense_cost_per_answer():
    # hand counts of the two shapes (no biases, untied embeddings for the MoE, tied for the dense model)
    h, layers, q, kv = 2048, 48, 32 * 128, 4 * 128
    attention = h * (q + 2 * kv) + q * h
    expert = 3 * h * 768
    per_layer_active = attention + 8 * expert + h * 128 + 2 * h  # 8 experts, the router, two RMSNorms
    moe_active = layers * per_layer_active + 2 * 151936 * h + h
    moe_total = moe_active + layers * 120 * expert
    hd, ld, kvd = 3072, 28, 8 * 128
    dense = ld * (hd * (hd + 2 * kvd) + hd * hd + 3 * hd * 8192 + 2 * hd) + 128256 * hd + hd

    def per_answer(n):
        return 1500 * n * 2 / 3.35e12 / 3600 * 2.0

    right = (per_answer(moe_active), per_answer(dense))
    assert lab09._expected_moe_vs_dense() == pytest.approx(right, rel=1e-12)
    lab09.verify_moe_vs_dense(right)
    assert right[0] / right[1] == pytest.approx(moe_active / dense) and 1.0 < right[0] / right[1] < 1.1
    for wrong in ((per_answer(moe_total), right[1]),  # the MoE's total parameters
                  (right[0] / 1500, right[1] / 1500),  # per token, not per answer
                  (right[0] * 2, right[1] * 2),  # fp32 bytes
                  (right[0] * 3600, right[1] * 3600),  # seconds × price per hour
                  (right[1], right[0])):  # swapped
        with pytest.raises(AssertionError, match="Hint"):
            lab09.verify_moe_vs_dense(wrong)
