"""Tile images in the two channel modes.

``rendered`` — the paper's input: the deformation map drawn with a fixed diverging colour map (blue
towards / red away from the satellite, as Fig. 8) over a fixed range, as an 8-bit RGB PNG; unreliable
pixels in a neutral grey.

``physical`` — lsid's alternative: three float channels a detector can read as numbers rather than
colours: LOS velocity / range (clipped to [-1, 1]), temporal coherence ([0, 1]) and terrain slope /
SLOPE_SCALE_DEG (clipped to [0, 1]); unreliable pixels are 0 in the velocity channel (the coherence
channel tells they are unreliable). Stored as float16 .npy (channels, rows, cols).

``normalised`` — the pretrained detector's input (:mod:`lsid.corpus`, issue 13): the same three
layers, but the velocity in units of the window's own noise, so that one model reads maps of any
noise level, software and pixel size: z = v / sigma with sigma the robust standard deviation of the
window (1.4826 x MAD, at least NOISE_FLOOR_MM_YR), squashed as sign(z) log(1 + |z|) / log(1 + Z_MAX)
(0 at the window median, ±0.28 at 2 sigma, ±1 from Z_MAX sigma on); coherence and slope as in
``physical``. Float16 .npy too.
"""

from __future__ import annotations

import numpy as np

#: Grey of unreliable pixels in rendered tiles (RGB, 0-255).
NODATA_RGB = (160, 160, 160)
#: Slope (deg) that maps to 1 in the physical slope channel.
SLOPE_SCALE_DEG = 60.0
PHYSICAL_CHANNELS = ("velocity / range", "temporal coherence", f"slope / {SLOPE_SCALE_DEG:g} deg")
#: Noise level (in window standard deviations) at which the normalised velocity channel saturates.
Z_MAX = 50.0
#: Least window noise used to normalise, mm/yr (a map with no noise at all would divide by zero).
NOISE_FLOOR_MM_YR = 0.5
NORMALISED_CHANNELS = (f"signed log(1 + |v / sigma|) / log(1 + {Z_MAX:g})", "temporal coherence",
                       f"slope / {SLOPE_SCALE_DEG:g} deg")
#: The channel modes a TileSet or a scene window can be drawn in.
CHANNEL_MODES = ("rendered", "physical", "normalised")


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


def robust_sigma(v: np.ndarray) -> float:
    """1.4826 x the median absolute deviation of the finite values of ``v`` (mm/yr), at least
    NOISE_FLOOR_MM_YR (also when ``v`` has fewer than two finite values)."""
    vals = v[np.isfinite(v)]
    if vals.size < 2:
        return NOISE_FLOOR_MM_YR
    return max(1.4826 * float(np.median(np.abs(vals - np.median(vals)))), NOISE_FLOOR_MM_YR)


def normalised_channels(v: np.ndarray, tcoh: np.ndarray, slope_deg: np.ndarray) -> np.ndarray:
    """(3, rows, cols) float32 channels of the ``normalised`` mode (see the module docstring); ``v`` in
    mm/yr referred to the window's median, NaN where unreliable (0 in the velocity channel)."""
    z = np.nan_to_num(v / robust_sigma(v))
    vel = np.sign(z) * np.log1p(np.abs(z)) / np.log1p(Z_MAX)
    coh = np.clip(np.nan_to_num(tcoh), 0, 1)
    slope = np.clip(np.nan_to_num(slope_deg) / SLOPE_SCALE_DEG, 0, 1)
    return np.stack([np.clip(vel, -1, 1), coh, slope]).astype(np.float32)


def draw(mode: str, v: np.ndarray, tcoh: np.ndarray, slope_deg: np.ndarray, range_mm_yr: float) -> np.ndarray:
    """One window drawn in channel mode ``mode`` as (3, rows, cols) float32 (rendered: RGB in [0, 1])."""
    if mode == "rendered":
        return render_rgb(v, range_mm_yr).transpose(2, 0, 1).astype(np.float32) / 255.0
    if mode == "physical":
        return physical_channels(v, tcoh, slope_deg, range_mm_yr)
    if mode == "normalised":
        return normalised_channels(v, tcoh, slope_deg)
    raise ValueError(f"unknown channel mode {mode!r}: one of {', '.join(CHANNEL_MODES)}")
