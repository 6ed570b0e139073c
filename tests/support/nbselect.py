"""What the browser test takes from the lessons, and shared paths and checks.

Every notebook executes once per test run, under nbval (conftest.py adds the
offline and memory checks to that run). The browser test
(tests/notebooks/test_browser.py) does not run the lessons again: it builds one
notebook (:func:`browser_notebook`) holding what only a browser can check,
found by glob in every lesson, so a new lesson is covered with no edit:

- each chart a lesson shows (its committed output, the Vega-Lite spec that
  nbval compared against this run's), displayed again for JupyterLab to draw;
- each calculator (a cell whose committed output is a widget), built by the
  lesson's own cells: that cell and the earlier cells it needs, found by
  following the names it uses back through the lesson (:func:`slice_cells`).
"""

from __future__ import annotations

import ast
import builtins
import importlib.util
import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHART_MIME = "application/vnd.vegalite.v5+json"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def lessons() -> list[Path]:
    return sorted((ROOT / "lessons").glob("*.ipynb"))


def solutions() -> list[Path]:
    return sorted((ROOT / "solutions").glob("*.ipynb"))


def output_mimes(path: Path) -> set[str]:
    """Every MIME type in the committed outputs of notebook ``path``."""
    nb = json.loads(Path(path).read_text())
    return {
        mime
        for cell in nb.get("cells", [])
        for out in cell.get("outputs", [])
        for mime in out.get("data", {})
    }


def has_chart_or_widget(path: Path) -> bool:
    return bool(output_mimes(path) & {CHART_MIME, WIDGET_MIME})


def browser_lessons() -> list[Path]:
    """Lessons with a chart or a widget in their committed outputs."""
    return [p for p in lessons() if has_chart_or_widget(p)]


def browser_unavailable() -> str | None:
    """Why the browser test cannot run here, or ``None`` when it can."""
    if not os.access(CHROMIUM, os.X_OK):
        return (f"no Chromium at {CHROMIUM}: `make setup` installs it with apt-get (tools/install_chromium.sh), "
                "which needs root; install the `chromium` package to run the browser tests")
    if importlib.util.find_spec("playwright") is None:
        return "Playwright for Python is not installed (pip install -e '.[test]')"
    return None


def run_notebooks_module():
    """tools/run_notebooks.py as a module: the tests measure kernel memory with its
    ``_tree_rss(pid)``, so they and the budgets report (`make budgets`) agree."""
    spec = importlib.util.spec_from_file_location("run_notebooks", ROOT / "tools" / "run_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the browser test's notebook ----------------------------------------------------


def _python(source: str) -> str:
    """A cell's source as plain Python (IPython magics turned into calls)."""
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell(source)


class _Names(ast.NodeVisitor):
    """Names a cell binds at top level (``bound``), objects it changes in place through
    ``name[...] =`` or ``name.attr =`` (``changed``), and every name it reads (``read``)."""

    def __init__(self):
        self.bound, self.changed, self.read = set(), set(), set()
        self._depth = 0  # inside a function, class, lambda or comprehension: nothing binds at top level

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load):
            self.read.add(node.id)
        elif self._depth == 0:
            self.bound.add(node.id)

    def _store_target(self, node):
        while isinstance(node, (ast.Subscript, ast.Attribute)):
            node = node.value
        if isinstance(node, ast.Name):
            self.changed.add(node.id)

    def visit_Subscript(self, node):
        if isinstance(node.ctx, ast.Store):
            self._store_target(node)
        self.generic_visit(node)

    visit_Attribute = visit_Subscript

    def visit_Import(self, node):
        if self._depth == 0:
            for alias in node.names:
                self.bound.add(alias.asname or alias.name.split(".")[0])

    visit_ImportFrom = visit_Import

    def _scope(self, node, name=None):
        if name and self._depth == 0:
            self.bound.add(name)
        self._depth += 1
        self.generic_visit(node)
        self._depth -= 1

    def visit_FunctionDef(self, node):
        self._scope(node, node.name)

    visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef

    def visit_Lambda(self, node):
        self._scope(node)

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = visit_Lambda


def cell_names(source: str) -> tuple[set[str], set[str], set[str]]:
    """``(bound, changed, read)`` for one cell's source (see :class:`_Names`)."""
    names = _Names()
    names.visit(ast.parse(_python(source)))
    return names.bound, names.changed, names.read - set(dir(builtins))


def slice_cells(sources: list[str], targets: list[int]) -> list[int]:
    """Indices into ``sources`` (one lesson's code cells, in order) of the cells to run so that
    each cell in ``targets`` runs as it does in the lesson: the targets, the first cell (the
    lesson's set-up), and every earlier cell that binds or changes a name a selected later cell
    reads, followed back transitively. A cell that cannot be parsed is kept."""
    keep = set(targets) | ({0} if sources else set())
    needed: set[str] = set()
    for i in range(max(targets, default=-1), -1, -1):
        try:
            bound, changed, read = cell_names(sources[i])
        except SyntaxError:
            keep.add(i)
            continue
        if i not in keep and (bound | changed) & needed:
            keep.add(i)
        if i in keep:
            needed = (needed - bound) | read
    return sorted(keep)


def chart_outputs(path: Path) -> list[dict]:
    """The committed output bundles (``data``) of the charts in notebook ``path``, in order."""
    import nbformat  # joins the multi-line strings of the file format

    nb = nbformat.read(path, as_version=4)
    return [dict(out["data"]) for cell in nb.cells for out in cell.get("outputs", [])
            if CHART_MIME in out.get("data", {})]


def browser_notebook(paths: list[Path], folder: Path) -> dict:
    """Write into ``folder`` the browser test's notebook (``course.ipynb``, returned as JSON) and the
    chart files it reads: for each lesson in ``paths``, in its own namespace (``%reset -f``),
    the cells that build its calculators (:func:`slice_cells`), then one cell per chart it
    shows that displays the committed chart output again."""
    folder = Path(folder)
    (folder / "charts").mkdir(parents=True, exist_ok=True)
    cells = []

    def cell(kind, source):
        cells.append({"cell_type": kind, "metadata": {}, "source": source}
                     | ({"outputs": [], "execution_count": None} if kind == "code" else {}))

    for path in paths:
        code = [c for c in json.loads(Path(path).read_text())["cells"] if c["cell_type"] == "code"]
        sources = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in code]
        widgets = [i for i, c in enumerate(code)
                   if any(WIDGET_MIME in o.get("data", {}) for o in c.get("outputs", []))]
        cell("markdown", f"## {path.name}")
        cell("code", "%reset -f")
        if widgets:
            for i in slice_cells(sources, widgets):
                if not (sources[i].lstrip().startswith("# NBVAL_RAISES_EXCEPTION")
                        or "raises-exception" in code[i].get("metadata", {}).get("tags", [])):
                    cell("code", sources[i])
        for k, bundle in enumerate(chart_outputs(path), 1):
            name = f"charts/{path.stem}-{k}.json"
            (folder / name).write_text(json.dumps(bundle))
            cell("code", f"import json\nfrom IPython.display import display\n\n"
                         f"with open({name!r}) as f:\n    display(json.load(f), raw=True)  # {path.name}, chart {k}")
    out = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                       "language": "python"}},
           "nbformat": 4, "nbformat_minor": 5}
    (folder / "course.ipynb").write_text(json.dumps(out, indent=1))
    return out
