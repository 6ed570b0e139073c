"""Lesson 02: the "will it fit?" estimates and calculator (course_lib.fit)."""

import math

import pytest

from course_lib import fit, predict
from course_lib.ui import calculators
from course_lib.ui.widgets import calc_outputs


def test_training_estimate_by_hand():
    # 1,000 parameters, fp32 Adam: 4 + 4 + 8 bytes each; activations by Korthikanti in fp32 with dropout
    est = fit.training_memory_estimate(1000, "adam", "fp32", batch=2, seq_len=8, layers=3, hidden=16, heads=4)
    assert est["weights"] == 4000 and est["gradients"] == 4000 and est["optimizer_state"] == 8000
    s, b, h, a = 8, 2, 16, 4
    layer = s * b * h * 16 * 4 + a * s * s * b * 4 + 2 * s * b * h + a * s * s * b * (1 + 4)
    assert est["activations"] == 3 * layer
    assert est["total"] == 16000 + 3 * layer


def test_mixed_adam_is_16_bytes_and_korthikanti():
    est = fit.training_memory_estimate(10**9, "adamw", "mixed", batch=1, seq_len=2048, layers=24, hidden=2048, heads=16)
    assert est["weights"] + est["gradients"] + est["optimizer_state"] == 16 * 10**9
    assert est["activations"] == 24 * predict.transformer_activation_bytes(2048, 1, 2048, 16)


def test_checkpointing_keeps_layer_inputs_plus_one_layer():
    kw = dict(batch=4, seq_len=1024, layers=12, hidden=768, heads=12, precision="bf16")
    full = fit.activation_bytes(**kw)
    ck = fit.activation_bytes(checkpointing=True, **kw)
    one = predict.gpt_layer_activation_bytes(1024, 4, 768, 12, bytes_per_value=2)
    assert full == 12 * one
    assert ck == 12 * 1024 * 4 * 768 * 2 + one
    assert ck < full


def test_inference_llama2_13b_kv_cache():
    # facts.md: LLaMA-2-13B at 8,192 tokens in bf16 ≈ 6.7 GB of KV cache per sequence
    p = fit.PRESETS["13B"]
    est = fit.inference_memory_estimate(p.n_params, "bf16", 1, 8192, p.layers, p.hidden, p.heads, p.kv_heads)
    assert est["kv_cache"] == 2 * 2 * 128 * 40 * 40 * 8192
    assert round(est["kv_cache"] / 1e9, 1) == 6.7
    assert est["weights"] == 26 * 10**9
    four = fit.inference_memory_estimate(p.n_params, "bf16", 4, 8192, p.layers, p.hidden, p.heads)
    assert four["kv_cache"] > four["weights"]


def test_gqa_shrinks_kv_cache():
    mha = fit.inference_memory_estimate(10**9, "mixed", 1, 4096, 80, 8192, 64)
    gqa = fit.inference_memory_estimate(10**9, "mixed", 1, 4096, 80, 8192, 64, kv_heads=8)
    assert mha["kv_cache"] == 8 * gqa["kv_cache"]


def test_verdict_and_format():
    ok = fit.verdict(10 * fit.GB, "T4 16 GB")
    assert ok == {"fits": True, "gpu_bytes": 16 * fit.GB, "missing_bytes": 0, "free_bytes": 6 * fit.GB}
    no = fit.verdict(20 * fit.GB, "Laptop GPU 8 GB")
    assert not no["fits"] and no["missing_bytes"] == 12 * fit.GB
    assert fit.verdict_text(no) == "does not fit: 12 GB missing"
    assert fit.verdict_text(ok) == "fits (6 GB free)"
    assert fit.format_bytes(1_500_000) == "1.5 MB" and fit.format_bytes(143e9) == "143 GB" and fit.format_bytes(7) == "7 B"
    assert set(fit.GPUS) >= {"H100 80 GB", "A100 80 GB", "A100 40 GB", "L4 24 GB", "T4 16 GB", "Laptop GPU 8 GB"}


def test_7b_needs_far_more_than_14gb():
    r = fit.will_it_fit("7B", "adamw", "mixed", batch=1, seq_len=2048, gpu="H100 80 GB")
    state = r["training"]["weights"] + r["training"]["gradients"] + r["training"]["optimizer_state"]
    assert state == 112 * fit.GB  # 16 bytes x 7e9
    assert r["inference"]["weights"] == 14 * fit.GB
    assert not r["training_verdict"]["fits"] and r["inference_verdict"]["fits"]


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"n_params": 0}, "n_params"),
        ({"n_params": 10, "optimizer": "lion"}, "optimizer"),
        ({"n_params": 10, "precision": "fp8"}, "precision"),
        ({"n_params": 10, "batch": 0}, "batch"),
        ({"n_params": 10, "seq_len": 2.5}, "seq_len"),
        ({"n_params": 10, "hidden": 100, "heads": 3}, "hidden"),
        ({"n_params": 10, "checkpointing": 1}, "checkpointing"),
        ({"n_params": math.nan}, "n_params"),
    ],
)
def test_training_estimate_bad_inputs(kwargs, name):
    with pytest.raises((TypeError, ValueError), match=name):
        fit.training_memory_estimate(**kwargs)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: fit.inference_memory_estimate(10, kv_heads=5), "kv_heads"),
        (lambda: fit.verdict(-1, "T4 16 GB"), "total_bytes"),
        (lambda: fit.verdict(1, "RTX 9090"), "gpu"),
        (lambda: fit.will_it_fit(model="3B"), "model"),
        (lambda: fit.will_it_fit(model="custom", n_params_b=math.inf), "n_params_b"),
        (lambda: fit.format_bytes(-5), "n"),
    ],
)
def test_other_bad_inputs(call, name):
    with pytest.raises((TypeError, ValueError), match=name):
        call()


def test_calculator_by_setting_widgets():
    calc = calculators.fit_calculator()
    c = calc.controls
    assert calc.last_error is None and c["n_params_b"].disabled
    c["model"].value = "125M"
    c["optimizer"].value = "sgd"
    c["precision"].value = "fp32"
    c["gpu"].value = "Laptop GPU 8 GB"
    c["batch"].value = 4
    c["seq_len"].value = 1024
    want = fit.will_it_fit("125M", "sgd", "fp32", 4, 1024, False, "Laptop GPU 8 GB")
    assert calc.last_result == want
    shown = calc_outputs(calc.result_html.value)
    assert shown["train_total"] == fit.format_bytes(want["training"]["total"])
    assert shown["train_verdict"] == fit.verdict_text(want["training_verdict"])
    assert shown["infer_kv_cache"] == fit.format_bytes(want["inference"]["kv_cache"])
    before = calc.last_result["training"]["activations"]
    c["checkpointing"].value = True
    assert calc.last_result["training"]["activations"] < before
    assert calc.last_result["training"]["weights"] == 125_000_000 * 4


def test_calculator_custom_and_bad_combination():
    calc = calculators.fit_calculator()
    c = calc.controls
    c["model"].value = "custom"
    assert not c["hidden"].disabled
    c["n_params_b"].value = 2.0
    assert calc.last_result["n_params"] == 2 * 10**9
    c["heads"].value = 7  # 2048 is not divisible by 7: shown as an error, not raised
    assert calc.last_result is None and "heads" in calc.last_error and "⚠" in calc.result_html.value
    c["heads"].value = 16
    assert calc.last_error is None
    c["n_params_b"].value = -3.0  # the bounded box clamps it to its minimum
    assert c["n_params_b"].value == c["n_params_b"].min and calc.last_error is None


def test_chart_data():
    r = fit.will_it_fit("1.3B", gpu="A100 40 GB")
    table = fit.fit_table(r)
    assert math.isclose(table[table.phase == "training"].GB.sum(), r["training"]["total"] / fit.GB)
    spec = calculators.fit_result_chart(r).to_dict()
    assert "layer" in spec
