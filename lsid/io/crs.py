"""The working CRS of a study: every stage after SBAS measures lengths, areas and slopes in metres, so a
Deformation on a geographic grid (LiCSAR and LiCSBAS products are in WGS 84 degrees) is resampled
onto a projected one (its UTM zone, or a CRS the user names) before it is written.

Resampling is GDAL's warp through rioxarray (no hand-written interpolation): bilinear for continuous
layers, which uses only valid neighbours (NaN is the no-data value), nearest for masks and counts.
"""

from __future__ import annotations

import logging

import numpy as np
import xarray as xr
from pyproj import CRS
from rasterio.enums import Resampling

from lsid.errors import InputDataError

log = logging.getLogger(__name__)

#: Variables resampled with the nearest neighbour (masks, counts, categories); all others bilinearly.
NEAREST = ("valid", "n_pairs", "label", "mask")


def pixel_size_m(ds: xr.Dataset) -> tuple[float, float]:
    """(east-west, north-south) pixel size in metres of a grid in a geographic CRS, at its centre."""
    t = ds.rio.transform()
    lat = float(np.deg2rad(ds.y.values.mean()))
    # metres per degree on the WGS 84 ellipsoid at that latitude (first terms of the series)
    m_lat = 111132.92 - 559.82 * np.cos(2 * lat) + 1.175 * np.cos(4 * lat)
    m_lon = 111412.84 * np.cos(lat) - 93.5 * np.cos(3 * lat)
    return abs(t.a) * m_lon, abs(t.e) * m_lat


def working_crs(ds: xr.Dataset, target: str | None = None) -> CRS | None:
    """The CRS a Deformation should be in: ``target`` when given, else None (keep) for a projected
    grid, else the UTM zone of the grid's centre."""
    crs = ds.rio.crs
    if target:
        try:
            return CRS.from_user_input(target)
        except Exception as exc:  # pyproj raises CRSError, a few others for odd strings
            raise InputDataError(f"sbas.working_crs {target!r} is not a CRS pyproj knows ({exc}); "
                                 f"give e.g. EPSG:32633") from None
    if crs is None:
        return None
    return ds.rio.estimate_utm_crs() if CRS.from_user_input(crs).is_geographic else None


def to_working_crs(ds: xr.Dataset, target: str | None = None, resolution_m: float | None = None) -> xr.Dataset:
    """``ds`` resampled onto the working CRS (``working_crs``); unchanged when it already is there.

    Parameters
    ----------
    ds : a Deformation (or any dataset of (…, y, x) layers) with a CRS.
    target : a CRS string (``EPSG:32633``); None: the UTM zone of a geographic grid.
    resolution_m : pixel size of the new grid, m (default: the geometric mean of the old pixel's sides,
        so the number of pixels stays about the same; rounded to 1 m).

    Attributes are kept; reference_x / reference_y are transformed to the new CRS.
    """
    dst = working_crs(ds, target)
    src = ds.rio.crs
    if dst is None or (src is not None and CRS.from_user_input(src) == dst):
        return ds
    if src is None:
        raise InputDataError("the Deformation has no CRS, so it cannot be resampled to sbas.working_crs; "
                             "give the input files a CRS")
    if resolution_m is None:
        if CRS.from_user_input(src).is_geographic:
            dx, dy = pixel_size_m(ds)
        else:
            t = ds.rio.transform()
            dx, dy = abs(t.a), abs(t.e)
        resolution_m = float(max(1.0, np.round(np.sqrt(dx * dy))))
    out = {}
    for name, da in ds.data_vars.items():
        if not {"y", "x"} <= set(da.dims):
            out[name] = da
            continue
        nearest = name in NEAREST or da.dtype == bool or np.issubdtype(da.dtype, np.integer)
        src_da = da.astype(np.uint8) if da.dtype == bool else da
        if not nearest:
            src_da = src_da.astype(np.float32).rio.write_nodata(np.nan)
        else:
            src_da = src_da.rio.write_nodata(0)  # off the old grid: False, or a count of 0
        res = src_da.rio.reproject(dst, resolution=resolution_m,
                                   resampling=Resampling.nearest if nearest else Resampling.bilinear)
        out[name] = (res > 0) if da.dtype == bool else res
    new = xr.Dataset(out, attrs=dict(ds.attrs))
    if "valid" in new and "velocity" in new:  # a valid pixel needs a value after resampling
        new["valid"] = new["valid"] & np.isfinite(new["velocity"])
    for name in new.data_vars:
        new[name].attrs = {k: v for k, v in ds[name].attrs.items() if k not in ("_FillValue", "grid_mapping")}
        new[name].encoding = {}
    if np.isfinite(ds.attrs.get("reference_x", np.nan)) and np.isfinite(ds.attrs.get("reference_y", np.nan)):
        from pyproj import Transformer

        x, y = Transformer.from_crs(src, dst, always_xy=True).transform(ds.attrs["reference_x"],
                                                                        ds.attrs["reference_y"])
        new.attrs.update({"reference_x": float(x), "reference_y": float(y)})
    new.attrs["resampled_from"] = f"{CRS.from_user_input(src).to_string()} (bilinear; masks nearest)"
    log.info("Deformation resampled from %s to %s at %.0f m", CRS.from_user_input(src).to_string(), dst.to_string(),
             resolution_m)
    return new.rio.write_crs(dst)


#: Relative difference of pixel sizes below which a grid is taken to be at the asked size already.
SAME_PIXEL_TOLERANCE = 0.02


def grid_pixel_m(ds: xr.Dataset) -> float:
    """Pixel size of a projected grid, m (the geometric mean of its two sides)."""
    t = ds.rio.transform()
    return float(np.sqrt(abs(t.a) * abs(t.e)))


def to_pixel_size(ds: xr.Dataset, pixel_m: float) -> xr.Dataset:
    """``ds`` (2-D (y, x) layers on a projected grid) resampled in its own CRS to ``pixel_m`` metres.

    Coarser: GDAL's ``average`` of the valid fine pixels (the noise of a multilook falls as it
    should); finer: bilinear. Masks (:data:`NEAREST`, booleans) become the share of valid fine pixels,
    valid where at least half are; a valid pixel needs a finite ``velocity``. Unchanged when the grid is
    within :data:`SAME_PIXEL_TOLERANCE` of ``pixel_m``. Raises InputDataError for a grid without CRS or
    in degrees (resample to a projected CRS first: :func:`to_working_crs`).
    """
    if ds.rio.crs is None:
        raise InputDataError("the map has no CRS, so its pixel size in metres is unknown: write one "
                             "(rioxarray: ds.rio.write_crs('EPSG:....'))")
    if CRS.from_user_input(ds.rio.crs).is_geographic:
        raise InputDataError("the map is in degrees: resample it to a projected CRS first (lsid.io.crs.to_working_crs)")
    src = grid_pixel_m(ds)
    if abs(src - pixel_m) / pixel_m < SAME_PIXEL_TOLERANCE:
        return ds
    coarser = pixel_m > src
    out = {}
    for name, da in ds.data_vars.items():
        if set(da.dims) != {"y", "x"}:
            continue  # series and other stacks are not resampled here
        mask = name in NEAREST or da.dtype == bool
        src_da = da.astype(np.float32).rio.write_nodata(np.nan)
        res = src_da.rio.reproject(ds.rio.crs, resolution=pixel_m,
                                   resampling=Resampling.average if coarser else Resampling.bilinear)
        out[name] = (res.fillna(0) >= 0.5) if mask else res
    new = xr.Dataset(out, attrs=dict(ds.attrs))
    if "valid" in new and "velocity" in new:
        new["valid"] = new["valid"] & np.isfinite(new["velocity"])
    for name in new.data_vars:
        new[name].attrs = {k: v for k, v in ds[name].attrs.items() if k not in ("_FillValue", "grid_mapping")}
        new[name].encoding = {}
    new.attrs["resampled_from_pixel_m"] = round(src, 3)
    log.info("map resampled from %.1f m to %.1f m pixels (%s)", src, pixel_m, "average" if coarser else "bilinear")
    return new.rio.write_crs(ds.rio.crs)


__all__ = ["NEAREST", "pixel_size_m", "working_crs", "to_working_crs", "grid_pixel_m", "to_pixel_size",
           "SAME_PIXEL_TOLERANCE"]
