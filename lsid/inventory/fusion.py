"""Ascending/descending fusion: one potential landslide per piece of ground, seen in one orbit or both.

Objects of the two orbits that overlap or lie within ``distance_m`` of each other are one landslide
(connected groups of the bipartite "close" graph, so a large body seen as two objects in one orbit and
one in the other stays one). Its outline is the union of the members' outlines; ``seen_in`` is
``ascending``, ``descending`` or ``both``. Names H1..Hn run north to south, then west to east (as a
reader scans the map).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.ops import unary_union


def fuse_orbits(objects: dict[str, gpd.GeoDataFrame], distance_m: float = 100.0) -> gpd.GeoDataFrame:
    """Fuse the checked objects of each orbit (``{"ascending": gdf, "descending": gdf}``, same CRS; an
    orbit may be missing). Returns a GeoDataFrame: id (H1..), seen_in, n_objects_<orbit>,
    score_<orbit> (best member score, NaN where unseen), geometry."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    parts = [g.assign(_orbit=o) for o, g in objects.items() if g is not None and not g.empty]
    crs = next((g.crs for g in objects.values() if g is not None), None)
    cols = ["id", "seen_in"]
    if not parts:
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=[], crs=crs)
    allobj = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=crs)
    grown = allobj.geometry.buffer(distance_m / 2) if distance_m > 0 else allobj.geometry
    left, right = grown.sindex.query(grown.values, predicate="intersects")
    n = len(allobj)
    _, comp = connected_components(coo_matrix((np.ones(len(left)), (left, right)), shape=(n, n)), directed=False)
    rows, geoms = [], []
    for k in np.unique(comp):
        m = allobj.iloc[np.flatnonzero(comp == k)]
        orbits = set(m["_orbit"])
        row = {"seen_in": "both" if len(orbits) == 2 else next(iter(orbits))}
        for o in objects:
            mo = m[m["_orbit"] == o]
            row[f"n_objects_{o}"] = len(mo)
            row[f"score_{o}"] = float(mo["score"].max()) if len(mo) and "score" in mo else float("nan")
        rows.append(row)
        geoms.append(unary_union(list(m.geometry.values)))
    out = gpd.GeoDataFrame(rows, geometry=geoms, crs=crs)
    c = out.geometry.centroid
    order = np.lexsort((c.x.to_numpy(), -c.y.to_numpy()))
    out = out.iloc[order].reset_index(drop=True)
    out.insert(0, "id", [f"H{i + 1}" for i in range(len(out))])
    return out


__all__ = ["fuse_orbits"]
