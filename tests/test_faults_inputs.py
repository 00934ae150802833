"""Plausibility of a user's inputs (issue 16, item 5): undeclared no-data values, phase in mm, a
velocity unit that does not fit, a CRS that does not fit the coordinates, 1-degree pixels, empty maps;
the AOI key ``inputs.<orbit>.nodata`` in every raster reader; and no warning on real or synthetic
products (lsid.io.plausibility)."""

import re
import warnings
from contextlib import contextmanager

import h5py
import numpy as np
import pytest
import rasterio
from affine import Affine

from lsid.errors import InputDataError, InputWarning
from lsid.io.geotiff import open_interferograms, open_velocity
from lsid.io.licsbas import open_licsbas
from lsid.io.mintpy import open_mintpy_stack
from lsid.io.mintpy_results import open_mintpy_results
from lsid.io.plausibility import PHASE_MM_SUSPECT_LOS_MM, phase_los_p99_mm
from tests.helpers import REALDATA

UTM = Affine(30.0, 0, 600000.0, 0, -30.0, 3000000.0)
DEG = Affine(0.001, 0, 14.0, 0, -0.001, 40.9)
SHAPE = (40, 50)
DATES = ["20190101", "20190113", "20190125", "20190206", "20190218"]
PAIRS = [(0, 1), (0, 2), (1, 2), (1, 3), (2, 3), (2, 4), (3, 4)]
MM_PER_RAD = 0.05546576 / (4 * np.pi) * 1000  # Sentinel-1: 4.4 mm of LOS per radian


def _tif(path, arr, nodata=None, transform=UTM, crs="EPSG:32647", dtype="float32"):
    with rasterio.open(path, "w", driver="GTiff", height=arr.shape[0], width=arr.shape[1], count=1, dtype=dtype,
                       crs=crs, transform=transform, nodata=nodata) as dst:
        dst.write(arr.astype(dtype), 1)


def _bump(shape=SHAPE, sigma=5.0):
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    return np.exp(-((yy - shape[0] / 2) ** 2 + (xx - shape[1] / 2) ** 2) / (2 * sigma ** 2))


def _phase(i, j, rng, shape=SHAPE):
    """An interferogram as real ones are (the 99th percentile of |phase - median| of a typical pair is
    8.5 rad, 37 mm of LOS, as in PyRate's real stack): 10 rad of deformation per step and noise."""
    return 10.0 * (j - i) * _bump(shape) + 0.5 * rng.standard_normal(shape)


def _licsar(root, scale=1.0, fill=None, crs="EPSG:32647", transform=UTM, name="licsar"):
    """A LiCSAR folder (YYYYMMDD_YYYYMMDD.geo.unw.tif + .geo.cc.tif); ``fill``: (value, rows) written
    over those rows of every phase file, undeclared."""
    rng = np.random.default_rng(0)
    d = root / name
    d.mkdir(parents=True)
    for i, j in PAIRS:
        ph = _phase(i, j, rng) * scale
        if fill is not None:
            ph[fill[1]] = fill[0]
        _tif(d / f"{DATES[i]}_{DATES[j]}.geo.unw.tif", ph, crs=crs, transform=transform)
        _tif(d / f"{DATES[i]}_{DATES[j]}.geo.cc.tif", np.full(SHAPE, 0.8), crs=crs, transform=transform)
    return d


def _velocity(seed=0, shape=SHAPE):
    """A velocity map in mm/yr as real ones spread: 3 mm/yr of noise and a -40 mm/yr landslide."""
    return (3.0 * np.random.default_rng(seed).standard_normal(shape) - 40.0 * _bump(shape, 4.0)).astype(np.float32)


LICSBAS_PAR = ("Gamma DIFF&GEO DEM/MAP parameter file\nDEM_projection:     EQA\nwidth: {w}\nnlines: {h}\n"
               "corner_lat: {lat}  decimal degrees\ncorner_lon: {lon}  decimal degrees\n"
               "post_lat: -0.001 decimal degrees\npost_lon: 0.001 decimal degrees\n")


def _licsbas(root, vel, lat=40.9, lon=14.0, series=True):
    """A LiCSBAS TS_GEOCml1 folder with results/vel (mm/yr), vstd and, with ``series``, cum.h5."""
    ts = root / "TS_GEOCml1"
    (ts / "info").mkdir(parents=True)
    (ts / "results").mkdir()
    h, w = vel.shape
    (ts / "info" / "EQA.dem_par").write_text(LICSBAS_PAR.format(w=w, h=h, lat=lat, lon=lon))
    np.asarray(vel, "<f4").tofile(ts / "results" / "vel")
    np.full(vel.shape, 0.5, "<f4").tofile(ts / "results" / "vstd")
    if series:
        with h5py.File(ts / "cum.h5", "w") as f:
            f.create_dataset("imdates", data=np.array([20200101, 20200113, 20200125], np.int32))
            cum = np.array([0, 12, 24])[:, None, None] / 365.25 * vel[None]
            f.create_dataset("cum", data=np.where(vel == -9999, -9999, cum).astype("f4"))  # no data stays so
    return ts


MINTPY_ATTRS = {"X_FIRST": "600000.0", "Y_FIRST": "3000000.0", "X_STEP": "30.0", "Y_STEP": "-30.0",
                "EPSG": "32647", "WAVELENGTH": "0.05546576", "ORBIT_DIRECTION": "ASCENDING"}


def _mintpy_velocity(path, vel_m, **attrs):
    """A geocoded MintPy velocity.h5 (``vel_m`` in the UNIT given, m/year by default)."""
    with h5py.File(path, "w") as f:
        f.attrs.update({**MINTPY_ATTRS, "UNIT": "m/year", "FILE_TYPE": "velocity", **attrs})
        f.create_dataset("velocity", data=np.asarray(vel_m, np.float32))
    return path


def _mintpy_stack(path, scale=1.0, fill=None, **attrs):
    """A geocoded MintPy ifgramStack.h5 of the PAIRS (``fill``: (value, rows) in every pair)."""
    rng = np.random.default_rng(0)
    phase = np.stack([_phase(i, j, rng) for i, j in PAIRS]).astype(np.float32) * scale
    if fill is not None:
        phase[:, fill[1]] = fill[0]
    with h5py.File(path, "w") as f:
        f.attrs.update({**MINTPY_ATTRS, "FILE_TYPE": "ifgramStack", **attrs})
        f.create_dataset("unwrapPhase", data=phase)
        f.create_dataset("coherence", data=np.full(phase.shape, 0.8, np.float32))
        f.create_dataset("date", data=np.array([[DATES[i].encode(), DATES[j].encode()] for i, j in PAIRS]))
        f.create_dataset("bperp", data=np.zeros(len(PAIRS), np.float32))
        f.create_dataset("dropIfgram", data=np.ones(len(PAIRS), bool))
    return path


@contextmanager
def _strict():
    """Any InputWarning raised inside fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", InputWarning)
        yield


# --- undeclared no-data values -------------------------------------------------------------------------


def test_undeclared_nodata_in_interferograms_warns_and_the_key_masks_it(tmp_path):
    folder = _licsar(tmp_path, fill=(-9999.0, slice(0, 8)))  # 8 of 40 rows: 20 % of the pixels
    with pytest.warns(InputWarning) as rec:
        st = open_interferograms(folder, orbit="ascending")
    msg = next(str(w.message) for w in rec if "-9999" in str(w.message))
    assert str(folder) in msg and "20 %" in msg and "in 7 of 7 files" in msg
    assert "set inputs.ascending.nodata: -9999 in the AOI file" in msg
    assert (np.abs(st.unwrapped_phase.values[:, :8]) == 9999).all()  # read as data, as the warning says
    with _strict():
        st = open_interferograms(folder, orbit="ascending", nodata=-9999)
    assert np.isnan(st.unwrapped_phase.values[:, :8]).all() and np.isfinite(st.unwrapped_phase.values[:, 8:]).all()


def test_licsar_zero_is_no_data_when_undeclared(tmp_path):
    folder = _licsar(tmp_path, fill=(0.0, slice(0, 4)))
    with pytest.warns(InputWarning, match=r"are exactly 0, a common no-data value.*inputs.descending.nodata: 0 "):
        open_interferograms(folder, orbit="descending")
    with _strict():
        st = open_interferograms(folder, orbit="descending", nodata=0)
    assert np.isnan(st.unwrapped_phase.values[:, :4]).all()


def test_undeclared_nodata_in_a_velocity_geotiff(tmp_path):
    v = _velocity()
    v[:, :5] = -32768
    _tif(tmp_path / "vel.tif", v)
    with pytest.warns(InputWarning, match=re.escape(f"{tmp_path / 'vel.tif'}: 200 values (10 % of those read)")
                      + r".*-32768.*set inputs.ascending.nodata: -32768.*gdal_edit.py -a_nodata -32768"):
        open_velocity(tmp_path / "vel.tif", orbit="ascending")
    with _strict():
        d = open_velocity(tmp_path / "vel.tif", orbit="ascending", nodata=-32768)
    assert not d.valid.values[:, :5].any() and d.valid.values[:, 5:].all()
    assert np.nanmin(d.velocity.values) > -100


def test_zero_fill_of_a_float_velocity_map_warns_not_an_integer_one(tmp_path):
    v = _velocity()
    v[:2] = 0.0
    _tif(tmp_path / "float.tif", v)
    with pytest.warns(InputWarning, match=r"100 values .* exactly 0.*nodata: 0"):
        open_velocity(tmp_path / "float.tif")
    _tif(tmp_path / "rounded.tif", np.round(_velocity(), 1))  # rounded to 0.1 mm/yr: its zeros are values
    with _strict():
        open_velocity(tmp_path / "rounded.tif")
    r = np.round(_velocity(), 1)
    r[:2] = 0.0  # ... but a zero fill of a rounded map still stands out
    _tif(tmp_path / "rounded_fill.tif", r)
    with pytest.warns(InputWarning, match="exactly 0"):
        open_velocity(tmp_path / "rounded_fill.tif")
    _tif(tmp_path / "int.tif", np.round(_velocity()), dtype="int16")  # whole mm/yr: zeros are values
    with _strict():
        open_velocity(tmp_path / "int.tif")
    _tif(tmp_path / "declared.tif", v, nodata=-1.0)  # a file that declares its nodata: zeros are values
    with _strict():
        open_velocity(tmp_path / "declared.tif")


def test_undeclared_nodata_in_licsbas_mintpy_results_and_stack(tmp_path):
    v = _velocity()
    v[-3:] = -9999
    ts = _licsbas(tmp_path / "lb", v)
    with pytest.warns(InputWarning, match=re.escape(str(ts / "results" / "vel")) + r": 150 values.*-9999.*"
                                          r"inputs.descending.nodata: -9999 in the AOI file"):
        open_licsbas(ts, orbit="descending")
    mp = _mintpy_velocity(tmp_path / "velocity.h5", np.where(v == -9999, -9999, v / 1000))
    with pytest.warns(InputWarning, match=re.escape(str(mp)) + r": 150 values.*-9999.*inputs.ascending.nodata"):
        open_mintpy_results(mp)
    stack = _mintpy_stack(tmp_path / "ifgramStack.h5", fill=(-32768.0, slice(0, 2)))
    with pytest.warns(InputWarning, match=re.escape(str(stack)) + r": 700 values.*-32768.*inputs.ascending.nodata"):
        open_mintpy_stack(stack)


# --- the nodata key, honoured by every raster reader through the AOI file ------------------------------


def _aoi(tmp_path, spec):
    from lsid.config import load_aoi

    aoi = tmp_path / "area.yaml"
    aoi.write_text(f"name: nd\ntitle: nd\nsynthetic: false\ninputs:\n  ascending: {spec}\n")
    return load_aoi(aoi, "smoke")


@pytest.mark.parametrize("fmt", ["geotiff", "mintpy", "mintpy_results", "licsbas", "velocity"])
def test_nodata_key_in_every_raster_format(tmp_path, fmt):
    """``inputs.<orbit>.nodata: -9999`` makes the filled rows no data, with no warning, in each format."""
    from lsid.io.aoi import open_track

    rows = slice(0, 3)
    v = _velocity()
    v[rows] = -9999
    if fmt == "geotiff":
        path = _licsar(tmp_path, fill=(-9999.0, rows))
    elif fmt == "mintpy":
        path = _mintpy_stack(tmp_path / "ifgramStack.h5", fill=(-9999.0, rows))
    elif fmt == "mintpy_results":
        path = _mintpy_velocity(tmp_path / "velocity.h5", np.where(v == -9999, -9999, v / 1000))
    elif fmt == "licsbas":
        path = _licsbas(tmp_path / "lb", v)
    else:
        path = tmp_path / "vel.tif"
        _tif(path, v)
    cfg = _aoi(tmp_path, f"{{format: {fmt}, path: {path}, nodata: -9999}}")
    with _strict():
        ds = open_track(cfg, "ascending", tmp_path / "run")
    a = ds.unwrapped_phase.values[:, rows] if "unwrapped_phase" in ds else ds.velocity.values[rows]
    rest = ds.unwrapped_phase.values[:, 3:] if "unwrapped_phase" in ds else ds.velocity.values[3:]
    assert np.isnan(a).all() and np.isfinite(rest).all()
    if "displacement" in ds:  # LiCSBAS's cum.h5 too
        assert np.isnan(ds.displacement.values[:, rows]).all()


# --- phase in millimetres -------------------------------------------------------------------------------


def test_phase_in_millimetres_warns(tmp_path):
    with _strict():  # radians: 35 mm of LOS in a typical pair
        st = open_interferograms(_licsar(tmp_path), orbit="ascending")
    assert phase_los_p99_mm(st.unwrapped_phase.values, st.attrs["wavelength"])[1] < PHASE_MM_SUSPECT_LOS_MM / 2
    folder = _licsar(tmp_path, scale=MM_PER_RAD, name="mm")  # the same stack in mm of LOS
    with pytest.warns(InputWarning, match=re.escape(str(folder)) + r": the phase spreads too far for radians.*"
                                          r"look like millimetres.*Convert the files to radians"):
        open_interferograms(folder, orbit="ascending")
    with pytest.warns(InputWarning, match="look like millimetres"):
        open_mintpy_stack(_mintpy_stack(tmp_path / "mm.h5", scale=MM_PER_RAD))


def test_a_data_units_tag_of_mm_is_refused(tmp_path):
    """A tag that says mm is certain: refused, as before, with the conversion to make."""
    folder = _licsar(tmp_path)
    for f in folder.glob("*.geo.unw.tif"):
        with rasterio.open(f, "r+") as dst:
            dst.update_tags(DATA_UNITS="millimetres")
    with pytest.raises(InputDataError, match="DATA_UNITS is 'millimetres'.*Convert the file to radians"):
        open_interferograms(folder, orbit="ascending")


# --- velocity units --------------------------------------------------------------------------------------


def test_velocity_in_cm_declared_as_mm_warns(tmp_path):
    _tif(tmp_path / "cm.tif", _velocity() / 10)  # cm/yr
    with pytest.warns(InputWarning, match=re.escape(str(tmp_path / "cm.tif")) + r": declared in mm/yr.*spread too "
                      r"little.*robust spread 0\.\d+ mm/yr.*look like cm/yr or m/yr.*"
                      r"set inputs.descending.velocity_units: cm/yr in the AOI file"):
        open_velocity(tmp_path / "cm.tif", orbit="descending")
    with _strict():
        d = open_velocity(tmp_path / "cm.tif", units="cm/yr")
    assert np.nanmin(d.velocity.values) < -30


def test_velocity_in_mm_declared_as_m_warns(tmp_path):
    _tif(tmp_path / "mm.tif", _velocity())
    with pytest.warns(InputWarning, match=r"declared in m/yr, the velocities spread too much.*look like mm/yr or "
                                          r"cm/yr.*velocity_units: mm/yr"):
        open_velocity(tmp_path / "mm.tif", units="m/yr")
    with _strict():
        open_velocity(tmp_path / "mm.tif", units="mm/yr")


def test_mintpy_velocity_whose_unit_attribute_is_wrong(tmp_path):
    mp = _mintpy_velocity(tmp_path / "velocity.h5", _velocity() / 1000, UNIT="mm/year")  # m/yr in truth
    with pytest.warns(InputWarning, match=re.escape(str(mp)) + r": declared in mm/yr.*UNIT attribute says "
                                          r"'mm/year'.*f.attrs\['UNIT'\] = 'm/yr'"):
        open_mintpy_results(mp)


# --- grids and CRSs ---------------------------------------------------------------------------------------


def test_geographic_crs_on_projected_coordinates_is_refused(tmp_path):
    _tif(tmp_path / "vel.tif", _velocity(), crs="EPSG:4326")  # UTM coordinates under WGS 84
    with pytest.raises(InputDataError, match=re.escape(str(tmp_path / "vel.tif")) + r": the CRS is geographic.*"
                                             r"projected coordinates \(metres\) under a wrong CRS.*gdal_edit.py"):
        open_velocity(tmp_path / "vel.tif")
    folder = _licsar(tmp_path, crs="EPSG:4326")
    with pytest.raises(InputDataError, match="20190101_20190113.geo.unw.tif: the CRS is geographic"):
        open_interferograms(folder, orbit="ascending")
    mp = _mintpy_velocity(tmp_path / "velocity.h5", _velocity() / 1000, EPSG="4326")
    with pytest.raises(InputDataError, match=re.escape(str(mp)) + r": the CRS is geographic.*attrs\['EPSG'\]"):
        open_mintpy_results(mp)
    ts = _licsbas(tmp_path / "lb", _velocity(), lat=3000000.0, lon=600000.0)
    with pytest.raises(InputDataError, match=r"EQA.dem_par: the CRS is geographic.*corner_lat"):
        open_licsbas(ts, orbit="descending")


def test_projected_crs_on_degrees_is_refused(tmp_path):
    _tif(tmp_path / "vel.tif", _velocity(), crs="EPSG:32633", transform=DEG)
    with pytest.raises(InputDataError, match=re.escape(str(tmp_path / "vel.tif")) + r": the CRS is projected.*look "
                                             r"like degrees.*EPSG:4326"):
        open_velocity(tmp_path / "vel.tif")
    stack = _mintpy_stack(tmp_path / "ifgramStack.h5", X_FIRST="14.0", Y_FIRST="40.9", X_STEP="0.001",
                          Y_STEP="-0.001", EPSG="32633")
    with pytest.raises(InputDataError, match=re.escape(str(stack)) + r": the CRS is projected.*EPSG"):
        open_mintpy_stack(stack)


def test_one_degree_pixels_warn(tmp_path):
    _tif(tmp_path / "vel.tif", _velocity(shape=(20, 30)), crs="EPSG:4326", transform=Affine(1, 0, 0, 0, -1, 20))
    with pytest.warns(InputWarning, match=re.escape(str(tmp_path / "vel.tif")) + r": pixels of 1 deg.*"
                                          r"georeferencing looks wrong"):
        open_velocity(tmp_path / "vel.tif")
    with _strict():
        _tif(tmp_path / "fine.tif", _velocity(), crs="EPSG:4326", transform=DEG)
        open_velocity(tmp_path / "fine.tif")


# --- empty and all-NaN maps -------------------------------------------------------------------------------


def test_all_nodata_maps_are_refused(tmp_path):
    _tif(tmp_path / "nan.tif", np.full(SHAPE, np.nan))
    with pytest.raises(InputDataError, match=re.escape(str(tmp_path / "nan.tif")) + ": every velocity value is NaN"):
        open_velocity(tmp_path / "nan.tif")
    _tif(tmp_path / "fill.tif", np.full(SHAPE, -9999.0))
    with pytest.raises(InputDataError, match="fill.tif: every velocity value is NaN or no data"):
        open_velocity(tmp_path / "fill.tif", nodata=-9999)
    ts = _licsbas(tmp_path / "lb", np.full(SHAPE, np.nan, np.float32), series=False)
    with pytest.raises(InputDataError, match=re.escape(str(ts / "results" / "vel")) + ": every velocity value"):
        open_licsbas(ts, orbit="descending")
    mask = tmp_path / "lb" / "TS_GEOCml1" / "results" / "mask"
    _velocity().astype("<f4").tofile(ts / "results" / "vel.mskd")
    np.zeros(SHAPE, "<f4").tofile(mask)
    with pytest.raises(InputDataError, match=r"vel.mskd: no pixel is reliable: LiCSBAS's results/mask masks every"):
        open_licsbas(ts, orbit="descending")
    mp = _mintpy_velocity(tmp_path / "velocity.h5", np.full(SHAPE, np.nan))
    with pytest.raises(InputDataError, match=re.escape(str(mp)) + ": every velocity value is NaN"):
        open_mintpy_results(mp)
    stack = _mintpy_stack(tmp_path / "ifgramStack.h5", scale=0.0)  # MintPy's 0: no data everywhere
    with pytest.raises(InputDataError, match=re.escape(str(stack)) + r": every phase value is NaN.*MintPy's no-data"):
        open_mintpy_stack(stack)


# --- no warning on real and synthetic products ------------------------------------------------------------


@pytest.mark.realdata
@pytest.mark.skipif(not (REALDATA / "pyrate_cropA" / "geotiffs").is_dir(), reason="../shared/realdata absent")
def test_real_pyrate_stack_raises_no_plausibility_warning(tmp_path):
    from lsid.io.geotiff import write_cog
    from lsid.sbas import invert

    with _strict():
        st = open_interferograms(REALDATA / "pyrate_cropA" / "geotiffs", orbit="ascending")
        d = invert(st, weight="var")
        write_cog(d.velocity.where(d.valid), tmp_path / "vel.tif")  # Mexico City: spread ~100 mm/yr
        open_velocity(tmp_path / "vel.tif", orbit="ascending")


@pytest.mark.realdata
@pytest.mark.skipif(not (REALDATA / "licsbas_campi_flegrei" / "TS_GEOCml1clip").is_dir(),
                    reason="../shared/realdata absent")
def test_real_licsbas_results_raise_no_plausibility_warning(tmp_path):
    folder = REALDATA / "licsbas_campi_flegrei" / "TS_GEOCml1clip"
    with _strict():
        for product in (None, "vel", "vel.filt", "vel.mskd"):
            d = open_licsbas(folder, product=product, orbit="descending")
        d.velocity.rio.to_raster(tmp_path / "vel.tif")  # the same map as a velocity GeoTIFF in degrees
        open_velocity(tmp_path / "vel.tif", orbit="descending")


def test_smoke_area_inputs_raise_no_plausibility_warning(smoke_run, tmp_path):
    """The synthetic smoke area's stacks written as a user would give them (LiCSAR GeoTIFFs, a MintPy
    stack, a velocity GeoTIFF) read back without any plausibility warning."""
    from lsid.io import open_stack
    from lsid.io.geotiff import write_cog
    from lsid.io.mintpy import write_mintpy_stack
    from lsid.sbas import invert

    for orbit in ("ascending", "descending"):
        st = open_stack(smoke_run / "stacks" / f"{orbit}.nc", chunks=None)
        folder = tmp_path / orbit
        folder.mkdir()
        t, crs = st.rio.transform(), st.rio.crs
        for k in range(st.sizes["pair"]):
            r, s = (str(st[c].values[k])[:10].replace("-", "") for c in ("reference_date", "secondary_date"))
            _tif(folder / f"{r}_{s}.geo.unw.tif", st.unwrapped_phase.values[k], transform=t, crs=crs)
            _tif(folder / f"{r}_{s}.geo.cc.tif", st.coherence.values[k], transform=t, crs=crs)
        with _strict():
            open_interferograms(folder, orbit=orbit)
            open_mintpy_stack(write_mintpy_stack(st, tmp_path / f"{orbit}.h5"))
            d = invert(st, reference_point="auto")
            open_velocity(write_cog(d.velocity.where(d.valid), tmp_path / f"{orbit}.tif"), orbit=orbit)
