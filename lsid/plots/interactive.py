"""Interactive views (HoloViews with the Bokeh backend): the velocity map with the inventory overlaid,
and displacement series to explore.

- In the static HTML book: the map (pan, zoom, hover over a potential landslide: id, rates, score,
  seen_in) and a series viewer with a selector over the inventory's landslides (every series is
  embedded in the page, no kernel needed).
- In JupyterLab (a live kernel): :func:`explorer` adds a tap tool — click any pixel and its displacement
  series appears beside the map.

Offline pages need the Bokeh JavaScript inlined: call :func:`setup` (``holoviews.extension.inline =
True`` before the extension loads) before any figure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

#: Largest edge (px) of the velocity image embedded in a page (the map is block-averaged down to it).
MAX_IMAGE_PX = 500
HOVER_COLUMNS = ("id", "seen_in", "v_p95_asc", "v_p95_desc", "v_up", "v_east", "area_m2", "score_ascending",
                 "score_descending", "confirmed")


def setup():
    """Load HoloViews' Bokeh extension with its JavaScript inlined (pages work offline)."""
    import holoviews as hv

    hv.extension.inline = True
    hv.extension("bokeh", logo=False)
    return hv


def velocity_image(defo: xr.Dataset, max_px: int = MAX_IMAGE_PX, limit: float | None = None):
    """hv.Image of the mean LOS velocity against the scene median (mm/yr), block-averaged so that its
    longer edge is at most ``max_px`` pixels; axes in map metres."""
    import holoviews as hv

    v = defo.velocity.where(defo.valid)
    v = v - float(v.median())
    f = max(1, int(np.ceil(max(v.sizes["y"], v.sizes["x"]) / max_px)))
    if f > 1:
        v = v.coarsen(y=f, x=f, boundary="trim").mean()
    limit = limit or max(5.0, float(np.nanpercentile(np.abs(v.values), 99)))
    img = hv.Image((v.x.values, v.y.values, v.values.astype(np.float32)), kdims=["x", "y"], vdims=["velocity"])
    return img.opts(cmap="RdBu", clim=(-limit, limit), colorbar=True, tools=["hover"], data_aspect=1,
                    clabel="LOS velocity (mm/yr)", xlabel="easting (m)", ylabel="northing (m)")


def inventory_polygons(inv) -> object:
    """hv.Polygons of the inventory's outlines with the hover columns as value dimensions."""
    import holoviews as hv

    cols = [c for c in HOVER_COLUMNS if c in inv.columns]
    data = []
    for _, r in inv.iterrows():
        g = r.geometry
        for poly in getattr(g, "geoms", [g]):
            x, y = poly.exterior.xy
            rec = {("x", "y"): np.column_stack([np.asarray(x), np.asarray(y)])}
            for c in cols:
                val = r[c]
                rec[c] = round(float(val), 1) if isinstance(val, (float, np.floating)) else str(val)
            data.append(rec)
    return hv.Polygons(data, vdims=cols).opts(fill_alpha=0.0, line_color="black", line_width=2,
                                              tools=["hover"], hover_fill_alpha=0.2)


def object_series(defo: xr.Dataset, inv) -> dict[str, pd.Series]:
    """Mean displacement series (mm) of the reliable pixels inside each potential landslide, minus the
    median series of a ring around it, keyed by id; the series of an orbit's Deformation."""
    from lsid.inventory.objects import SceneLayers

    layers = SceneLayers(defo.drop_vars("displacement"))
    t = pd.to_datetime(defo.time.values)
    out = {}
    for _, r in inv.iterrows():
        g = r.geometry
        (ys, xs), inside = layers.mask(g)
        (ry, rx), ring = layers.mask(g.buffer(300.0).difference(g))
        ok_in = inside & np.isfinite(layers.velocity[ys, xs])
        if not ok_in.any():
            continue
        block = defo.displacement.isel(y=ys, x=xs).values
        s = np.nanmean(block[:, ok_in], axis=1)
        ok_r = ring & np.isfinite(layers.velocity[ry, rx])
        if ok_r.any():
            s = s - np.nanmedian(defo.displacement.isel(y=ry, x=rx).values[:, ok_r], axis=1)
        out[str(r["id"])] = pd.Series(s - s[0], index=t)
    return out


def series_viewer(defos: dict[str, xr.Dataset], inv):
    """hv.HoloMap: a selector over the inventory's ids, each showing both orbits' mean displacement series
    (mm, against the ground around the landslide). Static: every series is embedded."""
    import holoviews as hv

    per = {o: object_series(d, inv) for o, d in defos.items() if "displacement" in d}
    ids = [i for i in inv["id"].astype(str) if any(i in p for p in per.values())]
    frames = {}
    for i in ids:
        curves = [hv.Curve((p[i].index, p[i].values), "time", "LOS displacement (mm)", label=o).opts(tools=["hover"])
                  for o, p in per.items() if i in p]
        frames[i] = hv.Overlay(curves).opts(title=f"{i}: mean displacement against its surroundings")
    return hv.HoloMap(frames, kdims="landslide").opts(hv.opts.Overlay(width=600, height=300, legend_position="top_left"))


def explorer(defo: xr.Dataset, inv=None):
    """JupyterLab: the velocity map (with the inventory) and, beside it, the displacement series of the
    last pixel tapped (needs a live kernel; in static HTML the map alone works)."""
    import holoviews as hv
    from holoviews import streams

    img = velocity_image(defo)
    layer = img * inventory_polygons(inv) if inv is not None and len(inv) else img
    tap = streams.Tap(source=img, x=float(defo.x.mean()), y=float(defo.y.mean()))

    def series(x, y):
        s = defo.displacement.sel(x=x, y=y, method="nearest")
        return hv.Curve((pd.to_datetime(defo.time.values), s.values), "time", "LOS displacement (mm)").opts(
            title=f"pixel at ({x:.0f}, {y:.0f}) m", width=500, height=300, tools=["hover"])

    return (layer.opts(width=500, height=600, tools=["tap"]) + hv.DynamicMap(series, streams=[tap])).cols(2)


__all__ = ["setup", "velocity_image", "inventory_polygons", "object_series", "series_viewer", "explorer",
           "MAX_IMAGE_PX", "HOVER_COLUMNS"]
