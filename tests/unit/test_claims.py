"""course_lib.claims: one verdict per claim of the seed page, pointing at lesson sections that exist."""

import re
from pathlib import Path

import nbformat
import pytest

from course_lib import claims

ROOT = Path(__file__).resolve().parents[2]

# The seed page, part by part, as the third review's Part 4 lists it (25 rows).
SEED_PAGE = {
    "table row": ["Purpose and primary goal", "Frequency", "Data volume", "Compute needs", "Time scale",
                  "Hardware optimization", "Batch size", "Cost structure", "Energy consumption", "Precision",
                  "Memory usage", "Scalability focus"],
    "example": ["Hidden costs", "ChatGPT-scale daily cost", "Energy impact", "Training vs inference spend"],
    "question": ["The closing question"],
    "training panel": ["High Memory Bandwidth", "Massive Parallel Processing", "Large Memory Capacity",
                       "High Precision Compute"],
    "inference panel": ["Low Latency Design", "Energy Efficiency", "High Throughput", "Quantization Support"],
}


def test_every_row_and_panel_of_the_seed_page_has_one_verdict():
    table = claims.verdicts()
    assert list(table.columns) == list(claims.COLUMNS)
    assert len(table) == 25 == sum(len(topics) for topics in SEED_PAGE.values())
    assert sorted(table.claim) == sorted(t for topics in SEED_PAGE.values() for t in topics)
    for part, topics in SEED_PAGE.items():
        assert sorted(table[table.part == part].claim) == sorted(topics), part
    assert table.verdict.str.len().min() > 0 and table.why.str.len().min() > 20
    assert len({c.key for c in claims.CLAIMS}) == 25


def test_a_lesson_shows_exactly_the_claims_it_judges():
    sevens = claims.verdicts(lesson=7)
    # lesson 07 judges time scale (§5), the hardware row and bandwidth (§4), the KV cache (§1), low latency (§5)
    assert sorted(sevens.claim) == sorted(["Time scale", "Hardware optimization", "Memory usage", "The closing question",
                                           "High Memory Bandwidth", "Low Latency Design"])
    assert all("07 §" in where for where in sevens["judged in"])
    assert list(claims.verdicts(lesson=6).claim) == ["Scalability focus", "Massive Parallel Processing",
                                                     "Large Memory Capacity", "High Throughput"]
    assert list(claims.verdicts(lesson=0).claim) == ["Purpose and primary goal"]
    everyone = claims.verdicts()
    for lesson in range(9):  # a lesson's row is the whole table's row, word for word
        part = claims.verdicts(lesson=lesson)
        merged = part.merge(everyone, how="left", indicator=True)
        assert (merged["_merge"] == "both").all()


def test_the_verdicts_agree_with_the_lessons_that_state_them():
    """Lessons 06 and 07 state these verdicts in their prose; the table says the same."""
    by_topic = dict(zip(claims.verdicts().claim, claims.verdicts().verdict))
    lesson06 = (ROOT / "lessons" / "06_scale_up_scale_out.ipynb").read_text().lower()
    lesson07 = (ROOT / "lessons" / "07_generation.ipynb").read_text().lower()
    assert by_topic["Scalability focus"].startswith("right in spirit") and "right in spirit" in lesson06
    assert by_topic["Low Latency Design"] == "misleading as stated" and "misleading as stated" in lesson07
    assert by_topic["Time scale"] == "supported for a single-pass model, incomplete for a generative one"
    assert by_topic["Time scale"] in lesson07


def _sections(path: Path) -> set[int]:
    nb = nbformat.read(path, as_version=4)
    return {int(m.group(1)) for c in nb.cells if c.cell_type == "markdown"
            for m in re.finditer(r"^## (\d+)\. ", c.source, re.M)}


def test_every_judging_section_exists():
    for number, name in claims.LESSON_FILES.items():
        assert (ROOT / "lessons" / name).is_file(), name
        assert name.startswith(f"{number:02d}_")
    sections = {n: _sections(ROOT / "lessons" / name) for n, name in claims.LESSON_FILES.items()}
    for c in claims.CLAIMS:
        assert c.part in claims.PARTS, c.key
        for lesson, section in c.where:
            assert section is None or section in sections[lesson], f"{c.key}: lesson {lesson:02d} has no section {section}"


def test_markdown_links_each_section_and_escapes_dollars():
    text = claims.verdicts_markdown()
    rows = text.splitlines()
    assert rows[0] == "| the seed page says | verdict | why | judged in |" and len(rows) == 2 + 25
    assert "[07 §5](07_generation.ipynb)" in text and "[08 §2](08_serving_llms.ipynb)" in text
    assert "[06 §8](06_scale_up_scale_out.ipynb)" in text
    assert "\\$0.002" in text and "\\$20,000/day" in text and re.search(r"(?<!\\)\$", text) is None
    assert all(row.count(" | ") == 3 for row in rows[2:])  # no stray pipe splits a row
    assert claims.verdicts_markdown(lesson=4).count("\n") == 1 + len(claims.verdicts(lesson=4))


@pytest.mark.parametrize("bad", [-1, 9, 1.5, True, "7"])
def test_bad_lesson_is_refused_by_name(bad):
    with pytest.raises((ValueError, TypeError), match="lesson"):
        claims.verdicts(lesson=bad)
