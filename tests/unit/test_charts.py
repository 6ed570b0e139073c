"""The offline chart renderer and the shared chart builders (course_lib.ui.render, course_lib.ui.charts), and the env report."""

import altair as alt
import pandas as pd
import pytest

import course_lib as cl
from course_lib import env
from course_lib.ui import charts, render


def test_render_gives_vegalite_v5_svg_and_title():
    chart = charts.bar(pd.DataFrame({"k": ["a", "b"], "v": [1, 2]}), "k", "v", title="Two bars")
    bundle = render.render(chart.to_dict())
    assert set(bundle) == {"application/vnd.vegalite.v5+json", "image/svg+xml", "text/plain"}
    assert bundle["application/vnd.vegalite.v5+json"]["$schema"].startswith("https://vega.github.io/schema/vega-lite/v5")
    svg = bundle["image/svg+xml"]
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>") and "Two bars" in svg
    assert bundle["text/plain"] == "<chart: Two bars>"
    # the spec carries the data inline: nothing to fetch
    assert [row["v"] for row in next(iter(bundle["application/vnd.vegalite.v5+json"]["datasets"].values()))] == [1, 2]


def test_enable_makes_it_the_renderer():
    render.enable()
    assert alt.renderers.active == "course"


def test_builders_encode_the_given_columns():
    table = pd.DataFrame({"layer": ["net.0", "net.0"], "pass": ["forward", "forward + backward"], "MFLOPs": [1.0, 2.0]})
    spec = charts.flops_by_layer(table).to_dict()
    assert spec["encoding"]["y"]["field"] == "MFLOPs" and spec["encoding"]["color"]["field"] == "pass"
    times = pd.DataFrame({"what": ["a"], "median_ms": [1.0], "p10_ms": [0.9], "p90_ms": [1.2]})
    layered = charts.timing_bars(times).to_dict()
    assert [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in layered["layer"]] == ["bar", "errorbar"]
    spec = charts.line(pd.DataFrame({"b": [1, 2], "t": [3, 4]}), "b", "t", log_x=True).to_dict()
    assert spec["encoding"]["x"]["scale"] == {"type": "log"}


@pytest.mark.parametrize("builder", [charts.bar, charts.line])
def test_builders_reject_non_dataframes(builder):
    with pytest.raises(TypeError, match="data"):
        builder([1, 2], "x", "y")


def test_env_report_and_device():
    info = env.report()
    for key in ("python", "torch", "numpy", "altair", "ipywidgets", "cpu", "cpu capability", "torch threads", "gpu"):
        assert info[key]
    assert info["torch threads"] == str(__import__("torch").get_num_threads())
    assert all(line.split()[0] for line in env.describe().splitlines())
    assert env.device("cpu").type == "cpu"
    assert env.device().type in ("cpu", "cuda")
    with pytest.raises(ValueError, match="prefer"):
        env.device("tpu")


def test_setup_returns_the_device_and_validates():
    assert cl.setup(seed=1, n_threads=1).type in ("cpu", "cuda")
    assert __import__("torch").get_num_threads() == 1
    cl.env.configure_threads()
    with pytest.raises(ValueError, match="seed"):
        cl.setup(seed=-1)
    with pytest.raises(ValueError, match="n_threads"):
        cl.setup(n_threads=0)


# --- no legend label cut short (issue 22: "longest o…", the roofline's measured/predicted marks) ---------

LONG = ["measured: prefill of a 256-token prompt on this CPU (fastest run)",
        "predicted: the bound from the datasheet bandwidth of the H100 SXM"]


def _texts(svg: str) -> list[str]:
    import html
    import re

    return [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def test_legend_labels_are_drawn_whole():
    chart = alt.Chart(pd.DataFrame({"x": [1, 2], "y": [1, 2], "what": LONG})).mark_point().encode(x="x", y="y", color="what")
    out = render.render(chart.to_dict())
    assert out["application/vnd.vegalite.v5+json"]["config"]["legend"] == {"labelLimit": 0, "titleLimit": 0}
    texts = _texts(out["image/svg+xml"])
    assert all(label in texts for label in LONG) and not any(t.endswith("…") for t in texts)
    # Vega's default (160 px) would have cut both: the check above can fail
    import vl_convert

    cut = _texts(vl_convert.vegalite_to_svg(chart.to_dict(), vl_version="5.20"))
    assert sum(t.endswith("…") for t in cut) == 2


def test_full_legends_leaves_other_charts_and_own_settings_alone():
    plain = alt.Chart(pd.DataFrame({"x": [1], "y": [1]})).mark_point().encode(x="x", y="y").to_dict()
    assert render.full_legends(plain) == plain
    layered = (alt.Chart(pd.DataFrame({"x": [1], "y": [1], "c": ["a"]})).mark_line().encode(x="x", y="y", color="c")
               + alt.Chart(pd.DataFrame({"x": [1], "y": [1]})).mark_point().encode(x="x", y="y"))
    own = layered.configure_legend(labelLimit=300).to_dict()
    assert render.full_legends(own)["config"]["legend"] == {"labelLimit": 300, "titleLimit": 0}
    hidden = alt.Chart(pd.DataFrame({"x": [1], "c": ["a"]})).mark_point().encode(x="x", color=alt.Color("c", legend=None))
    assert "legend" not in render.full_legends(hidden.to_dict()).get("config", {})
    with pytest.raises(TypeError, match="spec"):
        render.full_legends("chart")


def _chart_svgs():
    import nbformat

    from nbselect import ROOT

    for folder in ("lessons", "solutions"):
        for path in sorted((ROOT / folder).glob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            for i, cell in enumerate(nb.cells):
                for out in cell.get("outputs", []):
                    svg = out.get("data", {}).get("image/svg+xml")
                    if svg:
                        yield f"{folder}/{path.name} cell {i}", "".join(svg) if isinstance(svg, list) else svg


def test_no_committed_chart_cuts_a_label():
    """Every chart a notebook shows, as drawn by Vega (its committed SVG): no text ends in "…".
    JupyterLab draws the same spec on a canvas, whose text the browser test cannot read."""
    cut = [f"{where}: {t!r}" for where, svg in _chart_svgs() for t in _texts(svg) if t.endswith("…")]
    assert cut == []
