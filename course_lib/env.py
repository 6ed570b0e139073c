"""The machine the measurements run on: a report, the device, the thread count.

Lesson 00 prints :func:`report`; every lesson starts with
:func:`course_lib.setup`, which calls :func:`configure_threads` and
:func:`device`.

PyTorch sizes its thread pool from the cores it can see and ignores a
container's CPU quota (Binder gives 1 CPU on a many-core host), which makes
it oversubscribe and run slower. :func:`cpu_quota` reads the quota from the
cgroup files and :func:`configure_threads` caps torch's threads to it.
"""

from __future__ import annotations

import math
import os
import platform
from importlib import metadata
from pathlib import Path

import torch

from . import _validate as v


@v.checked
def cpu_quota(cgroup_root: v.Path = "/sys/fs/cgroup") -> float | None:
    """CPUs allowed by the container's cgroup quota, or ``None`` when unlimited.

    Reads cgroup v2 ``cpu.max`` (``"<quota> <period>"`` or ``"max <period>"``)
    or cgroup v1 ``cpu/cpu.cfs_quota_us`` and ``cpu.cfs_period_us``. Used by :func:`course_lib.env.available_cpus` and
    :func:`course_lib.env.report`; not tied to one lesson.
    """
    root = Path(cgroup_root)
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
        if quota == "max" or int(period) <= 0 or int(quota) <= 0:  # "100000 0": no usable quota
            return None
        return int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        quota = int((root / "cpu" / "cpu.cfs_quota_us").read_text())
        period = int((root / "cpu" / "cpu.cfs_period_us").read_text())
        return None if quota <= 0 or period <= 0 else quota / period
    except (OSError, ValueError):
        return None


@v.checked
def available_cpus(cgroup_root: v.Path = "/sys/fs/cgroup") -> int:
    """Cores this process may use: the affinity mask, capped by the cgroup quota. Lesson 06, section 7."""
    try:
        visible = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        visible = os.cpu_count() or 1
    quota = cpu_quota(cgroup_root)
    return max(1, min(visible, math.ceil(quota))) if quota else max(1, visible)


def configure_threads(n_threads: int | None = None) -> int:
    """Set torch's intra-op thread count (default: :func:`available_cpus`) and return it.

    ``n_threads`` may not exceed :func:`available_cpus`: more threads than
    cores only slow the matmuls down, and a huge count (100000) crashes the
    kernel at the next large matmul. Lesson 04, sections 3 and 4.
    """
    cores = available_cpus()
    n = cores if n_threads is None else v.positive_int("n_threads", n_threads, maximum=cores)
    torch.set_num_threads(n)
    return n


def device(prefer: str = "auto") -> torch.device:
    """``cuda`` when a GPU is present (or asked for), else ``cpu``.

    ``prefer`` is ``"auto"``, ``"cpu"`` or ``"cuda"``; asking for ``"cuda"``
    on a machine without one raises ``ValueError``.
    Lessons 01, 02, 03, 04, 05, 06; lab 01, exercise 4; lab 02, exercise 4; lab 06, exercise 5.
    """
    v.choice("prefer", prefer, ("auto", "cpu", "cuda"))
    has_cuda = torch.cuda.is_available()
    if prefer == "cuda" and not has_cuda:
        raise ValueError("prefer='cuda' but no CUDA GPU is available; use 'auto' or 'cpu'")
    return torch.device("cuda" if has_cuda and prefer != "cpu" else "cpu")


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, or what ``platform`` knows.
    Used by :func:`course_lib.hardware.measure_machine` and :func:`course_lib.env.report`; not tied to one lesson."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def report() -> dict[str, str]:
    """What the measurements in this course depend on, as ``{name: value}``.
    Used by :func:`describe`; not tied to one lesson."""
    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": metadata.version("numpy"),
        "altair": metadata.version("altair"),  # the version only: the core never imports the ui's libraries
        "ipywidgets": metadata.version("ipywidgets"),
        "os": f"{platform.system()} {platform.release()}",
        "cpu": cpu_model(),
        "cpu capability": torch.backends.cpu.get_cpu_capability(),
        "cores visible": str(os.cpu_count()),
        "cpu quota": str(cpu_quota() or "none"),
        "torch threads": str(torch.get_num_threads()),
        "gpu": "none",
    }
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info["gpu"] = f"{props.name}, {props.total_memory / 2**30:.1f} GiB"
    return info


def describe() -> str:
    """:func:`report` as aligned text, for printing at the top of a lesson.
    Lessons 00, 01, 02, 03, 04, 05, 06."""
    info = report()
    width = max(map(len, info))
    return "\n".join(f"{k:<{width}}  {val}" for k, val in info.items())
