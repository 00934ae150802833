"""Figures and tables of the whole-scene detection and the potential-landslide inventory (paper §4.2.2,
§4.4, §4.5: Figs. 9, 10, 13-16 analogues)."""

from __future__ import annotations

import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.colors import TwoSlopeNorm
from matplotlib.patches import Rectangle

from lsid import paper
from lsid.constants import WET_SEASON_MONTHS
from lsid.plots.style import VELOCITY_CMAP, add_scalebar, km_axes, map_extent, stamp_synthetic

#: The paper's box counts on the whole scene (Figs. 9-10) and its inventory numbers (§4.4), from lsid.paper.
PAPER_BOXES = paper.SCENE_BOXES
PAPER_INVENTORY = {"potential_landslides": paper.POTENTIAL_LANDSLIDES, "confirmed_share": paper.CONFIRMED_SHARE,
                   "both_orbits": paper.BOTH_ORBITS}
SEEN_COLOURS = {"both": "#6a1b9a", "ascending": "#1b5e20", "descending": "#e65100"}


def _limit(defos: dict[str, xr.Dataset]) -> float:
    vals = np.concatenate([d.velocity.values[d.valid.values] - np.median(d.velocity.values[d.valid.values])
                           for d in defos.values() if d.valid.values.any()] or [np.zeros(1)])
    return max(5.0, float(np.percentile(np.abs(vals), 99.5)))


def _velocity(ax, d: xr.Dataset, limit: float, hillshade=None, extent=None):
    extent = extent or map_extent(d)
    if hillshade is not None:
        ax.imshow(hillshade, cmap="gray", extent=map_extent(d), vmin=0, vmax=1)
    v = np.where(d.valid.values, d.velocity.values, np.nan)
    v = v - np.nanmedian(v)
    return ax.imshow(v, cmap=VELOCITY_CMAP, norm=TwoSlopeNorm(0, -limit, limit), extent=map_extent(d),
                     interpolation="nearest")


def _outlines(ax, gdf: gpd.GeoDataFrame, color="k", lw=1.0, ls="-", label_col: str | None = None, fontsize=7):
    for _, r in gdf.iterrows():
        g = r.geometry
        for poly in getattr(g, "geoms", [g]):
            if poly.is_empty:
                continue
            x, y = poly.exterior.xy
            ax.plot(x, y, color=color, lw=lw, ls=ls)
        if label_col and not g.is_empty:
            minx, miny, maxx, maxy = g.bounds
            ax.text(maxx, maxy, str(r[label_col]), fontsize=fontsize, color=color, ha="left", va="bottom",
                    fontweight="bold")


def fig_scene_boxes(defos: dict[str, xr.Dataset], detections: dict[str, dict[str, gpd.GeoDataFrame]],
                    pretty: dict[str, str] | None = None, hillshade=None, synthetic: bool = True):
    """Figs. 9-10 analogue: each orbit's mean-velocity map (relative to the scene median) with each
    model's scene boxes, models side by side (rows: orbits)."""
    pretty = pretty or {}
    orbits, models = list(defos), list(detections)
    fig, axes = plt.subplots(len(orbits), len(models), figsize=(5.2 * len(models), 6.2 * len(orbits)),
                             layout="constrained", squeeze=False)
    limit = _limit(defos)
    for i, o in enumerate(orbits):
        extent = map_extent(defos[o])
        for j, m in enumerate(models):
            ax = axes[i, j]
            im = _velocity(ax, defos[o], limit, hillshade)
            g = detections[m].get(o)
            n = 0 if g is None else len(g)
            if g is not None:
                for _, r in g.iterrows():
                    x0, y0, x1, y1 = r.geometry.bounds
                    ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec="k", lw=1.0))
            ax.set_title(f"{o}: {pretty.get(m, m)}, {n} boxes")
            km_axes(ax, extent)
            add_scalebar(ax, extent)
        fig.colorbar(im, ax=axes[i, :].tolist(), shrink=0.6, extend="both",
                     label="LOS velocity (mm/yr, against the scene median)")
    if synthetic:
        stamp_synthetic(fig)
    return fig


def table_box_counts(boxes: dict[str, dict[str, int]], pretty: dict[str, str] | None = None) -> pd.DataFrame:
    """Boxes per model and orbit on the whole scene, ours beside the paper's."""
    pretty = pretty or {}
    rows = []
    for m, per in boxes.items():
        for o, n in per.items():
            rows.append({"model": pretty.get(m, m), "orbit": o, "boxes (lsid)": n,
                         "boxes (paper)": PAPER_BOXES.get(m, {}).get(o, np.nan)})
    return pd.DataFrame(rows)


def table_inventories(summaries: dict[str, dict]) -> pd.DataFrame:
    """One row per inventory source (detector, ADA): potential landslides, seen in both orbits,
    confirmed share (precision), recall and F1 of the reference inventory; and the paper's row."""
    rows = []
    for name, s in summaries.items():
        v = s.get("validation", {})
        rows.append({"source": name, "potential landslides": s["potential_landslides"],
                     "seen in both orbits": s["seen_in"]["both"], "confirmed": v.get("n_confirmed", np.nan),
                     "confirmed share (precision)": v.get("precision", np.nan),
                     "recall of the reference": v.get("recall", np.nan), "F1": v.get("f1", np.nan)})
    rows.append({"source": "paper (Dong et al. 2026, field and optical checks)",
                 "potential landslides": PAPER_INVENTORY["potential_landslides"],
                 "seen in both orbits": PAPER_INVENTORY["both_orbits"],
                 "confirmed": round(PAPER_INVENTORY["potential_landslides"] * PAPER_INVENTORY["confirmed_share"]),
                 "confirmed share (precision)": PAPER_INVENTORY["confirmed_share"],
                 "recall of the reference": np.nan, "F1": np.nan})
    return pd.DataFrame(rows)


def fig_inventory_map(defos: dict[str, xr.Dataset], inv: gpd.GeoDataFrame, reference: gpd.GeoDataFrame | None = None,
                      hillshade=None, synthetic: bool = True):
    """Fig. 13 analogue: the potential landslides (outlines coloured by the orbits that see them, named
    H1..Hn) on both orbits' velocity maps; the reference inventory in thin dashed grey."""
    fig, axes = plt.subplots(1, len(defos), figsize=(6.2 * len(defos), 8), layout="constrained", squeeze=False)
    limit = _limit(defos)
    for ax, (o, d) in zip(axes[0], defos.items(), strict=True):
        extent = map_extent(d)
        im = _velocity(ax, d, limit, hillshade)
        if reference is not None and len(reference):
            _outlines(ax, reference, color="0.35", lw=0.6, ls="--")
        for seen, colour in SEEN_COLOURS.items():
            sub = inv[inv["seen_in"] == seen] if len(inv) else inv
            _outlines(ax, sub, color=colour, lw=1.4, label_col="id")
        ax.set_title(f"{o}: potential landslides")
        km_axes(ax, extent)
        add_scalebar(ax, extent)
    handles = [plt.Line2D([], [], color=c, lw=2, label=f"seen in {k}") for k, c in SEEN_COLOURS.items()]
    if reference is not None:
        handles.append(plt.Line2D([], [], color="0.35", lw=0.8, ls="--", label="reference inventory"))
    axes[0, -1].legend(handles=handles, loc="upper right", fontsize=8, framealpha=0.85)
    fig.colorbar(im, ax=axes[0].tolist(), shrink=0.5, extend="both",
                 label="LOS velocity (mm/yr, against the scene median)")
    if synthetic:
        stamp_synthetic(fig)
    return fig


def zoom_window(geom, d: xr.Dataset, margin: float = 0.6, min_size_m: float = 1500.0) -> tuple[slice, slice]:
    """Row/column slices of a square window around ``geom`` (its size plus ``margin`` on each side, at
    least ``min_size_m`` across)."""
    minx, miny, maxx, maxy = geom.bounds
    half = max(maxx - minx, maxy - miny, min_size_m / (1 + 2 * margin)) * (0.5 + margin)
    cx, cy = (minx + maxx) / 2, (miny + maxy) / 2
    xs, ys = d.x.values, d.y.values
    c = np.flatnonzero((xs >= cx - half) & (xs <= cx + half))
    r = np.flatnonzero((ys >= cy - half) & (ys <= cy + half))
    return slice(int(r.min()), int(r.max()) + 1), slice(int(c.min()), int(c.max()) + 1)


def fig_inventory_panel(defos: dict[str, xr.Dataset], inv: gpd.GeoDataFrame, n: int = 6, synthetic: bool = True):
    """Fig. 14 analogue: zooms on the ``n`` fastest potential landslides, each orbit's velocity (against
    the object's surroundings) with the outline."""
    if inv.empty:
        fig, ax = plt.subplots(figsize=(6, 1.5))
        ax.axis("off")
        ax.text(0.5, 0.5, "no potential landslide to show", ha="center", va="center")
        return fig
    rate = np.nanmax(np.abs(inv[[c for c in inv.columns if c.startswith("v_p95")]].to_numpy(dtype=float)), axis=1)
    pick = inv.iloc[np.argsort(-np.nan_to_num(rate))[:n]]
    orbits = list(defos)
    fig, axes = plt.subplots(len(pick), len(orbits), figsize=(3.2 * len(orbits), 3.0 * len(pick)), layout="constrained",
                             squeeze=False)
    for i, (_, r) in enumerate(pick.iterrows()):
        for j, o in enumerate(orbits):
            d = defos[o]
            ys, xs = zoom_window(r.geometry, d)
            sub = d.isel(y=ys, x=xs)
            v = np.where(sub.valid.values, sub.velocity.values, np.nan)
            sfx = "_asc" if o == "ascending" else "_desc"
            v = v - r.get(f"v_ref{sfx}", np.nanmedian(v))
            lim = max(5.0, float(np.nanpercentile(np.abs(v), 99))) if np.isfinite(v).any() else 10.0
            ax = axes[i, j]
            ax.imshow(v, cmap=VELOCITY_CMAP, norm=TwoSlopeNorm(0, -lim, lim), extent=map_extent(sub),
                      interpolation="nearest")
            _outlines(ax, pick.loc[[r.name]], color="k", lw=1.3)
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{r['id']} ({r['seen_in']}): {o}\n"
                         f"{r.get(f'v_p95{sfx}', np.nan):+.0f} mm/yr, ±{lim:.0f} scale",
                         fontsize=8)
            add_scalebar(ax, map_extent(sub), length_km=0.5)
    if synthetic:
        stamp_synthetic(fig)
    return fig


def table_decomposition(inv: gpd.GeoDataFrame) -> pd.DataFrame:
    """Rates of the potential landslides seen in both orbits: LOS (95th percentile and mean, mm/yr), the
    2-D decomposition (vertical, east-west) and the downslope rate per orbit."""
    cols = ["id", "area_m2", "slope_deg", "aspect_deg", "v_mean_asc", "v_mean_desc", "v_up", "v_east",
            "v_downslope_asc", "v_downslope_desc"]
    if inv.empty or "v_up" not in inv:
        return pd.DataFrame(columns=cols)
    t = pd.DataFrame(inv.loc[inv["seen_in"] == "both", [c for c in cols if c in inv]])
    return t.round({"area_m2": 0, "slope_deg": 1, "aspect_deg": 0, "v_mean_asc": 1, "v_mean_desc": 1, "v_up": 1,
                    "v_east": 1, "v_downslope_asc": 1, "v_downslope_desc": 1})


def fig_recall_by_class(tables: dict[str, pd.DataFrame], synthetic: bool = True):
    """Recall of the reference inventory per class, one panel per classification (``tables``: title ->
    DataFrame with columns source, class, objects, recall), one bar per source."""
    fig, axes = plt.subplots(1, len(tables), figsize=(5.5 * len(tables), 3.6), layout="constrained", squeeze=False)
    for ax, (title, t) in zip(axes[0], tables.items(), strict=True):
        sources = list(dict.fromkeys(t["source"]))
        w = 0.8 / max(1, len(sources))
        for k, src in enumerate(sources):
            ts = t[t["source"] == src]
            ax.bar(np.arange(len(ts)) + k * w, ts["recall"].fillna(0), width=w, label=src)
        first = t[t["source"] == sources[0]]
        ax.set_xticks(np.arange(len(first)) + w * (len(sources) - 1) / 2)
        labels = [f"{c}\n(n={n})" for c, n in zip(first["class"].astype(str), first["objects"], strict=True)]
        ax.set_xticklabels(labels, fontsize=8)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("recall")
        ax.set_title(title)
    axes[0, -1].legend(fontsize=8)
    if synthetic:
        stamp_synthetic(fig)
    return fig


def shade_wet_seasons(ax, times: np.ndarray, months=WET_SEASON_MONTHS):
    """Shade each year's wet season (months, default May-October) on a time axis."""
    t = pd.to_datetime(times)
    for year in range(t.min().year, t.max().year + 1):
        start = pd.Timestamp(year=year, month=min(months), day=1)
        end = pd.Timestamp(year=year, month=max(months), day=1) + pd.offsets.MonthEnd(1)
        ax.axvspan(start, end, color="tab:blue", alpha=0.08, lw=0)


__all__ = ["PAPER_BOXES", "PAPER_INVENTORY", "fig_scene_boxes", "table_box_counts", "table_inventories",
           "fig_inventory_map", "fig_inventory_panel", "zoom_window", "table_decomposition", "fig_recall_by_class",
           "shade_wet_seasons"]


# ------------------------------------------------------------------------------------- case study
# (which landslide, which points, their series and the profile are computed by lsid.inventory.case_study)


def fig_case_map(defos: dict[str, xr.Dataset], obj: pd.Series, points: dict[str, list], line, synthetic: bool = True):
    """Fig. 15 analogue: each orbit's velocity around the case-study landslide (against its surroundings),
    its outline, the time-series points (P1..) and the profile line (A-A')."""
    fig, axes = plt.subplots(1, len(defos), figsize=(5.2 * len(defos), 4.8), layout="constrained", squeeze=False)
    for ax, (o, d) in zip(axes[0], defos.items(), strict=True):
        ys, xs = zoom_window(obj.geometry, d, margin=1.0)
        sub = d.isel(y=ys, x=xs)
        v = np.where(sub.valid.values, sub.velocity.values, np.nan)
        v = v - (np.nanmedian(v) if np.isfinite(v).any() else 0)
        lim = max(5.0, float(np.nanpercentile(np.abs(v), 99))) if np.isfinite(v).any() else 10.0
        ext = map_extent(sub)
        im = ax.imshow(v, cmap=VELOCITY_CMAP, norm=TwoSlopeNorm(0, -lim, lim), extent=ext, interpolation="nearest")
        g = obj.geometry
        for poly in getattr(g, "geoms", [g]):
            x, y = poly.exterior.xy
            ax.plot(x, y, "k", lw=1.5)
        ax.plot(*line, "k--", lw=1)
        ax.text(line[0][0], line[1][0], "A", fontweight="bold")
        ax.text(line[0][1], line[1][1], "A'", fontweight="bold")
        for k, (px, py) in enumerate(points.get(o, []), 1):
            ax.plot(px, py, "o", mfc="yellow", mec="k", ms=7)
            ax.annotate(f"P{k}", (px, py), xytext=(4, 4), textcoords="offset points", fontsize=8, fontweight="bold")
        km_axes(ax, ext)
        add_scalebar(ax, ext, length_km=0.5 if (ext[1] - ext[0]) < 4000 else 1)
        ax.set_title(f"{obj['id']}: {o} LOS velocity")
        fig.colorbar(im, ax=ax, shrink=0.8, extend="both", label="mm/yr (against the surroundings)")
    if synthetic:
        stamp_synthetic(fig)
    return fig


def fig_case_series(series: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]], synthetic: bool = True):
    """Fig. 16 analogue: cumulative LOS displacement (mm) at the points inside the landslide, one panel
    per orbit, each year's wet season (May-October) shaded."""
    fig, axes = plt.subplots(len(series), 1, figsize=(10, 3.2 * len(series)), layout="constrained", squeeze=False,
                             sharex=True)
    for ax, (o, pts) in zip(axes[:, 0], series.items(), strict=True):
        times = None
        for name, (t, y) in pts.items():
            ax.plot(pd.to_datetime(t), y, "o-", ms=3, lw=1, label=name)
            times = t
        if times is not None:
            shade_wet_seasons(ax, times)
        ax.axhline(0, color="0.6", lw=0.8)
        ax.set_ylabel(f"{o}\nLOS displacement (mm)")
        ax.legend(fontsize=8, ncol=4, loc="lower left")
    axes[0, 0].set_title("cumulative LOS displacement (+ towards the satellite); shaded: wet season")
    if synthetic:
        stamp_synthetic(fig)
    return fig


def fig_case_profile(profiles: dict[str, tuple[np.ndarray, np.ndarray]],
                     elevation: tuple[np.ndarray, np.ndarray] | None,
                     inside: tuple[float, float] | None = None, synthetic: bool = True):
    """A profile A-A' across the landslide: each orbit's LOS velocity and the terrain elevation."""
    fig, ax = plt.subplots(figsize=(9, 3.6), layout="constrained")
    for o, (dist, v) in profiles.items():
        ax.plot(dist, v, lw=1.5, label=f"{o} LOS velocity")
    if inside is not None:
        ax.axvspan(*inside, color="0.85", zorder=0, label="inside the outline")
    ax.axhline(0, color="0.6", lw=0.8)
    ax.set_xlabel("distance from A along A-A' (m)")
    ax.set_ylabel("LOS velocity (mm/yr)")
    if elevation is not None:
        ax2 = ax.twinx()
        ax2.plot(*elevation, color="saddlebrown", lw=1, ls="--", label="elevation")
        ax2.set_ylabel("elevation (m)", color="saddlebrown")
    ax.legend(fontsize=8, loc="upper right")
    if synthetic:
        stamp_synthetic(fig)
    return fig


__all__ += ["fig_case_map", "fig_case_series", "fig_case_profile"]
