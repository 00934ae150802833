"""The SBAS stage of a run: network selection, inversion and outputs for each track.

Outputs in ``<run_dir>/sbas/``: ``<orbit>.nc`` (Deformation, NetCDF/CF), ``velocity_<orbit>.tif``
(Cloud-Optimised GeoTIFF, mm/yr, NaN where unreliable), ``network_<orbit>.csv`` (every pair, kept or
why dropped) and ``<orbit>.json`` (parameters digest and summary numbers, written last).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import warnings
from pathlib import Path

import numpy as np

from lsid.config import AOIConfig
from lsid.io.aoi import open_track, tracks
from lsid.io.atomic import atomic_path, ensure_writable_dir, write_text
from lsid.io.crs import to_working_crs
from lsid.io.geotiff import write_cog
from lsid.io.netcdf import open_netcdf, write_netcdf
from lsid.provenance import source_digest
from lsid.sbas.invert import invert
from lsid.sbas.network import select_network

log = logging.getLogger(__name__)


def output_paths(run_dir: str | Path, orbit: str) -> dict[str, Path]:
    d = Path(run_dir) / "sbas"
    return {"deformation": d / f"{orbit}.nc", "velocity": d / f"velocity_{orbit}.tif",
            "network": d / f"network_{orbit}.csv", "summary": d / f"{orbit}.json"}


def area_crs(cfg: AOIConfig, orbit: str, run_dir: str | Path) -> str | None:
    """The CRS a track's Deformation must share with the area's other track: ``sbas.working_crs`` when
    set, else that of a track before it (ascending before descending) whose Deformation is written,
    else None (the track's own projected CRS, or its UTM zone). Fusion and the inventory measure both
    tracks' objects in one CRS."""
    if cfg.sbas.working_crs:
        return cfg.sbas.working_crs
    for other in tracks(cfg):
        if other == orbit:
            break
        p = output_paths(run_dir, other)["deformation"]
        if p.exists():
            with open_netcdf(p, chunks={}, what="Deformation") as d:  # lazily: the CRS only
                crs = d.rio.crs
            if crs is not None:
                return crs.to_string()
    return None


def _digest(cfg: AOIConfig, orbit: str, run_dir: Path, crs: str | None) -> str:
    inputs = {"sbas": cfg.to_dict()["sbas"], "orbit": orbit, "code": source_digest("lsid.sbas", "lsid.io"),
              "area_crs": crs}
    if cfg.synthetic:
        m = Path(run_dir) / "synth" / "manifest.json"
        inputs["synth"] = json.loads(m.read_text())["digest"] if m.exists() else None
    else:
        inputs["inputs"] = cfg.to_dict()["inputs"][orbit]
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def run_track(cfg: AOIConfig, orbit: str, run_dir: str | Path, force: bool = False, progress: bool = False) -> dict:
    """Select the network, invert and write the outputs of one track; returns its summary.

    Skipped (the summary is read back) when the outputs exist for the same parameters and inputs.
    """
    run_dir = Path(run_dir)
    paths = output_paths(run_dir, orbit)
    crs = area_crs(cfg, orbit, run_dir)
    digest = _digest(cfg, orbit, run_dir, crs)
    if not force and all(p.exists() for p in paths.values()):
        summary = json.loads(paths["summary"].read_text())
        if summary.get("digest") == digest:
            return summary
    ensure_writable_dir(paths["summary"].parent)
    paths["summary"].unlink(missing_ok=True)
    t0 = time.perf_counter()
    stack = open_track(cfg, orbit, run_dir)
    s = cfg.sbas
    caught = []
    if "unwrapped_phase" not in stack:  # a Deformation already (velocity GeoTIFF, LiCSBAS): nothing to invert
        import pandas as pd

        d = stack
        for key, default in (("network_components", 0), ("reference_x", np.nan), ("reference_y", np.nan),
                             ("reference_date", "")):
            d.attrs.setdefault(key, default)
        table = pd.DataFrame({"kept": pd.Series(dtype=bool)})
    else:
        kept, table = select_network(stack, s.max_temporal_baseline_days, s.max_bperp_m, s.min_mean_coherence,
                                     max_pairs=(s.max_pairs or {}).get(orbit))
        ref = (s.reference_x, s.reference_y) if s.reference_x is not None else "auto"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            d = invert(kept, weight=s.weight, looks=s.looks, reference_point=ref,
                       reference_date=s.reference_date, min_temporal_coherence=s.min_temporal_coherence,
                       progress=progress)
    d = to_working_crs(d, crs, s.working_resolution_m)  # metres, one CRS per area
    seconds = time.perf_counter() - t0
    with atomic_path(paths["network"]) as tmp:
        table.to_csv(tmp)
    write_netcdf(d, paths["deformation"])
    write_cog(d.velocity.where(d.valid), paths["velocity"])
    v = d.velocity.values[d.valid.values]
    summary = {
        "digest": digest, "orbit": orbit, "pairs_total": int(len(table)), "pairs_kept": int(table.kept.sum()),
        "dates": int(d.sizes.get("time", 0)), "weight": s.weight, "network_components": int(d.attrs["network_components"]),
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
    write_text(paths["summary"], json.dumps(summary, indent=2))
    log.info("SBAS %s: %d/%d pairs, %.1f s", orbit, summary["pairs_kept"], summary["pairs_total"], seconds)
    return summary
