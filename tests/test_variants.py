"""Per-student variants (course_lib.check.variant): each lab's inputs change deterministically
with the student id, the checks compute the expected answer for that variant, and no public
function of a lab module returns an expected answer."""

from __future__ import annotations

import importlib
import inspect
import math

import pytest

from course_lib import check

LABS = [f"lab0{n}" for n in range(1, 8)]
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
