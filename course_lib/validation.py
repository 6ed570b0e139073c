"""The course's predictions set against published, measured figures
(lessons 05 and 07; issue 21).

:func:`table` puts every row of :mod:`course_lib.published` beside the
course's prediction for the same case: the roofline bound (a time the
real run cannot beat) and the expected figure (the bound divided by the
efficiency published servers reach, :func:`course_lib.generation.efficiency`,
or training hours at the utilization fitted to published runs,
:func:`course_lib.cost.default_utilization`). :data:`BANDS` are the factors
the course claims for the expected figures; a row outside its band carries
the reason in ``why``.
"""

from __future__ import annotations

import pandas as pd

from . import _validate as v
from . import cost, energy, generation, hardware, published

BANDS = {"serving": 1.5, "training": 1.6}
"""How far (a factor either way) the course claims its expected figures fall from published ones."""

KINDS = ("serving", "training")


def table(kind: str | None = None) -> pd.DataFrame:
    """One row per published figure of ``kind`` (``"serving"``: TTFT, TPOT
    and whole-request latency in seconds; ``"training"``: accelerator-hours
    and MWh; ``None``: both) with columns kind, metric, case, published,
    bound (``None`` where the course claims none), expected, ratio
    (expected ÷ published), band, within (the ratio inside the band), why
    and source. Lessons 05 and 07, the validation sections."""
    if kind is not None:
        v.choice("kind", kind, KINDS)
    rows = []
    if kind in (None, "serving"):
        eff = generation.efficiency()
        for m in published.SERVING.values():
            expected = generation.published_bound(m, routed=True) / eff["prefill" if m.metric == "ttft" else "decode"]
            rows.append(dict(kind="serving", metric=f"{m.metric} (s)", case=m.key, published=m.seconds,
                             bound=generation.published_bound(m), expected=expected, why=m.why, source=m.source))
    if kind in (None, "training"):
        for r in published.TRAINING.values():
            n = cost.active_params(r.model)
            rows.append(dict(kind="training", metric="accelerator-hours", case=r.key, published=r.hours,
                             bound=cost.training_hours(n, r.n_tokens, accelerator=r.accelerator, utilization=1.0),
                             expected=cost.training_hours(n, r.n_tokens, accelerator=r.accelerator),
                             why=r.why, source=r.source))
        for e in published.ENERGY.values():
            r = published.TRAINING[e.run]
            hours = cost.training_hours(r.model, r.n_tokens, accelerator=r.accelerator)
            mwh = energy.energy_kwh(hardware.resolve(r.accelerator).tdp_w, hours, pue=e.pue) / 1000
            rows.append(dict(kind="training", metric="MWh (TDP x hours x PUE)", case=e.key, published=e.mwh, bound=None,
                             expected=mwh, why=e.why or r.why, source=e.source))
    frame = pd.DataFrame(rows)
    frame["ratio"] = frame["expected"] / frame["published"]
    frame["band"] = frame["kind"].map(BANDS)
    frame["within"] = (frame["ratio"] <= frame["band"]) & (frame["ratio"] >= 1 / frame["band"])
    return frame[["kind", "metric", "case", "published", "bound", "expected", "ratio", "band", "within", "why", "source"]]
