"""Errors at the right place with the right fix (issue 16, item 6): every bad input a hostile user tried
becomes an lsid error naming the file or key, the problem and the fix, or a repair with a warning."""

import errno
import logging
import shutil
import warnings
from collections import namedtuple

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rioxarray  # noqa: F401  (the .rio accessor)
import xarray as xr
import yaml
from shapely.geometry import Point, Polygon
from shapely.geometry import box as sbox

from lsid.config import load_aoi
from lsid.errors import ConfigError, InputDataError, OutputError
from tests.helpers import AOI, CRS, X0, Y0

WL = 0.05546576
TO_MM = -WL / (4 * np.pi) * 1000


def _aoi(tmp_path, data, name="aoi.yaml"):
    p = tmp_path / name
    p.write_text(yaml.safe_dump(data) if isinstance(data, dict) else data)
    return p


def _base():
    return yaml.safe_load(AOI.read_text())


# --- 1. lsid check validates what it can without reading data -------------------------------------

def test_check_refuses_a_geographic_or_unknown_grid_crs(tmp_path, capsys):
    from lsid.cli import main

    data = _base()
    data["synth"]["grid"]["crs"] = "EPSG:4326"
    f = _aoi(tmp_path, data)
    assert main(["check", "--aoi", str(f), "--profile", "smoke"]) == 2  # lsid check, not a CRSError later
    err = capsys.readouterr().err
    assert "synth.grid.crs" in err and "geographic" in err and "projected CRS such as EPSG:32647" in err
    data["synth"]["grid"]["crs"] = "EPSG:nonsense"
    with pytest.raises(ConfigError, match=r"synth.grid.crs.*not a CRS pyproj knows.*EPSG code"):
        load_aoi(_aoi(tmp_path, data), "smoke")


def test_check_refuses_a_working_crs_in_degrees(tmp_path):
    data = _base()
    data["sbas"] = {"working_crs": "EPSG:4326"}
    with pytest.raises(ConfigError, match=r"sbas.working_crs.*geographic.*projected CRS"):
        load_aoi(_aoi(tmp_path, data), "smoke")
    data["sbas"] = {"working_crs": "EPSG:32633"}
    assert load_aoi(_aoi(tmp_path, data), "smoke").sbas.working_crs == "EPSG:32633"


def test_check_names_every_missing_input_path_with_its_key(tmp_path):
    data = {"name": "real", "synthetic": False,
            "inputs": {"ascending": {"format": "geotiff", "path": "ifgs"}},
            "tiles": {"inventory": "slides.gpkg"},
            "inventory": {"validation_inventory": str(tmp_path / "old" / "history.geojson")}}
    assert load_aoi(_aoi(tmp_path, data), "smoke").inputs.ascending  # notebooks: no path check
    with pytest.raises(ConfigError) as e:
        load_aoi(_aoi(tmp_path, data), "smoke", check_paths=True)  # lsid check, lsid run
    msg = str(e.value)
    assert "aoi.yaml: input not found" in msg
    assert f"key 'inputs.ascending.path' = 'ifgs': {(tmp_path / 'ifgs').resolve()} does not exist" in msg
    assert f"key 'tiles.inventory' = 'slides.gpkg': {(tmp_path / 'slides.gpkg').resolve()} does not exist" in msg
    assert "key 'inventory.validation_inventory'" in msg and "history.geojson does not exist" in msg
    assert f"relative paths are read from {tmp_path.resolve()}" in msg and "Fix the path" in msg


def test_check_refuses_a_reference_date_outside_the_period(tmp_path):
    data = _base()
    data["sbas"] = {"reference_date": "2018-06-01"}
    with pytest.raises(ConfigError, match=r"sbas.reference_date 2018-06-01 is outside the acquisition period"):
        load_aoi(_aoi(tmp_path, data), "smoke")


# --- 2. unreadable AOI files ------------------------------------------------------------------------

def test_binary_aoi_file_is_a_config_error(tmp_path):
    f = tmp_path / "area.yaml"
    f.write_bytes(bytes(range(128, 256)) * 4)
    with pytest.raises(ConfigError) as e:
        load_aoi(f, "smoke")
    msg = str(e.value)
    assert str(f) in msg and "not a text file" in msg and "lsid check --template" in msg and len(msg) < 400
    f.write_bytes(b"name: x\x00\x01\x02")  # UTF-8, but control characters
    with pytest.raises(ConfigError, match="not a text file"):
        load_aoi(f, "smoke")


def test_a_date_that_does_not_exist_names_its_key(tmp_path):
    f = _aoi(tmp_path, "name: x\nsynth:\n  acquisitions:\n    start: 2019-02-30\n")
    with pytest.raises(ConfigError) as e:  # not yaml's bare "ValueError: day is out of range for month"
        load_aoi(f, "smoke")
    msg = str(e.value)
    assert str(f) in msg and "key 'synth.acquisitions.start' = '2019-02-30'" in msg and "YYYY-MM-DD" in msg


def test_empty_aoi_file_is_one_short_message(tmp_path):
    f = tmp_path / "empty.yaml"
    f.write_text("")
    with pytest.raises(ConfigError) as e:
        load_aoi(f, "smoke")
    msg = str(e.value)
    assert msg.startswith(f"{f}: the file is empty; start from `lsid check --template")
    assert len(msg.replace(str(f), "F")) < 200  # one short message, whatever the path
    f.write_text("# nothing but a comment\n")
    with pytest.raises(ConfigError, match="the file is empty"):
        load_aoi(f, "smoke")


def test_missing_name_is_said_in_one_line(tmp_path):
    f = _aoi(tmp_path, {"title": "no name"})
    with pytest.raises(ConfigError) as e:
        load_aoi(f, "smoke")
    problems = [line for line in str(e.value).splitlines() if line.strip().startswith("key 'name'")]
    assert problems == ["  key 'name' is missing: add `name: <short-name>` (lower-case letters, digits, '-' or '_'; "
                        "the run folder is runs/<name>/<profile>)"]
    assert len(str(e.value)) < 400 and "{" not in str(e.value)  # not pydantic's dump of the input


# --- 3. a network split in two parts ----------------------------------------------------------------

def _stack(n=12, pairs=None, coherence=None, shape=(5, 6), seed=0):
    """A Stack of ``n`` dates 12 days apart whose phase is an exact displacement differenced over pairs."""
    rng = np.random.default_rng(seed)
    dates = np.datetime64("2019-01-01") + np.arange(n) * np.timedelta64(12, "D")
    pairs = np.array([(i, j) for i in range(n) for j in range(i + 1, min(i + 4, n))]) if pairs is None else pairs
    disp = rng.normal(0, 5, (n, *shape)).cumsum(axis=0)
    phase = ((disp[pairs[:, 1]] - disp[pairs[:, 0]]) / TO_MM).astype(np.float32)
    data = {"unwrapped_phase": (("pair", "y", "x"), phase, {"units": "rad"})}
    if coherence is not None:
        data["coherence"] = (("pair", "y", "x"), np.broadcast_to(coherence[:, None, None],
                                                                 (len(pairs), *shape)).astype(np.float32))
    ds = xr.Dataset(data, coords={"y": Y0 - 30 * np.arange(shape[0]), "x": X0 + 30 * np.arange(shape[1]),
                                  "reference_date": ("pair", dates[pairs[:, 0]]),
                                  "secondary_date": ("pair", dates[pairs[:, 1]])},
                    attrs={"wavelength": WL, "orbit": "ascending", "incidence_angle": 40.0, "heading": -10.0,
                           "source": "test", "phase_sign": "lsid"})
    return ds.rio.write_crs(CRS)


def _gap_pairs(n=12, cut=6):
    pairs = np.array([(i, j) for i in range(n) for j in range(i + 1, min(i + 4, n))])
    return pairs[~((pairs[:, 0] < cut) & (pairs[:, 1] >= cut))]  # no pair spans dates 5 -> 6


def test_a_split_network_is_named_with_its_parts_not_blamed_on_coherence(caplog):
    from lsid.sbas import invert, select_network

    stack = _stack(pairs=_gap_pairs(), coherence=np.full(len(_gap_pairs()), 0.8))
    with caplog.at_level(logging.WARNING, logger="lsid.sbas.network"):
        kept, _ = select_network(stack, min_mean_coherence=0.3)
    assert "splits into 2 parts" in caplog.text and "form pairs that span the gap" in caplog.text
    for floor in (0.7, 0.0):  # fails at any temporal-coherence floor: the cause is the network
        with pytest.warns(UserWarning, match="splits into 2 parts"), pytest.raises(InputDataError) as e:
            invert(kept, min_temporal_coherence=floor)
        msg = str(e.value)
        assert "2019-01-01 .. 2019-03-02 (6 dates), 2019-03-14 .. 2019-05-13 (6 dates)" in msg
        assert "no pair spans 2019-03-02 -> 2019-03-14" in msg
        assert "sbas.max_temporal_baseline_days" in msg and "n_neighbours" in msg
        assert "fails the temporal coherence test" not in msg


def test_a_split_network_that_can_be_inverted_is_a_warning():
    from lsid.sbas import invert

    n = 12
    interleaved = np.array([(i, i + 2) for i in range(n - 2)])  # even and odd dates: two parts, every interval spanned
    with pytest.warns(UserWarning) as record:
        d = invert(_stack(n, interleaved))
    msg = next(str(w.message) for w in record if "splits into" in str(w.message))
    assert "2 parts" in msg and "interleave" in msg and "minimum-norm" in msg and "sbas.min_mean_coherence" in msg
    assert d.valid.values.any() and d.attrs["network_components"] == 2


# --- 4. coherence missing for some pairs ------------------------------------------------------------

def test_pairs_without_coherence_are_named(caplog):
    from lsid.sbas import invert, select_network

    n = 8
    coh = np.full(3 * n - 6, 0.8)
    coh[[1, 4]] = np.nan  # 2019-01-01/2019-01-25 and 2019-01-13/2019-02-06
    stack = _stack(n, coherence=coh)
    with caplog.at_level(logging.WARNING, logger="lsid.sbas.network"):
        select_network(stack, min_mean_coherence=0.3)
    assert "these pairs have no coherence where their phase is valid: 2019-01-01/2019-01-25, " \
           "2019-01-13/2019-02-06" in caplog.text and "sbas.min_mean_coherence" in caplog.text
    # a reader that dropped the layer because some pairs had no coherence file says which
    partial = stack.drop_vars("coherence")
    partial.attrs["pairs_without_coherence"] = "2019-01-01/2019-01-25, 2019-01-13/2019-02-06"
    with pytest.raises(InputDataError) as e:
        select_network(partial, min_mean_coherence=0.3)
    msg = str(e.value)
    assert "no coherence file: 2019-01-01/2019-01-25, 2019-01-13/2019-02-06" in msg
    assert "sbas.min_mean_coherence: null" in msg
    with pytest.raises(InputDataError, match=r"sbas.weight.*no coherence file: 2019-01-01/2019-01-25"):
        invert(partial, weight="var")


# --- 5. invalid and whole-scene inventory polygons ---------------------------------------------------

BOUNDS = (X0, Y0 - 3000, X0 + 3000, Y0)


def _inventory(tmp_path, geoms, name="slides.geojson"):
    f = tmp_path / name
    gpd.GeoDataFrame({"id": [f"S{i + 1}" for i in range(len(geoms))]}, geometry=geoms, crs=CRS).to_file(f)
    return f


def test_a_bow_tie_polygon_is_repaired_with_a_warning(tmp_path):
    from lsid.tiles.labels import load_inventory, objects_in_window

    bow = Polygon([(X0 + 100, Y0 - 100), (X0 + 600, Y0 - 600), (X0 + 600, Y0 - 100), (X0 + 100, Y0 - 600)])
    assert not bow.is_valid
    f = _inventory(tmp_path, [bow, sbox(X0 + 1000, Y0 - 1500, X0 + 1400, Y0 - 1000)])
    with pytest.warns(UserWarning, match=r"slides.geojson: 1 invalid polygon\(s\) \(S1\).*make_valid"):
        inv = load_inventory(f, CRS, BOUNDS)
    assert inv.geometry.is_valid.all() and len(inv) == 2
    assert abs(inv.geometry.iloc[0].area - 2 * 0.25 * 500 * 500) < 1  # both triangles kept
    from affine import Affine

    obs = objects_in_window(inv, Affine(30, 0, X0, 0, -30, Y0), 0, 0, 64)  # no GEOS TopologyException
    assert {o.object_id for o in obs} == {"S1", "S2"}


def test_a_whole_scene_polygon_is_dropped_with_a_warning(smoke_aoi, smoke_sbas, tmp_path):
    from lsid.config import validate
    from lsid.io import open_netcdf
    from lsid.tiles import build_tileset
    from lsid.tiles.splits import assign_blocks

    assert assign_blocks({}) == {}  # no kept tile: no IndexError
    d = open_netcdf(smoke_sbas / "sbas" / "ascending.nc", chunks=None)
    x0, y0, x1, y1 = d.rio.bounds()
    truth = gpd.read_file(smoke_sbas / "truth" / "landslides.geojson").to_crs(d.rio.crs)
    whole = gpd.GeoDataFrame({"id": ["area"]}, geometry=[sbox(x0 - 1000, y0 - 1000, x1 + 1000, y1 + 1000)],
                             crs=d.rio.crs)
    f = tmp_path / "with_outline.geojson"
    gpd.GeoDataFrame(pd.concat([truth[["id", "geometry"]], whole], ignore_index=True), crs=d.rio.crs).to_file(f)
    run = tmp_path / "run"
    shutil.copytree(smoke_sbas / "sbas", run / "sbas")
    cfg = smoke_aoi.to_dict()
    cfg["tiles"]["inventory"] = str(f)
    with pytest.warns(UserWarning, match=r"with_outline.geojson: 1 polygon\(s\) \(area\) cover the whole scene"):
        s = build_tileset(validate(cfg), run)
    assert s["kept_positive"] > 0 and s["boxes"] > 0  # the landslides still label tiles


def test_the_validation_inventory_is_checked_like_the_labels(tmp_path, smoke_aoi):
    from lsid.inventory.stage import reference_inventory

    def cfg_with(path):
        return smoke_aoi.model_copy(
            update={"inventory": smoke_aoi.inventory.model_copy(update={"validation_inventory": str(path)})})

    missing = tmp_path / "gone.geojson"
    with pytest.raises(InputDataError) as e:
        reference_inventory(cfg_with(missing), tmp_path, CRS)
    assert str(missing) in str(e.value) and "inventory.validation_inventory" in str(e.value)
    broken = tmp_path / "broken.geojson"
    broken.write_text("{ not json")
    with pytest.raises(InputDataError, match=r"broken.geojson: cannot be read.*inventory.validation_inventory"):
        reference_inventory(cfg_with(broken), tmp_path, CRS)
    bow = Polygon([(X0, Y0), (X0 + 500, Y0 - 500), (X0 + 500, Y0), (X0, Y0 - 500)])
    f = _inventory(tmp_path, [bow, Point(X0 + 900, Y0 - 900)], "history.geojson")
    with pytest.warns(UserWarning, match=r"history.geojson: 1 invalid polygon"):
        ref, name = reference_inventory(cfg_with(f), tmp_path, CRS)
    assert name == str(f) and ref.geometry.is_valid.all() and len(ref) == 2


# --- 6. a full disk -------------------------------------------------------------------------------

def _small():
    return xr.Dataset({"velocity": (("y", "x"), np.zeros((4, 4), np.float32))},
                      coords={"y": np.arange(4.0), "x": np.arange(4.0)})


def test_a_full_disk_says_disk_full(tmp_path, monkeypatch):
    from lsid.io.atomic import write_text
    from lsid.io.netcdf import write_netcdf

    def no_space(self, path, *a, **k):
        open(path, "wb").write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(xr.Dataset, "to_netcdf", no_space)
    target = tmp_path / "sbas" / "ascending.nc"
    with pytest.raises(OutputError) as e:
        write_netcdf(_small(), target)
    msg = str(e.value)
    assert msg.startswith(f"disk full: {target.parent} has ") and " MB free; free space or choose another " \
        "--run-root" in msg
    assert not target.exists() and list(target.parent.iterdir()) == []  # no temporary left
    monkeypatch.setattr("pathlib.Path.write_text", lambda self, *a, **k: (_ for _ in ()).throw(
        OSError(errno.ENOSPC, "No space left on device")))
    with pytest.raises(OutputError, match="disk full"):
        write_text(tmp_path / "summary.json", "{}")


def test_an_hdf_error_on_a_nearly_full_disk_says_disk_full(tmp_path, monkeypatch):
    import lsid.io.atomic as atomic
    from lsid.io.netcdf import write_netcdf

    def hdf_error(self, path, *a, **k):
        open(path, "wb").write(b"partial")
        raise RuntimeError("NetCDF: HDF error")

    monkeypatch.setattr(xr.Dataset, "to_netcdf", hdf_error)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(atomic.shutil, "disk_usage", lambda p: usage(10 * 2**30, 10 * 2**30 - 2**20, 2**20))
    target = tmp_path / "stacks" / "ascending.nc"
    with pytest.raises(OutputError) as e:
        write_netcdf(_small(), target)
    assert str(e.value).startswith(f"disk full: {target.parent} has 1 MB free; free space or choose another "
                                   f"--run-root") and "NetCDF: HDF error" in str(e.value)
    # the same error with room to spare is not blamed on the disk
    monkeypatch.setattr(atomic.shutil, "disk_usage", lambda p: usage(10 * 2**30, 2**30, 9 * 2**30))
    with warnings.catch_warnings(), pytest.raises(RuntimeError, match="NetCDF: HDF error"):
        write_netcdf(_small(), target)
