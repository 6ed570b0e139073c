"""Offline and within memory budget: every lesson and solution notebook runs
top to bottom with no network beyond localhost, and its kernel peaks under 1 GB.

The lessons with a chart or widget get these checks in tests/test_browser.py
(their kernels run in JupyterLab with the same guard); this file runs the
others, or all of them where the browser test cannot run (tests/nbselect.py).

Each notebook runs in a fresh kernel (nbclient) started with tests/netguard.py's
guard: in the kernel and every Python process it starts, a connection to a
non-loopback address or a DNS look-up of another host is refused and recorded.
A sampler also watches the kernel's process tree for inet connections to
non-loopback addresses (connections made from C code) and its resident memory.
The first test proves the guard itself works, so the others cannot pass by
accident.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import nbselect
import netguard

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = nbselect.offline_notebooks()
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


@pytest.mark.skipif(not NOTEBOOKS, reason="no notebook left for this test (none yet, or all run in test_browser.py)")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.relative_to(ROOT).as_posix() for p in NOTEBOOKS])
def test_notebook_runs_offline_under_1gb(path, guard):
    nb = nbformat.read(path, as_version=4)
    log = guard[1]
    if log.exists():
        log.unlink()
    seconds, mib, remote = run_guarded(nb, path.parent, guard)
    print(f"{path.relative_to(ROOT)}: {seconds:.1f} s, peak {mib:.0f} MiB")
    attempts = netguard.attempts(log)
    assert not attempts, "outbound network access:\n" + "\n".join(f"{a['call']} {a['target']}\n{a['stack']}" for a in attempts)
    assert not remote, f"connections to non-loopback addresses: {remote}"
    assert not _errors(nb), _errors(nb)
    assert 0 < mib <= BUDGET_MIB, f"kernel peak {mib:.0f} MiB (budget {BUDGET_MIB:.0f} MiB)"
