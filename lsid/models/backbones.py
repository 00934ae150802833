"""Backbones of the detectors: VGG16 (stride 16, one level), ResNet-50 C5, ResNet-50 + FPN (P2-P6).

From scratch (the default: no weights can be downloaded here) the backbones use GroupNorm (32 groups)
instead of BatchNorm: with batches of 5 tiles, batch statistics are too noisy to train on (He,
Girshick & Dollár 2019, "Rethinking ImageNet Pre-training"). With ImageNet weights (only when asked,
and only from the local torch cache) the BatchNorm layers are frozen, as torchvision does.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from lsid.errors import LsidError

#: Groups of the GroupNorm layers used when training from scratch.
GN_GROUPS = 32


class WeightsMissing(LsidError, FileNotFoundError):
    """ImageNet weights were asked for but are not in the local torch cache."""


def group_norm(channels: int) -> nn.Module:
    return nn.GroupNorm(min(GN_GROUPS, channels), channels)


def cached_weights(weights) -> dict:
    """The state dict of torchvision ``weights`` (a Weights enum member) from the local torch cache,
    without downloading; WeightsMissing names the file and the folder when it is not there."""
    fname = Path(weights.url).name
    folder = Path(torch.hub.get_dir()) / "checkpoints"
    path = folder / fname
    if not path.is_file():
        raise WeightsMissing(f"ImageNet weights {fname} are not in the local torch cache ({folder}); "
                             f"this machine cannot download them: copy the file there from a machine that can, "
                             f"or train from scratch (pretrained: false)")
    return torch.load(path, map_location="cpu", weights_only=True)


def _swap_batchnorm(module: nn.Module, frozen: bool) -> nn.Module:
    """Replace every BatchNorm2d by GroupNorm (from scratch) or FrozenBatchNorm2d (pretrained)."""
    from torchvision.ops import FrozenBatchNorm2d

    for name, child in module.named_children():
        if isinstance(child, nn.BatchNorm2d):
            if frozen:
                fb = FrozenBatchNorm2d(child.num_features, eps=child.eps)
                fb.weight.copy_(child.weight.data)
                fb.bias.copy_(child.bias.data)
                fb.running_mean.copy_(child.running_mean)
                fb.running_var.copy_(child.running_var)
                setattr(module, name, fb)
            else:
                setattr(module, name, group_norm(child.num_features))
        else:
            _swap_batchnorm(child, frozen)
    return module


def _first_conv(conv: nn.Conv2d, in_channels: int) -> nn.Conv2d:
    """The first convolution for ``in_channels`` inputs; pretrained RGB filters are averaged over
    colour and repeated, so that a pretrained net still responds to its input's structure."""
    if conv.in_channels == in_channels:
        return conv
    new = nn.Conv2d(in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                    bias=conv.bias is not None)
    with torch.no_grad():
        new.weight.copy_(conv.weight.mean(dim=1, keepdim=True).repeat(1, in_channels, 1, 1) * 3 / in_channels)
        if conv.bias is not None:
            new.bias.copy_(conv.bias)
    return new


def vgg16(in_channels: int = 3, pretrained: bool = False) -> nn.Module:
    """VGG16 convolutional features up to conv5_3 (the last max-pool dropped): stride 16, 512 channels,
    with normalisation after every convolution (torchvision's vgg16_bn layout)."""
    from torchvision.models import VGG16_BN_Weights, vgg16_bn

    net = vgg16_bn(weights=None)
    if pretrained:
        net.load_state_dict(cached_weights(VGG16_BN_Weights.IMAGENET1K_V1))
    features = _swap_batchnorm(net.features[:-1], frozen=pretrained)
    features[0] = _first_conv(features[0], in_channels)
    features.out_channels = 512
    return features


def resnet50(in_channels: int = 3, pretrained: bool = False) -> nn.Module:
    """torchvision's ResNet-50 with GroupNorm (from scratch) or frozen BatchNorm (ImageNet weights)."""
    from torchvision.models import ResNet50_Weights
    from torchvision.models import resnet50 as tv_resnet50
    from torchvision.ops import FrozenBatchNorm2d

    if pretrained:
        net = tv_resnet50(weights=None, norm_layer=FrozenBatchNorm2d)
        net.load_state_dict(cached_weights(ResNet50_Weights.IMAGENET1K_V1))
    else:
        net = tv_resnet50(weights=None, norm_layer=group_norm)
    net.conv1 = _first_conv(net.conv1, in_channels)
    return net


def resnet50_fpn(in_channels: int = 3, pretrained: bool = False, out_channels: int = 256) -> nn.Module:
    """ResNet-50 + FPN: pyramid levels P2-P5 from C2-C5 plus P6 by max-pooling P5 (outputs '0'..'3',
    'pool'), ``out_channels`` each; GroupNorm in the FPN too when training from scratch."""
    from torchvision.models.detection.backbone_utils import BackboneWithFPN
    from torchvision.ops.feature_pyramid_network import LastLevelMaxPool

    net = resnet50(in_channels, pretrained)
    return BackboneWithFPN(net, {"layer1": "0", "layer2": "1", "layer3": "2", "layer4": "3"},
                           [256, 512, 1024, 2048], out_channels, extra_blocks=LastLevelMaxPool(),
                           norm_layer=None if pretrained else group_norm)


class SingleLevel(nn.Module):
    """A plain backbone as a one-level feature dict {'0': features}, optionally followed by a 1×1
    projection to ``project_to`` channels."""

    def __init__(self, body: nn.Module, channels: int, project_to: int | None = None):
        super().__init__()
        self.body = body
        self.proj = nn.Conv2d(channels, project_to, 1) if project_to else nn.Identity()
        self.out_channels = project_to or channels

    def forward(self, x):
        from collections import OrderedDict

        return OrderedDict([("0", self.proj(self.body(x)))])


def resnet50_c5(in_channels: int = 3, pretrained: bool = False) -> nn.Module:
    """ResNet-50 up to C5 (stride 32, 2048 channels) as a plain module (wrap it in SingleLevel)."""
    net = resnet50(in_channels, pretrained)
    body = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2, net.layer3, net.layer4)
    return body
