"""Whole-scene detection: a trained detector run over a velocity map of any size.

The scene is cut into overlapping windows of the training tile size (``stride`` = half a tile by
default), each window drawn exactly as the training tiles were (:mod:`lsid.tiles.render`, referred to
the window's median, see :func:`lsid.tiles.maps.window_maps`), batched through the model, and the
boxes of all windows merged in scene pixel coordinates. Memory is bounded by one batch of windows,
not by the scene: windows are read from the (possibly lazy, dask-backed) Deformation one at a time.

How boxes of overlapping windows are merged, and why:
- A box that touches an inner edge of its window (an edge that is not the scene's edge) is *cut*: the
  object goes on outside the window. With half-tile overlap, every object up to half a tile across is
  whole in at least one window, so cut boxes rank below whole ones (their score minus one) and only
  survive where no whole box of the same object exists (objects larger than half a tile).
- Then non-maximum suppression (``torchvision.ops.nms``, IoU > ``iou_threshold``) on that ranking,
  then a containment pass: a box lying mostly (intersection over its own area > ``contain_threshold``)
  inside a higher-ranked box is the same object seen partly, and goes.
- Not weighted box fusion: boxes of one object from two windows are drawn from the same pixels with
  the same model, so they nearly coincide and averaging them adds little, while WBF would need another
  dependency (ensemble-boxes) and merges neighbouring landslides that NMS keeps apart.

Output: a GeoDataFrame in the scene's CRS, one row per box: ``orbit``, ``model``, ``score``, the box in
scene pixels (``row0, col0, row1, col1``, half-open), ``geometry`` (the box polygon), ``area_m2``, and
the LOS velocity inside the box relative to its window's median (mm/yr): ``v_mean``, ``v_max`` (the
value of largest magnitude, signed), ``valid_share``; ``cut`` tells whether the kept box was cut by a
window edge.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from shapely.geometry import box as shapely_box

from lsid.errors import InputDataError
from lsid.layout import TileSetLayout
from lsid.tiles.maps import MapSpec, window_maps
from lsid.tiles.render import CHANNEL_MODES, draw

log = logging.getLogger(__name__)

#: Pixels from a window edge within which a box counts as cut by that edge.
EDGE_PX = 2
#: Default operating score threshold of scene detections (the AOI's training.score_threshold overrides).
SCORE_THRESHOLD = 0.5
#: Default IoU above which two boxes are one detection (non-maximum suppression).
IOU_THRESHOLD = 0.5
#: Default share of a box inside a higher-ranked box above which it is the same object.
CONTAIN_THRESHOLD = 0.8
COLUMNS = ["orbit", "model", "score", "row0", "col0", "row1", "col1", "area_m2", "v_mean", "v_max",
           "valid_share", "cut", "geometry"]


#: A map whose pixels are more than this many times the model's is too coarse for the model's smallest
#: objects (a warning says so).
COARSE_FACTOR = 2.0
#: Smallest box edge the detectors were trained on, px (lsid.tiles min_box_px / the corpus spec).
MIN_OBJECT_PX = 4


@dataclass(frozen=True)
class Drawing:
    """How the detector's input is drawn from a velocity map: the TileSet's channel mode, tile edge (px)
    and the velocity at the ends of the colour map / physical velocity channel (mm/yr); ``pixel_m``:
    the pixel size the model was trained at (the map is resampled to it; None: used as it is)."""

    channels: str
    size: int
    range_mm_yr: float
    pixel_m: float | None = None

    @classmethod
    def from_card(cls, card: dict) -> Drawing:
        """The drawing of a pretrained detector (its model card, :mod:`lsid.models.pretrained`)."""
        return cls(card["channels"], int(card["tile_px"]), 40.0, float(card["pixel_m"]))

    @classmethod
    def from_tileset(cls, tileset_json: str | Path) -> Drawing:
        """The drawing a TileSet was made with (its tileset.json)."""
        import json

        p = Path(tileset_json)
        if p.is_dir():
            p = TileSetLayout(p).meta
        if not p.exists():
            raise InputDataError(f"{p}: no tileset.json; the detector's TileSet is needed to draw scene windows the "
                                 f"way it was trained (run the dataset stage, or pass a Drawing)")
        meta = json.loads(p.read_text())
        return cls(meta["channels"], int(meta["size"]), float(meta["parameters"]["render_range_mm_yr"]))


def window_origins(shape: tuple[int, int], size: int, stride: int) -> list[tuple[int, int]]:
    """Top-left (row, col) of windows covering the whole scene: steps of ``stride``, plus a last row and
    column of windows flush with the bottom and right edges. A scene smaller than a window gives one
    window at (0, 0) (padded with no-data when drawn)."""
    def starts(n: int) -> list[int]:
        if n <= size:
            return [0]
        s = list(range(0, n - size + 1, stride))
        if s[-1] != n - size:
            s.append(n - size)
        return s

    return [(r, c) for r in starts(shape[0]) for c in starts(shape[1])]


def _pad(a: np.ndarray, size: int, fill) -> np.ndarray:
    if a.shape[-2:] == (size, size):
        return a
    out = np.full(a.shape[:-2] + (size, size), fill, dtype=a.dtype)
    out[..., :a.shape[-2], :a.shape[-1]] = a
    return out


def draw_window(defo: xr.Dataset, row: int, col: int, drawing: Drawing, slope: np.ndarray | None = None,
                tcoh: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """One window of the mean-velocity map as the detector sees it: ((C, size, size) float32 image in the
    TileSet's units, (size, size) float32 velocity referred to the window median, mm/yr, NaN = unreliable).
    ``slope`` (deg) and ``tcoh`` are the scene's layers, needed for physical channels only."""
    size = drawing.size
    h, w = min(size, defo.sizes["y"] - row), min(size, defo.sizes["x"] - col)
    spec = MapSpec("mean", None, None, 0)
    if (h, w) == (size, size):
        v = window_maps(defo, [spec], row, col, size)[0]
    else:  # a scene smaller than one window: draw what there is, pad with no-data
        sub = defo.isel(y=slice(row, row + h), x=slice(col, col + w))
        v = np.asarray(sub.velocity.values, dtype=np.float32)
        ok = np.asarray(sub.valid.values, dtype=bool)
        v[~ok] = np.nan
        if ok.any():
            v -= np.nanmedian(v[ok])
        v = _pad(v, size, np.nan)
    if drawing.channels not in CHANNEL_MODES:
        raise InputDataError(f"unknown channel mode {drawing.channels!r}: one of {', '.join(CHANNEL_MODES)}")
    c = s = None
    if drawing.channels != "rendered":
        win = (slice(row, row + h), slice(col, col + w))
        c = (_pad(np.asarray(tcoh[win], dtype=np.float32), size, 0.0) if tcoh is not None
             else np.isfinite(v).astype(np.float32))
        s = _pad(np.asarray(slope[win], dtype=np.float32), size, 0.0) if slope is not None else np.zeros_like(v)
    return draw(drawing.channels, v, c, s, drawing.range_mm_yr), v


def _box_stats(v: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """(mean, signed value of largest magnitude, share of reliable pixels) of ``v`` inside pixel box b."""
    c0, r0 = int(np.floor(b[0])), int(np.floor(b[1]))
    c1, r1 = int(np.ceil(b[2])), int(np.ceil(b[3]))
    inside = v[max(r0, 0):max(r1, r0 + 1), max(c0, 0):max(c1, c0 + 1)]
    ok = np.isfinite(inside)
    if not ok.any():
        return float("nan"), float("nan"), 0.0
    vals = inside[ok]
    return float(vals.mean()), float(vals[np.argmax(np.abs(vals))]), float(ok.mean())


def merge_boxes(boxes: np.ndarray, scores: np.ndarray, cut: np.ndarray, iou_threshold: float = IOU_THRESHOLD,
                contain_threshold: float = CONTAIN_THRESHOLD) -> np.ndarray:
    """Indices of the boxes kept after merging overlapping windows' detections (see the module docstring).

    boxes: (n, 4) x0, y0, x1, y1 in scene pixels; scores: (n,); cut: (n,) bool. Returns kept indices,
    best first."""
    import torch
    from torchvision.ops import nms

    if len(boxes) == 0:
        return np.zeros(0, dtype=int)
    b = torch.as_tensor(np.asarray(boxes, dtype=np.float32))
    rank = torch.as_tensor(np.asarray(scores, dtype=np.float32) - np.asarray(cut, dtype=np.float32))
    keep = nms(b, rank, iou_threshold)  # sorted by rank, best first
    kb = b[keep]
    # containment: intersection over the smaller box's own area, against every better-ranked kept box
    lt = torch.max(kb[:, None, :2], kb[None, :, :2])
    rb = torch.min(kb[:, None, 2:], kb[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area = (kb[:, 2:] - kb[:, :2]).clamp(min=0).prod(-1)
    frac = inter / area.clamp(min=1e-6)[:, None]  # share of box i inside box j
    out = []
    for i in range(len(kb)):
        if not any(frac[i, j] > contain_threshold for j in out):
            out.append(i)
    return keep.numpy()[out]


def _batches(origins, n):
    for k in range(0, len(origins), n):
        yield origins[k:k + n]


def detect_scene(model, defo: xr.Dataset, drawing: Drawing, *, stride: int | None = None, batch_size: int = 4,
                 score_threshold: float = SCORE_THRESHOLD, iou_threshold: float = IOU_THRESHOLD,
                 contain_threshold: float = CONTAIN_THRESHOLD, device: str | None = None, model_name: str = "",
                 progress: bool = False, pixel_coordinates: bool = False) -> gpd.GeoDataFrame:
    """Detect deformation anomalies on a whole mean-velocity map.

    Parameters
    ----------
    model : a torchvision detector (lsid.models), in eval mode, trained on tiles drawn as ``drawing``.
    defo : a Deformation (``velocity`` mm/yr, ``valid``; ``temporal_coherence`` and ``dem`` for physical
        channels) with a CRS; any size.
    drawing : the TileSet's channel mode, tile size and colour range (:meth:`Drawing.from_tileset`).
    stride : step between windows, px (default: half a tile).
    batch_size : windows per forward pass (memory: one batch).
    score_threshold : boxes scoring below are dropped before merging.
    iou_threshold, contain_threshold : merging rules (module docstring).
    device : ``cuda`` or ``cpu`` (default: cuda when available). On CUDA: AMP and channels_last.
    pixel_coordinates : for a map without CRS, give the boxes in pixel coordinates (x = column, y = row,
        no CRS, area in px) instead of refusing it.

    Returns
    -------
    GeoDataFrame (columns :data:`COLUMNS`) in the Deformation's CRS, best score first.
    """
    import torch
    from tqdm import tqdm

    for var in ("velocity", "valid"):
        if var not in defo:
            raise InputDataError(f"the Deformation has no '{var}' variable; scene detection needs a mean LOS velocity "
                                 f"map (mm/yr) and its reliability mask")
    if defo.rio.crs is None and not pixel_coordinates:
        raise InputDataError("the velocity map has no CRS, so its boxes cannot be georeferenced: write one "
                             "(rioxarray: ds.rio.write_crs('EPSG:....')), or pass pixel_coordinates=True for boxes in "
                             "pixels")
    native = defo
    if drawing.pixel_m is not None:
        defo = at_model_scale(defo, drawing.pixel_m)
    size = drawing.size
    spec = getattr(model, "lsid_spec", None) or {}
    n_ch = 3  # both channel modes draw 3 channels
    if spec.get("in_channels", n_ch) != n_ch or (spec.get("image_size") not in (None, size)):
        raise InputDataError(f"the model takes {spec.get('in_channels')} channels of {spec.get('image_size')} px "
                             f"but the scene is drawn as {n_ch} {drawing.channels} channels of {size} px; use the "
                             f"TileSet the model was trained on")
    stride = int(stride or max(1, size // 2))
    if not 0 < stride <= size:
        raise InputDataError(f"stride {stride} px: must be within 1..{size} (the tile size), or windows leave gaps")
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    cuda = dev.type == "cuda"
    model = model.to(dev).eval()
    if cuda:
        model = model.to(memory_format=torch.channels_last)
    ny, nx = defo.sizes["y"], defo.sizes["x"]
    slope = tcoh = None
    if drawing.channels != "rendered":
        from lsid.tiles.build import coherence_layer, slope_layer

        slope, tcoh = slope_layer(defo), coherence_layer(defo)
    origins = window_origins((ny, nx), size, stride)
    rows = []
    bar = tqdm(total=len(origins), desc=f"detect {defo.attrs.get('orbit', '')} {model_name}".strip(),
               disable=not progress, unit="window")
    with torch.inference_mode():
        for batch in _batches(origins, batch_size):
            drawn = [draw_window(defo, r, c, drawing, slope, tcoh) for r, c in batch]
            x = [torch.from_numpy(img).to(dev) for img, _ in drawn]
            if cuda:
                x = [t.contiguous(memory_format=torch.channels_last) for t in x]
            with torch.autocast(dev.type, enabled=cuda):
                dets = model(x)
            for (r, c), (_, v), det in zip(batch, drawn, dets):
                b = det["boxes"].float().cpu().numpy()
                s = det["scores"].float().cpu().numpy()
                inner = (c > 0, r > 0, c + size < nx, r + size < ny)  # left, top, right, bottom edges inside the scene
                for bi, si in zip(b, s):
                    if si < score_threshold:
                        continue
                    cut = ((inner[0] and bi[0] <= EDGE_PX) or (inner[1] and bi[1] <= EDGE_PX)
                           or (inner[2] and bi[2] >= size - EDGE_PX) or (inner[3] and bi[3] >= size - EDGE_PX))
                    vm, vx, share = _box_stats(v, bi)
                    rows.append((float(si), bi[1] + r, bi[0] + c, bi[3] + r, bi[2] + c, vm, vx, share, bool(cut)))
            bar.update(len(batch))
    bar.close()
    gdf = _to_frame(rows, defo, model_name, iou_threshold, contain_threshold, pixel_coordinates)
    if defo is not native and len(gdf):  # boxes in the pixels of the map as given
        gdf = _native_pixels(gdf, defo, native)
    return gdf


def at_model_scale(defo: xr.Dataset, pixel_m: float) -> xr.Dataset:
    """The 2-D layers of ``defo`` resampled to the model's pixel size (lsid.io.crs.to_pixel_size: averaged
    when coarser, bilinear when finer); a map much coarser than the model (COARSE_FACTOR) gets a warning
    naming the smallest objects it can show."""
    import warnings

    from lsid.errors import InputWarning
    from lsid.io.crs import grid_pixel_m, to_pixel_size

    if defo.rio.crs is None:
        raise InputDataError("the velocity map has no CRS, so it cannot be resampled to the detector's pixel size: "
                             "write one (rioxarray: ds.rio.write_crs('EPSG:....'))")
    layers = defo[[k for k, v in defo.data_vars.items() if set(v.dims) == {"y", "x"}]]
    px = grid_pixel_m(layers) if not layers.rio.crs.is_geographic else None
    if px is not None and px > COARSE_FACTOR * pixel_m:
        warnings.warn(f"the {defo.attrs.get('orbit', '')} map's pixels ({px:.0f} m) are {px / pixel_m:.1f} x the "
                      f"detector's ({pixel_m:g} m): objects smaller than about {MIN_OBJECT_PX * px:.0f} m "
                      f"({MIN_OBJECT_PX} of the map's pixels) cannot be found in it", InputWarning, stacklevel=3)
    return to_pixel_size(layers, pixel_m)


def _native_pixels(gdf: gpd.GeoDataFrame, model_grid: xr.Dataset, native: xr.Dataset) -> gpd.GeoDataFrame:
    """``gdf`` (boxes found on ``model_grid``) with its row/col columns in the pixels of ``native``."""
    inv = ~native.rio.transform()
    b = gdf.geometry.bounds
    c0, r0 = inv * (b.minx.to_numpy(), b.maxy.to_numpy())
    c1, r1 = inv * (b.maxx.to_numpy(), b.miny.to_numpy())
    gdf = gdf.copy()
    gdf["row0"], gdf["row1"] = np.minimum(r0, r1), np.maximum(r0, r1)
    gdf["col0"], gdf["col1"] = np.minimum(c0, c1), np.maximum(c0, c1)
    return gdf


def detect_pretrained(defo: xr.Dataset, name: str = "crf_faster_rcnn", **kwargs) -> gpd.GeoDataFrame:
    """:func:`detect_scene` with a pretrained detector (:func:`lsid.models.pretrained.pretrained`): the map
    is drawn as its card says, at its pixel size; boxes in the map's CRS and pixels. Low-score boxes are
    kept by the model (``box_score_thresh`` 0.01) so that ``score_threshold`` alone decides (default: the
    card's operating threshold, chosen on the corpus's validation areas: lsid.inventory.calibrate)."""
    from lsid.models.pretrained import pretrained

    model, card = pretrained(name, box_score_thresh=0.01)
    kwargs.setdefault("model_name", f"pretrained:{name}")
    kwargs.setdefault("score_threshold", card.get("score_threshold", SCORE_THRESHOLD))
    return detect_scene(model, defo, Drawing.from_card(card), **kwargs)


def _to_frame(rows, defo, model_name, iou_threshold, contain_threshold, pixel_coordinates=False) -> gpd.GeoDataFrame:
    from affine import Affine

    crs = defo.rio.crs
    orbit = defo.attrs.get("orbit", "")
    if not rows:
        return gpd.GeoDataFrame({k: [] for k in COLUMNS[:-1]}, geometry=[], crs=crs)[COLUMNS]
    a = np.array(rows, dtype=float)
    ny, nx = defo.sizes["y"], defo.sizes["x"]
    a[:, 1:5] = np.clip(a[:, 1:5], 0, [ny, nx, ny, nx])
    keep = merge_boxes(a[:, [2, 1, 4, 3]], a[:, 0], a[:, 8].astype(bool), iou_threshold, contain_threshold)
    a = a[keep]
    t = Affine.identity() if (pixel_coordinates and crs is None) else defo.rio.transform()
    geoms = []
    for r0, c0, r1, c1 in a[:, 1:5]:
        x0, y0 = t * (c0, r0)
        x1, y1 = t * (c1, r1)
        geoms.append(shapely_box(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)))
    gdf = gpd.GeoDataFrame({
        "orbit": orbit, "model": model_name, "score": a[:, 0],
        "row0": a[:, 1], "col0": a[:, 2], "row1": a[:, 3], "col1": a[:, 4],
        "area_m2": [g.area for g in geoms], "v_mean": a[:, 5], "v_max": a[:, 6], "valid_share": a[:, 7],
        "cut": a[:, 8].astype(bool)}, geometry=geoms, crs=crs)
    return gdf.sort_values("score", ascending=False, ignore_index=True)[COLUMNS]


def detect_with_checkpoint(checkpoint: str | Path, defo: xr.Dataset, tileset: str | Path | None = None,
                           **kwargs) -> gpd.GeoDataFrame:
    """:func:`detect_scene` with the model of an lsid checkpoint (``best.pt``) and the drawing of its
    TileSet (``tileset``, default: the folder recorded in the checkpoint). Low-score boxes are kept by the
    model (``box_score_thresh`` 0.01) so that ``score_threshold`` alone decides. Raises InputDataError
    when ``tileset`` draws other channels or another size than the model was trained on."""
    from lsid.training.checkpoints import load_checkpoint, model_from_checkpoint

    ck = load_checkpoint(checkpoint)
    drawing = Drawing.from_tileset(tileset or ck["tileset"])
    own = TileSetLayout(ck["tileset"]).meta
    if tileset is not None and own.exists():
        trained = Drawing.from_tileset(own)
        if (trained.channels, trained.size) != (drawing.channels, drawing.size):
            raise InputDataError(f"{checkpoint}: the model was trained on {trained.channels} tiles of "
                                 f"{trained.size} px but the TileSet {tileset} draws {drawing.channels} tiles of "
                                 f"{drawing.size} px; pass the TileSet it was trained on ({ck['tileset']})")
    if drawing.size != int(ck["image_size"]):
        raise InputDataError(f"{checkpoint}: trained on {ck['image_size']} px tiles but the TileSet {tileset} has "
                             f"{drawing.size} px; pass the TileSet the model was trained on")
    model, _ = model_from_checkpoint(ck, box_score_thresh=0.01)
    kwargs.setdefault("model_name", ck["model"])
    return detect_scene(model, defo, drawing, **kwargs)


__all__ = ["Drawing", "window_origins", "draw_window", "merge_boxes", "detect_scene", "detect_with_checkpoint",
           "detect_pretrained", "at_model_scale", "COARSE_FACTOR", "MIN_OBJECT_PX",
           "COLUMNS", "EDGE_PX", "SCORE_THRESHOLD", "IOU_THRESHOLD", "CONTAIN_THRESHOLD"]
