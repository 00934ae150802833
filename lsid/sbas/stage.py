"""The SBAS stage: network selection, inversion and outputs for each track of an area.

Inputs: each track's Stack (the synth stage's ``stacks/<orbit>.nc``, or the user's files named in the
AOI's ``inputs``) or Deformation (a velocity GeoTIFF, LiCSBAS or MintPy results: not inverted again).
Outputs (:class:`lsid.layout.RunLayout`): ``sbas/<orbit>.nc`` (Deformation, NetCDF/CF, on the area's
working grid), ``sbas/velocity_<orbit>.tif`` (Cloud-Optimised GeoTIFF, mm/yr, NaN where unreliable),
``sbas/network_<orbit>.csv`` (every pair, kept or why dropped) and ``sbas/<orbit>.json`` (summary and
cache key, written last). Cache key: the sbas parameters, the track, the synth manifest's digest or
the input files' sizes and times, the area's CRS and the stage's code.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import warnings

import numpy as np

from lsid.config import AOIConfig
from lsid.errors import InputDataError
from lsid.io.aoi import input_paths, open_track, tracks
from lsid.io.atomic import atomic_path, ensure_writable_dir
from lsid.io.crs import to_working_crs
from lsid.io.geotiff import write_cog
from lsid.io.netcdf import open_netcdf, write_netcdf
from lsid.layout import RunLayout, as_layout
from lsid.provenance import code_digest, digest, files_fingerprint, fresh, read_stamp, stamp
from lsid.sbas.invert import invert
from lsid.sbas.network import select_network

log = logging.getLogger(__name__)


def run(cfg: AOIConfig, layout: RunLayout, *, force: bool = False, progress: bool = False) -> dict:
    """Invert every track of the area (each skipped when unchanged); returns {orbit: summary}."""
    return {o: run_track(cfg, o, layout, force=force, progress=progress) for o in tracks(cfg)}


def load(layout: RunLayout) -> dict:
    """{orbit: summary} of the tracks the stage wrote (``sbas/<orbit>.json``)."""
    out = {o: json.loads(layout.sbas_summary(o).read_text()) for o in layout.deformations()
           if layout.sbas_summary(o).exists()}
    if not out:
        raise InputDataError(f"{layout.sbas_dir}: no SBAS outputs; run the sbas stage first (lsid run ... --only sbas)")
    return out


def open_deformations(layout: RunLayout, series: bool = True) -> dict:
    """{orbit: Deformation} in memory, with CRS; ``series=False`` leaves out the displacement series
    (the maps only: a fraction of the memory)."""
    out = {}
    for orbit, p in layout.deformations().items():
        d = open_netcdf(p, chunks=None, what="Deformation")
        out[orbit] = d if series else d.drop_vars("displacement", errors="ignore")
    if not out:
        raise InputDataError(f"{layout.sbas_dir}: no Deformation (<orbit>.nc); run the sbas stage first "
                             f"(lsid run ... --only sbas)")
    return out


def network_tables(layout: RunLayout) -> dict:
    """{orbit: pair table (``network_<orbit>.csv``)} of the tracks inverted here (a Deformation input
    has no network)."""
    import pandas as pd

    out = {}
    for orbit in layout.deformations():
        summary = read_stamp(layout.sbas_summary(orbit))
        if summary.get("pairs_total"):
            out[orbit] = pd.read_csv(layout.network(orbit), parse_dates=["reference_date", "secondary_date"])
    return out


@contextlib.contextmanager
def _recorded(into: list):
    """Record the warnings of a block into ``into`` (for the track's summary) and still show them."""
    seen = {(w.category, str(w.message)) for w in into}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield
    finally:  # also when the block fails: the warning is often what explains the error
        for w in caught:
            if (w.category, str(w.message)) in seen:  # one of a loop's many: shown and kept once
                continue
            seen.add((w.category, str(w.message)))
            into.append(w)
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, module=__name__, registry={})


def _products(layout: RunLayout, orbit: str) -> list:
    return [layout.deformation(orbit), layout.velocity(orbit), layout.network(orbit)]


def area_crs(cfg: AOIConfig, orbit: str, run_dir: str | RunLayout) -> str | None:
    """The CRS a track's Deformation must share with the area's other track: ``sbas.working_crs`` when
    set, else that of a track before it (ascending before descending) whose Deformation is written,
    else None (the track's own projected CRS, or its UTM zone). Fusion and the inventory measure both
    tracks' objects in one CRS."""
    if cfg.sbas.working_crs:
        return cfg.sbas.working_crs
    layout = as_layout(run_dir)
    for other in tracks(cfg):
        if other == orbit:
            break
        p = layout.deformation(other)
        if p.exists():
            with open_netcdf(p, chunks={}, what="Deformation") as d:  # lazily: the CRS only
                crs = d.rio.crs
            if crs is not None:
                return crs.to_string()
    return None


def _digest(cfg: AOIConfig, orbit: str, layout: RunLayout, crs: str | None) -> str:
    """The track's cache key (module docstring)."""
    parts = {"sbas": cfg.to_dict()["sbas"], "orbit": orbit, "code": code_digest(__name__), "area_crs": crs}
    if cfg.synthetic:
        parts["synth"] = read_stamp(layout.synth_manifest).get("digest")
    else:
        parts["inputs"] = cfg.to_dict()["inputs"][orbit]
        parts["files"] = files_fingerprint(input_paths(getattr(cfg.inputs, orbit)))
    return digest(parts)


def run_track(cfg: AOIConfig, orbit: str, layout: RunLayout, force: bool = False, progress: bool = False) -> dict:
    """Select the network, invert and write the outputs of one track; returns its summary.

    Skipped (the summary is read back) when the outputs exist for the same parameters and inputs.
    ``layout``: the run's :class:`RunLayout` (or its folder).
    """
    layout = as_layout(layout)
    crs = area_crs(cfg, orbit, layout)
    key = _digest(cfg, orbit, layout, crs)
    summary_path = layout.sbas_summary(orbit)
    if not force and fresh(summary_path, key, _products(layout, orbit)):  # same key, products intact
        return read_stamp(summary_path)
    ensure_writable_dir(layout.sbas_dir)
    summary_path.unlink(missing_ok=True)
    t0 = time.perf_counter()
    caught: list = []  # the track's warnings (implausible inputs, network split, ...): kept in its summary
    with _recorded(caught):
        stack = open_track(cfg, orbit, layout)
    s = cfg.sbas
    if "unwrapped_phase" not in stack:  # a Deformation already (velocity GeoTIFF, LiCSBAS): nothing to invert
        import pandas as pd

        d = stack
        for attr, default in (("network_components", 0), ("reference_x", np.nan), ("reference_y", np.nan),
                              ("reference_date", "")):
            d.attrs.setdefault(attr, default)
        table = pd.DataFrame({"kept": pd.Series(dtype=bool)})
    else:
        ref = (s.reference_x, s.reference_y) if s.reference_x is not None else "auto"
        with _recorded(caught):
            kept, table = select_network(stack, s.max_temporal_baseline_days, s.max_bperp_m, s.min_mean_coherence,
                                         max_pairs=(s.max_pairs or {}).get(orbit))
            d = invert(kept, weight=s.weight, looks=s.looks, reference_point=ref,
                       reference_date=s.reference_date, min_temporal_coherence=s.min_temporal_coherence,
                       progress=progress)
    d = to_working_crs(d, crs, s.working_resolution_m)  # metres, one CRS per area
    seconds = time.perf_counter() - t0
    with atomic_path(layout.network(orbit)) as tmp:
        table.to_csv(tmp)
    write_netcdf(d, layout.deformation(orbit))
    write_cog(d.velocity.where(d.valid), layout.velocity(orbit))
    v = d.velocity.values[d.valid.values]
    summary = {
        "orbit": orbit, "pairs_total": int(len(table)), "pairs_kept": int(table.kept.sum()),
        "dates": int(d.sizes.get("time", 0)), "weight": s.weight,
        "network_components": int(d.attrs["network_components"]),
        "valid_share": float(d.valid.values.mean()),
        "velocity_min_mm_yr": float(v.min()) if v.size else None,
        "velocity_max_mm_yr": float(v.max()) if v.size else None,
        "velocity_p1_mm_yr": float(np.percentile(v, 1)) if v.size else None,
        "velocity_p99_mm_yr": float(np.percentile(v, 99)) if v.size else None,
        "reference_x": d.attrs["reference_x"], "reference_y": d.attrs["reference_y"],
        "reference_date": d.attrs["reference_date"], "crs": d.rio.crs.to_string() if d.rio.crs else "",
        "seconds": round(seconds, 1),
        # lsid's own warnings (network split, ...), not the deprecation notices of libraries
        "warnings": [str(w.message) for w in caught
                     if not issubclass(w.category, (DeprecationWarning, PendingDeprecationWarning, FutureWarning))],
    }
    summary = stamp(summary_path, key, products=_products(layout, orbit), **summary)  # last: vouches for them
    log.info("SBAS %s: %d/%d pairs, %.1f s", orbit, summary["pairs_kept"], summary["pairs_total"], seconds)
    return summary
