"""lsid.inventory: objects, checks, fusion, decomposition, validation, the ADA baseline, export."""

import geopandas as gpd
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, box

from lsid.geometry import downslope_unit_vector, los_unit_vector, project_to_los
from lsid.inventory import build_inventory
from lsid.inventory.baseline import active_areas, background
from lsid.inventory.checks import apply_checks, rejection_table
from lsid.inventory.decompose import asc_desc_to_vertical_horizontal, los_to_downslope
from lsid.inventory.export import write_inventory
from lsid.inventory.fusion import fuse_orbits
from lsid.inventory.objects import SceneLayers, merge_boxes_to_objects, terrain_stats, velocity_stats
from lsid.inventory.validate import explain_false_alarms, recall_by_class, validate
from lsid.layout import RunLayout
from tests.helpers import CRS, HEADINGS, PIX, X0, Y0, boxes, deformation, slope_dem  # noqa: F401


@settings(max_examples=40, deadline=None)
@given(up=st.floats(-100, 100), east=st.floats(-100, 100))
def test_asc_desc_decomposition_recovers_up_and_east(up, east):
    la = project_to_los(east, 0.0, up, *HEADINGS["ascending"])
    ld = project_to_los(east, 0.0, up, *HEADINGS["descending"])
    u, e = asc_desc_to_vertical_horizontal(la, ld, *HEADINGS["ascending"], *HEADINGS["descending"])
    assert u == pytest.approx(up, abs=1e-6) and e == pytest.approx(east, abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(speed=st.floats(1, 200), slope=st.floats(5, 60), aspect=st.floats(0, 360))
def test_downslope_projection_inverts_the_los_projection(speed, slope, aspect):
    inc, head = HEADINGS["descending"]
    d = np.array(downslope_unit_vector(slope, aspect)) * speed
    v_los = project_to_los(*d, inc, head)
    got = los_to_downslope(v_los, slope, aspect, inc, head, min_sensitivity=0.2)
    le, ln, lu = los_unit_vector(inc, head)
    sens = abs(np.dot(downslope_unit_vector(slope, aspect), (le, ln, lu)))
    if sens >= 0.2:
        assert float(got) == pytest.approx(speed, rel=1e-6)
    else:
        assert np.isnan(got)


def test_boxes_merge_into_objects_and_gap():
    det = boxes("ascending", [(10, 20, 10, 20), (15, 25, 15, 25), (40, 50, 40, 50), (40, 50, 52, 60)],
                [0.6, 0.9, 0.7, 0.8])
    objs = merge_boxes_to_objects(det)
    assert sorted(objs["n_boxes"]) == [1, 1, 2]
    assert objs.loc[objs["n_boxes"] == 2, "score"].item() == 0.9
    merged = merge_boxes_to_objects(det, merge_gap_m=3 * PIX)  # the two 2-px-apart boxes join
    assert sorted(merged["n_boxes"]) == [2, 2]
    assert merged.geometry.geom_type.eq("Polygon").all()
    assert merge_boxes_to_objects(det.iloc[:0]).empty


def test_velocity_stats_refer_to_the_ring():
    d = deformation(motion=[((40, 60, 40, 60), (0, 0, -30))], noise=0.0, ramp=20.0)  # subsiding block on a ramp
    g = box(X0 + 40 * PIX, Y0 - 60 * PIX, X0 + 60 * PIX, Y0 - 40 * PIX)
    s = velocity_stats(g, SceneLayers(d))
    expected = project_to_los(0, 0, -30, *HEADINGS["ascending"])
    assert s["n_pixels"] == 400 and s["valid_share"] == 1.0
    assert s["v_mean"] == pytest.approx(expected, abs=1.0)  # the ramp is taken out by the ring's median
    assert s["v_p95"] < 0 and abs(s["v_max"]) >= abs(s["v_p95"])


class P:  # inventory thresholds
    merge_gap_m = 0.0
    min_area_m2 = 20000.0
    min_slope_deg = 10.0
    min_relief_m = 30.0
    min_coherence = 0.4
    min_los_sensitivity = 0.1
    min_velocity_mm_yr = 5.0
    fusion_distance_m = 100.0
    min_downslope_sensitivity = 0.2


def test_terrain_measures_skip_dem_voids():
    """A real DEM has voids (sea, shadow): an object partly over one is measured on the rest; one mostly
    over it gets NaN terrain measures (and fails those checks)."""
    dem = slope_dem(slope_deg=20.0)
    dem[:, :40] = np.nan  # a void over the western columns
    layers = SceneLayers(deformation(dem=dem))
    partly = box(X0 + 30 * PIX, Y0 - 60 * PIX, X0 + 60 * PIX, Y0 - 30 * PIX)  # a third over the void
    t = terrain_stats(partly, layers)
    assert t["slope_deg"] == pytest.approx(20.0, abs=0.01) and t["aspect_deg"] == pytest.approx(90.0, abs=0.5)
    assert t["relief_m"] > 0 and np.isfinite(t["los_sensitivity"])
    mostly = box(X0 + 10 * PIX, Y0 - 60 * PIX, X0 + 45 * PIX, Y0 - 30 * PIX)
    assert np.isnan(terrain_stats(mostly, layers)["slope_deg"])


def test_checks_reject_flat_ground_and_can_be_switched_off():
    import pandas as pd

    objs = pd.DataFrame({"area_m2": [5e4, 5e4, 100.0], "slope_deg": [25, 2, 25], "relief_m": [200, 5, 200],
                         "coherence": [0.9, 0.9, 0.9], "los_sensitivity": [0.6, 0.6, 0.6], "v_p95": [-20, -20, 30]})
    out = apply_checks(objs, P)
    assert out["passes"].tolist() == [True, False, False]
    assert out["rejected_by"].tolist() == ["", "slope,relief", "area"]
    assert rejection_table(out).set_index("check")["rejected"].to_dict()["slope"] == 1

    class Off(P):
        min_slope_deg = None
        min_relief_m = None

    assert apply_checks(objs, Off)["passes"].tolist() == [True, True, False]


def test_fusion_matches_orbits_and_names_north_to_south():
    a = merge_boxes_to_objects(boxes("ascending", [(10, 20, 10, 20), (80, 90, 10, 20)]))
    d = merge_boxes_to_objects(boxes("descending", [(12, 22, 12, 22), (50, 60, 70, 80)]))
    f = fuse_orbits({"ascending": a, "descending": d}, distance_m=100)
    assert f["id"].tolist() == ["H1", "H2", "H3"]
    assert f["seen_in"].tolist() == ["both", "descending", "ascending"]  # north (row 10) to south (row 80)
    assert f.loc[0, "n_objects_ascending"] == 1 and f.loc[0, "n_objects_descending"] == 1
    far = fuse_orbits({"ascending": a, "descending": d.set_geometry(d.translate(xoff=2000))}, distance_m=100)
    assert "both" not in set(far["seen_in"])


def test_build_inventory_end_to_end_decomposes_a_slide_seen_in_both_orbits():
    dem = slope_dem(slope_deg=25)  # east-facing slope
    slide = ((30, 50, 30, 50), tuple(np.array(downslope_unit_vector(25, 90)) * 40))  # 40 mm/yr downslope
    flat = np.full((120, 100), 1500.0)
    dem[80:110, 10:40] = flat[80:110, 10:40]  # a flat terrace that subsides 20 mm/yr
    subs = ((80, 110, 10, 40), (0, 0, -20))
    defos = {o: deformation(o, dem=dem, seed=i, motion=[slide, subs]) for i, o in enumerate(HEADINGS)}
    dets = {o: boxes(o, [(30, 50, 30, 50), (80, 110, 10, 40)]) for o in HEADINGS}  # v_mean: the mean over the outline
    inv, objs = build_inventory(dets, defos, P)
    assert len(inv) == 1 and inv.loc[0, "seen_in"] == "both" and inv.loc[0, "id"] == "H1"
    terrace = objs["ascending"].sort_values("slope_deg").iloc[0]
    assert not terrace["passes"] and "relief" in terrace["rejected_by"]  # flat ground does not slide
    de, dn, du = np.array(downslope_unit_vector(25, 90)) * 40
    assert inv.loc[0, "v_up"] == pytest.approx(du, abs=3)
    assert inv.loc[0, "v_east"] == pytest.approx(de, abs=3)
    assert inv.loc[0, "v_downslope_desc"] == pytest.approx(40, abs=4)
    assert inv.loc[0, "slope_deg"] == pytest.approx(25, abs=1)
    empty, _ = build_inventory({o: dets[o].iloc[:0] for o in dets}, defos, P)
    assert empty.empty


def test_validation_counts():
    pot = gpd.GeoDataFrame({"id": ["H1", "H2", "H3"]},
                           geometry=[box(0, 0, 100, 100), box(1000, 0, 1100, 100), box(5000, 0, 5100, 100)], crs=CRS)
    ref = gpd.GeoDataFrame({"id": ["A", "B", "C", "D"], "area_m2": [1e4, 1e4, 1e6, 1e6]},
                           geometry=[box(50, 50, 150, 150), Point(1150, 50), Point(3000, 0), box(9000, 0, 9100, 10)],
                           crs=CRS)
    p, r, s = validate(pot, ref, tolerance_m=100)
    assert p["confirmed"].tolist() == [True, True, False]
    assert r["detected"].tolist() == [True, True, False, False]
    assert (s["precision"], s["recall"]) == (pytest.approx(2 / 3), 0.5)
    assert validate(pot, ref, tolerance_m=0)[2]["n_confirmed"] == 1  # the point is 50 m away
    by = recall_by_class(r, "area_m2", [0, 1e5, 1e7], ["small", "large"])
    assert by["recall"].tolist() == [1.0, 0.0]
    dis = gpd.GeoDataFrame({"kind": ["dam"]}, geometry=[box(5000, 0, 5050, 50)], crs=CRS)
    assert explain_false_alarms(p, dis).tolist() == ["", "", "dam"]
    p0, r0, s0 = validate(pot.iloc[:0], ref)
    assert s0["n_potential"] == 0 and np.isnan(s0["precision"]) and s0["recall"] == 0


def test_ada_baseline_finds_the_anomaly_despite_a_ramp():
    d = deformation(shape=(160, 160), motion=[((60, 75, 80, 100), (0, 0, -25))], ramp=15.0, noise=1.0)
    v = d.velocity.values
    bg = background(v, 32)
    assert np.abs(bg[:, -1].mean() - bg[:, 0].mean()) > 20  # the ramp is in the background
    areas, th = active_areas(d, k_sigma=3, min_pixels=20, background_px=32)
    assert th["sigma_mm_yr"] == pytest.approx(1.0, rel=0.3)
    assert len(areas) == 1 and areas.loc[0, "v_mean"] < -10
    target = box(X0 + 80 * PIX, Y0 - 75 * PIX, X0 + 100 * PIX, Y0 - 60 * PIX)
    assert areas.geometry.iloc[0].intersection(target).area / target.area > 0.8
    no_ramp_removal, _ = active_areas(d, k_sigma=3, min_pixels=20, background_px=None)
    assert len(no_ramp_removal) != 1 or no_ramp_removal.geometry.iloc[0].area > 2 * target.area


def test_export_writes_every_format(tmp_path):
    inv = gpd.GeoDataFrame({"id": ["H1", "H2"], "seen_in": ["both", "ascending"], "v_p95_asc": [-30.5, 12.0],
                            "confirmed": [True, False]},
                           geometry=[box(X0, Y0 - 300, X0 + 300, Y0), box(X0 + 900, Y0 - 300, X0 + 1200, Y0)], crs=CRS)
    paths = write_inventory(inv, tmp_path / "out")
    assert sorted(paths) == ["csv", "geojson", "gpkg", "kml"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(f"inventory.{f}" for f in paths)
    gj = gpd.read_file(paths["geojson"])
    assert gj.crs.to_epsg() == 4326 and gj["id"].tolist() == ["H1", "H2"]
    gp = gpd.read_file(paths["gpkg"])
    assert gp.crs.to_epsg() == 32647 and gp.geometry.iloc[0].area == pytest.approx(90000)
    kml = paths["kml"].read_text()
    assert "<name>H1</name>" in kml and "seen in: both" in kml
    import pandas as pd

    csv = pd.read_csv(paths["csv"])
    assert {"lon", "lat", "centre_x", "centre_y"} <= set(csv.columns) and 99 < csv["lon"].iloc[0] < 101
    with pytest.raises(ValueError, match="unknown format"):
        write_inventory(inv, tmp_path / "bad", formats=("shp",))
    assert not list((tmp_path / "bad").iterdir())  # nothing half-written


def test_stage_errors_name_the_missing_input(tmp_path, smoke_aoi):
    from lsid.errors import InputDataError
    from lsid.inventory.stage import load_deformations, reference_inventory
    from lsid.training.stage import checkpoint_for

    with pytest.raises(InputDataError, match="run the sbas stage"):
        load_deformations(tmp_path)
    with pytest.raises(InputDataError, match="no trained checkpoint of crf_faster_rcnn"):
        checkpoint_for(smoke_aoi, RunLayout(tmp_path), "crf_faster_rcnn")
    bad = tmp_path / "inv.gpkg"  # (a GeoJSON without CRS reads as WGS 84, its standard)
    with pytest.warns(UserWarning, match="crs"):
        gpd.GeoDataFrame({"id": [1]}, geometry=[Point(0, 0)]).to_file(bad)  # no CRS
    cfg = smoke_aoi.model_copy(
        update={"inventory": smoke_aoi.inventory.model_copy(update={"validation_inventory": str(bad)})})
    with pytest.raises(InputDataError, match="no CRS"):
        reference_inventory(cfg, tmp_path, CRS)


def test_no_detections_give_valid_empty_outputs(tmp_path):
    dem = slope_dem()
    defos = {o: deformation(o, dem=dem, seed=i) for i, o in enumerate(HEADINGS)}
    empty = {o: boxes(o, []) for o in HEADINGS}
    inv, objs = build_inventory(empty, defos, P)
    assert inv.empty and all(g.empty for g in objs.values())
    ref = gpd.GeoDataFrame({"id": ["A"]}, geometry=[box(X0, Y0 - 300, X0 + 300, Y0)], crs=CRS)
    p, r, s = validate(inv, ref)
    assert s["n_potential"] == 0 and s["recall"] == 0
    paths = write_inventory(p, tmp_path)
    for fmt, path in paths.items():
        assert path.is_file(), fmt
    assert len(gpd.read_file(paths["gpkg"])) == 0


def test_a_reference_inventory_in_another_crs_is_reprojected(tmp_path, smoke_aoi):
    from lsid.inventory.stage import reference_inventory

    pts = gpd.GeoDataFrame({"name": ["slide"]}, geometry=[Point(X0 + 150, Y0 - 150)], crs=CRS).to_crs("EPSG:4326")
    f = tmp_path / "historical.geojson"
    pts.to_file(f)
    cfg = smoke_aoi.model_copy(
        update={"inventory": smoke_aoi.inventory.model_copy(update={"validation_inventory": str(f)})})
    ref, name = reference_inventory(cfg, tmp_path, CRS)
    assert ref.crs.to_epsg() == 32647 and name == str(f) and ref["id"].tolist() == ["1"]
    assert ref.geometry.iloc[0].distance(Point(X0 + 150, Y0 - 150)) < 0.01
