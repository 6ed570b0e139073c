"""Back-links that are not true (issue 19 item 7), and the modules each lesson uses.

A public function, class or method whose docstring names a lesson ("Lesson 05,
section 3", "lessons 02–05", "lab 01, exercise 4") should be used by that name
in that lesson's notebooks (``lessons/NN_*.ipynb``, ``solutions/labNN_*.ipynb``,
``labs/labNN_*.ipynb``, code cells). This lists every false back-link::

    python tools/backlinks.py            # false back-links, by module
    python tools/backlinks.py --lessons  # the LESSONS map the notebooks imply

``tests/contract/test_backlinks.py`` uses the same functions.
"""

from __future__ import annotations

import ast
import functools
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "course_lib"

_LESSON = re.compile(r"\b[Ll]essons? ((?:\d\d(?:\s*[–-]\s*\d\d)?(?:,\s*|\s+and\s+)?)+)")
_LAB = re.compile(r"\b[Ll]abs? ((?:\d\d(?:,\s*|\s+and\s+)?)+)")


def lessons_named(doc: str) -> set[str]:
    """The two-digit lesson numbers a docstring names (a lab counts as its lesson)."""
    found = set()
    for m in _LESSON.finditer(doc):
        for part in re.findall(r"\d\d\s*[–-]\s*\d\d|\d\d", m.group(1)):
            if re.search(r"[–-]", part):
                lo, hi = (int(x) for x in re.split(r"\s*[–-]\s*", part))
                found |= {f"{i:02d}" for i in range(lo, hi + 1)}
            else:
                found.add(part)
    for m in _LAB.finditer(doc):
        found |= set(re.findall(r"\d\d", m.group(1)))
    return found


def notebooks(lesson: str) -> list[Path]:
    return sorted(ROOT.glob(f"lessons/{lesson}_*.ipynb")) + sorted(ROOT.glob(f"solutions/lab{lesson}_*.ipynb")) \
        + sorted(ROOT.glob(f"labs/lab{lesson}_*.ipynb"))


@functools.lru_cache(maxsize=None)
def code(lesson: str) -> str:
    out = []
    for nb in notebooks(lesson):
        for cell in json.loads(nb.read_text()).get("cells", []):
            if cell.get("cell_type") == "code":
                out.append("".join(cell.get("source", [])))
    return "\n".join(out)


def public_docstrings():
    """(module, qualified name, short name, docstring) for every public function, class and method."""
    for path in sorted(PKG.rglob("*.py")):
        if "exercises" in path.parts or path.name.startswith("_") and path.name != "__init__.py":
            continue
        mod = ".".join(path.relative_to(ROOT).with_suffix("").parts).replace(".__init__", "")
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                yield mod, node.name, node.name, ast.get_docstring(node) or ""
                if isinstance(node, ast.ClassDef):
                    for f in node.body:
                        if isinstance(f, ast.FunctionDef) and not f.name.startswith("_"):
                            yield mod, f"{node.name}.{f.name}", f.name, ast.get_docstring(f) or ""


def false_backlinks() -> list[tuple[str, str, str]]:
    """(module, name, lesson) for each lesson a docstring names whose notebooks never use the name."""
    cache: dict[str, str] = {}
    bad = []
    for mod, qual, short, doc in public_docstrings():
        for lesson in sorted(lessons_named(doc)):
            if lesson not in cache:
                cache[lesson] = code(lesson)
            if not cache[lesson] or not re.search(rf"(?<![\w]){re.escape(short)}(?!\w)", cache[lesson]):
                bad.append((mod, qual, lesson))
    return bad


_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+course_lib(?:\.(\w+))?[ \t]+import[ \t]+(\([^)]*\)|[\w \t,]+)|import[ \t]+course_lib\.(\w+))", re.M)


def modules_used(lesson: str) -> set[str]:
    """The course_lib modules a lesson's notebooks import (``from course_lib import x``,
    ``from course_lib.ui import charts``, ``import course_lib.x``) or reach as ``cl.x``."""
    text = code(lesson)
    found = set()
    for pkg, names, plain in _IMPORT.findall(text):
        if plain:
            found.add(plain)
        if pkg and (PKG / f"{pkg}.py").exists():
            found.add(pkg)
        for name in re.split(r"[\s,()]+", names or ""):
            if not name or name == "as":
                continue
            dotted = f"{pkg}.{name}" if pkg else name
            if (PKG / (dotted.replace(".", "/") + ".py")).exists() or (PKG / dotted.replace(".", "/")).is_dir():
                found.add(dotted)
    for name in re.findall(r"\bcl\.(\w+)\.", text):
        if (PKG / f"{name}.py").exists():
            found.add(name)
    return found


def lessons_map() -> dict[str, tuple[str, ...]]:
    lessons = sorted({p.name[:2] for p in (ROOT / "lessons").glob("[0-9][0-9]_*.ipynb")})
    return {lesson: tuple(sorted(modules_used(lesson))) for lesson in lessons}


def main(argv: list[str]) -> int:
    if "--lessons" in argv:
        print("LESSONS = {")
        for lesson, mods in lessons_map().items():
            print(f"    {lesson!r}: {mods!r},")
        print("}")
        return 0
    bad = false_backlinks()
    total = sum(len(lessons_named(doc)) for *_, doc in public_docstrings())
    by_mod: dict[str, list[str]] = {}
    for mod, qual, lesson in bad:
        by_mod.setdefault(mod, []).append(f"{qual} (lesson {lesson})")
    for mod, items in sorted(by_mod.items()):
        print(f"{mod}: {len(items)}")
        for item in items:
            print(f"    {item}")
    print(f"\n{len(bad)} false back-links of {total} lesson mentions in public docstrings")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
