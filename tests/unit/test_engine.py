"""course_lib.engine: the serving engine of lesson 08, checked against each
request's own ``model.generate``, hand-counted steps and KV bytes, and the
speculative-decoding identities."""

import copy
import math

import numpy as np
import pytest
import torch

from course_lib import engine
from course_lib.models import TinyGPT


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return TinyGPT(vocab_size=32, d_model=32, n_heads=4, n_layers=2, max_seq_len=32, seed=3).eval()


_ALONE: dict = {}


def alone(model, request):
    """The request's own greedy tokens, generated alone (cached per model and request)."""
    key = (id(model), request.prompt, request.output_len)
    if key not in _ALONE:
        ids = torch.tensor([request.prompt])
        _ALONE[key] = tuple(model.generate(ids, request.output_len)[0, len(request.prompt):].tolist())
    return _ALONE[key]


def test_make_trace_shapes_ranges_and_seed():
    tr = engine.make_trace(50, 20.0, prompt_len=(3, 5), output_len=(2, 7), vocab_size=11, seed=4)
    assert len(tr) == 50 and all(isinstance(r, engine.Request) for r in tr)
    assert all(3 <= len(r.prompt) <= 5 and 2 <= r.output_len <= 7 for r in tr)
    assert all(0 <= t < 11 for r in tr for t in r.prompt)
    arrivals = [r.arrival for r in tr]
    assert arrivals == sorted(arrivals) and arrivals[0] > 0
    assert tr == engine.make_trace(50, 20.0, prompt_len=(3, 5), output_len=(2, 7), vocab_size=11, seed=4)
    assert tr != engine.make_trace(50, 20.0, prompt_len=(3, 5), output_len=(2, 7), vocab_size=11, seed=5)
    # the gaps are exponential with mean 1/rate, drawn as numpy's exponential(1)/rate
    gaps = np.diff([0.0] + arrivals)
    assert gaps == pytest.approx(np.random.default_rng(4).exponential(1.0, size=50) / 20.0)
    burst = engine.make_trace(5, math.inf, seed=0)
    assert [r.arrival for r in burst] == [0.0] * 5


@pytest.mark.parametrize(
    "kwargs, err",
    [
        ({"n_requests": 0, "rate": 1.0}, ValueError),
        ({"n_requests": 3, "rate": 0.0}, ValueError),
        ({"n_requests": 3, "rate": -1.0}, ValueError),
        ({"n_requests": 3, "rate": float("nan")}, ValueError),
        ({"n_requests": 3, "rate": 1.0, "prompt_len": (5, 2)}, ValueError),
        ({"n_requests": 3, "rate": 1.0, "output_len": 4}, TypeError),
        ({"n_requests": 3, "rate": 1.0, "vocab_size": 1}, ValueError),
    ],
)
def test_make_trace_rejects_bad_input(kwargs, err):
    with pytest.raises(err):
        engine.make_trace(**kwargs)


@pytest.mark.parametrize("policy", ["static", "continuous"])
@pytest.mark.parametrize("kv_block", [None, 4])
def test_tokens_equal_each_requests_own_generate(model, policy, kv_block):
    trace = engine.make_trace(10, math.inf, prompt_len=(2, 9), output_len=(1, 15), vocab_size=32, seed=1)
    res = engine.run(model, trace, policy=policy, max_batch=4, kv_block=kv_block)
    assert res.outputs == tuple(alone(model, r) for r in trace)
    assert [len(o) for o in res.outputs] == [r.output_len for r in trace]


def test_tokens_equal_generate_with_arrivals_during_the_run(model):
    trace = engine.make_trace(8, 300.0, prompt_len=(2, 6), output_len=(1, 12), vocab_size=32, seed=2)
    for policy in engine.POLICIES:
        res = engine.run(model, trace, policy=policy, max_batch=3)
        assert res.outputs == tuple(alone(model, r) for r in trace)
        assert all(t >= 0 for t in res.ttft)


def hand_trace(output_lens, prompt=(1, 2, 3)):
    return [engine.Request(0.0, prompt, n) for n in output_lens]


def test_steps_hand_counted(model):
    # max_batch 2, outputs 5, 1, 3, 2 (all waiting at t = 0)
    # static: batches (5, 1) and (3, 2) -> 5 + 3 = 8 calls
    # continuous: [5,1] -> [4] +3 -> [4,3] -> [3,2] -> [2,1] -> [1] +2 -> [1,2] -> [1] -> done: 6 calls
    trace = hand_trace([5, 1, 3, 2])
    static = engine.run(model, trace, policy="static", max_batch=2)
    cont = engine.run(model, trace, policy="continuous", max_batch=2)
    assert static.steps == 8 and cont.steps == 6
    assert static.batch_sizes == (2, 1, 1, 1, 1, 2, 2, 1)
    assert cont.batch_sizes == (2, 2, 2, 2, 2, 1)
    assert engine.schedule([5, 1, 3, 2], policy="static", max_batch=2) == 8
    assert engine.schedule([5, 1, 3, 2], policy="continuous", max_batch=2) == 6
    # tokens fed: 2 prompts of 3 first; the continuous newcomer brings its prompt (3) + 1 running token
    assert cont.step_tokens == (6, 4, 2, 2, 4, 1)


def test_kv_bytes_hand_counted(model):
    bpp = 2 * 2 * 32 * 4  # K and V, 2 layers, d_model 32, fp32
    assert engine.kv_bytes_per_position(model) == bpp
    trace = [engine.Request(0.0, (1, 2, 3), 4)]  # cached after each call: 3, 4, 5, 6 positions
    contiguous = engine.run(model, trace, policy="continuous", max_batch=1)
    paged = engine.run(model, trace, policy="continuous", max_batch=1, kv_block=4)
    assert contiguous.kv_used == tuple(n * bpp for n in (3, 4, 5, 6))
    assert contiguous.kv_reserved == (32 * bpp,) * 4  # max_seq_len reserved up front
    assert paged.kv_reserved == tuple(n * bpp for n in (4, 4, 8, 8))  # whole blocks of 4
    assert paged.kv_used == contiguous.kv_used


def test_static_holds_finished_rows_memory_until_the_batch_ends(model):
    bpp = engine.kv_bytes_per_position(model)
    trace = [engine.Request(0.0, (1, 2), 1), engine.Request(0.0, (1, 2), 3)]
    static = engine.run(model, trace, policy="static", max_batch=2, kv_block=1)
    cont = engine.run(model, trace, policy="continuous", max_batch=2, kv_block=1)
    # call 1: both hold 2; call 2: the first is done (2 held, unused), the second holds 3; call 3: 2 + 4
    assert static.kv_reserved == tuple(n * bpp for n in (4, 5, 6))
    assert static.kv_used == tuple(n * bpp for n in (4, 3, 4))
    # continuous frees the finished request's memory at once
    assert cont.kv_reserved == tuple(n * bpp for n in (4, 3, 4))


def test_blocks_and_reservation_arithmetic():
    assert [engine.blocks_needed(n, 4) for n in (0, 1, 4, 5, 8, 9)] == [0, 1, 1, 2, 2, 3]
    assert engine.reserved_positions(5, 64, None) == 64
    assert engine.reserved_positions(5, 64, 4) == 8
    assert engine.reserved_positions(5, 64, 16) == 16
    with pytest.raises(ValueError, match="kv_block"):
        engine.blocks_needed(3, 0)


def test_kv_budget_admits_fewer_with_reservation_and_keeps_tokens(model):
    bpp = engine.kv_bytes_per_position(model)
    trace = engine.make_trace(12, math.inf, prompt_len=(2, 5), output_len=(2, 10), vocab_size=32, seed=3)
    budget = 3 * 32 * bpp  # room for exactly 3 full-length reservations
    contiguous = engine.run(model, trace, policy="continuous", max_batch=12, kv_budget=budget)
    paged = engine.run(model, trace, policy="continuous", max_batch=12, kv_block=4, kv_budget=budget)
    assert contiguous.peak_running == 3 and max(contiguous.kv_reserved) <= budget
    assert paged.peak_running > 3 and max(paged.kv_reserved) <= budget
    want = tuple(alone(model, r) for r in trace)
    assert contiguous.outputs == want and paged.outputs == want


def test_kv_budget_pauses_and_resumes_when_blocks_run_out(model):
    bpp = engine.kv_bytes_per_position(model)
    trace = [engine.Request(0.0, (1,), 20) for _ in range(3)]
    budget = 32 * bpp  # one full-length request; three short prompts fit at first, then must take turns
    res = engine.run(model, trace, policy="continuous", max_batch=3, kv_block=4, kv_budget=budget)
    assert res.preemptions > 0 and max(res.kv_reserved) <= budget
    assert res.outputs == tuple(alone(model, r) for r in trace)


def test_simulate_matches_run_when_the_schedule_does_not_depend_on_time(model):
    trace = engine.make_trace(9, math.inf, prompt_len=(2, 6), output_len=(1, 12), vocab_size=32, seed=5)
    bpp = engine.kv_bytes_per_position(model)
    for policy in engine.POLICIES:
        real = engine.run(model, trace, policy=policy, max_batch=3, kv_block=4)
        sim = engine.simulate(trace, policy=policy, max_batch=3, kv_block=4, overhead=0.01, per_token=0.001,
                              max_len=32, bytes_per_position=bpp)
        assert (sim.steps, sim.batch_sizes, sim.kv_reserved, sim.kv_used) == (
            real.steps, real.batch_sizes, real.kv_reserved, real.kv_used)
        assert sim.steps == engine.schedule([r.output_len for r in trace], policy=policy, max_batch=3)
        # simulated time: one step = 0.01 s + 0.001 s per token fed
        assert sim.step_times == pytest.approx([0.01 + 0.001 * n for n in sim.step_tokens])


def test_simulated_times_hand_counted():
    # one request, prompt 3, output 3: calls feed 3, 1, 1 tokens -> 0.013, 0.011, 0.011 s
    res = engine.simulate([engine.Request(0.5, (1, 2, 3), 3)], overhead=0.01, per_token=0.001)
    assert res.ttft == pytest.approx((0.013,))
    assert res.tpot == pytest.approx((0.011,))
    assert res.finish == pytest.approx((0.5 + 0.035,))
    assert res.tokens_per_s == pytest.approx(3 / 0.035)


def test_result_percentiles_and_row(model):
    trace = hand_trace([1, 4, 2])
    res = engine.run(model, trace, policy="continuous", max_batch=3)
    assert math.isnan(res.tpot[0])  # one token: no time per output token
    pct = res.percentiles()
    assert pct["ttft_p50"] == pytest.approx(float(np.percentile(res.ttft, 50)))
    assert pct["tpot_p95"] == pytest.approx(float(np.percentile(res.tpot[1:], 95)))
    assert res.n_tokens == 7
    assert res.tokens_per_s == pytest.approx(7 / max(res.finish))
    assert res.row()["steps"] == 4


def test_fit_step_cost_recovers_a_line():
    tokens = [1, 4, 9, 20]
    seconds = [0.002 + 0.0005 * t for t in tokens]
    overhead, per_token = engine.fit_step_cost(tokens, seconds)
    assert overhead == pytest.approx(0.002) and per_token == pytest.approx(0.0005)


@pytest.mark.parametrize(
    "kwargs, err",
    [
        ({"policy": "dynamic"}, ValueError),
        ({"max_batch": 0}, ValueError),
        ({"kv_block": 0}, ValueError),
        ({"kv_block": 64}, ValueError),
        ({"kv_budget": 10}, ValueError),
        ({"policy": "static", "kv_budget": 10**9}, ValueError),
    ],
)
def test_run_rejects_bad_arguments(model, kwargs, err):
    with pytest.raises(err):
        engine.run(model, hand_trace([2]), **kwargs)


def test_run_rejects_bad_traces(model):
    with pytest.raises(TypeError, match="trace"):
        engine.run(model, [])
    with pytest.raises(TypeError, match="Request"):
        engine.run(model, [(0.0, (1,), 2)])
    with pytest.raises(ValueError, match="max_seq_len"):
        engine.run(model, [engine.Request(0.0, tuple(range(30)), 5)])
    with pytest.raises(TypeError, match="TinyGPT"):
        engine.run(torch.nn.Linear(2, 2), hand_trace([2]))
    with pytest.raises(ValueError, match=r"trace\[0\]\.prompt\[1\].*vocab_size=32"):  # an id the embedding lacks
        engine.run(model, [engine.Request(0.0, (1, 32), 2)])
    with pytest.raises(ValueError, match=r"trace asks for 2[0-9_]+ positions"):  # the work cap, before any step
        engine.run(model, [engine.Request(0.0, (1,) * 5, 5)] * 2001)


@pytest.mark.parametrize("request_, match", [
    (engine.Request(math.inf, (1, 2), 2), r"trace\[0\]\.arrival"),
    (engine.Request(2e9, (1, 2), 2), r"trace\[0\]\.arrival"),
    (engine.Request(0.0, "ab", 2), r"trace\[0\]\.prompt"),
    (engine.Request(0.0, (1, -2), 2), r"trace\[0\]\.prompt\[1\]"),
    (engine.Request(0.0, (1, 2.5), 2), r"trace\[0\]\.prompt\[1\]"),
    (engine.Request(0.0, (1, 2), "2"), r"trace\[0\]\.output_len"),
    (engine.Request(0.0, (1, 2), 0), r"trace\[0\]\.output_len"),
])
def test_hand_built_requests_are_checked_field_by_field(request_, match):
    with pytest.raises((ValueError, TypeError), match=match):
        engine.simulate([request_], overhead=1e-3, per_token=1e-4)


def test_simulate_refuses_non_finite_times_by_name():
    burst = engine.make_trace(4, math.inf, seed=0)
    with pytest.raises(ValueError, match="overhead"):  # an hour per call at most: 1e308 overflowed the clock
        engine.simulate(burst, overhead=1e308, per_token=1e-4)
    # all arrive at 0 and each call lasts ~1e-323 s: tokens/s overflows, and the message blames per_token
    with pytest.raises(ValueError, match="overflows because of per_token"):
        engine.simulate(burst, overhead=0.0, per_token=5e-324)
    with pytest.raises(ValueError, match="rate"):  # arrivals past 1e9 s (1e-320 gave inf)
        engine.make_trace(4, 1e-320)
    with pytest.raises(ValueError, match="max_batch"):  # positions x batch past MAX_SIM_WORK
        engine.simulate(engine.make_trace(3000, 100.0), overhead=1e-3, per_token=1e-4, max_batch=4096)


def test_percentiles_and_fit_are_capped_and_checked():
    res = engine.simulate(hand_trace([1, 4, 2]), overhead=1e-3, per_token=1e-4)
    with pytest.raises(ValueError, match="q must have at most 1_000"):
        res.percentiles([50] * 10**6)
    with pytest.raises(ValueError, match=r"q\[0\]"):
        res.percentiles((101,))
    assert list(res.percentiles((50, 99.5))) == ["ttft_p50", "ttft_p99.5", "tpot_p50", "tpot_p99.5"]
    with pytest.raises(ValueError, match="tokens must have at most 100_000"):
        engine.fit_step_cost(np.arange(10**6), np.arange(10**6))
    # a numpy array is read at once, and gives the same fit as the list
    assert engine.fit_step_cost(np.array([1, 4, 9]), np.array([0.0025, 0.004, 0.0065])) == \
        pytest.approx(engine.fit_step_cost([1, 4, 9], [0.0025, 0.004, 0.0065]))


# ---------------------------------------------------------------- speculative decoding


def test_expected_tokens_per_call_hand_values():
    assert engine.expected_tokens_per_call(0.0, 4) == 1.0
    assert engine.expected_tokens_per_call(1.0, 4) == 5.0
    assert engine.expected_tokens_per_call(0.5, 2) == pytest.approx(1 + 0.5 + 0.25)
    assert engine.expected_tokens_per_call(0.8, 3) == pytest.approx(1 + 0.8 + 0.64 + 0.512)
    with pytest.raises(ValueError, match="alpha"):
        engine.expected_tokens_per_call(1.5, 2)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_speculative_output_is_the_targets_own(model, k):
    draft = TinyGPT(vocab_size=32, d_model=16, n_heads=2, n_layers=1, max_seq_len=32, seed=9).eval()
    ids = torch.tensor([[3, 1, 4, 1, 5]])
    out, stats = engine.speculative_generate(model, draft, ids, 20, k=k)
    assert torch.equal(out, model.generate(ids, 20))
    assert stats.new_tokens == 20 and stats.target_calls == stats.rounds + 1
    # each round keeps its accepted proposals plus one token of the target's
    assert stats.accepted + stats.rounds == 20 - 1
    assert stats.proposed <= k * stats.rounds and 0 <= stats.accepted <= stats.proposed


def test_a_draft_identical_to_the_target_is_always_accepted(model):
    ids = torch.tensor([[2, 7, 1]])
    out, stats = engine.speculative_generate(model, copy.deepcopy(model), ids, 21, k=4)
    assert torch.equal(out, model.generate(ids, 21))
    assert stats.accepted == stats.proposed and stats.acceptance_rate == 1.0
    assert stats.rounds == 4 and stats.tokens_per_target_call == 5.0  # 20 tokens after the first, 5 per call


def test_speculative_rejects_bad_input(model):
    draft = TinyGPT(vocab_size=16, d_model=16, n_heads=2, n_layers=1, max_seq_len=32, seed=9)
    with pytest.raises(ValueError, match="vocabulary"):
        engine.speculative_generate(model, draft, torch.tensor([[1, 2]]), 4, k=2)
    with pytest.raises(ValueError, match="one sequence"):
        engine.speculative_generate(model, model, torch.tensor([[1, 2], [3, 4]]), 4, k=2)
    with pytest.raises(ValueError, match="max_new_tokens"):
        engine.speculative_generate(model, model, torch.tensor([[1, 2]]), 31, k=2)
    with pytest.raises(ValueError, match="k"):
        engine.speculative_generate(model, model, torch.tensor([[1, 2]]), 4, k=0)


def test_train_lm_lowers_the_loss_and_is_seeded():
    a = TinyGPT(vocab_size=16, d_model=16, n_heads=2, n_layers=1, max_seq_len=16, seed=0)
    b = TinyGPT(vocab_size=16, d_model=16, n_heads=2, n_layers=1, max_seq_len=16, seed=0)
    la = engine.train_lm(a, steps=30, batch=8, seq_len=8, seed=1)
    lb = engine.train_lm(b, steps=30, batch=8, seq_len=8, seed=1)
    assert la == lb and la[-1] < la[0]


# ---------------------------------------------------------------- tables, charts and the explorer


def test_step_table_and_charts_hold_the_results_data(model):
    from course_lib.ui import charts

    trace = hand_trace([3, 1])
    res = engine.run(model, trace, policy="continuous", max_batch=2, kv_block=4)
    table = engine.step_table({"paged": res})
    assert list(table["requests"]) == list(res.batch_sizes) == [2, 1, 1]
    assert list(table["tokens"]) == [6, 1, 1]
    bpp = engine.kv_bytes_per_position(model)
    # cached after each call: 3 + 3, then 4, then 5 positions; blocks of 4: 4 + 4, 4, 8
    assert list(table["used_KiB"]) == [round(n * bpp / 1024, 2) for n in (6, 4, 5)]
    assert list(table["reserved_KiB"]) == [round(n * bpp / 1024, 2) for n in (8, 4, 8)]
    kv = charts.kv_memory_chart(table).to_dict()
    values = next(iter(kv["datasets"].values()))
    assert [r["KiB"] for r in values if r["bytes"] == "used"] == list(table["used_KiB"])
    batch = charts.engine_batch_chart(table).to_dict()
    assert [r["requests"] for r in next(iter(batch["datasets"].values()))] == [2, 1, 1]
    with pytest.raises(TypeError):
        engine.step_table({"x": 1})
    with pytest.raises(TypeError):
        charts.kv_memory_chart(table.drop(columns="used_KiB"))


def test_explorer_shows_the_simulated_numbers():
    from course_lib.ui import calculators, text
    from course_lib.ui.widgets import calc_outputs

    calc = calculators.engine_explorer(0.002, 0.0001, rate=50.0, max_batch=4, max_output=16)
    got = engine.compare_policies(50.0, 4, 16, 0, overhead=0.002, per_token=0.0001)
    assert calc_outputs(calc.result_html.value) == text.format_comparison(got)
    assert text.format_comparison(got)["static_steps"] == str(got["static"].steps)
    calc.controls["max_batch"].value = 1  # one at a time: both policies are the same
    shown = calc_outputs(calc.result_html.value)
    assert shown["static_steps"] == shown["continuous_steps"]
    assert shown["static_tps"] == shown["continuous_tps"]


def test_replicas_split_round_robin_and_keep_the_tokens(model):
    trace = engine.make_trace(7, 100.0, prompt_len=(2, 5), output_len=(1, 8), vocab_size=32, seed=6)
    res = engine.run_replicas(model, trace, 2, policy="continuous", max_batch=2)
    assert res.outputs == tuple(alone(model, r) for r in trace)
    # replica 0 serves requests 0, 2, 4, 6 and replica 1 serves 1, 3, 5: steps add up
    a = engine.run(model, trace[0::2], policy="continuous", max_batch=2)
    b = engine.run(model, trace[1::2], policy="continuous", max_batch=2)
    assert res.n_tokens == a.n_tokens + b.n_tokens == sum(r.output_len for r in trace)
    with pytest.raises(ValueError, match="n_replicas"):
        engine.run_replicas(model, trace, 8)


# ---------------------------------------------------------------- the real pool, prefix caching, chunks, preemption


def test_speculative_alpha_counts_only_judged_positions(model):
    # a draft whose head is all zeros proposes token 0 every time (argmax of equal logits: the first);
    # on a prompt whose continuation never holds token 0, every judged proposal is rejected
    draft = TinyGPT(vocab_size=32, d_model=16, n_heads=2, n_layers=1, max_seq_len=32, seed=9).eval()
    with torch.no_grad():
        draft.head.weight.zero_()
    ids = next(p for p in (torch.tensor([[a, b, 1]]) for a in range(1, 32) for b in range(1, 32))
               if 0 not in model.generate(p, 20)[0, 3:].tolist())
    out, st = engine.speculative_generate(model, draft, ids, 20, k=3)
    assert torch.equal(out, model.generate(ids, 20))
    # 19 rounds make one token each; a round drafts min(3, left - 1): 16 rounds of 3, then 2, 1, 0
    assert st.rounds == 19 and st.proposed == 16 * 3 + 2 + 1
    assert st.accepted == 0 and st.judged == 18  # one judged (rejected) proposal per round that drafted any
    assert st.acceptance_rate == 0.0 and st.kept_share == 0.0


def test_speculative_alpha_is_flat_where_kept_share_falls(model):
    # an identical draft: every proposal judged and accepted
    ids = torch.tensor([[2, 7, 1]])
    _, st = engine.speculative_generate(model, copy.deepcopy(model), ids, 21, k=4)
    assert st.judged == st.proposed == st.accepted == 16  # 4 rounds of 4, all kept
    # a partly right draft: judged = accepted + one mismatch per round that had one
    draft = TinyGPT(vocab_size=32, d_model=16, n_heads=2, n_layers=1, max_seq_len=32, seed=9).eval()
    _, st = engine.speculative_generate(model, draft, ids, 21, k=4)
    assert st.accepted <= st.judged <= min(st.proposed, st.accepted + st.rounds)
    assert st.acceptance_rate >= st.kept_share


def shared_trace(n=8, rate=math.inf, seed=3, shared=8):
    return engine.make_trace(n, rate, prompt_len=(2, 5), output_len=(2, 10), vocab_size=32, seed=seed,
                             shared_prefix=shared)


def test_make_trace_shared_prefix():
    plain = engine.make_trace(6, 5.0, prompt_len=(2, 5), output_len=(2, 9), vocab_size=32, seed=4)
    shared = engine.make_trace(6, 5.0, prompt_len=(2, 5), output_len=(2, 9), vocab_size=32, seed=4, shared_prefix=7)
    prefix = shared[0].prompt[:7]
    for a, b in zip(plain, shared):
        assert b.prompt == prefix + a.prompt  # the same system prompt before each request's own prompt
        assert (a.arrival, a.output_len) == (b.arrival, b.output_len)
        assert 2 <= len(a.prompt) <= 5
    with pytest.raises(ValueError, match="shared_prefix"):
        engine.make_trace(3, 1.0, shared_prefix=-1)


@pytest.mark.parametrize("policy, kv_block, budget_blocks, prefix, chunk", [
    ("static", None, None, False, None), ("static", 4, None, True, None), ("static", 4, None, False, 3),
    ("continuous", None, None, False, 5), ("continuous", None, 2, False, None), ("continuous", 4, None, True, None),
    ("continuous", 4, None, False, 3), ("continuous", 4, None, True, 5), ("continuous", 4, 9, False, None),
    ("continuous", 4, 9, True, None), ("continuous", 4, 9, True, 3), ("continuous", 2, 17, True, 4),
    ("continuous", 1, 33, True, 2),
])
def test_every_combination_gives_each_requests_own_tokens(model, policy, kv_block, budget_blocks, prefix, chunk):
    bpp = engine.kv_bytes_per_position(model)
    size = kv_block or 32
    budget = None if budget_blocks is None else budget_blocks * size * bpp
    for trace in (shared_trace(), engine.make_trace(8, 400.0, prompt_len=(2, 9), output_len=(1, 12),
                                                     vocab_size=32, seed=7)):
        res = engine.run(model, trace, policy=policy, max_batch=6, kv_block=kv_block, kv_budget=budget,
                         prefix_caching=prefix, max_step_tokens=chunk)
        assert res.outputs == tuple(alone(model, r) for r in trace)
        if budget is not None:
            assert res.kv_pool_bytes <= budget and max(res.kv_reserved) <= res.kv_pool_bytes


def test_pool_bytes_are_the_tensors_allocated(model):
    bpp = 2 * 2 * 32 * 4
    trace = hand_trace([3, 2])
    # paged, no budget: room for max_batch requests at full length: 3 x ceil(32 / 4) blocks of 4 positions
    assert engine.run(model, trace, max_batch=3, kv_block=4).kv_pool_bytes == 3 * 8 * 4 * bpp
    # reserving the maximum length: one block of max_seq_len = 32 positions per request of the batch
    assert engine.run(model, trace, max_batch=3).kv_pool_bytes == 3 * 32 * bpp
    # a budget that is not a whole number of blocks: whole blocks only, at most the budget
    assert engine.run(model, trace, max_batch=3, kv_block=4, kv_budget=10 * 4 * bpp + 100).kv_pool_bytes == 10 * 4 * bpp
    pool = engine.KVPool(model, 5, 4)
    assert pool.nbytes == 5 * 4 * bpp == sum(t.numel() * 4 for t in pool.k + pool.v)
    assert tuple(pool.k[0].shape) == (20, 4, 8)  # positions x heads x head size


def test_prefix_caching_hand_counted(model):
    # three requests: the same 8-token prefix (2 blocks of 4) and 3 own tokens each, all waiting at the start
    pre = (5, 6, 7, 8, 9, 10, 11, 12)
    trace = [engine.Request(0.0, pre + own, 4) for own in ((1, 2, 3), (4, 5, 6), (7, 8, 9))]
    want = tuple(alone(model, r) for r in trace)
    plain = engine.run(model, trace, kv_block=4)
    cached = engine.run(model, trace, kv_block=4, prefix_caching=True)
    assert plain.outputs == cached.outputs == want
    assert plain.prefill_tokens == 33 and plain.cached_tokens == 0
    # the first request computes the two prefix blocks; the other two take them (in the same step)
    assert cached.cached_tokens == 16 and cached.prefill_tokens == 33 - 16
    assert cached.step_tokens[0] == 11 + 3 + 3 and cached.shared_blocks[0] == 2
    assert cached.prefix_hit_rate == pytest.approx(16 / 33)
    # reserved: 3 blocks each without sharing (11 positions), 2 shared + 1 own each with it
    bpp = engine.kv_bytes_per_position(model)
    assert plain.kv_reserved[0] == 9 * 4 * bpp and cached.kv_reserved[0] == 5 * 4 * bpp
    # one at a time: a later request finds the blocks an earlier, finished request left in the pool
    one = engine.run(model, trace, kv_block=4, max_batch=1, prefix_caching=True)
    assert one.outputs == want and one.cached_tokens == 16
    # a whole prompt of full blocks still computes its last token (whose logits make the next token)
    same = [engine.Request(0.0, pre, 3)] * 2
    res = engine.run(model, same, kv_block=4, max_batch=1, prefix_caching=True)
    assert res.cached_tokens == 4 and res.outputs == tuple(alone(model, r) for r in same)


def test_prefix_caching_costs_nothing_without_a_shared_prefix(model):
    trace = engine.make_trace(8, math.inf, prompt_len=(2, 9), output_len=(1, 10), vocab_size=32, seed=2)
    a = engine.run(model, trace, kv_block=4)
    b = engine.run(model, trace, kv_block=4, prefix_caching=True)
    assert b.cached_tokens == 0 and (a.steps, a.step_tokens, a.kv_reserved) == (b.steps, b.step_tokens, b.kv_reserved)


def test_block_manager_evicts_least_recently_freed():
    bm = engine.BlockManager(3, 2, prefix_caching=True)
    a = bm.allocate(1)
    bm.name_full_blocks([1, 2, 3], a, names := [], 2)  # block a holds tokens 1, 2
    assert bm.match([1, 2, 3]) == (a, names)
    b = bm.allocate(1)
    bm.release(a)
    bm.release(b)  # free queue: the never-used block, then a, then b
    assert bm.n_free == 3 and bm.match([1, 2, 3])[0] == a  # freed but still cached
    bm.allocate(1)  # the never-used block
    assert bm.match([1, 2, 3])[0] == a and bm.evictions == 0
    bm.allocate(1)  # block a, least recently freed: its prefix is evicted
    assert bm.match([1, 2, 3]) == ([], []) and bm.evictions == 1
    assert bm.match([1, 2]) == ([], [])  # never the last token


def test_chunked_prefill_hand_counted(model):
    # prompt 10, output 3, at most 4 tokens a step: 4 + 4 + 2 (first token) + 1 + 1
    r = engine.Request(0.0, tuple(range(1, 11)), 3)
    res = engine.run(model, [r], kv_block=4, max_step_tokens=4)
    assert res.step_tokens == (4, 4, 2, 1, 1) and res.outputs == (alone(model, r),)
    whole = engine.run(model, [r], kv_block=4)
    assert whole.step_tokens == (10, 1, 1)
    # a running request keeps decoding while a long prompt is prefilled beside it, 3 tokens a step
    long = engine.Request(0.0, tuple(range(1, 11)), 2)
    short = engine.Request(0.0, (1, 2), 6)
    res = engine.run(model, [short, long], kv_block=4, max_step_tokens=3)
    # step 1: short's prompt 2 + 1 of long's; then short decodes 1 + long 2, until long's 10 are in
    assert res.step_tokens == (3, 3, 3, 3, 3, 2, 1) and res.batch_sizes == (2, 2, 2, 2, 2, 2, 1)
    assert res.outputs == (alone(model, short), alone(model, long))


def test_preemption_by_recomputation_hand_counted(model):
    bpp = engine.kv_bytes_per_position(model)
    # two requests (prompt 1, output 20) in 8 blocks of 4: together they outgrow 8 blocks at step 17
    trace = [engine.Request(0.0, (1,), 20), engine.Request(0.0, (2,), 20)]
    res = engine.run(model, trace, kv_block=4, kv_budget=8 * 4 * bpp)
    assert res.outputs == tuple(alone(model, r) for r in trace)
    # step 17: the second is preempted (its 16 positions freed); the first runs alone to step 20; at step 21 the
    # second is prefilled again: its 17 tokens, 16 of them computed before; then 3 more decode steps
    assert res.preemptions == 1 and res.recomputed_tokens == 16 and res.steps == 24
    assert res.batch_sizes == (2,) * 16 + (1,) * 8
    assert res.step_tokens[20] == 17
    assert res.prefill_tokens == 3  # two prompts of 1, and the second's again
    assert max(res.kv_reserved) == 8 * 4 * bpp
