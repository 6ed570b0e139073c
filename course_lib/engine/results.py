"""What a run measured: :class:`EngineResult`, the per-step table, the step
cost fit, and the explorer's texts (lesson 08)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Annotated

import numpy as np
import pandas as pd

from .. import _validate as v
from .requests import POLICIES

MAX_QUANTILES = 1000
"""Most percentiles :meth:`EngineResult.percentiles` computes in one call."""
MAX_FIT_POINTS = 100_000
"""Most (tokens, seconds) points :func:`fit_step_cost` fits."""


@dataclass(frozen=True)
class EngineResult:
    """What :func:`~course_lib.engine.run` (or ``simulate``) measured. Times in
    seconds, bytes of fp32 keys and values.

    Per request, in trace order: ``outputs`` (generated token ids),
    ``ttft`` (first token time − arrival), ``tpot`` (time per output token after
    the first: (finish − first token) / (output_len − 1); NaN for one-token
    requests), ``finish``, ``token_times`` (when each token was made).
    Per step: ``step_times`` (measured), ``batch_sizes`` (requests in the
    forward call), ``step_tokens`` (tokens fed to it), ``kv_reserved`` (bytes
    of the blocks requests hold at the end of the step), ``kv_used`` (bytes of
    the positions the step's requests have cached; a shared block counts
    once), ``shared_blocks`` (blocks held by more than one request).
    Whole run: ``kv_pool_bytes`` (bytes of the key and value tensors the
    engine allocated; ``simulate``: the bytes ``run`` would allocate),
    ``kv_block`` (positions per block; None: each request reserves
    ``max_len`` positions), ``prefill_tokens`` (prompt positions computed,
    recomputation included), ``cached_tokens`` (prompt positions taken from
    the prefix cache instead), ``preemptions`` and ``recomputed_tokens``
    (positions computed again after a preemption). ``steps`` counts forward
    calls. Used by :func:`course_lib.engine.replicas.run_replicas` and :func:`course_lib.engine.results.step_table`;
    not tied to one lesson.
    """

    policy: str
    max_batch: int
    kv_block: int | None
    outputs: tuple
    steps: int
    ttft: tuple
    tpot: tuple
    finish: tuple
    tokens_per_s: float
    elapsed: float
    step_times: tuple = field(repr=False)
    batch_sizes: tuple = field(repr=False)
    step_tokens: tuple = field(repr=False)
    kv_reserved: tuple = field(repr=False)
    kv_used: tuple = field(repr=False)
    shared_blocks: tuple = field(repr=False, default=())
    token_times: tuple = field(repr=False, default=())
    peak_running: int = 0
    kv_pool_bytes: int = 0
    prefill_tokens: int = 0
    cached_tokens: int = 0
    preemptions: int = 0
    recomputed_tokens: int = 0

    @property
    def n_tokens(self) -> int:
        """Tokens generated in all. Not tied to one lesson."""
        return sum(len(o) for o in self.outputs)

    @property
    def inter_token_latencies(self) -> tuple:
        """Every gap between two consecutive tokens of one request, in seconds. Lesson 08, section 5."""
        return tuple(b - a for times in self.token_times for a, b in zip(times, times[1:]))

    def percentiles(self, q=(50, 95, 99)) -> dict:
        """``{"ttft_p50": s, ..., "tpot_p50": s, ...}`` (NaN TPOTs left out: a
        percentile is NaN only when every request made one token); ``q`` holds
        at most :data:`MAX_QUANTILES` percentiles from 0 to 100. Lesson 08, section 2."""
        q = v.sequence("q", q, max_len=MAX_QUANTILES)
        qs = [v.number(f"q[{i}]", p, minimum=0, maximum=100) for i, p in enumerate(q)]
        out = {}
        for name, xs in (("ttft", self.ttft), ("tpot", self.tpot)):
            xs = [x for x in xs if not math.isnan(x)]
            values = np.percentile(xs, qs).tolist() if xs else [math.nan] * len(qs)
            for p, val in zip(q, values):
                label = p if isinstance(p, (int, float)) and not isinstance(p, bool) else f"{float(p):g}"
                out[f"{name}_p{label}"] = float(val)
        return out

    @property
    def peak_reserved(self) -> int:
        """Most KV bytes held in blocks at any step. Lesson 08, section 3."""
        return max(self.kv_reserved)

    @property
    def peak_used(self) -> int:
        """Most KV bytes holding tokens at any step. Lesson 08, section 3."""
        return max(self.kv_used)

    @property
    def kv_utilization(self) -> float:
        """Bytes used / bytes reserved, summed over the steps (1 − waste). Lesson 08, section 3."""
        return sum(self.kv_used) / max(sum(self.kv_reserved), 1)

    @property
    def prefix_hit_rate(self) -> float:
        """Share of the prompt positions taken from the prefix cache: cached / (cached + computed). Lesson 08, section 4."""
        total = self.cached_tokens + self.prefill_tokens
        return self.cached_tokens / total if total else 0.0

    def row(self) -> dict:
        """One summary row (ms, tokens/s) for a table. Lesson 08, section 2."""
        pct = self.percentiles()
        return {
            "policy": self.policy,
            "steps": self.steps,
            "tokens/s": round(self.tokens_per_s, 1),
            **{f"{k} (ms)": round(1e3 * val, 2) for k, val in pct.items()},
        }


def _points(name: str, xs) -> np.ndarray:
    """A 1-D list, tuple, array or Series of finite numbers >= 0 as a float array (a long numeric array at once)."""
    if isinstance(xs, pd.Series):
        xs = xs.to_numpy()
    if isinstance(xs, np.ndarray) and xs.ndim == 1 and xs.dtype.kind in "iuf":
        if xs.size > MAX_FIT_POINTS:
            raise ValueError(f"{name} must have at most {MAX_FIT_POINTS:_} items, got {xs.size:_}")
        arr = xs.astype(float)
        if arr.size and np.isfinite(arr).all() and arr.min() >= 0:
            return arr
        xs = list(xs)  # the item-by-item check names the bad one
    return np.asarray(v.numbers_list(name, xs, minimum=0.0, max_len=MAX_FIT_POINTS), dtype=float)


_Points = Annotated[list, v.Domain("seq", _points)]
"""Up to :data:`MAX_FIT_POINTS` finite numbers >= 0 (a list, tuple, array or Series), as a float array."""


@v.checked
def fit_step_cost(tokens: _Points, seconds: _Points) -> tuple[float, float]:
    """Least-squares ``(overhead, per_token)`` for step time = overhead +
    per_token × tokens (both clipped at 0); at most :data:`MAX_FIT_POINTS`
    points. Lesson 08, section 7."""
    x, y = tokens, seconds
    if x.shape != y.shape or x.size < 2:
        raise ValueError("tokens and seconds must be equally long, with at least 2 points")
    per_token, overhead = np.polyfit(x, y, 1) if np.ptp(x) > 0 else (0.0, float(np.mean(y)))
    return max(float(overhead), 0.0), max(float(per_token), 0.0)


def step_table(results: dict):
    """One row per forward call of each result in ``results`` (``{label:
    EngineResult}``): ``label``, ``step`` (from 1), ``requests`` (in the call),
    ``tokens`` (fed to it), ``reserved_KiB`` and ``used_KiB`` (KV cache) and
    ``pool_KiB`` (the pool the run allocated), rounded to 0.01. What the
    lesson's charts draw. Lesson 08, sections 2–3.
    """
    if not isinstance(results, dict) or not results:
        raise TypeError("results must be a non-empty dict {label: EngineResult}")
    rows = []
    for label, res in results.items():
        if not isinstance(res, EngineResult):
            raise TypeError(f"results[{label!r}] must be an EngineResult from run or simulate, got {type(res).__name__}")
        for i, (b, n, r, u) in enumerate(zip(res.batch_sizes, res.step_tokens, res.kv_reserved, res.kv_used)):
            rows.append({"label": str(label), "step": i + 1, "requests": b, "tokens": n,
                         "reserved_KiB": round(r / 1024, 2), "used_KiB": round(u / 1024, 2),
                         "pool_KiB": round(res.kv_pool_bytes / 1024, 2)})
    return pd.DataFrame(rows)
