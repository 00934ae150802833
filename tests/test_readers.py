"""Readers of user data into the Stack and Deformation contracts, and their errors."""

import numpy as np
import pytest
import rasterio
import rioxarray  # noqa: F401
from affine import Affine

from lsid.errors import InputDataError
from lsid.io.geotiff import open_interferograms, open_velocity, write_cog
from lsid.io.mintpy import open_mintpy_stack, write_mintpy_stack
from lsid.sbas import invert
from tests.helpers import REALDATA

TRANSFORM = Affine(30.0, 0, 600000.0, 0, -30.0, 3000000.0)


def _tif(path, arr, tags=None, nodata=None, transform=TRANSFORM, crs="EPSG:32647"):
    with rasterio.open(path, "w", driver="GTiff", height=arr.shape[0], width=arr.shape[1], count=1,
                       dtype="float32", crs=crs, transform=transform, nodata=nodata) as dst:
        dst.write(arr.astype(np.float32), 1)
        if tags:
            dst.update_tags(**tags)


DATES = ["20190101", "20190113", "20190125", "20190206", "20190218"]
PAIRS = [(0, 1), (0, 2), (1, 2), (1, 3), (2, 3), (2, 4), (3, 4)]


def _names(kind, r, s):
    if kind == "hyp3":
        stem = f"S1AA_{r}T000000_{s}T000000_VVP012_INT80_G_ueF_ABCD"
        return f"{stem}_unw_phase.tif", f"{stem}_corr.tif"
    if kind == "licsar":
        return f"{r}_{s}.geo.unw.tif", f"{r}_{s}.geo.cc.tif"
    return f"area_{r}-{s}_VV_8rlks_eqa_unw.tif", f"area_{r}-{s}_VV_8rlks_flat_eqa_cc.tif"


def _folder(tmp_path, kind, scale=1.0, tags=None, rate=2.0):
    rng = np.random.default_rng(0)
    d = tmp_path / kind
    d.mkdir()
    for i, j in PAIRS:
        p, c = _names(kind, DATES[i], DATES[j])
        phase = rate * (j - i) + 0.3 * rng.standard_normal((6, 8))
        _tif(d / p, phase * scale, tags)
        _tif(d / c, np.full((6, 8), 0.8))
    return d


@pytest.mark.parametrize("kind", ["hyp3", "licsar", "gamma"])
def test_geotiff_folders(tmp_path, kind):
    folder = _folder(tmp_path, kind, tags={"WAVELENGTH_METRES": "0.0555"} if kind == "gamma" else None)
    st = open_interferograms(folder, orbit="descending")
    assert st.attrs["processor"] == kind and st.sizes["pair"] == len(PAIRS)
    assert st.rio.crs.to_epsg() == 32647 and "coherence" in st
    assert str(st.reference_date.values[0])[:10] == "2019-01-01"
    assert st.x.values[0] == pytest.approx(600015.0) and st.y.values[0] == pytest.approx(2999985.0)
    d = invert(st, reference_point=None)
    assert d.sizes["time"] == len(DATES)


def test_metadata_from_tags_and_arguments(tmp_path):
    folder = _folder(tmp_path, "gamma", tags={"WAVELENGTH_METRES": "0.0555", "INCIDENCE_DEGREES": "39.5"})
    st = open_interferograms(folder, heading=-170.0)
    assert st.attrs["wavelength"] == pytest.approx(0.0555) and st.attrs["incidence_angle"] == pytest.approx(39.5)
    assert st.attrs["orbit"] == "descending"  # from the heading
    other = tmp_path / "untagged"
    other.mkdir()
    folder = _folder(other, "gamma")
    with pytest.raises(InputDataError, match="wavelength"):
        open_interferograms(folder, orbit="ascending")
    assert open_interferograms(folder, orbit="ascending", wavelength=0.0236).attrs["wavelength"] == 0.0236


def test_no_date_pair_in_names(tmp_path):
    d = tmp_path / "bad"
    d.mkdir()
    _tif(d / "interferogram_one.tif", np.ones((4, 4)))
    with pytest.raises(InputDataError,
                       match="no interferogram whose file name carries a date pair.*interferogram_one.tif"):
        open_interferograms(d, orbit="ascending")


def test_different_grids(tmp_path):
    folder = _folder(tmp_path, "licsar")
    p, _ = _names("licsar", DATES[3], DATES[4])
    _tif(folder / p, np.ones((6, 8)), transform=Affine(30.0, 0, 600030.0, 0, -30.0, 3000000.0))
    with pytest.raises(InputDataError, match=f"{p}: grid differs.*resample"):
        open_interferograms(folder, orbit="ascending")
    _tif(folder / p, np.ones((6, 8)), crs="EPSG:32648")
    with pytest.raises(InputDataError, match="CRS"):
        open_interferograms(folder, orbit="ascending")


def test_metres_instead_of_radians(tmp_path):
    folder = _folder(tmp_path, "hyp3", scale=0.01)
    with pytest.raises(InputDataError, match="look like metres.*allow_small_phase"):
        open_interferograms(folder, orbit="ascending")
    assert open_interferograms(folder, orbit="ascending", allow_small_phase=True).sizes["pair"] == len(PAIRS)
    other = tmp_path / "metres"
    other.mkdir()
    folder = _folder(other, "gamma", tags={"DATA_UNITS": "METRES", "WAVELENGTH_METRES": "0.0555"})
    with pytest.raises(InputDataError, match="DATA_UNITS"):
        open_interferograms(folder, orbit="ascending")


def test_too_few_dates_and_all_nan(tmp_path):
    d = tmp_path / "two"
    d.mkdir()
    p, c = _names("licsar", DATES[0], DATES[1])
    _tif(d / p, np.full((4, 4), 3.0))
    with pytest.raises(InputDataError, match="only 2 acquisition dates"):
        open_interferograms(d, orbit="ascending")
    folder = _folder(tmp_path, "hyp3")
    for f in folder.glob("*_unw_phase.tif"):
        _tif(f, np.zeros((6, 8)), nodata=0.0)
    with pytest.raises(InputDataError, match="every phase value is NaN"):
        open_interferograms(folder, orbit="ascending")


def test_corrupt_file(tmp_path):
    folder = _folder(tmp_path, "licsar")
    p, _ = _names("licsar", DATES[2], DATES[3])
    (folder / p).write_bytes(b"II*\x00garbage" * 10)
    with pytest.raises(InputDataError, match=f"{p}: cannot read this phase GeoTIFF"):
        open_interferograms(folder, orbit="ascending")


def test_orbit_required(tmp_path):
    folder = _folder(tmp_path, "hyp3")
    with pytest.raises(InputDataError, match="orbit="):
        open_interferograms(folder)


def test_mintpy_roundtrip(smoke_run, tmp_path):
    from lsid.io import open_stack

    st = open_stack(smoke_run / "stacks" / "ascending.nc", chunks=None).isel(pair=slice(0, 6))
    h5 = write_mintpy_stack(st, tmp_path / "ifgramStack.h5", looks=20)
    back = open_mintpy_stack(h5)
    assert back.attrs["looks"] == 20  # NCORRLOOKS, the number MintPy's 'var' weights use
    assert back.sizes == st.sizes and back.rio.crs.to_epsg() == 32647
    assert np.allclose(back.x.values, st.x.values) and np.allclose(back.y.values, st.y.values)
    a, b = back.unwrapped_phase.values, st.unwrapped_phase.values
    assert np.array_equal(np.isnan(a), np.isnan(b) | (b == 0))
    assert np.allclose(a[np.isfinite(a)], b[np.isfinite(a)])
    assert (back.reference_date.values == st.reference_date.values).all()
    assert back.attrs["orbit"] == "ascending" and back.attrs["wavelength"] == pytest.approx(st.attrs["wavelength"])


def test_mintpy_independent_looks():
    from lsid.io.mintpy import _independent_looks

    assert _independent_looks({"NCORRLOOKS": "12.3", "ALOOKS": "4", "RLOOKS": "20"}) == 12
    assert _independent_looks({"ALOOKS": "4", "RLOOKS": "20"}) == 41  # MintPy: rint(80 / 1.94)
    assert _independent_looks({"ALOOKS": "1", "RLOOKS": "1"}) == 1 and _independent_looks({}) is None


def test_mintpy_bad_files(tmp_path):
    import h5py

    p = tmp_path / "x.h5"
    with h5py.File(p, "w") as f:
        f.create_dataset("timeseries", data=np.zeros((2, 2, 2)))
    with pytest.raises(InputDataError, match="not a MintPy ifgramStack.h5"):
        open_mintpy_stack(p)
    (tmp_path / "y.h5").write_bytes(b"nope")
    with pytest.raises(InputDataError, match="cannot be read as HDF5"):
        open_mintpy_stack(tmp_path / "y.h5")


def test_velocity_geotiff_and_cog(tmp_path):
    v = np.arange(48, dtype=np.float32).reshape(6, 8) / 1000.0  # m/yr
    v[0, 0] = -9999
    _tif(tmp_path / "vel.tif", v, nodata=-9999)
    d = open_velocity(tmp_path / "vel.tif", units="m/yr", orbit="ascending")
    assert d.velocity.attrs["units"] == "mm/yr" and np.isnan(d.velocity.values[0, 0])
    assert d.velocity.values[0, 1] == pytest.approx(1.0) and not d.valid.values[0, 0]
    out = write_cog(d.velocity, tmp_path / "vel_cog.tif")
    with rasterio.open(out) as src:
        assert src.crs.to_epsg() == 32647
        assert src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert np.allclose(src.read(1)[1:], d.velocity.values[1:])
    with pytest.raises(InputDataError, match="units"):
        open_velocity(tmp_path / "vel.tif", units="in/yr")


@pytest.mark.realdata
@pytest.mark.skipif(not (REALDATA / "pyrate_cropA" / "geotiffs").is_dir(), reason="../shared/realdata absent")
def test_real_pyrate_mexico_city_subsidence():
    """Real GAMMA interferograms (PyRate's cropA, Mexico City): wavelength and incidence from the tags,
    a coherent inversion, and subsidence (negative LOS velocity) of up to about 0.2-0.26 m/yr."""
    st = open_interferograms(REALDATA / "pyrate_cropA" / "geotiffs", orbit="ascending")
    assert st.sizes["pair"] == 30 and np.union1d(st.reference_date, st.secondary_date).size == 13
    assert st.attrs["wavelength"] == pytest.approx(0.0555, abs=1e-3)
    assert 35 < st.attrs["incidence_angle"] < 45
    d = invert(st, weight="var")
    assert np.nanmedian(d.temporal_coherence.values) > 0.9 and d.valid.values.mean() > 0.9
    v = d.velocity.values[d.valid.values]
    assert -300 < np.percentile(v, 1) < -150  # subsidence bowl, mm/yr
    assert np.percentile(v, 99) < 60
