"""Tests for course_lib.hardware: datasheet table, ridge point, the batch at
which a matmul turns compute-bound, this machine's measurement, the roofline."""

import math

import pandas as pd
import pytest
import torch

from course_lib import hardware as hw
from course_lib.predict import arithmetic_intensity
from course_lib.ui import charts


def test_table_has_the_listed_accelerators_with_sources():
    for name in ("H100 SXM", "A100 80GB SXM", "L4", "T4"):
        a = hw.accelerator(name)
        assert a.source
        assert a.bandwidth == pytest.approx(a.bandwidth_tbs * 1e12)
    assert hw.accelerator("H100 SXM").peak_flops("bf16") == pytest.approx(989e12)
    with pytest.raises(ValueError, match="fp8"):
        hw.accelerator("A100 80GB SXM").peak_flops("fp8")
    with pytest.raises(ValueError, match="name"):
        hw.accelerator("H200")


def test_ridge_point_by_hand():
    # H100 bf16: 989e12 / 3.35e12 = 295.2 FLOP/byte
    assert hw.ridge_point(989e12, 3.35e12) == pytest.approx(295.22, rel=1e-4)
    assert hw.attainable_flops(10, 989e12, 3.35e12) == pytest.approx(33.5e12)
    assert hw.attainable_flops(1000, 989e12, 3.35e12) == pytest.approx(989e12)
    with pytest.raises(ValueError, match="bandwidth"):
        hw.ridge_point(1e12, 0)


def test_compute_bound_batch_is_the_smallest_batch_past_the_ridge():
    h100 = hw.accelerator("H100 SXM")
    ridge = hw.ridge_point(h100.peak_flops("bf16"), h100.bandwidth)
    b = hw.compute_bound_batch(8192, 8192, h100.peak_flops("bf16"), h100.bandwidth, 2)
    assert arithmetic_intensity(b, 8192, 8192, 2) >= ridge > arithmetic_intensity(b - 1, 8192, 8192, 2)
    # closed form: B = R*2*k*n / (2kn - R*2*(k+n)) with k = n = 8192
    k = 8192
    assert b == math.ceil(ridge * 2 * k * k / (2 * k * k - ridge * 2 * 2 * k))
    # for large layers the batch is close to the ridge (How to Scale Your Model: B ≈ R)
    assert ridge < b < 1.1 * ridge


def test_compute_bound_batch_none_when_layer_too_small():
    # a 64x64 layer in bf16 can never reach intensity 295: at most 2*64*64/(2*(64+64)) = 32
    assert hw.compute_bound_batch(64, 64, 989e12, 3.35e12, 2) is None
    with pytest.raises(ValueError, match="k"):
        hw.compute_bound_batch(0, 64, 1e12, 1e9)


@pytest.fixture(scope="module")
def machine():
    return hw.measure_machine(repeats=3)


def test_measure_machine_reports_positive_numbers_quickly(machine):
    assert set(machine.flops) == {"fp32", "bf16", "fp16"}
    assert all(f > 0 and math.isfinite(f) for f in machine.flops.values())
    assert machine.bandwidth > 0
    assert machine.copy_bytes == 2 * 64 * 2**20 or machine.device == "cuda"
    assert machine.peak_flops("fp32") == machine.flops["fp32"]
    assert machine.ridge("fp32") == pytest.approx(machine.flops["fp32"] / machine.bandwidth)
    with pytest.raises(ValueError, match="dtype"):
        machine.peak_flops("int8")


def test_measure_machine_is_quick():
    """A budget, not a timing comparison: CPU time of this process on one thread (about 0.3 s
    here), which other programs on the machine do not inflate the way they do wall time."""
    import time

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        start = time.process_time()
        hw.measure_machine()
        assert time.process_time() - start < 10  # the target is 3 s
    finally:
        torch.set_num_threads(before)


def test_roofline_table_by_hand(machine):
    l4 = hw.accelerator("L4")
    t = hw.roofline_table([l4], "bf16", (1.0, 1000.0))
    assert list(t["intensity"]) == pytest.approx([1.0, 121e12 / 0.30e12, 1000.0])
    assert list(t["TFLOP/s"]) == pytest.approx([0.30, 121, 121])
    both = hw.roofline_table([l4, machine], "bf16")
    assert both["device"].nunique() == 2
    with pytest.raises(TypeError, match="devices"):
        hw.roofline_table(["L4"])
    with pytest.raises(ValueError, match="increasing"):
        hw.roofline_table([l4], "bf16", (10.0, 1.0))


def test_roofline_chart_has_lines_and_points(machine):
    pts = pd.DataFrame({"label": ["matmul"], "intensity": [5.0], "TFLOP/s": [0.01]})
    spec = charts.roofline_chart(hw.roofline_table([hw.accelerator("H100 SXM"), machine]), points=pts).to_dict()
    assert len(spec["layer"]) == 2


def test_measure_matmul_point_is_on_the_intensity_formula():
    p = hw.measure_matmul(4, 256, 128, repeats=2)
    assert p.intensity == pytest.approx(arithmetic_intensity(4, 256, 128, 4))
    assert p.flops_per_s == pytest.approx(2 * 4 * 256 * 128 / p.seconds)
    assert hw.measure_matmul(2, 64, 64, dtype="bf16", repeats=1).intensity == pytest.approx(
        arithmetic_intensity(2, 64, 64, 2))
    with pytest.raises(ValueError, match="dtype"):
        hw.measure_matmul(2, 64, 64, dtype="int8")
    with pytest.raises(ValueError, match="batch"):
        hw.measure_matmul(0, 64, 64)


def test_roofline_table_accepts_device_dtype_pairs(machine):
    t = hw.roofline_table([(hw.accelerator("T4"), "fp32"), (machine, "fp32")], "bf16")
    t4 = t[t["device"] == "T4 (fp32)"]
    assert list(t4["TFLOP/s"])[-1] == pytest.approx(8.1)
    assert (t["device"].str.endswith("(fp32)")).all()


def test_cpu_cache_sizes_reads_sysfs(tmp_path):
    for i, (level, kind, size) in enumerate([("1", "Data", "48K"), ("1", "Instruction", "32K"), ("2", "Unified", "2048K"), ("3", "Unified", "32M")]):
        d = tmp_path / f"index{i}"
        d.mkdir()
        (d / "level").write_text(level + "\n")
        (d / "type").write_text(kind + "\n")
        (d / "size").write_text(size + "\n")
    assert hw.cpu_cache_sizes(str(tmp_path)) == {"L1d": 48 * 1024, "L1i": 32 * 1024, "L2": 2 * 2**20, "L3": 32 * 2**20}
    assert hw.cpu_cache_sizes(str(tmp_path / "none")) == {}


def test_measure_matmul_fastest_statistic():
    fast = hw.measure_matmul(4, 128, 128, repeats=5, statistic="fastest")
    assert fast.flops_per_s == pytest.approx(2 * 4 * 128 * 128 / fast.seconds)
    with pytest.raises(ValueError, match="statistic"):
        hw.measure_matmul(4, 128, 128, statistic="mean")


def test_the_newer_accelerators_and_their_datasheets():
    acc = hw.ACCELERATORS
    for name in ("H200 SXM", "B200", "H100 PCIe", "H800 SXM", "A100 40GB SXM", "A100 80GB PCIe", "V100 SXM2", "L40S",
                 "MI300X", "RTX 4090"):
        a = acc[name]
        assert a.source and a.memory_gb > 0 and a.bandwidth_tbs > 0 and a.tdp_w > 0 and a.interconnect_gbs > 0
    # the H200 is an H100 with more and faster memory (NVIDIA H200 datasheet): same dense peaks
    assert acc["H200 SXM"].peak_flops("bf16") == acc["H100 SXM"].peak_flops("bf16") == 989e12
    assert (acc["H200 SXM"].memory_gb, acc["H200 SXM"].bandwidth_tbs) == (141, 4.8)
    # the H800 differs from the H100 SXM in its NVLink only (400 vs 900 GB/s)
    assert acc["H800 SXM"].peak_flops("fp8") == acc["H100 SXM"].peak_flops("fp8")
    assert acc["H800 SXM"].link_bandwidth == 200e9 and acc["H100 SXM"].link_bandwidth == 450e9
    # fp4 only on Blackwell; no int8 tensor cores on the V100; fp16 reads the 16-bit tensor figure
    assert acc["B200"].peak_flops("fp4") == 9000e12
    with pytest.raises(ValueError, match="fp4"):
        acc["H100 SXM"].peak_flops("fp4")
    with pytest.raises(ValueError, match="int8"):
        acc["V100 SXM2"].peak_flops("int8")
    assert acc["L40S"].peak_flops("fp16") == 362e12
    # the old tables keep their four rows (lessons 03 and 04)
    assert list(hw.peak_table()["GPU"]) == ["H100 SXM", "A100 80GB SXM", "L4", "T4"]


def test_a_learner_describes_their_own_accelerator():
    mine = hw.Accelerator("my GPU", 48, 0.96, 40, 180, None, 360, 300, "PCIe Gen4 x16", 64, "my datasheet")
    assert hw.resolve(mine) is mine
    from course_lib import cost, generation
    # 6 N D / (peak x utilization): 7e9 parameters, 1e12 tokens, 180 TFLOP/s at 40 %
    assert cost.training_hours(7e9, 1e12, accelerator=mine, utilization=0.4) == pytest.approx(6 * 7e9 * 1e12 / (180e12 * 0.4) / 3600)
    e = generation.estimate("llama-3-8b", accelerator=mine, prompt_len=100, output_len=10)
    assert e.accelerator == "my GPU" and e.memory_bytes == 48 * 10**9
    with pytest.raises(ValueError, match="bandwidth_tbs"):
        hw.Accelerator("bad", 48, -1, 40, 180, None, 360, 300, "PCIe", 64, "x")
    with pytest.raises(ValueError, match="accelerator"):
        hw.resolve("no such GPU")
