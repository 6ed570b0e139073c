"""Offline and within memory budget, checked on the one execution each notebook gets.

Every lesson and solution runs once per test run, under nbval; conftest.py
starts each nbval kernel with tests/support/netguard.py's guard and, after the
notebook's last cell, asserts (item ``<notebook>::notebook-checks``): the
guard was active in that kernel and recorded no connection to a
non-loopback address and no DNS look-up of another host (in the kernel or
any Python process it started), a sampler saw no inet connection to a
non-loopback address (connections made from C code), the kernel's process
tree peaked under 1 GB, and no process was left behind.

This file proves those checks can fail: the guard refuses and records a
kernel's own connect, a DNS look-up, a raw UDP send and a spawned child's
connect while letting loopback traffic through; and conftest.py's check
fails a notebook that reaches out (catching the error), leaves a process
running or uses more than 1 GB, and passes a clean one.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import nbselect
import netguard

ROOT = Path(__file__).resolve().parents[2]
BUDGET_MIB = 1024.0

# The same memory measurement as the budgets report (`make budgets`).
run_notebooks = nbselect.run_notebooks_module()


@pytest.fixture(scope="module")
def guard(tmp_path_factory):
    folder = tmp_path_factory.mktemp("netguard")
    return folder, netguard.install(folder)


def run_guarded(nb, cwd: Path, guard, *, timeout=180):
    """Execute ``nb`` in a guarded kernel; return (seconds, peak MiB, remote connections seen)."""
    folder, log = guard
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(cwd)}})
    peak, remote, done = [0], set(), threading.Event()

    def sample():
        tick = 0
        while not done.is_set():
            pid = getattr(getattr(getattr(client, "km", None), "provisioner", None), "pid", None)
            if pid:
                peak[0] = max(peak[0], run_notebooks._tree_rss(pid))
                if tick % 25 == 0:
                    remote.update(netguard.remote_connections(pid))
            tick += 1
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    start = time.perf_counter()
    try:
        client.execute(env=netguard.env(folder, log))
    finally:
        done.set()
        sampler.join()
    return time.perf_counter() - start, peak[0] / 2**20, sorted(remote)


def _errors(nb) -> list[str]:
    """Error outputs of cells not marked as expected to raise."""
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        expected = cell.source.lstrip().startswith("# NBVAL_RAISES_EXCEPTION") or "raises-exception" in cell.metadata.get(
            "tags", []
        )
        for out in cell.get("outputs", []):
            if out.output_type == "error" and not expected:
                found.append(f"cell {i}: {out.ename}: {out.evalue}")
    return found


def _cell(source):
    return nbformat.v4.new_code_cell(source)


def test_guard_refuses_and_records_outbound_access(guard, tmp_path):
    """The guard must catch a kernel's own connect, a DNS look-up, a raw UDP send and a
    spawned child's connect, and must let loopback traffic through."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        _cell(
            "import socket\n"
            "server = socket.socket(); server.bind(('127.0.0.1', 0)); server.listen()\n"
            "socket.create_connection(server.getsockname(), timeout=5).close()\n"
            "print('loopback ok')"
        ),
        _cell("import socket\nsocket.create_connection(('192.0.2.1', 80), timeout=5)"),
        _cell("import socket\nsocket.getaddrinfo('example.com', 443)"),
        _cell("import socket\nsocket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('198.51.100.7', 53))"),
        _cell(
            "import subprocess, sys\n"
            "child = subprocess.run([sys.executable, '-c', \"import socket; socket.socket().connect(('203.0.113.5', 443))\"],"
            " capture_output=True, text=True)\n"
            "print('child refused' if 'refused by the course' in child.stderr else child.stderr)"
        ),
    ]
    run_guarded(nb, tmp_path, guard, timeout=60)
    outputs = [c.outputs for c in nb.cells]
    assert outputs[0][0].text.strip() == "loopback ok"
    for i in (1, 2, 3):
        assert outputs[i] and outputs[i][0].output_type == "error", f"cell {i} was not refused"
    assert outputs[4][0].text.strip() == "child refused"
    seen = netguard.attempts(guard[1])
    targets = " ".join(a["target"] for a in seen)
    assert {"create_connection" in a["stack"] for a in seen} >= {True}
    for needle in ("192.0.2.1", "example.com", "198.51.100.7", "203.0.113.5"):
        assert needle in targets, f"{needle} not recorded"
    guard[1].unlink()  # the notebooks below start from an empty log


BAD_CELLS = [
    # reaches out and hides the error, as a careless helper might
    "import socket\ntry:\n    socket.create_connection(('192.0.2.1', 80), timeout=2)\nexcept OSError:\n    print('caught')",
    # leaves a process running (it ends by itself after 30 s)
    "import subprocess, sys\nchild = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])",
    # holds 1.1 GB for a second
    "import time\nhog = bytearray(1100 * 2**20)\ntime.sleep(1.5)\ndel hog",
]


def test_notebook_checks_fail_a_bad_notebook_and_pass_a_clean_one(tmp_path):
    """conftest.py's ``notebook-checks`` item, run by an inner pytest with nbval on two
    unexecuted notebooks (nbval then compares no output): a clean one passes; one that
    reaches out (and catches the error), leaves a process and uses 1.1 GB fails, naming all three."""
    import subprocess
    import sys
    import shutil

    for rel in ("conftest.py", "tests/support/netguard.py", "tests/support/nbselect.py", "tools/run_notebooks.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, tmp_path / rel)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    good = nbformat.v4.new_notebook(cells=[_cell("print(6 * 7)")])
    bad = nbformat.v4.new_notebook(cells=[_cell(src) for src in BAD_CELLS])
    nbformat.write(good, tmp_path / "good.ipynb")
    nbformat.write(bad, tmp_path / "bad.ipynb")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider", "--nbval", "--nbval-current-env",
         "good.ipynb", "bad.ipynb"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    # nbval's node ids read "good::ipynb::Cell 0"; the cells of the bad notebook all pass: only the check sees
    assert re.search(r"^good\S*::notebook-checks PASSED", out, re.M), out
    assert re.search(r"^bad\S*::notebook-checks FAILED", out, re.M), out
    assert len(re.findall(r"^bad\S*::Cell \d PASSED", out, re.M)) == len(BAD_CELLS), out
    failure = out.split("FAILURES")[-1]
    assert "outbound network access" in failure and "192.0.2.1" in failure, failure
    assert "processes left behind by the notebook's kernel" in failure and "python" in failure, failure
    assert "kernel peak" in failure and "budget 1024 MiB" in failure, failure
    assert "the network guard was not active in the kernel: [" not in failure, failure
