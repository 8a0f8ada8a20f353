"""`violations daily / evaluate / publish / blacklist export / to-ledger` (SEED-SYSTEMS §A.4-§A.6).

Hand-built cases (all 2018, county 样例县; areas in m², basis 建筑面积):

| case | town | found | 建设 | area | later |
|---|---|---|---|---|---|
| A | 禾丰镇 | 05-03 10:00 | 2018-05-01 (增量) | 250 | 拟拆公示 05-10 |
| B | 禾丰镇 | 04-01 | 2018-03-01 (增量) | 400 | 拆除 400 on 05-03 |
| F | 禾丰镇 | 04-10 | 2018-03-01 (增量) | 1000 | 拆除 1000 on 04-15 |
| C | 东河乡 | 05-03 16:00 | 2018-05-01 (增量) | 310 | 已认定, 情节严重, blacklisted 05-20 |
| D | 东河乡 | 03-01 | 2016-01-01 (存量) | 500 | 没收 300 on 05-03 |
| E | 柳湾镇 | 05-02 | 2018-05-01 (增量) | 300 | 制止 05-03 09:00, 挂牌督办 县 |

Daily 2018-05-03: 禾丰镇 new 1 (250), 拆除 1 (400), year 1400; 东河乡 new 1 (310), other 1 (300),
year 300; 柳湾镇 制止 1; 合计 2 / 560 / 1 / 1 / 400 / 1 / 300 / 1700.
Evaluation 2018H1: new 增量 禾丰镇 3 (1650), 东河乡 1 (310), 柳湾镇 1 (300); 拆除 禾丰镇 2 (1400);
没收 东河乡 1 (300); ranks by year area 禾丰镇 1, 东河乡 2, 柳湾镇 3; 挂牌督办 柳湾镇 1; 公示拟拆
禾丰镇 1; 黑名单 东河乡 1.
"""

from __future__ import annotations

from datetime import datetime, timezone

import geopandas as gpd
import openpyxl
import pyogrio
import pytest
import shapely

from tests.patrol.test_cli_patrol import ok, run
from tests.violations.test_cli_reports import add, dispose


def _set(ws, capsys, cid, *fields, status=None):
    args = [
        "violations",
        "set",
        ws,
        cid,
        *[x for f in fields for x in ("--field", f)],
        "--user",
        "u",
    ]
    if status:
        args += ["--status", status]
    ok(args, capsys)


@pytest.fixture
def scene(tmp_path, capsys):
    ws = tmp_path / "ws"
    ok(["init", ws, "--county-code", "370790", "--county-name", "样例县"], capsys)
    ok(["violations", "target", ws, "--year", "2018", "--m2", "320000"], capsys)
    c = {}
    c["A"] = add(ws, capsys, "禾丰镇", "2018-05-03T10:00", 250)
    c["B"] = add(ws, capsys, "禾丰镇", "2018-04-01T10:00", 400, started="2018-03-01")
    c["F"] = add(ws, capsys, "禾丰镇", "2018-04-10T10:00", 1000, started="2018-03-01")
    p = ok(["violations", "party", ws, "--kind", "个人", "--name", "李四"], capsys).split()[0]
    c["C"] = ok(["violations", "add", ws, "--found", "2018-05-03T16:00", "--found-by", "举报", "--township", "东河乡",
                 "--building", "--floor-m2", "310", "--started", "2018-05-01", "--household", "李四", "--party", p],
                capsys).split(":")[0]  # fmt: skip
    c["D"] = add(ws, capsys, "东河乡", "2018-03-01T10:00", 500, started="2016-01-01")
    c["E"] = add(ws, capsys, "柳湾镇", "2018-05-02T10:00", 300)
    dispose(ws, capsys, c["B"], 400, "2018-05-03")
    dispose(ws, capsys, c["F"], 1000, "2018-04-15")
    dispose(ws, capsys, c["D"], 300, "2018-05-03", disposal="没收")
    _set(ws, capsys, c["A"], "planned_published_on=2018-05-10", "building_types=出租房、多次加层")
    _set(ws, capsys, c["E"], status="已认定")
    _set(ws, capsys, c["E"], "stopped_at=2018-05-03T09:00", "supervision_level=县", status="已制止")
    _set(ws, capsys, c["C"], "serious=是", status="已认定")
    ok(["violations", "blacklist", "add", ws, "--party", p, "--case", c["C"], "--reason", "顶风抢建",
        "--on", "2018-05-20"], capsys)  # fmt: skip
    return ws, c


def test_daily_report_printed_and_excel(scene, capsys, tmp_path):
    ws, c = scene
    out_x = tmp_path / "日报.xlsx"
    out = ok(["violations", "daily", ws, "--date", "2018-05-03", "-o", out_x], capsys)
    rows = {ln.split()[0]: ln.split()[1:] for ln in out.splitlines() if ln.split()}
    assert rows["禾丰镇"] == ["1", "250.00", "0", "1", "400.00", "0", "0.00", "1400.00"]
    assert rows["东河乡"] == ["1", "310.00", "0", "0", "0.00", "1", "300.00", "300.00"]
    assert rows["柳湾镇"] == ["0", "0.00", "1", "0", "0.00", "0", "0.00", "0.00"]
    assert rows["合计"] == ["2", "560.00", "1", "1", "400.00", "1", "300.00", "1700.00"]
    assert "当日新发现 2 宗" in out and c["A"] in out and c["C"] in out and "张某" in out
    assert "张三" not in out and "李四" not in out
    s = openpyxl.load_workbook(out_x)["两违日报"]
    assert "日报告" in s["A1"].value and s["B3"].value == "新发现" and s["B4"].value == "宗数"
    assert {"B3:C3", "A3:A4", "I3:I4"} <= {str(m) for m in s.merged_cells.ranges}
    assert s["B5"].value == "宗" and s["A9"].value == "合计"
    assert [s.cell(9, j).value for j in range(2, 10)] == [2, 560, 1, 1, 400, 1, 300, 1700]
    detail = openpyxl.load_workbook(out_x)["新发现明细"]
    assert {detail.cell(r, 2).value for r in (4, 5)} == {c["A"], c["C"]}


def test_half_year_evaluation(scene, capsys, tmp_path):
    ws, _c = scene
    out = tmp_path / "考评.xlsx"
    ok(["violations", "evaluate", ws, "--half", "2018H1", "-o", out], capsys)
    s = openpyxl.load_workbook(out)["两违考评"]
    assert s["A1"].value == "样例县2018年上半年“两违”综合治理考评情况"
    assert "2018-01-01至2018-06-30" in s["A2"].value and "不计算得分" in s["A2"].value
    heads = [s.cell(3, j).value for j in range(1, 21)]
    assert heads[16:] == ["挂牌督办未办结", "公示拟拆", "列入黑名单", "排名"]
    rows = {s.cell(r, 2).value: [s.cell(r, j).value for j in range(3, 21)] for r in range(6, 9)}
    # 新增 宗/㎡, 制止, 拆除 宗/㎡, 没收 宗/㎡, 完善 x2, 保留 x2, 本年累计, 目标, 完成率, 挂牌, 公示, 黑名单, 排名
    assert rows["禾丰镇"] == [3, 1650, 0, 2, 1400, 0, 0, 0, 0, 0, 0, 1400, None, None, 0, 1, 0, 1]
    assert rows["东河乡"] == [1, 310, 0, 0, 0, 1, 300, 0, 0, 0, 0, 300, None, None, 0, 0, 1, 2]
    assert rows["柳湾镇"] == [1, 300, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, None, None, 1, 0, 0, 3]
    assert s["A9"].value == "合计" and s["C9"].value == 5 and s["N9"].value == 1700
    code, _o, err = run(["violations", "evaluate", ws, "--half", "2018H3"], capsys)
    assert code == 1 and "2018H1" in err and "Traceback" not in err


def test_publish_planned_and_demolished_lists(scene, capsys, tmp_path):
    ws, c = scene
    planned = tmp_path / "拟拆.xlsx"
    assert "(1 宗)" in ok(["violations", "publish", ws, "--list", "planned", "--until", "2018-05-31",
                           "--deadline", "2018-06-10", "-o", planned], capsys)  # fmt: skip
    s = openpyxl.load_workbook(planned)["拟拆名单"]
    assert [s.cell(3, j).value for j in range(1, 10)][-1] == "拟拆期限"
    assert [s.cell(4, j).value for j in range(1, 10)] == [1, "禾丰镇", None, "张某", None, 250, "出租房、多次加层",
                                                          "违法建设（待核实）", "2018-06-10"]  # fmt: skip
    code, _o, err = run(["violations", "set", ws, c["A"], "--field", "zones=市中心"], capsys)
    assert code == 1 and "城中村" in err and "Nothing was changed" in err
    done = tmp_path / "拆除.xlsx"
    ok(["violations", "publish", ws, "--list", "demolished", "--since", "2018-05-01", "--until", "2018-05-31",
        "-o", done], capsys)  # fmt: skip
    s = openpyxl.load_workbook(done)["拆除情况"]
    assert s.cell(3, 9).value == "拆除日期" and s.cell(4, 9).value == "2018-05-03"
    assert s.cell(5, 1).value is None  # only B (F was demolished in April)


def test_blacklist_export_shows_only_the_id_tail(scene, capsys, tmp_path):
    ws, c = scene
    p = ok(["violations", "party", ws, "--kind", "个人", "--name", "王五", "--id-number", "370790198001011234"],
           capsys).split()[0]  # fmt: skip
    cid = ok(["violations", "add", ws, "--found", "2018-06-01T10:00", "--found-by", "举报", "--land", "--party", p],
             capsys).split(":")[0]  # fmt: skip
    _set(ws, capsys, cid, "serious=是", status="已认定")
    eid = ok(["violations", "blacklist", "add", ws, "--party", p, "--case", cid, "--reason", "拒不拆除",
              "--approved-ref", "禾治违〔2018〕5号", "--on", "2018-06-05"], capsys).split(":")[0]  # fmt: skip
    ok(
        [
            "violations",
            "blacklist",
            "remove",
            ws,
            eid,
            "--reason",
            "已自行拆除",
            "--on",
            "2018-07-01",
        ],
        capsys,
    )
    out = tmp_path / "黑名单.xlsx"
    assert "(2 条)" in ok(["violations", "blacklist", "export", ws, "-o", out], capsys)
    s = openpyxl.load_workbook(out)["两违黑名单"]
    assert [s.cell(3, j).value for j in (4, 5, 13)] == ["姓名/名称", "证件号(后4位)", "状态"]
    row = [s.cell(5, j).value for j in range(1, 16)]
    assert row[1] == eid and row[4] == "1234" and row[9] == "禾治违〔2018〕5号"
    assert row[12:] == ["已移出", "2018-07-01", "已自行拆除"]
    text = " ".join(str(s.cell(r, j).value) for r in range(1, 6) for j in range(1, 16))
    assert "370790198001011234" not in text


def test_to_ledger_links_both_ways_with_the_farmland_overlay(tmp_path, capsys):
    """The case is the 100 m square (100..200, 100..200) of the ledger scene, all on 旱地: the new
    problem's 耕地 is ~10 000 m² (the GK areal scale adds ~0.03 %)."""
    from parcelwatch.ledger.workspace import open_workspace
    from parcelwatch.patrol.records import RecordBook
    from parcelwatch.violations import records as R
    from parcelwatch.violations.cases import ViolationSettings
    from tests.ledger.conftest import FARM, box

    ws = tmp_path / "ws"
    ok(["init", ws, "--county-code", "370790"], capsys)
    farmland = tmp_path / "dltb.gpkg"
    pyogrio.write_dataframe(FARM, farmland)
    site = gpd.GeoSeries([box(100, 100, 200, 200)], crs=4549).to_crs(4490).iloc[0]
    t = datetime(2018, 5, 3, 2, tzinfo=timezone.utc)
    with open_workspace(ws) as w:
        cid, _ = R.add_case(RecordBook(w.store), ViolationSettings(), county_code="370790", found_at=t, found_by="航拍",
                            fields={"geom_wkt": shapely.to_wkt(site), "address": "村西", "village_name": "沙窝营村"},
                            user="u", now=t)  # fmt: skip
    code, _o, err = run(["violations", "to-ledger", ws, cid], capsys)
    assert code == 1 and "--township" in err and "Traceback" not in err
    out = ok(
        [
            "violations",
            "to-ledger",
            ws,
            cid,
            "--township",
            "太山镇",
            "--farmland",
            farmland,
            "--user",
            "张某",
        ],
        capsys,
    )
    pid = out.split(" -> ")[1].split(":")[0]
    assert pid == "370790-2018-000001" and "来源 两违" in out
    with open_workspace(ws) as w:
        rec = w.store.get(pid)
        case = RecordBook(w.store).get("violation_cases", cid)
        events = RecordBook(w.store).audit("violation_cases", cid)
    assert case["ledger_problem_id"] == pid and events[-1]["kind"] == "to_ledger"
    assert rec.source == "两违" and rec.source_ref == cid and rec.place_text == "村西"
    assert rec.village_name == "沙窝营村" and str(rec.found_on) == "2018-05-03"
    assert rec.farmland_m2 == pytest.approx(10_000, rel=1e-3)
    code, _o, err = run(["violations", "to-ledger", ws, cid, "--township", "太山镇"], capsys)
    assert code == 1 and pid in err


def test_monthly_and_patrol_bulletins_are_logged_in_the_report_log(scene, capsys, tmp_path):
    """0.P4: `violations monthly` and `patrol bulletin` add a 报送记录 row (not yet submitted); the
    same period again updates that row's file and hash."""
    from parcelwatch.ledger.workspace import open_workspace
    from parcelwatch.reports.reportlog import ReportLog
    from tests.patrol.conftest import set_points

    ws, _c = scene
    for _ in range(2):
        out = ok(
            ["violations", "monthly", ws, "--month", "2018-05", "-o", tmp_path / "月通报.xlsx"],
            capsys,
        )
    assert "报送记录 RPT-000001" in out
    ok(["patrol", "init", ws], capsys)
    set_points(ws)
    out = ok(
        [
            "patrol",
            "bulletin",
            ws,
            "--month",
            "2018-05",
            "-o",
            tmp_path / "巡查.xlsx",
            "--user",
            "执法办",
        ],
        capsys,
    )
    assert "报送记录 RPT-000002" in out
    with open_workspace(ws) as w:
        rows = ReportLog(w.store).book.all("report_log")
    assert [(r["kind"], r["period_start"], r["period_end"], r["due_at"][:10]) for r in rows] == [
        ("两违月通报", "2018-05-01", "2018-05-31", "2018-06-10"),
        ("月度巡查考评通报", "2018-05-01", "2018-05-31", "2018-06-10"),
    ]
    assert all(r["submitted_at"] is None and len(r["sha256"]) == 64 for r in rows)
    code, _o, err = run(["violations", "monthly", ws, "--month", "2018-5x"], capsys)
    assert code == 2 and "2026-04" in err


def test_chain_roles_and_hot_spots(scene, capsys):
    """施工队 builds A and B (利益链条 施工): a party with 2 cases. Found in 2018 by town: 禾丰镇 3
    (A, B, F), 东河乡 2 (C, D), 柳湾镇 1 (E); by month: 03 1 (D), 04 2 (B, F), 05 3 (A, C, E)."""
    ws, c = scene
    p = ok(["violations", "party", ws, "--kind", "单位", "--name", "某施工队", "--credit-code", "91370790MA0000000X"],
           capsys).split()[0]  # fmt: skip
    for case in (c["A"], c["B"]):
        assert "施工" in ok(
            ["violations", "chain", ws, case, "--party", p, "--role", "施工"], capsys
        )
    code, _o, err = run(["violations", "chain", ws, c["A"], "--party", p, "--role", "施工"], capsys)
    assert code == 1 and "already" in err
    code, _o, err = run(
        ["violations", "chain", ws, c["A"], "--party", p, "--role", "包工头"], capsys
    )
    assert code == 1 and "监理" in err and "Traceback" not in err
    out = ok(
        ["violations", "hotspots", ws, "--since", "2018-01-01", "--until", "2018-12-31"], capsys
    )
    rows = [ln.split() for ln in out.splitlines()]
    assert ["禾丰镇", "3"] in rows and ["东河乡", "2"] in rows and ["柳湾镇", "1"] in rows
    assert ["2018-03", "1"] in rows and ["2018-04", "2"] in rows and ["2018-05", "3"] in rows
    assert (
        "涉及2宗及以上的当事人 1 个" in out
        and f"{p} 某施工队: {'、'.join(sorted([c['A'], c['B']]))}" in out
    )


def test_add_case_with_a_site(tmp_path, capsys):
    from parcelwatch.ledger.workspace import open_workspace
    from parcelwatch.patrol.records import RecordBook
    from tests.ledger.conftest import box

    ws = tmp_path / "ws"
    ok(["init", ws, "--county-code", "370790"], capsys)
    site = tmp_path / "site.geojson"
    gpd.GeoDataFrame(geometry=[box(100, 100, 200, 200)], crs=4549).to_file(site)
    base = [
        "violations",
        "add",
        ws,
        "--found",
        "2018-05-03T10:00",
        "--found-by",
        "镇巡查",
        "--building",
    ]
    a = ok([*base, "--geometry", site], capsys).split(":")[0]
    b = ok([*base, "--lon", "113.6", "--lat", "35.3"], capsys).split(":")[0]
    code, _o, err = run([*base, "--geometry", site, "--lon", "113.6", "--lat", "35.3"], capsys)
    assert code == 2 and "not both" in err
    with open_workspace(ws) as w:
        book = RecordBook(w.store)
        ga = shapely.from_wkt(book.get("violation_cases", a)["geom_wkt"])
        assert book.get("violation_cases", b)["geom_wkt"] == "POINT (113.6000000 35.3000000)"
    expect = gpd.GeoSeries([box(100, 100, 200, 200)], crs=4549).to_crs(4490).iloc[0]
    assert ga.geom_type == "Polygon" and shapely.equals_exact(
        ga.normalize(), expect.normalize(), 1e-7
    )


def test_no_violation_unit_not_accepted_with_undisposed_cases(scene, capsys):
    """“无违建”创建: 柳湾镇 has E 已制止 -> 已验收 refused; after E is disposed it is accepted."""
    ws, c = scene
    wid = ok(["violations", "unit", ws, "--unit", "柳湾镇", "--status", "申请验收"], capsys).split(
        ":"
    )[0]
    code, _o, err = run(
        ["violations", "unit", ws, "--unit", "柳湾镇", "--status", "已验收", "--on", "2018-06-01"],
        capsys,
    )
    assert code == 1 and c["E"] in err and "nothing was changed" in err
    code, _o, err = run(
        ["violations", "unit", ws, "--unit", "柳湾镇", "--status", "已验收"], capsys
    )
    assert code == 1 and "--on" in err
    _set(ws, capsys, c["E"], "disposal=拆除", status="处置中")
    _set(
        ws,
        capsys,
        c["E"],
        "disposed_on=2018-05-20",
        "disposed_area_m2=300",
        "demolition_mode=助拆",
        status="已处置",
    )
    out = ok(["violations", "unit", ws, "--unit", "柳湾镇", "--status", "已验收", "--on", "2018-06-01",
              "--doc-ref", "柳政〔2018〕9号"], capsys)  # fmt: skip
    assert out.startswith(f"{wid}: 柳湾镇 已验收")
    from parcelwatch.ledger.workspace import open_workspace
    from parcelwatch.patrol.records import RecordBook

    with open_workspace(ws) as w:
        book = RecordBook(w.store)
        (row,) = book.all("no_violation_units")
        assert row["accepted_on"] == "2018-06-01" and row["version"] == 2
        assert book.replay("no_violation_units") == [row]
