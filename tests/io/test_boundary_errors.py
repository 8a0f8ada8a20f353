"""Errors at the boundary: a bad file is the user's problem (InputError, exit 1); an error that
is not the file's (a bug in our code or a library's) is not disguised as one (exit 3).

Before issue 17 these readers caught ``Exception``, so a bug inside the read was reported as
"the file may be incomplete or corrupt" with exit 1; these tests fail on that code."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from parcelwatch.cli import main
from parcelwatch.errors import InputError
from parcelwatch.io.clues import read_clues
from parcelwatch.io.layers import load_layer
from parcelwatch.maps.view import geotiff_basemap


def _gpkg(tmp_path: Path) -> Path:
    path = tmp_path / "a.gpkg"
    gpd.GeoDataFrame(
        {"监测编号": ["1"]}, geometry=[shapely.box(113.6, 35.2, 113.61, 35.21)], crs=4490
    ).to_file(path, driver="GPKG")
    return path


def test_a_corrupt_file_is_an_input_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gpkg"
    bad.write_bytes(b"this is not a GeoPackage")
    with pytest.raises(InputError, match="bad.gpkg"):
        load_layer(bad, strict=False, warn=False)


def test_a_bug_inside_the_read_is_not_called_a_bad_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _gpkg(tmp_path)

    def buggy(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(pyogrio, "read_dataframe", buggy)
    with pytest.raises(ZeroDivisionError):
        load_layer(path, strict=False, warn=False)


def test_the_cli_exits_1_for_a_bad_file_and_3_for_a_bug(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "bad.gpkg"
    bad.write_bytes(b"this is not a GeoPackage")
    assert main(["inspect", str(bad)]) == 1
    good = _gpkg(tmp_path)

    def buggy(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(pyogrio, "read_dataframe", buggy)
    assert main(["inspect", str(good)]) == 3


def test_a_bad_excel_file_is_an_input_error(tmp_path: Path) -> None:
    bad = tmp_path / "线索.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InputError, match="线索.xlsx"):
        read_clues(bad)


def test_a_bad_basemap_image_is_an_input_error(tmp_path: Path) -> None:
    bad = tmp_path / "底图.tif"
    bad.write_bytes(b"II*\x00 broken")
    with pytest.raises(InputError, match="底图.tif"):
        geotiff_basemap(bad)
