"""Shared pieces for the course's calculators (ipywidgets over pure functions).

Each calculator keeps its arithmetic in a pure function that is unit-tested
on its own, and uses :class:`Calculator` for the wiring: controls whose
change recomputes the result, and a bad combination of inputs shown as a
message in the result area instead of an exception in the kernel.
Calculators: lesson 02 (``course_lib.fit``), 03 (``course_lib.simulate``),
05 (``course_lib.cost``), 06 (``course_lib.distributed``).
"""

from __future__ import annotations

import html
from typing import Callable

import ipywidgets as w


class Calculator:
    """Controls → ``compute(**values)`` → ``render(result)`` shown in ``result``.

    ``controls`` maps keyword names of ``compute`` to widgets. ``render``
    returns an HTML string. A ``ValueError`` or ``TypeError`` raised by
    ``compute`` is shown in the result area (``last_error`` keeps its text);
    the kernel never sees an exception. Optional ``chart`` returns an Altair
    chart drawn into ``chart_out`` from the same result.
    """

    def __init__(
        self,
        controls: dict[str, w.ValueWidget],
        compute: Callable[..., object],
        render: Callable[[object], str],
        chart: Callable[[object], object] | None = None,
        title: str = "",
    ):
        self.controls = controls
        self.compute = compute
        self.render = render
        self.chart = chart
        self.result_html = w.HTML()
        self.chart_out = w.Output()
        self.last_result: object = None
        self.last_error: str | None = None
        header = [w.HTML(f"<b>{html.escape(title)}</b>")] if title else []
        self.widget = w.VBox(header + [w.VBox(list(controls.values())), self.result_html, self.chart_out])
        for control in controls.values():
            control.observe(self.update, names="value")
        self.update()

    def values(self) -> dict[str, object]:
        return {name: control.value for name, control in self.controls.items()}

    def update(self, _change=None) -> None:
        try:
            result = self.compute(**self.values())
        except (ValueError, TypeError) as err:
            self.last_error = str(err)
            self.last_result = None
            self.result_html.value = f"<span style='color:#b00'>⚠ {html.escape(str(err))}</span>"
            self.chart_out.clear_output()
            return
        self.last_error = None
        self.last_result = result
        self.result_html.value = self.render(result)
        if self.chart is not None:
            self.chart_out.clear_output(wait=True)
            with self.chart_out:
                from IPython.display import display

                display(self.chart(result))

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
