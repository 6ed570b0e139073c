"""Charts and the trace/policy explorer for lesson 08 (Altair, ipywidgets).

The logic lives in :mod:`course_lib.engine` (pure); this module only draws it.
"""

from __future__ import annotations

import html

import altair as alt
import pandas as pd

from . import _validate as v
from . import engine


def _check_result(result, name: str = "result") -> None:
    if not isinstance(result, engine.EngineResult):
        raise TypeError(f"{name} must be an EngineResult from engine.run or engine.simulate, got {type(result).__name__}")


def batch_chart(results: dict) -> alt.Chart:
    """Requests computed in each forward call, one line per policy
    (``results``: ``{label: EngineResult}``). Lesson 08, section 2."""
    if not isinstance(results, dict) or not results:
        raise TypeError("results must be a non-empty dict {label: EngineResult}")
    rows = []
    for label, res in results.items():
        _check_result(res, f"results[{label!r}]")
        rows += [{"policy": str(label), "step": i + 1, "requests in the call": b} for i, b in enumerate(res.batch_sizes)]
    return (
        alt.Chart(pd.DataFrame(rows), title="Requests in each forward call")
        .mark_line(interpolate="step-after")
        .encode(
            x=alt.X("step", title="forward call"),
            y=alt.Y("requests in the call", title="requests in the call"),
            color=alt.Color("policy:N", title="policy"),
            tooltip=["policy", "step", "requests in the call"],
        )
        .properties(width=420, height=200)
    )


def kv_chart(results: dict) -> alt.Chart:
    """KV-cache bytes (KiB) reserved and used at each forward call, one panel
    line per layout (``results``: ``{label: EngineResult}``). Lesson 08, section 3."""
    if not isinstance(results, dict) or not results:
        raise TypeError("results must be a non-empty dict {label: EngineResult}")
    rows = []
    for label, res in results.items():
        _check_result(res, f"results[{label!r}]")
        for i, (r, u) in enumerate(zip(res.kv_reserved, res.kv_used)):
            rows.append({"layout": str(label), "step": i + 1, "bytes": "reserved", "KiB": round(r / 1024, 2)})
            rows.append({"layout": str(label), "step": i + 1, "bytes": "used", "KiB": round(u / 1024, 2)})
    data = pd.DataFrame(rows)
    return (
        alt.Chart(data, title="KV cache: reserved vs used")
        .mark_line()
        .encode(
            x=alt.X("step", title="forward call"),
            y=alt.Y("KiB", title="KV cache (KiB)"),
            color=alt.Color("layout:N", title="layout"),
            strokeDash=alt.StrokeDash("bytes:N", title="bytes"),
            tooltip=["layout", "step", "bytes", "KiB"],
        )
        .properties(width=420, height=220)
    )


def spec_chart(table: pd.DataFrame) -> alt.Chart:
    """Tokens per target call against k: measured and (1 − α^(k+1))/(1 − α)
    from the measured α. ``table`` has columns ``k``, ``measured``,
    ``predicted``. Lesson 08, section 4."""
    if not isinstance(table, pd.DataFrame) or not {"k", "measured", "predicted"} <= set(table.columns):
        raise TypeError("table must be a DataFrame with columns k, measured, predicted")
    long = table.melt(id_vars="k", value_vars=["measured", "predicted"], var_name="tokens per target call", value_name="tokens")
    return (
        alt.Chart(long, title="Speculative decoding: tokens per target call")
        .mark_line(point=True)
        .encode(
            x=alt.X("k:Q", title="draft tokens per round (k)"),
            y=alt.Y("tokens:Q", title="tokens per target call"),
            color=alt.Color("tokens per target call:N", title=""),
            tooltip=["k", "tokens per target call", "tokens"],
        )
        .properties(width=420, height=220)
    )


# ---------------------------------------------------------------- the explorer


def explore(rate: float, max_batch: int, max_output: int, kv_block: int, *, overhead: float, per_token: float,
            n_requests: int = 40, seed: int = 0) -> dict:
    """Both policies on one trace under :func:`course_lib.engine.simulate`
    (a step lasts ``overhead + per_token × tokens``): ``{"static": result,
    "continuous": result, "paged": continuous result with ``kv_block``}``.
    ``kv_block`` 0 means contiguous reservation. Lesson 08, section 5."""
    max_output = v.integer("max_output", max_output, minimum=2, maximum=48)
    kv_block = v.integer("kv_block", kv_block, minimum=0, maximum=64)
    trace = engine.make_trace(n_requests, rate, prompt_len=(4, 12), output_len=(2, max_output), seed=seed)
    out = {}
    for policy in ("static", "continuous"):
        out[policy] = engine.simulate(trace, policy=policy, max_batch=max_batch, overhead=overhead,
                                      per_token=per_token, kv_block=kv_block or None)
    return out


def format_explore(result: dict) -> dict[str, str]:
    """The texts the explorer shows, by key. Lesson 08, section 5."""
    out = {}
    for policy in ("static", "continuous"):
        r = result[policy]
        pct = r.percentiles()
        out[f"{policy}_steps"] = f"{r.steps}"
        out[f"{policy}_tps"] = f"{r.tokens_per_s:.0f} tok/s"
        out[f"{policy}_ttft"] = f"{pct['ttft_p50'] * 1e3:.1f} / {pct['ttft_p95'] * 1e3:.1f} ms"
        out[f"{policy}_tpot"] = f"{pct['tpot_p50'] * 1e3:.2f} ms"
        out[f"{policy}_kv"] = f"{100 * r.kv_utilisation:.0f} %"
    return out


def render_explore(result: dict) -> str:
    """HTML table, each number in ``<span class="calc-out" data-key=…>``."""
    texts = format_explore(result)
    labels = (("steps", "forward calls"), ("tps", "tokens/s"), ("ttft", "TTFT p50 / p95"),
              ("tpot", "time per output token p50"), ("kv", "KV used / reserved"))
    rows = "".join(
        f"<tr><td>{label}</td>"
        + "".join(f"<td><span class='calc-out' data-key='{p}_{key}'>{html.escape(texts[f'{p}_{key}'])}</span></td>"
                  for p in ("static", "continuous"))
        + "</tr>"
        for key, label in labels
    )
    return f"<table><tr><th></th><th>static</th><th>continuous</th></tr>{rows}</table>"


def explorer(overhead: float, per_token: float, *, rate: float = 100.0, max_batch: int = 8, max_output: int = 32,
             kv_block: int = 0, n_requests: int = 40, seed: int = 0):
    """The trace/policy explorer (a :class:`course_lib.widgets.Calculator`):
    arrival rate, maximum batch, longest output and KV block size → forward
    calls, tokens/s, TTFT and time per output token, KV utilisation, static
    beside continuous, simulated with the step cost measured in the lesson.
    Lesson 08, section 5."""
    import ipywidgets as w

    from .widgets import Calculator

    v.number("overhead", overhead, minimum=0.0)
    v.number("per_token", per_token, minimum=0.0)
    controls = {
        "rate": w.FloatLogSlider(value=v.positive("rate", rate), base=10, min=0, max=4, step=0.1,
                                 description="rate (req/s)", continuous_update=False),
        "max_batch": w.IntSlider(value=v.integer("max_batch", max_batch, minimum=1, maximum=32), min=1, max=32,
                                 description="max batch", continuous_update=False),
        "max_output": w.IntSlider(value=v.integer("max_output", max_output, minimum=2, maximum=48), min=2, max=48,
                                  description="longest output", continuous_update=False),
        "kv_block": w.IntSlider(value=v.integer("kv_block", kv_block, minimum=0, maximum=64), min=0, max=64, step=4,
                                description="KV block (0 = reserve)", continuous_update=False),
    }

    def compute(rate, max_batch, max_output, kv_block):
        return explore(rate, max_batch, max_output, kv_block, overhead=overhead, per_token=per_token,
                       n_requests=n_requests, seed=seed)

    return Calculator(controls, compute, render_explore, title="Serving trace explorer")
