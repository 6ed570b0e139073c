"""The scheduler: which requests run in the next forward call, with how many
tokens each, and what happens when the KV pool runs out of blocks (lesson 08,
sections 2-5).

Before every forward call (continuous batching, Orca's iteration-level
scheduling; static batching takes a whole batch and runs it out):

1. Requests already running come first, oldest first. Each brings the
   tokens it has not computed yet: one for a decode step, a prompt (or what
   is left of it) for a prefill, capped by the step's token budget
   (``max_step_tokens``: chunked prefill, as in Sarathi-Serve and vLLM).
   It gets the blocks those tokens need. When no block is free, the newest
   running request is **preempted**: its blocks are freed and it goes back
   to the front of the queue, to be prefilled again later (recomputation, the
   default of vLLM V1; older vLLM could instead swap its blocks to CPU memory).
2. Then waiting requests join, in order, while there is room in the batch,
   in the token budget and in free blocks (none join in a step that
   preempted). A newcomer first takes the cached blocks its prompt starts
   with (prefix caching), and computes only the rest.

After the call each request has cached its new tokens; one whose tokens are
all cached has made its next token.
"""

from __future__ import annotations

import math
from collections import deque

from .blocks import BlockManager, _ceil_blocks
from .requests import Request
from .results import EngineResult


class Sequence:
    """A request inside the engine: its tokens so far (prompt, then generated),
    how many positions it has cached and the blocks holding them. Used by :func:`course_lib.engine.scheduler.serve`;
    not tied to one lesson."""

    def __init__(self, index: int, request: Request):
        self.index, self.request = index, request
        self.tokens = list(request.prompt)
        self.n_cached = 0  # positions whose keys and values are in the pool
        self.most_cached = 0  # most positions ever cached (below this, a preempted request recomputes)
        self.table: list[int] = []  # block ids, in position order
        self.names: list = []  # the names of its full blocks (prefix caching)
        self.times: list[float] = []  # when each token was made

    @property
    def generated(self) -> list[int]:
        """Tokens made so far. Not tied to one lesson."""
        return self.tokens[len(self.request.prompt):]

    @property
    def done(self) -> bool:
        """Whether every requested token is made. Used by :func:`course_lib.engine.scheduler.serve`; not tied to one
        lesson."""
        return len(self.tokens) - len(self.request.prompt) >= self.request.output_len


def serve(trace, policy: str, max_batch: int, blocks: BlockManager, max_step_tokens, step, *, kv_block, bpp: int,
          pool_bytes: int) -> EngineResult:
    """Serve ``trace`` (checked) and return the :class:`EngineResult`. ``step(work)``
    runs one forward call on ``work``, a list of ``(Sequence, n_new_tokens)``,
    and returns ``(seconds, next_tokens)``, one token per entry (used where the
    entry's tokens reach the end of its sequence). Used by :func:`course_lib.engine.serve.run` and
    :func:`course_lib.engine.serve.simulate`; not tied to one lesson."""
    size = blocks.block_size
    waiting = deque(Sequence(i, trace[i]) for i in sorted(range(len(trace)), key=lambda i: (trace[i].arrival, i)))
    running: list[Sequence] = []
    log = {k: [] for k in ("times", "batch", "tokens", "reserved", "used", "shared")}
    count = {"prefill": 0, "cached": 0, "preempted": 0, "recomputed": 0}
    clock = 0.0
    served: list[Sequence] = []

    def preempt(seq: Sequence) -> None:
        running.remove(seq)
        blocks.release(seq.table)
        seq.table, seq.names, seq.n_cached = [], [], 0
        waiting.appendleft(seq)
        count["preempted"] += 1

    def schedule() -> list:
        work, budget, preempted = [], max_step_tokens, False
        for seq in list(running):
            if seq.done or seq not in running or budget == 0:
                continue
            n = min(len(seq.tokens) - seq.n_cached, budget)
            need = _ceil_blocks(seq.n_cached + n, size) - len(seq.table)
            while need > blocks.n_free and seq in running:
                preempt(running[-1])
                preempted = True
            if seq in running:
                seq.table += blocks.allocate(need)
                work.append((seq, n))
                budget -= n
                blocks.name_full_blocks(seq.tokens, seq.table, seq.names, seq.n_cached + n)
        may_join = not running if policy == "static" else not preempted
        while may_join and waiting and len(running) < max_batch and budget > 0:
            seq = waiting[0]
            if seq.request.arrival > clock:
                break
            hit, names = blocks.match(seq.tokens)
            cached = len(hit) * size
            n = min(len(seq.tokens) - cached, budget)
            need = _ceil_blocks(cached + n, size) - len(hit)
            if need > blocks.free_after_taking(hit):
                break
            waiting.popleft()
            blocks.take(hit)
            seq.table, seq.names, seq.n_cached = hit + blocks.allocate(need), names, cached
            count["cached"] += min(cached, len(seq.request.prompt))
            running.append(seq)
            work.append((seq, n))
            budget -= n
            # name the blocks this step fills, so requests joining after it (even in this step) find them: the
            # runner writes every request's new keys and values into the pool before any request reads them
            blocks.name_full_blocks(seq.tokens, seq.table, seq.names, seq.n_cached + n)
        return work

    while waiting or running:
        work = schedule()
        if not work:
            if running or not waiting or waiting[0].request.arrival <= clock:
                raise RuntimeError("the engine cannot make progress: the KV pool is too small for one request")
            clock = waiting[0].request.arrival  # idle: jump to the next arrival
            continue
        dt, next_tokens = step(work)
        clock += dt
        for (seq, n), token in zip(work, next_tokens):
            start, seq.n_cached = seq.n_cached, seq.n_cached + n
            count["prefill"] += max(0, min(seq.n_cached, len(seq.request.prompt)) - start)
            count["recomputed"] += max(0, min(seq.n_cached, seq.most_cached) - start)
            seq.most_cached = max(seq.most_cached, seq.n_cached)
            if seq.n_cached == len(seq.tokens):
                seq.tokens.append(int(token))
                seq.times.append(clock)
        log["times"].append(dt)
        log["batch"].append(len(work))
        log["tokens"].append(sum(n for _, n in work))
        log["reserved"].append((blocks.n_blocks - blocks.n_free) * size * bpp)
        fill: dict[int, int] = {}
        for seq, _ in work:
            for i, b in enumerate(seq.table):
                fill[b] = max(fill.get(b, 0), min(size, seq.n_cached - i * size))
        log["used"].append(sum(fill.values()) * bpp)
        log["shared"].append(blocks.n_shared)
        finished = [s for s in running if s.done]
        if policy == "continuous" or len(finished) == len(running):
            for seq in finished:
                running.remove(seq)
                blocks.release(seq.table)
                seq.table = []
        served += [seq for seq, _ in work if seq.done]
    return _result(trace, policy, max_batch, kv_block, pool_bytes, served, log, count)


def _result(trace, policy, max_batch, kv_block, pool_bytes, served, log, count) -> EngineResult:
    by_index = {s.index: s for s in served}
    seqs = [by_index[i] for i in range(len(trace))]
    first = [s.times[0] for s in seqs]
    finish = [s.times[-1] for s in seqs]
    ttft = tuple(f - r.arrival for f, r in zip(first, trace))
    tpot = tuple((e - f) / (r.output_len - 1) if r.output_len > 1 else math.nan
                 for f, e, r in zip(first, finish, trace))
    span = max(finish) - min(r.arrival for r in trace)
    outputs = tuple(tuple(s.generated) for s in seqs)
    return EngineResult(
        policy=policy, max_batch=max_batch, kv_block=kv_block, outputs=outputs, steps=len(log["times"]),
        ttft=ttft, tpot=tpot, finish=tuple(finish), tokens_per_s=sum(len(o) for o in outputs) / span, elapsed=span,
        step_times=tuple(log["times"]), batch_sizes=tuple(log["batch"]), step_tokens=tuple(log["tokens"]),
        kv_reserved=tuple(log["reserved"]), kv_used=tuple(log["used"]), shared_blocks=tuple(log["shared"]),
        token_times=tuple(tuple(s.times) for s in seqs), peak_running=max(log["batch"]), kv_pool_bytes=pool_bytes,
        prefill_tokens=count["prefill"], cached_tokens=count["cached"], preemptions=count["preempted"],
        recomputed_tokens=count["recomputed"],
    )
