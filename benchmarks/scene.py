"""Benchmark: whole-scene detection (issue 6), a paper-size velocity map per model, on this machine's CPU
and on a GPU when present.

Target: the paper's scene (2285 x 3565 px) per model in <= 3 min on 2 CPU cores and <= 5 s on a GPU.
The detectors are untrained (speed does not depend on the weights: the heads always see the same
number of proposals); the map is a synthetic one of the paper's size, or ``--deformation`` (a
Deformation NetCDF, e.g. runs/ahai-synthetic/paper/sbas/ascending.nc). Reported per model and window
stride: windows, seconds, windows/s, peak resident memory; and the ADA baseline on the same map.

    .venv/bin/python benchmarks/scene.py [--size 512] [--strides 256 512] [--out benchmarks/results/scene.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAPER_SHAPE = (3565, 2285)


def synthetic_map(shape=PAPER_SHAPE, pixel_m: float = 12.0, seed: int = 0):
    """A velocity map of the paper's size: smooth noise plus a few elliptical anomalies (mm/yr)."""
    import rioxarray  # noqa: F401
    import xarray as xr
    from affine import Affine

    rng = np.random.default_rng(seed)
    v = rng.normal(0, 2, shape).astype(np.float32)
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    for _ in range(30):
        cy, cx, r = rng.integers(0, shape[0]), rng.integers(0, shape[1]), rng.integers(10, 60)
        v += (-40 * np.exp(-(((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r**2)))).astype(np.float32)
    x = 600000 + pixel_m * (np.arange(shape[1]) + 0.5)
    y = 3060000 - pixel_m * (np.arange(shape[0]) + 0.5)
    ds = xr.Dataset({"velocity": (("y", "x"), v), "valid": (("y", "x"), np.ones(shape, bool)),
                     "temporal_coherence": (("y", "x"), np.full(shape, 0.9, np.float32))},
                    coords={"y": y, "x": x}, attrs={"orbit": "ascending", "incidence_angle": 42.5, "heading": -10.0})
    ds.rio.write_crs("EPSG:32647", inplace=True)
    ds.rio.write_transform(Affine(pixel_m, 0, x[0] - pixel_m / 2, 0, -pixel_m, y[0] + pixel_m / 2), inplace=True)
    return ds


def main():
    import torch

    from lsid.detect.scene import Drawing, detect_scene, window_origins
    from lsid.inventory.baseline import active_areas
    from lsid.models import build

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=512, help="window (tile) size, px (the paper: 512)")
    ap.add_argument("--strides", type=int, nargs="*", default=None, help="window steps, px (default: size/2 and size)")
    ap.add_argument("--models", nargs="*", default=["faster_rcnn_vgg16", "crf_faster_rcnn"])
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--deformation", default=None, help="a Deformation NetCDF instead of the synthetic map")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "scene.json"))
    a = ap.parse_args()
    if a.deformation:
        from lsid.io.netcdf import open_netcdf

        defo = open_netcdf(a.deformation, chunks=None).drop_vars("displacement", errors="ignore").load()
        source = a.deformation
    else:
        defo = synthetic_map()
        source = "synthetic map of the paper's size"
    shape = (defo.sizes["y"], defo.sizes["x"])
    device = "cuda" if torch.cuda.is_available() else "cpu"
    key = f"{torch.cuda.get_device_name(0) if device == 'cuda' else f'cpu x{torch.get_num_threads()}'} @ {a.size} px"
    entry = {"date": time.strftime("%Y-%m-%d"), "python": platform.python_version(), "torch": torch.__version__,
             "scene_px": list(shape), "source": source, "batch": a.batch, "models": {}}
    strides = a.strides or [a.size // 2, a.size]
    for name in a.models:
        torch.manual_seed(0)
        model = build(name, 3, a.size, box_score_thresh=0.01).to(device).eval()
        model(([torch.rand(3, a.size, a.size, device=device)]))  # warm-up (kernels, allocator)
        entry["models"][name] = {}
        for stride in strides:
            n = len(window_origins(shape, a.size, stride))
            if device == "cuda":
                torch.cuda.synchronize()
            t = time.perf_counter()
            gdf = detect_scene(model, defo, Drawing("rendered", a.size, 40.0), stride=stride, batch_size=a.batch,
                               score_threshold=0.5, device=device)
            if device == "cuda":
                torch.cuda.synchronize()
            s = time.perf_counter() - t
            r = {"windows": n, "seconds": round(s, 1), "windows_per_s": round(n / s, 2), "boxes": len(gdf),
                 "target_s": 5 if device == "cuda" else 180}
            r["meets_target"] = s <= r["target_s"]
            entry["models"][name][f"stride {stride}"] = r
            print(name, stride, json.dumps(r), flush=True)
    t = time.perf_counter()
    areas, _ = active_areas(defo)
    entry["ada_seconds"] = round(time.perf_counter() - t, 1)
    entry["peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)
    out = Path(a.out)
    results = json.loads(out.read_text()) if out.exists() else {}
    results[key] = entry
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(json.dumps(entry, indent=1))


if __name__ == "__main__":
    main()
