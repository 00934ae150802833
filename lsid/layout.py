"""Every path of a run folder, in one place.

A run of an area of interest at a profile writes everything under ``<run_root>/<aoi name>/<profile>/``
(``runs/`` by default, git-ignored). Each stage writes its own sub-folder and reads those of the stages
before it; nothing else in lsid builds a run path by hand. The layout (stage that writes it in
brackets)::

    stacks/<orbit>.nc                     [synth] Stack of a synthetic track (NetCDF-4/CF)
    truth/terrain.nc                      [synth] true DEM, slope, aspect, vegetation, water, DEM error
    truth/<orbit>.nc                      [synth] true LOS velocity (mm/yr) and displacement series (mm)
    truth/landslides.geojson              [synth] landslide polygons, 3-D velocity, per-track LOS
    truth/distractors.geojson             [synth] deformation that is not a landslide
    truth/features.geojson                [synth] river, reservoir, dam, terraces, gullies
    truth/unwrapping_errors.csv           [synth] the 2-pi patches put into pairs
    synth/manifest.json                   [synth] digest and file list (written last)
    sbas/<orbit>.nc                       [sbas] Deformation (NetCDF/CF, on the working grid)
    sbas/velocity_<orbit>.tif             [sbas] mean LOS velocity, mm/yr (COG; NaN where unreliable)
    sbas/network_<orbit>.csv              [sbas] every pair, kept or why dropped
    sbas/<orbit>.json                     [sbas] summary and digest (written last)
    tiles/<channels>/                     [tiles] a TileSet (see :class:`TileSetLayout`)
    tiles/survey.csv, tiles/summary.json  [tiles] every (tile, map) surveyed; counts and digest (last)
    models/<model>_<channels>_<split>/    [training] see :class:`ModelLayout`
    detections/<model>_<orbit>.gpkg       [inventory] scene boxes of one detector on one orbit
    detections/<model>_<orbit>.json       [inventory] their digest
    inventory/inventory.{geojson,gpkg,kml,csv}      [inventory] the detector's potential landslides
    inventory/ada_inventory.{...}                   [inventory] the ADA baseline's
    inventory/objects_<source>_<orbit>.gpkg         [inventory] objects before fusion, with the checks
    inventory/reference_<source>.gpkg               [inventory] the reference, ``detected`` per landslide
    inventory/summary.json                          [inventory] counts and validation scores (last)
    report/reproduction.csv, report/summary.json    [report] the paper's numbers beside this run's
    notebooks/<stem>.ipynb, <stem>.stage.json       [pipeline] executed notebooks and their digests
    book_src/, book/_build/html/                    [pipeline] staged book sources, the HTML book

See docs/design.md for the stage table (inputs, outputs and cache key of every stage).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ORBITS = ("ascending", "descending")
#: Output formats of every inventory (lsid.inventory.export).
INVENTORY_FORMATS = ("geojson", "gpkg", "kml", "csv")


@dataclass(frozen=True)
class ModelLayout:
    """The folder of one training run (``python -m lsid.train --out`` writes the same names)::

        best.pt       weights and metadata of the best validation epoch
        last.pt       everything needed to resume (weights, optimiser, RNG, counters), every epoch
        history.csv   per iteration: the four losses and the learning rate
        epochs.csv    per epoch: validation mAP, learning rate, seconds
        train.json    the run's summary (written when training ends)
        stage.json    the digest the run was made with (the training stage's cache key)
        metrics.json  test-split metrics and detections of best.pt (cached by the evaluation)
    """

    folder: Path

    def __post_init__(self):
        object.__setattr__(self, "folder", Path(self.folder))

    @property
    def best(self) -> Path:
        return self.folder / "best.pt"

    @property
    def last(self) -> Path:
        return self.folder / "last.pt"

    @property
    def history(self) -> Path:
        return self.folder / "history.csv"

    @property
    def epochs(self) -> Path:
        return self.folder / "epochs.csv"

    @property
    def summary(self) -> Path:
        return self.folder / "train.json"

    @property
    def stamp(self) -> Path:
        return self.folder / "stage.json"

    @property
    def metrics(self) -> Path:
        return self.folder / "metrics.json"


@dataclass(frozen=True)
class TileSetLayout:
    """The folder of one TileSet (one channel mode; the TileSet contract of docs/design.md)::

        images/<stem>.png | .npy              one file per tile (rendered: 8-bit RGB PNG; physical: float16 .npy)
        annotations/{train,val,test}.json     COCO, boxes in pixels, spatially blocked split
        annotations/random/{...}.json         tile-by-tile random split (to show the leak)
        tiles.csv                             provenance: one row per image (map, window, split, transform)
        tileset.json                          channels, value ranges, how it was built, counts (written last)

    Any folder will do (``python -m lsid.train --tileset FOLDER``); a run's are
    :meth:`RunLayout.tileset_layout`.
    """

    folder: Path

    def __post_init__(self):
        object.__setattr__(self, "folder", Path(self.folder))

    @property
    def images_dir(self) -> Path:
        """The folder of the tile images."""
        return self.folder / "images"

    def image(self, file_name: str) -> Path:
        """A tile image from its COCO / tiles.csv ``file_name`` (``images/<stem>.<ext>``)."""
        return self.folder / file_name

    @property
    def annotations_dir(self) -> Path:
        """The COCO files of the spatially blocked split."""
        return self.folder / "annotations"

    @property
    def random_annotations_dir(self) -> Path:
        """The COCO files of the tile-by-tile random split."""
        return self.annotations_dir / "random"

    def annotations(self, split: str, random: bool = False) -> Path:
        """The COCO file of one split (``train``, ``val``, ``test``) of the spatial or the random split."""
        return (self.random_annotations_dir if random else self.annotations_dir) / f"{split}.json"

    @property
    def table(self) -> Path:
        """``tiles.csv``: provenance of every image."""
        return self.folder / "tiles.csv"

    @property
    def meta(self) -> Path:
        """``tileset.json``: channels, value ranges, parameters and counts."""
        return self.folder / "tileset.json"


@dataclass(frozen=True)
class RunLayout:
    """The paths of one run folder (``root`` = ``<run_root>/<aoi name>/<profile>``)."""

    root: Path

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root))

    @classmethod
    def of(cls, cfg, run_root: str | Path = "runs") -> RunLayout:
        """The layout of an :class:`~lsid.config.AOIConfig`'s run under ``run_root``."""
        return cls(Path(run_root) / cfg.name / cfg.profile)

    # ------------------------------------------------------------------------------ synth
    @property
    def stacks_dir(self) -> Path:
        return self.root / "stacks"

    def stack(self, orbit: str) -> Path:
        return self.stacks_dir / f"{orbit}.nc"

    @property
    def truth_dir(self) -> Path:
        return self.root / "truth"

    def truth(self, orbit: str) -> Path:
        """True LOS velocity and displacement of a synthetic track."""
        return self.truth_dir / f"{orbit}.nc"

    @property
    def terrain(self) -> Path:
        return self.truth_dir / "terrain.nc"

    @property
    def true_landslides(self) -> Path:
        return self.truth_dir / "landslides.geojson"

    @property
    def true_distractors(self) -> Path:
        return self.truth_dir / "distractors.geojson"

    @property
    def true_features(self) -> Path:
        return self.truth_dir / "features.geojson"

    @property
    def unwrapping_errors(self) -> Path:
        return self.truth_dir / "unwrapping_errors.csv"

    @property
    def synth_dir(self) -> Path:
        return self.root / "synth"

    @property
    def synth_manifest(self) -> Path:
        return self.synth_dir / "manifest.json"

    # ------------------------------------------------------------------------------- sbas
    @property
    def sbas_dir(self) -> Path:
        return self.root / "sbas"

    def deformation(self, orbit: str) -> Path:
        return self.sbas_dir / f"{orbit}.nc"

    def velocity(self, orbit: str) -> Path:
        """The mean-velocity COG of a track."""
        return self.sbas_dir / f"velocity_{orbit}.tif"

    def network(self, orbit: str) -> Path:
        return self.sbas_dir / f"network_{orbit}.csv"

    def sbas_summary(self, orbit: str) -> Path:
        return self.sbas_dir / f"{orbit}.json"

    def deformations(self) -> dict[str, Path]:
        """{orbit: Deformation file} of the tracks the SBAS stage wrote."""
        return {o: self.deformation(o) for o in ORBITS if self.deformation(o).exists()}

    # ------------------------------------------------------------------------------ tiles
    @property
    def tiles_dir(self) -> Path:
        return self.root / "tiles"

    def tileset(self, channels: str) -> Path:
        """The TileSet folder of one channel mode (``rendered`` or ``physical``)."""
        return self.tiles_dir / channels

    def tileset_layout(self, channels: str) -> TileSetLayout:
        """The paths inside the TileSet folder of one channel mode (:meth:`tileset`)."""
        return TileSetLayout(self.tileset(channels))

    @property
    def tiles_summary(self) -> Path:
        return self.tiles_dir / "summary.json"

    @property
    def survey(self) -> Path:
        return self.tiles_dir / "survey.csv"

    # --------------------------------------------------------------------------- training
    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    def model(self, run_key: str) -> ModelLayout:
        """The folder of a training run (``<model>_<channels>_<split>``, :attr:`DetectorRun.key`)."""
        return ModelLayout(self.models_dir / run_key)

    # -------------------------------------------------------------------------- inventory
    @property
    def detections_dir(self) -> Path:
        return self.root / "detections"

    def detections(self, model: str, orbit: str) -> Path:
        return self.detections_dir / f"{model}_{orbit}.gpkg"

    def detections_stamp(self, model: str, orbit: str) -> Path:
        return self.detections_dir / f"{model}_{orbit}.json"

    @property
    def inventory_dir(self) -> Path:
        return self.root / "inventory"

    def inventory(self, stem: str = "inventory", fmt: str = "gpkg") -> Path:
        """An inventory file: ``stem`` ``inventory`` (the detector's) or ``ada_inventory``."""
        return self.inventory_dir / f"{stem}.{fmt}"

    def objects(self, source: str, orbit: str) -> Path:
        """One orbit's objects before fusion (``source``: ``model`` or ``ada``)."""
        return self.inventory_dir / f"objects_{source}_{orbit}.gpkg"

    def reference(self, source: str) -> Path:
        """The reference inventory validated against one source, with ``detected`` per landslide."""
        return self.inventory_dir / f"reference_{source}.gpkg"

    @property
    def inventory_summary(self) -> Path:
        return self.inventory_dir / "summary.json"

    # ----------------------------------------------------------------------------- report
    @property
    def report_dir(self) -> Path:
        return self.root / "report"

    @property
    def reproduction_table(self) -> Path:
        return self.report_dir / "reproduction.csv"

    @property
    def report_summary(self) -> Path:
        return self.report_dir / "summary.json"

    # ------------------------------------------------------------------- notebooks, book
    @property
    def notebooks_dir(self) -> Path:
        return self.root / "notebooks"

    def notebook(self, stem: str) -> Path:
        return self.notebooks_dir / f"{stem}.ipynb"

    def failed_notebook(self, stem: str) -> Path:
        return self.notebooks_dir / f"{stem}.failed.ipynb"

    def notebook_stamp(self, stem: str) -> Path:
        return self.notebooks_dir / f"{stem}.stage.json"

    @property
    def book_src(self) -> Path:
        return self.root / "book_src"

    @property
    def book_dir(self) -> Path:
        return self.root / "book"

    @property
    def html(self) -> Path:
        return self.book_dir / "_build" / "html"


def as_layout(where) -> RunLayout:
    """A :class:`RunLayout` from a layout or a run folder path (for callers that hold a path)."""
    return where if isinstance(where, RunLayout) else RunLayout(Path(where))
