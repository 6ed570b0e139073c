"""course_lib.ui.widgets: the Calculator wiring and the browser-test protocol."""

import json

import ipywidgets as w
import pytest

from course_lib.ui import widgets


def _area(width, height):
    if width * height > 100:
        raise ValueError("width · height must be at most 100")
    return {"area": width * height, "perimeter": 2 * (width + height)}


def _render(r):
    return (
        f"<p>area <span class=\"calc-out\" data-key=\"area\">{r['area']} m²</span>, "
        f"perimeter <span class='calc-out' data-key='perimeter'><b>{r['perimeter']}</b>  m</span></p>"
    )


def _calc(title="Rectangle"):
    controls = {"width": w.IntSlider(value=3, min=1, max=20), "height": w.IntSlider(value=4, min=1, max=20)}
    return widgets.Calculator(controls, _area, _render, title=title)


def test_update_on_change_and_error_shown_not_raised():
    calc = _calc()
    assert calc.last_result == {"area": 12, "perimeter": 14}
    calc.controls["width"].value = 5
    assert calc.last_result == {"area": 20, "perimeter": 18}
    assert widgets.calc_outputs(calc.result_html.value) == {"area": "20 m²", "perimeter": "18 m"}
    calc.controls["height"].value = 20  # 5 · 20 = 100 still allowed
    assert calc.last_error is None
    calc.controls["width"].value = 6  # 120 > 100
    assert calc.last_result is None
    assert "at most 100" in calc.last_error
    assert "⚠" in calc.result_html.value and "calc-out" not in calc.result_html.value
    assert calc.expected_outputs() == {}


def test_css_classes_and_registry():
    a, b = _calc("Will it fit?"), _calc("Will it fit?")
    assert a.slug.startswith("will-it-fit") and b.slug != a.slug
    assert widgets.REGISTRY[a.slug] is a and widgets.REGISTRY[b.slug] is b
    assert {"course-calc", f"calc-{a.slug}"} <= set(a.widget._dom_classes)
    assert "calc-result" in a.result_html._dom_classes
    assert {"calc-control", "calc-control-width"} <= set(a.controls["width"]._dom_classes)


def test_state_and_snapshot_json_use_a_fresh_compute():
    calc = _calc("Snapshot rectangle")
    calc.controls["width"].value = 7
    state = json.loads(widgets.snapshot_json())[calc.slug]
    assert state["controls"]["width"] == {"kind": "IntSlider", "value": 7, "min": 1, "max": 20, "step": 1,
                                          "readout_format": "d"}
    assert state["expected"] == {"area": "28 m²", "perimeter": "22 m"}
    assert state["shown"] == state["expected"]
    # If the widget showed something stale, shown and expected would differ.
    calc.result_html.value = _render({"area": 1, "perimeter": 2})
    assert calc.state()["shown"] != calc.state()["expected"]


def test_calc_outputs_parser():
    text = "<span class='calc-out x' data-key='a'>1 &amp; <i>2</i></span><span class='other'>no</span>"
    assert widgets.calc_outputs(text) == {"a": "1 & 2"}
    assert widgets.calc_outputs("<p>nothing</p>") == {}
    with pytest.raises(TypeError, match="result_html"):
        widgets.calc_outputs(None)


def test_slugify_and_bad_arguments():
    assert widgets.slugify("Cost: $ per day!") == "cost-per-day"
    assert widgets.slugify("??") == "calculator"
    with pytest.raises(TypeError, match="controls"):
        widgets.Calculator({}, _area, _render)
    with pytest.raises(TypeError, match="callables"):
        widgets.Calculator({"width": w.IntSlider()}, None, _render)


def test_dropdown_state_lists_labels():
    calc = widgets.Calculator({"kind": w.Dropdown(options=[("Adam", "adam"), ("SGD", "sgd")], value="sgd")},
                              lambda kind: kind, lambda r: f"<span class='calc-out' data-key='k'>{r}</span>")
    info = calc.state()["controls"]["kind"]
    assert info["options"] == ["Adam", "SGD"] and info["label"] == "SGD" and info["value"] == "sgd"
    assert calc.state()["expected"] == {"k": "sgd"}


def test_snapshot_of_named_calculators():
    calc = _calc("Named snapshot")
    assert list(widgets.snapshot([calc.slug])) == [calc.slug]
    assert json.loads(widgets.snapshot_json([calc.slug]))[calc.slug]["expected"] == {"area": "12 m²", "perimeter": "14 m"}
    with pytest.raises(ValueError, match="not in REGISTRY"):
        widgets.snapshot(["no-such-calculator"])
    with pytest.raises(TypeError, match="slugs"):
        widgets.snapshot(calc.slug)


def test_every_label_gets_room_for_the_longest_description():
    """Issue 22: "longest o…", "KV block (…": a calculator's labels are as wide as its longest
    description (8 px a character + 16), the sliders keep 240 px beside them, and a width the
    calculator set that is already wide enough stays."""
    import ipywidgets as w

    from course_lib.ui.widgets import Calculator

    long = "KV block (0 = reserve)"  # 22 characters: 22 * 8 + 16 = 192 px
    controls = {"a": w.IntSlider(value=1, min=0, max=3, description="rate"),
                "b": w.IntSlider(value=1, min=0, max=3, description=long),
                "c": w.Dropdown(options=["x"], description="d", style={"description_width": "300px"}, layout=w.Layout(width="600px")),
                "d": w.Checkbox(value=False, description="a checkbox keeps its own layout")}
    Calculator(controls, lambda a, b, c, d: a, lambda r: str(r), title="label widths")
    assert [controls[k].style.description_width for k in "ab"] == ["192px", "192px"]
    assert [controls[k].layout.width for k in "ab"] == ["432px", "432px"]
    assert controls["c"].style.description_width == "300px" and controls["c"].layout.width == "600px"
    assert controls["d"].layout.width is None
