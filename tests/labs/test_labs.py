"""Every lab: generated copy current, solution all passed, unfilled lab runs to 0 of Y.

The solution notebooks themselves are re-run and compared by nbval; here we
check the committed summary line and run each generated lab in a kernel.

A learner's copy: a lab edited by hand is the learner's work, so on a learner's
machine the checks that compare it with its solution are skipped with a note
(in CI, ``CI`` set, and for developers, ``COURSE_DEV=1``, they fail:
tools/make_labs.py's ``verdict``). Without solutions/ (the copy an instructor
hands out) the tests that need it are skipped, saying so, and the labs still run.
"""

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = sorted((ROOT / "solutions").glob("lab*.ipynb"))
LABS = sorted((ROOT / "labs").glob("lab*.ipynb"))
NO_SOLUTIONS = "solutions/ is not in this copy (the labs an instructor hands out): nothing to compare the labs with"
needs_solutions = pytest.mark.skipif(not SOLUTIONS, reason=NO_SOLUTIONS)
spec = importlib.util.spec_from_file_location("make_labs", ROOT / "tools" / "make_labs.py")
make_labs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_labs)
SUMMARY = re.compile(r"^(lab\d\d_\w+): (\d+) of (\d+) exercises passed$", re.M)


def _text(nb) -> str:
    return "".join(
        out.get("text", "") for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
    )


NAMES = [
    "lab01_flops.ipynb", "lab02_memory.ipynb", "lab03_batch_size.ipynb",
    "lab04_precision.ipynb", "lab05_cost.ipynb", "lab06_scale.ipynb",
    "lab07_generation.ipynb", "lab08_serving.ipynb", "lab09_end_to_end.ipynb",
]


def test_there_are_labs():
    assert [p.name for p in LABS] == NAMES
    if SOLUTIONS:
        assert [p.name for p in SOLUTIONS] == NAMES


@needs_solutions
@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_lab_is_up_to_date(solution):
    outcome, message = make_labs.verdict(solution)
    if outcome == "skip":
        pytest.skip(message)
    assert outcome == "pass", message


@pytest.mark.parametrize("lab_path", LABS, ids=lambda p: p.stem)
def test_committed_lab_records_the_hash_of_its_own_cells(lab_path):
    """A lab whose recorded hash does not match its cells looks hand-edited, and `make labs`
    refuses to regenerate it after the next solution change (a merge once left lab01 so).
    On a learner's machine that is their work (skipped, saying so)."""
    lab = nbformat.read(lab_path, as_version=4)
    if make_labs.is_edited(lab) and not make_labs.strict():
        pytest.skip(f"labs/{lab_path.name} was edited by hand: that is your work")
    assert lab.metadata["course_lab"]["cells_sha256"] == make_labs.cells_key(lab)


def test_a_hand_edited_lab_is_the_learners_work_but_fails_in_ci(tmp_path):
    """A learner's machine: skip with a note; CI (CI=true) and developers (COURSE_DEV=1): fail.
    An unedited lab whose solution changed fails everywhere (the developer forgot `make labs`)."""
    (tmp_path / "lessons").mkdir()
    (tmp_path / "solutions").mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# lesson")]),
                   tmp_path / "lessons" / "01_x.ipynb")
    solution = tmp_path / "solutions" / "lab01_x.ipynb"
    code = "def f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)]), solution)
    assert make_labs.sync(solution, root=tmp_path) == "written"
    assert make_labs.verdict(solution, tmp_path, environ={"CI": "true"}) == ("pass", "labs/lab01_x.ipynb is current")

    lab_path = tmp_path / "labs" / "lab01_x.ipynb"
    lab = nbformat.read(lab_path, as_version=4)
    lab.cells[0].source = "def f():\n    return 2  # my answer"
    nbformat.write(lab, lab_path)
    learner = make_labs.verdict(solution, tmp_path, environ={})
    assert learner[0] == "skip" and "your work" in learner[1]
    assert make_labs.verdict(solution, tmp_path, environ={"CI": "false"})[0] == "skip"
    for env in ({"CI": "true"}, {"CI": "1"}, {"COURSE_DEV": "1"}):
        assert make_labs.verdict(solution, tmp_path, environ=env)[0] == "fail", env
    # `make labs` leaves the learner's work alone; --force keeps a copy first
    assert make_labs.sync(solution, root=tmp_path) == "refused"
    assert "my answer" in lab_path.read_text()
    assert make_labs.sync(solution, root=tmp_path, force=True) == "written"
    assert "my answer" in (tmp_path / "labs" / "lab01_x.ipynb.bak").read_text()

    sol = nbformat.read(solution, as_version=4)  # an unedited lab, its solution changed
    sol.cells.insert(0, nbformat.v4.new_markdown_cell("# revised"))
    nbformat.write(sol, solution)
    assert make_labs.verdict(solution, tmp_path, environ={})[0] == "fail"


@needs_solutions
@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_solution_passes_every_exercise(solution):
    nb = nbformat.read(solution, as_version=4)
    found = SUMMARY.findall(_text(nb))
    assert len(found) == 1, "the last cell must call check.summary() once"
    name, passed, total = found[0]
    assert name == solution.stem and passed == total and int(total) >= 4
    assert "check.summary()" in nb.cells[-1].source


def exercises_in(lab) -> int:
    """The ``exercises=N`` a lab's first code cell gives ``check.start``."""
    found = re.findall(r"check\.start\([^)]*exercises=(\d+)", "\n".join(c.source for c in lab.cells))
    assert len(found) == 1, "a lab calls check.start(..., exercises=N) once"
    return int(found[0])


@pytest.mark.parametrize("lab_path", LABS, ids=lambda p: p.stem)
def test_unfilled_lab_runs_and_reports_nothing_done(lab_path, tmp_path):
    lab = nbformat.read(lab_path, as_version=4)
    if make_labs.is_edited(lab) and not make_labs.strict():
        pytest.skip(f"labs/{lab_path.name} was edited by hand (your work): it is not an unfilled lab any more")
    total = exercises_in(lab)
    solution = ROOT / "solutions" / lab_path.name
    if solution.exists():
        assert total == int(SUMMARY.findall(_text(nbformat.read(solution, as_version=4)))[0][2])
    NotebookClient(lab, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "labs")}}).execute()
    errors = [o for c in lab.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    text = _text(lab)
    assert SUMMARY.findall(text) == [(lab_path.stem, "0", str(total))]
    assert text.count("not done yet") == total
    assert "passed:" not in text
