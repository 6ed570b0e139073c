"""The offline chart renderer: charts that render in JupyterLab, in GitHub's
viewer and under nbval, with no network.

:func:`enable` (called by :func:`course_lib.setup`) registers an Altair
renderer that puts two things in each chart's output:

- the Vega-Lite v5 spec (``application/vnd.vegalite.v5+json``), which
  JupyterLab 4 draws itself, interactively, with no internet (Altair 5's
  default ``html`` renderer would fetch Vega from a CDN, and Altair 6's v6
  mimetype is not drawn by JupyterLab 4);
- an SVG drawn in the kernel by ``vl-convert`` (no browser, no network), which
  GitHub's notebook viewer and other static viewers show (5 to 15 times smaller than a PNG).

A chart with a legend gets ``config.legend`` limits of 0 (no limit: Vega's default
cuts a legend label at 160 px with "…", which hid which marks of lesson 07's
roofline are measured and which predicted); a chart's own legend config wins.

The text fallback is the chart's title, so nbval compares something stable;
nbval skips the SVG (conftest.py: its text layout depends on the machine's
fonts), and a chart's data is in its spec, which it compares.
"""

from __future__ import annotations

import altair as alt
import vl_convert

_MIME = "application/vnd.vegalite.v5+json"


def _title(spec: dict) -> str:
    title = spec.get("title", "")
    if isinstance(title, dict):
        title = title.get("text", "")
    if isinstance(title, list):
        title = " ".join(title)
    return f"<chart: {title}>" if title else "<chart>"


#: Legend settings every chart with a legend gets: no label or title is cut short.
LEGEND_LIMITS = {"labelLimit": 0, "titleLimit": 0}
_LEGEND_CHANNELS = {"color", "fill", "stroke", "shape", "size", "opacity", "fillOpacity", "strokeOpacity",
                    "strokeWidth", "strokeDash"}


def _has_legend(node) -> bool:
    """Whether a Vega-Lite spec (or part of one) encodes a field on a channel that draws a legend."""
    if isinstance(node, list):
        return any(_has_legend(x) for x in node)
    if not isinstance(node, dict):
        return False
    encoding = node.get("encoding")
    if isinstance(encoding, dict) and any(
            isinstance(enc, dict) and "field" in enc and enc.get("legend", {}) is not None
            for channel, enc in encoding.items() if channel in _LEGEND_CHANNELS):
        return True
    return any(_has_legend(v) for k, v in node.items() if k not in ("data", "datasets", "config"))


def full_legends(spec: dict) -> dict:
    """``spec`` with :data:`LEGEND_LIMITS` under ``config.legend`` where it draws a
    legend (settings the chart gives itself are kept); unchanged otherwise. Every lesson
    (through :func:`render`)."""
    if not isinstance(spec, dict):
        raise TypeError(f"spec must be a Vega-Lite spec (dict), got {type(spec).__name__}")
    if not _has_legend(spec):
        return spec
    config = dict(spec.get("config", {}))
    config["legend"] = {**LEGEND_LIMITS, **config.get("legend", {})}
    return {**spec, "config": config}


def render(spec: dict, **_ignored) -> dict:
    """Altair renderer: Vega-Lite spec + SVG + a stable text line. Every lesson
    (through :func:`enable`)."""
    spec = full_legends(spec)
    svg = vl_convert.vegalite_to_svg(spec, vl_version="5.20")
    return {
        _MIME: spec,
        "image/svg+xml": svg,
        "text/plain": _title(spec),
    }


def enable() -> None:
    """Make :func:`render` Altair's renderer (idempotent), through
    :func:`course_lib.setup`. Every lesson and lab."""
    alt.renderers.register("course", render)
    alt.renderers.enable("course")
