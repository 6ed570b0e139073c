"""Property tests over every public name of ``course_lib`` (hypothesis).

:data:`REGISTRY` holds one entry per public function, class and calculator,
keyed ``"module.name"`` relative to ``course_lib`` (``"cost.training_hours"``,
``"ui.charts.bar"``; subpackages are walked). :func:`test_every_public_name_has_an_entry` fails
when a module gains a public name without an entry (or an entry's name
disappears), so the registry cannot fall behind the library.

For each entry:

- **bad values** (:data:`BAD`: negative, zero, NaN, ±inf, a huge int,
  bool, str, None, a wrong dtype or shape, per the argument's kind), one
  argument at a time with the others valid → ``ValueError`` or
  ``TypeError`` whose message names that argument;
- **valid extremes** (hypothesis draws every numeric argument at once from
  :data:`EXTREME`, from the smallest float to 1e308) → a finite result (a
  number, or numbers inside a tuple, dict or dataclass), or a ``ValueError``
  naming one of the arguments (e.g. "…overflows because of n_params");
- every call ends within :data:`CALL_LIMIT_S` seconds (an alarm fails it).

Adding an entry (a new module, or the lead merging ``arch``, ``generation``,
``engine``): one line per public name in the module's block of
:data:`REGISTRY`::

    "arch.param_count": E(arch.param_count, d_model=A("posint", 64), n_layers=A("posint", 2)),

``A(kind, valid)`` is one argument: its kind (a key of :data:`BAD`) and a
valid value (wrap a value that is costly to build in ``L(lambda: ...)``).
``E(fn, **args)`` calls ``fn(**args)``; options: ``heavy=True`` (the call
starts processes or measures: only bad values, which must be refused before
any work), ``finite=False`` (non-finite results are part of the contract,
e.g. ``precision.representable`` shows overflow to inf), ``extremes=False``.
``R(why)`` marks a record class that only the library constructs (its
fields are produced by checked functions) and ``N(why)`` a name with no
arguments to test. Keep the whole module under 90 s on a 2-core machine.
"""

from __future__ import annotations

import importlib
import inspect
import math
import pkgutil
import signal
import time
from dataclasses import dataclass

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

import course_lib
from course_lib import (activations, arch, check, claims, configs, cost, data, distributed, energy, engine, env, fit, generation, hardware, measure, memory, model_state,
                        published, references, validation,
                        lora, models, precision, predict, processes, reasoning, serving, simulate, train, zero_fit)
from course_lib.ui import calculators, charts, render, text, widgets
from course_lib import _validate as v

CALL_LIMIT_S = 10
EXAMPLES = 100  # hypothesis examples per entry for the valid extremes

NAN, INF = math.nan, math.inf
HUGE = 10**400


class L:
    """A lazily built valid value (a model, a tensor, a record), built once."""

    def __init__(self, make):
        self.make, self._value, self._built = make, None, False

    def get(self):
        if not self._built:
            self._value, self._built = self.make(), True
        return self._value


@dataclass
class A:
    """One argument: its kind (a key of BAD) and a valid value; ``bad`` adds values for this argument only."""

    kind: str
    valid: object
    bad: tuple = ()
    none_ok: bool = False  # declared ``X | None``: None is a valid value

    def value(self):
        return self.valid.get() if isinstance(self.valid, L) else self.valid


@dataclass
class X:
    """A declared argument's valid value plus bad values of its own (``X(16, bad=(15,))``)."""

    valid: object
    bad: tuple = ()


def _target(fn):
    return fn.__init__ if inspect.isclass(fn) else fn


class E:
    """A callable entry: ``E(target, **args)`` calls ``target(**args)``.

    An argument whose domain the target declares in its signature (``n: v.PositiveInt``)
    is given by its valid value alone (or ``X(valid, bad=...)``): its kind, hence its bad
    values and extremes, comes from the declaration. ``A(kind, valid)`` is for the
    exceptions, arguments without a declared domain; using it on a declared argument
    is an error (:func:`test_declared_domains_are_not_restated`)."""

    def __init__(self, target, /, *, heavy=False, finite=True, extremes=True, **args):
        self.fn, self.heavy, self.finite, self.extremes = target, heavy, finite, extremes
        self.declared = v.domains(_target(target))
        optional = {name for name, (_, none_ok) in v._domains(_target(target)).items() if none_ok}
        self.restated, self.undeclared, self.args = [], [], {}
        for name, arg in args.items():
            if isinstance(arg, A):
                if name in self.declared:
                    self.restated.append(name)
                self.args[name] = arg
                continue
            valid, bad = (arg.valid, arg.bad) if isinstance(arg, X) else (arg, ())
            if name not in self.declared:
                self.undeclared.append(name)
            self.args[name] = A(self.declared[name].kind if name in self.declared else "any", valid, tuple(bad),
                                none_ok=name in optional)


@dataclass
class R:
    """A record class only the library builds."""

    why: str


@dataclass
class N:
    """A name with no arguments to vary."""

    why: str
    call: object = None


def _long(*shape):
    return torch.zeros(*shape, dtype=torch.long)


NAN_2x8 = torch.full((2, 8), math.nan)

# Bad values by kind: each must be refused with a ValueError/TypeError naming the argument.
BAD = {
    "pos": (-1.0, 0.0, NAN, INF, -INF, HUGE, True, "1", None),
    "nonneg": (-1.0, NAN, INF, -INF, HUGE, True, "1", None),
    "frac": (-0.5, 0.0, 1.5, NAN, INF, True, "0.5", None),
    "frac0": (-0.5, 1.5, NAN, INF, True, "0.5", None),
    "real": (NAN, INF, -INF, HUGE, True, "1", None),
    "posint": (0, -1, 1.5, NAN, True, "1", None),
    "work": (0, -1, 1.5, True, "1", None, HUGE),  # an int that sets work or memory: bounded above
    "nonnegint": (-1, 1.5, NAN, True, "1", None),
    "int": (1.5, NAN, True, "1", None, HUGE),
    "path": (None, 5, ["a"]),
    "seed": (-1, 1.5, True, "1", None, 2**64, HUGE),
    "choice": ("no-such-option", 5, None),
    "bool": (1, "yes", None),
    "str": (5, None),
    "callable": (None, 5, "f"),
    "model": (None, "model", 5),
    "x8": (None, [[1.0] * 8], _long(2, 8), torch.zeros(2, 9), NAN_2x8, torch.zeros(2, 8, dtype=torch.float64),
           torch.zeros(2, 8, device="meta")),  # float input of width 8
    # hidden states, width 16: a model's own intermediates, so NaN passes (a diverging run carries it; no scan per layer)
    "x16": (None, 5, _long(2, 4, 16), torch.zeros(2, 4, 15),
            torch.zeros(2, 4, 16, dtype=torch.float64), torch.zeros(2, 4, 16, device="meta")),
    "h8": (None, [[1.0] * 8], _long(2, 8), torch.zeros(2, 9), torch.zeros(2, 8, dtype=torch.float64),
           torch.zeros(2, 8, device="meta")),  # a LoRA layer's input inside a model: as x8, NaN passes
    "kv": (None, 5, torch.zeros(2, 2, 3, 8), torch.zeros(1, 2, 3), torch.zeros(1, 2, 3, 8, dtype=torch.long),
           torch.zeros(1, 2, 3, 8, device="meta")),  # a layer's keys or values for a cache of batch 1
    "ids": (None, [[1, 2]], torch.zeros(2, 4), _long(2, 4) - 1, _long(2, 4) + 64, _long(4),
            torch.zeros(2, 4, dtype=torch.long, device="meta")),  # TinyGPT(vocab 64)
    "labels": (None, [0, 1], torch.zeros(2)),
    "tensor": (None, [1.0, 2.0], 5),
    "record": (None, {}, 5),
    "seq": (None, [], "ab", 5),
    "table": (None, {}, 5),
    "any": (),
}

_tiny, _big = 5e-324, 1e308
# Valid extremes by kind (hypothesis strategies); kinds missing here keep their valid value.
EXTREME = {
    "pos": st.one_of(st.floats(_tiny, _big), st.sampled_from([_tiny, 1e-300, 1e300, _big, 10**300])),
    "nonneg": st.one_of(st.floats(0.0, _big), st.sampled_from([0.0, _tiny, _big])),
    "frac": st.one_of(st.floats(_tiny, 1.0), st.sampled_from([_tiny, 1.0])),
    "frac0": st.floats(0.0, 1.0),
    "real": st.floats(-_big, _big),
    "posint": st.one_of(st.integers(1, 10**30), st.sampled_from([1, 10**300])),
    "nonnegint": st.integers(0, 10**30),
}


MLP = L(lambda: models.MLP(d_in=8, hidden=16, d_out=3, depth=1, seed=0))
GPT = L(lambda: models.TinyGPT(vocab_size=64, d_model=16, n_heads=2, n_layers=1, max_seq_len=16, seed=0))
X8 = L(lambda: torch.randn(4, 8, generator=torch.Generator().manual_seed(0)))
Y3 = L(lambda: torch.tensor([0, 1, 2, 0]))
IDS = L(lambda: torch.randint(0, 64, (2, 8), generator=torch.Generator().manual_seed(0)))
SCENARIO = L(lambda: cost.cost_scenario())
FIT = L(lambda: fit.will_it_fit())
ZERO = L(lambda: zero_fit.zero_fit())
SIM = L(lambda: simulate.simulate_batching(100.0, 4, 0.001, 0.001, 0.0001, n_requests=200))
TIMING = L(lambda: measure.Timing(samples=(0.002, 0.001, 0.003), n_threads=1, device="cpu"))
FMT = L(lambda: precision.get_format("bf16"))
TIMING_TABLE = L(lambda: __import__("pandas").DataFrame(
    {"what": ["a", "b"], "median_ms": [1.0, 2.0], "p10_ms": [0.9, 1.8], "p90_ms": [1.1, 2.2]}))
DF = L(lambda: __import__("pandas").DataFrame({"x": [1.0, 2.0], "y": [3.0, 4.0]}))
SWEEP = L(lambda: simulate.sweep([50.0, 100.0], [1, 4], 0.001, 0.001, 0.0001, n_requests=100))
L4 = L(lambda: hardware.accelerator("L4"))
SHAPE = L(lambda: arch.preset("llama-3-8b"))
ESTIMATE = L(lambda: generation.estimate("llama-3-8b", prompt_len=1000, output_len=250))
OPT = L(lambda: train.make_optimizer("sgd", MLP.get().parameters(), lr=0.01))
LLAMA = L(lambda: arch.preset("llama-3-8b"))
LIFETIME = L(lambda: cost.lifetime_estimate("llama-3-8b", train_tokens=1e12, requests_per_day=1e6, prompt_tokens=500,
                                            output_tokens=500, years=1.0))
MACHINE = L(lambda: hardware.MeasuredMachine(name="test", device="cpu", n_threads=1, flops={"fp32": 1e10, "bf16": 1e10, "fp16": 1e10},
                                             sizes={"fp32": 128, "bf16": 128, "fp16": 128}, bandwidth=1e9, copy_bytes=1 << 26))
LLAMA_CONFIG = {"model_type": "llama", "hidden_size": 64, "num_attention_heads": 4, "num_key_value_heads": 2,
                "num_hidden_layers": 2, "intermediate_size": 128, "vocab_size": 100}
# hand-built requests a learner might pass: a far arrival, a string prompt, a string or 0-token output, 10**6 tokens
BAD_TRACES = (lambda R: ([R(1e300, (1, 2), 2)], [R(math.nan, (1, 2), 2)], [R(0.0, "ab", 2)], [R(0.0, (1, -2), 2)],
                         [R(0.0, (1, 2), "2")], [R(0.0, (1, 2), 0)], [R(0.0, (1,) * 10**6, 2)]))(engine.Request)
SIMULATED = L(lambda: engine.simulate(engine.make_trace(4, 10.0), overhead=1e-3, per_token=1e-4))
MOE_IN = L(lambda: torch.randn(2, 4, 16, generator=torch.Generator().manual_seed(0)))


def _method(name, cls=None, make=None):
    """A method called on an instance (registry keys ``module.Class.<method>``); by default an
    Architecture method on Llama-3-8B's shape. Its declared domains are the method's."""
    make = make or LLAMA.get

    def call(**kwargs):
        return getattr(make(), name)(**kwargs)
    call.__name__ = name
    call.__wrapped__ = getattr(cls or arch.Architecture, name)
    return call


def _noop():
    return None


REGISTRY: dict[str, object] = {
    # ---------------------------------------------------------------- __init__
    "course_lib.setup": E(course_lib.setup, seed=A("seed", 0), n_threads=A("any", 1, bad=(0, -1, 1.5, True, "1", 10**5, HUGE)),
                          student=A("any", None, bad=(5, "", "a b")),
                          extremes=False),
    # ---------------------------------------------------------------- check
    "check.start": E(check.start, lab=A("str", "lab99_props"), exercises=A("posint", 3), extremes=False),
    "check.set_student": E(check.set_student, student=A("any", None, bad=(5, "", "a b", "x" * 65, "-x")),
                           extremes=False),
    "check.student": N("no arguments"),
    "check.variant": E(check.variant, lab=A("str", "lab99"), exercise=A("posint", 1),
                       base=A("any", {"a": 1}, bad=(None, 5, [1])),
                       choices=A("any", {"a": [1, 2]}, bad=(None, 5, {"zz": [1]}, {"a": []})), extremes=False),
    "check.inputs_attribute": E(check.inputs_attribute, lab=A("str", "lab99"), name=A("str", "EXERCISE_1"),
                                base=A("any", {1: {"a": 1}}, bad=(None, 5)), choices=A("any", {}, bad=(None, 5)),
                                extremes=False),
    "check.exercise": N("runs a learner's function: covered by tests/labs/test_check.py (any error is reported, never raised)"),
    "check.results": N("no arguments"),
    "check.summary": N("no arguments"),
    "check.expect_equal": N("verifier helper: raises AssertionError by design (tests/labs/test_check.py)"),
    "check.expect_close": N("verifier helper: raises AssertionError by design (tests/labs/test_check.py)"),
    "check.expect_int": N("verifier helper: raises AssertionError by design (tests/labs/test_check.py)"),
    "check.expect_number": N("verifier helper: raises AssertionError by design (tests/labs/test_check.py)"),
    "check.expect_true": N("verifier helper: raises AssertionError by design (tests/labs/test_check.py)"),
    # ---------------------------------------------------------------- cost
    "cost.daily_inference_cost": E(cost.daily_inference_cost, requests_per_day=1e6, cost_per_request=1e-3),
    "cost.lifetime_split": E(cost.lifetime_split, training_cost=2e6, inference_cost_per_year=1e7, years=1.0),
    "cost.break_even_days": E(cost.break_even_days, training_cost=2e6, inference_cost_per_day=2e4),
    "cost.token_prices": E(cost.token_prices, model=A("pos", 7e9), accelerator=A("choice", "H100 SXM"),
                           price_per_hour=2.0, prompt_utilization=0.5, output_utilization=0.1, dtype="bf16"),
    "cost.active_params": E(cost.active_params, model=A("pos", 7e9)),
    "cost.run_utilization": E(cost.run_utilization, run=L(lambda: published.TRAINING["Llama-2-7B"])),
    "cost.utilization_fit": E(cost.utilization_fit, group="hopper"),
    "cost.default_utilization": E(cost.default_utilization, model=A("pos", 7e9), accelerator=A("choice", "H100 SXM")),
    "cost.accelerator_hours": E(cost.accelerator_hours, flops=1e20, peak_flops=1e15, utilization=0.4),
    "cost.training_hours": E(cost.training_hours, model=A("pos", 7e9), n_tokens=1e12, accelerator=A("choice", "L4"),
                             utilization=0.4, dtype="bf16"),
    "cost.training_cost": E(cost.training_cost, model=A("pos", 7e9), n_tokens=1e12, utilization=0.4, price_per_hour=2.0),
    "cost.tokens_per_second": E(cost.tokens_per_second, model=A("pos", 7e9), utilization=0.1),
    "cost.seconds_per_request": E(cost.seconds_per_request, model=A("pos", 7e9), tokens_per_request=1000.0,
                                  utilization=0.1),
    "cost.cost_per_request": E(cost.cost_per_request, model=A("pos", 7e9), tokens_per_request=1000.0,
                               utilization=0.1, price_per_hour=2.0),
    "cost.decode_tokens_per_second_bound": E(cost.decode_tokens_per_second_bound, n_params=7e9,
                                             bytes_per_param=2.0, bandwidth=3e12, batch=1),
    "cost.chinchilla_loss": E(cost.chinchilla_loss, n_params=7e9, n_tokens=1e12),
    "cost.min_params_for_loss": E(cost.min_params_for_loss, target_loss=2.0),
    "cost.tokens_for_loss": E(cost.tokens_for_loss, n_params=7e9, target_loss=2.2),
    "cost.lifetime_flops": E(cost.lifetime_flops, n_params=7e9, train_tokens=1e12, inference_tokens=1e12),
    "cost.Sizing": R("built by size_at_quality / optimal_size from checked inputs"),
    "cost.size_at_quality": E(cost.size_at_quality, n_params=7e9, target_loss=2.2, inference_tokens=1e12),
    "cost.optimal_size": E(cost.optimal_size, target_loss=2.2, inference_tokens=1e12, steps=50, extremes=False),
    "cost.CostScenario": R("built by cost_scenario from checked inputs"),
    "cost.cost_scenario": E(cost.cost_scenario, n_params=175e9, train_tokens=300e9,
                            accelerator=A("choice", "H100 SXM"), train_utilization=0.4,
                            serve_utilization=0.1, price_per_hour=2.0, requests_per_day=1e7,
                            prompt_tokens=500.0, output_tokens=1000.0, years=1.0,
                            power_factor=1.0, prompt_utilization=0.5, grid_kg_per_kwh=0.4,
                            fixed_training_cost=2e6, fixed_cost_per_request=0.002),
    "cost.cumulative_cost": E(cost.cumulative_cost, s=SCENARIO, points=X(10, bad=(1, 10**6)), extremes=False),
    "cost.Hardware": R("built by lifetime_estimate from checked inputs"),
    "cost.LifetimeEstimate": R("returned by lifetime_estimate"),
    "cost.lifetime_estimate": E(cost.lifetime_estimate, model=A("choice", "llama-3-8b", bad=(3, None, "no-such")),
                                train_tokens=1e12, accelerator=A("choice", "H100 SXM"),
                                requests_per_day=1e6, prompt_tokens=500, output_tokens=500,
                                reasoning_tokens=0, years=1.0, n_gpus=1,
                                weight_format=A("choice", "bf16"), kv_format=A("any", None, bad=("no-such", 5)),
                                batch=X(None, bad=(10**9,)), price_per_hour=2.0,
                                power_factor=1.0, train_utilization=None),
    # ---------------------------------------------------------------- data
    "data.make_classification": E(data.make_classification, n_samples=16, d_in=4,
                                  n_classes=X(3, bad=(1,)), seed=0, extremes=False),
    "data.make_tokens": E(data.make_tokens, n_seqs=4, seq_len=8, vocab_size=X(16, bad=(1,)),
                          noise=0.1, seed=0, extremes=False),
    # ---------------------------------------------------------------- distributed
    "distributed.RankReport": R("measured by a worker process"),
    "distributed.TrainingRun": R("returned by run_training / run_single"),
    "distributed.wire_bytes": E(distributed.wire_bytes, collective="all_reduce", n_bytes=1e6,
                                n_devices=4),
    "distributed.step_wire_bytes": E(distributed.step_wire_bytes, report=L(lambda: distributed.RankReport(
        0, 2, "ddp", 1, 1, 1, 1, {"all_reduce": 1000}, {"all_reduce": 1}, (0.1,), (1.0,))), extremes=False),
    "distributed.run_single": E(distributed.run_single, steps=A("work", 1), batch=A("work", 2), seq_len=A("work", 8),
                                d_model=A("work", 16), n_layers=A("work", 1), n_heads=A("posint", 2),
                                vocab_size=A("posint", 16, bad=(1,)), heavy=True),
    "distributed.run_training": E(distributed.run_training, world_size=A("work", 2), strategies=A("choice", "ddp"),
                                  steps=A("work", 1), batch=A("work", 2), seq_len=A("work", 8), d_model=A("work", 16),
                                  n_layers=A("work", 1), n_heads=A("posint", 2), timeout_s=60.0, heavy=True),
    # ---------------------------------------------------------------- energy
    "references.Reference": R("cited reference points, in references.REFERENCES"),
    "references.reference": E(references.reference, key=A("choice", L(lambda: next(iter(references.REFERENCES))))),
    "energy.energy_kwh": E(energy.energy_kwh, power_w=700.0, hours=10.0, n_devices=8.0,
                           pue=X(1.1, bad=(0.5,))),
    "energy.co2_kg": E(energy.co2_kg, energy_kwh=100.0, grid_kg_per_kwh=0.4),
    "energy.wh_per_request": E(energy.wh_per_request, seconds_per_request=0.5, power_w=700.0),
    # ---------------------------------------------------------------- env
    "env.cpu_quota": E(env.cpu_quota, cgroup_root="/sys/fs/cgroup"),
    "env.available_cpus": E(env.available_cpus, cgroup_root="/sys/fs/cgroup"),
    "env.configure_threads": E(env.configure_threads, n_threads=A("any", 1, bad=(0, -1, 1.5, True, "1", 10**5, HUGE)),
                               extremes=False),
    "env.device": E(env.device, prefer=A("choice", "cpu")),
    "env.cpu_model": N("no arguments"),
    "env.report": N("no arguments"),
    "env.describe": N("no arguments"),
    # ---------------------------------------------------------------- fit
    "fit.activation_value_bytes": E(fit.activation_value_bytes, precision="mixed"),
    "fit.verdict": E(fit.verdict, total_bytes=10**9, accelerator="H100 SXM"),
    "fit.Verdict": R("returned by fit.verdict"),
    "fit.FitResult": R("returned by fit.will_it_fit"),
    "fit.will_it_fit": E(fit.will_it_fit, model=A("choice", "llama-3-8b"), batch=A("posint", 1), seq_len=A("posint", 2048),
                         checkpointing=False, accelerator="H100 SXM"),
    "fit.fit_table": E(fit.fit_table, result=FIT),
    # ---------------------------------------------------------------- hardware
    "hardware.Accelerator": R("datasheet entries in hardware.ACCELERATORS"),
    "hardware.accelerator": E(hardware.accelerator, name=A("choice", "L4")),
    "hardware.resolve": E(hardware.resolve, accelerator=A("choice", "L4")),
    "hardware.ridge_point": E(hardware.ridge_point, peak_flops=A("pos", 1e14), bandwidth=A("pos", 1e12)),
    "hardware.attainable_flops": E(hardware.attainable_flops, intensity=A("pos", 10.0), peak_flops=A("pos", 1e14),
                                   bandwidth=A("pos", 1e12)),
    "hardware.compute_bound_batch": E(hardware.compute_bound_batch, k=A("posint", 4096), n=A("posint", 4096),
                                      peak_flops=A("pos", 1e14), bandwidth=A("pos", 1e12), bytes_per_value=A("pos", 2.0)),
    "hardware.MeasuredMachine": R("returned by measure_machine"),
    "hardware.measure_machine": E(hardware.measure_machine, repeats=A("work", 1),
                                  copy_mib=A("any", 1, bad=(0, -1, 1.5, True, "1", HUGE)), heavy=True),
    "hardware.roofline_table": E(hardware.roofline_table, devices=A("seq", L(lambda: [L4.get()])), dtype=A("choice", "bf16"),
                                 intensity_range=A("seq", (0.1, 1e4), bad=((1.0,), (0.0, 1.0), (NAN, 1.0)))),
    "hardware.MatmulPoint": R("returned by measure_matmul"),
    "hardware.measure_matmul": E(hardware.measure_matmul, batch=A("work", 2), k=A("work", 16), n=A("work", 16),
                                 dtype=A("choice", "fp32"), repeats=A("work", 1), heavy=True),
    # ---------------------------------------------------------------- measure
    "measure.count_flops": E(measure.count_flops, model=A("model", MLP), inputs=A("x8", X8), backward=A("bool", False)),
    "measure.flops_by_module": E(measure.flops_by_module, model=A("model", MLP), inputs=A("x8", X8), backward=A("bool", False)),
    "measure.Timing": R("returned by time_it"),
    "measure.time_it": E(measure.time_it, fn=A("callable", _noop), warmup=X(0, bad=(HUGE,)),
                         repeats=2, extremes=False),
    "measure.compare": E(measure.compare, slower=TIMING, faster=TIMING,
                         slower_name="a training step", faster_name="an inference call"),
    # ---------------------------------------------------------------- memory
    "memory.MemoryReport": R("returned by training_memory / inference_memory"),
    "memory.optimizer_state_bytes": E(memory.optimizer_state_bytes, opt=OPT),
    "memory.saved_activation_bytes": E(memory.saved_activation_bytes, model=A("model", MLP), inputs=A("x8", X8), extremes=False),
    "memory.training_memory": E(memory.training_memory, model=A("model", MLP), inputs=A("x8", X8), optimizer=A("choice", "adam")),
    "memory.inference_memory": E(memory.inference_memory, model=A("model", MLP), inputs=A("x8", X8)),
    "memory.LiveTensorBytes": N("a TorchDispatchMode used inside peak_training_memory; no arguments"),
    "memory.PeakReport": R("returned by peak_training_memory"),
    "memory.peak_training_memory": E(memory.peak_training_memory, model=A("model", MLP), inputs=A("x8", X8),
                                     optimizer=A("choice", "sgd"), extremes=False),
    "memory.Checkpointed": E(memory.Checkpointed, gpt=A("model", GPT), extremes=False),
    # ---------------------------------------------------------------- models
    "models.MLP": E(models.MLP, d_in=8, hidden=16, d_out=3, depth=1,
                    seed=0, extremes=False),
    "models.KVCache": E(models.KVCache, n_layers=2, batch=1, extremes=False),
    "models.CausalSelfAttention": E(models.CausalSelfAttention, d_model=X(16, bad=(15,)), n_heads=X(2, bad=(3,)),
                                    extremes=False),
    "models.Block": E(models.Block, d_model=X(16, bad=(15,)), n_heads=X(2, bad=(3,)), extremes=False),
    "models.TinyGPT": E(models.TinyGPT, vocab_size=64, d_model=X(16, bad=(15,)), n_heads=2,
                        n_layers=1, max_seq_len=16, seed=A("seed", 0), extremes=False),
    "models.count_params": E(models.count_params, model=A("model", MLP), trainable_only=True),
    # ---------------------------------------------------------------- claims
    "claims.Claim": R("the seed page's claims, in claims.CLAIMS"),
    "claims.verdicts": E(claims.verdicts, lesson=A("any", 7, bad=(-1, 9, 1.5, True, "7"))),
    "claims.verdicts_markdown": E(claims.verdicts_markdown, lesson=A("any", 4, bad=(-1, 9, 1.5, True, "4"))),
    # ---------------------------------------------------------------- precision
    "precision.FloatFormat": R("returned by float_format / get_format"),
    "precision.float_format": E(precision.float_format, exponent_bits=X(5, bad=(1, 12)),
                                mantissa_bits=X(10, bad=(53,))),
    "precision.from_torch": E(precision.from_torch, name="bfloat16"),
    "precision.get_format": E(precision.get_format, name="bf16"),
    "precision.int_range": E(precision.int_range, bits=X(8, bad=(1, 65))),
    "precision.format_table": N("no arguments"),
    "precision.representable": E(precision.representable, value=1.0, name="bf16", finite=False),
    "precision.sequential_sum": E(precision.sequential_sum, values=L(lambda: torch.ones(4)),
                                  dtype=A("any", torch.float16)),
    "precision.quantize": E(precision.quantize, x=X8, bits=X(4, bad=(1, 9)), extremes=False),
    "precision.dequantize": E(precision.dequantize, codes=L(lambda: precision.quantize(X8.get(), 4)[0]),
                              scale=L(lambda: precision.quantize(X8.get(), 4)[1]), extremes=False),
    "precision.QuantError": R("returned by quantization_error"),
    "precision.quantization_error": E(precision.quantization_error, x=A("tensor", X8), bits=A("posint", 4, bad=(1, 9)),
                                      extremes=False),
    "precision.weight_bytes": E(precision.weight_bytes, n_values=1000, bits=X(4, bad=(65,)),
                                n_scales=10, scale_bytes=4),
    "precision.linear_weight_count": E(precision.linear_weight_count, model=A("model", MLP)),
    "precision.quantize_linear_weights": E(precision.quantize_linear_weights, model=A("model", MLP), bits=X(8, bad=(1, 9)),
                                           per_channel=True, extremes=False),
    "precision.accuracy": E(precision.accuracy, model=X(MLP, bad=(nn.Identity(),)), x=A("x8", X8), y=A("labels", Y3)),
    "precision.TrainLog": R("returned by train"),
    "precision.train": E(precision.train, model=L(lambda: models.MLP(d_in=8, hidden=16, d_out=3, depth=1, seed=1)), x=A("x8", X8), y=A("labels", Y3),
                         precision="fp32", steps=1, batch=A("posint", 2, bad=(5,)),
                         lr=1e-3, seed=0, extremes=False),
    "precision.gradients": E(precision.gradients, model=MLP, x=A("x8", X8), y=A("labels", Y3),
                             loss_scale=1.0, extremes=False),
    "precision.log2_histogram": E(precision.log2_histogram, values=A("tensor", L(lambda: torch.tensor([1e-3, 1e-6]))),
                                  low=X(-50, bad=(NAN, "x", None, HUGE)), high=A("any", 0, bad=(-60, HUGE, None)),
                                  extremes=False),
    "precision.Underflow": R("returned by gradient_underflow"),
    "precision.gradient_underflow": E(precision.gradient_underflow, model=A("model", MLP), x=A("x8", X8), y=A("labels", Y3),
                                      loss_scale=A("pos", 1.0), finite=False, extremes=False),
    "precision.time_matmul": E(precision.time_matmul, dtype=A("any", torch.float32, bad=(torch.int64, None)),
                               n=16, repeats=1, extremes=False),
    "precision.half_precision_verdict": E(precision.half_precision_verdict,
                                          flags=A("any", {"bf16": True, "fp16": False}, bad=(None, {}, {"bf16": 1, "fp16": 0}, 5))),
    "precision.cpu_half_precision_flags": E(precision.cpu_half_precision_flags, cpuinfo="flags : avx512_bf16\n"),
    # ---------------------------------------------------------------- predict
    "predict.matmul_flops": E(predict.matmul_flops, m=16, k=32, n=64),
    "predict.inference_flops": E(predict.inference_flops, n_params=7e9, n_tokens=1e3),
    "predict.training_flops": E(predict.training_flops, n_params=7e9, n_tokens=1e12),
    "predict.bytes_per_param_breakdown": E(predict.bytes_per_param_breakdown, optimizer="adam",
                                           precision="mixed"),
    "predict.bytes_per_param": E(predict.bytes_per_param, optimizer=A("choice", "adam"), precision=A("choice", "mixed")),
    "predict.kv_cache_bytes": E(predict.kv_cache_bytes, n_layers=32, n_kv_heads=8,
                                head_dim=128, seq_len=4096, batch=1,
                                bytes_per_value=2.0),
    "predict.transformer_activation_bytes": E(predict.transformer_activation_bytes, seq_len=2048,
                                              batch=1, hidden=4096, n_heads=32,
                                              n_layers=1),
    "predict.arithmetic_intensity": E(predict.arithmetic_intensity, m=A("posint", 16), k=A("posint", 4096),
                                      n=A("posint", 4096), bytes_per_value=2.0),
    "predict.zero_memory_per_device": E(predict.zero_memory_per_device, n_params=A("posint", 10**9), n_devices=A("posint", 8),
                                        stage=A("nonnegint", 2, bad=(4,)), optimizer=A("choice", "adamw"),
                                        precision=A("choice", "mixed")),
    "predict.allreduce_bytes": E(predict.allreduce_bytes, n_bytes=1e9, n_devices=8),
    "predict.gpt_layer_activation_bytes": E(predict.gpt_layer_activation_bytes, seq_len=64, batch=2,
                                            hidden=64, n_heads=4, bytes_per_value=2.0,
                                            dropout=A("bool", True)),
    "predict.mlp_sizes": E(predict.mlp_sizes, model_or_sizes=A("record", MLP)),
    "predict.tinygpt_sizes": E(predict.tinygpt_sizes, model_or_sizes=A("record", GPT)),
    "predict.mlp_activation_bytes": E(predict.mlp_activation_bytes, model_or_sizes=A("record", MLP), batch=4,
                                      bytes_per_value=4),
    "predict.tinygpt_activation_bytes": E(predict.tinygpt_activation_bytes, model_or_sizes=A("record", GPT),
                                          batch=2, seq_len=8, checkpointing=A("bool", False)),
    # ---------------------------------------------------------------- serving
    "serving.ServingRun": R("returned by serve"),
    "serving.serve": E(serving.serve, replicas=A("work", 1), rate=X(10.0, bad=(-1.0, 0.0, NAN, INF, "1", True)), load=1.5, n_requests=2,
                       d_model=16, n_layers=1, n_heads=2, seq_len=8,
                       vocab_size=X(16, bad=(1,)), seed=0, timeout_s=30.0, heavy=True),
    "serving.replicas_for_p95": E(serving.replicas_for_p95, rate=100.0, p95_target=0.05,
                                  service_time=0.01, max_replicas=8, balancer=A("choice", "least_loaded"),
                                  n_requests=200, seed=A("seed", 0), extremes=False),
    "serving.replica_sweep": E(serving.replica_sweep, rates=A("seq", [50.0]), replicas=A("seq", [1, 2], bad=([0], [HUGE])),
                               service_time=0.01, n_requests=100, extremes=False),
    # ---------------------------------------------------------------- simulate
    "simulate.SimResult": R("returned by simulate_batching"),
    "simulate.simulate_batching": E(simulate.simulate_batching, rate=100.0, max_batch=4,
                                    timeout=0.001, overhead=A("nonneg", 0.001), per_sample=A("nonneg", 0.0001),
                                    n_requests=200, seed=0, n_replicas=2,
                                    balancer="least_loaded"),
    "simulate.max_throughput": E(simulate.max_throughput, max_batch=8, overhead=A("nonneg", 0.001),
                                 per_sample=A("nonneg", 0.0001), n_replicas=1),
    "simulate.md1_mean_latency": E(simulate.md1_mean_latency, rate=10.0, service_time=0.01),
    "simulate.CostModel": E(simulate.CostModel(0.001, 0.0001).service_time, batch=4),
    "simulate.fit_cost_model": E(simulate.fit_cost_model, batch_sizes=A("seq", [1, 4, 16], bad=([1, 1], [0, 4])),
                                 seconds=A("seq", [0.01, 0.02, 0.05], bad=([0.01], [NAN, 0.1, 0.2]))),
    "simulate.measure_cost_model": E(simulate.measure_cost_model, model=A("callable", MLP),
                                     make_input=A("callable", lambda b: torch.zeros(b, 8)),
                                     batch_sizes=A("seq", (1, 2), bad=([0],)), repeats=1, extremes=False),
    "simulate.sweep": E(simulate.sweep, rates=[50.0], max_batches=[1, 4], timeout=A("nonneg", 0.001),
                        overhead=A("nonneg", 0.001), per_sample=A("nonneg", 0.0001), extremes=False),
    # ---------------------------------------------------------------- train
    "train.make_optimizer": E(train.make_optimizer, name="sgd", params=A("any", L(lambda: list(MLP.get().parameters()))),
                              lr=0.01, extremes=False),
    "train.loss_for": E(train.loss_for, output=A("tensor", L(lambda: torch.zeros(4, 3))), targets=A("labels", Y3)),
    "train.training_step": E(train.training_step, model=A("model", MLP), optimizer=A("model", OPT), inputs=A("x8", X8),
                             targets=A("labels", Y3), extremes=False),
    "train.inference": E(train.inference, model=A("model", MLP), inputs=A("x8", X8), extremes=False),
    "train.saved_storages": E(train.saved_storages, fn=A("callable", _noop), extremes=False),
    "train.saved_tensor_bytes": E(train.saved_tensor_bytes, fn=A("callable", _noop), extremes=False),
    # ---------------------------------------------------------------- zero_fit
    "predict.zero_breakdown": E(predict.zero_breakdown, n_params=7 * 10**9, n_devices=8,
                                stage=X(3, bad=(4,)), optimizer=A("choice", "adamw"), precision=A("choice", "mixed")),
    "zero_fit.zero_fit": E(zero_fit.zero_fit, model=A("choice", "llama-2-7b"), n_gpus=X(8, bad=(10**6,)),
                           stage=X(3, bad=(4,)), batch_per_gpu=1, seq_len=2048,
                           checkpointing=A("bool", True), accelerator="H100 SXM"),
    "zero_fit.ZeroFitResult": R("returned by zero_fit.zero_fit"),
    "zero_fit.stage_table": E(zero_fit.stage_table, result=ZERO),
    # ---------------------------------------------------------------- processes
    "processes.check_world_size": E(processes.check_world_size, world_size=A("work", 2), per_worker_mb=A("pos", 100.0),
                                    extremes=False),
    # a worker target is called as target(rank, n_workers, queues, ready): "{0}".format returns str(rank)
    "processes.launch": E(processes.launch, target=A("callable", "{0}".format), n_workers=A("work", 1), timeout_s=30.0,
                          heavy=True),
    "processes.shutdown": N("stops the worker pool; no arguments"),
    "processes.worker_processes": N("lists the worker pool; no arguments"),
    # ---------------------------------------------------------------- ui.render, ui.widgets
    "ui.render.render": N("the offline renderer, called by Altair with a Vega-Lite spec"),
    "ui.render.full_legends": E(render.full_legends, spec=A("any", {"mark": "point", "encoding": {"color": {"field": "c"}}},
                                                           bad=(None, 5, "spec")), finite=False, extremes=False),
    "ui.render.enable": N("switches Altair to the offline renderer; no arguments"),
    "ui.widgets.Calculator": N("the shared calculator: constructor checks in tests/contract/test_bad_input.py, fields in "
                               "test_calculator_fields"),
    "ui.widgets.calc_outputs": E(widgets.calc_outputs, result_html=A("str", "<span class='calc-out' data-key='a'>1</span>")),
    "ui.widgets.result_span": E(widgets.result_span, key=A("str", "a"), text=A("str", "1")),
    "ui.widgets.slugify": E(widgets.slugify, text=A("str", "A title")),
    "ui.widgets.snapshot": E(widgets.snapshot, slugs=A("any", None, bad=(5, "x"))),
    "ui.widgets.snapshot_json": E(widgets.snapshot_json, slugs=A("any", None, bad=(5, "x"))),
    # ---------------------------------------------------------------- ui.charts
    "ui.charts.bar": E(charts.bar, data=A("table", DF), x="x", y="y", extremes=False),
    "ui.charts.line": E(charts.line, data=A("table", DF), x="x", y="y", extremes=False),
    "ui.charts.flops_by_layer": E(charts.flops_by_layer, table=A("table", L(lambda: __import__("pandas").DataFrame(
        {"layer": ["a"], "pass": ["forward"], "flops": [10]}))), extremes=False),
    "ui.charts.timing_bars": E(charts.timing_bars, table=A("table", TIMING_TABLE), extremes=False),
    "ui.charts.cumulative_cost_chart": E(charts.cumulative_cost_chart, table=A("table", L(lambda: cost.cumulative_cost(SCENARIO.get()))),
                                         break_even_day=100.0, extremes=False),
    "ui.charts.split_sensitivity_chart": E(charts.split_sensitivity_chart, table=A("table", DF), extremes=False),
    "ui.charts.lifetime_compute_chart": E(charts.lifetime_compute_chart, table=A("table", DF), extremes=False),
    "ui.charts.gradient_histogram": E(charts.gradient_histogram, table=A("table", L(
        lambda: precision.log2_histogram(torch.tensor([1e-3, 1e-6])))), extremes=False),
    "ui.charts.quantization_accuracy": E(charts.quantization_accuracy, table=A("table", DF), extremes=False),
    "ui.charts.zero_stages": E(charts.zero_stages, table=A("table", L(lambda: zero_fit.stage_table(ZERO.get()))),
                               memory_gb=80.0, accelerator="H100", extremes=False),
    "ui.charts.replica_latency": E(charts.replica_latency, table=A("table", L(
        lambda: serving.replica_sweep([50.0], [1, 2], 0.01, n_requests=100))), extremes=False),
    "ui.charts.fit_chart": E(charts.fit_chart, table=A("table", L(lambda: fit.fit_table(FIT.get()))), memory_gb=80.0,
                             accelerator="H100", model="7B", extremes=False),
    "ui.charts.roofline_chart": E(charts.roofline_chart, table=A("table", L(lambda: hardware.roofline_table([L4.get()]))),
                                  extremes=False),
    "ui.charts.latency_chart": E(charts.latency_chart, latencies=[0.001, 0.002, 0.003],
                                 percentiles=A("any", {"p50": 0.002}, bad=(None, 5, "p50")), extremes=False),
    "ui.charts.tradeoff_chart": E(charts.tradeoff_chart, table=A("table", SWEEP), y=A("choice", "p95_ms"), extremes=False),
    # ---------------------------------------------------------------- ui.calculators
    "ui.calculators.render_fit": E(calculators.render_fit, result=FIT),
    "ui.calculators.fit_result_chart": E(calculators.fit_result_chart, result=FIT, extremes=False),
    "ui.calculators.fit_calculator": N("calculator without arguments: its fields are tested by test_calculator_fields"),
    "ui.calculators.model_source": E(calculators.model_source, upload=A("any", (), bad=(None, 5, "config.json")),
                                     config_path="", menu_label="GPT-2", extremes=False),
    "ui.calculators.render_batching": E(calculators.render_batching, result=SIM),
    "ui.calculators.batching_chart": E(calculators.batching_chart, result=SIM, extremes=False),
    "ui.calculators.batching_calculator": E(calculators.batching_calculator, overhead=A("nonneg", 0.001),
                                            per_sample=A("nonneg", 0.0001), rate=200.0,
                                            max_batch=X(8, bad=(65,)), timeout_ms=X(5.0, bad=(101.0,)),
                                            n_requests=200, seed=0, chart=False,
                                            extremes=False),
    "ui.calculators.render_format": E(calculators.render_format, f=FMT),
    "ui.calculators.format_explorer": E(calculators.format_explorer, exponent_bits=X(5, bad=(1, 12)),
                                        mantissa_bits=X(10, bad=(53,)), extremes=False),
    "ui.calculators.render_scenario": E(calculators.render_scenario, s=SCENARIO),
    "ui.calculators.scenario_chart": E(calculators.scenario_chart, s=A("record", SCENARIO), extremes=False),
    "ui.calculators.cost_calculator": E(calculators.cost_calculator, preset="Seed page example",
                                        chart=False, extremes=False),
    "ui.calculators.cost_inputs": E(calculators.cost_inputs, values=L(lambda: dict(text.COST_PRESETS["Seed page example"]))),
    "ui.calculators.render_zero": E(calculators.render_zero, result=ZERO),
    "ui.calculators.stage_chart": E(calculators.stage_chart, result=ZERO, extremes=False),
    # ---------------------------------------------------------------- ui.text
    "ui.text.money": E(text.money, x=1234.5),
    "ui.text.kwh": E(text.kwh, x=12.0),
    "ui.text.format_bytes": E(text.format_bytes, n=1e9),
    "ui.text.format_number": E(text.format_number, x=X(1.5, bad=(None, "x")), finite=False),
    "ui.text.verdict_text": E(text.verdict_text, ver=L(lambda: fit.verdict(10**9, "H100 SXM"))),
    "ui.text.format_scenario": E(text.format_scenario, s=SCENARIO),
    "ui.text.format_batching": E(text.format_batching, result=SIM),
    "ui.text.format_comparison": E(text.format_comparison, result=L(lambda: engine.compare_policies(
        10.0, 2, 8, 4, overhead=1e-3, per_token=1e-4, n_requests=8))),
    "ui.calculators.zero_calculator": E(calculators.zero_calculator, chart=False, extremes=False),
    # ---------------------------------------------------------------- more of precision and simulate
    "precision.known_layouts": N("no arguments"),
    "simulate.check_cost": E(simulate.check_cost, overhead=0.001, per_sample=0.0001),
    # ---------------------------------------------------------------- added by main after rel branched (house phase 2,
    # KV cache, lessons 07 and 08); entries written at the merge
    "cost.phase_hardware_table": E(cost.phase_hardware_table, n_params=7e9, name="7B", extremes=False),
    "hardware.peak_table": N("no arguments: a table of the datasheet rows"),
    "hardware.sources": N("no arguments: the datasheet sources joined"),
    "hardware.ridge_table": E(hardware.ridge_table, k=A("posint", 4096), n=A("posint", 4096), dtype=A("choice", "bf16"),
                              bytes_per_value=A("pos", 2), extremes=False),
    "measure.percentile": E(measure.percentile, values=A("seq", [1.0, 2.0, 3.0]), p=X(50.0, bad=(101.0,))),
    "memory.predicted_vs_measured": E(memory.predicted_vs_measured, model=A("model", MLP), inputs=A("x8", X8),
                                      predicted_activations=0, extremes=False),
    "models.matmul_params": E(models.matmul_params, model=A("model", MLP)),
    "train.storage_key": E(train.storage_key, t=A("tensor", L(lambda: torch.zeros(2)))),
    # ---------------------------------------------------------------- arch, lora (issue 11: real architectures)
    "arch.Architecture": E(arch.Architecture, family=A("choice", "llama"), vocab_size=A("work", 100), hidden_size=A("work", 64),
                           n_layers=A("work", 2), n_heads=A("posint", 4, bad=(3,)), n_kv_heads=A("posint", 2, bad=(3,)),
                           head_dim=A("work", 16), ffn_size=A("work", 128), ffn_kind=A("choice", "gated"),
                           tied_embeddings=A("bool", False), n_experts=A("work", 1), experts_per_token=A("posint", 1, bad=(2,)),
                           sliding_window=A("any", None, bad=(0, -1, 1.5, "1", True)),
                           sliding_layers=A("nonnegint", 0, bad=(3,)), dropout=A("frac0", 0.0), extremes=False),
    "arch.Architecture.from_hf_config": E(arch.Architecture.from_hf_config, config=A("record", LLAMA_CONFIG, bad=(
        "/no/such/config.json", {"model_type": "bert"}, {"model_type": "llama", "num_attention_heads": 0},
        {"model_type": "llama", "hidden_size": "64"}, {"model_type": "llama", "num_key_value_heads": 3},
        {"model_type": "gpt2", "n_head": 10**12})), name=A("str", "tiny"), extremes=False),
    "arch.Architecture.kv_cache_bytes": E(_method("kv_cache_bytes"), seq_len=4096, batch=1, bytes_per_value=2, mla="latent"),
    "arch.Architecture.linear_state_bytes": E(_method("linear_state_bytes"), batch=1, bytes_per_value=2),
    "arch.Architecture.forward_flops": E(_method("forward_flops"), batch=1, seq_len=2048),
    "arch.Architecture.activation_bytes": E(_method("activation_bytes"), batch=1, seq_len=2048, attention="sdpa",
                                            bytes_per_value=2, checkpointing=False, loss="cross_entropy"),
    "arch.Architecture.zero_memory": E(_method("zero_memory"), n_devices=8, stage=X(3, bad=(4,)), convention="zero",
                                       optimizer="adamw"),
    "arch.Architecture.training_memory": E(_method("training_memory"), batch=1, seq_len=2048, optimizer="adamw",
                                           precision="mixed", attention="sdpa", checkpointing=False,
                                           lora=X(None, bad=("lora",))),
    "arch.LoRA": E(arch.LoRA, rank=A("work", 8), targets=A("any", ("q", "v"), bad=(("z",), "q", None)),
                   base_bits=A("posint", 16, bad=(5,)), block=A("work", 64), extremes=False),
    "arch.label": E(arch.label, a=LLAMA),
    "activations.activation_bytes": E(activations.activation_bytes, a=LLAMA, batch=1, seq_len=2048, attention="sdpa",
                                      bytes_per_value=2, checkpointing=False, loss="cross_entropy"),
    "model_state.zero_memory": E(model_state.zero_memory, a=LLAMA, n_devices=8, stage=X(3, bad=(4,)), convention="zero",
                                 optimizer=A("choice", "adamw"), lora=A("any", None, bad=(5, "lora"))),
    "model_state.training_memory": E(model_state.training_memory, a=LLAMA, batch=1, seq_len=2048,
                                     optimizer=A("choice", "adamw"), precision=A("choice", "mixed"),
                                     attention=A("choice", "sdpa"), checkpointing=False,
                                     lora=A("any", None, bad=(5, "lora"))),
    "arch.from_model": E(arch.from_model, model=A("model", L(lambda: models.TinyGPT(vocab_size=64, d_model=16, n_heads=2,
                                                                              n_layers=1, max_seq_len=16, seed=0)),
                                              bad=(nn.Identity(),))),
    "arch.resolve": E(arch.resolve, model=A("choice", "llama-3-8b", bad=(3, None, [1])), extremes=False),
    "arch.measured_kv_cache": N("no arguments: reads the shipped measurements"),
    "arch.measured_families": N("no arguments: reads the shipped measurements"),
    "arch.preset": E(arch.preset, key="llama-3-8b"),
    "configs.ConfigError": R("raised by the config reader; built from one message"),
    "configs.read_config": E(configs.read_config, config=A("any", {"model_type": "llama"},
                                                          bad=(5, None, [1], "/nonexistent/config.json", b"[1]", b"\xff"))),
    "configs.parse_config": E(configs.parse_config, config=A("any", b'{"model_type": "llama"}',
                                                          bad=(5, None, b"{", b"NaN", b"[" * 100_000, b"\xff\xfe"))),
    "configs.field_int": N("one key read strictly; hostile values in tests/unit/test_configs.py"),
    "configs.field_bool": N("one key read strictly; hostile values in tests/unit/test_configs.py"),
    "configs.field_float": N("one key read strictly; hostile values in tests/unit/test_configs.py"),
    "configs.field_str": N("one key read strictly; hostile values in tests/unit/test_configs.py"),
    "configs.field_str_list": N("one key read strictly; hostile values in tests/unit/test_configs.py"),
    "configs.field_int_list": N("one key read strictly; hostile values in tests/unit/test_arch_llama4_mistral3.py "
                                "(Llama 4's layer lists)"),
    "arch.with_sizes": N("a copy with fields changed: every field is checked by Architecture (tests/contract/test_bad_input.py)",
                         call=lambda: arch.with_sizes(LLAMA.get(), n_layers=2)),
    "lora.LoRALinear": E(lora.LoRALinear, base=X(L(lambda: nn.Linear(8, 8)), bad=(nn.Identity(),)),
                         rank=A("work", 2), seed=0, extremes=False),
    "lora.add_lora": E(lora.add_lora, model=A("model", L(lambda: models.TinyGPT(vocab_size=64, d_model=16, n_heads=2,
                                                                                 n_layers=1, max_seq_len=16, seed=0))),
                       rank=2, targets=A("any", ("attn.qkv",), bad=((), ("nothing",), None)), seed=0,
                       extremes=False),
    "lora.tinygpt_architecture": E(lora.tinygpt_architecture, model=A("model", GPT, bad=(nn.Identity(),))),
    # ---------------------------------------------------------------- fit on an Architecture (issue 11)
    "fit.model_architecture": E(fit.model_architecture, model=A("choice", "llama-3-8b", bad=(5, None, "no-such-model")),
                                config_path=A("any", "", bad=(5, None, "/no/such/config.json"))),
    "fit.training_estimate": E(fit.training_estimate, a=A("record", LLAMA), optimizer=A("choice", "adamw"),
                               precision=A("choice", "mixed"), batch=A("posint", 1), seq_len=A("posint", 2048),
                               attention=A("choice", "sdpa"), checkpointing=A("bool", False), lora=A("choice", "none"),
                               lora_rank=A("posint", 16)),
    "fit.inference_estimate": E(fit.inference_estimate, a=A("record", LLAMA), precision=A("choice", "mixed"),
                                batch=A("posint", 1), seq_len=A("posint", 2048), lora=A("choice", "none")),
    "fit.largest_batch": E(fit.largest_batch, a=A("record", LLAMA), accelerator="H100 SXM", seq_len=2048,
                           limit=X(1024, bad=(HUGE,))),
    "fit.longest_context": E(fit.longest_context, a=A("record", LLAMA), accelerator="H100 SXM", batch=1,
                             limit=X(1 << 16, bad=(HUGE,))),
    # ---------------------------------------------------------------- fix (issue 15): energy, MFU, MoE, quantized bytes
    "energy.EnergyPerCall": R("returned by measure_energy"),
    "energy.measure_energy": E(energy.measure_energy, fn=A("callable", _noop), assumed_power_w=50.0,
                               repeats=2, warmup=X(0, bad=(HUGE,)), heavy=True),
    "energy.read_rapl_joules": E(energy.read_rapl_joules, root=A("any", "/sys/class/powercap", bad=(5, None))),
    "hardware.cpu_cache_sizes": E(hardware.cpu_cache_sizes, root=A("any", "/sys/devices/system/cpu/cpu0/cache", bad=(5, None))),
    "measure.matmul_peak": E(measure.matmul_peak, n=X(64, bad=(10**9,)), repeats=2,
                             heavy=True),  # n=None: the size is chosen
    "measure.mfu": E(measure.mfu, model_flops=1e9, seconds=0.1, peak_flops=1e11),
    "models.MoE": E(models.MoE, d_model=16, d_ff=32, n_experts=4,
                    top_k=A("posint", 2, bad=(5,)), seed=A("seed", 0), extremes=False),
    "precision.pack_int4": E(precision.pack_int4, codes=A("tensor", L(lambda: torch.tensor([-8, 7, 0, 1], dtype=torch.int8)),
                                                          bad=(torch.tensor([8, 0], dtype=torch.int8), torch.zeros(4)))),
    "precision.unpack_int4": E(precision.unpack_int4, packed=A("tensor", L(lambda: precision.pack_int4(
        torch.tensor([-8, 7, 0, 1], dtype=torch.int8))), bad=(torch.zeros(2),)), n=A("nonnegint", 4, bad=(5,))),
    "precision.quantized_state": E(precision.quantized_state, model=MLP, bits=X(4, bad=(1, 9)),
                                   per_channel=True, extremes=False),
    "precision.tensor_bytes": E(precision.tensor_bytes, tensors=A("any", L(lambda: {"w": torch.zeros(4)}), bad=(None, 5, "w", [5]))),
    "serving.replicas_for_p95": E(serving.replicas_for_p95, rate=100.0, p95_target=0.05,
                                  service_time=0.01, max_replicas=X(8, bad=(HUGE,)),
                                  n_requests=2000, extremes=False),
    "simulate.md1_mean_latency": E(simulate.md1_mean_latency, rate=X(50.0, bad=(100.0,)), service_time=0.01),
    "ui.calculators.config_upload": E(calculators.config_upload, upload=A("any", (), bad=(5, [5], [{}], [{"content": 5}]))),
    # ---------------------------------------------------------------- engine (lesson 08)
    "engine.results.EngineResult": R("returned by engine.run / engine.simulate"),
    "engine.requests.Request": R("built by engine.make_trace"),
    "engine.speculative.SpecStats": R("returned by engine.speculative_generate"),
    "engine.blocks.BlockManager": R("built by engine.run / engine.simulate from checked arguments"),
    "engine.runner.KVPool": R("built by engine.run from checked arguments"),
    "engine.scheduler.Sequence": R("built by engine.scheduler.serve"),
    "engine.scheduler.serve": N("the engine's scheduling loop: called by engine.run / engine.simulate with checked "
                                "arguments; covered by tests/unit/test_engine.py"),
    "engine.runner.forward_step": N("the engine's forward call: called by engine.run with checked arguments; "
                                    "covered by tests/unit/test_engine.py"),
    "engine.requests.check_trace": E(engine.check_trace, trace=A("seq", L(lambda: engine.make_trace(2, 10.0)), bad=BAD_TRACES),
                                     max_len=X(64, bad=(3,)), vocab_size=X(64, bad=(2,)), extremes=False),
    "engine.blocks.blocks_needed": E(engine.blocks_needed, n_tokens=10, kv_block=4),
    "engine.blocks.reserved_positions": E(engine.reserved_positions, n_tokens=10, max_len=64, kv_block=4),  # None: no paging
    "engine.speculative.expected_tokens_per_call": E(engine.expected_tokens_per_call, alpha=X(0.5, bad=(1.5,)),
                                                     k=4),
    "engine.results.fit_step_cost": E(engine.fit_step_cost, tokens=[1, 2, 4], seconds=[1.0, 2.0, 3.0]),
    "engine.requests.make_trace": E(engine.make_trace, n_requests=4, rate=A("any", 10.0, bad=(-1.0, 0.0, 1e-320, NAN, -INF, HUGE, True, "1", None)),  # rate=inf: all at 0 s
                                    shared_prefix=3, seed=0, extremes=False),
    "engine.blocks.kv_bytes_per_position": E(engine.kv_bytes_per_position, model=GPT),
    "engine.serve.schedule": E(engine.schedule, output_lens=A("seq", [3, 5, 2]), policy="continuous",
                               max_batch=2, extremes=False),
    "engine.serve.simulate": E(engine.simulate, trace=A("seq", L(lambda: engine.make_trace(4, 10.0)), bad=BAD_TRACES),
                               policy="continuous", max_batch=2, overhead=X(1e-3, bad=(3601.0,)),
                               per_token=X(1e-4, bad=(1e308,)),
                               kv_block=A("any", 4, bad=(0, -1, 1.5, 65, "1")), prefix_caching=True,
                               max_step_tokens=8, extremes=False),
    "engine.serve.compare_policies": E(engine.compare_policies, rate=A("any", 10.0, bad=(-1.0, 0.0, 1e-320, NAN, -INF, HUGE, True, "1", None)), max_batch=2,
                                       max_output=8, kv_block=X(4, bad=(65,)),  # 0: no paging
                                       overhead=X(1e-3, bad=(1e308,)), per_token=X(1e-4, bad=(1e308,)), n_requests=8,
                                       heavy=True),
    "engine.results.EngineResult.percentiles": E(_method("percentiles", engine.EngineResult, lambda: SIMULATED.get()),
                                                 q=A("seq", (50, 95), bad=([50] * 10**6, range(10**8), (101,), ("50",), (NAN,)))),
    "engine.results.step_table": E(engine.step_table, results=A("record", L(lambda: engine.compare_policies(
        10.0, 2, 8, 4, overhead=1e-3, per_token=1e-4, n_requests=8)))),
    "engine.serve.run": E(engine.run, model=GPT, trace=A("seq", L(lambda: engine.make_trace(2, 10.0)),
                                                         bad=BAD_TRACES + ([engine.Request(0.0, (64,), 2)],
                                                                           engine.make_trace(2000, 1.0))),
                          max_batch=2, kv_block=A("any", 4, bad=(0, -1, 1.5, "1")),
                          prefix_caching=True, max_step_tokens=8, heavy=True),
    "engine.replicas.run_replicas": E(engine.run_replicas, model=GPT, trace=A("seq", L(lambda: engine.make_trace(2, 10.0))),
                                      n_replicas=A("work", 1), heavy=True),
    "engine.speculative.speculative_generate": E(engine.speculative_generate, target=GPT, draft=GPT,
                                                 ids=A("ids", L(lambda: IDS.get()[:1])), max_new_tokens=A("posint", 2, bad=(HUGE,)),
                                                 k=A("posint", 2, bad=(HUGE,)), heavy=True),
    "engine.speculative.train_lm": E(engine.train_lm, model=GPT, steps=1, batch=2, seq_len=A("work", 8),
                                     lr=1e-3, seed=0, heavy=True),
    # ---------------------------------------------------------------- generation (lesson 07)
    "generation.DecodeStep": R("built by generation.time_decode_step"),
    "generation.GenerationEstimate": R("returned by generation.estimate"),
    "generation.experts_touched": E(generation.experts_touched, model=A("choice", "mixtral-8x7b", bad=(3, None, "no-such")),
                                    tokens=8),
    "generation.format_bytes": E(generation.format_bytes, fmt="int4"),
    "generation.weight_bytes": E(generation.weight_bytes, model=A("choice", "llama-3-8b", bad=(3, None, "no-such")),
                                 weight_format="int4"),
    "generation.compute_format": E(generation.compute_format, weight_format="int8",
                                   accelerator=A("choice", "H100 SXM"), compute="int8", extremes=False),
    "generation.published_bound": E(generation.published_bound, m=L(lambda: next(iter(published.SERVING.values())))),
    "validation.table": E(validation.table, kind=A("any", "serving", bad=("no-such", 5))),
    "published.TrainingRun": R("published data rows in published.TRAINING"),
    "published.ServingMeasurement": R("published data rows in published.SERVING"),
    "published.EnergyFigure": R("published data rows in published.ENERGY"),
    "generation.efficiency": N("no arguments: the median efficiency of course_lib.published.SERVING"),
    "generation.attention_flops": E(generation.attention_flops, model=A("record", SHAPE), q_len=16, kv_len=16, batch=1),
    "generation.forward_flops": E(generation.forward_flops, model=A("record", SHAPE), seq_len=16, batch=1),
    "generation.decode_flops": E(generation.decode_flops, model=A("record", SHAPE), past=16, batch=1),
    "generation.decode_bytes": E(generation.decode_bytes, model=A("record", SHAPE), past=16, batch=1, bytes_per_value=2),
    "generation.kv_bytes": E(generation.kv_bytes, model=A("record", SHAPE), seq_len=16, batch=1, bytes_per_value=2),
    "generation.decode_intensity": E(generation.decode_intensity, model=A("record", SHAPE), past=16, batch=1,
                                     bytes_per_value=2),
    "generation.prefill_intensity": E(generation.prefill_intensity, model=A("record", SHAPE), prompt_len=16, batch=1,
                                      bytes_per_value=2),
    "generation.decode_step_bound": E(generation.decode_step_bound, model=A("record", SHAPE), accelerator=A("record", L4),
                                      past=16, batch=1, bytes_per_value=2),
    "generation.prefill_time_bound": E(generation.prefill_time_bound, model=A("record", SHAPE), accelerator=A("record", L4),
                                       prompt_len=16, batch=1, bytes_per_value=2),
    "generation.decode_compute_bound_batch": E(generation.decode_compute_bound_batch, model=A("record", SHAPE),
                                               accelerator=A("record", L4), past=16, bytes_per_value=2),
    "generation.decode_lower_bound": E(generation.decode_lower_bound, param_bytes=1e9, kv_bytes_per_seq=1e6, batch=1,
                                       bandwidth=1e12),
    "generation.max_batch_that_fits": E(generation.max_batch_that_fits, memory_bytes=8e10, param_bytes=1.6e10,
                                        kv_bytes_per_seq=1e8),
    "generation.request_latency": E(generation.request_latency, ttft=0.1, tpot=0.01, n_output=10),
    "generation.estimate": E(generation.estimate, model=A("choice", "llama-3-8b", bad=(3, None, "no-such")),
                             accelerator=A("choice", "H100 SXM"), n_gpus=2, weight_format="fp8",
                             kv_format="int4", batch=1, prompt_len=1000, output_len=250, extremes=False),
    "generation.batch_sweep": E(generation.batch_sweep, model=A("choice", "llama-3-8b", bad=(3, None, "no-such")),
                                accelerator=A("choice", "H100 SXM"), weight_format="bf16",
                                prompt_len=1000, output_len=250, extremes=False),
    "generation.prefilled_cache": E(generation.prefilled_cache, model=A("model", GPT), batch=1, past=A("nonnegint", 4),
                                    seed=0, extremes=False),
    "generation.time_prefill": E(generation.time_prefill, model=A("model", GPT), prompt_len=A("work", 4), batch=1,
                                 heavy=True),
    "generation.time_decode_step": E(generation.time_decode_step, model=A("model", GPT), past=A("nonnegint", 4), batch=1,
                                     heavy=True),
    "generation.time_generate": E(generation.time_generate, model=A("model", GPT), prompt_len=A("work", 4),
                                  max_new_tokens=A("nonnegint", 2), batch=1, heavy=True),
    # ---------------------------------------------------------------- reasoning (lesson 09)
    "reasoning.LongGeneration": R("returned by reasoning.generate_long"),
    "reasoning.generate_long": E(reasoning.generate_long, model=A("model", GPT), prompt_len=A("work", 4),
                                 n_tokens=A("work", 4, bad=(1, 10**6)), machine=A("record", MACHINE), batch=A("work", 1),
                                 windows=A("work", 2), assumed_power_w=A("pos", 10.0), bytes_per_value=A("pos", 4.0),
                                 seed=A("seed", 0), heavy=True),
    "reasoning.batch_table": E(reasoning.batch_table, model=A("model", GPT), prompt_len=A("work", 4),
                               n_tokens=A("work", 4, bad=(1, 10**6)), batches=A("seq", [1, 2], bad=([0], [1.5])),
                               machine=A("record", MACHINE), assumed_power_w=A("pos", 10.0),
                               bytes_per_value=A("pos", 4.0), heavy=True),
    "ui.calculators.lifetime_calculator": N("calculator: its fields are tested by test_calculator_fields",
                                            call=lambda: calculators.lifetime_calculator(chart=False)),
    "ui.calculators.lifetime_texts": E(calculators.lifetime_texts, e=LIFETIME),
    "ui.calculators.render_lifetime": E(calculators.render_lifetime, e=A("record", LIFETIME)),
    "ui.calculators.lifetime_table": E(calculators.lifetime_table, e=LIFETIME),
    "ui.calculators.lifetime_chart": E(calculators.lifetime_chart, e=A("record", LIFETIME), extremes=False),
    "ui.charts.lifetime_split_chart": E(charts.lifetime_split_chart, table=A("table", L(lambda: calculators.lifetime_table(
        LIFETIME.get()))), title=A("str", "x"), extremes=False),
    # ---------------------------------------------------------------- ui additions (lessons 07 and 08)
    "ui.calculators.engine_explorer": E(calculators.engine_explorer, overhead=1e-3, per_token=1e-4,
                                        heavy=True),
    "ui.calculators.generation_calculator": N("calculator: its fields are tested by test_calculator_fields",
                                              call=lambda: calculators.generation_calculator(chart=False)),
    "ui.calculators.estimate_chart": E(calculators.estimate_chart, e=ESTIMATE, extremes=False),
    "ui.calculators.render_estimate": E(calculators.render_estimate, e=ESTIMATE),
    "ui.calculators.render_engine_explorer": E(calculators.render_engine_explorer, result=A("record", L(lambda: engine.compare_policies(
        10.0, 2, 8, 4, overhead=1e-3, per_token=1e-4, n_requests=8)))),
    "ui.charts.engine_batch_chart": E(charts.engine_batch_chart, table=A("table", DF), extremes=False),
    "ui.charts.generation_batch_chart": E(charts.generation_batch_chart, table=A("table", L(lambda: generation.batch_sweep(
        "llama-3-8b", prompt_len=1000, output_len=250)),), batch=1, extremes=False),
    "ui.charts.validation_chart": E(charts.validation_chart, table=A("table", L(lambda: validation.table("serving"))),
                                    title=A("str", "x"), extremes=False),
    "ui.charts.kv_memory_chart": E(charts.kv_memory_chart, table=A("table", DF), extremes=False),
    "ui.charts.speculative_chart": E(charts.speculative_chart, table=A("table", DF), extremes=False),
    "ui.charts.throughput_chart": E(charts.throughput_chart, table=A("table", DF), extremes=False),
    "ui.charts.tpot_chart": E(charts.tpot_chart, table=A("table", DF), extremes=False),
    "ui.charts.ttft_chart": E(charts.ttft_chart, table=A("table", DF), extremes=False),
}

# Model forwards and methods a learner calls directly (issue 26: they validated nothing).
ATT = L(lambda: models.CausalSelfAttention(d_model=16, n_heads=2))
BLOCK = L(lambda: models.Block(d_model=16, n_heads=2))
MOE = L(lambda: models.MoE(d_model=16, d_ff=32, n_experts=4, top_k=2))
LORA_LIN = L(lambda: lora.LoRALinear(nn.Linear(8, 8), rank=2))
CKPT = L(lambda: memory.Checkpointed(GPT.get()))
KV = torch.zeros(1, 2, 3, 8)
REGISTRY.update({
    "models.CausalSelfAttention.forward": E(_method("forward", models.CausalSelfAttention, ATT.get), x=A("x16", MOE_IN),
                                            extremes=False),
    "models.Block.forward": E(_method("forward", models.Block, BLOCK.get), x=A("x16", MOE_IN), extremes=False),
    "models.MoE.forward": E(_method("forward", models.MoE, MOE.get), x=A("x16", MOE_IN), extremes=False),
    "models.TinyGPT.forward": E(_method("forward", models.TinyGPT, GPT.get), idx=A("ids", IDS), extremes=False),
    "models.TinyGPT.generate": E(_method("generate", models.TinyGPT, GPT.get), ids=A("ids", IDS),
                                 max_new_tokens=A("nonnegint", 2, bad=(10**9,)),
                                 temperature=X(1.0, bad=(1e-320, 1e-6)), extremes=False),
    "models.KVCache.append": E(_method("append", models.KVCache, lambda: models.KVCache(n_layers=1, batch=1)),
                               layer=A("nonnegint", 0, bad=(1, 10**9)), k=A("kv", KV), val=A("kv", KV), extremes=False),
    "lora.LoRALinear.forward": E(_method("forward", lora.LoRALinear, LORA_LIN.get), x=A("h8", X8), extremes=False),
    "memory.Checkpointed.forward": E(_method("forward", memory.Checkpointed, CKPT.get), idx=A("ids", IDS), extremes=False),
})

# The calculators whose every field is moved to its extremes.
CALCULATORS = {
    "ui.calculators.cost_calculator": lambda: calculators.cost_calculator(chart=False),
    "ui.calculators.fit_calculator": lambda: calculators.fit_calculator(),
    "ui.calculators.batching_calculator": lambda: calculators.batching_calculator(0.001, 0.0001, n_requests=200,
                                                                                  max_replicas=4),
    "ui.calculators.zero_calculator": lambda: calculators.zero_calculator(chart=False),
    "ui.calculators.format_explorer": lambda: calculators.format_explorer(),
    "ui.calculators.generation_calculator": lambda: calculators.generation_calculator(chart=False),
    "ui.calculators.lifetime_calculator": lambda: calculators.lifetime_calculator(chart=False),
    "ui.calculators.engine_explorer": lambda: calculators.engine_explorer(1e-3, 1e-4),
}

TRIED = {"inputs": 0}


def public_names() -> set[str]:
    """``module.name`` for every public function and class defined in a course_lib module, plus ``course_lib.setup``."""
    names = {"course_lib.setup"}
    for info in pkgutil.walk_packages(course_lib.__path__, "course_lib."):
        if info.ispkg or "._" in info.name or info.name.startswith("course_lib.exercises"):
            continue
        mod = importlib.import_module(info.name)
        for name, obj in vars(mod).items():
            if name.startswith("_") or not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if getattr(obj, "__module__", None) == mod.__name__:
                names.add(f"{info.name[len('course_lib.'):]}.{name}")
    return names


def test_declared_domains_are_not_restated():
    """The registry derives an argument's kind from the signature; a hand-written kind is only for
    an argument without a declared domain, and a plain value only for one with."""
    restated = {k: e.restated for k, e in REGISTRY.items() if isinstance(e, E) and e.restated}
    undeclared = {k: e.undeclared for k, e in REGISTRY.items() if isinstance(e, E) and e.undeclared}
    assert not restated, f"A(kind, ...) restates a declared domain (give the value alone): {restated}"
    assert not undeclared, f"a plain value for an argument without a declared domain (declare it, or A(kind, ...)): {undeclared}"
    unknown = {k: sorted({a.kind for a in e.args.values()} - set(BAD)) for k, e in REGISTRY.items()
               if isinstance(e, E) and {a.kind for a in e.args.values()} - set(BAD)}
    assert not unknown, f"declared kinds without bad values in BAD: {unknown}"


def test_every_public_name_has_an_entry():
    names = public_names()
    missing = sorted(names - set(REGISTRY))
    # "module.Class.method" entries test a public class's methods; they are stale only if the class is gone
    stale = sorted(k for k in set(REGISTRY) - names if k.rsplit(".", 1)[0] not in names)
    assert not missing, f"public names without a REGISTRY entry in tests/contract/test_properties.py: {missing}"
    assert not stale, f"REGISTRY entries whose name is gone from course_lib: {stale}"


class _Timeout(Exception):
    pass


def _alarm(_signum, _frame):
    raise _Timeout(f"call took more than {CALL_LIMIT_S} s")


def _call(fn, kwargs):
    """``fn(**kwargs)`` under an alarm; returns (result, exception, seconds)."""
    TRIED["inputs"] += 1
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(CALL_LIMIT_S)
    start = time.monotonic()
    try:
        return fn(**kwargs), None, time.monotonic() - start
    except _Timeout as err:
        return None, err, time.monotonic() - start
    except Exception as err:  # noqa: BLE001 - classified by the caller
        return None, err, time.monotonic() - start
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _valid(entry: E) -> dict:
    return {name: arg.value() for name, arg in entry.args.items()}


TESTED = sorted(k for k, e in REGISTRY.items() if isinstance(e, E))


@pytest.mark.parametrize("key", TESTED)
def test_bad_values_are_refused_by_name(key):
    entry = REGISTRY[key]
    problems = []
    for name, arg in entry.args.items():
        for bad in BAD[arg.kind] + tuple(arg.bad):
            if bad is None and arg.none_ok:
                continue
            kwargs = _valid(entry)
            kwargs[name] = bad
            result, err, seconds = _call(entry.fn, kwargs)
            what = f"{key}({name}={v.show(bad)})"
            if isinstance(err, _Timeout):
                problems.append(f"{what}: {err}")
            elif err is None:
                problems.append(f"{what}: accepted, returned {v.show(result)}")
            elif not isinstance(err, (ValueError, TypeError)):
                problems.append(f"{what}: {type(err).__name__}: {v.show(str(err))}")
            elif name not in str(err):
                problems.append(f"{what}: the message does not name {name}: {v.show(str(err))}")
            elif seconds > CALL_LIMIT_S:
                problems.append(f"{what}: refused only after {seconds:.1f} s")
    assert not problems, "\n".join(problems)


# Hostile values (issue 26) by kind: each must be accepted with a finite result, or refused with a
# ValueError/TypeError naming the argument, within CALL_LIMIT_S (numpy scalars and 0-d tensors,
# huge sequences, a string where a bool is expected).
import numpy as np  # noqa: E402

HOSTILE = {
    "pos": (np.float64(2.5), torch.tensor(2.5, dtype=torch.float64)),
    "nonneg": (np.float64(2.5), torch.tensor(2.5)),
    "real": (np.float32(2.5), torch.tensor(2.5, dtype=torch.float64)),
    "frac": (np.float64(0.5), torch.tensor(0.5)),
    "frac0": (np.float32(0.5), torch.tensor(0.0, dtype=torch.float64)),
    "posint": (np.int64(3), torch.tensor(3), np.float64(3.0)),
    "nonnegint": (np.int32(2), torch.tensor(2)),
    "work": (np.int64(2), torch.tensor(2), torch.tensor(2.0)),
    "seed": (np.int64(1), torch.tensor(1)),
    "bool": ("true", "false", "False", np.bool_(True), torch.tensor(True)),
    "seq": ([1.0] * (v.MAX_REQUESTS + 1), range(10**8), np.zeros(10**6), np.zeros((2, 2))),
    "choice": ("L4 ",),
    # a tensor argument: float64, meta (no data), 0-d; each accepted or refused by name
    "tensor": (torch.zeros(4, 8, dtype=torch.float64), torch.zeros(4, 8, device="meta"), torch.tensor(0.5)),
    "x8": (torch.tensor(0.5),),
    "ids": (torch.tensor(3),),
}


@pytest.mark.parametrize("key", TESTED)
def test_hostile_values_are_accepted_or_refused_by_name(key):
    entry = REGISTRY[key]
    if entry.heavy:
        pytest.skip("starts processes or measures: only bad values are tried")
    problems = []
    for name, arg in entry.args.items():
        for bad in HOSTILE.get(arg.kind, ()):
            kwargs = _valid(entry)
            kwargs[name] = bad
            result, err, seconds = _call(entry.fn, kwargs)
            what = f"{key}({name}={v.show(bad)})"
            if isinstance(err, _Timeout):
                problems.append(f"{what}: {err}")
            elif err is None:
                if entry.finite and v._first_non_finite(result) is not None:
                    problems.append(f"{what}: returned a non-finite result {v.show(result)}")
            elif not isinstance(err, (ValueError, TypeError)):
                problems.append(f"{what}: {type(err).__name__}: {v.show(str(err))}")
            elif name not in str(err):
                problems.append(f"{what}: the message does not name {name}: {v.show(str(err))}")
    assert not problems, "\n".join(problems)


EXTREMES = sorted(k for k in TESTED if REGISTRY[k].extremes and not REGISTRY[k].heavy
                  and any(a.kind in EXTREME for a in REGISTRY[k].args.values()))


@pytest.mark.parametrize("key", EXTREMES)
def test_valid_extremes_give_finite_results_or_a_named_error(key):
    entry = REGISTRY[key]
    strategies = {name: EXTREME[arg.kind] if arg.kind in EXTREME else st.just(None) for name, arg in entry.args.items()}
    problems = []

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.fixed_dictionaries(strategies))
    def run(drawn):
        kwargs = _valid(entry)
        kwargs.update({k: val for k, val in drawn.items() if entry.args[k].kind in EXTREME})
        result, err, seconds = _call(entry.fn, kwargs)
        what = f"{key}({', '.join(f'{k}={v.show(val)}' for k, val in kwargs.items() if entry.args[k].kind in EXTREME)})"
        if isinstance(err, _Timeout):
            problems.append(f"{what}: {err}")
        elif err is not None:
            if not isinstance(err, (ValueError, TypeError)):
                problems.append(f"{what}: {type(err).__name__}: {v.show(str(err))}")
            elif not any(name in str(err) for name in entry.args):
                problems.append(f"{what}: the message names none of the arguments: {v.show(str(err))}")
        elif entry.finite and v._first_non_finite(result) is not None:
            problems.append(f"{what}: returned a non-finite result {v.show(result)}")

    run()
    assert not problems, "\n".join(sorted(set(problems))[:20])


@pytest.mark.parametrize("key", sorted(CALCULATORS))
def test_calculator_fields(key):
    """Every field at its bounds (and a few values past them): the widget shows a result or a
    message, never an exception's name, ``inf`` or ``nan``."""
    calc = CALCULATORS[key]()
    problems = []
    for name, control in calc.controls.items():
        original = control.value
        values = []
        if hasattr(control, "options"):  # the first two and the last option (keeps the module under 90 s)
            options = [o[1] if isinstance(o, tuple) else o for o in control.options]
            values = options[:2] + options[2:][-1:]
        else:
            for attr in ("min", "max"):
                if hasattr(control, attr):
                    values.append(getattr(control, attr))
            if isinstance(original, bool):
                values = [True, False]
            elif isinstance(original, (int, float)) and not hasattr(control, "max"):
                values += [0, -1, 1e300] if isinstance(original, float) else [0, -1, 10**9]
        for value in values:
            TRIED["inputs"] += 1
            try:
                control.value = value
            except Exception as err:  # noqa: BLE001 - a trait refusing a value is fine (the learner cannot type it)
                if type(err).__name__ != "TraitError":
                    problems.append(f"{name}={value!r}: setting it raised {type(err).__name__}: {err}")
                continue
            shown = " ".join(widgets.calc_outputs(calc.result_html.value).values())
            if calc.last_error is None and widgets._NOT_A_NUMBER.search(shown):
                problems.append(f"{name}={value!r}: shows {shown!r}")
            if calc.last_error and calc.last_error.split(":", 1)[0].endswith(("Error", "Exception")) \
                    and not calc.last_error.startswith(("ValueError", "TypeError")):
                problems.append(f"{name}={value!r}: shows an internal error: {calc.last_error}")
        control.value = original
    assert not problems, "\n".join(problems)


def test_report_counts(capsys):
    """Not a check: prints the counts for the issue's closing note (run last, in file order)."""
    records = sum(isinstance(e, R) for e in REGISTRY.values())
    plain = sum(isinstance(e, N) for e in REGISTRY.values())
    with capsys.disabled():
        print(f"\nproperty tests: {len(REGISTRY)} public names ({len(TESTED)} called with generated inputs, "
              f"{records} records, {plain} without arguments to vary), {len(CALCULATORS)} calculators, "
              f"{TRIED['inputs']} inputs tried")
