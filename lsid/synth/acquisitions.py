"""Acquisition dates, perpendicular baselines and the small-baseline interferogram network."""

from __future__ import annotations

import datetime as dt

import numpy as np

from lsid.config import OrbitConfig


def acquisition_dates(start: dt.date, end: dt.date, cfg: OrbitConfig, rng: np.random.Generator) -> np.ndarray:
    """``cfg.n_dates`` acquisition dates (datetime64[D]) on a ``cfg.repeat_days`` cycle between
    ``start`` and ``end``, with random gaps (missed acquisitions); the first and last possible dates
    are always kept so the period is covered."""
    slots = np.arange(np.datetime64(start), np.datetime64(end) + 1, np.timedelta64(cfg.repeat_days, "D"))
    n = cfg.n_dates
    if n >= slots.size:
        return slots
    inner = rng.choice(np.arange(1, slots.size - 1), size=n - 2, replace=False)
    keep = np.sort(np.concatenate([[0, slots.size - 1], inner]))
    return slots[keep]


def perpendicular_baselines(n_dates: int, cfg: OrbitConfig, rng: np.random.Generator) -> np.ndarray:
    """Per-date perpendicular baseline (m) relative to the first date: Sentinel-1's narrow orbital
    tube, Gaussian with ``cfg.bperp_std_m``, clipped to +-3 sigma."""
    b = np.clip(rng.normal(0.0, cfg.bperp_std_m, n_dates), -3 * cfg.bperp_std_m, 3 * cfg.bperp_std_m)
    return (b - b[0]).astype(np.float32)


def small_baseline_pairs(bperp: np.ndarray, cfg: OrbitConfig) -> np.ndarray:
    """Pairs (reference index, secondary index), reference earlier: each date with its next
    ``cfg.n_neighbours`` dates (as LiCSAR and HyP3 networks are built), dropping pairs whose
    perpendicular baseline exceeds ``cfg.max_bperp_m`` but always keeping the nearest-neighbour pair
    so the network stays connected."""
    n = bperp.size
    pairs = []
    for i in range(n - 1):
        for j in range(i + 1, min(i + 1 + cfg.n_neighbours, n)):
            if j == i + 1 or abs(float(bperp[j] - bperp[i])) <= cfg.max_bperp_m:
                pairs.append((i, j))
    return np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
