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
from lsid.experiments import ensure_trained, find_run, run_folder, train_config
from lsid.plots.detection import PRETTY, fig_losses, fig_val_map

logging.basicConfig(level=logging.WARNING)
cfg = load_aoi(aoi, profile)
run_dir = cfg.run_dir(run_root)
run, ablation = find_run(cfg, model, channels, split)
tc = train_config(cfg, run, ablation)
labelled = (run_dir / "tiles" / channels / "tileset.json").exists()
display(Markdown(f"## {PRETTY.get(model, model)} — {channels} tiles, {split} split"
                 + (" (ablation)" if ablation else "")))
if not labelled:
    display(Markdown("**No TileSet for this area** (no landslide inventory), so nothing is trained here."))

# %% tags=["hide-input"]
if labelled:
    import torch

    from lsid.models import REGISTRY, build, count_parameters

    m = build(model, 3, cfg.tiles.size)
    rows = [{"part": "whole detector", "parameters (M)": round(count_parameters(m) / 1e6, 2)},
            {"part": "backbone (+ neck, attention)", "parameters (M)": round(count_parameters(m.backbone) / 1e6, 2)},
            {"part": "RPN", "parameters (M)": round(count_parameters(m.rpn) / 1e6, 3)},
            {"part": "RoI heads (2 FC + predictor)", "parameters (M)": round(count_parameters(m.roi_heads) / 1e6, 2)}]
    with torch.inference_mode():
        feats = m.backbone.eval()(torch.zeros(1, 3, cfg.tiles.size, cfg.tiles.size))
    levels = pd.DataFrame([{"level": k, "channels": v.shape[1], "size (px)": f"{v.shape[2]} × {v.shape[3]}",
                            "stride": cfg.tiles.size // v.shape[2]} for k, v in feats.items()])
    display(Markdown(f"{REGISTRY[model].description}. Feature maps the detection heads see for a "
                     f"{cfg.tiles.size} px tile, and the size of each part:"))
    display(levels.set_index("level"))
    display(pd.DataFrame(rows).set_index("part"))
    del m

# %% [markdown]
# ## Training

# %% tags=["hide-input"]
if labelled:
    budget = tc.time_budget_min
    display(Markdown(
        f"Schedule: SGD, lr {tc.lr}, momentum {tc.momentum}, weight decay {tc.weight_decay}, batch {tc.batch_size}, "
        f"linear warm-up over {tc.warmup_iters} iterations, at most {tc.epochs} epochs, early stopping after "
        f"{tc.patience} epochs without a better validation mAP"
        + (f", and a time budget of {budget:g} min" if budget else "")
        + (f"; lighter heads than torchvision's defaults ({', '.join(f'{k} {v}' for k, v in tc.extra.items())})"
           if tc.extra else "") + ". From scratch: "
        + ("ImageNet weights." if tc.pretrained else "no pretrained weights (GroupNorm backbone).")
        + ("\n\n**This is the `cpu` profile: a deliberately small run on 2 CPU cores, far from convergence. Its "
           "scores say what such a run gives, not what the architectures can do; the `paper` profile (GPU) runs the "
           "paper's schedule.**" if cfg.profile == "cpu" else "")))
    summary = ensure_trained(cfg, run_dir, run, ablation, progress=False)  # the console shows [lsid] lines
    out = run_folder(run_dir, run)
    hist = pd.read_csv(out / "history.csv")
    epochs = pd.read_csv(out / "epochs.csv")
    display(pd.DataFrame([{k: summary[k] for k in ("epochs", "iterations", "best_epoch", "best_val_map50",
                                                     "selected_by", "stopped", "seconds", "device", "amp")}]).T
            .rename(columns={0: "value"}))

# %% [markdown]
# ## Losses and validation mAP (Figs. 11 and 12 for this model)

# %% tags=["hide-input"]
if labelled:
    fig = fig_losses({model: hist}, synthetic=cfg.synthetic)
    plt.show()
    fig = fig_val_map({model: epochs}, {model: summary["best_epoch"]}, synthetic=cfg.synthetic)
    plt.show()
