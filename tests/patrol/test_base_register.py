"""`patrol base-register` (SEED-SYSTEMS §B.6): the village's open problems, open 两违 cases and the
catalogue as Excel, and the same places as KMZ.

Scene: 马塘村 has ledger problems P1 (point, open), P4 (polygon, open) and P2 (point, judged 合法: closed), 天塘村 has
P3; 马塘村 has 两违 cases L1 (polygon, 待核实) and L2 (不属实: closed). The register lists P1, P4
and L1 only; the catalogue shows ZR-02 with 2 points and ST-01 as 未填写 (no points set).
"""

from __future__ import annotations

import zipfile
from datetime import datetime, timezone

import geopandas as gpd
import openpyxl
import shapely

from parcelwatch.ledger.workspace import open_workspace
from parcelwatch.patrol.records import RecordBook
from tests.patrol.test_cli_patrol import ok, run


def _problem(ws, capsys, village, lon):
    out = ok(["ledger", "add", ws, "--source", "巡查", "--township", "太平镇", "--village", village,
              "--lon", lon, "--lat", 23.7, "--found", "2026-04-01", "--place", f"{village}村口"], capsys)  # fmt: skip
    return out.split(":")[0]


def test_base_register_lists_open_problems_cases_and_catalogue(ws, capsys, tmp_path):
    from parcelwatch.violations import records as R
    from parcelwatch.violations.cases import ViolationSettings

    p1 = _problem(ws, capsys, "马塘村", 113.01)
    p2 = _problem(ws, capsys, "马塘村", 113.02)
    _problem(ws, capsys, "天塘村", 113.03)
    site = tmp_path / "site.geojson"
    gpd.GeoDataFrame(geometry=[shapely.box(113.1, 23.8, 113.101, 23.801)], crs=4490).to_file(site)
    p4 = ok(["ledger", "add", ws, "--source", "举报", "--township", "太平镇", "--village", "马塘村",
             "--geometry", site, "--found", "2026-04-03"], capsys).split(":")[0]  # fmt: skip
    ok(
        [
            "ledger",
            "set",
            ws,
            p2,
            "--status",
            "合法",
            "--judgement-type",
            "农村宅基地批准",
            "--user",
            "张某",
        ],
        capsys,
    )
    t = datetime(2026, 4, 2, 2, tzinfo=timezone.utc)
    square = shapely.box(113.0, 23.7, 113.001, 23.701)
    with open_workspace(ws) as w:
        book = RecordBook(w.store)
        s = ViolationSettings()
        l1, _ = R.add_case(book, s, county_code="441803", found_at=t, found_by="镇巡查", user="u", now=t,
                           fields={"village_name": "马塘村", "household": "张三", "illegal_building": True,
                                   "geom_wkt": shapely.to_wkt(square), "floor_area_m2": 120})  # fmt: skip
        l2, _ = R.add_case(book, s, county_code="441803", found_at=t, found_by="镇巡查", user="u", now=t,
                           fields={"village_name": "马塘", "illegal_land": True})  # fmt: skip
        R.update_case(book, s, l2, status="不属实", note="核查为合法建房", user="u", now=t)
    out_dir = tmp_path / "底册"
    out = ok(
        [
            "patrol",
            "base-register",
            ws,
            "--village",
            "马塘",
            "-o",
            out_dir,
            "--today",
            "2026-05-01",
        ],
        capsys,
    )
    assert "问题 2 个，两违案件 1 宗" in out
    wb = openpyxl.load_workbook(out_dir / "马塘村底册.xlsx")
    assert wb.sheetnames == ["问题台账", "两违案件", "巡查目录"]
    prob = wb["问题台账"]
    assert (
        prob["A1"].value == "马塘村巡查台账底册（问题台账）"
        and "截至 2026-05-01" in prob["A2"].value
    )
    assert [prob.cell(4, j).value for j in (2, 3, 4, 6, 7)] == [
        p1,
        "未核查",
        "巡查",
        "马塘村",
        "马塘村村口",
    ]
    assert prob.cell(5, 2).value == p4 and prob.cell(6, 2).value is None
    case = wb["两违案件"]
    assert [case.cell(4, j).value for j in (2, 3, 4, 6, 7)] == [
        l1,
        "待核实",
        "张某",
        "违法建设",
        120,
    ]
    assert case.cell(5, 2).value is None
    cat = {wb["巡查目录"].cell(r, 2).value: wb["巡查目录"].cell(r, 5).value for r in range(4, 30)}
    assert cat["ZR-02"] == 2 and cat["NY-05"] == 1 and cat["ST-01"] == "未填写"
    with zipfile.ZipFile(out_dir / "马塘村底册.kmz") as zf:
        kml = zf.read("doc.kml").decode("utf-8")
    assert (
        kml.count("<Placemark") == 3
        and f"problem-{p1}" in kml
        and f"problem-{p4}" in kml
        and f"<name>{l1}</name>" in kml
    )
    assert p2 not in kml and l2 not in kml and "113.0010000,23.7010000" in kml
    code, _o, err = run(["patrol", "base-register", ws, "--village", "不存在村"], capsys)
    assert code == 1 and "patrol.toml" in err and "Traceback" not in err
