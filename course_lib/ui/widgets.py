"""Shared pieces for the course's calculators (ipywidgets over pure functions).

Each calculator keeps its arithmetic in a pure function that is unit-tested
on its own, and uses :class:`Calculator` for the wiring: controls whose
change recomputes the result, and a bad combination of inputs shown as a
message in the result area instead of an exception in the kernel.
The calculators themselves are in :mod:`course_lib.ui.calculators`.

How the browser test (``tests/notebooks/test_browser.py``) checks a calculator
--------------------------------------------------------------------
Nothing beyond the constructor is needed from a calculator's author, except
that ``render`` wraps each key number in :func:`result_span`
(``<span class="calc-out" data-key="NAME">TEXT</span>``). In return every
:class:`Calculator` marks its widgets with CSS classes:

- the outer ``VBox``: ``course-calc`` and ``calc-<slug>`` (:attr:`Calculator.slug`,
  from the title, unique within the kernel: a second calculator with the same
  title gets ``<slug>-2``);
- each control: ``calc-control`` and ``calc-control-<name>`` (``name`` is the
  keyword of ``compute`` it feeds);
- the result area: ``calc-result``.

and registers itself in :data:`REGISTRY` (slug → calculator). The test moves
a control in the page (keyboard or mouse), waits for the result to change,
then asks the kernel for :func:`snapshot_json`: for each calculator the
control values the kernel received, and the ``calc-out`` texts that a fresh
``render(compute(**values))`` gives for them (:meth:`Calculator.expected_outputs`).
The page must show exactly those texts, and a slider's readout must show the
value the kernel holds.
"""

from __future__ import annotations

import html
import json
import math
import re
from html.parser import HTMLParser
from typing import Callable

import ipywidgets as w
from IPython.display import display

_NOT_A_NUMBER = re.compile(r"(?<![\w.])(inf|-inf|nan|infinity)(?![\w.])", re.IGNORECASE)

#: Every calculator built in this kernel, by :attr:`Calculator.slug`.
REGISTRY: dict[str, "Calculator"] = {}


def result_span(key: str, text: str) -> str:
    """``text`` (HTML-escaped) in the calculator result span
    ``<span class="calc-out" data-key="KEY">``, which the browser test and
    :func:`calc_outputs` read. Used by :func:`course_lib.ui.calculators.render_engine_explorer` and
    :func:`course_lib.ui.calculators.render_estimate`; not tied to one lesson."""
    if not isinstance(key, str) or not key:
        raise TypeError(f"key must be a non-empty str, got {key!r}")
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return f'<span class="calc-out" data-key="{html.escape(key)}">{html.escape(text)}</span>'


def slugify(text: str) -> str:
    """Lower-case ``text`` with runs of other characters turned into ``-``
    (``"Will it fit?"`` → ``"will-it-fit"``); ``"calculator"`` when nothing is left.
    Not tied to one lesson."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "calculator"


class _CalcOutParser(HTMLParser):
    """Collects the text inside each ``<span class="calc-out" data-key=…>``."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: dict[str, str] = {}
        self._stack: list[str | None] = []  # for each open span: its key, or None

    def handle_starttag(self, tag, attrs):
        if tag != "span":
            return
        attrs = dict(attrs)
        classes = (attrs.get("class") or "").split()
        key = attrs.get("data-key") if "calc-out" in classes else None
        self._stack.append(key)
        if key is not None:
            self.found[key] = ""

    def handle_endtag(self, tag):
        if tag == "span" and self._stack:
            self._stack.pop()

    def handle_data(self, data):
        for key in self._stack:
            if key is not None:
                self.found[key] += data


def calc_outputs(result_html: str) -> dict[str, str]:
    """``{data-key: text}`` for every ``calc-out`` span in ``result_html``, with
    whitespace collapsed the way the browser test reads ``textContent``. Used by
    :meth:`course_lib.ui.widgets.Calculator.state` and :meth:`course_lib.ui.widgets.Calculator.expected_outputs`; not
    tied to one lesson."""
    if not isinstance(result_html, str):
        raise TypeError(f"result_html must be a str, got {type(result_html).__name__}")
    parser = _CalcOutParser()
    parser.feed(result_html)
    parser.close()
    return {key: " ".join(text.split()) for key, text in parser.found.items()}


#: Room for a control's description: pixels per character (generous for JupyterLab's 13 px
#: widget font, capitals included) plus padding, and the width left for the slider or box
#: beside it. The browser test checks that no label is cut short.
_LABEL_PX_PER_CHAR, _LABEL_PAD_PX, _CONTROL_PX = 8, 16, 240


def _px(width) -> float | None:
    """``"110px"`` → 110.0; anything else (``""``, ``None``, ``"initial"``, ``"50%"``) → None."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)px\s*", width or "")
    return float(match.group(1)) if match else None


def _fit_labels(controls) -> None:
    """Give every described control (sliders, dropdowns, text boxes; not checkboxes, whose
    description sits beside the box) a label column wide enough for the calculator's longest
    description, the same for all, and widen the control so its slider keeps its room.
    Widths the calculator set that are already wide enough are kept."""
    described = [c for c in controls if getattr(c, "description", "") and not isinstance(c, w.Checkbox)
                 and hasattr(getattr(c, "style", None), "description_width")]
    if not described:
        return
    need = max(len(c.description) for c in described) * _LABEL_PX_PER_CHAR + _LABEL_PAD_PX
    for c in described:
        label = _px(c.style.description_width)
        if label is None or label < need:
            c.style.description_width = f"{need:.0f}px"
            label = need
        width = _px(c.layout.width)
        if width is None or width < label + _CONTROL_PX:
            c.layout.width = f"{label + _CONTROL_PX:.0f}px"


def _jsonable(value):
    """A control value as JSON (numpy scalars → Python numbers, others → ``repr``)."""
    if isinstance(value, (bool, int, str)) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if hasattr(value, "item"):  # numpy scalar
        return _jsonable(value.item())
    if isinstance(value, (list, tuple)):
        return [_jsonable(x) for x in value]
    return repr(value)


class Calculator:
    """Controls → ``compute(**values)`` → ``render(result)`` shown in ``result``.

    ``controls`` maps keyword names of ``compute`` to widgets. ``render``
    returns an HTML string. A ``ValueError`` or ``TypeError`` raised by
    ``compute`` is shown in the result area (``last_error`` keeps its text);
    the kernel never sees an exception. Optional ``chart`` returns an Altair
    chart drawn into ``chart_out`` from the same result. The CSS classes and
    :data:`REGISTRY` entry described in the module docstring let the browser
    test find and check it.
    """

    def __init__(
        self,
        controls: dict[str, w.ValueWidget],
        compute: Callable[..., object],
        render: Callable[[object], str],
        chart: Callable[[object], object] | None = None,
        title: str = "",
        extras: tuple = (),
    ):
        if not isinstance(controls, dict) or not controls:
            raise TypeError("controls must be a non-empty dict of {compute keyword: widget}")
        if not callable(compute) or not callable(render):
            raise TypeError("compute and render must be callables")
        if chart is not None and not callable(chart):
            raise TypeError(f"chart must be a callable or None, got {type(chart).__name__}")
        if not isinstance(title, str):
            raise TypeError(f"title must be a string, got {title!r} ({type(title).__name__})")
        if not isinstance(extras, (tuple, list)) or not all(isinstance(x, w.Widget) for x in extras):
            raise TypeError(f"extras must be a tuple of widgets shown under the controls, got {type(extras).__name__}")
        self.controls = controls
        self.compute = compute
        self.render = render
        self.chart = chart
        self.title = title
        self.result_html = w.HTML()
        self.chart_out = w.Output()
        self.last_result: object = None
        self.last_error: str | None = None
        header = [w.HTML(f"<b>{html.escape(title)}</b>")] if title else []
        self.extras = tuple(extras)  # shown under the controls, not passed to compute (e.g. a clear button)
        self.widget = w.VBox(header + [w.VBox(list(controls.values()) + list(extras)), self.result_html,
                                       self.chart_out])
        self.slug = self._register(title or getattr(compute, "__name__", "calculator"))
        self.widget.add_class("course-calc")
        self.widget.add_class(f"calc-{self.slug}")
        self.result_html.add_class("calc-result")
        for name, control in controls.items():
            if hasattr(control, "add_class"):
                control.add_class("calc-control")
                control.add_class(f"calc-control-{slugify(name)}")
        _fit_labels(controls.values())
        for control in controls.values():
            control.observe(self.update, names="value")
        self.update()

    def _register(self, name: str) -> str:
        base = slugify(name)
        slug, n = base, 1
        while slug in REGISTRY:
            n += 1
            slug = f"{base}-{n}"
        REGISTRY[slug] = self
        return slug

    def values(self) -> dict[str, object]:
        """The controls' current values, by ``compute`` keyword. Used by the
        calculators of :mod:`course_lib.ui.calculators`; not tied to one lesson."""
        return {name: control.value for name, control in self.controls.items()}

    def _outcome(self) -> tuple[object, str]:
        """``(result, html)`` for the controls' values; raises ``ValueError`` when
        the result would show ``inf`` or ``nan`` (a learner never sees those)."""
        result = self.compute(**self.values())
        text = self.render(result)
        if _NOT_A_NUMBER.search(" ".join(calc_outputs(text).values())):
            raise ValueError("these inputs give a number too large (or undefined) to show; change one of them")
        return result, text

    def _show_error(self, err: Exception) -> None:
        message = str(err) if isinstance(err, (ValueError, TypeError)) else f"{type(err).__name__}: {err}"
        self.last_error = message
        self.last_result = None
        self.result_html.value = f"<span style='color:#b00'>⚠ {html.escape(message)}</span>"
        self.chart_out.outputs = ()

    def update(self, _change=None) -> None:
        """Recompute and redraw from the controls (called on every change); any
        error is shown in the widget, never raised. Used by :func:`course_lib.ui.calculators.cost_calculator` and
        :func:`course_lib.ui.calculators.fit_calculator`; not tied to one lesson."""
        try:
            result, text = self._outcome()
        except Exception as err:  # no exception escapes a widget callback
            self._show_error(err)
            return
        self.last_error = None
        self.last_result = result
        self.result_html.value = text
        if self.chart is not None:
            # Set the Output widget's state directly instead of drawing inside
            # ``with chart_out:``: that context manager, run while a cell
            # executes under nbclient, left the cell waiting until its timeout.
            self.chart_out.outputs = ()
            try:
                self.chart_out.append_display_data(self.chart(result))
            except Exception as err:
                self._show_error(err)

    def expected_outputs(self) -> dict[str, str]:
        """The ``calc-out`` texts of a fresh ``render(compute(**values))`` for the
        controls' current values (``{}`` when ``compute`` rejects them). This
        does not touch the widgets: it is what the page must show. Used by
        :meth:`course_lib.ui.widgets.Calculator.state`; not tied to one lesson."""
        try:
            _, text = self._outcome()
        except Exception:
            return {}
        return calc_outputs(text)

    def state(self) -> dict:
        """JSON-ready description for the browser test: slug, title, each
        control (kind, value, bounds, options), the result now shown, its
        ``calc-out`` texts, the expected texts, and the error if any. Lessons 02, 03, 04, 05, 06."""
        controls = {}
        for name, control in self.controls.items():
            info = {"kind": type(control).__name__, "value": _jsonable(control.value)}
            for attr in ("min", "max", "step", "base", "readout_format"):
                if hasattr(control, attr):
                    info[attr] = _jsonable(getattr(control, attr))
            if hasattr(control, "options"):
                info["options"] = [str(label) for label in getattr(control, "_options_labels", ())]
                info["label"] = _jsonable(getattr(control, "label", None))
            controls[name] = info
        return {
            "slug": self.slug,
            "title": self.title,
            "controls": controls,
            "shown": calc_outputs(self.result_html.value),
            "expected": self.expected_outputs(),
            "error": self.last_error,
        }

    def _ipython_display_(self) -> None:
        display(self.widget)


def snapshot(slugs: list[str] | None = None) -> dict[str, dict]:
    """:meth:`Calculator.state` of every calculator in :data:`REGISTRY` (or of
    those named in ``slugs``), by slug. Used by :func:`course_lib.ui.widgets.snapshot_json`; not tied to one lesson."""
    if slugs is None:
        slugs = list(REGISTRY)
    if isinstance(slugs, str) or not isinstance(slugs, (list, tuple)) or not all(isinstance(s, str) for s in slugs):
        raise TypeError(f"slugs must be a list of calculator slugs (str), got {slugs!r}")
    unknown = [s for s in slugs if s not in REGISTRY]
    if unknown:
        raise ValueError(f"slugs {unknown} are not in REGISTRY; known: {list(REGISTRY)}")
    return {slug: REGISTRY[slug].state() for slug in slugs}


def snapshot_json(slugs: list[str] | None = None) -> str:
    """:func:`snapshot` as a JSON string (what the browser test reads from the kernel).
    Not tied to one lesson."""
    return json.dumps(snapshot(slugs))  # controls keep their on-screen order
