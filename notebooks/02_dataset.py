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
# # The deformation-map dataset
#
# *Paper section 3.4: per-date deformation maps of both tracks, cut into 512 × 512 crops, the good ones
# kept and labelled with landslide boxes, then augmented three-fold (6560 crops → 410 kept → 1230).*
#
# The detectors of the next chapters learn from this dataset, so how it is cut decides what their
# scores mean. Tiles of the same ground on different dates are near-duplicates: if one date of a slope
# is in the training set and another in the test set, the test score measures memory, not detection.
# lsid therefore splits by blocks of ground, and also writes the tile-by-tile random split the paper
# probably used, so that the detector chapter can show the difference as a number.

# %% tags=["parameters"]
aoi = "data/aoi/ahai-synthetic.yaml"  # area-of-interest parameter file
profile = "cpu"  # smoke | cpu | paper
run_root = "runs"  # outputs go to <run_root>/<name>/<profile>/

# %% tags=["hide-input"]
import logging
import textwrap

import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from lsid.config import load_aoi
from lsid.layout import RunLayout
from lsid.plots.dataset import (
    fig_box_sizes,
    fig_gallery,
    fig_split_map,
    random_split_overlap,
    table_counts,
    table_splits,
)
from lsid.sbas.stage import open_deformations
from lsid.tiles import stage as tiles_stage
from lsid.tiles.build import ordinal

logging.basicConfig(level=logging.WARNING)
cfg = load_aoi(aoi, profile)
layout = RunLayout.of(cfg, run_root)
p = cfg.tiles
labelled = cfg.labelled  # a user's area without a landslide inventory has nothing to label
if labelled:
    summary = tiles_stage.run(cfg, layout)
    root = layout.tiles_dir
    first = layout.tileset(summary["channels"][0])
    tiles = tiles_stage.tile_table(layout)
    defos = open_deformations(layout, series=False)
    pixel_m = abs(next(iter(defos.values())).rio.transform().a)
else:
    display(Markdown(f"**No landslide inventory for `{cfg.name}`**, so no training dataset is made for this area; "
                     f"the detection chapters use detectors trained elsewhere. To make one, set `tiles.inventory` "
                     f"in the AOI file (GeoJSON / Shapefile / GeoPackage polygons, any CRS)."))

# %% [markdown]
# ## How the maps are made and cut

# %% tags=["hide-input"]
if labelled:
    display(Markdown(textwrap.dedent(f"""
    **Maps.** For each track: the mean LOS velocity map, and one map per acquisition date
    {'' if p.date_step == 1
     else f'(every {ordinal(p.date_step)} date) '}— the LOS velocity fitted to the displacement series
    over a {p.window_days:g}-day window centred on that date (dates whose window does not fit inside the series are
    skipped: a half window doubles the atmospheric noise). Velocity, not cumulative displacement, because the
    detectors are later run on velocity maps (the whole-scene inventory), and one fixed colour range suits every
    date only for a rate. Each tile's maps are referred to the tile's own median (the stable majority of the
    ground): atmosphere and orbit ramps over a window of months would otherwise shift whole tiles by tens of mm/yr.

    **Tiles.** {p.size} × {p.size} px windows every {p.stride or p.size} px ({p.size * pixel_m / 1000:.1f} km on a side
    at {pixel_m:g} m pixels), each with its affine transform and CRS in `tiles.csv`.

    **Quality filter** (a tile of one map is kept only if all hold): at least {p.min_valid_share:.0%} of its pixels
    are reliable; their mean temporal coherence is at least {p.min_tile_coherence}; and it shows an anomaly — the
    99th percentile of |v − median v| reaches {p.min_tile_signal_mm_yr:g} mm/yr.

    **Boxes** (from {summary['inventory']}): the part of a landslide polygon inside the tile gives the box, kept when
    at least {p.label_min_inside:.0%} of the landslide is inside the tile; the landslide must be visible in that map —
    its median velocity differs from that of the ground around it by at least {p.label_min_snr:g} robust standard
    deviations of the tile's background (and by {p.label_min_signal_mm_yr:g} mm/yr), with at least
    {p.label_min_valid_share:.0%} of its pixels reliable — otherwise it is invisible there (moving along the track,
    too slow for that map's noise, or decorrelated); boxes under {p.min_box_px} px are too small. A landslide that
    fails a rule is not background either: it is an *ignore region* (COCO `iscrowd`), left out of the detectors'
    losses and of the scores, so a detector is neither taught to miss it nor punished for finding it.

    **Choice.** Positives: passing tiles with at least one box. Negatives: passing tiles with no landslide at all
    (not even a partial or invisible one), drawn at random to make {p.negative_share:.0%} of the kept tiles — they
    show anomalies that are not landslides (settling terraces, a dam, atmosphere). Per track and ground tile, at most
    {p.max_maps_per_tile} maps are kept, spread over the dates, since consecutive maps are near-duplicates.

    **Augmentation** to {p.augment_factor}×: each kept tile gets {p.augment_factor - 1} copies, each one of the seven
    flips and 90° rotations (torchvision.transforms.v2, boxes moved as tv_tensors.BoundingBoxes) plus Gaussian
    noise of σ = {p.noise_std} in normalised units. Copies stay in the split of their source.

    **Splits.** Ground blocks of {p.block_tiles} × {p.block_tiles} tiles go to train / val / test in the shares
    {list(p.split)}; all dates and copies of a block fall in one split.
    """)))

# %% [markdown]
# ## Counts
#
# The paper's counts beside ours. The paper's 410 of 6560 was a hand selection; ours follows the
# rules above, and the ratio depends on the scene and profile (this run's profile is printed below).

# %% tags=["hide-input"]
if labelled:
    display(Markdown(f"Profile `{cfg.profile}`; maps per track: {summary['maps_per_orbit']}, ground tiles per track: "
                     f"{summary['ground_tiles_per_orbit']}."))
    display(table_counts(summary))
    display(table_splits(summary))
    overlap = random_split_overlap(tiles)
    display(Markdown(
        f"Objects left out of the kept tiles' labels: {summary['objects_invisible_in_kept_tiles']} invisible in "
        f"that map, {summary['objects_partial_in_kept_tiles']} mostly outside the tile, "
        f"{summary['objects_too_small_in_kept_tiles']} too small.\n\n**The leak of a random split:** "
        f"{overlap:.0%} of the random split's test images show ground "
        f"(same track and window) that is also in its training images, on another date or flipped; with spatial "
        f"blocks it is 0 % by construction."))

# %% [markdown]
# ## Example tiles
#
# Training tiles with their boxes. Top: the paper's input, the velocity map drawn with a fixed
# colour map (blue towards, red away from the satellite; grey unreliable). Below, the same tiles as
# lsid's three physical channels: velocity, temporal coherence and terrain slope.

# %% tags=["hide-input"]
if labelled:
    fig = fig_gallery(root, n=6, seed=cfg.seed, synthetic=cfg.synthetic)
    plt.show()

# %% [markdown]
# ## Box sizes

# %% tags=["hide-input"]
if labelled:
    fig = fig_box_sizes(first, pixel_size_m=pixel_m)
    plt.show()

# %% [markdown]
# ## Where the splits are
#
# The kept ground tiles of each track, coloured by split, over its mean velocity; landslide outlines
# in black.

# %% tags=["hide-input"]
if labelled:
    d0 = next(iter(defos.values()))
    inv = tiles_stage.labels(cfg, layout, d0.rio.crs, d0.rio.bounds())
    for _orbit, d in defos.items():
        fig = fig_split_map(tiles, d, inv, synthetic=cfg.synthetic)
        plt.show()

# %% [markdown]
# ## Files
#
# `tiles/<channels>/`: `images/` (PNG for `rendered`, float16 `.npy` for `physical`),
# `annotations/{train,val,test}.json` (COCO, spatial split), `annotations/random/` (random split),
# `tiles.csv` (provenance of every image: track, map, window, transform, CRS, split, augmentation) and
# `tileset.json` (channels, value ranges, parameters, counts). They read with numpy, Pillow and json alone.

# %% tags=["hide-input"]
if labelled:
    display(Markdown("\n".join(f"- `{m}`: {tiles_stage.tileset_meta(layout, m)['image_format']}"
                               for m in summary["channels"])))
