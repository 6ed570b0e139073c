"""Verifiers for lab 01 (lessons/01_forward_vs_backward.ipynb).

The inputs of each exercise live here (``EXERCISE_1``, ``EXERCISE_2``) and the
lab reads them; expected values come from measurement (``count_flops``) on the same model and
inputs, so they cannot drift from what the lesson teaches.
"""

from __future__ import annotations

import math

import torch

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
    Lab 01, exercise 4."""
    check.expect_true(
        isinstance(answer, (int, float)) and math.isfinite(answer),
        "return one number: the median time of a training step divided by the median time of an inference call.",
    )
    check.expect_true(
        answer > 1.0,
        "a training step does a forward pass and more, so the ratio must be above 1: "
        "did you divide the other way round, or time inference with autograd on? (lesson 01, section 5)",
    )
