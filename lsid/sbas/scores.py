"""Numbers the SBAS chapter reports: the networks and velocity ranges of each track beside the paper's,
and, on a synthetic area, the velocity against the truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

#: Pixels whose true LOS rate reaches this are "moving" for the scores, mm/yr.
MOVING_MM_YR = 5.0


def velocity_error(d: xr.Dataset, truth: xr.Dataset, moving_mm_yr: float = MOVING_MM_YR) -> dict:
    """RMSE, bias and correlation (mm/yr) of the estimated velocity against the true one, on reliable
    pixels, with the truth referred to the same reference pixel; ``rmse_moving_mm_yr`` and
    ``corr_moving`` on pixels whose true |rate| reaches ``moving_mm_yr``. Also returns the referred
    truth (``truth``, mm/yr) and the mask of pixels scored (``mask``)."""
    r, c = d.attrs["reference_row"], d.attrs["reference_col"]
    tv = truth.velocity.values - truth.velocity.values[r, c]
    ok = d.valid.values & np.isfinite(d.velocity.values)
    e = d.velocity.values[ok] - tv[ok]
    moving = ok & (np.abs(tv) >= moving_mm_yr)
    em = d.velocity.values[moving] - tv[moving]
    return {"pixels": int(ok.sum()), "rmse_mm_yr": float(np.sqrt(np.mean(e**2))), "bias_mm_yr": float(np.mean(e)),
            "rmse_moving_mm_yr": float(np.sqrt(np.mean(em**2))) if em.size else np.nan,
            "corr_moving": float(np.corrcoef(d.velocity.values[moving], tv[moving])[0, 1]) if em.size > 2 else np.nan,
            "truth": tv, "mask": ok}


def network_table(summaries: dict[str, dict], paper_pairs: dict[str, int]) -> pd.DataFrame:
    """Per track: dates, pairs formed and kept (beside the paper's kept pairs), network components,
    reliable pixels (%) and inversion time (s), from the SBAS summaries."""
    rows = [{"track": o, "dates": sm["dates"], "pairs formed": sm["pairs_total"], "pairs kept": sm["pairs_kept"],
             "paper: pairs kept": paper_pairs[o], "network components": sm["network_components"],
             "reliable pixels (%)": round(100 * sm["valid_share"], 1), "inversion time (s)": sm["seconds"]}
            for o, sm in summaries.items()]
    return pd.DataFrame(rows).set_index("track")


def velocity_range_table(summaries: dict[str, dict], paper_fastest: dict[str, float]) -> pd.DataFrame:
    """Per track: min, 1st and 99th percentile and max of the reliable velocities (mm/yr), beside the
    paper's fastest motion away from the satellite."""
    return pd.DataFrame([{"track": o, "min (mm/yr)": sm["velocity_min_mm_yr"],
                          "1st percentile (mm/yr)": sm["velocity_p1_mm_yr"],
                          "99th percentile (mm/yr)": sm["velocity_p99_mm_yr"], "max (mm/yr)": sm["velocity_max_mm_yr"],
                          "paper: fastest away (mm/yr)": paper_fastest[o]} for o, sm in summaries.items()]
                        ).set_index("track").round(1)


def truth_table(defs: dict[str, xr.Dataset], truths: dict[str, xr.Dataset]) -> pd.DataFrame:
    """Per track: pixels scored, RMSE and bias (mm/yr), RMSE and correlation on moving pixels."""
    rows = []
    for o, d in defs.items():
        e = velocity_error(d, truths[o])
        rows.append({"track": o, "pixels": e["pixels"], "RMSE (mm/yr)": e["rmse_mm_yr"],
                     "bias (mm/yr)": e["bias_mm_yr"],
                     f"RMSE where |v| ≥ {MOVING_MM_YR:g} mm/yr": e["rmse_moving_mm_yr"],
                     f"correlation where |v| ≥ {MOVING_MM_YR:g}": e["corr_moving"]})
    return pd.DataFrame(rows).set_index("track").round(2)
