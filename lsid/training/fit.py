"""Training of a detector on a TileSet: the paper's schedule, resumable, on CPU or GPU(s).

Imports only torch, torchvision, numpy, Pillow, tqdm and lsid.models / lsid.metrics (themselves
torch- and numpy-only) and lsid's leaf modules (lsid.profiles for the built-in profiles):

    python -m lsid.train --tileset runs/<aoi>/<profile>/tiles/rendered --model crf_faster_rcnn \\
        --out runs/<aoi>/<profile>/models/crf_faster_rcnn_rendered_spatial [--profile paper] [--resume]
    torchrun --nproc_per_node 4 -m lsid.train ...        # several GPUs (DDP)

Defaults are the paper's (§3.5, :mod:`lsid.paper`): SGD, lr 0.0025, momentum 0.9, weight decay 0.001,
batch 5, at most 300 epochs, validation mAP every epoch, early stopping with patience 10; plus a
linear warm-up (needed from scratch). Negative tiles (no box) are kept. ``--profile smoke|cpu|paper`` takes the training
values of the built-in profiles (lsid.profiles, those of an AOI file's main runs). Outputs in ``--out``
(the names of :class:`lsid.layout.ModelLayout`): ``last.pt`` (every epoch, atomic), ``best.pt`` (best
validation mAP), ``history.csv`` (per iteration: the four losses and the learning rate),
``epochs.csv`` (per epoch: validation mAP, learning rate, seconds), ``train.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np
import torch

from lsid import paper
from lsid.errors import InputDataError
from lsid.io.atomic import atomic_path, write_text
from lsid.layout import ModelLayout
from lsid.training.checkpoints import TrainingError, load_checkpoint, rng_state, save, seed_everything, set_rng_state
from lsid.training.data import TileDataset, channel_stats, collate
from lsid.training.engine import (
    EVAL_SCORE_THRESHOLD,
    NonFiniteLoss,
    cosine_lr,
    evaluate,
    grad_scaler,
    train_one_epoch,
    warmup_lr,
)


@dataclass
class TrainConfig:
    """One training run. Defaults: the paper's hyper-parameters (§3.5). Units: ``lr`` per SGD step,
    ``warmup_iters`` and ``max_iters_per_epoch`` in iterations (batches), ``time_budget_min`` in
    minutes of wall time, ``batch_size`` in tiles."""

    model: str = "crf_faster_rcnn"
    split: str = "spatial"  # "spatial" (annotations/) or "random" (annotations/random/)
    epochs: int = paper.EPOCHS
    batch_size: int = paper.BATCH_SIZE
    lr: float = paper.LR
    momentum: float = paper.MOMENTUM
    weight_decay: float = paper.WEIGHT_DECAY
    warmup_iters: int = 500
    warmup_factor: float = 0.001
    patience: int = paper.PATIENCE
    seed: int = 0
    pretrained: bool = False
    amp: bool = True  # on CUDA only
    max_iters_per_epoch: int | None = None  # shorter "epochs" (smoke and cpu runs: more validation points)
    time_budget_min: float | None = None  # stop when passed (validation and checkpoint first; cpu profile)
    val_originals_only: bool = True  # validate on the original tiles, not their augmented copies
    num_workers: int = 0
    # "constant": warm-up then lr; "cosine": warm-up then a cosine decay to lr/100 at epochs x max_iters_per_epoch
    schedule: str = "constant"
    augment: bool = False  # online dihedral augmentation and missing-evidence channel dropout (corpus training)
    val_max_images: int | None = None  # validate on at most this many tiles (evenly drawn)
    # keyword arguments of torchvision's FasterRCNN for this run (e.g. rpn_post_nms_top_n_train,
    # box_batch_size_per_image: fewer proposals and sampled RoIs make a CPU iteration cheaper)
    extra: dict = field(default_factory=dict)


#: AOI training keys (lsid.config.TrainingConfig) that are TrainConfig fields of the same name.
TRAINING_KEYS = ("epochs", "batch_size", "lr", "warmup_iters", "patience", "pretrained", "max_iters_per_epoch")


def from_training(t: Mapping, *, model: str, split: str = "spatial", seed: int = 0,
                  ablation: bool = False) -> TrainConfig:
    """The TrainConfig of one run from an AOI's training section ``t`` (``cfg.training.model_dump()``,
    or a profile's partial ``training`` dict: a key it lacks keeps the TrainConfig default, the
    paper's): :data:`TRAINING_KEYS` as they are; ``time_budget_min`` (min) of a main run, or
    ``ablation_time_budget_min`` of an ablation; the ``detector`` options that are set, as ``extra``.
    The one mapping of AOI training keys to TrainConfig fields."""
    kw = {k: t[k] for k in TRAINING_KEYS if t.get(k) is not None}
    extra = {k: v for k, v in (t.get("detector") or {}).items() if v is not None}
    budget = t.get("ablation_time_budget_min" if ablation else "time_budget_min")
    return TrainConfig(model=model, split=split, seed=seed, time_budget_min=budget, extra=extra, **kw)


def profile_config(profile: str, *, model: str = "crf_faster_rcnn", split: str = "spatial",
                   seed: int = 0) -> TrainConfig:
    """The TrainConfig of a main run at a built-in profile (``smoke``, ``cpu``, ``paper``): the training
    values of ``lsid.profiles.PROFILE_OVERRIDES[profile]`` over the defaults, as an AOI file without a
    training section of its own gets them."""
    from lsid.profiles import PROFILE_OVERRIDES

    return from_training(PROFILE_OVERRIDES[profile].get("training", {}), model=model, split=split, seed=seed)


# ------------------------------------------------------------------------------------------ setup
@dataclass
class _Run:
    """What one training run holds while it goes (built by :func:`_setup`)."""

    cfg: TrainConfig
    tileset: Path
    out: ModelLayout
    device: torch.device
    distributed: bool
    rank: int
    train_ds: TileDataset
    val_ds: TileDataset
    in_channels: int
    size: int
    mean: list
    std: list
    model: torch.nn.Module
    net: torch.nn.Module  # the model, or its DistributedDataParallel wrapper
    optimizer: torch.optim.Optimizer
    scaler: object
    state: dict
    t_start: float = 0.0

    @property
    def amp(self) -> bool:
        return self.device.type == "cuda" and self.cfg.amp

    def minutes(self) -> float:
        """Minutes of training so far (those before a resume included)."""
        return (time.perf_counter() - self.t_start) / 60


def _init_distributed() -> tuple[bool, int]:
    """(distributed, rank) from torchrun's environment; starts the process group when distributed."""
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed:
        torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    return distributed, int(os.environ.get("RANK", "0"))


def is_corpus(folder: Path) -> bool:
    """True for a pretraining corpus folder (:mod:`lsid.corpus`: it has a manifest.json)."""
    return (Path(folder) / "manifest.json").is_file()


def _datasets(tileset: Path, cfg: TrainConfig) -> tuple[TileDataset, TileDataset]:
    """The training and validation splits of a TileSet, or the train and val areas of a corpus;
    InputDataError when there is no box to learn from."""
    from lsid.training.data import Augmented, corpus_dataset

    if is_corpus(tileset):
        train_ds = corpus_dataset(tileset, "train")
        val_ds = corpus_dataset(tileset, "val", cfg.val_max_images)
    else:
        train_ds = TileDataset(tileset, "train", cfg.split)
        val_ds = TileDataset(tileset, "val", cfg.split)
        if cfg.val_originals_only:
            val_ds.keep_originals()
        if cfg.val_max_images is not None and len(val_ds.images) > cfg.val_max_images:
            keep = np.unique(np.linspace(0, len(val_ds.images) - 1, cfg.val_max_images).round().astype(int))
            images = [val_ds.images[i] for i in keep]
            ids = {im["id"] for im in images}
            val_ds = TileDataset.from_coco(val_ds.root, {**val_ds.coco, "images": images, "annotations": [
                a for a in val_ds.coco["annotations"] if a["image_id"] in ids]})
    if cfg.augment:
        train_ds = Augmented(train_ds)
    if not train_ds.coco["annotations"]:
        raise InputDataError(f"{tileset}: the {cfg.split} training split has no landslide box, so there is nothing to "
                             f"learn; rebuild the TileSet with an inventory that overlaps the scene or lower "
                             f"tiles.label_min_signal_mm_yr")
    if not val_ds.coco["annotations"]:
        warnings.warn(f"{tileset}: the {cfg.split} validation split has no landslide box: the best epoch and early "
                      f"stopping follow the training loss instead of the validation mAP", UserWarning, stacklevel=4)
    return train_ds, val_ds


def _resume_from(last: Path, cfg: TrainConfig, in_channels: int) -> dict:
    """The checkpoint to resume from; TrainingError when it is damaged or of another model."""
    ck = load_checkpoint(last)
    if ck["model"] != cfg.model or ck["in_channels"] != in_channels:
        raise TrainingError(f"{last}: the checkpoint is of model {ck['model']!r} with {ck['in_channels']} input "
                            f"channels, but {cfg.model!r} with {in_channels} channels was asked for; use another --out "
                            f"or the matching --model / TileSet")
    return ck


def _setup(tileset: Path, out: ModelLayout, cfg: TrainConfig, resume: bool, device: str | None) -> _Run:
    """Process group, device, data, model, optimiser and counters (restored from ``last.pt`` when resuming)."""
    from lsid.models import build

    distributed, rank = _init_distributed()
    local = int(os.environ.get("LOCAL_RANK", "0"))
    dev = torch.device(device or (f"cuda:{local}" if torch.cuda.is_available() else "cpu"))
    cuda = dev.type == "cuda"
    train_ds, val_ds = _datasets(tileset, cfg)
    in_ch = int(train_ds.read(0).shape[0])
    size = int(train_ds.images[0]["width"])
    ck = _resume_from(out.last, cfg, in_ch) if resume and out.last.exists() else None
    mean, std = (ck["image_mean"], ck["image_std"]) if ck is not None else channel_stats(train_ds)
    seed_everything(cfg.seed)
    model = build(cfg.model, in_ch, size, mean, std, pretrained=cfg.pretrained,
                  **{"box_score_thresh": EVAL_SCORE_THRESHOLD, **cfg.extra}).to(dev)
    if cuda:
        model = model.to(memory_format=torch.channels_last)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    scaler = grad_scaler(cuda and cfg.amp)
    state = {"epoch": 0, "iteration": 0, "best_map": -math.inf, "best_epoch": -1, "bad_epochs": 0, "seconds": 0.0}
    if ck is not None:
        model.load_state_dict(ck["state_dict"])
        opt.load_state_dict(ck["optimizer"])
        if ck.get("scaler"):
            scaler.load_state_dict(ck["scaler"])
        state.update(ck["state"])
        set_rng_state(ck["rng"])
    out.folder.mkdir(parents=True, exist_ok=True)
    if ck is None:  # a fresh run: no history of an earlier one
        for f in (out.history, out.epochs, out.summary):
            f.unlink(missing_ok=True)
    else:  # rows written after last.pt (a kill between) are redone by the resumed run: drop them
        _trim_csv(out.history, "iteration", state["iteration"])
        _trim_csv(out.epochs, "epoch", state["epoch"])
        out.summary.unlink(missing_ok=True)
        _check_best(out, state)
    net = model
    if distributed:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[dev.index] if cuda else None)
    run = _Run(cfg, tileset, out, dev, distributed, rank, train_ds, val_ds, in_ch, size, mean, std, model, net,
               opt, scaler, state)
    run.t_start = time.perf_counter() - state["seconds"]
    return run


# ------------------------------------------------------------------------------------- one epoch
def _loader(run: _Run, epoch: int):
    """The epoch's shuffled training batches (one shard per process under DDP)."""
    cfg = run.cfg
    if run.distributed:
        sampler = torch.utils.data.DistributedSampler(run.train_ds, shuffle=True, seed=cfg.seed)
        sampler.set_epoch(epoch)
        return torch.utils.data.DataLoader(run.train_ds, cfg.batch_size, sampler=sampler, collate_fn=collate,
                                           num_workers=cfg.num_workers)
    g = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
    return torch.utils.data.DataLoader(run.train_ds, cfg.batch_size, shuffle=True, generator=g, collate_fn=collate,
                                       num_workers=cfg.num_workers)


def _train_epoch(run: _Run, progress: bool) -> tuple[list[dict], bool]:
    """One epoch (:func:`lsid.training.engine.train_one_epoch`): (its history rows, whether the time
    budget cut it). TrainingError on a non-finite loss, naming the last good checkpoint."""
    cfg, epoch = run.cfg, run.state["epoch"]
    # the budget is checked within an epoch only on one process: under DDP every rank must run the same iterations
    budget = cfg.time_budget_min
    out_of_time = None if run.distributed or budget is None else (lambda: run.minutes() >= budget)
    def lr_at(it: int) -> float:
        if cfg.schedule == "cosine":
            total = cfg.epochs * (cfg.max_iters_per_epoch or len(run.train_ds) // cfg.batch_size)
            return cosine_lr(cfg.lr, it, cfg.warmup_iters, cfg.warmup_factor, total)
        return warmup_lr(cfg.lr, it, cfg.warmup_iters, cfg.warmup_factor)

    try:
        rows, cut = train_one_epoch(
            run.net, run.optimizer, _loader(run, epoch), run.device, run.scaler, epoch=epoch,
            iteration=run.state["iteration"], lr_at=lr_at,
            max_iters=cfg.max_iters_per_epoch, amp=run.amp, out_of_time=out_of_time,
            progress=progress and run.rank == 0, desc=f"{cfg.model} epoch {epoch + 1}")
    except NonFiniteLoss as exc:
        last = run.out.last
        good = (f"the last good checkpoint (epoch {epoch}) is kept at {last}" if last.exists()
                else "no checkpoint was written")
        raise TrainingError(f"{cfg.model}: non-finite loss ({exc.value}) at epoch {epoch + 1}, iteration "
                            f"{exc.step + 1}: training stopped; {good}. Lower the learning rate (--lr) or lengthen "
                            f"the warm-up (--warmup-iters)") from None
    run.state["iteration"] += len(rows)
    return rows, cut


# ---------------------------------------------------------------------- validate and checkpoint
def _validate_and_checkpoint(run: _Run, rows: list[dict], t0: float) -> None:
    """After an epoch (rank 0): validation mAP, the best-epoch counters, history.csv and epochs.csv
    rows, ``last.pt`` and (when better) ``best.pt``. ``t0``: ``time.perf_counter()`` at the epoch's start."""
    cfg, state = run.cfg, run.state
    epoch = state["epoch"]
    state["epoch"] = epoch + 1
    if run.rank != 0:
        return
    val_map = evaluate(run.model, run.val_ds, run.device)
    train_loss = float(np.mean([r["loss"] for r in rows])) if rows else float("inf")
    # selection score: validation mAP; without a box in the validation split, minus the training loss
    score = float(val_map) if np.isfinite(val_map) else -train_loss
    improved = score > state["best_map"]
    if improved:
        state["best_map"], state["best_epoch"], state["bad_epochs"] = score, epoch + 1, 0
    else:
        state["bad_epochs"] += 1
    state["seconds"] = time.perf_counter() - run.t_start
    _append_csv(run.out.history, rows)
    _append_csv(run.out.epochs, [{"epoch": epoch + 1, "val_map50": val_map, "lr": rows[-1]["lr"] if rows else cfg.lr,
                                  "train_loss": float(np.mean([r["loss"] for r in rows])) if rows else float("nan"),
                                  "seconds": time.perf_counter() - t0}])
    ckpt = {"model": cfg.model, "in_channels": run.in_channels, "image_size": run.size, "image_mean": run.mean,
            "image_std": run.std, "state_dict": run.model.state_dict(), "optimizer": run.optimizer.state_dict(),
            "scaler": run.scaler.state_dict(), "state": dict(state), "rng": rng_state(), "config": asdict(cfg),
            "tileset": str(run.tileset), "torch": torch.__version__}
    # best before last: last.pt records which epoch is best, so it may say so only once best.pt holds it
    # (a kill between the two leaves last.pt of the epoch before, and the resumed run redoes this epoch)
    if improved:  # the selected model: weights and metadata only (resuming reads last.pt), half the size
        save({k: v for k, v in ckpt.items() if k not in ("optimizer", "scaler", "rng")}, run.out.best)
    save(ckpt, run.out.last)


def _trim_csv(path: Path, column: str, last: int) -> None:
    """Keep the rows of a history CSV whose ``column`` (epoch or iteration, counted from 1) is at most
    ``last``: what the checkpoint being resumed had seen."""
    if not path.exists():
        return
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))

    def seen(r: dict) -> bool:  # a row a kill cut short (empty or partial) is not kept either
        try:
            return int(r[column]) <= last and None not in r.values()
        except (TypeError, ValueError):
            return False

    keep = [r for r in rows if seen(r)]
    if len(keep) == len(rows):
        return
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(keep)


def _check_best(out: ModelLayout, state: dict) -> None:
    """Before resuming: ``best.pt`` must hold the epoch ``last.pt`` calls best. When it is missing or
    damaged (a kill while it was written, a deleted file), the best epoch is forgotten, so that the next
    epoch writes a new best.pt (selection then starts again from the resumed epoch)."""
    if state["best_epoch"] < 1:
        return
    try:
        held = load_checkpoint(out.best)["state"]["best_epoch"]
    except (TrainingError, KeyError, TypeError):
        held = None
    if held == state["epoch"] + 1:  # killed between best.pt and last.pt of the next epoch, which is redone
        state.update(best_map=-math.inf, best_epoch=-1, bad_epochs=0)  # (and, being better, is best again)
        return
    if held != state["best_epoch"]:
        warnings.warn(f"{out.best}: missing, damaged or not of epoch {state['best_epoch']}; the best epoch is chosen "
                      f"again from epoch {state['epoch'] + 1} on", UserWarning, stacklevel=3)
        state.update(best_map=-math.inf, best_epoch=-1, bad_epochs=0)


def _append_csv(path: Path, rows: list[dict]) -> None:
    if not rows:
        return
    new = not path.exists()
    with open(path, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        if new:
            w.writeheader()
        w.writerows(rows)


# ------------------------------------------------------------------------------------- stop rule
def _stop_rule(run: _Run, cut: bool) -> str | None:
    """Why training stops after this epoch (early stopping, the time budget), or None; under DDP rank 0
    decides and every rank gets its answer."""
    cfg = run.cfg
    stop = None
    if run.state["bad_epochs"] >= cfg.patience:
        stop = f"early stopping (no better validation mAP for {cfg.patience} epochs)"
    elif cut or (cfg.time_budget_min is not None and run.minutes() >= cfg.time_budget_min):
        stop = f"time budget of {cfg.time_budget_min:g} min" + (" (within an epoch)" if cut else "")
    if run.distributed:  # rank 0 validates and decides; every rank leaves the loop together
        flag = torch.tensor([1 if (run.rank == 0 and stop) else 0], device=run.device)
        torch.distributed.broadcast(flag, src=0)
        stop = (stop or "stopped by rank 0") if flag.item() else None
    return stop


# --------------------------------------------------------------------------------------- summary
def _summary(run: _Run, stopped: str) -> dict:
    """The run's train.json: counters, the best epoch, why it stopped, device, config, normalisation."""
    cfg, state, has_val = run.cfg, run.state, bool(run.val_ds.coco["annotations"])
    return {"model": cfg.model, "tileset": str(run.tileset), "split": cfg.split, "epochs": state["epoch"],
            "iterations": state["iteration"], "best_epoch": state["best_epoch"],
            "best_val_map50": state["best_map"] if has_val else float("nan"),
            "selected_by": "validation mAP@0.5" if has_val else "training loss",
            "stopped": stopped, "seconds": round(state["seconds"], 1), "device": str(run.device),
            "amp": bool(run.amp), "torch": torch.__version__, "config": asdict(cfg),
            "image_mean": run.mean, "image_std": run.std}


def fit(tileset: str | Path, out: str | Path, cfg: TrainConfig | None = None, resume: bool = False,
        progress: bool = True, device: str | None = None) -> dict:
    """Train ``cfg.model`` on a TileSet folder (its train split), validating every epoch; returns the
    summary that is also written to ``out/train.json`` (``seconds``: wall time, s).

    ``out``: the run folder (:class:`lsid.layout.ModelLayout` names). ``resume``: continue from
    ``last.pt`` (same model, channels and config) to the same result as an uninterrupted run.
    ``device``: e.g. ``cpu`` or ``cuda:0`` (default: the local GPU, else the CPU). Raises InputDataError
    for a TileSet with no box in its training split, and TrainingError for a damaged or mismatched
    checkpoint (nothing is overwritten) or a non-finite loss (the last good checkpoint is kept).
    """
    cfg = cfg or TrainConfig()
    run = _setup(Path(tileset), ModelLayout(out), cfg, resume, device)
    stopped = "max epochs"
    while run.state["epoch"] < cfg.epochs:
        t0 = time.perf_counter()
        rows, cut = _train_epoch(run, progress)
        _validate_and_checkpoint(run, rows, t0)
        stop = _stop_rule(run, cut)
        if stop:
            stopped = stop
            break
    summary = _summary(run, stopped)
    if run.rank == 0:
        write_text(run.out.summary, json.dumps(summary, indent=2))
    if run.distributed:
        torch.distributed.destroy_process_group()
    return summary


# ---------------------------------------------------------------------------------- command line
def build_parser() -> argparse.ArgumentParser:
    """The arguments of ``python -m lsid.train``."""
    from lsid.profiles import PROFILES

    ap = argparse.ArgumentParser(prog="python -m lsid.train", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tileset", required=True, help="a TileSet channel folder (tiles/rendered or tiles/physical)")
    ap.add_argument("--model", default="crf_faster_rcnn")
    ap.add_argument("--out", required=True, help="output folder (checkpoints, history)")
    ap.add_argument("--profile", choices=list(PROFILES), default="paper",
                    help="training values of a built-in profile (lsid.profiles.PROFILE_OVERRIDES)")
    ap.add_argument("--split", choices=["spatial", "random"], default="spatial")
    ap.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    for name in _INT_FLAGS:
        ap.add_argument(f"--{name.replace('_', '-')}", type=int)
    for name in _FLOAT_FLAGS:
        ap.add_argument(f"--{name.replace('_', '-')}", type=float)
    ap.add_argument("--pretrained", action="store_true", help="ImageNet backbone weights from the local torch cache")
    ap.add_argument("--no-amp", action="store_true")
    return ap


_INT_FLAGS = ("epochs", "batch_size", "warmup_iters", "patience", "seed", "num_workers")
_FLOAT_FLAGS = ("lr", "momentum", "weight_decay", "time_budget_min")


def cli_config(a: argparse.Namespace) -> TrainConfig:
    """The TrainConfig of parsed command-line arguments: the profile's values (:func:`profile_config`),
    then the flags given."""
    cfg = profile_config(a.profile, model=a.model, split=a.split, seed=a.seed or 0)
    kw = {name: getattr(a, name) for name in _INT_FLAGS + _FLOAT_FLAGS if getattr(a, name) is not None}
    if a.pretrained:
        kw["pretrained"] = True
    return TrainConfig(**{**asdict(cfg), **kw, "amp": not a.no_amp})


def main(argv=None) -> int:
    """``python -m lsid.train``: train one detector on a TileSet folder (see the module docstring)."""
    a = build_parser().parse_args(argv)
    s = fit(a.tileset, a.out, cli_config(a), resume=a.resume)
    print(json.dumps({k: v for k, v in s.items() if k != "config"}, indent=2))
    return 0
