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
# # Reproduction report and discussion
#
# Every number the paper reports, beside the number this run gives, read from the run's outputs, with
# the reason for each difference. No number on this page is typed in: the paper's come from
# `lsid.paper` (labelled as the paper's), the table and the notes from `lsid.report`, which also writes
# them to the run's `report/` folder.

# %% tags=["parameters"]
aoi = "data/aoi/ahai-synthetic.yaml"  # area-of-interest parameter file
profile = "cpu"  # smoke | cpu | paper
run_root = "runs"  # outputs go to <run_root>/<name>/<profile>/

# %% tags=["hide-input"]
from IPython.display import Markdown, display

from lsid.config import load_aoi
from lsid.layout import RunLayout
from lsid.report import stage as report

cfg = load_aoi(aoi, profile)
layout = RunLayout.of(cfg, run_root)
summary = report.run(cfg, layout)  # lsid.report.stage.reproduction_table and notes, written to report/
# every cell whole (pandas would cut texts longer than 50 characters with "…") and wrapped, left-aligned
table = summary["table"].set_index(["paper section", "quantity"])
display(table.style.set_table_attributes('class="dataframe"').set_table_styles(
    [{"selector": "th, td", "props": "white-space: normal; text-align: left; vertical-align: top;"}]))

# %% [markdown]
# ## Discussion
#
# **What reproduces.** The chain runs end to end on any area: interferograms to LOS velocity (lsid's
# SBAS agrees with MintPy to a few thousandths of a millimetre), velocity maps to a tiled dataset with
# boxes, two detectors trained and scored with the paper's metric, and the whole-scene boxes turned into
# a georeferenced inventory checked against the truth.
#
# **What the synthetic area can and cannot say.** It reproduces the *difficulties* of the real data
# (atmosphere, decorrelation, layover and shadow, unwrapping errors, deformation that is not a
# landslide), not the real landslides of the Ahai Reservoir. Its numbers say how well the method
# recovers a known truth under those difficulties; they are not a claim about the real valley.
#
# **The split matters more than the architecture.** Tiles of the same ground on different dates are
# near-duplicates; a tile-by-tile random split puts them on both sides. The evaluation chapter
# measures that leak on the same model; a detector's mAP means little without saying which split it
# was measured on.
#
# **A simple baseline is strong.** Active deformation areas need no training data and no GPU, and on a
# clean velocity map they find most moving slopes. What a detector adds must be measured against them,
# on the same validation — the inventory chapter does, for this run.
#
# **Checks instead of eyes.** The paper's interpreters rejected false alarms with optical images and
# field visits. lsid's rules (slope, relief, coherence, radar geometry, rate) reject the flat-ground
# subsidence of terraces, settlements and the dam, but a person would also judge texture, scarps and
# land use, which a deformation map does not carry.

# %% tags=["hide-input"]
display(Markdown("\n\n".join(summary["notes"])))
