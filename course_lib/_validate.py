"""Input checks shared by every public function of ``course_lib``.

Each check names the argument, the value it got and what is allowed, in the
style of scikit-learn's validation, so a learner who passes a bad value sees
at once which argument to fix. Every check raises ``TypeError`` (wrong kind of
value) or ``ValueError`` (right kind, value not allowed), never anything else:
a huge int such as ``10**400`` is refused by name instead of overflowing in
``float()``.

Four families:

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
import re
import weakref
from typing import Iterable, Mapping

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


def available_memory() -> int:
    """Bytes of memory this machine has available now (psutil), at least 256 MiB. Every lesson and lab."""
    try:
        return max(int(psutil.virtual_memory().available), 256 * 2**20)
    except Exception:  # psutil missing or unreadable /proc: assume a small machine
        return 2 * 2**30


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


def checked(fn):
    """Decorator for a public formula: its caller sees only named ``ValueError``/``TypeError``.

    - a result that is not finite (inf, NaN, also inside a tuple, dict or
      dataclass) raises ``ValueError`` naming the extreme inputs (:func:`finite`);
    - ``OverflowError``, ``ZeroDivisionError`` or a "math domain error" inside
      the formula become that same ``ValueError``;
    - a ``ValueError``/``TypeError`` raised by an inner call about an argument
      the caller did not pass by that name (``flops`` inside ``training_hours``)
      is re-raised with the call's own arguments in front, so the message names
      the caller's argument.

    Use it on pure arithmetic; the arguments are still checked by name first. Every lesson and lab.
    """
    sig = inspect.signature(fn)

    def arguments(args, kwargs) -> dict:
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError:
            return {}
        bound.apply_defaults()
        return {k: val for k, val in bound.arguments.items() if k not in ("self", "cls")}

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            out = fn(*args, **kwargs)
        except (OverflowError, ZeroDivisionError) as err:
            inputs = arguments(args, kwargs)
            finite(fn.__name__, math.inf, **_numeric(inputs))
            raise ValueError(f"{fn.__name__}: {err}") from None  # pragma: no cover (finite raised)
        except (ValueError, TypeError) as err:
            inputs = arguments(args, kwargs)
            text = str(err)
            if "math domain error" in text:
                finite(fn.__name__, math.nan, **_numeric(inputs))
            if inputs and re.match(r"^\w+\(.*\) is not a finite number", text):  # an inner formula overflowed
                finite(fn.__name__, math.inf, **_numeric(inputs))
            if not inputs or text.startswith(fn.__name__ + "(") or _names_any(text, inputs):
                raise
            given = ", ".join(f"{k}={show(val)}" for k, val in inputs.items())
            raise same_kind(err, f"{fn.__name__}({given}): {text}") from None
        if _first_non_finite(out) is not None:
            finite(fn.__name__, out, **_numeric(arguments(args, kwargs)))
        return out

    return wrapper


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


def sequence(name: str, value, *, min_len: int = 1, max_len: int | None = None) -> list:
    """A list or tuple (or 1-D array) of ``min_len`` to ``max_len`` items, returned as a list. Every lesson and lab."""
    if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__len__") or not hasattr(value, "__iter__"):
        raise TypeError(f"{name} must be a list or tuple, got {show(value)} ({_kind(value)})")
    if getattr(value, "ndim", 1) != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {tuple(value.shape)}")
    items = list(value)
    if len(items) < min_len:
        raise ValueError(f"{name} must have at least {min_len} item(s), got {len(items)}")
    if max_len is not None and len(items) > max_len:
        raise ValueError(f"{name} must have at most {max_len:_} items, got {len(items):_}")
    return items


def numbers_list(name: str, value, *, minimum: float | None = None, allow_zero: bool = True,
                 min_len: int = 1, max_len: int | None = None) -> list[float]:
    """A list or tuple of finite numbers, each checked as ``name[i]``. Every lesson and lab."""
    items = sequence(name, value, min_len=min_len, max_len=max_len)
    return [number(f"{name}[{i}]", x, minimum=minimum, allow_zero=allow_zero) for i, x in enumerate(items)]


# ------------------------------------------------------------------ tensors

_KINDS = {"float": "a floating-point dtype (torch.float32, ...)", "int": "an integer dtype (torch.long, ...)"}


def tensor(name: str, value, *, kind: str | None = None, ndim: int | tuple[int, ...] | None = None,
           last_dim: int | None = None, allow_nan: bool = False):
    """A ``torch.Tensor`` with the right dtype kind, number of dimensions and width.

    ``kind`` is ``"float"`` or ``"int"``; ``ndim`` an int or a tuple of the
    allowed ones; ``last_dim`` the size the last dimension must have (a
    model's input width). NaN or inf values are refused unless ``allow_nan``. Every lesson and lab.
    """
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {show(value)} ({_kind(value)})")
    if kind == "float" and not (value.is_floating_point()):
        raise TypeError(f"{name} must have {_KINDS['float']}, got {value.dtype}")
    if kind == "int" and (value.is_floating_point() or value.is_complex() or value.dtype == torch.bool):
        raise TypeError(f"{name} must have {_KINDS['int']}, got {value.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if value.ndim not in allowed:
            want = " or ".join(map(str, allowed))
            raise ValueError(f"{name} must have {want} dimension(s), got shape {tuple(value.shape)}")
    if last_dim is not None and (value.ndim == 0 or value.shape[-1] != last_dim):
        raise ValueError(f"{name} must have {last_dim} features in its last dimension (the model's input width), "
                         f"got shape {tuple(value.shape)}")
    if value.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(value.shape)}")
    if not allow_nan and value.is_floating_point() and not bool(torch.isfinite(value).all()):
        raise ValueError(f"{name} contains NaN or inf values")
    return value


def token_ids(name: str, value, *, vocab_size: int, max_len: int | None = None):
    """A 2-D (batch, sequence) ``torch.long`` tensor of ids in ``[0, vocab_size)``. Every lesson and lab."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of token ids (dtype torch.long, shape (batch, seq)), "
                        f"got {show(value)} ({_kind(value)})")
    if value.dtype != torch.long:
        raise TypeError(f"{name} must have dtype torch.long (token ids), got {value.dtype}")
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
        tensor(name, value, kind="float", last_dim=inner.d_in)
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


def module(name: str, value, *, needs_parameters: bool = False):
    """A ``torch.nn.Module`` (with at least one parameter if ``needs_parameters``). Every lesson and lab."""
    if not isinstance(value, torch.nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {show(value)} ({_kind(value)})")
    if needs_parameters and next(value.parameters(), None) is None:
        raise ValueError(f"{name} must have parameters (weights), got a {type(value).__name__} with none")
    return value
