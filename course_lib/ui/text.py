"""Numbers as text for people, and the calculators' presets: the presentation
of the core's results (the core returns data, this layer words it).

- units: :func:`money`, :func:`kwh`, :func:`format_bytes`, :func:`format_number`;
- one result's texts by key (the calculators show them, the tests compute the
  expected text with them): :func:`verdict_text` (:func:`course_lib.fit.verdict`),
  :func:`format_scenario` (:func:`course_lib.cost.cost_scenario`),
  :func:`format_batching` (:func:`course_lib.simulate.simulate_batching`),
  :func:`format_comparison` (:func:`course_lib.engine.compare_policies`);
- :data:`COST_PRESETS`: the cost calculator's preset scenarios.
"""

from __future__ import annotations

from .. import _validate as v
from .. import cost, energy, engine, fit, simulate

# ---------------------------------------------------------------- units


@v.checked
def money(x: v.Real) -> str:
    """Dollars for people: ``$20,000``, ``$2.00M``, ``$0.0020``. Lesson 05, sections 1 and 3."""
    if abs(x) >= 1e9:
        return f"${x / 1e9:,.2f}B"
    if abs(x) >= 1e6:
        return f"${x / 1e6:,.2f}M"
    if abs(x) >= 100:
        return f"${x:,.0f}"
    if abs(x) >= 1:
        return f"${x:,.2f}"
    return f"${x:.3g}" if x else "$0"


@v.checked
def kwh(x: v.NonNegative) -> str:
    """Energy for people: Wh below 1 kWh, kWh below 1 MWh, then MWh and GWh. Lesson 05, section 4."""
    for scale, unit in ((1e6, "GWh"), (1e3, "MWh"), (1.0, "kWh")):
        if x >= scale:
            return f"{x / scale:,.3g} {unit}"
    return f"{x * 1000:.3g} Wh"


@v.checked
def format_bytes(n: v.NonNegative) -> str:
    """``n`` bytes as text with decimal units: ``"512 B"``, ``"1.5 kB"``,
    ``"14 GB"``, ``"30.6 GB"``, ``"143 GB"`` (3 significant digits). Lesson 02, section 8."""
    for unit, size in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6), ("kB", 10**3)):
        if n >= size * 0.9995:  # so 999.6 MB reads "1 GB", not "1000 MB"
            x = n / size
            return f"{x:.3g} {unit}" if x < 100 else f"{x:.0f} {unit}"
    return f"{int(n)} B"


@v.checked(finite=False)
def format_number(x: v.Real) -> str:
    """How the format explorer prints a number: 4 significant digits (``65504``,
    ``6.104e-05``). Used by :func:`course_lib.ui.calculators.render_format`; not tied to one lesson."""
    return f"{x:.4g}"


# ---------------------------------------------------------------- one result's texts


@v.checked
def verdict_text(ver: v.Instance(fit.Verdict, "a Verdict from course_lib.fit.verdict")) -> str:
    """``"fits (12.3 GB free)"`` or ``"does not fit: 4.5 GB missing"``.
    Lesson 02, section 8; lesson 06, section 5."""
    if ver.fits:
        return f"fits ({format_bytes(ver.free_bytes)} free)"
    return f"does not fit: {format_bytes(ver.missing_bytes)} missing"


@v.checked
def format_scenario(s: v.Instance(cost.CostScenario, "a CostScenario from cost_scenario()")) -> dict[str, str]:
    """The texts the cost calculator shows, by key; tests compute the expected
    text with this. Lesson 05, section 5."""
    return {
        "training_cost": money(s.training_cost),
        "training_cost_from_flops": money(s.training_cost_from_flops),
        "training_hours": f"{s.training_hours:,.0f} accelerator-hours",
        "cost_per_request": money(s.cost_per_request),
        "cost_per_request_from_flops": money(s.cost_per_request_from_flops),
        "token_prices": (f"{money(s.cost_per_prompt_token * 1e6)} per million prompt tokens, "
                         f"{money(s.cost_per_output_token * 1e6)} per million output tokens"),
        "daily_cost": money(s.daily_cost),
        "yearly_cost": money(s.yearly_cost),
        "break_even_day": f"day {s.break_even_day:,.1f}",
        "split": f"{s.training_share:.1%} training : {s.inference_share:.1%} inference",
        "training_energy": kwh(s.training_kwh),
        "wh_per_request": f"{s.wh_per_request:.3g} Wh",
        "inference_energy": kwh(s.lifetime_inference_kwh),
        "co2": f"{s.training_co2_kg / 1000:,.3g} t training, {s.lifetime_inference_co2_kg / 1000:,.3g} t inference",
    }


@v.checked
def format_batching(result: v.Instance(simulate.SimResult, "a SimResult from simulate_batching")) -> dict[str, str]:
    """The texts the batching calculator shows, by key (p50, p95, p99 in ms;
    throughput in requests/s; mean batch; utilization in %). Tests compute the
    expected text with this. Used by :func:`course_lib.ui.calculators.render_batching`; not tied to one lesson."""
    ms = 1e3
    return {
        "p50": f"{result.p50 * ms:.1f} ms",
        "p95": f"{result.p95 * ms:.1f} ms",
        "p99": f"{result.p99 * ms:.1f} ms",
        "throughput": f"{result.throughput:.0f} req/s",
        "mean_batch": f"{result.mean_batch:.2f}",
        "utilization": f"{result.utilization * 100:.0f} %",
    }


@v.checked
def format_comparison(result: v.Mapping_(*engine.POLICIES)) -> dict[str, str]:
    """The texts the trace explorer shows for :func:`~course_lib.engine.compare_policies`'s
    result, by key (``static_steps``, ``continuous_tps``, …). Tests compute the
    expected text with this. Used by :func:`course_lib.ui.calculators.render_engine`; not tied to one lesson."""
    for policy in engine.POLICIES:
        v.instance(f"result[{policy!r}]", result[policy], engine.EngineResult, "an EngineResult from compare_policies")
    out = {}
    for policy in ("static", "continuous"):
        r = result[policy]
        pct = r.percentiles()
        out[f"{policy}_steps"] = f"{r.steps}"
        out[f"{policy}_tps"] = f"{r.tokens_per_s:.0f} tok/s"
        out[f"{policy}_ttft"] = f"{pct['ttft_p50'] * 1e3:.1f} / {pct['ttft_p95'] * 1e3:.1f} ms"
        out[f"{policy}_tpot"] = f"{pct['tpot_p50'] * 1e3:.2f} ms"
        out[f"{policy}_kv"] = f"{100 * r.kv_utilization:.0f} %"
    return out


# ---------------------------------------------------------------- calculator presets

COST_PRESETS: dict[str, dict] = {
    # The seed page's figures: $2M training, $0.002 per request, 10M requests/day.
    # Model: GPT-3 (175B parameters, 300B tokens; Brown et al. 2020) for the energy.
    # The seed gives one figure per request: all 1,000 tokens at the serving utilization, none as prompt.
    "Seed page example": dict(
        model_b=175.0, train_tokens_b=300.0, accelerator="H100 SXM", train_utilization=0.4,
        serve_utilization=0.1, price_per_hour=2.0, requests_m=10.0, prompt_tokens=0, output_tokens=1000, years=1.0,
        fixed_training_musd=2.0, fixed_cost_per_request=0.002, power_factor=1.0,
        grid_kg_per_kwh=round(energy.DEFAULT_GRID_KG_PER_KWH, 3),
    ),
    # Epoch AI 2025, "How much energy does ChatGPT use?": 100B active parameters,
    # 500 output tokens, H100 at 10 % utilization, 1,071 W per GPU all-in
    # (1.53 × 700 W TDP) → ≈ 0.3 Wh per query. Training tokens: 20 per
    # parameter (an assumption; Hoffmann et al. 2022's rule of thumb).
    "GPT-4o-class query (Epoch AI 2025)": dict(
        model_b=100.0, train_tokens_b=2000.0, accelerator="H100 SXM", train_utilization=0.4,
        serve_utilization=0.1, price_per_hour=2.0, requests_m=10.0, prompt_tokens=0, output_tokens=500, years=1.0,
        fixed_training_musd=0.0, fixed_cost_per_request=0.0, power_factor=1.53,
        grid_kg_per_kwh=round(energy.DEFAULT_GRID_KG_PER_KWH, 3),
    ),
}
"""The cost calculator's presets (:func:`course_lib.ui.calculators.cost_calculator`):
widget values in its units (billions, millions, 0 = "from FLOPs"), read by
:func:`course_lib.ui.calculators.cost_inputs`."""
