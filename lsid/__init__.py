"""lsid: landslide identification from InSAR deformation.

A reproducible study of Dong et al. (2026), *An Automatic Identification Method for Large-Scale
Landslide Hazard Potential Integrating InSAR and CRF-Faster RCNN*, Remote Sensing 18(2), 283.

Stages (see docs/design.md): ``lsid.synth`` / ``lsid.io`` (Stacks) -> ``lsid.sbas`` (Deformation)
-> ``lsid.tiles`` (TileSet) -> ``lsid.models`` + ``lsid.training`` -> ``lsid.detect`` -> ``lsid.inventory``.
"""

__version__ = "0.1.0"
