"""The course's calculators: each a :class:`~course_lib.ui.widgets.Calculator`
over a pure function of the core, with a ``render`` that shows each key
number in a :func:`~course_lib.ui.widgets.result_span`.

- :func:`fit_calculator`: will a model train / serve on one GPU? (lesson 02,
  over :func:`course_lib.fit.will_it_fit`);
- :func:`batching_calculator`: dynamic batching latency and throughput
  (lessons 03 and 06, over :func:`course_lib.simulate.simulate_batching`);
- :func:`format_explorer`: bits → range and precision of a float format
  (lesson 04, over :func:`course_lib.precision.float_format`);
- :func:`cost_calculator`: training once, inference forever (lesson 05, over
  :func:`course_lib.cost.cost_scenario`);
- :func:`zero_calculator`: will it fit on N GPUs with ZeRO? (lesson 06, over
  :func:`course_lib.zero_fit.zero_fit`).
- :func:`engine_explorer`: static vs continuous batching on a request trace
  (lesson 08, over :func:`course_lib.engine.compare_policies`).
"""

from __future__ import annotations

import html
import math

import ipywidgets as w
import numpy as np

from .. import _validate as v
from .. import cost, engine, fit, hardware, predict, precision, simulate, zero_fit
from . import charts
from .widgets import Calculator, result_span

_GOOD, _BAD = "#070", "#b00"

# ------------------------------------------------------------ will it fit? (lesson 02)


def render_fit(result: dict) -> str:
    """:func:`course_lib.fit.will_it_fit`'s result as HTML. Lesson 02, "Will it fit?"."""
    t, i = result["training"], result["inference"]
    tv, iv = result["training_verdict"], result["inference_verdict"]
    out = result_span
    rows = "".join(
        f"<tr><td>{name}</td><td>{out('train_' + key, fit.format_bytes(t[key]))}</td></tr>"
        for name, key in (
            ("weights", "weights"),
            ("gradients", "gradients"),
            ("optimizer state", "optimizer_state"),
            ("activations", "activations"),
        )
    )
    colour = {True: _GOOD, False: _BAD}
    return (
        f"<p>{html.escape(result['model'])} model, {out('n_params', format(result['n_params'], ',') + ' parameters')}"
        f" on {html.escape(result['gpu'])} ({out('gpu_memory', fit.format_bytes(tv['gpu_bytes']))})</p>"
        f"<table><tr><th>training</th><th></th></tr>{rows}"
        f"<tr><td><b>total</b></td><td><b>{out('train_total', fit.format_bytes(t['total']))}</b></td></tr></table>"
        f"<p style='color:{colour[tv['fits']]}'>Training: {out('train_verdict', fit.verdict_text(tv))}</p>"
        f"<table><tr><th>inference</th><th></th></tr>"
        f"<tr><td>weights</td><td>{out('infer_weights', fit.format_bytes(i['weights']))}</td></tr>"
        f"<tr><td>KV cache</td><td>{out('infer_kv_cache', fit.format_bytes(i['kv_cache']))}</td></tr>"
        f"<tr><td><b>total</b></td><td><b>{out('infer_total', fit.format_bytes(i['total']))}</b></td></tr></table>"
        f"<p style='color:{colour[iv['fits']]}'>Inference: {out('infer_verdict', fit.verdict_text(iv))}</p>"
    )


def fit_result_chart(result: dict):
    """:func:`course_lib.ui.charts.fit_chart` for a :func:`course_lib.fit.will_it_fit`
    result. Lesson 02, "Will it fit?"."""
    return charts.fit_chart(fit.fit_table(result), result["training_verdict"]["gpu_bytes"] / fit.GB,
                            result["gpu"], result["model"])


def fit_calculator() -> Calculator:
    """The "will it fit?" calculator: model (preset or custom), optimizer,
    precision, batch, sequence length, checkpointing, GPU → stacked bars
    against the GPU's memory and a verdict. The custom size fields are used
    (and enabled) only when model is ``"custom"``. Lesson 02, "Will it fit?"."""
    style = {"description_width": "110px"}
    layout = w.Layout(width="420px")
    controls = {
        "model": w.Dropdown(options=list(fit.PRESETS) + ["custom"], value="7B", description="model", style=style, layout=layout),
        "n_params_b": w.BoundedFloatText(value=1.0, min=0.001, max=2000.0, step=0.1, description="custom: B params", style=style, layout=layout),
        "layers": w.BoundedIntText(value=24, min=1, max=256, description="custom: layers", style=style, layout=layout),
        "hidden": w.BoundedIntText(value=2048, min=64, max=65536, step=64, description="custom: hidden", style=style, layout=layout),
        "heads": w.BoundedIntText(value=16, min=1, max=256, description="custom: heads", style=style, layout=layout),
        "optimizer": w.Dropdown(options=list(predict.OPTIMIZERS), value="adamw", description="optimizer", style=style, layout=layout),
        "precision": w.Dropdown(
            options=[(label, key) for key, label in fit.PRECISION_LABELS.items()], value="mixed", description="precision", style=style, layout=layout
        ),
        "batch": w.SelectionSlider(options=[2**k for k in range(11)], value=1, description="batch", style=style, layout=layout),
        "seq_len": w.SelectionSlider(options=[2**k for k in range(7, 16)], value=2048, description="sequence length", style=style, layout=layout),
        "checkpointing": w.Checkbox(value=False, description="activation checkpointing", style=style, layout=layout),
        "gpu": w.Dropdown(options=list(fit.GPUS), value="H100 80 GB", description="GPU", style=style, layout=layout),
    }
    custom = ("n_params_b", "layers", "hidden", "heads")

    def toggle(_change=None):
        for name in custom:
            controls[name].disabled = controls["model"].value != "custom"

    controls["model"].observe(toggle, names="value")
    toggle()
    return Calculator(controls, fit.will_it_fit, render_fit, chart=fit_result_chart, title="Will it fit?")


# ------------------------------------------------------------ dynamic batching (lessons 03, 06)

_SIM_LABELS = {
    "p50": "p50 latency",
    "p95": "p95 latency",
    "p99": "p99 latency",
    "throughput": "throughput",
    "mean_batch": "mean batch size",
    "utilisation": "utilisation",
}


def render_batching(result: simulate.SimResult) -> str:
    """A :class:`course_lib.simulate.SimResult` as an HTML table of
    :func:`course_lib.simulate.format_result`'s texts. Lesson 03, "Dynamic batching"."""
    rows = "".join(
        f"<tr><td>{_SIM_LABELS[k]}</td><td>{result_span(k, text)}</td></tr>"
        for k, text in simulate.format_result(result).items()
    )
    return f"<table>{rows}</table>"


def batching_chart(result: simulate.SimResult):
    """:func:`course_lib.ui.charts.latency_chart` of a simulation's latencies
    with its p50/p95/p99. Lesson 03, "Dynamic batching"."""
    if not isinstance(result, simulate.SimResult):
        raise TypeError(f"result must be a SimResult from simulate_batching, got {type(result).__name__}")
    return charts.latency_chart(result.latencies, {"p50": result.p50, "p95": result.p95, "p99": result.p99})


def batching_calculator(
    overhead: float,
    per_sample: float,
    *,
    rate: float = 200.0,
    max_batch: int = 8,
    timeout_ms: float = 5.0,
    n_requests: int = 2000,
    seed: int = 0,
    max_replicas: int | None = None,
    chart: bool = False,
) -> Calculator:
    """The dynamic-batching widget: sliders for arrival rate (requests/s),
    maximum batch and timeout (ms) → p50/p95/p99 latency, throughput, mean
    batch size, utilisation, for a cost model ``overhead + per_sample · b``
    (seconds). With ``max_replicas`` it adds a replica count and a balancer
    choice (lesson 06). Lesson 03, "Dynamic batching".
    """
    overhead, per_sample = simulate.check_cost(overhead, per_sample)
    capacity = simulate.max_throughput(64, overhead, per_sample) * (max_replicas or 1)
    top = float(f"{capacity * 1.5:.2g}")
    controls = {
        "rate": w.FloatLogSlider(
            value=min(v.positive("rate", rate), top), base=10, min=np.log10(top) - 3, max=np.log10(top),
            step=0.05, description="rate (req/s)", continuous_update=False,
        ),
        "max_batch": w.IntSlider(value=v.integer("max_batch", max_batch, minimum=1, maximum=64), min=1, max=64,
                                 description="max batch", continuous_update=False),
        "timeout_ms": w.FloatSlider(value=v.number("timeout_ms", timeout_ms, minimum=0.0, maximum=100.0), min=0.0,
                                    max=100.0, step=0.5, description="timeout (ms)", continuous_update=False),
    }
    if max_replicas is not None:
        controls["n_replicas"] = w.IntSlider(value=1, min=1, max=v.positive_int("max_replicas", max_replicas),
                                             description="replicas", continuous_update=False)
        controls["balancer"] = w.Dropdown(options=list(simulate.BALANCERS), value="round_robin", description="balancer")

    def compute(rate, max_batch, timeout_ms, n_replicas=1, balancer="round_robin"):
        return simulate.simulate_batching(rate, max_batch, timeout_ms / 1e3, overhead, per_sample,
                                          n_requests=n_requests, seed=seed, n_replicas=n_replicas, balancer=balancer)

    return Calculator(controls, compute, render_batching, chart=batching_chart if chart else None,
                      title="Dynamic batching simulator")


# ------------------------------------------------------------ format explorer (lesson 04)


def render_format(f: precision.FloatFormat) -> str:
    """The explorer's result as HTML; each number is a result span holding
    :func:`course_lib.precision.format_number`'s text. Lesson 04, "Formats"."""
    known = precision.known_layouts().get((f.exponent_bits, f.mantissa_bits))
    same = f" (the layout of {known})" if known else ""
    if known and precision.get_format(known).max != f.max:  # fp8 E4M3: no inf, so it reaches 448
        same = (f" (the layout of {known}, whose torch dtype keeps no code for inf and so reaches "
                f"{precision.format_number(precision.get_format(known).max)})")

    def out(key: str, x: float) -> str:
        return result_span(key, precision.format_number(x))

    return (
        f"<b>{f.bits} bits</b>: 1 sign, {f.exponent_bits} exponent, {f.mantissa_bits} mantissa{same}<br>"
        f"largest: {out('max', f.max)} · smallest normal: {out('smallest_normal', f.smallest_normal)} · "
        f"smallest subnormal: {out('smallest_subnormal', f.smallest_subnormal)}<br>"
        f"epsilon (gap after 1): {out('eps', f.eps)} · about {out('digits', (f.mantissa_bits + 1) * math.log10(2))} "
        f"significant decimal digits ((mantissa + 1) · log10 2)"
    )


def format_explorer(exponent_bits: int = 5, mantissa_bits: int = 10) -> Calculator:
    """Sliders for exponent bits (2–8) and mantissa bits (1–23) → range,
    smallest normal and epsilon from :func:`course_lib.precision.float_format`.
    Lesson 04, "Formats"."""
    controls = {
        "exponent_bits": w.IntSlider(value=exponent_bits, min=2, max=8, description="exponent bits"),
        "mantissa_bits": w.IntSlider(value=mantissa_bits, min=1, max=23, description="mantissa bits"),
    }
    return Calculator(controls, precision.float_format, render_format, title="Format explorer: bits → range and precision")


# ------------------------------------------------------------ cost (lesson 05)

_COST_LABELS = {
    "training_cost": "training cost",
    "training_cost_from_flops": "… from FLOPs",
    "training_hours": "training time",
    "cost_per_request": "cost per request",
    "cost_per_request_from_flops": "… from FLOPs",
    "daily_cost": "inference per day",
    "yearly_cost": "inference per year",
    "break_even_day": "inference spend = training spend on",
    "split": "lifetime split",
    "training_energy": "training energy",
    "wh_per_request": "energy per request",
    "inference_energy": "inference energy, lifetime",
    "co2": "CO2e",
}


def render_scenario(s: cost.CostScenario) -> str:
    """A :class:`course_lib.cost.CostScenario` as an HTML table of
    :func:`course_lib.cost.format_scenario`'s texts. Lesson 05, the calculator."""
    rows = "".join(
        f"<tr><td>{_COST_LABELS[k]}</td><td>{result_span(k, text)}</td></tr>"
        for k, text in cost.format_scenario(s).items()
    )
    return f"<table>{rows}</table>"


def scenario_chart(s: cost.CostScenario):
    """:func:`course_lib.ui.charts.cumulative_cost_chart` of a scenario. Lesson 05, the calculator."""
    return charts.cumulative_cost_chart(cost.cumulative_cost(s), s.break_even_day)


def _cost_controls(p: dict) -> dict:
    style = {"description_width": "190px"}
    layout = w.Layout(width="520px")
    kw = dict(style=style, layout=layout, continuous_update=False)
    text = dict(style=style, layout=layout)
    return {
        "model_b": w.FloatLogSlider(value=p["model_b"], base=10, min=-1, max=3.5, step=0.01,
                                    description="model size (B params)", **kw),
        "train_tokens_b": w.FloatLogSlider(value=p["train_tokens_b"], base=10, min=0, max=5, step=0.01,
                                           description="training tokens (B)", **kw),
        "accelerator": w.Dropdown(options=list(hardware.ACCELERATORS), value=p["accelerator"],
                                  description="accelerator", **text),
        "train_utilization": w.FloatSlider(value=p["train_utilization"], min=0.05, max=0.8, step=0.01,
                                           description="training utilisation (MFU)", **kw),
        "serve_utilization": w.FloatSlider(value=p["serve_utilization"], min=0.01, max=0.8, step=0.01,
                                           description="serving utilisation", **kw),
        "price_per_hour": w.BoundedFloatText(value=p["price_per_hour"], min=0.01, max=100.0, step=0.1,
                                             description="$ per accelerator-hour", **text),
        "requests_m": w.FloatLogSlider(value=p["requests_m"], base=10, min=-2, max=4, step=0.01,
                                       description="requests per day (M)", **kw),
        "tokens_per_request": w.BoundedIntText(value=p["tokens_per_request"], min=1, max=1_000_000,
                                               description="tokens per request", **text),
        "years": w.FloatSlider(value=p["years"], min=0.25, max=10.0, step=0.25,
                               description="deployment (years)", **kw),
        "fixed_training_musd": w.BoundedFloatText(value=p["fixed_training_musd"], min=0.0, max=1e5, step=0.5,
                                                  description="training $M (0 = from FLOPs)", **text),
        "fixed_cost_per_request": w.BoundedFloatText(value=p["fixed_cost_per_request"], min=0.0, max=100.0,
                                                     step=0.0005, description="$ per request (0 = from FLOPs)", **text),
        "power_factor": w.FloatSlider(value=p["power_factor"], min=0.3, max=3.0, step=0.01,
                                      description="power ÷ TDP", **kw),
        "grid_kg_per_kwh": w.FloatSlider(value=p["grid_kg_per_kwh"], min=0.0, max=1.2, step=0.001,
                                         description="grid kg CO2e per kWh", **kw),
    }


def cost_calculator(preset: str = "Seed page example", *, chart: bool = True) -> Calculator:
    """A preset menu, then model size, training tokens, accelerator,
    utilisations, price, traffic, tokens per request, deployment years,
    optional fixed prices, power and grid → training cost, daily and yearly
    inference cost, break-even day, lifetime split, energy and CO2, and
    (``chart=True``) a chart of cumulative cost (:func:`scenario_chart`).
    ``calc.preset`` is the preset menu. Lesson 05, the calculator.
    """
    v.choice("preset", preset, cost.PRESETS)
    if not isinstance(chart, bool):
        raise TypeError(f"chart must be True or False, got {chart!r}")

    def compute(**values):
        return cost.cost_scenario(**cost.calculator_inputs(values))

    calc = Calculator(_cost_controls(cost.PRESETS[preset]), compute, render_scenario,
                      chart=scenario_chart if chart else None, title="Training once, inference forever")
    menu = w.Dropdown(options=list(cost.PRESETS), value=preset, description="preset",
                      style={"description_width": "190px"}, layout=w.Layout(width="520px"))

    def apply(change) -> None:
        values = cost.PRESETS[change["new"]]
        for control in calc.controls.values():
            control.unobserve(calc.update, names="value")
        try:
            for name, value in values.items():
                calc.controls[name].value = value
        finally:
            for control in calc.controls.values():
                control.observe(calc.update, names="value")
        calc.update()

    menu.observe(apply, names="value")
    calc.preset = menu
    calc.widget = w.VBox([menu, calc.widget])
    return calc


# ------------------------------------------------------------ ZeRO (lesson 06)


def render_zero(result: dict) -> str:
    """:func:`course_lib.zero_fit.zero_fit`'s result as HTML. Lesson 06, "Will it fit on N GPUs?"."""
    g = result["per_gpu"]
    out = result_span
    names = zero_fit.STAGE_NAMES
    rows = "".join(
        f"<tr><td>{name}</td><td>{out(key, fit.format_bytes(g[key]))}</td></tr>"
        for name, key in (("weights", "weights"), ("gradients", "gradients"), ("optimizer state", "optimizer_state"),
                          ("activations (own micro-batch)", "activations"))
    )
    colour = _GOOD if result["verdict"]["fits"] else _BAD
    stages = "".join(
        f"<tr><td>{html.escape(names[st])}</td><td>{out(f'stage{st}', fit.format_bytes(total))}</td></tr>"
        for st, total in result["stages"].items()
    )
    need = result["min_gpus"]
    need_text = f"{need} GPUs" if need else "more than 4096 GPUs"
    return (
        f"<p>{html.escape(result['model'])} ({result['n_params']:,} parameters) on "
        f"{result['n_gpus']} × {html.escape(result['gpu'])}, ZeRO {html.escape(names[result['stage']])}</p>"
        f"<table><tr><th>per GPU</th><th></th></tr>{rows}"
        f"<tr><td><b>total</b></td><td><b>{out('total', fit.format_bytes(g['total']))}</b></td></tr></table>"
        f"<p style='color:{colour}'>{out('verdict', fit.verdict_text(result['verdict']))}; "
        f"this stage fits from {out('min_gpus', need_text)} (powers of two)</p>"
        f"<table><tr><th>same GPUs, each stage</th><th>per GPU</th></tr>{stages}</table>"
    )


def stage_chart(result: dict):
    """:func:`course_lib.ui.charts.zero_stages` for a :func:`course_lib.zero_fit.zero_fit`
    result. Lesson 06, "Will it fit on N GPUs?"."""
    return charts.zero_stages(zero_fit.stage_table(result), result["verdict"]["gpu_bytes"] / fit.GB, result["gpu"],
                              title=f"{result['model']} on {result['n_gpus']} GPUs: memory per GPU by ZeRO stage")


def zero_calculator(chart: bool = True) -> Calculator:
    """Model, number of GPUs, ZeRO stage, optimizer, precision, micro-batch
    per GPU, sequence length, checkpointing, GPU → per-GPU memory, verdict,
    the fewest GPUs that fit, and (with ``chart``) a stacked bar per stage
    against the GPU's memory. Lesson 06, "Will it fit on N GPUs?"."""
    if not isinstance(chart, bool):
        raise TypeError(f"chart must be True or False, got {chart!r}")
    style = {"description_width": "120px"}
    layout = w.Layout(width="420px")
    names = zero_fit.STAGE_NAMES
    controls = {
        "model": w.Dropdown(options=list(fit.PRESETS), value="7B", description="model", style=style, layout=layout),
        "n_gpus": w.SelectionSlider(options=[2**k for k in range(11)], value=8, description="GPUs", style=style, layout=layout),
        "stage": w.Dropdown(options=[(names[s], s) for s in zero_fit.STAGES], value=3, description="ZeRO stage", style=style, layout=layout),
        "optimizer": w.Dropdown(options=list(predict.OPTIMIZERS), value="adamw", description="optimizer", style=style, layout=layout),
        "precision": w.Dropdown(options=[(label, key) for key, label in fit.PRECISION_LABELS.items()], value="mixed",
                                description="precision", style=style, layout=layout),
        "batch_per_gpu": w.SelectionSlider(options=[2**k for k in range(7)], value=1, description="batch per GPU", style=style, layout=layout),
        "seq_len": w.SelectionSlider(options=[2**k for k in range(9, 15)], value=2048, description="sequence length", style=style, layout=layout),
        "checkpointing": w.Checkbox(value=True, description="activation checkpointing", style=style, layout=layout),
        "gpu": w.Dropdown(options=list(fit.GPUS), value="H100 80 GB", description="GPU", style=style, layout=layout),
    }
    return Calculator(controls, zero_fit.zero_fit, render_zero, chart=stage_chart if chart else None,
                      title="Will it fit on N GPUs? (ZeRO)")


# ------------------------------------------------------------ serving trace explorer (lesson 08)

_ENGINE_LABELS = (("steps", "forward calls"), ("tps", "tokens/s"), ("ttft", "TTFT p50 / p95"),
                  ("tpot", "time per output token p50"), ("kv", "KV used / reserved"))


def render_engine_explorer(result: dict) -> str:
    """:func:`course_lib.engine.compare_policies`'s result as an HTML table of
    :func:`course_lib.engine.format_comparison`'s texts, static beside
    continuous. Lesson 08, section 5."""
    texts = engine.format_comparison(result)
    rows = "".join(
        f"<tr><td>{label}</td>"
        + "".join(f"<td>{result_span(f'{p}_{key}', texts[f'{p}_{key}'])}</td>" for p in ("static", "continuous"))
        + "</tr>"
        for key, label in _ENGINE_LABELS
    )
    return f"<table><tr><th></th><th>static</th><th>continuous</th></tr>{rows}</table>"


def engine_explorer(overhead: float, per_token: float, *, rate: float = 100.0, max_batch: int = 8,
                    max_output: int = 32, kv_block: int = 0, n_requests: int = 40, seed: int = 0) -> Calculator:
    """The trace/policy explorer: arrival rate, maximum batch, longest output
    and KV block size (0 = reserve the maximum length) → forward calls,
    tokens/s, TTFT, time per output token and KV utilisation, static beside
    continuous, simulated with a step cost of ``overhead + per_token ×
    tokens`` seconds (fitted in the lesson). Lesson 08, section 5."""
    overhead = v.number("overhead", overhead, minimum=0.0)
    per_token = v.number("per_token", per_token, minimum=0.0)
    controls = {
        "rate": w.FloatLogSlider(value=v.positive("rate", rate), base=10, min=0, max=4, step=0.1,
                                 description="rate (req/s)", continuous_update=False),
        "max_batch": w.IntSlider(value=v.integer("max_batch", max_batch, minimum=1, maximum=32), min=1, max=32,
                                 description="max batch", continuous_update=False),
        "max_output": w.IntSlider(value=v.integer("max_output", max_output, minimum=2, maximum=48), min=2, max=48,
                                  description="longest output", continuous_update=False),
        "kv_block": w.IntSlider(value=v.integer("kv_block", kv_block, minimum=0, maximum=64), min=0, max=64, step=4,
                                description="KV block (0 = reserve)", continuous_update=False),
    }

    def compute(rate, max_batch, max_output, kv_block):
        return engine.compare_policies(rate, max_batch, max_output, kv_block, overhead=overhead, per_token=per_token,
                                       n_requests=n_requests, seed=seed)

    return Calculator(controls, compute, render_engine_explorer, title="Serving trace explorer")
