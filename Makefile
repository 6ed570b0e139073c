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
