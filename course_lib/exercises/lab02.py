"""Verifiers for lab 02 (lessons/02_memory.ipynb).

Expected values come from measurement (``memory.training_memory``) on the
models the lab builds, or from ``course_lib.predict``'s formulas, never typed in.
"""

from __future__ import annotations

import math

import torch

from .. import check, memory, models, predict

# The shapes the lab's exercises use (the lab notebook builds the same ones).
ADAM_MLP = {"d_in": 48, "hidden": 200, "d_out": 10, "depth": 2, "batch": 32}
GPT = {"vocab_size": 64, "d_model": 32, "n_heads": 4, "n_layers": 2, "max_seq_len": 64, "seq_len": 64}
BUDGET_BYTES = 3_000_000
KV_MODEL = {"n_layers": 32, "n_heads": 32, "n_kv_heads": 8, "hidden": 4096, "seq_len": 32_768, "batch": 4, "bytes_per_value": 2}


def lab_mlp() -> tuple[models.MLP, torch.Tensor]:
    """The MLP and batch of exercises 1 and 4."""
    sizes = {k: ADAM_MLP[k] for k in ("d_in", "hidden", "d_out", "depth")}
    x = torch.randn(ADAM_MLP["batch"], ADAM_MLP["d_in"], generator=torch.Generator().manual_seed(0))
    return models.MLP(**sizes, seed=0), x


def lab_gpt() -> models.TinyGPT:
    """The tiny transformer of exercise 2."""
    return models.TinyGPT(**{k: GPT[k] for k in ("vocab_size", "d_model", "n_heads", "n_layers", "max_seq_len")}, seed=0)


def gpt_tokens(batch: int) -> torch.Tensor:
    """``batch`` sequences of ``GPT["seq_len"]`` token ids for exercise 2."""
    batch = int(batch)
    return torch.randint(0, GPT["vocab_size"], (batch, GPT["seq_len"]), generator=torch.Generator().manual_seed(0))


def verify_adam_state(answer) -> None:
    """Exercise 1: bytes of Adam's state for the MLP, predicted from its parameter count."""
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


def largest_batch() -> int:
    """The largest batch whose measured Adam training total fits :data:`BUDGET_BYTES` (exercise 2)."""
    batch = 0
    while _training_total(batch + 1) <= BUDGET_BYTES:
        batch += 1
    return batch


def verify_largest_batch(answer) -> None:
    """Exercise 2: the largest batch of 64-token sequences that fits the budget with Adam."""
    if isinstance(answer, bool) or not isinstance(answer, int):
        raise AssertionError(f"Not yet: return a whole number of sequences (an int), got {answer!r}.")
    hint = (
        "the model state (weights, gradients, Adam's two moments) does not depend on the batch; "
        "the activations grow by the same amount with each sequence (lesson 02, section 2). "
        "The budget is inclusive: a batch whose total equals it fits."
    )
    check.expect_true(answer >= 1 and _training_total(answer) <= BUDGET_BYTES, "your batch does not fit: " + hint)
    check.expect_true(_training_total(answer + 1) > BUDGET_BYTES, "one more sequence still fits: " + hint)


def kv_cache_answer() -> int:
    """Bytes of the KV cache of :data:`KV_MODEL` (exercise 3)."""
    m = KV_MODEL
    return predict.kv_cache_bytes(
        m["n_layers"], m["n_kv_heads"], m["hidden"] // m["n_heads"], m["seq_len"], m["batch"], m["bytes_per_value"]
    )


def verify_kv_cache(answer) -> None:
    """Exercise 3: KV cache of a grouped-query-attention model."""
    check.expect_equal(
        answer,
        kv_cache_answer(),
        "per token and layer the cache holds a key and a value for each KV head (not each query head), "
        "head_dim = hidden / query heads numbers each, at bytes_per_value each; then × tokens × sequences "
        "(lesson 02, section 5).",
    )


def verify_sgd_vs_adam(answer) -> None:
    """Exercise 4: measured model state (weights + gradients + optimizer state) for SGD and Adam."""
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


def seven_b_gpus() -> int:
    """Exercise 5: 80 GB GPUs needed just to hold a 7B model's mixed-precision Adam state."""
    return math.ceil(7 * 10**9 * predict.bytes_per_param("adam", "mixed") / (80 * 10**9))


def verify_seven_b_gpus(answer) -> None:
    """Exercise 5: the number of 80 GB GPUs whose memory the model state alone needs."""
    check.expect_equal(
        answer,
        seven_b_gpus(),
        "mixed-precision Adam costs 16 bytes per parameter in ZeRO's accounting (not the 2 bytes of the bf16 "
        "weights); a GPU cannot hold a fraction of what it needs, so round up (lesson 02, section 7).",
    )
