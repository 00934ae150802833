"""The stage shape (lsid/<layer>/stage.py: run + load), the run layout, and the numbers the chapters
report, moved out of the notebooks: SBAS tables, inventory tables, the case study, the AOI template."""

import inspect

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import yaml
from shapely.geometry import Polygon, box

from lsid.config import load_aoi, validate
from lsid.layout import ModelLayout, RunLayout
from lsid.pipeline import STAGES
from tests.helpers import AOI


@pytest.mark.parametrize("stage", [s for s in STAGES if s.module], ids=lambda s: s.name)
def test_every_stage_module_has_run_and_load(stage):
    import importlib

    mod = importlib.import_module(stage.module)
    sig = inspect.signature(mod.run)
    assert list(sig.parameters)[:2] == ["cfg", "layout"]
    assert {"force", "progress"} <= {n for n, p in sig.parameters.items() if p.kind is p.KEYWORD_ONLY}
    assert list(inspect.signature(mod.load).parameters) == ["layout"]
    assert mod.__doc__ and "utputs" in mod.__doc__


def test_layout_paths_live_under_the_run_folder(tmp_path, smoke_aoi):
    lay = RunLayout.of(smoke_aoi, tmp_path)
    assert lay.root == tmp_path / "ahai-synthetic" / "smoke"
    paths = [lay.stack("ascending"), lay.truth("descending"), lay.terrain, lay.synth_manifest,
             lay.deformation("ascending"), lay.velocity("ascending"), lay.network("ascending"),
             lay.sbas_summary("ascending"), lay.tileset("rendered"), lay.tiles_summary,
             lay.detections("m", "ascending"), lay.inventory("ada_inventory", "kml"),
             lay.objects("ada", "descending"), lay.reference("model"), lay.inventory_summary, lay.report_summary,
             lay.notebook("01"), lay.notebook_stamp("01"), lay.html]
    assert all(lay.root in p.parents for p in paths) and len(set(paths)) == len(paths)
    m = lay.model("crf_faster_rcnn_rendered_spatial")
    assert isinstance(m, ModelLayout) and m.best.parent == lay.models_dir / "crf_faster_rcnn_rendered_spatial"
    assert lay.deformations() == {}


def test_labelled_is_one_rule(tmp_path):
    cfg = load_aoi(AOI, "smoke")
    assert cfg.labelled
    real = validate({"name": "x", "synthetic": False, "inputs": {"ascending": {"format": "velocity", "path": "v.tif"}}})
    assert not real.labelled
    inv = validate({"name": "x", "synthetic": False, "inputs": {"ascending": {"format": "velocity", "path": "v.tif"}},
                    "tiles": {"inventory": "slides.gpkg"}})
    assert inv.labelled


def test_an_area_without_labels_gets_no_tileset(tmp_path):
    from lsid.tiles import stage

    real = validate({"name": "x", "synthetic": False, "inputs": {"ascending": {"format": "velocity", "path": "v.tif"}}})
    assert stage.run(real, RunLayout(tmp_path)) == {}
    with pytest.raises(Exception, match="no TileSet"):
        stage.load(RunLayout(tmp_path))


def test_sbas_stage_loads_what_it_wrote(smoke_aoi, smoke_sbas):
    from lsid.sbas import scores, stage

    lay = RunLayout(smoke_sbas)
    summaries = stage.load(lay)
    assert set(summaries) == {"ascending", "descending"}
    assert summaries == stage.run(smoke_aoi, lay)  # unchanged: read back, not recomputed
    t = scores.network_table(summaries, {"ascending": 216, "descending": 238})
    assert list(t["pairs kept"]) == [summaries[o]["pairs_kept"] for o in ("ascending", "descending")]
    tables = stage.network_tables(lay)
    assert {o: int(t.kept.sum()) for o, t in tables.items()} == {o: s["pairs_kept"] for o, s in summaries.items()}


def test_velocity_error_scores_exactly():
    import xarray as xr

    from lsid.sbas.scores import velocity_error

    truth = xr.Dataset({"velocity": (("y", "x"), np.array([[0.0, 10.0], [20.0, -5.0]]))})
    d = xr.Dataset({"velocity": (("y", "x"), np.array([[0.0, 11.0], [19.0, -5.0]])),
                    "valid": (("y", "x"), np.ones((2, 2), bool))}, attrs={"reference_row": 0, "reference_col": 0})
    e = velocity_error(d, truth)
    assert e["pixels"] == 4 and e["rmse_mm_yr"] == pytest.approx(np.sqrt(2 / 4)) and e["bias_mm_yr"] == 0
    assert e["rmse_moving_mm_yr"] == pytest.approx(np.sqrt(2 / 3))


def test_seasonal_rates_and_profile_span():
    from lsid.inventory.case_study import seasonal_rates, span_inside

    t = pd.to_datetime(["2020-01-01", "2020-04-01", "2020-07-01", "2020-10-01", "2021-01-01"])
    days = np.diff(t.values).astype("timedelta64[D]").astype(float)
    y = np.r_[0, np.cumsum(days * np.array([10, 40, 40, 10]) / 365.25)]  # 10 mm/yr dry, 40 wet
    r = seasonal_rates({"ascending": {"P1": (t.values, y)}})
    row = r.loc[("ascending", "P1")]
    assert row["rate in wet season (mm/yr)"] == pytest.approx(40, abs=0.05)
    assert row["rate in dry season (mm/yr)"] == pytest.approx(10, abs=0.05)
    assert row["total (mm)"] == pytest.approx(y[-1], abs=0.05)
    assert span_inside((np.array([0.0, 100.0]), np.array([0.0, 0.0])), box(20, -1, 50, 1)) == pytest.approx((20, 50))
    assert span_inside((np.array([0.0, 100.0]), np.array([0.0, 0.0])), box(20, 5, 50, 6)) is None


def _source(detected, vis_a, vis_d, area, rate, passes=(True, False), rejected=("", "slope")):
    geoms = [box(i, 0, i + 1, 1) for i in range(len(detected))]
    ref = gpd.GeoDataFrame({"detected": detected, "visible_ascending": vis_a, "visible_descending": vis_d,
                            "area_m2": area, "rate_mm_yr": rate}, geometry=geoms, crs="EPSG:32647")
    obj = gpd.GeoDataFrame({"passes": list(passes), "rejected_by": list(rejected)},
                           geometry=[Polygon([(0, 0), (1, 0), (1, 1)])] * len(passes), crs="EPSG:32647")
    return {"reference": ref, "objects": {"ascending": obj}}


def test_inventory_tables_count_what_they_say():
    from lsid.inventory import tables

    src = _source([1, 0, 1, 0], [1, 1, 0, 0], [0, 0, 1, 0], [5e3, 3e4, 3e5, 2e6], [5, 15, 30, 80])
    checks = tables.check_table({"ADA": src})
    assert checks.loc[("ADA", "ascending"), "objects"] == 2 and checks.loc[("ADA", "ascending"), "pass the checks"] == 1
    assert checks.loc[("ADA", "ascending"), "rejected: slope"] == 1
    vis = tables.visibility_recall({"ADA": src}).loc["ADA"]
    assert vis["visible in an orbit"] == 3 and vis["recall (all)"] == 0.5 \
        and vis["recall (visible ones)"] == pytest.approx(2 / 3, abs=1e-3)
    by = tables.recall_tables({"ADA": src})
    area = by["by area"].set_index("class")
    assert area.loc["< 1 ha", "recall"] == 1 and area.loc["1-5 ha", "recall"] == 0 and area["objects"].sum() == 4
    assert tables.recall_tables({"ADA": {**src, "reference": None}}) == {}


def test_verdict_sentence():
    from lsid.inventory.tables import verdict

    good = {"validation": {"f1": 0.8, "precision": 0.9, "recall": 0.7, "n_potential": 10}}
    bad = {"validation": {"f1": 0.5, "precision": 0.5, "recall": 0.5, "n_potential": 20}}
    assert "beats" in verdict("CRF", good, bad) and "does not beat" in verdict("CRF", bad, good)
    assert verdict("CRF", {}, good) is None


def test_template_lists_every_key_and_is_a_valid_aoi():
    from lsid.config import AOIConfig
    from lsid.config_template import template

    text = template("my-area")
    data = yaml.safe_load(text)
    cfg = validate(data)  # the template itself is a valid AOI file, at the defaults
    assert cfg.to_dict() == AOIConfig(name="my-area").to_dict()
    for section in ("sbas", "tiles", "training", "inventory"):
        for key in type(getattr(cfg, section)).model_fields:
            assert f"\n  {key}:" in text
    assert "range: 0 ≤ value ≤ 1" in text and "one of: no, coh, var" in text


def test_check_template_command(capsys):
    from lsid.cli import main

    assert main(["check", "--template"]) == 0
    assert "min_temporal_coherence: 0.7" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["check"])  # neither --aoi nor --template


def _velocity_area(tmp_path, values):
    import rasterio
    from affine import Affine

    tif = tmp_path / "vel.tif"
    with rasterio.open(tif, "w", driver="GTiff", height=values.shape[0], width=values.shape[1], count=1,
                       dtype="float32", crs="EPSG:32647", transform=Affine(30, 0, 600000, 0, -30, 3050000)) as dst:
        dst.write(values.astype(np.float32), 1)
    return validate({"name": "vel", "synthetic": False,
                     "inputs": {"ascending": {"format": "velocity", "path": str(tif)}}}), tif


def test_sbas_stage_caches_a_velocity_input_and_reruns_when_it_is_replaced(tmp_path):
    from lsid.sbas import stage

    rng = np.random.default_rng(0)
    cfg, tif = _velocity_area(tmp_path, rng.normal(0, 2, (40, 50)))
    lay = RunLayout(tmp_path / "run")
    first = stage.run(cfg, lay)["ascending"]
    assert first["digest"] == stage._digest(cfg, "ascending", lay, None)  # the key, not an attribute name
    mtime = lay.deformation("ascending").stat().st_mtime_ns
    assert stage.run(cfg, lay)["ascending"]["digest"] == first["digest"]  # unchanged: read back
    assert lay.deformation("ascending").stat().st_mtime_ns == mtime
    import os
    import time

    time.sleep(0.01)
    _velocity_area(tmp_path, rng.normal(0, 2, (40, 50)) + 10)  # reprocessed, same name
    os.utime(tif)
    again = stage.run(cfg, lay)["ascending"]
    assert again["digest"] != first["digest"] and again["velocity_p99_mm_yr"] > first["velocity_p99_mm_yr"] + 5


def test_run_help_lists_every_stage(capsys):
    from lsid.cli import main

    with pytest.raises(SystemExit) as e:
        main(["run", "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert all(s.name in out for s in STAGES) and "lsid.sbas.stage" in out


def test_an_unchanged_inventory_stage_reads_no_deformation(smoke_aoi, smoke_sbas, tmp_path):
    import shutil
    from unittest import mock

    from lsid.inventory import stage

    run = tmp_path / "run"
    for sub in ("stacks", "truth", "synth", "sbas"):
        shutil.copytree(smoke_sbas / sub, run / sub)
    lay = RunLayout(run)
    first = stage.run(smoke_aoi, lay)  # no detector trained here: the ADA inventory
    with mock.patch.object(stage, "load_deformations", side_effect=AssertionError("read the Deformations")):
        assert stage.run(smoke_aoi, lay)["digest"] == first["digest"]
