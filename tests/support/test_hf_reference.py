"""tests/support/hf_reference.py, the transformers 5 reference the architecture tests
compare course_lib with, checked on its own: against hand counts and the
publishers' parameter counts (course_lib/presets/published_sizes.json) for the
twelve 2026 presets (built on the meta device), and against hand-computed
cache bytes for tiny models of each kind of layer. Every family of
``hf_reference.TINY_CONFIGS`` runs every measurement (a smoke test).
Nothing here imports course_lib.
"""

import json
import os
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

import hf_reference as R  # noqa: E402

PRESET_DIR = Path(__file__).resolve().parents[2] / "course_lib" / "presets"
PRESETS_2026 = ["llama-3.1-8b", "llama-3.1-70b", "llama-3.1-405b", "qwen3-8b", "qwen3-30b-a3b", "gemma-3-4b",
                "gemma-3-27b", "gpt-oss-20b", "gpt-oss-120b", "deepseek-v3", "smollm3-3b", "olmo-2-7b"]
PUBLISHED = json.loads((PRESET_DIR / "published_sizes.json").read_text())["models"]


def preset(key):
    return json.loads((PRESET_DIR / f"{key}.json").read_text())


def test_transformers_5_with_the_pinned_torch():
    assert int(transformers.__version__.split(".")[0]) == 5
    assert tuple(int(x) for x in torch.__version__.split("+")[0].split(".")[:3]) <= (2, 13, 0)


@pytest.fixture(scope="module")
def meta_counts():
    """(total, active, input embedding) of every 2026 preset, built once on the meta device."""
    counts = {}
    for key in PRESETS_2026:
        model = R.build(preset(key), meta=True)
        total, active = R.param_counts(model, model.config)
        counts[key] = (total, active, model.get_input_embeddings().weight.numel())
    return counts


def test_every_preset_has_a_source_and_a_published_size():
    for key in PRESETS_2026:
        config = preset(key)
        assert config["_source"].startswith("https://huggingface.co/") and config["_source"].endswith("/config.json")
        assert key in PUBLISHED and PUBLISHED[key]["source"] and PUBLISHED[key]["quote"]


def _llama_by_hand(v, h, i, layers, heads, kv, head_dim, tied=False, qk_norm=False):
    attention = h * heads * head_dim * 2 + 2 * h * kv * head_dim + (2 * head_dim if qk_norm else 0)
    per_layer = attention + 3 * h * i + 2 * h
    return v * h * (1 if tied else 2) + layers * per_layer + h


def test_dense_presets_match_hand_counts(meta_counts):
    assert meta_counts["llama-3.1-8b"][:2] == (8_030_261_248,) * 2
    assert meta_counts["llama-3.1-8b"][0] == _llama_by_hand(128256, 4096, 14336, 32, 32, 8, 128)
    assert meta_counts["llama-3.1-70b"][0] == _llama_by_hand(128256, 8192, 28672, 80, 64, 8, 128)
    assert meta_counts["llama-3.1-405b"][0] == _llama_by_hand(128256, 16384, 53248, 126, 128, 8, 128)
    assert meta_counts["qwen3-8b"][0] == _llama_by_hand(151936, 4096, 12288, 36, 32, 8, 128, qk_norm=True)
    assert meta_counts["smollm3-3b"][0] == _llama_by_hand(128256, 2048, 11008, 36, 16, 4, 128, tied=True)


def test_moe_presets_match_hand_counts(meta_counts):
    # Qwen3-30B-A3B: 48 layers of attention (q/k norms) + a router over 128 experts of width 768, 8 used
    h, v, layers = 2048, 151936, 48
    attention = h * 32 * 128 * 2 + 2 * h * 4 * 128 + 2 * 128
    expert = 3 * h * 768
    shared = 2 * v * h + h + layers * (attention + 2 * h + 128 * h)
    assert meta_counts["qwen3-30b-a3b"][:2] == (shared + layers * 128 * expert, shared + layers * 8 * expert)
    # DeepSeek-V3: MLA, 3 dense layers then 58 MoE layers (256 routed experts, 8 used, 1 shared expert)
    h, heads = 7168, 128
    mla = (h * 1536 + 1536 + 1536 * heads * 192                      # q_a, q_a_norm, q_b (nope 128 + rope 64)
           + h * (512 + 64) + 512 + 512 * heads * (128 + 128)        # kv_a (latent + rope key), kv_a_norm, kv_b
           + heads * 128 * h)                                        # o_proj
    expert = 3 * h * 2048
    router = 256 * h                                                 # gate weight (e_score_correction_bias: a buffer)
    dense_layer = mla + 3 * h * 18432 + 2 * h
    moe_common = mla + router + expert + 2 * h                       # + the shared expert
    base = 2 * 129280 * h + h + 3 * dense_layer + 58 * moe_common
    assert meta_counts["deepseek-v3"][:2] == (base + 58 * 256 * expert, base + 58 * 8 * expert)


def _within(count, figure):
    value, step = figure["value"], figure["step"]
    if figure["rounding"] == "down":
        return value <= count < value + step
    return abs(count - value) <= step / 2


@pytest.mark.parametrize("key", PRESETS_2026)
def test_meta_counts_agree_with_the_published_sizes(key, meta_counts):
    total, active, embedding = meta_counts[key]
    row = PUBLISHED[key]
    checked = 0
    if "total" in row:
        assert _within(total, row["total"]), (total, row["total"])
        checked += 1
    if "active" in row:
        assert active < total
        counted = active if row["active_counts_input_embedding"] else active - embedding
        assert _within(counted, row["active"]), (counted, row["active"])
        checked += 1
    if "non_embedding" in row:  # less the input embedding and the LM head (untied in these models)
        assert _within(total - 2 * embedding if key.startswith("qwen3") else total - embedding,
                       row["non_embedding"]), (total, embedding, row["non_embedding"])
        checked += 1
    if "embedding" in row:  # Gemma 3: the report's embedding counts 0.5 % more than the text model's (see its note)
        assert abs(embedding - row["embedding"]["value"]) <= 0.01 * row["embedding"]["value"]
    assert checked


def test_wrapped_config_measures_its_language_model():
    wrapped = preset("gemma-3-27b")
    assert wrapped["model_type"] == "gemma3" and "text_config" in wrapped
    text = R.build(wrapped, meta=True)
    assert type(text).__name__ == "Gemma3ForCausalLM"
    assert text.config.layer_types.count("full_attention") == 62 // 6  # 5 sliding layers to 1 full
    whole = R.build(wrapped, meta=True, text_only=False)
    vision = sum(p.numel() for p in whole.model.vision_tower.parameters())
    assert abs(vision - 417e6) <= 0.5e6  # Gemma 3 report, Table 1: vision encoder 417M


# ------------------------------------------------------------ tiny models

F32 = 4
BATCH, PROMPT, NEW = 2, 12, 4
HELD = PROMPT + NEW - 1  # the last token generated is never fed back


@pytest.fixture(scope="module")
def caches():
    return {}


def cache_of(family, caches):
    if family not in caches:
        caches[family] = R.generate_cache(R.TINY_CONFIGS[family], BATCH, PROMPT, NEW)
    return caches[family]


# A smoke test of the reference itself on a few families (dense, soft-capped eager, sinks, MoE):
# tests/unit/test_arch_hf.py runs every measurement on every family against the course's predictions, so
# repeating all of them here only costs time.
SMOKE = ["llama", "gemma2", "gpt_oss", "qwen3_moe"]


@pytest.mark.parametrize("family", SMOKE)
def test_every_measurement_runs(family, caches):
    config = R.TINY_CONFIGS[family]
    total, active = R.meta_param_count(config)
    model = R.build(config)
    assert (total, active) == R.param_counts(model, model.config)
    assert 0 < active <= total
    assert (active < total) == bool(R.experts_blocks(model))
    cache = cache_of(family, caches)
    assert cache.get_seq_length() == HELD
    assert R.cache_tensor_bytes(cache)["state"] > 0
    assert R.forward_flops(config, BATCH, 8) > 0
    # the attention transformers runs for the family: SDPA, or eager where it refuses SDPA (soft-capping, sinks)
    assert R.saved_activation_bytes(config, BATCH, 8) > 0


# not qwen3_next: one layer in four attends (the rest are linear attention) and its routed experts save
# a varying number of rows from run to run, which outweighs that layer's 8 x 8 scores
@pytest.mark.parametrize("family", ["llama", "gemma3_text", "deepseek_v3", "qwen3"])
def test_eager_attention_saves_the_scores(family):
    config = R.TINY_CONFIGS[family]
    eager = R.saved_activation_bytes(config, BATCH, 8, attention="eager")
    sdpa = R.saved_activation_bytes(config, BATCH, 8, attention="sdpa")
    if family == "deepseek_v3":
        # MLA's query/key head (nope 16 + rope 8) is wider than its value head (16): on the CPU, SDPA then runs
        # its math path (bmm, softmax), which saves the probabilities as eager attention does (up to its routed
        # experts, which save a few rows more or fewer from one build to the next)
        assert abs(eager - sdpa) <= 0.01 * sdpa
    else:  # eager attention keeps the (B, heads, T, T) probabilities, SDPA's flash kernel does not
        assert eager > sdpa


def test_cache_bytes_by_hand(caches):
    def kv(layers, kv_heads, head_dim, tokens):
        return layers * 2 * BATCH * kv_heads * tokens * head_dim * F32

    held = {f: R.cache_tensor_bytes(cache_of(f, caches)) for f in
            ("llama", "gemma2", "gemma3_text", "llama4_text", "deepseek_v3", "qwen3_next", "falcon")}
    assert held["llama"] == {"state": kv(2, 2, 16, HELD), "counters": 0}
    # a sliding-window layer (window 8) shows the last 7 positions, a view into the storage of its last
    # concatenation: the 7 kept + the 1 new = sliding_window positions held in memory; plus one int64 counter
    assert held["gemma2"] == {"state": kv(1, 2, 16, HELD) + kv(1, 2, 16, 8), "counters": 8}
    assert held["gemma3_text"] == {"state": kv(1, 2, 16, HELD) + kv(5, 2, 16, 8), "counters": 5 * 8}
    # Llama 4's chunked attention (chunk 8) is cached like a sliding window of 8 on its 3 chunked layers
    assert held["llama4_text"] == {"state": kv(1, 2, 16, HELD) + kv(3, 2, 16, 8), "counters": 3 * 8}
    # MLA: per layer and token, the latent (kv_lora_rank 16) and the shared rope key (8), not per-head K and V
    assert held["deepseek_v3"] == {"state": 3 * BATCH * HELD * (16 + 8) * F32, "counters": 0}
    # Falcon-7B style: multi-query, one K/V head of 16
    assert held["falcon"]["state"] == kv(2, 1, 16, HELD)
    # Qwen3-Next: 3 linear-attention layers hold a conv state (conv_dim = 2 * 2 * 16 + 4 * 16 = 128, kernel 4)
    # and a recurrent state (4 value heads of 16 x 16), whatever the length; 1 full layer holds K and V
    linear = BATCH * 128 * 4 * F32 + BATCH * 4 * 16 * 16 * F32
    assert held["qwen3_next"] == {"state": 3 * linear + kv(1, 2, 16, HELD), "counters": 3 * 8}


@pytest.mark.parametrize("family", ["qwen3_moe", "gpt_oss", "deepseek_v3", "qwen3_next"])
def test_grouped_expert_matmuls_counted_like_experts_one_by_one(family):
    config = R.TINY_CONFIGS[family]
    assert R.forward_flops(config, BATCH, 8) == R.forward_flops(config, BATCH, 8, experts="eager")


def test_dense_forward_flops_by_hand():
    # Llama-style, SDPA: 2 (BT) x every matmul weight, plus attention's QK^T and AV (4 B heads T^2 head_dim)
    b, t, h, i, v, heads, kv, hd = BATCH, 8, 64, 128, R.TINY_VOCAB, 4, 2, 16
    weights = 2 * (h * heads * hd * 2 + 2 * h * kv * hd + 3 * h * i) + v * h
    assert R.forward_flops(R.TINY_CONFIGS["llama"], b, t) == 2 * b * t * weights + 2 * 4 * b * heads * t * t * hd
