"""Benchmark: building the deformation-map TileSet (issue 4), time and peak memory per profile.

Targets (issue 4, item 11): the cpu-profile TileSet <= 2 min and the paper-profile TileSet <= 15 min on
2 cores. The TileSet stage reads the SBAS stage's Deformations (``<run>/sbas/<orbit>.nc``) and, for a
synthetic area, the truth inventory (``<run>/truth/landslides.geojson``); make them first with

    .venv/bin/lsid run --aoi data/aoi/ahai-synthetic.yaml --profile cpu --only sbas
    .venv/bin/lsid run --aoi data/aoi/ahai-synthetic.yaml --profile paper --only sbas   # ~25 GB, ~20 min

then run on demand:

    .venv/bin/python benchmarks/tiles.py --profile cpu [--profile paper] [--run-root runs]

Each profile builds in a child process (its peak resident memory measured alone) into a temporary
run folder that links the SBAS and truth outputs and is deleted afterwards, so an existing TileSet is
neither reused nor touched. Both channel modes (rendered and physical) are written, as in the pipeline.
Results are merged into benchmarks/results/tiles.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _results import record_profiles  # benchmarks/ is on sys.path when a script runs

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = {"smoke": 30, "cpu": 120, "paper": 900}
AOI = ROOT / "data" / "aoi" / "ahai-synthetic.yaml"

CHILD = """
import json, sys, time
from lsid.config import load_aoi
from lsid.tiles import build_tileset
cfg = load_aoi(sys.argv[1], sys.argv[2])
t0 = time.perf_counter()
summary = build_tileset(cfg, sys.argv[3], force=True, progress=False)
keys = ("maps_per_orbit", "crops", "passes_quality", "kept", "kept_positive", "kept_negative", "augmented", "boxes")
print(json.dumps({"seconds": time.perf_counter() - t0, "counts": {k: summary[k] for k in keys}}))
"""


def bench(profile: str, run_root: Path) -> dict:
    """Build one profile's TileSet from the SBAS outputs under ``run_root/<area>/<profile>``."""
    from lsid.config import load_aoi
    from lsid.layout import RunLayout

    cfg = load_aoi(AOI, profile)
    src = RunLayout.of(cfg, run_root)
    needed = [src.sbas_dir, src.truth_dir]
    missing = [str(p) for p in needed if not p.is_dir()]
    if missing:
        sys.exit(f"{', '.join(missing)} missing: run `lsid run --aoi {AOI.relative_to(ROOT)} --profile {profile} "
                 f"--only sbas` first (or pass --run-root)")
    tmp = Path(tempfile.mkdtemp(prefix=f"lsid-bench-tiles-{profile}-", dir=run_root))
    try:
        for p in needed:
            os.symlink(p.resolve(), tmp / p.name)
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", CHILD, str(AOI), profile, str(tmp)],
                              capture_output=True, text=True, cwd=ROOT)
        wall = time.perf_counter() - t0
        if proc.returncode:
            sys.exit(f"TileSet build failed:\n{proc.stderr[-3000:]}")
        inner = json.loads(proc.stdout.strip().splitlines()[-1])
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        size = sum(p.stat().st_size for p in RunLayout(tmp).tiles_dir.rglob("*") if p.is_file())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    c = inner["counts"]
    return {
        "profile": profile,
        "tile_px": cfg.tiles.size,
        "build_seconds": round(inner["seconds"], 1),
        "process_seconds": round(wall, 1),
        "target_seconds": TARGET_S[profile],
        "meets_target": inner["seconds"] <= TARGET_S[profile],
        "peak_rss_gb": round(peak_kb / 1024**2, 2),
        "output_mb": round(size / 1024**2, 1),
        "counts": c,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", action="append", choices=sorted(TARGET_S), help="profile(s) to time (default cpu)")
    ap.add_argument("--run-root", default=str(ROOT / "runs"), help="where the runs with SBAS outputs are")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "tiles.json"))
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    record_profiles(Path(args.out), args.profile or ["cpu"], lambda p: bench(p, Path(args.run_root)))


if __name__ == "__main__":
    main()
