"""Where a stage finds a track's data for an area of interest: the synthetic stacks of the run, or
the user's files named in the AOI file's ``inputs`` section."""

from __future__ import annotations

from pathlib import Path

import xarray as xr

from lsid.config import AOIConfig
from lsid.errors import InputDataError
from lsid.layout import ORBITS


def tracks(cfg: AOIConfig) -> list[str]:
    """The tracks this area has data for."""
    if cfg.synthetic:
        return list(ORBITS)
    return [o for o in ORBITS if getattr(cfg.inputs, o) is not None]


def input_paths(spec) -> list[Path]:
    """The files and folders a track input's reader reads (its cache key covers them all): the path
    named; for a MintPy file (``ifgramStack.h5``, ``velocity.h5``) the folder holding it (MintPy's
    geometry, mask and time-series files beside it); for a LiCSBAS ``TS_GEOCml*`` folder also the
    ``GEOCml*/{E,N,U}.geo`` LOS files beside it (not the interferograms there)."""
    p = Path(spec.path)
    if spec.format in ("mintpy", "mintpy_results") and p.is_file():
        return [p.parent]
    if spec.format == "licsbas":
        return [p, *sorted(p.parent.glob("GEOCml*/[ENU].geo"))]
    return [p]


def vector_files(path: str | Path) -> list[Path]:
    """The files of a vector dataset: a shapefile is its .shp and every file of the same stem beside it
    (.dbf attributes, .shx index, .prj CRS, ...); any other format is one file (or folder)."""
    p = Path(path)
    if p.suffix.lower() == ".shp":
        return sorted(f for f in p.parent.glob(f"{p.stem}.*") if f.is_file())
    return [p]


def input_files(cfg: AOIConfig) -> list[Path]:
    """Every input file or folder the AOI names, as the stages read them: track inputs
    (:func:`input_paths`) and inventories (:func:`vector_files`)."""
    paths = [q for spec in (cfg.inputs.ascending, cfg.inputs.descending) if spec is not None for q in input_paths(spec)]
    return paths + [f for p in (cfg.tiles.inventory, cfg.inventory.validation_inventory) if p for f in vector_files(p)]


def open_track(cfg: AOIConfig, orbit: str, layout) -> xr.Dataset:
    """A track's Stack (or, for a velocity GeoTIFF, LiCSBAS or MintPy-results input, its Deformation).

    Synthetic areas: the run's ``stacks/<orbit>.nc`` (``layout``: a :class:`lsid.layout.RunLayout` or
    the run folder). Real areas: the ``inputs`` entry of the track; its ``nodata`` goes to every reader
    (values equal to it are no data), whose plausibility checks (:mod:`lsid.io.plausibility`) warn with
    :class:`lsid.errors.InputWarning` or raise InputDataError.
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
                                   incidence=spec.incidence_deg, heading=spec.heading_deg, nodata=spec.nodata)
    if spec.format == "mintpy":
        from lsid.io.mintpy import open_mintpy_stack

        return open_mintpy_stack(spec.path, nodata=spec.nodata, orbit=orbit)
    if spec.format == "mintpy_results":
        from lsid.io.mintpy_results import open_mintpy_results

        return open_mintpy_results(spec.path, orbit=orbit, nodata=spec.nodata)
    if spec.format == "licsbas":
        from lsid.io.licsbas import open_licsbas

        return open_licsbas(spec.path, product=spec.product, orbit=orbit, incidence=spec.incidence_deg,
                            heading=spec.heading_deg, nodata=spec.nodata)
    from lsid.io.geotiff import open_velocity

    return open_velocity(spec.path, units=spec.velocity_units, orbit=orbit, nodata=spec.nodata)
