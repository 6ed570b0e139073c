"""Verifiers for lab 06 (scale up vs scale out): per-device memory at a ZeRO
stage, the all-reduce volume per step, the fewest GPUs for a model at stage
3, the replicas that meet a latency target, and the optimizer state per rank
under DDP and FSDP predicted and then measured on 2 real processes.

The inputs of each exercise live here (``EXERCISE_1`` …) so the lab and its
checks cannot drift apart; expected values come from
:mod:`course_lib.predict`, :mod:`course_lib.serving` and
:mod:`course_lib.distributed` (a real measurement for exercise 5).
"""

from __future__ import annotations

from .. import check, distributed, predict, serving

LESSON = "lessons/06_scale_up_scale_out.ipynb"

EXERCISE_1 = {"n_params": 13_000_000_000, "n_devices": 16, "stage": 2, "optimizer": "adamw", "precision": "mixed"}
EXERCISE_2 = {"n_params": 1_300_000_000, "bytes_per_gradient": 2, "n_devices": 8}
EXERCISE_3 = {"n_params": 70_000_000_000, "gpu_bytes": 80 * 10**9, "stage": 3, "optimizer": "adamw", "precision": "mixed"}
EXERCISE_4 = {"rate": 400.0, "service_time": 0.010, "p95_target": 0.030}
EXERCISE_5 = {"world_size": 2, "d_model": 64, "n_layers": 2, "seq_len": 32, "vocab_size": 64}


def expected_zero_bytes() -> int:
    return predict.zero_memory_per_device(**EXERCISE_1)


def verify_zero_bytes(n_bytes) -> None:
    """Exercise 1: bytes of model state per device."""
    check.expect_close(n_bytes, expected_zero_bytes(),
                       "mixed-precision AdamW is 2 + 2 + 12 bytes per parameter; stage 2 splits the optimizer state "
                       "and the gradients over the devices but keeps a full copy of the weights (section 1 of "
                       + LESSON + ")", rel=1e-6)


def expected_allreduce_bytes() -> float:
    e = EXERCISE_2
    return predict.allreduce_bytes(e["n_params"] * e["bytes_per_gradient"], e["n_devices"])


def verify_allreduce_bytes(n_bytes) -> None:
    """Exercise 2: bytes each device sends per step in a ring all-reduce of the gradients."""
    check.expect_close(n_bytes, expected_allreduce_bytes(),
                       "a ring all-reduce is a reduce-scatter plus an all-gather, each sending (N-1)/N of the "
                       "buffer from every device; the buffer is all the gradients, in bytes (section 4)", rel=1e-6)


def expected_min_devices() -> int:
    e = EXERCISE_3
    d = 1
    while predict.zero_memory_per_device(e["n_params"], d, e["stage"], e["optimizer"], e["precision"]) > e["gpu_bytes"]:
        d += 1
    return d


def verify_min_devices(n_devices) -> None:
    """Exercise 3: the fewest devices whose model state per device fits."""
    check.expect_true(isinstance(n_devices, int) and not isinstance(n_devices, bool),
                      "answer with a whole number of GPUs (an int)")
    check.expect_equal(n_devices, expected_min_devices(),
                       "at stage 3 every part of the model state is split N ways: find the smallest N whose "
                       "share is at most the GPU's memory (not only powers of two); section 5")


def expected_replicas() -> int:
    e = EXERCISE_4
    return serving.replicas_for_p95(e["rate"], e["p95_target"], e["service_time"])


def verify_replicas(n_replicas) -> None:
    """Exercise 4: the fewest replicas meeting the p95 target (simulated)."""
    check.expect_true(isinstance(n_replicas, int) and not isinstance(n_replicas, bool),
                      "answer with a whole number of replicas (an int)")
    check.expect_equal(n_replicas, expected_replicas(),
                       "rate × service time replicas are exactly busy all the time, and then the queue never "
                       "drains: simulate with n_replicas and compare the p95 with the target (section 6)")


_measured: dict = {}


def measured_optimizer_state() -> dict:
    """AdamW state bytes on rank 0 under DDP and FSDP, measured on real processes (cached)."""
    if not _measured:
        e = EXERCISE_5
        runs = distributed.run_training(e["world_size"], ("ddp", "fsdp"), steps=1, d_model=e["d_model"],
                                        n_layers=e["n_layers"], seq_len=e["seq_len"], vocab_size=e["vocab_size"])
        _measured.update({s: runs[s].ranks[0].optimizer_state for s in ("ddp", "fsdp")})
    return dict(_measured)


def verify_optimizer_state(prediction) -> None:
    """Exercise 5: ``{"ddp": bytes, "fsdp": bytes}`` of AdamW state per rank, checked against a measurement."""
    check.expect_true(isinstance(prediction, dict) and set(prediction) == {"ddp", "fsdp"},
                      'return a dict with the keys "ddp" and "fsdp"')
    measured = measured_optimizer_state()
    print(f"measured on {EXERCISE_5['world_size']} processes: {measured}")
    check.expect_equal(prediction["ddp"], measured["ddp"],
                       "under DDP every rank holds AdamW's two fp32 moments for every parameter (section 3)")
    check.expect_equal(prediction["fsdp"], measured["fsdp"],
                       "fully_shard splits the moments too: each of the ranks holds its share (section 3)")
