"""What only a browser can check, in JupyterLab, offline, on one page.

nbval has already executed every lesson and compared its outputs
(conftest.py adds the offline and memory checks to that run); this test does
not run the lessons again. It builds one notebook from every lesson found by
glob (tests/support/nbselect.py: :func:`nbselect.browser_notebook`): each chart a
lesson shows (its committed output, whose spec nbval compared with this
run's) and each calculator, built by the lesson's own cells (the calculator's
cell and the earlier cells it needs). One JupyterLab server (127.0.0.1, a
free port, no token: tests only) serves it from a scratch folder; Debian's
Chromium, driven by Playwright, opens it in one page, runs all cells, and
checks:

- no cell shows an error, no widget fails to display;
- every chart has drawn (a non-blank canvas, an svg with marks, or the image);
- no calculator label is cut short (its text fits its box; chart legends are
  checked on their committed SVG by tests/unit/test_charts.py, as JupyterLab draws
  Vega on a canvas);
- every calculator (course_lib.ui.widgets.Calculator) responds: a control moved
  with the keyboard or mouse changes the shown ``calc-out`` texts to exactly
  what the library's ``render(compute(**values))`` gives for the values the
  kernel received (protocol in course_lib/ui/widgets.py), and a slider's readout
  shows that value;
- the browser requested nothing but 127.0.0.1 (every other request is
  aborted and recorded), the kernel and its children made no outbound
  connection (tests/support/netguard.py), the kernel peaked under 1 GB, and the page
  raised no JavaScript error.

A screenshot of the page, each chart and each calculator goes to
artifacts/screenshots/ (gitignored). Skipped, with the reason, only where
Chromium or Playwright is missing.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import pytest

import nbselect
import netguard

ROOT = nbselect.ROOT
LESSONS = nbselect.browser_lessons()
SHOTS = ROOT / "artifacts" / "screenshots"
BUDGET_MIB = 1024.0
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}

UNAVAILABLE = nbselect.browser_unavailable()
pytestmark = pytest.mark.skipif(UNAVAILABLE is not None, reason=f"browser test skipped: {UNAVAILABLE}")

# JupyterLab user settings: no autosave (the copy is thrown away anyway), every
# cell attached to the DOM (so off-screen charts and widgets render), no news
# or update checks (they would reach the internet).
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
}
SERVER_CONFIG = """
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.handlers.announcements.NeverCheckForUpdate"
c.LabApp.expose_app_in_browser = True
c.ServerApp.open_browser = False
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list:
    import psutil

    try:
        return psutil.Process(pid).children()
    except psutil.Error:
        return []


class LabServer:
    """A JupyterLab server on 127.0.0.1 over a scratch folder holding the browser test's
    notebook, ``lessons/course.ipynb`` (:func:`nbselect.browser_notebook`)."""

    def __init__(self, base: Path, lessons: list[Path]):
        self.base = base
        self.work = base / "course"
        (self.work / "lessons").mkdir(parents=True)
        nbselect.browser_notebook(lessons, self.work / "lessons")
        for extra in (ROOT / "lessons").iterdir():  # data files a lesson may read next to it
            if extra.is_file() and extra.suffix != ".ipynb":
                shutil.copy2(extra, self.work / "lessons" / extra.name)
        settings = base / "settings"
        for rel, values in LAB_SETTINGS.items():
            (settings / rel).parent.mkdir(parents=True, exist_ok=True)
            (settings / rel).write_text(json.dumps(values))
        config = base / "config"
        config.mkdir()
        (config / "jupyter_server_config.py").write_text(SERVER_CONFIG)
        self.guard_log = netguard.install(base / "guard")
        env = netguard.env(base / "guard", self.guard_log)
        env.update(JUPYTER_CONFIG_DIR=str(config), JUPYTER_RUNTIME_DIR=str(base / "runtime"),
                   IPYTHONDIR=str(base / "ipython"), JUPYTERLAB_SETTINGS_DIR=str(settings),
                   JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"))
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [
            sys.executable, "-m", "jupyter", "lab", "--no-browser",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
            "--IdentityProvider.token=", "--ServerApp.password=", f"--ServerApp.root_dir={self.work}",
            f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={base / 'workspaces'}",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        self.log_path = base / "jupyterlab.log"
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, cwd=self.work, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"JupyterLab did not answer on {self.url} in {timeout:.0f} s:\n{self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text()[-4000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=15)
        self._log.close()


class Sampler:
    """Peak RSS of the server's children (the kernel and what it starts) and
    their inet connections to non-loopback addresses, while a lesson runs."""

    def __init__(self, server_pid: int):
        self.server_pid = server_pid
        self._tree_rss = nbselect.run_notebooks_module()._tree_rss  # the budgets report's measure
        self.peak = 0
        self.remote: set[str] = set()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        tick = 0
        while not self._done.is_set():
            kernels = _children(self.server_pid)  # the lesson's kernel (others are shut down)
            self.peak = max(self.peak, sum(self._tree_rss(k.pid) for k in kernels))
            if tick % 25 == 0:
                for k in kernels:
                    self.remote.update(netguard.remote_connections(k.pid))
            tick += 1
            time.sleep(0.02)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    server = LabServer(tmp_path_factory.mktemp("lab"), LESSONS)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser(lab, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    blocked: list[str] = []

    def route(r):
        if urlparse(r.request.url).hostname in LOCAL_HOSTS:
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=nbselect.CHROMIUM, headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1280, "height": 900}, service_workers="block",
        )
        try:
            context.route("**/*", route)
            context.on("page", lambda page: page.on(
                "websocket", lambda ws: None if urlparse(ws.url).hostname in LOCAL_HOSTS else blocked.append(ws.url)))
            yield context, blocked
        finally:
            context.close()


@pytest.fixture(scope="module")
def lab_page(lab, browser):
    """One JupyterLab page for all lessons (JupyterLab loads once); each test opens its notebook in it."""
    context, blocked = browser
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(f"{lab.url}/lab/workspaces/browser-test?reset", wait_until="domcontentloaded")
    _wait(page, "() => !!(window.jupyterapp && window.jupyterapp.shell)", timeout_s=180, what="JupyterLab to load")
    page.evaluate("async () => { await window.jupyterapp.restored; window.jupyterapp.shell.collapseLeft(); }")
    yield page, blocked, errors
    page.close()


def open_notebook(page, path: str) -> None:
    """Open ``path`` (relative to the server root) in the page, make it ``window.__nb``, wait for an idle kernel."""
    page.evaluate(JS_OPEN, path)
    _wait(page, JS_KERNEL_IDLE, timeout_s=180, what=f"{path} to open with an idle kernel")


def close_notebook(page) -> None:
    """Shut down the notebook's kernel and close it without saving."""
    try:
        page.evaluate(JS_CLOSE)
    except Exception:
        pass


# --- JavaScript run in the page -------------------------------------------------

JS_NB = "window.__nb"

JS_OPEN = """async (path) => {
  const app = window.jupyterapp;
  const nb = await app.commands.execute('docmanager:open', {path, factory: 'Notebook'});
  app.shell.activateById(nb.id);
  await nb.context.ready;
  window.__nb = nb;
}"""

JS_CLOSE = """async () => {
  const nb = window.__nb;
  if (!nb) return;
  window.__nb = null;
  try { await nb.sessionContext.shutdown(); } finally { nb.dispose(); }
}"""

JS_KERNEL_IDLE = f"""() => {{
  const nb = {JS_NB};
  const k = nb && nb.sessionContext && nb.sessionContext.session && nb.sessionContext.session.kernel;
  return !!(k && k.status === 'idle' && nb.content && nb.content.widgets.length);
}}"""

JS_RUN_ALL = f"""async () => {{
  const nb = {JS_NB};
  await nb.context.ready;
  return await window.jupyterapp.commands.execute('notebook:run-all-cells');
}}"""

JS_ALL_RAN = f"""() => {{
  const nb = {JS_NB};
  const k = nb.sessionContext.session.kernel;
  return k.status === 'idle' && nb.content.widgets.every(
    c => c.model.type !== 'code' || c.model.executionCount !== null);
}}"""

JS_CELL_ERRORS = f"""() => {{
  const out = [];
  {JS_NB}.content.widgets.forEach((c, i) => {{
    if (c.model.type !== 'code') return;
    const src = c.model.sharedModel.getSource();
    const tags = c.model.getMetadata('tags') || [];
    if (src.trimStart().startsWith('# NBVAL_RAISES_EXCEPTION') || tags.includes('raises-exception')) return;
    for (const o of c.model.outputs.toJSON()) {{
      if (o.output_type === 'error') out.push(`cell ${{i}}: ${{o.ename}}: ${{o.evalue}}`);
    }}
  }});
  const text = {JS_NB}.node.innerText;
  for (const bad of ['Error displaying widget', 'Javascript Error', 'Error rendering output', 'Loading widget...',
                     'Could not render content', 'Model not found']) {{
    if (text.includes(bad)) out.push(`page shows "${{bad}}"`);
  }}
  return out;
}}"""

JS_CHART_COUNT = f"""(mime) => {{
  let n = 0;
  {JS_NB}.content.widgets.forEach(c => {{
    if (c.model.type === 'code') for (const o of c.model.outputs.toJSON()) if (o.data && o.data[mime]) n += 1;
  }});
  return n;
}}"""

# Each chart output: has it drawn? (a canvas with coloured pixels, an svg with
# marks, or a loaded image); returns one entry per chart in the notebook panel.
CHART_SELECTOR = (".jp-OutputArea-output.jp-RenderedVegaCommon5, .jp-OutputArea-output[data-mime-type='image/png'], "
                  ".jp-OutputArea-output[data-mime-type='image/svg+xml']")
JS_CHARTS = f"""() => {{
  const nodes = [...{JS_NB}.node.querySelectorAll("{CHART_SELECTOR}")];
  return nodes.map(node => {{
    const canvas = node.querySelector('canvas');
    if (canvas && canvas.width > 0 && canvas.height > 0) {{
      const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      let inked = 0;
      for (let i = 0; i < data.length; i += 4) {{
        if (data[i + 3] > 0 && (data[i] < 200 || data[i + 1] < 200 || data[i + 2] < 200)) inked += 1;
      }}
      return {{kind: 'canvas', ok: inked > 200, detail: `${{canvas.width}}x${{canvas.height}}, ${{inked}} inked pixels`}};
    }}
    const svg = node.querySelector('svg');
    if (svg) {{
      const marks = svg.querySelectorAll('path, rect, line, circle, text').length;
      const box = svg.getBoundingClientRect();
      return {{kind: 'svg', ok: marks > 5 && box.width > 0, detail: `${{marks}} marks`}};
    }}
    const img = node.querySelector('img');
    if (img) return {{kind: 'img', ok: img.complete && img.naturalWidth > 0, detail: `${{img.naturalWidth}}px`}};
    return {{kind: 'none', ok: false, detail: node.innerText.slice(0, 200)}};
  }});
}}"""

JS_KERNEL_EVAL = f"""async (expr) => {{
  const k = {JS_NB}.sessionContext.session.kernel;
  const reply = await k.requestExecute({{code: '', silent: true, store_history: false,
                                        user_expressions: {{r: expr}}}}).done;
  const r = reply.content.user_expressions.r;
  if (r.status !== 'ok') return {{error: `${{r.ename}}: ${{r.evalue}}`}};
  return {{text: r.data['text/plain']}};
}}"""

JS_CALC_DOM = """(slug) => {
  const el = document.querySelector(`.course-calc.calc-${slug}`);
  if (!el) return null;
  const outputs = {};
  el.querySelectorAll('.calc-result .calc-out').forEach(
    s => { outputs[s.dataset.key] = s.textContent.split(/\\s+/).filter(Boolean).join(' '); });
  const readouts = {};
  el.querySelectorAll('.calc-control').forEach(c => {
    const name = [...c.classList].find(k => k.startsWith('calc-control-'));
    const r = c.querySelector('.widget-readout');
    if (name && r) readouts[name.slice('calc-control-'.length)] = r.textContent.trim();
  });
  return {outputs, readouts, views: document.querySelectorAll(`.course-calc.calc-${slug}`).length};
}"""

# Each calculator label whose text does not fit its box (the browser cuts it with "…").
JS_CUT_LABELS = """() => [...document.querySelectorAll('.course-calc .widget-label')]
  .filter(l => l.offsetParent !== null && l.textContent.trim() && l.scrollWidth > l.clientWidth + 1)
  .map(l => `${l.textContent.trim()} (${l.scrollWidth} px of text in ${l.clientWidth} px)`)"""

JS_SCROLL_TOP = f"""() => {{
  const nb = {JS_NB}.content.node;
  (nb.querySelector('.jp-WindowedPanel-outer') || nb).scrollTop = 0;
}}"""

JS_SCROLL_HEIGHT = f"""() => {{
  const nb = {JS_NB}.content.node;
  const scroller = nb.querySelector('.jp-WindowedPanel-outer') || nb;
  return scroller.scrollHeight;
}}"""


def kernel_eval(page, expr: str):
    reply = page.evaluate(JS_KERNEL_EVAL, expr)
    assert "error" not in reply, f"kernel could not evaluate {expr!r}: {reply['error']}"
    return ast.literal_eval(reply["text"])


def snapshot(page, slugs: list[str] | None = None) -> dict:
    """The kernel's course_lib.ui.widgets.snapshot (all calculators, or those in ``slugs``)."""
    arg = "" if slugs is None else repr(list(slugs))
    return json.loads(kernel_eval(page, f"__import__('course_lib.ui.widgets', fromlist=['snapshot_json']).snapshot_json({arg})"))


# --- moving a calculator's controls ---------------------------------------------


def _readout_matches(text: str, value) -> bool:
    try:
        shown = float(text.replace(",", "").replace("−", "-"))
    except ValueError:
        return True  # a non-numeric readout format (SelectionSlider labels are checked by value change)
    value = float(value)
    return abs(shown - value) <= max(1e-9, 0.01 * abs(value), 10 ** -2)


def _move(page, slug: str, name: str, info: dict) -> bool:
    """Change control ``name`` of calculator ``slug`` by keyboard or mouse; False when it cannot be moved."""
    from course_lib.ui.widgets import slugify

    root = page.locator(f".course-calc.calc-{slug} .calc-control-{slugify(name)}").first
    kind, value = info["kind"], info["value"]
    if kind.endswith("Slider") and "Range" not in kind:
        handle = root.locator(".noUi-handle").first
        if handle.count() == 0 or root.locator("[disabled]").count():
            return False
        at_end = (value == info["max"]) if "max" in info else (info.get("label") == (info.get("options") or [None])[-1])
        handle.scroll_into_view_if_needed()
        # Clicking the handle makes its cell the active one first (JupyterLab moves focus
        # when a cell activates, which would swallow a key pressed straight away).
        handle.click()
        page.wait_for_timeout(300)
        handle.focus()
        handle.press("ArrowLeft" if at_end else "ArrowRight")
        return True
    if kind in ("Dropdown", "Select"):
        select = root.locator("select").first
        options = info.get("options") or []
        if len(options) < 2 or select.is_disabled():
            return False
        index = options.index(info["label"]) if info.get("label") in options else 0
        select.scroll_into_view_if_needed()
        select.select_option(index=(index + 1) % len(options))
        return True
    if kind == "Checkbox":
        box = root.locator("input[type=checkbox]").first
        if box.is_disabled():
            return False
        box.scroll_into_view_if_needed()
        box.click()
        return True
    if kind in ("ToggleButtons", "RadioButtons"):
        options = info.get("options") or []
        others = [o for o in options if o != info.get("label")]
        if not others:
            return False
        target = root.get_by_text(others[0], exact=True).first
        target.scroll_into_view_if_needed()
        target.click()
        return True
    if kind.endswith("Text") and isinstance(value, (int, float)) and not isinstance(value, bool):
        box = root.locator("input").first
        if box.is_disabled():
            return False
        step = info.get("step") or 1
        new = value + step
        if info.get("max") is not None and new > info["max"]:
            new = value - step
        box.scroll_into_view_if_needed()
        box.fill(str(int(new) if kind.startswith(("Int", "BoundedInt")) else round(new, 10)))
        box.press("Enter")
        return True
    return False


def check_calculator(page, slug: str, state: dict) -> list[str]:
    """Move controls until the result changes; return what went wrong (empty when all is right)."""
    problems = []
    dom = page.evaluate(JS_CALC_DOM, slug)
    if dom is None:
        return [f"{slug}: not displayed"]
    if not state["expected"]:
        return [f"{slug}: no <span class='calc-out' data-key=...> in its result (error: {state['error']})"]
    if dom["outputs"] != state["expected"]:
        problems.append(f"{slug}: page shows {dom['outputs']} but the library computes {state['expected']}")
    for name, info in state["controls"].items():
        before = dom["outputs"]
        if not _move(page, slug, name, info):
            continue
        deadline, now = time.monotonic() + 30, None
        changed = f"() => JSON.stringify(({JS_CALC_DOM})({json.dumps(slug)}).outputs) !== {json.dumps(json.dumps(before))}"
        while time.monotonic() < deadline:
            try:  # wait cheaply for the page to change, then ask the kernel
                page.wait_for_function(changed, timeout=3000, polling=100)
            except Exception:
                pass
            now = snapshot(page, [slug])[slug]
            shown = page.evaluate(JS_CALC_DOM, slug)
            if now["controls"][name]["value"] != info["value"] and shown["outputs"] == now["expected"]:
                break
        else:
            if now and now["controls"][name]["value"] == info["value"]:
                continue  # the control did not move (for example already at its limit): try the next one
            return problems + [f"{slug}: after moving {name!r} the page shows {shown['outputs']}, "
                               f"the library computes {now['expected'] if now else '?'}"]
        from course_lib.ui.widgets import slugify

        # A click and a key press can move a slider twice: let the page and the kernel settle on one
        # value (up to 10 s) before comparing the slider's readout with the value the kernel holds.
        settle = time.monotonic() + 10
        while True:
            readout = shown["readouts"].get(slugify(name))
            new_value = now["controls"][name]["value"]
            settled = shown["outputs"] == now["expected"] and (
                readout is None or not isinstance(new_value, (int, float)) or _readout_matches(readout, new_value))
            if settled or time.monotonic() > settle:
                break
            page.wait_for_timeout(300)
            now, shown = snapshot(page, [slug])[slug], page.evaluate(JS_CALC_DOM, slug)
        if shown["outputs"] != now["expected"]:
            return problems + [f"{slug}: after moving {name!r} the page shows {shown['outputs']}, "
                               f"the library computes {now['expected']}"]
        if readout is not None and isinstance(new_value, (int, float)) and not _readout_matches(readout, new_value):
            problems.append(f"{slug}: slider {name!r} reads {readout!r} but the kernel holds {new_value!r}")
        if shown["outputs"] == before:
            continue  # a value change that leaves the key numbers alone: try another control
        return problems  # the result changed to what the library computes
    return problems + [f"{slug}: no control changed the shown result"]


# --- the test -------------------------------------------------------------------


def _wait(page, js, arg=None, timeout_s=120, what="", explain=None):
    try:
        page.wait_for_function(js, arg=arg, timeout=timeout_s * 1000, polling=250)
    except Exception as err:  # playwright TimeoutError: say what we were waiting for
        detail = f": {page.evaluate(explain)}" if explain else ""
        raise AssertionError(f"timed out after {timeout_s} s waiting for {what}{detail}") from err


def _screenshots(page, stem: str, slugs) -> None:
    """The whole notebook (scrolled to the top, side bar closed), each chart, each calculator."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
    height = page.evaluate(JS_SCROLL_HEIGHT)
    page.set_viewport_size({"width": 1280, "height": int(min(max(height + 200, 900), 15000))})
    page.wait_for_timeout(800)
    page.evaluate(JS_SCROLL_TOP)
    page.wait_for_timeout(200)
    page.screenshot(path=str(SHOTS / f"{stem}.png"))
    charts = page.locator(".jp-OutputArea-output.jp-RenderedVegaCommon5")
    for i in range(min(charts.count(), 40)):
        charts.nth(i).screenshot(path=str(SHOTS / f"{stem}.chart{i + 1}.png"))
    for slug in slugs:
        page.locator(f".course-calc.calc-{slug}").first.screenshot(path=str(SHOTS / f"{stem}.calc-{slug}.png"))
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.mark.skipif(not LESSONS, reason="no lesson with a chart or widget in its committed outputs yet")
def test_course_in_jupyterlab_offline(lab, lab_page):
    page, blocked, page_errors = lab_page
    blocked.clear()
    page_errors.clear()
    if lab.guard_log.exists():
        lab.guard_log.unlink()
    try:
        open_notebook(page, "lessons/course.ipynb")
        start = time.perf_counter()
        with Sampler(lab.proc.pid) as sampler:
            page.evaluate(JS_RUN_ALL)
            _wait(page, JS_ALL_RAN, timeout_s=300, what="all cells to run")

            # Widgets and charts render after the kernel is done; give them time.
            calcs = snapshot(page)
            for slug in calcs:
                _wait(page, f"() => !!{JS_NB}.node.querySelector('.course-calc.calc-{slug}')", timeout_s=60,
                      what=f"calculator {slug} to display")
            n_charts = page.evaluate(JS_CHART_COUNT, nbselect.CHART_MIME)
            _wait(page, f"""() => {{
                const charts = ({JS_CHARTS})();
                return charts.length >= {n_charts} && charts.every(c => c.ok);
            }}""", timeout_s=60, what=f"{n_charts} charts to draw", explain=JS_CHARTS)
            _wait(page, f"() => !{JS_NB}.node.innerText.includes('Loading widget...')", timeout_s=60,
                  what="widgets to load")

            errors = page.evaluate(JS_CELL_ERRORS)
            assert not errors, errors

            # every lesson's calculators were built (one or more per widget cell)
            widget_cells = sum(1 for p in LESSONS for c in nbformat.read(p, as_version=4).cells
                               if c.cell_type == "code" and any(nbselect.WIDGET_MIME in o.get("data", {})
                                                                for o in c.get("outputs", [])))
            assert len(calcs) >= widget_cells, f"{len(calcs)} calculators for {widget_cells} widget cells: {list(calcs)}"

            problems = []
            for slug, state in calcs.items():
                problems += check_calculator(page, slug, state)
            assert not problems, "\n".join(problems)
            cut = page.evaluate(JS_CUT_LABELS)
            assert not cut, f"calculator labels cut short: {cut}"

            charts = page.evaluate(JS_CHARTS)  # calculators may have redrawn theirs
            assert all(c["ok"] for c in charts), charts
            shown = sum(len(nbselect.chart_outputs(p)) for p in LESSONS)
            assert n_charts >= shown and len(charts) >= shown, f"{len(charts)} charts drawn of the lessons' {shown}"
            _screenshots(page, "course", calcs)
            assert not page.evaluate(JS_CELL_ERRORS)
        print(f"{len(LESSONS)} lessons: {len(charts)} charts drawn ({', '.join(sorted({c['kind'] for c in charts}))}), "
              f"{len(calcs)} calculators checked, {time.perf_counter() - start:.0f} s, "
              f"kernel peak {sampler.peak / 2**20:.0f} MiB")
        assert not blocked, f"the page tried to reach the network: {blocked}"
        attempts = netguard.attempts(lab.guard_log)
        assert not attempts, "outbound network access from the kernel or server:\n" + "\n".join(
            f"{a['call']} {a['target']}\n{a['stack']}" for a in attempts)
        assert not sampler.remote, f"connections to non-loopback addresses: {sampler.remote}"
        assert 0 < sampler.peak / 2**20 <= BUDGET_MIB, f"kernel peak {sampler.peak / 2**20:.0f} MiB"
        assert not page_errors, f"JavaScript errors: {page_errors}"
    finally:
        close_notebook(page)


SELF_CHECK_CELLS = [
    "import ipywidgets as w\n"
    "from course_lib.ui.widgets import Calculator\n"
    "calc = Calculator({'width': w.IntSlider(value=3, min=1, max=10, description='width of the room (m)'),\n"
    "                   'height': w.IntSlider(value=4, min=1, max=10)},\n"
    "                  lambda width, height: width * height,\n"
    "                  lambda area: f\"area <span class='calc-out' data-key='area'>{area} m²</span>\",\n"
    "                  title='Browser self check')\n"
    "calc",
    "import altair as alt, pandas as pd\n"
    "from course_lib.ui import render\n"
    "render.enable()\n"
    "alt.Chart(pd.DataFrame({'x': [1, 2, 3], 'y': [1, 4, 9]}), title='self check').mark_line().encode(x='x', y='y')",
]


def test_browser_checks_can_fail(lab, lab_page):
    """On a two-cell notebook: the calculator check passes on a working calculator and
    catches a page that shows a stale result or cuts a label short; a request from the page to the internet and
    a connection from the kernel are blocked and recorded; the chart is seen as drawn."""
    page, blocked, _ = lab_page
    folder = lab.work / "selfcheck"
    folder.mkdir(exist_ok=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in SELF_CHECK_CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / "selfcheck.ipynb")
    try:
        open_notebook(page, "selfcheck/selfcheck.ipynb")
        page.evaluate(JS_RUN_ALL)
        _wait(page, JS_ALL_RAN, timeout_s=120, what="all cells to run")
        assert not page.evaluate(JS_CELL_ERRORS)
        (slug,) = snapshot(page)
        _wait(page, f"() => !!{JS_NB}.node.querySelector('.course-calc.calc-{slug}')", timeout_s=60, what="the calculator")
        _wait(page, f"() => ({JS_CHARTS})().length === 1 && ({JS_CHARTS})()[0].ok", timeout_s=60,
              what="the chart to draw", explain=JS_CHARTS)

        state = snapshot(page)[slug]
        assert state["expected"] == {"area": "12 m²"}
        assert check_calculator(page, slug, state) == []
        after = snapshot(page)[slug]
        assert after["controls"]["width"]["value"] == 4 and after["expected"] == {"area": "16 m²"}, after
        assert page.evaluate(JS_CALC_DOM, slug)["readouts"]["width"] == "4"

        # A page that does not show what the library computes is caught.
        kernel_eval(page, "setattr(calc.result_html, 'value', \"<span class='calc-out' data-key='area'>99 m²</span>\")")
        _wait(page, f"() => ({JS_CALC_DOM})('{slug}').outputs.area === '99 m²'", timeout_s=30, what="the stale text")
        problems = check_calculator(page, slug, snapshot(page)[slug])
        assert problems and "99 m²" in problems[0], problems

        # A label too narrow for its text is caught; the calculator's own widths cut none.
        assert page.evaluate(JS_CUT_LABELS) == []
        kernel_eval(page, "setattr(calc.controls['width'].style, 'description_width', '30px')")
        _wait(page, f"() => ({JS_CUT_LABELS})().length === 1", timeout_s=30, what="the narrowed label")
        assert page.evaluate(JS_CUT_LABELS)[0].startswith("width of the room (m)")

        # The page's and the kernel's network access are refused and recorded.
        blocked.clear()
        failed = page.evaluate("() => fetch('https://cdn.jsdelivr.net/npm/vega@5').then(() => false, () => true)")
        assert failed and any("cdn.jsdelivr.net" in url for url in blocked), blocked
        reply = page.evaluate(JS_KERNEL_EVAL, "__import__('socket').create_connection(('192.0.2.1', 80), timeout=2)")
        assert "refused by the course" in reply.get("error", ""), reply
        assert any("192.0.2.1" in a["target"] for a in netguard.attempts(lab.guard_log))
    finally:
        blocked.clear()
        if lab.guard_log.exists():
            lab.guard_log.unlink()
        close_notebook(page)


def test_make_lab_shows_no_news_popup(browser, tmp_path):
    """Issue 12: JupyterLab started by `make lab` (its shipped overrides.json, a fresh
    user settings dir, a hostile user config) asks no "official Jupyter news?" question.
    Self-contained: its own server, tests/notebooks/test_lab_command.py's MakeLab."""
    from test_lab_command import MakeLab

    context, _blocked = browser
    server = MakeLab(tmp_path)
    page = context.new_page()
    try:
        page.goto(f"{server.url}/lab?token={server.token}", wait_until="domcontentloaded")
        page.wait_for_selector("#jp-main-dock-panel", timeout=180_000)
        page.wait_for_timeout(8000)  # without the override the question pops up within seconds of start-up
        assert page.get_by_text("official Jupyter news").count() == 0
        assert not any("news" in text.lower() for text in page.locator(".Toastify__toast").all_inner_texts())
    finally:
        page.close()
        server.stop()
