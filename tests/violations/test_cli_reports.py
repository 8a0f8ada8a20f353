"""`parcelwatch violations ...`: stats against the calendar (T-A-04 through the CLI) and the
monthly bulletin layout (T-A-14: 3 towns, header rows 2-3, units row 4, 合计 = sums, rank by 完成率)."""

from __future__ import annotations

from datetime import datetime, timezone

import openpyxl

from tests.patrol.test_cli_patrol import ok


def add(ws, capsys, town, found, floor, started="2018-05-01"):
    out = ok(["violations", "add", ws, "--found", found, "--found-by", "镇巡查", "--township", town, "--building",
              "--floor-m2", floor, "--started", started, "--household", "张三", "--user", "u"], capsys)  # fmt: skip
    return out.split(":")[0]


def dispose(ws, capsys, cid, area, on, disposal="拆除"):
    for status, fields in (("已认定", []), ("处置中", [f"disposal={disposal}"]),
                           ("已处置", [f"disposed_on={on}", f"disposed_area_m2={area}", "demolition_mode=自拆"])):  # fmt: skip
        ok(
            [
                "violations",
                "set",
                ws,
                cid,
                "--status",
                status,
                *[x for f in fields for x in ("--field", f)],
                "--user",
                "u",
            ],
            capsys,
        )


def test_T_A_04_stats_through_the_cli(tmp_path, capsys):
    ws = tmp_path / "ws"
    ok(["init", ws, "--county-code", "370790", "--county-name", "样例县"], capsys)
    ok(["violations", "target", ws, "--year", "2019", "--m2", "320000"], capsys)
    cid = add(ws, capsys, "禾丰镇", "2019-03-01T10:00", 150000, started="2016-01-01")
    dispose(ws, capsys, cid, 150000, "2019-05-20")
    out = ok(["violations", "stats", ws, "--year", "2019", "--as-of", "2019-06-30"], capsys)
    assert (
        "年度目标 320000.00 ㎡；已治理 150000.00 ㎡，完成 46.88%；序时进度 49.59%（落后 2.71 个百分点）"
        in out
    )
    row = ok(["violations", "list", ws], capsys).splitlines()[2].split()
    assert row[:2] == [cid, "已处置"] and "存量" in row


def test_T_A_14_monthly_bulletin_three_towns(tmp_path, capsys):
    ws = tmp_path / "ws"
    ok(["init", ws, "--county-code", "370790", "--county-name", "样例县"], capsys)
    ok(["violations", "target", ws, "--year", "2018", "--m2", "320000"], capsys)
    for town, t in (("禾丰镇", 1000), ("东河乡", 1000), ("柳湾镇", 1000)):
        ok(["violations", "target", ws, "--year", "2018", "--m2", t, "--scope", town], capsys)
    a = add(ws, capsys, "禾丰镇", "2018-05-03T10:00", 250)
    add(ws, capsys, "东河乡", "2018-05-10T10:00", 310)
    add(ws, capsys, "柳湾镇", "2018-05-28T10:00", 300)
    dispose(ws, capsys, a, 200, "2018-05-20")
    out = tmp_path / "月通报.xlsx"
    ok(["violations", "monthly", ws, "--month", "2018-05", "-o", out], capsys)
    s = openpyxl.load_workbook(out)["两违月通报"]
    assert s["A1"].value == "样例县2018年5月“两违”综合治理情况通报" and "320000㎡" in s["A2"].value
    assert s["C3"].value == "新增两违" and s["C4"].value == "宗数" and s["D4"].value == "面积(㎡)"
    assert s["C5"].value == "宗" and s["D5"].value == "㎡"
    rows = {s.cell(r, 2).value: r for r in range(6, 9)}
    assert set(rows) == {"禾丰镇", "东河乡", "柳湾镇"}
    total = 9
    assert s.cell(total, 1).value == "合计"
    assert s.cell(total, 3).value == 3 and s.cell(total, 4).value == 860
    he = rows["禾丰镇"]
    assert s.cell(he, 6).value == 1 and s.cell(he, 7).value == 200  # 拆除 1 宗 200 ㎡
    assert s.cell(he, 16).value == 20 and s.cell(he, 17).value == 1  # 完成率 20.00 %, rank 1
    assert s.cell(rows["东河乡"], 17).value == 2 and s.cell(rows["柳湾镇"], 17).value == 2
    detail = openpyxl.load_workbook(out)["新增两违明细"]
    assert {detail.cell(r, 5).value for r in range(4, 7)} == {"张某"}


def test_T_A_11_blacklist_through_the_cli_with_warning(tmp_path, capsys):
    from tests.patrol.test_cli_patrol import run

    ws = tmp_path / "ws"
    ok(["init", ws, "--county-code", "370790"], capsys)
    p1 = ok(
        [
            "violations",
            "party",
            ws,
            "--kind",
            "个人",
            "--name",
            "张三",
            "--id-number",
            "370790198001011234",
        ],
        capsys,
    ).split()[0]
    cid = ok(
        [
            "violations",
            "add",
            ws,
            "--found",
            "2018-05-03T10:00",
            "--found-by",
            "举报",
            "--building",
            "--party",
            p1,
        ],
        capsys,
    ).split(":")[0]
    code, _o, err = run(
        [
            "violations",
            "blacklist",
            "add",
            ws,
            "--party",
            p1,
            "--case",
            cid,
            "--reason",
            "拒不拆除",
        ],
        capsys,
    )
    assert code == 1 and "案件须已认定且情节严重" in err
    ok(["violations", "set", ws, cid, "--status", "已认定", "--field", "serious=是"], capsys)
    eid = ok(
        [
            "violations",
            "blacklist",
            "add",
            ws,
            "--party",
            p1,
            "--case",
            cid,
            "--reason",
            "拒不拆除",
        ],
        capsys,
    ).split(":")[0]
    listing = ok(["violations", "blacklist", "list", ws, "--active"], capsys)
    assert eid in listing and "1234" in listing and "370790198001011234" not in listing
    p2 = ok(
        [
            "violations",
            "party",
            ws,
            "--kind",
            "个人",
            "--name",
            "张三",
            "--id-number",
            "370790198001011234",
        ],
        capsys,
    ).split()[0]
    code, out, err = run(
        [
            "violations",
            "add",
            ws,
            "--found",
            "2018-06-03T10:00",
            "--found-by",
            "举报",
            "--land",
            "--party",
            p2,
        ],
        capsys,
    )
    assert code == 0 and f"当事人在两违黑名单中({eid})" in err
    assert "黑名单当事人" in ok(["violations", "list", ws], capsys)


def test_patrol_finding_promoted_to_violations(ws, capsys):
    from tests.patrol.test_cli_patrol import report, verify

    fid = report(ws, capsys, "马塘", "ZR-02", "2026-04-02T15:30")
    verify(ws, capsys, fid, "2026-04-03T10:00")
    out = ok(["patrol", "promote", ws, fid, "--to", "violations"], capsys)
    cid = out.split(" -> ")[1].split(":")[0]
    assert cid == "LW-441803-2026-000001" and "两违" in out
    from parcelwatch.ledger.workspace import open_workspace
    from parcelwatch.patrol.records import RecordBook
    from parcelwatch.violations import records as _r  # noqa: F401

    with open_workspace(ws) as w:
        book = RecordBook(w.store)
        case = book.get("violation_cases", cid)
        assert (
            case["found_by"] == "村网格巡查"
            and case["found_ref"] == fid
            and case["finding_ids"] == [fid]
        )
        assert book.get("patrol_findings", fid)["violation_case_id"] == cid


def test_T_A_12_compare_through_the_cli(tmp_path, capsys):
    """One case drawn as a 100 m square; parcel A covers 60 % of it, parcel C is elsewhere."""
    import geopandas as gpd
    import pyogrio
    import shapely

    from parcelwatch.ledger.workspace import open_workspace
    from parcelwatch.patrol.records import RecordBook
    from parcelwatch.violations import records as R
    from parcelwatch.violations.cases import ViolationSettings

    ws = tmp_path / "ws"
    ok(["init", ws, "--county-code", "370790"], capsys)
    sq = (
        gpd.GeoSeries([shapely.box(390000, 4080000, 390100, 4080100)], crs=4549)
        .to_crs(4490)
        .iloc[0]
    )
    with open_workspace(ws) as w:
        R.add_case(RecordBook(w.store), ViolationSettings(), county_code="370790", found_at=datetime(2018, 5, 1, tzinfo=timezone.utc),
                   found_by="镇巡查", fields={"geom_wkt": shapely.to_wkt(sq)}, user="u", now=datetime(2018, 5, 1, tzinfo=timezone.utc))  # fmt: skip
    parcels = gpd.GeoDataFrame(
        {"JCBH": ["A", "C"]},
        geometry=[
            shapely.box(390040, 4080000, 390140, 4080100),
            shapely.box(395000, 4080000, 395100, 4080100),
        ],
        crs=4549,
    )
    pyogrio.write_dataframe(parcels, tmp_path / "航拍.gpkg")
    args = [
        "violations",
        "compare",
        ws,
        "--parcels",
        tmp_path / "航拍.gpkg",
        "--run",
        "2018年第2期航拍",
    ]
    out = ok(args, capsys)
    assert "已登记 1，疑似反弹 0，未登记 1（未记录" in out
    ok([*args, "--record"], capsys)
    assert "已登记 2，疑似反弹 0，未登记 0（已记录）" in ok([*args, "--record"], capsys)
