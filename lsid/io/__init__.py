"""Readers and writers: NetCDF (CF) for Stacks, Deformations and truth; atomic writes; contract checks."""

from lsid.io.atomic import atomic_path, ensure_writable_dir, write_text
from lsid.io.contracts import check_stack, open_stack
from lsid.io.netcdf import open_netcdf, write_netcdf

__all__ = ["atomic_path", "ensure_writable_dir", "write_text", "check_stack", "open_stack", "open_netcdf",
           "write_netcdf"]
