"""Verifiers for lab 09 (a model end to end): the inference share of a
service priced per token, the batch a reasoning trace's KV cache allows, the
break-even day with and without reasoning, and the cost per answer of a
mixture of experts against a dense model of the same active size.

The inputs of each exercise live here (``EXERCISE_1`` …, a student's own
variant: :func:`course_lib.check.variant`) so the lab and its checks cannot
drift apart. The per-token prices of exercises 1 and 3 are
inputs (a service's price list, as ``cost.lifetime_estimate`` computes one in
lesson 09, section 2), so that each answer takes several steps.
"""

from __future__ import annotations

import math

from .. import arch, check, cost

LESSON = "lessons/09_end_to_end.ipynb"

_BASE = {}
_BASE[1] = {"training_cost": 3.1e6, "prompt_price_per_million": 0.02, "output_price_per_million": 0.25,
              "requests_per_day": 2e6, "prompt_tokens": 800, "output_tokens": 1200, "years": 2.0}

_BASE[2] = {
    "config": {"model_type": "llama", "vocab_size": 128256, "hidden_size": 4096, "intermediate_size": 14336,
               "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
               "tie_word_embeddings": False},
    "gpu_memory_gb": 96, "usable_fraction": 0.9, "bytes_per_value": 2,
    "prompt_tokens": 1000, "reasoning_tokens": 8000, "output_tokens": 1000,
}

_BASE[3] = {"training_cost": 4e6, "requests_per_day": 5e6, "prompt_tokens": 512, "output_tokens": 717,
              "reasoning_tokens": 6271,
              "chat_prices": {"prompt": 0.0178, "output": 0.0482},
              "reasoning_prices": {"prompt": 0.0178, "output": 0.2402}}

_BASE[4] = {
    "moe_config": {"model_type": "mixtral", "vocab_size": 151936, "hidden_size": 2048, "intermediate_size": 768,
                   "num_hidden_layers": 48, "num_attention_heads": 32, "num_key_value_heads": 4, "head_dim": 128,
                   "num_local_experts": 128, "num_experts_per_tok": 8, "tie_word_embeddings": False},
    "dense_config": {"model_type": "llama", "vocab_size": 128256, "hidden_size": 3072, "intermediate_size": 8192,
                     "num_hidden_layers": 28, "num_attention_heads": 24, "num_key_value_heads": 8,
                     "tie_word_embeddings": True},
    "output_tokens": 1500, "bytes_per_param": 2, "bandwidth_tbs": 3.35, "price_per_hour": 2.0,
}

_CHOICES = {  # a student's variant: each listed input takes one of these values (check.variant)
    1: {"training_cost": (2.1e6, 3.1e6, 4.5e6), "requests_per_day": (1e6, 2e6, 3e6), "years": (1.0, 2.0, 3.0)},
    2: {"gpu_memory_gb": (80, 96, 141), "reasoning_tokens": (4000, 8000, 12000)},
    3: {"training_cost": (3e6, 4e6, 6e6), "requests_per_day": (2e6, 5e6, 8e6)},
    4: {"output_tokens": (1000, 1500, 2500), "price_per_hour": (1.5, 2.0, 3.0)},
}


def __getattr__(name: str):
    """``EXERCISE_N``: this student's inputs of exercise N (:func:`course_lib.check.variant`)."""
    return check.inputs_attribute("lab09", name, _BASE, _CHOICES)


def _inputs(n: int) -> dict:
    return check.variant("lab09", n, _BASE[n], _CHOICES.get(n, {}))


# ---------------------------------------------------------------- exercise 1


def _service_cost_per_request(prices: dict, prompt_tokens: float, output_tokens: float) -> float:
    return (prompt_tokens * prices["prompt"] + output_tokens * prices["output"]) / 1e6


def _expected_inference_share() -> float:
    """The answer to exercise 1. Lab 09, exercise 1."""
    e = _inputs(1)
    per_request = _service_cost_per_request({"prompt": e["prompt_price_per_million"], "output": e["output_price_per_million"]},
                                            e["prompt_tokens"], e["output_tokens"])
    per_year = cost.daily_inference_cost(e["requests_per_day"], per_request) * cost.DAYS_PER_YEAR
    return cost.lifetime_split(e["training_cost"], per_year, e["years"])[1]


def verify_inference_share(share) -> None:
    """Exercise 1: inference's share of lifetime dollars, a fraction between 0 and 1. Lab 09, exercise 1."""
    value = check.expect_number(share, "return a number: inference's share as a fraction (0.9, not 90)")
    check.expect_true(0 <= value <= 1, "return a fraction between 0 and 1 (0.9, not 90 %)")
    check.expect_close(value, _expected_inference_share(),
                       "a request costs prompt tokens × the prompt price plus output tokens × the output price, "
                       "each per *million* tokens; then requests per day × 365 × years, against the one-off "
                       "training cost (section 2 of " + LESSON + ")", rel=1e-4)


# ---------------------------------------------------------------- exercise 2


def _expected_reasoning_batch() -> int:
    """The answer to exercise 2. Lab 09, exercise 2."""
    e = _inputs(2)
    a = arch.resolve(e["config"])
    usable = e["gpu_memory_gb"] * 1e9 * e["usable_fraction"]
    weights = a.n_params * e["bytes_per_value"]
    context = e["prompt_tokens"] + e["reasoning_tokens"] + e["output_tokens"]
    per_sequence = a.kv_cache_bytes(seq_len=context, batch=1, bytes_per_value=e["bytes_per_value"])
    return max(0, math.floor((usable - weights) / per_sequence))


def verify_reasoning_batch(batch) -> None:
    """Exercise 2: the most sequences whose KV caches fit at the full context. Lab 09, exercise 2."""
    n = check.expect_int(batch, "return a whole number of sequences (round down: a sequence fits or it does not)")
    check.expect_equal(n, _expected_reasoning_batch(),
                       "the cache holds every token of the sequence: prompt, reasoning *and* answer; per token it "
                       "is 2 (K and V) × layers × KV heads × head_dim × bytes, with the model's KV heads (grouped-"
                       "query attention), in the memory left beside the weights after the reserve (section 1)")


# ---------------------------------------------------------------- exercise 3


def _expected_break_even_days() -> tuple[float, float]:
    """The answer to exercise 3: (without reasoning, with reasoning). Lab 09, exercise 3."""
    e = _inputs(3)
    chat = _service_cost_per_request(e["chat_prices"], e["prompt_tokens"], e["output_tokens"])
    thinking = _service_cost_per_request(e["reasoning_prices"], e["prompt_tokens"], e["output_tokens"] + e["reasoning_tokens"])
    return tuple(cost.break_even_days(e["training_cost"], cost.daily_inference_cost(e["requests_per_day"], c))
                 for c in (chat, thinking))


def verify_break_even_days(days) -> None:
    """Exercise 3: the break-even day without and with reasoning, as a pair. Lab 09, exercise 3."""
    check.expect_true(isinstance(days, (tuple, list)) and len(days) == 2,
                      "return a pair: (break-even day without reasoning, break-even day with reasoning)")
    want = _expected_break_even_days()
    hint = ("reasoning tokens are output tokens: a reasoning request pays the reasoning deployment's output price "
            "for its reasoning *and* its answer (its batch is smaller, so that price is higher); a request costs "
            "tokens × price per million ÷ 10⁶ (section 2 of " + LESSON + ")")
    for got, expected in zip(days, want):
        check.expect_close(check.expect_number(got, "each break-even day must be a number of days"), expected, hint, rel=1e-4)


# ---------------------------------------------------------------- exercise 4


def _decode_cost_per_answer(n_params: float) -> float:
    e = _inputs(4)
    seconds_per_token = n_params * e["bytes_per_param"] / (e["bandwidth_tbs"] * 1e12)
    return e["output_tokens"] * seconds_per_token / 3600 * e["price_per_hour"]


def _expected_moe_vs_dense() -> tuple[float, float]:
    """The answer to exercise 4: (MoE, dense) dollars per answer. Lab 09, exercise 4."""
    e = _inputs(4)
    return (_decode_cost_per_answer(arch.resolve(e["moe_config"]).n_active_params),
            _decode_cost_per_answer(arch.resolve(e["dense_config"]).n_params))


def verify_moe_vs_dense(costs) -> None:
    """Exercise 4: dollars per answer of the MoE and of the dense model, as a pair. Lab 09, exercise 4."""
    check.expect_true(isinstance(costs, (tuple, list)) and len(costs) == 2,
                      "return a pair: (MoE dollars per answer, dense dollars per answer)")
    hint = ("at batch 1 a decode step reads the weights it uses once: for a mixture of experts, only the active "
            "parameters (n_active_params), for a dense model all of them; seconds per token = bytes ÷ bandwidth, "
            "and an answer is output_tokens of them (section 3 of " + LESSON + ")")
    for got, expected in zip(costs, _expected_moe_vs_dense()):
        check.expect_close(check.expect_number(got, "each cost must be a number of dollars"), expected, hint, rel=1e-4)
