"""A small serving engine for :class:`~course_lib.models.TinyGPT` (lesson 08).

What the engines people serve language models with (vLLM, SGLang) do,
written out small enough to read in one sitting, one idea per module
(the split of nano-vllm):

- :mod:`~course_lib.engine.requests`: a request trace,
  ``Request(arrival, prompt, output_len)`` (:func:`make_trace`, optionally
  with a system prompt every request shares).
- :mod:`~course_lib.engine.blocks`: the block manager. KV memory is a pool
  of fixed-size blocks; each request holds a block table; blocks are freed
  when it ends (PagedAttention, Kwon et al., SOSP 2023), and full blocks
  with the same tokens are shared between requests (prefix caching).
- :mod:`~course_lib.engine.scheduler`: static batching, or continuous
  (iteration-level) batching where requests join and leave at every step
  (Orca, Yu et al., OSDI 2022); chunked prefill (Sarathi-Serve, Agrawal et
  al., OSDI 2024); preemption by recomputation when blocks run out (vLLM V1).
- :mod:`~course_lib.engine.runner`: the pool's tensors and one batched
  forward step that writes and gathers keys and values through the block
  tables.
- :mod:`~course_lib.engine.results`: :class:`EngineResult` (TTFT, time per
  output token, tokens per second, KV bytes per step, prefix-cache and
  preemption counts), the step cost fit.
- :mod:`~course_lib.engine.serve`: :func:`run` (the model, measured),
  :func:`simulate` (the same scheduler with a fitted step cost),
  :func:`schedule` (forward calls by arithmetic).
- :mod:`~course_lib.engine.speculative`: greedy speculative decoding
  (Leviathan, Kalman & Matias, ICML 2023; Chen et al. 2023).
- :mod:`~course_lib.engine.replicas`: whole engines in parallel worker
  processes behind a round-robin balancer.

The promise the tests and the lesson check, request by request: every
request's tokens equal its own ``model.generate`` run alone, whatever the
policy, layout, prefix caching, chunking and preemption.

Time: the engine keeps a clock in seconds. Each forward call advances it by
that call's **measured** wall time; when nothing is running it jumps to the
next arrival (no sleeping). So TTFT and time per output token are measured
compute plus queueing. When requests arrive during the run, which step they
join depends on how fast this machine is; with every request waiting at the
start (``make_trace(..., rate=math.inf)``) the schedule, the ``steps`` and
the KV bytes are the same on every machine.
"""

from .blocks import BlockManager, blocks_needed, kv_bytes_per_position, reserved_positions
from .replicas import run_replicas
from .requests import MAX_BATCH, MAX_TRACE, POLICIES, Request, check_trace, make_trace
from .results import EngineResult, fit_step_cost, step_table
from .runner import KVPool, forward_step
from .scheduler import Sequence, serve
from .serve import compare_policies, run, schedule, simulate
from .speculative import SpecStats, expected_tokens_per_call, speculative_generate, train_lm

__all__ = [
    "BlockManager", "EngineResult", "KVPool", "MAX_BATCH", "MAX_TRACE", "POLICIES", "Request", "Sequence",
    "SpecStats", "blocks_needed", "check_trace", "compare_policies", "expected_tokens_per_call", "fit_step_cost",
    "forward_step", "kv_bytes_per_position", "make_trace", "reserved_positions", "run",
    "run_replicas", "schedule", "serve", "simulate", "speculative_generate", "step_table", "train_lm",
]
