"""`patrol import`: the 附件3 village patrol ledger, all or nothing, with a per-row error report."""

from __future__ import annotations

from datetime import datetime

import openpyxl

from parcelwatch.ledger.workspace import open_workspace
from parcelwatch.patrol.records import PatrolBook
from tests.patrol.test_cli_patrol import ok, run

HEAD = ["序号", "巡查日期", "巡查人员", "巡查区域/路线", "巡查目录事项", "事项内容", "发生时间", "地点", "经度", "纬度",
        "佐证材料(照片)", "上报部门", "上报时间", "核实结果", "处置情况", "编号"]  # fmt: skip


def workbook(path, rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "巡查工作台账"
    ws.append(["马塘村巡查工作台账"])
    ws.append(HEAD)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def good(n, item="ZR-02", photo="site.jpg", reported=datetime(2026, 4, 2, 15, 30)):  # noqa: DTZ001 - Excel time
    return [n, "2026-04-02", "王某", "村西", item, "在建房屋", "2026-04-02", "村委会东侧", 113.0, 23.7, photo,
            "自然资源所", reported, "", "", ""]  # fmt: skip


def count(ws):
    with open_workspace(ws) as w:
        return len(PatrolBook(w.store).all("patrol_findings"))


def test_import_is_all_or_nothing_with_row_errors(ws, capsys, tmp_path):
    bad = good(2, item="XX-99")
    bad[7] = ""  # 地点 missing
    late = good(3, photo="missing.jpg")
    path = workbook(tmp_path / "台账.xlsx", [good(1), bad, late])
    code, _out, err = run(
        ["patrol", "import", ws, path, "--village", "马塘", "--photos", tmp_path], capsys
    )
    assert code == 1 and "未导入任何记录" in err and "Traceback" not in err
    assert "巡查工作台账!行4 列「巡查目录事项」值 'XX-99'" in err and "行4 列「地点」" in err
    assert "行5 列「佐证材料(照片)」值 'missing.jpg'" in err
    assert count(ws) == 0
    out = ok(
        ["patrol", "import", ws, path, "--village", "马塘", "--photos", tmp_path, "--partial"],
        capsys,
    )
    assert "导入 1 条" in out and count(ws) == 1


def test_import_good_ledger_by_item_name_and_skip_numbered(ws, capsys, tmp_path):
    second = good(2, item="违法用地")
    numbered = good(3)
    numbered[15] = "XC-202604-00099"
    path = workbook(tmp_path / "台账.xlsx", [good(1), second, numbered])
    out = ok(
        ["patrol", "import", ws, path, "--village", "马塘村", "--photos", tmp_path, "--dry-run"],
        capsys,
    )
    assert "2 条可导入" in out and count(ws) == 0
    out = ok(["patrol", "import", ws, path, "--village", "马塘村", "--photos", tmp_path], capsys)
    assert "导入 2 条" in out and "已有编号 XC-202604-00099" in out
    with open_workspace(ws) as w:
        fs = PatrolBook(w.store).all("patrol_findings")
    assert [f["item_code"] for f in fs] == ["ZR-02", "ZR-01"]
    assert fs[0]["reported_at"] == "2026-04-02T15:30:00+08:00" and len(fs[0]["photos"]) == 1
    assert fs[0]["geom_wkt"] == "POINT (113.0000000 23.7000000)"
