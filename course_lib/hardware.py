"""Accelerators as data, and the roofline arithmetic (lessons 03 and 05).

:data:`ACCELERATORS` holds dense (no 2:4 sparsity) datasheet figures, each
row with its source. :func:`ridge_point` gives the arithmetic intensity
(FLOP per byte) at which a device stops being limited by memory bandwidth
and becomes compute-bound (Williams, Waterman & Patterson 2009, *Roofline*).
This machine's own point is measured in lesson 03.
"""

from __future__ import annotations

import glob
import math
import os
import time
from dataclasses import dataclass

import pandas as pd
import torch

from . import _validate as v
from . import env
from .measure import time_it
from .precision import TORCH_FLOATS
from .predict import arithmetic_intensity


@dataclass(frozen=True)
class Accelerator:
    """One accelerator's datasheet figures (dense; TFLOP/s, TB/s, GB = 10⁹
    bytes, W; the interconnect's GB/s, total of both directions). ``None``
    where the part has no tensor-core support for a format (fp8 before
    Hopper/Ada, fp4 before Blackwell, int8 on the V100). Build one to
    describe your own accelerator, e.g. ``Accelerator("my GPU", 48, 0.96,
    40, 180, None, 360, 300, "PCIe Gen4 x16", 64, "my datasheet")``, and
    pass it wherever a name from :data:`ACCELERATORS` is accepted. Used by :func:`course_lib.hardware.resolve` and
    :func:`course_lib.hardware.roofline_table`; not tied to one lesson."""

    name: str
    memory_gb: float
    bandwidth_tbs: float
    fp32_tflops: float
    bf16_tflops: float  # FP16 for parts without BF16 (T4, V100)
    fp8_tflops: float | None
    int8_tops: float | None
    tdp_w: float
    interconnect: str
    interconnect_gbs: float
    source: str
    fp4_tflops: float | None = None

    def __post_init__(self):
        """Every figure checked by name, so a hand-described accelerator fails here. Lesson 07, section 6."""
        v.string("name", self.name)
        for field_name in ("memory_gb", "bandwidth_tbs", "fp32_tflops", "bf16_tflops", "tdp_w", "interconnect_gbs"):
            v.positive(field_name, getattr(self, field_name))
        for field_name in ("fp8_tflops", "int8_tops", "fp4_tflops"):
            if getattr(self, field_name) is not None:
                v.positive(field_name, getattr(self, field_name))
        v.string("interconnect", self.interconnect)
        v.string("source", self.source, nonempty=False)

    @property
    def bandwidth(self) -> float:
        """Memory bandwidth in bytes/s.
        Lesson 03, section 3; lesson 05, sections 3, 4, 5 and 7; lab 03, exercises 2 and 3;
        lab 05, exercises 2, 3 and 5."""
        return self.bandwidth_tbs * 1e12

    @property
    def memory_bytes(self) -> int:
        """Memory in bytes (GB = 10⁹ bytes, as datasheets count).
        Lesson 02."""
        return int(self.memory_gb * 10**9)

    @property
    def link_bandwidth(self) -> float:
        """Interconnect bandwidth in bytes/s in one direction (half the
        datasheet's both-directions total): what a ring all-reduce sends per
        GPU per second. Lesson 07, section 6."""
        return self.interconnect_gbs * 1e9 / 2

    def peak_flops(self, dtype: str = "bf16") -> float:
        """Dense peak in FLOP/s (ops/s for int8) for ``dtype`` in fp32, bf16,
        fp16 (the same tensor-core figure as bf16), fp8, int8, fp4.
        Lesson 03, section 3; lesson 05, sections 3, 4, 5 and 7; lab 03, exercises 2 and 3;
        lab 05, exercises 2, 3 and 5."""
        v.choice("dtype", dtype, PEAK_DTYPES)
        tera = {"fp32": self.fp32_tflops, "bf16": self.bf16_tflops, "fp16": self.bf16_tflops, "fp8": self.fp8_tflops,
                "int8": self.int8_tops, "fp4": self.fp4_tflops}[dtype]
        if tera is None:
            have = [d for d in PEAK_DTYPES if d == "fp16" or getattr(self, _PEAK_FIELDS[d]) is not None]
            raise ValueError(f"{self.name} has no {dtype} tensor-core support; choose one of {', '.join(have)}")
        return tera * 1e12


PEAK_DTYPES = ("fp32", "bf16", "fp16", "fp8", "int8", "fp4")
"""The formats :meth:`Accelerator.peak_flops` knows."""
_PEAK_FIELDS = {"fp32": "fp32_tflops", "bf16": "bf16_tflops", "fp16": "bf16_tflops", "fp8": "fp8_tflops",
                "int8": "int8_tops", "fp4": "fp4_tflops"}

_HOPPER = "NVIDIA H100 Tensor Core GPU datasheet (2023)"
_AMPERE = "NVIDIA A100 Tensor Core GPU datasheet (2021)"

#: The course's one accelerator table (facts.md, "Accelerators", for the first
#: four rows; each other row names its datasheet): every module that needs a
#: GPU's memory, bandwidth, peak, power or interconnect reads it. Dense
#: figures: NVIDIA's headline tensor figures with 2:4 sparsity are twice these.
ACCELERATORS: dict[str, Accelerator] = {
    a.name: a
    for a in (
        Accelerator("H100 SXM", 80, 3.35, 67, 989, 1979, 1979, 700, "NVLink 4", 900,
                    f"{_HOPPER}, SXM column, dense; NVLink 900 GB/s"),
        Accelerator("A100 80GB SXM", 80, 2.04, 19.5, 312, None, 624, 400, "NVLink 3", 600,
                    f"{_AMPERE}, 80GB SXM column, dense; NVLink 600 GB/s"),
        Accelerator("L4", 24, 0.30, 30.3, 121, 242, 242, 72, "PCIe Gen4 x16", 64,
                    "NVIDIA L4 Tensor Core GPU datasheet (2023), dense; no NVLink, PCIe Gen4 x16 64 GB/s"),
        Accelerator("T4", 16, 0.32, 8.1, 65, None, 130, 70, "PCIe Gen3 x16", 32,
                    "NVIDIA T4 Tensor Core GPU datasheet (2019); FP16 in the bf16 column; no NVLink, PCIe Gen3 x16 32 GB/s"),
        Accelerator("H200 SXM", 141, 4.8, 67, 989, 1979, 1979, 700, "NVLink 4", 900,
                    "NVIDIA H200 Tensor Core GPU datasheet (2024), SXM column, dense (half the sparse figures); "
                    "NVLink 900 GB/s"),
        Accelerator("B200", 180, 8.0, 80, 2250, 4500, 4500, 1000, "NVLink 5", 1800,
                    "NVIDIA HGX B200 datasheet (2024), per GPU (1,440 GB and 64 TB/s per 8 GPUs; 1,000 W), dense "
                    "(half the sparse figures); FP32 from the Blackwell architecture technical brief; NVLink 1.8 TB/s",
                    fp4_tflops=9000),
        Accelerator("H100 PCIe", 80, 2.0, 51, 756, 1513, 1513, 350, "NVLink bridge", 600,
                    f"{_HOPPER}, PCIe column, dense; 300-350 W; NVLink bridge 600 GB/s (PCIe Gen5 128 GB/s)"),
        Accelerator("H800 SXM", 80, 3.35, 67, 989, 1979, 1979, 700, "NVLink (export-limited)", 400,
                    "NVIDIA H800 SXM5 (2023): the H100 SXM's compute and HBM3 with NVLink cut to 400 GB/s and FP64 "
                    "cut for export; the part DeepSeek-V3 trained on (DeepSeek-AI 2024, Technical Report, 3.1)"),
        Accelerator("A100 40GB SXM", 40, 1.555, 19.5, 312, None, 624, 400, "NVLink 3", 600,
                    f"{_AMPERE}, 40GB SXM column, dense; HBM2 1,555 GB/s; NVLink 600 GB/s"),
        Accelerator("A100 80GB PCIe", 80, 1.935, 19.5, 312, None, 624, 300, "NVLink bridge", 600,
                    f"{_AMPERE}, 80GB PCIe column, dense; NVLink bridge for 2 GPUs 600 GB/s (PCIe Gen4 64 GB/s)"),
        Accelerator("V100 SXM2", 32, 0.90, 15.7, 125, None, None, 300, "NVLink 2", 300,
                    "NVIDIA Tesla V100 datasheet (2020), SXM2 32 GB column; FP16 tensor 125 TFLOPS in the bf16 "
                    "column (no bf16, no int8 tensor cores); NVLink 300 GB/s"),
        Accelerator("L40S", 48, 0.864, 91.6, 362, 733, 733, 350, "PCIe Gen4 x16", 64,
                    "NVIDIA L40S datasheet (2023), dense (half the sparse figures); no NVLink, PCIe Gen4 x16 64 GB/s"),
        Accelerator("MI300X", 192, 5.3, 163.4, 1307, 2615, 2615, 750, "Infinity Fabric", 896,
                    "AMD Instinct MI300X data sheet (2023), dense matrix figures (BF16 1,307.4, FP8 2,614.9 TFLOPS); "
                    "Infinity Fabric 896 GB/s (7 links x 128 GB/s)"),
        Accelerator("RTX 4090", 24, 1.008, 82.6, 165, 330, 661, 450, "PCIe Gen4 x16", 64,
                    "NVIDIA Ada GPU architecture whitepaper (2022), GeForce RTX 4090 column, dense, FP32 accumulate "
                    "(FP16/BF16 165.2, FP8 330.3, INT8 660.6 TOPS); no NVLink, PCIe Gen4 x16 64 GB/s"),
    )
}

#: The rows lessons 03 and 04 tabulate by default (:func:`ridge_table`, :func:`peak_table`, :func:`sources`).
TABLE_ROWS = ("H100 SXM", "A100 80GB SXM", "L4", "T4")


def resolve(accelerator, *, argument: str = "accelerator") -> Accelerator:
    """An :class:`Accelerator` from a name in :data:`ACCELERATORS` or an
    Accelerator you built (your own part). Errors name ``argument``. Every
    calculator (through every function of cost and generation that takes an accelerator)."""
    if isinstance(accelerator, Accelerator):
        return accelerator
    return ACCELERATORS[v.choice(argument, accelerator, ACCELERATORS)]


def accelerator(name: str) -> Accelerator:
    """Look up an accelerator by name (one of :data:`ACCELERATORS`). Lessons
    02, 03, 05, 06 and the calculators (every module that needs a GPU's figures).
    Lesson 03, section 3; lesson 05, section 3; lab 03, exercises 2 and 3; lab 05, exercises 2, 3 and 5."""
    return ACCELERATORS[v.choice("name", name, ACCELERATORS)]


def _rows(accelerators) -> list[Accelerator]:
    names = v.sequence("accelerators", accelerators, max_len=len(ACCELERATORS))
    return [resolve(a, argument="accelerators") for a in names]


def sources(accelerators=TABLE_ROWS) -> str:
    """The sources of ``accelerators``' rows (default :data:`TABLE_ROWS`),
    joined with "; ", for a lesson to print under a table. Lesson 03, section 3; lesson 04, section 6."""
    return "; ".join(a.source for a in _rows(accelerators))


@v.checked
def ridge_table(k: int, n: int, dtype: str = "bf16", bytes_per_value: float = 2, accelerators=TABLE_ROWS) -> pd.DataFrame:
    """For each accelerator: peak in ``dtype``, bandwidth, ridge point, and the
    smallest batch at which a (B × k)·(k × n) matmul reaches it
    (:func:`compute_bound_batch`). Lesson 03, section 3."""
    k, n = v.positive_int("k", k), v.positive_int("n", n)
    bytes_per_value = v.positive("bytes_per_value", bytes_per_value)
    rows = []
    for a in _rows(accelerators):
        peak = a.peak_flops(dtype)
        rows.append({"device": a.name, f"{dtype} TFLOP/s": peak / 1e12, "TB/s": a.bandwidth_tbs,
                     "ridge FLOP/byte": round(ridge_point(peak, a.bandwidth), 1),
                     "compute-bound from batch": compute_bound_batch(k, n, peak, a.bandwidth, bytes_per_value)})
    return pd.DataFrame(rows)


def peak_table(accelerators=TABLE_ROWS) -> pd.DataFrame:
    """Each accelerator's dense peak per number format: fp32, bf16 (fp16 on the
    T4), their ratio, fp8 ("—" where none) and int8 (default rows :data:`TABLE_ROWS`). Lesson 04, section 6."""
    rows = []
    for acc in _rows(accelerators):
        name = acc.name
        fp8 = acc.fp8_tflops
        rows.append({"GPU": name, "fp32 TFLOP/s": acc.peak_flops("fp32") / 1e12, "bf16/fp16 TFLOP/s": acc.peak_flops("bf16") / 1e12,
                     "bf16 ÷ fp32": round(acc.peak_flops("bf16") / acc.peak_flops("fp32"), 1),
                     "fp8 TFLOP/s": fp8 if fp8 is not None else "—",
                     "int8 TOPS": acc.peak_flops("int8") / 1e12 if acc.int8_tops is not None else "—"})
    return pd.DataFrame(rows)


@v.checked
def ridge_point(peak_flops: float, bandwidth: float) -> float:
    """FLOP per byte at which a device turns compute-bound: peak / bandwidth
    (both per second). Below it, attainable FLOP/s = bandwidth × intensity. Lab 03, exercise 3."""
    return v.positive("peak_flops", peak_flops) / v.positive("bandwidth", bandwidth)


@v.checked
def attainable_flops(intensity: float, peak_flops: float, bandwidth: float) -> float:
    """The roofline: min(peak, bandwidth × intensity) in FLOP/s.
    Lesson 07."""
    i = v.positive("intensity", intensity)
    return min(v.positive("peak_flops", peak_flops), v.positive("bandwidth", bandwidth) * i)


@v.checked
def compute_bound_batch(k: int, n: int, peak_flops: float, bandwidth: float, bytes_per_value: float = 2) -> int | None:
    """Smallest batch B at which a (B x k)·(k x n) matmul reaches the ridge
    point, i.e. :func:`course_lib.predict.arithmetic_intensity` (B, k, n) >=
    peak / bandwidth; ``None`` when no batch gets there (the weights alone
    cost more bytes than the ridge allows). Solves
    2Bkn >= R·bytes·(Bk + kn + Bn) for B (Williams et al. 2009, *Roofline*;
    Austin et al. 2025, *How to Scale Your Model*, where B ≈ R for large k, n). Lesson 03, section 3.
    """
    k, n = v.positive_int("k", k), v.positive_int("n", n)
    bpv = v.positive("bytes_per_value", bytes_per_value)
    ridge = ridge_point(peak_flops, bandwidth)
    denominator = 2 * k * n - ridge * bpv * (k + n)
    if denominator <= 0:
        return None
    b = max(1, math.ceil(ridge * bpv * k * n / denominator))
    # guard against float rounding at the boundary (a few steps at most)
    for _ in range(16):
        if b > 1 and arithmetic_intensity(b - 1, k, n, bpv) >= ridge:
            b -= 1
    for _ in range(16):
        if arithmetic_intensity(b, k, n, bpv) < ridge:
            b += 1
    if arithmetic_intensity(b, k, n, bpv) < ridge:
        raise ValueError(f"compute_bound_batch cannot be resolved in floating point for peak_flops={peak_flops:g}, "
                         f"bandwidth={bandwidth:g}, bytes_per_value={bpv:g} (the intensities underflow)")
    return b


# ------------------------------------------------------------ this machine

MEASURED_DTYPES = ("fp32", "bf16", "fp16")


@dataclass(frozen=True)
class MeasuredMachine:
    """This machine's measured matmul FLOP/s per dtype and copy bandwidth.

    ``flops`` maps ``"fp32"``, ``"bf16"``, ``"fp16"`` to FLOP/s (median of
    repeats, one square matmul per dtype, size in ``sizes``); ``bandwidth``
    is bytes read + written per second by a large tensor copy. Same
    ``peak_flops(dtype)`` / ``bandwidth`` interface as :class:`Accelerator`,
    so it goes on the same roofline. Used by :func:`course_lib.hardware.measure_machine` and
    :func:`course_lib.hardware.roofline_table`; not tied to one lesson.
    """

    name: str
    device: str
    n_threads: int
    flops: dict
    sizes: dict
    bandwidth: float
    copy_bytes: int

    def peak_flops(self, dtype: str = "fp32") -> float:
        """Measured matmul FLOP/s for ``dtype`` (fp32, bf16 or fp16).
        Lesson 03, section 3; lesson 05, section 7."""
        return self.flops[v.choice("dtype", dtype, MEASURED_DTYPES)]

    def ridge(self, dtype: str = "fp32") -> float:
        """This machine's ridge point in FLOP per byte for ``dtype``.
        Lesson 03, section 3; lesson 07."""
        return ridge_point(self.peak_flops(dtype), self.bandwidth)


def _matmul_size(run, n: int, n_max: int) -> int:
    """Double ``n`` while one matmul of that size takes under 7.5 ms (so the
    next size, 8× the work, stays near 60 ms), up to ``n_max``."""
    while n < n_max:
        run(n)  # warm-up for this size
        start = time.perf_counter()
        run(n)
        if time.perf_counter() - start >= 0.0075:
            break
        n *= 2
    return n


def measure_machine(*, device=None, copy_mib: int | None = None, repeats: int = 5) -> MeasuredMachine:
    """Measure this machine in about a second (≤ 3 s on a busy 2-core CPU).

    Matmul FLOP/s per dtype: 2·n³ / median time of an (n x n)·(n x n) matmul
    after warm-up (:func:`course_lib.measure.time_it`, ``repeats`` runs). n
    starts at 128 (1024 on a GPU) and doubles while one matmul takes under
    7.5 ms, up to 512 (8192 on a GPU), so a dtype that is slow here (fp16 and
    bf16 on CPUs without 16-bit matmul instructions, reference/tooling.md)
    is measured on a small size and stays quick. Bandwidth:
    ``dst.copy_(src)`` of a ``copy_mib`` MiB fp32 tensor (64 on the CPU,
    larger than its last-level cache; 512 on a GPU), counting bytes read plus
    bytes written. These are what *this* code reaches, a lower bound on the
    hardware's peak. Lesson 03, section 3.
    """
    dev = env.device() if device is None else torch.device(device)
    repeats = v.positive_int("repeats", repeats, maximum=50)  # each repeat times 3 dtypes and a copy
    on_gpu = dev.type == "cuda"
    n_start, n_max = (1024, 8192) if on_gpu else (128, 512)
    dtypes = {name: TORCH_FLOATS[name] for name in MEASURED_DTYPES}
    sync = torch.cuda.synchronize if on_gpu else (lambda: None)
    gen = torch.Generator(device=dev).manual_seed(0)  # random data made where it is used (fast on a GPU)
    flops, sizes = {}, {}
    for name, dt in dtypes.items():
        a = torch.randn(n_max, n_max, generator=gen, device=dev, dtype=dt)
        b = torch.randn(n_max, n_max, generator=gen, device=dev, dtype=dt)

        def run(n, a=a, b=b):
            a[:n, :n] @ b[:n, :n]
            sync()

        n = _matmul_size(run, n_start, n_max)
        x, y = a[:n, :n].contiguous(), b[:n, :n].contiguous()
        timing = time_it(lambda: x @ y, warmup=1, repeats=repeats)
        flops[name], sizes[name] = 2 * n**3 / timing.median, n
        del a, b, x, y
    mib = v.positive_int("copy_mib", copy_mib, maximum=4096) if copy_mib is not None else (512 if on_gpu else 64)
    v.fits_memory(f"copy_mib={mib}", 2 * mib * 2**20)
    src = torch.ones(mib * 2**20 // 4, device=dev)
    dst = torch.empty_like(src)
    timing = time_it(lambda: dst.copy_(src), warmup=2, repeats=repeats)
    moved = 2 * src.numel() * 4
    del src, dst
    threads = torch.get_num_threads()
    name = torch.cuda.get_device_name(dev) if on_gpu else f"this CPU ({env.cpu_model()}, {threads} thread{'s' * (threads > 1)})"
    return MeasuredMachine(
        name=name,
        device=dev.type,
        n_threads=threads,
        flops=flops,
        sizes=sizes,
        bandwidth=moved / timing.median,
        copy_bytes=moved,
    )


# ------------------------------------------------------------ the roofline chart


def roofline_table(devices, dtype: str = "bf16", intensity_range=(0.1, 10_000.0)):
    """Rows (device, intensity, attainable FLOP/s) that draw each device's
    roofline: three points per device (the range's ends and the ridge), exact
    on log-log axes. ``devices`` are :class:`Accelerator` or
    :class:`MeasuredMachine` objects, or ``(device, dtype)`` pairs to give one
    device its own dtype (e.g. this CPU in fp32 beside GPUs in bf16); a
    measured machine falls back to fp32 for a dtype it was not measured in.
    Lesson 03, section 3; lesson 05, section 7.
    """
    lo, hi = v.numbers_list("intensity_range", intensity_range, minimum=0.0, allow_zero=False, min_len=2, max_len=2)
    if hi <= lo:
        raise ValueError(f"intensity_range must be increasing, got {intensity_range}")
    rows = []
    for d in v.sequence("devices", devices, max_len=100):
        dt = dtype
        if isinstance(d, tuple) and len(d) == 2:
            d, dt = d
        if not isinstance(d, (Accelerator, MeasuredMachine)):
            raise TypeError(
                f"devices must be Accelerator or MeasuredMachine objects or (device, dtype) pairs, got {type(d).__name__}"
            )
        if isinstance(d, MeasuredMachine) and dt not in MEASURED_DTYPES:
            dt = "fp32"
        peak, bw = d.peak_flops(dt), d.bandwidth
        ridge = ridge_point(peak, bw)
        label = f"{d.name} ({dt})"
        for x in sorted({lo, min(max(ridge, lo), hi), hi}):
            rows.append({"device": label, "intensity": x, "TFLOP/s": attainable_flops(x, peak, bw) / 1e12})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class MatmulPoint:
    """One measured (batch x k)·(k x n) matmul: its arithmetic intensity
    (FLOP per byte, :func:`course_lib.predict.arithmetic_intensity`) and the
    FLOP/s it reached (2·batch·k·n / median seconds)."""

    batch: int
    k: int
    n: int
    dtype: str
    seconds: float
    intensity: float
    flops_per_s: float


#: Most FLOPs one :func:`measure_matmul` call may do (warm-up and repeats together).
MAX_MATMUL_FLOPS = 4e11


def measure_matmul(batch: int, k: int, n: int, *, dtype: str = "fp32", device=None, repeats: int = 5,
                   statistic: str = "median") -> MatmulPoint:
    """Time ``x @ w`` with x (batch x k) and w (k x n) on ``device`` (default:
    :func:`course_lib.env.device`), ``repeats`` runs after one warm-up, and
    place it on the roofline. ``statistic`` is ``"median"`` or ``"fastest"``
    (the run least disturbed by other programs on a shared machine). Pick
    k·n large enough that ``w`` does not fit in the CPU's cache, or the point
    can sit above the DRAM roofline. Lesson 03, section 3.
    """
    batch, k, n = v.positive_int("batch", batch), v.positive_int("k", k), v.positive_int("n", n)
    v.choice("dtype", dtype, MEASURED_DTYPES)
    repeats = v.positive_int("repeats", repeats, maximum=v.MAX_REPEATS)
    v.choice("statistic", statistic, ("median", "fastest"))
    v.fits_memory(f"batch={batch}, k={k}, n={n}", 4 * (batch * k + k * n + batch * n))
    if 2 * batch * k * n * (repeats + 1) > MAX_MATMUL_FLOPS:
        raise ValueError(f"batch={batch}, k={k}, n={n} with repeats={repeats} is {2 * batch * k * n * (repeats + 1):.3g} "
                         f"FLOPs, more than the {MAX_MATMUL_FLOPS:.0e} that finish in seconds; use smaller sizes")
    dev = env.device() if device is None else torch.device(device)
    dt = TORCH_FLOATS[dtype]
    gen = torch.Generator(device=dev).manual_seed(0)
    x = torch.randn(batch, k, generator=gen, device=dev, dtype=dt)
    w = torch.randn(k, n, generator=gen, device=dev, dtype=dt)
    timing = time_it(lambda: x @ w, warmup=1, repeats=repeats)
    seconds = timing.median if statistic == "median" else timing.fastest
    size = torch.finfo(dt).bits // 8
    return MatmulPoint(
        batch=batch,
        k=k,
        n=n,
        dtype=dtype,
        seconds=seconds,
        intensity=arithmetic_intensity(batch, k, n, size),
        flops_per_s=2 * batch * k * n / seconds,
    )


def cpu_cache_sizes(root: str = "/sys/devices/system/cpu/cpu0/cache") -> dict[str, int]:
    """This CPU's cache sizes in bytes as Linux reports them for core 0, e.g.
    ``{"L1d": 32768, "L1i": 32768, "L2": 1048576, "L3": 33554432}`` (the L3
    is usually shared by several cores); ``{}`` where the OS does not say.
    Lesson 03, section 1.
    """
    root = os.fspath(v.instance("root", root, (str, os.PathLike), "a folder path (str)"))
    sizes = {}
    for index in sorted(glob.glob(os.path.join(root, "index*"))):
        try:
            with open(os.path.join(index, "level")) as f:
                level = f.read().strip()
            with open(os.path.join(index, "type")) as f:
                kind = f.read().strip()
            with open(os.path.join(index, "size")) as f:
                text = f.read().strip()
        except OSError:
            continue
        units = {"K": 2**10, "M": 2**20, "G": 2**30}
        n = int(text[:-1]) * units[text[-1]] if text and text[-1] in units else int(text)
        suffix = {"Data": "d", "Instruction": "i"}.get(kind, "")
        sizes[f"L{level}{suffix}"] = n
    return sizes
