"""Session fixtures (a smoke-profile area through the stages). Shared constants and helpers live in
tests/helpers.py."""

import os

import pytest

from tests.helpers import AOI

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
    from lsid.layout import RunLayout
    from lsid.sbas import stage

    stage.run(smoke_aoi, RunLayout(smoke_run))
    return smoke_run


@pytest.fixture(scope="session")
def smoke_tiles(smoke_aoi, smoke_sbas):
    """(summary, tiles folder) of the smoke area's TileSet."""
    from lsid.layout import RunLayout
    from lsid.tiles import stage

    layout = RunLayout(smoke_sbas)
    return stage.run(smoke_aoi, layout), layout.tiles_dir
