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
import pandas as pd
from IPython.display import Markdown, display

from lsid.config import load_aoi
from lsid.layout import RunLayout
from lsid.plots.detection import fig_examples, fig_losses, fig_pr, fig_val_map
from lsid.training import stage, tables

logging.basicConfig(level=logging.WARNING)
cfg = load_aoi(aoi, profile)
layout = RunLayout.of(cfg, run_root)
if not cfg.labelled:
    display(Markdown("**No TileSet for this area** (no landslide inventory): there is nothing to evaluate here."))
else:
    results = stage.run(cfg, layout)  # trained by the training stage; scored here on the test splits
    main = tables.main_runs(cfg)
    if cfg.profile == "cpu":
        display(Markdown("**`cpu` profile: small runs on 2 CPU cores, far from convergence; read the numbers as what "
                         "such a run gives, not as the architectures' worth. The `paper` profile (GPU) runs the "
                         "paper's schedule.**"))

# %% [markdown]
# ## Training curves (Figs. 11 and 12)

# %% tags=["hide-input"]
if cfg.labelled:
    fig = fig_losses({r.model: pd.read_csv(layout.model(r.key).history) for r in main}, synthetic=cfg.synthetic)
    plt.show()
    fig = fig_val_map({r.model: pd.read_csv(layout.model(r.key).epochs) for r in main},
                      {r.model: results[r.key]["best_epoch"] for r in main}, synthetic=cfg.synthetic)
    plt.show()

# %% [markdown]
# ## The paper's comparison

# %% tags=["hide-input"]
if cfg.labelled:
    display(tables.comparison_table(cfg, results))
    display(Markdown(f"### Table 2 analogue: counts on the test tiles at score ≥ {cfg.training.score_threshold}"))
    display(tables.confusion_table(cfg, results))
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
if cfg.labelled:
    display(tables.ablation_table(cfg, results))
    leak = tables.random_split_leak(cfg, results)
    if leak:
        display(Markdown(f"**Leak:** CRF-Faster R-CNN scores mAP {leak['random']:.3f} on a random split's test tiles "
                         f"and {leak['spatial']:.3f} on held-out ground: a difference of {leak['difference']:+.3f} "
                         f"that a tile-by-tile split would report as skill."))

# %% [markdown]
# ## Precision-recall on the test tiles

# %% tags=["hide-input"]
if cfg.labelled:
    fig = fig_pr(tables.pr_curves(layout, main), synthetic=cfg.synthetic)
    plt.show()

# %% [markdown]
# ## Example detections
#
# Test tiles with the true boxes (dashed) and each model's detections above the operating threshold
# (yellow, with their scores).

# %% tags=["hide-input"]
if cfg.labelled:
    fig = fig_examples(layout.tileset(main[0].channels), tables.held_out_truth(layout, main[0]),
                       {r.model: stage.cached_detections(layout, r) for r in main},
                       cfg.training.score_threshold, n=4, seed=cfg.seed, synthetic=cfg.synthetic)
    plt.show()
