"""One run at a time in a run folder: an advisory file lock (filelock) held by ``lsid run`` and
``lsid synth`` while they write there.

Two runs writing one folder at once would interleave their products (duplicated rows of a training
history, a TileSet renamed under a reader). The lock is the operating system's (``fcntl`` on POSIX):
it is released when its holder ends, even when killed, so a stale lock never blocks a folder. Who
holds it (process id, command, start time) is written beside it, for the message the second run gets.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Iterator

from lsid.errors import LsidError

#: Names of the lock file and of its holder's record in the run folder (hidden: not products).
LOCK_NAME = ".lsid.lock"
HOLDER_NAME = ".lsid.lock.json"


#: Run folders this process holds the lock of (the lock is re-entrant within a process).
_HELD: set[Path] = set()


class RunFolderLocked(LsidError, RuntimeError):
    """Another lsid process is writing the run folder."""


def holder(folder: str | Path) -> dict:
    """The record of the process holding (or that last held) ``folder``'s lock: pid, command, since."""
    try:
        return json.loads((Path(folder) / HOLDER_NAME).read_text())
    except (OSError, ValueError):
        return {}


@contextlib.contextmanager
def run_lock(folder: str | Path, wait: bool = False, command: str | None = None) -> Iterator[Path]:
    """Hold ``folder``'s lock for the ``with`` block.

    ``wait``: wait for the holder to finish; otherwise raise :class:`RunFolderLocked` at once, naming
    the holder's process id and command and what to do. ``command``: what this process records as its
    command (default: its command line).
    """
    from filelock import FileLock, Timeout

    folder = Path(folder).resolve()
    if folder in _HELD:  # this process holds it already (lsid run calling a stage that locks): go on
        yield folder
        return
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(folder / LOCK_NAME))
    try:
        lock.acquire(timeout=-1 if wait else 0)
    except Timeout:
        h = holder(folder)
        who = f"process {h.get('pid', '?')} ({h.get('command', 'unknown command')}, since {h.get('since', '?')})"
        raise RunFolderLocked(f"{folder} is being written by another lsid run: {who}. Wait for it to finish "
                              f"(or pass --wait to queue behind it), stop it, or use another --run-root") from None
    _HELD.add(folder)
    try:
        record = {"pid": os.getpid(), "command": command or " ".join(sys.argv),
                  "since": dt.datetime.now().isoformat(timespec="seconds")}
        (folder / HOLDER_NAME).write_text(json.dumps(record))
        yield folder
    finally:
        _HELD.discard(folder)
        (folder / HOLDER_NAME).unlink(missing_ok=True)
        lock.release()
