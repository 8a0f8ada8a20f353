"""Vector exports read back by independent readers and compared with the ledger.

Readers: pyogrio/GDAL with an explicit encoding, the DBF header bytes, sqlite3 (GeoPackage
aliases), :mod:`json` (GeoJSON), :mod:`csv` (CSV) and :mod:`xml.etree` / :mod:`zipfile` (KML, KMZ).
"""

from __future__ import annotations

import csv
import json
import sqlite3
import struct
import xml.etree.ElementTree as ET
import zipfile
from datetime import date
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from pyproj import CRS

from parcelwatch.crs import ellipsoidal_area_m2
from parcelwatch.errors import OutputError, SchemaError
from parcelwatch.exports import Filters, select_problems
from parcelwatch.exports.fields import EXPORT_FIELDS
from parcelwatch.exports.layers import (
    SHP_TEXT_BYTES,
    kml_color,
    write_csv,
    write_kml,
    write_kmz,
    write_shapefile,
)
from parcelwatch.labels import STATUS_STYLE
from parcelwatch.ledger.model import ProblemRecord, Status, class_label
from parcelwatch.pipeline import export
from parcelwatch.units import m2_to_mu
from tests.exports.conftest import TODAY, Exported

KML = "{http://www.opengis.net/kml/2.2}"
SHP_CODES = {f.key: f.code for f in EXPORT_FIELDS if f.shp}


def mu(m2: float | None) -> float:
    return round(float(m2_to_mu(m2 or 0.0)), 2)


def dbf_field_names(dbf: Path) -> list[bytes]:
    """Field names straight from the DBF header (32-byte descriptors after a 32-byte header)."""
    data = dbf.read_bytes()
    header_len = struct.unpack("<H", data[8:10])[0]
    names = []
    for off in range(32, header_len - 1, 32):
        if data[off] == 0x0D:
            break
        names.append(data[off : off + 11].split(b"\x00")[0])
    return names


# ------------------------------------------------------------------------------------------
# select_problems (hand-made records; the answers are in the docstrings)


def _rec(pid: str, **kw: object) -> ProblemRecord:
    return ProblemRecord(problem_id=pid, **kw)  # type: ignore[arg-type]


def test_select_problems_filters_combine() -> None:
    """A: 整改中 class I in 禾丰镇 batch 1, overdue; B: 未核查 candidate II; C: 已销号 conversion."""
    a = _rec(
        "A",
        status=Status.RECTIFYING,
        confirmed_class="I",
        candidate_class="II",
        township_name="禾丰镇",
        township_code="370790100",
        batches=("b1",),
        deadline=date(2026, 1, 1),
    )
    b = _rec(
        "B",
        status=Status.UNVERIFIED,
        candidate_class="II",
        township_name="东河乡",
        batches=("b1", "b2"),
    )
    c = _rec(
        "C",
        status=Status.CLOSED,
        confirmed_class="conversion",
        township_name="东河乡",
        batches=("b2",),
        deadline=date(2026, 1, 1),
    )
    recs = [a, b, c]
    ids = lambda rs: [r.problem_id for r in rs]  # noqa: E731
    assert ids(select_problems(recs)) == ["A", "B", "C"]
    assert ids(select_problems(recs, statuses=["整改中", "已销号"])) == ["A", "C"]
    assert ids(select_problems(recs, classes=["II"])) == [
        "B"
    ]  # A's confirmed class wins over its candidate
    assert ids(select_problems(recs, classes=["第一类", "conversion"])) == ["A", "C"]
    assert ids(select_problems(recs, townships=["370790100"])) == ["A"]
    assert ids(select_problems(recs, batches=["b2"])) == ["B", "C"]
    assert ids(select_problems(recs, overdue_on=date(2026, 2, 1))) == ["A"]  # C is closed
    assert ids(select_problems(recs, townships=["东河乡"], batches=["b1"])) == ["B"]
    with pytest.raises(SchemaError, match="Unknown class"):
        select_problems(recs, classes=["IV"])


# ------------------------------------------------------------------------------------------
# GeoPackage


def test_gpkg_layers_ids_areas_and_chinese(exported: Exported) -> None:
    path = exported.paths["gpkg"]
    layers = dict(pyogrio.list_layers(path))
    assert layers == {
        "problems": "MultiPolygon",
        "findings": "MultiPolygon",
        "events": None,
        "layer_styles": None,  # QGIS default styles (test_qgis_style.py)
    }
    df = pyogrio.read_dataframe(path, layer="problems")
    assert df.crs.to_epsg() == 4490
    by_id = {r.problem_id: r for r in exported.records}
    assert sorted(df["problem_id"]) == sorted(by_id)
    for row in df.itertuples():
        rec = by_id[row.problem_id]
        assert row.parcel_id == rec.parcel_ids[0]
        assert row.township_name == rec.township_name
        assert row.status == rec.status.value
        assert row.parcel_area_mu == pytest.approx(mu(rec.parcel_area_m2), abs=0.005)
        assert row.parcel_area_m2 == pytest.approx(rec.parcel_area_m2, abs=0.005)
        assert row.illegal_farmland_mu == pytest.approx(mu(rec.illegal_farmland_m2), abs=0.005)
        assert shapely.equals_exact(
            row.geometry, shapely.MultiPolygon(shapely.get_parts(rec.geometry)), tolerance=1e-9
        )
    events = pyogrio.read_dataframe(path, layer="events")
    assert len(events) == len(exported.ws.store.events())
    assert set(events["to_status"]) <= {s.value for s in Status}
    findings = pyogrio.read_dataframe(path, layer="findings")
    assert len(findings) == len(exported.ws.store.snapshot().findings)
    assert (findings["footprint_m2"] > 0).all()


def test_gpkg_chinese_aliases_in_data_columns(exported: Exported) -> None:
    con = sqlite3.connect(exported.paths["gpkg"])
    try:
        ext = con.execute(
            "SELECT table_name, extension_name, scope FROM gpkg_extensions WHERE extension_name = 'gpkg_schema' ORDER BY table_name"
        ).fetchall()
        assert ext == [
            ("gpkg_data_column_constraints", "gpkg_schema", "read-write"),
            ("gpkg_data_columns", "gpkg_schema", "read-write"),
        ]
        rows = dict(
            con.execute(
                "SELECT column_name, title FROM gpkg_data_columns WHERE table_name = 'problems'"
            ).fetchall()
        )
        ev = dict(
            con.execute(
                "SELECT column_name, name FROM gpkg_data_columns WHERE table_name = 'events'"
            ).fetchall()
        )
        cols = [r[1] for r in con.execute("PRAGMA table_info(problems)").fetchall()]
    finally:
        con.close()
    assert (
        rows["parcel_id"] == "监测编号"
        and rows["status"] == "整改状态"
        and rows["parcel_area_mu"] == "图斑面积(亩)"
    )
    assert ev["to_status"] == "新状态"
    assert set(rows) == {c for c in cols if c not in ("fid", "geom")}


# ------------------------------------------------------------------------------------------
# Shapefile


def test_shapefile_gbk_cpg_field_names_and_values(exported: Exported) -> None:
    shp = exported.paths["shp"]
    assert shp.with_suffix(".cpg").read_text(encoding="ascii").strip() == "936"
    names = [n.decode() for n in dbf_field_names(shp.with_suffix(".dbf"))]
    assert names and all(len(n) <= 10 and n.isascii() for n in names)
    # every exported field (疑似依据 too), continuation fields right after their base field
    assert [n for n in names if "_" not in n] == [f.code for f in EXPORT_FIELDS]
    assert names[names.index("YSYJ") + 1] == "YSYJ_2"
    df = pyogrio.read_dataframe(shp, encoding="GBK")
    assert df.crs.equals(CRS.from_epsg(4490))
    by_id = {r.problem_id: r for r in exported.records}
    assert sorted(df["WTBH"]) == sorted(by_id)
    for row in df.to_dict("records"):
        rec = by_id[row["WTBH"]]
        assert row["JCBH"] == rec.parcel_ids[0]
        assert row["XZQMC"] == rec.township_name and row["CMC"] == rec.village_name
        assert row["ZGZT"] == rec.status.value
        assert row["XZQDM"] == rec.township_code
        assert row["TBMJ"] == pytest.approx(mu(rec.parcel_area_m2), abs=0.005)
        assert row["WFGD"] == pytest.approx(mu(rec.illegal_farmland_m2), abs=0.005)
        if rec.deadline:
            assert row["ZGSX"].date() == rec.deadline
    # the bytes in the DBF really are GBK: the township name appears GBK-encoded
    raw = shp.with_suffix(".dbf").read_bytes()
    assert "禾丰镇".encode("gbk") in raw and "禾丰镇".encode() not in raw


def test_shapefile_legend_names_every_field(exported: Exported) -> None:
    legend = exported.paths["shp_legend"]
    assert legend.name == "问题图斑_字段说明.txt"
    assert legend.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM
    text = legend.read_text(encoding="utf-8-sig")
    for f in EXPORT_FIELDS:
        assert f"{f.code}\t{f.zh}\t" in text
    assert "YSYJ\t疑似依据\t文本" in text and "YSYJ_2\t疑似依据（续2）\t文本" in text
    listed = {line.split("\t")[0] for line in text.splitlines() if "\t" in line}
    dbf = {n.decode() for n in dbf_field_names(exported.paths["shp"].with_suffix(".dbf"))}
    assert dbf <= listed
    assert (
        "TBMJ\t图斑面积(亩)\t数值 N(15,2)，2位小数" in text
        and "FTCS\t反弹次数\t整数 N(10,0)" in text
    )
    assert "254" in text and "GBK" in text


def test_shapefile_utf8_and_gauss_kruger_prj(exported: Exported, tmp_path: Path) -> None:
    recs = exported.records
    shp = write_shapefile(
        recs, tmp_path / "utf8.shp", today=TODAY, encoding="UTF-8", projected=True
    )
    assert shp.with_suffix(".cpg").read_text().strip() == "UTF-8"
    crs = CRS.from_wkt(shp.with_suffix(".prj").read_text())
    assert (
        crs.is_projected and "120" in crs.to_wkt() and "CGCS" in crs.name.upper()
    )  # zone 40, CM 120E
    df = pyogrio.read_dataframe(shp, encoding="UTF-8")
    assert set(df["XZQMC"]) == {r.township_name for r in recs}
    back = ellipsoidal_area_m2(df.to_crs(4490).geometry.values, 4490).sum()
    assert back == pytest.approx(
        ellipsoidal_area_m2(np.array([r.geometry for r in recs]), 4490).sum(), rel=1e-6
    )
    explicit = write_shapefile(recs, tmp_path / "gk39.shp", today=TODAY, projected=True, gk_zone=39)
    assert CRS.from_wkt(explicit.with_suffix(".prj").read_text()).to_epsg() == 4548


def test_shapefile_long_text_continues_in_extra_fields(exported: Exported, tmp_path: Path) -> None:
    """A 200-character Chinese note is 400 GBK bytes: BZ holds 127 characters (254 bytes) and
    BZ_2 the other 73; "²" is not in GBK, so it is written "?" and reported. A note of 700
    characters (1,400 bytes) fills BZ .. BZ_4 (1,016 bytes = 508 characters) and is cut, with a
    notice."""
    from dataclasses import replace

    from parcelwatch.exports.layers import ExportNotice

    rec = replace(exported.records[0], notes="备" * 200 + "²")
    long = replace(exported.records[1], notes="注" * 700)
    notices: list[ExportNotice] = []
    shp = write_shapefile([rec, long], tmp_path / "long.shp", today=TODAY, notices=notices)
    df = pyogrio.read_dataframe(shp, encoding="GBK")
    assert df["BZ"][0] == "备" * (SHP_TEXT_BYTES // 2)
    assert df["BZ_2"][0] == "备" * 73 + "?"
    assert "".join(df[c][1] for c in ("BZ", "BZ_2", "BZ_3", "BZ_4")) == "注" * 508
    assert [(n.problem_id, n.field) for n in notices] == [
        (rec.problem_id, "备注"),
        (long.problem_id, "备注"),
    ]
    assert "--encoding UTF-8" in str(notices[0]) and "²" in str(notices[0])
    assert "cut to 1016" in str(notices[1])


def _dbf_descriptors(dbf: Path) -> dict[str, tuple[str, int, int]]:
    """name -> (type, width, decimals) from the DBF header."""
    data = dbf.read_bytes()
    header_len = struct.unpack("<H", data[8:10])[0]
    out = {}
    for off in range(32, header_len - 1, 32):
        name = data[off : off + 11].split(b"\x00")[0].decode()
        out[name] = (chr(data[off + 11]), data[off + 16], data[off + 17])
    return out


def _dbf_cell(dbf: Path, record: int, name: str) -> bytes:
    data = dbf.read_bytes()
    header_len, record_len = struct.unpack("<HH", data[8:12])
    desc = _dbf_descriptors(dbf)
    off = 1 + sum(w for n, (_, w, _) in list(desc.items())[: list(desc).index(name)])
    start = header_len + record * record_len + off
    return data[start : start + desc[name][1]]


def test_shapefile_declared_widths_language_byte_and_blank_dates(tmp_path: Path) -> None:
    """Areas N(15,2) (6504.55 m² is written "6504.55", not 6504.550000000000182), counts N(10,0),
    dates D; an empty date is 8 blanks (read back as null), not 00000000; the DBF language
    byte is 0x4D with a .cpg of 936 and 0 with UTF-8."""
    rec = _kml_rec(
        "P1", _CW_SQUARE, parcel_area_m2=6504.55, rebound_count=2, deadline=date(2026, 12, 31)
    )
    empty = _kml_rec("P2", _CW_SQUARE, parcel_area_m2=None)
    shp = write_shapefile([rec, empty], tmp_path / "w.shp", today=TODAY)
    dbf = shp.with_suffix(".dbf")
    desc = _dbf_descriptors(dbf)
    assert desc["TBMJM2"] == ("N", 15, 2) and desc["TBMJ"] == ("N", 15, 2)
    assert desc["FTCS"] == ("N", 10, 0) and desc["ZGSX"] == ("D", 8, 0)
    assert _dbf_cell(dbf, 0, "TBMJM2") == b"6504.55".rjust(15)
    assert _dbf_cell(dbf, 0, "FTCS") == b"2".rjust(10)
    assert _dbf_cell(dbf, 0, "ZGSX") == b"20261231"
    assert _dbf_cell(dbf, 1, "ZGSX") == b" " * 8 and _dbf_cell(dbf, 1, "TBMJM2") == b" " * 15
    assert dbf.read_bytes()[29] == 0x4D and shp.with_suffix(".cpg").read_text() == "936"
    df = pyogrio.read_dataframe(shp, encoding="GBK")
    assert df["TBMJM2"][0] == 6504.55 and df["FTCS"][0] == 2
    assert str(df["ZGSX"][1]) in ("NaT", "None") and np.isnan(df["TBMJM2"][1])
    utf = write_shapefile([rec], tmp_path / "u.shp", today=TODAY, encoding="UTF-8")
    assert utf.with_suffix(".dbf").read_bytes()[29] == 0
    assert utf.with_suffix(".cpg").read_text() == "UTF-8"


def test_gbk_shapefile_reports_characters_it_cannot_hold(tmp_path: Path) -> None:
    """生僻字 (𠀀, 䶮) and emoji are not in GBK: written "?" and each record is reported with
    the field and the advice to export as UTF-8, which keeps them."""
    from parcelwatch.exports.layers import ExportNotice

    rec = _kml_rec("P1", _CW_SQUARE, village_name="𠀀家村", responsible_person="王䶮😀")
    ok = _kml_rec("P2", _CW_SQUARE, village_name="张家村")
    notices: list[ExportNotice] = []
    shp = write_shapefile([rec, ok], tmp_path / "g.shp", today=TODAY, notices=notices)
    df = pyogrio.read_dataframe(shp, encoding="GBK")
    assert list(df["CMC"]) == ["?家村", "张家村"] and df["ZRR"][0] == "王??"
    assert sorted((n.problem_id, n.field) for n in notices) == [("P1", "村名称"), ("P1", "责任人")]
    assert all("--encoding UTF-8" in str(n) for n in notices)
    utf_notices: list[ExportNotice] = []
    utf = write_shapefile(
        [rec], tmp_path / "u.shp", today=TODAY, encoding="UTF-8", notices=utf_notices
    )
    back = pyogrio.read_dataframe(utf, encoding="UTF-8")
    assert back["CMC"][0] == "𠀀家村" and back["ZRR"][0] == "王䶮😀" and utf_notices == []


def test_failed_export_leaves_nothing(exported: Exported, tmp_path: Path) -> None:
    from dataclasses import replace

    bad = [exported.records[0], replace(exported.records[1], geometry=None)]
    with pytest.raises(SchemaError, match=exported.records[1].problem_id):
        write_shapefile(bad, tmp_path / "x.shp", today=TODAY)
    assert list(tmp_path.iterdir()) == []
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(OutputError, match="Cannot write"):
        write_csv(exported.records, blocker / "x.csv", today=TODAY)
    with pytest.raises(OutputError, match="GBK .default. or UTF-8"):
        write_shapefile(exported.records, tmp_path / "y.shp", today=TODAY, encoding="latin-1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


# ------------------------------------------------------------------------------------------
# GeoJSON and CSV


def test_geojson_4490_and_4326(exported: Exported, tmp_path: Path) -> None:
    data = json.loads(exported.paths["geojson"].read_text(encoding="utf-8"))
    assert "4490" in json.dumps(data.get("crs"))
    by_id = {r.problem_id: r for r in exported.records}
    feats = data["features"]
    assert sorted(f["properties"]["problem_id"] for f in feats) == sorted(by_id)
    for f in feats:
        p, rec = f["properties"], by_id[f["properties"]["problem_id"]]
        assert p["township_name"] == rec.township_name and p["status"] == rec.status.value
        assert p["parcel_area_mu"] == pytest.approx(mu(rec.parcel_area_m2), abs=0.005)
        assert p["deadline"] == (rec.deadline.isoformat() if rec.deadline else None)
    p4326 = export(exported.ws, "geojson", tmp_path / "w.geojson", today=TODAY, epsg=4326)[0]
    d2 = json.loads(p4326.read_text(encoding="utf-8"))
    assert "crs" not in d2 or "4326" in json.dumps(d2["crs"]) or "CRS84" in json.dumps(d2["crs"])
    assert len(d2["features"]) == len(feats)


def test_csv_has_bom_and_chinese_headers(exported: Exported) -> None:
    path = exported.paths["csv"]
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    by_id = {r.problem_id: r for r in exported.records}
    assert sorted(r["问题编号"] for r in rows) == sorted(by_id)
    for row in rows:
        rec = by_id[row["问题编号"]]
        assert row["监测编号"] == rec.parcel_ids[0]
        assert row["乡镇名称"] == rec.township_name
        assert row["整改状态"] == rec.status.value
        assert row["认定类别"] == class_label(rec.confirmed_class)
        assert float(row["图斑面积(亩)"]) == pytest.approx(mu(rec.parcel_area_m2), abs=0.005)
        assert row["乡镇代码"] == rec.township_code  # ids stay text (no leading-zero loss)
        assert 100 < float(row["中心经度"]) < 140


# ------------------------------------------------------------------------------------------
# KML / KMZ


def _placemarks(root: ET.Element) -> list[ET.Element]:
    return root.findall(f".//{KML}Placemark")


def test_kml_styles_folders_names_and_description(exported: Exported) -> None:
    raw = exported.paths["kml"].read_bytes()
    assert b"<![CDATA[<table" in raw
    root = ET.fromstring(raw)
    doc = root.find(f"{KML}Document")
    assert doc is not None
    styles = {s.get("id"): s for s in doc.findall(f"{KML}Style")}
    assert len(styles) == len(Status)
    unverified = styles["status-unverified"]
    assert unverified.findtext(f"{KML}PolyStyle/{KML}color") == kml_color(
        STATUS_STYLE["未核查"]["color"], 0x80
    )
    by_id = {r.problem_id: r for r in exported.records}
    folders = doc.findall(f"{KML}Folder")
    seen = []
    for folder in folders:
        name = folder.findtext(f"{KML}name") or ""
        for pm in folder.findall(f"{KML}Placemark"):
            rec = by_id[(pm.get("id") or "").removeprefix("problem-")]
            assert name.startswith(rec.status.value)
            assert pm.findtext(f"{KML}name") == rec.parcel_ids[0]
            assert pm.findtext(f"{KML}styleUrl") == "#status-" + rec.status.name.lower()
            desc = pm.findtext(f"{KML}description") or ""
            assert (
                "<table" in desc
                and rec.township_name in desc
                and f"{mu(rec.parcel_area_m2):.2f}" in desc
            )
            coords = pm.findtext(f".//{KML}coordinates") or ""
            lon, lat = coords.split()[0].split(",")
            assert len(lon.split(".")[1]) == 7 and 100 < float(lon) < 140 and 20 < float(lat) < 50
            seen.append(rec.problem_id)
    assert sorted(seen) == sorted(by_id)
    assert [f.findtext(f"{KML}name").split("（")[0] for f in folders] == [
        s.value for s in Status if any(r.status is s for r in exported.records)
    ]


def test_kmz_single_doc_by_township_and_gdal_reads_it(exported: Exported, tmp_path: Path) -> None:
    with zipfile.ZipFile(exported.paths["kmz"]) as zf:
        assert zf.namelist() == ["doc.kml"]
        root = ET.fromstring(zf.read("doc.kml"))
    assert len(_placemarks(root)) == len(exported.records)
    kml = write_kml(exported.records, tmp_path / "t.kml", today=TODAY, folders="township")
    troot = ET.parse(kml).getroot()
    names = [f.findtext(f"{KML}name").split("（")[0] for f in troot.iter(f"{KML}Folder")]
    assert sorted(names) == sorted({r.township_name for r in exported.records})
    assert "LIBKML" in pyogrio.list_drivers() or "KML" in pyogrio.list_drivers()
    total = 0
    for layer, _ in pyogrio.list_layers(exported.paths["kmz"]):
        df = pyogrio.read_dataframe(exported.paths["kmz"], layer=layer)
        total += len(df)
        assert set(df["Name"]) <= {r.parcel_ids[0] for r in exported.records}
    assert total == len(exported.records)


def test_filters_reach_the_files(exported: Exported, tmp_path: Path) -> None:
    f = Filters(statuses=("未核查",), townships=("东河乡",))
    path = export(exported.ws, "kml", tmp_path / "f.kml", today=TODAY, filters=f)[0]
    got = {
        (pm.get("id") or "").removeprefix("problem-")
        for pm in _placemarks(ET.parse(path).getroot())
    }
    want = {
        r.problem_id
        for r in exported.records
        if r.status is Status.UNVERIFIED and r.township_name == "东河乡"
    }
    assert got == want and want


# ------------------------------------------------------------------------------------------
# KML details for Google Earth / 奥维 (hand-drawn records)


def _kml_rec(pid: str, geometry: object, **kw: object) -> ProblemRecord:
    kw.setdefault("status", Status.UNVERIFIED)
    kw.setdefault("parcel_area_m2", 666.67)
    kw.setdefault("township_name", "禾丰镇")
    return ProblemRecord(problem_id=pid, parcel_ids=(f"J{pid}",), geometry=geometry, **kw)  # type: ignore[arg-type]


# Drawn clockwise (up, right, down) with a counter-clockwise hole: KML wants the reverse.
_CW_SQUARE = shapely.Polygon(
    [(120.0, 36.0), (120.0, 36.01), (120.01, 36.01), (120.01, 36.0)],
    [[(120.004, 36.004), (120.006, 36.004), (120.006, 36.006), (120.004, 36.006)]],
)


def _rings(pm: ET.Element, kind: str) -> list[shapely.LinearRing]:
    out = []
    for c in pm.iter(f"{KML}{kind}"):
        text = c.findtext(f"{KML}LinearRing/{KML}coordinates") or ""
        out.append(shapely.LinearRing([tuple(map(float, p.split(","))) for p in text.split()]))
    return out


def test_kml_snippet_ring_orientation_and_folder_intro(tmp_path: Path) -> None:
    """Outer rings counter-clockwise, holes clockwise (the input was drawn the other way round);
    every Placemark has <Snippet maxLines="0">; the document says what each folder holds."""
    assert not _CW_SQUARE.exterior.is_ccw and _CW_SQUARE.interiors[0].is_ccw
    recs = [
        _kml_rec("P1", _CW_SQUARE),
        _kml_rec("P2", shapely.MultiPolygon([_CW_SQUARE]), status=Status.CLOSED),
    ]
    root = ET.parse(write_kml(recs, tmp_path / "o.kml", today=TODAY)).getroot()
    pms = _placemarks(root)
    assert len(pms) == 2
    for pm in pms:
        snippet = pm.find(f"{KML}Snippet")
        assert snippet is not None and snippet.get("maxLines") == "0"
        outer, inner = _rings(pm, "outerBoundaryIs"), _rings(pm, "innerBoundaryIs")
        assert len(outer) == 1 and len(inner) == 1
        assert outer[0].is_ccw and not inner[0].is_ccw
    doc = root.find(f"{KML}Document")
    intro = doc.findtext(f"{KML}description") or ""
    assert "未核查（1）：已下发、尚未核查认定的图斑" in intro
    assert "已销号（1）：验收合格、已销号" in intro
    folders = doc.findall(f"{KML}Folder")
    assert [f.findtext(f"{KML}description") for f in folders] == [
        "已下发、尚未核查认定的图斑",
        "验收合格、已销号",
    ]
    town = ET.parse(write_kml(recs, tmp_path / "t.kml", today=TODAY, folders="township"))
    assert "按乡镇分文件夹" in (town.getroot().findtext(f"{KML}Document/{KML}description") or "")


def test_kml_description_has_a_plain_text_fallback(exported: Exported) -> None:
    """With the tags dropped (a reader that shows text only) each row reads "名称：值" on its
    own line; the same fields are in ExtendedData for readers that show attributes."""
    import re

    root = ET.parse(exported.paths["kml"]).getroot()
    by_id = {r.problem_id: r for r in exported.records}
    for pm in _placemarks(root):
        rec = by_id[(pm.get("id") or "").removeprefix("problem-")]
        text = re.sub(r"<[^>]+>", "", pm.findtext(f"{KML}description") or "")
        lines = [ln for ln in text.splitlines() if ln]
        assert f"问题编号：{rec.problem_id}" in lines
        assert f"乡镇名称：{rec.township_name}" in lines
        assert f"整改状态：{rec.status.value}" in lines
        data = {
            d.findtext(f"{KML}displayName"): d.findtext(f"{KML}value") or ""
            for d in pm.iter(f"{KML}Data")
        }
        assert data["图斑面积(亩)"] == f"{mu(rec.parcel_area_m2):.2f}"
        assert data["整改状态"] == rec.status.value and len(data) == 18


def test_kml_control_characters_dropped_and_reported(tmp_path: Path) -> None:
    """A control character (U+0001, U+000B) would make the KML invalid XML: it is dropped, the
    document parses, and a notice names the problem and field; U+2028 and emoji are kept."""
    from parcelwatch.exports.layers import ExportNotice

    rec = _kml_rec("P9", _CW_SQUARE, responsible_person="张\x01三\x0b", measure="拆除\u2028😀")
    notices: list[ExportNotice] = []
    path = write_kml([rec], tmp_path / "c.kml", today=TODAY, notices=notices)
    pm = _placemarks(ET.parse(path).getroot())[0]
    data = {d.get("name"): d.findtext(f"{KML}value") for d in pm.iter(f"{KML}Data")}
    assert data["responsible_person"] == "张三"
    assert data["measure"] == "拆除\u2028😀"
    assert [(n.problem_id, n.field) for n in notices] == [("P9", "责任人")]
    assert "control characters" in str(notices[0])


def test_kml_reports_progress_to_the_end(exported: Exported, tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    write_kmz(
        exported.records,
        tmp_path / "p.kmz",
        today=TODAY,
        progress=lambda done, total: calls.append((done, total)),
    )
    n = len(exported.records)
    assert calls and calls[-1] == (n, n)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_export_then_read_back_changes_nothing(tmp_path: Path) -> None:
    """Hostile but legal values (formulas, HTML, U+2028, emoji, 生僻字, quotes, a 疑似依据 of
    about 900 UTF-8 bytes) come back unchanged from the UTF-8 shapefile (continuation fields
    joined), the GeoPackage, the GeoJSON and the KML's ExtendedData; no notice is raised."""
    from parcelwatch.exports.fields import record_values
    from parcelwatch.exports.layers import ExportNotice, write_geojson, write_gpkg

    reasons = "建筑B00003（餐饮，64.0 m²）100% 位于大棚G00012内 → 疑似第二类；" * 12
    rec = _kml_rec(
        "P1",
        _CW_SQUARE,
        township_name="<b>禾丰镇</b>",
        village_name="𠀀家村",
        responsible_person='=HYPERLINK("x")',
        measure="拆除\u2028复耕😀",
        alerts="&amp; ]]> '\"",
        candidate_reasons=reasons,
        notes="+1+1",
        deadline=date(2026, 12, 31),
        rebound_count=1,
    )
    want = record_values(rec, today=TODAY)
    notices: list[ExportNotice] = []
    shp = write_shapefile([rec], tmp_path / "r.shp", today=TODAY, encoding="UTF-8", notices=notices)
    df = pyogrio.read_dataframe(shp, encoding="UTF-8")
    assert len(reasons.encode()) > 3 * SHP_TEXT_BYTES and "YSYJ_4" in df.columns
    for f in EXPORT_FIELDS:
        parts = [c for c in df.columns if c == f.code or c.startswith(f.code + "_")]
        got = df[f.code][0] if f.kind != "text" else "".join(df[c][0] or "" for c in parts)
        if f.kind == "date":
            got = got.date() if want[f.key] else None
        elif f.kind == "real":
            got = None if np.isnan(got) else got
        assert got == want[f.key], f.key
    gpkg = pyogrio.read_dataframe(
        write_gpkg([rec], tmp_path / "r.gpkg", today=TODAY), layer="problems"
    )
    gj = json.loads(write_geojson([rec], tmp_path / "r.geojson", today=TODAY).read_text())
    props = gj["features"][0]["properties"]
    for f in EXPORT_FIELDS:
        if f.kind == "text":
            assert gpkg[f.key][0] == want[f.key] and props[f.key] == want[f.key], f.key
    pm = _placemarks(
        ET.parse(write_kml([rec], tmp_path / "r.kml", today=TODAY, notices=notices)).getroot()
    )[0]
    data = {d.get("name"): d.findtext(f"{KML}value") or "" for d in pm.iter(f"{KML}Data")}
    for key in ("township_name", "measure", "alerts", "responsible_person"):
        assert data[key] == want[key], key
    assert notices == []
