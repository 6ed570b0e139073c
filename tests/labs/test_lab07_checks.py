"""Lab 07's verifiers accept the right answer (computed here by hand from the
Llama-3-8B shape and the datasheets) and reject the plausible wrong ones the
issue names: a factor 2 for K and V, bits vs bytes, per sequence vs per
batch, query heads instead of KV heads."""

import math

import pytest

from course_lib.exercises import lab07

# Llama-3-8B (Dubey et al. 2024, Table 3): 32 layers, 32 query heads, 8 KV heads of 128.
LAYERS, HEADS, KV_HEADS, HEAD_DIM = 32, 32, 8, 128
N_PARAMS = 8_030_261_248
L4_BW, L4_MEM = 0.30e12, 24e9  # NVIDIA L4 datasheet
H100_PEAK, H100_BW = 989e12, 3.35e12  # NVIDIA H100 SXM datasheet, dense bf16


def kv(tokens, heads=KV_HEADS, kv_factor=2, bytes_per_value=2):
    return kv_factor * LAYERS * heads * HEAD_DIM * tokens * bytes_per_value


def test_inputs_are_llama_3_8b():
    for ex in (lab07.EXERCISE_1, lab07.EXERCISE_2, lab07.EXERCISE_5):
        assert (ex["n_layers"], ex["n_heads"], ex["n_kv_heads"], ex["head_dim"]) == (LAYERS, HEADS, KV_HEADS, HEAD_DIM)
    assert lab07.EXERCISE_2["n_params"] == N_PARAMS


def test_kv_bytes():
    # 12,288 tokens x 5 sequences: not lesson 07's printed 8,192-token figure (issue 22)
    assert (lab07.EXERCISE_1["seq_len"], lab07.EXERCISE_1["batch"]) == (12_288, 5)
    right = kv(12_288) * 5
    assert right == 2 * 32 * 8 * 128 * 12_288 * 5 * 2 == 8_053_063_680
    lab07.verify_kv_bytes(right)
    for wrong in (kv(12_288, kv_factor=1) * 5,  # forgot K and V are two tensors
                  right * 8,  # bits instead of bytes
                  kv(12_288),  # one sequence, not the batch of 5
                  kv(12_288, heads=HEADS) * 5,  # query heads instead of KV heads
                  kv(8192) * 3,  # the old inputs
                  "8053063680"):  # not a number
        with pytest.raises(AssertionError, match="Hint|number"):
            lab07.verify_kv_bytes(wrong)


def test_decode_bound():
    weights, per_seq = N_PARAMS * 2, kv(4096)
    assert per_seq == 536_870_912
    right = (weights + 8 * per_seq) / L4_BW
    assert right == pytest.approx(0.067851, rel=1e-4)
    lab07.verify_decode_bound(right)
    for wrong in ((weights + 8 * per_seq) * 8 / L4_BW,  # bits
                  (weights + per_seq) / L4_BW,  # one sequence's KV, not the batch's
                  (weights + 8 * kv(4096, kv_factor=1)) / L4_BW,  # no factor 2 for K and V
                  (weights + 8 * kv(4096, heads=HEADS)) / L4_BW,  # query heads
                  (weights + 8 * per_seq) / 0.30,  # TB/s not converted
                  weights / L4_BW):  # KV cache ignored
        with pytest.raises(AssertionError, match="Hint"):
            lab07.verify_decode_bound(wrong)


def test_prefill_share():
    right = 0.25 / (0.25 + 199 * 0.030)
    assert right == pytest.approx(0.040193, rel=1e-4)
    lab07.verify_prefill_share(right)
    for wrong in (0.25 / (0.25 + 200 * 0.030),  # n instead of n - 1 decode steps
                  1 - right,  # the decode share
                  100 * right,  # a percentage
                  0.25 / (199 * 0.030)):  # prefill over decode, not over the whole
        with pytest.raises(AssertionError, match="Hint"):
            lab07.verify_prefill_share(wrong)


def _smallest_compute_bound(flops_per_seq, kv_per_seq, weight_bytes):
    b = 1
    while b * flops_per_seq / H100_PEAK < (weight_bytes + b * kv_per_seq) / H100_BW:
        b += 1
        if b > 100_000:
            return None
    return b


def test_compute_bound_batch():
    # past = 300 (lesson 07 prints past = 100's answer, issue 22): the new token attends to 301 keys;
    # matmul weights = all but the input embedding.
    assert lab07.EXERCISE_4["past"] == 300
    matmul_params = N_PARAMS - 128256 * 4096 - LAYERS * 2 * 4096 - 4096
    flops = 2 * matmul_params + 4 * LAYERS * HEADS * HEAD_DIM * 301
    # the weights read: all but the input embedding table (looked up, one row per token)
    right = _smallest_compute_bound(flops, kv(301), (N_PARAMS - 128256 * 4096) * 2)
    assert right == 1259
    lab07.verify_compute_bound_batch(right)
    ridge = H100_PEAK / H100_BW
    for wrong in (math.ceil(ridge),  # the ridge point: KV reads ignored
                  _smallest_compute_bound(flops, 0, N_PARAMS * 2),  # KV cache ignored
                  _smallest_compute_bound(flops, kv(301, kv_factor=1), N_PARAMS * 2),  # no factor 2
                  _smallest_compute_bound(flops, kv(300), N_PARAMS * 2),  # past, not past + 1 positions
                  right + 1,
                  426,  # lesson 07's printed answer for past = 100
                  1348.0):  # not an int
        assert wrong != right or isinstance(wrong, float)
        with pytest.raises(AssertionError, match="Hint"):
            lab07.verify_compute_bound_batch(wrong)
    # with query heads the KV reads outgrow the FLOPs: never compute-bound, a different answer again
    assert _smallest_compute_bound(flops, kv(301, heads=HEADS), N_PARAMS * 2) is None


def test_max_batch():
    right = math.floor((L4_MEM - N_PARAMS * 2) / kv(4096))
    assert right == 14
    lab07.verify_max_batch(right)
    for wrong in (math.floor((L4_MEM - N_PARAMS * 2) / kv(4096, heads=HEADS)),  # query heads: 3
                  math.floor((L4_MEM - N_PARAMS * 2) / kv(4096, kv_factor=1)),  # no factor 2: 29
                  math.floor((24 * 2**30 - N_PARAMS * 2) / kv(4096)),  # GiB instead of GB: 18
                  math.ceil((L4_MEM - N_PARAMS * 2) / kv(4096)),  # rounded up: does not fit
                  math.floor(L4_MEM / kv(4096)),  # weights forgotten
                  max(0, math.floor((L4_MEM - N_PARAMS * 2 * 8) / (kv(4096) * 8))),  # bits: nothing fits
                  14.0):  # not an int
        with pytest.raises(AssertionError, match="Hint"):
            lab07.verify_max_batch(wrong)


def test_numpy_and_torch_scalars_of_the_right_value_are_accepted_and_arrays_get_a_hint():
    # Issue 12: a learner's numpy/torch result of the right value passes; an array gets a hint, not a crash.
    import numpy as np
    import torch

    lab07.verify_kv_bytes(np.int64(kv(12_288) * 5))
    lab07.verify_kv_bytes(torch.tensor(kv(12_288) * 5))
    lab07.verify_max_batch(np.int64(lab07._expected_max_batch()))
    with pytest.raises(AssertionError, match="array of shape"):
        lab07.verify_kv_bytes(np.array([kv(8192), kv(8192)]))
    with pytest.raises(AssertionError, match="whole"):
        lab07.verify_max_batch(float(lab07._expected_max_batch()) + 0.5)
