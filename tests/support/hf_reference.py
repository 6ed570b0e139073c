"""Test-only reference measurements of transformers models, independent of course_lib.

Every function takes a Hugging Face ``config.json`` as a dict (the keys that
start with ``_``, such as a preset's ``_source``, are dropped), builds the
model with transformers (``HF_HUB_OFFLINE=1``: nothing is downloaded) and
measures it with torch alone:

- :func:`meta_param_count`: ``(total, active_per_token)`` of the model built on
  the meta device (no memory, any size). ``active`` is ``total`` less the
  routed experts a token does not use: every MoE experts block found in the
  module tree contributes ``top_k`` of its ``n_experts`` experts; shared
  experts, routers, attention, norms, embedding and LM head count in full.
- :func:`kv_bytes_after_generate`: the bytes of every tensor the cache holds
  after ``model.generate`` (unique storages), for each layer kind of a
  transformers 5 cache (``cache.layers``: full, sliding window, linear
  attention states, whatever tensors a layer object keeps).
- :func:`forward_flops`: ``FlopCounterMode``'s count of one forward pass, with
  the CPU flash-attention kernel counted like the CUDA one.
- :func:`saved_activation_bytes`: unique storages autograd saves for backward
  in one training forward pass with a cross-entropy loss, parameters excluded
  (``saved_tensors_hooks``).

Multimodal checkpoints whose config wraps a ``text_config`` (Gemma 3, Llama 4,
Mistral 3, ...) are measured on their language model alone
(``AutoModelForCausalLM`` built from the text config), the part that
generates text; :func:`build` with ``text_only=False`` builds the published
wrapper. Runtime measurements use random weights in fp32 on the CPU: use tiny
widths. Real-size configs belong on the meta device only
(:func:`meta_param_count`).
"""

from __future__ import annotations

import os
import warnings

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
import transformers  # noqa: E402
from torch.nn import functional as F  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode, flop_registry  # noqa: E402

transformers.logging.set_verbosity_error()

# Tiny same-shaped configs, one per family transformers 5 ships that a 2026
# learner meets: each keeps what makes its family (GQA, explicit head_dim,
# sliding / chunked / linear-attention layers, experts with shared experts and
# dense first layers, MLA latents, q/k norms, parallel blocks, biases). Widths
# are tiny so a forward, a backward and a generate take milliseconds.
TINY_VOCAB = 256
TINY_CONFIGS = {
    "llama": dict(model_type="llama", vocab_size=TINY_VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2),
    "qwen3": dict(model_type="qwen3", vocab_size=TINY_VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, head_dim=32),
    "qwen3_moe": dict(model_type="qwen3_moe", vocab_size=TINY_VOCAB, hidden_size=64, intermediate_size=128,
                      moe_intermediate_size=32, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                      head_dim=16, num_experts=8, num_experts_per_tok=2, mlp_only_layers=[0]),
    "gemma2": dict(model_type="gemma2", vocab_size=TINY_VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                   num_attention_heads=4, num_key_value_heads=2, head_dim=16, sliding_window=8,
                   query_pre_attn_scalar=16),
    "gemma3_text": dict(model_type="gemma3_text", vocab_size=TINY_VOCAB, hidden_size=64, intermediate_size=128,
                        num_hidden_layers=6, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                        sliding_window=8, query_pre_attn_scalar=16),
    "gemma3": dict(model_type="gemma3", text_config=dict(model_type="gemma3_text", vocab_size=TINY_VOCAB, hidden_size=64,
                   intermediate_size=128, num_hidden_layers=6, num_attention_heads=4, num_key_value_heads=2,
                   head_dim=16, sliding_window=8, query_pre_attn_scalar=16),
                   vision_config=dict(model_type="siglip_vision_model", hidden_size=32, intermediate_size=64,
                                      num_hidden_layers=1, num_attention_heads=2, image_size=28, patch_size=14),
                   mm_tokens_per_image=4),
    "gpt_oss": dict(model_type="gpt_oss", vocab_size=TINY_VOCAB, hidden_size=64, intermediate_size=32, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2, head_dim=16, num_local_experts=4,
                    num_experts_per_tok=2, sliding_window=8, layer_types=["sliding_attention", "full_attention"]),
    "deepseek_v3": dict(model_type="deepseek_v3", vocab_size=TINY_VOCAB, hidden_size=64, intermediate_size=128,
                        moe_intermediate_size=32, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=4,
                        n_routed_experts=8, n_shared_experts=1, num_experts_per_tok=2, first_k_dense_replace=1,
                        n_group=2, topk_group=1, q_lora_rank=32, kv_lora_rank=16, qk_nope_head_dim=16,
                        qk_rope_head_dim=8, v_head_dim=16),
    "deepseek_v2": dict(model_type="deepseek_v2", vocab_size=TINY_VOCAB, hidden_size=64, intermediate_size=128,
                        moe_intermediate_size=32, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=4,
                        n_routed_experts=8, n_shared_experts=2, num_experts_per_tok=2, first_k_dense_replace=1,
                        q_lora_rank=None, kv_lora_rank=16, qk_nope_head_dim=16, qk_rope_head_dim=8, v_head_dim=16),
    "llama4_text": dict(model_type="llama4_text", vocab_size=TINY_VOCAB, hidden_size=64, intermediate_size=32,
                        intermediate_size_mlp=128, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
                        head_dim=16, num_local_experts=4, num_experts_per_tok=1, interleave_moe_layer_step=2,
                        attention_chunk_size=8),
    "olmo2": dict(model_type="olmo2", vocab_size=TINY_VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2),
    "smollm3": dict(model_type="smollm3", vocab_size=TINY_VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=4,
                    num_attention_heads=4, num_key_value_heads=2, no_rope_layer_interval=4, pad_token_id=0),
    "granite": dict(model_type="granite", vocab_size=TINY_VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2),
    "phi": dict(model_type="phi", vocab_size=TINY_VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                num_attention_heads=4, partial_rotary_factor=0.5),
    "falcon": dict(model_type="falcon", vocab_size=TINY_VOCAB, hidden_size=64, num_hidden_layers=2, num_attention_heads=4),
    "starcoder2": dict(model_type="starcoder2", vocab_size=TINY_VOCAB, hidden_size=64, intermediate_size=128,
                       num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, sliding_window=8),
    "cohere": dict(model_type="cohere", vocab_size=TINY_VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                   num_attention_heads=4, num_key_value_heads=2),
    "cohere2": dict(model_type="cohere2", vocab_size=TINY_VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=4,
                    num_attention_heads=4, num_key_value_heads=2, sliding_window=8),
    "qwen3_next": dict(model_type="qwen3_next", vocab_size=TINY_VOCAB, hidden_size=64, intermediate_size=128,
                       num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                       linear_num_value_heads=4, linear_num_key_heads=2, linear_key_head_dim=16,
                       linear_value_head_dim=16, linear_conv_kernel_dim=4, num_experts=4, num_experts_per_tok=2,
                       moe_intermediate_size=32, shared_expert_intermediate_size=32,
                       layer_types=["linear_attention"] * 3 + ["full_attention"]),
}
"""Tiny configs by family (``model_type``; ``"gemma3"`` is the multimodal wrapper)."""

# ----------------------------------------------------------------- building


def hf_config(config: dict, *, text_only: bool = True):
    """The transformers config of a ``config.json`` dict; with ``text_only``,
    the language model's config of a wrapper (its ``text_config``)."""
    if not isinstance(config, dict) or "model_type" not in config:
        raise TypeError("config must be a config.json dict with a model_type")
    settings = {k: v for k, v in config.items() if not k.startswith("_")}
    cfg = transformers.AutoConfig.for_model(**settings)
    if text_only and getattr(cfg, "text_config", None) is not None:
        cfg = cfg.get_text_config()
    return cfg


def build(config: dict, *, attention: str | None = None, meta: bool = False, text_only: bool = True, seed: int = 0,
          experts: str | None = None):
    """The model of ``config`` with random weights (fp32, CPU, eval mode), or
    on the meta device (no storage) with ``meta=True``. ``attention``:
    ``"sdpa"``, ``"eager"``, or ``None`` for what transformers picks for the
    family (eager where SDPA cannot run it, e.g. attention sinks); ``experts``:
    transformers' ``experts_implementation`` (``None``: its default)."""
    cfg = hf_config(config, text_only=text_only)
    auto = transformers.AutoModelForCausalLM
    if not text_only and getattr(cfg, "text_config", None) is not None:
        auto = transformers.AutoModelForImageTextToText
    kwargs = {} if attention is None else {"attn_implementation": attention}
    if experts is not None:
        kwargs["experts_implementation"] = experts
    if meta:
        with torch.device("meta"):
            model = auto.from_config(cfg, **kwargs)
    else:
        torch.manual_seed(seed)
        model = auto.from_config(cfg, dtype=torch.float32, **kwargs)
    return model.eval()


def _top_k(cfg) -> int:
    for name in ("num_experts_per_tok", "experts_per_token", "moe_k", "top_k"):
        k = getattr(cfg, name, None)
        if isinstance(k, int) and k > 0:
            return k
    raise ValueError(f"{type(cfg).__name__} has experts but no num_experts_per_tok")


def experts_blocks(model):
    """``[(name, n_experts, params_per_expert)]``: every block of routed
    experts in ``model``, found in the module tree: a ``ModuleList`` named
    ``experts`` (one module per expert), or a module whose parameters are
    stacked over a leading experts dimension (transformers 5's fused
    ``gate_up_proj`` / ``down_proj``)."""
    blocks = []
    for name, module in model.named_modules():
        leaf = name.rsplit(".", 1)[-1]
        if leaf != "experts":
            continue
        if isinstance(module, torch.nn.ModuleList):
            sizes = {sum(p.numel() for p in m.parameters()) for m in module}
            if len(sizes) != 1:
                raise ValueError(f"{name}: experts of different sizes {sizes}")
            blocks.append((name, len(module), sizes.pop()))
            continue
        params = list(module.parameters(recurse=True))
        leading = {p.shape[0] for p in params}
        n = getattr(module, "num_experts", None) or (leading.pop() if len(leading) == 1 else None)
        if n is None or any(p.shape[0] != n for p in params):
            raise ValueError(f"{name}: cannot tell the experts dimension of {[tuple(p.shape) for p in params]}")
        blocks.append((name, n, sum(p.numel() for p in params) // n))
    return blocks


def param_counts(model, cfg) -> tuple[int, int]:
    """``(total, active_per_token)`` of a built model (see the module docstring).
    Tied weights count once."""
    total = sum(p.numel() for p in model.parameters())  # parameters() yields a tied weight once
    blocks = experts_blocks(model)
    if not blocks:
        return total, total
    k = _top_k(cfg)
    unused = sum((n - k) * per for _, n, per in blocks)
    return total, total - unused


def meta_param_count(config: dict) -> tuple[int, int]:
    """``(total, active_per_token)`` parameters of ``config``'s language model
    built on the meta device."""
    model = build(config, meta=True)
    return param_counts(model, model.config)


def embedding_count(config: dict) -> int:
    """Parameters of the input embedding of ``config``'s language model (meta)."""
    model = build(config, meta=True)
    return model.get_input_embeddings().weight.numel()


# ----------------------------------------------------------------- measuring


def _tensors_of(obj):
    """Every tensor an object holds in its attributes (lists/tuples/dicts of tensors included)."""
    found = []
    stack = list(vars(obj).values()) if hasattr(obj, "__dict__") else []
    while stack:
        value = stack.pop()
        if isinstance(value, torch.Tensor):
            found.append(value)
        elif isinstance(value, (list, tuple)):
            stack.extend(value)
        elif isinstance(value, dict):
            stack.extend(value.values())
    return found


def _unique_bytes(tensors) -> int:
    seen = {}
    for t in tensors:
        s = t.untyped_storage()
        seen[(s.data_ptr(), s.nbytes())] = s.nbytes()
    return sum(seen.values())


def cache_layers(cache):
    """The per-layer objects of a transformers 5 cache (``cache.layers``)."""
    layers = getattr(cache, "layers", None)
    if layers is None:
        raise TypeError(f"{type(cache).__name__} has no .layers: not a transformers 5 cache")
    return list(layers)


def cache_tensor_bytes(cache) -> dict:
    """Bytes of the unique storages of every tensor the layers of a
    transformers 5 cache hold, split into ``"state"`` (floating-point tensors:
    keys, values, MLA latents, linear-attention conv / recurrent states) and
    ``"counters"`` (integer tensors: the 0-dim int64 position counters that
    sliding-window and linear-attention layers keep, 8 bytes each)."""
    state, counters = [], []
    for layer in cache_layers(cache):
        for t in _tensors_of(layer):
            (state if t.is_floating_point() else counters).append(t)
    return {"state": _unique_bytes(state), "counters": _unique_bytes(counters)}


def generate_cache(config: dict, batch: int, prompt_len: int, new_tokens: int, *, seed: int = 1):
    """The cache after greedy ``generate`` of ``new_tokens`` tokens (no early
    stop) from random prompts of ``prompt_len`` tokens. It then holds
    ``prompt_len + new_tokens - 1`` positions: the last token is never fed back."""
    model = build(config)
    vocab = model.config.vocab_size
    ids = torch.randint(1, vocab, (batch, prompt_len), generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens,
                             min_new_tokens=new_tokens, do_sample=False, return_dict_in_generate=True,
                             pad_token_id=0, eos_token_id=None)
    return out.past_key_values


def kv_bytes_after_generate(config: dict, batch: int, prompt_len: int, new_tokens: int, *, seed: int = 1) -> int:
    """Bytes of the state the cache holds after :func:`generate_cache`: every
    floating-point tensor of every cache layer (unique storages). The integer
    position counters are left out (see :func:`cache_tensor_bytes`)."""
    return cache_tensor_bytes(generate_cache(config, batch, prompt_len, new_tokens, seed=seed))["state"]


# PyTorch's CPU flash-attention kernel (SDPA on the CPU) has no formula in
# FlopCounterMode; it does the work of the CUDA flash kernel, so it gets its formula.
_aten = torch.ops.aten
_CPU_FLASH = {}
if hasattr(_aten, "_scaled_dot_product_flash_attention_for_cpu"):
    def _like(op):
        formula = flop_registry[op]

        def raw(*args, **kwargs):
            return formula(*args, **kwargs)

        raw._get_raw = True
        return raw

    _CPU_FLASH[_aten._scaled_dot_product_flash_attention_for_cpu] = _like(_aten._scaled_dot_product_flash_attention)
    _CPU_FLASH[_aten._scaled_dot_product_flash_attention_for_cpu_backward] = _like(
        _aten._scaled_dot_product_flash_attention_backward)


# transformers 5 runs routed experts as one grouped matmul (aten._grouped_mm:
# (S, K) tokens sorted by expert @ (E, K, N) stacked weights), which
# FlopCounterMode does not count; each of the S rows meets one expert's K x N
# matrix: 2 S K N FLOPs. test_hf_reference checks it against the experts run
# one by one (experts_implementation="eager"), which FlopCounterMode sees.
def _grouped_mm_flop(a_shape, b_shape, *args, out_shape=None, **kwargs) -> int:
    if len(a_shape) != 2 or len(b_shape) != 3:
        raise NotImplementedError(f"_grouped_mm FLOPs for shapes {a_shape} @ {b_shape}")
    return 2 * a_shape[0] * a_shape[1] * b_shape[2]


if hasattr(_aten, "_grouped_mm"):
    _CPU_FLASH[_aten._grouped_mm] = _grouped_mm_flop


def forward_flops(config: dict, batch: int, seq_len: int, *, attention: str | None = None, experts: str | None = None,
                  seed: int = 2) -> int:
    """``FlopCounterMode``'s FLOPs of one forward pass (logits for every
    position) on random token ids of shape ``(batch, seq_len)``. ``experts``:
    transformers' ``experts_implementation`` (``None``: its default, grouped
    matmuls, counted by the formula above; ``"eager"``: one matmul per expert)."""
    model = build(config, attention=attention, experts=experts).requires_grad_(False)  # (a parameter passed as a module input
    # would otherwise trip FlopCounterMode's module tracker under no_grad: Qwen3-Next's gated delta net)
    ids = torch.randint(0, model.config.vocab_size, (batch, seq_len), generator=torch.Generator().manual_seed(seed))
    counter = FlopCounterMode(display=False, custom_mapping=dict(_CPU_FLASH))
    with torch.no_grad(), counter:
        model(ids, use_cache=False)
    return counter.get_total_flops()


def saved_activation_bytes(config: dict, batch: int, seq_len: int, *, attention: str | None = None,
                           seed: int = 2) -> int:
    """Bytes of the unique storages autograd saves for backward in one
    training-mode forward pass plus a next-token cross-entropy loss, on random
    ids of shape ``(batch, seq_len)``; the parameters' storages excluded."""
    model = build(config, attention=attention).train()
    ids = torch.randint(0, model.config.vocab_size, (batch, seq_len), generator=torch.Generator().manual_seed(seed))
    targets = torch.roll(ids, -1, dims=1)
    params = set()
    for p in model.parameters():
        s = p.untyped_storage()
        params.add((s.data_ptr(), s.nbytes()))
    saved = {}

    def pack(t):
        s = t.untyped_storage()
        saved[(s.data_ptr(), s.nbytes())] = s.nbytes()
        return t

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            logits = model(ids, use_cache=False).logits
            loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten())
    loss.backward()  # the graph really was built
    return sum(n for key, n in saved.items() if key not in params)
