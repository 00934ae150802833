# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Study area and data
#
# *Paper section 2 (Dong et al. 2026): the Ahai Reservoir on the Jinsha River and its Sentinel-1 data.*

# %% tags=["hide-input"]
import calendar

from IPython.display import Markdown, display

from lsid import paper


def _dm(bounds, hemisphere):
    return "–".join(f"{d}°{m}'" for d, m in bounds) + f" {hemisphere}"


wet = paper.WET_SEASON_MONTHS
display(Markdown(
    "The paper studies a deep valley of the upper Jinsha River around the Ahai hydropower reservoir "
    f"({_dm(paper.LATITUDE, 'N')}, {_dm(paper.LONGITUDE, 'E')}), where the river has cut banks that rise more "
    f"than {paper.RELIEF_M} m above the water, and where reservoir impoundment and the wet season "
    f"({calendar.month_name[min(wet)]}–{calendar.month_name[max(wet)]}) drive slope deformation. It uses "
    f"{paper.IMAGES['ascending']} ascending and {paper.IMAGES['descending']} descending Sentinel-1 images from "
    f"{paper.PERIOD[0][:4]} to {paper.PERIOD[1][:4]}."
))

# %% [markdown]
# The radar data of the paper are not public in processed form, so this study runs, by default, on a
# **synthetic** area built by `lsid.synth` and placed on the real reservoir's coordinates (UTM 47N).
# Synthetic does not mean easy: the generator puts in everything that makes landslide detection hard
# on real interferograms — turbulent and elevation-correlated atmosphere, DEM errors, decorrelation
# under vegetation and snow, layover and shadow, unwrapping errors, and deformation that is *not* a
# landslide (compacting terraces, subsiding villages, an excavation, the dam). Because the truth is
# known, every later stage is scored against it. Every figure made from it carries the label
# "synthetic". To run the study on your own data, see the README.

# %% tags=["parameters"]
aoi = "data/aoi/ahai-synthetic.yaml"  # area-of-interest parameter file
profile = "cpu"  # smoke | cpu | paper
run_root = "runs"  # outputs go to <run_root>/<name>/<profile>/

# %% tags=["hide-input"]
import logging

import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from lsid.config import load_aoi
from lsid.layout import RunLayout
from lsid.plots.study_area import (
    PAPER_TABLE1,
    fig_interferograms,
    fig_study_area,
    fig_true_velocity,
    table_acquisitions,
)
from lsid.synth import describe
from lsid.synth import stage as synth
from lsid.synth.grid import Grid

logging.basicConfig(level=logging.WARNING)
cfg = load_aoi(aoi, profile)
layout = RunLayout.of(cfg, run_root)
if not cfg.synthetic:  # a user's area: describe its data; the synthetic-area sections below are skipped
    from lsid.io.aoi import open_track, tracks

    display(Markdown(f"**Area:** {cfg.title or cfg.name}: the user's data (not synthetic), "
                     "from the AOI file's `inputs`."))
    display(table_acquisitions(stacks={o: open_track(cfg, o, layout) for o in tracks(cfg)}))
    display(Markdown("*The rest of this chapter describes the synthetic area and is skipped.*"))
else:
    synth.run(cfg, layout)  # no-op when `lsid run` has already made this exact area
    grid = Grid.from_config(cfg.synth.grid)
    w, s, e, n = grid.lonlat_bounds()
    display(Markdown(
        f"**Area:** {cfg.title} — profile `{profile}`, seed {cfg.seed}. "
        f"Grid {grid.shape[0]} × {grid.shape[1]} pixels of {grid.pixel_size_m:g} m "
        f"({grid.shape[1] * grid.pixel_size_m / 1000:.1f} km × {grid.shape[0] * grid.pixel_size_m / 1000:.1f} km) in "
        f"{cfg.synth.grid.crs}, covering {s:.3f}°–{n:.3f}° N, {w:.3f}°–{e:.3f}° E. Outputs: `{layout.root}`."
    ))

# %% [markdown]
# ## The area (Fig. 1 analogue)
#
# Left: the terrain — a V-shaped valley with tributary gullies, the reservoir held by a dam, and the
# flight (thin arrow) and look (thick arrow) directions of both Sentinel-1 tracks. Right: the truth —
# landslides (a few giant ancient bodies with a faster reactivated toe, like the paper's H3) and, hatched,
# deformation that is not a landslide.

# %%
if cfg.synthetic:
    fig = fig_study_area(layout)
    plt.show()

# %% tags=["hide-input"]
if cfg.synthetic:
    display(describe.source_table(layout))
    display(Markdown("**Which track sees which landslide** (|LOS velocity| ≥ 5 mm/yr at the body's core). "
                     "Motion along the slope projects differently on each line of sight, so some bodies "
                     "are nearly invisible in one track — the reason the paper fuses both."))
    display(describe.visibility_table(layout))

# %% [markdown]
# ## The data (Table 1 analogue)
#
# Read back from the interferogram stacks' own metadata (what a reader of the files would find), with
# the paper's Table 1 beside it. The `smoke` and `cpu` profiles use fewer images than the paper to fit
# a laptop; the `paper` profile uses the paper's numbers.

# %%
if cfg.synthetic:
    ours = table_acquisitions(layout)
    display(ours)
    display(Markdown("*Paper (Dong et al. 2026, Table 1):*"))
    display(PAPER_TABLE1)

# %% [markdown]
# ## What an interferogram looks like
#
# One pair of each track, split into the parts of its phase. Deformation is a small part of the
# signal: atmosphere (turbulence and the delay that follows elevation) dominates, decorrelation noise
# covers vegetated slopes, patches of some pairs are off by a whole cycle (2π, unwrapping errors), and
# the phase is missing (grey) on water, in layover and shadow, and where coherence is too low.

# %% tags=["hide-input"]
if cfg.synthetic:
    components, titles = describe.example_pairs(cfg)
    extent = [grid.bounds[0], grid.bounds[2], grid.bounds[1], grid.bounds[3]]
    fig = fig_interferograms(components, extent, titles)
    plt.show()
    display(describe.component_table(components))

# %% [markdown]
# ## The truth every later stage is scored against
#
# The true mean LOS velocity of each track (a straight line fitted through the true displacement at the
# track's dates), blue towards and red away from the satellite, as in the paper's Fig. 8. The same
# landslide can be blue in one track and red in the other.

# %%
if cfg.synthetic:
    fig = fig_true_velocity(layout)
    plt.show()
