"""§D.1: the 自验表 and 自验汇总表 laid out as seed 002 附件2/附件1, read back cell by cell."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import openpyxl
import pytest

from parcelwatch.exports.forms import write_self_check_form
from parcelwatch.ledger.model import Change, ProblemRecord, Status, check_change

TODAY = date(2019, 3, 20)


def rec(n: int, cls: str, **kw) -> ProblemRecord:
    return ProblemRecord(
        problem_id=f"370790-2019-{n:06d}",
        status=kw.pop("status", Status.RECTIFYING),
        township_name="禾丰镇",
        candidate_class=cls,
        confirmed_class=cls,
        **kw,
    )


def demo_like() -> list[ProblemRecord]:
    """I 3, II 2, III 2; the first Class I accepted 合格, the second 不合格."""
    return [
        rec(1, "I", acceptance_result="合格", status=Status.CLOSED, funds_recovered_wan=8.0),
        rec(2, "I", acceptance_result="不合格"),
        rec(3, "I"),
        rec(4, "II"),
        rec(5, "II"),
        rec(6, "III"),
        rec(7, "III"),
    ]


@pytest.fixture
def book(tmp_path: Path):
    out = write_self_check_form(demo_like(), tmp_path / "z.xlsx", today=TODAY, county_name="彭阳县")
    return openpyxl.load_workbook(out)


def test_T_D1_01_pass_written_yes_no(book) -> None:
    ws = book["自验表"]
    assert ws.cell(4, 19).value == "是否合格"
    got = {ws.cell(r, 20).value: ws.cell(r, 19).value for r in range(7, 14)}
    assert got["370790-2019-000001"] == "是"
    assert got["370790-2019-000002"] == "否"
    assert got["370790-2019-000003"] is None


def test_T_D1_02_self_check_header_cell_by_cell(book) -> None:
    ws = book["自验表"]
    assert ws["A1"].value == "“大棚房”问题专项清理整治县级自验表"
    assert ws["A2"].value == "县（市、区）：彭阳县　　（人民政府公章）　　单位：个、亩、万元"
    merged = {str(r) for r in ws.merged_cells.ranges}
    expected = {
        "A3:A5", "B3:B5", "C3:C5", "D3:D5", "E3:E5", "F3:F5", "G3:G5",
        "H3:M3", "H4:H5", "I4:I5", "J4:M4",
        "N3:P3", "N4:N5", "O4:O5", "P4:P5",
        "Q3:Q5", "R3:S3", "R4:R5", "S4:S5", "T3:T5",
    }  # fmt: skip
    assert expected <= merged
    row3 = {c.coordinate: c.value for c in ws[3] if c.value}
    assert row3 == {
        "A3": "序号", "B3": "乡、镇（街道）", "C3": "项目名称", "D3": "项目总占地面积",
        "E3": "建设地点（详细到四至范围）", "F3": "项目总棚数", "G3": "项目其他房屋等建设个数",
        "H3": "建设主体", "N3": "存在“大棚房”问题情况", "Q3": "是否属“一事一议”事项",
        "R3": "验收情况", "T3": "问题编号(台账)",
    }  # fmt: skip
    assert [ws.cell(4, c).value for c in (8, 9, 10, 14, 15, 16, 18, 19)] == [
        "主体名称", "建设总投资", "其中享受财政补助", "“大棚房”问题类型",
        "涉及违法违规建设个数", "违规占用耕地面积", "资金追回数量", "是否合格",
    ]  # fmt: skip
    assert [ws.cell(5, c).value for c in range(10, 14)] == ["中央", "省级", "市级", "县级"]
    units = [ws.cell(6, c).value for c in range(1, 21)]
    assert units[3] == "亩" and units[5] == "个" and units[8] == "万元" and units[15] == "亩"


def test_self_check_note_and_signature_under_total(book) -> None:
    ws = book["自验表"]
    total_row = next(r for r in range(7, 30) if str(ws.cell(r, 1).value).startswith("合计"))
    assert total_row == 14  # 7 problems from row 7
    assert ws.cell(total_row + 1, 1).value.startswith(
        "注：县级自验表严格按各县（市、区）问题台账中逐一进行验收"
    )
    assert "按时间填写“是”或“否”；是否合格填写“是”或“否”。" in ws.cell(total_row + 1, 1).value
    # the signature starts after the three key columns that repeat on every printed page
    assert ws.cell(total_row + 3, 4).value == (
        "自验组负责同志签字：　　　　自验组成员签字：　　　　填表日期：　　年　月　日"
    )
    assert f"D{total_row + 3}:T{total_row + 3}" in {str(r) for r in ws.merged_cells.ranges}


def test_T_D1_03_seed_summary_sheet(book) -> None:
    assert book.sheetnames[:3] == ["自验表", "自验汇总表", "自验汇总(明细)"]
    ws = book["自验汇总表"]
    assert ws["A1"].value == "“大棚房”问题专项清理整治县级自验汇总表"
    assert ws["A2"].value == "县（市、区）：彭阳县　（人民政府公章）　单位：个、亩、万元、次、人"
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert {"A3:D3", "E3:H3", "A7:H7", "A9:E9", "F9:H9"} <= merged
    assert (ws["A3"].value, ws["E3"].value) == ("“大棚房”问题情况", "验收结果")
    assert [c.value for c in ws[4]] == [
        "小计", "I类", "Ⅱ类", "Ⅲ类", "I类", "Ⅱ类", "Ⅲ类", "“一事一议”是否整改到位",
    ]  # fmt: skip
    assert [c.value for c in ws[5]] == [7, 3, 2, 2, 1, 0, 0, "无"]
    assert (
        ws["A7"].value
        == "注：每个县（市、区）填写一张汇总表，“大棚房”问题情况表格严格按各县（市、区）问题台账填写。"
    )
    assert ws["A9"].value == "县（市、区）人民政府主要负责同志签字："
    assert ws["F9"].value == "填表日期：　　年　月　日"


def test_T_D1_03_no_acceptance_gives_zeros(tmp_path: Path) -> None:
    recs = [r for r in demo_like()]
    recs = [ProblemRecord(**{**r.values(), "acceptance_result": ""}) for r in recs]
    out = write_self_check_form(recs, tmp_path / "z.xlsx", today=TODAY)
    ws = openpyxl.load_workbook(out)["自验汇总表"]
    assert [c.value for c in ws[5]] == [7, 3, 2, 2, 0, 0, 0, "无"]


def test_T_D1_04_case_by_case_one_open(tmp_path: Path) -> None:
    recs = [
        rec(1, "II", measure="一事一议", status=Status.CLOSED),
        rec(2, "III", status=Status.CASE_BY_CASE),
    ]
    out = write_self_check_form(recs, tmp_path / "z.xlsx", today=TODAY)
    assert openpyxl.load_workbook(out)["自验汇总表"]["H5"].value == "否"
    recs[1] = rec(2, "III", measure="一事一议", status=Status.CLOSED)
    out = write_self_check_form(recs, tmp_path / "y.xlsx", today=TODAY)
    assert openpyxl.load_workbook(out)["自验汇总表"]["H5"].value == "是"


def test_T_D1_05_every_form_has_its_signature_block(book, tmp_path: Path) -> None:
    texts = {
        name: " ".join(str(c.value) for row in book[name].iter_rows() for c in row if c.value)
        for name in ("自验表", "自验汇总表")
    }
    assert "自验组负责同志签字" in texts["自验表"] and "填表日期" in texts["自验表"]
    assert "主要负责同志签字" in texts["自验汇总表"] and "填表日期" in texts["自验汇总表"]


def test_T_P1_04_acceptance_result_yes_is_stored_as_pass() -> None:
    r = rec(1, "I", status=Status.AWAITING_ACCEPTANCE)
    issues, updates = check_change(
        r, Change("370790-2019-000001", fields={"acceptance_result": "是"})
    )
    assert not issues
    assert updates["acceptance_result"] == "合格"
