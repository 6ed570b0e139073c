"""Refuse and record network access outside the loopback, in every Python process.

Used by tests/notebooks/test_offline.py (kernels run by nbclient) and
tests/notebooks/test_browser.py (kernels started by JupyterLab). :func:`install` writes
a ``sitecustomize.py`` into a folder; a process started with
``PYTHONPATH=<folder>`` and ``COURSE_NETGUARD_LOG=<file>`` (see :func:`env`)
imports it at start-up, as do the processes it spawns (they inherit the
environment: multiprocessing workers, torch.distributed ranks). Then a
``connect``/``connect_ex``/``sendto`` to a non-loopback address, or a DNS
look-up of a name other than localhost and this machine's own name, raises
``OSError`` and appends one JSON line (pid, call, target, stack) to the log.

Connections made from C code (libzmq, gloo) bypass Python's ``socket``
module; :func:`remote_connections` lists the inet connections of a process
tree with psutil, so a sampler catches those too.
"""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path

SITECUSTOMIZE = r'''
# Written by tests/support/netguard.py: refuse and record non-loopback network access.
import os as _os

if _os.environ.get("COURSE_NETGUARD_LOG"):
    import errno as _errno
    import ipaddress as _ipaddress
    import json as _json
    import socket as _socket
    import traceback as _traceback

    _LOG = _os.environ["COURSE_NETGUARD_LOG"]
    _OWN = {"localhost", "localhost.localdomain", "ip6-localhost", "", _socket.gethostname()}

    def _local(host):
        if isinstance(host, bytes):
            host = host.decode("ascii", "replace")
        if host is None or not isinstance(host, str):
            return host is None
        host = host.strip("[]").split("%")[0]
        if host.lower() in _OWN:
            return True
        try:
            ip = _ipaddress.ip_address(host)
        except ValueError:
            return False  # a name that needs DNS
        return ip.is_loopback or ip.is_unspecified or (
            getattr(ip, "ipv4_mapped", None) is not None and ip.ipv4_mapped.is_loopback)

    def _refuse(call, target):
        try:
            with open(_LOG, "a") as f:
                f.write(_json.dumps({"pid": _os.getpid(), "call": call, "target": repr(target),
                                     "stack": "".join(_traceback.format_stack(limit=12)[:-2])}) + "\n")
        except OSError:
            pass
        raise OSError(_errno.ENETUNREACH, f"network access refused by the course's offline test: {call} {target!r}")

    def _check(sock, address, call):
        family = getattr(sock, "family", None)
        if family not in (_socket.AF_INET, _socket.AF_INET6):
            return  # AF_UNIX, netlink, ...
        host = address[0] if isinstance(address, tuple) else address
        if not _local(host):
            _refuse(call, address)

    _connect, _connect_ex, _sendto = _socket.socket.connect, _socket.socket.connect_ex, _socket.socket.sendto

    def connect(self, address):
        _check(self, address, "connect")
        return _connect(self, address)

    def connect_ex(self, address):
        _check(self, address, "connect_ex")
        return _connect_ex(self, address)

    def sendto(self, data, *args):
        _check(self, args[-1], "sendto")
        return _sendto(self, data, *args)

    _getaddrinfo, _gethostbyname, _gethostbyname_ex = _socket.getaddrinfo, _socket.gethostbyname, _socket.gethostbyname_ex

    def getaddrinfo(host, *args, **kwargs):
        if not _local(host):
            _refuse("getaddrinfo", host)
        return _getaddrinfo(host, *args, **kwargs)

    def gethostbyname(host):
        if not _local(host):
            _refuse("gethostbyname", host)
        return _gethostbyname(host)

    def gethostbyname_ex(host):
        if not _local(host):
            _refuse("gethostbyname_ex", host)
        return _gethostbyname_ex(host)

    _socket.socket.connect, _socket.socket.connect_ex, _socket.socket.sendto = connect, connect_ex, sendto
    _socket.getaddrinfo, _socket.gethostbyname, _socket.gethostbyname_ex = getaddrinfo, gethostbyname, gethostbyname_ex
'''


def install(folder: Path) -> Path:
    """Write ``sitecustomize.py`` into ``folder``; return the log file path to use."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return folder / "netguard.log"


def env(folder: Path, log: Path, base: dict | None = None) -> dict[str, str]:
    """An environment (copy of ``base`` or ``os.environ``) that loads the guard."""
    out = dict(os.environ if base is None else base)
    out["PYTHONPATH"] = os.pathsep.join(p for p in (str(folder), out.get("PYTHONPATH", "")) if p)
    out["COURSE_NETGUARD_LOG"] = str(log)
    return out


def attempts(log: Path) -> list[dict]:
    """The refused attempts recorded in ``log`` (empty when there were none)."""
    log = Path(log)
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def _loopback(ip: str) -> bool:
    try:
        addr = ipaddress.ip_address(ip.split("%")[0])
    except ValueError:
        return False
    mapped = getattr(addr, "ipv4_mapped", None)
    return addr.is_loopback or addr.is_unspecified or (mapped is not None and mapped.is_loopback)


def remote_connections(pid: int) -> list[str]:
    """``"pid → ip:port"`` for each inet connection of process ``pid`` and its
    children whose remote end is not on the loopback."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root] + root.children(recursive=True)
    except psutil.Error:
        return []
    found = []
    for proc in procs:
        try:
            conns = proc.net_connections(kind="inet") if hasattr(proc, "net_connections") else proc.connections("inet")
        except psutil.Error:
            continue
        for c in conns:
            if c.raddr and not _loopback(c.raddr.ip):
                found.append(f"{proc.pid} → {c.raddr.ip}:{c.raddr.port}")
    return found
