"""From scene detections to an inventory of potential landslides (paper §4.4).

The chain (:func:`build_inventory`), each step in its own module:
1. :mod:`~lsid.inventory.objects`: boxes of one orbit that overlap become one object; each object is
   measured on the rasters (LOS rate against its surroundings, slope, aspect, relief, coherence, the
   orbit's sensitivity to downslope motion).
2. :mod:`~lsid.inventory.checks`: terrain and quality checks in place of the paper's optical
   interpretation (each documented and switchable).
3. :mod:`~lsid.inventory.fusion`: ascending and descending objects on the same ground become one
   potential landslide, ``seen_in`` ascending | descending | both; named H1..Hn.
4. :mod:`~lsid.inventory.decompose`: vertical and east-west rates where both orbits see it, and the
   downslope rate per orbit.
Then :mod:`~lsid.inventory.validate` scores it against a known inventory, and
:mod:`~lsid.inventory.export` writes GeoJSON / GeoPackage / KML / CSV. The non-deep-learning baseline
(:mod:`~lsid.inventory.baseline`, active deformation areas) feeds the same chain.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

from lsid.errors import InputDataError
from lsid.inventory.checks import apply_checks, rejection_table
from lsid.inventory.decompose import asc_desc_to_vertical_horizontal, los_to_downslope
from lsid.inventory.fusion import fuse_orbits
from lsid.inventory.objects import SceneLayers, measure, merge_boxes_to_objects

#: Column suffix of each orbit's measures in the fused inventory.
ORBIT_SUFFIX = {"ascending": "_asc", "descending": "_desc"}


def orbit_objects(det: gpd.GeoDataFrame, layers: SceneLayers, params) -> gpd.GeoDataFrame:
    """One orbit's boxes → checked objects (all of them, with ``passes`` and ``rejected_by``)."""
    objs = merge_boxes_to_objects(det, params.merge_gap_m)
    objs["area_m2"] = objs.geometry.area
    if objs.empty:
        objs["passes"], objs["rejected_by"] = pd.Series(dtype=bool), pd.Series(dtype=object)
        return objs
    objs = objs.join(measure(objs, layers))
    return gpd.GeoDataFrame(apply_checks(objs, params), geometry="geometry", crs=objs.crs)


def build_inventory(detections: dict[str, gpd.GeoDataFrame], defos: dict[str, xr.Dataset], params,
                    layers: dict[str, SceneLayers] | None = None
                    ) -> tuple[gpd.GeoDataFrame, dict[str, gpd.GeoDataFrame]]:
    """Potential landslides from scene detections (boxes or ADA areas) of one or both orbits.

    Parameters
    ----------
    detections : {orbit: GeoDataFrame of boxes} (lsid.detect.scene or lsid.inventory.baseline).
    defos : {orbit: Deformation} the boxes were detected on (velocity, valid, DEM, geometry layers).
    params : the AOI's InventoryConfig (thresholds of the checks, fusion distance, ...).
    layers : the SceneLayers of each orbit, when already made (they hold whole-scene arrays).

    Returns
    -------
    (inventory, objects): the inventory GeoDataFrame (id, seen_in, area_m2, per-orbit rates with
    suffixes _asc/_desc: v_mean, v_p95, v_max (mm/yr against the ring around the object), valid_share,
    coherence, incidence_deg, los_sensitivity, v_downslope; terrain: slope_deg, aspect_deg, relief_m;
    where seen in both: v_up, v_east (mm/yr)), and each orbit's checked objects before fusion.
    """
    crss = {o: d.rio.crs.to_string() if d.rio.crs else None for o, d in defos.items()}
    if len(set(crss.values())) > 1:
        raise InputDataError(f"the tracks are on different CRSs ({crss}); rerun the sbas stage so that both share one "
                             f"(set sbas.working_crs in the AOI file, e.g. EPSG:32647)")
    layers = layers or {o: SceneLayers(d) for o, d in defos.items()}
    objects = {o: orbit_objects(detections[o], layers[o], params) for o in detections if o in layers}
    passed = {o: g[g["passes"].astype(bool)] for o, g in objects.items()}
    inv = fuse_orbits(passed, params.fusion_distance_m)
    inv["area_m2"] = inv.geometry.area
    if inv.empty:
        return inv, objects
    first = True
    for o in defos:
        sfx = ORBIT_SUFFIX.get(o, f"_{o}")
        m = measure(inv, layers[o], suffix=sfx, terrain=True)
        if not first:
            m = m.drop(columns=["slope_deg", "aspect_deg", "relief_m"])
        inv = inv.join(m)
        inv[f"v_downslope{sfx}"] = los_to_downslope(inv[f"v_mean{sfx}"], inv["slope_deg"], inv["aspect_deg"],
                                                    inv[f"incidence_deg{sfx}"], layers[o].heading,
                                                    params.min_downslope_sensitivity)
        first = False
    if {"ascending", "descending"} <= set(defos):
        up, east = asc_desc_to_vertical_horizontal(
            inv["v_mean_asc"], inv["v_mean_desc"], inv["incidence_deg_asc"], layers["ascending"].heading,
            inv["incidence_deg_desc"], layers["descending"].heading)
        both = (inv["seen_in"] == "both").to_numpy()
        inv["v_up"] = np.where(both, up, np.nan)
        inv["v_east"] = np.where(both, east, np.nan)
    return gpd.GeoDataFrame(inv, geometry="geometry", crs=inv.crs), objects


__all__ = ["build_inventory", "orbit_objects", "rejection_table", "ORBIT_SUFFIX"]
