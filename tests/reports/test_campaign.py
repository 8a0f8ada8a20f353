"""SEED-SYSTEMS §E1: the 回头看 two-day progress report (seed 000), on the worked example of E1.3:
村A and 村B, report 3 on 2021-05-25 (period 05-24..05-25). Each figure below is built to match a
cell of the example table (comments say which records make it)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import openpyxl
import pytest

from parcelwatch.cli import main
from parcelwatch.errors import SchemaError
from parcelwatch.ledger.model import Change, Status
from parcelwatch.pipeline import init_workspace
from parcelwatch.reports.campaign import (
    CampaignBook,
    default_end,
    due_dates,
    due_status,
    progress_rows,
    total_cells,
    write_campaign_report,
)
from parcelwatch.reports.reportlog import ReportLog

TZ = timezone(timedelta(hours=8))


def at(m, d):
    return datetime(2021, m, d, 10, tzinfo=TZ)


def test_T_E1_01_fifteen_reports_every_two_days():
    end = default_end(date(2021, 5, 19))
    dues = due_dates(date(2021, 5, 19), end, 2)
    assert end == date(2021, 6, 18) and len(dues) == 15
    assert (dues[0], dues[-1]) == (date(2021, 5, 21), date(2021, 6, 18))


def _problem(store, village, cls, status, created):
    fields = {
        "township_name": "水峪贯镇",
        "village_name": village,
        "candidate_class": cls,
        "year": 2021,
    }
    if status is Status.CLOSED:
        fields.update(judgement="违法", measure="拆除+复耕", closed_at="2020-12-01T10:00:00+08:00")
    elif status in (Status.ILLEGAL, Status.RECTIFYING):
        fields.update(judgement="违法")
    return store.apply(
        [Change(None, status, fields, kind="create")], user="u", now=created
    ).problem_ids[0]


@pytest.fixture
def example(tmp_path):
    ws = init_workspace(tmp_path / "ws", county_code="370790", now=at(5, 1))
    s = ws.store
    cb = CampaignBook(s)
    cb.start(name="大棚房专项清理整治回头看", unit="水峪贯镇", start=date(2021, 5, 19), office="镇领导小组办公室",
             recipient="县领导小组办公室", user="u", now=at(5, 19))  # fmt: skip
    # original problems (大棚房 class, created before the start): 村A 4, 村B 2
    a = [_problem(s, "村A", "I", Status.CLOSED, at(5, 1)) for _ in range(4)]
    b = [_problem(s, "村B", "II", Status.CLOSED, at(5, 1)) for _ in range(2)]
    # rechecks: A: a0 到位; a1 不到位 then 到位 (立行立改); a2 未复垦 (first visit in the period); a3 none
    cb.recheck(a[0], on=date(2021, 5, 20), by="张", result="整改到位", user="u", now=at(5, 20))
    cb.recheck(a[1], on=date(2021, 5, 20), by="张", result="整改不到位", user="u", now=at(5, 20))
    cb.recheck(a[1], on=date(2021, 5, 24), by="张", result="整改到位", user="u", now=at(5, 24))
    cb.recheck(a[2], on=date(2021, 5, 25), by="张", result="未复垦复耕", user="u", now=at(5, 25))
    # B: b0 到位, b1 反弹回潮 (closed -> 反弹 in the same transaction, T-E1-05)
    cb.recheck(b[0], on=date(2021, 5, 21), by="李", result="整改到位", user="u", now=at(5, 21))
    cb.recheck(b[1], on=date(2021, 5, 22), by="李", result="反弹回潮", user="u", now=at(5, 22))
    # clues: A 5 (2 in the period; 1 villa; 4 filed, 2 of them in progress), B 1 (filed, in progress)
    found = [(5, 20), (5, 21), (5, 23), (5, 24), (5, 25)]
    statuses = [Status.ILLEGAL, Status.RECTIFYING, Status.UNVERIFIED, Status.UNVERIFIED]
    for k, (m, d) in enumerate(found):
        cid = cb.add_clue(village="村A", source="村自查", found_on=date(2021, m, d),
                          suspected="疑似违建别墅" if k == 0 else "第二类", user="u", now=at(m, d))  # fmt: skip
        if k < 4:
            pid = _problem(s, "村A", "II", statuses[k], at(5, 25))
            cb.set_clue(cid, problem_id=pid, user="u", now=at(5, 25))
    cid = cb.add_clue(
        village="村B", source="群众举报", found_on=date(2021, 5, 22), user="u", now=at(5, 22)
    )
    cb.set_clue(
        cid, problem_id=_problem(s, "村B", "II", Status.ILLEGAL, at(5, 23)), user="u", now=at(5, 23)
    )
    # greenhouses: A 120, 66 + 30 (period) = 96; B 80, all 80 before the period
    cb.greenhouses(
        village="村A", kind="应排查", on=date(2021, 5, 19), count=120, user="u", now=at(5, 19)
    )
    cb.greenhouses(
        village="村A", kind="排查", on=date(2021, 5, 22), count=66, user="u", now=at(5, 22)
    )
    cb.greenhouses(
        village="村A", kind="排查", on=date(2021, 5, 24), count=30, user="u", now=at(5, 24)
    )
    cb.greenhouses(
        village="村B", kind="应排查", on=date(2021, 5, 19), count=80, user="u", now=at(5, 19)
    )
    cb.greenhouses(
        village="村B", kind="排查", on=date(2021, 5, 21), count=80, user="u", now=at(5, 21)
    )
    # sign-offs: A only the 村支书 (T-E1-07); B both on 05-24
    log = ReportLog(s)
    cid0 = cb.campaign()["campaign_id"]
    log.sign(
        object_kind="campaign_submission",
        object_id=f"{cid0}:村A",
        role="村支书",
        name="甲",
        signed_on=date(2021, 5, 24),
        user="u",
        now=at(5, 24),
    )
    for role in ("村支书", "村主任"):
        log.sign(
            object_kind="campaign_submission",
            object_id=f"{cid0}:村B",
            role=role,
            name="乙",
            signed_on=date(2021, 5, 24),
            user="u",
            now=at(5, 24),
        )
    yield ws, cb, b
    ws.close()


def _rows(ws, cb, day):
    return progress_rows(campaign=cb.campaign(), report_date=day, clues=cb.book.all("campaign_clues"),
                         rechecks=cb.book.all("campaign_rechecks"), checks=cb.book.all("campaign_checks"),
                         problems=ws.store.records(geometry=False), signoffs=ReportLog(ws.store).book.all("signoffs"))  # fmt: skip


def test_T_E1_03_04_06_07_the_worked_example(example):
    ws, cb, _ = example
    n, p0, p1, rows = _rows(ws, cb, date(2021, 5, 25))
    assert (n, p0, p1) == (3, date(2021, 5, 24), date(2021, 5, 25))
    assert [r.cells() for r in rows] == [
        ["村A", 120, 96, 30, "80.00%", 4, 3, 1, 2, 0, 0, 1, 5, 2, 1, 4, 1, 2, "否"],
        ["村B", 80, 80, 0, "100.00%", 2, 2, 0, 1, 0, 1, 0, 1, 0, 0, 1, 0, 1, "是(05-24)"],
    ]
    assert total_cells(rows) == [
        "合计",
        200,
        176,
        30,
        "88.00%",
        6,
        5,
        1,
        3,
        0,
        1,
        1,
        6,
        2,
        1,
        5,
        1,
        3,
        "1/2",
    ]


def test_T_E1_05_rebound_moves_the_ledger_problem_in_the_same_transaction(example):
    ws, cb, b = example
    rec = ws.store.get(b[1])
    assert rec.status is Status.REBOUND and "反弹回潮" in ws.store.events(b[1])[-1].note
    # an unknown result is refused before anything is written
    with pytest.raises(SchemaError, match="--result"):
        cb.recheck(b[0], on=date(2021, 5, 23), by="李", result="坏", user="u", now=at(5, 23))
    assert ws.store.get(b[0]).status is Status.CLOSED


def test_T_E1_02_08_09_report_log_due_and_workbook(example, tmp_path):
    ws, cb, _ = example
    write_campaign_report(
        ws.store, date(2021, 5, 21), tmp_path / "r1.xlsx", user="u", now=at(5, 21)
    )
    nxt, overdue = due_status(ws.store, date(2021, 5, 24))
    assert nxt == (3, date(2021, 5, 25)) and overdue == [(2, date(2021, 5, 23))]
    x = tmp_path / "回头看工作进展_第3期.xlsx"
    _, n, rid = write_campaign_report(ws.store, date(2021, 5, 25), x, user="u", now=at(5, 25))
    first = [
        [c.value for c in row]
        for sh in openpyxl.load_workbook(x).worksheets
        for row in sh.iter_rows()
    ]
    _, _, rid2 = write_campaign_report(ws.store, date(2021, 5, 25), x, user="u", now=at(5, 26))
    again = [
        [c.value for c in row]
        for sh in openpyxl.load_workbook(x).worksheets
        for row in sh.iter_rows()
    ]
    assert n == 3 and rid == rid2 and first == again
    logged = ReportLog(ws.store).rows(kind="回头看进展", now=at(5, 26))
    assert [r["period_end"] for r in logged] == ["2021-05-21", "2021-05-25"]
    wb = openpyxl.load_workbook(x)
    assert wb.sheetnames == ["工作进展情况", "问题线索台账", "原有问题核实"]
    sh = wb["工作进展情况"]
    assert "（第3期）" in sh["A1"].value and "2021-05-24至2021-05-25" in sh["A2"].value
    assert (
        sh.cell(3, 2).value == "大棚排查（逢棚必进必查）"
        and sh.cell(4, 2).value == "应排查"
        and sh.cell(5, 5).value == "%"
    )
    assert [c.value for c in sh[8]][:5] == ["合计", 200, 176, 30, "88.00%"]


def test_campaign_cli_round(tmp_path, capsys):
    def run(*args):
        code = main([str(a) for a in args])
        cap = capsys.readouterr()
        assert code == 0, cap.err
        return cap.out

    ws = tmp_path / "ws"
    run("init", ws, "--county-code", "370790")
    out = run(
        "campaign",
        "start",
        ws,
        "--name",
        "回头看",
        "--unit",
        "水峪贯镇",
        "--start",
        "2021-05-19",
        "--recipient",
        "县领导小组办公室",
        "--user",
        "u",
    )
    assert "15 report(s) due 2021-05-21 ... 2021-06-18" in out
    run(
        "campaign",
        "clue",
        ws,
        "--village",
        "村A",
        "--source",
        "镇巡查",
        "--found",
        "2021-05-20",
        "--suspected",
        "疑似违建别墅",
        "--user",
        "u",
    )
    run(
        "campaign",
        "greenhouses",
        ws,
        "--village",
        "村A",
        "--target",
        10,
        "--checked",
        5,
        "--on",
        "2021-05-20",
        "--user",
        "u",
    )
    run(
        "campaign",
        "submit",
        ws,
        "--village",
        "村A",
        "--on",
        "2021-05-21",
        "--secretary",
        "甲",
        "--director",
        "乙",
        "--user",
        "u",
    )
    out = run(
        "campaign", "report", ws, "--date", "2021-05-21", "-o", tmp_path / "r.xlsx", "--user", "u"
    )
    assert "第1期" in out
    out = run("campaign", "due", ws, "--today", "2021-05-24")
    assert "下一期：第3期 2021-05-25" in out and "逾期未报：第2期（2021-05-23）" in out
    sh = openpyxl.load_workbook(tmp_path / "r.xlsx")["工作进展情况"]
    assert [c.value for c in sh[6]][:5] == ["村A", 10, 5, 5, "50.00%"] and sh.cell(
        6, 19
    ).value == "是(05-21)"
