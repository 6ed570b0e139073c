"""Generation: a prefill, then one decode step per output token (lesson 07).

A request to a generative model runs its prompt through the model once
(**prefill**: many tokens per weight read, compute-bound for long prompts)
and then produces one token per **decode** step (each step reads every
weight and the whole key/value cache to make one token per sequence:
memory-bound at small batch). This module holds the arithmetic of both and
the helpers that measure them on :class:`course_lib.models.TinyGPT`:

- model shapes as data (:data:`MODELS`, a source per row) and
  :func:`tinygpt_shape` for the course's own model;
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
the calculator over :func:`estimate` in :mod:`course_lib.ui.calculators`. The model shapes would
come from ``course_lib.arch.Architecture`` once that lands: every function
below reads only the attributes of :class:`ModelShape` (``n_params``,
``matmul_params``, ``n_layers``, ``n_heads``, ``n_kv_heads``, ``head_dim``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from . import _validate as v
from . import hardware, predict
from .measure import time_it

GB = 10**9

# ---------------------------------------------------------------- model shapes


@dataclass(frozen=True)
class ModelShape:
    """What generation's arithmetic needs of a decoder-only transformer.

    ``n_params``: every parameter (bytes read per decode step = n_params ×
    bytes per value, as *How to Scale Your Model* counts them);
    ``matmul_params``: the weights that multiply each token (every Linear,
    LM head included; embedding tables are looked up, not multiplied), so a
    token costs 2 · matmul_params FLOPs outside attention. Lesson 07.
    """

    name: str
    n_params: int
    matmul_params: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    source: str

    @property
    def d_attn(self) -> int:
        """Width of the attention's queries: n_heads × head_dim. Lesson 07, section 3."""
        return self.n_heads * self.head_dim


def llama_shape(name: str, *, vocab: int, hidden: int, layers: int, heads: int, kv_heads: int,
                intermediate: int, source: str) -> ModelShape:
    """A Llama-style model's shape and exact parameter count: untied input
    embedding and LM head (vocab × hidden each), per layer Q and O (hidden²
    each), K and V (hidden × kv_heads · head_dim each), a gated MLP (3 ×
    hidden × intermediate) and two RMSNorm weights (hidden each), plus the
    final norm; no biases. Lesson 07, section 4.
    """
    name, source = v.string("name", name), v.string("source", source)
    vocab, hidden, layers = (v.positive_int(n, x) for n, x in (("vocab", vocab), ("hidden", hidden), ("layers", layers)))
    heads, kv_heads = v.positive_int("heads", heads), v.positive_int("kv_heads", kv_heads)
    intermediate = v.positive_int("intermediate", intermediate)
    if hidden % heads or heads % kv_heads:
        raise ValueError(f"hidden must divide by heads and heads by kv_heads, got hidden={hidden}, heads={heads}, kv_heads={kv_heads}")
    head_dim = hidden // heads
    per_layer = 2 * hidden * hidden + 2 * hidden * kv_heads * head_dim + 3 * hidden * intermediate
    matmul = layers * per_layer + vocab * hidden  # LM head multiplies; the input embedding is a lookup
    total = matmul + vocab * hidden + layers * 2 * hidden + hidden
    return ModelShape(name, total, matmul, layers, heads, kv_heads, head_dim, source)


_LLAMA2 = ("Touvron et al. 2023, Llama 2: Open Foundation and Fine-Tuned Chat Models (70B: grouped-query attention, "
           "8 KV heads); layer sizes as LLaMA (Touvron et al. 2023a, Table 2) and the released config.json")
_LLAMA3 = "Meta Llama 3 model card (2024); Dubey et al. 2024, The Llama 3 Herd of Models (Table 3)"

MODELS: dict[str, ModelShape] = {
    m.name: m
    for m in (
        llama_shape("Llama-2-7B", vocab=32000, hidden=4096, layers=32, heads=32, kv_heads=32, intermediate=11008, source=_LLAMA2),
        llama_shape("Llama-2-13B", vocab=32000, hidden=5120, layers=40, heads=40, kv_heads=40, intermediate=13824, source=_LLAMA2),
        llama_shape("Llama-2-70B", vocab=32000, hidden=8192, layers=80, heads=64, kv_heads=8, intermediate=28672, source=_LLAMA2),
        llama_shape("Llama-3-8B", vocab=128256, hidden=4096, layers=32, heads=32, kv_heads=8, intermediate=14336, source=_LLAMA3),
        llama_shape("Llama-3-70B", vocab=128256, hidden=8192, layers=80, heads=64, kv_heads=8, intermediate=28672, source=_LLAMA3),
    )
}
"""Real models by name; the calculator's ``model`` input is one of these names."""


def model_shape(model) -> ModelShape:
    """A :class:`ModelShape` from a name in :data:`MODELS`, a ModelShape, or a
    :class:`course_lib.models.TinyGPT`. Lesson 07."""
    if isinstance(model, ModelShape):
        return model
    if isinstance(model, str):
        return MODELS[v.choice("model", model, MODELS)]
    if isinstance(model, nn.Module) and hasattr(model, "new_cache"):
        return tinygpt_shape(model)
    raise TypeError(f"model must be a name in {list(MODELS)}, a ModelShape or a TinyGPT, got {type(model).__name__}")


def tinygpt_shape(model: nn.Module) -> ModelShape:
    """The shape of a :class:`course_lib.models.TinyGPT`: all its parameters,
    its Linear weights (the matmul parameters), layers, heads (as many KV
    heads: plain multi-head attention) and head size. Lesson 07, section 2."""
    if not (isinstance(model, nn.Module) and all(hasattr(model, a) for a in ("d_model", "n_heads", "n_layers"))):
        raise TypeError(f"model must be a course_lib.models.TinyGPT, got {type(model).__name__}")
    matmul = sum(m.weight.numel() for m in model.modules() if isinstance(m, nn.Linear))
    n_params = sum(p.numel() for p in model.parameters())
    return ModelShape("TinyGPT", n_params, matmul, model.n_layers, model.n_heads, model.n_heads,
                      model.d_model // model.n_heads, "course_lib.models.TinyGPT (defined in code)")


# ---------------------------------------------------------------- FLOPs and bytes


@v.checked
def kv_bytes(model, seq_len: int, batch: int = 1, bytes_per_value: float = 2) -> int:
    """Bytes of the KV cache of ``batch`` sequences of ``seq_len`` positions:
    :func:`course_lib.predict.kv_cache_bytes` with the model's KV heads.
    Lesson 07, section 2."""
    s = model_shape(model)
    return predict.kv_cache_bytes(s.n_layers, s.n_kv_heads, s.head_dim, seq_len, batch, bytes_per_value)


@v.checked
def attention_flops(model, q_len: int, kv_len: int, batch: int = 1) -> int:
    """FLOPs of attention's two matmuls, scores Q·Kᵀ and weights·V, for
    ``q_len`` queries against ``kv_len`` keys: 2 × 2 · q_len · kv_len ·
    d_attn per layer. (The full score matrix, as TinyGPT and a plain
    implementation compute it; a causal kernel can skip the masked half.)
    Lesson 07, section 3."""
    s = model_shape(model)
    q = v.positive_int("q_len", q_len)
    k = v.positive_int("kv_len", kv_len)
    return v.positive_int("batch", batch) * s.n_layers * 4 * q * k * s.d_attn


@v.checked
def forward_flops(model, seq_len: int, batch: int = 1) -> int:
    """FLOPs of a forward pass over ``seq_len`` tokens with no cache (a
    prefill, or one decode step *without* the cache, which re-runs the whole
    prefix): batch · (2 · matmul_params · seq_len + attention over seq_len²).
    Lesson 07, section 3."""
    s = model_shape(model)
    n = v.positive_int("seq_len", seq_len)
    b = v.positive_int("batch", batch)
    return b * 2 * s.matmul_params * n + attention_flops(s, n, n, b)


@v.checked
def decode_flops(model, past: int, batch: int = 1) -> int:
    """FLOPs of one decode step *with* the cache, after ``past`` cached
    positions: each sequence's new token costs 2 · matmul_params plus
    attention over past + 1 keys. Lesson 07, section 3."""
    s = model_shape(model)
    past = v.integer("past", past, minimum=0)
    b = v.positive_int("batch", batch)
    return b * 2 * s.matmul_params + attention_flops(s, 1, past + 1, b)


@v.checked
def decode_bytes(model, past: int, batch: int = 1, bytes_per_value: float = 2) -> int:
    """Bytes one decode step must read at least: every parameter once plus
    each sequence's KV cache (past + 1 positions, the new one included).
    Lesson 07, section 3."""
    s = model_shape(model)
    past = v.integer("past", past, minimum=0)
    p = v.positive("bytes_per_value", bytes_per_value)
    return math.ceil(s.n_params * p) + kv_bytes(s, past + 1, batch, p)


@v.checked
def prefill_intensity(model, prompt_len: int, batch: int = 1, bytes_per_value: float = 2) -> float:
    """FLOPs per byte of a prefill: :func:`forward_flops` over (parameter
    bytes + the KV cache it writes). Grows with batch × prompt. Lesson 07, section 3."""
    s = model_shape(model)
    prompt_len = v.positive_int("prompt_len", prompt_len)
    p = v.positive("bytes_per_value", bytes_per_value)
    moved = s.n_params * p + kv_bytes(s, prompt_len, batch, p)
    return forward_flops(s, prompt_len, batch) / moved


@v.checked
def decode_intensity(model, past: int, batch: int = 1, bytes_per_value: float = 2) -> float:
    """FLOPs per byte of a decode step: :func:`decode_flops` /
    :func:`decode_bytes`. About batch × 2 / bytes_per_value while weights
    dominate the bytes, and never above the attention's own ~2 / bytes when
    the KV cache does. Lesson 07, section 3."""
    return decode_flops(model, past, batch) / decode_bytes(model, past, batch, bytes_per_value)


# ---------------------------------------------------------------- time on a device


def _device(device) -> tuple[float, float, str]:
    """``(peak FLOP/s, bandwidth bytes/s, name)`` from an Accelerator name,
    an Accelerator or a MeasuredMachine, paired with a dtype: (device, dtype)."""
    dtype = "bf16"
    if isinstance(device, tuple) and len(device) == 2:
        device, dtype = device
    if isinstance(device, str):
        device = hardware.accelerator(device)
    if isinstance(device, hardware.MeasuredMachine) and dtype not in hardware.MEASURED_DTYPES:
        dtype = "fp32"
    if not isinstance(device, (hardware.Accelerator, hardware.MeasuredMachine)):
        raise TypeError(f"device must be an accelerator name, an Accelerator or a MeasuredMachine, got {type(device).__name__}")
    return device.peak_flops(dtype), device.bandwidth, device.name


@v.checked
def decode_lower_bound(param_bytes: float, kv_bytes_per_seq: float, batch: int, bandwidth: float) -> float:
    """Seconds one decode step takes at least when it is memory-bound:
    (parameter bytes + batch × KV bytes per sequence) / bandwidth (bytes/s)
    (Austin et al., *How to Scale Your Model*, 2025, inference chapter).
    Lesson 07, section 4."""
    w = v.positive("param_bytes", param_bytes)
    kv = v.number("kv_bytes_per_seq", kv_bytes_per_seq, minimum=0.0)
    return (w + v.positive_int("batch", batch) * kv) / v.positive("bandwidth", bandwidth)


@v.checked
def decode_step_bound(model, device, past: int, batch: int = 1, bytes_per_value: float = 2) -> float:
    """Roofline bound on one decode step: max(bytes / bandwidth, FLOPs / peak)
    with :func:`decode_bytes` and :func:`decode_flops`. ``device`` is an
    accelerator name or object, or a (device, dtype) pair. Lesson 07, section 4."""
    peak, bw, _ = _device(device)
    return max(decode_bytes(model, past, batch, bytes_per_value) / bw, decode_flops(model, past, batch) / peak)


@v.checked
def prefill_time_bound(model, device, prompt_len: int, batch: int = 1, bytes_per_value: float = 2) -> float:
    """Roofline bound on a prefill (the time to first token): max(FLOPs /
    peak, bytes / bandwidth), FLOPs from :func:`forward_flops`, bytes the
    parameters plus the KV cache written. Lesson 07, section 4."""
    peak, bw, _ = _device(device)
    s = model_shape(model)
    prompt_len = v.positive_int("prompt_len", prompt_len)
    p = v.positive("bytes_per_value", bytes_per_value)
    moved = s.n_params * p + kv_bytes(s, prompt_len, batch, p)
    return max(forward_flops(s, prompt_len, batch) / peak, moved / bw)


@v.checked
def decode_compute_bound_batch(model, device, past: int, bytes_per_value: float = 2) -> int | None:
    """Smallest batch at which a decode step after ``past`` positions turns
    compute-bound: batch · F / peak >= (W + batch · K) / bandwidth, with F
    the FLOPs and K the KV bytes per sequence and W the parameter bytes.
    ``None`` when no batch gets there (each sequence's KV reads cost more
    time than its FLOPs). Lesson 07, section 4."""
    peak, bw, _ = _device(device)
    s = model_shape(model)
    p = v.positive("bytes_per_value", bytes_per_value)
    f, k, w = decode_flops(s, past, 1), kv_bytes(s, past + 1, 1, p), s.n_params * p
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
def request_latency(ttft: float, tpot: float, n_output: int) -> float:
    """Seconds from request to last token: TTFT + (n_output − 1) × TPOT. The
    prefill yields the first output token; each of the others costs one
    decode step (≈ TTFT + n × TPOT for long outputs). Lesson 07, section 5."""
    n = v.positive_int("n_output", n_output)
    return v.number("ttft", ttft, minimum=0.0) + (n - 1) * v.number("tpot", tpot, minimum=0.0)


@v.checked
def max_batch_that_fits(memory_bytes: float, param_bytes: float, kv_bytes_per_seq: float) -> int:
    """Most sequences whose KV caches fit beside the weights:
    floor((memory − parameter bytes) / KV bytes per sequence), 0 when the
    weights alone do not fit. Activations and runtime buffers are left out.
    Lesson 07, section 4."""
    mem = v.positive("memory_bytes", memory_bytes)
    w = v.positive("param_bytes", param_bytes)
    kv = v.positive("kv_bytes_per_seq", kv_bytes_per_seq)
    return max(0, math.floor((mem - w) / kv))


# ---------------------------------------------------------------- the calculator's core

MAX_CONTEXT = 10_000_000
"""Most tokens (prompt + output) :func:`estimate` sizes: the longest contexts served today are ~10⁶."""
MAX_BATCH = 1 << 20
"""Most sequences :func:`estimate` sizes at once."""

PRECISIONS = {"fp32": 4, "bf16": 2, "fp8": 1, "int8": 1}
"""Bytes per value of weights and KV cache, and the peak (dtype) used for compute."""


@dataclass(frozen=True)
class GenerationEstimate:
    """Roofline estimates for one configuration (seconds, bytes). Lesson 07, section 4."""

    model: str
    gpu: str
    precision: str
    batch: int
    prompt_len: int
    output_len: int
    weight_bytes: int
    kv_bytes: int
    memory_bytes: int
    ttft: float
    tpot: float
    tokens_per_s: float
    latency: float
    max_batch: int
    prefill_bound: str
    decode_bound: str

    @property
    def fits(self) -> bool:
        """Weights plus the batch's KV cache within the GPU's memory. Lesson 07, section 4."""
        return self.weight_bytes + self.kv_bytes <= self.memory_bytes


@v.checked
def estimate(model: str = "Llama-3-8B", gpu: str = "H100 SXM", precision: str = "bf16", batch: int = 1,
             prompt_len: int = 1000, output_len: int = 250) -> GenerationEstimate:
    """Time to first token, time per output token (mean over the decode
    steps), decode tokens/s (batch / TPOT), request latency, KV memory at the
    end of the request, and the largest batch that fits, for ``model`` (a
    name in :data:`MODELS`) on ``gpu`` (a name in
    :data:`course_lib.hardware.ACCELERATORS`) with weights and KV cache in
    ``precision``. Every time is a roofline lower bound (perfect kernels, no
    overhead). Lesson 07, section 4 (the calculator)."""
    s = model_shape(v.choice("model", model, MODELS))
    acc = hardware.accelerator(v.choice("gpu", gpu, hardware.ACCELERATORS))
    v.choice("precision", precision, PRECISIONS)
    p = PRECISIONS[precision]
    b = v.positive_int("batch", batch, maximum=MAX_BATCH)
    t = v.positive_int("prompt_len", prompt_len, maximum=MAX_CONTEXT)
    n = v.positive_int("output_len", output_len, maximum=MAX_CONTEXT)
    if t + n > MAX_CONTEXT:
        raise ValueError(f"prompt_len + output_len must be at most {MAX_CONTEXT:,} tokens, got {t + n:,}")
    dev = (acc, precision)
    peak, bw, _ = _device(dev)
    ttft = prefill_time_bound(s, dev, t, b, p)
    # Every decode step, vectorised: step i runs after t + i cached positions.
    pasts = np.arange(t, t + max(n - 1, 1), dtype=np.float64)
    kv_per_pos = kv_bytes(s, 1, 1, p)
    memory_time = (s.n_params * p + b * kv_per_pos * (pasts + 1)) / bw
    compute_time = b * (2 * s.matmul_params + 4 * s.n_layers * s.d_attn * (pasts + 1)) / peak
    tpot = float(np.maximum(memory_time, compute_time).mean())
    weights = math.ceil(s.n_params * p)
    mem_bytes = int(acc.memory_gb * GB)
    per_seq = kv_bytes(s, t + n, 1, p)
    last = t + max(n - 1, 1) - 1
    decode_side = "compute" if decode_flops(s, last, b) / peak >= decode_bytes(s, last, b, p) / bw else "memory"
    prefill_side = "compute" if forward_flops(s, t, b) / peak >= (weights + kv_bytes(s, t, b, p)) / bw else "memory"
    return GenerationEstimate(
        model=model, gpu=gpu, precision=precision, batch=b, prompt_len=t, output_len=n,
        weight_bytes=weights, kv_bytes=b * per_seq, memory_bytes=mem_bytes,
        ttft=ttft, tpot=tpot, tokens_per_s=b / tpot, latency=request_latency(ttft, tpot, n),
        max_batch=max_batch_that_fits(mem_bytes, weights, per_seq),
        prefill_bound=prefill_side, decode_bound=decode_side,
    )


def batch_sweep(model: str, gpu: str, precision: str, prompt_len: int, output_len: int, batches=None):
    """:func:`estimate` at each batch (default: powers of 2 up to the largest
    that fits, at least 1) as a DataFrame with columns batch, TPOT ms,
    tokens/s, TTFT ms, latency s, fits. Lesson 07, section 4."""
    first = estimate(model, gpu, precision, 1, prompt_len, output_len)
    if batches is not None:
        batches = [v.positive_int(f"batches[{i}]", bb, maximum=MAX_BATCH)
                   for i, bb in enumerate(v.sequence("batches", batches, max_len=64))]
    if batches is None:
        top = max(first.max_batch, 1)
        batches = [2**k for k in range(0, int(math.log2(top)) + 1)]
    rows = []
    for bb in batches:
        e = estimate(model, gpu, precision, bb, prompt_len, output_len)
        rows.append({"batch": bb, "TPOT ms": e.tpot * 1e3, "tokens/s": e.tokens_per_s, "TTFT ms": e.ttft * 1e3,
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


def _batch(batch) -> int:
    return v.positive_int("batch", batch, maximum=MAX_MEASURED_BATCH)


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
        """Logits of ``ids`` after the cached positions; the cache is left as it was. Lesson 07, section 3."""
        keys, values = list(self.cache.keys), list(self.cache.values)
        try:
            return self.model(ids, cache=self.cache)
        finally:
            self.cache.keys, self.cache.values = keys, values


def prefilled_cache(model: nn.Module, batch: int, past: int, seed: int = 0):
    """A cache holding ``past`` positions of ``batch`` random prompts (seeded). Lesson 07, section 3."""
    _check_gpt(model)
    batch = _batch(batch)
    past = _length("past", past, model, minimum=0)
    seed = v.seed("seed", seed)
    cache = model.new_cache(batch)
    if past:
        with torch.inference_mode():
            model(_tokens(batch, past, model.vocab_size, _device_of(model), seed), cache=cache)
    return cache


def time_prefill(model: nn.Module, prompt_len: int, batch: int = 1, *, warmup: int = 1, repeats: int = 5):
    """Time to first token: a fresh cache, the whole prompt in one forward
    pass, and the argmax of the last position's logits.
    :class:`course_lib.measure.Timing`. Lesson 07, section 2."""
    _check_gpt(model)
    batch = _batch(batch)
    ids = _tokens(batch, _length("prompt_len", prompt_len, model), model.vocab_size, _device_of(model))

    def run():
        with torch.inference_mode():
            return model(ids, cache=model.new_cache(batch))[:, -1].argmax(-1)

    return time_it(run, warmup=warmup, repeats=repeats)


def time_decode_step(model: nn.Module, past: int, batch: int = 1, *, use_cache: bool = True,
                     warmup: int = 2, repeats: int = 7):
    """Time per output token after ``past`` positions: with the cache, one
    new token per sequence against a cache of ``past`` positions
    (:class:`DecodeStep`); without it, a forward pass over all past + 1
    positions, as generation without a cache does at every step.
    :class:`course_lib.measure.Timing`. Lesson 07, section 2."""
    _check_gpt(model)
    if not isinstance(use_cache, bool):
        raise TypeError(f"use_cache must be True or False, got {use_cache!r}")
    b = _batch(batch)
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


def time_generate(model: nn.Module, prompt_len: int, max_new_tokens: int, batch: int = 1, *,
                  use_cache: bool = True, warmup: int = 1, repeats: int = 3):
    """Time a whole request, ``model.generate`` (prompt → ``max_new_tokens``
    greedy tokens). :class:`course_lib.measure.Timing`. Lesson 07, section 5."""
    _check_gpt(model)
    t = _length("prompt_len", prompt_len, model)
    n = _length("max_new_tokens", max_new_tokens, model, extra=t)
    ids = _tokens(_batch(batch), t, model.vocab_size, _device_of(model))
    return time_it(lambda: model.generate(ids, n, use_cache=use_cache), warmup=warmup, repeats=repeats)
