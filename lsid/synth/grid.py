"""The scene's map grid: pixel-centre coordinates in a projected CRS and its affine transform."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from affine import Affine
from pyproj import CRS, Transformer

from lsid.config import GridConfig


@dataclass(frozen=True)
class Grid:
    """A north-up raster grid. ``x`` (east) and ``y`` (north) are pixel-centre map coordinates, m."""

    crs: CRS
    x: np.ndarray
    y: np.ndarray
    pixel_size_m: float

    @classmethod
    def from_config(cls, cfg: GridConfig) -> "Grid":
        """Centre the grid on (center_lon, center_lat), snapped to whole pixels."""
        crs = CRS.from_user_input(cfg.crs)
        if not crs.is_projected:
            raise ValueError(f"grid.crs must be a projected CRS in metres (e.g. a UTM zone), got {cfg.crs}")
        to_map = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        cx, cy = to_map.transform(cfg.center_lon, cfg.center_lat)
        ny, nx = cfg.shape
        p = cfg.pixel_size_m
        x0 = np.round((cx - nx * p / 2) / p) * p
        y0 = np.round((cy + ny * p / 2) / p) * p
        x = x0 + (np.arange(nx) + 0.5) * p
        y = y0 - (np.arange(ny) + 0.5) * p
        return cls(crs=crs, x=x, y=y, pixel_size_m=p)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.y.size, self.x.size)

    @property
    def transform(self) -> Affine:
        """GDAL-style affine transform of the top-left pixel corner."""
        p = self.pixel_size_m
        return Affine(p, 0.0, self.x[0] - p / 2, 0.0, -p, self.y[0] + p / 2)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in map metres."""
        p = self.pixel_size_m
        return (self.x[0] - p / 2, self.y[-1] - p / 2, self.x[-1] + p / 2, self.y[0] + p / 2)

    def lonlat_bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) in degrees (WGS 84)."""
        to_ll = Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)
        return to_ll.transform_bounds(*self.bounds)

    def rowcol(self, x, y):
        """Fractional (row, col) of map coordinates."""
        p = self.pixel_size_m
        return (self.y[0] - np.asarray(y)) / p, (np.asarray(x) - self.x[0]) / p

    def window(self, x_min, x_max, y_min, y_max, pad: int = 1) -> tuple[slice, slice]:
        """Row and column slices covering a map box, clipped to the grid."""
        r0, c0 = self.rowcol(x_min, y_max)
        r1, c1 = self.rowcol(x_max, y_min)
        ny, nx = self.shape
        rows = slice(max(int(np.floor(r0)) - pad, 0), min(int(np.ceil(r1)) + pad + 1, ny))
        cols = slice(max(int(np.floor(c0)) - pad, 0), min(int(np.ceil(c1)) + pad + 1, nx))
        return rows, cols
