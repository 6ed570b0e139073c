"""course_lib: measurements, formulas, charts and calculators for the
*Training vs Inference* course.

Every lesson starts with::

    import course_lib as cl
    device = cl.setup()

Modules: ``env`` (machine report, device, threads), ``measure`` (FLOPs,
time, memory), ``predict`` (formulas), ``models`` and ``data`` (tiny, seeded,
generated), ``charts`` (offline Altair), ``widgets`` (calculator wiring),
``check`` and ``exercises`` (labs).
"""

from __future__ import annotations

__version__ = "0.1.0"


def setup(seed: int = 0, n_threads: int | None = None):
    """Prepare a lesson: cap torch's threads to the CPU quota (or ``n_threads``),
    seed torch's global RNG, enable the offline chart renderer, and return the
    device the lesson measures on (CUDA when present, else the CPU)."""
    import torch

    from . import charts, env
    from . import _validate as v

    env.configure_threads(n_threads)
    torch.manual_seed(v.integer("seed", seed, minimum=0))
    charts.enable()
    return env.device()


def _configure_on_import() -> None:
    # Cap torch's thread pool to the container's CPU quota as soon as the
    # library is imported (Binder: 1 CPU on a many-core host).
    from . import env

    env.configure_threads()


_configure_on_import()
