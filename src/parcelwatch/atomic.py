"""Atomic file writes: the one way parcelwatch replaces a file.

Whatever is written goes to a temporary file in the target's folder (same disk), is flushed to
disk (``fsync``) and then renamed over the target (``os.replace``, atomic on POSIX and Windows).
A failed or interrupted write leaves the previous file as it was and no temporary file behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path", "commit_file", "staging_dir", "write_bytes_atomic", "write_text_atomic"]


def _fsync_file(path: Path) -> None:
    with path.open("rb") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX; Windows has no directory handles to sync)."""
    flag = getattr(os, "O_DIRECTORY", None)
    if flag is None:
        return
    fd = os.open(folder, os.O_RDONLY | flag)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit_file(tmp: str | Path, target: str | Path, *, mode: int | None = 0o644) -> Path:
    """Sync the finished file ``tmp`` (in ``target``'s folder), give it ``mode`` (``None``: keep)
    and rename it over ``target``. For writers that stage several files (a shapefile's parts)."""
    tmp, target = Path(tmp), Path(target)
    _fsync_file(tmp)
    if mode is not None:
        os.chmod(tmp, mode)  # mkstemp makes files private; outputs are for sharing
    os.replace(tmp, target)
    _fsync_dir(target.parent)
    return target


@contextmanager
def atomic_path(path: str | Path, *, mode: int = 0o644) -> Iterator[Path]:
    """A temporary path beside ``path`` for a writer that takes a file name (GDAL, xlsxwriter,
    sqlite3, parquet). The temporary file does not exist yet and has ``path``'s suffix (drivers
    choose by it). When the block ends without an error it is synced, given ``mode`` and renamed
    over ``path``; otherwise it is removed and ``path`` is untouched. Raises :class:`OSError`;
    callers turn it into the error that names what they were writing.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=target.suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    tmp.unlink()  # writers such as GDAL refuse an existing empty file
    try:
        yield tmp
        if not tmp.exists():
            raise OSError(f"nothing was written to {target}")
        commit_file(tmp, target, mode=mode)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes_atomic(path: str | Path, data: bytes, *, mode: int = 0o644) -> Path:
    """Replace ``path`` with ``data`` atomically (see :func:`atomic_path`)."""
    target = Path(path)
    with atomic_path(target, mode=mode) as tmp:
        tmp.write_bytes(data)
    return target


def write_text_atomic(
    path: str | Path, text: str, *, encoding: str = "utf-8", mode: int = 0o644
) -> Path:
    """Replace ``path`` with ``text`` atomically (see :func:`atomic_path`)."""
    return write_bytes_atomic(path, text.encode(encoding), mode=mode)


@contextmanager
def staging_dir(target: str | Path) -> Iterator[Path]:
    """A temporary folder beside ``target`` for writers that produce several files (a shapefile
    and its sidecars); move each finished file into place with :func:`commit_file`. The folder is
    removed afterwards whatever happened."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.stem}-", dir=target.parent))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
