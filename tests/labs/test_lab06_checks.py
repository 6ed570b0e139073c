"""Lab 06's verifiers accept the right answer (computed here by hand) and
reject plausible wrong ones."""

import pytest

from course_lib import processes
from course_lib.exercises import lab06
from course_lib.models import TinyGPT, count_params


def test_zero_bytes():
    n, d = 13e9, 16
    right = (2 + 2 + 12) * n - (2 + 12) * n + (2 + 12) * n / d  # weights replicated, the rest split 16 ways
    assert right == pytest.approx(37.375e9)
    lab06.verify_zero_bytes(right)
    lab06.verify_zero_bytes(int(right))
    for wrong in (16 * n,  # stage 0
                  16 * n / d,  # stage 3
                  4 * n + 12 * n / d,  # stage 1
                  (2 + 2 + 12) * n / d + 2 * n):  # split the weights as well and add them again
        with pytest.raises(AssertionError, match="Hint"):
            lab06.verify_zero_bytes(wrong)
    with pytest.raises(AssertionError):
        lab06.verify_zero_bytes("37 GB")


def test_allreduce_bytes():
    buffer = 1.3e9 * 2
    right = 2 * 7 / 8 * buffer
    assert right == pytest.approx(4.55e9)
    lab06.verify_allreduce_bytes(right)
    for wrong in (7 / 8 * buffer,  # forgot the factor 2
                  2 * buffer,  # forgot (N-1)/N
                  2 * 7 / 8 * 1.3e9 * 4,  # fp32 instead of the given 2 bytes
                  2 * 7 * buffer):  # (N-1) instead of (N-1)/N
        with pytest.raises(AssertionError, match="Hint"):
            lab06.verify_allreduce_bytes(wrong)


def test_min_devices():
    # 16 bytes × 70e9 = 1120 GB of model state; 1120 / 80 = 14 GPUs exactly
    lab06.verify_min_devices(14)
    for wrong in (13, 15, 16, 2):
        with pytest.raises(AssertionError, match="Hint"):
            lab06.verify_min_devices(wrong)
    with pytest.raises(AssertionError):
        lab06.verify_min_devices(14.0)


def test_replicas():
    from course_lib.simulate import simulate_batching

    e = lab06.EXERCISE_4

    def p95(r):
        return simulate_batching(e["rate"], 1, 0.0, e["service_time"], 0.0, n_replicas=r, balancer="least_loaded").p95

    right = next(r for r in range(1, 50) if p95(r) <= e["p95_target"])
    assert right == 5 and e["rate"] * e["service_time"] == 4.0
    lab06.verify_replicas(right)
    for wrong in (4, 6, 1):  # 4 = rate × service time, no headroom
        with pytest.raises(AssertionError, match="Hint"):
            lab06.verify_replicas(wrong)


def test_optimizer_state_against_real_processes():
    e = lab06.EXERCISE_5
    n = count_params(TinyGPT(vocab_size=e["vocab_size"], d_model=e["d_model"], n_layers=e["n_layers"], max_seq_len=e["seq_len"]))
    right = {"ddp": 8 * n, "fsdp": 4 * n}
    lab06.verify_optimizer_state(right)
    assert lab06._measured_optimizer_state() == right
    for wrong in ({"ddp": 8 * n, "fsdp": 8 * n},  # forgot that FSDP shards the optimizer state
                  {"ddp": 4 * n, "fsdp": 2 * n},  # one moment instead of two
                  {"ddp": 16 * n, "fsdp": 8 * n},  # whole model state, not the optimizer state
                  {"ddp": 8 * n}):  # missing key
        with pytest.raises(AssertionError, match="Hint"):
            lab06.verify_optimizer_state(wrong)
    assert processes.worker_processes() == []


def test_numpy_integers_of_the_right_value_are_accepted():
    # Issue 12: np.int64 answers were refused by an isinstance(int) check (exercise 3).
    import numpy as np

    lab06.verify_min_devices(np.int64(lab06._expected_min_devices()))
    lab06.verify_replicas(np.int64(lab06._expected_replicas()))


def test_optimizer_state_check_prints_nothing(monkeypatch, capsys):
    # Issue 12: exercise 5 printed the measured (expected) dict before comparing.
    fake = {"ddp": 111_111, "fsdp": 55_555}
    monkeypatch.setattr(lab06, "_measured", {tuple(sorted(lab06.EXERCISE_5.items())): dict(fake)})
    with pytest.raises(AssertionError, match="Hint") as err:
        lab06.verify_optimizer_state({"ddp": 1, "fsdp": 2})
    assert capsys.readouterr().out == ""
    assert "111111" not in str(err.value) and "111_111" not in str(err.value)
    lab06.verify_optimizer_state(fake)
    assert capsys.readouterr().out == ""
