"""Issue 12's examples, one by one: each bad input is a ValueError/TypeError naming the caller's argument.

The property tests (tests/contract/test_properties.py) try many generated inputs; these
pin the exact cases the issue reported, so a regression names itself.
"""

import math
import time

import pytest
import torch
from torch import nn

from course_lib import cost, data, env, hardware, measure, models, precision, predict, processes, serving
from course_lib import simulate, zero_fit
from course_lib.ui import calculators, text, widgets


def test_huge_int_is_named_not_overflowed():
    with pytest.raises(ValueError, match="^n_params must be a finite number"):
        predict.training_flops(10**400, 1)


@pytest.mark.parametrize("call, names", [
    (lambda: predict.training_flops(1e300, 1e300), "n_params, n_tokens"),
    (lambda: cost.lifetime_split(1e308, 1e308, years=10), "training_cost, inference_cost_per_year"),
    (lambda: cost.break_even_days(2e6, 5e-324), "inference_cost_per_day"),
    (lambda: cost.accelerator_hours(1e20, 5e-324, 5e-324), "peak_flops, utilization"),
])
def test_results_are_finite_or_a_named_error(call, names):
    with pytest.raises(ValueError, match=f"overflows because of {names}:"):
        call()


def test_errors_name_the_callers_argument():
    with pytest.raises(ValueError, match=r"^training_hours\(model=1e\+300.*because of model"):
        cost.training_hours(1e300, 1e10)
    with pytest.raises(ValueError, match="^train_utilization must be"):
        cost.cost_scenario(train_utilization=2.0)
    with pytest.raises(ValueError, match="^serve_utilization must be"):
        cost.cost_scenario(serve_utilization=0.0)
    with pytest.raises(ValueError, match="^batch_per_gpu must be"):
        zero_fit.zero_fit(batch_per_gpu=0)
    with pytest.raises(ValueError, match="^target_loss must be") as err:
        cost.optimal_size(1e300, 0)
    assert "math domain" not in str(err.value)


def test_tensors_and_models_are_checked_at_the_boundary():
    mlp = models.MLP(d_in=8, hidden=16, d_out=2, depth=1)
    with pytest.raises(TypeError, match="^inputs must have a floating-point dtype"):
        measure.count_flops(mlp, torch.zeros(4, 8, dtype=torch.long))
    with pytest.raises(ValueError, match="^inputs must have 8 features"):
        measure.count_flops(mlp, torch.zeros(4, 9))
    with pytest.raises(ValueError, match="^inputs of shape"):  # a plain torch module: torch's error, named
        measure.count_flops(nn.Linear(8, 2), torch.zeros(4, 9))
    with pytest.raises(ValueError, match="^x contains NaN"):
        mlp(torch.full((2, 8), math.nan))
    gpt = models.TinyGPT(vocab_size=16, d_model=16, n_heads=2, n_layers=1, max_seq_len=8)
    for bad, kind in ((torch.tensor([[16]]), ValueError), (torch.tensor([[-1]]), ValueError),
                      (torch.tensor([[1.0]]), TypeError), ([[1, 2]], TypeError), (torch.tensor([1, 2]), ValueError)):
        with pytest.raises(kind, match="^idx"):
            gpt(bad)
    with pytest.raises(ValueError, match="^model must have parameters"):
        precision.accuracy(nn.Identity(), torch.zeros(2, 3), torch.zeros(2, dtype=torch.long))


def test_model_constructors_validate():
    with pytest.raises(ValueError, match="^d_model must be an integer"):
        models.CausalSelfAttention(-1, 2)
    with pytest.raises(ValueError, match="^d_model must be divisible by n_heads"):
        models.CausalSelfAttention(16, 3)
    with pytest.raises(ValueError, match=r"hidden=1000000.*GiB"):
        models.MLP(hidden=10**6)  # 4 TB of weights
    with pytest.raises(ValueError, match=r"d_model=4096, n_layers=64.*GiB"):
        models.TinyGPT(d_model=4096, n_layers=64)


def test_upper_bounds():
    with pytest.raises(ValueError, match="^repeats must be an integer from 1 to 10_000"):
        measure.time_it(lambda: None, repeats=10**9)
    with pytest.raises(ValueError, match="^n_requests"):
        simulate.simulate_batching(10.0, 4, 0.001, 0.001, 0.001, n_requests=10**7)
    with pytest.raises(ValueError, match="^n_replicas"):
        simulate.simulate_batching(10.0, 4, 0.001, 0.001, 0.001, n_replicas=10**8)
    with pytest.raises(ValueError, match="^n_requests"):
        serving.replicas_for_p95(100.0, 0.05, 0.01, n_requests=10**7)
    with pytest.raises(ValueError, match="^seed must be an integer from 0 to"):
        data.make_tokens(seed=2**64)


def test_threads_are_bounded_by_the_cores():
    cores = env.available_cpus()
    with pytest.raises(ValueError, match=f"^n_threads must be an integer from 1 to {cores}"):
        env.configure_threads(100000)
    before = torch.get_num_threads()
    try:
        assert env.configure_threads(cores) == cores
    finally:
        torch.set_num_threads(before)


def test_cgroup_cpu_max_with_zero_period(tmp_path):
    (tmp_path / "cpu.max").write_text("100000 0\n")
    assert env.cpu_quota(tmp_path) is None
    assert env.available_cpus(tmp_path) >= 1
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert env.cpu_quota(tmp_path) == 1.5


def test_check_world_size_refuses_non_positive_memory():
    for bad in (-1, 0):
        with pytest.raises(ValueError, match="^per_worker_mb"):
            processes.check_world_size(2, per_worker_mb=bad)


def test_records_and_dicts_are_checked():
    with pytest.raises(TypeError, match="^s must be a CostScenario"):
        text.format_scenario(None)
    with pytest.raises(TypeError, match=r"^result must be a FitResult from will_it_fit, got \{\} \(dict\)"):
        calculators.render_fit({})  # a dict is no longer a result: will_it_fit returns a FitResult
    with pytest.raises(ValueError, match="^intensity_range must have at least 2"):
        hardware.roofline_table([hardware.accelerator("L4")], intensity_range=[])
    import ipywidgets as w

    with pytest.raises(TypeError, match="^title must be a string"):
        widgets.Calculator({"a": w.FloatText(1.0)}, lambda a: a, str, title=5)


def test_serve_honours_its_timeout_promptly():
    # Arrivals 100 s apart on average: the old feeder slept a whole gap before looking at the deadline;
    # now arrivals that cannot fit in timeout_s are refused before any process starts (issue 26).
    start = time.monotonic()
    with pytest.raises(ValueError, match="timeout_s=5"):
        serving.serve(1, rate=0.01, n_requests=3, d_model=16, n_layers=1, n_heads=2, seq_len=8, timeout_s=5)
    assert time.monotonic() - start < 30
