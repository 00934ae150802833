"""Synthetic terrain of a deep V-shaped river valley (the Jinsha River at the Ahai Reservoir).

The valley is built from a few physical shapes, each documented below, then roughened:
- a meandering river flowing south, its bed rising gently northwards;
- banks rising from the river as ``z = bed + relief * (1 - exp(-d tan(alpha) / relief))`` (slope
  ``alpha`` at the water, a plateau ``relief`` metres above it, over 3000 m a.s.l.);
- tributary gullies cut into the banks as V-shaped notches (a smooth minimum of two surfaces);
- fractal roughness (power-law spectrum), stronger high on the banks;
- a dam with a reservoir upstream (flat water at the reservoir level) and a river channel downstream;
- flat terraces on the reservoir banks (where villages, farmland and subsidence sit).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import LineString, Point, Polygon

from lsid.config import TerrainConfig
from lsid.geometry import slope_aspect
from lsid.synth.fields import power_law_field, smoothstep
from lsid.synth.grid import Grid

#: River channel half-width below the dam, m.
RIVER_HALF_WIDTH_M = 60.0
#: Bed slope of tributary gullies, deg, and steepness of their side walls, deg.
GULLY_BED_DEG = 7.0
GULLY_WALL_DEG = 32.0
#: Softness of the minimum that carves gullies, m.
SMOOTH_MIN_M = 40.0


@dataclass
class Terrain:
    """Terrain layers on the grid (float32 arrays, rows north to south) and vector features."""

    grid: Grid
    dem: np.ndarray  # m above sea level
    slope: np.ndarray  # deg
    aspect: np.ndarray  # deg clockwise from north, direction the slope faces
    vegetation: np.ndarray  # vegetation density, 0 (bare rock) .. 1 (dense forest)
    water: np.ndarray  # bool: reservoir or river
    dem_error: np.ndarray  # m: error of the DEM used for InSAR processing
    river: LineString
    reservoir: Polygon | None
    dam: Point
    terraces: list[Polygon] = field(default_factory=list)
    gullies: list[LineString] = field(default_factory=list)


def _smooth_min(a, b, k):
    """Smooth minimum of two surfaces (log-sum-exp), m; equals min(a, b) far from where they cross."""
    m = np.minimum(a, b)
    return m - k * np.log1p(np.exp(-np.abs(a - b) / k))


def make_terrain(cfg: TerrainConfig, grid: Grid, rng: np.random.Generator) -> Terrain:
    """Build the valley terrain.

    Parameters
    ----------
    cfg : terrain parameters (elevations m, slopes deg).
    grid : the scene grid.
    rng : random generator (meanders, gullies, roughness, terraces, vegetation, DEM error).
    """
    ny, nx = grid.shape
    p = grid.pixel_size_m
    width, height = nx * p, ny * p
    X, Y = np.meshgrid(grid.x, grid.y)
    y_south = grid.y[-1]

    # River centre line x_r(y): two sinusoidal meanders.
    ph = rng.uniform(0, 2 * np.pi, 2)
    lam = (0.9 * height, 0.35 * height)
    amp = cfg.meander_amplitude * width * np.array([0.7, 0.3])
    xc = grid.x.mean()

    def river_x(y):
        return xc + amp[0] * np.sin(2 * np.pi * y / lam[0] + ph[0]) + amp[1] * np.sin(2 * np.pi * y / lam[1] + ph[1])

    def river_dxdy(y):
        return amp[0] * 2 * np.pi / lam[0] * np.cos(2 * np.pi * y / lam[0] + ph[0]) + amp[1] * 2 * np.pi / lam[
            1
        ] * np.cos(2 * np.pi * y / lam[1] + ph[1])

    xr_row = river_x(grid.y)
    cos_t = 1.0 / np.sqrt(1.0 + river_dxdy(grid.y) ** 2)
    signed_d = (X - xr_row[:, None]) * cos_t[:, None]  # >0 east bank
    d = np.abs(signed_d)
    bed = cfg.river_bed_south_m + cfg.river_gradient_m_per_km * (grid.y - y_south) / 1000.0
    bed2d = np.broadcast_to(bed[:, None], (ny, nx))

    # Banks: slightly different steepness east and west.
    tan_east = np.tan(np.deg2rad(cfg.bank_slope_deg * rng.uniform(0.9, 1.1)))
    tan_west = np.tan(np.deg2rad(cfg.bank_slope_deg * rng.uniform(0.9, 1.1)))
    tan_a = np.where(signed_d > 0, tan_east, tan_west)
    relief = cfg.relief_m
    z = bed2d + relief * (1.0 - np.exp(-d * tan_a / relief))

    # Tributary gullies.
    gullies = []
    tan_bed, tan_wall = np.tan(np.deg2rad(GULLY_BED_DEG)), np.tan(np.deg2rad(GULLY_WALL_DEG))
    for _ in range(cfg.n_gullies):
        y0 = rng.uniform(grid.y[-1] + 0.05 * height, grid.y[0] - 0.05 * height)
        side = rng.choice([-1.0, 1.0])
        x0 = river_x(y0)
        angle = np.deg2rad(rng.uniform(-35, 35))  # from the across-river direction
        ux, uy = side * np.cos(angle), np.sin(angle)
        length = rng.uniform(0.35, 0.8) * min(width / 2, 12_000.0)
        s = (X - x0) * ux + (Y - y0) * uy  # along the gully from its mouth
        wiggle = rng.uniform(0.03, 0.08) * length * np.sin(2 * np.pi * s / (length * rng.uniform(0.5, 1.0)))
        dp = np.abs(-(X - x0) * uy + (Y - y0) * ux - wiggle)  # across the (sinuous) gully
        z_mouth = cfg.river_bed_south_m + cfg.river_gradient_m_per_km * (y0 - y_south) / 1000.0
        z_g = z_mouth + np.clip(s, 0, None) * tan_bed + dp * tan_wall
        z_g = z_g + np.clip(s - length, 0, None) * 0.8 + np.clip(-s, 0, None) * 10.0  # close head and mouth side
        z = _smooth_min(z, z_g, SMOOTH_MIN_M)
        gullies.append(LineString([(x0, y0), (x0 + ux * length, y0 + uy * length)]))

    # Fractal roughness, stronger high on the banks.
    if cfg.roughness_m > 0:
        rough = power_law_field((ny, nx), cfg.roughness_beta, rng, p, outer_scale_m=12_000.0, dtype=np.float64)
        height_share = np.clip((z - bed2d) / relief, 0, 1)
        z = z + cfg.roughness_m * (0.15 + 0.85 * height_share) * rough * smoothstep(0, 300, d)

    # Dam and reservoir (upstream = north of the dam), river channel downstream.
    y_dam = grid.y[0] - cfg.dam_position * height
    dam = Point(float(river_x(y_dam)), float(y_dam))
    upstream = Y > y_dam
    reservoir_mask = upstream & (z < cfg.reservoir_level_m)
    channel = (~upstream) & (d < RIVER_HALF_WIDTH_M)
    z = np.where(channel, bed2d, z)

    # Terraces: flat benches 30-150 m above the reservoir, on its banks.
    terraces = []
    attempts = 0
    while len(terraces) < cfg.n_terraces and attempts < 50 * max(cfg.n_terraces, 1):
        attempts += 1
        yt = rng.uniform(y_dam + 0.03 * height, grid.y[0] - 0.03 * height)
        if yt <= y_dam:
            continue
        side = rng.choice([-1.0, 1.0])
        h_t = rng.uniform(30.0, 150.0)
        zb = cfg.river_bed_south_m + cfg.river_gradient_m_per_km * (yt - y_south) / 1000.0
        rise = cfg.reservoir_level_m + h_t - zb
        tan_s = tan_east if side > 0 else tan_west
        if rise <= 0 or rise >= relief * 0.95:
            continue
        dist = -relief / tan_s * np.log(1 - rise / relief)
        half_across = min(rng.uniform(200.0, 400.0), 0.08 * width)
        half_along = min(rng.uniform(400.0, 1000.0), 0.1 * height)
        cx = river_x(yt) + side * (dist + half_across * 0.6)
        poly = Point(cx, yt).buffer(1.0, quad_segs=16)
        poly = shapely.affinity.scale(poly, half_across, half_along)
        if any(poly.buffer(200).intersects(t) for t in terraces):
            continue
        rho = np.hypot((X - cx) / half_across, (Y - yt) / half_along)
        w = 1.0 - smoothstep(0.75, 1.15, rho)
        plane = cfg.reservoir_level_m + h_t + side * (X - cx) * np.tan(np.deg2rad(2.5))  # tilts to the river
        z = np.where(w > 0, w * plane + (1 - w) * z, z)
        terraces.append(poly)

    reservoir_mask = upstream & (z < cfg.reservoir_level_m)
    z = np.where(reservoir_mask, cfg.reservoir_level_m, z)
    water = reservoir_mask | channel

    slope, aspect = slope_aspect(z, p, p)
    slope = np.where(water, 0.0, slope)

    # Vegetation: the dry-hot valley floor is sparse, forest grows above ~2200 m, alpine bare above ~3800 m.
    veg_noise = power_law_field((ny, nx), 3.0, rng, p, outer_scale_m=5000.0, dtype=np.float64)
    sig = lambda t: 1.0 / (1.0 + np.exp(-t))  # noqa: E731
    veg = sig((z - 2200.0) / 250.0) * (1.0 - sig((z - 3800.0) / 150.0)) + 0.22 * veg_noise
    for t in terraces:
        bx0, by0, bx1, by1 = t.bounds
        rows, cols = grid.window(bx0, bx1, by0, by1)
        inside = shapely.contains_xy(t, X[rows, cols], Y[rows, cols])
        veg[rows, cols] = np.where(inside, 0.3, veg[rows, cols])
    veg = np.clip(np.where(water, 0.0, veg), 0.0, 1.0)

    # DEM error: spatially correlated, larger under forest canopy and on steep ground.
    dem_err = power_law_field((ny, nx), 2.5, rng, p, dtype=np.float64)
    dem_err *= cfg.dem_error_std_m * (0.6 + 0.8 * veg + 0.01 * slope)
    dem_err = np.where(water, 0.0, dem_err)

    # Vectors: river line and reservoir outline.
    river = LineString(np.column_stack([xr_row, grid.y]))
    reservoir = None
    if reservoir_mask.any():
        import rasterio.features

        shapes = [
            shapely.geometry.shape(g)
            for g, v in rasterio.features.shapes(
                reservoir_mask.astype(np.uint8), mask=reservoir_mask, transform=grid.transform
            )
            if v == 1
        ]
        reservoir = shapely.unary_union(shapes).simplify(grid.pixel_size_m)

    return Terrain(
        grid=grid,
        dem=z.astype(np.float32),
        slope=slope.astype(np.float32),
        aspect=aspect.astype(np.float32),
        vegetation=veg.astype(np.float32),
        water=water,
        dem_error=dem_err.astype(np.float32),
        river=river,
        reservoir=reservoir,
        dam=dam,
        terraces=terraces,
        gullies=gullies,
    )
