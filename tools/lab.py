"""`make lab`: start JupyterLab on the course, private to this user, and print the URL to open.

- A fresh random token, passed to Jupyter in the environment (``JUPYTER_TOKEN``),
  never on a command line (any local user can read ``/proc/<pid>/cmdline``).
- No user, environment or system Jupyter config is read (``JUPYTER_NO_CONFIG=1``,
  ``JUPYTER_CONFIG_PATH`` unset): the only config is tools/lab_server_config.py,
  which pins token authentication, localhost, XSRF and origin checks and plain
  tornado settings. Before printing the URL this script checks the running
  server: a request without the token must be refused, one from another origin
  too; otherwise it stops the server and exits 1.
- As root (Docker, WSL, cloud shells) it adds ``--allow-root`` and says why.
- Once the server answers, the full URL with the token is printed on its own line.

    python tools/lab.py [extra jupyter lab options]   # what `make lab LAB_ARGS=...` runs
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "tools" / "lab_server_config.py"
START = "lessons/00_tour.ipynb"
#: Environment variables that could point Jupyter at other config or another token.
DROPPED = ("JUPYTER_CONFIG_PATH", "JUPYTER_CONFIG_DIR", "JUPYTER_TOKEN", "JUPYTER_TOKEN_FILE",
           "JUPYTER_PREFER_ENV_PATH")


def command(extra: list[str]) -> list[str]:
    """The ``jupyter lab`` command line: options only, no secret."""
    args = [str(Path(sys.executable).with_name("jupyter")), "lab", f"--config={CONFIG}", *extra]
    if hasattr(os, "geteuid") and os.geteuid() == 0 and "--allow-root" not in extra:
        print("make lab: running as root (a container or cloud shell?), so adding --allow-root; "
              "the token still protects the server.", flush=True)
        args.append("--allow-root")
    return args + [START]


def environment(token: str) -> dict[str, str]:
    env = {k: val for k, val in os.environ.items() if k not in DROPPED}
    env.update(JUPYTER_NO_CONFIG="1", JUPYTER_TOKEN=token)
    return env


def _get(url: str, token: str | None = None, origin: str | None = None) -> tuple[int, dict]:
    """(HTTP status, response headers) of a GET, -1 when nothing answers."""
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"token {token}")
    if origin:
        req.add_header("Origin", origin)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers)
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers)
    except OSError:
        return -1, {}


def server_info(pid: int, proc: subprocess.Popen, timeout: float = 180.0) -> dict | None:
    """The runtime file Jupyter writes once it listens (``jpserver-<pid>.json``), or None if it exited."""
    from jupyter_core.paths import jupyter_runtime_dir

    path = Path(jupyter_runtime_dir()) / f"jpserver-{pid}.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            time.sleep(0.3)
    return None


def problems(base: str, token: str) -> list[str]:
    """What is wrong with the running server's protection (empty when all holds)."""
    api = base.rstrip("/") + "/api/status"
    found = []
    if _get(api, token)[0] != 200:
        found.append("it does not answer the token")
    if _get(api)[0] != 403 or _get(api, "not-the-token")[0] != 403:
        found.append("it answers without the token")
    status, headers = _get(api, origin="http://example.com")
    if status == 200:
        found.append("it answers a request from another origin")
    if "access-control-allow-origin" in {k.lower() for k in headers}:
        found.append("it allows cross-origin requests (Access-Control-Allow-Origin)")
    return found


def main(argv: list[str] | None = None) -> int:
    extra = list(sys.argv[1:] if argv is None else argv)
    token = secrets.token_hex(24)
    proc = subprocess.Popen(command(extra), cwd=ROOT, env=environment(token))

    def forward(signum, _frame):
        if proc.poll() is None:
            proc.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches Jupyter itself (same terminal), which asks
    info = server_info(proc.pid, proc)
    if info is None:
        return proc.wait()
    base = info.get("url") or f"http://127.0.0.1:{info['port']}/"
    wrong = problems(base, token)
    if wrong:
        print(f"make lab: stopping the server: {'; '.join(wrong)}. Report this; do not use it.", file=sys.stderr)
        proc.terminate()
        proc.wait()
        return 1
    url = f"{base.rstrip('/')}/lab/tree/{START}?token={token}"
    print("\nmake lab: JupyterLab is running. Open this URL in a browser (copy the whole line):", flush=True)
    print(url, flush=True)
    print("make lab: stop it with Ctrl-C twice in this terminal (or `jupyter server stop` from .venv).\n",
          flush=True)
    return proc.wait()


if __name__ == "__main__":
    sys.exit(main())
