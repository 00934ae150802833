"""MintPy's time-series results (velocity.h5, timeseries.h5, ...) read into a Deformation."""

import h5py
import numpy as np
import pytest

from lsid.errors import InputDataError
from lsid.io.mintpy_results import find_mintpy_results, open_mintpy_results

NY, NX = 10, 12
ATTRS = {"X_FIRST": "500000.0", "Y_FIRST": "4000000.0", "X_STEP": "30.0", "Y_STEP": "-30.0", "EPSG": "32650",
         "WAVELENGTH": "0.05546576", "ORBIT_DIRECTION": "ASCENDING", "HEADING": "-12.0",
         "CENTER_INCIDENCE_ANGLE": "36.5", "REF_X": "3", "REF_Y": "2", "REF_DATE": "20200101"}


def _write(path, datasets, attrs=ATTRS):
    with h5py.File(path, "w") as f:
        f.attrs.update(attrs)
        for k, v in datasets.items():
            f.create_dataset(k, data=v)


def _mintpy(root, geo=True, series_names=("timeseries.h5", "timeseries_ERA5_ramp_demErr.h5")):
    """A MintPy work folder with geocoded results, written as MintPy lays them out."""
    folder = root / "geo" if geo else root
    folder.mkdir(parents=True)
    pre = "geo_" if geo else ""
    yy, xx = np.mgrid[0:NY, 0:NX]
    vel = (0.001 * (xx - 3) - 0.0021 * (yy - 2)).astype(np.float32)  # m/year, 0 at the reference pixel only
    vel[0, 0] = np.nan
    _write(folder / f"{pre}velocity.h5", {"velocity": vel, "velocityStd": np.full((NY, NX), 0.0005, np.float32)},
           {**ATTRS, "UNIT": "m/year", "FILE_TYPE": "velocity"})
    dates = [b"20200101", b"20200113", b"20200125"]
    t = np.array([0, 12, 24])[:, None, None] / 365.25
    for i, name in enumerate(series_names):  # the corrected (longest-named) file differs by a constant
        _write(folder / f"{pre}{name}", {"timeseries": (t * vel[None] + 0.01 * i).astype(np.float32),
                                         "date": np.array(dates)}, {**ATTRS, "UNIT": "m", "FILE_TYPE": "timeseries"})
    _write(folder / f"{pre}temporalCoherence.h5", {"temporalCoherence": np.full((NY, NX), 0.9, np.float32)})
    mask = np.ones((NY, NX), np.int8)
    mask[-1, :] = 0
    _write(folder / f"{pre}maskTempCoh.h5", {"mask": mask})
    geom = {"height": (1000.0 + 10 * xx).astype(np.float32), "incidenceAngle": np.full((NY, NX), 36.0, np.float32),
            "azimuthAngle": np.full((NY, NX), 102.0, np.float32)}  # counter-clockwise: the LOS points west
    _write(folder / f"{pre}geometryGeo.h5", geom)
    return root


def test_work_folder_with_geo_results(tmp_path):
    root = _mintpy(tmp_path / "mintpy")
    files = find_mintpy_results(root)
    assert files["timeseries"].name == "geo_timeseries_ERA5_ramp_demErr.h5"  # MintPy's final product
    assert set(files) == {"velocity", "timeseries", "temporal_coherence", "mask", "geometry"}
    d = open_mintpy_results(root)
    assert d.rio.crs.to_epsg() == 32650 and d.rio.transform().c == 500000.0
    assert (float(d.x[0]), float(d.y[0])) == (500015.0, 3999985.0)  # X_FIRST is the grid's corner
    assert d.attrs["orbit"] == "ascending" and d.attrs["heading"] == -12.0 and d.attrs["incidence_angle"] == 36.5
    assert d.velocity.attrs["units"] == "mm/yr" and d.velocity.values[2, 3] == 0.0 and d.valid.values[2, 3]
    assert d.velocity.values[2, 5] == pytest.approx(2.0) and d.velocity_std.values[1, 1] == pytest.approx(0.5)
    assert not d.valid.values[0, 0] and not d.valid.values[-1].any()  # NaN, and MintPy's maskTempCoh
    assert (d.attrs["reference_x"], d.attrs["reference_y"]) == (500105.0, 3999925.0)  # centre of pixel (2, 3)
    assert d.attrs["reference_date"] == "2020-01-01" and d.sizes["time"] == 3
    assert d.displacement.values[0, 1, 1] == pytest.approx(10.0)  # mm: the corrected file's offset
    assert d.displacement.values[2, 2, 5] - d.displacement.values[0, 2, 5] == pytest.approx(2.0 * 24 / 365.25, abs=1e-4)
    assert d.azimuth.values[0, 0] == -102.0 and d.dem.values[0, 1] == 1010.0
    assert d.temporal_coherence.values.mean() == pytest.approx(0.9)


def test_velocity_file_alone_and_radar_coordinates(tmp_path):
    root = _mintpy(tmp_path / "m", geo=False, series_names=())
    d = open_mintpy_results(root / "velocity.h5", time_series=False)
    assert "time" not in d.dims and d.attrs["reference_date"] == "2020-01-01"
    radar = {k: v for k, v in ATTRS.items() if k not in ("X_FIRST", "Y_FIRST", "X_STEP", "Y_STEP")}
    _write(tmp_path / "radar.h5", {"velocity": np.zeros((NY, NX), np.float32)}, radar)
    with pytest.raises(InputDataError, match="radar coordinates; geocode them first"):
        open_mintpy_results(tmp_path / "radar.h5")


def test_bad_mintpy_results(tmp_path):
    with pytest.raises(InputDataError, match="not found"):
        open_mintpy_results(tmp_path / "none")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputDataError, match="no velocity.h5"):
        open_mintpy_results(tmp_path / "empty")
    root = _mintpy(tmp_path / "m")
    _write(root / "geo" / "geo_temporalCoherence.h5", {"temporalCoherence": np.ones((3, 3), np.float32)})
    with pytest.raises(InputDataError, match="temporalCoherence is 3 x 3, the velocity grid is 10 x 12"):
        open_mintpy_results(root)
    noorbit = {k: v for k, v in ATTRS.items() if k != "ORBIT_DIRECTION"}
    noise = np.random.default_rng(0).normal(0, 0.003, (NY, NX)).astype(np.float32)  # m/year: a plausible map
    _write(tmp_path / "v.h5", {"velocity": noise}, {**noorbit, "UNIT": "m/year"})
    with pytest.raises(InputDataError, match="give orbit"):
        open_mintpy_results(tmp_path / "v.h5")
    assert open_mintpy_results(tmp_path / "v.h5", orbit="descending").attrs["orbit"] == "descending"
    with pytest.raises(InputDataError,
                       match="the file is ascending .* given as descending; put it under inputs.ascending"):
        open_mintpy_results(_mintpy(tmp_path / "m2"), orbit="descending")
    _write(tmp_path / "u.h5", {"velocity": np.zeros((NY, NX), np.float32)}, {**ATTRS, "UNIT": "furlong/fortnight"})
    with pytest.raises(InputDataError, match="UNIT"):
        open_mintpy_results(tmp_path / "u.h5")
    (tmp_path / "bad.h5").write_bytes(b"junk")
    with pytest.raises(InputDataError, match="cannot be read as HDF5"):
        open_mintpy_results(tmp_path / "bad.h5")
