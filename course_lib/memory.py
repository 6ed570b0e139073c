"""Where training memory goes, measured to the byte (lesson 02).

- :func:`training_memory` runs one real training step and reports the bytes
  of weights, gradients, optimizer state and activations saved for backward
  as a :class:`MemoryReport`; :func:`inference_memory` does the same for a
  forward pass under ``torch.inference_mode()``.
- :func:`peak_training_memory` watches one training step the way an
  allocator sees it: the most bytes alive at once, phase by phase. On CUDA
  it reads ``torch.cuda.max_memory_allocated``; on the CPU a
  :class:`LiveTensorBytes` dispatch mode keeps a running total of the
  storages that tensors hold.
- :class:`Checkpointed` wraps a :class:`~course_lib.models.TinyGPT` so each
  block runs under ``torch.utils.checkpoint``: its activations are dropped
  after the forward pass and recomputed during backward.

How activations are found: PyTorch's autograd calls a *pack hook* for every
tensor an operation saves for its backward
(``torch.autograd.graph.saved_tensors_hooks``). The same tensor can be saved
by several operations (a ReLU's output is also the next Linear's input), and
a Linear saves its weight, so we count each underlying storage once and leave
out the parameters' storages.
"""

from __future__ import annotations

import copy
import weakref
from dataclasses import dataclass

import pandas as pd
import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.checkpoint import checkpoint

from . import _validate as v
from . import predict, train
from .models import count_params
from .train import OPTIMIZER_NAMES, storage_key

# The optimizers are built by course_lib.train.make_optimizer (its default
# learning rate: the hyper-parameters change no byte counts). Momentum keeps
# one buffer per parameter, Adam/AdamW two (exp_avg, exp_avg_sq) plus a 0-dim
# step counter.


@dataclass(frozen=True)
class MemoryReport:
    """Bytes of one training step's state (or of inference), by component.

    ``total`` is the sum of the four others. Used by :func:`course_lib.memory.inference_memory` and
    :func:`course_lib.memory.training_memory`; not tied to one lesson.
    """

    weights: int
    gradients: int
    optimizer_state: int
    activations: int
    total: int

    def as_dict(self) -> dict[str, int]:
        """The five fields as ``{name: bytes}`` (for a table).
        Lesson 02, sections 4, 5 and 7; lab 02, exercise 4."""
        return {
            "weights": self.weights,
            "gradients": self.gradients,
            "optimizer_state": self.optimizer_state,
            "activations": self.activations,
            "total": self.total,
        }


# ---------------------------------------------------------------- helpers


def _check_model(model) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not any(True for _ in model.parameters()):
        raise ValueError("model must have at least one parameter")


def _check_inputs(inputs, model=None) -> None:
    v.model_input("inputs", model, inputs)


def _storage_bytes(tensors) -> int:
    """Bytes of the unique storages behind ``tensors`` (views counted once)."""
    seen = {storage_key(t) for t in tensors if isinstance(t, torch.Tensor)}
    return sum(key[1] for key in seen if key is not None)


def _optimizer(optimizer, params) -> torch.optim.Optimizer:
    """``optimizer`` is a name in :data:`course_lib.train.OPTIMIZER_NAMES`
    (built by :func:`course_lib.train.make_optimizer`) or a factory
    ``params -> torch.optim.Optimizer``."""
    params = list(params)
    if isinstance(optimizer, str):
        if optimizer not in OPTIMIZER_NAMES:
            raise ValueError(f"optimizer must be one of {list(OPTIMIZER_NAMES)} or a factory, got {optimizer!r}")
        return train.make_optimizer(optimizer, params)
    if not callable(optimizer):
        raise TypeError(
            f"optimizer must be one of {list(OPTIMIZER_NAMES)} or a callable params -> torch.optim.Optimizer, "
            f"got {type(optimizer).__name__}"
        )
    opt = optimizer(params)
    if not isinstance(opt, torch.optim.Optimizer):
        raise TypeError(f"optimizer factory must return a torch.optim.Optimizer, got {type(opt).__name__}")
    return opt


def _loss(out, loss_fn):
    loss = out.sum() if loss_fn is None else loss_fn(out)
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise ValueError("loss_fn must return a tensor with one element (a scalar loss)")
    return loss


def _check_loss_fn(loss_fn) -> None:
    if loss_fn is not None and not callable(loss_fn):
        raise TypeError(f"loss_fn must be None or a callable output -> scalar tensor, got {type(loss_fn).__name__}")


@v.checked
def optimizer_state_bytes(opt: v.Instance(torch.optim.Optimizer, "a torch.optim.Optimizer")) -> int:
    """Bytes of the tensors in ``opt.state`` with at least one element per
    element of their parameter (momentum buffers, Adam's moments); 0-dim
    bookkeeping such as Adam's ``step`` is left out. A sharded (FSDP) state
    counts its local shard. The course's one optimizer-state rule. Used by
    :func:`training_memory` and by :func:`course_lib.distributed.run_training` (per-rank state under DDP and
    FSDP); not tied to one lesson."""
    tensors = []
    for param, state in opt.state.items():
        for value in state.values():
            if isinstance(value, torch.Tensor) and value.dim() > 0 and value.numel() >= param.numel():
                tensors.append(value)
    return _storage_bytes(tensors)


def saved_activation_bytes(model: nn.Module, inputs: torch.Tensor, loss_fn=None) -> tuple[int, torch.Tensor]:
    """Run ``model(inputs)`` and the loss, and return ``(bytes, loss)``: the
    bytes of the unique storages autograd saved for backward, parameters
    excluded. The graph stays alive in ``loss`` so ``loss.backward()`` works.
    Lesson 02, sections 1, 2, 3 and 6."""
    _check_model(model)
    _check_inputs(inputs, model)
    _check_loss_fn(loss_fn)
    params = {storage_key(p) for p in model.parameters()}
    saved, loss = train.saved_storages(lambda: _loss(model(inputs), loss_fn))
    return sum(nbytes for key, nbytes in saved.items() if key not in params), loss


# ---------------------------------------------------------------- the reports


def training_memory(model: nn.Module, inputs: torch.Tensor, *, optimizer="adamw", loss_fn=None) -> MemoryReport:
    """Bytes of weights, gradients, optimizer state and saved activations of
    one real training step (forward, ``loss.backward()``, ``optimizer.step()``).

    - ``weights``: the parameters' storages;
    - ``gradients``: the ``.grad`` storages after backward;
    - ``optimizer_state``: see :func:`optimizer_state_bytes`, read after the
      step (Adam creates its moments lazily, at the first step);
    - ``activations``: unique storages saved for backward, parameters
      excluded, found with ``saved_tensors_hooks`` (:func:`saved_activation_bytes`);
    - ``total``: their sum.

    ``optimizer`` is ``"sgd"``, ``"momentum"``, ``"adam"``, ``"adamw"`` or a
    factory ``params -> torch.optim.Optimizer``; ``loss_fn(output)`` defaults
    to ``output.sum()``. The step runs on a copy of ``model`` (same device),
    so the model you pass is left unchanged.
    Lesson 02, sections 4, 5 and 7; lesson 03, section 2; lab 02, exercise 4.
    """
    _check_model(model)
    _check_inputs(inputs, model)
    _check_loss_fn(loss_fn)
    model = copy.deepcopy(model)
    for p in model.parameters():
        p.grad = None
    opt = _optimizer(optimizer, model.parameters())
    activations, loss = saved_activation_bytes(model, inputs, loss_fn)
    loss.backward()
    opt.step()
    params = [p for p in model.parameters()]
    weights = _storage_bytes(params)
    gradients = _storage_bytes(p.grad for p in params if p.grad is not None)
    state = optimizer_state_bytes(opt)
    return MemoryReport(weights, gradients, state, activations, weights + gradients + state + activations)


@v.checked
def predicted_vs_measured(model: nn.Module, inputs: torch.Tensor, predicted_activations: v.NonNegativeInt,
                          optimizers: v.Sequence()=OPTIMIZER_NAMES) -> pd.DataFrame:
    """One row per (optimizer, component): the bytes
    :func:`course_lib.predict.bytes_per_param_breakdown` (fp32) predicts for
    ``model`` (activations: ``predicted_activations``) and the bytes
    :func:`training_memory` measures, with ``equal``. Lesson 02, section 1."""
    _check_model(model)
    _check_inputs(inputs, model)
    if isinstance(optimizers, str):
        raise TypeError(f"optimizers must be a sequence of names, got {optimizers!r}")
    for name in optimizers:
        v.choice("optimizers", name, OPTIMIZER_NAMES)
    n = count_params(model)
    rows = []
    for opt in optimizers:
        report = training_memory(model, inputs, optimizer=opt)
        per = predict.bytes_per_param_breakdown(opt, "fp32")
        predicted = {k: n * per[k] for k in per} | {"activations": predicted_activations}
        for part, want in predicted.items():
            got = getattr(report, part)
            rows.append({"optimizer": opt, "component": part, "predicted": want, "measured": got, "equal": want == got})
    return pd.DataFrame(rows)


def inference_memory(model: nn.Module, inputs: torch.Tensor) -> MemoryReport:
    """The :class:`MemoryReport` of a forward pass under ``torch.inference_mode()``:
    gradients, optimizer state and saved activations are 0 (the report checks
    that nothing was saved rather than assuming it); ``weights`` as in
    :func:`training_memory`. Lesson 02, section 5."""
    _check_model(model)
    _check_inputs(inputs, model)
    saved, _ = train.saved_storages(lambda: train.inference(model, inputs))
    weights = _storage_bytes(model.parameters())
    activations = sum(saved.values())
    return MemoryReport(weights, 0, 0, activations, weights + activations)


# ---------------------------------------------------------------- the peak


class LiveTensorBytes(TorchDispatchMode):
    """A running total of the bytes held by tensor storages, on the CPU.

    Every tensor an operation returns while this mode is active is looked up
    by its storage; a storage seen for the first time adds its size, and a
    weak reference subtracts it again when the storage is freed. Tensors that
    existed before (weights, optimizer state, inputs) are added with
    :meth:`track`. ``peak`` is the largest total seen at an operation
    boundary; scratch memory *inside* one operation (a kernel's workspace)
    and memory held by Python objects other than tensors are not counted.
    Not tied to one lesson.
    """

    def __init__(self):
        super().__init__()
        self._live: dict[int, tuple[weakref.ref, int]] = {}
        self.current = 0
        self.peak = 0

    def track(self, t: torch.Tensor) -> None:
        """Count the storage behind ``t`` (once) until it is freed. Not tied to one lesson."""
        st = t.untyped_storage()
        key = id(st)  # the storage object itself (not storage_key): its weakref reports when it is freed
        if key in self._live:
            return
        size = st.nbytes()

        def freed(_ref, key=key, size=size):
            if self._live.pop(key, None) is not None:
                self.current -= size

        self._live[key] = (weakref.ref(st, freed), size)
        self.current += size
        self.peak = max(self.peak, self.current)

    def reset_peak(self) -> None:
        """Start a new phase: ``peak`` restarts from the bytes alive now. Not tied to one lesson."""
        self.peak = self.current

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor):
                self.track(t)
        return out


@dataclass(frozen=True)
class PeakReport:
    """Bytes alive during one training step, as an allocator sees it.

    ``baseline``: before the step (weights, optimizer state, inputs);
    ``after_*``: alive at the end of each phase; ``*_peak``: the most alive
    at once during each phase; ``peak``: the largest of those. ``method``
    names what counted the bytes. Not tied to one lesson.
    """

    baseline: int
    forward_peak: int
    after_forward: int
    backward_peak: int
    after_backward: int
    step_peak: int
    after_step: int
    peak: int
    method: str

    @property
    def peak_phase(self) -> str:
        """``"forward"``, ``"backward"`` or ``"step"``: where the peak happened. Lesson 02, sections 4 and 6."""
        phases = {"forward": self.forward_peak, "backward": self.backward_peak, "step": self.step_peak}
        return max(phases, key=phases.get)


def peak_training_memory(model: nn.Module, inputs: torch.Tensor, *, optimizer="adamw", loss_fn=None) -> PeakReport:
    """The most bytes alive at once during one training step, phase by phase.

    A first, unmeasured step creates the optimizer state (Adam's moments
    appear lazily); gradients are then set to ``None`` and a second step is
    measured: forward (with the loss), ``backward()``, ``optimizer.step()``.

    - CUDA (``inputs`` on a GPU): ``torch.cuda.memory_allocated`` and
      ``torch.cuda.max_memory_allocated``, reset at each phase: every byte the
      caching allocator handed out to tensors (rounded up to its 512-byte
      blocks), including scratch tensors inside kernels.
    - CPU: :class:`LiveTensorBytes`, the storages that tensors hold at
      operation boundaries (weights, optimizer state, inputs, activations,
      gradients and every temporary tensor an operation returns).

    Either way the peak includes what :class:`MemoryReport` leaves out: the
    inputs, the gradients of activations flowing through backward, and the
    optimizer's temporary tensors. The step runs on a copy of ``model``. Lesson 02, sections 4 and 6.
    """
    _check_model(model)
    _check_inputs(inputs, model)
    _check_loss_fn(loss_fn)
    model = copy.deepcopy(model)
    opt = _optimizer(optimizer, model.parameters())
    _loss(model(inputs), loss_fn).backward()  # warm-up: create the optimizer state
    opt.step()
    opt.zero_grad(set_to_none=True)
    if inputs.is_cuda:
        return _peak_cuda(model, inputs, opt, loss_fn)
    return _peak_cpu(model, inputs, opt, loss_fn)


def _peak_cpu(model, inputs, opt, loss_fn) -> PeakReport:
    tracker = LiveTensorBytes()
    for t in list(model.parameters()) + [inputs]:
        tracker.track(t)
    for state in opt.state.values():
        for value in state.values():
            if isinstance(value, torch.Tensor):
                tracker.track(value)
    baseline = tracker.current
    phases = []
    with tracker:
        tracker.reset_peak()
        loss = _loss(model(inputs), loss_fn)
        phases.append((tracker.peak, tracker.current))
        tracker.reset_peak()
        loss.backward()
        del loss
        phases.append((tracker.peak, tracker.current))
        tracker.reset_peak()
        opt.step()
        phases.append((tracker.peak, tracker.current))
    return _report(baseline, phases, "live tensor storages (TorchDispatchMode, CPU)")


def _peak_cuda(model, inputs, opt, loss_fn) -> PeakReport:  # pragma: no cover - needs a GPU
    dev = inputs.device
    torch.cuda.synchronize(dev)
    baseline = torch.cuda.memory_allocated(dev)
    phases = []

    def mark():
        torch.cuda.synchronize(dev)
        phases.append((torch.cuda.max_memory_allocated(dev), torch.cuda.memory_allocated(dev)))
        torch.cuda.reset_peak_memory_stats(dev)

    torch.cuda.reset_peak_memory_stats(dev)
    loss = _loss(model(inputs), loss_fn)
    mark()
    loss.backward()
    del loss
    mark()
    opt.step()
    mark()
    return _report(baseline, phases, "torch.cuda.max_memory_allocated")


def _report(baseline: int, phases, method: str) -> PeakReport:
    (fp, fa), (bp, ba), (sp, sa) = phases
    return PeakReport(baseline, fp, fa, bp, ba, sp, sa, max(fp, bp, sp), method)


# ---------------------------------------------------------------- checkpointing


class Checkpointed(nn.Module):
    """A :class:`~course_lib.models.TinyGPT` whose blocks run under
    ``torch.utils.checkpoint.checkpoint`` (non-reentrant): only each block's
    input is kept for backward, and the block's forward is run again during
    backward to rebuild the rest. Shares the wrapped model's parameters.
    Lesson 02.
    """

    def __init__(self, gpt: nn.Module):
        super().__init__()
        needed = ("tok_emb", "pos_emb", "blocks", "ln_f", "head", "max_seq_len")
        if not isinstance(gpt, nn.Module) or not all(hasattr(gpt, n) for n in needed):
            raise TypeError(f"gpt must be a course_lib.models.TinyGPT, got {type(gpt).__name__}")
        self.gpt = gpt

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        """TinyGPT's forward with each block recomputed in backward. Lesson 02, section 6."""
        g = self.gpt
        v.token_ids("idx", idx, vocab_size=g.vocab_size if isinstance(getattr(g, "vocab_size", None), int)
                    else g.tok_emb.num_embeddings)
        if idx.dim() != 2 or idx.shape[1] > g.max_seq_len:
            raise ValueError(f"idx must have shape (batch, seq <= {g.max_seq_len}), got {tuple(idx.shape)}")
        x = g.tok_emb(idx) + g.pos_emb(torch.arange(idx.shape[1], device=idx.device))
        for block in g.blocks:
            x = checkpoint(block, x, use_reentrant=False)
        return g.head(g.ln_f(x))
