"""`patrol score --commit` (patrol_scores records with audit, §B.2/§B.4) and the quarterly grade
read from the committed months (R7, R8).

Hand-computed: the §B.3 worked example gives 马塘村 60 / 75 / 100 -> (235)/3 = 78.33 一般; one more
May village report of ZR-02 (2 points, with photo, verified in May) makes May 77, so the quarter
from the re-committed May is (60 + 77 + 100)/3 = 79.00 一般.
"""

from __future__ import annotations

from decimal import Decimal

from parcelwatch.ledger.workspace import open_workspace
from parcelwatch.patrol import scores as _scores  # noqa: F401  (registers patrol_scores)
from parcelwatch.patrol.records import PatrolBook
from tests.ledger.conftest import store  # noqa: F401  (fixture: gpkg and postgis)
from tests.patrol.test_cli_patrol import enter_worked_example, ok, report, row_of, run, verify


def _scores_of(ws):
    with open_workspace(ws) as w:
        book = PatrolBook(w.store)
        return book.all("patrol_scores"), book.audit("patrol_scores"), book.replay("patrol_scores")


def test_commit_months_and_quarter_from_committed(ws, capsys):
    enter_worked_example(ws, capsys)
    code, _out, err = run(
        ["patrol", "score", ws, "--quarter", "2026Q2", "--committed-only"], capsys
    )
    assert code == 1 and "2026-04" in err and "--commit" in err and "Traceback" not in err
    for m in ("2026-04", "2026-05", "2026-06"):
        out = ok(["patrol", "score", ws, "--month", m, "--commit", "--user", "执法办"], capsys)
        assert "新增 23 条，更新 0 条，未变 0 条" in out
    rows, audit, replay = _scores_of(ws)
    assert len(rows) == 69 and rows == replay
    assert {a["kind"] for a in audit} == {"create"} and {a["user"] for a in audit} == {"执法办"}
    matang = {r["month"]: r for r in rows if r["village"] == "马塘村"}
    assert [Decimal(matang[m]["score"]) for m in ("2026-04", "2026-05", "2026-06")] == [60, 75, 100]
    assert Decimal(matang["2026-06"]["raw"]) == 110 and matang["2026-05"]["vetoed"] == "否"
    assert matang["2026-05"]["scheme_digest"] and matang["2026-05"]["score_id"].startswith(
        "PS-202605-"
    )
    longwan = next(r for r in rows if r["village"] == "龙湾村" and r["month"] == "2026-05")
    assert longwan["vetoed"] == "是" and Decimal(longwan["score"]) == 0
    code, q, err = run(["patrol", "score", ws, "--quarter", "2026Q2", "--committed-only"], capsys)
    assert code == 0 and err == ""
    assert row_of(q, "马塘村")[2:] == ["60.00", "75.00", "100.00", "78.33", "一般", "是"]
    # the quarterly bulletin's 年度汇总: Q1 has no findings (every month 60); 马塘村's year so far is
    # (3 × 60 + 60 + 75 + 100) / 6 = 69.17 合格, 龙湾村's (3 × 60 + 60 + 0 + 60) / 6 = 50.00 较差
    import openpyxl

    xlsx = ws / "q2.xlsx"
    assert "报送记录" in ok(["patrol", "bulletin", ws, "--quarter", "2026Q2", "-o", xlsx], capsys)
    wb = openpyxl.load_workbook(xlsx)
    assert wb.sheetnames == ["季度考评", "年度汇总"]
    y = wb["年度汇总"]
    assert [y.cell(3, j).value for j in range(1, 11)] == ["序号", "巡查督查组", "村(居)", "第一季度", "第二季度",
                                                          "第三季度", "第四季度", "年度平均分", "等次", "排名"]  # fmt: skip
    rows = {y.cell(r, 3).value: [y.cell(r, j).value for j in range(4, 10)] for r in range(4, 27)}
    assert rows["马塘村"] == [60, 78.33, None, None, 69.17, "合格"]
    assert rows["龙湾村"] == [60, 40, None, None, 50, "较差"]
    # committing an unchanged month writes nothing
    out = ok(["patrol", "score", ws, "--month", "2026-05", "--commit"], capsys)
    assert "新增 0 条，更新 0 条，未变 23 条" in out


def test_edit_after_commit_is_flagged_and_recommit_is_audited(ws, capsys):
    enter_worked_example(ws, capsys)
    for m in ("2026-04", "2026-05", "2026-06"):
        ok(["patrol", "score", ws, "--month", m, "--commit"], capsys)
    late = report(ws, capsys, "马塘", "ZR-02", "2026-05-20T09:00")
    verify(ws, capsys, late, "2026-05-21T10:00")
    code, _o, err = run(
        ["patrol", "bulletin", ws, "--month", "2026-05", "-o", ws / "b.xlsx"], capsys
    )
    assert code == 0 and "2026年5月 马塘村 已提交得分 75 与按当前记录计算的 77 不一致" in err
    code, q, err = run(["patrol", "score", ws, "--quarter", "2026Q2"], capsys)
    assert code == 0 and row_of(q, "马塘村")[3:6] == ["75.00", "100.00", "78.33"]
    assert "2026年5月 马塘村 已提交得分 75 与按当前记录计算的 77 不一致" in err
    out = ok(["patrol", "score", ws, "--month", "2026-05", "--commit", "--user", "复核人"], capsys)
    assert "新增 0 条，更新 1 条，未变 22 条" in out
    rows, audit, replay = _scores_of(ws)
    assert rows == replay
    (re,) = [a for a in audit if a["kind"] == "recommit"]
    assert re["user"] == "复核人" and re["changes"]["score"] == ["75", "77"]
    assert re["changes"]["bonus"] == ["20", "22"]
    code, q, err = run(["patrol", "score", ws, "--quarter", "2026Q2", "--committed-only"], capsys)
    assert code == 0 and err == ""
    assert row_of(q, "马塘村")[2:] == ["60.00", "77.00", "100.00", "79.00", "一般", "是"]
    listing = ok(["patrol", "list", ws, "--kind", "scores", "--village", "马塘"], capsys)
    assert [
        ln.split()[:5] + ln.split()[-1:] for ln in listing.splitlines() if ln.startswith("2026-05")
    ] == [["2026-05", "马塘村", "77.00", "否", "1", "2"]]


def test_commit_needs_a_month(ws, capsys):
    code, _o, err = run(["patrol", "score", ws, "--quarter", "2026Q2", "--commit"], capsys)
    assert code == 2 and "--commit stores one month" in err


def test_commit_and_recommit_on_both_stores(store):  # noqa: F811
    """patrol_scores on the GeoPackage and on PostgreSQL: commit, re-commit after a change (one
    audited overwrite), replay equals the table. 马塘村 April: one village report of ZR-02, still
    待核实 (not scored) -> 60; then a district find of ZR-01 verified 属实, unreported -> 60 − 2 = 58."""
    from datetime import date, datetime, timedelta, timezone

    from parcelwatch.patrol import findings as F
    from parcelwatch.patrol.scores import commit_month, committed_month
    from tests.patrol.test_scoring import make_scheme

    tz = timezone(timedelta(hours=8))
    now = datetime(2026, 5, 3, 9, 0, tzinfo=tz)
    scheme = make_scheme()
    book = PatrolBook(store)
    F.report(book, scheme, village="马塘", item="ZR-02", occurred=date(2026, 4, 2),
             reported_at=datetime(2026, 4, 2, 15, 30, tzinfo=tz), user="王某", now=now)  # fmt: skip
    first = commit_month(
        book, F.score_month(book, scheme, "2026-04"), digest="d1", user="执法办", now=now
    )
    assert len(first.created) == len(scheme.villages) and not first.changed
    gid, _ = F.find(book, scheme, village="马塘", item="ZR-01", finder_kind="district",
                    found_at=datetime(2026, 4, 12, 10, 0, tzinfo=tz), user="区局", now=now)  # fmt: skip
    F.verify(book, scheme, gid, result="属实", by="自然资源所", at=datetime(2026, 4, 13, tzinfo=tz), user="张某", now=now)  # fmt: skip
    again = commit_month(
        book, F.score_month(book, scheme, "2026-04"), digest="d1", user="执法办", now=now
    )
    assert not again.created and len(again.changed) == 1
    assert again.unchanged == len(scheme.villages) - 1
    rec = committed_month(book, "2026-04")["马塘村"]
    assert (
        Decimal(rec["score"]) == 58
        and Decimal(rec["deduction_district"]) == 2
        and rec["version"] == 2
    )
    assert book.replay("patrol_scores") == book.all("patrol_scores")


def test_integrity_lists_findings_changed_after_the_commit(ws, capsys, monkeypatch):
    """§B.7: commit April at 05-03 09:00; a verification at 05-04 of an April finding and a new
    village report verified into April afterwards are listed; the edits before the commit are not."""
    from datetime import datetime, timedelta, timezone

    import parcelwatch.cli.options as options

    clock = {"t": datetime(2026, 4, 30, 18, 0, tzinfo=timezone(timedelta(hours=8)))}
    monkeypatch.setattr(options, "now", lambda: clock["t"])
    early = report(ws, capsys, "马塘", "ZR-02", "2026-04-02T15:30")
    verify(ws, capsys, early, "2026-04-03T10:00")
    late = report(ws, capsys, "马塘", "ZR-01", "2026-04-20T09:00")
    clock["t"] = datetime(2026, 5, 3, 9, 0, tzinfo=timezone(timedelta(hours=8)))
    ok(["patrol", "score", ws, "--month", "2026-04", "--commit"], capsys)
    assert "得分提交后修改" not in ok(["patrol", "integrity", ws, "--month", "2026-04"], capsys)
    clock["t"] = datetime(2026, 5, 4, 9, 0, tzinfo=timezone(timedelta(hours=8)))
    verify(ws, capsys, late, "2026-04-30T10:00")
    out = ok(["patrol", "integrity", ws, "--month", "2026-04"], capsys)
    assert "得分提交后修改" in out and late in out and early not in out
