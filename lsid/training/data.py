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
    (all 1: one class), ``image_id`` and ``ignore_boxes`` (K, 4): the ignore regions (objects the map
    cannot show, :mod:`lsid.tiles.labels`), which the detectors' losses leave out
    (:mod:`lsid.models.ignore`).

    ``root``: a TileSet channel folder (``tiles/rendered`` or ``tiles/physical``); ``split``:
    ``train``, ``val`` or ``test``; ``kind``: ``spatial`` (``annotations/``) or ``random``
    (``annotations/random/``). Raises InputDataError when the annotation file is missing.
    """

    def __init__(self, root: str | Path, split: str, kind: str = "spatial"):
        path = TileSetLayout(Path(root)).annotations(split, random=kind == "random")
        if not path.is_file():
            raise InputDataError(f"{path}: no such annotation file; build the TileSet first "
                                 f"(lsid run ... --only dataset)")
        self._index(Path(root), json.loads(path.read_text()))

    @classmethod
    def from_coco(cls, root: str | Path, coco: dict) -> TileDataset:
        """A dataset of the images of a COCO dict, their ``file_name`` relative to ``root``."""
        ds = cls.__new__(cls)
        ds._index(Path(root), coco)
        return ds

    def _index(self, root: Path, coco: dict) -> None:
        self.root = root
        self.images = coco["images"]
        self.coco = coco
        boxes, ignore = {}, {}
        for a in coco["annotations"]:
            x, y, w, h = a["bbox"]
            into = ignore if (a.get("ignore", 0) or a.get("iscrowd", 0)) else boxes
            into.setdefault(a["image_id"], []).append([x, y, x + w, y + h])
        self.boxes, self.ignore = boxes, ignore

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
        ig = torch.tensor(self.ignore.get(im["id"], []), dtype=torch.float32).reshape(-1, 4)
        target = {"boxes": b, "labels": torch.ones(len(b), dtype=torch.int64), "image_id": int(im["id"]),
                  "ignore_boxes": ig}
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


def corpus_dataset(root: str | Path, split: str, max_images: int | None = None, seed: int = 0) -> TileDataset:
    """The tiles of every area of one ``split`` (train, val, test) of a corpus (:mod:`lsid.corpus`), as one
    TileDataset (image ids renumbered across areas; each image keeps its ``area``). ``max_images``: at
    most that many, drawn evenly (a quicker validation). InputDataError when there is no manifest or no
    area of that split."""
    root = Path(root)
    path = root / "manifest.json"
    if not path.is_file():
        raise InputDataError(f"{path}: no corpus manifest; build the corpus first (lsid corpus --root {root})")
    manifest = json.loads(path.read_text())
    areas = [a for a in manifest["areas"] if a["split"] == split]
    if not areas:
        raise InputDataError(f"{path}: the corpus has no {split} area; build more areas (lsid corpus --areas N)")
    images, anns = [], []
    for a in areas:
        coco = json.loads((root / a["folder"] / "tiles" / "annotations" / "all.json").read_text())
        new_id = {}
        for im in coco["images"]:
            new_id[im["id"]] = len(images)
            images.append({**im, "id": len(images), "file_name": f"{a['folder']}/tiles/{im['file_name']}",
                           "area_index": a["index"]})
        for an in coco["annotations"]:
            anns.append({**an, "id": len(anns) + 1, "image_id": new_id[an["image_id"]]})
    if max_images is not None and len(images) > max_images:
        keep = set(np.unique(np.linspace(0, len(images) - 1, max_images).round().astype(int)).tolist())
        images = [im for im in images if im["id"] in keep]
        anns = [an for an in anns if an["image_id"] in keep]
    coco = {"info": {"description": f"lsid corpus {root} ({split})", "corpus_digest": manifest.get("digest")},
            "licenses": [], "categories": [{"id": 1, "name": "landslide"}], "images": images, "annotations": anns}
    return TileDataset.from_coco(root, coco)


#: The dihedral operations of online augmentation (name: (rotation deg, horizontal flip)), identity included.
DIHEDRAL = {"none": (0, False), "rot90": (90, False), "rot180": (180, False), "rot270": (270, False),
            "hflip": (0, True), "vflip": (180, True), "transpose": (90, True), "antitranspose": (270, True)}


class Augmented(torch.utils.data.Dataset):
    """``ds`` with online augmentation for pretraining on the ``normalised`` channels: a random dihedral
    operation (torchvision.transforms.v2 moves the boxes and the ignore regions), and missing evidence
    as a user's map has it: with probability ``p_no_dem`` the slope channel is zero (a map without a
    DEM) and with ``p_no_coherence`` the coherence channel is 1 on every pixel with a value (a velocity
    GeoTIFF without coherence). Randomness from torch's generator (seeded by the training run)."""

    def __init__(self, ds: TileDataset, p_no_dem: float = 0.15, p_no_coherence: float = 0.15):
        self.ds, self.p_no_dem, self.p_no_coherence = ds, p_no_dem, p_no_coherence
        self.images, self.coco = ds.images, ds.coco

    def __len__(self):
        return len(self.ds)

    def read(self, i: int) -> np.ndarray:
        return self.ds.read(i)

    def __getitem__(self, i: int):
        from torchvision import tv_tensors
        from torchvision.transforms.v2 import functional as F

        img, target = self.ds[i]
        u = torch.rand(3)
        angle, flip = list(DIHEDRAL.values())[int(u[0] * len(DIHEDRAL)) % len(DIHEDRAL)]
        size = tuple(img.shape[-2:])
        x = tv_tensors.Image(img)
        sets = {k: tv_tensors.BoundingBoxes(target[k], format="XYXY", canvas_size=size)
                for k in ("boxes", "ignore_boxes")}
        if flip:
            x, sets = F.horizontal_flip(x), {k: F.horizontal_flip(b) for k, b in sets.items()}
        if angle:
            x, sets = F.rotate(x, angle), {k: F.rotate(b, angle) for k, b in sets.items()}
        x = x.as_subclass(torch.Tensor).clone()
        if x.shape[0] == 3:
            if u[1] < self.p_no_dem:
                x[2] = 0
            if u[2] < self.p_no_coherence:
                x[1] = (x[1] > 0).to(x.dtype)
        return x, {**target, **{k: b.as_subclass(torch.Tensor).reshape(-1, 4) for k, b in sets.items()}}
