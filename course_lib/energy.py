"""Energy and CO2 of training and serving, with the published reference points
(lesson 05).

The arithmetic is two lines: energy is power × time, and CO2 is energy ×
the grid's carbon intensity (kg CO2e per kWh), which the learner sets,
because it differs by a factor of ten between grids. The figures in
:data:`REFERENCES` are what the lesson sets its estimates against; each
carries its source.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import _validate as v

LBS_TO_KG = 0.45359237  # the international avoirdupois pound, by definition


@dataclass(frozen=True)
class Reference:
    """One published figure: ``value`` in ``unit``, with its ``source``."""

    key: str
    what: str
    value: float
    unit: str
    source: str


_PATTERSON_2021 = "Patterson et al. 2021, *Carbon Emissions and Large Neural Network Training*"
_LUCCIONI_2024 = "Luccioni, Jernite & Strubell 2024, *Power Hungry Processing*"
_STRUBELL_2019 = "Strubell et al. 2019, *Energy and Policy Considerations for Deep Learning in NLP*"

REFERENCES: dict[str, Reference] = {
    r.key: r
    for r in (
        Reference("gpt3_training_mwh", "GPT-3 training energy", 1287, "MWh", _PATTERSON_2021),
        Reference("gpt3_training_tco2e", "GPT-3 training emissions", 552, "t CO2e", _PATTERSON_2021),
        Reference("classification_kwh_per_1000", "text classification, per 1,000 inferences (A100)", 0.002, "kWh", _LUCCIONI_2024),
        Reference("generation_kwh_per_1000", "text generation, per 1,000 inferences (A100)", 0.05, "kWh", _LUCCIONI_2024),
        Reference("image_kwh_per_1000", "image generation, per 1,000 inferences (A100)", 2.9, "kWh", _LUCCIONI_2024),
        Reference("breakeven_inferences_low", "inferences until inference energy equals training + fine-tuning (BLOOMz, low end)", 200e6, "inferences", _LUCCIONI_2024),
        Reference("breakeven_inferences_high", "inferences until inference energy equals training + fine-tuning (BLOOMz, high end)", 600e6, "inferences", _LUCCIONI_2024),
        Reference("gpt4o_query_wh", "a typical GPT-4o query", 0.3, "Wh", "Epoch AI 2025, *How much energy does ChatGPT use?*"),
        Reference("car_lifetime_lbs", "an average car's lifetime, fuel included", 126_000, "lbs CO2e", _STRUBELL_2019),
        Reference("transformer_nas_lbs", "a Transformer trained with neural architecture search", 626_155, "lbs CO2e", _STRUBELL_2019),
        Reference("transformer_big_lbs", "a Transformer (big) trained once", 192, "lbs CO2e", _STRUBELL_2019),
        Reference("google_inference_share", "Google: share of ML energy spent on inference", 0.60, "fraction",
                  "Patterson et al. 2022, *The Carbon Footprint of Machine Learning Training Will Plateau, Then Shrink*"),
        Reference("meta_lm_inference_share", "Meta: share of a language model's footprint from inference", 0.65, "fraction",
                  "Wu et al. 2022, *Sustainable AI*"),
        Reference("aws_inference_share_claim", "AWS statement: share of cloud ML demand that is inference", 0.90, "fraction",
                  f"AWS, as cited in {_PATTERSON_2021} (a vendor statement)"),
    )
}

# Derived: GPT-3's emissions divided by its energy (Patterson et al. 2021),
# 552 t / 1,287 MWh ≈ 0.43 kg CO2e per kWh. The calculators' default grid.
DEFAULT_GRID_KG_PER_KWH = REFERENCES["gpt3_training_tco2e"].value * 1000 / (REFERENCES["gpt3_training_mwh"].value * 1000)


def reference(key: str) -> Reference:
    """The published figure ``key`` (one of :data:`REFERENCES`). Lesson 05, section 4."""
    return REFERENCES[v.choice("key", key, REFERENCES)]


def energy_kwh(power_w: float, hours: float, *, n_devices: float = 1, pue: float = 1.0) -> float:
    """Energy in kWh drawn by ``n_devices`` each at ``power_w`` watts for
    ``hours``, times the data centre's power usage effectiveness ``pue``
    (≥ 1: cooling and power delivery on top of the IT load). Lesson 05, section 4; lab 05, exercise 5.
    """
    power = v.positive("power_w", power_w)
    t = v.positive("hours", hours)
    n = v.positive("n_devices", n_devices)
    p = v.number("pue", pue, minimum=1.0)
    return power * t * n * p / 1000.0


def co2_kg(energy_kwh: float, grid_kg_per_kwh: float = DEFAULT_GRID_KG_PER_KWH) -> float:
    """Emissions in kg CO2e of ``energy_kwh`` at a grid intensity of
    ``grid_kg_per_kwh`` kg CO2e per kWh (0 for a carbon-free supply is
    allowed). The default is GPT-3's, derived from Patterson et al. 2021. Lab 05, exercise 5.
    """
    e = v.number("energy_kwh", energy_kwh, minimum=0.0)
    g = v.number("grid_kg_per_kwh", grid_kg_per_kwh, minimum=0.0)
    return e * g


def wh_per_request(seconds_per_request: float, power_w: float) -> float:
    """Energy of one request in Wh: its accelerator-seconds × the power drawn
    (watts) / 3600. Lesson 05, section 4."""
    return v.positive("seconds_per_request", seconds_per_request) * v.positive("power_w", power_w) / 3600.0
