"""One epoch of training, validation mAP and prediction, as torchvision's detection references
(``references/detection/engine.py``) split them; plus the warm-up learning-rate schedule and the
gradient scaler (AMP on CUDA).

torch, torchvision, numpy and tqdm only (and lsid.metrics, numpy only, for the validation mAP).
"""

from __future__ import annotations

import math
from typing import Callable, Iterable

import torch

from lsid.training.checkpoints import TrainingError
from lsid.training.data import TileDataset

#: The four losses of torchvision's Faster R-CNN, in the order of ``history.csv``.
LOSS_KEYS = ("loss_classifier", "loss_box_reg", "loss_objectness", "loss_rpn_box_reg")
#: Score threshold of the detections scored for validation mAP (AP needs the low-score tail).
EVAL_SCORE_THRESHOLD = 0.01


class NonFiniteLoss(TrainingError):
    """The loss of an iteration is NaN or infinite (``value``; ``step``: the 0-based iteration of the epoch)."""

    def __init__(self, value: float, step: int):
        super().__init__(f"non-finite loss ({value}) at iteration {step + 1} of the epoch")
        self.value, self.step = value, step


def warmup_lr(base_lr: float, iteration: int, warmup_iters: int, warmup_factor: float) -> float:
    """Learning rate at ``iteration`` (0-based, counted over the whole run): linear from
    ``base_lr * warmup_factor`` to ``base_lr`` over ``warmup_iters`` iterations, then ``base_lr``."""
    if iteration >= warmup_iters:
        return base_lr
    a = iteration / max(warmup_iters, 1)
    return base_lr * (warmup_factor * (1 - a) + a)


def cosine_lr(base_lr: float, iteration: int, warmup_iters: int, warmup_factor: float, total_iters: int,
              final_factor: float = 0.01) -> float:
    """:func:`warmup_lr`, then a cosine decay from ``base_lr`` to ``base_lr * final_factor`` at
    ``total_iters`` (and that value after it)."""
    if iteration < warmup_iters:
        return warmup_lr(base_lr, iteration, warmup_iters, warmup_factor)
    a = min(1.0, (iteration - warmup_iters) / max(total_iters - warmup_iters, 1))
    return base_lr * (final_factor + (1 - final_factor) * 0.5 * (1 + math.cos(math.pi * a)))


def grad_scaler(enabled: bool):
    """A CUDA gradient scaler (a no-op when not ``enabled``), on new and older torch alike."""
    try:
        return torch.amp.GradScaler("cuda", enabled=enabled)
    except (AttributeError, TypeError):  # older torch
        return torch.cuda.amp.GradScaler(enabled=enabled)


def train_one_epoch(model, optimizer, loader: Iterable, device, scaler, *, epoch: int, iteration: int,
                    lr_at: Callable[[int], float], max_iters: int | None = None, amp: bool = False,
                    out_of_time: Callable[[], bool] | None = None, progress: bool = False,
                    desc: str = "") -> tuple[list[dict], bool]:
    """Train ``model`` for one pass over ``loader`` (at most ``max_iters`` batches).

    ``epoch``: 0-based number of this epoch; ``iteration``: iterations done before it (the learning rate
    of each iteration is ``lr_at(iteration)``); ``amp``: float16 autocast (CUDA); ``out_of_time``:
    asked before every iteration but the first, the epoch ends early when it says True.
    Returns (one row per iteration: epoch and iteration (1-based), lr, the four losses and their sum;
    whether the epoch was cut by ``out_of_time``). Raises NonFiniteLoss before a step on a NaN loss.
    """
    from tqdm import tqdm

    model.train()
    rows: list[dict] = []
    n_it = len(loader) if max_iters is None else min(len(loader), max_iters)
    bar = tqdm(loader, total=n_it, desc=desc, disable=not progress, leave=False)
    for k, (imgs, targets) in enumerate(bar):
        if k >= n_it:
            break
        if rows and out_of_time is not None and out_of_time():
            return rows, True
        lr = lr_at(iteration)
        for group in optimizer.param_groups:
            group["lr"] = lr
        imgs = [x.to(device) for x in imgs]
        targets = [{k: t[k].to(device) for k in ("boxes", "labels", "ignore_boxes") if k in t} for t in targets]
        with torch.autocast(device_type="cuda", dtype=torch.float16, enabled=amp):
            losses = model(imgs, targets)
            loss = sum(losses.values())
        if not torch.isfinite(loss):
            raise NonFiniteLoss(float(loss.detach()), k)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        iteration += 1
        rows.append({"epoch": epoch + 1, "iteration": iteration, "lr": lr,
                     **{key: float(losses[key].detach()) for key in LOSS_KEYS}, "loss": float(loss.detach())})
        bar.set_postfix(loss=f"{rows[-1]['loss']:.3f}")
    return rows, False


@torch.inference_mode()
def predict(model, ds: TileDataset, device, batch_size: int = 8) -> list[dict]:
    """COCO-style detections (``bbox`` x, y, width, height in tile pixels; ``score``) of ``model`` on
    every image of ``ds``; the model is put in eval mode."""
    model.eval()
    out = []
    for start in range(0, len(ds), batch_size):
        items = [ds[i] for i in range(start, min(len(ds), start + batch_size))]
        imgs = [x.to(device) for x, _ in items]
        for (_, t), det in zip(items, model(imgs), strict=True):
            for b, s in zip(det["boxes"].float().cpu().numpy(), det["scores"].float().cpu().numpy(), strict=True):
                out.append({"image_id": t["image_id"], "category_id": 1, "score": float(s),
                            "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]})
    return out


def evaluate(model, ds: TileDataset, device) -> float:
    """Validation mAP: the VOC AP at IoU 0.5 (all-point interpolation, one class) of ``model`` on
    ``ds``; NaN when ``ds`` has no box. No pycocotools needed."""
    from lsid.metrics import evaluate as score

    return score(ds.coco, predict(model, ds, device), coco=False)["voc_ap50"]
