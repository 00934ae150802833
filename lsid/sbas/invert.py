"""SBAS-InSAR inversion of a Stack into a Deformation (displacement time series and mean LOS velocity).

``invert`` splits the scene into blocks of pixels (dask), solves every pixel of a block at once with
:mod:`lsid.sbas.kernels` (only that pixel's valid pairs, its own weights), and returns the
Deformation contract of docs/design.md. The same call runs on the local threads or on a
dask.distributed ``Client``.
"""

from __future__ import annotations

import functools
import logging
import warnings
from dataclasses import dataclass

import dask.array as da
import numpy as np
import xarray as xr

from lsid.constants import DAYS_PER_YEAR, MM_PER_M
from lsid.errors import InputDataError
from lsid.io.contracts import check_stack
from lsid.sbas import kernels
from lsid.sbas.network import BRIDGE_OPTIONS, components, describe_split

log = logging.getLogger(__name__)

WEIGHTS = ("no", "coh", "var")
#: Default number of looks for the 'var' weights when the Stack does not say.
DEFAULT_LOOKS = 20
#: Coherence is clipped to this range before it becomes a weight (MintPy's epsilon is 0.05).
COHERENCE_CLIP = (0.05, 0.9975)
#: Default threshold of temporal coherence for a reliable pixel (MintPy's default 0.7).
MIN_TEMPORAL_COHERENCE = 0.7
#: Output layers after the N displacement dates in a block.
_EXTRA = kernels.EXTRA_OUTPUTS
#: Local dask scheduler of the inversion (blocks on threads; see benchmarks/sbas.py for how they scale).
SCHEDULER = "threads"
#: Blocks examined to choose the pixel all interferograms are referred to (``reference_point="auto"``),
#: and the most pairs whose coherence is averaged to rank the candidates (spread over the series).
REFERENCE_SAMPLE_BLOCKS = 12
REFERENCE_SAMPLE_PAIRS = 32


#: Coherence step of the phase-variance look-up table, and the largest number of looks it uses
#: (beyond ~80 looks the PDF terms overflow and the variance no longer changes noticeably).
VARIANCE_LUT_STEP = 0.005
MAX_LOOKS = 80


def phase_pdf(phi: np.ndarray, coherence: np.ndarray, looks: int) -> np.ndarray:
    """Marginal probability density of the multilooked interferometric phase of a distributed
    scatterer, for phases ``phi`` (rad, column) and coherences (row): Tough et al. (1995), eq. 66;
    Hanssen (2001), eq. 4.2.23. Returns an array of shape (len(phi), len(coherence))."""
    from math import gamma, pi

    L = int(looks)
    g = np.asarray(coherence, dtype=np.float64).reshape(1, -1)
    beta = g * np.cos(np.asarray(phi, dtype=np.float64).reshape(-1, 1))
    one_b2 = 1.0 - beta**2
    lead = (1.0 - g**2) ** L / (2 * pi)
    first = gamma(2 * L - 1) / (gamma(L) ** 2 * 2 ** (2 * (L - 1))) * (
        (2 * L - 1) * beta / one_b2 ** (L + 0.5) * (pi / 2 + np.arcsin(beta)) + 1.0 / one_b2**L)
    series = 0.0
    if L > 1:
        for r in range(L - 1):
            coef = gamma(L - 0.5) / gamma(L - 0.5 - r) * gamma(L - 1 - r) / gamma(L - 1)
            series = series + coef * (1 + (2 * r + 1) * beta**2) / one_b2 ** (r + 2)
        series = series / (2 * (L - 1))
    return lead * (first + series)


@functools.lru_cache(maxsize=16)
def _variance_table(looks: int) -> tuple[np.ndarray, np.ndarray]:
    """Phase variance (rad^2) on a grid of coherence (bin centres), by integrating the phase PDF
    with as many phase samples as coherence bins (MintPy's scheme, so that both weight alike)."""
    n = int(round(1.0 / VARIANCE_LUT_STEP))
    coh = np.linspace(VARIANCE_LUT_STEP, 1.0, n) - VARIANCE_LUT_STEP / 2
    phi = np.linspace(-np.pi, np.pi, n)
    var = (phi[:, None] ** 2 * phase_pdf(phi, coh, looks)).sum(axis=0) * (2 * np.pi / n)
    bad = var <= 0
    var[bad] = var[~bad].min() if (~bad).any() else np.finfo(float).eps
    return coh, var


def phase_variance(coherence: np.ndarray, looks: int) -> np.ndarray:
    """Phase variance (rad^2) of a multilooked interferogram of a distributed scatterer, from its
    coherence and number of looks (``looks`` capped at MAX_LOOKS), via a look-up table of the
    integrated phase PDF (:func:`phase_pdf`) with the same bins as MintPy's ``var`` weights.
    Coherence below COHERENCE_CLIP[0] (or NaN) counts as COHERENCE_CLIP[0]."""
    coh_lut, var_lut = _variance_table(int(min(max(looks, 1), MAX_LOOKS)))
    g = np.nan_to_num(np.asarray(coherence, dtype=np.float64), nan=COHERENCE_CLIP[0])
    g = np.clip(np.maximum(g, COHERENCE_CLIP[0]), coh_lut[0], coh_lut[-1])
    idx = ((g - coh_lut[0]) / VARIANCE_LUT_STEP).astype(np.int16)
    return var_lut[idx].astype(np.float32)


def _block(phase, coh, *, ref_idx, sec_idx, dt, to_mm, kind, looks, ref_phase):
    """Invert one block (M, ny, nx) of the stack: (N + extras, ny, nx) float32 (see kernels.invert_pixels)."""
    M, ny, nx = phase.shape
    lut = _variance_table(int(min(max(looks, 1), MAX_LOOKS))) if kind == "var" else None
    out = kernels.invert_pixels(phase.reshape(M, -1), None if coh is None else coh.reshape(M, -1), ref_idx,
                                sec_idx, dt, to_mm, weight=kind, ref_phase=ref_phase, variance_lut=lut,
                                coherence_clip=COHERENCE_CLIP)
    return out.reshape(-1, ny, nx)


def _block_no_coherence(phase, **kw):
    return _block(phase, None, **kw)


def invert(
    stack: xr.Dataset,
    weight: str = "no",
    looks: int | None = None,
    reference_point: tuple[float, float] | str | None = "auto",
    reference_date=None,
    min_temporal_coherence: float = MIN_TEMPORAL_COHERENCE,
    block: int = 256,
    client=None,
    progress: bool = False,
) -> xr.Dataset:
    """Invert a Stack into a Deformation.

    Parameters
    ----------
    stack : Stack (docs/design.md), lazily opened or in memory.
    weight : ``no`` (unweighted), ``coh`` (coherence) or ``var`` (inverse phase variance from
        coherence and looks, from the multilook phase PDF, as MintPy's default); ``coh``/``var``
        need a coherence layer.
    looks : number of looks for ``var`` (default: the Stack's ``looks`` attribute, else 20).
    reference_point : ``"auto"`` (a coherent, stable pixel valid in every pair), ``(x, y)`` in the
        Stack's map coordinates, or None (no spatial reference: displacement relative to the
        inversion's own datum).
    reference_date : date (str or datetime64) the series is zero at; default the first date.
    min_temporal_coherence : threshold of the ``valid`` mask.
    block : block edge in pixels (memory grows with block^2 x pairs).
    client : a dask.distributed Client to compute on (default: local threads).
    progress : show a progress bar (local threads only).

    Returns
    -------
    Deformation: ``displacement`` (time, y, x) mm, ``velocity`` and ``velocity_std`` (y, x) mm/yr,
    ``temporal_coherence``, ``n_pairs``, ``valid``; geometry layers carried over. LOS positive towards
    the satellite.
    """
    looks = _check_arguments(stack, weight, looks)
    net = _network(stack)
    to_mm = -float(stack.attrs["wavelength"]) / (4 * np.pi) * MM_PER_M  # phase (rad) -> LOS displacement (mm)
    # Every unwrapped interferogram carries its own constant (the unwrapper's reference): refer all of
    # them to one pixel, valid in every pair, before the inversion (as MintPy's reference_point step;
    # the kernel subtracts the reference pixel's phase as it reads each block).
    ref_rc, ref_phase = _pre_reference(stack, reference_point, block)
    out = _solve(stack, net, to_mm=to_mm, weight=weight, looks=looks, ref_phase=ref_phase, block=block,
                 client=client, progress=progress)
    N = net.dates.size
    disp, extra = out[:N], dict(zip(_EXTRA, out[N:], strict=True))
    ds = _deformation(stack, disp, extra, net, weight=weight, looks=looks, reference_date=reference_date,
                      min_temporal_coherence=min_temporal_coherence)
    if ref_rc is None:
        return ds
    if not ds.valid.values.any():
        raise InputDataError(_no_reliable_pixel(stack, net, extra, min_temporal_coherence))
    if isinstance(reference_point, str):  # move the datum to a stable spot (exact: the model is linear)
        mcoh = extra["mean_coherence"]  # NaN when the coherence was not read (weight="no")
        ref_rc = auto_reference_point(ds, mcoh if np.isfinite(mcoh).any() else None)  # among pixels of every pair
    return _refer(ds, *ref_rc)


def _check_arguments(stack: xr.Dataset, weight: str, looks: int | None) -> int:
    """Check the Stack contract and the weighting; returns the number of looks for ``var`` (the
    argument, else the Stack's ``looks`` attribute, else DEFAULT_LOOKS)."""
    check_stack(stack)
    if weight not in WEIGHTS:
        raise ValueError(f"weight must be one of {WEIGHTS}, got {weight!r}")
    if weight != "no" and "coherence" not in stack:
        lacking = stack.attrs.get("pairs_without_coherence")
        why = f" (these pairs have no coherence file: {lacking})" if lacking else ""
        raise InputDataError(f"weight={weight!r} (sbas.weight) needs a 'coherence' layer in the stack, and it has "
                             f"none{why}: supply coherence for every pair, or use weight='no'")
    return int(looks or stack.attrs.get("looks", DEFAULT_LOOKS))


@dataclass(frozen=True)
class _Network:
    """The small-baseline network of a Stack: ``dates`` (N,) datetime64[D], sorted; ``ref_idx`` and
    ``sec_idx`` (M,) the index in ``dates`` of each pair's reference and secondary date; ``dt`` (N-1,)
    years between consecutive dates; ``n_components`` of the network."""

    dates: np.ndarray
    ref_idx: np.ndarray
    sec_idx: np.ndarray
    dt: np.ndarray
    n_components: int


def _network(stack: xr.Dataset) -> _Network:
    """The network of ``stack``; refuses fewer than 3 dates and warns (at the caller of
    :func:`invert`) when the network splits into several components."""
    ref = stack.reference_date.values.astype("datetime64[D]")
    sec = stack.secondary_date.values.astype("datetime64[D]")
    n_comp, dates, _ = components(ref, sec)
    if dates.size < 3:
        raise InputDataError(f"the stack spans only {dates.size} dates; a time series needs at least 3")
    if n_comp > 1:
        warnings.warn(f"{describe_split(ref, sec)} ({n_comp} connected components). The minimum-norm solution "
                      f"links them with zero rate over the unobserved intervals, so their relative displacement is "
                      f"not measured; bridge them with {BRIDGE_OPTIONS}", UserWarning, stacklevel=3)
    days = (dates - dates[0]).astype(float)
    return _Network(dates, np.searchsorted(dates, ref), np.searchsorted(dates, sec), np.diff(days) / DAYS_PER_YEAR,
                    n_comp)


def _no_reliable_pixel(stack: xr.Dataset, net: _Network, extra: dict[str, np.ndarray], min_tcoh: float) -> str:
    """Why no pixel of the inversion is reliable, and what to change: a split network (every pixel has
    an interval no pair observes), intervals no valid pair spans, or the temporal-coherence floor."""
    solved = np.isfinite(extra["velocity"])
    if not solved.any():
        return "no pixel has a valid phase in any kept interferogram: check the input's nodata and the network"
    unspanned = extra["n_unspanned"][solved] > 0
    if unspanned.all():
        if net.n_components > 1:
            split = describe_split(stack.reference_date.values, stack.secondary_date.values)
            return (f"{split}, so no pixel's time series is measured over the whole period (whatever "
                    f"sbas.min_temporal_coherence); bridge the parts with {BRIDGE_OPTIONS}")
        return ("every pixel has an interval between two dates that none of its valid interferograms spans (pairs "
                "without valid pixels there, or too few pairs per date): keep more pairs (a larger "
                "sbas.max_temporal_baseline_days, a lower sbas.min_mean_coherence, a larger sbas.max_pairs)")
    best = float(np.nanmax(extra["temporal_coherence"][solved][~unspanned]))
    return (f"every pixel fails the temporal coherence test (the best reaches {best:.2f}, the floor "
            f"sbas.min_temporal_coherence is {min_tcoh}): lower sbas.min_temporal_coherence, or improve the "
            f"interferograms")


def _pre_reference(stack: xr.Dataset, reference_point, block: int) -> tuple[tuple[int, int] | None, np.ndarray]:
    """(row, col) of the pixel the interferograms are referred to before the inversion (None without
    a spatial reference) and its phase in every pair ((M,) rad; zeros without one)."""
    if reference_point is None:
        return None, np.zeros(stack.unwrapped_phase.shape[0])
    ref_rc = _pre_reference_pixel(stack, reference_point, block)
    return ref_rc, np.asarray(stack.unwrapped_phase[:, ref_rc[0], ref_rc[1]].values, dtype=np.float64)


def _solve(stack: xr.Dataset, net: _Network, *, to_mm: float, weight: str, looks: int, ref_phase: np.ndarray,
           block: int, client, progress: bool) -> np.ndarray:
    """Solve every pixel, block by block: (N + len(EXTRA_OUTPUTS), ny, nx) float32, the N
    displacements (mm) then the kernel's extra layers (see kernels.invert_pixels)."""
    M = stack.unwrapped_phase.shape[0]
    N = net.dates.size

    def as_dask(v):
        d = v.data if isinstance(v.data, da.Array) else da.from_array(v.data, chunks=-1)
        return d.rechunk((M, block, block))

    phase = as_dask(stack.unwrapped_phase)
    chunks = ((N + len(_EXTRA),),) + phase.chunks[1:]
    kw = dict(ref_idx=net.ref_idx, sec_idx=net.sec_idx, dt=net.dt, to_mm=to_mm, kind=weight, looks=looks,
              ref_phase=ref_phase)
    if weight != "no":
        arr = da.map_blocks(_block, phase, as_dask(stack.coherence), chunks=chunks, dtype=np.float32, **kw)
    else:
        arr = da.map_blocks(_block_no_coherence, phase, chunks=chunks, dtype=np.float32, **kw)
    if client is not None:
        return client.compute(arr).result()
    # blocks land straight in one preallocated array: the result is held once, not twice
    out = np.empty(arr.shape, dtype=np.float32)
    if progress:
        from tqdm import tqdm
        from tqdm.dask import TqdmCallback

        with TqdmCallback(desc=f"SBAS {stack.attrs.get('orbit', '')} ({M} pairs, {N} dates)", tqdm_class=tqdm):
            da.store(arr, out, lock=False, scheduler=SCHEDULER)
    else:
        da.store(arr, out, lock=False, scheduler=SCHEDULER)
    return out


def _deformation(stack: xr.Dataset, disp: np.ndarray, extra: dict[str, np.ndarray], net: _Network, *,
                 weight: str, looks: int, reference_date, min_temporal_coherence: float) -> xr.Dataset:
    """The Deformation of the solved layers (``disp`` (N, ny, nx) mm, modified in place, and the
    kernel's ``extra`` layers), before any spatial reference: series zero at ``reference_date``
    (default the first date), the ``valid`` rule, the Stack's geometry layers, CRS and transform."""
    dates = net.dates
    M, N = stack.unwrapped_phase.shape[0], dates.size
    tcoh = extra["temporal_coherence"]
    valid = (np.isfinite(extra["velocity"]) & (tcoh >= min_temporal_coherence)
             & (extra["n_unspanned"] == 0))
    rd = _zero_at_date(disp, dates, reference_date)
    ds = xr.Dataset(
        {
            "displacement": (("time", "y", "x"), disp, {
                "long_name": "LOS displacement, towards the satellite", "units": "mm"}),
            "velocity": (("y", "x"), extra["velocity"], {"long_name": "mean LOS velocity, towards the satellite",
                                                        "units": "mm/yr"}),
            "velocity_std": (("y", "x"), extra["velocity_std"], {
                "long_name": "standard deviation of the mean LOS velocity (from the fit residuals)", "units": "mm/yr"}),
            "temporal_coherence": (("y", "x"), tcoh, {"long_name": "temporal coherence", "units": "1"}),
            "n_pairs": (("y", "x"), extra["n_pairs"].astype(np.int32), {"long_name": "number of valid interferograms"}),
            "valid": (("y", "x"), valid, {"long_name": "reliable pixel",
                                          "rule": f"temporal_coherence >= {min_temporal_coherence} "
                                                  "and every interval observed"}),
        },
        coords={"time": ("time", dates), "y": stack.y.values, "x": stack.x.values},
        attrs={
            "orbit": stack.attrs.get("orbit"), "wavelength": float(stack.attrs["wavelength"]),
            "reference_date": str(rd), "method": f"SBAS least squares (lsid), weight={weight}",
            "weight": weight, "looks": looks, "n_pairs": M, "n_dates": N, "network_components": net.n_components,
            "source": stack.attrs.get("source", ""), "los_positive": "towards the satellite",
            "incidence_angle": stack.attrs.get("incidence_angle"), "heading": stack.attrs.get("heading"),
        },
    )
    for layer in ("dem", "incidence", "azimuth"):
        if layer in stack:
            ds[layer] = (("y", "x"), np.asarray(stack[layer].values), stack[layer].attrs)
    if stack.rio.crs is not None:
        # in place: rioxarray's default is a deep copy of the whole result (twice, here)
        ds.rio.write_crs(stack.rio.crs, inplace=True).rio.write_transform(stack.rio.transform(), inplace=True)
    return ds


def _zero_at_date(disp: np.ndarray, dates: np.ndarray, reference_date) -> np.datetime64:
    """Make the series ``disp`` (N, ny, nx) mm zero at ``reference_date`` (in place; it must be one
    of ``dates``); returns that date (the first date when None: the inversion's series already is)."""
    if reference_date is None:
        return dates[0]
    rd = np.datetime64(reference_date, "D")
    if rd not in dates:
        raise InputDataError(f"reference_date {rd} is not an acquisition date ({dates[0]} .. {dates[-1]})")
    disp -= disp[int(np.searchsorted(dates, rd))].copy()
    return rd


def _pre_reference_pixel(stack, point, block: int) -> tuple[int, int]:
    """Row and column of the pixel the interferograms are referred to before the inversion:
    :func:`_sample_reference_pixel` for ``"auto"``, else the pixel nearest map point ``(x, y)``
    (Stack's map units), which must be inside the scene and valid in every pair."""
    if isinstance(point, str):
        if point != "auto":
            raise ValueError(f"reference_point must be 'auto', (x, y) or None, got {point!r}")
        return _sample_reference_pixel(stack, block)
    x, y = point
    xs, ys = stack.x.values, stack.y.values
    if not ((min(xs[0], xs[-1]) <= x <= max(xs[0], xs[-1])) and (min(ys[0], ys[-1]) <= y <= max(ys[0], ys[-1]))):
        raise InputDataError(f"reference point ({x}, {y}) is outside the scene (x {xs.min()}..{xs.max()}, "
                             f"y {ys.min()}..{ys.max()}): give a point inside it, or reference_point='auto'")
    c, r = int(np.argmin(np.abs(xs - x))), int(np.argmin(np.abs(ys - y)))
    if not np.isfinite(np.asarray(stack.unwrapped_phase[:, r, c].values)).all():
        raise InputDataError(f"reference point ({x}, {y}) falls on a pixel that is not valid in every "
                             f"interferogram: pick a coherent pixel or reference_point='auto'")
    return r, c


def _sample_reference_pixel(stack, block: int) -> tuple[int, int]:
    """(row, col) for ``reference_point="auto"``: among a sample of REFERENCE_SAMPLE_BLOCKS blocks of
    ``block`` pixels spread over the scene (not the whole stack: one extra read of a few percent of
    the data), the pixel valid in every pair with the highest mean coherence (over up to
    REFERENCE_SAMPLE_PAIRS pairs); without coherence, the valid pixel nearest its block's centre."""
    M, ny, nx = stack.unwrapped_phase.shape
    rows, cols = np.arange(0, ny, block), np.arange(0, nx, block)
    starts = [(r, c) for r in rows for c in cols]
    step = max(1, len(starts) // REFERENCE_SAMPLE_BLOCKS)
    best, best_rc = -np.inf, None
    for r0, c0 in starts[step // 2::step]:
        win = dict(y=slice(r0, r0 + block), x=slice(c0, c0 + block))
        ph = np.asarray(stack.unwrapped_phase.isel(**win).values)
        valid = np.isfinite(ph).all(axis=0)
        if not valid.any():
            continue
        if "coherence" in stack:
            some = np.unique(np.linspace(0, M - 1, min(M, REFERENCE_SAMPLE_PAIRS)).round().astype(int))
            score = np.asarray(stack.coherence.isel(pair=some, **win).values).mean(axis=0)
            score = np.nan_to_num(score, nan=-1.0)
            score = np.where(valid, score, -np.inf)
        else:  # without coherence: the valid pixel nearest the block centre
            rr, cc = np.mgrid[: valid.shape[0], : valid.shape[1]]
            score = np.where(valid, -np.hypot(rr - valid.shape[0] / 2, cc - valid.shape[1] / 2), -np.inf)
        k = int(np.argmax(score))
        if score.flat[k] > best:
            best, best_rc = score.flat[k], (r0 + k // valid.shape[1], c0 + k % valid.shape[1])
    if best_rc is None:
        raise InputDataError("no pixel is valid in every interferogram, so none can serve as reference point: "
                             "drop the pairs with few valid pixels (select_network(min_valid_share=...))")
    return int(best_rc[0]), int(best_rc[1])


def auto_reference_point(ds: xr.Dataset, coherence: np.ndarray | None = None,
                         all_valid: np.ndarray | None = None) -> tuple[int, int]:
    """A reference pixel (row, col): valid in every pair, among the 1 % most coherent (mean
    coherence, else temporal coherence), the one whose velocity is closest to the median of those
    candidates (a stable spot, not a deforming one)."""
    score = coherence if coherence is not None else ds.temporal_coherence.values
    full = all_valid if all_valid is not None else ds.n_pairs.values == ds.attrs["n_pairs"]
    cand = ds.valid.values & full & np.isfinite(score)
    if not cand.any():
        raise InputDataError("no reliable pixel to serve as reference point: every pixel fails the temporal "
                             "coherence test; lower min_temporal_coherence or give reference_point=(x, y)")
    thr = np.quantile(score[cand], 0.99)
    top = cand & (score >= thr)
    v = ds.velocity.values
    med = np.median(v[top])
    dist = np.where(top, np.abs(v - med), np.inf)
    r, c = np.unravel_index(int(np.argmin(dist)), dist.shape)
    return int(r), int(c)


def _refer(ds: xr.Dataset, r: int, c: int) -> xr.Dataset:
    """Refer displacement and velocity to pixel (r, c), in place (no copy of the series)."""
    disp = ds.displacement.values
    disp -= disp[:, r, c].copy()[:, None, None]
    vel = ds.velocity.values
    vel -= vel[r, c]
    ds.attrs.update({"reference_row": int(r), "reference_col": int(c), "reference_x": float(ds.x.values[c]),
                     "reference_y": float(ds.y.values[r])})
    return ds


def set_reference_point(ds: xr.Dataset, x: float, y: float) -> xr.Dataset:
    """Move a Deformation's spatial reference to the pixel nearest map point (x, y) (exact: the
    inversion is linear). The pixel must be reliable."""
    xs, ys = ds.x.values, ds.y.values
    c, r = int(np.argmin(np.abs(xs - x))), int(np.argmin(np.abs(ys - y)))
    if not bool(ds.valid.values[r, c]):
        raise InputDataError(f"reference point ({x}, {y}) falls on an unreliable pixel (temporal coherence "
                             f"{float(ds.temporal_coherence.values[r, c]):.2f}): pick a coherent, stable pixel")
    return _refer(ds.copy(deep=True), r, c)
