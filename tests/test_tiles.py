"""The deformation-map dataset (lsid.tiles): maps, windows, labels, augmentation, splits, TileSet."""

import json
import logging
import shutil

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import box as sbox

from lsid.errors import InputDataError
from lsid.tiles.augment import OPERATIONS, augment
from lsid.tiles.labels import TileObject, label_map, load_inventory
from lsid.tiles.maps import map_specs, window_velocity_weights
from lsid.tiles.splits import SPLITS, assign_blocks, random_split
from lsid.tiles.windows import tile_origins


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), slope=st.floats(-100, 100), window=st.floats(60, 400))
def test_window_velocity_is_the_slope_of_a_line(seed, slope, window):
    rng = np.random.default_rng(seed)
    t = np.sort(rng.choice(1500, 25, replace=False)).astype(float)
    d = 3.0 + slope * t / 365.25
    for i in range(t.size):
        w = window_velocity_weights(t, i, window)
        fits = t[i] - t[0] >= window / 2 and t[-1] - t[i] >= window / 2
        if fits and np.count_nonzero(w) >= 3:
            assert np.isclose(w @ d, slope, atol=1e-6 * (1 + abs(slope)))
            assert np.all(np.abs(t[w != 0] - t[i]) <= window / 2)
        elif not fits:
            assert not w.any()


def test_tile_origins_and_a_tile_larger_than_the_scene():
    assert tile_origins((100, 70), 32) == [(r, c) for r in (0, 32, 64) for c in (0, 32)]
    assert len(tile_origins((100, 70), 32, stride=16)) == 5 * 3
    with pytest.raises(InputDataError, match="do not fit in the scene"):
        tile_origins((100, 70), 128)


def test_per_date_maps_need_a_time_axis():
    v = xr.Dataset({"velocity": (("y", "x"), np.zeros((4, 4))), "valid": (("y", "x"), np.ones((4, 4), bool))},
                   attrs={"orbit": "ascending", "source": "velocity.tif"})
    assert [s.key for s in map_specs(v, per_date=False)] == ["mean"]
    with pytest.raises(InputDataError, match="per_date: false"):
        map_specs(v, per_date=True)


@pytest.mark.parametrize("op", sorted(OPERATIONS))
def test_augmentation_moves_boxes_with_the_pixels(op):
    img = np.zeros((3, 40, 40), np.float32)
    img[:, 5:12, 20:33] = 1.0  # rows 5..11, cols 20..32: box (20, 5, 33, 12)
    out, boxes = augment(img, np.array([[20, 5, 33, 12]]), op, noise_std=0.0, seed=0, clip=None)
    rows, cols = np.nonzero(out[0] > 0.5)
    assert boxes.tolist() == [[cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]]
    noisy, _ = augment(img, np.zeros((0, 4)), op, noise_std=0.05, seed=3, clip=(0.0, 1.0))
    again, _ = augment(img, np.zeros((0, 4)), op, noise_std=0.05, seed=3, clip=(0.0, 1.0))
    assert np.array_equal(noisy, again) and noisy.min() >= 0 and noisy.max() <= 1 and not np.array_equal(noisy, out)


def test_the_seven_operations_differ():
    img = np.random.default_rng(0).random((1, 8, 8)).astype(np.float32)
    outs = {op: augment(img, np.zeros((0, 4)), op, 0.0, 0, None)[0].tobytes() for op in OPERATIONS}
    assert len(set(outs.values()) | {img.tobytes()}) == 8


def test_label_rules():
    size = 32
    mask = np.zeros((size, size), bool)
    mask[10:20, 10:20] = True
    ring = np.zeros_like(mask)
    ring[5:25, 5:25] = True
    ring &= ~mask
    ob = TileObject("A", 1.0, (10, 10, 20, 20), mask, ring)
    v = np.zeros((size, size), np.float32)
    v[mask] = -12.0
    keep, c = label_map([ob], v, 0.5, 5.0, 0.3, 4)
    assert [o.object_id for o in keep] == ["A"] and c == {"n_partial": 0, "n_invisible": 0, "n_small": 0}
    v[ring] = -10.0  # the whole neighbourhood moves alike (an atmospheric blob): no contrast, invisible
    assert label_map([ob], v, 0.5, 5.0, 0.3, 4)[1]["n_invisible"] == 1
    v[ring] = 0.0
    v[mask] = np.nan  # decorrelated
    assert label_map([ob], v, 0.5, 5.0, 0.3, 4)[1]["n_invisible"] == 1
    v[mask] = -12.0
    assert label_map([TileObject("A", 0.3, ob.box, mask, ring)], v, 0.5, 5.0, 0.3, 4)[1]["n_partial"] == 1
    assert label_map([ob], v, 0.5, 5.0, 0.3, 11)[1]["n_small"] == 1


def test_splits():
    w = {(i, j): float(1 + (i * 7 + j) % 3) for i in range(6) for j in range(4)}
    a = assign_blocks(w, (0.7, 0.15, 0.15), seed=1)
    assert a == assign_blocks(w, (0.7, 0.15, 0.15), seed=1) and set(a.values()) == set(SPLITS)
    share = {s: sum(w[k] for k in a if a[k] == s) / sum(w.values()) for s in SPLITS}
    assert abs(share["train"] - 0.7) < 0.1 and abs(share["test"] - 0.15) < 0.1
    r = random_split(200, (0.7, 0.15, 0.15), seed=0)
    assert (r == "train").sum() == 140 and (r == "val").sum() == 30 and (r == "test").sum() == 30


def _truth(run_dir):
    return gpd.read_file(run_dir / "truth" / "landslides.geojson")


def test_inventory_crs_overlap_and_empty(smoke_sbas, tmp_path, caplog):
    from lsid.io import open_netcdf

    d = open_netcdf(smoke_sbas / "sbas" / "ascending.nc", chunks=None)
    bounds = d.rio.bounds()
    truth = _truth(smoke_sbas)
    geo = tmp_path / "wgs84.gpkg"
    truth.to_crs("EPSG:4326").to_file(geo)
    with caplog.at_level(logging.INFO, logger="lsid.tiles.labels"):
        back = load_inventory(geo, d.rio.crs, bounds)
    assert "reprojected" in caplog.text and back.crs == d.rio.crs
    assert np.allclose(back.total_bounds, truth.total_bounds, atol=1.0)
    far = truth.copy()
    far["geometry"] = far.translate(xoff=500_000)
    far.to_file(tmp_path / "far.geojson")
    with pytest.raises(InputDataError, match=r"does not overlap the scene \(x"):
        load_inventory(tmp_path / "far.geojson", d.rio.crs, bounds)
    gpd.GeoDataFrame({"id": []}, geometry=[], crs=truth.crs).to_file(tmp_path / "empty.geojson")
    with pytest.warns(UserWarning, match="empty"):
        assert len(load_inventory(tmp_path / "empty.geojson", d.rio.crs, bounds)) == 0
    with pytest.raises(InputDataError, match="not found"):
        load_inventory(tmp_path / "nope.geojson", d.rio.crs, bounds)


def test_tileset_reads_with_numpy_pillow_json(smoke_aoi, smoke_tiles):
    from PIL import Image

    summary, root = smoke_tiles
    assert summary["augmented"] == smoke_aoi.tiles.augment_factor * summary["kept"] > 0
    for mode in ("rendered", "physical"):
        meta = json.loads((root / mode / "tileset.json").read_text())
        assert meta["channels"] == mode and meta["size"] == smoke_aoi.tiles.size
        tiles = pd.read_csv(root / mode / "tiles.csv")
        assert len(tiles) == summary["augmented"] and tiles.crs.str.contains("32647").all()
        n_images = 0
        for sp in SPLITS:
            coco = json.loads((root / mode / "annotations" / f"{sp}.json").read_text())
            n_images += len(coco["images"])
            for im in coco["images"]:
                f = root / mode / im["file_name"]
                a = np.asarray(Image.open(f)) if mode == "rendered" else np.load(f)
                assert a.shape == ((48, 48, 3) if mode == "rendered" else (3, 48, 48))
            for ann in coco["annotations"]:
                x, y, w, h = ann["bbox"]
                assert 0 <= x and 0 <= y and x + w <= 48 + 1e-6 and y + h <= 48 + 1e-6
                if ann.get("ignore"):  # an object the map cannot show: an ignore region, with its reason
                    assert ann["iscrowd"] == 1 and ann["reason"] in ("partial", "invisible", "small")
                else:
                    assert ann["iscrowd"] == 0 and min(w, h) >= smoke_aoi.tiles.min_box_px
        assert n_images == len(tiles)


def test_tileset_splits_are_leak_free(smoke_tiles):
    _, root = smoke_tiles
    tiles = pd.read_csv(root / "rendered" / "tiles.csv")
    ground = tiles.orbit + tiles.row.astype(str) + "_" + tiles.col.astype(str)
    assert (tiles.groupby(ground.values).split.nunique() == 1).all()  # one split per ground tile
    src = tiles.set_index("image_id").split
    assert (tiles.split.values == src.loc[tiles.source_id].values).all()  # copies follow their source
    assert set(tiles.augmentation) - {"none"} <= set(OPERATIONS)


def test_tileset_is_reproducible_and_skips_when_unchanged(smoke_aoi, smoke_sbas, smoke_tiles, tmp_path):
    from lsid.tiles import build_tileset

    summary, root = smoke_tiles
    first = (root / "rendered" / "tiles.csv").read_bytes()
    assert build_tileset(smoke_aoi, smoke_sbas) == summary  # unchanged: read back
    other = tmp_path / "run"
    shutil.copytree(smoke_sbas / "sbas", other / "sbas")
    shutil.copytree(smoke_sbas / "truth", other / "truth")
    again = build_tileset(smoke_aoi, other)
    assert (other / "tiles" / "rendered" / "tiles.csv").read_bytes() == first
    assert again["digest"] == summary["digest"]


def test_tileset_bad_input(smoke_aoi, smoke_sbas, tmp_path):
    from lsid.config import validate
    from lsid.tiles import build_tileset

    d = smoke_aoi.to_dict()
    d["tiles"]["size"] = 4096
    with pytest.raises(InputDataError, match="do not fit in the scene"):
        build_tileset(validate(d), smoke_sbas, force=True)
    assert not any(p.name.startswith(".tiles.tmp") for p in smoke_sbas.iterdir())
    empty = tmp_path / "empty.geojson"
    gpd.GeoDataFrame({"id": []}, geometry=[sbox(0, 0, 1, 1)], crs="EPSG:32647").iloc[:0].to_file(empty)
    run = tmp_path / "run"
    shutil.copytree(smoke_sbas / "sbas", run / "sbas")
    d = smoke_aoi.to_dict()
    d["tiles"]["inventory"] = str(empty)
    d["tiles"]["min_tile_signal_mm_yr"] = 0.0
    with pytest.warns(UserWarning, match="empty"):
        s = build_tileset(validate(d), run)
    assert s["kept_positive"] == 0 and s["kept_negative"] > 0 and s["boxes"] == 0
    with pytest.raises(InputDataError, match="run the SBAS stage first"):
        build_tileset(smoke_aoi, tmp_path / "nothing")


def test_tileset_from_velocity_maps_only(smoke_aoi, smoke_sbas, tmp_path):
    """A user's velocity GeoTIFF (no time series, no coherence): mean-velocity tiles only."""
    from lsid.config import validate
    from lsid.io import open_netcdf, write_netcdf
    from lsid.tiles import build_tileset

    run = tmp_path / "run"
    shutil.copytree(smoke_sbas / "truth", run / "truth")
    for orbit in ("ascending", "descending"):
        d = open_netcdf(smoke_sbas / "sbas" / f"{orbit}.nc", chunks=None)
        v = d[["velocity", "valid"]].drop_vars("time", errors="ignore")
        write_netcdf(v, run / "sbas" / f"{orbit}.nc")
    d = smoke_aoi.to_dict()
    with pytest.raises(InputDataError, match="per_date: false"):
        build_tileset(validate(d), run)
    d["tiles"]["per_date"] = False
    s = build_tileset(validate(d), run)
    assert s["maps_per_orbit"] == {"ascending": 1, "descending": 1} and s["crops"] == 8
    tiles = pd.read_csv(run / "tiles" / "rendered" / "tiles.csv", keep_default_na=False)
    assert set(tiles["map"]) == {"mean"}
