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
# # From detections to a landslide-hazard inventory
#
# *Paper sections 4.2.2 and 4.4: the detectors run over the whole ascending and descending velocity maps
# (Figs. 9-10: Faster R-CNN 42 / 74 boxes, CRF-Faster R-CNN 57 / 82), the boxes are checked against
# other evidence and fused across orbits into 38 potential landslides, 8 of them seen by both orbits,
# 84 % confirmed in the field (Figs. 13-14).*
#
# lsid automates that chain (`lsid.detect.scene`, `lsid.inventory`):
#
# 1. **Scene detection.** Each detector slides over the mean-velocity map in windows of its training tile
#    size with half-tile overlap, each window drawn exactly as the training tiles (same colour map and
#    range, referred to the window's median). Boxes of overlapping windows are merged by non-maximum
#    suppression; a box cut by a window edge gives way to a whole box of the same object.
# 2. **Objects.** Overlapping boxes of one orbit become one object, measured on the rasters: its LOS rate
#    against a ring of ground around it, slope, aspect and relief from the DEM, temporal coherence, and how
#    much of a downslope motion the orbit can see there, $|\hat{\mathbf{l}}\cdot\hat{\mathbf{d}}|$.
# 3. **Checks** in place of the paper's optical interpretation (each switchable in the AOI file): a
#    minimum area, slope and relief (flat ground subsides, it does not slide: terraces, settlements, the
#    dam), coherence, LOS sensitivity, and rate.
# 4. **Fusion.** Objects of the two orbits on the same ground (overlapping, or within the fusion
#    distance) are one potential landslide, `seen_in` = ascending | descending | both, named H1..Hn from
#    north to south.
# 5. **Rates on the ground.** Where both orbits see it: vertical and east-west rates (the 2-D
#    decomposition of MintPy's `asc_desc2horz_vert`, north taken as zero); per orbit, the downslope rate
#    from the LOS rate, slope and aspect, assuming motion parallel to the slope.
# 6. **Validation** against the reference inventory (the synthetic truth here; a user's historical
#    inventory otherwise): confirmed share (the paper's 84 %), recall, and a non-deep-learning baseline
#    scored the same way: *active deformation areas* (ADA, Barra et al. 2017), pixels whose rate departs
#    from the local background by more than $k\sigma$, grouped into areas.

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
from lsid.inventory import stage as inventory
from lsid.inventory import tables
from lsid.layout import RunLayout
from lsid.plots.detection import PRETTY
from lsid.plots.inventory import (
    fig_inventory_map,
    fig_inventory_panel,
    fig_recall_by_class,
    fig_scene_boxes,
    table_box_counts,
    table_decomposition,
    table_inventories,
)
from lsid.plots.study_area import hillshade

logging.basicConfig(level=logging.WARNING)
cfg = load_aoi(aoi, profile)
layout = RunLayout.of(cfg, run_root)
inventory.run(cfg, layout)  # done by `lsid run` already: read back
res = inventory.load(layout)
defos, summary = inventory.load_deformations(layout), res["summary"]
first = next(iter(defos.values()))
hs = hillshade(first.dem.values, abs(first.rio.transform().a)) if "dem" in first else None
has_model = "model" in res
detector = summary.get("detector") or {"key": summary["model"], "short": PRETTY.get(summary["model"], summary["model"]),
                                       "label": PRETTY.get(summary["model"], summary["model"]), "kind": "trained"}
name = detector["short"]
PRETTY = {**PRETTY, detector["key"]: detector["short"]}  # legends and tables name the chosen detector
display(Markdown(f"**The inventory's detector** (`inventory.detector`): {detector['label']}."))
if cfg.profile == "cpu" and detector["kind"] == "trained":
    display(Markdown("**`cpu` profile: the detectors had minutes on 2 CPU cores (see the evaluation page); their "
                     "boxes show what such a run finds, not what the architectures can do. The ADA baseline needs "
                     "no training.**"))
for m, why in summary["missing_models"].items():
    display(Markdown(f"**No trained {PRETTY.get(m, m)}:** {why}"))

# %% [markdown]
# ## Boxes on the whole scene (Figs. 9 and 10)
#
# Each orbit's mean LOS velocity (against the scene median; blue towards, red away from the satellite)
# with the boxes each detector finds at the operating score threshold.

# %% tags=["hide-input"]
if res["detections"]:
    display(table_box_counts(summary["boxes"], PRETTY).set_index(["model", "orbit"]))
    fig = fig_scene_boxes(defos, res["detections"], PRETTY, hillshade=hs, synthetic=cfg.synthetic)
    plt.show()
else:
    display(Markdown("No detector was trained for this area; the inventory below comes from the ADA baseline alone."))

# %% [markdown]
# ## From boxes to potential landslides
#
# How many objects each orbit gives, how many pass the checks, and which check rejected the others.

# %% tags=["hide-input"]
sources = {"ADA baseline": res["ada"]}
if has_model:
    sources = {name: res["model"], **sources}
display(tables.check_table(sources))
p = cfg.inventory
display(Markdown(
    f"Checks: area ≥ {p.min_area_m2} m², mean slope ≥ {p.min_slope_deg}°, relief ≥ {p.min_relief_m} m, "
    f"coherence ≥ {p.min_coherence}, LOS sensitivity ≥ {p.min_los_sensitivity}, |rate| ≥ {p.min_velocity_mm_yr} mm/yr "
    f"(95th percentile against the ring around the object). ADA: |v − background| > {p.ada_k_sigma} σ, "
    + ", ".join(f"{o}: σ = {t['sigma_mm_yr']:.1f} mm/yr" for o, t in summary["ada"]["thresholds"].items())
    + f", areas of ≥ {p.ada_min_pixels} px."))

# %% [markdown]
# ## The inventory and its validation
#
# The paper confirmed 84 % of its 38 potential landslides by optical images and field survey. Here the
# reference is known, so every potential landslide is scored: *confirmed* when it lies within the
# validation tolerance of a reference landslide; *recall* is the share of reference landslides found.

# %% tags=["hide-input"]
display(table_inventories({label: r["summary"] for label, r in sources.items()}).set_index("source").round(3))
ref_name = res["ada"]["summary"]["reference"]
display(Markdown(f"Reference: {ref_name}; tolerance {cfg.inventory.validation_tolerance_m:g} m."))
if has_model and (v := tables.verdict(name, res["model"]["summary"], res["ada"]["summary"])):
    display(Markdown(v))
for label, r in sources.items():
    n = r["summary"].get("false_alarms_on_distractors")
    if n is not None:
        display(Markdown(f"{label}: {n} unconfirmed potential landslides sit on synthetic non-landslide "
                         f"deformation (settling terraces, settlements, the dam, an excavation)."))

# %% [markdown]
# ## Potential landslides on both orbits (Fig. 13)

# %% tags=["hide-input"]
main = res["model"] if has_model and len(res["model"]["inventory"]) else res["ada"]
main_label = name if main is res.get("model") else "ADA baseline"
ref = main["reference"]
fig = fig_inventory_map(defos, main["inventory"], ref, hillshade=hs, synthetic=cfg.synthetic)
fig.suptitle(f"Potential landslides: {main_label}")
plt.show()

# %% [markdown]
# ## Detected landslides up close (Fig. 14)
#
# The fastest potential landslides, each orbit's velocity against the ground around the object.

# %% tags=["hide-input"]
fig = fig_inventory_panel(defos, main["inventory"], n=6, synthetic=cfg.synthetic)
plt.show()

# %% [markdown]
# ## Rates on the ground for landslides seen by both orbits
#
# Mean LOS rates inside the outline (against its surroundings), the vertical and east-west rates they
# imply, and each orbit's downslope rate (undefined where the orbit sees less than
# `inventory.min_downslope_sensitivity` of a downslope motion).

# %% tags=["hide-input"]
t = table_decomposition(main["inventory"])
display(t.set_index("id") if len(t) else Markdown("No potential landslide is seen by both orbits."))

# %% [markdown]
# ## Which landslides are found: recall by size and rate
#
# Only on synthetic data: the truth gives each landslide's area and mean downslope rate (some are too
# slow, too small, or move along the track where neither orbit can see them).

# %% tags=["hide-input"]
if cfg.synthetic:
    by_class = tables.recall_tables(sources)
    if by_class:
        fig = fig_recall_by_class(by_class, synthetic=True)
        plt.show()
        display(tables.visibility_recall(sources))
        display(Markdown("*Visible*: the synthetic truth's flag for a landslide whose LOS rate in that orbit reaches "
                         "the labelling floor; the others cannot be seen in the velocity maps at all."))

# %% [markdown]
# ## Outputs
#
# Written to the run folder's `inventory/` (open the KML in Google Earth, the GeoPackage in QGIS):

# %% tags=["hide-input"]
files = sorted(layout.inventory_dir.glob("*inventory.*"))
display(pd.DataFrame({"file": [f.name for f in files],
                     "size (kB)": [round(f.stat().st_size / 1024, 1) for f in files]}))
cols = [c for c in ["id", "seen_in", "area_m2", "v_p95_asc", "v_p95_desc", "v_up", "v_east", "slope_deg", "confirmed",
                    "matches"] if c in main["inventory"]]
display(pd.DataFrame(main["inventory"][cols]).set_index("id").round(1) if len(main["inventory"]) else
        Markdown("The inventory is empty."))

# %% [markdown]
# ## Explore the inventory
#
# Pan and zoom the ascending velocity map (an hvPlot image: `velocity.hvplot.image(...)`, with the
# inventory's outlines overlaid); hover over a potential landslide for its id, rates and status. Below
# it, pick a landslide to see its mean displacement series in both orbits (against the ground around
# it). This page is static HTML and needs no kernel and no network.
#
# In JupyterLab (a live kernel: this page's source `notebooks/05_detection_inventory.py` opens there as a
# notebook through jupytext), run after this page's cells
#
# ```python
# from lsid.plots import interactive
# from lsid.sbas.stage import open_deformations
#
# interactive.setup()  # Bokeh extension, inlined, and the .hvplot accessor
# interactive.explorer(open_deformations(layout)["ascending"], main["inventory"])
# ```
#
# for the same map with a tap tool: click any pixel and its displacement series appears beside the map.
# After `interactive.setup()`, any hvPlot view of the run's data works too, e.g.
# `defos["ascending"].velocity.hvplot.image(x="x", y="y", cmap="RdBu", aspect="equal")`.

# %% tags=["hide-input"]
from lsid.plots import interactive
from lsid.sbas.stage import open_deformations

display(interactive.static_setup())  # BokehJS, inline: the page needs no network
inv_main = main["inventory"]
orbit0 = next(iter(defos))
overlay = interactive.velocity_image(defos[orbit0])
if len(inv_main):
    overlay = overlay * interactive.inventory_polygons(inv_main)
interactive.show(overlay.opts(title=f"{orbit0}: LOS velocity and the potential landslides ({main_label})",
                              frame_width=560))

# %% tags=["hide-input"]
series_defos = open_deformations(layout)
viewer = interactive.series_viewer(series_defos, inv_main) if len(inv_main) else None
(interactive.show(viewer) if viewer is not None
 else Markdown("No potential landslide (or no displacement series) to show."))
