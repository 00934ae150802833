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
# # Methods: the chain and the two detectors
#
# *Paper sections 3.2-3.3 (Figs. 2-7): the processing chain; Faster R-CNN with a VGG16 backbone; the
# CRF-Faster R-CNN: ResNet-50 with a feature pyramid (FPN) and a convolutional block attention module
# (CBAM) on each pyramid level.* Every table and figure on this page is read off lsid's code (the
# models are built and a tile is passed through them), so it always shows what is actually trained.
#
# **Faster R-CNN** (Ren et al. 2015): a convolutional backbone turns a tile into feature maps; a
# region proposal network (RPN) slides over them and proposes boxes from anchors (5 sizes × 3 aspect
# ratios); each proposal is pooled to 7 × 7 (RoI pooling) and two fully connected layers classify it
# (landslide or background) and refine its box. The paper's baseline reads one feature map, VGG16's
# last convolutional layer (stride 16, 512 channels).
#
# **CRF-Faster R-CNN**: ResNet-50 (residual blocks) gives four stages of features; the FPN adds a
# top-down path with lateral connections, so every level P2-P6 carries both fine detail and deep
# context — small and large landslides are each found on the level of their size; a CBAM refines each
# level, first *which channels* matter (channel attention), then *where* (spatial attention).
#
# lsid trains every model from scratch (no ImageNet weights can be downloaded here), with GroupNorm in
# place of BatchNorm (batches of 5 tiles are too small for batch statistics), on tiles at their native
# size (no resizing to 800 px).

# %% tags=["parameters"]
aoi = "data/aoi/ahai-synthetic.yaml"  # area-of-interest parameter file
profile = "cpu"  # smoke | cpu | paper
run_root = "runs"  # outputs go to <run_root>/<name>/<profile>/

# %% tags=["hide-input"]
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from lsid.config import load_aoi
from lsid.models import REGISTRY, build, count_parameters
from lsid.models.detectors import ANCHOR_SIZES, ASPECT_RATIOS
from lsid.plots.detection import PRETTY
from lsid.plots.methods import fig_cbam, fig_feature_maps, fig_pipeline, layer_table

cfg = load_aoi(aoi, profile)
size = cfg.tiles.size

# %% [markdown]
# ## The chain (Fig. 2)

# %% tags=["hide-input"]
fig = fig_pipeline()
plt.show()

# %% [markdown]
# ## The detectors, layer by layer (Figs. 3-5)
#
# The backbone stages of each model for one tile of this run's size, with the feature maps the heads
# read (channels, size, stride) and the parameters of each part.

# %% tags=["hide-input"]
models = {name: build(name, 3, size) for name in REGISTRY}
tables = {name: layer_table(m, size) for name, m in models.items()}
summary = pd.DataFrame([{"model": PRETTY.get(n, n), "description": REGISTRY[n].description,
                         "parameters (M)": round(count_parameters(m) / 1e6, 2),
                         "backbone (M)": round(count_parameters(m.backbone) / 1e6, 2),
                         "feature levels": int(tables[n]["stage"].str.startswith("output").sum())}
                        for n, m in models.items()]).set_index("model")
display(summary)
display(Markdown(f"Anchors: sizes {list(ANCHOR_SIZES)} px × aspect ratios {list(ASPECT_RATIOS)} "
                 f"(one size per pyramid level on the FPN models, all sizes on the single level of the others)."))
for name in ("faster_rcnn_vgg16", "crf_faster_rcnn"):
    display(Markdown(f"**{PRETTY.get(name, name)}** for a {size} px tile:"))
    display(tables[name].set_index("stage"))

# %% tags=["hide-input"]
fig = fig_feature_maps(tables, PRETTY)
plt.show()

# %% [markdown]
# ## The attention block (Figs. 6-7)
#
# One CBAM per pyramid level of the CRF model (Woo et al. 2018). Channel attention: the feature map is
# average- and max-pooled to two channel descriptors, both pass through one shared two-layer MLP
# (reduction 16), are summed and squashed by a sigmoid into a weight per channel. Spatial attention: the
# channel-wise average and maximum form a two-channel map, a 7 × 7 convolution and a sigmoid give a
# weight per pixel. The block keeps the shape of its input, so the FPN's interface is unchanged.

# %% tags=["hide-input"]
crf = models["crf_faster_rcnn"]
cbam = next(iter(crf.backbone.cbam.values()))
fig = fig_cbam(cbam)
plt.show()
extra = count_parameters(crf) - count_parameters(models["faster_rcnn_r50_fpn"])
display(Markdown(f"The CBAMs add {extra / 1e3:.1f} k parameters to ResNet-50 + FPN "
                 f"({100 * extra / count_parameters(crf):.2f} % of the detector)."))
