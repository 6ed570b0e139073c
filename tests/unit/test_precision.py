"""course_lib.precision: formats, rounding, quantization, mixed precision (lesson 04)."""

import math

import pytest
import torch
from torch import nn

from course_lib import precision as P
from course_lib.models import MLP
from course_lib.ui import calculators, charts, text
from course_lib.ui.widgets import calc_outputs

# ---------------------------------------------------------------- formats


@pytest.mark.parametrize(
    "e, m, dtype",
    [(8, 23, torch.float32), (5, 10, torch.float16), (8, 7, torch.bfloat16), (5, 2, torch.float8_e5m2)],
)
def test_ieee_formulas_match_torch_finfo(e, m, dtype):
    f, info = P.float_format(e, m), torch.finfo(dtype)
    assert f.bits == info.bits
    assert f.max == info.max
    assert f.smallest_normal == info.smallest_normal
    assert f.eps == info.eps
    assert f.smallest_subnormal == info.smallest_normal * info.eps


def test_tf32_by_hand():
    f = P.get_format("tf32")
    assert (f.bits, f.exponent_bits, f.mantissa_bits) == (19, 8, 10)
    assert f.max == (2 - 2**-10) * 2.0**127
    assert f.smallest_normal == 2.0**-126
    assert f.eps == 2.0**-10


def test_fp8_e4m3_is_not_ieee():
    f = P.get_format("fp8_e4m3")
    assert (f.bits, f.exponent_bits, f.mantissa_bits) == (8, 4, 3)
    assert f.max == 448.0  # IEEE's layout would stop at 240
    assert P.float_format(4, 3).max == 240.0
    assert f.smallest_normal == 2.0**-6 and f.smallest_subnormal == 2.0**-9


def test_format_table():
    t = P.format_table()
    assert list(t.index) == ["fp32", "tf32", "fp16", "bf16", "fp8_e4m3", "fp8_e5m2", "int8", "int4"]
    assert t.loc["fp16", "max"] == 65504.0
    assert t.loc["fp16", "eps"] == 2.0**-10
    assert t.loc["bf16", "sign/exp/mantissa"] == "1/8/7"
    assert t.loc["fp8_e5m2", "max"] == 57344.0
    assert (t.loc["int8", "min"], t.loc["int8", "max"]) == (-128.0, 127.0)
    assert (t.loc["int4", "min"], t.loc["int4", "max"]) == (-8.0, 7.0)
    assert t.loc["fp32", "from"] == "torch.finfo(torch.float32)"


def test_int_range():
    assert P.int_range(8) == (-128, 127)
    assert P.int_range(4) == (-8, 7)
    with pytest.raises(ValueError, match="bits"):
        P.int_range(1)


def test_representable():
    assert P.representable(70000.0, "fp16") == math.inf
    assert P.representable(70000.0, "bf16") == 70144.0  # 8 significant bits: step 512 there
    assert P.representable(70000.0, "fp8_e4m3") == 448.0  # saturates, no inf
    assert P.representable(1e-8, "fp16") == 0.0
    assert P.representable(1 + 2**-11, "fp16") == 1.0
    assert P.representable(1 + 2**-10, "fp16") == 1 + 2**-10


def test_format_errors():
    with pytest.raises(ValueError, match="name"):
        P.get_format("fp64")
    with pytest.raises(TypeError, match="exponent_bits"):
        P.float_format(5.0, 10)
    with pytest.raises(ValueError, match="mantissa_bits"):
        P.float_format(5, -1)
    with pytest.raises(ValueError, match="value"):
        P.representable(float("nan"), "fp16")


def test_sequential_sum_stalls_where_the_step_exceeds_the_addend():
    ones = torch.ones(3000)
    assert P.sequential_sum(ones, torch.float32) == 3000.0
    # fp16 has 11 significant bits: above 2048 the step is 2, and 2048 + 1 rounds back (ties to even)
    assert P.sequential_sum(ones, torch.float16) == 2048.0
    # bf16 has 8 significant bits: stuck at 256
    assert P.sequential_sum(ones, torch.bfloat16) == 256.0


def test_sequential_sum_errors():
    with pytest.raises(TypeError):
        P.sequential_sum(torch.ones(3, dtype=torch.int64), torch.float16)
    with pytest.raises(TypeError):
        P.sequential_sum(torch.ones(3), torch.int32)
    with pytest.raises(TypeError):
        P.sequential_sum([1.0, 2.0], torch.float32)


# ---------------------------------------------------------------- quantization


def test_quantize_by_hand_per_tensor():
    x = torch.tensor([-1.0, 0.3, 0.0, 0.55])
    codes, scale = P.quantize(x, 8)
    assert codes.dtype == torch.int8
    assert codes.tolist() == [-127, 38, 0, 70]  # 0.3·127 = 38.1, 0.55·127 = 69.85
    assert scale.shape == (1,) and scale.item() == pytest.approx(1 / 127)
    codes4, scale4 = P.quantize(x, 4)
    assert codes4.tolist() == [-7, 2, 0, 4]  # 0.3·7 = 2.1, 0.55·7 = 3.85
    assert scale4.item() == pytest.approx(1 / 7)
    assert torch.allclose(P.dequantize(codes4, scale4), torch.tensor([-1.0, 2 / 7, 0.0, 4 / 7]))


def test_quantize_by_hand_per_channel():
    x = torch.tensor([[1.0, -0.25], [0.2, 0.05]])
    codes, scale = P.quantize(x, 8, axis=0)
    assert scale.shape == (2, 1)
    assert scale[:, 0].tolist() == pytest.approx([1 / 127, 0.2 / 127])
    assert codes.tolist() == [[127, -32], [127, 32]]  # 31.75 rounds to 32
    codes1, scale1 = P.quantize(x, 8, axis=1)
    assert scale1.shape == (1, 2)
    assert scale1[0].tolist() == pytest.approx([1 / 127, 0.25 / 127])
    assert codes1.tolist() == [[127, -127], [25, 25]]  # 0.2·127 = 25.4, 0.05/0.25·127 = 25.4


@pytest.mark.parametrize("bits", range(2, 9))
@pytest.mark.parametrize("axis", [None, 0, 1, -1])
def test_rounding_error_at_most_half_a_step(bits, axis):
    g = torch.Generator().manual_seed(bits)
    x = torch.randn(64, 48, generator=g) * torch.linspace(0.01, 3, 48)
    codes, scale = P.quantize(x, bits, axis)
    qmax = 2 ** (bits - 1) - 1
    assert codes.dtype == torch.int8
    assert int(codes.abs().max()) == qmax  # the largest value maps to the top code
    err = (P.dequantize(codes, scale) - x).abs()
    assert bool((err <= scale / 2 * (1 + 1e-6)).all())
    e = P.quantization_error(x, bits, axis)
    assert e.max_error == pytest.approx(float(err.max()))
    assert e.mean_error == pytest.approx(float(err.mean()))
    assert e.bound == pytest.approx(float(scale.max()) / 2)
    assert e.max_error <= e.bound * (1 + 1e-6)


def test_int4_error_is_about_18_times_int8():
    x = torch.randn(256, 256, generator=torch.Generator().manual_seed(0))
    e8, e4 = P.quantization_error(x, 8), P.quantization_error(x, 4)
    assert e4.bound / e8.bound == pytest.approx(127 / 7)  # same max|x|, step ∝ 1/qmax
    assert 10 < e4.mean_error / e8.mean_error < 30


def test_per_channel_beats_per_tensor_when_rows_differ():
    x = torch.randn(32, 64, generator=torch.Generator().manual_seed(1)) * torch.logspace(-2, 0, 32)[:, None]
    assert P.quantization_error(x, 4, axis=0).mean_error < P.quantization_error(x, 4).mean_error


def test_quantize_zeros_and_dtypes():
    codes, scale = P.quantize(torch.zeros(3, 2), 8, axis=0)
    assert codes.abs().sum() == 0 and bool((scale == 1).all())
    codes, scale = P.quantize(torch.tensor([0.5, -1.0], dtype=torch.float16), 8)
    assert scale.dtype == torch.float32 and codes.tolist() == [64, -127]


def test_quantize_rejects_bad_input():
    x = torch.randn(4, 4)
    for bits in (1, 9, 16):
        with pytest.raises(ValueError, match="bits"):
            P.quantize(x, bits)
    with pytest.raises(TypeError, match="bits"):
        P.quantize(x, 8.0)
    with pytest.raises(TypeError, match="bits"):
        P.quantize(x, True)
    with pytest.raises(TypeError, match="floating-point"):
        P.quantize(torch.arange(4), 8)
    with pytest.raises(TypeError, match="torch.Tensor"):
        P.quantize([1.0, 2.0], 8)
    with pytest.raises(ValueError, match="finite"):
        P.quantize(torch.tensor([1.0, float("nan")]), 8)
    with pytest.raises(ValueError, match="finite"):
        P.quantize(torch.tensor([1.0, float("inf")]), 8)
    with pytest.raises(ValueError, match="axis"):
        P.quantize(x, 8, axis=2)
    with pytest.raises(ValueError, match="empty"):
        P.quantize(torch.zeros(0), 8)
    with pytest.raises(TypeError, match="codes"):
        P.dequantize(torch.ones(2), torch.ones(1))
    with pytest.raises(TypeError, match="scale"):
        P.dequantize(torch.ones(2, dtype=torch.int8), torch.ones(1, dtype=torch.int64))


def test_weight_bytes():
    assert P.weight_bytes(100, 4) == 50
    assert P.weight_bytes(101, 4) == 51  # a half-used byte still counts
    assert P.weight_bytes(100, 8, n_scales=10) == 140
    assert P.weight_bytes(100, 32) == 400
    with pytest.raises(ValueError, match="n_values"):
        P.weight_bytes(0, 8)
    with pytest.raises(TypeError, match="bits"):
        P.weight_bytes(10, 4.5)


def test_quantize_linear_weights():
    model = MLP(d_in=32, hidden=128, d_out=4, depth=2, seed=0)
    n, rows = P.linear_weight_count(model)
    assert (n, rows) == (32 * 128 + 128 * 128 + 128 * 4, 128 + 128 + 4)
    before = [p.detach().clone() for p in model.parameters()]
    q4, bytes4 = P.quantize_linear_weights(model, 4)
    assert bytes4 == n // 2 + 4 * rows == 11536
    _, bytes4t = P.quantize_linear_weights(model, 4, per_channel=False)
    assert bytes4t == n // 2 + 4 * 3
    _, bytes8 = P.quantize_linear_weights(model, 8)
    assert bytes8 == n + 4 * rows
    for p, b in zip(model.parameters(), before):  # original untouched
        assert torch.equal(p, b)
    for orig, new in zip(model.modules(), q4.modules()):
        if isinstance(orig, nn.Linear):
            codes, scale = P.quantize(orig.weight.detach(), 4, axis=0)
            assert torch.equal(new.weight.detach(), P.dequantize(codes, scale))
            assert torch.equal(new.bias, orig.bias)
            assert len(torch.unique(new.weight[0])) <= 15  # at most 15 levels per row
    with pytest.raises(ValueError, match="bits"):
        P.quantize_linear_weights(model, 16)
    with pytest.raises(ValueError, match="Linear"):
        P.quantize_linear_weights(nn.ReLU(), 8)
    with pytest.raises(TypeError, match="model"):
        P.quantize_linear_weights("mlp", 8)


def test_accuracy():
    model = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        model.weight.copy_(torch.eye(2))
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0], [0.0, 3.0]])
    assert P.accuracy(model, x, torch.tensor([0, 1, 1, 1])) == 0.75


# ---------------------------------------------------------------- mixed precision


def _confident_model():
    """logits (9, −9) for x = (1, 0): p(class 1) = e^-18 / (1 + e^-18) ≈ 1.5e-8."""
    m = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        m.weight.copy_(torch.tensor([[9.0, 0.0], [-9.0, 0.0]]))
    return m, torch.tensor([[1.0, 0.0]]), torch.tensor([0])


def test_gradient_underflow_and_loss_scaling():
    m, x, y = _confident_model()
    w, a = P.gradients(m, x, y)
    p1 = math.exp(-18) / (1 + math.exp(-18))
    assert a[1].item() == pytest.approx(p1, rel=1e-4)  # below fp16's 2^-25 rounding-to-zero line
    assert p1 < 2.0**-25
    none = P.gradient_underflow(m, x, y)
    assert (none.activation_nonzero, none.activation_lost) == (1, 1)
    assert (none.weight_nonzero, none.weight_lost) == (1, 1)
    assert none.weight_error == 1.0  # the only non-zero weight gradient became 0
    scaled = P.gradient_underflow(m, x, y, loss_scale=2.0**16)
    assert (scaled.activation_lost, scaled.weight_lost, scaled.overflow) == (0, 0, False)
    assert scaled.weight_error < 1e-3  # fp16 keeps ~3 digits once in range
    bf16 = P.gradient_underflow(m, x, y, dtype=torch.bfloat16)
    assert bf16.activation_lost == 0  # bf16 has fp32's exponent range
    assert m.weight.grad is None


def test_too_large_a_loss_scale_overflows():
    m, x, _ = _confident_model()
    wrong = torch.tensor([1])  # gradient ≈ 1: × 2^20 is far above fp16's 65504
    over = P.gradient_underflow(m, x, wrong, loss_scale=2.0**20)
    assert over.overflow and over.weight_error == math.inf
    assert not P.gradient_underflow(m, x, wrong, loss_scale=2.0**8).overflow


def test_gradient_errors():
    m, x, y = _confident_model()
    with pytest.raises(ValueError, match="dtype"):
        P.gradient_underflow(m, x, y, dtype=torch.float32)
    with pytest.raises(ValueError, match="loss_scale"):
        P.gradients(m, x, y, dtype=torch.float16, loss_scale=0)
    with pytest.raises(TypeError, match="model"):
        P.gradients(None, x, y)


def test_log2_histogram():
    t = P.log2_histogram(torch.tensor([1.0, 1.5, 0.25, 0.0, 2.0**-60, -3.0]), low=-50, high=2)
    counts = dict(zip(t["log2 |gradient|"], t["count"]))
    assert len(t) == 52
    assert counts[0] == 2 and counts[-2] == 1 and counts[1] == 1 and counts[-50] == 1
    assert t["count"].sum() == 5  # the zero is left out
    with pytest.raises(ValueError, match="high"):
        P.log2_histogram(torch.ones(2), low=0, high=0)


@pytest.mark.parametrize("precision", P.TRAINING_MODES)
def test_train_lowers_the_loss(precision):
    x = torch.randn(256, 8, generator=torch.Generator().manual_seed(0))
    y = (x[:, 0] > 0).long()
    model = MLP(d_in=8, hidden=16, d_out=2, depth=1, seed=0)
    log = P.train(model, x, y, precision=precision, steps=40, batch=64, lr=1e-2)
    assert len(log.losses) == 40 and log.precision == precision
    assert sum(log.losses[-5:]) < sum(log.losses[:5])
    if precision == "fp16_scaled":
        assert log.final_scale > 1
    else:
        assert log.final_scale == 1.0 and log.skipped_steps == 0


def test_train_errors():
    x, y = torch.randn(8, 8), torch.zeros(8, dtype=torch.long)
    model = MLP(d_in=8, hidden=4, d_out=2, depth=1)
    with pytest.raises(ValueError, match="precision"):
        P.train(model, x, y, precision="fp8")
    with pytest.raises(ValueError, match="batch"):
        P.train(model, x, y, batch=9)
    with pytest.raises(ValueError, match="lr"):
        P.train(model, x, y, batch=8, lr=-1)


# ---------------------------------------------------------------- speed, hardware flags


def test_time_matmul_returns_samples():
    t = P.time_matmul(torch.bfloat16, 8, repeats=3)
    assert len(t.samples) == 3 and all(s > 0 for s in t.samples)
    with pytest.raises(ValueError, match="dtype"):
        P.time_matmul(torch.int8, 8)


def test_cpu_half_precision_flags(tmp_path):
    f = tmp_path / "cpuinfo"
    f.write_text("processor : 0\nflags : fpu avx2 f16c\n")
    assert P.cpu_half_precision_flags(f) == {"bf16": False, "fp16": False}
    f.write_text("flags : avx2 avx512f avx512_bf16 amx_bf16 amx_tile\n")
    assert P.cpu_half_precision_flags(f) == {"bf16": True, "fp16": False}
    f.write_text("flags : avx512_fp16 amx_fp16\n")
    assert P.cpu_half_precision_flags(f) == {"bf16": False, "fp16": True}
    assert P.cpu_half_precision_flags(tmp_path / "missing") == {"bf16": False, "fp16": False}


# ---------------------------------------------------------------- format explorer


def test_format_number():
    assert text.format_number(65504.0) == "6.55e+04"
    assert text.format_number(2.0**-10) == "0.0009766"
    assert text.format_number(448.0) == "448"


def test_format_explorer_follows_its_sliders():
    calc = calculators.format_explorer()
    out = calc_outputs(calc.result_html.value)
    assert out["max"] == text.format_number(65504.0) == "6.55e+04"
    assert out["eps"] == text.format_number(2.0**-10) == "0.0009766"
    assert "fp16" in calc.result_html.value
    calc.controls["exponent_bits"].value = 8
    calc.controls["mantissa_bits"].value = 7
    assert calc.last_result == P.float_format(8, 7)
    out = calc_outputs(calc.result_html.value)
    assert out["smallest_normal"] == text.format_number(2.0**-126) == "1.175e-38"
    assert out["eps"] == "0.007812"
    assert "bf16" in calc.result_html.value
    calc.controls["exponent_bits"].value = 4
    calc.controls["mantissa_bits"].value = 3
    assert calc_outputs(calc.result_html.value)["max"] == "240"
    assert "448" in calc.result_html.value
    # the sliders cannot leave the allowed range
    calc.controls["mantissa_bits"].value = 40
    assert calc.controls["mantissa_bits"].value == 23
    assert calc.last_error is None


# ---------------------------------------------------------------- charts (lesson 04)


def test_gradient_histogram_chart():

    table = P.log2_histogram(torch.tensor([1e-9, 1e-6, 1e-3]), low=-40, high=0)
    spec = charts.gradient_histogram(table, {"smallest subnormal": -24, "smallest normal": -14}).to_dict()
    assert len(spec["layer"]) == 3  # bars, rules, labels
    datasets = list(spec["datasets"].values())
    assert any(len(d) == 40 and sum(r["count"] for r in d) == 3 for d in datasets)
    assert any([r["log2"] for r in d] == [-24, -14] for d in datasets if d and "log2" in d[0])
    assert len(charts.gradient_histogram(table).to_dict()["layer"]) == 1
    with pytest.raises(TypeError, match="DataFrame"):
        charts.gradient_histogram([1, 2])


def test_quantization_accuracy_chart():
    import pandas as pd


    table = pd.DataFrame({"bits": [2, 4, 8], "scheme": ["per channel"] * 3, "accuracy": [0.5, 0.8, 0.85]})
    spec = charts.quantization_accuracy(table, baseline=0.84).to_dict()
    values = [r for d in spec["datasets"].values() for r in d]
    assert {"fp32": 0.84} in values
    assert [r["accuracy"] for r in values if "accuracy" in r] == [0.5, 0.8, 0.85]
    assert "layer" not in charts.quantization_accuracy(table).to_dict()
    with pytest.raises(TypeError, match="DataFrame"):
        charts.quantization_accuracy(None)


# ---------------------------------------------------------------- real bytes of a quantized model


def test_pack_int4_two_codes_per_byte():
    packed = P.pack_int4(torch.tensor([-8, 7, 0, 1, -1], dtype=torch.int8))
    # (code + 8): 0 | 15<<4 = 240; 8 | 9<<4 = 152; 7 | pad 0 = 7
    assert packed.dtype == torch.uint8 and packed.tolist() == [240, 152, 7]
    assert P.unpack_int4(packed, 5).tolist() == [-8, 7, 0, 1, -1]
    with pytest.raises(ValueError, match="-8"):
        P.pack_int4(torch.tensor([8]))
    with pytest.raises(TypeError, match="codes"):
        P.pack_int4(torch.tensor([0.5]))


def test_quantized_state_bytes_measured_by_hand():
    m = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4))
    n_weights, n_rows = 16 * 32 + 32 * 4, 32 + 4
    st8 = P.quantized_state(m, 8)
    assert st8["0.codes"].dtype == torch.int8 and st8["0.scale"].shape == (32, 1)
    assert P.tensor_bytes(st8) == n_weights * 1 + n_rows * 4
    assert P.tensor_bytes(P.quantized_state(m, 4)) == n_weights // 2 + n_rows * 4
    assert P.tensor_bytes(P.quantized_state(m, 8, per_channel=False)) == n_weights + 2 * 4
    assert P.tensor_bytes(m) == 4 * (n_weights + n_rows)  # fp32 weights + biases
    # the stored codes give back the fake-quantized weights
    q, _ = P.quantize_linear_weights(m, 4)
    codes = P.unpack_int4(P.quantized_state(m, 4)["2.codes"], 32 * 4).view(4, 32)
    assert torch.allclose(P.dequantize(codes, P.quantized_state(m, 4)["2.scale"]), q[2].weight)
    with pytest.raises(ValueError, match="bits"):
        P.quantized_state(m, 6)


def test_tensor_bytes_counts_shared_storage_once():
    t = torch.zeros(100)
    assert P.tensor_bytes([t, t[:10], t[50:]]) == 400
    with pytest.raises(TypeError, match="tensors"):
        P.tensor_bytes([1, 2])


def test_time_matmul_one_thread_restores_the_thread_count():
    before = torch.get_num_threads()
    t = P.time_matmul(torch.float32, 32, repeats=2, threads=1)
    assert len(t.samples) == 2 and t.n_threads == 1
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="threads"):
        P.time_matmul(torch.float32, 32, threads=0)


def test_half_precision_verdict_follows_the_flags():
    """The sentence lessons 03 and 04 print instead of a fixed "buys memory only" (issue 22, C7)."""
    none = P.half_precision_verdict({"bf16": False, "fp16": False})
    assert "buys memory only" in none and "speed" not in none
    bf16 = P.half_precision_verdict({"bf16": True, "fp16": False})
    assert "bf16 can buy speed as well as memory" in bf16 and "fp16 buys memory only" in bf16
    fp16 = P.half_precision_verdict({"bf16": False, "fp16": True})
    assert "fp16 can buy speed as well as memory" in fp16 and "bf16 buys memory only" in fp16
    both = P.half_precision_verdict({"bf16": True, "fp16": True})
    assert "both 16-bit formats can buy speed" in both and "memory only" not in both
    with pytest.raises(ValueError, match="flags"):
        P.half_precision_verdict({"bf16": True})
    with pytest.raises(TypeError, match="flags"):
        P.half_precision_verdict({"bf16": 1, "fp16": False})
