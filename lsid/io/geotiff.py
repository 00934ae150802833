"""Readers of interferogram GeoTIFF folders (HyP3, LiCSAR, GAMMA/PyRate) and of velocity GeoTIFFs, and
a Cloud-Optimised GeoTIFF writer.

Every reader returns lsid's contracts (docs/design.md): a Stack for interferograms, a velocity-only
Deformation for a velocity map. Phase is converted to lsid's sign convention,
``d_LOS = -wavelength / (4 pi) * phase`` (positive towards the satellite, MintPy's), and each reader
records in ``phase_sign`` how it mapped its source:

- HyP3 (ASF, GAMMA inside) ``*_unw_phase.tif``: same convention as MintPy, which reads them as is.
- LiCSAR ``*.geo.unw.tif``: same convention (LiCSBAS turns them into mm with ``-wavelength/(4 pi)``).
- GAMMA / PyRate exports ``*_unw.tif``: used as is; checked on PyRate's real Mexico City stack
  (tests/test_readers.py): the known subsidence comes out as negative LOS velocity.

GAMMA and HyP3 write 0 where there is no data: without a declared nodata value, exact zeros of their
phase are read as NaN. A ``nodata`` argument (the AOI key ``inputs.<orbit>.nodata``) names a value the
files do not declare; values equal to it are read as NaN. The values are then checked for plausibility
(:mod:`lsid.io.plausibility`): undeclared no-data values (-9999, -32768, a LiCSAR 0), phase that looks
like millimetres, a grid whose coordinates do not fit its CRS, a velocity map whose spread does not fit
its declared unit.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio
import rioxarray  # noqa: F401
import xarray as xr
from affine import Affine

from lsid.constants import SENTINEL1_WAVELENGTH_M
from lsid.errors import InputDataError, first_of
from lsid.io.atomic import atomic_path
from lsid.io.deformation import deformation_dataset, pixel_centres
from lsid.io.plausibility import (
    PHASE_METRES_SUSPECT_MAX_ABS,
    VELOCITY_UNITS_MM_YR,
    check_grid,
    check_nodata,
    check_phase_not_metres,
    check_phase_scale,
    check_velocity_units,
    drop_sentinels,
    mask_nodata,
    require_values,
    sentinel_counts,
    warn_undeclared_nodata,
)

log = logging.getLogger(__name__)

#: Largest |phase| (rad) an unwrapped interferogram stack can have and still be suspected of being in
#: metres: a stack whose every value is below this is refused unless ``allow_small_phase=True``
#: (:data:`lsid.io.plausibility.PHASE_METRES_SUSPECT_MAX_ABS`).
METRES_SUSPECT_MAX_ABS = PHASE_METRES_SUSPECT_MAX_ABS


@dataclass(frozen=True)
class Naming:
    """How one processor names its interferograms."""

    processor: str
    phase: re.Pattern  # groups: reference date, secondary date (YYYYMMDD)
    coherence_suffix: tuple[str, str]  # (phase suffix, coherence suffix) to find the matching file
    sentinel1: bool  # products are Sentinel-1 by definition (wavelength known)
    sign: int  # multiply the file's phase by this to get lsid's convention
    sign_note: str


NAMINGS = (
    Naming("hyp3", re.compile(r"S1[ABCD_]{2}_(\d{8})T\d{6}_(\d{8})T\d{6}_.*_unw_phase\.tif$"),
           ("_unw_phase.tif", "_corr.tif"), True, 1,
           "HyP3 unw_phase: used as is (MintPy reads it without a sign change)"),
    Naming("licsar", re.compile(r"^(\d{8})_(\d{8})\.geo\.unw\.tif$"), (".geo.unw.tif", ".geo.cc.tif"), True, 1,
           "LiCSAR geo.unw: used as is (LiCSBAS: mm = -wavelength/(4 pi) * unw * 1000)"),
    Naming("gamma", re.compile(r"(\d{8})-(\d{8}).*_unw\.tif$"), ("_unw.tif", "_cc.tif"), False, 1,
           "GAMMA/PyRate unw: used as is (checked on PyRate's Mexico City stack: subsidence is negative)"),
)


def _date(s: str, path: Path) -> np.datetime64:
    try:
        return np.datetime64(pd.Timestamp(s).date(), "D")
    except ValueError:
        raise InputDataError(f"{path}: '{s}' in the file name is not a date (YYYYMMDD)") from None


def _find_coherence(phase_path: Path, naming: Naming, ref: str, sec: str) -> Path | None:
    ps, cs = naming.coherence_suffix
    direct = phase_path.with_name(phase_path.name[: -len(ps)] + cs)
    if direct.exists():
        return direct
    return next(iter(sorted(phase_path.parent.glob(f"*{ref}*{sec}*{cs}"))), None)


def detect_naming(folder: Path) -> tuple[Naming, list[Path]]:
    """The processor whose naming matches the most phase files in ``folder``, and those files."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".tif")
    best, best_files = None, []
    for n in NAMINGS:
        matched = [p for p in files if n.phase.search(p.name)]
        if len(matched) > len(best_files):
            best, best_files = n, matched
    if best is None:
        tifs = ", ".join(p.name for p in files[:5]) or "none"
        raise InputDataError(
            f"{folder}: no interferogram whose file name carries a date pair. Expected HyP3 "
            f"(S1AA_20190101T..._20190113T..._unw_phase.tif), LiCSAR (20190101_20190113.geo.unw.tif) or "
            f"GAMMA/PyRate (..._20190101-20190113_..._unw.tif) names; found .tif files: {tifs}. Rename the files "
            f"or pass processor=... and a folder with the phase files."
        )
    return best, best_files


def _read_band(path: Path, what: str):
    try:
        with rasterio.open(path) as src:
            arr = src.read(1, masked=True).astype(np.float32).filled(np.nan)
            return arr, src.transform, src.crs, src.tags(), src.nodata
    except rasterio.RasterioIOError as exc:
        raise InputDataError(f"{path}: cannot read this {what} GeoTIFF ({exc}); the file is damaged or not a "
                             f"GeoTIFF: replace it or remove it from the folder.") from None


def open_interferograms(
    folder: str | Path,
    orbit: str | None = None,
    wavelength: float | None = None,
    incidence: float | None = None,
    heading: float | None = None,
    processor: str = "auto",
    allow_small_phase: bool = False,
    nodata: float | None = None,
) -> xr.Dataset:
    """Read a folder of unwrapped-interferogram GeoTIFFs into a Stack (in memory, float32).

    Parameters
    ----------
    folder : folder holding the phase files (and, beside them, their coherence files).
    orbit : ``ascending`` or ``descending``; inferred from ``heading`` or a LiCSAR frame id when not given.
    wavelength : radar wavelength (m); from the files' tags when present, Sentinel-1 for HyP3/LiCSAR.
    incidence, heading : deg; from tags when present (``INCIDENCE_DEGREES``), else these arguments.
    processor : ``auto``, ``hyp3``, ``licsar`` or ``gamma``.
    allow_small_phase : accept a stack whose |phase| never exceeds 0.5 (it looks like metres).
    nodata : a value marking missing data that the files do not declare (read as NaN in the phase, and
        in the coherence when it lies outside [0, 1]); the AOI key ``inputs.<orbit>.nodata``.

    Raises
    ------
    InputDataError : no date pair in the names, grids or CRS that differ, a grid whose coordinates do
        not fit its CRS, metres instead of radians, fewer than 3 dates, an all-NaN stack, a damaged file,
        missing wavelength or orbit.

    Warns
    -----
    InputWarning : undeclared no-data values (-9999, -32768, a LiCSAR 0) among the values, phase that
        looks like millimetres, 1-degree pixels (:mod:`lsid.io.plausibility`).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputDataError(f"{folder}: interferogram folder not found")
    naming, files = _phase_files(folder, processor)
    pairs, found = _read_pairs(files, naming, nodata)
    grid = pairs[0].grid
    check_grid(grid.crs, grid.transform, grid.shape, str(grid.path))
    phase = np.stack([p.phase for p in pairs])
    _check_phase(phase, folder, allow_small_phase)
    refs, secs = [p.reference for p in pairs], [p.secondary for p in pairs]
    dates = np.union1d(refs, secs)
    if dates.size < 3:
        raise InputDataError(f"{folder}: only {dates.size} acquisition dates; a time series needs at least 3.")
    attrs = _stack_attrs(folder, naming, pairs[0].tags, orbit, wavelength, incidence, heading)
    found.warn(str(folder), attrs["orbit"])
    check_phase_scale(phase, str(folder), attrs["wavelength"])
    ds = _stack_dataset(phase, [p.coherence for p in pairs], refs, secs, pairs[0].grid, attrs, folder)
    log.info("read %d %s interferograms (%d dates) from %s", ds.sizes["pair"], naming.processor, dates.size, folder)
    return ds


def _phase_files(folder: Path, processor: str) -> tuple[Naming, list[Path]]:
    """The naming and the sorted phase files of ``folder``: by :func:`detect_naming` for ``auto``,
    else the files matching the named processor's pattern."""
    if processor == "auto":
        return detect_naming(folder)
    naming = next((n for n in NAMINGS if n.processor == processor), None)
    if naming is None:
        raise InputDataError(f"unknown processor {processor!r}: use auto, " + ", ".join(n.processor for n in NAMINGS))
    files = sorted(p for p in folder.glob("*.tif") if naming.phase.search(p.name))
    if not files:
        raise InputDataError(f"{folder}: no {processor} phase file (pattern {naming.phase.pattern})")
    return naming, files


@dataclass(frozen=True)
class _Grid:
    """The raster grid of one file: shape (rows, cols), affine transform (map units), CRS."""

    path: Path
    shape: tuple[int, int]
    transform: Affine
    crs: object

    def require_same(self, other: _Grid) -> None:
        """Raise when ``other`` (a later file) is not on this grid."""
        if (other.shape, other.transform, other.crs) != (self.shape, self.transform, self.crs):
            raise InputDataError(
                f"{other.path}: grid differs from {self.path.name} (shape {other.shape} vs {self.shape}, transform "
                f"{tuple(other.transform)[:6]} vs {tuple(self.transform)[:6]}, CRS {other.crs} vs {self.crs}). All "
                f"interferograms must be on one grid: resample them to a common grid first (e.g. gdalwarp -tr -te)."
            )


@dataclass(frozen=True)
class _Pair:
    """One interferogram as read: dates (reference < secondary, datetime64[D]), phase (rows, cols)
    float32 rad in lsid's sign, coherence (rows, cols) or None, the file's tags and grid."""

    reference: np.datetime64
    secondary: np.datetime64
    phase: np.ndarray
    coherence: np.ndarray | None
    tags: dict
    grid: _Grid


@dataclass
class _NodataFound:
    """Undeclared no-data values found in the phase files of a stack: count per value (of
    ``n_values`` read), the files each is in, of ``n_files``."""

    counts: dict
    files: dict
    n_values: int = 0
    n_files: int = 0

    def add(self, path: Path, arr: np.ndarray, zero: bool) -> None:
        """Count the sentinels of one file's phase (0 too when ``zero``)."""
        for value, n in sentinel_counts(arr, zero).items():
            self.counts[value] = self.counts.get(value, 0) + n
            self.files.setdefault(value, []).append(path.name)
        self.n_values += arr.size
        self.n_files += 1

    def warn(self, where: str, orbit: str | None) -> None:
        """One warning per value found (:func:`lsid.io.plausibility.warn_undeclared_nodata`)."""
        warn_undeclared_nodata(self.counts, self.n_values, where, orbit, self.files, self.n_files)


def _read_pairs(files: list[Path], naming: Naming, nodata: float | None = None) -> tuple[list[_Pair], _NodataFound]:
    """Read every phase file (and its coherence file, when there is one), checking that all are on
    the grid of the first one; values equal to ``nodata`` become NaN. Also returns the undeclared
    no-data values found (a LiCSAR file's zeros among them when it declares no nodata)."""
    pairs: list[_Pair] = []
    found = _NodataFound({}, {})
    for f in files:
        m = naming.phase.search(f.name)
        r, s = _date(m.group(1), f), _date(m.group(2), f)
        if r == s:
            raise InputDataError(f"{f}: reference and secondary dates are the same ({r})")
        arr, transform, crs, tags, file_nodata = _read_band(f, "phase")
        if file_nodata is None and naming.processor in ("hyp3", "gamma"):
            arr = np.where(arr == 0, np.nan, arr)
        arr = mask_nodata(arr, nodata)
        found.add(f, arr, zero=naming.processor == "licsar" and file_nodata is None)
        grid = _Grid(f, arr.shape, transform, crs)
        if pairs:
            pairs[0].grid.require_same(grid)
        _check_phase_units(f, tags)
        if r > s:
            r, s, arr = s, r, -arr
        coh = _read_coherence(f, naming, m.group(1), m.group(2), grid, nodata)
        pairs.append(_Pair(r, s, naming.sign * arr, coh, tags, grid))
    return pairs, found


def _check_phase_units(path: Path, tags: dict) -> None:
    """Refuse a file whose ``DATA_UNITS`` tag names anything but radians."""
    unit = tags.get("DATA_UNITS", "").lower()
    if unit and unit not in ("radians", "radian", "rad"):
        raise InputDataError(f"{path}: DATA_UNITS is {tags['DATA_UNITS']!r}; lsid reads unwrapped phase in radians. "
                             f"Convert the file to radians (phase = -4 pi / wavelength * LOS displacement).")


def _read_coherence(phase_path: Path, naming: Naming, ref: str, sec: str, grid: _Grid,
                    nodata: float | None = None) -> np.ndarray | None:
    """The coherence (rows, cols; unitless) beside a phase file on the phase file's grid, or None
    when the folder has none for this pair; ``nodata`` is read as NaN when it is no coherence (outside
    [0, 1]: a coherence of 0 is a value)."""
    cpath = _find_coherence(phase_path, naming, ref, sec)
    if cpath is None:
        return None
    coh, ctr, _, _, _ = _read_band(cpath, "coherence")
    if coh.shape != grid.shape or ctr != grid.transform:
        raise InputDataError(f"{cpath}: coherence grid differs from its phase file {phase_path.name}")
    return mask_nodata(coh, nodata) if nodata is not None and not 0 <= nodata <= 1 else coh


def _check_phase(phase: np.ndarray, folder: Path, allow_small_phase: bool) -> None:
    """Refuse a phase stack (pair, rows, cols; rad) that is all NaN, or whose |phase| stays below
    METRES_SUSPECT_MAX_ABS (it looks like metres) unless ``allow_small_phase``."""
    if np.isnan(phase).all():
        raise InputDataError(f"{folder}: every phase value is NaN or nodata: nothing to invert. Check the nodata "
                             f"value of the files.")
    if not allow_small_phase:
        check_phase_not_metres(phase, str(folder))


def _stack_attrs(folder: Path, naming: Naming, tags: dict, orbit: str | None, wavelength: float | None,
                 incidence: float | None, heading: float | None) -> dict:
    """The Stack's attributes: wavelength (m; argument, else the WAVELENGTH_METRES tag, else
    Sentinel-1's for HyP3/LiCSAR), orbit (argument, else from the heading or a LiCSAR frame id),
    incidence_angle (deg; argument, else the INCIDENCE_DEGREES tag, else NaN), heading (deg, NaN when
    unknown), source, phase_sign, processor. ``tags`` are those of the first phase file."""
    wl = wavelength or (float(tags["WAVELENGTH_METRES"]) if "WAVELENGTH_METRES" in tags else None)
    if wl is None and naming.sentinel1:
        wl = SENTINEL1_WAVELENGTH_M
    if wl is None:
        raise InputDataError(f"{folder}: the files carry no wavelength tag (WAVELENGTH_METRES): "
                             "pass wavelength=... (m)")
    inc = incidence if incidence is not None else \
        float(tags["INCIDENCE_DEGREES"]) if "INCIDENCE_DEGREES" in tags else np.nan
    orbit = orbit or _infer_orbit(folder, heading)
    if orbit not in ("ascending", "descending"):
        raise InputDataError(f"{folder}: cannot tell the orbit direction: pass orbit='ascending' or 'descending'")
    return {"wavelength": wl, "orbit": orbit, "incidence_angle": inc,
            "heading": heading if heading is not None else np.nan, "source": f"{naming.processor} GeoTIFF: {folder}",
            "phase_sign": naming.sign_note, "processor": naming.processor}


def _stack_dataset(phase: np.ndarray, cohs: list, refs: list, secs: list, grid: _Grid, attrs: dict,
                   folder: Path) -> xr.Dataset:
    """The Stack: ``unwrapped_phase`` (pair, y, x) rad and, when every pair has one, ``coherence``
    (clipped to [0, 1]); pairs sorted by reference then secondary date; the grid's CRS and transform."""
    y, x = pixel_centres(grid.transform, grid.shape)
    data = {"unwrapped_phase": (("pair", "y", "x"), phase,
                                {"long_name": "unwrapped interferometric phase", "units": "rad"})}
    if all(c is not None for c in cohs):
        data["coherence"] = (("pair", "y", "x"), np.clip(np.stack(cohs), 0, 1).astype(np.float32),
                             {"long_name": "interferometric coherence", "units": "1"})
    elif any(c is not None for c in cohs):  # name the pairs, for the network and inversion messages
        day = lambda t: np.datetime_as_string(np.datetime64(t, "D"))  # noqa: E731
        lacking = first_of([f"{day(r)}/{day(s)}" for r, s, c in zip(refs, secs, cohs, strict=True) if c is None])
        attrs = {**attrs, "pairs_without_coherence": lacking}
        log.warning("%s: coherence found for only some pairs (none for %s); coherence not used", folder, lacking)
    order = np.lexsort((np.array(secs), np.array(refs)))
    ds = xr.Dataset(
        data,
        coords={"y": y, "x": x, "reference_date": ("pair", np.array(refs)), "secondary_date": ("pair", np.array(secs))},
        attrs=attrs,
    ).isel(pair=order)
    return ds.rio.write_crs(grid.crs, inplace=True).rio.write_transform(grid.transform, inplace=True)


def orbit_from_heading(heading: float | None) -> str | None:
    """``ascending`` for a satellite heading (deg, clockwise from north) within 90 deg of north,
    ``descending`` otherwise; None when the heading is unknown."""
    if heading is None or not np.isfinite(heading):
        return None
    return "ascending" if abs(((heading + 180) % 360) - 180) < 90 else "descending"


def orbit_from_frame_id(path: Path) -> str | None:
    """The orbit of a LiCSAR frame id in a path (``124D_04854_171313``: D = descending), else None."""
    m = re.search(r"(?<![0-9])\d{3}([AD])_\d{5}_\d{6}(?![0-9])", str(Path(path).resolve()))
    return None if m is None else ("ascending" if m.group(1) == "A" else "descending")


def _infer_orbit(folder: Path, heading: float | None) -> str | None:
    return orbit_from_heading(heading) or orbit_from_frame_id(folder)


def open_velocity(path: str | Path, units: str = "mm/yr", orbit: str | None = None, band: int = 1,
                  nodata: float | None = None) -> xr.Dataset:
    """Read a mean LOS velocity GeoTIFF from any SBAS software into a velocity-only Deformation.

    Parameters
    ----------
    path : the GeoTIFF.
    units : ``mm/yr``, ``cm/yr`` or ``m/yr`` of the file (converted to mm/yr).
    orbit : ``ascending`` or ``descending`` (recorded; needed later for fusion).
    nodata : value to treat as missing when the file does not declare one (the AOI key
        ``inputs.<orbit>.nodata``), in the file's units.

    Positive values must mean motion towards the satellite (flip the sign beforehand otherwise).

    Raises InputDataError for a map without a value, or a grid whose coordinates do not fit its CRS;
    warns (InputWarning) about undeclared no-data values (-9999, -32768, and 0 in a float file that
    declares none), a spread that does not fit ``units`` and 1-degree pixels (:mod:`lsid.io.plausibility`).
    """
    scale = VELOCITY_UNITS_MM_YR
    if units not in scale:
        raise InputDataError(f"units must be one of {', '.join(scale)}, got {units!r}")
    path = Path(path)
    if not path.is_file():
        raise InputDataError(f"{path}: velocity GeoTIFF not found")
    try:
        da_ = rioxarray.open_rasterio(path, masked=True).sel(band=band, drop=True)
    except Exception as exc:  # rasterio raises several types for damaged files
        raise InputDataError(f"{path}: cannot read as GeoTIFF ({exc})") from None
    v = mask_nodata(da_.values.astype(np.float32), nodata)
    where, hint_orbit = str(path), orbit or "<orbit>"
    check_grid(da_.rio.crs, da_.rio.transform(), v.shape, where)
    require_values(v, where, "velocity")
    declared = nodata is not None or da_.encoding.get("_FillValue") is not None
    floating = np.issubdtype(np.dtype(da_.encoding.get("rasterio_dtype", "float32")), np.floating)
    check_nodata(v, where, orbit, zero=floating and not declared)
    fix = f"set inputs.{hint_orbit}.velocity_units: {{unit}} in the AOI file (or pass units='{{unit}}')"
    check_velocity_units(drop_sentinels(v) * scale[units], where, units, fix)
    v *= scale[units]
    return deformation_dataset(
        v, np.isfinite(v), y=da_.y.values, x=da_.x.values, valid_long_name="velocity available",
        attrs={"orbit": orbit or "unknown", "source": str(path), "method": "velocity GeoTIFF (external SBAS)"},
        crs=da_.rio.crs, transform=da_.rio.transform() if da_.rio.crs is not None else None)


def write_cog(da_: xr.DataArray, target: str | Path) -> Path:
    """Write a 2-D map as a Cloud-Optimised GeoTIFF (deflate, internal overviews), atomically."""
    target = Path(target)
    if da_.rio.crs is None:
        raise InputDataError(f"{target}: the map has no CRS; write one with .rio.write_crs first")
    with atomic_path(target) as tmp:
        da_.astype(np.float32).rio.to_raster(tmp, driver="COG", compress="DEFLATE", nodata=np.nan)
    return target
