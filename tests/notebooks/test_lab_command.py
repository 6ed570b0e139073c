"""`make lab`: token authentication stays on and the server stays on localhost,
whatever a user's Jupyter config says; the token is never on a command line;
as root it starts (adding --allow-root) and prints the URL with the real token;
the course's settings override switches JupyterLab's news popup and update
check off, and its server config culls idle kernels.

The server is started with the real `make lab` command (LAB_ARGS adds
--no-browser and a port) under hostile user configs in every place and format
a user controls (JUPYTER_CONFIG_DIR, JUPYTER_CONFIG_PATH, ~/.jupyter; .py, .json and
.d/ drop-ins; server, lab and base config): an empty token and password (also on the
identity provider's own class), an identity provider that lets everyone in,
0.0.0.0, XSRF checks off, any origin allowed, also through tornado_settings.
:class:`MakeLab` is shared with the browser test's news-popup check.
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
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

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
c.PasswordIdentityProvider.token = ""
c.PasswordIdentityProvider.password_required = False
c.ServerApp.tornado_settings = {"disable_check_xsrf": True, "allow_origin": "*",
                                "headers": {"Access-Control-Allow-Origin": "*"}}
'''

HOSTILE_JSON = {
    "PasswordIdentityProvider": {"token": ""},
    "IdentityProvider": {"token": ""},
    "ServerApp": {"token": "", "ip": "0.0.0.0", "disable_check_xsrf": True, "allow_origin": "*",
                  "tornado_settings": {"disable_check_xsrf": True, "allow_origin": "*"}},
}

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MakeLab:
    """`make lab` on a free port under a hostile user config, in a throw-away Jupyter home."""

    def __init__(self, base: Path):
        self.config, self.runtime, self.settings = base / "config", base / "runtime", base / "settings"
        self.config_path, self.home = base / "config-path", base / "home"
        for d in (self.config, self.runtime, self.settings, self.config_path, self.home / ".jupyter"):
            d.mkdir(parents=True, exist_ok=True)
        for folder in (self.config, self.config_path, self.home / ".jupyter"):
            for name in ("jupyter_server_config", "jupyter_lab_config", "jupyter_config", "jupyter_notebook_config"):
                (folder / f"{name}.py").write_text(HOSTILE_CONFIG)
                (folder / f"{name}.json").write_text(json.dumps(HOSTILE_JSON))
                (folder / f"{name}.d").mkdir(exist_ok=True)  # the drop-in folders extensions use
                (folder / f"{name}.d" / "zz-hostile.json").write_text(json.dumps(HOSTILE_JSON))
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = f"--no-browser --ServerApp.port={self.port} --ServerApp.port_retries=0"
        env = dict(os.environ, JUPYTER_CONFIG_DIR=str(self.config), JUPYTER_RUNTIME_DIR=str(self.runtime),
                   JUPYTER_CONFIG_PATH=str(self.config_path), HOME=str(self.home),
                   JUPYTERLAB_SETTINGS_DIR=str(self.settings), JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"),
                   IPYTHONDIR=str(base / "ipython"), JUPYTER_TOKEN="")
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

    def printed_url(self, timeout: float = 30.0) -> str:
        """The line `make lab` prints with the URL and the token (it follows the server's start)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = [ln for ln in self.log(full=True).splitlines() if ln.startswith("http://") and "token=" in ln]
            if lines:
                return lines[0]
            time.sleep(0.3)
        raise AssertionError(f"make lab printed no URL line:\n{self.log()}")

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

    def log(self, full: bool = False) -> str:
        self._log.flush()
        text = self.log_path.read_text()
        return text if full else text[-4000:]

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


def test_prints_the_url_with_the_real_token_on_its_own_line(make_lab):
    line = make_lab.printed_url()
    url = urllib.parse.urlsplit(line)
    assert (url.scheme, url.hostname, url.port) == ("http", "127.0.0.1", make_lab.port), line
    assert url.path == "/lab/tree/lessons/00_tour.ipynb"
    token = urllib.parse.parse_qs(url.query)["token"]
    assert token == [make_lab.token]
    assert make_lab.status(f"/api/contents?token={token[0]}") == 200  # the printed URL's token opens the server
    assert make_lab.status("/api/contents?token=") == 403


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="only as root")
def test_as_root_it_starts_and_says_why_it_adds_allow_root(make_lab):
    notes = [ln for ln in make_lab.log(full=True).splitlines() if "--allow-root" in ln]
    assert len(notes) == 1 and notes[0].startswith("make lab: running as root"), notes


def test_the_token_is_on_no_command_line(make_lab):
    import psutil

    seen = 0
    for proc in psutil.process_iter(["cmdline"]):
        seen += 1
        assert make_lab.token not in " ".join(proc.info["cmdline"] or []), f"token on the command line of {proc.pid}"
    assert seen > 3
    ours = [p for p in psutil.Process(make_lab.proc.pid).children(recursive=True)]
    assert any("jupyter" in " ".join(p.cmdline()) for p in ours)  # the server was among them


def test_cross_origin_and_xsrf_stay_checked(make_lab):
    req = urllib.request.Request(make_lab.url + "/api/status", headers={"Origin": "http://example.com"})
    try:
        urllib.request.urlopen(req, timeout=10)
        raise AssertionError("a cross-origin request without the token was answered")
    except urllib.error.HTTPError as err:
        assert err.code in (403, 404)
        assert "Access-Control-Allow-Origin" not in err.headers
    # A POST with a session cookie but no XSRF token is refused (the browser case XSRF checks guard).
    post = urllib.request.Request(make_lab.url + "/api/contents", data=b"{}", method="POST",
                                  headers={"Cookie": "_xsrf=x", "Content-Type": "application/json"})
    try:
        urllib.request.urlopen(post, timeout=10)
        raise AssertionError("a POST without the token or an XSRF token was answered")
    except urllib.error.HTTPError as err:
        assert err.code == 403


def test_lab_refuses_to_hand_out_a_server_that_answers_without_the_token():
    """tools/lab.py's own check of the running server, against a server that lets everyone in."""
    import http.server
    import importlib.util
    import threading

    spec = importlib.util.spec_from_file_location("course_lab", ROOT / "tools" / "lab.py")
    lab = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lab)

    class Open(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Open)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        found = lab.problems(f"http://127.0.0.1:{httpd.server_port}/", "a" * 48)
    finally:
        httpd.shutdown()
    assert "it answers without the token" in found
    assert any("Access-Control-Allow-Origin" in p for p in found)


def test_class_server_config_culls_idle_kernels():
    """jupyterlab-settings/jupyter_server_config.json, read by Jupyter's own kernel manager."""
    from jupyter_server.services.kernels.kernelmanager import MappingKernelManager
    from traitlets.config import Config

    settings = json.loads((ROOT / "jupyterlab-settings" / "jupyter_server_config.json").read_text())
    km = MappingKernelManager(config=Config(settings))
    assert km.cull_idle_timeout == 1200 and km.cull_interval == 120
    assert km.cull_connected is False and km.cull_busy is False
    assert "cull_idle_timeout" in (ROOT / "INSTRUCTORS.md").read_text()


def test_make_lab_culls_idle_kernels_with_the_class_setting(make_lab):
    """The running server applies jupyterlab-settings/jupyter_server_config.json: Jupyter logs its
    culling setting when the first kernel starts."""
    def call(method, path):
        req = urllib.request.Request(make_lab.url + path, method=method, data=b"{}" if method == "POST" else None,
                                     headers={"Authorization": f"token {make_lab.token}",
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            return json.loads(resp.read() or b"null")

    kernel = call("POST", "/api/kernels")
    try:
        deadline = time.monotonic() + 30
        while "Culling kernels" not in make_lab.log(full=True) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert "Culling kernels with idle durations > 1200 seconds at 120 second intervals" in make_lab.log(full=True)
    finally:
        call("DELETE", f"/api/kernels/{kernel['id']}")


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
