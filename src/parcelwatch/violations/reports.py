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

__all__ = [
    "TownMonth", "TownDay", "period_rows", "monthly_rows", "write_monthly_bulletin", "period_of",
    "write_evaluation", "daily_rows", "daily_table", "write_daily", "publish_rows", "write_publish_list",
    "write_blacklist", "stats_lines", "HotSpots", "hot_spots",
]  # fmt: skip


@dataclass(frozen=True)
class TownMonth:
    """One town's figures over a period (a month for 月通报, a half or a year for 考评)."""

    town: str
    new_count: int
    new_m2: Decimal
    stopped: int
    disposals: Mapping[str, tuple[int, Decimal]]
    year_m2: Decimal
    target_m2: Decimal | None
    rank: int = 0
    supervised_open: int = 0  # 挂牌督办 cases not yet disposed
    planned_published: int = 0  # cases on a published 拟拆名单 in the period
    blacklisted: int = 0  # blacklist entries listed in the period

    @property
    def rate(self) -> Decimal | None:
        return self.year_m2 / self.target_m2 if self.target_m2 else None


def _month_of(v: Any) -> str:
    d = _local_date(v)
    return f"{d.year:04d}-{d.month:02d}" if d else ""


def _month_end(month: str) -> date:
    y, m = (int(x) for x in month.split("-"))
    return date.fromordinal(date(y + (m == 12), m % 12 + 1, 1).toordinal() - 1)


def _within(v: Any, start: date, end: date) -> bool:
    d = _local_date(v)
    return d is not None and start <= d <= end


def _town(c: Mapping[str, Any]) -> str:
    return c.get("township_name") or "(未填乡镇)"


def _area(c: Mapping[str, Any]) -> Decimal:
    """A case's size for counts of new cases: 建筑面积, else 占地面积 (as :func:`new_cases`)."""
    for k in ("floor_area_m2", "land_area_m2"):
        if c.get(k) not in (None, ""):
            return Decimal(str(c[k]))
    return Decimal(0)


_OPEN_SUPERVISED = ("待核实", "已认定", "已制止", "处置中", "反弹")


def period_rows(cases: Sequence[Mapping[str, Any]], start: date, end: date, settings: ViolationSettings,
                town_targets: Mapping[str, Decimal] | None = None,
                blacklist: Sequence[Mapping[str, Any]] = ()) -> list[TownMonth]:  # fmt: skip
    """One row per town that has a case: the period's figures (new 增量 cases, 制止, each
    disposal) and the governed area of ``end``'s year up to ``end``; ranked by 完成率 when every
    town has a target, else by that area (competition ranking)."""
    town_targets = town_targets or {}
    by_id = {c.get("case_id"): c for c in cases}
    rows = []
    for t in sorted({_town(c) for c in cases}):
        tc = [c for c in cases if _town(c) == t]
        new = [c for c in tc if c.get("stock") == "增量" and c.get("status") != "不属实"
               and _within(c.get("found_at"), start, end)]  # fmt: skip
        stopped = sum(1 for c in tc if _within(c.get("stopped_at"), start, end))
        disp = {}
        for d in DISPOSALS:
            hit = [c for c in tc if c.get("status") in DISPOSED and c.get("disposal") == d
                   and _within(c.get("disposed_on"), start, end)]  # fmt: skip
            disp[d] = (
                len(hit),
                sum((Decimal(str(c.get("disposed_area_m2") or 0)) for c in hit), Decimal(0)),
            )
        year_m2 = governed_m2(tc, end.year, settings, as_of=end)
        supervised = sum(
            1 for c in tc if c.get("supervision_level") and c.get("status") in _OPEN_SUPERVISED
        )
        planned = sum(1 for c in tc if _within(c.get("planned_published_on"), start, end))
        listed = sum(
            1 for e in blacklist
            if _within(e.get("listed_on"), start, end)
            and any(_town(by_id[cid]) == t for cid in e.get("case_ids") or [] if cid in by_id)
        )  # fmt: skip
        rows.append(TownMonth(t, len(new), sum((_area(c) for c in new), Decimal(0)), stopped, disp,
                              year_m2, town_targets.get(t), 0, supervised, planned, listed))  # fmt: skip
    by_rate = bool(rows) and all(r.target_m2 for r in rows)
    keys: list[Decimal] = [(r.rate or Decimal(0)) if by_rate else r.year_m2 for r in rows]
    from dataclasses import replace

    return [
        replace(r, rank=1 + sum(1 for k in keys if k > key))
        for r, key in zip(rows, keys, strict=True)
    ]


def monthly_rows(cases: Sequence[Mapping[str, Any]], month: str, settings: ViolationSettings,
                 town_targets: Mapping[str, Decimal] | None = None) -> list[TownMonth]:  # fmt: skip
    """:func:`period_rows` of one month (the 月通报)."""
    y, m = (int(x) for x in month.split("-"))
    return period_rows(cases, date(y, m, 1), _month_end(month), settings, town_targets)


def _f(v: Decimal) -> float:
    return float(v.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


_EXTRA_COLUMNS: list[tuple[tuple[str, ...], str, str, float]] = [
    (("挂牌督办未办结",), "宗", "int", 9),
    (("公示拟拆",), "宗", "int", 8),
    (("列入黑名单",), "个", "int", 8),
]


def _town_columns(extra: bool) -> list[tuple[tuple[str, ...], str, str, float]]:
    cols: list[tuple[tuple[str, ...], str, str, float]] = [(("序号",), "", "int", 6), (("乡镇",), "", "text", 12),
            (("新增两违", "宗数"), "宗", "int", 8), (("新增两违", "面积(㎡)"), "㎡", "num2", 11), (("制止", "宗数"), "宗", "int", 8)]  # fmt: skip
    for d in DISPOSALS:
        cols += [((d, "宗数"), "宗", "int", 8), ((d, "面积(㎡)"), "㎡", "num2", 11)]
    cols += [(("本年累计治理面积(㎡)",), "㎡", "num2", 14), (("年度目标(㎡)",), "㎡", "num2", 12), (("完成率",), "%", "num2", 9)]  # fmt: skip
    if extra:
        cols += _EXTRA_COLUMNS
    return [*cols, (("排名",), "", "int", 6)]


def _town_values(t: TownMonth, extra: bool) -> list[Any]:
    vals: list[Any] = [t.town, t.new_count, _f(t.new_m2), t.stopped]
    for d in DISPOSALS:
        vals += [t.disposals[d][0], _f(t.disposals[d][1])]
    vals += [_f(t.year_m2), _f(t.target_m2) if t.target_m2 else None,
             _f(pct(t.rate)) if t.rate is not None else None]  # fmt: skip
    if extra:
        vals += [t.supervised_open, t.planned_published, t.blacklisted]
    return [*vals, t.rank]


#: columns with no meaningful 合计 (a rate, a rank, per-town targets)
_NO_TOTAL = ("完成率", "排名", "年度目标(㎡)")


def _write_town_sheet(wb: Any, fm: Any, sheet: str, title: str, info: str, rows: Sequence[TownMonth], *,
                      extra: bool = False, signature: str) -> None:  # fmt: skip
    cols = _town_columns(extra)
    last = len(cols) - 1
    ws = wb.add_worksheet(sheet)
    _title(ws, fm, title, info, last)
    head_last = _merged_headers(ws, fm, 2, cols)
    for j, c in enumerate(cols):
        ws.write_string(head_last + 1, j, c[1], fm.unit)
        ws.set_column(j, j, c[3])
    r = head_last + 2
    table = []
    for n, t in enumerate(rows, start=1):
        vals = [n, *_town_values(t, extra)]
        table.append(vals)
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
        if cols[j][0][0] in _NO_TOTAL:
            ws.write_blank(r, j, None, fm.total_text)
            continue
        kind = cols[j][2]
        # the sum of the written values, as a number (readers without a calculation engine)
        total = sum(float(v[j]) for v in table if v[j] is not None)
        ws.write_number(r, j, round(total, 2), fm.total_int if kind == "int" else fm.total_num2)
    ws.merge_range(r + 2, 0, r + 2, last, signature, fm.info)
    _print_setup(
        ws,
        header_first=2,
        header_last=head_last + 1,
        widths=[float(c[3]) for c in cols],
        freeze_col=2,
    )


_SIGN = "填报单位：　　　　　　审核人：　　　　　　日期：　　年　　月　　日"


def _case_heads() -> list[str]:
    return ["序号", "案件编号", "乡镇", "村(居)", "当事人", "地点", "建筑面积(㎡)", "占地面积(㎡)", "发现时间",
            "发现途径", "状态"]  # fmt: skip


def _write_case_list(wb: Any, fm: Any, sheet: str, title: str, info: str, cases: Sequence[Mapping[str, Any]]) -> None:  # fmt: skip
    heads = _case_heads()
    d = wb.add_worksheet(sheet)
    _title(d, fm, title, info, len(heads) - 1)
    for j, h in enumerate(heads):
        d.write_string(2, j, h, fm.head)
        d.set_column(j, j, 14)
    for n, case in enumerate(cases, start=1):
        vals2 = [str(n), case.get("case_id", ""), case.get("township_name") or "", case.get("village_name") or "",
                 mask_name(case.get("household") or ""), case.get("address") or "", case.get("floor_area_m2") or "",
                 case.get("land_area_m2") or "", str(case.get("found_at") or "")[:16].replace("T", " "), case.get("found_by") or "", case.get("status") or ""]  # fmt: skip
        for j, v in enumerate(vals2):
            d.write_string(2 + n, j, str(v), fm.text)
    _print_setup(d, header_first=2, header_last=2, widths=[14.0] * len(heads))


def write_monthly_bulletin(cases: Sequence[Mapping[str, Any]], month: str, settings: ViolationSettings, path: str | Path, *,
                           county_name: str = "", year_target_m2: Decimal | None = None, issued_on: date | None = None,
                           town_targets: Mapping[str, Decimal] | None = None) -> Path:  # fmt: skip
    """``两违月通报_YYYY年MM月.xlsx``: sheet 两违月通报 (two-level header, units row, towns, 合计)
    and sheet 新增两违明细 (names masked as 姓 + 某)."""
    path = Path(path)
    rows = monthly_rows(cases, month, settings, town_targets)
    y, m = int(month[:4]), int(month[5:])
    info = (f"统计期间：{month}-01至{_month_end(month).isoformat()}　年度目标：{_f(year_target_m2):g}㎡" if year_target_m2 else f"统计期间：{month}-01至{_month_end(month).isoformat()}")  # fmt: skip
    info += f"　通报日期：{issued_on.isoformat() if issued_on else '　　年　月　日'}"
    with _workbook(path) as (wb, fm):
        _write_town_sheet(wb, fm, "两违月通报", f"{county_name}{y}年{m}月“两违”综合治理情况通报", info, rows,
                          signature=_SIGN)  # fmt: skip
        _, _, hits = new_cases(cases, month)
        _write_case_list(wb, fm, "新增两违明细", f"{y}年{m}月新增两违明细", info, hits)
    return path


def period_of(half: str | None = None, year: int | None = None) -> tuple[date, date, str]:
    """(start, end, label) of ``2018H1`` / ``2018H2`` or a whole year."""
    from parcelwatch.errors import InputError

    if half:
        t = half.strip().upper()
        if len(t) != 6 or not t[:4].isdigit() or t[4:] not in ("H1", "H2"):
            raise InputError(f"--half {half!r}: write it as 2018H1 or 2018H2.")
        y = int(t[:4])
        if t.endswith("H1"):
            return date(y, 1, 1), date(y, 6, 30), f"{y}年上半年"
        return date(y, 7, 1), date(y, 12, 31), f"{y}年下半年"
    if year is None:
        raise InputError("Give --half 2018H1 or --year 2018.")
    return date(year, 1, 1), date(year, 12, 31), f"{year}年"


def write_evaluation(cases: Sequence[Mapping[str, Any]], start: date, end: date, label: str, settings: ViolationSettings,
                     path: str | Path, *, county_name: str = "", year_target_m2: Decimal | None = None,
                     town_targets: Mapping[str, Decimal] | None = None, blacklist: Sequence[Mapping[str, Any]] = (),
                     issued_on: date | None = None) -> Path:  # fmt: skip
    """``两违考评_{label}.xlsx`` (半年考评 / 年度总评, seed 003 "半年组织考评,每年进行总评通报"):
    the 月通报 columns over the period, plus 挂牌督办未办结, 公示拟拆 and 列入黑名单. The seed
    gives no criteria for scoring towns, so no score is computed."""
    path = Path(path)
    rows = period_rows(cases, start, end, settings, town_targets, blacklist)
    info = f"考评期间：{start.isoformat()}至{end.isoformat()}"
    if year_target_m2:
        info += f"　年度目标：{_f(year_target_m2):g}㎡"
    info += f"　日期：{issued_on.isoformat() if issued_on else '　　年　月　日'}　（实施意见未规定考评计分办法，本表不计算得分）"
    new = [c for c in cases if c.get("stock") == "增量" and c.get("status") != "不属实"
           and _within(c.get("found_at"), start, end)]  # fmt: skip
    with _workbook(path) as (wb, fm):
        _write_town_sheet(wb, fm, "两违考评", f"{county_name}{label}“两违”综合治理考评情况", info, rows,
                          extra=True, signature=_SIGN)  # fmt: skip
        _write_case_list(wb, fm, "新增两违明细", f"{label}新增两违明细", info, new)
    return path


@dataclass(frozen=True)
class TownDay:
    town: str
    new_count: int
    new_m2: Decimal
    stopped: int
    demolished: tuple[int, Decimal]
    other: tuple[int, Decimal]
    year_m2: Decimal


DAILY_HEADERS = ["乡镇", "新发现(宗)", "新发现(㎡)", "已制止(宗)", "拆除(宗)", "拆除(㎡)", "其他处置(宗)",
                 "其他处置(㎡)", "年度累计治理(㎡)"]  # fmt: skip


def daily_rows(cases: Sequence[Mapping[str, Any]], day: date, settings: ViolationSettings) -> tuple[list[TownDay], list[Mapping[str, Any]]]:  # fmt: skip
    """The 日报告 (seed 003 "日报告、周例会和月通报"): per town, the day's new cases (any stock,
    not 不属实), 制止, 拆除 and other disposals, and the year's governed area up to the day;
    and the day's new cases."""
    out = []
    new_all: list[Mapping[str, Any]] = []
    for t in sorted({_town(c) for c in cases}):
        tc = [c for c in cases if _town(c) == t]
        new = [
            c for c in tc if c.get("status") != "不属实" and _within(c.get("found_at"), day, day)
        ]
        new_all += new
        disposed = [c for c in tc if c.get("status") in DISPOSED and _within(c.get("disposed_on"), day, day)
                    and c.get("disposal") in settings.counted_disposals]  # fmt: skip
        dem = [c for c in disposed if c.get("disposal") == "拆除"]
        oth = [c for c in disposed if c.get("disposal") != "拆除"]

        def m2(cs: Sequence[Mapping[str, Any]]) -> Decimal:
            return sum((Decimal(str(c.get("disposed_area_m2") or 0)) for c in cs), Decimal(0))

        out.append(TownDay(t, len(new), sum((_area(c) for c in new), Decimal(0)),
                           sum(1 for c in tc if _within(c.get("stopped_at"), day, day)),
                           (len(dem), m2(dem)), (len(oth), m2(oth)), governed_m2(tc, day.year, settings, as_of=day)))  # fmt: skip
    new_all.sort(key=lambda c: str(c.get("found_at") or ""))
    return out, new_all


def daily_table(rows: Sequence[TownDay]) -> list[list[Any]]:
    """The daily rows as display values (areas 2 dp half up), then 合计."""
    body = [[t.town, t.new_count, f"{_f(t.new_m2):.2f}", t.stopped, t.demolished[0], f"{_f(t.demolished[1]):.2f}",
             t.other[0], f"{_f(t.other[1]):.2f}", f"{_f(t.year_m2):.2f}"] for t in rows]  # fmt: skip
    tot = ["合计", sum(t.new_count for t in rows), f"{_f(sum((t.new_m2 for t in rows), Decimal(0))):.2f}",
           sum(t.stopped for t in rows), sum(t.demolished[0] for t in rows),
           f"{_f(sum((t.demolished[1] for t in rows), Decimal(0))):.2f}", sum(t.other[0] for t in rows),
           f"{_f(sum((t.other[1] for t in rows), Decimal(0))):.2f}", f"{_f(sum((t.year_m2 for t in rows), Decimal(0))):.2f}"]  # fmt: skip
    return [*body, tot]


def write_daily(rows: Sequence[TownDay], new: Sequence[Mapping[str, Any]], day: date, path: str | Path, *,
                county_name: str = "") -> Path:  # fmt: skip
    """``两违日报_YYYY-MM-DD.xlsx``: sheet 两违日报 (towns and 合计, numbers) and 新发现明细."""
    path = Path(path)
    cols: list[tuple[tuple[str, ...], str, str, float]] = [
        (("乡镇",), "", "text", 12), (("新发现", "宗数"), "宗", "int", 8), (("新发现", "面积(㎡)"), "㎡", "num2", 11),
        (("已制止", "宗数"), "宗", "int", 8), (("拆除", "宗数"), "宗", "int", 8), (("拆除", "面积(㎡)"), "㎡", "num2", 11),
        (("其他处置", "宗数"), "宗", "int", 8), (("其他处置", "面积(㎡)"), "㎡", "num2", 11),
        (("年度累计治理面积(㎡)",), "㎡", "num2", 14),
    ]  # fmt: skip
    info = f"日期：{day.isoformat()}　填报单位：　　　　　　"
    with _workbook(path) as (wb, fm):
        ws = wb.add_worksheet("两违日报")
        last = len(cols) - 1
        _title(
            ws,
            fm,
            f"{county_name}“两违”治理日报告（{day.year}年{day.month}月{day.day}日）",
            info,
            last,
        )
        head_last = _merged_headers(ws, fm, 2, cols)
        for j, c in enumerate(cols):
            ws.write_string(head_last + 1, j, c[1], fm.unit)
            ws.set_column(j, j, c[3])
        r = head_last + 2
        for values in daily_table(rows):
            total = values[0] == "合计"
            for j, v in enumerate(values):
                kind = cols[j][2]
                if j == 0:
                    ws.write_string(r, j, str(v), fm.total_text if total else fm.center)
                elif kind == "int":
                    ws.write_number(r, j, int(v), fm.total_int if total else fm.int)
                else:
                    ws.write_number(r, j, float(v), fm.total_num2 if total else fm.num2)
            r += 1
        ws.merge_range(r + 1, 0, r + 1, last, _SIGN, fm.info)
        _print_setup(
            ws,
            header_first=2,
            header_last=head_last + 1,
            widths=[float(c[3]) for c in cols],
            freeze_col=1,
        )
        _write_case_list(wb, fm, "新发现明细", f"{day.isoformat()}新发现两违", info, new)
    return path


_PUBLISH_COMMON = ["序号", "乡镇", "村(居)", "当事人", "地点", "建筑面积(㎡)", "类型", "认定情况"]
PUBLISH_HEADERS = {
    "planned": [*_PUBLISH_COMMON, "拟拆期限"],
    "demolished": [*_PUBLISH_COMMON, "拆除日期"],
}


def publish_rows(cases: Sequence[Mapping[str, Any]], which: str, start: date | None, end: date, *,
                 deadline: date | None = None) -> list[list[Any]]:  # fmt: skip
    """拟拆名单 (``planned``: ``planned_published_on`` in the period) or 拆除情况 (``demolished``:
    disposed by 拆除 in the period), by town, village and case; 当事人 masked as 姓 + 某."""
    lo = start or date(1900, 1, 1)
    if which == "planned":
        hit = [c for c in cases if _within(c.get("planned_published_on"), lo, end)]
    elif which == "demolished":
        hit = [c for c in cases if c.get("status") in DISPOSED and c.get("disposal") == "拆除"
               and _within(c.get("disposed_on"), lo, end)]  # fmt: skip
    else:
        raise ValueError(which)
    hit.sort(key=lambda c: (_town(c), c.get("village_name") or "", c.get("case_id") or ""))
    out = []
    for n, c in enumerate(hit, start=1):
        kinds = "、".join(
            k
            for k, f in (("违法占地", "illegal_land"), ("违法建设", "illegal_building"))
            if c.get(f) == "是"
        )
        last = deadline.isoformat() if which == "planned" and deadline else ""
        if which == "demolished":
            d = _local_date(c.get("disposed_on"))
            last = d.isoformat() if d else ""
        floor = c.get("floor_area_m2")
        out.append([n, c.get("township_name") or "", c.get("village_name") or "", mask_name(c.get("household") or ""),
                    c.get("address") or "", _f(Decimal(str(floor))) if floor not in (None, "") else None,
                    "、".join(c.get("building_types") or []), f"{kinds}（{c.get('status')}）" if kinds else str(c.get("status") or ""),
                    last])  # fmt: skip
    return out


def write_publish_list(rows: Sequence[Sequence[Any]], which: str, path: str | Path, *, county_name: str = "",
                       period: str = "") -> Path:  # fmt: skip
    """拟拆名单.xlsx / 拆除情况.xlsx (seed 003 "定期公布拟拆名单,并跟踪公布拆除情况")."""
    path = Path(path)
    heads = PUBLISH_HEADERS[which]
    widths = [6, 12, 12, 10, 24, 12, 16, 22, 12]
    title = f"{county_name}“两违”{'拟拆除名单' if which == 'planned' else '拆除情况公布'}"
    with _workbook(path) as (wb, fm):
        ws = wb.add_worksheet("拟拆名单" if which == "planned" else "拆除情况")
        _title(
            ws,
            fm,
            title,
            f"公布期间：{period}　（当事人姓名按规定隐去，以姓氏加“某”表示）",
            len(heads) - 1,
        )
        for j, (h, w) in enumerate(zip(heads, widths, strict=True)):
            ws.write_string(2, j, h, fm.head)
            ws.set_column(j, j, w)
        for i, values in enumerate(rows, start=3):
            for j, v in enumerate(values):
                if v is None or v == "":
                    ws.write_blank(i, j, None, fm.text)
                elif j == 0:
                    ws.write_number(i, j, int(v), fm.int)
                elif j == 5:
                    ws.write_number(i, j, float(v), fm.num2)
                else:
                    ws.write_string(i, j, str(v), fm.text)
        ws.merge_range(len(rows) + 4, 0, len(rows) + 4, len(heads) - 1,
                       "公布单位：　　　　　　　　日期：　　年　　月　　日", fm.info)  # fmt: skip
        _print_setup(
            ws, header_first=2, header_last=2, widths=[float(w) for w in widths], freeze_col=2
        )
    return path


BLACKLIST_HEADERS = ["序号", "名单编号", "当事人类型", "姓名/名称", "证件号(后4位)", "统一社会信用代码", "涉及案件",
                     "列入理由", "列入日期", "批准文号", "公布日期", "推送征信日期", "状态", "移出日期", "移出理由"]  # fmt: skip


def write_blacklist(entries: Sequence[Mapping[str, Any]], parties: Mapping[str, Mapping[str, Any]], path: str | Path) -> Path:  # fmt: skip
    """``两违黑名单.xlsx`` (SEED-SYSTEMS §A.4): ID numbers only as their last 4 characters."""
    path = Path(path)
    with _workbook(path) as (wb, fm):
        ws = wb.add_worksheet("两违黑名单")
        last = len(BLACKLIST_HEADERS) - 1
        _title(
            ws,
            fm,
            "“两违”黑名单",
            f"共 {len(entries)} 条，在册 {sum(1 for e in entries if not e.get('removed_on'))} 条",
            last,
        )
        for j, h in enumerate(BLACKLIST_HEADERS):
            ws.write_string(2, j, h, fm.head)
            ws.set_column(j, j, 8 if j == 0 else 14)
        for i, e in enumerate(entries, start=3):
            p = parties.get(e["party_id"], {})
            vals = [str(i - 2), e["entry_id"], p.get("kind") or "", p.get("name") or "", p.get("id_tail") or "",
                    p.get("credit_code") or "", "、".join(e.get("case_ids") or []), e.get("reason") or "",
                    e.get("listed_on") or "", e.get("approved_ref") or "", e.get("published_on") or "",
                    e.get("credit_pushed_on") or "", "已移出" if e.get("removed_on") else "在册",
                    e.get("removed_on") or "", e.get("removal_reason") or ""]  # fmt: skip
            for j, v in enumerate(vals):
                ws.write_string(i, j, str(v), fm.text)
        _print_setup(ws, header_first=2, header_last=2, widths=[8.0] + [14.0] * last, freeze_col=4)
    return path


@dataclass(frozen=True)
class HotSpots:
    """易违区域、易违时间点、易违人群 (seed 003; SEED-SYSTEMS §A.3 hot_spots)."""

    by_village: list[tuple[str, int]]  # (乡镇/村, cases), most first
    by_month: list[tuple[str, int]]  # (YYYY-MM, cases), in time order
    repeat_parties: list[tuple[str, str, list[str]]]  # (party id, name, case ids) with >= 2 cases


def hot_spots(cases: Sequence[Mapping[str, Any]], links: Sequence[Mapping[str, Any]],
              parties: Mapping[str, Mapping[str, Any]], start: date, end: date) -> HotSpots:  # fmt: skip
    """Cases found in [start, end] (not 不属实) counted by village and by month, and the parties
    with at least two of them (as the case's builder ``party_id`` or in any 利益链条 role)."""
    hit = [
        c for c in cases if c.get("status") != "不属实" and _within(c.get("found_at"), start, end)
    ]
    villages: dict[str, int] = {}
    months: dict[str, int] = {}
    by_party: dict[str, set[str]] = {}
    ids = {c["case_id"] for c in hit}
    for c in hit:
        key = f"{_town(c)}{c.get('village_name') or ''}"
        villages[key] = villages.get(key, 0) + 1
        months[_month_of(c.get("found_at"))] = months.get(_month_of(c.get("found_at")), 0) + 1
        if c.get("party_id"):
            by_party.setdefault(c["party_id"], set()).add(c["case_id"])
    for link in links:
        if link.get("case_id") in ids:
            by_party.setdefault(link["party_id"], set()).add(link["case_id"])
    repeat = [
        (pid, str(parties.get(pid, {}).get("name") or ""), sorted(cs))
        for pid, cs in sorted(by_party.items())
        if len(cs) >= 2
    ]
    return HotSpots(
        sorted(villages.items(), key=lambda kv: (-kv[1], kv[0])), sorted(months.items()), repeat
    )


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
