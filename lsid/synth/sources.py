"""Deformation sources of the synthetic area: landslides (the targets) and distractors (not landslides).

Every source is a spatial pattern (a weight in [0, 1] on a window of the grid), a 3-D unit direction
of motion (east, north, up) and a displacement history in mm for weight 1. Its LOS displacement in an
orbit is ``weight * dot(direction, u_los) * displacement_mm(t)``.

Landslides move downslope, along the mean plane of their body, with a wet-season acceleration
(May-October) and, for some, a rate that grows over the years. Giant ancient bodies move slowly and
carry a faster reactivated part at their toe (like H3 of Dong et al. 2026). Distractors are vertical:
compaction of reservoir-bank terraces after impoundment, subsiding settlements, an excavation that
starts during the series (and decorrelates), and settlement plus seasonal motion of the dam.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import shapely
from shapely.geometry import Polygon

from lsid.config import DistractorsConfig, LandslidesConfig
from lsid.constants import DAYS_PER_YEAR
from lsid.synth.fields import smoothstep
from lsid.synth.grid import Grid
from lsid.synth.terrain import Terrain

log = logging.getLogger(__name__)

#: Day of year of the peak landslide rate (late wet season, mid August), before per-body jitter.
WET_SEASON_PEAK_DOY = 225.0
#: Day of year of the lowest reservoir level (spring drawdown), driving the dam's seasonal motion.
RESERVOIR_LOW_DOY = 150.0
#: Landslide bodies stay at least this height above the reservoir level, m.
MIN_BODY_CLEARANCE_M = 60.0
#: Landslide centres are drawn with probability exp(-height above the reservoir / this scale), m:
#: most sit on the lower valley sides, as on the Jinsha River banks.
VALLEY_SIDE_SCALE_M = 900.0

LANDSLIDE_KINDS = ("landslide", "ancient", "reactivated")


@dataclass
class Source:
    """One deformation source on the grid."""

    id: str
    kind: str
    polygon: Polygon
    rows: slice
    cols: slice
    weight: np.ndarray  # float32, window shape, 0..1
    direction: tuple[float, float, float]  # unit (east, north, up)
    rate_mm_yr: float  # mean rate at weight 1 over the period (or while active), mm/yr
    history: Callable[[np.ndarray], np.ndarray]  # days since period start -> displacement mm at weight 1
    params: dict = field(default_factory=dict)  # extra truth attributes (slope, aspect, seasonal amplitude, ...)
    parent: str | None = None

    @property
    def is_landslide(self) -> bool:
        return self.kind in LANDSLIDE_KINDS


def _cumulative_history(rate: np.ndarray, scale_mm_yr: float) -> Callable[[np.ndarray], np.ndarray]:
    """Displacement (mm) at any day from a daily relative-rate curve: cumulative trapezoid, 0 at day 0."""
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (rate[1:] + rate[:-1]))]) * scale_mm_yr / DAYS_PER_YEAR
    days = np.arange(rate.size, dtype=float)
    return lambda t: np.interp(np.asarray(t, dtype=float), days, cum)


def _doy(start: dt.date, n_days: int) -> np.ndarray:
    base = start.timetuple().tm_yday - 1
    return (base + np.arange(n_days)) % DAYS_PER_YEAR


def _star_polygon(cx, cy, half_len, half_wid, azimuth_deg, rng, n=72):
    """A lobate ellipse: long axis along ``azimuth_deg`` (clockwise from north); returns polygon and
    the harmonic coefficients used, so the same shape can be rasterised exactly."""
    harm = [(m, rng.uniform(0, 0.07), rng.uniform(0, 2 * np.pi)) for m in (2, 3, 4, 5)]
    phi = np.linspace(0, 2 * np.pi, n, endpoint=False)
    r = _radius(phi, half_len, half_wid, harm)
    u, w = r * np.cos(phi), r * np.sin(phi)  # u along the axis, w across (to the right)
    az = np.deg2rad(azimuth_deg)
    x = cx + u * np.sin(az) + w * np.cos(az)
    y = cy + u * np.cos(az) - w * np.sin(az)
    return Polygon(np.column_stack([x, y])), harm


def _radius(phi, a, b, harm):
    r = a * b / np.sqrt((b * np.cos(phi)) ** 2 + (a * np.sin(phi)) ** 2)
    mod = 1.0 + sum(amp * np.cos(m * phi + p) for m, amp, p in harm)
    return r * mod


def _star_weight(grid: Grid, rows, cols, cx, cy, half_len, half_wid, azimuth_deg, harm, inner=0.55):
    """Weight on a window: 1 in the core, falling smoothly to 0 at the lobate boundary."""
    X, Y = np.meshgrid(grid.x[cols], grid.y[rows])
    az = np.deg2rad(azimuth_deg)
    dx, dy = X - cx, Y - cy
    u = dx * np.sin(az) + dy * np.cos(az)
    w = dx * np.cos(az) - dy * np.sin(az)
    phi = np.arctan2(w, u)
    rho = np.hypot(u, w) / _radius(phi, half_len, half_wid, harm)
    return (1.0 - smoothstep(inner, 1.0, rho)).astype(np.float32)


def _mean_plane(terrain: Terrain, rows, cols, mask):
    """Slope and aspect (deg) of the mean plane of the DEM under ``mask`` (from the mean gradient)."""
    p = terrain.grid.pixel_size_m
    z = terrain.dem[rows, cols].astype(float)
    dz_drow, dz_dcol = np.gradient(z, p, p)
    ge, gn = dz_dcol[mask].mean(), -dz_drow[mask].mean()
    slope = np.rad2deg(np.arctan(np.hypot(ge, gn)))
    aspect = np.mod(np.rad2deg(np.arctan2(-ge, -gn)), 360.0)
    return float(slope), float(aspect)


def _downslope(slope, aspect):
    s, a = np.deg2rad(slope), np.deg2rad(aspect)
    return (float(np.cos(s) * np.sin(a)), float(np.cos(s) * np.cos(a)), float(-np.sin(s)))


class _Placer:
    """Places non-overlapping bodies on the terrain."""

    def __init__(self, terrain: Terrain, reservoir_level_m: float):
        self.t = terrain
        self.grid = terrain.grid
        self.occupied = np.zeros(self.grid.shape, dtype=bool)
        self.level = reservoir_level_m

    def body(self, cx, cy, half_len, half_wid, azimuth, rng, min_slope=None, allow_overlap=False):
        poly, harm = _star_polygon(cx, cy, half_len, half_wid, azimuth, rng)
        x0, y0, x1, y1 = poly.bounds
        rows, cols = self.grid.window(x0, x1, y0, y1)
        if rows.stop - rows.start < 2 or cols.stop - cols.start < 2:
            return None
        b = poly.bounds
        if b[0] < self.grid.bounds[0] or b[2] > self.grid.bounds[2] \
                or b[1] < self.grid.bounds[1] or b[3] > self.grid.bounds[3]:
            return None
        X, Y = np.meshgrid(self.grid.x[cols], self.grid.y[rows])
        inside = shapely.contains_xy(poly, X, Y)
        if inside.sum() < 3:
            return None
        if self.t.water[rows, cols][inside].any():
            return None
        if (self.t.dem[rows, cols][inside] < self.level + MIN_BODY_CLEARANCE_M * 0.5).any():
            return None
        if not allow_overlap and self.occupied[rows, cols][inside].any():
            return None
        if min_slope is not None:
            if self.t.slope[rows, cols][inside].mean() < min_slope:
                return None
            slope, _ = _mean_plane(self.t, rows, cols, inside)
            if slope < min_slope:
                return None
        w = _star_weight(self.grid, rows, cols, cx, cy, half_len, half_wid, azimuth, harm)
        return poly, rows, cols, w, inside

    def occupy(self, poly, margin_m):
        grown = poly.buffer(margin_m)
        x0, y0, x1, y1 = grown.bounds
        rows, cols = self.grid.window(x0, x1, y0, y1)
        X, Y = np.meshgrid(self.grid.x[cols], self.grid.y[rows])
        self.occupied[rows, cols] |= shapely.contains_xy(grown, X, Y)

    def smoothed_aspect(self, r, c, radius_px=3):
        """Slope and aspect (deg) of the mean plane around pixel (r, c)."""
        ny, nx = self.grid.shape
        rows = slice(max(r - radius_px, 0), min(r + radius_px + 1, ny))
        cols = slice(max(c - radius_px, 0), min(c + radius_px + 1, nx))
        mask = np.ones((rows.stop - rows.start, cols.stop - cols.start), dtype=bool)
        return _mean_plane(self.t, rows, cols, mask)


def _landslide_history(rng, start, n_days, seasonal_amp, accel, peak_doy):
    doy = _doy(start, n_days)
    tau = np.arange(n_days) / max(n_days - 1, 1)
    rate = (1.0 + seasonal_amp * np.cos(2 * np.pi * (doy - peak_doy) / DAYS_PER_YEAR)) * (1.0 + accel * tau)
    return rate / rate.mean()


def place_landslides(
    cfg: LandslidesConfig, terrain: Terrain, reservoir_level_m: float, start: dt.date, end: dt.date,
    rng: np.random.Generator, placer: _Placer | None = None,
) -> tuple[list[Source], _Placer]:
    """Place ``cfg.count`` landslides (``cfg.n_giant`` of them giant ancient bodies with a reactivated
    part) on slopes steeper than ``cfg.min_slope_deg``; returns the sources (giants first)."""
    placer = placer or _Placer(terrain, reservoir_level_m)
    grid = terrain.grid
    n_days = (end - start).days + 1
    candidates = np.flatnonzero(
        (terrain.slope > cfg.min_slope_deg + 3) & ~terrain.water
        & (terrain.dem > reservoir_level_m + MIN_BODY_CLEARANCE_M)
    )
    if candidates.size == 0:
        log.warning("no slope steeper than %.0f deg: no landslide placed", cfg.min_slope_deg)
        return [], placer
    # Most landslides of the paper sit on the reservoir banks: favour low ground above the water.
    height = terrain.dem.ravel()[candidates] - reservoir_level_m
    cdf = np.cumsum(np.exp(-height / VALLEY_SIDE_SCALE_M))
    cdf /= cdf[-1]
    sources: list[Source] = []
    log_lmin, log_lmax = np.log(cfg.min_length_m), np.log(cfg.max_length_m)
    log_vmin, log_vmax = np.log(max(cfg.min_velocity_mm_yr, 1e-3)), np.log(max(cfg.max_velocity_mm_yr, 1e-3))

    n_normal = cfg.count - cfg.n_giant
    plan = ["giant"] * cfg.n_giant + ["normal"] * n_normal
    n_giant_done = 0
    for kind in plan:
        for _attempt in range(400):
            idx = candidates[min(int(np.searchsorted(cdf, rng.random())), candidates.size - 1)]
            r, c = np.unravel_index(idx, grid.shape)
            if placer.occupied[r, c]:
                continue
            if kind == "giant":
                length = rng.uniform(0.8, 1.0) * cfg.max_length_m
            else:
                length = float(np.exp(rng.uniform(log_lmin, log_lmax)))
            half_len = length / 2
            half_wid = half_len * rng.uniform(0.45, 0.8)
            _, aspect = placer.smoothed_aspect(r, c)
            got = placer.body(grid.x[c], grid.y[r], half_len, half_wid, aspect, rng, min_slope=cfg.min_slope_deg)
            if got is None:
                continue
            poly, rows, cols, weight, inside = got
            slope, aspect = _mean_plane(terrain, rows, cols, inside)
            seasonal = rng.uniform(0.2, max(cfg.max_seasonal_amplitude, 0.2)) if cfg.max_seasonal_amplitude > 0 else 0.0
            peak = WET_SEASON_PEAK_DOY + rng.normal(0, 15)
            if kind == "giant":
                v = float(np.exp(rng.uniform(log_vmin, np.log(max(2 * cfg.min_velocity_mm_yr, 1e-3)))))
                accel = 0.0
                gid = f"G{n_giant_done + 1}"
                n_giant_done += 1
                body_id, body_kind = gid, "ancient"
            else:
                v = float(np.exp(rng.uniform(log_vmin, log_vmax)))
                accel = float(rng.uniform(0.5, 2.0)) if rng.random() < cfg.accelerating_fraction else 0.0
                body_id, body_kind = None, "landslide"
            rate = _landslide_history(rng, start, n_days, seasonal, accel, peak)
            src = Source(
                id=body_id or "",
                kind=body_kind,
                polygon=poly,
                rows=rows,
                cols=cols,
                weight=weight,
                direction=_downslope(slope, aspect),
                rate_mm_yr=v,
                history=_cumulative_history(rate, v),
                params=dict(slope_deg=slope, aspect_deg=aspect, length_m=length, seasonal_amplitude=seasonal,
                            acceleration=accel, peak_doy=peak),
            )
            sources.append(src)
            placer.occupy(poly, margin_m=max(100.0, 2 * grid.pixel_size_m))
            if kind == "giant":
                sources.append(_reactivated_part(src, cfg, terrain, placer, rng, start, n_days))
            break
        else:
            log.warning("could only place %d of %d landslides on slopes > %.0f deg", len(sources), cfg.count,
                        cfg.min_slope_deg)
            break
    # Name ordinary landslides L01.. from north to south.
    normal = sorted((s for s in sources if s.kind == "landslide"), key=lambda s: -s.polygon.centroid.y)
    for i, s in enumerate(normal, 1):
        s.id = f"L{i:02d}"
    return sources, placer


def _reactivated_part(parent: Source, cfg, terrain, placer, rng, start, n_days) -> Source:
    """A faster new part at the toe (downslope end) of a giant ancient body."""
    L = parent.params["length_m"]
    a = np.deg2rad(parent.params["aspect_deg"])
    c = parent.polygon.centroid
    cx, cy = c.x + 0.28 * L * np.sin(a), c.y + 0.28 * L * np.cos(a)
    half_len = 0.16 * L
    half_wid = half_len * rng.uniform(0.6, 0.9)
    poly, harm = _star_polygon(cx, cy, half_len, half_wid, parent.params["aspect_deg"], rng)
    poly = poly.intersection(parent.polygon)
    x0, y0, x1, y1 = poly.bounds
    rows, cols = placer.grid.window(x0, x1, y0, y1)
    weight = _star_weight(placer.grid, rows, cols, cx, cy, half_len, half_wid, parent.params["aspect_deg"], harm)
    v = float(rng.uniform(0.5, 1.0) * cfg.max_velocity_mm_yr)
    seasonal = parent.params["seasonal_amplitude"]
    accel = float(rng.uniform(0.3, 1.0))
    rate = _landslide_history(rng, start, n_days, seasonal, accel, parent.params["peak_doy"])
    X, Y = np.meshgrid(placer.grid.x[cols], placer.grid.y[rows])
    inside = shapely.contains_xy(poly, X, Y)
    slope, aspect = (_mean_plane(terrain, rows, cols, inside) if inside.sum() >= 3
                     else (parent.params["slope_deg"], parent.params["aspect_deg"]))
    return Source(
        id=f"{parent.id}-R", kind="reactivated", polygon=poly, rows=rows, cols=cols, weight=weight,
        direction=_downslope(slope, aspect), rate_mm_yr=v, history=_cumulative_history(rate, v),
        params=dict(slope_deg=slope, aspect_deg=aspect, length_m=2 * half_len, seasonal_amplitude=seasonal,
                    acceleration=accel, peak_doy=parent.params["peak_doy"]),
        parent=parent.id,
    )


def _ellipse(cx, cy, a, b, azimuth_deg):
    poly = shapely.affinity.scale(shapely.Point(0, 0).buffer(1.0, quad_segs=16), a, b)
    poly = shapely.affinity.rotate(poly, -azimuth_deg, origin=(0, 0))
    return shapely.affinity.translate(poly, cx, cy)


def _bowl_weight(grid, poly, inner=0.2):
    """Weight 1 at the centre falling to 0 at the boundary of a convex polygon."""
    x0, y0, x1, y1 = poly.bounds
    rows, cols = grid.window(x0, x1, y0, y1)
    X, Y = np.meshgrid(grid.x[cols], grid.y[rows])
    c = poly.centroid
    # Normalised radius by the distance to the boundary along the ray (convex shapes).
    d_edge = shapely.distance(shapely.points(X, Y), poly.exterior)
    inside = shapely.contains_xy(poly, X, Y)
    d_centre = np.hypot(X - c.x, Y - c.y)
    rho = np.where(inside, d_centre / np.maximum(d_centre + d_edge, 1e-9), 1.0)
    return rows, cols, (1.0 - smoothstep(inner, 1.0, rho)).astype(np.float32)


def place_distractors(
    cfg: DistractorsConfig, terrain: Terrain, start: dt.date, end: dt.date, rng: np.random.Generator,
    placer: _Placer,
) -> list[Source]:
    """Non-landslide deformation: terrace compaction, settlements, excavations and the dam."""
    grid = terrain.grid
    n_days = (end - start).days + 1
    days = np.arange(n_days, dtype=float)
    doy = _doy(start, n_days)
    down = (0.0, 0.0, -1.0)
    out: list[Source] = []
    terraces = list(terrain.terraces)
    order = rng.permutation(len(terraces))
    for i, k in enumerate(order[: cfg.n_subsiding_terraces]):
        poly = terraces[k]
        rows, cols, w = _bowl_weight(grid, poly)
        v = float(rng.uniform(0.4, 1.0) * cfg.terrace_subsidence_mm_yr)
        tau_c = rng.uniform(1.0, 3.0) * DAYS_PER_YEAR  # consolidation time, days
        rate = np.exp(-days / tau_c)
        out.append(Source(f"T{i + 1}", "terrace_subsidence", poly, rows, cols, w, down, v,
                          _cumulative_history(rate / rate.mean(), v), dict(consolidation_days=tau_c)))
    for i in range(cfg.n_settlements):
        if not terraces:
            break
        host = terraces[order[i % len(terraces)]]
        c = host.centroid
        r = rng.uniform(120.0, 280.0)
        poly = _ellipse(c.x + rng.uniform(-0.3, 0.3) * r, c.y + rng.uniform(-0.5, 0.5) * r, r,
                        r * rng.uniform(0.6, 1.0), rng.uniform(0, 180)).intersection(host)
        if poly.is_empty or poly.area < grid.pixel_size_m**2:
            continue
        rows, cols, w = _bowl_weight(grid, poly, inner=0.4)
        v = float(rng.uniform(0.5, 1.0) * cfg.settlement_subsidence_mm_yr)
        out.append(Source(f"S{i + 1}", "settlement", poly, rows, cols, w, down, v,
                          _cumulative_history(np.ones(n_days), v)))
    # Excavations on moderate slopes (a quarry or a road cut): sharp edges, start during the series.
    cand = np.flatnonzero((terrain.slope > 8) & (terrain.slope < 25) & ~terrain.water & ~placer.occupied)
    for i in range(cfg.n_excavations):
        for _ in range(200):
            if cand.size == 0:
                break
            r, c = np.unravel_index(cand[rng.integers(cand.size)], grid.shape)
            a, b = rng.uniform(150.0, 300.0), rng.uniform(80.0, 160.0)
            poly = shapely.affinity.rotate(shapely.box(-a, -b, a, b), rng.uniform(0, 180), origin=(0, 0))
            poly = shapely.affinity.translate(poly, grid.x[c], grid.y[r])
            x0, y0, x1, y1 = poly.bounds
            rows, cols = grid.window(x0, x1, y0, y1)
            X, Y = np.meshgrid(grid.x[cols], grid.y[rows])
            inside = shapely.contains_xy(poly, X, Y)
            if inside.sum() < 2 or placer.occupied[rows, cols][inside].any() or terrain.water[rows, cols][inside].any():
                continue
            onset = int(rng.uniform(0.2, 0.6) * n_days)
            rate = (days >= onset).astype(float)
            v = float(rng.uniform(0.6, 1.0) * cfg.excavation_rate_mm_yr)
            out.append(Source(f"E{i + 1}", "excavation", poly, rows, cols, inside.astype(np.float32), down, v,
                              _cumulative_history(rate, v),
                              dict(onset=str(start + dt.timedelta(days=onset)), onset_day=onset)))
            placer.occupy(poly, 100.0)
            break
    if cfg.dam_settlement_mm_yr > 0 or cfg.dam_seasonal_mm > 0:
        d = terrain.dam
        poly = _ellipse(d.x, d.y, 250.0, 110.0, rng.uniform(60, 120))
        rows, cols, w = _bowl_weight(grid, poly, inner=0.3)
        v = cfg.dam_settlement_mm_yr
        seasonal = cfg.dam_seasonal_mm * np.sin(2 * np.pi * (doy - RESERVOIR_LOW_DOY) / DAYS_PER_YEAR)
        lin = _cumulative_history(np.ones(n_days), v)

        def dam_history(t, lin=lin, seasonal=seasonal):
            return lin(t) + np.interp(np.asarray(t, float), days, seasonal - seasonal[0])

        out.append(Source("D1", "dam", poly, rows, cols, w, down, v, dam_history,
                          dict(seasonal_mm=cfg.dam_seasonal_mm)))
    return out
