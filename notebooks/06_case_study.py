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
# # Case study: one landslide up close
#
# *Paper section 4.5 (Figs. 15-16): the paper follows one large landslide of its inventory, its
# boundary on the velocity map, the displacement series at points inside it (faster in the wet season)
# and its deformation along a profile.*
#
# Here the case is picked by rule from the inventory of the previous page: the potential landslide with
# the fastest LOS rate in either orbit (parameter `pick = "largest"` takes the largest instead). The
# displacement series are taken against the ground around the landslide (the median series of a ring of
# reliable pixels), so that atmosphere and the far-away reference pixel do not show as motion.

# %% tags=["parameters"]
aoi = "data/aoi/ahai-synthetic.yaml"  # area-of-interest parameter file
profile = "cpu"  # smoke | cpu | paper
run_root = "runs"  # outputs go to <run_root>/<name>/<profile>/
pick = "fastest"  # fastest | largest

# %% tags=["hide-input"]
import json
import logging

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from lsid.config import load_aoi
from lsid.inventory import case_study
from lsid.inventory.case_study import pick_case, point_series, profile_line, sample_profile, series_points
from lsid.inventory.objects import SceneLayers
from lsid.layout import RunLayout
from lsid.plots.inventory import fig_case_map, fig_case_profile, fig_case_series
from lsid.sbas.stage import open_deformations

logging.basicConfig(level=logging.WARNING)
cfg = load_aoi(aoi, profile)
layout = RunLayout.of(cfg, run_root)
detector = (json.loads(layout.inventory_summary.read_text()).get("detector") or {}) \
    if layout.inventory_summary.exists() else {}
inv, source = case_study.choose_inventory(layout, detector.get("short", cfg.inventory.model))
defos = open_deformations(layout)
case = pick_case(inv, pick) if source else None
if case is None:
    display(Markdown("**The inventory is empty**: there is no landslide to study on this run."))
else:
    display(Markdown(f"**{case['id']}** from the {source} inventory ({pick}): seen in {case['seen_in']}, "
                     f"{case['area_m2'] / 1e4:.1f} ha, mean slope {case['slope_deg']:.0f}°, facing "
                     f"{case['aspect_deg']:.0f}°."))
    cols = [c for c in ["v_p95_asc", "v_p95_desc", "v_mean_asc", "v_mean_desc", "v_up", "v_east", "v_downslope_asc",
                        "v_downslope_desc", "relief_m", "confirmed", "matches"] if c in case.index]
    display(pd.DataFrame({"value": case[cols]}).T)

# %% [markdown]
# ## The landslide on both velocity maps (Fig. 15)

# %% tags=["hide-input"]
if case is not None:
    line = profile_line(case)
    layers = {o: SceneLayers(d.drop_vars("displacement", errors="ignore")) for o, d in defos.items()}
    points = {o: series_points(case, d, n=3, layers=layers[o]) for o, d in defos.items()}
    fig = fig_case_map({o: d.drop_vars("displacement", errors="ignore") for o, d in defos.items()}, case, points, line,
                       synthetic=cfg.synthetic)
    plt.show()

# %% [markdown]
# ## Displacement in time (Fig. 16)
#
# Cumulative LOS displacement at the points P1-P3 of each orbit (the pixels with the largest rates,
# spread over the body), against the ground around the landslide; shaded: the wet season (May-October),
# when rain and the reservoir's drawdown push slopes of the Jinsha valley fastest.

# %% tags=["hide-input"]
if case is not None:
    series = {o: point_series(d, case, points[o], seed=cfg.seed, layers=layers[o]) for o, d in defos.items()
              if "displacement" in d and points[o]}
    if series:
        fig = fig_case_series(series, synthetic=cfg.synthetic)
        plt.show()
        display(case_study.seasonal_rates(series))
    else:
        display(Markdown("The Deformation has no displacement series (a velocity map was given): no time series."))

# %% [markdown]
# ## A profile across the landslide
#
# Along A-A', downslope through the landslide's centre: each orbit's LOS velocity (against the scene
# median) and the terrain.

# %% tags=["hide-input"]
if case is not None:
    profiles = {}
    for o, d in defos.items():
        dist, v = sample_profile(d, *line, "velocity")
        profiles[o] = (dist, case_study.against_scene_median(v, d))
    first = next(iter(defos.values()))
    elev = sample_profile(first, *line, "dem") if "dem" in first else None
    inside = case_study.span_inside(line, case.geometry)
    fig = fig_case_profile(profiles, elev, inside, synthetic=cfg.synthetic)
    plt.show()
