"""The synthetic generator's physics, checked by numbers, and its outputs against the contracts."""

import hashlib
import json

import geopandas as gpd
import numpy as np
import pytest
import shapely
from scipy.stats import spearmanr

from lsid.config import load_aoi
from lsid.geometry import project_to_los
from lsid.io import open_netcdf, open_stack
from lsid.synth import OrbitSimulator, Scene, generate, output_paths
from lsid.synth.acquisitions import acquisition_dates, small_baseline_pairs
from lsid.synth.fields import radial_power_spectrum
from tests.helpers import AOI


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_same_seed_same_bytes(smoke_aoi, smoke_run, tmp_path):
    generate(smoke_aoi, tmp_path, progress=False)
    for key, path in output_paths(smoke_run).items():
        if key == "manifest":
            continue
        assert _sha(path) == _sha(output_paths(tmp_path)[key]), f"{key} differs between two runs"


def test_other_seed_other_data(smoke_aoi, smoke_run):
    other = smoke_aoi.model_copy(update={"seed": smoke_aoi.seed + 1})
    a = Scene.build(smoke_aoi).terrain.dem
    b = Scene.build(other).terrain.dem
    assert not np.array_equal(a, b)


def test_generation_is_skipped_when_up_to_date(smoke_aoi, smoke_run):
    before = {k: p.stat().st_mtime_ns for k, p in output_paths(smoke_run).items()}
    generate(smoke_aoi, smoke_run, progress=False)
    after = {k: p.stat().st_mtime_ns for k, p in output_paths(smoke_run).items()}
    assert before == after


def test_stack_contract(smoke_run, smoke_aoi):
    for orbit in ("ascending", "descending"):
        ds = open_stack(smoke_run / "stacks" / f"{orbit}.nc")
        assert ds.unwrapped_phase.dims == ("pair", "y", "x") and ds.unwrapped_phase.dtype == np.float32
        assert ds.unwrapped_phase.attrs["units"] == "rad"
        assert ds.coherence.dtype == np.float32
        assert ds.rio.crs.to_epsg() == 32647
        assert ds.attrs["orbit"] == orbit
        assert ds.attrs["wavelength"] == pytest.approx(0.05546576, rel=1e-6)
        assert "synthetic" in ds.attrs and "synthetic" in ds.attrs["title"].lower()
        assert (ds.reference_date.values < ds.secondary_date.values).all()
        assert ds.bperp.attrs["units"] == "m"
        for layer, unit in (("dem", "m"), ("incidence", "deg"), ("azimuth", "deg")):
            assert ds[layer].dims == ("y", "x") and ds[layer].attrs["units"] == unit
        # pixel-centre coordinates on a regular grid, north up
        dx, dy = np.diff(ds.x.values), np.diff(ds.y.values)
        assert np.allclose(dx, smoke_aoi.synth.grid.pixel_size_m) \
            and np.allclose(dy, -smoke_aoi.synth.grid.pixel_size_m)
        # dates within the period, on whole days
        dates = np.union1d(ds.reference_date.values, ds.secondary_date.values)
        assert dates.min() >= np.datetime64("2019-01-01") and dates.max() <= np.datetime64("2021-12-31")
        n = getattr(smoke_aoi.synth.acquisitions, orbit).n_dates
        assert dates.size == n


def test_paper_track_geometry_in_stacks(smoke_run):
    asc = open_stack(smoke_run / "stacks" / "ascending.nc")
    desc = open_stack(smoke_run / "stacks" / "descending.nc")
    assert asc.attrs["incidence_angle"] == pytest.approx(42.5) and asc.attrs["heading"] == pytest.approx(-10)
    assert desc.attrs["incidence_angle"] == pytest.approx(39.9) and desc.attrs["heading"] == pytest.approx(-170)
    # far range is east for ascending, west for descending
    assert float(asc.incidence[0, -1]) > float(asc.incidence[0, 0])
    assert float(desc.incidence[0, -1]) < float(desc.incidence[0, 0])


def test_scene_is_georeferenced_on_ahai():
    from lsid.synth.grid import Grid

    aoi = load_aoi(AOI, "cpu")
    w, s, e, n = Grid.from_config(aoi.synth.grid).lonlat_bounds()
    # The real reservoir area: 27°21'-27°46' N, 100°15'-100°31' E
    assert 27.3 < s < 27.45 and 27.65 < n < 27.8
    assert 100.2 < w < 100.3 and 100.45 < e < 100.6


def test_valley_terrain(smoke_scene):
    t = smoke_scene.terrain
    assert t.dem.max() > 3000  # banks rise above 3000 m
    assert t.dem[t.water].max() <= smoke_scene.aoi.synth.terrain.reservoir_level_m + 1e-3
    assert t.water.any() and len(t.terraces) > 0
    # V shape: elevation grows with distance from the river
    river_x = np.array(t.river.coords)[:, 0]
    d = np.abs(smoke_scene.grid.x[None, :] - river_x[:, None])
    near, far = t.dem[d < 1000], t.dem[d > 5000]
    assert np.median(far) > np.median(near) + 1000


def test_landslides_only_on_steep_slopes(smoke_scene):
    cfg = smoke_scene.aoi.synth.landslides
    g, t = smoke_scene.grid, smoke_scene.terrain
    bodies = [s for s in smoke_scene.landslides if s.kind != "reactivated"]
    assert len(bodies) == cfg.count
    for s in bodies:
        X, Y = np.meshgrid(g.x[s.cols], g.y[s.rows])
        inside = shapely.contains_xy(s.polygon, X, Y)
        assert t.slope[s.rows, s.cols][inside].mean() > cfg.min_slope_deg, s.id
        assert s.params["slope_deg"] > cfg.min_slope_deg, s.id
        assert not t.water[s.rows, s.cols][inside].any()


def test_landslides_at_cpu_profile_sizes_and_rates():
    aoi = load_aoi(AOI, "cpu")
    scene = Scene.build(aoi)
    cfg = aoi.synth.landslides
    bodies = [s for s in scene.landslides if s.kind != "reactivated"]
    assert len(bodies) == cfg.count
    lengths = np.array([s.params["length_m"] for s in bodies])
    assert lengths.min() >= cfg.min_length_m and lengths.max() <= cfg.max_length_m
    rates = np.array([s.rate_mm_yr for s in scene.landslides])
    assert rates.min() >= cfg.min_velocity_mm_yr - 1e-9 and rates.max() <= cfg.max_velocity_mm_yr + 1e-9
    assert sum(s.kind == "ancient" for s in scene.landslides) == cfg.n_giant
    for s in scene.landslides:
        if s.kind == "reactivated":
            parent = next(p for p in scene.landslides if p.id == s.parent)
            assert s.rate_mm_yr > 3 * parent.rate_mm_yr
            assert parent.polygon.buffer(1.0).contains(s.polygon)
    assert any(s.params["acceleration"] > 0 for s in scene.landslides)
    kinds = {s.kind for s in scene.distractors}
    assert {"terrace_subsidence", "settlement", "excavation", "dam"} <= kinds


def test_wet_season_acceleration(smoke_scene):
    s = next(x for x in smoke_scene.landslides
             if x.params["seasonal_amplitude"] > 0.3 and x.params["acceleration"] == 0)
    days = np.arange(0, 365)
    rate = np.gradient(s.history(days))
    wet = rate[120:304].mean()  # May to October
    dry = np.r_[rate[:90], rate[334:]].mean()
    assert wet > 1.3 * dry
    # the stated rate is the mean over the period
    total_days = (smoke_scene.aoi.synth.acquisitions.end - smoke_scene.aoi.synth.acquisitions.start).days
    assert s.history(total_days) / (total_days / 365.25) == pytest.approx(s.rate_mm_yr, rel=0.02)


def test_los_projection_of_truth_matches_hand_computation(smoke_scene, smoke_run):
    """A landslide's LOS pattern in each orbit is dot(downslope vector, LOS vector)."""
    slides = gpd.read_file(smoke_run / "truth" / "landslides.geojson")
    for orbit, (_inc, head) in {"ascending": (42.5, -10.0), "descending": (39.9, -170.0)}.items():
        sim = OrbitSimulator(smoke_scene, orbit)
        for k, s in enumerate(smoke_scene.sources):
            if not s.is_landslide:
                continue
            r = int(np.argmax(s.weight.max(axis=1)))
            c = int(np.argmax(s.weight[r]))
            inc_px = float(sim.incidence[s.rows, s.cols][r, c])
            e, n, u = s.direction
            hand = s.weight[r, c] * project_to_los(e, n, u, inc_px, head)
            assert sim.source_los[k][r, c] == pytest.approx(hand, abs=1e-5)
        # the truth table says which bodies a track barely sees
        row = slides.set_index("id")
        assert set(row[f"visible_{orbit}"].unique()) <= {True, False}
    sens_a = slides["los_sensitivity_ascending"].to_numpy()
    sens_d = slides["los_sensitivity_descending"].to_numpy()
    assert not np.allclose(sens_a, sens_d)  # one body looks different in each track


def test_true_velocity_is_linear_fit_of_true_series(smoke_run):
    t = open_netcdf(smoke_run / "truth" / "ascending.nc", chunks=None)
    years = (t.time.values - t.time.values[0]).astype("timedelta64[D]").astype(float) / 365.25
    d = t.displacement.values.reshape(years.size, -1)
    slope = np.polyfit(years, d, 1)[0].reshape(t.velocity.shape)
    assert np.allclose(slope, t.velocity.values, atol=1e-3)
    assert np.all(d[0] == 0)  # relative to the first date
    assert float(np.abs(t.velocity_landslides).max()) > 5


def test_coherence_range_and_temporal_decay(smoke_run):
    ds = open_stack(smoke_run / "stacks" / "descending.nc", chunks=None)
    coh = ds.coherence.values
    assert coh.min() >= 0 and coh.max() <= 1
    dt = (ds.secondary_date.values - ds.reference_date.values).astype("timedelta64[D]").astype(int)
    land = ~np.isnan(ds.unwrapped_phase.values).all(axis=0)
    mean_coh = np.array([c[land].mean() for c in coh])
    rho, _ = spearmanr(dt, mean_coh)
    assert rho < -0.5
    assert mean_coh[dt == dt.min()].mean() > mean_coh[dt == dt.max()].mean() + 0.05


def test_nan_where_coherence_is_low(smoke_run, smoke_aoi):
    ds = open_stack(smoke_run / "stacks" / "ascending.nc", chunks=None)
    phase, coh = ds.unwrapped_phase.values, ds.coherence.values
    thr = smoke_aoi.synth.coherence.nan_threshold
    assert np.isnan(phase[coh < thr - 0.005]).all()
    share = np.isnan(phase).mean()
    assert 0.02 < share < 0.8


def test_phase_model_pieces_add_up(smoke_scene):
    sim = OrbitSimulator(smoke_scene, "ascending")
    k = 3
    parts = sim.pair_components(k)
    total = parts["total"]
    ok = ~np.isnan(total)
    recon = parts["deformation"] + parts["atmosphere"] + parts["dem_error"] + parts["noise_and_unwrapping"]
    assert np.allclose(recon[ok], total[ok], atol=1e-4)
    i, j = sim.pairs[k]
    wl = smoke_scene.aoi.synth.acquisitions.wavelength_m
    expected = -4 * np.pi / wl / 1000 * (sim.deformation_mm(j) - sim.deformation_mm(i))
    assert np.allclose(parts["deformation"], expected, atol=1e-5)


def test_decorrelation_noise_matches_coherence(smoke_scene):
    """Phase noise spread follows the Cramer-Rao bound for the true coherence."""
    sim = OrbitSimulator(smoke_scene, "ascending", n_threads=1)
    ks = [k for k in range(len(sim.pairs)) if not sim.unwrapping_errors(k)]
    parts = sim.pair_components(ks[0])
    g = sim._true_coherence(ks[0], slice(0, smoke_scene.grid.shape[0]))
    L = smoke_scene.aoi.synth.coherence.looks
    sel = (g > 0.6) & (g < 0.8) & ~np.isnan(parts["total"])
    expected = np.sqrt((1 - g[sel] ** 2) / (2 * L * g[sel] ** 2))
    assert np.std(parts["noise_and_unwrapping"][sel]) == pytest.approx(np.sqrt(np.mean(expected**2)), rel=0.15)
    assert np.median(parts["noise_and_unwrapping"][sel]) == pytest.approx(sim.phase_offset(ks[0]), abs=0.05)


def test_unwrapping_errors_are_whole_cycles(smoke_run, smoke_scene):
    import pandas as pd

    table = pd.read_csv(smoke_run / "truth" / "unwrapping_errors.csv")
    assert len(table) > 0 and set(table.cycles.unique()) <= {-1, 1}
    row = table.iloc[0]
    sim = OrbitSimulator(smoke_scene, row.orbit)
    parts = sim.pair_components(int(row.pair))
    g = smoke_scene.grid
    r, c = (int(round(float(v))) for v in g.rowcol(row.x, row.y))
    r = min(max(r, 0), g.shape[0] - 1)
    c = min(max(c, 0), g.shape[1] - 1)
    clean = OrbitSimulator(smoke_scene, row.orbit)
    clean.unwrapping_errors = lambda k: []
    no_err = clean.pair_components(int(row.pair))["total"]
    diff = parts["total"] - no_err
    ok = ~np.isnan(diff)
    assert np.allclose(np.unique(np.round(diff[ok] / (2 * np.pi))),
                       np.unique(np.round(diff[ok] / (2 * np.pi))).astype(int))
    assert np.isin(np.round(diff[ok] / (2 * np.pi)), [-2, -1, 0, 1, 2]).all()
    assert (np.abs(diff[ok]) > 6).any()


def test_atmosphere_spectrum_is_power_law(smoke_aoi):
    """The turbulent screen drawn for one date has the configured spectral slope."""
    aoi = load_aoi(AOI, "smoke", overrides={"synth": {
        "grid": {"shape": [256, 256], "pixel_size_m": 120.0},
        "atmosphere": {"stratified_seasonal_mm_per_km": 0, "stratified_random_mm_per_km": 0, "ramp_std_mm": 0,
                       "model_pixel_m": 120.0, "turbulence_outer_scale_km": 1000},
    }})
    sim = OrbitSimulator(Scene.build(aoi), "ascending")
    slopes = []
    for i in range(4):
        k, p = radial_power_spectrum(sim.atmosphere_mm(i))
        band = (k > 0.01) & (k < 0.2)
        slopes.append(np.polyfit(np.log(k[band]), np.log(p[band]), 1)[0])
    assert np.mean(slopes) == pytest.approx(-aoi.synth.atmosphere.turbulence_beta, abs=0.2)


def test_stratified_delay_follows_elevation(smoke_aoi):
    aoi = load_aoi(AOI, "smoke", overrides={"synth": {"atmosphere": {"turbulence_std_mm": 0, "ramp_std_mm": 0}}})
    scene = Scene.build(aoi)
    sim = OrbitSimulator(scene, "ascending")
    a = sim.atmosphere_mm(0)
    r = np.corrcoef(a.ravel(), scene.terrain.dem.ravel())[0, 1]
    assert abs(r) > 0.999


def test_acquisitions_and_network():
    aoi = load_aoi(AOI, "paper")
    cfg = aoi.synth.acquisitions
    rng = np.random.default_rng(0)
    for orbit, n in (("ascending", 88), ("descending", 160)):
        o = getattr(cfg, orbit)
        d = acquisition_dates(cfg.start, cfg.end, o, rng)
        assert d.size == n and d[0] == np.datetime64("2019-01-01")
        steps = np.diff(d).astype(int)
        assert steps.min() == o.repeat_days and (steps % o.repeat_days == 0).all()
        assert steps.max() > o.repeat_days  # gaps
    b = np.array([0, 10, 500, 20, 30], dtype=np.float32)
    pairs = small_baseline_pairs(b, o.__class__(n_dates=5, incidence_deg=40, heading_deg=-10, n_neighbours=2,
                                                max_bperp_m=100))
    pairs = set(map(tuple, pairs.tolist()))
    assert (1, 2) in pairs  # nearest neighbour kept despite its 490 m baseline
    assert (0, 2) not in pairs and (2, 4) not in pairs and (1, 3) in pairs


def test_manifest_records_parameters(smoke_run, smoke_aoi):
    m = json.loads((smoke_run / "synth" / "manifest.json").read_text())
    assert m["parameters"]["seed"] == smoke_aoi.seed and m["profile"] == "smoke"
    assert m["dates"]["ascending"] == smoke_aoi.synth.acquisitions.ascending.n_dates
