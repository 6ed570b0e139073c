"""course_lib.env: the thread count follows the container's CPU quota (Binder: 1 CPU).

The cgroup files are faked in a temporary folder laid out like /sys/fs/cgroup.
"""

import functools
import os

import pytest
import torch

from course_lib import env


def _v2(tmp_path, text):
    (tmp_path / "cpu.max").write_text(text + "\n")
    return tmp_path


def _v1(tmp_path, quota, period="100000"):
    (tmp_path / "cpu").mkdir(exist_ok=True)
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text(f"{quota}\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text(f"{period}\n")
    return tmp_path


def _visible():
    return len(os.sched_getaffinity(0))


@pytest.mark.parametrize(
    "text, quota",
    [("100000 100000", 1.0), ("max 100000", None), ("200000 100000", 2.0), ("50000 100000", 0.5), ("150000 100000", 1.5)],
)
def test_cgroup_v2_cpu_max(tmp_path, text, quota):
    assert env.cpu_quota(_v2(tmp_path, text)) == quota


@pytest.mark.parametrize("quota_us, period_us, quota", [("100000", "100000", 1.0), ("-1", "100000", None),
                                                       ("300000", "100000", 3.0), ("25000", "50000", 0.5)])
def test_cgroup_v1_cfs_files(tmp_path, quota_us, period_us, quota):
    assert env.cpu_quota(_v1(tmp_path, quota_us, period_us)) == quota


def test_no_cgroup_files_or_garbage_means_no_quota(tmp_path):
    assert env.cpu_quota(tmp_path) is None
    assert env.cpu_quota(_v2(tmp_path, "garbage")) is None


def test_available_cpus_is_capped_by_the_quota(tmp_path):
    assert env.available_cpus(_v2(tmp_path, "100000 100000")) == 1
    # A fraction of a CPU still gets one thread; 1.5 CPUs get two (when two are visible).
    assert env.available_cpus(_v2(tmp_path, "50000 100000")) == 1
    assert env.available_cpus(_v2(tmp_path, "150000 100000")) == min(2, _visible())
    assert env.available_cpus(_v2(tmp_path, "max 100000")) == _visible()
    # A quota larger than the visible cores does not invent cores.
    assert env.available_cpus(_v2(tmp_path, f"{(_visible() + 8) * 100000} 100000")) == _visible()


def test_available_cpus_cgroup_v1(tmp_path):
    assert env.available_cpus(_v1(tmp_path, "100000")) == 1
    assert env.available_cpus(_v1(tmp_path, "-1")) == _visible()


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_configure_threads_follows_a_one_cpu_quota(tmp_path, monkeypatch, restore_threads):
    monkeypatch.setattr(env, "available_cpus", functools.partial(env.available_cpus, _v2(tmp_path, "100000 100000")))
    assert env.configure_threads() == 1
    assert torch.get_num_threads() == 1


def test_configure_threads_without_quota_uses_visible_cores(tmp_path, monkeypatch, restore_threads):
    monkeypatch.setattr(env, "available_cpus", functools.partial(env.available_cpus, _v2(tmp_path, "max 100000")))
    assert env.configure_threads() == _visible()
    assert torch.get_num_threads() == _visible()


def test_configure_threads_explicit_and_bad_values(restore_threads):
    assert env.configure_threads(1) == 1 and torch.get_num_threads() == 1
    for bad in (0, -2, 1.5, "2"):
        with pytest.raises((ValueError, TypeError), match="n_threads"):
            env.configure_threads(bad)
