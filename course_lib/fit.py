"""Will it fit? Training and inference memory of a model on one GPU (lesson 02).

Pure functions (the calculator is in :mod:`course_lib.ui.calculators`):

- :func:`training_memory_estimate`: weights, gradients, optimizer state
  (bytes per parameter from :func:`course_lib.predict.bytes_per_param_breakdown`)
  and activations (Korthikanti et al. 2022, per layer, with or without
  activation checkpointing), in bytes.
- :func:`inference_memory_estimate`: weights and the KV cache
  (:func:`course_lib.predict.kv_cache_bytes`).
- :func:`verdict`: fits or not on a GPU, and how many bytes are missing.
- :func:`will_it_fit`: all of it for one configuration;
  :func:`course_lib.ui.calculators.fit_calculator` is the widget over it.

What is left out, on purpose: the CUDA context and libraries (a few hundred
MB), allocator fragmentation, temporary buffers (the peak that lesson 02
measures), and, for inference, the transient activations. Real usage is
therefore somewhat higher; "fits" means "the big terms fit". 1 GB = 10⁹ bytes.

Lesson 06 builds a second calculator (GPU count, ZeRO stage) on
:func:`training_memory_estimate`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from . import _validate as v
from . import predict

GB = 10**9


@dataclass(frozen=True)
class ModelPreset:
    """A model's size and shape: parameters, layers, hidden size, heads, KV heads."""

    name: str
    n_params: int
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    source: str


PRESETS: dict[str, ModelPreset] = {
    p.name: p
    for p in (
        ModelPreset("125M", 125_000_000, 12, 768, 12, 12, "OPT-125M: Zhang et al. 2022, OPT: Open Pre-trained Transformer Language Models, Table 1"),
        ModelPreset("1.3B", 1_300_000_000, 24, 2048, 32, 32, "OPT-1.3B: Zhang et al. 2022, Table 1"),
        ModelPreset("7B", 7_000_000_000, 32, 4096, 32, 32, "Llama 2 7B: Touvron et al. 2023, Llama 2 (shape as LLaMA 7B)"),
        ModelPreset("13B", 13_000_000_000, 40, 5120, 40, 40, "Llama 2 13B: Touvron et al. 2023, Llama 2"),
        ModelPreset("70B", 70_000_000_000, 80, 8192, 64, 8, "Llama 2 70B: Touvron et al. 2023, Llama 2 (grouped-query attention, 8 KV heads)"),
    )
}
"""Parameter counts as the models' names give them (Llama 2 7B has 6.7·10⁹)."""


@dataclass(frozen=True)
class Gpu:
    """A GPU's memory as its datasheet states it (GB = 10⁹ bytes)."""

    name: str
    memory_gb: float
    source: str

    @property
    def memory_bytes(self) -> int:
        return int(self.memory_gb * GB)


GPUS: dict[str, Gpu] = {
    g.name: g
    for g in (
        Gpu("H100 80 GB", 80, "NVIDIA H100 Tensor Core GPU datasheet (2023), SXM"),
        Gpu("A100 80 GB", 80, "NVIDIA A100 Tensor Core GPU datasheet (2021), 80GB"),
        Gpu("A100 40 GB", 40, "NVIDIA A100 Tensor Core GPU datasheet (2021), 40GB"),
        Gpu("L4 24 GB", 24, "NVIDIA L4 Tensor Core GPU datasheet (2023)"),
        Gpu("T4 16 GB", 16, "NVIDIA T4 Tensor Core GPU datasheet (2019)"),
        Gpu("Laptop GPU 8 GB", 8, "a typical 8 GB laptop GPU, e.g. GeForce RTX 4060 Laptop GPU (NVIDIA product page)"),
    )
}

PRECISION_LABELS = {
    "fp32": "fp32 (everything 4 bytes)",
    "mixed": "mixed: bf16/fp16 + fp32 master and moments (ZeRO)",
    "mixed_fp32_grads": "mixed, gradients also accumulated in fp32",
    "mixed_hf": "mixed, Hugging Face's accounting",
    "bf16": "pure bf16 (no fp32 copy)",
}


def activation_value_bytes(precision: str) -> int:
    """Bytes per activation (and per KV-cache value, and per weight at
    inference): 4 for ``"fp32"``, 2 for every 16-bit setting. Lesson 02."""
    v.choice("precision", precision, predict.PRECISIONS)
    return 4 if precision == "fp32" else 2


def _shape(layers, hidden, heads):
    layers = v.positive_int("layers", layers)
    hidden = v.positive_int("hidden", hidden)
    heads = v.positive_int("heads", heads)
    if hidden % heads:
        raise ValueError(f"hidden must be divisible by heads, got hidden={hidden}, heads={heads}")
    return layers, hidden, heads


def activation_bytes(
    batch: int, seq_len: int, layers: int, hidden: int, heads: int, *, precision: str = "mixed", checkpointing: bool = False
) -> int:
    """Activation bytes of a GPT-style model in training (Korthikanti et al. 2022).

    Without checkpointing: ``layers`` × :func:`course_lib.predict.gpt_layer_activation_bytes`
    (with dropout; 2-byte values give s·b·h·(34 + 5·a·s/h)). With full
    activation checkpointing each layer keeps only its input, s·b·h values,
    and one layer's activations are rebuilt at a time during backward, so
    layers·s·b·h·p + one layer. Lesson 02.
    """
    b = v.positive_int("batch", batch)
    s = v.positive_int("seq_len", seq_len)
    layers, hidden, heads = _shape(layers, hidden, heads)
    if not isinstance(checkpointing, bool):
        raise TypeError(f"checkpointing must be True or False, got {checkpointing!r}")
    p = activation_value_bytes(precision)
    one_layer = predict.gpt_layer_activation_bytes(s, b, hidden, heads, bytes_per_value=p, dropout=True)
    if checkpointing:
        return layers * s * b * hidden * p + one_layer
    return layers * one_layer


def training_memory_estimate(
    n_params: int,
    optimizer: str = "adamw",
    precision: str = "mixed",
    batch: int = 1,
    seq_len: int = 2048,
    layers: int = 32,
    hidden: int = 4096,
    heads: int = 32,
    checkpointing: bool = False,
) -> dict[str, int]:
    """Training memory in bytes: ``{"weights", "gradients", "optimizer_state",
    "activations", "total"}``. Model state is ``n_params`` × the bytes per
    parameter of :func:`course_lib.predict.bytes_per_param_breakdown`;
    activations are :func:`activation_bytes`. Lessons 02 and 06.
    """
    n = v.positive_int("n_params", n_params)
    per = predict.bytes_per_param_breakdown(optimizer, precision)
    out = {part: n * per[part] for part in ("weights", "gradients", "optimizer_state")}
    out["activations"] = activation_bytes(
        batch, seq_len, layers, hidden, heads, precision=precision, checkpointing=checkpointing
    )
    out["total"] = sum(out.values())
    return out


def inference_memory_estimate(
    n_params: int,
    precision: str = "mixed",
    batch: int = 1,
    seq_len: int = 2048,
    layers: int = 32,
    hidden: int = 4096,
    heads: int = 32,
    kv_heads: int | None = None,
) -> dict[str, int]:
    """Inference memory in bytes: ``{"weights", "kv_cache", "total"}``.

    Weights are stored once, in 16 bits for every mixed/bf16 setting (4
    bytes for fp32); no gradients, no optimizer state. The KV cache holds
    ``seq_len`` tokens for each of ``batch`` sequences
    (:func:`course_lib.predict.kv_cache_bytes`; ``kv_heads`` defaults to
    ``heads``, fewer with grouped-query attention). Lesson 02.
    """
    n = v.positive_int("n_params", n_params)
    layers, hidden, heads = _shape(layers, hidden, heads)
    kv = heads if kv_heads is None else v.positive_int("kv_heads", kv_heads)
    if heads % kv:
        raise ValueError(f"heads must be a multiple of kv_heads, got heads={heads}, kv_heads={kv}")
    p = activation_value_bytes(precision)
    out = {
        "weights": n * p,
        "kv_cache": predict.kv_cache_bytes(layers, kv, hidden // heads, seq_len, batch, bytes_per_value=p),
    }
    out["total"] = sum(out.values())
    return out


def verdict(total_bytes: int, gpu: str) -> dict:
    """``{"fits", "gpu_bytes", "missing_bytes", "free_bytes"}`` for ``total_bytes`` on ``gpu``
    (a name in :data:`GPUS`). Lesson 02."""
    need = v.integer("total_bytes", total_bytes, minimum=0)
    cap = GPUS[v.choice("gpu", gpu, GPUS)].memory_bytes
    return {"fits": need <= cap, "gpu_bytes": cap, "missing_bytes": max(0, need - cap), "free_bytes": max(0, cap - need)}


def format_bytes(n: int) -> str:
    """``n`` bytes as text with decimal units: ``"512 B"``, ``"1.5 kB"``,
    ``"14 GB"``, ``"30.6 GB"``, ``"143 GB"`` (3 significant digits). Lesson 02."""
    n = v.number("n", n, minimum=0.0)
    for unit, size in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= size * 0.9995:  # so 999.6 MB reads "1 GB", not "1000 MB"
            x = n / size
            return f"{x:.3g} {unit}" if x < 100 else f"{x:.0f} {unit}"
    return f"{int(n)} B"


def will_it_fit(
    model: str = "7B",
    optimizer: str = "adamw",
    precision: str = "mixed",
    batch: int = 1,
    seq_len: int = 2048,
    checkpointing: bool = False,
    gpu: str = "H100 80 GB",
    n_params_b: float = 1.0,
    layers: int = 24,
    hidden: int = 2048,
    heads: int = 16,
    kv_heads: int | None = None,
) -> dict:
    """Training and inference memory of one configuration against a GPU.

    ``model`` is a name in :data:`PRESETS` or ``"custom"``, in which case
    ``n_params_b`` (billions of parameters), ``layers``, ``hidden``,
    ``heads`` (and ``kv_heads``) describe it. Returns ``{"model", "gpu",
    "training", "inference", "training_verdict", "inference_verdict"}``.
    Lesson 02.
    """
    v.choice("model", model, list(PRESETS) + ["custom"])
    if model == "custom":
        n = round(v.positive("n_params_b", n_params_b) * 1e9)
        if n < 1:
            raise ValueError(f"n_params_b must be at least 1e-9 (one parameter), got {n_params_b}")
        shape = {"layers": layers, "hidden": hidden, "heads": heads}
        kv = kv_heads
    else:
        p = PRESETS[model]
        n, shape, kv = p.n_params, {"layers": p.layers, "hidden": p.hidden, "heads": p.heads}, p.kv_heads
    train = training_memory_estimate(n, optimizer, precision, batch, seq_len, checkpointing=checkpointing, **shape)
    infer = inference_memory_estimate(n, precision, batch, seq_len, kv_heads=kv, **shape)
    return {
        "model": model,
        "n_params": n,
        "gpu": gpu,
        "training": train,
        "inference": infer,
        "training_verdict": verdict(train["total"], gpu),
        "inference_verdict": verdict(infer["total"], gpu),
    }


# ---------------------------------------------------------------- texts and tables


def verdict_text(ver: dict) -> str:
    """``"fits (12.3 GB free)"`` or ``"does not fit: 4.5 GB missing"``. Lesson 02."""
    if ver["fits"]:
        return f"fits ({format_bytes(ver['free_bytes'])} free)"
    return f"does not fit: {format_bytes(ver['missing_bytes'])} missing"


def fit_table(result: dict):
    """The stacked-bar data: one row per (phase, component) in GB. Lesson 02."""
    rows = [("training", k.replace("_", " "), result["training"][k] / GB) for k in ("weights", "gradients", "optimizer_state", "activations")]
    rows += [("inference", "weights", result["inference"]["weights"] / GB), ("inference", "KV cache", result["inference"]["kv_cache"] / GB)]
    return pd.DataFrame(rows, columns=["phase", "component", "GB"])
