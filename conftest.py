"""pytest configuration shared by the unit tests and nbval.

Each notebook under lessons/ and solutions/ executes once per test run, under
nbval, and that one execution also serves the offline and budget checks:

- nbval's kernel starts with tests/support/netguard.py's guard (a ``sitecustomize``
  on ``PYTHONPATH``, its own log per notebook), so the kernel and every
  Python process it starts refuse and record any non-loopback connection or
  DNS look-up;
- while the notebook runs, a thread samples the kernel's process tree: peak
  memory (PSS, the measure of ``make budgets``) and inet connections to
  non-loopback addresses (made from C code, which the guard cannot see);
- after the last cell, one more item per notebook (``notebook-checks``)
  asserts: the guard was active in that kernel, it recorded no attempt, no
  remote connection was seen, the kernel peaked under 1 GB, and the kernel
  has no child process left (lesson 06's workers must all be gone).

tests/notebooks/test_offline.py proves the guard refuses and records, and that this
check fails on a notebook that reaches out, leaves a process or uses too
much memory. Tests listed in ``SLOW`` start worker processes, kernels or a
browser: ``make test`` runs them, ``make test-fast`` (``-m "not slow"``) not.
"""

from __future__ import annotations

import ast
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "tests" / "support"))  # tests/support/netguard.py, nbselect.py, hf_reference.py

import nbselect  # noqa: E402
import netguard  # noqa: E402

BUDGET_MIB = 1024.0
CHECK_ITEM = "notebook-checks"
GUARD_VARS = ("PYTHONPATH", "COURSE_NETGUARD_LOG")

#: Node-id prefixes of the tests that start worker processes, kernels or a browser.
SLOW = (
    "tests/notebooks/test_browser.py",
    "tests/notebooks/test_offline.py",
    "tests/labs/test_labs.py::test_unfilled_lab_runs_and_reports_nothing_done",
    "tests/unit/test_distributed.py",
    "tests/labs/test_lab06_checks.py::test_optimizer_state_against_real_processes",
    "tests/labs/test_grade.py::test_make_grade_on_solutions_untouched_labs_and_a_broken_notebook",
    "tests/unit/test_engine.py::test_replicas_split_round_robin_and_keep_the_tokens",
)

_tree_memory = nbselect.run_notebooks_module()._tree_rss  # PSS of a process tree, as `make budgets` measures


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: starts worker processes, a notebook kernel or a browser "
                                       "(conftest.SLOW, and every notebook); `make test-fast` skips it")


def pytest_collectstart(collector):
    # torch writes stray warnings to stderr on some runs only; nbval should
    # compare what a cell returns and prints, not the library's log noise.
    # A chart's SVG (course_lib.ui.render.render) lays out text with the machine's fonts; its
    # data are in the Vega-Lite spec, which nbval compares (as it skips PNGs).
    if collector.fspath and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("stderr", "image/svg+xml")


def _is_notebook(node) -> bool:
    return type(node).__name__ == "IPyNbFile"


class NotebookChecks(pytest.Item):
    """The checks made after a notebook's last cell, in its still-running nbval kernel."""

    def runtest(self):
        nbfile = self.parent
        watch: Watch | None = getattr(nbfile, "_course_watch", None)
        kernel = getattr(nbfile, "kernel", None)
        if watch is None or kernel is None or watch.pid is None:
            pytest.fail("the notebook's kernel did not start, so nothing was checked")
        left = watch.children()
        guard = watch.guard_in_kernel(kernel)
        watch.stop()
        seconds, mib = time.perf_counter() - watch.started, watch.peak / 2**20
        print(f"{self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path}: "
              f"{seconds:.1f} s with nbval, peak {mib:.0f} MiB")
        problems = []
        if guard != ["sitecustomize", str(watch.log)]:
            problems.append(f"the network guard was not active in the kernel: {guard}")
        attempts = netguard.attempts(watch.log)
        if attempts:
            problems.append("outbound network access:\n" + "\n".join(f"{a['call']} {a['target']}\n{a['stack']}" for a in attempts))
        if watch.remote:
            problems.append(f"connections to non-loopback addresses: {sorted(watch.remote)}")
        if not 0 < mib <= BUDGET_MIB:
            problems.append(f"kernel peak {mib:.0f} MiB (budget {BUDGET_MIB:.0f} MiB)")
        if left:
            problems.append(f"processes left behind by the notebook's kernel: {left}")
        assert not problems, "\n".join(problems)

    def reportinfo(self):
        return self.path, None, f"{self.path.name}::{CHECK_ITEM}"


class Watch:
    """One notebook's guard folder and log, and a sampler of its kernel's process tree."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="course-netguard-"))
        self.log = netguard.install(self.folder)
        self.pid: int | None = None
        self.peak = 0
        self.remote: set[str] = set()
        self.started = time.perf_counter()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def environ(self) -> dict[str, str]:
        env = netguard.env(self.folder, self.log, base={k: os.environ[k] for k in GUARD_VARS if k in os.environ})
        return {k: env[k] for k in GUARD_VARS}

    def start(self, pid: int) -> None:
        self.pid = pid
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        tick = 0
        while not self._done.is_set():
            self.peak = max(self.peak, _tree_memory(self.pid))
            if tick % 10 == 0:
                self.remote.update(netguard.remote_connections(self.pid))
            tick += 1
            self._done.wait(0.1)

    def stop(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        self.remote.update(netguard.remote_connections(self.pid))

    def children(self) -> list[str]:
        import psutil

        try:
            return [f"{p.pid} {p.name()}" for p in psutil.Process(self.pid).children(recursive=True)]
        except psutil.Error as err:
            return [f"kernel process {self.pid} unreadable: {err}"]

    @staticmethod
    def guard_in_kernel(kernel) -> list[str]:
        """``[module of socket.socket.connect, COURSE_NETGUARD_LOG]`` as the kernel sees them."""
        expr = ("[__import__('socket').socket.connect.__module__, "
                "__import__('os').environ.get('COURSE_NETGUARD_LOG', '')]")
        kc = kernel.kc
        msg_id = kc.execute("", silent=True, store_history=False, user_expressions={"g": expr})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            reply = kc.get_shell_msg(timeout=max(0.1, deadline - time.monotonic()))
            if reply["parent_header"].get("msg_id") != msg_id:
                continue
            g = reply["content"]["user_expressions"]["g"]
            if g.get("status") != "ok":
                return [f"{g.get('ename')}: {g.get('evalue')}"]
            return ast.literal_eval(g["data"]["text/plain"])
        return ["no reply from the kernel"]

    def cleanup(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    """Mark the slow tests; add the ``notebook-checks`` item after each notebook's last cell;
    put the notebooks first (under ``make test``'s ``-n 2 --dist loadfile`` the longest work
    starts first; each notebook's cells stay in order in one worker)."""
    slow = pytest.mark.slow
    out, last_parent = [], None
    for item in items:
        parent = item.parent
        if last_parent is not None and parent is not last_parent:
            out.append(NotebookChecks.from_parent(last_parent, name=CHECK_ITEM))
            last_parent = None
        out.append(item)
        if _is_notebook(parent):
            item.add_marker(slow)
            last_parent = parent
        elif item.nodeid.startswith(SLOW):
            item.add_marker(slow)
    if last_parent is not None:
        out.append(NotebookChecks.from_parent(last_parent, name=CHECK_ITEM))
    notebooks, others = [], []
    for item in out:
        if _is_notebook(item.parent):
            item.add_marker(slow)
            notebooks.append(item)
        else:
            others.append(item)
    items[:] = notebooks + others  # the notebooks (the longest work) first


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    """Start nbval's kernel for a notebook with the network guard in its environment, then
    sample it (the kernel starts while pytest sets up the notebook's first cell)."""
    nbfile = item.parent
    if not _is_notebook(nbfile) or getattr(nbfile, "_course_watch", None) is not None:
        return (yield)
    watch = nbfile._course_watch = Watch()
    saved = {k: os.environ.get(k) for k in GUARD_VARS}
    os.environ.update(watch.environ())
    try:
        return (yield)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        kernel = getattr(nbfile, "kernel", None)
        if kernel is not None:
            watch.start(kernel.km.provisioner.pid)  # jupyter_client's LocalProvisioner: the kernel process


def pytest_runtest_teardown(item, nextitem):
    nbfile = item.parent
    watch = getattr(nbfile, "_course_watch", None) if _is_notebook(nbfile) else None
    if watch is not None and (nextitem is None or nextitem.parent is not nbfile):
        watch.stop() if watch.pid is not None else None
        watch.cleanup()
