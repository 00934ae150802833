"""Figures and tables of the detectors (notebooks 03 and 04; paper Figs. 11-12, Tables 2-3)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Rectangle

from lsid import paper
from lsid.paper import PRETTY
from lsid.plots.dataset import load_tile_image
from lsid.plots.style import stamp_synthetic

LOSS_LABELS = {"loss_classifier": "classification", "loss_box_reg": "box regression",
               "loss_objectness": "RPN objectness", "loss_rpn_box_reg": "RPN box"}
#: The paper's test mAP@0.5 per model (lsid.paper.MAP50); PRETTY (display names) is lsid.paper's too.
PAPER_MAP = paper.MAP50


def _smooth(y: np.ndarray, n: int) -> np.ndarray:
    if len(y) < n or n <= 1:
        return y
    return pd.Series(y).rolling(n, min_periods=1, center=True).mean().to_numpy()


def fig_losses(histories: dict[str, pd.DataFrame], synthetic: bool = True):
    """Fig. 11 analogue: the four training losses per iteration (smoothed) of each model."""
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.4), layout="constrained")
    for name, h in histories.items():
        n = max(1, len(h) // 50)
        for ax, key in zip(axes, LOSS_LABELS, strict=True):
            ax.plot(h.iteration, _smooth(h[key].to_numpy(), n), label=PRETTY.get(name, name))
    for ax, key in zip(axes, LOSS_LABELS, strict=True):
        ax.set_title(LOSS_LABELS[key])
        ax.set_xlabel("iteration")
    axes[0].set_ylabel("loss")
    axes[0].legend(fontsize=8)
    if synthetic:
        stamp_synthetic(fig)
    return fig


def fig_val_map(epochs: dict[str, pd.DataFrame], best: dict[str, int], synthetic: bool = True):
    """Fig. 12 analogue: validation mAP@0.5 per epoch; the kept (best) epoch marked."""
    fig, ax = plt.subplots(figsize=(7, 3.6), layout="constrained")
    for name, e in epochs.items():
        line, = ax.plot(e.epoch, e.val_map50, marker="o", ms=3, label=PRETTY.get(name, name))
        b = best.get(name)
        if b is not None and b in set(e.epoch):
            ax.plot(b, float(e.val_map50[e.epoch == b].iloc[0]), "*", ms=14, color=line.get_color())
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation mAP@0.5 (VOC)")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, title="★ = kept epoch")
    if synthetic:
        stamp_synthetic(fig)
    return fig


def fig_pr(curves: dict[str, tuple[np.ndarray, np.ndarray]], synthetic: bool = True):
    """Precision-recall curves on the test split."""
    fig, ax = plt.subplots(figsize=(5, 4.2), layout="constrained")
    for name, (r, p) in curves.items():
        env = np.maximum.accumulate(p[::-1])[::-1] if len(p) else p
        ax.plot(r, env, label=PRETTY.get(name, name))
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=8)
    if synthetic:
        stamp_synthetic(fig)
    return fig


def fig_examples(tileset: str | Path, gt: dict, detections: dict[str, list[dict]], score_threshold: float,
                 n: int = 4, seed: int = 0, synthetic: bool = True):
    """Test tiles with the true boxes (dashed black) and each model's detections above the operating
    threshold (one row per model)."""
    tileset = Path(tileset)
    imgs = pd.DataFrame(gt["images"])
    with_box = sorted({a["image_id"] for a in gt["annotations"]})
    pick = imgs[imgs.id.isin(with_box)].sample(min(n, len(with_box)), random_state=seed) if with_box else imgs.head(n)
    if len(pick) == 0 or not detections:  # a small area can leave the test split empty
        fig, ax = plt.subplots(figsize=(6, 1.2))
        ax.axis("off")
        ax.text(0.5, 0.5, "no test tile to show", ha="center", va="center")
        return fig
    fig, axes = plt.subplots(len(detections), len(pick), figsize=(2.6 * len(pick), 2.7 * len(detections)),
                             squeeze=False, layout="constrained")
    for r, (name, dets) in enumerate(detections.items()):
        for c, (_, im) in enumerate(pick.iterrows()):
            ax = axes[r, c]
            a = load_tile_image(tileset, im["file_name"])
            a = a if a.ndim == 3 and a.shape[-1] == 3 else a[0]  # RGB, or the velocity channel
            ax.imshow(a, cmap=None if a.ndim == 3 else "RdBu", vmin=None if a.ndim == 3 else -1,
                      vmax=None if a.ndim == 3 else 1)
            for g in gt["annotations"]:
                if g["image_id"] == im["id"]:
                    x, y, w, h = g["bbox"]
                    ax.add_patch(Rectangle((x, y), w, h, fill=False, ec="k", ls="--", lw=1))
            for d in dets:
                if d["image_id"] == im["id"] and d["score"] >= score_threshold:
                    x, y, w, h = d["bbox"]
                    ax.add_patch(Rectangle((x, y), w, h, fill=False, ec="yellow", lw=1.3))
                    ax.text(x, y, f"{d['score']:.2f}", color="yellow", fontsize=6, va="bottom")
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(PRETTY.get(name, name), fontsize=8)
    if synthetic:
        stamp_synthetic(fig)
    return fig
