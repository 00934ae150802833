"""Tile images in the two channel modes.

``rendered`` — the paper's input: the deformation map drawn with a fixed diverging colour map (blue
towards / red away from the satellite, as Fig. 8) over a fixed range, as an 8-bit RGB PNG; unreliable
pixels in a neutral grey.

``physical`` — lsid's alternative: three float channels a detector can read as numbers rather than
colours: LOS velocity / range (clipped to [-1, 1]), temporal coherence ([0, 1]) and terrain slope /
SLOPE_SCALE_DEG (clipped to [0, 1]); unreliable pixels are 0 in the velocity channel (the coherence
channel tells they are unreliable). Stored as float16 .npy (channels, rows, cols).
"""

from __future__ import annotations

import numpy as np

#: Grey of unreliable pixels in rendered tiles (RGB, 0-255).
NODATA_RGB = (160, 160, 160)
#: Slope (deg) that maps to 1 in the physical slope channel.
SLOPE_SCALE_DEG = 60.0
PHYSICAL_CHANNELS = ("velocity / range", "temporal coherence", f"slope / {SLOPE_SCALE_DEG:g} deg")


def render_rgb(v: np.ndarray, range_mm_yr: float) -> np.ndarray:
    """(rows, cols, 3) uint8 image of a velocity map (mm/yr, NaN = unreliable)."""
    from lsid.colors import VELOCITY_CMAP  # here: importing lsid.tiles.render needs no matplotlib

    x = np.clip((np.nan_to_num(v) + range_mm_yr) / (2 * range_mm_yr), 0, 1)
    rgb = (VELOCITY_CMAP(x)[..., :3] * 255 + 0.5).astype(np.uint8)
    rgb[~np.isfinite(v)] = NODATA_RGB
    return rgb


def physical_channels(v: np.ndarray, tcoh: np.ndarray, slope_deg: np.ndarray, range_mm_yr: float) -> np.ndarray:
    """(3, rows, cols) float32 channels (see the module docstring)."""
    vel = np.clip(np.nan_to_num(v / range_mm_yr), -1, 1)
    coh = np.clip(np.nan_to_num(tcoh), 0, 1)
    slope = np.clip(np.nan_to_num(slope_deg) / SLOPE_SCALE_DEG, 0, 1)
    return np.stack([vel, coh, slope]).astype(np.float32)
