"""The report stage (lsid.report.stage) on tiny synthetic run folders: only the JSON files it reads."""

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from lsid import paper
from lsid.config import load_aoi
from lsid.errors import InputDataError
from lsid.layout import ORBITS, RunLayout
from lsid.report import stage as report
from tests.helpers import AOI

SBAS = {"ascending": {"dates": 14, "pairs_kept": 32}, "descending": {"dates": 18, "pairs_kept": 41}}
TILES = {"crops": 20, "kept": 13, "augmented": 39}
METRICS = {"faster_rcnn_vgg16": ({"voc_ap50": 0.1234, "precision": float("nan")}, {"epochs": 2, "seconds": 300.0}),
           "crf_faster_rcnn": ({"voc_ap50": 0.5678, "precision": 0.5}, {"epochs": 3, "seconds": 630.0})}


def _validation(precision, recall, f1, n_reference=9):
    return {"n_potential": 4, "n_confirmed": 3, "precision": precision, "n_reference": n_reference, "n_detected": 5,
            "recall": recall, "f1": f1, "tolerance_m": 100.0}


def _inventory(detector: bool = True) -> dict:
    ada = {"source": "ada", "potential_landslides": 8, "seen_in": {"ascending": 3, "descending": 3, "both": 2},
           "validation": _validation(0.875, 0.7777, 0.8235)}
    inv = {"source": "crf_faster_rcnn", "potential_landslides": 5,
           "seen_in": {"ascending": 1, "descending": 1, "both": 3},
           "validation": _validation(0.6, 0.5555, 0.5769)}
    boxes = {"faster_rcnn_vgg16": {"ascending": 4, "descending": 6},
             "crf_faster_rcnn": {"ascending": 7, "descending": 9}}
    return {"model": "crf_faster_rcnn", "boxes": boxes if detector else {}, "inventory": inv if detector else None,
            "ada": ada, "missing_models": {} if detector else {"crf_faster_rcnn": "not trained"}}


def _write(path: Path, data: dict):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


@pytest.fixture
def cfg():
    return load_aoi(AOI, "smoke")


def _run_folder(tmp_path, cfg, sbas=True, tiles=True, training=True, inventory: str | None = "detector") -> RunLayout:
    layout = RunLayout(tmp_path / "run")
    if sbas:
        for o in ORBITS:
            _write(layout.sbas_summary(o), {"orbit": o, "pairs_total": 50, **SBAS[o]})
    if tiles:
        _write(layout.tiles_summary, {"digest": "x", "passes_quality": 19, **TILES})
    if training:
        for run in cfg.training.runs:
            m, t = METRICS[run.model]
            _write(layout.model(run.key).metrics, {"key": {}, "metrics": m, "detections": []})
            _write(layout.model(run.key).summary, {"model": run.model, **t})
    if inventory:
        _write(layout.inventory_summary, _inventory(detector=inventory == "detector"))
    return layout


def _by_quantity(table: pd.DataFrame) -> dict[str, pd.Series]:
    return {r["quantity"]: r for _, r in table.iterrows()}


def test_all_present_values_are_the_inputs_and_paper_column_is_lsid_paper(tmp_path, cfg):
    layout = _run_folder(tmp_path, cfg)
    table = report.reproduction_table(cfg, layout)
    assert list(table.columns) == list(report.COLUMNS)
    rows = _by_quantity(table)
    r = rows["ascending / descending images"]
    assert r["this run"] == "14 / 18"
    assert r["paper"] == f"{paper.IMAGES['ascending']} / {paper.IMAGES['descending']}" == "88 / 160"
    assert r["paper section"] == paper.NUMBERS["IMAGES"].section
    r = rows["interferograms kept, ascending / descending"]
    assert (r["paper"], r["this run"]) == ("216 / 238", "32 / 41")
    assert r["paper section"] == paper.NUMBERS["PAIRS_KEPT"].section
    r = rows["crops → kept → after augmentation"]
    d = paper.DATASET
    assert (r["paper"], r["this run"]) == (f"{d['crops']} → {d['kept']} → {d['augmented']}", "20 → 13 → 39")
    r = rows["mAP@0.5, Faster R-CNN (VGG16)"]
    assert r["paper"] == paper.MAP50["faster_rcnn_vgg16"] == 0.856
    assert r["this run"] == "0.123 (2 epochs, 5 min)"
    r = rows["mAP@0.5, CRF-Faster R-CNN"]
    assert r["paper"] == paper.MAP50["crf_faster_rcnn"] and r["this run"] == "0.568 (3 epochs, 10 min)"
    for model, pretty in (("faster_rcnn_vgg16", "Faster R-CNN (VGG16)"), ("crf_faster_rcnn", "CRF-Faster R-CNN")):
        r = rows[f"boxes on the whole scene, asc / desc, {pretty}"]
        b = _inventory()["boxes"][model]
        assert r["this run"] == f"{b['ascending']} / {b['descending']}"
        assert r["paper"] == f"{paper.SCENE_BOXES[model]['ascending']} / {paper.SCENE_BOXES[model]['descending']}"
        assert r["paper section"] == paper.NUMBERS["SCENE_BOXES"].section
    r = rows["potential landslides (CRF-Faster R-CNN)"]
    assert (r["paper"], r["this run"]) == (paper.POTENTIAL_LANDSLIDES, 5)
    assert "9 true landslides" in r["why they differ"]
    r = rows["seen by both orbits"]
    assert (r["paper"], r["this run"]) == (paper.BOTH_ORBITS, 3)
    r = rows["share confirmed"]
    assert (r["paper"], r["this run"]) == (f"{100 * paper.CONFIRMED_SHARE:.0f} %", "60 %") and r["paper"] == "84 %"
    assert rows["recall of the true landslides"]["this run"] == "56 %"
    assert rows["non-deep-learning baseline (ADA): confirmed share / recall"]["this run"] == "88 % / 78 %"
    assert report.notes(cfg, layout) == [
        "This is the `smoke` profile: detectors trained for minutes on a CPU. The comparison of architectures proper "
        "needs the `paper` profile on a GPU (`make book PROFILE=paper`).",
        "On this run the CRF-Faster R-CNN inventory scores F1 0.58 against the ADA baseline's 0.82."]


def test_run_writes_table_and_summary_and_load_reads_them_back(tmp_path, cfg):
    layout = _run_folder(tmp_path, cfg)
    summary = report.run(cfg, layout)
    assert layout.reproduction_table.exists() and layout.report_summary.exists()
    assert summary["rows"] == report.reproduction_table(cfg, layout).to_dict("records")
    assert summary["notes"] == report.notes(cfg, layout)
    back = report.load(layout)
    assert back["rows"] == summary["rows"] and back["notes"] == summary["notes"]
    pd.testing.assert_frame_equal(back["table"], summary["table"])
    csv = pd.read_csv(layout.reproduction_table, dtype=str, keep_default_na=False)
    assert list(csv.columns) == list(report.COLUMNS) and len(csv) == len(summary["rows"])
    assert list(csv["this run"]) == [str(r["this run"]) for r in summary["rows"]]
    assert json.loads(layout.report_summary.read_text()).keys() == {"rows", "notes"}


def test_load_without_a_report(tmp_path):
    with pytest.raises(InputDataError, match="report stage"):
        report.load(RunLayout(tmp_path))


def test_training_absent(tmp_path, cfg):
    layout = _run_folder(tmp_path, cfg, training=False)
    rows = _by_quantity(report.reproduction_table(cfg, layout))
    for q in ("mAP@0.5, Faster R-CNN (VGG16)", "mAP@0.5, CRF-Faster R-CNN"):
        assert rows[q]["this run"] == report.NOT_RUN and rows[q]["paper"] in paper.MAP50.values()
    assert rows["crops → kept → after augmentation"]["this run"] == "20 → 13 → 39"


def test_metrics_without_train_json(tmp_path, cfg):
    layout = _run_folder(tmp_path, cfg)
    for run in cfg.training.runs:
        layout.model(run.key).summary.unlink()
    rows = _by_quantity(report.reproduction_table(cfg, layout))
    assert rows["mAP@0.5, Faster R-CNN (VGG16)"]["this run"] == "0.123"


def test_inventory_absent(tmp_path, cfg):
    layout = _run_folder(tmp_path, cfg, inventory=None)
    table = report.reproduction_table(cfg, layout)
    assert list(table["quantity"]) == ["ascending / descending images", "interferograms kept, ascending / descending",
                                       "crops → kept → after augmentation", "mAP@0.5, Faster R-CNN (VGG16)",
                                       "mAP@0.5, CRF-Faster R-CNN"]
    assert len(report.notes(cfg, layout)) == 1  # the profile's note only


def test_ada_only_inventory(tmp_path, cfg):
    layout = _run_folder(tmp_path, cfg, training=False, inventory="ada")
    rows = _by_quantity(report.reproduction_table(cfg, layout))
    for pretty in ("Faster R-CNN (VGG16)", "CRF-Faster R-CNN"):
        assert rows[f"boxes on the whole scene, asc / desc, {pretty}"]["this run"] == report.NOT_RUN
    ada = _inventory(detector=False)["ada"]
    r = rows["potential landslides (ADA baseline (no detector))"]
    assert (r["paper"], r["this run"]) == (paper.POTENTIAL_LANDSLIDES, ada["potential_landslides"])
    assert rows["seen by both orbits"]["this run"] == ada["seen_in"]["both"]
    assert rows["share confirmed"]["this run"] == "88 %"
    assert rows["recall of the true landslides"]["this run"] == "78 %"
    assert len(report.notes(cfg, layout)) == 1  # no detector inventory to compare with ADA


def test_nothing_run_and_undefined_scores(tmp_path, cfg):
    layout = _run_folder(tmp_path, cfg, sbas=False, tiles=False, training=False, inventory=None)
    rows = _by_quantity(report.reproduction_table(cfg, layout))
    assert rows["ascending / descending images"]["this run"] == "– / –"
    assert "crops → kept → after augmentation" not in rows
    assert rows["mAP@0.5, Faster R-CNN (VGG16)"]["this run"] == report.NOT_RUN
    inv = _inventory()
    inv["inventory"]["validation"] = _validation(float("nan"), float("nan"), float("nan"), n_reference=0)
    _write(layout.inventory_summary, inv)
    rows = _by_quantity(report.reproduction_table(cfg, layout))
    assert rows["share confirmed"]["this run"] == rows["recall of the true landslides"]["this run"] == "–"
    assert len(report.notes(cfg, layout)) == 1


def test_paper_profile_has_no_profile_note(tmp_path):
    cfg = load_aoi(AOI, "paper")
    layout = _run_folder(tmp_path, cfg)
    assert report.notes(cfg, layout) == [
        "On this run the CRF-Faster R-CNN inventory scores F1 0.58 against the ADA baseline's 0.82."]
    rows = _by_quantity(report.reproduction_table(cfg, layout))
    assert rows["mAP@0.5, Faster R-CNN (VGG16)"]["why they differ"].endswith("the paper's schedule")


def test_plots_read_the_paper_numbers():
    from lsid.plots import dataset, detection, inventory, study_area

    assert detection.PRETTY is paper.PRETTY and detection.PAPER_MAP is paper.MAP50
    assert dataset.PAPER_COUNTS["maps"] == sum(paper.IMAGES.values())
    assert inventory.PAPER_BOXES is paper.SCENE_BOXES
    assert inventory.PAPER_INVENTORY["potential_landslides"] == paper.POTENTIAL_LANDSLIDES
    assert list(study_area.PAPER_TABLE1.loc["pairs kept"]) == [paper.PAIRS_KEPT[o] for o in ORBITS]
    assert math.isclose(study_area.PAPER_TABLE1.loc["wavelength (cm)", "ascending"], paper.WAVELENGTH_CM)
