"""Digests that tell a stage whether its outputs are still up to date: parameters, inputs and code."""

from __future__ import annotations

import hashlib
from pathlib import Path


def source_digest(*packages: str) -> str:
    """SHA-256 of the source files of lsid sub-packages or modules (e.g. ``"lsid.sbas"``), so that a
    stage reruns when the code that makes its outputs changes, not only its parameters."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for name in packages:
        rel = Path(*name.split(".")[1:])
        target = root / rel
        files = sorted(target.rglob("*.py")) if target.is_dir() else [target.with_suffix(".py")]
        for f in files:
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()
