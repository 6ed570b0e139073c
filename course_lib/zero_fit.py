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
:data:`course_lib.fit.GPUS`; :func:`zero_calculator` is the widget. 1 GB =
10⁹ bytes.
"""

from __future__ import annotations

import html

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
    batch_per_gpu = v.positive_int("batch_per_gpu", batch_per_gpu)
    seq_len = v.positive_int("seq_len", seq_len)
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


def _out(key: str, text: str) -> str:
    return f'<span class="calc-out" data-key="{key}">{html.escape(text)}</span>'


_RESULT_KEYS = ("model", "n_params", "n_gpus", "stage", "gpu", "optimizer", "precision", "per_gpu", "verdict",
                "stages", "min_gpus")


def render(result: dict) -> str:
    """The calculator's result as HTML; key numbers are ``calc-out`` spans. Lesson 06."""
    v.mapping("result", result, _RESULT_KEYS)
    g = result["per_gpu"]
    rows = "".join(
        f"<tr><td>{name}</td><td>{_out(key, fit.format_bytes(g[key]))}</td></tr>"
        for name, key in (("weights", "weights"), ("gradients", "gradients"), ("optimizer state", "optimizer_state"),
                          ("activations (own micro-batch)", "activations"))
    )
    colour = "#070" if result["verdict"]["fits"] else "#b00"
    stages = "".join(
        f"<tr><td>{html.escape(STAGE_NAMES[st])}</td><td>{_out(f'stage{st}', fit.format_bytes(total))}</td></tr>"
        for st, total in result["stages"].items()
    )
    need = result["min_gpus"]
    need_text = f"{need} GPUs" if need else "more than 4096 GPUs"
    return (
        f"<p>{html.escape(result['model'])} ({result['n_params']:,} parameters) on "
        f"{result['n_gpus']} × {html.escape(result['gpu'])}, ZeRO {html.escape(STAGE_NAMES[result['stage']])}</p>"
        f"<table><tr><th>per GPU</th><th></th></tr>{rows}"
        f"<tr><td><b>total</b></td><td><b>{_out('total', fit.format_bytes(g['total']))}</b></td></tr></table>"
        f"<p style='color:{colour}'>{_out('verdict', fit.verdict_text(result['verdict']))}; "
        f"this stage fits from {_out('min_gpus', need_text)} (powers of two)</p>"
        f"<table><tr><th>same GPUs, each stage</th><th>per GPU</th></tr>{stages}</table>"
    )


def stage_table(result: dict):
    """Per-GPU bytes by stage and part, in GB, for the stacked chart. Lesson 06."""
    v.mapping("result", result, _RESULT_KEYS)
    import pandas as pd

    p = fit.PRESETS[result["model"]]
    rows = []
    for st in STAGES:
        parts = zero_breakdown(p.n_params, result["n_gpus"], st, result["optimizer"], result["precision"])
        parts["activations"] = result["per_gpu"]["activations"]
        for part in ("weights", "gradients", "optimizer_state", "activations"):
            rows.append({"stage": f"stage {st}", "part": part.replace("_", " "), "GB": parts[part] / fit.GB})
    return pd.DataFrame(rows)


def zero_calculator(chart: bool = True):
    """The lesson-06 calculator: model, number of GPUs, ZeRO stage, optimizer,
    precision, micro-batch per GPU, sequence length, checkpointing, GPU →
    per-GPU memory, verdict, the fewest GPUs that fit, and (with ``chart``) a
    stacked bar per stage against the GPU's memory. Returns a
    :class:`course_lib.widgets.Calculator`. Lesson 06."""
    if not isinstance(chart, bool):
        raise TypeError(f"chart must be True or False, got {chart!r}")
    import ipywidgets as w

    from .widgets import Calculator

    style = {"description_width": "120px"}
    layout = w.Layout(width="420px")
    controls = {
        "model": w.Dropdown(options=list(fit.PRESETS), value="7B", description="model", style=style, layout=layout),
        "n_gpus": w.SelectionSlider(options=[2**k for k in range(11)], value=8, description="GPUs", style=style, layout=layout),
        "stage": w.Dropdown(options=[(STAGE_NAMES[s], s) for s in STAGES], value=3, description="ZeRO stage", style=style, layout=layout),
        "optimizer": w.Dropdown(options=list(predict.OPTIMIZERS), value="adamw", description="optimizer", style=style, layout=layout),
        "precision": w.Dropdown(options=[(label, key) for key, label in fit.PRECISION_LABELS.items()], value="mixed",
                                description="precision", style=style, layout=layout),
        "batch_per_gpu": w.SelectionSlider(options=[2**k for k in range(7)], value=1, description="batch per GPU", style=style, layout=layout),
        "seq_len": w.SelectionSlider(options=[2**k for k in range(9, 15)], value=2048, description="sequence length", style=style, layout=layout),
        "checkpointing": w.Checkbox(value=True, description="activation checkpointing", style=style, layout=layout),
        "gpu": w.Dropdown(options=list(fit.GPUS), value="H100 80 GB", description="GPU", style=style, layout=layout),
    }

    return Calculator(controls, zero_fit, render, chart=stage_chart if chart else None,
                      title="Will it fit on N GPUs? (ZeRO)")


def stage_chart(result: dict):
    """:func:`course_lib.charts.zero_stages` for a :func:`zero_fit` result. Lesson 06."""
    from .charts import zero_stages

    return zero_stages(stage_table(result), result["verdict"]["gpu_bytes"] / fit.GB, result["gpu"],
                       title=f"{result['model']} on {result['n_gpus']} GPUs: memory per GPU by ZeRO stage")
