"""Number formats, quantization and mixed precision (lesson 04).

- The format table: :func:`format_table` reads fp32, fp16, bf16 and the
  fp8 types from ``torch.finfo`` (and int8 from ``torch.iinfo``); TF32 has
  no torch dtype, so :func:`float_format` computes it from its bit layout
  (1 sign, 8 exponent, 10 mantissa bits) with the IEEE 754 formulas.
- Rounding: :func:`sequential_sum` adds numbers one at a time in a format,
  the way a naive accumulator would.
- Quantization: :func:`quantize` and :func:`dequantize` (symmetric integer
  codes with one scale per tensor or per channel), :func:`quantization_error`,
  :func:`quantize_linear_weights` for a whole model, :func:`weight_bytes`.
- Mixed precision: :func:`train` (fp32, bf16 or fp16 autocast, with or without
  loss scaling) and :func:`gradient_underflow` (how many gradients a 16-bit
  backward pass loses to zero).
- Speed: :func:`time_matmul`, :func:`cpu_half_precision_flags`.
- The format explorer's layouts: :func:`known_layouts` (its texts are in :mod:`course_lib.ui.text`;
  the widget is :func:`course_lib.ui.calculators.format_explorer`).

Sources: IEEE 754-2008 for the float formulas; Micikevicius et al. 2017,
*Mixed Precision Training* (loss scaling, fp32 master weights);
Micikevicius et al. 2022, *FP8 Formats for Deep Learning*.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from . import _validate as v
from .env import available_cpus
from .measure import time_it

# ---------------------------------------------------------------------------
# Formats
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FloatFormat:
    """A floating-point format: its bit layout and what that layout buys.

    ``max``: the largest finite value; ``smallest_normal``: the smallest
    positive number with full precision; ``smallest_subnormal``: the smallest
    positive number at all (anything below half of it rounds to 0);
    ``eps``: the gap between 1 and the next larger number (2^-mantissa_bits).
    """

    name: str
    bits: int
    exponent_bits: int
    mantissa_bits: int
    max: float
    smallest_normal: float
    smallest_subnormal: float
    eps: float
    source: str


@v.checked
def float_format(exponent_bits: v.IntRange(2, 11), mantissa_bits: v.IntRange(0, 52), name: str = "custom") -> FloatFormat:
    """The IEEE 754 layout with 1 sign bit, ``exponent_bits`` and ``mantissa_bits``.

    With bias b = 2^(e-1) − 1: max = (2 − 2^-m)·2^b, smallest normal = 2^(1−b),
    smallest subnormal = 2^(1−b−m), eps = 2^-m (IEEE 754-2008; the top exponent
    is kept for inf and NaN). Matches ``torch.finfo`` for fp32, fp16, bf16 and
    fp8 E5M2; fp8 E4M3 (``float8_e4m3fn``) gives up inf to reach 448 instead
    of 240. Lesson 04, section 1.
    """
    e = exponent_bits
    m = mantissa_bits
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {name!r}")
    bias = 2 ** (e - 1) - 1
    return FloatFormat(
        name=name,
        bits=1 + e + m,
        exponent_bits=e,
        mantissa_bits=m,
        max=(2.0 - 2.0**-m) * 2.0**bias,
        smallest_normal=2.0 ** (1 - bias),
        smallest_subnormal=2.0 ** (1 - bias - m),
        eps=2.0**-m,
        source=f"IEEE 754 formulas for 1/{e}/{m} bits",
    )


# name -> torch dtype, for the formats torch can store.
TORCH_FLOATS: dict[str, torch.dtype] = {
    "fp32": torch.float32,
    "fp16": torch.float16,
    "bf16": torch.bfloat16,
    "fp8_e4m3": torch.float8_e4m3fn,
    "fp8_e5m2": torch.float8_e5m2,
}

FORMAT_NAMES = ("fp32", "tf32", "fp16", "bf16", "fp8_e4m3", "fp8_e5m2")


@v.checked
def from_torch(name: v.Choice[TORCH_FLOATS]) -> FloatFormat:
    """A :class:`FloatFormat` read from ``torch.finfo`` for a name in
    :data:`TORCH_FLOATS`. The mantissa bits come from eps = 2^-m, the exponent
    bits from what is left of ``bits``. Used by :func:`course_lib.precision.get_format`; not tied to one lesson.
    """
    dtype = TORCH_FLOATS[name]
    info = torch.finfo(dtype)
    m = round(-math.log2(info.eps))
    return FloatFormat(
        name=name,
        bits=info.bits,
        exponent_bits=info.bits - 1 - m,
        mantissa_bits=m,
        max=float(info.max),
        smallest_normal=float(info.smallest_normal),
        smallest_subnormal=float(info.smallest_normal) * float(info.eps),
        eps=float(info.eps),
        source=f"torch.finfo({dtype})",
    )


@v.checked
def get_format(name: v.Choice[FORMAT_NAMES]) -> FloatFormat:
    """One of :data:`FORMAT_NAMES`: from ``torch.finfo``, or TF32 from its bit
    layout (TF32 is a tensor-core input format with no torch dtype). Lesson 04, sections 1, 2 and 4."""
    return float_format(8, 10, name="tf32") if name == "tf32" else from_torch(name)


@v.checked
def int_range(bits: v.IntRange(2, 64)) -> tuple[int, int]:
    """(min, max) of a two's-complement signed integer of ``bits`` bits:
    −2^(bits−1) … 2^(bits−1) − 1 (int8: −128…127, int4: −8…7). Used by :func:`course_lib.precision.format_table`; not
    tied to one lesson."""
    b = bits
    return -(2 ** (b - 1)), 2 ** (b - 1) - 1


def format_table():
    """The lesson 04 table as a pandas DataFrame: one row per format in
    :data:`FORMAT_NAMES` plus int8 (from ``torch.iinfo``) and int4 (from
    :func:`int_range`; torch has no int4 arithmetic dtype). Floats give max,
    smallest normal and eps; integers give their min and max code (the real
    values are code × scale, see :func:`quantize`). Lesson 04, section 1."""
    rows = []
    for name in FORMAT_NAMES:
        f = get_format(name)
        rows.append(
            {
                "format": name,
                "bits": f.bits,
                "sign/exp/mantissa": f"1/{f.exponent_bits}/{f.mantissa_bits}",
                "min": -f.max,
                "max": f.max,
                "smallest normal": f.smallest_normal,
                "eps": f.eps,
                "from": f.source,
            }
        )
    i8 = torch.iinfo(torch.int8)
    lo4, hi4 = int_range(4)
    for name, bits, lo, hi, src in (
        ("int8", i8.bits, i8.min, i8.max, "torch.iinfo(torch.int8)"),
        ("int4", 4, lo4, hi4, "two's complement, 4 bits"),
    ):
        rows.append(
            {"format": name, "bits": bits, "sign/exp/mantissa": "integer", "min": float(lo), "max": float(hi),
             "smallest normal": float("nan"), "eps": float("nan"), "from": src}
        )
    return pd.DataFrame(rows).set_index("format")


@v.checked(finite=False)
def representable(value: v.Real, name: v.Choice[TORCH_FLOATS]) -> float:
    """``value`` stored in format ``name`` (one of :data:`TORCH_FLOATS`) and
    read back as a Python float: shows rounding, overflow to inf, saturation
    (fp8 E4M3 has no inf and clamps to ±448) and underflow to 0. Lesson 04, section 1; lab 04, exercise 5."""
    x = value
    dtype = TORCH_FLOATS[name]
    return float(torch.tensor(x, dtype=torch.float64).to(dtype).to(torch.float64))


@v.checked
def sequential_sum(values: v.Tensor(kind="float", ndim=1), dtype: torch.dtype) -> float:
    """Add ``values`` one at a time into an accumulator of ``dtype``, rounding
    after every addition, and return the total as a float.

    This is what a naive low-precision accumulator does; ``torch.sum`` on a
    half-precision tensor accumulates in fp32 instead (Micikevicius et al.
    2017 recommend exactly that). Lesson 04, section 2.
    """
    if values.numel() > 100_000:  # one Python-level addition per value
        raise ValueError(f"values must have at most 100_000 elements, got {values.numel():_}")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")
    total = torch.zeros((), dtype=dtype)
    for x in values.to(dtype):
        total = total + x  # the result is rounded to dtype every time
    return float(total)


# ---------------------------------------------------------------------------
# Integer quantization
# ---------------------------------------------------------------------------


@v.checked
def quantize(x: v.Tensor(kind="float"), bits: v.IntRange(2, 8), axis: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric integer quantization: ``x ≈ codes × scale``.

    qmax = 2^(bits−1) − 1 (127 for 8 bits, 7 for 4 bits); scale = max|x| / qmax,
    over the whole tensor (``axis=None``) or separately for each index along
    ``axis`` (per channel: ``axis=0`` gives one scale per output row of a
    Linear weight); codes = round(x / scale), clipped to −qmax…qmax and stored
    as int8. Each value is then off by at most scale / 2 (half a step).
    The scale has ``x``'s number of dimensions so it broadcasts against the codes.
    An all-zero slice gets scale 1. Lesson 04, section 5.
    """
    x = x.float()
    qmax = 2 ** (bits - 1) - 1
    if axis is None:
        amax = x.abs().max().reshape([1] * x.dim())
    else:
        axis = v.integer("axis", axis, minimum=-x.dim(), maximum=x.dim() - 1) % x.dim()
        others = [d for d in range(x.dim()) if d != axis]
        amax = x.abs().amax(dim=others, keepdim=True) if others else x.abs()
    scale = torch.where(amax > 0, amax / qmax, torch.ones_like(amax))
    codes = torch.clamp(torch.round(x / scale), -qmax, qmax).to(torch.int8)
    return codes, scale


@v.checked
def dequantize(codes: v.Tensor(kind="int"), scale: v.Tensor(kind="float")) -> torch.Tensor:
    """The float32 values the codes stand for: ``codes × scale``. Lesson 04, section 5."""
    return codes.to(torch.float32) * scale.float()


@dataclass(frozen=True)
class QuantError:
    """Absolute rounding error of quantizing a tensor: the largest and the mean,
    and the bound, half the largest step (max scale / 2)."""

    bits: int
    max_error: float
    mean_error: float
    bound: float


def quantization_error(x: torch.Tensor, bits: int, axis: int | None = None) -> QuantError:
    """Quantize ``x`` with :func:`quantize`, dequantize, and measure |x − x̂|. Lesson 04, section 5."""
    codes, scale = quantize(x, bits, axis)
    err = (dequantize(codes, scale) - x.float()).abs()
    return QuantError(int(bits), float(err.max()), float(err.mean()), float(scale.max()) / 2)


@v.checked
def weight_bytes(n_values: v.PositiveInt, bits: v.IntRange(1, 64), n_scales: v.NonNegativeInt = 0, scale_bytes: v.PositiveInt = 4) -> int:
    """Bytes to store ``n_values`` codes of ``bits`` bits packed together
    (two int4 codes per byte), plus ``n_scales`` scales of ``scale_bytes``
    bytes each (fp32 by default): ceil(n·bits/8) + n_scales·scale_bytes. Lesson 04, section 5."""
    n = n_values
    b = bits
    k = n_scales
    s = scale_bytes
    return math.ceil(n * b / 8) + k * s


def _linears(model: nn.Module) -> list[nn.Linear]:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def linear_weight_count(model: nn.Module) -> tuple[int, int]:
    """(number of Linear weight elements, number of Linear output rows) of
    ``model``: what :func:`quantize_linear_weights` stores. Lesson 04, section 5."""
    layers = _linears(model)
    return sum(m.weight.numel() for m in layers), sum(m.out_features for m in layers)


@v.checked
def quantize_linear_weights(model: nn.Module, bits: v.IntRange(2, 8), *, per_channel: v.Bool = True) -> tuple[nn.Module, int]:
    """A copy of ``model`` whose Linear weights went through
    quantize → dequantize at ``bits`` bits, and the bytes those weights take
    at that width (codes packed, plus one fp32 scale per output row, or one
    per layer when ``per_channel=False``; see :func:`weight_bytes`).

    Biases and every other parameter stay in fp32 and are not counted. The
    copy computes in fp32 ("fake quantization"), so its accuracy is the
    quantized model's accuracy; a real int8 kernel would also be faster. The
    original model is not changed. Lesson 04, section 5.
    """
    layers = _linears(model)
    if not layers:
        raise ValueError("model has no nn.Linear layers to quantize")
    qmodel = copy.deepcopy(model)
    n_bytes = 0
    for layer in (m for m in qmodel.modules() if isinstance(m, nn.Linear)):
        codes, scale = quantize(layer.weight.detach(), bits, axis=0 if per_channel else None)
        with torch.no_grad():
            layer.weight.copy_(dequantize(codes, scale).to(layer.weight.dtype))
        n_bytes += weight_bytes(codes.numel(), bits, n_scales=scale.numel())
    return qmodel, n_bytes


def pack_int4(codes: torch.Tensor) -> torch.Tensor:
    """INT4 codes (−8…7, any integer dtype) packed two per byte into a flat
    ``uint8`` tensor of ⌈n / 2⌉ bytes: code + 8 in the low nibble, the next
    one in the high nibble. Used by :func:`course_lib.precision.quantized_state`; not tied to one lesson."""
    if not isinstance(codes, torch.Tensor) or codes.is_floating_point() or codes.dtype == torch.bool:
        raise TypeError(f"codes must be an integer torch.Tensor, got {getattr(codes, 'dtype', type(codes).__name__)}")
    flat = codes.flatten().to(torch.int16)
    if flat.numel() and (flat.min() < -8 or flat.max() > 7):
        raise ValueError(f"codes must lie in -8…7 for INT4, got {int(flat.min())}…{int(flat.max())}")
    flat = flat + 8
    if flat.numel() % 2:
        flat = torch.cat([flat, flat.new_zeros(1)])
    return (flat[0::2] | (flat[1::2] << 4)).to(torch.uint8)


def unpack_int4(packed: torch.Tensor, n: int) -> torch.Tensor:
    """The first ``n`` INT4 codes of :func:`pack_int4`'s bytes, as int8. Not tied to one lesson."""
    if not isinstance(packed, torch.Tensor) or packed.dtype != torch.uint8:
        raise TypeError(f"packed must be a uint8 torch.Tensor, got {getattr(packed, 'dtype', type(packed).__name__)}")
    n = v.integer("n", n, minimum=0, maximum=2 * packed.numel())
    wide = packed.to(torch.int16)
    both = torch.stack([wide & 0xF, wide >> 4], dim=1).flatten()[:n]
    return (both - 8).to(torch.int8)


@v.checked
def quantized_state(model: v.Module, bits: v.IntRange(4, 8), *, per_channel: v.Bool = True) -> dict[str, torch.Tensor]:
    """What a quantized model really stores for its Linear weights: for each
    layer ``name``, ``name.codes`` (``int8`` for 8 bits; for 4 bits two codes
    per byte, :func:`pack_int4`) and ``name.scale`` (fp32, one per output row,
    or one per layer when ``per_channel=False``). Measure its size with
    :func:`tensor_bytes`. Lesson 04, section 5.
    """
    if bits not in (4, 8):
        raise ValueError(f"bits must be 4 or 8 (the widths stored here), got {bits}")
    state = {}
    for name, layer in model.named_modules():
        if isinstance(layer, nn.Linear):
            codes, scale = quantize(layer.weight.detach(), bits, axis=0 if per_channel else None)
            state[f"{name}.codes"] = codes.contiguous() if bits == 8 else pack_int4(codes)
            state[f"{name}.scale"] = scale.float().contiguous()
    if not state:
        raise ValueError("model has no nn.Linear layers to quantize")
    return state


def tensor_bytes(tensors) -> int:
    """Bytes of memory the tensors occupy: the sum of their distinct storages
    (``untyped_storage().nbytes()``), a measurement of what is allocated, not
    a formula. Accepts a dict of tensors, an iterable of tensors or a module
    (its parameters). Lesson 04.
    """
    if isinstance(tensors, nn.Module):
        tensors = list(tensors.parameters())
    elif isinstance(tensors, dict):
        tensors = list(tensors.values())
    elif isinstance(tensors, torch.Tensor):
        tensors = [tensors]
    elif not isinstance(tensors, (list, tuple)):
        raise TypeError(f"tensors must be a dict, list or tuple of tensors, a tensor or a module, got {v.show(tensors)}")
    seen, total = set(), 0
    for t in tensors:
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"tensors must hold torch.Tensors, got {type(t).__name__}")
        storage = t.untyped_storage()
        if storage.data_ptr() not in seen:
            seen.add(storage.data_ptr())
            total += storage.nbytes()
    return total


@v.checked
@torch.no_grad()
def accuracy(model: v.Model, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of rows of ``x`` whose argmax logit equals the label in ``y``. Lesson 04, sections 3 and 5."""
    v.tensor("x", x, kind="float", ndim=2)
    v.tensor("y", y, kind="int", ndim=1)
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"y must have one label per row of x, got {y.shape[0]} labels for {x.shape[0]} rows")
    device = next(model.parameters()).device
    out = model(x.to(device))
    if out.ndim != 2:
        raise ValueError(f"model must return (rows, classes) logits, got shape {tuple(out.shape)}")
    return float((out.argmax(dim=1).cpu() == y).float().mean())


# ---------------------------------------------------------------------------
# Mixed-precision training
# ---------------------------------------------------------------------------

TRAINING_MODES = ("fp32", "bf16", "fp16", "fp16_scaled")
"""How :func:`train` runs: fp32, bf16 or fp16 autocast, fp16 with loss scaling
(number formats are :data:`FORMAT_NAMES`; memory accountings are
:data:`course_lib.predict.ACCOUNTINGS`)."""


@dataclass(frozen=True)
class TrainLog:
    """What :func:`train` recorded: the loss at each step (as a float), the
    steps the loss scaler skipped because a gradient overflowed to inf, and
    the loss scale at the end (1.0 without a scaler)."""

    precision: str
    losses: tuple[float, ...]
    skipped_steps: int
    final_scale: float


@v.checked
def train(
    model: v.Model,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    precision: v.Choice[TRAINING_MODES] = "fp32",
    steps: v.Size(10_000) = 100,
    batch: int = 128,
    lr: v.Positive = 3e-3,
    seed: v.Seed = 0,
) -> TrainLog:
    """Train ``model`` in place with Adam on cross-entropy, on minibatches of
    (``x``, ``y``) drawn with a seeded generator, on the model's device.

    ``precision``: ``"fp32"``; ``"bf16"`` or ``"fp16"``: matmuls in 16 bits under
    ``torch.autocast`` while the weights (the master copy) and the optimizer
    stay in fp32; ``"fp16_scaled"``: fp16 with ``torch.amp.GradScaler``, which
    multiplies the loss by a large factor before backward, divides the
    gradients by it before the step, and skips a step (halving the factor)
    when a gradient overflowed (Micikevicius et al. 2017, loss scaling). Lesson 04, section 3.
    """
    v.tensor("x", x, kind="float", ndim=2)
    v.tensor("y", y, kind="int", ndim=1)
    batch = v.integer("batch", batch, minimum=1, maximum=len(x))
    device = next(model.parameters()).device
    x, y = x.to(device), y.to(device)
    dtype = {"fp32": None, "bf16": torch.bfloat16}.get(precision, torch.float16)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16_scaled")
    g = torch.Generator().manual_seed(seed)
    losses, skipped = [], 0
    for _ in range(steps):
        idx = torch.randperm(len(x), generator=g)[:batch].to(device)
        with torch.autocast(device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        scaler.scale(loss).backward()  # without a scaler: loss.backward()
        before = scaler.get_scale() if scaler.is_enabled() else 1.0
        scaler.step(opt)  # without a scaler: opt.step()
        scaler.update()
        if scaler.is_enabled() and scaler.get_scale() < before:  # an inf was found: step skipped
            skipped += 1
        losses.append(float(loss.detach()))
    final = scaler.get_scale() if scaler.is_enabled() else 1.0
    return TrainLog(precision, tuple(losses), skipped, float(final))


@v.checked
def gradients(
    model: v.Model, x: torch.Tensor, y: torch.Tensor, *, dtype: torch.dtype | None = None, loss_scale: v.Positive = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """One backward pass of the cross-entropy of ``model(x)`` against ``y``;
    returns ``(weight_grads, activation_grads)``, each flattened to one fp32
    vector and divided by ``loss_scale``. Activation gradients are those of
    each Linear layer's output. With ``dtype`` (fp16 or bf16) the pass runs
    under ``torch.autocast``, so those gradients were computed in 16 bits and
    a value that underflowed there is exactly 0 here. ``.grad`` is left empty. Lesson 04, section 4.
    """
    v.tensor("x", x, kind="float", ndim=2)
    v.tensor("y", y, kind="int", ndim=1)
    if dtype not in (None, torch.float16, torch.bfloat16):
        raise ValueError(f"dtype must be None (fp32), torch.float16 or torch.bfloat16, got {dtype!r}")
    scale = loss_scale
    device = next(model.parameters()).device
    acts: list[torch.Tensor] = []

    def keep_output_grad(module, inputs, output):
        output.register_hook(lambda grad: acts.append(grad.detach().float().flatten()))

    hooks = [m.register_forward_hook(keep_output_grad) for m in model.modules() if isinstance(m, nn.Linear)]
    try:
        model.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            loss = F.cross_entropy(model(x.to(device)), y.to(device))
        (loss * scale).backward()
    finally:
        for h in hooks:
            h.remove()
    weights = torch.cat([p.grad.detach().float().flatten() for p in model.parameters() if p.grad is not None])
    model.zero_grad(set_to_none=True)
    return (weights / scale).cpu(), (torch.cat(acts) / scale).cpu()


@v.checked
def log2_histogram(values: torch.Tensor, low: v.IntRange(-100_000, 100_000) = -50, high: int = 0):
    """How many non-zero ``values`` fall in each bin [k, k+1) of log2|value|,
    for k from ``low`` to ``high`` − 1 (values outside go to the end bins),
    as a DataFrame with columns ``log2 |gradient|`` (k) and ``count``, for
    :func:`course_lib.ui.charts.gradient_histogram`. Lesson 04, section 4.
    """
    if not isinstance(values, torch.Tensor) or not values.is_floating_point():
        raise TypeError("values must be a floating-point torch.Tensor")
    if values.device.type == "meta":
        raise ValueError("values is a meta tensor (a shape without data); pass a tensor with values")
    high = v.integer("high", high)
    if not low < high <= low + 10_000:
        raise ValueError(f"high must be above low and at most 10_000 bins above it: "
                         f"low={low}, so high from {low + 1} to {low + 10_000}; got high={high}")
    mags = values.detach().double().abs().flatten()
    k = torch.floor(torch.log2(mags[mags > 0])).clamp(low, high - 1).long()
    counts = torch.bincount(k - low, minlength=high - low)
    return pd.DataFrame({"log2 |gradient|": list(range(low, high)), "count": counts.tolist()})


@dataclass(frozen=True)
class Underflow:
    """Gradient elements of one backward pass at a loss scale: how many are
    non-zero in fp32, how many of those came out exactly 0 from the 16-bit
    pass ("lost"), whether any overflowed to inf or NaN, and the relative
    error of the weight gradients, ‖g16 − g32‖ / ‖g32‖ (inf after overflow)."""

    loss_scale: float
    weight_nonzero: int
    weight_lost: int
    activation_nonzero: int
    activation_lost: int
    overflow: bool
    weight_error: float


def gradient_underflow(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, dtype: torch.dtype = torch.float16, loss_scale: float = 1.0
) -> Underflow:
    """Compare :func:`gradients` in fp32 with the same pass in ``dtype`` at
    ``loss_scale``, at the same weights: count gradients that are non-zero in
    fp32 but 0 in 16 bits (they fell below half of the smallest subnormal,
    2^-25 for fp16, somewhere in backward), flag overflow (a scaled
    gradient above the format's max became inf), and measure how far the
    weight gradients are from fp32's. Lesson 04, section 4.
    """
    if dtype not in (torch.float16, torch.bfloat16):
        raise ValueError(f"dtype must be torch.float16 or torch.bfloat16, got {dtype!r}")
    ref_w, ref_a = gradients(model, x, y)
    low_w, low_a = gradients(model, x, y, dtype=dtype, loss_scale=loss_scale)
    overflow = not (torch.isfinite(low_w).all() and torch.isfinite(low_a).all())
    return Underflow(
        float(loss_scale),
        int((ref_w != 0).sum()),
        int(((ref_w != 0) & (low_w == 0)).sum()),
        int((ref_a != 0).sum()),
        int(((ref_a != 0) & (low_a == 0)).sum()),
        bool(overflow),
        math.inf if overflow else float((low_w - ref_w).norm() / ref_w.norm()) if ref_w.any() else 0.0,
    )


# ---------------------------------------------------------------------------
# Speed
# ---------------------------------------------------------------------------


@v.checked
def time_matmul(dtype: torch.dtype, n: v.Size(8192) = 256, *, device="cpu", repeats: v.Size(v.MAX_REPEATS) = 5, threads: v.Size(available_cpus()) | None = None):
    """Time an (n × n) @ (n × n) matmul in ``dtype`` on ``device`` with
    :func:`course_lib.measure.time_it` (1 warm-up), with ``threads`` CPU
    threads if given (restored afterwards): on a busy machine a multi-threaded
    matmul can stall waiting for a thread the OS has descheduled, one thread
    cannot. Returns its ``Timing``. Lesson 04, section 6."""
    if dtype not in (torch.float32, torch.bfloat16, torch.float16):
        raise ValueError(f"dtype must be torch.float32, torch.bfloat16 or torch.float16, got {dtype!r}")
    if 2 * n**3 * (repeats + 1) > 4e11:
        raise ValueError(f"n={n} with repeats={repeats} is {2 * n**3 * (repeats + 1):.3g} FLOPs, more than the 4e11 "
                         "that finish in seconds; use a smaller n or fewer repeats")
    g = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=g).to(device=device, dtype=dtype)
    b = torch.randn(n, n, generator=g).to(device=device, dtype=dtype)
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return time_it(lambda: a @ b, warmup=1, repeats=repeats)
    finally:
        torch.set_num_threads(before)


@v.checked
def cpu_half_precision_flags(cpuinfo: v.Instance((str, Path), "a path (str or pathlib.Path)") = "/proc/cpuinfo") -> dict[str, bool]:
    """Whether this CPU has instructions that compute in 16 bits:
    ``{"bf16": avx512_bf16 or amx_bf16, "fp16": avx512_fp16 or amx_fp16}``,
    read from the ``flags`` line of ``/proc/cpuinfo`` (False where unreadable).
    Without them, bf16 and fp16 matmuls are converted to fp32 and back, or
    run on a slow generic path. Lesson 04, section 6."""
    try:
        with open(cpuinfo, "rb") as f:  # at most 1 MiB: a device such as /dev/zero never ends
            text = f.read(2**20).decode("utf-8", errors="replace")
        flags = next((line.split(":", 1)[1].split() for line in text.splitlines()
                      if line.startswith("flags") and ":" in line), [])
    except (OSError, ValueError):
        flags = []
    return {
        "bf16": "avx512_bf16" in flags or "amx_bf16" in flags,
        "fp16": "avx512_fp16" in flags or "amx_fp16" in flags,
    }


def half_precision_verdict(flags: dict[str, bool]) -> str:
    """One sentence on what 16-bit formats can buy on this CPU, from the
    instruction flags :func:`cpu_half_precision_flags` read: speed as well as
    memory for a format the CPU has instructions for, memory only for one it
    lacks (its matmuls are converted to fp32 or take a slow generic path).
    Whether the speed came out on a given run is measured beside it
    (``measure.compare``). Lesson 03, section 3; lesson 04, section 6."""
    flags = v.mapping("flags", flags, required=("bf16", "fp16"))
    has = {name: v.boolean(f"flags['{name}']", flags[name]) for name in ("bf16", "fp16")}
    fast = [name for name in ("bf16", "fp16") if has[name]]
    slow = [name for name in ("bf16", "fp16") if not has[name]]
    if not fast:
        return ("This CPU has neither bf16 nor fp16 instructions (AVX-512 BF16, AVX-512 FP16 or AMX): here lower "
                "precision buys memory only; 16-bit matmuls are converted to fp32 or take a slow generic path.")
    if not slow:
        return ("This CPU has bf16 and fp16 instructions (AVX-512 BF16/FP16 or AMX): here both 16-bit formats can "
                "buy speed as well as memory.")
    units = {"bf16": "AVX-512 BF16 or AMX-BF16", "fp16": "AVX-512 FP16 or AMX-FP16"}[fast[0]]
    return (f"This CPU has {fast[0]} instructions ({units}) but no {slow[0]} ones: here {fast[0]} can buy speed as "
            f"well as memory, while {slow[0]} buys memory only (its matmuls take a slow generic path).")


# ---------------------------------------------------------------------------
# Texts for the format explorer (course_lib.ui.calculators.format_explorer)
# ---------------------------------------------------------------------------


def known_layouts() -> dict[tuple[int, int], str]:
    """``{(exponent bits, mantissa bits): name}`` of the named formats. Used by
    :func:`course_lib.ui.calculators.render_format`; not tied to one lesson."""
    return {(get_format(n).exponent_bits, get_format(n).mantissa_bits): n for n in FORMAT_NAMES}
