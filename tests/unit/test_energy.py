"""Energy references and the energy of one call (course_lib.energy)."""

import math

import pytest

from course_lib import energy, references


def test_meta_split_and_cost_references():
    shares = [references.reference(k).value for k in ("meta_experimentation_share", "meta_training_share", "meta_inference_share")]
    assert shares == [0.10, 0.20, 0.70] and math.isclose(sum(shares), 1.0)
    assert references.reference("gpt4_training_usd").value == 40e6
    assert "Cottier" in references.reference("gpt4_training_usd").source
    assert all(r.source for r in references.REFERENCES.values())


def _fake_powercap(root, joules_per_zone):
    for i, j in enumerate(joules_per_zone):
        zone = root / f"intel-rapl:{i}"
        zone.mkdir()
        (zone / "energy_uj").write_text(str(int(j * 1e6)))
        sub = root / f"intel-rapl:{i}:0"  # a sub-zone (core), already inside the package: not added
        sub.mkdir()
        (sub / "energy_uj").write_text("999000000")


def test_read_rapl_sums_package_zones_only(tmp_path):
    _fake_powercap(tmp_path, [10.0, 2.5])
    assert energy.read_rapl_joules(str(tmp_path)) == pytest.approx(12.5)
    assert energy.read_rapl_joules(str(tmp_path / "missing")) is None


def test_measure_energy_reads_rapl_when_it_can(tmp_path):
    _fake_powercap(tmp_path, [0.0])
    counter = tmp_path / "intel-rapl:0" / "energy_uj"
    calls = []

    def fn():  # each call "uses" 0.5 J on the fake counter
        calls.append(1)
        counter.write_text(str(int(counter.read_text()) + 500_000))

    e = energy.measure_energy(fn, assumed_power_w=1e6, repeats=4, warmup=1, root=str(tmp_path))
    assert e.method == "rapl" and e.joules == pytest.approx(0.5)
    assert e.wh == pytest.approx(0.5 / 3600)


def test_measure_energy_estimates_without_rapl(tmp_path):
    e = energy.measure_energy(lambda: sum(range(1000)), assumed_power_w=40, repeats=5, root=str(tmp_path))
    assert e.method == "estimate" and e.power_w == 40
    assert e.joules == pytest.approx(e.seconds * 40)
    assert "ESTIMATE" in str(e)
    with pytest.raises(ValueError, match="assumed_power_w"):
        energy.measure_energy(lambda: None, assumed_power_w=0)
    with pytest.raises(TypeError, match="fn"):
        energy.measure_energy(None, assumed_power_w=10)


def test_grid_cases_reproduce_llamas_published_emissions():
    # LLaMA's Table 15: 36 MWh -> 14 t CO2e and 449 MWh -> 173 t CO2e at the US average intensity
    us = energy.GRID_CASES["US average (Touvron et al. 2023, LLaMA)"]
    assert round(energy.co2_kg(36_000, us) / 1000) == 14
    assert round(energy.co2_kg(449_000, us) / 1000) == 173
    # Epoch AI's 1,071 W per H100 is 1.53 x its 700 W TDP
    assert max(energy.POWER_FACTORS.values()) == pytest.approx(1071 / 700) == pytest.approx(1.53, abs=0.001)


def test_the_french_grid_case_is_blooms_emissions_over_its_energy():
    # Luccioni, Viguier & Ligozat 2023: 1,082,990 A100-hours at 400 W = 433,196 kWh, emitting 24.7 t CO2e (57 g/kWh)
    assert references.reference("bloom_training_dynamic_kwh").value == pytest.approx(1_082_990 * 0.4, abs=1)
    france = energy.GRID_CASES["French grid, low-carbon (derived from BLOOM's training, Luccioni et al. 2023)"]
    assert france == pytest.approx(0.057, abs=0.0005)
    assert energy.DEFAULT_GRID_KG_PER_KWH / france == pytest.approx(7.5, abs=0.1)  # GPT-3's grid against France's
