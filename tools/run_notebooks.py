"""Execute notebooks the way the project does, and report the budgets.

    python tools/run_notebooks.py                   # re-execute lessons/ and solutions/ in place
    python tools/run_notebooks.py lessons/02_memory.ipynb
    python tools/run_notebooks.py --no-write        # only measure (the budgets report)
    python tools/run_notebooks.py --markdown        # the table in Markdown, for the README

Each notebook runs in a fresh ``python3`` kernel from this environment, in
the notebook's folder. While it runs, a thread samples the memory of the
kernel and all its child processes (lesson 06's workers) every 100 ms; the
table gives the wall time and that peak per notebook and in total, and the
size of the notebook with its new outputs (written, or as it would be written
with ``--no-write``: the course keeps notebooks at 200 KB on average). Memory is
the proportional set size (PSS, where Linux reports it; else RSS): pages
shared between processes, such as torch's libraries mapped by every worker,
are split between them rather than counted once per process, which is how a
container's memory limit (Binder's) sees them. A notebook that fails is
reported and the others still run; the exit status is then 1. Budgets (COURSE_DESIGN.md):
≤ 30 s and ≤ 1 GB per notebook, ≤ 5 min in all, on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S, BUDGET_MB, TOTAL_BUDGET_S = 30.0, 1024.0, 300.0


def _memory(proc: psutil.Process) -> int:
    try:
        info = proc.memory_full_info()
        return getattr(info, "pss", info.rss)
    except psutil.AccessDenied:
        return proc.memory_info().rss


def _tree_rss(pid: int) -> int:
    """Memory of process ``pid`` and all its descendants, in bytes (PSS where available, else RSS)."""
    try:
        proc = psutil.Process(pid)
        procs = [proc] + proc.children(recursive=True)
    except psutil.Error:
        return 0
    total = 0
    for p in procs:
        try:
            total += _memory(p)
        except psutil.Error:
            pass
    return total


def execute(path: Path, *, write: bool = True, timeout: int = 300, sizes: dict | None = None) -> tuple[float, float]:
    """Run ``path`` top to bottom; return (seconds, peak MiB of kernel + children). With
    ``sizes``, also store there ``sizes[path]``: the notebook's size in bytes with the new outputs."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}, record_timing=False
    )
    peak, done = [0], threading.Event()

    def sample():
        while not done.is_set():
            km = getattr(client, "km", None)
            pid = getattr(getattr(km, "provisioner", None), "pid", None) if km else None
            if pid:
                peak[0] = max(peak[0], _tree_rss(pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    try:
        client.execute()
    finally:
        seconds = time.perf_counter() - start
        done.set()
        sampler.join()
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    if write:
        nbformat.write(nb, path)
    if sizes is not None:
        sizes[path] = len((nbformat.writes(nb) + "\n").encode())  # nbformat.write adds the final newline
    return seconds, peak[0] / 2**20


def default_notebooks() -> list[Path]:
    return sorted((ROOT / "lessons").glob("*.ipynb")) + sorted((ROOT / "solutions").glob("*.ipynb"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--no-write", action="store_true", help="measure only; leave the files as they are")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = parser.parse_args(argv)
    paths = [p.resolve() for p in args.notebooks] or default_notebooks()
    rows, over, failed, sizes = [], False, [], {}
    for path in paths:
        rel = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)
        try:
            seconds, mib = execute(path, write=not args.no_write, sizes=sizes)
        except CellExecutionError as err:  # report it, go on with the others
            failed.append(rel)
            print(f"{rel}: FAILED\n{str(err)[-2000:]}", file=sys.stderr)
            continue
        flag = seconds > BUDGET_S or mib > BUDGET_MB
        over |= flag
        rows.append((rel, seconds, mib, flag))
        print(f"{rel}: {seconds:.1f} s, peak {mib:.0f} MiB, {sizes[path] / 1000:.0f} KB{'  OVER BUDGET' if flag else ''}",
              file=sys.stderr)
    total = sum(r[1] for r in rows)
    peak = max((r[2] for r in rows), default=0.0)
    if args.markdown:
        print("| notebook | wall time (s) | kernel peak memory (MiB) |\n|---|---:|---:|")
        for rel, seconds, mib, _ in rows:
            print(f"| `{rel}` | {seconds:.1f} | {mib:.0f} |")
        print(f"| **total** | **{total:.1f}** | **max {peak:.0f}** |")
    else:
        width = max((len(r[0]) for r in rows), default=10)
        print(f"{'notebook':<{width}}  {'seconds':>8}  {'peak MiB':>9}  {'KB':>6}")
        for (rel, seconds, mib, flag), size in zip(rows, (sizes[p] for p in paths if p in sizes)):
            print(f"{rel:<{width}}  {seconds:8.1f}  {mib:9.0f}  {size / 1000:6.0f}{'  over budget' if flag else ''}")
        average = sum(sizes.values()) / len(sizes) / 1000 if sizes else 0.0
        print(f"{'total':<{width}}  {total:8.1f}  {peak:9.0f} (max)  {average:6.0f} (average)")
    if total > TOTAL_BUDGET_S:
        print(f"total {total:.0f} s is over the {TOTAL_BUDGET_S:.0f} s budget", file=sys.stderr)
        over = True
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed or (over and args.no_write) else 0


if __name__ == "__main__":
    sys.exit(main())
