"""Issue 18 points 4, 5, 6: every kind of cell a returned workbook can hold gets a per-row message
naming sheet, row and column with the fix; nothing is silently cleared, rounded or clamped.

The workbook is the real export, edited with openpyxl the way Excel/WPS would store it: a formula
saved by openpyxl has no cached result (like a file written by a script and never opened in
Excel), an error value is stored as an error cell (t="e").
"""

from __future__ import annotations

import re
from datetime import date, datetime

import openpyxl
import pytest

from parcelwatch.errors import SchemaError
from parcelwatch.ledger.model import Change, Status
from parcelwatch.ledger.xlsx import SHEET, export_xlsx, import_xlsx
from tests.ledger.conftest import NOW, make_problems
from tests.ledger.conftest import store as store  # noqa: F401 - the pytest fixture (both stores)

TODAY = date(2026, 5, 10)


def col(ws, header):
    for cell in ws[1]:
        if cell.value == header:
            return cell.column_letter
    raise KeyError(header)


def returned(st, tmp_path, edits):
    """Export, set ``edits`` {(row index, header): value}, save; returns the path."""
    src = export_xlsx(st, tmp_path / "export.xlsx", today=TODAY)
    wb = openpyxl.load_workbook(src)
    ws = wb[SHEET]
    for (row, header), value in edits.items():
        cell = ws[f"{col(ws, header)}{row}"]
        cell.value = value
        if (
            isinstance(value, str)
            and value.startswith("#")
            and value.endswith(("!", "A", "?", "0!"))
        ):
            cell.data_type = "e"
    out = tmp_path / "returned.xlsx"
    wb.save(out)
    return out


def one_issue(report, header):
    found = [i for i in report.issues if i.column == header]
    assert len(found) == 1, report.lines()
    assert found[0].sheet == SHEET and found[0].row == 2
    return found[0]


@pytest.fixture
def ledger(store):  # noqa: F811
    ids = make_problems(store, 2)
    store.apply(
        [Change(ids[0], Status.ILLEGAL, {"confirmed_class": "II", "responsible_person": "张三"})],
        user="u",
        now=NOW,
    )
    return store, ids


CASES = [
    # (header, value written, words the message must hold)
    ("状态", None, "状态 is empty"),
    ("状态", '=IF(1,"整改中","")', "no saved result"),
    ("状态", "#REF!", "#REF!"),
    ("责任人", "=A1", "no saved result"),  # before: read as empty and cleared 责任人
    ("责任人", "#N/A", "#N/A"),
    ("责任人", datetime(2026, 1, 2), "a date is not text"),  # noqa: DTZ001
    ("责任人", True, "TRUE/FALSE"),
    ("版本", None, "版本 is empty"),  # before: skipped the stale-row check
    ("版本", 2.7, "not a whole number"),  # before: read as 2
    ("版本", "inf", "not a whole number"),  # before: OverflowError
    ("版本", "#VALUE!", "#VALUE!"),
    ("剩余未整改面积(亩)", "Infinity", "finite"),  # before: accepted, then every export failed
    ("剩余未整改面积(亩)", "1e999", "finite"),
    ("剩余未整改面积(亩)", "nan", "finite"),
    ("剩余未整改面积(亩)", -1.5, ">= 0"),
    ("建设总投资(万元)", "inf", "finite"),
    ("建设总投资(万元)", "#DIV/0!", "#DIV/0!"),
    ("建设总投资(万元)", datetime(2026, 1, 2), "date is not"),  # noqa: DTZ001
    ("整改期限", -5, "1899-12-25 is outside"),  # before: 1899-12-25
    ("整改期限", "0001-01-01", "outside 2000-01-01 .. 2100-12-31"),
    ("整改期限", "9999-12-31", "outside"),
    ("整改期限", datetime(1999, 12, 31), "outside"),  # noqa: DTZ001
    ("整改期限", 3e6, "type a date"),  # year 10113: openpyxl reads it as #VALUE!
    ("整改期限", "=TODAY()", "no saved result"),
    ("验收日期", "2101-01-01", "outside"),
    ("整改期限", True, "TRUE/FALSE"),
]


@pytest.mark.parametrize(
    ("header", "value", "words"), CASES, ids=[f"{h}={v!r}" for h, v, _ in CASES]
)
def test_every_bad_cell_is_a_row_message_and_nothing_is_written(
    ledger, tmp_path, header, value, words
):
    st, ids = ledger
    before = {r.problem_id: r for r in st.records(geometry=False)}
    path = returned(st, tmp_path, {(2, header): value, (2, "变更说明"): "x", (3, "备注"): "改了"})
    report = import_xlsx(st, path, user="u", now=NOW)
    issue = one_issue(report, header)
    assert words in issue.problem, issue
    assert issue.problem_id == ids[0]
    assert report.applied == []  # all or nothing: row 3's good edit is not written either
    assert {r.problem_id: r for r in st.records(geometry=False)} == before
    text = "\n".join(report.lines())
    assert f"{SHEET} 第2行 [{header}]" in text


def test_formula_with_a_saved_value_is_read_as_that_value(ledger, tmp_path):
    """A formula Excel calculated and saved is the value it shows (here 李四)."""
    st, ids = ledger
    src = export_xlsx(st, tmp_path / "export.xlsx", today=TODAY)
    wb = openpyxl.load_workbook(src)
    ws = wb[SHEET]
    ws[f"{col(ws, '责任人')}2"] = '="李"&"四"'
    wb.save(tmp_path / "f.xlsx")
    # write the cached value Excel would have stored next to the formula
    import zipfile

    with zipfile.ZipFile(tmp_path / "f.xlsx") as z:
        files = {n: z.read(n) for n in z.namelist()}
    sheet = next(n for n in files if n.startswith("xl/worksheets/sheet1"))
    xml = files[sheet].decode("utf-8")
    assert "<f>" in xml
    xml = re.sub(
        r'(<c r="K2"[^>]*)><f>("李"&amp;"四")</f><v ?/>', r'\1 t="str"><f>\2</f><v>李四</v>', xml
    )
    assert "<v>李四</v>" in xml
    files[sheet] = xml.encode("utf-8")
    with zipfile.ZipFile(tmp_path / "cached.xlsx", "w") as z:
        for n, b in files.items():
            z.writestr(n, b)
    report = import_xlsx(st, tmp_path / "cached.xlsx", user="u", now=NOW)
    assert report.issues == [], report.lines()
    assert st.get(ids[0]).responsible_person == "李四"


def test_a_whole_number_version_typed_as_text_or_float_is_accepted(ledger, tmp_path):
    st, ids = ledger
    path = returned(
        st,
        tmp_path,
        {(2, "版本"): "2", (2, "责任人"): "王五", (3, "版本"): 1.0, (3, "责任人"): "赵六"},
    )
    report = import_xlsx(st, path, user="u", now=NOW)
    assert report.issues == [] and sorted(report.applied) == sorted(ids)


@pytest.mark.parametrize(
    ("option", "value"),
    [("--remaining-mu", "inf"), ("--remaining-mu", "nan"), ("--remaining-mu", "1e999"), ("--remaining-mu", "Infinity"),
     ("--field", "investment_wan=1e999"), ("--field", "investment_wan=inf"), ("--field", "subsidy_city_wan=NaN"),
     ("--deadline", "0001-01-01"), ("--deadline", "9999-12-31"), ("--field", "acceptance_date=1899-12-25")],
)  # fmt: skip
def test_cli_refuses_non_finite_numbers_and_impossible_dates(tmp_path, option, value):
    from parcelwatch.cli import main
    from parcelwatch.ledger.workspace import open_workspace
    from parcelwatch.pipeline import init_workspace

    with init_workspace(tmp_path / "ws", county_code="370790", county_name="禾丰县", now=NOW) as ws:
        ids = make_problems(ws.store, 1)
    rc = main(["ledger", "set", str(tmp_path / "ws"), ids[0], option, value, "--user", "u"])
    assert rc in (1, 2)
    with open_workspace(tmp_path / "ws") as ws:
        assert ws.store.get(ids[0]).version == 1


def test_model_refuses_non_finite_at_the_root():
    from parcelwatch.ledger.model import _normalise_value

    for v in ("inf", "-inf", "nan", "1e999", float("inf"), 10**400):
        with pytest.raises(SchemaError, match="finite|not a number"):
            _normalise_value("investment_wan", v)
    with pytest.raises(SchemaError, match="larger than any real"):
        _normalise_value("investment_wan", "1e300")  # finite, but no shapefile field holds it
    assert _normalise_value("investment_wan", "1e12") == 1e12
