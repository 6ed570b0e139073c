"""Real measurements on this machine: FLOPs counted and time measured.

- :func:`count_flops` and :func:`flops_by_module` (lesson 01) run the model
  under ``torch.utils.flop_counter.FlopCounterMode``, which counts the
  matmul-type operations (mm, addmm, bmm, convolution, attention) that
  dominate a network's arithmetic; element-wise work (ReLU, softmax, the
  optimizer's update) is not counted.
- :func:`time_it` (lessons 01, 03, 04) times a function honestly: warm-up
  runs first, then repeats; it reports the median and the spread, with the
  thread count that was in use.
- :func:`matmul_peak` and :func:`mfu` (lesson 01): this machine's measured
  matmul peak, and the model FLOPs utilization of a step against it, beside
  the published figures in :data:`course_lib.references.MFU_REFERENCES`.
- memory is measured by :mod:`course_lib.memory` (``training_memory``,
  ``inference_memory``), beside the saved-tensor tracker it uses.
"""

from __future__ import annotations

import math
import statistics
import time
import warnings
import weakref
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from . import _validate as v
from . import env


# PyTorch's CPU flash-attention kernel (what scaled_dot_product_attention
# dispatches to on the CPU, and transformers' default attention) has no FLOP
# formula in FlopCounterMode; it does the same matmuls as the CUDA kernels, so
# it gets the same formulas (full s × s scores; GQA counted with the query heads).
_aten = torch.ops.aten
_EXTRA_FORMULAS = {}
if hasattr(_aten, "_scaled_dot_product_flash_attention_for_cpu"):
    from torch.utils.flop_counter import flop_registry

    def _like(op):
        formula = flop_registry[op]  # already wrapped to take tensors

        def raw(*args, **kwargs):
            return formula(*args, **kwargs)

        raw._get_raw = True
        return raw

    _EXTRA_FORMULAS[_aten._scaled_dot_product_flash_attention_for_cpu] = _like(_aten._scaled_dot_product_flash_attention)
    _EXTRA_FORMULAS[_aten._scaled_dot_product_flash_attention_for_cpu_backward] = _like(
        _aten._scaled_dot_product_flash_attention_backward)

# Operators that do matmul-like work: a model that runs one FlopCounterMode
# cannot count gets a warning naming it, instead of a silent 0.
_MATMUL_WORDS = ("mm", "mv", "bmm", "addmm", "addmv", "baddbmm", "addbmm", "matmul", "linear", "einsum", "dot", "vdot",
                 "gemm", "tensordot", "inner", "outer", "kron", "conv", "convolution", "attention", "attn")


def _matmul_like(op) -> bool:
    """Whether an aten operator's name (``mv``, ``_scaled_dot_product_..._attention``) says it multiplies matrices."""
    parts = getattr(op, "_opname", str(op)).lower().replace(".", "_").split("_")
    return any(w in parts or (w == "conv" and any(p.startswith("conv") for p in parts)) for w in _MATMUL_WORDS)


class _SeenOps(TorchDispatchMode):
    """Remembers every aten operator that ran (to find uncounted matmuls)."""

    def __init__(self):
        super().__init__()
        self.ops = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.add(func)
        return func(*args, **(kwargs or {}))


def _scalar_loss(out, loss_fn):
    if loss_fn is not None:
        loss = loss_fn(out)
    elif isinstance(out, torch.Tensor):
        loss = out.sum()
    elif isinstance(getattr(out, "logits", None), torch.Tensor):
        loss = out.logits.sum()  # transformers' ModelOutput
    else:
        raise TypeError(
            f"backward=True needs the model to return a tensor or an object with .logits, or a loss_fn; "
            f"got {type(out).__name__}"
        )
    return loss


def _run(model: nn.Module, inputs, backward: bool, loss_fn=None) -> None:
    v.model_input("inputs", model, inputs)
    try:
        out = model(inputs)
    except RuntimeError as err:  # torch's shape/dtype errors: say which argument does not fit
        raise ValueError(f"inputs of shape {tuple(inputs.shape)} and dtype {inputs.dtype} do not fit "
                         f"the model {type(model).__name__}: {str(err).splitlines()[0]}") from err
    if backward:
        _scalar_loss(out, loss_fn).backward()


def _check_model(model) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")


def _counted(model: nn.Module, inputs, backward: bool, loss_fn=None) -> FlopCounterMode:
    _check_model(model)
    if not isinstance(backward, bool):
        raise TypeError(f"backward must be True or False, got {backward!r}")
    if loss_fn is not None and not callable(loss_fn):
        raise TypeError(f"loss_fn must be None or a callable output -> scalar tensor, got {type(loss_fn).__name__}")
    v.model_input("inputs", model, inputs)  # before counting: the check's own ops are not the model's
    saved = [(p, p.grad) for p in model.parameters()]
    counter = FlopCounterMode(display=False, custom_mapping=dict(_EXTRA_FORMULAS))
    seen = _SeenOps()
    try:
        with counter, seen:
            _run(model, inputs, backward, loss_fn)
    finally:  # leave the model's gradients as they were
        for p, g in saved:
            p.grad = g
    missing = sorted(str(op) for op in seen.ops if op.overloadpacket not in counter.flop_registry and _matmul_like(op))
    if missing:
        warnings.warn(f"count_flops: matmul-like operators ran that FlopCounterMode cannot count (counted as 0): "
                      f"{', '.join(missing)}", RuntimeWarning, stacklevel=3)
    return counter


def count_flops(model: nn.Module, inputs, *, backward: bool = False, loss_fn=None) -> int:
    """FLOPs of one forward pass of ``model(inputs)``, or of the forward plus
    the backward of a scalar loss when ``backward=True``, as counted by
    ``FlopCounterMode``. The loss is ``loss_fn(output)`` if given, else
    ``output.sum()`` for a tensor, or ``output.logits.sum()`` for a
    transformers ``ModelOutput``; any other output needs a ``loss_fn``
    (``TypeError``). Attention through ``scaled_dot_product_attention`` is
    counted on CUDA and on the CPU (its CPU flash kernel gets the CUDA
    kernels' formulas); a matmul-like operator that cannot be counted raises
    a ``RuntimeWarning`` naming it. The model's ``.grad`` fields are left
    unchanged.
    Lesson 00; lesson 01, sections 2, 3 and 4; lesson 02, sections 6 and 9; lab 01, exercise 3.
    """
    return int(_counted(model, inputs, backward, loss_fn).get_total_flops())


def flops_by_module(model: nn.Module, inputs, *, backward: bool = False) -> dict[str, int]:
    """FLOPs per leaf module (e.g. ``"net.0"`` for the first Linear of an MLP),
    in the order the modules are registered. Modules that do no counted
    arithmetic are left out; attention's own matmuls are attributed to the
    attention module. The values add up to :func:`count_flops`. Lesson 01, section 3.
    """
    counts = _counted(model, inputs, backward).get_flop_counts()
    root = type(model).__name__
    result: dict[str, int] = {}
    names = [name for name, _ in model.named_modules() if name]
    for name in names:
        key = f"{root}.{name}"
        own = sum(counts.get(key, {}).values())
        inner = sum(
            sum(counts.get(f"{root}.{child}", {}).values())
            for child in names
            if child.startswith(name + ".") and child.count(".") == name.count(".") + 1
        )
        if own - inner > 0:
            result[name] = int(own - inner)
    return result


@v.checked
def percentile(values, p: v.Range(0.0, 100.0, allow_zero=True)) -> float:
    """The ``p``-th percentile of ``values``, ``p`` from 0 to 100 (p50 is the
    median, p95 the value 95 % of them stay under), interpolating linearly
    between the two nearest ranks (numpy's default). The course's one
    percentile convention. Used by :meth:`Timing.percentile`,
    :func:`course_lib.simulate.simulate_batching` and :mod:`course_lib.serving`; not tied to one lesson."""
    if not hasattr(values, "__len__") or isinstance(values, (str, bytes, dict)):
        raise TypeError(f"values must be a list, tuple or 1-D array of numbers, got {v.show(values)}")
    if len(values) > v.MAX_REQUESTS:
        raise ValueError(f"values must have at most {v.MAX_REQUESTS:_} items, got {len(values):_}")
    xs = np.asarray(v.numbers_list("values", values) if isinstance(values, (list, tuple, range)) else values, dtype=float)
    if xs.ndim != 1 or xs.size == 0:
        raise ValueError(f"values must be a non-empty 1-D sequence of numbers, got shape {xs.shape}")
    return float(np.percentile(xs, p))


@dataclass(frozen=True)
class Timing:
    """Wall-clock samples of a function, in seconds, after warm-up."""

    samples: tuple[float, ...]
    n_threads: int
    device: str

    def __post_init__(self):  # a learner can build one by hand: the same checks as time_it's results
        samples = v.numbers_list("samples", self.samples, minimum=0.0, max_len=v.MAX_REPEATS)
        object.__setattr__(self, "samples", tuple(samples))
        object.__setattr__(self, "n_threads", v.positive_int("n_threads", self.n_threads))
        object.__setattr__(self, "device", v.string("device", self.device))

    @property
    def median(self) -> float:
        """The median sample, seconds. Lesson 01, section 5; lessons 02–05 wherever a time is shown."""
        return statistics.median(self.samples)

    def percentile(self, p: float) -> float:
        """The ``p``-th percentile (0–100) of the samples: :func:`percentile`.
        Used by :attr:`p10`, :attr:`p90` and :attr:`iqr`; not tied to one lesson."""
        return percentile(self.samples, p)

    @property
    def fastest(self) -> float:
        """The quickest run: the least disturbed by other work on the machine.
        Lesson 03, section 2; lesson 07."""
        return min(self.samples)

    @property
    def p10(self) -> float:
        """The 10th percentile, seconds. Lesson 01, section 5."""
        return self.percentile(10)

    @property
    def p90(self) -> float:
        """The 90th percentile, seconds. Lesson 01, section 5."""
        return self.percentile(90)

    @property
    def iqr(self) -> float:
        """The interquartile range (p75 − p25), seconds. Not tied to one lesson."""
        return self.percentile(75) - self.percentile(25)

    def __str__(self) -> str:
        ms = 1e3
        return (
            f"median {self.median * ms:.3g} ms (p10 {self.p10 * ms:.3g} – p90 {self.p90 * ms:.3g} ms, "
            f"{len(self.samples)} runs, {self.n_threads} threads, {self.device})"
        )


@v.checked
def time_it(fn: Callable[[], object], *, warmup: v.IntRange(0, v.MAX_REPEATS) = 3, repeats: v.IntRange(1, v.MAX_REPEATS) = 20) -> Timing:
    """Call ``fn()`` ``warmup`` times untimed, then ``repeats`` times timed.

    Runs in this process with torch's current thread count (unlike
    ``torch.utils.benchmark.Timer``, which uses one thread unless told), and
    waits for queued GPU work before reading the clock when CUDA is present.
    Lesson 01, section 5; lesson 02, section 6; lesson 03, section 2; lesson 05, section 3; lab 01, exercise 4.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    for _ in range(warmup):
        fn()
    sync()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        samples.append(time.perf_counter() - start)
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    result = Timing(tuple(samples), torch.get_num_threads(), dev)
    _MEASURED[id(result)] = result  # lab 01's check accepts only what time_it measured
    return result


#: The Timing records :func:`time_it` returned and that are still alive, by identity.
_MEASURED: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def _measured_by_time_it(record) -> bool:
    """Whether ``record`` is a :class:`Timing` that :func:`time_it` returned (not one built by hand)."""
    return _MEASURED.get(id(record)) is record


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3g} ms"


@v.checked
def compare(slower: v.Instance(Timing, "a Timing (the result of measure.time_it)"),
            faster: v.Instance(Timing, "a Timing (the result of measure.time_it)"), slower_name: v.Str, faster_name: v.Str) -> str:
    """One sentence on how two timings came out, printed where a lesson expects
    ``slower`` to take longer than ``faster`` (a training step against an
    inference call, a long prompt against a short one).

    It compares the fastest run of each, the least disturbed by other work,
    and says when the result is the opposite of what is expected (most
    often another program was using the cores), instead of asserting: the
    course shows timings and never checks them, because no margin makes a
    comparison of two wall-clock measurements hold on a busy machine.
    Lessons 01, 03, 04, 07.
    """
    ratio = slower.fastest / faster.fastest if faster.fastest > 0 else math.inf
    text = (f"{slower_name} took {ratio:.3g}× as long as {faster_name} "
            f"(fastest runs: {_ms(slower.fastest)} and {_ms(faster.fastest)})")
    if ratio > 1:
        return text + ", as expected."
    return (text + ": the opposite of what is expected. Another program was probably using the "
            "cores while one of them ran; run the cell again.")


# ---------------------------------------------------------------- utilization (MFU)


MAX_MATMUL_N = 8192
"""Largest ``n`` of :func:`matmul_peak` (two 256 MiB fp32 matrices; a bigger one measures nothing new)."""


@v.checked
def matmul_peak(*, n: v.Size(MAX_MATMUL_N) | None = None, device=None, repeats: v.PositiveInt = 10) -> float:
    """This machine's fp32 "peak" in FLOP/s: 2·n³ / the fastest of
    ``repeats`` (n × n)·(n × n) matmuls after warm-up, the best case for any
    processor (n = 512 on a CPU, 2048 on a GPU, unless given; at most
    :data:`MAX_MATMUL_N`). On a CPU it is
    the better of this process's thread count and one thread: on a busy
    machine a multi-threaded matmul can stall waiting for a descheduled
    thread. A measurement, not a datasheet figure. Lesson 01, section 5; lesson 05, section 3.
    """
    dev = env.device() if device is None else torch.device(device)
    n = n if n is not None else (2048 if dev.type == "cuda" else 512)
    gen = torch.Generator(device=dev).manual_seed(0)
    a = torch.randn(n, n, generator=gen, device=dev)
    b = torch.randn(n, n, generator=gen, device=dev)
    best = time_it(lambda: a @ b, warmup=2, repeats=repeats).fastest
    if dev.type == "cpu" and torch.get_num_threads() > 1:
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            best = min(best, time_it(lambda: a @ b, warmup=1, repeats=repeats).fastest)
        finally:
            torch.set_num_threads(before)
    return 2 * n**3 / best


@v.checked
def mfu(model_flops: v.Positive, seconds: v.Positive, peak_flops: v.Positive) -> float:
    """Model FLOPs utilization: the FLOPs the model needs (e.g. counted by
    :func:`count_flops` with ``backward=True`` for a training step), divided
    by the time it took, divided by the peak FLOP/s. PaLM (Chowdhery et al.
    2022) defined it this way, with the datasheet peak; lesson 01 uses this
    machine's measured :func:`matmul_peak`. Lesson 01, section 5.
    """
    flops = model_flops
    return flops / seconds / peak_flops
