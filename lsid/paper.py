"""Every number Dong et al. (2026) report, once, with its section.

Dong, Y. et al. (2026). *An Automatic Identification Method for Large-Scale Landslide Hazard Potential
Integrating InSAR and CRF-Faster RCNN.* Remote Sensing 18(2), 283.

The plots, the configuration's ``paper`` profile and defaults, the notebooks and the report
(:mod:`lsid.report`) read the paper's numbers from here; nothing else in lsid types them. Each name
below is a plain value (what callers use); :data:`NUMBERS` holds the same value with its unit, the
section of the paper that reports it and what it is, e.g. ``NUMBERS["PAIRS_KEPT"].section``.

Keys of per-track values are lsid's orbit names (``ascending``, ``descending``), keys of per-model values
lsid's model names (:data:`lsid.config.MODEL_NAMES`). The values are shared: copy before changing one.

This module imports nothing from lsid, so that any module may use it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

CITATION = "Dong et al. (2026), Remote Sensing 18(2), 283"


class Number(NamedTuple):
    """A number the paper reports: its value, unit, the section that reports it, and what it is."""

    value: Any
    unit: str
    section: str
    what: str


#: name -> :class:`Number`, in the paper's order.
NUMBERS: dict[str, Number] = {}


def _reported(name: str, value, unit: str, section: str, what: str):
    NUMBERS[name] = Number(value, unit, section, what)
    return value


# ------------------------------------------------------------------------ §2: area and data (Table 1)
LATITUDE = _reported("LATITUDE", ((27, 21), (27, 46)), "(deg, arc min)", "§2",
                     "southern and northern limits of the study area, N")
LONGITUDE = _reported("LONGITUDE", ((100, 15), (100, 31)), "(deg, arc min)", "§2",
                      "western and eastern limits of the study area, E")
RELIEF_M = _reported("RELIEF_M", 2000, "m", "§2", "the valley's banks rise more than this above the river")
SENSOR = _reported("SENSOR", {"platform": "Sentinel-1A", "mode": "IW", "band": "C", "polarisation": "VV"}, "",
                   "§2, Table 1", "satellite, acquisition mode, radar band and polarisation of both tracks")
WAVELENGTH_CM = _reported("WAVELENGTH_CM", 5.6, "cm", "§2, Table 1", "radar wavelength")
PERIOD = _reported("PERIOD", ("2019-01", "2021-12"), "year-month", "§2, Table 1",
                   "first and last month of the acquisitions of both tracks")
IMAGES = _reported("IMAGES", {"ascending": 88, "descending": 160}, "images", "§2, Table 1",
                   "Sentinel-1 images of each track")
DESCENDING_REPEAT_DAYS = _reported("DESCENDING_REPEAT_DAYS", 6, "days", "§2",
                                   "revisit of the descending track (Sentinel-1A and -1B together)")

# --------------------------------------------------------------------------------- §3: the method
PAIRS_KEPT = _reported("PAIRS_KEPT", {"ascending": 216, "descending": 238}, "interferograms", "§3.1",
                       "small-baseline interferograms kept for the SBAS inversion, per track (also Table 1)")
SCENE_SHAPE = _reported("SCENE_SHAPE", (3565, 2285), "px (rows, columns)", "§3.4",
                        "size of the deformation maps (2285 x 3565 px, width x height)")
TILE_SIZE_PX = _reported("TILE_SIZE_PX", 512, "px", "§3.4", "edge of the square crops (tiles) of the maps")
DATASET = _reported("DATASET", {"maps": IMAGES["ascending"] + IMAGES["descending"],  # one per image
                                "crops": 6560, "kept": 410, "augmented": 1230}, "images", "§3.4",
                    "deformation maps of both tracks, crops cut from them, crops kept (hand-selected and "
                    "labelled), kept crops after augmentation")
AUGMENT_FACTOR = _reported("AUGMENT_FACTOR", 3, "x", "§3.4", "images after augmentation per kept crop")
LR = _reported("LR", 0.0025, "", "§3.5", "SGD learning rate")
MOMENTUM = _reported("MOMENTUM", 0.9, "", "§3.5", "SGD momentum")
WEIGHT_DECAY = _reported("WEIGHT_DECAY", 0.001, "", "§3.5", "SGD weight decay")
BATCH_SIZE = _reported("BATCH_SIZE", 5, "images", "§3.5", "training batch size")
EPOCHS = _reported("EPOCHS", 300, "epochs", "§3.5", "most training epochs")
PATIENCE = _reported("PATIENCE", 10, "epochs", "§3.5",
                     "early stopping after this many epochs without a better validation mAP")

# -------------------------------------------------------------------------------- §4: the results
FASTEST_AWAY_MM_YR = _reported("FASTEST_AWAY_MM_YR", {"ascending": -79.2, "descending": -95.8}, "mm/yr",
                               "§4.1, Fig. 8", "fastest LOS motion away from the satellite, per track")
SCENE_BOXES = _reported("SCENE_BOXES", {"faster_rcnn_vgg16": {"ascending": 42, "descending": 74},
                                        "crf_faster_rcnn": {"ascending": 57, "descending": 82}}, "boxes",
                        "§4.2.2, Figs. 9-10", "boxes of each detector on each track's whole deformation map")
MAP50 = _reported("MAP50", {"faster_rcnn_vgg16": 0.856, "crf_faster_rcnn": 0.888}, "", "§4.3",
                  "test mAP@0.5 of Faster R-CNN (VGG16) and CRF-Faster R-CNN (also Table 2)")
POTENTIAL_LANDSLIDES = _reported("POTENTIAL_LANDSLIDES", 38, "landslides", "§4.4",
                                 "potential landslides of the inventory (ascending and descending fused)")
BOTH_ORBITS = _reported("BOTH_ORBITS", 8, "landslides", "§4.4", "potential landslides seen by both tracks")
CONFIRMED_SHARE = _reported("CONFIRMED_SHARE", 0.84, "", "§4.4",
                            "share of the potential landslides confirmed by optical images and field survey")
WET_SEASON_MONTHS = _reported("WET_SEASON_MONTHS", (5, 6, 7, 8, 9, 10), "months", "§4.5",
                              "the wet season (May to October), when the landslides accelerate")

#: Display names of the detectors: the paper's two, and lsid's ablations.
PRETTY = {"faster_rcnn_vgg16": "Faster R-CNN (VGG16)", "crf_faster_rcnn": "CRF-Faster R-CNN",
          "faster_rcnn_r50_fpn": "Faster R-CNN (ResNet-50 + FPN)",
          "faster_rcnn_r50_cbam": "Faster R-CNN (ResNet-50 + CBAM)"}


def pair(per_track: dict, sep: str = " / ") -> str:
    """``"88 / 160"``: a per-track value, ascending first."""
    return sep.join(str(per_track[o]) for o in ("ascending", "descending"))
