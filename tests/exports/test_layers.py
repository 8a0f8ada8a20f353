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
from parcelwatch.exports import Filters, export, select_problems
from parcelwatch.exports.fields import EXPORT_FIELDS
from parcelwatch.exports.layers import (
    SHP_TEXT_BYTES,
    kml_color,
    write_csv,
    write_kml,
    write_shapefile,
)
from parcelwatch.ledger.model import ProblemRecord, Status, class_label
from parcelwatch.maps.battle_map import STATUS_STYLE
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
    assert layers == {"problems": "MultiPolygon", "findings": "MultiPolygon", "events": None}
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
    names = dbf_field_names(shp.with_suffix(".dbf"))
    assert names and all(len(n) <= 10 and n.isascii() for n in names)
    assert [n.decode() for n in names] == [f.code for f in EXPORT_FIELDS if f.shp]
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
        if f.shp:
            assert f"{f.code}\t{f.zh}\t" in text
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


def test_shapefile_text_is_cut_to_254_bytes(exported: Exported, tmp_path: Path) -> None:
    """A 200-character Chinese note is 400 GBK bytes: it is cut to 254 (127 characters)."""
    from dataclasses import replace

    rec = replace(exported.records[0], notes="备" * 200 + "²")
    shp = write_shapefile([rec], tmp_path / "long.shp", today=TODAY)
    df = pyogrio.read_dataframe(shp, encoding="GBK")
    assert df["BZ"][0] == "备" * (SHP_TEXT_BYTES // 2)


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
