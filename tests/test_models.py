"""Detectors (lsid.models): CBAM, the registry's four models, RoI pooling, pretrained weights, the summary tables."""

import pytest
import torch

from lsid.models import REGISTRY, build, count_parameters
from lsid.models.backbones import WeightsMissing
from lsid.models.cbam import CBAM, ChannelAttention, SpatialAttention, WithCBAM


def test_cbam_shapes_and_parts():
    torch.manual_seed(0)
    x = torch.randn(2, 64, 9, 7)
    c = CBAM(64, reduction=16)
    assert c(x).shape == x.shape
    # one shared MLP for both pooled descriptors: 64 -> 4 -> 64, no bias
    assert sum(p.numel() for p in c.channel.parameters()) == 2 * 64 * 4
    assert c.spatial.conv.weight.shape == (1, 2, 7, 7)
    # the channel gate scales whole channels; the spatial gate whole pixels (same factor for every channel)
    ca = ChannelAttention(64)(x) / x
    assert torch.allclose(ca, ca[:, :, :1, :1].expand_as(ca), atol=1e-5)
    sa = SpatialAttention()(x) / x
    assert torch.allclose(sa, sa[:, :1].expand_as(sa), atol=1e-5)
    # order: channel, then spatial
    assert torch.allclose(c(x), c.spatial(c.channel(x)))


def test_with_cbam_keeps_the_backbone_interface():
    from collections import OrderedDict

    class Two(torch.nn.Module):
        out_channels = 32

        def forward(self, x):
            return OrderedDict([("0", x), ("pool", x[..., ::2, ::2])])

    w = WithCBAM(Two(), ["0", "pool"])
    out = w(torch.randn(1, 32, 8, 8))
    assert list(out) == ["0", "pool"] and w.out_channels == 32 and out["pool"].shape == (1, 32, 4, 4)


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_models_train_and_detect_at_native_size(name):
    torch.manual_seed(0)
    m = build(name, in_channels=3, image_size=64, image_mean=[0.5, 0.5, 0.5], image_std=[0.25, 0.25, 0.25])
    assert m.transform.min_size == (64,) and m.transform.max_size == 64
    assert m.transform.image_mean == [0.5] * 3
    imgs = [torch.rand(3, 64, 64), torch.rand(3, 64, 64)]
    targets = [{"boxes": torch.tensor([[8.0, 10.0, 30.0, 40.0]]), "labels": torch.tensor([1])},
               {"boxes": torch.zeros((0, 4)), "labels": torch.zeros((0,), dtype=torch.int64)}]  # a negative tile
    m.train()
    losses = m(imgs, targets)
    assert set(losses) == {"loss_classifier", "loss_box_reg", "loss_objectness", "loss_rpn_box_reg"}
    sum(losses.values()).backward()
    m.eval()
    with torch.inference_mode():
        out = m(imgs)
    assert len(out) == 2 and out[0]["boxes"].shape[1] == 4
    assert (out[0]["boxes"] >= 0).all() and (out[0]["boxes"] <= 64).all()  # boxes in tile pixels
    assert 20e6 < count_parameters(m) < 80e6


def test_vgg16_is_stride_16_with_roi_pooling():
    from lsid.models.detectors import RoIPool

    m = build("faster_rcnn_vgg16", image_size=64)
    feats = m.backbone(torch.rand(1, 3, 64, 64))
    assert list(feats) == ["0"] and feats["0"].shape == (1, 512, 4, 4)
    assert isinstance(m.roi_heads.box_roi_pool, RoIPool)
    assert m.rpn.anchor_generator.num_anchors_per_location() == [15]  # 5 sizes x 3 ratios
    crf = build("crf_faster_rcnn", image_size=64)
    levels = crf.backbone(torch.rand(1, 3, 64, 64))
    assert list(levels) == ["0", "1", "2", "3", "pool"] and all(v.shape[1] == 256 for v in levels.values())
    assert [levels[k].shape[-1] for k in levels] == [16, 8, 4, 2, 1]  # P2..P6


def test_roi_pool_matches_torchvision():
    from torchvision.ops import roi_pool

    from lsid.models.detectors import RoIPool

    x = torch.randn(1, 8, 16, 16)
    boxes = [torch.tensor([[0.0, 0.0, 128.0, 96.0], [32.0, 16.0, 200.0, 250.0]])]
    ours = RoIPool(7)({"0": x}, boxes, [(256, 256)])
    assert torch.equal(ours, roi_pool(x, boxes, (7, 7), spatial_scale=1 / 16))


def test_more_channels_and_unknown_names(tmp_path, monkeypatch):
    m = build("crf_faster_rcnn", in_channels=5, image_size=64)
    assert m.backbone.body.body.conv1.in_channels == 5
    with pytest.raises(KeyError, match="choose from"):
        build("yolo")
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.raises(WeightsMissing, match=r"resnet50-.*not in the local torch cache"):
        build("crf_faster_rcnn", pretrained=True)


def test_model_summary_tables():
    """The parts and feature-level tables of the training chapter (lsid.training.tables.model_summary)."""
    from lsid.training.tables import model_summary

    parts, levels = model_summary("faster_rcnn_vgg16", 3, 64)
    assert parts.index.name == "part" and list(parts.columns) == ["parameters (M)"]
    assert list(parts.index) == ["whole detector", "backbone (+ neck, attention)", "RPN",
                                 "RoI heads (2 FC + predictor)"]
    m = build("faster_rcnn_vgg16", 3, 64)
    assert parts.loc["whole detector", "parameters (M)"] == round(count_parameters(m) / 1e6, 2)
    assert levels.index.name == "level" and list(levels.columns) == ["channels", "size (px)", "stride"]
    assert levels.loc["0"].tolist() == [512, "4 × 4", 16]
    _, crf = model_summary("crf_faster_rcnn", 3, 64)
    assert list(crf.index) == ["0", "1", "2", "3", "pool"] and list(crf.stride) == [4, 8, 16, 32, 64]
