"""The tables of the book's training and evaluation chapters (notebooks 03 and 04), from the models
and from what :func:`lsid.training.stage.run` returns (pandas; not imported by :mod:`lsid.training`).

``results`` below is ``{run key: {**train.json summary, "test": test metrics}}``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lsid.layout import RunLayout
from lsid.paper import MAP50, PRETTY
from lsid.training.fit import TrainConfig
from lsid.training.stage import all_runs, cached_detections

#: The train.json entries shown for one run (notebook 03).
SUMMARY_KEYS = ("epochs", "iterations", "best_epoch", "best_val_map50", "selected_by", "stopped", "seconds",
                "device", "amp")


def model_summary(model_name: str, in_channels: int, size: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(parameters of the detector's parts, in millions, indexed by ``part``; the feature maps the
    detection heads see for a ``size`` px tile: channels, size (px) and stride (px), indexed by
    ``level``) of an untrained ``model_name`` with ``in_channels`` input channels."""
    import torch

    from lsid.models import build, count_parameters

    m = build(model_name, in_channels, size)
    parts = [{"part": "whole detector", "parameters (M)": round(count_parameters(m) / 1e6, 2)},
             {"part": "backbone (+ neck, attention)", "parameters (M)": round(count_parameters(m.backbone) / 1e6, 2)},
             {"part": "RPN", "parameters (M)": round(count_parameters(m.rpn) / 1e6, 3)},
             {"part": "RoI heads (2 FC + predictor)", "parameters (M)": round(count_parameters(m.roi_heads) / 1e6, 2)}]
    with torch.inference_mode():
        feats = m.backbone.eval()(torch.zeros(1, in_channels, size, size))
    levels = pd.DataFrame([{"level": k, "channels": v.shape[1], "size (px)": f"{v.shape[2]} × {v.shape[3]}",
                            "stride": size // v.shape[2]} for k, v in feats.items()])
    return pd.DataFrame(parts).set_index("part"), levels.set_index("level")


def schedule_text(tc: TrainConfig, profile: str) -> str:
    """One paragraph (Markdown) on a run's schedule: optimiser, warm-up, stopping, heads, weights, and
    for the ``cpu`` profile a warning that it is far from convergence."""
    budget = tc.time_budget_min
    return (
        f"Schedule: SGD, lr {tc.lr}, momentum {tc.momentum}, weight decay {tc.weight_decay}, batch {tc.batch_size}, "
        f"linear warm-up over {tc.warmup_iters} iterations, at most {tc.epochs} epochs, early stopping after "
        f"{tc.patience} epochs without a better validation mAP"
        + (f", and a time budget of {budget:g} min" if budget else "")
        + (f"; lighter heads than torchvision's defaults ({', '.join(f'{k} {v}' for k, v in tc.extra.items())})"
           if tc.extra else "") + ". From scratch: "
        + ("ImageNet weights." if tc.pretrained else "no pretrained weights (GroupNorm backbone).")
        + ("\n\n**This is the `cpu` profile: a deliberately small run on 2 CPU cores, far from convergence. Its "
           "scores say what such a run gives, not what the architectures can do; the `paper` profile (GPU) runs the "
           "paper's schedule.**" if profile == "cpu" else ""))


def summary_table(summary: dict) -> pd.DataFrame:
    """The main train.json entries of one run (:data:`SUMMARY_KEYS`) as a one-column ``value`` table."""
    return pd.DataFrame([{k: summary[k] for k in SUMMARY_KEYS}]).T.rename(columns={0: "value"})


def main_runs(cfg) -> list:
    """The runs of the paper's comparison (``cfg.training.runs``), in order."""
    return [r for r, ablation in all_runs(cfg) if not ablation]


def comparison_table(cfg, results: dict) -> pd.DataFrame:
    """The paper's comparison: per main run, the paper's mAP@0.5 beside this run's test metrics (VOC
    mAP@0.5, COCO APs, precision, recall, F1 at the operating threshold), epochs and minutes;
    indexed by model, rounded to 3 decimals."""
    rows = []
    for r in main_runs(cfg):
        t, s = results[r.key]["test"], results[r.key]
        rows.append({"model": PRETTY.get(r.model, r.model), "paper mAP@0.5": MAP50.get(r.model, np.nan),
                     "lsid mAP@0.5 (VOC)": t["voc_ap50"], "COCO AP": t["coco_ap"], "AP50": t["coco_ap50"],
                     "AP75": t["coco_ap75"], "precision": t["precision"], "recall": t["recall"], "F1": t["f1"],
                     "epochs": s["epochs"], "minutes": round(s["seconds"] / 60, 1)})
    return pd.DataFrame(rows).set_index("model").round(3)


def confusion_table(cfg, results: dict) -> pd.DataFrame:
    """Table 2 analogue: per main run, TP, FP, FN, TN at the operating score threshold, the true boxes,
    negative tiles and test tiles; indexed by model."""
    rows = []
    for r in main_runs(cfg):
        t = results[r.key]["test"]
        rows.append({"model": PRETTY.get(r.model, r.model), **{k.upper(): t[k] for k in ("tp", "fp", "fn", "tn")},
                     "ground-truth boxes": t["ground_truth_boxes"], "negative tiles": t["negative_tiles"],
                     "test tiles": t["test_images"]})
    return pd.DataFrame(rows).set_index("model")


def ablation_table(cfg, results: dict) -> pd.DataFrame:
    """Every run (comparison and ablations): test mAP@0.5 (VOC), COCO AP, AP50, F1, epochs, minutes and
    its role; indexed by (model, channels, split), rounded to 3 decimals."""
    rows = []
    for r, ablation in all_runs(cfg):
        t, s = results[r.key]["test"], results[r.key]
        rows.append({"model": PRETTY.get(r.model, r.model), "channels": r.channels, "split": r.split,
                     "mAP@0.5 (VOC)": t["voc_ap50"], "COCO AP": t["coco_ap"], "AP50": t["coco_ap50"],
                     "F1": t["f1"], "epochs": s["epochs"], "minutes": round(s["seconds"] / 60, 1),
                     "role": "ablation" if ablation else "paper's comparison"})
    return pd.DataFrame(rows).set_index(["model", "channels", "split"]).round(3)


def random_split_leak(cfg, results: dict) -> dict | None:
    """The leak of a tile-by-tile random split: test mAP@0.5 of CRF-Faster R-CNN on rendered tiles with the
    ``spatial`` and the ``random`` split and their ``difference`` (random minus spatial); None unless
    both runs are configured."""
    maps = {r.split: float(results[r.key]["test"]["voc_ap50"]) for r, _ in reversed(all_runs(cfg))
            if (r.model, r.channels) == ("crf_faster_rcnn", "rendered")}
    if not {"spatial", "random"} <= set(maps):
        return None
    return {"spatial": maps["spatial"], "random": maps["random"], "difference": maps["random"] - maps["spatial"]}


def held_out_truth(layout: RunLayout, run) -> dict:
    """The COCO ground truth of a run's test split, original tiles only."""
    from lsid.training.data import TileDataset

    return TileDataset(layout.tileset(run.channels), "test", run.split).keep_originals().coco


def pr_curves(layout: RunLayout, runs) -> dict:
    """{model: (recall, precision)} of each run's cached test detections (:func:`lsid.metrics.pr_curve`)."""
    from lsid.metrics import pr_curve

    curves = {}
    for r in runs:
        rec, prec, _ = pr_curve(held_out_truth(layout, r), cached_detections(layout, r))
        curves[r.model] = (rec, prec)
    return curves
