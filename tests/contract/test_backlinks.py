"""True back-links (issue 19 item 7): a public name whose docstring names a
lesson is used by that name in that lesson's notebooks (lesson, lab or
solution), and ``course_lib.LESSONS`` lists the modules each lesson imports.

There are none: a docstring that names a lesson whose notebooks never use the
name fails here (name the lesson that does, or say which public function uses
it). ``python tools/backlinks.py`` prints the current list.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import backlinks  # noqa: E402

import course_lib  # noqa: E402


def test_no_false_backlinks():
    found = backlinks.false_backlinks()
    assert found == [], ("docstrings name lessons whose notebooks never use the name (name the function that uses "
                         f"it instead, or the right lesson): {found}")


def test_lessons_map_is_true():
    assert course_lib.LESSONS == backlinks.lessons_map()


def test_the_reader_finds_lessons_and_ranges():
    assert backlinks.lessons_named("Lesson 01, section 2; lesson 05, section 3; lab 05, exercise 3.") == {"01", "05"}
    assert backlinks.lessons_named("Lessons 01, 02 and 05.") == {"01", "02", "05"}
    assert backlinks.lessons_named("lessons 02–04 wherever a time is shown") == {"02", "03", "04"}
    assert backlinks.lessons_named("Not tied to one lesson.") == set()
