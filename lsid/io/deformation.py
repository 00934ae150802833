"""The Deformation dataset that lsid's result readers build (LiCSBAS, MintPy, a velocity GeoTIFF).

:func:`deformation_dataset` is the one place that assembles it, so that every reader hands the later
stages the same contract (docs/design.md, "Deformation"); :func:`lsid.sbas.invert` builds the full one of
lsid's own inversion.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import rioxarray  # noqa: F401
import xarray as xr
from affine import Affine

#: Units of the optional 2-D layers a reader may carry over (each becomes a (y, x) variable with a
#: ``units`` attribute and nothing else).
LAYER_UNITS = {"velocity_std": "mm/yr", "temporal_coherence": "1", "mean_coherence": "1", "dem": "m",
               "incidence": "deg", "azimuth": "deg"}
#: Attributes of the ``velocity`` variable.
VELOCITY_ATTRS = {"long_name": "mean LOS velocity, towards the satellite", "units": "mm/yr"}
#: ``long_name`` of the ``displacement`` variable unless the reader names it otherwise.
DISPLACEMENT_LONG_NAME = "LOS displacement, towards the satellite"


def pixel_centres(transform: Affine, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(y, x) map coordinates of the pixel centres of a north-up grid of ``shape`` (rows, cols)
    whose affine ``transform`` maps pixel edges to map units (m or deg)."""
    ny, nx = shape
    return (transform.f + transform.e * (np.arange(ny) + 0.5),
            transform.c + transform.a * (np.arange(nx) + 0.5))


def deformation_dataset(
    velocity: np.ndarray,
    valid: np.ndarray,
    *,
    y: np.ndarray,
    x: np.ndarray,
    attrs: Mapping,
    valid_long_name: str,
    layers: Mapping[str, np.ndarray] | None = None,
    series: tuple[np.ndarray, object] | None = None,
    displacement_long_name: str = DISPLACEMENT_LONG_NAME,
    crs=None,
    transform: Affine | None = None,
) -> xr.Dataset:
    """A Deformation (docs/design.md) from the layers a reader has read.

    The contract it builds, in this variable order:

    - ``velocity`` (y, x): mean LOS velocity, mm/yr, positive towards the satellite; used as given
      (a reader that masks sets its unreliable pixels to NaN before);
    - ``valid`` (y, x) bool: the pixel is reliable (``valid_long_name`` says by which rule);
    - the optional 2-D ``layers``, in the order given, each with its unit from :data:`LAYER_UNITS`:
      ``velocity_std`` (mm/yr), ``temporal_coherence`` / ``mean_coherence`` (1), ``dem`` (m),
      ``incidence`` and ``azimuth`` (deg);
    - ``displacement`` (time, y, x), mm, positive towards the satellite, when ``series`` =
      (dates as datetime64, array of the displacement, in memory or dask) is given; its dates become
      the ``time`` coordinate;
    - coordinates ``y``, ``x`` (pixel centres, map units; :func:`pixel_centres`) and ``time``;
    - ``attrs`` as given: the reader supplies orbit, source, method and, where it knows them,
      wavelength (m), incidence_angle and heading (deg), reference_date and the reference point
      (reference_x, reference_y, map units);
    - the CRS and the affine ``transform`` of the grid, when ``crs`` is given.
    """
    data = {"velocity": (("y", "x"), velocity, dict(VELOCITY_ATTRS)),
            "valid": (("y", "x"), valid, {"long_name": valid_long_name})}
    for name, a in (layers or {}).items():
        if name not in LAYER_UNITS:
            raise ValueError(f"unknown Deformation layer {name!r}: one of {', '.join(LAYER_UNITS)}")
        data[name] = (("y", "x"), a, {"units": LAYER_UNITS[name]})
    coords = {"y": y, "x": x}
    if series is not None:
        dates, displacement = series
        data["displacement"] = (("time", "y", "x"), displacement, {"long_name": displacement_long_name, "units": "mm"})
        coords["time"] = dates
    ds = xr.Dataset(data, coords=coords, attrs=dict(attrs))
    if crs is not None:
        # in place: rioxarray's default copies the dataset
        ds.rio.write_crs(crs, inplace=True).rio.write_transform(transform, inplace=True)
    return ds


__all__ = ["DISPLACEMENT_LONG_NAME", "LAYER_UNITS", "VELOCITY_ATTRS", "deformation_dataset", "pixel_centres"]
