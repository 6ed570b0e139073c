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

from . import _validate as v
from . import energy, hardware, predict

DAYS_PER_YEAR = 365.0

# ----------------------------------------------------------------- contract


@v.checked
def daily_inference_cost(requests_per_day: float, cost_per_request: float) -> float:
    """Dollars per day of serving: requests per day × cost per request.

    The seed page's example: 10M requests/day × $0.002 = $20,000/day.
    Lesson 05, sections 1 and 5; lab 05, exercise 1.
    """
    return v.positive("requests_per_day", requests_per_day) * v.positive("cost_per_request", cost_per_request)


@v.checked
def lifetime_split(training_cost: float, inference_cost_per_year: float, years: float = 1.0) -> tuple[float, float]:
    """The fractions of lifetime spend on training and on inference, as
    ``(training, inference)``, for a model served ``years`` years.

    Training is paid once, inference every year, so the split depends on the
    deployment lifetime: $2M against $18M/year is 10 % : 90 % after one year
    and 5 % : 95 % after two. A zero training cost (someone else's model) is
    allowed; both zero is not. Lesson 05, sections 1 and 2.
    """
    train = v.number("training_cost", training_cost, minimum=0.0)
    per_year = v.number("inference_cost_per_year", inference_cost_per_year, minimum=0.0)
    inference = per_year * v.positive("years", years)
    total = train + inference
    if total == 0:
        raise ValueError("training_cost and inference_cost_per_year are both 0: there is no spend to split")
    return train / total, inference / total


@v.checked
def break_even_days(training_cost: float, inference_cost_per_day: float) -> float:
    """The day on which cumulative inference spend equals the training spend:
    training cost ÷ inference cost per day. Works for any quantity spent once
    and then daily (dollars, kWh). Lesson 05, sections 1 and 4; lab 05, exercise 1.
    """
    train = v.number("training_cost", training_cost, minimum=0.0)
    return train / v.positive("inference_cost_per_day", inference_cost_per_day)


# ------------------------------------------------------------------ training


def _peak(accelerator, dtype: str) -> float:
    return _chip(accelerator).peak_flops(dtype)


def _chip(accelerator) -> hardware.Accelerator:
    if isinstance(accelerator, hardware.Accelerator):
        return accelerator
    return hardware.accelerator(v.choice("accelerator", accelerator, hardware.ACCELERATORS))


def _utilization(value) -> float:
    return v.fraction("utilization", value)


@v.checked
def accelerator_hours(flops: float, peak_flops: float, utilization: float) -> float:
    """Accelerator-hours to do ``flops`` at ``utilization`` × ``peak_flops``
    (FLOP/s): flops ÷ (peak × utilization) ÷ 3600. Lesson 05, sections 3 and 4; lab 05, exercise 5."""
    work = v.positive("flops", flops)
    rate = v.positive("peak_flops", peak_flops) * _utilization(utilization)
    return work / rate / 3600.0


@v.checked
def training_hours(n_params: float, n_tokens: float, *, accelerator="H100 SXM", utilization: float = 0.4,
                   dtype: str = "bf16") -> float:
    """Accelerator-hours to train ``n_params`` parameters on ``n_tokens``
    tokens: 6·N·D FLOPs (Kaplan et al. 2020) at ``utilization`` of the
    accelerator's dense ``dtype`` peak (:mod:`course_lib.hardware`).
    The default 40 % is inside the model FLOPs utilization large runs
    report (PaLM 540B 46.2 %, Llama 3 405B 38–43 %:
    :data:`course_lib.references.MFU_REFERENCES`). ``accelerator`` is a name
    from :data:`course_lib.hardware.ACCELERATORS` or an
    :class:`~course_lib.hardware.Accelerator`. Lesson 05, section 3; lab 05, exercise 5.
    """
    flops = predict.training_flops(n_params, n_tokens)
    return accelerator_hours(flops, _peak(accelerator, dtype), utilization)


@v.checked
def training_cost(n_params: float, n_tokens: float, *, accelerator="H100 SXM", utilization: float = 0.4,
                  price_per_hour: float = 2.0, dtype: str = "bf16") -> float:
    """Dollars to train: :func:`training_hours` × ``price_per_hour`` (dollars
    per accelerator-hour; the default $2 is an assumption to change, not a
    quoted price). Lesson 05, section 3.
    """
    hours = training_hours(n_params, n_tokens, accelerator=accelerator, utilization=utilization, dtype=dtype)
    return hours * v.positive("price_per_hour", price_per_hour)


# ----------------------------------------------------------------- inference


@v.checked
def tokens_per_second(n_params: float, *, accelerator="H100 SXM", utilization: float = 0.1,
                      dtype: str = "bf16") -> float:
    """Tokens per second one accelerator serves: peak × utilization ÷ 2·N
    (2·N FLOPs per token forward, Kaplan et al. 2020). Decoding one token at
    a time is memory-bound, so serving utilization is usually far below
    training's; the default 10 % is Epoch AI's assumption for serving
    (2025, *How much energy does ChatGPT use?*). Lesson 05, section 3.
    """
    per_token = predict.inference_flops(n_params, 1)
    return _peak(accelerator, dtype) * _utilization(utilization) / per_token


@v.checked
def seconds_per_request(n_params: float, tokens_per_request: float, *, accelerator="H100 SXM",
                        utilization: float = 0.1, dtype: str = "bf16") -> float:
    """Accelerator-seconds of one request of ``tokens_per_request`` tokens
    (prompt and answer): 2·N·tokens ÷ (peak × utilization). Lesson 05, sections 3 and 4."""
    flops = predict.inference_flops(n_params, v.positive("tokens_per_request", tokens_per_request))
    return accelerator_hours(flops, _peak(accelerator, dtype), utilization) * 3600.0


@v.checked
def cost_per_request(n_params: float, tokens_per_request: float, *, accelerator="H100 SXM",
                     utilization: float = 0.1, price_per_hour: float = 2.0, dtype: str = "bf16") -> float:
    """Dollars per request: :func:`seconds_per_request` ÷ 3600 × price per
    accelerator-hour. Lesson 05, section 3."""
    seconds = seconds_per_request(n_params, tokens_per_request, accelerator=accelerator,
                                  utilization=utilization, dtype=dtype)
    return seconds / 3600.0 * v.positive("price_per_hour", price_per_hour)


@v.checked
def decode_tokens_per_second_bound(n_params: float, bytes_per_param: float, bandwidth: float, batch: int = 1) -> float:
    """Upper bound on tokens/s when decoding ``batch`` sequences at once: each
    step reads every weight once, so a step takes at least
    N · bytes ÷ bandwidth (bytes/s) and yields ``batch`` tokens (KV cache
    reads ignored; Austin et al., *How to Scale Your Model*, 2025). Lesson 05, section 7.
    """
    step = v.positive("n_params", n_params) * v.positive("bytes_per_param", bytes_per_param)
    step /= v.positive("bandwidth", bandwidth)
    return v.positive_int("batch", batch) / step


# ------------------------------------------------------ inference-aware sizing

# Hoffmann et al. 2022 (*Training Compute-Optimal Large Language Models*),
# approach 3: L(N, D) = E + A / N^alpha + B / D^beta, fitted loss in nats/token.
CHINCHILLA = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}


@v.checked
def chinchilla_loss(n_params: float, n_tokens: float) -> float:
    """Predicted pre-training loss of ``n_params`` trained on ``n_tokens``:
    E + A/N^α + B/D^β with Hoffmann et al. 2022's fitted constants
    (:data:`CHINCHILLA`). Lesson 05, section 6; lab 05, exercise 4."""
    c = CHINCHILLA
    n = v.positive("n_params", n_params)
    d = v.positive("n_tokens", n_tokens)
    return c["E"] + c["A"] / n ** c["alpha"] + c["B"] / d ** c["beta"]


@v.checked
def min_params_for_loss(target_loss: float) -> float:
    """The size below which ``target_loss`` is out of reach however long you
    train: the N where E + A/N^α = target. Lesson 05, section 6."""
    c = CHINCHILLA
    loss = v.positive("target_loss", target_loss)
    if loss <= c["E"]:
        raise ValueError(f"target_loss must be > E = {c['E']} (the irreducible loss), got {loss}")
    return (c["A"] / (loss - c["E"])) ** (1 / c["alpha"])


@v.checked
def tokens_for_loss(n_params: float, target_loss: float) -> float:
    """Training tokens a model of ``n_params`` needs to reach ``target_loss``
    under :func:`chinchilla_loss`: D = (B / (L − E − A/N^α))^(1/β). Raises
    ``ValueError`` when N is too small to ever reach it. Lab 05, exercise 4."""
    c = CHINCHILLA
    n = v.positive("n_params", n_params)
    loss = v.positive("target_loss", target_loss)
    room = loss - c["E"] - c["A"] / n ** c["alpha"]
    if room <= 0:
        raise ValueError(
            f"n_params={n:.3g} cannot reach target_loss={loss} at any data size; "
            f"n_params must be > {min_params_for_loss(loss):.3g}"
        )
    return (c["B"] / room) ** (1 / c["beta"])


def _serving_flops(n_params: float, inference_tokens: float) -> float:
    served = v.number("inference_tokens", inference_tokens, minimum=0.0)
    return predict.inference_flops(n_params, served) if served else 0.0


@v.checked
def lifetime_flops(n_params: float, train_tokens: float, inference_tokens: float) -> float:
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
def size_at_quality(n_params: float, target_loss: float, inference_tokens: float) -> Sizing:
    """A model of ``n_params`` trained just long enough to reach
    ``target_loss`` (:func:`tokens_for_loss`) and then served
    ``inference_tokens`` tokens. Lesson 05, section 6."""
    d = tokens_for_loss(n_params, target_loss)
    return Sizing(float(n_params), d, predict.training_flops(n_params, d), _serving_flops(n_params, inference_tokens))


@v.checked
def optimal_size(target_loss: float, inference_tokens: float, *, steps: int = 200) -> Sizing:
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
    served = v.number("inference_tokens", inference_tokens, minimum=0.0)
    steps = v.positive_int("steps", steps, maximum=10_000)

    def total(log_n: float) -> float:
        return size_at_quality(math.exp(log_n), target_loss, served).total_flops

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
    return size_at_quality(math.exp((a + b) / 2), target_loss, served)


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

    @property
    def lifetime_inference_kwh(self) -> float:
        """Inference energy over the deployment, kWh. Lesson 05, section 5."""
        return self.daily_kwh * DAYS_PER_YEAR * self.years

    @property
    def training_co2_kg(self) -> float:
        """Training emissions, kg CO2e. Lesson 05, section 5."""
        return energy.co2_kg(self.training_kwh, self.grid_kg_per_kwh)

    @property
    def lifetime_inference_co2_kg(self) -> float:
        """Inference emissions over the deployment, kg CO2e. Lesson 05, section 5."""
        return energy.co2_kg(self.lifetime_inference_kwh, self.grid_kg_per_kwh)


@v.checked
def cost_scenario(
    n_params: float = 175e9,
    train_tokens: float = 300e9,
    accelerator: str = "H100 SXM",
    train_utilization: float = 0.4,
    serve_utilization: float = 0.1,
    price_per_hour: float = 2.0,
    requests_per_day: float = 10e6,
    tokens_per_request: float = 1000,
    years: float = 1.0,
    fixed_training_cost: float | None = 2e6,
    fixed_cost_per_request: float | None = 0.002,
    power_factor: float = 1.0,
    grid_kg_per_kwh: float = energy.DEFAULT_GRID_KG_PER_KWH,
) -> CostScenario:
    """Training once and serving for ``years``: costs, break-even, split,
    energy and CO2. Lesson 05.

    Training: 6·N·D FLOPs on ``accelerator`` (bf16 dense peak) at
    ``train_utilization``, times ``price_per_hour``. Serving: 2·N FLOPs per
    token × ``tokens_per_request`` at ``serve_utilization``.
    ``fixed_training_cost`` / ``fixed_cost_per_request`` (dollars), when not
    ``None``, replace the first-principles money figures (the seed page gives
    only such figures: $2M training, $0.002 per request, the defaults
    here); energy always comes from accelerator time × power, where power is
    ``power_factor`` × the accelerator's TDP (server, cooling and partial
    load folded in; 1.53 reproduces Epoch AI's 1,071 W per H100).
    ``grid_kg_per_kwh`` is kg CO2e per kWh (default: GPT-3's, derived from
    Patterson et al. 2021). GPT-3's 175B parameters and 300B tokens are from
    Brown et al. 2020. Lesson 05, section 5.
    """
    chip = _chip(accelerator)
    v.fraction("train_utilization", train_utilization)
    v.fraction("serve_utilization", serve_utilization)
    price = v.positive("price_per_hour", price_per_hour)
    requests = v.positive("requests_per_day", requests_per_day)
    years = v.positive("years", years)
    power_w = chip.tdp_w * v.positive("power_factor", power_factor)

    flops = predict.training_flops(n_params, train_tokens)
    hours = training_hours(n_params, train_tokens, accelerator=chip, utilization=train_utilization)
    train_from_flops = hours * price
    train = train_from_flops if fixed_training_cost is None else v.number(
        "fixed_training_cost", fixed_training_cost, minimum=0.0)

    seconds = seconds_per_request(n_params, tokens_per_request, accelerator=chip, utilization=serve_utilization)
    per_request_from_flops = seconds / 3600.0 * price
    per_request = per_request_from_flops if fixed_cost_per_request is None else v.positive(
        "fixed_cost_per_request", fixed_cost_per_request)
    daily = daily_inference_cost(requests, per_request)
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
        requests_per_day=requests,
        daily_cost=daily,
        yearly_cost=yearly,
        years=years,
        break_even_day=break_even_days(train, daily),
        training_share=share_train,
        inference_share=share_infer,
        training_kwh=energy.energy_kwh(power_w, hours),
        wh_per_request=wh,
        daily_kwh=wh * requests / 1000.0,
        grid_kg_per_kwh=v.number("grid_kg_per_kwh", grid_kg_per_kwh, minimum=0.0),
    )


def cumulative_cost(s: CostScenario, points: int = 60):
    """Cumulative dollars by day for :func:`course_lib.ui.charts.cumulative_cost_chart`:
    a DataFrame with columns ``day``, ``series`` (training, inference, total)
    and ``dollars``; training is paid at day 0 (the step), inference accrues
    daily (the ramp). Lesson 05, section 5."""
    if not isinstance(s, CostScenario):
        raise TypeError(f"s must be a CostScenario, got {type(s).__name__}")
    points = v.integer("points", points, minimum=2, maximum=150)
    end = s.years * DAYS_PER_YEAR
    days = [end * i / (points - 1) for i in range(points)]
    rows = [(0.0, "total", 0.0)]
    for day in days:
        rows += [(day, "training", s.training_cost), (day, "inference", s.daily_cost * day),
                 (day, "total", s.training_cost + s.daily_cost * day)]
    return pd.DataFrame(rows, columns=["day", "series", "dollars"])


# ---------------------------------------------------------------- formatting


def money(x: float) -> str:
    """Dollars for people: ``$20,000``, ``$2.00M``, ``$0.0020``. Lesson 05, sections 1 and 3."""
    x = v.number("x", x)
    if abs(x) >= 1e9:
        return f"${x / 1e9:,.2f}B"
    if abs(x) >= 1e6:
        return f"${x / 1e6:,.2f}M"
    if abs(x) >= 100:
        return f"${x:,.0f}"
    if abs(x) >= 1:
        return f"${x:,.2f}"
    return f"${x:.3g}" if x else "$0"


def kwh(x: float) -> str:
    """Energy for people: Wh below 1 kWh, kWh below 1 MWh, then MWh and GWh. Lesson 05, section 4."""
    x = v.number("x", x, minimum=0.0)
    for scale, unit in ((1e6, "GWh"), (1e3, "MWh"), (1.0, "kWh")):
        if x >= scale:
            return f"{x / scale:,.3g} {unit}"
    return f"{x * 1000:.3g} Wh"


def format_scenario(s: CostScenario) -> dict[str, str]:
    """The texts the calculator shows, by key; tests compute the expected
    text with this. Lesson 05, section 5."""
    v.instance("s", s, CostScenario, "a CostScenario from cost_scenario()")
    return {
        "training_cost": money(s.training_cost),
        "training_cost_from_flops": money(s.training_cost_from_flops),
        "training_hours": f"{s.training_hours:,.0f} accelerator-hours",
        "cost_per_request": money(s.cost_per_request),
        "cost_per_request_from_flops": money(s.cost_per_request_from_flops),
        "daily_cost": money(s.daily_cost),
        "yearly_cost": money(s.yearly_cost),
        "break_even_day": f"day {s.break_even_day:,.1f}",
        "split": f"{s.training_share:.1%} training : {s.inference_share:.1%} inference",
        "training_energy": kwh(s.training_kwh),
        "wh_per_request": f"{s.wh_per_request:.3g} Wh",
        "inference_energy": kwh(s.lifetime_inference_kwh),
        "co2": f"{s.training_co2_kg / 1000:,.3g} t training, {s.lifetime_inference_co2_kg / 1000:,.3g} t inference",
    }


# ------------------------------------------------------------------- hardware per phase


def phase_hardware_table(n_params: float = 7e9, name: str = "7B") -> pd.DataFrame:
    """Each accelerator against what training and serving a model of
    ``n_params`` parameters (called ``name`` in the columns) ask of it:
    memory, bandwidth, bf16 peak, TDP, ridge point, GFLOP/s per W, whether
    the mixed-precision AdamW training state and the bf16 weights fit, and
    the batch-1 decode bound (:func:`decode_tokens_per_second_bound`) in
    tokens/s and per W. Indexed by accelerator. Lesson 05, section 7."""
    n = v.positive("n_params", n_params)
    name = v.string("name", name)
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


# ------------------------------------------------------------------- calculator inputs

PRESETS: dict[str, dict] = {
    # The seed page's figures: $2M training, $0.002 per request, 10M requests/day.
    # Model: GPT-3 (175B parameters, 300B tokens; Brown et al. 2020) for the energy.
    "Seed page example": dict(
        model_b=175.0, train_tokens_b=300.0, accelerator="H100 SXM", train_utilization=0.4,
        serve_utilization=0.1, price_per_hour=2.0, requests_m=10.0, tokens_per_request=1000, years=1.0,
        fixed_training_musd=2.0, fixed_cost_per_request=0.002, power_factor=1.0,
        grid_kg_per_kwh=round(energy.DEFAULT_GRID_KG_PER_KWH, 3),
    ),
    # Epoch AI 2025, "How much energy does ChatGPT use?": 100B active parameters,
    # 500 output tokens, H100 at 10 % utilization, 1,071 W per GPU all-in
    # (1.53 × 700 W TDP) → ≈ 0.3 Wh per query. Training tokens: 20 per
    # parameter (an assumption; Hoffmann et al. 2022's rule of thumb).
    "GPT-4o-class query (Epoch AI 2025)": dict(
        model_b=100.0, train_tokens_b=2000.0, accelerator="H100 SXM", train_utilization=0.4,
        serve_utilization=0.1, price_per_hour=2.0, requests_m=10.0, tokens_per_request=500, years=1.0,
        fixed_training_musd=0.0, fixed_cost_per_request=0.0, power_factor=1.53,
        grid_kg_per_kwh=round(energy.DEFAULT_GRID_KG_PER_KWH, 3),
    ),
}


def calculator_inputs(values: dict) -> dict:
    """Widget values (billions, millions, 0 = "from FLOPs") → keyword
    arguments of :func:`cost_scenario`. Lesson 05, section 5."""
    v.mapping("values", values, PRESETS["Seed page example"])
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
        tokens_per_request=values["tokens_per_request"],
        years=values["years"],
        fixed_training_cost=fixed_train * 1e6 if fixed_train else None,
        fixed_cost_per_request=fixed_request if fixed_request else None,
        power_factor=values["power_factor"],
        grid_kg_per_kwh=values["grid_kg_per_kwh"],
    )
