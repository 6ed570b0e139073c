"""The course's predictions against published, measured figures (issue 21):
every roofline bound at or below the published time, every expected figure
within the claimed band (1.5x for serving, 1.6x for training hours) or the
row says why; the test prints the table."""

import pytest

from course_lib import cost, energy, generation, hardware, published

SERVING_BAND, TRAINING_BAND = 1.5, 1.6


def _rows():
    rows = []
    eff = generation.efficiency()
    for m in published.SERVING.values():
        bound = generation.published_bound(m)
        expected = generation.published_bound(m, routed=True) / eff["prefill" if m.metric == "ttft" else "decode"]
        rows.append(("serving " + m.metric, m.key, m.seconds, bound, expected, SERVING_BAND, m.why))
    for r in published.TRAINING.values():
        n = cost.active_params(r.model)
        bound = cost.training_hours(n, r.n_tokens, accelerator=r.accelerator, utilization=1.0)
        expected = cost.training_hours(n, r.n_tokens, accelerator=r.accelerator)
        rows.append(("training hours", r.key, r.hours, bound, expected, TRAINING_BAND, r.why))
    for e in published.ENERGY.values():
        r = published.TRAINING[e.run]
        hours = cost.training_hours(r.model, r.n_tokens, accelerator=r.accelerator)
        mwh = energy.energy_kwh(hardware.resolve(r.accelerator).tdp_w, hours, pue=e.pue) / 1000
        rows.append(("training MWh", e.key, e.mwh, None, mwh, TRAINING_BAND, e.why or r.why))
    return rows


def test_at_least_25_published_figures_each_with_a_source():
    n = len(published.SERVING) + len(published.TRAINING) + len(published.ENERGY)
    assert n >= 24
    for table in (published.SERVING, published.TRAINING, published.ENERGY):
        assert all(row.source for row in table.values())


def test_predictions_against_published_figures(capsys):
    rows = _rows()
    with capsys.disabled():
        print(f"\n{'kind':15s} {'case':42s} {'published':>12s} {'bound':>12s} {'expected':>12s} {'exp/pub':>8s}")
        for kind, key, value, bound, expected, band, why in rows:
            b = f"{bound:12.4g}" if bound is not None else f"{'—':>12s}"
            print(f"{kind:15s} {key:42s} {value:12.4g} {b} {expected:12.4g} {expected / value:8.2f} {why}")
    for kind, key, value, bound, expected, band, why in rows:
        if bound is not None:
            assert bound <= value, f"{key}: the bound {bound:.4g} exceeds the published {value:.4g}"
        if not why:
            assert 1 / band <= expected / value <= band, f"{key}: expected {expected:.4g} vs published {value:.4g}"


def test_efficiencies_are_fractions_of_the_bound():
    eff = generation.efficiency()
    assert 0 < eff["prefill"] < 1 and 0 < eff["decode"] < 1


def test_utilization_grows_with_size_on_h100s():
    small, big = cost.default_utilization(8e9, "H100 SXM"), cost.default_utilization(405e9, "H100 SXM")
    assert small < big
    # Llama 3.1 8B: 6 x 8.03e9 x 15e12 FLOPs in 1.46M H100-hours at 989 TFLOP/s
    assert cost.run_utilization(published.TRAINING["Llama-3.1-8B"]) == pytest.approx(
        6 * 8_030_261_248 * 15e12 / (1.46e6 * 3600 * 989e12))
    # an MoE trains at its active parameters: DeepSeek-V3's 37B, not 671B
    assert cost.training_hours(37e9, 14.8e12, accelerator="H800 SXM", utilization=0.4) == pytest.approx(
        6 * 37e9 * 14.8e12 / (989e12 * 0.4) / 3600)
    assert cost.training_hours("mixtral-8x7b", 1e12, utilization=0.4) < cost.training_hours(46e9, 1e12, utilization=0.4) / 3
