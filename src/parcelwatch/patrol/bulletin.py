"""The monthly and quarterly patrol bulletin (巡查考评通报) as Excel (SEED-SYSTEMS §B.5).

Pure builders over scoring results: no workspace and no clock. Scores are written as numbers
rounded half up to 2 decimals (:func:`parcelwatch.patrol.scoring.display`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from parcelwatch.exports.forms import (
    FormFormats as _Formats,
)
from parcelwatch.exports.forms import (
    form_workbook as _workbook,
)
from parcelwatch.exports.forms import (
    merged_headers as _merged_headers,
)
from parcelwatch.exports.forms import (
    print_setup as _print_setup,
)
from parcelwatch.exports.forms import (
    write_title as _title,
)
from parcelwatch.patrol.scheme import FINDER_LABELS, Scheme
from parcelwatch.patrol.scoring import MonthResult, QuarterResult, display, month_bounds

__all__ = ["write_month_bulletin", "write_quarter_bulletin", "due_dates"]

_MONTH_COLUMNS: list[tuple[tuple[str, ...], str, str, float]] = [
    (("序号",), "", "int", 6),
    (("巡查督查组",), "", "text", 16),
    (("村(居)",), "", "text", 12),
    (("基础分",), "分", "num2", 8),
    (("加分",), "分", "num2", 8),
    (("扣分", "镇巡查督查组/部门"), "分", "num2", 11),
    (("扣分", "区"), "分", "num2", 8),
    (("扣分", "市"), "分", "num2", 8),
    (("扣分", "省"), "分", "num2", 8),
    (("扣分", "12345/信访"), "分", "num2", 11),
    (("一票否决",), "是/否", "text", 9),
    (("本月得分",), "分", "num2", 10),
    (("排名",), "", "int", 6),
    (("备注",), "", "text", 20),
]


def due_dates(month: str, scheme: Scheme) -> tuple[date, date]:
    """部门报送期限 and 通报期限: the ``dept_due_day`` and ``bulletin_due_day`` of the next month."""
    _first, last = month_bounds(month)
    nxt = date.fromordinal(last.toordinal() + 1)
    return nxt.replace(day=scheme.dept_due_day), nxt.replace(day=scheme.bulletin_due_day)


def _n(v: Decimal) -> float:
    return float(display(v))


def _signature(ws: Any, fm: _Formats, row: int, last_col: int) -> None:
    ws.merge_range(
        row,
        0,
        row,
        last_col,
        "制表：综合行政执法办　　　　审核：　　　　　　日期：　　年　　月　　日",
        fm.info,
    )


def _ordered(result: MonthResult, scheme: Scheme) -> list[Any]:
    order = {v: i for i, v in enumerate(scheme.villages)}
    return sorted(result.villages, key=lambda v: (order.get(v.village, len(order)), v.village))


def write_month_bulletin(
    result: MonthResult,
    scheme: Scheme,
    path: str | Path,
    *,
    findings: Mapping[str, Mapping[str, Any]] | None = None,
) -> Path:
    """``巡查考评通报_YYYY年MM月.xlsx`` with sheets 月度考评, 加扣分明细, 部门考评."""
    path = Path(path)
    findings = findings or {}
    first, last = month_bounds(result.month)
    dept_due, bulletin_due = due_dates(result.month, scheme)
    title = f"{scheme.name.removesuffix('大巡查')}{first.year}年{first.month}月村(居)巡查考评通报"
    info = (
        f"统计期间：{first.isoformat()}至{last.isoformat()}　基础分{_n(scheme.base):g}分，每月不超过{_n(scheme.cap):g}分"
        f"　部门报送期限：{dept_due.isoformat()}　通报期限：{bulletin_due.isoformat()}"
    )
    with _workbook(path) as (wb, fm):
        ws = wb.add_worksheet("月度考评")
        last_col = len(_MONTH_COLUMNS) - 1
        _title(ws, fm, title, info, last_col)
        head_last = _merged_headers(ws, fm, 2, _MONTH_COLUMNS)
        unit_row = head_last + 1
        for j, (_p, unit, _k, width) in enumerate(_MONTH_COLUMNS):
            ws.write_string(unit_row, j, unit, fm.unit)
            ws.set_column(j, j, width)
        row = unit_row + 1
        rows = _ordered(result, scheme)
        for n, v in enumerate(rows, start=1):
            g = scheme.group_of(v.village)
            note = (
                "一票否决，当月积分为0"
                if v.vetoed
                else ("超过上限按100分计" if v.raw > scheme.cap else "")
            )
            values = [n, g.name if g else "", v.village, _n(v.base), _n(v.bonus), _n(v.deduction_town),
                      _n(v.deduction_district), _n(v.deduction_city), _n(v.deduction_province),
                      _n(v.deduction_hotline_petition), "是" if v.vetoed else "否", _n(v.score), v.rank, note]  # fmt: skip
            for j, value in enumerate(values):
                kind = _MONTH_COLUMNS[j][2]
                if kind == "int":
                    ws.write_number(row, j, value, fm.int)
                elif kind == "num2":
                    ws.write_number(row, j, value, fm.num2)
                else:
                    ws.write_string(row, j, str(value), fm.center if j in (2, 10) else fm.text)
            row += 1
        ws.merge_range(row, 0, row, 2, "平均", fm.total_text)
        for j in range(3, last_col + 1):
            kind = _MONTH_COLUMNS[j][2]
            if kind == "num2" and rows:
                col_vals = [
                    [v.base, v.bonus, v.deduction_town, v.deduction_district, v.deduction_city,
                     v.deduction_province, v.deduction_hotline_petition, None, v.score][j - 3]
                    for v in rows
                ]  # fmt: skip
                mean = sum((c for c in col_vals if c is not None), Decimal(0)) / len(rows)
                ws.write_number(row, j, _n(mean), fm.total_num2)
            else:
                ws.write_blank(row, j, None, fm.total_text)
        footer = f"待核实 {result.pending} 条（不计分）；目录外 {result.out_of_catalogue} 条（不计分）；不属实 {result.not_true} 条。"
        ws.merge_range(row + 1, 0, row + 1, last_col, footer, fm.info)
        _signature(ws, fm, row + 3, last_col)
        _print_setup(
            ws,
            header_first=2,
            header_last=unit_row,
            widths=[float(c[3]) for c in _MONTH_COLUMNS],
            freeze_col=3,
        )

        # 加扣分明细
        d = wb.add_worksheet("加扣分明细")
        heads = ["序号", "村(居)", "编号", "巡查目录事项", "牵头部门", "发现方", "发现/投诉时间", "村上报时间",
                 "地点", "事项内容", "核实结果", "核实部门", "分值", "倍数", "加(扣)分", "依据"]  # fmt: skip
        widths = [6, 10, 16, 16, 12, 14, 18, 18, 18, 24, 9, 12, 7, 7, 9, 36]
        _title(d, fm, f"{first.year}年{first.month}月巡查考评加扣分明细", info, len(heads) - 1)
        for j, (h, w) in enumerate(zip(heads, widths, strict=True)):
            d.write_string(2, j, h, fm.head)
            d.set_column(j, j, w)
        r = 3
        lines = sorted(result.lines, key=lambda x: (x.village, x.finding_id))
        for n, ln in enumerate(lines, start=1):
            f = findings.get(ln.finding_id, {})
            item = scheme.item(ln.item_code, first) if ln.item_code else None
            mult = "一票否决" if ln.multiplier == "veto" else f"{ln.multiplier}"
            vals: list[Any] = [
                n, ln.village, ln.finding_id, item.name if item else "目录外", item.dept if item else "",
                f.get("finder_name") or FINDER_LABELS.get(ln.finder_kind, ln.finder_kind),
                (f.get("complaint_at") or f.get("found_at") or "")[:16].replace("T", " "),
                (f.get("reported_at") or "")[:16].replace("T", " "), f.get("place_text") or "",
                f.get("content") or "", f.get("verified_result") or "", f.get("verified_by") or "",
            ]  # fmt: skip
            for j, value in enumerate(vals):
                if j == 0:
                    d.write_number(r, j, value, fm.int)
                else:
                    d.write_string(r, j, str(value), fm.text)
            d.write_number(r, 12, _n(ln.points), fm.num2)
            d.write_string(r, 13, mult, fm.center)
            d.write_number(r, 14, _n(ln.signed), fm.num2)
            d.write_string(r, 15, ln.basis, fm.text)
            r += 1
        _signature(d, fm, r + 1, len(heads) - 1)
        _print_setup(
            d, header_first=2, header_last=2, widths=[float(w) for w in widths], freeze_col=3
        )

        # 部门考评: net points per department (bonus + deduction signed), villages as rows
        p = wb.add_worksheet("部门考评")
        depts = list(scheme.depts)
        _title(p, fm, f"{first.year}年{first.month}月各部门巡查考评情况", info, len(depts) + 2)
        for j, h in enumerate(["序号", "村(居)", *depts, "合计"]):
            p.write_string(2, j, h, fm.head)
            p.set_column(j, j, 12 if j else 6)
        r = 3
        for n, v in enumerate(rows, start=1):
            net = dict.fromkeys(depts, Decimal(0))
            for ln in v.lines:
                item = scheme.item(ln.item_code, first) if ln.item_code else None
                if item is not None:
                    net[item.dept] += ln.signed
            p.write_number(r, 0, n, fm.int)
            p.write_string(r, 1, v.village, fm.center)
            for j, dept in enumerate(depts, start=2):
                p.write_number(r, j, _n(net[dept]), fm.num2)
            p.write_number(r, len(depts) + 2, _n(sum(net.values(), Decimal(0))), fm.num2)
            r += 1
        _signature(p, fm, r + 1, len(depts) + 2)
        _print_setup(
            p, header_first=2, header_last=2, widths=[6.0] + [12.0] * (len(depts) + 2), freeze_col=2
        )
    return path


def write_quarter_bulletin(
    quarter: str,
    results: Sequence[QuarterResult],
    months: Sequence[MonthResult],
    scheme: Scheme,
    path: str | Path,
    *,
    year_quarters: Mapping[str, Sequence[QuarterResult]] | None = None,
) -> Path:
    """The quarterly bulletin, sheet 季度考评 with the band legend (R7, R8), and, with
    ``year_quarters`` (``2026Q1`` -> results, the year's quarters up to this one), sheet 年度汇总
    for the year-end village performance review (seed 004 "纳入年底村(居)绩效考核"): each quarter's
    average, the year's mean so far (the mean of every monthly score, 2 dp half up) and its grade
    [inferred: the seed gives no annual rule]."""
    path = Path(path)
    ms = [int(m.month[5:]) for m in months]
    heads = [
        "序号",
        "巡查督查组",
        "村(居)",
        *[f"{m}月得分" for m in ms],
        "季度平均分",
        "等次",
        "是否给予奖励",
        "排名",
    ]
    order = {v: i for i, v in enumerate(scheme.villages)}
    rows = sorted(results, key=lambda q: (order.get(q.village, len(order)), q.village))
    year = months[0].month[:4]
    with _workbook(path) as (wb, fm):
        ws = wb.add_worksheet("季度考评")
        last_col = len(heads) - 1
        _title(ws, fm, f"{scheme.name.removesuffix('大巡查')}{year}年第{quarter[-1]}季度村(居)巡查考评通报",
               f"季度得分为该季度月平均得分；{'；'.join(_band_text(scheme))}", last_col)  # fmt: skip
        for j, h in enumerate(heads):
            ws.write_string(2, j, h, fm.head)
            ws.set_column(j, j, 16 if j == 1 else 11)
        r = 3
        for n, q in enumerate(rows, start=1):
            g = scheme.group_of(q.village)
            ws.write_number(r, 0, n, fm.int)
            ws.write_string(r, 1, g.name if g else "", fm.text)
            ws.write_string(r, 2, q.village, fm.center)
            for j, s in enumerate(q.scores, start=3):
                ws.write_number(r, j, _n(s), fm.num2)
            ws.write_number(r, 6, _n(q.average), fm.num2)
            ws.write_string(r, 7, q.grade, fm.center)
            ws.write_string(r, 8, "是" if q.reward else "否", fm.center)
            ws.write_number(r, 9, q.rank, fm.int)
            r += 1
        ws.merge_range(
            r + 1,
            0,
            r + 1,
            last_col,
            "等次：优秀≥90，良好80–89，一般70–79，合格61–69，较差≤60；获得“较差”等次的不给予奖励。",
            fm.info,
        )
        _signature(ws, fm, r + 3, last_col)
        _print_setup(
            ws,
            header_first=2,
            header_last=2,
            widths=[16.0 if j == 1 else 11.0 for j in range(len(heads))],
            freeze_col=3,
        )
        if year_quarters:
            _year_sheet(wb, fm, year, year_quarters, scheme, order)
    return path


def _year_sheet(wb: Any, fm: _Formats, year: str, year_quarters: Mapping[str, Sequence[QuarterResult]],
                scheme: Scheme, order: Mapping[str, int]) -> None:  # fmt: skip
    from parcelwatch.patrol.scoring import competition_ranks, grade_of

    names = ["第一季度", "第二季度", "第三季度", "第四季度"]
    heads = ["序号", "巡查督查组", "村(居)", *names, "年度平均分", "等次", "排名"]
    by_q = {q[-1]: {r.village: r for r in rs} for q, rs in year_quarters.items()}
    villages = sorted(
        {v for rs in by_q.values() for v in rs}, key=lambda v: (order.get(v, len(order)), v)
    )
    means = []
    for v in villages:
        scores = [s for q in sorted(by_q) if v in by_q[q] for s in by_q[q][v].scores]
        means.append(display(sum(scores, Decimal(0)) / len(scores)))
    ranks = competition_ranks(means)
    ws = wb.add_worksheet("年度汇总")
    last_col = len(heads) - 1
    done = "、".join(names[int(q) - 1] for q in sorted(by_q))
    _title(ws, fm, f"{scheme.name.removesuffix('大巡查')}{year}年村(居)巡查考评年度汇总",
           f"已计：{done}；年度平均分为各月得分的平均（供年底村(居)绩效考核）", last_col)  # fmt: skip
    for j, h in enumerate(heads):
        ws.write_string(2, j, h, fm.head)
        ws.set_column(j, j, 16 if j == 1 else 11)
    for n, (v, mean, rank) in enumerate(zip(villages, means, ranks, strict=True), start=1):
        r = 2 + n
        g = scheme.group_of(v)
        ws.write_number(r, 0, n, fm.int)
        ws.write_string(r, 1, g.name if g else "", fm.text)
        ws.write_string(r, 2, v, fm.center)
        for j, q in enumerate("1234", start=3):
            if q in by_q and v in by_q[q]:
                ws.write_number(r, j, _n(by_q[q][v].average), fm.num2)
            else:
                ws.write_blank(r, j, None, fm.num2)
        ws.write_number(r, 7, _n(mean), fm.num2)
        ws.write_string(r, 8, grade_of(mean, scheme), fm.center)
        ws.write_number(r, 9, rank, fm.int)
    _signature(ws, fm, 3 + len(villages) + 1, last_col)
    _print_setup(ws, header_first=2, header_last=2,
                 widths=[16.0 if j == 1 else 11.0 for j in range(len(heads))], freeze_col=3)  # fmt: skip


def _band_text(scheme: Scheme) -> list[str]:
    out = []
    for b in scheme.bands:
        if b.min is None:
            out.append(f"{b.grade}其余")
        else:
            out.append(f"{b.grade}{'≥' if b.inclusive else '>'}{_n(b.min):g}")
    return out
