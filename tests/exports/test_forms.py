"""Excel forms read back with openpyxl and compared with the ledger and its statistics."""

from __future__ import annotations

from typing import Any

import openpyxl
import pytest
import shapely

from parcelwatch.acceptance.records import read_if_present
from parcelwatch.exports.forms import DPF_CLASSES, SELF_CHECK_COLUMNS, threshold_parcels
from parcelwatch.ledger import workspace_stats
from parcelwatch.ledger.figures import half_up
from parcelwatch.ledger.model import FIELDS, Status
from parcelwatch.units import m2_to_mu
from tests.exports.conftest import TODAY, Exported


def mu(m2: float | None) -> float:
    return float(half_up(m2_to_mu(m2 or 0.0)))


def rows(ws: Any) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in ws.iter_rows(values_only=True)]


def check_print_setup(ws: Any, header_rows: str) -> None:
    assert ws.page_setup.orientation == "landscape"
    assert int(ws.page_setup.paperSize) == 9  # A4
    if ws.sheet_properties.pageSetUpPr.fitToPage:  # one page wide
        assert ws.page_setup.fitToWidth in (None, 1) and int(ws.page_setup.fitToHeight) == 0
    else:  # too wide for 8 pt: across pages at 100 % with the key column(s) repeated
        assert ws.page_setup.scale in (None, 100) and ws.print_title_cols.startswith("$A:")
        assert ws.col_breaks.count >= 1
    assert ws.print_title_rows == header_rows
    assert ws.freeze_panes is not None


def test_ledger_form_has_every_field_and_totals(exported: Exported) -> None:
    wb = openpyxl.load_workbook(exported.paths["xlsx_ledger"])
    ws = wb["问题台账"]
    check_print_setup(ws, "$3:$3")
    table = rows(ws)
    header = table[2]
    for f in FIELDS:
        zh = f.zh.replace("(m²)", "(平方米)")
        assert zh in header, f.zh
    col = {h: j for j, h in enumerate(header)}
    data = table[3 : 3 + len(exported.records)]
    by_id = {r.problem_id: r for r in exported.records}
    assert sorted(r[col["问题编号"]] for r in data) == sorted(by_id)
    for r in data:
        rec = by_id[r[col["问题编号"]]]
        assert r[col["状态"]] == rec.status.value
        assert r[col["乡镇(街道)"]] == rec.township_name
        assert r[col["图斑面积(亩)"]] == pytest.approx(mu(rec.parcel_area_m2), abs=0.005)
        if rec.deadline:
            assert r[col["整改期限"]].date() == rec.deadline
    total = table[3 + len(exported.records)]
    assert total[0] == "合计"
    # one rounding: the total is the rounded sum of the unrounded areas
    assert total[col["图斑面积(亩)"]] == mu(sum(r.parcel_area_m2 or 0.0 for r in exported.records))
    assert total[col["违法占用耕地(亩)"]] == mu(
        sum(r.illegal_farmland_m2 or 0.0 for r in exported.records)
    )


def test_self_check_form_headers_units_order_and_totals(exported: Exported) -> None:
    wb = openpyxl.load_workbook(exported.paths["xlsx_self_check"])
    ws = wb["自验表"]
    check_print_setup(ws, "$3:$6")
    merged = {str(m) for m in ws.merged_cells.ranges}
    assert {"H3:M3", "J4:M4", "R3:S3", "A3:A5", "N3:P3", "P4:P5"} <= merged
    table = rows(ws)
    assert (
        table[2][7] == "建设主体"
        and table[3][7] == "主体名称"
        and table[3][9] == "其中享受财政补助"
    )
    assert table[4][9:13] == ("中央", "省级", "市级", "县级")
    assert table[2][17] == "验收情况" and table[3][17:19] == ("资金追回数量", "是否合格")
    assert [c for c in table[2] if c] == [
        p[0] for p in dict.fromkeys(c[0][:1] for c in SELF_CHECK_COLUMNS)
    ]
    units = table[5]
    assert units[3] == "亩" and units[5] == "个" and units[8] == "万元" and units[15] == "亩"
    data = [r for r in table[6:] if isinstance(r[0], int)]
    by_id = {r.problem_id: r for r in exported.records}
    dpf = [
        r
        for r in exported.records
        if r.status not in (Status.LEGAL, Status.OTHER, Status.ROUTINE)
        and (r.confirmed_class or r.candidate_class) in DPF_CLASSES
    ]
    assert sorted(r[19] for r in data) == sorted(r.problem_id for r in dpf)
    ranks = [
        DPF_CLASSES.index(by_id[r[19]].confirmed_class or by_id[r[19]].candidate_class)
        for r in data
    ]
    assert ranks == sorted(ranks) and ranks[0] == 0  # 第一类, then 第二类, then 第三类
    assert [r[0] for r in data] == list(range(1, len(data) + 1))
    findings = exported.ws.store.snapshot().findings
    registry = [
        shapely.from_wkt(g["geom_wkt"])
        for g in read_if_present(exported.ws.store, "greenhouse_registry")
    ]
    assert registry  # the demo's 棚室台账
    for r in data:
        rec = by_id[r[19]]
        assert r[1] == rec.township_name
        assert r[3] == pytest.approx(mu(rec.parcel_area_m2), abs=0.005)
        assert r[4] is None  # 四至: left for staff
        # 项目总棚数: registry greenhouses (the demo imports them) lying >= 50 % inside the problem
        inside = [g for g in registry if g.intersection(rec.geometry).area >= 0.5 * g.area]
        assert r[5] == len(inside)
        mine = findings[findings["problem_id"] == rec.problem_id]
        assert r[6] == mine["footprint_id"].nunique()
        assert (
            r[14]
            == mine.loc[
                mine["problem_class"].isin(["I", "II", "III", "conversion"]), "footprint_id"
            ].nunique()
        )
        assert r[15] == pytest.approx(mu(rec.illegal_occupied_m2), abs=0.005)
        assert r[16] == ("是" if rec.status is Status.CASE_BY_CASE or rec.decision_ref else "否")
    total = table[6 + len(data)]
    assert total[0].startswith("合计")
    assert total[3] == pytest.approx(sum(r[3] for r in data), abs=0.01)
    assert total[14] == sum(r[14] for r in data)
    assert total[15] == pytest.approx(sum(r[15] for r in data), abs=0.01)


def test_self_check_summary_by_class(exported: Exported) -> None:
    wb = openpyxl.load_workbook(exported.paths["xlsx_self_check"], read_only=True)
    table = rows(wb["自验汇总(明细)"])
    detail = [r for r in rows(wb["自验表"])[6:] if isinstance(r[0], int)]
    assert table[2][:4] == ("类别", "问题个数", "项目总占地面积", "违规占用耕地面积")
    body = {r[0]: r for r in table[4:7]}
    assert list(body) == ["第一类", "第二类", "第三类"]
    for label, r in body.items():
        mine = [d for d in detail if d[13].endswith(label)]
        assert r[1] == len(mine)
        # the class total is the rounded sum of the unrounded areas: within half a cent per row
        assert r[2] == pytest.approx(sum(d[3] for d in mine), abs=0.005 * len(mine) + 1e-9)
        assert r[3] == pytest.approx(sum(d[15] for d in mine), abs=0.005 * len(mine) + 1e-9)
        assert r[7] + r[8] + r[9] == r[1]  # 合格 + 不合格 + 未验收
    total = table[7]
    assert total[0] == "合计" and total[1] == len(detail)


def test_progress_by_township_matches_ledger_stats(exported: Exported) -> None:
    wb = openpyxl.load_workbook(exported.paths["xlsx_progress"])
    ws = wb["乡镇整改进度"]
    check_print_setup(ws, "$3:$4")
    table = rows(ws)
    stats = workspace_stats(exported.ws, today=TODAY).by_township
    body = table[4 : 4 + len(stats)]
    assert sorted(r[0] for r in body) == sorted(stats.index)
    for r in body:
        s = stats.loc[r[0]]
        assert (r[1], r[2], r[3], r[5]) == (s["count"], s["confirmed"], s["closed"], s["overdue"])
        assert r[7] == float(half_up(s["parcel_mu"]))
        assert r[8] == float(half_up(s["illegal_farmland_mu"]))  # 已认定 only
        assert r[9] == float(half_up(s["candidate_farmland_mu"]))  # 疑似 apart
        assert r[10] == float(half_up(s["remaining_mu"]))
        rectifying = sum(
            1
            for x in exported.records
            if x.township_name == r[0]
            and x.status in (Status.RECTIFYING, Status.AWAITING_ACCEPTANCE)
        )
        assert r[4] == rectifying
        assert r[6] == (float(half_up(s["closed"] / s["confirmed"], 4)) if s["confirmed"] else None)
    total = table[4 + len(stats)]
    assert total[0] == "合计" and total[1] == len(exported.records)
    assert total[5] == workspace_stats(exported.ws, today=TODAY).overdue


def test_ratio_sheet_and_criminal_thresholds(exported: Exported) -> None:
    wb = openpyxl.load_workbook(exported.paths["xlsx_ratio"], read_only=True)
    table = rows(wb["违法占用耕地面积比例"])
    st = workspace_stats(exported.ws, today=TODAY)
    values = {r[0]: r[1] for r in table[2:8]}
    assert values["年度"] == st.year
    assert values["违法占用耕地面积(已认定，亩)"] == mu(st.illegal_farmland_m2)
    assert values["违法占用耕地面积比例"] == pytest.approx(st.ratio, abs=5e-5)
    assert values["评价"] == st.ratio_level
    lst = wb["刑事移送标准图斑"]
    table = rows(lst)
    assert table[2][0] == "序号" and table[3][8:10] == ("亩", "亩")
    listed = [r for r in table[4:] if isinstance(r[0], int)]
    want = threshold_parcels(exported.records, rules=exported.ws.rules)
    assert [r[1] for r in listed] == [r.problem_id for r, _ in want]
    assert listed  # the sample's factory complex occupies 12 亩 of 耕地
    rec = exported.record(listed[0][1])
    assert (
        listed[0][9] == pytest.approx(mu(rec.illegal_farmland_m2), abs=0.005) and listed[0][9] >= 10
    )
    assert "耕地≥10亩" in listed[0][10]
    total = table[4 + len(listed)]
    assert total[0] == "合计" and total[9] == pytest.approx(sum(r[9] for r in listed), abs=0.01)


def test_ratio_workbook_prints_a4_landscape(exported: Exported) -> None:
    wb = openpyxl.load_workbook(exported.paths["xlsx_ratio"])
    check_print_setup(wb["刑事移送标准图斑"], "$3:$4")
