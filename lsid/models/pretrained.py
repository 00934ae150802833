"""The detectors lsid ships: weights learnt on the randomised corpus (:mod:`lsid.training.pretrain`),
in ``lsid/models/weights/`` as fp16 state dicts, each with a model card (JSON) beside it.

``pretrained(name)`` returns the detector ready to use (float32, eval mode) and its card; the card
says how a map must be drawn for it (channels, normalisation, tile size, pixel size: the scene
detector reads them, :func:`lsid.detect.scene.Drawing.from_card`), how it was trained and how it
scored. Every load checks the file's size and SHA-256 against the card: a missing, truncated,
corrupt or swapped file is refused with an error that names the file and the fix.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from lsid.errors import LsidError

#: Where the shipped weights and their cards live (package data).
WEIGHTS_DIR = Path(__file__).parent / "weights"
#: The name of the detector used when none is named.
DEFAULT = "crf_faster_rcnn"


class WeightsError(LsidError, ValueError):
    """Shipped weights are missing, damaged, or do not match what is asked of them."""


def available(folder: str | Path | None = None) -> list[str]:
    """Names of the detectors with a model card in ``folder`` (default: the package's)."""
    return sorted(p.stem for p in Path(folder or WEIGHTS_DIR).glob("*.json"))


def card(name: str = DEFAULT, folder: str | Path | None = None) -> dict:
    """The model card of ``name``; WeightsError when there is none."""
    folder = Path(folder or WEIGHTS_DIR)
    path = folder / f"{name}.json"
    if not path.is_file():
        have = ", ".join(available(folder)) or "none"
        raise WeightsError(f"{path}: no model card for a pretrained detector {name!r} (available: {have}); "
                           f"restore the file (git checkout -- {path}) if it shipped, or make it with "
                           f"lsid pretrain ... --export {name}")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WeightsError(f"{path}: the model card is not valid JSON ({exc}); restore it (git checkout -- {path})") \
            from None


def sha256(path: str | Path) -> str:
    """SHA-256 of a file (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_file(c: dict, folder: str | Path | None = None) -> Path:
    """The weights file of card ``c``, after checking its size and SHA-256; WeightsError otherwise."""
    path = Path(folder or WEIGHTS_DIR) / c["file"]
    fix = (f"restore it (git checkout -- {path}; a clone without the file, e.g. a shallow or LFS-less "
           f"one, lacks it) or make it again with lsid pretrain ... --export {c['name']}")
    if not path.is_file():
        raise WeightsError(f"{path}: the weights of the pretrained detector {c['name']!r} are missing; {fix}")
    size = path.stat().st_size
    if size != c["bytes"] or sha256(path) != c["sha256"]:
        raise WeightsError(f"{path}: the weights do not match their model card ({size} bytes, expected {c['bytes']} "
                           f"with SHA-256 {c['sha256'][:12]}...): the file is truncated, corrupt or from another "
                           f"model; {fix}")
    return path


def pretrained(name: str = DEFAULT, device: str = "cpu", folder: str | Path | None = None,
               in_channels: int | None = None, image_size: int | None = None, **kwargs):
    """(the pretrained detector ``name`` in eval mode on ``device``, its model card).

    ``in_channels`` / ``image_size``: what the caller will feed it; WeightsError when they differ from
    the card's (a model cannot read another channel set or tile size). ``kwargs``: FasterRCNN options
    over the card's ``detector_options`` (e.g. ``box_score_thresh``)."""
    import torch

    from lsid.models.detectors import build

    c = card(name, folder)
    for what, asked, own in (("input channels", in_channels, c["in_channels"]),
                             ("tile size (px)", image_size, c["image_size"])):
        if asked is not None and int(asked) != int(own):
            raise WeightsError(f"pretrained detector {name!r} takes {own} {what}, not {asked}: draw the map as its "
                               f"card says ({c['channels']} channels, {c['tile_px']} px tiles at {c['pixel_m']:g} m), "
                               f"or train a detector for your tiles")
    path = check_file(c, folder)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged file
        raise WeightsError(f"{path}: cannot be read as weights ({type(exc).__name__}: {exc}); restore it "
                           f"(git checkout -- {path})") from None
    model = build(c["model"], c["in_channels"], c["image_size"], c["image_mean"], c["image_std"],
                  **{**c.get("detector_options", {}), **kwargs})
    try:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    except RuntimeError as exc:
        raise WeightsError(f"{path}: the weights do not fit model {c['model']!r} ({str(exc).splitlines()[0]}); the "
                           f"card and the file are of different models: restore both (git checkout -- "
                           f"{path.parent})") from None
    return model.to(device).eval(), c


__all__ = ["WEIGHTS_DIR", "DEFAULT", "WeightsError", "available", "card", "check_file", "pretrained", "sha256"]
