"""A dynamic-batching server, simulated: latency percentiles and throughput
from arrival rate, maximum batch and timeout (lessons 03 and 06).

The model
---------
:func:`simulate_batching` is a plain discrete-event simulation::

    simulate_batching(rate, max_batch, timeout, overhead, per_sample, *,
                      n_requests=2000, seed=0, n_replicas=1,
                      balancer="round_robin") -> SimResult

All times are in **seconds**, ``rate`` in **requests per second**.

- **Arrivals**: ``n_requests`` requests arrive as a Poisson process of
  ``rate`` (exponential gaps from ``numpy.random.default_rng(seed)``); the
  first arrives after one gap, counted from time 0. The same arguments
  always give the same result.
- **Load balancer**: each request goes, on arrival, to one of ``n_replicas``
  identical servers, each with its own queue. ``"round_robin"``: request *i*
  goes to replica *i* mod R. ``"least_loaded"``: to the replica with the
  fewest outstanding requests (queued plus in service) at that moment; ties
  go to the lowest-numbered replica.
- **Batching** (per replica, like Triton's ``max_queue_delay``): a free
  server starts a batch as soon as its queue holds ``max_batch`` requests,
  or when the oldest queued request has waited ``timeout``, whichever comes
  first; the batch takes up to ``max_batch`` requests in arrival order.
  ``timeout=0`` means "start at once with whatever is queued". One batch
  runs at a time per replica.
- **Cost model**: a batch of *b* requests takes ``overhead + per_sample * b``
  seconds (fit both on this machine with :func:`measure_cost_model`).
- **Latency** of a request = its batch's completion time − its arrival time
  (queueing + waiting for the batch to fill + service).

:class:`SimResult` (frozen) reports ``p50``, ``p95``, ``p99``,
``mean_latency`` (seconds), ``throughput`` (completed requests per second,
``n_requests`` / time of the last completion), ``mean_batch`` (requests per
batch), ``utilization`` (busy time of all replicas / (R × time of the last
completion)), ``n_requests``, ``n_batches``, ``n_replicas``, and the raw
``latencies`` (tuple, in arrival order). The run starts empty and includes
its warm-up transient; use ``n_requests`` in the thousands for steady-state
numbers.

Known answers it is tested against: at low load with ``max_batch=1`` the
latency is the service time; with ``max_batch=1, timeout=0`` one replica is
an M/D/1 queue, whose mean latency is :func:`md1_mean_latency`; under
overload the throughput approaches :func:`max_throughput`.

:func:`course_lib.ui.calculators.batching_calculator` is the widget over
:func:`simulate_batching` (lesson 03): arrival rate, maximum batch and
timeout → p50/p95/p99, throughput, mean batch, utilization.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch

from . import _validate as v
from .measure import percentile, time_it

BALANCERS = ("round_robin", "least_loaded")


@dataclass(frozen=True)
class SimResult:
    """What :func:`simulate_batching` measured (times in seconds)."""

    p50: float
    p95: float
    p99: float
    mean_latency: float
    throughput: float
    mean_batch: float
    utilization: float
    n_requests: int
    n_batches: int
    n_replicas: int
    latencies: tuple[float, ...] = field(repr=False)


class _Replica:
    """One server: its queue, when it is next free, and its batches in flight."""

    def __init__(self) -> None:
        self.queue: deque[tuple[float, int]] = deque()  # (arrival time, request index)
        self.free_at = 0.0
        self.in_flight: deque[tuple[float, int]] = deque()  # (completion time, batch size)
        self.n_in_flight = 0
        self.busy = 0.0
        self.n_batches = 0

    def outstanding(self, t: float) -> int:
        """Requests queued or in service at time ``t``."""
        while self.in_flight and self.in_flight[0][0] <= t:
            self.n_in_flight -= self.in_flight.popleft()[1]
        return len(self.queue) + self.n_in_flight

    def advance(self, t: float, max_batch: int, timeout: float, cost: Callable[[int], float], done: np.ndarray) -> None:
        """Start every batch whose start time is already decided before an arrival at ``t``."""
        while self.queue:
            if len(self.queue) >= max_batch:  # full: later arrivals cannot change this batch
                start = max(self.free_at, self.queue[max_batch - 1][0])
            else:
                start = max(self.free_at, self.queue[0][0] + timeout)
                if start > t:  # an arrival at t could still join this batch
                    return
            size = min(max_batch, len(self.queue))
            service = cost(size)
            end = start + service
            for _ in range(size):
                _, index = self.queue.popleft()
                done[index] = end
            self.free_at = end
            self.busy += service
            self.n_batches += 1
            self.in_flight.append((end, size))
            self.n_in_flight += size


@v.checked
def check_cost(overhead: v.NonNegative, per_sample: v.NonNegative) -> tuple[float, float]:
    """Validated ``(overhead, per_sample)`` seconds of a batch cost model; both 0
    is a ``ValueError``. Used by :func:`course_lib.simulate.max_throughput` and
    :func:`course_lib.simulate.simulate_batching`; not tied to one lesson."""
    if overhead + per_sample <= 0:
        raise ValueError("overhead and per_sample cannot both be 0: a batch must take some time")
    return overhead, per_sample


@v.checked
def simulate_batching(
    rate: v.Positive,
    max_batch: v.PositiveInt,
    timeout: v.NonNegative,
    overhead: float,
    per_sample: float,
    *,
    n_requests: v.Size(v.MAX_REQUESTS) = 2000,
    seed: v.Seed = 0,
    n_replicas: v.Size(v.MAX_REPLICAS) = 1,
    balancer: v.Choice[BALANCERS] = "round_robin",
) -> SimResult:
    """Simulate a dynamic-batching service (see the module docstring for the
    exact model). Lesson 03 (one replica), lesson 06 (``n_replicas``, ``balancer``).

    ``rate`` > 0 requests/s; ``max_batch`` >= 1; ``timeout`` >= 0 s;
    ``overhead`` >= 0 s and ``per_sample`` >= 0 s per request, not both 0;
    ``n_requests`` >= 1; ``seed`` >= 0; ``n_replicas`` >= 1; ``balancer`` one
    of ``"round_robin"``, ``"least_loaded"``. Deterministic for a seed.
    Lesson 03, section 4; lab 03, exercise 4; lab 06, exercise 4.
    """
    overhead, per_sample = check_cost(overhead, per_sample)
    if balancer == "least_loaded":
        v.work(f"n_requests={n_requests} x n_replicas={n_replicas}", n_requests * n_replicas)
    if not math.isfinite(1.0 / rate) or not math.isfinite(n_requests / rate):
        raise ValueError(f"rate={rate:g} is too small: the arrival times overflow; use a realistic rate")

    def cost(size: int) -> float:
        return overhead + per_sample * size

    arrivals = np.cumsum(np.random.default_rng(seed).exponential(1.0 / rate, size=n_requests))
    done = np.zeros(n_requests)
    replicas = [_Replica() for _ in range(n_replicas)]
    for i, t in enumerate(arrivals.tolist()):
        if balancer == "round_robin":
            target = replicas[i % n_replicas]
            target.advance(t, max_batch, timeout, cost, done)
        else:
            for r in replicas:
                r.advance(t, max_batch, timeout, cost, done)
            target = min(replicas, key=lambda r: r.outstanding(t))  # min keeps the first on ties
        target.queue.append((t, i))
    for r in replicas:
        r.advance(float("inf"), max_batch, timeout, cost, done)

    latencies = done - arrivals
    end = float(done.max())
    n_batches = sum(r.n_batches for r in replicas)
    if not end > 0 or not math.isfinite(end):
        v.finite("simulate_batching", math.inf, rate=rate, timeout=timeout, overhead=overhead, per_sample=per_sample)
    # extreme inputs can overflow these statistics; v.finite below turns that into a named ValueError
    with np.errstate(over="ignore", invalid="ignore"):
        p50, p95, p99 = (percentile(latencies, p) for p in (50, 95, 99))
        mean_latency = float(latencies.mean())
    result = SimResult(
        p50=p50,
        p95=p95,
        p99=p99,
        mean_latency=mean_latency,
        throughput=n_requests / end,
        mean_batch=n_requests / n_batches,
        utilization=sum(r.busy for r in replicas) / (n_replicas * end),
        n_requests=n_requests,
        n_batches=n_batches,
        n_replicas=n_replicas,
        latencies=tuple(latencies.tolist()),
    )
    return v.finite("simulate_batching", result, rate=rate, max_batch=max_batch, timeout=timeout, overhead=overhead,
                    per_sample=per_sample)


@v.checked
def max_throughput(max_batch: v.PositiveInt, overhead: float, per_sample: float, n_replicas: v.PositiveInt = 1) -> float:
    """The most requests/s the service can complete: every replica always busy
    with full batches, R · B / (overhead + per_sample · B). Lesson 03, section 4."""
    b = max_batch
    overhead, per_sample = check_cost(overhead, per_sample)
    r = n_replicas
    return v.finite("max_throughput", r * b / (overhead + per_sample * b), max_batch=b, overhead=overhead,
                    per_sample=per_sample, n_replicas=r)


@v.checked
def md1_mean_latency(rate: v.Positive, service_time: v.Positive) -> float:
    """Mean time in an M/D/1 queue (Poisson arrivals, one server, fixed service
    time D): D + Wq with Wq = ρ / (2μ(1 − ρ)), μ = 1/D, ρ = rate·D
    (Pollaczek–Khinchine formula; Kleinrock 1975, *Queueing Systems*, vol. 1).
    Requires ρ < 1. Lesson 03 checks the simulator against it. Lesson 03, section 4."""
    d = service_time
    rho = rate * d
    if rho >= 1:
        raise ValueError(f"rate * service_time (the utilization) must be < 1 for a steady state, got {rho:.3g}")
    return v.finite("md1_mean_latency", d + rho / (2 * (1 / d) * (1 - rho)), rate=rate, service_time=d)


# ---------------------------------------------------------------- cost model


@dataclass(frozen=True)
class CostModel:
    """Service time of a batch of b: ``overhead + per_sample * b`` (seconds)."""

    overhead: float
    per_sample: float

    @v.checked
    def service_time(self, batch: v.PositiveInt) -> float:
        """Seconds for a batch of ``batch``: overhead + per_sample · batch. Not tied to one
        lesson."""
        return self.overhead + self.per_sample * batch


def fit_cost_model(batch_sizes: Sequence[int], seconds: Sequence[float]) -> CostModel:
    """Least-squares line through (batch size, seconds per batch): the
    intercept is the fixed overhead, the slope the per-sample cost. Each is
    clipped at 0 (a noisy fit can dip below). Used by :func:`course_lib.simulate.measure_cost_model`; not tied to one
    lesson."""
    b = [v.positive_int(f"batch_sizes[{i}]", x) for i, x in enumerate(v.sequence("batch_sizes", batch_sizes, max_len=v.MAX_ITEMS))]
    s = [v.positive(f"seconds[{i}]", x) for i, x in enumerate(v.sequence("seconds", seconds, max_len=v.MAX_ITEMS))]
    if len(b) != len(s):
        raise ValueError(f"batch_sizes and seconds must have the same length, got {len(b)} and {len(s)}")
    if len(set(b)) < 2:
        raise ValueError("batch_sizes needs at least two different sizes to fit a line")
    slope, intercept = np.polyfit(np.array(b, dtype=float), np.array(s, dtype=float), 1)
    v.finite("fit_cost_model", (slope, intercept), seconds=max(s))
    return CostModel(overhead=max(float(intercept), 0.0), per_sample=max(float(slope), 0.0))


@v.checked
def measure_cost_model(model, make_input: Callable[[int], object], batch_sizes: Sequence[int] = (1, 4, 16, 64), *, repeats: v.Size(v.MAX_REPEATS) = 15):
    """Time ``model(make_input(b))`` under ``torch.inference_mode()`` for each
    batch size (median of ``repeats`` after warm-up, :func:`course_lib.measure.time_it`)
    and fit :func:`fit_cost_model`. Returns ``(CostModel, {b: Timing})``. Lesson 03, section 1."""

    if not callable(make_input):
        raise TypeError(f"make_input must be a function of the batch size, got {type(make_input).__name__}")
    if not callable(model):
        raise TypeError(f"model must be callable (a torch.nn.Module), got {type(model).__name__}")
    batch_sizes = [v.positive_int(f"batch_sizes[{i}]", b, maximum=v.MAX_REQUESTS)
                   for i, b in enumerate(v.sequence("batch_sizes", batch_sizes, max_len=64))]
    timings = {}
    for b in batch_sizes:
        x = make_input(b)

        def run(x=x):
            with torch.inference_mode():
                model(x)

        timings[b] = time_it(run, warmup=3, repeats=repeats)
    fitted = fit_cost_model(list(timings), [t.median for t in timings.values()])
    return fitted, timings


# ---------------------------------------------------------------- sweeps for charts


@v.checked
def sweep(
    rates: v.Sequence(max_len=1000),
    max_batches: v.Sequence(max_len=1000),
    timeout: float,
    overhead: float,
    per_sample: float,
    **kwargs,
):
    """:func:`simulate_batching` for every (rate, max_batch) pair, as a
    DataFrame with columns ``rate``, ``max_batch``, ``p50_ms``, ``p95_ms``,
    ``p99_ms``, ``throughput``, ``mean_batch``, ``utilization`` (numbers
    rounded to 4 significant digits so printed tables are stable). Extra
    keyword arguments go to :func:`simulate_batching`. Lesson 03, section 4.
    """
    def r4(x: float) -> float:
        return float(f"{x:.4g}")

    n_req, n_rep = kwargs.get("n_requests", 2000), kwargs.get("n_replicas", 1)
    if isinstance(n_req, int) and isinstance(n_rep, int):  # else simulate_batching names the bad one
        v.work(f"{len(rates)} rates x {len(max_batches)} max_batches x n_requests={n_req} x n_replicas={n_rep}",
               len(rates) * len(max_batches) * n_req * n_rep)
    rows = []
    for b in max_batches:
        for rate in rates:
            res = simulate_batching(rate, b, timeout, overhead, per_sample, **kwargs)
            rows.append(
                {
                    "rate": r4(float(rate)),
                    "max_batch": int(b),
                    "p50_ms": r4(res.p50 * 1e3),
                    "p95_ms": r4(res.p95 * 1e3),
                    "p99_ms": r4(res.p99 * 1e3),
                    "throughput": r4(res.throughput),
                    "mean_batch": r4(res.mean_batch),
                    "utilization": r4(res.utilization),
                }
            )
    return pd.DataFrame(rows)
