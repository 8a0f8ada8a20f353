"""The county's exported Excel table of 卫片 clues (明细表), joined to parcel geometry by clue id.

Real tables start with a merged title row and maybe a units row, so the header row is found by
its names, not assumed to be row 1. Ids are read as text; totals rows (合计/总计) are skipped.
The workbook is opened read-only and never saved back.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from openpyxl.utils.exceptions import InvalidFileException

from parcelwatch.errors import InputError, SchemaError, format_problems
from parcelwatch.io.schema import CLUE_FIELDS, match_fields

#: what openpyxl raises on a file that is not a readable .xlsx (a zip of XML parts): a bad or
#: truncated zip, a missing part, broken XML, a wrong file type; a bug in our code is none of these
EXCEL_READ_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    zipfile.BadZipFile,
    InvalidFileException,
    KeyError,
    ET.ParseError,
    ValueError,
)

__all__ = ["ClueTable", "read_clues", "join_clues", "EXCEL_READ_ERRORS", "cell_text", "cell_date"]

_TOTAL_WORDS = ("合计", "总计", "小计")


@dataclass
class ClueTable:
    frame: pd.DataFrame
    path: str
    sheet: str
    header_row: int  # 1-based, as Excel shows it
    field_map: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def cell_text(v: Any) -> str:
    """An Excel cell as text: empty for a blank, whole numbers without '.0', trimmed."""
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def cell_date(v: Any) -> date:
    """An Excel cell as a date: a date cell, or text 2019-03-01, 2019/3/1, 2019.3.1, 2019年3月1日
    (or any ISO form); ValueError naming the value otherwise."""
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    t = cell_text(v)
    m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", t)
    try:
        return date(int(m[1]), int(m[2]), int(m[3])) if m else date.fromisoformat(t)
    except ValueError:
        raise ValueError(f"{t!r} is not a date; write it as 2019-03-01") from None


def read_clues(
    path: str | Path, *, sheet: str | None = None, max_header_row: int = 20
) -> ClueTable:
    """Read a 卫片 clue table (xlsx) into canonical columns (``parcel_id``, ``batch`` ...)."""
    from openpyxl import load_workbook

    path = Path(path)
    if not path.exists():
        raise InputError(f"File not found: {path}. Check the path and the file name.")
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except EXCEL_READ_ERRORS as exc:
        raise InputError(
            f"Cannot open {path} as an Excel workbook (.xlsx): {exc}. Save it as .xlsx from Excel or WPS."
        ) from exc
    try:
        sheets = [sheet] if sheet else wb.sheetnames
        for name in sheets:
            if name not in wb.sheetnames:
                raise InputError(
                    f"{path} has no sheet {name!r}. Sheets: {', '.join(wb.sheetnames)}."
                )
            rows = [list(r) for r in wb[name].iter_rows(values_only=True)]
            for i, row in enumerate(rows[:max_header_row]):
                header = [cell_text(v) for v in row]
                mapping = match_fields(header, CLUE_FIELDS)
                if "parcel_id" in mapping and len(mapping) >= 2:
                    return _table(rows[i + 1 :], header, mapping, path, name, i + 1)
    finally:
        wb.close()
    tried = ", ".join(CLUE_FIELDS[0].aliases)
    raise SchemaError(
        f"{path}: no header row with a clue id column was found in the first {max_header_row} rows "
        f"of {'sheet ' + sheet if sheet else 'any sheet'} (tried {tried}). Make sure the table has a "
        "header row naming the clue id column (线索编号 or 监测编号)."
    )


def _table(
    rows: list[list[Any]],
    header: list[str],
    mapping: dict[str, str],
    path: Path,
    sheet: str,
    header_row: int,
) -> ClueTable:
    col_of = {canon: header.index(src) for canon, src in mapping.items()}
    records: list[dict[str, Any]] = []
    problems: list[str] = []
    notes: list[str] = []
    kinds = {f.name: f.kind for f in CLUE_FIELDS}
    for offset, row in enumerate(rows):
        excel_row = header_row + 1 + offset
        cells = [cell_text(v) for v in row]
        if not any(cells):
            continue
        if any(w in c for c in cells[:3] for w in _TOTAL_WORDS):
            notes.append(f"row {excel_row} is a totals row and was skipped")
            continue
        rec: dict[str, Any] = {"excel_row": excel_row}
        for canon, j in col_of.items():
            raw = row[j] if j < len(row) else None
            if kinds[canon] == "float":
                if raw is None or cell_text(raw) == "":
                    rec[canon] = None
                else:
                    try:
                        rec[canon] = float(raw)
                    except (TypeError, ValueError):
                        problems.append(
                            f"sheet {sheet}, row {excel_row}, column {mapping[canon]}: {raw!r} is not a number"
                        )
                        rec[canon] = None
            else:
                rec[canon] = cell_text(raw) or None
        if not rec.get("parcel_id"):
            problems.append(
                f"sheet {sheet}, row {excel_row}, column {mapping['parcel_id']}: no clue id"
            )
        records.append(rec)
    frame = pd.DataFrame.from_records(records)
    if len(frame):
        dups = frame["parcel_id"].dropna()
        dups = dups[dups.duplicated()]
        for d in dups.unique()[:5]:
            rows_d = frame.loc[frame["parcel_id"] == d, "excel_row"].tolist()
            problems.append(
                f"sheet {sheet}: clue id {d} appears in rows {', '.join(map(str, rows_d))}"
            )
    if problems:
        raise SchemaError(
            format_problems(
                f"{path}: {len(problems)} problem(s) in the clue table",
                problems,
                fix="Correct these cells in the workbook and read it again.",
            )
        )
    return ClueTable(frame, str(path), sheet, header_row, dict(mapping), notes)


def join_clues(parcels: gpd.GeoDataFrame, clues: ClueTable) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Left-join clue columns onto parcels by id; report clues without a parcel and vice versa."""
    cols = [c for c in clues.frame.columns if c not in ("excel_row",)]
    table = clues.frame[cols].rename(columns={c: f"clue_{c}" for c in cols if c != "parcel_id"})
    joined = parcels.merge(table, on="parcel_id", how="left")
    notes = []
    missing_geom = sorted(set(clues.frame["parcel_id"]) - set(parcels["parcel_id"]))
    if missing_geom:
        notes.append(
            f"{len(missing_geom)} clue(s) in {Path(clues.path).name} have no parcel geometry: {', '.join(missing_geom[:5])}"
        )
    no_clue = int(joined["clue_batch"].isna().sum()) if "clue_batch" in joined else 0
    if no_clue:
        notes.append(f"{no_clue} parcel(s) have no row in the clue table")
    return joined, notes
