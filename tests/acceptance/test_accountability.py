"""§C.6 acceptance tables (the worked example of §C.3, hand-computed there)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from parcelwatch.acceptance.accountability import (
    LEAVES,
    add_case,
    add_sanction,
    set_funds,
    statistics,
    stats_lines,
    write_accountability_form,
)
from parcelwatch.acceptance.records import RecordBook
from parcelwatch.errors import InputError, LedgerError, ParcelwatchError
from parcelwatch.exports.forms import write_self_check_form
from parcelwatch.ledger.add import NewProblem, add_problem
from parcelwatch.ledger.model import Change, ProblemRecord
from parcelwatch.ledger.workspace import open_workspace
from parcelwatch.pipeline import init_workspace

NOW = datetime(2019, 3, 10, 9, 0, tzinfo=timezone(timedelta(hours=8)))
D = Decimal


PID = "370790-2019-000001"
_BOOK: list[RecordBook] = []


@pytest.fixture
def book(tmp_path: Path):
    """A workspace with one 第一类 problem of 禾丰镇 whose ledger says 已追回 8 万元."""
    init_workspace(tmp_path / "ws", county_code="370790", county_name="禾丰县", now=NOW)
    ws = open_workspace(tmp_path / "ws")
    pid = add_problem(ws.store, NewProblem("巡查", "禾丰镇", lon=113.6, lat=35.3, found_on=date(2019, 3, 1),
                                           fields={"confirmed_class": "I", "funds_recovered_wan": 8.0}),
                      user="王某", now=NOW)  # fmt: skip
    assert pid == PID
    _BOOK[:] = [RecordBook(ws.store)]
    yield _BOOK[0]
    ws.close()


def _problem() -> ProblemRecord:
    """The problem as the ledger has it now."""
    return _BOOK[0].store.get(PID)


def _worked(book: RecordBook) -> None:
    kw = dict(user="王某", now=NOW)
    add_sanction(book, person="张某", category="党纪处分", type="警告", decided_on=date(2019, 3, 1),
                 township="禾丰镇", public_official=True, position="副镇长", **kw)  # fmt: skip
    add_sanction(book, person="张某", category="政务处分", type="记过", decided_on=date(2019, 3, 5),
                 township="禾丰镇", public_official=True, **kw)  # fmt: skip
    add_sanction(book, person="李某", category="政务处分", type="警告", decided_on=date(2019, 3, 2),
                 township="东河乡", public_official=True, **kw)  # fmt: skip
    add_sanction(book, person="王某", category="政务处分", type="诫勉谈话", decided_on=date(2019, 3, 3),
                 township="禾丰镇", public_official=True, **kw)  # fmt: skip
    add_sanction(book, person="赵某", category="政务处分", type="警告", decided_on=date(2019, 3, 3),
                 township="禾丰镇", public_official=False, **kw)  # fmt: skip
    add_case(book, case_no="禾纪立〔2019〕2号", filed_on=date(2019, 2, 20), persons=2,
             kind="纪律审查", township="禾丰镇", **kw)  # fmt: skip
    add_case(book, case_no="东纪立〔2019〕1号", filed_on=date(2019, 2, 21), persons=1,
             kind="纪律审查", township="东河乡", **kw)  # fmt: skip
    set_funds(
        book,
        _problem(),
        suspected_wan=D("12.5"),
        in_recovery_wan=D("4.5"),
        special_account="是",
        **kw,
    )


def _stats(book: RecordBook, **kw):
    funds = {f["problem_id"]: f for f in book.all("acc_funds")}
    return statistics(book.all("acc_sanctions"), book.all("acc_cases"), [_problem()], funds, **kw)


def test_funds_are_the_ledgers_fields(book: RecordBook) -> None:
    """§0.P1: set_funds writes funds_suspected_wan / funds_in_recovery_wan on the problem (one
    ledger event, like `ledger set --field`); acc_funds keeps only 专户管理; `ledger set` values
    are what the form counts (12.5 / 8 / 4.5 万元 -> 125000 / 80000 / 45000 元, T-C-04)."""
    set_funds(book, _problem(), suspected_wan=D("12.5"), in_recovery_wan=D("4.5"),
              special_account="是", user="王某", now=NOW)  # fmt: skip
    rec = _problem()
    assert (rec.funds_suspected_wan, rec.funds_recovered_wan, rec.funds_in_recovery_wan) == (
        12.5,
        8.0,
        4.5,
    )
    ev = book.store.events(PID)[-1]
    assert (ev.user, ev.changes) == (
        "王某",
        {"funds_suspected_wan": 12.5, "funds_in_recovery_wan": 4.5},
    )
    assert [(f["problem_id"], f["special_account"], f["funds_suspected_wan"]) for f in book.all("acc_funds")] == [
        (PID, "是", None)
    ]  # fmt: skip
    # a later `ledger set` of the field is what the form shows
    book.store.apply([Change(PID, fields={"funds_in_recovery_wan": 2.0})], user="李某", now=NOW)
    assert _stats(book).total.values()[-3:] == [D("125000.00"), D("80000.00"), D("20000.00")]


def col(name: str, category: str = "") -> int:
    return [i for i, (c, t) in enumerate(LEAVES) if t == name and (not category or c == category)][
        0
    ]


def test_T_C_01_worked_example(book: RecordBook) -> None:
    _worked(book)
    st = _stats(book)
    assert [r.township for r in st.rows] == ["东河乡", "禾丰镇"]
    dong, he = st.rows
    assert dong.values()[col("警告", "政务处分")] == 1 and dong.cases == 1 and dong.persons == 1
    assert he.values()[col("警告", "党纪处分")] == 1
    assert he.values()[col("诫勉谈话")] == 1 and he.values()[col("记过")] == 1
    assert (he.cases, he.persons) == (1, 2)
    t = st.total
    assert sum(t.counts) == 4
    assert (t.cases, t.persons) == (2, 3)
    assert (t.counts[col("警告", "党纪处分")], t.counts[col("诫勉谈话")]) == (1, 1)
    assert (t.counts[col("警告", "政务处分")], t.counts[col("记过")]) == (1, 1)


def test_T_C_02_two_warnings_two_columns(book: RecordBook) -> None:
    _worked(book)
    t = _stats(book).total
    assert col("警告", "党纪处分") == 0 and col("警告", "政务处分") == 6  # columns A and G
    assert t.counts[0] == 1 and t.counts[6] == 1


def test_T_C_03_non_public_not_counted(book: RecordBook) -> None:
    _worked(book)
    st = _stats(book)
    assert sum(st.total.counts) == 4  # 赵某 nowhere
    assert stats_lines(st)[-1] == "非公职人员 1 人次未计入"


def test_T_C_04_money_in_yuan(book: RecordBook) -> None:
    _worked(book)
    v = _stats(book).total.values()
    assert v[-3:] == [D("125000.00"), D("80000.00"), D("45000.00")]
    assert str(v[-3]) == "125000.00"


def test_T_C_05_recovery_beyond_suspected_refused(book: RecordBook) -> None:
    book.store.apply([Change(PID, fields={"funds_recovered_wan": 9.0})], user="王某", now=NOW)
    with pytest.raises(LedgerError, match="13.5"):
        set_funds(
            book,
            _problem(),
            suspected_wan=D("12.5"),
            in_recovery_wan=D("4.5"),
            user="王某",
            now=NOW,
        )
    assert book.all("acc_funds") == [] and book.audit("acc_funds") == []
    assert _problem().funds_suspected_wan is None and len(book.store.events(PID)) == 2
    # the ledger itself refuses the same through `ledger set` (T-P1-03's rule)
    with pytest.raises(ParcelwatchError, match="funds"):
        book.store.apply([Change(PID, fields={"funds_suspected_wan": 12.5, "funds_in_recovery_wan": 4.5})],
                         user="王某", now=NOW)  # fmt: skip


def test_T_C_06_cross_check_with_self_check_form(book: RecordBook, tmp_path: Path) -> None:
    _worked(book)
    p_yuan = _stats(book).total.recovered_yuan
    out = write_self_check_form([_problem()], tmp_path / "z.xlsx", today=date(2019, 3, 20))
    ws = openpyxl.load_workbook(out)["自验表"]
    head = [c.value for c in ws[4]] + [c.value for c in ws[3]]
    total = next(r for r in ws.iter_rows(values_only=True) if str(r[0]).startswith("合计"))
    idx = [i for i, c in enumerate(ws[5]) if ws.cell(4, i + 1).value == "资金追回数量"]
    assert "资金追回数量" in head
    assert D(str(total[idx[0]])) * 10000 == p_yuan == D("80000")


def test_T_C_07_form_layout(book: RecordBook, tmp_path: Path) -> None:
    _worked(book)
    out = tmp_path / "f.xlsx"
    write_accountability_form(_stats(book), out, county_name="禾丰县")
    ws = openpyxl.load_workbook(out)["追责问责统计表"]
    assert ws["A1"].value == "“大棚房”问题追责问责县级统计表"
    assert ws["A2"].value == "县（市、区）：禾丰县　　（人民政府公章）　　单位：人、元"
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert {"A3:A6", "B3:O3", "P3:R3", "B4:M4", "N4:O5", "B5:F5", "G5:M5"} <= merged
    assert {"P4:P6", "Q4:Q6", "R4:R6"} <= merged
    leaves = [ws.cell(6, c).value for c in range(2, 16)]
    assert leaves == [t for _, t in LEAVES] + ["案件数", "涉案人数"]
    assert [ws.cell(4, c).value for c in (16, 17, 18)] == ["涉嫌骗取资金总数", "已追回", "正在追回"]
    assert ws["B5"].value == "党纪处分" and ws["G5"].value == "政务处分"
    rows = list(ws.iter_rows(min_row=7, values_only=True))
    total = next(r for r in rows if r[0] == "合计")
    assert total[1:] == (1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 2, 3, 125000, 80000, 45000)
    texts = " ".join(str(v) for r in rows for v in r if v)
    assert "自验组负责同志签字" in texts and "自验组成员签字" in texts and "填表日期" in texts


def test_T_C_08_from_date(book: RecordBook) -> None:
    _worked(book)
    t = _stats(book, start=date(2019, 3, 2)).total
    assert t.counts[col("警告", "党纪处分")] == 0
    assert t.counts[col("记过")] == 1


def test_T_C_09_bare_warning_refused(book: RecordBook) -> None:
    with pytest.raises(LedgerError, match="警告 属于党纪处分还是政务处分？用 --category"):
        add_sanction(book, person="张某", category="", type="警告", decided_on=date(2019, 3, 1),
                     township="禾丰镇", public_official=True, user="王某", now=NOW)  # fmt: skip
    assert book.all("acc_sanctions") == []


def test_audit_replay_rebuilds_tables(book: RecordBook) -> None:
    _worked(book)
    set_funds(book, _problem(), suspected_wan=D("12.5"), in_recovery_wan=D("3"),
              special_account="否", user="李某", now=NOW)  # fmt: skip
    for entity in ("acc_sanctions", "acc_cases", "acc_funds"):
        assert book.replay(entity) == book.all(entity)
    assert [e["kind"] for e in book.audit("acc_funds")] == ["create", "edit"]
    assert book.all("acc_sanctions")[0]["sanction_id"] == "ZZ-2019-0001"


def test_audit_is_append_only(book: RecordBook) -> None:
    _worked(book)
    with pytest.raises(LedgerError, match="append-only"):
        with book.store._tx(True) as conn:
            conn.exec_driver_sql("DELETE FROM audit_events")
    assert len(book.audit("acc_sanctions")) == 5


def test_cli_accountability_round(tmp_path: Path, capsys) -> None:
    """add-sanction, add-case, stats and form on a workspace; the score's 6.3.3 sees them."""
    from parcelwatch.cli import main

    ws = tmp_path / "ws"
    init_workspace(ws, county_code="370790", county_name="禾丰县", now=NOW)
    base = ["--user", "王某"]
    assert main(["accountability", "add-sanction", str(ws), "--person", "张某", "--public-official",
                 "--category", "党纪处分", "--type", "警告", "--decided", "2019-03-01",
                 "--township", "禾丰镇", *base]) == 0  # fmt: skip
    assert main(["accountability", "add-sanction", str(ws), "--person", "赵某", "--type", "记过",
                 "--decided", "2019-03-02", "--township", "禾丰镇", *base]) == 0  # fmt: skip
    assert main(["accountability", "add-case", str(ws), "--case-no", "禾纪立〔2019〕2号",
                 "--filed", "2019-02-20", "--persons", "2", "--kind", "纪律审查",
                 "--township", "禾丰镇", *base]) == 0  # fmt: skip
    assert main(["accountability", "add-sanction", str(ws), "--person", "李某", "--type", "警告",
                 "--decided", "2019-03-02", "--township", "禾丰镇", *base]) == 1  # fmt: skip
    out = capsys.readouterr()
    assert "ZZ-2019-0001" in out.out and "ZZ-2019-0002" in out.out
    assert "用 --category" in out.err
    assert main(["accountability", "stats", str(ws)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "党纪处分警告 1" in lines and "案件数 1" in lines and "涉案人数 2" in lines
    assert lines[-1] == "非公职人员 1 人次未计入"
    out_x = tmp_path / "追责.xlsx"
    assert main(["accountability", "form", str(ws), "-o", str(out_x), "--by", "county"]) == 0
    sheet = openpyxl.load_workbook(out_x)["追责问责统计表"]
    assert sheet["A7"].value == "全县" and sheet["B7"].value == 1
    assert main(["acceptance", "score", str(ws)]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("6.3.3"))
    assert "处分 1 人次，立案 1 件" in line and " 2.00 " in line


def _workbook(path: Path, sanctions: list[list], cases: list[list]) -> Path:
    wb = openpyxl.Workbook()
    s = wb.active
    s.title = "处分"
    s.append(
        [
            "姓名",
            "单位",
            "职务",
            "乡镇",
            "公职人员",
            "处分类别",
            "处分种类",
            "决定日期",
            "文号",
            "关联编号",
        ]
    )
    for r in sanctions:
        s.append(r)
    c = wb.create_sheet("立案")
    c.append(["案号", "立案日期", "立案类别", "涉案人数", "乡镇"])
    for r in cases:
        c.append(r)
    wb.save(path)
    return path


def test_accountability_import_from_excel(book: RecordBook, tmp_path: Path) -> None:
    """The §C.3 worked example as a workbook: 4 public-official sanctions + 赵某, 2 cases; the
    statistics equal T-C-01's (合计 4 人次, 2 件, 3 人); dates as Excel dates or text."""
    from parcelwatch.acceptance.accountability import import_accountability

    xlsx = _workbook(tmp_path / "追责问责.xlsx", [
        ["张某", "禾丰镇人民政府", "副镇长", "禾丰镇", "是", "党纪处分", "警告", datetime(2019, 3, 1), "禾纪发〔2019〕3号", PID],  # noqa: DTZ001 (Excel dates are naive)
        ["张某", None, None, "禾丰镇", "是", None, "记过", "2019-03-05", None, None],
        ["李某", None, None, "东河乡", "是", "政务处分", "警告", "2019年3月2日", None, None],
        ["王某", None, None, "禾丰镇", "是", None, "诫勉谈话", "2019/3/3", None, None],
        [None] * 10,
        ["赵某", None, None, "禾丰镇", "否", "政务处分", "警告", "2019-03-03", None, None],
    ], [
        ["禾纪立〔2019〕2号", datetime(2019, 2, 20), "纪律审查", 2, "禾丰镇"],  # noqa: DTZ001
        ["东纪立〔2019〕1号", "2019-02-21", "纪律审查", 1, "东河乡"],
    ])  # fmt: skip
    res = import_accountability(book, xlsx, user="王某", now=NOW)
    assert res.sanction_ids == [f"ZZ-2019-000{i}" for i in range(1, 6)]
    assert res.case_ids == ["禾纪立〔2019〕2号", "东纪立〔2019〕1号"]
    first = book.get("acc_sanctions", "ZZ-2019-0001")
    assert (first["links"], first["public_official"], first["decided_on"]) == (
        [PID],
        "是",
        "2019-03-01",
    )
    assert book.get("acc_sanctions", "ZZ-2019-0002")["category"] == "政务处分"
    st = _stats(book)
    assert (sum(st.total.counts), st.total.cases, st.total.persons, st.not_public) == (4, 2, 3, 1)
    assert [a["user"] for a in book.audit("acc_cases")] == ["王某", "王某"]


def test_accountability_import_is_all_or_nothing_with_cell_errors(
    book: RecordBook, tmp_path: Path
) -> None:
    """One good row and bad cells: nothing is written; every bad cell is named (sheet, row,
    column letter) with its fix."""
    from parcelwatch.acceptance.accountability import add_case, import_accountability

    add_case(book, case_no="禾纪立〔2019〕2号", filed_on=date(2019, 2, 20), persons=2, kind="纪律审查",
             township="禾丰镇", user="王某", now=NOW)  # fmt: skip
    xlsx = _workbook(tmp_path / "bad.xlsx", [
        ["张某", None, None, "禾丰镇", "是", "党纪处分", "警告", "2019-03-01", None, None],
        ["李某", None, None, "东河乡", "是", None, "警告", "2019-03-02", None, None],
        ["王某", None, None, "", "也许", None, "罚款", "3月3日", None, "370790-2019-999999"],
    ], [
        ["禾纪立〔2019〕2号", "2019-02-20", "纪律审查", 2, "禾丰镇"],
        ["新案", "2019-02-21", "立案", "两", "东河乡"],
    ])  # fmt: skip
    with pytest.raises(InputError) as info:
        import_accountability(book, xlsx, user="王某", now=NOW)
    msg = str(info.value)
    for part in (
        "nothing was imported",
        "sheet 处分 row 3 column 处分类别 (F): 警告 属于党纪处分还是政务处分？填写处分类别 (党纪处分 或 政务处分)",
        "sheet 处分 row 4 column 乡镇 (D): empty; fill it in",
        "sheet 处分 row 4 column 公职人员 (E): '也许': write 是 or 否",
        "sheet 处分 row 4 column 处分种类 (G)",
        "sheet 处分 row 4 column 决定日期 (H): '3月3日' is not a date",
        "sheet 处分 row 4 column 关联编号 (J): problem 370790-2019-999999 is not in the ledger",
        "sheet 立案 row 2 column 案号 (A): 禾纪立〔2019〕2号 is already recorded",
        "sheet 立案 row 3 column 立案类别 (C): '立案': use one of 纪律审查、行政立案、刑事立案",
        "sheet 立案 row 3 column 涉案人数 (D): '两': write a whole number",
    ):
        assert part in msg, part
    assert str(tmp_path / "bad.xlsx") in msg
    assert book.all("acc_sanctions") == [] and len(book.all("acc_cases")) == 1
    assert len(book.audit("acc_cases")) == 1


def test_accountability_import_missing_column_and_cli(
    book: RecordBook, tmp_path: Path, capsys
) -> None:
    from parcelwatch.cli import main

    wb = openpyxl.Workbook()
    wb.active.title = "处分"
    wb.active.append(["姓名", "乡镇", "处分种类"])
    wb.active.append(["张某", "禾丰镇", "记过"])
    wb.save(tmp_path / "m.xlsx")
    ws_dir = str(tmp_path / "ws")
    assert (
        main(["accountability", "import", ws_dir, str(tmp_path / "m.xlsx"), "--user", "王某"]) == 1
    )
    err = capsys.readouterr().err
    assert "sheet 处分 row 1: no column 公职人员; add it" in err and "Traceback" not in err
    good = _workbook(
        tmp_path / "g.xlsx",
        [["张某", None, None, "禾丰镇", "是", None, "记过", "2019-03-05", None, None]],
        [],
    )
    assert main(["accountability", "import", ws_dir, str(good), "--user", "王某"]) == 0
    assert "1 条处分, 0 件立案已导入" in capsys.readouterr().out
