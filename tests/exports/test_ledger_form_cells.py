"""问题台账 written column by column (issue 15.3): every kind of cell as the form defines it.

Three hand-made problems: one with every figure, one whose 永农 layer was not given (its 永农
figures say 未检查, never 0), one almost empty (blank cells keep the table's borders). Values
worked out by hand: 6,666.67 m² = 10.00 亩 (x 0.0015, half-up to 2 decimals); the 60 CJK
characters of the long reason are 120 column units, which in the 40-unit column (39 usable) wrap
to ceil(120 / 39) = 4 lines = 4 x 10 pt x 1.4 + 4 = 60 pt (its row's tallest cell).
"""

from __future__ import annotations

from datetime import date

import openpyxl
import pytest

from parcelwatch.exports.forms import write_ledger_form
from parcelwatch.ledger.model import ProblemRecord, Status
from parcelwatch.print_layout import RowHeights

TODAY = date(2026, 11, 7)
LONG = "建筑占用耕地" * 10  # 60 CJK characters


@pytest.fixture
def table(tmp_path):
    recs = [
        ProblemRecord(
            problem_id="370790-2026-000001", version=2, status=Status.ILLEGAL,
            township_name="禾丰镇", year=2026, batches=("2026年第1批", "2026年第2批"),
            candidate_class="II", parcel_area_m2=6666.67, farmland_m2=3333.335, pbf_m2=0.0,
            deadline=date(2026, 10, 31), candidate_reasons=LONG,
        ),
        ProblemRecord(
            problem_id="370790-2026-000002", version=1, status=Status.UNVERIFIED,
            parcel_area_m2=1000.0, farmland_m2=500.0, pbf_m2=None,
        ),
        ProblemRecord(problem_id="370790-2026-000003", version=1),
    ]  # fmt: skip
    path = write_ledger_form(recs, tmp_path / "台账.xlsx", today=TODAY, county_name="样例县")
    ws = openpyxl.load_workbook(path)["问题台账"]
    header = [c.value for c in ws[3]]
    return ws, {h: j + 1 for j, h in enumerate(header)}


def test_every_kind_of_cell(table):
    ws, col = table
    cell = lambda row, name: ws.cell(row=row, column=col[name])  # noqa: E731
    assert [ws.cell(row=r, column=1).value for r in (4, 5, 6)] == [1, 2, 3]
    assert cell(4, "问题编号").value == "370790-2026-000001"
    assert cell(4, "状态").value == "未整改"
    assert cell(4, "批次").value == "2026年第1批、2026年第2批"
    assert cell(4, "是否逾期").value == "是"  # 2026-10-31 passed on 2026-11-07, not rectified
    assert cell(4, "图斑面积(亩)").value == 10.0
    assert cell(4, "图斑面积(亩)").number_format == "0.00"
    assert cell(4, "图斑面积(平方米)").value == 6666.67
    assert cell(4, "整改期限").value.date() == date(2026, 10, 31)
    assert cell(4, "整改期限").number_format == "yyyy-mm-dd"
    assert cell(4, "永久基本农田面积(亩)").value == 0.0
    # the 永农 layer was not given for problem 2: 未检查 (text, centred), never 0
    for name in ("永久基本农田面积(亩)", "永久基本农田面积(平方米)"):
        assert cell(5, name).value == "未检查"
        assert cell(5, name).alignment.horizontal == "center"
    # blank cells keep the table's border and format
    blank = cell(6, "整改期限")
    assert blank.value is None and blank.border.left.style == "thin"
    assert cell(6, "图斑面积(亩)").value is None
    assert cell(4, "版本").value == 2 and cell(4, "版本").number_format == "0"
    # the long reason wraps to 4 lines: 60 pt (its row's tallest cell)
    assert ws.row_dimensions[4].height == pytest.approx(60.0)
    # 合计: the rounded sum of the unrounded areas
    total = [c.value for c in ws[7]]
    assert total[0] == "合计" and total[col["图斑面积(平方米)"] - 1] == 7666.67


def test_note_column_equals_note_per_cell():
    texts = [LONG, "", None, "短", LONG, "a\nb\nc"]
    a, b = RowHeights(), RowHeights()
    a.note_column(10, texts, 40)
    for r, t in enumerate(texts, start=10):
        if t:
            b.note(r, t, 40)
    assert a.lines == b.lines == {10: 4, 13: 1, 14: 4, 15: 3}
