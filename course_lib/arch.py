"""One description of a real model that every prediction shares (lessons 02 and 06).

:class:`Architecture` is read from the file people have, a Hugging Face
``config.json`` (:meth:`Architecture.from_hf_config`, through the safe reader
:func:`course_lib.configs.read_config`), for the families of
:data:`FAMILIES`: ``gpt2``, ``llama``, ``mistral``, ``mixtral``, ``qwen2``,
``gemma``, ``phi3`` and 2026's ``qwen3``, ``qwen3_moe``, ``gemma3_text``
(and the ``gemma3`` wrapper), ``olmo2``, ``smollm3``, ``granite``,
``deepseek_v3`` and ``deepseek_v2`` (latent attention), ``llama4_text`` (and the ``llama4``
wrapper: chunked attention, a shared expert), ``ministral`` and ``ministral3``
(and the ``mistral3`` wrapper of Mistral Small 3.x / Ministral 3), and the LayerNorm families ``phi``
(Phi-1/1.5/2), ``falcon``, ``cohere`` (Command R), ``cohere2`` (Command R7B,
sliding layers) and ``starcoder2``, whose parallel attention/MLP blocks
(Phi, Falcon's ``parallel_attn`` / ``new_decoder_architecture``, Command R)
are read from the config, and ``gpt_oss`` (attention sinks, alternating
sliding/full layers, biased experts), ``gemma4_text`` (and the ``gemma4`` wrapper:
per-layer head widths and KV heads, KV-shared layers, per-layer input embeddings), the hybrid
linear-attention models ``qwen3_next``, ``qwen3_5_text`` and ``qwen3_5_moe_text``
(and the ``qwen3_5`` / ``qwen3_5_moe`` wrappers of Qwen3.5: gated DeltaNet layers with a
constant-size state beside gated full-attention layers). Keys a file leaves out take the defaults
that transformers' configuration class of that family documents. From it:

- :meth:`Architecture.n_params` / :meth:`Architecture.n_active_params`:
  parameters, exactly as ``model.num_parameters()`` counts them; per token
  for a mixture of experts;
- :meth:`Architecture.kv_cache_bytes`: grouped-query attention, an explicit
  ``head_dim``, sliding-window layers, a latent-attention cache and Gemma 4's
  per-layer shapes (KV-shared layers hold none), as
  transformers' cache stores them;
- :meth:`Architecture.activation_bytes`: what autograd saves for backward in
  transformers' implementation, with SDPA/FlashAttention (no score matrix)
  or eager attention (the softmax kept), the logits and the loss included;
- :meth:`Architecture.forward_flops`: matmul FLOPs of one forward pass, as
  ``FlopCounterMode`` counts them;
- :meth:`Architecture.training_memory`: weights, gradients, optimizer state
  and activations, with LoRA / QLoRA;
- :meth:`Architecture.zero_memory`: model state per device under ZeRO 0–3
  with the gathered-layer term, in three labelled byte conventions.

Pure arithmetic: no torch, no transformers.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field, replace

from . import _validate as v
from . import activations, configs, model_state, predict

FAMILIES = ("gpt2", "llama", "mistral", "mixtral", "qwen2", "gemma", "phi3", "qwen3", "qwen3_moe", "gemma3_text",
            "olmo2", "smollm3", "granite", "deepseek_v3", "gemma2", "deepseek_v2", "llama4_text", "ministral",
            "ministral3", "phi", "falcon", "cohere", "cohere2", "starcoder2", "gpt_oss",
            "gemma4_text", "qwen3_next", "qwen3_5_text", "qwen3_5_moe_text")
#: Multimodal configs whose ``text_config`` is the language model read (its ``model_type`` if it has none).
WRAPPERS = {"gemma3": "gemma3_text", "llama4": "llama4_text", "mistral3": "mistral", "gemma4": "gemma4_text",
            "qwen3_5": "qwen3_5_text", "qwen3_5_moe": "qwen3_5_moe_text"}
# A wrapper's text config when the file gives none at all (transformers 5.25's sub-config defaults; a
# text_config that is given, even partly, takes its own family's defaults instead, as transformers does)
_WRAPPER_TEXT = {
    "mistral3": dict(model_type="mistral", attention_dropout=0.0, head_dim=128, hidden_act="silu", hidden_size=5120,
                     intermediate_size=32768, num_attention_heads=32, num_hidden_layers=40, num_key_value_heads=8,
                     sliding_window=None, vocab_size=131072),
}

# Defaults of transformers' configuration classes (transformers 4.57 and 5.25,
# models/<family>/configuration_<family>.py): what a key left out means.
_DEFAULTS = {
    "gpt2": dict(vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12, n_inner=None,
                 activation_function="gelu_new", resid_pdrop=0.1, embd_pdrop=0.1, attn_pdrop=0.1,
                 tie_word_embeddings=True),
    "llama": dict(vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                  num_attention_heads=32, num_key_value_heads=None, head_dim=None, hidden_act="silu",
                  tie_word_embeddings=False, attention_bias=False, mlp_bias=False, attention_dropout=0.0),
    "mistral": dict(vocab_size=32000, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                    num_attention_heads=32, num_key_value_heads=8, head_dim=None, hidden_act="silu",
                    tie_word_embeddings=False, sliding_window=4096, attention_dropout=0.0),
    "mixtral": dict(vocab_size=32000, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                    num_attention_heads=32, num_key_value_heads=8, head_dim=None, hidden_act="silu",
                    tie_word_embeddings=False, sliding_window=None, num_local_experts=8,
                    num_experts_per_tok=2, attention_dropout=0.0),
    "qwen2": dict(vocab_size=151936, hidden_size=4096, intermediate_size=22016, num_hidden_layers=32,
                  num_attention_heads=32, num_key_value_heads=32, hidden_act="silu", tie_word_embeddings=False,
                  use_sliding_window=False, sliding_window=4096, max_window_layers=28, layer_types=None,
                  attention_dropout=0.0),
    "gemma": dict(vocab_size=256000, hidden_size=3072, intermediate_size=24576, num_hidden_layers=28,
                  num_attention_heads=16, num_key_value_heads=16, head_dim=256, hidden_act="gelu_pytorch_tanh",
                  hidden_activation=None, tie_word_embeddings=True, attention_bias=False, attention_dropout=0.0),
    # transformers 5.25, models/qwen3 and models/qwen3_moe: q/k RMSNorm per head, no biases
    "qwen3": dict(vocab_size=151936, hidden_size=4096, intermediate_size=22016, num_hidden_layers=32,
                  num_attention_heads=32, num_key_value_heads=32, head_dim=128, hidden_act="silu",
                  tie_word_embeddings=False, attention_bias=False, use_sliding_window=False, sliding_window=None,
                  max_window_layers=28, layer_types=None, attention_dropout=0.0),
    "qwen3_moe": dict(vocab_size=151936, hidden_size=2048, intermediate_size=6144, moe_intermediate_size=768,
                      num_hidden_layers=24, num_attention_heads=32, num_key_value_heads=4, head_dim=None,
                      hidden_act="silu", tie_word_embeddings=False, attention_bias=False, use_sliding_window=False,
                      sliding_window=None, max_window_layers=24, layer_types=None, num_experts=128,
                      num_experts_per_tok=8, decoder_sparse_step=1, mlp_only_layers=[], attention_dropout=0.0),
    # transformers 5.25, models/gemma3: 5 sliding layers to 1 full (sliding_window_pattern 6), q/k norm,
    # four (1 + weight) RMSNorms per layer
    "gemma3_text": dict(vocab_size=262208, hidden_size=2304, intermediate_size=9216, num_hidden_layers=26,
                        num_attention_heads=8, num_key_value_heads=4, head_dim=256, hidden_activation="gelu_pytorch_tanh",
                        tie_word_embeddings=True, attention_bias=False, sliding_window=4096, layer_types=None,
                        sliding_window_pattern=6, attention_dropout=0.0, attn_logit_softcapping=None,
                        final_logit_softcapping=None),
    # transformers 5.25: OLMo 2 normalises all queries and all keys (one RMSNorm each over the full width) and
    # puts its two norms after attention and FFN; SmolLM3 and Granite have Llama's parameters (SmolLM3 drops
    # rotary on some layers, Granite scales embeddings, residuals and logits: no parameters)
    "olmo2": dict(vocab_size=50304, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                  num_attention_heads=32, num_key_value_heads=None, hidden_act="silu", tie_word_embeddings=False,
                  attention_bias=False, attention_dropout=0.0),
    "smollm3": dict(vocab_size=128256, hidden_size=2048, intermediate_size=11008, num_hidden_layers=36,
                    num_attention_heads=16, num_key_value_heads=4, hidden_act="silu", tie_word_embeddings=True,
                    attention_bias=False, mlp_bias=False, use_sliding_window=False, sliding_window=None,
                    layer_types=None, attention_dropout=0.0),
    "granite": dict(vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                    num_attention_heads=32, num_key_value_heads=None, hidden_act="silu", tie_word_embeddings=False,
                    attention_bias=False, mlp_bias=False, attention_dropout=0.0),
    # transformers 5.25, models/deepseek_v3: multi-head latent attention, 1 shared + 256 routed experts,
    # the first 3 layers dense
    "deepseek_v3": dict(vocab_size=129280, hidden_size=7168, intermediate_size=18432, moe_intermediate_size=2048,
                        num_hidden_layers=61, num_attention_heads=128, num_key_value_heads=128, n_shared_experts=1,
                        n_routed_experts=256, num_experts_per_tok=8, first_k_dense_replace=3, q_lora_rank=1536,
                        kv_lora_rank=512, qk_nope_head_dim=128, qk_rope_head_dim=64, v_head_dim=128,
                        hidden_act="silu", tie_word_embeddings=False, attention_bias=False, attention_dropout=0.0),
    # transformers 5.25, models/deepseek_v2: the same latent attention (q_lora_rank may be null: one q_proj),
    # 2 shared + 64 routed experts of width 1407, softmax routing ("greedy" or "group_limited_greedy");
    # num_experts_per_tok has no default (None: transformers cannot route), moe_layer_freq is not read
    "deepseek_v2": dict(vocab_size=102400, hidden_size=4096, intermediate_size=11008, moe_intermediate_size=1407,
                        num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=None, n_shared_experts=2,
                        n_routed_experts=64, num_experts_per_tok=None, first_k_dense_replace=0, q_lora_rank=1536,
                        kv_lora_rank=512, qk_nope_head_dim=128, qk_rope_head_dim=64, v_head_dim=128,
                        hidden_act="silu", tie_word_embeddings=False, attention_bias=False, mlp_bias=False,
                        topk_method="greedy", n_group=None, moe_layer_freq=1, attention_dropout=0.0),
    # transformers 5.25, models/gemma2: sliding and full layers alternate, four norms per layer, soft-capped
    # attention scores and logits
    "gemma2": dict(vocab_size=256000, hidden_size=2304, intermediate_size=9216, num_hidden_layers=26,
                   num_attention_heads=8, num_key_value_heads=4, head_dim=256, hidden_activation="gelu_pytorch_tanh",
                   tie_word_embeddings=True, attention_bias=False, sliding_window=4096, layer_types=None,
                   attn_logit_softcapping=50.0, final_logit_softcapping=30.0, attention_dropout=0.0),
    # transformers 5.25, models/gpt_oss: sliding (window 128) and full layers alternate, one learned sink logit
    # per head, biases on q/k/v/o, on the router and on the experts (fused gate_up), a clamped SwiGLU
    "gpt_oss": dict(vocab_size=201088, hidden_size=2880, intermediate_size=2880, num_hidden_layers=36,
                    num_attention_heads=64, num_key_value_heads=8, head_dim=64, hidden_act="silu",
                    tie_word_embeddings=False, attention_bias=True, sliding_window=128, layer_types=None,
                    num_experts_per_tok=4, swiglu_limit=7.0, attention_dropout=0.0),
    # transformers 5.25, models/llama4 (Llama4TextConfig): RoPE layers attend within chunks of
    # attention_chunk_size (cached as a sliding window of that size) and L2-normalise q and k (no weights),
    # every no_rope_layer_interval-th layer is a NoPE full-attention layer; MoE layers (16 routed experts,
    # 1 per token, plus a shared expert of intermediate_size) every interleave_moe_layer_step, the others a
    # dense FFN of intermediate_size_mlp
    "llama4_text": dict(vocab_size=202048, hidden_size=5120, intermediate_size=8192, intermediate_size_mlp=16384,
                        num_hidden_layers=48, num_attention_heads=40, num_key_value_heads=8, head_dim=128,
                        hidden_act="silu", tie_word_embeddings=False, attention_bias=False, attention_dropout=0.0,
                        num_experts_per_tok=1, num_local_experts=16, moe_layers=None, interleave_moe_layer_step=1,
                        use_qk_norm=True, no_rope_layers=None, no_rope_layer_interval=4, attention_chunk_size=8192,
                        layer_types=None),
    # transformers 5.25, models/ministral (Ministral-8B): Mistral's shapes with per-layer layer_types
    # (all sliding when sliding_window is set and layer_types is not); models/ministral3 (Ministral 3, the text
    # model of its mistral3 checkpoints): Mistral's shapes, head_dim 128, no window by default
    "ministral": dict(vocab_size=32000, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                      num_attention_heads=32, num_key_value_heads=8, head_dim=None, hidden_act="silu",
                      tie_word_embeddings=False, sliding_window=4096, layer_types=None, attention_dropout=0.0),
    "ministral3": dict(vocab_size=131072, hidden_size=4096, intermediate_size=14336, num_hidden_layers=34,
                       num_attention_heads=32, num_key_value_heads=8, head_dim=128, hidden_act="silu",
                       tie_word_embeddings=False, sliding_window=None, attention_dropout=0.0),
    # transformers 5.25, models/phi, falcon, cohere, cohere2, starcoder2: LayerNorm families. Phi-1/1.5/2,
    # Falcon (parallel_attn, new_decoder_architecture) and Command R / R7B run attention and MLP in parallel
    # on one normalised input; Cohere's LayerNorm has no bias; StarCoder2 is sequential with biases everywhere
    "phi": dict(vocab_size=51200, hidden_size=2048, intermediate_size=8192, num_hidden_layers=24,
                num_attention_heads=32, num_key_value_heads=None, head_dim=None, hidden_act="gelu_new",
                tie_word_embeddings=False, qk_layernorm=False, partial_rotary_factor=0.5, resid_pdrop=0.0,
                embd_pdrop=0.0, attention_dropout=0.0),
    "falcon": dict(vocab_size=65024, hidden_size=4544, num_hidden_layers=32, num_attention_heads=71, num_kv_heads=None,
                   num_ln_in_parallel_attn=None, alibi=False, new_decoder_architecture=False, multi_query=True,
                   parallel_attn=True, bias=False, ffn_hidden_size=None, activation="gelu", tie_word_embeddings=True,
                   hidden_dropout=0.0, attention_dropout=0.0),
    "cohere": dict(vocab_size=256000, hidden_size=8192, intermediate_size=22528, num_hidden_layers=40,
                   num_attention_heads=64, num_key_value_heads=None, head_dim=None, hidden_act="silu",
                   tie_word_embeddings=True, attention_bias=False, use_qk_norm=False, logit_scale=0.0625,
                   attention_dropout=0.0),
    "cohere2": dict(vocab_size=256000, hidden_size=8192, intermediate_size=22528, num_hidden_layers=40,
                    num_attention_heads=64, num_key_value_heads=None, head_dim=None, hidden_act="silu",
                    tie_word_embeddings=True, attention_bias=False, logit_scale=0.0625, sliding_window=4096,
                    layer_types=None, sliding_window_pattern=4, attention_dropout=0.0),
    "starcoder2": dict(vocab_size=49152, hidden_size=3072, intermediate_size=12288, num_hidden_layers=30,
                       num_attention_heads=24, num_key_value_heads=2, head_dim=None, hidden_act="gelu_pytorch_tanh",
                       tie_word_embeddings=True, use_bias=True, sliding_window=None, residual_dropout=0.0,
                       embedding_dropout=0.0, attention_dropout=0.0),
    # transformers 5.25, models/gemma4: full-attention layers with their own head width (global_head_dim, 512)
    # and, with attention_k_eq_v, their own KV heads (num_global_key_value_heads) and no v_proj; the last
    # num_kv_shared_layers layers reuse an earlier layer's keys and values (no k/v projections, no cache);
    # per-layer input embeddings of hidden_size_per_layer_input per layer; enable_moe_block not modelled
    "gemma4_text": dict(vocab_size=262144, hidden_size=2304, intermediate_size=9216, num_hidden_layers=30,
                        num_attention_heads=8, num_key_value_heads=4, head_dim=256, hidden_activation="gelu_pytorch_tanh",
                        tie_word_embeddings=True, attention_bias=False, attention_dropout=0.0, sliding_window=512,
                        layer_types=None, final_logit_softcapping=None, use_bidirectional_attention=None,
                        vocab_size_per_layer_input=262144, hidden_size_per_layer_input=256, attention_k_eq_v=False,
                        num_kv_shared_layers=0, enable_moe_block=False, use_double_wide_mlp=False,
                        global_head_dim=512, num_global_key_value_heads=None),
    # transformers 5.25, models/qwen3_next and models/qwen3_5 / qwen3_5_moe (the text configs): three gated
    # DeltaNet (linear-attention) layers to one full-attention layer (full_attention_interval 4), full layers with
    # an output gate (q_proj doubled), q/k norm and partial rotary; Qwen3-Next's and Qwen3.5-MoE's mixture has a
    # shared expert behind a sigmoid gate (Qwen3.5-MoE: on every layer, no intermediate_size at all)
    "qwen3_next": dict(vocab_size=151936, hidden_size=2048, intermediate_size=5632, num_hidden_layers=48,
                       num_attention_heads=16, num_key_value_heads=2, head_dim=256, hidden_act="silu",
                       tie_word_embeddings=False, attention_bias=False, attention_dropout=0.0, linear_conv_kernel_dim=4,
                       linear_key_head_dim=128, linear_value_head_dim=128, linear_num_key_heads=16,
                       linear_num_value_heads=32, decoder_sparse_step=1, moe_intermediate_size=512,
                       shared_expert_intermediate_size=512, num_experts_per_tok=10, num_experts=512,
                       mlp_only_layers=None, layer_types=None, full_attention_interval=4),
    "qwen3_5_text": dict(vocab_size=248320, hidden_size=4096, intermediate_size=12288, num_hidden_layers=32,
                         num_attention_heads=16, num_key_value_heads=4, head_dim=256, hidden_act="silu",
                         tie_word_embeddings=False, attention_bias=False, attention_dropout=0.0,
                         linear_conv_kernel_dim=4, linear_key_head_dim=128, linear_value_head_dim=128,
                         linear_num_key_heads=16, linear_num_value_heads=32, layer_types=None,
                         full_attention_interval=4),
    "qwen3_5_moe_text": dict(vocab_size=248320, hidden_size=2048, num_hidden_layers=40, num_attention_heads=16,
                             num_key_value_heads=2, head_dim=256, hidden_act="silu", tie_word_embeddings=False,
                             attention_bias=False, attention_dropout=0.0, linear_conv_kernel_dim=4,
                             linear_key_head_dim=128, linear_value_head_dim=128, linear_num_key_heads=16,
                             linear_num_value_heads=32, moe_intermediate_size=512, shared_expert_intermediate_size=512,
                             num_experts_per_tok=8, num_experts=256, layer_types=None, full_attention_interval=4),
    "phi3": dict(vocab_size=32064, hidden_size=3072, intermediate_size=8192, num_hidden_layers=32,
                 num_attention_heads=32, num_key_value_heads=None, hidden_act="silu", tie_word_embeddings=False,
                 sliding_window=None, resid_pdrop=0.0, embd_pdrop=0.0, attention_dropout=0.0),
}

_LAYER_TYPES = ("full_attention", "sliding_attention")
_HYBRID = ("qwen3_next", "qwen3_5_text", "qwen3_5_moe_text")  # linear-attention layers beside full ones
#: Largest width, count or length an Architecture field may have (real models are far below).
_MAX_SIZE = 10**9


def _hybrid_structure(c: dict, family: str, n: int) -> dict:
    """Qwen3-Next's and Qwen3.5's layers, as transformers 5.25 builds them:
    ``layer_types`` (default: every ``full_attention_interval``-th layer full,
    the others ``linear_attention``), the gated DeltaNet shapes of the linear
    layers (``linear_num_key_heads`` / ``linear_num_value_heads`` heads of
    ``linear_key_head_dim`` / ``linear_value_head_dim``, a depthwise causal
    convolution of ``linear_conv_kernel_dim`` taps), and the mixture: routed
    experts of ``moe_intermediate_size`` plus one gated shared expert of
    ``shared_expert_intermediate_size`` on the layers that are not in
    ``mlp_only_layers`` and are a multiple of ``decoder_sparse_step``
    (Qwen3-Next; every layer for Qwen3.5-MoE, none for dense Qwen3.5)."""
    F = configs
    types = F.field_str_list(c, "layer_types", n, allowed=("full_attention", "linear_attention"))
    if types is None:
        interval = F.field_int(c, "full_attention_interval", minimum=1)
        types = ["linear_attention" if (i + 1) % interval else "full_attention" for i in range(n)]
    k_heads = F.field_int(c, "linear_num_key_heads", minimum=1, maximum=_MAX_SIZE)
    v_heads = F.field_int(c, "linear_num_value_heads", minimum=1, maximum=_MAX_SIZE)
    if v_heads % k_heads:
        raise F.ConfigError(f"config['linear_num_value_heads']={v_heads} must be a multiple of "
                            f"config['linear_num_key_heads']={k_heads}")
    out = dict(linear_layers=sum(t == "linear_attention" for t in types), linear_k_heads=k_heads,
               linear_v_heads=v_heads, linear_k_dim=F.field_int(c, "linear_key_head_dim", minimum=1, maximum=_MAX_SIZE),
               linear_v_dim=F.field_int(c, "linear_value_head_dim", minimum=1, maximum=_MAX_SIZE),
               linear_conv_kernel=F.field_int(c, "linear_conv_kernel_dim", minimum=1, maximum=_MAX_SIZE),
               attn_output_gate=True, experts=1, per_token=1, expert_ffn=0, dense=0,
               ffn=F.field_int(c, "intermediate_size", minimum=1) if family != "qwen3_5_moe_text" else 0)
    if family == "qwen3_5_text":
        return out
    experts = F.field_int(c, "num_experts", minimum=0, maximum=_MAX_SIZE)
    moe_layers = n
    if family == "qwen3_next":
        step = F.field_int(c, "decoder_sparse_step", minimum=1)
        only = F.field_int_list(c, "mlp_only_layers", minimum=0) or []
        moe_layers = sum(1 for i in range(n) if i not in only and experts > 0 and (i + 1) % step == 0)
    if not moe_layers:
        return out
    expert_ffn = F.field_int(c, "moe_intermediate_size", minimum=1, maximum=_MAX_SIZE)
    out.update(experts=experts, per_token=F.field_int(c, "num_experts_per_tok", minimum=1, maximum=experts),
               expert_ffn=expert_ffn, dense=n - moe_layers, n_shared_experts=1, shared_expert_gate=True,
               shared_expert_ffn_size=F.field_int(c, "shared_expert_intermediate_size", minimum=1, maximum=_MAX_SIZE))
    out["ffn"] = out["ffn"] or expert_ffn  # Qwen3.5-MoE: no dense layer, no intermediate_size
    return out


def _llama4_structure(c: dict, n: int) -> dict:
    """Llama 4's layers, as transformers 5.25's ``Llama4TextConfig`` derives
    them: ``no_rope_layers`` (1 = RoPE, 0 = NoPE; default a NoPE layer every
    ``no_rope_layer_interval``), ``layer_types`` (default: RoPE layers are
    ``chunked_attention`` when ``attention_chunk_size`` is set), ``moe_layers``
    (default every ``interleave_moe_layer_step``-th layer, from step - 1)."""
    F = configs
    experts = F.field_int(c, "num_local_experts", minimum=1)
    per_token = F.field_int(c, "num_experts_per_tok", minimum=1, maximum=experts)
    chunk = F.field_int(c, "attention_chunk_size", minimum=1, allow_none=True)
    rope = F.field_int_list(c, "no_rope_layers", minimum=0, maximum=1, min_length=n)
    if not rope:  # transformers: an empty list or none means the interval's pattern
        interval = F.field_int(c, "no_rope_layer_interval", minimum=1)
        rope = [int((i + 1) % interval != 0) for i in range(n)]
    types = F.field_str_list(c, "layer_types", n, allowed=("full_attention", "chunked_attention"))
    if types is None:
        types = ["chunked_attention" if r and chunk is not None else "full_attention" for r in rope[:n]]
    n_chunked = sum(t == "chunked_attention" for t in types)
    if n_chunked and chunk is None:
        raise configs.ConfigError("config['layer_types'] has chunked_attention layers but config['attention_chunk_size'] "
                                  "is null")
    moe = F.field_int_list(c, "moe_layers", minimum=0, maximum=n - 1)
    if moe is None:
        step = F.field_int(c, "interleave_moe_layer_step", minimum=1)
        moe = list(range(step - 1, n, step))
    n_moe = len(set(moe))
    return dict(experts=experts, per_token=per_token, expert_ffn=F.field_int(c, "intermediate_size", minimum=1),
                dense=n - n_moe, ffn=F.field_int(c, "intermediate_size_mlp", minimum=1),
                window=chunk if n_chunked else None, n_sliding=n_chunked, chunked=bool(n_chunked),
                n_shared_experts=1 if n_moe else 0,
                qk_l2_norm_layers=sum(rope[:n]) if F.field_bool(c, "use_qk_norm") else 0)


# ---------------------------------------------------------------- parallel-block and LayerNorm families
# Phi-1/1.5/2, Falcon, Command R (cohere), Command R7B (cohere2), StarCoder2: each reader returns the
# Architecture fields of a config already merged with its family's _DEFAULTS, read as transformers 5.25's
# modeling_<family>.py builds the model.


def _heads_and_head_dim(c: dict, kv_key: str = "num_key_value_heads", explicit_head_dim: bool = True):
    """(heads, KV heads, head_dim): KV heads divide the heads; head_dim from the config or hidden // heads."""
    F = configs
    h, heads = c["hidden_size"], c["num_attention_heads"]
    kv = F.field_int(c, kv_key, minimum=1, allow_none=True) or heads
    if heads % kv:
        raise F.ConfigError(f"config['num_attention_heads']={heads} must be a multiple of config['{kv_key}']={kv}")
    head_dim = F.field_int(c, "head_dim", minimum=1, allow_none=True) if explicit_head_dim else None
    if not head_dim:
        if h % heads:
            raise F.ConfigError(f"config['hidden_size']={h} must be a multiple of config['num_attention_heads']="
                                f"{heads}" + (" (or the config must give head_dim)" if explicit_head_dim else ""))
        head_dim = h // heads
    return heads, kv, head_dim


def _phi_fields(c: dict) -> dict:
    """Phi-1/1.5/2: one LayerNorm feeds attention and a GELU MLP in parallel; biases on every projection and on
    the LM head; rotary on part of each head (partial_rotary_factor); optional LayerNorms over each head's
    queries and keys (qk_layernorm, one weight and bias shared by the heads)."""
    F = configs
    heads, kv, head_dim = _heads_and_head_dim(c)
    rope = c.get("rope_parameters") if isinstance(c.get("rope_parameters"), dict) else {}
    F.field_float({**rope, **c}, "partial_rotary_factor", 0.5, minimum=0.0, maximum=1.0)
    return dict(vocab_size=c["vocab_size"], hidden_size=c["hidden_size"], n_layers=c["num_hidden_layers"],
                n_heads=heads, n_kv_heads=kv, head_dim=head_dim, ffn_size=c["intermediate_size"], ffn_kind="mlp",
                tied_embeddings=F.field_bool(c, "tie_word_embeddings"), qkv_bias=True, out_bias=True, mlp_bias=True,
                norm="layernorm", norms_per_layer=1, parallel_block=True, lm_head_bias=True,
                qk_norm=F.field_bool(c, "qk_layernorm"), activation=F.field_str(c, "hidden_act"),
                dropout=F.field_float(c, "resid_pdrop", maximum=1),
                attention_dropout=F.field_float(c, "attention_dropout", 0.0, allow_none=True, maximum=1) or 0.0)


def _falcon_fields(c: dict) -> dict:
    """Falcon: one fused query_key_value (``bias`` on every linear layer or none). Falcon-7B's layout
    (``multi_query``: one KV head; ``parallel_attn``: attention and MLP in parallel on one LayerNorm) or
    Falcon-40B/180B's ``new_decoder_architecture`` (``num_kv_heads`` KV heads, always parallel, two LayerNorms
    over the same input unless ``num_ln_in_parallel_attn`` is 1); ``parallel_attn`` false: a sequential
    block with two LayerNorms. head_dim is always hidden // heads."""
    F = configs
    new = F.field_bool(c, "new_decoder_architecture")
    multi_query = F.field_bool(c, "multi_query")
    parallel = F.field_bool(c, "parallel_attn")
    F.field_bool(c, "alibi")  # positions only: no parameters, and the cache is the same
    heads, kv, head_dim = _heads_and_head_dim(c, "num_kv_heads", explicit_head_dim=False)
    if not new and multi_query:
        kv = 1
    elif not new and kv != heads:  # the unfused layout splits the query_key_value output into heads × (q, k, v)
        raise F.ConfigError(f"config['num_kv_heads']={kv} must equal config['num_attention_heads']={heads} "
                            "without new_decoder_architecture or multi_query")
    n_ln = F.field_int(c, "num_ln_in_parallel_attn", minimum=1, maximum=2, allow_none=True)
    if new:
        if not parallel:
            raise F.ConfigError("config['parallel_attn'] must be true with new_decoder_architecture "
                                "(transformers builds no sequential block for it)")
        norms, parallel = n_ln or 2, True
    elif parallel:
        if n_ln == 2:
            raise F.ConfigError("config['num_ln_in_parallel_attn'] = 2 needs new_decoder_architecture")
        norms = 1
    else:
        norms = 2
    bias = F.field_bool(c, "bias")
    ffn = F.field_int(c, "ffn_hidden_size", minimum=1, maximum=_MAX_SIZE, allow_none=True) or 4 * c["hidden_size"]
    return dict(vocab_size=c["vocab_size"], hidden_size=c["hidden_size"], n_layers=c["num_hidden_layers"],
                n_heads=heads, n_kv_heads=kv, head_dim=head_dim, ffn_size=ffn, ffn_kind="mlp",
                tied_embeddings=F.field_bool(c, "tie_word_embeddings"), qkv_bias=bias, out_bias=bias, mlp_bias=bias,
                norm="layernorm", norms_per_layer=norms, parallel_block=parallel,
                activation=F.field_str(c, "activation"),
                dropout=F.field_float(c, "hidden_dropout", 0.0, allow_none=True, maximum=1) or 0.0,
                attention_dropout=F.field_float(c, "attention_dropout", 0.0, allow_none=True, maximum=1) or 0.0)


def _cohere_fields(c: dict, family: str) -> dict:
    """Command R (cohere) and R7B (cohere2): one bias-free LayerNorm feeds attention and a SwiGLU MLP in
    parallel; logits scaled by logit_scale (no parameters); Command R's optional per-head q/k LayerNorms
    (use_qk_norm); Command R7B's sliding-window layers from layer_types or every sliding_window_pattern-th
    layer full (rotary on the sliding layers only)."""
    F = configs
    heads, kv, head_dim = _heads_and_head_dim(c)
    n = c["num_hidden_layers"]
    F.field_float(c, "logit_scale", allow_none=True)
    window, n_sliding = None, 0
    if family == "cohere2":
        window = F.field_int(c, "sliding_window", minimum=1, maximum=_MAX_SIZE, allow_none=True)
        types = F.field_str_list(c, "layer_types", n, allowed=_LAYER_TYPES)
        if types is None:
            pattern = F.field_int(c, "sliding_window_pattern", minimum=1)
            types = ["sliding_attention" if (i + 1) % pattern else "full_attention" for i in range(n)]
        n_sliding = sum(t == "sliding_attention" for t in types) if window else 0
    bias = F.field_bool(c, "attention_bias")
    qk = family == "cohere" and F.field_bool(c, "use_qk_norm")
    return dict(vocab_size=c["vocab_size"], hidden_size=c["hidden_size"], n_layers=n, n_heads=heads, n_kv_heads=kv,
                head_dim=head_dim, ffn_size=c["intermediate_size"], ffn_kind="gated",
                tied_embeddings=F.field_bool(c, "tie_word_embeddings"), qkv_bias=bias, out_bias=bias,
                norm="layernorm_nobias", norms_per_layer=1, parallel_block=True, qk_norm=qk, qk_norm_heads=qk,
                sliding_window=window if n_sliding else None, sliding_layers=n_sliding,
                activation=F.field_str(c, "hidden_act"),
                attention_dropout=F.field_float(c, "attention_dropout", 0.0, allow_none=True, maximum=1) or 0.0)


def _starcoder2_fields(c: dict) -> dict:
    """StarCoder2: a sequential block with two LayerNorms, biases on every projection (use_bias), a GELU MLP
    (c_fc, c_proj) and, when sliding_window is set, a sliding window on every layer."""
    F = configs
    heads, kv, head_dim = _heads_and_head_dim(c)
    window = F.field_int(c, "sliding_window", minimum=1, maximum=_MAX_SIZE, allow_none=True)
    bias = F.field_bool(c, "use_bias")
    F.field_float(c, "embedding_dropout", 0.0, maximum=1)
    return dict(vocab_size=c["vocab_size"], hidden_size=c["hidden_size"], n_layers=c["num_hidden_layers"],
                n_heads=heads, n_kv_heads=kv, head_dim=head_dim, ffn_size=c["intermediate_size"], ffn_kind="mlp",
                tied_embeddings=F.field_bool(c, "tie_word_embeddings"), qkv_bias=bias, out_bias=bias, mlp_bias=bias,
                norm="layernorm", sliding_window=window, sliding_layers=c["num_hidden_layers"] if window else 0,
                activation=F.field_str(c, "hidden_act"), dropout=F.field_float(c, "residual_dropout", maximum=1),
                attention_dropout=F.field_float(c, "attention_dropout", maximum=1))


_FIELD_READERS = {"phi": _phi_fields, "falcon": _falcon_fields, "cohere": lambda c: _cohere_fields(c, "cohere"),
                  "cohere2": lambda c: _cohere_fields(c, "cohere2"), "starcoder2": _starcoder2_fields}



@dataclass(frozen=True)
class Architecture:
    """A decoder-only transformer's shape, as its ``config.json`` states it.

    ``ffn_kind`` is ``"mlp"`` (two matrices, GPT-2) or ``"gated"`` (three:
    SwiGLU / GeGLU); ``n_experts`` / ``experts_per_token`` are 1 / 1 for a
    dense model; ``expert_ffn_size`` is one expert's width (0: ``ffn_size``,
    Mixtral; Qwen3-MoE's ``moe_intermediate_size``) and ``dense_layers``
    counts the layers of a mixture that keep one dense FFN of ``ffn_size``
    (Qwen3-MoE's ``mlp_only_layers``); ``qk_norm``: an RMSNorm over each
    head's queries and keys (Qwen3, Gemma 3), or with ``qk_norm_full`` one
    over all the queries and one over all the keys (OLMo 2); ``n_shared_experts``:
    experts every token uses besides its routed ones (DeepSeek); a
    ``kv_lora_rank`` > 0 is multi-head latent attention (DeepSeek-V2/V3:
    queries through a ``q_lora_rank`` bottleneck, or one projection when it
    is 0 (DeepSeek-V2-Lite's ``q_lora_rank: null``), keys and values from a
    compressed latent of ``kv_lora_rank`` values plus a shared rotary key of
    ``qk_rope_head_dim``; ``head_dim`` is then the query/key head width,
    nope + rope, and ``v_head_dim`` the value head width); ``norms_per_layer``: 2, or 4
    with Gemma 2/3's norms after attention and FFN; ``sliding_layers`` counts the
    layers whose KV cache keeps only the last ``sliding_window`` tokens; with ``chunked``
    those layers attend within chunks of ``sliding_window`` tokens instead (Llama 4's
    ``attention_chunk_size``), which transformers 5 caches as a sliding window of the chunk
    size; ``qk_l2_norm_layers`` counts the layers whose queries and keys pass a norm without
    weights (Llama 4's ``use_qk_norm`` on its RoPE layers: no parameters, only saved
    activations). Llama 4's mixture (one ``n_shared_experts`` FFN of ``expert_ffn_size``
    beside the routed ones, the dense layers' FFN of ``ffn_size`` = ``intermediate_size_mlp``)
    uses the fields above. ``attention_sinks``: one learned
    logit per head that joins every softmax as an extra column and is dropped after it (gpt-oss: ``n_heads``
    parameters per layer; SDPA cannot run it, transformers runs eager attention); ``router_bias``: the
    router has a bias per expert (gpt-oss); ``swiglu_limit`` > 0: gpt-oss's clamped SwiGLU in the experts
    (gate clamped above, up to ±limit, ``(up + 1) · gate · σ(α · gate)``), 0 a plain SwiGLU. ``positions`` is the size of a
    learned position table (GPT-2) or 0 (rotary). ``norm``: ``"rmsnorm"``,
    ``"layernorm"`` (a weight and a bias) or ``"layernorm_nobias"`` (a weight
    only, written out in fp32: Cohere). ``parallel_block``: attention and FFN
    read the same normalised input and both outputs join the residual
    (GPT-J style: Phi-1/1.5/2, Falcon's ``parallel_attn`` /
    ``new_decoder_architecture``, Command R); its ``norms_per_layer`` is 1 (one
    shared norm) or 2 (Falcon-40B's ``ln_attn`` and ``ln_mlp``, both over the
    same input). ``qk_norm_heads``: the q/k norms hold one weight vector per
    head (Cohere's ``use_qk_norm``) instead of one shared by the heads.
    ``lm_head_bias``: the LM head has a bias (Phi). Per-layer shapes (Gemma 4): the
    full-attention layers may have their own head width ``full_head_dim`` and KV heads ``full_kv_heads``
    (0: ``head_dim`` / ``n_kv_heads``), and with ``full_k_eq_v`` take their values from the key projection
    (no value projection); the last ``kv_shared_layers`` layers (``kv_shared_sliding`` of them sliding)
    reuse the keys and values of an earlier layer of their kind, so they have no key/value projections and
    hold no cache, and an FFN of ``shared_ffn_size`` (0: ``ffn_size``; Gemma 4's double-wide MLP);
    ``per_layer_input_size`` > 0 adds per-layer input embeddings (a ``per_layer_vocab_size`` ×
    (layers · ``per_layer_input_size``) table, a projection of the hidden state to the same width and, per
    layer, a gate, a projection back and a norm).
    ``linear_layers`` counts linear-attention layers (Qwen3-Next,
    Qwen3.5: gated DeltaNet) that replace attention and hold a constant-size state instead of
    a KV cache: ``linear_k_heads`` / ``linear_v_heads`` query-key / value heads of
    ``linear_k_dim`` / ``linear_v_dim`` and a depthwise causal convolution of
    ``linear_conv_kernel`` taps over queries, keys and values; ``attn_output_gate``: the
    full-attention layers' ``q_proj`` also produces a sigmoid gate on the attention output
    (twice the query width); ``shared_expert_ffn_size``: the shared experts' total width when it
    is not ``n_shared_experts`` × ``expert_ffn_size`` (0: that product), and
    ``shared_expert_gate`` a one-output linear gate on the shared expert (Qwen3-Next).
    Built by :func:`preset` and
    :func:`resolve`; not tied to one lesson.
    """

    family: str
    vocab_size: int
    hidden_size: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    head_dim: int
    ffn_size: int
    ffn_kind: str = "gated"
    tied_embeddings: bool = False
    qkv_bias: bool = False
    out_bias: bool = False
    mlp_bias: bool = False
    norm: str = "rmsnorm"
    positions: int = 0
    n_experts: int = 1
    experts_per_token: int = 1
    expert_ffn_size: int = 0
    dense_layers: int = 0
    qk_norm: bool = False
    qk_norm_full: bool = False
    norms_per_layer: int = 2
    n_shared_experts: int = 0
    q_lora_rank: int = 0
    kv_lora_rank: int = 0
    qk_rope_head_dim: int = 0
    v_head_dim: int = 0
    attn_softcap: bool = False
    logit_softcap: bool = False
    attention_sinks: bool = False
    router_bias: bool = False
    swiglu_limit: float = 0.0
    parallel_block: bool = False
    qk_norm_heads: bool = False
    lm_head_bias: bool = False
    sliding_window: int | None = None
    sliding_layers: int = 0
    chunked: bool = False
    qk_l2_norm_layers: int = 0
    full_head_dim: int = 0
    full_kv_heads: int = 0
    full_k_eq_v: bool = False
    kv_shared_layers: int = 0
    kv_shared_sliding: int = 0
    shared_ffn_size: int = 0
    per_layer_input_size: int = 0
    per_layer_vocab_size: int = 0
    linear_layers: int = 0
    linear_k_heads: int = 0
    linear_v_heads: int = 0
    linear_k_dim: int = 0
    linear_v_dim: int = 0
    linear_conv_kernel: int = 0
    attn_output_gate: bool = False
    shared_expert_ffn_size: int = 0
    shared_expert_gate: bool = False
    activation: str = "silu"
    dropout: float = 0.0
    attention_dropout: float = 0.0
    name: str = ""
    source: str = field(default="", compare=False)

    def __post_init__(self):
        """Every field checked by name, so a hand-built or edited shape fails
        here and not inside a formula. Lesson 02."""
        v.choice("family", self.family, FAMILIES)
        for name in ("vocab_size", "hidden_size", "n_layers", "n_heads", "n_kv_heads", "head_dim", "ffn_size",
                     "n_experts", "experts_per_token"):
            v.positive_int(name, getattr(self, name), maximum=_MAX_SIZE)
        v.integer("expert_ffn_size", self.expert_ffn_size, minimum=0, maximum=_MAX_SIZE)
        v.integer("dense_layers", self.dense_layers, minimum=0, maximum=self.n_layers)
        v.integer("norms_per_layer", self.norms_per_layer, minimum=1, maximum=8)
        for name in ("n_shared_experts", "q_lora_rank", "kv_lora_rank", "qk_rope_head_dim", "v_head_dim"):
            v.integer(name, getattr(self, name), minimum=0, maximum=_MAX_SIZE)
        if self.kv_lora_rank and not (self.v_head_dim and self.head_dim > self.qk_rope_head_dim):
            raise ValueError("a latent-attention model (kv_lora_rank > 0) needs v_head_dim > 0 and "
                             f"head_dim > qk_rope_head_dim, got v_head_dim={self.v_head_dim}, head_dim={self.head_dim}, "
                             f"qk_rope_head_dim={self.qk_rope_head_dim}")
        if self.parallel_block and self.norms_per_layer > 2:
            raise ValueError(f"a parallel block has 1 or 2 norms per layer, got norms_per_layer={self.norms_per_layer}")
        if self.n_heads % self.n_kv_heads:
            raise ValueError(f"n_heads={self.n_heads} must be a multiple of n_kv_heads={self.n_kv_heads} "
                             "(each KV head serves a whole group of query heads)")
        if self.experts_per_token > self.n_experts:
            raise ValueError(f"experts_per_token={self.experts_per_token} must be at most n_experts={self.n_experts}")
        v.choice("ffn_kind", self.ffn_kind, ("mlp", "gated"))
        v.choice("norm", self.norm, ("layernorm", "rmsnorm", "layernorm_nobias"))
        for name in ("tied_embeddings", "qkv_bias", "out_bias", "mlp_bias", "qk_norm", "qk_norm_full", "attn_softcap",
                     "logit_softcap", "parallel_block", "qk_norm_heads", "lm_head_bias", "attention_sinks",
                     "router_bias", "full_k_eq_v"):
            v.boolean(name, getattr(self, name))
        v.number("swiglu_limit", self.swiglu_limit, minimum=0, maximum=_MAX_SIZE)  # 0: a plain SwiGLU
        v.integer("positions", self.positions, minimum=0, maximum=_MAX_SIZE)
        if self.sliding_window is not None:
            v.positive_int("sliding_window", self.sliding_window, maximum=_MAX_SIZE)
        v.integer("sliding_layers", self.sliding_layers, minimum=0, maximum=self.n_layers)
        v.boolean("chunked", self.chunked)
        if self.chunked and not self.sliding_layers:
            raise ValueError("chunked=True needs sliding_layers > 0 (the layers that attend within chunks), "
                             f"got sliding_layers={self.sliding_layers}")
        v.integer("qk_l2_norm_layers", self.qk_l2_norm_layers, minimum=0, maximum=self.n_layers)
        self._check_per_layer_shapes()
        v.integer("linear_layers", self.linear_layers, minimum=0, maximum=self.n_layers - self.sliding_layers)
        for name in ("linear_k_heads", "linear_v_heads", "linear_k_dim", "linear_v_dim", "linear_conv_kernel"):
            if self.linear_layers:
                v.positive_int(name, getattr(self, name), maximum=_MAX_SIZE)
            else:
                v.integer(name, getattr(self, name), minimum=0, maximum=_MAX_SIZE)
        if self.linear_layers and self.linear_v_heads % self.linear_k_heads:
            raise ValueError(f"linear_v_heads={self.linear_v_heads} must be a multiple of "
                             f"linear_k_heads={self.linear_k_heads}")
        v.integer("shared_expert_ffn_size", self.shared_expert_ffn_size, minimum=0, maximum=_MAX_SIZE)
        for name in ("attn_output_gate", "shared_expert_gate"):
            v.boolean(name, getattr(self, name))
        v.fraction("dropout", self.dropout, allow_zero=True)
        v.fraction("attention_dropout", self.attention_dropout, allow_zero=True)
        v.string("activation", self.activation)
        v.string("name", self.name, nonempty=False)

    def _check_per_layer_shapes(self) -> None:
        """The per-layer shape fields (Gemma 4) checked against each other and the layer counts."""
        for name in ("full_head_dim", "full_kv_heads", "shared_ffn_size", "per_layer_input_size",
                     "per_layer_vocab_size"):
            v.integer(name, getattr(self, name), minimum=0, maximum=_MAX_SIZE)
        v.integer("kv_shared_layers", self.kv_shared_layers, minimum=0, maximum=self.n_layers - 1)
        v.integer("kv_shared_sliding", self.kv_shared_sliding, minimum=0,
                  maximum=min(self.kv_shared_layers, self.sliding_layers))
        if self.kv_shared_layers - self.kv_shared_sliding > self.n_layers - self.sliding_layers:
            raise ValueError(f"kv_shared_layers={self.kv_shared_layers} with kv_shared_sliding={self.kv_shared_sliding} "
                             f"needs more full-attention layers than the {self.n_layers - self.sliding_layers} there are")
        if self.full_kv_heads and self.n_heads % self.full_kv_heads:
            raise ValueError(f"n_heads={self.n_heads} must be a multiple of full_kv_heads={self.full_kv_heads}")
        if bool(self.per_layer_input_size) != bool(self.per_layer_vocab_size):
            raise ValueError("per_layer_input_size and per_layer_vocab_size must both be > 0 or both 0, got "
                             f"{self.per_layer_input_size} and {self.per_layer_vocab_size}")
        if self._per_layer_shapes and self.kv_lora_rank:
            raise ValueError("per-layer shapes (full_head_dim, kv_shared_layers, ...) with latent attention "
                             "(kv_lora_rank > 0) are not modelled")
        if self._per_layer_shapes and self.n_experts > 1:
            raise ValueError("per-layer shapes (full_head_dim, kv_shared_layers, ...) with a mixture of experts "
                             "are not modelled")

    # ------------------------------------------------------------ reading a config

    @classmethod
    def from_hf_config(cls, config, *, name: str = "") -> "Architecture":
        """Build from a Hugging Face config: a dict, the path of a local
        ``config.json``, or its bytes (an upload), read by
        :func:`course_lib.configs.read_config` (size limit, UTF-8 with or
        without BOM, bad JSON named with its line). Keys the file leaves out
        take transformers' defaults for that ``model_type``; every key is read
        strictly (a string is not a bool, a float is not an int) and checked
        as transformers checks it (heads divide the width, KV heads divide the
        heads). A multimodal config that wraps a ``text_config`` (:data:`WRAPPERS`:
        Gemma 3, Llama 4, Mistral 3 / Ministral 3) is read as its language model,
        with the text config's own ``model_type`` (Mistral 3's may be ``mistral``,
        ``ministral`` or ``ministral3``) and its own ``tie_word_embeddings``: what
        the checkpoint stores (transformers 5 ties a from-config wrapper by the
        wrapper's flag, but loading a checkpoint whose head differs from the
        embedding keeps both). An unknown ``model_type`` raises a ``ValueError``
        listing :data:`FAMILIES`. Used by :func:`course_lib.arch.measured_families` and
        :func:`course_lib.arch.measured_kv_cache`; not tied to one lesson.
        """
        source = os.fspath(config) if isinstance(config, (str, os.PathLike)) else ""
        config = configs.read_config(config)
        v.string("name", name, nonempty=False)
        family = config.get("model_type")
        if isinstance(family, str) and family in WRAPPERS:  # a multimodal checkpoint: its language model
            text = config.get("text_config")
            if text is None:  # no text config at all: the wrapper's own default language model
                text = _WRAPPER_TEXT.get(family, {})
            if not isinstance(text, dict):
                raise TypeError(f"config['text_config'] must be a JSON object, got {v.show(text)}")
            inner = {"model_type": WRAPPERS[family], **text}
            for key in ("_name_or_path", "_source"):
                if key in config and key not in inner:
                    inner[key] = config[key]
            config, family = inner, inner["model_type"]
        if not isinstance(family, str) or family not in _DEFAULTS:
            raise configs.ConfigError(
                f"config's model_type must be one of {list(FAMILIES)}, got {v.show(family)}. Relabelling a config "
                "to another family gives silently wrong numbers (each family has its own shapes and defaults)")
        c = {**_DEFAULTS[family], **config}
        try:
            if family == "gpt2":
                sizes = ("vocab_size", "n_embd", "n_head", "n_layer", "n_positions")
            elif family == "falcon":  # no intermediate_size (ffn_hidden_size, 4 × hidden by default); n_embed is
                if "n_embed" in config:  # an older name of hidden_size
                    c["hidden_size"] = c.pop("n_embed")
                sizes = ("vocab_size", "hidden_size", "num_attention_heads", "num_hidden_layers")
            else:
                sizes = ("vocab_size", "hidden_size", "num_attention_heads", "num_hidden_layers", "intermediate_size")
                if family == "qwen3_5_moe_text":  # no dense FFN: no intermediate_size
                    sizes = sizes[:-1]
            for key in sizes:
                configs.field_int(c, key, minimum=1, maximum=_MAX_SIZE)
            name = name or configs.field_str(c, "_name_or_path", "") or family
            source = configs.field_str(c, "_source", source)
            return cls._from_checked_config(family, c, name, source)
        except (ValueError, TypeError) as err:
            raise v.same_kind(err, f"config does not describe a valid {family} model: {err}") from err

    @classmethod
    def _from_checked_config(cls, family: str, c: dict, name: str, source: str) -> "Architecture":
        F = configs
        if family in _FIELD_READERS:  # phi, falcon, cohere, cohere2, starcoder2
            return cls(family=family, name=name, source=source, **_FIELD_READERS[family](c))
        if family == "gpt2":
            h, heads = F.field_int(c, "n_embd", minimum=1), F.field_int(c, "n_head", minimum=1)
            if h % heads:
                raise F.ConfigError(f"config['n_embd']={h} must be a multiple of config['n_head']={heads}")
            inner = F.field_int(c, "n_inner", minimum=1, allow_none=True)
            return cls(
                family=family, vocab_size=c["vocab_size"], hidden_size=h, n_layers=c["n_layer"],
                n_heads=heads, n_kv_heads=heads, head_dim=h // heads,
                ffn_size=inner or 4 * h, ffn_kind="mlp", tied_embeddings=F.field_bool(c, "tie_word_embeddings"),
                qkv_bias=True, out_bias=True, mlp_bias=True, norm="layernorm", positions=c["n_positions"],
                activation=F.field_str(c, "activation_function"), dropout=F.field_float(c, "resid_pdrop", maximum=1),
                attention_dropout=F.field_float(c, "attn_pdrop", maximum=1), name=name, source=source,
            )
        h = c["hidden_size"]
        n = c["num_hidden_layers"]
        heads = c["num_attention_heads"]
        kv = F.field_int(c, "num_key_value_heads", minimum=1, allow_none=True) or heads
        if heads % kv:
            raise F.ConfigError(f"config['num_attention_heads']={heads} must be a multiple of "
                                f"config['num_key_value_heads']={kv}")
        head_dim = F.field_int(c, "head_dim", minimum=1, allow_none=True)
        if family == "phi3" or not head_dim:  # Phi3 always uses hidden // heads
            if h % heads:
                raise F.ConfigError(f"config['hidden_size']={h} must be a multiple of config['num_attention_heads']="
                                    f"{heads} (or the config must give head_dim)")
            head_dim = h // heads
        window = F.field_int(c, "sliding_window", minimum=1, allow_none=True)
        types = None if family in ("llama4_text",) + _HYBRID else F.field_str_list(c, "layer_types", n, allowed=_LAYER_TYPES)
        if family in ("gemma3_text", "gemma2", "gpt_oss", "gemma4_text") and types is None:  # built from the pattern
            pattern = ({"gemma2": 2, "gpt_oss": 2, "gemma4_text": 6}.get(family)
                       or F.field_int(c, "sliding_window_pattern", minimum=1))
            types = ["sliding_attention" if (i + 1) % pattern else "full_attention" for i in range(n)]
        g4 = {}
        if family == "gemma4_text":
            types = list(types)[:-1] + ["full_attention"]  # transformers forces the last layer to full attention
            window = F.field_int(c, "sliding_window", minimum=1)
            if F.field_str(c, "use_bidirectional_attention", allow_none=True) == "all":
                window = window // 2 + 1  # as transformers' config stores it (exclusive bounds)
            g4 = cls._gemma4_shapes(c, n, heads, kv, head_dim, list(types))
        n_sliding = 0
        if family in ("gemma3_text", "gemma2", "gpt_oss", "gemma4_text") and window:
            n_sliding = sum(t == "sliding_attention" for t in types)
        if family in ("mistral", "mixtral", "phi3", "ministral3") and window:
            n_sliding = n
        if family == "ministral" and window:  # Ministral: the layers layer_types says (all when it says nothing)
            n_sliding = sum(t == "sliding_attention" for t in types) if types else n
        if family in ("qwen2", "qwen3", "qwen3_moe", "smollm3") and F.field_bool(c, "use_sliding_window") and window:
            if types:
                n_sliding = sum(t == "sliding_attention" for t in types)
            else:
                n_sliding = max(0, n - F.field_int(c, "max_window_layers", minimum=0))
        if family in ("gemma", "gemma3_text", "gemma2", "gemma4_text"):
            act = F.field_str(c, "hidden_activation", allow_none=True) or F.field_str(c, "hidden_act")
        else:
            act = F.field_str(c, "hidden_act")
        experts, per_token, expert_ffn, dense = 1, 1, 0, 0
        if family == "mixtral":
            experts = F.field_int(c, "num_local_experts", minimum=1)
            per_token = F.field_int(c, "num_experts_per_tok", minimum=1, maximum=experts)
        if family == "qwen3_moe":
            experts = F.field_int(c, "num_experts", c.get("num_local_experts", 128), minimum=1)
            per_token = F.field_int(c, "num_experts_per_tok", minimum=1, maximum=experts)
            expert_ffn = F.field_int(c, "moe_intermediate_size", minimum=1)
            step = F.field_int(c, "decoder_sparse_step", minimum=1)
            only = c.get("mlp_only_layers") or []
            if not isinstance(only, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in only):
                raise TypeError(f"config['mlp_only_layers'] must be a list of layer indices, got {v.show(only)}")
            dense = sum(1 for i in range(n) if i in only or (i + 1) % step)
        oss = {}
        if family == "gpt_oss":  # every layer a mixture: router and experts biased, a clamped SwiGLU, sinks
            experts = F.field_int(c, "num_local_experts", c.get("num_experts", 128), minimum=1)
            per_token = F.field_int(c, "num_experts_per_tok", minimum=1, maximum=experts)
            oss = dict(attention_sinks=True, router_bias=True,
                       swiglu_limit=F.field_float(c, "swiglu_limit", minimum=1e-9))
        mla = {}
        if family == "deepseek_v2":
            cls._check_deepseek_v2(c)
        if family in ("deepseek_v3", "deepseek_v2"):
            experts = F.field_int(c, "n_routed_experts", minimum=1)
            per_token = F.field_int(c, "num_experts_per_tok", minimum=1, maximum=experts)
            expert_ffn = F.field_int(c, "moe_intermediate_size", minimum=1)
            dense = min(n, F.field_int(c, "first_k_dense_replace", minimum=0))
            nope, rope = F.field_int(c, "qk_nope_head_dim", minimum=1), F.field_int(c, "qk_rope_head_dim", minimum=1)
            head_dim, kv = nope + rope, heads  # the cache's (expanded) keys: one per query head
            mla = dict(n_shared_experts=F.field_int(c, "n_shared_experts", minimum=0, allow_none=True) or 0,
                       q_lora_rank=F.field_int(c, "q_lora_rank", minimum=1, allow_none=True) or 0,
                       kv_lora_rank=F.field_int(c, "kv_lora_rank", minimum=1), qk_rope_head_dim=rope,
                       v_head_dim=F.field_int(c, "v_head_dim", minimum=1))
        ffn = c.get("intermediate_size")
        if family in _HYBRID:
            mla = _hybrid_structure(c, family, n)
            experts, per_token, expert_ffn, dense, ffn = (mla.pop(k) for k in ("experts", "per_token", "expert_ffn",
                                                                               "dense", "ffn"))
        if family == "llama4_text":
            llama4 = _llama4_structure(c, n)
            experts, per_token, expert_ffn, dense = (llama4.pop(k) for k in ("experts", "per_token", "expert_ffn",
                                                                             "dense"))
            ffn, window, n_sliding = llama4.pop("ffn"), llama4.pop("window"), llama4.pop("n_sliding")
            mla = llama4
        bias = F.field_bool(c, "attention_bias", False)
        return cls(**mla, **oss, **g4,
            family=family, vocab_size=c["vocab_size"], hidden_size=h, n_layers=n,
            n_heads=heads, n_kv_heads=kv, head_dim=head_dim, ffn_size=ffn, ffn_kind="gated",
            tied_embeddings=F.field_bool(c, "tie_word_embeddings"),
            qkv_bias=family == "qwen2" or bias, out_bias=bias and family != "qwen2",
            # gpt-oss's experts always have biases
            mlp_bias=(F.field_bool(c, "mlp_bias", False) and family != "deepseek_v3") or family == "gpt_oss",
            norm="rmsnorm",
            n_experts=experts, experts_per_token=per_token, expert_ffn_size=expert_ffn, dense_layers=dense,
            qk_norm=family in ("qwen3", "qwen3_moe", "gemma3_text", "olmo2", "gemma4_text") + _HYBRID,
            qk_norm_full=family == "olmo2", norms_per_layer=4 if family in ("gemma3_text", "gemma2", "gemma4_text") else 2,
            attn_softcap=bool(F.field_float(c, "attn_logit_softcapping", None, allow_none=True)),
            logit_softcap=bool(F.field_float(c, "final_logit_softcapping", None, allow_none=True)),
            sliding_window=window if n_sliding else None, sliding_layers=n_sliding, activation=act,
            dropout=F.field_float(c, "resid_pdrop", 0.0, maximum=1),
            attention_dropout=F.field_float(c, "attention_dropout", 0.0, maximum=1),
            name=name, source=source,
        )

    @staticmethod
    def _gemma4_shapes(c: dict, n: int, heads: int, kv: int, head_dim: int, types: list) -> dict:
        """Gemma 4's per-layer shapes (transformers 5.25, models/gemma4): the full-attention layers' head width
        and KV heads, from ``per_layer_config`` when a saved config carries it (transformers writes the
        overrides there), else from ``global_head_dim`` and, only with ``attention_k_eq_v``,
        ``num_global_key_value_heads``; the KV-shared layers (the last ``num_kv_shared_layers``, which need an
        earlier layer of each kind to reuse); the double-wide MLP of those layers; per-layer input embeddings."""
        F = configs
        if F.field_bool(c, "enable_moe_block"):
            raise F.ConfigError("config['enable_moe_block'] must be false for gemma4_text: Gemma 4's expert block "
                                "(run beside the dense MLP) is not modelled yet")
        k_eq_v = F.field_bool(c, "attention_k_eq_v")
        overrides = c.get("per_layer_config")
        if overrides is not None:
            if not isinstance(overrides, dict) or not all(isinstance(o, dict) for o in overrides.values()):
                raise TypeError(f"config['per_layer_config'] must map layer indices to objects, got {v.show(overrides)}")
            shapes = {}
            for key, o in overrides.items():
                if not (isinstance(key, int) or (isinstance(key, str) and key.isdigit())) or int(key) >= n:
                    raise F.ConfigError(f"config['per_layer_config'] keys must be layer indices below {n}, got {key!r}")
                if set(o) - {"head_dim", "num_key_value_heads"}:
                    raise F.ConfigError(f"config['per_layer_config'][{key!r}]: only head_dim and num_key_value_heads "
                                        f"overrides are modelled, got {sorted(o)}")
                shapes[int(key)] = (F.field_int(o, "head_dim", head_dim, minimum=1),
                                    F.field_int(o, "num_key_value_heads", kv, minimum=1))
            full = {shapes.get(i, (head_dim, kv)) for i, t in enumerate(types) if t == "full_attention"}
            if any(t != "full_attention" for i, t in enumerate(types) if i in shapes) or len(full) != 1:
                raise F.ConfigError("config['per_layer_config'] must give every full-attention layer the same shape "
                                    "and no sliding layer its own (other per-layer shapes are not modelled)")
            head, kv_full = full.pop()
        else:
            head = F.field_int(c, "global_head_dim", minimum=1)
            kv_full = (F.field_int(c, "num_global_key_value_heads", minimum=1, allow_none=True) if k_eq_v else None) or kv
        if heads % kv_full:
            raise F.ConfigError(f"config['num_attention_heads']={heads} must be a multiple of the full-attention "
                                f"layers' KV heads ({kv_full})")
        shared = F.field_int(c, "num_kv_shared_layers", minimum=0, maximum=n - 1)
        if shared and set(types[:n - shared]) != set(types):
            raise F.ConfigError("config['num_kv_shared_layers']: every layer kind of the shared layers needs an "
                                "earlier layer of that kind to reuse (as transformers requires)")
        width = F.field_int(c, "hidden_size_per_layer_input", minimum=0, allow_none=True) or 0
        return dict(full_head_dim=head, full_kv_heads=kv_full, full_k_eq_v=k_eq_v, kv_shared_layers=shared,
                    kv_shared_sliding=sum(t == "sliding_attention" for t in types[n - shared:]) if shared else 0,
                    shared_ffn_size=2 * c["intermediate_size"] if shared and F.field_bool(c, "use_double_wide_mlp") else 0,
                    per_layer_input_size=width,
                    per_layer_vocab_size=F.field_int(c, "vocab_size_per_layer_input", minimum=1) if width else 0)

    @staticmethod
    def _check_deepseek_v2(c: dict) -> None:
        """What DeepSeek-V2's keys allow in transformers 5.25 (models/deepseek_v2): the routing methods it
        implements; every layer from ``first_k_dense_replace`` on is a mixture (the original remote code's
        ``moe_layer_freq`` is not read there, so a value other than 1 would build another model than the
        file describes); ``mlp_bias`` would give the dense and shared FFNs biases but not the routed experts."""
        F = configs
        method = F.field_str(c, "topk_method")
        if method not in ("greedy", "group_limited_greedy"):
            raise F.ConfigError(f"config['topk_method'] must be 'greedy' or 'group_limited_greedy' (what transformers' "
                                f"DeepSeek-V2 router implements), got {method!r}")
        if method == "group_limited_greedy":
            groups = F.field_int(c, "n_group", minimum=1)
            if F.field_int(c, "n_routed_experts", minimum=1) % groups:
                raise F.ConfigError(f"config['n_routed_experts'] must be a multiple of config['n_group']={groups}")
        if F.field_int(c, "moe_layer_freq", minimum=1) != 1:
            raise F.ConfigError("config['moe_layer_freq'] must be 1: transformers' DeepSeek-V2 makes every layer from "
                                "first_k_dense_replace on a mixture of experts and does not read moe_layer_freq")
        if F.field_bool(c, "mlp_bias"):
            raise F.ConfigError("config['mlp_bias'] must be false for deepseek_v2: biases on the dense and shared FFNs "
                                "but not on the routed experts are not modelled")

    # ------------------------------------------------------------ parameters

    @property
    def q_size(self) -> int:
        """Width of the queries (and of the attention output): heads × head_dim. Used by
        :func:`course_lib.generation.decode_flops` and :meth:`course_lib.arch.Architecture.forward_flops`; not tied to
        one lesson."""
        return self.n_heads * self.head_dim

    @property
    def kv_size(self) -> int:
        """Width of the keys (and of the values): KV heads × head_dim. Used by
        :meth:`course_lib.arch.Architecture.forward_flops` and :meth:`course_lib.arch.Architecture.kv_cache_bytes`;
        not tied to one lesson."""
        return self.n_kv_heads * self.head_dim

    # per-layer shapes (Gemma 4): layers grouped by kind, each kind with its own attention shape

    @property
    def _per_layer_shapes(self) -> bool:
        return bool(self.full_head_dim or self.full_kv_heads or self.full_k_eq_v or self.kv_shared_layers
                    or self.shared_ffn_size or self.per_layer_input_size)

    def _kinds(self) -> list[tuple[int, bool, bool]]:
        """``(layers, sliding, own_kv)``: sliding / full layers with their own keys and values or KV-shared."""
        s, ss = self.sliding_layers, self.kv_shared_sliding
        fs = self.kv_shared_layers - ss
        return [(s - ss, True, True), (ss, True, False), (self.n_layers - s - fs, False, True), (fs, False, False)]

    def _kind_shape(self, sliding: bool, own: bool) -> tuple[int, int, int]:
        """(head_dim, KV heads, key/value projections) of one layer of a kind (0 projections: KV-shared)."""
        if sliding:
            return self.head_dim, self.n_kv_heads, 2 if own else 0
        d, k = self.full_head_dim or self.head_dim, self.full_kv_heads or self.n_kv_heads
        return d, k, (1 if self.full_k_eq_v else 2) if own else 0

    def _kind_params(self, sliding: bool, own: bool) -> int:
        """One layer of a kind: attention, FFN, norms and its per-layer input block."""
        h, heads = self.hidden_size, self.n_heads
        d, k, mats = self._kind_shape(sliding, own)
        p = 2 * h * heads * d + mats * h * k * d
        if self.qkv_bias:
            p += heads * d + mats * k * d
        if self.out_bias:
            p += h
        if self.qk_norm:
            p += d * (2 if own else 1)  # q_norm; k_norm where the layer has keys of its own
        p += self._expert_params(self.shared_ffn_size if self.shared_ffn_size and not own else None)
        p += self.norms_per_layer * self._norm_params()
        if self.per_layer_input_size:  # gate, projection back, norm
            p += 2 * h * self.per_layer_input_size + self._norm_params()
        return p

    def _per_layer_input_params(self) -> int:
        """The per-layer input embedding table, the hidden state's projection to it and its norm."""
        w = self.n_layers * self.per_layer_input_size
        return (self.per_layer_vocab_size * w + self.hidden_size * w + self.per_layer_input_size
                if self.per_layer_input_size else 0)

    def _attention_params(self) -> int:
        h = self.hidden_size
        if self.kv_lora_rank:  # multi-head latent attention (DeepSeek-V2/V3)
            qr, kr, rope, heads = self.q_lora_rank, self.kv_lora_rank, self.qk_rope_head_dim, self.n_heads
            nope = self.head_dim - rope
            p = (h * qr + qr + qr * heads * self.head_dim) if qr else h * heads * self.head_dim
            p += h * (kr + rope) + kr + kr * heads * (nope + self.v_head_dim) + heads * self.v_head_dim * h
            if self.qkv_bias:
                p += (qr if qr else 0) + kr + rope
            if self.out_bias:
                p += h
            return p
        gate = self.q_size if self.attn_output_gate else 0  # q_proj also makes the output gate (Qwen3-Next)
        p = h * (self.q_size + gate + 2 * self.kv_size) + self.q_size * h
        if self.qkv_bias:
            p += self.q_size + gate + 2 * self.kv_size
        if self.out_bias:
            p += h
        if self.attention_sinks:
            p += self.n_heads  # one sink logit per head (gpt-oss)
        if self.qk_norm_full or self.qk_norm_heads:
            p += self.q_size + self.kv_size  # all queries' and keys' widths: OLMo 2's two norms, Cohere's per head
        elif self.qk_norm:
            # one norm for queries, one for keys, shared by the heads (a LayerNorm's bias too: Phi's qk_layernorm)
            p += 2 * self.head_dim * (2 if self.norm == "layernorm" else 1)
        return p

    @property
    def _linear_widths(self) -> tuple[int, int, int]:
        """A linear-attention layer's query/key width, value width and convolved width (q, k and v)."""
        kd, vd = self.linear_k_heads * self.linear_k_dim, self.linear_v_heads * self.linear_v_dim
        return kd, vd, 2 * kd + vd

    def _linear_attention_params(self) -> int:
        """One gated DeltaNet layer (transformers' ``Qwen3NextGatedDeltaNet``): q, k, v and the output gate z
        from the input, a and b (one per value head each), the depthwise convolution, ``A_log`` and ``dt_bias``,
        the gated RMSNorm of one value head and the output projection."""
        h = self.hidden_size
        kd, vd, conv = self._linear_widths
        proj = h * (2 * kd + 2 * vd + 2 * self.linear_v_heads) + vd * h
        return proj + conv * self.linear_conv_kernel + 2 * self.linear_v_heads + self.linear_v_dim

    def _mla_small_params(self) -> int:
        """A latent attention's norm weights and biases: parameters that no matmul multiplies."""
        small = (self.q_lora_rank if self.q_lora_rank else 0) + self.kv_lora_rank
        if self.qkv_bias:
            small += (self.q_lora_rank if self.q_lora_rank else 0) + self.kv_lora_rank + self.qk_rope_head_dim
        return small + (self.hidden_size if self.out_bias else 0)

    @property
    def _expert_ffn(self) -> int:
        return self.expert_ffn_size or self.ffn_size

    @property
    def _shared_ffn(self) -> int:
        return self.shared_expert_ffn_size or self._expert_ffn * self.n_shared_experts

    def _expert_params(self, f: int | None = None) -> int:
        """One FFN (one expert of a mixture, of width ``f``)."""
        h, f = self.hidden_size, self.ffn_size if f is None else f
        if self.ffn_kind == "mlp":
            return 2 * h * f + ((f + h) if self.mlp_bias else 0)
        return 3 * h * f + ((2 * f + h) if self.mlp_bias else 0)

    def _norm_params(self) -> int:
        return 2 * self.hidden_size if self.norm == "layernorm" else self.hidden_size  # RMSNorm, Cohere's: a weight

    def _router_params(self) -> int:
        if self.n_experts == 1:
            return 0
        return (self.hidden_size + (1 if self.router_bias else 0)) * self.n_experts

    def _layer_params(self, experts: int) -> int:
        """One layer with a mixture (``experts`` of them counted) or, for a dense model, its FFN."""
        norms = self.norms_per_layer * self._norm_params()
        if self.n_experts == 1:
            return self._attention_params() + self._expert_params() + norms
        shared = self._expert_params(self._shared_ffn) if self.n_shared_experts else 0
        if self.shared_expert_gate:
            shared += self.hidden_size
        return (self._attention_params() + experts * self._expert_params(self._expert_ffn) + shared
                + self._router_params() + norms)

    def _layers_params(self, experts: int) -> int:
        if self._per_layer_shapes:
            return sum(n * self._kind_params(sliding, own) for n, sliding, own in self._kinds())
        dense = self._attention_params() + self._expert_params() + self.norms_per_layer * self._norm_params()
        linear = self.linear_layers * (self._linear_attention_params() - self._attention_params()) if self.linear_layers else 0
        return (self.n_layers - self.dense_layers) * self._layer_params(experts) + self.dense_layers * dense + linear

    def _embedding_params(self) -> int:
        emb = self.vocab_size * self.hidden_size + self.positions * self.hidden_size
        head = 0 if self.tied_embeddings else self.vocab_size * self.hidden_size
        head += self.vocab_size if self.lm_head_bias else 0  # Phi's LM head has a bias (kept when tied)
        return emb + head + self._norm_params() + self._per_layer_input_params()

    @property
    def n_params(self) -> int:
        """Parameters, counted once each (tied embeddings once), exactly as
        transformers' ``model.num_parameters()`` counts them. Lesson 02."""
        return self._embedding_params() + self._layers_params(self.n_experts)

    @property
    def n_active_params(self) -> int:
        """Parameters used for one token: a mixture of experts runs
        ``experts_per_token`` of its ``n_experts`` FFNs (plus the router);
        equal to :attr:`n_params` for a dense model. Lessons 07 and 09."""
        return self._embedding_params() + self._layers_params(self.experts_per_token)

    @property
    def lookup_params(self) -> int:
        """Parameters that are looked up, not multiplied: the input embedding
        table (when not tied to the LM head, which multiplies every token) and
        a learned position table. A decode step reads only their looked-up
        rows. Lesson 07, section 4."""
        per_layer = self.per_layer_vocab_size * self.n_layers * self.per_layer_input_size  # Gemma 4's per-layer inputs
        return ((0 if self.tied_embeddings else self.vocab_size * self.hidden_size) + self.positions * self.hidden_size
                + per_layer)

    @property
    def matmul_params(self) -> int:
        """Weights that multiply each token: every projection of every layer,
        the experts a token runs (routed and shared) and the router, and the
        LM head (no biases, norms or lookups), so a token costs
        2 · matmul_params FLOPs outside attention: :meth:`forward_flops` at
        one token less its score and value matmuls. Lesson 07, section 3."""
        core = self.linear_layers * self._linear_core_flops(1, 1) if self.linear_layers else 0
        if self.linear_layers:
            score = (self.n_layers - self.linear_layers) * self._score_flops(1, 1)
        else:
            score = self._all_score_flops(1, 1)
        return (self.forward_flops(batch=1, seq_len=1) - score - core) // 2

    def largest_layer_params(self) -> int:
        """Parameters of the largest single module (DeepSpeed's "largest
        layer": the embedding or the LM head for a language model). Used by
        :meth:`course_lib.arch.Architecture.zero_memory`; not tied to one lesson."""
        h, f = self.hidden_size, self.ffn_size
        sizes = [self.vocab_size * h, h * self.q_size + (self.q_size if self.qkv_bias else 0), h * f + (f if self.mlp_bias else 0)]
        if self._per_layer_shapes:  # the per-layer input table, a full layer's q_proj, a double-wide FFN matrix
            d = self.full_head_dim or self.head_dim
            sizes += [self.per_layer_vocab_size * self.n_layers * self.per_layer_input_size,
                      h * self.n_heads * d + (self.n_heads * d if self.qkv_bias else 0), h * self.shared_ffn_size]
        if self.family == "phi3":
            sizes += [h * (self.q_size + 2 * self.kv_size), 2 * h * f]
        if self.family == "falcon":  # one fused query_key_value
            sizes += [h * (self.q_size + 2 * self.kv_size) + ((self.q_size + 2 * self.kv_size) if self.qkv_bias else 0)]
        if self.family == "gpt2":
            sizes += [h * 3 * h + 3 * h, self.positions * h]
        return max(sizes)

    # ------------------------------------------------------------ KV cache

    @v.checked
    def kv_cache_bytes(self, *, seq_len: v.PositiveInt, batch: v.PositiveInt = 1, bytes_per_value: v.Positive = 2,
                       mla: v.Choice[MLA_CACHES] = "latent") -> int:
        """Bytes of the key/value cache holding ``seq_len`` tokens per sequence:
        2 · KV heads · head_dim · bytes per layer and token (grouped-query
        attention and an explicit ``head_dim`` included). A sliding-window
        layer keeps at most ``sliding_window`` tokens: transformers'
        ``DynamicSlidingWindowLayer`` keeps the last ``window - 1`` and
        concatenates the new token onto them, so ``min(seq_len, window)``
        tokens' worth of storage is alive after each decode step (Llama 4's
        chunked layers, ``chunked``, are cached the same way with the chunk
        size as the window). Equal to
        the storage of transformers' cache after ``generate`` (``seq_len`` =
        ``cache.get_seq_length()``).

        Multi-head latent attention (``kv_lora_rank`` > 0, DeepSeek):
        ``mla="latent"`` (default) counts the compressed latent and the shared
        rotary key, ``kv_lora_rank + qk_rope_head_dim`` values per layer and
        token, which the serving engines (vLLM, SGLang) and transformers 5's
        cache hold (the tests check it to the byte after ``generate``);
        ``mla="expanded"`` counts the keys and values expanded per head,
        ``heads · (head_dim + v_head_dim)``, which older implementations
        without an absorbed latent stored. Lesson 02.
        """
        s, b, p = seq_len, batch, bytes_per_value
        if self.kv_lora_rank:
            per_token = (self.kv_lora_rank + self.qk_rope_head_dim if mla == "latent"
                         else self.n_heads * (self.head_dim + self.v_head_dim))
            return math.ceil(per_token * self.n_layers * s * b * p)
        if self._per_layer_shapes:  # each kind its own shape; KV-shared layers hold no cache
            per_layer = 0
            for n, sliding, own in self._kinds():
                d, k, _ = self._kind_shape(sliding, own)
                if own:
                    per_layer += n * 2 * k * d * (min(s, self.sliding_window) if sliding else s)
            return math.ceil(per_layer * b * p)
        full = self.n_layers - self.sliding_layers - self.linear_layers
        tokens = full * s + self.sliding_layers * (min(s, self.sliding_window) if self.sliding_window else s)
        return math.ceil(2 * self.kv_size * tokens * b * p) + self.linear_state_bytes(batch=b, bytes_per_value=p)

    @v.checked
    def linear_state_bytes(self, *, batch: v.PositiveInt = 1, bytes_per_value: v.Positive = 2) -> int:
        """Bytes of the linear-attention layers' state, the same at every
        length (0 without such layers): per layer and sequence a convolution
        state of ``conv_dim × linear_conv_kernel`` values (``conv_dim`` = 2 ·
        key width + value width) and a recurrent state of ``linear_v_heads ×
        linear_k_dim × linear_v_dim``, as transformers 5.25's cache holds them
        after ``generate`` (its one int64 position counter per linear layer
        is not counted, as for sliding layers). Used by
        :meth:`course_lib.arch.Architecture.kv_cache_bytes`; not tied to one lesson."""
        b, p = batch, bytes_per_value
        if not self.linear_layers:
            return 0
        conv = self._linear_widths[2] * self.linear_conv_kernel
        recurrent = self.linear_v_heads * self.linear_k_dim * self.linear_v_dim
        return math.ceil(self.linear_layers * (conv + recurrent) * b * p)

    # ------------------------------------------------------------ FLOPs

    @v.checked
    def _score_flops(self, b: int, s: int) -> int:
        """One layer's attention matmuls (scores, then the weighted values) over
        the full s × s matrix; latent attention's values have v_head_dim."""
        value_dim = self.v_head_dim if self.kv_lora_rank else self.head_dim
        return 2 * b * self.n_heads * s * s * (self.head_dim + value_dim)

    def _all_score_flops(self, b: int, s: int) -> int:
        """Every layer's attention matmuls (per-layer head widths included)."""
        if self._per_layer_shapes:
            return sum(n * 4 * b * self.n_heads * s * s * self._kind_shape(sliding, own)[0]
                       for n, sliding, own in self._kinds())
        return self.n_layers * self._score_flops(b, s)

    def _linear_core_flops(self, b: int, s: int, chunk: int = 64) -> int:
        """One gated DeltaNet layer's matmuls beyond its projections, as transformers' torch fallback
        (``torch_chunk_gated_delta_rule``, chunks of 64, the length padded to a whole chunk) runs them: per
        chunk and value head the two C × C products (k_beta kᵀ and q kᵀ), then per chunk the reads of the
        state (k_cumdecay S, q S), the intra-chunk product and the state update; plus the depthwise
        convolution (FlopCounterMode counts 2 · kernel per channel and output position, over the s + kernel - 1
        positions of the padded convolution). The triangular solves are not counted (FlopCounterMode has
        no formula for them)."""
        padded = -(-s // chunk) * chunk
        heads, dk, dv = self.linear_v_heads, self.linear_k_dim, self.linear_v_dim
        delta = 2 * b * heads * padded * (2 * chunk * dk + 3 * dk * dv + chunk * dv)
        conv = 2 * b * self._linear_widths[2] * self.linear_conv_kernel * (s + self.linear_conv_kernel - 1)
        return delta + conv

    @v.checked
    def forward_flops(self, *, batch: v.PositiveInt, seq_len: v.PositiveInt) -> int:
        """Matmul FLOPs of one forward pass over ``batch`` × ``seq_len`` tokens,
        counted as ``FlopCounterMode`` counts them (2 per multiply-add, the
        full s × s score matrix for attention, causal or not; element-wise
        work and the embedding lookup not counted).

        Conventions that differ between transformers versions: transformers
        4.x computed the rotary frequencies as a small ``inv_freq @
        positions`` matmul (``head_dim · seq_len`` more FLOPs), transformers 5
        does not, and this count follows transformers 5. A mixture of experts
        is counted as its experts' matmuls run token by token
        (``experts_implementation="eager"``); transformers 5's default
        grouped kernel (``aten._grouped_mm``) does the same work but
        ``FlopCounterMode`` cannot see it (counts 0). Llama 4's mixture is
        counted as routed too (``experts_per_token`` experts per token, as
        serving engines run it); transformers 5.25's implementation runs
        every expert on every token (scores 0 off the top-k), so
        ``FlopCounterMode`` counts ``n_experts - experts_per_token`` more
        experts' matmuls per token in each MoE layer. Used by
        :func:`course_lib.generation.forward_flops`; not tied to one lesson.
        """
        b, s = batch, seq_len
        t = b * s
        h, f = self.hidden_size, self.ffn_size
        if self._per_layer_shapes:  # per kind: projections, FFN, per-layer input gate and projection back
            mats = 2 if self.ffn_kind == "mlp" else 3
            total = self._all_score_flops(b, s) + 2 * t * h * self.vocab_size
            total += 2 * t * h * self.n_layers * self.per_layer_input_size  # per_layer_model_projection
            for n, sliding, own in self._kinds():
                d, k, kv_mats = self._kind_shape(sliding, own)
                width = self.shared_ffn_size if self.shared_ffn_size and not own else f
                total += n * 2 * t * (h * (2 * self.n_heads * d + kv_mats * k * d) + mats * h * width
                                      + 2 * h * self.per_layer_input_size)
            return total
        proj = 2 * t * h * ((3 if self.attn_output_gate else 2) * self.q_size + 2 * self.kv_size)
        attn = self._score_flops(b, s)
        if self.linear_layers:  # linear-attention layers: their projections and their delta rule instead
            kd, vd, _ = self._linear_widths
            linear = 2 * t * h * (2 * kd + 3 * vd + 2 * self.linear_v_heads) + self._linear_core_flops(b, s)
            hybrid = self.linear_layers * (linear - proj - attn)
        else:
            hybrid = 0
        if self.kv_lora_rank:  # latent attention: its own projections
            proj = 2 * t * (self._attention_params() - self._mla_small_params())
        mats = 2 if self.ffn_kind == "mlp" else 3
        dense_ffn = 2 * t * mats * h * f
        if self.n_experts == 1:
            return self.n_layers * (proj + attn + dense_ffn) + 2 * t * h * self.vocab_size + hybrid
        shared = self._shared_ffn if self.n_shared_experts else 0
        moe = 2 * t * mats * h * (self.experts_per_token * self._expert_ffn + shared) + 2 * t * h * self.n_experts
        if self.shared_expert_gate:
            moe += 2 * t * h
        head = 2 * t * h * self.vocab_size
        moe_layers = self.n_layers - self.dense_layers
        return self.n_layers * (proj + attn) + moe_layers * moe + self.dense_layers * dense_ffn + head + hybrid

    # ------------------------------------------------------------ activations

    @v.checked
    def activation_bytes(
        self,
        *,
        batch: v.PositiveInt,
        seq_len: v.PositiveInt,
        attention: v.Choice[activations.ATTENTIONS] = "sdpa",
        bytes_per_value: v.Positive = 2,
        checkpointing: v.Bool = False,
        loss: v.Choice[activations.LOSSES] = "cross_entropy",
    ) -> int:
        """Bytes autograd saves for backward in one training forward pass of
        transformers' implementation of this family (dropout as configured,
        the model in training mode).

        ``attention="sdpa"`` (PyTorch's scaled_dot_product_attention, flash
        or memory-efficient kernel: Dao et al. 2022) keeps queries, keys,
        values, the output and one log-sum-exp per head and token, never the
        s × s scores; ``"eager"`` keeps the softmax probabilities,
        batch · heads · s² values per layer. With ``loss="cross_entropy"``
        the log-probabilities over the vocabulary (the logits' size) are
        included. Attention dropout inside a fused kernel stores no mask (the
        GPU kernels regenerate it); PyTorch's CPU flash kernel has no dropout
        and falls back to the math path, which stores what eager does, so on
        the CPU compare a model with attention dropout against ``"eager"``.
        Latent attention (DeepSeek-V2/V3) counts its bottlenecks' norms, the
        per-head keys it builds and ``kv_b_proj``'s output, which holds the
        values; its values are narrower than its queries and keys (128 against
        192), which PyTorch's flash kernels do not take: on CUDA a fused kernel
        (memory-efficient) still runs it, on the CPU SDPA falls back to the
        math path, which saves what eager saves, so on the CPU compare latent
        attention against ``"eager"``. A model whose attention scores are soft-capped (Gemma 2) or that has
        attention sinks (gpt-oss) cannot run SDPA in transformers, which runs
        eager attention instead: so does this count, whatever ``attention``
        says. A sink adds one column to each softmax: eager keeps
        batch · heads · s · (s + 1) probabilities and the row maxima's int64
        indices (transformers subtracts the row maximum before the softmax).
        Linear-attention layers (``linear_layers``, Qwen3-Next / Qwen3.5) are
        counted as transformers' torch fallback of the chunked delta rule saves
        them (chunks of 64, five chunk × chunk matrices per value head, in fp32); the fused kernels of
        ``flash-linear-attention`` save less. ``checkpointing=True``: each layer keeps only its input,
        and one layer's activations exist again during backward. Float
        tensors take ``bytes_per_value``; dropout masks 1 byte; token ids
        8. The model itself lives in :mod:`course_lib.activations`. Lesson 02 (section
        "from TinyGPT to Llama-3-8B").
        """
        return activations.activation_bytes(self, batch=batch, seq_len=seq_len, attention=attention,
                                            bytes_per_value=bytes_per_value, checkpointing=checkpointing, loss=loss)

    # ------------------------------------------------------------ ZeRO

    @v.checked
    def zero_memory(self, n_devices: v.PositiveInt, stage: v.IntRange(0, 3), *,
                    convention: v.Choice[model_state.ZERO_CONVENTIONS] = "zero",
                    optimizer: v.Choice[predict.OPTIMIZER_NAMES] = "adamw") -> dict[str, int]:
        """Model-state bytes per device under ZeRO ``stage`` (0–3) on
        ``n_devices`` data-parallel devices: ``{"weights", "gradients",
        "optimizer_state", "gathered_layer", "total"}``.

        Stage 1 shards the optimizer state, 2 the gradients too, 3 the
        weights too; at stage 3 each device also gathers the largest layer's
        full parameters while it runs (``gathered_layer``, 4 bytes per
        parameter of :meth:`largest_layer_params`, as DeepSpeed's estimator
        counts it). ``convention`` (bytes per parameter, see
        :data:`course_lib.model_state.ZERO_CONVENTIONS`): ``"zero"`` 16 (Rajbhandari et al. 2020),
        ``"hf"`` 18 (Hugging Face, model_memory_anatomy), ``"deepspeed"`` 20,
        the accounting of DeepSpeed's ``estimate_zero2_model_states_mem_needs``
        / ``estimate_zero3_...`` without offload (4 bytes/param replicated plus
        16 sharded at stages 1–2; 18 sharded plus the gathered layer at stage
        3), reproduced to the byte. A sharded part is rounded as its source
        rounds it (ceil for "zero"/"hf", DeepSpeed's int()). The arithmetic lives in
        :func:`course_lib.model_state.zero_memory`. Not tied to one lesson.
        """
        return model_state.zero_memory(self, n_devices, stage, convention=convention, optimizer=optimizer)

    # ------------------------------------------------------------ training memory

    @v.checked
    def training_memory(
        self,
        *,
        batch: v.PositiveInt,
        seq_len: v.PositiveInt,
        optimizer: v.Choice[predict.OPTIMIZER_NAMES] = "adamw",
        precision: v.Choice[predict.ACCOUNTINGS] = "mixed",
        attention: v.Choice[activations.ATTENTIONS] = "sdpa",
        checkpointing: v.Bool = False,
        lora: v.Instance(LoRA, "a course_lib.arch.LoRA") | None = None,
    ) -> dict[str, int]:
        """Bytes ``{"weights", "gradients", "optimizer_state", "activations",
        "total"}`` of one training step.

        Without ``lora``: every parameter trains, bytes per parameter from
        :func:`course_lib.predict.bytes_per_param_breakdown`. With ``lora``
        (a :class:`LoRA`): the base weights are frozen at ``lora.base_bits``
        (16 for LoRA, 4 for QLoRA with its scales,
        see :meth:`LoRA.base_bytes`; 32 for an fp32 base), and only the adapters have gradients and
        optimizer state. Activations from :meth:`activation_bytes` at the
        precision's activation width (4 bytes for fp32, else 2). The arithmetic lives in
        :func:`course_lib.model_state.training_memory`. Lesson 02.
        """
        return model_state.training_memory(self, batch=batch, seq_len=seq_len, optimizer=optimizer,
                                           precision=precision, attention=attention, checkpointing=checkpointing,
                                           lora=lora)


#: What :meth:`Architecture.kv_cache_bytes` counts for latent attention: the latent, or keys and values per head.
MLA_CACHES = ("latent", "expanded")

_LORA_TARGETS = ("q", "k", "v", "o", "gate", "up", "down")


@dataclass(frozen=True)
class LoRA:
    """Low-rank adapters (Hu et al. 2021, *LoRA*): each target ``W`` (d_out ×
    d_in) gets trainable ``B`` (d_out × r) and ``A`` (r × d_in); the base
    weights are frozen at ``base_bits`` bits (16 for LoRA; 4 for QLoRA,
    Dettmers et al. 2023, with one scale per ``block`` weights of
    ``scale_bytes`` bytes). ``targets`` names projections of each layer:
    ``"q"``, ``"k"``, ``"v"``, ``"o"``, ``"gate"``, ``"up"``, ``"down"``.
    Lesson 02.
    """

    rank: int = 8
    targets: tuple[str, ...] = ("q", "v")
    base_bits: int = 16
    block: int = 64
    scale_bytes: float = 4

    def __post_init__(self):
        v.positive_int("rank", self.rank, maximum=_MAX_SIZE)
        if not isinstance(self.targets, (tuple, list)) or not self.targets:
            raise TypeError(f"targets must be a non-empty tuple of names from {list(_LORA_TARGETS)}, got {v.show(self.targets)}")
        if not all(isinstance(t, str) and t in _LORA_TARGETS for t in self.targets):
            raise ValueError(f"targets must be a tuple of names from {list(_LORA_TARGETS)}, got {self.targets!r}")
        bits = v.integer("base_bits", self.base_bits)  # a tensor or a string is refused by name, not by `in`
        if bits not in (4, 8, 16, 32):
            raise ValueError(f"base_bits must be one of [4, 8, 16, 32], got {v.show(self.base_bits)}")
        object.__setattr__(self, "base_bits", bits)
        v.positive_int("block", self.block, maximum=_MAX_SIZE)
        v.positive("scale_bytes", self.scale_bytes, maximum=64)

    def _shapes(self, a: Architecture, moe: bool = True) -> list[tuple[int, int]]:
        """(d_out, d_in) of each adapted matrix in one layer. Fused projections
        (GPT-2's c_attn, Falcon's query_key_value, Phi-3's qkv_proj and gate_up_proj) get one adapter."""
        if a.kv_lora_rank:
            raise ValueError(f"LoRA on {a.name}'s latent attention (kv_lora_rank > 0) is not modelled: "
                             "its adapters and quantised matrices have other shapes")
        if a._per_layer_shapes:
            raise ValueError(f"LoRA on {a.name}'s per-layer shapes (Gemma 4: full layers' own head width, KV-shared "
                             "layers, per-layer inputs) is not modelled: its adapted matrices differ layer by layer")
        if a.linear_layers:
            raise ValueError(f"LoRA on {a.name}'s linear-attention layers (linear_layers > 0) is not modelled: "
                             "their projections have other shapes than attention's")
        h, f = a.hidden_size, a.ffn_size
        fused_qkv = a.family in ("gpt2", "phi3", "falcon")
        shapes = {"q": (a.q_size, h), "k": (a.kv_size, h), "v": (a.kv_size, h), "o": (h, a.q_size),
                  "gate": (f, h), "up": (f, h), "down": (h, f)}
        out = []
        if fused_qkv and any(t in self.targets for t in ("q", "k", "v")):
            out.append((a.q_size + 2 * a.kv_size, h))
        if a.family == "phi3" and any(t in self.targets for t in ("gate", "up")):
            out.append((2 * f, h))
        for name in self.targets:
            if (fused_qkv and name in ("q", "k", "v")) or (a.family == "phi3" and name in ("gate", "up")):
                continue
            if a.ffn_kind == "mlp" and name == "gate":
                continue
            if name in ("gate", "up", "down") and moe:  # every expert of a mixture
                fe = a._expert_ffn
                out += [{"gate": (fe, h), "up": (fe, h), "down": (h, fe)}[name]] * a.n_experts
                continue
            out += [shapes[name]]
        return out

    def trainable_params(self, a: Architecture) -> int:
        """Adapter parameters: r · (d_in + d_out) per target matrix per layer. Used by
        :meth:`course_lib.arch.Architecture.training_memory`; not tied to one lesson."""
        moe = a.n_experts > 1
        per_layer = sum(self.rank * (d_out + d_in) for d_out, d_in in self._shapes(a, moe))
        dense = sum(self.rank * (d_out + d_in) for d_out, d_in in self._shapes(a, False)) if a.dense_layers else 0
        return (a.n_layers - a.dense_layers) * per_layer + a.dense_layers * dense

    def base_bytes(self, a: Architecture) -> int:
        """Bytes of the frozen base model: every parameter at ``base_bits``;
        at 4 or 8 bits the quantised matrices (the layers' projections) carry
        one scale per ``block`` values, while embeddings, norms and biases
        stay at 16 bits (as bitsandbytes' QLoRA leaves them). Used by
        :meth:`course_lib.arch.Architecture.training_memory` and :func:`course_lib.fit.inference_estimate`; not tied
        to one lesson."""
        n = a.n_params
        if self.base_bits >= 16:
            return int(n * self.base_bits // 8)
        self._shapes(a)  # refuses what is not modelled
        h, f = a.hidden_size, a.ffn_size
        per = 2 if a.ffn_kind == "mlp" else 3
        mats = a.n_layers * (h * (a.q_size + 2 * a.kv_size) + a.q_size * h)
        if a.n_experts > 1:
            mats += (a.n_layers - a.dense_layers) * a.n_experts * per * h * a._expert_ffn + a.dense_layers * per * h * f
        else:
            mats += a.n_layers * per * h * f
        rest = n - mats
        return int(math.ceil(mats * self.base_bits / 8 + math.ceil(mats / self.block) * self.scale_bytes) + 2 * rest)


@v.checked
def with_sizes(a: v.Instance(Architecture, "a course_lib.arch.Architecture"), **sizes) -> Architecture:
    """A copy of ``a`` with some fields changed (e.g. fewer layers). Not tied to one lesson."""
    unknown = sorted(set(sizes) - set(Architecture.__dataclass_fields__))
    if unknown:
        raise TypeError(f"sizes: {unknown} are not fields of Architecture")
    return replace(a, **sizes)


# ---------------------------------------------------------------- presets

_PRESET_DIR = os.path.join(os.path.dirname(__file__), "presets")
PRESETS = ("gpt2", "gpt2-xl", "llama-2-7b", "llama-2-13b", "llama-2-70b", "llama-3-8b", "mistral-7b",
           "mixtral-8x7b", "gemma-7b", "qwen2-0.5b", "llama-3-70b", "llama-3.1-8b", "llama-3.1-70b", "llama-3.1-405b",
           "qwen3-8b", "qwen3-30b-a3b", "gemma-3-4b", "gemma-3-27b", "smollm3-3b", "olmo-2-7b", "deepseek-v3",
           "gpt-oss-20b", "gpt-oss-120b")
"""Shipped ``config.json`` files (course_lib/presets/), each with its ``_source``. gpt-oss is published with
its experts quantized (MXFP4, the public config's ``quantization_config``): its parameters are counted as
transformers builds the model from the config, unquantized (the count of values, not of bytes)."""


@v.checked
def preset(key: v.Choice[PRESETS]) -> Architecture:
    """The :class:`Architecture` of a shipped preset, read from its
    ``config.json`` (:data:`PRESETS`). Lesson 02."""
    return Architecture.from_hf_config(os.path.join(_PRESET_DIR, f"{key}.json"))


def from_model(model) -> Architecture:
    """The :class:`Architecture` of a :class:`course_lib.models.TinyGPT`: a
    GPT-2-style shape (learned positions, LayerNorm, biased attention and
    MLP, a bias-free LM head not tied to the embedding). Reads the model's
    attributes only, so this module needs no torch. Used by :func:`course_lib.arch.resolve`; not tied to one lesson.
    """
    needed = ("vocab_size", "d_model", "n_heads", "n_layers", "max_seq_len")
    if not all(hasattr(model, k) for k in needed) or not hasattr(model, "new_cache"):
        raise TypeError(f"model must be a course_lib.models.TinyGPT, got {type(model).__name__}")
    h, heads = model.d_model, model.n_heads
    return Architecture(family="gpt2", vocab_size=model.vocab_size, hidden_size=h, n_layers=model.n_layers,
                        n_heads=heads, n_kv_heads=heads, head_dim=h // heads, ffn_size=4 * h, ffn_kind="mlp",
                        tied_embeddings=False, qkv_bias=True, out_bias=True, mlp_bias=True, norm="layernorm",
                        positions=model.max_seq_len, activation="gelu", name="TinyGPT",
                        source="course_lib.models.TinyGPT (defined in code)")


def resolve(model, *, argument: str = "model") -> Architecture:
    """The one resolver every predictor and calculator uses: ``model`` may be
    an :class:`Architecture`, a preset key of :data:`PRESETS`, a Hugging Face
    config dict, the path of a local ``config.json`` (``str`` ending in
    ``.json`` or an ``os.PathLike``), or a :class:`course_lib.models.TinyGPT`.
    Errors name ``argument``. Lessons 07 and 09.
    """
    if isinstance(model, Architecture):
        return model
    if isinstance(model, dict) or isinstance(model, os.PathLike) or (isinstance(model, str) and model.strip().endswith(".json")):
        try:
            return Architecture.from_hf_config(model if isinstance(model, dict) else os.fspath(model).strip())
        except (ValueError, TypeError) as err:  # the config's own message, with the argument it came in
            if re.match(rf"{re.escape(argument)}\b", str(err)):
                raise
            raise v.same_kind(err, f"{argument}: {err}") from None
    if isinstance(model, str):
        return preset(v.choice(argument, model, PRESETS))
    if hasattr(model, "new_cache"):
        return from_model(model)
    raise TypeError(f"{argument} must be an Architecture, a preset name in {list(PRESETS)}, a config dict, "
                    f"the path of a config.json or a TinyGPT, got {type(model).__name__}")


@v.checked
def label(a: v.Instance(Architecture, "a course_lib.arch.Architecture")) -> str:
    """A model's name with its exact parameter count (and the active count
    for a mixture of experts), e.g. ``"Llama-2-7B (6,738,415,616 parameters)"``.
    Lessons 02, 07 and 09."""
    text = f"{a.name} ({a.n_params:,} parameters"
    if a.n_active_params != a.n_params:
        text += f", {a.n_active_params:,} active per token"
    return text + ")"


def measured_families() -> list[dict]:
    """Lesson 02's "from TinyGPT to Llama-3-8B" table: for the small model of
    each family (configs in ``tests/unit/test_arch_hf.py``), the activation bytes
    transformers' implementation saved (recorded by
    ``tools/measure_families.py``; the test re-measures them), this module's
    prediction, and Korthikanti et al.'s per-layer formula × layers (fp32,
    their dropout terms only where the model has dropout: Megatron's GPT
    layer, not these layers). Lesson 02.
    """
    with open(os.path.join(_PRESET_DIR, "measured_families.json"), encoding="utf-8") as f:
        record = json.load(f)
    rows = []
    for r in record["rows"]:
        a = Architecture.from_hf_config(record["configs"][r["family"]])
        b, s = r["batch"], r["seq_len"]
        predicted = a.activation_bytes(batch=b, seq_len=s, attention=r["attention"], bytes_per_value=4)
        korthikanti = a.n_layers * predict.gpt_layer_activation_bytes(s, b, a.hidden_size, a.n_heads, bytes_per_value=4,
                                                                      dropout=a.dropout > 0)
        rows.append({"family": r["family"], "attention": r["attention"], "seq_len": s, "measured": r["activations"],
                     "predicted": predicted, "error_pct": round(100 * (predicted - r["activations"]) / r["activations"], 1),
                     "korthikanti": korthikanti,
                     "korthikanti_error_pct": round(100 * (korthikanti - r["activations"]) / r["activations"], 1)})
    return rows


def measured_kv_cache() -> list[dict]:
    """Lesson 02's 2026 KV rows: for a small model shaped like each 2026
    family (Qwen3's q/k-norm and GQA, Qwen3-MoE's experts, Gemma 3's sliding
    layers, DeepSeek-V3's latent attention, also shown expanded per head;
    configs in ``tests/unit/test_arch_hf.py``), the bytes transformers'
    cache held after ``generate`` (recorded by ``tools/measure_families.py``,
    re-measured by the tests: transformers is not a course dependency) beside
    :meth:`Architecture.kv_cache_bytes`. Lesson 02, section 5.
    """
    with open(os.path.join(_PRESET_DIR, "measured_families.json"), encoding="utf-8") as f:
        record = json.load(f)
    rows = []
    for r in record["kv_rows"]:
        a = Architecture.from_hf_config(record["kv_configs"][r["family"]])
        predicted = a.kv_cache_bytes(seq_len=r["tokens"], batch=r["batch"], bytes_per_value=4)
        rows.append({"family": r["family"], "layers (sliding)": f"{a.n_layers} ({a.sliding_layers})",
                     "KV heads / heads": f"{a.n_kv_heads}/{a.n_heads}", "head_dim": a.head_dim,
                     "experts": f"{a.experts_per_token} of {a.n_experts}" if a.n_experts > 1 else "-",
                     "tokens": r["tokens"], "predicted": predicted, "transformers held": r["kv_bytes"],
                     "K/V expanded per head": (a.kv_cache_bytes(seq_len=r["tokens"], batch=r["batch"], bytes_per_value=4,
                                                                mla="expanded") if a.kv_lora_rank else "-")})
    return rows
