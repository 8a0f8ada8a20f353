"""The province summary: parcels by county and candidate class (Excel in Chinese + GeoPackage).

Built from the per-county results in the output folder, so it is complete however many runs it
took to compute them.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from parcelwatch import crs as crsmod
from parcelwatch.atomic import atomic_path
from parcelwatch.errors import OutputError
from parcelwatch.province.run import done_counties, read_results
from parcelwatch.rules.catalog import CLASS_LABELS, CLASS_ORDER
from parcelwatch.units import m2_to_mu

__all__ = ["province_summary", "write_summary_xlsx", "write_summary_gpkg", "SUMMARY_COLUMNS"]

_ZH = CLASS_LABELS["zh"]
SUMMARY_COLUMNS = [
    "县级代码",
    "图斑数",
    *(f"疑似{_ZH[c]}" for c in CLASS_ORDER),
    "无问题",
    "图斑面积(亩)",
    "耕地面积(亩)",
    "永久基本农田面积(亩)",
    "违法占用耕地(亩)",
    "违法占用永久基本农田(亩)",
]


def _mu(values: pd.Series) -> float:
    return round(float(m2_to_mu(np.nansum(values.to_numpy(dtype=float)))), 2)


def province_summary(out: str | Path, *, counties: list[str] | None = None) -> pd.DataFrame:
    """One row per county (and a 合计 row): parcels by candidate class and areas in 亩."""
    codes = counties if counties is not None else done_counties(out)
    parcels = read_results(out, counties=codes)
    rows = []
    for code in codes:
        p = parcels[parcels["xzqdm"] == code] if len(parcels) else parcels
        vc = p["problem_class"].value_counts() if len(p) else pd.Series(dtype=int)
        rows.append(
            [
                code,
                len(p),
                *(int(vc.get(c, 0)) for c in CLASS_ORDER),
                int(vc.get("none", 0)),
                *(
                    _mu(p[c]) if c in p else 0.0
                    for c in (
                        "parcel_area_m2",
                        "farmland_m2",
                        "pbf_m2",
                        "illegal_farmland_m2",
                        "illegal_pbf_m2",
                    )
                ),
            ]
        )
    table = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    total = ["合计", *(table[c].sum() for c in SUMMARY_COLUMNS[1:])]
    table.loc[len(table)] = total
    for c in SUMMARY_COLUMNS[1 : 2 + len(CLASS_ORDER) + 1]:
        table[c] = table[c].astype(int)
    for c in SUMMARY_COLUMNS[3 + len(CLASS_ORDER) :]:
        table[c] = table[c].astype(float).round(2)
    return table


def write_summary_xlsx(table: pd.DataFrame, path: str | Path, *, batch: str) -> Path:
    """The summary as an Excel workbook (sheet 按县汇总), written atomically."""
    from parcelwatch.ledger.xlsx import atomic_workbook

    path = Path(path)
    with atomic_workbook(path) as wb:
        ws = wb.add_worksheet("按县汇总")
        head = wb.add_format(
            {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "align": "center"}
        )
        num = wb.add_format({"border": 1, "num_format": "0.00"})
        cnt = wb.add_format({"border": 1, "num_format": "0"})
        txt = wb.add_format({"border": 1, "num_format": "@"})
        bold = wb.add_format({"border": 1, "bold": True, "num_format": "@"})
        ws.write_string(
            0,
            0,
            f"卫片图斑省级汇总（批次：{batch}）",
            wb.add_format({"bold": True, "font_size": 14}),
        )
        for j, c in enumerate(table.columns):
            ws.write_string(2, j, str(c), head)
            ws.set_column(j, j, 12 if j else 10)
        for i, row in enumerate(table.to_numpy(dtype=object).tolist(), start=3):
            for j, (c, v) in enumerate(zip(table.columns, row, strict=True)):
                if c == "县级代码":
                    ws.write_string(i, j, str(v), bold if v == "合计" else txt)
                elif c.endswith("(亩)"):
                    ws.write_number(i, j, float(v), num)
                else:
                    ws.write_number(i, j, int(v), cnt)
        ws.freeze_panes(3, 1)
    return path


def write_summary_gpkg(table: pd.DataFrame, out: str | Path, path: str | Path) -> Path:
    """Layer ``parcels`` (every county's classified parcels) and table ``summary`` (Chinese headers)."""
    path = Path(path)
    parcels = read_results(out)
    parcels = parcels.to_crs(crsmod.STORAGE_CRS) if len(parcels) else parcels
    try:
        with atomic_path(path) as tmp:
            pyogrio.write_dataframe(gpd.GeoDataFrame(parcels), tmp, layer="parcels", driver="GPKG")
            pyogrio.write_dataframe(
                table.astype({"县级代码": str}), tmp, layer="summary", driver="GPKG"
            )
    except OSError as exc:
        raise OutputError(
            f"Cannot write {path}: {exc}. Check the folder is writable and the file is not open in QGIS."
        ) from exc
    return path
