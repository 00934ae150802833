"""One naming scheme for every temporary file and folder lsid writes, and the sweep that removes those
a killed process left behind.

Scheme: ``.<name>.tmp-<pid>`` or ``.<name>.tmp-<pid>.<ext>`` (an extension a writer's driver needs,
e.g. GDAL's ``.gpkg`` or papermill's ``.ipynb``), in the folder of the file it becomes: hidden, so
that no reader that lists a folder's products picks it up (the book builder skips hidden files too),
and carrying the writer's process id, so that the sweep can tell a live writer's temporary (left
alone) from a dead one's (removed). ``lsid run`` sweeps the run folder at the start of every stage.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

log = logging.getLogger(__name__)

#: A temporary's name: ``.<name>.tmp-<pid>`` with an optional ``.<ext>``.
PATTERN = re.compile(r"^\.(?P<name>.+)\.tmp-(?P<pid>\d+)(?P<ext>\.[A-Za-z0-9]+)?$")


def temporary_path(target: str | Path, ext: str = "", pid: int | None = None) -> Path:
    """The temporary path of ``target`` for this process (``ext``: an extension kept at the end, with
    its dot, for writers that choose their format by it)."""
    target = Path(target)
    return target.parent / f".{target.name}.tmp-{os.getpid() if pid is None else pid}{ext}"


def is_temporary(path: str | Path) -> bool:
    """True when ``path``'s name follows the scheme."""
    return PATTERN.match(Path(path).name) is not None


def pid_alive(pid: int) -> bool:
    """True when a process with this id runs (or cannot be signalled: another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep(folder: str | Path) -> list[Path]:
    """Remove, under ``folder`` (recursively), every temporary file or folder whose writer no longer
    runs; returns what was removed. Temporaries of this process and of live ones stay."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    removed = []
    for root, dirs, files in os.walk(folder):
        for name in list(dirs) + files:
            m = PATTERN.match(name)
            if not m:
                continue
            pid = int(m["pid"])
            if pid == os.getpid() or pid_alive(pid):
                continue
            p = Path(root) / name
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
                dirs.remove(name)
            else:
                p.unlink(missing_ok=True)
            removed.append(p)
            log.info("removed %s, left by an interrupted run (process %d)", p, pid)
    return removed
