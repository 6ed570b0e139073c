# The only Jupyter config `make lab` loads (tools/lab.py runs jupyter with
# JUPYTER_NO_CONFIG=1, so no user, environment or system config file is read,
# whatever its format, and this file is given with --config).
#
# It pins what keeps the server private: token authentication with the stock
# identity provider and login handler, no password, localhost only, XSRF and
# origin checks on, no extra tornado settings. The token comes from the
# environment variable tools/lab.py sets (JUPYTER_TOKEN, never the command
# line). Kernel culling and JupyterLab's settings come from jupyterlab-settings/.
import json
import os
import sys
from pathlib import Path

from jupyter_server.auth.identity import PasswordIdentityProvider
from jupyter_server.auth.login import LoginHandler

ROOT = Path(__file__).resolve().parents[1]
token = os.environ.get("JUPYTER_TOKEN", "")
if len(token) < 32:
    raise SystemExit("tools/lab_server_config.py: JUPYTER_TOKEN is missing or short; start the server with `make lab`")

c = get_config()  # noqa: F821  (traitlets provides get_config in a config file)

c.ServerApp.identity_provider_class = PasswordIdentityProvider
c.ServerApp.login_handler_class = LoginHandler
for cls in (c.IdentityProvider, c.PasswordIdentityProvider):
    cls.token = token
c.PasswordIdentityProvider.hashed_password = ""
c.PasswordIdentityProvider.password_required = False
c.PasswordIdentityProvider.allow_password_change = False
c.ServerApp.password = ""

c.ServerApp.ip = "127.0.0.1"
c.ServerApp.sock = ""
c.ServerApp.allow_remote_access = False
c.ServerApp.local_hostnames = ["localhost"]
c.ServerApp.disable_check_xsrf = False
c.ServerApp.allow_origin = ""
c.ServerApp.allow_origin_pat = ""
c.ServerApp.allow_credentials = False
c.ServerApp.trust_xheaders = False
c.ServerApp.tornado_settings = {}
c.ServerApp.root_dir = str(ROOT)

# The server extensions this environment's own packages enable (.venv/etc/jupyter, written by pip),
# read here because JUPYTER_NO_CONFIG hides that folder too.
extensions = {}
for path in sorted(Path(sys.prefix, "etc", "jupyter", "jupyter_server_config.d").glob("*.json")):
    extensions.update(json.loads(path.read_text()).get("ServerApp", {}).get("jpserver_extensions", {}))
c.ServerApp.jpserver_extensions = extensions or {"jupyterlab": True}

# JupyterLab: the course's overrides (no news popup, no update check).
c.LabApp.app_settings_dir = str(ROOT / "jupyterlab-settings")
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.handlers.announcements.NeverCheckForUpdate"

# Idle kernels are shut down (the class-server setting, also used here).
server = json.loads((ROOT / "jupyterlab-settings" / "jupyter_server_config.json").read_text())
for section in ("MappingKernelManager",):
    for key, value in server[section].items():
        setattr(getattr(c, section), key, value)
