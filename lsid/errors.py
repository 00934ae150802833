"""Exceptions lsid raises for bad input. Every message names the file or key, the problem and the fix."""

from __future__ import annotations


class LsidError(Exception):
    """Base class of all lsid errors."""


class ConfigError(LsidError, ValueError):
    """An area-of-interest (AOI) file or a parameter is invalid (unknown key, out-of-range value,
    unknown profile)."""


class OutputError(LsidError, OSError):
    """An output location cannot be written (missing permission, not a folder, disk full)."""


class InputDataError(LsidError, ValueError):
    """An input data file is missing, corrupt or does not follow the expected contract."""


class InputWarning(UserWarning):
    """An input's values look implausible (an undeclared no-data value, a unit that does not fit the
    statistics, a suspicious grid) but could still be right: lsid reads them as they are and says why
    and how to fix it. Turn these into errors with ``warnings.simplefilter("error", InputWarning)``."""


#: How many items a message lists before it says how many more there are.
MESSAGE_ITEMS = 8


def first_of(names, limit: int = MESSAGE_ITEMS) -> str:
    """``names`` for a message: the first ``limit``, comma-separated, then "and N more"."""
    names = [str(n) for n in names]
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")
