"""The detection-and-inventory stage of a study: scene detections of each compared detector on each
orbit's mean-velocity map, the inventory of potential landslides from the chosen detector and from the
ADA baseline, and their validation against the reference inventory.

Outputs in ``<run_dir>/``:
- ``detections/<model>_<orbit>.gpkg``: scene boxes (lsid.detect.scene columns), cached with a digest
  of the checkpoint, the parameters and the code (``detections/<model>_<orbit>.json``);
- ``inventory/inventory.{geojson,gpkg,kml,csv}``: the potential landslides of ``inventory.model``,
  validated (columns ``confirmed``, ``matches``);
- ``inventory/ada_inventory.{...}``: the same chain on active deformation areas (the baseline);
- ``inventory/objects_<source>_<orbit>.gpkg``: each orbit's objects before fusion, with the check
  results (``passes``, ``rejected_by``);
- ``inventory/summary.json``: counts and validation scores of every inventory source.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import geopandas as gpd
import xarray as xr

from lsid.config import AOIConfig
from lsid.errors import InputDataError
from lsid.io.atomic import write_text
from lsid.provenance import source_digest

log = logging.getLogger(__name__)

ORBITS = ("ascending", "descending")


def load_deformations(run_dir: str | Path) -> dict[str, xr.Dataset]:
    """The Deformation of each orbit the SBAS stage wrote (``sbas/<orbit>.nc``), in memory, with CRS."""
    from lsid.io.netcdf import open_netcdf

    out = {}
    for orbit in ORBITS:
        p = Path(run_dir) / "sbas" / f"{orbit}.nc"
        if p.exists():
            out[orbit] = open_netcdf(p, chunks=None, what="Deformation").drop_vars("displacement", errors="ignore").load()
    if not out:
        raise InputDataError(f"{Path(run_dir) / 'sbas'}: no Deformation (<orbit>.nc); run the sbas stage first "
                             f"(lsid run ... --only sbas)")
    return out


def checkpoint_for(cfg: AOIConfig, run_dir: str | Path, model: str) -> Path:
    """best.pt of the detector ``model`` trained on rendered tiles and the spatial split (else physical)."""
    from lsid.experiments import all_runs, run_folder

    for channels in ("rendered", "physical"):
        for run, _ in all_runs(cfg):
            if (run.model, run.channels, run.split) == (model, channels, "spatial"):
                p = run_folder(run_dir, run) / "best.pt"
                if p.exists():
                    return p
    raise InputDataError(f"no trained checkpoint of {model} (spatial split) in {Path(run_dir) / 'models'}; run the "
                         f"training stage first, with {model} in training.runs or training.ablations")


def _digest(cfg: AOIConfig, ckpt: Path, orbit: str, run_dir: Path) -> str:
    sbas = json.loads((run_dir / "sbas" / f"{orbit}.json").read_text()).get("digest", "") \
        if (run_dir / "sbas" / f"{orbit}.json").exists() else ""
    parts = {"checkpoint": [str(ckpt), ckpt.stat().st_mtime_ns], "sbas": sbas,
             "params": [cfg.inventory.stride, cfg.inventory.iou_threshold, cfg.training.score_threshold],
             "code": source_digest("lsid.detect", "lsid.tiles.render", "lsid.tiles.maps")}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def scene_detections(cfg: AOIConfig, run_dir: str | Path, model: str, defos: dict[str, xr.Dataset] | None = None,
                     progress: bool = False) -> dict[str, gpd.GeoDataFrame]:
    """Boxes of ``model`` on each orbit's whole mean-velocity map (cached in ``detections/``)."""
    from lsid.detect.scene import detect_with_checkpoint

    run_dir = Path(run_dir)
    ckpt = checkpoint_for(cfg, run_dir, model)
    folder = run_dir / "detections"
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for orbit in ORBITS:
        if not (run_dir / "sbas" / f"{orbit}.nc").exists():
            continue
        gpkg, meta = folder / f"{model}_{orbit}.gpkg", folder / f"{model}_{orbit}.json"
        digest = _digest(cfg, ckpt, orbit, run_dir)
        if gpkg.exists() and meta.exists() and json.loads(meta.read_text()).get("digest") == digest:
            out[orbit] = gpd.read_file(gpkg)
            continue
        if defos is None:
            defos = load_deformations(run_dir)
        import time

        t0 = time.perf_counter()
        gdf = detect_with_checkpoint(ckpt, defos[orbit], stride=cfg.inventory.stride,
                                     score_threshold=cfg.training.score_threshold,
                                     iou_threshold=cfg.inventory.iou_threshold, progress=progress)
        seconds = time.perf_counter() - t0
        _write_gpkg(gdf, gpkg, "detections")
        write_text(meta, json.dumps({"digest": digest, "model": model, "orbit": orbit, "boxes": len(gdf),
                                     "seconds": round(seconds, 1), "checkpoint": str(ckpt)}))
        out[orbit] = gdf
    return out


def _write_gpkg(gdf: gpd.GeoDataFrame, path: Path, layer: str) -> None:
    """Write a GeoPackage atomically (a temporary name with the .gpkg extension GDAL expects, then rename)."""
    import os

    from lsid.inventory.export import gdal_ready

    flat = gdal_ready(gdf)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    try:
        flat.to_file(tmp, driver="GPKG", layer=layer)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def reference_inventory(cfg: AOIConfig, run_dir: str | Path, crs) -> tuple[gpd.GeoDataFrame | None, str]:
    """The inventory to validate against: inventory.validation_inventory, else tiles.inventory, else (on
    synthetic areas) the truth; (None, reason) when there is none."""
    src = cfg.inventory.validation_inventory or cfg.tiles.inventory
    if src:
        g = gpd.read_file(src)
        if g.crs is None:
            raise InputDataError(f"{src}: the inventory has no CRS; save it with one (e.g. EPSG:4326)")
        g = g.to_crs(crs)
        if "id" not in g:
            g["id"] = [str(i + 1) for i in range(len(g))]
        return g, str(src)
    if cfg.synthetic:
        p = Path(run_dir) / "truth" / "landslides.geojson"
        return gpd.read_file(p).to_crs(crs), "synthetic truth (truth/landslides.geojson)"
    return None, "no inventory given (inventory.validation_inventory or tiles.inventory)"


def make_inventory(cfg: AOIConfig, run_dir: str | Path, detections: dict[str, gpd.GeoDataFrame],
                   defos: dict[str, xr.Dataset], layers=None, source: str = "model") -> dict:
    """Inventory of one source (a detector's boxes or ADA areas) → validated GeoDataFrame and summary."""
    from lsid.inventory import build_inventory
    from lsid.inventory.validate import explain_false_alarms, validate

    inv, objects = build_inventory(detections, defos, cfg.inventory, layers)
    crs = next(iter(defos.values())).rio.crs
    ref, ref_name = reference_inventory(cfg, run_dir, crs)
    summary = {"source": source, "potential_landslides": len(inv),
               "seen_in": {k: int((inv["seen_in"] == k).sum()) if len(inv) else 0 for k in ("ascending", "descending", "both")},
               "objects_before_checks": {o: len(g) for o, g in objects.items()},
               "objects_after_checks": {o: int(g["passes"].astype(bool).sum()) if len(g) else 0 for o, g in objects.items()},
               "reference": ref_name}
    validated_ref = None
    if ref is not None:
        inv, validated_ref, scores = validate(inv, ref, cfg.inventory.validation_tolerance_m)
        summary["validation"] = scores
        if cfg.synthetic and (Path(run_dir) / "truth" / "distractors.geojson").exists():
            dis = gpd.read_file(Path(run_dir) / "truth" / "distractors.geojson").to_crs(crs)
            inv["false_alarm_on"] = explain_false_alarms(inv, dis, cfg.inventory.validation_tolerance_m)
            summary["false_alarms_on_distractors"] = int((inv["false_alarm_on"] != "").sum())
    return {"inventory": inv, "objects": objects, "reference": validated_ref, "summary": summary}


def run_inventory(cfg: AOIConfig, run_dir: str | Path, progress: bool = False) -> dict:
    """The whole stage (module docstring); returns {"model": result (absent when the detector has no
    checkpoint), "ada": result, "detections": {model: {orbit: gdf}}, "ada_thresholds": {orbit: dict},
    "summary": ...} and writes the outputs. A result is make_inventory's dict."""
    from lsid.inventory.baseline import active_areas
    from lsid.inventory.export import write_inventory
    from lsid.inventory.objects import SceneLayers

    run_dir = Path(run_dir)
    defos = load_deformations(run_dir)
    layers = {o: SceneLayers(d) for o, d in defos.items()}
    models = list(dict.fromkeys(list(cfg.inventory.compare_models) + [cfg.inventory.model]))
    dets, missing = {}, {}
    for m in models:
        try:
            dets[m] = scene_detections(cfg, run_dir, m, defos, progress)
        except InputDataError as exc:  # an area without an inventory trains no detector: ADA still runs
            missing[m] = str(exc)
            log.warning("%s", exc)
    ada, thresholds = {}, {}
    for o, d in defos.items():
        ada[o], thresholds[o] = active_areas(d, cfg.inventory.ada_k_sigma, cfg.inventory.ada_min_pixels,
                                             cfg.inventory.ada_background_px)
    results = {"ada": make_inventory(cfg, run_dir, ada, defos, layers, "ada")}
    if cfg.inventory.model in dets:
        results["model"] = make_inventory(cfg, run_dir, dets[cfg.inventory.model], defos, layers, cfg.inventory.model)
    out = run_dir / "inventory"
    out.mkdir(parents=True, exist_ok=True)
    for key, stem in (("model", "inventory"), ("ada", "ada_inventory")):
        if key not in results:
            continue
        write_inventory(results[key]["inventory"], out, stem)
        for o, g in results[key]["objects"].items():
            _write_gpkg(g, out / f"objects_{key}_{o}.gpkg", "objects")
    summary = {"model": cfg.inventory.model, "boxes": {m: {o: len(g) for o, g in d.items()} for m, d in dets.items()},
               "inventory": results["model"]["summary"] if "model" in results else None,
               "ada": {**results["ada"]["summary"], "thresholds": thresholds}, "missing_models": missing}
    write_text(out / "summary.json", json.dumps(summary, indent=2, default=float))
    return {**results, "detections": dets, "ada_areas": ada, "ada_thresholds": thresholds, "layers": layers,
            "defos": defos, "summary": summary}


__all__ = ["load_deformations", "checkpoint_for", "scene_detections", "reference_inventory", "make_inventory",
           "run_inventory"]
