"""Hostile-input fuzz of course_lib's public callables (issues 19 and 26).

Calls every entry of ``tests/contract/test_properties.py``'s registry (its valid
values) with ONE argument replaced by a hostile value from this script's own
pool (not the registry's BAD values), plus a few extra calls the registry
does not reach (model forwards, ``KVCache.append``, ``TinyGPT.generate``,
chart display). Each call runs in a forked child with a memory cap; the
parent kills a child that runs past the time limit. Outcomes:

- ``wrong type``: an exception other than ValueError/TypeError (a chart
  that builds but fails only when displayed counts here too);
- ``unnamed``: a ValueError/TypeError whose message does not name the argument;
- ``inf/nan``: a result holding inf or NaN, returned silently;
- ``slow``: still running after the time limit (default 10 s);
- ``crash``: MemoryError, or the child died (signal, memory cap);
- ``ok``: refused by name, or accepted with a finite result.

Usage: ``python tools/fuzz_api.py [--limit-s 10] [--only PREFIX] [--examples N]``
(prints a table of counts per class and the first examples of each).
Runs in a few minutes on one core; a second run after a fix shows the change.
"""

from __future__ import annotations

import argparse
import collections
import math
import os
import pickle
import re
import resource
import select
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "contract"), str(ROOT / "tests" / "support")]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)

import test_properties as tp  # noqa: E402
from course_lib import models, lora  # noqa: E402


def _pool():
    """The hostile values: one argument at a time is replaced by each."""
    return [
        ("np.int64(3)", np.int64(3)),
        ("np.float64(0.5)", np.float64(0.5)),
        ("tensor(3)", torch.tensor(3)),
        ("tensor(0.5,f64)", torch.tensor(0.5, dtype=torch.float64)),
        ("-1", -1),
        ("0", 0),
        ("10**9", 10**9),
        ("10**18", 10**18),
        ("1e308", 1e308),
        ("1e-320", 1e-320),
        ("nan", math.nan),
        ("inf", math.inf),
        ("'true'", "true"),
        ("None", None),
        ("1j", 1j),
        ("[1]*10**6", [1] * 10**6),
        ("range(10**8)", range(10**8)),
        ("{}", {}),
        ("f64 4x8", torch.randn(4, 8, dtype=torch.float64)),
        ("f16 4x8", torch.randn(4, 8).half()),
        ("meta 4x8", torch.empty(4, 8, device="meta")),
        ("object()", object()),
    ]


def _extra():
    """Calls the registry does not reach: (name, fn, valid kwargs)."""
    from course_lib import memory
    gpt = models.TinyGPT(vocab_size=64, d_model=16, n_heads=2, n_layers=1, max_seq_len=16, seed=0)
    x = torch.randn(2, 4, 16)
    ids = torch.randint(0, 64, (2, 8))
    att = models.CausalSelfAttention(d_model=16, n_heads=2)
    block = models.Block(d_model=16, n_heads=2)
    moe = models.MoE(d_model=16, d_ff=32, n_experts=4, top_k=2)
    cache = models.KVCache(n_layers=1, batch=2)
    k = torch.randn(2, 2, 3, 8)
    lin = lora.LoRALinear(torch.nn.Linear(8, 8), rank=2)
    ck = memory.Checkpointed(gpt)
    return [
        ("models.CausalSelfAttention.forward", att.forward, {"x": x}),
        ("models.Block.forward", block.forward, {"x": x}),
        ("models.MoE.forward", moe.forward, {"x": x}),
        ("models.TinyGPT.forward", gpt.forward, {"idx": ids}),
        ("models.TinyGPT.generate", gpt.generate, {"ids": ids[:1, :4], "max_new_tokens": 2, "temperature": 1.0}),
        ("models.KVCache.append", cache.append, {"layer": 0, "k": k, "val": k}),
        ("lora.LoRALinear.forward", lin.forward, {"x": torch.randn(4, 8)}),
        ("memory.Checkpointed.forward", ck.forward, {"idx": ids}),
    ]


# Registry entries for the calls _extra makes (added to the registry later): fuzzed once, by _extra.
_EXTRA_KEYS = {"models.CausalSelfAttention.forward", "models.Block.forward", "models.MoE.forward",
               "models.TinyGPT.forward", "models.TinyGPT.generate", "models.KVCache.append",
               "lora.LoRALinear.forward", "memory.Checkpointed.forward"}


def _targets(only: str | None):
    for key, entry in sorted(tp.REGISTRY.items()):
        if not isinstance(entry, tp.E) or (only and not key.startswith(only)) or key in _EXTRA_KEYS:
            continue
        yield key, entry.fn, entry.args, entry.finite
    for key, fn, kwargs, in _extra():
        if only and not key.startswith(only):
            continue
        yield key, fn, {k: tp.A("any", val) for k, val in kwargs.items()}, True


def _classify(name, fn, kwargs, finite):
    """Runs in the child: returns (class, detail)."""
    try:
        result = fn(**kwargs)
        if hasattr(result, "to_dict") and type(result).__module__.startswith("altair"):
            try:
                result.to_dict()
            except Exception as err:  # noqa: BLE001
                return "wrong type", f"at display: {type(err).__name__}: {str(err)[:120]}"
    except MemoryError as err:
        return "crash", f"MemoryError {str(err)[:80]}"
    except (ValueError, TypeError) as err:
        text = str(err)
        if re.search(rf"(?<![\w]){re.escape(name)}(?!\w)", text):
            return "ok", "refused"
        return "unnamed", f"{type(err).__name__}: {text[:160]}"
    except RecursionError as err:
        return "crash", f"RecursionError {str(err)[:80]}"
    except BaseException as err:  # noqa: BLE001
        return "wrong type", f"{type(err).__name__}: {str(err)[:160]}"
    if finite and tp.v._first_non_finite(result) is not None:
        return "inf/nan", tp.v.show(result)
    return "ok", "accepted"


def _run_values(name, fn, valid, values, finite, limit_s, mem_bytes):
    """Calls ``fn`` with ``name`` set to each of ``values`` in forked children (one child
    runs the values in turn; a child that hangs or dies is replaced for the rest).
    Returns one (class, detail) per value."""
    results = []
    while len(results) < len(values):
        todo = values[len(results):]
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child
            os.close(r)
            try:
                vm = _vsize()
                resource.setrlimit(resource.RLIMIT_AS, (vm + mem_bytes, vm + mem_bytes))
                for bad in todo:
                    kwargs = dict(valid)
                    kwargs[name] = bad
                    try:
                        res = _classify(name, fn, kwargs, finite)
                    except BaseException as err:  # noqa: BLE001
                        res = ("crash", type(err).__name__)
                    data = pickle.dumps(res)
                    os.write(w, len(data).to_bytes(4, "big") + data)
            finally:
                os._exit(0)
        os.close(w)
        reader = os.fdopen(r, "rb")
        for _ in todo:
            ready, _, _ = select.select([reader], [], [], limit_s)
            if not ready:
                os.kill(pid, 9)
                results.append(("slow", f"over {limit_s:g} s"))
                break
            head = reader.read(4)
            if len(head) < 4:
                results.append(("crash", "child died"))
                break
            results.append(pickle.loads(reader.read(int.from_bytes(head, "big"))))
        reader.close()
        os.waitpid(pid, 0)
    return results


def _vsize() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit-s", type=float, default=10.0)
    ap.add_argument("--mem-gb", type=float, default=1.5)
    ap.add_argument("--only", default=None)
    ap.add_argument("--examples", type=int, default=8)
    args = ap.parse_args(argv)
    pool = _pool()
    counts = collections.Counter()
    per_name = collections.defaultdict(collections.Counter)
    examples = collections.defaultdict(list)
    n_calls, n_targets = 0, 0
    t0 = time.monotonic()
    for key, fn, entry_args, finite in _targets(args.only):
        try:
            valid = {k: a.value() for k, a in entry_args.items()}
        except Exception as err:  # noqa: BLE001
            print(f"skip {key}: valid values fail to build: {err}", file=sys.stderr)
            continue
        n_targets += 1
        for arg in entry_args:
            outcomes = _run_values(arg, fn, valid, [bad for _, bad in pool], finite, args.limit_s,
                                   int(args.mem_gb * 2**30))
            for (label, _), (cls, detail) in zip(pool, outcomes):
                n_calls += 1
                counts[cls] += 1
                per_name[key][cls] += 1
                if cls != "ok" and len(examples[cls]) < 400:
                    examples[cls].append(f"{key}({arg}={label}): {detail}")
    print(f"fuzz: {n_targets} callables, {n_calls} calls, {time.monotonic() - t0:.0f} s")
    print(f"{'class':<12}{'calls':>8}")
    for cls in ("wrong type", "unnamed", "inf/nan", "slow", "crash", "ok"):
        print(f"{cls:<12}{counts[cls]:>8}")
    worst = sorted(per_name.items(), key=lambda kv: -(sum(kv[1].values()) - kv[1]["ok"]))[:15]
    print("\nmost failures by callable:")
    for key, c in worst:
        bad = sum(c.values()) - c["ok"]
        if bad:
            print(f"  {bad:5d}  {key}  {dict((k, n) for k, n in c.items() if k != 'ok')}")
    for cls in ("wrong type", "unnamed", "inf/nan", "slow", "crash"):
        if examples[cls]:
            print(f"\n{cls} (first {args.examples} of {counts[cls]}):")
            for line in examples[cls][: args.examples]:
                print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
