"""The case study of one potential landslide (paper §4.5, Figs. 15-16): which one, its seasonal rates
and a velocity profile across it."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

from lsid.constants import DAYS_PER_YEAR, WET_SEASON_MONTHS
from lsid.layout import RunLayout

#: Inventories to study, in order of preference: (file stem, source label; None: the detector's name).
CASE_SOURCES = (("inventory", None), ("ada_inventory", "ADA baseline"))


def choose_inventory(layout: RunLayout, model_label: str):
    """(inventory GeoDataFrame, its source label) of the first non-empty inventory the run wrote (the
    detector's, else ADA's); (None, None) when both are empty or absent."""
    for stem, label in CASE_SOURCES:
        f = layout.inventory(stem, "gpkg")
        if f.exists():
            inv = gpd.read_file(f)
            if len(inv):
                return inv, label or model_label
    return None, None


def seasonal_rates(series: dict[str, dict[str, tuple]], wet_months=WET_SEASON_MONTHS) -> pd.DataFrame:
    """Per orbit and point of ``series`` ({orbit: {point: (dates, displacement mm)}}): the total
    displacement (mm) and the mean rate (mm/yr) over the intervals that end in the wet and in the dry
    season (an interval of n days between two dates gives (d2 - d1) / n * DAYS_PER_YEAR)."""
    rows = []
    for o, pts in series.items():
        for name, (t, y) in pts.items():
            tt = pd.to_datetime(t)
            y = np.asarray(y, dtype=float)
            days = np.maximum(np.diff(tt.values).astype("timedelta64[D]").astype(float), 1)
            rate = np.diff(y) / days * DAYS_PER_YEAR
            wet = np.asarray(tt.month.isin(wet_months))[1:]
            rows.append({"orbit": o, "point": name, "total (mm)": y[-1] - y[0],
                         "rate in wet season (mm/yr)": np.nanmean(rate[wet]) if wet.any() else np.nan,
                         "rate in dry season (mm/yr)": np.nanmean(rate[~wet]) if (~wet).any() else np.nan})
    return pd.DataFrame(rows).set_index(["orbit", "point"]).round(1)


def span_inside(line: tuple[np.ndarray, np.ndarray], geometry) -> tuple[float, float] | None:
    """(first, last) distance in m along the profile ``line`` ((xs, ys) of its two end points) at which
    it is inside ``geometry``; None when it misses it."""
    from shapely.geometry import LineString, Point

    ab = LineString(list(zip(*line)))
    part = ab.intersection(geometry)
    if part.is_empty:
        return None
    d = [ab.project(Point(c)) for g in getattr(part, "geoms", [part]) for c in g.coords]
    return min(d), max(d)


def against_scene_median(values: np.ndarray, defo) -> np.ndarray:
    """Velocities (mm/yr) minus the median of the Deformation's reliable velocities."""
    return values - np.nanmedian(defo.velocity.values[defo.valid.values])


def pick_case(inv: gpd.GeoDataFrame, by: str = "fastest") -> pd.Series | None:
    """The case-study landslide: the ``fastest`` (largest |95th-percentile LOS rate| in any orbit) or the
    ``largest`` potential landslide; None for an empty inventory."""
    if inv.empty:
        return None
    if by == "largest":
        return inv.loc[inv["area_m2"].idxmax()]
    rate = np.nanmax(np.abs(inv[[c for c in inv.columns if c.startswith("v_p95")]].to_numpy(dtype=float)), axis=1)
    return inv.iloc[int(np.nanargmax(np.nan_to_num(rate, nan=-1)))]


def profile_line(obj: pd.Series, length_factor: float = 2.5) -> tuple[np.ndarray, np.ndarray]:
    """End points (x, y) of a profile through the object's centre along its mean aspect (downslope),
    ``length_factor`` times its equivalent diameter long."""
    c = obj.geometry.centroid
    L = length_factor * 2 * np.sqrt(obj.geometry.area / np.pi)
    a = np.deg2rad(obj.get("aspect_deg", 90.0) if np.isfinite(obj.get("aspect_deg", np.nan)) else 90.0)
    dx, dy = np.sin(a) * L / 2, np.cos(a) * L / 2
    return np.array([c.x - dx, c.x + dx]), np.array([c.y - dy, c.y + dy])


def sample_profile(d: xr.Dataset, xs: np.ndarray, ys: np.ndarray, var: str,
                   n: int = 150) -> tuple[np.ndarray, np.ndarray]:
    """(distance along the line in m, nearest-pixel values of ``var``) on ``n`` points from (xs[0], ys[0])
    to (xs[1], ys[1]); unreliable velocity pixels are NaN."""
    px, py = np.linspace(xs[0], xs[1], n), np.linspace(ys[0], ys[1], n)
    pts = d[var].sel(x=xr.DataArray(px, dims="p"), y=xr.DataArray(py, dims="p"), method="nearest")
    vals = np.asarray(pts.values, dtype=float)
    if var == "velocity":
        ok = d.valid.sel(x=xr.DataArray(px, dims="p"), y=xr.DataArray(py, dims="p"), method="nearest").values
        vals = np.where(ok, vals, np.nan)
    return np.hypot(px - px[0], py - py[0]), vals


def series_points(obj: pd.Series, d: xr.Dataset, n: int = 3, layers=None) -> list[tuple[float, float]]:
    """Map coordinates of ``n`` reliable pixels inside the object with the largest |LOS rate|, spread
    apart (at least a fifth of the object's size), for its time-series plot. ``layers``: the orbit's
    SceneLayers when already made."""
    from lsid.inventory.objects import SceneLayers

    layers = layers or SceneLayers(d)
    (ys, xs), inside = layers.mask(obj.geometry)
    v = np.where(inside, layers.velocity[ys, xs], np.nan)
    order = np.argsort(-np.nan_to_num(np.abs(v), nan=-1), axis=None)
    xc, yc = d.x.values[xs], d.y.values[ys]
    min_gap = 0.2 * np.sqrt(obj.geometry.area)
    chosen: list[tuple[float, float]] = []
    for k in order:
        r, c = np.unravel_index(k, v.shape)
        if not np.isfinite(v[r, c]):
            break
        p = (float(xc[c]), float(yc[r]))
        if all(np.hypot(p[0] - q[0], p[1] - q[1]) >= min_gap for q in chosen):
            chosen.append(p)
        if len(chosen) == n:
            break
    return chosen


def ring_series(defo: xr.Dataset, layers, geom, ring_m: float = 300.0, max_pixels: int | None = None,
                seed: int = 0) -> np.ndarray:
    """Median displacement series (mm) of the reliable pixels in a ring of ``ring_m`` around ``geom``
    (all of them, or ``max_pixels`` drawn with ``seed``); zeros when the ring has none. ``layers``: the
    orbit's :class:`lsid.inventory.objects.SceneLayers`."""
    (ys, xs), ring = layers.mask(geom.buffer(ring_m).difference(geom))
    rr, cc = np.nonzero(ring & np.isfinite(layers.velocity[ys, xs]))
    if not rr.size:
        return np.zeros(defo.sizes["time"])
    if max_pixels is not None and rr.size > max_pixels:
        pick = np.random.default_rng(seed).choice(rr.size, size=max_pixels, replace=False)
        rr, cc = rr[pick], cc[pick]
    r0, c0 = rr.min(), cc.min()
    block = defo.displacement.isel(y=slice(ys.start + r0, ys.start + rr.max() + 1),
                                   x=slice(xs.start + c0, xs.start + cc.max() + 1)).values
    return np.nanmedian(block[:, rr - r0, cc - c0], axis=1)


def point_series(defo: xr.Dataset, obj: pd.Series, points: list[tuple[float, float]], ring_m: float = 300.0,
                 max_ring_pixels: int = 400, seed: int = 0, layers=None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Displacement series (mm) at ``points`` (nearest pixels), each minus the median series of up to
    ``max_ring_pixels`` reliable pixels in a ring of ``ring_m`` around the object (so that the motion is
    against the ground around it, not against the scene's far-away reference pixel). ``layers``: the
    orbit's SceneLayers when already made."""
    from lsid.inventory.objects import SceneLayers

    layers = layers or SceneLayers(defo.drop_vars("displacement"))
    ref = ring_series(defo, layers, obj.geometry, ring_m, max_ring_pixels, seed)
    t = defo.time.values
    out = {}
    for k, (px, py) in enumerate(points, 1):
        y = np.asarray(defo.displacement.sel(x=px, y=py, method="nearest").values, dtype=float) - ref
        out[f"P{k}"] = (t, y - y[0])
    return out
