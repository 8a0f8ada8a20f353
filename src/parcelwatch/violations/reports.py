"""两违 reports (SEED-SYSTEMS §A.6): the monthly bulletin 两违月通报 (Excel) and the statistics
lines of ``violations stats``. Pure builders over case dicts; no workspace, no clock."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

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
from parcelwatch.violations.blacklist import mask_name
from parcelwatch.violations.cases import (
    DISPOSALS,
    DISPOSED,
    ViolationSettings,
    _local_date,
    cumulative,
    governed_m2,
    new_cases,
    pct,
    progress,
)

__all__ = ["TownMonth", "monthly_rows", "write_monthly_bulletin", "stats_lines"]


@dataclass(frozen=True)
class TownMonth:
    town: str
    new_count: int
    new_m2: Decimal
    stopped: int
    disposals: Mapping[str, tuple[int, Decimal]]
    year_m2: Decimal
    target_m2: Decimal | None
    rank: int = 0

    @property
    def rate(self) -> Decimal | None:
        return self.year_m2 / self.target_m2 if self.target_m2 else None


def _month_of(v: Any) -> str:
    d = _local_date(v)
    return f"{d.year:04d}-{d.month:02d}" if d else ""


def _month_end(month: str) -> date:
    y, m = (int(x) for x in month.split("-"))
    return date.fromordinal(date(y + (m == 12), m % 12 + 1, 1).toordinal() - 1)


def monthly_rows(cases: Sequence[Mapping[str, Any]], month: str, settings: ViolationSettings,
                 town_targets: Mapping[str, Decimal] | None = None) -> list[TownMonth]:  # fmt: skip
    """One row per town that has a case: the month's figures and the year's governed area to the
    month's end; ranked by 完成率 when every town has a target, else by the year's area."""
    town_targets = town_targets or {}
    towns = sorted({c.get("township_name") or "(未填乡镇)" for c in cases})
    year = int(month[:4])
    rows = []
    for t in towns:
        tc = [c for c in cases if (c.get("township_name") or "(未填乡镇)") == t]
        n, area, _ = new_cases(tc, month)
        stopped = sum(1 for c in tc if _month_of(c.get("stopped_at")) == month)
        disp = {}
        for d in DISPOSALS:
            hit = [
                c
                for c in tc
                if c.get("status") in DISPOSED
                and c.get("disposal") == d
                and _month_of(c.get("disposed_on")) == month
            ]
            disp[d] = (
                len(hit),
                sum((Decimal(str(c.get("disposed_area_m2") or 0)) for c in hit), Decimal(0)),
            )
        year_m2 = governed_m2(tc, year, settings, as_of=_month_end(month))
        rows.append(TownMonth(t, n, area, stopped, disp, year_m2, town_targets.get(t)))
    by_rate = bool(rows) and all(r.target_m2 for r in rows)
    keys: list[Decimal] = [(r.rate or Decimal(0)) if by_rate else r.year_m2 for r in rows]
    from dataclasses import replace

    return [
        replace(r, rank=1 + sum(1 for k in keys if k > key))
        for r, key in zip(rows, keys, strict=True)
    ]


def _f(v: Decimal) -> float:
    return float(v.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def write_monthly_bulletin(cases: Sequence[Mapping[str, Any]], month: str, settings: ViolationSettings, path: str | Path, *,
                           county_name: str = "", year_target_m2: Decimal | None = None, issued_on: date | None = None,
                           town_targets: Mapping[str, Decimal] | None = None) -> Path:  # fmt: skip
    """``两违月通报_YYYY年MM月.xlsx``: sheet 两违月通报 (two-level header, units row, towns, 合计)
    and sheet 新增两违明细 (names masked as 姓 + 某)."""
    path = Path(path)
    rows = monthly_rows(cases, month, settings, town_targets)
    y, m = int(month[:4]), int(month[5:])
    cols: list[tuple[tuple[str, ...], str, str, float]] = [(("序号",), "", "int", 6), (("乡镇",), "", "text", 12),
            (("新增两违", "宗数"), "宗", "int", 8), (("新增两违", "面积(㎡)"), "㎡", "num2", 11), (("制止", "宗数"), "宗", "int", 8)]  # fmt: skip
    for d in DISPOSALS:
        cols += [((d, "宗数"), "宗", "int", 8), ((d, "面积(㎡)"), "㎡", "num2", 11)]
    cols += [(("本年累计治理面积(㎡)",), "㎡", "num2", 14), (("年度目标(㎡)",), "㎡", "num2", 12), (("完成率",), "%", "num2", 9), (("排名",), "", "int", 6)]  # fmt: skip
    last = len(cols) - 1
    info = (f"统计期间：{month}-01至{_month_end(month).isoformat()}　年度目标：{_f(year_target_m2):g}㎡" if year_target_m2 else f"统计期间：{month}-01至{_month_end(month).isoformat()}")  # fmt: skip
    info += f"　通报日期：{issued_on.isoformat() if issued_on else '　　年　月　日'}"
    with _workbook(path) as (wb, fm):
        ws = wb.add_worksheet("两违月通报")
        _title(ws, fm, f"{county_name}{y}年{m}月“两违”综合治理情况通报", info, last)
        head_last = _merged_headers(ws, fm, 2, cols)
        for j, c in enumerate(cols):
            ws.write_string(head_last + 1, j, c[1], fm.unit)
            ws.set_column(j, j, c[3])
        r0 = head_last + 2
        r = r0
        for n, t in enumerate(rows, start=1):
            vals: list[Any] = [n, t.town, t.new_count, _f(t.new_m2), t.stopped]
            for d in DISPOSALS:
                vals += [t.disposals[d][0], _f(t.disposals[d][1])]
            vals += [
                _f(t.year_m2),
                _f(t.target_m2) if t.target_m2 else None,
                _f(pct(t.rate)) if t.rate is not None else None,
                t.rank,
            ]
            for j, v in enumerate(vals):
                kind = cols[j][2]
                if v is None:
                    ws.write_blank(r, j, None, fm.num2)
                elif kind == "text":
                    ws.write_string(r, j, str(v), fm.center)
                else:
                    ws.write_number(r, j, v, fm.int if kind == "int" else fm.num2)
            r += 1
        ws.merge_range(r, 0, r, 1, "合计", fm.total_text)
        for j in range(2, last + 1):
            if cols[j][0][0] in ("完成率", "排名", "年度目标(㎡)"):
                ws.write_blank(r, j, None, fm.total_text)
                continue
            kind = cols[j][2]
            # the sum of the written values, as a number (readers without a calculation engine)
            total = sum(_col_values(rows, j))
            ws.write_number(r, j, round(total, 2), fm.total_int if kind == "int" else fm.total_num2)
        ws.merge_range(
            r + 2,
            0,
            r + 2,
            last,
            "填报单位：　　　　　　审核人：　　　　　　日期：　　年　　月　　日",
            fm.info,
        )
        _print_setup(
            ws,
            header_first=2,
            header_last=head_last + 1,
            widths=[float(c[3]) for c in cols],
            freeze_col=2,
        )
        d = wb.add_worksheet("新增两违明细")
        heads = [
            "序号",
            "案件编号",
            "乡镇",
            "村(居)",
            "当事人",
            "地点",
            "建筑面积(㎡)",
            "占地面积(㎡)",
            "发现时间",
            "发现途径",
            "状态",
        ]
        _title(d, fm, f"{y}年{m}月新增两违明细", info, len(heads) - 1)
        for j, h in enumerate(heads):
            d.write_string(2, j, h, fm.head)
            d.set_column(j, j, 14)
        _, _, hits = new_cases(cases, month)
        for n, case in enumerate(hits, start=1):
            vals2 = [str(n), case.get("case_id", ""), case.get("township_name") or "", case.get("village_name") or "",
                     mask_name(case.get("household") or ""), case.get("address") or "", case.get("floor_area_m2") or "",
                     case.get("land_area_m2") or "", str(case.get("found_at") or "")[:16].replace("T", " "), case.get("found_by") or "", case.get("status") or ""]  # fmt: skip
            for j, v in enumerate(vals2):
                d.write_string(2 + n, j, str(v), fm.text)
        _print_setup(d, header_first=2, header_last=2, widths=[14.0] * len(heads))
    return path


def _col_values(rows: Sequence[TownMonth], j: int) -> list[float]:
    out = []
    for t in rows:
        vals: list[Any] = [None, None, t.new_count, _f(t.new_m2), t.stopped]
        for d in DISPOSALS:
            vals += [t.disposals[d][0], _f(t.disposals[d][1])]
        vals += [_f(t.year_m2)]
        out.append(float(vals[j]) if j < len(vals) and vals[j] is not None else 0.0)
    return out


def stats_lines(cases: Sequence[Mapping[str, Any]], year: int, targets: Mapping[int, Decimal], settings: ViolationSettings,
                *, as_of: date) -> list[str]:  # fmt: skip
    """The lines of ``violations stats`` (SEED-SYSTEMS §A.6)."""
    out = [f"{year}年两违综合治理（截至{as_of.isoformat()}）"]
    if year in targets:
        p = progress(cases, year, targets[year], settings, as_of=as_of)
        line = f"  年度目标 {_f(p.target_m2):.2f} ㎡；已治理 {_f(p.governed_m2):.2f} ㎡，完成 {pct(p.progress)}%"
        if p.time_progress is not None and p.gap_points is not None:
            word = "落后" if p.gap_points < 0 else "超前"
            line += f"；序时进度 {pct(p.time_progress)}%（{word} {abs(p.gap_points)} 个百分点）"
        out.append(line)
    _total, parts = governed_m2(cases, year, settings, as_of=as_of, by_disposal=True)
    out.append("  其中 " + "，".join(f"{d} {_f(parts[d]):.2f} ㎡" for d in DISPOSALS))
    month = f"{as_of.year:04d}-{as_of.month:02d}"
    n, area, _ = new_cases(cases, month)
    open_stock = [
        c
        for c in cases
        if c.get("stock") == "存量" and c.get("status") in ("已认定", "已制止", "处置中")
    ]
    stock_m2 = sum(
        (
            Decimal(
                str(
                    c.get("floor_area_m2" if settings.area_basis == "floor" else "land_area_m2")
                    or 0
                )
            )
            for c in open_stock
        ),
        Decimal(0),
    )
    out.append(
        f"  新增两违（增量）本月 {n} 宗 {_f(area):.2f} ㎡（目标 0）；存量待处置 {len(open_stock)} 宗 {_f(stock_m2):.2f} ㎡"
    )
    past = {y: t for y, t in targets.items() if y <= year}
    if len(past) > 1:
        gov, tgt, ratio = cumulative(cases, past, settings, as_of=as_of)
        out.append(
            f"  {min(past)}—{max(past)}累计 {_f(gov):.2f} ㎡ / {_f(tgt):.2f} ㎡ = {pct(ratio)}%"
        )
    return out
