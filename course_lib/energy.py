"""Energy and CO2 of training and serving, with the published reference points
(lesson 05).

The arithmetic is two lines: energy is power × time, and CO2 is energy ×
the grid's carbon intensity (kg CO2e per kWh), which the learner sets,
because it differs by a factor of ten between grids. The figures in
:data:`course_lib.references.REFERENCES` are what the lesson sets its
estimates against; each
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
from .measure import time_it
from .references import REFERENCES

LBS_TO_KG = 0.45359237  # the international avoirdupois pound, by definition


# Derived: GPT-3's emissions divided by its energy (Patterson et al. 2021),
# 552 t / 1,287 MWh ≈ 0.43 kg CO2e per kWh. The calculators' default grid.
DEFAULT_GRID_KG_PER_KWH = REFERENCES["gpt3_training_tco2e"].value * 1000 / (REFERENCES["gpt3_training_mwh"].value * 1000)


#: Grid intensities (kg CO2e per kWh) for the cases the course cites, each with its source: set the one of your case.
#: The French grid's is derived as GPT-3's is: BLOOM's 24.7 t CO2e ÷ its 433,196 kWh (Luccioni et al. 2023) ≈ 0.057.
GRID_CASES = {
    "GPT-3's data centre (derived from Patterson et al. 2021)": DEFAULT_GRID_KG_PER_KWH,
    "US average (Touvron et al. 2023, LLaMA)": REFERENCES["us_grid_kg_per_kwh"].value,
    "French grid, low-carbon (derived from BLOOM's training, Luccioni et al. 2023)":
        REFERENCES["bloom_training_dynamic_tco2e"].value * 1000 / REFERENCES["bloom_training_dynamic_kwh"].value,
}

#: Power drawn per accelerator as a multiple of its TDP, for the cases the course cites.
POWER_FACTORS = {
    "TDP only (LLaMA's accounting: 400 W per A100, Touvron et al. 2023)": 1.0,
    "whole H100 server, cooling and partial load (Epoch AI 2025: 1,071 W per 700 W H100)":
        REFERENCES["h100_system_w"].value / 700,
}


@v.checked
def energy_kwh(power_w: v.Positive, hours: v.Positive, *, n_devices: v.Positive = 1, pue: v.Range(1.0, None, allow_zero=True) = 1.0) -> float:
    """Energy in kWh drawn by ``n_devices`` each at ``power_w`` watts for
    ``hours``, times the data centre's power usage effectiveness ``pue``
    (≥ 1: cooling and power delivery on top of the IT load). Lesson 05, section 4; lab 05, exercise 5.
    """
    power = power_w
    t = hours
    n = n_devices
    p = pue
    return power * t * n * p / 1000.0


@v.checked
def co2_kg(energy_kwh: v.NonNegative, grid_kg_per_kwh: v.NonNegative = DEFAULT_GRID_KG_PER_KWH) -> float:
    """Emissions in kg CO2e of ``energy_kwh`` at a grid intensity of
    ``grid_kg_per_kwh`` kg CO2e per kWh (0 for a carbon-free supply is
    allowed). The default is GPT-3's, derived from Patterson et al. 2021. Lab 05, exercise 5.
    """
    e = energy_kwh
    g = grid_kg_per_kwh
    return e * g


@v.checked
def wh_per_request(seconds_per_request: v.Positive, power_w: v.Positive) -> float:
    """Energy of one request in Wh: its accelerator-seconds × the power drawn
    (watts) / 3600. Lesson 05, section 4."""
    return seconds_per_request * power_w / 3600.0


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
    × ``power_w``, an assumption). Used by :func:`course_lib.energy.measure_energy`; not tied to one lesson."""

    joules: float
    seconds: float
    method: str
    power_w: float

    @property
    def wh(self) -> float:
        """The energy in watt-hours. Not tied to one lesson."""
        return self.joules / 3600.0

    def __str__(self) -> str:
        how = ("measured with RAPL (CPU package)" if self.method == "rapl"
               else f"ESTIMATE: measured time x an assumed {self.power_w:g} W")
        return f"{self.joules * 1e3:.3g} mJ per call ({self.wh:.3g} Wh), {self.seconds * 1e3:.3g} ms per call; {how}"


@v.checked
def measure_energy(fn, *, assumed_power_w: v.Positive, repeats: v.PositiveInt = 20, warmup: v.NonNegativeInt = 3, root: str = POWERCAP) -> EnergyPerCall:
    """Energy of one call of ``fn()`` on this machine.

    If :func:`read_rapl_joules` can read the counters, the energy is their
    difference across ``repeats`` calls (after ``warmup``), divided by
    ``repeats``: a measurement of the whole CPU package (anything else
    running is counted too). Otherwise it is the median time of a call
    (:func:`course_lib.measure.time_it`) × ``assumed_power_w`` watts, an
    estimate whose power is yours to state. Lesson 05.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    power = assumed_power_w
    timing = time_it(fn, warmup=warmup, repeats=repeats)
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
