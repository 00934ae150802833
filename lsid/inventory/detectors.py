"""Which detector makes an area's inventory (``inventory.detector``), and the scene boxes of a shipped one.

``inventory.detector`` (lsid.config.InventoryConfig):

- ``auto`` (default): the area's trained detector (``inventory.model``) where the area has labels
  (:attr:`lsid.config.AOIConfig.labelled`), else the shipped pretrained detector: a real area
  without an inventory gets a detector's inventory beside ADA's;
- ``trained``: the training run of ``inventory.model`` (an error names the fix when there is none);
- ``pretrained`` or ``pretrained:<name>``: a detector shipped in lsid/models/weights
  (:mod:`lsid.models.pretrained`), the map resampled to its pixel size;
- a path: a model card ``.json`` (its weights beside it) or a checkpoint ``best.pt`` of any study.

The choice is recorded in the inventory summary (``detector``: kind, name, label, and the weights'
SHA-256 or the checkpoint), and every book page that shows the inventory says which detector made it.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import geopandas as gpd

from lsid.errors import ConfigError

log = logging.getLogger(__name__)

#: The shipped detector ``pretrained`` means.
DEFAULT_PRETRAINED = "crf_faster_rcnn"


@dataclass(frozen=True)
class DetectorChoice:
    """The detector of an inventory: ``kind`` (trained | pretrained | card | checkpoint), ``name`` (a
    model of lsid.models.REGISTRY, a shipped detector, or a file path), ``key`` (its file-name-safe key in
    ``detections/``), ``short`` (its name in tables and legends) and ``label`` (a sentence for the book)."""

    kind: str
    name: str
    key: str
    short: str
    label: str

    def describe(self) -> dict:
        return asdict(self)


def choose_detector(cfg) -> DetectorChoice:
    """The detector ``cfg.inventory.detector`` names (module docstring); ConfigError for a path that does
    not exist or has another extension."""
    from lsid.paper import PRETTY

    value = (cfg.inventory.detector or "auto").strip()
    if value == "auto":
        value = "trained" if cfg.labelled else "pretrained"
    if value == "trained":
        m = cfg.inventory.model
        return DetectorChoice("trained", m, m, PRETTY.get(m, m), f"{PRETTY.get(m, m)} trained on this area's labels")
    if value == "pretrained" or value.startswith("pretrained:"):
        name = value.split(":", 1)[1] if ":" in value else DEFAULT_PRETRAINED
        return DetectorChoice("pretrained", name, f"pretrained_{name}", f"{PRETTY.get(name, name)} (pretrained)",
                              f"the shipped {PRETTY.get(name, name)}, pretrained on lsid's randomised synthetic "
                              f"corpus, with no training on this area")
    path = Path(value)
    if path.suffix not in (".json", ".pt"):
        raise ConfigError(f"inventory.detector {value!r}: give auto, trained, pretrained[:<name>], or the path of a "
                          f"model card (.json) or a checkpoint (best.pt)")
    if not path.is_file():
        raise ConfigError(f"inventory.detector {value!r}: no such file; give an existing model card (.json) or "
                          f"checkpoint (.pt), or one of auto, trained, pretrained")
    kind = "card" if path.suffix == ".json" else "checkpoint"
    stem = path.stem if kind == "card" else path.parent.name or path.stem
    return DetectorChoice(kind, str(path), f"{kind}_{stem}", stem, f"the detector of {path}")


def _model(choice: DetectorChoice):
    """(model in eval mode, model card or None, drawing) of a non-trained choice."""
    from lsid.detect.scene import Drawing
    from lsid.models.pretrained import pretrained

    if choice.kind == "checkpoint":
        return None, None, None
    if choice.kind == "card":
        p = Path(choice.name)
        model, card = pretrained(p.stem, folder=p.parent, box_score_thresh=0.01)
    else:
        model, card = pretrained(choice.name, box_score_thresh=0.01)
    return model, card, Drawing.from_card(card)


def fingerprint(choice: DetectorChoice) -> str:
    """What identifies the detector's weights: the card's SHA-256, or the checkpoint's size and time."""
    if choice.kind == "checkpoint":
        p = Path(choice.name)
        return f"{p.resolve()}:{p.stat().st_size}:{p.stat().st_mtime_ns}"
    from lsid.models.pretrained import card

    if choice.kind == "card":
        p = Path(choice.name)
        return card(p.stem, p.parent)["sha256"]
    return card(choice.name)["sha256"]


def detect(choice: DetectorChoice, defo, *, stride: int | None, score_threshold: float, iou_threshold: float,
           progress: bool = False, loaded: dict | None = None) -> gpd.GeoDataFrame:
    """Scene boxes of a non-trained detector choice on one Deformation (lsid.detect.scene). ``loaded``:
    a dict that keeps the model between calls (loaded once per stage)."""
    from lsid.detect.scene import detect_scene, detect_with_checkpoint

    kw = dict(score_threshold=score_threshold, iou_threshold=iou_threshold, progress=progress, model_name=choice.key)
    if choice.kind == "checkpoint":
        return detect_with_checkpoint(choice.name, defo, stride=stride, **kw)
    loaded = {} if loaded is None else loaded
    if "model" not in loaded:
        loaded["model"], loaded["card"], loaded["drawing"] = _model(choice)
    size = loaded["drawing"].size
    s = stride if stride is not None and stride <= size else None  # the area's stride is in its own tiles' pixels
    # a shipped detector's operating threshold is its card's (chosen on the corpus: lsid.inventory.calibrate);
    # the AOI's training.score_threshold is that of the detectors trained here
    kw["score_threshold"] = loaded["card"].get("score_threshold", score_threshold)
    return detect_scene(loaded["model"], defo, loaded["drawing"], stride=s, **kw)


__all__ = ["DEFAULT_PRETRAINED", "DetectorChoice", "choose_detector", "fingerprint", "detect"]
