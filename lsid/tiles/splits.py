"""Train / validation / test splits: by ground blocks (leak-free), and tile by tile (the leaky way)."""

from __future__ import annotations

import numpy as np

SPLITS = ("train", "val", "test")


def assign_blocks(block_weights: dict, shares=(0.7, 0.15, 0.15), seed: int = 0) -> dict:
    """Split name per ground block. ``block_weights`` maps a block to a number or a vector of counts
    (e.g. positive and negative tiles). Blocks are taken in a seeded random order (a split's ground is
    not biased to big or small blocks); each goes to the split missing the largest fraction of its
    target in the kinds of count the block holds (ties: the larger split), so that every split gets
    positives early, not only what the training split leaves over. No blocks (no kept tile): ``{}``."""
    rng = np.random.default_rng(seed)
    keys = sorted(block_weights)
    if not keys:
        return {}
    W = np.array([np.atleast_1d(np.asarray(block_weights[k], dtype=float)) for k in keys])
    target = np.asarray(shares, dtype=float)[:, None] * W.sum(axis=0)[None, :]
    got = np.zeros_like(target)
    out = {}
    for i in rng.permutation(len(keys)):
        holds = W[i] > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            missing = np.where(target > 0, (target - got) / target, -np.inf)
        score = missing[:, holds].sum(axis=1) if holds.any() else missing.sum(axis=1)
        score = np.where(np.asarray(shares) > 0, score, -np.inf)
        best = np.flatnonzero(score == score.max())
        s = int(best[np.argmax(np.asarray(shares)[best])])
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
