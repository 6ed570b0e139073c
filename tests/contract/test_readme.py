"""README.md: its Binder links open JupyterLab at a real notebook, and its
budget table lists every notebook within the course's budgets.

Formats checked (the README is written by hand; these tests keep it honest):

- Binder links: ``https://mybinder.org/v2/gh/ORG/REPO/main?urlpath=lab/tree/<path>``
  (``urlpath`` may be URL-encoded). ``<path>`` must be an existing notebook;
  every lesson in lessons/ needs one; all links name the same ORG/REPO and
  the branch ``main``. Where a link sits on a line that names notebooks in
  backticks or as relative links ``[text](lessons/x.ipynb)`` (a syllabus table
  row), it must open one of those notebooks.
- Budget table: one Markdown table row per notebook in lessons/ and
  solutions/, the path in backticks in the first cell, then wall time in
  seconds and kernel peak memory in MiB (what ``tools/run_notebooks.py
  --markdown`` prints), each within budget, and a ``**total**`` row within
  the 5-minute total.
"""

import re
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
NOTEBOOKS = sorted(p.relative_to(ROOT).as_posix() for d in ("lessons", "solutions") for p in (ROOT / d).glob("*.ipynb"))
LESSONS = [n for n in NOTEBOOKS if n.startswith("lessons/")]
BUDGET_S, BUDGET_MIB, TOTAL_S = 30.0, 1024.0, 300.0

BINDER_LINK = re.compile(r"https?://mybinder\.org/v2/[^\s)\]>\"']+")
BACKTICKED_NOTEBOOK = re.compile(r"`([\w./-]+\.ipynb)`")
LINKED_NOTEBOOK = re.compile(r"\]\(([\w./-]+\.ipynb)\)")  # [text](lessons/x.ipynb), a relative link


@pytest.fixture(scope="module")
def readme() -> str:
    assert README.exists(), "README.md is missing"
    return README.read_text(encoding="utf-8")


def binder_links(text: str) -> list[tuple[str, str, str]]:
    """``(line, url, notebook path)`` for every mybinder.org launch link."""
    found = []
    for line in text.splitlines():
        for url in BINDER_LINK.findall(line):
            query = parse_qs(urlparse(url.replace("&amp;", "&")).query)
            urlpath = unquote(query.get("urlpath", [""])[0])
            path = urlpath[len("lab/tree/"):] if urlpath.startswith("lab/tree/") else ""
            found.append((line, url, path))
    return found


def test_binder_links_open_existing_notebooks_in_jupyterlab(readme):
    links = binder_links(readme)
    assert links, "README.md has no mybinder.org link"
    for line, url, path in links:
        assert path, f"{url}: needs urlpath=lab/tree/<notebook> (opens JupyterLab at that notebook)"
        assert path.endswith(".ipynb") and (ROOT / path).is_file(), f"{url}: {path} is not a notebook in the repo"
        named = set(BACKTICKED_NOTEBOOK.findall(line)) | set(LINKED_NOTEBOOK.findall(line))
        if named:
            assert path in named, f"{url} opens {path}, but its line names {sorted(named)}"


def test_binder_links_share_repo_and_main_branch(readme):
    repos = set()
    for _, url, _ in binder_links(readme):
        m = re.match(r"https?://mybinder\.org/v2/gh/([^/]+)/([^/]+)/([^/?]+)\?", url)
        assert m, f"{url}: expected https://mybinder.org/v2/gh/ORG/REPO/main?urlpath=lab/tree/<notebook>"
        assert m.group(3) == "main", f"{url}: branch must be main"
        repos.add(m.group(1, 2))
    assert len(repos) == 1, f"Binder links point at several repositories: {sorted(repos)}"


@pytest.mark.skipif(not LESSONS, reason="no lessons yet")
def test_every_lesson_has_a_binder_link(readme):
    linked = {path for _, _, path in binder_links(readme)}
    missing = [lesson for lesson in LESSONS if lesson not in linked]
    assert not missing, f"no Binder link for {missing}"


NUMBER = re.compile(r"\d+(?:\.\d+)?")


def budget_rows(text: str) -> dict[str, list[str]]:
    """``{notebook path: [seconds cell, MiB cell, ...]}`` for Markdown table rows whose first cell is a
    backticked notebook and whose next two cells are numbers, plus ``"**total**"`` for the total row.
    (Rows of other tables, such as a syllabus naming lesson and lab, are not budget rows.)"""
    rows = {}
    for line in text.splitlines():
        if not line.lstrip().startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not all(NUMBER.search(c) and ".ipynb" not in c for c in cells[1:3]):
            continue
        m = re.fullmatch(r"`([\w./-]+\.ipynb)`", cells[0])
        if m:
            rows[m.group(1)] = cells[1:]
        elif cells[0].lower().strip("* ") == "total":
            rows["**total**"] = cells[1:]
    return rows


def _number(cell: str) -> float:
    m = NUMBER.search(cell.replace(",", ""))
    assert m, f"no number in table cell {cell!r}"
    return float(m.group())


@pytest.mark.skipif(not NOTEBOOKS, reason="no notebooks yet")
def test_budget_table_lists_every_notebook_within_budget(readme):
    rows = budget_rows(readme)
    missing = [nb for nb in NOTEBOOKS if nb not in rows]
    assert not missing, f"README budget table has no row for {missing}"
    for nb in NOTEBOOKS:
        seconds, mib = _number(rows[nb][0]), _number(rows[nb][1])
        assert seconds <= BUDGET_S, f"{nb}: {seconds} s in the README is over the {BUDGET_S:.0f} s budget"
        assert mib <= BUDGET_MIB, f"{nb}: {mib} MiB in the README is over the {BUDGET_MIB:.0f} MiB budget"
    assert "**total**" in rows, "README budget table needs a **total** row"
    assert _number(rows["**total**"][0]) <= TOTAL_S


def test_parsers_on_a_sample():
    sample = (
        "| lesson | lab | open |\n|---|---|---|\n"
        "| `lessons/00_tour.ipynb` | `labs/lab00_tour.ipynb` |"
        " [![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/o/r/main?urlpath=lab%2Ftree%2Flessons%2F00_tour.ipynb) |\n"
        "| `lessons/01_x.ipynb` | 12.5 | 431 |\n| **total** | **80.1** | **max 500** |\n"
    )
    links = binder_links(sample)
    assert [(url.split("?")[0], path) for _, url, path in links] == [
        ("https://mybinder.org/v2/gh/o/r/main", "lessons/00_tour.ipynb")
    ]
    rows = budget_rows(sample)
    assert rows["lessons/01_x.ipynb"] == ["12.5", "431"]
    assert _number(rows["**total**"][0]) == 80.1
    assert "lessons/00_tour.ipynb" not in rows  # a syllabus row is not a budget row
    row = "| 01 | [Forward](lessons/01_f.ipynb) | [lab](https://mybinder.org/v2/gh/o/r/main?urlpath=lab/tree/labs/lab01.ipynb) |"
    assert set(LINKED_NOTEBOOK.findall(row)) == {"lessons/01_f.ipynb"}


# --- syllabus minutes ---------------------------------------------------------------------

STATED_TIME = re.compile(r"\*\*Time(?::\*\*|\*\*:)\s*about (\d+) minutes")  # **Time:** or **Time**:
SYLLABUS_ROW = re.compile(r"^\|\s*(\d\d)\s*\|\s*\[[^\]]*\]\((lessons/[\w./-]+\.ipynb)\)\s*\|[^|]*\|\s*(\d+)(?:\s*\+\s*\d+)?\s*\|", re.M)


def syllabus_minutes(text: str) -> dict[str, int]:
    """``{lesson path: minutes}`` from the syllabus table (the lesson's part of "30 + 20")."""
    section = text.split("## Syllabus", 1)[1].split("\n## ", 1)[0]
    return {path: int(minutes) for _, path, minutes in SYLLABUS_ROW.findall(section)}


def stated_minutes(path: Path) -> int | None:
    """The minutes a notebook's goals cell states ("**Time:** about 25 minutes"), or None."""
    import nbformat

    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "markdown" and (m := STATED_TIME.search(cell.source)):
            return int(m.group(1))
    return None


def test_syllabus_parser_on_a_sample():
    sample = ("## Syllabus\n\n| # | lesson | lab | minutes | open |\n|---|---|---|---:|---|\n"
              "| 00 | [Tour](lessons/00_tour.ipynb) | — | 10 | [00](x) |\n"
              "| 04 | [Precision](lessons/04_precision.ipynb) | [lab04](labs/lab04_precision.ipynb) | 25 + 20 | [04](x) |\n\n## Next\n")
    assert syllabus_minutes(sample) == {"lessons/00_tour.ipynb": 10, "lessons/04_precision.ipynb": 25}


@pytest.mark.parametrize("lesson", LESSONS)
def test_syllabus_minutes_match_the_lesson(readme, lesson):
    """Issue 22: the README's minutes for a lesson are the ones its goals cell states."""
    listed = syllabus_minutes(readme)
    assert lesson in listed, f"the syllabus has no row for {lesson}"
    assert listed[lesson] == stated_minutes(ROOT / lesson), (
        f"README says {listed[lesson]} minutes for {lesson}; the notebook says {stated_minutes(ROOT / lesson)}")
