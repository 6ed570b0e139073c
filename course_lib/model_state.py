"""Training-memory and ZeRO accounting over a model's shape (lessons 02 and 06).

The arithmetic behind :meth:`course_lib.arch.Architecture.training_memory`
and :meth:`course_lib.arch.Architecture.zero_memory` (their public entry
points, which check the arguments), and behind :func:`course_lib.fit.will_it_fit`
and :func:`course_lib.zero_fit.zero_fit`, which call them:

- :func:`training_memory`: weights, gradients, optimizer state and
  activations of one training step, with LoRA / QLoRA;
- :func:`zero_memory`: model state per device under ZeRO 0–3, in three
  labelled byte conventions (:data:`ZERO_CONVENTIONS`), the gathered-layer
  term at stage 3, with or without LoRA adapters. Sharding itself is the
  course's one ZeRO rule, :func:`course_lib.predict.zero_breakdown`.

``a`` is any object with :class:`~course_lib.arch.Architecture`'s fields and
methods; this module does not import :mod:`course_lib.arch` (``arch``
imports it, and :mod:`course_lib.fit` / :mod:`course_lib.zero_fit` resolve
presets through ``arch``), so the layering stays a tree.
"""

from __future__ import annotations

from . import _validate as v
from . import predict

ZERO_CONVENTIONS = {
    "zero": "16 B/param: 16-bit weights and gradients, fp32 master weights and Adam moments "
            "(Rajbhandari et al. 2020, ZeRO)",
    "hf": "18 B/param: fp32 and 16-bit weights, fp32 gradients, fp32 moments (Hugging Face, model_memory_anatomy)",
    "deepspeed": "20 B/param: DeepSpeed's estimate_zero2/zero3_model_states_mem_needs (16-bit weights and "
                 "gradients, 16 B/param of fp32 optimizer partition incl. fp32 gradients)",
}

_PARTS = ("weights", "gradients", "optimizer_state")


@v.checked
def zero_memory(a: v.Shape, n_devices: v.PositiveInt, stage: v.IntRange(0, 3), *,
                convention: v.Choice[ZERO_CONVENTIONS] = "zero", optimizer: str = "adamw", lora=None) -> dict[str, int]:
    """Model-state bytes per device ``{"weights", "gradients",
    "optimizer_state", "gathered_layer", "total"}``; arguments and
    conventions as :meth:`course_lib.arch.Architecture.zero_memory` documents
    them. With ``lora`` (a :class:`course_lib.arch.LoRA`)
    only the adapters train: their state follows ``convention``'s bytes per
    parameter and is sharded by stage, the frozen base is sharded only at
    stage 3, where the largest layer's base is gathered at its stored width.
    Used by :meth:`course_lib.arch.Architecture.zero_memory` and
    :func:`course_lib.zero_fit.zero_fit`; not tied to one lesson."""
    d = n_devices
    if lora is not None and not all(hasattr(lora, f) for f in ("trainable_params", "base_bytes", "base_bits")):
        raise TypeError(f"lora must be None or a course_lib.arch.LoRA, got {v.show(lora)}")
    if lora is not None:
        return _lora_zero_memory(a, d, stage, convention, optimizer, lora)
    n = a.n_params
    gathered = 4 * a.largest_layer_params() if stage == 3 else 0
    if convention == "deepspeed":
        if optimizer != "adamw":
            raise ValueError(f"optimizer must be 'adamw' for the deepspeed convention, got {optimizer!r}")
        if stage == 0:
            w, g, o = 2 * n, 2 * n, 16 * n
        elif stage in (1, 2):
            w, g, o = 2 * n, 2 * n, int(16 * n / d)
        else:  # DeepSpeed's int() rounding, 18 B/param sharded
            w, g = int(2 * n / d), 0
            o = int(18 * n / d) - w
        out = {"weights": w, "gradients": g, "optimizer_state": o}
    else:
        out = predict.zero_breakdown(n, d, stage, optimizer, "mixed" if convention == "zero" else "mixed_hf")
        out = {k: out[k] for k in _PARTS}
    out["gathered_layer"] = gathered
    out["total"] = sum(out.values())
    return out


def _lora_zero_memory(a, d: int, stage: int, convention: str, optimizer: str, lora) -> dict[str, int]:
    trainable = lora.trainable_params(a)
    base = lora.base_bytes(a)
    if convention == "deepspeed":
        per = {"weights": 2, "gradients": 2, "optimizer_state": 16}
        out = {k: -(-per[k] * trainable // d) if k in predict.ZERO_ORDER[:stage] else per[k] * trainable for k in per}
    else:
        out = predict.zero_breakdown(trainable, d, stage, optimizer, "mixed_hf" if convention == "hf" else "mixed")
        out = {k: out[k] for k in _PARTS}
    out["weights"] += -(-base // d) if stage == 3 else base
    out["gathered_layer"] = 0
    if stage == 3:  # the largest layer's frozen base gathered whole, at its stored width
        out["gathered_layer"] = a.largest_layer_params() * (2 if lora.base_bits == 16 else 1)
    out["total"] = sum(out.values())
    return out


@v.checked
def training_memory(a: v.Shape, *, batch: v.PositiveInt, seq_len: v.PositiveInt, optimizer: str = "adamw",
                    precision: str = "mixed", attention: str = "sdpa", checkpointing: v.Bool = False,
                    lora=None) -> dict[str, int]:
    """Bytes ``{"weights", "gradients", "optimizer_state", "activations",
    "total"}`` of one training step of ``a``; arguments as
    :meth:`course_lib.arch.Architecture.training_memory` documents them. Bytes per parameter from
    :func:`course_lib.predict.bytes_per_param_breakdown`; with ``lora`` the
    base is frozen at ``lora.base_bytes(a)`` and only the adapters have
    gradients and optimizer state; activations from ``a.activation_bytes``
    at the precision's activation width (4 bytes for fp32, else 2). Used by
    :meth:`course_lib.arch.Architecture.training_memory`; not tied to one lesson."""
    if lora is not None and not all(hasattr(lora, f) for f in ("trainable_params", "base_bytes")):
        raise TypeError(f"lora must be None or a course_lib.arch.LoRA, got {v.show(lora)}")
    per = predict.bytes_per_param_breakdown(optimizer, precision)
    act_p = 4 if precision == "fp32" else 2
    act = a.activation_bytes(batch=batch, seq_len=seq_len, attention=attention, bytes_per_value=act_p,
                             checkpointing=checkpointing)
    if lora is None:
        n = a.n_params
        w, g, o = per["weights"] * n, per["gradients"] * n, per["optimizer_state"] * n
    else:
        trainable = lora.trainable_params(a)
        w = lora.base_bytes(a) + per["weights"] * trainable
        g = per["gradients"] * trainable
        o = per["optimizer_state"] * trainable
    return {"weights": int(w), "gradients": int(g), "optimizer_state": int(o), "activations": int(act),
            "total": int(w + g + o + act)}
