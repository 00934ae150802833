"""The deformation-map dataset: maps, tiles, labels, augmentation, splits and the COCO TileSet."""

from lsid.tiles.build import build_tileset, output_dir, select
from lsid.tiles.labels import load_inventory
from lsid.tiles.maps import map_specs, window_maps

__all__ = ["build_tileset", "output_dir", "select", "load_inventory", "map_specs", "window_maps"]
