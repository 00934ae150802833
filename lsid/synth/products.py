"""Datasets and tables of a synthetic scene in lsid's contracts (Stack, truth layers, truth polygons)."""

from __future__ import annotations

import dask
import dask.array as da
import geopandas as gpd
import numpy as np
import pandas as pd
import rioxarray  # noqa: F401  (registers .rio)
import xarray as xr

from lsid.constants import PHASE_SIGN_LSID
from lsid.synth.interferograms import OrbitSimulator
from lsid.synth.scene import Scene

#: |LOS velocity| (mm/yr) below which a landslide counts as nearly invisible in a track.
VISIBILITY_FLOOR_MM_YR = 5.0


def _coords(scene: Scene) -> dict:
    g = scene.grid
    return {
        "y": ("y", g.y, {"standard_name": "projection_y_coordinate", "long_name": "northing", "units": "m"}),
        "x": ("x", g.x, {"standard_name": "projection_x_coordinate", "long_name": "easting", "units": "m"}),
    }


def _georef(ds: xr.Dataset, scene: Scene) -> xr.Dataset:
    ds = ds.rio.write_crs(scene.grid.crs.to_wkt(), inplace=True)
    return ds.rio.write_transform(scene.grid.transform, inplace=True)


def _common_attrs(scene: Scene) -> dict:
    a = scene.aoi
    return {
        "Conventions": "CF-1.8",
        "title": a.title if "synthetic" in a.title.lower() else f"{a.title or a.name} (synthetic)",
        "synthetic": "yes: made by lsid.synth, not real radar data",
        "aoi": a.name,
        "profile": a.profile,
        "seed": a.seed,
        "pixel_size_m": scene.grid.pixel_size_m,
    }


def stack_dataset(sim: OrbitSimulator) -> xr.Dataset:
    """The interferogram Stack of one track (lazy: pairs are computed when read or written).

    Follows the Stack contract of docs/design.md: ``unwrapped_phase`` (pair, y, x) rad, ``coherence``
    (pair, y, x) in [0, 1], pair coordinates ``reference_date``, ``secondary_date``, ``bperp``, and
    geometry layers ``dem``, ``incidence``, ``azimuth``.
    """
    scene = sim.scene
    ny, nx = scene.grid.shape
    n = len(sim.pairs)
    # Readable, stable task names (the writer streams the pairs in order; see lsid.io.netcdf).
    tag = f"{scene.aoi.name}-{scene.aoi.profile}-{scene.aoi.seed}-{sim.orbit}"
    blocks = [dask.delayed(sim.pair, pure=False, traverse=False)(k, dask_key_name=f"pair-{tag}-{k:05d}")
              for k in range(n)]
    phase = da.stack([da.from_delayed(b[0], (ny, nx), np.float32, name=f"phase-{tag}-{k:05d}")
                      for k, b in enumerate(blocks)]) if n else da.zeros((0, ny, nx), np.float32)
    coh = da.stack([da.from_delayed(b[1], (ny, nx), np.float32, name=f"coherence-{tag}-{k:05d}")
                    for k, b in enumerate(blocks)]) if n else da.zeros((0, ny, nx), np.float32)
    acq = sim.acq
    dem_used = scene.terrain.dem - scene.terrain.dem_error  # the DEM the processor used
    ds = xr.Dataset(
        {
            "unwrapped_phase": (("pair", "y", "x"), phase, {
                "long_name": "unwrapped interferometric phase", "units": "rad"}),
            "coherence": (("pair", "y", "x"), coh, {
                "long_name": "interferometric coherence (estimate)", "units": "1", "valid_range": [0.0, 1.0]}),
            "dem": (("y", "x"), dem_used.astype(np.float32), {
                "long_name": "digital elevation model used in processing", "units": "m"}),
            "incidence": (("y", "x"), sim.incidence, {"long_name": "incidence angle", "units": "deg"}),
            "azimuth": (("y", "x"), sim.azimuth, {
                "long_name": "azimuth of the ground-to-satellite line of sight, clockwise from north", "units": "deg"}),
        },
        coords={
            **_coords(scene),
            "reference_date": ("pair", sim.reference_dates.astype("datetime64[D]"),
                               {"long_name": "reference (earlier) acquisition date"}),
            "secondary_date": ("pair", sim.secondary_dates.astype("datetime64[D]"),
                               {"long_name": "secondary (later) acquisition date"}),
            "bperp": ("pair", sim.pair_bperp, {"long_name": "perpendicular baseline", "units": "m"}),
        },
        attrs={
            **_common_attrs(scene),
            "wavelength": acq.wavelength_m,
            "orbit": sim.orbit,
            "incidence_angle": sim.ocfg.incidence_deg,
            "heading": sim.ocfg.heading_deg,
            "platform": "Sentinel-1 (synthetic)",
            "source": "lsid.synth",
            "phase_sign": PHASE_SIGN_LSID,
            "slant_range_m": acq.slant_range_m,
        },
    )
    return _georef(ds, scene)


def truth_dataset(sim: OrbitSimulator) -> xr.Dataset:
    """True LOS velocity (mm/yr) and displacement time series (mm, relative to the first date) of
    one track, all sources and landslides only (lazy displacement)."""
    scene = sim.scene
    ny, nx = scene.grid.shape
    tag = f"{scene.aoi.name}-{scene.aoi.profile}-{scene.aoi.seed}-{sim.orbit}"
    blocks = [da.from_delayed(dask.delayed(sim.true_displacement_mm, pure=False)(i,
                                                                                 dask_key_name=f"truth-{tag}-{i:05d}"),
                              (ny, nx), np.float32, name=f"truth-block-{tag}-{i:05d}")
              for i in range(sim.dates.size)]
    ds = xr.Dataset(
        {
            "displacement": (("time", "y", "x"), da.stack(blocks), {
                "long_name": "true LOS displacement since the first date, towards the satellite", "units": "mm"}),
            "velocity": (("y", "x"), sim.true_velocity_mm_yr(), {
                "long_name": "true mean LOS velocity (linear fit over the track's dates), towards the satellite",
                "units": "mm/yr"}),
            "velocity_landslides": (("y", "x"), sim.true_velocity_mm_yr(landslides_only=True), {
                "long_name": "true mean LOS velocity of landslides only", "units": "mm/yr"}),
        },
        coords={**_coords(scene), "time": ("time", sim.dates.astype("datetime64[D]"))},
        attrs={**_common_attrs(scene), "orbit": sim.orbit, "los_positive": "towards the satellite"},
    )
    return _georef(ds, scene)


def terrain_dataset(scene: Scene) -> xr.Dataset:
    """True terrain layers and a raster of landslide labels (0: none, n: n-th truth polygon + 1)."""
    from rasterio.features import rasterize

    t = scene.terrain
    labels = np.zeros(scene.grid.shape, dtype=np.int16)
    shapes = [(s.polygon, i + 1) for i, s in enumerate(scene.sources) if s.is_landslide and s.kind != "reactivated"]
    if shapes:
        labels = rasterize(shapes, out_shape=scene.grid.shape, transform=scene.grid.transform, dtype="int16")
    ds = xr.Dataset(
        {
            "dem": (("y", "x"), t.dem, {"long_name": "true elevation", "units": "m"}),
            "slope": (("y", "x"), t.slope, {"long_name": "terrain slope", "units": "deg"}),
            "aspect": (("y", "x"), t.aspect,
                       {"long_name": "terrain aspect (downhill direction, clockwise from north)", "units": "deg"}),
            "vegetation": (("y", "x"), t.vegetation, {"long_name": "vegetation density", "units": "1"}),
            "water": (("y", "x"), t.water.astype(np.uint8), {"long_name": "water (reservoir or river)", "units": "1"}),
            "dem_error": (("y", "x"), t.dem_error, {"long_name": "error of the processing DEM", "units": "m"}),
            "landslide_label": (("y", "x"), labels, {"long_name": "index+1 of the landslide truth polygon, 0 outside"}),
        },
        coords=_coords(scene),
        attrs=_common_attrs(scene),
    )
    return _georef(ds, scene)


def sources_frame(scene: Scene, sims: dict[str, OrbitSimulator], landslides: bool = True) -> gpd.GeoDataFrame:
    """Truth polygons of landslides (or of distractors) with their 3-D velocity and what each track sees.

    Columns: id, kind, parent, area_m2, rate_mm_yr (mean rate along the motion at the core),
    v_east/v_north/v_up (mm/yr), and per track: los_velocity_<orbit> (mm/yr, linear fit at the core),
    los_sensitivity_<orbit> (|dot(direction, LOS)|) and visible_<orbit> (|LOS velocity| >= floor).
    """
    rates = {orbit: sim.source_los_rates() for orbit, sim in sims.items()}
    rows = []
    for i, s in enumerate(scene.sources):
        if s.is_landslide != landslides:
            continue
        c = s.polygon.centroid
        e, n, u = s.direction
        rec = dict(id=s.id, kind=s.kind, parent=s.parent, area_m2=float(s.polygon.area), rate_mm_yr=s.rate_mm_yr,
                   v_east=e * s.rate_mm_yr, v_north=n * s.rate_mm_yr, v_up=u * s.rate_mm_yr,
                   centre_x=c.x, centre_y=c.y, synthetic=True)
        for k, v in s.params.items():
            rec[k] = v
        for orbit, sim in sims.items():
            r, cc = scene.grid.rowcol(c.x, c.y)
            r = int(np.clip(round(float(r)), 0, scene.grid.shape[0] - 1))
            cc = int(np.clip(round(float(cc)), 0, scene.grid.shape[1] - 1))
            le, ln, lu = (comp[r, cc] for comp in sim.los)
            sens = e * le + n * ln + u * lu
            v_los = float(sens * rates[orbit][i])
            rec[f"los_sensitivity_{orbit}"] = float(abs(sens))
            rec[f"los_velocity_{orbit}"] = v_los
            rec[f"visible_{orbit}"] = bool(abs(v_los) >= VISIBILITY_FLOOR_MM_YR)
        rec["geometry"] = s.polygon
        rows.append(rec)
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=scene.grid.crs) if rows else gpd.GeoDataFrame(
        {"id": pd.Series(dtype=str), "kind": pd.Series(dtype=str)}, geometry=gpd.GeoSeries([], crs=scene.grid.crs))
    return gdf


def features_frame(scene: Scene) -> gpd.GeoDataFrame:
    """Map features for figures: river, reservoir, dam, terraces, gullies."""
    t = scene.terrain
    recs = [dict(feature="river", geometry=t.river), dict(feature="dam", geometry=t.dam)]
    if t.reservoir is not None:
        recs.append(dict(feature="reservoir", geometry=t.reservoir))
    recs += [dict(feature="terrace", geometry=p) for p in t.terraces]
    recs += [dict(feature="gully", geometry=g) for g in t.gullies]
    return gpd.GeoDataFrame(recs, geometry="geometry", crs=scene.grid.crs)
