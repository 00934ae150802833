"""NetCDF (CF conventions) readers and writers for Stacks, Deformations and truth files.

The CRS travels as a CF ``spatial_ref`` grid-mapping variable written by rioxarray, so GDAL, QGIS,
xarray and rioxarray all read it back. Writes are atomic (:mod:`lsid.io.atomic`) and, for dask-backed
datasets, stream chunk by chunk in a fixed order, so memory stays bounded and the same inputs give the
same bytes.
"""

from __future__ import annotations

import logging
from pathlib import Path

import dask
import numpy as np
import xarray as xr

from lsid.errors import InputDataError
from lsid.io.atomic import atomic_path

log = logging.getLogger(__name__)

#: Spatial chunk of NetCDF variables on disk (rows, columns); the SBAS inversion reads blocks of this size.
DISK_CHUNK = 256

#: Coherence is stored packed in one byte (CF scale_factor), decoded to float32 in [0, 1].
COHERENCE_ENCODING = {"dtype": "uint8", "scale_factor": np.float32(1 / 250), "add_offset": np.float32(0.0),
                      "_FillValue": np.uint8(255)}


def _chunksizes(var: xr.DataArray) -> tuple[int, ...]:
    sizes = []
    for dim, n in zip(var.dims, var.shape):
        sizes.append(min(n, DISK_CHUNK) if dim in ("y", "x") else 1)
    return tuple(sizes)


def default_encoding(ds: xr.Dataset, compress: bool = True) -> dict:
    """NetCDF encoding for lsid datasets: float32 with NaN fill, 256-pixel tiles, zlib level 1 (the
    fastest level; it still shrinks masked or mostly-zero layers several times), coherence packed
    into one byte."""
    enc = {}
    for name, var in ds.data_vars.items():
        if var.ndim < 2 or not {"y", "x"} <= set(var.dims):
            continue
        e = {"chunksizes": _chunksizes(var)}
        grid_mapping = var.encoding.get("grid_mapping") or var.attrs.get("grid_mapping")
        if grid_mapping is None and "spatial_ref" in ds.coords:
            grid_mapping = "spatial_ref"
        if grid_mapping:
            e["grid_mapping"] = grid_mapping
        if name == "coherence":
            e.update(COHERENCE_ENCODING)
        elif np.issubdtype(var.dtype, np.floating):
            e.update({"dtype": "float32", "_FillValue": np.float32(np.nan)})
        if compress:
            e.update({"zlib": True, "complevel": 1, "shuffle": True})
        enc[name] = e
    for name in ds.coords:
        if np.issubdtype(ds[name].dtype, np.datetime64):
            enc[name] = {"units": "days since 1970-01-01", "calendar": "proleptic_gregorian", "dtype": "int32"}
    return enc


def _largest_write(ds: xr.Dataset, streamed: list[str]) -> int:
    """Uncompressed bytes of the largest single write of :func:`write_netcdf` (a whole small variable,
    or one block of a streamed one): a failure with less free space than this is a full disk."""
    sizes = [0]
    for name, var in ds.variables.items():
        if name in streamed:
            sizes.append(var.nbytes // max(1, len(var.chunks[0])))
        else:
            sizes.append(var.nbytes)
    return int(max(sizes))


def write_netcdf(ds: xr.Dataset, target: str | Path, encoding: dict | None = None, compress: bool = True,
                 progress: bool = False, desc: str | None = None) -> Path:
    """Write ``ds`` to ``target`` atomically (CF NetCDF-4).

    Small variables are written by xarray. Dask-backed variables with three or more dimensions (the
    pair or time stacks) are then streamed block by block along their first dimension, in order,
    through netCDF4: memory stays bounded by one block, and the file's layout does not depend on
    which task finished first (same data, same bytes). Blocks of several streamed variables that
    share work (phase and coherence of one pair) are computed together, once.

    Raises OutputError "disk full: <folder> has N MB free; ..." when the disk fills up (netCDF4 and HDF5
    report that only as "NetCDF: HDF error"; :func:`lsid.io.atomic.disk_full_error`).
    """
    import netCDF4
    from tqdm import tqdm  # plain bars: tqdm.auto needs ipywidgets inside notebooks

    target = Path(target)
    enc = default_encoding(ds, compress=compress)
    for k, v in (encoding or {}).items():
        enc[k] = {**enc.get(k, {}), **v}
    streamed = [n for n, v in ds.data_vars.items() if v.chunks is not None and v.ndim >= 3]
    dim0 = {ds[n].dims[0] for n in streamed}
    if len(dim0) > 1:
        raise ValueError(f"streamed variables {streamed} must share their first dimension, got {sorted(dim0)}")
    with atomic_path(target, needed_bytes=_largest_write(ds, streamed)) as tmp:
        head = ds.drop_vars(streamed)
        head.to_netcdf(tmp, engine="netcdf4", encoding={k: v for k, v in enc.items() if k in head.variables})
        if streamed:
            first = ds[streamed[0]]
            offsets = np.cumsum((0,) + first.chunks[0])
            with netCDF4.Dataset(tmp, "a") as nc:
                out = {}
                for name in streamed:
                    var = ds[name]
                    e = enc.get(name, {})
                    fill = e.get("_FillValue")
                    v = nc.createVariable(
                        name, np.dtype(e.get("dtype", var.dtype)), var.dims, zlib=e.get("zlib", False),
                        complevel=e.get("complevel", 4), shuffle=bool(e.get("zlib", False) and e.get("shuffle", True)),
                        chunksizes=e.get("chunksizes"), fill_value=fill,
                    )
                    attrs = dict(var.attrs)
                    for key in ("scale_factor", "add_offset"):
                        if key in e:
                            attrs[key] = e[key]
                    if e.get("grid_mapping"):
                        attrs["grid_mapping"] = e["grid_mapping"]
                    extra = [c for c in ds.coords if c not in var.dims and set(ds[c].dims) <= set(var.dims)
                             and c != "spatial_ref"]
                    if extra:
                        attrs["coordinates"] = " ".join(extra)
                    v.setncatts(attrs)
                    out[name] = v
                blocks = range(len(offsets) - 1)
                for b in tqdm(blocks, desc=desc or target.name, disable=not progress, unit="block"):
                    sl = slice(int(offsets[b]), int(offsets[b + 1]))
                    arrays = dask.compute(*(ds[n].data[sl] for n in streamed), scheduler="synchronous")
                    for name, arr in zip(streamed, arrays):
                        out[name][sl] = arr
    log.info("wrote %s", target)
    return target


def open_netcdf(path: str | Path, chunks: dict | str | None = "auto", what: str = "lsid dataset") -> xr.Dataset:
    """Open a NetCDF written by lsid (lazily, with dask ``chunks``), with its CRS attached.

    Raises
    ------
    InputDataError : the file is missing or cannot be read as NetCDF.
    """
    import rioxarray  # noqa: F401  (registers the .rio accessor)

    path = Path(path)
    if not path.is_file():
        raise InputDataError(f"{path}: {what} not found; create it first (see README: `lsid run`).")
    try:
        ds = xr.open_dataset(path, engine="netcdf4", chunks=chunks, decode_coords="all")
    except Exception as exc:  # netCDF4/HDF5 raise many types for a damaged file
        raise InputDataError(
            f"{path}: cannot be read as NetCDF ({type(exc).__name__}: {exc}); the file is damaged or "
            f"not NetCDF: delete it and rerun the stage that writes it."
        ) from None
    return ds
