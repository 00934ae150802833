"""Shared figure style: colour maps, axes in km, scale bar, and the 'synthetic' stamp."""

from __future__ import annotations

import matplotlib.pyplot as plt

from lsid.colors import VELOCITY_CMAP  # the tiles' colour map too (lsid.tiles.render)

SYNTHETIC_LABEL = "SYNTHETIC DATA (lsid.synth)"


def stamp_synthetic(fig, text: str = SYNTHETIC_LABEL):
    """Label a figure as made from synthetic data, bottom right."""
    fig.text(0.995, 0.005, text, ha="right", va="bottom", fontsize=8, color="0.35", style="italic")


def map_extent(ds) -> list[float]:
    """imshow extent [left, right, bottom, top] of a north-up raster dataset with pixel-centre
    coordinates ``x`` and ``y``."""
    p = float(abs(ds.x[1] - ds.x[0]))
    return [float(ds.x.min()) - p / 2, float(ds.x.max()) + p / 2, float(ds.y.min()) - p / 2, float(ds.y.max()) + p / 2]


def km_axes(ax, extent):
    """Tick labels in km from the scene's lower-left corner."""
    x0, x1, y0, y1 = extent
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{(v - x0) / 1000:.0f}"))
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{(v - y0) / 1000:.0f}"))
    ax.set_xlabel("easting (km)")
    ax.set_ylabel("northing (km)")


def add_scalebar(ax, extent, length_km: float | None = None):
    """A simple scale bar in the lower right corner."""
    x0, x1, y0, y1 = extent
    if length_km is None:
        span = (x1 - x0) / 1000
        length_km = max(1, int(round(span / 4 / 5) * 5)) if span > 20 else max(1, int(span / 4))
    L = length_km * 1000
    xs, ys = x1 - 0.05 * (x1 - x0) - L, y0 + 0.05 * (y1 - y0)
    ax.plot([xs, xs + L], [ys, ys], color="k", lw=3, solid_capstyle="butt")
    ax.text(xs + L / 2, ys + 0.015 * (y1 - y0), f"{length_km} km", ha="center", va="bottom", fontsize=8)


__all__ = ["VELOCITY_CMAP", "SYNTHETIC_LABEL", "stamp_synthetic", "map_extent", "km_axes", "add_scalebar"]
