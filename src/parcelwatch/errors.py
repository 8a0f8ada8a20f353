"""One exception hierarchy for parcelwatch.

Every error raised on purpose derives from :class:`ParcelwatchError` and from the built-in it
resembles, so ``except OSError`` and ``except ValueError`` keep working for callers who do not know
about parcelwatch. Messages say what failed, where (file, layer, row/feature id, field) and the fix.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "ParcelwatchError",
    "InputError",
    "EncodingError",
    "SchemaError",
    "GeometryError",
    "CRSError",
    "ConfigError",
    "OutputError",
    "LedgerError",
    "StatusTransitionError",
    "LedgerConflictError",
    "LedgerBusyError",
    "LedgerPermissionError",
    "NotInTownshipError",
    "ImageryError",
    "ReferenceStoreError",
    "DataQualityWarning",
    "format_problems",
]


class ParcelwatchError(Exception):
    """Base class of every error parcelwatch raises on purpose."""


class InputError(ParcelwatchError, OSError):
    """A file cannot be found, opened or read, or holds nothing usable."""


class EncodingError(ParcelwatchError, UnicodeError):
    """The text encoding of a file cannot be decided or does not decode."""


class SchemaError(ParcelwatchError, ValueError):
    """A required field is missing, or field values are unusable (duplicate ids, bad codes)."""


class GeometryError(ParcelwatchError, ValueError):
    """Null, empty, unrepairable or wrongly typed geometries."""


class CRSError(ParcelwatchError, ValueError):
    """A coordinate reference system is missing, wrong, or unsuitable for the operation."""


class ConfigError(ParcelwatchError, ValueError):
    """The rules file is malformed, has an unknown key or an invalid value."""


class OutputError(ParcelwatchError, OSError):
    """An output cannot be written."""


class DataQualityWarning(UserWarning):
    """Data were usable but something about them deserves a look (repairs, guesses, offsets)."""


def format_problems(head: str, problems: Sequence[str], *, fix: str = "", limit: int = 5) -> str:
    """Join a headline, the first ``limit`` problems and a fix into one message.

    >>> print(format_problems("2 bad rows", ["row 1", "row 2"], fix="Fix them."))
    2 bad rows:
      - row 1
      - row 2
    Fix them.
    """
    lines = [head + ":"] if problems else [head]
    lines += [f"  - {p}" for p in problems[:limit]]
    if len(problems) > limit:
        lines.append(f"  ... and {len(problems) - limit} more")
    if fix:
        lines.append(fix)
    return "\n".join(lines)


class LedgerError(ParcelwatchError, RuntimeError):
    """The ledger (台账) cannot do what was asked: a missing workspace or problem, a bad change."""


class StatusTransitionError(LedgerError, ValueError):
    """A status change that the transition table does not allow, or whose requirements are unmet."""


class LedgerConflictError(LedgerError):
    """A problem was changed by someone else since it was read (optimistic version check)."""


class LedgerBusyError(LedgerError):
    """The ledger is locked by another writer longer than the lock timeout; run the command again."""


class LedgerPermissionError(LedgerError, PermissionError):
    """The database login may not do this (read-only user, column or row not granted)."""


class NotInTownshipError(LedgerPermissionError):
    """The problem exists but belongs to a township outside the user's scope."""


class ImageryError(ParcelwatchError, OSError):
    """An image cannot be opened or used (no CRS, missing bands, mismatched before/after pair)."""


class ReferenceStoreError(ParcelwatchError, OSError):
    """The workspace's registered reference layers are missing, moved or damaged (the message
    names the ``parcelwatch reference add`` command that rebuilds them)."""
