"""The tiles a detector learns from: one split of a TileSet as a torch Dataset (numpy, Pillow, torch)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from lsid.errors import InputDataError
from lsid.layout import TileSetLayout


class TileDataset(torch.utils.data.Dataset):
    """One split of a TileSet: (image tensor (C, H, W) float32, target dict) pairs.

    PNG tiles are read as RGB scaled to [0, 1]; .npy tiles as they are (float16 → float32, the
    TileSet's physical units). Targets: ``boxes`` (N, 4) as x0, y0, x1, y1 in tile pixels, ``labels``
    (all 1: one class) and ``image_id``.

    ``root``: a TileSet channel folder (``tiles/rendered`` or ``tiles/physical``); ``split``:
    ``train``, ``val`` or ``test``; ``kind``: ``spatial`` (``annotations/``) or ``random``
    (``annotations/random/``). Raises InputDataError when the annotation file is missing.
    """

    def __init__(self, root: str | Path, split: str, kind: str = "spatial"):
        self.root = Path(root)
        path = TileSetLayout(self.root).annotations(split, random=kind == "random")
        if not path.is_file():
            raise InputDataError(f"{path}: no such annotation file; build the TileSet first "
                                 f"(lsid run ... --only dataset)")
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
        """Drop the augmented copies (their ground is already in the split once); returns self."""
        keep = {im["id"] for im in self.images if im.get("augmentation", "none") == "none"}
        self.images = [im for im in self.images if im["id"] in keep]
        self.coco = {**self.coco, "images": self.images,
                     "annotations": [a for a in self.coco["annotations"] if a["image_id"] in keep]}
        return self

    def read(self, i: int) -> np.ndarray:
        """Image ``i`` as a float32 array (C, H, W)."""
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
    """A batch of (image, target) pairs as (images, targets) tuples (torchvision's detectors take lists)."""
    return tuple(zip(*batch, strict=True))


def channel_stats(ds: TileDataset, max_images: int = 200) -> tuple[list[float], list[float]]:
    """Per-channel mean and standard deviation (the tiles' units: [0, 1] for PNG, the physical units
    for .npy) over up to ``max_images`` images spread evenly over ``ds``; standard deviations are at
    least 1e-3."""
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
