"""Real measurements on this machine: FLOPs counted and time measured.

- :func:`count_flops` and :func:`flops_by_module` (lesson 01) run the model
  under ``torch.utils.flop_counter.FlopCounterMode``, which counts the
  matmul-type operations (mm, addmm, bmm, convolution, attention) that
  dominate a network's arithmetic; element-wise work (ReLU, softmax, the
  optimizer's update) is not counted.
- :func:`time_it` (lessons 01, 03, 04) times a function honestly: warm-up
  runs first, then repeats; it reports the median and the spread, with the
  thread count that was in use.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from . import _validate as v


def _run(model: nn.Module, inputs, backward: bool) -> None:
    out = model(inputs)
    if backward:
        out.sum().backward()


def _check_model(model) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")


def _counted(model: nn.Module, inputs, backward: bool) -> FlopCounterMode:
    _check_model(model)
    if not isinstance(backward, bool):
        raise TypeError(f"backward must be True or False, got {backward!r}")
    saved = [(p, p.grad) for p in model.parameters()]
    counter = FlopCounterMode(display=False)
    try:
        with counter:
            _run(model, inputs, backward)
    finally:  # leave the model's gradients as they were
        for p, g in saved:
            p.grad = g
    return counter


def count_flops(model: nn.Module, inputs, *, backward: bool = False) -> int:
    """FLOPs of one forward pass of ``model(inputs)``, or of the forward plus
    the backward of ``model(inputs).sum()`` when ``backward=True``, as counted
    by ``FlopCounterMode``. The model's ``.grad`` fields are left unchanged.
    Lesson 01.
    """
    return int(_counted(model, inputs, backward).get_total_flops())


def flops_by_module(model: nn.Module, inputs, *, backward: bool = False) -> dict[str, int]:
    """FLOPs per leaf module (e.g. ``"net.0"`` for the first Linear of an MLP),
    in the order the modules are registered. Modules that do no counted
    arithmetic are left out; attention's own matmuls are attributed to the
    attention module. The values add up to :func:`count_flops`. Lesson 01.
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


@dataclass(frozen=True)
class Timing:
    """Wall-clock samples of a function, in seconds, after warm-up."""

    samples: tuple[float, ...]
    n_threads: int
    device: str

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def quantile(self, q: float) -> float:
        """The ``q``-quantile of the samples (linear interpolation), 0 <= q <= 1."""
        q = v.number("q", q, minimum=0.0, maximum=1.0)
        xs = sorted(self.samples)
        pos = q * (len(xs) - 1)
        lo = int(pos)
        hi = min(lo + 1, len(xs) - 1)
        return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)

    @property
    def fastest(self) -> float:
        """The quickest run: the least disturbed by other work on the machine."""
        return min(self.samples)

    @property
    def p10(self) -> float:
        return self.quantile(0.10)

    @property
    def p90(self) -> float:
        return self.quantile(0.90)

    @property
    def iqr(self) -> float:
        return self.quantile(0.75) - self.quantile(0.25)

    def __str__(self) -> str:
        ms = 1e3
        return (
            f"median {self.median * ms:.3g} ms (p10 {self.p10 * ms:.3g} – p90 {self.p90 * ms:.3g} ms, "
            f"{len(self.samples)} runs, {self.n_threads} threads, {self.device})"
        )


def time_it(fn: Callable[[], object], *, warmup: int = 3, repeats: int = 20) -> Timing:
    """Call ``fn()`` ``warmup`` times untimed, then ``repeats`` times timed.

    Runs in this process with torch's current thread count (unlike
    ``torch.utils.benchmark.Timer``, which uses one thread unless told), and
    waits for queued GPU work before reading the clock when CUDA is present.
    Lessons 01, 03, 04.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    warmup = v.integer("warmup", warmup, minimum=0)
    repeats = v.integer("repeats", repeats, minimum=1)
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
    return Timing(tuple(samples), torch.get_num_threads(), dev)
