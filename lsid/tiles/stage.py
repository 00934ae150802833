"""The tiles stage: the TileSet of an area (:func:`lsid.tiles.build.build_tileset`).

Inputs: the SBAS stage's Deformations and the labels (the synthetic truth or ``tiles.inventory``).
Outputs: ``tiles/<channels>/`` (one TileSet per channel mode), ``tiles/survey.csv`` and
``tiles/summary.json`` (:class:`lsid.layout.RunLayout`). Cache key: the tiles parameters, the seed,
the SBAS summaries' digests, the inventory's contents and the stage's code. An area without labels
(:attr:`lsid.config.AOIConfig.labelled`) gets no TileSet; :func:`run` then returns ``{}``.
"""

from __future__ import annotations

import json

import pandas as pd

from lsid.config import AOIConfig
from lsid.errors import InputDataError
from lsid.layout import RunLayout


def run(cfg: AOIConfig, layout: RunLayout, *, force: bool = False, progress: bool = False) -> dict:
    """Build the TileSet (or reuse an unchanged one); returns its summary (counts), ``{}`` when the
    area has no labels."""
    if not cfg.labelled:
        return {}
    from lsid.tiles.build import build_tileset

    return build_tileset(cfg, layout, force=force, progress=progress)


def load(layout: RunLayout) -> dict:
    """The TileSet's summary (counts, channel modes, digest)."""
    if not layout.tiles_summary.exists():
        raise InputDataError(f"{layout.tiles_summary}: no TileSet; run the dataset stage first "
                             f"(lsid run ... --only dataset)")
    return json.loads(layout.tiles_summary.read_text())


def tile_table(layout: RunLayout, channels: str | None = None) -> pd.DataFrame:
    """``tiles.csv`` of a TileSet (default: the first channel mode written): one row per image with
    its map, position, split, boxes and affine transform."""
    channels = channels or load(layout)["channels"][0]
    return pd.read_csv(layout.tileset_layout(channels).table)


def tileset_meta(layout: RunLayout, channels: str) -> dict:
    """``tileset.json`` of a TileSet (format, channels, value range, counts, parameters)."""
    return json.loads(layout.tileset_layout(channels).meta.read_text())


def labels(cfg: AOIConfig, layout: RunLayout, crs, bounds):
    """The landslide polygons the boxes were made from, in ``crs``, clipped to ``bounds`` (the
    synthetic truth or ``tiles.inventory``); None when the area has no labels."""
    if not cfg.labelled:
        return None
    from lsid.tiles.build import label_inventory

    return label_inventory(cfg, layout, crs, bounds)[0]
