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
  :func:`course_lib.zero_fit.zero_fit`);
- :func:`generation_calculator`: prefill, decode and batch of a real model on
  a GPU (lesson 07, over :func:`course_lib.generation.estimate`);
- :func:`engine_explorer`: static vs continuous batching on a request trace
  (lesson 08, over :func:`course_lib.engine.compare_policies`).
"""

from __future__ import annotations

import html
import math

import ipywidgets as w
import numpy as np
import pandas as pd

from .. import _validate as v
from .. import arch, configs, cost, energy, engine, fit, generation, hardware, model_state, precision, simulate, train, zero_fit
from . import charts, text
from .widgets import Calculator, result_span

# The records the render and chart functions take, each declared once for all of them.
_FitResult = v.Instance(fit.FitResult, "a FitResult from will_it_fit")
_ZeroResult = v.Instance(zero_fit.ZeroFitResult, "a ZeroFitResult from zero_fit")
_SimResult = v.Instance(simulate.SimResult, "a SimResult from simulate_batching")
_Estimate = v.Instance(generation.GenerationEstimate, "a GenerationEstimate from generation.estimate()")
_Lifetime = v.Instance(cost.LifetimeEstimate, "a LifetimeEstimate from cost.lifetime_estimate()")

_GOOD, _BAD = "#070", "#b00"


def _label_table(labels: dict[str, str], texts: dict[str, str]) -> str:
    """An HTML table: one row per key, its label, then its text in a result span."""
    rows = "".join(f"<tr><td>{labels[k]}</td><td>{result_span(k, text)}</td></tr>" for k, text in texts.items())
    return f"<table>{rows}</table>"

# ------------------------------------------------------------ will it fit? (lesson 02)


def _maybe(n, unit: str) -> str:
    return f"{n:,} {unit}" if n else "none: even 1 does not fit"


@v.checked
def render_fit(result: _FitResult) -> str:
    """:func:`course_lib.fit.will_it_fit`'s result as HTML. Used by :func:`course_lib.ui.calculators.fit_calculator`;
    not tied to one lesson."""
    t, i = result.training, result.inference
    tv, iv = result.training_verdict, result.inference_verdict
    out = result_span
    rows = "".join(
        f"<tr><td>{name}</td><td>{out('train_' + key, text.format_bytes(t[key]))}</td></tr>"
        for name, key in (
            ("weights", "weights"),
            ("gradients", "gradients"),
            ("optimizer state", "optimizer_state"),
            ("activations", "activations"),
            (fit.OVERHEAD_LABEL, "overhead"),
        )
    )
    colour = {True: _GOOD, False: _BAD}
    return (
        f"<p>{out('model', result.model)}: {out('n_params', format(result.n_params, ',') + ' parameters')}, "
        f"{out('n_active_params', format(result.n_active_params, ',') + ' active per token')}"
        f" on {html.escape(result.accelerator)} ({out('accelerator_memory', text.format_bytes(tv.memory_bytes))})</p>"
        f"<table><tr><th>training</th><th></th></tr>{rows}"
        f"<tr><td><b>total</b></td><td><b>{out('train_total', text.format_bytes(t['total']))}</b></td></tr></table>"
        f"<p style='color:{colour[tv.fits]}'>Training: {out('train_verdict', text.verdict_text(tv))}</p>"
        f"<p>Largest batch that fits at this sequence length: {out('largest_batch', _maybe(result.largest_batch, 'sequences'))}; "
        f"longest context at this batch: {out('longest_context', _maybe(result.longest_context, 'tokens'))}</p>"
        f"<table><tr><th>inference</th><th></th></tr>"
        f"<tr><td>weights</td><td>{out('infer_weights', text.format_bytes(i['weights']))}</td></tr>"
        f"<tr><td>KV cache</td><td>{out('infer_kv_cache', text.format_bytes(i['kv_cache']))}</td></tr>"
        f"<tr><td>{html.escape(fit.OVERHEAD_LABEL)}</td><td>{out('infer_overhead', text.format_bytes(i['overhead']))}</td></tr>"
        f"<tr><td><b>total</b></td><td><b>{out('infer_total', text.format_bytes(i['total']))}</b></td></tr></table>"
        f"<p style='color:{colour[iv.fits]}'>Inference: {out('infer_verdict', text.verdict_text(iv))}</p>"
    )


@v.checked
def fit_result_chart(result: _FitResult):
    """:func:`course_lib.ui.charts.fit_chart` for a :func:`course_lib.fit.will_it_fit`
    result. Lesson 02, section 8."""
    return charts.fit_chart(fit.fit_table(result), result.training_verdict.memory_bytes / fit.GB,
                            result.accelerator, result.model.split(" (")[0])


def config_upload(upload):
    """The :class:`~course_lib.arch.Architecture` of the ``config.json`` in a
    ``FileUpload`` value, parsed in memory (nothing written to disk), or
    ``None`` when nothing was uploaded. Used by :func:`course_lib.ui.calculators.cost_calculator`; not tied to one
    lesson."""
    if isinstance(upload, (list, tuple, dict)) and not upload:
        return None
    if not isinstance(upload, (list, tuple, dict)):
        raise TypeError(f"upload must be a FileUpload value (a tuple of files), got {v.show(upload)}")
    item = upload[0] if isinstance(upload, (list, tuple)) else next(iter(upload.values()))
    if not isinstance(item, dict) or "content" not in item:
        raise ValueError(f"upload must hold files with a 'content' entry, got {v.show(item)}")
    content = item["content"]
    if not isinstance(content, (bytes, bytearray, memoryview)):
        raise TypeError(f"upload's content must be bytes, got {v.show(content)}")
    name = item.get("name") if isinstance(item.get("name"), str) else "config.json"
    config = configs.parse_config(content, where=f"upload {name!r}")
    return arch.Architecture.from_hf_config(config)


def _model_controls(style, layout, default: str) -> dict:
    """Preset menu (names with exact counts), a config.json path field and an upload button."""
    return {
        "model": w.Dropdown(options=[(label, key) for key, label in fit.MODEL_LABELS.items()], value=default,
                            description="model", style=style, layout=layout),
        "config_path": w.Text(value="", placeholder="or the path of a local config.json", description="config.json",
                              style=style, layout=layout),
        "upload": w.FileUpload(accept=".json", multiple=False, description="upload config.json",
                               layout=w.Layout(width="auto")),  # auto width: the label is never cut
    }


@v.checked
def model_source(upload, config_path: v.Text, menu_label: v.Text) -> str:
    """What a calculator computes for, in words: the uploaded file, the config path, or the
    menu's model (an upload beats a path, which beats the menu, as in :func:`_with_upload`). Not tied to one lesson."""
    if not isinstance(upload, (list, tuple, dict)):
        raise TypeError(f"upload must be a FileUpload value (a tuple of files), got {v.show(upload)}")
    if upload:
        item = upload[0] if isinstance(upload, (list, tuple)) else next(iter(upload.values()), {})
        name = item.get("name", "config.json") if isinstance(item, dict) else "config.json"
        return f"Computing for the uploaded file {name}: it overrides the model menu."
    if config_path.strip():
        return f"Computing for the config file {config_path.strip()}: it overrides the model menu."
    return f"Computing for the menu's model: {menu_label}."


def _model_source_widgets(controls: dict) -> tuple:
    """A line saying which model the calculator computes for, and a button that clears an
    upload or a config path (shown only then), returning to the menu. Lesson 02."""
    label = w.HTML()
    label.add_class("calc-model-source")
    clear = w.Button(description="clear the config, use the menu", layout=w.Layout(width="auto"))
    clear.add_class("calc-clear-config")
    model, path, upload = controls["model"], controls["config_path"], controls["upload"]

    def refresh(_change=None):
        text = model_source(upload.value, path.value, str(model.label))
        overridden = "overrides" in text
        label.value = f"<i>{'⚠ ' if overridden else ''}{html.escape(text, quote=False)}</i>"
        clear.layout.display = None if overridden else "none"

    def on_clear(_button):
        upload.value = ()
        path.value = ""

    for control in (model, path, upload):
        control.observe(refresh, names="value")
    clear.on_click(on_clear)
    refresh()
    return label, clear


def _with_upload(compute):
    def run(upload=(), config_path="", **kwargs):
        if upload:  # parsed in memory on every recompute: nothing written, nothing to clean up
            kwargs["model"], config_path = config_upload(upload), ""
        return compute(config_path=config_path, **kwargs)

    run.__name__ = compute.__name__
    return run


def fit_calculator() -> Calculator:
    """The "will it fit?" calculator: model (a preset, a local config.json
    path or an uploaded one), optimizer, precision, attention, LoRA / QLoRA,
    batch, sequence length, checkpointing, GPU → stacked bars against the
    GPU's memory, a verdict, the largest batch and the longest context that
    fit. Lesson 02, section 8."""
    style = {"description_width": "110px"}
    layout = w.Layout(width="460px")
    controls = _model_controls(style, layout, "llama-3-8b")
    controls.update({
        "optimizer": w.Dropdown(options=list(train.OPTIMIZER_NAMES), value="adamw", description="optimizer", style=style, layout=layout),
        "precision": w.Dropdown(
            options=[(label, key) for key, label in fit.PRECISION_LABELS.items()], value="mixed", description="precision", style=style, layout=layout
        ),
        "attention": w.Dropdown(options=[(label, key) for key, label in fit.ATTENTION_LABELS.items()], value="sdpa",
                                description="attention", style=style, layout=layout),
        "lora": w.Dropdown(options=[(label, key) for key, label in fit.LORA_LABELS.items()], value="none",
                           description="fine-tuning", style=style, layout=layout),
        "lora_rank": w.SelectionSlider(options=[4, 8, 16, 32, 64, 128], value=16, description="LoRA rank", style=style, layout=layout),
        "batch": w.SelectionSlider(options=[2**k for k in range(11)], value=1, description="batch", style=style, layout=layout),
        "seq_len": w.SelectionSlider(options=[2**k for k in range(7, 18)], value=2048, description="sequence length", style=style, layout=layout),
        "checkpointing": w.Checkbox(value=False, description="activation checkpointing", style=style, layout=layout),
        "accelerator": w.Dropdown(options=list(hardware.ACCELERATORS), value="H100 SXM", description="accelerator", style=style, layout=layout),
    })

    def toggle(_change=None):
        controls["lora_rank"].disabled = controls["lora"].value == "none"

    controls["lora"].observe(toggle, names="value")
    toggle()
    return Calculator(controls, _with_upload(fit.will_it_fit), render_fit, chart=fit_result_chart, title="Will it fit?",
                      extras=_model_source_widgets(controls))


# ------------------------------------------------------------ dynamic batching (lessons 03, 06)

_SIM_LABELS = {
    "p50": "p50 latency",
    "p95": "p95 latency",
    "p99": "p99 latency",
    "throughput": "throughput",
    "mean_batch": "mean batch size",
    "utilization": "utilization",
}


@v.checked
def render_batching(result: _SimResult) -> str:
    """A :class:`course_lib.simulate.SimResult` as an HTML table of
    :func:`course_lib.ui.text.format_batching`'s texts. Used by :func:`course_lib.ui.calculators.batching_calculator`;
    not tied to one lesson."""
    return _label_table(_SIM_LABELS, text.format_batching(result))


@v.checked
def batching_chart(result: _SimResult):
    """:func:`course_lib.ui.charts.latency_chart` of a simulation's latencies
    with its p50/p95/p99. Lesson 03, section 4."""
    return charts.latency_chart(result.latencies, {"p50": result.p50, "p95": result.p95, "p99": result.p99})


@v.checked
def batching_calculator(
    overhead: float,
    per_sample: float,
    *,
    rate: v.Positive = 200.0,
    max_batch: v.IntRange(1, 64) = 8,
    timeout_ms: v.Range(0.0, 100.0) = 5.0,
    n_requests: v.Size(v.MAX_REQUESTS) = 2000,
    seed: v.Seed = 0,
    max_replicas: v.PositiveInt | None = None,
    chart: v.Bool = False,
) -> Calculator:
    """The dynamic-batching widget: sliders for arrival rate (requests/s),
    maximum batch and timeout (ms) → p50/p95/p99 latency, throughput, mean
    batch size, utilization, for a cost model ``overhead + per_sample · b``
    (seconds). With ``max_replicas`` it adds a replica count and a balancer
    choice (as :mod:`course_lib.serving` deploys replicas). Lesson 03, section 4.
    """
    overhead, per_sample = simulate.check_cost(overhead, per_sample)
    capacity = simulate.max_throughput(64, overhead, per_sample) * (max_replicas or 1)
    top = float(f"{capacity * 1.5:.2g}")
    controls = {
        "rate": w.FloatLogSlider(
            value=min(rate, top), base=10, min=np.log10(top) - 3, max=np.log10(top),
            step=0.05, description="rate (req/s)", continuous_update=False,
        ),
        "max_batch": w.IntSlider(value=max_batch, min=1, max=64, description="max batch", continuous_update=False),
        "timeout_ms": w.FloatSlider(value=timeout_ms, min=0.0,
                                    max=100.0, step=0.5, description="timeout (ms)", continuous_update=False),
    }
    if max_replicas is not None:
        controls["n_replicas"] = w.IntSlider(value=1, min=1, max=max_replicas,
                                             description="replicas", continuous_update=False)
        controls["balancer"] = w.Dropdown(options=list(simulate.BALANCERS), value="round_robin", description="balancer")

    def compute(rate, max_batch, timeout_ms, n_replicas=1, balancer="round_robin"):
        return simulate.simulate_batching(rate, max_batch, timeout_ms / 1e3, overhead, per_sample,
                                          n_requests=n_requests, seed=seed, n_replicas=n_replicas, balancer=balancer)

    return Calculator(controls, compute, render_batching, chart=batching_chart if chart else None,
                      title="Dynamic batching simulator")


# ------------------------------------------------------------ format explorer (lesson 04)


@v.checked
def render_format(f: v.Instance(precision.FloatFormat, "a FloatFormat from precision.float_format")) -> str:
    """The explorer's result as HTML; each number is a result span holding
    :func:`course_lib.ui.text.format_number`'s text. Used by :func:`course_lib.ui.calculators.format_explorer`; not
    tied to one lesson."""
    known = precision.known_layouts().get((f.exponent_bits, f.mantissa_bits))
    same = f" (the layout of {known})" if known else ""
    if known and precision.get_format(known).max != f.max:  # fp8 E4M3: no inf, so it reaches 448
        same = (f" (the layout of {known}, whose torch dtype keeps no code for inf and so reaches "
                f"{text.format_number(precision.get_format(known).max)})")

    def out(key: str, x: float) -> str:
        return result_span(key, text.format_number(x))

    return (
        f"<b>{f.bits} bits</b>: 1 sign, {f.exponent_bits} exponent, {f.mantissa_bits} mantissa{same}<br>"
        f"largest: {out('max', f.max)} · smallest normal: {out('smallest_normal', f.smallest_normal)} · "
        f"smallest subnormal: {out('smallest_subnormal', f.smallest_subnormal)}<br>"
        f"epsilon (gap after 1): {out('eps', f.eps)} · about {out('digits', (f.mantissa_bits + 1) * math.log10(2))} "
        f"significant decimal digits ((mantissa + 1) · log10 2)"
    )


@v.checked
def format_explorer(exponent_bits: v.IntRange(2, 8) = 5, mantissa_bits: v.IntRange(1, 23) = 10) -> Calculator:
    """Sliders for exponent bits (2–8) and mantissa bits (1–23) → range,
    smallest normal and epsilon from :func:`course_lib.precision.float_format`. Lesson 04, section 1."""
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
    "token_prices": "… per token, from FLOPs",
    "daily_cost": "inference per day",
    "yearly_cost": "inference per year",
    "break_even_day": "inference spend = training spend on",
    "split": "lifetime split",
    "training_energy": "training energy",
    "wh_per_request": "energy per request",
    "inference_energy": "inference energy, lifetime",
    "co2": "CO2e",
}


@v.checked
def render_scenario(s: v.Instance(cost.CostScenario, "a CostScenario from cost_scenario()")) -> str:
    """A :class:`course_lib.cost.CostScenario` as an HTML table of
    :func:`course_lib.ui.text.format_scenario`'s texts. Used by :func:`course_lib.ui.calculators.cost_calculator`; not
    tied to one lesson."""
    return _label_table(_COST_LABELS, text.format_scenario(s))


def scenario_chart(s: cost.CostScenario):
    """:func:`course_lib.ui.charts.cumulative_cost_chart` of a scenario. Used by
    :func:`course_lib.ui.calculators.cost_calculator`; not tied to one lesson."""
    return charts.cumulative_cost_chart(cost.cumulative_cost(s), s.break_even_day)


@v.checked
def cost_inputs(values: v.Mapping_(*text.COST_PRESETS["Seed page example"])) -> dict:
    """Widget values (billions, millions, 0 = "from FLOPs") → keyword
    arguments of :func:`course_lib.cost.cost_scenario` (the keys of
    :data:`course_lib.ui.text.COST_PRESETS`). Used by :func:`course_lib.ui.calculators.cost_calculator`; not tied to one
    lesson."""
    fixed_train = v.number("fixed_training_musd", values["fixed_training_musd"], minimum=0.0)
    fixed_request = v.number("fixed_cost_per_request", values["fixed_cost_per_request"], minimum=0.0)
    return dict(
        n_params=v.positive("model_b", values["model_b"]) * 1e9,
        train_tokens=v.positive("train_tokens_b", values["train_tokens_b"]) * 1e9,
        accelerator=values["accelerator"],
        train_utilization=values["train_utilization"],
        serve_utilization=values["serve_utilization"],
        price_per_hour=values["price_per_hour"],
        requests_per_day=v.positive("requests_m", values["requests_m"]) * 1e6,
        prompt_tokens=values["prompt_tokens"],
        output_tokens=values["output_tokens"],
        years=values["years"],
        fixed_training_cost=fixed_train * 1e6 if fixed_train else None,
        fixed_cost_per_request=fixed_request if fixed_request else None,
        power_factor=values["power_factor"],
        grid_kg_per_kwh=values["grid_kg_per_kwh"],
    )


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
                                           description="training utilization (MFU)", **kw),
        "serve_utilization": w.FloatSlider(value=p["serve_utilization"], min=0.01, max=0.8, step=0.01,
                                           description="serving utilization", **kw),
        "price_per_hour": w.BoundedFloatText(value=p["price_per_hour"], min=0.01, max=100.0, step=0.1,
                                             description="$ per accelerator-hour", **text),
        "requests_m": w.FloatLogSlider(value=p["requests_m"], base=10, min=-2, max=4, step=0.01,
                                       description="requests per day (M)", **kw),
        "prompt_tokens": w.BoundedIntText(value=p["prompt_tokens"], min=0, max=1_000_000,
                                          description="prompt tokens per request", **text),
        "output_tokens": w.BoundedIntText(value=p["output_tokens"], min=1, max=1_000_000,
                                          description="output tokens per request", **text),
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


@v.checked
def cost_calculator(preset: v.Choice[text.COST_PRESETS] = "Seed page example", *, chart: v.Bool = True) -> Calculator:
    """A preset menu, then a model (a preset, a config.json path or an
    upload, priced by the parameters a token uses: an MoE by its active
    ones; or the size slider), model size, training tokens, accelerator,
    utilizations, price, traffic, prompt and output tokens per request
    (priced separately, :func:`course_lib.cost.token_prices`), deployment
    years, optional fixed prices, power and grid → training cost, daily and
    yearly inference cost, break-even day, lifetime split, energy and CO2,
    and (``chart=True``) a chart of cumulative cost (:func:`scenario_chart`).
    ``calc.preset`` is the preset menu; ``calc.power_case`` and
    ``calc.grid_case`` set the power factor and the grid intensity to a
    cited case (:data:`course_lib.energy.POWER_FACTORS`,
    :data:`course_lib.energy.GRID_CASES`). Lesson 05, section 5.
    """

    def compute(upload=(), config_path="", model="", **values):
        inputs = cost_inputs(values)
        source = (config_upload(upload) if upload else config_path) or model
        if source:  # a preset, a path or an upload: FLOPs from the parameters a token uses (an MoE's active ones)
            inputs["n_params"] = cost.active_params(source)
        return cost.cost_scenario(**inputs)

    controls = _cost_controls(text.COST_PRESETS[preset])
    style, layout = {"description_width": "190px"}, w.Layout(width="520px")
    model_controls = _model_controls(style, layout, "llama-3-8b")
    model_controls["model"].options = [("the size slider", "")] + list(model_controls["model"].options)
    model_controls["model"].value = ""
    controls = {**model_controls, **controls}
    calc = Calculator(controls, compute, render_scenario,
                      chart=scenario_chart if chart else None, title="Training once, inference forever")
    menu = w.Dropdown(options=list(text.COST_PRESETS), value=preset, description="preset",
                      style={"description_width": "190px"}, layout=w.Layout(width="520px"))

    def apply(change) -> None:
        values = text.COST_PRESETS[change["new"]]
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
    calc.power_case = _case_menu("power case", energy.POWER_FACTORS, calc.controls["power_factor"])
    calc.grid_case = _case_menu("grid case", energy.GRID_CASES, calc.controls["grid_kg_per_kwh"])
    calc.widget = w.VBox([menu, calc.widget, calc.power_case, calc.grid_case])
    return calc


def _case_menu(description: str, cases: dict, slider) -> w.Dropdown:
    """A menu of cited cases that sets ``slider`` to the chosen case's value (the slider stays free)."""
    menu = w.Dropdown(options=[("your own (the slider)", None)] + [(k, val) for k, val in cases.items()], value=None,
                      description=description, style={"description_width": "190px"}, layout=w.Layout(width="95%"))

    def pick(change) -> None:
        if change["new"] is not None:
            slider.value = change["new"]

    menu.observe(pick, names="value")
    return menu


# ------------------------------------------------------------ ZeRO (lesson 06)


@v.checked
def render_zero(result: _ZeroResult) -> str:
    """:func:`course_lib.zero_fit.zero_fit`'s result as HTML. Used by
    :func:`course_lib.ui.calculators.zero_calculator`; not tied to one lesson."""
    g = result.per_gpu
    out = result_span
    names = zero_fit.STAGE_NAMES
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{out(key, text.format_bytes(g[key]))}</td></tr>"
        for name, key in (("weights", "weights"), ("gradients", "gradients"), ("optimizer state", "optimizer_state"),
                          ("gathered layer (stage 3)", "gathered_layer"), ("activations (own micro-batch)", "activations"),
                          (fit.OVERHEAD_LABEL, "overhead"))
    )
    colour = _GOOD if result.verdict.fits else _BAD
    stages = "".join(
        f"<tr><td>{html.escape(names[st])}</td><td>{out(f'stage{st}', text.format_bytes(total))}</td></tr>"
        for st, total in result.stages.items()
    )
    need = result.min_gpus
    need_text = f"{need} GPUs" if need else "more than 4096 GPUs"
    return (
        f"<p>{out('model', result.model)} on "
        f"{result.n_gpus} × {html.escape(result.accelerator)}, ZeRO {html.escape(names[result.stage])}; "
        f"bytes per parameter: {html.escape(model_state.ZERO_CONVENTIONS[result.convention])}</p>"
        f"<table><tr><th>per GPU</th><th></th></tr>{rows}"
        f"<tr><td><b>total</b></td><td><b>{out('total', text.format_bytes(g['total']))}</b></td></tr></table>"
        f"<p style='color:{colour}'>{out('verdict', text.verdict_text(result.verdict))}; "
        f"this stage fits from {out('min_gpus', need_text)} (powers of two)</p>"
        f"<p>Largest micro-batch per GPU that fits: {out('largest_batch', _maybe(result.largest_batch, 'sequences'))}; "
        f"longest context at this micro-batch: {out('longest_context', _maybe(result.longest_context, 'tokens'))}</p>"
        f"<table><tr><th>same GPUs, each stage</th><th>per GPU</th></tr>{stages}</table>"
    )


@v.checked
def stage_chart(result: _ZeroResult):
    """:func:`course_lib.ui.charts.zero_stages` for a :func:`course_lib.zero_fit.zero_fit`
    result. Lesson 06, section 5."""
    name = result.model.split(" (")[0]
    return charts.zero_stages(zero_fit.stage_table(result), result.verdict.memory_bytes / fit.GB, result.accelerator,
                              title=f"{name} on {result.n_gpus} GPUs: memory per GPU by ZeRO stage")


@v.checked
def zero_calculator(chart: v.Bool = True) -> Calculator:
    """Model (preset, config.json path or upload), number of GPUs, ZeRO
    stage, byte convention, optimizer, attention, LoRA / QLoRA, micro-batch
    per GPU, sequence length, checkpointing, GPU → per-GPU memory, verdict,
    the fewest GPUs that fit, the largest micro-batch and longest context,
    and (with ``chart``) a stacked bar per stage against the GPU's memory.
    Lesson 06, section 5."""
    style = {"description_width": "120px"}
    layout = w.Layout(width="460px")
    names = zero_fit.STAGE_NAMES
    controls = _model_controls(style, layout, "llama-2-7b")
    controls.update({
        "n_gpus": w.SelectionSlider(options=[2**k for k in range(11)], value=8, description="GPUs", style=style, layout=layout),
        "stage": w.Dropdown(options=[(names[s], s) for s in zero_fit.STAGES], value=3, description="ZeRO stage", style=style, layout=layout),
        "convention": w.Dropdown(options=[(label, key) for key, label in model_state.ZERO_CONVENTIONS.items()], value="zero",
                                 description="bytes/param", style=style, layout=layout),
        "optimizer": w.Dropdown(options=list(train.OPTIMIZER_NAMES), value="adamw", description="optimizer", style=style, layout=layout),
        "attention": w.Dropdown(options=[(label, key) for key, label in fit.ATTENTION_LABELS.items()], value="sdpa",
                                description="attention", style=style, layout=layout),
        "lora": w.Dropdown(options=[(label, key) for key, label in fit.LORA_LABELS.items()], value="none",
                           description="fine-tuning", style=style, layout=layout),
        "batch_per_gpu": w.SelectionSlider(options=[2**k for k in range(7)], value=1, description="batch per GPU", style=style, layout=layout),
        "seq_len": w.SelectionSlider(options=[2**k for k in range(9, 18)], value=2048, description="sequence length", style=style, layout=layout),
        "checkpointing": w.Checkbox(value=True, description="activation checkpointing", style=style, layout=layout),
        "accelerator": w.Dropdown(options=list(hardware.ACCELERATORS), value="H100 SXM", description="accelerator", style=style, layout=layout),
    })
    return Calculator(controls, _with_upload(zero_fit.zero_fit), render_zero, chart=stage_chart if chart else None,
                      title="Will it fit on N GPUs? (ZeRO)", extras=_model_source_widgets(controls))


# ------------------------------------------------------------ generation (lesson 07)


def _seconds(x: float) -> str:
    if x >= 1:
        return f"{x:.2f} s"
    if x >= 1e-3:
        return f"{x * 1e3:.1f} ms"
    return f"{x * 1e6:.0f} µs"


def _gb(n: float) -> str:
    return f"{n / generation.GB:.2f} GB"


@v.checked
def render_estimate(e: _Estimate) -> str:
    """A :class:`course_lib.generation.GenerationEstimate` as HTML, each key
    number in a :func:`result_span`: the roofline bound beside the expected
    figure. Used by :func:`course_lib.ui.calculators.generation_calculator`; not tied to one lesson."""
    colour = _GOOD if e.fits else _BAD
    rows = [
        (f"time to first token (prefill, {e.prefill_bound}-bound)", "ttft", _seconds(e.ttft), _seconds(e.ttft_expected)),
        (f"time per output token (decode, {e.decode_bound}-bound)", "tpot", _seconds(e.tpot), _seconds(e.tpot_expected)),
        ("request latency: TTFT + (n − 1) × TPOT", "latency", _seconds(e.latency), _seconds(e.latency_expected)),
        ("output tokens/s over the request (prefill included)", "tokens_per_s", f"{e.output_tokens_per_s:,.0f}",
         f"{e.output_tokens_per_s_expected:,.0f}"),
    ]
    body = "".join(f"<tr><td>{html.escape(name)}</td><td>{result_span(key, bound)}</td>"
                   f"<td>{result_span(key + '_expected', expected)}</td></tr>" for name, key, bound, expected in rows)
    sizes = [("weights per GPU", "weights", _gb(e.weight_bytes)),
             ("KV cache per GPU at the last token (whole batch)", "kv", _gb(e.kv_bytes)),
             ("all-reduce per decode step (not overlapped)", "allreduce", _seconds(e.allreduce_per_token)),
             ("largest batch that fits", "max_batch", f"{e.max_batch:,}"),
             ("longest context that fits at this batch", "max_context", f"{e.max_context:,} tokens")]
    body += "".join(f"<tr><td>{html.escape(name)}</td><td colspan='2'>{result_span(key, text)}</td></tr>"
                    for name, key, text in sizes)
    return (
        f"<p>{html.escape(e.model)} on {e.n_gpus} × {html.escape(e.accelerator)} (tensor parallel), weights "
        f"{html.escape(e.weight_format)}, KV {html.escape(e.kv_format)}, compute {html.escape(e.compute_format)}, "
        f"batch {e.batch}, {e.prompt_len} prompt + {e.output_len} output tokens</p>"
        f"<table><tr><th></th><th>bound</th><th>expected</th></tr>{body}</table>"
        f"<p style='color:{colour}'>Memory per GPU: {result_span('fits', 'fits' if e.fits else 'does not fit')} "
        f"({_gb(e.weight_bytes + e.kv_bytes)} of {_gb(e.memory_bytes)})</p>"
    )


@v.checked
def estimate_chart(e: _Estimate):
    """:func:`course_lib.ui.charts.generation_batch_chart` over
    :func:`course_lib.generation.batch_sweep` (powers of 2 up to the largest
    batch that fits) with the chosen batch marked. Used by :func:`course_lib.ui.calculators.generation_calculator`;
    not tied to one lesson."""
    batches = sorted({2**k for k in range(int(math.log2(max(e.max_batch, 1))) + 1)} | {e.batch})
    table = generation.batch_sweep(e.architecture, accelerator=e.accelerator, n_gpus=e.n_gpus,
                                   weight_format=e.weight_format, kv_format=e.kv_format, prompt_len=e.prompt_len,
                                   output_len=e.output_len, batches=batches)
    return charts.generation_batch_chart(
        table, e.batch, title=f"{e.model} on {e.n_gpus} × {e.accelerator} ({e.weight_format}): batching up to the memory limit")


def _generation(config_path="", model="llama-3-8b", accelerator="H100 SXM", n_gpus=1, weight_format="bf16", kv_format="auto",
                batch=1, prompt_len=1024, output_len=256):
    return generation.estimate(config_path or model, accelerator=accelerator, n_gpus=n_gpus, weight_format=weight_format,
                               kv_format=None if kv_format == "auto" else kv_format, batch=batch,
                               prompt_len=prompt_len, output_len=output_len)


@v.checked
def generation_calculator(model: v.Choice[arch.PRESETS] = "llama-3-8b", accelerator: v.Choice[hardware.ACCELERATORS] = "H100 SXM",
                          *, chart: v.Bool = True) -> Calculator:
    """Model (a preset of :data:`course_lib.arch.PRESETS`, a local config.json
    path or an uploaded one; an MoE is priced by its active parameters per
    token and held in memory whole), accelerator and how many of them (tensor
    parallel), weight and KV formats, batch, prompt and output length → time
    to first token, time per output token, request latency and tokens/s, as
    bounds and expected figures, the memory per GPU, the largest batch and
    the longest context that fit (:func:`course_lib.generation.estimate`),
    and (with ``chart``) tokens/s and TPOT against the batch. Lesson 07,
    sections 4 and 6 (the calculator)."""
    kw = dict(style={"description_width": "120px"}, layout=w.Layout(width="440px"))
    sl = dict(kw, continuous_update=False)
    controls = _model_controls(kw["style"], kw["layout"], model)
    controls.update({
        "accelerator": w.Dropdown(options=list(hardware.ACCELERATORS), value=accelerator, description="accelerator", **kw),
        "n_gpus": w.SelectionSlider(options=[1, 2, 4, 8, 16], value=1, description="GPUs (TP)", **sl),
        "weight_format": w.Dropdown(options=list(generation.WEIGHT_FORMATS), value="bf16", description="weights", **kw),
        "kv_format": w.Dropdown(options=[("as the weights", "auto")] + [(f, f) for f in generation.KV_FORMATS],
                                value="auto", description="KV cache", **kw),
        "batch": w.SelectionSlider(options=[2**k for k in range(11)], value=1, description="batch", **sl),
        "prompt_len": w.SelectionSlider(options=[2**k for k in range(4, 18)], value=1024, description="prompt tokens", **sl),
        "output_len": w.SelectionSlider(options=[2**k for k in range(0, 14)], value=256, description="output tokens", **sl),
    })
    return Calculator(controls, _with_upload(_generation), render_estimate, chart=estimate_chart if chart else None,
                      title="Generation: prefill, decode, batch, GPUs")

# ------------------------------------------------------------ serving trace explorer (lesson 08)

_ENGINE_LABELS = (("steps", "forward calls"), ("tps", "tokens/s"), ("ttft", "TTFT p50 / p95"),
                  ("tpot", "time per output token p50"), ("kv", "KV used / reserved"))


def render_engine_explorer(result: dict) -> str:
    """:func:`course_lib.engine.compare_policies`'s result as an HTML table of
    :func:`course_lib.ui.text.format_comparison`'s texts, static beside
    continuous. Used by :func:`course_lib.ui.calculators.engine_explorer`; not tied to one lesson."""
    texts = text.format_comparison(result)  # checks result
    rows = "".join(
        f"<tr><td>{label}</td>"
        + "".join(f"<td>{result_span(f'{p}_{key}', texts[f'{p}_{key}'])}</td>" for p in ("static", "continuous"))
        + "</tr>"
        for key, label in _ENGINE_LABELS
    )
    return f"<table><tr><th></th><th>static</th><th>continuous</th></tr>{rows}</table>"


@v.checked
def engine_explorer(overhead: v.NonNegative, per_token: v.NonNegative, *, rate: v.Positive = 100.0,
                    max_batch: v.IntRange(1, 32) = 8, max_output: v.IntRange(2, 48) = 32, kv_block: v.IntRange(0, 64) = 0,
                    n_requests: int = 40, seed: int = 0) -> Calculator:
    """The trace/policy explorer: arrival rate, maximum batch, longest output
    and KV block size (0 = reserve the maximum length) → forward calls,
    tokens/s, TTFT, time per output token and KV utilization, static beside
    continuous, simulated with a step cost of ``overhead + per_token ×
    tokens`` seconds (fitted in the lesson). Lesson 08, section 7."""
    wide = {"description_width": "initial"}  # the whole label, never cut ("longest o…")
    controls = {
        "rate": w.FloatLogSlider(value=rate, base=10, min=0, max=4, step=0.1,
                                 description="rate (req/s)", continuous_update=False, style=wide),
        "max_batch": w.IntSlider(value=max_batch, min=1, max=32,
                                 description="max batch", continuous_update=False, style=wide),
        "max_output": w.IntSlider(value=max_output, min=2, max=48,
                                  description="longest output", continuous_update=False, style=wide),
        "kv_block": w.IntSlider(value=kv_block, min=0, max=64, step=4,
                                description="KV block (0 = reserve)", continuous_update=False, style=wide),
    }

    def compute(rate, max_batch, max_output, kv_block):
        return engine.compare_policies(rate, max_batch, max_output, kv_block, overhead=overhead, per_token=per_token,
                                       n_requests=n_requests, seed=seed)

    return Calculator(controls, compute, render_engine_explorer, title="Serving trace explorer")

# ------------------------------------------------------------ the capstone: a model's whole life (lesson 09)


@v.checked
def lifetime_texts(e: _Lifetime) -> dict[str, str]:
    """The texts the capstone calculator shows, by key (the browser test reads
    them back). Lesson 09, section 4."""
    h = e.hardware
    return {
        "training_cost": text.money(e.training_cost),
        "training_hours": f"{e.training_hours:,.0f} GPU-hours at {h.train_utilization:.0%} utilization",
        "training_energy": text.kwh(e.training_energy_kwh),
        "inference_cost": text.money(e.inference_cost),
        "inference_per_day": text.money(e.inference_cost_per_day),
        "inference_energy": text.kwh(e.inference_energy_kwh),
        "split": f"{1 - e.inference_share:.1%} training : {e.inference_share:.1%} inference",
        "energy_split": f"{1 - e.inference_energy_share:.1%} training : {e.inference_energy_share:.1%} inference",
        "break_even": f"day {e.break_even_days:,.1f}",
        "energy_break_even": f"day {e.energy_break_even_days:,.1f}",
        "cost_per_answer": text.money(e.cost_per_request),
        "wh_per_answer": f"{e.wh_per_request:.3g} Wh",
        "prompt_price": f"{text.money(e.prompt_price_per_million)} per million",
        "output_price": f"{text.money(e.output_price_per_million)} per million",
        "batch": f"{h.batch:,} sequences" + (" (the most whose KV caches fit)" if h.batch_limited_by_memory else ""),
        "max_context": f"{h.max_context:,} tokens",
        "gpus_serving": f"{e.gpus_serving:,.1f} GPUs around the clock",
        "train_bound": "compute (6·N·D FLOPs at the utilization above)",
        "prefill_bound": h.prefill_bound,
        "decode_bound": h.decode_bound,
    }


_LIFETIME_LABELS = {
    "training_cost": "training (once)", "training_hours": "training time", "training_energy": "training energy",
    "inference_cost": "inference over the deployment", "inference_per_day": "inference per day",
    "inference_energy": "inference energy over the deployment", "split": "lifetime dollars",
    "energy_split": "lifetime energy", "break_even": "inference spend passes training on",
    "energy_break_even": "inference energy passes training on", "cost_per_answer": "cost per answer",
    "wh_per_answer": "energy per answer", "prompt_price": "prompt tokens", "output_price": "output tokens (reasoning included)",
    "batch": "batch decoded together", "max_context": "longest context at that batch",
    "gpus_serving": "GPUs the traffic keeps busy", "train_bound": "a training step is bound by",
    "prefill_bound": "the prefill (prompt) is bound by", "decode_bound": "a decode step (each output token) is bound by",
}


def render_lifetime(e: cost.LifetimeEstimate) -> str:
    """A :class:`course_lib.cost.LifetimeEstimate` as HTML, each number in a
    :func:`result_span`. Used by :func:`course_lib.ui.calculators.lifetime_calculator`; not tied to one lesson."""
    texts = lifetime_texts(e)
    h = e.hardware
    head = (f"<p>{html.escape(e.model)} ({e.n_params:,} parameters, {e.n_active_params:,} active per token) on "
            f"{h.n_gpus} × {html.escape(h.accelerator)} per replica, weights {h.weight_format}, KV {h.kv_format}; "
            f"{e.prompt_tokens:,} prompt + {e.reasoning_tokens:,} reasoning + {e.output_tokens:,} answer tokens</p>")
    return head + _label_table(_LIFETIME_LABELS, texts)


@v.checked
def lifetime_table(e: _Lifetime):
    """The rows :func:`course_lib.ui.charts.lifetime_split_chart` draws:
    training and inference shares of lifetime dollars and energy. Used by
    :func:`course_lib.ui.calculators.lifetime_chart`; not tied to one lesson."""
    rows = [("dollars", "training", 1 - e.inference_share, text.money(e.training_cost)),
            ("dollars", "inference", e.inference_share, text.money(e.inference_cost)),
            ("energy", "training", 1 - e.inference_energy_share, text.kwh(e.training_energy_kwh)),
            ("energy", "inference", e.inference_energy_share, text.kwh(e.inference_energy_kwh))]
    return pd.DataFrame(rows, columns=["measure", "phase", "share", "amount"])


def lifetime_chart(e: cost.LifetimeEstimate):
    """The capstone's one chart: the lifetime split in dollars and energy. Used by
    :func:`course_lib.ui.calculators.lifetime_calculator`; not tied to one lesson."""
    return charts.lifetime_split_chart(lifetime_table(e))


def _lifetime(config_path="", model="llama-3-8b", train_tokens_b=15000.0, accelerator="H100 SXM", n_gpus=1,
              weight_format="bf16", kv_format="auto", price_per_hour=2.0, requests_m=10.0, prompt_tokens=500,
              reasoning_tokens=0, output_tokens=500, years=1.0):
    return cost.lifetime_estimate(
        config_path or model, train_tokens=v.positive("train_tokens_b", train_tokens_b) * 1e9, accelerator=accelerator,
        n_gpus=n_gpus, weight_format=weight_format, kv_format=None if kv_format == "auto" else kv_format,
        price_per_hour=price_per_hour, requests_per_day=v.positive("requests_m", requests_m) * 1e6,
        prompt_tokens=prompt_tokens, reasoning_tokens=reasoning_tokens, output_tokens=output_tokens, years=years)


@v.checked
def lifetime_calculator(model: v.Choice[arch.PRESETS] = "llama-3-8b", accelerator: v.Choice[hardware.ACCELERATORS] = "H100 SXM",
                        *, chart: v.Bool = True) -> Calculator:
    """The capstone: a model (a preset, a local config.json path or an
    uploaded one), a training budget (tokens), a deployment (accelerator, how many
    per replica, weight and KV formats, price per GPU-hour) and a traffic
    profile (requests per day, prompt, reasoning and answer tokens, years)
    → training against lifetime inference in dollars and energy, the
    break-even day, cost and energy per answer, prompt and output prices,
    the batch and context that fit and what bounds each phase
    (:func:`course_lib.cost.lifetime_estimate`), with one chart of the
    lifetime split. A deployment that cannot hold the model says which
    group would. Lesson 09, section 4."""
    kw = dict(style={"description_width": "150px"}, layout=w.Layout(width="470px"))
    sl = dict(kw, continuous_update=False)
    controls = _model_controls(kw["style"], kw["layout"], model)
    controls.update({
        "train_tokens_b": w.BoundedFloatText(value=15000.0, min=1.0, max=cost.MAX_TRAIN_TOKENS / 1e9, step=100.0,
                                             description="training tokens (B)", **kw),
        "accelerator": w.Dropdown(options=list(hardware.ACCELERATORS), value=accelerator, description="accelerator", **kw),
        "n_gpus": w.SelectionSlider(options=[1, 2, 4, 8, 16, 32, 64], value=1, description="GPUs per replica", **sl),
        "weight_format": w.Dropdown(options=list(generation.WEIGHT_FORMATS), value="bf16", description="weights", **kw),
        "kv_format": w.Dropdown(options=[("as the weights", "auto")] + [(f, f) for f in generation.KV_FORMATS],
                                value="auto", description="KV cache", **kw),
        "price_per_hour": w.BoundedFloatText(value=2.0, min=0.01, max=1000.0, step=0.1, description="$ per GPU-hour", **kw),
        "requests_m": w.BoundedFloatText(value=10.0, min=0.001, max=1e5, step=1.0, description="requests/day (M)", **kw),
        "prompt_tokens": w.SelectionSlider(options=[2**k for k in range(4, 18)], value=512, description="prompt tokens", **sl),
        "reasoning_tokens": w.SelectionSlider(options=[0] + [2**k for k in range(6, 16)], value=0,
                                              description="reasoning tokens", **sl),
        "output_tokens": w.SelectionSlider(options=[2**k for k in range(0, 14)], value=512, description="answer tokens", **sl),
        "years": w.BoundedFloatText(value=1.0, min=0.1, max=10.0, step=0.5, description="years deployed", **kw),
    })
    return Calculator(controls, _with_upload(_lifetime), render_lifetime, chart=lifetime_chart if chart else None,
                      title="Your model, end to end")
