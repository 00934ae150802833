"""Gaussian random fields with a power-law spectrum: fractal terrain roughness and atmospheric
turbulence.

Hand-written because no maintained library makes a seeded 2-D power-law field with a chosen
spectral slope in a few lines of numpy: white noise is shaped in the Fourier domain by
``|k|^(-beta/2)`` so the power spectral density falls as ``|k|^(-beta)``.
"""

from __future__ import annotations

import numpy as np


def smoothstep(e0: float, e1: float, x):
    """Cubic Hermite step: 0 below ``e0``, 1 above ``e1`` (``e1 < e0`` gives the falling step)."""
    t = np.clip((np.asarray(x) - e0) / (e1 - e0), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def power_law_field(
    shape: tuple[int, int],
    beta: float,
    rng: np.random.Generator,
    pixel_size_m: float = 1.0,
    outer_scale_m: float | None = None,
    dtype=np.float32,
) -> np.ndarray:
    """A zero-mean, unit-standard-deviation random field whose 2-D power spectral density falls as
    ``|k|^-beta``.

    Parameters
    ----------
    shape : (ny, nx) pixels.
    beta : spectral exponent (8/3 for Kolmogorov turbulence in a thin layer over the mid-range
        scales of InSAR atmospheric screens, about 3-3.5 for natural topography).
    rng : numpy random generator (the only source of randomness: same state, same field).
    pixel_size_m : pixel size, m (sets the frequency axis; only matters with ``outer_scale_m``).
    outer_scale_m : wavelength (m) above which the spectrum flattens (saturates), or None.

    Returns
    -------
    array of ``shape`` and ``dtype``, mean 0 and standard deviation 1 (exactly, after scaling).
    """
    ny, nx = shape
    noise = rng.standard_normal((ny, nx))
    ky = np.fft.fftfreq(ny, d=pixel_size_m)
    kx = np.fft.rfftfreq(nx, d=pixel_size_m)
    k = np.hypot(ky[:, None], kx[None, :])
    if outer_scale_m is not None:
        k = np.sqrt(k**2 + (1.0 / outer_scale_m) ** 2)
    with np.errstate(divide="ignore"):
        amplitude = np.where(k > 0, k ** (-beta / 2.0), 0.0)
    field = np.fft.irfft2(np.fft.rfft2(noise) * amplitude, s=(ny, nx))
    field -= field.mean()
    std = field.std()
    if std > 0:
        field /= std
    return field.astype(dtype, copy=False)


def radial_power_spectrum(field: np.ndarray, n_bins: int = 30):
    """Radially averaged power spectral density of a 2-D field (for checks and figures).

    Returns ``(k, psd)``: frequencies in cycles per pixel (log-spaced bin centres) and mean power.
    """
    f = np.asarray(field, dtype=float)
    f = f - f.mean()
    power = np.abs(np.fft.rfft2(f)) ** 2
    ky = np.fft.fftfreq(f.shape[0])
    kx = np.fft.rfftfreq(f.shape[1])
    k = np.hypot(ky[:, None], kx[None, :]).ravel()
    power = power.ravel()
    keep = k > 0
    k, power = k[keep], power[keep]
    edges = np.logspace(np.log10(k.min()), np.log10(0.5), n_bins + 1)
    idx = np.digitize(k, edges) - 1
    centres, means = [], []
    for b in range(n_bins):
        sel = idx == b
        if sel.any():
            centres.append(np.sqrt(edges[b] * edges[b + 1]))
            means.append(power[sel].mean())
    return np.asarray(centres), np.asarray(means)
