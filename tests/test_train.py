"""Training (lsid.train): smoke training, exact resume, and bad input."""

import json
import shutil

import pandas as pd
import pytest
import torch

from lsid.errors import InputDataError
from lsid.train import TrainConfig, TrainingError, fit, model_from_checkpoint

SMOKE = dict(model="faster_rcnn_vgg16", epochs=2, max_iters_per_epoch=2, batch_size=2, warmup_iters=2, patience=5, seed=3)


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
    with pytest.raises(TrainingError, match=r"non-finite loss .* last good checkpoint \(epoch 1\)"):
        fit(ts, out, TrainConfig(**SMOKE), resume=True, progress=False)
    assert (out / "last.pt").read_bytes() == good


def test_ddp_on_two_cpu_processes(smoke_tiles, tmp_path):
    """torchrun with 2 processes (gloo on CPU): the distributed path trains, validates on rank 0 and
    stops every rank together."""
    import os
    import subprocess
    import sys

    _, root = smoke_tiles
    out = tmp_path / "ddp"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29731",
           "-m", "lsid.train", "--tileset", str(root / "rendered"), "--model", "faster_rcnn_vgg16",
           "--out", str(out), "--profile", "smoke", "--patience", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((out / "train.json").read_text())
    assert summary["epochs"] in (1, 2) and (out / "last.pt").exists()
    assert len(pd.read_csv(out / "epochs.csv")) == summary["epochs"]
