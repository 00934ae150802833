"""The results file shared by the per-profile benchmarks (synth.py, tiles.py)."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Callable, Iterable


def record_profiles(out: Path, profiles: Iterable[str], bench: Callable[[str], dict]) -> None:
    """Run ``bench(profile)`` for each profile, stamp the machine and the date, print the result and
    merge it into the JSON file ``out`` (keyed by profile) after each one, so that a later failure
    keeps the profiles already measured."""
    out = Path(out)
    results = json.loads(out.read_text()) if out.exists() else {}
    machine = {"cpus": os.cpu_count(), "python": platform.python_version(), "machine": platform.machine()}
    for profile in profiles:
        r = bench(profile)
        r["machine"] = machine
        r["date"] = time.strftime("%Y-%m-%d")
        results[profile] = r
        print(json.dumps(r, indent=2), flush=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
