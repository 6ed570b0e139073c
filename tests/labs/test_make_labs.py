"""The lab generator (tools/make_labs.py): stubs, up-to-date check, refusing to overwrite edits."""

import importlib.util
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("make_labs", ROOT / "tools" / "make_labs.py")
make_labs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_labs)

SOLUTION_CELL = "def f():\n    x = 1\n    # BEGIN SOLUTION\n    return x + 1\n    # END SOLUTION\n\ncheck(f)"


def test_strip_solutions_keeps_indent_and_names_lesson():
    out = make_labs.strip_solutions(SOLUTION_CELL, "lessons/01_x.ipynb")
    assert "return x + 1" not in out
    assert '    raise NotImplementedError("Your turn: write this. Reread lessons/01_x.ipynb if stuck.")' in out
    assert out.startswith("def f():\n    x = 1\n") and out.endswith("check(f)")


def test_unclosed_marker_is_an_error():
    with pytest.raises(ValueError, match="unclosed"):
        make_labs.strip_solutions("# BEGIN SOLUTION\nx = 1", "lessons/01_x.ipynb")


@pytest.fixture
def project(tmp_path):
    (tmp_path / "lessons").mkdir()
    (tmp_path / "solutions").mkdir()
    nbformat.write(new_notebook(cells=[new_markdown_cell("# lesson")]), tmp_path / "lessons" / "01_x.ipynb")
    sol = new_notebook(cells=[new_markdown_cell("# Lab"), new_code_cell(SOLUTION_CELL)])
    sol.cells[1].outputs = [nbformat.v4.new_output("stream", text="ok\n")]
    sol.cells[1].execution_count = 1
    path = tmp_path / "solutions" / "lab01_x.ipynb"
    nbformat.write(sol, path)
    return tmp_path, path


def test_generate_write_check_refuse_force(project):
    root, solution = project
    assert make_labs.sync(solution, check=True, root=root) == "stale"
    assert make_labs.sync(solution, root=root) == "written"
    lab = nbformat.read(root / "labs" / "lab01_x.ipynb", as_version=4)
    assert lab.cells[1].outputs == [] and lab.cells[1].execution_count is None
    assert "NotImplementedError" in lab.cells[1].source
    assert make_labs.sync(solution, check=True, root=root) == "current"

    # a learner edits the lab: regenerating must not destroy their work...
    lab.cells[1].source = lab.cells[1].source.replace('raise NotImplementedError("Your turn: write this. Reread lessons/01_x.ipynb if stuck.")', "return 2")
    nbformat.write(lab, root / "labs" / "lab01_x.ipynb")
    assert make_labs.sync(solution, root=root) == "refused"
    assert "return 2" in nbformat.read(root / "labs" / "lab01_x.ipynb", as_version=4).cells[1].source
    # ...unless forced
    assert make_labs.sync(solution, force=True, root=root) == "written"
    assert "return 2" not in nbformat.read(root / "labs" / "lab01_x.ipynb", as_version=4).cells[1].source


def test_outputs_alone_do_not_count_as_an_edit(project):
    root, solution = project
    make_labs.sync(solution, root=root)
    lab = nbformat.read(root / "labs" / "lab01_x.ipynb", as_version=4)
    lab.cells[1].outputs = [nbformat.v4.new_output("stream", text="ran it\n")]
    nbformat.write(lab, root / "labs" / "lab01_x.ipynb")
    assert make_labs.sync(solution, check=True, root=root) == "current"


def test_unedited_stale_lab_is_regenerated(project):
    root, solution = project
    make_labs.sync(solution, root=root)
    sol = nbformat.read(solution, as_version=4)
    sol.cells[0].source = "# Lab, revised"
    nbformat.write(sol, solution)
    assert make_labs.sync(solution, check=True, root=root) == "stale"
    assert make_labs.sync(solution, root=root) == "written"
    assert nbformat.read(root / "labs" / "lab01_x.ipynb", as_version=4).cells[0].source == "# Lab, revised"


def test_lesson_for_unknown_lab():
    with pytest.raises(ValueError, match="labNN_topic"):
        make_labs.lesson_for("exercise1")
