"""``python -m lsid.train``: train one detector on a TileSet (see :mod:`lsid.training.fit`)."""

from lsid.training.fit import main

if __name__ == "__main__":
    raise SystemExit(main())
