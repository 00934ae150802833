"""The pretrained detector's parts (issue 13): visibility labels and ignore regions, their place in the
losses and the scores, the corpus's seeds and draws, maps at the model's pixel size, the normalised
channels, online augmentation, and the shipped weights' loader with its checks."""

import json

import numpy as np
import pytest
import rioxarray  # noqa: F401  (the .rio accessor of the test maps)
import torch

from lsid.metrics import evaluate
from lsid.tiles.labels import TileObject, background_sigma, classify
from tests.helpers import ROOT, deformation


def _object(size=48, r0=16, c0=16, n=12):
    mask = np.zeros((size, size), bool)
    mask[r0:r0 + n, c0:c0 + n] = True
    ring = np.zeros_like(mask)
    ring[r0 - 6:r0 + n + 6, c0 - 6:c0 + n + 6] = True
    return TileObject("A", 1.0, (c0, r0, c0 + n, r0 + n), mask, ring & ~mask)


@pytest.mark.parametrize("noise, expected", [(0.5, "positive"), (6.0, "invisible")])
def test_visibility_is_signal_against_the_local_noise(noise, expected):
    """The same 6 mm/yr slide is a positive in a quiet map and an ignore region in a noisy one."""
    ob = _object()
    v = np.random.default_rng(0).normal(0, noise, (48, 48)).astype(np.float32)
    v[ob.mask] += 6.0
    (verdict,) = classify([ob], v, 0.5, 2.0, 0.0, 0.3, 4)
    assert verdict.status == expected
    assert verdict.snr == pytest.approx(6.0 / background_sigma([ob], v), rel=0.3)


def test_background_sigma_leaves_the_objects_out_and_has_a_floor():
    ob = _object()
    v = np.random.default_rng(1).normal(0, 2.0, (48, 48)).astype(np.float32)
    v[ob.mask] = 100.0  # a fast slide does not inflate the noise estimate
    assert background_sigma([ob], v) == pytest.approx(2.0, rel=0.15)
    assert background_sigma([ob], np.zeros((48, 48), np.float32)) == 0.5


def test_detections_on_ignore_regions_are_neither_hits_nor_false_alarms():
    gt = {"images": [{"id": 1}, {"id": 2}], "categories": [{"id": 1}], "annotations": [
        {"id": 1, "image_id": 1, "bbox": [10, 10, 20, 20], "iscrowd": 0},
        {"id": 2, "image_id": 1, "bbox": [60, 60, 20, 20], "iscrowd": 1, "ignore": 1},
        {"id": 3, "image_id": 2, "bbox": [0, 0, 40, 40], "iscrowd": 1, "ignore": 1}]}
    dets = [{"image_id": 1, "bbox": [10, 10, 20, 20], "score": 0.9},
            {"image_id": 1, "bbox": [61, 61, 20, 20], "score": 0.8},  # on the ignore region: left out
            {"image_id": 2, "bbox": [5, 5, 10, 10], "score": 0.7},  # inside a large ignore region: left out
            {"image_id": 2, "bbox": [70, 70, 10, 10], "score": 0.6}]  # a real false alarm
    m = evaluate(gt, dets, coco=False)
    assert (m["tp"], m["fp"], m["fn"], m["ground_truth_boxes"]) == (1, 1, 0, 1)
    assert m["negative_tiles"] == 1 and m["voc_ap50"] == 1.0


def test_ignore_regions_leave_the_losses():
    """An anchor on an ignore region is neither positive nor negative; the real boxes are matched as before."""
    from lsid.models import build
    from lsid.models.ignore import near_ignore

    m = build("crf_faster_rcnn", 3, 64).train()
    anchors = [torch.tensor([[0.0, 0.0, 16.0, 16.0], [40.0, 40.0, 56.0, 56.0], [2.0, 2.0, 14.0, 14.0]])]
    base = {"boxes": torch.tensor([[0.0, 0.0, 16.0, 16.0]]), "labels": torch.tensor([1])}
    plain, _ = m.rpn.assign_targets_to_anchors(anchors, [base])
    ig = {**base, "ignore_boxes": torch.tensor([[38.0, 38, 58, 58]])}
    ignored, _ = m.rpn.assign_targets_to_anchors(anchors, [ig])
    assert plain[0].tolist()[:2] == [1.0, 0.0] and ignored[0].tolist()[:2] == [1.0, -1.0]
    assert near_ignore(torch.tensor([[0.0, 0, 4, 4]]), torch.tensor([[0.0, 0, 40, 40]]), 0.5).item()  # inside
    losses = m([torch.rand(3, 64, 64)], [{**base, "ignore_boxes": torch.zeros(0, 4)}])
    assert all(torch.isfinite(v) for v in losses.values())


def test_corpus_seeds_are_reserved_and_draws_reproducible():
    import yaml

    from lsid.corpus.ranges import SEED_BASE, SEED_END, area_config, area_parameters

    for f in (ROOT / "data" / "aoi").glob("*.yaml"):
        seed = yaml.safe_load(f.read_text()).get("seed", 0)
        assert not SEED_BASE <= seed < SEED_END, f"{f.name} uses a corpus seed"
    assert area_parameters(SEED_BASE + 3) == area_parameters(SEED_BASE + 3) != area_parameters(SEED_BASE + 4)
    pixels = [area_config(SEED_BASE + i).synth.grid.pixel_size_m for i in range(30)]
    assert 15 <= min(pixels) < 25 and 60 < max(pixels) <= 100  # the drawn range is used
    with pytest.raises(ValueError, match="corpus seeds"):
        area_config(7)


def test_corpus_splits_are_by_area():
    from lsid.corpus.build import split_of

    assert [split_of(i) for i in range(10)].count("train") == 8 and split_of(9) == "test" and split_of(18) == "val"


def test_maps_resampled_to_the_model_pixel_keep_their_ground():
    from lsid.io.crs import grid_pixel_m, to_pixel_size

    d = deformation(shape=(60, 90), noise=0.0, motion=[((20, 40, 30, 60), (0, 0, -30))])  # 30 m pixels
    coarse = to_pixel_size(d, 90.0)
    assert grid_pixel_m(coarse) == pytest.approx(90.0) and coarse.sizes == {"y": 20, "x": 30}
    assert coarse.rio.bounds() == pytest.approx(d.rio.bounds())
    assert float(coarse.velocity.min()) == pytest.approx(float(d.velocity.min()), rel=1e-4)  # averaged blocks
    fine = to_pixel_size(d, 15.0)
    assert fine.sizes == {"y": 120, "x": 180} and fine.valid.dtype == bool
    assert to_pixel_size(d, 30.3) is d  # within 2 %: unchanged


def test_normalised_channels_read_any_noise_level():
    from lsid.tiles.render import normalised_channels

    rng = np.random.default_rng(0)
    ones = np.ones((32, 32), np.float32)
    a = normalised_channels(rng.normal(0, 1, (32, 32)).astype(np.float32), ones, ones * 30)
    b = normalised_channels(rng.normal(0, 1, (32, 32)).astype(np.float32) * 10, ones, ones * 30)
    assert a.shape == (3, 32, 32) and abs(a[0].std() - b[0].std()) < 0.05  # in units of the window's noise
    assert a[2].max() == pytest.approx(0.5) and np.abs(a[0]).max() <= 1


def test_online_augmentation_moves_boxes_and_ignore_regions_with_the_image():
    from lsid.training.data import Augmented

    class One:
        images, coco = [{"id": 0, "width": 32}], {"annotations": []}

        def __len__(self):
            return 1

        def __getitem__(self, i):
            img = torch.zeros(3, 32, 32)
            img[0, 2:6, 20:30] = 1.0
            img[0, 20:28, 1:4] = 0.5
            return img, {"boxes": torch.tensor([[20.0, 2, 30, 6]]), "ignore_boxes": torch.tensor([[1.0, 20, 4, 28]]),
                         "labels": torch.tensor([1])}

    torch.manual_seed(0)
    aug = Augmented(One(), p_no_dem=0.0, p_no_coherence=0.0)
    for _ in range(12):
        img, t = aug[0]
        for key, value in (("boxes", 1.0), ("ignore_boxes", 0.5)):
            x0, y0, x1, y1 = t[key][0].round().int().tolist()
            rows, cols = np.nonzero(img[0].numpy() == value)
            assert [x0, y0, x1, y1] == [cols.min(), rows.min(), cols.max() + 1, rows.max() + 1]


def _with_pixel(d, pixel_m: float):
    """The test map ``d`` on a grid of ``pixel_m`` pixels from the same corner (coordinates and transform)."""
    from affine import Affine

    from tests.helpers import X0, Y0

    d = d.assign_coords(x=X0 + pixel_m * (np.arange(d.sizes["x"]) + 0.5),
                        y=Y0 - pixel_m * (np.arange(d.sizes["y"]) + 0.5))
    return d.rio.write_transform(Affine(pixel_m, 0, X0, 0, -pixel_m, Y0))


def _card(tmp_path, name="tiny"):
    from lsid.models import build
    from lsid.training.pretrain import sha256

    m = build("crf_faster_rcnn", 3, 64, image_mean=[0, 0.5, 0.3], image_std=[0.2, 0.3, 0.2])
    f = tmp_path / f"{name}.pt"
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in m.state_dict().items()}, f)
    card = {"name": name, "model": "crf_faster_rcnn", "file": f.name, "sha256": sha256(f), "bytes": f.stat().st_size,
            "in_channels": 3, "image_size": 64, "channels": "normalised", "tile_px": 64, "pixel_m": 30.0,
            "image_mean": [0, 0.5, 0.3], "image_std": [0.2, 0.3, 0.2], "detector_options": {}}
    (tmp_path / f"{name}.json").write_text(json.dumps(card))
    return f


def test_pretrained_loads_and_checks_its_file(tmp_path):
    from lsid.models.pretrained import WeightsError, pretrained

    f = _card(tmp_path)
    model, card = pretrained("tiny", folder=tmp_path)
    assert not model.training and card["pixel_m"] == 30.0
    assert next(model.parameters()).dtype == torch.float32
    with pytest.raises(WeightsError, match="takes 64 tile size"):
        pretrained("tiny", folder=tmp_path, image_size=128)
    with pytest.raises(WeightsError, match="takes 3 input channels"):
        pretrained("tiny", folder=tmp_path, in_channels=4)
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0xFF
    f.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="do not match their model card.*restore it"):
        pretrained("tiny", folder=tmp_path)
    f.unlink()
    with pytest.raises(WeightsError, match="are missing"):
        pretrained("tiny", folder=tmp_path)
    with pytest.raises(WeightsError, match="no model card.*available: tiny"):
        pretrained("other", folder=tmp_path)


def test_scene_detection_at_the_model_scale(tmp_path):
    """A 90 m map is drawn at the model's 30 m pixels (with a warning that it is coarse), and its boxes
    come back in the map's own CRS and pixels."""
    from lsid.detect.scene import Drawing, at_model_scale, detect_scene
    from lsid.errors import InputWarning
    from lsid.io.crs import grid_pixel_m
    from lsid.models.pretrained import pretrained

    _card(tmp_path)
    model, card = pretrained("tiny", folder=tmp_path, box_score_thresh=0.0)
    d = deformation(shape=(40, 40), noise=1.0)
    d = _with_pixel(d, 90.0)
    with pytest.warns(InputWarning, match="objects smaller than about 360 m"):
        fine = at_model_scale(d, 30.0)
    assert grid_pixel_m(fine) == pytest.approx(30.0)
    with pytest.warns(InputWarning):
        gdf = detect_scene(model, d, Drawing.from_card(card), score_threshold=0.0)
    assert gdf.crs == d.rio.crs
    if len(gdf):
        assert gdf.row1.max() <= 40 + 1e-6 and gdf.col1.max() <= 40 + 1e-6


def test_a_corpus_area_end_to_end(tmp_path, monkeypatch):
    """One small corpus area through the real chain: tiles with ignore regions, truth, maps, visibility,
    a record that makes the next call a no-op; the manifest and the corpus dataset read it back."""
    import lsid.corpus.ranges as ranges
    from lsid.corpus.area import CorpusAreaLayout, CorpusSpec, build_area, is_complete
    from lsid.corpus.build import area_folder, write_manifest
    from lsid.training.data import corpus_dataset

    monkeypatch.setattr(ranges, "NATIVE_PX", (112, 112))  # a small area (its draw places 5 slides at 63 m)
    spec = CorpusSpec(size=32, stride=16, max_tiles=24)
    root = tmp_path / "corpus"
    folder = area_folder(root, 79)  # index 79: a test area
    rec = build_area(ranges.SEED_BASE + 79, folder, spec)
    assert rec["landslides"] == 5 and rec["boxes"] > 0
    lay = CorpusAreaLayout(folder)
    assert is_complete(folder, ranges.SEED_BASE + 79, spec)
    assert rec["tiles"] == len(list((lay.tiles / "images").glob("*.npy")))
    coco = json.loads((lay.tiles / "annotations" / "all.json").read_text())
    assert {a.get("reason") for a in coco["annotations"]} <= {None, "partial", "invisible", "small"}
    assert all(a["snr"] is None or a["snr"] >= spec.min_snr for a in coco["annotations"] if not a.get("ignore"))
    assert lay.landslides.exists() and lay.visibility.exists() and {p.name for p in lay.maps_dir.iterdir()} == {
        "ascending.nc", "descending.nc"}
    assert not list(folder.parent.glob(".*work*"))  # the chain's run folder (stacks) is gone
    stamp = lay.record.stat().st_mtime_ns
    assert build_area(ranges.SEED_BASE + 79, folder, spec)["tiles"] == rec["tiles"]
    assert lay.record.stat().st_mtime_ns == stamp  # complete: not made again
    m = write_manifest(root, 80, spec)
    assert m["splits"] == {"train": 0, "val": 0, "test": 1} and len(m["digest"]) == 64
    ds = corpus_dataset(root, "test")
    img, target = ds[0]
    assert img.shape == (3, 32, 32) and target["ignore_boxes"].shape[1] == 4
    with pytest.raises(Exception, match="no train area"):
        corpus_dataset(root, "train")


def test_inventory_detector_choice(tmp_path):
    from lsid.config import load_aoi
    from lsid.errors import ConfigError
    from lsid.inventory.detectors import choose_detector
    from tests.helpers import AOI

    assert choose_detector(load_aoi(AOI, "smoke")).kind == "trained"  # auto, with labels
    assert choose_detector(load_aoi(AOI, "smoke", overrides={"inventory": {"detector": "pretrained"}})).key == \
        "pretrained_crf_faster_rcnn"
    card = tmp_path / "c.json"
    card.write_text("{}")
    aoi = tmp_path / "area.yaml"
    aoi.write_text(AOI.read_text() + "\ninventory:\n  detector: c.json\n")
    cfg = load_aoi(aoi, "smoke", check_paths=True)  # resolved beside the AOI file, found
    assert choose_detector(cfg).kind == "card" and cfg.inventory.detector == str(card)
    aoi.write_text(AOI.read_text() + "\ninventory:\n  detector: nowhere.pt\n")
    with pytest.raises(ConfigError, match="inventory.detector"):
        load_aoi(aoi, "smoke", check_paths=True)
    with pytest.raises(ConfigError, match="auto, trained, pretrained"):
        choose_detector(load_aoi(AOI, "smoke", overrides={"inventory": {"detector": "best"}}))


def test_inventory_stage_with_a_detector_not_trained_here(tmp_path, smoke_sbas):
    """inventory.detector naming a model card: the stage detects with it (cached), makes the inventory from
    its boxes beside ADA's, and records which detector it was."""
    import shutil

    from lsid.config import load_aoi
    from lsid.inventory import stage
    from lsid.layout import RunLayout
    from tests.helpers import AOI

    _card(tmp_path)
    c = json.loads((tmp_path / "tiny.json").read_text())
    (tmp_path / "tiny.json").write_text(json.dumps({**c, "pixel_m": 60.0}))
    run = tmp_path / "run"
    shutil.copytree(smoke_sbas, run, ignore=shutil.ignore_patterns("tiles", "models", "detections", "inventory"))
    cfg = load_aoi(AOI, "smoke", overrides={"inventory": {"detector": str(tmp_path / "tiny.json"),
                                                          "compare_models": []}})
    layout = RunLayout(run)
    summary = stage.run(cfg, layout)
    assert summary["detector"]["kind"] == "card" and summary["model"] == "card_tiny"
    assert set(summary["boxes"]) == {"card_tiny"} and summary["inventory"] is not None
    assert layout.detections("card_tiny", "ascending").exists()
    before = layout.inventory_summary.stat().st_mtime_ns
    assert stage.run(cfg, layout)["digest"] == summary["digest"]  # unchanged: reused
    assert layout.inventory_summary.stat().st_mtime_ns == before
    assert stage.load(layout)["model"]["summary"]["source"] == "card_tiny"


def test_pooled_inventory_scores_sum_counts_before_the_rates():
    from lsid.inventory.calibrate import pooled

    a = {"potential": 4, "confirmed": 3, "reference": 10, "detected": 5, "visible": 6, "visible_detected": 5}
    b = {"potential": 0, "confirmed": 0, "reference": 2, "detected": 0, "visible": 0, "visible_detected": 0}
    p = pooled([a, b])
    assert (p["precision"], p["recall"], p["recall_visible"]) == (0.75, 5 / 12, 5 / 6)
    assert p["f1"] == pytest.approx(2 * 0.75 * (5 / 12) / (0.75 + 5 / 12))
    assert pooled([b])["f1"] == 0.0  # no potential landslide: precision undefined, F1 0


def test_heldout_areas_are_unseen_test_areas_of_the_asked_pixel_sizes():
    from lsid.corpus.build import HELDOUT_BINS, heldout_indices, split_of
    from lsid.corpus.ranges import SEED_BASE, area_parameters

    idx = heldout_indices(160, per_bin=2)
    assert len(idx) == 2 * len(HELDOUT_BINS) and all(i >= 160 and split_of(i) == "test" for i in idx)
    px = [area_parameters(SEED_BASE + i)["synth"]["grid"]["pixel_size_m"] for i in idx]
    assert all(any(lo <= p <= hi for lo, hi in HELDOUT_BINS) for p in px)


def test_the_shipped_detector_loads_and_finds_a_slide():
    """The weights in the package: within the size rule, checked against their card, complete cards, and
    a clear slide on a quiet synthetic 45 m map found where it is (boxes in the map's CRS)."""
    from lsid.detect.scene import detect_pretrained
    from lsid.models.pretrained import WEIGHTS_DIR, available, pretrained

    assert available() == ["crf_faster_rcnn"]
    assert sum(f.stat().st_size for f in WEIGHTS_DIR.glob("*.pt")) <= 120e6
    model, card = pretrained()
    for key in ("sha256", "corpus", "schedule", "device", "torch", "torchvision", "pixel_m", "tile_px", "channels",
                "image_mean", "image_std", "score_threshold", "calibration", "test", "val_map50"):
        assert card.get(key) is not None, key
    rows, cols = np.mgrid[0:96, 0:96]
    bump = -25.0 * np.exp(-(((rows - 40) / 5.0) ** 2 + ((cols - 60) / 4.0) ** 2))
    d = deformation(shape=(96, 96), noise=0.8)
    d["velocity"] = d.velocity + bump.astype(np.float32)
    d["dem"] = (("y", "x"), (3000 - 20.0 * cols).astype(np.float32))  # a 24 deg slope
    d = _with_pixel(d, 45.0)
    gdf = detect_pretrained(d)
    assert len(gdf) >= 1 and gdf.crs == d.rio.crs
    best = gdf.iloc[0]
    assert best.row0 <= 40 <= best.row1 and best.col0 <= 60 <= best.col1
