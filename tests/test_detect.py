"""lsid.detect.scene: windows over a whole scene, merging across windows, georeferenced boxes."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lsid.detect.scene import Drawing, detect_scene, merge_boxes, window_origins
from lsid.errors import InputDataError
from tests.helpers import PIX, X0, Y0, deformation


class ThresholdDetector(torch.nn.Module):
    """A stand-in detector: one box around the pixels whose drawn anomaly is strong (physical: |v/range|
    > 0.5; rendered: a saturated colour, min(R, G, B) < 0.5), score 0.9."""

    def __init__(self, physical=True):
        super().__init__()
        self.physical = physical

    def forward(self, images):
        out = []
        for x in images:
            # physical tiles carry signed velocity in channel 0; rendered ones are colours in [0, 1]
            strong = x[0].abs() > 0.5 if x.shape[0] == 3 and self.physical else x.min(0).values < 0.5
            ys, xs = torch.nonzero(strong, as_tuple=True)
            if len(ys) == 0:
                out.append({"boxes": torch.zeros((0, 4)), "scores": torch.zeros(0),
                            "labels": torch.zeros(0, dtype=torch.long)})
                continue
            b = torch.tensor([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], dtype=torch.float32)
            out.append({"boxes": b, "scores": torch.tensor([0.9]), "labels": torch.ones(1, dtype=torch.long)})
        return out


@settings(max_examples=50, deadline=None)
@given(ny=st.integers(10, 400), nx=st.integers(10, 400), size=st.integers(8, 128), frac=st.floats(0.1, 1.0))
def test_windows_cover_the_scene(ny, nx, size, frac):
    stride = max(1, int(size * frac))
    cover = np.zeros((ny, nx), bool)
    for r, c in window_origins((ny, nx), size, stride):
        assert r >= 0 and c >= 0 and (r + size <= ny or r == 0) and (c + size <= nx or c == 0)
        cover[r:r + size, c:c + size] = True
    assert cover.all()


def test_merge_boxes_nms_containment_and_cut_boxes():
    b = np.array([[0, 0, 10, 10], [0.5, 0, 10, 10.5], [2, 2, 5, 5], [20, 20, 30, 30], [20, 20, 40, 30]], float)
    s = np.array([0.9, 0.8, 0.7, 0.95, 0.6])
    cut = np.array([False, False, False, True, False])
    keep = merge_boxes(b, s, cut)
    # the near-duplicate and the contained box go; the whole box of the right object beats the cut one
    assert keep.tolist() == [0, 4]
    assert merge_boxes(np.zeros((0, 4)), np.zeros(0), np.zeros(0, bool)).size == 0


@pytest.mark.parametrize("channels", ["physical", "rendered"])
def test_detect_scene_finds_an_anomaly_across_window_edges(channels):
    # a 20 x 20 px subsiding patch that straddles the edge between windows of 64 px (stride 32)
    d = deformation(shape=(150, 140), motion=[((55, 75, 58, 78), (0, 0, -60))], noise=0.5, ramp=5.0)
    gdf = detect_scene(ThresholdDetector(channels == "physical"), d, Drawing(channels, 64, 40.0), batch_size=3)
    assert len(gdf) == 1
    row = gdf.iloc[0]
    assert (row.row0, row.col0, row.row1, row.col1) == (55, 58, 75, 78)
    assert not row.cut and row.orbit == "ascending" and row.score == pytest.approx(0.9)
    minx, miny, maxx, maxy = row.geometry.bounds
    assert (minx, maxy) == pytest.approx((X0 + 58 * PIX, Y0 - 55 * PIX))
    assert row.area_m2 == pytest.approx(400 * PIX**2)
    assert row.v_mean < -30 and row.valid_share == 1.0
    assert gdf.crs.to_epsg() == 32647


def test_detect_scene_smaller_than_a_window_and_empty_result():
    d = deformation(shape=(40, 50), motion=[((10, 20, 10, 20), (0, 0, -60))], noise=0.3)
    gdf = detect_scene(ThresholdDetector(), d, Drawing("physical", 64, 40.0))
    assert len(gdf) == 1 and (gdf.row0.item(), gdf.col0.item()) == (10, 10)
    quiet = detect_scene(ThresholdDetector(), deformation(shape=(70, 70), noise=0.3), Drawing("physical", 64, 40.0))
    assert quiet.empty and quiet.crs.to_epsg() == 32647


def test_detect_scene_bad_input():
    d = deformation(shape=(70, 70))
    with pytest.raises(InputDataError, match="velocity"):
        detect_scene(ThresholdDetector(), d.drop_vars("velocity"), Drawing("physical", 64, 40.0))
    with pytest.raises(InputDataError, match="stride"):
        detect_scene(ThresholdDetector(), d, Drawing("physical", 64, 40.0), stride=100)
    with pytest.raises(InputDataError, match="tileset.json"):
        Drawing.from_tileset("/nonexistent/tiles")


def test_a_map_without_crs_is_refused_unless_pixels_are_asked_for():
    d = deformation(shape=(70, 70), motion=[((10, 20, 30, 45), (0, 0, -60))], noise=0.3)
    d = d.drop_vars("spatial_ref")
    for v in d.data_vars:
        d[v].attrs.pop("grid_mapping", None)
        d[v].encoding.pop("grid_mapping", None)
    assert d.rio.crs is None
    with pytest.raises(InputDataError, match="no CRS"):
        detect_scene(ThresholdDetector(), d, Drawing("physical", 64, 40.0))
    px = detect_scene(ThresholdDetector(), d, Drawing("physical", 64, 40.0), pixel_coordinates=True)
    assert px.crs is None and px.geometry.iloc[0].bounds == (30, 10, 45, 20)


def test_a_model_for_other_channels_or_sizes_is_refused(tmp_path):
    m = ThresholdDetector()
    m.lsid_spec = {"in_channels": 4, "image_size": 64}
    d = deformation(shape=(70, 70))
    with pytest.raises(InputDataError, match="takes 4 channels"):
        detect_scene(m, d, Drawing("physical", 64, 40.0))
    m.lsid_spec = {"in_channels": 3, "image_size": 128}
    with pytest.raises(InputDataError, match="of 128 px"):
        detect_scene(m, d, Drawing("rendered", 64, 40.0))
    # a checkpoint trained on rendered tiles, asked to run with a physical TileSet
    import json

    from lsid.detect.scene import detect_with_checkpoint

    for mode in ("rendered", "physical"):
        (tmp_path / mode).mkdir()
        (tmp_path / mode / "tileset.json").write_text(json.dumps(
            {"channels": mode, "size": 64, "parameters": {"render_range_mm_yr": 40.0}}))
    torch.save({"model": "crf_faster_rcnn", "state_dict": {}, "in_channels": 3, "image_size": 64, "image_mean": [0] * 3,
                "image_std": [1] * 3, "tileset": str(tmp_path / "rendered"), "config": {}}, tmp_path / "best.pt")
    with pytest.raises(InputDataError, match="trained on rendered tiles of 64 px but the TileSet"):
        detect_with_checkpoint(tmp_path / "best.pt", d, tileset=tmp_path / "physical")


@pytest.mark.realdata
@pytest.mark.parametrize("channels", ["physical", "rendered"])
def test_scene_detection_on_a_real_map_is_georeferenced(channels):
    """A real LiCSBAS velocity map (Campi Flegrei, half of it masked: sea, incoherent ground) through the
    scene detector: the box of the strong anomaly lands on Pozzuoli (40.82 N, 14.14 E) in UTM 33N."""
    from pyproj import Transformer
    from shapely.geometry import Point

    from lsid.io.crs import to_working_crs
    from lsid.io.licsbas import open_licsbas
    from tests.helpers import REALDATA

    folder = REALDATA / "licsbas_campi_flegrei" / "TS_GEOCml1clip"
    if not folder.is_dir():
        pytest.skip("../shared/realdata absent")
    d = to_working_crs(open_licsbas(folder, orbit="descending"))
    gdf = detect_scene(ThresholdDetector(channels == "physical"), d, Drawing(channels, 64, 40.0), batch_size=4)
    assert gdf.crs.to_epsg() == 32633 and len(gdf) >= 1
    # the stand-in detector boxes every strong pixel of a window, so the broad uplift comes out in a few
    # (window-cut) boxes: together they cover the map's fastest pixel, at Pozzuoli
    covered = gdf.union_all() if hasattr(gdf, "union_all") else gdf.unary_union
    v = d.velocity.values
    r, c = np.unravel_index(np.nanargmax(v), v.shape)
    fastest = Point(float(d.x[c]), float(d.y[r]))
    pozzuoli = Point(*Transformer.from_crs(4326, 32633, always_xy=True).transform(14.14, 40.82))
    assert covered.contains(fastest) and covered.distance(pozzuoli) < 300 and fastest.distance(pozzuoli) < 1000
    assert gdf.v_max.max() > 40 and ((gdf.valid_share > 0) & (gdf.valid_share <= 1)).all()
    minx, miny, maxx, maxy = d.rio.bounds()
    assert all(minx <= g.bounds[0] and g.bounds[2] <= maxx and miny <= g.bounds[1] and g.bounds[3] <= maxy
               for g in gdf.geometry)
