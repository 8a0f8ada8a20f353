"""`patrol ledger`: 附件3 (village patrol ledger) and 附件4 (department registration ledger) in the
§B.5 layout, read back with openpyxl; 附件3 round-trips through `patrol import`.

Hand-computed 附件4 for 自然资源所, April: 马塘 village report ZR-02 verified 属实 (+2), a town
group ZR-01 find at another site, unreported (−2 × 1), a pending ZR-02 (blank); NY-05 belongs to
农业农村办 and is not listed. 加(扣)分合计 0.00.
"""

from __future__ import annotations

from datetime import datetime

import openpyxl

from parcelwatch.cli import main
from parcelwatch.ledger.workspace import open_workspace
from parcelwatch.patrol.ledger_forms import DEPT_HEADERS, VILLAGE_HEADERS
from parcelwatch.patrol.records import PatrolBook
from tests.patrol.conftest import set_points
from tests.patrol.test_cli_patrol import finding, new_id, ok, run, verify


def xl(*parts: int) -> datetime:
    """An Excel cell's date-time (naive local time, as openpyxl reads it)."""
    return datetime(*parts)  # noqa: DTZ001


def _report(ws, capsys, village, item, when, lon, lat, place="村委会东侧"):
    return new_id(ok(["patrol", "report", ws, "--village", village, "--item", item, "--occurred", when[:10],
                      "--reported", when, "--place", place, "--content", f"{item} 在建", "--by", "王某",
                      "--photo", ws.parent / "site.jpg", "--lon", lon, "--lat", lat, "--user", "王某"], capsys))  # fmt: skip


def _findings(ws):
    with open_workspace(ws) as w:
        return PatrolBook(w.store).all("patrol_findings")


def test_village_ledger_layout_and_round_trip_through_import(ws, capsys, tmp_path):
    ok(["patrol", "visit", ws, "--by-village", "--village", "马塘", "--start", "2026-04-02T08:00",
        "--end", "2026-04-02T11:00", "--people", "王某,陈某"], capsys)  # fmt: skip
    a = _report(ws, capsys, "马塘", "ZR-02", "2026-04-02T15:30", 113.01, 23.71)
    b = _report(ws, capsys, "马塘", "ZR-01", "2026-04-20T09:15", 113.02, 23.72, place="村西路口")
    verify(ws, capsys, a, "2026-04-03T10:00")
    ok(["patrol", "doc", ws, a, "--type", "责令停止违法行为通知书", "--number", "太自然〔2026〕12号",
        "--issued", "2026-04-04"], capsys)  # fmt: skip
    _report(
        ws, capsys, "马塘", "ZR-02", "2026-05-02T15:30", 113.0, 23.7
    )  # May: not in April's ledger
    _report(ws, capsys, "天塘", "ZR-02", "2026-04-02T15:30", 113.0, 23.7)  # another village
    out = tmp_path / "附件3.xlsx"
    assert "(2 条)" in ok(
        ["patrol", "ledger", ws, "--village", "马塘", "--month", "2026-04", "-o", out], capsys
    )
    wb = openpyxl.load_workbook(out)
    s = wb["巡查工作台账"]
    assert s["A1"].value == "马塘村巡查工作台账" and "附件3" in s["A2"].value
    merged = {str(m) for m in s.merged_cells.ranges}
    assert {"A1:P1", "A2:P2", "A7:P7"} <= merged  # title, info, signature two rows under the table
    assert [c.value for c in s[3]] == VILLAGE_HEADERS
    r4 = [c.value for c in s[4]]
    assert r4[:6] == [1, xl(2026, 4, 2), "王某、陈某", None, "违法建筑", "ZR-02 在建"]
    assert r4[6:10] == [xl(2026, 4, 2), "村委会东侧", 113.01, 23.71]
    assert r4[11:] == [
        "自然资源所",
        xl(2026, 4, 2, 15, 30),
        "属实",
        "责令停止违法行为通知书 太自然〔2026〕12号（2026-04-04）",
        a,
    ]
    r5 = [c.value for c in s[5]]
    assert r5[2] == "王某" and r5[4] == "违法用地" and r5[13] == "待核实" and r5[15] == b
    assert s.freeze_panes == "C4" and s.print_title_rows == "$3:$3"
    # as written: every row carries its 编号 -> nothing imported twice
    again = ok(["patrol", "import", ws, out, "--village", "马塘"], capsys)
    assert "导入 0 条" in again and f"已有编号 {a}" in again and len(_findings(ws)) == 4
    # the same form filled in by a village (编号 empty) imports into another workspace unchanged
    for row in (4, 5):
        s.cell(row, 16).value = None
    blank = tmp_path / "附件3_村填.xlsx"
    wb.save(blank)
    ws2 = tmp_path / "ws2"
    for args in (["init", ws2, "--county-code", "441803"], ["patrol", "init", ws2]):
        assert main([str(x) for x in args]) == 0
    set_points(ws2)
    capsys.readouterr()
    assert "导入 2 条" in ok(["patrol", "import", ws2, blank, "--village", "马塘"], capsys)
    keys = (
        "village",
        "item_code",
        "content",
        "occurred_on",
        "place_text",
        "reported_at",
        "geom_wkt",
        "reporter",
    )
    src = {f["finding_id"]: f for f in _findings(ws)}
    got = _findings(ws2)
    for orig, new in zip((src[a], src[b]), got, strict=True):
        assert {k: new[k] for k in keys[:-1]} == {k: orig[k] for k in keys[:-1]}
        assert [p["sha256"] for p in new["photos"]] == [p["sha256"] for p in orig["photos"]]
    assert got[0]["reporter"] == "王某、陈某" and got[0]["verified_result"] == "待核实"


def test_dept_ledger_lists_the_departments_items_with_verifier_and_points(ws, capsys, tmp_path):
    a = _report(ws, capsys, "马塘", "ZR-02", "2026-04-02T15:30", 113.01, 23.71)
    verify(ws, capsys, a, "2026-04-03T10:00")
    g = finding(ws, capsys, "马塘", "ZR-01", "town_group", "2026-04-10T10:00")
    verify(ws, capsys, g, "2026-04-11T10:00")
    pending = finding(ws, capsys, "天塘", "ZR-02", "district", "2026-04-12T10:00")
    n = finding(ws, capsys, "马塘", "NY-05", "city", "2026-04-20T10:00")
    verify(ws, capsys, n, "2026-04-21T10:00", dept="农业农村办")
    out = tmp_path / "附件4.xlsx"
    assert "(3 条)" in ok(
        ["patrol", "ledger", ws, "--dept", "自然资源所", "--month", "2026-04", "-o", out], capsys
    )
    s = openpyxl.load_workbook(out)["登记备案工作台账"]
    assert s["A1"].value == "自然资源所登记备案工作台账" and "加(扣)分合计 0.00" in s["A2"].value
    assert {"A1:O1", "A2:O2", "A8:O8"} <= {str(m) for m in s.merged_cells.ranges}
    assert [c.value for c in s[3]] == DEPT_HEADERS
    rows = {s.cell(r, 2).value: [c.value for c in s[r]] for r in range(4, 7)}
    assert set(rows) == {a, g, pending}
    assert rows[a][3:6] == ["马塘村", xl(2026, 4, 2, 15, 30), "违法建筑"]
    assert rows[a][8:12] == ["张某", xl(2026, 4, 3), "属实", 2]
    assert rows[g][3] == "镇巡查督查组"  # no --finder-name: the finder kind's label
    assert rows[g][11] == -2 and rows[pending][8:12] == [None, None, "待核实", None]
    code, _o, err = run(["patrol", "ledger", ws, "--dept", "国土局", "--month", "2026-04"], capsys)
    assert code == 1 and "自然资源所" in err and "Traceback" not in err
