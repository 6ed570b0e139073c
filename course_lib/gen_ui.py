"""Charts and the calculator of lesson 07 (generation), over the pure
functions of :mod:`course_lib.generation`.

- :func:`ttft_chart`, :func:`tpot_chart`, :func:`throughput_chart`: the
  measured curves of sections 2 and 3, each beside its prediction;
- :func:`render_estimate`, :func:`estimate_chart`,
  :func:`generation_calculator`: model, GPU, precision, batch, prompt and
  output length → TTFT, TPOT, tokens/s, request latency, KV memory and the
  largest batch that fits (section 4).
"""

from __future__ import annotations

import html

import altair as alt
import pandas as pd

from . import generation, hardware


def _out(key: str, text: str) -> str:
    return f'<span class="calc-out" data-key="{html.escape(key)}">{html.escape(text)}</span>'


# ---------------------------------------------------------------- measured curves


def ttft_chart(table: pd.DataFrame) -> alt.Chart:
    """Time to first token against prompt length: measured (median with
    p10–p90) and predicted. ``table`` has columns ``prompt``, ``measured ms``,
    ``p10 ms``, ``p90 ms`` and ``predicted ms``. Lesson 07, section 2."""
    base = alt.Chart(table)
    x = alt.X("prompt", title="prompt length (tokens)")
    measured = base.mark_line(point=True).encode(x=x, y=alt.Y("measured ms", title="time to first token (ms)"),
                                                 tooltip=list(table.columns))
    band = base.mark_errorbar().encode(x=x, y=alt.Y("p10 ms", title="time to first token (ms)"), y2="p90 ms")
    predicted = base.mark_line(strokeDash=[5, 4], color="gray").encode(x=x, y="predicted ms")
    return (band + measured + predicted).properties(
        width=380, height=230, title="Time to first token (solid: measured; dashed: FLOPs / measured peak)")


def tpot_chart(table: pd.DataFrame) -> alt.Chart:
    """Time per output token against the context already generated, with and
    without the KV cache, log y. ``table`` has columns ``context``, ``cache``
    and ``ms``. Lesson 07, section 2."""
    return (
        alt.Chart(table, title="Time per output token: with the cache vs re-running the prefix")
        .mark_line(point=True)
        .encode(x=alt.X("context", title="tokens already in the sequence"),
                y=alt.Y("ms", scale=alt.Scale(type="log"), title="ms per token (median)"),
                color=alt.Color("cache", sort=None), tooltip=list(table.columns))
        .properties(width=380, height=230)
    )


def throughput_chart(table: pd.DataFrame) -> alt.Chart:
    """Tokens per second against batch size for decode and prefill, log-log:
    measured (solid) and, when ``table`` has a ``predicted tokens/s`` column,
    predicted (dashed). ``table`` has columns ``batch``, ``phase`` and
    ``tokens/s``. Lesson 07, section 3."""
    x = alt.X("batch", scale=alt.Scale(type="log", base=2))
    color = alt.Color("phase", sort=None)
    chart = alt.Chart(table).mark_line(point=True).encode(
        x=x, y=alt.Y("tokens/s", scale=alt.Scale(type="log")), color=color, tooltip=list(table.columns))
    title = "Tokens per second vs batch"
    if "predicted tokens/s" in table.columns:
        chart += alt.Chart(table).mark_line(strokeDash=[5, 4]).encode(x=x, y="predicted tokens/s", color=color)
        title += " (solid: measured; dashed: roofline of this machine)"
    return chart.properties(width=380, height=230, title=title)


# ---------------------------------------------------------------- the calculator


def _seconds(x: float) -> str:
    if x >= 1:
        return f"{x:.2f} s"
    if x >= 1e-3:
        return f"{x * 1e3:.1f} ms"
    return f"{x * 1e6:.0f} µs"


def _gb(n: float) -> str:
    return f"{n / generation.GB:.2f} GB"


def render_estimate(e: generation.GenerationEstimate) -> str:
    """A :class:`course_lib.generation.GenerationEstimate` as HTML, each key
    number in a ``calc-out`` span. Lesson 07, section 4."""
    colour = "#070" if e.fits else "#b00"
    fit_text = "fits" if e.fits else "does not fit"
    rows = [
        ("time to first token (prefill, " + e.prefill_bound + "-bound)", "ttft", _seconds(e.ttft)),
        ("time per output token (decode, " + e.decode_bound + "-bound)", "tpot", _seconds(e.tpot)),
        ("decode tokens/s (all sequences)", "tokens_per_s", f"{e.tokens_per_s:,.0f}"),
        ("request latency: TTFT + (n − 1) × TPOT", "latency", _seconds(e.latency)),
        ("weights", "weights", _gb(e.weight_bytes)),
        ("KV cache at the last token (whole batch)", "kv", _gb(e.kv_bytes)),
        ("largest batch that fits", "max_batch", f"{e.max_batch:,}"),
    ]
    body = "".join(f"<tr><td>{html.escape(name)}</td><td>{_out(key, text)}</td></tr>" for name, key, text in rows)
    return (
        f"<p>{html.escape(e.model)} on {html.escape(e.gpu)} in {html.escape(e.precision)}, batch {e.batch}, "
        f"{e.prompt_len} prompt + {e.output_len} output tokens (roofline lower bounds)</p>"
        f"<table>{body}</table>"
        f"<p style='color:{colour}'>Memory: {_out('fits', fit_text)} "
        f"({_gb(e.weight_bytes + e.kv_bytes)} of {_gb(e.memory_bytes)})</p>"
    )


def estimate_chart(e: generation.GenerationEstimate) -> alt.Chart:
    """Decode tokens/s and TPOT against batch (powers of 2 up to the largest
    batch that fits, :func:`course_lib.generation.batch_sweep`), the chosen
    batch marked. Lesson 07, section 4."""
    table = generation.batch_sweep(e.model, e.gpu, e.precision, e.prompt_len, e.output_len)
    chosen = pd.DataFrame([{"batch": e.batch, "tokens/s": e.tokens_per_s, "TPOT ms": e.tpot * 1e3}])
    x = alt.X("batch", scale=alt.Scale(type="log", base=2), title="batch (sequences decoded together)")
    tps = alt.Chart(table).mark_line(point=True).encode(
        x=x, y=alt.Y("tokens/s", scale=alt.Scale(type="log")), tooltip=list(table.columns))
    dot = alt.Chart(chosen).mark_point(color="red", size=120, filled=True).encode(x="batch", y="tokens/s")
    tpot = alt.Chart(table).mark_line(point=True, color="orange").encode(
        x=x, y=alt.Y("TPOT ms", scale=alt.Scale(type="log"), title="time per output token (ms)"), tooltip=list(table.columns))
    dot2 = alt.Chart(chosen).mark_point(color="red", size=120, filled=True).encode(x="batch", y="TPOT ms")
    return alt.hconcat(
        (tps + dot).properties(width=250, height=200, title="Decode tokens/s"),
        (tpot + dot2).properties(width=250, height=200, title="Time per output token"),
    ).properties(title=f"{e.model} on {e.gpu} ({e.precision}): batching up to the memory limit")


def generation_calculator(model: str = "Llama-3-8B", gpu: str = "H100 SXM", *, chart: bool = True):
    """The lesson-07 calculator: model (a name in
    :data:`course_lib.generation.MODELS`), GPU, precision, batch, prompt and
    output length → :func:`course_lib.generation.estimate`, rendered by
    :func:`render_estimate`, with :func:`estimate_chart`. A
    :class:`course_lib.widgets.Calculator`. Lesson 07, section 4."""
    import ipywidgets as w

    from .widgets import Calculator

    if not isinstance(chart, bool):
        raise TypeError(f"chart must be True or False, got {chart!r}")
    style = {"description_width": "120px"}
    layout = w.Layout(width="440px")
    kw = dict(style=style, layout=layout)
    sl = dict(kw, continuous_update=False)
    controls = {
        "model": w.Dropdown(options=list(generation.MODELS), value=model, description="model", **kw),
        "gpu": w.Dropdown(options=list(hardware.ACCELERATORS), value=gpu, description="GPU", **kw),
        "precision": w.Dropdown(options=list(generation.PRECISIONS), value="bf16", description="precision", **kw),
        "batch": w.SelectionSlider(options=[2**k for k in range(11)], value=1, description="batch", **sl),
        "prompt_len": w.SelectionSlider(options=[2**k for k in range(4, 16)], value=1024, description="prompt tokens", **sl),
        "output_len": w.SelectionSlider(options=[2**k for k in range(0, 14)], value=256, description="output tokens", **sl),
    }
    return Calculator(controls, generation.estimate, render_estimate, chart=estimate_chart if chart else None,
                      title="Generation: prefill, decode, batch")
