"""The report stage: the paper's numbers (:mod:`lsid.paper`) beside this run's, read from the outputs
of the earlier stages, with the reason for each difference; and the closing notes.

Inputs (each may be absent: its rows then read "not run" or "–", or are left out): ``sbas/<orbit>.json``,
``tiles/summary.json``, ``models/<run>/metrics.json`` and ``train.json`` of the AOI's ``training.runs``,
``inventory/summary.json``. Outputs: ``report/reproduction.csv`` (the table) and ``report/summary.json``
(its rows and the notes, written last). Cache key: none; the report is a few small JSON files read
back, so it is redone on every run.
"""

from __future__ import annotations

import json
import math

import pandas as pd

from lsid import paper
from lsid.config import AOIConfig
from lsid.errors import InputDataError
from lsid.io.atomic import atomic_path, ensure_writable_dir, write_text
from lsid.layout import ORBITS, RunLayout
from lsid.provenance import read_stamp

#: Columns of the reproduction table.
COLUMNS = ("paper section", "quantity", "paper", "this run", "why they differ")
#: What a value of this run reads when its stage has not run.
NOT_RUN = "not run"
#: What a missing or undefined value reads.
MISSING = "–"


def _read(path) -> dict | None:
    """A stage's JSON summary; None when it is missing or damaged (the stage then reads as not run)."""
    return read_stamp(path) or None


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)


def _percent(x) -> str:
    return f"{100 * x:.0f} %" if _finite(x) else MISSING


def inputs(cfg: AOIConfig, layout: RunLayout) -> dict:
    """The earlier stages' summaries the report reads (None, or left out, where a stage has not run):
    ``sbas`` {orbit: sbas/<orbit>.json}, ``tiles``, ``metrics`` {model: metrics.json's metrics updated
    by train.json, for the AOI's ``training.runs`` with a metrics.json}, ``inventory``."""
    metrics = {}
    for run in cfg.training.runs:
        m = _read(layout.model(run.key).metrics)
        if m is not None:
            metrics[run.model] = {**m["metrics"], **(_read(layout.model(run.key).summary) or {})}
    return {"sbas": {o: _read(layout.sbas_summary(o)) for o in ORBITS}, "tiles": _read(layout.tiles_summary),
            "metrics": metrics, "inventory": _read(layout.inventory_summary)}


def _rows(cfg: AOIConfig, found: dict) -> list[dict]:
    rows = []

    def row(section, quantity, value, ours, why):
        rows.append(dict(zip(COLUMNS, (section, quantity, value, NOT_RUN if ours is None else ours, why), strict=True)))

    sbas, tiles, metrics, inv = found["sbas"], found["tiles"], found["metrics"], found["inventory"]
    below_paper = cfg.profile != "paper"
    n = paper.NUMBERS
    row(n["IMAGES"].section, "ascending / descending images", paper.pair(paper.IMAGES),
        " / ".join(str(sbas[o]["dates"]) if sbas[o] else MISSING for o in sbas),
        f"the `{cfg.profile}` profile's size" + ("; `paper` uses the paper's counts" if below_paper else ""))
    row(n["PAIRS_KEPT"].section, "interferograms kept, ascending / descending", paper.pair(paper.PAIRS_KEPT),
        " / ".join(str(sbas[o]["pairs_kept"]) if sbas[o] else MISSING for o in sbas),
        f"network rules on baselines and coherence; `paper` keeps the {paper.pair(paper.PAIRS_KEPT)} most "
        "coherent pairs")
    if tiles:
        d = paper.DATASET
        row(n["DATASET"].section, "crops → kept → after augmentation", f"{d['crops']} → {d['kept']} → {d['augmented']}",
            f"{tiles['crops']} → {tiles['kept']} → {tiles['augmented']}",
            "a written selection rule instead of a hand selection; fewer maps and smaller scenes below `paper`")
    for model, paper_map in paper.MAP50.items():
        m = metrics.get(model)
        ours = None
        if m is not None:
            ours = f"{m['voc_ap50']:.3f}"
            if "epochs" in m and "seconds" in m:  # train.json is there
                ours += f" ({m['epochs']} epochs, {m['seconds'] / 60:.0f} min)"
        row(n["MAP50"].section, f"mAP@0.5, {paper.PRETTY.get(model, model)}", paper_map,
            ours, "held-out ground (a leak-free split) instead of a probable random split; from scratch; "
            + ("a few minutes on 2 CPU cores" if below_paper else "the paper's schedule"))
    if not inv:
        return rows
    for model, paper_boxes in paper.SCENE_BOXES.items():
        b = inv.get("boxes", {}).get(model)
        ours = None if b is None else f"{b.get('ascending', MISSING)} / {b.get('descending', MISSING)}"
        row(n["SCENE_BOXES"].section, f"boxes on the whole scene, asc / desc, {paper.PRETTY.get(model, model)}",
            paper.pair(paper_boxes), ours,
            "another scene (synthetic, its own number of landslides) and another training run")
    src = inv["inventory"] or inv["ada"]
    label = _detector_name(inv) if inv["inventory"] else "ADA baseline (no detector)"
    v = src.get("validation") or {}
    row(n["POTENTIAL_LANDSLIDES"].section, f"potential landslides ({label})", paper.POTENTIAL_LANDSLIDES,
        src["potential_landslides"], "rule-based checks instead of optical interpretation; a scene with "
        + (f"{v.get('n_reference')} true landslides" if v else "an unknown number of landslides"))
    row(n["BOTH_ORBITS"].section, "seen by both orbits", paper.BOTH_ORBITS, src["seen_in"]["both"], "as above")
    row(n["CONFIRMED_SHARE"].section, "share confirmed", _percent(paper.CONFIRMED_SHARE), _percent(v.get("precision")),
        "confirmed against the full truth, not by field visits of the detections only")
    row("—", "recall of the true landslides", "not reported", _percent(v.get("recall")),
        "the paper could not count what it missed; the truth here can")
    a = inv["ada"].get("validation") or {}
    row("—", "non-deep-learning baseline (ADA): confirmed share / recall", "not reported",
        f"{_percent(a.get('precision'))} / {_percent(a.get('recall'))}" if _finite(a.get("precision")) else MISSING,
        "a baseline the paper did not run")
    return rows


def _detector_name(inv: dict) -> str:
    """The name of the detector that made the inventory (the summary's ``detector``, lsid.inventory.detectors)."""
    d = inv.get("detector") or {}
    return d.get("short") or paper.PRETTY.get(inv.get("model"), inv.get("model"))


def reproduction_table(cfg: AOIConfig, layout: RunLayout) -> pd.DataFrame:
    """Every number of the paper beside this run's: one row per quantity, columns :data:`COLUMNS` (paper
    section, quantity, paper, this run, why they differ). Rows of a stage that has not run read
    "not run" or "–"; without an inventory its rows are left out."""
    return pd.DataFrame(_rows(cfg, inputs(cfg, layout)), columns=list(COLUMNS))


def notes(cfg: AOIConfig, layout: RunLayout) -> list[str]:
    """The closing notes (Markdown paragraphs): what the profile can say, and the detector's inventory
    against the ADA baseline when both were validated."""
    out = []
    if cfg.profile != "paper":
        out.append(f"This is the `{cfg.profile}` profile: detectors trained for minutes on a CPU. The comparison of "
                   "architectures proper needs the `paper` profile on a GPU (`make book PROFILE=paper`).")
    inv = _read(layout.inventory_summary)
    if inv and inv["inventory"] and inv["inventory"].get("validation") and inv["ada"].get("validation"):
        a, b = inv["inventory"]["validation"], inv["ada"]["validation"]
        if _finite(a.get("f1")) and _finite(b.get("f1")):
            name = _detector_name(inv)
            out.append(f"On this run the {name} inventory scores F1 {a['f1']:.2f} against the ADA baseline's "
                       f"{b['f1']:.2f}.")
    return out


def _summary(rows: list[dict], notes_: list[str]) -> dict:
    return {"rows": rows, "notes": notes_, "table": pd.DataFrame(rows, columns=list(COLUMNS))}


def run(cfg: AOIConfig, layout: RunLayout, *, force: bool = False, progress: bool = False) -> dict:
    """Make the table and the notes and write them (``report/reproduction.csv``, ``report/summary.json``);
    returns ``{"rows": [...], "notes": [...], "table": DataFrame}``. Always redone (``force`` and
    ``progress`` are accepted for the stages' common interface)."""
    table = reproduction_table(cfg, layout)
    rows = table.to_dict("records")
    notes_ = notes(cfg, layout)
    ensure_writable_dir(layout.report_dir)
    layout.report_summary.unlink(missing_ok=True)
    with atomic_path(layout.reproduction_table) as tmp:
        table.to_csv(tmp, index=False)
    write_text(layout.report_summary, json.dumps({"rows": rows, "notes": notes_}, indent=2, ensure_ascii=False))
    return _summary(rows, notes_)


def load(layout: RunLayout) -> dict:
    """The report of ``layout``'s run as :func:`run` returned it (read from ``report/summary.json``)."""
    if not layout.report_summary.exists():
        raise InputDataError(f"{layout.report_summary}: no report here; run the report stage first "
                             f"(lsid run ... --only report)")
    s = json.loads(layout.report_summary.read_text())
    return _summary(s["rows"], s["notes"])
