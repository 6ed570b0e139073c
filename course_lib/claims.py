"""The seed page's claims and the course's verdict on each, as data: one table,
one verdict per claim, the same in every lesson that shows it.

The course began from a vendor-style page comparing training and inference.
Each row of its comparison table, each panel of its "different hardware
needs" figure, its worked examples and its closing question is one
:class:`Claim` in :data:`CLAIMS`: what the page says, the course's verdict,
why, and the lesson sections that judge it. Lesson 00 shows the whole table
(:func:`verdicts_markdown` with no argument); a lesson that judges a claim
shows its own rows (``verdicts_markdown(lesson=7)``). :func:`verdicts` gives
the same rows as a DataFrame.

Numbers here are either cited with their source or computed in the lesson
section named beside them, where each verdict is argued. Changing a text here
changes the committed output of every lesson that shows it: re-execute them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from . import _validate as v

#: The lesson notebooks, by number (the links of :func:`verdicts_markdown`).
LESSON_FILES: dict[int, str] = {
    0: "00_tour.ipynb",
    1: "01_forward_vs_backward.ipynb",
    2: "02_memory.ipynb",
    3: "03_batch_size.ipynb",
    4: "04_precision.ipynb",
    5: "05_cost_scaling.ipynb",
    6: "06_scale_up_scale_out.ipynb",
    7: "07_generation.ipynb",
    8: "08_serving_llms.ipynb",
}

#: Where a claim sits on the seed page.
PARTS = ("table row", "training panel", "inference panel", "example", "question")


@dataclass(frozen=True)
class Claim:
    """One claim of the seed page. ``says`` quotes the page; ``where`` lists
    ``(lesson, section)`` pairs that judge it (section ``None``: the whole
    lesson). Not tied to one lesson."""

    key: str
    part: str
    topic: str
    says: str
    verdict: str
    why: str
    where: tuple[tuple[int, int | None], ...]

    @property
    def lessons(self) -> tuple[int, ...]:
        """The lessons that judge this claim, in order, each once. Lessons 03–08 (selecting their rows)."""
        return tuple(sorted({lesson for lesson, _ in self.where}))


def _claim(key, part, topic, says, verdict, why, *where) -> Claim:
    return Claim(key, part, topic, says, verdict, why, tuple(where))


CLAIMS: tuple[Claim, ...] = (
    # ------------------------------------------------------------ the comparison table
    _claim("purpose", "table row", "Purpose and primary goal",
           'training "teaching the model to recognize patterns", "learn patterns from historical data"; '
           'inference "making predictions on new data", "apply learned patterns"',
           "definitional",
           "a description, not a claim to check: lesson 00 runs a training step and an inference call on the same "
           "model, and lesson 01 counts what each costs",
           (0, None), (1, None)),
    _claim("frequency", "table row", "Frequency",
           'training "happens once (or periodically for updates)"; inference "millions to billions of times daily"',
           "misleading",
           "the inference volume holds, but developing a model means many training runs, retraining and "
           "fine-tuning: Meta's ML power capacity splits about 10 : 20 : 70 for experimentation : training : "
           "inference (Wu et al. 2022, *Sustainable AI*)",
           (5, 2)),
    _claim("data_volume", "table row", "Data volume",
           'training "terabytes to petabytes"; inference "KB to MB" per request',
           "terabytes supported; petabytes not shown",
           "Llama 3's ~15T training tokens are at least 15 TB even at one byte per token, a deliberate lower "
           "bound (Dubey et al. 2024); a 1,000-token request is 8 KB of int64 token ids; none of the course's "
           "sources puts a text model's training data at petabytes",
           (5, 3)),
    _claim("compute_needs", "table row", "Compute needs",
           'training "extremely high"; inference "moderate but optimized for speed and efficiency"',
           "right per request; misleading in total",
           "one request costs about 2·N FLOPs per token, orders of magnitude below a training run's 6·N·D; "
           "but requests add up: at the seed's own traffic, inference's energy passes a whole training run's "
           "within weeks (lesson 05 computes the break-even)",
           (1, 3), (5, 3), (5, 4)),
    _claim("time_scale", "table row", "Time scale",
           'training "days, weeks, or months"; inference "milliseconds to seconds per request"',
           "supported for a single-pass model, incomplete for a generative one",
           "6·N·D for Llama 3 405B at about 40 % MFU on its 8K–16K H100s is months (Dubey et al. 2024); a "
           "single-pass model answers in milliseconds, but a generated answer takes milliseconds *per token*, "
           "so a few hundred tokens take seconds even at the bandwidth floor, and longer on a busy server",
           (5, 3), (7, 5)),
    _claim("hardware", "table row", "Hardware optimization",
           'training "high memory bandwidth, parallel processing"; inference "low latency, energy efficiency, '
           'throughput"',
           "misleading",
           "both phases need bandwidth, but it limits decoding, which reads every weight and the KV cache for "
           "each token, not training, whose large-batch matmuls are compute-bound; the panels below are judged "
           "one by one",
           (3, 3), (5, 7), (7, 4)),
    _claim("batch_size", "table row", "Batch size",
           'training "32-512+"; inference "1-32"',
           "misleading",
           "LLM pre-training batches are millions of tokens (Llama 2: about 4M; Touvron et al. 2023); servers "
           "batch continuously, up to hundreds of sequences (Orca, vLLM); 1–32 is a latency-first regime",
           (3, 5), (8, 2)),
    _claim("cost_structure", "table row", "Cost structure",
           'training "one-time expense"; inference "ongoing operational costs"',
           "misleading",
           "training recurs too (retraining, fine-tuning, new versions: the frequency row), and which side "
           "dominates depends on the deployment's years and traffic",
           (5, 2)),
    _claim("energy", "table row", "Energy consumption",
           'training "very high during training period"; inference "moderate but continuous"',
           "right per run; misleading in total",
           "a training run's energy is large and concentrated, one request's is small; but inference never "
           "stops, and at the seed's own traffic it passes a whole training run's energy within weeks "
           "(lesson 05 computes the break-even, within the range Luccioni et al. 2024 measured)",
           (5, 4)),
    _claim("precision", "table row", "Precision",
           'training "FP32/FP16"; inference "INT8/INT4"',
           "supported but dated",
           "training today is bf16 mixed precision with fp32 master weights, moving to fp8 (Micikevicius et al. "
           "2022); plain fp16 needs loss scaling; inference uses INT8 and INT4 weights, but also bf16 and fp8",
           (4, 4), (4, 5), (4, 7)),
    _claim("memory", "table row", "Memory usage",
           'training stores gradients, activations and optimizer states; inference "only stores model weights '
           'and activations"',
           "wrong (for inference)",
           "a generative model also keeps a KV cache, which dominates at scale (plus runtime overhead); what "
           "inference does drop is gradients, optimizer state and saved activations; the training side is right",
           (2, 5), (7, 1)),
    _claim("scalability", "table row", "Scalability focus",
           'training "scale up (bigger models, more data)"; inference "scale out (more concurrent requests)"',
           "right in spirit, with caveats",
           "training splits one model's state over devices (ZeRO, FSDP) and scales out too (data parallelism); "
           "inference copies the model to replicas, but a model larger than one GPU is split first, then "
           "replicated; each replica holds a whole copy",
           (6, 8)),
    # ------------------------------------------------------------ hidden costs and the worked examples
    _claim("hidden_costs", "example", "Hidden costs",
           'training "happens once, costs millions upfront"; inference costs "compound rapidly"',
           "misleading (the frame)",
           "a recurring cost is framed as one-off; and $2M is a small fraction of a frontier run: GPT-4's final "
           "run cost about $40M in amortized hardware and energy (Cottier et al. 2024)",
           (5, 3)),
    _claim("daily_cost", "example", "ChatGPT-scale daily cost",
           '"~10 million inference requests/day × ~$0.002 = $20,000/day"',
           "arithmetic right, inputs low",
           "the product is right; the cost per request varies by orders of magnitude with model size and "
           "request length; published estimates for ChatGPT were about $700k a day (SemiAnalysis 2023, "
           "*The Inference Cost of Search Disruption*)",
           (5, 1), (5, 3)),
    _claim("car", "example", "Energy impact",
           'a large model uses "more energy over its lifetime than an average American car, with 90% coming '
           'from inference"',
           "misattributed",
           "the car figure is the CO2 of an architecture-search sweep (Strubell et al. 2019) and 90 % is a vendor "
           "statement about cloud demand; in CO2, GPT-3-scale training alone can exceed a car's lifetime, but no "
           "source says 'energy' or '90 % from inference'; measured splits are 60/40 (Google, Patterson et al. "
           "2022) and 65/35 (Meta, a language model, Wu et al. 2022)",
           (5, 4)),
    _claim("split", "example", "Training vs inference spend",
           '"$2M" to train vs "$18M" a year to serve: inference is 90 % of the cost',
           "misleading",
           "right for exactly one year: it compares a one-off cost with a yearly one, so the share depends on the "
           "deployment's length and traffic; the seed's two examples also describe different services ($20,000 "
           "a day is $7.3M a year, not $18M)",
           (5, 2)),
    _claim("question", "question", "The closing question",
           '"Since 90% of your AI costs come from inference, shouldn\'t your hardware be optimized for it?"',
           "premise misleading",
           "the 90 % is the illustrative split above, which depends on years and traffic; what serving hardware "
           "does need (bandwidth and memory for decoding) follows from the roofline, not from a cost share",
           (5, 2), (5, 7), (7, 4)),
    # ------------------------------------------------------------ "different hardware needs": training
    _claim("train_bandwidth", "training panel", "High Memory Bandwidth",
           '"Need to move large amounts of training data quickly"',
           "wrong reason",
           "training data are tiny next to a step's arithmetic (6·N FLOPs per token, against a few bytes for "
           "the token); training does use bandwidth (optimizer steps, element-wise work, attention), but "
           "decoding is the phase it limits",
           (1, 5), (5, 7), (7, 4)),
    _claim("train_parallel", "training panel", "Massive Parallel Processing",
           '"thousands of training samples simultaneously"',
           "supported, understated",
           "an LLM pre-training batch is millions of tokens (Llama 2: about 4M; Touvron et al. 2023), spread "
           "over thousands of devices (Llama 3 405B: 8K–16K H100s; Dubey et al. 2024)",
           (3, 5), (6, 3)),
    _claim("train_memory", "training panel", "Large Memory Capacity",
           '"Store model, gradients, and optimizer states"',
           "supported",
           "mixed-precision AdamW keeps about 16 bytes per parameter before activations; large models' state "
           "is split over devices (ZeRO, FSDP) because one device cannot hold it",
           (2, 7), (6, 1)),
    _claim("train_precision", "training panel", "High Precision Compute",
           '"FP32/FP16 for gradient stability"',
           "supported but dated",
           "gradients need range more than precision: bf16 with fp32 master weights and fp32 accumulation is "
           "the norm; fp16 works only with loss scaling",
           (4, 3), (4, 4)),
    # ------------------------------------------------------------ "different hardware needs": inference
    _claim("infer_latency", "inference panel", "Low Latency Design",
           '"Low Latency Design"',
           "misleading as stated",
           "a decode step's floor is (parameter bytes + batch × KV bytes) / bandwidth, set by the hardware, not "
           "by a design; servers trade latency for throughput under a latency target (continuous batching)",
           (7, 5), (8, 2)),
    _claim("infer_energy", "inference panel", "Energy Efficiency",
           '"Reduce power consumption per inference"',
           "supported as a goal; no chip advantage at batch 1",
           "at batch 1 decoding is bandwidth-bound on every GPU, and the small inference GPUs (L4, T4) deliver "
           "about the same tokens per watt as an H100; what lowers energy per request is reusing each weight read "
           "for more requests (batching) and fewer bytes per weight (quantization)",
           (3, 1), (4, 5), (5, 7)),
    _claim("infer_throughput", "inference panel", "High Throughput",
           '"Handle many concurrent requests efficiently"',
           "supported",
           "batching multiplies the requests served per second, continuous batching keeps the batch full, and "
           "replicas add more; each trades against the latency of a single request",
           (3, 1), (3, 4), (6, 6), (8, 2)),
    _claim("infer_quantization", "inference panel", "Quantization Support",
           '"Efficient INT8/INT4 operations"',
           "supported, mostly for memory",
           "INT8 and INT4 weights take 2× and 4× less memory than bf16; in LLM serving INT4 is mostly "
           "weight-only (GPTQ, AWQ: weights stored in 4 bits, multiplied in 16), which saves memory and "
           "bandwidth rather than arithmetic; integer speed needs integer kernels",
           (4, 5), (4, 6)),
)

COLUMNS = ("part", "claim", "the seed page says", "verdict", "why", "judged in")


def _sections(claim: Claim) -> str:
    """``05 §2, 07 §5``: the lesson sections that judge ``claim``."""
    return ", ".join(f"{lesson:02d}" + (f" §{section}" if section else "") for lesson, section in claim.where)


def _selected(lesson) -> list[Claim]:
    if lesson is None:
        return list(CLAIMS)
    lesson = v.integer("lesson", lesson, minimum=0, maximum=max(LESSON_FILES))
    return [c for c in CLAIMS if lesson in c.lessons]


def verdicts(lesson: int | None = None) -> pd.DataFrame:
    """The seed page's claims with the course's verdicts, one row per claim
    (columns :data:`COLUMNS`): all of them, or with ``lesson`` (0–8) only the
    claims that lesson judges. Not tied to one lesson."""
    rows = [dict(zip(COLUMNS, (c.part, c.topic, c.says, c.verdict, c.why, _sections(c)))) for c in _selected(lesson)]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _cell(text: str) -> str:
    """Text safe in a Markdown table cell: dollars escaped (else MathJax), pipes escaped."""
    return text.replace("\\", "\\\\").replace("$", "\\$").replace("|", "\\|")


def verdicts_markdown(lesson: int | None = None) -> str:
    """:func:`verdicts` as a Markdown table (for ``IPython.display.Markdown``), the
    verdict in bold and each judging section linked to its lesson. Lesson 00 (the whole table); lessons 03, 04, 05, 06
    and 07 (their own rows)."""
    claims = _selected(lesson)
    lines = ["| the seed page says | verdict | why | judged in |", "|---|---|---|---|"]
    for c in claims:
        links = ", ".join(f"[{ls:02d}" + (f" §{sec}" if sec else "") + f"]({LESSON_FILES[ls]})" for ls, sec in c.where)
        says = f"**{_cell(c.topic)}** ({c.part}): {_cell(c.says)}"
        lines.append(f"| {says} | **{_cell(c.verdict)}** | {_cell(c.why)} | {links} |")
    return "\n".join(lines)
