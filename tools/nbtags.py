"""Turn nbval's comment markers into cell tags, so learners see only code that teaches.

    python tools/nbtags.py lessons/00_tour.ipynb lessons/03_batch_size.ipynb
    python tools/nbtags.py --check lessons/*.ipynb solutions/*.ipynb   # list, change nothing

A code cell whose source has a line ``# NBVAL_IGNORE_OUTPUT`` loses that line
and gains the cell tag ``nbval-ignore-output``, which nbval (0.9 and later)
reads from ``cell.metadata.tags`` exactly as it reads the comment. Outputs,
other tags and every other line are kept; a blank line left at the top of the
cell by the removal goes too. The notebook is rewritten only when something
changed. ``--check`` prints the cells that still carry the comment and exits
with 1 if there are any (tests/contract/test_project.py checks the same).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

COMMENT = "# NBVAL_IGNORE_OUTPUT"
TAG = "nbval-ignore-output"


def _is_marker(line: str) -> bool:
    """The line nbval reads as the marker: ``#``s, spaces, then the word alone."""
    return line.strip().startswith("#") and line.strip().lstrip("#").strip() == COMMENT.lstrip("# ")


def marked_cells(nb) -> list[int]:
    """Indices of the code cells whose source still has the comment marker."""
    return [i for i, cell in enumerate(nb.cells)
            if cell.cell_type == "code" and any(_is_marker(line) for line in cell.source.splitlines())]


def convert(nb) -> int:
    """Move every comment marker of ``nb`` (in place) into the cell's tags; returns how many cells changed."""
    changed = 0
    for i in marked_cells(nb):
        cell = nb.cells[i]
        lines = [line for line in cell.source.splitlines() if not _is_marker(line)]
        while lines and not lines[0].strip():
            lines.pop(0)
        cell.source = "\n".join(lines)
        tags = list(cell.metadata.get("tags", []))
        if TAG not in tags:
            tags.append(TAG)
        cell.metadata["tags"] = tags
        changed += 1
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="only list the cells that still carry the comment")
    args = parser.parse_args(argv)
    left = 0
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        if args.check:
            cells = marked_cells(nb)
            if cells:
                print(f"{path}: {COMMENT} in cells {cells}")
            left += len(cells)
            continue
        n = convert(nb)
        if n:
            nbformat.write(nb, path)
        print(f"{path}: {n} cell(s) tagged {TAG}")
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
