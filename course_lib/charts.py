"""Charts that render offline: in JupyterLab, in GitHub's viewer, under nbval.

:func:`enable` (called by :func:`course_lib.setup`) registers an Altair
renderer that puts two things in each chart's output:

- the Vega-Lite v5 spec (``application/vnd.vegalite.v5+json``), which
  JupyterLab 4 draws itself, interactively, with no internet (Altair 5's
  default ``html`` renderer would fetch Vega from a CDN, and Altair 6's v6
  mimetype is not drawn by JupyterLab 4);
- an SVG drawn in the kernel by ``vl-convert`` (no browser, no network), which
  GitHub's notebook viewer and other static viewers show (5 to 15 times smaller than a PNG).

The text fallback is the chart's title, so nbval compares something stable;
nbval skips the SVG (conftest.py: its text layout depends on the machine's
fonts), and a chart's data is in its spec, which it compares.

The builders below are used by the lessons named in their docstrings.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

_MIME = "application/vnd.vegalite.v5+json"


def _title(spec: dict) -> str:
    title = spec.get("title", "")
    if isinstance(title, dict):
        title = title.get("text", "")
    if isinstance(title, list):
        title = " ".join(title)
    return f"<chart: {title}>" if title else "<chart>"


def render(spec: dict, **_ignored) -> dict:
    """Altair renderer: Vega-Lite spec + SVG + a stable text line."""
    import vl_convert

    svg = vl_convert.vegalite_to_svg(spec, vl_version="5.20")
    return {
        _MIME: spec,
        "image/svg+xml": svg,
        "text/plain": _title(spec),
    }


def enable() -> None:
    """Make :func:`render` Altair's renderer (idempotent)."""
    alt.renderers.register("course", render)
    alt.renderers.enable("course")


def bar(data: pd.DataFrame, x: str, y: str, *, color: str | None = None, title: str = "", **encode) -> alt.Chart:
    """A horizontal-or-vertical bar chart: ``x`` is the category, ``y`` the value.

    Extra keyword arguments go to ``Chart.encode`` (for example ``xOffset``).
    Lessons 01–06.
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    enc = {"x": alt.X(x, sort=None), "y": y, "tooltip": list(data.columns), **encode}
    if color:
        enc["color"] = color
    return alt.Chart(data, title=title).mark_bar().encode(**enc).properties(width=420, height=220)


def line(
    data: pd.DataFrame, x: str, y: str, *, color: str | None = None, title: str = "", log_x: bool = False, log_y: bool = False
) -> alt.Chart:
    """A line chart with points, optionally on log axes. Lessons 02–06."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    xs = alt.X(x, scale=alt.Scale(type="log") if log_x else alt.Undefined)
    ys = alt.Y(y, scale=alt.Scale(type="log") if log_y else alt.Undefined)
    enc = {"x": xs, "y": ys, "tooltip": list(data.columns)}
    if color:
        enc["color"] = color
    return alt.Chart(data, title=title).mark_line(point=True).encode(**enc).properties(width=420, height=240)


def flops_by_layer(table: pd.DataFrame) -> alt.Chart:
    """Grouped bars of FLOPs per layer, forward vs forward+backward.

    ``table`` has columns ``layer``, ``pass`` and ``MFLOPs`` (millions of
    FLOPs) (see lesson 01).
    """
    return bar(
        table, "layer", "MFLOPs", color="pass", xOffset="pass", title="FLOPs by layer: forward vs forward + backward"
    )


def timing_bars(table: pd.DataFrame, title: str = "Wall time (median, with p10–p90)") -> alt.Chart:
    """Bars of median time with p10–p90 error bars.

    ``table`` has columns ``what``, ``median_ms``, ``p10_ms``, ``p90_ms``
    (lessons 01, 03, 04).
    """
    base = alt.Chart(table, title=title)
    bars = base.mark_bar().encode(x=alt.X("what", sort=None, title=None), y=alt.Y("median_ms", title="ms"), tooltip=list(table.columns))
    errs = base.mark_errorbar().encode(x=alt.X("what", sort=None), y=alt.Y("p10_ms", title="ms"), y2="p90_ms")
    return (bars + errs).properties(width=320, height=220)


def cumulative_cost_chart(scenario) -> alt.Chart:
    """Cumulative spend over a deployment: the training step at day 0, then
    the inference ramp, their total, and a rule at the break-even day.
    ``scenario`` is a :class:`course_lib.cost.CostScenario`. Lesson 05.
    """
    from . import cost

    table = cost.cumulative_cost(scenario)
    table["$M"] = table["dollars"] / 1e6
    lines = alt.Chart(table).mark_line().encode(
        x=alt.X("day", title="days since deployment"),
        y=alt.Y("$M", title="cumulative spend ($M)"),
        color=alt.Color("series", sort=["training", "inference", "total"]),
        tooltip=["series", "day", "$M"],
    )
    chart = lines
    if scenario.break_even_day <= table["day"].max():
        even = pd.DataFrame({"day": [scenario.break_even_day], "what": ["break-even"]})
        chart = lines + alt.Chart(even).mark_rule(strokeDash=[4, 3], color="gray").encode(x="day", tooltip=["what", "day"])
    return chart.properties(width=420, height=240, title="Training once, inference every day")


def split_sensitivity_chart(table: pd.DataFrame) -> alt.Chart:
    """Inference's share of lifetime spend against deployment years, one line
    per traffic level. ``table`` has columns ``years``, ``traffic`` and
    ``inference share`` (0–1). Lesson 05.
    """
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


def lifetime_compute_chart(table: pd.DataFrame) -> alt.Chart:
    """Lifetime FLOPs (training + inference) against model size at equal
    quality, one line per inference demand, log-log. ``table`` has columns
    ``params (B)``, ``inference tokens`` and ``lifetime FLOPs``. Lesson 05.
    """
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


def gradient_histogram(table: pd.DataFrame, limits: dict[str, float] | None = None) -> alt.Chart:
    """Bars of how many gradients fall in each power-of-two bin, with a
    vertical rule at each of ``limits`` (label → log2 value, e.g. fp16's
    smallest subnormal at −24). ``table`` has columns ``log2 |gradient|``
    and ``count`` (see ``course_lib.precision.log2_histogram``). Lesson 04.
    """
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a pandas DataFrame, got {type(table).__name__}")
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


def quantization_accuracy(table: pd.DataFrame, baseline: float | None = None) -> alt.Chart:
    """Task accuracy against bits per weight, one line per ``scheme``, with a
    dashed rule at the fp32 ``baseline``. ``table`` has columns ``bits``,
    ``scheme`` and ``accuracy``. Lesson 04.
    """
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a pandas DataFrame, got {type(table).__name__}")
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


def zero_stages(table: pd.DataFrame, gpu_gb: float, gpu_name: str, title: str = "Memory per GPU by ZeRO stage") -> alt.Chart:
    """Stacked bars of per-GPU memory (GB) for ZeRO stages 0–3 with the GPU's
    memory as a red line. ``table`` has columns ``stage``, ``part``, ``GB``
    (see :func:`course_lib.zero_fit.stage_table`). Lesson 06."""
    order = ["weights", "gradients", "optimizer state", "activations"]
    data = table.assign(order=table["part"].map(order.index))
    bars = alt.Chart(data).mark_bar().encode(
        x=alt.X("stage", sort=None, title=None),
        y=alt.Y("GB", stack="zero", title="memory per GPU (GB)"),
        color=alt.Color("part", sort=order),
        order="order",
        tooltip=["stage", "part", alt.Tooltip("GB", format=".3g")],
    )
    gpu = pd.DataFrame({"GB": [gpu_gb], "label": [gpu_name]})
    rule = alt.Chart(gpu).mark_rule(color="red", strokeWidth=2).encode(y="GB", tooltip=["label", "GB"])
    return (bars + rule).properties(width=320, height=240, title=title)


def replica_latency(table: pd.DataFrame, target_ms: float | None = None) -> alt.Chart:
    """p95 latency (ms, log scale) against arrival rate, one line per replica
    count; optional dashed line at a latency target. ``table`` has columns
    ``rate_rps``, ``replicas``, ``p95_ms`` (see
    :func:`course_lib.serving.replica_sweep`). Lesson 06."""
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
