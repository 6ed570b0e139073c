"""Authoring aid: turn a draft in "percent" format into a notebook.

    python tools/py2nb.py draft.py lessons/07_new.ipynb

In the draft, ``# %%`` starts a code cell and ``# %% [markdown]`` a Markdown
cell whose lines are comments (``# text``). The notebook written is then the
source: edit it in JupyterLab, and run ``make execute`` to fill its outputs.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HEADER = re.compile(r"^# %%(?:\s*\[(markdown|md)\])?\s*$")


def convert(text: str):
    cells, kind, lines = [], None, []

    def flush():
        body = "\n".join(lines).strip("\n")
        if kind == "markdown":
            body = "\n".join(re.sub(r"^# ?", "", line) for line in body.splitlines())
            cells.append(new_markdown_cell(body))
        elif kind == "code" and body.strip():
            cells.append(new_code_cell(body))

    for line in text.splitlines():
        match = HEADER.match(line)
        if match:
            flush()
            kind, lines = ("markdown" if match.group(1) else "code"), []
        elif kind is not None:
            lines.append(line)
    flush()
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    nbformat.write(convert(Path(sys.argv[1]).read_text()), sys.argv[2])
