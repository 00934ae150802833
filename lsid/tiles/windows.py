"""Tile windows on a raster grid, their georeferencing, and the ground blocks of the spatial split."""

from __future__ import annotations

from affine import Affine

from lsid.errors import InputDataError


def tile_origins(shape: tuple[int, int], size: int, stride: int | None = None) -> list[tuple[int, int]]:
    """Top-left (row, col) of every full ``size`` x ``size`` window with step ``stride`` (default
    ``size``: no overlap). Partial windows at the right and bottom edges are left out (padding them
    would teach the detector that the scene's edge is a feature)."""
    ny, nx = shape
    stride = stride or size
    if size > ny or size > nx:
        raise InputDataError(f"tiles of {size} x {size} px do not fit in the scene ({ny} x {nx} px): set a smaller "
                             f"tiles.size in the AOI file (at most {min(ny, nx)})")
    return [(r, c) for r in range(0, ny - size + 1, stride) for c in range(0, nx - size + 1, stride)]


def window_transform(transform: Affine, row: int, col: int) -> Affine:
    """Affine transform of the window whose top-left pixel is (row, col) of a grid with ``transform``."""
    return transform * Affine.translation(col, row)


def window_bounds(transform: Affine, row: int, col: int, size: int) -> tuple[float, float, float, float]:
    """(minx, miny, maxx, maxy) of a window in map coordinates."""
    t = window_transform(transform, row, col)
    xs, ys = zip(*(t * (c, r) for r, c in ((0, 0), (0, size), (size, 0), (size, size))))
    return min(xs), min(ys), max(xs), max(ys)


def blocks_touched(row: int, col: int, size: int, block_px: int) -> list[tuple[int, int]]:
    """Ground blocks (block_px x block_px, from the grid origin) a window overlaps."""
    rows = range(row // block_px, (row + size - 1) // block_px + 1)
    cols = range(col // block_px, (col + size - 1) // block_px + 1)
    return [(r, c) for r in rows for c in cols]


def home_block(row: int, col: int, size: int, block_px: int) -> tuple[int, int]:
    """The block that holds a window's centre pixel."""
    return int((row + size // 2) // block_px), int((col + size // 2) // block_px)


__all__ = ["tile_origins", "window_transform", "window_bounds", "blocks_touched", "home_block"]
