"""Checks that stand in for the paper's optical interpretation of each detected anomaly (§4.4).

Each check compares one measure of an object (lsid.inventory.objects) with a threshold of the AOI's
``inventory`` section; a threshold of None switches the check off. What each one rejects:

- ``area``: specks smaller than ``min_area_m2`` (noise, single unwrapping errors).
- ``slope``: mean slope below ``min_slope_deg`` — flat ground: subsiding terraces, settlements,
  reclaimed land and the dam settle, they do not slide.
- ``relief``: elevation range below ``min_relief_m`` — a landslide runs down a slope.
- ``coherence``: mean temporal coherence below ``min_coherence`` — the rates there are unreliable.
- ``sensitivity``: |LOS . downslope| below ``min_los_sensitivity`` — a slope facing along the track
  barely shows downslope motion in that orbit, so a strong LOS signal there is unlikely to be a slide.
- ``velocity``: |v_p95| against the ring around the object below ``min_velocity_mm_yr``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: check name -> (measure column, AOI inventory parameter, how the measure must compare).
CHECKS = {
    "area": ("area_m2", "min_area_m2"),
    "slope": ("slope_deg", "min_slope_deg"),
    "relief": ("relief_m", "min_relief_m"),
    "coherence": ("coherence", "min_coherence"),
    "sensitivity": ("los_sensitivity", "min_los_sensitivity"),
    "velocity": ("v_p95", "min_velocity_mm_yr"),
}


def apply_checks(objects: pd.DataFrame, params) -> pd.DataFrame:
    """A copy of ``objects`` with ``passes`` (bool) and ``rejected_by`` (comma-separated failed checks).

    ``params``: an object with the thresholds of :data:`CHECKS` as attributes (InventoryConfig). A
    measure that is NaN (no DEM, no reliable pixel) fails its check, except slope/relief/sensitivity when
    the scene has no DEM at all (then those checks cannot be made and are skipped, with the column NaN)."""
    out = objects.copy()
    failed = [[] for _ in range(len(out))]
    for name, (col, param) in CHECKS.items():
        thr = getattr(params, param)
        if thr is None or col not in out:
            continue
        x = out[col].to_numpy(dtype=float)
        if col in ("slope_deg", "relief_m", "los_sensitivity") and np.all(np.isnan(x)):
            continue
        bad = ~(np.abs(x) >= thr) if col == "v_p95" else ~(x >= thr)
        for i in np.flatnonzero(bad):
            failed[i].append(name)
    out["rejected_by"] = [",".join(f) for f in failed]
    out["passes"] = [not f for f in failed]
    return out


def rejection_table(objects: pd.DataFrame) -> pd.DataFrame:
    """Objects rejected by each check (an object failing several checks counts under each)."""
    counts = {name: int(objects["rejected_by"].str.split(",").apply(lambda f, n=name: n in f).sum()) for name in CHECKS}
    return pd.DataFrame({"check": list(counts), "rejected": list(counts.values())})


__all__ = ["CHECKS", "apply_checks", "rejection_table"]
