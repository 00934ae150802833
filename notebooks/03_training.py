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
# # Training a detector
#
# *Paper sections 3.2, 3.3 and 3.5: Faster R-CNN with a VGG16 backbone, and CRF-Faster R-CNN
# (ResNet-50 + FPN with a CBAM attention block on every pyramid level); SGD with learning rate 0.0025,
# momentum 0.9, weight decay 0.001, batches of 5, at most 300 epochs, early stopping after 10 epochs
# without a better validation mAP.*
#
# The pipeline runs this notebook once per detector run of the area's `training` section (the model,
# the TileSet's channel mode and the split are its parameters).

# %% tags=["parameters"]
aoi = "data/aoi/ahai-synthetic.yaml"  # area-of-interest parameter file
profile = "cpu"  # smoke | cpu | paper
run_root = "runs"  # outputs go to <run_root>/<name>/<profile>/
model = "crf_faster_rcnn"  # a model of lsid.models.REGISTRY
channels = "rendered"  # rendered | physical
split = "spatial"  # spatial | random

# %% tags=["hide-input"]
import logging

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from lsid.config import load_aoi
from lsid.layout import RunLayout
from lsid.models import REGISTRY
from lsid.plots.detection import PRETTY, fig_losses, fig_val_map
from lsid.training import stage, tables

logging.basicConfig(level=logging.WARNING)
cfg = load_aoi(aoi, profile)
layout = RunLayout.of(cfg, run_root)
run, ablation = stage.find_run(cfg, model, channels, split)
tc = stage.train_config(cfg, run, ablation)
display(Markdown(f"## {PRETTY.get(model, model)} — {channels} tiles, {split} split"
                 + (" (ablation)" if ablation else "")))
if not cfg.labelled:
    display(Markdown("**No TileSet for this area** (no landslide inventory), so nothing is trained here."))

# %% tags=["hide-input"]
if cfg.labelled:
    parts, levels = tables.model_summary(model, 3, cfg.tiles.size)
    display(Markdown(f"{REGISTRY[model].description}. Feature maps the detection heads see for a "
                     f"{cfg.tiles.size} px tile, and the size of each part:"))
    display(levels)
    display(parts)

# %% [markdown]
# ## Training

# %% tags=["hide-input"]
if cfg.labelled:
    display(Markdown(tables.schedule_text(tc, cfg.profile)))
    summary = stage.ensure_trained(cfg, layout, run, ablation, progress=False)  # the console shows [lsid] lines
    hist = pd.read_csv(layout.model(run.key).history)
    epochs = pd.read_csv(layout.model(run.key).epochs)
    display(tables.summary_table(summary))

# %% [markdown]
# ## Losses and validation mAP (Figs. 11 and 12 for this model)

# %% tags=["hide-input"]
if cfg.labelled:
    fig = fig_losses({model: hist}, synthetic=cfg.synthetic)
    plt.show()
    fig = fig_val_map({model: epochs}, {model: summary["best_epoch"]}, synthetic=cfg.synthetic)
    plt.show()
