"""MintPy's time-series results read into a Deformation, so that a user who ran ``smallbaselineApp.py``
enters lsid after the SBAS stage (read with h5py; MintPy is not imported).

Files (geocoded: MintPy writes them into ``geo/`` with a ``geo_`` prefix):

- ``velocity.h5``: ``velocity`` and ``velocityStd`` (row, col), m/year;
- ``timeseries*.h5``: ``timeseries`` (date, row, col), m, and ``date`` (YYYYMMDD bytes); after the
  corrections the name grows (``timeseries_ERA5_ramp_demErr.h5``): the longest name is MintPy's final
  product and is taken;
- ``temporalCoherence.h5`` (``temporalCoherence``), ``maskTempCoh.h5`` (``mask``, 1 = reliable),
  ``geometryGeo.h5`` (``height`` m, ``incidenceAngle`` deg, ``azimuthAngle`` deg: the ground-to-
  satellite LOS, counter-clockwise from north).

Attributes: ``X_FIRST``/``Y_FIRST`` (upper-left corner of the grid), ``X_STEP``/``Y_STEP``, ``EPSG`` or
``UTM_ZONE`` (degrees when neither), ``WAVELENGTH`` (m), ``ORBIT_DIRECTION``, ``HEADING`` (deg),
``CENTER_INCIDENCE_ANGLE``, ``REF_X``/``REF_Y`` (reference pixel), ``REF_DATE``.

Sign: MintPy's displacement is positive towards the satellite, as lsid's: values are used as they are
(metres turned into millimetres).

No data: NaN (and 0 in the geometry). A ``nodata`` value (the AOI key ``inputs.<orbit>.nodata``, in the
file's units) is read as NaN too, in every layer but the mask and in the time series. The velocity is
then checked for plausibility (:mod:`lsid.io.plausibility`: undeclared -9999 / -32768 / 0 among the
reliable pixels, a spread that does not fit the UNIT attribute, a grid whose coordinates do not fit
its CRS).
"""

from __future__ import annotations

import logging
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import rioxarray  # noqa: F401
import xarray as xr
from affine import Affine

from lsid.constants import MM_PER_M, SENTINEL1_ORBITS
from lsid.errors import InputDataError
from lsid.geometry import heading_from_los_azimuth
from lsid.io.deformation import deformation_dataset, pixel_centres
from lsid.io.mintpy import CRS_FIX, _attr, _crs
from lsid.io.plausibility import (
    check_grid,
    check_nodata,
    check_velocity_units,
    drop_sentinels,
    mask_nodata,
    require_values,
)

log = logging.getLogger(__name__)


def _pick(folder: Path, stem: str) -> Path | None:
    """``geo_<stem>.h5`` or ``<stem>.h5`` in ``folder``."""
    return next((p for p in (folder / f"geo_{stem}.h5", folder / f"{stem}.h5") if p.is_file()), None)


def find_mintpy_results(path: str | Path) -> dict[str, Path]:
    """The result files of a MintPy run: ``path`` is its work folder (``geo/`` is preferred when
    present) or a velocity file (its siblings are searched). Keys: velocity, and when found
    timeseries, temporal_coherence, mask, geometry."""
    path = Path(path)
    if path.is_file():
        folders = [path.parent]
        found = {"velocity": path}
    elif path.is_dir():
        folders = [path / "geo", path] if (path / "geo").is_dir() else [path]
        found = {}
    else:
        raise InputDataError(f"{path}: MintPy results not found")
    for folder in folders:
        if "velocity" not in found and (v := _pick(folder, "velocity")):
            found["velocity"] = v
        if "velocity" in found and found["velocity"].parent == folder:
            series = sorted(folder.glob("*timeseries*.h5"), key=lambda p: (len(p.name), p.name))
            series = [p for p in series if "timeseriesResidual" not in p.name and "Decor" not in p.name]
            if series:
                found["timeseries"] = series[-1]
            for key, stem in (("temporal_coherence", "temporalCoherence"), ("mask", "maskTempCoh"),
                              ("geometry", "geometryGeo")):
                if p := _pick(folder, stem):
                    found[key] = p
            break
    if "velocity" not in found:
        raise InputDataError(f"{path}: no velocity.h5 or geo/geo_velocity.h5; run MintPy's smallbaselineApp.py up "
                             f"to the velocity step (and geocode), or give the velocity file")
    if "geometry" not in found:
        for g in (path / "inputs" / "geometryGeo.h5", found["velocity"].parent.parent / "inputs" / "geometryGeo.h5"):
            if g.is_file():
                found["geometry"] = g
                break
    return found


def _open(path: Path) -> h5py.File:
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise InputDataError(f"{path}: cannot be read as HDF5 ({exc}): the file is damaged") from None


def _layers(path: Path, names: tuple[str, ...], shape: tuple[int, int], required: bool = True,
            nodata: float | None = None) -> dict[str, np.ndarray]:
    """Datasets ``names`` of one file (opened once), float32 (``nodata`` read as NaN), each checked
    against the velocity grid; a missing one is an error when ``required``, else left out."""
    out = {}
    with _open(path) as f:
        for name in names:
            if name not in f:
                if required:
                    raise InputDataError(f"{path}: no dataset {name!r} (has {', '.join(f)})")
                continue
            a = f[name][()]
            if a.shape != shape:
                raise InputDataError(f"{path}: {name} is {a.shape[0]} x {a.shape[1]}, the velocity grid is {shape[0]} "
                                     f"x {shape[1]}; give files of one MintPy run (all geocoded alike)")
            out[name] = mask_nodata(a.astype(np.float32), nodata)
    return out


def open_mintpy_results(path: str | Path, orbit: str | None = None, time_series: bool = True,
                        nodata: float | None = None) -> xr.Dataset:
    """Read geocoded MintPy results (module docstring) into a Deformation.

    Parameters
    ----------
    path : the MintPy work folder, or its (geo_)velocity.h5.
    orbit : ``ascending`` / ``descending`` when the files do not say (ORBIT_DIRECTION).
    time_series : read the time series (lazily) when a timeseries file is there.
    nodata : a value marking missing data besides NaN, in the files' units (``inputs.<orbit>.nodata``).

    Returns a Deformation in the files' CRS: ``velocity`` / ``velocity_std`` (mm/yr), ``valid`` (a
    value, and MintPy's maskTempCoh where present), ``temporal_coherence``, ``dem`` (m), ``incidence``
    and ``azimuth`` (deg, LOS ground to satellite, clockwise from north), ``displacement`` (mm).

    Raises InputDataError for a velocity without any value or reliable pixel, or a grid whose
    coordinates do not fit its CRS; warns (InputWarning) about undeclared no-data values and a spread
    that does not fit the file's UNIT.
    """
    files = find_mintpy_results(path)
    vpath = files["velocity"]
    attrs, v, layers = _read_velocity(vpath, nodata)
    valid = np.isfinite(v)  # (not v != 0: the reference pixel's velocity is exactly 0)
    extra, mask = _extra_layers(files, v.shape, nodata)
    layers.update(extra)
    if mask is not None:
        valid &= mask
    transform = Affine(float(attrs["X_STEP"]), 0.0, float(attrs["X_FIRST"]),
                       0.0, float(attrs["Y_STEP"]), float(attrs["Y_FIRST"]))
    check_grid(_crs(attrs), transform, v.shape, str(vpath), fix_geographic=CRS_FIX, fix_projected=CRS_FIX)
    y, x = pixel_centres(transform, v.shape)
    series = _series(files["timeseries"], v.shape, nodata) if time_series and "timeseries" in files else None
    ref_date = str(attrs.get("REF_DATE", ""))
    if series is not None:
        ref_date = ref_date or str(np.datetime_as_string(series[0][0], unit="D"))
    if len(ref_date) == 8 and ref_date.isdigit():
        ref_date = f"{ref_date[:4]}-{ref_date[4:6]}-{ref_date[6:]}"
    orbit = _orbit(vpath, orbit, attrs)
    _check_velocity(vpath, v, valid, orbit, str(attrs.get("UNIT", "m/year")))
    ts_name = f", {files['timeseries'].name}" if "timeseries" in files and time_series else ""
    ds = deformation_dataset(
        np.where(valid, v, np.nan).astype(np.float32), valid, y=y, x=x, layers=layers, series=series,
        valid_long_name="velocity reliable (a value, MintPy's maskTempCoh)",
        attrs={"orbit": orbit, "wavelength": float(attrs.get("WAVELENGTH", np.nan)), **_los_attrs(attrs, layers),
               "source": str(vpath), "method": f"MintPy ({vpath.name}{ts_name})", "reference_date": ref_date,
               **_reference_point(attrs, transform)},
        crs=_crs(attrs), transform=transform)
    log.info("MintPy %s: %d x %d px, %s, %d %% valid", vpath, v.shape[0], v.shape[1], orbit, 100 * valid.mean())
    return ds


#: Velocity units MintPy may write, and their factor to mm/yr.
_VELOCITY_SCALE = {"m/year": MM_PER_M, "m/yr": MM_PER_M, "cm/year": 10.0, "cm/yr": 10.0, "mm/year": 1.0, "mm/yr": 1.0}


def _check_velocity(vpath: Path, v: np.ndarray, valid: np.ndarray, orbit: str, unit: str) -> None:
    """The plausibility of a MintPy velocity (mm/yr, from the file's ``unit``) and of its reliable
    pixels ``valid``: a value and a reliable pixel (else InputDataError); no undeclared no-data value, a
    spread that fits the unit (else a warning). Checked in mm/yr, so a raw -9999 m/year is looked for
    as -9999000."""
    require_values(v, str(vpath), "velocity")
    if not valid.any():
        raise InputDataError(f"{vpath}: no pixel is reliable: maskTempCoh.h5 masks every pixel that has a value. "
                             f"Lower mintpy.networkInversion.minTempCoh and rerun MintPy, or give the velocity "
                             f"file alone (its folder without maskTempCoh.h5).")
    scale = _VELOCITY_SCALE[unit.lower()]
    kept = np.where(valid, v, np.nan) / scale  # back in the file's units
    check_nodata(kept, str(vpath), orbit, zero=True, declare=None)
    declared = {1.0: "mm/yr", 10.0: "cm/yr", MM_PER_M: "m/yr"}[scale]
    check_velocity_units(drop_sentinels(kept) * scale, str(vpath), declared,
                         f"the file's UNIT attribute says {unit!r}: correct it (h5py: f.attrs['UNIT'] = '{{unit}}')")


def _read_velocity(vpath: Path, nodata: float | None = None) -> tuple[dict, np.ndarray, dict[str, np.ndarray]]:
    """(the file's attributes, velocity mm/yr, {"velocity_std": mm/yr} when present) of a geocoded
    MintPy velocity file; ``nodata`` (the file's units) read as NaN."""
    with _open(vpath) as f:
        if "velocity" not in f:
            raise InputDataError(f"{vpath}: not a MintPy velocity file (no dataset 'velocity')")
        attrs = {k: _attr(f.attrs, k) for k in f.attrs}
        v = mask_nodata(f["velocity"][()].astype(np.float32), nodata)
        vstd = mask_nodata(f["velocityStd"][()].astype(np.float32), nodata) if "velocityStd" in f else None
    if "X_FIRST" not in attrs:
        raise InputDataError(f"{vpath}: the results are in radar coordinates; geocode them first (MintPy "
                             f"geocode.py, or smallbaselineApp.py with mintpy.geocode = yes)")
    unit = str(attrs.get("UNIT", "m/year")).lower()
    if unit not in _VELOCITY_SCALE:
        raise InputDataError(f"{vpath}: velocity UNIT {unit!r} is not one of {', '.join(_VELOCITY_SCALE)}")
    v *= _VELOCITY_SCALE[unit]
    return attrs, v, {} if vstd is None else {"velocity_std": vstd * _VELOCITY_SCALE[unit]}


def _extra_layers(files: dict[str, Path], shape: tuple[int, int], nodata: float | None = None
                  ) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """(layers, mask) from the files found: ``temporal_coherence`` (1), ``dem`` (m), ``incidence``
    and ``azimuth`` (deg, LOS ground to satellite, clockwise from north), MintPy's 0 (no data) and
    ``nodata`` as NaN; the reliable-pixel mask of maskTempCoh (bool), None without one."""
    layers, mask = {}, None
    if "temporal_coherence" in files:
        tcoh = _layers(files["temporal_coherence"], ("temporalCoherence",), shape, nodata=nodata)
        layers["temporal_coherence"] = tcoh["temporalCoherence"]
    if "mask" in files:
        mask = _layers(files["mask"], ("mask",), shape)["mask"] > 0
    if "geometry" in files:
        geometry = _layers(files["geometry"], ("height", "incidenceAngle", "azimuthAngle"), shape, required=False,
                           nodata=nodata)
        for src, dst in (("height", "dem"), ("incidenceAngle", "incidence"), ("azimuthAngle", "azimuth")):
            if src in geometry:
                a = geometry[src]
                a[a == 0] = np.nan  # no data in MintPy's geometry
                layers[dst] = -a if dst == "azimuth" else a  # counter-clockwise -> clockwise from north
    return layers, mask


def _series(tpath: Path, shape: tuple[int, int], nodata: float | None = None):
    """(dates datetime64[ns], lazy displacement (time, y, x) mm) of a MintPy time-series file
    (``nodata``, in m, read as NaN)."""
    import dask.array as dsa

    f = _open(tpath)
    if "timeseries" not in f or "date" not in f:
        raise InputDataError(f"{tpath}: not a MintPy time-series file (it needs the datasets timeseries and date)")
    ts = f["timeseries"]
    if ts.shape[1:] != shape:
        raise InputDataError(f"{tpath}: the series is {ts.shape[1]} x {ts.shape[2]}, the velocity grid is "
                             f"{shape[0]} x {shape[1]}; give files of one MintPy run")
    dates = pd.to_datetime([d.decode() if isinstance(d, bytes) else str(d) for d in f["date"][()]],
                           format="%Y%m%d").values.astype("datetime64[ns]")
    # lazily (a frame's series is many GB); metres -> mm; the open dataset backs the dask array
    ny, nx = shape
    series = mask_nodata(dsa.from_array(ts, chunks=(ts.shape[0], min(ny, 512), min(nx, 512))), nodata)
    return dates, series * np.float32(MM_PER_M)


def _orbit(vpath: Path, orbit: str | None, attrs: dict) -> str:
    """The orbit: ORBIT_DIRECTION when recorded (a given ``orbit`` must agree), else the given one."""
    recorded = str(attrs.get("ORBIT_DIRECTION", "")).lower() or None
    if orbit and recorded in SENTINEL1_ORBITS and orbit != recorded:
        raise InputDataError(f"{vpath}: the file is {recorded} (ORBIT_DIRECTION), but was given as {orbit}; put it "
                             f"under inputs.{recorded} in the AOI file")
    orbit = orbit or recorded
    if orbit not in SENTINEL1_ORBITS:
        raise InputDataError(f"{vpath}: the orbit is not recorded (ORBIT_DIRECTION); give orbit: ascending or "
                             f"descending")
    return orbit


def _los_attrs(attrs: dict, layers: dict[str, np.ndarray]) -> dict[str, float]:
    """``heading`` and ``incidence_angle`` (deg): HEADING / CENTER_INCIDENCE_ANGLE, else from the
    ``azimuth`` / ``incidence`` layers, else NaN."""
    heading = float(attrs.get("HEADING", np.nan))
    if not np.isfinite(heading) and "azimuth" in layers:
        heading = heading_from_los_azimuth(layers["azimuth"])
    incidence = float(attrs.get("CENTER_INCIDENCE_ANGLE", np.nan))
    if not np.isfinite(incidence) and "incidence" in layers:
        incidence = float(np.nanmedian(layers["incidence"]))
    return {"heading": heading, "incidence_angle": incidence}


def _reference_point(attrs: dict, transform: Affine) -> dict[str, float]:
    """Map coordinates of the centre of the reference pixel (REF_X, REF_Y), NaN when not recorded."""
    if "REF_X" in attrs and "REF_Y" in attrs:
        x, y = transform * (int(attrs["REF_X"]) + 0.5, int(attrs["REF_Y"]) + 0.5)
        return {"reference_x": float(x), "reference_y": float(y)}
    return {"reference_x": np.nan, "reference_y": np.nan}


__all__ = ["find_mintpy_results", "open_mintpy_results"]
