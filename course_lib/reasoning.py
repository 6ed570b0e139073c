"""Long generations measured on this machine: what grows with the context (lesson 09, section 1).

A reasoning model writes thousands of tokens before it answers. Every one of
them is a decode step (lesson 07), and each step attends over everything
generated so far: the attention's FLOPs and the KV cache it reads grow with
the context, so late tokens cost more than early ones, and the cache that
grows with them limits how many sequences fit in a batch.

:func:`generate_long` runs such a generation on a
:class:`course_lib.models.TinyGPT` (a prefill, then one timed decode step per
token), and reports, window by window as the context grows: the measured time
per output token beside lesson 07's roofline bound for that step on this
machine (:func:`course_lib.generation.decode_step_bound`), the KV cache's
bytes as held by the model beside the formula
(:func:`course_lib.generation.kv_bytes`), tokens per second, and the energy of
the whole answer: read from the CPU's RAPL counters where
:func:`course_lib.energy.read_rapl_joules` can read them, otherwise measured
time × a power you state, labelled an estimate. :func:`batch_table` repeats
it at several batch sizes.

Pure measurement and arithmetic: no charts or widgets here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from torch import nn

from . import _validate as v
from . import energy, generation, hardware

#: Most tokens one call generates (TinyGPT's position table must hold them all).
MAX_TOKENS = 16_384
#: Most windows a generation's steps are grouped into.
MAX_WINDOWS = 64


@dataclass(frozen=True)
class LongGeneration:
    """One long generation, from :func:`generate_long`.

    ``table``: one row per window of decode steps, with columns ``context``
    (cached positions at the window's middle step), ``measured ms`` (median
    step), ``fastest ms``, ``predicted ms`` (the roofline bound at that
    context), ``tokens/s`` (batch ÷ median step), ``KV bytes`` (the cache's
    bytes at the window's last step, as the model holds them) and ``KV bytes
    predicted`` (the formula). ``seconds``: the whole generation (prefill and
    every step); ``predicted_seconds``: the sum of the bounds. ``joules``:
    the energy of the whole generation, ``energy_method`` ``"rapl"`` or
    ``"estimate"`` (seconds × ``power_w``). Used by :func:`course_lib.reasoning.generate_long`; not tied to one
    lesson."""

    table: pd.DataFrame
    prompt_len: int
    n_tokens: int
    batch: int
    seconds: float
    predicted_seconds: float
    joules: float
    energy_method: str
    power_w: float

    @property
    def tokens_per_s(self) -> float:
        """Output tokens per second over the whole generation, all sequences together. Used by
        :func:`course_lib.reasoning.batch_table`; not tied to one lesson."""
        return self.batch * self.n_tokens / self.seconds

    @property
    def wh_per_answer(self) -> float:
        """Energy of one sequence's answer, Wh (the generation's energy ÷ batch). Lesson 09, section 1."""
        return self.joules / 3600.0 / self.batch

    @property
    def growth(self) -> float:
        """Last window's median step ÷ first window's: how much dearer a late token was. Lesson 09, section 1."""
        ms = self.table["measured ms"]
        return float(ms.iloc[-1] / ms.iloc[0])

    @property
    def predicted_growth(self) -> float:
        """The same ratio for the roofline bounds. Lesson 09, section 1."""
        ms = self.table["predicted ms"]
        return float(ms.iloc[-1] / ms.iloc[0])

    def energy_text(self) -> str:
        """One sentence on the energy per answer and how it was obtained. Lesson 09, section 1."""
        how = ("measured with RAPL (the whole CPU package, anything else running included)"
               if self.energy_method == "rapl" else
               f"ESTIMATE: measured time × an assumed {self.power_w:g} W (RAPL counters not readable here)")
        return (f"{self.joules:.3g} J for {self.batch} × {self.n_tokens:,} tokens: "
                f"{self.wh_per_answer:.3g} Wh per answer; {how}")


def _check_gpt(model) -> None:
    if not (isinstance(model, nn.Module) and hasattr(model, "new_cache") and hasattr(model, "max_seq_len")):
        raise TypeError(f"model must be a course_lib.models.TinyGPT, got {type(model).__name__}")


def _machine(machine):
    if not isinstance(machine, (hardware.MeasuredMachine, hardware.Accelerator)):
        raise TypeError("machine must be a course_lib.hardware.MeasuredMachine (hardware.measure_machine()) "
                        f"or an Accelerator, got {type(machine).__name__}")
    return machine


def generate_long(model: nn.Module, *, prompt_len: int, n_tokens: int, machine, batch: int = 1,
                  windows: int = 8, assumed_power_w: float, bytes_per_value: float = 4, seed: int = 0) -> LongGeneration:
    """Generate ``n_tokens`` greedy tokens for ``batch`` random prompts of
    ``prompt_len`` tokens with ``model``'s KV cache, timing every decode
    step, and compare with the predictions of :mod:`course_lib.generation`.

    The steps are grouped into ``windows`` windows of equal length; for
    each, the median step time beside
    :func:`course_lib.generation.decode_step_bound` on ``machine`` (a
    :class:`course_lib.hardware.MeasuredMachine`, in fp32, or an
    Accelerator) at the window's middle context, and the cache's bytes
    beside :func:`course_lib.generation.kv_bytes` (``bytes_per_value``: 4
    for fp32). The cache must match the formula to the byte (else
    ``RuntimeError``). Energy from RAPL when readable, else time ×
    ``assumed_power_w``. A short warm-up generation runs first. Lesson 09, section 1.
    """
    _check_gpt(model)
    machine = _machine(machine)
    batch = v.positive_int("batch", batch, maximum=generation.MAX_MEASURED_BATCH)
    prompt_len = v.positive_int("prompt_len", prompt_len, maximum=model.max_seq_len - 2)
    n_tokens = v.integer("n_tokens", n_tokens, minimum=2, maximum=min(MAX_TOKENS, model.max_seq_len - prompt_len))
    windows = v.integer("windows", windows, minimum=1, maximum=min(MAX_WINDOWS, n_tokens - 1))
    power = v.positive("assumed_power_w", assumed_power_w, maximum=100_000)
    p = v.positive("bytes_per_value", bytes_per_value)
    dtype = v.weight_dtype(model)
    if dtype is not None and p != dtype.itemsize:  # the cache holds values of the model's dtype
        raise ValueError(f"bytes_per_value={p:g} does not describe this model's KV cache: it holds {dtype} "
                         f"values, {dtype.itemsize} bytes each; pass bytes_per_value={dtype.itemsize}")
    seed = v.seed("seed", seed)
    dev = next(model.parameters()).device
    ids = torch.randint(0, model.vocab_size, (batch, prompt_len), generator=torch.Generator().manual_seed(seed)).to(dev)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)

    with torch.inference_mode():
        warm = model.new_cache(batch)  # warm-up: a prefill and a few steps, untimed
        nxt = model(ids, cache=warm)[:, -1:].argmax(-1)
        for _ in range(min(8, n_tokens - 1)):
            nxt = model(nxt, cache=warm)[:, -1:].argmax(-1)
        del warm

        steps, kv_held = [], []
        joules_before = energy.read_rapl_joules()
        sync()
        start = time.perf_counter()
        cache = model.new_cache(batch)
        nxt = model(ids, cache=cache)[:, -1:].argmax(-1)  # the prefill yields the first token
        for _ in range(n_tokens - 1):
            t0 = time.perf_counter()
            nxt = model(nxt, cache=cache)[:, -1:].argmax(-1)
            sync()
            steps.append(time.perf_counter() - t0)
            kv_held.append(cache.nbytes)
        seconds = time.perf_counter() - start
        joules_after = energy.read_rapl_joules()

    if joules_before is not None and joules_after is not None and joules_after > joules_before:
        joules, method, power_w = joules_after - joules_before, "rapl", (joules_after - joules_before) / seconds
    else:
        joules, method, power_w = seconds * power, "estimate", power

    device = (machine, "fp32") if isinstance(machine, hardware.MeasuredMachine) else machine
    pasts = np.arange(prompt_len, prompt_len + n_tokens - 1)  # step i runs after prompt_len + i cached positions
    bounds = [generation.decode_step_bound(model, device, int(past), batch, p) for past in pasts]
    predicted_seconds = generation.prefill_time_bound(model, device, prompt_len, batch, p) + float(np.sum(bounds))
    rows = []
    for chunk in np.array_split(np.arange(len(steps)), windows):
        mid, last = int(chunk[len(chunk) // 2]), int(chunk[-1])
        held, formula = kv_held[last], generation.kv_bytes(model, int(pasts[last]) + 1, batch, p)
        if held != formula:
            raise RuntimeError(f"the KV cache holds {held:,} bytes after {pasts[last] + 1} positions; "
                               f"the formula says {formula:,}")
        window = np.array(steps)[chunk]
        median = float(np.median(window))
        rows.append({"context": int(pasts[mid]), "measured ms": median * 1e3, "fastest ms": float(window.min()) * 1e3,
                     "predicted ms": bounds[mid] * 1e3, "tokens/s": batch / median, "KV bytes": held,
                     "KV bytes predicted": formula})
    return LongGeneration(table=pd.DataFrame(rows), prompt_len=prompt_len, n_tokens=n_tokens, batch=batch,
                          seconds=seconds, predicted_seconds=predicted_seconds, joules=joules,
                          energy_method=method, power_w=power_w)


def batch_table(model: nn.Module, *, prompt_len: int, n_tokens: int, batches, machine, assumed_power_w: float,
                bytes_per_value: float = 4) -> pd.DataFrame:
    """:func:`generate_long` at each batch in ``batches``: one row per batch
    with the measured and predicted output tokens/s over the whole
    generation, the KV cache at its end (bytes, measured and predicted), the
    energy per answer (Wh) and how it was obtained. Lesson 09, section 1."""
    batches = [v.positive_int(f"batches[{i}]", b, maximum=generation.MAX_MEASURED_BATCH)
               for i, b in enumerate(v.sequence("batches", batches, max_len=16))]
    rows = []
    for b in batches:
        g = generate_long(model, prompt_len=prompt_len, n_tokens=n_tokens, machine=machine, batch=b, windows=1,
                          assumed_power_w=assumed_power_w, bytes_per_value=bytes_per_value)
        rows.append({"batch": b, "tokens/s": g.tokens_per_s, "predicted tokens/s": b * n_tokens / g.predicted_seconds,
                     "KV bytes": int(g.table["KV bytes"].iloc[-1]),
                     "KV bytes predicted": int(g.table["KV bytes predicted"].iloc[-1]),
                     "Wh per answer": g.wh_per_answer, "energy": g.energy_method})
    return pd.DataFrame(rows)
