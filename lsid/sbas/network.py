"""Small-baseline network: pair selection by baselines and coherence, and connected components."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import xarray as xr
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, minimum_spanning_tree

from lsid.errors import MESSAGE_ITEMS, InputDataError, first_of

log = logging.getLogger(__name__)


def pair_table(stack: xr.Dataset) -> pd.DataFrame:
    """One row per pair: dates, temporal baseline (days), perpendicular baseline (m) and mean
    coherence (over pixels where the phase is valid; NaN without a coherence layer)."""
    ref = pd.to_datetime(stack.reference_date.values)
    sec = pd.to_datetime(stack.secondary_date.values)
    df = pd.DataFrame({"reference_date": ref, "secondary_date": sec,
                       "temporal_baseline_days": (sec - ref).days})
    df["bperp_m"] = stack.bperp.values if "bperp" in stack.coords else np.nan
    valid = np.isfinite(stack.unwrapped_phase)
    stats = {"valid_share": valid.mean(dim=("y", "x"))}
    if "coherence" in stack:
        stats["mean_coherence"] = stack.coherence.where(valid).mean(dim=("y", "x"))
    # one pass over the stack for both statistics (two .values would read it twice)
    computed = xr.Dataset(stats).compute()
    df["mean_coherence"] = (np.asarray(computed["mean_coherence"].values, dtype=float) if "coherence" in stack
                            else np.nan)
    df["valid_share"] = np.asarray(computed["valid_share"].values, dtype=float)
    df.index.name = "pair"
    return df


def components(reference_dates, secondary_dates) -> tuple[int, np.ndarray, np.ndarray]:
    """Connected components of the network (dates are nodes, pairs edges).

    Returns (number of components, the sorted unique dates, the component label of each date).
    """
    ref = np.asarray(reference_dates).astype("datetime64[D]")
    sec = np.asarray(secondary_dates).astype("datetime64[D]")
    dates = np.union1d(ref, sec)
    i, j = np.searchsorted(dates, ref), np.searchsorted(dates, sec)
    g = coo_matrix((np.ones(i.size), (i, j)), shape=(dates.size, dates.size))
    n, labels = connected_components(g, directed=False)
    return int(n), dates, labels


#: What bridges the parts of a split network (AOI keys), for messages.
BRIDGE_OPTIONS = ("pairs that span the gap: more interferograms per date (synthetic areas: "
                  "synth.acquisitions.<orbit>.n_neighbours; your own data: form pairs across the gap) or, where the "
                  "thresholds dropped such pairs, a larger sbas.max_temporal_baseline_days (or null), a lower "
                  "sbas.min_mean_coherence, a larger sbas.max_pairs")


def describe_split(reference_dates, secondary_dates) -> str:
    """The parts of a network that splits into several connected components, in words: each part's
    date range and number of dates, and the gaps no pair spans (empty when the network is connected)."""
    n, dates, labels = components(reference_dates, secondary_dates)
    if n < 2:
        return ""
    parts = sorted((dates[labels == k][0], dates[labels == k][-1], int((labels == k).sum())) for k in range(n))
    text = ", ".join(f"{a} .. {b} ({m} date{'s' if m > 1 else ''})" for a, b, m in parts)
    gaps = []
    for k in range(1, n):
        last = max(p[1] for p in parts[:k])  # the latest date before this part starts
        if last < parts[k][0]:
            gaps.append(f"{last} -> {parts[k][0]}")
    gap = f"; no pair spans {', '.join(gaps)}" if gaps else "; the parts interleave in time, no pair links them"
    return f"the network of interferograms splits into {n} parts that no pair links: {text}{gap}"


def pairs_in_words(table: pd.DataFrame, mask, limit: int = MESSAGE_ITEMS) -> str:
    """The pairs of ``table`` (reference/secondary dates) where ``mask`` holds, as 'YYYY-MM-DD/YYYY-MM-DD'
    (at most ``limit``, then how many more)."""
    rows = table[np.asarray(mask, dtype=bool)]
    return first_of([f"{r:%Y-%m-%d}/{s:%Y-%m-%d}" for r, s in zip(rows.reference_date, rows.secondary_date)],
                    limit)


def _coherence_problem(stack: xr.Dataset, table: pd.DataFrame) -> str:
    """Why pairs have no mean coherence: no layer (and which pairs the reader found without one), or
    pairs whose coherence is NaN wherever their phase is valid."""
    if "coherence" not in stack:
        lacking = stack.attrs.get("pairs_without_coherence")
        if lacking:
            return (f"the stack has no 'coherence' layer because these pairs have no coherence file: {lacking} "
                    f"(a coherence layer needs one for every pair)")
        return "the stack has no 'coherence' layer"
    lacking = pairs_in_words(table, table.mean_coherence.isna())
    return f"these pairs have no coherence where their phase is valid: {lacking}"


def spanning_tree_pairs(table: pd.DataFrame) -> np.ndarray:
    """Boolean mask of the pairs in a maximum spanning tree of the network: the most coherent pairs
    that still connect every date (by temporal baseline when there is no coherence)."""
    dates = np.union1d(table.reference_date.values, table.secondary_date.values)
    i = np.searchsorted(dates, table.reference_date.values)
    j = np.searchsorted(dates, table.secondary_date.values)
    if table.mean_coherence.notna().all():
        cost = 1.0 + 1e-6 - table.mean_coherence.to_numpy(float)  # high coherence = low cost
    else:
        cost = table.temporal_baseline_days.to_numpy(float)
    cost = np.maximum(cost, 1e-9)
    # keep the cheapest pair between any two dates, then the minimum spanning tree of the costs
    best = {}
    for m, (a, b, w) in enumerate(zip(i, j, cost, strict=True)):
        if (a, b) not in best or w < cost[best[(a, b)]]:
            best[(a, b)] = m
    idx = np.array(list(best.values()))
    g = coo_matrix((cost[idx], (i[idx], j[idx])), shape=(dates.size, dates.size)).tocsr()
    t = minimum_spanning_tree(g).tocoo()
    rows, cols = t.row.tolist(), t.col.tolist()
    edges = set(zip(rows, cols, strict=True)) | set(zip(cols, rows, strict=True))
    mask = np.zeros(len(table), dtype=bool)
    for (a, b), m in best.items():
        if (a, b) in edges:
            mask[m] = True
    return mask


def select_network(
    stack: xr.Dataset,
    max_temporal_baseline_days: float | None = None,
    max_bperp_m: float | None = None,
    min_mean_coherence: float | None = None,
    min_valid_share: float = 0.0,
    max_pairs: int | None = None,
    keep_spanning_tree: bool = True,
) -> tuple[xr.Dataset, pd.DataFrame]:
    """Keep the pairs within baseline thresholds and above a mean coherence.

    Parameters
    ----------
    max_temporal_baseline_days : drop longer pairs (days).
    max_bperp_m : drop pairs with a larger |perpendicular baseline| (m; needs ``bperp``).
    min_mean_coherence : drop pairs whose mean coherence is lower (needs ``coherence``); the paper
        keeps 216 ascending and 238 descending pairs this way.
    min_valid_share : drop pairs with a smaller share of valid (non-NaN) pixels.
    max_pairs : after the thresholds, keep at most this many pairs: the most coherent ones (by valid
        share without coherence). Spanning-tree pairs kept for connectivity come on top.
    keep_spanning_tree : keep, whatever the thresholds, the pairs of a maximum spanning tree of the
        network by mean coherence (shortest temporal baseline without coherence), so that dropping
        pairs never splits a connected network (MintPy's keepMinSpanTree).

    Returns
    -------
    (the Stack with the kept pairs, the pair table with a ``kept`` column and the ``reason`` a pair was
    dropped). Logs a warning when the kept network splits into several components.
    """
    table = pair_table(stack)
    reason = pd.Series("", index=table.index)
    if max_temporal_baseline_days is not None:
        reason[(table.temporal_baseline_days > max_temporal_baseline_days) & (reason == "")] = "temporal baseline"
    if max_bperp_m is not None:
        if table.bperp_m.isna().all():
            raise InputDataError("max_bperp_m given but the stack has no 'bperp' coordinate")
        reason[(table.bperp_m.abs() > max_bperp_m) & (reason == "")] = "perpendicular baseline"
    if min_mean_coherence is not None:
        if table.mean_coherence.isna().all():
            raise InputDataError(
                f"sbas.min_mean_coherence is {min_mean_coherence} but {_coherence_problem(stack, table)}; supply "
                f"coherence for every pair, or set sbas.min_mean_coherence: null and sbas.weight: no")
        if table.mean_coherence.isna().any():
            log.warning("%s; they are kept without the sbas.min_mean_coherence test (give them coherence, or "
                        "remove them)", _coherence_problem(stack, table))
        reason[(table.mean_coherence < min_mean_coherence) & (reason == "")] = "coherence"
    reason[(table.valid_share <= min_valid_share) & (reason == "")] = ("no valid pixels" if min_valid_share == 0
                                                                       else "valid share")
    if max_pairs is not None:
        if max_pairs < 1:
            raise ValueError(f"max_pairs must be at least 1, got {max_pairs}")
        score = table.mean_coherence if table.mean_coherence.notna().all() else table.valid_share
        alive = np.flatnonzero((reason == "").to_numpy())
        if alive.size > max_pairs:  # stable sort: ties keep the earlier pair
            ranked = alive[np.argsort(-score.to_numpy()[alive], kind="stable")]
            reason.iloc[ranked[max_pairs:]] = "coherence rank"
    table["kept"] = reason == ""
    table["kept_for_connectivity"] = False
    if keep_spanning_tree and not table.kept.all():
        tree = spanning_tree_pairs(table)
        rescue = tree & ~table.kept.to_numpy()
        table.loc[rescue, "kept"] = True
        table.loc[rescue, "kept_for_connectivity"] = True
        reason[rescue] = ""
    table["reason"] = reason
    kept = stack.isel(pair=np.flatnonzero(table.kept.values))
    if kept.sizes["pair"] == 0:
        raise InputDataError("no pair is left after network selection: loosen the thresholds (a larger "
                             "sbas.max_temporal_baseline_days or sbas.max_bperp_m, a lower sbas.min_mean_coherence)")
    n, dates, _ = components(kept.reference_date.values, kept.secondary_date.values)
    if n > 1:
        whole = components(table.reference_date.values, table.secondary_date.values)[0]
        cause = ("the interferograms themselves do not link them: form pairs that span the gap (more "
                 "interferograms per date)" if whole > 1 else f"the thresholds split it: bridge the parts with "
                 f"{BRIDGE_OPTIONS}")
        log.warning("%s; %s. The inversion links the parts by a minimum-norm solution (no motion over the "
                    "unobserved time), so their relative displacement is not measured",
                    describe_split(kept.reference_date.values, kept.secondary_date.values), cause)
    log.info("network: kept %d of %d pairs over %d dates", kept.sizes["pair"], len(table), dates.size)
    return kept, table
