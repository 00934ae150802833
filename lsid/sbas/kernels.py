"""The small-baseline least-squares kernel, vectorised over pixels.

Unknowns are the mean phase rates of the intervals between consecutive dates (Berardino et al. 2002;
MintPy's design matrix B): a pair (i, j) observes ``sum_{k=i}^{j-1} v_k * dt_k``. Each pixel uses only
its own valid pairs (weight 0 for a NaN) and its own weights, through the normal equations
``(B^T W B + ridge I) v = B^T W phi``. For a small-baseline network B^T W B is banded (its bandwidth
is the longest pair's span in intervals), so it is formed and solved by a banded Cholesky
factorisation written here and compiled with numba (parallel over pixels, each pixel's band kept in
cache): O(M s^2 + K b^2) operations per pixel for M pairs of span s, instead of one SVD per pixel.

The tiny ridge makes split networks solvable and drives the solution to the minimum-norm one (the
SVD answer): intervals no valid pair spans get a rate of exactly 0, and within the observed space
the relative bias is ridge / eigenvalue (about 1e-10 here). Hand-written because no library solves
millions of independent small banded systems at once (scipy.linalg.solveh_banded solves one).
"""

from __future__ import annotations

import numba
import numpy as np

#: Ridge, relative to the largest diagonal entry of each pixel's normal matrix.
RIDGE = 1e-10


def bandwidth(ref_idx: np.ndarray, sec_idx: np.ndarray) -> int:
    """Half-bandwidth of B^T W B: the longest span (in intervals) minus one."""
    return int(np.max(sec_idx - ref_idx)) - 1 if len(ref_idx) else 0


def design_matrix(ref_idx: np.ndarray, sec_idx: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """(M, K) design matrix B: row m holds dt_k on the intervals pair m spans (MintPy's B)."""
    B = np.zeros((len(ref_idx), dt.size))
    for m, (i, j) in enumerate(zip(ref_idx, sec_idx)):
        B[m, i:j] = dt[i:j]
    return B


def solve_rates(phase: np.ndarray, weight: np.ndarray, ref_idx: np.ndarray, sec_idx: np.ndarray,
                dt: np.ndarray, shared_min: int = 64, ok: np.ndarray | None = None) -> np.ndarray:
    """Least-squares interval rates for every pixel.

    Parameters
    ----------
    phase : (M, P) unwrapped phase of M pairs at P pixels, rad; NaN = not observed.
    weight : (M, P) per-pixel weights, or (M, 1) / (1, 1) weights shared by all pixels (>= 0).
    ref_idx, sec_idx : (M,) date indices of each pair (ref < sec).
    dt : (K,) interval lengths, years (K = number of dates - 1).
    shared_min : with shared weights, pixels that have the same set of valid pairs share one
        factorisation when at least this many of them do (one matrix product for the group);
        the others go through the banded per-pixel solver.
    ok : ``np.isfinite(phase)``, when the caller already has it.

    Returns
    -------
    (K, P) rates, rad/yr (float64).
    """
    M, P = phase.shape
    K = dt.size
    ok = np.isfinite(phase) if ok is None else ok
    rates = np.empty((K, P))
    todo = np.ones(P, dtype=bool)
    weight = np.asarray(weight, dtype=np.float64)
    if weight.shape in ((1, 1), (M, 1)) and P >= shared_min:
        wvec = np.broadcast_to(weight, (M, 1))[:, 0]
        B = design_matrix(ref_idx, sec_idx, dt)
        full = ok.all(axis=0)
        groups = [np.flatnonzero(full)] if full.sum() >= shared_min else []
        rest = np.flatnonzero(~full)
        if rest.size >= shared_min:  # group the other pixels by their set of valid pairs
            packed = np.packbits(ok[:, rest], axis=0)
            keys = np.ascontiguousarray(packed.T).view(np.dtype((np.void, packed.shape[0]))).ravel()
            _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
            order = np.argsort(inverse, kind="stable")
            bounds = np.concatenate([[0], np.cumsum(counts)])
            groups += [rest[order[bounds[g]:bounds[g + 1]]] for g in np.flatnonzero(counts >= shared_min)]
        for px in groups:
            m = ok[:, px[0]]
            Bw = B[m] * wvec[m, None]
            N = B[m].T @ Bw
            diag_max = N.diagonal().max()
            N[np.diag_indices(K)] += RIDGE * (diag_max if diag_max > 0 else 1.0)
            # one (K x M) solution operator for the group, applied as one matrix product (float64:
            # in float32 the rounding of large unwrapped phases adds up to 0.1 mm over the series)
            G = np.linalg.solve(N, Bw.T)
            sel = phase[:, px] if m.all() else phase[np.ix_(m, px)]
            rates[:, px] = G @ sel.astype(np.float64)
            todo[px] = False
    if todo.any():
        idx = np.flatnonzero(todo) if not todo.all() else slice(None)
        w = weight if weight.shape[1] == 1 else weight[:, idx]
        rates[:, idx] = _solve_banded(phase[:, idx], ok[:, idx], w, ref_idx, sec_idx, dt)
    return rates


def _solve_banded(phase, ok, weight, ref_idx, sec_idx, dt) -> np.ndarray:
    """Per-pixel normal equations, formed and solved in band storage (numba, parallel over pixels).

    N[k, l] = dt_k dt_l * (sum of the weights of the pairs spanning both intervals k and l), and
    (B^T W phi)_k = dt_k * (sum of w * phi over the pairs spanning k). Each pixel's band (a few KB)
    stays in cache from the first sum to the back substitution: one pass over the phase.
    """
    M, P = phase.shape
    K = dt.size
    b = max(bandwidth(ref_idx, sec_idx), 0)
    shared = weight.shape[1] == 1
    w = np.ascontiguousarray(np.broadcast_to(weight, (M, 1)) if shared else weight, dtype=np.float32)
    ph = np.ascontiguousarray(phase, dtype=np.float32)
    rates = np.empty((K, P))
    _banded_kernel(ph, w, shared, ref_idx.astype(np.int64), sec_idx.astype(np.int64),
                   np.ascontiguousarray(dt, dtype=np.float64), b, RIDGE, rates)
    return rates


@numba.njit(parallel=True, cache=True, nogil=True)
def _banded_kernel(phase, w, shared, ref_idx, sec_idx, dt, b, ridge, rates):  # pragma: no cover (compiled)
    M, P = phase.shape
    K = dt.size
    chunk = 64
    for c in numba.prange((P + chunk - 1) // chunk):
        band = np.empty((b + 1, K))
        rhs = np.empty(K)
        for p in range(c * chunk, min(P, (c + 1) * chunk)):
            band[:] = 0.0
            rhs[:] = 0.0
            for m in range(M):
                y = phase[m, p]
                if y != y:  # NaN: not observed at this pixel
                    continue
                wm = w[m, 0] if shared else w[m, p]
                wy = wm * y
                i = ref_idx[m]
                for k in range(i, sec_idx[m]):
                    rhs[k] += wy
                    for d in range(k - i + 1):
                        band[d, k] += wm
            dmax = 0.0
            for k in range(K):
                rhs[k] *= dt[k]
                for d in range(min(b, k) + 1):
                    band[d, k] *= dt[k] * dt[k - d]
                if band[0, k] > dmax:
                    dmax = band[0, k]
            eps = ridge * (dmax if dmax > 0 else 1.0)
            for k in range(K):
                band[0, k] += eps
            # banded Cholesky, L stored in place: band[k - j, k] = L[k, j]
            for k in range(K):
                lo = max(0, k - b)
                for j in range(lo, k):
                    s = band[k - j, k]
                    for t in range(lo, j):
                        s -= band[k - t, k] * band[j - t, j]
                    band[k - j, k] = s / band[0, j]
                s = band[0, k]
                for t in range(lo, k):
                    s -= band[k - t, k] * band[k - t, k]
                band[0, k] = np.sqrt(max(s, 1e-300))
            # L z = rhs, then L^T x = z
            for k in range(K):
                s = rhs[k]
                for t in range(max(0, k - b), k):
                    s -= band[k - t, k] * rhs[t]
                rhs[k] = s / band[0, k]
            for k in range(K - 1, -1, -1):
                s = rhs[k]
                for t in range(k + 1, min(K, k + b + 1)):
                    s -= band[t - k, t] * rhs[t]
                rhs[k] = s / band[0, k]
            for k in range(K):
                rates[k, p] = rhs[k]


def rates_to_series(rates: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """(N, P) phase time series (0 at the first date) from (K, P) interval rates and (K,) intervals."""
    steps = rates * dt[:, None]
    return np.concatenate([np.zeros((1, rates.shape[1])), np.cumsum(steps, axis=0)])


def temporal_coherence(phase: np.ndarray, series: np.ndarray, ref_idx, sec_idx) -> np.ndarray:
    """|mean over valid pairs of exp(j * residual)| per pixel (Pepe & Lanari 2006; MintPy's).
    Computed in float32 (a coherence, not a displacement: 1e-7 is plenty)."""
    s32 = series.astype(np.float32)
    res = phase.astype(np.float32, copy=False) - s32[sec_idx]
    res += s32[ref_idx]
    bad = np.isnan(res)
    n = res.shape[0] - bad.sum(axis=0)
    res[bad] = 0.0
    c = np.cos(res).sum(axis=0, dtype=np.float64) - (res.shape[0] - n)
    s = np.sin(res).sum(axis=0, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.hypot(c, s) / np.maximum(n, 1), np.nan)


def linear_velocity(series: np.ndarray, t_years: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Slope of a straight line fitted through each pixel's series, and its standard deviation
    (from the fit residuals). ``series`` (N, P), ``t_years`` (N,). Units: series unit per year."""
    tc = t_years - t_years.mean()
    sxx = float(np.sum(tc**2))
    mean = series.mean(axis=0)
    slope = (tc[:, None] * (series - mean)).sum(axis=0) / sxx
    res = series - (mean + slope * tc[:, None])
    dof = max(series.shape[0] - 2, 1)
    std = np.sqrt((res**2).sum(axis=0) / dof / sxx)
    return slope, std
