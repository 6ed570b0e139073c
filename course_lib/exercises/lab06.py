"""Verifiers for lab 06 (scale up vs scale out): per-device memory at a ZeRO
stage, the all-reduce volume per step, the fewest GPUs for a model at stage
3, the replicas that meet a latency target, and the optimizer state per rank
under DDP and FSDP predicted and then measured on 2 real processes.

The inputs of each exercise live here (``EXERCISE_1`` …: this student's
variant, :func:`course_lib.check.variant`) so the lab and its checks cannot drift apart; expected values come from
:mod:`course_lib.predict`, :mod:`course_lib.serving` and
:mod:`course_lib.distributed` (a real measurement for exercise 5).
"""

from __future__ import annotations

from .. import check, distributed, predict, serving

LESSON = "lessons/06_scale_up_scale_out.ipynb"

_BASE = {
    1: {"n_params": 13_000_000_000, "n_devices": 16, "stage": 2, "optimizer": "adamw", "precision": "mixed"},
    2: {"n_params": 1_300_000_000, "bytes_per_gradient": 2, "n_devices": 8},
    3: {"n_params": 70_000_000_000, "gpu_bytes": 80 * 10**9, "stage": 3, "optimizer": "adamw", "precision": "mixed"},
    4: {"rate": 400.0, "service_time": 0.010, "p95_target": 0.030},
    5: {"world_size": 2, "d_model": 64, "n_layers": 2, "seq_len": 32, "vocab_size": 64},
}
_CHOICES = {  # a student's variant: each listed input takes one of these values (check.variant)
    1: {"n_params": (7_000_000_000, 13_000_000_000, 30_000_000_000), "n_devices": (8, 16, 32)},
    2: {"n_params": (350_000_000, 1_300_000_000, 2_700_000_000), "bytes_per_gradient": (2, 4), "n_devices": (4, 8, 16)},
    3: {"n_params": (30_000_000_000, 70_000_000_000, 175_000_000_000), "gpu_bytes": (40 * 10**9, 80 * 10**9)},
    4: {"rate": (200.0, 400.0, 800.0), "service_time": (0.005, 0.010)},
}


def __getattr__(name: str):
    """``EXERCISE_N``: this student's inputs of exercise N (:func:`course_lib.check.variant`)."""
    return check.inputs_attribute("lab06", name, _BASE, _CHOICES)


def _inputs(n: int) -> dict:
    return check.variant("lab06", n, _BASE[n], _CHOICES.get(n, {}))


def _expected_zero_bytes() -> int:
    """The answer to exercise 1. Lab 06, exercise 1."""
    return predict.zero_memory_per_device(**_inputs(1))


def verify_zero_bytes(n_bytes) -> None:
    """Exercise 1: bytes of model state per device. Lab 06, exercise 1."""
    check.expect_close(n_bytes, _expected_zero_bytes(),
                       "mixed-precision AdamW is 2 + 2 + 12 bytes per parameter; stage 2 splits the optimizer state "
                       "and the gradients over the devices but keeps a full copy of the weights (section 1 of "
                       + LESSON + ")", rel=1e-6)


def _expected_allreduce_bytes() -> float:
    """The answer to exercise 2. Lab 06, exercise 2."""
    e = _inputs(2)
    return predict.allreduce_bytes(e["n_params"] * e["bytes_per_gradient"], e["n_devices"])


def verify_allreduce_bytes(n_bytes) -> None:
    """Exercise 2: bytes each device sends per step in a ring all-reduce of the gradients.
    Lab 06, exercise 2."""
    check.expect_close(n_bytes, _expected_allreduce_bytes(),
                       "a ring all-reduce is a reduce-scatter plus an all-gather, each sending (N-1)/N of the "
                       "buffer from every device; the buffer is all the gradients, in bytes (section 4)", rel=1e-6)


def _expected_min_devices() -> int:
    """The answer to exercise 3. Lab 06, exercise 3."""
    e = _inputs(3)
    d = 1
    while predict.zero_memory_per_device(e["n_params"], d, e["stage"], e["optimizer"], e["precision"]) > e["gpu_bytes"]:
        d += 1
    return d


def verify_min_devices(n_devices) -> None:
    """Exercise 3: the fewest devices whose model state per device fits. Lab 06, exercise 3."""
    n_devices = check.expect_int(n_devices, "answer with a whole number of GPUs (an int)")
    check.expect_equal(n_devices, _expected_min_devices(),
                       "at stage 3 every part of the model state is split N ways: find the smallest N whose "
                       "share is at most the GPU's memory (not only powers of two); section 5")


def _expected_replicas() -> int:
    """The answer to exercise 4. Lab 06, exercise 4."""
    e = _inputs(4)
    return serving.replicas_for_p95(e["rate"], e["p95_target"], e["service_time"])


def verify_replicas(n_replicas) -> None:
    """Exercise 4: the fewest replicas meeting the p95 target (simulated). Lab 06, exercise 4."""
    n_replicas = check.expect_int(n_replicas, "answer with a whole number of replicas (an int)")
    check.expect_equal(n_replicas, _expected_replicas(),
                       "rate × service time replicas are exactly busy all the time, and then the queue never "
                       "drains: simulate with n_replicas and compare the p95 with the target (section 6)")


_measured: dict = {}


def _measured_optimizer_state() -> dict:
    """AdamW state bytes on rank 0 under DDP and FSDP, measured on real processes (cached per input)."""
    e = _inputs(5)
    key = tuple(sorted(e.items()))
    if key not in _measured:
        runs = distributed.run_training(e["world_size"], ("ddp", "fsdp"), steps=1, d_model=e["d_model"],
                                        n_layers=e["n_layers"], seq_len=e["seq_len"], vocab_size=e["vocab_size"])
        _measured[key] = {s: runs[s].ranks[0].optimizer_state for s in ("ddp", "fsdp")}
    return dict(_measured[key])


def verify_optimizer_state(prediction) -> None:
    """Exercise 5: ``{"ddp": bytes, "fsdp": bytes}`` of AdamW state per rank, checked against a measurement.
    Lab 06, exercise 5."""
    check.expect_true(isinstance(prediction, dict) and set(prediction) == {"ddp", "fsdp"},
                      'return a dict with the keys "ddp" and "fsdp"')
    measured = _measured_optimizer_state()
    # Nothing is printed: the measured dict is the answer, and showing it would give it away.
    check.expect_equal(prediction["ddp"], measured["ddp"],
                       "under DDP every rank holds AdamW's two fp32 moments for every parameter (section 3)")
    check.expect_equal(prediction["fsdp"], measured["fsdp"],
                       "fully_shard splits the moments too: each of the ranks holds its share (section 3)")
