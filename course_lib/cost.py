"""The cost model: training once, inference every day (lesson 05).

All money is in US dollars, all time on one accelerator unless a function
says otherwise. Pure functions, each a line or two of arithmetic:

- the contract: :func:`daily_inference_cost`, :func:`lifetime_split`,
  :func:`break_even_days`;
- training: FLOPs 6·N·D (:func:`course_lib.predict.training_flops`) ÷
  (peak FLOP/s × utilization) → accelerator-hours → dollars;
- inference: 2·N FLOPs per token → seconds, dollars and tokens/s per request;
- inference-aware sizing: lifetime compute 6·N·D_train + 2·N·D_inference at
  equal quality, with the Chinchilla loss fit (Hoffmann et al. 2022);
  Sardana et al. 2023 (*Beyond Chinchilla-Optimal*) showed that heavy
  expected inference favours a smaller model trained longer;
- :func:`cost_scenario`: all of it for one scenario, which the lesson's
  calculator (:func:`course_lib.ui.calculators.cost_calculator`) shows.

Utilization (model FLOPs utilization, MFU) is the fraction of the
accelerator's datasheet peak that the work actually achieves; it is the
biggest unknown in every estimate here, so it is always an argument.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

import numpy as np

from . import _validate as v
from . import arch, energy, generation, hardware, predict, published

DAYS_PER_YEAR = 365.0

# ----------------------------------------------------------------- contract


@v.checked
def daily_inference_cost(requests_per_day: v.Positive, cost_per_request: v.Positive) -> float:
    """Dollars per day of serving: requests per day × cost per request.

    The seed page's example: 10M requests/day × $0.002 = $20,000/day.
    Lesson 05, sections 1 and 5; lab 05, exercise 1.
    """
    return requests_per_day * cost_per_request


@v.checked
def lifetime_split(training_cost: v.NonNegative, inference_cost_per_year: v.NonNegative,
                   years: v.Positive = 1.0) -> tuple[float, float]:
    """The fractions of lifetime spend on training and on inference, as
    ``(training, inference)``, for a model served ``years`` years.

    Training is paid once, inference every year, so the split depends on the
    deployment lifetime: $2M against $18M/year is 10 % : 90 % after one year
    and 5 % : 95 % after two. A zero training cost (someone else's model) is
    allowed; both zero is not. Lesson 05, sections 1 and 2.
    """
    inference = inference_cost_per_year * years
    total = training_cost + inference
    if total == 0:
        raise ValueError("training_cost and inference_cost_per_year are both 0: there is no spend to split")
    return training_cost / total, inference / total


@v.checked
def break_even_days(training_cost: v.NonNegative, inference_cost_per_day: v.Positive) -> float:
    """The day on which cumulative inference spend equals the training spend:
    training cost ÷ inference cost per day. Works for any quantity spent once
    and then daily (dollars, kWh). Lesson 05, sections 1 and 4; lab 05, exercise 1.
    """
    return training_cost / inference_cost_per_day


# ------------------------------------------------------------------ training


def _peak(accelerator, dtype: str) -> float:
    return _chip(accelerator).peak_flops(dtype)


def _chip(accelerator) -> hardware.Accelerator:
    return hardware.resolve(accelerator)


@v.checked
def accelerator_hours(flops: v.Positive, peak_flops: v.Positive, utilization: v.Fraction) -> float:
    """Accelerator-hours to do ``flops`` at ``utilization`` × ``peak_flops``
    (FLOP/s): flops ÷ (peak × utilization) ÷ 3600. Used by :func:`course_lib.cost.training_hours`; not tied to one
    lesson."""
    return flops / (peak_flops * utilization) / 3600.0


def active_params(model) -> float:
    """Parameters that train on each token: ``model`` as a parameter count
    (int or float), or anything :func:`course_lib.arch.resolve` takes, whose
    :attr:`~course_lib.arch.Architecture.n_active_params` counts a mixture of
    experts by the experts a token runs. Lesson 05, section 3."""
    if isinstance(model, (int, float)) and not isinstance(model, bool):
        return v.positive("model", model)
    return float(arch.resolve(model).n_active_params)


#: Accelerators whose published runs share one utilization fit (same generation, same kind of software stack).
UTILIZATION_GROUPS = {"A100 80GB SXM": "ampere", "A100 40GB SXM": "ampere", "A100 80GB PCIe": "ampere",
                      "H100 SXM": "hopper", "H800 SXM": "hopper", "H200 SXM": "hopper", "H100 PCIe": "hopper"}
#: The groups of :data:`UTILIZATION_GROUPS`, each with its own utilization fit.
GROUP_NAMES = tuple(sorted(set(UTILIZATION_GROUPS.values())))


@v.checked
def run_utilization(run: v.Instance(published.TrainingRun, "a course_lib.published.TrainingRun")) -> float:
    """The model FLOPs utilization a published run reached: 6 · active
    parameters · tokens ÷ (its accelerator-hours × 3600 × the dense bf16
    peak). Lesson 05, section 3."""
    flops = predict.training_flops(active_params(run.model), run.n_tokens)
    return flops / (run.hours * 3600 * hardware.resolve(run.accelerator).peak_flops("bf16"))


@v.checked
def utilization_fit(group: v.Choice[GROUP_NAMES] | None = None) -> tuple[float, float]:
    """``(a, b)`` of utilization = a + b · log10(active parameters), least
    squares over the published runs (:data:`course_lib.published.TRAINING`)
    on accelerators of ``group`` (one of :data:`GROUP_NAMES`), or
    over all runs that have no ``why`` note when ``None``. Lesson 05, section 3."""
    runs = [r for r in published.TRAINING.values() if not r.why
            and (group is None or UTILIZATION_GROUPS.get(r.accelerator) == group)]
    x = np.log10([active_params(r.model) for r in runs])
    y = np.array([run_utilization(r) for r in runs])
    b, a = np.polyfit(x, y, 1)
    return float(a), float(b)


def default_utilization(model, accelerator="H100 SXM") -> float:
    """The utilization :func:`training_hours` assumes when given none: the
    fit of :func:`utilization_fit` for the accelerator's generation (all
    runs for a part with no published runs of its generation), at the
    model's active parameter count, kept within 5–60 %. Published runs
    differ by size (Llama 3.1 on H100s: 8B about 14 %, 405B about 35 %)
    and by generation (LLaMA and Llama 2 on A100s reached about 40 % at
    every size). Lesson 05, section 3."""
    chip = _chip(accelerator)
    a, b = utilization_fit(UTILIZATION_GROUPS.get(chip.name))
    return float(min(0.6, max(0.05, a + b * math.log10(active_params(model)))))


@v.checked
def training_hours(model, n_tokens: v.Positive, *, accelerator="H100 SXM", utilization: v.Fraction | None = None,
                   dtype: v.Choice[hardware.PEAK_DTYPES] = "bf16") -> float:
    """Accelerator-hours to train ``model`` (a parameter count, a preset, a
    config or an Architecture) on ``n_tokens`` tokens: 6 · active
    parameters · D FLOPs (Kaplan et al. 2020; a mixture of experts trains
    the experts each token runs) at ``utilization`` of the accelerator's
    dense ``dtype`` peak (:mod:`course_lib.hardware`). ``utilization=None``
    takes :func:`default_utilization`, fitted to published runs.
    ``accelerator`` is a name from :data:`course_lib.hardware.ACCELERATORS`
    or your own :class:`~course_lib.hardware.Accelerator`. Lesson 05, section 3; lab 05, exercise 5.
    """
    n = active_params(model)
    u = default_utilization(n, accelerator) if utilization is None else utilization
    flops = predict.training_flops(n, n_tokens)
    return accelerator_hours(flops, _peak(accelerator, dtype), u)


@v.checked
def training_cost(model, n_tokens: v.Positive, *, accelerator="H100 SXM", utilization: v.Fraction | None = None,
                  price_per_hour: v.Positive = 2.0, dtype: v.Choice[hardware.PEAK_DTYPES] = "bf16") -> float:
    """Dollars to train: :func:`training_hours` × ``price_per_hour`` (dollars
    per accelerator-hour; the default $2 is an assumption to change, not a
    quoted price). Lesson 05, section 3.
    """
    hours = training_hours(model, n_tokens, accelerator=accelerator, utilization=utilization, dtype=dtype)
    return hours * price_per_hour


# ----------------------------------------------------------------- inference


def _seconds_per_token(model, accelerator, utilization: float, dtype: str) -> float:
    """Accelerator-seconds of one token: 2 · active parameters FLOPs ÷ (peak × utilization)."""
    flops = predict.inference_flops(active_params(model), 1)
    return flops / (_peak(accelerator, dtype) * utilization)


@v.checked
def tokens_per_second(model, *, accelerator="H100 SXM", utilization: v.Fraction = 0.1,
                      dtype: v.Choice[hardware.PEAK_DTYPES] = "bf16") -> float:
    """Tokens per second one accelerator serves: peak × utilization ÷ 2·N
    (2·N FLOPs per token forward, Kaplan et al. 2020), N the active
    parameters of ``model`` (a parameter count, a preset, a config or an
    Architecture, as in :func:`training_hours`: a mixture of experts is
    priced by the experts a token runs). Decoding one token at a time is
    memory-bound, so serving utilization is usually far below training's;
    the default 10 % is Epoch AI's assumption for serving (2025, *How much
    energy does ChatGPT use?*). Not tied to one lesson.
    """
    return 1.0 / _seconds_per_token(model, accelerator, utilization, dtype)


@v.checked
def seconds_per_request(model, tokens_per_request: v.Positive, *, accelerator="H100 SXM",
                        utilization: v.Fraction = 0.1, dtype: v.Choice[hardware.PEAK_DTYPES] = "bf16") -> float:
    """Accelerator-seconds of one request of ``tokens_per_request`` tokens
    (prompt and answer, all at one ``utilization``; :func:`token_prices`
    separates the two): 2·N·tokens ÷ (peak × utilization), N the active
    parameters of ``model`` (as in :func:`tokens_per_second`). Lesson 05, sections 3 and 4."""
    return tokens_per_request * _seconds_per_token(model, accelerator, utilization, dtype)


@v.checked
def cost_per_request(model, tokens_per_request: v.Positive, *, accelerator="H100 SXM", utilization: v.Fraction = 0.1,
                     price_per_hour: v.Positive = 2.0, dtype: v.Choice[hardware.PEAK_DTYPES] = "bf16") -> float:
    """Dollars per request: :func:`seconds_per_request` ÷ 3600 × price per
    accelerator-hour; ``model`` as in :func:`tokens_per_second`. Lesson 05, section 3."""
    seconds = seconds_per_request(model, tokens_per_request, accelerator=accelerator,
                                  utilization=utilization, dtype=dtype)
    return seconds / 3600.0 * price_per_hour


@v.checked
def token_prices(model, *, accelerator="H100 SXM", price_per_hour: v.Positive = 2.0,
                 prompt_utilization: v.Fraction | None = None, output_utilization: v.Fraction = 0.1,
                 dtype: v.Choice[hardware.PEAK_DTYPES] = "bf16") -> tuple[float, float]:
    """Dollars per prompt token and per output token: 2 · active parameters
    FLOPs ÷ (peak × utilization) × price per accelerator-hour ÷ 3600, with
    one utilization per phase. A prompt is processed in one compute-bound
    prefill: ``prompt_utilization=None`` takes the fraction of the roofline
    bound published servers reach in prefill
    (:func:`course_lib.generation.efficiency`); output tokens come one decode
    step at a time, memory-bound: the default 10 % is Epoch AI's serving
    assumption (2025, *How much energy does ChatGPT use?*). ``model`` as in
    :func:`training_hours`. Lesson 05, sections 3 and 5 (:func:`cost_scenario`)."""
    per_second = price_per_hour / 3600.0
    return tuple(seconds * per_second for seconds in _token_seconds(model, accelerator, prompt_utilization,
                                                                    output_utilization, dtype))


def _token_seconds(model, accelerator, prompt_utilization, output_utilization, dtype) -> tuple[float, float]:
    """Accelerator-seconds per prompt token and per output token (see :func:`token_prices`)."""
    u_prompt = generation.efficiency()["prefill"] if prompt_utilization is None else prompt_utilization
    return (_seconds_per_token(model, accelerator, u_prompt, dtype),
            _seconds_per_token(model, accelerator, output_utilization, dtype))


@v.checked
def decode_tokens_per_second_bound(n_params: v.Positive, bytes_per_param: v.Positive, bandwidth: v.Positive,
                                   batch: v.PositiveInt = 1) -> float:
    """Upper bound on tokens/s when decoding ``batch`` sequences at once: each
    step reads every weight once, so a step takes at least
    N · bytes ÷ bandwidth (bytes/s) and yields ``batch`` tokens (KV cache
    reads ignored; Austin et al., *How to Scale Your Model*, 2025). Lesson 05, section 7.
    """
    return batch / (n_params * bytes_per_param / bandwidth)


# ------------------------------------------------------ inference-aware sizing

# Hoffmann et al. 2022 (*Training Compute-Optimal Large Language Models*),
# approach 3: L(N, D) = E + A / N^alpha + B / D^beta, fitted loss in nats/token.
CHINCHILLA = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}


@v.checked
def chinchilla_loss(n_params: v.Positive, n_tokens: v.Positive) -> float:
    """Predicted pre-training loss of ``n_params`` trained on ``n_tokens``:
    E + A/N^α + B/D^β with Hoffmann et al. 2022's fitted constants
    (:data:`CHINCHILLA`). Lesson 05, section 6; lab 05, exercise 4."""
    c = CHINCHILLA
    return c["E"] + c["A"] / n_params ** c["alpha"] + c["B"] / n_tokens ** c["beta"]


@v.checked
def min_params_for_loss(target_loss: v.Positive) -> float:
    """The size below which ``target_loss`` is out of reach however long you
    train: the N where E + A/N^α = target. Lesson 05, section 6."""
    c = CHINCHILLA
    if target_loss <= c["E"]:
        raise ValueError(f"target_loss must be > E = {c['E']} (the irreducible loss), got {target_loss}")
    return (c["A"] / (target_loss - c["E"])) ** (1 / c["alpha"])


@v.checked
def tokens_for_loss(n_params: v.Positive, target_loss: v.Positive) -> float:
    """Training tokens a model of ``n_params`` needs to reach ``target_loss``
    under :func:`chinchilla_loss`: D = (B / (L − E − A/N^α))^(1/β). Raises
    ``ValueError`` when N is too small to ever reach it. Lab 05, exercise 4."""
    c = CHINCHILLA
    room = target_loss - c["E"] - c["A"] / n_params ** c["alpha"]
    if room <= 0:
        raise ValueError(
            f"n_params={n_params:.3g} cannot reach target_loss={target_loss} at any data size; "
            f"n_params must be > {min_params_for_loss(target_loss):.3g}"
        )
    return (c["B"] / room) ** (1 / c["beta"])


def _serving_flops(n_params: float, inference_tokens: float) -> float:
    return predict.inference_flops(n_params, inference_tokens) if inference_tokens else 0.0


@v.checked
def lifetime_flops(n_params: v.Positive, train_tokens: v.Positive, inference_tokens: v.NonNegative) -> float:
    """Compute over a model's life: 6·N·D_train + 2·N·D_inference (Sardana et
    al. 2023). ``inference_tokens`` may be 0 (never served). Lab 05, exercise 4."""
    return predict.training_flops(n_params, train_tokens) + _serving_flops(n_params, inference_tokens)


@dataclass(frozen=True)
class Sizing:
    """One model size at the target quality: its training tokens and FLOPs."""

    n_params: float
    train_tokens: float
    training_flops: float
    inference_flops: float

    @property
    def total_flops(self) -> float:
        """Training plus serving FLOPs. Lesson 05, section 6."""
        return self.training_flops + self.inference_flops


@v.checked
def size_at_quality(n_params: v.Positive, target_loss: v.Positive, inference_tokens: v.NonNegative) -> Sizing:
    """A model of ``n_params`` trained just long enough to reach
    ``target_loss`` (:func:`tokens_for_loss`) and then served
    ``inference_tokens`` tokens. Lesson 05, section 6."""
    d = tokens_for_loss(n_params, target_loss)
    return Sizing(n_params, d, predict.training_flops(n_params, d), _serving_flops(n_params, inference_tokens))


@v.checked
def optimal_size(target_loss: v.Positive, inference_tokens: v.NonNegative, *, steps: v.Size(10_000) = 200) -> Sizing:
    """The model size that reaches ``target_loss`` with the least lifetime
    compute for ``inference_tokens`` of expected demand (Sardana et al. 2023).

    Lifetime compute is unimodal in log N (huge near the smallest size that
    can reach the loss, growing like N for large N), so a golden-section
    search on log N finds the minimum; deterministic. With
    ``inference_tokens=0`` it is the training-compute-optimal size under
    the fitted loss. Lesson 05, section 6.
    """
    n_min = min_params_for_loss(target_loss)
    if not n_min >= 1:  # the loss is so high that even a one-parameter model reaches it
        raise ValueError(f"target_loss must be a loss a real model is trained to (about 1.7 to 10 nats), "
                         f"got {v.show(target_loss)}: a model with a single parameter already reaches it")
    lo = math.log(n_min) + 1e-9
    hi = lo + math.log(1e6)  # a million times the smallest feasible size

    def total(log_n: float) -> float:
        return size_at_quality(math.exp(log_n), target_loss, inference_tokens).total_flops

    ratio = (math.sqrt(5) - 1) / 2
    a, b = lo, hi
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = total(c), total(d)
    for _ in range(steps):
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = total(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = total(d)
        if b - a < 1e-12:
            break
    return size_at_quality(math.exp((a + b) / 2), target_loss, inference_tokens)


# --------------------------------------------------------- the whole scenario


@dataclass(frozen=True)
class CostScenario:
    """Everything the lesson-05 calculator shows, from :func:`cost_scenario`.

    Money in dollars, energy in kWh, CO2 in kg. ``*_from_flops`` are the
    first-principles estimates; ``training_cost`` and ``cost_per_request``
    are those or the fixed figures given instead.
    """

    training_flops: float
    training_hours: float
    training_cost_from_flops: float
    training_cost: float
    seconds_per_request: float
    cost_per_request_from_flops: float
    cost_per_request: float
    requests_per_day: float
    daily_cost: float
    yearly_cost: float
    years: float
    break_even_day: float
    training_share: float
    inference_share: float
    training_kwh: float
    wh_per_request: float
    daily_kwh: float
    grid_kg_per_kwh: float
    prompt_tokens: float
    output_tokens: float
    cost_per_prompt_token: float
    cost_per_output_token: float

    @property
    def lifetime_inference_kwh(self) -> float:
        """Inference energy over the deployment, kWh. Used by :func:`course_lib.ui.text.format_scenario` and
        :meth:`course_lib.cost.CostScenario.lifetime_inference_co2_kg`; not tied to one lesson."""
        return self.daily_kwh * DAYS_PER_YEAR * self.years

    @property
    def training_co2_kg(self) -> float:
        """Training emissions, kg CO2e. Used by :func:`course_lib.ui.text.format_scenario`; not tied to one lesson."""
        return energy.co2_kg(self.training_kwh, self.grid_kg_per_kwh)

    @property
    def lifetime_inference_co2_kg(self) -> float:
        """Inference emissions over the deployment, kg CO2e. Used by :func:`course_lib.ui.text.format_scenario`; not tied
        to one lesson."""
        return energy.co2_kg(self.lifetime_inference_kwh, self.grid_kg_per_kwh)


@v.checked
def cost_scenario(
    n_params: v.Positive = 175e9,
    train_tokens: v.Positive = 300e9,
    accelerator: str = "H100 SXM",
    train_utilization: v.Fraction = 0.4,
    serve_utilization: v.Fraction = 0.1,
    price_per_hour: v.Positive = 2.0,
    requests_per_day: v.Positive = 10e6,
    prompt_tokens: v.NonNegative = 0.0,
    output_tokens: v.Positive = 1000.0,
    years: v.Positive = 1.0,
    fixed_training_cost: v.NonNegative | None = 2e6,
    fixed_cost_per_request: v.Positive | None = 0.002,
    power_factor: v.Positive = 1.0,
    grid_kg_per_kwh: v.NonNegative = energy.DEFAULT_GRID_KG_PER_KWH,
    prompt_utilization: v.Fraction | None = None,
) -> CostScenario:
    """Training once and serving for ``years``: costs, break-even, split,
    energy and CO2. Lesson 05.

    Training: 6·N·D FLOPs on ``accelerator`` (bf16 dense peak) at
    ``train_utilization``, times ``price_per_hour``. Serving: 2·N FLOPs per
    token (N the active parameters: a parameter count, or a model as in
    :func:`training_hours`), ``prompt_tokens`` priced at
    ``prompt_utilization`` (``None``: the prefill efficiency published
    servers reach, :func:`course_lib.generation.efficiency`) and
    ``output_tokens`` at ``serve_utilization``, the decode utilization
    (:func:`token_prices`; the seed page gives one figure per request, so
    its preset puts all 1,000 tokens at the serving utilization).
    ``fixed_training_cost`` / ``fixed_cost_per_request`` (dollars), when not
    ``None``, replace the first-principles money figures (the seed page gives
    only such figures: $2M training, $0.002 per request, the defaults
    here); energy always comes from accelerator time × power, where power is
    ``power_factor`` × the accelerator's TDP (server, cooling and partial
    load folded in; the cited cases are :data:`course_lib.energy.POWER_FACTORS`:
    1 for TDP only, 1.53 reproduces Epoch AI's 1,071 W per H100).
    ``grid_kg_per_kwh`` is kg CO2e per kWh (default: GPT-3's, derived from
    Patterson et al. 2021; the cited cases are :data:`course_lib.energy.GRID_CASES`). GPT-3's 175B parameters and 300B tokens are from
    Brown et al. 2020. Lesson 05, section 5.
    """
    chip = _chip(accelerator)
    price = price_per_hour
    power_w = chip.tdp_w * power_factor

    flops = predict.training_flops(n_params, train_tokens)
    hours = training_hours(n_params, train_tokens, accelerator=chip, utilization=train_utilization)
    train_from_flops = hours * price
    train = train_from_flops if fixed_training_cost is None else fixed_training_cost

    prompt_s, output_s = _token_seconds(n_params, chip, prompt_utilization, serve_utilization, "bf16")
    seconds = prompt_tokens * prompt_s + output_tokens * output_s
    per_request_from_flops = seconds / 3600.0 * price
    per_request = per_request_from_flops if fixed_cost_per_request is None else fixed_cost_per_request
    daily = daily_inference_cost(requests_per_day, per_request)
    yearly = daily * DAYS_PER_YEAR
    share_train, share_infer = lifetime_split(train, yearly, years)
    wh = energy.wh_per_request(seconds, power_w)
    return CostScenario(
        training_flops=flops,
        training_hours=hours,
        training_cost_from_flops=train_from_flops,
        training_cost=train,
        seconds_per_request=seconds,
        cost_per_request_from_flops=per_request_from_flops,
        cost_per_request=per_request,
        requests_per_day=requests_per_day,
        daily_cost=daily,
        yearly_cost=yearly,
        years=years,
        break_even_day=break_even_days(train, daily),
        training_share=share_train,
        inference_share=share_infer,
        training_kwh=energy.energy_kwh(power_w, hours),
        wh_per_request=wh,
        daily_kwh=wh * requests_per_day / 1000.0,
        grid_kg_per_kwh=grid_kg_per_kwh,
        prompt_tokens=prompt_tokens,
        output_tokens=output_tokens,
        cost_per_prompt_token=prompt_s / 3600.0 * price,
        cost_per_output_token=output_s / 3600.0 * price,
    )


@v.checked
def cumulative_cost(s: v.Instance(CostScenario, "a CostScenario"), points: v.IntRange(2, 150) = 60):
    """Cumulative dollars by day for :func:`course_lib.ui.charts.cumulative_cost_chart`:
    a DataFrame with columns ``day``, ``series`` (training, inference, total)
    and ``dollars``; training is paid at day 0 (the step), inference accrues
    daily (the ramp). Used by :func:`course_lib.ui.calculators.scenario_chart`; not tied to one lesson."""
    end = s.years * DAYS_PER_YEAR
    days = [end * i / (points - 1) for i in range(points)]
    rows = [(0.0, "total", 0.0)]
    for day in days:
        rows += [(day, "training", s.training_cost), (day, "inference", s.daily_cost * day),
                 (day, "total", s.training_cost + s.daily_cost * day)]
    return pd.DataFrame(rows, columns=["day", "series", "dollars"])


# ------------------------------------------------------------------- hardware per phase


@v.checked
def phase_hardware_table(n_params: v.Positive = 7e9, name: v.Str = "7B") -> pd.DataFrame:
    """Each accelerator against what training and serving a model of
    ``n_params`` parameters (called ``name`` in the columns) ask of it:
    memory, bandwidth, bf16 peak, TDP, ridge point, GFLOP/s per W, whether
    the mixed-precision AdamW training state and the bf16 weights fit, and
    the batch-1 decode bound (:func:`decode_tokens_per_second_bound`) in
    tokens/s and per W. Indexed by accelerator. Lesson 05, section 7."""
    n = n_params
    train_bytes = n * predict.bytes_per_param("adamw", "mixed")
    serve_bytes = n * 2  # bf16 weights
    rows = []
    for a in hardware.ACCELERATORS.values():
        decode = decode_tokens_per_second_bound(n, 2, a.bandwidth)
        rows.append({
            "accelerator": a.name,
            "memory (GB)": a.memory_gb,
            "bandwidth (TB/s)": a.bandwidth_tbs,
            "bf16 TFLOP/s": a.bf16_tflops,
            "TDP (W)": a.tdp_w,
            "ridge (FLOP/B)": round(hardware.ridge_point(a.peak_flops("bf16"), a.bandwidth)),
            "GFLOP/s per W": round(a.bf16_tflops * 1000 / a.tdp_w),
            f"{name} training state fits": train_bytes <= a.memory_gb * 1e9,
            f"{name} bf16 weights fit": serve_bytes <= a.memory_gb * 1e9,
            f"{name} decode, batch 1 (tok/s, max)": round(decode),
            "tok/s per W": round(decode / a.tdp_w, 2),
        })
    return pd.DataFrame(rows).set_index("accelerator")


# ------------------------------------------------------------------- a model's whole life (lesson 09)


@dataclass(frozen=True)
class Hardware:
    """The deployment :func:`lifetime_estimate` assumed: ``n_gpus``
    ``accelerator`` s per model replica (tensor parallelism, as
    :func:`course_lib.generation.estimate` models it), the formats, the
    batch decoded together and what limits it, the bounds of each phase,
    price and power per GPU. Used by :func:`course_lib.cost.lifetime_estimate`; not tied to one lesson."""

    accelerator: str
    n_gpus: int
    weight_format: str
    kv_format: str
    batch: int
    max_batch: int
    max_context: int
    context: int
    weight_bytes_per_gpu: int
    kv_bytes_per_gpu: int
    memory_bytes_per_gpu: int
    prefill_bound: str
    decode_bound: str
    ttft: float
    tpot: float
    price_per_hour: float
    power_w: float
    train_utilization: float

    @property
    def batch_limited_by_memory(self) -> bool:
        """Whether the batch is the largest whose KV caches fit (rather than one you chose). Used by
        :func:`course_lib.ui.calculators.lifetime_texts`; not tied to one lesson."""
        return self.batch == self.max_batch


@dataclass(frozen=True)
class LifetimeEstimate:
    """Training once and serving ``requests_per_day`` for ``years``: dollars
    and kWh of each phase, per request and over the deployment, from
    :func:`lifetime_estimate`. Money in US dollars, energy in kWh (per
    request in Wh). Used by :func:`course_lib.cost.lifetime_estimate` and
    :func:`course_lib.ui.calculators.lifetime_texts`; not tied to one lesson."""

    model: str
    n_params: int
    n_active_params: int
    hardware: Hardware
    train_tokens: float
    requests_per_day: float
    prompt_tokens: int
    output_tokens: int
    reasoning_tokens: int
    years: float
    training_hours: float
    training_cost: float
    training_energy_kwh: float
    prompt_gpu_seconds: float
    output_gpu_seconds: float

    @property
    def generated_tokens(self) -> int:
        """Tokens decoded per request: the reasoning trace plus the answer. Lesson 09, section 2."""
        return self.reasoning_tokens + self.output_tokens

    @property
    def prompt_cost_per_request(self) -> float:
        """Dollars of one request's prefill (its prompt tokens). Used by
        :meth:`course_lib.cost.LifetimeEstimate.cost_per_request` and
        :meth:`course_lib.cost.LifetimeEstimate.prompt_price_per_million`; not tied to one lesson."""
        return self.prompt_gpu_seconds / 3600.0 * self.hardware.price_per_hour

    @property
    def output_cost_per_request(self) -> float:
        """Dollars of one request's decode steps (reasoning and answer tokens). Used by
        :meth:`course_lib.cost.LifetimeEstimate.cost_per_request` and
        :meth:`course_lib.cost.LifetimeEstimate.output_price_per_million`; not tied to one lesson."""
        return self.output_gpu_seconds / 3600.0 * self.hardware.price_per_hour

    @property
    def cost_per_request(self) -> float:
        """Dollars per request (answer): prompt plus output. Lesson 09, sections 2 and 3."""
        return self.prompt_cost_per_request + self.output_cost_per_request

    @property
    def prompt_price_per_million(self) -> float:
        """Dollars per million prompt tokens at this deployment's cost. Lesson 09, section 2."""
        return self.prompt_cost_per_request / self.prompt_tokens * 1e6

    @property
    def output_price_per_million(self) -> float:
        """Dollars per million output tokens (reasoning included) at this deployment's cost. Lesson 09, section 2."""
        return self.output_cost_per_request / self.generated_tokens * 1e6

    @property
    def inference_cost_per_day(self) -> float:
        """Dollars of serving per day. Used by :func:`course_lib.ui.calculators.lifetime_texts` and
        :meth:`course_lib.cost.LifetimeEstimate.break_even_days`; not tied to one lesson."""
        return self.cost_per_request * self.requests_per_day

    @property
    def inference_cost(self) -> float:
        """Dollars of serving over the whole deployment (``years``). Lesson 09, sections 2 and 3."""
        return self.inference_cost_per_day * DAYS_PER_YEAR * self.years

    @property
    def inference_share(self) -> float:
        """Inference's fraction of lifetime dollars. Lesson 09, sections 2 and 3."""
        return self.inference_cost / (self.inference_cost + self.training_cost)

    @property
    def break_even_days(self) -> float:
        """Day on which cumulative serving dollars equal the training dollars. Lesson 09, sections 2 and 3."""
        return self.training_cost / self.inference_cost_per_day

    @property
    def wh_per_request(self) -> float:
        """Energy of one request (answer) in Wh: its GPU-seconds × power per GPU. Lesson 09, sections 2 and 3."""
        return (self.prompt_gpu_seconds + self.output_gpu_seconds) * self.hardware.power_w / 3600.0

    @property
    def inference_energy_kwh(self) -> float:
        """Energy of serving over the whole deployment, kWh. Used by :func:`course_lib.ui.calculators.lifetime_texts`
        and :func:`course_lib.ui.calculators.lifetime_table`; not tied to one lesson."""
        return self.wh_per_request * self.requests_per_day * DAYS_PER_YEAR * self.years / 1000.0

    @property
    def inference_energy_share(self) -> float:
        """Inference's fraction of lifetime energy. Used by :func:`course_lib.ui.calculators.lifetime_texts` and
        :func:`course_lib.ui.calculators.lifetime_table`; not tied to one lesson."""
        return self.inference_energy_kwh / (self.inference_energy_kwh + self.training_energy_kwh)

    @property
    def energy_break_even_days(self) -> float:
        """Day on which cumulative serving energy equals the training energy. Used by
        :func:`course_lib.ui.calculators.lifetime_texts`; not tied to one lesson."""
        return self.training_energy_kwh / (self.wh_per_request * self.requests_per_day / 1000.0)

    @property
    def gpus_serving(self) -> float:
        """GPUs busy serving the traffic around the clock (GPU-seconds per day ÷ 86,400). Lesson 09, section 3."""
        return (self.prompt_gpu_seconds + self.output_gpu_seconds) * self.requests_per_day / 86_400.0


def _smallest_group(a, deploy: dict) -> int | None:
    """Fewest GPUs (tensor parallel) that hold the weights and one sequence's KV cache at the
    deployment's context, or None when no group up to generation.MAX_GPUS does (a binary search:
    each GPU's share shrinks as the group grows)."""
    def fits(n: int) -> bool:
        return generation.estimate(a, batch=1, **{**deploy, "n_gpus": n}).max_batch >= 1

    if not fits(generation.MAX_GPUS):
        return None
    lo, hi = 1, generation.MAX_GPUS  # fits(hi) holds
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if fits(mid) else (mid, hi)
    return lo if fits(lo) else hi


MAX_REQUESTS_PER_DAY = 1e12
"""Most requests a day :func:`lifetime_estimate` prices (a hundred per person on Earth)."""
MAX_TRAIN_TOKENS = 1e16
"""Most training tokens :func:`lifetime_estimate` prices (today's largest runs use a few times 10¹³)."""


@v.checked
def lifetime_estimate(model, *, train_tokens: v.Range(0.0, MAX_TRAIN_TOKENS, allow_zero=False),
                      accelerator="H100 SXM",
                      requests_per_day: v.Range(0.0, MAX_REQUESTS_PER_DAY, allow_zero=False),
                      prompt_tokens: v.Size(generation.MAX_CONTEXT), output_tokens: v.Size(generation.MAX_CONTEXT),
                      reasoning_tokens: v.IntRange(0, generation.MAX_CONTEXT) = 0,
                      years: v.Range(0.0, 100, allow_zero=False), n_gpus: v.Size(generation.MAX_GPUS) = 1,
                      weight_format: str = "bf16", kv_format: str | None = None,
                      batch: v.Size(generation.MAX_BATCH) | None = None,
                      price_per_hour: v.Range(0.0, 10_000, allow_zero=False) = 2.0,
                      power_factor: v.Range(0.0, 10, allow_zero=False) = 1.0,
                      train_utilization: v.Fraction | None = None) -> LifetimeEstimate:
    """Train ``model`` once on ``train_tokens`` and serve it ``years`` on
    ``n_gpus`` ``accelerator`` s per replica: dollars and kWh of each phase.

    ``model`` is anything :func:`course_lib.arch.resolve` takes. Training:
    :func:`training_hours` (6 · active parameters · tokens at
    ``train_utilization``, by default the fit to published runs) ×
    ``price_per_hour``. Serving: :func:`course_lib.generation.estimate`'s
    expected times for a request of ``prompt_tokens`` then
    ``reasoning_tokens + output_tokens`` generated tokens, decoded ``batch``
    at a time; a request's GPU-seconds are n_gpus × TTFT / batch for its
    prompt and n_gpus × (latency − TTFT) / batch for its reasoning and
    answer, so prompt and output tokens are priced separately, and an MoE
    reads (and pays for) the experts its tokens use. ``batch=None`` takes
    the largest batch whose KV caches fit at the full context (prompt +
    reasoning + answer): long reasoning traces shrink it. Energy: GPU time
    × the accelerator's TDP × ``power_factor`` (server, cooling and partial
    load folded in). A deployment that cannot hold the model (weights and
    one sequence's KV cache per GPU) raises ``ValueError`` naming
    ``n_gpus`` and the smallest group that would. Lesson 09, sections 2–4;
    lab 09, exercises 1–4.
    """
    a = arch.resolve(model)
    acc = _chip(accelerator)
    n, prompt, answer, thinking = n_gpus, prompt_tokens, output_tokens, reasoning_tokens
    requests, tokens, price = requests_per_day, train_tokens, price_per_hour
    power_w = acc.tdp_w * power_factor
    deploy = dict(accelerator=acc, n_gpus=n, weight_format=weight_format, kv_format=kv_format,
                  prompt_len=prompt, output_len=thinking + answer)
    one = generation.estimate(a, batch=1, **deploy)
    if one.max_batch < 1:
        need = _smallest_group(a, deploy)
        fix = (f"the smallest group of {acc.name} that holds it is n_gpus={need}" if need else
               f"no group of up to {generation.MAX_GPUS} {acc.name} holds it")
        raise ValueError(
            f"n_gpus={n}: {a.name or 'the model'} does not fit on {n} × {acc.name} in {weight_format} "
            f"({one.weight_bytes / 1e9:,.1f} GB of weights per GPU, {acc.memory_gb:g} GB each, and a "
            f"{prompt + thinking + answer:,}-token sequence's KV cache beside them): {fix}")
    if batch is None:
        b = min(one.max_batch, generation.MAX_BATCH)
    else:
        b = batch
        if b > one.max_batch:
            raise ValueError(f"batch={b} does not fit: at a context of {prompt + thinking + answer:,} tokens the KV "
                             f"caches of at most {one.max_batch:,} sequences fit beside the weights on {n} × {acc.name}")
    e = one if b == 1 else generation.estimate(a, batch=b, **deploy)
    hours = training_hours(a, tokens, accelerator=acc, utilization=train_utilization)
    util = predict.training_flops(a.n_active_params, tokens) / (hours * 3600 * acc.peak_flops("bf16"))
    hw = Hardware(
        accelerator=acc.name, n_gpus=n, weight_format=e.weight_format, kv_format=e.kv_format, batch=b,
        max_batch=one.max_batch, max_context=e.max_context, context=prompt + thinking + answer,
        weight_bytes_per_gpu=e.weight_bytes, kv_bytes_per_gpu=e.kv_bytes, memory_bytes_per_gpu=e.memory_bytes,
        prefill_bound=e.prefill_bound, decode_bound=e.decode_bound, ttft=e.ttft_expected, tpot=e.tpot_expected,
        price_per_hour=price, power_w=power_w, train_utilization=util,
    )
    return LifetimeEstimate(
        model=a.name, n_params=a.n_params, n_active_params=a.n_active_params, hardware=hw, train_tokens=tokens,
        requests_per_day=requests, prompt_tokens=prompt, output_tokens=answer, reasoning_tokens=thinking,
        years=years, training_hours=hours, training_cost=hours * price,
        training_energy_kwh=energy.energy_kwh(power_w, hours),
        prompt_gpu_seconds=n * e.ttft_expected / b,
        output_gpu_seconds=n * (e.latency_expected - e.ttft_expected) / b,
    )
