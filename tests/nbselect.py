"""Which notebooks the browser and offline tests run (shared by both).

The browser test (tests/test_browser.py) runs every lesson whose committed
outputs hold a chart or a widget, with the network guard on its kernels;
the offline test (tests/test_offline.py) runs the other notebooks, or all of
them where the browser test cannot run. Every lesson and solution is thus
executed offline once besides nbval's run, which keeps `make test` in budget.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHART_MIME = "application/vnd.vegalite.v5+json"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def lessons() -> list[Path]:
    return sorted((ROOT / "lessons").glob("*.ipynb"))


def solutions() -> list[Path]:
    return sorted((ROOT / "solutions").glob("*.ipynb"))


def output_mimes(path: Path) -> set[str]:
    """Every MIME type in the committed outputs of notebook ``path``."""
    nb = json.loads(Path(path).read_text())
    return {
        mime
        for cell in nb.get("cells", [])
        for out in cell.get("outputs", [])
        for mime in out.get("data", {})
    }


def has_chart_or_widget(path: Path) -> bool:
    return bool(output_mimes(path) & {CHART_MIME, WIDGET_MIME})


def browser_lessons() -> list[Path]:
    """Lessons with a chart or a widget in their committed outputs."""
    return [p for p in lessons() if has_chart_or_widget(p)]


def browser_unavailable() -> str | None:
    """Why the browser test cannot run here, or ``None`` when it can."""
    if not os.access(CHROMIUM, os.X_OK):
        return (f"no Chromium at {CHROMIUM}: `make setup` installs it with apt-get (tools/install_chromium.sh), "
                "which needs root; install the `chromium` package to run the browser tests")
    if importlib.util.find_spec("playwright") is None:
        return "Playwright for Python is not installed (pip install -e '.[test]')"
    return None


def offline_notebooks() -> list[Path]:
    """The notebooks tests/test_offline.py executes."""
    covered = set(browser_lessons()) if browser_unavailable() is None else set()
    return [p for p in lessons() + solutions() if p not in covered]


def run_notebooks_module():
    """tools/run_notebooks.py as a module: the tests measure kernel memory with its
    ``_tree_rss(pid)``, so they and the budgets report (`make budgets`) agree."""
    spec = importlib.util.spec_from_file_location("run_notebooks", ROOT / "tools" / "run_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
