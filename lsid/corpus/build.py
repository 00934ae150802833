"""The whole corpus: ``n`` areas (seeds SEED_BASE + 0 .. n-1) built in parallel, resumable, with a manifest.

Layout of a corpus folder (default ``runs/corpus``):
``areas/a<index>/`` (one :class:`lsid.corpus.area.CorpusAreaLayout` each), ``manifest.json`` (written
last: the spec, every complete area with its seed, split, parameters' key numbers and counts, and the
manifest's digest, which the model card records), ``build.log``.

Splits are by area, never by tile: area ``i`` is ``test`` when ``i % 10 == 9``, ``val`` when
``i % 10 == 8``, else ``train`` (so a corpus of any size holds held-out areas, and growing it never
moves an area from one split to another).

Parallel on a process pool, one area per task (an area is 10-30 s of numba, numpy and GDAL work, so
processes, not threads; dask.distributed would add nothing for independent tasks of that size); each
worker limits its own threads (``threads`` each). An area that fails is logged with its error and left
out of the manifest; rerunning the build retries it. A complete area is never made again (its
``area.json`` holds the key of its seed, spec and code).
"""

from __future__ import annotations

import json
import logging
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path

from lsid.corpus.area import CorpusAreaLayout, CorpusSpec, build_area
from lsid.corpus.ranges import SEED_BASE

log = logging.getLogger(__name__)

SPLIT_PERIOD = 10


def split_of(index: int) -> str:
    """The split of area ``index`` (module docstring)."""
    return {SPLIT_PERIOD - 1: "test", SPLIT_PERIOD - 2: "val"}.get(index % SPLIT_PERIOD, "train")


def area_folder(root: str | Path, index: int) -> Path:
    return Path(root) / "areas" / f"a{index:06d}"


def _limit_threads(threads: int) -> None:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
                "GDAL_NUM_THREADS"):
        os.environ[var] = str(threads)


def _task(root: str, index: int, spec: CorpusSpec, threads: int) -> tuple[int, dict | None, str]:
    _limit_threads(threads)
    try:
        import numba

        numba.set_num_threads(threads)
    except Exception:  # numba's thread count may be fixed already in this process
        pass
    try:
        return index, build_area(SEED_BASE + index, area_folder(root, index), spec), ""
    except Exception as exc:  # one area's failure must not stop the corpus: logged and retried on rerun
        return index, None, f"{type(exc).__name__}: {exc}"


def build_corpus(root: str | Path, n_areas: int, workers: int = 2, threads: int = 1, spec: CorpusSpec | None = None,
                 progress: bool = True) -> dict:
    """Build (or complete) the corpus of ``n_areas`` areas under ``root``; returns the manifest.

    ``workers`` processes of ``threads`` threads each. Areas already complete are kept."""
    from tqdm import tqdm

    spec = spec or CorpusSpec()
    root = Path(root)
    (root / "areas").mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(root / "build.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    t0 = time.perf_counter()
    errors = {}
    try:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(_task, str(root), i, spec, threads) for i in range(n_areas)]
            for fut in tqdm(as_completed(futures), total=len(futures), desc="corpus areas", disable=not progress):
                i, rec, err = fut.result()
                if err:
                    errors[i] = err
                    log.error("area %d (seed %d) failed: %s", i, SEED_BASE + i, err)
                else:
                    log.info("area %d done: %d tiles, %d boxes, %s s", i, rec["tiles"], rec["boxes"], rec["seconds"])
    finally:
        log.removeHandler(handler)
        handler.close()
    manifest = write_manifest(root, n_areas, spec)
    manifest["errors"] = errors
    manifest["wall_seconds"] = round(time.perf_counter() - t0, 1)
    return manifest


#: Native pixel-size bins (m) of the held-out areas (issue 13: unseen areas of about 20, 50 and 90 m).
HELDOUT_BINS = ((15.0, 25.0), (45.0, 60.0), (75.0, 100.0))


def heldout_indices(after: int, bins=HELDOUT_BINS, per_bin: int = 4, search: int = 5000) -> list[int]:
    """Indices of test-split areas (``i % 10 == 9``) from ``after`` on whose drawn native pixel size falls
    in each of ``bins``, ``per_bin`` each: held-out areas beyond a corpus of ``after`` areas, which no
    training on that corpus saw, at the pixel sizes a benchmark must cover."""
    from lsid.corpus.ranges import area_parameters

    chosen: dict[int, list[int]] = {k: [] for k in range(len(bins))}
    for i in range(after + (SPLIT_PERIOD - 1 - after % SPLIT_PERIOD), after + search, SPLIT_PERIOD):
        px = area_parameters(SEED_BASE + i)["synth"]["grid"]["pixel_size_m"]
        for k, (lo, hi) in enumerate(bins):
            if lo <= px <= hi and len(chosen[k]) < per_bin:
                chosen[k].append(i)
        if all(len(v) == per_bin for v in chosen.values()):
            break
    return sorted(i for v in chosen.values() for i in v)


def build_areas(root: str | Path, indices: list[int], workers: int = 2, threads: int = 1,
                spec: CorpusSpec | None = None, progress: bool = True) -> dict:
    """Build the areas ``indices`` (any, e.g. :func:`heldout_indices`) under ``root`` and write its manifest
    (over indices up to the largest); returns the manifest."""
    from tqdm import tqdm

    spec = spec or CorpusSpec()
    (Path(root) / "areas").mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_task, str(root), i, spec, threads) for i in indices]
        for fut in tqdm(as_completed(futures), total=len(futures), desc="held-out areas", disable=not progress):
            i, _, err = fut.result()
            if err:
                log.error("area %d (seed %d) failed: %s", i, SEED_BASE + i, err)
    return write_manifest(root, max(indices) + 1, spec)


def write_manifest(root: str | Path, n_areas: int, spec: CorpusSpec) -> dict:
    """Write ``manifest.json`` of the complete areas among the first ``n_areas`` (the digest covers
    each area's key and counts); returns it."""
    from lsid.io.atomic import write_text
    from lsid.provenance import digest, read_stamp

    areas = []
    for i in range(n_areas):
        lay = CorpusAreaLayout(area_folder(root, i))
        rec = read_stamp(lay.record)
        if not rec:
            continue
        p = rec["parameters"]
        areas.append({"index": i, "seed": rec["seed"], "split": split_of(i), "folder": str(lay.root.relative_to(root)),
                      "key": rec.get("digest"), "native_pixel_m": round(rec["native_pixel_m"], 2),
                      "native_shape": rec["native_shape"], "landslides": rec["landslides"],
                      "visible_in_an_orbit": rec["visible_in_an_orbit"], "tiles": rec["tiles"], "boxes": rec["boxes"],
                      "ignored": rec["ignored"], "seconds": rec["seconds"], "bytes": rec["bytes"],
                      "turbulence_std_mm": round(p["atmosphere"]["turbulence_std_mm"], 2)})
    manifest = {"format_version": 1, "seed_base": SEED_BASE, "spec": asdict(spec), "n_areas": len(areas),
                "splits": {s: sum(a["split"] == s for a in areas) for s in ("train", "val", "test")},
                "tiles": {s: sum(a["tiles"] for a in areas if a["split"] == s) for s in ("train", "val", "test")},
                "areas": areas}
    manifest["digest"] = digest({"spec": manifest["spec"], "areas": [[a["seed"], a["key"]] for a in areas]})
    write_text(Path(root) / "manifest.json", json.dumps(manifest, indent=1))
    return manifest


def read_manifest(root: str | Path) -> dict:
    """The corpus manifest, or InputDataError naming the fix."""
    from lsid.errors import InputDataError

    path = Path(root) / "manifest.json"
    if not path.is_file():
        raise InputDataError(f"{path}: no corpus manifest; build the corpus first (lsid corpus --root {root})")
    return json.loads(path.read_text())


__all__ = ["split_of", "area_folder", "build_corpus", "build_areas", "heldout_indices", "HELDOUT_BINS",
           "write_manifest", "read_manifest"]
