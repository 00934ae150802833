"""Write a synthetic area of interest to disk: Stacks per track plus every truth file.

The files (``stacks/``, ``truth/``, ``synth/manifest.json``) are those of :class:`lsid.layout.RunLayout`
(the Stack contract: docs/design.md). A folder whose manifest matches the parameters and the
generator's code is complete and is not generated again; :mod:`lsid.synth.stage` is the stage.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import dask
import pandas as pd

import lsid
from lsid.config import AOIConfig
from lsid.io.atomic import atomic_path, ensure_writable_dir
from lsid.io.netcdf import write_netcdf
from lsid.layout import ORBITS, RunLayout, as_layout
from lsid.provenance import code_digest, digest, fresh, stamp
from lsid.synth.interferograms import OrbitSimulator
from lsid.synth.products import features_frame, sources_frame, stack_dataset, terrain_dataset, truth_dataset
from lsid.synth.scene import Scene

log = logging.getLogger(__name__)

#: Noisy float32 phase shrinks only 20-40 % under zlib, at about 1 s per paper-size pair (more than
#: computing the pair): it is stored uncompressed. Coherence (one byte) and the mostly-zero truth
#: layers stay compressed. Measured with benchmarks/synth.py.
STACK_ENCODING = {"unwrapped_phase": {"zlib": False}}


def output_paths(run_dir: str | Path | RunLayout) -> dict[str, Path]:
    """Paths of every file :func:`generate` writes (keys: ``stack_<orbit>``, ``truth_<orbit>``,
    ``terrain``, ``landslides``, ``distractors``, ``features``, ``unwrapping_errors``, ``manifest``)."""
    lay = as_layout(run_dir)
    paths = {f"stack_{o}": lay.stack(o) for o in ORBITS}
    paths.update({f"truth_{o}": lay.truth(o) for o in ORBITS})
    paths.update({"terrain": lay.terrain, "landslides": lay.true_landslides, "distractors": lay.true_distractors,
                  "features": lay.true_features, "unwrapping_errors": lay.unwrapping_errors,
                  "manifest": lay.synth_manifest})
    return paths


def _digest(aoi: AOIConfig) -> str:
    """The generation's cache key: seed, synth parameters and the generator's code."""
    return digest({"seed": aoi.seed, "synth": aoi.to_dict()["synth"], "code": code_digest(__name__)})


def is_complete(aoi: AOIConfig, run_dir: str | Path) -> bool:
    """True when ``run_dir`` holds a finished generation of exactly these parameters."""
    paths = output_paths(run_dir)
    return fresh(paths["manifest"], _digest(aoi), [p for k, p in paths.items() if k != "manifest"])


def _write_gdf(gdf, target: Path):
    with atomic_path(target) as tmp:
        gdf.to_file(tmp, driver="GeoJSON")


def generate(aoi: AOIConfig, run_dir: str | Path | RunLayout | None = None, force: bool = False,
             n_threads: int = 2, progress: bool = True) -> dict[str, Path]:
    """Generate the synthetic area ``aoi`` into ``run_dir`` (default ``runs/<name>/<profile>``).

    Skips the work when a complete generation with the same parameters is already there (unless
    ``force``). Every file is written atomically and the manifest last, so an interrupted run leaves
    no half-written NetCDF and is redone in full next time.

    Returns the dict of written paths (see :func:`output_paths`).
    """
    lay = as_layout(run_dir if run_dir is not None else aoi.run_dir())
    run_dir = lay.root
    paths = output_paths(lay)
    if not force and is_complete(aoi, run_dir):
        log.info("%s: synthetic data up to date, not regenerated", run_dir)
        return paths
    for folder in (lay.stacks_dir, lay.truth_dir, lay.synth_dir):
        ensure_writable_dir(folder)
    paths["manifest"].unlink(missing_ok=True)
    t0 = time.perf_counter()
    scene = Scene.build(aoi)
    sims = {o: OrbitSimulator(scene, o, n_threads=n_threads) for o in ORBITS}
    with dask.config.set(scheduler="synchronous"):
        write_netcdf(terrain_dataset(scene), paths["terrain"])
        _write_gdf(sources_frame(scene, sims, landslides=True), paths["landslides"])
        _write_gdf(sources_frame(scene, sims, landslides=False), paths["distractors"])
        _write_gdf(features_frame(scene), paths["features"])
        errors = []
        for o, sim in sims.items():
            for k in range(len(sim.pairs)):
                for p in sim.unwrapping_errors(k):
                    errors.append(dict(orbit=o, pair=k, reference_date=str(sim.reference_dates[k]),
                                       secondary_date=str(sim.secondary_dates[k]), **p))
        with atomic_path(paths["unwrapping_errors"]) as tmp:
            pd.DataFrame(errors, columns=["orbit", "pair", "reference_date", "secondary_date", "x", "y", "a", "b",
                                          "angle", "cycles"]).to_csv(tmp, index=False)
        for o, sim in sims.items():
            write_netcdf(truth_dataset(sim), paths[f"truth_{o}"])
            write_netcdf(stack_dataset(sim), paths[f"stack_{o}"], progress=progress,
                         desc=f"{aoi.name} {o}: {len(sim.pairs)} interferograms", encoding=STACK_ENCODING)
    manifest = {
        "aoi": aoi.name,
        "profile": aoi.profile,
        "seed": aoi.seed,
        "lsid_version": lsid.__version__,
        "parameters": aoi.to_dict(),
        "files": {k: str(p.relative_to(run_dir)) for k, p in paths.items() if k != "manifest"},
        "pairs": {o: int(len(s.pairs)) for o, s in sims.items()},
        "dates": {o: int(s.dates.size) for o, s in sims.items()},
    }
    # last: the stamp records every file's size and sample hash, so that a deleted or damaged one regenerates
    stamp(paths["manifest"], _digest(aoi), products=[p for k, p in paths.items() if k != "manifest"], **manifest)
    log.info("%s: generated in %.1f s", run_dir, time.perf_counter() - t0)
    return paths
