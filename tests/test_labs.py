"""Every lab: generated copy current, solution all passed, unfilled lab runs to 0 of Y.

The solution notebooks themselves are re-run and compared by nbval; here we
check the committed summary line and run each generated lab in a kernel.
"""

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("lab*.ipynb"))
spec = importlib.util.spec_from_file_location("make_labs", ROOT / "tools" / "make_labs.py")
make_labs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_labs)
SUMMARY = re.compile(r"^(lab\d\d_\w+): (\d+) of (\d+) exercises passed$", re.M)


def _text(nb) -> str:
    return "".join(
        out.get("text", "") for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])
    )


def test_there_are_labs():
    assert [p.name for p in SOLUTIONS] == [
        "lab01_flops.ipynb", "lab02_memory.ipynb", "lab03_batch_size.ipynb",
        "lab04_precision.ipynb", "lab05_cost.ipynb", "lab06_scale.ipynb",
        "lab07_generation.ipynb", "lab08_serving.ipynb", "lab09_end_to_end.ipynb",
    ]


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_lab_is_up_to_date(solution):
    assert make_labs.sync(solution, check=True) == "current", "labs/ is out of date: run `make labs`"


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_committed_lab_records_the_hash_of_its_own_cells(solution):
    """A lab whose recorded hash does not match its cells looks hand-edited, and `make labs`
    refuses to regenerate it after the next solution change (a merge once left lab01 so)."""
    lab = nbformat.read(ROOT / "labs" / solution.name, as_version=4)
    assert lab.metadata["course_lab"]["cells_sha256"] == make_labs.cells_key(lab)


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_solution_passes_every_exercise(solution):
    nb = nbformat.read(solution, as_version=4)
    found = SUMMARY.findall(_text(nb))
    assert len(found) == 1, "the last cell must call check.summary() once"
    name, passed, total = found[0]
    assert name == solution.stem and passed == total and int(total) >= 4
    assert "check.summary()" in nb.cells[-1].source


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.stem)
def test_unfilled_lab_runs_and_reports_nothing_done(solution, tmp_path):
    lab = nbformat.read(ROOT / "labs" / solution.name, as_version=4)
    total = int(SUMMARY.findall(_text(nbformat.read(solution, as_version=4)))[0][2])
    NotebookClient(lab, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "labs")}}).execute()
    errors = [o for c in lab.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    text = _text(lab)
    assert SUMMARY.findall(text) == [(solution.stem, "0", str(total))]
    assert text.count("not done yet") == total
    assert "passed:" not in text
