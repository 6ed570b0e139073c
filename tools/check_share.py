"""Share of argument-check lines in function bodies (issue 19's measure).

A body line is a check line when its statement calls a ``_validate`` check
(``v.positive(...)``, ``v.choice(...)``, ...) or is an ``if`` whose body only
raises ``ValueError``/``TypeError`` (every line of it). Docstrings, blank and
comment lines are not counted. Usage::

    python tools/check_share.py            # the five largest modules
    python tools/check_share.py course_lib/predict.py ...
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECKS = {"integer", "number", "positive", "positive_int", "fraction", "boolean", "string", "choice", "seed",
          "instance", "mapping", "sequence", "numbers_list", "tensor", "token_ids", "module", "model_input",
          "work", "fits_memory", "nonneg", "non_negative", "nonnegative_int", "size", "dtype", "callable_"}


def _calls_check(node) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Attribute) and sub.func.attr in CHECKS \
                and isinstance(sub.func.value, ast.Name) and sub.func.value.id == "v":
            return True
    return False


def _raises_only(node) -> bool:
    return isinstance(node, ast.If) and not node.orelse and all(
        isinstance(s, ast.Raise) and isinstance(s.exc, ast.Call) and getattr(s.exc.func, "id", "") in (
            "ValueError", "TypeError") for s in node.body)


def share(path: Path, src: str | None = None) -> tuple[int, int]:
    src = path.read_text() if src is None else src
    lines = src.splitlines()
    tree = ast.parse(src)
    body_lines, check_lines = set(), set()

    def code(a, b):
        return {i for i in range(a, b + 1) if lines[i - 1].strip() and not lines[i - 1].strip().startswith("#")}

    def visit_body(stmts):
        for s in stmts:
            if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue  # nested definitions are counted as functions of their own
            if isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) and isinstance(s.value.value, str):
                continue  # a docstring
            span = code(s.lineno, s.end_lineno)
            body_lines.update(span)
            if _raises_only(s) or (not isinstance(s, (ast.If, ast.For, ast.While, ast.With, ast.Try))
                                   and _calls_check(s)):
                check_lines.update(span)
            elif isinstance(s, (ast.If, ast.For, ast.While, ast.With, ast.Try)):
                body_lines.difference_update(span)  # count the compound's own lines below
                body_lines.update(code(s.lineno, s.lineno))
                if isinstance(s, ast.If) and _calls_check(s.test):
                    check_lines.update(code(s.lineno, s.lineno))
                for field in ("body", "orelse", "finalbody"):
                    visit_body(getattr(s, field, []) or [])
                for h in getattr(s, "handlers", []) or []:
                    body_lines.update(code(h.lineno, h.lineno))
                    visit_body(h.body)

    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            visit_body(node.body)
    return len(check_lines & body_lines), len(body_lines)


def _source(path: Path, rev: str | None) -> str:
    if rev is None:
        return path.read_text()
    rel = path.resolve().relative_to(ROOT)
    out = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{rel}"], capture_output=True, text=True)
    return out.stdout if out.returncode == 0 else ""  # not there at that revision


def main(argv: list[str]) -> int:
    rev = None
    if "--rev" in argv:  # measure the files as they were at a git revision
        i = argv.index("--rev")
        rev, argv = argv[i + 1], argv[:i] + argv[i + 2:]
    paths = [Path(p) for p in argv] or sorted(  # the five largest modules, the validation layer itself left out
        (p for p in (ROOT / "course_lib").rglob("*.py") if "exercises" not in p.parts and p.name != "_validate.py"),
        key=lambda p: -len(_source(p, rev).splitlines()))[:5]
    total_c = total_b = 0
    for p in paths:
        src = _source(p, rev)
        if not src:
            continue
        c, b = share(p, src)
        total_c, total_b = total_c + c, total_b + b
        print(f"{p.name if p.parent.name != 'ui' else 'ui/' + p.name:<24}{len(src.splitlines()):>6} lines"
              f"{b:>6} body{c:>6} check  {c / max(b, 1):6.1%}")
    print(f"{'all':<24}{'':>12}{total_b:>6} body{total_c:>6} check  {total_c / max(total_b, 1):6.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
