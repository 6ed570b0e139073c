"""`make grade` (tools/grade.py): a class's notebooks executed headless and graded.

The end-to-end test runs the real `make grade` on a folder with one student who
hands in every worked solution (graded on their own variant of the inputs:
every exercise must pass), one who hands in the untouched labs (none may
pass), and one whose notebook errors half-way and then hangs (graded for what
ran before the time limit). The rest checks the rows and the summary.
"""

from __future__ import annotations

import csv
import importlib.util
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("course_grade", ROOT / "tools" / "grade.py")
grade = importlib.util.module_from_spec(spec)
spec.loader.exec_module(grade)

LABS = sorted((ROOT / "labs").glob("lab*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("lab*.ipynb"))


def _entry(n, outcome, verifier="course_lib.exercises.lab07.verify_x", message=""):
    return {"event": "exercise", "lab": "lab07_generation", "exercise": n, "title": "t", "outcome": outcome,
            "message": message, "verifier": verifier}


def test_rows_keep_the_last_outcome_and_mark_what_never_ran():
    entries = [{"event": "start", "lab": "lab07_generation", "exercises": 5, "student": "ada"},
               _entry(1, "wrong", message="Not yet: hint"), _entry(1, "passed"), _entry(2, "failed", message="boom")]
    rows = grade.rows_for("ada", "lab07", entries, declared=5)
    assert [(r["exercise"], r["passed"], r["outcome"]) for r in rows] == [
        (1, True, "passed"), (2, False, "failed"), (3, False, "not run"), (4, False, "not run"), (5, False, "not run")]
    assert rows[1]["hint"] == "boom"


def test_a_check_that_is_not_the_labs_own_does_not_pass():
    rows = grade.rows_for("eve", "lab07", [_entry(1, "passed", verifier="__main__.<lambda>")], declared=1)
    assert rows[0]["passed"] is False and rows[0]["outcome"] == "check replaced"


def test_a_notebook_that_never_started_is_graded_from_its_declared_count():
    rows = grade.rows_for("zed", "lab03", [], declared=4)
    assert [r["outcome"] for r in rows] == ["not run"] * 4


def test_summary_puts_the_hardest_exercise_first():
    rows = [dict(student=s, lab="lab01", exercise=e, passed=p) for s, e, p in
            [("a", 1, True), ("b", 1, True), ("a", 2, False), ("b", 2, True), ("a", 3, False), ("b", 3, False)]]
    text, rates = grade.summarize(rows)
    assert rates == [("lab01.3", 0.0), ("lab01.2", 0.5), ("lab01.1", 1.0)]
    assert "| lab01 | 2 | 1.5 of 3 | 0 |" in text


@pytest.mark.skipif(not SOLUTIONS, reason="solutions/ is not in this copy")
@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_grade_on_solutions_untouched_labs_and_a_broken_notebook(tmp_path):
    sub = tmp_path / "class"
    for student, notebooks in (("ada-01", SOLUTIONS), ("bob-02", LABS)):
        (sub / student).mkdir(parents=True)
        for nb in notebooks:
            shutil.copy(nb, sub / student / nb.name)
    # eve: lab07's worked solution up to exercise 2, then an error, then a cell that never ends
    nb = nbformat.read(ROOT / "solutions" / "lab07_generation.ipynb", as_version=4)
    cut = next(i for i, c in enumerate(nb.cells) if "check.exercise(2," in c.source) + 1
    nb.cells = nb.cells[:cut] + [nbformat.v4.new_code_cell("raise RuntimeError('my bug')"),
                                 nbformat.v4.new_code_cell("import time\nwhile True:\n    time.sleep(1)")]
    (sub / "eve-03").mkdir()
    nbformat.write(nb, sub / "eve-03" / "lab07_generation.ipynb")
    (sub / "_notes").mkdir()  # not a student

    proc = subprocess.run(["make", "-s", "grade", f"SUBMISSIONS={sub}", "GRADE_TIMEOUT=120", "GRADE_JOBS=2"],
                          cwd=ROOT, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(sub / "grades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["student", "lab", "exercise", "passed", "outcome", "hint"]
    by = {}
    for r in rows:
        by.setdefault((r["student"], r["lab"]), []).append(r)
    totals = {nb.stem[:5]: grade.exercises_declared(nb) for nb in LABS}
    for lab, total in totals.items():
        ada, bob = by[("ada-01", lab)], by[("bob-02", lab)]
        assert len(ada) == len(bob) == total
        assert all(r["passed"] == "True" for r in ada), (lab, ada)
        assert all(r["passed"] == "False" and r["outcome"] == "not done" for r in bob), (lab, bob)
        assert all("Reread lessons/" in r["hint"] for r in bob)
    eve = by[("eve-03", "lab07")]
    assert [(r["passed"], r["outcome"]) for r in eve] == [("True", "passed"), ("True", "passed")] + [
        ("False", "not run")] * 3
    assert "eve-03/lab07_generation.ipynb: 2 of 5 passed (stopped: over the 120 s limit)" in proc.stdout
    assert {r["student"] for r in rows} == {"ada-01", "bob-02", "eve-03"}
    summary = (sub / "summary.md").read_text()
    assert "## Per exercise, hardest first" in summary and "| lab07 | 3 |" in summary
    assert (sub / "hardest_exercises.svg").read_text().lstrip().startswith("<svg")
    executed = nbformat.read(sub / "_executed" / "ada-01" / "lab07_generation.ipynb", as_version=4)
    assert any("5 of 5 exercises passed" in o.get("text", "") for c in executed.cells if c.cell_type == "code"
               for o in c.outputs)


def test_a_folder_name_becomes_a_valid_student_id():
    from course_lib import check

    for name, want in (("ada", "ada"), ("John Doe", "John-Doe"), ("_x", "s_x"), ("é" * 70, "s" + "-" * 63)):
        sid = grade.student_id(name)
        assert sid == want
        check.set_student(sid)  # accepted
    check.set_student(None)
