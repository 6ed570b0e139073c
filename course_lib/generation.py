"""Generation: a prefill, then one decode step per output token (lesson 07).

A request to a generative model runs its prompt through the model once
(**prefill**: many tokens per weight read, compute-bound for long prompts)
and then produces one token per **decode** step (each step reads every
weight and the whole key/value cache to make one token per sequence:
memory-bound at small batch). This module holds the arithmetic of both and
the helpers that measure them on :class:`course_lib.models.TinyGPT`:

- the model through :func:`course_lib.arch.resolve` (an Architecture, a
  preset key, a config dict or path, or a TinyGPT): KV bytes from
  :meth:`~course_lib.arch.Architecture.kv_cache_bytes` only, matmul
  parameters from :attr:`~course_lib.arch.Architecture.matmul_params`;
- FLOPs (:func:`forward_flops`, :func:`decode_flops`), bytes
  (:func:`decode_bytes`), arithmetic intensity (:func:`prefill_intensity`,
  :func:`decode_intensity`);
- time bounds on a device: :func:`decode_lower_bound` (parameter bytes +
  batch × KV bytes) / bandwidth (Austin et al., *How to Scale Your Model*,
  2025, inference chapter), :func:`prefill_time_bound`,
  :func:`decode_step_bound`, :func:`decode_compute_bound_batch`,
  :func:`request_latency`, :func:`max_batch_that_fits`, and
  :func:`estimate`, the calculator's pure core;
- measurements: :class:`DecodeStep`, :func:`time_prefill`,
  :func:`time_decode_step`, :func:`time_generate`.

No charts or widgets here: the charts are in :mod:`course_lib.ui.charts` and
the calculator over :func:`estimate` in :mod:`course_lib.ui.calculators`.
:func:`estimate` serves a model from a tensor-parallel group of GPUs with
separate weight, KV-cache and compute formats, and sets its bounds against
what published servers reach (:mod:`course_lib.published`).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import nn

from . import _validate as v
from . import arch, hardware, published
from .measure import time_it

GB = 10**9

# ---------------------------------------------------------------- the model


def _arch(model, argument: str = "model") -> arch.Architecture:
    """Every function here takes ``model`` through :func:`course_lib.arch.resolve`."""
    return arch.resolve(model, argument=argument)


def _attended(a: arch.Architecture, kv_len):
    """Keys one query attends to, summed over the layers, at ``kv_len`` cached
    positions (a sliding-window layer sees at most its window). Works on
    numpy arrays of lengths too."""
    full = a.n_layers - a.sliding_layers
    window = np.minimum(kv_len, a.sliding_window) if a.sliding_window else kv_len
    return full * kv_len + a.sliding_layers * window


def _causal_pairs(a: arch.Architecture, n: int) -> int:
    """(query, key) pairs of a causal prefill of ``n`` tokens, summed over the
    layers: n(n+1)/2 per full layer, fewer in a sliding-window layer."""
    full = (a.n_layers - a.sliding_layers) * n * (n + 1) // 2
    w = a.sliding_window or n
    per_sliding = n * (n + 1) // 2 if n <= w else w * (w + 1) // 2 + (n - w) * w
    return full + a.sliding_layers * per_sliding


def _weights_read(a: arch.Architecture) -> int:
    """Parameters a decode step must read at least: the ones a token uses
    (:attr:`~course_lib.arch.Architecture.n_active_params`) less the looked-up
    tables (:attr:`~course_lib.arch.Architecture.lookup_params`), of which a
    step reads only a row per token."""
    return a.n_active_params - a.lookup_params


# ---------------------------------------------------------------- FLOPs and bytes


@v.checked
def kv_bytes(model, seq_len: v.PositiveInt, batch: v.PositiveInt = 1, bytes_per_value: v.Positive = 2) -> int:
    """Bytes of the KV cache of ``batch`` sequences of ``seq_len`` positions:
    :meth:`course_lib.arch.Architecture.kv_cache_bytes`, the library's one
    count of KV bytes. Lesson 07, section 2."""
    return _arch(model).kv_cache_bytes(seq_len=seq_len, batch=batch, bytes_per_value=bytes_per_value)


@v.checked
def attention_flops(model, q_len: v.PositiveInt, kv_len: v.PositiveInt, batch: v.PositiveInt = 1) -> int:
    """FLOPs of attention's two matmuls, scores Q·Kᵀ and weights·V, for
    ``q_len`` queries against ``kv_len`` keys: 2 × 2 · q_len · kv_len ·
    d_attn per layer. Not tied to one lesson; (The full score matrix, as TinyGPT and a plain implementation compute
    it."""
    a = _arch(model)
    return batch * a.n_layers * 4 * q_len * kv_len * a.q_size


@v.checked
def forward_flops(model, seq_len: v.PositiveInt, batch: v.PositiveInt = 1) -> int:
    """FLOPs of a forward pass over ``seq_len`` tokens with no cache (a
    prefill, or one decode step *without* the cache, which re-runs the whole
    prefix): :meth:`course_lib.arch.Architecture.forward_flops`, i.e. batch ·
    (2 · matmul_params · seq_len + attention over the full seq_len² score
    matrix), as ``FlopCounterMode`` counts them. Lesson 07, section 3."""
    return _arch(model).forward_flops(batch=batch, seq_len=seq_len)


@v.checked
def decode_flops(model, past: v.NonNegativeInt, batch: v.PositiveInt = 1) -> int:
    """FLOPs of one decode step *with* the cache, after ``past`` cached
    positions: each sequence's new token costs 2 · matmul_params plus
    attention over past + 1 keys (a sliding-window layer over at most its
    window). Lesson 07, section 3."""
    a = _arch(model)
    return batch * (2 * a.matmul_params + 4 * a.q_size * int(_attended(a, past + 1)))


@v.checked
def decode_bytes(model, past: v.NonNegativeInt, batch: v.PositiveInt = 1, bytes_per_value: v.Positive = 2) -> int:
    """Bytes one decode step must read at least: every weight a token uses
    once (not the input embedding table, of which a step reads one row per
    token; an MoE's active experts only) plus each sequence's KV cache
    (past + 1 positions, the new one included). *How to Scale Your Model*
    counts every parameter; the difference is the embedding table (6.5 % of
    Llama-3-8B's bytes). Lesson 09."""
    a = _arch(model)
    return math.ceil(_weights_read(a) * bytes_per_value) + kv_bytes(a, past + 1, batch, bytes_per_value)


@v.checked
def prefill_intensity(model, prompt_len: v.PositiveInt, batch: v.PositiveInt = 1, bytes_per_value: v.Positive = 2) -> float:
    """FLOPs per byte of a prefill: :func:`forward_flops` over (the weights
    read + the KV cache it writes). Grows with batch × prompt. Lesson 07, section 3."""
    a = _arch(model)
    moved = _weights_read(a) * bytes_per_value + kv_bytes(a, prompt_len, batch, bytes_per_value)
    return forward_flops(a, prompt_len, batch) / moved


@v.checked
def decode_intensity(model, past: v.NonNegativeInt, batch: v.PositiveInt = 1, bytes_per_value: v.Positive = 2) -> float:
    """FLOPs per byte of a decode step: :func:`decode_flops` /
    :func:`decode_bytes`. About batch × 2 / bytes_per_value while weights
    dominate the bytes, and never above the attention's own ~2 / bytes when
    the KV cache does. Lesson 07, section 3."""
    a = _arch(model)
    return decode_flops(a, past, batch) / decode_bytes(a, past, batch, bytes_per_value)


# ---------------------------------------------------------------- time on a device


def _device(accelerator) -> tuple[float, float, str]:
    """``(peak FLOP/s, bandwidth bytes/s, name)`` from an Accelerator name,
    an Accelerator or a MeasuredMachine, paired with a dtype: (accelerator, dtype)."""
    dtype = "bf16"
    if isinstance(accelerator, tuple) and len(accelerator) == 2:
        accelerator, dtype = accelerator
    if isinstance(accelerator, str):
        accelerator = hardware.accelerator(accelerator)
    if isinstance(accelerator, hardware.MeasuredMachine) and dtype not in hardware.MEASURED_DTYPES:
        dtype = "fp32"
    if not isinstance(accelerator, (hardware.Accelerator, hardware.MeasuredMachine)):
        raise TypeError("accelerator must be an accelerator name, an Accelerator or a MeasuredMachine, "
                        f"got {type(accelerator).__name__}")
    return accelerator.peak_flops(dtype), accelerator.bandwidth, accelerator.name


@v.checked
def decode_lower_bound(param_bytes: v.Positive, kv_bytes_per_seq: v.NonNegative, batch: v.PositiveInt,
                       bandwidth: v.Positive) -> float:
    """Seconds one decode step takes at least when it is memory-bound:
    (parameter bytes + batch × KV bytes per sequence) / bandwidth (bytes/s)
    (Austin et al., *How to Scale Your Model*, 2025, inference chapter).
    Lesson 07, section 4."""
    return (param_bytes + batch * kv_bytes_per_seq) / bandwidth


@v.checked
def decode_step_bound(model, accelerator, past: v.NonNegativeInt, batch: v.PositiveInt = 1,
                      bytes_per_value: v.Positive = 2) -> float:
    """Roofline bound on one decode step: max(bytes / bandwidth, FLOPs / peak)
    with :func:`decode_bytes` and :func:`decode_flops`. ``accelerator`` is an
    accelerator name or object (or a measured machine), or an (accelerator, dtype) pair. Lesson 07, section 4."""
    peak, bw, _ = _device(accelerator)
    a = _arch(model)
    return max(decode_bytes(a, past, batch, bytes_per_value) / bw, decode_flops(a, past, batch) / peak)


@v.checked
def prefill_time_bound(model, accelerator, prompt_len: v.PositiveInt, batch: v.PositiveInt = 1,
                       bytes_per_value: v.Positive = 2) -> float:
    """Roofline bound on a prefill (the time to first token): max(FLOPs /
    peak, bytes / bandwidth), FLOPs those a causal kernel cannot skip
    (2 · matmul_params per token and each query against the keys before
    it), bytes the weights read plus the KV cache written. ``accelerator`` as
    in :func:`decode_step_bound`. Lesson 07, section 4."""
    peak, bw, _ = _device(accelerator)
    a = _arch(model)
    moved = _weights_read(a) * bytes_per_value + kv_bytes(a, prompt_len, batch, bytes_per_value)
    return max(_prefill_flops(a, prompt_len, batch) / peak, moved / bw)


def _prefill_flops(a: arch.Architecture, prompt_len: int, batch: int) -> int:
    """FLOPs a causal prefill cannot avoid: 2 · matmul_params per token plus
    4 · q_size per (query, key) pair a causal kernel computes."""
    return batch * (2 * a.matmul_params * prompt_len + 4 * a.q_size * _causal_pairs(a, prompt_len))


@v.checked
def decode_compute_bound_batch(model, accelerator, past: v.NonNegativeInt, bytes_per_value: v.Positive = 2) -> int | None:
    """Smallest batch at which a decode step after ``past`` positions turns
    compute-bound: batch · F / peak >= (W + batch · K) / bandwidth, with F
    the FLOPs and K the KV bytes per sequence and W the weight bytes read.
    ``None`` when no batch gets there (each sequence's KV reads cost more
    time than its FLOPs). ``accelerator`` as in :func:`decode_step_bound`. Lesson 07, section 4."""
    peak, bw, _ = _device(accelerator)
    a = _arch(model)
    p = bytes_per_value
    f, k, w = decode_flops(a, past, 1), kv_bytes(a, past + 1, 1, p), _weights_read(a) * p
    gain = f / peak - k / bw
    if gain <= 0:
        return None
    b = max(1, math.ceil(w / bw / gain))
    for _ in range(16):  # float rounding at the boundary: a few steps at most
        if b > 1 and (b - 1) * f / peak >= (w + (b - 1) * k) / bw:
            b -= 1
    for _ in range(16):
        if b * f / peak < (w + b * k) / bw:
            b += 1
    if b * f / peak < (w + b * k) / bw:
        raise ValueError(f"decode_compute_bound_batch cannot be resolved in floating point for past={past}, "
                         f"bytes_per_value={p:g} on this device (the times underflow or overflow)")
    return b


@v.checked
def request_latency(ttft: v.NonNegative, tpot: v.NonNegative, n_output: v.PositiveInt) -> float:
    """Seconds from request to last token: TTFT + (n_output − 1) × TPOT. The
    prefill yields the first output token; each of the others costs one
    decode step (≈ TTFT + n × TPOT for long outputs). Lesson 07, section 5."""
    return ttft + (n_output - 1) * tpot


@v.checked
def max_batch_that_fits(memory_bytes: v.Positive, param_bytes: v.Positive, kv_bytes_per_seq: v.Positive) -> int:
    """Most sequences whose KV caches fit beside the weights:
    floor((memory − parameter bytes) / KV bytes per sequence), 0 when the
    weights alone do not fit. Activations and runtime buffers are left out.
    Used by :func:`course_lib.generation.estimate`; not tied to one lesson."""
    return max(0, math.floor((memory_bytes - param_bytes) / kv_bytes_per_seq))


# ---------------------------------------------------------------- number formats

MAX_CONTEXT = 10_000_000
"""Most tokens (prompt + output) :func:`estimate` sizes: a guard against typing errors, not a claim about models."""
MAX_BATCH = 1 << 20
"""Most sequences :func:`estimate` sizes at once."""
MAX_GPUS = 1024
"""Most GPUs in one tensor-parallel group :func:`estimate` sizes."""

GROUP_SIZE = 128
"""Weights (or cached values) per 16-bit scale in the int4 formats: the group size AWQ (Lin et al. 2023) and GPTQ
(Frantar et al. 2022) use by default. A zero point, where a kernel stores one, adds 4 bits per group: not counted."""

WEIGHT_FORMATS = {"bf16": 16, "fp16": 16, "fp8": 8, "int8": 8, "int4": 4}
"""Bits per weight of each weight format (before int4's group-wise scales). The projections of every layer are
stored in the format; embeddings, LM head, norms and biases stay in 16 bits, as AWQ, GPTQ and fp8 checkpoints keep them."""
KV_FORMATS = {"bf16": 16, "fp8": 8, "int8": 8, "int4": 4}
"""Bits per cached key or value of each KV-cache format (before int4's group-wise scales)."""
COMPUTE_FORMATS = ("bf16", "fp8", "int8")
"""Formats a matmul can compute in: the peak :func:`estimate` uses."""
ALL_FORMATS = tuple({**WEIGHT_FORMATS, **KV_FORMATS})
"""Every weight or KV-cache format (:func:`format_bytes` sizes any of them)."""


@v.checked
def format_bytes(fmt: v.Choice[ALL_FORMATS]) -> float:
    """Bytes per value of a weight or KV format, group-wise scales included:
    bits / 8, plus one 16-bit scale per :data:`GROUP_SIZE` values for int4
    (0.515625 bytes). Used by :func:`course_lib.generation.estimate` and :func:`course_lib.generation.weight_bytes`;
    not tied to one lesson."""
    bits = {**WEIGHT_FORMATS, **KV_FORMATS}[fmt]
    return bits / 8 + (2 / GROUP_SIZE if bits == 4 else 0.0)


def _layer_linear(a: arch.Architecture, experts: float) -> float:
    """Weights of the layers' matmuls (projections, routers, shared experts, dense layers; no norms or biases)
    with ``experts`` routed experts in each mixture-of-experts layer: :attr:`Architecture.matmul_params`
    (which counts ``experts_per_token``) less the LM head, plus or minus whole experts."""
    sparse_layers = a.n_layers - a.dense_layers if a.n_experts > 1 else 0
    per_expert = (2 if a.ffn_kind == "mlp" else 3) * a.hidden_size * (a.expert_ffn_size or a.ffn_size) * sparse_layers
    return a.matmul_params - a.vocab_size * a.hidden_size + (experts - a.experts_per_token) * per_expert


@v.checked
def weight_bytes(model, weight_format: v.Choice[WEIGHT_FORMATS] = "bf16", *, read: bool = False) -> int:
    """Bytes of the weights in ``weight_format`` (:data:`WEIGHT_FORMATS`):
    the layers' projections in the format, everything else in 16 bits.
    With ``read=True``, the bytes a decode step reads at least: the active
    experts only and no looked-up table (:func:`decode_bytes`). Lesson 07, section 4."""
    a = _arch(model)
    if read:
        return math.ceil(_read_bytes(a, weight_format, a.experts_per_token))
    stored = _layer_linear(a, a.n_experts)
    return math.ceil(stored * format_bytes(weight_format) + (a.n_params - stored) * 2)


def _read_bytes(a: arch.Architecture, weight_format: str, experts: float) -> float:
    """Weight bytes read by a pass that touches ``experts`` experts per layer (no looked-up table)."""
    rest = a.n_params - _layer_linear(a, a.n_experts) - a.lookup_params
    return _layer_linear(a, experts) * format_bytes(weight_format) + rest * 2


@v.checked
def experts_touched(model, tokens: v.PositiveInt) -> float:
    """Experts per layer that ``tokens`` tokens route to, on average, when
    each picks ``experts_per_token`` of ``n_experts`` uniformly:
    E · (1 − (1 − k/E)^tokens); 1 for a dense model. A decode step of a
    batch of MoE sequences reads this many experts' weights, not k.
    Not tied to one lesson."""
    a = _arch(model)
    e, k = a.n_experts, a.experts_per_token
    return e * (1 - (1 - k / e) ** tokens)


@v.checked
def compute_format(weight_format: v.Choice[WEIGHT_FORMATS], accelerator,
                   compute: v.Choice[COMPUTE_FORMATS] | None = None) -> str:
    """The format the matmuls compute in, whose peak bounds the compute time.
    ``compute=None`` picks what serving stacks run by default: bf16/fp16
    weights compute in bf16; fp8 weights in fp8 (W8A8) where the part has
    fp8 tensor cores, else weight-only in bf16 (e.g. Marlin kernels on an
    A100); int8 and int4 weights are weight-only (W8A16 / W4A16: LLM.int8(),
    AWQ and GPTQ kernels dequantize to 16 bits), unless you pass
    ``compute="int8"`` for a W8A8 kernel (SmoothQuant, Xiao et al. 2023).
    Used by :func:`course_lib.generation.estimate` and :func:`course_lib.generation.published_bound`; not tied to one
    lesson."""
    acc = hardware.resolve(accelerator)
    if compute is None:
        return "fp8" if weight_format == "fp8" and acc.fp8_tflops is not None else "bf16"
    if compute != "bf16" and WEIGHT_FORMATS[weight_format] != 8:
        raise ValueError(f"compute={compute!r} needs 8-bit weights (W8A8), got weight_format={weight_format!r}")
    acc.peak_flops(compute)  # raises when the part has no such tensor cores
    return compute


# ---------------------------------------------------------------- the calculator's core


@dataclass(frozen=True)
class GenerationEstimate:
    """One deployment, from :func:`estimate` (seconds, bytes per GPU).

    ``ttft`` / ``tpot`` are roofline lower bounds for the tensor-parallel
    group; ``ttft_expected`` / ``tpot_expected`` divide them by the
    efficiencies that published measurements reach (:func:`efficiency`). Used by
    :func:`course_lib.generation.estimate` and :func:`course_lib.ui.calculators.estimate_chart`; not tied to one
    lesson."""

    model: str
    accelerator: str
    n_gpus: int
    weight_format: str
    kv_format: str
    compute_format: str
    batch: int
    prompt_len: int
    output_len: int
    weight_bytes: int
    kv_bytes: int
    memory_bytes: int
    ttft: float
    tpot: float
    allreduce_per_token: float
    ttft_expected: float
    tpot_expected: float
    latency: float
    latency_expected: float
    max_batch: int
    max_context: int
    prefill_bound: str
    decode_bound: str
    architecture: arch.Architecture = field(default=None, repr=False, compare=False)

    @property
    def fits(self) -> bool:
        """Weights plus the batch's KV cache within each GPU's memory. Lesson 07, section 4."""
        return self.weight_bytes + self.kv_bytes <= self.memory_bytes

    @property
    def decode_tokens_per_s(self) -> float:
        """Output tokens per second while decoding: batch / TPOT (a bound). Used by
        :func:`course_lib.generation.batch_sweep`; not tied to one lesson."""
        return self.batch / self.tpot

    @property
    def tokens_per_s(self) -> float:
        """Tokens processed per second over the whole request, prompt included:
        batch × (prompt + output) / latency (a bound). Used by :func:`course_lib.reasoning.batch_table`; not tied to
        one lesson."""
        return self.batch * (self.prompt_len + self.output_len) / self.latency

    @property
    def output_tokens_per_s(self) -> float:
        """Output tokens per second over the whole request, the prefill's time
        included: batch × output / latency (a bound). Used by :func:`course_lib.ui.calculators.render_estimate`; not
        tied to one lesson."""
        return self.batch * self.output_len / self.latency

    @property
    def output_tokens_per_s_expected(self) -> float:
        """:attr:`output_tokens_per_s` at the expected latency. Used by
        :func:`course_lib.ui.calculators.render_estimate`; not tied to one lesson."""
        return self.batch * self.output_len / self.latency_expected


def _allreduce_seconds(nbytes: float, n_gpus: int, acc: hardware.Accelerator) -> float:
    """A ring all-reduce of ``nbytes`` over ``n_gpus``: each GPU sends (and
    receives) 2 (n − 1) / n × nbytes over its link (Patarasuk & Yuan 2009,
    bandwidth-optimal all-reduce); latency per message not counted."""
    if n_gpus == 1:
        return 0.0
    return 2 * (n_gpus - 1) / n_gpus * nbytes / acc.link_bandwidth


def _max_context(a, memory: float, weights: float, batch: int, kv_p: float, kv_share: float) -> int:
    """Longest context (tokens per sequence) whose KV cache fits beside the weights, up to MAX_CONTEXT."""
    def fits(s):
        return weights + kv_share * a.kv_cache_bytes(seq_len=s, batch=batch, bytes_per_value=kv_p) <= memory
    if not fits(1):
        return 0
    if fits(MAX_CONTEXT):
        return MAX_CONTEXT
    lo, hi = 1, MAX_CONTEXT
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo


@v.checked
def estimate(model, *, accelerator="H100 SXM", n_gpus: v.Size(MAX_GPUS) = 1,
             weight_format: v.Choice[WEIGHT_FORMATS] = "bf16", kv_format: v.Choice[KV_FORMATS] | None = None,
             batch: v.Size(MAX_BATCH) = 1, prompt_len: v.Size(MAX_CONTEXT), output_len: v.Size(MAX_CONTEXT),
             compute: v.Choice[COMPUTE_FORMATS] | None = None) -> GenerationEstimate:
    """A deployment of ``model`` (anything :func:`course_lib.arch.resolve`
    takes: an Architecture, a preset key, a config dict or path) on
    ``n_gpus`` ``accelerator`` s (a name in
    :data:`course_lib.hardware.ACCELERATORS` or your own
    :class:`~course_lib.hardware.Accelerator`) with tensor parallelism.

    Tensor parallelism (Shoeybi et al. 2019, *Megatron-LM*) splits every
    layer's weights and the KV heads over the group (KV heads are
    replicated when there are fewer of them than GPUs), so bandwidth and
    compute add up; after each layer's attention and MLP the partial
    outputs are summed by an all-reduce of (tokens × hidden) bf16 values
    over the interconnect. That all-reduce is counted in full, never
    overlapped with the matmuls it sits between (the next layer needs its
    result); weight and KV reads may stream while it runs:
    step ≥ max(bytes / bandwidth, FLOPs / peak + all-reduce).

    ``weight_format`` and ``kv_format`` (default: the weights', or bf16
    for int4 weights) are separate (:data:`WEIGHT_FORMATS`,
    :data:`KV_FORMATS`, int4 with group-wise scales); the compute peak
    follows :func:`compute_format` (``compute``: W8A8 vs weight-only).

    ``ttft`` / ``tpot`` (mean over the decode steps) are lower bounds;
    ``ttft_expected`` / ``tpot_expected`` divide them by the median
    efficiency of the published measurements (:func:`efficiency`). ``max_batch`` and ``max_context`` count
    every GPU in the group (weights and KV per GPU against its memory;
    activations and runtime buffers left out). Lesson 07, sections 4 and 6.
    """
    a = _arch(model)
    acc = hardware.resolve(accelerator)
    t, b, T, n = n_gpus, batch, prompt_len, output_len
    kvf = kv_format if kv_format is not None else ("bf16" if weight_format in ("int4", "fp16") else weight_format)
    cf = compute_format(weight_format, acc, compute)
    if T + n > MAX_CONTEXT:
        raise ValueError(f"prompt_len + output_len must be at most {MAX_CONTEXT:,} tokens, got {T + n:,}")
    ttft, tpot, ttft_r, tpot_r, ar_decode, pf_side, dec_side = _bounds(a, acc, t, weight_format, kvf, cf, b, T, n)
    eff = efficiency()
    ttft_x, tpot_x = ttft_r / eff["prefill"], tpot_r / eff["decode"]
    kv_p = format_bytes(kvf)
    kv_share = max(1 / t, 1 / a.n_kv_heads) * t
    stored = weight_bytes(a, weight_format)
    per_gpu_weights = stored / t
    per_gpu_kv = kv_share / t * kv_bytes(a, T + n, b, kv_p)
    per_seq = kv_share / t * kv_bytes(a, T + n, 1, kv_p)
    mem = acc.memory_bytes
    return GenerationEstimate(
        model=a.name, accelerator=acc.name, n_gpus=t, weight_format=weight_format, kv_format=kvf, compute_format=cf,
        batch=b, prompt_len=T, output_len=n, weight_bytes=math.ceil(per_gpu_weights), kv_bytes=math.ceil(per_gpu_kv),
        memory_bytes=mem, ttft=ttft, tpot=tpot, allreduce_per_token=ar_decode, ttft_expected=ttft_x, tpot_expected=tpot_x,
        latency=request_latency(ttft, tpot, n), latency_expected=request_latency(ttft_x, tpot_x, n),
        max_batch=max_batch_that_fits(mem, per_gpu_weights, per_seq),
        max_context=_max_context(a, mem, per_gpu_weights, b, kv_p, kv_share / t),
        prefill_bound=pf_side, decode_bound=dec_side, architecture=a,
    )


def _bounds(a, acc, t: int, weight_format: str, kvf: str, cf: str, b: int, T: int, n: int):
    """(ttft, tpot, all-reduce seconds per decode step, prefill side, decode side): :func:`estimate`'s bounds."""
    peak, bw = acc.peak_flops(cf) * t, acc.bandwidth * t
    kv_p = format_bytes(kvf)
    kv_share = max(1 / t, 1 / a.n_kv_heads) * t  # each GPU's share of the KV cache, times t (heads replicated past n_kv_heads)
    read = weight_bytes(a, weight_format, read=True)
    act = 2 * a.hidden_size  # bf16 activations per token, all-reduced twice per layer

    # prefill: one pass over the prompt
    ar_prefill = 2 * a.n_layers * _allreduce_seconds(b * T * act, t, acc)
    pf_compute = _prefill_flops(a, T, b) / peak
    pf_memory = (read + kv_share * kv_bytes(a, T, b, kv_p)) / bw
    ttft = max(pf_memory, pf_compute + ar_prefill)
    routed = (_read_bytes(a, weight_format, experts_touched(a, b * T)) - read) / bw  # an MoE's other experts
    ttft_routed = max(pf_memory + routed, pf_compute + ar_prefill)

    # decode: step i runs after T + i cached positions (vectorised)
    pasts = np.arange(T, T + max(n - 1, 1), dtype=np.float64)
    kv_per_step = 2 * a.kv_size * _attended(a, pasts + 1) * kv_p * b
    memory_time = (read + kv_share * kv_per_step) / bw
    compute_time = b * (2 * a.matmul_params + 4 * a.q_size * _attended(a, pasts + 1)) / peak
    ar_decode = 2 * a.n_layers * _allreduce_seconds(b * act, t, acc)
    tpot = float(np.maximum(memory_time, compute_time + ar_decode).mean())
    routed = (_read_bytes(a, weight_format, experts_touched(a, b)) - read) / bw
    tpot_routed = float(np.maximum(memory_time + routed, compute_time + ar_decode).mean())
    return (ttft, tpot, ttft_routed, tpot_routed, ar_decode,
            "compute" if pf_compute + ar_prefill >= pf_memory else "memory",
            "compute" if compute_time[-1] + ar_decode >= memory_time[-1] else "memory")


@v.checked
def published_bound(m: v.Instance(published.ServingMeasurement, "a course_lib.published.ServingMeasurement"), *,
                    routed: bool = False) -> float:
    """The roofline bound, in seconds, on what ``m`` measured (its TTFT, its
    TPOT or its whole request): :func:`estimate`'s bounds for the same
    model, accelerators, formats, batch and lengths. ``routed=True``: an
    MoE reads the experts its tokens route to on average
    (:func:`experts_touched`), the base of the expected figures, no longer
    a strict bound. Used by :func:`course_lib.validation.table`; not tied to one lesson."""
    a, acc = _arch(m.model), hardware.resolve(m.accelerator)
    kvf = m.kv_format or ("bf16" if m.weight_format in ("int4", "fp16") else m.weight_format)
    cf = compute_format(m.weight_format, acc)
    ttft, tpot, ttft_r, tpot_r, *_ = _bounds(a, acc, m.n_gpus, m.weight_format, kvf, cf, m.batch, m.prompt_len,
                                             m.output_len)
    if routed:
        ttft, tpot = ttft_r, tpot_r
    return {"ttft": ttft, "tpot": tpot, "latency": request_latency(ttft, tpot, m.output_len)}[m.metric]


def efficiency() -> dict[str, float]:
    """The fraction of the roofline bound published servers reach: the median
    of bound ÷ measured over :data:`course_lib.published.SERVING`, for the
    prefill (TTFT rows) and for decode (TPOT rows and whole requests, which
    short prompts leave decode-dominated). :func:`estimate` divides its
    bounds by these. Lesson 07, section 7."""
    return dict(_efficiency())


@functools.cache
def _efficiency() -> tuple:
    ratios = {"prefill": [], "decode": []}
    for m in published.SERVING.values():
        ratios["prefill" if m.metric == "ttft" else "decode"].append(published_bound(m, routed=True) / m.seconds)
    return tuple((k, float(np.median(r))) for k, r in ratios.items())


@v.checked
def batch_sweep(model, *, accelerator="H100 SXM", n_gpus: v.Size(MAX_GPUS) = 1,
                weight_format: v.Choice[WEIGHT_FORMATS] = "bf16", kv_format: v.Choice[KV_FORMATS] | None = None,
                prompt_len: v.Size(MAX_CONTEXT), output_len: v.Size(MAX_CONTEXT), batches=None):
    """:func:`estimate` at each batch (default: powers of 2 up to the largest
    that fits, at least 1) as a DataFrame with columns batch, TPOT ms,
    tokens/s (decode), TTFT ms, latency s, fits. Used by :func:`course_lib.ui.calculators.estimate_chart`; not tied to
    one lesson."""
    kw = dict(accelerator=accelerator, n_gpus=n_gpus, weight_format=weight_format, kv_format=kv_format,
              prompt_len=prompt_len, output_len=output_len)
    first = estimate(model, batch=1, **kw)
    if batches is not None:
        batches = [v.positive_int(f"batches[{i}]", bb, maximum=MAX_BATCH)
                   for i, bb in enumerate(v.sequence("batches", batches, max_len=64))]
    if batches is None:
        top = max(first.max_batch, 1)
        batches = [2**k for k in range(0, int(math.log2(top)) + 1)]
    rows = []
    for bb in batches:
        e = estimate(model, batch=bb, **kw)
        rows.append({"batch": bb, "TPOT ms": e.tpot * 1e3, "tokens/s": e.decode_tokens_per_s, "TTFT ms": e.ttft * 1e3,
                     "latency s": e.latency, "fits": e.fits})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- measurements


def _tokens(batch: int, length: int, vocab: int, device, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, vocab, (batch, length), generator=gen).to(device)


def _device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def _check_gpt(model) -> None:
    if not (isinstance(model, nn.Module) and hasattr(model, "new_cache")):
        raise TypeError(f"model must be a course_lib.models.TinyGPT, got {type(model).__name__}")


#: Most sequences one timed call runs at once on this machine.
MAX_MEASURED_BATCH = 4096


def _length(name: str, value, model, *, extra: int = 0, minimum: int = 1) -> int:
    """A token count that, with ``extra`` more positions, fits the model's ``max_seq_len``."""
    return v.integer(name, value, minimum=minimum, maximum=model.max_seq_len - extra)


class DecodeStep(nn.Module):
    """One decode step of ``model`` against ``cache`` as a module: its forward
    runs the new tokens after the cached ones and then puts the cache back as
    it was, so the same step can be timed or counted again and again (with
    :func:`course_lib.measure.count_flops` or ``time_it``). Lesson 07, section 3."""

    def __init__(self, model: nn.Module, cache):
        super().__init__()
        _check_gpt(model)
        self.model = model
        self.cache = cache

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Logits of ``ids`` after the cached positions; the cache is left as it was. Not tied to one lesson."""
        keys, values = list(self.cache.keys), list(self.cache.values)
        try:
            return self.model(ids, cache=self.cache)
        finally:
            self.cache.keys, self.cache.values = keys, values


@v.checked
def prefilled_cache(model: nn.Module, batch: v.Size(MAX_MEASURED_BATCH), past: int, seed: v.Seed = 0):
    """A cache holding ``past`` positions of ``batch`` random prompts (seeded). Lesson 07, section 3."""
    _check_gpt(model)
    past = _length("past", past, model, minimum=0)
    cache = model.new_cache(batch)
    if past:
        with torch.inference_mode():
            model(_tokens(batch, past, model.vocab_size, _device_of(model), seed), cache=cache)
    return cache


@v.checked
def time_prefill(model: nn.Module, prompt_len: int, batch: v.Size(MAX_MEASURED_BATCH) = 1, *, warmup: int = 1,
                 repeats: int = 5):
    """Time to first token: a fresh cache, the whole prompt in one forward
    pass, and the argmax of the last position's logits.
    :class:`course_lib.measure.Timing`. Lesson 07, section 2."""
    _check_gpt(model)
    ids = _tokens(batch, _length("prompt_len", prompt_len, model), model.vocab_size, _device_of(model))

    def run():
        with torch.inference_mode():
            return model(ids, cache=model.new_cache(batch))[:, -1].argmax(-1)

    return time_it(run, warmup=warmup, repeats=repeats)


@v.checked
def time_decode_step(model: nn.Module, past: int, batch: v.Size(MAX_MEASURED_BATCH) = 1, *, use_cache: v.Bool = True,
                     warmup: int = 2, repeats: int = 7):
    """Time per output token after ``past`` positions: with the cache, one
    new token per sequence against a cache of ``past`` positions
    (:class:`DecodeStep`); without it, a forward pass over all past + 1
    positions, as generation without a cache does at every step.
    :class:`course_lib.measure.Timing`. Lesson 07, section 2."""
    _check_gpt(model)
    b = batch
    past = _length("past", past, model, extra=1, minimum=0)
    dev = _device_of(model)
    if use_cache:
        step = DecodeStep(model, prefilled_cache(model, b, past))
        new = _tokens(b, 1, model.vocab_size, dev, seed=1)
    else:
        step, new = model, _tokens(b, past + 1, model.vocab_size, dev)

    def run():
        with torch.inference_mode():
            return step(new)[:, -1].argmax(-1)

    return time_it(run, warmup=warmup, repeats=repeats)


@v.checked
def time_generate(model: nn.Module, prompt_len: int, max_new_tokens: int, batch: v.Size(MAX_MEASURED_BATCH) = 1, *,
                  use_cache: bool = True, warmup: int = 1, repeats: int = 3):
    """Time a whole request, ``model.generate`` (prompt → ``max_new_tokens``
    greedy tokens). :class:`course_lib.measure.Timing`. Lesson 07, section 5."""
    _check_gpt(model)
    t = _length("prompt_len", prompt_len, model)
    n = _length("max_new_tokens", max_new_tokens, model, extra=t)
    ids = _tokens(batch, t, model.vocab_size, _device_of(model))
    return time_it(lambda: model.generate(ids, n, use_cache=use_cache), warmup=warmup, repeats=repeats)
