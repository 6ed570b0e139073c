"""Serving a trace: :func:`run` (the model, measured), :func:`simulate` (the
same scheduler with a fitted step cost), :func:`schedule` (forward calls by
hand arithmetic) and :func:`compare_policies` (the explorer's). Lesson 08.
"""

from __future__ import annotations

import math
import time
from collections import deque

import torch

from .. import _validate as v
from ..models import TinyGPT
from .blocks import BlockManager, blocks_needed, kv_bytes_per_position
from .requests import MAX_BATCH, MAX_TRACE, POLICIES, check_trace, make_trace
from .results import EngineResult
from .runner import KVPool, forward_step
from .scheduler import serve

#: Most tokens one forward call may take (``max_step_tokens``).
MAX_STEP_TOKENS = 1_000_000

MAX_RUN_POSITIONS = 20_000
"""Most positions (prompts + outputs over the trace) one :func:`run` computes (about a minute on a laptop core)."""
MAX_SIM_POSITIONS = 100_000
"""Most positions (prompts + outputs over the trace) one :func:`simulate` schedules (a few seconds)."""
MAX_STEP_S = 3600.0
"""Largest ``overhead`` and ``per_token`` of :func:`simulate` (seconds): an hour per forward call or per token."""


def _plan(trace, max_len, policy, max_batch, kv_block, kv_budget, bpp, prefix_caching, max_step_tokens,
          vocab_size=None, max_positions=None):
    """Check the arguments shared by run and simulate; size the pool: ``(trace,
    policy, max_batch, kv_block, block_size, n_blocks, prefix_caching, max_step_tokens)``."""
    trace = check_trace(trace, max_len, vocab_size)
    if max_positions is not None:
        total = sum(len(r.prompt) + r.output_len for r in trace)
        if total > max_positions:
            raise ValueError(f"trace asks for {total:_} positions (prompts + outputs of its {len(trace):_} requests), "
                             f"more than the {max_positions:_} that finish in a few seconds; use a shorter trace")
    if kv_block is not None:  # its most: the model's (or the simulation's) max_len
        kv_block = v.integer("kv_block", kv_block, minimum=1, maximum=max_len)
    if prefix_caching and kv_block is None:
        raise ValueError("prefix_caching=True needs kv_block (blocks to share); "
                         "a request reserving max_len positions has no full block to share")
    if max_step_tokens is None:
        max_step_tokens = math.inf
    size = kv_block or max_len  # reserving the maximum length = one block of max_len positions per request
    per_request = blocks_needed(max_len, size)
    if kv_budget is None:
        n_blocks = max_batch * per_request  # room for every request of a full batch at full length
    else:
        if policy != "continuous":
            raise ValueError(f"kv_budget needs policy='continuous', got policy={policy!r}")
        n_blocks = kv_budget // (size * bpp)
        if n_blocks < per_request:
            raise ValueError(f"kv_budget={kv_budget} B cannot hold even one request "
                             f"({per_request * size * bpp} B at full length)")
    return trace, policy, max_batch, kv_block, size, n_blocks, prefix_caching, max_step_tokens


@v.checked(finite=False)  # an EngineResult holds NaN where a figure is undefined
@torch.no_grad()
def run(
    model: v.Instance(TinyGPT, "a TinyGPT"),
    trace,
    *,
    policy: v.Choice[POLICIES] = "continuous",
    max_batch: v.Size(MAX_BATCH) = 8,
    kv_block: int | None = None,
    kv_budget: v.PositiveInt | None = None,
    prefix_caching: v.Bool = False,
    max_step_tokens: v.Size(MAX_STEP_TOKENS) | None = None,
) -> EngineResult:
    """Serve ``trace`` with ``model`` (greedy decoding) and measure it.

    ``policy="static"``: when the engine is free it takes up to ``max_batch``
    waiting requests and runs them until the longest is done; a finished row
    is no longer computed but its slot and its blocks stay taken until the
    batch ends, and arrivals wait. ``policy="continuous"``: before every
    forward call finished requests leave (their blocks are freed) and waiting
    ones join, up to ``max_batch``.

    KV memory is a real pool, allocated once (``kv_pool_bytes``): with
    ``kv_block=B``, blocks of B positions, handed out as a request grows
    (paged, PagedAttention); with ``kv_block=None`` one block of
    ``model.max_seq_len`` positions per request, taken when it joins
    (reserving the maximum length). The pool holds ``kv_budget`` bytes of
    blocks when given (continuous policy only), else enough for ``max_batch``
    requests at full length. A request joins only when the blocks for its
    first step are free; when a running request needs a block and none is
    free, the newest running request is preempted and later recomputed
    (:mod:`course_lib.engine.scheduler`). ``prefix_caching=True`` (needs
    ``kv_block``) shares full blocks whose tokens, and all tokens before
    them, match blocks already computed. ``max_step_tokens=T`` caps the
    tokens of one forward call: a long prompt is prefilled in chunks, beside
    the running requests' decode tokens. Every combination gives each
    request exactly the tokens of its own ``model.generate``. Lesson 08,
    sections 1-5.
    """
    bpp = kv_bytes_per_position(model)
    trace, policy, max_batch, kv_block, size, n_blocks, prefix_caching, max_step_tokens = _plan(
        trace, model.max_seq_len, policy, max_batch, kv_block, kv_budget, bpp, prefix_caching, max_step_tokens,
        vocab_size=model.vocab_size, max_positions=MAX_RUN_POSITIONS)
    model.eval()
    pool = KVPool(model, n_blocks, size)

    def step(work):
        start = time.perf_counter()
        logits = forward_step(model, pool, [(seq.tokens[seq.n_cached:seq.n_cached + n], seq.n_cached, seq.table)
                                            for seq, n in work])
        tokens = logits.argmax(dim=-1).tolist()
        return time.perf_counter() - start, tokens

    return serve(trace, policy, max_batch, BlockManager(n_blocks, size, prefix_caching), max_step_tokens, step,
                 kv_block=kv_block, bpp=bpp, pool_bytes=pool.nbytes)


@v.checked(finite=False)  # one-token requests have a NaN TPOT by definition; the times are checked below
def simulate(
    trace,
    *,
    policy: v.Choice[POLICIES] = "continuous",
    max_batch: v.Size(MAX_BATCH) = 8,
    overhead: v.Range(0.0, MAX_STEP_S),
    per_token: v.Range(0.0, MAX_STEP_S),
    max_len: v.Size(1_000_000) = 64,
    kv_block: int | None = None,
    kv_budget: v.PositiveInt | None = None,
    bytes_per_position: v.PositiveInt = 1024,
    prefix_caching: v.Bool = False,
    max_step_tokens: v.Size(MAX_STEP_TOKENS) | None = None,
) -> EngineResult:
    """:func:`run`'s scheduler and block manager without a model: each forward
    call is taken to last ``overhead + per_token × (tokens in the call)``
    seconds (fit both from a run's ``step_times``:
    :func:`~course_lib.engine.fit_step_cost`), and makes token 0 for every
    request. Same steps, batches and KV bytes as :func:`run` whenever the
    schedule does not depend on timing; times are predictions. ``overhead``
    and ``per_token`` are at most :data:`MAX_STEP_S`; the trace holds at most
    :data:`MAX_SIM_POSITIONS` positions, and positions × batch size at most
    ``course_lib._validate.MAX_SIM_WORK``. Lesson 08, section 7.
    """
    if overhead + per_token <= 0:
        raise ValueError("overhead and per_token cannot both be 0: a forward call must take some time")
    bpp = bytes_per_position
    trace, policy, max_batch, kv_block, size, n_blocks, prefix_caching, max_step_tokens = _plan(
        trace, max_len, policy, max_batch, kv_block, kv_budget, bpp, prefix_caching, max_step_tokens,
        max_positions=MAX_SIM_POSITIONS)
    positions = sum(len(r.prompt) + r.output_len for r in trace)
    v.work(f"a trace of {positions:_} positions x max_batch={max_batch}", positions * min(max_batch, len(trace)))

    def step(work):
        return overhead + per_token * sum(n for _, n in work), [0] * len(work)

    res = serve(trace, policy, max_batch, BlockManager(n_blocks, size, prefix_caching), max_step_tokens, step,
                kv_block=kv_block, bpp=bpp, pool_bytes=n_blocks * size * bpp)
    # a tiny step time makes tokens/s overflow; a huge one the clock: refused by name
    v.finite("simulate", (res.tokens_per_s, res.elapsed, res.ttft, res.finish, res.step_times),
             overhead=overhead, per_token=per_token)
    return res


@v.checked
def schedule(output_lens, *, policy: v.Choice[POLICIES] = "continuous", max_batch: v.Size(MAX_BATCH) = 8) -> int:
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
    b = max_batch
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


@v.checked(finite=False)  # an error from make_trace or simulate names this call's arguments; NaN TPOTs are expected
def compare_policies(rate: float, max_batch: v.Size(MAX_BATCH), max_output: v.IntRange(2, 48), kv_block: v.IntRange(0, 64),
                     *, overhead: v.Range(0.0, MAX_STEP_S),
                     per_token: v.Range(0.0, MAX_STEP_S), n_requests: v.Size(MAX_TRACE) = 40,
                     seed: v.Seed = 0) -> dict:
    """Static and continuous batching on one trace under :func:`simulate`
    (a forward call lasts ``overhead + per_token × tokens``):
    ``{"static": EngineResult, "continuous": EngineResult}``. The trace has
    ``n_requests`` requests at ``rate`` per second, prompts of 4–12 tokens and
    outputs of 2–``max_output`` tokens; ``kv_block`` 0 means each request
    reserves the maximum length. The trace explorer's arithmetic. Used by
    :func:`course_lib.ui.calculators.engine_explorer` and :func:`course_lib.ui.text.format_comparison`; not
    tied to one lesson.
    """
    trace = make_trace(n_requests, rate, prompt_len=(4, 12), output_len=(2, max_output), seed=seed)
    return {policy: simulate(trace, policy=policy, max_batch=max_batch, overhead=overhead, per_token=per_token,
                             kv_block=kv_block or None)
            for policy in POLICIES}
