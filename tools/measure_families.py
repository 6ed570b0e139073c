"""Measure the small transformers models of tests/unit/test_arch_hf.py and record
what lesson 02 shows ("From TinyGPT to Llama-3-8B") in
course_lib/presets/measured_families.json.

transformers is a test-only dependency, so the lesson reads the recorded
measurements; tests/unit/test_arch_hf.py re-measures the same cases and fails if
this file no longer matches. Run: .venv/bin/python tools/measure_families.py
"""

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "support"))
os.environ["HF_HUB_OFFLINE"] = "1"

import torch  # noqa: E402
import transformers  # noqa: E402

import test_arch_hf as t  # noqa: E402
from course_lib import memory  # noqa: E402

OUT = ROOT / "course_lib" / "presets" / "measured_families.json"
CASES = [("sdpa", 256), ("eager", 96)]  # the cases test_activations_within_10_percent measures


def main() -> None:
    rows = []
    for family in t.FAMILIES:
        for attention, seq_len in CASES:
            model = t.build(family, attention)
            ids = t.tokens(seq_len)
            r = memory.training_memory(model, ids, optimizer="sgd", loss_fn=t._ce(ids))
            rows.append({"family": family, "attention": attention, "batch": 2, "seq_len": seq_len,
                         "n_params": model.num_parameters(), "activations": r.activations})
            print(rows[-1])
    kv_rows = []
    for family in t.LESSON_KV:
        tokens, held = t.kv_held_after_generate(family)
        kv_rows.append({"family": family, "batch": 2, "tokens": tokens, "kv_bytes": held})
        print(kv_rows[-1])
    record = {
        "what": "activation bytes saved for backward (course_lib.memory.training_memory), fp32, batch 2, "
                "cross-entropy loss, models in training mode with random weights",
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "configs": t.CONFIGS,
        "sdpa_settings": {"gpt2": {"attn_pdrop": 0.0}},
        "rows": rows,
        "kv_what": "bytes transformers' cache holds after generate (batch 2, 20 prompt tokens, 12 new, fp32), "
                   "for small models shaped like the 2026 families",
        "kv_configs": {family: t.CONFIGS_2026[family] for family in t.LESSON_KV},
        "kv_rows": kv_rows,
    }
    OUT.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
