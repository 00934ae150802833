"""Readers and writers: NetCDF (CF) for Stacks, Deformations and truth; atomic writes; contract checks.

The atomic writers (standard library only) are imported with the package; the NetCDF readers and the
contract checks (xarray, netCDF4, dask) only when first used, so that ``lsid.io.atomic`` costs no
heavy import (the training code, which writes checkpoints through it, needs only PyTorch).
"""

from lsid.io.atomic import atomic_path, ensure_writable_dir, write_text

__all__ = ["atomic_path", "ensure_writable_dir", "write_text", "check_stack", "open_stack", "open_netcdf",
           "write_netcdf"]


def __getattr__(name: str):
    """The heavy names, imported on first use (the imports are written out for code analysis)."""
    if name in ("check_stack", "open_stack"):
        from lsid.io.contracts import check_stack, open_stack

        return {"check_stack": check_stack, "open_stack": open_stack}[name]
    if name in ("open_netcdf", "write_netcdf"):
        from lsid.io.netcdf import open_netcdf, write_netcdf

        return {"open_netcdf": open_netcdf, "write_netcdf": write_netcdf}[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
