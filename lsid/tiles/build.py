"""Build the TileSet of a run: maps → 512 px tiles → quality filter → labels → splits → ×3 → COCO.

Two passes over the tiles of each track: the first computes, for every (tile, map), the statistics of
the quality filter and the labels (no image kept); the selection then needs only those numbers; the
second pass renders and writes the selected tiles and their augmented copies. Memory is one tile's
displacement series at a time, whatever the scene size.

Output (the run's ``tiles/``, :class:`lsid.layout.RunLayout`; written to a temporary folder and renamed
when complete):
``<channels>/images/``, ``<channels>/annotations/{train,val,test}.json`` (COCO, spatially blocked
split), ``<channels>/annotations/random/{train,val,test}.json`` (tile-wise random split, to measure
the leak), ``<channels>/tiles.csv`` (provenance), ``<channels>/tileset.json``; ``summary.json``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from lsid.config import AOIConfig
from lsid.errors import InputDataError
from lsid.geometry import slope_aspect
from lsid.io.aoi import tracks, vector_files
from lsid.io.atomic import disk_full_guard, ensure_writable_dir, write_text
from lsid.io.netcdf import open_netcdf
from lsid.layout import RunLayout, TileSetLayout, as_layout
from lsid.provenance import code_digest, digest, files_fingerprint, fresh, read_stamp, stamp
from lsid.tiles import labels as lab
from lsid.tiles.augment import OPERATIONS, augment
from lsid.tiles.maps import map_specs, window_maps
from lsid.tiles.render import NODATA_RGB, NORMALISED_CHANNELS, PHYSICAL_CHANNELS, draw
from lsid.tiles.splits import SPLITS, assign_blocks, random_split
from lsid.tiles.windows import blocks_touched, home_block, tile_origins, window_transform

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
CATEGORY = {"id": 1, "name": "landslide", "supercategory": "deformation anomaly"}
#: Negative tiles kept when no tile is positive (an empty inventory): enough to show the area.
NEGATIVES_WITHOUT_POSITIVES = 50


def _digest(cfg: AOIConfig, layout: RunLayout) -> str:
    """The TileSet's cache key: tiles parameters, seed, the SBAS summaries' digests, the inventory's
    contents and the code of the tiles stage."""
    parts = {"tiles": cfg.to_dict()["tiles"], "seed": cfg.seed, "code": code_digest(__name__)}
    for o in tracks(cfg):
        parts[o] = read_stamp(layout.sbas_summary(o)).get("digest")
    if cfg.tiles.inventory:  # its whole contents (a shapefile: every file of it): labels are small
        parts["inventory"] = [[f.name, hashlib.sha256(f.read_bytes()).hexdigest()] if f.is_file()
                              else files_fingerprint([f])  # a folder dataset (FileGDB) or a missing file
                              for f in vector_files(cfg.tiles.inventory)]
    return digest(parts)


def label_inventory(cfg: AOIConfig, layout: RunLayout, crs, bounds):
    """(the landslide polygons the boxes are made from, in ``crs``, clipped to ``bounds``; where they
    come from, in words): ``tiles.inventory``, else the synthetic truth; InputDataError for a real area
    without an inventory."""
    if cfg.tiles.inventory:
        return lab.load_inventory(cfg.tiles.inventory, crs, bounds), str(cfg.tiles.inventory)
    if not cfg.synthetic:
        raise InputDataError(f"area {cfg.name}: labels need a landslide inventory; set tiles.inventory in its AOI file "
                             f"(GeoJSON / Shapefile / GeoPackage polygons)")
    return lab.load_inventory(layout.true_landslides, crs, bounds), "synthetic truth (truth/landslides.geojson)"


def slope_layer(defo) -> np.ndarray:
    """Terrain slope (deg) from the Deformation's DEM; zeros when it has none (a user's velocity map)."""
    if "dem" not in defo:
        return np.zeros((defo.sizes["y"], defo.sizes["x"]), dtype=np.float32)
    t = defo.rio.transform()
    slope, _ = slope_aspect(np.asarray(defo.dem.values, dtype=float), abs(t.a), abs(t.e))
    return np.asarray(slope, dtype=np.float32)


def coherence_layer(defo) -> np.ndarray:
    """Temporal coherence; a velocity-only Deformation (a user's GeoTIFF) has none: 1 where valid."""
    if "temporal_coherence" in defo:
        return np.asarray(defo.temporal_coherence.values, dtype=np.float32)
    return np.where(np.asarray(defo.valid.values, dtype=bool), 1.0, np.nan).astype(np.float32)


def _survey(cfg: AOIConfig, orbit: str, defo, inv, progress: bool) -> tuple[pd.DataFrame, dict]:
    """First pass: one row per (tile, map) with the filter statistics and the labels."""
    from tqdm import tqdm

    p = cfg.tiles
    specs = map_specs(defo, p.per_date, p.date_step, p.window_days)
    size = p.size
    transform = defo.rio.transform()
    tcoh = coherence_layer(defo)
    rows, boxes = [], {}
    origins = tile_origins((defo.sizes["y"], defo.sizes["x"]), size, p.stride)
    for r, c in tqdm(origins, desc=f"tiles {orbit}: survey ({len(specs)} maps)", disable=not progress):
        objects = lab.objects_in_window(inv, transform, r, c, size)
        maps = window_maps(defo, specs, r, c, size)
        coh = tcoh[r:r + size, c:c + size]
        coh_mean = float(np.nanmean(coh)) if np.isfinite(coh).any() else 0.0
        for k, spec in enumerate(specs):
            v = maps[k]
            ok = np.isfinite(v)
            share = float(ok.mean())
            signal = float(np.percentile(np.abs(v[ok] - np.median(v[ok])), 99)) if ok.sum() > 10 else 0.0
            verdicts = lab.classify(objects, v, p.label_min_inside, p.label_min_snr, p.label_min_signal_mm_yr,
                                    p.label_min_valid_share, p.min_box_px)
            pos = [vd for vd in verdicts if vd.status == "positive"]
            counts = {f"n_{k}": sum(vd.status == k for vd in verdicts) for k in ("partial", "invisible", "small")}
            key = (orbit, spec.key, r, c)
            # (object id, box, status): the positives, then the ignore regions
            boxes[key] = [(vd.obj.object_id, vd.obj.box, vd.status) for vd in pos] + [
                (vd.obj.object_id, vd.obj.box, vd.status) for vd in verdicts if vd.status != "positive"]
            rows.append({"orbit": orbit, "map": spec.key, "date": str(spec.date) if spec.date is not None else "",
                         "window_dates": spec.n_dates, "row": r, "col": c, "valid_share": share,
                         "coherence": coh_mean, "signal_mm_yr": signal, "n_boxes": len(pos), **counts})
    return pd.DataFrame(rows), boxes


def _spread(idx: np.ndarray, k: int) -> np.ndarray:
    """At most k of the (date-ordered) indices, evenly spread."""
    if len(idx) <= k:
        return idx
    return idx[np.unique(np.linspace(0, len(idx) - 1, k).round().astype(int))]


def select(survey: pd.DataFrame, cfg: AOIConfig) -> pd.DataFrame:
    """The quality filter and the choice of tiles (adds columns ``passes``, ``positive``, ``kept``).

    A (tile, map) passes when its reliable-pixel share, mean temporal coherence and anomaly signal
    reach their floors. Passing tiles with at least one box are positives; passing tiles with no
    object at all (not even a partial or invisible one) are clean negatives. Per track and ground tile
    at most ``max_maps_per_tile`` maps are kept (evenly over the dates: consecutive maps of the same
    ground are near-duplicates), then negatives are drawn at random to make ``negative_share`` of the
    kept tiles.
    """
    p = cfg.tiles
    s = survey.copy()
    s["passes"] = ((s.valid_share >= p.min_valid_share) & (s.coherence >= p.min_tile_coherence)
                   & (s.signal_mm_yr >= p.min_tile_signal_mm_yr))
    s["positive"] = s.passes & (s.n_boxes > 0)
    clean = (s.n_boxes == 0) & (s.n_partial == 0) & (s.n_invisible == 0) & (s.n_small == 0)
    s["negative_pool"] = s.passes & clean
    s["kept"] = False
    rng = np.random.default_rng(cfg.seed)
    neg_cand = []
    for _, g in s.groupby(["orbit", "row", "col"], sort=True):
        # the mean-velocity map first, then the dates in order
        g = g.assign(_o=(g["map"] != "mean").astype(int)).sort_values(["_o", "map"])
        s.loc[_spread(g.index[g.positive.to_numpy()].to_numpy(), p.max_maps_per_tile), "kept"] = True
        neg_cand.extend(_spread(g.index[g.negative_pool.to_numpy()].to_numpy(), p.max_maps_per_tile))
    n_pos = int(s.kept.sum())
    n_neg = (int(round(p.negative_share / (1 - p.negative_share) * n_pos)) if n_pos
             else min(len(neg_cand), NEGATIVES_WITHOUT_POSITIVES))
    if neg_cand and n_neg:
        s.loc[rng.choice(np.array(neg_cand), size=min(n_neg, len(neg_cand)), replace=False), "kept"] = True
    return s


def _assign_splits(s: pd.DataFrame, cfg: AOIConfig) -> pd.DataFrame:
    """Spatially blocked split of the kept tiles; tiles reaching into a block of another split are
    dropped (only possible when tiles overlap)."""
    p = cfg.tiles
    block_px = p.block_tiles * p.size
    s = s.copy()
    hb = [home_block(r, c, p.size, block_px) for r, c in zip(s.row, s.col)]
    s["block_row"], s["block_col"] = [b[0] for b in hb], [b[1] for b in hb]
    kept = s[s.kept]
    weights = {}
    for (br, bc), g in kept.groupby(["block_row", "block_col"]):
        weights[(int(br), int(bc))] = (float(g.positive.sum()), float((~g.positive).sum()))
    split_of = assign_blocks(weights, p.split, cfg.seed)
    s["split"] = ""
    for i in kept.index:
        home = split_of[(int(s.at[i, "block_row"]), int(s.at[i, "block_col"]))]
        touched = blocks_touched(int(s.at[i, "row"]), int(s.at[i, "col"]), p.size, block_px)
        if any(split_of.get(b, home) != home for b in touched):
            s.at[i, "kept"] = False
            s.at[i, "split"] = "dropped: straddles splits"
        else:
            s.at[i, "split"] = home
    return s


def coco_annotation(ann_id: int, image_id: int, box, object_id: str, status: str = "positive") -> dict:
    """One COCO annotation of a box (x0, y0, x1, y1 in tile pixels); an object that is not a positive in
    this map (``status`` partial / invisible / small, :mod:`lsid.tiles.labels`) is an ignore region:
    ``iscrowd`` and ``ignore`` 1, with its ``reason``."""
    x0, y0, x1, y1 = (float(b) for b in box)
    ann = {"id": ann_id, "image_id": image_id, "category_id": 1,
           "bbox": [round(x0, 3), round(y0, 3), round(x1 - x0, 3), round(y1 - y0, 3)],
           "area": round((x1 - x0) * (y1 - y0), 3), "iscrowd": 0, "object_id": object_id}
    if status != "positive":
        ann.update(iscrowd=1, ignore=1, reason=status)
    return ann


def _coco(images: list[dict], anns: list[dict]) -> dict:
    return {"info": {"description": "lsid TileSet", "version": FORMAT_VERSION}, "licenses": [],
            "categories": [CATEGORY], "images": images, "annotations": anns}


def build_tileset(cfg: AOIConfig, layout: RunLayout, force: bool = False, progress: bool = False) -> dict:
    """Build (or, when unchanged, reuse) the TileSet of a run; returns its summary (counts).

    Needs the SBAS stage's Deformations (``sbas/<orbit>.nc``). ``layout``: the run's
    :class:`RunLayout` (or its folder).
    """
    layout = as_layout(layout)
    out = layout.tiles_dir
    key = _digest(cfg, layout)
    p = cfg.tiles
    products = [layout.tileset_layout(m).meta for m in dict.fromkeys(p.channels)]
    if not force and fresh(layout.tiles_summary, key, products):  # a deleted TileSet folder is rebuilt
        return json.loads(layout.tiles_summary.read_text())
    defos, surveys, boxes, inv_source = {}, [], {}, None
    for orbit in tracks(cfg):
        path = layout.deformation(orbit)
        if not path.exists():
            raise InputDataError(f"{path}: no Deformation for the {orbit} track; run the SBAS stage first "
                                 f"(lsid run --aoi ... --only sbas)")
        defo = open_netcdf(path, chunks={}, what="Deformation")  # lazily, in its disk chunks
        tile_origins((defo.sizes["y"], defo.sizes["x"]), p.size, p.stride)  # tile larger than the scene: error now
        inv, inv_source = label_inventory(cfg, layout, defo.rio.crs, defo.rio.bounds())
        defos[orbit] = defo
        sv, bx = _survey(cfg, orbit, defo, inv, progress)
        surveys.append(sv)
        boxes.update(bx)
    survey = pd.concat(surveys, ignore_index=True)
    s = _assign_splits(select(survey, cfg), cfg)
    kept = s[s.kept].reset_index(drop=True)
    if kept.empty:
        raise InputDataError("no tile passes the quality filter: lower tiles.min_valid_share, min_tile_coherence or "
                             "min_tile_signal_mm_yr in the AOI file (see the tiles section of README)")
    tmp = out.parent / f".tiles.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    ensure_writable_dir(out.parent)
    try:
        with disk_full_guard(out.parent):  # a full disk says so, not "cannot write PNG"
            records = _write_images(cfg, kept, defos, boxes, tmp, progress)
            crs = next(iter(defos.values())).rio.crs
            summary = _finish(cfg, survey, s, records, tmp, key, inv_source, crs.to_string() if crs else "", layout)
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return summary


def _write_images(cfg, kept: pd.DataFrame, defos, boxes, tmp: Path, progress: bool) -> pd.DataFrame:
    """Second pass: render, augment and write every kept tile in every channel mode."""
    from PIL import Image
    from tqdm import tqdm

    p = cfg.tiles
    modes = list(dict.fromkeys(p.channels))
    sets = {m: TileSetLayout(tmp / m) for m in modes}  # renamed to the run's tiles/ when complete
    for ts in sets.values():
        ts.images_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(cfg.seed + 1)
    records = []
    image_id = 0
    ops = list(OPERATIONS)
    specs = {o: {s.key: s for s in map_specs(d, p.per_date, p.date_step, p.window_days)} for o, d in defos.items()}
    groups = kept.groupby(["orbit", "row", "col"], sort=True)
    for (orbit, r, c), g in tqdm(groups, desc="tiles: write", total=groups.ngroups, disable=not progress):
        defo = defos[orbit]
        maps = window_maps(defo, [specs[orbit][k] for k in g["map"]], int(r), int(c), p.size)
        win = dict(y=slice(r, r + p.size), x=slice(c, c + p.size))
        tcoh = coherence_layer(defo.isel(**win))
        slope = slope_layer(defo.isel(**win))
        t = window_transform(defo.rio.transform(), int(r), int(c))
        for k, (_, row) in enumerate(g.iterrows()):
            v = maps[k]
            bx = boxes[(orbit, row["map"], int(r), int(c))]
            b0 = np.array([b for _, b, _ in bx], dtype=np.float32).reshape(-1, 4)
            ids = [o for o, _, _ in bx]
            status = [st for _, _, st in bx]
            base = {m: draw(m, v, tcoh, slope, p.render_range_mm_yr) for m in modes}
            chosen = ["none"] + list(rng.choice(ops, size=min(p.augment_factor - 1, len(ops)), replace=False))
            source_id = image_id
            for aug in chosen:
                seed = int(cfg.seed * 1_000_003 + image_id) % (2**31)
                stem = f"{orbit[0]}_{row['map']}_r{int(r):05d}_c{int(c):05d}_{aug}"
                for m in modes:
                    img, bb = base[m], b0
                    if aug != "none":
                        img, bb = augment(img, b0, aug, p.noise_std, seed, (0.0, 1.0) if m == "rendered" else None)
                    if m == "rendered":
                        Image.fromarray((img.transpose(1, 2, 0) * 255 + 0.5).astype(np.uint8)).save(
                            sets[m].images_dir / f"{stem}.png")
                    else:
                        np.save(sets[m].images_dir / f"{stem}.npy", img.astype(np.float16))
                records.append({**row.to_dict(), "image_id": image_id, "stem": stem, "source_id": source_id,
                                "augmentation": aug, "boxes": bb.tolist(), "object_ids": ids, "status": status,
                                "transform": [t.a, t.b, t.c, t.d, t.e, t.f]})
                image_id += 1
    return pd.DataFrame(records)


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, ... 11th, 12th, 13th, 21st."""
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _counts(survey: pd.DataFrame, s: pd.DataFrame, rec: pd.DataFrame) -> dict:
    orig = rec[rec.augmentation == "none"]
    per_split = {}
    for column in ("split", "random_split"):
        per_split[column] = {}
        for sp in SPLITS:
            part, o = rec[rec[column] == sp], orig[orig[column] == sp]
            per_split[column][sp] = {"images": int(len(part)), "kept_tiles": int(len(o)),
                                     "positive_tiles": int((o.n_boxes > 0).sum()),
                                     "negative_tiles": int((o.n_boxes == 0).sum()), "boxes": int(part.n_boxes.sum())}
    return {
        "crops": int(len(survey)),
        "crops_per_orbit": {o: int(n) for o, n in survey.orbit.value_counts().sort_index().items()},
        "maps_per_orbit": {o: int(g["map"].nunique()) for o, g in survey.groupby("orbit")},
        "ground_tiles_per_orbit": {o: int(len(g[["row", "col"]].drop_duplicates()))
                                   for o, g in survey.groupby("orbit")},
        "passes_quality": int(s.passes.sum()),
        "positive_available": int(s.positive.sum()),
        "clean_negative_available": int(s.negative_pool.sum()),
        "dropped_straddling": int((s.split == "dropped: straddles splits").sum()),
        "kept": int(len(orig)), "kept_positive": int((orig.n_boxes > 0).sum()),
        "kept_negative": int((orig.n_boxes == 0).sum()),
        "augmented": int(len(rec)), "boxes": int(rec.n_boxes.sum()),
        "boxes_per_positive_tile": float(orig.n_boxes[orig.n_boxes > 0].mean()) if (orig.n_boxes > 0).any() else 0.0,
        "objects_invisible_in_kept_tiles": int(orig.n_invisible.sum()),
        "objects_partial_in_kept_tiles": int(orig.n_partial.sum()),
        "objects_too_small_in_kept_tiles": int(orig.n_small.sum()),
        "per_split": per_split,
    }


def _finish(cfg, survey, s, rec: pd.DataFrame, tmp: Path, digest: str, inv_source: str, crs: str,
            layout: RunLayout) -> dict:
    """COCO files, tiles.csv and tileset.json per channel mode, survey.csv, summary.json (counts), into
    ``tmp`` (renamed to ``layout.tiles_dir`` when complete: the same file names)."""
    from lsid import __version__

    p = cfg.tiles
    rec["random_split"] = random_split(len(rec), p.split, cfg.seed + 2)
    counts = _counts(survey, s, rec)
    for m in dict.fromkeys(p.channels):
        ext = ".png" if m == "rendered" else ".npy"
        ts = TileSetLayout(tmp / m)
        ts.random_annotations_dir.mkdir(parents=True, exist_ok=True)
        table = rec.drop(columns=["boxes", "object_ids", "status", "stem", "transform"]).copy()
        table.insert(1, "file_name", [f"images/{st}{ext}" for st in rec.stem])
        for j, name in enumerate("abcdef"):
            table[f"transform_{name}"] = [tr[j] for tr in rec["transform"]]
        table["crs"], table["size"], table["scene"] = crs, p.size, cfg.name
        table["object_ids"] = [";".join(ids) for ids in rec.object_ids]
        table.to_csv(ts.table, index=False)
        for column, random in (("split", False), ("random_split", True)):
            for sp in SPLITS:
                images, anns = [], []
                for r in rec[rec[column] == sp].itertuples():
                    images.append({"id": int(r.image_id), "file_name": f"images/{r.stem}{ext}", "width": p.size,
                                   "height": p.size, "orbit": r.orbit, "map": r.map, "date": r.date,
                                   "augmentation": r.augmentation, "source_id": int(r.source_id)})
                    for (x0, y0, x1, y1), oid, st in zip(r.boxes, r.object_ids, r.status):
                        anns.append(coco_annotation(len(anns) + 1, int(r.image_id), (x0, y0, x1, y1), oid, st))
                write_text(ts.annotations(sp, random), json.dumps(_coco(images, anns)))
        meta = {
            "format_version": FORMAT_VERSION, "lsid_version": __version__, "aoi": cfg.name, "profile": cfg.profile,
            "synthetic": cfg.synthetic, "seed": cfg.seed, "channels": m, "size": p.size, "crs": crs,
            "image_format": "PNG, 8-bit RGB" if m == "rendered" else "NumPy .npy, float16, (3, rows, cols)",
            "channel_names": {"rendered": ["red", "green", "blue"], "physical": list(PHYSICAL_CHANNELS),
                              "normalised": list(NORMALISED_CHANNELS)}[m],
            "value_range": [0, 255] if m == "rendered" else [[-1, 1], [0, 1], [0, 1]],
            "render": {"colormap": "RdBu (blue: towards the satellite)", "range_mm_yr": p.render_range_mm_yr,
                       "nodata_rgb": list(NODATA_RGB)} if m == "rendered" else None,
            "maps": (f"mean LOS velocity, and LOS velocity over a {p.window_days:g}-day window centred on every "
                     f"{'' if p.date_step == 1 else ordinal(p.date_step) + ' '}date (mm/yr)")
                    if p.per_date else "mean LOS velocity (mm/yr)",
            "labels": f"boxes from {inv_source}; rules in lsid/tiles/labels.py", "categories": [CATEGORY],
            "splits": {"spatial": "annotations/{train,val,test}.json (ground blocks of "
                                  f"{p.block_tiles} x {p.block_tiles} tiles; all dates and augmentations of a block "
                                  "in one split)",
                       "random": "annotations/random/{train,val,test}.json (tile by tile; leaks)"},
            "parameters": cfg.to_dict()["tiles"], "counts": counts,
        }
        write_text(ts.meta, json.dumps(meta, indent=2))
    s.to_csv(tmp / layout.survey.name, index=False)
    summary = {"inventory": inv_source, "channels": list(dict.fromkeys(p.channels)), **counts}
    # the stamp records the files a reader of the TileSet needs (the images are too many to list)
    vouched = []
    for ts in (TileSetLayout(tmp / m) for m in dict.fromkeys(p.channels)):
        vouched += [ts.meta, ts.table, *sorted(ts.annotations_dir.rglob("*.json"))]
    return stamp(tmp / layout.tiles_summary.name, digest, products=vouched, **summary)
