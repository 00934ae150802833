"""Detection on whole scenes (:mod:`lsid.detect.scene`)."""

from lsid.detect.scene import Drawing, detect_scene, detect_with_checkpoint, merge_boxes, window_origins

__all__ = ["Drawing", "detect_scene", "detect_with_checkpoint", "merge_boxes", "window_origins"]
