"""The project's plumbing: notebook sizes, the test commands, the packaging metadata, and
the browser test's cell slicer (tests/support/nbselect.py)."""

import ast
import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

import nbselect

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[2]
EXECUTED = sorted((ROOT / "lessons").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*.ipynb"))
AVERAGE_KB = 200


@pytest.mark.skipif(not EXECUTED, reason="no notebooks yet")
def test_notebooks_average_at_most_200_kb():
    """Committed outputs stay light (charts as SVG, course_lib.ui.render.render): the notebooks
    under lessons/ and solutions/ average 200 KB (200 000 bytes) or less."""
    sizes = {p.relative_to(ROOT).as_posix(): p.stat().st_size for p in EXECUTED}
    average = sum(sizes.values()) / len(sizes)
    biggest = sorted(sizes.items(), key=lambda kv: -kv[1])[:3]
    assert average <= AVERAGE_KB * 1000, (
        f"notebooks average {average / 1000:.0f} KB (limit {AVERAGE_KB} KB); biggest: "
        + ", ".join(f"{name} {size / 1000:.0f} KB" for name, size in biggest))


#: What a wall-clock measurement is read through: a Timing's statistics and FLOP/s built from one.
TIMING_WORDS = re.compile(r"\.(fastest|median|p10|p90|iqr|samples)\b|\.percentile\(|flops_per_s")


def timing_asserts(nb) -> list[str]:
    """Assert statements in a notebook's code cells that read a timing."""
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # IPython magics
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Assert) and TIMING_WORDS.search(ast.unparse(node)):
                found.append(f"cell {i}: {ast.unparse(node)[:120]}")
    return found


@pytest.mark.parametrize("path", EXECUTED, ids=lambda p: p.name)
def test_no_notebook_asserts_on_a_timing(path):
    """Timings are shown, never checked (the developers' guide): another program on the machine
    can slow any one measurement by more than any margin allows (CI once saw an inference call
    at 0.28 s against its usual 3 ms). A lesson prints measure.compare's sentence instead."""
    assert timing_asserts(nbformat.read(path, as_version=4)) == []


def test_the_timing_assert_finder_finds_one():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("assert t_train.fastest > t_infer.fastest, (t_train, t_infer)"),
        nbformat.v4.new_code_cell("assert min(t.samples) > 0"),
        nbformat.v4.new_code_cell("assert n_bytes == 4 * n_params  # exact: allowed"),
        nbformat.v4.new_code_cell("%%time\nx = 1"),
    ])
    assert [f.split(":")[0] for f in timing_asserts(nb)] == ["cell 0", "cell 1"]


@pytest.mark.parametrize("path", EXECUTED + sorted((ROOT / "labs").glob("*.ipynb")), ids=lambda p: p.parent.name + "/" + p.name)
def test_no_notebook_carries_a_merge_conflict_record(path):
    """nbdime's merge driver records an unresolved conflict as `nbdime-conflicts` metadata
    (a merge once left one in labs/lab01_flops.ipynb); a committed notebook has none."""
    nb = nbformat.read(path, as_version=4)
    where = ["notebook"] if "nbdime-conflicts" in nb.metadata else []
    where += [f"cell {i}" for i, c in enumerate(nb.cells) if "nbdime-conflicts" in c.metadata]
    assert where == []



# --- what a learner sees in a notebook ---------------------------------------------------

ALL_NOTEBOOKS = EXECUTED + sorted((ROOT / "labs").glob("*.ipynb"))
_CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)  # fenced blocks, then inline code spans
_DISPLAY_MATH = re.compile(r"\$\$.*?\$\$", re.S)
_DOLLAR_AMOUNT = re.compile(r"(?<!\\)\$(?=\s?\d)")  # "$2M", "$ 20": not "\$2M"


def unescaped_dollars(markdown: str) -> list[str]:
    """Each dollar amount in ``markdown`` whose ``$`` is not escaped, with 20 characters of context.
    Code (fenced or inline) and display math (``$$…$$``) are left out: JupyterLab renders neither as text."""
    text = _DISPLAY_MATH.sub(" ", _CODE.sub(" ", markdown))
    return [text[max(0, m.start() - 20):m.end() + 20] for m in _DOLLAR_AMOUNT.finditer(text)]


def test_the_dollar_finder_finds_amounts_only():
    hits = unescaped_dollars("costs $2M to train vs $18M/year")
    assert len(hits) == 2 and hits[0].startswith("costs $2M") and hits[1].endswith("$18M/year")
    assert unescaped_dollars(r"costs \$2M, `$3M` in code, $$x = 2$$ and\n```\nprint('$4')\n```") == []
    assert unescaped_dollars("$ 5 a day") == ["$ 5 a day"]
    assert unescaped_dollars("the `$HOME` variable") == []


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: p.parent.name + "/" + p.name)
def test_no_markdown_cell_has_an_unescaped_dollar_amount(path):
    """JupyterLab reads a pair of dollars as inline math: "$2M training vs $18M" renders as
    italic "2Mtrainingvs" (issue 22). Every dollar amount in a markdown cell is written \$2M."""
    nb = nbformat.read(path, as_version=4)
    found = [f"cell {i}: {hit!r}" for i, c in enumerate(nb.cells) if c.cell_type == "markdown"
             for hit in unescaped_dollars(c.source)]
    assert found == [], "escape the $ as \\$:\n" + "\n".join(found)


def _nbtags():
    spec = importlib.util.spec_from_file_location("nbtags", ROOT / "tools" / "nbtags.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_nbtags_moves_the_comment_into_the_cell_tag():
    nbtags = _nbtags()
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("# NBVAL_IGNORE_OUTPUT\nprint(t)", outputs=[nbformat.v4.new_output("stream", text="1 ms\n")]),
        nbformat.v4.new_code_cell("x = 1  # NBVAL_IGNORE_OUTPUT is only a comment here"),
        nbformat.v4.new_code_cell("## NBVAL_IGNORE_OUTPUT\n\nshow()", metadata={"tags": ["keep"]}),
        nbformat.v4.new_markdown_cell("# NBVAL_IGNORE_OUTPUT"),
    ])
    assert nbtags.marked_cells(nb) == [0, 2]
    assert nbtags.convert(nb) == 2 and nbtags.marked_cells(nb) == [] and nbtags.convert(nb) == 0
    assert [c.source for c in nb.cells[:3]] == ["print(t)", "x = 1  # NBVAL_IGNORE_OUTPUT is only a comment here", "show()"]
    assert [c.metadata.get("tags") for c in nb.cells] == [["nbval-ignore-output"], None, ["keep", "nbval-ignore-output"], None]
    assert nb.cells[0].outputs[0].text == "1 ms\n"


def test_nbval_reads_the_tag_as_it_reads_the_comment():
    """The installed nbval ignores a tagged cell's output exactly as it did the comment's."""
    plugin = pytest.importorskip("nbval.plugin")
    assert dict(plugin.find_metadata_tags({"tags": ["nbval-ignore-output"]})) == {"check": False}
    assert dict(plugin.find_comment_markers("# NBVAL_IGNORE_OUTPUT\nx")) == {"check": False}


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: p.parent.name + "/" + p.name)
def test_no_notebook_shows_the_nbval_comment(path):
    """Test markers stay out of a learner's sight (issue 22): a cell whose output nbval must
    not compare carries the cell tag nbval-ignore-output (`python tools/nbtags.py NOTEBOOK`)."""
    assert _nbtags().marked_cells(nbformat.read(path, as_version=4)) == []


# --- test commands -----------------------------------------------------------------


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    start = readme.split("## Start", 1)[1].split("\n## ", 1)[0]
    assert re.search(r"^make test\s+#", start, re.M), "README's Start section must give `make test`"
    assert re.search(r"^make test-fast\s+#", start, re.M), "README's Start section must give `make test-fast`"
    commands = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert "make test" in commands and not any(c.startswith("make ") and c != "make test" for c in commands)


def test_make_test_fast_runs_unit_tests_without_the_slow_ones():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\ntest-fast:", 1)[1].split("\n\n", 1)[0]
    assert '-m "not slow"' in recipe and "--nbval" not in recipe and recipe.rstrip().endswith("exit $$rc")
    assert re.search(r"pytest .*\btests\b", recipe)


def _test_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


def test_every_slow_entry_names_an_existing_test():
    import conftest

    for entry in conftest.SLOW:
        file, _, name = entry.partition("::")
        assert (ROOT / file).is_file(), f"conftest.SLOW: no file {file}"
        if name:
            assert name in _test_functions(ROOT / file), f"conftest.SLOW: no test {name} in {file}"


# --- packaging metadata --------------------------------------------------------------


def test_licence_is_an_spdx_string_with_its_file():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] == "MIT"
    assert pyproject["project"]["license-files"] == ["LICENSE"]
    assert (ROOT / "LICENSE").read_text().startswith("MIT License\n")
    # license-files and SPDX strings need setuptools 77
    requires = [r.replace(" ", "") for r in pyproject["build-system"]["requires"]]
    assert "setuptools>=77" in requires, requires


# --- the browser test's slicer ------------------------------------------------------------

CELLS = [
    "import course_lib as cl\nfrom course_lib import sim\ndevice = cl.setup()",  # 0 set-up: always kept
    "overhead = 0.004\nper_sample = 0.0005",  # 1 needed by 5
    "table = sim.sweep([1, 2], overhead)\nprint(table)",  # 2 not needed
    "per_sample = per_sample * 1.0",  # 3 rebinds per_sample from 1: needed, and so is 1
    "[overhead for overhead in range(3)]\nlabels = {}",  # 4 a comprehension does not bind overhead
    "labels['a'] = 1",  # 5 changes labels in place: kept, and 4 that bound it
    "%time x = 1",  # 6 a magic: parsed as IPython does; x is not needed
    "calc = sim.calculator(overhead, per_sample, labels)\ncalc",  # 7 the calculator
    "print(calc)",  # 8 after the target: never kept
]


def test_slice_keeps_exactly_the_cells_a_calculator_needs():
    # 7 reads sim (0), overhead (1; 4's comprehension binds nothing), per_sample (3, which reads 1), labels (5, 4)
    assert nbselect.slice_cells(CELLS, [7]) == [0, 1, 3, 4, 5, 7]
    assert nbselect.slice_cells(CELLS, [2]) == [0, 1, 2]
    assert nbselect.slice_cells(CELLS, []) == [0]
    assert nbselect.slice_cells(CELLS[:1] + ["def f(:"] + CELLS[7:8], [2]) == [0, 1, 2]  # unparsable: kept


def test_cell_names_sees_bindings_changes_and_reads():
    bound, changed, read = nbselect.cell_names(
        "import numpy as np\nfrom a.b import c\ndef f(y):\n    z = y\n    return z\nt = np.zeros(3)\nt[0] = len(c)\nobj.attr = 1")
    assert bound == {"np", "c", "f", "t"}
    assert changed == {"t", "obj"}
    assert read == {"y", "z", "np", "t", "c", "obj"}  # len is a builtin


def test_browser_notebook_has_every_chart_and_calculator_cell(tmp_path):
    lesson = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from course_lib import fit", outputs=[]),
        nbformat.v4.new_code_cell("n = 1", outputs=[]),
        nbformat.v4.new_code_cell("chart", outputs=[nbformat.v4.new_output(
            "display_data", data={nbselect.CHART_MIME: {"mark": "bar"}, "text/plain": "<chart: A>"})]),
        nbformat.v4.new_code_cell("fit.fit_calculator()", outputs=[nbformat.v4.new_output(
            "display_data", data={nbselect.WIDGET_MIME: {"model_id": "x"}, "text/plain": "VBox()"})]),
    ])
    path = tmp_path / "09_x.ipynb"
    nbformat.write(lesson, path)
    out = nbselect.browser_notebook([path], tmp_path / "page")
    sources = [c["source"] for c in out["cells"]]
    assert sources[:4] == ["## 09_x.ipynb", "%reset -f", "from course_lib import fit", "fit.fit_calculator()"]
    assert len(sources) == 5 and "charts/09_x-1.json" in sources[4]
    assert (tmp_path / "page" / "charts" / "09_x-1.json").read_text() == (
        '{"application/vnd.vegalite.v5+json": {"mark": "bar"}, "text/plain": "<chart: A>"}')
    assert (tmp_path / "page" / "course.ipynb").is_file()
