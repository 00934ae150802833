"""Area-of-interest (AOI) parameter files and run profiles.

An AOI file (``data/aoi/<name>.yaml``) holds every parameter of a study area. Three built-in
profiles scale a run: ``smoke`` (tests, seconds), ``cpu`` (the default book on a 2-core laptop,
minutes) and ``paper`` (the paper's sizes, for a GPU machine). Parameters merge in this order, later
winning: the defaults below < the AOI file's top level < the built-in profile < the AOI file's
``profiles: {<profile>: ...}`` section.

Validation is done by pydantic (unknown keys are refused, every number has an allowed range); a bad
file raises :class:`lsid.errors.ConfigError` naming the file, the key, the value and what is allowed.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from lsid import constants, paper
from lsid.errors import ConfigError
from lsid.profiles import PROFILE_OVERRIDES, PROFILES  # noqa: F401  (re-exported: lsid.config is where users look)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def projected_crs(value: str, example: str = "EPSG:32647") -> str:
    """``value`` when it is a CRS pyproj knows, projected and in metres; else ValueError saying which of
    the three it is not and what to give instead (``example``)."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    try:
        crs = CRS.from_user_input(value)
    except CRSError as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"not a CRS pyproj knows ({detail}); give an EPSG code such as {example}") from None
    if not crs.is_projected:
        kind = "geographic (degrees)" if crs.is_geographic else "not projected"
        raise ValueError(f"{crs.name} is {kind}: lengths, areas and slopes are measured in metres, so give a "
                         f"projected CRS such as {example} (the UTM zone of the area: EPSG:326NN north of the "
                         f"equator, EPSG:327NN south, NN = zone)")
    unit = crs.axis_info[0].unit_name if crs.axis_info else ""
    if unit not in ("metre", "meter"):
        raise ValueError(f"{crs.name} measures in {unit or 'unknown units'}, not metres; give a projected CRS in "
                         f"metres such as {example}")
    return value


class GridConfig(_Strict):
    """Map grid of the scene: a north-up raster in a projected CRS (metres)."""

    crs: str = Field("EPSG:32647", description="projected CRS of the scene (UTM 47N for Ahai)")
    center_lon: float = Field(100.39, ge=-180, le=180, description="scene centre longitude, deg")
    center_lat: float = Field(27.56, ge=-80, le=84, description="scene centre latitude, deg")
    shape: tuple[int, int] = Field((1536, 1024), description="(rows, columns), pixels")
    pixel_size_m: float = Field(28.0, ge=1.0, le=1000.0, description="pixel size, m")

    @field_validator("crs")
    @classmethod
    def _crs(cls, v):
        return projected_crs(v)

    @field_validator("shape")
    @classmethod
    def _shape_range(cls, v):
        if not all(32 <= n <= 20000 for n in v):
            raise ValueError(f"each of (rows, columns) must be within 32..20000, got {list(v)}")
        return v


class TerrainConfig(_Strict):
    """A deep V-shaped river valley with tributary gullies, a reservoir behind a dam and terraces."""

    river_bed_south_m: float = Field(1380.0, ge=0, le=6000, description="river bed elevation at the southern edge, m")
    river_gradient_m_per_km: float = Field(1.2, ge=0, le=50, description="river bed rise per km northwards, m/km")
    relief_m: float = Field(2500.0, ge=200, le=5000, description="height of the plateau above the river, m")
    bank_slope_deg: float = Field(30.0, ge=5, le=60, description="steepness of the valley sides near the river, deg")
    meander_amplitude: float = Field(
        0.10, ge=0, le=0.3, description="river meander amplitude, share of the scene width")
    n_gullies: int = Field(12, ge=0, le=200, description="tributary gullies cut into the banks")
    roughness_m: float = Field(180.0, ge=0, le=500, description="standard deviation of the fractal roughness, m")
    roughness_beta: float = Field(3.2, ge=2.0, le=4.5, description="spectral exponent of the roughness")
    reservoir_level_m: float = Field(1504.0, ge=0, le=6000, description="reservoir water level, m (Ahai: 1504 m)")
    dam_position: float = Field(
        0.80, ge=0.05, le=0.95, description="dam position along the river, share of the scene height from north")
    n_terraces: int = Field(8, ge=0, le=100, description="flat terraces on the reservoir banks")
    dem_error_std_m: float = Field(
        6.0, ge=0, le=100, description="standard deviation of the DEM error, m (enters the phase through bperp)")


class LandslidesConfig(_Strict):
    """Landslide bodies: where, how large, how fast, how they vary in time."""

    count: int = Field(40, ge=0, le=2000, description="number of landslides (including giant ancient bodies)")
    min_slope_deg: float = Field(15.0, ge=0, le=60, description="landslides sit on slopes steeper than this, deg")
    min_length_m: float = Field(100.0, ge=10, le=20000, description="smallest downslope length, m")
    max_length_m: float = Field(3000.0, ge=10, le=20000, description="largest downslope length, m")
    min_velocity_mm_yr: float = Field(5.0, ge=0, le=2000, description="slowest mean downslope velocity, mm/yr")
    max_velocity_mm_yr: float = Field(100.0, ge=0, le=2000, description="fastest mean downslope velocity, mm/yr")
    n_giant: int = Field(2, ge=0, le=10, description="giant ancient bodies with a faster reactivated part (like H3)")
    accelerating_fraction: float = Field(0.2, ge=0, le=1, description="share of landslides whose rate grows in time")
    max_seasonal_amplitude: float = Field(
        0.8, ge=0, le=1, description="largest wet-season rate modulation (share of the mean rate)")

    @model_validator(mode="after")
    def _ranges(self):
        if self.min_length_m > self.max_length_m:
            raise ValueError(f"min_length_m ({self.min_length_m}) must not exceed max_length_m ({self.max_length_m})")
        if self.min_velocity_mm_yr > self.max_velocity_mm_yr:
            raise ValueError(
                f"min_velocity_mm_yr ({self.min_velocity_mm_yr}) must not exceed "
                f"max_velocity_mm_yr ({self.max_velocity_mm_yr})"
            )
        if self.n_giant > self.count:
            raise ValueError(f"n_giant ({self.n_giant}) must not exceed count ({self.count})")
        return self


class DistractorsConfig(_Strict):
    """Deformation that is not a landslide, so that a detector must learn more than large |v|."""

    n_subsiding_terraces: int = Field(4, ge=0, le=100, description="terraces that compact after impoundment")
    terrace_subsidence_mm_yr: float = Field(30.0, ge=0, le=500, description="peak terrace subsidence, mm/yr (vertical)")
    n_settlements: int = Field(3, ge=0, le=100, description="subsiding villages on terraces")
    settlement_subsidence_mm_yr: float = Field(15.0, ge=0, le=500, description="peak settlement subsidence, mm/yr")
    n_excavations: int = Field(
        1, ge=0, le=20, description="excavations (quarry or road cut) that start during the series")
    excavation_rate_mm_yr: float = Field(120.0, ge=0, le=2000, description="lowering rate of an excavation, mm/yr")
    dam_settlement_mm_yr: float = Field(
        15.0, ge=0, le=500, description="settlement of the dam and its abutments, mm/yr (0: off)")
    dam_seasonal_mm: float = Field(
        6.0, ge=0, le=200, description="amplitude of the dam's seasonal motion with the reservoir level, mm")


class AtmosphereConfig(_Strict):
    """Per-acquisition atmospheric delay: turbulence, stratification with elevation, orbital ramp."""

    turbulence_std_mm: float = Field(
        7.0, ge=0, le=200, description="standard deviation of turbulent delay per date, mm")
    turbulence_beta: float = Field(8.0 / 3.0, ge=1.0, le=4.5, description="spectral exponent of the turbulent screen")
    turbulence_outer_scale_km: float = Field(
        30.0, ge=1, le=1000, description="scale above which turbulence saturates, km")
    wet_season_factor: float = Field(
        1.6, ge=1, le=5, description="turbulence is this many times stronger in May-October")
    stratified_seasonal_mm_per_km: float = Field(
        12.0, ge=0, le=200, description="seasonal amplitude of the elevation-correlated delay, mm per km of height")
    stratified_random_mm_per_km: float = Field(
        6.0, ge=0, le=200, description="date-to-date random part of the elevation-correlated delay, mm/km")
    ramp_std_mm: float = Field(
        6.0, ge=0, le=200, description="residual orbital ramp across the scene, mm (standard deviation)")
    model_pixel_m: float = Field(
        120.0, ge=10, le=2000, description="turbulence is drawn on this coarser grid then interpolated, m")


class CoherenceConfig(_Strict):
    """Interferometric coherence and the phase noise it implies."""

    looks: int = Field(20, ge=1, le=1000, description="effective number of looks (multilooking) for the phase noise")
    bare_gamma0: float = Field(0.92, ge=0, le=1, description="short-baseline coherence of bare ground and rock")
    bare_gamma_inf: float = Field(0.45, ge=0, le=1, description="long-baseline coherence of bare ground")
    bare_tau_days: float = Field(400.0, ge=1, le=100000, description="decorrelation time of bare ground, days")
    vegetation_gamma0: float = Field(0.75, ge=0, le=1, description="short-baseline coherence of dense vegetation")
    vegetation_gamma_inf: float = Field(0.05, ge=0, le=1, description="long-baseline coherence of dense vegetation")
    vegetation_tau_days: float = Field(
        24.0, ge=1, le=100000, description="decorrelation time of dense vegetation, days")
    snow_line_m: float = Field(
        3500.0, ge=0, le=9000, description="above this, winter (Dec-Mar) acquisitions decorrelate")
    estimation_noise: float = Field(0.05, ge=0, le=0.5, description="noise of the coherence estimate")
    nan_threshold: float = Field(
        0.2, ge=0, le=1, description="phase is NaN (not unwrapped) where coherence is below this")
    unwrapping_error_fraction: float = Field(
        0.12, ge=0, le=1, description="share of pairs with 2-pi unwrapping-error patches")


class OrbitConfig(_Strict):
    """One Sentinel-1 track: acquisitions, geometry and the small-baseline network."""

    n_dates: int = Field(..., ge=3, le=2000, description="number of acquisitions")
    incidence_deg: float = Field(..., ge=15, le=60, description="incidence angle at scene centre, deg")
    heading_deg: float = Field(..., ge=-180, le=180, description="satellite heading, deg clockwise from north")
    repeat_days: int = Field(
        12, ge=1, le=96, description="repeat cycle of the acquisitions that can be chosen from, days")
    n_neighbours: int = Field(
        3, ge=1, le=50, description="each date pairs with the next n dates (small-baseline network)")
    max_bperp_m: float = Field(
        300.0, ge=1, le=5000, description="pairs with a larger perpendicular baseline are not formed, m")
    bperp_std_m: float = Field(
        50.0, ge=0, le=1000, description="standard deviation of per-date perpendicular baselines, m")


class AcquisitionsConfig(_Strict):
    """Acquisition period, radar and both tracks."""

    start: dt.date = Field(dt.date(2019, 1, 1), description="first possible acquisition date")
    end: dt.date = Field(dt.date(2021, 12, 31), description="last possible acquisition date")
    wavelength_m: float = Field(constants.SENTINEL1_WAVELENGTH_M, gt=0.001, lt=1.0, description="radar wavelength, m")
    slant_range_m: float = Field(
        constants.SENTINEL1_SLANT_RANGE_M, ge=1e5, le=5e6, description="sensor-to-ground range, m")
    incidence_span_deg: float = Field(1.5, ge=0, le=20, description="incidence change across the scene width, deg")
    ascending: OrbitConfig = OrbitConfig(
        n_dates=30, repeat_days=12, n_neighbours=3, **constants.SENTINEL1_ORBITS["ascending"]
    )
    descending: OrbitConfig = OrbitConfig(
        n_dates=45, repeat_days=12, n_neighbours=3, **constants.SENTINEL1_ORBITS["descending"]
    )

    @model_validator(mode="after")
    def _period(self):
        if self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        for orbit in ("ascending", "descending"):
            o = getattr(self, orbit)
            available = (self.end - self.start).days // o.repeat_days + 1
            if o.n_dates > available:
                raise ValueError(
                    f"{orbit}.n_dates={o.n_dates} exceeds the {available} acquisitions a {o.repeat_days}-day "
                    f"repeat allows between {self.start} and {self.end}: lower n_dates or repeat_days"
                )
        return self


class SynthConfig(_Strict):
    """Everything the synthetic generator (:mod:`lsid.synth`) needs besides the seed."""

    grid: GridConfig = GridConfig()
    terrain: TerrainConfig = TerrainConfig()
    landslides: LandslidesConfig = LandslidesConfig()
    distractors: DistractorsConfig = DistractorsConfig()
    atmosphere: AtmosphereConfig = AtmosphereConfig()
    coherence: CoherenceConfig = CoherenceConfig()
    acquisitions: AcquisitionsConfig = AcquisitionsConfig()


class SbasConfig(_Strict):
    """Network selection and inversion settings (lsid.sbas)."""

    weight: Literal["no", "coh", "var"] = Field(
        "var", description="inversion weights: none, coherence, inverse phase variance")
    looks: int = Field(20, ge=1, le=10000, description="number of looks of the interferograms (for 'var' weights)")
    max_temporal_baseline_days: float | None = Field(None, gt=0, le=5000, description="drop longer pairs, days")
    max_bperp_m: float | None = Field(
        None, gt=0, le=10000, description="drop pairs with a longer perpendicular baseline, m")
    min_mean_coherence: float | None = Field(0.35, ge=0, le=1, description="drop pairs whose mean coherence is lower")
    max_pairs: dict[Literal["ascending", "descending"], int] | None = Field(
        None, description="per track, keep at most this many pairs, the most coherent (after the thresholds; "
                          f"the paper keeps {paper.PAIRS_KEPT['ascending']} ascending and "
                          f"{paper.PAIRS_KEPT['descending']} descending)")
    min_temporal_coherence: float = Field(
        0.7, ge=0, le=1, description="reliable pixels have a higher temporal coherence")
    reference_x: float | None = Field(None, description="reference point easting in the stack CRS (None: automatic)")
    reference_y: float | None = Field(None, description="reference point northing in the stack CRS (None: automatic)")
    reference_date: dt.date | None = Field(None, description="date the time series is zero at (None: the first)")
    working_crs: str | None = Field(None, description="CRS of the Deformation and of every later output (e.g. "
                                                      "EPSG:32633); None: the input's own, or its UTM zone when the "
                                                      "input is in degrees (LiCSAR, LiCSBAS), since lengths, areas and "
                                                      "slopes are measured in metres")
    working_resolution_m: float | None = Field(None, gt=0, le=10000, description="pixel size after resampling to "
                                               "working_crs, m (None: about the input's)")

    @field_validator("working_crs")
    @classmethod
    def _working_crs(cls, v):
        return None if v is None else projected_crs(v, "EPSG:32633")

    @model_validator(mode="after")
    def _point(self):
        if (self.reference_x is None) != (self.reference_y is None):
            raise ValueError("give both reference_x and reference_y, or neither")
        return self


class OrbitInput(_Strict):
    """A user's data for one track (areas that are not synthetic)."""

    format: Literal["geotiff", "mintpy", "mintpy_results", "licsbas", "velocity"] = Field(
        ..., description="interferogram GeoTIFF folder, MintPy ifgramStack.h5 (inverted by lsid), MintPy results "
                         "(work folder or velocity.h5), LiCSBAS time-series folder (TS_GEOCml*), or a velocity "
                         "GeoTIFF; the last three enter after the SBAS stage")
    path: str = Field(..., description="folder or file, absolute or relative to the AOI file")
    wavelength_m: float | None = Field(
        None, gt=0.001, lt=1.0, description="radar wavelength when the files do not say, m")
    incidence_deg: float | None = Field(None, ge=0, le=90, description="incidence angle when the files do not say, deg")
    heading_deg: float | None = Field(None, ge=-180, le=360, description="satellite heading, deg")
    velocity_units: Literal["mm/yr", "cm/yr", "m/yr"] = Field("mm/yr", description="units of a velocity GeoTIFF")
    nodata: float | None = Field(None, description="value that marks missing data in the rasters when their files "
                                                   "do not declare it (e.g. -9999, 0); None: the files' own nodata")
    product: str | None = Field(None, description="LiCSBAS velocity file in results/ (default: vel.filt.mskd, else "
                                                  "vel.mskd, vel.filt, vel)")


class InputsConfig(_Strict):
    """Where a real area's data are: one entry per track (either may be missing)."""

    ascending: OrbitInput | None = None
    descending: OrbitInput | None = None


class TilesConfig(_Strict):
    """The deformation-map dataset (lsid.tiles): maps, tiling, quality filter, labels, augmentation, splits."""

    size: int = Field(paper.TILE_SIZE_PX, ge=32, le=4096,
                      description=f"tile edge, px (the paper: {paper.TILE_SIZE_PX})")
    stride: int | None = Field(
        None, ge=8, le=4096, description="step between tiles, px (default: the tile size, no overlap)")
    per_date: bool = Field(
        True, description="one map per acquisition date (moving-window velocity), besides the mean-velocity map")
    date_step: int = Field(1, ge=1, le=100, description="use every n-th date for the per-date maps")
    window_days: float = Field(
        365.0, ge=24, le=3650, description="length of the centred window of each per-date velocity map, days")
    min_valid_share: float = Field(
        0.5, ge=0, le=1, description="a kept tile has at least this share of reliable pixels")
    min_tile_signal_mm_yr: float = Field(
        8.0, ge=0, le=1000,
        description="a tile shows an anomaly when the 99th percentile of |v - median v| reaches this, mm/yr")
    label_min_inside: float = Field(
        0.5, ge=0, le=1, description="a box is kept when at least this share of its object's area is inside the tile")
    label_min_signal_mm_yr: float = Field(
        5.0, ge=0, le=1000,
        description="an object is a positive in a map when its contrast with the ground around it (median LOS "
                    "velocity) reaches this, mm/yr")
    label_min_snr: float = Field(
        2.0, ge=0, le=100,
        description="... and its contrast with the ground around it reaches this many robust standard deviations "
                    "of the tile's background (visibility; lsid.tiles.labels.VISIBILITY_SNR)")
    label_min_valid_share: float = Field(
        0.3, ge=0, le=1, description="... and at least this share of its pixels in the tile is reliable")
    min_box_px: int = Field(4, ge=1, le=512, description="boxes narrower or shorter than this are dropped, px")
    min_tile_coherence: float = Field(
        0.5, ge=0, le=1,
        description="a kept tile has at least this mean temporal coherence (over its pixels with a value)")
    max_maps_per_tile: int = Field(
        8, ge=1, le=10000,
        description="per track, keep at most this many maps of the same "
                    "ground (spread over the dates: they are near-duplicates)")
    negative_share: float = Field(
        0.25, ge=0, lt=1, description="share of negative tiles (no landslide) among the kept tiles")
    render_range_mm_yr: float = Field(
        40.0, gt=0, le=1000,
        description="velocity at the ends of the colour map of rendered "
                    "tiles (and of the physical velocity channel), mm/yr")
    augment_factor: int = Field(paper.AUGMENT_FACTOR, ge=1, le=8, description="tiles after augmentation per kept "
                                f"tile (the paper: {paper.AUGMENT_FACTOR})")
    noise_std: float = Field(
        0.02, ge=0, le=0.5,
        description="std of the Gaussian noise of augmented copies, in units of the normalised channels")
    block_tiles: int = Field(1, ge=1, le=64, description="edge of the spatial blocks of the split, in tiles")
    split: tuple[float, float, float] = Field(
        (0.7, 0.15, 0.15), description="train / val / test shares of the ground blocks")
    channels: list[Literal["rendered", "physical", "normalised"]] = Field(
        ["rendered", "physical"], description="TileSets to write (normalised: the pretrained detector's channels)")
    inventory: str | None = Field(
        None,
        description="landslide inventory (GeoJSON / Shapefile / GeoPackage "
                    "polygons, any CRS); None: the synthetic truth")

    @model_validator(mode="after")
    def _check(self):
        if abs(sum(self.split) - 1) > 1e-6 or min(self.split) < 0:
            raise ValueError(f"split shares must be >= 0 and sum to 1, got {list(self.split)}")
        if self.stride is not None and self.stride > self.size:
            raise ValueError(f"stride ({self.stride}) larger than the tile ({self.size}) would skip ground")
        if not self.channels:
            raise ValueError("channels: name at least one of 'rendered', 'physical'")
        return self


#: Detector names of lsid.models.REGISTRY (kept here so that reading a parameter file needs no torch;
#: a test checks that the two agree).
MODEL_NAMES = ("faster_rcnn_vgg16", "faster_rcnn_r50_cbam", "faster_rcnn_r50_fpn", "crf_faster_rcnn")


class DetectorRun(_Strict):
    """One detector trained on one TileSet and split."""

    model: Literal[MODEL_NAMES] = Field(..., description="a model of lsid.models.REGISTRY")
    channels: Literal["rendered", "physical", "normalised"] = Field("rendered", description="TileSet channel mode")
    split: Literal["spatial", "random"] = Field(
        "spatial", description="spatially blocked (leak-free) or tile-by-tile random split")

    @property
    def key(self) -> str:
        """Folder and notebook name of the run: <model>_<channels>_<split>."""
        return f"{self.model}_{self.channels}_{self.split}"


class DetectorOptions(_Strict):
    """Settings of torchvision's FasterRCNN heads for a profile (None: torchvision's default). Fewer
    proposals and sampled RoIs make a CPU iteration several times cheaper (the box head runs on every
    sampled RoI) without changing the model's weights."""

    rpn_pre_nms_top_n_train: int | None = Field(
        None, ge=1, le=100000, description="RPN proposals before NMS, training (torchvision: 2000)")
    rpn_post_nms_top_n_train: int | None = Field(
        None, ge=1, le=100000, description="RPN proposals after NMS, training (torchvision: 2000)")
    rpn_pre_nms_top_n_test: int | None = Field(
        None, ge=1, le=100000, description="RPN proposals before NMS, inference (torchvision: 1000)")
    rpn_post_nms_top_n_test: int | None = Field(
        None, ge=1, le=100000, description="RPN proposals after NMS, inference (torchvision: 1000)")
    box_batch_size_per_image: int | None = Field(
        None, ge=1, le=10000, description="RoIs sampled per image for the box head's loss (torchvision: 512)")

    def kwargs(self) -> dict:
        """The options that are set, as FasterRCNN keyword arguments."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


class TrainingConfig(_Strict):
    """Training of the detectors (lsid.training) and what the book compares."""

    runs: list[DetectorRun] = Field(
        [DetectorRun(model="faster_rcnn_vgg16"), DetectorRun(model="crf_faster_rcnn")],
        description="the paper's comparison (one book page each)")
    ablations: list[DetectorRun] = Field(
        [DetectorRun(model="faster_rcnn_r50_fpn"), DetectorRun(model="faster_rcnn_r50_cbam"),
         DetectorRun(model="crf_faster_rcnn", channels="physical"),
         DetectorRun(model="crf_faster_rcnn", split="random")],
        description="extra runs for the ablation table and the leak of a random split")
    epochs: int = Field(paper.EPOCHS, ge=1, le=10000,
                        description=f"at most this many epochs (the paper: {paper.EPOCHS})")
    patience: int = Field(paper.PATIENCE, ge=1, le=1000, description="early stopping: epochs without a better "
                          f"validation mAP (the paper: {paper.PATIENCE})")
    batch_size: int = Field(paper.BATCH_SIZE, ge=1, le=512,
                            description=f"tiles per batch (the paper: {paper.BATCH_SIZE})")
    lr: float = Field(paper.LR, gt=0, le=1, description=f"SGD learning rate (the paper: {paper.LR})")
    warmup_iters: int = Field(500, ge=0, le=100000, description="iterations of linear learning-rate warm-up")
    max_iters_per_epoch: int | None = Field(None, ge=1, description="cap on iterations per epoch (smoke runs)")
    time_budget_min: float | None = Field(
        None, gt=0, description="stop a main run after the epoch that passes this, min")
    ablation_time_budget_min: float | None = Field(None, gt=0, description="the same for ablation runs, min")
    score_threshold: float = Field(0.5, gt=0, lt=1, description="operating score threshold for counts and Table 2")
    pretrained: bool = Field(False, description="ImageNet backbone weights from the local torch cache")
    detector: DetectorOptions = DetectorOptions()


class InventoryConfig(_Strict):
    """Whole-scene detection and the potential-landslide inventory (lsid.detect, lsid.inventory).

    Every terrain check can be switched off by setting its threshold to null."""

    model: Literal[MODEL_NAMES] = Field(
        "crf_faster_rcnn",
        description="the detector (a training run on rendered tiles, spatial split) whose boxes make the inventory")
    detector: str = Field(
        "auto", description="the detector whose boxes make the inventory: auto (trained where the area has labels, "
                            "else pretrained), trained (inventory.model's training run), pretrained or "
                            "pretrained:<name> (shipped, lsid.models.pretrained), or a model card .json / "
                            "checkpoint best.pt path (lsid.inventory.detectors)")
    compare_models: list[Literal[MODEL_NAMES]] = Field(
        ["faster_rcnn_vgg16", "crf_faster_rcnn"],
        description="detectors whose scene boxes are counted and drawn side by side (Figs. 9-10)")
    stride: int | None = Field(None, ge=8, le=4096, description="step between scene windows, px (default: half a tile)")
    iou_threshold: float = Field(
        0.5, gt=0, le=1, description="boxes of overlapping windows overlapping more than this IoU are one detection")
    merge_gap_m: float = Field(
        0.0, ge=0, le=5000, description="boxes of one orbit closer than this become one object, m")
    min_area_m2: float | None = Field(20000.0, ge=0, description="check: smallest object area, m2")
    min_slope_deg: float | None = Field(
        10.0, ge=0, le=90,
        description="check: smallest mean terrain slope inside (flat-ground subsidence is rejected), deg")
    min_relief_m: float | None = Field(30.0, ge=0, description="check: smallest elevation range inside, m")
    min_coherence: float | None = Field(0.4, ge=0, le=1, description="check: smallest mean temporal coherence inside")
    min_los_sensitivity: float | None = Field(
        0.1, ge=0, le=1,
        description="check: smallest |LOS . downslope| of the mean slope (the orbit can see downslope motion there)")
    min_velocity_mm_yr: float | None = Field(
        5.0, ge=0,
        description="check: smallest |LOS velocity| (95th percentile inside, against the ring around it), mm/yr")
    fusion_distance_m: float = Field(
        100.0, ge=0, le=5000, description="objects of the two orbits this close (or overlapping) are one landslide, m")
    min_downslope_sensitivity: float = Field(
        0.2, gt=0, le=1, description="LOS to downslope projection only where |LOS . downslope| reaches this")
    validation_tolerance_m: float = Field(
        100.0, ge=0, le=5000,
        description="a potential landslide within this distance of an inventory object confirms it, m")
    validation_inventory: str | None = Field(
        None,
        description="historical landslide inventory (points or polygons, any "
                    "CRS); None: the synthetic truth, else tiles.inventory")
    ada_k_sigma: float = Field(
        2.0, gt=0, le=10, description="ADA baseline: a pixel is active when |v| > k * sigma of the map")
    ada_min_pixels: int = Field(12, ge=1, le=100000, description="ADA baseline: smallest active area, px")
    ada_background_px: int | None = Field(
        256, ge=16, le=8192,
        description="ADA baseline: block size of the median background "
                    "removed before thresholding, px (null: the scene median)")


class AOIConfig(_Strict):
    """A validated area of interest at one profile."""

    name: str = Field(..., description="short name; the run folder is runs/<name>/<profile>")
    title: str = Field("", description="title shown in the book")
    synthetic: bool = Field(True, description="the area is made by lsid.synth (labelled 'synthetic' everywhere)")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="seed of every random choice")
    profile: Literal["smoke", "cpu", "paper"] = "cpu"
    synth: SynthConfig = SynthConfig()
    sbas: SbasConfig = SbasConfig()
    tiles: TilesConfig = TilesConfig()
    training: TrainingConfig = TrainingConfig()
    inventory: InventoryConfig = InventoryConfig()
    inputs: InputsConfig = InputsConfig()

    @model_validator(mode="after")
    def _inputs_for_real_areas(self):
        if not self.synthetic and self.inputs.ascending is None and self.inputs.descending is None:
            raise ValueError("an area with synthetic: false needs 'inputs' (ascending and/or descending data)")
        return self

    @model_validator(mode="after")
    def _reference_date_in_period(self):
        acq, rd = self.synth.acquisitions, self.sbas.reference_date
        if self.synthetic and rd is not None and not acq.start <= rd <= acq.end:
            raise ValueError(f"sbas.reference_date {rd} is outside the acquisition period ({acq.start} .. {acq.end}, "
                             f"synth.acquisitions.start/end): choose a date inside it, or null (the first date)")
        return self

    @field_validator("name")
    @classmethod
    def _slug(cls, v):
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", v):
            raise ValueError(f"name must be lower-case letters, digits, '-' or '_' (it names a folder), got {v!r}")
        return v

    @property
    def labelled(self) -> bool:
        """The area has landslide labels (the synthetic truth, or ``tiles.inventory``): the one test of
        whether it gets a TileSet and trained detectors."""
        return bool(self.synthetic or self.tiles.inventory)

    def run_dir(self, root: str | Path = "runs") -> Path:
        """The folder of this AOI's run at its profile: ``<root>/<name>/<profile>``."""
        from lsid.layout import RunLayout

        return RunLayout.of(self, root).root

    def to_dict(self) -> dict:
        """Plain, JSON-serialisable parameters (dates as ISO strings)."""
        return json.loads(self.model_dump_json())

    def digest(self, section: str | None = None) -> str:
        """SHA-256 of the parameters (or of one top-level section), to tell whether a stage must rerun."""
        data = self.to_dict() if section is None else self.to_dict()[section]
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def deep_merge(base: dict, override: dict) -> dict:
    """A new dict: ``base`` updated recursively by ``override`` (dicts merge, other values replace)."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _model_of(annotation) -> type[BaseModel] | None:
    """The pydantic model inside an annotation (``Model`` or ``Model | None``), if any."""
    import typing

    for cand in (annotation, *typing.get_args(annotation)):
        if isinstance(cand, type) and issubclass(cand, BaseModel):
            return cand
    return None


def _allowed_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """Field names allowed at ``loc`` (a pydantic error location) in ``model``."""
    current: Any = model
    for part in loc[:-1]:
        field = current.model_fields.get(part) if isinstance(part, str) else None
        sub = _model_of(field.annotation) if field is not None else None
        if sub is None:
            return []
        current = sub
    return sorted(current.model_fields)


def _field_of(model: type[BaseModel], loc: tuple):
    """The pydantic FieldInfo at ``loc`` in ``model``, or None."""
    current: Any = model
    field = None
    for part in loc:
        if current is None or not isinstance(part, str):
            return None
        field = current.model_fields.get(part)
        if field is None:
            return None
        current = _model_of(field.annotation)
    return field


def _shown(value) -> str:
    """`` = value`` for a message: short, and nothing for a whole section (a mapping)."""
    if isinstance(value, dict):
        return ""
    text = repr(value)
    return " = " + (text if len(text) <= 80 else text[:77] + "...")


def _describe(model: type[BaseModel], error: dict) -> str:
    loc = tuple(error["loc"])
    key = ".".join(str(p) for p in loc) or "(top level)"
    if error["type"] == "extra_forbidden":
        allowed = ", ".join(k for k in _allowed_keys(model, loc) if k != "profile")
        return f"unknown key '{key}'; allowed keys here: {allowed}"
    if error["type"] == "missing":
        field = _field_of(model, loc)
        what = f" ({field.description})" if field is not None and field.description else ""
        if loc == ("name",):
            return ("key 'name' is missing: add `name: <short-name>` (lower-case letters, digits, '-' or '_'; "
                    "the run folder is runs/<name>/<profile>)")
        return f"key '{key}' is missing: add it{what}"
    msg = error["msg"].removeprefix("Value error, ")
    if error["type"].startswith("date_"):
        msg += "; write a real calendar date as YYYY-MM-DD"
    if loc:
        return f"key '{key}'{_shown(error.get('input'))}: {msg}"
    return msg


def validate(data: dict, source: str = "<parameters>") -> AOIConfig:
    """Validate a parameter dict into an :class:`AOIConfig`, or raise :class:`ConfigError`."""
    try:
        return AOIConfig.model_validate(data)
    except ValidationError as exc:
        problems = "\n  ".join(_describe(AOIConfig, e) for e in exc.errors())
        raise ConfigError(
            f"{source}: invalid area-of-interest parameters:\n  {problems}\n"
            f"Fix the file (see data/aoi/ahai-synthetic.yaml and lsid/config.py for every key, "
            f"its unit and its allowed range)."
        ) from None


class _Loader(yaml.SafeLoader):
    """YAML's safe loader without its timestamp rule: dates stay strings, so that pydantic parses them and
    a date that does not exist (2019-02-30) is reported against its key, not as a bare ValueError."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

#: The keys that name input files, as paths through the parameters.
PATH_KEYS = (("inputs", "ascending", "path"), ("inputs", "descending", "path"), ("tiles", "inventory"),
             ("inventory", "validation_inventory"), ("inventory", "detector"))
#: Path keys whose value is a path only with one of these endings (else a word: inventory.detector's auto, ...).
PATH_ENDINGS = {("inventory", "detector"): (".json", ".pt")}


def _names_a_path(keys: tuple, value) -> bool:
    return isinstance(value, str) and (keys not in PATH_ENDINGS or value.endswith(PATH_ENDINGS[keys]))


def _template_hint(path: Path) -> str:
    return (f"start from `lsid check --template > {path}` (every key with its default) or copy "
            f"data/aoi/ahai-synthetic.yaml")


def _read_yaml(path: Path) -> dict:
    """The top-level mapping of an AOI file, or ConfigError naming the file and what to fix."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a text file (byte {exc.start} is not UTF-8); an area-of-interest file is "
                          f"YAML text: {_template_hint(path)}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc}); check that it is a file you may "
                          f"read") from None
    try:
        raw = yaml.load(text, Loader=_Loader)  # a SafeLoader
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if isinstance(exc, yaml.reader.ReaderError):
            raise ConfigError(f"{path}: not a text file ({problem}); an area-of-interest file is YAML text: "
                              f"{_template_hint(path)}") from None
        raise ConfigError(f"{path}: not valid YAML{at} ({problem}); fix the syntax") from None
    if raw is None or raw == {}:
        raise ConfigError(f"{path}: the file is empty; {_template_hint(path)}, and set at least `name`")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of keys at the top level, got {type(raw).__name__}; "
                          f"{_template_hint(path)}")
    return raw


def _resolve_paths(raw: dict, folder: Path) -> dict:
    """Make the file's relative input paths absolute (relative to the AOI file's ``folder``), in place;
    returns {key: the value as written} of every path key found."""
    written = {}
    for keys in PATH_KEYS:
        parent = raw
        for k in keys[:-1]:
            parent = parent.get(k) if isinstance(parent, dict) else None
        value = parent.get(keys[-1]) if isinstance(parent, dict) else None
        if _names_a_path(keys, value):
            written[".".join(keys)] = value
            if not Path(value).is_absolute():
                parent[keys[-1]] = str((folder / value).resolve())
    return written


def _missing_paths(cfg: AOIConfig, written: dict, source: Path) -> list[str]:
    """One line per path key whose file or folder does not exist."""
    out = []
    for keys in PATH_KEYS:
        value: Any = cfg
        for k in keys:
            value = getattr(value, k, None) if value is not None else None
        if value is None or not _names_a_path(keys, value) or Path(value).exists():
            continue
        key = ".".join(keys)
        as_written = written.get(key, value)
        rel = "" if Path(as_written).is_absolute() else f" (relative paths are read from {source.parent.resolve()})"
        out.append(f"key '{key}' = {as_written!r}: {value} does not exist{rel}")
    return out


def load_aoi(path: str | Path, profile: str = "cpu", overrides: dict | None = None,
             check_paths: bool = False) -> AOIConfig:
    """Read and validate an AOI YAML file at a profile: every key and value, the CRSs, the dates, and
    (``check_paths``: ``lsid check``, and ``lsid run`` when a stage that reads them is asked for) that
    the input files it names exist: everything that can be checked without reading data. Notebooks and
    later stages load without the path check, so that a run whose raw inputs were archived can still
    rebuild its book.

    Parameters
    ----------
    path : the AOI file (``data/aoi/<name>.yaml``).
    profile : ``smoke``, ``cpu`` or ``paper``.
    overrides : extra parameters merged last (nested dict), e.g. from a notebook.

    Raises
    ------
    ConfigError : the file is missing, empty, not text or not YAML, a key is unknown or missing, a value
        is out of range (a date that does not exist, a CRS that is not projected), an input file it
        names does not exist (with ``check_paths``), or the profile is unknown.
    """
    path = Path(path)
    if profile not in PROFILES:
        raise ConfigError(f"unknown profile {profile!r}: choose one of {', '.join(PROFILES)}")
    if not path.is_file():
        raise ConfigError(f"{path}: area-of-interest file not found; pass an existing data/aoi/<name>.yaml")
    raw = _read_yaml(path)
    if "profile" in raw:
        raise ConfigError(f"{path}: 'profile' is chosen when running (--profile), not in the file; remove it")
    file_profiles = raw.pop("profiles", None) or {}
    if not isinstance(file_profiles, dict) or set(file_profiles) - set(PROFILES):
        bad = sorted(set(file_profiles) - set(PROFILES)) if isinstance(file_profiles, dict) else file_profiles
        raise ConfigError(f"{path}: unknown profile(s) {bad} under 'profiles'; allowed: {', '.join(PROFILES)}")
    defaults = {"synth": SynthConfig().model_dump(mode="json")}
    written = _resolve_paths(raw, path.parent)  # relative to the AOI file
    if isinstance(file_profiles.get(profile), dict):  # a profile's own paths: relative to the AOI file too
        written.update(_resolve_paths(file_profiles[profile], path.parent))
    merged = deep_merge(defaults, raw)
    merged = deep_merge(merged, PROFILE_OVERRIDES[profile])
    merged = deep_merge(merged, file_profiles.get(profile) or {})
    merged = deep_merge(merged, overrides or {})
    merged["profile"] = profile
    cfg = validate(merged, source=str(path))
    missing = _missing_paths(cfg, written, path) if check_paths else []
    if missing:
        raise ConfigError(f"{path}: input not found:\n  " + "\n  ".join(missing)
                          + "\nFix the path (absolute, or relative to the AOI file) or put the data there.")
    return cfg
