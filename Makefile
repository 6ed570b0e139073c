# Two commands do everything (README): `make lab` and `make test`.
# Both create .venv with pip and install the course into it first.
# `make test-fast` runs the unit tests alone (no notebook, kernel, worker process or browser).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup lab test test-fast execute labs budgets grade clean

$(STAMP): pyproject.toml
	$(PYTHON) tools/check_python.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=23"
	$(BIN)/python -m pip install --quiet -e ".[test]"
	bash tools/install_chromium.sh
	touch $(STAMP)

setup: $(STAMP)

# tools/lab.py starts JupyterLab private to you whatever a user's Jupyter config
# says: no user, environment or system Jupyter config is read (JUPYTER_NO_CONFIG);
# tools/lab_server_config.py, the only config, pins token authentication, the
# stock identity provider, 127.0.0.1, XSRF and origin checks. The token is a
# fresh random one, in the environment (never on a command line); the script
# checks the running server refuses a request without it, then prints the full
# URL with the token on its own line. As root it adds --allow-root and says so.
# The course's JupyterLab settings and kernel culling come from jupyterlab-settings/.
# LAB_ARGS adds options (tests: --no-browser --ServerApp.port=N).
lab: setup
	$(BIN)/python tools/lab.py $(LAB_ARGS)

# Everything, each notebook executed once (nbval, with the offline guard and memory check of
# conftest.py). Exit code 5 (pytest collected no test) is a failure, said in words.
# Two workers, each taking whole files (a notebook's cells run in order in one kernel).
PYTEST_XDIST ?= -n 2 --dist loadfile
test: setup
	@test -d solutions || echo "make test: this copy has no solutions/ (the labs an instructor hands out): the tests that compare labs with their solutions are skipped (listed as SKIPPED at the end)"
	@$(BIN)/python -m pytest $(PYTEST_XDIST) $(ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no test (exit code 5); that is a failure"; fi; \
	exit $$rc

# Unit tests only (tests/ without the ones conftest.py marks slow), under 90 s.
test-fast: setup
	@$(BIN)/python -m pytest -o addopts="-ra -p no:cacheprovider" $(PYTEST_XDIST) -m "not slow" $(ARGS) tests; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test-fast: pytest collected no test (exit code 5); that is a failure"; fi; \
	exit $$rc

# Re-execute every lesson and solution in place (commit the outputs), then regenerate labs.
execute: setup
	$(BIN)/python tools/run_notebooks.py $(NB)
	$(BIN)/python tools/make_labs.py

labs: setup
	$(BIN)/python tools/make_labs.py

# Grade a class (INSTRUCTORS.md): SUBMISSIONS=<dir> holds <student>/labNN_*.ipynb; each notebook runs
# headless in a fresh kernel, offline, GRADE_TIMEOUT seconds at most; writes <dir>/grades.csv,
# summary.md and hardest_exercises.svg.
GRADE_TIMEOUT ?= 300
GRADE_JOBS ?= 2
grade: setup
	@test -n "$(SUBMISSIONS)" || { echo "make grade: say where the notebooks are: make grade SUBMISSIONS=<dir>"; exit 2; }
	$(BIN)/python tools/grade.py "$(SUBMISSIONS)" --timeout $(GRADE_TIMEOUT) --jobs $(GRADE_JOBS)

# Wall time and kernel peak memory per notebook, without touching the files.
budgets: setup
	$(BIN)/python tools/run_notebooks.py --no-write

clean:
	rm -rf $(VENV) .pytest_cache
