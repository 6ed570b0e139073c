"""Inference scales out: R replica processes serving one model from a shared queue.

Lesson 06. :func:`serve` starts ``max(replicas)`` worker processes on this
machine (see :func:`course_lib.processes.launch`: fresh processes, a
timeout on every wait, always cleaned up). Each loads its own full copy of
a :class:`~course_lib.models.TinyGPT` (replicas share nothing: no
collective, no process group) and serves requests, one at a time, with one
thread, under ``torch.inference_mode()``.

For each replica count R in ``replicas`` the caller sends ``n_requests``
requests at Poisson arrival times of ``rate`` requests/s into one shared
queue that only the first R workers read (a shared queue is the ideal
"least-loaded" balancer: a free replica takes the next request). The
default rate is ``load`` × the capacity of one replica, measured by the
workers before the run, so ``load=1.5`` overloads one replica and not two.
Latency = completion time − arrival time, on the system's monotonic clock
that all processes share.

:func:`replicas_for_p95` asks the simulator (:mod:`course_lib.simulate`,
``n_replicas``) how many replicas keep the steady-state 95th-percentile
latency under a target at a given request rate (below full utilization,
simulated long enough for the tail to settle).

Honest limits: this machine has few cores (``course_lib.env.available_cpus()``);
replicas beyond that share cores and add no throughput, and each worker
process costs a few hundred MB, so the lesson runs R = 1 and 2.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from . import _validate as v
from . import env
from .measure import percentile
from .models import TinyGPT
from .processes import DEFAULT_TIMEOUT_S, check_world_size, launch
from .simulate import simulate_batching


@dataclass(frozen=True)
class ServingRun:
    """What one replica count measured (times in seconds). Used by :func:`course_lib.serving.serve`; not tied to one
    lesson."""

    n_replicas: int
    rate: float
    service_time: float
    latencies: tuple = field(repr=False)
    served_by: tuple = field(repr=False)
    first_arrival: float = field(repr=False, default=0.0)
    last_done: float = field(repr=False, default=0.0)

    @property
    def n_requests(self) -> int:
        """How many requests completed. Lesson 06, section 7."""
        return len(self.latencies)

    def percentile(self, p: float) -> float:
        """The ``p``-th percentile (0–100) of the latencies (:func:`course_lib.measure.percentile`).
        Used by :func:`course_lib.serving.replicas_for_p95` and :meth:`course_lib.serving.ServingRun.p50`; not tied to
        one lesson."""
        return percentile(self.latencies, p)

    @property
    def p50(self) -> float:
        """Median latency, seconds. Used by :func:`course_lib.ui.calculators.batching_chart` and
        :meth:`course_lib.serving.ServingRun.row`; not tied to one lesson."""
        return self.percentile(50)

    @property
    def p95(self) -> float:
        """95th-percentile latency, seconds. Lesson 06, section 7."""
        return self.percentile(95)

    @property
    def throughput(self) -> float:
        """Completed requests per second, first arrival to last completion. Lesson 06, section 7."""
        return self.n_requests / max(self.last_done - self.first_arrival, 1e-9)

    def per_replica(self) -> tuple:
        """How many requests each replica served. Lesson 06, section 7."""
        return tuple(self.served_by.count(r) for r in range(self.n_replicas))

    def row(self) -> dict:
        """One table row: replicas, rate, requests, p50/p95 in ms, throughput. Lesson 06, section 7."""
        return {
            "replicas": self.n_replicas,
            "rate_rps": round(self.rate, 1),
            "throughput_rps": round(self.throughput, 1),
            "p50_ms": round(self.p50 * 1e3, 1),
            "p95_ms": round(self.p95 * 1e3, 1),
        }


def _serve_worker(rank, n, queues, ready, plan, config):
    """One replica: load the model, report its service time, then serve each
    phase it takes part in (ranks < R) until that phase's stop sentinel."""
    env.configure_threads(1)  # one core per replica: the replicas share this machine's cores
    model = TinyGPT(
        vocab_size=config["vocab_size"], d_model=config["d_model"], n_heads=config["n_heads"],
        n_layers=config["n_layers"], max_seq_len=config["seq_len"], seed=0,
    ).eval()
    gen = torch.Generator().manual_seed(config["seed"])
    x = torch.randint(0, config["vocab_size"], (1, config["seq_len"]), generator=gen)  # every request: one sequence
    with torch.inference_mode():
        for _ in range(3):
            model(x)
        samples = []
        for _ in range(config["calibration"]):
            t = time.perf_counter()
            model(x)
            samples.append(time.perf_counter() - t)
    ready(statistics.median(samples))
    records = []
    deadline = time.monotonic() + config["timeout_s"]
    for phase, r in enumerate(plan):
        if rank >= r:
            continue
        while True:
            item = queues[phase].get(timeout=max(0.1, deadline - time.monotonic()))
            if item is None:
                break
            req_id, arrival = item
            with torch.inference_mode():
                model(x)
            records.append((phase, req_id, arrival, time.monotonic(), rank))
        ready(None)  # this phase is done for this rank
    return records


MAX_PLANS = 16
"""Most replica counts one :func:`serve` call measures."""


@v.checked
def serve(
    replicas=(1, 2),
    *,
    rate: v.Positive | None = None,
    load: v.Positive = 1.5,
    n_requests: v.Size(v.MAX_REQUESTS) = 120,
    d_model: v.PositiveInt = 128,
    n_layers: v.PositiveInt = 4,
    n_heads: v.PositiveInt = 4,
    seq_len: v.PositiveInt = 64,
    vocab_size: v.IntRange(2, None) = 64,
    seed: v.Seed = 0,
    timeout_s: v.Timeout = DEFAULT_TIMEOUT_S,
) -> dict[int, ServingRun]:
    """Measure R real replicas for each R in ``replicas`` (run in that order,
    in one pool of ``max(replicas)`` processes) and return ``{R: ServingRun}``.

    ``rate`` is the arrival rate in requests/s; by default it is ``load``
    divided by the median time one replica takes per request (measured by
    the workers first), the same for every R. Arrivals are a Poisson process
    of ``seq_len`` tokens through a ``TinyGPT(d_model, n_layers, ...)``. Lesson 06, section 7.
    """
    if isinstance(replicas, int):
        replicas = (replicas,)
    if not isinstance(replicas, (tuple, list)) or not replicas:
        raise ValueError(f"replicas must be a replica count or a non-empty tuple of them, got {replicas!r}")
    if len(replicas) > MAX_PLANS:
        raise ValueError(f"replicas may list at most {MAX_PLANS} replica counts (each is a whole measured run), "
                         f"got {len(replicas):_}")
    plan = tuple(v.positive_int("replicas", r) for r in replicas)
    n_workers = check_world_size(max(plan), name="replicas")
    if rate is not None and len(plan) * n_requests / rate > timeout_s:
        raise ValueError(f"rate={rate:g} requests/s spreads n_requests={n_requests} arrivals over about "
                         f"{len(plan) * n_requests / rate:,.0f} s, more than timeout_s={timeout_s:g}; "
                         f"raise rate or timeout_s, or lower n_requests")
    config = {
        "d_model": d_model,
        "n_layers": n_layers,
        "n_heads": n_heads,
        "seq_len": seq_len,
        "vocab_size": vocab_size,
        "timeout_s": timeout_s,
        "calibration": 10,
        "seed": seed,
    }
    if config["d_model"] % config["n_heads"]:
        raise ValueError(f"d_model must be divisible by n_heads, got d_model={d_model}, n_heads={n_heads}")
    d, layers, s, vocab = config["d_model"], config["n_layers"], config["seq_len"], config["vocab_size"]
    v.fits_memory(f"d_model={d}, n_layers={layers}, seq_len={s}, vocab_size={vocab} on {n_workers} replicas",
                  n_workers * (4 * (12 * layers * d * d + 2 * vocab * d + s * d) + 4 * s * (16 * d + vocab)))
    rng = np.random.default_rng(seed)
    gaps_per_phase = [rng.exponential(1.0, size=n_requests) for _ in plan]  # scaled by 1/rate below
    used: dict = {}

    def feed(queues, wait_ready, service_times, deadline):
        service = statistics.median(service_times)
        lam = rate if rate is not None else load / service
        used.update(rate=lam, service=service)
        for phase, r in enumerate(plan):
            start = time.monotonic() + 0.05
            arrivals = start + np.cumsum(gaps_per_phase[phase]) / lam
            for i, t in enumerate(arrivals.tolist()):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"serving did not finish within timeout_s={timeout_s:g} s")
                wait = t - time.monotonic()
                if wait > 0:
                    if time.monotonic() + wait > deadline:  # never sleep past the deadline
                        time.sleep(max(0.0, deadline - time.monotonic()))
                        raise TimeoutError(f"serving did not finish within timeout_s={timeout_s:g} s")
                    time.sleep(wait)
                queues[phase].put((i, t))
            for _ in range(r):
                queues[phase].put(None)
            wait_ready(range(r))

    per_worker = launch(_serve_worker, n_workers, (plan, config), timeout_s=timeout_s, feed=feed, n_queues=len(plan))
    records = sorted((rec for recs in per_worker for rec in recs), key=lambda rec: (rec[0], rec[1]))
    out = {}
    for phase, r in enumerate(plan):
        mine = [rec for rec in records if rec[0] == phase]
        out[r] = ServingRun(
            n_replicas=r,
            rate=used["rate"],
            service_time=used["service"],
            latencies=tuple(done - arrival for _, _, arrival, done, _ in mine),
            served_by=tuple(rank for *_, rank in mine),
            first_arrival=min(rec[2] for rec in mine),
            last_done=max(rec[3] for rec in mine),
        )
    return out


@v.checked
def replicas_for_p95(
    rate: v.Positive,
    p95_target: v.Positive,
    service_time: v.Positive,
    *,
    max_replicas: v.Size(v.MAX_REPLICAS) = 64,
    balancer: str = "least_loaded",
    n_requests: v.IntRange(2, v.MAX_REQUESTS) = 20_000,
    seed: int = 0,
) -> int:
    """The fewest replicas whose *steady-state* p95 latency is at most
    ``p95_target`` seconds when requests arrive at ``rate`` per second and
    each takes ``service_time`` seconds (one request at a time per replica:
    :func:`course_lib.simulate.simulate_batching` with ``max_batch=1``,
    ``timeout=0``, ``n_replicas=R``).

    Steady state, two ways. (1) Replica counts with utilization
    rate · service_time / R ≥ 1 are never chosen: at or above full load the
    queue grows without bound, so the longer one simulates the worse the p95
    (at 1,000 requests/s of 10 ms, 10 replicas give a p95 of about 47 ms over
    2,000 requests, 259 ms over 20,000 and 616 ms over 200,000). (2) Each
    candidate is simulated for ``n_requests`` (20,000 by default) and the p95
    is taken over the second half only: the first half is the warm-up from
    an empty system. Raises ``ValueError`` if the target is below the service
    time (no replica count can meet it), if no R up to ``max_replicas`` does,
    or if the candidates' simulations together would exceed
    ``course_lib._validate.MAX_SIM_WORK`` request-replica steps.
    Lesson 06, section 6.
    """
    target = p95_target
    service = service_time
    if target < service:
        raise ValueError(
            f"p95_target={target:g} s is below service_time={service:g} s: no number of replicas can meet it"
        )
    spent = 0
    for r in range(int(rate * service) + 1, max_replicas + 1):  # the first R with utilization rate·service/R < 1
        spent += n_requests * r  # the candidates' simulations together stay within MAX_SIM_WORK
        v.work(f"rate={rate:g} x service_time={service:g} with n_requests={n_requests} (candidates up to {r} replicas)",
               spent)
        res = simulate_batching(rate, 1, 0.0, service, 0.0, n_requests=n_requests, seed=seed, n_replicas=r, balancer=balancer)
        if np.percentile(res.latencies[n_requests // 2:], 95) <= target:
            return r
    raise ValueError(f"no replica count up to max_replicas={max_replicas} meets p95_target={target:g} s at rate={rate:g}/s")


@v.checked
def replica_sweep(rates, replicas, service_time: v.Positive, *, balancer: str = "least_loaded", n_requests: v.Size(v.MAX_REQUESTS) = 2000, seed: int = 0):
    """Simulated p95 latency (ms) for each (rate, replica count): a DataFrame
    with columns ``rate_rps``, ``replicas``, ``p95_ms``, ``throughput_rps``
    (one request at a time per replica). Lesson 06, section 6."""
    service = service_time
    rates = [v.positive(f"rates[{i}]", lam) for i, lam in enumerate(v.sequence("rates", rates, max_len=1000))]
    replicas = [v.positive_int(f"replicas[{i}]", r, maximum=v.MAX_REPLICAS)
                for i, r in enumerate(v.sequence("replicas", replicas, max_len=1000))]
    v.work(f"{len(rates)} rates x replicas={replicas} x n_requests={n_requests}", len(rates) * sum(replicas) * n_requests)
    rows = []
    for r in replicas:
        for lam in rates:
            res = simulate_batching(lam, 1, 0.0, service, 0.0, n_requests=n_requests, seed=seed, n_replicas=r, balancer=balancer)
            rows.append({"rate_rps": lam, "replicas": r, "p95_ms": round(res.p95 * 1e3, 3),
                         "throughput_rps": round(res.throughput, 3)})
    return pd.DataFrame(rows)
