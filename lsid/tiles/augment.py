"""Augmented copies of a tile: one of the seven non-identity flips / 90° rotations, plus mild noise,
with torchvision.transforms.v2 moving the boxes (tv_tensors.BoundingBoxes; no box geometry here)."""

from __future__ import annotations

import numpy as np

#: The dihedral operations an augmented copy draws from (name: (rotation deg, horizontal flip)).
OPERATIONS = {"rot90": (90, False), "rot180": (180, False), "rot270": (270, False), "hflip": (0, True),
              "vflip": (180, True), "transpose": (90, True), "antitranspose": (270, True)}


def augment(image: np.ndarray, boxes: np.ndarray, op: str, noise_std: float, seed: int,
            clip: tuple[float, float] | None) -> tuple[np.ndarray, np.ndarray]:
    """Apply ``op`` (a key of OPERATIONS) and Gaussian noise of ``noise_std`` to a float image
    (channels, rows, cols) and its (n, 4) pixel boxes (x0, y0, x1, y1). ``clip``: value range to clip
    the noisy image to (None: no clipping). Same seed, same output."""
    import torch
    from torchvision import tv_tensors
    from torchvision.transforms import v2
    from torchvision.transforms.v2 import functional as F

    angle, flip = OPERATIONS[op]
    img = tv_tensors.Image(torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)))
    bb = tv_tensors.BoundingBoxes(torch.as_tensor(np.asarray(boxes, dtype=np.float32).reshape(-1, 4)),
                                  format="XYXY", canvas_size=tuple(image.shape[-2:]))
    if flip:
        img, bb = F.horizontal_flip(img), F.horizontal_flip(bb)
    if angle:
        img, bb = F.rotate(img, angle), F.rotate(bb, angle)
    if noise_std > 0:
        torch.manual_seed(seed)
        img = v2.GaussianNoise(sigma=noise_std, clip=False)(img)
        if clip is not None:
            img = img.clamp(*clip)
    return img.numpy(), bb.numpy().reshape(-1, 4)
