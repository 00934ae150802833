"""The built-in synthetic area of interest: a physically grounded Sentinel-1 stack over an
Ahai-like valley, with known truth.

Main entry points: :func:`generate` (write everything for an AOI), :class:`Scene` (terrain and
sources in memory), :class:`OrbitSimulator` (interferograms of one track), :func:`stack_dataset`
(a lazy Stack).
"""

from lsid.synth.generate import generate, is_complete, output_paths
from lsid.synth.interferograms import OrbitSimulator
from lsid.synth.products import stack_dataset, truth_dataset
from lsid.synth.scene import Scene

__all__ = ["generate", "is_complete", "output_paths", "OrbitSimulator", "Scene", "stack_dataset", "truth_dataset"]
