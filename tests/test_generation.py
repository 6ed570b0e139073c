"""course_lib.generation (lesson 07): shapes and parameter counts checked by
hand, FLOPs checked against FlopCounterMode, bounds and the calculator's core
against hand arithmetic or a brute-force loop, the timing helpers on a tiny
model, and the UI layer's calculator and charts."""

import math

import pytest
import torch

from course_lib import generation, measure, models
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


def test_llama_parameter_counts_by_hand():
    # the counts transformers' num_parameters() gives for the public configs
    assert llama_count(32000, 5120, 40, 40, 40, 13824) == 13_015_864_320
    assert llama_count(128256, 4096, 32, 32, 8, 14336) == 8_030_261_248
    assert generation.MODELS["Llama-2-13B"].n_params == 13_015_864_320
    assert generation.MODELS["Llama-3-8B"].n_params == 8_030_261_248
    assert generation.MODELS["Llama-2-7B"].n_params == llama_count(32000, 4096, 32, 32, 32, 11008) == 6_738_415_616
    assert generation.MODELS["Llama-2-70B"].n_params == llama_count(32000, 8192, 80, 64, 8, 28672)
    assert generation.MODELS["Llama-3-70B"].n_params == llama_count(128256, 8192, 80, 64, 8, 28672)


def test_shapes_have_sources_and_gqa_heads():
    for m in generation.MODELS.values():
        assert m.source and m.head_dim == 128
        assert m.matmul_params < m.n_params
    l3 = generation.MODELS["Llama-3-8B"]
    assert (l3.n_layers, l3.n_heads, l3.n_kv_heads) == (32, 32, 8)
    # matmul weights: everything but the input embedding and the norms
    assert l3.matmul_params == 8_030_261_248 - 128256 * 4096 - 32 * 2 * 4096 - 4096


def test_tinygpt_shape():
    gpt = models.TinyGPT(vocab_size=64, d_model=64, n_heads=4, n_layers=2, max_seq_len=32)
    s = generation.tinygpt_shape(gpt)
    # per block: qkv 64x192, proj 64x64, MLP 64x256 and 256x64; head 64x64
    assert s.matmul_params == 2 * (64 * 192 + 64 * 64 + 2 * 64 * 256) + 64 * 64 == 102_400
    assert s.n_params == models.count_params(gpt)
    assert (s.n_layers, s.n_heads, s.n_kv_heads, s.head_dim) == (2, 4, 4, 16)
    with pytest.raises(TypeError, match="model"):
        generation.tinygpt_shape(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="model"):
        generation.model_shape("GPT-5")


def test_kv_bytes_by_hand():
    assert generation.kv_bytes("Llama-3-8B", 1) == 2 * 32 * 8 * 128 * 2 == 131_072
    # How to Scale Your Model: Llama-2-13B at 8,192 tokens in bf16 is about 6.7 GB per sequence
    assert generation.kv_bytes("Llama-2-13B", 8192) == 2 * 40 * 40 * 128 * 8192 * 2 == 6_710_886_400
    assert generation.kv_bytes("Llama-2-13B", 8192, batch=4, bytes_per_value=1) == 2 * 6_710_886_400


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
    l3 = generation.MODELS["Llama-3-8B"]
    # decode at batch 1: 2 FLOPs per matmul weight (plus attention) over 2 bytes per parameter (plus KV)
    want = (2 * l3.matmul_params + 4 * 32 * 4096 * 257) / (2 * l3.n_params + 131_072 * 257)
    assert generation.decode_intensity(l3, 256) == pytest.approx(want, rel=1e-12)
    assert generation.decode_intensity(l3, 256) < 1
    pre = generation.prefill_intensity(l3, 256)
    assert pre == pytest.approx((2 * l3.matmul_params * 256 + 4 * 32 * 4096 * 256**2) / (2 * l3.n_params + 131_072 * 256))
    assert pre > 200 * generation.decode_intensity(l3, 256)


# ---------------------------------------------------------------- bounds


def test_decode_lower_bound_by_hand():
    assert generation.decode_lower_bound(16e9, 1e8, 4, H100_BW) == pytest.approx((16e9 + 4e8) / 3.35e12)
    with pytest.raises(ValueError, match="batch"):
        generation.decode_lower_bound(16e9, 1e8, 0, H100_BW)
    with pytest.raises(ValueError, match="bandwidth"):
        generation.decode_lower_bound(16e9, 1e8, 1, -1.0)


def test_decode_step_bound_is_the_roofline():
    l3 = generation.MODELS["Llama-3-8B"]
    memory = (l3.n_params * 2 + 131_072 * 1001) / H100_BW
    assert generation.decode_step_bound("Llama-3-8B", "H100 SXM", 1000) == pytest.approx(memory, rel=1e-12)
    # at a large batch with a short context the FLOPs take longer than the reads
    flops = 1024 * (2 * l3.matmul_params + 4 * 32 * 4096 * 1) / H100_PEAK
    assert generation.decode_step_bound("Llama-3-8B", "H100 SXM", 0, 1024) == pytest.approx(flops, rel=1e-12)


def test_decode_compute_bound_batch_against_brute_force():
    l3 = generation.MODELS["Llama-3-8B"]
    for past in (0, 100, 300):
        f = 2 * l3.matmul_params + 4 * 32 * 4096 * (past + 1)
        k = 131_072 * (past + 1)
        b = 1
        while b * f / H100_PEAK < (2 * l3.n_params + b * k) / H100_BW:
            b += 1
        assert generation.decode_compute_bound_batch(l3, "H100 SXM", past) == b
    assert generation.decode_compute_bound_batch(l3, "H100 SXM", 1000) is None
    # KV reads ignored, the answer is near the ridge point 989 / 3.35 = 295
    assert 290 < generation.decode_compute_bound_batch(l3, "H100 SXM", 0) < 330


def test_request_latency_and_max_batch():
    assert generation.request_latency(0.1, 0.02, 10) == pytest.approx(0.1 + 9 * 0.02)
    assert generation.request_latency(0.1, 0.02, 1) == 0.1
    with pytest.raises(ValueError, match="n_output"):
        generation.request_latency(0.1, 0.02, 0)
    assert generation.max_batch_that_fits(80e9, 16e9, 1e9) == 64
    assert generation.max_batch_that_fits(24e9, 26e9, 1e9) == 0


def test_estimate_by_hand():
    l3 = generation.MODELS["Llama-3-8B"]
    e = generation.estimate("Llama-3-8B", "H100 SXM", "bf16", 2, 1000, 250)
    # prefill: 2 x 1000 tokens, compute-bound
    flops = 2 * (2 * l3.matmul_params * 1000 + 4 * 32 * 4096 * 1000**2)
    assert e.ttft == pytest.approx(max(flops / H100_PEAK, (2 * l3.n_params + 2 * 131_072 * 1000) / H100_BW), rel=1e-12)
    assert e.prefill_bound == "compute" and e.decode_bound == "memory"
    # TPOT: the mean of the 249 decode steps, each memory-bound
    steps = [(2 * l3.n_params + 2 * 131_072 * (past + 1)) / H100_BW for past in range(1000, 1249)]
    assert e.tpot == pytest.approx(sum(steps) / len(steps), rel=1e-9)
    assert e.tokens_per_s == pytest.approx(2 / e.tpot)
    assert e.latency == pytest.approx(e.ttft + 249 * e.tpot)
    assert e.kv_bytes == 2 * 131_072 * 1250
    assert e.max_batch == math.floor((80e9 - 2 * l3.n_params) / (131_072 * 1250))
    assert e.fits


def test_estimate_rejects_bad_input():
    with pytest.raises(ValueError, match="model"):
        generation.estimate(model="GPT-9")
    with pytest.raises(ValueError, match="precision"):
        generation.estimate(precision="fp16")
    with pytest.raises(ValueError, match="fp8"):
        generation.estimate(gpu="A100 80GB SXM", precision="fp8")
    with pytest.raises(ValueError, match="batch"):
        generation.estimate(batch=0)
    assert not generation.estimate("Llama-2-13B", "L4").fits  # 26 GB of weights, 24 GB of memory


def test_batch_sweep_rows():
    table = generation.batch_sweep("Llama-3-8B", "L4", "bf16", 1000, 250)
    e = generation.estimate("Llama-3-8B", "L4", "bf16", 1, 1000, 250)
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
    assert set(shown) == {"ttft", "tpot", "tokens_per_s", "latency", "weights", "kv", "max_batch", "fits"}
    assert shown["weights"] == "16.06 GB" and shown["fits"] == "fits"
    calc.controls["model"].value = "Llama-2-13B"
    calc.controls["gpu"].value = "L4"
    assert calc_outputs(calc.result_html.value)["fits"] == "does not fit"
    calc.controls["gpu"].value = "A100 80GB SXM"
    calc.controls["precision"].value = "fp8"  # no fp8 on an A100: a message, not an exception
    assert calc.last_error and "fp8" in calc.last_error


def test_charts_build():
    import pandas as pd

    e = generation.estimate()
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
