"""Named science constants and conventions used across lsid.

Every constant here is a default: the functions that use one take it as a parameter, and area-of-
interest files (``data/aoi/*.yaml``) can override the ones that describe an acquisition.
"""

from __future__ import annotations

from lsid import paper

#: Speed of light in vacuum, m/s.
SPEED_OF_LIGHT_M_S = 299_792_458.0

#: Sentinel-1 C-band radar centre frequency, Hz (ESA Sentinel-1 product definition).
SENTINEL1_FREQUENCY_HZ = 5.405e9

#: Sentinel-1 radar wavelength, m (c / f = 0.0554658 m).
SENTINEL1_WAVELENGTH_M = SPEED_OF_LIGHT_M_S / SENTINEL1_FREQUENCY_HZ

#: Typical Sentinel-1 IW slant range from the sensor to mid-swath, m (orbit ~693 km, look ~35-40 deg).
SENTINEL1_SLANT_RANGE_M = 850_000.0

#: Days per year used to turn displacement rates into velocities (mm/yr): the Julian year.
DAYS_PER_YEAR = 365.25

#: Sign convention of LOS displacement in lsid (MintPy's): positive = towards the satellite
#: (range shortening). Unwrapped phase follows MintPy too: d_LOS = -wavelength / (4 pi) * phase,
#: i.e. a positive phase is a range increase (motion away from the satellite).
LOS_POSITIVE = "towards_satellite"

#: Phase sign convention string stored in a Stack's ``phase_sign`` attribute by lsid's own writer.
PHASE_SIGN_LSID = "d_los = -wavelength/(4*pi)*phase (phase > 0: range increase, away from satellite)"

#: Wet (rainy) season in the Jinsha River valley, months 5..10 (May to October), when landslides
#: accelerate (the paper's, lsid.paper: section 4.5).
WET_SEASON_MONTHS = paper.WET_SEASON_MONTHS

#: Sentinel-1 nominal geometry over the Ahai Reservoir (Dong et al. 2026, Table 1 and section 2):
#: incidence angle at scene centre (deg) and satellite heading (deg, clockwise from north).
SENTINEL1_ORBITS = {
    "ascending": {"incidence_deg": 42.5, "heading_deg": -10.0},
    "descending": {"incidence_deg": 39.9, "heading_deg": -170.0},
}

#: Number of millimetres in a metre.
MM_PER_M = 1000.0
