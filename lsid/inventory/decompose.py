"""From LOS velocities to motion on the ground.

- :func:`asc_desc_to_vertical_horizontal`: two LOS rates of the same ground (ascending and descending)
  solved for a vertical and one horizontal component (along ``horizontal_azimuth_deg``, east by
  default), the north component taken as zero because near-polar orbits barely see it — the 2-D
  decomposition of MintPy's ``asc_desc2horz_vert``.
- :func:`los_to_downslope`: one LOS rate projected onto the downslope direction of the terrain,
  assuming the motion is parallel to the slope; left undefined (NaN) where the orbit sees less than
  ``min_sensitivity`` of a downslope motion (the projection would amplify noise).

Conventions as :mod:`lsid.geometry`: LOS positive towards the satellite; up positive; east positive;
downslope velocity positive when moving downhill.
"""

from __future__ import annotations

import numpy as np

from lsid.geometry import downslope_unit_vector, los_unit_vector, project_to_los


def asc_desc_to_vertical_horizontal(v_asc, v_desc, inc_asc, head_asc, inc_desc, head_desc,
                                    horizontal_azimuth_deg: float = 90.0):
    """(v_up, v_horizontal) in the unit of the inputs (mm/yr), from the two LOS rates.

    Parameters: LOS rates (positive towards the satellite), incidence angles and headings (deg) of the
    two orbits; arrays broadcast. Raises nothing: singular geometry (identical LOS) gives NaN."""
    az = np.deg2rad(horizontal_azimuth_deg)
    rows = []
    for inc, head in ((inc_asc, head_asc), (inc_desc, head_desc)):
        le, ln, lu = los_unit_vector(inc, head)
        rows.append((le * np.sin(az) + ln * np.cos(az), lu))
    (h1, u1), (h2, u2) = rows
    det = h1 * u2 - h2 * u1
    with np.errstate(divide="ignore", invalid="ignore"):
        det = np.where(np.abs(det) < 1e-6, np.nan, det)
        v_h = (np.asarray(v_asc) * u2 - np.asarray(v_desc) * u1) / det
        v_up = (h1 * np.asarray(v_desc) - h2 * np.asarray(v_asc)) / det
    return v_up, v_h


def los_to_downslope(v_los, slope_deg, aspect_deg, incidence_deg, heading_deg, min_sensitivity: float = 0.2):
    """Downslope velocity (positive downhill) that would give the LOS rate ``v_los`` for motion parallel to
    the slope; NaN where |LOS . downslope| < ``min_sensitivity``."""
    dot = project_to_los(*downslope_unit_vector(slope_deg, aspect_deg), incidence_deg, heading_deg)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.abs(dot) >= min_sensitivity, np.asarray(v_los, dtype=float) / dot, np.nan)


__all__ = ["asc_desc_to_vertical_horizontal", "los_to_downslope"]
