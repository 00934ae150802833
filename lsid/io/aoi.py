"""Where a stage finds a track's data for an area of interest: the synthetic stacks of the run, or
the user's files named in the AOI file's ``inputs`` section."""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from lsid.config import AOIConfig
from lsid.errors import InputDataError

ORBITS = ("ascending", "descending")


def tracks(cfg: AOIConfig) -> list[str]:
    """The tracks this area has data for."""
    if cfg.synthetic:
        return list(ORBITS)
    return [o for o in ORBITS if getattr(cfg.inputs, o) is not None]


def input_fingerprint(paths) -> list:
    """Name, size and modification time (ns) of every file under each of ``paths`` (files or folders),
    so that a stage reruns when a user replaces an input under the same name."""
    out = []
    for p in map(Path, paths):
        files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
        out.append([str(p)] + [[f.name, f.stat().st_size, f.stat().st_mtime_ns] if f.exists() else [f.name, "missing"]
                               for f in files])
    return out


def input_files(cfg: AOIConfig) -> list[str]:
    """Every input file or folder the AOI names: track inputs and inventories."""
    paths = [spec.path for spec in (cfg.inputs.ascending, cfg.inputs.descending) if spec is not None]
    return paths + [p for p in (cfg.tiles.inventory, cfg.inventory.validation_inventory) if p]


def open_track(cfg: AOIConfig, orbit: str, layout) -> xr.Dataset:
    """A track's Stack (or, for a velocity GeoTIFF, LiCSBAS or MintPy-results input, its Deformation).

    Synthetic areas: the run's ``stacks/<orbit>.nc`` (``layout``: a :class:`lsid.layout.RunLayout` or
    the run folder). Real areas: the ``inputs`` entry of the track.
    """
    if cfg.synthetic:
        from lsid.io.contracts import open_stack
        from lsid.layout import as_layout

        return open_stack(as_layout(layout).stack(orbit))
    spec = getattr(cfg.inputs, orbit)
    if spec is None:
        raise InputDataError(f"area {cfg.name} has no {orbit} input; add inputs.{orbit} to its AOI file")
    if spec.format == "geotiff":
        from lsid.io.geotiff import open_interferograms

        return open_interferograms(spec.path, orbit=orbit, wavelength=spec.wavelength_m,
                                   incidence=spec.incidence_deg, heading=spec.heading_deg)
    if spec.format == "mintpy":
        from lsid.io.mintpy import open_mintpy_stack

        ds = open_mintpy_stack(spec.path)
        ds.attrs["orbit"] = orbit
        return ds
    if spec.format == "mintpy_results":
        from lsid.io.mintpy_results import open_mintpy_results

        return open_mintpy_results(spec.path, orbit=orbit)
    if spec.format == "licsbas":
        from lsid.io.licsbas import open_licsbas

        return open_licsbas(spec.path, product=spec.product, orbit=orbit, incidence=spec.incidence_deg,
                            heading=spec.heading_deg)
    from lsid.io.geotiff import open_velocity

    return open_velocity(spec.path, units=spec.velocity_units, orbit=orbit)
