"""Verifiers for lab 07 (generation): the KV cache of a grouped-query model,
the decode lower bound on a GPU, the share of a request's latency spent in
prefill, the batch at which decode turns compute-bound, and the largest
batch whose KV caches fit beside the weights.

The inputs of each exercise live here (``EXERCISE_1`` …: this student's
variant, :func:`course_lib.check.variant`) so the lab and its checks cannot drift apart; expected values come from
:mod:`course_lib.predict`, :mod:`course_lib.generation` and
:mod:`course_lib.hardware`.
"""

from __future__ import annotations

from .. import arch, check, generation, hardware, predict

LESSON = "lessons/07_generation.ipynb"

_L3 = arch.preset("llama-3-8b")
_SHAPE = {"n_layers": _L3.n_layers, "n_heads": _L3.n_heads, "n_kv_heads": _L3.n_kv_heads, "head_dim": _L3.head_dim}

_BASE = {
    # Not lesson 07's printed figures (issue 22): not 8,192 tokens (1.074 GB a sequence, printed), not past=100.
    1: {"model": "Llama-3-8B", **_SHAPE, "seq_len": 12_288, "batch": 5, "bytes_per_value": 2},
    2: {"model": "Llama-3-8B", **_SHAPE, "n_params": _L3.n_params, "accelerator": "L4", "bytes_per_value": 2,
        "batch": 8, "context": 4096},
    3: {"ttft": 0.25, "tpot": 0.030, "n_output": 200},
    4: {"model": "llama-3-8b", "accelerator": "H100 SXM", "dtype": "bf16", "bytes_per_value": 2, "past": 300},
    5: {"model": "Llama-3-8B", **_SHAPE, "n_params": _L3.n_params, "accelerator": "L4", "bytes_per_value": 2,
        "tokens_per_sequence": 4096},
}
_CHOICES = {  # a student's variant: each listed input takes one of these values (check.variant)
    1: {"seq_len": (4096, 6144, 12_288, 16_384), "batch": (2, 5, 7)},
    2: {"accelerator": ("L4", "A100 80GB SXM", "H100 SXM"), "batch": (4, 8, 16), "context": (2048, 4096, 8192)},
    3: {"ttft": (0.15, 0.25, 0.4), "tpot": (0.02, 0.03, 0.05), "n_output": (100, 200, 400)},
    4: {"past": (150, 200, 250, 300), "accelerator": ("H100 SXM", "A100 80GB SXM")},  # each has an answer (400 on H100: none)
    5: {"accelerator": ("L4", "A100 80GB SXM", "H100 SXM"), "tokens_per_sequence": (2048, 4096, 8192)},
}


def __getattr__(name: str):
    """``EXERCISE_N``: this student's inputs of exercise N (:func:`course_lib.check.variant`)."""
    return check.inputs_attribute("lab07", name, _BASE, _CHOICES)


def _inputs(n: int) -> dict:
    return check.variant("lab07", n, _BASE[n], _CHOICES.get(n, {}))

_KV_HINT = ("the KV cache holds a key AND a value (2 vectors) of head_dim values per KV head (not per query head: this "
            "model uses grouped-query attention), per layer, per position and per sequence, each value bytes_per_value "
            "bytes (bytes, not bits); predict.kv_cache_bytes (section 1 of " + LESSON + ")")


# ---------------------------------------------------------------- exercise 1


def _expected_kv_bytes() -> int:
    """The expected answer of exercise 1. Lab 07, exercise 1."""
    e = _inputs(1)
    return predict.kv_cache_bytes(e["n_layers"], e["n_kv_heads"], e["head_dim"], e["seq_len"], e["batch"],
                                  e["bytes_per_value"])


def verify_kv_bytes(nbytes) -> None:
    """Exercise 1: bytes of the KV cache of the whole batch at seq_len positions. Lab 07, exercise 1."""
    nbytes = check.expect_number(nbytes, "answer with a number of bytes")
    check.expect_close(nbytes, _expected_kv_bytes(), _KV_HINT + "; and it is for the whole batch", rel=1e-9)


# ---------------------------------------------------------------- exercise 2


def _expected_decode_bound() -> float:
    """The expected answer of exercise 2. Lab 07, exercise 2."""
    e = _inputs(2)
    kv = predict.kv_cache_bytes(e["n_layers"], e["n_kv_heads"], e["head_dim"], e["context"], 1, e["bytes_per_value"])
    bw = hardware.accelerator(e["accelerator"]).bandwidth
    return generation.decode_lower_bound(e["n_params"] * e["bytes_per_value"], kv, e["batch"], bw)


def verify_decode_bound(seconds) -> None:
    """Exercise 2: the lower bound on one decode step, in seconds. Lab 07, exercise 2."""
    check.expect_close(seconds, _expected_decode_bound(),
                       "a decode step reads every parameter once and every sequence's KV cache once: "
                       "(parameter bytes + batch x KV bytes per sequence) / bandwidth in bytes/s (TB/s x 1e12). "
                       + _KV_HINT.split(";")[0] + " (section 4 of " + LESSON + ")", rel=1e-6)


# ---------------------------------------------------------------- exercise 3


def _expected_prefill_share() -> float:
    """The expected answer of exercise 3. Lab 07, exercise 3."""
    e = _inputs(3)
    return e["ttft"] / generation.request_latency(e["ttft"], e["tpot"], e["n_output"])


def verify_prefill_share(share) -> None:
    """Exercise 3: the fraction (0–1) of the request's latency spent before the first token. Lab 07, exercise 3."""
    check.expect_close(share, _expected_prefill_share(),
                       "latency = TTFT + (n_output - 1) x TPOT: the prefill already yields the first token. "
                       "Answer the prefill's fraction of the whole latency, between 0 and 1 (section 5 of "
                       + LESSON + ")", rel=1e-6)


# ---------------------------------------------------------------- exercise 4


def _expected_compute_bound_batch() -> int | None:
    """The expected answer of exercise 4. Lab 07, exercise 4."""
    e = _inputs(4)
    return generation.decode_compute_bound_batch(e["model"], (e["accelerator"], e["dtype"]), e["past"], e["bytes_per_value"])


def verify_compute_bound_batch(batch) -> None:
    """Exercise 4: the smallest batch at which the decode step is compute-bound. Lab 07, exercise 4."""
    batch = check.expect_int(batch, "answer with a whole batch size (an int)")
    check.expect_equal(batch, _expected_compute_bound_batch(),
                       "compare, for a batch b, the compute time b x FLOPs per sequence / peak with the memory time "
                       "(bytes of the weights read, all but the input embedding table, + b x KV bytes per sequence) / bandwidth, and find the smallest b where "
                       "compute is at least memory. FLOPs per sequence: generation.decode_flops; the KV cache covers "
                       "past + 1 positions with the model's KV heads. The ridge point alone ignores the KV reads "
                       "(section 4 of " + LESSON + ")")


# ---------------------------------------------------------------- exercise 5


def _expected_max_batch() -> int:
    """The expected answer of exercise 5. Lab 07, exercise 5."""
    e = _inputs(5)
    kv = predict.kv_cache_bytes(e["n_layers"], e["n_kv_heads"], e["head_dim"], e["tokens_per_sequence"], 1,
                                e["bytes_per_value"])
    memory = hardware.accelerator(e["accelerator"]).memory_gb * generation.GB
    return generation.max_batch_that_fits(memory, e["n_params"] * e["bytes_per_value"], kv)


def verify_max_batch(batch) -> None:
    """Exercise 5: the most sequences whose KV caches fit beside the weights. Lab 07, exercise 5."""
    batch = check.expect_int(batch, "answer with a whole number of sequences (an int)")
    check.expect_equal(batch, _expected_max_batch(),
                       "memory left after the weights (GB = 1e9 bytes, as datasheets count) divided by one sequence's "
                       "KV cache at its full length, rounded down. " + _KV_HINT.split(";")[0])
