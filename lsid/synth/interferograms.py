"""Unwrapped interferograms of one Sentinel-1 track over a synthetic scene.

Phase model of a pair (reference date i, secondary date j), in radians, lsid's sign convention
(``d_LOS = -wavelength / (4 pi) * phase``; see :mod:`lsid.constants`)::

    phase_ij = S_j - S_i + noise_ij + 2 pi * k_ij
    S_t      = 4 pi / wavelength * (atmosphere_t - d_LOS_t)  +  4 pi / wavelength * Bperp_t * dz / (R sin(inc))

- ``d_LOS_t``: true LOS displacement (m, towards the satellite) of every source at date t;
- ``atmosphere_t``: delay (m, a range increase): turbulence (power-law screen, stronger in the wet
  season) + stratification (proportional to elevation, seasonal and random coefficient) + a residual
  orbital ramp;
- the last term: the DEM error ``dz`` seen through the perpendicular baseline;
- ``noise_ij``: decorrelation phase noise, Gaussian with the Cramer-Rao standard deviation
  ``sqrt((1 - g^2) / (2 L g^2))`` for coherence ``g`` and ``L`` looks (capped at the uniform
  distribution's pi / sqrt(3));
- ``k_ij``: integer unwrapping errors in elliptical patches of some pairs;
- plus a constant per pair: an unwrapper refers each interferogram to its own arbitrary point, so
  real products differ from the true phase difference by a constant (any multiple of 2 pi and a
  fraction of a cycle); the SBAS stage must refer all pairs to one pixel first.

Coherence: ``g = g_geometry * g_temporal(dt, vegetation) * g_snow * g_baseline``, the temporal part
``(g0 - g_inf) exp(-dt / tau) + g_inf`` with g0, g_inf, tau interpolated between bare ground and dense
vegetation; zero on water, in layover and shadow, and inside an excavation once it is active. The
coherence written out is an estimate (biased upwards at low coherence like a finite-look estimator,
plus noise); phase is NaN where the estimate falls below the threshold (as unwrappers mask it).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.ndimage

from lsid.constants import DAYS_PER_YEAR, MM_PER_M, WET_SEASON_MONTHS
from lsid.geometry import layover_shadow, local_incidence_deg, los_azimuth_deg, los_unit_vector
from lsid.synth.acquisitions import acquisition_dates, perpendicular_baselines, small_baseline_pairs
from lsid.synth.fields import power_law_field, smoothstep
from lsid.synth.scene import STREAMS, Scene, rng_for

log = logging.getLogger(__name__)

#: Sub-streams of an orbit's random numbers.
_DATES, _BPERP, _ATMOS, _PAIR, _UNWRAP, _OFFSET = 1, 2, 3, 4, 5, 6
#: Rows per strip in which a pair is computed (strips run on threads; their random streams are
#: fixed per strip, so the result does not depend on the number of threads).
STRIP_ROWS = 256
#: Critical perpendicular baseline of Sentinel-1 IW, m (geometric decorrelation is |B|/B_crit).
S1_CRITICAL_BASELINE_M = 5000.0
#: Months in which snow lies above the snow line (December to March).
SNOW_MONTHS = (12, 1, 2, 3)
#: Largest phase noise standard deviation: that of a uniform phase on (-pi, pi].
MAX_NOISE_STD_RAD = np.pi / np.sqrt(3.0)


class OrbitSimulator:
    """Simulates the interferogram stack of one track (``ascending`` or ``descending``).

    Per-date phase screens are cached (a few at a time: pairs come sorted by reference date), pairs
    are computed in row strips on ``n_threads`` threads.
    """

    def __init__(self, scene: Scene, orbit: str, n_threads: int = 2):
        if orbit not in ("ascending", "descending"):
            raise ValueError(f"orbit must be 'ascending' or 'descending', got {orbit!r}")
        self.scene = scene
        self.orbit = orbit
        self.n_threads = max(1, int(n_threads))
        cfg = scene.aoi.synth
        self.acq = cfg.acquisitions
        self.ocfg = getattr(self.acq, orbit)
        self.coh = cfg.coherence
        self.atm = cfg.atmosphere
        self.seed = scene.aoi.seed
        self.stream = STREAMS[orbit]
        self.dates = acquisition_dates(self.acq.start, self.acq.end, self.ocfg, self._rng(_DATES))
        self.bperp = perpendicular_baselines(self.dates.size, self.ocfg, self._rng(_BPERP))
        self.pairs = small_baseline_pairs(self.bperp, self.ocfg)
        self.days = (self.dates - np.datetime64(self.acq.start)).astype(int)
        self._screens: dict[int, np.ndarray] = {}
        self._cache_size = self.ocfg.n_neighbours + 2

    def _rng(self, *keys) -> np.random.Generator:
        return rng_for(self.seed, self.stream, *keys)

    # ---- geometry -------------------------------------------------------------------------------
    @cached_property
    def incidence(self) -> np.ndarray:
        """Incidence angle (deg) per pixel: grows away from the track across the scene (far range
        lies east of an ascending track and west of a descending one)."""
        g = self.scene.grid
        across = (g.x - g.x.mean()) / max(g.x.max() - g.x.min(), 1.0)
        sign = 1.0 if self.orbit == "ascending" else -1.0
        row = self.ocfg.incidence_deg + sign * self.acq.incidence_span_deg * across
        return np.broadcast_to(row[None, :], g.shape).astype(np.float32)

    @cached_property
    def los(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Ground-to-satellite unit vector (east, north, up) per pixel."""
        return tuple(c.astype(np.float32) for c in los_unit_vector(self.incidence, self.ocfg.heading_deg))

    @cached_property
    def azimuth(self) -> np.ndarray:
        """Azimuth (deg clockwise from north) of the ground-to-satellite direction, per pixel."""
        return np.full(self.scene.grid.shape, los_azimuth_deg(self.ocfg.heading_deg), dtype=np.float32)

    @cached_property
    def source_los(self) -> list[np.ndarray]:
        """Each source's LOS pattern: weight * dot(direction, u_los) on its window."""
        le, ln, lu = self.los
        out = []
        for s in self.scene.sources:
            e, n, u = s.direction
            out.append((s.weight * (e * le[s.rows, s.cols] + n * ln[s.rows, s.cols] + u * lu[s.rows, s.cols]))
                       .astype(np.float32))
        return out

    @cached_property
    def _static(self) -> dict[str, np.ndarray]:
        """Per-pixel coherence parameters that do not change between pairs."""
        t = self.scene.terrain
        c = self.coh
        lay, sha = layover_shadow(t.slope, t.aspect, self.incidence, self.ocfg.heading_deg)
        li = local_incidence_deg(t.slope, t.aspect, self.incidence, self.ocfg.heading_deg)
        # Geometric factor: foreshortening near layover (small local incidence) and grazing near shadow.
        g_geom = np.sqrt(smoothstep(3.0, 25.0, li) * smoothstep(88.0, 70.0, li))
        dead = t.water | lay | sha
        v = t.vegetation
        return {
            "g_geom": np.where(dead, 0.0, g_geom).astype(np.float32),
            "g0": ((1 - v) * c.bare_gamma0 + v * c.vegetation_gamma0).astype(np.float32),
            "ginf": ((1 - v) * c.bare_gamma_inf + v * c.vegetation_gamma_inf).astype(np.float32),
            "tau": np.exp((1 - v) * np.log(c.bare_tau_days) + v * np.log(c.vegetation_tau_days)).astype(np.float32),
            "snow": smoothstep(c.snow_line_m - 150, c.snow_line_m + 150, t.dem).astype(np.float32),
            "dead": dead,
            "layover": lay,
            "shadow": sha,
        }

    # ---- per-date screens -----------------------------------------------------------------------
    def deformation_mm(self, i: int) -> np.ndarray:
        """True LOS displacement (mm, towards the satellite) at date ``i`` since the period start."""
        out = np.zeros(self.scene.grid.shape, dtype=np.float32)
        t = self.days[i]
        for s, pattern in zip(self.scene.sources, self.source_los, strict=True):
            out[s.rows, s.cols] += pattern * np.float32(s.history(t))
        return out

    @cached_property
    def _dem_anomaly_km(self) -> np.ndarray:
        """Elevation above the scene's median, km (the lever of the stratified delay)."""
        dem = self.scene.terrain.dem
        return ((dem - np.median(dem)) / 1000.0).astype(np.float32)

    @cached_property
    def _dem_error_slant(self) -> np.ndarray:
        """DEM error divided by sin(incidence), m."""
        return (self.scene.terrain.dem_error / np.sin(np.deg2rad(self.incidence))).astype(np.float32)

    def atmosphere_mm(self, i: int) -> np.ndarray:
        """Atmospheric delay (mm, range increase) at date ``i``: turbulence + stratified + ramp."""
        g = self.scene.grid
        ny, nx = g.shape
        a = self.atm
        rng = self._rng(_ATMOS, i)
        month = int(str(self.dates[i])[5:7])
        wet = a.wet_season_factor if month in WET_SEASON_MONTHS else 1.0
        turb_std = a.turbulence_std_mm * wet * float(np.exp(rng.normal(0.0, 0.3)))
        f = max(1, int(round(a.model_pixel_m / g.pixel_size_m)))
        coarse = power_law_field((ny // f + 2, nx // f + 2), a.turbulence_beta, rng, f * g.pixel_size_m,
                                 outer_scale_m=a.turbulence_outer_scale_km * 1000.0, dtype=np.float32)
        coarse *= np.float32(turb_std)
        out = scipy.ndimage.zoom(coarse, f, order=1, grid_mode=False)[:ny, :nx] if f > 1 else coarse[:ny, :nx]
        doy = float(pd.Timestamp(self.dates[i]).day_of_year)
        k = a.stratified_seasonal_mm_per_km * np.cos(2 * np.pi * (doy - 200.0) / DAYS_PER_YEAR) + rng.normal(
            0.0, a.stratified_random_mm_per_km)
        out += np.float32(k) * self._dem_anomaly_km
        ramp_e, ramp_n = rng.normal(0.0, a.ramp_std_mm, 2)
        xs = ((g.x - g.x.mean()) / max(np.ptp(g.x), 1.0)).astype(np.float32)
        ys = ((g.y - g.y.mean()) / max(np.ptp(g.y), 1.0)).astype(np.float32)
        out += np.float32(ramp_e) * xs[None, :]
        out += np.float32(ramp_n) * ys[:, None]
        return np.ascontiguousarray(out, dtype=np.float32)

    def dem_error_phase(self, i: int) -> np.ndarray:
        """Phase (rad) of the DEM error at date ``i`` through its perpendicular baseline."""
        k = 4 * np.pi / self.acq.wavelength_m * float(self.bperp[i]) / self.acq.slant_range_m
        return np.float32(k) * self._dem_error_slant

    def screen(self, i: int) -> np.ndarray:
        """Phase (rad) of date ``i``: atmosphere, deformation and DEM error (cached)."""
        if i not in self._screens:
            if len(self._screens) >= self._cache_size:
                self._screens.pop(next(iter(self._screens)))
            to_rad = np.float32(4 * np.pi / self.acq.wavelength_m / MM_PER_M)
            self._screens[i] = to_rad * (self.atmosphere_mm(i) - self.deformation_mm(i)) + self.dem_error_phase(i)
        return self._screens[i]

    # ---- pairs ----------------------------------------------------------------------------------
    @property
    def reference_dates(self) -> np.ndarray:
        return self.dates[self.pairs[:, 0]]

    @property
    def secondary_dates(self) -> np.ndarray:
        return self.dates[self.pairs[:, 1]]

    @property
    def pair_bperp(self) -> np.ndarray:
        return (self.bperp[self.pairs[:, 1]] - self.bperp[self.pairs[:, 0]]).astype(np.float32)

    def unwrapping_errors(self, k: int) -> list[dict]:
        """Elliptical patches of pair ``k`` shifted by whole cycles: centre (m), semi-axes (m),
        orientation (deg) and the integer number of cycles."""
        rng = self._rng(_UNWRAP, k)
        if rng.random() >= self.coh.unwrapping_error_fraction:
            return []
        g = self.scene.grid
        size = min(np.ptp(g.x), np.ptp(g.y))
        out = []
        for _ in range(int(rng.integers(1, 3))):
            out.append(dict(
                x=float(rng.uniform(g.x.min(), g.x.max())), y=float(rng.uniform(g.y.min(), g.y.max())),
                a=float(rng.uniform(0.04, 0.12) * size), b=float(rng.uniform(0.03, 0.08) * size),
                angle=float(rng.uniform(0, 180)), cycles=int(rng.choice([-1, 1])),
            ))
        return out

    def _true_coherence(self, k: int, rows: slice) -> np.ndarray:
        i, j = self.pairs[k]
        st = self._static
        dt_days = float(self.days[j] - self.days[i])
        g = st["g_geom"][rows] * ((st["g0"][rows] - st["ginf"][rows]) * np.exp(-dt_days / st["tau"][rows])
                                  + st["ginf"][rows])
        months = {int(str(self.dates[i])[5:7]), int(str(self.dates[j])[5:7])}
        if months & set(SNOW_MONTHS):
            g = g * (1.0 - 0.85 * st["snow"][rows])
        g = g * max(0.0, 1.0 - abs(float(self.bperp[j] - self.bperp[i])) / S1_CRITICAL_BASELINE_M)
        for s in self.scene.sources:
            if s.kind == "excavation" and self.days[j] > s.params["onset_day"]:
                r0, r1 = max(s.rows.start, rows.start), min(s.rows.stop, rows.stop)
                if r0 < r1:
                    sub = (slice(r0 - rows.start, r1 - rows.start), s.cols)
                    g[sub] = np.where(s.weight[r0 - s.rows.start:r1 - s.rows.start] > 0, 0.05, g[sub])
        return g.astype(np.float32)

    def phase_offset(self, k: int) -> float:
        """The arbitrary constant (rad) the unwrapper left in pair ``k``."""
        rng = self._rng(_OFFSET, k)
        return float(rng.uniform(-np.pi, np.pi) + 2 * np.pi * rng.integers(-3, 4))

    def _strip(self, k: int, rows: slice, diff: np.ndarray, patches: list[dict]):
        rng = self._rng(_PAIR, k, rows.start)
        g = self._true_coherence(k, rows)
        L = self.coh.looks
        with np.errstate(divide="ignore", invalid="ignore"):
            std = np.sqrt((1.0 - g**2) / (2.0 * L * g**2))
        std = np.minimum(np.nan_to_num(std, nan=MAX_NOISE_STD_RAD, posinf=MAX_NOISE_STD_RAD), MAX_NOISE_STD_RAD)
        noise = std * rng.standard_normal(g.shape, dtype=np.float32)
        g_est = np.sqrt(g**2 + (1.0 - g**2) / L) + self.coh.estimation_noise * (1.0 - g) * rng.standard_normal(
            g.shape, dtype=np.float32)
        g_est = np.clip(g_est, 0.0, 1.0).astype(np.float32)
        phase = diff[rows] + noise + np.float32(self.phase_offset(k))
        if patches:
            gr = self.scene.grid
            X, Y = np.meshgrid(gr.x, gr.y[rows])
            for p in patches:
                th = np.deg2rad(p["angle"])
                u = (X - p["x"]) * np.cos(th) + (Y - p["y"]) * np.sin(th)
                w = -(X - p["x"]) * np.sin(th) + (Y - p["y"]) * np.cos(th)
                phase = np.where((u / p["a"]) ** 2 + (w / p["b"]) ** 2 <= 1.0, phase + 2 * np.pi * p["cycles"], phase)
        masked = self._static["dead"][rows] | (g_est < self.coh.nan_threshold)
        phase = np.where(masked, np.float32(np.nan), phase).astype(np.float32)
        g_est = np.where(self.scene.terrain.water[rows], np.float32(0.0), g_est)
        return phase, g_est

    def pair(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Unwrapped phase (rad, NaN where masked) and estimated coherence of pair ``k`` (float32)."""
        i, j = self.pairs[k]
        diff = self.screen(j) - self.screen(i)
        patches = self.unwrapping_errors(k)
        ny = self.scene.grid.shape[0]
        strips = [slice(r, min(r + STRIP_ROWS, ny)) for r in range(0, ny, STRIP_ROWS)]
        if self.n_threads > 1 and len(strips) > 1:
            with ThreadPoolExecutor(self.n_threads) as pool:
                parts = list(pool.map(lambda s: self._strip(k, s, diff, patches), strips))
        else:
            parts = [self._strip(k, s, diff, patches) for s in strips]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def pair_components(self, k: int) -> dict[str, np.ndarray]:
        """The parts of pair ``k``'s phase (rad), for figures: deformation, atmosphere, DEM error,
        noise with unwrapping errors and the unwrapper's constant, and the total as written (NaN
        where masked)."""
        i, j = self.pairs[k]
        to_rad = np.float32(4 * np.pi / self.acq.wavelength_m / MM_PER_M)
        defo = -to_rad * (self.deformation_mm(j) - self.deformation_mm(i))
        atmo = to_rad * (self.atmosphere_mm(j) - self.atmosphere_mm(i))
        dem = self.dem_error_phase(j) - self.dem_error_phase(i)
        total, coh = self.pair(k)
        rest = total - (defo + atmo + dem)
        return {"deformation": defo, "atmosphere": atmo, "dem_error": dem, "noise_and_unwrapping": rest,
                "total": total, "coherence": coh}

    # ---- truth ----------------------------------------------------------------------------------
    def true_displacement_mm(self, i: int, landslides_only: bool = False) -> np.ndarray:
        """True LOS displacement (mm, towards the satellite) at date ``i`` relative to the first date."""
        out = np.zeros(self.scene.grid.shape, dtype=np.float32)
        t, t0 = self.days[i], self.days[0]
        for s, pattern in zip(self.scene.sources, self.source_los, strict=True):
            if landslides_only and not s.is_landslide:
                continue
            out[s.rows, s.cols] += pattern * np.float32(s.history(t) - s.history(t0))
        return out

    def source_los_rates(self) -> np.ndarray:
        """Per source, the slope (mm/yr per unit LOS pattern) of a straight line fitted through its
        displacement at this track's dates: the velocity SBAS should recover."""
        t = self.days / DAYS_PER_YEAR
        tc = t - t.mean()
        rates = []
        for s in self.scene.sources:
            h = s.history(self.days)
            rates.append(float(np.sum(tc * (h - h.mean())) / np.sum(tc**2)))
        return np.asarray(rates)

    def true_velocity_mm_yr(self, landslides_only: bool = False) -> np.ndarray:
        """True mean LOS velocity (mm/yr, towards the satellite): the linear fit of the true
        displacement over this track's dates."""
        out = np.zeros(self.scene.grid.shape, dtype=np.float32)
        for s, pattern, rate in zip(self.scene.sources, self.source_los, self.source_los_rates(), strict=True):
            if landslides_only and not s.is_landslide:
                continue
            out[s.rows, s.cols] += pattern * np.float32(rate)
        return out
