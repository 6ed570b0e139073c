"""One training step and one inference call, written out (lessons 00 and 01).

:func:`make_optimizer` builds the optimizers the course compares by name;
:func:`training_step` does what training does and inference does not:
forward, loss, backward, optimizer step. :func:`inference` is a forward pass
under ``torch.inference_mode()``, which records no graph.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn
from torch.nn import functional as F

from . import _validate as v

OPTIMIZER_NAMES = ("sgd", "momentum", "adam", "adamw")


@v.checked
def make_optimizer(name: v.Choice[OPTIMIZER_NAMES], params, lr: v.Positive = 1e-3) -> torch.optim.Optimizer:
    """``"sgd"``, ``"momentum"`` (SGD with momentum 0.9), ``"adam"`` or ``"adamw"``.
    Lesson 00; lesson 01, section 5; lesson 03, section 2; lab 01, exercise 4."""
    if isinstance(params, torch.Tensor) or not hasattr(params, "__iter__") or isinstance(params, (str, bytes, dict)):
        raise TypeError(f"params must be model.parameters() (an iterable of tensors), got {v.show(params)}")
    if hasattr(params, "__len__") and len(params) > 10_000:  # before copying: range(10**8) is not read
        raise ValueError(f"params must hold between 1 and 10_000 tensors (model.parameters()), got {len(params):_}")
    params = list(params)
    if not params or not all(isinstance(p, (torch.Tensor, dict)) for p in params[:10_000]) or len(params) > 10_000:
        raise ValueError(f"params must hold between 1 and 10_000 tensors (model.parameters()), "
                         f"got {len(params)} item(s): {v.show(params[:3])}")
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr)
    return torch.optim.AdamW(params, lr=lr)


def loss_for(output: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy for class logits (batch, classes) or LM logits (batch, seq, vocab).
    Used by :func:`course_lib.train.training_step`; not tied to one lesson."""
    v.tensor("output", output, kind="float", ndim=(2, 3))
    v.tensor("targets", targets, kind="int", ndim=output.dim() - 1)
    if targets.shape != output.shape[:-1]:
        raise ValueError(f"targets must have shape {tuple(output.shape[:-1])} (one class per output row), "
                         f"got {tuple(targets.shape)}")
    if int(targets.min()) < 0 or int(targets.max()) >= output.shape[-1]:
        raise ValueError(f"targets must hold classes from 0 to {output.shape[-1] - 1}, "
                         f"got {int(targets.min())} to {int(targets.max())}")
    if output.dim() == 3:
        return F.cross_entropy(output.reshape(-1, output.shape[-1]), targets.reshape(-1))
    return F.cross_entropy(output, targets)


def training_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = loss_for,
) -> float:
    """Forward, loss, backward, optimizer step; returns the loss before the step.
    Lesson 00; lesson 01, section 5; lesson 03, section 2; lab 01, exercise 4."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    v.model_input("inputs", model, inputs)
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be a function (output, targets) -> loss, got {v.show(loss_fn)}")
    optimizer.zero_grad(set_to_none=True)
    loss = loss_fn(model(inputs), targets)
    loss.backward()
    optimizer.step()
    return loss.item()


def inference(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """A forward pass under ``torch.inference_mode()``: no graph, no saved tensors.
    Lesson 01, sections 1 and 5; lesson 05, section 3; lab 01, exercise 4."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    v.model_input("inputs", model, inputs)
    with torch.inference_mode():
        return model(inputs)


def storage_key(t: torch.Tensor) -> tuple[int, int] | None:
    """What identifies the memory behind ``t``: ``(address, bytes)`` of its
    storage, so views of one storage count once (a sharded DTensor: its local
    shard's storage); ``None`` for a tensor without real storage (meta). The
    course's one storage key.
    Used by :func:`course_lib.memory.saved_activation_bytes` and :func:`course_lib.train.saved_storages`; not tied to
    one lesson."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"t must be a torch.Tensor, got {type(t).__name__}")
    local = t.to_local() if hasattr(t, "to_local") else t
    if local.device.type == "meta":
        return None
    storage = local.untyped_storage()
    return storage.data_ptr(), storage.nbytes()


def saved_storages(fn: Callable[[], object]) -> tuple[dict[tuple[int, int], int], object]:
    """Run ``fn()`` and return ``({storage_key: bytes}, fn's result)`` for
    the distinct tensor storages autograd saved for backward while it ran
    (parameters included: a Linear saves its weight).
    Used by :func:`course_lib.memory.inference_memory` and :func:`course_lib.memory.saved_activation_bytes`; not tied
    to one lesson."""
    if not callable(fn):
        raise TypeError(f"fn must be a function to run, got {v.show(fn)}")
    seen: dict[tuple[int, int], int] = {}

    def pack(t: torch.Tensor):
        key = storage_key(t)
        if key is not None:
            seen[key] = key[1]
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        result = fn()
    return seen, result


def saved_tensor_bytes(fn: Callable[[], object]) -> tuple[int, int]:
    """Run ``fn()`` and return (number, bytes) of the distinct tensor storages
    autograd saved for backward while it ran (parameters included). Lesson 01
    uses it to show that a forward pass for training keeps tensors alive and
    one under ``inference_mode`` keeps none. Lesson 01, section 1.
    """
    if not callable(fn):
        raise TypeError(f"fn must be a function to run, got {v.show(fn)}")
    seen, _ = saved_storages(fn)
    return len(seen), sum(seen.values())
