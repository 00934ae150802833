"""Colour maps shared by the tiles (:mod:`lsid.tiles.render`) and the figures (:mod:`lsid.plots`).

A leaf module: it imports matplotlib's colour-map registry only (no pyplot, nothing of lsid), so the
tile renderer below the figures does not depend on them.
"""

from __future__ import annotations

from matplotlib import colormaps

#: Diverging map for LOS velocity as in Dong et al. (2026), Fig. 8: blue = towards the satellite
#: (positive), red = away (negative). Called with values in [0, 1]: 0 = -range, 0.5 = 0 mm/yr, 1 = +range.
VELOCITY_CMAP = colormaps["RdBu"]

__all__ = ["VELOCITY_CMAP"]
