"""Writing an inventory: GeoJSON, GeoPackage, KML (Google Earth, as the paper used) and a CSV table.

- ``<stem>.geojson``: WGS 84 longitude/latitude (RFC 7946 asks for it; web maps read it as is).
- ``<stem>.gpkg``: the scene's projected CRS (areas and distances in metres), layer ``<stem>``.
- ``<stem>.kml``: WGS 84; each placemark is named by its id and describes its rates and status.
- ``<stem>.csv``: one row per object, every attribute, centre in map coordinates and lon/lat.

All files are written into a temporary folder beside the outputs and moved in place at the end, so a
failure leaves the old files or none, never half a set.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from lsid.io.atomic import disk_full_guard
from lsid.io.temporaries import temporary_path

FORMATS = ("geojson", "gpkg", "kml", "csv")


def _describe(row: pd.Series) -> str:
    parts = []
    for col, label in (("seen_in", "seen in"), ("v_p95_asc", "ascending LOS rate (mm/yr)"),
                       ("v_p95_desc", "descending LOS rate (mm/yr)"), ("v_up", "vertical (mm/yr)"),
                       ("v_east", "east-west (mm/yr)"), ("area_m2", "area (m2)"), ("slope_deg", "slope (deg)"),
                       ("confirmed", "confirmed by the inventory")):
        if col in row and not (isinstance(row[col], float) and np.isnan(row[col])):
            val = row[col]
            parts.append(f"{label}: {val:.1f}" if isinstance(val, float) else f"{label}: {val}")
    return "; ".join(parts)


def table(inv: gpd.GeoDataFrame) -> pd.DataFrame:
    """The inventory as a plain table: attributes, centre x/y (scene CRS) and lon/lat (deg)."""
    c = inv.geometry.centroid
    ll = gpd.GeoSeries(c, crs=inv.crs).to_crs("EPSG:4326") if inv.crs is not None and len(inv) else c
    df = pd.DataFrame(inv.drop(columns="geometry"))
    df["centre_x"], df["centre_y"] = c.x.to_numpy(), c.y.to_numpy()
    df["lon"], df["lat"] = ll.x.to_numpy(), ll.y.to_numpy()
    return df


def gdal_ready(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A copy with boolean columns as 0/1 integers (not every GDAL driver takes booleans)."""
    out = gdf.copy()
    for col in out.columns:
        if out[col].dtype == bool:
            out[col] = out[col].astype(int)
    return out


def write_inventory(inv: gpd.GeoDataFrame, out_dir: str | Path, stem: str = "inventory",
                    formats=FORMATS) -> dict[str, Path]:
    """Write ``inv`` in each of ``formats``; returns {format: path}."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = temporary_path(out_dir / stem)  # lsid's temporary scheme: swept when its writer was killed
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    paths = {}
    try:
        with disk_full_guard(out_dir):  # a full disk says so, not a GDAL error
            flat = gdal_ready(inv)
            wgs = flat.to_crs("EPSG:4326") if flat.crs is not None else flat
            for fmt in formats:
                f = tmp / f"{stem}.{fmt}"
                if fmt == "geojson":
                    wgs.to_file(f, driver="GeoJSON")
                elif fmt == "gpkg":
                    flat.to_file(f, driver="GPKG", layer=stem)
                elif fmt == "kml":
                    k = wgs.copy()
                    k.insert(0, "Name", k["id"].astype(str) if "id" in k else [str(i) for i in range(len(k))])
                    k.insert(1, "Description", [_describe(r) for _, r in inv.iterrows()])
                    k.to_file(f, driver="KML")
                elif fmt == "csv":
                    table(inv).to_csv(f, index=False)
                else:
                    raise ValueError(f"unknown format {fmt!r}: choose from {FORMATS}")
                paths[fmt] = out_dir / f.name
            for _fmt, p in paths.items():
                os.replace(tmp / p.name, p)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return paths


__all__ = ["write_inventory", "gdal_ready", "table", "FORMATS"]
