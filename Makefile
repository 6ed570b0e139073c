# Two commands do everything (README): `make lab` and `make test`.
# Both create .venv with pip and install the course into it first.
# `make test-fast` runs the unit tests alone (no notebook, kernel, worker process or browser).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup lab test test-fast execute labs budgets clean

$(STAMP): pyproject.toml
	$(PYTHON) tools/check_python.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=23"
	$(BIN)/python -m pip install --quiet -e ".[test]"
	bash tools/install_chromium.sh
	touch $(STAMP)

setup: $(STAMP)

# Token authentication stays on whatever a user's Jupyter config says: the
# command line beats every config file, so it pins a fresh random token, the
# stock identity provider and login handler (a config cannot swap in one that
# lets everyone in), XSRF checks on and no cross-origin access. The server
# listens on 127.0.0.1 only (no Unix socket, no remote Host headers). The
# course's JupyterLab settings (no news popup, no update check) come from
# jupyterlab-settings/overrides.json, which postBuild installs on Binder too.
# LAB_ARGS adds options (tests: --no-browser --ServerApp.port=N).
lab: setup
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.sock= --ServerApp.allow_remote_access=False \
	  --IdentityProvider.token=$$($(BIN)/python -c 'import secrets; print(secrets.token_hex(24))') \
	  --ServerApp.identity_provider_class=jupyter_server.auth.identity.PasswordIdentityProvider \
	  --ServerApp.login_handler_class=jupyter_server.auth.login.LoginHandler \
	  --ServerApp.disable_check_xsrf=False --ServerApp.allow_origin= --ServerApp.allow_origin_pat= \
	  --LabApp.app_settings_dir=jupyterlab-settings --LabApp.news_url=None \
	  --LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate \
	  --ServerApp.root_dir=. $(LAB_ARGS) lessons/00_tour.ipynb

# Everything, each notebook executed once (nbval, with the offline guard and memory check of
# conftest.py). Exit code 5 (pytest collected no test) is a failure, said in words.
# Two workers, each taking whole files (a notebook's cells run in order in one kernel).
PYTEST_XDIST ?= -n 2 --dist loadfile
test: setup
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

# Wall time and kernel peak memory per notebook, without touching the files.
budgets: setup
	$(BIN)/python tools/run_notebooks.py --no-write

clean:
	rm -rf $(VENV) .pytest_cache
