"""Import of a village's patrol ledger (附件3 行政村(居)巡查工作台账, SEED-SYSTEMS §B.5).

The header row is found by its names (a merged title row may come first). Every row is checked
before anything is written; any bad row stops the import with a per-row report (sheet, row,
column, value, problem) and nothing is stored, unless ``partial=True``. Rows that already carry a
编号 (imported before) are skipped. The workbook is opened read-only and never saved back.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from parcelwatch.errors import InputError, SchemaError, format_problems
from parcelwatch.patrol.scheme import Scheme
from parcelwatch.patrol.scoring import LOCAL_TZ

__all__ = ["LEDGER_COLUMNS", "ImportRow", "ImportPlan", "read_village_ledger"]

#: 附件3 columns: canonical name -> accepted header spellings
LEDGER_COLUMNS: dict[str, tuple[str, ...]] = {
    "seq": ("序号",),
    "patrol_date": ("巡查日期",),
    "patrollers": ("巡查人员", "巡查人"),
    "route": ("巡查区域/路线", "巡查区域", "巡查路线"),
    "item": ("巡查目录事项", "事项", "目录事项"),
    "content": ("事项内容", "问题描述"),
    "occurred": ("发生时间", "发生日期"),
    "place": ("地点", "位置"),
    "lon": ("经度",),
    "lat": ("纬度",),
    "photos": ("佐证材料(照片)", "佐证材料（照片）", "佐证材料", "照片"),
    "dept": ("上报部门", "对口部门"),
    "reported": ("上报时间",),
    "result": ("核实结果",),
    "handling": ("处置情况",),
    "finding_id": ("编号",),
}
_REQUIRED = ("item", "content", "occurred", "place", "reported")


@dataclass(frozen=True)
class ImportRow:
    row: int  # Excel row number
    item: str
    content: str
    occurred: date
    place: str
    reported: datetime
    reporter: str
    lon: float | None
    lat: float | None
    photos: tuple[Path, ...]


@dataclass
class ImportPlan:
    path: Path
    sheet: str
    rows: list[ImportRow] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _date(v: Any) -> date | None:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    t = _text(v).replace("/", "-").replace(".", "-")
    m = re.fullmatch(r"(\d{4})[-年](\d{1,2})[-月](\d{1,2})日?", t)
    return date(int(m[1]), int(m[2]), int(m[3])) if m else None


def _datetime(v: Any) -> datetime | None:
    if isinstance(v, datetime):
        return v if v.tzinfo else v.replace(tzinfo=LOCAL_TZ)
    d = _date(v)
    if d is not None:
        return datetime.combine(d, time(0, 0), tzinfo=LOCAL_TZ)
    t = _text(v).replace("/", "-").replace(" ", "T")
    try:
        out = datetime.fromisoformat(t)
    except ValueError:
        return None
    return out if out.tzinfo else out.replace(tzinfo=LOCAL_TZ)


def _item_code(v: str, scheme: Scheme) -> str | None:
    if not v:
        return ""
    if scheme.item(v) is not None:
        return v
    hits = {i.code for i in scheme.catalogue if i.name == v}
    return hits.pop() if len(hits) == 1 else None


def read_village_ledger(
    path: str | Path,
    scheme: Scheme,
    *,
    photos_dir: str | Path | None = None,
    max_header_row: int = 15,
) -> ImportPlan:
    """Read and check every row of a 附件3 workbook; nothing is written here."""
    from openpyxl import load_workbook

    p = Path(path)
    if not p.is_file():
        raise InputError(f"File not found: {p}. Check the path and the file name.")
    try:
        wb = load_workbook(p, read_only=True, data_only=True)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise InputError(
            f"Cannot open {p} as an Excel workbook (.xlsx): {exc}. Save it as .xlsx from Excel or WPS."
        ) from exc
    try:
        for sheet in wb.sheetnames:
            rows = [list(r) for r in wb[sheet].iter_rows(values_only=True)]
            for hi, row in enumerate(rows[:max_header_row]):
                header = [_text(c) for c in row]
                cols = {
                    k: next((j for j, h in enumerate(header) if h in names), None)
                    for k, names in LEDGER_COLUMNS.items()
                }
                if all(cols[k] is not None for k in _REQUIRED):
                    return _plan(p, sheet, rows, hi, cols, scheme, photos_dir)
    finally:
        wb.close()
    need = "、".join(LEDGER_COLUMNS[k][0] for k in _REQUIRED)
    raise SchemaError(
        f"{p}: no sheet has the 附件3 header (needs the columns {need}). Use the 行政村(居)巡查工作台账 layout."
    )


def _plan(p: Path, sheet: str, rows: list[list[Any]], hi: int, cols: dict[str, int | None], scheme: Scheme,
          photos_dir: str | Path | None) -> ImportPlan:  # fmt: skip
    plan = ImportPlan(p, sheet)
    base = Path(photos_dir) if photos_dir else p.parent
    head = {k: LEDGER_COLUMNS[k][0] for k in LEDGER_COLUMNS}

    def cell(r: list[Any], key: str) -> Any:
        j = cols.get(key)
        return r[j] if j is not None and j < len(r) else None

    for n, r in enumerate(rows[hi + 1 :], start=hi + 2):
        if all(_text(c) == "" for c in r):
            continue
        if any(_text(c) in ("合计", "总计") for c in r[:2]):
            continue
        where = f"{sheet}!行{n}"
        filled = [_text(c) for c in r if _text(c)]
        if len(filled) == 1 and _text(r[0]) == filled[0] and "：" in filled[0]:
            # a signature / 填表 line under the table (e.g. "村(居)巡查员：  日期：")
            plan.skipped.append(f"{where}: 签字行「{filled[0][:20]}」，跳过")
            continue
        if _text(cell(r, "finding_id")):
            plan.skipped.append(f"{where}: 已有编号 {_text(cell(r, 'finding_id'))}，跳过")
            continue
        bad = len(plan.problems)

        def problem(key: str, value: Any, msg: str) -> None:
            plan.problems.append(f"{where} 列「{head[key]}」值 {_text(value)!r}: {msg}")  # noqa: B023

        item = _item_code(_text(cell(r, "item")), scheme)
        if item is None:
            problem(
                "item",
                cell(r, "item"),
                "不在巡查目录 (patrol.toml [catalogue])；填写目录编号或名称",
            )
        occurred = _date(cell(r, "occurred"))
        if occurred is None:
            problem("occurred", cell(r, "occurred"), "不是日期 (写作 2026-04-02)")
        reported = _datetime(cell(r, "reported"))
        if reported is None:
            problem("reported", cell(r, "reported"), "不是日期时间 (写作 2026-04-02 15:30)")
        for key in ("content", "place"):
            if not _text(cell(r, key)):
                problem(key, "", "必填 (台账规范: 发生时间、地点、事项内容)")
        lonlat: list[float | None] = []
        for key, lo, hi_ in (("lon", -180, 180), ("lat", -90, 90)):
            v = cell(r, key)
            if _text(v) == "":
                lonlat.append(None)
                continue
            try:
                x = float(_text(v))
            except ValueError:
                x = None
            if x is None or not lo <= x <= hi_:
                problem(key, v, f"不是{head[key]} ({lo}..{hi_}, 度)")
            lonlat.append(x)
        if (lonlat[0] is None) != (lonlat[1] is None):
            problem("lon", cell(r, "lon"), "经度和纬度要同时填写")
        photos = []
        for name in re.split(r"[;；,，、\n]+", _text(cell(r, "photos"))):
            name = name.strip()
            if not name:
                continue
            f = Path(name) if Path(name).is_absolute() else base / name
            if not f.is_file():
                problem(
                    "photos",
                    name,
                    f"照片文件不存在 (在 {base} 中查找；用 --photos DIR 指定照片目录)",
                )
            photos.append(f)
        if occurred and reported and reported.astimezone(LOCAL_TZ).date() < occurred:
            problem("reported", cell(r, "reported"), "上报时间早于发生时间")
        if len(plan.problems) == bad:
            assert occurred is not None and reported is not None and item is not None
            plan.rows.append(
                ImportRow(
                    n,
                    item,
                    _text(cell(r, "content")),
                    occurred,
                    _text(cell(r, "place")),
                    reported,
                    _text(cell(r, "patrollers")),
                    lonlat[0],
                    lonlat[1],
                    tuple(photos),
                )  # fmt: skip
            )
    return plan


def raise_problems(plan: ImportPlan) -> None:
    if plan.problems:
        raise SchemaError(
            format_problems(
                f"{plan.path}: {len(plan.problems)} 处错误，未导入任何记录 (nothing was imported)",
                plan.problems,
                fix="Fix these cells and import again, or pass --partial to import the good rows only.",
                limit=20,
            )
        )
