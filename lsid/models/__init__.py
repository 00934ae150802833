"""Detectors: CBAM, backbones and the model registry (``lsid.models.build(name)``).

Imports only torch and torchvision, so that training runs on a machine that has only PyTorch.
"""

from lsid.models.detectors import REGISTRY, build, count_parameters

__all__ = ["REGISTRY", "build", "count_parameters"]
