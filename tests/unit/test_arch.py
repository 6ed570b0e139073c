"""course_lib.arch: hand-computed values, published counts, DeepSpeed's
estimator formulas, and LoRA measured on TinyGPT to the byte.
(tests/unit/test_arch_hf.py checks the same predictions against transformers.)"""

import json

import pytest
import torch

from course_lib import arch, lora, memory
from course_lib.arch import Architecture, LoRA
from course_lib.models import TinyGPT

# Parameter counts published with the models (model cards / papers) or printed
# by transformers' num_parameters() for the released checkpoints.
PUBLISHED = {
    "gpt2": 124_439_808,
    "llama-2-7b": 6_738_415_616,
    "llama-2-13b": 13_015_864_320,
    "llama-2-70b": 68_976_648_192,
    "llama-3-8b": 8_030_261_248,
    "mistral-7b": 7_241_732_096,
    "mixtral-8x7b": 46_702_792_704,
    "gemma-7b": 8_537_680_896,
    "qwen2-0.5b": 494_032_768,
}


@pytest.mark.parametrize("key", list(PUBLISHED))
def test_preset_parameter_counts(key):
    assert arch.preset(key).n_params == PUBLISHED[key]


def test_every_preset_names_its_source_and_count():
    for key in arch.PRESETS:
        a = arch.preset(key)
        assert a.source.startswith("https://huggingface.co/")
        assert f"{a.n_params:,}" in arch.label(a)


def test_mixtral_active_parameters_by_hand():
    a = arch.preset("mixtral-8x7b")
    expert = 3 * 4096 * 14336
    assert a.n_params - a.n_active_params == 32 * 6 * expert
    assert "active per token" in arch.label(a)


def test_unknown_model_type_lists_families():
    with pytest.raises(ValueError, match="gpt2.*llama.*phi3"):
        Architecture.from_hf_config({"model_type": "bert"})
    with pytest.raises(TypeError, match="config"):
        Architecture.from_hf_config(3)
    with pytest.raises(ValueError, match="no such file"):
        Architecture.from_hf_config("/nonexistent/config.json")


def test_missing_keys_take_family_defaults(tmp_path):
    # transformers' LlamaConfig() defaults are Llama-2-7B's shape
    assert Architecture.from_hf_config({"model_type": "llama"}).n_params == PUBLISHED["llama-2-7b"]
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"model_type": "gpt2"}))
    assert Architecture.from_hf_config(str(path)).n_params == PUBLISHED["gpt2"]


def test_kv_cache_by_hand():
    # Llama-3-8B: 32 layers, 8 KV heads of 128: 2 * 8 * 128 * 32 * 2 bytes = 131,072 B per token
    assert arch.preset("llama-3-8b").kv_cache_bytes(seq_len=1000) == 131_072_000
    # Gemma-7B: explicit head_dim 256 (not 3072 / 16 = 192): 2 * 16 * 256 * 28 * 2 = 458,752 B per token
    assert arch.preset("gemma-7b").kv_cache_bytes(seq_len=10) == 4_587_520
    # Mistral-7B at 32k tokens: the 4,096-token window caps the cache (x8)
    m = arch.preset("mistral-7b")
    assert m.kv_cache_bytes(seq_len=32768) == 2 * 8 * 128 * 32 * 4096 * 2
    assert m.kv_cache_bytes(seq_len=100, batch=3, bytes_per_value=1) == 2 * 8 * 128 * 32 * 100 * 3
    with pytest.raises(ValueError, match="seq_len"):
        m.kv_cache_bytes(seq_len=0)


def test_forward_flops_by_hand():
    a = arch.preset("gpt2")
    b, s, h, v, layers = 1, 8, 768, 50257, 12
    per_layer = 2 * s * h * 3 * h + 2 * s * h * h + 2 * 2 * 12 * s * s * 64 + 2 * 2 * s * h * 4 * h
    assert a.forward_flops(batch=b, seq_len=s) == layers * per_layer + 2 * s * h * v


def test_sdpa_stores_no_scores():
    a = arch.preset("llama-2-7b")
    eager = a.activation_bytes(batch=1, seq_len=4096, attention="eager")
    sdpa = a.activation_bytes(batch=1, seq_len=4096, attention="sdpa")
    # the difference is the softmax kept per layer: 32 heads x 4096^2 x 2 bytes, minus the fp32 log-sum-exp
    assert eager - sdpa == 32 * (32 * 4096 * 4096 * 2 - 32 * 4096 * 4)
    with pytest.raises(ValueError, match="attention"):
        a.activation_bytes(batch=1, seq_len=8, attention="flash")


def test_checkpointing_keeps_layer_inputs():
    a = arch.preset("llama-2-7b")
    full = a.activation_bytes(batch=1, seq_len=512)
    ckpt = a.activation_bytes(batch=1, seq_len=512, checkpointing=True)
    assert ckpt < full / 5
    assert ckpt > 32 * 512 * 4096 * 2


def test_zero_deepspeed_estimator_to_the_byte():
    # DeepSpeed, runtime/zero/stage_1_and_2.py, estimate_zero2_model_states_mem_needs (no offload):
    #   gpu = 4 * N + int(16 * N / gpus); runtime/zero/stage3.py, estimate_zero3_model_states_mem_needs:
    #   gpu = 4 * largest_layer + int(18 * N / gpus). GPT-2: N = 124,439,808, largest layer = wte 50257 x 768.
    a = arch.preset("gpt2")
    assert a.largest_layer_params() == 38_597_376
    assert a.zero_memory(64, 2, convention="deepspeed")["total"] == 497_759_232 + 31_109_952
    z3 = a.zero_memory(64, 3, convention="deepspeed")
    assert z3["total"] == 154_389_504 + 34_998_696
    assert z3["gathered_layer"] == 154_389_504
    assert a.zero_memory(8, 3, convention="deepspeed")["total"] == 154_389_504 + 279_989_568


def test_zero_paper_convention():
    a = arch.preset("llama-2-7b")
    n = a.n_params
    assert a.zero_memory(1, 0)["total"] == 16 * n
    assert a.zero_memory(4, 1)["optimizer_state"] == 12 * n // 4
    assert a.zero_memory(4, 2)["gradients"] == 2 * n // 4
    z3 = a.zero_memory(4, 3)
    assert z3["weights"] == 2 * n // 4 and z3["gathered_layer"] == 4 * 32000 * 4096
    assert a.zero_memory(1, 0, convention="hf")["total"] == 18 * n
    with pytest.raises(ValueError, match="convention"):
        a.zero_memory(1, 0, convention="megatron")


def test_lora_on_tinygpt_measured_to_the_byte():
    model = TinyGPT()
    a = lora.tinygpt_architecture(model)
    assert a.n_params == sum(p.numel() for p in model.parameters())
    adapted = lora.add_lora(model, rank=4, targets=("attn.qkv", "attn.proj", "mlp.2"))
    ids = torch.randint(0, 64, (2, 32))
    measured = memory.training_memory(adapted, ids, optimizer="adamw")
    predicted = a.training_memory(batch=2, seq_len=32, optimizer="adamw", precision="fp32",
                                  lora=LoRA(rank=4, targets=("q", "v", "o", "down"), base_bits=32))
    # by hand: per layer qkv 4*(64+192), proj 4*(64+64), mlp.2 4*(256+64); 2 layers
    trainable = 2 * (4 * 256 + 4 * 128 + 4 * 320)
    assert measured.gradients == 4 * trainable
    assert measured.optimizer_state == 8 * trainable
    assert measured.weights == 4 * (a.n_params + trainable)
    for part in ("weights", "gradients", "optimizer_state"):
        assert predicted[part] == getattr(measured, part)


def test_qlora_base_bytes_by_hand():
    a = arch.preset("llama-2-7b")
    mats = 32 * (4 * 4096 * 4096 + 3 * 4096 * 11008)
    rest = a.n_params - mats
    expected = mats // 2 + (mats // 64) * 4 + 2 * rest
    q = LoRA(rank=16, targets=("q", "k", "v", "o"), base_bits=4)
    assert q.base_bytes(a) == expected
    assert q.trainable_params(a) == 32 * 4 * 16 * (4096 + 4096)
    with pytest.raises(ValueError, match="base_bits"):
        LoRA(base_bits=3)
    with pytest.raises(ValueError, match="targets"):
        LoRA(targets=("qkv",))


# ---------------------------------------------------------------- measure.count_flops (issue 11, item 6)

from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from course_lib import measure  # noqa: E402


class _Attention(nn.Module):
    def forward(self, x):
        return F.scaled_dot_product_attention(x, x, x, is_causal=True)


class _MatVec(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(8, 8))

    def forward(self, x):
        return torch.mv(self.w, x)


class _Dict(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 4)

    def forward(self, x):
        return {"out": self.lin(x)}


def test_count_flops_counts_sdpa_on_the_cpu():
    b, h, s, d = 2, 3, 16, 8
    x = torch.randn(b, h, s, d, requires_grad=True)
    # QK^T and PV: 2 matmuls of 2*b*h*s*s*d each (the full score matrix, causal or not)
    assert measure.count_flops(_Attention(), x) == 2 * 2 * b * h * s * s * d
    both = measure.count_flops(_Attention(), x, backward=True)
    # backward, torch's formula for the fused kernels: scores recomputed, then dV, dP, dQ, dK
    assert both == 2 * 2 * b * h * s * s * d + 5 * 2 * b * h * s * s * d


def test_count_flops_warns_about_uncounted_matmuls():
    with pytest.warns(RuntimeWarning, match="aten.mv"):
        assert measure.count_flops(_MatVec(), torch.ones(8)) == 0


def test_count_flops_backward_needs_a_scalar():
    x = torch.randn(2, 4)
    assert measure.count_flops(_Dict(), x) == 2 * 2 * 4 * 4
    with pytest.raises(TypeError, match="loss_fn"):
        measure.count_flops(_Dict(), x, backward=True)
    # forward 2*2*4*4; backward: only the weight's gradient (the input needs none), one matmul of the same size
    assert measure.count_flops(_Dict(), x, backward=True, loss_fn=lambda o: o["out"].sum()) == 2 * 2 * 2 * 4 * 4
    with pytest.raises(TypeError, match="loss_fn"):
        measure.count_flops(_Dict(), x, backward=True, loss_fn="sum")


def test_resolve_accepts_every_way_to_name_a_model(tmp_path):
    import json
    from course_lib import models
    gpt = models.TinyGPT(vocab_size=50, d_model=32, n_heads=4, n_layers=3, max_seq_len=20, seed=0)
    a = arch.resolve(gpt)
    assert a.n_params == sum(p.numel() for p in gpt.parameters())  # counted by torch, not by arch
    assert a.kv_cache_bytes(seq_len=20, batch=2, bytes_per_value=4) == 2 * 3 * 4 * 8 * 20 * 2 * 4
    llama = arch.preset("llama-3-8b")
    assert arch.resolve("llama-3-8b") == llama and arch.resolve(llama) is llama
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"model_type": "llama", "vocab_size": 128256, "hidden_size": 4096,
                                "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
                                "intermediate_size": 14336, "tie_word_embeddings": False}))
    assert arch.resolve(path).n_params == arch.resolve(str(path)).n_params == 8_030_261_248
    with pytest.raises(ValueError, match="engine"):
        arch.resolve("nope", argument="engine")
    with pytest.raises(TypeError, match="model must be"):
        arch.resolve(3.5)


def test_parallel_block_structure_read_from_config_keys():
    """Falcon's layout comes from parallel_attn / multi_query / new_decoder_architecture, not from its name:
    Falcon-7B's shape (transformers' FalconConfig defaults) counted by hand."""
    h, v, layers, f = 4544, 65024, 32, 4 * 4544
    per_layer = h * (h + 2 * 64) + h * h + 2 * h * f + 2 * h  # fused qkv (1 KV head), dense, MLP, one LayerNorm
    a = Architecture.from_hf_config({"model_type": "falcon"})
    assert (a.parallel_block, a.norms_per_layer, a.n_kv_heads, a.head_dim) == (True, 1, 1, 64)
    assert a.n_params == v * h + layers * per_layer + 2 * h == 6_921_720_704  # tied LM head, final LayerNorm
    small = {"model_type": "falcon", "hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 2}
    sequential = Architecture.from_hf_config({**small, "parallel_attn": False, "multi_query": False})
    assert (sequential.parallel_block, sequential.norms_per_layer, sequential.n_kv_heads) == (False, 2, 4)
    new = Architecture.from_hf_config({**small, "new_decoder_architecture": True, "num_kv_heads": 2})
    assert (new.parallel_block, new.norms_per_layer, new.n_kv_heads) == (True, 2, 2)
    cohere = Architecture.from_hf_config({"model_type": "cohere", "use_qk_norm": True})
    assert (cohere.norm, cohere.parallel_block, cohere.qk_norm_heads) == ("layernorm_nobias", True, True)
    assert Architecture.from_hf_config({"model_type": "starcoder2"}).parallel_block is False
    with pytest.raises(ValueError, match="num_ln_in_parallel_attn"):
        Architecture.from_hf_config({**small, "num_ln_in_parallel_attn": 2})
    with pytest.raises(ValueError, match="num_kv_heads"):
        Architecture.from_hf_config({**small, "multi_query": False, "num_kv_heads": 2})
    with pytest.raises(TypeError, match="parallel_attn"):
        Architecture.from_hf_config({**small, "parallel_attn": "true"})
    with pytest.raises(ValueError, match="norms_per_layer"):
        arch.with_sizes(a, norms_per_layer=3)
