"""Ignore regions in the detectors' losses: objects a map cannot show are neither positives nor background.

A tile's target may carry ``ignore_boxes`` (K, 4) (x0, y0, x1, y1, tile pixels: the partial, invisible
and too-small objects of :mod:`lsid.tiles.labels`). An anchor (RPN) or proposal (box head) that would
be background but overlaps an ignore region (IoU at least the stage's background threshold, or at least
IGNORE_IOA of its own area inside the region) gets the label -1, which torchvision's samplers skip: the
loss neither rewards nor punishes a box on a slide too slow to see. The real boxes are matched exactly
as torchvision does (the subclasses call torchvision's own matching first and only relabel background).

torchvision has no ignore regions (its ``iscrowd`` handling is in the COCO evaluation only), so this
module adds them by subclassing its RegionProposalNetwork and RoIHeads; :func:`make_ignore_aware` swaps
the classes of a built model's parts (no new parameters: the state dict is unchanged). The boxes are in
the model's input pixels: lsid's detectors never resize a tile (``min_size = max_size`` = tile edge).
"""

from __future__ import annotations

import torch
from torchvision.models.detection.roi_heads import RoIHeads
from torchvision.models.detection.rpn import RegionProposalNetwork
from torchvision.ops import box_iou

#: Share of an anchor's or proposal's own area inside an ignore region from which it is ignored.
IGNORE_IOA = 0.5


def near_ignore(boxes: torch.Tensor, regions: torch.Tensor | None, iou_threshold: float) -> torch.Tensor:
    """(N,) bool: which of ``boxes`` (N, 4) overlap any of ``regions`` (K, 4) by IoU >= ``iou_threshold`` or
    lie at least IGNORE_IOA inside one."""
    if regions is None or regions.numel() == 0 or boxes.numel() == 0:
        return torch.zeros(boxes.shape[0], dtype=torch.bool, device=boxes.device)
    regions = regions.to(boxes)
    iou = box_iou(regions, boxes)
    lt = torch.max(regions[:, None, :2], boxes[None, :, :2])
    rb = torch.min(regions[:, None, 2:], boxes[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area = (boxes[:, 2:] - boxes[:, :2]).clamp(min=0).prod(-1).clamp(min=1e-6)
    return ((iou >= iou_threshold) | (inter / area[None, :] >= IGNORE_IOA)).any(0)


class IgnoreAwareRPN(RegionProposalNetwork):
    """torchvision's RPN; background anchors on an ignore region are left out of the loss."""

    def assign_targets_to_anchors(self, anchors, targets):
        labels, matched = super().assign_targets_to_anchors(anchors, targets)
        for lab, a, t in zip(labels, anchors, targets):
            near = near_ignore(a, t.get("ignore_boxes"), self.proposal_matcher.low_threshold)
            lab[near & (lab == 0)] = -1.0
        return labels, matched


class IgnoreAwareRoIHeads(RoIHeads):
    """torchvision's box head; background proposals on an ignore region are left out of the loss."""

    def select_training_samples(self, proposals, targets):
        self._ignore = [t.get("ignore_boxes") for t in targets] if targets is not None else None
        try:
            return super().select_training_samples(proposals, targets)
        finally:
            self._ignore = None

    def assign_targets_to_proposals(self, proposals, gt_boxes, gt_labels):
        matched, labels = super().assign_targets_to_proposals(proposals, gt_boxes, gt_labels)
        for lab, p, ig in zip(labels, proposals, getattr(self, "_ignore", None) or [None] * len(labels)):
            near = near_ignore(p, ig, self.proposal_matcher.low_threshold)
            lab[near & (lab == 0)] = -1
        return matched, labels


def make_ignore_aware(model: torch.nn.Module) -> torch.nn.Module:
    """``model`` (a torchvision FasterRCNN) with ignore-aware RPN and box head (same parameters)."""
    model.rpn.__class__ = IgnoreAwareRPN
    model.roi_heads.__class__ = IgnoreAwareRoIHeads
    return model


__all__ = ["IGNORE_IOA", "near_ignore", "IgnoreAwareRPN", "IgnoreAwareRoIHeads", "make_ignore_aware"]
