"""Every published figure the course cites, each with its source: a leaf
module (it imports nothing from the course), so any module may read it.

- :data:`REFERENCES`: energy, emissions and cost figures that lesson 05 sets
  its estimates against (Patterson et al. 2021, Luccioni et al. 2024, ...);
- :data:`MFU_REFERENCES`: model FLOPs utilization of large training runs
  (lessons 01 and 05; :func:`course_lib.cost.training_hours`' default).

The accelerators' datasheet figures and their sources stay with their rows
in :mod:`course_lib.hardware`.
"""

from __future__ import annotations

from dataclasses import dataclass


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
_BLOOM_2023 = ("Luccioni, Viguier & Ligozat 2023, *Estimating the Carbon Footprint of BLOOM, a 176B Parameter Language "
               "Model* (JMLR 24(253)); trained on the Jean Zay cluster in France")

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
        Reference("h100_system_w", "power per H100 with its server share, cooling and partial load", 1071, "W", _EPOCH_2025),
        Reference("us_grid_kg_per_kwh", "US national average grid intensity, as LLaMA's carbon accounting uses it", 0.385,
                  "kg CO2e per kWh", _LLAMA_2023),
        Reference("bloom_training_dynamic_kwh", "BLOOM 176B final training run, GPUs' dynamic energy "
                  "(1,082,990 A100-hours × 400 W)", 433_196, "kWh", _BLOOM_2023),
        Reference("bloom_training_dynamic_tco2e", "BLOOM 176B final training run, emissions of that energy", 24.7,
                  "t CO2e", _BLOOM_2023),
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


_PALM = "Chowdhery et al. 2022, *PaLM: Scaling Language Modeling with Pathways*"
_LLAMA3 = "Dubey et al. 2024, *The Llama 3 Herd of Models*"

MFU_REFERENCES: dict[str, Reference] = {
    r.key: r
    for r in (
        Reference("palm_540b", "PaLM 540B training, model FLOPs utilization", 0.462, "fraction", _PALM),
        Reference("llama3_405b_low", "Llama 3 405B training, BF16 on 8K–16K H100s, MFU (low end)", 0.38, "fraction", _LLAMA3),
        Reference("llama3_405b_high", "Llama 3 405B training, BF16 on 8K–16K H100s, MFU (high end)", 0.43, "fraction", _LLAMA3),
    )
}


def reference(key: str) -> Reference:
    """The published figure ``key`` (one of :data:`REFERENCES` or :data:`MFU_REFERENCES`). Lesson 05, section 4."""
    if not isinstance(key, str):
        raise TypeError(f"key must be a string, one of {sorted(REFERENCES) + sorted(MFU_REFERENCES)}, got {key!r}")
    found = REFERENCES.get(key) or MFU_REFERENCES.get(key)
    if found is None:
        raise ValueError(f"key must be one of {sorted(REFERENCES) + sorted(MFU_REFERENCES)}, got {key!r}")
    return found
