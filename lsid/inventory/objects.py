"""Boxes of one orbit to objects, and the raster measures of an object (velocity, terrain, geometry).

Boxes are axis-aligned rectangles in the scene CRS; boxes that overlap (or lie within ``merge_gap_m``)
are one object whose outline is the union of its boxes. Measures of an outline are read from the
Deformation's rasters on the pixels whose centres fall inside it (rasterio.features.geometry_mask).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from shapely.ops import unary_union

from lsid.geometry import (
    downslope_unit_vector,
    heading_from_los_azimuth,
    project_to_los,
    slope_aspect,
)

#: Width of the ring around an object whose reliable pixels' median is the object's velocity reference:
#: this share of the object's equivalent diameter, at least RING_MIN_M.
RING_SHARE = 0.5
RING_MIN_M = 200.0
#: Percentile of |v| that stands for an object's peak rate (robust to a single noisy pixel).
PEAK_PERCENTILE = 95.0
#: Terrain measures of an object are made on its pixels with a DEM value and a slope; below this share
#: of such pixels (an object over the sea or a DEM void) they are NaN, and the checks on them fail.
MIN_TERRAIN_SHARE = 0.5


def merge_boxes_to_objects(det: gpd.GeoDataFrame, merge_gap_m: float = 0.0) -> gpd.GeoDataFrame:
    """Objects of one orbit's boxes: connected groups of boxes that overlap or lie within ``merge_gap_m``
    (m) of one another; outline = union of the group's boxes (closed over the gap). Columns: orbit,
    model, score (best box), n_boxes, geometry."""
    cols = ["orbit", "model", "score", "n_boxes"]
    if det.empty:
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=det.crs)
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    geoms = det.geometry.buffer(merge_gap_m / 2, join_style="mitre") if merge_gap_m > 0 else det.geometry
    left, right = geoms.sindex.query(geoms.values, predicate="intersects")
    n = len(det)
    _, comp = connected_components(coo_matrix((np.ones(len(left)), (left, right)), shape=(n, n)), directed=False)
    rows, out = [], []
    for k in np.unique(comp):
        idx = np.flatnonzero(comp == k)
        g = unary_union(list(geoms.values[idx]))
        if merge_gap_m > 0:
            g = g.buffer(-merge_gap_m / 2, join_style="mitre")
        part = det.iloc[idx]
        rows.append({"orbit": part["orbit"].iloc[0], "model": ",".join(sorted(set(part["model"]))),
                     "score": float(part["score"].max()), "n_boxes": len(idx)})
        out.append(g)
    return gpd.GeoDataFrame(rows, geometry=out, crs=det.crs)


class SceneLayers:
    """The rasters an object is measured on, for one orbit: velocity (mm/yr, NaN = unreliable),
    temporal coherence, DEM (m), slope and aspect (deg), incidence (deg) and heading (deg)."""

    def __init__(self, defo: xr.Dataset):
        self.orbit = str(defo.attrs.get("orbit", ""))
        self.crs = defo.rio.crs
        self.transform = defo.rio.transform()
        self.shape = (defo.sizes["y"], defo.sizes["x"])
        valid = np.asarray(defo.valid.values, dtype=bool)
        self.velocity = np.where(valid, np.asarray(defo.velocity.values, dtype=np.float32), np.nan)
        self.coherence = (np.asarray(defo.temporal_coherence.values, dtype=np.float32)
                          if "temporal_coherence" in defo else np.where(valid, 1.0, np.nan).astype(np.float32))
        self.dem = np.asarray(defo.dem.values, dtype=np.float32) if "dem" in defo else None
        if self.dem is not None:
            s, a = slope_aspect(self.dem, abs(self.transform.a), abs(self.transform.e))
            self.slope, self.aspect = s.astype(np.float32), a.astype(np.float32)
        else:
            self.slope = self.aspect = None
        self.incidence = (np.asarray(defo.incidence.values, dtype=np.float32) if "incidence" in defo
                          else np.full(self.shape, float(defo.attrs.get("incidence_angle", np.nan)), np.float32))
        heading = defo.attrs.get("heading")
        if heading is None and "azimuth" in defo:
            heading = heading_from_los_azimuth(defo.azimuth.values)
        self.heading = float(heading) if heading is not None else float("nan")

    def mask(self, geom) -> tuple[tuple[slice, slice], np.ndarray]:
        """(window slices, boolean mask on that window) of the pixels whose centres are inside ``geom``."""
        from rasterio.features import geometry_mask
        from rasterio.windows import Window

        minx, miny, maxx, maxy = geom.bounds
        inv = ~self.transform
        cols, rows = zip(*(inv * (x, y) for x in (minx, maxx) for y in (miny, maxy)))
        r0, c0 = max(int(np.floor(min(rows))) - 1, 0), max(int(np.floor(min(cols))) - 1, 0)
        r1 = min(int(np.ceil(max(rows))) + 1, self.shape[0])
        c1 = min(int(np.ceil(max(cols))) + 1, self.shape[1])
        if r1 <= r0 or c1 <= c0:
            return (slice(0, 0), slice(0, 0)), np.zeros((0, 0), bool)
        from rasterio.windows import transform as wtransform

        t = wtransform(Window(c0, r0, c1 - c0, r1 - r0), self.transform)
        m = geometry_mask([geom], out_shape=(r1 - r0, c1 - c0), transform=t, invert=True, all_touched=False)
        return (slice(r0, r1), slice(c0, c1)), m


def _circular_mean_deg(a: np.ndarray, w: np.ndarray) -> float:
    if a.size == 0 or not np.any(w > 0):
        return float("nan")
    return float(np.mod(np.rad2deg(np.arctan2(np.sum(w * np.sin(np.deg2rad(a))),
                                              np.sum(w * np.cos(np.deg2rad(a))))), 360))


def velocity_stats(geom, layers: SceneLayers) -> dict:
    """LOS velocity of one outline against its surroundings: v_ref (median of the reliable pixels in a
    ring around it, mm/yr), v_mean (mean inside minus v_ref), v_p95 (the 95th-percentile |v - v_ref|
    with the sign of the median), v_max (signed value of largest magnitude), valid_share, n_pixels."""
    ring_w = max(RING_MIN_M, RING_SHARE * 2 * np.sqrt(geom.area / np.pi))
    (ys, xs), inside = layers.mask(geom)
    (ry, rx), ring = layers.mask(geom.buffer(ring_w).difference(geom))
    vin = layers.velocity[ys, xs][inside]
    vr = layers.velocity[ry, rx][ring]
    ok = np.isfinite(vin)
    ref = float(np.nanmedian(vr)) if np.isfinite(vr).any() else 0.0
    out = {"n_pixels": int(inside.sum()), "valid_share": float(ok.mean()) if vin.size else 0.0, "v_ref": ref,
           "v_mean": float("nan"), "v_p95": float("nan"), "v_max": float("nan")}
    if ok.any():
        d = vin[ok] - ref
        out["v_mean"] = float(d.mean())
        out["v_p95"] = float(np.percentile(np.abs(d), PEAK_PERCENTILE) * np.sign(np.median(d)))
        out["v_max"] = float(d[np.argmax(np.abs(d))])
    return out


def terrain_stats(geom, layers: SceneLayers) -> dict:
    """Terrain and radar geometry inside one outline: slope_deg (mean), aspect_deg (circular mean weighted
    by slope), relief_m (elevation range, 95th - 5th percentile), coherence (mean temporal coherence),
    incidence_deg and the LOS sensitivity to downslope motion of the mean slope, |LOS . downslope|."""
    (ys, xs), inside = layers.mask(geom)
    out = {"slope_deg": float("nan"), "aspect_deg": float("nan"), "relief_m": float("nan"),
           "coherence": float("nan"), "incidence_deg": float("nan"), "los_sensitivity": float("nan")}
    if not inside.any():
        return out
    coh = layers.coherence[ys, xs][inside]
    out["coherence"] = float(np.nanmean(coh)) if np.isfinite(coh).any() else float("nan")
    out["incidence_deg"] = float(np.nanmean(layers.incidence[ys, xs][inside]))
    if layers.dem is None:
        return out
    s = layers.slope[ys, xs][inside]
    a = layers.aspect[ys, xs][inside]
    z = layers.dem[ys, xs][inside]
    ok = np.isfinite(s) & np.isfinite(z)  # real DEMs have voids (sea, radar shadow); the slope is NaN beside them
    if ok.mean() < MIN_TERRAIN_SHARE:
        return out
    s, a, z = s[ok], a[ok], z[ok]
    out["slope_deg"] = float(np.mean(s))
    out["aspect_deg"] = _circular_mean_deg(a, s)
    out["relief_m"] = float(np.percentile(z, 95) - np.percentile(z, 5))
    out["los_sensitivity"] = los_sensitivity(out["slope_deg"], out["aspect_deg"], out["incidence_deg"], layers.heading)
    return out


def los_sensitivity(slope_deg, aspect_deg, incidence_deg, heading_deg):
    """|LOS . downslope|: the share of a downslope motion that an orbit sees in its line of sight (0-1)."""
    return float(np.abs(project_to_los(*downslope_unit_vector(slope_deg, aspect_deg), incidence_deg, heading_deg)))


def measure(objects: gpd.GeoDataFrame, layers: SceneLayers, suffix: str = "", terrain: bool = True) -> pd.DataFrame:
    """Velocity (and terrain) measures of every outline of ``objects`` on one orbit's layers; velocity
    columns get ``suffix`` (e.g. ``_asc``)."""
    rows = []
    for g in objects.geometry:
        v = {f"{k}{suffix}": x for k, x in velocity_stats(g, layers).items()}
        if terrain:
            t = terrain_stats(g, layers)
            v.update({f"{k}{suffix}" if k in ("incidence_deg", "los_sensitivity", "coherence") else k: x
                      for k, x in t.items()})
        rows.append(v)
    return pd.DataFrame(rows, index=objects.index)


__all__ = ["merge_boxes_to_objects", "SceneLayers", "velocity_stats", "terrain_stats", "los_sensitivity", "measure",
           "RING_SHARE", "RING_MIN_M", "PEAK_PERCENTILE"]
