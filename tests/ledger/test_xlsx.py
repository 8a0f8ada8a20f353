"""Excel round-trip: the exported sheet as staff see it, and a returned workbook with good and bad rows."""

from __future__ import annotations

import hashlib
from datetime import date, datetime

import openpyxl
import pytest

from parcelwatch.errors import InputError, LedgerConflictError
from parcelwatch.ledger.model import Change, Status
from parcelwatch.ledger.xlsx import COLUMNS, SHEET, export_xlsx, import_xlsx
from tests.ledger.conftest import NOW, make_problems

TODAY = date(2026, 5, 10)


def col(ws, header):
    for cell in ws[1]:
        if cell.value == header:
            return cell.column_letter
    raise KeyError(header)


def test_export_is_a_staff_ready_sheet(store, tmp_path):
    ids = make_problems(store, 3)
    store.apply(
        [
            Change(ids[0], Status.ILLEGAL, {"confirmed_class": "II"}),
            Change(
                ids[0], Status.RECTIFYING, {"measure": "拆除+复耕", "deadline": date(2026, 6, 30)}
            ),
        ],
        user="u",
        now=NOW,
    )
    path = export_xlsx(store, tmp_path / "台账.xlsx", today=TODAY)
    wb = openpyxl.load_workbook(path)
    ws = wb[SHEET]
    assert [c.value for c in ws[1]] == [c.header for c in COLUMNS]
    assert ws.freeze_panes == "C2" and ws.auto_filter.ref.startswith("A1:")
    assert ws.page_setup.orientation == "landscape" and str(ws.page_setup.paperSize) == "9"
    idc, verc, stc, dlc, duec = (
        col(ws, h) for h in ("问题编号", "版本", "状态", "整改期限", "核查期限")
    )
    assert (
        ws[f"{idc}2"].value == ids[0]
        and ws[f"{idc}2"].data_type == "s"
        and ws[f"{idc}2"].number_format == "@"
    )
    assert ws[f"{verc}2"].value == 3 and ws[f"{verc}3"].value == 1
    assert ws[f"{stc}2"].value == "整改中" and ws[f"{col(ws, '认定类别')}2"].value == "第二类"
    assert ws[f"{dlc}2"].is_date and ws[f"{dlc}2"].value == datetime(2026, 6, 30)  # noqa: DTZ001
    assert ws[f"{duec}3"].is_date and ws[f"{duec}3"].value == datetime(2026, 4, 30)  # noqa: DTZ001
    assert ws[f"{col(ws, '是否逾期')}3"].value == "是"  # 未核查 past its 核查期限 on 2026-05-10
    assert ws[f"{col(ws, '剩余未整改面积(亩)')}3"].value == pytest.approx(0.09)  # 60 m² = 0.09 亩
    rules = {str(dv.sqref).split(":")[0]: dv for dv in ws.data_validations.dataValidation}
    assert "未核查" in rules[f"{stc}2"].formula1 and "已销号" in rules[f"{stc}2"].formula1
    assert "拆除" in rules[f"{col(ws, '整改措施')}2"].formula1
    assert rules[f"{dlc}2"].type == "date"
    assert "说明" in wb.sheetnames and wb["说明"]["A7"].value == "原状态"


def _returned(store, tmp_path, edit):
    """Export, let ``edit(ws, row_of)`` change cells like a staff member, save as a new workbook."""
    src = export_xlsx(store, tmp_path / "export.xlsx", today=TODAY)
    wb = openpyxl.load_workbook(src)
    ws = wb[SHEET]
    id_col = col(ws, "问题编号")
    row_of = {ws[f"{id_col}{r}"].value: r for r in range(2, ws.max_row + 1)}
    edit(ws, row_of)
    out = tmp_path / "returned.xlsx"
    wb.save(out)
    return out


def test_an_unchanged_export_imports_as_nothing(store, tmp_path):
    make_problems(store, 4)
    path = _returned(store, tmp_path, lambda ws, rows: None)
    before = store.events()
    report = import_xlsx(store, path, user="u", now=NOW)
    assert (
        report.issues == []
        and report.applied == []
        and report.unchanged_rows == 4
        and report.changed_rows == 0
    )
    assert store.events() == before


def test_good_and_bad_rows(store, tmp_path):
    """Nine edited rows, two good, seven bad (one problem each). Default: nothing applied and every
    problem reported as (sheet, row, column, value, problem); --partial applies the two good ones.
    The returned workbook is never written."""
    ids = make_problems(store, 9)

    def edit(ws, row):
        c = {
            h: col(ws, h)
            for h in (
                "问题编号",
                "状态",
                "认定类别",
                "整改措施",
                "整改期限",
                "乡镇(街道)",
                "版本",
                "备注",
            )
        }
        ws[f"{c['状态']}{row[ids[0]]}"] = "未整改"  # good: 未核查 -> 未整改 with 认定类别
        ws[f"{c['认定类别']}{row[ids[0]]}"] = "第二类"
        ws[f"{c['备注']}{row[ids[1]]}"] = "已约谈"  # good: a note only
        ws[f"{c['整改期限']}{row[ids[1]]}"] = datetime(2026, 9, 30)  # noqa: DTZ001
        ws[f"{c['问题编号']}{row[ids[2]]}"] = "370790-2026-999999"  # unknown id
        ws[f"{c['状态']}{row[ids[2]]}"] = "未整改"
        ws[f"{c['状态']}{row[ids[3]]}"] = "已完成"  # invalid status
        ws[f"{c['状态']}{row[ids[4]]}"] = "已销号"  # not allowed from 未核查
        ws[f"{c['整改期限']}{row[ids[5]]}"] = "下月底"  # bad date
        ws[f"{c['备注']}{row[ids[6]]}"] = "甲的修改"  # changed since export (see below)
        ws[f"{c['乡镇(街道)']}{row[ids[7]]}"] = "改名镇"  # read-only column edited
        ws[f"{c['状态']}{row[ids[8]]}"] = "转日常执法"  # needs a 变更说明
        ws[f"{c['整改措施']}{row[ids[0]]}"] = None

    path = _returned(store, tmp_path, edit)
    store.apply(
        [Change(ids[6], None, {"responsible_person": "乙"})], user="乙", now=NOW
    )  # someone else, after export
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    before = store.events()

    report = import_xlsx(store, path, user="u", now=NOW)
    got = {(i.row, i.column): (i.value, i.problem) for i in report.issues}
    r = {pid: k + 2 for k, pid in enumerate(ids)}
    assert set(got) == {
        (r[ids[2]], "问题编号"), (r[ids[3]], "状态"), (r[ids[4]], "状态"), (r[ids[5]], "整改期限"),
        (r[ids[6]], "版本"), (r[ids[7]], "乡镇(街道)"), (r[ids[8]], "变更说明"),
    }  # fmt: skip
    assert "unknown problem id" in got[(r[ids[2]], "问题编号")][1]
    assert (
        got[(r[ids[3]], "状态")][0] == "已完成"
        and "“已完成”不是可选的状态；请从下拉列表选择：未核查" in got[(r[ids[3]], "状态")][1]
    )
    assert (
        "未核查 -> 已销号 is not allowed" in got[(r[ids[4]], "状态")][1]
        and "合法、其他、未整改" in got[(r[ids[4]], "状态")][1]
    )
    assert got[(r[ids[5]], "整改期限")] == (
        "下月底",
        "not a date; write it as 2026-12-31 (or format the cell as a date)",
    )
    assert (
        "changed since export (exported version 1, now version 2 by 乙"
        in got[(r[ids[6]], "版本")][1]
    )
    assert "read-only column" in got[(r[ids[7]], "乡镇(街道)")][1]
    assert "状态由“未核查”改为“转日常执法”时须填写“变更说明”" in got[(r[ids[8]], "变更说明")][1]
    assert all(i.sheet == SHEET for i in report.issues)
    assert report.applied == [] and store.events() == before  # all or nothing
    assert "全部未写入" in report.lines()[-1]

    partial = import_xlsx(store, path, user="u", now=NOW, partial=True)
    assert partial.applied == [ids[0], ids[1]] and len(partial.issues) == 7
    a, b = store.get(ids[0]), store.get(ids[1])
    assert (a.status, a.confirmed_class, a.judgement) == (Status.ILLEGAL, "II", "违法")
    assert (b.status, b.notes, b.deadline) == (Status.UNVERIFIED, "已约谈", date(2026, 9, 30))
    assert store.events(ids[1])[-1].note == "已约谈" and store.events(ids[1])[-1].user == "u"
    assert (
        hashlib.sha256(path.read_bytes()).hexdigest() == digest
    )  # the user's workbook is untouched


def test_header_row_is_found_by_name_and_areas_round_trip(store, tmp_path):
    """Staff inserted a title row above the headers and set 剩余未整改面积 to 0.05 亩 (33.33 m²)."""
    ids = make_problems(store, 2)

    def edit(ws, row):
        ws[f"{col(ws, '剩余未整改面积(亩)')}{row[ids[1]]}"] = 0.05
        ws.insert_rows(1)
        ws["A1"] = "某县2026年卫片问题台账"

    path = _returned(store, tmp_path, edit)
    report = import_xlsx(store, path, user="u", now=NOW)
    assert report.issues == [] and report.applied == [ids[1]]
    assert store.get(ids[1]).remaining_unrectified_m2 == pytest.approx(0.05 * 10000 / 15)
    assert store.get(ids[0]).version == 1  # 0.09 亩 shown for 60 m² reads back as unchanged


def test_a_concurrent_change_during_import_is_a_conflict_and_nothing_is_applied(
    store, tmp_path, monkeypatch
):
    ids = make_problems(store, 2)
    path = _returned(
        store,
        tmp_path,
        lambda ws, row: [ws.__setitem__(f"{col(ws, '责任人')}{row[p]}", "王五") for p in ids],
    )
    real = store.apply

    def racing_apply(changes, **kw):
        real([Change(ids[1], None, {"responsible_unit": "某镇"})], user="other", now=NOW)
        return real(changes, **kw)

    monkeypatch.setattr(store, "apply", racing_apply)
    with pytest.raises(
        LedgerConflictError, match=rf"{ids[1]} \(问题台账!3\) was changed by someone else"
    ):
        import_xlsx(store, path, user="u", now=NOW)
    assert (
        store.get(ids[0]).responsible_person == "" and store.get(ids[1]).responsible_unit == "某镇"
    )


def test_not_a_ledger_workbook(store, tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(["编号", "名称"])
    wb.save(tmp_path / "other.xlsx")
    with pytest.raises(InputError, match="no sheet has the header row"):
        import_xlsx(store, tmp_path / "other.xlsx", user="u", now=NOW)
    (tmp_path / "bad.xlsx").write_text("not excel")
    with pytest.raises(InputError, match="Cannot read .* as an Excel workbook"):
        import_xlsx(store, tmp_path / "bad.xlsx", user="u", now=NOW)


def test_import_errors_use_the_dropdown_words_and_the_help_sheet_is_chinese(store, tmp_path):
    """A clerk sets 未整改 without a class, and types 一类X as a class: the report names the column
    and offers the dropdown's words (第一类 ...), never the codes I/II/III or 'confirmed_class'.
    Every line of the 说明 sheet's transition table is Chinese."""
    ids = make_problems(store, 2)

    def edit(ws, row):
        c = {h: col(ws, h) for h in ("状态", "认定类别")}
        ws[f"{c['状态']}{row[ids[0]]}"] = "未整改"
        ws[f"{c['认定类别']}{row[ids[1]]}"] = "一类X"

    path = _returned(store, tmp_path, edit)
    report = import_xlsx(store, path, user="u", now=NOW)
    got = {i.problem_id: i for i in report.issues}
    need = got[ids[0]]
    assert need.column == "认定类别"
    assert (
        need.problem
        == "状态由“未核查”改为“未整改”时须填写“认定类别”（可选：第一类、第二类、第三类、耕地非农化、非大棚房）"
    )
    bad = got[ids[1]]
    assert (
        bad.problem
        == "“一类X”不是可选的认定类别；请从下拉列表选择：第一类、第二类、第三类、耕地非农化、非大棚房"
    )
    for issue in report.issues:
        assert "confirmed_class" not in issue.problem and " I," not in issue.problem
    wb = openpyxl.load_workbook(
        export_xlsx(store, tmp_path / "again.xlsx", today=TODAY), read_only=True
    )
    rows = [r for r in wb["说明"].iter_rows(values_only=True) if any(r)]
    meanings = [r[3] for r in rows if r[0] and r[1] and r[3] and r[0] != "原状态"]
    assert meanings and all(not any(ch.isascii() and ch.isalpha() for ch in m) for m in meanings), (
        meanings
    )
