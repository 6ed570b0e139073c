"""FLOP counting and timing (course_lib.measure) on small models with known answers."""

import pytest
import torch

from course_lib import measure, models, predict, references


def test_linear_forward_flops_is_2mkn():
    layer = torch.nn.Linear(256, 512)
    assert measure.count_flops(layer, torch.zeros(32, 256)) == 2 * 32 * 256 * 512


def test_mlp_backward_skips_first_input_gradient():
    mlp = models.MLP(d_in=32, hidden=128, d_out=4, depth=2)
    x = torch.zeros(8, 32)
    per_layer = [2 * 8 * 32 * 128, 2 * 8 * 128 * 128, 2 * 8 * 128 * 4]
    assert measure.count_flops(mlp, x) == sum(per_layer)
    assert measure.count_flops(mlp, x, backward=True) == 3 * sum(per_layer) - per_layer[0]
    # an input that needs a gradient makes it exactly 3x
    x.requires_grad_(True)
    assert measure.count_flops(mlp, x, backward=True) == 3 * sum(per_layer)


def test_flops_by_module_sums_to_total():
    mlp = models.MLP(d_in=32, hidden=128, d_out=4, depth=2)
    x = torch.zeros(8, 32)
    by = measure.flops_by_module(mlp, x, backward=True)
    assert by == {"net.0": 2 * 2 * 8 * 32 * 128, "net.2": 3 * 2 * 8 * 128 * 128, "net.4": 3 * 2 * 8 * 128 * 4}
    assert sum(by.values()) == measure.count_flops(mlp, x, backward=True)


def test_tinygpt_forward_flops_formula():
    gpt = models.TinyGPT(vocab_size=32, d_model=32, n_heads=4, n_layers=3, max_seq_len=16)
    ids = torch.zeros(2, 16, dtype=torch.int64)
    n = sum(m.weight.numel() for m in gpt.modules() if isinstance(m, torch.nn.Linear))
    b, s, d, L = 2, 16, 32, 3
    assert measure.count_flops(gpt, ids) == 2 * n * b * s + 4 * L * b * s * s * d
    assert measure.count_flops(gpt, ids, backward=True) == 3 * measure.count_flops(gpt, ids)
    by = measure.flops_by_module(gpt, ids)
    assert by["blocks.0.attn"] == 4 * b * s * s * d
    assert by["head"] == predict.matmul_flops(b * s, d, 32)
    assert sum(by.values()) == measure.count_flops(gpt, ids)


def test_count_flops_leaves_grads_unchanged():
    mlp = models.MLP()
    x = torch.zeros(4, 32)
    measure.count_flops(mlp, x, backward=True)
    assert all(p.grad is None for p in mlp.parameters())


def test_time_it_statistics():
    calls = []
    t = measure.time_it(lambda: calls.append(1), warmup=2, repeats=5)
    assert len(calls) == 7 and len(t.samples) == 5
    assert t.fastest <= t.p10 <= t.median <= t.p90
    assert t.n_threads == torch.get_num_threads()
    assert "median" in str(t)


def test_timing_quantiles_are_exact():
    t = measure.Timing(samples=(5.0, 1.0, 3.0, 2.0, 4.0), n_threads=1, device="cpu")
    assert t.median == 3.0 and t.fastest == 1.0
    assert t.percentile(25) == 2.0 and t.iqr == 2.0
    assert t.p10 == pytest.approx(1.4) and t.p90 == pytest.approx(4.6)


def test_compare_reports_the_fastest_runs_and_never_raises_on_a_reversal():
    slow = measure.Timing(samples=(0.030, 0.009, 0.012), n_threads=2, device="cpu")
    fast = measure.Timing(samples=(0.004, 0.003, 0.250), n_threads=2, device="cpu")
    said = measure.compare(slow, fast, "a training step", "an inference call")
    assert said == ("a training step took 3× as long as an inference call "
                    "(fastest runs: 9 ms and 3 ms), as expected.")
    # the opposite outcome (a busy machine) is reported, not asserted
    backwards = measure.compare(fast, slow, "a training step", "an inference call")
    assert backwards.startswith("a training step took 0.333× as long") and "run the cell again" in backwards
    equal = measure.compare(fast, fast, "a", "b")
    assert "opposite" in equal  # not slower is not what is expected
    with pytest.raises(TypeError, match="slower must be a Timing"):
        measure.compare(0.009, fast, "a", "b")
    with pytest.raises(ValueError, match="faster_name"):
        measure.compare(slow, fast, "a", " ")


@pytest.mark.parametrize(
    "call, exc, words",
    [
        (lambda: measure.count_flops("model", torch.zeros(1)), TypeError, "model"),
        (lambda: measure.count_flops(models.MLP(), torch.zeros(1, 32), backward="yes"), TypeError, "backward"),
        (lambda: measure.time_it(42), TypeError, "fn"),
        (lambda: measure.time_it(lambda: None, repeats=0), ValueError, "repeats"),
        (lambda: measure.time_it(lambda: None, warmup=-1), ValueError, "warmup"),
        (lambda: measure.Timing((1.0,), 1, "cpu").percentile(200), ValueError, "p"),
    ],
)
def test_bad_input(call, exc, words):
    with pytest.raises(exc, match=words):
        call()


# ---------------------------------------------------------------- MFU


def test_mfu_is_flops_over_time_over_peak():
    assert measure.mfu(4e12, 2.0, 5e12) == pytest.approx(0.4)  # 2 TFLOP/s achieved of 5
    for bad in (dict(model_flops=0, seconds=1, peak_flops=1), dict(model_flops=1, seconds=-1, peak_flops=1),
                dict(model_flops=1, seconds=1, peak_flops=float("nan"))):
        with pytest.raises(ValueError, match=next(iter(k for k, val in bad.items() if not val > 0))):
            measure.mfu(**bad)


def test_matmul_peak_is_positive_and_rejects_bad_n():
    assert measure.matmul_peak(n=64, repeats=2) > 0
    with pytest.raises(ValueError, match="n"):
        measure.matmul_peak(n=0)


def test_mfu_references_match_the_papers():
    refs = references.MFU_REFERENCES
    assert refs["palm_540b"].value == 0.462 and "PaLM" in refs["palm_540b"].source
    assert (refs["llama3_405b_low"].value, refs["llama3_405b_high"].value) == (0.38, 0.43)
    assert all(r.source for r in refs.values())


def test_memory_is_measured_by_memory_only():
    # issue 19: no re-exports in measure; the memory measurements live in memory.
    import torch

    from course_lib import measure, memory
    from course_lib.models import MLP

    assert not hasattr(measure, "training_memory") and not hasattr(measure, "inference_memory")
    model = MLP(d_in=8, hidden=16, d_out=2, depth=1)
    report = memory.training_memory(model, torch.randn(4, 8), optimizer="sgd")
    # 8*16+16 + 16*2+2 = 178 fp32 parameters: weights and gradients 712 bytes each, SGD keeps no state.
    assert (report.weights, report.gradients, report.optimizer_state) == (712, 712, 0)
