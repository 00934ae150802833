"""The operating score threshold of a pretrained detector, chosen on the corpus's validation areas, and
the inventory scores it is chosen by.

A detector's AP uses every box; a map needs one threshold (design.md, "Notes from the anchors"). A
whole scene has far more background windows than the tiles a detector learns from, so the threshold
that is right for tiles (0.5) lets faint atmospheric blobs through on a scene (measured on the built-in
area with the epoch-3 model: 187 boxes over 0.5 on the ascending map, 42 of them on slides; 32 over 0.9,
24 on slides). :func:`calibrate` runs the study's inventory chain (objects, checks, fusion,
validation: :func:`inventory_scores`) on the validation areas' mean-velocity maps at each threshold of
``THRESHOLDS`` and keeps the one of best pooled F1; ``lsid pretrain --export`` records it in the model
card (``score_threshold``, with the whole table), and every use of the shipped detector takes it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

#: Candidate operating thresholds.
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.97)


def inventory_scores(detections: dict, defos: dict, truth, params=None, visible_ids=None) -> dict:
    """Scores of the inventory made from ``detections`` ({orbit: boxes}) on ``defos`` against ``truth``:
    counts (``potential``, ``confirmed``, ``reference``, ``detected``), precision, recall and F1 against
    every slide (no potential landslide: precision NaN, F1 0) and, given ``visible_ids`` (the slides at
    least one orbit's map can show: :mod:`lsid.corpus.visibility`), the recall of those and the F1 with it."""
    from lsid.config import InventoryConfig
    from lsid.inventory import build_inventory
    from lsid.inventory.objects import SceneLayers
    from lsid.inventory.validate import validate

    params = params or InventoryConfig()
    inv, _ = build_inventory(detections, defos, params, {o: SceneLayers(d) for o, d in defos.items()})
    _, ref, s = validate(inv, truth, params.validation_tolerance_m)
    out = {"potential": int(len(inv)), "confirmed": int(s["n_confirmed"]), "reference": int(s["n_reference"]),
           "detected": int(s["n_detected"])}
    if visible_ids is not None:
        ids = ref["id"].astype(str) if "id" in ref else ref.index.astype(str).to_series(index=ref.index)
        vis = ref[ids.isin({str(i) for i in visible_ids})]  # (an area without slides has no id column)
        out["visible"], out["visible_detected"] = int(len(vis)), int(vis["detected"].sum())
    return _rates(out)


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if np.isfinite(p) and np.isfinite(r) and p + r > 0 else 0.0


def _rates(c: dict) -> dict:
    """Precision, recall, F1 (and the visible ones) of summed counts."""
    p = c["confirmed"] / c["potential"] if c["potential"] else float("nan")
    r = c["detected"] / c["reference"] if c["reference"] else float("nan")
    out = {**c, "precision": p, "recall": r, "f1": _f1(p, r)}
    if "visible" in c:
        rv = c["visible_detected"] / c["visible"] if c["visible"] else float("nan")
        out.update(recall_visible=rv, f1_visible=_f1(p, rv))
    return out


def pooled(scores: list[dict]) -> dict:
    """Micro-averaged scores of several areas (counts summed, then the rates)."""
    keys = [k for k in ("potential", "confirmed", "reference", "detected", "visible", "visible_detected")
            if all(k in s for s in scores)]
    return _rates({k: int(sum(s[k] for s in scores)) for k in keys})


def area_maps(corpus: str | Path, split: str = "val"):
    """(area record, {orbit: map}, truth polygons, visible slide ids) of each area of ``split``."""
    import geopandas as gpd
    import pandas as pd

    from lsid.corpus.area import CorpusAreaLayout
    from lsid.io.netcdf import open_netcdf

    corpus = Path(corpus)
    for a in json.loads((corpus / "manifest.json").read_text())["areas"]:
        if a["split"] != split:
            continue
        lay = CorpusAreaLayout(corpus / a["folder"])
        defos = {o: open_netcdf(lay.map(o), chunks=None, what="map").load() for o in ("ascending", "descending")
                 if lay.map(o).exists()}
        vis = pd.read_csv(lay.visibility, dtype={"id": str})
        yield a, defos, gpd.read_file(lay.landslides), vis.loc[vis.visible, "id"].unique()


def calibrate(model, drawing, corpus: str | Path, split: str = "val", thresholds=THRESHOLDS,
              progress: bool = False) -> dict:
    """The threshold of best pooled inventory F1 on the ``split`` areas of ``corpus``; returns
    {"score_threshold", "split", "areas", "table": [{threshold, precision, recall, f1, ...}]}. Boxes are
    detected once, at the lowest threshold, then filtered."""
    from tqdm import tqdm

    from lsid.detect.scene import detect_scene

    low = min(thresholds)
    per_threshold: dict[float, list[dict]] = {t: [] for t in thresholds}
    areas = list(area_maps(corpus, split))
    for _, defos, truth, visible in tqdm(areas, desc=f"calibrating on {split} areas", disable=not progress):
        boxes = {o: detect_scene(model, d, drawing, score_threshold=low) for o, d in defos.items()}
        for t in thresholds:
            dets = {o: b[b.score >= t].reset_index(drop=True) for o, b in boxes.items()}
            per_threshold[t].append(inventory_scores(dets, defos, truth, visible_ids=visible))
    table = [{"threshold": t, **pooled(s)} for t, s in per_threshold.items()]
    best = max(table, key=lambda r: (r["f1"], r["threshold"]))
    return {"score_threshold": best["threshold"], "split": split, "areas": len(areas), "table": table}


__all__ = ["THRESHOLDS", "inventory_scores", "pooled", "area_maps", "calibrate"]
