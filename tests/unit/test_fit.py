"""Lesson 02: the "will it fit?" estimates and calculator (course_lib.fit) on real configs."""

import json

import pytest

from course_lib import arch, fit, hardware
from course_lib.ui import calculators, text
from course_lib.ui.widgets import calc_outputs


def test_training_estimate_by_hand():
    a = arch.preset("llama-2-7b")
    n = 6_738_415_616
    est = fit.training_estimate(a, "adamw", "mixed", batch=1, seq_len=2048)
    assert (est["weights"], est["gradients"], est["optimizer_state"]) == (2 * n, 2 * n, 12 * n)
    assert est["activations"] == a.activation_bytes(batch=1, seq_len=2048, attention="sdpa", bytes_per_value=2)
    assert est["overhead"] == fit.RUNTIME_OVERHEAD_BYTES
    assert est["total"] == 16 * n + est["activations"] + est["overhead"]
    fp32 = fit.training_estimate(a, "sgd", "fp32", batch=1, seq_len=16)
    assert fp32["weights"] + fp32["gradients"] + fp32["optimizer_state"] == 8 * n


def test_sdpa_vs_eager_flips_a_verdict():
    # GPT-2 XL (1.56B) at 2,048 tokens on an L4 (24 GB), LoRA: fits with SDPA, not with eager's stored scores
    a = arch.preset("gpt2-xl")
    sdpa = fit.will_it_fit("gpt2-xl", batch=1, seq_len=2048, accelerator="L4", lora="lora")
    eager = fit.will_it_fit("gpt2-xl", batch=1, seq_len=2048, accelerator="L4", lora="lora", attention="eager")
    diff = eager.training["activations"] - sdpa.training["activations"]
    # eager keeps softmax, dropout mask and dropped probabilities (attn_pdrop 0.1) and copies of q, k, v (transformers 5
    # keeps no causal-mask buffer); SDPA keeps the c_attn output (3h), the cache's k and v (2h) and a log-sum-exp per head
    assert diff == 48 * (3 * 25 * 2048 * 2048 * 2 + 3 * 2048 * 1600 * 2 - 25 * 2048 * 4 - 2048 * 8000 * 2)
    assert sdpa.training_verdict.fits and not eager.training_verdict.fits
    assert a.n_params == sdpa.n_params


def test_lora_and_qlora():
    n = 8_030_261_248
    full = fit.will_it_fit("llama-3-8b")
    qlora = fit.will_it_fit("llama-3-8b", lora="qlora", lora_rank=16)
    # adapters on q, k, v, o, gate, up, down: r * (d_in + d_out) each, 32 layers
    per_layer = 16 * ((4096 + 4096) + 2 * (4096 + 1024) + (4096 + 4096) + 3 * (4096 + 14336))
    trainable = 32 * per_layer
    assert qlora.training["gradients"] == 2 * trainable
    assert qlora.training["optimizer_state"] == 12 * trainable
    assert full.training["gradients"] == 2 * n
    assert not full.training_verdict.fits and qlora.training_verdict.fits
    assert qlora.largest_batch >= 1 and full.largest_batch is None


def test_largest_batch_and_longest_context_are_the_edges():
    a = arch.preset("llama-3-8b")
    kw = dict(lora="lora", attention="sdpa")
    cap = hardware.ACCELERATORS["H100 SXM"].memory_bytes
    b = fit.largest_batch(a, "H100 SXM", 2048, **kw)
    assert fit.training_estimate(a, batch=b, seq_len=2048, **kw)["total"] <= cap
    assert fit.training_estimate(a, batch=b + 1, seq_len=2048, **kw)["total"] > cap
    s = fit.longest_context(a, "H100 SXM", 1, **kw)
    assert fit.training_estimate(a, batch=1, seq_len=s, **kw)["total"] <= cap
    assert fit.training_estimate(a, batch=1, seq_len=s + 1, **kw)["total"] > cap
    assert fit.largest_batch(arch.preset("llama-2-70b"), "T4", 2048) is None


def test_inference_kv_cache_from_the_config():
    # Llama-2-13B: 40 layers x 40 KV heads x 128, 8,192 tokens in bf16 (How to Scale Your Model's illustration)
    r = fit.will_it_fit("llama-2-13b", precision="bf16", batch=1, seq_len=8192)
    assert r.inference["kv_cache"] == 2 * 2 * 128 * 40 * 40 * 8192
    assert r.inference["weights"] == 2 * 13_015_864_320
    # Mistral-7B's sliding window caps the cache at 4,096 tokens
    m = fit.will_it_fit("mistral-7b", seq_len=32768)
    assert m.inference["kv_cache"] == 2 * 2 * 128 * 8 * 32 * 4096


def test_local_config_path(tmp_path):
    cfg = {"model_type": "qwen2", "hidden_size": 896, "intermediate_size": 4864, "num_hidden_layers": 24,
           "num_attention_heads": 14, "num_key_value_heads": 2, "tie_word_embeddings": True, "_name_or_path": "mine"}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    r = fit.will_it_fit(config_path=str(path))
    assert r.n_params == 494_032_768 and r.model.startswith("mine")
    with pytest.raises(ValueError, match="model_type"):
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps({"model_type": "t5"}))
        fit.will_it_fit(config_path=str(bad))


def test_verdict_and_format():
    ok = fit.verdict(10 * fit.GB, "T4")
    assert ok == fit.Verdict(fits=True, memory_bytes=16 * fit.GB, missing_bytes=0, free_bytes=6 * fit.GB)
    no = fit.verdict(20 * fit.GB, "T4")
    assert not no.fits and no.missing_bytes == 4 * fit.GB
    assert text.verdict_text(no) == "does not fit: 4 GB missing"
    assert text.verdict_text(ok) == "fits (6 GB free)"
    assert text.format_bytes(1_500_000) == "1.5 MB" and text.format_bytes(143e9) == "143 GB" and text.format_bytes(7) == "7 B"


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"model": "3B"}, "model"),
        ({"optimizer": "lion"}, "optimizer"),
        ({"precision": "fp8"}, "precision"),
        ({"batch": 0}, "batch"),
        ({"seq_len": 2.5}, "seq_len"),
        ({"attention": "flash"}, "attention"),
        ({"lora": "dora"}, "lora"),
        ({"lora": "lora", "lora_rank": 0}, "rank"),
        ({"checkpointing": 1}, "checkpointing"),
        ({"accelerator": "RTX 9090"}, "accelerator"),
        ({"config_path": "/no/such/config.json"}, "config"),
    ],
)
def test_bad_inputs(kwargs, name):
    with pytest.raises((TypeError, ValueError), match=name):
        fit.will_it_fit(**kwargs)


def test_calculator_by_setting_widgets():
    calc = calculators.fit_calculator()
    c = calc.controls
    assert calc.last_error is None and c["lora_rank"].disabled
    c["model"].value = "gpt2"
    c["optimizer"].value = "sgd"
    c["precision"].value = "fp32"
    c["accelerator"].value = "T4"
    c["batch"].value = 4
    c["seq_len"].value = 1024
    want = fit.will_it_fit("gpt2", "sgd", "fp32", 4, 1024, False, "T4")
    assert calc.last_result == want
    shown = calc_outputs(calc.result_html.value)
    assert shown["train_total"] == text.format_bytes(want.training["total"])
    assert shown["train_verdict"] == text.verdict_text(want.training_verdict)
    assert shown["infer_kv_cache"] == text.format_bytes(want.inference["kv_cache"])
    assert shown["n_params"] == "124,439,808 parameters"
    assert shown["train_overhead"] == "1 GB"
    before = calc.last_result.training["activations"]
    c["checkpointing"].value = True
    assert calc.last_result.training["activations"] < before
    c["lora"].value = "qlora"
    assert not c["lora_rank"].disabled and calc.last_result.training["gradients"] < 10**7


def test_calculator_config_path_and_bad_path():
    calc = calculators.fit_calculator()
    calc.controls["config_path"].value = "course_lib/presets/mixtral-8x7b.json"
    assert calc.last_error is None
    shown = calc_outputs(calc.result_html.value)
    assert shown["n_active_params"] == "12,879,925,248 active per token"
    calc.controls["config_path"].value = "/nowhere/config.json"  # shown as an error, not raised
    assert calc.last_result is None and "config" in calc.last_error


def test_calculator_upload():
    content = (arch._PRESET_DIR + "/gemma-7b.json")
    with open(content, "rb") as f:
        data = f.read()
    a = calculators.config_upload(({"name": "config.json", "content": memoryview(data)},))
    assert a.n_params == 8_537_680_896
    assert calculators.config_upload(()) is None
    with pytest.raises(TypeError, match="content must be bytes"):  # an integer is not N zero bytes
        calculators.config_upload(({"name": "config.json", "content": 10**6},))


def test_calculator_upload_writes_nothing(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with open(arch._PRESET_DIR + "/mistral-7b.json", "rb") as f:
        data = f.read()
    calc = calculators.fit_calculator()
    calc.controls["upload"].value = ({"name": "config.json", "type": "application/json", "size": len(data),
                                      "content": memoryview(data),
                                      "last_modified": __import__("datetime").datetime(2026, 1, 1)},)
    for batch in (1, 2, 4):  # slider moves recompute from the same upload
        calc.controls["batch"].value = batch
    assert calc.last_error is None and "7,241,732,096" in calc.result_html.value
    assert list(tmp_path.iterdir()) == []


def test_chart_data():
    r = fit.will_it_fit("gpt2-xl", accelerator="L4")
    table = fit.fit_table(r)
    assert abs(table[table.phase == "training"].GB.sum() - r.training["total"] / fit.GB) < 1e-9
    assert "overhead" in set(table.component)
    spec = calculators.fit_result_chart(r).to_dict()
    assert "layer" in spec
