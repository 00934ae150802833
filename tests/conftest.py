import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
AOI = ROOT / "data" / "aoi" / "ahai-synthetic.yaml"
REALDATA = ROOT.parent / "shared" / "realdata"

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def smoke_aoi():
    from lsid.config import load_aoi

    return load_aoi(AOI, "smoke")


@pytest.fixture(scope="session")
def smoke_scene(smoke_aoi):
    from lsid.synth import Scene

    return Scene.build(smoke_aoi)


@pytest.fixture(scope="session")
def smoke_run(smoke_aoi, tmp_path_factory):
    """A generated smoke-profile area (both tracks and truth) in a temporary folder."""
    from lsid.synth import generate

    run_dir = tmp_path_factory.mktemp("smoke_run")
    generate(smoke_aoi, run_dir, progress=False)
    return run_dir


@pytest.fixture(scope="session")
def smoke_sbas(smoke_aoi, smoke_run):
    """The smoke area with both tracks inverted (runs/<...>/sbas)."""
    from lsid.sbas.stage import run_track

    for orbit in ("ascending", "descending"):
        run_track(smoke_aoi, orbit, smoke_run)
    return smoke_run


@pytest.fixture(scope="session")
def smoke_tiles(smoke_aoi, smoke_sbas):
    """(summary, tiles folder) of the smoke area's TileSet."""
    from lsid.tiles import build_tileset, output_dir

    summary = build_tileset(smoke_aoi, smoke_sbas)
    return summary, output_dir(smoke_sbas)
