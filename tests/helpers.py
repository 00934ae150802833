"""Shared helpers of the tests: project paths and tiny synthetic inputs. Tests import from here,
never from conftest.py or from one another."""

from pathlib import Path

import geopandas as gpd
import numpy as np
import xarray as xr
from affine import Affine
from shapely.geometry import box

from lsid.geometry import project_to_los

ROOT = Path(__file__).resolve().parents[1]
AOI = ROOT / "data" / "aoi" / "ahai-synthetic.yaml"
REALDATA = ROOT.parent / "shared" / "realdata"

CRS = "EPSG:32647"
PIX = 30.0
X0, Y0 = 600000.0, 3050000.0
HEADINGS = {"ascending": (42.5, -10.0), "descending": (39.9, -170.0)}


def deformation(orbit="ascending", shape=(120, 100), dem=None, seed=0, motion=None, ramp=0.0, noise=1.0):
    """A tiny Deformation: noise (mm/yr), an optional east-west ramp, and ``motion`` = list of
    ((r0, r1, c0, c1), (east, north, up) mm/yr) blocks projected into this orbit's LOS."""
    rng = np.random.default_rng(seed)
    inc, head = HEADINGS[orbit]
    v = rng.normal(0, noise, shape).astype(np.float32) + ramp * np.linspace(-1, 1, shape[1])[None, :]
    for (r0, r1, c0, c1), enu in motion or []:
        v[r0:r1, c0:c1] += project_to_los(*enu, inc, head)
    y = Y0 - PIX * (np.arange(shape[0]) + 0.5)
    x = X0 + PIX * (np.arange(shape[1]) + 0.5)
    ds = xr.Dataset({"velocity": (("y", "x"), v), "valid": (("y", "x"), np.ones(shape, bool)),
                     "temporal_coherence": (("y", "x"), np.full(shape, 0.9, np.float32)),
                     "incidence": (("y", "x"), np.full(shape, inc, np.float32))},
                    coords={"y": y, "x": x}, attrs={"orbit": orbit, "incidence_angle": inc, "heading": head})
    if dem is not None:
        ds["dem"] = (("y", "x"), dem.astype(np.float32))
    ds.rio.write_crs(CRS, inplace=True)
    ds.rio.write_transform(Affine(PIX, 0, X0, 0, -PIX, Y0), inplace=True)
    return ds


def slope_dem(shape=(120, 100), slope_deg=25.0, aspect="east"):
    """A plane falling towards the east (aspect 90) with the given slope; flat where slope is 0."""
    cols = np.arange(shape[1]) * PIX
    z = 3000 - np.tan(np.deg2rad(slope_deg)) * cols
    return np.broadcast_to(z, shape).copy()


def boxes(orbit, rects, scores=None, model="m"):
    """Detections in scene pixel rectangles (r0, r1, c0, c1)."""
    geoms = [box(X0 + c0 * PIX, Y0 - r1 * PIX, X0 + c1 * PIX, Y0 - r0 * PIX) for r0, r1, c0, c1 in rects]
    return gpd.GeoDataFrame({"orbit": orbit, "model": model, "score": scores or [0.9] * len(rects)},
                            geometry=geoms, crs=CRS)
