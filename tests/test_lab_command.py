"""`make lab`: token authentication stays on and the server stays on localhost,
whatever a user's Jupyter config says; the course's settings override switches
JupyterLab's news popup and update check off.

The server is started with the real `make lab` command (LAB_ARGS adds
--no-browser and a port) under a hostile user config: an empty token and
password, an identity provider that lets everyone in, 0.0.0.0, XSRF checks
off, any origin allowed. :class:`MakeLab` is shared with the browser test's
news-popup check.
"""

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

HOSTILE_CONFIG = '''
from jupyter_server.auth.identity import IdentityProvider, User


class LetEveryoneIn(IdentityProvider):
    @property
    def auth_enabled(self):
        return False

    def get_user(self, handler):
        return User("anyone")


c.ServerApp.identity_provider_class = LetEveryoneIn
c.IdentityProvider.token = ""
c.ServerApp.token = ""
c.ServerApp.password = ""
c.ServerApp.ip = "0.0.0.0"
c.ServerApp.disable_check_xsrf = True
c.ServerApp.allow_origin = "*"
c.ServerApp.allow_remote_access = True
c.ServerApp.open_browser = False
'''

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MakeLab:
    """`make lab` on a free port under a hostile user config, in a throw-away Jupyter home."""

    def __init__(self, base: Path):
        self.config, self.runtime, self.settings = base / "config", base / "runtime", base / "settings"
        for d in (self.config, self.runtime, self.settings):
            d.mkdir(parents=True, exist_ok=True)
        (self.config / "jupyter_server_config.py").write_text(HOSTILE_CONFIG)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = f"--no-browser --ServerApp.port={self.port} --ServerApp.port_retries=0"
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args += " --allow-root"
        env = dict(os.environ, JUPYTER_CONFIG_DIR=str(self.config), JUPYTER_RUNTIME_DIR=str(self.runtime),
                   JUPYTERLAB_SETTINGS_DIR=str(self.settings), JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"),
                   IPYTHONDIR=str(base / "ipython"))
        env.pop("JUPYTER_TOKEN", None)
        self.log_path = base / "lab.log"
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(["make", "-s", "lab", f"LAB_ARGS={args}"], cwd=ROOT, env=env,
                                     stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        self.token = self._wait_ready()

    def _wait_ready(self, timeout: float = 120.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"make lab exited with {self.proc.returncode}:\n{self.log()}")
            for path in glob.glob(str(self.runtime / "jpserver-*.json")):
                try:
                    info = json.loads(Path(path).read_text())
                except (OSError, ValueError):
                    continue
                if info.get("port") == self.port and self.status("/api/status", token=info.get("token")) == 200:
                    return info["token"]
            time.sleep(0.5)
        raise RuntimeError(f"make lab did not start in {timeout:.0f} s:\n{self.log()}")

    def status(self, path: str, token: str | None = None) -> int:
        req = urllib.request.Request(self.url + path)
        if token:
            req.add_header("Authorization", f"token {token}")
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status
        except urllib.error.HTTPError as err:
            return err.code
        except OSError:
            return -1

    def get_json(self, path: str) -> dict:
        req = urllib.request.Request(self.url + path, headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text()[-4000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the session this test started: make and its jupyter
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._log.close()


@pytest.fixture(scope="module")
def make_lab(tmp_path_factory):
    server = MakeLab(tmp_path_factory.mktemp("make-lab"))
    try:
        yield server
    finally:
        server.stop()


def test_token_is_required_despite_a_hostile_user_config(make_lab):
    assert len(make_lab.token) >= 32  # a fresh random token, not the config's empty one
    for path in ("/api/status", "/api/contents", "/api/kernels", "/lab/api/settings"):
        assert make_lab.status(path) == 403, f"{path} answered without a token"
        assert make_lab.status(path, token="wrong") == 403, f"{path} answered a wrong token"
    assert make_lab.status("/api/status", token=make_lab.token) == 200


def test_listens_on_localhost_only(make_lab):
    import psutil

    ours = {p.pid for p in psutil.Process(make_lab.proc.pid).children(recursive=True)} | {make_lab.proc.pid}
    addresses = {c.laddr.ip for c in psutil.net_connections("inet")
                 if c.status == psutil.CONN_LISTEN and c.laddr.port == make_lab.port and c.pid in ours}
    assert addresses == {"127.0.0.1"}


def test_settings_override_switches_news_and_update_checks_off(make_lab):
    schema = make_lab.get_json("/lab/api/settings/@jupyterlab/apputils-extension:notification")["schema"]
    assert schema["properties"]["fetchNews"]["default"] == "false"
    assert schema["properties"]["checkForUpdates"]["default"] is False


def test_binder_installs_the_same_override():
    post = (ROOT / "postBuild").read_text()
    assert "jupyterlab-settings/overrides.json" in post and "share/jupyter/lab/settings" in post
    overrides = json.loads((ROOT / "jupyterlab-settings" / "overrides.json").read_text())
    assert overrides["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
