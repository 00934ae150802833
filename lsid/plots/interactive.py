"""Interactive views (hvPlot and HoloViews with the Bokeh backend): the velocity map with the inventory
overlaid, and displacement series to explore.

- In the static HTML book: the map (pan, zoom, hover over a potential landslide: id, rates, score,
  seen_in) and a series viewer (every landslide's series embedded; click the legend to show or hide
  one), no kernel needed.
- In JupyterLab (a live kernel): :func:`setup` loads the Bokeh extension (and hvPlot's ``.hvplot``
  accessor on xarray objects), then :func:`explorer` as a cell's last expression shows the map with a
  tap tool — click any pixel and its displacement series appears beside the map::

      from lsid.config import load_aoi
      from lsid.inventory import stage as inventory
      from lsid.layout import RunLayout
      from lsid.plots import interactive
      from lsid.sbas.stage import open_deformations

      layout = RunLayout.of(load_aoi("data/aoi/ahai-synthetic.yaml", "cpu"), "runs")
      interactive.setup()
      defo = open_deformations(layout)["ascending"]  # a Deformation with its displacement series
      inv = inventory.load(layout)["ada"]["inventory"]  # or ["model"]: the detector's inventory
      interactive.explorer(defo, inv)  # last expression of the cell

  After :func:`setup` any hvPlot view works as well, e.g. ``defo.velocity.hvplot.image(x="x", y="y",
  cmap="RdBu", aspect="equal")``.

The velocity map is hvPlot's ``image`` of the velocity DataArray (:func:`velocity_image`). The inventory
stays a plain ``hv.Polygons`` in the map's projected metres: hvPlot's ``polygons`` of a GeoDataFrame
needs GeoViews and cartopy, which lsid does not install.

Static pages: :func:`static_setup` returns BokehJS inlined as HTML (display it once, before any
figure), and :func:`show` turns a HoloViews object into plain Bokeh HTML. Why not HoloViews' own
notebook display: it goes through Panel, whose stylesheets are linked from cdn.holoviz.org, so pages
would ask for the network (the offline-book test caught it); plain Bokeh components with inline
resources need nothing. For the same reason this module calls hvPlot through its ``hvPlot`` class
(what the ``.hvplot`` accessor returns) instead of importing ``hvplot.xarray``, whose import loads the
notebook extension into the page.
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
    """JupyterLab: load the Bokeh extension with its JavaScript inlined (the notebook works offline) and
    hvPlot's ``.hvplot`` accessor on xarray objects; returns holoviews. Call it once, before
    :func:`explorer` (not needed for :func:`show`, which embeds plain Bokeh)."""
    import holoviews as hv
    import panel as pn

    pn.config.inline = True  # Panel's CSS too (else its stylesheets are linked from cdn.holoviz.org)
    hv.extension.inline = True
    import hvplot.xarray  # noqa: F401  (registers .hvplot and loads hvPlot's Bokeh extension, inlined)

    return hv


def _hv():
    """holoviews with its Bokeh plotting backend imported (options can be set without a notebook extension)."""
    import holoviews as hv
    import holoviews.plotting.bokeh  # noqa: F401  (registers the backend's options)

    if hv.Store.current_backend != "bokeh":
        hv.Store.set_current_backend("bokeh")
    return hv


def static_setup():
    """BokehJS (inline, no network) as an IPython HTML object: display it once before :func:`show`."""
    from bokeh.resources import INLINE
    from IPython.display import HTML

    return HTML(INLINE.render())


def show(obj):
    """A HoloViews object as static Bokeh HTML (IPython HTML: a div and its script), for pages that must
    work offline without Panel (see the module docstring)."""
    from bokeh.core.validation import silenced
    from bokeh.core.validation.warnings import FIXED_SIZING_MODE
    from bokeh.embed import components
    from IPython.display import HTML

    hv = _hv()
    # an equal-aspect map has a fixed frame (frame_width/height) and no width/height: Bokeh's check would
    # warn on every page, wrongly; hv.save silences the same check
    with silenced(FIXED_SIZING_MODE):
        script, div = components(hv.render(obj, backend="bokeh"))
    return HTML(div + script)


def velocity_image(defo: xr.Dataset, max_px: int = MAX_IMAGE_PX, limit: float | None = None):
    """hvPlot image of the mean LOS velocity against the scene median (mm/yr), block-averaged so that its
    longer edge is at most ``max_px`` pixels; axes in map metres, equal aspect, hover on the pixel value.

    The same as ``v.hvplot.image(x="x", y="y", ...)`` with ``hvplot.xarray`` imported (see the module
    docstring for why the class is called directly)."""
    _hv()
    from hvplot import hvPlot

    v = defo.velocity.where(defo.valid).reset_coords(drop=True)  # no scalar coordinate in the title
    v = (v - float(v.median())).rename("velocity")
    f = max(1, int(np.ceil(max(v.sizes["y"], v.sizes["x"]) / max_px)))
    if f > 1:
        v = v.coarsen(y=f, x=f, boundary="trim").mean()
    limit = limit or max(5.0, float(np.nanpercentile(np.abs(v.values), 99)))
    return hvPlot(v.astype(np.float32)).image(
        x="x", y="y", cmap="RdBu", clim=(-limit, limit), aspect="equal", frame_width=520, colorbar=True,
        clabel="LOS velocity (mm/yr)", xlabel="easting (m)", ylabel="northing (m)", xformatter="%.0f",
        yformatter="%.0f", rot=30, title="")


def inventory_polygons(inv) -> object:
    """hv.Polygons of the inventory's outlines with the hover columns as value dimensions."""
    hv = _hv()

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
    return hv.Polygons(data, vdims=cols).opts(fill_color="yellow", fill_alpha=0.05, line_color="black", line_width=2,
                                              tools=["hover"], hover_fill_alpha=0.4)


def object_series(defo: xr.Dataset, inv) -> dict[str, pd.Series]:
    """Mean displacement series (mm) of the reliable pixels inside each potential landslide, minus the
    median series of a ring around it, keyed by id; the series of an orbit's Deformation."""
    from lsid.inventory.case_study import ring_series
    from lsid.inventory.objects import SceneLayers

    layers = SceneLayers(defo.drop_vars("displacement"))
    t = pd.to_datetime(defo.time.values)
    out = {}
    for _, r in inv.iterrows():
        g = r.geometry
        (ys, xs), inside = layers.mask(g)
        ok_in = inside & np.isfinite(layers.velocity[ys, xs])
        if not ok_in.any():
            continue
        s = np.nanmean(defo.displacement.isel(y=ys, x=xs).values[:, ok_in], axis=1) - ring_series(defo, layers, g)
        out[str(r["id"])] = pd.Series(s - s[0], index=t)
    return out


def series_viewer(defos: dict[str, xr.Dataset], inv, visible: int = 3):
    """One panel per orbit: the mean displacement series (mm, against the ground around the landslide) of
    every potential landslide, all embedded; the first ``visible`` are drawn, the others faint (click
    their legend entries to bring them up)."""
    hv = _hv()

    panels = []
    for o, d in defos.items():
        if "displacement" not in d:
            continue
        per = object_series(d, inv)
        curves = {i: hv.Curve((s.index, s.values), "time", "LOS displacement (mm)").opts(
            muted=k >= visible, muted_alpha=0.05, tools=["hover"]) for k, (i, s) in enumerate(per.items())}
        if curves:
            panels.append(hv.NdOverlay(curves, kdims="landslide").opts(
                title=f"{o}: mean displacement against the surroundings", width=520, height=340,
                legend_position="right", click_policy="mute"))
    return hv.Layout(panels).cols(1) if panels else None


def explorer(defo: xr.Dataset, inv=None):
    """JupyterLab: the velocity map (with the inventory, hover for its columns) and, beside it, the
    displacement series of the last pixel tapped.

    Needs a live kernel: run :func:`setup` once, then make ``explorer(defo, inv)`` the last expression of a
    cell, with ``defo`` an orbit's Deformation that holds its displacement series
    (``lsid.sbas.stage.open_deformations(layout)[orbit]``) and ``inv`` the inventory GeoDataFrame (or
    None). Click the map (the tap tool is on) and the series of that pixel is drawn. In static HTML the
    map alone works (use :func:`velocity_image`, :func:`inventory_polygons` and :func:`show` there)."""
    hv = _hv()
    from holoviews import streams

    img = velocity_image(defo)
    layer = img * inventory_polygons(inv) if inv is not None and len(inv) else img
    tap = streams.Tap(source=img, x=float(defo.x.mean()), y=float(defo.y.mean()))

    def series(x, y):
        s = defo.displacement.sel(x=x, y=y, method="nearest")
        return hv.Curve((pd.to_datetime(defo.time.values), s.values), "time", "LOS displacement (mm)").opts(
            title=f"pixel at ({x:.0f}, {y:.0f}) m", width=500, height=300, tools=["hover"])

    return (layer.opts(frame_width=480, tools=["tap"]) + hv.DynamicMap(series, streams=[tap])).cols(2)


__all__ = ["setup", "static_setup", "show", "velocity_image", "inventory_polygons", "object_series", "series_viewer",
           "explorer", "MAX_IMAGE_PX", "HOVER_COLUMNS"]
