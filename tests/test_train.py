"""Training (lsid.training): smoke training, exact resume, bad input, the command line's profiles, the
training stage (cache keys, resume, scoring, loading) and the book's tables."""

import json
import math
import shutil

import pandas as pd
import pytest
import torch

from lsid.errors import InputDataError
from lsid.training import TrainConfig, TrainingError, fit, model_from_checkpoint
from tests.helpers import AOI, ROOT

SMOKE = dict(model="faster_rcnn_vgg16", epochs=2, max_iters_per_epoch=2, batch_size=2, warmup_iters=2, patience=5,
             seed=3)


def test_fit_writes_history_and_resumes_to_the_same_weights(smoke_tiles, tmp_path):
    _, root = smoke_tiles
    ts = root / "rendered"
    full = fit(ts, tmp_path / "full", TrainConfig(**SMOKE), progress=False)
    assert full["epochs"] == 2 and full["iterations"] == 4 and full["device"] == "cpu"
    hist = pd.read_csv(tmp_path / "full" / "history.csv")
    assert list(hist.columns[3:7]) == ["loss_classifier", "loss_box_reg", "loss_objectness", "loss_rpn_box_reg"]
    assert len(hist) == 4 and hist.lr.iloc[0] < hist.lr.iloc[-1] <= 0.0025  # warm-up
    ep = pd.read_csv(tmp_path / "full" / "epochs.csv")
    assert list(ep.epoch) == [1, 2] and (ep.val_map50.between(0, 1) | ep.val_map50.isna()).all()
    # interrupted after epoch 1, then resumed: the same weights as the uninterrupted run
    fit(ts, tmp_path / "cut", TrainConfig(**{**SMOKE, "epochs": 1}), progress=False)
    resumed = fit(ts, tmp_path / "cut", TrainConfig(**SMOKE), resume=True, progress=False)
    assert resumed["epochs"] == 2 and len(pd.read_csv(tmp_path / "cut" / "history.csv")) == 4
    a = torch.load(tmp_path / "full" / "last.pt", weights_only=False)["state_dict"]
    b = torch.load(tmp_path / "cut" / "last.pt", weights_only=False)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    m, ck = model_from_checkpoint(tmp_path / "full" / "best.pt")
    assert ck["model"] == "faster_rcnn_vgg16" and not m.training
    assert json.loads((tmp_path / "full" / "train.json").read_text())["best_epoch"] in (1, 2)
    assert not list((tmp_path / "full").glob(".*tmp*"))  # the atomic writes left no temporary file


def test_bad_checkpoints_and_tilesets(smoke_tiles, tmp_path):
    _, root = smoke_tiles
    ts = root / "physical"
    out = tmp_path / "run"
    fit(ts, out, TrainConfig(**{**SMOKE, "epochs": 1, "max_iters_per_epoch": 1}), progress=False)
    with pytest.raises(TrainingError, match="'faster_rcnn_vgg16' with 3 input channels, but 'crf_faster_rcnn'"):
        fit(ts, out, TrainConfig(**{**SMOKE, "model": "crf_faster_rcnn"}), resume=True, progress=False)
    good = (out / "last.pt").read_bytes()
    (out / "last.pt").write_bytes(b"garbage")
    with pytest.raises(TrainingError, match="damaged"):
        fit(ts, out, TrainConfig(**SMOKE), resume=True, progress=False)
    assert (out / "last.pt").read_bytes() == b"garbage"  # nothing overwritten
    (out / "last.pt").write_bytes(good)
    # a TileSet whose training split has no box
    empty = tmp_path / "empty"
    shutil.copytree(ts, empty)
    coco = json.loads((empty / "annotations" / "train.json").read_text())
    coco["annotations"] = []
    (empty / "annotations" / "train.json").write_text(json.dumps(coco))
    with pytest.raises(InputDataError, match="no landslide box"):
        fit(empty, tmp_path / "x", TrainConfig(**SMOKE), progress=False)


def test_non_finite_loss_keeps_the_last_good_checkpoint(smoke_tiles, tmp_path, monkeypatch):
    import lsid.models

    _, root = smoke_tiles
    ts = root / "rendered"
    out = tmp_path / "run"
    fit(ts, out, TrainConfig(**{**SMOKE, "epochs": 1, "max_iters_per_epoch": 1}), progress=False)
    good = (out / "last.pt").read_bytes()
    real = lsid.models.build

    def diverging(*a, **k):
        m = real(*a, **k)
        forward = m.forward

        def fwd(images, targets=None):
            out_ = forward(images, targets)
            return {key: v * float("nan") for key, v in out_.items()} if m.training else out_

        m.forward = fwd
        return m

    monkeypatch.setattr(lsid.models, "build", diverging)
    with pytest.raises(TrainingError, match=r"non-finite loss .* iteration 1: .* last good checkpoint \(epoch 1\)"):
        fit(ts, out, TrainConfig(**SMOKE), resume=True, progress=False)
    assert (out / "last.pt").read_bytes() == good


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_on_two_cpu_processes(smoke_tiles, tmp_path):
    """torchrun with 2 processes (gloo on CPU): the distributed path trains, validates on rank 0 and
    stops every rank together."""
    import os
    import subprocess
    import sys

    _, root = smoke_tiles
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(_free_port()),
           "-m", "lsid.train", "--tileset", str(root / "rendered"), "--model", "faster_rcnn_vgg16",
           "--out", str(out), "--profile", "smoke", "--patience", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "train.json").read_text())
    assert summary["epochs"] in (1, 2) and (out / "last.pt").exists()
    assert len(pd.read_csv(out / "epochs.csv")) == summary["epochs"]


# ------------------------------------------------------------------------------ one profile source
@pytest.mark.parametrize("profile", ["smoke", "cpu"])
def test_command_line_profiles_are_the_aoi_profiles(profile):
    """``python -m lsid.train --profile P`` trains a main run as the study does at profile P (model,
    split and seed come from the command line's own flags)."""
    from lsid.config import load_aoi
    from lsid.training.fit import build_parser, cli_config
    from lsid.training.stage import train_config

    cfg = load_aoi(AOI, profile)
    for run in cfg.training.runs:
        a = build_parser().parse_args(["--tileset", "t", "--out", "o", "--profile", profile, "--model", run.model,
                                       "--split", run.split, "--seed", str(cfg.seed)])
        assert cli_config(a) == train_config(cfg, run, ablation=False)
    a = build_parser().parse_args(["--tileset", "t", "--out", "o", "--profile", profile, "--lr", "0.5", "--no-amp"])
    c = cli_config(a)
    assert c.lr == 0.5 and not c.amp and c.model == "crf_faster_rcnn" and c.seed == 0
    if profile == "cpu":  # the values the two profile tables used to disagree on
        assert c.time_budget_min == 7.0 and c.extra["box_batch_size_per_image"] == 128
    else:
        assert c.max_iters_per_epoch == 2 and c.time_budget_min is None and c.extra == {}


def test_paper_profile_is_the_paper():
    from lsid import paper
    from lsid.training.fit import profile_config

    c = profile_config("paper")
    assert (c.lr, c.momentum, c.weight_decay, c.batch_size, c.epochs, c.patience) == (
        paper.LR, paper.MOMENTUM, paper.WEIGHT_DECAY, paper.BATCH_SIZE, paper.EPOCHS, paper.PATIENCE)
    assert c.time_budget_min is None and c.max_iters_per_epoch is None and c.extra == {}


def test_importing_the_training_needs_no_geospatial_stack():
    import subprocess
    import sys

    code = ("import lsid.training, lsid.train, sys; "
            "heavy = {'xarray', 'rasterio', 'geopandas', 'netCDF4', 'pandas'} & set(sys.modules); "
            "assert not heavy, heavy")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_lsid_io_imports_its_readers_on_first_use():
    import lsid.io
    from lsid.io.netcdf import open_netcdf

    assert lsid.io.open_netcdf is open_netcdf and "open_stack" in dir(lsid.io)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        lsid.io.nope  # noqa: B018


def test_warmup_schedule():
    from lsid.training.engine import warmup_lr

    assert warmup_lr(0.01, 0, 50, 0.001) == pytest.approx(1e-5)
    assert warmup_lr(0.01, 25, 50, 0.001) == pytest.approx(0.01 * (0.001 * 0.5 + 0.5))
    assert warmup_lr(0.01, 50, 50, 0.001) == warmup_lr(0.01, 10**6, 50, 0.001) == 0.01
    assert warmup_lr(0.01, 0, 0, 0.001) == 0.01


# ---------------------------------------------------------------------------------- the stage
@pytest.fixture(scope="module")
def trained(smoke_aoi, smoke_tiles, tmp_path_factory):
    """(cfg, layout, stage summary) of a run folder with the smoke TileSet and two trained runs: a main
    run and an ablation (VGG16: the cheapest detector)."""
    from lsid.config import DetectorRun
    from lsid.layout import RunLayout
    from lsid.training import stage

    _, tiles = smoke_tiles
    layout = RunLayout(tmp_path_factory.mktemp("train_stage"))
    shutil.copytree(tiles, layout.tiles_dir)
    training = smoke_aoi.training.model_copy(update={
        "runs": [DetectorRun(model="faster_rcnn_vgg16")],
        "ablations": [DetectorRun(model="faster_rcnn_vgg16", split="random")]})
    cfg = smoke_aoi.model_copy(update={"training": training})
    return cfg, layout, stage.run(cfg, layout)


def test_stage_trains_scores_and_loads(trained):
    from lsid.training import stage

    cfg, layout, summary = trained
    keys = ["faster_rcnn_vgg16_rendered_spatial", "faster_rcnn_vgg16_rendered_random"]
    assert list(summary) == keys
    for key in keys:
        ml = layout.model(key)
        assert all(p.exists() for p in (ml.best, ml.last, ml.history, ml.epochs, ml.summary, ml.stamp, ml.metrics))
        s = summary[key]
        assert s["epochs"] == 2 and s["iterations"] == 4 and s["split"] == key.rsplit("_", 1)[1]
        assert 0 <= s["test"]["test_images"] and s["test"]["score_threshold"] == cfg.training.score_threshold
    assert json.dumps(stage.load(layout), sort_keys=True) == json.dumps(summary, sort_keys=True)  # NaN-safe
    json.dumps(summary, allow_nan=True)  # JSON-able
    # nothing to do the second time: no checkpoint is rewritten
    before = {k: layout.model(k).last.stat().st_mtime_ns for k in keys}
    assert json.dumps(stage.run(cfg, layout)) == json.dumps(summary)
    assert {k: layout.model(k).last.stat().st_mtime_ns for k in keys} == before
    run, _ = stage.find_run(cfg, "faster_rcnn_vgg16")
    dets = stage.cached_detections(layout, run)
    assert all(set(d) == {"image_id", "category_id", "score", "bbox"} for d in dets)
    assert stage.checkpoint_for(cfg, layout, "faster_rcnn_vgg16") == layout.model(keys[0]).best
    with pytest.raises(InputDataError, match="no trained checkpoint of crf_faster_rcnn"):
        stage.checkpoint_for(cfg, layout, "crf_faster_rcnn")
    with pytest.raises(InputDataError, match="no training run crf_faster_rcnn/physical/spatial"):
        stage.find_run(cfg, "crf_faster_rcnn", "physical")


def test_stage_resumes_an_interrupted_run_and_rescores_on_a_new_threshold(trained):
    from lsid.training import stage

    cfg, layout, summary = trained
    run, ablation = stage.find_run(cfg, "faster_rcnn_vgg16", split="random")
    ml = layout.model(run.key)
    ml.summary.unlink()  # killed before train.json: same key, so it resumes from last.pt (already at the end)
    again = stage.ensure_trained(cfg, layout, run, ablation, progress=False)
    assert again["iterations"] == 4 and len(pd.read_csv(ml.history)) == 4
    assert ml.summary.exists()
    other = cfg.model_copy(update={"training": cfg.training.model_copy(update={"score_threshold": 0.2})})
    m = stage.score_on_test(other, layout, run)
    assert m["score_threshold"] == 0.2 and json.loads(ml.metrics.read_text())["metrics"]["score_threshold"] == 0.2


def test_stage_without_labels_or_tiles(smoke_aoi, tmp_path):
    from lsid.layout import RunLayout
    from lsid.training import stage

    layout = RunLayout(tmp_path)
    with pytest.raises(InputDataError, match="no TileSet with rendered channels"):
        stage.ensure_trained(smoke_aoi, layout, smoke_aoi.training.runs[0])
    assert stage.load(layout) == {}
    unlabelled = smoke_aoi.model_copy(update={"synthetic": False})
    assert not unlabelled.labelled and stage.run(unlabelled, layout) == {}


# ---------------------------------------------------------------------------------- the tables
def _fake_results(cfg):
    from lsid.training.stage import all_runs

    out = {}
    for k, (r, _) in enumerate(all_runs(cfg)):
        test = {"voc_ap50": 0.1 * (k + 1), "coco_ap": 0.05, "coco_ap50": 0.2, "coco_ap75": 0.01, "precision": 0.5,
                "recall": 0.25, "f1": 1 / 3, "tp": k, "fp": 2, "fn": 3, "tn": 4, "ground_truth_boxes": 7,
                "negative_tiles": 5, "test_images": 9}
        out[r.key] = {"epochs": 3 + k, "seconds": 125.0, "best_epoch": 2, "test": test}
    return out


def test_tables_of_the_evaluation(smoke_aoi):
    from lsid.training import tables

    cfg, res = smoke_aoi, _fake_results(smoke_aoi)  # runs: VGG16, CRF; ablation: CRF on a random split
    comp = tables.comparison_table(cfg, res)
    assert list(comp.index) == ["Faster R-CNN (VGG16)", "CRF-Faster R-CNN"]
    assert list(comp.columns) == ["paper mAP@0.5", "lsid mAP@0.5 (VOC)", "COCO AP", "AP50", "AP75", "precision",
                                  "recall", "F1", "epochs", "minutes"]
    assert comp.loc["CRF-Faster R-CNN", "paper mAP@0.5"] == 0.888 and comp["F1"].iloc[0] == 0.333
    assert list(comp["minutes"]) == [2.1, 2.1] and list(comp["epochs"]) == [3, 4]
    conf = tables.confusion_table(cfg, res)
    assert list(conf.columns) == ["TP", "FP", "FN", "TN", "ground-truth boxes", "negative tiles", "test tiles"]
    assert list(conf.TP) == [0, 1]
    abl = tables.ablation_table(cfg, res)
    assert abl.index.names == ["model", "channels", "split"] and len(abl) == 3
    assert list(abl.columns) == ["mAP@0.5 (VOC)", "COCO AP", "AP50", "F1", "epochs", "minutes", "role"]
    assert list(abl.role) == ["paper's comparison", "paper's comparison", "ablation"]
    leak = tables.random_split_leak(cfg, res)
    assert leak["spatial"] == pytest.approx(0.2) and leak["random"] == pytest.approx(0.3)
    assert leak["difference"] == pytest.approx(0.1)
    no_random = cfg.model_copy(update={"training": cfg.training.model_copy(update={"ablations": []})})
    assert tables.random_split_leak(no_random, res) is None


def test_tables_of_the_training_chapter(smoke_aoi):
    from lsid.training import tables
    from lsid.training.stage import train_config

    tc = train_config(smoke_aoi, smoke_aoi.training.runs[0])
    text = tables.schedule_text(tc, "smoke")
    assert text.startswith("Schedule: SGD, lr 0.0025") and "GroupNorm" in text and "cpu" not in text
    cpu = tables.schedule_text(type(tc)(**{**tc.__dict__, "time_budget_min": 7.0, "extra": {"a": 1}}), "cpu")
    assert "a time budget of 7 min" in cpu and "(a 1)" in cpu and "**This is the `cpu` profile" in cpu
    s = {"epochs": 2, "iterations": 4, "best_epoch": 1, "best_val_map50": math.nan, "selected_by": "training loss",
         "stopped": "max epochs", "seconds": 1.5, "device": "cpu", "amp": False, "other": 0}
    t = tables.summary_table(s)
    assert list(t.columns) == ["value"] and list(t.index) == list(tables.SUMMARY_KEYS)


def test_precision_recall_of_the_trained_runs(trained):
    from lsid.training import stage, tables

    cfg, layout, _ = trained
    main = tables.main_runs(cfg)
    curves = tables.pr_curves(layout, main)
    assert set(curves) == {"faster_rcnn_vgg16"}
    gt = tables.held_out_truth(layout, main[0])
    assert all(im.get("augmentation", "none") == "none" for im in gt["images"])
    rec, prec = curves["faster_rcnn_vgg16"]
    assert len(rec) == len(prec) and ((0 <= rec) & (rec <= 1)).all()
    assert stage.cached_detections(layout, main[0]) is not None


def test_stage_trains_again_when_its_key_changes(trained):
    """(Last: it retrains the main run of the shared run folder with another schedule.)"""
    from lsid.training import stage

    cfg, layout, _ = trained
    run, ablation = stage.find_run(cfg, "faster_rcnn_vgg16")
    ml = layout.model(run.key)
    key = json.loads(ml.stamp.read_text())["digest"]
    assert key == stage.training_key(cfg, layout, run, ablation)
    other = cfg.model_copy(update={"training": cfg.training.model_copy(update={"epochs": 1})})
    assert stage.training_key(other, layout, run, ablation) != key
    (ml.folder / "stray.txt").write_text("from an older run")
    s = stage.ensure_trained(other, layout, run, ablation, progress=False)
    assert s["epochs"] == 1 and not (ml.folder / "stray.txt").exists()  # a fresh folder
    assert json.loads(ml.stamp.read_text())["digest"] != key
