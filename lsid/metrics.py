"""Detection metrics: the paper's mAP (VOC AP at IoU 0.5, all-point interpolation), COCO AP through
pycocotools, and the operating-point numbers of the paper's Table 2 (TP, FP, FN, TN; precision,
recall, F1).

Inputs are COCO dicts: the ground truth as a TileSet's ``annotations/<split>.json`` holds it, and the
detections as COCO results (``{"image_id", "bbox": [x, y, w, h], "score", "category_id"}``). Imports
numpy only; pycocotools only inside :func:`coco_ap` (so that lsid.training, which scores validation
mAP every epoch, runs where only PyTorch is installed).

The VOC AP is written here (pycocotools computes COCO's 101-point AP, which is not the paper's
metric): detections sorted by score are matched greedily to the unmatched ground-truth box of largest
IoU ≥ 0.5 in their image (Everingham et al. 2010); AP is the area under the precision envelope
(VOC2010+ all-point interpolation).
"""

from __future__ import annotations

import contextlib
import copy
import io

import numpy as np

#: IoU for a detection to count as a hit (the paper's mAP and the operating point).
IOU_THRESHOLD = 0.5
#: Default operating score threshold for counts, maps and Table 2 (AP uses every detection).
SCORE_THRESHOLD = 0.5


def voc_ap(recall: np.ndarray, precision: np.ndarray) -> float:
    """Area under the precision envelope, all-point interpolation (VOC2010+)."""
    r = np.concatenate([[0.0], np.asarray(recall, float), [1.0]])
    p = np.concatenate([[0.0], np.asarray(precision, float), [0.0]])
    p = np.maximum.accumulate(p[::-1])[::-1]  # precision envelope
    idx = np.flatnonzero(r[1:] != r[:-1])
    return float(np.sum((r[idx + 1] - r[idx]) * p[idx + 1]))


def box_iou_xywh(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) IoU of boxes given as [x, y, w, h] (continuous pixel coordinates)."""
    a = np.asarray(a, float).reshape(-1, 4)
    b = np.asarray(b, float).reshape(-1, 4)
    ix = np.clip(np.minimum(a[:, None, 0] + a[:, None, 2], b[None, :, 0] + b[None, :, 2])
                 - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(a[:, None, 1] + a[:, None, 3], b[None, :, 1] + b[None, :, 3])
                 - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = ix * iy
    union = a[:, None, 2] * a[:, None, 3] + b[None, :, 2] * b[None, :, 3] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def _by_image(items, key="image_id"):
    out = {}
    for it in items:
        out.setdefault(int(it[key]), []).append(it)
    return out


def is_ignore(ann: dict) -> bool:
    """True for an ignore region (``ignore`` or ``iscrowd`` set: an object the map cannot show, see
    :mod:`lsid.tiles.labels`)."""
    return bool(ann.get("ignore", 0) or ann.get("iscrowd", 0))


#: A detection unmatched to a real box is dropped from the scores (neither a hit nor a false alarm)
#: when it overlaps an ignore region by this IoU, or lies this much (intersection over its own area)
#: inside one: the VOC "difficult" rule, with COCO's crowd rule for a box inside a large region.
IGNORE_OVERLAP = 0.5


def _on_ignore(box: np.ndarray, regions: np.ndarray) -> bool:
    if not len(regions):
        return False
    iou = box_iou_xywh(box, regions)[0]
    x0, y0 = np.maximum(box[0], regions[:, 0]), np.maximum(box[1], regions[:, 1])
    x1 = np.minimum(box[0] + box[2], regions[:, 0] + regions[:, 2])
    y1 = np.minimum(box[1] + box[3], regions[:, 1] + regions[:, 3])
    ioa = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None) / max(box[2] * box[3], 1e-9)
    return bool(np.any(iou >= IGNORE_OVERLAP) or np.any(ioa >= IGNORE_OVERLAP))


def match(gt: dict, detections: list[dict], iou_threshold: float = IOU_THRESHOLD):
    """Greedy VOC matching. Returns (scores sorted high to low, hit flags, number of ground-truth boxes,
    the image id of every detection in that order). Ignore regions (:func:`is_ignore`) are not
    ground-truth boxes, and a detection on one that matches no real box is left out of the returned
    lists (:data:`IGNORE_OVERLAP`)."""
    gts = _by_image([a for a in gt["annotations"] if not is_ignore(a)])
    ignored = {i: np.array([a["bbox"] for a in v], dtype=float).reshape(-1, 4)
               for i, v in _by_image([a for a in gt["annotations"] if is_ignore(a)]).items()}
    dets = sorted(detections, key=lambda d: -float(d["score"]))
    used = {i: np.zeros(len(v), bool) for i, v in gts.items()}
    gt_boxes = {i: np.array([a["bbox"] for a in v], dtype=float) for i, v in gts.items()}
    hits = np.zeros(len(dets), bool)
    keep = np.ones(len(dets), bool)
    for k, d in enumerate(dets):
        i = int(d["image_id"])
        box = np.array(d["bbox"], dtype=float)
        if i in gt_boxes:
            ious = box_iou_xywh(box, gt_boxes[i])[0]
            ious[used[i]] = -1.0
            j = int(np.argmax(ious))
            if ious[j] >= iou_threshold:
                hits[k] = True
                used[i][j] = True
                continue
        if i in ignored and _on_ignore(box, ignored[i]):
            keep[k] = False
    scores = np.array([float(d["score"]) for d in dets])[keep]
    image_ids = np.array([int(d["image_id"]) for d in dets], dtype=int)[keep]
    return scores, hits[keep], sum(len(v) for v in gts.values()), image_ids


def _curve(hits: np.ndarray, n_gt: int) -> tuple[np.ndarray, np.ndarray]:
    """Recall and precision after each detection (hits in score order)."""
    tp = np.cumsum(hits)
    return tp / max(n_gt, 1), tp / np.arange(1, len(hits) + 1)


def pr_curve(gt: dict, detections: list[dict], iou_threshold: float = IOU_THRESHOLD):
    """(recall, precision, scores) along the detections sorted by score."""
    scores, hits, n_gt, _ = match(gt, detections, iou_threshold)
    recall, precision = _curve(hits, n_gt)
    return recall, precision, scores


def coco_ap(gt: dict, detections: list[dict]) -> dict:
    """COCO AP[.5:.95], AP50 and AP75 from pycocotools (NaN where it has nothing to score)."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    if not gt["annotations"]:
        return {"coco_ap": float("nan"), "coco_ap50": float("nan"), "coco_ap75": float("nan")}
    if not detections:
        return {"coco_ap": 0.0, "coco_ap50": 0.0, "coco_ap75": 0.0}
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        g = COCO()
        g.dataset = copy.deepcopy(gt)
        g.createIndex()
        dt = g.loadRes(copy.deepcopy(detections))
        ev = COCOeval(g, dt, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    s = [float("nan") if v < 0 else float(v) for v in ev.stats[:3]]  # pycocotools: -1 = nothing to score
    return {"coco_ap": s[0], "coco_ap50": s[1], "coco_ap75": s[2]}


def evaluate(gt: dict, detections: list[dict], score_threshold: float = SCORE_THRESHOLD,
             iou_threshold: float = IOU_THRESHOLD, coco: bool = True) -> dict:
    """All metrics of one split.

    Returns ``voc_ap50`` (the paper's mAP; one class, so mAP = AP), the COCO APs, and at
    ``score_threshold``: ``tp``, ``fp``, ``fn``, ``tn`` (negative tiles, i.e. with no ground-truth
    box, and no detection), ``fp_on_negative_tiles``, ``precision``, ``recall``, ``f1``.
    ``coco=False`` skips the COCO APs (no pycocotools needed).
    """
    scores, hits, n_gt, img = match(gt, detections, iou_threshold)
    recall, precision = _curve(hits, n_gt)
    ap = voc_ap(recall, precision) if n_gt else float("nan")
    on = scores >= score_threshold
    tp, fp = int(hits[on].sum()), int((~hits[on]).sum())
    fn = int(n_gt - tp)
    positives = {int(a["image_id"]) for a in gt["annotations"] if not is_ignore(a)}
    negatives = {int(im["id"]) for im in gt["images"]} - positives
    detected = set(img[on].tolist())
    tn = len(negatives - detected)
    prec = tp / (tp + fp) if tp + fp else float("nan")
    rec = tp / n_gt if n_gt else float("nan")
    f1 = 2 * prec * rec / (prec + rec) if tp else 0.0
    return {"voc_ap50": ap, **(coco_ap(gt, detections) if coco else {}), "tp": tp, "fp": fp, "fn": fn, "tn": tn,
            "fp_on_negative_tiles": int(sum(1 for i in img[on] if i in negatives)),
            "negative_tiles": len(negatives), "ground_truth_boxes": int(n_gt), "detections": len(detections),
            "precision": prec, "recall": rec, "f1": f1, "score_threshold": score_threshold,
            "iou_threshold": iou_threshold}
