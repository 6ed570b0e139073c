"""course_lib: measurements, formulas, charts and calculators for the
*Training vs Inference* course.

Every lesson starts with::

    import course_lib as cl
    device = cl.setup()

Modules (the pure core never imports Altair or ipywidgets; ``ui`` sits on top):

- ``env``: the machine report, the device, torch's thread count.
- ``models``: the tiny seeded networks (``MLP``, ``TinyGPT``) and parameter counts.
- ``data``: seeded generated datasets (classification, tokens).
- ``train``: the optimizer factory, one training step, saved-tensor tracking.
- ``measure``: FLOPs counted and time measured.
- ``memory``: training and inference memory measured (bytes, peak).
- ``predict``: the formulas (FLOPs, bytes per parameter, KV cache, activations, ZeRO).
- ``hardware``: the accelerator table, roofline, this machine measured.
- ``precision``: number formats, quantization, mixed-precision training.
- ``fit``: will a model fit on one GPU (the arithmetic of the calculator).
- ``zero_fit``: per-GPU memory under ZeRO stages 0–3.
- ``simulate``: the dynamic-batching queue simulator.
- ``cost``: training and inference cost, break-even, inference-aware sizing.
- ``energy``: energy and CO2, with sourced reference figures.
- ``generation``: prefill and decode: FLOPs, bytes, the decode bound, the generation calculator's arithmetic, timing helpers.
- ``reasoning``: long generations measured (time per token, KV bytes, tokens/s, energy per answer as the context grows).
- ``processes``: worker processes: launch, deadlines, clean-up.
- ``distributed``: real DDP and FSDP training on worker processes.
- ``serving``: real serving replicas on worker processes.
- ``engine``: a tiny LLM serving engine: static vs continuous batching, KV memory reserved vs paged, speculative decoding.
- ``check`` and ``exercises``: the labs' checks and their inputs.
- ``_validate``: argument checks that raise ``ValueError``/``TypeError`` naming the argument.
- ``ui.render``: the offline Altair renderer.
- ``ui.charts``: every chart builder (from DataFrames or plain values).
- ``ui.widgets``: the ``Calculator`` base and the result-span helper.
- ``ui.calculators``: every calculator.
"""

from __future__ import annotations

import torch

from . import _validate as v
from . import env

__version__ = "0.1.0"


def setup(seed: int = 0, n_threads: int | None = None):
    """Prepare a lesson: cap torch's threads to the CPU quota (or ``n_threads``),
    seed torch's global RNG, enable the offline chart renderer, and return the
    device the lesson measures on (CUDA when present, else the CPU). Every
    lesson and lab, first cell."""
    # Altair and vl-convert are heavy and belong to the ui layer: import them
    # only when a notebook sets up, so importing the core stays free of them.
    from .ui import render

    seed = v.seed("seed", seed)
    env.configure_threads(n_threads)
    torch.manual_seed(seed)
    render.enable()
    return env.device()


# Cap torch's thread pool to the container's CPU quota as soon as the
# library is imported (Binder: 1 CPU on a many-core host).
env.configure_threads()
