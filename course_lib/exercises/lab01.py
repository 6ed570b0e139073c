"""Verifiers for lab 01 (lessons/01_forward_vs_backward.ipynb).

The inputs of each exercise live here (``EXERCISE_1``, ``EXERCISE_2``: this
student's variant, :func:`course_lib.check.variant`) and the lab reads them;
expected values come from measurement (``count_flops``) on the same model and
inputs, so they cannot drift from what the lesson teaches.
"""

from __future__ import annotations

import numbers

import torch

from .. import _validate as v
from .. import check, measure, models

# The inputs of each exercise (the lab reads them as EXERCISE_N: one source). A student's
# variant takes each input listed in _CHOICES from its alternatives (check.variant).
_BASE = {
    1: {"in_features": 256, "out_features": 512, "batch": 32},
    2: {"d_in": 64, "hidden": 256, "d_out": 10, "depth": 2, "batch": 128},  # exercises 3 and 4 reuse its MLP
}
_CHOICES = {
    1: {"in_features": (128, 192, 256, 384), "out_features": (256, 512, 640, 768), "batch": (16, 24, 32, 48)},
    2: {"d_in": (48, 64, 96), "hidden": (192, 256, 320), "batch": (64, 128, 192)},
}


def __getattr__(name: str):
    """``EXERCISE_N``: this student's inputs of exercise N (:func:`course_lib.check.variant`)."""
    return check.inputs_attribute("lab01", name, _BASE, _CHOICES)


def _inputs(n: int) -> dict:
    return check.variant("lab01", n, _BASE[n], _CHOICES.get(n, {}))


def lab_linear() -> tuple[torch.nn.Linear, torch.Tensor]:
    """The Linear layer and input of exercise 1. Lab 01, exercise 1."""
    e = _inputs(1)
    layer = torch.nn.Linear(e["in_features"], e["out_features"])
    return layer, torch.zeros(e["batch"], e["in_features"])


def lab_mlp() -> tuple[models.MLP, torch.Tensor]:
    """The MLP and input (which needs no gradient) of exercises 2 to 4. Lab 01, exercise 2."""
    e = _inputs(2)
    sizes = {k: e[k] for k in ("d_in", "hidden", "d_out", "depth")}
    return models.MLP(**sizes, seed=0), torch.zeros(e["batch"], e["d_in"])


#: Exercise 4 refuses a training / inference ratio of the fastest runs below this: a swapped pair.
SWAPPED_BELOW = 0.5
#: Exercise 4 refuses an inference time below this many times an empty call's (``time_it(lambda: None)``).
EMPTY_CALL_TIMES = 4


def verify_linear_flops(answer) -> None:
    """Exercise 1: forward FLOPs of the Linear layer, by hand. Lab 01, exercise 1."""
    layer, x = lab_linear()
    check.expect_equal(
        answer,
        measure.count_flops(layer, x),
        "each of the batch × out_features outputs is a dot product of length in_features: "
        "count a multiply and an add per term (lesson 01, section 2).",
    )


def verify_mlp_training_flops(answer) -> None:
    """Exercise 2: forward + backward FLOPs of the MLP, predicted from its shapes. Lab 01, exercise 2."""
    model, x = lab_mlp()
    check.expect_equal(
        answer,
        measure.count_flops(model, x, backward=True),
        "backward is two matmuls per Linear layer (weight gradient and input gradient), "
        "except that the first layer's input needs no gradient (lesson 01, section 3).",
    )


def verify_training_inference_ratio(answer) -> None:
    """Exercise 3: the MLP's forward+backward / forward FLOP ratio. Lab 01, exercise 3."""
    model, x = lab_mlp()
    want = measure.count_flops(model, x, backward=True) / measure.count_flops(model, x)
    check.expect_close(
        answer,
        want,
        "it is below 3: which layer's backward costs only 1× its forward? (lesson 01, section 3)",
        rel=1e-3,
    )


def verify_time_ratio(answer) -> None:
    """Exercise 4: a measured training-step / inference time ratio (a relationship, not a time).

    The answer is the pair of :class:`~course_lib.measure.Timing` results
    ``(training, inference)`` that ``measure.time_it`` returned, so only a
    measurement passes: a typed-in number (3, or the FLOP ratio 2.81) does not.
    The check divides their fastest runs (the least disturbed by other work)
    and refuses a ratio under :data:`SWAPPED_BELOW`, which is what a swapped
    pair gives (a training step takes about 3× an inference call, so swapped
    about 1/3). Between that and 1 it passes: a training step cannot be
    faster, but a busy machine can slow one measurement that much, and a
    check that fails on a busy classroom machine would teach the wrong lesson.
    Lab 01, exercise 4.
    """
    hint = ("return the two results of measure.time_it, (training step, inference call), not a number: "
            "the check divides their fastest runs itself (lesson 01, section 5).")
    if isinstance(answer, numbers.Number) or type(answer).__name__ in ("Tensor", "ndarray"):
        raise AssertionError(f"Not yet: your answer is a number ({v.show(answer)}); a measurement is needed. "
                             f"Hint: {hint}")
    check.expect_true(isinstance(answer, tuple) and len(answer) == 2
                      and all(isinstance(t, measure.Timing) for t in answer), hint)
    t_train, t_infer = answer
    check.expect_true(t_train is not t_infer, "the two results are the same object: time the training step "
                      "and the inference call separately.")
    check.expect_true(all(measure._measured_by_time_it(t) for t in answer),
                      "pass the Timing records that measure.time_it returned, as they are: a Timing built by hand "
                      "is not a measurement. " + hint)
    check.expect_true(len(t_train.samples) >= 5 and len(t_infer.samples) >= 5,
                      "time each function with at least 5 repeats (measure.time_it(..., repeats=20)), "
                      "so the fastest run means something.")
    empty = measure.time_it(lambda: None, warmup=3, repeats=20).fastest
    check.expect_true(
        t_infer.fastest >= EMPTY_CALL_TIMES * empty and t_train.fastest >= EMPTY_CALL_TIMES * empty,
        "one of your timings is as fast as calling a function that does nothing: time the MLP's forward pass "
        "(inference) and a whole training step (forward, backward, optimizer step), not an empty function.",
    )
    check.expect_true(
        t_train.fastest >= SWAPPED_BELOW * t_infer.fastest,
        "a training step does a forward pass and more, yet yours came out far below inference's time: "
        "did you swap the pair, or time inference with autograd on? (lesson 01, section 5)",
    )
