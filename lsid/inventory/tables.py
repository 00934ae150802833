"""Numbers the inventory chapter reports: checks per source and orbit, recall by class of the reference
landslides, recall of the visible ones, and which inventory beats which. Each takes ``sources``:
{label: one source of :func:`lsid.inventory.stage.load` (inventory, objects, reference, summary)}."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lsid.inventory.checks import rejection_table
from lsid.inventory.validate import recall_by_class

#: Classes of landslide area (m²) and of mean downslope rate (mm/yr) for the recall tables.
AREA_CLASSES = ([0, 1e4, 5e4, 2e5, 1e6, np.inf], ["< 1 ha", "1-5 ha", "5-20 ha", "20-100 ha", "> 100 ha"])
RATE_CLASSES = ([0, 10, 20, 50, np.inf], ["< 10", "10-20", "20-50", "> 50 mm/yr"])


def check_table(sources: dict[str, dict]) -> pd.DataFrame:
    """Per source and orbit: objects, those passing every check, and those rejected by each check."""
    rows = []
    for label, r in sources.items():
        for o, g in r["objects"].items():
            rej = rejection_table(g).set_index("check")["rejected"] if len(g) else pd.Series(dtype=int)
            rows.append({"source": label, "orbit": o, "objects": len(g),
                         "pass the checks": int(g["passes"].astype(bool).sum()) if len(g) else 0,
                         **{f"rejected: {k}": int(v) for k, v in rej.items()}})
    return pd.DataFrame(rows).set_index(["source", "orbit"])


def recall_tables(sources: dict[str, dict]) -> dict[str, pd.DataFrame]:
    """{"by area": ..., "by mean downslope rate": ...}: recall per class of the reference landslides,
    one block of rows per source (column ``source``); empty when no source has a reference."""
    tables: dict[str, list] = {"by area": [], "by mean downslope rate": []}
    for label, r in sources.items():
        if r["reference"] is None:
            continue
        for key, col, (bins, labels) in (("by area", "area_m2", AREA_CLASSES),
                                         ("by mean downslope rate", "rate_mm_yr", RATE_CLASSES)):
            ref = r["reference"].assign(detected=r["reference"]["detected"].astype(bool))
            tb = recall_by_class(ref, col, bins, labels).rename(columns={col: "class"})
            tables[key].append(tb.assign(source=label))
    return {k: pd.concat(v, ignore_index=True) for k, v in tables.items() if v}


def visibility_recall(sources: dict[str, dict]) -> pd.DataFrame:
    """Per source: reference landslides, those visible in at least one orbit (the synthetic truth's
    ``visible_<orbit>`` flags), recall of all and of the visible ones."""
    rows = []
    for label, r in sources.items():
        ref = r["reference"]
        if ref is None:
            continue
        vis = np.zeros(len(ref), dtype=bool)
        for o in ("ascending", "descending"):
            if f"visible_{o}" in ref:
                vis |= ref[f"visible_{o}"].astype(bool).to_numpy()
        det = ref["detected"].astype(bool).to_numpy()
        rows.append({"source": label, "reference landslides": len(ref), "visible in an orbit": int(vis.sum()),
                     "recall (all)": det.mean() if len(det) else np.nan,
                     "recall (visible ones)": det[vis].mean() if vis.any() else np.nan})
    return pd.DataFrame(rows).set_index("source").round(3)


def verdict(name: str, model: dict, ada: dict) -> str | None:
    """One sentence: does the detector's inventory (summary ``model``) beat the ADA baseline's (``ada``)
    on F1? None when either has no validation."""
    if "validation" not in model or "validation" not in ada:
        return None
    a, b = model["validation"], ada["validation"]
    if np.isfinite(a["f1"]) and np.isfinite(b["f1"]):
        word = "beats" if a["f1"] > b["f1"] else "does not beat"
        return (f"**{name} {word} the ADA baseline** on this run: F1 {a['f1']:.2f} against {b['f1']:.2f} "
                f"(confirmed share {a['precision']:.2f} vs {b['precision']:.2f}, recall {a['recall']:.2f} vs "
                f"{b['recall']:.2f}).")
    return (f"**{name} does not beat the ADA baseline** on this run: it gives {a['n_potential']} potential "
            f"landslides (recall {a['recall']:.2f}) against ADA's {b['n_potential']} (recall {b['recall']:.2f}, "
            f"confirmed share {b['precision']:.2f}).")
