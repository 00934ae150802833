"""Train / validation / test splits: by ground blocks (leak-free), and tile by tile (the leaky way)."""

from __future__ import annotations

import numpy as np

SPLITS = ("train", "val", "test")


def assign_blocks(block_weights: dict, shares=(0.7, 0.15, 0.15), seed: int = 0) -> dict:
    """Split name per ground block. ``block_weights`` maps a block to a number or a vector of counts
    (e.g. positive and negative tiles). Blocks are taken in a seeded random order (so a split's
    ground is not biased to big or small blocks) and each goes to the split furthest below its
    shares, summed over the count kinds relative to their totals, so each split gets near its share
    of positives and of negatives, not just of the ground."""
    rng = np.random.default_rng(seed)
    keys = sorted(block_weights)
    W = np.array([np.atleast_1d(np.asarray(block_weights[k], dtype=float)) for k in keys])
    totals = np.maximum(W.sum(axis=0), 1e-12)
    order = rng.permutation(len(keys))
    target = np.asarray(shares, dtype=float)[:, None] * totals[None, :]
    got = np.zeros((len(SPLITS), W.shape[1]))
    out = {}
    for i in order:
        deficit = ((target - got) / totals).sum(axis=1)
        s = int(np.argmax(deficit))
        out[keys[i]] = SPLITS[s]
        got[s] += W[i]
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
