"""One-off refactoring aid (issue 19 item 2): moves argument checks at the top
of a function body into its signature as declared domains.

A statement at the top of a body (after the docstring) such as
``x = v.positive_int("x", x)`` or ``v.choice("mode", mode, MODES)``, whose
argument name is the function's own parameter, becomes the parameter's
annotation (``x: v.PositiveInt``, ``mode: v.Choice[MODES]``) and the function
gets ``@v.checked``. Anything else is left alone. Usage::

    python tools/declare_domains.py course_lib/predict.py [--dry-run]
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path


def _lit(node, src):
    return ast.get_source_segment(src, node)


def domain_for(call: ast.Call, src: str) -> str | None:
    """The annotation text for a check call ``v.f("name", name, ...)``, or None."""
    f = call.func.attr
    kw = {k.arg: _lit(k.value, src) for k in call.keywords}
    extra = call.args[2:]
    if f == "positive_int":
        return "v.PositiveInt" if not kw else (f"v.Size({kw['maximum']})" if set(kw) == {"maximum"} else None)
    if f == "integer":
        lo, hi = kw.get("minimum"), kw.get("maximum")
        if set(kw) - {"minimum", "maximum"}:
            return None
        if hi is None and lo == "0":
            return "v.NonNegativeInt"
        if hi is None and lo == "1":
            return "v.PositiveInt"
        return f"v.IntRange({lo or 'None'}, {hi or 'None'})"
    if f == "positive":
        return "v.Positive" if not kw else (f"v.Range(0.0, {kw['maximum']}, allow_zero=False)"
                                            if set(kw) == {"maximum"} else None)
    if f == "number":
        lo, hi, az = kw.get("minimum"), kw.get("maximum"), kw.get("allow_zero", "True")
        if set(kw) - {"minimum", "maximum", "allow_zero"}:
            return None
        if not kw:
            return "v.Real"
        if lo in ("0", "0.0") and hi is None and az == "True":
            return "v.NonNegative"
        if lo in ("0", "0.0") and hi is None and az == "False":
            return "v.Positive"
        return f"v.Range({lo or 'None'}, {hi or 'None'}, allow_zero={az})"
    if f == "fraction":
        if not kw:
            return "v.Fraction"
        return "v.Fraction0" if kw == {"allow_zero": "True"} else None
    if f == "boolean" and not kw:
        return "v.Bool"
    if f == "string" and not kw:
        return "v.Str"
    if f == "seed" and not kw:
        return "v.Seed"
    if f == "choice" and len(extra) == 1 and not kw:
        return f"v.Choice[{_lit(extra[0], src)}]"
    if f == "numbers_list" and not extra:
        args = ", ".join(f"{k}={val}" for k, val in kw.items())
        return f"v.Numbers({args})"
    if f == "sequence" and not extra:
        args = ", ".join(f"{k}={val}" for k, val in kw.items())
        return f"v.Sequence({args})"
    if f == "module" and not extra:
        return "v.Model" if kw == {"needs_parameters": "True"} else ("v.Module" if not kw else None)
    return None


def _check_call(stmt):
    """(param name, call) when ``stmt`` is ``[p =] v.f("p", p, ...)``."""
    value = stmt.value if isinstance(stmt, (ast.Expr, ast.Assign)) else None
    if not isinstance(value, ast.Call) or not isinstance(value.func, ast.Attribute):
        return None
    if not (isinstance(value.func.value, ast.Name) and value.func.value.id == "v"):
        return None
    if len(value.args) < 2 or not isinstance(value.args[0], ast.Constant) or not isinstance(value.args[1], ast.Name):
        return None
    name = value.args[0].value
    if value.args[1].id != name:
        return None
    if isinstance(stmt, ast.Assign):
        if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name) or stmt.targets[0].id != name:
            return None
    return name, value


_SKIP = (ast.Lambda, ast.IfExp, ast.BoolOp, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _inline_checks(node, params):
    """Check calls on a parameter inside an expression, not under a condition or a lambda."""
    out = []
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, _SKIP):
            continue
        if isinstance(n, ast.Call):
            got = _check_call(ast.Expr(value=n))
            if got is not None and got[0] in params:
                out.append(got)
                continue
        stack.extend(ast.iter_child_nodes(n))
    return out


def _assigned(stmt) -> set:
    return {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def convert(path: Path, dry: bool = False) -> int:
    src = path.read_text()
    starts = [0]
    for line in src.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))

    def off(lineno, col):
        return starts[lineno - 1] + len(src.splitlines(keepends=True)[lineno - 1].encode()[:col].decode())

    def whole_lines(stmt):
        return starts[stmt.lineno - 1], starts[stmt.end_lineno]

    tree = ast.parse(src)
    edits = []  # (start, end, text)
    n = 0
    for fn in ast.walk(tree):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        params = {a.arg: a for a in fn.args.args + fn.args.kwonlyargs + fn.args.posonlyargs}
        body = fn.body
        i = 1 if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) else 0
        declared = {}  # name -> (domain text, optional)
        assigned = set()
        for stmt in body[i:]:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            # `if p is not None: p = v.f("p", p)` -> optional domain
            if (isinstance(stmt, ast.If) and not stmt.orelse and len(stmt.body) == 1
                    and isinstance(stmt.test, ast.Compare) and isinstance(stmt.test.left, ast.Name)
                    and isinstance(stmt.test.ops[0], ast.IsNot) and isinstance(stmt.test.comparators[0], ast.Constant)
                    and stmt.test.comparators[0].value is None):
                got = _check_call(stmt.body[0])
                if got and got[0] == stmt.test.left.id and got[0] in params and got[0] not in assigned \
                        and got[0] not in declared:
                    dom = _dom(got[1], params, src)
                    if dom:
                        declared[got[0]] = (dom, True)
                        edits.append((*whole_lines(stmt), ""))
                        continue
            if isinstance(stmt, (ast.If, ast.For, ast.While, ast.With, ast.Try, ast.Return)) and not isinstance(stmt, ast.Return):
                assigned |= _assigned(stmt)
                continue
            whole = _check_call(stmt)
            if whole and whole[0] in params and whole[0] not in assigned and whole[0] not in declared:
                dom = _dom(whole[1], params, src)
                if dom:
                    declared[whole[0]] = (dom, False)
                    edits.append((*whole_lines(stmt), ""))
                    continue
            for name, call in _inline_checks(stmt, params):
                if name in assigned:
                    continue
                dom = _dom(call, params, src)
                if dom is None or (name in declared and declared[name][0] != dom):
                    continue
                declared[name] = (dom, False)
                edits.append((off(call.lineno, call.col_offset), off(call.end_lineno, call.end_col_offset), name))
            assigned |= _assigned(stmt)
        if not declared:
            continue
        n += len(declared)
        for name, (dom, optional) in declared.items():
            arg = params[name]
            text = dom + (" | None" if optional else "")
            if arg.annotation is not None:
                a = arg.annotation
                edits.append((off(a.lineno, a.col_offset), off(a.end_lineno, a.end_col_offset), text))
            else:
                at = off(arg.lineno, arg.end_col_offset)
                edits.append((at, at, ": " + text))
        decorated = any((_lit(d, src) or "").startswith("v.checked") for d in fn.decorator_list)
        if not decorated:
            first = fn.decorator_list[0].lineno if fn.decorator_list else fn.lineno
            line = src.splitlines(keepends=True)[first - 1]
            indent = line[: len(line) - len(line.lstrip())]
            edits.append((starts[first - 1], starts[first - 1], indent + "@v.checked\n"))
    for a, b, text in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        src = src[:a] + text + src[b:]
    if not dry:
        path.write_text(src)
    return n


def _dom(call, params, src):
    uses = {n.id for x in call.args[2:] + [k.value for k in call.keywords] for n in ast.walk(x) if isinstance(n, ast.Name)}
    return None if uses & set(params) or "self" in uses else domain_for(call, src)


if __name__ == "__main__":
    dry = "--dry-run" in sys.argv
    for p in sys.argv[1:]:
        if p.startswith("--"):
            continue
        print(p, convert(Path(p), dry))
