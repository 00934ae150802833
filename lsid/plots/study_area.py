"""Figures and tables of the study area (paper section 2): Fig. 1 analogue, Table 1, interferograms."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import LightSource, TwoSlopeNorm
from matplotlib.patches import Patch

from lsid import paper
from lsid.geometry import los_azimuth_deg
from lsid.layout import ORBITS, RunLayout, as_layout
from lsid.plots.style import VELOCITY_CMAP, add_scalebar, km_axes, map_extent, stamp_synthetic

#: Dong et al. (2026), Table 1, for the side-by-side table (the numbers are lsid.paper's).
PAPER_TABLE1 = pd.DataFrame(
    {
        o: [paper.SENSOR["platform"], paper.SENSOR["mode"], paper.SENSOR["band"], paper.WAVELENGTH_CM,
            paper.SENSOR["polarisation"], " .. ".join(paper.PERIOD), paper.IMAGES[o], paper.PAIRS_KEPT[o]]
        for o in ORBITS
    },
    index=["platform", "mode", "band", "wavelength (cm)", "polarisation", "period", "images", "pairs kept"],
)


def hillshade(dem: np.ndarray, pixel_size_m: float) -> np.ndarray:
    """Hillshade in [0, 1] lit from the north-west (azimuth 315 deg, altitude 45 deg)."""
    return LightSource(azdeg=315, altdeg=45).hillshade(dem, dx=pixel_size_m, dy=pixel_size_m, vert_exag=1.0)


def _look_arrows(ax, stacks: dict, extent):
    """Flight (thin) and look (thick) direction arrows of each track in the upper-left corner."""
    x0, x1, y0, y1 = extent
    w, h = x1 - x0, y1 - y0
    for i, (orbit, attrs) in enumerate(stacks.items()):
        cx, cy = x0 + 0.14 * w + i * 0.2 * w, y1 - 0.12 * h
        L = 0.06 * min(w, h)
        head = np.deg2rad(attrs["heading"])
        look = np.deg2rad(los_azimuth_deg(attrs["heading"]) + 180.0)  # from the satellite to the ground
        color = "#1f4e9c" if orbit == "ascending" else "#b2182b"
        ax.annotate("", xy=(cx + L * np.sin(head), cy + L * np.cos(head)), xytext=(cx, cy),
                    arrowprops=dict(arrowstyle="->", color=color, lw=1.2))
        ax.annotate("", xy=(cx + 0.8 * L * np.sin(look), cy + 0.8 * L * np.cos(look)), xytext=(cx, cy),
                    arrowprops=dict(arrowstyle="-|>", color=color, lw=2.5))
        ax.text(cx, cy - 0.35 * L, f"{orbit[:3]}.\nθ={attrs['incidence_angle']:.1f}°", color=color, ha="center",
                va="top", fontsize=8, bbox=dict(fc="white", ec="none", alpha=0.7, pad=1))


def fig_study_area(layout: RunLayout | str | Path, figsize=(11, 8.5)):
    """Fig. 1 analogue: hillshaded DEM, river and reservoir, landslide truth, distractors and each
    track's flight and look directions, from a synthetic run (``layout``: its :class:`RunLayout`, or
    the run folder). Returns the matplotlib figure."""
    import xarray as xr

    layout = as_layout(layout)
    terrain = xr.open_dataset(layout.terrain)
    slides = gpd.read_file(layout.true_landslides)
    distractors = gpd.read_file(layout.true_distractors)
    features = gpd.read_file(layout.true_features)
    stacks = {}
    for o in ORBITS:
        with xr.open_dataset(layout.stack(o)) as s:
            stacks[o] = dict(s.attrs)
    extent = map_extent(terrain)
    p = float(abs(terrain.x[1] - terrain.x[0]))
    dem = terrain.dem.values

    fig, axes = plt.subplots(1, 2, figsize=figsize, gridspec_kw=dict(width_ratios=[1.0, 1.0]), layout="constrained")
    ax = axes[0]
    ax.imshow(hillshade(dem, p), cmap="gray", extent=extent, vmin=0, vmax=1)
    im = ax.imshow(dem, cmap="terrain", alpha=0.45, extent=extent)
    fig.colorbar(im, ax=ax, shrink=0.6, label="elevation (m)")
    water = features[features.feature == "reservoir"]
    if len(water):
        water.plot(ax=ax, color="#3a7bd5", alpha=0.8)
    features[features.feature == "river"].plot(ax=ax, color="#3a7bd5", lw=1.2)
    dam = features[features.feature == "dam"]
    dam.plot(ax=ax, color="k", marker="s", markersize=40)
    for _, r in dam.iterrows():
        ax.annotate("dam", (r.geometry.x, r.geometry.y), xytext=(6, -10), textcoords="offset points", fontsize=8)
    _look_arrows(ax, stacks, extent)
    ax.set_title("Terrain, reservoir and radar geometry")
    km_axes(ax, extent)
    add_scalebar(ax, extent)

    ax = axes[1]
    ax.imshow(hillshade(dem, p), cmap="gray", extent=extent, vmin=0, vmax=1)
    kinds = {"landslide": "#d7301f", "ancient": "#fdae61", "reactivated": "#7f0000"}
    for kind, color in kinds.items():
        sub = slides[slides.kind == kind]
        if len(sub):
            sub.plot(ax=ax, facecolor=color, edgecolor="k", lw=0.4, alpha=0.75)
    dcolors = {"terrace_subsidence": "#2c7fb8", "settlement": "#7a0177", "excavation": "#333333", "dam": "#41ab5d"}
    for kind, color in dcolors.items():
        sub = distractors[distractors.kind == kind] if len(distractors) else distractors
        if len(sub):
            sub.plot(ax=ax, facecolor="none", edgecolor=color, lw=1.5, hatch="///")
    for _, r in slides[slides.kind != "landslide"].iterrows():
        c = r.geometry.representative_point()
        ax.annotate(r["id"], (c.x, c.y), fontsize=8, weight="bold", ha="center")
    handles = [Patch(fc=c, ec="k", label=k) for k, c in kinds.items()]
    handles += [Patch(fc="none", ec=c, hatch="///", label=k.replace("_", " ")) for k, c in dcolors.items()]
    ax.legend(handles=handles, loc="lower left", fontsize=8, title="truth (not landslide: hatched)", title_fontsize=8)
    n_sl = int((slides.kind != "reactivated").sum()) if len(slides) else 0
    ax.set_title(f"{n_sl} landslides and {len(distractors)} distractors")
    km_axes(ax, extent)
    stamp_synthetic(fig)
    return fig


def table_acquisitions(layout: RunLayout | str | Path | None = None, stacks: dict | None = None) -> pd.DataFrame:
    """Table 1 analogue, read from the Stacks' own metadata: one column per track. Give either a run's
    :class:`RunLayout` (or folder; its Stacks ``stacks/<orbit>.nc``) or ``stacks`` = {orbit: Stack}."""
    import xarray as xr

    if stacks is None:
        layout = as_layout(layout)
        stacks = {o: xr.open_dataset(layout.stack(o)) for o in ORBITS}
    cols = {}
    for o, s in stacks.items():
        if "reference_date" not in s.coords:  # a Deformation input (velocity GeoTIFF, LiCSBAS)
            has_t = "time" in s.coords and s.sizes.get("time", 0) > 0
            t = s.time.values.astype("datetime64[D]") if has_t else None
            cols[o] = {"platform": s.attrs.get("source"), "method": s.attrs.get("method"),
                       "incidence at centre (deg)": s.attrs.get("incidence_angle"),
                       "heading (deg)": s.attrs.get("heading"),
                       "first date": str(t[0]) if has_t else "", "last date": str(t[-1]) if has_t else "",
                       "images": int(t.size) if has_t else "velocity map only",
                       "pixel size (CRS units)": float(abs(s.x[1] - s.x[0])),
                       "grid (rows x cols)": f"{s.sizes['y']} x {s.sizes['x']}"}
            continue
        dates = np.union1d(s.reference_date.values, s.secondary_date.values).astype("datetime64[D]")
        p = float(abs(s.x[1] - s.x[0]))
        cols[o] = {
            "platform": s.attrs.get("platform", s.attrs.get("source")),
            "wavelength (cm)": round(100 * float(s.attrs["wavelength"]), 3),
            "incidence at centre (deg)": float(s.attrs["incidence_angle"]),
            "heading (deg)": float(s.attrs["heading"]),
            "first date": str(dates[0]),
            "last date": str(dates[-1]),
            "images": int(dates.size),
            "interferograms": int(s.sizes["pair"]),
            "pixel size (CRS units)": p,
            "grid (rows x cols)": f"{s.sizes['y']} x {s.sizes['x']}",
            "median temporal baseline (d)": float(np.median(
                (s.secondary_date.values - s.reference_date.values).astype("timedelta64[D]").astype(int))),
        }
    return pd.DataFrame(cols)


def fig_interferograms(components: dict[str, dict[str, np.ndarray]], extent, titles: dict[str, str] | None = None,
                       figsize=(14, 6.5)):
    """One row per track: deformation, atmosphere, DEM error, noise + unwrapping errors, the total
    unwrapped phase as written (NaN grey) and coherence. ``components[orbit]`` comes from
    :meth:`lsid.synth.OrbitSimulator.pair_components`."""
    parts = ["deformation", "atmosphere", "dem_error", "noise_and_unwrapping", "total", "coherence"]
    fig, axes = plt.subplots(len(components), len(parts), figsize=figsize, layout="constrained", squeeze=False)
    for row, (orbit, comp) in enumerate(components.items()):
        lim = float(np.nanpercentile(np.abs(comp["total"]), 98)) or 1.0
        for col, name in enumerate(parts):
            ax = axes[row, col]
            a = comp[name]
            if name == "coherence":
                im = ax.imshow(a, cmap="gray", vmin=0, vmax=1, extent=extent)
            else:
                cmap = plt.get_cmap("RdBu_r").copy()
                cmap.set_bad("0.7")
                im = ax.imshow(a, cmap=cmap, vmin=-lim, vmax=lim, extent=extent, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(name.replace("_", " "), fontsize=10)
            if col == 0:
                ax.set_ylabel((titles or {}).get(orbit, orbit), fontsize=9)
            if col in (len(parts) - 2, len(parts) - 1):
                fig.colorbar(im, ax=ax, shrink=0.7, label="rad" if name != "coherence" else "")
    stamp_synthetic(fig)
    return fig


def fig_true_velocity(layout: RunLayout | str | Path, figsize=(11, 7.5)):
    """True mean LOS velocity of each track (mm/yr) of a synthetic run (``layout``: its
    :class:`RunLayout`, or the run folder): blue towards, red away from the satellite."""
    import xarray as xr

    layout = as_layout(layout)
    fig, axes = plt.subplots(1, 2, figsize=figsize, layout="constrained")
    slides = gpd.read_file(layout.true_landslides)
    for ax, o in zip(axes, ORBITS, strict=True):
        with xr.open_dataset(layout.truth(o)) as t:
            v = t.velocity.values
            extent = map_extent(t)
        lim = max(float(np.nanpercentile(np.abs(v), 99.9)), 5.0)
        im = ax.imshow(v, cmap=VELOCITY_CMAP, norm=TwoSlopeNorm(0, -lim, lim), extent=extent)
        if len(slides):
            slides.boundary.plot(ax=ax, color="k", lw=0.4)
        fig.colorbar(im, ax=ax, shrink=0.6, label="LOS velocity (mm/yr, + towards satellite)")
        ax.set_title(f"{o}: true LOS velocity")
        km_axes(ax, extent)
    stamp_synthetic(fig)
    return fig
