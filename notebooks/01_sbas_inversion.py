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
# # SBAS-InSAR deformation
#
# *Paper sections 3.1 and 4.1: the small-baseline subset (SBAS) inversion and the mean LOS velocity
# maps of both tracks (Fig. 8).*
#
# A small-baseline network keeps only interferograms with short temporal and perpendicular baselines,
# where coherence survives. Each interferogram observes the difference of the displacement between
# its two dates, so the displacement history of every pixel follows from a least-squares inversion
# (Berardino et al. 2002). With $N$ dates, unknowns are the mean phase rates $v_k$ of the $N-1$
# intervals; a pair $(i, j)$ observes
#
# $$ \phi_{ij} = \sum_{k=i}^{j-1} v_k \, \Delta t_k , \qquad d_\mathrm{LOS} = -\frac{\lambda}{4\pi}\,\phi ,$$
#
# solved per pixel with only that pixel's valid pairs, weighted by the inverse of the phase variance
# that its coherence $\gamma$ implies for $L$ looks, integrated from the multilook phase PDF (Tough et
# al. 1995, as MintPy's `var` weights; about $(1-\gamma^2)/(2L\gamma^2)$ at high coherence). Where the network splits, the
# minimum-norm solution bridges the gaps. The mean LOS velocity is the slope of a straight line fitted
# through each displacement series; a pixel is reliable when its temporal coherence (how well the
# series explains all its interferograms) is at least the threshold. Before inverting, every
# interferogram is referred to one coherent pixel, since each unwrapped interferogram carries its own
# arbitrary constant.

# %% tags=["parameters"]
aoi = "data/aoi/ahai-synthetic.yaml"  # area-of-interest parameter file
profile = "cpu"  # smoke | cpu | paper
run_root = "runs"  # outputs go to <run_root>/<name>/<profile>/

# %% tags=["hide-input"]
import logging

import matplotlib.pyplot as plt
import pandas as pd
import xarray as xr
from IPython.display import Markdown, display

from lsid.config import load_aoi
from lsid.io import open_netcdf
from lsid.io.aoi import tracks
from lsid.plots.sbas import fig_network, fig_velocity_maps, fig_velocity_vs_truth, velocity_error
from lsid.plots.study_area import hillshade
from lsid.sbas.stage import output_paths, run_track

logging.basicConfig(level=logging.WARNING)
cfg = load_aoi(aoi, profile)
run_dir = cfg.run_dir(run_root)
summaries = {o: run_track(cfg, o, run_dir) for o in tracks(cfg)}
defs = {o: open_netcdf(output_paths(run_dir, o)["deformation"], chunks=None) for o in summaries}
tables = {o: pd.read_csv(output_paths(run_dir, o)["network"], parse_dates=["reference_date", "secondary_date"])
          for o, sm in summaries.items() if sm["pairs_total"]}  # tracks given as a Deformation have no network
for o in summaries.keys() - tables.keys():
    display(Markdown(f"*The {o} track came inverted already ({defs[o].attrs.get('method', 'a velocity map')}, "
                     f"`{defs[o].attrs.get('source', '')}`): no network and no inversion here; its map was "
                     f"only brought onto the working grid ({summaries[o].get('crs', '')}).*"))
s = cfg.sbas
if tables:  # settings of the inversion done here
    display(Markdown(
        f"Settings: weights `{s.weight}` ({s.looks} looks), pairs dropped below a mean coherence of "
        f"{s.min_mean_coherence}"
        + (f" and beyond the most coherent {s.max_pairs} per track" if s.max_pairs else "") +
        f", reliable pixels at temporal coherence ≥ {s.min_temporal_coherence}; reference "
        f"point {'automatic (a coherent, stable pixel valid in every pair)' if s.reference_x is None else (s.reference_x, s.reference_y)}."
    ))

# %% [markdown]
# ## The small-baseline networks
#
# Each line is an interferogram between two acquisitions (dots, placed by their perpendicular
# baseline); dashed grey lines are pairs dropped by the coherence threshold or, in the `paper` profile,
# beyond the most coherent 216 ascending / 238 descending pairs (the networks the paper keeps).

# %%
if tables:
    fig = fig_network(tables)
    plt.show()
rows = []
paper_pairs = {"ascending": 216, "descending": 238}
for o, sm in summaries.items():
    rows.append({"track": o, "dates": sm["dates"], "pairs formed": sm["pairs_total"], "pairs kept": sm["pairs_kept"],
                 "paper: pairs kept": paper_pairs[o], "network components": sm["network_components"],
                 "reliable pixels (%)": round(100 * sm["valid_share"], 1), "inversion time (s)": sm["seconds"]})
display(pd.DataFrame(rows).set_index("track"))

# %% [markdown]
# ## Mean LOS velocity (Fig. 8 analogue)
#
# Blue: motion towards the satellite; red: away from it, as in the paper. The black square is the
# reference point. Unreliable pixels (low temporal coherence) are left out.

# %%
hs = None
terrain_file = run_dir / "truth" / "terrain.nc"
if terrain_file.exists():
    with xr.open_dataset(terrain_file) as t:
        hs = hillshade(t.dem.values, float(abs(t.x[1] - t.x[0])))
fig = fig_velocity_maps(defs, hs, synthetic=cfg.synthetic)
plt.show()

# %% [markdown]
# The paper reports the fastest motion away from the satellite as −79.2 mm/yr (ascending) and
# −95.8 mm/yr (descending). Ours, on reliable pixels (the 1st percentile guards against single noisy
# pixels):

# %%
paper_max = {"ascending": -79.2, "descending": -95.8}
display(pd.DataFrame([{"track": o, "min (mm/yr)": sm["velocity_min_mm_yr"], "1st percentile (mm/yr)": sm["velocity_p1_mm_yr"],
                       "99th percentile (mm/yr)": sm["velocity_p99_mm_yr"], "max (mm/yr)": sm["velocity_max_mm_yr"],
                       "paper: fastest away (mm/yr)": paper_max[o]} for o, sm in summaries.items()]).set_index("track").round(1))

# %% [markdown]
# ## Against the truth
#
# On synthetic data the true velocity is known, so the inversion is scored directly: each estimated
# velocity against the true one (referred to the same reference pixel), on reliable pixels. The
# residual spread comes from atmosphere that a linear fit over the period does not average out, from
# decorrelation noise and from unwrapping errors.

# %%
if cfg.synthetic:
    truths = {o: open_netcdf(run_dir / "truth" / f"{o}.nc", chunks=None) for o in defs}
    fig = fig_velocity_vs_truth(defs, truths)
    plt.show()
    scores = []
    for o, d in defs.items():
        e = velocity_error(d, truths[o])
        scores.append({"track": o, "pixels": e["pixels"], "RMSE (mm/yr)": e["rmse_mm_yr"], "bias (mm/yr)": e["bias_mm_yr"],
                       "RMSE where |v| ≥ 5 mm/yr": e["rmse_moving_mm_yr"], "correlation where |v| ≥ 5": e["corr_moving"]})
    display(pd.DataFrame(scores).set_index("track").round(2))
else:
    display(Markdown("*Not a synthetic area: no truth to score against.*"))
