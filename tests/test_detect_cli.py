"""``lsid detect`` (lsid.inventory.maps): an inventory from a user's own velocity GeoTIFFs, its bad inputs,
and the evidence it could not check. Tiny rasters (96 x 96 px); a random-init detector with a model card
in a temporary folder (no shipped weights needed); a stub detector where only the plumbing is tested."""

import json
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from shapely.geometry import box

from lsid.cli import main
from lsid.errors import InputWarning, OutputError

CRS = "EPSG:32647"
PIX = 30.0
X0, Y0 = 600000.0, 3050000.0
N = 96
C = 48  # bump centre, px


def velocity(scale=1.0, seed=0, shape=(N, N)):
    """mm/yr (times ``scale``): noise of 2 mm/yr and a 30 mm/yr Gaussian bump towards the satellite."""
    rng = np.random.default_rng(seed)
    r, c = np.mgrid[:shape[0], :shape[1]]
    v = rng.normal(0, 2.0, shape) + 30.0 * np.exp(-((r - C) ** 2 + (c - C) ** 2) / (2 * 6.0 ** 2))
    return (v * scale).astype(np.float32)


def write_tif(path, values, crs=CRS, transform=None, nodata=None):
    transform = transform or Affine(PIX, 0, X0, 0, -PIX, Y0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rasterio's NotGeoreferencedWarning for the map without CRS
        with rasterio.open(path, "w", driver="GTiff", height=values.shape[0], width=values.shape[1], count=1,
                           dtype="float32", crs=crs, transform=transform, nodata=nodata) as dst:
            dst.write(values.astype(np.float32), 1)
    return path


def map_bounds_deg(pad=0.01):
    from rasterio.warp import transform_bounds

    b = transform_bounds(CRS, "EPSG:4326", X0, Y0 - N * PIX, X0 + N * PIX, Y0)
    return b[0] - pad, b[1] - pad, b[2] + pad, b[3] + pad


def geographic_dem(path, lon0=None, lat1=None, deg=0.0004):
    """A plane falling east at 25 deg, in EPSG:4326 on its own grid (covering the maps unless moved)."""
    w, s, e, n = map_bounds_deg()
    lon0, lat1 = (w, n) if lon0 is None else (lon0, lat1)
    nx, ny = int((e - w) / deg) + 1, int((n - s) / deg) + 1
    z = 3000 - np.tan(np.deg2rad(25)) * np.arange(nx) * deg * 98000.0
    return write_tif(path, np.broadcast_to(z, (ny, nx)).copy(), "EPSG:4326", Affine(deg, 0, lon0, 0, -deg, lat1))


@pytest.fixture(scope="module")
def card(tmp_path_factory):
    """A tiny random-init detector's fp16 weights and model card (the keys lsid.models.pretrained reads)."""
    import hashlib

    import torch

    from lsid.models import build

    folder = tmp_path_factory.mktemp("detector")
    torch.manual_seed(0)
    opts = {"rpn_pre_nms_top_n_test": 100, "rpn_post_nms_top_n_test": 50, "box_detections_per_img": 20}
    mean, std = [0, 0.5, 0.3], [0.2, 0.3, 0.2]
    model = build("crf_faster_rcnn", 3, 64, image_mean=mean, image_std=std, **opts)
    weights = folder / "tiny.pt"
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}, weights)
    c = {"name": "tiny", "model": "crf_faster_rcnn", "file": weights.name,
         "sha256": hashlib.sha256(weights.read_bytes()).hexdigest(), "bytes": weights.stat().st_size,
         "in_channels": 3, "image_size": 64, "channels": "normalised", "tile_px": 64, "pixel_m": PIX,
         "image_mean": mean, "image_std": std, "detector_options": opts}
    path = folder / "tiny.json"
    path.write_text(json.dumps(c))
    return path


@pytest.fixture
def data(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (tmp_path / "out").mkdir()
    return d, tmp_path / "out"


class Stub:
    """A detector that boxes the bump of every map (12 x 12 px) and records the maps it was given."""

    name = "stub"

    def __init__(self):
        self.maps = {}

    def detect(self, defo, score_threshold=0.5, progress=False):
        self.maps[defo.attrs["orbit"]] = defo
        t = defo.rio.transform()
        x0, y0 = t * (C - 6, C - 6)
        x1, y1 = t * (C + 6, C + 6)
        g = box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
        return gpd.GeoDataFrame({"orbit": [defo.attrs["orbit"]], "model": ["stub"], "score": [0.9],
                                 "row0": [C - 6.0], "col0": [C - 6.0], "row1": [C + 6.0], "col1": [C + 6.0],
                                 "area_m2": [g.area], "v_mean": [20.0], "v_max": [30.0], "valid_share": [1.0],
                                 "cut": [False]}, geometry=[g], crs=defo.rio.crs)


@pytest.fixture
def stub(monkeypatch):
    s = Stub()
    monkeypatch.setattr("lsid.inventory.maps.load_detector", lambda detector, device=None: s)
    return s


def test_detect_writes_an_inventory_in_the_maps_crs(card, data, capsys):
    """Both tracks, a DEM on another grid and CRS, one coherence map, the geometry: an inventory in the
    map's projected CRS, with the summary printed and nothing else left in the output folder."""
    d, out = data
    asc, desc = write_tif(d / "asc.tif", velocity()), write_tif(d / "desc.tif", -velocity(seed=1))
    coh = write_tif(d / "coh.tif", np.full((N, N), 0.8, np.float32))
    dem = geographic_dem(d / "dem.tif")
    rc = main(["detect", "--ascending", str(asc), "--descending", str(desc), "--dem", str(dem),
               "--coherence-ascending", str(coh), "--incidence-ascending", "42.5", "--heading-ascending", "-10",
               "--incidence-descending", "39.9", "--heading-descending", "-170", "--detector", str(card),
               "-o", str(out / "inventory.gpkg")])
    printed = capsys.readouterr().out
    assert rc == 0
    inv = gpd.read_file(out / "inventory.gpkg")
    assert inv.crs.to_epsg() == 32647
    assert {"id", "seen_in", "area_m2", "not_checked"} <= set(inv.columns)
    assert [p.name for p in out.iterdir()] == ["inventory.gpkg"]  # no temporary left
    assert "potential landslides" in printed and str(out / "inventory.gpkg") in printed
    assert "coherence not checked on the descending track: no coherence map (--coherence-descending)" in printed
    assert "on the ascending" not in printed  # the ascending track had every piece of evidence
    if len(inv) and "coherence_desc" in inv:
        assert inv["coherence_desc"].isna().all()  # no coherence map: no made-up coherence of 1


def test_a_geographic_track_alone_is_detected_in_its_utm_zone(card, data):
    """A descending map in degrees (WGS 84) alone: boxes and table in its UTM zone, CSV output."""
    d, out = data
    w, _, _, n = map_bounds_deg(pad=0.0)
    desc = write_tif(d / "desc.tif", velocity(), "EPSG:4326", Affine(0.0003, 0, w, 0, -0.0003, n))
    assert main(["detect", "--descending", str(desc), "--detector", str(card), "-o", str(out / "inv.csv")]) == 0
    table = pd.read_csv(out / "inv.csv")
    assert {"id", "seen_in", "not_checked"} <= set(table.columns)
    assert [p.name for p in out.iterdir()] == ["inv.csv"]


@pytest.mark.parametrize("tracks, expected", [
    (("ascending",), "slope, relief, sensitivity, coherence, downslope rate"),
    (("ascending", "descending"),
     "slope, relief, sensitivity, coherence (descending), downslope rate, vertical/east-west rates"),
])
def test_missing_evidence_is_said_at_the_start_and_in_every_object(card, data, stub, caplog, capsys, tracks,
                                                                    expected):
    d, out = data
    argv = ["detect", "--detector", str(card), "-o", str(out / "inv.geojson")]
    for o in tracks:
        argv += [f"--{o}", str(write_tif(d / f"{o}.tif", velocity()))]
    if len(tracks) == 2:
        argv += ["--coherence-ascending", str(write_tif(d / "coh.tif", np.full((N, N), 0.9, np.float32)))]
    with caplog.at_level("WARNING", logger="lsid.inventory.maps"):
        assert main(argv) == 0
    logged = [r.getMessage() for r in caplog.records]
    assert sum("no DEM" in m for m in logged) == 1
    assert any("no incidence and heading" in m for m in logged)
    inv = gpd.read_file(out / "inv.geojson")
    assert len(inv) == 1 and inv["seen_in"][0] == ("both" if len(tracks) == 2 else "ascending")
    assert inv["not_checked"][0] == expected
    printed = capsys.readouterr().out
    assert "slope, relief, sensitivity, downslope rate not checked on the ascending" in printed
    assert "no DEM (--dem)" in printed


def test_sign_geometry_dem_and_coherence_reach_the_maps(card, data, stub):
    """--flip-sign negates (and says so), the geometry goes into the attrs the checks read, the
    geographic DEM and a coherence map are resampled onto each track's grid (float32, m / 0..1)."""
    from lsid.inventory.objects import SceneLayers

    d, out = data
    asc = write_tif(d / "asc.tif", velocity())
    coh = write_tif(d / "coh.tif", np.full((48, 48), 0.7, np.float32), transform=Affine(60, 0, X0, 0, -60, Y0))
    dem = geographic_dem(d / "dem.tif")
    assert main(["detect", "--ascending", str(asc), "--flip-sign", "--dem", str(dem), "--coherence-ascending",
                 str(coh), "--incidence-ascending", "42.5", "--heading-ascending", "-10", "--detector", str(card),
                 "-o", str(out / "inv.KML")]) == 0
    m = stub.maps["ascending"]
    assert float(m.velocity[C, C]) < -20 and "flipped" in m.attrs["velocity_sign"]
    assert m.dem.dtype == np.float32 and np.isfinite(m.dem.values).all()
    assert 1000 < float(m.dem.mean()) < 3500  # metres, the plane's heights
    assert np.allclose(m.temporal_coherence.values, 0.7, atol=1e-4)
    layers = SceneLayers(m)
    assert layers.heading == -10 and np.allclose(layers.incidence, 42.5) and layers.slope is not None
    assert [p.name for p in out.iterdir()] == ["inv.KML"]  # the name asked, nothing else


@pytest.mark.parametrize("scale, unit", [(0.1, "cm/yr"), (0.001, "m/yr")])
def test_a_map_in_a_larger_unit_than_declared_is_warned_about(card, data, stub, scale, unit):
    d, out = data
    asc = write_tif(d / "asc.tif", velocity(scale))
    with pytest.warns(InputWarning, match=f"look like {unit}") as caught:
        assert main(["detect", "--ascending", str(asc), "--detector", str(card), "-o", str(out / "i.gpkg")]) == 0
    assert any("--units" in str(w.message) and str(asc) in str(w.message) for w in caught)


def _bad(d, out, card, case):
    """argv of one bad input, and the text its error must show."""
    good = str(write_tif(d / "good.tif", velocity()))
    base = ["--detector", str(card), "-o", str(out / "inv.gpkg")]
    if case == "no track":
        return ["detect", *base], "at least one track"
    if case == "no crs":
        f = write_tif(d / "nocrs.tif", velocity(), crs=None)
        return ["detect", "--ascending", str(f), *base], f"{f}: the velocity map has no CRS"
    if case == "extension":
        return ["detect", "--ascending", good, "--detector", str(card), "-o", str(out / "inv.shp")], \
            "'.shp' is not supported; name the output with one of .gpkg, .geojson, .kml, .csv"
    if case == "dem apart":
        f = geographic_dem(d / "far_dem.tif", lon0=10.0, lat1=45.0)
        return ["detect", "--ascending", good, "--dem", str(f), *base], f"{f}: the DEM does not overlap"
    if case == "all nan":
        f = write_tif(d / "nan.tif", np.full((N, N), np.nan, np.float32))
        return ["detect", "--descending", str(f), *base], f"{f}: every velocity value is NaN or no data"
    if case == "all nodata":
        f = write_tif(d / "nodata.tif", np.full((N, N), -9999.0, np.float32))
        return ["detect", "--descending", str(f), "--nodata", "-9999", *base], f"{f}: every velocity value"
    if case == "detector path":
        f = d / "models" / "best.pt"
        return ["detect", "--ascending", good, "--detector", str(f), "-o", str(out / "inv.gpkg")], \
            f"{f}: detector file not found; --detector takes"
    if case == "detector name":
        return ["detect", "--ascending", good, "--detector", "no_such_detector", "-o", str(out / "inv.gpkg")], \
            "no model card for a pretrained detector 'no_such_detector'"
    if case == "half geometry":
        return ["detect", "--ascending", good, "--incidence-ascending", "40", *base], "but no heading; give both"
    if case == "score threshold":
        return ["detect", "--ascending", good, "--score-threshold", "5", *base], "score threshold 5 is outside 0..1"
    if case == "coherence without track":
        f = write_tif(d / "coh.tif", np.full((N, N), 0.9, np.float32))
        return ["detect", "--ascending", good, "--coherence-descending", str(f), *base], "no velocity map of it"
    raise AssertionError(case)


@pytest.mark.parametrize("case", ["no track", "no crs", "extension", "dem apart", "all nan", "all nodata",
                                  "detector path", "detector name", "half geometry", "score threshold",
                                  "coherence without track"])
def test_bad_input_is_refused_clearly_and_writes_nothing(card, data, capsys, case):
    d, out = data
    argv, message = _bad(d, out, card, case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("lsid: error: ") and message in err, err
    assert list(out.iterdir()) == []


def test_a_failing_writer_leaves_no_partial_output(card, data, stub, monkeypatch):
    d, out = data

    def broken(inv):
        raise OutputError(f"{out}: disk full")

    monkeypatch.setattr("lsid.inventory.export.table", broken)
    asc = write_tif(d / "asc.tif", velocity())
    assert main(["detect", "--ascending", str(asc), "--detector", str(card), "-o", str(out / "inv.csv")]) == 2
    assert list(out.iterdir()) == []


def test_tracks_end_on_one_crs_and_the_geometry_can_come_from_tags(card, data, stub):
    """A descending map in degrees is resampled onto the ascending one's CRS; incidence and heading are
    read from the file's tags when no option gives them."""
    d, out = data
    asc = write_tif(d / "asc.tif", velocity())
    with rasterio.open(asc, "r+") as f:
        f.update_tags(INCIDENCE_DEGREES="41.0", HEADING="-12.0")
    w, _, _, n = map_bounds_deg(pad=0.0)
    desc = write_tif(d / "desc.tif", velocity(seed=2), "EPSG:4326", Affine(0.0003, 0, w, 0, -0.0003, n))
    assert main(["detect", "--ascending", str(asc), "--descending", str(desc), "--detector", str(card),
                 "-o", str(out / "inv.gpkg")]) == 0
    assert stub.maps["descending"].rio.crs.to_epsg() == 32647 == stub.maps["ascending"].rio.crs.to_epsg()
    a = stub.maps["ascending"].attrs
    assert (a["incidence_angle"], a["heading"], a["geometry_source"]) == (41.0, -12.0, "file tags")
    assert "heading" not in stub.maps["descending"].attrs
    assert gpd.read_file(out / "inv.gpkg").crs.to_epsg() == 32647


def test_a_heading_of_the_other_pass_direction_is_warned_about(card, data, stub):
    d, out = data
    asc = write_tif(d / "asc.tif", velocity())
    with pytest.warns(InputWarning, match="is that of a descending pass"):
        assert main(["detect", "--ascending", str(asc), "--incidence-ascending", "40", "--heading-ascending", "-170",
                     "--detector", str(card), "-o", str(out / "inv.gpkg")]) == 0


def test_a_study_checkpoint_is_a_detector(card, data):
    """--detector best.pt: the model of an lsid checkpoint, drawn as its TileSet says."""
    import torch

    d, out = data
    c = json.loads(card.read_text())
    tiles = d / "tiles"
    tiles.mkdir()
    (tiles / "tileset.json").write_text(json.dumps({"channels": "rendered", "size": 64,
                                                    "parameters": {"render_range_mm_yr": 40.0}}))
    ck = {"model": c["model"], "state_dict": torch.load(card.parent / c["file"], weights_only=True),
          "in_channels": 3, "image_size": 64, "image_mean": c["image_mean"], "image_std": c["image_std"],
          "tileset": str(tiles), "config": {"extra": c["detector_options"]}}
    torch.save(ck, d / "best.pt")
    asc = write_tif(d / "asc.tif", velocity())
    assert main(["detect", "--ascending", str(asc), "--detector", str(d / "best.pt"), "-o", str(out / "i.gpkg")]) == 0
    inv = gpd.read_file(out / "i.gpkg")
    assert inv.crs.to_epsg() == 32647 and "not_checked" in inv
