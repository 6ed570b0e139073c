"""Per-student variants (course_lib.check.variant): each lab's inputs change deterministically
with the student id, the checks compute the expected answer for that variant, and no public
function of a lab module returns an expected answer."""

from __future__ import annotations

import importlib
import inspect
import math

import pytest

from course_lib import check

LABS = [f"lab0{n}" for n in range(1, 10)]
IDS = [f"student-{i:02d}" for i in range(40)]


@pytest.fixture(autouse=True)
def no_student(monkeypatch):
    monkeypatch.delenv(check.STUDENT_ENV, raising=False)
    check.set_student(None)
    yield
    check.set_student(None)


def _module(lab):
    return importlib.import_module(f"course_lib.exercises.{lab}")


def _all_inputs(mod) -> dict:
    return {n: getattr(mod, f"EXERCISE_{n}") for n in sorted(mod._BASE)}


@pytest.mark.parametrize("lab", LABS)
def test_without_an_id_everyone_gets_the_shared_inputs(lab):
    mod = _module(lab)
    assert _all_inputs(mod) == {n: dict(b) for n, b in mod._BASE.items()}


@pytest.mark.parametrize("lab", LABS)
def test_inputs_differ_between_students_and_are_deterministic(lab):
    mod = _module(lab)
    seen = []
    for sid in IDS:
        check.set_student(sid)
        first = _all_inputs(mod)
        assert _all_inputs(mod) == first  # the same id, the same numbers
        seen.append(repr(first))
    # 40 students: nearly all get their own combination (a lab has thousands), and every varied input moves
    assert len(set(seen)) >= 30, f"{lab}: only {len(set(seen))} different variants among 40 students"
    for n, keys in mod._CHOICES.items():
        for key in keys:
            values = set()
            for sid in IDS:
                check.set_student(sid)
                values.add(repr(getattr(mod, f"EXERCISE_{n}")[key]))
            assert len(values) >= 2, f"{lab} exercise {n}: {key} never changes"


def test_the_instructors_environment_variable_wins(monkeypatch):
    check.set_student("ada")
    ada = _module("lab07").EXERCISE_1
    monkeypatch.setenv(check.STUDENT_ENV, "bob")
    assert check.student() == "bob"
    bob = _module("lab07").EXERCISE_1
    check.set_student(None)
    assert _module("lab07").EXERCISE_1 == bob and check.student() == "bob"
    monkeypatch.delenv(check.STUDENT_ENV)
    check.set_student("ada")
    assert _module("lab07").EXERCISE_1 == ada


def test_setup_sets_the_student():
    import course_lib as cl

    cl.setup(student="ada-01")
    assert check.student() == "ada-01"
    with pytest.raises(ValueError, match="student"):
        cl.setup(student="not an id")


def test_an_unknown_exercise_is_an_attribute_error():
    with pytest.raises(AttributeError, match="EXERCISE_9"):
        _module("lab07").EXERCISE_9
    with pytest.raises(AttributeError):
        _module("lab07").NOT_THERE


@pytest.mark.parametrize("lab", LABS)
def test_no_public_function_returns_an_expected_answer(lab):
    """Issue 23: lab07.expected_kv_bytes() and the like gave the answer in one call."""
    mod = _module(lab)
    public = [name for name, obj in vars(mod).items()
              if inspect.isfunction(obj) and not name.startswith("_") and obj.__module__ == mod.__name__]
    assert all(name.startswith(("verify_", "lab_", "gpt_tokens", "simulate_setting")) for name in public), public


# verifier -> the private function computing its expected answer, for the labs that have one per exercise
PAIRS = {
    "lab02": [("verify_kv_cache", "_kv_cache_answer"), ("verify_seven_b_gpus", "_seven_b_gpus"),
              ("verify_qlora_batch", "_qlora_batch")],
    "lab03": [("verify_intensity", "_expected_intensity"), ("verify_roofline", "_expected_roofline"),
              ("verify_batch", "_expected_batch"), ("verify_capacity", "_expected_capacity")],
    "lab04": [("verify_loss_scale", "_loss_scale_window")],
    "lab05": [("verify_break_even", "_expected_break_even"), ("verify_training_cost", "_expected_training_cost"),
              ("verify_daily_cost", "_expected_daily_cost"), ("verify_best_size", "_expected_best_size"),
              ("verify_training_co2", "_expected_training_co2_tonnes")],
    "lab06": [("verify_zero_bytes", "_expected_zero_bytes"), ("verify_allreduce_bytes", "_expected_allreduce_bytes"),
              ("verify_min_devices", "_expected_min_devices"), ("verify_replicas", "_expected_replicas")],
    "lab07": [("verify_kv_bytes", "_expected_kv_bytes"), ("verify_decode_bound", "_expected_decode_bound"),
              ("verify_prefill_share", "_expected_prefill_share"),
              ("verify_compute_bound_batch", "_expected_compute_bound_batch"), ("verify_max_batch", "_expected_max_batch")],
    "lab08": [("verify_blocks", "_expected_blocks"), ("verify_steps", "_expected_steps"), ("verify_fit", "_expected_fit"),
              ("verify_tokens", "_expected_tokens"), ("verify_speedup", "_expected_speedup"),
              ("verify_prefix", "_expected_prefix"), ("verify_chunks", "_expected_chunks")],
    "lab09": [("verify_inference_share", "_expected_inference_share"),
              ("verify_reasoning_batch", "_expected_reasoning_batch"),
              ("verify_break_even_days", "_expected_break_even_days"), ("verify_moe_vs_dense", "_expected_moe_vs_dense")],
}


@pytest.mark.parametrize("lab", sorted(PAIRS))
def test_every_variant_has_an_answer_its_check_accepts(lab):
    mod = _module(lab)
    for sid in IDS[:12]:
        check.set_student(sid)
        for verify, expected in PAIRS[lab]:
            want = getattr(mod, expected)()
            assert want is not None, (lab, sid, expected)
            for x in (want if isinstance(want, tuple) else (want,)):
                assert not isinstance(x, float) or math.isfinite(x), (lab, sid, expected, want)
            getattr(mod, verify)(want)  # the variant's own answer passes its check


def test_hints_name_the_variants_numbers_not_the_shared_ones():
    mod = _module("lab04")
    for sid in IDS:
        check.set_student(sid)
        if mod.EXERCISE_3["small_gradient"] != 3e-7:
            break
    with pytest.raises(AssertionError) as err:
        mod.verify_loss_scale((1.0, 1.0))
    assert f"{mod.EXERCISE_3['small_gradient']:g}" in str(err.value) and "3e-07" not in str(err.value)


# Lab 08: the right answer of each variant by hand (independent of course_lib.engine), and the plausible wrong
# answers of tests/labs/test_lab08_checks.py; every combination of _CHOICES must keep them apart.
def _l8_1(e):
    b = e["kv_block"]
    right = sum(math.ceil((p + o - 1) / b) for p, o in zip(e["prompt_lens"], e["output_lens"]))
    total = sum(p + o - 1 for p, o in zip(e["prompt_lens"], e["output_lens"]))
    wrong = [sum(math.ceil((p + o) / b) for p, o in zip(e["prompt_lens"], e["output_lens"])),  # p + o positions
             math.ceil(total / b), total]  # the total rounded up once; positions, not blocks
    return right, wrong


def _l8_2(e):
    lens, b = e["output_lens"], e["max_batch"]
    static = sum(max(lens[i:i + b]) for i in range(0, len(lens), b))
    waiting, running, continuous = list(lens), [], 0
    while waiting or running:
        while waiting and len(running) < b:
            running.append(waiting.pop(0))
        continuous += 1
        running = [n - 1 for n in running if n > 1]
    return (static, continuous), [(continuous, static), (static, math.ceil(sum(lens) / b)), (sum(lens), continuous),
                                  (static + 1, continuous)]


def _l8_3(e):
    per_position = 2 * e["n_layers"] * e["d_model"] * e["bytes_per_value"]
    blocks = math.ceil(e["positions"] / e["kv_block"])
    reserved = e["budget_bytes"] // (e["max_len"] * per_position)
    paged = e["budget_bytes"] // (blocks * e["kv_block"] * per_position)
    return (reserved, paged), [(paged, reserved), (reserved, e["budget_bytes"] // (e["positions"] * per_position)),
                               (2 * reserved, 2 * paged), (round(e["budget_bytes"] / (e["max_len"] * per_position)),
                                                           paged)]


def _l8_4(e):
    a, k = e["alpha"], e["k"]
    right = sum(a**i for i in range(k + 1))
    return right, [a * k, 1 / (1 - a), (1 - a**k) / (1 - a), float(k + 1)]


def _l8_5(e):
    a, k, c = e["alpha"], e["k"], e["c"]
    tokens = sum(a**i for i in range(k + 1))
    return tokens / (k * c + 1), [tokens, tokens / (k * c), tokens / (c + 1), tokens * (1 - c)]


def _l8_6(e):
    s, b, own = e["shared_prefix"], e["kv_block"], e["own_prompt_lens"]
    total = sum(s + n for n in own)
    cached = (s // b) * b * (len(own) - 1)
    return (total - cached, cached), [(total - s * (len(own) - 1), s * (len(own) - 1)),  # the partial block shared
                                      (total - (s // b) * b * len(own), (s // b) * b * len(own)),  # first one too
                                      (total - cached, cached // b), (total, 0), (cached, total - cached)]


def _l8_7(e):
    p, r, caps = e["prompt_len"], e["running"], e["max_step_tokens"]
    right = [math.ceil(p / (cap - r)) for cap in caps]
    return right, [[math.ceil(p / cap) for cap in caps], [p // (cap - r) for cap in caps], [x + 1 for x in right]]


LAB08 = {1: (_l8_1, "verify_blocks"), 2: (_l8_2, "verify_steps"), 3: (_l8_3, "verify_fit"),
         4: (_l8_4, "verify_tokens"), 5: (_l8_5, "verify_speedup"), 6: (_l8_6, "verify_prefix"),
         7: (_l8_7, "verify_chunks")}


def _differs(a, b):
    if isinstance(a, float) or isinstance(b, float):
        return abs(a - b) > 1e-6 * abs(a)
    return a != b


@pytest.mark.parametrize("n", sorted(LAB08))
def test_lab08_every_combination_keeps_the_wrong_answers_apart(n):
    import itertools

    mod = _module("lab08")
    keys = sorted(mod._CHOICES[n])
    for combo in itertools.product(*(mod._CHOICES[n][k] for k in keys)):
        e = {**mod._BASE[n], **dict(zip(keys, combo))}
        right, wrongs = LAB08[n][0](e)
        for wrong in wrongs:
            assert _differs(right, wrong), (n, e, right, wrong)


@pytest.mark.parametrize("n", sorted(LAB08))
def test_lab08_each_variant_accepts_its_own_answer_and_rejects_the_wrong_ones(n):
    mod = _module("lab08")
    answer, verify = LAB08[n]
    for sid in IDS:
        check.set_student(sid)
        right, wrongs = answer(getattr(mod, f"EXERCISE_{n}"))
        getattr(mod, verify)(right)
        for wrong in wrongs:
            with pytest.raises(AssertionError, match="Hint"):
                getattr(mod, verify)(wrong)
