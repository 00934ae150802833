"""Figures of the SBAS stage (paper section 4.1): network, Fig. 8 velocity maps, velocity vs truth."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import rioxarray  # noqa: F401  (registers .rio)
import xarray as xr
from matplotlib.colors import TwoSlopeNorm

from lsid.plots.style import VELOCITY_CMAP, add_scalebar, km_axes, map_extent, stamp_synthetic
from lsid.sbas.scores import velocity_error


def date_baselines(table: pd.DataFrame) -> pd.Series:
    """Perpendicular baseline (m) of each date relative to the first, solved from the pairs' baselines
    (least squares over the network)."""
    dates = np.union1d(table.reference_date.values, table.secondary_date.values)
    i = np.searchsorted(dates, table.reference_date.values)
    j = np.searchsorted(dates, table.secondary_date.values)
    A = np.zeros((len(table), dates.size))
    A[np.arange(len(table)), i] = -1
    A[np.arange(len(table)), j] = 1
    b = np.linalg.lstsq(A[:, 1:], np.nan_to_num(table.bperp_m.to_numpy(float)), rcond=None)[0]
    return pd.Series(np.concatenate([[0.0], b]), index=pd.to_datetime(dates))


def fig_network(tables: dict[str, pd.DataFrame], figsize=(12, 4.2)):
    """Time-baseline plot of each track's network: kept pairs coloured by mean coherence, dropped pairs
    dashed grey."""
    fig, axes = plt.subplots(1, len(tables), figsize=figsize, layout="constrained", squeeze=False)
    for ax, (orbit, t) in zip(axes[0], tables.items()):
        bp = date_baselines(t)
        cmap = plt.get_cmap("viridis")
        for _, r in t.iterrows():
            x = [r.reference_date, r.secondary_date]
            y = [bp[pd.Timestamp(r.reference_date)], bp[pd.Timestamp(r.secondary_date)]]
            if r.kept:
                ax.plot(x, y, color=cmap(np.clip((r.mean_coherence - 0.2) / 0.6, 0, 1)), lw=0.9)
            else:
                ax.plot(x, y, color="0.6", lw=0.7, ls="--")
        ax.plot(bp.index, bp.values, "o", ms=3.5, color="k", zorder=3)
        ax.set_title(f"{orbit}: {int(t.kept.sum())} of {len(t)} pairs kept, {bp.size} dates")
        ax.set_xlabel("acquisition date")
        ax.set_ylabel("perpendicular baseline (m)")
    sm = plt.cm.ScalarMappable(cmap="viridis", norm=plt.Normalize(0.2, 0.8))
    fig.colorbar(sm, ax=axes[0, -1], label="mean coherence of kept pair")
    return fig


def fig_velocity_maps(defs: dict[str, xr.Dataset], hillshade: np.ndarray | None = None, limit: float | None = None,
                      synthetic: bool = True, figsize=(12, 8)):
    """Fig. 8 analogue: mean LOS velocity of each track (mm/yr) on reliable pixels, blue towards and
    red away from the satellite, over a hillshade; the reference point is marked."""
    fig, axes = plt.subplots(1, len(defs), figsize=figsize, layout="constrained", squeeze=False)
    if limit is None:
        vals = np.concatenate([d.velocity.values[d.valid.values] for d in defs.values()])
        limit = float(np.percentile(np.abs(vals), 99.5)) if vals.size else 10.0
    for ax, (orbit, d) in zip(axes[0], defs.items()):
        extent = map_extent(d)
        if hillshade is not None:
            ax.imshow(hillshade, cmap="gray", extent=extent, vmin=0, vmax=1)
        v = np.where(d.valid.values, d.velocity.values, np.nan)
        im = ax.imshow(v, cmap=VELOCITY_CMAP, norm=TwoSlopeNorm(0, -limit, limit), extent=extent,
                       interpolation="nearest")
        if "reference_x" in d.attrs and np.isfinite(d.attrs["reference_x"]):
            ax.plot(d.attrs["reference_x"], d.attrs["reference_y"], "ks", ms=6, mfc="none", mew=1.5)
        ax.set_title(f"{orbit}: mean LOS velocity")
        crs = d.rio.crs if hasattr(d, "rio") else None
        if crs is not None and crs.is_geographic:
            ax.set_xlabel("longitude (deg)")
            ax.set_ylabel("latitude (deg)")
        else:
            km_axes(ax, extent)
            add_scalebar(ax, extent)
        fig.colorbar(im, ax=ax, shrink=0.6, extend="both", label="LOS velocity (mm/yr), + towards the satellite")
    if synthetic:
        stamp_synthetic(fig)
    return fig


def fig_velocity_vs_truth(defs: dict[str, xr.Dataset], truths: dict[str, xr.Dataset], figsize=(11, 4.8)):
    """Estimated against true LOS velocity on reliable pixels (hexbin density), per track."""
    fig, axes = plt.subplots(1, len(defs), figsize=figsize, layout="constrained", squeeze=False)
    for ax, (orbit, d) in zip(axes[0], defs.items()):
        err = velocity_error(d, truths[orbit])
        tv, ok = err["truth"], err["mask"]
        x, y = tv[ok], d.velocity.values[ok]
        lim = max(float(np.percentile(np.abs(np.r_[x, y]), 99.9)), 10.0)
        ax.hexbin(x, y, gridsize=70, extent=(-lim, lim, -lim, lim), bins="log", cmap="magma_r", mincnt=1)
        ax.plot([-lim, lim], [-lim, lim], "k--", lw=0.8)
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.set_xlabel("true LOS velocity (mm/yr)")
        ax.set_ylabel("SBAS LOS velocity (mm/yr)")
        ax.set_title(f"{orbit}: RMSE {err['rmse_mm_yr']:.1f} mm/yr (moving: {err['rmse_moving_mm_yr']:.1f})")
    stamp_synthetic(fig)
    return fig


def terrain_hillshade(layout) -> np.ndarray | None:
    """Hillshade of a synthetic area's true DEM (``truth/terrain.nc`` of a RunLayout), None without one."""
    from lsid.plots.study_area import hillshade

    if not layout.terrain.exists():
        return None
    with xr.open_dataset(layout.terrain) as t:
        return hillshade(t.dem.values, float(abs(t.x[1] - t.x[0])))
