"""Lab 02 verifiers: each accepts the right answer and rejects plausible wrong ones."""

import math

import pytest

from course_lib import check, memory, predict
from course_lib.exercises import lab02
from course_lib.models import count_params


def test_adam_state():
    model, x = lab02.lab_mlp()
    n = 48 * 200 + 200 + 200 * 200 + 200 + 200 * 10 + 10
    assert count_params(model) == n
    lab02.verify_adam_state(8 * n)  # two fp32 moments per parameter
    for wrong in (4 * n, 16 * n, 8 * (48 * 200 + 200 * 200 + 200 * 10), 8 * n + 4 * 6):
        # one moment; the whole model state; biases forgotten; step counters counted
        with pytest.raises(AssertionError, match="Hint"):
            lab02.verify_adam_state(wrong)


def test_largest_batch():
    gpt = lab02.lab_gpt()
    state = 16 * count_params(gpt)
    seq = lab02.EXERCISE_2["seq_len"]
    right = max(b for b in range(1, 50) if state + predict.tinygpt_activation_bytes(gpt, b, seq) <= lab02.EXERCISE_2["budget_bytes"])
    assert right == lab02._largest_batch()
    lab02.verify_largest_batch(right)
    # one too many; one too few; a float; model state forgotten
    no_state = max(b for b in range(1, 50) if predict.tinygpt_activation_bytes(gpt, b, seq) <= lab02.EXERCISE_2["budget_bytes"])
    assert no_state != right
    for wrong in (right + 1, right - 1, float(right), no_state, 0):
        with pytest.raises(AssertionError):
            lab02.verify_largest_batch(wrong)


def test_largest_batch_catches_forgotten_moments_and_gradients():
    # Issue 12: with the old budget, forgetting Adam's moments (8 bytes/param) or the gradients
    # (4 bytes/param) gave the right answer. Each omission must now give a different, rejected batch.
    gpt = lab02.lab_gpt()
    n, seq = count_params(gpt), lab02.EXERCISE_2["seq_len"]

    def fit(bytes_per_param):
        return max(b for b in range(1, 50)
                   if bytes_per_param * n + predict.tinygpt_activation_bytes(gpt, b, seq) <= lab02.EXERCISE_2["budget_bytes"])

    right = fit(4 + 4 + 8)
    assert right == lab02._largest_batch()
    for forgot in (fit(4 + 4), fit(4 + 8), fit(4)):  # no moments; no gradients; weights only
        assert forgot != right
        with pytest.raises(AssertionError, match="Hint"):
            lab02.verify_largest_batch(forgot)


def test_largest_batch_in_bytes_allocates_nothing():
    # An answer in bytes (the budget itself) used to make the check measure a batch of 3 million
    # sequences (1.8 GB+). It must be refused without measuring: peak memory stays small.
    import tracemalloc

    lab02._largest_batch()  # the cached right answer
    tracemalloc.start()
    for in_bytes in (lab02.EXERCISE_2["budget_bytes"], 2_990_592, 10**12):
        with pytest.raises(AssertionError, match="not bytes"):
            lab02.verify_largest_batch(in_bytes)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1_000_000


def test_largest_batch_accepts_numpy_and_torch_ints():
    import numpy as np
    import torch

    right = lab02._largest_batch()
    lab02.verify_largest_batch(np.int64(right))
    lab02.verify_largest_batch(torch.tensor(right))


def test_kv_cache():
    # 2 (K, V) x 2 bytes x head_dim 128 x 8 KV heads x 32 layers x 32,768 tokens x 4 sequences
    right = 2 * 2 * 128 * 8 * 32 * 32768 * 4
    lab02.verify_kv_cache(right)
    for wrong in (right * 4, right // 2, right // 4):  # query heads instead of KV heads; K only; one sequence
        with pytest.raises(AssertionError, match="Hint"):
            lab02.verify_kv_cache(wrong)


def test_sgd_vs_adam():
    model, x = lab02.lab_mlp()
    n = count_params(model)
    lab02.verify_sgd_vs_adam({"sgd": 8 * n, "adam": 16 * n, "ratio": 2.0})
    r = memory.training_memory(model, x, optimizer="adam")
    s = memory.training_memory(model, x, optimizer="sgd")
    with_act = {"sgd": s.total, "adam": r.total, "ratio": r.total / s.total}  # activations included
    for wrong in (with_act, {"sgd": 8 * n, "adam": 16 * n, "ratio": 0.5}, {"sgd": 8 * n, "adam": 12 * n, "ratio": 1.5}, [8 * n, 16 * n]):
        with pytest.raises(AssertionError):
            lab02.verify_sgd_vs_adam(wrong)


def test_seven_b_gpus():
    # 7.6e9 parameters x 16 bytes = 121.6e9 bytes: 5.07 GPUs of 24e9 bytes -> 6 (by hand)
    assert lab02.EXERCISE_5["n_params"] == 7_600_000_000
    assert lab02._seven_b_gpus() == math.ceil(121.6 / 24) == 6
    lab02.verify_seven_b_gpus(6)
    for wrong in (5, 4, 1, 6.0, "6"):  # GiB (121.6e9 / (24 x 2**30) = 4.72 -> 5); 12 bytes/param; bf16 weights only
        with pytest.raises(AssertionError, match="Hint"):
            lab02.verify_seven_b_gpus(wrong)


def test_gb_and_gib_give_different_answers_in_every_variant():
    """Issue 26: with 7e9 parameters, GB and GiB both gave 5 GPUs, so the check could not tell them apart."""
    for n in lab02._CHOICES[5]["n_params"]:
        gb, gib = math.ceil(n * 16 / 24e9), math.ceil(n * 16 / (24 * 2**30))
        twelve = math.ceil(n * 12 / 24e9)
        assert len({gb, gib, twelve}) == 3, n
    with pytest.raises(AssertionError, match="GiB"):
        lab02.verify_seven_b_gpus(5)


def test_not_done_is_reported(capsys):
    check.start("lab02_memory", exercises=6)

    def todo():
        raise NotImplementedError("later")

    check.exercise(1, "x", todo, lab02.verify_adam_state)
    assert "not done yet" in capsys.readouterr().out


def test_qlora_batch():
    from course_lib import arch, fit

    right = lab02._qlora_batch()
    a = arch.preset("llama-3-8b")
    settings = dict(optimizer="adamw", precision="mixed", attention="sdpa", checkpointing=True, lora="qlora", lora_rank=16)
    cap = 24 * 10**9  # the L4's 24 GB
    assert fit.training_estimate(a, batch=right, seq_len=2048, **settings)["total"] <= cap
    assert fit.training_estimate(a, batch=right + 1, seq_len=2048, **settings)["total"] > cap
    lab02.verify_qlora_batch(right)
    lora16 = fit.largest_batch(a, "L4", 2048, **dict(settings, lora="lora"))  # 16-bit base instead of 4-bit
    for wrong in (right + 1, right - 1, float(right), lora16):
        with pytest.raises(AssertionError):
            lab02.verify_qlora_batch(wrong)


def test_every_budget_variant_catches_forgotten_moments_and_gradients():
    """Each exercise-2 budget a student can draw: the right batch (predicted from the formulas, and the
    check's measured one) differs from what forgetting the moments, the gradients or both gives."""
    gpt = lab02.lab_gpt()
    n, seq = count_params(gpt), lab02._BASE[2]["seq_len"]

    def fit(bytes_per_param, budget):
        return max(b for b in range(1, 50) if bytes_per_param * n + predict.tinygpt_activation_bytes(gpt, b, seq) <= budget)

    for budget in lab02._CHOICES[2]["budget_bytes"]:
        right = fit(16, budget)
        assert right == lab02._largest_batch_for(tuple(sorted({**lab02._BASE[2], "budget_bytes": budget}.items())))
        for forgot in (fit(8, budget), fit(12, budget), fit(4, budget)):
            assert forgot != right, budget
