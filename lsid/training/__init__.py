"""Training of the detectors, organised as torchvision's detection references.

- :mod:`lsid.training.data`: one split of a TileSet as a Dataset (:class:`TileDataset`), ``collate``,
  ``channel_stats``;
- :mod:`lsid.training.checkpoints`: atomic checkpoints, checked reads, the model of a checkpoint,
  RNG state;
- :mod:`lsid.training.engine`: ``train_one_epoch``, ``evaluate`` (validation mAP), ``predict``, the
  warm-up schedule;
- :mod:`lsid.training.fit`: :class:`TrainConfig`, :func:`fit` (a whole run, resumable, DDP) and the
  ``python -m lsid.train`` command;
- :mod:`lsid.training.stage`: the study's training stage (every run of an AOI's ``training``
  section, cached, scored on its test split); :mod:`lsid.training.tables`: the book's tables (pandas).

Importing this package needs only torch, torchvision, numpy, Pillow and tqdm. The stage and the
tables are not imported here: the training code key (``code_digest("lsid.training.fit")``) follows
the training code, not the study's configuration or book tables.
"""

from lsid.training.checkpoints import TrainingError, load_checkpoint, model_from_checkpoint, save
from lsid.training.data import TileDataset, channel_stats, collate
from lsid.training.engine import LOSS_KEYS, evaluate, predict, train_one_epoch
from lsid.training.fit import TrainConfig, fit, main

__all__ = ["TrainingError", "load_checkpoint", "model_from_checkpoint", "save", "TileDataset", "channel_stats",
           "collate", "LOSS_KEYS", "evaluate", "predict", "train_one_epoch", "TrainConfig", "fit", "main"]
