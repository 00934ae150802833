"""Detection metrics (lsid.metrics): VOC AP, COCO AP through pycocotools, Table 2 counts."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lsid.metrics import evaluate, voc_ap


def _gt(boxes_per_image):
    images, anns = [], []
    for i, boxes in enumerate(boxes_per_image, start=1):
        images.append({"id": i, "file_name": f"{i}.png", "width": 100, "height": 100})
        for b in boxes:
            anns.append({"id": len(anns) + 1, "image_id": i, "category_id": 1, "bbox": list(b),
                         "area": b[2] * b[3], "iscrowd": 0})
    return {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "landslide"}]}


def _det(i, b, s):
    return {"image_id": i, "category_id": 1, "bbox": list(b), "score": s}


def test_voc_ap_by_hand():
    # 2 boxes; detections: hit (0.9), miss (0.8), hit (0.7): recall .5 .5 1, precision 1 .5 .667
    assert voc_ap([0.5, 0.5, 1.0], [1.0, 0.5, 2 / 3]) == pytest.approx(0.5 + 0.5 * 2 / 3)
    assert voc_ap([1.0], [1.0]) == 1.0 and voc_ap([], []) == 0.0


def test_evaluate_counts_and_ap():
    gt = _gt([[(10, 10, 20, 20)], [(50, 50, 10, 10)], []])  # image 3 is a negative tile
    dets = [_det(1, (11, 11, 20, 20), 0.9), _det(1, (11, 11, 20, 20), 0.85),  # duplicate: FP
            _det(2, (0, 0, 5, 5), 0.8),  # miss
            _det(2, (50, 51, 10, 10), 0.7), _det(3, (5, 5, 5, 5), 0.3)]  # low-score FP on the negative
    m = evaluate(gt, dets, score_threshold=0.5)
    assert (m["tp"], m["fp"], m["fn"], m["tn"]) == (2, 2, 0, 1)
    assert m["precision"] == 0.5 and m["recall"] == 1.0 and m["f1"] == pytest.approx(2 / 3)
    # recall .5 .5 .5 1 (0.3-score FP after) -> precision 1, .5, .33, .5, .4: envelope 1 then .5
    assert m["voc_ap50"] == pytest.approx(0.5 * 1 + 0.5 * 0.5)
    assert 0 < m["coco_ap50"] <= 1 and 0 <= m["coco_ap"] <= m["coco_ap50"]
    strict = evaluate(gt, dets, score_threshold=0.2)
    assert strict["tn"] == 0 and strict["fp_on_negative_tiles"] == 1


def test_perfect_and_empty():
    gt = _gt([[(10, 10, 20, 20), (40, 40, 30, 10)], []])
    perfect = [_det(1, b, 0.9) for b in [(10, 10, 20, 20), (40, 40, 30, 10)]]
    m = evaluate(gt, perfect)
    assert m["voc_ap50"] == 1.0 and m["coco_ap50"] == pytest.approx(1.0) and m["coco_ap"] == pytest.approx(1.0)
    none = evaluate(gt, [])
    assert none["voc_ap50"] == 0.0 and none["coco_ap"] == 0.0 and none["fn"] == 2 and none["tn"] == 1
    no_gt = evaluate(_gt([[], []]), [_det(1, (1, 1, 5, 5), 0.9)])
    assert np.isnan(no_gt["voc_ap50"]) and np.isnan(no_gt["coco_ap"]) and no_gt["fp"] == 1


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_ap_ignores_the_order_of_the_list(seed):
    rng = np.random.default_rng(seed)
    gt = _gt([[tuple(rng.integers(0, 60, 2)) + (20, 20)] for _ in range(4)])
    dets = [_det(int(rng.integers(1, 5)), tuple(rng.integers(0, 60, 2)) + (20, 20), float(s))
            for s in rng.permutation(np.linspace(0.05, 0.95, 12))]
    a = evaluate(gt, dets)["voc_ap50"]
    b = evaluate(gt, list(reversed(dets)))["voc_ap50"]
    assert a == b and 0 <= a <= 1


def test_iou_matches_pycocotools():
    from pycocotools import mask as mask_utils

    from lsid.metrics import box_iou_xywh

    rng = np.random.default_rng(1)
    a, b = rng.uniform(0, 50, (6, 4)) + [0, 0, 1, 1], rng.uniform(0, 50, (5, 4)) + [0, 0, 1, 1]
    ref = np.asarray(mask_utils.iou(a.tolist(), b.tolist(), [0] * len(b)))
    assert np.allclose(box_iou_xywh(a, b), ref)
