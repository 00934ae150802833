"""CBAM: the Convolutional Block Attention Module (Woo et al. 2018), channel then spatial attention."""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn


class ChannelAttention(nn.Module):
    """Channel gate: average- and max-pooled descriptors through one shared MLP (1×1 convolutions,
    reduction ``reduction``), summed, sigmoid; the input is scaled channel by channel."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.mlp = nn.Sequential(nn.Conv2d(channels, hidden, 1, bias=False), nn.ReLU(inplace=True),
                                 nn.Conv2d(hidden, channels, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        avg = self.mlp(torch.mean(x, dim=(2, 3), keepdim=True))
        mx = self.mlp(torch.amax(x, dim=(2, 3), keepdim=True))
        return x * torch.sigmoid(avg + mx)


class SpatialAttention(nn.Module):
    """Spatial gate: a ``kernel_size`` convolution over the channel-wise average and maximum, sigmoid;
    the input is scaled pixel by pixel."""

    def __init__(self, kernel_size: int = 7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        desc = torch.cat([torch.mean(x, dim=1, keepdim=True), torch.amax(x, dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.conv(desc))


class CBAM(nn.Module):
    """Channel attention, then spatial attention (the order of the paper and of Woo et al.)."""

    def __init__(self, channels: int, reduction: int = 16, kernel_size: int = 7):
        super().__init__()
        self.channel = ChannelAttention(channels, reduction)
        self.spatial = SpatialAttention(kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.spatial(self.channel(x))


class WithCBAM(nn.Module):
    """A backbone returning an OrderedDict of feature maps, with one CBAM on each output; keeps the
    backbone's ``out_channels`` (what torchvision's FasterRCNN needs)."""

    def __init__(self, backbone: nn.Module, names: list[str], reduction: int = 16):
        super().__init__()
        self.body = backbone
        self.out_channels = backbone.out_channels
        self.cbam = nn.ModuleDict({n: CBAM(self.out_channels, reduction) for n in names})

    def forward(self, x: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        feats = self.body(x)
        return OrderedDict((k, self.cbam[k](v) if k in self.cbam else v) for k, v in feats.items())
