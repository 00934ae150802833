"""The small-baseline least-squares kernels, compiled with numba.

Unknowns are the mean phase rates of the intervals between consecutive dates (Berardino et al. 2002;
MintPy's design matrix B): a pair (i, j) observes ``sum_{k=i}^{j-1} v_k * dt_k``. Each pixel uses only
its own valid pairs (weight 0 for a NaN) and its own weights, through the normal equations
``(B^T W B + ridge I) v = B^T W phi``. For a small-baseline network B^T W B is banded (its bandwidth
is the longest pair's span in intervals), so it is formed and solved by a banded Cholesky
factorisation: O(M s^2 + K b^2) operations per pixel for M pairs of span s and K intervals of
bandwidth b, instead of one SVD per pixel.

The tiny ridge makes split networks solvable and drives the solution to the minimum-norm one (the
SVD answer): intervals no valid pair spans get a rate of exactly 0, and within the observed space
the relative bias is ridge / eigenvalue (about 1e-10 here).

Layout: pixels are taken in chunks of :data:`CHUNK`; inside a chunk every
step loops over the chunk's pixels innermost, over contiguous memory, so the compiler vectorises it
and each chunk's normal matrices stay in cache from the first sum to the back substitution.
:func:`invert_pixels` fuses the whole per-pixel inversion (weights from coherence, solve,
displacement series, linear velocity and its deviation, temporal coherence) into one pass over the
phase, so a block needs no temporaries of the size of its stack. The kernels are serial and release
the GIL: the parallelism is dask's, one block per thread (or worker), so reading one block overlaps
computing another and no two thread pools compete for the cores.

Hand-written because no library solves millions of independent small banded systems at once
(scipy.linalg.solveh_banded solves one; batched LAPACK wants dense matrices).
"""

from __future__ import annotations

import math

import numba
import numpy as np

#: Ridge, relative to the largest diagonal entry of each pixel's normal matrix.
RIDGE = 1e-10
#: Pixels per chunk of the compiled kernels (one chunk's work arrays fit in the L2 cache).
CHUNK = 64
#: How weights are made inside the kernels (``weight_mode``).
WEIGHT_MODES = {"no": 0, "given": 1, "coh": 2, "var": 3}
#: Output rows of :func:`invert_pixels` after the N displacement dates.
EXTRA_OUTPUTS = ("velocity", "velocity_std", "temporal_coherence", "n_pairs", "n_unspanned", "mean_coherence")

# Reassociation lets the compiler vectorise the per-chunk loops; no 'nnan' flag, because NaN marks a
# missing observation and must compare as NaN.
_FASTMATH = {"reassoc", "contract", "arcp", "nsz", "afn"}


def bandwidth(ref_idx: np.ndarray, sec_idx: np.ndarray) -> int:
    """Half-bandwidth of B^T W B: the longest span (in intervals) minus one."""
    return int(np.max(sec_idx - ref_idx)) - 1 if len(ref_idx) else 0


@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _weight(mode, g, wlut, lut_lo, lut_hi, lut_step, clip_lo, clip_hi):  # pragma: no cover (compiled)
    """Weight of one observation from ``g`` (a given weight, or a coherence)."""
    if mode == 0:
        return 1.0
    if mode == 1:
        return g
    if g != g:  # no coherence: the lowest weight
        g = clip_lo
    if mode == 2:
        return min(max(g, clip_lo), clip_hi)
    g = min(max(max(g, clip_lo), lut_lo), lut_hi)
    return wlut[int((g - lut_lo) / lut_step)]


@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _solve_chunk(phase, ref_phase, wsrc, mode, wlut, lut, ref_idx, sec_idx, dt, b, ridge, p0, C):  # pragma: no cover
    """Weighted least-squares rates of pixels p0 .. p0 + C - 1. Returns ``(rates, npair, csum,
    unspanned)``, each CHUNK wide (the first C columns used): the (K, CHUNK) rates, and per pixel the
    number of valid pairs, the sum of ``wsrc`` over them and the number of intervals no valid pair
    spans."""
    M = phase.shape[0]
    K = dt.size
    lut_lo, lut_hi, lut_step, clip_lo, clip_hi = lut[0], lut[1], lut[2], lut[3], lut[4]
    band = np.zeros((b + 1, K, CHUNK))  # the banded normal matrices, then their Cholesky factors
    rates = np.zeros((K, CHUNK))
    npair = np.zeros(CHUNK)
    csum = np.zeros(CHUNK)
    unspanned = np.zeros(CHUNK)
    wv = np.empty(C)
    wy = np.empty(C)
    for m in range(M):
        i = ref_idx[m]
        j = sec_idx[m]
        r0 = ref_phase[m]
        for q in range(C):
            y = phase[m, p0 + q]
            if y == y:
                g = wsrc[m, p0 + q] if mode > 0 else 1.0
                w = _weight(mode, g, wlut, lut_lo, lut_hi, lut_step, clip_lo, clip_hi)
                wv[q] = w
                wy[q] = w * (y - r0)
                npair[q] += 1.0
                csum[q] += g
            else:
                wv[q] = 0.0
                wy[q] = 0.0
        for k in range(i, j):
            for q in range(C):
                rates[k, q] += wy[q]
            for d in range(k - i + 1):
                for q in range(C):
                    band[d, k, q] += wv[q]
    # scale by the interval lengths: N[k, k-d] = dt_k dt_{k-d} sum(w), rhs_k = dt_k sum(w phi)
    dmax = np.zeros(C)
    for k in range(K):
        for q in range(C):
            if band[0, k, q] == 0.0:  # weights are > 0: no valid pair spans interval k
                unspanned[q] += 1.0
        for q in range(C):
            rates[k, q] *= dt[k]
        for d in range(min(b, k) + 1):
            f = dt[k] * dt[k - d]
            for q in range(C):
                band[d, k, q] *= f
        for q in range(C):
            dmax[q] = max(dmax[q], band[0, k, q])
    for q in range(C):
        dmax[q] = ridge * (dmax[q] if dmax[q] > 0 else 1.0)
    for k in range(K):
        for q in range(C):
            band[0, k, q] += dmax[q]
    # banded Cholesky in place (Crout order): band[k - j, k] becomes L[k, j]
    for k in range(K):
        lo = max(0, k - b)
        for j in range(lo, k):
            for t in range(lo, j):
                for q in range(C):
                    band[k - j, k, q] -= band[k - t, k, q] * band[j - t, j, q]
            for q in range(C):
                band[k - j, k, q] /= band[0, j, q]
        for t in range(lo, k):
            for q in range(C):
                band[0, k, q] -= band[k - t, k, q] * band[k - t, k, q]
        for q in range(C):
            band[0, k, q] = math.sqrt(max(band[0, k, q], 1e-300))
    # L z = rhs, then L^T x = z (in place in ``rates``)
    for k in range(K):
        for t in range(max(0, k - b), k):
            for q in range(C):
                rates[k, q] -= band[k - t, k, q] * rates[t, q]
        for q in range(C):
            rates[k, q] /= band[0, k, q]
    for k in range(K - 1, -1, -1):
        for t in range(k + 1, min(K, k + b + 1)):
            for q in range(C):
                rates[k, q] -= band[t - k, t, q] * rates[t, q]
        for q in range(C):
            rates[k, q] /= band[0, k, q]
    return rates, npair, csum, unspanned


@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _rates_kernel(phase, weight, ref_idx, sec_idx, dt, b, ridge, out):  # pragma: no cover (compiled)
    M, P = phase.shape
    K = dt.size
    nchunks = (P + CHUNK - 1) // CHUNK
    zero = np.zeros(M)
    lut = np.zeros(5)
    for c in range(nchunks):
        p0 = c * CHUNK
        C = min(CHUNK, P - p0)
        rates = _solve_chunk(phase, zero, weight, 1, lut, lut, ref_idx, sec_idx, dt, b, ridge, p0, C)[0]
        for k in range(K):
            for q in range(C):
                out[k, p0 + q] = rates[k, q]


def solve_rates(phase: np.ndarray, weight: np.ndarray, ref_idx: np.ndarray, sec_idx: np.ndarray,
                dt: np.ndarray) -> np.ndarray:
    """Least-squares interval rates for every pixel (only its valid pairs, its own weights).

    Parameters
    ----------
    phase : (M, P) unwrapped phase of M pairs at P pixels, rad; NaN = not observed.
    weight : (M, P) per-pixel weights, or (M, 1) / (1, 1) weights shared by all pixels (> 0).
    ref_idx, sec_idx : (M,) date indices of each pair (ref < sec).
    dt : (K,) interval lengths, years (K = number of dates - 1).

    Returns
    -------
    (K, P) rates, rad/yr (float64); 0 on intervals no valid pair of the pixel spans.
    """
    phase = np.ascontiguousarray(phase, dtype=np.float32)
    M, P = phase.shape
    w = np.ascontiguousarray(np.broadcast_to(np.asarray(weight, dtype=np.float32), (M, P)))
    out = np.empty((dt.size, P))
    _rates_kernel(phase, w, np.asarray(ref_idx, np.int64), np.asarray(sec_idx, np.int64),
                  np.asarray(dt, np.float64), max(bandwidth(ref_idx, sec_idx), 0), RIDGE, out)
    return out


@numba.njit(cache=True, nogil=True, fastmath=_FASTMATH)
def _invert_kernel(phase, ref_phase, coh, mode, wlut, lut, ref_idx, sec_idx, dt, t_years, to_mm, b, ridge,
                   out):  # pragma: no cover (compiled)
    M, P = phase.shape
    K = dt.size
    N = K + 1
    tmean = 0.0
    for n in range(N):
        tmean += t_years[n]
    tmean /= N
    sxx = 0.0
    for n in range(N):
        sxx += (t_years[n] - tmean) ** 2
    dof = max(N - 2, 1)
    nchunks = (P + CHUNK - 1) // CHUNK
    for c in range(nchunks):
        p0 = c * CHUNK
        C = min(CHUNK, P - p0)
        rates, npair, csum, unspanned = _solve_chunk(phase, ref_phase, coh, mode, wlut, lut, ref_idx, sec_idx,
                                                     dt, b, ridge, p0, C)
        # displacement series (rad, 0 at the first date)
        series = np.empty((N, CHUNK))
        for q in range(C):
            series[0, q] = 0.0
        for k in range(K):
            for q in range(C):
                series[k + 1, q] = series[k, q] + rates[k, q] * dt[k]
        # straight-line fit through the series: slope and its standard deviation, mm/yr
        mean = np.zeros(CHUNK)
        for n in range(N):
            for q in range(C):
                mean[q] += series[n, q]
        slope = np.zeros(CHUNK)
        for q in range(C):
            mean[q] /= N
        for n in range(N):
            tc = t_years[n] - tmean
            for q in range(C):
                slope[q] += tc * (series[n, q] - mean[q])
        for q in range(C):
            slope[q] /= sxx
        ss = np.zeros(CHUNK)
        for n in range(N):
            tc = t_years[n] - tmean
            for q in range(C):
                e = series[n, q] - mean[q] - slope[q] * tc
                ss[q] += e * e
        # temporal coherence: |mean of exp(j residual)| over the valid pairs (Pepe & Lanari 2006)
        cs = np.zeros(CHUNK)
        sn = np.zeros(CHUNK)
        for m in range(M):
            i = ref_idx[m]
            j = sec_idx[m]
            r0 = ref_phase[m]
            for q in range(C):
                y = phase[m, p0 + q]
                if y == y:
                    e = y - r0 - (series[j, q] - series[i, q])
                    cs[q] += math.cos(e)
                    sn[q] += math.sin(e)
        for q in range(C):
            p = p0 + q
            n = npair[q]
            if n == 0:
                for k in range(N + 3):
                    out[k, p] = np.nan
                out[N + 3, p] = 0.0
                out[N + 4, p] = K
                out[N + 5, p] = np.nan
                continue
            for k in range(N):
                out[k, p] = series[k, q] * to_mm
            out[N, p] = slope[q] * to_mm
            out[N + 1, p] = math.sqrt(ss[q] / dof / sxx) * abs(to_mm)
            out[N + 2, p] = math.sqrt(cs[q] * cs[q] + sn[q] * sn[q]) / n
            out[N + 3, p] = n
            out[N + 4, p] = unspanned[q]
            out[N + 5, p] = csum[q] / n if mode > 0 else np.nan


def invert_pixels(phase: np.ndarray, coherence: np.ndarray | None, ref_idx: np.ndarray, sec_idx: np.ndarray,
                  dt: np.ndarray, to_mm: float, weight: str = "no", ref_phase: np.ndarray | None = None,
                  variance_lut: tuple[np.ndarray, np.ndarray] | None = None,
                  coherence_clip: tuple[float, float] = (0.05, 0.9975)) -> np.ndarray:
    """The whole SBAS inversion of P pixels in one compiled pass.

    Parameters
    ----------
    phase : (M, P) unwrapped phase, rad (float32); NaN = not observed.
    coherence : (M, P) coherence, or None (only with ``weight="no"``).
    ref_idx, sec_idx : (M,) date indices of each pair; dt : (K,) interval lengths, years.
    to_mm : phase (rad) to LOS displacement (mm, positive towards the satellite).
    weight : ``no``, ``coh`` (coherence clipped to ``coherence_clip``) or ``var`` (1 / phase variance
        from ``variance_lut`` = (coherence bin centres, variance rad^2); coherence below
        ``coherence_clip[0]`` or NaN counts as ``coherence_clip[0]``).
    ref_phase : (M,) phase subtracted from every pixel first (the reference pixel's), rad.

    Returns
    -------
    (N + 6, P) float32: displacement (mm, 0 at the first date) for the N dates, then
    :data:`EXTRA_OUTPUTS`: velocity and its standard deviation (mm/yr), temporal coherence, number
    of valid pairs, number of intervals no valid pair spans, mean coherence of the valid pairs (NaN
    without coherence). Pixels with no valid pair: NaN (counts 0 and K).
    """
    phase = np.ascontiguousarray(phase, dtype=np.float32)
    M, P = phase.shape
    K = dt.size
    mode = WEIGHT_MODES[weight]
    if coherence is None:
        if mode != 0:
            raise ValueError(f"weight={weight!r} needs coherence")
        coh = np.zeros((1, 1), np.float32)
    else:
        coh = np.ascontiguousarray(coherence, dtype=np.float32)
    if mode == 3:
        coh_lut, var_lut = variance_lut
        step = float(coh_lut[1] - coh_lut[0])
        wlut = (1.0 / var_lut.astype(np.float32)).astype(np.float64)
        lut = np.array([coh_lut[0], coh_lut[-1], step, *coherence_clip], dtype=np.float64)
    else:
        wlut = np.zeros(1)
        lut = np.array([0.0, 1.0, 1.0, *coherence_clip], dtype=np.float64)
    t_years = np.concatenate([[0.0], np.cumsum(dt)])
    ref_phase = np.zeros(M) if ref_phase is None else np.asarray(ref_phase, dtype=np.float64)
    out = np.empty((K + 1 + len(EXTRA_OUTPUTS), P), dtype=np.float32)
    _invert_kernel(phase, ref_phase, coh, mode, wlut, lut, np.asarray(ref_idx, np.int64),
                   np.asarray(sec_idx, np.int64), np.asarray(dt, np.float64), t_years, float(to_mm),
                   max(bandwidth(ref_idx, sec_idx), 0), RIDGE, out)
    return out
