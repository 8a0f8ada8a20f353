"""The patrol ledgers as Excel (SEED-SYSTEMS §B.5): 附件3 行政村(居)巡查工作台账 and 附件4
{部门}登记备案工作台账.

Pure builders over stored records (dicts as :class:`~parcelwatch.patrol.records.PatrolBook`
returns them): no workspace and no clock.

* 附件3 has exactly the columns ``patrol import`` reads (:data:`LEDGER_COLUMNS`, in that order), so
  a written ledger is read back unchanged: a row that carries its 编号 is skipped as already
  imported, and a village that fills in the blank form (编号 left empty) imports its rows.
  The 巡查人员 / 巡查区域/路线 of a row come from the village's own patrol visit (``patrol visit
  --by-village``) on the report's day when there is one, else from the reporter.
* 附件4 lists what a lead department registered in the month: every finding of its catalogue
  items whose finding (or 投诉之日, or village report) falls in the month, with who verified it (the
  user of the verification, from the audit history), the month's 加(扣)分 (from the scoring
  lines), the 执法文书 and the ledger / 两违 links. 处置结果 is left for the department to fill.

Layout: row 0 title (merged), row 1 info (merged), row 2 header, data from row 3, a signature
line two rows under the table; A4 landscape, header repeated, panes frozen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from parcelwatch.exports.forms import form_workbook as _workbook
from parcelwatch.exports.forms import print_setup as _print_setup
from parcelwatch.exports.forms import write_title as _title
from parcelwatch.patrol.ledger_xlsx import LEDGER_COLUMNS
from parcelwatch.patrol.scheme import FINDER_LABELS, Scheme
from parcelwatch.patrol.scoring import LOCAL_TZ, ScoreLine, display, month_bounds, month_of

__all__ = [
    "VILLAGE_HEADERS",
    "DEPT_HEADERS",
    "village_ledger_rows",
    "write_village_ledger",
    "dept_ledger_rows",
    "write_dept_ledger",
]

VILLAGE_HEADERS = [names[0] for names in LEDGER_COLUMNS.values()]
_VILLAGE_KINDS = ["int", "date", "text", "text", "text", "text", "date", "text", "num", "num",
                  "text", "text", "datetime", "text", "text", "text"]  # fmt: skip
_VILLAGE_WIDTHS = [6, 11, 12, 14, 14, 24, 11, 18, 12, 11, 22, 12, 16, 9, 18, 16]
DEPT_HEADERS = ["序号", "登记编号", "村(居)", "发现方", "发现/上报时间", "巡查目录事项", "地点", "事项内容",
                "核实人", "核实日期", "核实结果", "加(扣)分", "执法文书", "关联问题编号", "处置结果"]  # fmt: skip
_DEPT_KINDS = ["int", "text", "text", "text", "datetime", "text", "text", "text", "text", "date",
               "text", "num", "text", "text", "text"]  # fmt: skip
_DEPT_WIDTHS = [6, 16, 10, 14, 16, 16, 18, 24, 10, 11, 9, 9, 24, 22, 16]


def _dt(text: str | None) -> datetime | None:
    if not text:
        return None
    t = datetime.fromisoformat(text)
    return t.astimezone(LOCAL_TZ) if t.tzinfo else t


def _point(wkt: str | None) -> tuple[float | None, float | None]:
    if not wkt:
        return None, None
    import shapely

    g = shapely.from_wkt(wkt)
    c = g if g.geom_type == "Point" else g.centroid
    return round(float(c.x), 7), round(float(c.y), 7)


def _item_name(scheme: Scheme, code: str) -> str:
    item = scheme.item(code) if code else None
    return item.name if item else (code or "目录外")


def _docs(f: Mapping[str, Any]) -> str:
    return "；".join(
        f"{d.get('type', '')} {d.get('number', '')}（{d.get('issued_on', '')}）".strip()
        for d in f.get("enforcement_docs") or []
    )


def _links(f: Mapping[str, Any]) -> str:
    parts = []
    if f.get("ledger_problem_id"):
        parts.append(f"问题台账 {f['ledger_problem_id']}")
    if f.get("violation_case_id"):
        parts.append(f"两违 {f['violation_case_id']}")
    return "；".join(parts)


def village_ledger_rows(
    findings: Sequence[Mapping[str, Any]],
    visits: Sequence[Mapping[str, Any]],
    scheme: Scheme,
    *,
    village: str,
    month: str,
) -> list[list[Any]]:
    """附件3 rows: the village's own reports whose report time falls in ``month`` (local), by time."""
    own = [
        f
        for f in findings
        if f.get("village") == village
        and f.get("finder_kind") == "village_self"
        and month_of(_dt(f.get("reported_at") or f.get("found_at"))) == month
    ]
    own.sort(key=lambda f: (_dt(f.get("reported_at") or f.get("found_at")), f["finding_id"]))
    by_day: dict[date, Mapping[str, Any]] = {}
    for v in visits:
        start = _dt(v.get("started_at"))
        if v.get("village") == village and v.get("by_kind") == "village" and start is not None:
            by_day.setdefault(start.date(), v)
    rows = []
    for n, f in enumerate(own, start=1):
        rep = _dt(f.get("reported_at") or f.get("found_at"))
        assert rep is not None
        visit = by_day.get(rep.date())
        people = "、".join(visit.get("people") or []) if visit else ""
        route = ""
        if visit:
            route = visit.get("area_text") or (
                "GPS轨迹 " + visit["visit_id"] if visit.get("route_wkt") else ""
            )
        lon, lat = _point(f.get("geom_wkt"))
        item = scheme.item(f["item_code"]) if f.get("item_code") else None
        occ = f.get("occurred_on")
        rows.append(
            [
                n, rep.date(), people or f.get("reporter") or "", route, _item_name(scheme, f.get("item_code") or ""),
                f.get("content") or "", date.fromisoformat(occ[:10]) if occ else None, f.get("place_text") or "",
                lon, lat, "；".join(p["path"] for p in f.get("photos") or []), item.dept if item else "",
                rep.replace(tzinfo=None), f.get("verified_result") or "",
                "；".join(x for x in (_docs(f), _links(f)) if x), f["finding_id"],
            ]
        )  # fmt: skip
    return rows


def _write_rows(ws: Any, fm: Any, wb: Any, first: int, rows: Sequence[Sequence[Any]], kinds: Sequence[str]) -> int:  # fmt: skip
    dtf = wb.add_format({"font_name": "宋体", "font_size": 10, "valign": "vcenter", "border": 1,
                         "num_format": "yyyy-mm-dd hh:mm", "align": "center"})  # fmt: skip
    num = wb.add_format({"font_name": "宋体", "font_size": 10, "valign": "vcenter", "border": 1,
                         "num_format": "0.0000000"})  # fmt: skip
    r = first
    for values in rows:
        for j, (v, kind) in enumerate(zip(values, kinds, strict=True)):
            if v is None or v == "":
                ws.write_blank(r, j, None, fm.text)
            elif kind == "int":
                ws.write_number(r, j, int(v), fm.int)
            elif kind == "num":
                ws.write_number(r, j, float(v), num if isinstance(v, float) else fm.num2)
            elif kind == "date":
                ws.write_datetime(r, j, datetime(v.year, v.month, v.day), fm.date)  # noqa: DTZ001 - a calendar date
            elif kind == "datetime":
                ws.write_datetime(r, j, v, dtf)
            else:
                ws.write_string(r, j, str(v), fm.text)
        r += 1
    return r


def _sheet(path: Path, sheet: str, title: str, info: str, headers: Sequence[str], widths: Sequence[float],
           kinds: Sequence[str], rows: Sequence[Sequence[Any]], signature: str) -> Path:  # fmt: skip
    with _workbook(path) as (wb, fm):
        ws = wb.add_worksheet(sheet)
        last = len(headers) - 1
        _title(ws, fm, title, info, last)
        for j, (h, w) in enumerate(zip(headers, widths, strict=True)):
            ws.write_string(2, j, h, fm.head)
            ws.set_column(j, j, w)
        end = _write_rows(ws, fm, wb, 3, rows, kinds)
        ws.merge_range(end + 1, 0, end + 1, last, signature, fm.info)
        _print_setup(
            ws, header_first=2, header_last=2, widths=[float(w) for w in widths], freeze_col=2
        )
    return path


def write_village_ledger(
    rows: Sequence[Sequence[Any]], path: str | Path, *, village: str, month: str
) -> Path:
    """``{村}巡查工作台账_YYYY年MM月.xlsx`` (附件3), sheet 巡查工作台账."""
    first, last = month_bounds(month)
    return _sheet(
        Path(path),
        "巡查工作台账",
        f"{village}巡查工作台账",
        f"附件3　行政村(居)巡查工作台账　村(居)：{village}　统计期间：{first.isoformat()}至{last.isoformat()}　共 {len(rows)} 条",
        VILLAGE_HEADERS,
        _VILLAGE_WIDTHS,
        _VILLAGE_KINDS,
        rows,
        "村(居)巡查员：　　　　　　村(居)负责人：　　　　　　日期：　　年　　月　　日",
    )


def dept_ledger_rows(
    findings: Sequence[Mapping[str, Any]],
    scheme: Scheme,
    *,
    dept: str,
    month: str,
    verifiers: Mapping[str, str] | None = None,
    score_lines: Mapping[str, ScoreLine] | None = None,
) -> list[list[Any]]:
    """附件4 rows: findings of ``dept``'s catalogue items found (or complained, or reported) in
    ``month``. ``verifiers`` maps finding id -> who recorded the verification; ``score_lines``
    finding id -> its scoring line (加(扣)分 left blank when absent: not yet verified or scored)."""
    codes = {i.code for i in scheme.catalogue if i.dept == dept}
    verifiers = verifiers or {}
    score_lines = score_lines or {}

    def when(f: Mapping[str, Any]) -> datetime | None:
        return _dt(f.get("reported_at") or f.get("complaint_at") or f.get("found_at"))

    mine = [f for f in findings if f.get("item_code") in codes and month_of(when(f)) == month]
    mine.sort(key=lambda f: (when(f), f["finding_id"]))
    rows = []
    for n, f in enumerate(mine, start=1):
        t = when(f)
        assert t is not None
        ver = _dt(f.get("verified_at"))
        ln = score_lines.get(f["finding_id"])
        finder = f.get("finder_name") or FINDER_LABELS.get(f.get("finder_kind", ""), "")
        rows.append(
            [
                n, f["finding_id"], f.get("village") or "", finder, t.replace(tzinfo=None),
                _item_name(scheme, f["item_code"]), f.get("place_text") or "", f.get("content") or "",
                verifiers.get(f["finding_id"], "") if ver else "", ver.date() if ver else None,
                f.get("verified_result") or "", float(display(ln.signed)) if ln is not None else None,
                _docs(f), _links(f), "",
            ]
        )  # fmt: skip
    return rows


def write_dept_ledger(
    rows: Sequence[Sequence[Any]], path: str | Path, *, dept: str, month: str
) -> Path:
    """``{部门}登记备案工作台账_YYYY年MM月.xlsx`` (附件4), sheet 登记备案工作台账."""
    first, last = month_bounds(month)
    total = sum((Decimal(str(r[11])) for r in rows if r[11] is not None), Decimal(0))
    return _sheet(
        Path(path),
        "登记备案工作台账",
        f"{dept}登记备案工作台账",
        f"附件4　牵头部门：{dept}　统计期间：{first.isoformat()}至{last.isoformat()}　共 {len(rows)} 条，加(扣)分合计 {display(total)}",
        DEPT_HEADERS,
        _DEPT_WIDTHS,
        _DEPT_KINDS,
        rows,
        f"登记人：　　　　　　{dept}负责人：　　　　　　日期：　　年　　月　　日",
    )
