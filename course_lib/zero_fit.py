"""Will it fit on N GPUs? Per-GPU training memory under ZeRO stages 0–3 (lesson 06).

Lesson 02's calculator (:mod:`course_lib.fit`) asks whether a model trains
on *one* GPU. Data parallelism with ZeRO (Rajbhandari et al. 2020, *ZeRO:
Memory Optimizations Toward Training Trillion Parameter Models*) splits the
model state over N GPUs instead of copying it:

- stage 0 (plain DDP): every GPU holds all weights, gradients and optimizer state;
- stage 1: the optimizer state is split N ways;
- stage 2: the gradients too;
- stage 3 (FSDP, ``fully_shard``): the weights too.

:func:`zero_breakdown` gives the per-GPU bytes of each part (the parts add up
to :func:`course_lib.predict.zero_memory_per_device`, up to rounding each
shard to whole bytes); :func:`zero_fit` adds the activations of each GPU's
own micro-batch (:func:`course_lib.fit.activation_bytes`: ZeRO does not
split activations) and a verdict against a GPU from
:data:`course_lib.fit.GPUS`; :func:`course_lib.ui.calculators.zero_calculator`
is the widget. 1 GB =
10⁹ bytes.
"""

from __future__ import annotations

import pandas as pd

from . import _validate as v
from . import fit, predict

STAGES = (0, 1, 2, 3)
STAGE_NAMES = {
    0: "stage 0 (DDP: all replicated)",
    1: "stage 1 (optimizer state sharded)",
    2: "stage 2 (+ gradients sharded)",
    3: "stage 3 (+ weights sharded, FSDP)",
}
_ORDER = ("optimizer_state", "gradients", "weights")  # what stages 1, 2, 3 add to the shard


def zero_breakdown(
    n_params: int, n_devices: int, stage: int, optimizer: str = "adamw", precision: str = "mixed"
) -> dict[str, int]:
    """Per-device bytes ``{"weights", "gradients", "optimizer_state", "total"}``
    of model state under ZeRO ``stage`` on ``n_devices`` (Rajbhandari et al.
    2020). A sharded part is ceil(bytes / n_devices). Lesson 06.
    """
    n = v.positive_int("n_params", n_params)
    d = v.positive_int("n_devices", n_devices)
    stage = v.integer("stage", stage, minimum=0, maximum=3)
    per = predict.bytes_per_param_breakdown(optimizer, precision)
    out = {}
    for part in ("weights", "gradients", "optimizer_state"):
        full = per[part] * n
        out[part] = -(-full // d) if part in _ORDER[:stage] else full
    out["total"] = sum(out.values())
    return out


def zero_fit(
    model: str = "7B",
    n_gpus: int = 8,
    stage: int = 3,
    optimizer: str = "adamw",
    precision: str = "mixed",
    batch_per_gpu: int = 1,
    seq_len: int = 2048,
    checkpointing: bool = True,
    gpu: str = "H100 80 GB",
) -> dict:
    """Per-GPU training memory of a preset model (:data:`course_lib.fit.PRESETS`)
    trained data-parallel on ``n_gpus`` GPUs at ZeRO ``stage``.

    Returns ``{"model", "n_params", "n_gpus", "stage", "gpu", "optimizer", "precision", "per_gpu"
    (weights, gradients, optimizer_state, activations, total), "verdict",
    "stages" ({stage: total per GPU} for all four stages), "min_gpus" (the
    fewest GPUs, up to 4096, on which this stage fits, or None)}``. Lesson 06.
    """
    v.choice("model", model, fit.PRESETS)
    d = v.integer("n_gpus", n_gpus, minimum=1, maximum=4096)
    stage = v.integer("stage", stage, minimum=0, maximum=3)
    if not isinstance(checkpointing, bool):
        raise TypeError(f"checkpointing must be True or False, got {checkpointing!r}")
    p = fit.PRESETS[model]
    act = fit.activation_bytes(batch_per_gpu, seq_len, p.layers, p.hidden, p.heads, precision=precision, checkpointing=checkpointing)

    def per_gpu(devices: int, st: int) -> dict:
        state = zero_breakdown(p.n_params, devices, st, optimizer, precision)
        out = {k: state[k] for k in ("weights", "gradients", "optimizer_state")}
        out["activations"] = act
        out["total"] = state["total"] + act
        return out

    mine = per_gpu(d, stage)
    cap = fit.GPUS[v.choice("gpu", gpu, fit.GPUS)].memory_bytes
    min_gpus = None
    for devices in (2**k for k in range(13)):
        if per_gpu(devices, stage)["total"] <= cap:
            min_gpus = devices
            break
    return {
        "model": model,
        "n_params": p.n_params,
        "n_gpus": d,
        "stage": stage,
        "gpu": gpu,
        "optimizer": optimizer,
        "precision": precision,
        "per_gpu": mine,
        "verdict": fit.verdict(mine["total"], gpu),
        "stages": {st: per_gpu(d, st)["total"] for st in STAGES},
        "min_gpus": min_gpus,
    }


def stage_table(result: dict):
    """Per-GPU bytes by stage and part, in GB, for the stacked chart. Lesson 06."""
    p = fit.PRESETS[result["model"]]
    rows = []
    for st in STAGES:
        parts = zero_breakdown(p.n_params, result["n_gpus"], st, result["optimizer"], result["precision"])
        parts["activations"] = result["per_gpu"]["activations"]
        for part in ("weights", "gradients", "optimizer_state", "activations"):
            rows.append({"stage": f"stage {st}", "part": part.replace("_", " "), "GB": parts[part] / fit.GB})
    return pd.DataFrame(rows)
