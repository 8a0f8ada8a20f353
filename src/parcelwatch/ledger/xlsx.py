"""Excel round-trip of the ledger, the way county staff work.

:func:`export_xlsx` writes sheet 问题台账 with Chinese headers (editable columns highlighted), a
frozen header row, autofilter, dropdowns for 状态 / 整改措施 / 认定类别 / 核查结论类型 / 验收结果,
dates as real dates, ids as text and the 版本 (version) of every row, on A4 landscape; a 说明 sheet
explains the columns and lists the allowed status changes.

:func:`import_xlsx` reads a returned workbook (openpyxl, read-only; the user's file is never
written), finds the header row by names, compares every editable cell with the ledger and checks
each row: unknown id, invalid status, a transition not allowed or its needs unmet, a bad date or
number, a read-only cell edited, and a record changed since export (版本). It reports every
problem as (sheet, row, column, value, problem) and applies all valid rows in one transaction,
or none when any row is bad (``partial=True`` applies the valid rows only).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from parcelwatch.atomic import atomic_path
from parcelwatch.errors import InputError, OutputError, SchemaError
from parcelwatch.io.clues import EXCEL_READ_ERRORS
from parcelwatch.labels import TRANSITION_MEANING_ZH
from parcelwatch.ledger.model import (
    CONFIRMED_CLASSES,
    EDIT_DATE_MAX,
    EDIT_DATE_MIN,
    FIELD_BY_NAME,
    JUDGEMENT_TYPES,
    MEASURES,
    TRANSITIONS,
    Change,
    ProblemRecord,
    Status,
    check_change,
    class_label,
    is_overdue,
    parse_confirmed_class,
    parse_measure,
)
from parcelwatch.ledger.store import LedgerStore
from parcelwatch.print_layout import RowHeights, set_a4_landscape
from parcelwatch.units import m2_to_mu, mu_to_m2

__all__ = [
    "SHEET",
    "COLUMNS",
    "Column",
    "RowIssue",
    "ImportReport",
    "export_xlsx",
    "import_xlsx",
    "read_ledger_rows",
    "Formula",
    "ExcelError",
]

SHEET = "问题台账"
NOTE_HEADER = "变更说明"


@dataclass(frozen=True)
class Column:
    """One column of the exported sheet."""

    header: str
    field: str | None  # record field; None for computed columns
    kind: str  # text | int | date | status | class | cclass | measure | mu | wan | list | seq | overdue | note
    editable: bool = False
    width: float = 12
    checked: bool = True  # read-only columns whose edits are reported (nothing is silently lost)


COLUMNS: tuple[Column, ...] = (
    Column("序号", None, "seq", width=6, checked=False),
    Column("问题编号", "problem_id", "text", width=20),
    Column("版本", "version", "int", width=6),
    Column("状态", "status", "status", True, 11),
    Column("核查结论类型", "judgement_type", "text", True, 14),
    Column("认定类别", "confirmed_class", "class", True, 11),
    Column("整改措施", "measure", "measure", True, 16),
    Column("决定文号", "decision_ref", "text", True, 18),
    Column("整改期限", "deadline", "date", True, 12),
    Column("责任单位", "responsible_unit", "text", True, 16),
    Column("责任人", "responsible_person", "text", True, 10),
    Column("剩余未整改面积(亩)", "remaining_unrectified_m2", "mu", True, 12),
    Column(NOTE_HEADER, None, "note", True, 24, checked=False),
    Column("备注", "notes", "text", True, 24),
    Column("核查结论", "judgement", "text", width=8, checked=False),  # follows 状态
    Column("核查期限", "verify_due", "date", width=12),
    Column("是否逾期", None, "overdue", width=8, checked=False),
    Column("县(市、区)", "county_name", "text", width=10),
    Column("乡镇(街道)", "township_name", "text", width=12),
    Column("村", "village_name", "text", width=12),
    Column("批次", "batches", "list", width=16),
    Column("监测编号", "parcel_ids", "list", width=22),
    Column("疑似类别", "candidate_class", "cclass", width=10),
    Column("疑似依据", "candidate_reasons", "text", width=48, checked=False),
    Column("建议核查结论", "suggested_judgement", "text", width=12),
    Column("图斑面积(亩)", "parcel_area_m2", "mu", width=10),
    Column("耕地面积(亩)", "farmland_m2", "mu", width=10),
    Column("永久基本农田面积(亩)", "pbf_m2", "mu", width=12),
    Column("违法占用耕地(亩)", "illegal_farmland_m2", "mu", width=12),
    Column("违法占用永久基本农田(亩)", "illegal_pbf_m2", "mu", width=14),
    Column("项目名称", "project_name", "text", True, 18),
    Column("建设主体", "owner_name", "text", True, 16),
    Column("建设总投资(万元)", "investment_wan", "wan", True, 11),
    Column("中央财政补助(万元)", "subsidy_central_wan", "wan", True, 11),
    Column("省级财政补助(万元)", "subsidy_provincial_wan", "wan", True, 11),
    Column("市级财政补助(万元)", "subsidy_city_wan", "wan", True, 11),
    Column("县级财政补助(万元)", "subsidy_county_wan", "wan", True, 11),
    Column("资金追回(万元)", "funds_recovered_wan", "wan", True, 11),
    Column("验收结果", "acceptance_result", "text", True, 9),
    Column("验收日期", "acceptance_date", "date", True, 12),
    # SEED-SYSTEMS 0.P1: problems from every source (a row without 问题编号 is a new problem)
    Column("问题来源", "source", "text", width=9),
    Column("来源编号", "source_ref", "text", True, 14),
    Column("发现日期", "found_on", "date", width=12),
    Column("位置描述", "place_text", "text", True, 24),
    Column("四至", "bounds_text", "text", True, 24),
    Column("建设年份", "construction_year", "int", True, 9),
    Column("责任领导", "responsible_leader", "text", True, 10),
    Column("垃圾清理", "debris_cleared", "text", True, 8),
    Column("复垦复耕到位", "reclaimed", "text", True, 8),
    Column("涉嫌骗取资金(万元)", "funds_suspected_wan", "wan", True, 11),
    Column("正在追回资金(万元)", "funds_in_recovery_wan", "wan", True, 11),
    Column("挂牌督办", "supervision_level", "text", True, 8),
    Column("排查遗漏", "omitted_in_survey", "text", True, 8),
    Column("移送单位", "transferred_to", "text", True, 14),
    Column("移送日期", "transferred_on", "date", True, 12),
    Column("经度", "lon", "wan", width=11),
    Column("纬度", "lat", "wan", width=11),
    Column("更新时间", "updated_at", "text", width=20, checked=False),
    Column("更新人", "updated_by", "text", width=10, checked=False),
)
_BY_HEADER = {c.header: c for c in COLUMNS}
_HEADER_OF_FIELD = {c.field: c.header for c in COLUMNS if c.field}
_HEADER_OF_FIELD["note"] = NOTE_HEADER
_LIST_SEP = "、"
_COMBOS = ("拆除+复耕", "拆除+恢复种植条件", "罚款+补办手续", "没收+罚款", "拆除+罚款")


# ------------------------------------------------------------------------------------------
# Export


def _cell_value(col: Column, rec: ProblemRecord, today: date) -> Any:
    if col.kind == "overdue":
        return "是" if is_overdue(rec, today) else ""
    if col.field is None:
        return None
    v = getattr(rec, col.field)
    if col.kind == "status":
        return v.value
    if col.kind in ("class", "cclass"):
        return class_label(v) if v else ""
    if col.kind == "list":
        return _LIST_SEP.join(v)
    if col.kind == "mu":
        return None if v is None else round(float(m2_to_mu(v)), 2)
    return v


@contextmanager
def atomic_workbook(path: str | Path) -> Iterator[Any]:
    """An xlsxwriter workbook written beside ``path`` and renamed into place when complete.

    A failed write leaves no half-written workbook behind; the file is readable by others (a
    report is for sharing). Strings are never turned into numbers, formulas or links.
    """
    import xlsxwriter

    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            wb = xlsxwriter.Workbook(
                str(tmp),
                {
                    "strings_to_numbers": False,
                    "strings_to_formulas": False,
                    "strings_to_urls": False,
                },
            )
            yield wb
            wb.close()
    except OSError as exc:
        raise OutputError(
            f"Cannot write {path}: {exc}. Check the folder exists and is writable (or choose another with -o), "
            "and close the file if it is open in Excel/WPS; then try again."
        ) from exc


def export_xlsx(
    store: LedgerStore,
    path: str | Path,
    *,
    today: date,
    records: Sequence[ProblemRecord] | None = None,
) -> Path:
    """Write the ledger (or ``records``) to ``path`` (written beside it, then renamed into place)."""
    path = Path(path)
    recs = list(records) if records is not None else store.records(geometry=False)
    with atomic_workbook(path) as wb:
        _write_ledger_sheet(wb, recs, today)
        _write_help_sheet(wb)
    return path


def _write_ledger_sheet(wb: Any, recs: Sequence[ProblemRecord], today: date) -> None:
    ws = wb.add_worksheet(SHEET)
    head = wb.add_format(
        {
            "bold": True,
            "text_wrap": True,
            "valign": "vcenter",
            "align": "center",
            "border": 1,
            "bg_color": "#D9E1F2",
        }
    )
    head_edit = wb.add_format(
        {
            "bold": True,
            "text_wrap": True,
            "valign": "vcenter",
            "align": "center",
            "border": 1,
            "bg_color": "#FFF2CC",
        }
    )
    text = wb.add_format({"num_format": "@", "valign": "top"})
    wrap = wb.add_format({"num_format": "@", "valign": "top", "text_wrap": True})
    datef = wb.add_format({"num_format": "yyyy-mm-dd", "valign": "top"})
    num2 = wb.add_format({"num_format": "0.00", "valign": "top"})
    intf = wb.add_format({"num_format": "0", "valign": "top"})
    n = len(recs)
    rh = RowHeights(font_pt=11)
    for j, col in enumerate(COLUMNS):
        ws.write_string(0, j, col.header, head_edit if col.editable else head)
        rh.note(0, col.header, col.width)
        fmt = {"date": datef, "mu": num2, "wan": num2, "int": intf, "seq": intf}.get(
            col.kind, wrap if col.width >= 24 or col.kind == "list" else text
        )
        ws.set_column(j, j, col.width, fmt)
    for i, rec in enumerate(recs, start=1):
        for j, col in enumerate(COLUMNS):
            if col.kind == "seq":
                ws.write_number(i, j, i, intf)
                continue
            v = _cell_value(col, rec, today)
            if v is None or v == "":
                ws.write_blank(
                    i, j, None, {"date": datef, "mu": num2, "wan": num2}.get(col.kind, text)
                )
            elif col.kind == "date":
                ws.write_datetime(i, j, datetime(v.year, v.month, v.day), datef)  # noqa: DTZ001 - a calendar date
            elif col.kind in ("mu", "wan"):
                ws.write_number(i, j, float(v), num2)
            elif col.kind == "int":
                ws.write_number(i, j, int(v), intf)
            else:
                wraps = col.width >= 24 or col.kind == "list"
                ws.write_string(i, j, str(v), wrap if wraps else text)
                if wraps:
                    rh.note(i, str(v), col.width)
    rh.apply(ws, minimum=15)
    ws.freeze_panes(1, 2)
    ws.autofilter(0, 0, max(n, 1), len(COLUMNS) - 1)
    last = max(n, 1) + 500  # room for sorting/filtering; validations cover the data rows and beyond
    col_of = {c.header: j for j, c in enumerate(COLUMNS)}
    ws.data_validation(
        1,
        col_of["状态"],
        last,
        col_of["状态"],
        {
            "validate": "list",
            "source": [s.value for s in Status],
            "error_title": "状态",
            "error_message": "请从下拉列表选择状态",
        },
    )
    ws.data_validation(
        1,
        col_of["整改措施"],
        last,
        col_of["整改措施"],
        {
            "validate": "list",
            "source": [*MEASURES, *_COMBOS],
            "error_type": "information",
            "error_message": "可组合，用+连接，例如 拆除+复耕",
        },
    )
    ws.data_validation(
        1,
        col_of["认定类别"],
        last,
        col_of["认定类别"],
        {"validate": "list", "source": list(CONFIRMED_CLASSES.values())},
    )
    types = [t for k in ("合法", "其他", "违法") for t in JUDGEMENT_TYPES[k]]
    ws.data_validation(
        1,
        col_of["核查结论类型"],
        last,
        col_of["核查结论类型"],
        {"validate": "list", "source": types},
    )
    ws.data_validation(
        1,
        col_of["验收结果"],
        last,
        col_of["验收结果"],
        {"validate": "list", "source": ["合格", "不合格"]},
    )
    for h in ("整改期限", "验收日期"):
        ws.data_validation(
            1,
            col_of[h],
            last,
            col_of[h],
            {
                "validate": "date",
                "criteria": "between",
                "minimum": EDIT_DATE_MIN,
                "maximum": EDIT_DATE_MAX,
                "error_message": f"请输入{EDIT_DATE_MIN.year}年至{EDIT_DATE_MAX.year}年之间的日期，例如 2026-12-31",
            },
        )
    # A4 landscape at 100 %: the editable columns first, the rest on the following pages, with
    # 序号 / 问题编号 and the header row repeated on every page
    set_a4_landscape(
        ws,
        [c.width for c in COLUMNS],
        header_first=0,
        header_last=0,
        repeat_cols=2,
        last_row=max(n, 1),
    )
    ws.set_header('&C&"宋体,Bold"问题台账')


def _write_help_sheet(wb: Any) -> None:
    ws = wb.add_worksheet("说明")
    bold = wb.add_format({"bold": True})
    lines = [
        "黄色表头的列可以编辑；其他列由 parcelwatch 填写，修改会在导入时报告。“核查结论”随状态自动填写。",
        "请勿修改“问题编号”和“版本”。导入时如果台账中的版本已变化（他人已修改），该行会被拒绝：请重新导出后再编辑。",
        "状态变更需符合下表；需要说明的变更请填写“变更说明”。整改期限、验收日期请填写日期。",
        "整改措施可组合，用+连接（例如 拆除+复耕）；一事一议销号须填写“决定文号”。",
        "导入默认全部有效才写入（任何一行有问题则不写入任何一行）。",
    ]
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    widths = (12, 12, 24, 50)
    rh = RowHeights(font_pt=11)
    for i, line in enumerate(lines):
        ws.merge_range(i, 0, i, 3, line, wrap)
        rh.note(i, line, sum(widths))
    r = len(lines) + 1
    for j, h in enumerate(("原状态", "新状态", "需要填写", "含义")):
        ws.write_string(r, j, h, bold)
    for k, tr in enumerate(TRANSITIONS, start=r + 1):
        needs = "、".join(
            _HEADER_OF_FIELD.get(n, FIELD_BY_NAME[n].zh if n in FIELD_BY_NAME else n)
            for n in tr.needs
        )
        meaning = TRANSITION_MEANING_ZH.get(tr.meaning, tr.meaning)
        ws.write_row(k, 0, [tr.source.value, tr.target.value, needs], wrap)
        ws.write_string(k, 3, meaning, wrap)
        rh.note(k, needs, widths[2])
        rh.note(k, meaning, widths[3])
    rh.apply(ws)
    for j, w in enumerate(widths):
        ws.set_column(j, j, w)
    set_a4_landscape(ws, widths, header_first=r, header_last=r, last_row=r + len(TRANSITIONS))


# ------------------------------------------------------------------------------------------
# Import


@dataclass(frozen=True)
class RowIssue:
    """One problem found in a returned workbook."""

    sheet: str
    row: int  # Excel row number (1-based)
    column: str
    value: Any
    problem: str
    problem_id: str = ""

    def __str__(self) -> str:
        value = "" if self.value is None else repr(self.value)
        return f"{self.sheet} 第{self.row}行 [{self.column}] {value}: {self.problem}"


@dataclass
class ImportReport:
    """What :func:`import_xlsx` found and did."""

    path: str
    sheet: str
    rows: int
    changed_rows: int
    unchanged_rows: int
    issues: list[RowIssue] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)  # problem ids changed in the ledger
    partial: bool = False
    dry_run: bool = False

    @property
    def bad_rows(self) -> int:
        return len({i.row for i in self.issues})

    def lines(self) -> list[str]:
        """The per-row report and a summary line."""
        out = [str(i) for i in self.issues]
        if self.dry_run:
            verdict = "试运行：未写入台账"
        elif self.issues and not self.partial:
            verdict = "有问题的行，全部未写入（修正后重新导入，或用 --partial 只写入有效行）"
        else:
            verdict = f"已写入 {len(self.applied)} 个问题"
        out.append(
            f"{self.path}: {self.rows} 行，修改 {self.changed_rows} 行，未修改 {self.unchanged_rows} 行，有问题 {self.bad_rows} 行；{verdict}"
        )
        return out


def _header_row(rows: list[tuple[Any, ...]]) -> int | None:
    for i, row in enumerate(rows[:30]):
        names = {str(v).strip() for v in row if v is not None}
        if {"问题编号", "版本", "状态"} <= names:
            return i
    return None


def read_ledger_rows(path: str | Path) -> tuple[str, int, list[str], list[tuple[Any, ...]]]:
    """The sheet name, header row number (1-based), headers and data rows of a returned workbook.

    A formula cell is a :class:`Formula` (with the result Excel saved, if any) and an error value
    an :class:`ExcelError`, so that neither passes for an empty cell; text is decoded as Excel
    shows it (OOXML ``_xHHHH_`` escapes of control characters).
    """
    import openpyxl

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path} does not exist. Check the path of the returned workbook.")

    def load(data_only: bool) -> Any:
        try:
            return openpyxl.load_workbook(path, read_only=True, data_only=data_only)
        except EXCEL_READ_ERRORS as exc:
            raise InputError(
                f"Cannot read {path} as an Excel workbook (.xlsx): {exc}. Save it as .xlsx (Excel 2007+) and try again."
            ) from exc

    with warnings.catch_warnings():
        # a date cell beyond Excel's calendar is read as #VALUE!, and reported on its row
        warnings.filterwarnings("ignore", "Cell .* is marked as a date", UserWarning)
        return _read_rows(path, load)


def _read_rows(
    path: Path, load: Callable[[bool], Any]
) -> tuple[str, int, list[str], list[tuple[Any, ...]]]:
    wb = load(False)
    try:
        names = (
            [SHEET] + [n for n in wb.sheetnames if n != SHEET]
            if SHEET in wb.sheetnames
            else list(wb.sheetnames)
        )
        for name in names:
            rows = [tuple(_cell(c) for c in r) for r in wb[name].iter_rows()]
            h = _header_row(rows)
            if h is not None:
                headers = ["" if v is None else str(v).strip() for v in rows[h]]
                break
        else:
            raise InputError(
                f"{path}: no sheet has the header row (问题编号, 版本, 状态). Use a workbook made by `parcelwatch ledger export-xlsx` and keep its header row."
            )
    finally:
        wb.close()
    if any(isinstance(v, Formula) for r in rows for v in r):
        rows = _with_saved_values(load(True), name, rows)
    return name, h + 1, headers, rows[h + 1 :]


@dataclass(frozen=True)
class _BadId:
    raw: Any
    problem: str


@dataclass(frozen=True)
class Formula:
    """A formula cell; ``value`` is the result Excel saved with it (``None``: none was saved)."""

    text: str
    value: Any = None


@dataclass(frozen=True)
class ExcelError:
    """An error value in a cell (#REF!, #VALUE!, #N/A ...)."""

    code: str


# OOXML stores characters XML cannot hold (control characters) as _xHHHH_; Excel and WPS show
# them decoded, openpyxl does not decode them.
_OOXML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _cell(c: Any) -> Any:
    t = getattr(c, "data_type", None)
    v = getattr(c, "value", None)
    if t == "f":
        return Formula(str(v))
    if t == "e":
        return ExcelError(str(v))
    if isinstance(v, str) and "_x" in v:
        return _OOXML_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), v)
    return v


def _with_saved_values(wb: Any, name: str, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Formula cells with the value Excel saved (the second, data-only read)."""
    try:
        saved = [tuple(_cell(c) for c in r) for r in wb[name].iter_rows()]
    finally:
        wb.close()
    out = []
    for i, row in enumerate(rows):
        srow = saved[i] if i < len(saved) else ()
        out.append(
            tuple(
                Formula(v.text, srow[j] if j < len(srow) else None) if isinstance(v, Formula) else v
                for j, v in enumerate(row)
            )
        )
    return out


def _is_blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and v.strip() == "")


_KIND_HINT = {
    "date": "a date such as 2026-12-31",
    "mu": "a number of 亩 >= 0, e.g. 1.25",
    "wan": "a number of 万元 >= 0, e.g. 12.5",
    "int": "the whole number exported in this column",
}


def _parse_cell(col: Column, v: Any) -> Any:
    """The field value a cell means; raises SchemaError with the fix."""
    if isinstance(v, Formula):
        if v.value is None:
            raise SchemaError(
                f"a formula ({v.text}) with no saved result; type the value itself, or open and save the file in Excel/WPS so the result is stored"
            )
        if isinstance(v.value, ExcelError):
            raise SchemaError(
                f"the formula {v.text} gives the error {v.value.code}; type the value itself"
            )
        v = v.value
    if isinstance(v, ExcelError):
        raise SchemaError(
            f"the cell holds the error value {v.code}; type {_KIND_HINT.get(col.kind, 'the text')} instead"
        )
    if _is_blank(v):
        return None if col.kind in ("date", "mu", "wan", "int") else ""
    if isinstance(v, bool):
        raise SchemaError(
            f"TRUE/FALSE is not {_KIND_HINT.get(col.kind, 'text')}; type the value itself"
        )
    if col.kind == "date":
        if isinstance(v, datetime):
            d = v.date()
        elif isinstance(v, date):
            d = v
        elif isinstance(v, (int, float)):
            from openpyxl.utils.datetime import from_excel

            try:
                x = from_excel(v)
            except (ValueError, OverflowError, TypeError) as exc:
                raise SchemaError(
                    f"{v!r} is not a date; write it as 2026-12-31 (or format the cell as a date)"
                ) from exc
            d = x.date() if isinstance(x, datetime) else x
            if not isinstance(d, date):
                raise SchemaError(
                    f"{v!r} is not a date; write it as 2026-12-31 (or format the cell as a date)"
                )
        else:
            text = str(v).strip().replace("/", "-").replace(".", "-")
            for a, b in (("年", "-"), ("月", "-"), ("日", "")):
                text = text.replace(a, b)
            try:
                y, m, dd = (int(x) for x in text.split("-")[:3])
                d = date(y, m, dd)
            except (ValueError, TypeError) as exc:
                raise SchemaError(
                    "not a date; write it as 2026-12-31 (or format the cell as a date)"
                ) from exc
        if not EDIT_DATE_MIN <= d <= EDIT_DATE_MAX:
            raise SchemaError(
                f"{d.isoformat()} is outside {EDIT_DATE_MIN.isoformat()} .. {EDIT_DATE_MAX.isoformat()} (the sheet's own date check); write the real date, e.g. 2026-12-31"
            )
        return d
    if isinstance(v, (datetime, date)) and col.kind != "date":
        raise SchemaError(
            f"a date is not {_KIND_HINT.get(col.kind, 'text')}; format the cell as text or a number and type the value"
        )
    if col.kind in ("mu", "wan"):
        try:
            x = float(str(v).strip()) if isinstance(v, str) else float(v)
        except (TypeError, ValueError, OverflowError) as exc:
            raise SchemaError(f"not a number; type {_KIND_HINT[col.kind]}") from exc
        if not math.isfinite(x):
            raise SchemaError(
                f"not a finite number (inf, nan and 1e999 are refused); type {_KIND_HINT[col.kind]}"
            )
        if x < 0:
            raise SchemaError(f"must be a number >= 0; type {_KIND_HINT[col.kind]}")
        return x
    if col.kind == "int":
        if isinstance(v, int):
            return v
        if isinstance(v, float) and math.isfinite(v) and v.is_integer():
            return int(v)
        text = str(v).strip()
        if text.isascii() and text.lstrip("-").isdigit():
            return int(text)
        raise SchemaError(f"not a whole number; keep {_KIND_HINT['int']}")
    text = str(v).strip() if not isinstance(v, float) or not v.is_integer() else str(int(v))
    if col.kind == "status":
        return Status.parse(text)
    if col.kind == "class":
        return parse_confirmed_class(text)
    if col.kind == "measure":
        return parse_measure(text)
    return text


def _same(col: Column, cell: Any, stored: Any) -> bool:
    if col.kind == "mu":
        a = None if cell is None else float(cell)
        b = None if stored is None else round(float(m2_to_mu(stored)), 2)
        return (a is None and b is None) or (
            a is not None and b is not None and abs(a - b) <= 0.0051
        )
    if col.kind == "wan":
        return (cell is None and stored is None) or (
            cell is not None and stored is not None and abs(float(cell) - float(stored)) <= 1e-6
        )
    if col.kind == "list":
        return _LIST_SEP.join(stored) == (cell or "")
    if col.kind == "cclass":
        return (class_label(stored) if stored else "") == (cell or "")
    return (stored if stored is not None else "") == (cell if cell is not None else "")


def import_xlsx(
    store: LedgerStore,
    path: str | Path,
    *,
    user: str,
    now: datetime,
    partial: bool = False,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Check every row of a returned workbook and apply the edits (see the module docstring)."""
    sheet, header_row, headers, rows = read_ledger_rows(path)
    cols: dict[int, Column] = {}
    extra = []
    for j, h in enumerate(headers):
        if h in _BY_HEADER:
            cols[j] = _BY_HEADER[h]
        elif h:
            extra.append(h)
    j_id = next(j for j, c in cols.items() if c.field == "problem_id")
    j_ver = next(j for j, c in cols.items() if c.field == "version")

    def read_id(r: tuple[Any, ...]) -> Any:
        if len(r) <= j_id or _is_blank(r[j_id]):
            return None
        try:
            return _parse_cell(cols[j_id], r[j_id])
        except SchemaError as exc:
            return _BadId(r[j_id], str(exc))

    ids = [read_id(r) for r in rows]
    records = {
        r.problem_id: r
        for r in store.records([i for i in ids if isinstance(i, str) and i], geometry=False)
    }
    issues: list[RowIssue] = []
    changes: list[Change] = []
    seen: dict[str, int] = {}
    n_rows = n_changed = n_unchanged = 0
    for k, (row, pid) in enumerate(zip(rows, ids, strict=True)):
        excel_row = header_row + 1 + k
        cells = {j: (row[j] if j < len(row) else None) for j in cols}
        if all(_is_blank(v) for v in cells.values()):
            continue
        n_rows += 1
        row_issues: list[RowIssue] = []

        def issue(
            col: str,
            value: Any,
            problem: str,
            *,
            _row: int = excel_row,
            _pid: Any = pid,
            _out: list[RowIssue] = row_issues,
        ) -> None:
            _out.append(RowIssue(sheet, _row, col, value, problem, str(_pid or "")))

        if isinstance(pid, _BadId):
            issue("问题编号", pid.raw, f"{pid.problem}; keep the 问题编号 as exported")
            issues += row_issues
            continue
        if not pid:
            change = _new_row_change(cols, cells, issue, now=now, where=f"{sheet}!{excel_row}")
            issues += row_issues
            if change is not None and not row_issues:
                n_changed += 1
                changes.append(change)
            continue
        if pid in seen:
            issue(
                "问题编号",
                pid,
                f"the same problem is also on row {seen[pid]}; keep one row per problem",
            )
            issues += row_issues
            continue
        seen[pid] = excel_row
        rec = records.get(pid)
        if rec is None:
            issue(
                "问题编号",
                pid,
                "unknown problem id: not in this ledger (was the file exported from another workspace?)",
            )
            issues += row_issues
            continue
        version: int | None = None
        try:
            version = _parse_cell(cols[j_ver], cells[j_ver])
        except SchemaError as exc:
            issue("版本", cells[j_ver], f"{exc}; keep the 版本 as exported")
        else:
            if version is None:
                issue(
                    "版本",
                    None,
                    f"the 版本 is empty; it tells whether someone changed the problem since export - type back the exported version (the ledger now has {rec.version}) only if you are sure nobody changed it, or export again",
                )
        status: Status | None = None
        updates: dict[str, Any] = {}
        note = ""
        for j, col in cols.items():
            if col.field in ("problem_id", "version") or col.kind in ("seq", "overdue"):
                continue
            raw = cells[j]
            try:
                value = _parse_cell(col, raw)
            except SchemaError as exc:
                issue(col.header, raw, _cell_problem(col, raw, exc))
                continue
            if col.kind == "note":
                note = value or ""
                continue
            stored = getattr(rec, col.field) if col.field else None
            if not col.editable:
                if col.checked and not _same(col, value, stored):
                    issue(
                        col.header,
                        raw,
                        f"read-only column changed (ledger has {_show(col, stored)!r}); the edit cannot be saved - restore it, or change it through parcelwatch",
                    )
                continue
            if col.kind == "status":
                if value == "":
                    issue(
                        col.header,
                        raw,
                        f"the 状态 is empty; choose a status from the dropdown (the ledger has {rec.status.value})",
                    )
                    continue
                if value is not rec.status:
                    status = value
                continue
            if col.field is None or _same(col, value, stored):
                continue
            updates[col.field] = (
                mu_to_m2(value) if col.kind == "mu" and value is not None else value
            )
        if "notes" in updates and not note:
            note = str(updates["notes"] or "")
        if not updates and status is None:
            if not row_issues:
                n_unchanged += 1
            issues += row_issues
            continue
        if row_issues and version is None:
            issues += row_issues
            continue
        if version is not None and version != rec.version:
            issue(
                "版本",
                version,
                f"the problem was changed since export (exported version {version}, now version {rec.version} by {rec.updated_by} at {rec.updated_at}); export again and redo this row's edits",
            )
        change = Change(
            pid,
            status,
            updates,
            note=note,
            expected_version=version if version is not None else rec.version,
            source=f"{sheet}!{excel_row}",
        )
        if version == rec.version:
            found, _ = check_change(rec, change)
            for ci in found:
                header = _HEADER_OF_FIELD.get(ci.field, ci.field)
                value = status.value if ci.field == "status" and status is not None else ci.value
                issue(header, value, _need_problem(ci, header, rec.status, status))
        if row_issues:
            issues += row_issues
            continue
        n_changed += 1
        changes.append(change)
    report = ImportReport(
        str(path), sheet, n_rows, n_changed, n_unchanged, issues, partial=partial, dry_run=dry_run
    )
    if dry_run or (issues and not partial) or not changes:
        return report
    result = store.apply(changes, user=user, now=now, progress=progress)
    report.applied = [p for p in result.problem_ids if p is not None]
    return report


# The words of the workbook's dropdowns, for messages about a column (what a clerk can pick).
def _dropdown_words(field_name: str) -> str:
    if field_name == "confirmed_class":
        return "、".join(CONFIRMED_CLASSES.values())
    if field_name == "judgement_type":
        return "、".join(t for k in ("合法", "其他", "违法") for t in JUDGEMENT_TYPES[k])
    if field_name == "measure":
        return "、".join(MEASURES) + "（可用+组合，例如 拆除+复耕）"
    if field_name == "status":
        return "、".join(s.value for s in Status)
    return ""


def _cell_problem(col: Column, raw: Any, exc: Exception) -> str:
    """Why a cell cannot be read, in the words of the dropdowns (第一类, not ``I``)."""
    field_name = {"class": "confirmed_class", "measure": "measure", "status": "status"}.get(
        col.kind
    )
    if field_name and str(exc).startswith("Unknown"):  # a value not in the dropdown
        return f"“{raw}”不是可选的{col.header}；请从下拉列表选择：{_dropdown_words(field_name)}"
    return str(exc).split(". Use")[0] + _choices(col)


def _need_problem(ci: Any, header: str, before: Status, after: Status | None) -> str:
    """A refused status change as the workbook says it: which column to fill, with its choices."""
    needs = ("judgement_type", "confirmed_class", "measure", "decision_ref", "note")
    if not ci.transition or after is None or ci.field not in needs or ci.value not in ("", None):
        return str(ci.message)
    words = _dropdown_words(ci.field)
    return f"状态由“{before.value}”改为“{after.value}”时须填写“{header}”" + (
        f"（可选：{words}）" if words else ""
    )


_NEW_ROW_INPUTS = ("source", "township_name", "village_name", "found_on", "lon", "lat", "notes")


def _new_row_change(
    cols: dict[int, Column],
    cells: dict[int, Any],
    issue: Callable[..., None],
    *,
    now: datetime,
    where: str,
) -> Change | None:
    """A row without 问题编号: a new problem (SEED-SYSTEMS 0.P1), checked like ``ledger add``.

    It needs 问题来源, 乡镇(街道) and 经度/纬度 (a point; a polygon is added with ``ledger add``);
    the other filled editable cells become its fields.
    """
    from parcelwatch.ledger.add import NewProblem, new_problem_change

    values: dict[str, Any] = {}
    for j, col in cols.items():
        if col.field is None or col.field in ("problem_id", "version", "status"):
            continue
        if col.field not in _NEW_ROW_INPUTS and not col.editable:
            continue
        raw = cells[j]
        try:
            v = _parse_cell(col, raw)
        except SchemaError as exc:
            issue(col.header, raw, str(exc) + _choices(col))
            continue
        if v is None or v == "":
            continue
        values[col.field] = mu_to_m2(v) if col.kind == "mu" else v
    if not values.get("source"):
        issue(
            "问题来源",
            None,
            "a row without 问题编号 is a new problem: fill 问题来源 (巡查, 巡察, 举报 ...), 乡镇(街道) and 经度/纬度, or keep the 问题编号 as exported",
        )
        return None
    notes = str(values.pop("notes", "") or "")
    new = NewProblem(
        str(values.pop("source")),
        str(values.pop("township_name", "") or ""),
        str(values.pop("village_name", "") or ""),
        lon=values.pop("lon", None),
        lat=values.pop("lat", None),
        found_on=values.pop("found_on", None),
        fields=values,
        note=notes,
    )
    try:
        change = new_problem_change(new, today=now.date())
    except SchemaError as exc:
        issue("问题编号", None, f"new problem: {exc}")
        return None
    from dataclasses import replace

    return replace(change, source=where)


def _choices(col: Column) -> str:
    if col.kind == "status":
        return "; use one of " + "、".join(s.value for s in Status)
    if col.kind == "measure":
        return "; use " + "、".join(MEASURES) + " (several joined by +)"
    if col.kind == "class":
        return "; use one of " + "、".join(CONFIRMED_CLASSES.values())
    return ""


def _show(col: Column, stored: Any) -> Any:
    if col.kind == "mu":
        return None if stored is None else round(float(m2_to_mu(stored)), 2)
    if col.kind == "list":
        return _LIST_SEP.join(stored)
    if col.kind == "cclass":
        return class_label(stored) if stored else ""
    if isinstance(stored, date):
        return stored.isoformat()
    return stored
