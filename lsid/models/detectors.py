"""The detectors, built by name: the paper's two and the ablations it lacks.

| name | backbone | neck | attention | RoI |
|---|---|---|---|---|
| ``faster_rcnn_vgg16`` (paper's baseline) | VGG16 conv5_3, stride 16 | — | — | RoI pooling 7×7 |
| ``faster_rcnn_r50_cbam`` | ResNet-50 C5 (+ 1×1 to 256 ch) | — | CBAM on C5 | RoIAlign 7×7 |
| ``faster_rcnn_r50_fpn`` | ResNet-50 | FPN P2-P6 | — | RoIAlign 7×7 per level |
| ``crf_faster_rcnn`` (paper's model) | ResNet-50 | FPN P2-P6 | CBAM on each level | RoIAlign 7×7 per level |

All use torchvision's FasterRCNN (RPN, two-FC box head of 1024, class + box predictor) with two
classes (background, landslide), ignore regions left out of the losses (:mod:`lsid.models.ignore`),
tiles at native size (``min_size = max_size = tile``: no upsampling to
800 px) and the TileSet's channel statistics as ``image_mean`` / ``image_std``. One-level models use
anchors of 5 sizes × 3 ratios; pyramid models one size per level × 3 ratios (the same 5 sizes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from torch import nn
from torchvision.ops import MultiScaleRoIAlign, roi_pool

from lsid.models import backbones as bb
from lsid.models.cbam import CBAM, WithCBAM
from lsid.models.ignore import make_ignore_aware

#: Anchor sizes (px), one per FPN level or all on the single level.
ANCHOR_SIZES = (16, 32, 64, 128, 256)
ASPECT_RATIOS = (0.5, 1.0, 2.0)
#: Channels of the single-level ResNet model after its 1×1 projection (that of the FPN levels, so
#: that all ResNet models share one box-head size).
PROJECTED_CHANNELS = 256


class RoIPool(MultiScaleRoIAlign):
    """Classic Faster R-CNN RoI max-pooling on one feature level. A subclass of torchvision's
    MultiScaleRoIAlign only because FasterRCNN accepts no other type; its forward is RoI pooling."""

    def __init__(self, output_size: int = 7, level: str = "0"):
        super().__init__([level], output_size, sampling_ratio=0)
        self.pool_size = output_size
        self.level = level

    def forward(self, features, proposals, image_shapes):
        x = features[self.level]
        scale = x.shape[-1] / float(image_shapes[0][1])
        return roi_pool(x, proposals, (self.pool_size, self.pool_size), spatial_scale=scale)


@dataclass(frozen=True)
class Spec:
    name: str
    description: str
    make_backbone: Callable[[int, bool], nn.Module]
    pyramid: bool
    roi: str  # "pool" or "align"


def _vgg16(in_channels, pretrained):
    return bb.SingleLevel(bb.vgg16(in_channels, pretrained), 512)


def _r50_cbam(in_channels, pretrained):
    # CBAM on C5 itself (2048 channels), then the projection
    body = nn.Sequential(bb.resnet50_c5(in_channels, pretrained), CBAM(2048))
    return bb.SingleLevel(body, 2048, project_to=PROJECTED_CHANNELS)


def _r50_fpn(in_channels, pretrained):
    return bb.resnet50_fpn(in_channels, pretrained)


def _crf(in_channels, pretrained):
    return WithCBAM(bb.resnet50_fpn(in_channels, pretrained), ["0", "1", "2", "3", "pool"])


REGISTRY: dict[str, Spec] = {s.name: s for s in (
    Spec("faster_rcnn_vgg16", "Faster R-CNN, VGG16 (the paper's baseline)", _vgg16, False, "pool"),
    Spec("faster_rcnn_r50_cbam", "Faster R-CNN, ResNet-50 C5 + CBAM (no FPN)", _r50_cbam, False, "align"),
    Spec("faster_rcnn_r50_fpn", "Faster R-CNN, ResNet-50 + FPN (no CBAM)", _r50_fpn, True, "align"),
    Spec("crf_faster_rcnn", "CRF-Faster R-CNN: ResNet-50 + FPN + CBAM (the paper's model)", _crf, True, "align"),
)}


def build(name: str, in_channels: int = 3, image_size: int = 512, image_mean=None, image_std=None,
          pretrained: bool = False, num_classes: int = 2, **kwargs) -> nn.Module:
    """A detector of the registry, ready to train.

    Parameters
    ----------
    name : one of :data:`REGISTRY`.
    in_channels : channels of the TileSet (3 for both lsid channel modes).
    image_size : tile edge, px (inputs are not resized).
    image_mean, image_std : per-channel normalisation (default 0 and 1: the TileSet's values as they are).
    pretrained : ImageNet backbone weights from the local torch cache (WeightsMissing if absent).
    kwargs : passed to torchvision's FasterRCNN (e.g. box_score_thresh).
    """
    from torchvision.models.detection import FasterRCNN
    from torchvision.models.detection.anchor_utils import AnchorGenerator

    if name not in REGISTRY:
        raise KeyError(f"unknown model {name!r}: choose from {', '.join(REGISTRY)}")
    spec = REGISTRY[name]
    backbone = spec.make_backbone(in_channels, pretrained)
    if spec.pyramid:
        anchors = AnchorGenerator(tuple((s,) for s in ANCHOR_SIZES), (ASPECT_RATIOS,) * len(ANCHOR_SIZES))
        roi = MultiScaleRoIAlign(["0", "1", "2", "3"], output_size=7, sampling_ratio=2)
    else:
        anchors = AnchorGenerator((ANCHOR_SIZES,), (ASPECT_RATIOS,))
        roi = RoIPool(7) if spec.roi == "pool" else MultiScaleRoIAlign(["0"], output_size=7, sampling_ratio=2)
    mean = list(image_mean) if image_mean is not None else [0.0] * in_channels
    std = list(image_std) if image_std is not None else [1.0] * in_channels
    model = FasterRCNN(backbone, num_classes=num_classes, min_size=image_size, max_size=image_size,
                       image_mean=mean, image_std=std, rpn_anchor_generator=anchors, box_roi_pool=roi, **kwargs)
    make_ignore_aware(model)  # ignore regions (targets' "ignore_boxes") are left out of the losses
    model.lsid_spec = {"name": name, "in_channels": in_channels, "image_size": image_size,
                       "image_mean": mean, "image_std": std, "pretrained": pretrained}
    return model


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


__all__ = ["REGISTRY", "build", "count_parameters", "RoIPool", "ANCHOR_SIZES", "ASPECT_RATIOS"]
