"""The one atomic-write helper (parcelwatch.atomic) and the writers that use it."""

from __future__ import annotations

import os
import stat
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import geopandas as gpd
import pytest

from parcelwatch import atomic
from parcelwatch.atomic import atomic_path, commit_file, staging_dir, write_text_atomic
from parcelwatch.errors import OutputError
from parcelwatch.maps.view import write_map_pages

NOW = datetime(2026, 11, 7, 9, 0, tzinfo=timezone(timedelta(hours=8)))


def _names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_write_replaces_the_file_and_leaves_nothing_else(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("old", encoding="utf-8")
    write_text_atomic(target, "新内容")
    assert target.read_text(encoding="utf-8") == "新内容"
    assert _names(tmp_path) == {"a.txt"}
    assert stat.S_IMODE(target.stat().st_mode) == 0o644  # shared outputs, not mkstemp's 0600


def test_a_failed_write_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "a.gpkg"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError, match="boom"), atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".gpkg" and not tmp.exists()
        tmp.write_text("half", encoding="utf-8")
        raise RuntimeError("boom")
    assert target.read_text(encoding="utf-8") == "old"
    assert _names(tmp_path) == {"a.gpkg"}


def test_nothing_written_is_an_error_not_an_empty_file(tmp_path: Path) -> None:
    target = tmp_path / "a.csv"
    with pytest.raises(OSError, match="nothing was written"), atomic_path(target):
        pass
    assert not target.exists() and _names(tmp_path) == set()


def test_the_file_is_synced_before_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fsync happens on the temporary file, and only then os.replace (order recorded)."""
    calls: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: (calls.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(
        atomic.os, "replace", lambda a, b: (calls.append("replace"), real_replace(a, b))[1]
    )
    write_text_atomic(tmp_path / "a.txt", "x")
    assert calls[:2] == ["fsync", "replace"]


def test_staging_dir_and_commit_file(tmp_path: Path) -> None:
    target = tmp_path / "out.shp"
    with staging_dir(target) as tmp:
        (tmp / "export.shp").write_bytes(b"shp")
        commit_file(tmp / "export.shp", target)
    assert target.read_bytes() == b"shp"
    assert _names(tmp_path) == {"out.shp"}  # the staging folder is gone


def test_map_page_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The battle map had no atomic write: a failure while writing left a cut page. Now the old
    page stays and the error names the map (fails before: the page was written in place)."""
    out = tmp_path / "map.html"
    out.write_text("<html>old</html>", encoding="utf-8")
    view = gpd.GeoDataFrame({"problem_id": [], "status": []}, geometry=[], crs=4490)

    def disk_full(path: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(atomic, "_fsync_file", disk_full)
    with pytest.raises(OutputError, match="Cannot write the map"):
        write_map_pages(
            view,
            out,
            county_name="禾丰县",
            farmland_codes=("0101",),
            today=date(2026, 11, 7),
            now=NOW,
        )
    assert out.read_text(encoding="utf-8") == "<html>old</html>"
    assert _names(tmp_path) == {"map.html"}
