"""Train / validation / test splits: by ground blocks (leak-free), and tile by tile (the leaky way)."""

from __future__ import annotations

import numpy as np

SPLITS = ("train", "val", "test")


def assign_blocks(block_weights: dict, shares=(0.7, 0.15, 0.15), seed: int = 0) -> dict:
    """Split name per ground block. Blocks are taken in a seeded random order and each goes to the
    split furthest below its share of the total weight so far (weights: e.g. positive tiles per
    block), so the splits reach their shares of the data, not just of the ground."""
    rng = np.random.default_rng(seed)
    keys = sorted(block_weights)
    order = [keys[i] for i in rng.permutation(len(keys))]
    got = np.zeros(len(SPLITS))
    out = {}
    for k in order:
        w = float(block_weights[k])
        total = got.sum() + w
        deficit = np.asarray(shares) * total - got
        s = int(np.argmax(deficit))
        out[k] = SPLITS[s]
        got[s] += w
    return out


def random_split(n: int, shares=(0.7, 0.15, 0.15), seed: int = 0) -> np.ndarray:
    """Split name per item, tile by tile at random (what the paper probably did: near-duplicate tiles
    of the same ground on other dates land in other splits, so test scores leak)."""
    rng = np.random.default_rng(seed)
    cut = np.round(np.cumsum(shares)[:-1] * n).astype(int)
    names = np.empty(n, dtype=object)
    perm = rng.permutation(n)
    for s, part in zip(SPLITS, np.split(perm, cut)):
        names[part] = s
    return names
