"""The ranges a corpus area's parameters are drawn from, and the draw.

Every area of the corpus is an AOI parameter set (:class:`lsid.config.AOIConfig`) drawn at random from
the ranges below, with the area's seed, so that one seed gives one area, always. The ranges span what
the detector must meet on real maps (issue 13): relief and valley shape; pixel size from a Sentinel-1
multilook of 15 m to a LiCSAR-like 100 m; slides from a hundred metres to 3 km and from 3 mm/yr to
150 mm/yr, seasonal or accelerating, with giant bodies; every distractor kind at random strength
(terrace compaction, subsiding settlements, excavations, dam settlement); atmosphere from calm to
stormy, with ramps and DEM error; coherence from bare rock to forest, with unwrapping errors; 2-4 years
of dates at 12 or 24 days, networks of 2-4 neighbours; incidence across the IW swath (30-46°) and both
headings.

A range is ``(low, high)`` drawn uniformly, ``("log", low, high)`` drawn log-uniformly, or a tuple of
choices ``("choice", a, b, ...)``; integers where both ends are integers. Seeds: the corpus uses
``SEED_BASE + i`` for area ``i`` (a range no AOI file in data/aoi uses: tests/test_corpus.py checks).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

#: First seed of the corpus; areas are SEED_BASE + 0, 1, 2, ... (AOI files use small seeds).
SEED_BASE = 1_000_000_000
#: The last seed the corpus may use (SEED_BASE + 10^8 - 1).
SEED_END = SEED_BASE + 100_000_000
#: Extent of an area, km (its pixel count follows from the drawn pixel size, within NATIVE_PX).
EXTENT_KM = (9.0, 18.0)
#: Smallest and largest number of native pixels along a side (bounds the cost of an area).
NATIVE_PX = (256, 560)

RANGES: dict[str, dict[str, tuple]] = {
    "grid": {"pixel_size_m": ("log", 15.0, 100.0)},
    "terrain": {
        "relief_m": (600.0, 3000.0), "bank_slope_deg": (15.0, 45.0), "meander_amplitude": (0.0, 0.25),
        "n_gullies": (0, 24), "roughness_m": (40.0, 300.0), "roughness_beta": (2.6, 3.8),
        "n_terraces": (0, 12), "dem_error_std_m": (0.0, 20.0), "dam_position": (0.6, 0.95),
        "reservoir_rise_m": (0.0, 250.0),  # reservoir level above the southern river bed, m
    },
    "landslides": {
        "density_per_km2": (0.08, 0.35),  # slides per km² of the area (count = density x area)
        "min_length_m": ("log", 80.0, 300.0), "max_length_m": ("log", 800.0, 3000.0),
        "min_velocity_mm_yr": (3.0, 8.0), "max_velocity_mm_yr": ("log", 20.0, 150.0),
        "n_giant": (0, 2), "accelerating_fraction": (0.0, 0.4), "max_seasonal_amplitude": (0.0, 1.0),
        "min_slope_deg": (10.0, 22.0),
    },
    "distractors": {
        "n_subsiding_terraces": (0, 6), "terrace_subsidence_mm_yr": (5.0, 60.0), "n_settlements": (0, 5),
        "settlement_subsidence_mm_yr": (3.0, 40.0), "n_excavations": (0, 3), "excavation_rate_mm_yr": (20.0, 200.0),
        "dam_settlement_mm_yr": (0.0, 30.0), "dam_seasonal_mm": (0.0, 12.0),
    },
    "atmosphere": {
        "turbulence_std_mm": ("log", 1.5, 15.0), "turbulence_beta": (2.2, 3.3),
        "turbulence_outer_scale_km": (10.0, 60.0), "wet_season_factor": (1.0, 2.5),
        "stratified_seasonal_mm_per_km": (0.0, 25.0), "stratified_random_mm_per_km": (0.0, 12.0),
        "ramp_std_mm": (0.0, 15.0),
    },
    "coherence": {
        "looks": (5, 50), "bare_gamma0": (0.75, 0.96), "bare_gamma_inf": (0.2, 0.6),
        "bare_tau_days": (150.0, 800.0), "vegetation_gamma0": (0.5, 0.85), "vegetation_tau_days": (10.0, 60.0),
        "snow_line_m": (2500.0, 5000.0), "unwrapping_error_fraction": (0.0, 0.25),
    },
    "acquisitions": {
        "start_year": (2015, 2021), "years": (2, 4), "repeat_days": ("choice", 12, 24), "n_neighbours": (2, 4),
        "dates_per_year": (12, 20), "incidence_deg": (30.0, 46.0),
        "ascending_heading_deg": (-16.0, -8.0), "descending_heading_deg": (-172.0, -164.0),
    },
}


def _draw(rng: np.random.Generator, spec: tuple):
    if spec[0] == "log":
        return float(np.exp(rng.uniform(np.log(spec[1]), np.log(spec[2]))))
    if spec[0] == "choice":
        return spec[1 + int(rng.integers(len(spec) - 1))]
    lo, hi = spec
    if isinstance(lo, int) and isinstance(hi, int):
        return int(rng.integers(lo, hi + 1))
    return float(rng.uniform(lo, hi))


def draw(seed: int) -> dict[str, dict]:
    """The drawn values of :data:`RANGES` for the area of ``seed`` (same seed, same values)."""
    rng = np.random.default_rng([int(seed), 77])
    return {section: {k: _draw(rng, spec) for k, spec in specs.items()} for section, specs in RANGES.items()}


def area_parameters(seed: int) -> dict:
    """The AOI parameters (a dict for :func:`lsid.config.validate`) of the corpus area of ``seed``."""
    d = draw(seed)
    px = d["grid"]["pixel_size_m"]
    rng = np.random.default_rng([int(seed), 78])
    shape = [int(np.clip(round(rng.uniform(*EXTENT_KM) * 1000 / px), *NATIVE_PX)) for _ in range(2)]
    area_km2 = shape[0] * shape[1] * px * px / 1e6
    t, ls, acq = d["terrain"], d["landslides"], d["acquisitions"]
    count = max(4, int(round(ls.pop("density_per_km2") * area_km2)))
    ls["n_giant"] = min(ls["n_giant"], count)
    rise = t.pop("reservoir_rise_m")
    start = dt.date(acq["start_year"], 1, 1)
    end = dt.date(acq["start_year"] + acq["years"], 1, 1) - dt.timedelta(days=1)
    available = (end - start).days // acq["repeat_days"] + 1
    orbits = {}
    for k, orbit in enumerate(("ascending", "descending")):
        n = int(min(available, round(acq["dates_per_year"] * acq["years"] * (1 + 0.2 * (k - 0.5)))))
        orbits[orbit] = {"n_dates": max(n, 12), "repeat_days": acq["repeat_days"],
                         "n_neighbours": acq["n_neighbours"],
                         "incidence_deg": acq["incidence_deg"] + (2.5 if orbit == "ascending" else -2.5),
                         "heading_deg": acq[f"{orbit}_heading_deg"]}
    orbits = {o: {**v, "n_dates": min(v["n_dates"], available)} for o, v in orbits.items()}
    return {
        "name": f"corpus-{seed - SEED_BASE:06d}", "title": f"corpus area {seed - SEED_BASE} (synthetic)",
        "synthetic": True, "seed": int(seed),
        "synth": {
            "grid": {"shape": shape, "pixel_size_m": px},
            "terrain": {**t, "reservoir_level_m": 1380.0 + rise},
            "landslides": {**ls, "count": count},
            "distractors": d["distractors"],
            "atmosphere": d["atmosphere"],
            "coherence": d["coherence"],
            "acquisitions": {"start": start.isoformat(), "end": end.isoformat(), **orbits},
        },
    }


def area_config(seed: int):
    """The validated :class:`lsid.config.AOIConfig` of the corpus area of ``seed``."""
    from lsid.config import validate

    if not SEED_BASE <= seed < SEED_END:
        raise ValueError(f"corpus seeds are {SEED_BASE}..{SEED_END - 1}, got {seed}")
    return validate(area_parameters(seed), source=f"corpus area of seed {seed}")


__all__ = ["SEED_BASE", "SEED_END", "RANGES", "draw", "area_parameters", "area_config"]
