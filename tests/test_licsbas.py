"""LiCSBAS time-series folders read into Deformations, and geographic grids brought onto metres."""

import h5py
import numpy as np
import pytest
import rioxarray  # noqa: F401
import xarray as xr
from affine import Affine
from pyproj import Transformer

from lsid.errors import InputDataError
from lsid.io.crs import pixel_size_m, to_working_crs, working_crs
from lsid.io.licsbas import open_licsbas, read_grid
from tests.helpers import REALDATA

LINES, WIDTH = 12, 16
CORNER_LAT, CORNER_LON, POST = 40.9, 14.0, 0.001
DEM_PAR = (f"Gamma DIFF&GEO DEM/MAP parameter file\ntitle: DEM\nDEM_projection:     EQA\nwidth: {WIDTH}\n"
           f"nlines: {LINES}\ncorner_lat: {CORNER_LAT}  decimal degrees\ncorner_lon: {CORNER_LON}  decimal degrees\n"
           f"post_lat: {-POST} decimal degrees\npost_lon: {POST} decimal degrees\n")


def _raster(path, a):
    np.asarray(a, dtype="<f4").tofile(path)


def _licsbas(root, name="TS_GEOCml1", series=True, vectors=True, heading=-170.0, incidence=38.0):
    """A small folder laid out as LiCSBAS writes it: a velocity bump, a mask, a DEM, cum.h5, LOS vectors."""
    ts = root / name
    (ts / "info").mkdir(parents=True)
    (ts / "results").mkdir()
    (ts / "info" / "EQA.dem_par").write_text(DEM_PAR)
    (ts / "info" / "13parameters.txt").write_text("range_samples:  16\nwavelength:     0.0555\n")
    (ts / "info" / "13ref.txt").write_text("3:4/5:6\n")
    yy, xx = np.mgrid[0:LINES, 0:WIDTH]
    vel = 30.0 * np.exp(-((yy - 6) ** 2 + (xx - 8) ** 2) / 8.0) - 2.0
    mask = np.ones((LINES, WIDTH), np.float32)
    mask[0, :] = 0  # masked by LiCSBAS step 15
    vel_m = np.where(mask == 1, vel, np.nan)
    _raster(ts / "results" / "vel", vel)
    _raster(ts / "results" / "vel.mskd", vel_m)
    _raster(ts / "results" / "mask", mask)
    _raster(ts / "results" / "hgt", 100.0 + 5.0 * xx)
    _raster(ts / "results" / "vstd", np.full((LINES, WIDTH), 0.5))
    _raster(ts / "results" / "coh_avg", np.full((LINES, WIDTH), 0.6))
    if series:
        dates = [20200101, 20200113, 20200125, 20200206]
        t = (np.array([0, 12, 24, 36]) / 365.25)[:, None, None]
        with h5py.File(ts / "cum.h5", "w") as f:
            f.create_dataset("imdates", data=np.array(dates, np.int32))
            f.create_dataset("cum", data=(t * vel[None]).astype(np.float32))
            f.create_dataset("vel", data=vel.astype(np.float32))
    if vectors:
        geoc = root / name.removeprefix("TS_")
        geoc.mkdir()
        inc, az = np.deg2rad(incidence), np.deg2rad(heading - 90.0)  # ground-to-satellite LOS azimuth
        for comp, value in (("E", np.sin(inc) * np.sin(az)), ("N", np.sin(inc) * np.cos(az)), ("U", np.cos(inc))):
            _raster(geoc / f"{comp}.geo", np.full((LINES, WIDTH), value))
    return ts


def test_grid_is_pixel_centre_registered(tmp_path):
    ts = _licsbas(tmp_path)
    lines, width, t = read_grid(ts)
    assert (lines, width) == (LINES, WIDTH)
    # the first pixel's centre is LiCSBAS's corner
    assert t * (0.5, 0.5) == pytest.approx((CORNER_LON, CORNER_LAT))


def test_folder_with_series_mask_and_vectors(tmp_path):
    ts = _licsbas(tmp_path)
    d = open_licsbas(ts)  # orbit from the LOS vectors, product vel.mskd (no filtered one)
    assert d.attrs["orbit"] == "descending" and d.attrs["velocity_product"] == "vel.mskd"
    assert d.attrs["heading"] == pytest.approx(-170.0, abs=1e-3)
    assert d.attrs["incidence_angle"] == pytest.approx(38.0, abs=1e-3)
    assert d.attrs["wavelength"] == pytest.approx(0.0555)
    assert d.rio.crs.to_epsg() == 4326
    assert not d.valid.values[0].any() and d.valid.values[1:].all()  # LiCSBAS's mask
    assert float(d.velocity.max()) == pytest.approx(28.0, abs=1e-4)
    assert d.velocity.sel(y=CORNER_LAT - 6 * POST, x=CORNER_LON + 8 * POST, method="nearest") \
        == pytest.approx(28.0, abs=1e-4)
    assert d.sizes["time"] == 4 and str(d.time.values[0])[:10] == "2020-01-01" \
        and d.attrs["reference_date"] == "2020-01-01"
    last = d.displacement.isel(time=-1).values  # mm after 36 days of the bump's rate
    assert np.abs(last[1:] - 36 / 365.25 * d.velocity.values[1:]).max() < 1e-4
    x, y = read_grid(ts)[2] * (3.5, 5.5)  # centre of the reference window 3:4/5:6
    assert (d.attrs["reference_x"], d.attrs["reference_y"]) == pytest.approx((x, y))
    assert d.dem.values[3, 4] == pytest.approx(120.0) and d.mean_coherence.values.mean() == pytest.approx(0.6)


def test_orbit_from_frame_id_and_nominal_geometry(tmp_path, caplog):
    ts = _licsbas(tmp_path / "017A_05041_131313", series=False, vectors=False)
    d = open_licsbas(ts)
    assert d.attrs["orbit"] == "ascending" and "time" not in d.dims
    assert d.attrs["geometry_source"] == "Sentinel-1 nominal" and "nominal" in caplog.text
    with pytest.raises(InputDataError, match="are ascending .* given as descending"):
        open_licsbas(ts, orbit="descending")
    assert open_licsbas(ts, product="vel").valid.values.all()  # the raw product, unmasked
    d = open_licsbas(ts, incidence=33.0, heading=-12.0)
    assert (d.attrs["incidence_angle"], d.attrs["heading"], d.attrs["geometry_source"]) == (33.0, -12.0, "arguments")


def test_bad_folders(tmp_path):
    with pytest.raises(InputDataError, match="not found"):
        open_licsbas(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputDataError, match="not a LiCSBAS time-series folder"):
        open_licsbas(tmp_path / "empty")
    ts = _licsbas(tmp_path / "a", series=False, vectors=False)
    with pytest.raises(InputDataError, match="cannot tell the orbit"):
        open_licsbas(ts)
    with pytest.raises(InputDataError, match="vel.filt.mskd: not found; velocity files there: vel, vel.mskd"):
        open_licsbas(ts, product="vel.filt.mskd", orbit="ascending")
    (ts / "results" / "vel.mskd").write_bytes(b"\0" * 100)
    with pytest.raises(InputDataError, match="100 bytes, expected 768"):
        open_licsbas(ts, orbit="ascending")
    ts = _licsbas(tmp_path / "b", vectors=False)
    with h5py.File(ts / "cum.h5", "w") as f:
        f.create_dataset("imdates", data=np.array([20200101], np.int32))
        f.create_dataset("cum", data=np.zeros((1, 3, 3), np.float32))
    with pytest.raises(InputDataError, match="cum is 3 x 3, the grid of info/EQA.dem_par is 12 x 16"):
        open_licsbas(ts, orbit="ascending")
    (ts / "cum.h5").write_bytes(b"not hdf5")
    with pytest.raises(InputDataError, match="cannot be read as HDF5"):
        open_licsbas(ts, orbit="ascending")


def _geographic(shape=(60, 80), step=0.001, lat0=40.9, lon0=14.0):
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    v = (40.0 * np.exp(-((yy - 30) ** 2 + (xx - 40) ** 2) / 50.0)).astype(np.float32)
    valid = np.ones(shape, bool)
    valid[:5] = False
    t = Affine(step, 0, lon0, 0, -step, lat0)
    ds = xr.Dataset({"velocity": (("y", "x"), np.where(valid, v, np.nan)), "valid": (("y", "x"), valid),
                     "n_pairs": (("y", "x"), np.full(shape, 7, np.int16))},
                    coords={"y": lat0 - step * (np.arange(shape[0]) + 0.5),
                            "x": lon0 + step * (np.arange(shape[1]) + 0.5)},
                    attrs={"orbit": "descending", "reference_x": lon0 + 0.01, "reference_y": lat0 - 0.01})
    return ds.rio.write_crs("EPSG:4326").rio.write_transform(t)


def test_geographic_grid_goes_to_its_utm_zone():
    ds = _geographic()
    dx, dy = pixel_size_m(ds)
    assert dx == pytest.approx(84.3, abs=0.5) and dy == pytest.approx(111.0, abs=0.5)  # 0.001 deg at 40.9 N
    m = to_working_crs(ds)
    assert m.rio.crs.to_epsg() == 32633
    assert abs(m.rio.transform().a) == pytest.approx(np.round(np.sqrt(dx * dy)))
    assert m.valid.dtype == bool and m.n_pairs.dtype == np.int16 and set(np.unique(m.n_pairs)) <= {0, 7}
    assert np.isfinite(m.velocity.values[m.valid.values]).all()
    # the peak stays where it was, with about its value
    i = np.unravel_index(np.nanargmax(m.velocity.values), m.velocity.shape)
    lon, lat = Transformer.from_crs(32633, 4326, always_xy=True).transform(float(m.x[i[1]]), float(m.y[i[0]]))
    assert lon == pytest.approx(14.0405, abs=0.0008) and lat == pytest.approx(40.8695, abs=0.0008)
    assert float(m.velocity.max()) == pytest.approx(40.0, abs=3.0)
    x, y = Transformer.from_crs(4326, 32633, always_xy=True).transform(14.01, 40.89)
    assert (m.attrs["reference_x"], m.attrs["reference_y"]) == pytest.approx((x, y))
    assert "EPSG:4326" in m.attrs["resampled_from"]


def test_projected_grid_stays_unless_asked():
    m = to_working_crs(_geographic())
    assert to_working_crs(m) is m and working_crs(m) is None
    other = to_working_crs(m, "EPSG:3857", resolution_m=150)
    assert other.rio.crs.to_epsg() == 3857 and abs(other.rio.transform().a) == 150
    with pytest.raises(InputDataError, match="not a CRS pyproj knows"):
        to_working_crs(m, "EPSG:nonsense")


@pytest.mark.realdata
@pytest.mark.skipif(not (REALDATA / "licsbas_campi_flegrei" / "TS_GEOCml1clip").is_dir(),
                    reason="../shared/realdata absent")
def test_real_licsbas_campi_flegrei_uplift():
    """Real LiCSBAS results (Campi Flegrei, frame 124D): the filtered, masked velocity shows the
    Pozzuoli uplift (about +70 mm/yr, positive = towards the satellite) at 40.82 N, 14.14 E."""
    d = open_licsbas(REALDATA / "licsbas_campi_flegrei" / "TS_GEOCml1clip", orbit="descending")
    assert d.attrs["velocity_product"] == "vel.filt.mskd" and d.sizes == {"y": 121, "x": 191}
    assert d.attrs["wavelength"] == pytest.approx(0.05547, abs=1e-4)
    assert d.attrs["reference_window_px"] == "96:97/33:34"  # 16ref.txt, the filtered products' reference
    assert 0.6 < d.valid.values.mean() < 0.75  # LiCSBAS's mask removes the sea and incoherent ground
    v = d.velocity.values
    assert 60 < np.nanmax(v) < 80 and np.nanmin(v) > -40
    i = np.unravel_index(np.nanargmax(v), v.shape)
    assert float(d.y[i[0]]) == pytest.approx(40.82, abs=0.01) and float(d.x[i[1]]) == pytest.approx(14.14, abs=0.01)
    m = to_working_crs(d)
    assert m.rio.crs.to_epsg() == 32633 and 60 < float(m.velocity.max()) < 80


def test_sbas_stage_takes_a_licsbas_folder_with_its_series(tmp_path):
    """The SBAS stage writes a LiCSBAS input (series in cum.h5, degrees) as a Deformation on UTM, series
    included, without inverting anything."""
    from lsid.config import load_aoi
    from lsid.io import open_netcdf
    from lsid.layout import RunLayout
    from lsid.sbas.stage import run_track

    ts = _licsbas(tmp_path / "data")
    aoi = tmp_path / "area.yaml"
    aoi.write_text("name: tiny\ntitle: tiny\nsynthetic: false\ninputs:\n"
                   f"  descending: {{format: licsbas, path: {ts}}}\n")
    cfg = load_aoi(aoi, "smoke")
    summary = run_track(cfg, "descending", tmp_path / "run")
    assert summary["crs"] == "EPSG:32633" and summary["pairs_total"] == 0 and summary["dates"] == 4
    d = open_netcdf(RunLayout(tmp_path / "run").deformation("descending"), chunks=None)
    assert d.rio.crs.to_epsg() == 32633 and d.displacement.dims == ("time", "y", "x")
    assert d.attrs["reference_date"] == "2020-01-01" and d.attrs["method"] == "LiCSBAS (vel.mskd)"
    # the series still ends at 36 days of each pixel's rate
    ok = d.valid.values
    assert np.nanmax(np.abs(d.displacement.values[-1][ok] - 36 / 365.25 * d.velocity.values[ok])) < 0.05


def test_both_tracks_share_one_working_crs(tmp_path):
    """An area whose ascending track is projected (here Web Mercator) and whose descending one is in
    degrees ends with both on the ascending track's CRS, not on two different ones; the inventory
    refuses tracks on different CRSs."""
    import rasterio

    from lsid.config import load_aoi
    from lsid.inventory import build_inventory
    from lsid.io import open_netcdf
    from lsid.layout import RunLayout
    from lsid.sbas.stage import run_track

    asc = to_working_crs(_geographic(), "EPSG:3857", resolution_m=100)
    desc = _geographic()
    for name, ds in (("asc.tif", asc), ("desc.tif", desc)):
        ds.velocity.rio.to_raster(tmp_path / name)
    aoi = tmp_path / "area.yaml"
    aoi.write_text("name: two\ntitle: two\nsynthetic: false\ninputs:\n"
                   f"  ascending: {{format: velocity, path: {tmp_path / 'asc.tif'}}}\n"
                   f"  descending: {{format: velocity, path: {tmp_path / 'desc.tif'}}}\n")
    cfg = load_aoi(aoi, "smoke")
    run = tmp_path / "run"
    for orbit in ("ascending", "descending"):
        run_track(cfg, orbit, run)
    defos = {o: open_netcdf(RunLayout(run).deformation(o), chunks=None) for o in ("ascending", "descending")}
    assert {d.rio.crs.to_epsg() for d in defos.values()} == {3857}  # its own UTM zone would be 32633
    with rasterio.open(tmp_path / "desc.tif") as src:
        assert src.crs.to_epsg() == 4326
    defos["descending"] = to_working_crs(desc)  # as if written before the rule: UTM 33N
    with pytest.raises(InputDataError, match="different CRSs"):
        build_inventory({"ascending": None, "descending": None}, defos, cfg.inventory)
