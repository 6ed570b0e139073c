"""Reading a Hugging Face ``config.json`` safely: the one reader for every
config path and upload (lesson 02's calculators, :mod:`course_lib.arch`).

:func:`read_config` takes a path, the bytes of an upload, or a dict, and
returns a dict, or raises :class:`ConfigError` (a ``ValueError``) or a
``TypeError`` that names the file and what is wrong:

- a size limit (:data:`MAX_CONFIG_BYTES`): a config.json is a few kB;
- UTF-8 with or without a byte-order mark (Windows Notepad writes one);
- bad JSON named with its line and column; nesting deeper than
  :data:`MAX_DEPTH` refused before the parser recurses;
- ``NaN``, ``Infinity`` and ``-Infinity`` refused by name (JSON has none).

:func:`field_int`, :func:`field_bool`, :func:`field_float`,
:func:`field_str` and :func:`field_str_list` read one key strictly: a string
is not a bool, a float is not an int, a list is not a string.
"""

from __future__ import annotations

import json
import math
import os

#: Largest config file read (bytes); real config.json files are a few kB.
MAX_CONFIG_BYTES = 4 * 1024 * 1024
#: Deepest nesting of brackets accepted (real configs nest 2 or 3 deep).
MAX_DEPTH = 64


class ConfigError(ValueError):
    """A config file or dict that does not describe a model: what, and where. Used by
    :func:`course_lib.configs.field_float` and :func:`course_lib.configs.field_int`; not tied to one lesson."""

    def __init__(self, message: str):
        super().__init__(message)


def _constant(name: str):
    raise ConfigError(f"{name} is not a number a config may hold (JSON has no {name}; write a finite number)")


def _depth(text: str) -> int:
    """Deepest bracket nesting outside strings."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_DEPTH:
                    return deepest
        elif ch in "]}":
            depth -= 1
    return deepest


def parse_config(config, *, where: str = "config") -> dict:
    """Parse ``config``, the bytes (or text) of a ``config.json`` held in
    memory, e.g. an upload's content; ``where`` names it in errors. Used by :func:`course_lib.configs.read_config` and
    :func:`course_lib.ui.calculators.config_upload`; not tied to one lesson."""
    data = config
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if isinstance(data, bytes):
        if len(data) > MAX_CONFIG_BYTES:
            raise ConfigError(f"{where} is {len(data):,} bytes; a config.json is a few kB "
                              f"(at most {MAX_CONFIG_BYTES:,} bytes are read)")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise ConfigError(f"{where} is not UTF-8 text (byte {err.start}: {data[err.start:err.start + 1]!r}); "
                              "save it as UTF-8") from None
    elif isinstance(data, str):
        text = data[1:] if data.startswith("\ufeff") else data
        if len(text) > MAX_CONFIG_BYTES:
            raise ConfigError(f"{where} has {len(text):,} characters; a config.json is a few kB "
                              f"(at most {MAX_CONFIG_BYTES:,} are read)")
    else:
        raise TypeError(f"{where} must be the bytes or text of a config.json, got {type(data).__name__}")
    if _depth(text) > MAX_DEPTH:
        raise ConfigError(f"{where} nests brackets more than {MAX_DEPTH} deep; a config.json nests 2 or 3")
    try:
        config = json.loads(text, parse_constant=_constant)
    except json.JSONDecodeError as err:
        raise ConfigError(f"{where} is not valid JSON: {err.msg} at line {err.lineno}, column {err.colno}") from None
    except RecursionError:  # pragma: no cover (the depth check comes first)
        raise ConfigError(f"{where} nests too deep to read") from None
    except ConfigError as err:
        raise ConfigError(f"{where}: {err}") from None
    if not isinstance(config, dict):
        raise ConfigError(f"{where} must hold a JSON object ({{...}}), got a JSON {type(config).__name__}")
    return config


def read_config(config, *, argument: str = "config") -> dict:
    """The one reader of a model config: a dict (returned as a copy), the
    path of a local ``config.json`` (``str`` or ``os.PathLike``), or the
    bytes of an upload; errors name ``argument`` and the file. Used by
    :meth:`course_lib.arch.Architecture.from_hf_config`; not tied to one lesson."""
    if isinstance(config, dict):
        return dict(config)
    if isinstance(config, (bytes, bytearray, memoryview)):
        return parse_config(config, where=f"{argument} (uploaded bytes)")
    if not isinstance(config, (str, os.PathLike)):
        raise TypeError(f"{argument} must be a dict or the path of a config.json file, got {type(config).__name__}")
    path = os.fspath(config)
    if not isinstance(path, str):
        raise TypeError(f"{argument} must be a dict or the path of a config.json file, got a bytes path")
    if not os.path.isfile(path):
        raise ValueError(f"{argument} must be a dict or the path of a config.json file, got {path!r} (no such file)")
    size = os.path.getsize(path)
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(f"{argument} {path!r} is {size:,} bytes; a config.json is a few kB "
                          f"(at most {MAX_CONFIG_BYTES:,} bytes are read)")
    with open(path, "rb") as f:
        data = f.read(MAX_CONFIG_BYTES + 1)
    return parse_config(data, where=f"{argument} {path!r}")


# ------------------------------------------------------------ strict fields


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def field_int(config: dict, key: str, default=None, *, minimum: int = 0, maximum: int = 10**9, allow_none=False):
    """``config[key]`` as an int in ``[minimum, maximum]`` (a bool, a float
    or a string refused), ``default`` when absent. Used by :meth:`course_lib.arch.Architecture.from_hf_config`; not
    tied to one lesson."""
    value = config.get(key, default)
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"config['{key}'] must be an integer, got {_show(value)}")
    if not minimum <= value <= maximum:
        raise ConfigError(f"config['{key}'] must be an integer in [{minimum}, {maximum:,}], got {_show(value)}")
    return value


def field_bool(config: dict, key: str, default=False) -> bool:
    """``config[key]`` as ``true``/``false`` (a string such as ``"false"`` refused). Not tied to one lesson."""
    value = config.get(key, default)
    if not isinstance(value, bool):
        raise TypeError(f"config['{key}'] must be true or false, got {_show(value)}")
    return value


def field_float(config: dict, key: str, default=0.0, *, minimum: float = 0.0, maximum: float = 1e9,
                allow_none=False):
    """``config[key]`` as a finite number in ``[minimum, maximum]`` (ints
    accepted, bools and strings refused). Not tied to one lesson."""
    value = config.get(key, default)
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"config['{key}'] must be a number, got {_show(value)}")
    if not math.isfinite(value) or not minimum <= value <= maximum:
        raise ConfigError(f"config['{key}'] must be a finite number in [{minimum}, {maximum:g}], got {_show(value)}")
    return float(value)


def field_str(config: dict, key: str, default=None, *, allow_none=False):
    """``config[key]`` as a string. Used by :meth:`course_lib.arch.Architecture.from_hf_config`; not tied to one
    lesson."""
    value = config.get(key, default)
    if value is None and allow_none:
        return None
    if not isinstance(value, str):
        raise TypeError(f"config['{key}'] must be a string, got {_show(value)}")
    return value


def field_str_list(config: dict, key: str, length: int | None = None, *, allowed=None):
    """``config[key]`` as a list of strings (a string is not a list), of
    ``length`` entries each in ``allowed``; ``None`` when absent. Not tied to one lesson."""
    value = config.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise TypeError(f"config['{key}'] must be a list of strings, got {_show(value)}")
    if length is not None and len(value) != length:
        raise ConfigError(f"config['{key}'] must have one entry per layer ({length}), got {len(value)}")
    if allowed is not None:
        bad = sorted(set(value) - set(allowed))
        if bad:
            raise ConfigError(f"config['{key}'] entries must be among {list(allowed)}, got {bad}")
    return list(value)


def field_int_list(config: dict, key: str, *, minimum: int = 0, maximum: int = 10**9, min_length: int = 0):
    """``config[key]`` as a list of ints each in ``[minimum, maximum]`` (bools,
    floats and strings refused), at least ``min_length`` long; ``None`` when
    absent or null. Used by :meth:`course_lib.arch.Architecture.from_hf_config`
    (Llama 4's ``moe_layers`` and ``no_rope_layers``); not tied to one lesson."""
    value = config.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(x, int) and not isinstance(x, bool) for x in value):
        raise TypeError(f"config['{key}'] must be a list of integers, got {_show(value)}")
    bad = [x for x in value if not minimum <= x <= maximum]
    if bad:
        raise ConfigError(f"config['{key}'] entries must be integers in [{minimum}, {maximum:,}], got {_show(bad)}")
    if len(value) < min_length:
        raise ConfigError(f"config['{key}'] must have at least {min_length} entries (one per layer), got {len(value)}")
    return list(value)
