"""Will it fit on N GPUs? Per-GPU training memory under ZeRO stages 0–3 (lesson 06).

Lesson 02's calculator (:mod:`course_lib.fit`) asks whether a model trains
on *one* GPU. Data parallelism with ZeRO (Rajbhandari et al. 2020, *ZeRO:
Memory Optimizations Toward Training Trillion Parameter Models*) splits the
model state over N GPUs instead of copying it:

- stage 0 (plain DDP): every GPU holds all weights, gradients and optimizer state;
- stage 1: the optimizer state is split N ways;
- stage 2: the gradients too;
- stage 3 (FSDP, ``fully_shard``): the weights too.

:func:`course_lib.predict.zero_breakdown` gives the per-GPU bytes of each part for a bare
parameter count (the parts add up to
:func:`course_lib.predict.zero_memory_per_device`, up to rounding each shard
to whole bytes); :func:`zero_fit` works on a real model
(:class:`course_lib.arch.Architecture`, from a preset or a ``config.json``):
model state in a labelled byte convention with stage 3's gathered layer
(:meth:`~course_lib.arch.Architecture.zero_memory`), the activations of each
GPU's own micro-batch (ZeRO does not split them), the runtime overhead, and
a verdict against an accelerator from :data:`course_lib.hardware.ACCELERATORS`
(a :class:`ZeroFitResult`);
:func:`course_lib.ui.calculators.zero_calculator` is the widget. 1 GB =
10⁹ bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from . import _validate as v
from . import activations, arch, fit, hardware, model_state

STAGES = (0, 1, 2, 3)
STAGE_NAMES = {
    0: "stage 0 (DDP: all replicated)",
    1: "stage 1 (optimizer state sharded)",
    2: "stage 2 (+ gradients sharded)",
    3: "stage 3 (+ weights sharded, FSDP)",
}


PARTS = ("weights", "gradients", "optimizer_state", "gathered_layer", "activations", "overhead")


def _model_state(a: arch.Architecture, devices: int, stage: int, convention: str, optimizer: str, lora: str,
                 lora_rank: int) -> dict[str, int]:
    """Per-device model state, from :func:`course_lib.model_state.zero_memory`
    (through :meth:`~course_lib.arch.Architecture.zero_memory` without LoRA)."""
    if lora == "none":
        return a.zero_memory(devices, stage, convention=convention, optimizer=optimizer)
    return model_state.zero_memory(a, devices, stage, convention=convention, optimizer=optimizer,
                                   lora=fit._lora(lora, lora_rank))


@dataclass(frozen=True)
class ZeroFitResult:
    """Per-GPU training memory under ZeRO, from :func:`course_lib.zero_fit.zero_fit`:
    ``model`` (name with parameter counts), ``n_params``, ``n_active_params``,
    ``n_gpus``, ``stage``, ``accelerator``, ``convention``, ``optimizer``,
    ``per_gpu`` ({part: bytes} for :data:`PARTS` and ``"total"``), ``verdict``
    (a :class:`course_lib.fit.Verdict`), ``stages`` ({stage: total per GPU}),
    ``stage_parts`` ({stage: per_gpu}), ``min_gpus`` (the fewest GPUs, a power of
    two up to 4096, on which this stage fits, or None), ``largest_batch`` (per
    GPU, at this sequence length) and ``longest_context`` (at this batch). Made by
    :func:`course_lib.zero_fit.zero_fit`; not tied to one lesson."""

    model: str
    n_params: int
    n_active_params: int
    n_gpus: int
    stage: int
    accelerator: str
    convention: str
    optimizer: str
    per_gpu: dict
    verdict: fit.Verdict
    stages: dict
    stage_parts: dict
    min_gpus: int | None
    largest_batch: int | None
    longest_context: int | None


@v.checked
def zero_fit(
    model="llama-2-7b",
    n_gpus: v.IntRange(1, 4096) = 8,
    stage: v.IntRange(0, 3) = 3,
    convention: v.Choice[model_state.ZERO_CONVENTIONS] = "zero",
    optimizer: str = "adamw",
    batch_per_gpu: v.PositiveInt = 1,
    seq_len: v.PositiveInt = 2048,
    checkpointing: bool = True,
    accelerator: v.Choice[hardware.ACCELERATORS] = "H100 SXM",
    attention: v.Choice[activations.ATTENTIONS] = "sdpa",
    lora: str = "none",
    lora_rank: int = 16,
    config_path: str = "",
) -> ZeroFitResult:
    """Per-GPU training memory of a model trained data-parallel on
    ``n_gpus`` GPUs at ZeRO ``stage``.

    ``model``: a preset key of :data:`course_lib.arch.PRESETS` or an :class:`~course_lib.arch.Architecture`; a
    non-empty ``config_path`` (a local ``config.json``) takes precedence.
    Model state from :meth:`course_lib.arch.Architecture.zero_memory` in the
    byte ``convention`` (:data:`course_lib.model_state.ZERO_CONVENTIONS`), with the
    gathered-layer term at stage 3; activations of each GPU's own
    micro-batch in 16 bits (ZeRO does not split them); the runtime overhead
    (:data:`course_lib.fit.RUNTIME_OVERHEAD_BYTES`, an assumption).

    Returns a :class:`ZeroFitResult`. Lesson 06, section 5.
    """
    a = fit.model_architecture(model, config_path)
    d = n_gpus
    if not isinstance(checkpointing, bool):
        raise TypeError(f"checkpointing must be True or False, got {v.show(checkpointing)}")
    cap = hardware.ACCELERATORS[accelerator].memory_bytes

    def per_gpu(devices: int, st: int, batch: int = batch_per_gpu, seq: int = seq_len) -> dict:
        out = _model_state(a, devices, st, convention, optimizer, lora, lora_rank)
        out.pop("total")
        out["activations"] = a.activation_bytes(batch=batch, seq_len=seq, attention=attention, bytes_per_value=2,
                                                checkpointing=checkpointing)
        out["overhead"] = fit.RUNTIME_OVERHEAD_BYTES
        out["total"] = sum(out[k] for k in PARTS)
        return out

    mine = per_gpu(d, stage)
    min_gpus = next((n for n in (2**k for k in range(13)) if per_gpu(n, stage)["total"] <= cap), None)
    stage_parts = {st: per_gpu(d, st) for st in STAGES}
    return ZeroFitResult(
        model=arch.label(a),
        n_params=a.n_params,
        n_active_params=a.n_active_params,
        n_gpus=d,
        stage=stage,
        accelerator=accelerator,
        convention=convention,
        optimizer=optimizer,
        per_gpu=mine,
        verdict=fit.verdict(mine["total"], accelerator),
        stages={st: parts["total"] for st, parts in stage_parts.items()},
        stage_parts=stage_parts,
        min_gpus=min_gpus,
        largest_batch=fit._largest(lambda b: per_gpu(d, stage, batch=b)["total"] <= cap, 1 << 20),
        longest_context=fit._largest(lambda s: per_gpu(d, stage, seq=s)["total"] <= cap, 1 << 22),
    )


@v.checked
def stage_table(result: v.Instance(ZeroFitResult, "a ZeroFitResult from zero_fit")):
    """Per-GPU bytes by stage and part, in GB, for the stacked chart. Used by
    :func:`course_lib.ui.calculators.stage_chart`; not tied to one lesson."""
    rows = []
    for st in STAGES:
        parts = result.stage_parts[st]
        for part in PARTS:
            rows.append({"stage": f"stage {st}", "part": part.replace("_", " "), "GB": parts[part] / fit.GB})
    return pd.DataFrame(rows)
