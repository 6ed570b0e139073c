"""Binder: environment.yml installs what pyproject.toml declares; postBuild and
start do their jobs (the start script caps thread pools to a 1-CPU quota)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[2]

# conda-forge name → the PyPI name pyproject.toml uses.
CONDA_TO_PYPI = {"pytorch-cpu": "torch", "pytorch": "torch"}
NOT_PACKAGES = {"python", "pip"}  # the interpreter and installer, not runtime dependencies


def _split(requirement: str) -> tuple[str, str]:
    """``"torch>=2.6,<=2.13.0"`` → ``("torch", ">=2.6,<=2.13.0")`` (name normalised, spaces dropped)."""
    m = re.fullmatch(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*?)\s*", requirement)
    assert m, f"cannot parse requirement {requirement!r}"
    name = re.sub(r"[-_.]+", "-", m.group(1)).lower()
    return name, m.group(2).replace(" ", "")


def _environment_yml() -> dict:
    """The ``dependencies:`` list of environment.yml (plain ``- name spec`` lines)."""
    deps, in_deps, pip_section = {}, False, False
    for raw in (ROOT / "environment.yml").read_text().splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        if not raw.startswith(" "):
            in_deps = line.startswith("dependencies:")
            continue
        item = line.strip()
        assert item.startswith("- "), f"environment.yml: unexpected line {raw!r}"
        assert not item.endswith(":"), "environment.yml: a pip: section would bypass conda; keep all packages in conda"
        if in_deps:
            name, spec = _split(item[2:].split("::")[-1])
            deps[name] = spec
    return deps


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_environment_yml_matches_pyproject_runtime_dependencies():
    runtime = dict(_split(r) for r in _pyproject()["project"]["dependencies"])
    conda = {CONDA_TO_PYPI.get(name, name): spec for name, spec in _environment_yml().items() if name not in NOT_PACKAGES}
    assert conda == runtime


def test_environment_yml_pins_a_python_that_pyproject_allows():
    python = _environment_yml().get("python")
    assert python, "environment.yml must pin python (repo2docker then ignores runtime.txt)"
    version = re.match(r"=+\s*(\d+)\.(\d+)", python)
    assert version, f"pin python to a minor version, got {python!r}"
    minimum = re.match(r">=\s*(\d+)\.(\d+)", _pyproject()["project"]["requires-python"])
    assert tuple(map(int, version.groups())) >= tuple(map(int, minimum.groups()))
    assert "pip" in _environment_yml(), "postBuild needs pip"


def test_postbuild_installs_course_lib_and_stops_on_error():
    post = ROOT / "postBuild"
    assert os.access(post, os.X_OK), "postBuild must be executable"
    text = post.read_text()
    assert re.search(r"^set -e", text, re.M), "postBuild must start with set -e"
    assert re.search(r"pip install .*(-e )?\.(\s|$)", text), "postBuild must pip install the course (the repo root)"
    assert "--no-deps" in text, "dependencies come from environment.yml; pip must not pull its own torch"


START = ROOT / "start"


def _start_env(tmp_path, cgroup_files: dict[str, str]) -> dict[str, str]:
    """Run ``start env`` with fake cgroup files; return the environment it hands to JupyterLab."""
    for rel, text in cgroup_files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text + "\n")
    base = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    base["COURSE_CGROUP_ROOT"] = str(tmp_path)
    out = subprocess.run(["bash", str(START), "env"], env=base, capture_output=True, text=True, check=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def test_start_is_executable_and_execs_the_command():
    assert os.access(START, os.X_OK), "start must be executable"
    assert START.read_text().rstrip().endswith('exec "$@"')
    done = subprocess.run(["bash", str(START), sys.executable, "-c", "print('launched')"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "launched"


@pytest.mark.parametrize(
    "files, threads",
    [
        ({"cpu.max": "100000 100000"}, "1"),  # Binder's 1-CPU quota
        ({"cpu.max": "50000 100000"}, "1"),
        ({"cpu.max": "200000 100000"}, "2"),
        ({"cpu.max": "max 100000"}, None),  # no quota: leave the libraries' defaults
        ({"cpu/cpu.cfs_quota_us": "100000", "cpu/cpu.cfs_period_us": "100000"}, "1"),  # cgroup v1
        ({"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"}, None),
        ({}, None),
    ],
)
def test_start_caps_thread_pools_to_the_cpu_quota(tmp_path, files, threads):
    env = _start_env(tmp_path, files)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        assert env.get(var) == threads, var
