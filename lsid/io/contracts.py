"""Checks of the data contracts between stages (docs/design.md): a stage that reads a dataset checks it
first, so a wrong file fails at once with a message that names what is missing."""

from __future__ import annotations

import numpy as np
import xarray as xr

from lsid.errors import InputDataError
from lsid.layout import ORBITS

STACK_ATTRS = ("wavelength", "orbit", "incidence_angle", "heading", "source", "phase_sign")


def check_stack(ds: xr.Dataset, source: str = "stack") -> xr.Dataset:
    """Check that ``ds`` follows the Stack contract; returns it unchanged.

    Contract: ``unwrapped_phase`` (pair, y, x) float32 rad; optional ``coherence`` (pair, y, x) in
    [0, 1]; coordinates ``reference_date`` < ``secondary_date`` (whole days), ``y``, ``x``; a CRS;
    attributes wavelength (m), orbit, incidence_angle and heading (deg), source, phase_sign.
    """
    import rioxarray  # noqa: F401

    problems = []
    if "unwrapped_phase" not in ds:
        problems.append("no 'unwrapped_phase' variable")
    else:
        v = ds["unwrapped_phase"]
        if v.dims != ("pair", "y", "x"):
            problems.append(f"unwrapped_phase has dims {v.dims}, expected ('pair', 'y', 'x')")
        if v.dtype != np.float32:
            problems.append(f"unwrapped_phase is {v.dtype}, expected float32")
        if v.attrs.get("units") != "rad":
            problems.append(f"unwrapped_phase units are {v.attrs.get('units')!r}, expected 'rad'")
    if "coherence" in ds and ds["coherence"].dims != ("pair", "y", "x"):
        problems.append(f"coherence has dims {ds['coherence'].dims}, expected ('pair', 'y', 'x')")
    for c in ("reference_date", "secondary_date"):
        if c not in ds.coords:
            problems.append(f"no '{c}' coordinate")
        elif not np.issubdtype(ds[c].dtype, np.datetime64):
            problems.append(f"'{c}' is {ds[c].dtype}, expected datetime64")
        elif (ds[c].values != ds[c].values.astype("datetime64[D]")).any():
            problems.append(f"'{c}' holds times of day; expected whole dates")
    if not problems and (ds.reference_date.values >= ds.secondary_date.values).any():
        problems.append("some pairs have reference_date >= secondary_date")
    for c in ("y", "x"):
        if c not in ds.coords:
            problems.append(f"no '{c}' coordinate")
    if ds.rio.crs is None:
        problems.append("no CRS (write one with ds.rio.write_crs)")
    for a in STACK_ATTRS:
        if a not in ds.attrs:
            problems.append(f"no '{a}' attribute")
    if ds.attrs.get("orbit") not in ORBITS and "orbit" in ds.attrs:
        problems.append(f"orbit is {ds.attrs['orbit']!r}, expected one of {ORBITS}")
    if problems:
        raise InputDataError(f"{source}: does not follow the Stack contract (docs/design.md):\n  "
                             + "\n  ".join(problems))
    return ds


def open_stack(path, chunks: dict | str | None = "tiles") -> xr.Dataset:
    """Open a Stack NetCDF written by lsid and check its contract.

    ``chunks="tiles"`` (default): lazily, every pair of each 256 x 256 tile of the file in one dask
    chunk, the unit the SBAS inversion works on; ``None``: read everything into memory; anything
    else is passed to xarray.
    """
    from lsid.io.netcdf import DISK_CHUNK, open_netcdf

    if isinstance(chunks, str) and chunks == "tiles":
        chunks = {"pair": -1, "y": DISK_CHUNK, "x": DISK_CHUNK}
    return check_stack(open_netcdf(path, chunks=chunks, what="Stack"), source=str(path))
