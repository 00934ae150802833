"""The inventory stage: scene detections of each compared detector on each orbit's mean-velocity map,
the inventory of potential landslides from the chosen detector and from the ADA baseline, and their
validation against the reference inventory.

Inputs: the SBAS stage's Deformations, the training stage's checkpoints (an area without labels has
none: the shipped pretrained detector and ADA still run), the reference inventory
(``inventory.validation_inventory``, else ``tiles.inventory``, else the synthetic truth).
Outputs (:class:`lsid.layout.RunLayout`):

- ``detections/<model>_<orbit>.gpkg``: scene boxes (lsid.detect.scene columns), each cached with a key
  of the checkpoint, the Deformation, the parameters and the detection code (``<model>_<orbit>.json``);
- ``detections/<detector key>_<orbit>.gpkg``: the same for a detector not trained here (``inventory.detector``:
  the shipped pretrained one, a model card, a checkpoint; :mod:`lsid.inventory.detectors`);
- ``inventory/inventory.{geojson,gpkg,kml,csv}``: the potential landslides of the chosen detector
  (``inventory.detector``; the summary's ``detector`` says which),
  validated (columns ``confirmed``, ``matches``);
- ``inventory/ada_inventory.{...}``: the same chain on active deformation areas (the baseline);
- ``inventory/objects_<source>_<orbit>.gpkg``: each orbit's objects before fusion, with the check
  results (``passes``, ``rejected_by``);
- ``inventory/reference_<source>.gpkg``: the reference inventory with ``detected`` per object;
- ``inventory/summary.json``: counts and validation scores of every source, and the stage's key (last).

Cache key of the whole stage: the detections' keys, the SBAS digests, the inventory and training
parameters, the reference inventory's files and the stage's code.
"""

from __future__ import annotations

import functools
import logging
import time
from pathlib import Path
from typing import Callable

import geopandas as gpd
import xarray as xr

from lsid.config import AOIConfig
from lsid.errors import InputDataError
from lsid.io.aoi import vector_files
from lsid.layout import RunLayout, as_layout
from lsid.provenance import code_digest, digest, files_fingerprint, fresh, read_stamp, stamp

log = logging.getLogger(__name__)

#: Inventory sources: key → file stem of the inventory.
SOURCES = {"model": "inventory", "ada": "ada_inventory"}


def load_deformations(layout: RunLayout) -> dict[str, xr.Dataset]:
    """The Deformation of each orbit the SBAS stage wrote, in memory without the displacement series."""
    from lsid.sbas.stage import open_deformations

    return {o: d.load() for o, d in open_deformations(as_layout(layout), series=False).items()}


def _detection_key(cfg: AOIConfig, ckpt: Path, orbit: str, layout: RunLayout) -> str:
    return digest({"checkpoint": [str(ckpt), ckpt.stat().st_mtime_ns],
                   "sbas": read_stamp(layout.sbas_summary(orbit)).get("digest", ""),
                   "params": [cfg.inventory.stride, cfg.inventory.iou_threshold, cfg.training.score_threshold],
                   "code": code_digest("lsid.detect.scene")})


def scene_detections(cfg: AOIConfig, layout: RunLayout, model: str,
                     defos: dict[str, xr.Dataset] | Callable[[], dict[str, xr.Dataset]] | None = None,
                     progress: bool = False, force: bool = False) -> dict[str, gpd.GeoDataFrame]:
    """Boxes of ``model`` on each orbit's whole mean-velocity map (cached in ``detections/``; ``force``
    detects again). ``defos``: the Deformations, or a function that gives them (called only when a
    map must be detected again), or None (read from the run folder then)."""
    from lsid.detect.scene import detect_with_checkpoint
    from lsid.training.stage import checkpoint_for

    layout = as_layout(layout)
    ckpt = checkpoint_for(cfg, layout, model)
    layout.detections_dir.mkdir(parents=True, exist_ok=True)
    out = {}
    for orbit in layout.deformations():
        gpkg, meta = layout.detections(model, orbit), layout.detections_stamp(model, orbit)
        key = _detection_key(cfg, ckpt, orbit, layout)
        if not force and fresh(meta, key, [gpkg]):
            out[orbit] = gpd.read_file(gpkg)
            continue
        if defos is None:
            defos = load_deformations(layout)
        elif callable(defos):
            defos = defos()
        t0 = time.perf_counter()
        gdf = detect_with_checkpoint(ckpt, defos[orbit], stride=cfg.inventory.stride,
                                     score_threshold=cfg.training.score_threshold,
                                     iou_threshold=cfg.inventory.iou_threshold, progress=progress)
        seconds = time.perf_counter() - t0
        _write_gpkg(gdf, gpkg, "detections")
        stamp(meta, key, products=[gpkg], model=model, orbit=orbit, boxes=len(gdf), seconds=round(seconds, 1),
              checkpoint=str(ckpt))
        out[orbit] = gdf
    return out


def other_detections(cfg: AOIConfig, layout: RunLayout, choice, defos, progress: bool = False,
                     force: bool = False) -> dict[str, gpd.GeoDataFrame]:
    """Boxes of a detector not trained in this run (``inventory.detector``: pretrained, a model card or a
    checkpoint; :mod:`lsid.inventory.detectors`) on each orbit's map, cached in ``detections/`` like
    :func:`scene_detections` (key: the weights' fingerprint, the Deformation, the parameters, the code)."""
    from lsid.inventory.detectors import detect, fingerprint

    layout = as_layout(layout)
    layout.detections_dir.mkdir(parents=True, exist_ok=True)
    weights, loaded, out = fingerprint(choice), {}, {}
    for orbit in layout.deformations():
        gpkg, meta = layout.detections(choice.key, orbit), layout.detections_stamp(choice.key, orbit)
        key = digest({"detector": [choice.kind, choice.name, weights],
                      "sbas": read_stamp(layout.sbas_summary(orbit)).get("digest", ""),
                      "params": [cfg.inventory.stride, cfg.inventory.iou_threshold, cfg.training.score_threshold],
                      "code": code_digest("lsid.inventory.detectors")})
        if not force and fresh(meta, key, [gpkg]):
            out[orbit] = gpd.read_file(gpkg)
            continue
        t0 = time.perf_counter()
        gdf = detect(choice, defos()[orbit], stride=cfg.inventory.stride, score_threshold=cfg.training.score_threshold,
                     iou_threshold=cfg.inventory.iou_threshold, progress=progress, loaded=loaded)
        _write_gpkg(gdf, gpkg, "detections")
        stamp(meta, key, products=[gpkg], model=choice.key, orbit=orbit, boxes=len(gdf),
              seconds=round(time.perf_counter() - t0, 1), detector=choice.describe())
        out[orbit] = gdf
    return out


def _write_gpkg(gdf: gpd.GeoDataFrame, path: Path, layer: str) -> None:
    """Write a GeoPackage atomically (a temporary name with the .gpkg extension GDAL expects, then rename)."""
    import os

    from lsid.inventory.export import gdal_ready
    from lsid.io.atomic import disk_full_guard
    from lsid.io.temporaries import temporary_path

    flat = gdal_ready(gdf)
    tmp = temporary_path(path.with_suffix(""), ext=path.suffix)  # GDAL wants the .gpkg extension
    try:
        with disk_full_guard(path.parent):
            flat.to_file(tmp, driver="GPKG", layer=layer)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def reference_inventory(cfg: AOIConfig, layout: RunLayout, crs,
                        scene_bounds: tuple[float, float, float, float] | None = None,
                        ) -> tuple[gpd.GeoDataFrame | None, str]:
    """The inventory to validate against: inventory.validation_inventory, else tiles.inventory, else (on
    synthetic areas) the truth; (None, reason) when there is none. A file that is missing, unreadable or
    without CRS raises InputDataError naming its key; invalid polygons are repaired and, given the
    scene's ``scene_bounds`` (in ``crs``, m), polygons that cover the whole scene dropped, each with a
    warning (lsid.tiles.labels.repair_polygons)."""
    from lsid.tiles.labels import read_vector, repair_polygons

    src = cfg.inventory.validation_inventory or cfg.tiles.inventory
    if src:
        key = "inventory.validation_inventory" if cfg.inventory.validation_inventory else "tiles.inventory"
        g = read_vector(src, key)  # missing or unreadable: InputDataError naming the key
        if g.crs is None:
            raise InputDataError(f"{src} ({key}): the inventory has no CRS; save it with one (e.g. EPSG:4326)")
        g = g[g.geometry.notna()].to_crs(crs)
        if "id" not in g:
            g["id"] = [str(i + 1) for i in range(len(g))]
        g = repair_polygons(g, str(src), scene_bounds)  # invalid polygons repaired, with a warning
        return g.reset_index(drop=True), str(src)
    if cfg.synthetic:
        return gpd.read_file(as_layout(layout).true_landslides).to_crs(crs), \
            "synthetic truth (truth/landslides.geojson)"
    return None, "no inventory given (inventory.validation_inventory or tiles.inventory)"


def make_inventory(cfg: AOIConfig, layout: RunLayout, detections: dict[str, gpd.GeoDataFrame],
                   defos: dict[str, xr.Dataset], layers=None, source: str = "model") -> dict:
    """Inventory of one source (a detector's boxes or ADA areas) → {"inventory": validated
    GeoDataFrame, "objects": {orbit: objects}, "reference": validated reference or None, "summary"}."""
    from lsid.inventory import build_inventory
    from lsid.inventory.validate import explain_false_alarms, validate

    layout = as_layout(layout)
    inv, objects = build_inventory(detections, defos, cfg.inventory, layers)
    first = next(iter(defos.values()))
    crs = first.rio.crs
    ref, ref_name = reference_inventory(cfg, layout, crs, first.rio.bounds())
    summary = {"source": source, "potential_landslides": len(inv),
               "seen_in": {k: int((inv["seen_in"] == k).sum()) if len(inv) else 0
                           for k in ("ascending", "descending", "both")},
               "objects_before_checks": {o: len(g) for o, g in objects.items()},
               "objects_after_checks": {o: int(g["passes"].astype(bool).sum()) if len(g) else 0
                                        for o, g in objects.items()},
               "reference": ref_name}
    validated_ref = None
    if ref is not None:
        inv, validated_ref, scores = validate(inv, ref, cfg.inventory.validation_tolerance_m)
        summary["validation"] = scores
        if cfg.synthetic and layout.true_distractors.exists():
            dis = gpd.read_file(layout.true_distractors).to_crs(crs)
            inv["false_alarm_on"] = explain_false_alarms(inv, dis, cfg.inventory.validation_tolerance_m)
            summary["false_alarms_on_distractors"] = int((inv["false_alarm_on"] != "").sum())
    return {"inventory": inv, "objects": objects, "reference": validated_ref, "summary": summary}


def _stage_key(cfg: AOIConfig, layout: RunLayout, dets: dict) -> str:
    det_keys = {m: {o: read_stamp(layout.detections_stamp(m, o)).get("digest") for o in d} for m, d in dets.items()}
    refs = [f for p in (cfg.inventory.validation_inventory, cfg.tiles.inventory) if p for f in vector_files(p)]
    return digest({"detections": det_keys, "sbas": {o: read_stamp(layout.sbas_summary(o)).get("digest")
                                                     for o in layout.deformations()},
                   "inventory": cfg.to_dict()["inventory"], "score_threshold": cfg.training.score_threshold,
                   "synthetic": cfg.synthetic, "synth": read_stamp(layout.synth_manifest).get("digest"),
                   "references": files_fingerprint(refs), "code": code_digest(__name__)})


def _products(layout: RunLayout, summary: dict) -> list[Path]:
    """The files a stage summary vouches for (every format of each inventory, its objects, its reference)."""
    from lsid.inventory.export import FORMATS

    paths = []
    for key, stem in SOURCES.items():
        s = summary.get("inventory" if key == "model" else "ada")
        if s:
            paths += [layout.inventory(stem, fmt) for fmt in FORMATS]
            paths += [layout.objects(key, o) for o in s.get("objects_before_checks", {})]
            paths += [layout.reference(key)] if "validation" in s else []
    return paths


def run(cfg: AOIConfig, layout: RunLayout, *, force: bool = False, progress: bool = False) -> dict:
    """The whole stage (module docstring): writes the outputs, returns the summary. Skipped (the
    summary is read back) when its key is unchanged and its products are on disk."""
    from lsid.inventory.baseline import active_areas
    from lsid.inventory.detectors import choose_detector
    from lsid.inventory.export import write_inventory
    from lsid.inventory.objects import SceneLayers

    layout = as_layout(layout)
    choice = choose_detector(cfg)
    deformations = functools.cache(functools.partial(load_deformations, layout))  # read once, when needed
    models = list(dict.fromkeys(list(cfg.inventory.compare_models)
                                + ([cfg.inventory.model] if choice.kind == "trained" else [])))
    dets, missing = {}, {}
    for m in models:
        try:
            dets[m] = scene_detections(cfg, layout, m, deformations, progress, force=force)
        except InputDataError as exc:  # an area without an inventory trains no detector: ADA still runs
            missing[m] = str(exc)
            log.warning("%s", exc)
    if choice.kind != "trained":
        from lsid.models.pretrained import WeightsError

        try:
            dets[choice.key] = other_detections(cfg, layout, choice, deformations, progress, force=force)
        except WeightsError as exc:  # no shipped weights (or damaged ones): said, and ADA still runs
            missing[choice.key] = str(exc)
            log.warning("%s", exc)
    key = _stage_key(cfg, layout, dets)
    old = read_stamp(layout.inventory_summary)
    if not force and fresh(layout.inventory_summary, key, _products(layout, old)):  # same key, products intact
        return old
    defos = deformations()
    layout.inventory_summary.unlink(missing_ok=True)
    for old_file in [*layout.inventory_dir.glob("objects_*.gpkg"), *layout.inventory_dir.glob("reference_*.gpkg")]:
        old_file.unlink()  # an earlier run's (another track or reference): load() must not find them
    layers = {o: SceneLayers(d) for o, d in defos.items()}
    ada, thresholds = {}, {}
    for o, d in defos.items():
        ada[o], thresholds[o] = active_areas(d, cfg.inventory.ada_k_sigma, cfg.inventory.ada_min_pixels,
                                             cfg.inventory.ada_background_px)
    results = {"ada": make_inventory(cfg, layout, ada, defos, layers, "ada")}
    if choice.key in dets:
        results["model"] = make_inventory(cfg, layout, dets[choice.key], defos, layers, choice.key)
    layout.inventory_dir.mkdir(parents=True, exist_ok=True)
    for key_, stem in SOURCES.items():
        if key_ not in results:
            continue
        write_inventory(results[key_]["inventory"], layout.inventory_dir, stem)
        for o, g in results[key_]["objects"].items():
            _write_gpkg(g, layout.objects(key_, o), "objects")
        if results[key_]["reference"] is not None:
            _write_gpkg(results[key_]["reference"], layout.reference(key_), "reference")
    summary = {"model": choice.key, "detector": choice.describe(),
               "boxes": {m: {o: len(g) for o, g in d.items()} for m, d in dets.items()},
               "inventory": results["model"]["summary"] if "model" in results else None,
               "ada": {**results["ada"]["summary"], "thresholds": thresholds}, "missing_models": missing}
    stamp(layout.inventory_summary, key, products=_products(layout, summary), **summary)  # last
    return read_stamp(layout.inventory_summary)


#: Boolean columns of the stage's GeoPackages (written as 0/1 integers: lsid.inventory.export.gdal_ready).
BOOL_COLUMNS = ("passes", "confirmed", "detected", "cut", "visible_ascending", "visible_descending")


def _read(path: Path) -> gpd.GeoDataFrame:
    g = gpd.read_file(path)
    for col in BOOL_COLUMNS:
        if col in g and g[col].dtype.kind in "iu" and g[col].isin([0, 1]).all():
            g[col] = g[col].astype(bool)
    return g


def load(layout: RunLayout) -> dict:
    """What the stage wrote, read back: {"summary", "detections": {model: {orbit: gdf}}, and per source
    present ("model", "ada"): {"inventory", "objects": {orbit: gdf}, "reference": gdf or None,
    "summary"}}."""
    layout = as_layout(layout)
    summary = read_stamp(layout.inventory_summary)
    if not summary:
        raise InputDataError(f"{layout.inventory_summary}: no inventory; run the inventory stage first "
                             f"(lsid run ... --only inventory)")
    out = {"summary": summary, "detections": {m: {o: _read(layout.detections(m, o)) for o in per}
                                              for m, per in summary["boxes"].items()}}
    for key, stem in SOURCES.items():
        s = summary["inventory"] if key == "model" else summary["ada"]
        if not s:
            continue
        out[key] = {"inventory": _read(layout.inventory(stem, "gpkg")), "summary": s,
                    "objects": {o: _read(layout.objects(key, o)) for o in s["objects_before_checks"]},
                    "reference": _read(layout.reference(key)) if "validation" in s else None}
    return out


__all__ = ["load_deformations", "scene_detections", "other_detections", "reference_inventory", "make_inventory",
           "run", "load"]
