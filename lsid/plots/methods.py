"""Method figures made from the code (paper Figs. 2-7 analogues): the pipeline flowchart, layer tables
read off the detectors by forward hooks, feature-map diagrams of each backbone and the CBAM block."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

#: The pipeline of lsid, stage by stage: (label, module, what comes out).
PIPELINE = (
    ("Sentinel-1 interferograms\n(HyP3, LiCSAR, GAMMA,\nMintPy; or lsid.synth)", "lsid.io", "Stack"),
    ("SBAS-InSAR inversion", "lsid.sbas", "Deformation:\nLOS series, velocity"),
    ("Per-date velocity maps,\ntiles, labels, splits", "lsid.tiles", "TileSet (COCO)"),
    ("Faster R-CNN (VGG16) and\nCRF-Faster R-CNN\n(ResNet-50 + FPN + CBAM)", "lsid.models, lsid.training",
     "checkpoints,\nmAP"),
    ("Whole-scene detection", "lsid.detect", "boxes per orbit"),
    ("Checks, asc/desc fusion,\n2-D rates, validation", "lsid.inventory", "potential landslides\n(GeoJSON, KML)"),
)


def fig_pipeline():
    """Fig. 2 analogue: the processing chain, each stage with its lsid module and its product."""
    fig, ax = plt.subplots(figsize=(12, 3.4), layout="constrained")
    n = len(PIPELINE)
    w, h, gap = 1.7, 1.25, 0.32
    for i, (label, module, product) in enumerate(PIPELINE):
        x = i * (w + gap)
        ax.add_patch(FancyBboxPatch((x, 1.0), w, h, boxstyle="round,pad=0.03", fc="#e3f2fd", ec="#1565c0"))
        ax.text(x + w / 2, 1.0 + h * 0.58, label, ha="center", va="center", fontsize=8)
        ax.text(x + w / 2, 1.0 + 0.12, module, ha="center", va="bottom", fontsize=7, family="monospace",
                color="#1565c0")
        ax.text(x + w / 2, 0.55, product, ha="center", va="center", fontsize=7.5, style="italic", color="0.25")
        if i < n - 1:
            ax.add_patch(FancyArrowPatch((x + w + 0.02, 1.0 + h / 2), (x + w + gap - 0.02, 1.0 + h / 2),
                                         arrowstyle="-|>", mutation_scale=12, color="0.2"))
    ax.set_xlim(-0.1, n * (w + gap))
    ax.set_ylim(0.2, 2.5)
    ax.axis("off")
    ax.set_title("lsid: from interferograms to an inventory of potential landslides (both orbits)", fontsize=10)
    return fig


#: Layers left out of the tables (they keep the shape of their input).
SKIP_LAYERS = ("ReLU", "GroupNorm", "BatchNorm2d", "FrozenBatchNorm2d", "Identity")


def _count(m) -> int:
    return sum(p.numel() for p in m.parameters())


def layer_table(model, size: int) -> pd.DataFrame:
    """The backbone's stages as the detector sees them for a ``size`` px tile: output channels, size and
    stride of each stage, and its parameters, read with forward hooks (so the table is the code's)."""
    import torch

    rows, hooks = [], []
    b = model.backbone  # descend the wrappers (CBAM, FPN, single level) to the convolutional stages
    while isinstance(getattr(b, "body", None), torch.nn.Module):
        b = b.body
    stages = list(b.named_children())

    def hook(name, module):
        def f(_, __, out):
            if isinstance(out, torch.Tensor) and type(module).__name__ not in SKIP_LAYERS:
                rows.append({"stage": name, "type": type(module).__name__, "channels": out.shape[1],
                             "size (px)": f"{out.shape[2]} × {out.shape[3]}", "stride": size // out.shape[2],
                             "parameters (M)": round(_count(module) / 1e6, 3)})
        return f

    for name, mod in stages:
        hooks.append(mod.register_forward_hook(hook(name, mod)))
    model.eval()
    with torch.inference_mode():
        feats = model.backbone(torch.zeros(1, 3, size, size))
    for h in hooks:
        h.remove()
    for k, v in feats.items():
        rows.append({"stage": f"output '{k}'", "type": "to RPN and RoI heads", "channels": v.shape[1],
                     "size (px)": f"{v.shape[2]} × {v.shape[3]}", "stride": size // v.shape[2], "parameters (M)": None})
    return pd.DataFrame(rows)


def fig_feature_maps(tables: dict[str, pd.DataFrame], pretty: dict[str, str] | None = None):
    """Figs. 3-5 analogue: for each detector, the feature maps the heads see (squares of the map's size,
    labelled with channels and stride)."""
    pretty = pretty or {}
    fig, axes = plt.subplots(1, len(tables), figsize=(5.2 * len(tables), 3.4), layout="constrained", squeeze=False)
    for ax, (name, t) in zip(axes[0], tables.items()):
        out = t[t["stage"].str.startswith("output")]
        x = 0.0
        for _, r in out.iterrows():
            s = 2.4 * 4 / max(int(r["stride"]), 1)  # side against a stride-4 map (the finest any model has)
            ax.add_patch(plt.Rectangle((x, 1.5 - s / 2), s, s, fc="#fff3e0", ec="#e65100"))
            ax.text(x + s / 2, 1.5 - s / 2 - 0.12, f"{r['channels']} ch\n/{r['stride']}", ha="center", va="top",
                    fontsize=7)
            x += s + 0.25
        ax.set_xlim(-0.2, max(x, 3))
        ax.set_ylim(-0.2, 3)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(pretty.get(name, name), fontsize=9)
    fig.suptitle("feature maps seen by the RPN and the RoI heads (side ∝ map size, the same scale for all models; "
                 "channels and stride)", fontsize=9)
    return fig


def fig_cbam(cbam):
    """Fig. 6-7 analogue: the CBAM block of the CRF model, with its sizes read from the module: channel
    attention (shared MLP C → C/r → C on average- and max-pooled descriptors, summed, sigmoid), then
    spatial attention (k × k convolution over the channel-wise average and max, sigmoid)."""
    ch = cbam.channel
    first = next(m for m in ch.modules() if hasattr(m, "in_channels") or hasattr(m, "in_features"))
    c_in = getattr(first, "in_channels", getattr(first, "in_features", None))
    c_hid = getattr(first, "out_channels", getattr(first, "out_features", None))
    k = cbam.spatial.conv.kernel_size[0]
    steps = [("input F\n" + f"{c_in} × H × W", "#eceff1"),
             (f"AvgPool, MaxPool\n→ 2 × ({c_in} × 1 × 1)", "#e3f2fd"),
             (f"shared MLP\n{c_in} → {c_hid} → {c_in}\n(reduction {c_in // max(c_hid, 1)})", "#e3f2fd"),
             ("sum, sigmoid\n→ channel weights\nF' = M_c ⊙ F", "#e3f2fd"),
             ("mean, max over channels\n→ 2 × H × W", "#fce4ec"),
             (f"{k} × {k} conv, sigmoid\n→ spatial weights\nF'' = M_s ⊙ F'", "#fce4ec"),
             ("refined F''\n" + f"{c_in} × H × W", "#eceff1")]
    fig, ax = plt.subplots(figsize=(12.5, 2.4), layout="constrained")
    w, gap = 1.55, 0.22
    for i, (text, colour) in enumerate(steps):
        x = i * (w + gap)
        ax.add_patch(FancyBboxPatch((x, 0.3), w, 1.2, boxstyle="round,pad=0.03", fc=colour, ec="0.3"))
        ax.text(x + w / 2, 0.9, text, ha="center", va="center", fontsize=7.5)
        if i < len(steps) - 1:
            ax.add_patch(FancyArrowPatch((x + w + 0.01, 0.9), (x + w + gap - 0.01, 0.9), arrowstyle="-|>",
                                         mutation_scale=10, color="0.2"))
    ax.text(1 * (w + gap) + w, 1.7, "channel attention", ha="center", fontsize=8.5, color="#1565c0")
    ax.text(4 * (w + gap) + w, 1.7, "spatial attention", ha="center", fontsize=8.5, color="#ad1457")
    ax.set_xlim(-0.1, len(steps) * (w + gap))
    ax.set_ylim(0, 2)
    ax.axis("off")
    return fig


__all__ = ["PIPELINE", "fig_pipeline", "layer_table", "fig_feature_maps", "fig_cbam"]
