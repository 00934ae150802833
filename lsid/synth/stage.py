"""The synth stage: a synthetic area's Stacks and truth (:func:`lsid.synth.generate.generate`).

Inputs: the AOI's ``seed`` and ``synth`` section. Outputs: ``stacks/``, ``truth/`` and
``synth/manifest.json`` (:class:`lsid.layout.RunLayout`). Cache key: the seed, the synth parameters
and the generator's code; a real area (``synthetic: false``) has nothing to generate.
"""

from __future__ import annotations

import json

from lsid.config import AOIConfig
from lsid.errors import InputDataError
from lsid.layout import RunLayout


def run(cfg: AOIConfig, layout: RunLayout, *, force: bool = False, progress: bool = False) -> dict:
    """Generate the area unless a complete generation of the same parameters and code is there;
    returns the manifest (``{}`` for a real area)."""
    if not cfg.synthetic:
        return {}
    from lsid.synth.generate import generate

    generate(cfg, layout, force=force, progress=progress)
    return load(layout)


def load(layout: RunLayout) -> dict:
    """The manifest of the generation in ``layout`` (parameters, files, pairs and dates per track)."""
    if not layout.synth_manifest.exists():
        raise InputDataError(f"{layout.synth_manifest}: no synthetic area here; run the synth stage first "
                             f"(lsid synth --aoi ...)")
    return json.loads(layout.synth_manifest.read_text())
