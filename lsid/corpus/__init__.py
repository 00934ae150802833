"""The pretraining corpus: many randomised synthetic areas, each through the real chain (lsid.synth →
SBAS → maps at the model's pixel size → labelled tiles), from seeds that no AOI file uses.

- :mod:`lsid.corpus.ranges`: the documented ranges every area's parameters are drawn from;
- :mod:`lsid.corpus.area`: one area, from its seed to its tiles, truth and maps;
- :mod:`lsid.corpus.build`: the whole corpus, resumable and parallel, with its manifest.
"""
