"""Accelerators as data, and the roofline arithmetic (lessons 03 and 05).

:data:`ACCELERATORS` holds dense (no 2:4 sparsity) datasheet figures, each
row with its source. :func:`ridge_point` gives the arithmetic intensity
(FLOP per byte) at which a device stops being limited by memory bandwidth
and becomes compute-bound (Williams, Waterman & Patterson 2009, *Roofline*).
This machine's own point is measured in lesson 03.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import _validate as v


@dataclass(frozen=True)
class Accelerator:
    """One accelerator's datasheet figures (dense; TFLOP/s, TB/s, GB, W)."""

    name: str
    memory_gb: float
    bandwidth_tbs: float
    fp32_tflops: float
    bf16_tflops: float  # FP16 for parts without BF16 (T4)
    fp8_tflops: float | None
    int8_tops: float
    tdp_w: float
    source: str

    @property
    def bandwidth(self) -> float:
        """Memory bandwidth in bytes/s."""
        return self.bandwidth_tbs * 1e12

    def peak_flops(self, dtype: str = "bf16") -> float:
        """Dense peak in FLOP/s (ops/s for int8) for ``dtype`` in fp32, bf16, fp8, int8."""
        v.choice("dtype", dtype, ("fp32", "bf16", "fp8", "int8"))
        tera = {"fp32": self.fp32_tflops, "bf16": self.bf16_tflops, "fp8": self.fp8_tflops, "int8": self.int8_tops}[dtype]
        if tera is None:
            raise ValueError(f"{self.name} has no {dtype} tensor-core support; choose one of fp32, bf16, int8")
        return tera * 1e12


ACCELERATORS: dict[str, Accelerator] = {
    a.name: a
    for a in (
        Accelerator("H100 SXM", 80, 3.35, 67, 989, 1979, 1979, 700, "NVIDIA H100 Tensor Core GPU datasheet (2023), SXM column, dense"),
        Accelerator("A100 80GB SXM", 80, 2.04, 19.5, 312, None, 624, 400, "NVIDIA A100 Tensor Core GPU datasheet (2021), 80GB SXM column, dense"),
        Accelerator("L4", 24, 0.30, 30.3, 121, 242, 242, 72, "NVIDIA L4 Tensor Core GPU datasheet (2023), dense"),
        Accelerator("T4", 16, 0.32, 8.1, 65, None, 130, 70, "NVIDIA T4 Tensor Core GPU datasheet (2019); FP16 in the bf16 column"),
    )
}


def accelerator(name: str) -> Accelerator:
    """Look up an accelerator by name (one of :data:`ACCELERATORS`)."""
    return ACCELERATORS[v.choice("name", name, ACCELERATORS)]


def ridge_point(peak_flops: float, bandwidth: float) -> float:
    """FLOP per byte at which a device turns compute-bound: peak / bandwidth
    (both per second). Below it, attainable FLOP/s = bandwidth × intensity."""
    return v.positive("peak_flops", peak_flops) / v.positive("bandwidth", bandwidth)


def attainable_flops(intensity: float, peak_flops: float, bandwidth: float) -> float:
    """The roofline: min(peak, bandwidth × intensity) in FLOP/s."""
    i = v.positive("intensity", intensity)
    return min(v.positive("peak_flops", peak_flops), v.positive("bandwidth", bandwidth) * i)
