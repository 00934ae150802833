"""The deformation-map dataset: maps, tiles, labels, augmentation, splits and the COCO TileSet."""

from lsid.tiles.build import build_tileset, select
from lsid.tiles.labels import load_inventory
from lsid.tiles.maps import map_specs, window_maps

__all__ = ["build_tileset", "select", "load_inventory", "map_specs", "window_maps"]
