"""SEED-SYSTEMS §E2: the 巡察整改 report of seed 001 (太山镇, feedback of 2024-10-14).

The three seed problems, with the completion dates of §E2.3's worked example (2024-12-20 for
problems 1 and 2, problem 3 整改中). By hand: 2 of 3 done = 66.67 % -> "67%" half-up.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import openpyxl
import pytest

from parcelwatch.cli import main
from parcelwatch.errors import SchemaError
from parcelwatch.ledger.add import NewProblem, add_problem
from parcelwatch.ledger.model import Change, Status
from parcelwatch.ledger.stats import records_as_of
from parcelwatch.ledger.workspace import open_workspace
from parcelwatch.pipeline import init_workspace
from parcelwatch.reports.inspection import (
    ACTIONS,
    DOCUMENTS,
    ITEMS,
    InspectionBook,
    figure_sentence,
    inspection_figures,
    inspection_markdown,
    unit_lines,
)
from parcelwatch.reports.rounding import percent_text

TZ = timezone(timedelta(hours=8))
REF = "《关于获嘉县太山镇乡村振兴专项巡察问题清单的反馈意见》"
ASPECT = "违法违规占用耕地、耕地“非农化”、非粮化"
SEED = [
    (1, "新增违法占地禁而不绝", "太山镇沙窝营村村西小猛超市西一处新建房，于2023年建设，占地面积约0.23亩，地类为耕地，未办理建设用地手续，属于违法占地。"),
    (2, "耕地撂荒还有存在", "太山镇仁爱路安王路中国国际能源南侧地块于2022年撂荒，占地面积约5.66亩，地类为耕地。"),
    (3, "违规改变用地用途", "太山镇秋军畜禽养殖服务专业合作社，占地8.2亩，申报用地用途养殖羊，高度3.5米，2023年翻建厂房为钢结构，高度约11米，改变用地用途。"),
]  # fmt: skip
SENTENCE = "截至2025年2月14日，巡察反馈的3个具体问题，已完成整改2个，未整改（正在整改）1项，整改完成率为67%，修订完善各类规章制度1项。"


def at(y, m, d, h=10):
    return datetime(y, m, d, h, tzinfo=TZ)


@pytest.fixture
def seed_ws(tmp_path):
    """The seed's items entered as they happened (audit times on the real dates)."""
    ws = init_workspace(
        tmp_path / "ws", county_code="410724", county_name="获嘉县", now=at(2024, 10, 1)
    )
    book = InspectionBook(ws.store)
    ids = []
    for no, title, case in SEED:
        ids.append(
            book.add_item(
                unit="太山镇",
                feedback_ref=REF,
                feedback_on=date(2024, 10, 14),
                aspect=ASPECT,
                problem_no=no,
                title=title,
                typical_case=case,
                measures=[f"措施{no}"],
                responsible_leader="徐波",
                responsible_unit="村镇规划建设办公室",
                user="镇党政办",
                now=at(2024, 10, 15),
            )  # fmt: skip
        )
    book.add_action(
        ids[0],
        on=date(2024, 10, 15),
        text="镇人大主席徐波带领沙窝营村干部及综合执法人员实地走访",
        user="u",
        now=at(2024, 10, 15),
    )
    book.add_action(
        ids[2],
        on=date(2025, 1, 24),
        text="班子会议研究同意办理设施农用地备案",
        user="u",
        now=at(2025, 1, 24),
    )
    book.set_item(
        ids[0],
        status="已完成",
        completed_on=date(2024, 12, 20),
        decision_ref="获政土〔2024〕27号",
        user="u",
        now=at(2024, 12, 20),
    )
    book.set_item(
        ids[1], status="已完成", completed_on=date(2024, 12, 20), user="u", now=at(2024, 12, 20)
    )
    book.set_item(ids[2], status="整改中", user="u", now=at(2025, 1, 24))
    book.add_document(
        kind="规章制度",
        title="太山镇耕地保护巡查制度",
        issued_on=date(2025, 1, 10),
        tags=[REF],
        user="u",
        now=at(2025, 1, 10),
    )
    yield ws, book, ids
    ws.close()


def figures(ws, book, as_of):
    items, late = book.state_as_of(ITEMS.name, as_of)
    acts, _ = book.state_as_of(ACTIONS.name, as_of)
    docs, _ = book.state_as_of(DOCUMENTS.name, as_of)
    probs = {r.problem_id: r for r in records_as_of(ws.store.events(), as_of)}
    return inspection_figures(items, acts, docs, as_of=as_of, problems=probs, backfilled=late)


def test_T_E2_01_the_three_seed_problems_as_of_2025_02_14(seed_ws):
    f = figures(*seed_ws[:2], date(2025, 2, 14))
    assert (f.problems, f.aspects, f.measures, f.done, f.in_progress, f.regulations) == (
        3,
        1,
        3,
        2,
        1,
        1,
    )
    assert f.rate_text == "67%" and f.overdue == 0


def test_T_E2_02_the_figure_sentence(seed_ws):
    assert figure_sentence(figures(*seed_ws[:2], date(2025, 2, 14))) == SENTENCE


def test_T_E2_03_a_completion_after_the_report_date_is_not_counted(seed_ws):
    ws, book, ids = seed_ws
    book.set_item(ids[1], completed_on=date(2025, 2, 20), user="u", now=at(2025, 2, 20))
    f = figures(ws, book, date(2025, 2, 14))
    assert (f.done, f.rate_text) == (2, "67%")  # the audit as of 02-14 still says 2024-12-20
    f = figures(ws, book, date(2025, 2, 20))
    assert f.done == 2
    # entered late (back-filled): the business date decides
    items = [
        dict(i, completed_on="2025-02-20") if i["item_id"] == ids[1] else i
        for i in book.book.all(ITEMS.name)
    ]
    f = inspection_figures(items, [], [], as_of=date(2025, 2, 14))
    assert (f.done, f.rate_text) == (1, "33%")


def test_T_E2_04_one_of_eight_is_13_percent_half_up():
    assert percent_text(1, 8, 0) == "13%" and round(100 / 8) == 12
    items = [{"item_id": f"X{i}", "feedback_ref": "R", "feedback_on": "2024-01-01", "aspect": "A", "problem_no": str(i),
              "measures": ["m"], "status": "已完成" if i == 1 else "整改中", "completed_on": "2024-02-01" if i == 1 else None,
              "responsible_unit": "U", "due": "2030-01-01"} for i in range(1, 9)]  # fmt: skip
    assert inspection_figures(items, [], [], as_of=date(2024, 3, 1)).rate_text == "13%"


def test_T_E2_05_overdue_the_day_after_the_due_date_puts_the_unit_on_the_chase_list(seed_ws):
    ws, book, ids = seed_ws
    assert book.book.get(ITEMS.name, ids[2])["due"] == "2025-02-14"  # feedback + 4 months
    f = figures(ws, book, date(2025, 2, 15))
    assert f.overdue == 1
    (unit,) = f.units
    assert unit[0] == "村镇规划建设办公室" and unit[5] == 1 and unit[6] is True
    assert unit_lines(f) == ["村镇规划建设办公室：3 项，已完成 2，正在整改 1，逾期 1（督办）"]
    assert unit_lines(figures(ws, book, date(2025, 2, 14))) == [
        "村镇规划建设办公室：3 项，已完成 2，正在整改 1，逾期 0"
    ]


def test_T_E2_06_done_needs_its_completion_date(seed_ws):
    ws, book, ids = seed_ws
    with pytest.raises(SchemaError, match="--completed"):
        book.set_item(ids[2], status="已完成", user="u", now=at(2025, 2, 1))
    assert book.book.get(ITEMS.name, ids[2])["status"] == "整改中"


def test_T_E2_07_the_text_has_the_seeds_headings(seed_ws):
    md = inspection_markdown(figures(*seed_ws[:2], date(2025, 2, 14)), contact="0373-4961003")
    heads = ["一、整改工作情况", "二、巡察反馈问题整改落实情况", "三、下一步整改工作安排"]
    subs = ["（一）集中整改期内已经完成的整改事项", "（二）正在推进整改的问题"]
    pos = [md.index(h) for h in heads[:2] + subs + heads[2:]]
    assert pos == sorted(pos)
    done_part = md[md.index(subs[0]) : md.index(subs[1])]
    assert "问题1：新增违法占地禁而不绝" in done_part and "问题3" not in done_part
    assert "截至目前，共计1个问题正在整改过程中，仍需深化整改。" in md and SENTENCE in md
    assert "0373-4961003" in md


def test_T_E2_08_an_item_whose_ledger_problem_rebounds_shows_rebound(seed_ws):
    ws, book, ids = seed_ws
    pid = add_problem(ws.store, NewProblem("巡察", "太山镇", "沙窝营村", lon=113.61, lat=35.27, found_on=date(2024, 10, 14)),
                      user="u", now=at(2024, 10, 16), rules=ws.rules)  # fmt: skip
    book.set_item(ids[0], problem_ids=[pid], user="u", now=at(2024, 10, 16))
    steps = [("未整改", {"judgement_type": "农村乱占耕地建房", "confirmed_class": "conversion", "measure": "拆除+复耕"}),
             ("整改中", {}), ("待验收", {}), ("已销号", {"decision_ref": "获政土〔2024〕27号"})]  # fmt: skip
    for k, (st, fields) in enumerate(steps):
        ws.store.apply([Change(pid, Status.parse(st), fields)], user="u", now=at(2024, 11, 1 + k))
    ws.store.apply(
        [Change(pid, Status.REBOUND, note="回头看发现复建")], user="u", now=at(2025, 3, 1)
    )
    before = figures(ws, book, date(2025, 2, 14))
    assert before.done == 2 and before.items[0].status == "已完成"
    after = figures(ws, book, date(2025, 3, 1))
    assert after.items[0].status == "反弹" and pid in after.items[0].note and after.done == 1


def test_records_replay_rebuilds_the_tables_and_history_is_append_only(seed_ws):
    ws, book, ids = seed_ws
    for e in (ITEMS, ACTIONS, DOCUMENTS):
        assert book.book.replay(e.name) == book.book.all(e.name)
    audit = book.book.audit(ITEMS.name, ids[0])
    assert [a["kind"] for a in audit] == ["create", "edit"] and audit[1]["user"] == "u"
    import sqlite3

    con = sqlite3.connect(ws.path / "ledger.gpkg")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("DELETE FROM audit_events")
    con.close()


def test_done_when_2_seed_001_through_the_cli(tmp_path, capsys):
    """Seed 001's case typed in afterwards: three 巡察 problems with `ledger add`, two closed with
    the approval reference, the items and the regulation; the report as of 2025-02-14 says 67%."""

    def run(*args):
        code = main([str(a) for a in args])
        cap = capsys.readouterr()
        assert code == 0, cap.err
        return cap.out

    ws = tmp_path / "ws"
    run("init", ws, "--county-code", "410724", "--county-name", "获嘉县")
    pids = []
    for (no, _title, _case), (place, year, lon) in zip(SEED, [("沙窝营村村西小猛超市西", 2023, 113.61), ("仁爱路安王路中国国际能源南侧", 2022, 113.62), ("秋军畜禽养殖服务专业合作社", 2023, 113.63)], strict=True):  # fmt: skip
        out = run("ledger", "add", ws, "--source", "巡察", "--source-ref", f"巡察问题{no}", "--township", "太山镇",
                  "--lon", lon, "--lat", 35.27, "--found", "2024-10-14", "--place", place, "--construction-year", year,
                  "--leader", "徐波", "--unit", "村镇规划建设办公室", "--user", "镇自然资源所")  # fmt: skip
        pids.append(out.split(":")[0])
    assert pids == ["410724-2024-000001", "410724-2024-000002", "410724-2024-000003"]
    for pid, jt, measure in (
        (pids[0], "农村乱占耕地建房", "拆除+复耕"),
        (pids[1], "耕地撂荒", "复耕"),
    ):
        run(
            "ledger",
            "set",
            ws,
            pid,
            "--status",
            "未整改",
            "--judgement-type",
            jt,
            "--class",
            "conversion",
            "--measure",
            measure,
            "--user",
            "u",
        )
        for st in ("整改中", "待验收"):
            run("ledger", "set", ws, pid, "--status", st, "--user", "u")
        run(
            "ledger",
            "set",
            ws,
            pid,
            "--status",
            "已销号",
            "--decision-ref",
            "获政土〔2024〕27号",
            "--user",
            "u",
        )
    for (no, title, case), pid in zip(SEED, pids, strict=True):
        out = run("inspection", "add", ws, "--unit", "太山镇", "--feedback-ref", REF, "--feedback-on", "2024-10-14",
                  "--aspect", ASPECT, "--no", no, "--title", title, "--case", case, "--measure", f"措施{no}",
                  "--leader", "徐波", "--resp-unit", "村镇规划建设办公室", "--problem", pid, "--user", "u")  # fmt: skip
    for iid in ("XCZG-2024-001", "XCZG-2024-002"):
        run(
            "inspection",
            "set",
            ws,
            iid,
            "--status",
            "已完成",
            "--completed",
            "2024-12-20",
            "--decision-ref",
            "获政土〔2024〕27号",
            "--user",
            "u",
        )
    run(
        "inspection",
        "action",
        ws,
        "XCZG-2024-001",
        "--on",
        "2024-10-15",
        "--text",
        "实地走访",
        "--user",
        "u",
    )
    run(
        "docs",
        "add",
        ws,
        "--kind",
        "规章制度",
        "--title",
        "耕地保护巡查制度",
        "--issued",
        "2025-01-10",
        "--tag",
        REF,
        "--user",
        "u",
    )
    out = run("inspection", "stats", ws, "--as-of", "2025-02-14")
    assert SENTENCE in out and "村镇规划建设办公室：3 项，已完成 2，正在整改 1，逾期 0" in out
    xlsx, md = tmp_path / "巡察整改台账.xlsx", tmp_path / "巡察整改情况.md"
    out = run(
        "inspection",
        "report",
        ws,
        "--as-of",
        "2025-02-14",
        "-o",
        xlsx,
        "--text",
        md,
        "--contact",
        "0373-4961003",
    )
    assert "整改完成率为67%" in out
    wb = openpyxl.load_workbook(xlsx)
    assert wb.sheetnames == ["整改台账", "整改统计", "整改进展记录"]
    st = wb["整改统计"]
    assert [c.value for c in st[4]][1:9] == [1, 3, 3, 2, 1, "67%", 1, 0] and st.cell(
        4, 10
    ).value == pytest.approx(0.6667)
    assert "合计：3个问题，3项措施" in [c.value for c in wb["整改台账"]["A"]]
    assert "10月15日，实地走访" in [c.value for c in wb["整改台账"]["J"]]
    assert "问题1：新增违法占地禁而不绝" in md.read_text(encoding="utf-8")
    with open_workspace(ws) as w:
        recs = {r.problem_id: r for r in w.store.records()}
    assert [recs[p].status.value for p in pids] == ["已销号", "已销号", "未核查"]
    assert (
        recs[pids[0]].construction_year == 2023
        and recs[pids[0]].decision_ref == "获政土〔2024〕27号"
    )


def test_E2_weekly_bulletin_chases_the_slow_unit_and_is_logged(seed_ws, tmp_path, capsys):
    """`inspection weekly --week-of 2025-02-10`: the week 02-10..02-16, figures as of 02-16. Problem
    3 (due 2025-02-14 = feedback + 4 months) is overdue, so 村镇规划建设办公室 (3 items, 2 done,
    1 in progress, 1 overdue, 2/3 -> 67%) is chased (督办 是). The week of 02-03 (as of 02-09):
    nothing overdue and the unit's rate equals the overall rate, so 督办 否. The same week twice
    gives one report_log row of kind 巡察周通报."""
    from parcelwatch.reports.reportlog import ReportLog

    ws, _, _ = seed_ws
    path = ws.path
    ws.close()
    out = tmp_path / "巡察整改周通报.xlsx"
    for _ in range(2):
        code = main(["inspection", "weekly", str(path), "--week-of", "2025-02-10", "-o", str(out),
                     "--recipient", "县委巡察办", "--user", "u"])  # fmt: skip
        cap = capsys.readouterr()
        assert code == 0, cap.err
    assert "村镇规划建设办公室：3 项，已完成 2，正在整改 1，逾期 1（督办）" in cap.out
    rows = [tuple(r) for r in openpyxl.load_workbook(out)["周通报"].iter_rows(values_only=True)]
    assert rows[2] == (
        "序号",
        "责任单位",
        "责任领导",
        "整改事项(项)",
        "已完成",
        "正在整改",
        "逾期",
        "完成率",
        "是否督办",
    )
    assert rows[3] == (1, "村镇规划建设办公室", "徐波", 3, 2, 1, 1, "67%", "是")
    assert rows[4][:8] == ("合计", None, None, 3, 2, 1, 1, "67%")
    assert "统计周期：2025-02-10至2025-02-16" in rows[1][0]
    assert rows[6][0].startswith("提醒督办：村镇规划建设办公室（逾期1项，完成率67%）")
    earlier = tmp_path / "earlier.xlsx"
    assert (
        main(
            [
                "inspection",
                "weekly",
                str(path),
                "--week-of",
                "2025-02-03",
                "-o",
                str(earlier),
                "--user",
                "u",
            ]
        )
        == 0
    )
    rows = [tuple(r) for r in openpyxl.load_workbook(earlier)["周通报"].iter_rows(values_only=True)]
    assert rows[3] == (1, "村镇规划建设办公室", "徐波", 3, 2, 1, 0, "67%", "否")
    with open_workspace(path) as w:
        log = ReportLog(w.store).rows(kind="巡察周通报", now=at(2025, 3, 1))
    assert sorted((r["period_start"], r["period_end"]) for r in log) == [
        ("2025-02-03", "2025-02-09"),
        ("2025-02-10", "2025-02-16"),
    ]
