"""Excel forms for county review (xlsxwriter; read back with openpyxl or calamine).

Every workbook prints on A4 landscape at a readable size (one page wide when that keeps the
text >= 8 pt, else across pages with the key columns repeated; row heights fit wrapped text;
:mod:`parcelwatch.print_layout`), repeats its header rows on each page,
freezes the panes under the header, writes ids as text, dates as dates and areas in 亩 with 2
decimals, and ends each table with a 合计 row whose totals are written as numbers (no formulas:
readers without a calculation engine, such as openpyxl, see them as they are).

* :func:`write_ledger_form` - 问题台账: one row per problem, every ledger field;
* :func:`write_self_check_form` - "大棚房"问题专项清理整治县级自验表 (the seed form's columns with
  their merged two-level headers and a units row; rows ordered 第一类, 第二类, 第三类) and the
  县级自验汇总表 (counts and areas by class with the acceptance results);
* :func:`write_progress_form` - 乡镇整改进度: problems, rectified, in progress, overdue,
  整改完成率 and areas per township;
* :func:`write_ratio_form` - the 违法占用耕地面积比例 indicator (sheet 违法占用耕地面积比例) and
  the parcels at the criminal-referral thresholds (sheet 刑事移送标准图斑) (永久基本农田 >= 5 亩, 耕地 >= 10 亩; ``[alert]`` in rules.toml).

Fields the ledger does not hold are left blank for staff: 建设地点(四至范围) (no neighbouring
features are stored with a problem) and 项目总棚数 (greenhouses are not stored in the ledger).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from operator import attrgetter
from pathlib import Path
from typing import Any

import pandas as pd

from parcelwatch.config import DEFAULT_RULES, Rules
from parcelwatch.ledger.figures import (
    COMPLETION_RATE_DEFINITION,
    FIGURE_LABELS,
    Figures,
    figure_rows,
    figures,
    figures_by,
    half_up,
    mu_value,
    rate_value,
)
from parcelwatch.ledger.model import (
    FIELDS,
    ProblemRecord,
    Status,
    class_label,
    is_overdue,
    to_plain,
)
from parcelwatch.ledger.stats import LedgerStats, ledger_stats
from parcelwatch.ledger.xlsx import atomic_workbook
from parcelwatch.print_layout import RowHeights, first_page_columns, set_a4_landscape
from parcelwatch.units import m2_to_mu

__all__ = [
    "DPF_CLASSES",
    "SELF_CHECK_COLUMNS",
    "ProjectCounts",
    "project_counts",
    "write_ledger_form",
    "write_self_check_form",
    "write_progress_form",
    "write_ratio_form",
    # the plumbing other forms (reports, acceptance, patrol, violations) are built with
    "FormFormats",
    "form_workbook",
    "print_setup",
    "write_cell",
    "write_title",
    "merged_headers",
]

DPF_CLASSES = ("I", "II", "III")
_VIOLATING = frozenset({"I", "II", "III", "conversion"})


# ------------------------------------------------------------------------------------------
# Workbook plumbing


class FormFormats:
    """The cell formats every form uses."""

    def __init__(self, wb: Any) -> None:
        base = {"font_name": "宋体", "font_size": 10, "valign": "vcenter", "border": 1}
        self.title = wb.add_format(
            {
                "font_name": "黑体",
                "font_size": 16,
                "bold": True,
                "align": "center",
                "valign": "vcenter",
            }
        )
        self.info = wb.add_format({"font_name": "宋体", "font_size": 10, "valign": "vcenter"})
        self.head = wb.add_format(
            {**base, "bold": True, "align": "center", "text_wrap": True, "bg_color": "#D9E1F2"}
        )
        self.unit = wb.add_format(
            {**base, "align": "center", "italic": True, "bg_color": "#F2F2F2"}
        )
        self.text = wb.add_format({**base, "num_format": "@", "text_wrap": True})
        self.center = wb.add_format({**base, "num_format": "@", "align": "center"})
        self.int = wb.add_format({**base, "num_format": "0", "align": "center"})
        self.num2 = wb.add_format({**base, "num_format": "0.00"})
        self.pct = wb.add_format({**base, "num_format": "0.00%"})
        self.date = wb.add_format({**base, "num_format": "yyyy-mm-dd", "align": "center"})
        self.total_text = wb.add_format(
            {**base, "bold": True, "align": "center", "bg_color": "#FFF2CC"}
        )
        self.total_int = wb.add_format(
            {**base, "bold": True, "num_format": "0", "align": "center", "bg_color": "#FFF2CC"}
        )
        self.total_num2 = wb.add_format(
            {**base, "bold": True, "num_format": "0.00", "bg_color": "#FFF2CC"}
        )
        self.total_pct = wb.add_format(
            {**base, "bold": True, "num_format": "0.00%", "bg_color": "#FFF2CC"}
        )


@contextmanager
def form_workbook(path: Path) -> Iterator[tuple[Any, FormFormats]]:
    """An atomically written workbook (see :func:`parcelwatch.ledger.xlsx.atomic_workbook`) and its formats."""
    with atomic_workbook(path) as wb:
        yield wb, FormFormats(wb)


def print_setup(
    ws: Any,
    *,
    header_first: int,
    header_last: int,
    widths: Sequence[float] | None = None,
    freeze_col: int = 0,
    breaks_at: Sequence[int] | None = None,
    last_col: int | None = None,
) -> None:
    """A4 landscape at a readable size (see :mod:`parcelwatch.print_layout`): one page
    wide when that keeps >= 80 %, else across pages with the first ``freeze_col`` columns (at
    least one) and the header rows repeated.

    Give the column ``widths``, or ``last_col`` to read the widths of columns 0..last_col that
    were set on the sheet with ``set_column`` (a hidden column counts 0, an unset one 8.43)."""
    if widths is None:
        if last_col is None:
            raise TypeError("print_setup needs widths or last_col")
        widths = _sheet_widths(ws, last_col)
    ws.freeze_panes(header_last + 1, freeze_col)
    set_a4_landscape(
        ws,
        widths,
        header_first=header_first,
        header_last=header_last,
        repeat_cols=max(1, freeze_col),
        breaks_at=breaks_at,
        last_row=max(header_last + 1, ws.dim_rowmax or 0),
    )


def _sheet_widths(ws: Any, last_col: int) -> list[float]:
    """Character widths of columns 0..last_col as set with ``set_column`` (xlsxwriter keeps them
    in pixels: ``px = int(width * 7 + 0.5) + 5`` for a width >= 1, so width = (px - 5) / 7)."""
    info = getattr(ws, "col_info", {}) or {}
    out: list[float] = []
    for col in range(last_col + 1):
        ci = info.get(col)
        if ci is None:
            out.append(8.43)
            continue
        hidden = ci.hidden if hasattr(ci, "hidden") else ci[2]
        px = ci.width if hasattr(ci, "width") else ci[0]
        if hidden:
            out.append(0.0)
        elif px is None:
            out.append(8.43)
        else:
            out.append(max(0.0, (float(px) - 5.0) / 7.0))
    return out


def _fit_rows(
    ws: Any,
    first: int,
    rows: Sequence[Sequence[Any]],
    widths: Sequence[float],
    kinds: Sequence[str],
) -> None:
    """Row heights for the wrapped text cells of ``rows`` (written from row ``first``)."""
    rh = RowHeights(font_pt=10)
    for i, values in enumerate(rows):
        rh.note_row(
            first + i,
            ((v, w) for v, w, k in zip(values, widths, kinds, strict=True) if k == "text"),
        )
    rh.apply(ws)


def _fit_header(ws: Any, row: int, headers: Sequence[str], widths: Sequence[float]) -> None:
    rh = RowHeights(font_pt=10)
    rh.note_row(row, zip(headers, widths, strict=True))
    rh.apply(ws, minimum=20)


def _num(v: float | None) -> float | None:
    return None if v is None else float(half_up(float(v)))


def _mu(m2: float | None) -> float | None:
    """亩, rounded half-up to 2 decimals (parcelwatch.ledger.figures.mu_value)."""
    return mu_value(m2)


def write_cell(ws: Any, row: int, col: int, value: Any, kind: str, fm: FormFormats) -> None:
    """Write one cell by kind: text, int, num2, pct, date (blank for ``None``)."""
    fmt = getattr(fm, kind)  # the format attributes are named by kind
    if value is None or value == "":
        ws.write_blank(row, col, None, fmt)
    elif kind in ("int", "num2", "pct") and isinstance(value, str):
        ws.write_string(row, col, value, fm.center)  # e.g. 未检查 (the layer was not given)
    elif kind == "date":
        ws.write_datetime(row, col, datetime(value.year, value.month, value.day), fmt)  # noqa: DTZ001 - a calendar date
    elif kind in ("int", "num2", "pct"):
        ws.write_number(row, col, float(value) if kind != "int" else int(value), fmt)
    else:
        ws.write_string(row, col, str(value), fmt)


def _total(
    ws: Any,
    row: int,
    col: int,
    values: Sequence[Any],
    kind: str,
    fm: FormFormats,
    *,
    exact: float | None = None,
) -> float:
    """A 合计 cell written as a number (readers without a calculation engine see the total).

    ``exact`` is the total computed from the unrounded values (an area total is the rounded sum,
    not the sum of the rounded rows: one rounding, at display).
    """
    total = (
        exact
        if exact is not None
        else sum(float(v) for v in values if v is not None and not isinstance(v, str))
    )
    total = float(half_up(total)) if kind == "num2" else total
    ws.write_number(row, col, total, fm.total_num2 if kind == "num2" else fm.total_int)
    return total


def write_title(
    ws: Any,
    fm: FormFormats,
    title: str,
    info: str,
    last_col: int,
    widths: Sequence[float] | None = None,
    breaks_at: Sequence[int] | None = None,
) -> None:
    """Title and info rows; on a sheet printed across pages (``widths`` given) they span the
    first page's columns only, so they print on page 1."""
    if widths is not None:
        last_col = min(last_col, first_page_columns(widths, breaks_at=breaks_at) - 1)
    ws.merge_range(0, 0, 0, last_col, title, fm.title)
    ws.set_row(0, 30)
    ws.merge_range(1, 0, 1, last_col, info, fm.info)


# ------------------------------------------------------------------------------------------
# 问题台账


def _ledger_columns() -> list[tuple[str, str, str, float]]:
    """(field, header, kind, width) for every ledger field; areas in 亩 and m²."""
    cols: list[tuple[str, str, str, float]] = []
    for f in FIELDS:
        if f.kind == "real" and f.name.endswith("_m2"):
            cols.append((f.name + ":mu", f.zh.replace("(m²)", "(亩)"), "num2", 11))
            cols.append((f.name, f.zh.replace("(m²)", "(平方米)"), "num2", 12))
        elif f.kind == "real":
            cols.append((f.name, f.zh, "num2", 11))
        elif f.kind == "date":
            cols.append((f.name, f.zh, "date", 11))
        elif f.kind == "int":
            cols.append((f.name, f.zh, "int", 7))
        else:
            wide = f.name in (
                "candidate_reasons",
                "candidate_reasons_en",
                "notes",
                "evidence",
                "alerts",
            )
            # lists of ids: one 15-character id (监测编号, 批次) per line
            ids = f.kind == "list"
            cols.append((f.name, f.zh, "text", 40 if wide else 18 if ids else 14))
    cols.insert(3, ("overdue", "是否逾期", "center", 7))
    return cols


NOT_CHECKED = "未检查"
# figures that come from a layer: (field -> the record field that is None when it was not given)
_FROM_LAYER = {
    "pbf_m2": "pbf_m2",
    "illegal_pbf_m2": "pbf_m2",
    "farmland_m2": "farmland_m2",
    "illegal_farmland_m2": "farmland_m2",
}


def not_checked(rec: ProblemRecord, field_name: str) -> bool:
    """True when ``field_name`` comes from a layer that was not given (no 永农, no 三调 layer)."""
    source = _FROM_LAYER.get(field_name)
    return source is not None and getattr(rec, source) is None


def _ledger_column(key: str, today: date) -> Callable[[Sequence[ProblemRecord]], list[Any]]:
    """The values of column ``key`` for a list of records (one pass per column: the per-key
    decisions are taken once, not once per cell)."""
    field_name = key.removesuffix(":mu")
    source = _FROM_LAYER.get(field_name)

    def values(recs: Sequence[ProblemRecord]) -> list[Any]:
        out = plain(recs)
        if source is not None:  # 未检查 where the layer was not given
            out = [
                NOT_CHECKED if getattr(r, source) is None else v
                for r, v in zip(recs, out, strict=True)
            ]
        return out

    get = attrgetter(field_name)
    plain: Callable[[Sequence[ProblemRecord]], list[Any]]
    if key == "overdue":
        plain = lambda recs: ["是" if is_overdue(r, today) else "否" for r in recs]  # noqa: E731
    elif key.endswith(":mu"):
        plain = lambda recs: [_mu(get(r)) for r in recs]  # noqa: E731
    elif key in ("candidate_class", "confirmed_class"):
        plain = lambda recs: [  # noqa: E731
            class_label(v) if v and v != "none" else "" for v in map(get, recs)
        ]
    elif key == "status":
        plain = lambda recs: [get(r).value for r in recs]  # noqa: E731
    elif key in ("batches", "parcel_ids", "rebound_sources"):
        plain = lambda recs: ["、".join(get(r)) for r in recs]  # noqa: E731
    elif key == "evidence":
        plain = lambda recs: ["；".join(e.ref for e in get(r)) for r in recs]  # noqa: E731
    elif _DATE_FIELDS.get(key):
        plain = lambda recs: [get(r) for r in recs]  # noqa: E731
    else:
        plain = lambda recs: [  # noqa: E731
            _num(v) if isinstance(v, float) else to_plain(key, v) for v in map(get, recs)
        ]
    return values


def _write_column(
    ws: Any, first: int, col: int, values: Sequence[Any], kind: str, fm: FormFormats
) -> None:
    """:func:`write_cell` for a whole column (rows ``first``..): same cells, one loop per kind."""
    fmt = getattr(fm, kind)
    blank, put_str = ws.write_blank, ws.write_string
    if kind in ("int", "num2", "pct"):
        put_num, center = ws.write_number, fm.center
        cast = int if kind == "int" else float
        for r, v in enumerate(values, start=first):
            if v is None or v == "":
                blank(r, col, None, fmt)
            elif isinstance(v, str):
                put_str(r, col, v, center)  # e.g. 未检查 (the layer was not given)
            else:
                put_num(r, col, cast(v), fmt)
    elif kind == "date":
        put_date = ws.write_datetime
        for r, v in enumerate(values, start=first):
            if v is None or v == "":
                blank(r, col, None, fmt)
            else:
                put_date(r, col, datetime(v.year, v.month, v.day), fmt)  # noqa: DTZ001 - a calendar date
    else:
        for r, v in enumerate(values, start=first):
            if v is None or v == "":
                blank(r, col, None, fmt)
            else:
                put_str(r, col, str(v), fmt)


_DATE_FIELDS = {f.name: f.kind == "date" for f in FIELDS}


def write_ledger_form(
    records: Sequence[ProblemRecord], path: str | Path, *, today: date, county_name: str = ""
) -> Path:
    """问题台账: one row per problem with every ledger field, a 合计 row, A4 landscape."""
    path = Path(path)
    cols = _ledger_columns()
    last_col = len(cols)  # column 0 is 序号
    with form_workbook(path) as (wb, fm):
        ws = wb.add_worksheet("问题台账")
        write_title(
            ws,
            fm,
            f"{county_name}问题台账",
            f"导出日期：{today.isoformat()}    问题数：{len(records)}",
            last_col,
            widths=[5.0, *(c[3] for c in cols)],
        )
        ws.write_string(2, 0, "序号", fm.head)
        ws.set_column(0, 0, 5)
        for j, (_, header, _, width) in enumerate(cols, start=1):
            ws.write_string(2, j, header, fm.head)
            ws.set_column(j, j, width)
        widths = [5.0, *(c[3] for c in cols)]
        _fit_header(ws, 2, ["序号", *(c[1] for c in cols)], widths)
        first = 3
        rh = RowHeights(font_pt=10)
        sums: dict[str, list[Any]] = {}
        _write_column(ws, first, 0, range(1, len(records) + 1), "int", fm)
        # column by column: each column's values in one pass, its cells in one loop
        for j, (key, _, kind, width) in enumerate(cols, start=1):
            values = _ledger_column(key, today)(records)
            _write_column(ws, first, j, values, kind, fm)
            if kind == "text":
                rh.note_column(first, values, width)
            elif kind == "num2":
                sums[key] = values
        rh.apply(ws)
        tr = first + len(records)
        ws.write_string(tr, 0, "合计", fm.total_text)
        for j, (key, _, kind, _) in enumerate(cols, start=1):
            if key == "problem_id":
                ws.write_string(tr, j, f"{len(records)}个问题", fm.total_text)
            elif kind == "num2" and key not in ("version",):
                vals = sums[key]  # the values written above
                field_name = key[:-3] if key.endswith(":mu") else key
                raw = [getattr(rec, field_name) for rec in records]
                exact = sum(float(v) for v in raw if v is not None)
                _total(
                    ws,
                    tr,
                    j,
                    vals,
                    "num2",
                    fm,
                    exact=m2_to_mu(exact) if key.endswith(":mu") else exact,
                )
            else:
                ws.write_blank(tr, j, None, fm.total_text)
        ws.autofilter(2, 0, max(tr - 1, 2), last_col)
        print_setup(ws, header_first=2, header_last=2, widths=widths, freeze_col=2)
    return path


# ------------------------------------------------------------------------------------------
# 县级自验表


@dataclass(frozen=True)
class ProjectCounts:
    """Building counts of one problem from its stored findings (None: nothing stored)."""

    greenhouses: int | None
    other_buildings: int | None
    violating: int | None


def project_counts(findings: pd.DataFrame | None) -> dict[str, ProjectCounts]:
    """Per problem id: buildings found (distinct footprints) and those in a violating class.

    Greenhouses are not stored in the ledger, so their count is ``None`` (left blank).
    """
    if findings is None or len(findings) == 0:
        return {}
    out: dict[str, ProjectCounts] = {}
    for pid, g in findings.groupby("problem_id"):
        fps = set(g["footprint_id"].dropna().astype(str))
        bad = set(g.loc[g["problem_class"].isin(_VIOLATING), "footprint_id"].dropna().astype(str))
        out[str(pid)] = ProjectCounts(None, len(fps), len(bad))
    return out


def _dpf_class(rec: ProblemRecord) -> str:
    """The 大棚房 class of a problem (confirmed, else candidate), '' when not 大棚房."""
    if rec.status in (Status.LEGAL, Status.OTHER, Status.ROUTINE):
        return ""
    cls = rec.confirmed_class or rec.candidate_class
    return cls if cls in DPF_CLASSES else ""


def dpf_records(records: Sequence[ProblemRecord]) -> list[ProblemRecord]:
    """The 大棚房 problems in form order: 第一类, 第二类, 第三类, then township and id."""
    chosen = [r for r in records if _dpf_class(r)]
    return sorted(
        chosen, key=lambda r: (DPF_CLASSES.index(_dpf_class(r)), r.township_name, r.problem_id)
    )


def _case_by_case(rec: ProblemRecord) -> str:
    return "是" if rec.status is Status.CASE_BY_CASE or rec.decision_ref else "否"


# (header path, unit, kind, width): header path = top / middle / bottom level
SELF_CHECK_GROUP = "存在“大棚房”问题情况"
SELF_CHECK_COLUMNS: tuple[tuple[tuple[str, ...], str, str, float], ...] = (
    (("序号",), "", "int", 5),
    (("乡、镇（街道）",), "", "text", 10),
    (("项目名称",), "", "text", 16),
    (("项目总占地面积",), "亩", "num2", 10),
    (("建设地点（详细到四至范围）",), "", "text", 22),
    (("项目总棚数",), "个", "int", 7),
    (("项目其他房屋等建设个数",), "个", "int", 9),
    (("建设主体", "主体名称"), "", "text", 14),
    (("建设主体", "建设总投资"), "万元", "num2", 9),
    (("建设主体", "其中享受财政补助", "中央"), "万元", "num2", 8),
    (("建设主体", "其中享受财政补助", "省级"), "万元", "num2", 8),
    (("建设主体", "其中享受财政补助", "市级"), "万元", "num2", 8),
    (("建设主体", "其中享受财政补助", "县级"), "万元", "num2", 8),
    ((SELF_CHECK_GROUP, "“大棚房”问题类型"), "", "center", 10),
    ((SELF_CHECK_GROUP, "涉及违法违规建设个数"), "个", "int", 9),
    ((SELF_CHECK_GROUP, "违规占用耕地面积"), "亩", "num2", 10),
    (("是否属“一事一议”事项",), "", "center", 9),
    (("验收情况", "资金追回数量"), "万元", "num2", 9),
    (("验收情况", "是否合格"), "", "center", 8),
    (("问题编号(台账)",), "", "text", 19),
)
SELF_CHECK_NOTE = (
    "注：县级自验表严格按各县（市、区）问题台账中逐一进行验收；“大棚房”问题依据I、Ⅱ、Ⅲ类问题顺序填写；"
    "是否属于“一事一议”事项栏按时间填写“是”或“否”；是否合格填写“是”或“否”。"
)  # the seed's wording unchanged ("按时间" is the seed's evident typo for 按实际)
SELF_CHECK_SIGNATURE = (
    "自验组负责同志签字：　　　　自验组成员签字：　　　　填表日期：　　年　月　日"
)
SUMMARY_NOTE = (
    "注：每个县（市、区）填写一张汇总表，“大棚房”问题情况表格严格按各县（市、区）问题台账填写。"
)
SUMMARY_SIGNATURE = ("县（市、区）人民政府主要负责同志签字：", "填表日期：　　年　月　日")
#: 是否合格 as the seed writes it (合格 -> 是, 不合格 -> 否, blank without a result)
PASS_YES_NO = {"合格": "是", "不合格": "否"}


def _self_check_row(
    rec: ProblemRecord, seq: int, counts: ProjectCounts | None, greenhouses: int | None = None
) -> list[Any]:
    if greenhouses is None and counts is not None:
        greenhouses = counts.greenhouses
    return [
        seq,
        rec.township_name,
        rec.project_name,
        _mu(rec.parcel_area_m2),
        "",  # 四至: no neighbouring features are stored; staff fill it in
        greenhouses,
        counts.other_buildings if counts else None,
        rec.owner_name,
        _num(rec.investment_wan),
        _num(rec.subsidy_central_wan),
        _num(rec.subsidy_provincial_wan),
        _num(rec.subsidy_city_wan),
        _num(rec.subsidy_county_wan),
        rec.display_class,
        counts.violating if counts else None,
        _mu(rec.illegal_occupied_m2),
        _case_by_case(rec),
        _num(rec.funds_recovered_wan),
        PASS_YES_NO.get(rec.acceptance_result, ""),
        rec.problem_id,
    ]


def _groups(columns: Sequence[tuple[tuple[str, ...], str, str, float]]) -> list[int]:
    """First column of each top-level header group (where a printed page may start)."""
    return [j for j, c in enumerate(columns) if j == 0 or c[0][0] != columns[j - 1][0][0]]


def merged_headers(
    ws: Any, fm: FormFormats, top: int, columns: Sequence[tuple[tuple[str, ...], str, str, float]]
) -> int:
    """Write a merged multi-level header starting at row ``top``; returns its last row (row
    heights fit each header's wrapped text)."""
    depth = max(len(c[0]) for c in columns)
    rh = RowHeights(font_pt=10)
    for level in range(depth):
        j = 0
        while j < len(columns):
            path = columns[j][0]
            if level >= len(path):
                j += 1
                continue
            k = j
            while (
                k + 1 < len(columns)
                and columns[k + 1][0][: level + 1] == path[: level + 1]
                and len(columns[k + 1][0]) > level
            ):
                k += 1
            r0 = top + level
            r1 = top + depth - 1 if level == len(path) - 1 else r0
            if r0 == r1 and j == k:
                ws.write_string(r0, j, path[level], fm.head)
            else:
                ws.merge_range(r0, j, r1, k, path[level], fm.head)
            rh.note_span(r0, r1, path[level], sum(c[3] for c in columns[j : k + 1]))
            j = k + 1
    for r in range(top, top + depth):
        rh.note(r, "", 1)  # every header row at least one line high
    rh.apply(ws, minimum=18)
    return top + depth - 1


def write_self_check_form(
    records: Sequence[ProblemRecord],
    path: str | Path,
    *,
    today: date,
    findings: pd.DataFrame | None = None,
    county_name: str = "",
    greenhouse_counts: Mapping[str, int] | None = None,
) -> Path:
    """ "大棚房"问题专项清理整治县级自验表 and 县级自验汇总表 in one workbook.

    Laid out as seed 002 附件1/附件2: the group header 存在“大棚房”问题情况, 是否合格 as 是/否,
    the units line with the seal, the note and the signature block under the table.
    ``greenhouse_counts`` (problem id -> registry greenhouses inside it) fills 项目总棚数.

    One problem = one project row; only 大棚房 classes (第一类/第二类/第三类; confirmed, else
    candidate) are listed, in that order. 项目其他房屋等建设个数 and 涉及违法违规建设个数 count
    the problem's stored findings (distinct buildings; violating = classes I, II, III and
    耕地非农化); 项目总棚数 and 建设地点(四至范围) are left blank for staff.
    """
    path = Path(path)
    rows = dpf_records(records)
    counts = project_counts(findings)
    cols = SELF_CHECK_COLUMNS
    last_col = len(cols) - 1
    with form_workbook(path) as (wb, fm):
        ws = wb.add_worksheet("自验表")
        write_title(
            ws,
            fm,
            "“大棚房”问题专项清理整治县级自验表",
            f"县（市、区）：{county_name}　　（人民政府公章）　　单位：个、亩、万元",
            last_col,
            widths=[c[3] for c in cols],
            breaks_at=_groups(cols),
        )
        head_last = merged_headers(ws, fm, 2, cols)
        unit_row = head_last + 1
        for j, (_, unit, _, width) in enumerate(cols):
            ws.write_string(unit_row, j, unit, fm.unit)
            ws.set_column(j, j, width)
        first = unit_row + 1
        data = [
            _self_check_row(
                rec,
                i + 1,
                counts.get(rec.problem_id),
                (greenhouse_counts or {}).get(rec.problem_id),
            )
            for i, rec in enumerate(rows)
        ]
        for i, values in enumerate(data):
            for j, v in enumerate(values):
                write_cell(ws, first + i, j, v, cols[j][2], fm)
        widths = [c[3] for c in cols]
        _fit_rows(ws, first, data, widths, [c[2] for c in cols])
        tr = first + len(data)
        ws.merge_range(tr, 0, tr, 2, f"合计（{len(data)}个项目）", fm.total_text)
        for j in range(3, len(cols)):
            kind = cols[j][2]
            if kind in ("num2", "int") and j not in (0,):
                vals = [d[j] for d in data]
                if kind == "int" and all(v is None for v in vals):
                    ws.write_blank(tr, j, None, fm.total_int)
                else:
                    _total(ws, tr, j, vals, kind, fm)
            else:
                ws.write_blank(tr, j, None, fm.total_text)
        ws.merge_range(tr + 1, 0, tr + 1, last_col, SELF_CHECK_NOTE, fm.info)
        ws.set_row(tr + 1, 30)
        # after the three key columns, which repeat on every printed page: a merged cell that
        # includes them would be drawn again over page 2's columns
        ws.merge_range(tr + 3, 3, tr + 3, last_col, SELF_CHECK_SIGNATURE, fm.info)
        print_setup(
            ws,
            header_first=2,
            header_last=unit_row,
            widths=widths,
            freeze_col=3,
            breaks_at=_groups(cols),
        )
        _write_seed_summary(wb, fm, rows, county_name=county_name)
        _write_self_check_summary(wb, fm, rows, counts, today=today, county_name=county_name)
    return path


_SUMMARY_COLUMNS = (
    ("类别", "", "center"),
    ("问题个数", "个", "int"),
    ("项目总占地面积", "亩", "num2"),
    ("违规占用耕地面积", "亩", "num2"),
    ("涉及违法违规建设个数", "个", "int"),
    ('"一事一议"事项', "个", "int"),
    ("已销号", "个", "int"),
    ("验收合格", "个", "int"),
    ("验收不合格", "个", "int"),
    ("未验收", "个", "int"),
    ("资金追回数量", "万元", "num2"),
)


def _summary_row(
    label: str, rs: Sequence[ProblemRecord], counts: Mapping[str, ProjectCounts]
) -> list[Any]:
    viol = [counts[r.problem_id].violating for r in rs if r.problem_id in counts]
    return [
        label,
        len(rs),
        _mu(sum(r.parcel_area_m2 or 0.0 for r in rs)),
        _mu(sum(r.illegal_occupied_m2 for r in rs)),
        sum(v or 0 for v in viol),
        sum(1 for r in rs if _case_by_case(r) == "是"),
        sum(1 for r in rs if r.status is Status.CLOSED),
        sum(1 for r in rs if r.acceptance_result == "合格"),
        sum(1 for r in rs if r.acceptance_result == "不合格"),
        sum(1 for r in rs if r.acceptance_result not in ("合格", "不合格")),
        _num(sum(r.funds_recovered_wan or 0.0 for r in rs)),
    ]


def self_check_summary(
    records: Sequence[ProblemRecord], counts: Mapping[str, ProjectCounts]
) -> list[list[Any]]:
    """Rows of the 县级自验汇总表: one per class I, II, III (values in :data:`_SUMMARY_COLUMNS` order).

    Areas are the rounded (half-up) sums of the unrounded areas.
    """
    return [
        _summary_row(class_label(cls), [r for r in records if _dpf_class(r) == cls], counts)
        for cls in DPF_CLASSES
    ]


def _write_self_check_summary(
    wb: Any,
    fm: FormFormats,
    rows: Sequence[ProblemRecord],
    counts: Mapping[str, ProjectCounts],
    *,
    today: date,
    county_name: str,
) -> None:
    ws = wb.add_worksheet("自验汇总(明细)")
    last_col = len(_SUMMARY_COLUMNS) - 1
    write_title(
        ws,
        fm,
        '"大棚房"问题专项清理整治县级自验汇总表',
        f"县(市、区)：{county_name}        填报日期：{today.isoformat()}",
        last_col,
    )
    for j, (head, unit, _) in enumerate(_SUMMARY_COLUMNS):
        ws.write_string(2, j, head, fm.head)
        ws.write_string(3, j, unit, fm.unit)
        ws.set_column(j, j, 11)
    _fit_header(ws, 2, [c[0] for c in _SUMMARY_COLUMNS], [11.0] * len(_SUMMARY_COLUMNS))
    data = self_check_summary(rows, counts)
    for i, values in enumerate(data):
        for j, v in enumerate(values):
            write_cell(ws, 4 + i, j, v, _SUMMARY_COLUMNS[j][2], fm)
    tr = 4 + len(data)
    ws.write_string(tr, 0, "合计", fm.total_text)
    exact = _summary_row("合计", [r for r in rows if _dpf_class(r)], counts)
    for j in range(1, len(_SUMMARY_COLUMNS)):
        kind = _SUMMARY_COLUMNS[j][2]
        _total(
            ws, tr, j, [d[j] for d in data], kind, fm, exact=exact[j] if kind == "num2" else None
        )
    print_setup(ws, header_first=2, header_last=3, widths=[11.0] * len(_SUMMARY_COLUMNS))


SEED_SUMMARY_HEADS = ("小计", "I类", "Ⅱ类", "Ⅲ类", "I类", "Ⅱ类", "Ⅲ类", "“一事一议”是否整改到位")


def seed_summary_row(records: Sequence[ProblemRecord]) -> list[Any]:
    """The seed's one data row: 小计, I, II, III, 验收合格 I, II, III, 一事一议是否整改到位.

    Classes are confirmed, else candidate (as :func:`dpf_records`); 验收结果 per class counts
    acceptance 合格 [inferred]; 一事一议 is 是 when every 一事一议 problem is 已销号, 否 when
    any is not, 无 when there is none [inferred].
    """
    rs = dpf_records(records)
    per = [sum(1 for r in rs if _dpf_class(r) == c) for c in DPF_CLASSES]
    ok = [
        sum(1 for r in rs if _dpf_class(r) == c and r.acceptance_result == "合格")
        for c in DPF_CLASSES
    ]
    cbc = [r for r in rs if r.status is Status.CASE_BY_CASE or "一事一议" in r.measure]
    done = "无" if not cbc else ("是" if all(r.status is Status.CLOSED for r in cbc) else "否")
    return [sum(per), *per, *ok, done]


def _write_seed_summary(
    wb: Any, fm: FormFormats, rows: Sequence[ProblemRecord], *, county_name: str
) -> None:
    """Sheet 自验汇总表 as seed 002 附件1: classes as columns under 问题情况 and 验收结果."""
    ws = wb.add_worksheet("自验汇总表")
    last = len(SEED_SUMMARY_HEADS) - 1
    write_title(
        ws,
        fm,
        "“大棚房”问题专项清理整治县级自验汇总表",
        f"县（市、区）：{county_name}　（人民政府公章）　单位：个、亩、万元、次、人",
        last,
    )
    ws.merge_range(2, 0, 2, 3, "“大棚房”问题情况", fm.head)
    ws.merge_range(2, 4, 2, 7, "验收结果", fm.head)
    for j, h in enumerate(SEED_SUMMARY_HEADS):
        ws.write_string(3, j, h, fm.head)
        ws.set_column(j, j, 12 if j < last else 22)
    for j, v in enumerate(seed_summary_row(rows)):
        write_cell(ws, 4, j, v, "int" if j < last else "center", fm)
    ws.merge_range(6, 0, 6, last, SUMMARY_NOTE, fm.info)
    ws.merge_range(8, 0, 8, 4, SUMMARY_SIGNATURE[0], fm.info)
    ws.merge_range(8, 5, 8, last, SUMMARY_SIGNATURE[1], fm.info)
    print_setup(ws, header_first=2, header_last=3, widths=[12.0] * last + [22.0])


# ------------------------------------------------------------------------------------------
# 乡镇整改进度

_PROGRESS_COLUMNS = (
    ("乡镇(街道)", "", "text"),
    (FIGURE_LABELS["count"], "个", "int"),
    (FIGURE_LABELS["confirmed"], "个", "int"),
    (FIGURE_LABELS["closed"], "个", "int"),
    (FIGURE_LABELS["rectifying"], "个", "int"),
    (FIGURE_LABELS["overdue"], "个", "int"),
    (FIGURE_LABELS["completion_rate"], "%", "pct"),
    (FIGURE_LABELS["parcel"], "亩", "num2"),
    (FIGURE_LABELS["illegal_confirmed"], "亩", "num2"),
    (FIGURE_LABELS["illegal_candidate"], "亩", "num2"),
    (FIGURE_LABELS["remaining"], "亩", "num2"),
)


def _progress_row(f: Figures) -> list[Any]:
    return [
        f.name,
        f.count,
        f.confirmed,
        f.closed,
        f.rectifying,
        f.overdue,
        rate_value(f.completion_rate),
        mu_value(f.parcel_m2),
        mu_value(f.illegal_confirmed_m2),
        mu_value(f.illegal_candidate_m2),
        mu_value(f.remaining_m2),
    ]


def township_progress(records: Sequence[ProblemRecord], *, today: date) -> list[list[Any]]:
    """One row per township, then the 合计 row (values in :data:`_PROGRESS_COLUMNS` order).

    Every value is a figure of :mod:`parcelwatch.ledger.figures` (整改完成率 = 已销号的认定违法
    问题 ÷ 认定违法问题, blank when none is confirmed; 违法占用耕地 confirmed and candidate apart;
    areas rounded half-up once, the total from the unrounded areas).
    """
    return grouped_progress(records, today=today, by="township")


def grouped_progress(
    records: Sequence[ProblemRecord], *, today: date, by: str = "township"
) -> list[list[Any]]:
    """:func:`township_progress` grouped by ``by`` (``township`` or ``source`` 问题来源)."""
    rows = figure_rows(records, today=today)
    return [*(_progress_row(f) for f in figures_by(rows, by)), _progress_row(figures(rows))]


def write_progress_form(
    records: Sequence[ProblemRecord], path: str | Path, *, today: date, county_name: str = ""
) -> Path:
    """乡镇整改进度: problems, rectified, in progress, overdue, 整改完成率 and areas per township;
    the second sheet 按问题来源 has the same figures per 问题来源 (卫片, 巡查, 巡察 ...; the figures of
    ``ledger stats --by source``)."""
    path = Path(path)
    with form_workbook(path) as (wb, fm):
        for sheet, by, head, what in (
            ("乡镇整改进度", "township", "乡镇(街道)", "按乡镇"),
            ("按问题来源", "source", "问题来源", "按问题来源"),
        ):
            _progress_sheet(wb, fm, records, today, county_name, sheet, by, head, what)
    return path


def _progress_sheet(wb: Any, fm: FormFormats, records: Sequence[ProblemRecord], today: date,
                    county_name: str, sheet: str, by: str, head0: str, what: str) -> None:  # fmt: skip
    cols = ((head0, "", "text"), *_PROGRESS_COLUMNS[1:])
    last_col = len(cols) - 1
    *data, total = grouped_progress(records, today=today, by=by)
    ws = wb.add_worksheet(sheet)
    write_title(
        ws,
        fm,
        f"{county_name}问题整改进度（{what}）",
        f"统计日期：{today.isoformat()}    {COMPLETION_RATE_DEFINITION}；"
        "违法占用耕地（已认定）只计认定违法问题，疑似（未认定）为尚未核查认定的问题",
        last_col,
    )
    for j, (head, unit, _) in enumerate(cols):
        ws.write_string(2, j, head, fm.head)
        ws.write_string(3, j, unit, fm.unit)
        ws.set_column(j, j, 14 if j == 0 else 11)
    widths = [14.0] + [11.0] * (len(cols) - 1)
    _fit_header(ws, 2, [c[0] for c in cols], widths)
    for i, values in enumerate(data):
        for j, v in enumerate(values):
            write_cell(ws, 4 + i, j, v, cols[j][2], fm)
    tr = 4 + len(data)
    ws.write_string(tr, 0, "合计", fm.total_text)
    for j in range(1, len(cols)):
        fmt = {"int": fm.total_int, "num2": fm.total_num2, "pct": fm.total_pct}[cols[j][2]]
        if total[j] is None:
            ws.write_blank(tr, j, None, fmt)
        else:
            ws.write_number(tr, j, total[j], fmt)
    _fit_rows(ws, 4, data, widths, [c[2] for c in cols])
    print_setup(ws, header_first=2, header_last=3, widths=widths, freeze_col=1)


# ------------------------------------------------------------------------------------------
# 违法占用耕地面积比例 and criminal-referral thresholds


def threshold_parcels(
    records: Sequence[ProblemRecord], *, rules: Rules = DEFAULT_RULES
) -> list[tuple[ProblemRecord, str]]:
    """Problems at a criminal-referral threshold with the threshold reached (永农 / 耕地 text).

    永久基本农田: illegal_pbf_m2 >= ``[alert] pbf_mu`` 亩; 耕地: illegal_farmland_m2 >=
    ``[alert] farmland_mu`` 亩 (DOMAIN §3.7; 法释〔2000〕14号).
    """
    out = []
    for r in records:
        hits = []
        if (m2_to_mu(r.illegal_pbf_m2 or 0.0)) >= rules.alert.pbf_mu:
            hits.append(f"永久基本农田≥{rules.alert.pbf_mu:g}亩")
        if (m2_to_mu(r.illegal_farmland_m2 or 0.0)) >= rules.alert.farmland_mu:
            hits.append(f"耕地≥{rules.alert.farmland_mu:g}亩")
        if hits:
            out.append((r, "、".join(hits)))
    return out


_THRESHOLD_COLUMNS = (
    ("序号", "", "int", 5),
    ("问题编号", "", "text", 19),
    ("监测编号", "", "text", 16),
    ("乡镇(街道)", "", "text", 10),
    ("村", "", "text", 8),
    ("整改状态", "", "center", 9),
    ("核查结论", "", "center", 8),
    ("问题类型", "", "center", 10),
    ("违法占用永久基本农田", "亩", "num2", 11),
    ("违法占用耕地(不含永农)", "亩", "num2", 11),
    ("达到刑事移送标准", "", "text", 16),
)


def write_ratio_form(
    records: Sequence[ProblemRecord],
    path: str | Path,
    *,
    today: date,
    rules: Rules = DEFAULT_RULES,
    stats: LedgerStats | None = None,
) -> Path:
    """违法占用耕地面积比例 (indicator, level) and the list of parcels at the criminal thresholds."""
    path = Path(path)
    st = stats if stats is not None else ledger_stats(records, rules=rules, today=today)
    listed = threshold_parcels(records, rules=rules)
    cols = _THRESHOLD_COLUMNS
    last_col = len(cols) - 1
    with form_workbook(path) as (wb, fm):
        ws = wb.add_worksheet("违法占用耕地面积比例")
        write_title(
            ws,
            fm,
            f"{rules.county.name}{st.year}年违法占用耕地面积比例",
            f"统计日期：{today.isoformat()}",
            3,  # the indicator sheet is four columns wide
        )
        rows = [
            ("年度", st.year, "int"),
            ("违法占用耕地面积(已认定，亩)", mu_value(st.illegal_farmland_m2), "num2"),
            ("新增建设占用耕地面积(亩)", mu_value(st.new_construction_farmland_m2), "num2"),
            ("违法占用耕地面积比例", rate_value(st.ratio), "pct"),
            ("评价", st.ratio_level, "text"),
            (
                "预警线 / 问责标准",
                f"{rules.ledger.ratio_warning:.0%} / {rules.ledger.ratio_alert:.0%}",
                "text",
            ),
        ]
        for i, (label, value, kind) in enumerate(rows):
            ws.write_string(2 + i, 0, label, fm.head)
            ws.merge_range(2 + i, 1, 2 + i, 3, "", fm.text)
            write_cell(
                ws,
                2 + i,
                1,
                value
                if value is not None
                else "未知（rules.toml [ledger] new_construction_farmland_m2 未填写）",
                kind if value is not None else "text",
                fm,
            )
        info_wrap = wb.add_format({"font_name": "宋体", "font_size": 10, "text_wrap": True})
        ws.merge_range(8, 0, 8, 3, st.ratio_text(), info_wrap)
        ws.set_column(0, 0, 24)
        ws.set_column(1, 3, 16)
        rh = RowHeights(font_pt=10)
        for i, (_, value, _) in enumerate(rows):
            rh.note(
                2 + i,
                value
                if value is not None
                else "未知（rules.toml [ledger] new_construction_farmland_m2 未填写）",
                48,
            )
        rh.note(8, st.ratio_text(), 24 + 16 * 3)
        rh.apply(ws)
        print_setup(ws, header_first=0, header_last=1, widths=[24.0, 16.0, 16.0, 16.0])
        ws = wb.add_worksheet("刑事移送标准图斑")
        write_title(
            ws,
            fm,
            f"达到刑事移送标准的问题图斑（永久基本农田≥{rules.alert.pbf_mu:g}亩，耕地≥{rules.alert.farmland_mu:g}亩）",
            f"统计日期：{today.isoformat()}    共{len(listed)}个",
            last_col,
        )
        top = 1
        head = top + 1
        for j, (h, unit, _, width) in enumerate(cols):
            ws.write_string(head, j, h, fm.head)
            ws.write_string(head + 1, j, unit, fm.unit)
            ws.set_column(j, j, width)
        first = head + 2
        for i, (r, hit) in enumerate(listed):
            values = [
                i + 1,
                r.problem_id,
                r.parcel_ids[0] if r.parcel_ids else "",
                r.township_name,
                r.village_name,
                r.status.value,
                r.judgement,
                r.display_class,
                NOT_CHECKED if not_checked(r, "illegal_pbf_m2") else _mu(r.illegal_pbf_m2 or 0.0),
                NOT_CHECKED
                if not_checked(r, "illegal_farmland_m2")
                else _mu(r.illegal_farmland_m2 or 0.0),
                hit,
            ]
            for j, v in enumerate(values):
                write_cell(ws, first + i, j, v, cols[j][2], fm)
            _fit_rows(ws, first + i, [values], [c[3] for c in cols], [c[2] for c in cols])
        tr = first + len(listed)
        ws.write_string(tr, 0, "合计", fm.total_text)
        ws.write_string(tr, 1, f"{len(listed)}个问题", fm.total_text)
        for j in range(2, len(cols)):
            if cols[j][2] == "num2":
                vals = [
                    _mu(r.illegal_pbf_m2 or 0.0) if j == 8 else _mu(r.illegal_farmland_m2 or 0.0)
                    for r, _ in listed
                ]
                _total(ws, tr, j, vals, "num2", fm)
            else:
                ws.write_blank(tr, j, None, fm.total_text)
        widths = [c[3] for c in cols]
        _fit_header(ws, head, [c[0] for c in cols], widths)
        print_setup(ws, header_first=head, header_last=head + 1, widths=widths)
    return path
