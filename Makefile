# Two commands do everything (README): `make lab` and `make test`.
# Both create .venv with pip and install the course into it first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup lab test execute labs budgets clean

$(STAMP): pyproject.toml
	$(PYTHON) tools/check_python.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=23"
	$(BIN)/python -m pip install --quiet -e ".[test]"
	bash tools/install_chromium.sh
	touch $(STAMP)

setup: $(STAMP)

# Token authentication stays on; the server listens on localhost only.
lab: setup
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir=. lessons/00_tour.ipynb

test: setup
	$(BIN)/python -m pytest

# Re-execute every lesson and solution in place (commit the outputs), then regenerate labs.
execute: setup
	$(BIN)/python tools/run_notebooks.py $(NB)
	$(BIN)/python tools/make_labs.py

labs: setup
	$(BIN)/python tools/make_labs.py

# Wall time and kernel peak memory per notebook, without touching the files.
budgets: setup
	$(BIN)/python tools/run_notebooks.py --no-write

clean:
	rm -rf $(VENV) .pytest_cache
