"""Pretraining: a detector learnt once, on the randomised corpus (:mod:`lsid.corpus`), for every map.

``lsid pretrain --corpus runs/corpus --model crf_faster_rcnn --out runs/pretrain/crf_faster_rcnn``
trains with :func:`lsid.training.fit.fit` on the corpus's train areas (validation on its val areas),
resumable (``--resume``), then scores the best epoch on the test areas (areas whose seeds no training
saw) and writes ``test_metrics.json``; ``--export NAME`` writes the fp16 weights and their model card
into the package (:mod:`lsid.models.pretrained`).

The recipes (:data:`RECIPES`) are what was measured to learn within the hardware's time: ``cpu`` for a
2-core machine (hours), ``gpu`` for one GPU (the device's minutes). Why each choice is recorded beside
it; the experiments that decided them are in docs/pretraining.md.
"""

from __future__ import annotations

import json
import platform
from dataclasses import replace
from pathlib import Path

import torch

from lsid.errors import InputDataError
from lsid.io.atomic import write_text
from lsid.layout import ModelLayout
from lsid.models.pretrained import sha256
from lsid.training.fit import TrainConfig, fit

#: Fewer proposals and sampled RoIs than torchvision's defaults: a CPU iteration 3x cheaper (the box
#: head runs on every sampled RoI), measured on the cpu profile (lsid.profiles).
LIGHT_HEADS = {"rpn_pre_nms_top_n_train": 1000, "rpn_post_nms_top_n_train": 500, "box_batch_size_per_image": 128,
               "rpn_pre_nms_top_n_test": 500, "rpn_post_nms_top_n_test": 300}

RECIPES: dict[str, TrainConfig] = {
    # 2 CPU cores: ~1.7 s per batch of 8 tiles of 128 px (CRF-Faster R-CNN, light heads, measured); 10
    # "epochs" of 250 batches (20 000 tiles seen, about two passes over a 160-area corpus) in about 85 min.
    # From scratch (nothing can be downloaded): GroupNorm backbones (lsid.models.backbones), a warm-up, and
    # a rate higher than the paper's 0.0025, with a cosine decay (the cpu profile measured 0.0025 to learn
    # nothing in a few hundred iterations); weight decay 1e-4, the value of torchvision's detection
    # references (the paper's 1e-3 was not compared here: one run fits in a session).
    "cpu": TrainConfig(model="crf_faster_rcnn", epochs=10, batch_size=8, lr=0.015, momentum=0.9, weight_decay=1e-4,
                       warmup_iters=200, patience=10, max_iters_per_epoch=250, schedule="cosine", augment=True,
                       val_max_images=400, time_budget_min=88.0, extra=dict(LIGHT_HEADS)),
    # one GPU: the same recipe, longer (the paper's 300-epoch ceiling is not needed with this much data)
    "gpu": TrainConfig(model="crf_faster_rcnn", epochs=40, batch_size=16, lr=0.02, momentum=0.9, weight_decay=1e-4,
                       warmup_iters=500, patience=10, max_iters_per_epoch=500, schedule="cosine", augment=True,
                       val_max_images=2000, time_budget_min=9.0, num_workers=4),
}


def recipe(name: str, model: str = "crf_faster_rcnn", **changes) -> TrainConfig:
    """The TrainConfig of recipe ``name`` for ``model``, with ``changes`` (TrainConfig fields)."""
    if name not in RECIPES:
        raise InputDataError(f"unknown pretraining recipe {name!r}: one of {', '.join(RECIPES)}")
    return replace(RECIPES[name], model=model, **{k: v for k, v in changes.items() if v is not None})


def score_test(checkpoint: str | Path, corpus: str | Path, device: str | None = None, max_images: int | None = None,
               progress: bool = False) -> dict:
    """Tile-level scores of a checkpoint on the corpus's test areas (:func:`lsid.metrics.evaluate`:
    VOC AP@0.5, COCO AP, and the operating point), pooled, with the tile and box counts and, per SNR bin
    of the test boxes, the recall at the operating threshold (how the visibility threshold was checked)."""
    import numpy as np

    from lsid.metrics import SCORE_THRESHOLD, box_iou_xywh, evaluate
    from lsid.training.checkpoints import model_from_checkpoint
    from lsid.training.data import corpus_dataset
    from lsid.training.engine import EVAL_SCORE_THRESHOLD, predict

    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model, ck = model_from_checkpoint(checkpoint, str(dev), box_score_thresh=EVAL_SCORE_THRESHOLD)
    ds = corpus_dataset(corpus, "test", max_images)
    dets = predict(model, ds, dev)
    out = evaluate(ds.coco, dets)
    out.update(test_tiles=len(ds.images), test_areas=len({im["area_index"] for im in ds.images}),
               ignore_regions=sum(bool(a.get("ignore")) for a in ds.coco["annotations"]))
    # recall of the boxes by SNR bin: each box hit when a detection over the threshold has IoU >= 0.5
    on = [d for d in dets if d["score"] >= SCORE_THRESHOLD]
    by_img: dict[int, list] = {}
    for d in on:
        by_img.setdefault(d["image_id"], []).append(d["bbox"])
    bins = [0, 2, 3, 5, 10, 1e9]
    rec = {}
    for lo, hi in zip(bins[:-1], bins[1:]):
        anns = [a for a in ds.coco["annotations"] if a.get("snr") is not None and lo <= a["snr"] < hi
                and a.get("reason") in (None, "invisible")]
        hit = [bool(by_img.get(a["image_id"])) and
               float(box_iou_xywh(np.array(a["bbox"]), np.array(by_img[a["image_id"]])).max()) >= 0.5 for a in anns]
        rec[f"{lo:g}-{hi:g}" if hi < 1e9 else f">={lo:g}"] = {"boxes": len(anns),
                                                                "recall": float(np.mean(hit)) if hit else None}
    out["recall_by_snr"] = rec
    out["checkpoint_epoch"] = ck.get("state", {}).get("best_epoch")
    return out


def pretrain(corpus: str | Path, out: str | Path, cfg: TrainConfig, resume: bool = False, progress: bool = True,
             device: str | None = None) -> dict:
    """Train ``cfg.model`` on the corpus (:func:`lsid.training.fit.fit`), then score its best epoch on the
    test areas (``out/test_metrics.json``); returns {"train": summary, "test": scores}."""
    corpus = Path(corpus)
    if not (corpus / "manifest.json").is_file():
        raise InputDataError(f"{corpus}: no corpus manifest; build the corpus first (lsid corpus --root {corpus})")
    summary = fit(corpus, out, cfg, resume=resume, progress=progress, device=device)
    lay = ModelLayout(out)
    test = score_test(lay.best, corpus, device=device, progress=progress)
    write_text(lay.folder / "test_metrics.json", json.dumps(test, indent=2))
    return {"train": summary, "test": test}


def export(run: str | Path, corpus: str | Path, name: str, folder: str | Path | None = None,
           extra: dict | None = None) -> Path:
    """Write the best epoch of pretraining run ``run`` as fp16 weights ``<folder>/<name>.pt`` and its model
    card ``<name>.json`` (default folder: the package's, :data:`lsid.models.pretrained.WEIGHTS_DIR`);
    returns the card's path. The card: model, channels and their normalisation, tile and pixel size,
    corpus manifest digest and size, schedule, device, validation and test scores, sha256, versions;
    ``extra``: more entries (the operating ``score_threshold`` and its calibration,
    :mod:`lsid.inventory.calibrate`)."""
    import torchvision

    from lsid.io.atomic import atomic_path
    from lsid.models.pretrained import WEIGHTS_DIR
    from lsid.training.checkpoints import load_checkpoint

    lay = ModelLayout(run)
    ck = load_checkpoint(lay.best)
    manifest = json.loads((Path(corpus) / "manifest.json").read_text())
    folder = Path(folder or WEIGHTS_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / f"{name}.pt"
    half = {k: (v.half() if v.is_floating_point() else v) for k, v in ck["state_dict"].items()}
    with atomic_path(weights) as tmp:
        torch.save(half, tmp)
    train = json.loads(lay.summary.read_text()) if lay.summary.exists() else {}
    test_path = lay.folder / "test_metrics.json"
    spec = manifest["spec"]
    card = {
        "name": name, "model": ck["model"], "file": weights.name, "sha256": sha256(weights),
        "bytes": weights.stat().st_size, "dtype": "float16 (loaded as float32)",
        "in_channels": ck["in_channels"], "image_size": ck["image_size"], "channels": spec["channels"],
        "channel_names": ["signed log(1 + |v / sigma|) / log(1 + 50)", "temporal coherence", "slope / 60 deg"],
        "image_mean": ck["image_mean"], "image_std": ck["image_std"], "pixel_m": spec["pixel_m"],
        "tile_px": spec["size"], "detector_options": dict(ck.get("config", {}).get("extra") or {}),
        "corpus": {"digest": manifest["digest"], "areas": manifest["n_areas"], "splits": manifest["splits"],
                   "tiles": manifest["tiles"], "seed_base": manifest["seed_base"], "spec": spec},
        "schedule": ck.get("config"), "epochs_trained": train.get("epochs"), "best_epoch": train.get("best_epoch"),
        "iterations": train.get("iterations"), "train_seconds": train.get("seconds"),
        "stopped": train.get("stopped"), "device": train.get("device"),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "val_map50": train.get("best_val_map50"),
        "test": json.loads(test_path.read_text()) if test_path.exists() else None,
        "torch": torch.__version__, "torchvision": torchvision.__version__, **(extra or {}),
    }
    card_path = folder / f"{name}.json"
    write_text(card_path, json.dumps(card, indent=2))
    return card_path


__all__ = ["RECIPES", "LIGHT_HEADS", "recipe", "pretrain", "score_test", "export", "sha256"]
