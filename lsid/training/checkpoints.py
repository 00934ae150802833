"""Checkpoints of a training run: atomic writes, checked reads, the detector of a checkpoint, and the
random-number state that makes a resumed run end where an uninterrupted one does.

A checkpoint is a dict: ``model`` (a name of lsid.models.REGISTRY), ``in_channels``, ``image_size``
(px), ``image_mean`` / ``image_std`` (per channel, the tiles' units), ``state_dict``, ``config`` (the
TrainConfig as a dict), ``tileset`` (its folder), ``state`` (the run's counters), ``torch``; ``last.pt``
adds ``optimizer``, ``scaler`` and ``rng`` (what resuming needs).
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import torch

from lsid.errors import LsidError
from lsid.io.atomic import atomic_path


class TrainingError(LsidError, RuntimeError):
    """Training cannot start or go on (bad checkpoint, mismatched model, diverged loss)."""


class CheckpointDamaged(TrainingError):
    """A checkpoint file cannot be read (truncated by a kill or a full disk, or not an lsid checkpoint)."""


def save(obj, path: str | Path) -> Path:
    """``torch.save`` of ``obj`` to ``path`` atomically (a kill leaves the old file); returns the path."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return Path(path)


def load_checkpoint(path: str | Path) -> dict:
    """A checkpoint written by :func:`lsid.training.fit`; TrainingError when it cannot be read."""
    path = Path(path)
    try:
        ck = torch.load(path, map_location="cpu", weights_only=False)
        if not isinstance(ck, dict) or "model" not in ck or "state_dict" not in ck:
            raise ValueError("not an lsid checkpoint")
    except Exception as exc:  # torch raises many types for a damaged file
        raise CheckpointDamaged(f"{path}: the checkpoint is damaged or not an lsid checkpoint ({type(exc).__name__}: "
                            f"{exc}); delete it and train again without --resume") from None
    return ck


def model_from_checkpoint(path: str | Path | dict, device: str = "cpu", **kwargs):
    """(the detector of a checkpoint, with its weights, in eval mode on ``device``; the checkpoint).

    ``path``: a checkpoint file, or a checkpoint :func:`load_checkpoint` already read. ``kwargs``:
    FasterRCNN keyword arguments over the run's own (``config["extra"]``), e.g. ``box_score_thresh``.
    """
    from lsid.models import build

    ck = path if isinstance(path, dict) else load_checkpoint(path)
    # the run's own FasterRCNN settings (e.g. fewer proposals on CPU), then the caller's
    extra = {**dict(ck.get("config", {}).get("extra") or {}), **kwargs}
    m = build(ck["model"], ck["in_channels"], ck["image_size"], ck["image_mean"], ck["image_std"], **extra)
    m.load_state_dict(ck["state_dict"])
    return m.to(device).eval(), ck


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's and torch's global generators."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict:
    """The state of every global generator (torch, numpy, Python, CUDA when present)."""
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def set_rng_state(s: dict) -> None:
    """Restore what :func:`rng_state` returned."""
    torch.set_rng_state(s["torch"])
    np.random.set_state(s["numpy"])
    random.setstate(s["python"])
    if s.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(s["cuda"])
