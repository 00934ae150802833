"""Detection on a user's own velocity maps: LOS velocity GeoTIFFs from any SBAS software (LiCSBAS,
MintPy, HyP3, commercial) in, a georeferenced inventory of potential landslides out (``lsid detect``).

:func:`detect_maps` runs the study's inventory chain (:func:`lsid.inventory.build_inventory`: objects,
checks, ascending/descending fusion, decomposition, with the default
:class:`lsid.config.InventoryConfig`) on boxes of a detector run over each whole map
(:mod:`lsid.detect.scene`), and writes one file (:mod:`lsid.inventory.export`). Step by step:

1. each track is read by :func:`lsid.io.geotiff.open_velocity` (unit converted to mm/yr, plausibility
   warnings), its sign flipped when asked (lsid's convention: positive towards the satellite), its
   incidence and heading (deg) taken from the arguments or the file's tags; a map in degrees is
   resampled to its UTM zone and the second track onto the first one's CRS (:mod:`lsid.io.crs`);
2. a DEM (m) and coherence maps on any grid and CRS are resampled (bilinear) onto each track's grid
   as the ``dem`` and ``temporal_coherence`` layers;
3. the detector (a shipped name, a model card ``.json`` with its weights beside it, or a study's
   checkpoint ``best.pt``) runs over each map; boxes become the inventory.

Missing evidence is said, never skipped silently: a check that cannot run for lack of a layer (no DEM:
slope, relief, LOS sensitivity; no incidence/heading: LOS sensitivity and the decomposition; no
coherence map: coherence) is logged once at the start and named in the inventory's ``not_checked``
column, object by object.

It lives in lsid.inventory (not lsid.detect) because it runs the inventory chain on the detector's boxes.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr

from lsid.errors import InputDataError, InputWarning

log = logging.getLogger(__name__)

ORBITS = ("ascending", "descending")
#: Output formats, by the extension of the output file (lsid.inventory.export.FORMATS).
FORMATS = ("gpkg", "geojson", "kml", "csv")
#: The detector used when none is named (lsid.models.pretrained.DEFAULT).
DEFAULT_DETECTOR = "crf_faster_rcnn"
#: File tags that may carry a map's mean incidence angle and satellite heading (deg), first found wins.
INCIDENCE_TAGS = ("INCIDENCE_DEGREES", "INCIDENCE_ANGLE", "CENTER_INCIDENCE_ANGLE")
HEADING_TAGS = ("HEADING_DEGREES", "HEADING")
#: Below this share of a map's valid pixels covered by the DEM / coherence map, a warning says so.
MIN_COVER = 0.5
#: What the reader's warnings should add for a user of ``lsid detect``.
READ_HINT = ("(lsid detect: declare the file's unit with --units mm/yr|cm/yr|m/yr, a no-data value with --nodata "
             "VALUE, a sign opposite to lsid's, positive away from the satellite, with --flip-sign)")
#: Evidence each check or measure needs, in the order the ``not_checked`` column names them.
NOT_CHECKED_ORDER = ("slope", "relief", "sensitivity", "coherence", "downslope rate", "vertical/east-west rates")


def output_format(output: str | Path) -> str:
    """The format of an output file from its extension (one of :data:`FORMATS`); InputDataError otherwise."""
    path = Path(output)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise InputDataError(f"{path}: output extension {path.suffix or '(none)'!r} is not supported; name the "
                             f"output with one of {', '.join('.' + f for f in FORMATS)} (e.g. inventory.gpkg)")
    if path.is_dir():
        raise InputDataError(f"{path}: is a folder; name the output file, e.g. {path / ('inventory.' + fmt)}")
    return fmt


# --- reading the maps -------------------------------------------------------------------------------


def _tag(tags: dict, names: tuple[str, ...]) -> float | None:
    upper = {k.upper(): v for k, v in tags.items()}
    for n in names:
        try:
            return float(upper[n])
        except (KeyError, ValueError):
            continue
    return None


def _geometry(path: Path, orbit: str, given: tuple | None) -> dict:
    """Incidence angle and heading (deg) of a track: from ``given`` (incidence, heading), else the file's
    tags; the attrs they become (none when unknown). InputDataError when only one of the two is given or
    the incidence is outside 0..90 deg; a warning when the heading is of the other orbit direction."""
    import rasterio

    from lsid.io.geotiff import orbit_from_heading

    inc, head = given if given is not None else (None, None)
    source = "given"
    if inc is None and head is None:
        with rasterio.open(path) as src:
            tags = src.tags()
        inc, head, source = _tag(tags, INCIDENCE_TAGS), _tag(tags, HEADING_TAGS), "file tags"
        if inc is None or head is None:
            return {}
    elif inc is None or head is None:
        have, lack = ("an incidence", "heading") if head is None else ("a heading", "incidence")
        raise InputDataError(f"{path}: the {orbit} track is given {have} but no {lack}; give both (geometry= / "
                             f"--incidence-{orbit} DEG --heading-{orbit} DEG), or neither")
    inc, head = float(inc), float(head)
    if not 0.0 < inc < 90.0:
        raise InputDataError(f"{path}: incidence angle {inc:g} deg of the {orbit} track is outside 0..90 deg; give the "
                             f"look angle from the vertical at the ground (Sentinel-1: about 30-46 deg)")
    if orbit_from_heading(head) != orbit:
        warnings.warn(f"{path}: heading {head:g} deg is that of a {orbit_from_heading(head)} pass, but the map is "
                      f"given as {orbit}: check --heading-{orbit} (clockwise from north; Sentinel-1 ascending about "
                      f"-10 deg, descending about -170 deg)", InputWarning, stacklevel=3)
    return {"incidence_angle": inc, "heading": head, "geometry_source": source}


def _open(path: Path, orbit: str, units: str, nodata: float | None) -> xr.Dataset:
    """open_velocity, its plausibility warnings repeated with the ``lsid detect`` options that fix them."""
    from lsid.io.geotiff import open_velocity

    with warnings.catch_warnings(record=True) as caught:
        defo = open_velocity(path, units=units, orbit=orbit, nodata=nodata)
    for w in caught:
        msg = f"{w.message} {READ_HINT}" if issubclass(w.category, InputWarning) else str(w.message)
        warnings.warn(msg, w.category, stacklevel=4)
    return defo


def read_track(path: str | Path, orbit: str, units: str = "mm/yr", flip_sign: bool = False,
               nodata: float | None = None, geometry: tuple[float | None, float | None] | None = None,
               crs: str | None = None) -> xr.Dataset:
    """One track's velocity GeoTIFF as a velocity-only Deformation on a projected grid in metres.

    Parameters
    ----------
    path : the GeoTIFF (mean LOS velocity).
    orbit : ``ascending`` or ``descending``.
    units : the file's unit, ``mm/yr``, ``cm/yr`` or ``m/yr`` (converted to mm/yr).
    flip_sign : the file's positive values mean motion away from the satellite: negate them (recorded in
        the attrs as ``velocity_sign``).
    nodata : a no-data value the file does not declare (file units).
    geometry : (incidence, heading), deg; None: the file's tags (INCIDENCE_DEGREES, HEADING), else unknown.
    crs : the CRS to resample onto (the other track's); None: the map's own when projected in metres,
        else its UTM zone.

    Raises InputDataError for a missing or unreadable file, a map without CRS, an all-NaN map (and what
    :func:`lsid.io.geotiff.open_velocity` refuses); warns (InputWarning) as it does.
    """
    from pyproj import CRS

    from lsid.io.crs import to_working_crs

    path = Path(path)
    defo = _open(path, orbit, units, nodata)
    if defo.rio.crs is None:
        raise InputDataError(f"{path}: the velocity map has no CRS, so its detections cannot be placed on the ground; "
                             f"give the file its CRS (gdal_edit.py -a_srs EPSG:<code> {path}) or export it "
                             f"georeferenced from the SBAS software")
    if flip_sign:
        defo["velocity"] = defo.velocity.copy(data=-defo.velocity.values)
        defo.attrs["velocity_sign"] = ("flipped on reading (flip_sign / --flip-sign): the file's positive values "
                                       "are motion away from the satellite")
    else:
        defo.attrs["velocity_sign"] = "as in the file: positive towards the satellite"
    defo.attrs.update(_geometry(path, orbit, geometry))
    own = CRS.from_user_input(defo.rio.crs)
    if crs is None and own.is_projected and own.axis_info and own.axis_info[0].unit_name not in ("metre", "meter"):
        crs = defo.rio.estimate_utm_crs().to_string()  # feet or other units: slopes and areas need metres
    return to_working_crs(defo, target=crs)


def _read_layer(path: Path, what: str) -> xr.DataArray:
    """Band 1 of a GeoTIFF (float32, NaN = no data, no-data sentinels too) with its CRS."""
    from lsid.io.plausibility import drop_sentinels

    if not path.is_file():
        raise InputDataError(f"{path}: {what} GeoTIFF not found")
    try:
        da = rioxarray.open_rasterio(path, masked=True).isel(band=0, drop=True)
    except Exception as exc:  # rasterio raises several types for damaged files
        raise InputDataError(f"{path}: cannot read this {what} as a GeoTIFF ({exc}); replace the file") from None
    if da.rio.crs is None:
        raise InputDataError(f"{path}: the {what} has no CRS, so it cannot be placed under the velocity maps; give "
                             f"it one (gdal_edit.py -a_srs EPSG:<code> {path})")
    return da.copy(data=drop_sentinels(da.values)).rio.write_nodata(np.nan, encoded=False)


def layer_onto(path: str | Path, defo: xr.Dataset, what: str = "DEM") -> np.ndarray:
    """A GeoTIFF layer (``what``: DEM in m, coherence in 0..1) resampled bilinearly onto ``defo``'s grid:
    (y, x) float32, NaN off the layer. InputDataError when it has no CRS or does not overlap the map; a
    warning when it covers less than MIN_COVER of the map's valid pixels."""
    from rasterio.enums import Resampling
    from rasterio.warp import transform_bounds

    path = Path(path)
    src = _read_layer(path, what)
    orbit = defo.attrs.get("orbit", "")
    x0, y0, x1, y1 = defo.rio.bounds()
    b = transform_bounds(src.rio.crs, defo.rio.crs, *src.rio.bounds(), densify_pts=21)
    apart = (f"{path}: the {what} does not overlap the {orbit} velocity map ({defo.attrs.get('source', '')}): it "
             f"covers x {b[0]:.0f}..{b[2]:.0f}, y {b[1]:.0f}..{b[3]:.0f} and the map x {x0:.0f}..{x1:.0f}, y "
             f"{y0:.0f}..{y1:.0f} ({defo.rio.crs}); give a {what} of the same area")
    if not (b[0] < x1 and b[2] > x0 and b[1] < y1 and b[3] > y0):
        raise InputDataError(apart)
    res = src.rio.reproject_match(defo["velocity"], resampling=Resampling.bilinear)
    vals = np.asarray(res.values, dtype=np.float32)
    if vals.shape != (defo.sizes["y"], defo.sizes["x"]) or not np.isfinite(vals).any():
        raise InputDataError(apart)
    valid = np.asarray(defo.valid.values, dtype=bool)
    cover = float(np.isfinite(vals[valid]).mean()) if valid.any() else 0.0
    if cover < MIN_COVER:
        warnings.warn(f"{path}: the {what} covers only {100 * cover:.0f} % of the {orbit} map's valid pixels; "
                      f"objects off it fail the checks that need it", InputWarning, stacklevel=3)
    return vals


def _coherence_onto(path: str | Path, defo: xr.Dataset) -> np.ndarray:
    """A coherence map (0..1) on ``defo``'s grid; InputDataError when its values are not within 0..1."""
    c = layer_onto(path, defo, "coherence")
    top = float(np.nanmax(c))
    if top > 1.0 + 1e-3 or float(np.nanmin(c)) < -1e-3:
        raise InputDataError(f"{path}: coherence values run {np.nanmin(c):.3g}..{top:.3g}, not 0..1; give the "
                             f"temporal coherence as a fraction (a 0-255 byte map: divide by 255)")
    return np.clip(c, 0.0, 1.0)


# --- the detector -----------------------------------------------------------------------------------


@dataclass
class Detector:
    """A detector ready to run over maps: ``name`` (the model column of the boxes), and either a
    pretrained ``model`` with its ``drawing``, or a study ``checkpoint`` (drawn as its TileSet)."""

    name: str
    model: object = None
    drawing: object = None
    checkpoint: Path | None = None
    options: dict = field(default_factory=dict)
    #: operating score threshold: a shipped detector's card's (lsid.inventory.calibrate), else 0.5
    score_threshold: float = 0.5

    def detect(self, defo: xr.Dataset, score_threshold: float | None = None,
               progress: bool = False) -> gpd.GeoDataFrame:
        """Boxes on one whole map (lsid.detect.scene columns, the map's CRS); ``score_threshold`` 0..1
        (None: the detector's own, :attr:`score_threshold`)."""
        score_threshold = self.score_threshold if score_threshold is None else score_threshold
        from lsid.detect.scene import detect_scene, detect_with_checkpoint

        if self.checkpoint is not None:
            return detect_with_checkpoint(self.checkpoint, defo, score_threshold=score_threshold, progress=progress,
                                          **self.options)
        return detect_scene(self.model, defo, self.drawing, score_threshold=score_threshold, progress=progress,
                            model_name=self.name, **self.options)


def _detector_kind(detector: str | Path) -> tuple[str, Path | str]:
    """("name" | "card" | "checkpoint", what) of a --detector value; InputDataError for a missing path."""
    from lsid.models.pretrained import available, card

    s = str(detector)
    p = Path(s).expanduser()
    if p.suffix.lower() in (".pt", ".pth", ".json") or "/" in s or "\\" in s:
        fix = (f"--detector takes a shipped detector name (available: {', '.join(available()) or 'none'}), a model "
               f"card .json with its weights beside it, or a study checkpoint (runs/.../models/<run>/best.pt)")
        if not p.is_file():
            raise InputDataError(f"{p}: detector file not found; {fix}")
        if p.suffix.lower() == ".json":
            return "card", p
        if p.suffix.lower() in (".pt", ".pth"):
            return "checkpoint", p
        raise InputDataError(f"{p}: not a detector file (.json model card or .pt checkpoint); {fix}")
    card(s)  # a missing card: WeightsError naming the available ones
    return "name", s


def load_detector(detector: str | Path = DEFAULT_DETECTOR, device: str | None = None) -> Detector:
    """The detector named by ``detector``: a shipped name (lsid/models/weights/<name>.json), a model card
    path (``.json``, weights beside it, checked against the card), or a study checkpoint (``.pt``).
    Low-score boxes are kept by the model (``box_score_thresh`` 0.01) so that the score threshold alone
    decides. ``device``: cuda or cpu (default: cuda when available)."""
    from lsid.detect.scene import Drawing
    from lsid.models.pretrained import pretrained

    kind, what = _detector_kind(detector)
    options = {"device": device} if device else {}
    if kind == "checkpoint":
        from lsid.training.checkpoints import load_checkpoint

        ck = load_checkpoint(what)  # damaged: CheckpointDamaged
        Drawing.from_tileset(ck["tileset"])  # its TileSet is needed to draw the maps as it was trained
        return Detector(str(ck["model"]), checkpoint=Path(what), options=options)
    stem, folder = (what.stem, what.parent) if kind == "card" else (what, None)
    model, c = pretrained(stem, folder=folder, box_score_thresh=0.01)
    return Detector(f"pretrained:{stem}", model=model, drawing=Drawing.from_card(c), options=options,
                    score_threshold=float(c.get("score_threshold", 0.5)))


# --- missing evidence -------------------------------------------------------------------------------


def missing_evidence(defos: dict[str, xr.Dataset]) -> dict[str, dict[str, str]]:
    """{orbit: {check or measure that cannot be made: why}} for each track's Deformation (names of
    :data:`NOT_CHECKED_ORDER`): no ``dem`` layer, no incidence and heading, no ``temporal_coherence``."""
    out = {}
    for o, d in defos.items():
        miss = {}
        geometry = (np.isfinite(float(d.attrs.get("incidence_angle", np.nan))) or "incidence" in d) and \
            np.isfinite(float(d.attrs.get("heading", np.nan)))
        no_dem = "no DEM (--dem)"
        no_geo = f"no incidence and heading (--incidence-{o}, --heading-{o})"
        if "dem" not in d:
            miss.update({"slope": no_dem, "relief": no_dem, "sensitivity": no_dem, "downslope rate": no_dem})
        if not geometry:
            for k in ("sensitivity", "downslope rate"):
                miss[k] = f"{miss[k]}; {no_geo}" if k in miss else no_geo
            if set(ORBITS) <= set(defos):
                miss["vertical/east-west rates"] = no_geo
        if "temporal_coherence" not in d:
            miss["coherence"] = f"no coherence map (--coherence-{o})"
        out[o] = miss
    return out


def not_checked(seen_in: str, missing: dict[str, dict[str, str]]) -> str:
    """What was not checked or measured for an object ``seen_in`` one orbit or both ("slope, relief,
    coherence (descending)"): an item missing in only one of the orbits that saw it names that orbit."""
    orbits = list(ORBITS) if seen_in == "both" else [seen_in]
    items = []
    for name in NOT_CHECKED_ORDER:
        if name == "vertical/east-west rates" and seen_in != "both":
            continue
        lacking = [o for o in orbits if name in missing.get(o, {})]
        if lacking:
            whole = len(lacking) == len(orbits) or name == "vertical/east-west rates"
            items.append(name if whole else f"{name} ({lacking[0]})")
    return ", ".join(items)


def missing_by_reason(missing: dict[str, dict[str, str]]) -> dict[str, tuple[list[str], list[str]]]:
    """{reason: (the checks and measures it stops, the tracks it applies to)} of :func:`missing_evidence`."""
    by_reason: dict[str, tuple[list[str], list[str]]] = {}
    for o, miss in missing.items():
        for name, why in miss.items():
            for reason in why.split("; "):
                names, orbits = by_reason.setdefault(reason, ([], []))
                if name not in names:
                    names.append(name)
                if o not in orbits:
                    orbits.append(o)
    return by_reason


def describe_missing(names: list[str], orbits: list[str]) -> str:
    """The words for ``names`` missing on ``orbits``: "slope, relief not checked on the ascending track"."""
    return f"{', '.join(names)} not checked on the {' and '.join(orbits)} track{'s' if len(orbits) > 1 else ''}"


def _warn_missing(missing: dict[str, dict[str, str]]) -> None:
    """One log line per missing piece of evidence: the checks and measures it stops, and on which tracks."""
    for reason, (names, orbits) in missing_by_reason(missing).items():
        log.warning("%s: %s (the inventory's not_checked column says so per object)", reason,
                    describe_missing(names, orbits))


# --- the command ------------------------------------------------------------------------------------


def _tracks(ascending, descending, units, flip_sign, nodata, geometry) -> dict[str, xr.Dataset]:
    """Both tracks read, the second onto the first one's CRS."""
    defos, crs = {}, None
    for orbit, path in (("ascending", ascending), ("descending", descending)):
        if path is None:
            continue
        defos[orbit] = read_track(path, orbit, units, flip_sign, nodata, (geometry or {}).get(orbit), crs)
        crs = crs or defos[orbit].rio.crs.to_string()
    return defos


def _add_layers(defos: dict[str, xr.Dataset], dem, coherence: dict | None) -> None:
    """The DEM (m) and each track's coherence resampled onto the tracks' grids, in place."""
    extra = set(coherence or {}) - set(defos)
    if extra:
        raise InputDataError(f"a coherence map is given for the {', '.join(sorted(extra))} track "
                             f"({', '.join(str(coherence[o]) for o in sorted(extra))}) but no velocity map of it; "
                             f"give --{sorted(extra)[0]} VELOCITY.tif too, or drop that coherence map")
    for o, d in defos.items():
        if dem is not None:
            d["dem"] = (("y", "x"), layer_onto(dem, d, "DEM"), {"units": "m", "source": str(dem)})
        if (coherence or {}).get(o) is not None:
            d["temporal_coherence"] = (("y", "x"), _coherence_onto(coherence[o], d),
                                       {"units": "1", "source": str(coherence[o])})


def _write(inv: gpd.GeoDataFrame, output: Path, fmt: str) -> Path:
    """``inv`` written as ``output`` (atomically: lsid.inventory.export's temporary folder beside it)."""
    import os

    from lsid.inventory.export import write_inventory

    written = write_inventory(inv, output.parent, output.stem, formats=(fmt,))[fmt]
    if written != output:  # an upper-case extension (INV.GPKG): the writer names it in lower case
        os.replace(written, output)
    return output


def detect_maps(ascending: str | Path | None = None, descending: str | Path | None = None, *,
                dem: str | Path | None = None, coherence: dict[str, str | Path] | None = None,
                geometry: dict[str, tuple[float | None, float | None]] | None = None, units: str = "mm/yr",
                flip_sign: bool = False, nodata: float | None = None, detector: str | Path = DEFAULT_DETECTOR,
                score_threshold: float | None = None, output: str | Path | None = None, params=None,
                progress: bool = True, device: str | None = None) -> gpd.GeoDataFrame:
    """A georeferenced inventory of potential landslides from one or two LOS velocity GeoTIFFs.

    Parameters
    ----------
    ascending, descending : velocity GeoTIFFs of each track (at least one), mean LOS velocity in ``units``,
        positive towards the satellite (else ``flip_sign``); any CRS (degrees are resampled to UTM).
    dem : elevation GeoTIFF, m, any grid and CRS (resampled onto the maps); None: the slope, relief and
        sensitivity checks cannot run (said in ``not_checked``).
    coherence : {orbit: temporal coherence GeoTIFF, 0..1}; an orbit without: its coherence check cannot run.
    geometry : {orbit: (incidence, heading)}, deg (heading clockwise from north); else the files' tags.
    units : ``mm/yr``, ``cm/yr`` or ``m/yr`` of the velocity files.
    flip_sign : negate the velocities (files positive away from the satellite).
    nodata : a no-data value the velocity files do not declare (file units).
    detector : a shipped detector name, a model card ``.json`` or a study checkpoint ``.pt``.
    score_threshold : boxes scoring below (0..1) are dropped; None: the detector's operating threshold (a
        shipped detector's card's, chosen on the corpus's validation areas; 0.5 for a study checkpoint).
    output : the file to write (``.gpkg``, ``.geojson``, ``.kml`` or ``.csv``); None: write nothing.
    params : an lsid.config.InventoryConfig (default: its defaults, as the study's).
    progress : a progress bar while detecting.
    device : ``cuda`` or ``cpu`` (default: cuda when available).

    Returns
    -------
    The inventory (lsid.inventory.build_inventory columns and ``not_checked``) in the first track's
    projected CRS; ``attrs``: ``boxes``, ``objects_before_checks``, ``objects_after_checks`` per orbit,
    ``not_checked`` ({orbit: {check: why}}), ``output`` (path or None), ``detector``.

    Raises InputDataError (nothing written) for no track, an unsupported output extension, a missing or
    unreadable file, a map without CRS or without any value, a DEM or coherence map that does not overlap,
    a detector path that does not exist; warns (InputWarning) about implausible values (a unit that does
    not fit the statistics, undeclared no-data values).
    """
    from lsid.config import InventoryConfig
    from lsid.inventory import ORBIT_SUFFIX, build_inventory
    from lsid.inventory.objects import SceneLayers

    if ascending is None and descending is None:
        raise InputDataError("no velocity map: give at least one track, --ascending ASC.tif and/or --descending "
                             "DESC.tif (ascending= / descending=)")
    fmt = output_format(output) if output is not None else None
    if score_threshold is not None and not 0.0 <= float(score_threshold) <= 1.0:
        raise InputDataError(f"score threshold {score_threshold:g} is outside 0..1; give a box score between 0 and 1 "
                             f"(default 0.5; --score-threshold)")
    _detector_kind(detector)  # a missing detector file fails before the maps are read
    defos = _tracks(ascending, descending, units, flip_sign, nodata, geometry)
    _add_layers(defos, dem, coherence)
    missing = missing_evidence(defos)
    _warn_missing(missing)
    det = load_detector(detector, device)
    boxes = {o: det.detect(d, score_threshold, progress) for o, d in defos.items()}
    layers = {o: SceneLayers(d) for o, d in defos.items()}
    with warnings.catch_warnings():  # nanmean of an unknown incidence: said in not_checked
        warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
        inv, objects = build_inventory(boxes, defos, params or InventoryConfig(), layers)
    for o, d in defos.items():  # SceneLayers stands in 1 for a missing coherence: not a measure
        col = f"coherence{ORBIT_SUFFIX.get(o, '_' + o)}"
        if "temporal_coherence" not in d and col in inv:
            inv[col] = np.nan
    inv["not_checked"] = [not_checked(s, missing) for s in inv["seen_in"]] if len(inv) else \
        np.array([], dtype=object)
    path = _write(inv, Path(output), fmt) if output is not None else None
    inv.attrs.update({"boxes": {o: len(b) for o, b in boxes.items()},
                      "objects_before_checks": {o: len(g) for o, g in objects.items()},
                      "objects_after_checks": {o: int(g["passes"].astype(bool).sum()) if len(g) else 0
                                               for o, g in objects.items()},
                      "not_checked": missing, "output": str(path) if path else None, "detector": det.name})
    log.info("%d potential landslides from %s%s", len(inv), det.name, f", written to {path}" if path else "")
    return inv


__all__ = ["FORMATS", "DEFAULT_DETECTOR", "NOT_CHECKED_ORDER", "Detector", "detect_maps", "layer_onto",
           "load_detector", "missing_evidence", "missing_by_reason", "describe_missing", "not_checked",
           "output_format", "read_track"]
