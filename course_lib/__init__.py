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
- ``claims``: the seed page's claims and the course's verdict on each (one table for every lesson).
- ``check`` and ``exercises``: the labs' checks and their inputs.
- ``_validate``: argument checks that raise ``ValueError``/``TypeError`` naming the argument.
- ``ui.render``: the offline Altair renderer.
- ``ui.charts``: every chart builder (from DataFrames or plain values).
- ``ui.widgets``: the ``Calculator`` base and the result-span helper.
- ``ui.text``: numbers as text (money, energy, bytes), each result's texts, the calculators' presets.
- ``ui.calculators``: every calculator.
"""

from __future__ import annotations

import torch

from . import _validate as v
from . import env

__version__ = "0.1.0"

#: Lesson -> the course_lib modules its notebooks (lesson, lab, solution) import;
#: kept true against the notebooks by tests/contract/test_backlinks.py (regenerate with
#: ``python tools/backlinks.py --lessons``).
LESSONS: dict[str, tuple[str, ...]] = {
    "00": ("claims", "data", "env", "measure", "models", "predict", "train"),
    "01": ("check", "env", "exercises.lab01", "measure", "memory", "models", "predict", "references", "train",
           "ui.charts"),
    "02": ("arch", "check", "env", "exercises.lab02", "fit", "hardware", "lora", "measure", "memory", "models",
           "predict", "train", "ui.calculators", "ui.charts", "ui.text"),
    "03": ("check", "claims", "data", "env", "exercises.lab03", "hardware", "measure", "memory", "models",
           "precision", "predict", "simulate", "train", "ui.calculators", "ui.charts"),
    "04": ("check", "claims", "data", "env", "exercises.lab04", "hardware", "measure", "models", "precision",
           "ui.calculators", "ui.charts"),
    "05": ("check", "claims", "cost", "energy", "env", "exercises.lab05", "hardware", "measure", "models",
           "predict", "published", "references", "train", "ui.calculators", "ui.charts", "ui.text", "validation"),
    "06": ("check", "claims", "distributed", "env", "exercises.lab06", "models", "predict", "processes",
           "serving", "simulate", "ui.calculators", "ui.charts", "ui.text", "zero_fit"),
    "07": ("arch", "check", "claims", "env", "exercises.lab07", "generation", "hardware", "measure", "models",
           "predict", "published", "ui.calculators", "ui.charts", "validation"),
    "08": ("check", "data", "engine", "env", "exercises.lab08", "hardware", "measure", "models", "simulate",
           "ui.calculators", "ui.charts"),
    "09": ("arch", "check", "cost", "env", "exercises.lab09", "generation", "hardware", "models", "reasoning",
           "ui.calculators", "ui.charts", "ui.text"),
}


def setup(seed: int = 0, n_threads: int | None = None, student: str | None = None):
    """Prepare a lesson: cap torch's threads to the CPU quota (or ``n_threads``),
    seed torch's global RNG, enable the offline chart renderer, and return the
    device the lesson measures on (CUDA when present, else the CPU).
    ``student``: the id an instructor gave you, for your own variant of the
    labs' inputs (``course_lib.check.set_student``). Every lesson and lab,
    first cell."""
    # Altair and vl-convert are heavy and belong to the ui layer: import them
    # only when a notebook sets up, so importing the core stays free of them.
    from .ui import render

    seed = v.seed("seed", seed)
    if student is not None:
        # check is imported here: importing course_lib stays free of the lab framework
        from . import check

        check.set_student(student)
    env.configure_threads(n_threads)
    torch.manual_seed(seed)
    render.enable()
    return env.device()


# Cap torch's thread pool to the container's CPU quota as soon as the
# library is imported (Binder: 1 CPU on a many-core host).
env.configure_threads()
