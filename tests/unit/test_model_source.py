"""The fit and ZeRO calculators say which model they compute for, and a clear button returns
an upload or a config path to the model menu (issue 23)."""

from __future__ import annotations

import datetime
import json

import pytest

from course_lib.ui import calculators


def _upload(config: dict, name: str = "my-llama.json") -> tuple:
    data = json.dumps(config).encode()
    return ({"name": name, "type": "application/json", "size": len(data), "content": memoryview(data),
             "last_modified": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)},)


LLAMA = {"model_type": "llama", "hidden_size": 4096, "num_attention_heads": 32, "num_key_value_heads": 8,
         "num_hidden_layers": 32, "intermediate_size": 14336, "vocab_size": 128256}


def _parts(calc):
    label = next(x for x in calc.extras if "calc-model-source" in x._dom_classes)
    button = next(x for x in calc.extras if "calc-clear-config" in x._dom_classes)
    return label, button


@pytest.mark.parametrize("make", [calculators.fit_calculator, lambda: calculators.zero_calculator(chart=False)])
def test_an_upload_is_named_and_the_clear_button_returns_to_the_menu(make):
    calc = make()
    label, button = _parts(calc)
    calc.controls["model"].value = "gpt2"
    menu_answer = calc.result_html.value
    assert "menu's model" in label.value and "GPT-2" in label.value
    assert button.layout.display == "none"  # nothing to clear

    calc.controls["upload"].value = _upload(LLAMA)
    assert "my-llama.json" in label.value and "overrides the model menu" in label.value
    assert button.layout.display is None  # shown
    assert calc.result_html.value != menu_answer  # it answers for the upload, not GPT-2
    assert calc.last_error is None

    button.click()
    assert calc.controls["upload"].value == () and calc.controls["config_path"].value == ""
    assert "menu's model" in label.value and "GPT-2" in label.value
    assert button.layout.display == "none"
    assert calc.result_html.value == menu_answer  # back to the menu's answer


def test_a_config_path_is_named_and_cleared(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(LLAMA))
    calc = calculators.fit_calculator()
    label, button = _parts(calc)
    calc.controls["config_path"].value = str(path)
    assert str(path) in label.value and "overrides" in label.value
    button.click()
    assert calc.controls["config_path"].value == "" and "menu's model" in label.value


def test_labels_are_not_cut():
    calc = calculators.fit_calculator()
    _, button = _parts(calc)
    assert calc.controls["upload"].layout.width == "auto" and button.layout.width == "auto"


def test_model_source_in_words():
    assert calculators.model_source((), "", "GPT-2 (124M)") == "Computing for the menu's model: GPT-2 (124M)."
    assert "the config file /x/config.json" in calculators.model_source((), "/x/config.json", "GPT-2")
    assert "uploaded file a.json" in calculators.model_source(_upload(LLAMA, "a.json"), "/x/config.json", "GPT-2")
    with pytest.raises(TypeError, match="config_path"):
        calculators.model_source((), 5, "GPT-2")
    with pytest.raises(TypeError, match="upload"):
        calculators.model_source(5, "", "GPT-2")
