"""Qwen3-Next and Qwen3.5 read from their published config.json shapes (issue 20).

The hybrid linear-attention families: each count is checked against
transformers 5 built from the same config on the meta device
(``tests/support/hf_reference.py``: no weights, nothing downloaded); the
public checkpoint's config keys are typed here with their source. The tiny
same-shaped models (parameters, KV cache and linear state after generate,
FLOPs, activations) are in ``tests/unit/test_arch_hf.py``.
"""

import os

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
pytest.importorskip("transformers")
pytest.importorskip("torch")

import hf_reference as R  # noqa: E402
from course_lib.arch import Architecture  # noqa: E402

# https://huggingface.co/Qwen/Qwen3-Next-80B-A3B-Instruct/blob/main/config.json (the keys that shape the model):
# 48 layers, every 4th full attention (16 heads of 256, 2 KV heads, gated output), the others gated DeltaNet
# (16 query/key heads of 128, 32 value heads of 128, a 4-tap convolution); 512 experts of 512, 10 per token, and a
# gated shared expert of 512 on every layer
QWEN3_NEXT_80B = {
    "model_type": "qwen3_next", "attention_bias": False, "attention_dropout": 0.0, "bos_token_id": 151643,
    "decoder_sparse_step": 1, "eos_token_id": 151645, "full_attention_interval": 4, "head_dim": 256,
    "hidden_act": "silu", "hidden_size": 2048, "intermediate_size": 5120, "linear_conv_kernel_dim": 4,
    "linear_key_head_dim": 128, "linear_num_key_heads": 16, "linear_num_value_heads": 32,
    "linear_value_head_dim": 128, "max_position_embeddings": 262144, "mlp_only_layers": [],
    "moe_intermediate_size": 512, "norm_topk_prob": True, "num_attention_heads": 16, "num_experts": 512,
    "num_experts_per_tok": 10, "num_hidden_layers": 48, "num_key_value_heads": 2, "partial_rotary_factor": 0.25,
    "rms_norm_eps": 1e-06, "rope_theta": 10000000, "shared_expert_intermediate_size": 512,
    "tie_word_embeddings": False, "vocab_size": 151936,
}


def test_qwen3_next_80b_parameters_exact_on_meta_device():
    a = Architecture.from_hf_config(QWEN3_NEXT_80B)
    assert (a.family, a.n_layers, a.linear_layers, a.n_experts, a.experts_per_token, a.dense_layers) == (
        "qwen3_next", 48, 36, 512, 10, 0)
    total, active = R.meta_param_count(QWEN3_NEXT_80B)
    assert (a.n_params, a.n_active_params) == (total, active)
    assert (total, active) == (79_674_391_296, 3_874_929_408)
    # the model card: 80B parameters in total, 3B activated (3.25 B without the embedding and the LM head,
    # 2 x 151936 x 2048)
    assert abs(total - 80e9) <= 0.5e9 and abs(active - 2 * 151936 * 2048 - 3e9) <= 0.3e9, (total, active)


def test_qwen3_next_80b_cache_is_12_full_layers_plus_a_constant_state():
    """By hand: 12 full layers keep K and V (2 heads of 256) per token; 36 DeltaNet layers keep a convolution
    state (2 x 16 x 128 + 32 x 128 = 8192 channels x 4 taps) and a recurrent state (32 heads x 128 x 128),
    whatever the length."""
    a = Architecture.from_hf_config(QWEN3_NEXT_80B)
    state = 36 * (8192 * 4 + 32 * 128 * 128) * 2
    assert a.linear_state_bytes(batch=1, bytes_per_value=2) == state
    for tokens in (1, 4096, 262144):
        assert a.kv_cache_bytes(seq_len=tokens, bytes_per_value=2) == 12 * 2 * 2 * 256 * tokens * 2 + state


# The Qwen3.5 checkpoints are multimodal: their config.json wraps the language model in a text_config
# (qwen3_5 / qwen3_5_text dense, qwen3_5_moe / qwen3_5_moe_text a mixture on every layer); a tiny one of each
# here, the vision config left to transformers' defaults (only the text model is read and measured)
_TEXT = dict(vocab_size=512, hidden_size=64, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
             head_dim=16, linear_num_key_heads=2, linear_num_value_heads=4, linear_key_head_dim=16,
             linear_value_head_dim=8, linear_conv_kernel_dim=4)
WRAPPED = {
    "qwen3_5": dict(model_type="qwen3_5", text_config=dict(model_type="qwen3_5_text", intermediate_size=96, **_TEXT)),
    "qwen3_5_moe": dict(model_type="qwen3_5_moe", text_config=dict(
        model_type="qwen3_5_moe_text", num_experts=4, num_experts_per_tok=2, moe_intermediate_size=32,
        shared_expert_intermediate_size=48, **_TEXT)),
}


@pytest.mark.parametrize("wrapper", list(WRAPPED))
def test_qwen3_5_wrapper_read_as_its_language_model(wrapper):
    config = WRAPPED[wrapper]
    a = Architecture.from_hf_config(config)
    assert a.family == config["text_config"]["model_type"] and a.linear_layers == 3
    assert (a.n_params, a.n_active_params) == R.meta_param_count(config)


@pytest.mark.parametrize("wrapper", list(WRAPPED))
def test_qwen3_5_wrapper_without_text_config_takes_the_default_language_model(wrapper):
    """No text_config at all: transformers' default text config of the wrapper (Qwen3.5: 32 layers of 4096,
    dense; Qwen3.5-MoE: 40 layers of 2048, 256 experts), counted on the meta device."""
    config = {"model_type": wrapper}
    a = Architecture.from_hf_config(config)
    assert (a.n_params, a.n_active_params) == R.meta_param_count(config)
    assert (a.n_layers, a.linear_layers) == ((32, 24) if wrapper == "qwen3_5" else (40, 30))


@pytest.mark.parametrize("change, message", [
    (dict(linear_num_value_heads=3), "linear_num_value_heads"),
    (dict(layer_types=["linear_attention", "sliding_attention", "full_attention", "full_attention"]), "layer_types"),
    (dict(linear_conv_kernel_dim=0), "linear_conv_kernel_dim")])
def test_hybrid_config_errors_name_the_key(change, message):
    with pytest.raises((ValueError, TypeError), match=message):
        Architecture.from_hf_config({**WRAPPED["qwen3_5"]["text_config"], **change})
