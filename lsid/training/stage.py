"""The training stage of a study: train each run of the AOI's ``training`` section (skipped when its
inputs, parameters and code are unchanged; resumed when it was interrupted) and score it on its
held-out test split.

Outputs, per run, in ``layout.model(run.key)`` (:class:`lsid.layout.ModelLayout`): what
:func:`lsid.training.fit.fit` writes, plus ``stage.json`` (the cache key the run was made with) and
``metrics.json`` (test-split metrics and detections of ``best.pt``).

Cache keys (:mod:`lsid.provenance`): a run is trained again when the digest of the TileSet (its
``tiles/summary.json``), the run key, the TrainConfig and the training code changes; its test metrics
are computed again when ``best.pt`` changes (its modification time), or ``originals_only`` or the
operating score threshold does.
"""

from __future__ import annotations

import json
import shutil
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from lsid import provenance
from lsid.errors import InputDataError
from lsid.io.atomic import write_text
from lsid.layout import RunLayout
from lsid.training.checkpoints import CheckpointDamaged
from lsid.training.fit import TrainConfig, fit, from_training

if TYPE_CHECKING:
    from lsid.config import AOIConfig, DetectorRun


def all_runs(cfg: AOIConfig) -> list[tuple[DetectorRun, bool]]:
    """(run, is_ablation) for every configured run, the paper's comparison first."""
    return [(r, False) for r in cfg.training.runs] + [(r, True) for r in cfg.training.ablations]


def find_run(cfg: AOIConfig, model: str, channels: str = "rendered",
             split: str = "spatial") -> tuple[DetectorRun, bool]:
    """(run, is_ablation) of the configured run of ``model`` on ``channels`` tiles and ``split``;
    InputDataError when the AOI's training section has no such run."""
    for r, abl in all_runs(cfg):
        if (r.model, r.channels, r.split) == (model, channels, split):
            return r, abl
    raise InputDataError(f"no training run {model}/{channels}/{split} in the AOI's training section; add it to "
                         f"training.runs or training.ablations")


def train_config(cfg: AOIConfig, run: DetectorRun, ablation: bool = False) -> TrainConfig:
    """The TrainConfig of one run (:func:`lsid.training.fit.from_training` of ``cfg.training``; the
    AOI's seed; the ablation time budget, min, for an ablation)."""
    return from_training(cfg.training.model_dump(), model=run.model, split=run.split, seed=cfg.seed,
                         ablation=ablation)


def training_key(cfg: AOIConfig, layout: RunLayout, run: DetectorRun, ablation: bool = False) -> str:
    """The cache key of a run: digest of the TileSet's digest, the run key, the TrainConfig and the code
    of the training (the import closure of :mod:`lsid.training.fit`)."""
    tiles = provenance.read_stamp(layout.tiles_summary).get("digest")
    if tiles is None:
        raise InputDataError(f"{layout.tiles_summary}: no TileSet summary; run the dataset stage first "
                             f"(lsid run ... --only dataset)")
    return provenance.digest(tiles, run.key, asdict(train_config(cfg, run, ablation)),
                             provenance.code_digest("lsid.training.fit"))


def ensure_trained(cfg: AOIConfig, layout: RunLayout, run: DetectorRun, ablation: bool = False,
                   progress: bool = True, force: bool = False) -> dict:
    """Train one run unless it was done with the same cache key; returns its train.json summary.

    A run whose key changed (or ``force``) starts afresh in an emptied folder; one interrupted with the
    same key resumes from ``last.pt``. Raises InputDataError when the run's TileSet is missing."""
    tiles = layout.tileset(run.channels)
    if not layout.tileset_layout(run.channels).meta.exists():
        raise InputDataError(f"{tiles}: no TileSet with {run.channels} channels; run the dataset stage first "
                             f"(lsid run ... --only dataset) with '{run.channels}' in tiles.channels")
    ml = layout.model(run.key)
    key = training_key(cfg, layout, run, ablation)
    record = provenance.read_stamp(ml.stamp)
    same = not force and record.get("digest") == key
    if same and ml.summary.exists():
        if record.get("products") and provenance.products_intact(record, ml.folder):
            return json.loads(ml.summary.read_text())
        if not record.get("products") and _loadable(ml.best, ml.last):  # killed before this last stamp
            provenance.stamp(ml.stamp, key, products=[ml.best, ml.last, ml.summary], run=run.key)
            return json.loads(ml.summary.read_text())
        warnings.warn(f"{ml.folder}: the finished run's checkpoints are missing or damaged (changed since train.json "
                      f"was written): it is trained again", UserWarning, stacklevel=2)
        same = False
    if not same and ml.folder.exists():
        shutil.rmtree(ml.folder)
    ml.folder.mkdir(parents=True, exist_ok=True)
    # written first: it is what lets an interrupted run resume (train.json, written last, marks it done)
    provenance.stamp(ml.stamp, key, run=run.key)
    tc = train_config(cfg, run, ablation)
    try:
        summary = fit(tiles, ml.folder, tc, resume=ml.last.exists(), progress=progress)
    except CheckpointDamaged as exc:  # last.pt truncated by a kill: the run starts again
        warnings.warn(f"{exc}; {run.key} is trained again from the start", UserWarning, stacklevel=2)
        for f in (ml.last, ml.best, ml.history, ml.epochs):
            f.unlink(missing_ok=True)
        summary = fit(tiles, ml.folder, tc, resume=False, progress=progress)
    provenance.stamp(ml.stamp, key, products=[ml.best, ml.last, ml.summary], run=run.key)  # done: vouches for them
    return summary


def _loadable(*checkpoints: Path) -> bool:
    """True when every checkpoint reads as an lsid checkpoint."""
    from lsid.training.checkpoints import load_checkpoint

    try:
        for p in checkpoints:
            load_checkpoint(p)
    except CheckpointDamaged:
        return False
    return True


def _metrics_key(cfg: AOIConfig, best: Path, originals_only: bool, tileset: Path) -> str:
    """The test metrics' key: the checkpoint (its time), the test split, the scoring and its code."""
    test = sorted((tileset / "annotations").rglob("test.json"))
    return provenance.digest({"checkpoint_mtime": best.stat().st_mtime if best.exists() else None,
                              "originals_only": originals_only, "score_threshold": cfg.training.score_threshold,
                              "test_split": provenance.files_fingerprint(test),
                              "code": provenance.code_digest("lsid.training.engine", "lsid.metrics")})


def score_on_test(cfg: AOIConfig, layout: RunLayout, run: DetectorRun, originals_only: bool = True) -> dict:
    """Metrics (:func:`lsid.metrics.evaluate`, plus ``test_images``) of a trained run's best checkpoint on
    its test split (spatial or random, as trained), on the original tiles only by default (augmented
    copies of test tiles would count the same ground three times). Cached in metrics.json."""
    import torch

    from lsid.metrics import evaluate
    from lsid.training.checkpoints import model_from_checkpoint
    from lsid.training.data import TileDataset
    from lsid.training.engine import EVAL_SCORE_THRESHOLD, predict

    ml = layout.model(run.key)
    key = _metrics_key(cfg, ml.best, originals_only, layout.tileset(run.channels))
    old = provenance.read_stamp(ml.metrics)
    if old.get("key") == key:
        return old["metrics"]
    ds = TileDataset(layout.tileset(run.channels), "test", run.split)
    if originals_only:
        ds.keep_originals()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model, _ = model_from_checkpoint(ml.best, device, box_score_thresh=EVAL_SCORE_THRESHOLD)
    dets = predict(model, ds, device)
    m = evaluate(ds.coco, dets, score_threshold=cfg.training.score_threshold)
    m["test_images"] = len(ds.images)
    write_text(ml.metrics, json.dumps({"key": key, "metrics": m, "detections": dets}))
    return m


def cached_detections(layout: RunLayout, run: DetectorRun) -> list[dict]:
    """The test detections cached by :func:`score_on_test` (COCO style, tile pixels)."""
    return json.loads(layout.model(run.key).metrics.read_text())["detections"]


def checkpoint_for(cfg: AOIConfig, layout: RunLayout, model: str) -> Path:
    """``best.pt`` of the detector ``model`` trained on rendered tiles and the spatial split (else on
    physical tiles); InputDataError when neither was trained."""
    for channels in ("rendered", "physical"):
        for run, _ in all_runs(cfg):
            if (run.model, run.channels, run.split) == (model, channels, "spatial"):
                p = layout.model(run.key).best
                if p.exists():
                    return p
    raise InputDataError(f"no trained checkpoint of {model} (spatial split) in {layout.models_dir}; run the "
                         f"training stage first, with {model} in training.runs or training.ablations")


def run(cfg: AOIConfig, layout: RunLayout, *, force: bool = False, progress: bool = False) -> dict:
    """The stage: train (:func:`ensure_trained`) and score (:func:`score_on_test`) every run of
    ``cfg.training.runs`` and ``cfg.training.ablations``; ``force`` trains every run again.

    Returns ``{run key: {**train.json summary, "test": test metrics}}`` (JSON-able), the paper's
    comparison first; ``{}`` for an area without landslide labels (nothing to train)."""
    if not cfg.labelled:
        return {}
    out = {}
    for r, ablation in all_runs(cfg):
        summary = ensure_trained(cfg, layout, r, ablation, progress=progress, force=force)
        out[r.key] = {**summary, "test": score_on_test(cfg, layout, r)}
    return out


def load(layout: RunLayout) -> dict:
    """What :func:`run` returned, read from disk without training: ``{run key: {**train.json, "test":
    metrics or None}}`` for every run folder with a train.json, by run key."""
    out = {}
    if not layout.models_dir.is_dir():
        return out
    for folder in sorted(p for p in layout.models_dir.iterdir() if p.is_dir()):
        ml = layout.model(folder.name)
        if not ml.summary.exists():
            continue
        out[folder.name] = {**json.loads(ml.summary.read_text()),
                            "test": provenance.read_stamp(ml.metrics).get("metrics")}
    return out
