"""The built-in run profiles, once: ``smoke`` (tests, seconds), ``cpu`` (the default book on a 2-core
laptop, minutes) and ``paper`` (the paper's sizes, for a GPU machine). Each is a nested dict of AOI
keys merged over an AOI file's own values (:func:`lsid.config.load_aoi`); only sizes and schedules
change between them. A leaf module (it imports only :mod:`lsid.paper`), so that ``python -m lsid.train
--profile`` reads the same values with nothing but PyTorch installed.
"""

from __future__ import annotations

from typing import Any

from lsid import paper

PROFILES = ("smoke", "cpu", "paper")

#: Built-in profiles: only sizes change between them.
PROFILE_OVERRIDES: dict[str, dict[str, Any]] = {
    "smoke": {
        "synth": {
            "grid": {"shape": [128, 112], "pixel_size_m": 120.0},
            "landslides": {"count": 8, "n_giant": 1, "min_length_m": 400.0},
            "terrain": {"n_gullies": 4, "n_terraces": 3},
            "distractors": {"n_subsiding_terraces": 2, "n_settlements": 1},
            "acquisitions": {
                "ascending": {"n_dates": 14, "repeat_days": 24, "n_neighbours": 3},
                "descending": {"n_dates": 18, "repeat_days": 24, "n_neighbours": 3},
            },
        },
        "tiles": {"size": 48, "date_step": 2, "window_days": 120},
        "training": {"epochs": 2, "max_iters_per_epoch": 2, "batch_size": 2, "warmup_iters": 2, "patience": 2,
                     "ablations": [{"model": "crf_faster_rcnn", "split": "random"}]},
    },
    "cpu": {
        "synth": {
            "grid": {"shape": [1536, 1024], "pixel_size_m": 28.0},
            "acquisitions": {
                "ascending": {"n_dates": 30, "repeat_days": 12, "n_neighbours": 3},
                "descending": {"n_dates": 45, "repeat_days": 12, "n_neighbours": 3},
            },
        },
        # 128 px tiles of 28 m (3.6 km of ground): on 2 CPU cores a training iteration costs the same at
        # 128 as at 256 px once the heads are cut down (below), so small tiles give 4x the iterations'
        # worth of ground... and many more tiles to learn from (measured: 4704 crops -> 329 kept -> 987)
        "tiles": {"size": 128},
        # an honest small run on 2 cores: the paper's two models ~7 min each, four ablations 1.5 min each;
        # "epochs" of 20 iterations (100 tiles) so that validation mAP is followed along the way.
        # lr 0.01 (the paper's, paper.LR, is kept by the paper profile): with a few hundred iterations at
        # most, measured on this TileSet, CRF-Faster R-CNN reached validation mAP@0.5 0.39 after 220
        # iterations at 0.01, and found nothing in the 60 iterations of an 8-min budget at paper.LR with
        # torchvision's default heads. Fewer proposals and sampled RoIs make an iteration 3x cheaper (the
        # box head runs on every sampled RoI), without changing the model.
        "training": {"lr": 0.01, "time_budget_min": 7.0, "ablation_time_budget_min": 1.5, "warmup_iters": 50,
                     "max_iters_per_epoch": 20,
                     "detector": {"rpn_pre_nms_top_n_train": 1000, "rpn_post_nms_top_n_train": 500,
                                  "box_batch_size_per_image": 128, "rpn_pre_nms_top_n_test": 500,
                                  "rpn_post_nms_top_n_test": 300}},
        # windows overlapping by a quarter tile (32 px, 0.9 km) rather than half: half the windows, and
        # the cpu study within its 30 min
        "inventory": {"stride": 96},
    },
    "paper": {
        # Dong et al. (2026): the paper's scene size and images per track (Sentinel-1A and -1B together
        # for the descending track: half the repeat); the numbers are lsid.paper's.
        "synth": {
            "grid": {"shape": list(paper.SCENE_SHAPE), "pixel_size_m": 12.0},
            "acquisitions": {
                "ascending": {"n_dates": paper.IMAGES["ascending"], "repeat_days": 12, "n_neighbours": 3},
                "descending": {"n_dates": paper.IMAGES["descending"], "repeat_days": paper.DESCENDING_REPEAT_DAYS,
                               "n_neighbours": 2},
            },
        },
        # the paper's networks: its numbers of interferograms per track
        "sbas": {"max_pairs": dict(paper.PAIRS_KEPT)},
    },
}
