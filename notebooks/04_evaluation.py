# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Evaluating the detectors
#
# *Paper sections 4.2.1 and 4.3: the two detectors compared by their loss curves (Fig. 11), validation
# mAP (Fig. 12), mAP on the test set (0.856 for Faster R-CNN, 0.888 for CRF-Faster R-CNN) and the
# confusion counts of Table 2.*
#
# Every score here is on a held-out **test split of ground blocks** that no training tile covers (on the
# original tiles; their flipped copies would count the same ground three times). The paper's metric is
# the VOC AP at IoU 0.5 with all-point interpolation (one class, so mAP = AP); COCO's AP[.5:.95], AP50
# and AP75 come from pycocotools. Counts use the operating score threshold of the AOI file.

# %% tags=["parameters"]
aoi = "data/aoi/ahai-synthetic.yaml"  # area-of-interest parameter file
profile = "cpu"  # smoke | cpu | paper
run_root = "runs"  # outputs go to <run_root>/<name>/<profile>/

# %% tags=["hide-input"]
import logging

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from lsid.config import load_aoi
from lsid.experiments import all_runs, cached_detections, ensure_trained, run_folder, score_on_test
from lsid.metrics import pr_curve
from lsid.plots.detection import PAPER_MAP, PRETTY, fig_examples, fig_losses, fig_pr, fig_val_map
from lsid.train import TileDataset

logging.basicConfig(level=logging.WARNING)
cfg = load_aoi(aoi, profile)
run_dir = cfg.run_dir(run_root)
labelled = (run_dir / "tiles" / "summary.json").exists()
if not labelled:
    display(Markdown("**No TileSet for this area** (no landslide inventory): there is nothing to evaluate here."))
else:
    results = {}
    for run, ablation in all_runs(cfg):
        summary = ensure_trained(cfg, run_dir, run, ablation, progress=False)  # done by the training stage
        results[run.key] = {"run": run, "ablation": ablation, "summary": summary,
                            "test": score_on_test(cfg, run_dir, run)}
    main = [r for r, a in all_runs(cfg) if not a]
    if cfg.profile == "cpu":
        display(Markdown("**`cpu` profile: small runs on 2 CPU cores, far from convergence; read the numbers as what "
                         "such a run gives, not as the architectures' worth. The `paper` profile (GPU) runs the "
                         "paper's schedule.**"))

# %% [markdown]
# ## Training curves (Figs. 11 and 12)

# %% tags=["hide-input"]
if labelled:
    fig = fig_losses({r.model: pd.read_csv(run_folder(run_dir, r) / "history.csv") for r in main}, synthetic=cfg.synthetic)
    plt.show()
    fig = fig_val_map({r.model: pd.read_csv(run_folder(run_dir, r) / "epochs.csv") for r in main},
                      {r.model: results[r.key]["summary"]["best_epoch"] for r in main}, synthetic=cfg.synthetic)
    plt.show()

# %% [markdown]
# ## The paper's comparison

# %% tags=["hide-input"]
if labelled:
    rows = []
    for r in main:
        t, s = results[r.key]["test"], results[r.key]["summary"]
        rows.append({"model": PRETTY.get(r.model, r.model), "paper mAP@0.5": PAPER_MAP.get(r.model, np.nan),
                     "lsid mAP@0.5 (VOC)": t["voc_ap50"], "COCO AP": t["coco_ap"], "AP50": t["coco_ap50"],
                     "AP75": t["coco_ap75"], "precision": t["precision"], "recall": t["recall"], "F1": t["f1"],
                     "epochs": s["epochs"], "minutes": round(s["seconds"] / 60, 1)})
    display(pd.DataFrame(rows).set_index("model").round(3))
    display(Markdown(f"### Table 2 analogue: counts on the test tiles at score ≥ {cfg.training.score_threshold}"))
    conf = pd.DataFrame([{"model": PRETTY.get(r.model, r.model), **{k.upper(): results[r.key]["test"][k]
                          for k in ("tp", "fp", "fn", "tn")}, "ground-truth boxes": results[r.key]["test"]["ground_truth_boxes"],
                          "negative tiles": results[r.key]["test"]["negative_tiles"],
                          "test tiles": results[r.key]["test"]["test_images"]} for r in main]).set_index("model")
    display(conf)
    display(Markdown("TP: detections matching a true box (IoU ≥ 0.5); FP: the others; FN: true boxes missed; "
                     "TN: negative tiles (no landslide) with no detection."))

# %% [markdown]
# ## Ablations: what each part buys, and the leak of a random split
#
# The paper compares only its two models. Between them lie the backbone (VGG16 → ResNet-50), the pyramid
# (FPN) and the attention (CBAM); lsid trains the steps in between, the physical channels instead of
# the rendered colours, and the same CRF model on a tile-by-tile random split (scored on that split's own
# test tiles, which share ground with its training tiles).

# %% tags=["hide-input"]
if labelled:
    rows = []
    for res in results.values():
        r, t, s = res["run"], res["test"], res["summary"]
        rows.append({"model": PRETTY.get(r.model, r.model), "channels": r.channels, "split": r.split,
                     "mAP@0.5 (VOC)": t["voc_ap50"], "COCO AP": t["coco_ap"], "AP50": t["coco_ap50"],
                     "F1": t["f1"], "epochs": s["epochs"], "minutes": round(s["seconds"] / 60, 1),
                     "role": "ablation" if res["ablation"] else "paper's comparison"})
    table = pd.DataFrame(rows)
    display(table.set_index(["model", "channels", "split"]).round(3))
    sp = table[(table.model == PRETTY["crf_faster_rcnn"]) & (table.channels == "rendered")]
    if {"spatial", "random"} <= set(sp.split):
        a = float(sp[sp.split == "spatial"]["mAP@0.5 (VOC)"].iloc[0])
        b = float(sp[sp.split == "random"]["mAP@0.5 (VOC)"].iloc[0])
        display(Markdown(f"**Leak:** CRF-Faster R-CNN scores mAP {b:.3f} on a random split's test tiles and {a:.3f} "
                         f"on held-out ground: a difference of {b - a:+.3f} that a tile-by-tile split would report as skill."))

# %% [markdown]
# ## Precision-recall on the test tiles

# %% tags=["hide-input"]
if labelled:
    curves = {}
    for r in main:
        gt = TileDataset(run_dir / "tiles" / r.channels, "test", r.split).keep_originals().coco
        rec, prec, _ = pr_curve(gt, cached_detections(run_dir, r))
        curves[r.model] = (rec, prec)
    fig = fig_pr(curves, synthetic=cfg.synthetic)
    plt.show()

# %% [markdown]
# ## Example detections
#
# Test tiles with the true boxes (dashed) and each model's detections above the operating threshold
# (yellow, with their scores).

# %% tags=["hide-input"]
if labelled:
    fig = fig_examples(run_dir / "tiles" / main[0].channels, gt, {r.model: cached_detections(run_dir, r) for r in main},
                       cfg.training.score_threshold, n=4, seed=cfg.seed, synthetic=cfg.synthetic)
    plt.show()
