"""What the study-area chapter says about a synthetic area: its landslides and distractors, which
track sees which landslide, and what one interferogram is made of."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lsid.layout import RunLayout

#: The temporal baseline of the example pairs, days (a typical short pair of the network).
EXAMPLE_SPAN_DAYS = 48


def source_table(layout: RunLayout) -> pd.DataFrame:
    """Counts, smallest / largest downslope length (m) and slowest / fastest rate (mm/yr) of the
    landslide bodies, their reactivated parts and the distractors of a synthetic area's truth."""
    import geopandas as gpd

    slides = gpd.read_file(layout.true_landslides)
    distractors = gpd.read_file(layout.true_distractors)
    bodies = slides[slides.kind != "reactivated"]
    parts = slides[slides.kind == "reactivated"]
    dis_rate = distractors.rate_mm_yr if len(distractors) else pd.Series([np.nan])
    return pd.DataFrame({
        "count": [len(bodies), len(parts), len(distractors)],
        "smallest (m)": [bodies.length_m.min(), parts.length_m.min(), np.nan],
        "largest (m)": [bodies.length_m.max(), parts.length_m.max(), np.nan],
        "rate min (mm/yr)": [bodies.rate_mm_yr.min(), parts.rate_mm_yr.min(), dis_rate.min()],
        "rate max (mm/yr)": [bodies.rate_mm_yr.max(), parts.rate_mm_yr.max(), dis_rate.max()],
    }, index=["landslide bodies", "reactivated parts", "distractors (not landslides)"]).round(1)


def visibility_table(layout: RunLayout) -> pd.DataFrame:
    """Landslides seen / nearly invisible in each track (the truth's ``visible_<orbit>`` flags), as an
    ascending × descending cross table."""
    import geopandas as gpd

    slides = gpd.read_file(layout.true_landslides)
    words = {True: "seen", False: "nearly invisible"}
    vis = pd.crosstab(slides.visible_ascending.map(words), slides.visible_descending.map(words))
    vis.index.name, vis.columns.name = "ascending", "descending"
    return vis


def example_pairs(cfg, span_days: float = EXAMPLE_SPAN_DAYS) -> tuple[dict, dict]:
    """({orbit: the components of the pair whose span is closest to ``span_days``, rad}, {orbit: its
    title}) of the synthetic area ``cfg``, simulated again (the stacks hold only their sum)."""
    from lsid.synth import OrbitSimulator, Scene

    scene = Scene.build(cfg)
    components, titles = {}, {}
    for orbit in ("ascending", "descending"):
        sim = OrbitSimulator(scene, orbit)
        span = (sim.secondary_dates - sim.reference_dates).astype(int)
        k = int(np.argmin(np.abs(span - span_days)))
        components[orbit] = sim.pair_components(k)
        titles[orbit] = f"{orbit}\n{sim.reference_dates[k]} → {sim.secondary_dates[k]}"
    return components, titles


def component_table(components: dict) -> pd.DataFrame:
    """Per track: the standard deviation (rad) of each phase component of the example pair, and the
    share of NaN (not unwrapped) pixels of its total."""
    rows = [{"track": orbit, **{f"std {k} (rad)": float(np.nanstd(v)) for k, v in c.items() if k != "coherence"},
             "NaN share": float(np.isnan(c["total"]).mean())} for orbit, c in components.items()]
    return pd.DataFrame(rows).set_index("track").round(2)
