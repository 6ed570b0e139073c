"""The formulas in course_lib.predict, checked against hand arithmetic and published figures."""

import math

import pytest

from course_lib import predict, train


def test_flops_rules():
    assert predict.matmul_flops(8, 1024, 4096) == 67_108_864
    assert predict.inference_flops(7e9, 1000) == 1.4e13
    assert predict.training_flops(7e9, 2e12) == pytest.approx(8.4e22)
    # Chinchilla: 70B parameters on 1.4T tokens (Hoffmann et al. 2022) -> 5.88e23 FLOPs
    assert predict.training_flops(70e9, 1.4e12) == pytest.approx(5.88e23)


@pytest.mark.parametrize(
    "optimizer, precision, total",
    [
        ("sgd", "fp32", 8),
        ("momentum", "fp32", 12),
        ("adam", "fp32", 16),
        ("adamw", "fp32", 16),
        ("adam", "mixed", 16),  # ZeRO: 2 + 2 + 12
        ("adamw", "mixed_fp32_grads", 20),  # Ultra-Scale Playbook
        ("adamw", "mixed_hf", 18),  # HF model_memory_anatomy
        ("adamw", "bf16", 8),
    ],
)
def test_bytes_per_param(optimizer, precision, total):
    assert predict.bytes_per_param(optimizer, precision) == total


def test_bytes_per_param_breakdown_mixed_adam_is_zero_accounting():
    assert predict.bytes_per_param_breakdown("adam", "mixed") == {"weights": 2, "gradients": 2, "optimizer_state": 12}


def test_zero_gpt2_example():
    # ZeRO paper: 1.5B-parameter GPT-2 needs at least 24 GB of model state in mixed-precision Adam, 3 GB of fp16 weights
    assert 1.5e9 * predict.bytes_per_param("adam", "mixed") == 24e9
    assert 1.5e9 * predict.bytes_per_param_breakdown("adam", "mixed")["weights"] == 3e9


def test_kv_cache_llama2_13b():
    # 40 layers, 40 KV heads of dim 128, 8192 tokens, bf16: ~6.7 GB (How to Scale Your Model)
    got = predict.kv_cache_bytes(40, 40, 128, 8192)
    assert got == 2 * 2 * 128 * 40 * 40 * 8192 == 6_710_886_400
    assert predict.kv_cache_bytes(40, 40, 128, 8192, batch=4) == 4 * got
    assert predict.kv_cache_bytes(40, 40, 128, 8192, bytes_per_value=0.5) == got // 4


def test_transformer_activation_formula():
    s, b, h, a = 2048, 1, 4096, 32
    assert predict.transformer_activation_bytes(s, b, h, a) == s * b * h * (34 + 5 * a * s / h)
    assert predict.transformer_activation_bytes(s, b, h, a, n_layers=2) == 2 * s * b * h * (34 + 5 * a * s / h)


def test_arithmetic_intensity():
    # square bf16 matmul n=4096: 2n^3 / (2 * 3n^2) = n/3
    assert predict.arithmetic_intensity(4096, 4096, 4096, 2) == pytest.approx(4096 / 3)
    # B << D, F: intensity ~ B (How to Scale Your Model)
    assert predict.arithmetic_intensity(16, 8192, 8192, 2) == pytest.approx(16, rel=0.01)


def test_zero_paper_example():
    # 7.5B parameters, 64 devices, mixed-precision Adam: 120 / 31.4 / 16.6 / 1.9 GB (Rajbhandari et al.)
    got = [predict.zero_memory_per_device(7_500_000_000, 64, stage) / 1e9 for stage in range(4)]
    assert [round(g, 1) for g in got] == [120.0, 31.4, 16.6, 1.9]


def test_zero_stage0_matches_bytes_per_param_fp32():
    n = 1_000_003
    for opt in train.OPTIMIZER_NAMES:
        assert predict.zero_memory_per_device(n, 8, 0, opt, "fp32") == n * predict.bytes_per_param(opt, "fp32")
    # one device: sharding changes nothing
    assert predict.zero_memory_per_device(n, 1, 3) == predict.zero_memory_per_device(n, 1, 0)
    # shards round up
    assert predict.zero_memory_per_device(3, 2, 3, "sgd", "fp32") == math.ceil(3 * 8 / 2)


def test_allreduce_bytes():
    assert predict.allreduce_bytes(1000, 1) == 0
    assert predict.allreduce_bytes(1000, 2) == 1000
    assert predict.allreduce_bytes(1000, 4) == 1500


@pytest.mark.parametrize(
    "call, exc, words",
    [
        (lambda: predict.matmul_flops(0, 1, 1), ValueError, "m"),
        (lambda: predict.matmul_flops(1.5, 1, 1), TypeError, "m"),
        (lambda: predict.training_flops(-1, 10), ValueError, "n_params"),
        (lambda: predict.inference_flops(10, float("nan")), ValueError, "n_tokens"),
        (lambda: predict.bytes_per_param("lion"), ValueError, "optimizer"),
        (lambda: predict.bytes_per_param("adam", "fp64"), ValueError, "precision"),
        (lambda: predict.kv_cache_bytes(0, 1, 1, 1), ValueError, "n_layers"),
        (lambda: predict.kv_cache_bytes(1, 1, 1, 1, bytes_per_value=0), ValueError, "bytes_per_value"),
        (lambda: predict.zero_memory_per_device(10, 0, 1), ValueError, "n_devices"),
        (lambda: predict.zero_memory_per_device(10, 2, 4), ValueError, "stage"),
        (lambda: predict.zero_memory_per_device(10, 2, "1"), TypeError, "stage"),
        (lambda: predict.allreduce_bytes(-1, 2), ValueError, "n_bytes"),
        (lambda: predict.arithmetic_intensity(1, 1, 1, 0), ValueError, "bytes_per_value"),
        (lambda: predict.training_flops(True, 10), TypeError, "n_params"),
    ],
)
def test_bad_input_names_the_argument(call, exc, words):
    with pytest.raises(exc, match=words):
        call()
