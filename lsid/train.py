"""Training of the detectors on a TileSet: the paper's schedule, resumable, on CPU or GPU(s).

Imports only torch, torchvision, numpy, Pillow, tqdm and lsid.models / lsid.metrics (themselves
torch- and numpy-only), so it runs on a GPU machine that has only PyTorch:

    python -m lsid.train --tileset runs/<aoi>/<profile>/tiles/rendered --model crf_faster_rcnn \\
        --out runs/<aoi>/<profile>/models/crf_faster_rcnn [--profile paper] [--resume]
    torchrun --nproc_per_node 4 -m lsid.train ...        # several GPUs (DDP)

Defaults are the paper's (§3.5): SGD, lr 0.0025, momentum 0.9, weight decay 0.001, batch 5, at most
300 epochs, validation mAP every epoch, early stopping with patience 10; plus a linear warm-up (needed
from scratch). Negative tiles (no box) are kept. Outputs in ``--out``: ``last.pt`` (every epoch,
atomic), ``best.pt`` (best validation mAP), ``history.csv`` (per iteration: the four losses and the
learning rate), ``epochs.csv`` (per epoch: validation mAP, learning rate, seconds), ``train.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from lsid.errors import InputDataError, LsidError

LOSS_KEYS = ("loss_classifier", "loss_box_reg", "loss_objectness", "loss_rpn_box_reg")
#: Score threshold of the detections scored for validation mAP (AP needs the low-score tail).
EVAL_SCORE_THRESHOLD = 0.01


class TrainingError(LsidError, RuntimeError):
    """Training cannot start or go on (bad checkpoint, mismatched model, diverged loss)."""


@dataclass
class TrainConfig:
    """One training run. Defaults: the paper's hyper-parameters (§3.5)."""

    model: str = "crf_faster_rcnn"
    split: str = "spatial"  # "spatial" (annotations/) or "random" (annotations/random/)
    epochs: int = 300
    batch_size: int = 5
    lr: float = 0.0025
    momentum: float = 0.9
    weight_decay: float = 0.001
    warmup_iters: int = 500
    warmup_factor: float = 0.001
    patience: int = 10
    seed: int = 0
    pretrained: bool = False
    amp: bool = True  # on CUDA only
    max_iters_per_epoch: int | None = None  # shorter "epochs" (smoke and cpu runs: more validation points)
    time_budget_min: float | None = None  # stop when passed (validation and checkpoint first; cpu profile)
    val_originals_only: bool = True  # validate on the original tiles, not their augmented copies
    num_workers: int = 0
    # keyword arguments of torchvision's FasterRCNN for this run (e.g. rpn_post_nms_top_n_train,
    # box_batch_size_per_image: fewer proposals and sampled RoIs make a CPU iteration cheaper)
    extra: dict = field(default_factory=dict)


#: Profiles: smoke (tests: a few iterations), cpu (an honest small run on 2 cores, ~10 min per model),
#: paper (the paper's schedule, for a GPU).
PROFILES = {
    "smoke": dict(epochs=2, max_iters_per_epoch=3, batch_size=2, warmup_iters=2, patience=2),
    # as the AOI files' cpu profile (lsid/config.py, where the choices are explained)
    "cpu": dict(epochs=300, lr=0.01, time_budget_min=10.0, warmup_iters=50, patience=10, max_iters_per_epoch=20,
                extra=dict(rpn_pre_nms_top_n_train=1000, rpn_post_nms_top_n_train=500, box_batch_size_per_image=128,
                           rpn_pre_nms_top_n_test=500, rpn_post_nms_top_n_test=300)),
    "paper": dict(),
}


# ---------------------------------------------------------------------------------------------- data
class TileDataset(torch.utils.data.Dataset):
    """One split of a TileSet: (image tensor (C, H, W) float32, target dict) pairs. PNG tiles are read
    as RGB scaled to [0, 1]; .npy tiles as they are (float16 → float32)."""

    def __init__(self, root: str | Path, split: str, kind: str = "spatial"):
        self.root = Path(root)
        path = self.root / "annotations" / ("random" if kind == "random" else "") / f"{split}.json"
        if not path.is_file():
            raise InputDataError(f"{path}: no such annotation file; build the TileSet first (lsid run ... --only dataset)")
        coco = json.loads(path.read_text())
        self.images = coco["images"]
        self.coco = coco
        boxes = {}
        for a in coco["annotations"]:
            x, y, w, h = a["bbox"]
            boxes.setdefault(a["image_id"], []).append([x, y, x + w, y + h])
        self.boxes = boxes

    def __len__(self):
        return len(self.images)

    def keep_originals(self) -> TileDataset:
        """Drop the augmented copies (their ground is already in the split once)."""
        keep = {im["id"] for im in self.images if im.get("augmentation", "none") == "none"}
        self.images = [im for im in self.images if im["id"] in keep]
        self.coco = {**self.coco, "images": self.images,
                     "annotations": [a for a in self.coco["annotations"] if a["image_id"] in keep]}
        return self

    def read(self, i: int) -> np.ndarray:
        f = self.root / self.images[i]["file_name"]
        if f.suffix == ".npy":
            return np.load(f).astype(np.float32)
        from PIL import Image

        return np.asarray(Image.open(f).convert("RGB"), dtype=np.float32).transpose(2, 0, 1) / 255.0

    def __getitem__(self, i: int):
        im = self.images[i]
        b = torch.tensor(self.boxes.get(im["id"], []), dtype=torch.float32).reshape(-1, 4)
        target = {"boxes": b, "labels": torch.ones(len(b), dtype=torch.int64), "image_id": int(im["id"])}
        return torch.from_numpy(self.read(i)), target


def collate(batch):
    return tuple(zip(*batch))


def channel_stats(ds: TileDataset, max_images: int = 200) -> tuple[list[float], list[float]]:
    """Per-channel mean and standard deviation over (up to ``max_images``, evenly spread) images."""
    idx = np.unique(np.linspace(0, len(ds) - 1, min(len(ds), max_images)).round().astype(int))
    s = s2 = None
    n = 0
    for i in idx:
        img = ds.read(int(i))
        x = img.reshape(img.shape[0], -1).astype(np.float64)
        s = x.sum(1) if s is None else s + x.sum(1)
        s2 = (x**2).sum(1) if s2 is None else s2 + (x**2).sum(1)
        n += x.shape[1]
    mean = s / n
    std = np.sqrt(np.maximum(s2 / n - mean**2, 1e-12))
    return mean.tolist(), np.maximum(std, 1e-3).tolist()


# --------------------------------------------------------------------------------------- checkpoints
def save_atomic(obj, path: Path) -> None:
    """torch.save to a temporary name in the same folder, then rename (a kill leaves the old file)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path) -> dict:
    """A checkpoint written by :func:`fit`; TrainingError when it cannot be read."""
    path = Path(path)
    try:
        ck = torch.load(path, map_location="cpu", weights_only=False)
        if not isinstance(ck, dict) or "model" not in ck or "state_dict" not in ck:
            raise ValueError("not an lsid checkpoint")
    except Exception as exc:  # torch raises many types for a damaged file
        raise TrainingError(f"{path}: the checkpoint is damaged or not an lsid checkpoint ({type(exc).__name__}: "
                            f"{exc}); delete it and train again without --resume") from None
    return ck


def model_from_checkpoint(path: str | Path | dict, device: str = "cpu", **kwargs):
    """(the detector of a checkpoint, with its weights, in eval mode; the checkpoint). ``path``: a
    checkpoint file, or a checkpoint :func:`load_checkpoint` already read."""
    from lsid.models import build

    ck = path if isinstance(path, dict) else load_checkpoint(path)
    # the run's own FasterRCNN settings (e.g. fewer proposals on CPU), then the caller's
    extra = {**dict(ck.get("config", {}).get("extra") or {}), **kwargs}
    m = build(ck["model"], ck["in_channels"], ck["image_size"], ck["image_mean"], ck["image_std"], **extra)
    m.load_state_dict(ck["state_dict"])
    return m.to(device).eval(), ck


# ------------------------------------------------------------------------------------------ training
def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _rng_state() -> dict:
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def _set_rng_state(s: dict) -> None:
    torch.set_rng_state(s["torch"])
    np.random.set_state(s["numpy"])
    random.setstate(s["python"])
    if s.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(s["cuda"])


def _lr_at(cfg: TrainConfig, it: int) -> float:
    if it >= cfg.warmup_iters:
        return cfg.lr
    a = it / max(cfg.warmup_iters, 1)
    return cfg.lr * (cfg.warmup_factor * (1 - a) + a)


def _grad_scaler(enabled: bool):
    try:
        return torch.amp.GradScaler("cuda", enabled=enabled)
    except (AttributeError, TypeError):  # older torch
        return torch.cuda.amp.GradScaler(enabled=enabled)


@torch.inference_mode()
def predict(model, ds: TileDataset, device, batch_size: int = 8) -> list[dict]:
    """COCO-style detections of a model on every image of ``ds``."""
    model.eval()
    out = []
    for start in range(0, len(ds), batch_size):
        items = [ds[i] for i in range(start, min(len(ds), start + batch_size))]
        imgs = [x.to(device) for x, _ in items]
        for (_, t), det in zip(items, model(imgs)):
            for b, s in zip(det["boxes"].float().cpu().numpy(), det["scores"].float().cpu().numpy()):
                out.append({"image_id": t["image_id"], "category_id": 1, "score": float(s),
                            "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]})
    return out


def fit(tileset: str | Path, out: str | Path, cfg: TrainConfig | None = None, resume: bool = False,
        progress: bool = True, device: str | None = None) -> dict:
    """Train ``cfg.model`` on a TileSet (its train split), validating every epoch; returns the summary.

    ``resume``: continue from ``out/last.pt`` (same model, channels and config) to the same result as an
    uninterrupted run. Raises InputDataError for a TileSet with no box in its training split, and
    TrainingError for a damaged or mismatched checkpoint (nothing is overwritten) or a non-finite loss
    (the last good checkpoint is kept).
    """
    from tqdm import tqdm

    from lsid.metrics import evaluate
    from lsid.models import build

    cfg = cfg or TrainConfig()
    out = Path(out)
    tileset = Path(tileset)
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    rank = int(os.environ.get("RANK", "0"))
    if distributed:
        torch.distributed.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        local = int(os.environ.get("LOCAL_RANK", "0"))
        if torch.cuda.is_available():
            torch.cuda.set_device(local)
    dev = torch.device(device or (f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}" if torch.cuda.is_available() else "cpu"))
    cuda = dev.type == "cuda"

    train_ds = TileDataset(tileset, "train", cfg.split)
    val_ds = TileDataset(tileset, "val", cfg.split)
    if cfg.val_originals_only:
        val_ds.keep_originals()
    if not train_ds.coco["annotations"]:
        raise InputDataError(f"{tileset}: the {cfg.split} training split has no landslide box, so there is nothing to "
                             f"learn; rebuild the TileSet with an inventory that overlaps the scene or lower "
                             f"tiles.label_min_signal_mm_yr")
    if not val_ds.coco["annotations"]:
        import warnings

        warnings.warn(f"{tileset}: the {cfg.split} validation split has no landslide box: the best epoch and early "
                      f"stopping follow the training loss instead of the validation mAP", UserWarning, stacklevel=2)
    in_ch = int(train_ds.read(0).shape[0])
    size = int(train_ds.images[0]["width"])

    last = out / "last.pt"
    ck = None
    if resume and last.exists():
        ck = load_checkpoint(last)
        if ck["model"] != cfg.model or ck["in_channels"] != in_ch:
            raise TrainingError(f"{last}: the checkpoint is of model {ck['model']!r} with {ck['in_channels']} input "
                                f"channels, but {cfg.model!r} with {in_ch} channels was asked for; use another --out "
                                f"or the matching --model / TileSet")
        mean, std = ck["image_mean"], ck["image_std"]
    else:
        mean, std = channel_stats(train_ds)
    _seed_everything(cfg.seed)
    model = build(cfg.model, in_ch, size, mean, std, pretrained=cfg.pretrained,
                  **{"box_score_thresh": EVAL_SCORE_THRESHOLD, **cfg.extra}).to(dev)
    if cuda:
        model = model.to(memory_format=torch.channels_last)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    scaler = _grad_scaler(cuda and cfg.amp)
    state = {"epoch": 0, "iteration": 0, "best_map": -math.inf, "best_epoch": -1, "bad_epochs": 0, "seconds": 0.0}
    if ck is not None:
        model.load_state_dict(ck["state_dict"])
        opt.load_state_dict(ck["optimizer"])
        if ck.get("scaler"):
            scaler.load_state_dict(ck["scaler"])
        state.update(ck["state"])
        _set_rng_state(ck["rng"])
    out.mkdir(parents=True, exist_ok=True)
    if ck is None:  # a fresh run: no history of an earlier one
        for f in ("history.csv", "epochs.csv", "train.json"):
            (out / f).unlink(missing_ok=True)
    ddp_model = model
    if distributed:
        ddp_model = torch.nn.parallel.DistributedDataParallel(model, device_ids=[dev.index] if cuda else None)

    def loader(epoch: int):
        g = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
        if distributed:
            sampler = torch.utils.data.DistributedSampler(train_ds, shuffle=True, seed=cfg.seed)
            sampler.set_epoch(epoch)
            return torch.utils.data.DataLoader(train_ds, cfg.batch_size, sampler=sampler, collate_fn=collate,
                                               num_workers=cfg.num_workers)
        return torch.utils.data.DataLoader(train_ds, cfg.batch_size, shuffle=True, generator=g, collate_fn=collate,
                                           num_workers=cfg.num_workers)

    hist_f = out / "history.csv"
    ep_f = out / "epochs.csv"
    t_start = time.perf_counter() - state["seconds"]
    stopped = "max epochs"
    while state["epoch"] < cfg.epochs:
        epoch = state["epoch"]
        ddp_model.train()
        rows = []
        t0 = time.perf_counter()
        dl = loader(epoch)
        n_it = len(dl) if cfg.max_iters_per_epoch is None else min(len(dl), cfg.max_iters_per_epoch)
        bar = tqdm(dl, total=n_it, desc=f"{cfg.model} epoch {epoch + 1}", disable=not progress or rank != 0, leave=False)
        out_of_time = False
        for k, (imgs, targets) in enumerate(bar):
            if k >= n_it:
                break
            # within an epoch only on one process: under DDP every rank must run the same iterations
            if (not distributed and cfg.time_budget_min is not None and rows
                    and (time.perf_counter() - t_start) / 60 >= cfg.time_budget_min):
                out_of_time = True
                break
            lr = _lr_at(cfg, state["iteration"])
            for gp in opt.param_groups:
                gp["lr"] = lr
            imgs = [x.to(dev) for x in imgs]
            targets = [{"boxes": t["boxes"].to(dev), "labels": t["labels"].to(dev)} for t in targets]
            with torch.autocast(device_type="cuda", dtype=torch.float16, enabled=cuda and cfg.amp):
                losses = ddp_model(imgs, targets)
                loss = sum(losses.values())
            if not torch.isfinite(loss):
                good = f"the last good checkpoint (epoch {epoch}) is kept at {last}" if last.exists() else "no checkpoint was written"
                raise TrainingError(f"{cfg.model}: non-finite loss ({float(loss)}) at epoch {epoch + 1}, iteration "
                                    f"{k + 1}: training stopped; {good}. Lower the learning rate (--lr) or lengthen "
                                    f"the warm-up (--warmup-iters)")
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            rows.append({"epoch": epoch + 1, "iteration": state["iteration"] + 1, "lr": lr,
                         **{key: float(losses[key].detach()) for key in LOSS_KEYS}, "loss": float(loss.detach())})
            state["iteration"] += 1
            bar.set_postfix(loss=f"{rows[-1]['loss']:.3f}")
        # validation (rank 0), bookkeeping, checkpoint
        state["epoch"] = epoch + 1
        val_map = float("nan")
        if rank == 0:
            dets = predict(model, val_ds, dev)
            val_map = evaluate(val_ds.coco, dets, coco=False)["voc_ap50"]
            train_loss = float(np.mean([r["loss"] for r in rows])) if rows else float("inf")
            # selection score: validation mAP; without a box in the validation split, minus the training loss
            score = float(val_map) if np.isfinite(val_map) else -train_loss
            improved = score > state["best_map"]
            if improved:
                state["best_map"], state["best_epoch"], state["bad_epochs"] = score, epoch + 1, 0
            else:
                state["bad_epochs"] += 1
            state["seconds"] = time.perf_counter() - t_start
            _append_csv(hist_f, rows)
            _append_csv(ep_f, [{"epoch": epoch + 1, "val_map50": val_map, "lr": rows[-1]["lr"] if rows else cfg.lr,
                                "train_loss": float(np.mean([r["loss"] for r in rows])) if rows else float("nan"),
                                "seconds": time.perf_counter() - t0}])
            ckpt = {"model": cfg.model, "in_channels": in_ch, "image_size": size, "image_mean": mean, "image_std": std,
                    "state_dict": model.state_dict(), "optimizer": opt.state_dict(), "scaler": scaler.state_dict(),
                    "state": dict(state), "rng": _rng_state(), "config": asdict(cfg), "tileset": str(tileset),
                    "torch": torch.__version__}
            save_atomic(ckpt, last)
            if improved:  # the selected model: weights and metadata only (resuming reads last.pt), half the size
                save_atomic({k: v for k, v in ckpt.items() if k not in ("optimizer", "scaler", "rng")},
                            out / "best.pt")
        stop = None
        if state["bad_epochs"] >= cfg.patience:
            stop = f"early stopping (no better validation mAP for {cfg.patience} epochs)"
        elif out_of_time or (cfg.time_budget_min is not None and (time.perf_counter() - t_start) / 60 >= cfg.time_budget_min):
            stop = f"time budget of {cfg.time_budget_min:g} min" + (" (within an epoch)" if out_of_time else "")
        if distributed:  # rank 0 validates and decides; every rank leaves the loop together
            flag = torch.tensor([1 if (rank == 0 and stop) else 0], device=dev)
            torch.distributed.broadcast(flag, src=0)
            stop = (stop or "stopped by rank 0") if flag.item() else None
        if stop:
            stopped = stop
            break
    summary = {"model": cfg.model, "tileset": str(tileset), "split": cfg.split, "epochs": state["epoch"],
               "iterations": state["iteration"], "best_epoch": state["best_epoch"],
               "best_val_map50": state["best_map"] if val_ds.coco["annotations"] else float("nan"),
               "selected_by": "validation mAP@0.5" if val_ds.coco["annotations"] else "training loss",
               "stopped": stopped, "seconds": round(state["seconds"], 1), "device": str(dev),
               "amp": bool(cuda and cfg.amp), "torch": torch.__version__, "config": asdict(cfg),
               "image_mean": mean, "image_std": std}
    if rank == 0:
        tmp = out / f".train.json.tmp-{os.getpid()}"
        tmp.write_text(json.dumps(summary, indent=2))
        os.replace(tmp, out / "train.json")
    if distributed:
        torch.distributed.destroy_process_group()
    return summary


def _append_csv(path: Path, rows: list[dict]) -> None:
    if not rows:
        return
    new = not path.exists()
    with open(path, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        if new:
            w.writeheader()
        w.writerows(rows)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m lsid.train", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tileset", required=True, help="a TileSet channel folder (tiles/rendered or tiles/physical)")
    ap.add_argument("--model", default="crf_faster_rcnn")
    ap.add_argument("--out", required=True, help="output folder (checkpoints, history)")
    ap.add_argument("--profile", choices=list(PROFILES), default="paper")
    ap.add_argument("--split", choices=["spatial", "random"], default="spatial")
    ap.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    for name in ("epochs", "batch_size", "warmup_iters", "patience", "seed", "num_workers"):
        ap.add_argument(f"--{name.replace('_', '-')}", type=int)
    for name in ("lr", "momentum", "weight_decay", "time_budget_min"):
        ap.add_argument(f"--{name.replace('_', '-')}", type=float)
    ap.add_argument("--pretrained", action="store_true", help="ImageNet backbone weights from the local torch cache")
    ap.add_argument("--no-amp", action="store_true")
    a = ap.parse_args(argv)
    kw = dict(PROFILES[a.profile])
    for name in ("epochs", "batch_size", "warmup_iters", "patience", "seed", "num_workers", "lr", "momentum",
                 "weight_decay", "time_budget_min"):
        if getattr(a, name) is not None:
            kw[name] = getattr(a, name)
    cfg = TrainConfig(model=a.model, split=a.split, pretrained=a.pretrained, amp=not a.no_amp, **kw)
    s = fit(a.tileset, a.out, cfg, resume=a.resume)
    print(json.dumps({k: v for k, v in s.items() if k != "config"}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
