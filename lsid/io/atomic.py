"""Atomic writes: a killed run leaves either the old output or the new one, never half of one.

Every writer in lsid writes to a temporary name in the target's folder (``.<name>.tmp-<pid>``) and
renames it over the target only once the file is complete (``os.replace`` is atomic on POSIX within
one file system). Temporary files left behind by a killed process are removed by the next write of
the same target.

A write that fails because the disk is full (``ENOSPC`` / ``EDQUOT``, or a NetCDF / HDF / GDAL error
while the target's file system has less free space than the write needs) raises
:class:`lsid.errors.OutputError` "disk full: <folder> has N MB free; ..." instead of the library's
message (HDF5 says only "NetCDF: HDF error").
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
from pathlib import Path
from typing import Iterator

from lsid.errors import LsidError, OutputError
from lsid.io.temporaries import PATTERN as TEMPORARY
from lsid.io.temporaries import pid_alive, temporary_path

log = logging.getLogger(__name__)

#: A write that fails with a generic library error (HDF5, GDAL) while its file system has less free space
#: than this (or than the write's own estimate, when larger) is taken for a full disk, bytes.
LOW_SPACE_BYTES = 64 * 2**20
_DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT}
_DISK_FULL_TEXT = ("No space left on device", "Disk quota exceeded")


def free_bytes(folder: str | Path) -> int | None:
    """Free space (bytes, for this user) on the file system of ``folder`` (or its nearest existing
    parent); None when it cannot be told."""
    folder = Path(folder)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def _chain(exc: BaseException):
    """``exc`` and the exceptions it was raised from or while handling."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def disk_full_error(folder: str | Path, exc: BaseException, needed_bytes: int | None = None) -> OutputError | None:
    """The OutputError to raise instead of ``exc`` when a write into ``folder`` failed because the disk
    is full, else None: ``exc`` (or its cause) has errno ENOSPC / EDQUOT or says so, or it is an I/O or
    library error (OSError, RuntimeError: netCDF4 and HDF5 report a full disk as "NetCDF: HDF error")
    raised while the file system has less free space than ``needed_bytes`` (at least LOW_SPACE_BYTES).
    Call it before deleting the failed write's temporary file (which frees its space)."""
    if not isinstance(exc, Exception) or isinstance(exc, LsidError):
        return None
    free = free_bytes(folder)
    told = any(getattr(e, "errno", None) in _DISK_FULL_ERRNOS or any(t in str(e) for t in _DISK_FULL_TEXT)
               for e in _chain(exc))
    low = (free is not None and free < max(LOW_SPACE_BYTES, needed_bytes or 0)
           and isinstance(exc, (OSError, RuntimeError)))
    if not (told or low):
        return None
    room = f"{free / 2**20:.0f} MB free" if free is not None else "no free space"
    return OutputError(f"disk full: {Path(folder)} has {room}; free space or choose another --run-root "
                       f"(the write failed with {type(exc).__name__}: {exc})")


@contextlib.contextmanager
def disk_full_guard(folder: str | Path, needed_bytes: int | None = None) -> Iterator[None]:
    """Run a block of writes into ``folder``; a failure from a full disk is raised as OutputError
    "disk full: ..." (:func:`disk_full_error`), any other exception unchanged."""
    try:
        yield
    except Exception as exc:
        full = disk_full_error(folder, exc, needed_bytes)
        if full is None:
            raise
        raise full from exc


def ensure_writable_dir(folder: str | Path) -> Path:
    """Create ``folder`` if needed and check that files can be created in it.

    Raises
    ------
    OutputError : naming the folder, the reason and the fix.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = temporary_path(folder / "write-probe")  # lsid's temporary scheme: swept if a kill leaves it
        fd = os.open(probe, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        full = disk_full_error(folder, exc) if getattr(exc, "errno", None) in _DISK_FULL_ERRNOS else None
        if full is not None:
            raise full from None
        raise OutputError(
            f"cannot write in output folder {folder}: {exc.strerror or exc}. "
            f"Choose a folder you can write to (e.g. --run-root or run_root) or fix its permissions."
        ) from None
    return folder


def remove_stale_temporaries(target: str | Path) -> list[Path]:
    """Delete temporary files of ``target`` left by processes that no longer run; returns them."""
    target = Path(target)
    removed = []
    for tmp in target.parent.glob(f".{target.name}.tmp-*"):
        m = TEMPORARY.match(tmp.name)  # lsid.io.temporaries' scheme, extension or not
        if m is None or m["name"] != target.name:
            continue
        pid = int(m["pid"])
        if pid != os.getpid() and not pid_alive(pid):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
            log.info("removed %s, left by an interrupted run", tmp)
    return removed


@contextlib.contextmanager
def atomic_path(target: str | Path, needed_bytes: int | None = None) -> Iterator[Path]:
    """Context manager yielding a temporary path to write; renamed to ``target`` on success and
    deleted on any exception (the old ``target``, if any, is then left untouched). A failure from a
    full disk is raised as OutputError "disk full: ..." (:func:`disk_full_error`; ``needed_bytes``: what
    the write needs, when the writer can tell)."""
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
    except BaseException as exc:
        full = disk_full_error(target.parent, exc, needed_bytes)  # before the temporary's space is freed
        tmp.unlink(missing_ok=True)
        if full is not None:
            raise full from exc
        raise


def write_text(target: str | Path, text: str) -> Path:
    """Write a text file atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text)
    return Path(target)
