"""A non-deep-learning baseline: active deformation areas (ADA), after Barra et al. (2017) and the
ADAtools' ADAfinder.

A pixel is *active* when its LOS velocity departs from its background by more than ``k_sigma`` times
the map's spread; 8-connected active pixels of one sign form an area; areas smaller than ``min_pixels``
are dropped; holes inside the kept areas are filled. The background: the median of blocks of
``background_px`` (bilinearly interpolated between block centres), because the scene's reference pixel
can be tens of km away and atmosphere/orbit ramps shift whole regions (the same reason tiles are
referred to their median); None uses the scene median.
The spread sigma is the robust standard deviation (1.4826 x median absolute deviation) of the
background-corrected map, so the landslides themselves do not inflate it.

Areas come out as polygons (their pixel outlines, rasterio.features.shapes) in the same table as
detector boxes (``model`` = ``ada``, ``score`` = mean |v| / threshold), so they go through the same
inventory chain and validation as the detectors' boxes.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from shapely.geometry import shape

#: 1.4826 x MAD estimates the standard deviation of Gaussian noise.
MAD_TO_SIGMA = 1.4826


def background(v: np.ndarray, block_px: int | None) -> np.ndarray:
    """Median background of a velocity map (NaN = unreliable): block medians interpolated bilinearly
    between block centres (``block_px`` None: the scene median everywhere)."""
    if block_px is None or block_px >= max(v.shape):
        return np.full(v.shape, np.nanmedian(v) if np.isfinite(v).any() else 0.0, dtype=np.float32)
    from scipy.ndimage import map_coordinates

    ny, nx = v.shape
    # blocks of equal size (about block_px), so that their centres lie on a regular grid
    by, bx = max(1, round(ny / block_px)), max(1, round(nx / block_px))
    ey, ex = np.linspace(0, ny, by + 1).round().astype(int), np.linspace(0, nx, bx + 1).round().astype(int)
    med = np.full((by, bx), np.nan)
    for i in range(by):
        for j in range(bx):
            blk = v[ey[i]:ey[i + 1], ex[j]:ex[j + 1]]
            if np.isfinite(blk).mean() > 0.1:
                med[i, j] = np.nanmedian(blk)
    if np.isnan(med).all():
        return np.zeros(v.shape, np.float32)
    med = np.where(np.isnan(med), np.nanmedian(med), med)
    # one ring of blocks extrapolated linearly (odd reflection: 2 x edge - inner), so that a ramp is
    # followed to the scene's edge rather than flattened beyond the outermost block centres
    med = np.pad(med, 1, mode="reflect", reflect_type="odd") if min(by, bx) >= 2 else np.pad(med, 1, mode="edge")
    # pixel centres in block units (block centres at integers, +1 for the ring): bilinear between them
    yy = (np.arange(ny) + 0.5) / (ny / by) + 0.5
    xx = (np.arange(nx) + 0.5) / (nx / bx) + 0.5
    grid = np.meshgrid(yy, xx, indexing="ij")
    return map_coordinates(med, grid, order=1, mode="nearest").astype(np.float32)


def active_areas(defo: xr.Dataset, k_sigma: float = 2.0, min_pixels: int = 12, background_px: int | None = 256,
                 ) -> tuple[gpd.GeoDataFrame, dict]:
    """ADA polygons of a Deformation's mean-velocity map (columns as scene detections: orbit, model,
    score, n_pixels, v_mean (mm/yr, against the background), geometry) and the thresholds used
    (sigma and threshold in mm/yr)."""
    from rasterio.features import shapes
    from scipy import ndimage

    valid = np.asarray(defo.valid.values, dtype=bool)
    v = np.where(valid, np.asarray(defo.velocity.values, dtype=np.float32), np.nan)
    d = v - background(v, background_px)
    ok = np.isfinite(d)
    if not ok.any():
        return gpd.GeoDataFrame({"orbit": [], "model": [], "score": [], "n_pixels": [], "v_mean": []}, geometry=[],
                                crs=defo.rio.crs), {"sigma_mm_yr": float("nan"), "threshold_mm_yr": float("nan")}
    sigma = MAD_TO_SIGMA * float(np.median(np.abs(d[ok] - np.median(d[ok]))))
    thr = k_sigma * sigma
    transform = defo.rio.transform()
    rows, geoms = [], []
    for sign in (1, -1):
        act = ok & (sign * np.nan_to_num(d) > thr)
        lab, n = ndimage.label(act, structure=np.ones((3, 3), bool))
        if n == 0:
            continue
        sizes = ndimage.sum_labels(act, lab, index=np.arange(1, n + 1))
        big = np.isin(lab, np.flatnonzero(sizes >= min_pixels) + 1)
        # fill the holes of the kept areas (noisy or unreliable pixels inside a slow body); a closing would
        # also join noise specks into areas (measured: precision 0.62 -> 0.39 on the cpu run)
        big = ndimage.binary_fill_holes(big)
        lab, n = ndimage.label(big, structure=np.ones((3, 3), bool))
        if n == 0:
            continue
        sizes = ndimage.sum_labels(big, lab, index=np.arange(1, n + 1))
        means = ndimage.mean(np.nan_to_num(d), lab, index=np.arange(1, n + 1))
        keep = lab > 0
        for geom, val in shapes(np.where(keep, lab, 0).astype(np.int32), mask=keep, transform=transform,
                                connectivity=8):
            k = int(val) - 1
            rows.append({"orbit": str(defo.attrs.get("orbit", "")), "model": "ada", "score": float(abs(means[k]) / thr),
                         "n_pixels": int(sizes[k]), "v_mean": float(means[k])})
            geoms.append(shape(geom))
    gdf = gpd.GeoDataFrame(rows, geometry=geoms, crs=defo.rio.crs)
    if not gdf.empty:  # one polygon per area even when its outline came out in pieces
        gdf = gdf.dissolve(by=["orbit", "model", "n_pixels", "v_mean"], aggfunc={"score": "max"}, as_index=False)
        gdf = gdf.sort_values("score", ascending=False, ignore_index=True)
    return gdf, {"sigma_mm_yr": sigma, "threshold_mm_yr": thr, "k_sigma": k_sigma, "min_pixels": min_pixels}


__all__ = ["active_areas", "background", "MAD_TO_SIGMA"]
