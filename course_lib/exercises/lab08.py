"""Verifiers for lab 08 (serving a generative model): the KV blocks a trace
holds, forward calls under static and continuous batching, requests that fit
a KV budget reserved vs paged, the expected tokens per target call of
speculative decoding, its predicted speed-up, the prompt tokens a shared
prefix saves, and the steps a chunked prefill takes.

The inputs of each exercise live here (``EXERCISE_1`` …: this student's
variant, :func:`course_lib.check.variant`) so the lab and its checks cannot drift apart; expected values come from
:mod:`course_lib.engine`.
"""

from __future__ import annotations

from .. import check, engine

LESSON = "lessons/08_serving_llms.ipynb"

_BASE = {
    1: {"prompt_lens": [7, 12, 3, 16, 9], "output_lens": [10, 5, 14, 2, 20], "kv_block": 8},
    2: {"output_lens": [12, 3, 3, 9, 2, 2, 7, 4], "max_batch": 3},
    3: {"n_layers": 32, "d_model": 4096, "bytes_per_value": 2, "max_len": 4096, "kv_block": 16,
        "positions": 690, "budget_bytes": 40 * 10**9},
    4: {"alpha": 0.7, "k": 5},
    5: {"alpha": 0.75, "k": 3, "c": 0.1},
    6: {"shared_prefix": 45, "own_prompt_lens": [6, 11, 3, 9], "kv_block": 16},
    7: {"prompt_len": 1100, "running": 12, "max_step_tokens": [128, 256, 512]},
}
_CHOICES = {  # a student's variant: each listed input takes one of these values (check.variant); the list
    # lengths stay fixed (the lab's text counts the requests), and tests/labs/test_variants.py checks that every
    # combination keeps the plausible wrong answers of tests/labs/test_lab08_checks.py apart from the right one
    1: {"prompt_lens": ([7, 12, 3, 16, 9], [7, 14, 8, 11, 6], [7, 4, 13, 22, 10]),  # the first request
        "output_lens": ([10, 5, 14, 2, 20], [10, 11, 3, 18, 9], [10, 8, 4, 12, 7]),  # caches 16: p + o is wrong
        "kv_block": (8, 16)},
    2: {"output_lens": ([12, 3, 3, 9, 2, 2, 7, 4], [5, 11, 2, 8, 3, 6, 2, 9], [9, 2, 7, 4, 12, 3, 5, 2]),
        "max_batch": (2, 3, 4)},
    3: {"kv_block": (16, 32), "positions": (530, 690, 1010, 1025),  # budgets: 18.6, 21.9, 27.9, 29.8 reservations
        "budget_bytes": (40 * 10**9, 47 * 10**9, 60 * 10**9, 64 * 10**9)},  # (rounding to nearest is wrong)
    4: {"alpha": (0.6, 0.7, 0.8), "k": (3, 4, 5, 6)},
    5: {"alpha": (0.6, 0.75, 0.85), "k": (2, 3, 4), "c": (0.05, 0.1, 0.2)},
    6: {"shared_prefix": (37, 45, 70, 100), "own_prompt_lens": ([6, 11, 3, 9], [4, 8, 12, 5], [10, 2, 7, 14]),
        "kv_block": (16, 32)},
    7: {"prompt_len": (750, 1100, 1500, 2000), "running": (8, 12, 20),
        "max_step_tokens": ([128, 256, 512], [64, 192, 384])},
}


def __getattr__(name: str):
    """``EXERCISE_N``: this student's inputs of exercise N (:func:`course_lib.check.variant`)."""
    return check.inputs_attribute("lab08", name, _BASE, _CHOICES)


def _inputs(n: int) -> dict:
    return check.variant("lab08", n, _BASE[n], _CHOICES.get(n, {}))


# ---------------------------------------------------------------- exercise 1


def _expected_blocks() -> int:
    """The expected answer of exercise 1. Lab 08, exercise 1."""
    e = _inputs(1)
    return sum(engine.blocks_needed(p + o - 1, e["kv_block"]) for p, o in zip(e["prompt_lens"], e["output_lens"]))


def verify_blocks(blocks) -> None:
    """Exercise 1: blocks all requests hold together when each has made its last token. Lab 08, exercise 1."""
    blocks = check.expect_int(blocks, "answer with a whole number of blocks (an int)")
    check.expect_equal(blocks, _expected_blocks(),
                       "a request caches every position it has fed to the model: its prompt and each generated token "
                       "except the last one (never fed back). Each request rounds its own positions up to whole "
                       "blocks: ceil(positions / kv_block), then add them up (section 3 of " + LESSON + ")")


# ---------------------------------------------------------------- exercise 2


def _expected_steps() -> tuple[int, int]:
    """The expected answer of exercise 2. Lab 08, exercise 2."""
    e = _inputs(2)
    return (engine.schedule(e["output_lens"], policy="static", max_batch=e["max_batch"]),
            engine.schedule(e["output_lens"], policy="continuous", max_batch=e["max_batch"]))


def verify_steps(answer) -> None:
    """Exercise 2: (static, continuous) forward calls for requests all waiting at the start. Lab 08, exercise 2."""
    hint = "return a pair of ints: (static forward calls, continuous forward calls)"
    check.expect_true(isinstance(answer, tuple) and len(answer) == 2, hint)
    static, continuous = (check.expect_int(x, hint) for x in answer)
    want_static, want_continuous = _expected_steps()
    check.expect_equal(static, want_static,
                       "static batching takes the requests max_batch at a time, in order, and each batch runs as "
                       "many calls as its longest request has tokens; the prompt is processed in the call that "
                       "makes the first token (section 2 of " + LESSON + ")")
    check.expect_equal(continuous, want_continuous,
                       "continuous batching refills a slot before the next call as soon as its request has made its "
                       "last token; simulate it call by call: each call, every running request makes one token "
                       "(engine.schedule does this arithmetic; section 2)")


# ---------------------------------------------------------------- exercise 3


def _expected_fit() -> tuple[int, int]:
    """The expected answer of exercise 3. Lab 08, exercise 3."""
    e = _inputs(3)
    per_position = 2 * e["n_layers"] * e["d_model"] * e["bytes_per_value"]
    reserved = e["max_len"] * per_position
    paged = engine.reserved_positions(e["positions"], e["max_len"], e["kv_block"]) * per_position
    return e["budget_bytes"] // reserved, e["budget_bytes"] // paged


def verify_fit(answer) -> None:
    """Exercise 3: (requests that fit reserving max_len, requests that fit in blocks). Lab 08, exercise 3."""
    hint = "return a pair of whole numbers: (requests with reservation, requests with blocks)"
    check.expect_true(isinstance(answer, tuple) and len(answer) == 2, hint)
    reserved, paged = (check.expect_int(x, hint) for x in answer)
    want_reserved, want_paged = _expected_fit()
    hint_bytes = ("one position holds a key and a value in every layer: 2 x n_layers x d_model x bytes_per_value "
                  "bytes; a request either reserves max_len positions or holds whole blocks for its positions; "
                  "only whole requests fit, so round down (section 3 of " + LESSON + ")")
    check.expect_equal(reserved, want_reserved, hint_bytes)
    check.expect_equal(paged, want_paged, hint_bytes)


# ---------------------------------------------------------------- exercise 4


def _expected_tokens() -> float:
    """The expected answer of exercise 4. Lab 08, exercise 4."""
    e = _inputs(4)
    return engine.expected_tokens_per_call(e["alpha"], e["k"])


def verify_tokens(tokens) -> None:
    """Exercise 4: expected tokens per target call with acceptance alpha and k drafted tokens. Lab 08, exercise 4."""
    check.expect_close(tokens, _expected_tokens(),
                       "a round keeps draft token i only if tokens 1..i were all accepted (probability alpha^i), "
                       "and the target always adds one token of its own: sum alpha^i for i = 0..k "
                       "(Leviathan et al.; section 4 of " + LESSON + ")", rel=1e-6)


# ---------------------------------------------------------------- exercise 5


def _expected_speedup() -> float:
    """The expected answer of exercise 5. Lab 08, exercise 5."""
    e = _inputs(5)
    return engine.expected_tokens_per_call(e["alpha"], e["k"]) / (e["k"] * e["c"] + 1)


def verify_speedup(speedup) -> None:
    """Exercise 5: predicted speed-up over plain decoding, draft call cost c (fraction of a target call). Lab 08, exercise 5."""
    check.expect_close(speedup, _expected_speedup(),
                       "a round costs k draft calls and one target call, k x c + 1 target-call times, and yields "
                       "the expected tokens per target call of exercise 4; plain decoding yields 1 token per "
                       "target call (section 4 of " + LESSON + ")", rel=1e-6)


# ---------------------------------------------------------------- exercise 6


def _prefix_trace() -> list:
    e = _inputs(6)
    prefix = tuple(range(1, e["shared_prefix"] + 1))
    # each request's own tokens differ from every other's from the first one on
    return [engine.Request(0.0, prefix + tuple(100 + 20 * i + j for j in range(n)), 1)
            for i, n in enumerate(e["own_prompt_lens"])]


def _expected_prefix() -> tuple[int, int]:
    """The expected answer of exercise 6, from the engine's scheduler. Lab 08, exercise 6."""
    e = _inputs(6)
    trace = _prefix_trace()
    res = engine.simulate(trace, max_batch=len(trace), overhead=1.0, per_token=0.0, kv_block=e["kv_block"],
                          prefix_caching=True, max_len=256)
    return res.prefill_tokens, res.cached_tokens


def verify_prefix(answer) -> None:
    """Exercise 6: (prompt tokens computed, prompt tokens taken from the cache) with prefix caching. Lab 08, exercise 6."""
    hint = "return a pair of whole numbers: (prompt tokens computed, prompt tokens taken from the cache)"
    check.expect_true(isinstance(answer, tuple) and len(answer) == 2, hint)
    computed, cached = (check.expect_int(x, hint) for x in answer)
    want_computed, want_cached = _expected_prefix()
    hint_blocks = ("only FULL blocks are shared: a block whose tokens are all system prompt has the same name in "
                   "every request, but the block where the system prompt ends also holds the request's own tokens, "
                   "so each request computes it; the first request computes everything (nothing is cached yet); "
                   "count tokens, not blocks (section 4 of " + LESSON + ")")
    check.expect_equal(cached, want_cached, hint_blocks)
    check.expect_equal(computed, want_computed, hint_blocks)


# ---------------------------------------------------------------- exercise 7


def _expected_chunks() -> list[int]:
    """The expected answer of exercise 7, from the engine's scheduler: one step per second, the prompt arriving
    after the running requests' first step. Lab 08, exercise 7."""
    e = _inputs(7)
    out = []
    for cap in e["max_step_tokens"]:
        trace = ([engine.Request(0.0, (1,), 200) for _ in range(e["running"])]
                 + [engine.Request(0.5, tuple(range(e["prompt_len"])), 2)])
        res = engine.simulate(trace, max_batch=e["running"] + 1, overhead=1.0, per_token=0.0, kv_block=16,
                              max_len=e["prompt_len"] + 200, max_step_tokens=cap)
        out.append(round(res.ttft[-1] - 0.5))  # the prompt joins at 1 s; one step lasts 1 s
    return out


def verify_chunks(steps) -> None:
    """Exercise 7: steps a chunked prefill takes for each token cap, beside running decodes. Lab 08, exercise 7."""
    hint = "return a list of whole numbers, one per value of max_step_tokens, in order"
    check.expect_true(isinstance(steps, (list, tuple)) and len(steps) == len(_inputs(7)["max_step_tokens"]), hint)
    got = [check.expect_int(x, hint) for x in steps]
    check.expect_equal(got, _expected_chunks(),
                       "each step first carries one decode token for every running request; what is left of "
                       "max_step_tokens goes to the prompt, so the prefill takes ceil(prompt_len / (max_step_tokens "
                       "- running)) steps, and the last of them makes the first token (section 5 of " + LESSON + ")")
