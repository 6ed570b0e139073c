"""Real multi-process training on this machine: DDP (replicated) and FSDP (sharded).

Lesson 06 uses this module to *measure* what the ZeRO formulas in
:mod:`course_lib.predict` predict. :func:`run_training` starts ``world_size``
worker processes on 127.0.0.1, joins them into one ``torch.distributed``
process group (gloo on the CPU; the same worker code runs with NCCL on GPUs
under ``torchrun``), trains the course's :class:`~course_lib.models.TinyGPT`
for a few steps with

- ``"ddp"``: ``DistributedDataParallel``, every rank holds the whole model,
  its gradients and its AdamW state, and gradients are all-reduced (ZeRO
  stage 0);
- ``"fsdp"``: ``torch.distributed.fsdp.fully_shard`` (FSDP2), every rank
  holds 1/N of the parameters, gradients and AdamW state; weights are
  all-gathered before they are used and gradients reduce-scattered (ZeRO
  stage 3),

and returns what each rank measured: bytes of its local parameter, gradient
and optimizer-state tensors (shards under FSDP), bytes saved for backward,
bytes handed to each kind of collective per step (counted by wrapping
``torch.distributed``'s collectives in the worker), and step time.

Workers are fresh Python processes started by :func:`course_lib.processes.launch`
(deadlines, clean-up; :func:`course_lib.processes.worker_processes` shows
none left), so each one imports PyTorch: a few seconds, and a few hundred MB
of resident memory per worker. The process group is always destroyed before
a call returns. Scripts that call these functions need the usual
``if __name__ == "__main__":`` guard.

The "will it fit on N GPUs?" arithmetic is in :mod:`course_lib.zero_fit`;
the serving replicas are in :mod:`course_lib.serving`.
"""

from __future__ import annotations

import resource
import statistics
import time
from dataclasses import dataclass, field
from datetime import timedelta

import torch
import torch.distributed as dist
from torch.distributed.fsdp import fully_shard
from torch.nn.parallel import DistributedDataParallel as DDP

from . import _validate as v
from . import env
from .data import make_tokens
from .models import TinyGPT, count_params
from .memory import optimizer_state_bytes
from .predict import allreduce_bytes
from .processes import DEFAULT_TIMEOUT_S, MAX_WORLD_SIZE, check_world_size, launch
from .train import storage_key

STRATEGIES = ("ddp", "fsdp")
# ZeRO stage each strategy implements (Rajbhandari et al. 2020): DDP replicates
# everything (stage 0); fully_shard shards weights, gradients and optimizer
# state (stage 3).
STAGE_OF = {"single": 0, "ddp": 0, "fsdp": 3}

_COLLECTIVES = (
    "all_reduce",
    "all_gather",
    "all_gather_into_tensor",
    "all_gather_single",
    "reduce_scatter",
    "reduce_scatter_tensor",
    "reduce_scatter_single",
    "broadcast",
)
# What each wrapped function is reported as.
_KIND = {
    "all_reduce": "all_reduce",
    "all_gather": "all_gather",
    "all_gather_into_tensor": "all_gather",
    "all_gather_single": "all_gather",
    "reduce_scatter": "reduce_scatter",
    "reduce_scatter_tensor": "reduce_scatter",
    "reduce_scatter_single": "reduce_scatter",
    "broadcast": "broadcast",
}


# --------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class RankReport:
    """What one rank measured (bytes are this rank's local tensors). Held by the
    :class:`TrainingRun` of :func:`run_training`; not tied to one lesson.

    ``collective_bytes`` maps a collective (``"all_reduce"``, ``"all_gather"``,
    ``"reduce_scatter"``, ``"broadcast"``) to the bytes of the full tensor it
    operated on per training step: the buffer of an all-reduce, the gathered
    output of an all-gather, the input of a reduce-scatter. How many bytes the
    wire carries follows from it (:func:`wire_bytes`). ``collective_calls``
    counts the calls per step.
    """

    rank: int
    world_size: int
    strategy: str
    params: int
    grads: int
    optimizer_state: int
    activations: int
    collective_bytes: dict
    collective_calls: dict
    step_times: tuple
    losses: tuple
    rss_bytes: int = 0

    @property
    def model_state(self) -> int:
        """Parameters + gradients + optimizer state, the quantity ZeRO shards. Lesson 06, sections 2 and 4."""
        return self.params + self.grads + self.optimizer_state

    @property
    def step_time(self) -> float:
        """Median seconds per training step on this rank. Lesson 06, sections 2 and 4."""
        return statistics.median(self.step_times)


@dataclass(frozen=True)
class TrainingRun:
    """All ranks of one :func:`run_training` for one strategy. Used by :func:`course_lib.distributed.run_single` and
    :func:`course_lib.distributed.run_training`; not tied to one lesson."""

    strategy: str
    world_size: int
    n_params: int
    ranks: tuple = field(default_factory=tuple)

    @property
    def stage(self) -> int:
        """The ZeRO stage the strategy implements (:data:`STAGE_OF`). Lesson 06, section 3."""
        return STAGE_OF[self.strategy]

    def rows(self) -> list[dict]:
        """One dict per rank, in MiB-free integer bytes, for a DataFrame. Lesson 06, section 2."""
        return [
            {
                "strategy": self.strategy,
                "world_size": self.world_size,
                "rank": r.rank,
                "params": r.params,
                "grads": r.grads,
                "optimizer_state": r.optimizer_state,
                "model_state": r.model_state,
                "activations": r.activations,
                **{f"{k}_bytes": r.collective_bytes.get(k, 0) for k in ("all_reduce", "all_gather", "reduce_scatter")},
            }
            for r in self.ranks
        ]


@v.checked
def wire_bytes(collective: v.Choice[("all_reduce", "all_gather", "reduce_scatter")], n_bytes: v.NonNegative, n_devices: v.PositiveInt) -> float:
    """Bytes each device sends in a ring collective over a tensor of ``n_bytes``
    (the full tensor: the all-reduce buffer, the gathered output, the
    reduce-scatter input): all-reduce 2·(N−1)/N·n_bytes, all-gather and
    reduce-scatter (N−1)/N·n_bytes each (Patarasuk & Yuan 2009; Rajbhandari et
    al. 2020, ZeRO, section 7). Lesson 06, section 4.
    """
    size = n_bytes
    d = n_devices
    if collective == "all_reduce":
        return allreduce_bytes(size, d)
    return (d - 1) / d * size


@v.checked
def step_wire_bytes(report: v.Instance(RankReport, "a RankReport from run_training")) -> float:
    """Bytes one rank sends per step, from its measured collective payloads
    and :func:`wire_bytes`. Lesson 06, section 4."""
    return sum(
        wire_bytes(kind, report.collective_bytes.get(kind, 0), report.world_size)
        for kind in ("all_reduce", "all_gather", "reduce_scatter")
    )


# --------------------------------------------------------------------------
# The worker


class _Counter:
    """Wraps ``torch.distributed``'s collectives to count calls and tensor bytes."""

    def __init__(self):
        self.bytes: dict[str, int] = {}
        self.calls: dict[str, int] = {}
        self.enabled = False
        self._depth = 0
        self._saved: dict[str, object] = {}

    def reset(self) -> None:
        self.bytes, self.calls = {}, {}

    def _payload(self, name: str, args, kwargs) -> int:
        def nbytes(t) -> int:
            if isinstance(t, (list, tuple)):
                return sum(nbytes(x) for x in t)
            return t.numel() * t.element_size() if isinstance(t, torch.Tensor) else 0

        if name in ("all_gather_into_tensor", "all_gather_single"):
            out = kwargs.get("output_tensor", args[0] if args else None)
            return nbytes(out)
        if name == "all_gather":
            return nbytes(kwargs.get("tensor_list", args[0] if args else None))
        if name in ("reduce_scatter_tensor", "reduce_scatter_single"):
            inp = kwargs.get("input", args[1] if len(args) > 1 else None)
            return nbytes(inp)
        if name == "reduce_scatter":
            return nbytes(kwargs.get("input_list", args[1] if len(args) > 1 else None))
        return nbytes(kwargs.get("tensor", args[0] if args else None))

    def install(self) -> None:
        for name in _COLLECTIVES:
            fn = getattr(dist, name, None)
            if fn is None:
                continue
            self._saved[name] = fn

            def wrapped(*args, __fn=fn, __name=name, **kwargs):
                outer = self._depth == 0
                if outer and self.enabled:
                    kind = _KIND[__name]
                    self.bytes[kind] = self.bytes.get(kind, 0) + self._payload(__name, args, kwargs)
                    self.calls[kind] = self.calls.get(kind, 0) + 1
                self._depth += 1
                try:
                    return __fn(*args, **kwargs)
                finally:
                    self._depth -= 1

            setattr(dist, name, wrapped)

    def uninstall(self) -> None:
        for name, fn in self._saved.items():
            setattr(dist, name, fn)
        self._saved = {}


def _local_bytes(t) -> int:
    if t is None:
        return 0
    local = t.to_local() if hasattr(t, "to_local") else t
    return local.numel() * local.element_size()


def _batch(rank: int, world_size: int, config: dict):
    """This rank's micro-batch: ``batch`` sequences of its own (inputs, next-token targets)."""
    b = config["batch"]
    # one fixed pool for every world size, so rank r's data does not depend on how many ranks there are
    ids = make_tokens(n_seqs=b * MAX_WORLD_SIZE, seq_len=config["seq_len"], vocab_size=config["vocab_size"], seed=0)
    mine = ids[rank * b : (rank + 1) * b]
    return mine[:, :-1].contiguous(), mine[:, 1:].contiguous()


def _model(config: dict):
    return TinyGPT(
        vocab_size=config["vocab_size"],
        d_model=config["d_model"],
        n_heads=config["n_heads"],
        n_layers=config["n_layers"],
        max_seq_len=config["seq_len"],
        seed=0,
    )


def _measure(net, model, x, y, config, counter, rank, world_size, strategy) -> RankReport:
    """Train ``net`` (wrapping ``model``) with AdamW: one warm-up step that creates
    the optimizer state and records activation bytes, then ``steps`` timed
    steps with the collectives counted."""
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.functional.cross_entropy

    def step(saved: dict | None) -> float:
        opt.zero_grad(set_to_none=True)
        if saved is None:
            logits = net(x)
        else:
            params = {storage_key(p) for p in net.parameters()}

            def pack(t):
                key = storage_key(t)
                # FSDP's unsharded weights are module attributes only during forward: look them up live
                if key is not None and key not in params and key not in {storage_key(p) for p in model.parameters()}:
                    saved[key] = key[1]
                return t

            with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
                logits = net(x)
                loss = loss_fn(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        if saved is None:
            loss = loss_fn(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        loss.backward()
        opt.step()
        return float(loss.detach())

    saved: dict = {}
    step(saved)
    if counter is not None:
        dist.barrier()
        counter.reset()
        counter.enabled = True
    times, losses = [], []
    for _ in range(config["steps"]):
        start = time.perf_counter()
        losses.append(step(None))
        times.append(time.perf_counter() - start)
    steps = config["steps"]
    counted_bytes = counter.bytes if counter is not None else {}
    counted_calls = counter.calls if counter is not None else {}
    if counter is not None:
        counter.enabled = False
    return RankReport(
        rank=rank,
        world_size=world_size,
        strategy=strategy,
        params=sum(_local_bytes(p) for p in net.parameters()),
        grads=sum(_local_bytes(p.grad) for p in net.parameters()),
        optimizer_state=optimizer_state_bytes(opt),
        activations=int(sum(saved.values())),
        collective_bytes={k: b // steps for k, b in counted_bytes.items()},
        collective_calls={k: c // steps for k, c in counted_calls.items()},
        step_times=tuple(times),
        losses=tuple(losses),
        rss_bytes=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,  # peak RSS (Linux: KiB)
    )


def _train_worker(rank, world_size, _jobs, _ready, port, strategies, config):
    """One rank: join the gloo process group, train each strategy, return its
    reports; the process group is always destroyed."""
    env.configure_threads(1)  # one core per rank: the ranks share this machine's cores
    counter = _Counter()
    timeout = timedelta(seconds=config["timeout_s"])
    try:
        store = dist.TCPStore("127.0.0.1", port, world_size, is_master=False, timeout=timeout)
        dist.init_process_group("gloo", store=store, rank=rank, world_size=world_size, timeout=timeout)
        counter.install()
        x, y = _batch(rank, world_size, config)
        reports = []
        for strategy in strategies:
            model = _model(config)
            if strategy == "ddp":
                net = DDP(model)

                def allreduce_hook(_state, bucket):
                    # What DDP does by default, through dist.all_reduce so the counter sees it:
                    # average the gradient bucket over the ranks with one all-reduce.
                    buf = bucket.buffer().div_(world_size)
                    return dist.all_reduce(buf, async_op=True).get_future().then(lambda f: f.value()[0])

                net.register_comm_hook(None, allreduce_hook)
            else:
                for block in model.blocks:
                    fully_shard(block)  # each block is one unit: gathered just before it runs
                net = fully_shard(model)  # the rest (embeddings, final norm, head) is the root unit
            reports.append(_measure(net, model, x, y, config, counter, rank, world_size, strategy))
            del net, model
            dist.barrier()
        return reports
    finally:
        counter.uninstall()
        if dist.is_initialized():
            dist.destroy_process_group()


@v.checked
def _config(steps: v.PositiveInt, batch: v.PositiveInt, seq_len: v.PositiveInt, d_model: v.PositiveInt, n_layers: v.PositiveInt, n_heads: v.PositiveInt, vocab_size: v.IntRange(2, None), timeout_s: v.Timeout) -> dict:
    config = {
        "steps": steps,
        "batch": batch,
        "seq_len": seq_len,
        "d_model": d_model,
        "n_layers": n_layers,
        "n_heads": n_heads,
        "vocab_size": vocab_size,
        "timeout_s": timeout_s,
    }
    if config["d_model"] % config["n_heads"]:
        raise ValueError(f"d_model must be divisible by n_heads, got d_model={d_model}, n_heads={n_heads}")
    _check_work(config)
    return config


#: Most training steps one run may ask for (each is a real step on every rank).
MAX_STEPS = 1000


def _check_work(c: dict) -> None:
    """Refuse runs that would not finish or fit: steps, model and activation memory per rank."""
    v.integer("steps", c["steps"], minimum=1, maximum=MAX_STEPS)
    d, layers, b, s, vocab = c["d_model"], c["n_layers"], c["batch"], c["seq_len"], c["vocab_size"]
    params = 12 * layers * d * d + 2 * vocab * d + s * d
    acts = b * s * (16 * d * layers + vocab) * 4 + b * c["n_heads"] * s * s * layers * 8
    v.fits_memory(f"d_model={d}, n_layers={layers}, batch={b}, seq_len={s}, vocab_size={vocab}", 16 * params + acts)


def run_single(
    *, steps: int = 2, batch: int = 4, seq_len: int = 32, d_model: int = 64, n_layers: int = 2, n_heads: int = 4,
    vocab_size: int = 64,
) -> TrainingRun:
    """The one-device baseline, in this process (no process group, no
    collectives): the same model, micro-batch, optimizer and measurements as
    one rank of :func:`run_training`. ``strategy`` is ``"single"``. Lesson 06, section 2.
    """
    config = _config(steps, batch, seq_len, d_model, n_layers, n_heads, vocab_size, DEFAULT_TIMEOUT_S)
    model = _model(config)
    x, y = _batch(0, 1, config)
    report = _measure(model, model, x, y, config, None, 0, 1, "single")
    return TrainingRun(strategy="single", world_size=1, n_params=count_params(model), ranks=(report,))


@v.checked
def run_training(
    world_size: int,
    strategies=STRATEGIES,
    *,
    steps: int = 2,
    batch: int = 4,
    seq_len: int = 32,
    d_model: int = 64,
    n_layers: int = 2,
    n_heads: int = 4,
    vocab_size: int = 64,
    timeout_s: v.Timeout = DEFAULT_TIMEOUT_S,
) -> dict[str, TrainingRun]:
    """Train :class:`~course_lib.models.TinyGPT` with AdamW (fp32) on
    ``world_size`` CPU processes joined by gloo, once per strategy in
    ``strategies`` (``"ddp"``, ``"fsdp"``), and return ``{strategy: TrainingRun}``.

    Each rank trains on its own ``batch`` sequences of
    :func:`~course_lib.data.make_tokens` (data parallelism: the global batch
    is ``batch * world_size``) with one thread. One warm-up step creates the
    optimizer state and measures activation bytes; the next ``steps`` are
    timed and their collectives counted. The workers are fresh processes
    (each imports torch: a few seconds); see :func:`course_lib.processes.launch` for the timeouts
    and the clean-up. Lesson 06, section 2.
    """
    n = check_world_size(world_size)
    if isinstance(strategies, str):
        strategies = (strategies,)
    if not isinstance(strategies, (tuple, list)) or not strategies:
        raise ValueError(f"strategies must be one or more of {list(STRATEGIES)}, got {strategies!r}")
    strategies = tuple(v.choice("strategies", s, STRATEGIES) for s in strategies)
    config = _config(steps, batch, seq_len, d_model, n_layers, n_heads, vocab_size, timeout_s)
    n_params = count_params(_model(config))
    # This process holds the rendezvous store, so its port is taken before any worker starts (no race).
    store = dist.TCPStore(
        "127.0.0.1", 0, None, is_master=True, timeout=timedelta(seconds=timeout_s), wait_for_workers=False
    )
    try:
        per_rank = launch(_train_worker, n, (store.port, strategies, config), timeout_s=timeout_s)
    finally:
        del store
    return {
        s: TrainingRun(strategy=s, world_size=n, n_params=n_params, ranks=tuple(reports[i] for reports in per_rank))
        for i, s in enumerate(strategies)
    }
