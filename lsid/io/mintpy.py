"""MintPy ``ifgramStack.h5``: read it into a Stack, write a Stack as one (read with h5py; MintPy is
not imported).

MintPy's layout: datasets ``unwrapPhase`` and ``coherence`` (pair, row, col), ``date`` (pair, 2) as
``YYYYMMDD`` bytes, ``bperp`` (pair,) m, ``dropIfgram`` (pair,) bool; attributes ``WAVELENGTH`` (m),
``ORBIT_DIRECTION``, ``HEADING``, and for geocoded stacks ``X_FIRST``/``Y_FIRST`` (upper-left corner)
``X_STEP``/``Y_STEP`` with ``EPSG`` (or ``UTM_ZONE``; degrees when neither). MintPy's phase follows
lsid's sign (``d_LOS = -wavelength / (4 pi) * phase``); it treats a phase of exactly 0 as no data,
and so does this reader. A ``nodata`` value (the AOI key ``inputs.<orbit>.nodata``) is read as no data
too; the phase is then checked for plausibility (:mod:`lsid.io.plausibility`: undeclared -9999 /
-32768, values that look like millimetres, a grid whose coordinates do not fit its CRS).
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import rioxarray  # noqa: F401
import xarray as xr
from affine import Affine
from pyproj import CRS

from lsid.errors import InputDataError
from lsid.io.atomic import atomic_path
from lsid.io.contracts import check_stack
from lsid.io.plausibility import (
    check_grid,
    check_phase_scale,
    mask_nodata,
    require_values,
    sentinel_counts,
    warn_undeclared_nodata,
)

#: The fix for a MintPy file whose coordinates do not fit the CRS its attributes give.
CRS_FIX = ("Give the file the attribute of its CRS: EPSG (e.g. f.attrs['EPSG'] = '32647' with h5py) or UTM_ZONE; "
           "without either MintPy's coordinates are degrees.")


def _attr(attrs, key, default=None):
    v = attrs.get(key, default)
    return v.decode() if isinstance(v, bytes) else v


def _crs(attrs) -> CRS:
    if "EPSG" in attrs:
        return CRS.from_epsg(int(_attr(attrs, "EPSG")))
    if "UTM_ZONE" in attrs:
        zone = str(_attr(attrs, "UTM_ZONE"))
        south = zone.upper().endswith("S")
        return CRS.from_dict({"proj": "utm", "zone": int(zone.rstrip("NSns")), "south": south, "datum": "WGS84"})
    return CRS.from_epsg(4326)


def open_mintpy_stack(path: str | Path, geometry: str | Path | None = None,
                      include_dropped: bool = False, nodata: float | None = None,
                      orbit: str | None = None) -> xr.Dataset:
    """Read a geocoded MintPy ``ifgramStack.h5`` (and, optionally, its ``geometryGeo.h5``) into a Stack.

    Pairs flagged ``dropIfgram = False`` are left out unless ``include_dropped``. ``nodata``: a value
    read as no data besides MintPy's 0 (in the coherence too when it lies outside [0, 1]). ``orbit``:
    ``ascending`` / ``descending``, when ORBIT_DIRECTION is not recorded (or to override it).
    Raises InputDataError for an all-no-data stack or a grid whose coordinates do not fit its CRS;
    warns (InputWarning) about undeclared no-data values and phase that looks like millimetres.
    """
    path = Path(path)
    if not path.is_file():
        raise InputDataError(f"{path}: MintPy stack not found")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise InputDataError(f"{path}: cannot be read as HDF5 ({exc}): "
                             "the file is damaged or not a MintPy stack") from None
    with f:
        missing = [k for k in ("unwrapPhase", "date") if k not in f]
        if missing:
            raise InputDataError(f"{path}: not a MintPy ifgramStack.h5 (no {', '.join(missing)} dataset)")
        attrs = dict(f.attrs)
        if "X_FIRST" not in attrs:
            raise InputDataError(f"{path}: the stack is in radar coordinates; geocode it first (MintPy geocode.py) "
                                 f"so that lsid can place it on a map")
        keep = np.asarray(f["dropIfgram"][:], dtype=bool) if ("dropIfgram" in f and not include_dropped) else None
        idx = np.flatnonzero(keep) if keep is not None else np.arange(f["date"].shape[0])
        dates = np.asarray(f["date"][:])[idx]
        ref = np.array([np.datetime64(f"{d[0].decode()[:4]}-{d[0].decode()[4:6]}-{d[0].decode()[6:8]}") for d in dates])
        sec = np.array([np.datetime64(f"{d[1].decode()[:4]}-{d[1].decode()[4:6]}-{d[1].decode()[6:8]}") for d in dates])
        phase = mask_nodata(f["unwrapPhase"][idx].astype(np.float32), nodata)
        phase[phase == 0] = np.nan
        coh = f["coherence"][idx].astype(np.float32) if "coherence" in f else None
        if coh is not None and nodata is not None and not 0 <= nodata <= 1:
            coh = mask_nodata(coh, nodata)
        bperp = f["bperp"][idx].astype(np.float32) if "bperp" in f else None
    ny, nx = phase.shape[1:]
    x0, y0 = float(_attr(attrs, "X_FIRST")), float(_attr(attrs, "Y_FIRST"))
    dx, dy = float(_attr(attrs, "X_STEP")), float(_attr(attrs, "Y_STEP"))
    transform = Affine(dx, 0.0, x0, 0.0, dy, y0)
    check_grid(_crs(attrs), transform, (ny, nx), str(path), fix_geographic=CRS_FIX, fix_projected=CRS_FIX)
    require_values(phase, str(path), "phase", "MintPy's no-data value is 0.")
    data = {"unwrapped_phase": (("pair", "y", "x"), phase,
                                {"long_name": "unwrapped interferometric phase", "units": "rad"})}
    if coh is not None:
        data["coherence"] = (("pair", "y", "x"), coh, {"long_name": "interferometric coherence", "units": "1"})
    coords = {"y": y0 + (np.arange(ny) + 0.5) * dy, "x": x0 + (np.arange(nx) + 0.5) * dx,
              "reference_date": ("pair", ref.astype("datetime64[D]")),
              "secondary_date": ("pair", sec.astype("datetime64[D]"))}
    if bperp is not None:
        coords["bperp"] = ("pair", bperp, {"units": "m"})
    orbit = orbit or str(_attr(attrs, "ORBIT_DIRECTION", "")).lower()
    warn_undeclared_nodata(sentinel_counts(phase), phase.size, str(path), orbit or None, declare=None)
    ds = xr.Dataset(data, coords=coords, attrs={
        "wavelength": float(_attr(attrs, "WAVELENGTH")),
        "orbit": orbit if orbit in ("ascending", "descending") else "unknown",
        "incidence_angle": float(_attr(attrs, "CENTER_INCIDENCE_ANGLE", np.nan)),
        "heading": float(_attr(attrs, "HEADING", np.nan)),
        "source": f"MintPy ifgramStack.h5: {path}",
        "phase_sign": "MintPy unwrapPhase: used as is (same convention); exact zeros read as no data",
    })
    looks = _independent_looks(attrs)
    if looks is not None:
        ds.attrs["looks"] = looks
    if geometry is not None:
        with h5py.File(geometry, "r") as g:
            for src, dst, unit in (("height", "dem", "m"), ("incidenceAngle", "incidence", "deg"),
                                   ("azimuthAngle", "azimuth_mintpy", "deg")):
                if src in g:
                    ds[dst] = (("y", "x"), g[src][:].astype(np.float32), {"units": unit})
    ds = ds.rio.write_crs(_crs(attrs), inplace=True).rio.write_transform(transform, inplace=True)
    check_phase_scale(phase, str(path), ds.attrs["wavelength"])
    return check_stack(ds, str(path))


#: MintPy's ratio of multilook cells to independent looks for Sentinel-1 IW, used when a stack has
#: no NCORRLOOKS attribute (mintpy.ifgram_inversion.calc_weight_sqrt).
LOOKS_PER_INDEPENDENT_LOOK = 1.94


def _independent_looks(attrs: dict) -> int | None:
    """Number of independent looks of a MintPy stack, as MintPy's 'var' weights take it: NCORRLOOKS,
    else ALOOKS x RLOOKS / 1.94 rounded (at least 1); None when neither is recorded."""
    if "NCORRLOOKS" in attrs:
        return max(int(round(float(_attr(attrs, "NCORRLOOKS")))), 1)
    if "ALOOKS" in attrs and "RLOOKS" in attrs:
        cells = float(_attr(attrs, "ALOOKS")) * float(_attr(attrs, "RLOOKS"))
        return max(int(np.rint(cells / LOOKS_PER_INDEPENDENT_LOOK)), 1)
    return None


def write_mintpy_stack(stack: xr.Dataset, target: str | Path, looks: int = 1) -> Path:
    """Write a Stack as a geocoded MintPy ``ifgramStack.h5`` (atomically), e.g. to run MintPy's
    ``ifgram_inversion.py`` on the same data. ``looks`` (independent looks) is recorded as
    NCORRLOOKS, which MintPy's 'var' weights use as is (without it MintPy would take
    ALOOKS x RLOOKS / 1.94)."""
    check_stack(stack)
    target = Path(target)
    t = stack.rio.transform()
    epsg = stack.rio.crs.to_epsg()
    ref = stack.reference_date.values.astype("datetime64[D]").astype(str)
    sec = stack.secondary_date.values.astype("datetime64[D]").astype(str)
    M, ny, nx = stack.unwrapped_phase.shape
    with atomic_path(target) as tmp, h5py.File(tmp, "w") as f:
        f.create_dataset("date", data=np.array([[r.replace("-", "").encode(), s.replace("-", "").encode()]
                                                for r, s in zip(ref, sec, strict=True)]))
        f.create_dataset("bperp",
                         data=(stack.bperp.values if "bperp" in stack.coords else np.zeros(M)).astype(np.float32))
        f.create_dataset("dropIfgram", data=np.ones(M, dtype=bool))
        ph = f.create_dataset("unwrapPhase", (M, ny, nx), dtype=np.float32, chunks=(1, min(ny, 256), min(nx, 256)))
        co = f.create_dataset("coherence", (M, ny, nx), dtype=np.float32, chunks=(1, min(ny, 256), min(nx, 256)))
        for k in range(M):
            p = np.asarray(stack.unwrapped_phase[k].values, dtype=np.float32)
            ph[k] = np.nan_to_num(p, nan=0.0)  # MintPy's no-data value
            co[k] = np.asarray(stack.coherence[k].values, dtype=np.float32) if "coherence" in stack else 1.0
        attrs = {
            "FILE_TYPE": "ifgramStack", "LENGTH": str(ny), "WIDTH": str(nx),
            "X_FIRST": str(t.c), "Y_FIRST": str(t.f), "X_STEP": str(t.a), "Y_STEP": str(t.e),
            "X_UNIT": "m" if stack.rio.crs.is_projected else "degrees",
            "Y_UNIT": "m" if stack.rio.crs.is_projected else "degrees",
            "WAVELENGTH": str(stack.attrs["wavelength"]), "ORBIT_DIRECTION": str(stack.attrs["orbit"]).upper(),
            "HEADING": str(stack.attrs.get("heading", "nan")),
            "CENTER_INCIDENCE_ANGLE": str(stack.attrs.get("incidence_angle", "nan")),
            "REF_DATE": ref[0].replace("-", ""), "PROCESSOR": "lsid", "NCORRLOOKS": str(int(looks)),
            "ALOOKS": "1", "RLOOKS": "1",
            "DATE12": f"{ref[0][2:].replace('-', '')}-{sec[0][2:].replace('-', '')}",
        }
        if epsg:
            attrs["EPSG"] = str(epsg)
        f.attrs.update(attrs)
    return target
