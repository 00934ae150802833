"""Figures and tables of the deformation-map dataset (notebook 02, paper §3.4)."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Patch, Rectangle

from lsid import paper
from lsid.layout import TileSetLayout
from lsid.plots.style import VELOCITY_CMAP, add_scalebar, km_axes, map_extent, stamp_synthetic

SPLIT_COLOURS = {"train": "#1b9e77", "val": "#d95f02", "test": "#7570b3"}
#: The paper's counts (maps, crops, kept, augmented; lsid.paper.DATASET).
PAPER_COUNTS = paper.DATASET


def read_coco(tileset: str | Path, split: str, random: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(images, annotations) of one split of a TileSet as DataFrames."""
    coco = json.loads(TileSetLayout(tileset).annotations(split, random).read_text())
    anns = pd.DataFrame(coco["annotations"],
                        columns=["id", "image_id", "category_id", "bbox", "area", "iscrowd", "object_id"])
    return pd.DataFrame(coco["images"]), anns


def table_counts(summary: dict) -> pd.DataFrame:
    """The dataset's counts beside the paper's."""
    rows = [
        ("deformation maps (both tracks)", PAPER_COUNTS["maps"], sum(summary["maps_per_orbit"].values())),
        ("crops", PAPER_COUNTS["crops"], summary["crops"]),
        ("crops passing the quality filter", None, summary["passes_quality"]),
        ("kept tiles", PAPER_COUNTS["kept"], summary["kept"]),
        ("  of which positive (≥ 1 landslide box)", None, summary["kept_positive"]),
        ("  of which negative (no landslide)", None, summary["kept_negative"]),
        ("after augmentation", PAPER_COUNTS["augmented"], summary["augmented"]),
        ("boxes (all images)", None, summary["boxes"]),
        ("boxes per positive tile", None, round(summary["boxes_per_positive_tile"], 2)),
    ]
    df = pd.DataFrame(rows, columns=["", "paper", "lsid"], dtype=object).set_index("")
    return df.fillna("—")


def table_splits(summary: dict) -> pd.DataFrame:
    """Images, kept tiles, positives, negatives and boxes per split, for both ways of splitting."""
    rows = []
    for column, label in (("split", "spatial blocks"), ("random_split", "tile by tile (random)")):
        for sp, c in summary["per_split"][column].items():
            rows.append({"split method": label, "split": sp, **c})
    return pd.DataFrame(rows).set_index(["split method", "split"])


def random_split_overlap(tiles: pd.DataFrame) -> float:
    """Share of the random split's test images whose ground (track, window) also appears in its
    training images: how much of that test set the detector has seen, on other dates or flipped."""
    ground = tiles.orbit + "_" + tiles.row.astype(str) + "_" + tiles.col.astype(str)
    train = set(ground[tiles.random_split == "train"])
    test = ground[tiles.random_split == "test"]
    return float(test.isin(train).mean()) if len(test) else float("nan")


def load_tile_image(tileset: Path, file_name: str) -> np.ndarray:
    """A TileSet image for display: PNG as (rows, cols, 3) uint8, .npy as (channels, rows, cols) float32."""
    from PIL import Image

    f = TileSetLayout(tileset).image(file_name)
    if file_name.endswith(".npy"):
        return np.load(f).astype(np.float32)
    return np.asarray(Image.open(f))


def fig_gallery(tiles_root: str | Path, n: int = 6, seed: int = 0, synthetic: bool = True):
    """Example training tiles with their boxes: rendered (top) and the three physical channels
    (velocity, coherence, slope) of the same tiles below."""
    root = Path(tiles_root)
    modes = [m for m in ("rendered", "physical") if (root / m).exists()]
    images, anns = read_coco(root / modes[0], "train")
    pos = images[images.id.isin(anns.image_id)]
    pick = pos.sample(min(n, len(pos)), random_state=seed) if len(pos) else images.head(n)
    rows = (1 if "rendered" in modes else 0) + (3 if "physical" in modes else 0)
    fig, axes = plt.subplots(rows, len(pick), figsize=(2.3 * len(pick), 2.4 * rows), squeeze=False,
                             layout="constrained")
    for j, (_, im) in enumerate(pick.iterrows()):
        boxes = anns[anns.image_id == im.id].bbox.tolist()
        r = 0
        stem = im.file_name.rsplit(".", 1)[0]
        if "rendered" in modes:
            axes[r, j].imshow(load_tile_image(root / "rendered", stem + ".png"))
            r += 1
        if "physical" in modes:
            ph = load_tile_image(root / "physical", stem + ".npy")
            for c, (cmap, lo, hi) in enumerate(((VELOCITY_CMAP, -1, 1), ("gray", 0, 1), ("magma", 0, 1))):
                axes[r + c, j].imshow(ph[c], cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest")
        for i in range(rows):
            ax = axes[i, j]
            for x, y, w, h in boxes:
                ax.add_patch(Rectangle((x, y), w, h, fill=False, ec="k", lw=1.0))
            ax.set_xticks([])
            ax.set_yticks([])
        axes[0, j].set_title(f"{im['orbit'][:4]}. {im['map']}\n{im['augmentation']}", fontsize=8)
    labels = ((["rendered"] if "rendered" in modes else [])
              + (["velocity", "coherence", "slope"] if "physical" in modes else []))
    for i, lab in enumerate(labels):
        axes[i, 0].set_ylabel(lab)
    if synthetic:
        stamp_synthetic(fig)
    return fig


def fig_box_sizes(tileset: str | Path, pixel_size_m: float | None = None):
    """Histogram of box widths and heights over all splits (px; m on the top axis when the pixel size
    is given)."""
    tileset = Path(tileset)
    sizes = []
    for sp in ("train", "val", "test"):
        _, anns = read_coco(tileset, sp)
        if len(anns):
            b = np.array(anns.bbox.tolist())
            sizes.append(b[:, 2:4])
    wh = np.concatenate(sizes) if sizes else np.zeros((0, 2))
    fig, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
    bins = np.logspace(0, np.log10(max(wh.max() if wh.size else 2, 2) * 1.1), 30)
    ax.hist(wh[:, 0], bins=bins, alpha=0.6, label="width")
    ax.hist(wh[:, 1], bins=bins, alpha=0.6, label="height")
    ax.set_xscale("log")
    ax.set_xlabel("box size (px)")
    ax.set_ylabel("boxes")
    ax.legend()
    if pixel_size_m:
        top = ax.secondary_xaxis("top", functions=(lambda p: p * pixel_size_m, lambda m: m / pixel_size_m))
        top.set_xlabel("box size (m)")
    return fig


def fig_split_map(tiles: pd.DataFrame, defo, inventory=None, synthetic: bool = True):
    """The ground tiles of one track over its mean velocity, coloured by their split (spatial
    blocks); inventory outlines in black."""
    fig, ax = plt.subplots(figsize=(6, 8), layout="constrained")
    extent = map_extent(defo)
    v = np.where(defo.valid.values, defo.velocity.values, np.nan)
    lim = float(np.nanpercentile(np.abs(v), 99)) if np.isfinite(v).any() else 10.0
    ax.imshow(v, cmap=VELOCITY_CMAP, vmin=-lim, vmax=lim, extent=extent, interpolation="nearest")
    t = defo.rio.transform()
    orbit = defo.attrs.get("orbit")
    mine = tiles[(tiles.orbit == orbit) & (tiles.augmentation == "none")]
    size = int(tiles["size"].iloc[0])
    for (r, c, sp), _ in mine.groupby(["row", "col", "split"]):
        x0, y0 = t * (c, r + size)
        ax.add_patch(Rectangle((x0, y0), size * t.a, size * abs(t.e), fill=True, alpha=0.3,
                               fc=SPLIT_COLOURS[sp], ec=SPLIT_COLOURS[sp], lw=1.5))
    if inventory is not None and len(inventory):
        inventory.boundary.plot(ax=ax, color="k", lw=0.5)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    km_axes(ax, extent)
    add_scalebar(ax, extent)
    ax.legend(handles=[Patch(fc=col, alpha=0.5, label=sp) for sp, col in SPLIT_COLOURS.items()], loc="upper left")
    ax.set_title(f"{orbit}: kept tiles by split (spatial blocks)")
    if synthetic:
        stamp_synthetic(fig)
    return fig
