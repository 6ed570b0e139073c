"""Replicas: R whole engines, each in its own worker process with its own
copy of the model, behind a round-robin balancer (lesson 08, section 8;
the process plumbing is :mod:`course_lib.processes`, as in lesson 06)."""

from __future__ import annotations

from .. import _validate as v
from .. import env
from ..models import TinyGPT
from ..processes import DEFAULT_TIMEOUT_S, launch
from .requests import check_trace
from .results import EngineResult
from .serve import run


def _replica(rank, n, queues, ready, model, shares, kwargs):
    """One replica: wait until every replica has loaded, then serve its share."""
    env.configure_threads(1)  # one core per replica: the replicas share this machine's cores
    run(model, shares[rank][:2], **kwargs)  # warm-up: a fresh process's first forward calls are slow
    ready(None)
    queues[rank].get(timeout=DEFAULT_TIMEOUT_S)  # the start signal: all replicas begin together
    return run(model, shares[rank], **kwargs)


def _start_all(queues, wait_ready, infos, deadline) -> None:
    for q in queues:
        q.put("go")


@v.checked(finite=False)  # an EngineResult holds NaN where a figure is undefined
def run_replicas(model: v.Instance(TinyGPT, "a TinyGPT"), trace, n_replicas: int, *, timeout_s: float = DEFAULT_TIMEOUT_S,
                 **kwargs) -> EngineResult:
    """The engine behind ``n_replicas`` replicas with a round-robin balancer
    (request i goes to replica i mod R, as in :mod:`course_lib.serving`): each replica is a
    fresh worker process (``course_lib.processes.launch``) with its own copy
    of ``model`` and one thread, warms up on its first two requests, and
    serves its share with :func:`~course_lib.engine.run` (``kwargs`` go there)
    on its own clock; all start together and run at the same time, sharing
    this machine's cores.
    The merged result has every request in trace order; ``steps`` and the
    per-step series add up the replicas'; tokens per second is all tokens over
    first arrival to last finish. Lesson 08, section 8.
    """
    trace = check_trace(trace, model.max_seq_len)
    r = v.integer("n_replicas", n_replicas, minimum=1, maximum=len(trace))
    shares = [[trace[i] for i in range(k, len(trace), r)] for k in range(r)]
    parts = launch(_replica, r, (model, shares, kwargs), timeout_s=timeout_s, feed=_start_all, n_queues=r)
    index = [list(range(k, len(trace), r)) for k in range(r)]
    per_request = [None] * len(trace)
    for idx, res in zip(index, parts):
        for j, i in enumerate(idx):
            per_request[i] = (res.outputs[j], res.ttft[j], res.tpot[j], res.finish[j], res.token_times[j])
    outputs, ttft, tpot, finish, token_times = (tuple(x) for x in zip(*per_request))
    span = max(finish) - min(t.arrival for t in trace)

    def joined(name):
        return tuple(x for res in parts for x in getattr(res, name))

    def total(name):
        return sum(getattr(p, name) for p in parts)

    return EngineResult(
        policy=parts[0].policy, max_batch=parts[0].max_batch, kv_block=parts[0].kv_block, outputs=outputs,
        steps=total("steps"), ttft=ttft, tpot=tpot, finish=finish,
        tokens_per_s=sum(len(o) for o in outputs) / span, elapsed=span, step_times=joined("step_times"),
        batch_sizes=joined("batch_sizes"), step_tokens=joined("step_tokens"), kv_reserved=joined("kv_reserved"),
        kv_used=joined("kv_used"), shared_blocks=joined("shared_blocks"), token_times=token_times,
        peak_running=max(p.peak_running for p in parts), kv_pool_bytes=total("kv_pool_bytes"),
        prefill_tokens=total("prefill_tokens"), cached_tokens=total("cached_tokens"),
        preemptions=total("preemptions"), recomputed_tokens=total("recomputed_tokens"),
    )
