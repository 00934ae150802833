"""Benchmark: the cost of the pretraining corpus (issue 13), per area and in all, from its manifest.

Builds the corpus first when ``--build N`` is given (``lsid corpus``), then reads ``manifest.json``:
seconds per step (synth, SBAS, tiles) per area (mean, median, 95th percentile), bytes per area, tiles
and boxes per split, the spread of the drawn parameters the detector saw (native pixel size, turbulence)
and the wall time of the build when this run made it. Writes benchmarks/results/corpus.json.

    .venv/bin/python benchmarks/corpus.py [--root runs/corpus] [--build 160 --workers 2] [--wall-seconds S]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def summarise(manifest: dict) -> dict:
    areas = manifest["areas"]

    def stats(values) -> dict:
        v = np.asarray(values, dtype=float)
        return {"mean": round(float(v.mean()), 2), "median": round(float(np.median(v)), 2),
                "p95": round(float(np.percentile(v, 95)), 2), "max": round(float(v.max()), 2)}

    seconds = {k: stats([a["seconds"].get(k, 0.0) for a in areas]) for k in ("synth", "sbas", "tiles")}
    seconds["total"] = stats([sum(a["seconds"].values()) for a in areas])
    return {
        "areas": len(areas), "splits": manifest["splits"], "tiles": manifest["tiles"],
        "boxes": {s: int(sum(a["boxes"] for a in areas if a["split"] == s)) for s in ("train", "val", "test")},
        "ignored": {r: int(sum(a["ignored"][r] for a in areas)) for r in ("partial", "invisible", "small")},
        "landslides": int(sum(a["landslides"] for a in areas)),
        "landslides_visible_in_an_orbit": int(sum(a["visible_in_an_orbit"] for a in areas)),
        "seconds_per_area": seconds, "megabytes_per_area": stats([a["bytes"] / 1e6 for a in areas]),
        "megabytes_total": round(sum(a["bytes"] for a in areas) / 1e6, 1),
        "native_pixel_m": stats([a["native_pixel_m"] for a in areas]),
        "turbulence_std_mm": stats([a["turbulence_std_mm"] for a in areas]),
        "digest": manifest["digest"],
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default=str(ROOT / "runs" / "corpus"))
    ap.add_argument("--build", type=int, help="build (or complete) a corpus of this many areas first")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--wall-seconds", type=float, help="wall time of a build made earlier (recorded as given)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "corpus.json"))
    a = ap.parse_args(argv)
    wall = a.wall_seconds
    if a.build:
        from lsid.corpus.build import build_corpus

        t0 = time.perf_counter()
        build_corpus(a.root, a.build, workers=a.workers)
        wall = time.perf_counter() - t0
    from lsid.corpus.build import read_manifest

    r = summarise(read_manifest(a.root))
    r.update(build_wall_seconds=wall, workers=a.workers, machine={"cpus": os.cpu_count(),
                                                                   "python": platform.python_version()},
             date=time.strftime("%Y-%m-%d"))
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(r, indent=2) + "\n")
    print(json.dumps(r, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
