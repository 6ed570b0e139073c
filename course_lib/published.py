"""Published, measured figures that the course's predictions are set against
(lessons 05 and 07).

Data only, each row with its source: training runs (accelerator-hours from
model cards and technical reports), serving measurements (time to first
token, time per output token, whole-request latency) and energy. From them:

- :func:`course_lib.cost.default_utilization` fits the model FLOPs
  utilization that training reaches as a function of model size
  (:data:`TRAINING`);
- :func:`course_lib.generation.efficiency` takes the fraction of the
  roofline bound that published servers reach (:data:`SERVING`);
- :func:`course_lib.validation.table` sets every row against the course's
  prediction for the same case.

A row's ``why`` says, where the prediction and the figure disagree beyond
the band the course claims, what the prediction leaves out. Nothing is
tuned to hide a disagreement.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_LLAMA1 = "Touvron et al. 2023, LLaMA: Open and Efficient Foundation Language Models (Table 15, GPU-hours; Table 2, tokens)"
_LLAMA2 = "Touvron et al. 2023, Llama 2 (model card and Table 2: A100-80GB GPU-hours, 2T tokens)"
_LLAMA31 = ("Meta Llama 3.1 model card (2024): Training Time (H100-80GB GPU hours), ~15T tokens; 405B: 15.6T tokens "
            "(Dubey et al. 2024, The Llama 3 Herd of Models)")
_DSV3 = ("DeepSeek-AI 2024, DeepSeek-V3 Technical Report (Table 1: 2.664M H800 GPU hours of pre-training on 14.8T "
         "tokens; 2.788M with context extension and post-training); 671B total, 37B active parameters")
_GPT3 = ("Patterson et al. 2021, Carbon Emissions and Large Neural Network Training (Table 4: GPT-3 on 10,000 V100s "
         "for 14.8 days, 1,287 MWh); Brown et al. 2020 (175B parameters, 300B tokens)")
_NIM = ("NVIDIA NIM LLM benchmarking guide, Performance (docs.nvidia.com/nim/benchmarking/llm, v1.0.0): "
        "Llama-3.3-70B-Instruct, NIM 1.8.0, 2 x H100 80G, fp8, TP2, concurrency 1")
_VLLM = ("vLLM performance benchmark (Buildkite, vllm/performance-benchmark build 9515): latency tests, input 32, "
         "output 128 tokens, batch 8, H200, mean end-to-end latency")
_NEMO = ("NVIDIA NeMo Framework user guide, Performance, Llama-2 inference (TensorRT-LLM): input 128, output 20 "
         "tokens, average latency, TP1")

#: A DeepSeek-V3-shaped MoE as a dense-attention stand-in: the parameter
#: counts that set its training FLOPs (6 · 37B active · tokens).
DEEPSEEK_V3_ACTIVE = 37e9


@dataclass(frozen=True)
class TrainingRun:
    """A published pre-training run: ``model`` (a preset key, or the active
    parameter count for a model the course has no preset of),
    ``n_tokens``, ``accelerator`` and its ``hours`` (accelerator-hours)."""

    key: str
    model: object
    n_tokens: float
    accelerator: str
    hours: float
    source: str
    why: str = ""


@dataclass(frozen=True)
class ServingMeasurement:
    """A published serving measurement: ``metric`` is ``"ttft"``, ``"tpot"``
    or ``"latency"`` (a whole request), ``seconds`` the measured time."""

    key: str
    model: str
    accelerator: str
    n_gpus: int
    weight_format: str
    batch: int
    prompt_len: int
    output_len: int
    metric: str
    seconds: float
    source: str
    why: str = ""
    kv_format: str | None = field(default=None)


@dataclass(frozen=True)
class EnergyFigure:
    """A published energy figure of a training run: ``mwh`` for ``run`` (a key of :data:`TRAINING`) at ``pue``."""

    key: str
    run: str
    mwh: float
    pue: float
    source: str
    why: str = ""


TRAINING: dict[str, TrainingRun] = {r.key: r for r in (
    TrainingRun("LLaMA-7B", 6.7e9, 1.0e12, "A100 80GB SXM", 82_432, _LLAMA1),
    TrainingRun("LLaMA-13B", 13.0e9, 1.0e12, "A100 80GB SXM", 135_168, _LLAMA1),
    TrainingRun("LLaMA-33B", 32.5e9, 1.4e12, "A100 80GB SXM", 530_432, _LLAMA1),
    TrainingRun("LLaMA-65B", 65.2e9, 1.4e12, "A100 80GB SXM", 1_022_362, _LLAMA1),
    TrainingRun("Llama-2-7B", "llama-2-7b", 2e12, "A100 80GB SXM", 184_320, _LLAMA2),
    TrainingRun("Llama-2-13B", "llama-2-13b", 2e12, "A100 80GB SXM", 368_640, _LLAMA2),
    TrainingRun("Llama-2-70B", "llama-2-70b", 2e12, "A100 80GB SXM", 1_720_320, _LLAMA2),
    TrainingRun("Llama-3.1-8B", "llama-3-8b", 15e12, "H100 SXM", 1.46e6, _LLAMA31),
    TrainingRun("Llama-3.1-70B", "llama-3-70b", 15e12, "H100 SXM", 7.0e6, _LLAMA31),
    TrainingRun("Llama-3.1-405B", "llama-3.1-405b", 15.6e12, "H100 SXM", 30.84e6, _LLAMA31),
    TrainingRun("DeepSeek-V3 (pre-training)", DEEPSEEK_V3_ACTIVE, 14.8e12, "H800 SXM", 2.664e6, _DSV3),
    TrainingRun("GPT-3 175B", 175e9, 300e9, "V100 SXM2", 10_000 * 14.8 * 24, _GPT3,
                why="a 2020 run on V100s in fp16: the A100/H100-era fits do not describe it (utilization 20 %, "
                    "half of what the A100 runs of 2023 reached)"),
)}
"""Pre-training runs with published accelerator-hours (GPT-3's: 10,000 V100s × 14.8 days)."""

SERVING: dict[str, ServingMeasurement] = {m.key: m for m in (
    ServingMeasurement("Llama-3.3-70B fp8 TP2, 5000 in: TTFT", "llama-3-70b", "H100 SXM", 2, "fp8", 1, 5000, 500,
                       "ttft", 0.40677, _NIM),
    ServingMeasurement("Llama-3.3-70B fp8 TP2, 5000 in: TPOT", "llama-3-70b", "H100 SXM", 2, "fp8", 1, 5000, 500,
                       "tpot", 0.01858, _NIM),
    ServingMeasurement("Llama-3.3-70B fp8 TP2, 500 in: TTFT", "llama-3-70b", "H100 SXM", 2, "fp8", 1, 500, 2000,
                       "ttft", 0.04777, _NIM),
    ServingMeasurement("Llama-3.3-70B fp8 TP2, 500 in: TPOT", "llama-3-70b", "H100 SXM", 2, "fp8", 1, 500, 2000,
                       "tpot", 0.01891, _NIM),
    ServingMeasurement("Llama-3.1-8B TP1 H200, batch 8", "llama-3-8b", "H200 SXM", 1, "bf16", 8, 32, 128,
                       "latency", 0.833421, _VLLM),
    ServingMeasurement("Llama-3-70B TP4 H200, batch 8", "llama-3-70b", "H200 SXM", 4, "bf16", 8, 32, 128,
                       "latency", 2.07753, _VLLM),
    ServingMeasurement("Mixtral-8x7B TP2 H200, batch 8", "mixtral-8x7b", "H200 SXM", 2, "bf16", 8, 32, 128,
                       "latency", 1.91744, _VLLM),
    ServingMeasurement("Llama-2-7B A100, batch 1", "llama-2-7b", "A100 80GB SXM", 1, "bf16", 1, 128, 20,
                       "latency", 0.2340, _NEMO),
    ServingMeasurement("Llama-2-7B A100, batch 8", "llama-2-7b", "A100 80GB SXM", 1, "bf16", 8, 128, 20,
                       "latency", 0.3295, _NEMO),
    ServingMeasurement("Llama-2-7B H100, batch 1", "llama-2-7b", "H100 SXM", 1, "bf16", 1, 128, 20,
                       "latency", 0.1538, _NEMO),
    ServingMeasurement("Llama-2-7B H100, batch 8", "llama-2-7b", "H100 SXM", 1, "bf16", 8, 128, 20,
                       "latency", 0.1992, _NEMO),
)}
"""Serving measurements with the configuration that produced them (16-bit where the source names no format)."""

ENERGY: dict[str, EnergyFigure] = {e.key: e for e in (
    EnergyFigure("GPT-3 training energy", "GPT-3 175B", 1287, 1.1, _GPT3 + "; PUE 1.1 (same table)"),
    EnergyFigure("LLaMA-7B training energy", "LLaMA-7B", 36, 1.1,
                 _LLAMA1 + "; Table 15: 400 W per A100, PUE 1.1, 36 MWh (GPU-hours x power x PUE)"),
    EnergyFigure("LLaMA-65B training energy", "LLaMA-65B", 449, 1.1,
                 _LLAMA1 + "; Table 15: 400 W per A100, PUE 1.1, 449 MWh (GPU-hours x power x PUE)"),
)}
"""Measured or reported energy of published runs."""
