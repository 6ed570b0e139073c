"""A short LoRA adapter for the course's models (lesson 02).

LoRA (Hu et al. 2021, *LoRA: Low-Rank Adaptation of Large Language Models*)
freezes a pretrained weight ``W`` (d_out × d_in) and trains a low-rank update
``B @ A`` (B: d_out × r, A: r × d_in), so only r · (d_in + d_out) numbers per
adapted matrix have gradients and optimizer state. :func:`add_lora` wraps
chosen ``nn.Linear`` modules of a model in :class:`LoRALinear`;
:func:`tinygpt_architecture` describes a :class:`~course_lib.models.TinyGPT`
as a :class:`course_lib.arch.Architecture`, so
:meth:`~course_lib.arch.Architecture.training_memory` can predict the LoRA
step that :func:`course_lib.memory.training_memory` measures.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from . import _validate as v
from .arch import Architecture

# course_lib.arch.LoRA target names -> TinyGPT module names (q, k, v share the fused qkv matrix)
TINYGPT_TARGETS = {"q": "attn.qkv", "k": "attn.qkv", "v": "attn.qkv", "o": "attn.proj", "up": "mlp.0", "down": "mlp.2"}


class LoRALinear(nn.Module):
    """``base(x) + (x @ A.T @ B.T) · alpha / r`` with ``base`` frozen; ``B``
    starts at zero so the wrapped model computes what it did. Used by :func:`course_lib.lora.add_lora`; not tied to
    one lesson."""

    @v.checked
    def __init__(self, base: v.Instance(nn.Linear, "a torch.nn.Linear"), rank: int = 8, alpha: v.Positive | None = None, seed: v.Seed = 0):
        super().__init__()
        r = v.positive_int("rank", rank, maximum=min(base.in_features, base.out_features))
        self.base = base
        for p in base.parameters():
            p.requires_grad_(False)
        g = torch.Generator().manual_seed(seed)
        self.A = nn.Parameter(torch.randn(r, base.in_features, generator=g) / math.sqrt(base.in_features))
        self.B = nn.Parameter(torch.zeros(base.out_features, r))
        self.scale = (alpha if alpha is not None else r) / r

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The frozen layer plus the scaled low-rank update. Lesson 02, section 8."""
        if not v.input_passed(self, x):
            v.tensor("x", x, kind="float", last_dim=self.base.in_features,
                     dtype=None if v._autocast() else self.A.dtype, allow_nan=True)  # a model's own activations: not scanned
            v.remember_input(self, x, "forward")
        return self.base(x) + (x @ self.A.T @ self.B.T) * self.scale


@v.checked
def add_lora(model: nn.Module, rank: v.PositiveInt = 8, targets=("attn.qkv",), seed: v.Seed = 0) -> nn.Module:
    """A copy of ``model`` with every parameter frozen and each ``nn.Linear``
    whose name ends with one of ``targets`` wrapped in :class:`LoRALinear`.
    Raises ``ValueError`` if a target matches nothing. Lesson 02."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(targets, (tuple, list)) or not targets or not all(isinstance(t, str) for t in targets):
        raise TypeError(f"targets must be a non-empty tuple of module-name endings (str), got {v.show(targets)}")
    model = copy.deepcopy(model)
    for p in model.parameters():
        p.requires_grad_(False)
    found = set()
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            full = f"{name}.{child_name}" if name else child_name
            hit = [t for t in targets if full == t or full.endswith("." + t)]
            if hit and isinstance(child, nn.Linear):
                setattr(module, child_name, LoRALinear(child, rank, seed=seed))
                found.update(hit)
    missing = [t for t in targets if t not in found]
    if missing:
        raise ValueError(f"targets {missing} match no nn.Linear of {type(model).__name__}")
    return model


def tinygpt_architecture(model: nn.Module) -> Architecture:
    """A :class:`~course_lib.models.TinyGPT` as an :class:`Architecture`
    (GPT-2's layout: learned positions, LayerNorm, biases, a 4× GELU MLP,
    an untied head without bias). Lesson 02."""
    needed = ("vocab_size", "d_model", "n_heads", "n_layers", "max_seq_len")
    if not all(hasattr(model, n) for n in needed):
        raise TypeError(f"model must be a course_lib.models.TinyGPT, got {type(model).__name__}")
    h = model.d_model
    return Architecture(family="gpt2", vocab_size=model.vocab_size, hidden_size=h, n_layers=model.n_layers,
                        n_heads=model.n_heads, n_kv_heads=model.n_heads, head_dim=h // model.n_heads,
                        ffn_size=4 * h, ffn_kind="mlp", tied_embeddings=False, qkv_bias=True, out_bias=True,
                        mlp_bias=True, norm="layernorm", positions=model.max_seq_len, activation="gelu",
                        name="TinyGPT")
