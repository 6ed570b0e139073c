"""Every chart of the course (Altair 5), each built from a DataFrame or plain
values that the pure core computes; :mod:`course_lib.ui.render` draws them
offline. Each builder's docstring names the lesson that uses it.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from .. import _validate as v


#: Most rows a chart draws inline.
MAX_ROWS = 20_000


def _frame(name: str, table, *columns: str) -> pd.DataFrame:
    """``table`` is a non-empty DataFrame holding ``columns`` (each a str), else a named error."""
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, got {v.show(table)} ({type(table).__name__})")
    if table.empty:
        raise ValueError(f"{name} must have at least one row")
    if len(table) > MAX_ROWS:  # every row is written into the notebook: a million would stall the kernel
        raise ValueError(f"{name} must have at most {MAX_ROWS:_} rows to draw, got {len(table):_}; "
                         f"aggregate or sample it first")
    for col in columns:
        if col.split(":")[0] not in table.columns:  # Altair shorthand "field:type" names the field
            raise ValueError(f"{name} has no column {col!r}; it has {list(table.columns)}")
    return table


def _memory_rule(memory_gb: float, accelerator: str) -> alt.Chart:
    """A red horizontal rule at an accelerator's memory (GB), labelled with its name."""
    row = pd.DataFrame({"GB": [memory_gb], "label": [accelerator]})
    return alt.Chart(row).mark_rule(color="red", strokeWidth=2).encode(y="GB", tooltip=["label", "GB"])


@v.checked
def bar(data: pd.DataFrame, x: v.Str, y: v.Str, *, color: v.Str | None = None, title: v.Text = "", **encode) -> alt.Chart:
    """A horizontal-or-vertical bar chart: ``x`` is the category, ``y`` the value.

    Extra keyword arguments go to ``Chart.encode`` (for example ``xOffset``). Lesson 02, sections 3 and 4.
    """
    _frame("data", data, x, y)
    enc = {"x": alt.X(x, sort=None), "y": y, "tooltip": list(data.columns), **encode}
    if color:
        enc["color"] = color
    return alt.Chart(data, title=title).mark_bar().encode(**enc).properties(width=420, height=220)


@v.checked
def line(
    data: pd.DataFrame, x: v.Str, y: v.Str, *, color: v.Str | None = None, title: v.Text = "", log_x: v.Bool = False, log_y: v.Bool = False
) -> alt.Chart:
    """A line chart with points, optionally on log axes.
    Lesson 02, section 2; lesson 03, section 1; lesson 04, section 3."""
    _frame("data", data, x, y)
    xs = alt.X(x, scale=alt.Scale(type="log") if log_x else alt.Undefined)
    ys = alt.Y(y, scale=alt.Scale(type="log") if log_y else alt.Undefined)
    enc = {"x": xs, "y": ys, "tooltip": list(data.columns)}
    if color:
        enc["color"] = color
    return alt.Chart(data, title=title).mark_line(point=True).encode(**enc).properties(width=420, height=240)


@v.checked
def flops_by_layer(table: pd.DataFrame) -> alt.Chart:
    """Grouped bars of FLOPs per layer, forward vs forward+backward.

    ``table`` has columns ``layer``, ``pass`` and ``MFLOPs`` (millions of
    FLOPs) (see lesson 01). Lesson 01, section 3.
    """
    _frame("table", table)
    return bar(
        table, "layer", "MFLOPs", color="pass", xOffset="pass", title="FLOPs by layer: forward vs forward + backward"
    )


@v.checked
def timing_bars(table: pd.DataFrame, title: v.Text = "Wall time (median, with p10–p90)") -> alt.Chart:
    """Bars of median time with p10–p90 error bars.

    ``table`` has columns ``what``, ``median_ms``, ``p10_ms``, ``p90_ms``. Lesson 01, section 5.
    """
    _frame("table", table, "what", "median_ms", "p10_ms", "p90_ms")
    base = alt.Chart(table, title=title)
    bars = base.mark_bar().encode(x=alt.X("what", sort=None, title=None), y=alt.Y("median_ms", title="ms"), tooltip=list(table.columns))
    errs = base.mark_errorbar().encode(x=alt.X("what", sort=None), y=alt.Y("p10_ms", title="ms"), y2="p90_ms")
    return (bars + errs).properties(width=320, height=220)


@v.checked
def cumulative_cost_chart(table: pd.DataFrame, break_even_day: v.NonNegative) -> alt.Chart:
    """Cumulative spend over a deployment: the training step at day 0, then
    the inference ramp, their total, and a rule at ``break_even_day``.
    ``table`` has columns ``day``, ``series`` and ``dollars`` (see
    :func:`course_lib.cost.cumulative_cost`). Used by :func:`course_lib.ui.calculators.scenario_chart`; not tied to
    one lesson.
    """
    _frame("table", table)
    table = table.assign(**{"$M": table["dollars"] / 1e6})
    lines = alt.Chart(table).mark_line().encode(
        x=alt.X("day", title="days since deployment"),
        y=alt.Y("$M", title="cumulative spend ($M)"),
        color=alt.Color("series", sort=["training", "inference", "total"]),
        tooltip=["series", "day", "$M"],
    )
    chart = lines
    if break_even_day <= table["day"].max():
        even = pd.DataFrame({"day": [break_even_day], "what": ["break-even"]})
        chart = lines + alt.Chart(even).mark_rule(strokeDash=[4, 3], color="gray").encode(x="day", tooltip=["what", "day"])
    return chart.properties(width=420, height=240, title="Training once, inference every day")


@v.checked
def split_sensitivity_chart(table: pd.DataFrame) -> alt.Chart:
    """Inference's share of lifetime spend against deployment years, one line
    per traffic level. ``table`` has columns ``years``, ``traffic`` and
    ``inference share`` (0–1). Lesson 05, section 2.
    """
    _frame("table", table)
    return (
        alt.Chart(table, title="Inference's share of lifetime spend")
        .mark_line(point=True)
        .encode(
            x=alt.X("years", title="deployment (years)"),
            y=alt.Y("inference share", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("traffic", sort=None),
            tooltip=list(table.columns),
        )
        .properties(width=420, height=240)
    )


@v.checked
def lifetime_compute_chart(table: pd.DataFrame) -> alt.Chart:
    """Lifetime FLOPs (training + inference) against model size at equal
    quality, one line per inference demand, log-log. ``table`` has columns
    ``params (B)``, ``inference tokens`` and ``lifetime FLOPs``. Lesson 05, section 6.
    """
    _frame("table", table)
    return (
        alt.Chart(table, title="Lifetime compute at equal quality")
        .mark_line(point=True)
        .encode(
            x=alt.X("params (B)", scale=alt.Scale(type="log"), title="model size (billions of parameters)"),
            y=alt.Y("lifetime FLOPs", scale=alt.Scale(type="log")),
            color=alt.Color("inference tokens", sort=None),
            tooltip=list(table.columns),
        )
        .properties(width=420, height=260)
    )


@v.checked
def gradient_histogram(table: pd.DataFrame, limits: v.Limits | None = None) -> alt.Chart:
    """Bars of how many gradients fall in each power-of-two bin, with a
    vertical rule at each of ``limits`` (label → log2 value, e.g. fp16's
    smallest subnormal at −24). ``table`` has columns ``log2 |gradient|``
    and ``count`` (see ``course_lib.precision.log2_histogram``). Lesson 04, section 4.
    """
    _frame("table", table)
    bars = (
        alt.Chart(table, title="Gradient magnitudes against fp16's limits")
        .transform_calculate(bin_end="datum['log2 |gradient|'] + 1")
        .mark_bar()
        .encode(
            x=alt.X("log2 |gradient|:Q", title="log2 |gradient| (bins of one power of two)"),
            x2="bin_end:Q",
            y=alt.Y("count:Q", title="count"),
            y2=alt.datum(0),
            tooltip=list(table.columns),
        )
    )
    layers = [bars]
    if limits:
        marks = pd.DataFrame(
            {"limit": list(limits), "log2": list(limits.values()), "ypix": [12 + 16 * i for i in range(len(limits))]}
        )
        rule = alt.Chart(marks).mark_rule(color="#b00", strokeDash=[4, 3]).encode(x="log2:Q", tooltip=["limit", "log2"])
        text = (
            alt.Chart(marks)
            .mark_text(align="left", dx=4, color="#b00")
            .encode(x="log2:Q", y=alt.Y("ypix:Q", scale=None), text="limit")
        )
        layers += [rule, text]
    return alt.layer(*layers).properties(width=460, height=220)


@v.checked
def quantization_accuracy(table: pd.DataFrame, baseline: v.Real | None = None) -> alt.Chart:
    """Task accuracy against bits per weight, one line per ``scheme``, with a
    dashed rule at the fp32 ``baseline``. ``table`` has columns ``bits``,
    ``scheme`` and ``accuracy``. Lesson 04, section 5.
    """
    _frame("table", table)
    chart = (
        alt.Chart(table, title="Accuracy after quantizing the weights (dashed: fp32)")
        .mark_line(point=True)
        .encode(x=alt.X("bits:O", axis=alt.Axis(labelAngle=0)), y=alt.Y("accuracy:Q", title="test accuracy"),
                color="scheme:N", tooltip=list(table.columns))
        .properties(width=420, height=240)
    )
    if baseline is None:
        return chart
    rule = alt.Chart(pd.DataFrame({"fp32": [float(baseline)]})).mark_rule(strokeDash=[4, 3], color="gray").encode(
        y=alt.Y("fp32:Q", title="test accuracy"), tooltip=["fp32"]
    )
    return alt.layer(chart, rule)


@v.checked
def zero_stages(table: pd.DataFrame, memory_gb: v.Positive, accelerator: v.Str, title: v.Text = "Memory per GPU by ZeRO stage") -> alt.Chart:
    """Stacked bars of per-GPU memory (GB) for ZeRO stages 0–3 with the
    ``accelerator``'s memory (``memory_gb``) as a red line. ``table`` has columns ``stage``, ``part``, ``GB``
    (see :func:`course_lib.zero_fit.stage_table`). Used by :func:`course_lib.ui.calculators.stage_chart`; not tied to
    one lesson."""
    _frame("table", table)
    order = ["weights", "gradients", "optimizer state", "gathered layer", "activations", "overhead"]
    data = table.assign(order=table["part"].map(order.index))
    bars = alt.Chart(data).mark_bar().encode(
        x=alt.X("stage", sort=None, title=None),
        y=alt.Y("GB", stack="zero", title="memory per GPU (GB)"),
        color=alt.Color("part", sort=order),
        order="order",
        tooltip=["stage", "part", alt.Tooltip("GB", format=".3g")],
    )
    return (bars + _memory_rule(memory_gb, accelerator)).properties(width=320, height=240, title=title)


@v.checked
def replica_latency(table: pd.DataFrame, target_ms: v.Positive | None = None) -> alt.Chart:
    """p95 latency (ms, log scale) against arrival rate, one line per replica
    count; optional dashed line at a latency target. ``table`` has columns
    ``rate_rps``, ``replicas``, ``p95_ms`` (see
    :func:`course_lib.serving.replica_sweep`). Lesson 06, section 6."""
    _frame("table", table)
    title = "Scale out: p95 latency vs request rate, by number of replicas"
    lines = alt.Chart(table).mark_line(point=True).encode(
        x=alt.X("rate_rps", title="requests per second"),
        y=alt.Y("p95_ms", scale=alt.Scale(type="log"), title="p95 latency (ms)"),
        color=alt.Color("replicas:O", title="replicas"),
        tooltip=list(table.columns),
    )
    if target_ms is None:
        return lines.properties(width=420, height=240, title=title)
    rule = alt.Chart(pd.DataFrame({"p95_ms": [target_ms]})).mark_rule(color="red", strokeDash=[4, 4]).encode(y="p95_ms")
    return (lines + rule).properties(width=420, height=240, title=title)


@v.checked
def fit_chart(table: pd.DataFrame, memory_gb: v.Positive, accelerator: v.Str, model: v.Str) -> alt.Chart:
    """Stacked bars of training and inference memory (GB) with the
    ``accelerator``'s memory (``memory_gb``) as a red line. ``table`` has columns ``phase``, ``component`` and
    ``GB`` (see :func:`course_lib.fit.fit_table`). Used by :func:`course_lib.ui.calculators.fit_result_chart`; not
    tied to one lesson."""
    _frame("table", table)
    order = ["weights", "gradients", "optimizer state", "activations", "KV cache", "overhead"]
    data = table.assign(order=table["component"].map(order.index))
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("phase", sort=["training", "inference"], title=None),
            y=alt.Y("GB", stack="zero", title="memory (GB)"),
            color=alt.Color("component", sort=order),
            order="order",
            tooltip=["phase", "component", alt.Tooltip("GB", format=".3g")],
        )
    )
    rule = _memory_rule(memory_gb, accelerator)
    text = alt.Chart(rule.data).mark_text(align="left", dx=4, dy=-6, color="red").encode(y="GB", text="label", x=alt.value(0))
    title = f"Will {model} fit on {accelerator}?"
    return (bars + rule + text).properties(width=260, height=260, title=title)


@v.checked
def roofline_chart(
    table: pd.DataFrame, points: pd.DataFrame | None = None, title: v.Text = "Roofline: attainable FLOP/s vs arithmetic intensity"
) -> alt.Chart:
    """Log-log roofline of each device, with optional ``points``. ``table``
    has columns ``device``, ``intensity`` and ``TFLOP/s`` (see
    :func:`course_lib.hardware.roofline_table`); ``points`` has columns
    ``label``, ``intensity`` (FLOP/byte) and ``TFLOP/s`` (e.g. a measured
    matmul). Lesson 03, section 3; lesson 05, section 7.
    """
    _frame("table", table)
    if points is not None:
        _frame("points", points, "label", "intensity", "TFLOP/s")
    lines = (
        alt.Chart(table)
        .mark_line()
        .encode(
            x=alt.X("intensity", scale=alt.Scale(type="log"), title="arithmetic intensity (FLOP per byte)"),
            y=alt.Y("TFLOP/s", scale=alt.Scale(type="log"), title="attainable TFLOP/s"),
            color=alt.Color("device", sort=None),
            tooltip=list(table.columns),
        )
    )
    chart = lines
    if points is not None:
        dots = (
            alt.Chart(points)
            .mark_point(filled=True, size=70, color="black")
            .encode(x="intensity", y="TFLOP/s", shape=alt.Shape("label", title="measured"), tooltip=list(points.columns))
        )
        chart = lines + dots
    return chart.properties(width=460, height=280, title=title)


@v.checked
def latency_chart(latencies: v.Numbers(minimum=0.0), percentiles: dict[str, float]) -> alt.Chart:
    """Histogram of latencies with a rule at each percentile. ``latencies``
    and ``percentiles`` (label → value, e.g. ``{"p50": 0.004}``) are in
    seconds and drawn in ms (see :class:`course_lib.simulate.SimResult`). Used by
    :func:`course_lib.ui.calculators.batching_chart`; not tied to one lesson."""
    v.mapping("percentiles", percentiles)
    if not isinstance(percentiles, dict):
        raise TypeError(f"percentiles must be a dict of label -> seconds, got {type(percentiles).__name__}")
    ms = np.array(latencies) * 1e3
    counts, edges = np.histogram(ms, bins=40)
    edges = np.round(edges, 4)
    hist = pd.DataFrame({"from_ms": edges[:-1], "to_ms": edges[1:], "requests": counts})
    marks = pd.DataFrame({"percentile": list(percentiles), "ms": [round(x * 1e3, 4) for x in percentiles.values()]})
    bars = alt.Chart(hist).mark_bar(color="#9ecae1").encode(
        x=alt.X("from_ms", bin="binned", title="latency (ms)"), x2="to_ms", y=alt.Y("requests", title="requests")
    )
    rules = alt.Chart(marks).mark_rule(strokeWidth=2).encode(x="ms", color="percentile", tooltip=["percentile", "ms"])
    return (bars + rules).properties(width=420, height=180, title="Simulated latency distribution")


@v.checked
def tradeoff_chart(table: pd.DataFrame, y: str = "p95_ms", title: v.Text = "Dynamic batching: latency vs arrival rate") -> alt.Chart:
    """Latency (``y`` column of :func:`course_lib.simulate.sweep`) against
    arrival rate, one line per ``max_batch``, log axes. Lesson 03, section 4."""
    _frame("table", table)
    if y not in ("p50_ms", "p95_ms", "p99_ms"):
        raise ValueError(f"y must be one of p50_ms, p95_ms, p99_ms, got {y!r}")
    return (
        alt.Chart(table, title=title)
        .mark_line(point=True)
        .encode(
            x=alt.X("rate", scale=alt.Scale(type="log"), title="arrival rate (requests/s)"),
            y=alt.Y(y, scale=alt.Scale(type="log"), title=f"{y[:3]} latency (ms)"),
            color=alt.Color("max_batch:N", title="max batch"),
            tooltip=list(table.columns),
        )
        .properties(width=420, height=240)
    )


# ------------------------------------------------------------ generation (lesson 07)


@v.checked
def ttft_chart(table: pd.DataFrame) -> alt.Chart:
    """Time to first token against prompt length: measured (median with
    p10–p90) and predicted. ``table`` has columns ``prompt``, ``measured ms``,
    ``p10 ms``, ``p90 ms`` and ``predicted ms``. Lesson 07, section 2."""
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a pandas DataFrame, got {type(table).__name__}")
    base = alt.Chart(table)
    x = alt.X("prompt", title="prompt length (tokens)")
    measured = base.mark_line(point=True).encode(x=x, y=alt.Y("measured ms", title="time to first token (ms)"),
                                                 tooltip=list(table.columns))
    band = base.mark_errorbar().encode(x=x, y=alt.Y("p10 ms", title="time to first token (ms)"), y2="p90 ms")
    predicted = base.mark_line(strokeDash=[5, 4], color="gray").encode(x=x, y="predicted ms")
    return (band + measured + predicted).properties(
        width=380, height=230, title="Time to first token (solid: measured; dashed: FLOPs / measured peak)")


@v.checked
def tpot_chart(table: pd.DataFrame) -> alt.Chart:
    """Time per output token against the context already generated, with and
    without the KV cache, log y. ``table`` has columns ``context``, ``cache``
    and ``ms``. Lesson 07, section 2."""
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a pandas DataFrame, got {type(table).__name__}")
    return (
        alt.Chart(table, title="Time per output token: with the cache vs re-running the prefix")
        .mark_line(point=True)
        .encode(x=alt.X("context", title="tokens already in the sequence"),
                y=alt.Y("ms", scale=alt.Scale(type="log"), title="ms per token (median)"),
                color=alt.Color("cache", sort=None), tooltip=list(table.columns))
        .properties(width=380, height=230)
    )


@v.checked
def throughput_chart(table: pd.DataFrame) -> alt.Chart:
    """Tokens per second against batch size for decode and prefill, log-log:
    measured (solid) and, when ``table`` has a ``predicted tokens/s`` column,
    predicted (dashed). ``table`` has columns ``batch``, ``phase`` and
    ``tokens/s``. Lesson 07, section 3."""
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a pandas DataFrame, got {type(table).__name__}")
    x = alt.X("batch", scale=alt.Scale(type="log", base=2))
    color = alt.Color("phase", sort=None)
    chart = alt.Chart(table).mark_line(point=True).encode(
        x=x, y=alt.Y("tokens/s", scale=alt.Scale(type="log")), color=color, tooltip=list(table.columns))
    title = "Tokens per second vs batch"
    if "predicted tokens/s" in table.columns:
        chart += alt.Chart(table).mark_line(strokeDash=[5, 4]).encode(x=x, y="predicted tokens/s", color=color)
        title += " (solid: measured; dashed: roofline of this machine)"
    return chart.properties(width=380, height=230, title=title)


@v.checked
def generation_batch_chart(table: pd.DataFrame, batch: v.PositiveInt, title: v.Text = "Batching up to the memory limit") -> alt.Chart:
    """Decode tokens/s and time per output token against batch, side by side,
    with the chosen ``batch`` marked. ``table`` has columns ``batch``,
    ``tokens/s`` and ``TPOT ms`` (:func:`course_lib.generation.batch_sweep`).
    Used by :func:`course_lib.ui.calculators.estimate_chart`; not tied to one lesson."""
    _frame("table", table, "batch", "tokens/s", "TPOT ms")
    chosen = table[table["batch"] == batch]
    x = alt.X("batch", scale=alt.Scale(type="log", base=2), title="batch (sequences decoded together)")

    def panel(y: str, title_: str, colour: str) -> alt.Chart:
        line_ = alt.Chart(table).mark_line(point=True, color=colour).encode(
            x=x, y=alt.Y(y, scale=alt.Scale(type="log")), tooltip=list(table.columns))
        dot = alt.Chart(chosen).mark_point(color="red", size=120, filled=True).encode(x="batch", y=y)
        return (line_ + dot).properties(width=250, height=200, title=title_)

    return alt.hconcat(panel("tokens/s", "Decode tokens/s", "steelblue"),
                       panel("TPOT ms", "Time per output token (ms)", "orange")).properties(title=title)

# ------------------------------------------------------------ serving engine (lesson 08)


def _check_columns(table, columns: set, where: str) -> None:
    if not isinstance(table, pd.DataFrame) or not columns <= set(table.columns):
        raise TypeError(f"table must be a DataFrame with columns {sorted(columns)} ({where})")


@v.checked
def engine_batch_chart(table: pd.DataFrame) -> alt.Chart:
    """Requests in each forward call, one line per label, from
    :func:`course_lib.engine.step_table`. Lesson 08, section 2."""
    _check_columns(table, {"label", "step", "requests"}, "engine.step_table")
    return (
        alt.Chart(table, title="Requests in each forward call")
        .mark_line(interpolate="step-after")
        .encode(
            x=alt.X("step", title="forward call"),
            y=alt.Y("requests", title="requests in the call"),
            color=alt.Color("label:N", title="policy"),
            tooltip=["label", "step", "requests", "tokens"],
        )
        .properties(width=420, height=200)
    )


@v.checked
def kv_memory_chart(table: pd.DataFrame) -> alt.Chart:
    """KV-cache KiB reserved and used at each forward call (and the pool
    allocated, where the table has ``pool_KiB``), one colour per label, one
    dash per kind, from :func:`course_lib.engine.step_table`. Lesson 08, section 3."""
    _check_columns(table, {"label", "step", "reserved_KiB", "used_KiB"}, "engine.step_table")
    kinds = ["pool_KiB"] * ("pool_KiB" in table.columns) + ["reserved_KiB", "used_KiB"]
    long = table.melt(id_vars=["label", "step"], value_vars=kinds, var_name="bytes", value_name="KiB")
    long["bytes"] = long["bytes"].str.replace("_KiB", "")
    return (
        alt.Chart(long, title="KV cache: reserved vs used")
        .mark_line()
        .encode(
            x=alt.X("step", title="forward call"),
            y=alt.Y("KiB", title="KV cache (KiB)"),
            color=alt.Color("label:N", title="layout"),
            strokeDash=alt.StrokeDash("bytes:N", title="bytes"),
            tooltip=["label", "step", "bytes", "KiB"],
        )
        .properties(width=420, height=220)
    )


@v.checked
def speculative_chart(table: pd.DataFrame) -> alt.Chart:
    """Tokens per target call against k: ``measured`` and ``predicted`` columns
    (the lesson's table). Lesson 08, section 6."""
    _check_columns(table, {"k", "measured", "predicted"}, "columns k, measured, predicted")
    long = table.melt(id_vars="k", value_vars=["measured", "predicted"], var_name="tokens per target call",
                      value_name="tokens")
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


def validation_chart(table: pd.DataFrame, title: str = "Predicted ÷ published") -> alt.Chart:
    """The course's predictions against published figures
    (:func:`course_lib.validation.table`): for each case, expected ÷ published
    and bound ÷ published on a log axis, the band the course claims shaded
    and the line where prediction equals measurement. A bound must sit at or
    below 1. Lessons 05 and 07, the validation sections."""
    _frame("table", table, "case", "published", "bound", "expected", "band", "why")
    title = v.string("title", title)
    rows = []
    for r in table.itertuples():
        rows.append({"case": r.case, "figure": "expected", "ratio": r.expected / r.published, "why": r.why})
        if r.bound is not None and r.bound == r.bound:
            rows.append({"case": r.case, "figure": "bound", "ratio": r.bound / r.published, "why": r.why})
    points = pd.DataFrame(rows)
    band = float(table["band"].max())
    order = list(table["case"])
    y = alt.Y("ratio:Q", scale=alt.Scale(type="log", domain=[0.1, 3]), title="predicted ÷ published (log)")
    shade = alt.Chart(pd.DataFrame({"lo": [1 / band], "hi": [band]})).mark_rect(opacity=0.15, color="green").encode(
        y="lo:Q", y2="hi:Q")
    one = alt.Chart(pd.DataFrame({"ratio": [1.0]})).mark_rule(color="black").encode(y="ratio:Q")
    dots = alt.Chart(points).mark_point(filled=True, size=60).encode(
        x=alt.X("case:N", sort=order, title=None), y=y, color=alt.Color("figure:N", title=None),
        shape="figure:N", tooltip=["case", "figure", alt.Tooltip("ratio:Q", format=".2f"), "why"])
    return alt.layer(shade, one, dots, title=f"{title} (band ×{band:g} shaded)").properties(width=520, height=260)


# ------------------------------------------------------------ a model's whole life (lesson 09)


def lifetime_split_chart(table: pd.DataFrame, title: str = "Training once vs serving for the deployment") -> alt.Chart:
    """Training against lifetime inference, in dollars and in energy: one
    stacked bar per ``measure``, each split into ``phase`` shares. ``table``
    has columns ``measure`` ("dollars", "energy"), ``phase`` ("training",
    "inference"), ``share`` (0–1) and ``amount`` (a text shown in the
    tooltip). Used by :func:`course_lib.ui.calculators.lifetime_chart`; not tied to one lesson."""
    _frame("table", table, "measure", "phase", "share", "amount")
    return (
        alt.Chart(table, title=v.string("title", title))
        .mark_bar()
        .encode(
            y=alt.Y("measure:N", title=None, sort=None),
            x=alt.X("share:Q", stack="zero", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1]),
                    title="share of the model's lifetime"),
            color=alt.Color("phase:N", sort=["training", "inference"]),
            order=alt.Order("phase:N", sort="descending"),
            tooltip=["measure", "phase", alt.Tooltip("share:Q", format=".1%"), "amount"],
        )
        .properties(width=420, height=110)
    )
