"""Benchmark: the SBAS inversion on a paper-size synthetic stack, and side by side with MintPy.

Targets (issue 3), 2 cores / 24 GB: paper-size stack (2285 x 3565 px, ~216 pairs, 88 dates)
unweighted <= 60 s wall, coherence-weighted <= 5 min, peak memory <= 8 GB; against MintPy 1.6 on a
500 x 500 crop: >= 10x faster, displacement within 0.01 mm on fully valid pixels.

    .venv/bin/python benchmarks/sbas.py [--profile paper] [--mintpy-python /path/to/mintpy-venv/bin/python]

The paper-profile synthetic area is generated into runs/ first when it is missing (about 9 min).
MintPy is not a dependency of lsid: install it in a separate venv (python3 -m venv /tmp/mpvenv &&
/tmp/mpvenv/bin/pip install mintpy==1.6.4) and pass its python. Results: benchmarks/results/sbas.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AOI = ROOT / "data" / "aoi" / "ahai-synthetic.yaml"

INVERT = """
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
from lsid.config import load_aoi
from lsid.io import open_stack
from lsid.sbas import invert, select_network
cfg = load_aoi(sys.argv[1], sys.argv[2])
stack = open_stack(sys.argv[3])
kept, table = select_network(stack, min_mean_coherence=cfg.sbas.min_mean_coherence,
                             max_pairs=(cfg.sbas.max_pairs or {}).get(stack.attrs["orbit"]))
t0 = time.perf_counter()
d = invert(kept, weight=sys.argv[4], reference_point="auto")
sec = time.perf_counter() - t0
print(json.dumps({"seconds": sec, "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2,
                  "pairs": int(kept.sizes["pair"]), "dates": int(d.sizes["time"]), "pixels": int(d.velocity.size),
                  "valid_share": float(d.valid.values.mean())}))
"""

MINTPY = """
import json, os, sys, time, h5py, numpy as np
os.chdir(sys.argv[2])
from mintpy.cli import ifgram_inversion
t0 = time.perf_counter()
ifgram_inversion.main([sys.argv[1], "-w", sys.argv[3], "-o", "timeseries.h5", "temporalCoherence.h5",
                       "numInvIfgram.h5"])
sec = time.perf_counter() - t0
with h5py.File("timeseries.h5") as f:
    np.save("ts.npy", f["timeseries"][:] * 1000.0)
print(json.dumps({"seconds": sec}))
"""


def run_child(code: str, *args, python=sys.executable, cwd=None) -> dict:
    proc = subprocess.run([python, "-c", code, *map(str, args)], capture_output=True, text=True, cwd=cwd)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def paper_size(profile: str) -> dict:
    from lsid.config import load_aoi
    from lsid.layout import RunLayout
    from lsid.synth import generate, is_complete

    cfg = load_aoi(AOI, profile)
    layout = RunLayout.of(cfg, ROOT / "runs")
    if not is_complete(cfg, layout.root):
        t0 = time.perf_counter()
        generate(cfg, layout)
        print(f"generated {layout.root} in {time.perf_counter() - t0:.0f} s", flush=True)
    stack = layout.stack("ascending")
    out = {}
    for weight, target in (("no", 60), ("var", 300)):
        r = run_child(INVERT, AOI, profile, stack, weight)
        r.update(target_seconds=target, meets_target=r["seconds"] <= target and r["peak_rss_gb"] <= 8)
        out[weight] = r
        print(weight, json.dumps(r), flush=True)
    return out


def versus_mintpy(mintpy_python: str, crop: int) -> dict:
    """lsid and MintPy on the same crop of the cpu-profile ascending stack."""
    import numpy as np

    from lsid.config import load_aoi
    from lsid.io import open_netcdf, open_stack
    from lsid.io.mintpy import write_mintpy_stack
    from lsid.layout import RunLayout
    from lsid.sbas import invert
    from lsid.synth import generate

    cfg = load_aoi(AOI, "cpu")
    layout = RunLayout.of(cfg, ROOT / "runs")
    generate(cfg, layout)
    stack = open_stack(layout.stack("ascending"), chunks=None)
    ny, nx = stack.sizes["y"], stack.sizes["x"]
    r0, c0 = (ny - crop) // 2, (nx - crop) // 2
    sub = stack.isel(y=slice(r0, r0 + crop), x=slice(c0, c0 + crop)).load()
    truth = open_netcdf(layout.truth("ascending"), chunks=None).isel(
        y=slice(r0, r0 + crop), x=slice(c0, c0 + crop))
    out = {"crop": [crop, crop], "pairs": int(sub.sizes["pair"])}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        lsid_ref = invert(sub, "no", reference_point="auto")
        r, c = lsid_ref.attrs["reference_row"], lsid_ref.attrs["reference_col"]
        h5 = write_mintpy_stack(sub, tmp / "ifgramStack.h5", looks=cfg.sbas.looks)
        import h5py

        with h5py.File(h5, "a") as f:
            f.attrs.update({"REF_Y": str(r), "REF_X": str(c)})
        full = np.isfinite(sub.unwrapped_phase.values).all(axis=0)
        # MintPy drops any observation equal to exactly 0 after referencing (its no-data value); with
        # float32 phases that happens at a few valid pixels, where MintPy then solves with one pair less.
        referenced = sub.unwrapped_phase.values - sub.unwrapped_phase.values[:, r, c][:, None, None]
        zero_seen = (referenced == 0).any(axis=0)
        zero_seen[r, c] = False
        for weight in ("no", "var"):
            t0 = time.perf_counter()
            d = invert(sub, weight, looks=cfg.sbas.looks, reference_point=(float(sub.x[c]), float(sub.y[r])))
            t_lsid = time.perf_counter() - t0
            m = run_child(MINTPY, h5, tmp, weight, python=mintpy_python)
            ts = np.load(tmp / "ts.npy")
            diff_all = np.abs(ts - d.displacement.values)
            diff = diff_all[:, full]
            same_obs = full & ~zero_seen
            tv = truth.velocity.values - truth.velocity.values[r, c]
            days = (d.time.values - d.time.values[0]).astype("timedelta64[D]").astype(float) / 365.25
            v_mp = np.polyfit(days, ts.reshape(ts.shape[0], -1), 1)[0].reshape(ts.shape[1:])
            ok = d.valid.values
            out[weight] = {
                "lsid_seconds": round(t_lsid, 2), "mintpy_seconds": round(m["seconds"], 2),
                "speedup": round(m["seconds"] / t_lsid, 1),
                "max_abs_diff_mm_full_pixels": float(diff.max()),
                "median_abs_diff_mm_full_pixels": float(np.median(diff)),
                "full_pixels": int(full.sum()),
                "full_pixels_over_0.01mm": int((diff.max(axis=0) > 0.01).sum()),
                "full_pixels_where_mintpy_dropped_a_zero_phase": int((full & zero_seen).sum()),
                "max_abs_diff_mm_same_observations": float(diff_all[:, same_obs].max()),
                "velocity_rmse_vs_truth_lsid": float(np.sqrt(np.mean((d.velocity.values[ok] - tv[ok]) ** 2))),
                "velocity_rmse_vs_truth_mintpy": float(np.sqrt(np.mean((v_mp[ok] - tv[ok]) ** 2))),
            }
            print("mintpy", weight, json.dumps(out[weight]), flush=True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", default="paper")
    ap.add_argument("--skip-paper-size", action="store_true")
    ap.add_argument("--mintpy-python", help="python of a venv with mintpy installed")
    ap.add_argument("--crop", type=int, default=500)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "sbas.json"))
    args = ap.parse_args()
    out = Path(args.out)
    results = json.loads(out.read_text()) if out.exists() else {}
    results["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "date": time.strftime("%Y-%m-%d")}
    if not args.skip_paper_size:
        results[f"{args.profile}_size"] = paper_size(args.profile)
    if args.mintpy_python:
        results["versus_mintpy"] = versus_mintpy(args.mintpy_python, args.crop)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
