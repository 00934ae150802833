"""Cross-check of the MintPy-results reader: MintPy 1.6's own output files, read by
``lsid.io.mintpy_results.open_mintpy_results``, against lsid's inversion of the same interferograms.

A crop of the cpu-profile ascending stack is written as ifgramStack.h5; MintPy (in a separate venv)
runs ifgram_inversion (no weights), timeseries2velocity and generate_mask (temporal coherence 0.7);
lsid reads the results folder and inverts the same stack with the same reference pixel. Reported: grid
and CRS equality, the reference point, the largest displacement and velocity differences, and the
agreement of the reliability masks. Not a test: it needs MintPy, which is not a dependency.

    python3 -m venv /tmp/mpvenv && /tmp/mpvenv/bin/pip install mintpy==1.6.4
    .venv/bin/python benchmarks/mintpy_results.py --mintpy-python /tmp/mpvenv/bin/python

Results: benchmarks/results/mintpy_results.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MINTPY = """
import sys
from mintpy.cli import generate_mask, ifgram_inversion, timeseries2velocity
ifgram_inversion.main(["ifgramStack.h5", "-w", "no", "-o", "timeseries.h5", "temporalCoherence.h5", "numInvIfgram.h5"])
timeseries2velocity.main(["timeseries.h5", "-o", "velocity.h5"])
generate_mask.main(["temporalCoherence.h5", "-m", sys.argv[1], "-o", "maskTempCoh.h5"])
"""


def main():
    import h5py
    import numpy as np

    from lsid.config import load_aoi
    from lsid.io import open_stack
    from lsid.io.mintpy import write_mintpy_stack
    from lsid.io.mintpy_results import find_mintpy_results, open_mintpy_results
    from lsid.layout import RunLayout
    from lsid.sbas import invert
    from lsid.synth import generate

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mintpy-python", required=True, help="python of a venv with mintpy installed")
    ap.add_argument("--crop", type=int, default=300)
    ap.add_argument("--min-temporal-coherence", type=float, default=0.7)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "mintpy_results.json"))
    args = ap.parse_args()

    cfg = load_aoi(ROOT / "data" / "aoi" / "ahai-synthetic.yaml", "cpu")
    layout = RunLayout.of(cfg, ROOT / "runs")
    generate(cfg, layout)  # reused when already there
    stack = open_stack(layout.stack("ascending"), chunks=None)
    ny, nx, c = stack.sizes["y"], stack.sizes["x"], args.crop
    sub = stack.isel(y=slice(ny // 2 - c // 2, ny // 2 + c // 2), x=slice(nx // 2 - c // 2, nx // 2 + c // 2)).load()
    auto = invert(sub, "no", reference_point="auto")
    r, col = auto.attrs["reference_row"], auto.attrs["reference_col"]
    with tempfile.TemporaryDirectory(prefix="lsid-mintpy-results-") as tmp:
        tmp = Path(tmp)
        h5 = write_mintpy_stack(sub, tmp / "ifgramStack.h5", looks=cfg.sbas.looks)
        with h5py.File(h5, "a") as f:
            f.attrs.update({"REF_Y": str(r), "REF_X": str(col), "ORBIT_DIRECTION": "ASCENDING"})
        t0 = time.perf_counter()
        proc = subprocess.run([args.mintpy_python, "-c", MINTPY, str(args.min_temporal_coherence)], cwd=tmp,
                              capture_output=True, text=True)
        if proc.returncode:
            sys.exit(f"MintPy failed:\n{proc.stderr[-3000:]}")
        t_mintpy = time.perf_counter() - t0
        files = {k: v.name for k, v in find_mintpy_results(tmp).items()}
        m = open_mintpy_results(tmp)
        d = invert(sub, "no", reference_point=(float(sub.x[col]), float(sub.y[r])),
                   min_temporal_coherence=args.min_temporal_coherence)
        full = np.isfinite(sub.unwrapped_phase.values).all(axis=0)
        both = full & m.valid.values & d.valid.values
        dv = np.abs(m.velocity.values - d.velocity.values)[both]
        dd = np.abs(m.displacement.values - d.displacement.values)[:, full]
        out = {
            "date": time.strftime("%Y-%m-%d"), "crop": [c, c], "pairs": int(sub.sizes["pair"]),
            "mintpy_files_found": files, "mintpy_seconds": round(t_mintpy, 1),
            "same_grid_and_crs": bool(np.allclose(m.x, d.x) and np.allclose(m.y, d.y) and m.rio.crs == d.rio.crs),
            "reference_point_equal": [m.attrs["reference_x"], m.attrs["reference_y"]]
            == [float(sub.x[col]), float(sub.y[r])],
            "displacement_max_abs_diff_mm_full_pixels": float(np.nanmax(dd)),
            "velocity_max_abs_diff_mm_yr": float(dv.max()), "velocity_median_abs_diff_mm_yr": float(np.median(dv)),
            "valid_share_mintpy": float(m.valid.values.mean()), "valid_share_lsid": float(d.valid.values.mean()),
            "valid_masks_agree_share": float((m.valid.values == d.valid.values).mean()),
        }
    print(json.dumps(out, indent=2))
    Path(args.out).write_text(json.dumps(out, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
