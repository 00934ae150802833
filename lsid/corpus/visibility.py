"""Which slides a map can show at all: each slide's signal-to-noise ratio in each orbit's mean-velocity
map, measured as the corpus labels it (:func:`lsid.corpus.area.survey_orbit` at the model's pixel
size, :mod:`lsid.tiles.labels` rules), for any area with known slides (the built-in areas, a corpus
area). Scene-level scores use it for the recall of the visible slides beside the recall of all slides.

A module of its own (not in :mod:`lsid.corpus.area`) so that the corpus's cache keys do not change
when this scoring helper does.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import xarray as xr

from lsid.corpus.area import CorpusSpec, survey_orbit, visibility_table

#: Layers of a Deformation the visibility survey reads.
LAYERS = ("velocity", "valid", "temporal_coherence", "dem")


def slide_visibility(defos: dict[str, xr.Dataset], truth: gpd.GeoDataFrame, spec: CorpusSpec | None = None
                     ) -> pd.DataFrame:
    """One row per (slide, orbit): ``id``, ``orbit``, ``snr`` (best over the windows that hold the slide
    whole; NaN where none does or the orbit is absent) and ``visible`` (``snr >= spec.min_snr``).

    ``defos``: {orbit: Deformation} (mean velocity, validity; coherence and DEM when present) on any
    projected grid; ``truth``: the slide polygons (any CRS, an ``id`` column)."""
    from lsid.io.crs import to_pixel_size
    from lsid.tiles.labels import load_inventory

    spec = spec or CorpusSpec()
    surveys, inv = [], None
    for orbit, defo in defos.items():
        mean = to_pixel_size(defo[[k for k in LAYERS if k in defo]], spec.pixel_m)
        if inv is None:
            inv = load_inventory(truth, mean.rio.crs, mean.rio.bounds())
        surveys += survey_orbit(orbit, mean, [], inv, spec)
    vis = visibility_table(surveys, inv)
    vis["visible"] = vis.snr >= spec.min_snr
    return vis


__all__ = ["slide_visibility"]
