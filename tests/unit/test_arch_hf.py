"""course_lib.arch checked against an independent implementation: transformers 5.

Every family is built small from a config written here (HF_HUB_OFFLINE=1,
random weights, nothing downloaded), keeping what makes it that family: the
GQA ratio, an explicit head_dim, a sliding window (and Qwen2's mix of
sliding and full layers), experts, tied embeddings, biases, GPT-2's dropout
and learned positions. Asserted: parameters exact, KV-cache bytes exact after
``generate``, forward FLOPs exact (eager and SDPA), activations within 10 %
of what autograd saves, and the weight / gradient / optimizer-state bytes of
a real AdamW step exact. The 2026 families (CONFIGS_2026: Qwen3, Qwen3-MoE,
Gemma 3, OLMo 2, SmolLM3, Granite, DeepSeek-V3, Gemma 2, Llama 4, Ministral,
Ministral 3, and the parallel-block and LayerNorm families Phi, Falcon, Command R,
Command R7B, StarCoder2, gpt-oss, DeepSeek-V2, Gemma 4, and the hybrid linear-attention
Qwen3-Next, Qwen3.5 and Qwen3.5-MoE, whose cache adds the DeltaNet layers' constant states) are held to the same (Llama 4's FLOPs with the unrouted experts
transformers also runs added by hand), with
activations within the 10 % contract (DeepSeek-V3's latent attention: not yet,
marked xfail with the measured gap; gpt-oss and Gemma 2 run eager attention
whatever is asked, as transformers refuses SDPA for them), and the shipped
public configs are built full size on the meta device for their exact
parameter counts (gpt-oss unquantized: transformers builds it from the config
without its MXFP4 quantization_config).
"""

import json
import os
import warnings
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")
from torch.nn import functional as F  # noqa: E402

from course_lib import measure, memory  # noqa: E402
from course_lib.arch import Architecture  # noqa: E402

transformers.logging.set_verbosity_error()
V = 512
CONFIGS = {
    # learned positions, tied embeddings, biases everywhere, dropout 0.1 (the default)
    "gpt2": dict(model_type="gpt2", vocab_size=V, n_positions=256, n_embd=64, n_layer=2, n_head=4),
    # GQA 4:1 like Llama-3-8B (32:8)
    "llama": dict(model_type="llama", vocab_size=V, hidden_size=64, intermediate_size=176, num_hidden_layers=2,
                  num_attention_heads=8, num_key_value_heads=2),
    # explicit head_dim larger than hidden / heads, a single KV head, a sliding window
    "mistral": dict(model_type="mistral", vocab_size=V, hidden_size=64, intermediate_size=224, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=1, head_dim=32, sliding_window=16),
    # 4 experts, 2 per token
    "mixtral": dict(model_type="mixtral", vocab_size=V, hidden_size=64, intermediate_size=112, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=1, num_local_experts=4, num_experts_per_tok=2),
    # q/k/v biases, tied embeddings, sliding window on the layers from max_window_layers on
    "qwen2": dict(model_type="qwen2", vocab_size=V, hidden_size=64, intermediate_size=160, num_hidden_layers=3,
                  num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=True, use_sliding_window=True,
                  sliding_window=16, max_window_layers=1),
    # head_dim 32 with hidden 48 (Gemma-7B: 16 × 256 > 3072), multi-query, GeGLU, tied
    "gemma": dict(model_type="gemma", vocab_size=V, hidden_size=48, intermediate_size=192, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=1, head_dim=32),
    # fused qkv and gate_up projections, a sliding window
    "phi3": dict(model_type="phi3", vocab_size=V, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=2, sliding_window=24, pad_token_id=0),
}
FAMILIES = list(CONFIGS)
# The 2026 families: parameters, KV cache and FLOPs exact, activations within 10 % (not in lesson 02's record).
CONFIGS_2026 = {
    # q/k RMSNorm per head, explicit head_dim (Qwen3-8B: 32 × 128 = hidden), GQA, sliding window on some layers
    "qwen3": dict(model_type="qwen3", vocab_size=V, hidden_size=64, intermediate_size=160, num_hidden_layers=3,
                  num_attention_heads=4, num_key_value_heads=2, head_dim=16, use_sliding_window=True,
                  sliding_window=16, max_window_layers=1),
    # 8 experts of width 32, 2 per token, an explicit head_dim ≠ hidden / heads (Qwen3-30B-A3B: 32 × 128 > 2048),
    # the middle layer dense (mlp_only_layers)
    "qwen3_moe": dict(model_type="qwen3_moe", vocab_size=V, hidden_size=64, intermediate_size=96,
                      moe_intermediate_size=32, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=1,
                      head_dim=32, num_experts=8, num_experts_per_tok=2, mlp_only_layers=[1]),
    # 2 sliding layers to 1 full (Gemma 3: 5 to 1), window 16, q/k norm, 4 norms per layer, head_dim 32 > 64 / 4, tied
    "gemma3_text": dict(model_type="gemma3_text", vocab_size=V, hidden_size=64, intermediate_size=128,
                        num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, head_dim=32,
                        sliding_window=16, sliding_window_pattern=3),
    # one RMSNorm over all queries and one over all keys, norms after attention and FFN, GQA 2:1
    "olmo2": dict(model_type="olmo2", vocab_size=V, hidden_size=64, intermediate_size=160, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, pad_token_id=0, eos_token_id=1, bos_token_id=None),
    # Llama's parameters, rotary left out on every 4th layer, tied embeddings (SmolLM3-3B)
    "smollm3": dict(model_type="smollm3", vocab_size=V, hidden_size=64, intermediate_size=160, num_hidden_layers=4,
                    num_attention_heads=4, num_key_value_heads=1, pad_token_id=0, eos_token_id=1, bos_token_id=None),
    # Llama's parameters, with embedding, residual, attention and logit multipliers
    "granite": dict(model_type="granite", vocab_size=V, hidden_size=64, intermediate_size=160, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2, embedding_multiplier=12.0, residual_multiplier=0.22,
                    logits_scaling=8.0, attention_multiplier=0.015625),
    # multi-head latent attention (q and kv bottlenecks, a shared rotary key), 1 shared + 8 routed experts of which
    # 2 per token, the first layer dense (DeepSeek-V3: 1 + 256, 8 per token, first 3 dense)
    "deepseek_v3": dict(model_type="deepseek_v3", vocab_size=V, hidden_size=64, intermediate_size=128,
                        moe_intermediate_size=32, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=4,
                        n_shared_experts=1, n_routed_experts=8, num_experts_per_tok=2, first_k_dense_replace=1,
                        n_group=1, topk_group=1, q_lora_rank=48, kv_lora_rank=32, qk_nope_head_dim=16,
                        qk_rope_head_dim=8, v_head_dim=16, pad_token_id=0, eos_token_id=1, bos_token_id=None),
    # the same latent attention without the query bottleneck (q_lora_rank null: one q_proj, DeepSeek-V2-Lite),
    # 2 shared + 8 routed experts of which 2 per token (softmax routing), the first layer dense
    # (DeepSeek-V2-Lite: 2 + 64, 6 per token, first 1 dense)
    "deepseek_v2": dict(model_type="deepseek_v2", vocab_size=V, hidden_size=64, intermediate_size=128,
                        moe_intermediate_size=32, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=4,
                        n_shared_experts=2, n_routed_experts=8, num_experts_per_tok=2, first_k_dense_replace=1,
                        q_lora_rank=None, kv_lora_rank=32, qk_nope_head_dim=16, qk_rope_head_dim=8, v_head_dim=16,
                        pad_token_id=0, eos_token_id=1, bos_token_id=None),
    # sliding and full layers alternating, four norms per layer, soft-capped scores and logits, head_dim 32 > 64 / 4
    "gemma2": dict(model_type="gemma2", vocab_size=V, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                   num_attention_heads=4, num_key_value_heads=2, head_dim=32, sliding_window=16, pad_token_id=0,
                   eos_token_id=1, bos_token_id=None),
    # gpt-oss: sliding (window 16) and full layers alternating by default (layer_types left out), one sink logit
    # per head, biased q/k/v/o, 4 experts of width 48 with biases behind a biased router, 2 per token, a clamped
    # SwiGLU, head_dim 32 > 64 / 4 (gpt-oss-20b: 64 × 64 > 2880)
    "gpt_oss": dict(model_type="gpt_oss", vocab_size=V, hidden_size=64, intermediate_size=48, num_hidden_layers=3,
                    num_attention_heads=4, num_key_value_heads=2, head_dim=32, num_local_experts=4,
                    num_experts_per_tok=2, sliding_window=16, pad_token_id=0, eos_token_id=1, bos_token_id=None),
    # Llama 4 (Scout's pattern, shrunk): 3 RoPE layers attending within chunks of 16 tokens with a weightless q/k
    # norm, then a NoPE full-attention layer; MoE layers (4 routed experts of width 32, 1 per token, + a shared
    # expert) every second layer, the others a dense FFN of intermediate_size_mlp 128; GQA 2:1, head_dim 16
    "llama4_text": dict(model_type="llama4_text", vocab_size=V, hidden_size=64, intermediate_size=32,
                        intermediate_size_mlp=128, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
                        head_dim=16, num_local_experts=4, num_experts_per_tok=1, interleave_moe_layer_step=2,
                        attention_chunk_size=16, pad_token_id=0, eos_token_id=1, bos_token_id=None),
    # Ministral (8B): Mistral's shapes, sliding and full layers as layer_types says (head_dim must be given:
    # transformers 5.25's MinistralAttention fails on a null head_dim)
    "ministral": dict(model_type="ministral", vocab_size=V, hidden_size=64, intermediate_size=160, num_hidden_layers=4,
                      num_attention_heads=4, num_key_value_heads=2, head_dim=16, sliding_window=16,
                      layer_types=["sliding_attention", "full_attention"] * 2, pad_token_id=0, eos_token_id=1,
                      bos_token_id=None),
    # Ministral 3 (the text model of its mistral3 checkpoints): head_dim 32 > 64 / 4, here with a window on every layer
    "ministral3": dict(model_type="ministral3", vocab_size=V, hidden_size=64, intermediate_size=160,
                       num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=32,
                       sliding_window=16, pad_token_id=0, eos_token_id=1, bos_token_id=None),
    # parallel attention + GELU MLP on one LayerNorm, biases everywhere and on the LM head, rotary on half of each
    # head (Phi-2: 0.4 of 80)
    "phi": dict(model_type="phi", vocab_size=V, hidden_size=64, intermediate_size=256, num_hidden_layers=2,
                num_attention_heads=4, partial_rotary_factor=0.5),
    # Falcon-40B/180B's layout: new_decoder_architecture, 2 KV heads, two LayerNorms over the same input, fused qkv
    # (Falcon-7B's multi-query single-norm layout: VARIANTS and the real config below)
    "falcon": dict(model_type="falcon", vocab_size=V, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                   num_kv_heads=2, new_decoder_architecture=True),
    # Command R+: parallel block, bias-free LayerNorm, per-head q/k LayerNorms, GQA, scaled logits, tied embeddings
    "cohere": dict(model_type="cohere", vocab_size=V, hidden_size=64, intermediate_size=160, num_hidden_layers=2,
                   num_attention_heads=4, num_key_value_heads=2, use_qk_norm=True),
    # Command R7B: cohere's block, 3 sliding layers (window 16) to 1 full (sliding_window_pattern 4, the default)
    "cohere2": dict(model_type="cohere2", vocab_size=V, hidden_size=64, intermediate_size=160, num_hidden_layers=4,
                    num_attention_heads=4, num_key_value_heads=2, sliding_window=16),
    # sequential block, LayerNorms and every projection with biases (use_bias), GELU MLP, GQA, sliding window 16
    "starcoder2": dict(model_type="starcoder2", vocab_size=V, hidden_size=64, intermediate_size=256,
                       num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, sliding_window=16),
    # Gemma 4's per-layer shapes: full layers with their own head width (32 against 16) and, keys serving as
    # values (attention_k_eq_v), one KV head; the last 2 layers (one sliding, one full) reuse earlier layers'
    # keys and values and have a double-wide MLP; per-layer input embeddings of 8 per layer; untied, biases
    "gemma4_text": dict(model_type="gemma4_text", vocab_size=V, hidden_size=64, intermediate_size=128,
                        num_hidden_layers=6, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                        global_head_dim=32, num_global_key_value_heads=1, attention_k_eq_v=True,
                        num_kv_shared_layers=2, use_double_wide_mlp=True, vocab_size_per_layer_input=V,
                        hidden_size_per_layer_input=8, sliding_window=16, attention_bias=True,
                        tie_word_embeddings=False, layer_types=["sliding_attention", "sliding_attention",
                                                                "full_attention"] * 2,
                        pad_token_id=0, eos_token_id=1, bos_token_id=None),
}
# The hybrid linear-attention families (Qwen3-Next, Qwen3.5): three gated DeltaNet layers (2 query/key heads of 16,
# 4 value heads of 8, a 4-tap convolution) to one full-attention layer (an output gate doubling q_proj, q/k norm,
# GQA 2:1, head_dim 16); Qwen3-Next with 4 experts of 32, 2 per token, a gated shared expert of 48 and layer 1 dense
# (mlp_only_layers), Qwen3.5 dense, Qwen3.5-MoE a mixture on every layer
_LINEAR = dict(vocab_size=V, hidden_size=64, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
               linear_num_key_heads=2, linear_num_value_heads=4, linear_key_head_dim=16, linear_value_head_dim=8,
               linear_conv_kernel_dim=4, pad_token_id=0, eos_token_id=1, bos_token_id=None)
HYBRID = {
    "qwen3_next": dict(model_type="qwen3_next", intermediate_size=96, num_experts=4, num_experts_per_tok=2,
                       moe_intermediate_size=32, shared_expert_intermediate_size=48, mlp_only_layers=[1], **_LINEAR),
    "qwen3_5_text": dict(model_type="qwen3_5_text", intermediate_size=96, **_LINEAR),
    "qwen3_5_moe_text": dict(model_type="qwen3_5_moe_text", num_experts=4, num_experts_per_tok=2, moe_intermediate_size=32,
                             shared_expert_intermediate_size=48, **_LINEAR),
}
CONFIGS_2026.update(HYBRID)
ALL = {**CONFIGS, **CONFIGS_2026}
NO_SDPA = ("gemma2", "gpt_oss")  # soft-capped scores, attention sinks: transformers refuses SDPA, runs eager
LATENT = ("deepseek_v3", "deepseek_v2")  # multi-head latent attention
LESSON_KV = ("qwen3", "qwen3_moe", "gemma3_text", "deepseek_v3")  # lesson 02's 2026 KV rows


_BUILT = {}


def build(family, attention="sdpa", configs=None):
    """The small transformers model of ``family`` (built once per attention, then reused: every test
    sets the mode it needs). Experts run token by token (``experts_implementation="eager"``):
    transformers 5's default grouped kernel does the same work, invisibly to FlopCounterMode."""
    configs = ALL if configs is None else configs
    if family in NO_SDPA:  # transformers refuses SDPA for soft-capped scores and sinks, and runs eager
        attention = "eager"
    key = (family, attention, id(configs))
    if key not in _BUILT:
        settings = dict(configs[family])
        if family == "gpt2" and attention == "sdpa":
            # the CPU flash kernel has no dropout: with attn_pdrop > 0 SDPA falls back to the math path
            # (scores stored, as eager); a GPU's fused kernel stores none. Residual dropout stays on.
            settings["attn_pdrop"] = 0.0
        config = transformers.AutoConfig.for_model(**settings)
        torch.manual_seed(0)
        kwargs = dict(attn_implementation=attention)
        if _has_experts(config):
            kwargs["experts_implementation"] = "eager"
        _BUILT[key] = transformers.AutoModelForCausalLM.from_config(config, **kwargs)
    return _BUILT[key].train()


def _has_experts(config):
    text = config if isinstance(config, dict) else config.to_dict()
    return any(k in text for k in ("num_local_experts", "num_experts", "n_routed_experts"))


@pytest.fixture(scope="module", params=list(ALL))
def family(request):
    return request.param


def test_every_family_is_covered():
    from course_lib.arch import FAMILIES as SUPPORTED

    assert set(SUPPORTED) == set(ALL)


def test_parameters_exact(family):
    model = build(family)
    arch = Architecture.from_hf_config(ALL[family])
    assert arch.n_params == model.num_parameters()
    if family == "mixtral":  # 2 of 4 experts per token: active = total - 2 experts' FFNs per layer
        experts = model.model.layers[0].mlp.experts  # transformers 5: one 3-D tensor per projection
        expert = sum(p[0].numel() for p in experts.parameters())
        assert arch.n_active_params == model.num_parameters() - 2 * 2 * expert
    elif family in ("deepseek_v3", "deepseek_v2"):  # 2 of 8 routed experts per token in the 2 sparse layers
        # (layer 0 is dense)
        expert = sum(p[0].numel() for p in model.model.layers[1].mlp.experts.parameters())
        assert arch.n_active_params == model.num_parameters() - 2 * 6 * expert
    elif family == "qwen3_moe":  # 2 of 8 experts per token in the 2 sparse layers (layer 1 is dense)
        experts = model.model.layers[0].mlp.experts
        expert = sum(p[0].numel() for p in experts.parameters())
        assert arch.n_active_params == model.num_parameters() - 2 * 6 * expert
    elif family == "gpt_oss":  # 2 of 4 experts per token in each of the 3 layers; an expert has its biases
        experts = model.model.layers[0].mlp.experts
        expert = sum(p[0].numel() for p in experts.parameters())
        assert expert == 64 * 2 * 48 + 2 * 48 + 48 * 64 + 64  # gate_up_proj (+ bias), down_proj (+ bias)
        assert arch.n_active_params == model.num_parameters() - 3 * 2 * expert
    elif family in ("qwen3_next", "qwen3_5_moe_text"):  # 2 of 4 experts per token in the sparse layers (Qwen3-Next:
        # 3, layer 1 dense; Qwen3.5-MoE: all 4); the gated shared expert runs for every token
        expert = sum(p[0].numel() for p in model.model.layers[0].mlp.experts.parameters())
        sparse = 3 if family == "qwen3_next" else 4
        assert arch.n_active_params == model.num_parameters() - sparse * 2 * expert
    elif family == "llama4_text":  # 1 of 4 routed experts per token in the 2 MoE layers (1 and 3); the shared
        # expert runs for every token
        expert = sum(p[0].numel() for p in model.model.layers[1].feed_forward.experts.parameters())
        assert arch.n_active_params == model.num_parameters() - 2 * 3 * expert
    else:
        assert arch.n_active_params == arch.n_params


def kv_held_after_generate(family):
    """(tokens, bytes) the cache of transformers' ``generate`` holds: batch 2, 20 prompt tokens, 12 new, fp32."""
    model = build(family).eval()
    ids = torch.randint(1, V, (2, 20), generator=torch.Generator().manual_seed(1))
    out = model.generate(ids, max_new_tokens=12, do_sample=False, return_dict_in_generate=True,
                         pad_token_id=0, eos_token_id=None)
    cache = out.past_key_values
    held = 0
    for layer in cache.layers:
        if hasattr(layer, "recurrent_states"):  # a linear-attention layer: its conv and recurrent states
            held += sum(t.untyped_storage().nbytes() for states in (layer.conv_states, layer.recurrent_states)
                        for t in states.values() if t is not None)
        elif layer.keys is not None:  # Gemma 4's KV-shared layers hold none
            held += layer.keys.untyped_storage().nbytes() + layer.values.untyped_storage().nbytes()
    return cache.get_seq_length(), held


def test_kv_cache_bytes_exact_after_generate(family):
    tokens, held = kv_held_after_generate(family)
    assert tokens == 31  # 20 prompt + 12 new - the last, not yet fed back
    arch = Architecture.from_hf_config(ALL[family])
    assert arch.kv_cache_bytes(seq_len=tokens, batch=2, bytes_per_value=4) == held  # MLA: the latent, as transformers 5 caches
    if family in LESSON_KV:  # lesson 02 shows the recorded measurement (tools/measure_families.py)
        rows = [r for r in recorded()["kv_rows"] if r["family"] == family]
        assert recorded()["kv_configs"][family] == ALL[family] and [r["kv_bytes"] for r in rows] == [held]


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_forward_flops_exact(family, attention):
    model = build(family, attention).eval()
    ids = torch.randint(0, V, (2, 40))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing left uncounted
        counted = measure.count_flops(model, ids)
    arch = Architecture.from_hf_config(ALL[family])
    if family == "llama4_text":  # transformers runs every expert on every token (scores 0 off the top-k): the
        # 3 unrouted experts' gate/up/down matmuls (3 x 64 x 32 each) over 80 tokens in 2 MoE layers on top of
        # the routed work that forward_flops counts, as a serving engine runs it
        counted -= 2 * 3 * 2 * (2 * 40) * 3 * 64 * 32
    assert arch.forward_flops(batch=2, seq_len=40) == counted


def _ce(ids):
    targets = torch.roll(ids, -1, dims=1)

    def loss(out):
        return F.cross_entropy(out.logits.flatten(0, 1), targets.flatten())

    return loss


def tokens(seq_len):
    return torch.randint(0, V, (2, seq_len), generator=torch.Generator().manual_seed(2))


def recorded():
    return json.loads((Path(__file__).resolve().parents[2] / "course_lib/presets/measured_families.json").read_text())


# Activations not yet modelled within 10 %, with the gap measured on this test's configs (predicted vs saved)
ACTIVATIONS_XFAIL = {}


@pytest.mark.parametrize("attention, seq_len", [("sdpa", 256), ("eager", 96)])
def test_activations_within_10_percent(family, attention, seq_len, request):
    if family in ACTIVATIONS_XFAIL:
        request.applymarker(pytest.mark.xfail(strict=True, reason=ACTIVATIONS_XFAIL[family]))
    model = build(family, attention)
    ids = tokens(seq_len)
    measured = memory.training_memory(model, ids, optimizer="sgd", loss_fn=_ce(ids)).activations
    # latent attention's values are narrower than its queries and keys: PyTorch's CPU flash kernel does not take
    # them and SDPA runs its math path, which saves what eager saves (the fused kernel: the next test)
    as_run = "eager" if family in LATENT else attention
    predicted = Architecture.from_hf_config(ALL[family]).activation_bytes(batch=2, seq_len=seq_len,
                                                                          attention=as_run, bytes_per_value=4)
    if family in CONFIGS_2026:  # the contract: within 10 %
        assert abs(predicted - measured) <= 0.10 * measured, (predicted, measured)
        return
    # lesson 02 shows the recorded measurement (tools/measure_families.py): it must still be true
    record = recorded()
    rows = [r for r in record["rows"] if (r["family"], r["attention"], r["seq_len"]) == (family, attention, seq_len)]
    assert record["configs"][family] == CONFIGS[family] and [r["activations"] for r in rows] == [measured]
    # the contract is 10 %; following what each implementation saves, it is within 1 % on the CPU
    assert abs(predicted - measured) <= 0.01 * measured, (predicted, measured)


@pytest.mark.parametrize("latent", LATENT)
def test_latent_attention_fused_sdpa_within_10_percent(latent):
    """The fused SDPA kernel on latent attention, on the CPU: with values as wide as the queries and keys
    (v_head_dim = nope + rope = 24) PyTorch's CPU flash kernel runs it (what a GPU's memory-efficient kernel
    runs at DeepSeek's unequal widths): no score matrix, one log-sum-exp per head and token."""
    config = {**ALL[latent], "v_head_dim": 24}
    settings = transformers.AutoConfig.for_model(**config)
    torch.manual_seed(0)
    model = transformers.AutoModelForCausalLM.from_config(settings, attn_implementation="sdpa",
                                                          experts_implementation="eager").train()
    ids = tokens(256)
    measured = memory.training_memory(model, ids, optimizer="sgd", loss_fn=_ce(ids)).activations
    a = Architecture.from_hf_config(config)
    predicted = a.activation_bytes(batch=2, seq_len=256, attention="sdpa", bytes_per_value=4)
    assert abs(predicted - measured) <= 0.10 * measured, (predicted, measured)


def test_training_memory_components_exact(family):
    model = build(family)
    ids = torch.randint(0, V, (2, 32))
    measured = memory.training_memory(model, ids, optimizer="adamw", loss_fn=_ce(ids))
    predicted = Architecture.from_hf_config(ALL[family]).training_memory(batch=2, seq_len=32, optimizer="adamw",
                                                                         precision="fp32")
    n = model.num_parameters()
    assert (measured.weights, measured.gradients, measured.optimizer_state) == (4 * n, 4 * n, 8 * n)
    assert (predicted["weights"], predicted["gradients"], predicted["optimizer_state"]) == (4 * n, 4 * n, 8 * n)


def test_count_flops_backward_on_model_output():
    model = build("llama").eval()
    ids = torch.randint(0, V, (1, 16))
    forward = measure.count_flops(model, ids)
    both = measure.count_flops(model, ids, backward=True)
    assert 3 * forward <= both <= 3.1 * forward  # backward ≈ 2 × forward (SDPA's backward counts a bit more)


PRESETS_2026 = ["llama-3.1-8b", "llama-3.1-70b", "qwen3-8b", "qwen3-30b-a3b", "deepseek-v3", "gpt-oss-20b"]


@pytest.mark.parametrize("key", PRESETS_2026)
def test_real_configs_parameter_counts_on_meta_device(key):
    """The shipped public configs, built full size on the meta device (no memory): every parameter counted."""
    from course_lib import arch

    config = json.loads((Path(arch._PRESET_DIR) / f"{key}.json").read_text())
    hf = transformers.AutoConfig.for_model(**{k: val for k, val in config.items() if not k.startswith("_")})
    with torch.device("meta"):
        model = transformers.AutoModelForCausalLM.from_config(hf)
    a = arch.preset(key)
    assert a.n_params == model.num_parameters()
    if a.n_experts > 1:  # active: all but (n_experts - k) experts' FFNs in each sparse layer
        first_sparse = a.dense_layers if key.startswith("deepseek") else 0  # DeepSeek: the dense layers come first
        expert = sum(p[0].numel() for p in model.model.layers[first_sparse].mlp.experts.parameters())
        sparse = a.n_layers - a.dense_layers
        assert a.n_active_params == model.num_parameters() - sparse * (a.n_experts - a.experts_per_token) * expert


@pytest.mark.parametrize("key", ["llama-3.1-405b", "gemma-3-4b", "gemma-3-27b", "smollm3-3b", "olmo-2-7b",
                                 "qwen3-30b-a3b", "deepseek-v3", "gpt-oss-20b", "gpt-oss-120b"])
def test_presets_match_the_reference_counts_on_meta_device(key):
    """Every shipped 2026 preset against tests/support/hf_reference.py (its own walk of transformers' module tree,
    which reads no course_lib code): total and active parameters, exact. A wrapped multimodal config
    (Gemma 3) counts its language model."""
    import hf_reference as R
    from course_lib import arch

    config = json.loads((Path(arch._PRESET_DIR) / f"{key}.json").read_text())
    total, active = R.meta_param_count(config)
    a = arch.preset(key)
    assert (a.n_params, a.n_active_params) == (total, active)


# gpt-oss's public configs (https://huggingface.co/openai/gpt-oss-20b/blob/main/config.json and
# https://huggingface.co/openai/gpt-oss-120b/blob/main/config.json): hidden 2880, expert width 2880, vocab 201088,
# 64 query heads and 8 KV heads of 64, 4 experts per token; 24 layers of 32 experts, 36 layers of 128
@pytest.mark.parametrize("key, layers, experts", [("gpt-oss-20b", 24, 32), ("gpt-oss-120b", 36, 128)])
def test_gpt_oss_presets_by_hand(key, layers, experts):
    """Counted by hand from the public config: biased q/k/v/o, one sink per head, a biased router, experts with
    a biased fused gate_up (2 × 2880) and a biased down projection, two norms per layer, untied embeddings.
    The public configs quantize the experts (MXFP4, ``quantization_config``): transformers builds the model
    from the config unquantized, and that is what is counted (values, not bytes); a config carrying the
    quantization_config reads the same."""
    from course_lib import arch

    h, f, vocab, heads, kv, hd, k = 2880, 2880, 201088, 64, 8, 64, 4
    attention = (h * heads * hd + heads * hd) + 2 * (h * kv * hd + kv * hd) + (heads * hd * h + h) + heads
    router = experts * h + experts
    expert = h * 2 * f + 2 * f + f * h + h
    base = 2 * vocab * h + h + layers * (attention + router + 2 * h)
    a = arch.preset(key)
    assert (a.n_params, a.n_active_params) == (base + layers * experts * expert, base + layers * k * expert)
    assert (a.sliding_layers, a.sliding_window, a.n_layers - a.sliding_layers) == (layers // 2, 128, layers // 2)
    config = json.loads((Path(arch._PRESET_DIR) / f"{key}.json").read_text())
    quantized = {**config, "quantization_config": {"quant_method": "mxfp4",
                                                   "modules_to_not_convert": ["model.layers.*.self_attn",
                                                                              "model.layers.*.mlp.router",
                                                                              "model.embed_tokens", "lm_head"]}}
    assert arch.Architecture.from_hf_config(quantized) == a


# DeepSeek-V2-Lite's config.json, https://huggingface.co/deepseek-ai/DeepSeek-V2-Lite/blob/main/config.json
# (the keys that shape the model; typed from that file as third-party copies reproduce it: no network here).
# Latent attention without the query bottleneck (q_lora_rank null), 2 shared + 64 routed experts, 6 per token.
DEEPSEEK_V2_LITE = dict(model_type="deepseek_v2", vocab_size=102400, hidden_size=2048, intermediate_size=10944,
                        moe_intermediate_size=1408, num_hidden_layers=27, num_attention_heads=16, num_key_value_heads=16,
                        n_shared_experts=2, n_routed_experts=64, num_experts_per_tok=6, first_k_dense_replace=1,
                        moe_layer_freq=1, topk_method="greedy", n_group=1, topk_group=1, norm_topk_prob=False,
                        routed_scaling_factor=1.0, q_lora_rank=None, kv_lora_rank=512, qk_nope_head_dim=128,
                        qk_rope_head_dim=64, v_head_dim=128, hidden_act="silu", attention_bias=False,
                        tie_word_embeddings=False, max_position_embeddings=163840, rms_norm_eps=1e-06,
                        bos_token_id=100000, eos_token_id=100001)


def test_deepseek_v2_lite_parameters_on_meta_device():
    """DeepSeek-V2-Lite built full size on the meta device: total and active parameters exact, against
    transformers' count and tests/support/hf_reference.py's walk of the module tree; its latent KV cache by hand."""
    import hf_reference as R

    hf = transformers.AutoConfig.for_model(**DEEPSEEK_V2_LITE)
    with torch.device("meta"):
        model = transformers.AutoModelForCausalLM.from_config(hf)
    a = Architecture.from_hf_config(DEEPSEEK_V2_LITE)
    assert a.q_lora_rank == 0 and model.model.layers[0].self_attn.q_proj is not None
    expert = sum(p[0].numel() for p in model.model.layers[1].mlp.experts.parameters())
    assert expert == 3 * 2048 * 1408
    assert a.n_params == model.num_parameters()
    assert a.n_active_params == model.num_parameters() - 26 * (64 - 6) * expert
    assert (a.n_params, a.n_active_params) == R.meta_param_count(DEEPSEEK_V2_LITE)
    # the cache holds the latent (512) and the shared rotary key (64) per layer and token
    assert a.kv_cache_bytes(seq_len=1000, batch=1, bytes_per_value=2) == 27 * 1000 * (512 + 64) * 2


@pytest.mark.parametrize("change, message", [
    (dict(moe_layer_freq=2), "moe_layer_freq"), (dict(topk_method="noaux_tc"), "topk_method"),
    (dict(mlp_bias=True), "mlp_bias"), (dict(num_experts_per_tok=None), "num_experts_per_tok"),
    (dict(topk_method="group_limited_greedy", n_group=5), "n_group")])
def test_deepseek_v2_refuses_what_transformers_builds_otherwise(change, message):
    with pytest.raises((ValueError, TypeError), match=message):
        Architecture.from_hf_config({**DEEPSEEK_V2_LITE, **change})


def test_deepseek_v2_query_bottleneck_and_biases_exact():
    """DeepSeek-V2 (full size: q_lora_rank 1536) shaped tiny, with attention biases and group-limited routing:
    parameters exact against transformers (q_a_proj, q_a_layernorm, q_b_proj; biases on q_a, kv_a and o)."""
    config = {**ALL["deepseek_v2"], "q_lora_rank": 24, "attention_bias": True, "topk_method": "group_limited_greedy",
              "n_group": 2, "topk_group": 1}
    hf = transformers.AutoConfig.for_model(**config)
    with torch.device("meta"):
        model = transformers.AutoModelForCausalLM.from_config(hf)
    a = Architecture.from_hf_config(config)
    expert = sum(p[0].numel() for p in model.model.layers[1].mlp.experts.parameters())
    assert (a.n_params, a.n_active_params) == (model.num_parameters(), model.num_parameters() - 2 * 6 * expert)


# Other layouts of the parallel-block families, read from their config keys: Falcon-7B's (multi_query: one KV head,
# parallel_attn on one LayerNorm), a sequential Falcon with biases (parallel_attn false, multi_query false), the new
# decoder architecture with a single LayerNorm (num_ln_in_parallel_attn 1, Falcon2-11B), ALiBi (Falcon-RW), Phi with
# q/k LayerNorms.
VARIANTS = {
    "falcon-multi-query": dict(model_type="falcon", vocab_size=V, hidden_size=64, num_hidden_layers=2,
                               num_attention_heads=4),
    "falcon-sequential": dict(model_type="falcon", vocab_size=V, hidden_size=64, num_hidden_layers=2,
                              num_attention_heads=4, multi_query=False, parallel_attn=False, bias=True),
    "falcon-one-norm": dict(model_type="falcon", vocab_size=V, hidden_size=64, num_hidden_layers=2,
                            num_attention_heads=4, num_kv_heads=1, new_decoder_architecture=True,
                            num_ln_in_parallel_attn=1, ffn_hidden_size=96),
    # Falcon-RW's layout: ALiBi instead of rotary, multi-head, sequential, biases
    "falcon-alibi": dict(model_type="falcon", vocab_size=V, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                         multi_query=False, parallel_attn=False, bias=True, alibi=True),
    "phi-qk-layernorm": dict(model_type="phi", vocab_size=V, hidden_size=64, intermediate_size=256, num_hidden_layers=2,
                             num_attention_heads=4, num_key_value_heads=2, qk_layernorm=True),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_parallel_block_variants(variant):
    """Parameters and SDPA forward FLOPs exact, SDPA activations within 10 % (measured: within 0.2 %; ALiBi's
    per-head bias added to the mask, not modelled: -6.4 %)."""
    import hf_reference as R

    config = VARIANTS[variant]
    arch = Architecture.from_hf_config(config)
    assert (arch.n_params, arch.n_active_params) == R.meta_param_count(config)
    assert arch.forward_flops(batch=2, seq_len=40) == R.forward_flops(config, 2, 40, attention="sdpa")
    measured = R.saved_activation_bytes(config, 2, 128, attention="sdpa")
    predicted = arch.activation_bytes(batch=2, seq_len=128, attention="sdpa", bytes_per_value=4)
    assert abs(predicted - measured) <= 0.10 * measured, (predicted, measured)


# Public config.json files of the parallel-block and LayerNorm families, typed in from the model cards (the keys
# that shape the model; tokenizer ids and rope settings left out), built full size on the meta device.
REAL_CONFIGS = {
    # https://huggingface.co/microsoft/phi-2/blob/main/config.json
    "phi-2": dict(model_type="phi", vocab_size=51200, hidden_size=2560, intermediate_size=10240, num_hidden_layers=32,
                  num_attention_heads=32, num_key_value_heads=32, partial_rotary_factor=0.4, qk_layernorm=False,
                  hidden_act="gelu_new", resid_pdrop=0.1, embd_pdrop=0.0, attention_dropout=0.0,
                  max_position_embeddings=2048, tie_word_embeddings=False),
    # https://huggingface.co/tiiuae/falcon-7b/blob/main/config.json
    "falcon-7b": dict(model_type="falcon", vocab_size=65024, hidden_size=4544, num_hidden_layers=32,
                      num_attention_heads=71, multi_query=True, new_decoder_architecture=False, parallel_attn=True,
                      alibi=False, bias=False, hidden_dropout=0.0, attention_dropout=0.0),
    # https://huggingface.co/tiiuae/falcon-40b/blob/main/config.json
    "falcon-40b": dict(model_type="falcon", vocab_size=65024, hidden_size=8192, num_hidden_layers=60,
                       num_attention_heads=128, num_kv_heads=8, new_decoder_architecture=True, parallel_attn=True,
                       alibi=False, bias=False, hidden_dropout=0.0, attention_dropout=0.0),
    # https://huggingface.co/CohereForAI/c4ai-command-r-v01/blob/main/config.json
    "command-r-v01": dict(model_type="cohere", vocab_size=256000, hidden_size=8192, intermediate_size=22528,
                          num_hidden_layers=40, num_attention_heads=64, num_key_value_heads=64, logit_scale=0.0625,
                          hidden_act="silu", attention_bias=False, max_position_embeddings=8192),
    # https://huggingface.co/CohereForAI/c4ai-command-r7b-12-2024/blob/main/config.json
    "command-r7b-12-2024": dict(model_type="cohere2", vocab_size=256000, hidden_size=4096, intermediate_size=14336,
                                num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8, head_dim=128,
                                sliding_window=4096, sliding_window_pattern=4, logit_scale=0.25, hidden_act="silu",
                                max_position_embeddings=8192),
    # https://huggingface.co/bigcode/starcoder2-3b/blob/main/config.json
    "starcoder2-3b": dict(model_type="starcoder2", vocab_size=49152, hidden_size=3072, intermediate_size=12288,
                          num_hidden_layers=30, num_attention_heads=24, num_key_value_heads=2, sliding_window=4096,
                          use_bias=True, hidden_act="gelu_pytorch_tanh", residual_dropout=0.1, embedding_dropout=0.1,
                          attention_dropout=0.1, max_position_embeddings=16384),
}


@pytest.mark.parametrize("key", list(REAL_CONFIGS))
def test_parallel_block_real_configs_on_meta_device(key):
    """Total (= active) parameters of each public config, exact against hf_reference's meta-device count; Command
    R7B's KV cache holds 24 sliding layers of 4,096 positions and 8 full ones."""
    import hf_reference as R

    arch = Architecture.from_hf_config(REAL_CONFIGS[key])
    assert (arch.n_params, arch.n_active_params) == R.meta_param_count(REAL_CONFIGS[key])
    if key == "command-r7b-12-2024":
        assert (arch.n_layers, arch.sliding_layers, arch.sliding_window) == (32, 24, 4096)

# Gemma 4: no published config.json could be read here (no network; no copy of google/gemma-4-* config.json
# was found in the reference stores), so the "public" shape is transformers 5.25's Gemma4TextConfig defaults
# (models/gemma4/configuration_gemma4.py: 30 layers of width 2304, 5 sliding (256-wide heads) to 1 full
# (global_head_dim 512), per-layer inputs of 256 from a 262,144-token table), built full size on the meta device.
GEMMA4_DEFAULTS = dict(model_type="gemma4_text")


@pytest.mark.parametrize("config", [
    GEMMA4_DEFAULTS,
    # the multimodal wrapper: its text_config is the language model
    dict(model_type="gemma4", text_config=dict(model_type="gemma4_text", num_kv_shared_layers=12,
                                               use_double_wide_mlp=True, attention_k_eq_v=True,
                                               num_global_key_value_heads=1)),
], ids=["gemma4_text-defaults", "gemma4-wrapper"])
def test_gemma4_parameters_on_meta_device(config):
    """Gemma 4 full size on the meta device: parameters exact against transformers' count and
    tests/support/hf_reference.py's walk of the module tree (a dense model: active = total)."""
    import hf_reference as R

    total, active = R.meta_param_count(config)
    a = Architecture.from_hf_config(config)
    assert (a.n_params, a.n_active_params) == (total, active)
    if config is GEMMA4_DEFAULTS:
        assert total == 5_077_177_856
        # the per-layer input table is looked up, not multiplied: 262,144 × (30 × 256)
        assert a.lookup_params == 262_144 * 30 * 256


def test_gemma4_saved_config_reads_per_layer_config():
    """A config saved by transformers carries the full layers' shapes in ``per_layer_config`` (and no
    global_head_dim): read from there, the same model."""
    hf = transformers.AutoConfig.for_model(**ALL["gemma4_text"])
    saved = json.loads(json.dumps(hf.to_dict()))
    assert "per_layer_config" in saved and "global_head_dim" not in saved
    a, b = Architecture.from_hf_config(saved), Architecture.from_hf_config(ALL["gemma4_text"])
    assert (a.full_head_dim, a.full_kv_heads) == (32, 1) and a == b


@pytest.mark.parametrize("change, message", [
    (dict(enable_moe_block=True, num_experts=4, top_k_experts=2, moe_intermediate_size=32), "enable_moe_block"),
    (dict(num_kv_shared_layers=6), "num_kv_shared_layers"),
    (dict(layer_types=["sliding_attention"] * 5 + ["full_attention"], num_kv_shared_layers=1), "num_kv_shared_layers"),
    (dict(per_layer_config={"0": {"head_dim": 8}}), "per_layer_config")])
def test_gemma4_refuses_what_is_not_modelled(change, message):
    with pytest.raises((ValueError, TypeError), match=message):
        Architecture.from_hf_config({**ALL["gemma4_text"], **change})


def test_gemma4_without_per_layer_inputs():
    """Gemma 4 shaped otherwise: no per-layer inputs, keys and values of their own on the full layers
    (no attention_k_eq_v: num_global_key_value_heads is then not read), half the layers KV-shared, 2 sliding
    and 2 full: parameters, the cache after generate and the saved activations (SDPA) against
    tests/support/hf_reference.py."""
    import hf_reference as R

    config = dict(model_type="gemma4_text", vocab_size=V, hidden_size=64, intermediate_size=128, num_hidden_layers=4,
                  num_attention_heads=4, num_key_value_heads=2, head_dim=16, global_head_dim=32,
                  num_global_key_value_heads=1, hidden_size_per_layer_input=0, sliding_window=8,
                  num_kv_shared_layers=2, layer_types=["sliding_attention", "full_attention"] * 2, pad_token_id=0)
    a = Architecture.from_hf_config(config)
    assert (a.full_kv_heads, a.kv_shared_layers, a.kv_shared_sliding, a.per_layer_input_size) == (2, 2, 1, 0)
    assert (a.n_params, a.n_active_params) == R.meta_param_count(config)
    assert a.kv_cache_bytes(seq_len=31, batch=2, bytes_per_value=4) == R.kv_bytes_after_generate(config, 2, 20, 12)
    measured = R.saved_activation_bytes(config, 2, 64, attention="sdpa")
    predicted = a.activation_bytes(batch=2, seq_len=64, attention="sdpa", bytes_per_value=4)
    assert abs(predicted - measured) <= 0.10 * measured, (predicted, measured)
