"""SBAS inversion: exact recovery, agreement with per-pixel least squares, properties, contracts."""

import warnings

import numpy as np
import pytest
import rioxarray  # noqa: F401
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from lsid.errors import InputDataError
from lsid.sbas import components, invert, kernels, select_network

WL = 0.05546576
TO_MM = -WL / (4 * np.pi) * 1000


def _dates(n, step=12, start="2019-01-01"):
    return np.datetime64(start) + np.arange(n) * np.timedelta64(step, "D")


def _stack(disp_mm, dates, pairs, nan_mask=None, coherence=None):
    """A Stack whose phase is exactly the given displacement (T, ny, nx) differenced over pairs."""
    ref, sec = pairs[:, 0], pairs[:, 1]
    phase = ((disp_mm[sec] - disp_mm[ref]) / TO_MM).astype(np.float32)
    if nan_mask is not None:
        phase[nan_mask] = np.nan
    ny, nx = disp_mm.shape[1:]
    data = {"unwrapped_phase": (("pair", "y", "x"), phase, {"units": "rad"})}
    if coherence is not None:
        data["coherence"] = (("pair", "y", "x"), coherence.astype(np.float32))
    ds = xr.Dataset(
        data,
        coords={"y": 3000000.0 - 30 * np.arange(ny), "x": 600000.0 + 30 * np.arange(nx),
                "reference_date": ("pair", dates[ref]), "secondary_date": ("pair", dates[sec]),
                "bperp": ("pair", np.linspace(-50, 50, len(pairs)).astype(np.float32))},
        attrs={"wavelength": WL, "orbit": "ascending", "incidence_angle": 40.0, "heading": -10.0,
               "source": "test", "phase_sign": "lsid"},
    )
    return ds.rio.write_crs("EPSG:32647")


def _network(n, k):
    return np.array([(i, j) for i in range(n) for j in range(i + 1, min(i + 1 + k, n))])


def _lstsq(phase, ref, sec, dt):
    """Minimum-norm least squares of one pixel, by SVD (numpy), as MintPy does."""
    ok = np.isfinite(phase)
    B = np.zeros((len(ref), dt.size))
    for m, (i, j) in enumerate(zip(ref, sec, strict=True)):
        B[m, i:j] = dt[i:j]
    v = np.linalg.lstsq(B[ok], phase[ok], rcond=1e-10)[0]
    return np.concatenate([[0], np.cumsum(v * dt)])


def test_exact_recovery_with_nans():
    rng = np.random.default_rng(0)
    n, ny, nx = 15, 6, 7
    dates = _dates(n)
    t = (dates - dates[0]).astype(float) / 365.25
    disp = (rng.normal(0, 20, (1, ny, nx)) * t[:, None, None] + 5 * np.sin(2 * np.pi * t)[:, None, None]
            * rng.normal(0, 1, (1, ny, nx)))
    pairs = _network(n, 3)
    nan = rng.random((len(pairs), ny, nx)) < 0.2
    nan[:, 0, 0] = False
    d = invert(_stack(disp, dates, pairs, nan), reference_point=None)
    # pixels whose remaining network still spans every interval are recovered exactly
    exact = np.zeros((ny, nx), bool)
    for r in range(ny):
        for c in range(nx):
            m = ~nan[:, r, c]
            n_c, _, _ = components(dates[pairs[m, 0]], dates[pairs[m, 1]])
            exact[r, c] = n_c == 1 and np.union1d(pairs[m, 0], pairs[m, 1]).size == n
    assert exact.sum() > ny * nx // 2
    err = np.abs(d.displacement.values - (disp - disp[0]))[:, exact]
    assert err.max() < 1e-3
    assert d.valid.values[exact].all()


def test_agrees_with_per_pixel_lstsq_including_disconnected():
    rng = np.random.default_rng(1)
    n, ny, nx = 12, 4, 5
    dates = _dates(n, 24)
    # two interleaved sub-networks (even and odd dates) and a gap: several components
    pairs = np.array([(i, i + 2) for i in range(n - 2)] + [(0, 1)])
    pairs = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]
    disp = rng.normal(0, 10, (n, ny, nx)).cumsum(axis=0)
    assert components(dates[pairs[:, 0]], dates[pairs[:, 1]])[0] == 1  # (0, 1) links evens and odds...
    pairs2 = pairs[~((pairs[:, 0] == 0) & (pairs[:, 1] == 1))]  # ...without it the network splits in two
    assert components(dates[pairs2[:, 0]], dates[pairs2[:, 1]])[0] == 2
    nan = rng.random((len(pairs2), ny, nx)) < 0.15
    stack = _stack(disp, dates, pairs2, nan)
    with pytest.warns(UserWarning, match="2 connected components"):
        d = invert(stack, reference_point=None)
    ph = stack.unwrapped_phase.values.astype(float)
    dt = np.diff((dates - dates[0]).astype(float)) / 365.25
    for r in range(ny):
        for c in range(nx):
            ref = _lstsq(ph[:, r, c], pairs2[:, 0], pairs2[:, 1], dt) * TO_MM
            assert np.allclose(d.displacement.values[:, r, c], ref, atol=1e-3), (r, c)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(4, 14), k=st.integers(1, 4), seed=st.integers(0, 10_000), weighted=st.booleans())
def test_kernel_matches_weighted_lstsq(n, k, seed, weighted):
    """Property: for any network, NaN pattern and weights, the banded solver gives the weighted
    minimum-norm least-squares answer."""
    rng = np.random.default_rng(seed)
    pairs = _network(n, k)
    P = 6
    dt = rng.uniform(0.01, 0.1, n - 1)
    phase = rng.normal(0, 3, (len(pairs), P))
    phase[rng.random(phase.shape) < 0.2] = np.nan
    w = rng.uniform(0.2, 5, phase.shape) if weighted else np.ones((1, 1))
    rates = kernels.solve_rates(phase, w, pairs[:, 0], pairs[:, 1], dt)
    for p in range(P):
        ok = np.isfinite(phase[:, p])
        B = np.zeros((len(pairs), n - 1))
        for m, (i, j) in enumerate(pairs):
            B[m, i:j] = dt[i:j]
        sw = np.sqrt(np.broadcast_to(w, phase.shape)[ok, p])
        ref = np.linalg.lstsq(B[ok] * sw[:, None], phase[ok, p] * sw, rcond=1e-12)[0]
        assert np.allclose(rates[:, p] * dt, ref * dt, atol=1e-6)


@settings(max_examples=20, deadline=None)
@given(v=st.floats(-200, 200), seed=st.integers(0, 1000))
def test_linear_motion_gives_its_velocity(v, seed):
    rng = np.random.default_rng(seed)
    n = 10
    dates = np.sort(np.datetime64("2019-01-01") + rng.choice(1000, n, replace=False).astype("timedelta64[D]"))
    t = (dates - dates[0]).astype(float) / 365.25
    disp = np.broadcast_to((v * t)[:, None, None], (n, 2, 2)).copy()
    d = invert(_stack(disp, dates, _network(n, 2)), reference_point=None)
    assert np.allclose(d.velocity.values, v, atol=1e-3)
    assert np.allclose(d.velocity_std.values, 0, atol=1e-3)
    assert np.allclose(d.temporal_coherence.values, 1, atol=1e-6)


def test_weighting_downweights_noisy_pairs():
    rng = np.random.default_rng(3)
    n, ny, nx = 12, 10, 10
    dates = _dates(n)
    t = (dates - dates[0]).astype(float) / 365.25
    disp = np.broadcast_to((30 * t)[:, None, None], (n, ny, nx)).copy()
    pairs = _network(n, 3)
    st_ = _stack(disp, dates, pairs)
    coh = np.full((len(pairs), ny, nx), 0.9)
    noisy = rng.random(len(pairs)) < 0.3
    coh[noisy] = 0.15
    ph = st_.unwrapped_phase.values + np.where(noisy[:, None, None], rng.normal(0, 3, coh.shape), 0).astype(np.float32)
    st_ = st_.assign(unwrapped_phase=(("pair", "y", "x"), ph, {"units": "rad"}),
                     coherence=(("pair", "y", "x"), coh.astype(np.float32)))
    err_no = np.abs(invert(st_, "no", reference_point=None).velocity.values - 30).mean()
    err_var = np.abs(invert(st_, "var", reference_point=None).velocity.values - 30).mean()
    err_coh = np.abs(invert(st_, "coh", reference_point=None).velocity.values - 30).mean()
    assert err_var < 0.3 * err_no and err_coh < err_no


def test_reference_point_and_date():
    n, ny, nx = 8, 5, 6
    dates = _dates(n)
    t = (dates - dates[0]).astype(float) / 365.25
    rates = np.arange(ny * nx, dtype=float).reshape(ny, nx)
    disp = rates[None] * t[:, None, None]
    st_ = _stack(disp, dates, _network(n, 2))
    d = invert(st_, reference_point=(float(st_.x[2]), float(st_.y[3])), reference_date=str(dates[4]))
    assert d.velocity.values[3, 2] == pytest.approx(0, abs=1e-4)
    assert np.allclose(d.velocity.values, rates - rates[3, 2], atol=1e-3)
    assert np.allclose(d.displacement.values[4], 0, atol=1e-4)
    assert d.attrs["reference_date"] == str(dates[4])
    with pytest.raises(InputDataError, match="outside the scene"):
        invert(st_, reference_point=(0.0, 0.0))
    auto = invert(st_)
    assert 0 <= auto.attrs["reference_row"] < ny


def test_reference_point_on_invalid_pixel():
    n = 8
    dates = _dates(n)
    disp = np.zeros((n, 4, 4))
    pairs = _network(n, 2)
    nan = np.zeros((len(pairs), 4, 4), bool)
    nan[:, 1, 1] = True
    st_ = _stack(disp, dates, pairs, nan)
    with pytest.raises(InputDataError, match="not valid in every"):
        invert(st_, reference_point=(float(st_.x[1]), float(st_.y[1])))


def test_bad_stacks():
    dates = _dates(2)
    with pytest.raises(InputDataError, match="at least 3"):
        invert(_stack(np.zeros((2, 3, 3)), dates, np.array([[0, 1]])))
    n = 5
    st_ = _stack(np.zeros((n, 3, 3)), _dates(n), _network(n, 2))
    with pytest.raises(InputDataError, match="coherence"):
        invert(st_, weight="var")
    with pytest.raises(InputDataError, match="Stack contract"):
        invert(st_.drop_vars("unwrapped_phase"))


def test_select_network(smoke_run):
    from lsid.io import open_stack

    stack = open_stack(smoke_run / "stacks" / "ascending.nc")
    strict, t0 = select_network(stack, max_temporal_baseline_days=60, min_mean_coherence=0.3, keep_spanning_tree=False)
    assert (t0[t0.kept].temporal_baseline_days <= 60).all() and (t0[t0.kept].mean_coherence >= 0.3).all()
    kept, table = select_network(stack, max_temporal_baseline_days=60, min_mean_coherence=0.3)
    assert kept.sizes["pair"] == int(table.kept.sum()) < len(table)
    assert (table[~table.kept].reason != "").all()
    normal = table.kept & ~table.kept_for_connectivity
    assert (table[normal].temporal_baseline_days <= 60).all()
    # dropping pairs never splits the network: the spanning tree's pairs are kept
    assert components(kept.reference_date.values, kept.secondary_date.values)[0] == 1
    with pytest.raises(InputDataError, match="no pair is left"):
        select_network(stack, max_temporal_baseline_days=1, keep_spanning_tree=False)
    # max_pairs keeps the most coherent pairs (the paper's 216 / 238), the spanning tree on top
    top, tt = select_network(stack, max_pairs=10, keep_spanning_tree=False)
    assert top.sizes["pair"] == 10 and (tt.reason[~tt.kept] == "coherence rank").all()
    assert tt[tt.kept].mean_coherence.min() >= tt[~tt.kept].mean_coherence.max()
    _, tt2 = select_network(stack, max_pairs=10)
    assert tt2.kept.sum() >= 10 and (tt2.kept & ~tt2.kept_for_connectivity).sum() == 10


def test_synthetic_stack_velocity_close_to_truth(smoke_run):
    """Noisy synthetic data: the inverted velocity follows the true one on reliable pixels."""
    from lsid.io import open_netcdf, open_stack

    stack = open_stack(smoke_run / "stacks" / "descending.nc")
    truth = open_netcdf(smoke_run / "truth" / "descending.nc", chunks=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = invert(stack, weight="var", reference_point="auto")
    r, c = d.attrs["reference_row"], d.attrs["reference_col"]
    true_v = truth.velocity.values - truth.velocity.values[r, c]
    ok = d.valid.values
    assert ok.mean() > 0.3
    resid = d.velocity.values[ok] - true_v[ok]
    assert np.sqrt(np.mean(resid**2)) < 15  # mm/yr: atmosphere and noise over ~1 year of data
    fast = ok & (np.abs(true_v) > 20)
    if fast.any():
        assert np.corrcoef(d.velocity.values[fast], true_v[fast])[0, 1] > 0.7


def test_same_answer_on_a_distributed_client():
    from distributed import Client, LocalCluster

    rng = np.random.default_rng(5)
    n, ny, nx = 9, 40, 30
    dates = _dates(n)
    disp = rng.normal(0, 5, (n, ny, nx)).cumsum(axis=0)
    nan = rng.random((len(_network(n, 3)), ny, nx)) < 0.1
    st_ = _stack(disp, dates, _network(n, 3), nan)
    local = invert(st_, reference_point=None, block=16)
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        remote = invert(st_, reference_point=None, block=16, client=client)
    assert np.array_equal(local.displacement.values, remote.displacement.values, equal_nan=True)


def test_deformation_written_by_the_stage_keeps_crs(smoke_aoi, smoke_run):
    from lsid.io import open_netcdf
    from lsid.layout import RunLayout
    from lsid.sbas.stage import run_track

    summary = run_track(smoke_aoi, "ascending", smoke_run)
    d = open_netcdf(RunLayout(smoke_run).deformation("ascending"), chunks=None)
    assert d.rio.crs.to_epsg() == 32647 and d.velocity.attrs["units"] == "mm/yr"
    assert d.displacement.dims == ("time", "y", "x") and d.displacement.attrs["units"] == "mm"
    assert summary["pairs_kept"] <= summary["pairs_total"] and 0 < summary["valid_share"] <= 1
    again = run_track(smoke_aoi, "ascending", smoke_run)  # up to date: read back, not recomputed
    assert again == summary


@pytest.mark.parametrize("looks", [1, 4, 20])
def test_phase_pdf_and_variance(looks):
    from lsid.sbas.invert import phase_pdf, phase_variance

    phi = np.linspace(-np.pi, np.pi, 4001)
    pdf = phase_pdf(phi, np.array([0.05, 0.4, 0.8, 0.95]), looks)
    assert np.allclose(np.trapezoid(pdf, phi, axis=0), 1.0, atol=1e-3)  # a density
    g = np.array([0.05, 0.3, 0.6, 0.9, 0.97])
    var = phase_variance(g, looks)
    assert (np.diff(var) < 0).all()  # falls with coherence
    assert var[0] == pytest.approx(np.pi**2 / 3, rel=0.25 if looks == 1 else 0.35)  # ~uniform phase at g -> 0
    if looks == 20:  # many looks, high coherence: the Cramer-Rao bound
        crlb = (1 - g[-2:] ** 2) / (2 * looks * g[-2:] ** 2)
        assert np.allclose(var[-2:], crlb, rtol=0.2)
