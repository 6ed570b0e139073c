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
``n_replicas``) how many replicas keep the 95th-percentile latency under a
target at a given request rate.

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
from .models import TinyGPT
from .processes import DEFAULT_TIMEOUT_S, check_world_size, launch
from .simulate import simulate_batching


@dataclass(frozen=True)
class ServingRun:
    """What one replica count measured (times in seconds). Lesson 06."""

    n_replicas: int
    rate: float
    service_time: float
    latencies: tuple = field(repr=False)
    served_by: tuple = field(repr=False)
    first_arrival: float = field(repr=False, default=0.0)
    last_done: float = field(repr=False, default=0.0)

    @property
    def n_requests(self) -> int:
        return len(self.latencies)

    def percentile(self, q: float) -> float:
        """The ``q``-th percentile (0–100) of the latencies."""
        return float(np.percentile(self.latencies, v.number("q", q, minimum=0.0, maximum=100.0)))

    @property
    def p50(self) -> float:
        return self.percentile(50)

    @property
    def p95(self) -> float:
        return self.percentile(95)

    @property
    def throughput(self) -> float:
        """Completed requests per second, first arrival to last completion."""
        return self.n_requests / max(self.last_done - self.first_arrival, 1e-9)

    def per_replica(self) -> tuple:
        """How many requests each replica served."""
        return tuple(self.served_by.count(r) for r in range(self.n_replicas))

    def row(self) -> dict:
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
    torch.set_num_threads(1)
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


def serve(
    replicas=(1, 2),
    *,
    rate: float | None = None,
    load: float = 1.5,
    n_requests: int = 120,
    d_model: int = 128,
    n_layers: int = 4,
    n_heads: int = 4,
    seq_len: int = 64,
    vocab_size: int = 64,
    seed: int = 0,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> dict[int, ServingRun]:
    """Measure R real replicas for each R in ``replicas`` (run in that order,
    in one pool of ``max(replicas)`` processes) and return ``{R: ServingRun}``.

    ``rate`` is the arrival rate in requests/s; by default it is ``load``
    divided by the median time one replica takes per request (measured by
    the workers first), the same for every R. Arrivals are a Poisson process
    of ``seq_len`` tokens through a ``TinyGPT(d_model, n_layers, ...)``.
    Lesson 06.
    """
    if isinstance(replicas, int):
        replicas = (replicas,)
    if not isinstance(replicas, (tuple, list)) or not replicas:
        raise ValueError(f"replicas must be a replica count or a non-empty tuple of them, got {replicas!r}")
    plan = tuple(v.positive_int("replicas", r) for r in replicas)
    n_workers = check_world_size(max(plan), name="replicas")
    if rate is not None:
        rate = v.positive("rate", rate)
    load = v.positive("load", load)
    n_requests = v.positive_int("n_requests", n_requests)
    seed = v.integer("seed", seed, minimum=0)
    config = {
        "d_model": v.positive_int("d_model", d_model),
        "n_layers": v.positive_int("n_layers", n_layers),
        "n_heads": v.positive_int("n_heads", n_heads),
        "seq_len": v.positive_int("seq_len", seq_len),
        "vocab_size": v.integer("vocab_size", vocab_size, minimum=2),
        "timeout_s": v.positive("timeout_s", timeout_s),
        "calibration": 10,
        "seed": seed,
    }
    if config["d_model"] % config["n_heads"]:
        raise ValueError(f"d_model must be divisible by n_heads, got d_model={d_model}, n_heads={n_heads}")
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


def replicas_for_p95(
    rate: float,
    p95_target: float,
    service_time: float,
    *,
    max_replicas: int = 64,
    balancer: str = "least_loaded",
    n_requests: int = 2000,
    seed: int = 0,
) -> int:
    """The fewest replicas whose simulated p95 latency is at most
    ``p95_target`` seconds when requests arrive at ``rate`` per second and
    each takes ``service_time`` seconds (one request at a time per replica:
    :func:`course_lib.simulate.simulate_batching` with ``max_batch=1``,
    ``timeout=0``, ``n_replicas=R``). Raises ``ValueError`` if the target is
    below the service time (no replica count can meet it) or no R up to
    ``max_replicas`` does. Lesson 06.
    """
    rate = v.positive("rate", rate)
    target = v.positive("p95_target", p95_target)
    service = v.positive("service_time", service_time)
    max_replicas = v.positive_int("max_replicas", max_replicas)
    if target < service:
        raise ValueError(
            f"p95_target={target:g} s is below the service time {service:g} s: no number of replicas can meet it"
        )
    for r in range(max(1, int(rate * service)), max_replicas + 1):  # fewer than rate·service cannot keep up
        res = simulate_batching(rate, 1, 0.0, service, 0.0, n_requests=n_requests, seed=seed, n_replicas=r, balancer=balancer)
        if res.p95 <= target:
            return r
    raise ValueError(f"no replica count up to max_replicas={max_replicas} meets p95_target={target:g} s at rate={rate:g}/s")


def replica_sweep(rates, replicas, service_time: float, *, balancer: str = "least_loaded", n_requests: int = 2000, seed: int = 0):
    """Simulated p95 latency (ms) for each (rate, replica count): a DataFrame
    with columns ``rate_rps``, ``replicas``, ``p95_ms``, ``throughput_rps``
    (one request at a time per replica). Lesson 06."""
    service = v.positive("service_time", service_time)
    rows = []
    for r in replicas:
        r = v.positive_int("replicas", r)
        for lam in rates:
            lam = v.positive("rates", lam)
            res = simulate_batching(lam, 1, 0.0, service, 0.0, n_requests=n_requests, seed=seed, n_replicas=r, balancer=balancer)
            rows.append({"rate_rps": lam, "replicas": r, "p95_ms": round(res.p95 * 1e3, 3),
                         "throughput_rps": round(res.throughput, 3)})
    return pd.DataFrame(rows)
