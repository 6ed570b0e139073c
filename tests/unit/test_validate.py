"""course_lib._validate: every check raises TypeError or ValueError naming the argument."""

import math

import numpy as np
import pytest
import torch

from course_lib import _validate as v


def test_integer_accepts_python_numpy_and_0dim_tensor_ints():
    assert v.integer("n", 3) == 3
    assert v.integer("n", np.int64(3)) == 3 and type(v.integer("n", np.int32(3))) is int
    assert v.integer("n", torch.tensor(3)) == 3
    assert v.integer("n", 10**400) == 10**400  # no float() on the way


@pytest.mark.parametrize("bad", [True, 3.0, "3", None, np.float64(3.0), torch.tensor(3.0), [3]])
def test_integer_refuses_non_integers_by_name(bad):
    with pytest.raises(TypeError, match=r"^count must be an integer"):
        v.integer("count", bad)


def test_integer_range_names_the_argument_and_the_bounds():
    with pytest.raises(ValueError, match=r"count must be an integer from 1 to 10, got 0"):
        v.integer("count", 0, minimum=1, maximum=10)
    with pytest.raises(ValueError, match=r"count must be an integer from 1 to 10, got 11"):
        v.integer("count", 11, minimum=1, maximum=10)
    with pytest.raises(ValueError, match=r"count .* got an integer of 401 digits"):
        v.positive_int("count", 10**400, maximum=10)


def test_number_huge_int_is_a_value_error_naming_the_argument():
    # float(10**400) raises OverflowError; the check must say which argument instead.
    with pytest.raises(ValueError, match=r"^n_params must be a finite number.*401 digits"):
        v.number("n_params", 10**400)
    with pytest.raises(ValueError, match=r"^n_params"):
        v.positive("n_params", -(10**400))


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, np.float64("nan")])
def test_number_refuses_nan_and_inf(bad):
    with pytest.raises(ValueError, match=r"^x must be a finite number"):
        v.number("x", bad)


@pytest.mark.parametrize("bad", [True, "1.0", None, [1.0], torch.ones(2), 1j])
def test_number_refuses_non_numbers(bad):
    with pytest.raises(TypeError, match=r"^x must be a number"):
        v.number("x", bad)


def test_number_bounds_and_zero():
    assert v.number("x", np.float32(0.5)) == 0.5
    assert v.number("x", torch.tensor(2.5)) == 2.5
    with pytest.raises(ValueError, match=r"x must be a number from 0 to 1, got 2"):
        v.fraction("x", 2.0)
    with pytest.raises(ValueError, match="x must be non-zero"):
        v.positive("x", 0)
    with pytest.raises(ValueError, match="x must be non-zero"):
        v.fraction("x", 0.0)
    assert v.fraction("x", 0.0, allow_zero=True) == 0.0
    assert v.positive("x", 5e-324) == 5e-324


def test_boolean_string_choice():
    assert v.boolean("flag", np.bool_(True)) is True
    for bad in (1, 0, "yes", None):
        with pytest.raises(TypeError, match="^flag must be True or False"):
            v.boolean("flag", bad)
    with pytest.raises(ValueError, match="title must be a non-empty string"):
        v.string("title", "  ")
    with pytest.raises(TypeError, match="title must be a string"):
        v.string("title", 5)
    with pytest.raises(ValueError, match=r"opt must be one of \['a', 'b'\], got 'c'"):
        v.choice("opt", "c", ["a", "b"])


def test_finite_names_the_extreme_inputs():
    assert v.finite("f", (1.0, {"a": 2}), x=1) == (1.0, {"a": 2})
    with pytest.raises(ValueError, match=r"training_flops\(n_params=1e\+308, n_tokens=10\).*because of n_params"):
        v.finite("training_flops", 6 * 1e308 * 10, n_params=1e308, n_tokens=10)
    with pytest.raises(ValueError, match=r"because of cost_per_day"):
        v.finite("break_even_days", 2e6 / 5e-324, training_cost=2e6, cost_per_day=5e-324)
    with pytest.raises(ValueError, match=r"got nan"):
        v.finite("split", (0.0, math.nan), a=1e308, b=1e308)


def test_fits_memory_refuses_more_than_the_machine_has():
    assert v.fits_memory("x", 1000) == 1000
    with pytest.raises(ValueError, match=r"hidden=10\*\*6 would need about .* GiB"):
        v.fits_memory("hidden=10**6", 4e12)


def test_mapping_sequence_instance():
    with pytest.raises(TypeError, match="scenario must be a dict, got None"):
        v.mapping("scenario", None)
    with pytest.raises(ValueError, match=r"scenario is missing the key\(s\) \['a'\]"):
        v.mapping("scenario", {}, ["a"])
    with pytest.raises(ValueError, match="intensity_range must have at least 2 item"):
        v.sequence("intensity_range", [], min_len=2)
    with pytest.raises(TypeError, match="intensity_range must be a list"):
        v.sequence("intensity_range", "ab")
    with pytest.raises(ValueError, match=r"xs\[1\] must be a finite number"):
        v.numbers_list("xs", [1.0, math.nan])
    with pytest.raises(TypeError, match="model must be Module"):
        v.instance("model", 3, torch.nn.Module)


def test_tensor_checks():
    x = torch.ones(2, 3)
    assert v.tensor("x", x, kind="float", ndim=2, last_dim=3) is x
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        v.tensor("x", [[1.0]])
    with pytest.raises(TypeError, match="x must have a floating-point dtype"):
        v.tensor("x", torch.ones(2, 3, dtype=torch.long), kind="float")
    with pytest.raises(ValueError, match=r"x must have 3 features .* got shape \(2, 4\)"):
        v.tensor("x", torch.ones(2, 4), last_dim=3)
    with pytest.raises(ValueError, match="x must have 2 dimension"):
        v.tensor("x", torch.ones(3), ndim=2)
    with pytest.raises(ValueError, match="x contains NaN"):
        v.tensor("x", torch.tensor([1.0, math.nan]))
    with pytest.raises(ValueError, match="x must not be empty"):
        v.tensor("x", torch.ones(0, 3))


def test_token_ids():
    ids = torch.tensor([[0, 5, 9]])
    assert v.token_ids("idx", ids, vocab_size=10) is ids
    with pytest.raises(ValueError, match=r"idx must hold ids from 0 to 9 \(vocab_size=10\), got ids from 0 to 10"):
        v.token_ids("idx", torch.tensor([[0, 10]]), vocab_size=10)
    with pytest.raises(ValueError, match=r"got ids from -1"):
        v.token_ids("idx", torch.tensor([[-1, 2]]), vocab_size=10)
    with pytest.raises(TypeError, match="idx must have dtype torch.long"):
        v.token_ids("idx", torch.tensor([[0.0, 1.0]]), vocab_size=10)
    with pytest.raises(TypeError, match="idx must be a torch.Tensor"):
        v.token_ids("idx", [[0, 1]], vocab_size=10)
    with pytest.raises(ValueError, match=r"shape \(batch, seq\)"):
        v.token_ids("idx", torch.tensor([0, 1]), vocab_size=10)
    with pytest.raises(ValueError, match="more than max_seq_len=2"):
        v.token_ids("idx", torch.zeros(1, 3, dtype=torch.long), vocab_size=10, max_len=2)


def test_module():
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        v.module("model", "mlp")
    with pytest.raises(ValueError, match="model must have parameters"):
        v.module("model", torch.nn.Identity(), needs_parameters=True)


def test_show_keeps_messages_short():
    assert len(v.show("x" * 1000)) <= 60
    assert "digits" in v.show(10**400)


def _counting(monkeypatch, name):
    calls = []
    real = getattr(v, name)
    monkeypatch.setattr(v, name, lambda *a, **k: (calls.append(1), real(*a, **k))[1])
    return calls


def test_an_unchanged_input_is_checked_once_per_model(monkeypatch):
    """A timed loop must not time a NaN scan with every call, nor check twice (library, then pre-hook)."""
    from course_lib import models, train

    mlp = models.MLP(d_in=8, hidden=16, d_out=3)
    x = torch.randn(4, 8)
    scans = _counting(monkeypatch, "tensor")
    for _ in range(5):
        train.inference(mlp, x)
    assert len(scans) == 1  # train.inference checked x; its pre-hook and the next four calls trusted that
    x[0, 0] = math.nan  # an in-place change bumps the version counter: checked again, and refused
    with pytest.raises(ValueError, match="inputs contains NaN"):
        train.inference(mlp, x)
    with pytest.raises(ValueError, match="x contains NaN"):  # the pre-hook, called directly
        mlp(x)
    other = models.MLP(d_in=8, hidden=16, d_out=3)
    y = torch.randn(4, 8)
    train.inference(mlp, y)
    before = len(scans)
    train.inference(other, y)  # another model: its own check
    assert len(scans) == before + 1


def test_a_forward_check_does_not_stand_in_for_the_boundary_check(monkeypatch):
    """The pre-hook checks less than model_input (no max_seq_len): model_input checks again."""
    from course_lib import models

    gpt = models.TinyGPT(vocab_size=16, d_model=16, n_heads=2, n_layers=1, max_seq_len=8)
    ids = torch.randint(0, 16, (1, 12))
    v.remember_input(gpt, ids, "forward")
    assert v.input_passed(gpt, ids) and not v.input_passed(gpt, ids, levels=("boundary",))
    with pytest.raises(ValueError, match="more than max_seq_len=8"):
        v.model_input("inputs", gpt, ids)


def test_inference_mode_tensors_are_always_checked(monkeypatch):
    from course_lib import models

    mlp = models.MLP(d_in=8, hidden=16, d_out=3)
    with torch.inference_mode():
        x = torch.randn(4, 8)
    scans = _counting(monkeypatch, "tensor")
    v.model_input("inputs", mlp, x)
    v.model_input("inputs", mlp, x)
    assert len(scans) == 2 and not v.input_passed(mlp, x)  # no version counter to trust


def test_available_memory_reads_the_container_limit(tmp_path, monkeypatch):
    # cgroup v2: memory.max 2 GiB with 1.5 GiB in use leaves 0.5 GiB, whatever the host has
    (tmp_path / "memory.max").write_text("2147483648\n")
    (tmp_path / "memory.current").write_text(str(3 * 2**29) + "\n")
    monkeypatch.setattr(v, "_CGROUP_FILES", (str(tmp_path / "memory.max"), str(tmp_path / "none")))
    monkeypatch.setattr(v, "_CGROUP_USAGE", (str(tmp_path / "memory.current"), str(tmp_path / "none")))
    assert v.cgroup_memory_limit() == (2**31, 3 * 2**29)
    assert v.available_memory() == 2**29
    # "max" (no limit) and v1's huge "no limit" value read as no limit
    (tmp_path / "memory.max").write_text("max\n")
    assert v.cgroup_memory_limit() is None
    (tmp_path / "memory.max").write_text(str(2**63 - 4096))
    assert v.cgroup_memory_limit() is None


def test_declared_domains_are_checked_by_name_and_converted():
    import numpy as np

    @v.checked
    def f(n: v.PositiveInt, share: v.Fraction = 0.5, mode: v.Choice[("a", "b")] = "a", k: v.PositiveInt | None = None):
        return (n, share, mode, k)

    assert f(np.int64(3)) == (3, 0.5, "a", None) and type(f(np.int64(3))[0]) is int
    with pytest.raises(ValueError, match=r"^n must be an integer >= 1, got 0"):
        f(0)
    with pytest.raises(ValueError, match="share"):
        f(1, share=1.5)
    with pytest.raises(ValueError, match=r"mode must be one of \['a', 'b'\]"):
        f(1, mode="c")
    with pytest.raises(TypeError, match="k must be an integer"):
        f(1, k="2")
    assert {name: d.kind for name, d in v.domains(f).items()} == {"n": "posint", "share": "frac", "mode": "choice",
                                                                   "k": "posint"}
