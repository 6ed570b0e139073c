"""course_lib.generation (lesson 07): shapes and parameter counts checked by
hand, FLOPs checked against FlopCounterMode, bounds and the calculator's core
against hand arithmetic or a brute-force loop, the timing helpers on a tiny
model, and the UI layer's calculator and charts."""

import math

import pytest
import torch

from course_lib import arch, generation, measure, models
from course_lib.ui import calculators, charts
from course_lib.ui.widgets import calc_outputs

H100_BW, H100_PEAK, H100_MEM = 3.35e12, 989e12, 80e9  # NVIDIA H100 SXM datasheet, dense bf16
L4_BW = 0.30e12


# ---------------------------------------------------------------- shapes


def llama_count(vocab, hidden, layers, heads, kv_heads, intermediate):
    """Parameters of a Llama config written out term by term (untied embeddings, no biases)."""
    head_dim = hidden // heads
    embed, head = vocab * hidden, vocab * hidden
    attn = hidden * hidden + 2 * hidden * kv_heads * head_dim + hidden * hidden  # q, k, v, o
    mlp = 3 * hidden * intermediate  # gate, up, down
    norms = 2 * hidden
    return embed + layers * (attn + mlp + norms) + hidden + head


L3_PARAMS = 8_030_261_248
L3_EMBED = 128256 * 4096  # the input embedding table: looked up, one row per token
L3_MATMUL = L3_PARAMS - L3_EMBED - 32 * 2 * 4096 - 4096  # everything but the embedding and the norms
L3_READ = L3_PARAMS - L3_EMBED  # weights a decode step must read


def test_llama_parameter_counts_by_hand():
    # the counts transformers' num_parameters() gives for the public configs
    assert llama_count(32000, 5120, 40, 40, 40, 13824) == 13_015_864_320
    assert llama_count(128256, 4096, 32, 32, 8, 14336) == L3_PARAMS
    assert arch.preset("llama-2-13b").n_params == 13_015_864_320
    assert arch.preset("llama-3-8b").n_params == L3_PARAMS
    assert arch.preset("llama-3-70b").n_params == llama_count(128256, 8192, 80, 64, 8, 28672) == 70_553_706_496
    assert arch.preset("llama-3.1-405b").n_params == llama_count(128256, 16384, 126, 128, 8, 53248)


def test_matmul_and_lookup_params_by_hand():
    l3 = arch.preset("llama-3-8b")
    assert l3.matmul_params == L3_MATMUL and l3.lookup_params == L3_EMBED
    # the matmul weights cost 2 FLOPs each per token: Architecture.forward_flops at one token, less attention
    # (transformers 5 counts no rotary-frequency matmul)
    assert 2 * l3.matmul_params + 32 * 4 * 4096 == l3.forward_flops(batch=1, seq_len=1)
    # Mixtral: a token runs 2 of the 8 experts (Jiang et al. 2024: about 13B active of 47B)
    mx = arch.preset("mixtral-8x7b")
    per_layer = 4096 * (2 * 4096 + 2 * 1024) + 2 * 3 * 4096 * 14336 + 4096 * 8
    assert mx.matmul_params == 32 * per_layer + 32000 * 4096
    assert generation.experts_touched(mx, 1) == pytest.approx(2)
    assert generation.experts_touched(mx, 8) == pytest.approx(8 * (1 - 0.75**8))


def test_tinygpt_through_the_resolver():
    gpt = models.TinyGPT(vocab_size=64, d_model=64, n_heads=4, n_layers=2, max_seq_len=32)
    s = arch.resolve(gpt)
    # per block: qkv 64x192, proj 64x64, MLP 64x256 and 256x64; head 64x64
    assert s.matmul_params == 2 * (64 * 192 + 64 * 64 + 2 * 64 * 256) + 64 * 64 == 102_400
    assert s.n_params == models.count_params(gpt)
    assert generation.decode_flops(gpt, 0) == 2 * 102_400 + 2 * 4 * 64 * 1
    with pytest.raises(TypeError, match="model"):
        generation.decode_flops(torch.nn.Linear(2, 2), 0)
    with pytest.raises(ValueError, match="model"):
        generation.decode_flops("GPT-5", 0)


def test_formats_by_hand():
    assert generation.format_bytes("bf16") == 2 and generation.format_bytes("fp8") == 1
    assert generation.format_bytes("int4") == 0.5 + 2 / 128  # a 16-bit scale per group of 128
    # int4 weights: the layers' projections in 4 bits + scales, embeddings, LM head and norms in 16 bits
    proj = 32 * (4096 * (2 * 4096 + 2 * 1024) + 3 * 4096 * 14336)
    assert generation.weight_bytes("llama-3-8b", "int4") == math.ceil(proj * (0.5 + 2 / 128) + (L3_PARAMS - proj) * 2)
    assert generation.weight_bytes("llama-3-8b", "bf16") == 2 * L3_PARAMS
    assert generation.weight_bytes("llama-3-8b", "bf16", read=True) == 2 * L3_READ
    # the compute peak follows the format that computes
    assert generation.compute_format("int8", "H100 SXM") == "bf16"  # weight-only (W8A16)
    assert generation.compute_format("int8", "H100 SXM", "int8") == "int8"  # W8A8
    assert generation.compute_format("fp8", "H100 SXM") == "fp8" and generation.compute_format("fp8", "A100 80GB SXM") == "bf16"
    assert generation.compute_format("int4", "L4") == "bf16"
    with pytest.raises(ValueError, match="compute"):
        generation.compute_format("int4", "H100 SXM", "int8")


def test_kv_bytes_by_hand():
    assert generation.kv_bytes("llama-3-8b", 1) == 2 * 32 * 8 * 128 * 2 == 131_072
    # How to Scale Your Model: Llama-2-13B at 8,192 tokens in bf16 is about 6.7 GB per sequence
    assert generation.kv_bytes("llama-2-13b", 8192) == 2 * 40 * 40 * 128 * 8192 * 2 == 6_710_886_400
    assert generation.kv_bytes("llama-2-13b", 8192, batch=4, bytes_per_value=1) == 2 * 6_710_886_400


# ---------------------------------------------------------------- FLOPs, counted


@pytest.fixture(scope="module")
def gpt():
    return models.TinyGPT(vocab_size=64, d_model=64, n_heads=4, n_layers=2, max_seq_len=64).eval()


def test_decode_flops_hand_count(gpt):
    # 3 sequences after 9 cached positions: 3 x (2 x 102,400 + 4 x 2 layers x 64 x 10 keys)
    assert generation.decode_flops(gpt, 9, 3) == 3 * (2 * 102_400 + 4 * 2 * 64 * 10) == 629_760
    assert generation.forward_flops(gpt, 10, 3) == 3 * (2 * 102_400 * 10 + 4 * 2 * 64 * 10 * 10)


@pytest.mark.parametrize("past,batch", [(0, 1), (7, 2), (30, 3)])
def test_decode_step_flops_match_flop_counter(gpt, past, batch):
    cache = generation.prefilled_cache(gpt, batch, past)
    step = generation.DecodeStep(gpt, cache)
    token = torch.zeros(batch, 1, dtype=torch.long)
    assert measure.count_flops(step, token) == generation.decode_flops(gpt, past, batch)
    assert cache.seq_len == past  # DecodeStep put the cache back
    ids = torch.zeros(batch, past + 1, dtype=torch.long)
    assert measure.count_flops(gpt, ids) == generation.forward_flops(gpt, past + 1, batch)


def test_decode_step_gives_the_same_logits_as_a_full_forward(gpt):
    ids = torch.randint(0, 64, (2, 12), generator=torch.Generator().manual_seed(0))
    cache = gpt.new_cache(2)
    with torch.no_grad():
        gpt(ids[:, :11], cache=cache)
        step = generation.DecodeStep(gpt, cache)(ids[:, 11:])
        full = gpt(ids)
    torch.testing.assert_close(step[:, -1], full[:, -1], atol=1e-5, rtol=1e-5)
    assert cache.seq_len == 11


def test_intensities():
    l3 = arch.preset("llama-3-8b")
    # decode at batch 1: 2 FLOPs per matmul weight (plus attention) over 2 bytes per weight read (plus KV)
    want = (2 * L3_MATMUL + 4 * 32 * 4096 * 257) / (2 * L3_READ + 131_072 * 257)
    assert generation.decode_intensity(l3, 256) == pytest.approx(want, rel=1e-12)
    assert generation.decode_intensity(l3, 256) < 1.1  # about 1 FLOP per byte at batch 1
    pre = generation.prefill_intensity(l3, 256)
    assert pre == pytest.approx((2 * L3_MATMUL * 256 + 4 * 32 * 4096 * 256**2 + 128 * 256) / (2 * L3_READ + 131_072 * 256))
    assert pre > 200 * generation.decode_intensity(l3, 256)


# ---------------------------------------------------------------- bounds


def test_decode_lower_bound_by_hand():
    assert generation.decode_lower_bound(16e9, 1e8, 4, H100_BW) == pytest.approx((16e9 + 4e8) / 3.35e12)
    with pytest.raises(ValueError, match="batch"):
        generation.decode_lower_bound(16e9, 1e8, 0, H100_BW)
    with pytest.raises(ValueError, match="bandwidth"):
        generation.decode_lower_bound(16e9, 1e8, 1, -1.0)


def test_decode_step_bound_is_the_roofline():
    memory = (L3_READ * 2 + 131_072 * 1001) / H100_BW
    assert generation.decode_step_bound("llama-3-8b", "H100 SXM", 1000) == pytest.approx(memory, rel=1e-12)
    # at a large batch with a short context the FLOPs take longer than the reads
    flops = 1024 * (2 * L3_MATMUL + 4 * 32 * 4096 * 1) / H100_PEAK
    assert generation.decode_step_bound("llama-3-8b", "H100 SXM", 0, 1024) == pytest.approx(flops, rel=1e-12)


def test_decode_compute_bound_batch_against_brute_force():
    for past in (0, 100, 300):
        f = 2 * L3_MATMUL + 4 * 32 * 4096 * (past + 1)
        k = 131_072 * (past + 1)
        b = 1
        while b * f / H100_PEAK < (2 * L3_READ + b * k) / H100_BW:
            b += 1
        assert generation.decode_compute_bound_batch("llama-3-8b", "H100 SXM", past) == b
    assert generation.decode_compute_bound_batch("llama-3-8b", "H100 SXM", 1000) is None
    # KV reads ignored, the answer is near the ridge point 989 / 3.35 = 295
    assert 270 < generation.decode_compute_bound_batch("llama-3-8b", "H100 SXM", 0) < 330


def test_request_latency_and_max_batch():
    assert generation.request_latency(0.1, 0.02, 10) == pytest.approx(0.1 + 9 * 0.02)
    assert generation.request_latency(0.1, 0.02, 1) == 0.1
    with pytest.raises(ValueError, match="n_output"):
        generation.request_latency(0.1, 0.02, 0)
    assert generation.max_batch_that_fits(80e9, 16e9, 1e9) == 64
    assert generation.max_batch_that_fits(24e9, 26e9, 1e9) == 0


def test_estimate_by_hand():
    e = generation.estimate("llama-3-8b", accelerator="H100 SXM", batch=2, prompt_len=1000, output_len=250)
    # prefill: 2 x 1000 tokens, causal attention (1000 * 1001 / 2 query-key pairs per layer), compute-bound
    flops = 2 * (2 * L3_MATMUL * 1000 + 4 * 4096 * 32 * 1000 * 1001 // 2)
    assert e.ttft == pytest.approx(max(flops / H100_PEAK, (2 * L3_READ + 2 * 131_072 * 1000) / H100_BW), rel=1e-12)
    assert e.prefill_bound == "compute" and e.decode_bound == "memory"
    # TPOT: the mean of the 249 decode steps, each memory-bound
    steps = [(2 * L3_READ + 2 * 131_072 * (past + 1)) / H100_BW for past in range(1000, 1249)]
    assert e.tpot == pytest.approx(sum(steps) / len(steps), rel=1e-9)
    assert e.decode_tokens_per_s == pytest.approx(2 / e.tpot)
    assert e.latency == pytest.approx(e.ttft + 249 * e.tpot)
    assert e.tokens_per_s == pytest.approx(2 * 1250 / e.latency)
    assert e.kv_bytes == 2 * 131_072 * 1250
    assert e.max_batch == math.floor((80e9 - 2 * L3_PARAMS) / (131_072 * 1250))
    assert e.max_context == math.floor((80e9 - 2 * L3_PARAMS) / (2 * 131_072))
    assert e.fits and e.ttft_expected > e.ttft and e.tpot_expected > e.tpot
    assert e.allreduce_per_token == 0


def test_estimate_tensor_parallel_by_hand():
    # Llama-3-70B in fp8 on 2 H100s: weights and KV split, bandwidth summed, two all-reduces per layer
    a = arch.preset("llama-3-70b")
    e = generation.estimate(a, accelerator="H100 SXM", n_gpus=2, weight_format="fp8", prompt_len=1000, output_len=2)
    # projections in 1 byte, the LM head and norms in 2; the input embedding is looked up
    norms = 80 * 2 * 8192 + 8192
    read_bytes = (a.n_params - 2 * 128256 * 8192 - norms) * 1 + (128256 * 8192 + norms) * 2
    kv = 2 * 80 * 8 * 128 * 1001 * 1  # fp8 KV cache
    allreduce = 2 * 80 * (2 * (2 - 1) / 2 * 8192 * 2 / 450e9)
    memory = (read_bytes + kv) / (2 * H100_BW)
    compute = (2 * a.matmul_params + 4 * 8192 * 80 * 1001) / (2 * 1979e12) + allreduce
    assert e.allreduce_per_token == pytest.approx(allreduce, rel=1e-12)
    assert e.tpot == pytest.approx(max(memory, compute), rel=1e-9)
    assert e.weight_bytes == math.ceil(generation.weight_bytes(a, "fp8") / 2)
    # a 70B model in bf16 does not fit one H100 but fits two only in fp8 with room for KV
    assert not generation.estimate(a, prompt_len=1000, output_len=250).fits
    assert generation.estimate(a, n_gpus=2, weight_format="fp8", prompt_len=1000, output_len=250).fits
    # 405B: 8 H100s in fp8; KV heads (8) split 8 ways; 16 GPUs replicate them (each holds one of 8 heads)
    big = generation.estimate("llama-3.1-405b", n_gpus=16, weight_format="fp8", prompt_len=1000, output_len=250)
    assert big.kv_bytes == math.ceil(generation.kv_bytes("llama-3.1-405b", 1250, 1, 1) / 8)


def test_estimate_rejects_bad_input():
    with pytest.raises(ValueError, match="model"):
        generation.estimate(model="GPT-9", prompt_len=10, output_len=10)
    with pytest.raises(ValueError, match="weight_format"):
        generation.estimate("llama-3-8b", weight_format="fp32", prompt_len=10, output_len=10)
    with pytest.raises(ValueError, match="kv_format"):
        generation.estimate("llama-3-8b", kv_format="fp16", prompt_len=10, output_len=10)
    with pytest.raises(ValueError, match="n_gpus"):
        generation.estimate("llama-3-8b", n_gpus=0, prompt_len=10, output_len=10)
    with pytest.raises(ValueError, match="fp8"):
        generation.estimate("llama-3-8b", accelerator="A100 80GB SXM", weight_format="fp8", compute="fp8",
                            prompt_len=10, output_len=10)
    with pytest.raises(ValueError, match="batch"):
        generation.estimate("llama-3-8b", batch=0, prompt_len=10, output_len=10)
    # 26 GB of weights, 24 GB of memory
    assert not generation.estimate("llama-2-13b", accelerator="L4", prompt_len=1000, output_len=250).fits


def test_batch_sweep_rows():
    table = generation.batch_sweep("llama-3-8b", accelerator="L4", prompt_len=1000, output_len=250)
    e = generation.estimate("llama-3-8b", accelerator="L4", prompt_len=1000, output_len=250)
    assert list(table["batch"]) == [2**k for k in range(int(math.log2(e.max_batch)) + 1)]
    assert table["fits"].all()
    assert (table["tokens/s"].diff().dropna() > 0).all()


# ---------------------------------------------------------------- timing helpers


def test_timing_helpers_return_timings(gpt):
    for t in (generation.time_prefill(gpt, 8, 2, warmup=0, repeats=2),
              generation.time_decode_step(gpt, 8, 2, warmup=0, repeats=2),
              generation.time_decode_step(gpt, 8, 2, use_cache=False, warmup=0, repeats=2),
              generation.time_generate(gpt, 4, 3, warmup=0, repeats=2)):
        assert len(t.samples) == 2 and all(s > 0 for s in t.samples)
    with pytest.raises(TypeError, match="use_cache"):
        generation.time_decode_step(gpt, 8, use_cache="yes")
    with pytest.raises(TypeError, match="TinyGPT"):
        generation.time_prefill(models.MLP(), 8)


# ---------------------------------------------------------------- UI


def test_calculator_renders_and_updates():
    calc = calculators.generation_calculator(chart=False)
    shown = calc_outputs(calc.result_html.value)
    assert {"ttft", "tpot", "tokens_per_s", "latency", "weights", "kv", "max_batch", "max_context", "fits"} <= set(shown)
    assert shown["weights"] == "16.06 GB" and shown["fits"] == "fits"
    calc.controls["model"].value = "llama-2-13b"
    calc.controls["accelerator"].value = "L4"
    assert calc_outputs(calc.result_html.value)["fits"] == "does not fit"
    calc.controls["n_gpus"].value = 2
    assert calc_outputs(calc.result_html.value)["fits"] == "fits"
    calc.controls["accelerator"].value = "V100 SXM2"
    calc.controls["weight_format"].value = "int8"
    assert not calc.last_error  # weight-only int8 computes in 16 bits: no int8 tensor cores needed


def test_charts_build():
    import pandas as pd

    e = generation.estimate("llama-3-8b", prompt_len=1000, output_len=250)
    spec = calculators.estimate_chart(e).to_dict()
    assert spec["hconcat"]
    t = pd.DataFrame({"prompt": [1, 2], "measured ms": [1.0, 2.0], "p10 ms": [0.9, 1.9], "p90 ms": [1.1, 2.1], "predicted ms": [0.5, 1.0]})
    assert charts.ttft_chart(t).to_dict()["layer"]
    t = pd.DataFrame({"context": [1, 2], "cache": ["with cache", "without cache"], "ms": [1.0, 2.0]})
    assert charts.tpot_chart(t).to_dict()["mark"]["type"] == "line"
    t = pd.DataFrame({"batch": [1, 2], "phase": ["decode", "decode"], "tokens/s": [1.0, 2.0]})
    assert charts.throughput_chart(t).to_dict()["mark"]["type"] == "line"
    t["predicted tokens/s"] = [2.0, 4.0]
    assert len(charts.throughput_chart(t).to_dict()["layer"]) == 2


@pytest.mark.parametrize("key", ["mixtral-8x7b", "qwen3-30b-a3b", "deepseek-v3", "llama-3.1-8b", "gemma-3-27b"])
def test_a_decode_step_reads_the_active_parameters_but_the_looked_up_table(key):
    """In 16 bits a decode step reads 2 bytes per active parameter (Architecture's count, checked against
    transformers in tests/unit/test_arch_hf.py) less the looked-up embedding table: the expert sizes of 2026
    families (moe_intermediate_size, shared experts, dense first layers, latent attention) included."""
    a = arch.preset(key)
    assert generation.weight_bytes(key, "bf16", read=True) == 2 * (a.n_active_params - a.lookup_params)
    assert generation.weight_bytes(key, "bf16") == 2 * a.n_params
    e = generation.estimate(key, accelerator="H200 SXM", n_gpus=8, weight_format="fp8", prompt_len=1000, output_len=100)
    assert 0 < e.tpot <= e.tpot_expected
