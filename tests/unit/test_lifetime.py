"""cost.lifetime_estimate and reasoning.generate_long (lesson 09), against hand computations.

Expected values are computed here from the models' published shapes
(Llama 3 8B: 32 layers, 8 KV heads of 128, vocab 128,256 × 4,096, untied;
Mixtral 8x7B: 8 experts, 2 per token), the H100 SXM datasheet (80 GB,
3.35 TB/s, 989 TFLOP/s bf16, 700 W) and the formulas (6·N·D; KV = 2 ·
layers · KV heads · head_dim · bytes per token), never copied from the code.
"""

from __future__ import annotations

import math

import pytest
import torch

from course_lib import arch, cost, energy, generation, hardware, models, reasoning
from course_lib.ui import calculators, widgets

LLAMA3_8B_PARAMS = 8_030_261_248  # Meta's model card: 8.03B; transformers' num_parameters()
KV_PER_TOKEN_BF16 = 2 * 32 * 8 * 128 * 2  # 131,072 bytes
H100 = dict(memory=80e9, bandwidth=3.35e12, bf16=989e12, tdp=700.0)

BASE = dict(train_tokens=15e12, accelerator="H100 SXM", requests_per_day=10e6, prompt_tokens=500,
            output_tokens=500, years=1.0, train_utilization=0.4)


def est(model="llama-3-8b", **kw):
    return cost.lifetime_estimate(model, **{**BASE, **kw})


def test_training_is_6nd_at_the_given_utilization():
    e = est()
    hours = 6 * LLAMA3_8B_PARAMS * 15e12 / (H100["bf16"] * 0.4) / 3600
    assert e.training_hours == pytest.approx(hours, rel=1e-12)
    assert e.training_cost == pytest.approx(hours * 2.0, rel=1e-12)
    assert e.training_energy_kwh == pytest.approx(hours * 0.7, rel=1e-12)
    assert e.hardware.train_utilization == pytest.approx(0.4)


def test_moe_trains_and_serves_by_active_parameters():
    moe = arch.preset("mixtral-8x7b")
    # a dense model of the same shape with one expert twice as wide: the same FFN FLOPs per token, no router
    dense = arch.with_sizes(moe, n_experts=1, experts_per_token=1, ffn_size=2 * moe.ffn_size, name="dense twin")
    router = 32 * 4096 * 8
    assert moe.n_active_params == dense.n_params + router  # the twin is the MoE's active path
    a, b = est(moe, n_gpus=2), est(dense, n_gpus=2)
    assert a.training_cost / b.training_cost == pytest.approx(moe.n_active_params / dense.n_params, rel=1e-12)
    # not by its total parameters: 46.7B total would cost 3.6x the twin
    assert a.training_cost < 1.01 * b.training_cost
    # serving at batch 1 reads the active experts only: about the dense twin's bytes, not 3.6x
    a1, b1 = est(moe, n_gpus=2, batch=1), est(dense, n_gpus=2, batch=1)
    assert a1.output_cost_per_request / b1.output_cost_per_request == pytest.approx(1.0, abs=0.02)


def test_batch_one_decode_is_the_weight_read():
    e = est(prompt_tokens=1, output_tokens=101, batch=1)
    weights_read = (LLAMA3_8B_PARAMS - 128_256 * 4096) * 2  # the input embedding is looked up, not read
    kv_mean = KV_PER_TOKEN_BF16 * 51.5  # mean context over the steps
    per_token = (weights_read + kv_mean) / H100["bandwidth"] / generation.efficiency()["decode"]
    assert e.output_gpu_seconds / 100 == pytest.approx(per_token, rel=1e-6)
    assert e.output_cost_per_request == pytest.approx(100 * per_token / 3600 * 2.0, rel=1e-6)
    assert e.wh_per_request == pytest.approx((e.prompt_gpu_seconds + e.output_gpu_seconds) * 700 / 3600)


def test_prompt_and_output_tokens_are_priced_separately():
    e = est(batch=1)
    # at batch 1 an output token reads all weights for one token; a prompt token shares the read with 499 others
    assert e.output_price_per_million > 10 * e.prompt_price_per_million
    assert e.cost_per_request == pytest.approx(500 / 1e6 * (e.prompt_price_per_million + e.output_price_per_million))
    # reasoning tokens are output tokens: same cost as a longer answer
    r = est(reasoning_tokens=2000, output_tokens=500)
    longer = est(reasoning_tokens=0, output_tokens=2500)
    assert r.cost_per_request == pytest.approx(longer.cost_per_request, rel=1e-12)
    assert r.generated_tokens == 2500


def test_reasoning_kv_cache_limits_the_batch():
    for thinking in (0, 2000, 7000):
        e = est(reasoning_tokens=thinking)
        context = 500 + thinking + 500
        weights = LLAMA3_8B_PARAMS * 2
        assert e.hardware.batch == e.hardware.max_batch == math.floor((H100["memory"] - weights) / (KV_PER_TOKEN_BF16 * context))
        assert e.hardware.batch_limited_by_memory
    a, b = est(), est(reasoning_tokens=7000)
    assert b.hardware.batch < a.hardware.batch / 7
    # fewer sequences per weight read: each output token costs more
    assert b.output_price_per_million > 2 * a.output_price_per_million
    # fp8 KV halves the cache per sequence: about twice the batch
    c = est(reasoning_tokens=7000, weight_format="bf16", kv_format="fp8")
    assert c.hardware.batch == math.floor((H100["memory"] - LLAMA3_8B_PARAMS * 2) / (KV_PER_TOKEN_BF16 / 2 * 8000))


def test_split_and_break_even_follow_the_lesson_05_contract():
    e = est(years=3.0)
    per_year = e.inference_cost / 3.0
    assert e.inference_cost_per_day == pytest.approx(e.cost_per_request * 10e6)
    assert per_year == pytest.approx(e.inference_cost_per_day * 365)
    assert e.inference_share == pytest.approx(cost.lifetime_split(e.training_cost, per_year, 3.0)[1])
    assert e.break_even_days == pytest.approx(cost.break_even_days(e.training_cost, e.inference_cost_per_day))
    one = est(years=1.0)
    assert one.break_even_days == pytest.approx(e.break_even_days)  # break-even does not depend on the lifetime
    assert e.inference_cost == pytest.approx(3 * one.inference_cost)
    assert e.inference_energy_kwh == pytest.approx(e.wh_per_request * 10e6 * 365 * 3 / 1000)
    assert e.energy_break_even_days == pytest.approx(e.training_energy_kwh / (e.wh_per_request * 10e6 / 1000))
    assert e.gpus_serving == pytest.approx((e.prompt_gpu_seconds + e.output_gpu_seconds) * 10e6 / 86400)


def test_more_gpus_and_power_factor():
    a = est(power_factor=1.53)
    assert a.hardware.power_w == pytest.approx(700 * 1.53)
    assert a.training_energy_kwh == pytest.approx(a.training_hours * 0.7 * 1.53)
    # two GPUs: each holds half the weights and half the KV heads, so more sequences fit per replica
    two = est(n_gpus=2)
    weights_half = LLAMA3_8B_PARAMS * 2 / 2
    assert two.hardware.max_batch == math.floor((H100["memory"] - weights_half) / (KV_PER_TOKEN_BF16 / 2 * 1000))
    assert two.hardware.n_gpus == 2


def test_impossible_deployments_are_refused_with_the_group_that_fits():
    # Llama 2 70B in bf16: 137.95 GB of weights; 24 GB per L4: 5 hold 27.6 GB each (too much), 6 hold 23.0 GB
    with pytest.raises(ValueError, match=r"n_gpus=1.*does not fit.*n_gpus=6"):
        cost.lifetime_estimate("llama-2-70b", train_tokens=2e12, accelerator="L4", requests_per_day=1e6,
                               prompt_tokens=500, output_tokens=500, years=1)
    assert cost.lifetime_estimate("llama-2-70b", train_tokens=2e12, accelerator="L4", requests_per_day=1e6,
                                  prompt_tokens=500, output_tokens=500, years=1, n_gpus=6).hardware.n_gpus == 6
    with pytest.raises(ValueError, match="batch=100000 does not fit"):
        est(batch=100_000)
    with pytest.raises(ValueError, match="reasoning_tokens"):
        est(reasoning_tokens=-1)
    with pytest.raises(TypeError, match="model"):
        est(model=3)


# ---------------------------------------------------------------- reasoning.generate_long


def _gpt():
    return models.TinyGPT(vocab_size=64, d_model=32, n_heads=2, n_layers=2, max_seq_len=256, seed=0).eval()


FAST_MACHINE = hardware.MeasuredMachine(name="test", device="cpu", n_threads=1, flops={"fp32": 1e12, "bf16": 1e12, "fp16": 1e12},
                                        sizes={"fp32": 128, "bf16": 128, "fp16": 128}, bandwidth=1e9, copy_bytes=1 << 26)


def test_generate_long_kv_bytes_and_predictions_match_hand_counts(monkeypatch):
    monkeypatch.setattr(energy, "read_rapl_joules", lambda root=energy.POWERCAP: None)
    gpt = _gpt()
    g = reasoning.generate_long(gpt, prompt_len=16, n_tokens=61, machine=FAST_MACHINE, batch=2, windows=4,
                                assumed_power_w=10.0)
    assert len(g.table) == 4 and list(g.table["context"]) == sorted(g.table["context"])
    # a decode step reads every weight except the looked-up tables (token and position embeddings, 64 and 256 rows)
    read_params = sum(p.numel() for p in gpt.parameters()) - (64 + 256) * 32
    # the last window ends after 16 + 60 positions: K and V, 2 layers, 32 wide, 4 bytes, 2 sequences
    assert g.table["KV bytes"].iloc[-1] == 2 * 2 * 32 * 76 * 4 * 2 == g.table["KV bytes predicted"].iloc[-1]
    for ctx, predicted in zip(g.table["context"], g.table["predicted ms"]):
        read = read_params * 4 + 2 * 2 * 32 * (ctx + 1) * 4 * 2  # memory-bound on this machine (1e12 FLOP/s)
        assert predicted == pytest.approx(read / 1e9 * 1e3)
    assert g.energy_method == "estimate" and g.joules == pytest.approx(g.seconds * 10.0)
    assert g.wh_per_answer == pytest.approx(g.seconds * 10.0 / 3600 / 2)
    assert g.tokens_per_s == pytest.approx(2 * 61 / g.seconds)
    assert g.predicted_growth == pytest.approx(g.table["predicted ms"].iloc[-1] / g.table["predicted ms"].iloc[0])
    assert "ESTIMATE" in g.energy_text()


def test_generate_long_reads_rapl_when_it_can(monkeypatch):
    counter = iter([100.0, 112.5])
    monkeypatch.setattr(energy, "read_rapl_joules", lambda root=energy.POWERCAP: next(counter))
    g = reasoning.generate_long(_gpt(), prompt_len=8, n_tokens=20, machine=FAST_MACHINE, windows=2, assumed_power_w=10.0)
    assert g.energy_method == "rapl" and g.joules == pytest.approx(12.5)
    assert "RAPL" in g.energy_text()


def test_batch_table_and_bad_input(monkeypatch):
    monkeypatch.setattr(energy, "read_rapl_joules", lambda root=energy.POWERCAP: None)
    t = reasoning.batch_table(_gpt(), prompt_len=8, n_tokens=20, batches=[1, 4], machine=FAST_MACHINE, assumed_power_w=5.0)
    assert list(t["batch"]) == [1, 4]
    assert list(t["KV bytes"]) == [2 * 2 * 32 * 27 * 4 * b for b in (1, 4)] == list(t["KV bytes predicted"])
    with pytest.raises(ValueError, match="n_tokens"):
        reasoning.generate_long(_gpt(), prompt_len=16, n_tokens=300, machine=FAST_MACHINE, assumed_power_w=1.0)
    with pytest.raises(TypeError, match="machine"):
        reasoning.generate_long(_gpt(), prompt_len=16, n_tokens=30, machine="cpu", assumed_power_w=1.0)
    with pytest.raises(TypeError, match="model"):
        reasoning.generate_long(torch.nn.Linear(2, 2), prompt_len=16, n_tokens=30, machine=FAST_MACHINE, assumed_power_w=1.0)


# ---------------------------------------------------------------- the capstone calculator


def test_capstone_calculator_shows_the_estimate_and_refuses_impossible_deployments():
    calc = calculators.lifetime_calculator(chart=False)
    calc.controls["reasoning_tokens"].value = 4096
    want = cost.lifetime_estimate("llama-3-8b", train_tokens=15e12, accelerator="H100 SXM", requests_per_day=10e6,
                                  prompt_tokens=512, reasoning_tokens=4096, output_tokens=512, years=1.0)
    shown = widgets.calc_outputs(calc.result_html.value)
    assert shown == calculators.lifetime_texts(want)
    # the batch is the KV-limited one, computed by hand: (80 GB − 16.06 GB of weights) / (131,072 B × 5,120 tokens)
    assert shown["batch"].startswith(f"{math.floor((80e9 - LLAMA3_8B_PARAMS * 2) / (KV_PER_TOKEN_BF16 * 5120)):,} sequences")
    calc.controls["model"].value = "llama-2-70b"
    calc.controls["accelerator"].value = "L4"
    assert calc.last_error is not None and "n_gpus=1" in calc.last_error and "does not fit" in calc.last_error
    calc.controls["n_gpus"].value = 8
    assert calc.last_error is None
    table = calculators.lifetime_table(calc.last_result)
    assert list(table["phase"]) == ["training", "inference"] * 2
    assert table.groupby("measure")["share"].sum().tolist() == pytest.approx([1.0, 1.0])
