"""`parcelwatch classify` on files in different formats and CRSs, read back with pyogrio."""

from __future__ import annotations

import geopandas as gpd
import pyogrio
import shapely

from parcelwatch.cli import main
from tests.conftest import X0, Y0, write_shapefile


def box(x0, y0, x1, y1):
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def test_classify_command_end_to_end(tmp_path, capsys):
    """P1 holds a catering building inside a greenhouse (Class II); P2 a factory on a
    建设用地 approval (cleared, suggested 合法); P3 a house on farmland far from everything
    (conversion). Parcels are a GBK shapefile in EPSG:4490, farmland a GeoPackage in the
    zone-prefixed EPSG:4528, buildings GeoJSON in EPSG:4549."""
    parcels = gpd.GeoDataFrame(
        {"监测编号": ["J1", "J2", "J3"], "批次": ["2026年第1批"] * 3},
        geometry=[box(50, 50, 300, 300), box(600, 600, 800, 800), box(1200, 50, 1400, 250)],
        crs=4549,
    ).to_crs(4490)
    write_shapefile(parcels, tmp_path / "卫片图斑.shp")
    farm = gpd.GeoDataFrame(
        {"DLBM": ["0103"], "TBMJ": [4e6], "TBDLMJ": [4e6]},
        geometry=[box(0, 0, 2000, 2000)],
        crs=4549,
    ).to_crs(4528)
    pyogrio.write_dataframe(farm, tmp_path / "三调.gpkg", layer="DLTB")
    gh = gpd.GeoDataFrame({"大棚编号": ["G1"]}, geometry=[box(100, 100, 110, 180)], crs=4549)
    pyogrio.write_dataframe(gh, tmp_path / "大棚.gpkg")
    b = gpd.GeoDataFrame(
        {"JZBH": ["B1", "B2", "B3"], "YT": ["餐饮", "厂房", "住宅"], "CS": [1, 1, 2]},
        geometry=[box(102, 120, 108, 140), box(700, 700, 720, 720), box(1300, 100, 1320, 120)],
        crs=4549,
    )
    pyogrio.write_dataframe(b, tmp_path / "建筑物.geojson")
    ap = gpd.GeoDataFrame(
        {"批准文号": ["鲁政土字〔2025〕1号"], "批准类型": ["建设用地"]},
        geometry=[box(650, 650, 750, 750)],
        crs=4549,
    ).to_crs(4490)
    pyogrio.write_dataframe(ap, tmp_path / "审批.gpkg")
    out = tmp_path / "out" / "result.gpkg"
    code = main(
        [
            "classify",
            "--parcels",
            str(tmp_path / "卫片图斑.shp"),
            "--farmland",
            f"{tmp_path / '三调.gpkg'}:DLTB",
            "--greenhouses",
            str(tmp_path / "大棚.gpkg"),
            "--buildings",
            str(tmp_path / "建筑物.geojson"),
            "--approvals",
            str(tmp_path / "审批.gpkg"),
            "-o",
            str(out),
        ]
    )
    text = capsys.readouterr().out
    assert code == 0, text
    assert "rule class1.filed_facility_land_changed" not in text  # approvals given: it ran
    assert "working CRS EPSG:4549" in text
    assert "第二类" in text and "Written:" in text
    assert {n for n, _ in pyogrio.list_layers(out)} == {"parcels", "findings", "run_info"}
    p = pyogrio.read_dataframe(out, layer="parcels").set_index("parcel_id")
    assert p.crs.to_epsg() == 4490
    assert p.loc["J1", "problem_class"] == "II"
    assert p.loc["J2", "problem_class"] == "none" and p.loc["J2", "suggested_judgement"] == "合法"
    assert p.loc["J2", "approval_refs"] == "鲁政土字〔2025〕1号"
    assert p.loc["J3", "problem_class"] == "conversion"
    assert "疑似第二类" in p.loc["J1", "reasons"]
    f = pyogrio.read_dataframe(out, layer="findings")
    assert set(f["rule_id"]) == {
        "class2.building_in_greenhouse",
        "approval.covered",
        "conversion.building_on_farmland",
    }
    info = pyogrio.read_dataframe(out, layer="run_info", read_geometry=False)
    assert "rules_digest" in set(info["key"])


def test_classify_missing_optional_layers_are_reported(tmp_path, capsys):
    parcels = gpd.GeoDataFrame({"JCBH": ["J1"]}, geometry=[box(0, 0, 100, 100)], crs=4549)
    pyogrio.write_dataframe(parcels, tmp_path / "p.gpkg")
    farm = gpd.GeoDataFrame({"DLBM": ["0101"]}, geometry=[box(0, 0, 500, 500)], crs=4549)
    pyogrio.write_dataframe(farm, tmp_path / "DLTB.gpkg")
    code = main(
        [
            "classify",
            "--parcels",
            str(tmp_path / "p.gpkg"),
            "--farmland",
            str(tmp_path / "DLTB.gpkg"),
            "-o",
            str(tmp_path / "o.gpkg"),
        ]
    )
    text = capsys.readouterr().out
    assert code == 0
    assert (
        "rule class2.building_in_greenhouse did not run: no buildings / greenhouses layer" in text
    )


def test_classify_bad_input_no_traceback(tmp_path, capsys):
    code = main(
        [
            "classify",
            "--parcels",
            str(tmp_path / "none.shp"),
            "--farmland",
            str(tmp_path / "none.gpkg"),
            "-o",
            str(tmp_path / "o.gpkg"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1 and "File not found" in err and "Traceback" not in err
