"""Will it fit? Training and inference memory of a real model on one GPU (lesson 02).

Pure functions over a :class:`course_lib.arch.Architecture` read from a
``config.json`` (a shipped preset, :data:`course_lib.arch.PRESETS`, or a
local file); the calculator is :func:`course_lib.ui.calculators.fit_calculator`.

- :func:`training_estimate`: weights, gradients, optimizer state,
  activations (:meth:`~course_lib.arch.Architecture.activation_bytes`: SDPA /
  FlashAttention or eager attention, logits and loss included), with
  LoRA / QLoRA, plus the runtime overhead as its own line;
- :func:`inference_estimate`: weights and the KV cache (grouped-query
  attention, head_dim and sliding window from the config), plus overhead;
- :func:`largest_batch` and :func:`longest_context`: the largest batch, and
  the longest sequence, whose training step fits;
- :func:`verdict`: fits or not on an accelerator, and how many bytes are missing
  (a :class:`Verdict`);
- :func:`will_it_fit`: all of it for one configuration (a :class:`FitResult`).

Their texts (:func:`course_lib.ui.text.format_bytes`,
:func:`course_lib.ui.text.verdict_text`) live in the ui layer.

What is still left out: allocator fragmentation and temporary buffers (the
peak that lesson 02 measures), and, for inference, the transient
activations. 1 GB = 10⁹ bytes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pandas as pd

from . import _validate as v
from . import arch, hardware, predict

GB = 10**9

RUNTIME_OVERHEAD_BYTES = 1 * GB
"""CUDA context, cuBLAS/cuDNN workspaces and the framework's own buffers. An
ASSUMPTION, not a measurement: 1 GB, the order of magnitude commonly seen
with PyTorch on a data-centre GPU (it varies with the driver, the libraries
loaded and the GPU). Measure yours on a GPU: ``torch.cuda.mem_get_info()``
used bytes minus ``torch.cuda.memory_reserved()`` after the first matmul."""

OVERHEAD_LABEL = "runtime overhead (CUDA context, workspaces): 1 GB, an assumption"

ATTENTION_LABELS = {
    "sdpa": "SDPA / FlashAttention: no s × s scores stored",
    "eager": "eager: softmax scores stored (b · heads · s² per layer)",
}

LORA_LABELS = {
    "none": "full fine-tuning (every weight trains)",
    "lora": "LoRA: 16-bit frozen base, adapters train",
    "qlora": "QLoRA: 4-bit frozen base (+ scales), adapters train",
}

LORA_TARGETS = ("q", "k", "v", "o", "gate", "up", "down")
"""Adapters on every linear layer of each block, as QLoRA does (Dettmers et al. 2023)."""


PRECISION_LABELS = {
    "fp32": "fp32 (everything 4 bytes)",
    "mixed": "mixed: bf16/fp16 + fp32 master and moments (ZeRO)",
    "mixed_fp32_grads": "mixed, gradients also accumulated in fp32",
    "mixed_hf": "mixed, Hugging Face's accounting",
    "bf16": "pure bf16 (no fp32 copy)",
}


MODEL_LABELS = {key: arch.label(arch.preset(key)) for key in arch.PRESETS}
"""Preset key → name with its exact parameter count (the calculator's menu)."""


@v.checked
def activation_value_bytes(precision: v.Choice[predict.ACCOUNTINGS]) -> int:
    """Bytes per activation (and per KV-cache value, and per weight at
    inference): 4 for ``"fp32"``, 2 for every 16-bit setting. Used by :func:`course_lib.fit.inference_estimate`; not
    tied to one lesson."""
    return 4 if precision == "fp32" else 2


@v.checked
def model_architecture(model="llama-3-8b", config_path: str = "") -> arch.Architecture:
    """The :class:`~course_lib.arch.Architecture` to size: ``config_path``
    (a local ``config.json``) when given, else ``model`` as
    :func:`course_lib.arch.resolve` takes it (a preset key of
    :data:`course_lib.arch.PRESETS`, an ``Architecture``, a config). Used by :func:`course_lib.fit.will_it_fit` and
    :func:`course_lib.zero_fit.zero_fit`; not tied to one lesson."""
    if not isinstance(config_path, (str, os.PathLike)):
        raise TypeError(f"config_path must be a path (str), got {type(config_path).__name__}")
    if str(config_path).strip():
        path = str(config_path).strip()
        if not os.path.isfile(path):
            raise ValueError(f"config_path must be the path of a local config.json, got {path!r} (no such file)")
        try:
            return arch.Architecture.from_hf_config(path)
        except (ValueError, TypeError) as err:
            raise v.same_kind(err, f"config_path {path!r}: {err}") from err
    return arch.resolve(model)


@v.checked
def _lora(lora: v.Choice[LORA_LABELS], rank: int):
    rank = v.positive_int("lora_rank", rank, maximum=1 << 20)
    if lora == "none":
        return None
    return arch.LoRA(rank=rank, targets=LORA_TARGETS, base_bits=16 if lora == "lora" else 4)


def _check_arch(a) -> arch.Architecture:
    return v.instance("a", a, arch.Architecture,
                      "a course_lib.arch.Architecture (arch.preset(...) or arch.Architecture.from_hf_config(...))")


@v.checked
def training_estimate(
    a: arch.Architecture,
    optimizer: str = "adamw",
    precision: str = "mixed",
    batch: int = 1,
    seq_len: int = 2048,
    *,
    attention: str = "sdpa",
    checkpointing: bool = False,
    lora: str = "none",
    lora_rank: int = 16,
) -> dict[str, int]:
    """Training memory in bytes: ``{"weights", "gradients", "optimizer_state",
    "activations", "overhead", "total"}`` from
    :meth:`course_lib.arch.Architecture.training_memory` plus
    :data:`RUNTIME_OVERHEAD_BYTES`. ``lora`` is ``"none"``, ``"lora"`` or
    ``"qlora"`` (rank ``lora_rank`` on :data:`LORA_TARGETS`). Lesson 02, section 8.
    """
    _check_arch(a)
    out = a.training_memory(batch=batch, seq_len=seq_len, optimizer=optimizer, precision=precision, attention=attention,
                            checkpointing=checkpointing, lora=_lora(lora, lora_rank))
    out = {k: out[k] for k in ("weights", "gradients", "optimizer_state", "activations")}
    out["overhead"] = RUNTIME_OVERHEAD_BYTES
    out["total"] = sum(out.values())
    return out


@v.checked
def inference_estimate(a: arch.Architecture, precision: str = "mixed", batch: int = 1, seq_len: int = 2048,
                       *, lora: str = "none") -> dict[str, int]:
    """Inference memory in bytes: ``{"weights", "kv_cache", "overhead", "total"}``.

    Weights once, in 16 bits for every mixed/bf16 setting (4 bytes for
    fp32; QLoRA's 4-bit base with ``lora="qlora"``); the KV cache of
    ``batch`` sequences of ``seq_len`` tokens
    (:meth:`~course_lib.arch.Architecture.kv_cache_bytes`). Used by :func:`course_lib.fit.will_it_fit`; not tied to
    one lesson.
    """
    _check_arch(a)
    p = activation_value_bytes(precision)
    q = _lora(lora, 16)
    weights = a.n_params * p if q is None or q.base_bits == 16 else q.base_bytes(a)
    out = {"weights": weights, "kv_cache": a.kv_cache_bytes(seq_len=seq_len, batch=batch, bytes_per_value=p),
           "overhead": RUNTIME_OVERHEAD_BYTES}
    out["total"] = sum(out.values())
    return out


def _largest(fits, limit: int) -> int | None:
    """The largest n in 1..limit with fits(n) true (fits is monotone), or None."""
    if not fits(1):
        return None
    lo = 1
    while lo * 2 <= limit and fits(lo * 2):
        lo *= 2
    hi = min(lo * 2, limit + 1)  # fits(lo) true, fits(hi) false (or past the limit)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo


@v.checked
def largest_batch(a: arch.Architecture, accelerator: v.Choice[hardware.ACCELERATORS], seq_len: v.PositiveInt, *, limit: v.Size(1 << 40) = 1 << 20, **training) -> int | None:
    """The largest batch of ``seq_len``-token sequences whose training
    estimate fits ``accelerator`` (up to ``limit``), or None if one sequence does
    not fit. ``training``: the keywords of :func:`training_estimate`. Lesson 02, section 8."""
    _check_arch(a)
    cap = hardware.ACCELERATORS[accelerator].memory_bytes
    training_estimate(a, batch=1, seq_len=seq_len, **training)  # names a bad keyword before the search
    return _largest(lambda b: training_estimate(a, batch=b, seq_len=seq_len, **training)["total"] <= cap, limit)


@v.checked
def longest_context(a: arch.Architecture, accelerator: v.Choice[hardware.ACCELERATORS], batch: v.PositiveInt, *, limit: v.Size(1 << 40) = 1 << 22, **training) -> int | None:
    """The longest sequence (tokens) whose training step at ``batch`` fits
    ``accelerator`` (up to ``limit``), or None if one token does not. Used by :func:`course_lib.fit.will_it_fit` and
    :func:`course_lib.zero_fit.zero_fit`; not tied to one lesson."""
    _check_arch(a)
    cap = hardware.ACCELERATORS[accelerator].memory_bytes
    training_estimate(a, batch=batch, seq_len=1, **training)  # names a bad keyword before the search
    return _largest(lambda s: training_estimate(a, batch=batch, seq_len=s, **training)["total"] <= cap, limit)


@dataclass(frozen=True)
class Verdict:
    """Whether ``total_bytes`` fit an accelerator's ``memory_bytes``, and by how
    much: ``missing_bytes`` (0 when it fits) and ``free_bytes`` (0 when it does
    not). Made by :func:`course_lib.fit.verdict`; not tied to one lesson."""

    fits: bool
    memory_bytes: int
    missing_bytes: int
    free_bytes: int


@v.checked
def verdict(total_bytes: v.NonNegativeInt, accelerator: v.Choice[hardware.ACCELERATORS]) -> Verdict:
    """The :class:`Verdict` for ``total_bytes`` on ``accelerator``
    (a name in :data:`course_lib.hardware.ACCELERATORS`). Used by
    :func:`will_it_fit` and :func:`course_lib.zero_fit.zero_fit`; not tied to one lesson."""
    need = total_bytes
    cap = hardware.ACCELERATORS[accelerator].memory_bytes
    return Verdict(fits=need <= cap, memory_bytes=cap, missing_bytes=max(0, need - cap), free_bytes=max(0, cap - need))


@dataclass(frozen=True)
class FitResult:
    """One configuration against one accelerator, from :func:`course_lib.fit.will_it_fit`:
    ``model`` (name with parameter counts), ``n_params``, ``n_active_params``,
    ``accelerator``, ``training`` and ``inference`` (``{part: bytes}`` with
    ``"total"``), their :class:`Verdict` s, ``largest_batch`` (at this sequence
    length) and ``longest_context`` (at this batch), None when even 1 does not
    fit. Made by :func:`course_lib.fit.will_it_fit`; not tied to one lesson."""

    model: str
    n_params: int
    n_active_params: int
    accelerator: str
    training: dict
    inference: dict
    training_verdict: Verdict
    inference_verdict: Verdict
    largest_batch: int | None
    longest_context: int | None


@v.checked
def will_it_fit(
    model="llama-3-8b",
    optimizer: str = "adamw",
    precision: str = "mixed",
    batch: int = 1,
    seq_len: int = 2048,
    checkpointing: v.Bool = False,
    accelerator: v.Choice[hardware.ACCELERATORS] = "H100 SXM",
    attention: str = "sdpa",
    lora: str = "none",
    lora_rank: int = 16,
    config_path: str = "",
) -> FitResult:
    """Training and inference memory of one configuration against an
    accelerator (a name in :data:`course_lib.hardware.ACCELERATORS`).

    ``model``: a preset key (:data:`course_lib.arch.PRESETS`) or an
    :class:`~course_lib.arch.Architecture`; a non-empty ``config_path`` (a
    local ``config.json``) takes precedence. Returns a :class:`FitResult`. Lesson 02, section 8.
    """
    a = model_architecture(model, config_path)
    training = dict(optimizer=optimizer, precision=precision, attention=attention, checkpointing=checkpointing,
                    lora=lora, lora_rank=lora_rank)
    train = training_estimate(a, batch=batch, seq_len=seq_len, **training)
    infer = inference_estimate(a, precision, batch, seq_len, lora=lora)
    return FitResult(
        model=arch.label(a),
        n_params=a.n_params,
        n_active_params=a.n_active_params,
        accelerator=accelerator,
        training=train,
        inference=infer,
        training_verdict=verdict(train["total"], accelerator),
        inference_verdict=verdict(infer["total"], accelerator),
        largest_batch=largest_batch(a, accelerator, seq_len, **training),
        longest_context=longest_context(a, accelerator, batch, **training),
    )


# ---------------------------------------------------------------- tables


@v.checked
def fit_table(result: v.Instance(FitResult, "a FitResult from will_it_fit")):
    """The stacked-bar data: one row per (phase, component) in GB. Used by
    :func:`course_lib.ui.calculators.fit_result_chart`; not tied to one lesson."""
    t, i = result.training, result.inference
    rows = [("training", k.replace("_", " "), t[k] / GB)
            for k in ("weights", "gradients", "optimizer_state", "activations", "overhead")]
    rows += [("inference", "weights", i["weights"] / GB), ("inference", "KV cache", i["kv_cache"] / GB),
             ("inference", "overhead", i["overhead"] / GB)]
    return pd.DataFrame(rows, columns=["phase", "component", "GB"])
