"""The greenhouse registry (棚室台账, SEED-SYSTEMS 0.P8): import, numbering, visits, coverage, exports.

Greenhouses are stored in ``greenhouse_registry`` (geometry as WKT in EPSG:4490, size in m² on
the CGCS2000 ellipsoid) with an audit event per change; visits in ``greenhouse_visits``. Numbers
are ``{乡镇}-{村}-{组}-{NNN}`` [seed 002 "按乡镇村组细化棚室编号"], NNN continuing per 组.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import geopandas as gpd
import shapely
from pyproj import Geod

from parcelwatch.acceptance.records import RecordBook
from parcelwatch.acceptance.scheme import half_up
from parcelwatch.errors import InputError, LedgerError
from parcelwatch.ledger.model import ProblemRecord

__all__ = [
    "TYPES",
    "SIGNAGE",
    "REGISTRY_COLUMNS",
    "import_greenhouses",
    "record_visits",
    "read_visit_numbers",
    "coverage",
    "greenhouse_counts",
    "write_registry_xlsx",
    "write_registry_layer",
]

TYPES = ("塑料大棚", "日光温室", "连栋温室", "其他")
SIGNAGE = ("全", "不全", "无")
_GEOD = Geod(ellps="GRS80")  # CGCS2000 uses the GRS 80 ellipsoid
#: input column -> registry field (Chinese or English headers)
_ALIASES = {
    "greenhouse_no": ("greenhouse_no", "编号", "棚室编号"),
    "township": ("township", "乡镇", "乡镇(街道)"),
    "village": ("village", "村", "行政村"),
    "group_name": ("group_name", "组", "村民小组"),
    "park_id": ("park_id", "园区"),
    "owner": ("owner", "建设主体"),
    "type": ("type", "类型", "建设类型"),
    "land_transfer": ("land_transfer", "土地流转情况", "流转"),
    "built_on": ("built_on", "建设时间"),
    "production_status": ("production_status", "生产情况"),
    "signage": ("signage", "标识", "编号标识"),
    "place_text": ("place_text", "建设地点"),
}
REGISTRY_COLUMNS = (
    ("greenhouse_no", "棚室编号"),
    ("township", "乡镇"),
    ("village", "村"),
    ("group_name", "村民小组"),
    ("place_text", "建设地点"),
    ("owner", "建设主体"),
    ("type", "建设类型"),
    ("size_m2", "建设规模(平方米)"),
    ("land_transfer", "土地流转情况"),
    ("built_on", "建设时间"),
    ("production_status", "生产情况"),
    ("signage", "编号标识"),
    ("last_visit_on", "最近入棚核查日期"),
    ("last_visit_by", "核查人"),
)


def _text(v: Any) -> str:
    if v is None:
        return ""
    try:
        if v != v:  # NaN
            return ""
    except (TypeError, ValueError):
        pass
    return str(v).strip()


def _column(gdf: gpd.GeoDataFrame, name: str) -> str | None:
    for alias in _ALIASES[name]:
        if alias in gdf.columns:
            return alias
    return None


def import_greenhouses(
    book: RecordBook, gdf: gpd.GeoDataFrame, *, source: str, user: str, now: datetime
) -> list[str]:
    """Add the greenhouses of ``gdf`` (all or nothing); numbers the ones without 编号."""
    if gdf.crs is None:
        raise InputError(f"{source}: the layer has no CRS; define it (e.g. EPSG:4490) and retry.")
    cols = {name: _column(gdf, name) for name in _ALIASES}
    missing = [_ALIASES[n][1] for n in ("township", "village", "group_name") if cols[n] is None]
    if missing:
        raise InputError(
            f"{source}: no column {'、'.join(missing)} (needed to number the greenhouses 乡镇-村-组-NNN); "
            f"columns present: {', '.join(map(str, gdf.columns))}."
        )
    g = gdf.to_crs(4490)
    rows: list[dict[str, Any]] = []
    numbers: list[str] = []
    taken = {r["greenhouse_no"] for r in book.all("greenhouse_registry")}
    next_seq: dict[str, int] = {}
    geoms = list(g.geometry)
    records = g.drop(columns=g.geometry.name).to_dict("records")
    for i, (raw, geom) in enumerate(zip(records, geoms, strict=True)):
        where = f"{source} feature {i + 1}"
        row = {name: _text(raw[c]) if c else "" for name, c in cols.items()}
        for name in ("township", "village", "group_name"):
            if not row[name]:
                raise InputError(f"{where}: {_ALIASES[name][1]} is empty; fill it in.")
        if row["type"] and row["type"] not in TYPES:
            raise InputError(f"{where}: 类型 {row['type']!r}; use one of {'、'.join(TYPES)}.")
        if row["signage"] and row["signage"] not in SIGNAGE:
            raise InputError(f"{where}: 标识 {row['signage']!r}; use 全、不全 or 无.")
        if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise InputError(f"{where}: a greenhouse needs a polygon outline.")
        prefix = f"{row['township']}-{row['village']}-{row['group_name']}-"
        no = row.pop("greenhouse_no")
        if not no:
            if prefix not in next_seq:
                used = [
                    int(t[len(prefix) :])
                    for t in taken
                    if t.startswith(prefix) and t[len(prefix) :].isdigit()
                ]
                next_seq[prefix] = max(used, default=0) + 1
            no = f"{prefix}{next_seq[prefix]:03d}"
            next_seq[prefix] += 1
        if no in taken:
            raise InputError(f"{where}: 编号 {no} is already in the registry; give another number.")
        taken.add(no)
        area = abs(_GEOD.geometry_area_perimeter(shapely.make_valid(geom))[0])
        row["size_m2"] = str(half_up(Decimal(str(area))))
        row["geom_wkt"] = shapely.to_wkt(geom, rounding_precision=8)
        rows.append(row)
        numbers.append(no)
    if not rows:
        raise InputError(f"{source}: no greenhouse features.")
    return book.insert_many("greenhouse_registry", rows, ids=numbers, user=user, now=now)


def read_visit_numbers(path: Path) -> list[str]:
    """The greenhouse numbers of a visit sheet (first sheet, a column 棚室编号 or 编号)."""
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{path}: cannot read this Excel file ({exc}).") from exc
    ws = wb.worksheets[0]
    rows = list(ws.iter_rows(values_only=True))
    wb.close()
    if not rows:
        raise InputError(f"{path}: sheet {ws.title} is empty.")
    head = [_text(c) for c in rows[0]]
    col = next((head.index(h) for h in ("棚室编号", "编号", "greenhouse_no") if h in head), None)
    if col is None:
        raise InputError(f"{path} sheet {ws.title} row 1: no column 棚室编号 (or 编号); add it.")
    return [_text(r[col]) for r in rows[1:] if r and col < len(r) and _text(r[col])]


def record_visits(
    book: RecordBook,
    numbers: Sequence[str],
    *,
    on: date,
    by: str,
    user: str,
    now: datetime,
    source: str = "",
) -> int:
    """Record visits of ``numbers`` on ``on`` (all or nothing: an unknown number refuses all)."""
    known = {r["greenhouse_no"]: r for r in book.all("greenhouse_registry")}
    unknown = [(i, n) for i, n in enumerate(numbers, start=2) if n not in known]
    if unknown:
        where = f"{source} row {unknown[0][0]}: " if source else ""
        raise LedgerError(
            f"{where}greenhouse {unknown[0][1]!r} is not in the registry"
            + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else "")
            + "; import it first with `parcelwatch greenhouses import`. No visit was recorded."
        )
    rows = [{"greenhouse_no": n, "visited_on": on, "visited_by": by} for n in numbers]
    latest = [
        ("greenhouse_registry", n, {"last_visit_on": on, "last_visit_by": by})
        for n in dict.fromkeys(numbers)
        if not known[n].get("last_visit_on") or known[n]["last_visit_on"] < on.isoformat()
    ]
    book.insert_many(
        "greenhouse_visits", rows, user=user, now=now, prefix=f"FV-{on.year}-", width=6,
        updates=latest,
    )  # fmt: skip
    return len(rows)


@dataclass(frozen=True)
class Coverage:
    village: str
    registered: int
    visited: int

    @property
    def share(self) -> Decimal:
        return Decimal(self.visited) / Decimal(self.registered) if self.registered else Decimal(0)


def coverage(registry: Sequence[Mapping[str, Any]]) -> list[Coverage]:
    """Per village (乡镇/村): registered greenhouses and those with a visit (逢棚必进必查)."""
    per: dict[str, list[int]] = {}
    for r in registry:
        key = f"{r.get('township') or ''}{r.get('village') or ''}"
        c = per.setdefault(key, [0, 0])
        c[0] += 1
        c[1] += 1 if r.get("last_visit_on") else 0
    return [Coverage(k, v[0], v[1]) for k, v in sorted(per.items())]


def greenhouse_counts(
    problems: Sequence[ProblemRecord],
    registry: Sequence[Mapping[str, Any]],
    *,
    inside_share: float = 0.5,
) -> dict[str, int]:
    """Problem id -> registry greenhouses lying at least ``inside_share`` inside its geometry."""
    shapes = [shapely.from_wkt(r["geom_wkt"]) for r in registry if r.get("geom_wkt")]
    if not shapes:
        return {}
    tree = shapely.STRtree(shapes)
    out: dict[str, int] = {}
    for p in problems:
        if p.geometry is None or p.geometry.geom_type not in ("Polygon", "MultiPolygon"):
            continue
        n = 0
        for i in tree.query(p.geometry):
            g = shapes[int(i)]
            if g.area > 0 and g.intersection(p.geometry).area / g.area >= inside_share:
                n += 1
        out[p.problem_id] = n
    return out


def write_registry_xlsx(
    registry: Sequence[Mapping[str, Any]], path: str | Path, *, county_name: str = ""
) -> None:
    """棚室台账.xlsx: one row per greenhouse, then per-village coverage on a second sheet."""
    from parcelwatch.exports.forms import (
        form_workbook as _workbook,
    )
    from parcelwatch.exports.forms import (
        print_setup as _print_setup,
    )
    from parcelwatch.exports.forms import (
        write_cell as _write,
    )
    from parcelwatch.exports.forms import (
        write_title as _title,
    )

    with _workbook(Path(path)) as (wb, fm):
        ws = wb.add_worksheet("棚室台账")
        last = len(REGISTRY_COLUMNS) - 1
        _title(
            ws,
            fm,
            f"{county_name}棚室统计台账",
            f"县（市、区）：{county_name}　　单位：平方米",
            last,
        )
        for j, (_, head) in enumerate(REGISTRY_COLUMNS):
            ws.write_string(2, j, head, fm.head)
            ws.set_column(j, j, 24 if j == 0 else 12)
        for i, r in enumerate(registry):
            for j, (name, _) in enumerate(REGISTRY_COLUMNS):
                v = r.get(name)
                kind = "num2" if name == "size_m2" else "text"
                _write(ws, 3 + i, j, float(v) if kind == "num2" and v else (v or None), kind, fm)
        _print_setup(ws, header_first=2, header_last=2, widths=[24.0] + [12.0] * last)
        cv = wb.add_worksheet("入棚核查覆盖率")
        heads = ("乡镇村", "登记棚数", "已核查棚数", "覆盖率")
        _title(cv, fm, "逢棚必进必查覆盖率", f"县（市、区）：{county_name}", len(heads) - 1)
        for j, h in enumerate(heads):
            cv.write_string(2, j, h, fm.head)
            cv.set_column(j, j, 16)
        for i, c in enumerate(coverage(registry)):
            _write(cv, 3 + i, 0, c.village, "text", fm)
            _write(cv, 3 + i, 1, c.registered, "int", fm)
            _write(cv, 3 + i, 2, c.visited, "int", fm)
            _write(cv, 3 + i, 3, float(half_up(c.share, Decimal("0.0001"))), "pct", fm)
        _print_setup(cv, header_first=2, header_last=2, widths=[16.0] * len(heads))


def write_registry_layer(registry: Sequence[Mapping[str, Any]], path: str | Path) -> Path:
    """The registry as a map layer (GeoPackage ``棚室台账``, EPSG:4490) for QGIS."""
    if not registry:
        raise LedgerError("The greenhouse registry is empty: import greenhouses first.")
    data = {zh: [r.get(n) or "" for r in registry] for n, zh in REGISTRY_COLUMNS}
    data["建设规模(平方米)"] = [float(r["size_m2"]) if r.get("size_m2") else None for r in registry]
    gdf = gpd.GeoDataFrame(
        data, geometry=[shapely.from_wkt(r["geom_wkt"]) for r in registry], crs=4490
    )
    path = Path(path)
    gdf.to_file(path, layer="棚室台账", driver="GPKG")
    return path
