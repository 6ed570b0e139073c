"""course_lib.configs and Architecture.from_hf_config against hostile config
files and uploads: every one refused by name with a ValueError or TypeError
(never JSONDecodeError's constructor, RecursionError, OverflowError or
MemoryError), or read exactly as transformers reads it."""

import json
import random

import pytest

from course_lib import arch, configs
from course_lib.arch import Architecture

LLAMA = json.loads(open(arch._PRESET_DIR + "/llama-3-8b.json", encoding="utf-8").read())


def _file(tmp_path, data: bytes):
    path = tmp_path / "config.json"
    path.write_bytes(data)
    return str(path)


def test_bom_and_utf8(tmp_path):
    text = json.dumps(LLAMA).encode()
    assert Architecture.from_hf_config(_file(tmp_path, b"\xef\xbb\xbf" + text)).n_params == 8_030_261_248
    with pytest.raises(ValueError, match="not UTF-8"):
        Architecture.from_hf_config(_file(tmp_path, b"\xff\xfe{}"))


@pytest.mark.parametrize("data, message", [
    (b"{\n  \"model_type\": \"llama\",\n  oops\n}", "not valid JSON.*line 3"),
    (b"[" * 100_000 + b"]" * 100_000, "nests brackets"),
    (b'{"model_type": "llama", "hidden_size": NaN}', "NaN"),
    (b'{"model_type": "mistral", "sliding_window": Infinity}', "Infinity"),
    (b"[1, 2]", "JSON object"),
    (b"", "not valid JSON.*line 1"),
])
def test_bad_files_named(tmp_path, data, message):
    with pytest.raises(ValueError, match=message) as info:
        Architecture.from_hf_config(_file(tmp_path, data))
    assert type(info.value) in (ValueError, configs.ConfigError)  # not a JSONDecodeError rebuilt wrongly


def test_size_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(configs, "MAX_CONFIG_BYTES", 1000)
    with pytest.raises(ValueError, match="a config.json is a few kB"):
        Architecture.from_hf_config(_file(tmp_path, b" " * 2000 + b"{}"))
    with pytest.raises(ValueError, match="a config.json is a few kB"):
        configs.parse_config(b" " * 2000)


@pytest.mark.parametrize("change, kind, message", [
    ({"tie_word_embeddings": "false"}, TypeError, "tie_word_embeddings.*true or false"),
    ({"attention_bias": "no"}, TypeError, "attention_bias"),
    ({"model_type": "mistral", "sliding_window": True}, TypeError, "sliding_window.*integer"),
    ({"hidden_size": 4096.7}, TypeError, "hidden_size.*integer"),
    ({"hidden_size": 4096.0}, TypeError, "hidden_size.*integer"),
    ({"num_key_value_heads": 0}, ValueError, "num_key_value_heads"),
    ({"num_key_value_heads": 5}, ValueError, "multiple of"),
    ({"num_attention_heads": 33, "num_key_value_heads": 11}, ValueError, "hidden_size.*multiple"),
    ({"model_type": "qwen2", "use_sliding_window": True, "sliding_window": 8, "layer_types": "sliding_attention"},
     TypeError, "layer_types.*list"),
    ({"model_type": "qwen2", "layer_types": ["full_attention"]}, ValueError, "one entry per layer"),
    ({"vocab_size": -1}, ValueError, "vocab_size"),
    ({"vocab_size": 10**20}, ValueError, "vocab_size"),
    ({"hidden_act": ["silu"]}, TypeError, "hidden_act.*string"),
])
def test_strict_fields(change, kind, message):
    with pytest.raises(kind, match=message):
        Architecture.from_hf_config({**LLAMA, **change})


def test_gpt2_width_must_divide_by_heads():
    with pytest.raises(ValueError, match="n_embd.*multiple of.*n_head"):
        Architecture.from_hf_config({"model_type": "gpt2", "n_embd": 100, "n_head": 3})


def test_unknown_family_warns_against_relabelling():
    with pytest.raises(ValueError, match="Relabelling.*silently wrong"):
        Architecture.from_hf_config({"model_type": "bert"})


def test_fuzz_of_config_files(tmp_path):
    """Hostile variations of real presets: each is read, or refused with a ValueError/TypeError."""
    rng = random.Random(0)
    keys = ["vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
            "num_key_value_heads", "head_dim", "tie_word_embeddings", "sliding_window", "layer_types",
            "num_local_experts", "num_experts_per_tok", "attention_bias", "model_type", "hidden_act"]
    values = [None, True, False, 0, -1, 1, 7, 2**63, 4096.5, 1e308, "4096", "", [], [1], {}, {"a": 1},
              ["full_attention"], "sliding_attention", "llama", "mixtral"]
    presets = [json.loads(open(f"{arch._PRESET_DIR}/{k}.json", encoding="utf-8").read()) for k in arch.PRESETS]
    outcomes = {"read": 0, "refused": 0}
    for i in range(400):
        config = dict(rng.choice(presets))
        for _ in range(rng.randint(1, 3)):
            config[rng.choice(keys)] = rng.choice(values)
        data = json.dumps(config).encode()
        if i % 5 == 0:  # byte-level damage too
            cut = rng.randrange(len(data))
            data = data[:cut] + bytes([rng.randrange(256)]) + data[cut + 1:]
        try:
            a = Architecture.from_hf_config(_file(tmp_path, data))
            assert a.n_params > 0 and a.kv_cache_bytes(seq_len=128, batch=1, bytes_per_value=2) > 0
            outcomes["read"] += 1
        except (ValueError, TypeError) as err:
            assert type(err) in (ValueError, TypeError, configs.ConfigError), type(err)
            assert "config" in str(err)
            outcomes["refused"] += 1
    assert outcomes["read"] > 20 and outcomes["refused"] > 100, outcomes
