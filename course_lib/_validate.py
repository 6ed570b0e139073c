"""Input checks shared by every public function of ``course_lib``.

Each check names the argument, the value it got and what is allowed, in the
style of scikit-learn's validation, so a learner who passes a bad value sees
at once which argument to fix. Every check raises ``TypeError`` (wrong kind of
value) or ``ValueError`` (right kind, value not allowed), never anything else:
a huge int such as ``10**400`` is refused by name instead of overflowing in
``float()``.

Each public function declares its arguments' domains once, in its
signature, with the ``Annotated`` types at the end of this module
(:data:`PositiveInt`, :data:`Fraction`, :class:`Choice`, :func:`IntRange`,
...); the decorator :func:`checked` reads them, checks each argument by name
before the body runs and passes the converted value on, so the body holds
only the formula::

    @v.checked
    def training_flops(n_params: v.Positive, n_tokens: v.Positive) -> float:
        return 6.0 * n_params * n_tokens

The checks themselves, in four families:

- scalars: :func:`integer`, :func:`number`, :func:`positive`,
  :func:`positive_int`, :func:`fraction`, :func:`boolean`, :func:`string`,
  :func:`choice`;
- upper bounds where work or memory grows with an argument
  (:data:`MAX_REPEATS`, :data:`MAX_REQUESTS`, :data:`MAX_REPLICAS`,
  :func:`fits_memory`);
- results: :func:`finite` checks a computed number (or a tuple, list or
  dict of them) is finite and names the inputs that made it overflow;
- records and tensors at the library boundary: :func:`mapping`,
  :func:`sequence`, :func:`instance`, :func:`tensor`, :func:`token_ids`,
  :func:`module`.

Not tied to one lesson.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import os
import re
import types
import typing
import weakref
from typing import Annotated, Iterable, Mapping

import numpy as np
import psutil
import torch

# ------------------------------------------------------------ upper bounds
# Arguments whose work or memory grows with their value are capped so that a
# typo (an extra zero or three) fails at once with a clear message instead of
# hanging the kernel or exhausting the machine's memory.

#: Most timed repeats (or warm-up runs) of :func:`course_lib.measure.time_it`.
MAX_REPEATS = 10_000
#: Most simulated requests in one call of the batching and serving simulators.
MAX_REQUESTS = 1_000_000
#: Most replicas (servers) in one simulation.
MAX_REPLICAS = 10_000
#: Most simulated request-replica steps in one call (about 4 s on a laptop core).
MAX_SIM_WORK = 10_000_000
#: Share of this machine's available memory one model or tensor may ask for.
MEMORY_SHARE = 0.5

_SHORT = 60  # characters of a value's repr shown in a message


def show(value) -> str:
    """A short repr of ``value`` for an error message (huge ints abbreviated). Every lesson and lab."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        as_int = int(value)
        if abs(as_int) >= 10**30:
            digits = len(str(abs(as_int)))
            return f"{'-' if as_int < 0 else ''}an integer of {digits} digits (about {'-' if as_int < 0 else ''}1e{digits - 1})"
    if isinstance(value, (list, tuple, range)) and len(value) > 100:  # not a repr of 10**6 items (seconds)
        return f"a {type(value).__name__} of {len(value):_} items, starting {show(value[:3])[:-1]}, ..."
    text = repr(value)
    return text if len(text) <= _SHORT else text[: _SHORT - 3] + "..."


def _kind(value) -> str:
    return type(value).__name__


# ------------------------------------------------------------------ scalars


def integer(name: str, value, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an int, or raise if it is not an integer in range.

    Python and numpy integers are accepted, as is a 0-dim integer tensor;
    ``bool`` is refused (``True`` is not a count). Every lesson and lab.
    """
    value = _as_scalar(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer{_range(minimum, maximum)}, got {show(value)} ({_kind(value)})")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be an integer{_range(minimum, maximum)}, got {show(value)}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be an integer{_range(minimum, maximum)}, got {show(value)}")
    return value


def number(
    name: str,
    value,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    allow_zero: bool = True,
) -> float:
    """Return ``value`` as a finite float, or raise if it is not one in range.

    ``minimum`` and ``maximum`` are inclusive; ``allow_zero=False``
    additionally rejects 0 (for sizes and prices where zero makes no sense).
    An integer too large for a float (``10**400``) is refused as not finite. Every lesson and lab.
    """
    value = _as_scalar(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number{_range(minimum, maximum)}, got {show(value)} ({_kind(value)})")
    try:
        as_float = float(value)
    except (OverflowError, ValueError):
        raise ValueError(f"{name} must be a finite number{_range(minimum, maximum)} "
                         f"(at most ~1.8e308 in size), got {show(value)}") from None
    if math.isnan(as_float) or math.isinf(as_float):
        raise ValueError(f"{name} must be a finite number{_range(minimum, maximum)}, got {as_float}")
    if (minimum is not None and as_float < minimum) or (maximum is not None and as_float > maximum):
        raise ValueError(f"{name} must be a number{_range(minimum, maximum)}, got {as_float:g}")
    if not allow_zero and as_float == 0:
        raise ValueError(f"{name} must be non-zero{_range(minimum, maximum)}, got {as_float:g}")
    return as_float


def positive(name: str, value, *, maximum: float | None = None) -> float:
    """A finite number > 0 (and <= ``maximum`` when given). Every lesson and lab."""
    return number(name, value, minimum=0.0, maximum=maximum, allow_zero=False)


def positive_int(name: str, value, *, maximum: int | None = None) -> int:
    """An integer >= 1 (and <= ``maximum`` when given). Every lesson and lab."""
    return integer(name, value, minimum=1, maximum=maximum)


def fraction(name: str, value, *, allow_zero: bool = False) -> float:
    """A number in (0, 1] (or [0, 1] with ``allow_zero``): a utilization, a share. Every lesson and lab."""
    return number(name, value, minimum=0.0, maximum=1.0, allow_zero=allow_zero)


def boolean(name: str, value) -> bool:
    """``True`` or ``False`` (numpy bools too); 0, 1 and strings are refused. Every lesson and lab."""
    if type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_"):
        value = bool(value)
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {show(value)} ({_kind(value)})")
    return value


def string(name: str, value, *, nonempty: bool = True) -> str:
    """A ``str`` (non-empty unless ``nonempty=False``). Every lesson and lab."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {show(value)} ({_kind(value)})")
    if nonempty and not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value


#: Largest seed ``torch.Generator.manual_seed`` and numpy accept everywhere.
MAX_SEED = 2**63 - 1


def seed(name: str, value) -> int:
    """A random seed: an integer from 0 to :data:`MAX_SEED`. Every lesson and lab."""
    return integer(name, value, minimum=0, maximum=MAX_SEED)


def choice(name: str, value, allowed: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``allowed`` (case-sensitive strings). Every lesson and lab."""
    allowed = list(allowed)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {allowed}, got {show(value)} ({_kind(value)})")
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {show(value)}")
    return value


def _as_scalar(value):
    """A 0-dim torch tensor or numpy array as its Python scalar; anything else unchanged."""
    if type(value).__name__ in ("Tensor", "ndarray") and getattr(value, "ndim", None) == 0:
        try:
            return value.item()
        except (RuntimeError, ValueError, TypeError):
            return value
    return value


def _range(minimum, maximum) -> str:
    if minimum is None and maximum is None:
        return ""
    if maximum is None:
        return f" >= {minimum:g}" if isinstance(minimum, float) else f" >= {minimum}"
    if minimum is None:
        return f" <= {maximum:g}" if isinstance(maximum, float) else f" <= {maximum}"
    lo = f"{minimum:g}" if isinstance(minimum, float) else f"{minimum}"
    hi = f"{maximum:g}" if isinstance(maximum, float) else f"{maximum:,}".replace(",", "_")
    return f" from {lo} to {hi}"


# ------------------------------------------------------------- upper bounds


_CGROUP_FILES = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
_CGROUP_USAGE = ("/sys/fs/cgroup/memory.current", "/sys/fs/cgroup/memory/memory.usage_in_bytes")


def _read_int(path: str) -> int | None:
    try:
        with open(path) as f:
            text = f.read(64).strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # "max" (v2, no limit) reads as None


def cgroup_memory_limit() -> tuple[int, int] | None:
    """(limit, usage) in bytes of this container's memory cgroup (v2 ``memory.max``,
    v1 ``memory.limit_in_bytes``), or None when there is no limit. Not tied to one lesson."""
    for limit_path, usage_path in zip(_CGROUP_FILES, _CGROUP_USAGE):
        limit = _read_int(limit_path)
        if limit is not None and limit < 2**60:  # v1 writes a huge number for "no limit"
            return limit, _read_int(usage_path) or 0
    return None


def available_memory() -> int:
    """Bytes of memory available now: the host's (psutil), or less when this
    container's cgroup limit leaves less (Binder: 2 GB on a large host); at
    least 256 MiB. Not tied to one lesson."""
    try:
        host = int(psutil.virtual_memory().available)
    except Exception:  # psutil missing or unreadable /proc: assume a small machine
        host = 2 * 2**30
    group = cgroup_memory_limit()
    if group is not None:
        host = min(host, group[0] - group[1])
    return max(host, 256 * 2**20)


def fits_memory(what: str, n_bytes: float, *, share: float = MEMORY_SHARE) -> float:
    """Refuse a request for ``n_bytes`` above ``share`` of :func:`available_memory`.

    ``what`` names the arguments responsible, e.g. ``"d_model=4096, n_layers=64"``. Every lesson and lab.
    """
    limit = share * available_memory()
    if not n_bytes <= limit:
        try:
            need = f"{n_bytes / 2**30:,.2f}"
        except OverflowError:
            need = "more than 1e300"
        raise ValueError(
            f"{what} would need about {need} GiB, more than this machine can give "
            f"({limit / 2**30:,.2f} GiB, {share:.0%} of the memory available now); choose a smaller size"
        )
    return n_bytes


def work(what: str, amount: float, limit: float = MAX_SIM_WORK) -> None:
    """Refuse a computation of ``amount`` steps above ``limit``; ``what`` names the arguments that set it. Every lesson and lab."""
    if not amount <= limit:
        raise ValueError(f"{what} asks for {amount:,.0f} simulation steps, more than the {limit:,.0f} "
                         f"that finish in a few seconds; use fewer requests or replicas")


# ------------------------------------------------------------------ results


def finite(what: str, result, **inputs):
    """Return ``result`` if every number in it is finite, else raise ``ValueError``.

    ``result`` is a number or a tuple, list or dict of numbers (nested is fine;
    other items are skipped). ``what`` names the computation, ``inputs`` the
    caller's arguments; the message names those that are extreme (the largest
    and the smallest in magnitude), which are what made the result overflow::

        v.finite("training_flops", 6 * n * d, n_params=n, n_tokens=d) Every lesson and lab.
    """
    bad = _first_non_finite(result)
    if bad is None:
        return result
    culprits = _extreme(inputs)
    given = ", ".join(f"{k}={show(val)}" for k, val in inputs.items())
    blame = f"; the result overflows because of {', '.join(culprits)}" if culprits else ""
    raise ValueError(
        f"{what}({given}) is not a finite number (got {bad}){blame}: use values of a realistic size"
    )


def same_kind(err: BaseException, message: str) -> Exception:
    """A ``ValueError`` or ``TypeError`` like ``err`` with a new message, to
    re-raise with context. ``type(err)(message)`` breaks for errors whose
    constructor takes more than a message (``json.JSONDecodeError``,
    ``UnicodeDecodeError``): those become a plain ``ValueError``; an error
    class built from one message (``ValueError``, ``TypeError``,
    :class:`course_lib.configs.ConfigError`) keeps its type. Every lesson and lab."""
    kind = type(err)
    if kind in (ValueError, TypeError) or getattr(kind, "__module__", "").startswith("course_lib"):
        try:
            return kind(message)
        except TypeError:  # pragma: no cover (a course error that takes more arguments)
            pass
    return TypeError(message) if isinstance(err, TypeError) else ValueError(message)


def checked(fn=None, *, finite: bool = True):
    """The one decorator of a public function: it checks the arguments' declared
    domains, and its caller sees only named ``ValueError``/``TypeError``.

    - each argument annotated with a domain (``n: v.PositiveInt``,
      ``dtype: v.Choice[NAMES]``, ``x: v.PositiveInt | None``, see
      :func:`domains`) is checked by name before the body runs, and the body
      gets the converted value (a numpy or 0-dim tensor int as an ``int``);
    - a result that is not finite (inf, NaN, also inside a tuple, dict or
      dataclass) raises ``ValueError`` naming the extreme inputs (:func:`finite`),
      unless ``@checked(finite=False)`` (where inf is the point, e.g. overflow);
    - ``OverflowError``, ``ZeroDivisionError`` or a "math domain error" inside
      the formula become that same ``ValueError``;
    - a ``ValueError``/``TypeError`` raised by an inner call about an argument
      the caller did not pass by that name (``flops`` inside ``training_hours``)
      is re-raised with the call's own arguments in front, so the message names
      the caller's argument.

    Works on functions, methods and ``__init__``. Not tied to one lesson.
    """
    if fn is None:
        return functools.partial(checked, finite=finite)
    sig = inspect.signature(fn)
    plan: list = []  # [(name, Domain, allows None)], read from the annotations at the first call

    def arguments(args, kwargs) -> dict:
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError:
            return {}
        bound.apply_defaults()
        return {k: val for k, val in bound.arguments.items() if k not in ("self", "cls")}

    def validated(args, kwargs):
        if not plan:
            plan.append([(name, dom, optional) for name, (dom, optional) in _domains(fn).items()])
        if not plan[0]:
            return args, kwargs
        bound = sig.bind(*args, **kwargs)
        given = bound.arguments
        for name, dom, optional in plan[0]:
            if name in given and not (optional and given[name] is None):
                given[name] = dom(name, given[name])
        return bound.args, bound.kwargs

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        args, kwargs = validated(args, kwargs)
        try:
            out = fn(*args, **kwargs)
        except (OverflowError, ZeroDivisionError) as err:
            inputs = arguments(args, kwargs)
            _finite(fn.__name__, math.inf, **_numeric(inputs))
            raise ValueError(f"{fn.__name__}: {err}") from None  # pragma: no cover (finite raised)
        except (ValueError, TypeError) as err:
            inputs = arguments(args, kwargs)
            text = str(err)
            if "math domain error" in text:
                _finite(fn.__name__, math.nan, **_numeric(inputs))
            if inputs and re.match(r"^\w+\(.*\) is not a finite number", text):  # an inner formula overflowed
                _finite(fn.__name__, math.inf, **_numeric(inputs))
            if not inputs or text.startswith(fn.__name__ + "(") or _names_any(text, inputs):
                raise
            given = ", ".join(f"{k}={show(val)}" for k, val in inputs.items())
            raise same_kind(err, f"{fn.__name__}({given}): {text}") from None
        if finite and _first_non_finite(out) is not None:
            _finite(fn.__name__, out, **_numeric(arguments(args, kwargs)))
        return out

    wrapper.__checked__ = True
    return wrapper


_finite = finite  # the result check, under a name the decorator's ``finite`` option does not shadow


def _names_any(text: str, inputs: dict) -> bool:
    """Whether the message already names one of the caller's arguments (as a whole word)."""
    return any(re.search(rf"(?<![\w.]){re.escape(k)}(?!\w)", text) for k in inputs)


def _numeric(inputs: dict) -> dict:
    return {k: val for k, val in inputs.items() if isinstance(val, numbers.Real) and not isinstance(val, bool)} or inputs


def _first_non_finite(result):
    if isinstance(result, (bool, numbers.Integral)):  # ints are exact: never inf or NaN
        return None
    if isinstance(result, numbers.Real):
        try:
            return None if math.isfinite(result) else result
        except OverflowError:
            return result
    if isinstance(result, Mapping):
        items = result.values()
    elif isinstance(result, (tuple, list)):
        items = result
    elif hasattr(result, "__dataclass_fields__"):
        items = [getattr(result, f) for f in result.__dataclass_fields__]
    else:
        return None
    for item in items:
        bad = _first_non_finite(item)
        if bad is not None:
            return bad
    return None


def _extreme(inputs: dict) -> list[str]:
    """Names of the numeric inputs far from 1: the largest or the smallest non-zero in magnitude."""
    sizes = {}
    for name, val in inputs.items():
        if isinstance(val, numbers.Real) and not isinstance(val, bool) and val != 0:
            try:
                sizes[name] = math.log10(abs(val))
            except (OverflowError, ValueError):
                sizes[name] = 400.0
    if not sizes:
        return list(inputs)
    top = max(abs(s) for s in sizes.values())
    far = [n for n, s in sizes.items() if abs(s) >= 15 and abs(s) >= top / 2]
    return far or [max(sizes, key=lambda n: abs(sizes[n]))]


# -------------------------------------------------- records and containers


def instance(name: str, value, kind, what: str | None = None):
    """``value`` if it is an instance of ``kind`` (a type or tuple of types), else ``TypeError``. Every lesson and lab."""
    if not isinstance(value, kind):
        names = what or (" or ".join(k.__name__ for k in kind) if isinstance(kind, tuple) else kind.__name__)
        raise TypeError(f"{name} must be {names}, got {show(value)} ({_kind(value)})")
    return value


def mapping(name: str, value, required: Iterable[str] = ()) -> Mapping:
    """A dict-like ``value`` holding every key in ``required``. Every lesson and lab."""
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a dict, got {show(value)} ({_kind(value)})")
    missing = [k for k in required if k not in value]
    if missing:
        raise ValueError(f"{name} is missing the key(s) {missing}; it has {sorted(map(str, value))}")
    return value


def sequence(name: str, value, *, min_len: int = 1, max_len: int | None = MAX_REQUESTS) -> list:
    """A list or tuple (or 1-D array) of ``min_len`` to ``max_len`` items, returned as a list. Every lesson and lab."""
    if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__len__") or not hasattr(value, "__iter__"):
        raise TypeError(f"{name} must be a list or tuple, got {show(value)} ({_kind(value)})")
    if getattr(value, "ndim", 1) != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {tuple(value.shape)}")
    if max_len is not None and len(value) > max_len:  # before copying: range(10**8) is not read
        raise ValueError(f"{name} must have at most {max_len:_} items, got {len(value):_}")
    items = list(value)
    if len(items) < min_len:
        raise ValueError(f"{name} must have at least {min_len} item(s), got {len(items)}")
    if max_len is not None and len(items) > max_len:
        raise ValueError(f"{name} must have at most {max_len:_} items, got {len(items):_}")
    return items


def numbers_list(name: str, value, *, minimum: float | None = None, allow_zero: bool = True,
                 min_len: int = 1, max_len: int | None = MAX_REQUESTS) -> list[float]:
    """A list or tuple of finite numbers, each checked as ``name[i]``. Every lesson and lab."""
    items = sequence(name, value, min_len=min_len, max_len=max_len)
    if len(items) > 1000 and {type(x) for x in items} <= {float, int}:  # a long plain list: checked at once
        try:
            arr = np.asarray(items, dtype=float)
        except OverflowError:
            arr = None
        if arr is not None and np.isfinite(arr).all() and (minimum is None or arr.min() >= minimum) \
                and (allow_zero or not (arr == 0).any()):
            return arr.tolist()
    return [number(f"{name}[{i}]", x, minimum=minimum, allow_zero=allow_zero) for i, x in enumerate(items)]


# ------------------------------------------------------------------ tensors

_KINDS = {"float": "a floating-point dtype (torch.float32, ...)", "int": "an integer dtype (torch.long, ...)"}


def tensor(name: str, value, *, kind: str | None = None, ndim: int | tuple[int, ...] | None = None,
           last_dim: int | None = None, allow_nan: bool = False, dtype=None, width: str = "the model's input width"):
    """A ``torch.Tensor`` with the right dtype kind, number of dimensions and width.

    ``kind`` is ``"float"`` or ``"int"``; ``ndim`` an int or a tuple of the
    allowed ones; ``last_dim`` the size the last dimension must have (a
    model's input width); ``dtype`` the exact dtype (a model's weights' dtype:
    torch would fail on float64 input to float32 weights). NaN or inf values
    are refused unless ``allow_nan``; a meta tensor (no data) is refused. Every lesson and lab.
    """
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {show(value)} ({_kind(value)})")
    if value.device.type == "meta":
        raise ValueError(f"{name} is a meta tensor (a shape without data); pass a tensor with values, "
                         f"got shape {tuple(value.shape)} on device meta")
    if kind == "float" and not (value.is_floating_point()):
        raise TypeError(f"{name} must have {_KINDS['float']}, got {value.dtype}")
    if kind == "int" and (value.is_floating_point() or value.is_complex() or value.dtype == torch.bool):
        raise TypeError(f"{name} must have {_KINDS['int']}, got {value.dtype}")
    if dtype is not None and value.dtype != dtype:
        raise TypeError(f"{name} must have dtype {dtype} (the model's weights), got {value.dtype}; "
                        f"convert it with {name}.to({dtype})")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if value.ndim not in allowed:
            want = " or ".join(map(str, allowed))
            raise ValueError(f"{name} must have {want} dimension(s), got shape {tuple(value.shape)}")
    if last_dim is not None and (value.ndim == 0 or value.shape[-1] != last_dim):
        raise ValueError(f"{name} must have {last_dim} features in its last dimension ({width}), "
                         f"got shape {tuple(value.shape)}")
    if value.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(value.shape)}")
    if not allow_nan and value.is_floating_point() and not bool(torch.isfinite(value).all()):
        raise ValueError(f"{name} contains NaN or inf values (it must hold finite numbers)")
    return value


def token_ids(name: str, value, *, vocab_size: int, max_len: int | None = None):
    """A 2-D (batch, sequence) ``torch.long`` tensor of ids in ``[0, vocab_size)``. Every lesson and lab."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of token ids (dtype torch.long, shape (batch, seq)), "
                        f"got {show(value)} ({_kind(value)})")
    if value.dtype != torch.long:
        raise TypeError(f"{name} must have dtype torch.long (token ids), got {value.dtype}")
    if value.device.type == "meta":
        raise ValueError(f"{name} is a meta tensor (a shape without data); pass token ids with values")
    if value.ndim != 2:
        raise ValueError(f"{name} must have shape (batch, seq), got shape {tuple(value.shape)}")
    if value.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(value.shape)}")
    if max_len is not None and value.shape[1] > max_len:
        raise ValueError(f"{name} has {value.shape[1]} tokens per sequence, more than max_seq_len={max_len}")
    lo, hi = int(value.min()), int(value.max())
    if lo < 0 or hi >= vocab_size:
        raise ValueError(f"{name} must hold ids from 0 to {vocab_size - 1} (vocab_size={vocab_size}), "
                         f"got ids from {lo} to {hi}")
    return value


def model_input(name: str, model, value):
    """``value`` checked as an input of ``model`` at the library boundary, named ``name``.

    A course MLP (it has ``d_in``) takes a float tensor of width ``d_in``; a
    TinyGPT (it has ``vocab_size``, also inside ``Checkpointed``) takes
    (batch, seq) torch.long ids below ``vocab_size``; any other module takes
    a tensor without NaN. A tensor that passed for this model and has not
    changed since is not scanned again (:func:`input_passed`). Every lesson and lab.
    """
    inner = getattr(model, "gpt", model)
    if input_passed(inner, value, levels=("boundary",)):
        return value
    if hasattr(inner, "vocab_size") and isinstance(getattr(inner, "vocab_size"), int):
        token_ids(name, value, vocab_size=inner.vocab_size, max_len=getattr(inner, "max_seq_len", None))
    elif hasattr(inner, "d_in") and isinstance(getattr(inner, "d_in"), int):
        tensor(name, value, kind="float", last_dim=inner.d_in, dtype=None if _autocast() else weight_dtype(inner))
    else:
        tensor(name, value)
    remember_input(inner, value, "boundary")
    return value


# The input that last passed a check, so that a timed loop calling a model on
# the same tensor again and again (lessons 01, 03, 05, 07) does not time a NaN
# scan or the ids' min and max with every call, nor check twice (the library
# function, then the model's forward pre-hook): (model, tensor) as weak
# references, the tensor's version counter (bumped by every in-place change),
# and the level of the check that passed.
_passed: list = [None]


def _version(value):
    try:
        return value._version
    except (AttributeError, RuntimeError):  # an inference-mode tensor keeps no version counter
        return None


def remember_input(model, value, level: str) -> None:
    """Record that ``value`` passed ``model``'s input check at ``level``
    (``"boundary"``: :func:`model_input`; ``"forward"``: a model's pre-hook). Every lesson and lab."""
    version = _version(value)
    if version is None:
        _passed[0] = None
        return
    try:
        _passed[0] = (weakref.ref(model), weakref.ref(value), version, level)
    except TypeError:  # not weak-referenceable: never remembered
        _passed[0] = None


def input_passed(model, value, *, levels=("boundary", "forward")) -> bool:
    """Whether ``value``, unchanged, last passed ``model``'s input check at one of ``levels``. Every lesson and lab."""
    last = _passed[0]
    return (last is not None and last[0]() is model and last[1]() is value and last[3] in levels
            and _version(value) == last[2])


def _autocast() -> bool:
    """Whether autocast is on (then torch casts inputs itself)."""
    try:
        return torch.is_autocast_enabled("cpu") or torch.is_autocast_enabled("cuda")
    except TypeError:  # an older torch without the device argument
        return torch.is_autocast_enabled() or torch.is_autocast_cpu_enabled()


def weight_dtype(model):
    """The dtype of ``model``'s first floating-point weight (None without one). Every lesson and lab."""
    for p in model.parameters():
        if p.is_floating_point():
            return p.dtype
    return None


def module(name: str, value, *, needs_parameters: bool = False):
    """A ``torch.nn.Module`` (with at least one parameter if ``needs_parameters``). Every lesson and lab."""
    if not isinstance(value, torch.nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {show(value)} ({_kind(value)})")
    if needs_parameters and next(value.parameters(), None) is None:
        raise ValueError(f"{name} must have parameters (weights), got a {type(value).__name__} with none")
    return value


# ------------------------------------------------------- declared domains
# An argument's domain, declared once in the signature as ``Annotated[type,
# Domain(...)]``; :func:`checked` applies it and tests/contract/test_properties.py
# derives its bad values and its extremes from ``Domain.kind``.

#: Most items in a list a learner passes (values, sizes, quantiles, a trace).
MAX_ITEMS = 100_000


class Domain:
    """An argument's allowed values: ``check(name, value, **options)`` returns the
    value to use or raises by name; ``kind`` names the family of values the
    property tests try (a key of their ``BAD`` table). Not tied to one lesson."""

    __slots__ = ("kind", "check", "options")

    def __init__(self, kind: str, check, /, **options):
        self.kind, self.check, self.options = kind, check, options

    def __call__(self, name: str, value):
        return self.check(name, value, **self.options)

    def __repr__(self) -> str:
        opts = ", ".join(f"{k}={val!r}" for k, val in self.options.items())
        return f"Domain({self.kind!r}, {self.check.__name__}{', ' if opts else ''}{opts})"


def _domains(fn) -> dict:
    """{argument: (Domain, allows None)} read from ``fn``'s annotations (a class: its ``__init__``)."""
    if inspect.isclass(fn):
        fn = fn.__init__
    fn = inspect.unwrap(fn)
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception:  # an annotation that does not evaluate: read the others one by one
        hints = {}
        for name, ann in getattr(fn, "__annotations__", {}).items():
            try:
                hints[name] = eval(ann, fn.__globals__) if isinstance(ann, str) else ann  # noqa: S307
            except Exception:  # noqa: BLE001 - not a domain, unless it names one
                if isinstance(ann, str) and "v." in ann:
                    raise
                continue
    out = {}
    for name in inspect.signature(fn).parameters:
        found = _domain_of(hints.get(name))
        if found is not None:
            out[name] = found
    return out


def _domain_of(hint):
    if typing.get_origin(hint) is typing.Annotated:
        doms = [m for m in hint.__metadata__ if isinstance(m, Domain)]
        return (doms[0], False) if doms else None
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        members = typing.get_args(hint)
        if type(None) in members:
            for m in members:
                found = _domain_of(m)
                if found is not None:
                    return found[0], True
    return None


def domains(fn) -> dict[str, Domain]:
    """The declared domain of each annotated argument of ``fn`` (for tests and tools). Not tied to one lesson."""
    return {name: dom for name, (dom, _) in _domains(fn).items()}


def _nonneg(name, value, maximum=None):
    return number(name, value, minimum=0.0, maximum=maximum)


def _callable(name, value):
    if not callable(value):
        raise TypeError(f"{name} must be a function (callable), got {show(value)} ({_kind(value)})")
    return value


Positive = Annotated[float, Domain("pos", positive)]
"""A finite number > 0 (a size, a price, a rate)."""
NonNegative = Annotated[float, Domain("nonneg", _nonneg)]
"""A finite number >= 0."""
Real = Annotated[float, Domain("real", number)]
"""Any finite number."""
PositiveInt = Annotated[int, Domain("posint", positive_int)]
"""An integer >= 1 (a count)."""
NonNegativeInt = Annotated[int, Domain("nonnegint", integer, minimum=0)]
"""An integer >= 0."""
Fraction = Annotated[float, Domain("frac", fraction)]
"""A number in (0, 1]: a utilization, a share."""
Fraction0 = Annotated[float, Domain("frac0", fraction, allow_zero=True)]
"""A number in [0, 1]."""
Bool = Annotated[bool, Domain("bool", boolean)]
"""True or False (not 0, 1 or a string)."""
Str = Annotated[str, Domain("str", string)]
"""A non-empty string."""
Text = Annotated[str, Domain("str", string, nonempty=False)]
"""Any string, empty included (a chart's title)."""
Seed = Annotated[int, Domain("seed", seed)]
"""A random seed, 0 to :data:`MAX_SEED`."""
Bytes = Annotated[float, Domain("nonneg", _nonneg)]
"""A number of bytes >= 0."""
Seconds = Annotated[float, Domain("pos", positive)]
"""A duration in seconds > 0."""
#: Longest wait for worker processes (a day): a bigger timeout overflows the C timers.
MAX_TIMEOUT_S = 86_400.0
#: Shortest wait for worker processes: a shorter one ends before a process can start (1e-320 s
#: reached torch's process-group rendezvous as a 0 ms timeout).
MIN_TIMEOUT_S = 0.1
Timeout = Annotated[float, Domain("pos", number, minimum=MIN_TIMEOUT_S, maximum=MAX_TIMEOUT_S)]
"""A timeout in seconds, from :data:`MIN_TIMEOUT_S` to :data:`MAX_TIMEOUT_S`."""
Path = Annotated[object, Domain("path", lambda name, value: instance(name, value, (str, os.PathLike), "a path (str)"))]
"""A file or folder path (str or pathlib.Path)."""
Callable_ = Annotated[object, Domain("callable", _callable)]
"""A function."""


_SHAPE_FIELDS = ("family", "hidden_size", "n_layers", "n_heads", "n_kv_heads", "head_dim", "vocab_size")


def _shape(name, value):
    if isinstance(value, type) or not all(hasattr(value, f) for f in _SHAPE_FIELDS):
        raise TypeError(f"{name} must be a model shape (a course_lib.arch.Architecture: arch.preset(...), "
                        f"arch.resolve(...)), got {show(value)} ({_kind(value)})")
    return value


Shape = Annotated[object, Domain("record", _shape)]
"""A model's shape: a :class:`course_lib.arch.Architecture` (checked by its fields, for the
modules that ``arch`` itself imports)."""


def IntRange(minimum: int | None = None, maximum: int | None = None, kind: str | None = None):
    """An integer from ``minimum`` to ``maximum``: ``IntRange(1, MAX_REPEATS)`` caps a size by the
    work it sets. Not tied to one lesson."""
    if kind is None:
        low = -1 if minimum is None else minimum
        kind = "nonnegint" if low == 0 else "work" if low >= 1 and maximum is not None else "posint" if low >= 1 else "int"
    return Annotated[int, Domain(kind, integer, minimum=minimum, maximum=maximum)]


def Range(minimum: float | None = None, maximum: float | None = None, *, allow_zero: bool = True):
    """A finite number from ``minimum`` to ``maximum`` (0 refused with ``allow_zero=False``). Not tied to one lesson."""
    # from 0 with a cap above: still a positive (or non-negative) size, with those bad values
    kind = ("pos" if minimum == 0 and not allow_zero else "frac0" if (minimum, maximum) == (0, 1) else
            "nonneg" if minimum == 0 else "real")
    return Annotated[float, Domain(kind, number, minimum=minimum, maximum=maximum, allow_zero=allow_zero)]


def Size(maximum: int):
    """A size >= 1 capped at ``maximum`` (the work or memory it sets). Not tied to one lesson."""
    return Annotated[int, Domain("work", positive_int, maximum=maximum)]


class Choice:
    """``Choice[NAMES]``: one of the strings ``NAMES`` (a tuple, list, or dict's keys). Not tied to one lesson."""

    def __class_getitem__(cls, allowed):
        if isinstance(allowed, str):
            allowed = (allowed,)
        return Annotated[str, Domain("choice", choice, allowed=tuple(allowed))]


def Numbers(*, minimum: float | None = None, allow_zero: bool = True, min_len: int = 1, max_len: int = MAX_ITEMS):
    """A list or tuple of finite numbers, at most ``max_len`` of them. Not tied to one lesson."""
    return Annotated[list, Domain("seq", numbers_list, minimum=minimum, allow_zero=allow_zero,
                                  min_len=min_len, max_len=max_len)]


def Sequence(*, min_len: int = 1, max_len: int = MAX_ITEMS):
    """A list or tuple of ``min_len`` to ``max_len`` items. Not tied to one lesson."""
    return Annotated[list, Domain("seq", sequence, min_len=min_len, max_len=max_len)]


def Tensor(*, kind: str | None = None, ndim=None, allow_nan: bool = False):
    """A ``torch.Tensor`` of a dtype kind and number of dimensions (:func:`tensor`). Not tied to one lesson."""
    return Annotated[torch.Tensor, Domain("tensor", tensor, kind=kind, ndim=ndim, allow_nan=allow_nan)]


def Instance(kind, what: str | None = None):
    """An instance of ``kind`` (a class or a tuple of classes). Not tied to one lesson."""
    return Annotated[object, Domain("record", instance, kind=kind, what=what)]


def _limits(name, value):
    mapping(name, value)
    if len(value) > 100:
        raise ValueError(f"{name} must have at most 100 entries, got {len(value):_}")
    for key, val in value.items():
        string(f"{name} key", key)
        number(f"{name}[{key!r}]", val)
    return dict(value)


Limits = Annotated[dict, Domain("record", _limits)]
"""A dict of at most 100 labels (str) to finite numbers (a chart's marked limits)."""


def Mapping_(*required: str):
    """A dict holding every key in ``required``. Not tied to one lesson."""
    return Annotated[dict, Domain("record", mapping, required=required)]


Module = Annotated[torch.nn.Module, Domain("model", module)]
"""A ``torch.nn.Module``."""
Model = Annotated[torch.nn.Module, Domain("model", module, needs_parameters=True)]
"""A ``torch.nn.Module`` with weights."""
