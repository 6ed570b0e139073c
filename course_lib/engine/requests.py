"""Requests and traces: what a serving engine is asked to do (lesson 08, section 1)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import _validate as v

POLICIES = ("continuous", "static")
MAX_TRACE = 100_000
"""Most requests one trace (and so one run) may hold."""
MAX_BATCH = 4096
"""Largest ``max_batch`` the engine and the scheduler accept."""
MAX_PROMPT = 1_000_000
"""Most prompt tokens (and most output tokens) one request may hold."""
MAX_ARRIVAL = 1e9
"""Latest arrival time (seconds, about 32 years): later ones lose the milliseconds TTFT is made of."""


@dataclass(frozen=True)
class Request:
    """One generation request: ``arrival`` (seconds), ``prompt`` (token ids),
    ``output_len`` (tokens to generate). Lesson 08, section 1."""

    arrival: float
    prompt: tuple
    output_len: int


def _range(name: str, value) -> tuple[int, int]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise TypeError(f"{name} must be a pair (lo, hi) of integers, got {value!r}")
    lo = v.integer(f"{name}[0]", value[0], minimum=1)
    hi = v.integer(f"{name}[1]", value[1], minimum=lo)
    return lo, hi


@v.checked(finite=False)  # arrivals are finite by construction: not scanned again
def make_trace(
    n_requests: v.Size(MAX_TRACE),
    rate: float,
    *,
    prompt_len=(4, 12),
    output_len=(2, 32),
    vocab_size: v.IntRange(2, None) = 64,
    shared_prefix: v.IntRange(0, 100_000) = 0,
    seed: v.Seed = 0,
) -> list[Request]:
    """``n_requests`` requests arriving as a Poisson process of ``rate``
    requests/s (the first after one exponential gap, as in
    :func:`course_lib.simulate.simulate_batching`); ``rate=math.inf`` puts every arrival at 0 s (all waiting at the
    start). Each request's own prompt length and its output length are uniform
    integers in the inclusive ranges ``prompt_len`` and ``output_len``; prompt
    tokens are uniform in ``[0, vocab_size)``. With ``shared_prefix=N`` the
    same N tokens (a system prompt, drawn once) come before every request's
    own prompt, so a prompt holds N + its own length tokens. Deterministic for
    ``seed`` (``numpy.random.default_rng``; the trace without a shared prefix
    is the same as before the option existed). Lesson 08, sections 1 and 4.
    """
    n, vocab, shared = n_requests, vocab_size, shared_prefix
    if not (isinstance(rate, (int, float)) and not isinstance(rate, bool) and rate == math.inf):
        rate = v.positive("rate", rate)
    p_lo, p_hi = _range("prompt_len", prompt_len)
    o_lo, o_hi = _range("output_len", output_len)
    rng = np.random.default_rng(seed)
    v.work(f"n_requests={n} x prompt_len up to {p_hi}", n * p_hi)
    gaps = rng.exponential(1.0, size=n)
    with np.errstate(over="ignore"):
        arrivals = np.zeros(n) if rate == math.inf else np.cumsum(gaps) / rate
    if not arrivals[-1] <= MAX_ARRIVAL:
        raise ValueError(f"rate={rate:g} requests/s is too low: the last of {n} arrivals would come after "
                         f"{arrivals[-1]:g} s, later than {MAX_ARRIVAL:g} s; use a higher rate")
    p_lens = rng.integers(p_lo, p_hi + 1, size=n)
    o_lens = rng.integers(o_lo, o_hi + 1, size=n)
    own = [tuple(int(t) for t in rng.integers(0, vocab, size=int(p))) for p in p_lens]
    prefix = tuple(int(t) for t in np.random.default_rng([seed, 1]).integers(0, vocab, size=shared))
    return [Request(float(a), prefix + p, int(o)) for a, p, o in zip(arrivals, own, o_lens)]


def _check_request(name: str, r: Request, vocab_size: int | None = None) -> None:
    """A hand-built request's fields: an arrival from 0 to :data:`MAX_ARRIVAL` s, a non-empty
    tuple or list of token ids >= 0, an integer ``output_len`` >= 1."""
    v.number(f"{name}.arrival", r.arrival, minimum=0.0, maximum=MAX_ARRIVAL)
    if not isinstance(r.prompt, (tuple, list)) or not r.prompt:
        raise (ValueError if isinstance(r.prompt, (tuple, list)) else TypeError)(
            f"{name}.prompt must be a non-empty tuple of token ids, got {v.show(r.prompt)}")
    if len(r.prompt) > MAX_PROMPT:
        raise ValueError(f"{name}.prompt may hold at most {MAX_PROMPT:_} tokens, got {len(r.prompt):_}")
    for j, t in enumerate(r.prompt):
        if type(t) is not int:  # the common case, a plain int, is not checked twice
            v.integer(f"{name}.prompt[{j}]", t, minimum=0)
            t = int(t)
        if t < 0 or (vocab_size is not None and t >= vocab_size):
            raise ValueError(f"{name}.prompt[{j}] must be a token id >= 0"
                             + ("" if vocab_size is None else f" and below vocab_size={vocab_size}") + f", got {t}")
    v.integer(f"{name}.output_len", r.output_len, minimum=1, maximum=MAX_PROMPT)


@v.checked(finite=False)
def check_trace(trace, max_len: v.PositiveInt | None = None, vocab_size: v.PositiveInt | None = None) -> list[Request]:
    """``trace`` as a list after checking it holds :class:`Request` objects
    with a prompt and an output that fit ``max_len`` positions, prompt ids
    below ``vocab_size`` when given (TypeError or ValueError naming the
    request and its field otherwise). Used by :func:`course_lib.engine.replicas.run_replicas`; not tied to one
    lesson."""
    if not isinstance(trace, (list, tuple)) or not trace:
        raise TypeError("trace must be a non-empty list of Request (from make_trace)")
    if len(trace) > MAX_TRACE:
        raise ValueError(f"trace may hold at most {MAX_TRACE:,} requests, got {len(trace):,}")
    for i, r in enumerate(trace):
        if not isinstance(r, Request):
            raise TypeError(f"trace[{i}] must be a Request, got {type(r).__name__}")
        _check_request(f"trace[{i}]", r, vocab_size)
        if max_len is not None and len(r.prompt) + r.output_len > max_len:
            raise ValueError(
                f"trace[{i}] needs {len(r.prompt)} + {r.output_len} positions, more than max_len={max_len} "
                f"(the model's max_seq_len)"
            )
    return list(trace)
