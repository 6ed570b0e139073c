"""Verifiers for lab 02 (lessons/02_memory.ipynb).

Expected values come from measurement (``memory.training_memory``) on the
models the lab builds, or from ``course_lib.predict``'s formulas, never typed in.
The inputs (``EXERCISE_N``) are this student's variant (:func:`course_lib.check.variant`).
"""

from __future__ import annotations

import functools
import math

import torch

from .. import arch, check, fit, memory, models, predict

# The inputs of each exercise (the lab reads them as EXERCISE_N: one source). A student's
# variant takes each input listed in _CHOICES from its alternatives (check.variant).
_BASE = {
    1: {"d_in": 48, "hidden": 200, "d_out": 10, "depth": 2, "batch": 32},  # exercise 4 reuses this MLP
    # The budget sits just below the next batch's total, so forgetting Adam's two
    # moments (8 bytes/parameter) or the gradients (4 bytes/parameter) lets one
    # more sequence "fit" and gives a different answer from the right one.
    2: {"vocab_size": 64, "d_model": 32, "n_heads": 4, "n_layers": 2, "max_seq_len": 64, "seq_len": 64,
        "budget_bytes": 3_300_000},
    3: {"n_layers": 32, "n_heads": 32, "n_kv_heads": 8, "hidden": 4096, "seq_len": 32_768, "batch": 4,
        "bytes_per_value": 2},
    # 24 GB GPUs: 12 and 16 bytes per parameter give different answers, and so do GB (1e9 bytes) and GiB
    # (2**30 bytes), for every n_params choice (issue 26: 7e9 gave 5 GPUs either way).
    5: {"n_params": 7_600_000_000, "optimizer": "adam", "precision": "mixed", "gpu_bytes": 24 * 10**9},
    6: {"preset": "llama-3-8b", "accelerator": "L4", "seq_len": 2048, "lora": "qlora", "lora_rank": 16,
        "optimizer": "adamw", "precision": "mixed", "attention": "sdpa", "checkpointing": True},
}
_CHOICES = {
    1: {"d_in": (32, 48, 64), "hidden": (160, 200, 240), "batch": (16, 32, 64)},
    # each budget sits less than 4 bytes/parameter below the next batch's total (tests/labs/test_lab02_checks.py)
    2: {"budget_bytes": (2_500_000, 2_950_000, 3_300_000, 3_750_000, 4_200_000)},
    3: {"n_layers": (24, 32, 40), "n_kv_heads": (4, 8), "seq_len": (16_384, 32_768, 65_536), "batch": (2, 4, 8)},
    5: {"n_params": (7_600_000_000, 9_400_000_000, 10_800_000_000, 12_400_000_000)},
    6: {"seq_len": (1024, 2048, 4096), "lora_rank": (8, 16, 32)},
}


def __getattr__(name: str):
    """``EXERCISE_N``: this student's inputs of exercise N (:func:`course_lib.check.variant`)."""
    return check.inputs_attribute("lab02", name, _BASE, _CHOICES)


def _inputs(n: int) -> dict:
    return check.variant("lab02", n, _BASE[n], _CHOICES.get(n, {}))


def lab_mlp() -> tuple[models.MLP, torch.Tensor]:
    """The MLP and batch of exercises 1 and 4. Lab 02, exercise 1."""
    e = _inputs(1)
    sizes = {k: e[k] for k in ("d_in", "hidden", "d_out", "depth")}
    x = torch.randn(e["batch"], e["d_in"], generator=torch.Generator().manual_seed(0))
    return models.MLP(**sizes, seed=0), x


def lab_gpt() -> models.TinyGPT:
    """The tiny transformer of exercise 2. Lab 02, exercise 2."""
    e = _inputs(2)
    return models.TinyGPT(**{k: e[k] for k in ("vocab_size", "d_model", "n_heads", "n_layers", "max_seq_len")}, seed=0)


def gpt_tokens(batch: int) -> torch.Tensor:
    """``batch`` sequences of ``EXERCISE_2["seq_len"]`` token ids for exercise 2. Lab 02, exercise 2."""
    batch, e = int(batch), _inputs(2)
    return torch.randint(0, e["vocab_size"], (batch, e["seq_len"]), generator=torch.Generator().manual_seed(0))


def verify_adam_state(answer) -> None:
    """Exercise 1: bytes of Adam's state for the MLP, predicted from its parameter count. Lab 02, exercise 1."""
    model, x = lab_mlp()
    want = memory.training_memory(model, x, optimizer="adam").optimizer_state
    check.expect_equal(
        answer,
        want,
        "Adam keeps two fp32 tensors per parameter tensor (exp_avg and exp_avg_sq); its 0-dim step counters "
        "are not counted. Count every weight and bias (lesson 02, section 1).",
    )


def _training_total(batch: int) -> int:
    model = lab_gpt()
    return memory.training_memory(model, gpt_tokens(batch), optimizer="adam").total


def _largest_batch() -> int:
    """The largest batch whose measured Adam training total fits exercise 2's budget (cached per variant)."""
    return _largest_batch_for(tuple(sorted(_inputs(2).items())))


@functools.cache
def _largest_batch_for(key: tuple) -> int:
    batch = 0
    while _training_total(batch + 1) <= dict(key)["budget_bytes"]:
        batch += 1
    return batch


def verify_largest_batch(answer) -> None:
    """Exercise 2: the largest batch of seq_len-token sequences that fits the budget with Adam.

    The learner's number is compared with the measured answer and never
    measured itself, so an answer in bytes allocates nothing.
    Lab 02, exercise 2.
    """
    seq_len = _inputs(2)["seq_len"]
    hint = (
        "the model state (weights, gradients, Adam's two moments) does not depend on the "
        "batch; the activations grow by the same amount with each sequence (lesson 02, section 2). "
        "The budget is inclusive: a batch whose total equals it fits."
    )
    batch = check.expect_int(answer, hint)
    want = _largest_batch()
    check.expect_true(batch >= 1, "at least one sequence fits: " + hint)
    check.expect_true(batch <= 100 * max(want, 1),
                      f"answer with a number of sequences, not bytes: how many {seq_len}-token sequences fit? " + hint)
    check.expect_true(batch <= want, "your batch does not fit: " + hint)
    check.expect_true(batch >= want, "one more sequence still fits: " + hint)


def _kv_cache_answer() -> int:
    """Bytes of the KV cache of exercise 3's inputs."""
    m = _inputs(3)
    return predict.kv_cache_bytes(
        m["n_layers"], m["n_kv_heads"], m["hidden"] // m["n_heads"], m["seq_len"], m["batch"], m["bytes_per_value"]
    )


def verify_kv_cache(answer) -> None:
    """Exercise 3: KV cache of a grouped-query-attention model. Lab 02, exercise 3."""
    check.expect_equal(
        answer,
        _kv_cache_answer(),
        "per token and layer the cache holds a key and a value for each KV head (not each query head), "
        "head_dim = hidden / query heads numbers each, at bytes_per_value each; then × tokens × sequences "
        "(lesson 02, section 5).",
    )


def verify_sgd_vs_adam(answer) -> None:
    """Exercise 4: measured model state (weights + gradients + optimizer state) for SGD and Adam.
    Lab 02, exercise 4."""
    if not isinstance(answer, dict) or set(answer) != {"sgd", "adam", "ratio"}:
        raise AssertionError("Not yet: return a dict with keys 'sgd', 'adam' and 'ratio'.")
    model, x = lab_mlp()
    state = {}
    for opt in ("sgd", "adam"):
        r = memory.training_memory(model, x, optimizer=opt)
        state[opt] = r.weights + r.gradients + r.optimizer_state
    hint = (
        "model state is weights + gradients + optimizer state, measured with memory.training_memory; "
        "leave the activations out: they are the same for both optimizers (lesson 02, section 1)."
    )
    check.expect_equal(answer["sgd"], state["sgd"], hint)
    check.expect_equal(answer["adam"], state["adam"], hint)
    check.expect_close(answer["ratio"], state["adam"] / state["sgd"], "ratio is Adam's model state divided by SGD's.")


def _seven_b_gpus() -> int:
    """Exercise 5's answer: GPUs needed just to hold the model's mixed-precision Adam state."""
    e = _inputs(5)
    return math.ceil(e["n_params"] * predict.bytes_per_param(e["optimizer"], e["precision"]) / e["gpu_bytes"])


def verify_seven_b_gpus(answer) -> None:
    """Exercise 5: the number of 24 GB GPUs whose memory the model state alone needs. Lab 02, exercise 5."""
    hint = ("mixed-precision Adam costs 16 bytes per parameter in ZeRO's accounting: bf16 weights and gradients "
            "(2 + 2) plus the fp32 master weights and Adam's two fp32 moments (12), not the 2 bytes of the bf16 "
            "weights alone; a GPU cannot hold a fraction of what it needs, so round up (lesson 02, section 7).")
    answer = check.expect_int(answer, hint)
    e = _inputs(5)
    in_gib = math.ceil(e["n_params"] * predict.bytes_per_param(e["optimizer"], e["precision"])
                       / (e["gpu_bytes"] / 10**9 * 2**30))
    if answer == in_gib != _seven_b_gpus():
        raise AssertionError(f"Not yet: your answer is {answer}, which is not right. Hint: a GPU's GB are 10⁹ bytes "
                             "(gpu_bytes gives them in bytes), not GiB (2³⁰ bytes): datasheets count in GB.")
    check.expect_equal(answer, _seven_b_gpus(), hint)


def _qlora_batch() -> int | None:
    """Exercise 6's answer: the largest batch whose QLoRA training step fits."""
    e = _inputs(6)
    kw = {k: val for k, val in e.items() if k not in ("preset", "accelerator", "seq_len")}
    return fit.largest_batch(arch.preset(e["preset"]), e["accelerator"], e["seq_len"], **kw)


def verify_qlora_batch(answer) -> None:
    """Exercise 6: the largest batch of seq_len-token sequences for QLoRA on Llama-3-8B on one L4.
    Lab 02, exercise 6."""
    hint = ("use fit.training_estimate with the settings in lab02.EXERCISE_6: the model state does not grow with "
            "the batch, the activations do; the largest batch is the last one whose total, runtime overhead "
            "included, is at most the GPU's memory (lesson 02, section 8).")
    check.expect_equal(check.expect_int(answer, hint), _qlora_batch(), hint)
