"""Benchmark: time and peak memory of generating the synthetic area (both tracks and all truth).

Targets (issue 2): cpu profile <= 2 min, paper profile (both orbits) <= 15 min on 2 cores, in
bounded memory. Run on demand:

    .venv/bin/python benchmarks/synth.py --profile cpu [--profile paper] [--out benchmarks/results/synth.json]

Each profile runs in a child process (so its peak resident memory is measured alone) into a
temporary folder that is deleted afterwards; results are merged into the JSON file.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _results import record_profiles  # benchmarks/ is on sys.path when a script runs

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = {"smoke": 10, "cpu": 120, "paper": 900}

CHILD = """
import json, sys, time
from lsid.config import load_aoi
from lsid.synth import generate
aoi = load_aoi(sys.argv[1], sys.argv[2])
t0 = time.perf_counter()
paths = generate(aoi, sys.argv[3], force=True, n_threads=int(sys.argv[4]), progress=False)
print(json.dumps({"seconds": time.perf_counter() - t0}))
"""


def bench(profile: str, threads: int) -> dict:
    from lsid.layout import RunLayout

    aoi = ROOT / "data" / "aoi" / "ahai-synthetic.yaml"
    out = Path(tempfile.mkdtemp(prefix=f"lsid-bench-{profile}-"))
    try:
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", CHILD, str(aoi), profile, str(out), str(threads)],
                              capture_output=True, text=True, check=True)
        wall = time.perf_counter() - t0
        inner = json.loads(proc.stdout.strip().splitlines()[-1])
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        manifest = json.loads(RunLayout(out).synth_manifest.read_text())
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return {
        "profile": profile,
        "generate_seconds": round(inner["seconds"], 1),
        "process_seconds": round(wall, 1),
        "target_seconds": TARGET_S[profile],
        "meets_target": inner["seconds"] <= TARGET_S[profile],
        "peak_rss_gb": round(peak_kb / 1024**2, 2),
        "output_gb": round(size / 1024**3, 2),
        "dates": manifest["dates"],
        "pairs": manifest["pairs"],
        "threads": threads,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", action="append", choices=sorted(TARGET_S), help="profile(s) to time (default cpu)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "synth.json"))
    args = ap.parse_args()
    record_profiles(Path(args.out), args.profile or ["cpu"], lambda p: bench(p, args.threads))


if __name__ == "__main__":
    main()
