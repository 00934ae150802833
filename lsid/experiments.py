"""The detector runs of a study: train each run of the AOI's ``training`` section (skipped when its
inputs, parameters and code are unchanged; resumed when it was interrupted) and score it on its
held-out test split.

Outputs in ``<run_dir>/models/<model>_<channels>_<split>/``: what :func:`lsid.train.fit` writes, plus
``stage.json`` (the digest the run was made with) and ``metrics.json`` (test-split metrics).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from lsid.config import AOIConfig, DetectorRun
from lsid.errors import InputDataError
from lsid.io.atomic import write_text
from lsid.provenance import source_digest


def run_folder(run_dir: str | Path, run: DetectorRun) -> Path:
    return Path(run_dir) / "models" / run.key


def all_runs(cfg: AOIConfig) -> list[tuple[DetectorRun, bool]]:
    """(run, is_ablation) for every configured run, the paper's comparison first."""
    return [(r, False) for r in cfg.training.runs] + [(r, True) for r in cfg.training.ablations]


def find_run(cfg: AOIConfig, model: str, channels: str = "rendered", split: str = "spatial") -> tuple[DetectorRun, bool]:
    for r, abl in all_runs(cfg):
        if (r.model, r.channels, r.split) == (model, channels, split):
            return r, abl
    raise InputDataError(f"no training run {model}/{channels}/{split} in the AOI's training section; add it to "
                         f"training.runs or training.ablations")


def train_config(cfg: AOIConfig, run: DetectorRun, ablation: bool):
    from lsid.train import TrainConfig

    t = cfg.training
    return TrainConfig(model=run.model, split=run.split, epochs=t.epochs, batch_size=t.batch_size, lr=t.lr,
                       warmup_iters=t.warmup_iters, patience=t.patience, seed=cfg.seed, pretrained=t.pretrained,
                       max_iters_per_epoch=t.max_iters_per_epoch,
                       time_budget_min=t.ablation_time_budget_min if ablation else t.time_budget_min,
                       extra=t.detector.kwargs())


def _digest(cfg: AOIConfig, run_dir: Path, run: DetectorRun, ablation: bool) -> str:
    from dataclasses import asdict

    tiles = json.loads((Path(run_dir) / "tiles" / "summary.json").read_text())["digest"]
    parts = {"tiles": tiles, "run": run.key, "train": asdict(train_config(cfg, run, ablation)),
             "code": source_digest("lsid.models", "lsid.train", "lsid.metrics")}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def ensure_trained(cfg: AOIConfig, run_dir: str | Path, run: DetectorRun, ablation: bool = False,
                   progress: bool = True) -> dict:
    """Train one run unless it is done with the same digest; returns its train.json summary."""
    from lsid.train import fit

    run_dir = Path(run_dir)
    tiles = run_dir / "tiles" / run.channels
    if not (tiles / "tileset.json").exists():
        raise InputDataError(f"{tiles}: no TileSet with {run.channels} channels; run the dataset stage first "
                             f"(lsid run ... --only dataset) with '{run.channels}' in tiles.channels")
    out = run_folder(run_dir, run)
    digest = _digest(cfg, run_dir, run, ablation)
    stage = out / "stage.json"
    same = stage.exists() and json.loads(stage.read_text()).get("digest") == digest
    if same and (out / "train.json").exists():
        return json.loads((out / "train.json").read_text())
    if not same and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    write_text(stage, json.dumps({"digest": digest, "run": run.key}))
    return fit(tiles, out, train_config(cfg, run, ablation), resume=(out / "last.pt").exists(), progress=progress)


def score_on_test(cfg: AOIConfig, run_dir: str | Path, run: DetectorRun, originals_only: bool = True) -> dict:
    """Metrics of a trained run's best checkpoint on its test split (spatial or random, as trained),
    on the original tiles only by default (augmented copies of test tiles would count the same ground
    three times). Cached in metrics.json next to the checkpoint."""
    import torch

    from lsid.metrics import evaluate
    from lsid.train import TileDataset, model_from_checkpoint, predict

    out = run_folder(run_dir, run)
    cache = out / "metrics.json"
    best = out / "best.pt"
    key = {"checkpoint_mtime": best.stat().st_mtime if best.exists() else None, "originals_only": originals_only,
           "score_threshold": cfg.training.score_threshold}
    if cache.exists():
        old = json.loads(cache.read_text())
        if old.get("key") == key:
            return old["metrics"]
    ds = TileDataset(Path(run_dir) / "tiles" / run.channels, "test", run.split)
    if originals_only:
        ds.keep_originals()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model, _ = model_from_checkpoint(best, device, box_score_thresh=0.01)
    dets = predict(model, ds, device)
    m = evaluate(ds.coco, dets, score_threshold=cfg.training.score_threshold)
    m["test_images"] = len(ds.images)
    write_text(cache, json.dumps({"key": key, "metrics": m, "detections": dets}))
    return m


def cached_detections(run_dir: str | Path, run: DetectorRun) -> list[dict]:
    """The test detections cached by :func:`score_on_test`."""
    return json.loads((run_folder(run_dir, run) / "metrics.json").read_text())["detections"]
