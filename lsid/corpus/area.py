"""One corpus area: its seed → the real chain (lsid.synth → SBAS) → maps at the model's pixel size →
labelled tiles in the ``normalised`` channels, the truth and the mean-velocity maps; the stacks are
dropped (bounded disk: about 10 MB an area instead of hundreds).

Each area folder (:class:`CorpusAreaLayout`) holds:

- ``tiles/``: a TileSet (images/*.npy float16 (3, size, size), ``annotations/all.json`` COCO with
  ignore regions, ``tileset.json``), read by :class:`lsid.training.data.TileDataset`;
- ``maps/<orbit>.nc``: the mean LOS velocity, validity, temporal coherence and DEM at the model's pixel
  size (a Deformation without series: what scene detection reads), for the scene-level scores;
- ``truth/landslides.geojson``, ``truth/distractors.geojson`` and ``truth/visibility.csv`` (each slide's
  best signal-to-noise ratio in each orbit's mean map, and whether that map can show it);
- ``area.json`` last (parameters, counts, seconds per step): an area is complete when it is there and
  its key matches (:func:`is_complete`).

Which tiles are kept (the sampling of the pretraining recipe): windows of ``size`` px every ``stride``
px; in each, the mean-velocity map and ``date_maps`` per-date window-velocity maps (noisier, and with
accelerating and seasonal slides at other rates); a (window, map) needs half its pixels reliable; every
one holding a visible slide is kept, and ``negative_ratio`` negatives per positive are drawn at random
among the rest (distractors and atmosphere included), at most ``max_tiles`` per area.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from lsid.tiles.labels import VISIBILITY_SNR

log = logging.getLogger(__name__)

FORMAT_VERSION = 1


@dataclass(frozen=True)
class CorpusSpec:
    """How the corpus's tiles are made (recorded in every area and in the model card).

    pixel_m: the model's pixel size, m (every map is resampled to it); size, stride: window edge and
    step, px at that pixel size; date_maps: per-date maps drawn per window and orbit; window_days:
    their velocity window; min_snr: visibility threshold (lsid.tiles.labels); min_valid_share: reliable
    share a kept tile needs; negative_ratio, max_tiles: the sampling (module docstring)."""

    pixel_m: float = 30.0
    size: int = 128
    stride: int = 64
    date_maps: int = 2
    window_days: float = 365.0
    min_snr: float = VISIBILITY_SNR
    min_inside: float = 0.5
    min_valid_share: float = 0.5
    min_box_px: int = 4
    negative_ratio: float = 0.5
    max_tiles: int = 120
    channels: str = "normalised"


class CorpusAreaLayout:
    """The files of one corpus area (module docstring)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.tiles = self.root / "tiles"
        self.maps_dir = self.root / "maps"
        self.truth_dir = self.root / "truth"
        self.landslides = self.truth_dir / "landslides.geojson"
        self.distractors = self.truth_dir / "distractors.geojson"
        self.visibility = self.truth_dir / "visibility.csv"
        self.record = self.root / "area.json"

    def map(self, orbit: str) -> Path:
        return self.maps_dir / f"{orbit}.nc"


def area_key(seed: int, spec: CorpusSpec) -> str:
    """The area's cache key: seed, spec and the code of the chain that made it."""
    from lsid.provenance import code_digest, digest

    return digest({"seed": int(seed), "spec": asdict(spec), "code": code_digest(__name__)})


def is_complete(folder: str | Path, seed: int, spec: CorpusSpec) -> bool:
    from lsid.provenance import fresh

    return fresh(CorpusAreaLayout(folder).record, area_key(seed, spec))


def scene_maps(defo, spec: CorpusSpec, rng: np.random.Generator):
    """(the mean-velocity layers at the model's pixel size, [(key, map)] of the per-date maps there):
    each map is computed on the native grid (lsid.tiles.maps weights on the displacement series),
    then resampled with the other layers (lsid.io.crs.to_pixel_size)."""
    import xarray as xr

    from lsid.io.crs import to_pixel_size
    from lsid.tiles.maps import map_specs

    specs = [s for s in map_specs(defo, True, 1, spec.window_days) if s.weights is not None]
    chosen = [specs[i] for i in sorted(rng.choice(len(specs), size=min(spec.date_maps, len(specs)), replace=False))]
    layers = {k: defo[k] for k in ("velocity", "valid", "temporal_coherence", "dem") if k in defo}
    disp = defo.displacement.values
    for s in chosen:
        used = np.flatnonzero(s.weights)
        layers[f"map_{s.key}"] = xr.DataArray(np.tensordot(s.weights[used].astype(np.float32), disp[used], axes=1),
                                              dims=("y", "x"), coords={"y": defo.y, "x": defo.x})
    ds = to_pixel_size(xr.Dataset(layers, attrs=dict(defo.attrs)).rio.write_crs(defo.rio.crs), spec.pixel_m)
    dated = [(s.key, ds[f"map_{s.key}"].values.astype(np.float32)) for s in chosen]
    mean = ds.drop_vars([f"map_{s.key}" for s in chosen])
    return mean, dated


def survey_orbit(orbit: str, mean, dated, inv, spec: CorpusSpec) -> list[dict]:
    """Every (window, map) of one orbit with its verdicts (lsid.tiles.labels.classify) and image."""
    from lsid.tiles import labels as lab
    from lsid.tiles.build import coherence_layer, slope_layer
    from lsid.tiles.render import normalised_channels
    from lsid.tiles.windows import tile_origins, window_transform

    valid = np.asarray(mean.valid.values, dtype=bool)
    maps = [("mean", np.asarray(mean.velocity.values, dtype=np.float32))] + dated
    tcoh, slope = coherence_layer(mean), slope_layer(mean)
    transform = mean.rio.transform()
    size, out = spec.size, []
    for r, c in tile_origins(valid.shape, size, spec.stride):
        win = (slice(r, r + size), slice(c, c + size))
        ok = valid[win]
        if ok.mean() < spec.min_valid_share:
            continue
        objects = lab.objects_in_window(inv, transform, r, c, size)
        for key, m in maps:
            v = np.where(ok, m[win], np.nan).astype(np.float32)
            v -= np.nanmedian(v)
            verdicts = lab.classify(objects, v, spec.min_inside, spec.min_snr, 0.0, 0.3, spec.min_box_px)
            out.append({"orbit": orbit, "map": key, "row": r, "col": c, "verdicts": verdicts,
                        "image": normalised_channels(v, tcoh[win], slope[win]), "transform": window_transform(
                            transform, r, c)})
    return out


def choose(candidates: list[dict], spec: CorpusSpec, rng: np.random.Generator) -> list[dict]:
    """The kept tiles: every positive (at most ``max_tiles`` / (1 + negative_ratio), spread at random),
    then ``negative_ratio`` negatives per positive (at least 4)."""
    pos = [c for c in candidates if any(v.status == "positive" for v in c["verdicts"])]
    neg = [c for c in candidates if not any(v.status == "positive" for v in c["verdicts"])]
    n_pos = min(len(pos), int(spec.max_tiles / (1 + spec.negative_ratio)))
    pos = [pos[i] for i in sorted(rng.choice(len(pos), size=n_pos, replace=False))] if pos else []
    n_neg = min(len(neg), max(4, int(round(spec.negative_ratio * len(pos)))))
    neg = [neg[i] for i in sorted(rng.choice(len(neg), size=n_neg, replace=False))] if neg else []
    return pos + neg


def write_tiles(folder: Path, kept: list[dict], spec: CorpusSpec, name: str, crs: str) -> dict:
    """The kept tiles as a TileSet in ``folder`` (images, annotations/all.json, tileset.json); counts."""
    from lsid.tiles.build import CATEGORY, coco_annotation
    from lsid.tiles.render import NORMALISED_CHANNELS

    images_dir = folder / "images"
    (folder / "annotations").mkdir(parents=True, exist_ok=True)
    images_dir.mkdir(parents=True, exist_ok=True)
    images, anns = [], []
    for i, t in enumerate(kept):
        stem = f"{t['orbit'][0]}_{t['map']}_r{t['row']:05d}_c{t['col']:05d}"
        np.save(images_dir / f"{stem}.npy", t["image"].astype(np.float16))
        images.append({"id": i, "file_name": f"images/{stem}.npy", "width": spec.size, "height": spec.size,
                       "orbit": t["orbit"], "map": t["map"], "row": t["row"], "col": t["col"], "area": name,
                       "transform": list(t["transform"])[:6]})
        for v in t["verdicts"]:
            a = coco_annotation(len(anns) + 1, i, v.obj.box, v.obj.object_id, v.status)
            a["snr"] = None if not np.isfinite(v.snr) else round(float(v.snr), 3)
            anns.append(a)
    coco = {"info": {"description": f"lsid corpus area {name}", "version": FORMAT_VERSION}, "licenses": [],
            "categories": [CATEGORY], "images": images, "annotations": anns}
    (folder / "annotations" / "all.json").write_text(json.dumps(coco))
    counts = {"tiles": len(images), "positive_tiles": len({a["image_id"] for a in anns if not a.get("ignore")}),
              "boxes": sum(not a.get("ignore") for a in anns),
              "ignored": {r: sum(a.get("reason") == r for a in anns) for r in ("partial", "invisible", "small")}}
    meta = {"format_version": FORMAT_VERSION, "aoi": name, "channels": spec.channels, "size": spec.size,
            "pixel_m": spec.pixel_m, "crs": crs, "image_format": "NumPy .npy, float16, (3, rows, cols)",
            "channel_names": list(NORMALISED_CHANNELS), "value_range": [[-1, 1], [0, 1], [0, 1]],
            "parameters": {"render_range_mm_yr": 40.0}, "spec": asdict(spec), "counts": counts}
    (folder / "tileset.json").write_text(json.dumps(meta, indent=2))
    return counts


def visibility_table(surveys: list[dict], inv):
    """Each slide's best SNR in each orbit's mean map over the windows that hold it whole, and whether
    that map can show it (``visible``: SNR >= the spec's threshold in at least one such window)."""
    import pandas as pd

    best: dict[tuple[str, str], float] = {}
    for t in surveys:
        if t["map"] != "mean":
            continue
        for v in t["verdicts"]:
            if v.obj.inside_share >= 0.99 and np.isfinite(v.snr):
                k = (v.obj.object_id, t["orbit"])
                best[k] = max(best.get(k, 0.0), float(v.snr))
    rows = [{"id": str(i), "orbit": o, "snr": best.get((str(i), o), float("nan"))}
            for i in inv["id"].astype(str) for o in ("ascending", "descending")]
    return pd.DataFrame(rows, columns=["id", "orbit", "snr"])


def build_area(seed: int, folder: str | Path, spec: CorpusSpec | None = None, work: str | Path | None = None) -> dict:
    """Make the corpus area of ``seed`` in ``folder`` (skipped when complete); returns its record.

    ``work``: where the run folder of the chain goes while it runs (default: beside ``folder``);
    removed at the end, so that only the tiles, maps and truth stay."""
    import geopandas as gpd

    import lsid.sbas.stage as sbas_stage
    import lsid.synth.stage as synth_stage
    from lsid.corpus.ranges import area_config
    from lsid.io.atomic import write_text
    from lsid.io.netcdf import write_netcdf
    from lsid.layout import RunLayout
    from lsid.provenance import stamp
    from lsid.sbas.stage import open_deformations
    from lsid.tiles.labels import load_inventory

    spec = spec or CorpusSpec()
    folder = Path(folder)
    lay = CorpusAreaLayout(folder)
    if is_complete(folder, seed, spec):
        return json.loads(lay.record.read_text())
    cfg = area_config(seed)
    work = Path(work or folder.parent / f".{folder.name}.work-{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(folder, ignore_errors=True)
    seconds, t0 = {}, time.perf_counter()
    try:
        run = RunLayout(work)
        synth_stage.run(cfg, run)
        seconds["synth"] = time.perf_counter() - t0
        sbas_stage.run(cfg, run)
        seconds["sbas"] = time.perf_counter() - t0 - seconds["synth"]
        t1 = time.perf_counter()
        rng = np.random.default_rng([seed, 79])
        defos = open_deformations(run)
        lay.truth_dir.mkdir(parents=True, exist_ok=True)
        lay.maps_dir.mkdir(parents=True, exist_ok=True)
        surveys, crs = [], None
        inv = None
        for orbit, defo in defos.items():
            mean, dated = scene_maps(defo, spec, rng)
            crs = mean.rio.crs
            if inv is None:
                inv = load_inventory(run.true_landslides, crs, mean.rio.bounds())
            surveys += survey_orbit(orbit, mean, dated, inv, spec)
            write_netcdf(mean, lay.map(orbit))
        kept = choose(surveys, spec, rng)
        counts = write_tiles(lay.tiles, kept, spec, cfg.name, crs.to_string())
        vis = visibility_table(surveys, inv)
        vis["visible"] = vis.snr >= spec.min_snr
        write_text(lay.visibility, vis.to_csv(index=False))
        for src, dst in ((run.true_landslides, lay.landslides), (run.true_distractors, lay.distractors)):
            shutil.copyfile(src, dst)
        seconds["tiles"] = time.perf_counter() - t1
        n_vis = vis.groupby("id").visible.any()
        record = {"seed": int(seed), "name": cfg.name, "parameters": cfg.to_dict()["synth"], "spec": asdict(spec),
                  "native_pixel_m": cfg.synth.grid.pixel_size_m, "native_shape": list(cfg.synth.grid.shape),
                  "landslides": int(len(inv)), "visible_in_an_orbit": int(n_vis.sum()),
                  "visible_per_orbit": {o: int(g.visible.sum()) for o, g in vis.groupby("orbit")},
                  "distractors": int(len(gpd.read_file(run.true_distractors))), **counts,
                  "seconds": {k: round(v, 2) for k, v in seconds.items()},
                  "bytes": int(sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()))}
        stamp(lay.record, area_key(seed, spec), **record)
        return record
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


__all__ = ["CorpusSpec", "CorpusAreaLayout", "area_key", "is_complete", "build_area"]
