"""Validation of potential landslides against an inventory of known (historical) landslides.

A potential landslide is *confirmed* when it lies within ``tolerance_m`` of an inventory object (points
or polygons; the distance between outlines, 0 when they overlap) — the analogue of the paper's field
and optical confirmation (84 % of 38). Precision = confirmed share of the potential landslides; recall
= share of the inventory objects that some potential landslide confirms. On synthetic data the truth
also tells *why* an object was missed (its size or rate) and what a false alarm was (a distractor:
settling terraces, settlements, the dam).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd


def _pairs(a: gpd.GeoDataFrame, b: gpd.GeoDataFrame, tolerance_m: float) -> tuple[np.ndarray, np.ndarray]:
    if a.empty or b.empty:
        return np.zeros(0, int), np.zeros(0, int)
    ia, ib = b.sindex.query(a.geometry.buffer(tolerance_m).values if tolerance_m > 0 else a.geometry.values,
                            predicate="intersects")
    return ia, ib


def validate(potential: gpd.GeoDataFrame, reference: gpd.GeoDataFrame, tolerance_m: float = 100.0,
             reference_id: str = "id") -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, dict]:
    """Match potential landslides with a reference inventory.

    Returns (potential with ``confirmed`` and ``matches`` — the reference ids within tolerance;
    reference with ``detected`` and ``detected_by``; a summary dict: n_potential, n_confirmed,
    precision, n_reference, n_detected, recall, f1, tolerance_m). Both frames must share a CRS."""
    if potential.crs is not None and reference.crs is not None and potential.crs != reference.crs:
        reference = reference.to_crs(potential.crs)
    ref_ids = reference[reference_id].astype(str).to_numpy() if reference_id in reference else \
        np.array([str(i) for i in range(len(reference))])
    pot_ids = potential["id"].astype(str).to_numpy() if "id" in potential else \
        np.array([str(i) for i in range(len(potential))])
    ia, ib = _pairs(potential.reset_index(drop=True), reference.reset_index(drop=True), tolerance_m)
    p = potential.copy()
    r = reference.copy()
    p["matches"] = [",".join(ref_ids[ib[ia == i]]) for i in range(len(p))]
    p["confirmed"] = [bool(np.any(ia == i)) for i in range(len(p))]
    r["detected_by"] = [",".join(pot_ids[ia[ib == j]]) for j in range(len(r))]
    r["detected"] = [bool(np.any(ib == j)) for j in range(len(r))]
    n_p, n_c, n_r, n_d = len(p), int(p["confirmed"].sum()), len(r), int(r["detected"].sum())
    prec = n_c / n_p if n_p else float("nan")
    rec = n_d / n_r if n_r else float("nan")
    f1 = 2 * prec * rec / (prec + rec) if n_p and n_r and (prec + rec) > 0 else float("nan")
    return p, r, {"n_potential": n_p, "n_confirmed": n_c, "precision": prec, "n_reference": n_r, "n_detected": n_d,
                  "recall": rec, "f1": f1, "tolerance_m": tolerance_m}


def recall_by_class(reference: gpd.GeoDataFrame, column: str, bins, labels=None) -> pd.DataFrame:
    """Recall of a validated reference (``detected`` column) per class of ``column`` (e.g. area_m2 or
    rate_mm_yr): the classes, their object counts, detected counts and recall."""
    cls = pd.cut(reference[column], bins=bins, labels=labels, include_lowest=True)
    g = reference.groupby(cls, observed=False)["detected"]
    out = pd.DataFrame({"objects": g.size(), "detected": g.sum().astype(int)})
    out["recall"] = out["detected"] / out["objects"].where(out["objects"] > 0)
    out.index.name = column
    return out.reset_index()


def explain_false_alarms(potential: gpd.GeoDataFrame, distractors: gpd.GeoDataFrame | None,
                         tolerance_m: float = 100.0) -> pd.Series:
    """For each unconfirmed potential landslide, the kind of synthetic distractor it sits on (settling
    terrace, settlement, dam, ...), or '' when none: false alarms that a deformation map alone cannot tell
    from a landslide."""
    out = pd.Series("", index=potential.index, dtype=object)
    if distractors is None or distractors.empty or potential.empty:
        return out
    d = distractors.to_crs(potential.crs) if distractors.crs != potential.crs else distractors
    ia, ib = _pairs(potential.reset_index(drop=True), d.reset_index(drop=True), tolerance_m)
    kinds = d["kind"].astype(str).to_numpy() if "kind" in d else np.full(len(d), "distractor")
    for i, j in zip(ia, ib):
        idx = potential.index[i]
        if not potential["confirmed"].iloc[i] and kinds[j] not in out[idx].split(","):
            out[idx] = ",".join([k for k in (out[idx], kinds[j]) if k])
    return out


__all__ = ["validate", "recall_by_class", "explain_false_alarms"]
