"""Lesson 05: the cost model, energy, inference-aware sizing and the calculator."""

import pytest

from course_lib import cost, energy, hardware, references
from course_lib.ui import calculators, charts, render, text
from course_lib.ui.widgets import calc_outputs

H100_BF16 = 989e12  # NVIDIA H100 SXM datasheet, dense bf16 (facts.md)


# ------------------------------------------------------------ the contract


def test_seed_example_daily_cost():
    assert cost.daily_inference_cost(10_000_000, 0.002) == pytest.approx(20_000.0)


def test_seed_example_split_after_one_year():
    train, infer = cost.lifetime_split(2e6, 18e6)
    assert train == pytest.approx(0.10)
    assert infer == pytest.approx(0.90)


def test_split_depends_on_years():
    # 2 / (2 + 18 * 3) = 2 / 56
    train, infer = cost.lifetime_split(2e6, 18e6, years=3)
    assert train == pytest.approx(2 / 56)
    assert train + infer == pytest.approx(1.0)
    assert cost.lifetime_split(0, 5e6) == (0.0, 1.0)


def test_break_even_days():
    # $2M of training against $18M / 365 per day
    assert cost.break_even_days(2e6, 18e6 / 365) == pytest.approx(2 * 365 / 18)
    assert cost.break_even_days(2e6, 20_000) == pytest.approx(100.0)
    assert cost.break_even_days(0, 1.0) == 0.0


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: cost.daily_inference_cost(-1, 0.002), "requests_per_day"),
        (lambda: cost.daily_inference_cost(0, 0.002), "requests_per_day"),
        (lambda: cost.daily_inference_cost(10, float("nan")), "cost_per_request"),
        (lambda: cost.daily_inference_cost(10, float("inf")), "cost_per_request"),
        (lambda: cost.lifetime_split(-1, 1), "training_cost"),
        (lambda: cost.lifetime_split(1, float("nan")), "inference_cost_per_year"),
        (lambda: cost.lifetime_split(1, 1, years=0), "years"),
        (lambda: cost.lifetime_split(0, 0), "both 0"),
        (lambda: cost.break_even_days(1e6, 0), "inference_cost_per_day"),
        (lambda: cost.break_even_days(float("inf"), 1), "training_cost"),
        (lambda: cost.training_cost(7e9, 1e12, utilization=0), "utilization"),
        (lambda: cost.training_cost(7e9, 1e12, utilization=1.5), "utilization"),
        (lambda: cost.training_cost(7e9, 1e12, price_per_hour=-2), "price_per_hour"),
        (lambda: cost.training_cost(0, 1e12), "model"),
        (lambda: cost.training_cost(7e9, 1e12, accelerator="V100"), "accelerator"),
        (lambda: cost.cost_scenario(accelerator="V100"), "accelerator"),
        (lambda: cost.cost_per_request(7e9, 0), "tokens_per_request"),
        (lambda: cost.cost_per_request(7e9, 100, price_per_hour=float("nan")), "price_per_hour"),
        (lambda: energy.energy_kwh(-700, 1), "power_w"),
        (lambda: energy.energy_kwh(700, 0), "hours"),
        (lambda: energy.energy_kwh(700, 1, pue=0.5), "pue"),
        (lambda: energy.co2_kg(-1, 0.4), "energy_kwh"),
        (lambda: energy.co2_kg(1, float("nan")), "grid_kg_per_kwh"),
        (lambda: cost.tokens_for_loss(1e6, 2.0), "n_params"),
        (lambda: cost.min_params_for_loss(1.5), "target_loss"),
    ],
)
def test_bad_inputs_name_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_type_errors():
    with pytest.raises(TypeError, match="requests_per_day"):
        cost.daily_inference_cost("10M", 0.002)
    with pytest.raises(TypeError, match="training_cost"):
        cost.lifetime_split(True, 1.0)


# ------------------------------------------------------- training, inference


def test_training_cost_by_hand():
    # 6 * 7e9 * 1e12 FLOPs at 40 % of 989 TFLOP/s, $2 per hour
    flops = 6 * 7e9 * 1e12
    hours = flops / (H100_BF16 * 0.4) / 3600
    assert cost.training_hours(7e9, 1e12, utilization=0.4) == pytest.approx(hours)
    assert cost.training_cost(7e9, 1e12, utilization=0.4, price_per_hour=2.0) == pytest.approx(2 * hours)
    a100 = hardware.accelerator("A100 80GB SXM")
    assert cost.training_hours(7e9, 1e12, accelerator=a100, utilization=0.5) == pytest.approx(flops / (312e12 * 0.5) / 3600)


def test_inference_cost_by_hand():
    # GPT-3-size model, 1,000 tokens, 10 % of an H100 at $2 per hour
    seconds = 2 * 175e9 * 1000 / (H100_BF16 * 0.1)
    assert cost.seconds_per_request(175e9, 1000, utilization=0.1) == pytest.approx(seconds)
    assert cost.cost_per_request(175e9, 1000, utilization=0.1, price_per_hour=2.0) == pytest.approx(seconds / 3600 * 2)
    assert cost.tokens_per_second(175e9, utilization=0.1) == pytest.approx(1000 / seconds)


def test_decode_bound():
    # 7B in bf16 on 3.35 TB/s: one step reads 14 GB
    assert cost.decode_tokens_per_second_bound(7e9, 2, 3.35e12) == pytest.approx(3.35e12 / 14e9)
    assert cost.decode_tokens_per_second_bound(7e9, 2, 3.35e12, batch=8) == pytest.approx(8 * 3.35e12 / 14e9)


def test_accelerator_hours():
    assert cost.accelerator_hours(3600e12, 1e12, 1.0) == pytest.approx(1.0)
    assert cost.accelerator_hours(3600e12, 1e12, 0.5) == pytest.approx(2.0)


# ------------------------------------------------------------------ energy


def test_energy_and_co2():
    assert energy.energy_kwh(700, 10) == pytest.approx(7.0)
    assert energy.energy_kwh(700, 10, n_devices=8, pue=1.1) == pytest.approx(7.0 * 8 * 1.1)
    assert energy.co2_kg(1000, 0.4) == pytest.approx(400.0)
    assert energy.co2_kg(1000, 0.0) == 0.0
    assert energy.wh_per_request(3.6, 1000) == pytest.approx(1.0)


def test_default_grid_is_gpt3s():
    assert energy.DEFAULT_GRID_KG_PER_KWH == pytest.approx(552 / 1287)


def test_references_have_sources():
    assert references.reference("gpt3_training_mwh").value == 1287
    assert references.reference("gpt4o_query_wh").value == 0.3
    for ref in references.REFERENCES.values():
        assert ref.source and ref.unit and ref.value > 0
    with pytest.raises(ValueError, match="key"):
        references.reference("nope")


# ---------------------------------------------------- inference-aware sizing


def test_chinchilla_loss_formula():
    n, d = 70e9, 1.4e12
    want = 1.69 + 406.4 / n**0.34 + 410.7 / d**0.28
    assert cost.chinchilla_loss(n, d) == pytest.approx(want)


def test_tokens_for_loss_inverts_the_loss():
    target = cost.chinchilla_loss(13e9, 260e9)
    assert cost.tokens_for_loss(13e9, target) == pytest.approx(260e9, rel=1e-9)
    assert cost.min_params_for_loss(target) < 13e9


def test_lifetime_flops():
    assert cost.lifetime_flops(7e9, 1e12, 2e12) == pytest.approx(6 * 7e9 * 1e12 + 2 * 7e9 * 2e12)
    assert cost.lifetime_flops(7e9, 1e12, 0) == pytest.approx(6 * 7e9 * 1e12)


def test_optimal_size_is_a_minimum_and_shrinks_with_demand():
    target = cost.chinchilla_loss(70e9, 1.4e12)
    sizes = []
    for demand in (0.0, 1e12, 1e13, 1e14):
        best = cost.optimal_size(target, demand)
        for factor in (0.9, 1.1):
            other = cost.size_at_quality(best.n_params * factor, target, demand)
            assert other.total_flops > best.total_flops
        assert cost.chinchilla_loss(best.n_params, best.train_tokens) == pytest.approx(target)
        sizes.append(best.n_params)
    assert sizes == sorted(sizes, reverse=True)  # more inference → smaller model (Sardana et al.)


# --------------------------------------------------------------- scenario


def test_scenario_defaults_reproduce_the_seed():
    s = cost.cost_scenario()
    assert s.daily_cost == pytest.approx(20_000.0)
    assert s.yearly_cost == pytest.approx(20_000.0 * 365)
    assert s.break_even_day == pytest.approx(2e6 / 20_000)
    assert s.training_share == pytest.approx(2e6 / (2e6 + 7.3e6))
    # the first-principles numbers are computed alongside
    assert s.cost_per_request_from_flops == pytest.approx(2 * 175e9 * 1000 / (H100_BF16 * 0.1) / 3600 * 2)
    assert s.training_kwh == pytest.approx(6 * 175e9 * 300e9 / (H100_BF16 * 0.4) / 3600 * 0.7)


def test_epoch_preset_reproduces_a_third_of_a_watt_hour():
    s = cost.cost_scenario(**calculators.cost_inputs(text.COST_PRESETS["GPT-4o-class query (Epoch AI 2025)"]))
    assert s.wh_per_request == pytest.approx(0.3, rel=0.01)
    assert s.cost_per_request == s.cost_per_request_from_flops


def test_cumulative_cost_table():
    s = cost.cost_scenario()
    table = cost.cumulative_cost(s, points=5)
    total = table[table.series == "total"]
    assert total.dollars.iloc[0] == 0.0 and total.dollars.iloc[1] == pytest.approx(2e6)  # the step
    assert total.dollars.iloc[-1] == pytest.approx(2e6 + 20_000 * 365)
    assert len(table) == 1 + 3 * 5  # the origin, then training, inference and total at each of 5 days


def test_money_and_energy_formatting():
    assert text.money(20_000) == "$20,000"
    assert text.money(2e6) == "$2.00M"
    assert text.money(0.002) == "$0.002"
    assert text.money(0.0019660712) == "$0.00197"
    assert text.kwh(1_287_000) == "1.29 GWh"
    assert text.kwh(0.0003) == "0.3 Wh"


# -------------------------------------------------------------- calculator


def _shown(calc, key):
    return calc_outputs(calc.result_html.value)[key]


def test_calculator_defaults_show_the_seed_example():
    calc = calculators.cost_calculator(chart=False)
    assert calc.last_error is None
    assert _shown(calc, "daily_cost") == "$20,000"
    assert _shown(calc, "break_even_day") == "day 100.0"
    assert calc.last_result.daily_cost == pytest.approx(20_000.0)


def test_calculator_reacts_to_controls():
    calc = calculators.cost_calculator(chart=False)
    calc.controls["requests_m"].value = 20.0
    assert calc.last_result.daily_cost == pytest.approx(40_000.0)
    assert _shown(calc, "daily_cost") == "$40,000"
    calc.controls["years"].value = 2.0
    assert calc.last_result.training_share == pytest.approx(2e6 / (2e6 + 2 * 40_000 * 365))
    calc.controls["fixed_cost_per_request"].value = 0.0  # now from FLOPs
    want = cost.cost_per_request(175e9, 1000, utilization=0.1, price_per_hour=2.0)
    assert calc.last_result.cost_per_request == pytest.approx(want)
    assert _shown(calc, "cost_per_request") == text.money(want)


def test_calculator_preset_and_errors():
    calc = calculators.cost_calculator(chart=False)
    calc.preset.value = "GPT-4o-class query (Epoch AI 2025)"
    assert calc.last_result.wh_per_request == pytest.approx(0.3, rel=0.01)
    # 2 · 100e9 · 500 FLOPs at 10 % of 989 TFLOP/s = 1.0111 s, at 1.53 × 700 W = 1,071 W: 0.3008 Wh
    assert _shown(calc, "wh_per_request") == "0.301 Wh"
    # the sliders keep values in range; a bad value that reaches compute
    # shows as a message in the result area instead of raising
    calc.compute = lambda **kw: cost.cost_scenario(n_params=-1)
    calc.update()
    assert "n_params" in calc.last_error and "⚠" in calc.result_html.value


def test_calculator_with_chart_draws_it():
    s = cost.cost_scenario()
    spec = charts.cumulative_cost_chart(cost.cumulative_cost(s), s.break_even_day).to_dict()
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["line", "rule"]  # lines + break-even rule
    assert [{"day": 100.0, "what": "break-even"}] in spec["datasets"].values()  # $2M / $20,000 a day
    render.enable()  # as cl.setup() does in every lesson (under xdist no earlier test in this worker may have)
    calc = calculators.cost_calculator(chart=True)
    (shown,) = calc.chart_out.outputs
    assert shown["data"]["text/plain"] == "<chart: Training once, inference every day>"
    assert _shown(calc, "daily_cost") == "$20,000"


def test_prompt_and_output_tokens_are_priced_separately():
    # 7B parameters: 1.4e10 FLOPs per token; an H100's 989e12 FLOP/s; $2 per hour
    prompt, output = cost.token_prices(7e9, prompt_utilization=0.5, output_utilization=0.1, price_per_hour=2.0)
    assert prompt == pytest.approx(1.4e10 / (989e12 * 0.5) * 2 / 3600)
    assert output == pytest.approx(1.4e10 / (989e12 * 0.1) * 2 / 3600)
    # by default the prompt runs at the prefill efficiency of the published measurements
    from course_lib import generation
    default_prompt, _ = cost.token_prices(7e9)
    assert default_prompt == pytest.approx(1.4e10 / (989e12 * generation.efficiency()["prefill"]) * 2 / 3600)
    # an MoE is priced by its active parameters
    moe, _ = cost.token_prices("mixtral-8x7b", prompt_utilization=0.5)
    assert moe == pytest.approx(2 * 12_879_925_248 / (989e12 * 0.5) * 2 / 3600)


def test_request_cost_takes_a_model_and_prices_an_moe_by_its_active_parameters():
    # Mixtral-8x7B runs 12,879,925,248 parameters per token (2 of 8 experts; its released config)
    active = 12_879_925_248
    want = 2 * active * 1000 / (989e12 * 0.1)  # H100 dense bf16 peak, 10 % utilization
    assert cost.seconds_per_request("mixtral-8x7b", 1000) == pytest.approx(want)
    assert cost.tokens_per_second("mixtral-8x7b") == pytest.approx(989e12 * 0.1 / (2 * active))
    assert cost.cost_per_request("mixtral-8x7b", 1000, price_per_hour=3.0) == pytest.approx(want / 3600 * 3.0)
    # a parameter count is still accepted, and names the argument when bad
    assert cost.seconds_per_request(7e9, 1000) == pytest.approx(2 * 7e9 * 1000 / 98.9e12)
    with pytest.raises(ValueError, match="model"):
        cost.tokens_per_second(-7e9)


def test_scenario_prices_prompt_and_output_tokens_separately():
    # 7B, H100 at $2/h: a prompt token at 50 %, an output token at 10 % of 989 TFLOP/s
    s = cost.cost_scenario(n_params=7e9, prompt_tokens=3000, output_tokens=200, prompt_utilization=0.5,
                           serve_utilization=0.1, fixed_cost_per_request=None)
    prompt_s, output_s = 1.4e10 / (989e12 * 0.5), 1.4e10 / (989e12 * 0.1)
    assert s.seconds_per_request == pytest.approx(3000 * prompt_s + 200 * output_s)
    assert s.cost_per_request_from_flops == pytest.approx((3000 * prompt_s + 200 * output_s) / 3600 * 2.0)
    assert (s.cost_per_prompt_token, s.cost_per_output_token) == pytest.approx(
        cost.token_prices(7e9, prompt_utilization=0.5, output_utilization=0.1))
    assert text.format_scenario(s)["token_prices"] == (f"{text.money(prompt_s / 3600 * 2e6)} per million prompt tokens, "
                                                       f"{text.money(output_s / 3600 * 2e6)} per million output tokens")
    # the seed's preset: no prompt, 1,000 tokens at the serving utilization, as before the split
    seed = cost.cost_scenario()
    assert seed.seconds_per_request == pytest.approx(2 * 175e9 * 1000 / (989e12 * 0.1))
    with pytest.raises(ValueError, match="prompt_tokens"):
        cost.cost_scenario(prompt_tokens=-1)
    with pytest.raises(ValueError, match="output_tokens"):
        cost.cost_scenario(output_tokens=0)


def test_calculator_prices_prompt_tokens_and_sets_the_cited_cases():
    calc = calculators.cost_calculator(chart=False)
    calc.controls["fixed_cost_per_request"].value = 0.0
    calc.controls["prompt_tokens"].value = 2000
    prompt, output = cost.token_prices(175e9, output_utilization=0.1)
    assert calc.last_result.cost_per_request == pytest.approx(2000 * prompt + 1000 * output)
    calc.grid_case.value = energy.GRID_CASES["French grid, low-carbon (derived from BLOOM's training, Luccioni et al. 2023)"]
    assert calc.last_result.grid_kg_per_kwh == pytest.approx(24.7e3 / 433_196, abs=0.0005)  # the slider's step
    calc.power_case.value = 1071 / 700
    assert calc.controls["power_factor"].value == pytest.approx(1.53)
    assert calc.last_result.wh_per_request == pytest.approx(
        (2000 * prompt + 1000 * output) / 2.0 * 3600 * 1.53 * 700 / 3600)  # seconds × W ÷ 3600
    calc.grid_case.value = None  # "your own": the slider keeps its value
    assert calc.controls["grid_kg_per_kwh"].value == pytest.approx(24.7e3 / 433_196, abs=0.0005)
