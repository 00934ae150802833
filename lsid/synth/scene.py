"""The synthetic scene: grid, terrain and deformation sources, built deterministically from an AOI."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from lsid.config import AOIConfig
from lsid.synth.grid import Grid
from lsid.synth.sources import Source, place_distractors, place_landslides
from lsid.synth.terrain import Terrain, make_terrain

log = logging.getLogger(__name__)

#: Random streams: every random choice draws from ``default_rng([seed, STREAM, ...])``, so each part
#: of the scene (and each date or pair) is reproducible on its own, in any order.
STREAMS = {"terrain": 1, "landslides": 2, "distractors": 3, "ascending": 10, "descending": 20}


def rng_for(seed: int, *keys: int) -> np.random.Generator:
    """The random generator of one stream (``keys``) of a seeded run."""
    return np.random.default_rng([int(seed), *map(int, keys)])


@dataclass
class Scene:
    """A synthetic area of interest: its parameters, grid, terrain and deformation sources."""

    aoi: AOIConfig
    grid: Grid
    terrain: Terrain
    sources: list[Source]

    @classmethod
    def build(cls, aoi: AOIConfig) -> "Scene":
        """Build the terrain and place landslides and distractors (deterministic from ``aoi.seed``)."""
        cfg = aoi.synth
        grid = Grid.from_config(cfg.grid)
        terrain = make_terrain(cfg.terrain, grid, rng_for(aoi.seed, STREAMS["terrain"]))
        acq = cfg.acquisitions
        slides, placer = place_landslides(
            cfg.landslides, terrain, cfg.terrain.reservoir_level_m, acq.start, acq.end,
            rng_for(aoi.seed, STREAMS["landslides"]),
        )
        distractors = place_distractors(
            cfg.distractors, terrain, acq.start, acq.end, rng_for(aoi.seed, STREAMS["distractors"]), placer
        )
        log.info("scene %s: %d landslide polygons, %d distractors", aoi.name, len(slides), len(distractors))
        return cls(aoi=aoi, grid=grid, terrain=terrain, sources=slides + distractors)

    @property
    def landslides(self) -> list[Source]:
        return [s for s in self.sources if s.is_landslide]

    @property
    def distractors(self) -> list[Source]:
        return [s for s in self.sources if not s.is_landslide]
