"""Encoding is decided before reading: .cpg -> LDID -> strict UTF-8 -> GB18030."""

from __future__ import annotations

import zipfile

import pytest

from parcelwatch.errors import EncodingError
from parcelwatch.io.encoding import detect_shapefile_encoding, normalise_codec
from parcelwatch.io.layers import load_layer
from tests.conftest import write_shapefile


def test_gbk_without_cpg_is_gb18030_and_reads_intact(tmp_path, gk_parcels):
    path = write_shapefile(gk_parcels(), tmp_path / "卫片.shp", encoding="GBK", cpg=False, ldid=0)
    decision = detect_shapefile_encoding(path)
    assert decision.encoding == "gb18030"
    assert decision.source == "gb18030 fallback"
    frame = load_layer(path, role="parcels").frame
    assert list(frame["township_name"]) == ["禾丰镇", "东河乡", "柳湾镇"]
    assert frame["parcel_id"].iloc[0] == "3707902026Q001"


def pinyin(gdf):
    """UTF-8 DBF field names hold only 3 Chinese characters, so UTF-8 deliveries use pinyin."""
    return gdf.rename(columns={"监测编号": "JCBH", "行政区名称": "XZQMC", "监测面积": "JCMJ"})


def test_cpg_wins(tmp_path, gk_parcels):
    path = write_shapefile(
        pinyin(gk_parcels()), tmp_path / "p.shp", encoding="UTF-8", cpg=False, ldid=0x4D
    )
    path.with_suffix(".cpg").write_text("UTF-8")
    decision = detect_shapefile_encoding(path)
    assert (decision.encoding, decision.source) == ("utf-8", "cpg")
    assert load_layer(path, role="parcels").frame["township_name"].iloc[1] == "东河乡"


def test_cpg_936(tmp_path, gk_parcels):
    path = write_shapefile(gk_parcels(), tmp_path / "p.shp", encoding="GBK", cpg=False)
    path.with_suffix(".cpg").write_text("936\n")
    assert detect_shapefile_encoding(path).encoding == "gb18030"


def test_ldid_936_decides(tmp_path, gk_parcels):
    path = write_shapefile(gk_parcels(), tmp_path / "p.shp", encoding="GBK", cpg=False, ldid=0x4D)
    decision = detect_shapefile_encoding(path)
    assert (decision.encoding, decision.source) == ("gb18030", "ldid")


def test_utf8_without_cpg_detected(tmp_path, gk_parcels):
    path = write_shapefile(
        pinyin(gk_parcels()), tmp_path / "p.shp", encoding="UTF-8", cpg=False, ldid=0
    )
    decision = detect_shapefile_encoding(path)
    assert (decision.encoding, decision.source) == ("utf-8", "utf-8 check")
    assert load_layer(path, role="parcels").frame["township_name"].iloc[2] == "柳湾镇"


def test_ansi_ldid_with_chinese_text_falls_back_to_gb18030(tmp_path, gk_parcels):
    """ArcGIS on a Chinese system writes LDID 0x57 ("ANSI") on GBK text; cp1252 would be mojibake."""
    path = write_shapefile(gk_parcels(), tmp_path / "p.shp", encoding="GBK", cpg=False, ldid=0x57)
    decision = detect_shapefile_encoding(path)
    assert decision.encoding == "gb18030"
    assert "0x57" in decision.detail


def test_zipped_gbk_shapefile(tmp_path, gk_parcels):
    path = write_shapefile(gk_parcels(), tmp_path / "src" / "卫片.shp", encoding="GBK", cpg=False)
    archive = tmp_path / "delivery.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in path.parent.iterdir():
            zf.write(f, f.name)
    assert detect_shapefile_encoding(archive).encoding == "gb18030"
    loaded = load_layer(archive, role="parcels")
    assert loaded.frame["township_name"].iloc[0] == "禾丰镇"
    assert loaded.report.encoding.source == "gb18030 fallback"


def test_user_encoding_overrides(tmp_path, gk_parcels):
    path = write_shapefile(gk_parcels(), tmp_path / "p.shp", encoding="GBK", cpg=False)
    loaded = load_layer(path, role="parcels", encoding="GBK")
    assert loaded.report.encoding.source == "user"
    assert loaded.frame["township_name"].iloc[0] == "禾丰镇"


def test_unknown_codec_is_clear():
    with pytest.raises(EncodingError, match="Unknown text encoding 'klingon'"):
        normalise_codec("klingon")
