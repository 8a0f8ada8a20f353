"""Issue 18 points 7, 8, 9, 14: broken input layers are bad input named by file and feature, in
parcelwatch's words (no GEOSException, no raw GDAL lines, no 300-digit numbers)."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from parcelwatch.errors import EncodingError, GeometryError, InputError
from parcelwatch.io.layers import load_layer
from tests.conftest import X0, Y0, write_shapefile


def layer(tmp_path: Path, geoms: list, name: str = "p.gpkg") -> Path:
    g = gpd.GeoDataFrame(
        {"JCBH": [f"Q{i}" for i in range(len(geoms))], "XZQMC": ["禾丰镇"] * len(geoms)},
        geometry=geoms,
        crs=4549,
    )
    path = tmp_path / name
    pyogrio.write_dataframe(g, path)
    return path


GOOD = shapely.box(X0, Y0, X0 + 10, Y0 + 10)


@pytest.mark.parametrize(
    ("bad", "shown"),
    [
        (float("nan"), "x=nan"),
        (float("inf"), "x=inf"),
        (-float("inf"), "x=-inf"),
        (1e300, "x=1e+300"),
    ],
)
def test_non_finite_or_absurd_coordinates_name_file_and_feature(tmp_path, bad, shown):
    """Before: GEOSException (NaN/inf) or a CRS message printing a 301-digit x (1e300)."""
    path = layer(tmp_path, [GOOD, shapely.Polygon([(X0, Y0), (bad, Y0), (X0 + 5, Y0 + 5)])])
    with pytest.raises(GeometryError) as err:
        load_layer(path, role="parcels")
    msg = str(err.value)
    assert str(path) in msg and "feature FID 1 (JCBH Q1)" in msg and shown in msg
    assert "0000000000" not in msg


def test_absurd_coordinates_of_the_whole_layer_are_in_scientific_notation(tmp_path):
    from pyproj import CRS

    from parcelwatch.crs import check_coordinates
    from parcelwatch.errors import CRSError

    with pytest.raises(CRSError) as err:
        check_coordinates((1e300, 0.0, 1e300, 1.0), CRS.from_epsg(4549), where="p.shp")
    assert "1.000e+300" in str(err.value) and "0000000000" not in str(err.value)


def test_3d_input_is_stored_2d_with_a_notice(tmp_path):
    path = layer(
        tmp_path, [shapely.Polygon([(X0, Y0, 5), (X0 + 10, Y0, 5), (X0 + 10, Y0 + 10, 7)])]
    )
    with pytest.warns(UserWarning, match="3D coordinates"):
        loaded = load_layer(path, role="parcels")
    assert not loaded.frame.has_z.any()
    assert any("3D coordinates" in w and "dropped" in w for w in loaded.report.warnings)
    assert list(shapely.get_coordinates(loaded.frame.geometry.values[0])[0]) == [X0, Y0]


def _gbk_with_one_utf8_record(tmp_path: Path) -> Path:
    """Four records written in GBK with a .cpg saying GBK; record 3's 乡镇 rewritten in UTF-8."""
    g = gpd.GeoDataFrame({"JCBH": ["Q1", "Q2", "Q3", "Q4"], "XZQMC": ["禾丰镇", "东河乡", "禾丰镇", "禾丰镇"]},
                         geometry=[shapely.box(X0 + 20 * i, Y0, X0 + 20 * i + 10, Y0 + 10) for i in range(4)], crs=4549)  # fmt: skip
    path = write_shapefile(g, tmp_path / "mixed.shp", encoding="GBK", cpg=True)
    dbf = path.with_suffix(".dbf")
    data = bytearray(dbf.read_bytes())
    _n, header_len, record_len = struct.unpack("<IHH", data[4:12])
    offset, pos = 1, 32
    while data[pos] != 0x0D:
        if bytes(data[pos : pos + 11]).split(b"\0")[0] == b"XZQMC":
            start, width = offset, data[pos + 16]
        offset += data[pos + 16]
        pos += 32
    at = header_len + 2 * record_len + start
    data[at : at + width] = "柳湾镇".encode().ljust(width, b" ")
    dbf.write_bytes(bytes(data))
    return path


def test_mixed_gbk_and_utf8_records_are_named(tmp_path):
    """Before: record 3 loaded silently as the township "鏌虫咕闀?"."""
    path = _gbk_with_one_utf8_record(tmp_path)
    with pytest.raises(EncodingError) as err:
        load_layer(path, role="parcels")
    msg = str(err.value)
    assert (
        "record 3 field XZQMC is UTF-8 ('柳湾镇')" in msg and "鏌虫咕" in msg and str(path) in msg
    )
    assert "record 1" not in msg and "record 2" not in msg


def test_a_clean_gbk_file_is_not_flagged(tmp_path, gk_parcels):
    path = write_shapefile(gk_parcels(6), tmp_path / "clean.shp", encoding="GBK", cpg=True)
    assert list(load_layer(path, role="parcels").frame["township_name"])[:3] == [
        "禾丰镇",
        "东河乡",
        "柳湾镇",
    ]


def _truncated(tmp_path: Path) -> Path:
    g = gpd.GeoDataFrame({"JCBH": [f"Q{i}" for i in range(40)], "XZQMC": ["禾丰镇"] * 40},
                         geometry=[shapely.box(X0 + 20 * i, Y0, X0 + 20 * i + 10, Y0 + 10) for i in range(40)], crs=4549)  # fmt: skip
    path = write_shapefile(g, tmp_path / "cut.shp", encoding="UTF-8", cpg=True)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2 + 37])
    return path


def test_truncated_shapefile_is_said_in_our_words(tmp_path):
    path = _truncated(tmp_path)
    with pytest.raises(
        InputError, match=r"incomplete: cut.shp has \d+ of the \d+ bytes its header declares"
    ):
        load_layer(path, role="parcels")


def test_truncated_shapefile_in_check_prints_no_raw_gdal_lines(tmp_path):
    """Before: one "ERROR 1: Error in fread() ..." line per lost record on stderr (check reads
    layers in worker threads, outside pyogrio's error handler)."""
    path = _truncated(tmp_path)
    ws = tmp_path / "ws"
    run = [sys.executable, "-m", "parcelwatch"]
    assert (
        subprocess.run(
            [*run, "init", str(ws), "--county-code", "370790"], capture_output=True
        ).returncode
        == 0
    )
    out = subprocess.run(
        [*run, "check", str(ws), "--batch", "b1", "--parcels", str(path), "--user", "u"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 1, out.stderr
    assert "ERROR 1" not in out.stderr and "fread" not in out.stderr
    assert "is incomplete" in out.stderr and "Traceback" not in out.stderr
