"""Plausibility of a user's input values: what the readers check beyond the files' structure.

A file can be well formed and still wrong: an undeclared no-data value read as data, phase written in
millimetres, a velocity map in cm/yr declared as mm/yr, a grid under the wrong CRS. The readers
(:mod:`lsid.io.geotiff`, :mod:`lsid.io.licsbas`, :mod:`lsid.io.mintpy`, :mod:`lsid.io.mintpy_results`)
call the checks of this module on what they have read. A check that is certain raises
:class:`lsid.errors.InputDataError`; one that is only likely warns with
:class:`lsid.errors.InputWarning` (a ``UserWarning``) and reads the values as they are. Every message
names the file, the statistics it is based on and the fix.

The thresholds are the named constants below, each with the reason for its value. They were chosen on
real products (PyRate's GAMMA stack of Mexico City, LiCSBAS's Campi Flegrei results, in
``../shared/realdata``) and on the synthetic areas, none of which trips any check:

========================  =====================================  ====================================
quantity                  real / synthetic inputs                implausible (what the checks catch)
========================  =====================================  ====================================
|phase - median|, p99     37-41 mm of LOS (8-9 rad, C-band)      the same in mm read as rad: 160-180 mm
velocity robust spread    3-97 mm/yr (MAD x 1.4826)              cm/yr read as mm/yr: < 0.5 mm/yr
geographic pixel          0.001-0.0014 deg                       1 deg (a file without a geotransform)
========================  =====================================  ====================================

Statistics are computed on at most :data:`SAMPLE_SIZE` regularly spaced values of a map (or of each
interferogram), so a check costs little beside reading the file.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np

from lsid.errors import InputDataError, InputWarning

#: No-data values that GIS and InSAR software write when a file does not say otherwise: -9999 (ENVI,
#: ArcGIS ASCII, many scripts), -32768 (the int16 minimum, SRTM-style rasters) and the float32 minimum
#: (GDAL's and ArcGIS's default for float rasters). None of them is a plausible phase (rad), velocity
#: (mm/yr) or displacement: one occurrence is enough to warn.
NODATA_SENTINELS: tuple[float, ...] = (-9999.0, -32768.0, float(np.finfo(np.float32).min))
#: Relative tolerance of the comparison with a no-data value (float32 has about 7 significant digits,
#: so ``-3.40282347e+38`` typed in an AOI file matches the float32 minimum).
NODATA_RTOL = 1e-6
#: Exact zeros are no data in some formats (GAMMA, HyP3, LiCSAR, MintPy). Where zero is not declared
#: and not already read as no data, they are reported when they are at least this share of the values
#: ...
ZERO_NODATA_MIN_SHARE = 1e-3
#: ... and at least this many: a referenced product holds one exact zero (its reference pixel), a
#: continuous float field essentially no other.
ZERO_NODATA_MIN_COUNT = 2
#: ... and this many times more than the values one quantum away from 0 (the smallest non-zero
#: |value|): a map rounded to 0.1 mm/yr holds about half as many exact zeros as values of ±0.1
#: (measured: 14 against 29 on a 3 mm/yr-noise map), a zero fill many more than anything near them.
ZERO_EXCESS = 1.5

#: Phase (rad) whose largest |value| stays below this looks like metres of LOS displacement (a
#: radian stack that small would hold less than 2 mm of signal at C-band); the interferogram reader
#: refuses it unless told ``allow_small_phase=True``.
PHASE_METRES_SUSPECT_MAX_ABS = 0.5
#: Phase read as radians whose typical interferogram spans more LOS displacement than this looks like
#: millimetres (or another length unit). The statistic: for each interferogram, the 99th percentile
#: of |phase - its median| turned into LOS mm (``wavelength / (4 pi)``); its median over the pairs.
#: Real and synthetic Sentinel-1 stacks give 37-41 mm (8-9 rad; Mexico City's subsidence included),
#: strong tropospheric delay over high relief a few tens of mm more; the same stacks written in mm
#: and read as rad give 160-180 mm (millimetres are 4.4 times radians at C-band, 19 times at L-band).
#: A quiet scene in mm can stay below it: only a DATA_UNITS tag tells for certain.
PHASE_MM_SUSPECT_LOS_MM = 120.0

#: Velocity units a map may be declared in, and their factor to mm/yr.
VELOCITY_UNITS_MM_YR: dict[str, float] = {"mm/yr": 1.0, "cm/yr": 10.0, "m/yr": 1000.0}
#: A velocity map (mm/yr after the declared unit's conversion) whose robust spread (1.4826 x the
#: median absolute deviation) stays below this ...
VELOCITY_MIN_SPREAD_MM_YR = 0.5
#: ... and whose 99th percentile of |v - median| stays below this looks like a larger unit than
#: declared (cm/yr or m/yr read as mm/yr: 10 or 1000 times too small). Real maps in mm/yr spread over
#: a few mm/yr (InSAR noise, atmosphere, deformation: 3 mm/yr on the synthetic areas, 9-10 at Campi
#: Flegrei, 97 in Mexico City); the same in cm/yr spreads over a few tenths.
VELOCITY_MIN_P99_MM_YR = 5.0
#: A velocity map whose robust spread exceeds this (mm/yr) ...
VELOCITY_MAX_SPREAD_MM_YR = 200.0
#: ... or whose 99th percentile of |v - median| exceeds this (mm/yr) looks like a smaller unit than
#: declared (mm/yr read as m/yr: 1000 times too large). C-band SBAS cannot follow more than about a
#: quarter wavelength per revisit (14 mm in 6-12 days: 400-850 mm/yr), and most of a scene is slow:
#: Mexico City's subsidence bowl, among the fastest on Earth, gives a robust spread of 97 mm/yr and a
#: 99th percentile of 196 mm/yr (PyRate's cropA inverted by lsid).
VELOCITY_MAX_P99_MM_YR = 1000.0
#: The robust spread (mm/yr) of a typical velocity map: of the units a map could be in, the one that
#: brings its spread nearest to this (on a log scale) is suggested first.
TYPICAL_SPREAD_MM_YR = 5.0

#: A geographic grid with pixels this large (deg, about 55 km) is no InSAR product: a GeoTIFF without a
#: geotransform gets 1-degree pixels at (0, 0). LiCSAR/LiCSBAS products have 0.001-0.01 deg.
COARSE_PIXEL_DEG = 0.5
#: A projected grid whose coordinates all lie within +-180 / +-90 and whose pixel is smaller than this
#: (map units, usually m) is a grid in degrees under a projected CRS: no InSAR product has sub-metre
#: pixels at a projection's false origin.
DEGREE_LIKE_MAX_PIXEL = 1.0

#: Values a statistic is computed on, at most (regularly spaced through the map).
SAMPLE_SIZE = 200_000


def _fmt(value: float) -> str:
    """A no-data value as one would type it in the AOI file (enough digits to match it)."""
    return f"{value:.9g}"


def nodata_fix(orbit: str | None, value: float) -> str:
    """The fix that declares ``value`` as no data: the AOI key ``inputs.<orbit>.nodata``."""
    return (f"set inputs.{orbit or '<orbit>'}.nodata: {_fmt(value)} in the AOI file (or pass nodata={_fmt(value)} "
            f"to the reader)")


def equals_nodata(a, value: float):
    """Boolean array: where ``a`` (numpy or dask) equals the no-data ``value`` (within NODATA_RTOL;
    exactly for 0). No arithmetic on ``a``, so no overflow near the float32 limits."""
    tol = NODATA_RTOL * abs(value)
    big = float(np.finfo(np.float32).max)  # bounds kept within float32, so comparing with one does not overflow
    return (a >= max(value - tol, -big)) & (a <= min(value + tol, big))


def mask_nodata(a, nodata: float | None):
    """``a`` as float32 with NaN where it equals ``nodata`` (numpy arrays in memory, dask arrays
    lazily); ``a`` unchanged when ``nodata`` is None or NaN (NaN is no data already)."""
    if nodata is None or np.isnan(nodata):
        return a
    if type(a).__module__.startswith("dask"):
        import dask.array as dsa

        return dsa.where(equals_nodata(a, nodata), np.float32(np.nan), a)
    a = np.asarray(a, dtype=np.float32)
    return np.where(equals_nodata(a, nodata), np.float32(np.nan), a).astype(np.float32, copy=False)


def sentinel_counts(a: np.ndarray, zero: bool = False) -> dict[float, int]:
    """How many values of ``a`` equal each of NODATA_SENTINELS (and 0, when ``zero``: the format
    uses 0 for no data and the reader has not already read it so); only values found are listed."""
    values = NODATA_SENTINELS + ((0.0,) if zero else ())
    counts = {v: int(np.count_nonzero(equals_nodata(a, v))) for v in values}
    if counts.get(0.0) and not _zeros_stand_out(a, counts[0.0]):
        counts[0.0] = 0  # a rounded map's zeros: values like their neighbours
    return {v: n for v, n in counts.items() if n}


def _zeros_stand_out(a: np.ndarray, zeros: int) -> bool:
    """True when the exact zeros of ``a`` outnumber, :data:`ZERO_EXCESS` times, the values one quantum
    (the smallest non-zero |value|) away from 0: a fill, not the zeros of a rounded map."""
    flat = np.asarray(a, dtype=np.float64).ravel()
    keep = np.isfinite(flat) & (flat != 0)
    for sv in NODATA_SENTINELS:
        keep &= ~equals_nodata(flat, sv)
    nonzero = np.abs(flat[keep])
    if not nonzero.size:
        return True
    quantum = nonzero.min()
    near = int(np.count_nonzero(nonzero <= quantum * (1 + 1e-6)))
    return zeros > ZERO_EXCESS * near


def _significant(value: float, count: int, n_values: int) -> bool:
    if value == 0:
        return count >= ZERO_NODATA_MIN_COUNT and count >= ZERO_NODATA_MIN_SHARE * n_values
    return count >= 1


#: How to declare a no-data value in a GeoTIFF itself (``{value}``: the value).
GEOTIFF_DECLARE = "gdal_edit.py -a_nodata {value} FILE"


def warn_undeclared_nodata(counts: Mapping[float, int], n_values: int, where: str, orbit: str | None,
                           files: Mapping[float, Sequence[str]] | None = None, n_files: int | None = None,
                           declare: str | None = GEOTIFF_DECLARE) -> None:
    """Warn once per no-data value of ``counts`` (from :func:`sentinel_counts`, summed over the files of
    a stack) that is significant (:data:`ZERO_NODATA_MIN_SHARE`, :data:`ZERO_NODATA_MIN_COUNT` for 0;
    any occurrence of the others): its count, its share of the ``n_values`` values read, the files it is
    in (``files``: value -> names, of ``n_files``) and the fix, ``inputs.<orbit>.nodata`` (or, with
    ``declare``, the command that declares it in the files)."""
    for value, count in counts.items():
        if not _significant(value, count, n_values):
            continue
        inside = ""
        if files and files.get(value):
            names = list(files[value])
            inside = (f", in {len(names)} of {n_files or len(names)} files, e.g. {', '.join(names[:3])}")
        zero_note = " (the fill value of several InSAR processors)" if value == 0 else ""
        in_files = f"; or declare it in the files ({declare.format(value=_fmt(value))})" if declare else ""
        warnings.warn(
            f"{where}: {count:,} values ({100 * count / max(n_values, 1):.3g} % of those read{inside}) are exactly "
            f"{_fmt(value)}, a common no-data value{zero_note} that the files do not declare: lsid reads them as "
            f"data. If they mark missing data, {nodata_fix(orbit, value)}{in_files}.", InputWarning, stacklevel=3)


def check_nodata(a: np.ndarray, where: str, orbit: str | None, zero: bool = False,
                 declare: str | None = GEOTIFF_DECLARE) -> dict[float, int]:
    """:func:`sentinel_counts` of one map, warned about by :func:`warn_undeclared_nodata`; returns the counts."""
    counts = sentinel_counts(a, zero)
    warn_undeclared_nodata(counts, int(np.size(a)), where, orbit, declare=declare)
    return counts


def drop_sentinels(a: np.ndarray) -> np.ndarray:
    """``a`` (float) with NaN at every NODATA_SENTINELS value: for statistics taken after a unit
    conversion, which would hide them (-9999 m/yr is -9999000 mm/yr)."""
    out = np.array(a, dtype=np.float32)
    for s in NODATA_SENTINELS:
        out[equals_nodata(out, s)] = np.nan
    return out


def _sample(a: np.ndarray) -> np.ndarray:
    """At most SAMPLE_SIZE regularly spaced finite values of ``a`` (float64), no-data sentinels left out."""
    flat = np.asarray(a).ravel()
    flat = flat[:: max(1, flat.size // SAMPLE_SIZE)].astype(np.float64)
    keep = np.isfinite(flat)
    for s in NODATA_SENTINELS:
        keep &= ~equals_nodata(flat, s)
    return flat[keep]


def robust_stats(a: np.ndarray) -> dict[str, float]:
    """``median``, ``spread`` (1.4826 x the median absolute deviation: the standard deviation for
    normal values, blind to a few outliers), ``p99`` (99th percentile of |a - median|) and ``n`` (the
    values used) of the finite values of ``a`` (sampled, sentinels left out); NaN when there are none."""
    s = _sample(a)
    if s.size == 0:
        return {"median": np.nan, "spread": np.nan, "p99": np.nan, "n": 0}
    med = float(np.median(s))
    dev = np.abs(s - med)
    return {"median": med, "spread": float(1.4826 * np.median(dev)), "p99": float(np.percentile(dev, 99)),
            "n": int(s.size)}


def require_values(a: np.ndarray, where: str, what: str, fix: str = "") -> None:
    """Raise InputDataError when the map ``a`` is empty or holds no finite value (all NaN or no data)."""
    if np.size(a) == 0:
        raise InputDataError(f"{where}: the {what} is empty ({' x '.join(map(str, np.shape(a)))} pixels): nothing "
                             f"to read. {fix}".rstrip())
    if not np.isfinite(a).any():
        raise InputDataError(f"{where}: every {what} value is NaN or no data: nothing to read. Check the file's "
                             f"no-data value (and inputs.<orbit>.nodata). {fix}".rstrip())


def phase_los_p99_mm(phase: np.ndarray, wavelength: float) -> tuple[float, float]:
    """(median over the interferograms of the 99th percentile of |phase - the interferogram's median|,
    rad; the same as LOS displacement, mm) of a phase stack (pair, rows, cols), NaN = no data."""
    p99 = []
    for k in range(phase.shape[0]):
        s = _sample(phase[k])
        if s.size:
            p99.append(np.percentile(np.abs(s - np.median(s)), 99))
    rad = float(np.median(p99)) if p99 else np.nan
    return rad, float(rad * wavelength / (4 * np.pi) * 1000.0)


def check_phase_not_metres(phase: np.ndarray, where: str) -> None:
    """Raise InputDataError when no |phase| of the stack reaches PHASE_METRES_SUSPECT_MAX_ABS: these
    look like metres of LOS displacement, not radians (the caller decides whether to check)."""
    if np.nanmax(np.abs(phase)) < PHASE_METRES_SUSPECT_MAX_ABS:
        raise InputDataError(
            f"{where}: |phase| never exceeds {PHASE_METRES_SUSPECT_MAX_ABS} rad: these look like metres (LOS "
            f"displacement), not radians. Convert with phase = -4 pi / wavelength * displacement_m, or pass "
            f"allow_small_phase=True if the signal really is that small."
        )


def check_phase_scale(phase: np.ndarray, where: str, wavelength: float) -> None:
    """Warn when the phase stack (pair, rows, cols; read as rad; NaN = no data) spans more LOS
    displacement than PHASE_MM_SUSPECT_LOS_MM in a typical interferogram (:func:`phase_los_p99_mm`):
    it looks like millimetres, not radians."""
    rad, mm = phase_los_p99_mm(phase, wavelength)
    if not mm > PHASE_MM_SUSPECT_LOS_MM:
        return
    warnings.warn(
        f"{where}: the phase spreads too far for radians: in a typical interferogram (median over {phase.shape[0]} "
        f"pairs) the 99th percentile of |phase - its median| is {rad:.0f}, which as radians is {mm:.0f} mm of LOS "
        f"displacement (wavelength {wavelength:g} m; Sentinel-1 stacks stay within a few tens of mm, the check's "
        f"limit is {PHASE_MM_SUSPECT_LOS_MM:g} mm). The values look like millimetres (or another length unit) of "
        f"LOS displacement: velocities would come out {wavelength / (4 * np.pi) * 1000:.1f} times too large. Convert "
        f"the files to radians (phase = -4 pi / wavelength * d_LOS, d_LOS in m); if they are radians (a very large "
        f"deformation), ignore this warning.", InputWarning, stacklevel=2)


def _unit_alternatives(stats: dict, declared: str) -> str:
    """What the map's spread would be under each other unit: '0.9 mm/yr as cm/yr, 90 mm/yr as m/yr'."""
    raw = stats["spread"] / VELOCITY_UNITS_MM_YR[declared]
    return ", ".join(f"{raw * f:.3g} mm/yr as {u}" for u, f in VELOCITY_UNITS_MM_YR.items() if u != declared)


def _by_likelihood(units: list[str], stats: dict, declared: str) -> list[str]:
    """``units`` ordered by how near each brings the map's robust spread to TYPICAL_SPREAD_MM_YR."""
    raw = (stats["spread"] or stats["p99"] or 1e-12) / VELOCITY_UNITS_MM_YR[declared]
    return sorted(units, key=lambda u: abs(np.log10(raw * VELOCITY_UNITS_MM_YR[u] / TYPICAL_SPREAD_MM_YR)))


def check_velocity_units(v_mm_yr: np.ndarray, where: str, declared: str, fix: str) -> dict[str, float]:
    """Warn when a velocity map (mm/yr, converted from the ``declared`` unit, one of
    VELOCITY_UNITS_MM_YR; NaN = no data) spreads too little (VELOCITY_MIN_SPREAD_MM_YR and
    VELOCITY_MIN_P99_MM_YR: a larger unit than declared) or too much (VELOCITY_MAX_SPREAD_MM_YR or
    VELOCITY_MAX_P99_MM_YR: a smaller unit) for the declared unit. ``fix`` says how to declare another
    unit, with ``{unit}`` where the unit goes. Returns :func:`robust_stats` of the map."""
    stats = robust_stats(v_mm_yr)
    if stats["n"] == 0:
        return stats
    small = stats["spread"] < VELOCITY_MIN_SPREAD_MM_YR and stats["p99"] < VELOCITY_MIN_P99_MM_YR
    large = stats["spread"] > VELOCITY_MAX_SPREAD_MM_YR or stats["p99"] > VELOCITY_MAX_P99_MM_YR
    if not (small or large):
        return stats
    larger = [u for u, f in VELOCITY_UNITS_MM_YR.items() if f > VELOCITY_UNITS_MM_YR[declared]]
    smaller = [u for u, f in VELOCITY_UNITS_MM_YR.items() if f < VELOCITY_UNITS_MM_YR[declared]]
    likely = _by_likelihood(larger if small else smaller, stats, declared)
    how = "little" if small else "much"
    if likely:
        looks = (f"They look like {' or '.join(likely)} ({_unit_alternatives(stats, declared)}): "
                 f"{fix.format(unit=likely[0])}.")
    else:  # already the largest (smallest) unit lsid knows: the values are odd, not mis-declared
        looks = ("They fit none of mm/yr, cm/yr, m/yr: check what the file holds (a mean LOS velocity, positive "
                 "towards the satellite?).")
    warnings.warn(
        f"{where}: declared in {declared}, the velocities spread too {how} for it: robust spread "
        f"{stats['spread']:.3g} mm/yr, 99th percentile of |v - median| {stats['p99']:.3g} mm/yr (median "
        f"{stats['median']:.3g} mm/yr; real maps spread over a few mm/yr, the checks' limits are "
        f"{VELOCITY_MIN_SPREAD_MM_YR:g} / {VELOCITY_MIN_P99_MM_YR:g} and {VELOCITY_MAX_SPREAD_MM_YR:g} / "
        f"{VELOCITY_MAX_P99_MM_YR:g} mm/yr). {looks}", InputWarning, stacklevel=2)
    return stats


def _extent(transform, shape: tuple[int, int]) -> tuple[float, float, float, float, float]:
    """(xmin, xmax, ymin, ymax, pixel size) of a grid: its corners through the affine ``transform``."""
    rows, cols = shape
    corners = [transform * (c, r) for c in (0, cols) for r in (0, rows)]
    xs, ys = [p[0] for p in corners], [p[1] for p in corners]
    pixel = max(np.hypot(transform.a, transform.d), np.hypot(transform.b, transform.e))
    return min(xs), max(xs), min(ys), max(ys), float(pixel)


def check_grid(crs, transform, shape: tuple[int, int], where: str, fix_geographic: str = "",
               fix_projected: str = "") -> None:
    """Check that a grid's coordinates fit its CRS (nothing to check without a CRS or transform).

    - geographic CRS, coordinates beyond -180..360 / -90..90 (one pixel of slack): projected
      coordinates under a wrong CRS, InputDataError (``fix_geographic``);
    - projected CRS, every coordinate within +-180 / +-90 and pixels under DEGREE_LIKE_MAX_PIXEL:
      degrees under a projected CRS, InputDataError (``fix_projected``);
    - geographic CRS with pixels of COARSE_PIXEL_DEG or more: a warning (a missing geotransform).
    """
    if crs is None or transform is None:
        return
    from pyproj import CRS

    crs = CRS.from_user_input(crs)
    xmin, xmax, ymin, ymax, pixel = _extent(transform, shape)
    span = f"x {xmin:.6g} .. {xmax:.6g}, y {ymin:.6g} .. {ymax:.6g}"
    if crs.is_geographic:
        if xmin < -180 - pixel or xmax > 360 + pixel or ymin < -90 - pixel or ymax > 90 + pixel:
            raise InputDataError(
                f"{where}: the CRS is geographic ({crs.name}, degrees) but the grid's coordinates run {span}, "
                f"beyond +-180 deg / +-90 deg: these are projected coordinates (metres) under a wrong CRS. "
                f"{fix_geographic or 'Give the file its projected CRS (gdal_edit.py -a_srs EPSG:<code> FILE).'}")
        if pixel >= COARSE_PIXEL_DEG:
            warnings.warn(
                f"{where}: pixels of {pixel:g} deg (about {pixel * 111:.0f} km), far coarser than any InSAR product "
                f"(limit {COARSE_PIXEL_DEG:g} deg; grid {span}): the georeferencing looks wrong (a GeoTIFF without a "
                f"geotransform gets 1-degree pixels at 0, 0). Check the file's transform (gdalinfo) and give it the "
                f"right one (gdal_edit.py -a_ullr ... or -a_srs).", InputWarning, stacklevel=2)
    elif crs.is_projected:
        inside = xmin >= -180 and xmax <= 360 and ymin >= -90 and ymax <= 90
        if inside and pixel < DEGREE_LIKE_MAX_PIXEL:
            unit = crs.axis_info[0].unit_name if crs.axis_info else "m"
            raise InputDataError(
                f"{where}: the CRS is projected ({crs.name}, {unit}) but the grid's coordinates ({span}) and its "
                f"pixel of {pixel:g} {unit} look like degrees of longitude and latitude. "
                f"{fix_projected or 'Give the file its geographic CRS (gdal_edit.py -a_srs EPSG:4326 FILE).'}")


__all__ = [
    "COARSE_PIXEL_DEG", "DEGREE_LIKE_MAX_PIXEL", "GEOTIFF_DECLARE", "NODATA_RTOL", "NODATA_SENTINELS",
    "PHASE_METRES_SUSPECT_MAX_ABS", "PHASE_MM_SUSPECT_LOS_MM", "SAMPLE_SIZE", "TYPICAL_SPREAD_MM_YR",
    "VELOCITY_MAX_P99_MM_YR", "VELOCITY_MAX_SPREAD_MM_YR", "VELOCITY_MIN_P99_MM_YR", "VELOCITY_MIN_SPREAD_MM_YR",
    "VELOCITY_UNITS_MM_YR", "ZERO_NODATA_MIN_COUNT", "ZERO_NODATA_MIN_SHARE", "check_grid", "check_nodata",
    "check_phase_not_metres", "check_phase_scale", "check_velocity_units", "drop_sentinels", "equals_nodata",
    "mask_nodata", "nodata_fix", "phase_los_p99_mm", "require_values", "robust_stats", "sentinel_counts",
    "warn_undeclared_nodata",
]
