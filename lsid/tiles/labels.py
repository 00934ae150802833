"""Landslide labels for tiles: an inventory of polygons, and boxes clipped to each tile.

Box rules (documented in notebook 02):
1. A polygon's part inside the tile gives the box (its bounds, in pixels of the tile).
2. The box is kept only when at least ``min_inside`` of the object's area is inside the tile (a sliver
   of a landslide at the tile's edge is not a landslide to learn from; nor is it a negative: the tile
   records it as ``n_partial``).
3. The object must show in that map: the median LOS velocity over its reliable pixels in the tile
   differs from the median over a ring of ground around it (RING_PX wide, at least) by at least
   ``min_signal_mm_yr``, and at least ``min_valid_share`` of its pixels are reliable. Contrast with
   the surroundings, not the bare value, so that an atmospheric blob over a slope does not make it a
   positive. An object below the floor is invisible there (moving along the track, too slow at that
   date, or decorrelated), so it is not a positive (recorded as ``n_invisible``).
4. Boxes narrower or shorter than ``min_box_px`` are dropped (``n_small``): a detector with a stride-16
   feature map cannot place them.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
from rasterio.features import geometry_mask
from shapely.geometry import box as shapely_box

from lsid.errors import InputDataError
from lsid.tiles.windows import window_bounds, window_transform

log = logging.getLogger(__name__)

#: Least width of the ring of surrounding ground an object's signal is compared with, px; the ring
#: is also at least half the object's size.
RING_PX = 4


def load_inventory(source, crs, scene_bounds: tuple[float, float, float, float]) -> gpd.GeoDataFrame:
    """Read a landslide inventory (path to GeoJSON / Shapefile / GeoPackage, or a GeoDataFrame) as
    polygons in the scene's ``crs``; ``id`` column added when missing.

    Raises InputDataError when the file cannot be read, has no CRS, holds no polygons, or does not
    overlap the scene (the message gives both extents). An empty inventory gives an empty frame and
    a warning (every tile is then a negative).
    """
    if isinstance(source, gpd.GeoDataFrame):
        gdf, name = source.copy(), "inventory"
    else:
        path = Path(source)
        if not path.exists():
            raise InputDataError(f"{path}: landslide inventory not found; give tiles.inventory a GeoJSON, "
                                 f"Shapefile or GeoPackage of landslide polygons")
        try:
            gdf = gpd.read_file(path)
        except Exception as exc:  # fiona/pyogrio raise many types
            raise InputDataError(f"{path}: cannot be read as a vector file ({type(exc).__name__}: {exc})") from None
        name = str(path)
    if len(gdf) == 0:
        warnings.warn(f"{name}: the inventory is empty: every tile will be a negative", UserWarning, stacklevel=2)
        return gpd.GeoDataFrame({"id": []}, geometry=[], crs=crs)
    if gdf.crs is None:
        raise InputDataError(f"{name}: the inventory has no CRS; set one (e.g. gdf.set_crs('EPSG:4326')) "
                             "and save it again")
    if gdf.crs != crs:
        log.info("%s: inventory reprojected from %s to %s", name, gdf.crs.to_string(), crs)
        gdf = gdf.to_crs(crs)
    gdf = gdf[gdf.geometry.notna() & gdf.geometry.geom_type.isin(["Polygon", "MultiPolygon"])].copy()
    if len(gdf) == 0:
        raise InputDataError(f"{name}: the inventory holds no polygons (boxes need outlines; points can only "
                             f"validate an inventory, see lsid.inventory)")
    if "id" not in gdf.columns:
        gdf["id"] = [f"L{i + 1}" for i in range(len(gdf))]
    gdf["id"] = gdf["id"].astype(str)
    scene = shapely_box(*scene_bounds)
    if not gdf.intersects(scene).any():
        b = gdf.total_bounds
        raise InputDataError(
            f"{name}: the inventory (x {b[0]:.1f}..{b[2]:.1f}, y {b[1]:.1f}..{b[3]:.1f} in {crs}) does not overlap "
            f"the scene (x {scene_bounds[0]:.1f}..{scene_bounds[2]:.1f}, "
            f"y {scene_bounds[1]:.1f}..{scene_bounds[3]:.1f}): "
            f"check that it is the inventory of this area and that its CRS is right")
    return gdf.reset_index(drop=True)


@dataclass
class TileObject:
    """An inventory object as seen by one tile window (independent of the map)."""

    object_id: str
    inside_share: float
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in tile pixels
    mask: np.ndarray  # (size, size) bool: the object's pixels in the tile
    ring: np.ndarray  # (size, size) bool: surrounding ground (not in any inventory object)


def objects_in_window(inv: gpd.GeoDataFrame, transform, row: int, col: int, size: int) -> list[TileObject]:
    """Every inventory object that overlaps the window, with its inside share, box and pixel mask."""
    if len(inv) == 0:
        return []
    bounds = window_bounds(transform, row, col, size)
    win = shapely_box(*bounds)
    t = window_transform(transform, row, col)
    inv_t = ~t
    from scipy.ndimage import binary_dilation

    hits = inv.sindex.query(win, predicate="intersects")
    if len(hits) == 0:
        return []
    anything = geometry_mask(list(inv.geometry.iloc[hits]), out_shape=(size, size), transform=t, invert=True,
                             all_touched=True)
    out = []
    for idx in hits:
        geom = inv.geometry.iloc[idx]
        part = geom.intersection(win)
        if part.is_empty or part.area == 0:
            continue
        x0, y0, x1, y1 = part.bounds
        cols, rows = zip(*(inv_t * (x, y) for x, y in ((x0, y0), (x1, y1), (x0, y1), (x1, y0))))
        box = (max(min(cols), 0.0), max(min(rows), 0.0), min(max(cols), float(size)), min(max(rows), float(size)))
        mask = geometry_mask([part], out_shape=(size, size), transform=t, invert=True, all_touched=True)
        width = max(RING_PX, int(round(0.5 * max(box[2] - box[0], box[3] - box[1]))))
        ring = binary_dilation(mask, iterations=width) & ~anything
        out.append(TileObject(str(inv["id"].iloc[idx]), float(part.area / geom.area), box, mask, ring))
    return out


def label_map(objects: list[TileObject], vmap: np.ndarray, min_inside: float, min_signal: float,
              min_valid_share: float, min_box_px: int) -> tuple[list[TileObject], dict]:
    """The positives of one tile of one map (rules in the module docstring), and counts of the
    objects left out: ``n_partial``, ``n_invisible``, ``n_small``."""
    keep, counts = [], {"n_partial": 0, "n_invisible": 0, "n_small": 0}
    for ob in objects:
        if ob.inside_share < min_inside:
            counts["n_partial"] += 1
            continue
        vals = vmap[ob.mask]
        ok = np.isfinite(vals)
        around = vmap[ob.ring]
        around = around[np.isfinite(around)]
        base = float(np.median(around)) if around.size >= 8 else 0.0
        if not ok.any() or ok.mean() < min_valid_share or abs(np.median(vals[ok]) - base) < min_signal:
            counts["n_invisible"] += 1
            continue
        x0, y0, x1, y1 = ob.box
        if x1 - x0 < min_box_px or y1 - y0 < min_box_px:
            counts["n_small"] += 1
            continue
        keep.append(ob)
    return keep, counts
