"""The library's layout (issue 10): a pure core under a ``ui`` package, no
import cycles, and no import from the core up into ``ui``."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[2] / "course_lib"
UI_LIBRARIES = ("altair", "ipywidgets", "vl_convert")


def _modules() -> dict[str, Path]:
    """Dotted name → file, for every module of the package."""
    out = {}
    for path in sorted(PKG.rglob("*.py")):
        parts = path.relative_to(PKG.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()
CORE = sorted(name for name in MODULES if not name.startswith("course_lib.ui"))


def _imports(name: str, path: Path) -> set[str]:
    """The course_lib modules that ``name`` imports, at its top level or inside a
    function (a function-level import hides a cycle from import time, not from a reader)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for a in node.names:
                full = f"{base}.{a.name}"
                found.add(full if full in MODULES else base)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def test_the_layout_is_there():
    assert "course_lib.ui.charts" in MODULES and "course_lib.ui.calculators" in MODULES
    assert "course_lib.processes" in MODULES
    assert not any(name in MODULES for name in ("course_lib.charts", "course_lib.widgets"))
    # the graph reader works: a known edge is seen
    assert "course_lib.fit" in GRAPH["course_lib.zero_fit"]
    assert "course_lib.ui.widgets" in GRAPH["course_lib.ui.calculators"]
    # function-level imports are read too
    assert "course_lib.measure" in _imports("course_lib.x", _write_module("def f():\n    from .measure import time_it\n"))


def _write_module(text: str) -> Path:
    import tempfile
    path = Path(tempfile.mkdtemp()) / "x.py"
    path.write_text(text)
    return path


def test_references_is_a_leaf():
    assert GRAPH["course_lib.references"] == set()


def test_no_import_cycles():
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(GRAPH[node]):
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt):] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for name in MODULES:
        if name not in state:
            visit(name, [name])


def test_the_cycle_detector_finds_a_cycle():
    GRAPH["course_lib.ui.charts"].add("course_lib.ui.calculators")
    try:
        with pytest.raises(pytest.fail.Exception, match="import cycle"):
            test_no_import_cycles()
    finally:
        GRAPH["course_lib.ui.charts"].discard("course_lib.ui.calculators")


@pytest.mark.parametrize("name", [n for n in CORE if n != "course_lib"])
def test_core_never_imports_ui(name):
    assert not any(m.startswith("course_lib.ui") for m in GRAPH[name]), GRAPH[name]


def test_importing_the_core_loads_no_ui_library():
    code = (
        "import importlib, sys\n"
        f"for name in {CORE!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(sorted(m for m in {UI_LIBRARIES!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", f"the core imported {out.stdout.strip()}"
    # and the check can fail: the ui layer does load them
    code_ui = "import sys, course_lib.ui.calculators\nprint(sorted(m for m in ('altair', 'ipywidgets') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code_ui], capture_output=True, text=True, timeout=300)
    assert out.stdout.strip() == "['altair', 'ipywidgets']", out.stderr


def test_imports_sit_at_module_top():
    """A function-level import is allowed only with a comment that says why
    (a heavy optional dependency)."""
    bad = []
    for name, path in MODULES.items():
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for inner in ast.walk(node):
                    if isinstance(inner, (ast.Import, ast.ImportFrom)):
                        before = lines[inner.lineno - 2].strip() if inner.lineno > 1 else ""
                        if not before.startswith("#") and "#" not in lines[inner.lineno - 1]:
                            bad.append(f"{name}:{inner.lineno}")
    assert bad == []


def test_every_public_function_names_the_lesson_that_uses_it():
    """Each public function's and method's docstring ends with the lesson and
    section (or the lab and exercise) that uses it, or says it is not tied to
    one lesson (the validation layer's declared domains)."""
    ends = re.compile(r"([Ll]essons? \d\d|[Ll]ab \d\d|[Ee]very (lesson|lab|calculator)|[Nn]ot tied to one lesson)[^.]*\.?[^.]*\.$")
    bad = []
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text())
        for node in tree.body:
            funcs = [node] if isinstance(node, ast.FunctionDef) else []
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                funcs = [f for f in node.body if isinstance(f, ast.FunctionDef)]
            for f in funcs:
                if f.name.startswith("_"):
                    continue
                doc = (ast.get_docstring(f) or "").strip()
                last = " ".join(doc.split("\n\n")[-1].split())
                if not ends.search(last[-200:]):
                    bad.append(f"{name}.{f.name}")
    assert bad == []
