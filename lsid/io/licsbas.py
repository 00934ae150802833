"""LiCSBAS time-series results (a ``TS_GEOCml*`` folder) read into a Deformation, so that a user who
ran LiCSBAS on LiCSAR interferograms enters lsid after the SBAS stage.

LiCSBAS's layout (Morishita et al. 2020; what ``LiCSBAS13_sb_inv.py`` .. ``LiCSBAS16_filt_ts.py``
write):

- ``info/EQA.dem_par``: the grid, GAMMA style: ``width``, ``nlines``, ``corner_lat``/``corner_lon``
  (centre of the upper-left pixel, degrees, WGS 84), ``post_lat``/``post_lon`` (pixel steps, degrees).
- ``results/<name>``: raw little-endian float32 rasters of ``nlines x width``: ``vel`` (mm/yr),
  ``vel.mskd`` (masked), ``vel.filt`` / ``vel.filt.mskd`` (after the spatio-temporal filter of step
  16, which removes most atmospheric noise), ``vstd`` (mm/yr), ``coh_avg`` (mean coherence of the
  interferograms), ``hgt`` (m), ``mask`` (1 = kept by step 15, 0 = masked).
- ``info/13parameters.txt`` (``wavelength`` in m), ``info/13used_image.txt`` (dates, YYYYMMDD),
  ``info/13ref.txt`` / ``info/16ref.txt`` (reference window ``x1:x2/y1:y2`` in pixels, end exclusive).
- ``cum.h5`` / ``cum_filt.h5`` (optional): ``cum`` (date, line, column) cumulative LOS displacement,
  mm, ``imdates`` (YYYYMMDD integers).
- the LOS unit vectors ``E.geo``, ``N.geo``, ``U.geo`` (ground to satellite) of the matching
  ``GEOCml*`` folder beside the ``TS_`` folder, when present.

Sign: LiCSBAS's displacement and velocity are positive towards the satellite (uplift seen as
positive), lsid's convention: values are used as they are.

No data: LiCSBAS writes NaN. A ``nodata`` value (the AOI key ``inputs.<orbit>.nodata``) is read as NaN
too, in every raster but ``mask`` and in the time series. The velocity is then checked for
plausibility (:mod:`lsid.io.plausibility`: undeclared -9999 / -32768 / 0, a spread that does not fit
mm/yr, a grid outside the globe).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
import rioxarray  # noqa: F401
import xarray as xr
from affine import Affine

from lsid.constants import SENTINEL1_ORBITS, SENTINEL1_WAVELENGTH_M
from lsid.errors import InputDataError
from lsid.geometry import heading_from_los_azimuth
from lsid.io.deformation import deformation_dataset, pixel_centres
from lsid.io.geotiff import orbit_from_frame_id, orbit_from_heading
from lsid.io.plausibility import check_grid, check_nodata, check_velocity_units, mask_nodata, require_values

log = logging.getLogger(__name__)

#: Velocity files tried in this order when none is named: the filtered and masked one first (least
#: atmospheric noise, unreliable pixels removed), the raw unmasked one last.
VELOCITY_PRODUCTS = ("vel.filt.mskd", "vel.mskd", "vel.filt", "vel")


def _params(path: Path) -> dict[str, str]:
    """``key: value`` lines of a GAMMA / LiCSBAS parameter file (first word of the value)."""
    out = {}
    for line in path.read_text(errors="replace").splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            if v.split():
                out[k.strip()] = v.split()[0]
    return out


def read_grid(folder: Path) -> tuple[int, int, Affine]:
    """(lines, width, affine transform of the pixel edges) from ``info/EQA.dem_par``."""
    par = folder / "info" / "EQA.dem_par"
    if not par.is_file():
        raise InputDataError(f"{folder}: not a LiCSBAS time-series folder (no info/EQA.dem_par); give the "
                             f"TS_GEOCml* folder that LiCSBAS13-16 wrote")
    p = _params(par)
    try:
        width, lines = int(p["width"]), int(p["nlines"])
        lat0, lon0 = float(p["corner_lat"]), float(p["corner_lon"])
        dlat, dlon = float(p["post_lat"]), float(p["post_lon"])
    except (KeyError, ValueError) as exc:
        raise InputDataError(f"{par}: missing or unreadable grid parameter ({exc}); the file should hold "
                             f"width, nlines, corner_lat, corner_lon, post_lat, post_lon") from None
    # corner_* is the centre of the upper-left pixel (grid registration): the edge is half a step away
    return lines, width, Affine(dlon, 0.0, lon0 - dlon / 2, 0.0, dlat, lat0 - dlat / 2)


def read_raster(path: Path, lines: int, width: int) -> np.ndarray:
    """One LiCSBAS raster (raw little-endian float32, ``lines x width``)."""
    expected = lines * width * 4
    size = path.stat().st_size
    if size != expected:
        raise InputDataError(f"{path}: {size} bytes, expected {expected} (float32, {lines} x {width} from "
                             f"info/EQA.dem_par): the file is damaged or belongs to another grid")
    return np.fromfile(path, dtype="<f4").reshape(lines, width).astype(np.float32)


def _reference(folder: Path, filtered: bool, transform: Affine) -> dict:
    """Reference window of the time series (pixels, end exclusive) and its centre in map coordinates."""
    for name in (("16ref.txt", "13ref.txt") if filtered else ("13ref.txt",)):
        f = folder / "info" / name
        m = re.search(r"(\d+):(\d+)/(\d+):(\d+)", f.read_text()) if f.is_file() else None
        if m:
            x1, x2, y1, y2 = map(int, m.groups())
            x, y = transform * ((x1 + x2) / 2, (y1 + y2) / 2)
            return {"reference_x": float(x), "reference_y": float(y), "reference_window_px": f"{x1}:{x2}/{y1}:{y2}"}
    return {"reference_x": np.nan, "reference_y": np.nan}


def _geometry(folder: Path, lines: int, width: int, nodata: float | None = None) -> dict[str, np.ndarray] | None:
    """LOS unit vectors (east, north, up; ground to satellite) of the GEOCml folder beside ``folder``
    (``nodata`` read as NaN)."""
    geoc = folder.parent / folder.name.removeprefix("TS_")
    files = [geoc / f"{c}.geo" for c in "ENU"]
    if folder.name.startswith("TS_") and all(f.is_file() for f in files):
        try:
            return dict(zip("ENU", (mask_nodata(read_raster(f, lines, width), nodata) for f in files), strict=True))
        except InputDataError as exc:
            log.warning("%s; incidence and heading from the arguments instead", exc)
    return None


def _time_series(folder: Path, filtered: bool, lines: int, width: int, wanted: bool, nodata: float | None = None):
    """(dates, lazy displacement array, path) from cum_filt.h5 / cum.h5 (``nodata`` read as NaN), or
    None when absent or not wanted."""
    if not wanted:
        return None
    import dask.array as dsa
    import h5py

    for name in (("cum_filt.h5", "cum.h5") if filtered else ("cum.h5",)):
        path = folder / name
        if not path.is_file():
            continue
        try:
            f = h5py.File(path, "r")
        except OSError as exc:
            raise InputDataError(f"{path}: cannot be read as HDF5 ({exc}): the file is damaged") from None
        if "cum" not in f or "imdates" not in f:
            raise InputDataError(f"{path}: not a LiCSBAS cum.h5 (it needs the datasets cum and imdates)")
        cum = f["cum"]
        if cum.shape[1:] != (lines, width):
            raise InputDataError(f"{path}: cum is {cum.shape[1]} x {cum.shape[2]}, the grid of info/EQA.dem_par "
                                 f"is {lines} x {width}")
        dates = pd.to_datetime([str(int(d)) for d in f["imdates"][()]], format="%Y%m%d").values.astype("datetime64[ns]")
        # lazily: a whole frame's series can be many GB; the open h5py dataset backs the dask array
        series = dsa.from_array(cum, chunks=(cum.shape[0], min(lines, 512), min(width, 512)))
        return dates, mask_nodata(series, nodata), path
    return None


def open_licsbas(folder: str | Path, product: str | None = None, orbit: str | None = None,
                 incidence: float | None = None, heading: float | None = None,
                 time_series: bool = True, nodata: float | None = None) -> xr.Dataset:
    """Read a LiCSBAS ``TS_GEOCml*`` folder into a Deformation (module docstring for the layout).

    Parameters
    ----------
    folder : the ``TS_GEOCml*`` folder.
    product : velocity file in ``results/`` (default: the first present of ``VELOCITY_PRODUCTS``).
    orbit : ``ascending`` or ``descending``; inferred from a LiCSAR frame id in the path (``124D_...``)
        or from the LOS vectors when not given.
    incidence, heading : deg; used when the LOS vectors (``GEOCml*/U.geo`` ...) are absent. Without
        either, Sentinel-1's nominal values for the orbit are used, with a warning.
    time_series : read ``cum_filt.h5`` (filtered products) or ``cum.h5`` when present.
    nodata : a value marking missing data besides LiCSBAS's NaN (``inputs.<orbit>.nodata``).

    Returns a Deformation in EPSG:4326 with ``velocity``, ``valid`` and, where the files exist,
    ``velocity_std`` (mm/yr), ``dem`` (m), ``mean_coherence``, ``incidence`` (deg) and ``displacement``
    (time, y, x; mm). With a masked product (``*.mskd``, the default) pixels masked by LiCSBAS
    (``results/mask`` = 0) are not valid; a raw one (``vel``, ``vel.filt``) keeps every pixel with a value.

    Raises InputDataError for a velocity without any value or reliable pixel, or a grid outside the
    globe; warns (InputWarning) about undeclared no-data values and a spread that does not fit mm/yr.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputDataError(f"{folder}: LiCSBAS folder not found")
    lines, width, transform = read_grid(folder)
    check_grid("EPSG:4326", transform, (lines, width), str(folder / "info" / "EQA.dem_par"),
               fix_geographic="Check corner_lat, corner_lon, post_lat and post_lon (decimal degrees) there.")
    results = folder / "results"
    product = _velocity_product(results, product)
    filtered = ".filt" in product
    v, valid, layers = _read_results(results, product, lines, width, nodata)
    attrs_geom = _los_geometry(folder, lines, width, layers, nodata)
    orbit = _orbit(folder, orbit, attrs_geom.get("heading"))
    _check_velocity(results / product, v, valid, orbit)
    attrs_geom = attrs_geom or _given_geometry(folder, orbit, incidence, heading)
    wavelength = _wavelength(folder)
    series = _time_series(folder, filtered, lines, width, time_series, nodata)
    ref_date = "" if series is None else str(np.datetime_as_string(series[0][0], unit="D"))
    y, x = pixel_centres(transform, (lines, width))
    ds = deformation_dataset(
        np.where(valid, v, np.nan).astype(np.float32), valid, y=y, x=x, layers=layers,
        valid_long_name="velocity reliable (LiCSBAS mask and a value)",
        series=None if series is None else series[:2],
        displacement_long_name="cumulative LOS displacement, towards the satellite",
        attrs={"orbit": orbit, "wavelength": wavelength, "source": str(folder),
               "method": f"LiCSBAS ({product})", "velocity_product": product, "reference_date": ref_date,
               **attrs_geom, **_reference(folder, filtered, transform)},
        crs="EPSG:4326", transform=transform)
    log.info("LiCSBAS %s: %d x %d px, %s, %s, %d %% valid", folder, lines, width, product, orbit, 100 * valid.mean())
    return ds


def _velocity_product(results: Path, product: str | None) -> str:
    """The velocity file of ``results/`` to read: ``product`` when it exists, else the first present
    of VELOCITY_PRODUCTS."""
    if product is None:
        product = next((p for p in VELOCITY_PRODUCTS if (results / p).is_file()), None)
        if product is None:
            raise InputDataError(f"{results}: no velocity file ({', '.join(VELOCITY_PRODUCTS)}); run LiCSBAS up to "
                                 f"step 14 (vel) or 16 (vel.filt.mskd)")
    elif not (results / product).is_file():
        have = sorted(p.name for p in results.glob("vel*")) if results.is_dir() else []
        raise InputDataError(f"{results / product}: not found; velocity files there: {', '.join(have) or 'none'}")
    return product


def _check_velocity(path: Path, v: np.ndarray, valid: np.ndarray, orbit: str) -> None:
    """The plausibility of a LiCSBAS velocity (mm/yr) and its reliable pixels ``valid``: a value, a
    reliable pixel (else InputDataError); no undeclared no-data value, a spread that fits mm/yr (else a
    warning)."""
    require_values(v, str(path), "velocity")
    if not valid.any():
        raise InputDataError(f"{path}: no pixel is reliable: LiCSBAS's results/mask masks every pixel that has a "
                             f"value. Use an unmasked product (product: vel.filt or vel), or rerun LiCSBAS15 with "
                             f"looser thresholds.")
    kept = np.where(valid, v, np.nan)
    check_nodata(kept, str(path), orbit, zero=True, declare=None)
    check_velocity_units(kept, str(path), "mm/yr", "LiCSBAS writes mm/yr: check that the file is LiCSBAS's own "
                                                   "velocity (velocity_units does not apply to LiCSBAS folders)")


def _read_results(results: Path, product: str, lines: int, width: int, nodata: float | None = None
                  ) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """(velocity mm/yr, valid, layers) of ``results/``: valid is a value and, for a masked product
    (``*.mskd``), LiCSBAS's ``mask`` = 1; layers ``velocity_std`` (mm/yr), ``dem`` (m; NaN off the
    DEM), ``mean_coherence`` (1), those whose files exist; ``nodata`` read as NaN in all but the mask."""
    v = mask_nodata(read_raster(results / product, lines, width), nodata)
    valid = np.isfinite(v)
    if product.endswith(".mskd") and (results / "mask").is_file():  # a raw product asked for stays unmasked
        valid &= read_raster(results / "mask", lines, width) == 1
    layers = {}
    for name, var in (("vstd", "velocity_std"), ("hgt", "dem"), ("coh_avg", "mean_coherence")):
        if (results / name).is_file():
            layers[var] = mask_nodata(read_raster(results / name, lines, width), nodata)
    if "dem" in layers:  # LiCSBAS writes NaN (and sometimes 0) off the DEM
        layers["dem"] = np.where(np.isfinite(layers["dem"]), layers["dem"], np.nan).astype(np.float32)
    return v, valid, layers


def _los_geometry(folder: Path, lines: int, width: int, layers: dict[str, np.ndarray],
                  nodata: float | None = None) -> dict:
    """Geometry attributes from the LOS unit vectors beside ``folder`` (incidence_angle and heading,
    deg; geometry_source), adding the ``incidence`` layer (deg) to ``layers``; {} without vectors."""
    geom = _geometry(folder, lines, width, nodata)
    if geom is None:
        return {}
    up = np.clip(geom["U"], -1, 1)
    layers["incidence"] = np.rad2deg(np.arccos(up)).astype(np.float32)
    heading_est = heading_from_los_azimuth(np.rad2deg(np.arctan2(geom["E"], geom["N"])))
    return {"incidence_angle": float(np.nanmedian(layers["incidence"])), "heading": heading_est,
            "geometry_source": "LOS unit vectors E/N/U.geo"}


def _orbit(folder: Path, orbit: str | None, heading: float | None) -> str:
    """The orbit: the one recorded (LiCSAR frame id in the path, else the LOS vectors' ``heading``,
    deg), which a given ``orbit`` must agree with, else the given one."""
    recorded = orbit_from_frame_id(folder) or orbit_from_heading(heading)
    if orbit and recorded and orbit != recorded:
        raise InputDataError(f"{folder}: the data are {recorded} (frame id or LOS vectors), but were given as {orbit}; "
                             f"put them under inputs.{recorded} in the AOI file")
    orbit = orbit or recorded
    if orbit not in SENTINEL1_ORBITS:
        raise InputDataError(f"{folder}: cannot tell the orbit (no LiCSAR frame id such as 124D_04854_171313 in "
                             f"the path, no LOS vectors); give orbit: ascending or descending")
    return orbit


def _given_geometry(folder: Path, orbit: str, incidence: float | None, heading: float | None) -> dict:
    """Geometry attributes without LOS vectors: the given incidence / heading (deg), each missing one
    Sentinel-1's nominal value for the orbit (with a warning)."""
    nominal = SENTINEL1_ORBITS[orbit]
    if incidence is None or heading is None:
        log.warning("%s: no LOS vectors (GEOCml*/E.geo, N.geo, U.geo) and no incidence/heading given: "
                    "using Sentinel-1's nominal %s geometry", folder, orbit)
    return {"incidence_angle": float(incidence if incidence is not None else nominal["incidence_deg"]),
            "heading": float(heading if heading is not None else nominal["heading_deg"]),
            "geometry_source": "arguments" if incidence is not None and heading is not None
            else "Sentinel-1 nominal"}


def _wavelength(folder: Path) -> float:
    """Radar wavelength (m) from ``info/13parameters.txt``, else Sentinel-1's."""
    par13 = folder / "info" / "13parameters.txt"
    if par13.is_file() and "wavelength" in (p := _params(par13)):
        return float(p["wavelength"])
    return SENTINEL1_WAVELENGTH_M


__all__ = ["VELOCITY_PRODUCTS", "open_licsbas", "read_grid", "read_raster"]
