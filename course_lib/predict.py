"""The formulas: what a lesson predicts before it measures.

Every function here is pure arithmetic on sizes, with the source of the
formula in its docstring, so a learner can check each number by hand.

- Lesson 01: :func:`matmul_flops`, :func:`training_flops`, :func:`inference_flops`.
- Lesson 02: :func:`bytes_per_param`, :func:`bytes_per_param_breakdown`,
  :func:`kv_cache_bytes`, :func:`transformer_activation_bytes`.
- Lesson 03: :func:`arithmetic_intensity`.
- Lesson 06: :func:`zero_memory_per_device`, :func:`allreduce_bytes`.
"""

from __future__ import annotations

import math

from . import _validate as v
from .train import OPTIMIZER_NAMES

# Bytes per parameter for (weights, gradients, optimizer state), activations
# excluded. "fp32": everything in fp32. "mixed": 16-bit weights and gradients,
# an fp32 master copy plus fp32 optimizer moments counted as optimizer state
# (ZeRO's 2Ψ + 2Ψ + KΨ accounting, K = 12 for Adam). "mixed_fp32_grads": the
# same with gradients also accumulated in fp32 (Ultra-Scale Playbook, 20 B for
# Adam). "mixed_hf": Hugging Face's model_memory_anatomy accounting (fp32 and
# half weights, fp32 gradients, fp32 moments: 18 B for AdamW). "bf16": pure
# 16-bit training, states in 16 bit too (no master copy).
_STATES_PER_PARAM = {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}
ACCOUNTINGS = ("fp32", "mixed", "mixed_fp32_grads", "mixed_hf", "bf16")
"""The training-precision accountings of bytes per parameter (the ``precision``
argument below); number formats are :data:`course_lib.precision.FORMAT_NAMES`."""


@v.checked
def matmul_flops(m: v.PositiveInt, k: v.PositiveInt, n: v.PositiveInt) -> int:
    """FLOPs of an (m x k) @ (k x n) matmul: one multiply and one add per term, 2·m·k·n.

    Lesson 01 uses it for a Linear layer: ``matmul_flops(batch, in_features, out_features)``.
    Lesson 01, section 2; lesson 03, section 1; lab 01, exercise 2.
    """
    return 2 * m * k * n


@v.checked
def inference_flops(n_params: v.Positive, n_tokens: v.Positive) -> float:
    """Forward-pass FLOPs of a dense model: 2·N·D (Kaplan et al. 2020).
    Lesson 01, section 4; lesson 05, section 3; lab 05, exercise 3."""
    return 2.0 * n_params * n_tokens


@v.checked
def training_flops(n_params: v.Positive, n_tokens: v.Positive) -> float:
    """Training FLOPs of a dense model: 6·N·D, forward 2·N·D plus backward 4·N·D
    (Kaplan et al. 2020; EleutherAI, Transformer Math 101).
    Lesson 00; lesson 01, section 4; lesson 05, section 3; lab 05, exercise 2."""
    return 6.0 * n_params * n_tokens


@v.checked
def bytes_per_param_breakdown(optimizer: v.Choice[OPTIMIZER_NAMES], precision: v.Choice[ACCOUNTINGS] = "fp32") -> dict[str, int]:
    """Bytes per parameter as ``{"weights", "gradients", "optimizer_state"}``. Lesson 02.

    ``optimizer`` is one of ``"sgd"``, ``"momentum"``, ``"adam"``, ``"adamw"``;
    ``precision`` one of :data:`ACCOUNTINGS` (see the comment above it for the
    conventions and their sources). Lesson 02, sections 1 and 7; lab 02, exercise 1.
    """
    states = _STATES_PER_PARAM[optimizer]
    if precision == "fp32":
        return {"weights": 4, "gradients": 4, "optimizer_state": 4 * states}
    if precision == "bf16":
        return {"weights": 2, "gradients": 2, "optimizer_state": 2 * states}
    if precision == "mixed":
        return {"weights": 2, "gradients": 2, "optimizer_state": 4 + 4 * states}
    if precision == "mixed_fp32_grads":
        return {"weights": 2, "gradients": 2 + 4, "optimizer_state": 4 + 4 * states}
    # mixed_hf
    return {"weights": 4 + 2, "gradients": 4, "optimizer_state": 4 * states}


def bytes_per_param(optimizer: str, precision: str = "fp32") -> float:
    """Bytes of model state per parameter (weights + gradients + optimizer state).

    fp32: sgd 8, momentum 12, adam/adamw 16. ``"mixed"``: 16-bit weights and
    gradients with fp32 master weights and moments, adam/adamw 16 (Rajbhandari
    et al., ZeRO, 2020). ``"mixed_fp32_grads"``: 20 (Ultra-Scale Playbook,
    2025). ``"mixed_hf"``: 18 (Hugging Face, model_memory_anatomy).
    Lesson 02, sections 1 and 7; lesson 05, section 7; lab 02, exercises 2 and 5.
    """
    return float(sum(bytes_per_param_breakdown(optimizer, precision).values()))


@v.checked
def kv_cache_bytes(
    n_layers: v.PositiveInt,
    n_kv_heads: v.PositiveInt,
    head_dim: v.PositiveInt,
    seq_len: v.PositiveInt,
    batch: v.PositiveInt = 1,
    bytes_per_value: v.Positive = 2,
) -> int:
    """Bytes of the key/value cache: 2 (K and V) · bytes · head_dim · n_kv_heads ·
    n_layers · seq_len · batch (Austin et al., How to Scale Your Model, 2025).

    With grouped-query attention pass the number of KV heads, not query heads.
    ``bytes_per_value`` may be fractional (0.5 for a 4-bit cache). Lesson 02, section 5; lab 02, exercise 3.
    """
    values = 2 * n_layers * n_kv_heads
    values *= head_dim * seq_len
    values *= batch
    return math.ceil(values * bytes_per_value)


@v.checked
def transformer_activation_bytes(
    seq_len: v.PositiveInt, batch: v.PositiveInt, hidden: v.PositiveInt, n_heads: v.PositiveInt, n_layers: v.PositiveInt = 1
) -> float:
    """Activation bytes saved for backward by a GPT layer in half precision,
    without recomputation: s·b·h·(34 + 5·a·s/h) per layer (Korthikanti et al.
    2022, Reducing Activation Recomputation in Large Transformer Models). Lesson 02, section 1.
    """
    s = seq_len
    b = batch
    h = hidden
    a = n_heads
    layers = n_layers
    return s * b * h * (34 + 5 * a * s / h) * layers


@v.checked
def arithmetic_intensity(m: int, k: int, n: int, bytes_per_value: v.Positive) -> float:
    """FLOPs per byte moved of an (m x k)·(k x n) matmul that reads both inputs
    and writes the output once: 2mkn / (bytes · (mk + kn + mn)) (Williams et
    al. 2009, Roofline; Austin et al. 2025). Lesson 03, section 3; lab 03, exercises 2 and 3.
    """
    flops = matmul_flops(m, k, n)
    moved = bytes_per_value * (m * k + k * n + m * n)
    return flops / moved


ZERO_ORDER = ("optimizer_state", "gradients", "weights")
"""What ZeRO stages 1, 2 and 3 add to the shard, in that order (:func:`zero_breakdown`)."""


@v.checked
def zero_breakdown(
    n_params: v.PositiveInt, n_devices: v.PositiveInt, stage: v.IntRange(0, 3), optimizer: str = "adamw", precision: str = "mixed"
) -> dict[str, int]:
    """Per-device bytes ``{"weights", "gradients", "optimizer_state", "total"}``
    of model state under ZeRO data parallelism (Rajbhandari et al., ZeRO,
    2020): stage 0 replicates everything (plain DDP); stage 1 shards the
    optimizer state over ``n_devices``; stage 2 also the gradients; stage 3
    also the weights. Bytes per parameter come from
    :func:`bytes_per_param_breakdown`; a sharded part is ceil(bytes /
    n_devices), each part on its own. The course's one ZeRO rule. Used by
    :func:`zero_memory_per_device`; not tied to one lesson.
    """
    n = n_params
    d = n_devices
    per = bytes_per_param_breakdown(optimizer, precision)
    out = {}
    for part in ("weights", "gradients", "optimizer_state"):
        full = per[part] * n
        out[part] = -(-full // d) if part in ZERO_ORDER[:stage] else full
    out["total"] = sum(out.values())
    return out


@v.checked
def zero_memory_per_device(
    n_params: int,
    n_devices: int,
    stage: int,
    optimizer: str = "adamw",
    precision: str = "mixed",
) -> int:
    """Bytes of model state per device under ZeRO ``stage``: the total of
    :func:`zero_breakdown`, so stage 0 equals ``n_params *
    bytes_per_param(optimizer, precision)``. Lesson 06, sections 1, 2, 3 and 4; lab 06, exercise 3.
    """
    return zero_breakdown(n_params, n_devices, stage, optimizer, precision)["total"]


@v.checked
def allreduce_bytes(n_bytes: v.NonNegative, n_devices: v.PositiveInt) -> float:
    """Bytes each device sends in a ring all-reduce of ``n_bytes``:
    2·(N−1)/N · n_bytes, a reduce-scatter then an all-gather, each (N−1)/N
    (Patarasuk & Yuan 2009; used by NCCL and gloo's ring). Lesson 06, section 4.
    """
    size = n_bytes
    d = n_devices
    return 2.0 * (d - 1) / d * size


# ---------------------------------------------------------------- lesson 02: activations of the course's models


@v.checked
def gpt_layer_activation_bytes(
    seq_len: v.PositiveInt, batch: v.PositiveInt, hidden: v.PositiveInt, n_heads: v.PositiveInt, *, bytes_per_value: v.Positive = 2, dropout: bool = True
) -> int:
    """Activation bytes one GPT layer saves for backward, term by term as
    Korthikanti et al. (2022, Reducing Activation Recomputation in Large
    Transformer Models, section 4.1) derive them, with the value size and the
    dropout masks made explicit. Lesson 02.

    Per layer, ``bytes_per_value`` (p) for each saved value, 1 byte per dropout
    mask element: attention keeps the QKV input, Q and K, the softmax output,
    V and the output projection's input (5·s·b·h·p + a·s²·b·p); the MLP keeps
    its input, the GELU input and the second Linear's input (9·s·b·h·p); the
    two LayerNorms their inputs (2·s·b·h·p). Dropout adds a mask after
    attention, one after the MLP (2·s·b·h) and one on the attention
    probabilities plus its output (a·s²·b·(1 + p)). With ``p = 2`` and
    dropout this is s·b·h·(34 + 5·a·s/h), :func:`transformer_activation_bytes`. Lesson 02, section 1.
    """
    s = seq_len
    b = batch
    h = hidden
    a = n_heads
    p = bytes_per_value
    if not isinstance(dropout, bool):
        raise TypeError(f"dropout must be True or False, got {dropout!r}")
    total = s * b * h * 16 * p + a * s * s * b * p
    if dropout:
        total += 2 * s * b * h + a * s * s * b * (1 + p)
    return math.ceil(total)


def _sizes(model_or_sizes, keys: tuple[str, ...], what: str) -> dict[str, int]:
    if isinstance(model_or_sizes, dict):
        missing = [k for k in keys if k not in model_or_sizes]
        if missing:
            raise ValueError(f"model_or_sizes is missing {missing}; a {what} needs {list(keys)}")
        return {k: v.positive_int(k, model_or_sizes[k]) for k in keys}
    raise TypeError(f"model_or_sizes must be a {what} model or a dict with keys {list(keys)}, got {type(model_or_sizes).__name__}")


def mlp_sizes(model_or_sizes) -> dict[str, int]:
    """``{"d_in", "hidden", "depth"}`` of a :class:`course_lib.models.MLP` (read
    from its Linear layers) or of a dict with those keys. Used by :func:`course_lib.predict.mlp_activation_bytes`; not
    tied to one lesson."""
    net = getattr(model_or_sizes, "net", None)
    if net is not None and not isinstance(model_or_sizes, dict):
        linears = [m for m in net if hasattr(m, "in_features")]
        if len(linears) < 2:
            raise TypeError("model_or_sizes must be a course_lib.models.MLP (a .net of Linear layers)")
        return {"d_in": linears[0].in_features, "hidden": linears[0].out_features, "depth": len(linears) - 1}
    return _sizes(model_or_sizes, ("d_in", "hidden", "depth"), "MLP")


def tinygpt_sizes(model_or_sizes) -> dict[str, int]:
    """``{"d_model", "n_heads", "n_layers"}`` of a :class:`course_lib.models.TinyGPT`
    (or a :class:`course_lib.memory.Checkpointed` one) or of a dict.
    Used by :func:`course_lib.predict.tinygpt_activation_bytes`; not tied to one lesson."""
    model = getattr(model_or_sizes, "gpt", model_or_sizes)
    if not isinstance(model, dict) and all(hasattr(model, k) for k in ("d_model", "n_heads", "n_layers")):
        return {k: int(getattr(model, k)) for k in ("d_model", "n_heads", "n_layers")}
    return _sizes(model_or_sizes, ("d_model", "n_heads", "n_layers"), "TinyGPT")


@v.checked
def mlp_activation_bytes(model_or_sizes, batch: v.PositiveInt, *, bytes_per_value: v.PositiveInt = 4) -> int:
    """Bytes :class:`course_lib.models.MLP` saves for backward with the default
    loss ``output.sum()``: batch · (d_in + depth · hidden) · bytes.

    Derived from what autograd saves: each Linear saves its input (the first
    one saves the batch itself; the others the previous ReLU's output, which
    that ReLU saved too: one storage) and its weight (a parameter, not
    counted); ``sum`` saves only a shape. Lesson 02 checks it to the byte
    against :func:`course_lib.memory.training_memory`. Lesson 02, section 1; lesson 03, section 2.
    """
    sz = mlp_sizes(model_or_sizes)
    b = batch
    p = bytes_per_value
    return b * (sz["d_in"] + sz["depth"] * sz["hidden"]) * p


@v.checked
def tinygpt_activation_bytes(model_or_sizes, batch: v.PositiveInt, seq_len: v.PositiveInt, *, checkpointing: bool = False) -> int:
    """Bytes :class:`course_lib.models.TinyGPT` (float32) saves for backward
    with the default loss ``output.sum()``. Lesson 02.

    Each block saves exactly Korthikanti's terms with no dropout and 4-byte
    values, :func:`gpt_layer_activation_bytes` (64·s·b·h + 4·a·s²·b), plus
    two things a fused kernel would not keep: the causal mask (s² bools) and
    the mean and reciprocal std of both LayerNorms (4·4·b·s). (The copies of
    Q, K and V that ``matmul`` makes to batch the heads are the saved Q, K, V.)
    Outside the blocks: the token ids (8·b·s, int64) and positions (8·s) the
    embeddings save, the final LayerNorm's input and statistics (4·b·s·h +
    8·b·s), and the head's input (4·b·s·h).

    With ``checkpointing=True`` (:class:`course_lib.memory.Checkpointed`) a
    block keeps only its input, 4·b·s·h.
    Lesson 02, sections 1, 3 and 6; lesson 03, section 2; lab 02, exercise 2.
    """
    sz = tinygpt_sizes(model_or_sizes)
    b = batch
    s = seq_len
    if not isinstance(checkpointing, bool):
        raise TypeError(f"checkpointing must be True or False, got {checkpointing!r}")
    h, a, layers = sz["d_model"], sz["n_heads"], sz["n_layers"]
    if checkpointing:
        block = 4 * b * s * h
    else:
        block = gpt_layer_activation_bytes(s, b, h, a, bytes_per_value=4, dropout=False) + s * s + 16 * b * s
    outside = 8 * b * s + 8 * s + (4 * b * s * h + 8 * b * s) + 4 * b * s * h
    return layers * block + outside
