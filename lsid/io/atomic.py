"""Atomic writes: a killed run leaves either the old output or the new one, never half of one.

Every writer in lsid writes to a temporary name in the target's folder (``.<name>.tmp-<pid>``) and
renames it over the target only once the file is complete (``os.replace`` is atomic on POSIX within
one file system). Temporary files left behind by a killed process are removed by the next write of
the same target.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from pathlib import Path
from typing import Iterator

from lsid.errors import OutputError

log = logging.getLogger(__name__)


def ensure_writable_dir(folder: str | Path) -> Path:
    """Create ``folder`` if needed and check that files can be created in it.

    Raises
    ------
    OutputError : naming the folder, the reason and the fix.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".lsid-write-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(
            f"cannot write in output folder {folder}: {exc.strerror or exc}. "
            f"Choose a folder you can write to (e.g. --run-root or run_root) or fix its permissions."
        ) from None
    return folder


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(target: str | Path) -> list[Path]:
    """Delete temporary files of ``target`` left by processes that no longer run; returns them."""
    target = Path(target)
    removed = []
    for tmp in target.parent.glob(f".{target.name}.tmp-*"):
        try:
            pid = int(tmp.name.rsplit("-", 1)[1])
        except ValueError:
            continue
        if pid != os.getpid() and not _pid_alive(pid):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
            log.info("removed %s, left by an interrupted run", tmp)
    return removed


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Context manager yielding a temporary path to write; renamed to ``target`` on success and
    deleted on any exception (the old ``target``, if any, is then left untouched)."""
    target = Path(target)
    ensure_writable_dir(target.parent)
    remove_stale_temporaries(target)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    tmp.unlink(missing_ok=True)
    try:
        yield tmp
        if not tmp.exists():
            raise OutputError(f"writer produced no file for {target}")
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(target: str | Path, text: str) -> Path:
    """Write a text file atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text)
    return Path(target)
