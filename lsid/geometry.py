"""Radar line-of-sight (LOS) geometry, terrain slope and aspect, and projections between them.

Frames and conventions (all angles in degrees):
- Vectors are (east, north, up) components in a local map frame.
- ``heading``: the satellite's flight direction, clockwise from north (Sentinel-1: about -10 deg
  ascending, about -170 deg descending).
- ``incidence``: the angle between the local vertical and the line of sight, at the ground.
- Sentinel-1 looks to the right of its track, so the horizontal direction from a ground point to the
  satellite points to the left of the track: azimuth ``heading - 90``.
- The LOS unit vector points from the ground to the satellite, so ``dot(d, u_los)`` is the LOS
  displacement of a motion ``d``, positive towards the satellite (lsid's convention, MintPy's too).
- ``slope``: terrain inclination from horizontal; ``aspect``: the azimuth the slope faces (the downhill
  direction), clockwise from north, in [0, 360).
"""

from __future__ import annotations

import numpy as np


def los_azimuth_deg(heading_deg):
    """Azimuth (deg, clockwise from north) of the horizontal direction from the ground to a
    right-looking satellite flying with ``heading_deg``. Result in [0, 360)."""
    return np.mod(np.asarray(heading_deg, dtype=float) - 90.0, 360.0)


def heading_from_los_azimuth(azimuth_deg) -> float:
    """Satellite heading (deg, clockwise from north, in [-180, 180)) of a right-looking SAR, from the
    azimuth of its ground-to-satellite LOS (deg, clockwise from north; a map of them: the median is
    taken, NaN ignored). The inverse of :func:`los_azimuth_deg`."""
    heading = float(np.nanmedian(np.asarray(azimuth_deg, dtype=float))) + 90.0
    return ((heading + 180.0) % 360.0) - 180.0


def los_unit_vector(incidence_deg, heading_deg):
    """Ground-to-satellite unit vector (east, north, up) for a right-looking SAR.

    Parameters
    ----------
    incidence_deg : float or array
        Incidence angle at the ground, deg.
    heading_deg : float or array
        Satellite heading, deg clockwise from north.

    Returns
    -------
    tuple of three arrays (e, n, u), dimensionless, broadcast against the inputs.
    """
    inc = np.deg2rad(np.asarray(incidence_deg, dtype=float))
    az = np.deg2rad(los_azimuth_deg(heading_deg))
    return np.sin(inc) * np.sin(az), np.sin(inc) * np.cos(az), np.cos(inc)


def downslope_unit_vector(slope_deg, aspect_deg):
    """Unit vector (east, north, up) of motion parallel to the ground, straight downhill.

    A slope facing ``aspect_deg`` inclined by ``slope_deg``: the horizontal part points along the
    aspect with length cos(slope), the vertical part is -sin(slope).
    """
    s = np.deg2rad(np.asarray(slope_deg, dtype=float))
    a = np.deg2rad(np.asarray(aspect_deg, dtype=float))
    return np.cos(s) * np.sin(a), np.cos(s) * np.cos(a), -np.sin(s)


def project_to_los(east, north, up, incidence_deg, heading_deg):
    """LOS component (same unit as the input, positive towards the satellite) of a 3-D vector."""
    le, ln, lu = los_unit_vector(incidence_deg, heading_deg)
    return east * le + north * ln + up * lu


def slope_aspect(dem, dx_m: float, dy_m: float):
    """Slope and aspect (deg) of a north-up DEM (row 0 is the northern edge).

    Parameters
    ----------
    dem : 2-D array, m.
    dx_m, dy_m : pixel size east-west and north-south, m (both positive).

    Returns
    -------
    slope_deg in [0, 90), aspect_deg in [0, 360) (direction the slope faces; 0 on flat ground).
    """
    dem = np.asarray(dem, dtype=float)
    dz_drow, dz_dcol = np.gradient(dem, dy_m, dx_m)
    dz_de = dz_dcol
    dz_dn = -dz_drow  # rows increase southwards
    slope = np.rad2deg(np.arctan(np.hypot(dz_de, dz_dn)))
    aspect = np.mod(np.rad2deg(np.arctan2(-dz_de, -dz_dn)), 360.0)
    aspect = np.where(slope > 0, aspect, 0.0)
    return slope, aspect


def local_incidence_deg(slope_deg, aspect_deg, incidence_deg, heading_deg):
    """Local incidence angle (deg) between the terrain normal and the line of sight.

    Values above 90 deg mean the slope is in radar shadow; slopes that face the sensor more steeply
    than the incidence angle (see :func:`layover_shadow`) are in layover.
    """
    s = np.deg2rad(np.asarray(slope_deg, dtype=float))
    a = np.deg2rad(np.asarray(aspect_deg, dtype=float))
    normal = (np.sin(s) * np.sin(a), np.sin(s) * np.cos(a), np.cos(s))
    los = los_unit_vector(incidence_deg, heading_deg)
    cos_li = normal[0] * los[0] + normal[1] * los[1] + normal[2] * los[2]
    return np.rad2deg(np.arccos(np.clip(cos_li, -1.0, 1.0)))


def layover_shadow(slope_deg, aspect_deg, incidence_deg, heading_deg):
    """Masks of radar layover and shadow (boolean arrays), from terrain slope and aspect.

    The terrain slope seen along the range direction, ``alpha`` (positive when the ground rises
    towards the satellite's far side, i.e. faces the sensor), decides: layover where
    ``alpha > incidence``; shadow where ``-alpha > 90 - incidence``.
    """
    s = np.deg2rad(np.asarray(slope_deg, dtype=float))
    az_rel = np.deg2rad(np.asarray(aspect_deg, dtype=float) - los_azimuth_deg(heading_deg))
    alpha = np.rad2deg(np.arctan(np.tan(s) * np.cos(az_rel)))
    inc = np.asarray(incidence_deg, dtype=float)
    return alpha > inc, -alpha > 90.0 - inc
