"""Tests for course_lib.simulate: the batching simulator against answers
computed independently (by hand, by a queueing formula, or by a separate
straightforward recursion written here)."""

import math

import numpy as np
import pytest

from course_lib import simulate as sim
from course_lib.ui import calculators, charts, text
from course_lib.ui.widgets import calc_outputs


def _arrivals(rate, n, seed):
    return np.cumsum(np.random.default_rng(seed).exponential(1.0 / rate, size=n))


def _lindley(arrivals, service):
    """One FIFO server, one request at a time: start = max(arrival, previous end)."""
    end, done = 0.0, []
    for t in arrivals:
        end = max(t, end) + service
        done.append(end)
    return np.array(done)


def _greedy_batches(arrivals, max_batch, service):
    """timeout 0: a free server takes every request already there (up to max_batch)."""
    done = np.zeros(len(arrivals))
    free, i = 0.0, 0
    while i < len(arrivals):
        start = max(free, arrivals[i])
        j = i
        while j < len(arrivals) and j - i < max_batch and arrivals[j] <= start:
            j += 1
        free = start + service(j - i)
        done[i:j] = free
        i = j
    return done


def test_low_load_single_request_latency_is_the_service_time():
    r = sim.simulate_batching(1.0, 1, 0.0, 0.001, 0.001, n_requests=500)
    assert r.p50 == pytest.approx(0.002, abs=1e-12)
    assert r.mean_batch == 1.0
    assert r.n_batches == 500


def test_low_load_with_timeout_waits_the_timeout_then_serves_alone():
    # requests are ~1 s apart: each waits the whole 5 ms timeout, then runs as a batch of 1
    r = sim.simulate_batching(1.0, 8, 0.005, 0.002, 0.0005, n_requests=300)
    assert r.p50 == pytest.approx(0.005 + 0.002 + 0.0005, abs=1e-12)
    assert r.mean_batch == pytest.approx(1.0, abs=0.02)


def test_max_batch_1_matches_lindley_recursion_exactly():
    rate, d, n = 300.0, 0.002, 1000
    r = sim.simulate_batching(rate, 1, 0.0, 0.0015, 0.0005, n_requests=n, seed=3)
    want = _lindley(_arrivals(rate, n, 3), d) - _arrivals(rate, n, 3)
    np.testing.assert_allclose(r.latencies, want, rtol=0, atol=1e-12)
    assert r.utilization == pytest.approx(n * d / (_arrivals(rate, n, 3)[-1] + want[-1]))


def test_timeout_zero_matches_greedy_batching():
    rate, n = 3000.0, 1500
    cost = lambda b: 0.001 + 0.0002 * b
    r = sim.simulate_batching(rate, 8, 0.0, 0.001, 0.0002, n_requests=n, seed=7)
    arr = _arrivals(rate, n, 7)
    np.testing.assert_allclose(r.latencies, _greedy_batches(arr, 8, cost) - arr, rtol=0, atol=1e-12)
    assert r.mean_batch > 1.5  # at this load requests do share batches


def test_round_robin_replicas_are_independent_lindley_queues():
    rate, n, reps, d = 900.0, 1200, 3, 0.003
    r = sim.simulate_batching(rate, 1, 0.0, d, 0.0, n_requests=n, seed=1, n_replicas=reps)
    arr = _arrivals(rate, n, 1)
    want = np.zeros(n)
    for k in range(reps):
        want[k::reps] = _lindley(arr[k::reps], d) - arr[k::reps]
    np.testing.assert_allclose(r.latencies, want, rtol=0, atol=1e-12)
    assert r.n_replicas == reps


def test_least_loaded_matches_join_shortest_queue():
    rate, n, reps, d = 900.0, 1200, 3, 0.003
    r = sim.simulate_batching(rate, 1, 0.0, d, 0.0, n_requests=n, seed=2, n_replicas=reps, balancer="least_loaded")
    arr = _arrivals(rate, n, 2)
    ends = [[] for _ in range(reps)]
    want = []
    for t in arr:
        loads = [sum(e > t for e in ends[k]) for k in range(reps)]
        k = loads.index(min(loads))
        end = max(t, ends[k][-1] if ends[k] else 0.0) + d
        ends[k].append(end)
        want.append(end - t)
    np.testing.assert_allclose(r.latencies, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("rho", [0.5, 0.8])
def test_md1_mean_latency(rho):
    d = 0.002
    rate = rho / d
    r = sim.simulate_batching(rate, 1, 0.0, d, 0.0, n_requests=100_000, seed=0)
    assert r.mean_latency == pytest.approx(sim.md1_mean_latency(rate, d), rel=0.03)
    assert r.utilization == pytest.approx(rho, rel=0.02)
    assert r.throughput == pytest.approx(rate, rel=0.02)


def test_md1_formula_by_hand():
    # rho = 250 * 0.002 = 0.5; Wq = 0.5 / (2 * 500 * 0.5) = 0.001; W = 0.002 + 0.001
    assert sim.md1_mean_latency(250, 0.002) == pytest.approx(0.003)
    with pytest.raises(ValueError, match="< 1"):
        sim.md1_mean_latency(500, 0.002)


def test_overload_reaches_max_throughput_with_full_batches():
    r = sim.simulate_batching(20_000, 8, 0.002, 0.001, 0.0005, n_requests=4000)
    assert sim.max_throughput(8, 0.001, 0.0005) == pytest.approx(8 / 0.005)
    assert r.throughput == pytest.approx(1600, rel=0.01)
    assert r.mean_batch == pytest.approx(8, rel=0.01)
    assert r.utilization == pytest.approx(1.0, rel=0.01)


def test_max_throughput_scales_with_replicas():
    assert sim.max_throughput(8, 0.001, 0.0005, n_replicas=2) == pytest.approx(3200)
    assert sim.max_throughput(1, 0.002, 0.0) == pytest.approx(500)


def test_batching_trades_latency_for_throughput_capacity():
    # at a rate that saturates max_batch=1 (capacity 500/s), batching keeps up
    b1 = sim.simulate_batching(800, 1, 0.0, 0.0015, 0.0005, n_requests=2000)
    b16 = sim.simulate_batching(800, 16, 0.002, 0.0015, 0.0005, n_requests=2000)
    assert b1.throughput == pytest.approx(500, rel=0.02)
    assert b16.throughput == pytest.approx(800, rel=0.05)
    assert b16.p95 < b1.p95


def test_percentiles_and_summary_are_consistent():
    r = sim.simulate_batching(400, 8, 0.003, 0.001, 0.0003, n_requests=2000, seed=5)
    lat = np.array(r.latencies)
    assert r.p50 <= r.p95 <= r.p99 <= lat.max()
    assert r.p95 == pytest.approx(np.percentile(lat, 95))
    assert r.mean_latency == pytest.approx(lat.mean())
    assert r.mean_batch == pytest.approx(r.n_requests / r.n_batches)
    assert 0 < r.utilization <= 1
    assert len(r.latencies) == r.n_requests


def test_deterministic_for_a_seed():
    a = sim.simulate_batching(400, 8, 0.003, 0.001, 0.0003, seed=11)
    b = sim.simulate_batching(400, 8, 0.003, 0.001, 0.0003, seed=11)
    c = sim.simulate_batching(400, 8, 0.003, 0.001, 0.0003, seed=12)
    assert a == b
    assert a.latencies != c.latencies


@pytest.mark.parametrize(
    "kwargs, err, words",
    [
        (dict(rate=0), ValueError, "rate"),
        (dict(rate=-5), ValueError, "rate"),
        (dict(rate=float("nan")), ValueError, "rate"),
        (dict(max_batch=0), ValueError, "max_batch"),
        (dict(max_batch=2.5), TypeError, "max_batch"),
        (dict(timeout=-0.001), ValueError, "timeout"),
        (dict(overhead=-1), ValueError, "overhead"),
        (dict(overhead=0, per_sample=0), ValueError, "overhead and per_sample"),
        (dict(n_requests=0), ValueError, "n_requests"),
        (dict(n_replicas=0), ValueError, "n_replicas"),
        (dict(balancer="random"), ValueError, "balancer"),
    ],
)
def test_rejects_bad_input(kwargs, err, words):
    args = dict(rate=100, max_batch=4, timeout=0.001, overhead=0.001, per_sample=0.001)
    args.update(kwargs)
    with pytest.raises(err, match=words):
        sim.simulate_batching(**args)


def test_fast_enough_for_a_widget():
    import time

    start = time.process_time()  # CPU time of this process: other programs do not inflate it
    sim.simulate_batching(500, 16, 0.002, 0.001, 0.0002, n_replicas=4, balancer="least_loaded")
    assert time.process_time() - start < 2.0  # the target is 0.2 s (about 0.015 s here)


def test_fit_cost_model_recovers_a_line():
    fit = sim.fit_cost_model([1, 2, 4, 8], [0.001 + 0.0005 * b for b in (1, 2, 4, 8)])
    assert fit.overhead == pytest.approx(0.001)
    assert fit.per_sample == pytest.approx(0.0005)
    assert fit.service_time(10) == pytest.approx(0.006)
    with pytest.raises(ValueError, match="two different"):
        sim.fit_cost_model([4, 4], [0.1, 0.2])
    with pytest.raises(ValueError, match="same length"):
        sim.fit_cost_model([1, 2], [0.1])
    with pytest.raises(ValueError, match="seconds"):
        sim.fit_cost_model([1, 2], [0.1, -0.2])


def test_measure_cost_model_on_a_tiny_mlp():
    import torch

    from course_lib.models import MLP

    model = MLP(d_in=8, hidden=16, d_out=2)
    fit, timings = sim.measure_cost_model(model, lambda b: torch.zeros(b, 8), (1, 8), repeats=3)
    assert set(timings) == {1, 8}
    assert fit.overhead >= 0 and fit.per_sample >= 0
    assert math.isfinite(fit.service_time(4))


def test_calculator_recomputes_and_renders():
    calc = calculators.batching_calculator(0.001, 0.0002, rate=300, max_batch=4, timeout_ms=2.0, n_requests=500)
    calc.controls["max_batch"].value = 16
    calc.controls["timeout_ms"].value = 4.0
    rate = calc.controls["rate"].value
    want = sim.simulate_batching(rate, 16, 0.004, 0.001, 0.0002, n_requests=500)
    assert calc.last_result == want
    for key, shown in text.format_batching(want).items():
        assert calc_outputs(calc.result_html.value)[key] == shown
    assert calc.last_error is None


def test_format_batching_by_hand():
    r = sim.SimResult(0.0123, 0.02, 0.031, 0.015, 512.4, 3.456, 0.789, 10, 3, 1, ())
    assert text.format_batching(r) == {
        "p50": "12.3 ms", "p95": "20.0 ms", "p99": "31.0 ms",
        "throughput": "512 req/s", "mean_batch": "3.46", "utilization": "79 %",
    }


def test_calculator_render_pins_its_text():
    r = sim.SimResult(0.0123, 0.02, 0.031, 0.015, 512.4, 3.456, 0.789, 10, 3, 1, ())
    assert calc_outputs(calculators.render_batching(r)) == {
        "p50": "12.3 ms", "p95": "20.0 ms", "p99": "31.0 ms",
        "throughput": "512 req/s", "mean_batch": "3.46", "utilization": "79 %",
    }


def test_calculator_with_replicas():
    calc = calculators.batching_calculator(0.002, 0.0005, max_replicas=4, n_requests=400)
    calc.controls["n_replicas"].value = 3
    calc.controls["balancer"].value = "least_loaded"
    assert calc.last_result.n_replicas == 3
    with pytest.raises(ValueError, match="overhead and per_sample"):
        calculators.batching_calculator(0, 0)


def test_sweep_rows_match_single_runs():
    table = sim.sweep([100, 400], [1, 8], 0.002, 0.001, 0.0005, n_requests=500)
    assert list(table["max_batch"]) == [1, 1, 8, 8]
    assert list(table["rate"]) == [100, 400, 100, 400]
    one = sim.simulate_batching(400, 8, 0.002, 0.001, 0.0005, n_requests=500)
    row = table.iloc[3]
    assert row["p95_ms"] == float(f"{one.p95 * 1e3:.4g}")
    assert row["mean_batch"] == float(f"{one.mean_batch:.4g}")
    with pytest.raises(ValueError, match="rate"):
        sim.sweep([0], [1], 0.0, 0.001, 0.0)


def test_charts():
    table = sim.sweep([100, 400], [1, 8], 0.002, 0.001, 0.0005, n_requests=300)
    spec = charts.tradeoff_chart(table).to_dict()
    assert spec["encoding"]["y"]["field"] == "p95_ms"
    with pytest.raises(ValueError, match="y must be"):
        charts.tradeoff_chart(table, "mean_ms")
    with pytest.raises(TypeError, match="DataFrame"):
        charts.tradeoff_chart([1, 2])
    res = sim.simulate_batching(300, 8, 0.002, 0.001, 0.0005, n_requests=300)
    layers = calculators.batching_chart(res).to_dict()["layer"]
    assert len(layers) == 2
    with pytest.raises(TypeError, match="SimResult"):
        calculators.batching_chart(res.latencies)
