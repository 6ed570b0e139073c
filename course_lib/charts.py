"""Charts that render offline: in JupyterLab, in GitHub's viewer, under nbval.

:func:`enable` (called by :func:`course_lib.setup`) registers an Altair
renderer that puts two things in each chart's output:

- the Vega-Lite v5 spec (``application/vnd.vegalite.v5+json``), which
  JupyterLab 4 draws itself, interactively, with no internet (Altair 5's
  default ``html`` renderer would fetch Vega from a CDN, and Altair 6's v6
  mimetype is not drawn by JupyterLab 4);
- a PNG drawn in the kernel by ``vl-convert`` (no browser, no network), which
  GitHub's notebook viewer and other static viewers show.

The text fallback is the chart's title, so nbval compares something stable;
nbval skips PNGs, and a chart's data is in its spec, which it compares.

The builders below are used by the lessons named in their docstrings.
"""

from __future__ import annotations

import base64

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
    """Altair renderer: Vega-Lite spec + PNG + a stable text line."""
    import vl_convert

    png = vl_convert.vegalite_to_png(spec, vl_version="5.20", scale=1.5)
    return {
        _MIME: spec,
        "image/png": base64.b64encode(png).decode("ascii"),
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

    ``table`` has columns ``layer``, ``pass`` and ``GFLOPs``
    (see lesson 01).
    """
    return bar(
        table, "layer", "GFLOPs", color="pass", xOffset="pass", title="FLOPs by layer: forward vs forward + backward"
    )


def timing_bars(table: pd.DataFrame, title: str = "Wall time (median, with p10–p90)") -> alt.Chart:
    """Bars of median time with p10–p90 error bars.

    ``table`` has columns ``what``, ``median_ms``, ``p10_ms``, ``p90_ms``
    (lessons 01, 03, 04).
    """
    base = alt.Chart(table, title=title)
    bars = base.mark_bar().encode(x=alt.X("what", sort=None, title=None), y=alt.Y("median_ms", title="ms"), tooltip=list(table.columns))
    errs = base.mark_errorbar().encode(x=alt.X("what", sort=None), y="p10_ms", y2="p90_ms")
    return (bars + errs).properties(width=320, height=220)
