"""True back-links (issue 19 item 7): a public name whose docstring names a
lesson is used by that name in that lesson's notebooks (lesson, lab or
solution), and ``course_lib.LESSONS`` lists the modules each lesson imports.

``tests/backlinks_known_false.txt`` lists the false back-links left when this
test was written (module, name, lesson); it may only shrink: fix a docstring
(name the function that uses it instead, or the lesson that does) and delete
its line. ``python tools/backlinks.py`` prints the current list.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import backlinks  # noqa: E402

import course_lib  # noqa: E402

KNOWN = ROOT / "tests" / "backlinks_known_false.txt"


def _known() -> set[tuple[str, str, str]]:
    return {tuple(line.split()) for line in KNOWN.read_text().splitlines() if line.strip()}


def test_no_new_false_backlinks():
    found = set(backlinks.false_backlinks())
    new = sorted(found - _known())
    assert not new, ("docstrings name lessons whose notebooks never use the name (name the function that uses "
                     f"it instead, or the right lesson): {new}")


def test_the_known_list_only_shrinks():
    fixed = sorted(_known() - set(backlinks.false_backlinks()))
    assert not fixed, f"these back-links are true now (or gone): delete their lines from {KNOWN.name}: {fixed}"


def test_lessons_map_is_true():
    assert course_lib.LESSONS == backlinks.lessons_map()


def test_the_reader_finds_lessons_and_ranges():
    assert backlinks.lessons_named("Lesson 01, section 2; lesson 05, section 3; lab 05, exercise 3.") == {"01", "05"}
    assert backlinks.lessons_named("Lessons 01, 02 and 05.") == {"01", "02", "05"}
    assert backlinks.lessons_named("lessons 02–04 wherever a time is shown") == {"02", "03", "04"}
    assert backlinks.lessons_named("Not tied to one lesson.") == set()
