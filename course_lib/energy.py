"""Energy and CO2 of training and serving, with the published reference points
(lesson 05).

The arithmetic is two lines: energy is power × time, and CO2 is energy ×
the grid's carbon intensity (kg CO2e per kWh), which the learner sets,
because it differs by a factor of ten between grids. The figures in
:data:`REFERENCES` are what the lesson sets its estimates against; each
carries its source; the cost figures the lesson sets the seed page's
dollars against (Cottier et al. 2024, SemiAnalysis 2023) are in the same
table.

:func:`measure_energy` gives the energy of one call of a function on this
machine: read from the CPU's RAPL energy counters where Linux exposes them
(``/sys/class/powercap``, often readable only by root), otherwise estimated
as measured time × a power you state, and labelled an estimate.
"""

from __future__ import annotations

import glob
import os
import time
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
_WU_2022 = "Wu et al. 2022, *Sustainable AI: Environmental Implications, Challenges and Opportunities*"
_COTTIER_2024 = "Cottier et al. 2024, *The Rising Costs of Training Frontier AI Models*"
_LLAMA_2023 = "Touvron et al. 2023, *LLaMA: Open and Efficient Foundation Language Models* (Table 15)"
_EPOCH_2025 = "Epoch AI 2025, *How much energy does ChatGPT use?*"

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
        Reference("gpt4o_query_wh", "a typical GPT-4o query", 0.3, "Wh", _EPOCH_2025),
        Reference("h100_system_w", "power per H100 with its server share, cooling and partial load", 1071, "W", _EPOCH_2025),
        Reference("us_grid_kg_per_kwh", "US national average grid intensity, as LLaMA's carbon accounting uses it", 0.385,
                  "kg CO2e per kWh", _LLAMA_2023),
        Reference("car_lifetime_lbs", "an average car's lifetime, fuel included", 126_000, "lbs CO2e", _STRUBELL_2019),
        Reference("transformer_nas_lbs", "a Transformer trained with neural architecture search", 626_155, "lbs CO2e", _STRUBELL_2019),
        Reference("transformer_big_lbs", "a Transformer (big) trained once", 192, "lbs CO2e", _STRUBELL_2019),
        Reference("google_inference_share", "Google: share of ML energy spent on inference", 0.60, "fraction",
                  "Patterson et al. 2022, *The Carbon Footprint of Machine Learning Training Will Plateau, Then Shrink*"),
        Reference("meta_lm_inference_share", "Meta: share of a language model's footprint from inference", 0.65, "fraction",
                  _WU_2022),
        Reference("meta_experimentation_share", "Meta: share of ML power capacity for experimentation", 0.10, "fraction", _WU_2022),
        Reference("meta_training_share", "Meta: share of ML power capacity for training", 0.20, "fraction", _WU_2022),
        Reference("meta_inference_share", "Meta: share of ML power capacity for inference", 0.70, "fraction", _WU_2022),
        Reference("gpt4_training_usd", "GPT-4 final training run, amortized hardware + energy", 40e6, "USD", _COTTIER_2024),
        Reference("frontier_cost_growth", "growth of frontier training costs per year", 2.4, "× per year", _COTTIER_2024),
        Reference("energy_share_low", "energy's share of a frontier training run's cost (low end)", 0.02, "fraction", _COTTIER_2024),
        Reference("energy_share_high", "energy's share of a frontier training run's cost (high end)", 0.06, "fraction", _COTTIER_2024),
        Reference("chatgpt_inference_usd_per_day", "ChatGPT inference hardware cost per day (2023 estimate)", 700e3, "USD",
                  "SemiAnalysis 2023, *The Inference Cost of Search Disruption*"),
        Reference("aws_inference_share_claim", "AWS statement: share of cloud ML demand that is inference", 0.90, "fraction",
                  f"AWS, as cited in {_PATTERSON_2021} (a vendor statement)"),
    )
}

# Derived: GPT-3's emissions divided by its energy (Patterson et al. 2021),
# 552 t / 1,287 MWh ≈ 0.43 kg CO2e per kWh. The calculators' default grid.
DEFAULT_GRID_KG_PER_KWH = REFERENCES["gpt3_training_tco2e"].value * 1000 / (REFERENCES["gpt3_training_mwh"].value * 1000)


#: Grid intensities (kg CO2e per kWh) for the cases the course cites, each with its source: set the one of your case.
GRID_CASES = {
    "GPT-3's data centre (derived from Patterson et al. 2021)": DEFAULT_GRID_KG_PER_KWH,
    "US average (Touvron et al. 2023, LLaMA)": REFERENCES["us_grid_kg_per_kwh"].value,
}

#: Power drawn per accelerator as a multiple of its TDP, for the cases the course cites.
POWER_FACTORS = {
    "TDP only (LLaMA's accounting: 400 W per A100, Touvron et al. 2023)": 1.0,
    "whole H100 server, cooling and partial load (Epoch AI 2025: 1,071 W per 700 W H100)":
        REFERENCES["h100_system_w"].value / 700,
}


def reference(key: str) -> Reference:
    """The published figure ``key`` (one of :data:`REFERENCES`). Lesson 05, section 4."""
    return REFERENCES[v.choice("key", key, REFERENCES)]


@v.checked
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


@v.checked
def co2_kg(energy_kwh: float, grid_kg_per_kwh: float = DEFAULT_GRID_KG_PER_KWH) -> float:
    """Emissions in kg CO2e of ``energy_kwh`` at a grid intensity of
    ``grid_kg_per_kwh`` kg CO2e per kWh (0 for a carbon-free supply is
    allowed). The default is GPT-3's, derived from Patterson et al. 2021. Lab 05, exercise 5.
    """
    e = v.number("energy_kwh", energy_kwh, minimum=0.0)
    g = v.number("grid_kg_per_kwh", grid_kg_per_kwh, minimum=0.0)
    return e * g


@v.checked
def wh_per_request(seconds_per_request: float, power_w: float) -> float:
    """Energy of one request in Wh: its accelerator-seconds × the power drawn
    (watts) / 3600. Lesson 05, section 4."""
    return v.positive("seconds_per_request", seconds_per_request) * v.positive("power_w", power_w) / 3600.0


# ---------------------------------------------------------------- energy of one call, on this machine

POWERCAP = "/sys/class/powercap"


def read_rapl_joules(root: str = POWERCAP) -> float | None:
    """Joules counted so far by the CPU packages' RAPL counters (the
    top-level ``intel-rapl:N`` zones under ``root``; AMD processors appear
    under the same name), or ``None`` where there are none or they cannot be
    read (often the case in containers and virtual machines, and where only
    root may read them). Lesson 05.
    """
    root = os.fspath(v.instance("root", root, (str, os.PathLike), "a folder path (str)"))
    zones = sorted(z for z in glob.glob(os.path.join(root, "intel-rapl:*")) if z.count(":") == 1)
    if not zones:
        return None
    total = 0
    try:
        for z in zones:
            with open(os.path.join(z, "energy_uj")) as f:
                total += int(f.read())
    except (OSError, ValueError):
        return None
    return total / 1e6


@dataclass(frozen=True)
class EnergyPerCall:
    """Energy of one call (``joules``) and its time (``seconds``, median).
    ``method`` is ``"rapl"`` (read from the CPU's counters: the whole
    package, including anything else running) or ``"estimate"`` (``seconds``
    × ``power_w``, an assumption). Lesson 05."""

    joules: float
    seconds: float
    method: str
    power_w: float

    @property
    def wh(self) -> float:
        """The energy in watt-hours. Lesson 05, section 4."""
        return self.joules / 3600.0

    def __str__(self) -> str:
        how = ("measured with RAPL (CPU package)" if self.method == "rapl"
               else f"ESTIMATE: measured time x an assumed {self.power_w:g} W")
        return f"{self.joules * 1e3:.3g} mJ per call ({self.wh:.3g} Wh), {self.seconds * 1e3:.3g} ms per call; {how}"


def measure_energy(fn, *, assumed_power_w: float, repeats: int = 20, warmup: int = 3, root: str = POWERCAP) -> EnergyPerCall:
    """Energy of one call of ``fn()`` on this machine.

    If :func:`read_rapl_joules` can read the counters, the energy is their
    difference across ``repeats`` calls (after ``warmup``), divided by
    ``repeats``: a measurement of the whole CPU package (anything else
    running is counted too). Otherwise it is the median time of a call
    (:func:`course_lib.measure.time_it`) × ``assumed_power_w`` watts, an
    estimate whose power is yours to state. Lesson 05.
    """
    from .measure import time_it  # measure imports this module (its Reference): a top-level import would be a cycle

    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    power = v.positive("assumed_power_w", assumed_power_w)
    repeats = v.positive_int("repeats", repeats)
    timing = time_it(fn, warmup=v.integer("warmup", warmup, minimum=0), repeats=repeats)
    before = read_rapl_joules(root)
    if before is not None:
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        elapsed = time.perf_counter() - start
        after = read_rapl_joules(root)
        if after is not None and after > before:  # a counter that wrapped around reads lower: fall back
            joules = (after - before) / repeats
            return EnergyPerCall(joules=joules, seconds=timing.median, method="rapl", power_w=joules * repeats / elapsed)
    return EnergyPerCall(joules=timing.median * power, seconds=timing.median, method="estimate", power_w=power)
