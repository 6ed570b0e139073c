"""Verifiers for lab 01 (lessons/01_forward_vs_backward.ipynb).

The inputs of each exercise live here (``EXERCISE_1``, ``EXERCISE_2``) and the
lab reads them; expected values come from measurement (``count_flops``) on the same model and
inputs, so they cannot drift from what the lesson teaches.
"""

from __future__ import annotations

import numbers

import torch

from .. import _validate as v
from .. import check, measure, models

# The inputs of each exercise (the lab reads them from here: one source).
EXERCISE_1 = {"in_features": 256, "out_features": 512, "batch": 32}
EXERCISE_2 = {"d_in": 64, "hidden": 256, "d_out": 10, "depth": 2, "batch": 128}  # exercises 3 and 4 reuse its MLP


def lab_linear() -> tuple[torch.nn.Linear, torch.Tensor]:
    """The Linear layer and input of exercise 1. Lab 01, exercise 1."""
    e = EXERCISE_1
    layer = torch.nn.Linear(e["in_features"], e["out_features"])
    return layer, torch.zeros(e["batch"], e["in_features"])


def lab_mlp() -> tuple[models.MLP, torch.Tensor]:
    """The MLP and input (which needs no gradient) of exercises 2 to 4. Lab 01, exercise 2."""
    e = EXERCISE_2
    sizes = {k: e[k] for k in ("d_in", "hidden", "d_out", "depth")}
    return models.MLP(**sizes, seed=0), torch.zeros(e["batch"], e["d_in"])


#: Exercise 4 refuses a training / inference ratio of the fastest runs below this: a swapped pair.
SWAPPED_BELOW = 0.5


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
    check.expect_true(len(t_train.samples) >= 5 and len(t_infer.samples) >= 5,
                      "time each function with at least 5 repeats (measure.time_it(..., repeats=20)), "
                      "so the fastest run means something.")
    check.expect_true(
        t_train.fastest >= SWAPPED_BELOW * t_infer.fastest,
        "a training step does a forward pass and more, yet yours came out far below inference's time: "
        "did you swap the pair, or time inference with autograd on? (lesson 01, section 5)",
    )
