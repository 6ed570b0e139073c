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


def render(spec: dict, **_ignored) -> dict:
    """Altair renderer: Vega-Lite spec + SVG + a stable text line. Every lesson
    (through :func:`enable`)."""
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
