"""Deformation maps to cut into tiles: the mean LOS velocity map and one map per acquisition date.

A per-date map is the LOS velocity (mm/yr) fitted by least squares to the displacement series over a
window of ``window_days`` centred on that date (clipped at the ends of the series). Why velocity over
a window rather than the cumulative displacement at that date: the detector is later run on velocity
maps (the whole-scene inventory, paper §4.2.2), so training maps must carry the same quantity on the
same colour scale; cumulative displacement grows with time, so one fixed colour range would show
nothing early in the series and saturate late, and its near-zero first dates carry no signal at all.
A centred window of a year averages out the wet-season modulation and still lets accelerating slopes
look different from one date to another. Each tile's maps are referred to the tile's median (see
:func:`window_maps`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from lsid.constants import DAYS_PER_YEAR
from lsid.errors import InputDataError

#: Fewest dates a window must hold for its velocity to be fitted.
MIN_DATES_PER_WINDOW = 3


@dataclass(frozen=True)
class MapSpec:
    """One map: ``key`` names it in file names (``mean`` or YYYYMMDD), ``date`` its centre (None for
    the mean map), ``weights`` the (N,) linear operator from the displacement series (None: the
    Deformation's own velocity), ``n_dates`` how many dates the window holds."""

    key: str
    date: np.datetime64 | None
    weights: np.ndarray | None
    n_dates: int


def window_velocity_weights(t_days: np.ndarray, centre: int, window_days: float) -> np.ndarray:
    """(N,) weights w such that w @ d is the least-squares slope (per year) of d(t) over the dates
    within ``window_days / 2`` of date ``centre``; zero outside the window, and all zero when the
    window does not fit inside the series (a half window at the ends doubles the atmospheric noise)."""
    t = np.asarray(t_days, dtype=float)
    w = np.zeros(t.size)
    if t[centre] - t[0] < window_days / 2 or t[-1] - t[centre] < window_days / 2:
        return w
    inside = np.abs(t - t[centre]) <= window_days / 2
    if inside.sum() < MIN_DATES_PER_WINDOW:
        return w
    ty = t[inside] / DAYS_PER_YEAR
    tc = ty - ty.mean()
    w[inside] = tc / np.sum(tc**2)
    return w


def map_specs(defo: xr.Dataset, per_date: bool = True, date_step: int = 1, window_days: float = 365.0) -> list[MapSpec]:
    """The maps of one Deformation: the mean-velocity map, then (``per_date``) every ``date_step``-th
    date's window velocity, for the dates whose whole window lies inside the series. Raises InputDataError
    when per-date maps are asked of a Deformation with no displacement series (a velocity GeoTIFF)."""
    specs = [MapSpec("mean", None, None, int(defo.sizes.get("time", 0)))]
    if not per_date:
        return specs
    if "displacement" not in defo or "time" not in defo.dims:
        raise InputDataError(
            f"the {defo.attrs.get('orbit', '')} Deformation has no displacement time series (source: "
            f"{defo.attrs.get('source', 'unknown')}), so per-date maps cannot be made: set tiles.per_date: false "
            f"in the AOI file to use the mean-velocity map only")
    dates = defo.time.values.astype("datetime64[D]")
    t_days = (dates - dates[0]).astype(float)
    for i in range(0, dates.size, date_step):
        w = window_velocity_weights(t_days, i, window_days)
        if np.count_nonzero(w) >= MIN_DATES_PER_WINDOW:
            specs.append(MapSpec(str(dates[i]).replace("-", ""), dates[i], w, int(np.count_nonzero(w))))
    return specs


def window_maps(defo: xr.Dataset, specs: list[MapSpec], row: int, col: int, size: int,
                local_reference: bool = True) -> np.ndarray:
    """All maps of ``specs`` on one window (rows row..row+size, cols col..col+size): (n_maps, size, size)
    float32, mm/yr, NaN where the Deformation is not reliable. Reads the window's displacement series
    once (memory: one window's series, whatever the scene size).

    ``local_reference``: refer each map to the median of the window's reliable pixels (the stable
    majority of the ground). The scene's reference pixel can be tens of km away; over a window of
    months, atmospheric delay and orbit ramps that the inversion cannot separate shift a whole tile
    by tens of mm/yr, which would paint entire tiles one colour. A landslide is an anomaly against
    its surroundings, so that is what the tile keeps."""
    win = dict(y=slice(row, row + size), x=slice(col, col + size))
    valid = np.asarray(defo.valid.isel(**win).values, dtype=bool)
    out = np.empty((len(specs), size, size), dtype=np.float32)
    dated = [k for k, s in enumerate(specs) if s.weights is not None]
    if dated:
        W = np.stack([specs[k].weights for k in dated]).astype(np.float32)
        used = np.flatnonzero(np.any(W != 0, axis=0))
        disp = np.asarray(defo.displacement.isel(time=used, **win).values, dtype=np.float32)
        out[dated] = np.tensordot(W[:, used], disp, axes=1)
    for k, s in enumerate(specs):
        if s.weights is None:
            out[k] = np.asarray(defo.velocity.isel(**win).values, dtype=np.float32)
    out[:, ~valid] = np.nan
    if local_reference and valid.any():
        out -= np.nanmedian(out[:, valid], axis=1)[:, None, None]
    return out
