"""Generate the learner's labs from the solution notebooks.

``solutions/labNN_topic.ipynb`` is the single source. In each code cell, the
lines from ``# BEGIN SOLUTION`` to ``# END SOLUTION`` become one line,
``raise NotImplementedError("... reread lessons/NN_....ipynb ...")``, at the
marker's indentation; outputs and execution counts are dropped. The result is
``labs/labNN_topic.ipynb``.

A generated lab records a hash of its own cells in its metadata. If a lab on
disk no longer matches that hash, a learner (or instructor) has edited it,
and this tool refuses to overwrite it unless given ``--force`` (which first
saves the edited copy as ``labs/<name>.ipynb.bak``). An unedited lab whose
solution changed is simply regenerated.

The test suite asks :func:`verdict` whether ``labs/`` is current. In CI
(``CI`` set) and for developers (``COURSE_DEV=1``) a lab that differs from its
solution fails the test. On a learner's machine a lab edited by hand is the
learner's work: the test is skipped with a note saying so, not failed.

    python tools/make_labs.py            # write labs/ from solutions/
    python tools/make_labs.py --check    # exit 1 if labs/ is out of date
    python tools/make_labs.py --force    # overwrite edited labs too
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
BEGIN = re.compile(r"^(\s*)# BEGIN SOLUTION\s*$")
END = re.compile(r"^\s*# END SOLUTION\s*$")


def lesson_for(lab_name: str, root: Path = ROOT) -> str:
    """``lab01_flops`` → ``lessons/01_forward_vs_backward.ipynb`` (the lesson with the same number)."""
    match = re.match(r"lab(\d\d)_", lab_name)
    if not match:
        raise ValueError(f"lab name must look like labNN_topic, got {lab_name!r}")
    found = sorted((root / "lessons").glob(f"{match.group(1)}_*.ipynb"))
    if not found:
        raise ValueError(f"no lesson lessons/{match.group(1)}_*.ipynb for {lab_name}")
    return found[0].relative_to(root).as_posix()


def strip_solutions(source: str, lesson: str) -> str:
    """Replace every BEGIN/END SOLUTION block in ``source`` with a stub."""
    out, inside = [], False
    for line in source.splitlines():
        begin = BEGIN.match(line)
        if begin and not inside:
            inside = True
            out.append(f'{begin.group(1)}raise NotImplementedError("Your turn: write this. Reread {lesson} if stuck.")')
        elif END.match(line) and inside:
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"unclosed '# BEGIN SOLUTION' in a cell:\n{source}")
    return "\n".join(out)


def cells_key(nb) -> str:
    """Hash of what the learner can edit: cell types and sources (outputs aside)."""
    cells = [(c.cell_type, c.source) for c in nb.cells]
    return hashlib.sha256(json.dumps(cells).encode()).hexdigest()


def generate(solution: Path, root: Path = ROOT):
    """The lab notebook for ``solution`` (a NotebookNode, not written)."""
    nb = nbformat.read(solution, as_version=4)
    lab = copy.deepcopy(nb)
    lesson = lesson_for(solution.stem, root)
    for cell in lab.cells:
        cell.metadata = {k: val for k, val in cell.metadata.items() if k in ("tags",)}
        if cell.cell_type == "code":
            cell.source = strip_solutions(cell.source, lesson)
            cell.outputs = []
            cell.execution_count = None
    lab.metadata["course_lab"] = {"source": solution.relative_to(root).as_posix(), "cells_sha256": cells_key(lab)}
    return lab


def state(solution: Path, root: Path = ROOT) -> str:
    """``"current"``, ``"missing"``, ``"stale"`` (generated, but its solution changed since) or
    ``"edited"`` (someone changed its cells by hand) for ``labs/<name>`` of ``solution``."""
    target = root / "labs" / solution.name
    if not target.exists():
        return "missing"
    old = nbformat.read(target, as_version=4)
    if cells_key(old) == cells_key(generate(solution, root)):
        return "current"
    return "edited" if is_edited(old) else "stale"


def is_edited(lab) -> bool:
    """Whether a lab notebook's cells differ from the hash recorded when it was generated."""
    return cells_key(lab) != lab.metadata.get("course_lab", {}).get("cells_sha256")


def strict(environ=None) -> bool:
    """True in CI (``CI`` set and not "false"/"0") or for developers (``COURSE_DEV=1``)."""
    env = os.environ if environ is None else environ
    ci = env.get("CI", "").strip().lower()
    return (ci not in ("", "0", "false", "no")) or env.get("COURSE_DEV", "") == "1"


def verdict(solution: Path, root: Path = ROOT, environ=None) -> tuple[str, str]:
    """What the test suite does about ``labs/<name>``: ``("pass" | "fail" | "skip", message)``."""
    found = state(solution, root)
    name = f"labs/{solution.name}"
    if found == "current":
        return "pass", f"{name} is current"
    if found == "edited" and not strict(environ):
        return "skip", (f"{name} was edited by hand: that is your work, so it is not compared with "
                        f"solutions/ (CI and developers with COURSE_DEV=1 check it)")
    if found == "edited":
        return "fail", f"{name} was edited by hand; edit solutions/{solution.name} instead and run `make labs`"
    return "fail", f"{name} is {found}: run `make labs`"


def sync(solution: Path, *, force: bool = False, check: bool = False, root: Path = ROOT) -> str:
    """Bring ``labs/<name>`` up to date with ``solution``.

    Returns ``"current"``, ``"written"``, ``"stale"`` (check mode, would
    write) or ``"refused"`` (the lab was edited and ``force`` is off).
    """
    target = root / "labs" / solution.name
    new = generate(solution, root)
    if target.exists():
        old = nbformat.read(target, as_version=4)
        if cells_key(old) == cells_key(new):
            return "current"
        edited = is_edited(old)
        if check:
            return "stale"
        if edited and not force:
            return "refused"
        if edited:
            target.with_name(target.name + ".bak").write_bytes(target.read_bytes())
    elif check:
        return "stale"
    target.parent.mkdir(exist_ok=True)
    nbformat.write(new, target)
    return "written"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report; exit 1 if labs/ is out of date")
    parser.add_argument("--force", action="store_true", help="overwrite labs that were edited by hand")
    args = parser.parse_args(argv)
    status = 0
    solutions = sorted((ROOT / "solutions").glob("lab*.ipynb"))
    if not solutions:
        print("make labs: there is no solutions/ folder here (a learner's copy): the labs are left as they are")
        return 0
    names = {s.name for s in solutions}
    for solution in solutions:
        result = sync(solution, force=args.force, check=args.check)
        print(f"labs/{solution.name}: {result}")
        if result == "refused":
            print("  it was edited since it was generated (your work?), so it was left as it is; "
                  "--force overwrites it after saving your copy as labs/" + solution.name + ".bak", file=sys.stderr)
            status = 1
        elif result == "stale":
            status = 1
    for orphan in sorted((ROOT / "labs").glob("*.ipynb")):
        if orphan.name not in names:
            print(f"labs/{orphan.name}: has no solutions/{orphan.name}")
            status = 1
    if args.check and status:
        print("labs/ is out of date: run `make labs`", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
