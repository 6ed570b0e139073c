"""A small serving engine for :class:`~course_lib.models.TinyGPT` (lesson 08).

What the engines people serve language models with (vLLM, SGLang, TGI) do,
written out small enough to read:

- :func:`make_trace`: a request trace, ``Request(arrival, prompt, output_len)``.
- :func:`run`: serve a trace with **static** batching (a batch runs until its
  longest request ends; newcomers wait) or **continuous** (iteration-level)
  batching, where requests join and leave at every step (Orca, Yu et al.,
  OSDI 2022). Returns an :class:`EngineResult`: each request's generated
  tokens, the forward calls made (``steps``), TTFT and time per output token,
  tokens per second, and the KV-cache bytes reserved and used at each step,
  either reserved to the model's maximum length per request or in pages of
  ``kv_block`` positions (PagedAttention, Kwon et al., SOSP 2023).
- :func:`schedule`: how many steps requests that all wait at the start take
  under each policy, without a model (the arithmetic the lab checks);
  :func:`simulate`: :func:`run`'s scheduler with a fitted step cost instead
  of a model; :func:`run_replicas`: the engine behind a round-robin balancer.
- :func:`speculative_generate`: a small draft model proposes ``k`` tokens,
  the target checks them all in one forward call and keeps the longest
  prefix it agrees with (greedy speculative decoding: Leviathan, Kalman &
  Matias, ICML 2023; Chen et al. 2023). The output is exactly the target's
  own greedy output.

How a step is computed ("selective batching", Orca §4.2): the new tokens of
every request in the batch (a whole prompt for a request that just joined,
one token for the others) are laid side by side in one sequence, so every
Linear layer, LayerNorm and the MLP run once for the whole batch. Attention
keeps requests apart: a prompt attends to itself, exactly as in
``CausalSelfAttention``; the one-token rows are gathered with their cached
keys and values into one padded batch, the padding masked out, so no
request ever sees another's tokens. The tests and the lesson check, request
by request, that the tokens equal that request's own ``model.generate`` run
alone (the masked padding only adds exact zeros to each sum; in the tests
no token differs).

Time: the engine keeps a clock in seconds. Each forward call advances it by
that call's **measured** wall time; when nothing is running it jumps to the
next arrival (no sleeping). So TTFT and time per output token are measured
compute plus queueing. When requests arrive during the run, which step they
join depends on how fast this machine is; with every request waiting at the
start (``make_trace(..., rate=math.inf)``) the schedule, the ``steps`` and
the KV bytes are the same on every machine.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch.nn import functional as F

from . import _validate as v
from .data import make_tokens
from .models import KVCache, TinyGPT

POLICIES = ("continuous", "static")


# ---------------------------------------------------------------- requests


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


MAX_TRACE = 100_000
"""Most requests one trace (and so one run) may hold."""
MAX_BATCH = 4096
"""Largest ``max_batch`` the engine and the scheduler accept."""


def make_trace(
    n_requests: int,
    rate: float,
    *,
    prompt_len=(4, 12),
    output_len=(2, 32),
    vocab_size: int = 64,
    seed: int = 0,
) -> list[Request]:
    """``n_requests`` requests arriving as a Poisson process of ``rate``
    requests/s (the first after one exponential gap, as in lesson 03's
    simulator); ``rate=math.inf`` puts every arrival at 0 s (all waiting at the
    start). Prompt lengths and output lengths are uniform integers in the
    inclusive ranges ``prompt_len`` and ``output_len``; prompt tokens are
    uniform in ``[0, vocab_size)``. Deterministic for ``seed``
    (``numpy.random.default_rng``). Lesson 08, section 1.
    """
    n = v.positive_int("n_requests", n_requests, maximum=MAX_TRACE)
    if not (isinstance(rate, (int, float)) and not isinstance(rate, bool) and rate == math.inf):
        rate = v.positive("rate", rate)
    p_lo, p_hi = _range("prompt_len", prompt_len)
    o_lo, o_hi = _range("output_len", output_len)
    vocab = v.integer("vocab_size", vocab_size, minimum=2)
    rng = np.random.default_rng(v.seed("seed", seed))
    v.work(f"n_requests={n} x prompt_len up to {p_hi}", n * p_hi)
    gaps = rng.exponential(1.0, size=n)
    arrivals = np.zeros(n) if rate == math.inf else np.cumsum(gaps) / rate
    p_lens = rng.integers(p_lo, p_hi + 1, size=n)
    o_lens = rng.integers(o_lo, o_hi + 1, size=n)
    return [
        Request(float(a), tuple(int(t) for t in rng.integers(0, vocab, size=int(p))), int(o))
        for a, p, o in zip(arrivals, p_lens, o_lens)
    ]


def _check_trace(trace, max_len: int | None = None) -> list[Request]:
    if not isinstance(trace, (list, tuple)) or not trace:
        raise TypeError("trace must be a non-empty list of Request (from make_trace)")
    for i, r in enumerate(trace):
        if not isinstance(r, Request):
            raise TypeError(f"trace[{i}] must be a Request, got {type(r).__name__}")
        if not r.prompt or r.output_len < 1:
            raise ValueError(f"trace[{i}] needs a non-empty prompt and output_len >= 1, got {r}")
        if max_len is not None and len(r.prompt) + r.output_len > max_len:
            raise ValueError(
                f"trace[{i}] needs {len(r.prompt)} + {r.output_len} positions, more than the model's "
                f"max_seq_len={max_len}"
            )
    return list(trace)


# ---------------------------------------------------------------- KV memory arithmetic


def kv_bytes_per_position(model: TinyGPT) -> int:
    """Bytes of keys and values one token position holds in ``model``'s cache:
    2 (K and V) × layers × d_model × bytes per value. Lesson 08, section 3."""
    if not isinstance(model, TinyGPT):
        raise TypeError(f"model must be a TinyGPT, got {type(model).__name__}")
    size = next(model.parameters()).element_size()
    return 2 * model.n_layers * model.d_model * size


def blocks_needed(n_tokens: int, kv_block: int) -> int:
    """Blocks of ``kv_block`` positions that ``n_tokens`` cached tokens occupy:
    ceil(n_tokens / kv_block). Lesson 08, section 3."""
    n = v.integer("n_tokens", n_tokens, minimum=0)
    b = v.positive_int("kv_block", kv_block)
    return -(-n // b)


def reserved_positions(n_tokens: int, max_len: int, kv_block: int | None) -> int:
    """Positions reserved for a request holding ``n_tokens``: ``max_len`` when
    each request reserves the maximum length up front (``kv_block=None``),
    else whole blocks: blocks_needed × kv_block. Lesson 08, section 3."""
    n = v.integer("n_tokens", n_tokens, minimum=0)
    m = v.positive_int("max_len", max_len)
    if kv_block is None:
        return m
    return blocks_needed(n, kv_block) * v.positive_int("kv_block", kv_block)


# ---------------------------------------------------------------- one batched step


class _KVPool:
    """Keys and values of every request of a run: one row per request, each
    ``max_seq_len`` positions long, per layer (the engine's memory is laid
    out simply; the bytes it *reports* follow the layout :func:`run` is asked
    to account for)."""

    def __init__(self, model: TinyGPT, rows: int):
        hd = model.d_model // model.n_heads
        shape = (rows, model.n_heads, model.max_seq_len, hd)
        self.k = [torch.zeros(shape) for _ in range(model.n_layers)]
        self.v = [torch.zeros(shape) for _ in range(model.n_layers)]


def _forward_rows(model: TinyGPT, pool: _KVPool, rows: list[int], new_tokens: list[list[int]],
                  past: list[int]) -> torch.Tensor:
    """One forward call over several requests; return each request's last logits (requests, vocab).

    ``rows[i]`` is request i's row in ``pool``, ``past[i]`` the positions it
    has cached, ``new_tokens[i]`` its new tokens: a whole prompt (``past`` 0)
    or one token. All new tokens sit side by side in one (1, total, d)
    sequence for every per-token layer. Attention: a prompt attends to itself
    with a causal mask, exactly as in ``CausalSelfAttention``; the one-token
    rows are gathered from ``pool`` into one padded batch, with the padding
    masked out (lesson 08, section 1).
    """
    lens = [len(t) for t in new_tokens]
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]]).tolist()
    ids = torch.tensor([t for row in new_tokens for t in row], dtype=torch.long).unsqueeze(0)
    pos = torch.cat([torch.arange(p, p + n) for p, n in zip(past, lens)])
    token_row = torch.tensor([r for r, n in zip(rows, lens) for _ in range(n)])
    x = model.tok_emb(ids) + model.pos_emb(pos)
    d, h = model.d_model, model.n_heads
    hd = d // h
    one = [i for i, n in enumerate(lens) if n == 1]
    one_at = torch.tensor([starts[i] for i in one], dtype=torch.long)
    one_rows = torch.tensor([rows[i] for i in one], dtype=torch.long)
    if one:
        seen = torch.tensor([past[i] + 1 for i in one])  # positions each one-token row may see
        width = int(seen.max())
        padding = (torch.arange(width) >= seen[:, None]).view(len(one), 1, 1, width)
    for layer, block in enumerate(model.blocks):
        q_all, k_all, v_all = block.attn.qkv(block.ln1(x)).split(d, dim=2)
        pool.k[layer][token_row, :, pos] = k_all[0].reshape(-1, h, hd)
        pool.v[layer][token_row, :, pos] = v_all[0].reshape(-1, h, hd)
        out = torch.empty_like(x)
        for i, (n, start) in enumerate(zip(lens, starts)):
            if n == 1:
                continue
            q, k, val = (t[:, start:start + n].view(1, n, h, hd).transpose(1, 2) for t in (q_all, k_all, v_all))
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(hd)
            mask = torch.ones(n, n, dtype=torch.bool).tril()
            scores = scores.masked_fill(~mask, float("-inf"))
            out[:, start:start + n] = (F.softmax(scores, dim=-1) @ val).transpose(1, 2).reshape(1, n, d)
        if one:
            q = q_all[0, one_at].view(len(one), h, 1, hd)
            keys = pool.k[layer][one_rows, :, :width]
            values = pool.v[layer][one_rows, :, :width]
            scores = ((q @ keys.transpose(-2, -1)) / math.sqrt(hd)).masked_fill(padding, float("-inf"))
            out[0, one_at] = (F.softmax(scores, dim=-1) @ values).view(len(one), d)
        x = x + block.attn.proj(out)
        x = x + block.mlp(block.ln2(x))
    last = torch.tensor(np.cumsum(lens) - 1)
    return model.head(model.ln_f(x[0, last]))


# ---------------------------------------------------------------- the engine


@dataclass(frozen=True)
class EngineResult:
    """What :func:`run` measured. Times in seconds, bytes of fp32 keys and values.

    Per request, in trace order: ``outputs`` (generated token ids),
    ``ttft`` (first token time − arrival), ``tpot`` (time per output token after
    the first: (finish − first token) / (output_len − 1); NaN for one-token
    requests), ``finish``. Per step: ``step_times`` (measured), ``batch_sizes``
    (requests in the forward call), ``step_tokens`` (tokens fed to it: a
    newcomer's prompt, one for each other request), ``kv_reserved`` and ``kv_used`` (bytes at
    the end of the step). ``steps`` counts forward calls. Lesson 08, section 2.
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
    peak_running: int = 0
    swaps: int = 0

    @property
    def n_tokens(self) -> int:
        """Tokens generated in all. Lesson 08, section 2."""
        return sum(len(o) for o in self.outputs)

    def percentiles(self, q=(50, 95, 99)) -> dict:
        """``{"ttft_p50": s, ..., "tpot_p50": s, ...}`` (NaN TPOTs left out). Lesson 08, section 2."""
        out = {}
        for name, xs in (("ttft", self.ttft), ("tpot", self.tpot)):
            xs = [x for x in xs if not math.isnan(x)]
            for p in q:
                out[f"{name}_p{p}"] = float(np.percentile(xs, p)) if xs else math.nan
        return out

    @property
    def peak_reserved(self) -> int:
        """Most KV bytes reserved at any step. Lesson 08, section 3."""
        return max(self.kv_reserved)

    @property
    def peak_used(self) -> int:
        """Most KV bytes holding tokens at any step. Lesson 08, section 3."""
        return max(self.kv_used)

    @property
    def kv_utilisation(self) -> float:
        """Bytes used / bytes reserved, summed over the steps (1 − waste). Lesson 08, section 3."""
        return sum(self.kv_used) / max(sum(self.kv_reserved), 1)

    def row(self) -> dict:
        """One summary row (ms, tokens/s) for a table. Lesson 08, section 2."""
        pct = self.percentiles()
        return {
            "policy": self.policy,
            "steps": self.steps,
            "tokens/s": round(self.tokens_per_s, 1),
            **{f"{k} (ms)": round(1e3 * val, 2) for k, val in pct.items()},
        }


class _Slot:
    """A request being served: its place in the trace and the tokens it has made."""

    def __init__(self, index: int, request: Request):
        self.index, self.request = index, request
        self.generated: list[int] = []

    def next_input(self) -> list[int]:
        return list(self.request.prompt) if not self.generated else [self.generated[-1]]

    @property
    def done(self) -> bool:
        return len(self.generated) >= self.request.output_len

    def held(self) -> int:
        """Positions cached: the prompt and every generated token but the newest."""
        return len(self.request.prompt) + len(self.generated) - 1 if self.generated else 0


def _check_serve_args(trace, max_len, policy, max_batch, kv_block, kv_budget, bpp):
    trace = _check_trace(trace, max_len)
    policy = v.choice("policy", policy, POLICIES)
    max_batch = v.positive_int("max_batch", max_batch, maximum=MAX_BATCH)
    if kv_block is not None:
        kv_block = v.integer("kv_block", kv_block, minimum=1, maximum=max_len)
    if kv_budget is not None:
        kv_budget = v.integer("kv_budget", kv_budget, minimum=1)
        if policy != "continuous":
            raise ValueError(f"kv_budget needs policy='continuous', got policy={policy!r}")
        need = reserved_positions(max_len, max_len, kv_block) * bpp
        if kv_budget < need:
            raise ValueError(f"kv_budget={kv_budget} B cannot hold even one request ({need} B at full length)")
    return trace, policy, max_batch, kv_block, kv_budget


def _serve(trace, policy, max_batch, kv_block, budget, max_len, bpp, step) -> EngineResult:
    """The scheduler shared by :func:`run` (``step`` runs the model and
    returns its measured time) and :func:`simulate` (``step`` returns the cost
    model's time)."""
    pending = deque(sorted(range(len(trace)), key=lambda i: (trace[i].arrival, i)))
    paused: deque[_Slot] = deque()
    batch: list[_Slot] = []  # requests holding KV memory
    first = [math.nan] * len(trace)
    finish = [math.nan] * len(trace)
    outputs: list[tuple] = [()] * len(trace)
    step_times, batch_sizes, n_in, reserved, used = [], [], [], [], []
    clock, swaps, peak = 0.0, 0, 0

    def after_step(slots) -> int:
        """Positions reserved once every slot has cached this step's tokens."""
        return sum(reserved_positions(s.held() + (0 if s.done else len(s.next_input())), max_len, kv_block)
                   for s in slots)

    def admit() -> None:
        while len(batch) < max_batch:
            if paused:
                cand, source = paused[0], paused
            elif pending and trace[pending[0]].arrival <= clock:
                cand, source = _Slot(pending[0], trace[pending[0]]), pending
            else:
                return
            if budget is not None and after_step(batch + [cand]) * bpp > budget:
                return
            source.popleft()
            batch.append(cand)

    while pending or paused or batch:
        if policy == "continuous":
            batch[:] = [s for s in batch if not s.done]
            admit()
        elif all(s.done for s in batch):
            batch.clear()
            admit()
        if not batch:  # idle: jump to the next arrival
            if not pending:
                break
            clock = max(clock, trace[pending[0]].arrival)
            continue
        if budget is not None:
            while after_step(batch) * bpp > budget and len(batch) > 1:
                paused.appendleft(batch.pop())  # the newest request waits, keeping its cache aside
                swaps += 1
        active = [s for s in batch if not s.done]
        peak = max(peak, len(active))
        n_in.append(sum(len(s.next_input()) for s in active))
        dt = step(active)
        clock += dt
        step_times.append(dt)
        batch_sizes.append(len(active))
        reserved.append(sum(reserved_positions(s.held(), max_len, kv_block) for s in batch) * bpp)
        used.append(sum(s.held() for s in active) * bpp)
        for s in active:
            if len(s.generated) == 1:
                first[s.index] = clock
            if s.done:
                finish[s.index] = clock
                outputs[s.index] = tuple(s.generated)

    ttft = tuple(f - r.arrival for f, r in zip(first, trace))
    tpot = tuple((e - f) / (r.output_len - 1) if r.output_len > 1 else math.nan for f, e, r in zip(first, finish, trace))
    span = max(finish) - min(r.arrival for r in trace)
    n_tokens = sum(len(o) for o in outputs)
    return EngineResult(
        policy=policy, max_batch=max_batch, kv_block=kv_block, outputs=tuple(outputs), steps=len(step_times),
        ttft=ttft, tpot=tpot, finish=tuple(finish), tokens_per_s=n_tokens / span, elapsed=span,
        step_times=tuple(step_times), batch_sizes=tuple(batch_sizes), step_tokens=tuple(n_in), kv_reserved=tuple(reserved),
        kv_used=tuple(used), peak_running=peak, swaps=swaps,
    )


@torch.no_grad()
def run(
    model: TinyGPT,
    trace,
    *,
    policy: str = "continuous",
    max_batch: int = 8,
    kv_block: int | None = None,
    kv_budget: int | None = None,
) -> EngineResult:
    """Serve ``trace`` with ``model`` (greedy decoding) and measure it.

    ``policy="static"``: when the engine is free it takes up to ``max_batch``
    waiting requests and runs them until the longest is done; a finished row
    is no longer computed but its slot and its memory stay taken until the
    batch ends, and arrivals wait. ``policy="continuous"``: before every
    forward call finished requests leave (their memory is freed) and waiting
    ones join, up to ``max_batch``; a newcomer's whole prompt is processed in
    the same call as the others' next tokens.

    KV accounting, per step: ``kv_used`` is the bytes of tokens cached by the
    requests computed in the step; ``kv_reserved`` the bytes set aside for
    every request holding memory. With ``kv_block=None`` each request reserves
    ``model.max_seq_len`` positions when it joins (contiguous reservation);
    with ``kv_block=B`` it holds ceil(tokens / B) blocks of ``B`` positions
    (paged). With ``kv_budget`` (bytes; continuous policy only) a request
    joins only if every reservation after the step still fits; when a paged
    request needs a block and none is free, the request that joined last is
    paused (swapped out: its blocks are freed, its cache kept aside) and
    resumes first when blocks free up. Lesson 08, sections 1–3.
    """
    if not isinstance(model, TinyGPT):
        raise TypeError(f"model must be a TinyGPT, got {type(model).__name__}")
    bpp = kv_bytes_per_position(model)
    trace, policy, max_batch, kv_block, budget = _check_serve_args(
        trace, model.max_seq_len, policy, max_batch, kv_block, kv_budget, bpp)
    model.eval()
    pool = _KVPool(model, len(trace))

    def step(active) -> float:
        start = time.perf_counter()
        logits = _forward_rows(model, pool, [s.index for s in active], [s.next_input() for s in active],
                               [s.held() for s in active])
        for s, row in zip(active, logits):
            s.generated.append(int(row.argmax()))
        return time.perf_counter() - start

    return _serve(trace, policy, max_batch, kv_block, budget, model.max_seq_len, bpp, step)


def simulate(
    trace,
    *,
    policy: str = "continuous",
    max_batch: int = 8,
    overhead: float,
    per_token: float,
    max_len: int = 64,
    kv_block: int | None = None,
    kv_budget: int | None = None,
    bytes_per_position: int = 1024,
) -> EngineResult:
    """:func:`run`'s scheduler without a model: each forward call is taken to
    last ``overhead + per_token × (tokens in the call)`` seconds (fit both from
    a run's ``step_times``: :func:`fit_step_cost`), and makes token 0 for
    every request. Same steps, batches and KV bytes as :func:`run` whenever
    the schedule does not depend on timing; times are predictions. Lesson 08,
    section 5.
    """
    overhead = v.number("overhead", overhead, minimum=0.0)
    per_token = v.number("per_token", per_token, minimum=0.0)
    if overhead + per_token <= 0:
        raise ValueError("overhead and per_token cannot both be 0: a forward call must take some time")
    max_len = v.positive_int("max_len", max_len)
    bpp = v.positive_int("bytes_per_position", bytes_per_position)
    trace, policy, max_batch, kv_block, budget = _check_serve_args(
        trace, max_len, policy, max_batch, kv_block, kv_budget, bpp)

    def step(active) -> float:
        n = sum(len(s.next_input()) for s in active)
        for s in active:
            s.generated.append(0)
        return overhead + per_token * n

    return _serve(trace, policy, max_batch, kv_block, budget, max_len, bpp, step)


def fit_step_cost(tokens, seconds) -> tuple[float, float]:
    """Least-squares ``(overhead, per_token)`` for step time = overhead +
    per_token × tokens (both clipped at 0). Lesson 08, section 5."""
    as_list = (lambda xs: list(xs) if isinstance(xs, (np.ndarray, pd.Series)) else xs)
    x = np.asarray(v.numbers_list("tokens", as_list(tokens), minimum=0.0), dtype=float)
    y = np.asarray(v.numbers_list("seconds", as_list(seconds), minimum=0.0), dtype=float)
    if x.shape != y.shape or x.size < 2:
        raise ValueError("tokens and seconds must be equally long, with at least 2 points")
    per_token, overhead = np.polyfit(x, y, 1) if np.ptp(x) > 0 else (0.0, float(np.mean(y)))
    return max(float(overhead), 0.0), max(float(per_token), 0.0)


# ---------------------------------------------------------------- a scheduler without a model


def schedule(output_lens, *, policy: str = "continuous", max_batch: int = 8) -> int:
    """Forward calls :func:`run` makes for requests that all wait at the start
    and generate ``output_lens`` tokens each (the prompt is processed in the
    call that makes the first token). Static: each batch of ``max_batch``
    requests, in order, costs its longest output. Continuous: a slot is
    refilled as soon as its request ends. No model needed. Lesson 08, section 2.
    """
    if not isinstance(output_lens, (list, tuple)) or not output_lens:
        raise TypeError("output_lens must be a non-empty list of integers")
    if len(output_lens) > MAX_TRACE:
        raise ValueError(f"output_lens may hold at most {MAX_TRACE:,} requests, got {len(output_lens):,}")
    lens = [v.integer(f"output_lens[{i}]", n, minimum=1, maximum=100_000) for i, n in enumerate(output_lens)]
    policy = v.choice("policy", policy, POLICIES)
    b = v.positive_int("max_batch", max_batch, maximum=MAX_BATCH)
    if policy == "static":
        return sum(max(lens[i:i + b]) for i in range(0, len(lens), b))
    left = deque(lens)
    slots: list[int] = []  # tokens still to make, per running request
    steps = 0
    while left or slots:
        while left and len(slots) < b:
            slots.append(left.popleft())
        steps += 1
        slots = [n - 1 for n in slots if n > 1]
    return steps


# ---------------------------------------------------------------- speculative decoding


def expected_tokens_per_call(alpha: float, k: int) -> float:
    """Expected tokens per target forward call when each drafted token is
    accepted with probability ``alpha`` independently and ``k`` are drafted:
    (1 − α^(k+1)) / (1 − α), and k + 1 when α = 1 (Leviathan et al. 2023,
    eq. 1). Lesson 08, section 4."""
    a = v.number("alpha", alpha, minimum=0.0, maximum=1.0)
    k = v.integer("k", k, minimum=0)
    if a == 1.0:
        return float(k + 1)
    return (1 - a ** (k + 1)) / (1 - a)


def _truncate(cache: KVCache, length: int) -> None:
    """Drop cached positions from ``length`` on (rejected draft tokens)."""
    for i in range(cache.n_layers):
        if cache.keys[i] is not None:
            cache.keys[i] = cache.keys[i][:, :, :length]
            cache.values[i] = cache.values[i][:, :, :length]


@dataclass(frozen=True)
class SpecStats:
    """Counts from :func:`speculative_generate`. ``accepted`` / ``proposed`` is
    the measured acceptance rate; ``target_calls`` includes the prefill call
    that makes the first token. Lesson 08, section 4."""

    proposed: int
    accepted: int
    target_calls: int
    draft_calls: int
    rounds: int
    new_tokens: int

    @property
    def acceptance_rate(self) -> float:
        """Accepted / proposed draft tokens (α measured). Lesson 08, section 4."""
        return self.accepted / self.proposed if self.proposed else math.nan

    @property
    def tokens_per_target_call(self) -> float:
        """Tokens made per verifying call, after the prefill call's first token. Lesson 08, section 4."""
        return (self.new_tokens - 1) / self.rounds if self.rounds else math.nan


@torch.no_grad()
def speculative_generate(target: TinyGPT, draft: TinyGPT, ids: torch.Tensor, max_new_tokens: int, *, k: int = 4):
    """Greedy speculative decoding: ``(ids, stats)`` where ``ids`` is the prompt
    (1, T) followed by ``max_new_tokens`` tokens, exactly what
    ``target.generate(ids, max_new_tokens)`` returns, and ``stats`` a
    :class:`SpecStats`.

    Each round the draft proposes up to ``k`` tokens one by one (cheap calls
    on its own cache); the target runs once on the last accepted token plus
    the proposals, which gives its own choice after each of them. The
    proposals it agrees with are kept, and its choice at the first
    disagreement (or after the last proposal, if all agree) is added, so a
    round makes between 1 and k + 1 tokens. Rejected positions are cut from
    both caches. Leviathan et al. 2023; Chen et al. 2023. Lesson 08, section 4.
    """
    for name, m in (("target", target), ("draft", draft)):
        if not isinstance(m, TinyGPT):
            raise TypeError(f"{name} must be a TinyGPT, got {type(m).__name__}")
    if draft.vocab_size != target.vocab_size:
        raise ValueError(f"draft and target need the same vocabulary, got {draft.vocab_size} and {target.vocab_size}")
    v.token_ids("ids", ids, vocab_size=target.vocab_size, max_len=min(target.max_seq_len, draft.max_seq_len) - 1)
    if ids.shape[0] != 1:
        raise ValueError(f"ids must be one sequence, shape (1, seq), got shape {tuple(ids.shape)}")
    limit = min(target.max_seq_len, draft.max_seq_len) - ids.shape[1]
    n = v.integer("max_new_tokens", max_new_tokens, minimum=1, maximum=limit)
    k = v.positive_int("k", k, maximum=min(target.max_seq_len, draft.max_seq_len))
    target.eval()
    draft.eval()
    seq = ids[0].tolist()
    t_cache, d_cache = target.new_cache(1), draft.new_cache(1)
    # prefill: the target's first token, as generate makes it
    seq.append(int(target(ids, cache=t_cache)[0, -1].argmax()))
    proposed = accepted = draft_calls = rounds = 0
    target_calls = 1
    while len(seq) - ids.shape[1] < n:
        left = n - (len(seq) - ids.shape[1])
        kk = min(k, left - 1)  # a round makes at most kk + 1 tokens
        guesses = []
        for _ in range(kk):
            feed = (seq + guesses)[d_cache.seq_len:]
            logits = draft(torch.tensor([feed]), cache=d_cache)
            draft_calls += 1
            guesses.append(int(logits[0, -1].argmax()))
        base = t_cache.seq_len  # = len(seq) - 1: the newest token is not in the target's cache yet
        logits = target(torch.tensor([seq[base:] + guesses]), cache=t_cache)[0]
        target_calls += 1
        rounds += 1
        choice = logits[-(kk + 1):].argmax(dim=-1).tolist()  # the target's token after each position
        good = 0
        while good < kk and guesses[good] == choice[good]:
            good += 1
        proposed += kk
        accepted += good
        seq += guesses[:good] + [choice[good]]
        _truncate(t_cache, len(seq) - 1)
        _truncate(d_cache, min(d_cache.seq_len, len(seq) - 1))
    stats = SpecStats(proposed, accepted, target_calls, draft_calls, rounds, n)
    return torch.tensor([seq]), stats


def train_lm(
    model: TinyGPT,
    *,
    steps: int = 100,
    batch: int = 16,
    seq_len: int = 16,
    lr: float = 3e-3,
    noise: float = 0.1,
    seed: int = 0,
) -> list[float]:
    """Train ``model`` in place on the course's synthetic tokens
    (:func:`course_lib.data.make_tokens`, sequences of ``seq_len`` tokens)
    with AdamW, ``steps`` steps of ``batch`` sequences; return the losses.
    Deterministic for ``seed`` at a fixed thread count. Lesson 08, section 4.
    """
    if not isinstance(model, TinyGPT):
        raise TypeError(f"model must be a TinyGPT, got {type(model).__name__}")
    steps = v.positive_int("steps", steps, maximum=100_000)
    batch = v.positive_int("batch", batch, maximum=MAX_BATCH)
    seq_len = v.integer("seq_len", seq_len, minimum=2, maximum=model.max_seq_len)
    lr = v.positive("lr", lr, maximum=10.0)
    seed = v.seed("seed", seed)
    v.fits_memory(f"steps={steps} x batch={batch} x seq_len={seq_len} (the training tokens)", 8 * steps * batch * seq_len)
    data = make_tokens(steps * batch, seq_len, model.vocab_size, noise=noise, seed=seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    model.train()
    losses = []
    for i in range(steps):
        chunk = data[i * batch:(i + 1) * batch]
        logits = model(chunk[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), chunk[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    model.eval()
    return losses


# ---------------------------------------------------------------- behind replicas


def run_replicas(model: TinyGPT, trace, n_replicas: int, **kwargs) -> EngineResult:
    """The engine behind ``n_replicas`` identical replicas with a round-robin
    balancer (request i goes to replica i mod R, as in lesson 06): each
    replica serves its share with :func:`run` (``kwargs`` go there), on its
    own clock, one replica after another on this machine, which is what R
    machines that share nothing would measure. The merged result has every
    request in trace order; ``steps`` and the per-step series add up the
    replicas'; tokens per second is all tokens over first arrival to last
    finish. Lesson 08, section 6.
    """
    trace = _check_trace(trace)
    r = v.integer("n_replicas", n_replicas, minimum=1, maximum=len(trace))
    shares = [list(range(i, len(trace), r)) for i in range(r)]
    parts = [run(model, [trace[i] for i in idx], **kwargs) for idx in shares]
    outputs, ttft, tpot, finish = ([None] * len(trace) for _ in range(4))
    for idx, res in zip(shares, parts):
        for j, i in enumerate(idx):
            outputs[i], ttft[i], tpot[i], finish[i] = res.outputs[j], res.ttft[j], res.tpot[j], res.finish[j]
    span = max(finish) - min(t.arrival for t in trace)
    n_tokens = sum(len(o) for o in outputs)

    def joined(name):
        return tuple(x for res in parts for x in getattr(res, name))

    return EngineResult(
        policy=parts[0].policy, max_batch=parts[0].max_batch, kv_block=parts[0].kv_block, outputs=tuple(outputs),
        steps=sum(p.steps for p in parts), ttft=tuple(ttft), tpot=tuple(tpot), finish=tuple(finish),
        tokens_per_s=n_tokens / span, elapsed=span, step_times=joined("step_times"),
        batch_sizes=joined("batch_sizes"), step_tokens=joined("step_tokens"), kv_reserved=joined("kv_reserved"),
        kv_used=joined("kv_used"), peak_running=max(p.peak_running for p in parts), swaps=sum(p.swaps for p in parts),
    )


# ---------------------------------------------------------------- tables and the explorer's arithmetic


def step_table(results: dict):
    """One row per forward call of each result in ``results`` (``{label:
    EngineResult}``): ``label``, ``step`` (from 1), ``requests`` (in the call),
    ``tokens`` (fed to it), ``reserved_KiB`` and ``used_KiB`` (KV cache, rounded
    to 0.01). What the lesson's charts draw. Lesson 08, sections 2–3.
    """
    if not isinstance(results, dict) or not results:
        raise TypeError("results must be a non-empty dict {label: EngineResult}")
    rows = []
    for label, res in results.items():
        if not isinstance(res, EngineResult):
            raise TypeError(f"results[{label!r}] must be an EngineResult from run or simulate, got {type(res).__name__}")
        for i, (b, n, r, u) in enumerate(zip(res.batch_sizes, res.step_tokens, res.kv_reserved, res.kv_used)):
            rows.append({"label": str(label), "step": i + 1, "requests": b, "tokens": n,
                         "reserved_KiB": round(r / 1024, 2), "used_KiB": round(u / 1024, 2)})
    return pd.DataFrame(rows)


def compare_policies(rate: float, max_batch: int, max_output: int, kv_block: int, *, overhead: float, per_token: float,
                     n_requests: int = 40, seed: int = 0) -> dict:
    """Static and continuous batching on one trace under :func:`simulate`
    (a forward call lasts ``overhead + per_token × tokens``):
    ``{"static": EngineResult, "continuous": EngineResult}``. The trace has
    ``n_requests`` requests at ``rate`` per second, prompts of 4–12 tokens and
    outputs of 2–``max_output`` tokens; ``kv_block`` 0 means each request
    reserves the maximum length. The trace explorer's arithmetic. Lesson 08, section 5.
    """
    max_output = v.integer("max_output", max_output, minimum=2, maximum=48)
    kv_block = v.integer("kv_block", kv_block, minimum=0, maximum=64)
    trace = make_trace(n_requests, rate, prompt_len=(4, 12), output_len=(2, max_output), seed=seed)
    return {policy: simulate(trace, policy=policy, max_batch=max_batch, overhead=overhead, per_token=per_token,
                             kv_block=kv_block or None)
            for policy in POLICIES}


def format_comparison(result: dict) -> dict[str, str]:
    """The texts the trace explorer shows for :func:`compare_policies`'s result,
    by key (``static_steps``, ``continuous_tps``, …). Tests compute the
    expected text with this. Lesson 08, section 5."""
    v.mapping("result", result, POLICIES)
    for policy in POLICIES:
        v.instance(f"result[{policy!r}]", result[policy], EngineResult, "an EngineResult from compare_policies")
    out = {}
    for policy in ("static", "continuous"):
        r = result[policy]
        pct = r.percentiles()
        out[f"{policy}_steps"] = f"{r.steps}"
        out[f"{policy}_tps"] = f"{r.tokens_per_s:.0f} tok/s"
        out[f"{policy}_ttft"] = f"{pct['ttft_p50'] * 1e3:.1f} / {pct['ttft_p95'] * 1e3:.1f} ms"
        out[f"{policy}_tpot"] = f"{pct['tpot_p50'] * 1e3:.2f} ms"
        out[f"{policy}_kv"] = f"{100 * r.kv_utilisation:.0f} %"
    return out
