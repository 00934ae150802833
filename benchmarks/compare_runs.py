"""Are two run folders the same study? File by file: byte-identical, equal to float tolerance, or different.

    python benchmarks/compare_runs.py RUN_A RUN_B [--rtol 1e-5] [--atol 1e-6] [--json out.json]

Used to show that a restructuring changed no result: run the smoke study with the old code into RUN_A
and with the new code into RUN_B (``lsid run --aoi data/aoi/ahai-synthetic.yaml --profile smoke
--run-root ...``), then compare. Left out: the executed notebooks and the book (``notebooks/``,
``book/``, ``book_src/``: they hold timings and rendered figures), and, inside JSON and CSV files, what
is a timing or a provenance record rather than a result: cache keys and product records (``digest``,
``key``, ``products``: they hash the code, which is what changed, or record file times), seconds, and
absolute paths (the two runs live in different folders; compared with
the run folder replaced by ``<run>``). Everything else must agree: NetCDF variables, GeoTIFF rasters,
GeoPackage / GeoJSON attributes and geometries, checkpoint tensors, tiles, tables. A file that is
not byte-identical but equal within tolerance is listed as such (e.g. checkpoints whose pickled
metadata holds a path). Exit status 1 when anything differs or is missing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from pathlib import Path

import numpy as np

#: Folders of a run that are presentation, not results.
SKIP_DIRS = ("notebooks", "book", "book_src")
#: Keys of JSON / columns of CSV files that record time or provenance, not results.
SKIP_KEYS = {"digest", "key", "products", "seconds", "seconds_per_epoch", "minutes", "wall_s", "elapsed_s"}


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _norm(obj, roots: tuple[str, str]):
    """A JSON value without timing/provenance keys, with run-folder paths made relative."""
    if isinstance(obj, dict):
        return {k: _norm(v, roots) for k, v in obj.items() if k not in SKIP_KEYS}
    if isinstance(obj, list):
        return [_norm(v, roots) for v in obj]
    if isinstance(obj, str):
        for r in roots:
            obj = obj.replace(r, "<run>")
        return obj
    return obj


def _close_json(a, b, rtol, atol, where="") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{where}/{k}: only in one" for k in sorted(set(a) ^ set(b))]
        for k in sorted(set(a) & set(b)):
            out += _close_json(a[k], b[k], rtol, atol, f"{where}/{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} vs {len(b)} items"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _close_json(x, y, rtol, atol, f"{where}[{i}]")]
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        if (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=rtol, abs_tol=atol):
            return []
        return [f"{where}: {a} vs {b}"]
    return [] if a == b else [f"{where}: {str(a)[:80]!r} vs {str(b)[:80]!r}"]


def _arrays(a, b, rtol, atol, what) -> list[str]:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return [f"{what}: shape {a.shape} vs {b.shape}"]
    if a.dtype.kind in "fc":
        ok = np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=True)
        if not ok.all():
            return [f"{what}: {int((~ok).sum())} of {a.size} values differ (max |d| "
                    f"{float(np.nanmax(np.abs(a.astype(float) - b.astype(float)))):.3g})"]
        return []
    return [] if np.array_equal(a, b) else [f"{what}: values differ"]


def _netcdf(a: Path, b: Path, rtol, atol) -> list[str]:
    import xarray as xr

    with xr.open_dataset(a) as x, xr.open_dataset(b) as y:
        out = [f"variable {v}: only in one" for v in sorted(set(x.variables) ^ set(y.variables))]
        for v in sorted(set(x.variables) & set(y.variables)):
            out += _arrays(x[v].values, y[v].values, rtol, atol, f"variable {v}")
        attrs_a, attrs_b = dict(x.attrs), dict(y.attrs)
        for k in sorted(set(attrs_a) | set(attrs_b)):
            if k in SKIP_KEYS or k == "history":
                continue
            if str(attrs_a.get(k)) != str(attrs_b.get(k)):
                out += _close_json(attrs_a.get(k), attrs_b.get(k), rtol, atol, f"attribute {k}")
        return out


def _raster(a: Path, b: Path, rtol, atol) -> list[str]:
    import rasterio

    with rasterio.open(a) as x, rasterio.open(b) as y:
        out = [] if (x.crs == y.crs and x.transform == y.transform) else ["CRS or transform differ"]
        return out + _arrays(x.read(), y.read(), rtol, atol, "raster")


def _vector(a: Path, b: Path, rtol, atol, roots) -> list[str]:
    import geopandas as gpd

    x, y = gpd.read_file(a), gpd.read_file(b)
    if len(x) != len(y) or list(x.columns) != list(y.columns):
        return [f"{len(x)} vs {len(y)} rows, columns {list(x.columns)} vs {list(y.columns)}"]
    out = []
    for c in x.columns:
        if c == "geometry":
            if len(x) and not x.geometry.geom_equals_exact(y.geometry, tolerance=1e-6).all():
                out.append("geometries differ")
        elif x[c].dtype.kind in "fiub":
            out += _arrays(x[c].to_numpy(), y[c].to_numpy(), rtol, atol, f"column {c}")
        elif _norm(list(map(str, x[c])), roots) != _norm(list(map(str, y[c])), roots):
            out.append(f"column {c} differs")
    return out


def _table(a: Path, b: Path, rtol, atol, roots) -> list[str]:
    import pandas as pd

    x, y = pd.read_csv(a), pd.read_csv(b)
    x, y = x.drop(columns=[c for c in x if c in SKIP_KEYS]), y.drop(columns=[c for c in y if c in SKIP_KEYS])
    if x.shape != y.shape or list(x.columns) != list(y.columns):
        return [f"shape {x.shape} vs {y.shape}, columns differ" if list(x.columns) != list(y.columns) else
                f"shape {x.shape} vs {y.shape}"]
    out = []
    for c in x.columns:
        if x[c].dtype.kind in "fiub" and y[c].dtype.kind in "fiub":
            out += _arrays(x[c].to_numpy(), y[c].to_numpy(), rtol, atol, f"column {c}")
        elif _norm(list(map(str, x[c])), roots) != _norm(list(map(str, y[c])), roots):
            out.append(f"column {c} differs")
    return out


def _checkpoint(a: Path, b: Path, rtol, atol, roots) -> list[str]:
    import torch

    x, y = (torch.load(p, map_location="cpu", weights_only=False) for p in (a, b))

    def flat(obj, prefix=""):
        if isinstance(obj, dict):
            for k, v in obj.items():
                if k not in SKIP_KEYS:
                    yield from flat(v, f"{prefix}/{k}")
        elif isinstance(obj, (list, tuple)):
            for i, v in enumerate(obj):
                yield from flat(v, f"{prefix}[{i}]")
        else:
            yield prefix, obj

    fx, fy = dict(flat(x)), dict(flat(y))
    out = [f"{k}: only in one" for k in sorted(set(fx) ^ set(fy))]
    for k in sorted(set(fx) & set(fy)):
        u, v = fx[k], fy[k]
        if isinstance(u, torch.Tensor):
            out += _arrays(u.float().numpy() if u.is_floating_point() else u.numpy(),
                           v.float().numpy() if v.is_floating_point() else v.numpy(), rtol, atol, k)
        elif isinstance(u, np.ndarray):
            out += _arrays(u, v, rtol, atol, k)
        elif not k.startswith("/rng"):
            out += _close_json(_norm(u, roots), _norm(v, roots), rtol, atol, k)
    return out


def compare_file(a: Path, b: Path, rtol: float, atol: float, roots: tuple[str, str]) -> list[str]:
    """Differences between two files of the same name (empty: they agree)."""
    suffix = a.suffix.lower()
    if suffix == ".json":
        x, y = (_norm(json.loads(p.read_text()), roots) for p in (a, b))
        return _close_json(x, y, rtol, atol)
    if suffix == ".nc":
        return _netcdf(a, b, rtol, atol)
    if suffix in (".tif", ".tiff"):
        return _raster(a, b, rtol, atol)
    if suffix in (".gpkg", ".geojson"):
        return _vector(a, b, rtol, atol, roots)
    if suffix == ".csv":
        return _table(a, b, rtol, atol, roots)
    if suffix == ".pt":
        return _checkpoint(a, b, rtol, atol, roots)
    if suffix == ".npy":
        return _arrays(np.load(a), np.load(b), rtol, atol, "array")
    if suffix == ".kml":
        x, y = (p.read_text().replace(r, "<run>") for p, r in ((a, roots[0]), (b, roots[1])))
        return [] if x == y else ["KML text differs"]
    return ["bytes differ"]


def compare(a: Path, b: Path, rtol: float = 1e-5, atol: float = 1e-6) -> dict:
    """{"identical": [...], "equal_within_tolerance": [...], "different": {path: [why]}, "missing": [...],
    "new": [...]} over the result files of two run folders."""
    def files(root: Path) -> set[str]:
        return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()
                and p.relative_to(root).parts[0] not in SKIP_DIRS and not p.name.startswith(".")}

    fa, fb = files(a), files(b)
    roots = (str(a.resolve()), str(b.resolve()))
    out = {"identical": [], "equal_within_tolerance": [], "different": {}, "missing": sorted(fa - fb),
           "new": sorted(fb - fa)}
    for rel in sorted(fa & fb):
        pa, pb = a / rel, b / rel
        if pa.stat().st_size == pb.stat().st_size and _sha(pa) == _sha(pb):
            out["identical"].append(rel)
            continue
        why = compare_file(pa, pb, rtol, atol, roots)
        if why:
            out["different"][rel] = why
        else:
            out["equal_within_tolerance"].append(rel)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("a", type=Path)
    p.add_argument("b", type=Path)
    p.add_argument("--rtol", type=float, default=1e-5)
    p.add_argument("--atol", type=float, default=1e-6)
    p.add_argument("--json", type=Path, help="write the full result here")
    args = p.parse_args(argv)
    r = compare(args.a, args.b, args.rtol, args.atol)
    print(f"{len(r['identical'])} files byte-identical, {len(r['equal_within_tolerance'])} equal within "
          f"rtol {args.rtol:g} / atol {args.atol:g}, {len(r['different'])} different, {len(r['missing'])} missing "
          f"in {args.b}, {len(r['new'])} new in {args.b}")
    for rel in r["equal_within_tolerance"]:
        print(f"  ~ {rel}")
    for rel, why in r["different"].items():
        print(f"  ✗ {rel}: " + "; ".join(why[:5]))
    for rel in r["missing"]:
        print(f"  - {rel} (missing)")
    for rel in r["new"]:
        print(f"  + {rel} (new)")
    if args.json:
        args.json.write_text(json.dumps(r, indent=2))
    return 1 if r["different"] or r["missing"] else 0


if __name__ == "__main__":
    sys.exit(main())
