"""`make grade SUBMISSIONS=<dir>`: run every student's lab notebooks and write the class's grades.

Contract: ``<dir>/<student>/labNN_*.ipynb`` are the students' notebooks (folders
whose name starts with ``_`` or ``.`` are skipped). Each notebook is executed
headless with nbclient, in a fresh kernel, in a child process with a time
limit (``--timeout``, seconds per notebook), with the network cut off
(tests/support/netguard.py's guard: any non-loopback connection or DNS look-up is
refused) and ``COURSE_STUDENT`` set to the folder's name, so each student is
graded on their own variant of the inputs. Cells run on after an error
(``allow_errors``), and what the checks reported up to a timeout is kept: a
notebook that fails is graded for what ran.

The checks report through ``course_lib.check`` (``COURSE_RESULTS``: one JSON line
per exercise), not by reading printed text. An exercise counts as passed only
when its check was a verifier from ``course_lib.exercises``; exercises that never
ran count as not passed ("not run").

Writes, in ``<dir>``:

- ``grades.csv``: one row per student, lab and exercise: ``student, lab,
  exercise, passed, outcome, hint`` (the message the learner saw);
- ``summary.md``: per lab (students, mean exercises passed, students with all
  passed) and per exercise (pass rate, hardest first);
- ``hardest_exercises.svg``: the exercises' pass rates as a bar chart, hardest first;
- ``_executed/<student>/<notebook>``: each executed notebook, for a closer look.

    python tools/grade.py SUBMISSIONS [--timeout 300] [--jobs 2]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAB_FILE = re.compile(r"^(lab\d\d)_\w+\.ipynb$")
COLUMNS = ["student", "lab", "exercise", "passed", "outcome", "hint"]


def submissions(folder: Path) -> list[tuple[str, Path]]:
    """``(student, notebook)`` for every ``<folder>/<student>/labNN_*.ipynb``, sorted."""
    found = []
    for student in sorted(p for p in folder.iterdir() if p.is_dir() and p.name[0] not in "._"):
        for nb in sorted(student.glob("lab*.ipynb")):
            if LAB_FILE.match(nb.name):
                found.append((student.name, nb))
    return found


def student_id(folder_name: str) -> str:
    """The variant id for a student's folder: its name, with characters an id cannot hold
    (course_lib.check: letters, digits, ``. _ @ + -``, at most 64) replaced by ``-``."""
    sid = re.sub(r"[^A-Za-z0-9._@+-]", "-", folder_name)[:64]
    return sid if sid[:1].isalnum() else ("s" + sid)[:64]


def exercises_declared(notebook: Path) -> int | None:
    """The ``exercises=N`` the notebook gives ``check.start`` (for a notebook that stops before it runs)."""
    text = notebook.read_text(encoding="utf-8", errors="replace")
    found = re.findall(r"check\.start\([^)]*exercises=(\d+)", text)
    return int(found[0]) if len(found) == 1 else None


def execute_one(notebook: Path, output: Path, timeout: int) -> None:
    """Child process: execute ``notebook`` in a fresh kernel and write it to ``output`` (runs under the limit)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    workdir = Path(tempfile.mkdtemp(prefix="course-grade-"))
    try:
        client = NotebookClient(nb, timeout=timeout, startup_timeout=120, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": str(workdir)}})
        try:
            client.execute()
        finally:
            nbformat.write(nb, output)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _guard_env(folder: Path) -> dict[str, str]:
    """The environment for a child: tests/support/netguard.py's guard on (refuses non-loopback connections)."""
    if not (ROOT / "tests" / "support" / "netguard.py").exists():
        raise SystemExit("make grade: tests/support/netguard.py (the network guard) is missing; grading needs it")
    if str(ROOT / "tests" / "support") not in sys.path:
        sys.path.insert(0, str(ROOT / "tests" / "support"))
    import netguard

    log = netguard.install(folder)
    return netguard.env(folder, log)


def grade_one(student: str, notebook: Path, out_dir: Path, timeout: int) -> tuple[list[dict], str]:
    """Rows of ``grades.csv`` for one notebook, and a note on how its run ended."""
    lab = LAB_FILE.match(notebook.name).group(1)
    scratch = Path(tempfile.mkdtemp(prefix="course-grade-run-"))
    results = scratch / "results.jsonl"
    env = _guard_env(scratch)
    env.update({"COURSE_STUDENT": student_id(student), "COURSE_RESULTS": str(results), "PYTHONHASHSEED": "0"})
    env.pop("CI", None)
    executed = out_dir / "_executed" / student / notebook.name
    executed.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--one", str(notebook), str(executed), str(timeout)]
    # The child and its kernel run in a session of their own: on time-out the whole group is killed.
    proc = subprocess.Popen(cmd, env=env, cwd=scratch, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        _, err = proc.communicate(timeout=timeout)
        ended = "ran" if proc.returncode == 0 else f"stopped: {_last_line(err)}"
    except subprocess.TimeoutExpired:
        ended = f"stopped: over the {timeout} s limit"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the session started above: the child and its kernel
        except ProcessLookupError:
            pass
        proc.wait()
    entries = []
    if results.exists():
        for line in results.read_text(encoding="utf-8").splitlines():
            try:
                entries.append(json.loads(line))
            except ValueError:
                continue
    shutil.rmtree(scratch, ignore_errors=True)
    return rows_for(student, lab, entries, exercises_declared(notebook)), ended


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:200] if lines else "the run failed"


def rows_for(student: str, lab: str, entries: list[dict], declared: int | None) -> list[dict]:
    """One row per exercise: the last outcome each exercise reported (re-running a check
    cell replaces it); exercises never reported are "not run"."""
    starts = [e for e in entries if e.get("event") == "start" and e.get("lab", "").startswith(lab)]
    total = starts[-1]["exercises"] if starts else (declared or 0)
    last: dict[int, dict] = {}
    for e in entries:
        if e.get("event") == "exercise" and str(e.get("lab", "")).startswith(lab):
            last[int(e["exercise"])] = e
    rows = []
    for n in range(1, max([total, *last]) + 1 if (total or last) else 1):
        e = last.get(n)
        if e is None:
            rows.append(dict(student=student, lab=lab, exercise=n, passed=False, outcome="not run",
                             hint="the notebook never ran this exercise's check"))
            continue
        genuine = str(e.get("verifier", "")).startswith(f"course_lib.exercises.{lab}.")
        outcome = e["outcome"] if genuine or e["outcome"] != "passed" else "check replaced"
        hint = e.get("message", "") if genuine else (e.get("message", "") or "the check was not the lab's own")
        rows.append(dict(student=student, lab=lab, exercise=n, passed=outcome == "passed", outcome=outcome,
                         hint=hint))
    return rows


def summarize(rows: list[dict]) -> tuple[str, list[tuple[str, float]]]:
    """Markdown summary per lab and per exercise, and ``[(exercise, pass rate)]`` hardest first."""
    labs: dict[str, dict[str, list[bool]]] = {}
    for r in rows:
        labs.setdefault(r["lab"], {}).setdefault(r["student"], []).append(bool(r["passed"]))
    lines = ["# Grades summary", "", "## Per lab", "",
             "| lab | students | mean exercises passed | all passed |", "|---|---:|---:|---:|"]
    for lab, students in sorted(labs.items()):
        n_ex = max(len(v) for v in students.values())
        mean = sum(sum(v) for v in students.values()) / len(students)
        full = sum(all(v) and len(v) == n_ex for v in students.values())
        lines.append(f"| {lab} | {len(students)} | {mean:.1f} of {n_ex} | {full} |")
    per_ex: dict[str, list[bool]] = {}
    for r in rows:
        per_ex.setdefault(f"{r['lab']}.{r['exercise']}", []).append(bool(r["passed"]))
    rates = sorted(((k, sum(v) / len(v)) for k, v in per_ex.items()), key=lambda kv: (kv[1], kv[0]))
    lines += ["", "## Per exercise, hardest first", "", "| exercise | students | passed |", "|---|---:|---:|"]
    lines += [f"| {k} | {len(per_ex[k])} | {rate:.0%} |" for k, rate in rates]
    return "\n".join(lines) + "\n", rates


def chart(rates: list[tuple[str, float]], path: Path) -> None:
    """A bar chart of the exercises' pass rates, hardest first, saved as SVG (drawn offline)."""
    import altair as alt
    import pandas as pd
    import vl_convert as vlc

    table = pd.DataFrame({"exercise": [k for k, _ in rates], "passed": [r for _, r in rates]})
    spec = alt.Chart(table, title="Share of students passing each exercise (hardest first)").mark_bar().encode(
        x=alt.X("passed:Q", title="students passing", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("exercise:N", sort=None, title=None),
    ).properties(width=400)
    path.write_text(vlc.vegalite_to_svg(spec.to_dict()), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--one"]:
        execute_one(Path(argv[1]), Path(argv[2]), int(argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("submissions", type=Path, help="folder of <student>/labNN_*.ipynb")
    parser.add_argument("--timeout", type=int, default=300, help="seconds per notebook (default 300)")
    parser.add_argument("--jobs", type=int, default=max(1, min(4, (os.cpu_count() or 2) // 2)),
                        help="notebooks run at once (default: half the CPUs, at most 4)")
    args = parser.parse_args(argv)
    folder = args.submissions.resolve()
    if not folder.is_dir():
        print(f"make grade: SUBMISSIONS={args.submissions} is not a folder", file=sys.stderr)
        return 2
    found = submissions(folder)
    if not found:
        print(f"make grade: no <student>/labNN_*.ipynb under {folder}", file=sys.stderr)
        return 2
    from concurrent.futures import ThreadPoolExecutor

    rows = []
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:  # each job is a child process and its kernel
        runs = [(student, nb, pool.submit(grade_one, student, nb, folder, args.timeout)) for student, nb in found]
        for student, nb, run in runs:
            got, ended = run.result()
            rows += got
            print(f"{student}/{nb.name}: {sum(r['passed'] for r in got)} of {len(got)} passed ({ended})", flush=True)
    with open(folder / "grades.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    text, rates = summarize(rows)
    (folder / "summary.md").write_text(text, encoding="utf-8")
    chart(rates, folder / "hardest_exercises.svg")
    print(f"make grade: wrote {folder / 'grades.csv'}, summary.md and hardest_exercises.svg")
    return 0


if __name__ == "__main__":
    sys.exit(main())
