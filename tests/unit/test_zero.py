"""Lesson 06: the ZeRO formulas (course_lib.predict) and the N-GPU calculator (course_lib.zero_fit)."""

import math

import pytest

from course_lib import arch, distributed, fit, predict, zero_fit
from course_lib.ui import calculators, charts, text
from course_lib.ui.widgets import calc_outputs

PSI = 7_500_000_000


def test_zero_paper_figure_1_example():
    # Rajbhandari et al. 2020, Figure 1: 7.5B parameters, 64 GPUs, mixed-precision Adam (K = 12):
    # 120 GB baseline, 31.4 / 16.6 / 1.9 GB per device at stages 1 / 2 / 3.
    got = [predict.zero_memory_per_device(PSI, 64, s, "adamw", "mixed") for s in range(4)]
    assert got[0] == (2 + 2 + 12) * PSI == 120 * 10**9
    assert got[1] == 4 * PSI + 12 * PSI // 64  # (2 + 2 + 12/64)·Ψ
    assert got[2] == 2 * PSI + 14 * PSI // 64
    assert got[3] == 16 * PSI // 64
    assert [round(g / 1e9, 1) for g in got] == [120.0, 31.4, 16.6, 1.9]


def test_fp32_stage0_is_bytes_per_param_and_shards_split_exactly():
    n = 110_336  # TinyGPT of the lesson
    for opt in ("sgd", "momentum", "adam", "adamw"):
        full = predict.zero_memory_per_device(n, 4, 0, opt, "fp32")
        assert full == n * predict.bytes_per_param(opt, "fp32")
    # AdamW fp32 = 4 + 4 + 8 bytes; stage 3 on 2 devices halves all of it
    assert predict.zero_memory_per_device(n, 2, 3, "adamw", "fp32") == 8 * n
    assert predict.zero_memory_per_device(n, 2, 1, "adamw", "fp32") == (4 + 4 + 4) * n
    assert predict.zero_memory_per_device(n, 2, 2, "adamw", "fp32") == (4 + 2 + 4) * n


def test_one_device_has_nothing_to_shard():
    for s in range(4):
        assert predict.zero_memory_per_device(1000, 1, s) == 16_000


@pytest.mark.parametrize("bad", [{"n_devices": 0}, {"stage": 4}, {"stage": -1}, {"n_params": 0}, {"stage": 1.5}])
def test_zero_bad_input(bad):
    kw = dict(n_params=100, n_devices=2, stage=1) | bad
    with pytest.raises((ValueError, TypeError)) as err:
        predict.zero_memory_per_device(**kw)
    assert list(bad)[0] in str(err.value)


def test_allreduce_ring_volume():
    assert predict.allreduce_bytes(1000, 1) == 0
    assert predict.allreduce_bytes(1000, 2) == 1000  # 2·(1/2)
    assert predict.allreduce_bytes(1000, 4) == 1500  # 2·(3/4)
    assert math.isclose(predict.allreduce_bytes(1000, 1000), 1998)  # tends to 2× the buffer
    with pytest.raises(ValueError, match="n_devices"):
        predict.allreduce_bytes(1000, 0)
    with pytest.raises(ValueError, match="n_bytes"):
        predict.allreduce_bytes(-1, 2)


def test_wire_bytes_all_gather_reduce_scatter_add_up_to_all_reduce():
    # a ring all-reduce is a reduce-scatter followed by an all-gather
    for d in (1, 2, 3, 8):
        ar = distributed.wire_bytes("all_reduce", 4800, d)
        assert ar == distributed.wire_bytes("reduce_scatter", 4800, d) + distributed.wire_bytes("all_gather", 4800, d)
    assert distributed.wire_bytes("all_gather", 1000, 4) == 750
    with pytest.raises(ValueError, match="collective"):
        distributed.wire_bytes("broadcast_all", 10, 2)


def test_zero_breakdown_parts():
    b = predict.zero_breakdown(1000, 4, 2, "adamw", "mixed")
    assert b == {"weights": 2000, "gradients": 500, "optimizer_state": 3000, "total": 5500}
    assert b["total"] == predict.zero_memory_per_device(1000, 4, 2)
    odd = predict.zero_breakdown(1001, 3, 3, "sgd", "fp32")  # each part rounded up on its own
    assert odd["weights"] == math.ceil(4004 / 3) and odd["total"] - predict.zero_memory_per_device(1001, 3, 3, "sgd", "fp32") in (0, 1)


def test_zero_fit_7b_on_8_h100():
    r = zero_fit.zero_fit("llama-2-7b", n_gpus=8, stage=3, checkpointing=True, accelerator="H100 SXM")
    a = arch.preset("llama-2-7b")
    n = 6_738_415_616
    act = a.activation_bytes(batch=1, seq_len=2048, attention="sdpa", bytes_per_value=2, checkpointing=True)
    gathered = 4 * 32000 * 4096  # the embedding (or LM head), DeepSpeed's largest layer, 4 bytes each
    assert r.per_gpu["total"] == -(-2 * n // 8) + -(-2 * n // 8) + -(-12 * n // 8) + gathered + act + fit.RUNTIME_OVERHEAD_BYTES
    assert r.stages[0] == 16 * n + act + fit.RUNTIME_OVERHEAD_BYTES
    assert r.verdict.fits and not zero_fit.zero_fit("llama-2-7b", n_gpus=8, stage=0).verdict.fits
    # 108 GB of model state alone never fits 80 GB at stage 0, however many GPUs
    assert zero_fit.zero_fit("llama-2-7b", n_gpus=8, stage=0).min_gpus is None
    assert zero_fit.zero_fit("llama-2-7b", n_gpus=1, stage=3).min_gpus == 2
    assert zero_fit.zero_fit("llama-2-7b", n_gpus=8).n_params == n  # the preset key (no legacy aliases)


def test_zero_fit_deepspeed_convention_and_lora():
    r = zero_fit.zero_fit("gpt2", n_gpus=64, stage=3, convention="deepspeed")
    state = sum(r.per_gpu[k] for k in ("weights", "gradients", "optimizer_state", "gathered_layer"))
    assert state == 154_389_504 + 34_998_696  # DeepSpeed's estimate_zero3_model_states_mem_needs, by hand
    q = zero_fit.zero_fit("llama-2-70b", n_gpus=1, stage=0, lora="qlora", accelerator="H100 SXM")
    full = zero_fit.zero_fit("llama-2-70b", n_gpus=1, stage=0, accelerator="H100 SXM")
    assert q.per_gpu["weights"] < full.per_gpu["weights"] / 3
    assert q.verdict.fits and not full.verdict.fits
    assert r.largest_batch >= 1 and r.longest_context >= 1024


def test_zero_fit_bad_input():
    with pytest.raises(ValueError, match="n_gpus"):
        zero_fit.zero_fit(n_gpus=0)
    with pytest.raises(ValueError, match="stage"):
        zero_fit.zero_fit(stage=5)
    with pytest.raises(ValueError, match="model"):
        zero_fit.zero_fit(model="9000B")
    with pytest.raises(ValueError, match="convention"):
        zero_fit.zero_fit(convention="megatron")


def test_zero_calculator_updates_and_renders():
    calc = calculators.zero_calculator()
    assert calc.last_error is None
    calc.controls["model"].value = "llama-2-13b"
    calc.controls["n_gpus"].value = 16
    calc.controls["stage"].value = 1
    r = calc.last_result
    assert (r.n_params, r.n_gpus, r.stage) == (13_015_864_320, 16, 1)
    want = zero_fit.zero_fit("llama-2-13b", 16, 1)
    assert r.per_gpu == want.per_gpu
    outs = calc_outputs(calc.result_html.value)
    assert outs["total"] == text.format_bytes(want.per_gpu["total"])
    assert outs["stage3"] == text.format_bytes(want.stages[3])
    assert outs["verdict"] == text.verdict_text(want.verdict)
    assert outs["overhead"] == "1 GB"


def test_stage_table_and_chart():
    r = zero_fit.zero_fit("llama-2-13b", n_gpus=4, stage=2)
    table = zero_fit.stage_table(r)
    assert len(table) == 24 and set(table["stage"]) == {"stage 0", "stage 1", "stage 2", "stage 3"}
    s3 = table[table["stage"] == "stage 3"]
    n = 13_015_864_320
    assert s3[s3["part"] == "weights"]["GB"].item() == pytest.approx(2 * n / 4 / 1e9)
    assert table.groupby("stage")["GB"].sum()["stage 2"] == pytest.approx(r.per_gpu["total"] / 1e9)
    spec = charts.zero_stages(table, 80, "H100 SXM").to_dict()
    assert "layer" in spec and spec["title"] == "Memory per GPU by ZeRO stage"


def test_replica_latency_chart():
    from course_lib import serving

    sweep = serving.replica_sweep([50, 150], [1, 2], 0.010, n_requests=200)
    assert list(sweep.columns) == ["rate_rps", "replicas", "p95_ms", "throughput_rps"] and len(sweep) == 4
    # 150 requests/s of 10 ms is beyond one replica's capacity: far worse than two replicas
    p = sweep.set_index(["rate_rps", "replicas"])["p95_ms"]
    assert p[(150, 1)] > 10 * p[(150, 2)]
    spec = charts.replica_latency(sweep, target_ms=50).to_dict()
    assert spec["title"].startswith("Scale out") and len(spec["layer"]) == 2


def test_zero_calculator_without_chart_and_bad_flag():
    calc = calculators.zero_calculator(chart=False)
    assert calc.chart is None and calc.last_result.stage == 3
    with pytest.raises(TypeError, match="chart"):
        calculators.zero_calculator(chart="yes")
    spec = calculators.stage_chart(calc.last_result).to_dict()
    assert spec["title"].startswith("Llama-2-7B on 8 GPUs")
