"""Llama 4 and Mistral 3 read from their published config.json shapes (issue 20).

The multimodal wrappers (``llama4``, ``mistral3``) are read as their language
model; each count is checked against transformers 5 built from the same config
on the meta device (``tests/support/hf_reference.py``: no weights, nothing downloaded),
and the public checkpoint's config keys are typed here with their source. The
tiny same-shaped models of ``llama4_text``, ``ministral`` and ``ministral3``
(parameters, KV cache after generate, FLOPs, activations) are in
``tests/unit/test_arch_hf.py``.
"""

import os

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
pytest.importorskip("transformers")
pytest.importorskip("torch")

import hf_reference as R  # noqa: E402
from course_lib.arch import Architecture  # noqa: E402

# https://huggingface.co/meta-llama/Llama-4-Scout-17B-16E/blob/main/config.json (text_config; the vision_config's
# shape keys): 48 layers, every 4th NoPE, the others chunked (8192) with a q/k norm; 16 routed experts of 8192,
# 1 per token, and a shared expert, on every layer (interleave_moe_layer_step 1)
SCOUT = {
    "model_type": "llama4", "tie_word_embeddings": False,
    "text_config": {
        "model_type": "llama4_text", "attention_bias": False, "attention_chunk_size": 8192, "head_dim": 128,
        "hidden_act": "silu", "hidden_size": 5120, "interleave_moe_layer_step": 1, "intermediate_size": 8192,
        "intermediate_size_mlp": 16384, "max_position_embeddings": 262144, "moe_layers": list(range(48)),
        "no_rope_layers": [1, 1, 1, 0] * 12, "num_attention_heads": 40, "num_experts_per_tok": 1,
        "num_hidden_layers": 48, "num_key_value_heads": 8, "num_local_experts": 16, "pad_token_id": 200018,
        "bos_token_id": 200000, "eos_token_id": [200001, 200007, 200008], "rms_norm_eps": 1e-05,
        "use_qk_norm": True, "vocab_size": 202048,
    },
    "vision_config": {
        "model_type": "llama4_vision_model", "hidden_act": "gelu", "hidden_size": 1408, "image_size": 336,
        "intermediate_size": 5632, "multi_modal_projector_bias": False, "norm_eps": 1e-05, "num_attention_heads": 16,
        "num_channels": 3, "num_hidden_layers": 34, "patch_size": 14, "pixel_shuffle_ratio": 0.5,
        "projector_input_dim": 4096, "projector_output_dim": 4096, "vision_output_dim": 4096,
        "rope_theta": 10000, "vision_feature_layer": -1, "vision_feature_select_strategy": "default",
    },
}


def test_llama4_scout_parameters_exact_on_meta_device():
    a = Architecture.from_hf_config(SCOUT)
    assert (a.family, a.n_layers, a.sliding_layers, a.sliding_window, a.chunked) == ("llama4_text", 48, 36, 8192, True)
    assert (a.n_experts, a.experts_per_token, a.n_shared_experts, a.dense_layers, a.qk_l2_norm_layers) == (16, 1, 1, 0, 36)
    total, active = R.meta_param_count(SCOUT)
    assert (a.n_params, a.n_active_params) == (total, active)
    # the model card: 17B active, 109B total (the whole checkpoint, vision encoder and projector included)
    assert abs(active - 17e9) <= 0.5e9, active
    whole = R.build(SCOUT, meta=True, text_only=False)
    assert abs(whole.num_parameters() - 109e9) <= 1e9, whole.num_parameters()


def test_llama4_scout_kv_cache_keeps_a_chunk_on_36_layers():
    """36 chunked layers keep at most 8192 tokens each (transformers 5's sliding-window cache of the chunk size),
    the 12 NoPE layers every token: 8 KV heads × 128 × 2 (K and V) × 2 bytes per layer and token."""
    a = Architecture.from_hf_config(SCOUT)
    per_layer_token = 2 * 8 * 128 * 2
    assert a.kv_cache_bytes(seq_len=4096) == 48 * 4096 * per_layer_token
    assert a.kv_cache_bytes(seq_len=100_000) == (12 * 100_000 + 36 * 8192) * per_layer_token


def test_llama4_interleaved_dense_layers_and_defaults():
    """Maverick's pattern (interleave_moe_layer_step 2, no q/k norm): half the layers keep a dense FFN of
    intermediate_size_mlp; keys left out take Llama4TextConfig's defaults (NoPE every 4th layer, chunk 8192)."""
    config = {"model_type": "llama4_text", "vocab_size": 256, "hidden_size": 64, "intermediate_size": 32,
              "intermediate_size_mlp": 96, "num_hidden_layers": 8, "num_attention_heads": 4, "num_key_value_heads": 2,
              "head_dim": 16, "num_local_experts": 8, "num_experts_per_tok": 1, "interleave_moe_layer_step": 2,
              "use_qk_norm": False}
    a = Architecture.from_hf_config(config)
    assert (a.dense_layers, a.sliding_layers, a.sliding_window, a.qk_l2_norm_layers) == (4, 6, 8192, 0)
    assert (a.n_params, a.n_active_params) == R.meta_param_count(config)


def test_llama4_without_chunks_has_full_layers_only():
    config = {"model_type": "llama4_text", "vocab_size": 256, "hidden_size": 64, "intermediate_size": 32,
              "intermediate_size_mlp": 96, "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2,
              "head_dim": 16, "num_local_experts": 4, "attention_chunk_size": None}
    a = Architecture.from_hf_config(config)
    assert (a.sliding_layers, a.sliding_window, a.chunked, a.qk_l2_norm_layers) == (0, None, False, 3)
    held = R.kv_bytes_after_generate(config, 2, 12, 4)  # 15 positions on every layer, fp32
    assert a.kv_cache_bytes(seq_len=15, batch=2, bytes_per_value=4) == held == 4 * 15 * 2 * 2 * 32 * 4


def test_llama4_bad_layer_lists_are_named():
    base = {"model_type": "llama4_text", "num_hidden_layers": 4}
    with pytest.raises(TypeError, match="no_rope_layers"):
        Architecture.from_hf_config({**base, "no_rope_layers": [1, 1, True, 0]})
    with pytest.raises(ValueError, match="no_rope_layers"):
        Architecture.from_hf_config({**base, "no_rope_layers": [1, 0]})
    with pytest.raises(ValueError, match="moe_layers"):
        Architecture.from_hf_config({**base, "moe_layers": [0, 4]})
    with pytest.raises(ValueError, match="attention_chunk_size"):
        Architecture.from_hf_config({**base, "attention_chunk_size": None, "layer_types": ["chunked_attention"] * 4})


VISION = dict(model_type="pixtral", hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
              image_size=28, patch_size=14, head_dim=16)
TEXT = dict(vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=4, num_attention_heads=4,
            num_key_value_heads=2, head_dim=16)


@pytest.mark.parametrize("text", [
    dict(model_type="mistral", **TEXT, sliding_window=8),  # Mistral Small 3.x: a mistral text model
    dict(model_type="ministral3", **TEXT),  # Ministral 3 (the 2512 checkpoints): a ministral3 text model
    dict(model_type="ministral", **TEXT, sliding_window=8, layer_types=["sliding_attention", "full_attention"] * 2),
])
def test_mistral3_wrapper_reads_its_text_model(text):
    """A mistral3 checkpoint is read as its language model, whatever family its text_config names; the
    wrapper's own tie_word_embeddings (True by default) is not the text model's, and KV and FLOPs follow
    the text model (measured on it, fp32)."""
    config = {"model_type": "mistral3", "text_config": text, "vision_config": VISION}
    a = Architecture.from_hf_config(config)
    assert a.family == text["model_type"] and not a.tied_embeddings
    assert (a.n_params, a.n_active_params) == R.meta_param_count(config)
    held = R.kv_bytes_after_generate(config, 2, 12, 4)
    assert a.kv_cache_bytes(seq_len=15, batch=2, bytes_per_value=4) == held
    assert a.forward_flops(batch=2, seq_len=16) == R.forward_flops(config, 2, 16)


def test_mistral3_without_text_config_is_mistral_small_3_1():
    """No text_config at all: transformers 5.25's Mistral3Config builds its default language model, the
    Mistral Small 3.1 shape (configuration_mistral3.py: "the mistral3.1 configuration"; the model card of
    https://huggingface.co/mistralai/Mistral-Small-3.1-24B-Instruct-2503: "24 billion parameters", vision
    included): 40 layers of width 5120, 32 heads of 128, 8 KV heads, FFN 32768, vocabulary 131072, no window."""
    a = Architecture.from_hf_config({"model_type": "mistral3"})
    assert (a.family, a.n_layers, a.hidden_size, a.head_dim, a.n_kv_heads, a.sliding_layers) == ("mistral", 40, 5120,
                                                                                                 128, 8, 0)
    total, active = R.meta_param_count({"model_type": "mistral3"})
    assert a.n_params == total == active
    assert abs(total - 24e9) <= 0.6e9, total
