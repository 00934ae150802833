"""Landslide labels for tiles: an inventory of polygons, and boxes clipped to each tile.

Box rules (documented in notebook 02):
1. A polygon's part inside the tile gives the box (its bounds, in pixels of the tile).
2. The box is kept only when at least ``min_inside`` of the object's area is inside the tile (a sliver
   of a landslide at the tile's edge is not a landslide to learn from; nor is it a negative: the tile
   records it as ``n_partial``).
3. The object must be *visible* in that map: its contrast, the median LOS velocity over its reliable
   pixels in the tile minus the median over a ring of ground around it (RING_PX wide, at least), is at
   least ``min_snr`` times the map's noise there (:func:`background_sigma`: the robust standard
   deviation of the tile's reliable pixels outside every object) and at least ``min_signal_mm_yr``;
   and at least ``min_valid_share`` of its pixels are reliable. Contrast with the surroundings, not the
   bare value, so that an atmospheric blob over a slope does not make it a positive; against the local
   noise, so that a 5 mm/yr slide counts in a quiet map and not in a noisy one. An object below the
   floor is invisible there (moving along the track, too slow at that date, or decorrelated):
   recorded as ``n_invisible``.
4. Boxes narrower or shorter than ``min_box_px`` are ``n_small``: a detector with a stride-16 feature
   map cannot place them.

An object that fails a rule is not background either: it is an *ignore region* (its box is written
with ``"ignore": 1, "iscrowd": 1`` in the COCO files, with its reason): the detectors' losses neither
reward nor punish a box there (:mod:`lsid.models.ignore`) and the scores leave such a detection out
(:func:`lsid.metrics.match`). Why the SNR rule (measured on the cpu TileSet, issue 13): with the
earlier rule "median |LOS| >= 5 mm/yr", 43 % of the labelled boxes had a contrast of less than one
robust standard deviation of their tile's background: boxes no detector can see, which capped recall
and made mAP noise. The threshold ``VISIBILITY_SNR`` is the default of ``tiles.label_min_snr``.
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

from lsid.errors import InputDataError, first_of
from lsid.tiles.windows import window_bounds, window_transform

log = logging.getLogger(__name__)

#: Default contrast / background noise an object needs to be a positive (``tiles.label_min_snr``): a
#: contrast of 2 robust standard deviations stands out of the per-pixel noise at the 95 % level, and
#: the median over an object's tens of pixels is steadier than one pixel. Checked by measurement on the
#: pretrained detector's held-out areas: recall by SNR bin (benchmarks/detection_quality.py).
VISIBILITY_SNR = 2.0
#: Floor of the background noise estimate, mm/yr (a noise-free synthetic map would make every object
#: infinitely visible).
NOISE_FLOOR_MM_YR = 0.5
#: Fewest background pixels for a noise estimate; fewer: the whole tile's reliable pixels are used.
MIN_BACKGROUND_PX = 50

#: Least width of the ring of surrounding ground an object's signal is compared with, px; the ring
#: is also at least half the object's size.
RING_PX = 4


#: A polygon that covers at least this share of the scene is not a landslide outline at the scene's scale
#: (a study-area boundary, a whole-scene placeholder): it is dropped, with a warning.
WHOLE_SCENE_SHARE = 0.99


def read_vector(path, key: str = "tiles.inventory") -> gpd.GeoDataFrame:
    """The features of a vector file (GeoJSON / Shapefile / GeoPackage) named by the AOI key ``key``, or
    InputDataError naming the key, the path and the fix when it is missing or unreadable."""
    path = Path(path)
    if not path.exists():
        raise InputDataError(f"{path}: landslide inventory not found; give {key} a GeoJSON, Shapefile or "
                             f"GeoPackage of landslides (absolute, or relative to the AOI file)")
    try:
        return gpd.read_file(path)
    except Exception as exc:  # fiona/pyogrio raise many types
        raise InputDataError(f"{path}: cannot be read as a vector file ({type(exc).__name__}: {exc}); give {key} a "
                             f"GeoJSON, Shapefile or GeoPackage of landslides") from None


def _polygonal(geom):
    """The polygonal part of a geometry (after make_valid): a (Multi)Polygon, or None when it has none."""
    from shapely import get_parts
    from shapely.geometry import MultiPolygon

    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    polys = [g for g in get_parts(geom) if g.geom_type == "Polygon" and not g.is_empty]
    polys += [q for g in get_parts(geom) if g.geom_type == "MultiPolygon" for q in g.geoms]
    if not polys:
        return None
    return polys[0] if len(polys) == 1 else MultiPolygon(polys)


def _ids(gdf: gpd.GeoDataFrame, mask) -> str:
    return first_of(gdf.loc[mask, "id"])


def repair_polygons(gdf: gpd.GeoDataFrame, name: str, scene_bounds=None) -> gpd.GeoDataFrame:
    """``gdf`` with its invalid polygons (self-intersecting outlines such as a bow-tie) repaired by
    shapely's ``make_valid`` (their polygonal parts kept; one without any is dropped) and, when
    ``scene_bounds`` is given, its polygons that cover the whole scene (WHOLE_SCENE_SHARE) dropped.
    Each repair is announced by a warning naming ``name``, how many and the fix. Other geometries
    (points) pass unchanged."""
    from shapely import make_valid

    gdf = gdf.copy()
    poly = gdf.geometry.notna() & gdf.geometry.geom_type.isin(["Polygon", "MultiPolygon"])
    bad = poly & ~gdf.geometry.is_valid
    if bad.any():
        which = f" ({_ids(gdf, bad)})" if "id" in gdf else ""
        fixed = [_polygonal(make_valid(g)) for g in gdf.geometry[bad]]
        lost = sum(g is None for g in fixed)
        gdf.loc[bad, "geometry"] = gpd.GeoSeries(fixed, index=gdf.index[bad], crs=gdf.crs)
        gdf = gdf[gdf.geometry.notna()].copy()
        warnings.warn(
            f"{name}: {int(bad.sum())} invalid polygon(s){which} (self-intersecting outlines, e.g. a bow-tie) "
            f"repaired with shapely.make_valid, keeping their polygonal parts"
            + (f"; {lost} had no area left and were dropped" if lost else "")
            + ": check those outlines in a GIS and save them valid", UserWarning, stacklevel=3)
    if scene_bounds is not None and len(gdf):
        scene = shapely_box(*scene_bounds)
        poly = gdf.geometry.geom_type.isin(["Polygon", "MultiPolygon"])
        whole = poly & (gdf.geometry.intersection(scene).area >= WHOLE_SCENE_SHARE * scene.area)
        if whole.any():
            ids = _ids(gdf, whole) if "id" in gdf else ", ".join(str(i) for i in gdf.index[whole])
            warnings.warn(
                f"{name}: {int(whole.sum())} polygon(s) ({ids}) cover the whole scene: an outline of the study "
                f"area rather than of a landslide? Dropped (every tile would hold part of it, so none could be "
                f"a positive or a negative); remove it from the file", UserWarning, stacklevel=3)
            gdf = gdf[~whole].copy()
    return gdf


def load_inventory(source, crs, scene_bounds: tuple[float, float, float, float],
                   key: str = "tiles.inventory") -> gpd.GeoDataFrame:
    """Read a landslide inventory (path to GeoJSON / Shapefile / GeoPackage, or a GeoDataFrame) as
    polygons in the scene's ``crs``; ``id`` column added when missing. ``key``: the AOI key that named
    the file, for messages.

    Raises InputDataError when the file cannot be read, has no CRS, holds no polygons, or does not
    overlap the scene (the message gives both extents). An empty inventory gives an empty frame and
    a warning (every tile is then a negative). Invalid polygons are repaired and polygons that cover
    the whole scene dropped, each with a warning (:func:`repair_polygons`).
    """
    if isinstance(source, gpd.GeoDataFrame):
        gdf, name = source.copy(), "inventory"
    else:
        gdf, name = read_vector(source, key), str(source)
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
    gdf = repair_polygons(gdf, name)
    scene = shapely_box(*scene_bounds)
    if not gdf.intersects(scene).any():
        b = gdf.total_bounds
        raise InputDataError(
            f"{name}: the inventory (x {b[0]:.1f}..{b[2]:.1f}, y {b[1]:.1f}..{b[3]:.1f} in {crs}) does not overlap "
            f"the scene (x {scene_bounds[0]:.1f}..{scene_bounds[2]:.1f}, "
            f"y {scene_bounds[1]:.1f}..{scene_bounds[3]:.1f}): "
            f"check that it is the inventory of this area and that its CRS is right")
    gdf = repair_polygons(gdf, name, scene_bounds)
    if len(gdf) == 0:
        warnings.warn(f"{name}: no landslide polygon is left: every tile will be a negative", UserWarning,
                      stacklevel=2)
        return gpd.GeoDataFrame({"id": []}, geometry=[], crs=crs)
    return gdf.reset_index(drop=True)


@dataclass
class TileObject:
    """An inventory object as seen by one tile window (independent of the map)."""

    object_id: str
    inside_share: float
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in tile pixels
    mask: np.ndarray  # (size, size) bool: the object's pixels in the tile
    ring: np.ndarray  # (size, size) bool: surrounding ground (not in any inventory object)


@dataclass(frozen=True)
class Verdict:
    """How one object is labelled in one map: ``status`` is ``positive`` or the reason it is an
    ignore region (``partial``, ``invisible``, ``small``); ``snr`` its contrast over the background
    noise (NaN when it has no reliable pixel); ``contrast_mm_yr`` the signed contrast."""

    obj: TileObject
    status: str
    snr: float
    contrast_mm_yr: float


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


def background_sigma(objects: list[TileObject], vmap: np.ndarray) -> float:
    """The map's noise in a tile, mm/yr: 1.4826 x the median absolute deviation of the reliable pixels
    outside every object (all reliable pixels when fewer than MIN_BACKGROUND_PX are outside), at least
    NOISE_FLOOR_MM_YR."""
    ok = np.isfinite(vmap)
    bg = ok.copy()
    for ob in objects:
        bg &= ~ob.mask
    vals = vmap[bg] if bg.sum() >= MIN_BACKGROUND_PX else vmap[ok]
    if vals.size < 2:
        return NOISE_FLOOR_MM_YR
    mad = float(np.median(np.abs(vals - np.median(vals))))
    return max(1.4826 * mad, NOISE_FLOOR_MM_YR)


def classify(objects: list[TileObject], vmap: np.ndarray, min_inside: float, min_snr: float,
             min_signal: float, min_valid_share: float, min_box_px: int) -> list[Verdict]:
    """The verdict on every object of one tile of one map (rules in the module docstring)."""
    sigma = background_sigma(objects, vmap)
    out = []
    for ob in objects:
        vals = vmap[ob.mask]
        ok = np.isfinite(vals)
        around = vmap[ob.ring]
        around = around[np.isfinite(around)]
        base = float(np.median(around)) if around.size >= 8 else 0.0
        contrast = float(np.median(vals[ok]) - base) if ok.any() else float("nan")
        snr = abs(contrast) / sigma if ok.any() else float("nan")
        x0, y0, x1, y1 = ob.box
        if ob.inside_share < min_inside:
            status = "partial"
        elif not ok.any() or ok.mean() < min_valid_share or snr < min_snr or abs(contrast) < min_signal:
            status = "invisible"
        elif x1 - x0 < min_box_px or y1 - y0 < min_box_px:
            status = "small"
        else:
            status = "positive"
        out.append(Verdict(ob, status, snr, contrast))
    return out


def label_map(objects: list[TileObject], vmap: np.ndarray, min_inside: float, min_signal: float,
              min_valid_share: float, min_box_px: int, min_snr: float = 0.0) -> tuple[list[TileObject], dict]:
    """The positives of one tile of one map (rules in the module docstring), and counts of the
    objects left out: ``n_partial``, ``n_invisible``, ``n_small``."""
    verdicts = classify(objects, vmap, min_inside, min_snr, min_signal, min_valid_share, min_box_px)
    counts = {f"n_{k}": sum(v.status == k for v in verdicts) for k in ("partial", "invisible", "small")}
    return [v.obj for v in verdicts if v.status == "positive"], counts
