"""Vector exports of the ledger for county review: GeoPackage, shapefile, GeoJSON, CSV, KML, KMZ.

Every writer takes the problems to export (ledger records with geometry, chosen with
:func:`select_problems`), writes to a temporary name beside the target and renames it into place,
so a failed export leaves nothing half-written. Columns come from
:data:`parcelwatch.exports.fields.EXPORT_FIELDS` (one table for every format).

* GeoPackage: layers ``problems`` (EPSG:4490), ``findings`` and ``events``; Chinese aliases in
  ``gpkg_data_columns`` (the GeoPackage schema extension), which QGIS shows as field aliases.
* Shapefile: GBK with a ``.cpg`` of ``936`` and the matching DBF language byte (UTF-8 on
  request), every field of the GeoPackage export under an ASCII pinyin name of at most 10 bytes
  (declared widths and decimals; long texts continued in ``CODE_2`` ...), a legend
  ``<name>_字段说明.txt`` (UTF-8 with BOM) giving each field's Chinese name and type, and a
  CGCS2000 ``.prj`` (geographic EPSG:4490, or the county's 3° Gauss-Krüger zone).
* GeoJSON (EPSG:4490, or 4326 on request) and CSV (UTF-8 with BOM, Chinese headers).
* KML / KMZ written in one pass: one shared style per status, a folder per status or township
  (the document says what each holds), Placemark name = 监测编号 with an empty Snippet, a Chinese
  description table and the same fields as ExtendedData, outer rings counter-clockwise; a KMZ
  holds one ``doc.kml``.
* Problems entered as a point (经度/纬度, no polygon; SEED-SYSTEMS 0.P1) are never dropped: the
  GeoPackage has them in layer ``problem_points``, a shapefile or GeoJSON of points only is
  written as points (:mod:`parcelwatch.exports` puts them in ``<name>_点位.shp``/``.geojson``
  beside the polygons, with a notice each), and the KML/KMZ has them as pins.
"""

from __future__ import annotations

import json
import re
import sqlite3
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from html import escape
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio
import pyogrio.errors
import shapely
from pyproj import CRS

from parcelwatch.atomic import commit_file, staging_dir
from parcelwatch.crs import STORAGE_CRS, ellipsoidal_area_m2, gk3_zone_from_lon, working_crs
from parcelwatch.errors import CRSError, OutputError, SchemaError
from parcelwatch.exports.dbf import DbfField, write_dbf
from parcelwatch.exports.fields import (
    EXPORT_FIELDS,
    FIELD_BY_KEY,
    ExportField,
    problem_table,
    record_geometry,
)
from parcelwatch.exports.qgis_style import write_layer_style
from parcelwatch.labels import CLASS_LABELS
from parcelwatch.ledger.model import (
    Event,
    ProblemRecord,
    Status,
    is_overdue,
    parse_confirmed_class,
)
from parcelwatch.units import m2_to_mu

__all__ = [
    "SHP_TEXT_BYTES",
    "select_problems",
    "write_gpkg",
    "write_shapefile",
    "write_geojson",
    "write_csv",
    "write_kml",
    "write_kmz",
    "shapefile_crs",
    "kml_color",
]

SHP_TEXT_BYTES = 254
_KML_NS = "http://www.opengis.net/kml/2.2"


@dataclass(frozen=True)
class ExportNotice:
    """Something an export could not carry exactly (a value cut, a character replaced or
    dropped; ``kind`` "value") or put elsewhere than the main layer (a point problem written to
    the point layer or file; ``kind`` "placement"): which file format, problem and field, and
    what happened."""

    fmt: str
    problem_id: str
    field: str
    message: str
    kind: str = "value"

    def __str__(self) -> str:
        return f"{self.fmt}: problem {self.problem_id} [{self.field}]: {self.message}"


# ------------------------------------------------------------------------------------------
# Selection


def select_problems(
    records: Iterable[ProblemRecord],
    *,
    statuses: Sequence[Status | str] = (),
    classes: Sequence[str] = (),
    townships: Sequence[str] = (),
    batches: Sequence[str] = (),
    overdue_on: date | None = None,
) -> list[ProblemRecord]:
    """The problems matching every filter given (an empty filter selects all).

    ``classes`` match the confirmed class, else the candidate class (codes I, II, III,
    conversion, non_dpf or their Chinese labels, or ``none``); ``townships`` match the name or
    code; ``batches`` any batch the problem was found in; ``overdue_on`` keeps the problems
    overdue on that day. Order is kept.
    """
    wanted_status = {Status.parse(s) for s in statuses}
    wanted_class = set()
    for c in classes:
        key = str(c).strip()
        if key in ("none", CLASS_LABELS["zh"]["none"]):
            wanted_class.add("none")
            continue
        wanted_class.add(parse_confirmed_class(key))
    towns = {str(t).strip() for t in townships}
    wanted_batches = {str(b).strip() for b in batches}
    out = []
    for r in records:
        if wanted_status and r.status not in wanted_status:
            continue
        if wanted_class and (r.confirmed_class or r.candidate_class or "none") not in wanted_class:
            continue
        if towns and not towns & {r.township_name, r.township_code}:
            continue
        if wanted_batches and not wanted_batches & set(r.batches):
            continue
        if overdue_on is not None and not is_overdue(r, overdue_on):
            continue
        out.append(r)
    return out


# ------------------------------------------------------------------------------------------
# Atomic writes


@contextmanager
def _staging(target: Path) -> Iterator[Path]:
    """A temporary folder beside ``target``; removed afterwards whatever happened."""
    entered = False
    try:
        with staging_dir(target) as tmp:
            entered = True
            yield tmp
    except OSError as exc:
        if entered:  # the writers say what failed themselves
            raise
        raise OutputError(
            f"Cannot write {target}: {exc}. Check the folder exists and is writable, or choose another with -o."
        ) from exc


def _move_into_place(src: Path, dst: Path) -> None:
    try:
        commit_file(src, dst)
    except OSError as exc:
        raise OutputError(
            f"Cannot write {dst}: {exc}. Close the file if another program (QGIS, Excel, ArcMap) has it open, then try again."
        ) from exc


def _pyogrio_write(frame: Any, path: Path, **kwargs: Any) -> None:
    try:
        pyogrio.write_dataframe(frame, path, use_arrow=True, **kwargs)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError) as exc:
        raise OutputError(
            f"GDAL could not write {path.name} ({kwargs.get('driver', '')}, layer {kwargs.get('layer', '-')}): {exc}. "
            "Check the disk has room and the folder is writable."
        ) from exc


def _require_geometry(records: Sequence[ProblemRecord], what: str) -> None:
    missing = [r.problem_id for r in records if record_geometry(r) is None]
    if missing:
        raise SchemaError(
            f"Cannot write {what}: {len(missing)} problem(s) have no geometry (first: {', '.join(missing[:5])}). "
            "Read the records with geometry (store.records(geometry=True))."
        )


def _as_dates(frame: pd.DataFrame) -> pd.DataFrame:
    """Date columns as Arrow date32 (written through Arrow, GDAL makes them Date fields)."""
    out = frame.copy()
    for f in EXPORT_FIELDS:
        if f.kind == "date" and f.key in out:
            out[f.key] = pd.Series(
                pa.array(list(out[f.key]), type=pa.date32()),
                index=out.index,
                dtype=pd.ArrowDtype(pa.date32()),
            )
    return out


# ------------------------------------------------------------------------------------------
# GeoPackage


#: the GeoPackage layer of the problems entered as a point (no polygon)
POINT_LAYER = "problem_points"


def write_gpkg(
    records: Sequence[ProblemRecord],
    path: str | Path,
    *,
    today: date,
    events: Sequence[Event] = (),
    findings: gpd.GeoDataFrame | None = None,
) -> Path:
    """Write layers ``problems``, ``findings`` (when given) and ``events`` with Chinese aliases.

    Problems entered as a point (经度/纬度, no polygon; SEED-SYSTEMS 0.P1) go to their own layer
    ``problem_points`` (Point, same fields), never into the polygon layer and never dropped.

    Aliases are rows of ``gpkg_data_columns`` (name and title = the Chinese name), registered with
    the ``gpkg_schema`` extension as the GeoPackage standard requires (GDAL >= 3.7 reads them),
    and every layer has a default QGIS style in ``layer_styles`` (aliases for any QGIS 3.x; the
    problems coloured by 整改状态 and labelled by 监测编号; see :mod:`.qgis_style`).
    """
    path = Path(path)
    _require_geometry(records, path.name)
    ids = {r.problem_id for r in records}
    table = _as_dates(problem_table(records, today=today))
    is_point = np.asarray(table.geometry.geom_type == "Point", dtype=bool)
    problems, points = table[~is_point].copy(), table[is_point]
    problems["geometry"] = problems.geometry.apply(_multi)
    aliases: dict[str, dict[str, str]] = {"problems": {f.key: f.zh for f in EXPORT_FIELDS}}
    ev = events_frame([e for e in events if e.problem_id in ids])
    aliases["events"] = dict(_EVENT_ALIASES)
    with _staging(path) as tmp:
        out = tmp / "export.gpkg"
        _pyogrio_write(
            problems,
            out,
            driver="GPKG",
            layer="problems",
            geometry_type="MultiPolygon",
            layer_options={"IDENTIFIER": "问题图斑", "DESCRIPTION": "整改问题图斑（台账导出）"},
        )
        if len(points):  # problems entered as a point (lon/lat, no polygon): their own layer
            _pyogrio_write(
                points,
                out,
                driver="GPKG",
                layer=POINT_LAYER,
                geometry_type="Point",
                append=False,
                layer_options={
                    "IDENTIFIER": "问题点位",
                    "DESCRIPTION": "以经纬度登记、无图斑的问题",
                },
            )
            aliases[POINT_LAYER] = dict(aliases["problems"])
        if findings is not None:
            fnd = findings_frame(findings[findings["problem_id"].isin(ids)])
            _pyogrio_write(
                fnd,
                out,
                driver="GPKG",
                layer="findings",
                geometry_type="MultiPolygon",
                append=False,
                layer_options={"IDENTIFIER": "判定建筑"},
            )
            aliases["findings"] = dict(_FINDING_ALIASES)
        _pyogrio_write(
            ev, out, driver="GPKG", layer="events", layer_options={"IDENTIFIER": "处理记录"}
        )
        _write_gpkg_aliases(out, aliases)
        _write_gpkg_styles(out, aliases)
        _move_into_place(out, path)
    return path


def _write_gpkg_styles(path: Path, aliases: dict[str, dict[str, str]]) -> None:
    """QGIS default styles (``layer_styles``): Chinese aliases on every layer; problems coloured
    by 整改状态 as on the battle map and labelled by 监测编号."""
    for layer, cols in aliases.items():
        write_layer_style(
            path,
            layer,
            list(cols.items()),
            status_field="status" if layer in ("problems", POINT_LAYER) else None,
            label={
                "problems": "parcel_id",
                "findings": "footprint_id",
                POINT_LAYER: "problem_id",
            }.get(layer),
            description={
                "problems": "问题图斑：按整改状态着色，标注监测编号",
                POINT_LAYER: "问题点位：以经纬度登记、无图斑的问题，按整改状态着色",
            }.get(layer, ""),
        )


def _multi(geom: Any) -> Any:
    if isinstance(geom, shapely.Polygon):
        return shapely.MultiPolygon([geom])
    return geom


_EVENT_ALIASES = (
    ("problem_id", "问题编号"),
    ("seq", "序号"),
    ("at", "时间"),
    ("user", "操作人"),
    ("kind", "类型"),
    ("from_status", "原状态"),
    ("to_status", "新状态"),
    ("measure", "整改措施"),
    ("note", "说明"),
    ("batch", "批次"),
    ("evidence", "佐证材料"),
    ("changes", "变更内容"),
)
_FINDING_ALIASES = (
    ("problem_id", "问题编号"),
    ("parcel_id", "监测编号"),
    ("batch", "批次"),
    ("footprint_id", "建筑编号"),
    ("rule_id", "规则"),
    ("problem_class", "疑似类别"),
    ("footprint_m2", "建筑面积(平方米)"),
    ("footprint_mu", "建筑面积(亩)"),
)


def events_frame(events: Sequence[Event]) -> pd.DataFrame:
    """The event history as a table (statuses in Chinese, evidence and changes as JSON)."""
    return pd.DataFrame(
        {
            "problem_id": [e.problem_id for e in events],
            "seq": pd.array([e.seq for e in events], dtype="int64"),
            "at": [e.at for e in events],
            "user": [e.user for e in events],
            "kind": [e.kind for e in events],
            "from_status": [e.from_status.value if e.from_status else "" for e in events],
            "to_status": [e.to_status.value for e in events],
            "measure": [e.measure for e in events],
            "note": [e.note for e in events],
            "batch": [e.batch for e in events],
            "evidence": [
                json.dumps([x.to_plain() for x in e.evidence], ensure_ascii=False) for e in events
            ],
            "changes": [json.dumps(dict(e.changes), ensure_ascii=False) for e in events],
        },
        columns=[k for k, _ in _EVENT_ALIASES],
    )


def findings_frame(findings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The stored findings with the footprint area (ellipsoidal, m² and 亩, 2 dp)."""
    f = findings.copy()
    if f.crs is None:
        f = f.set_crs(STORAGE_CRS)
    area = ellipsoidal_area_m2(f.geometry.values, f.crs) if len(f) else np.zeros(0, dtype="float64")
    f["footprint_m2"] = np.round(area, 2)
    f["footprint_mu"] = np.round(m2_to_mu(area), 2)
    f["geometry"] = f.geometry.apply(_multi)
    keep = [k for k, _ in _FINDING_ALIASES]
    return f[[*keep, "geometry"]].reset_index(drop=True)


def _write_gpkg_aliases(path: Path, aliases: dict[str, dict[str, str]]) -> None:
    """Fill ``gpkg_data_columns`` (the GeoPackage schema extension) with the Chinese names."""
    con = sqlite3.connect(str(path))
    try:
        with con:
            con.execute(
                "CREATE TABLE IF NOT EXISTS gpkg_data_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL, "
                "name TEXT, title TEXT, description TEXT, mime_type TEXT, constraint_name TEXT, "
                "CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name), CONSTRAINT gdc_tn UNIQUE (table_name, name))"
            )
            con.execute(
                "CREATE TABLE IF NOT EXISTS gpkg_data_column_constraints (constraint_name TEXT NOT NULL, constraint_type TEXT NOT NULL, "
                "value TEXT, min NUMERIC, min_is_inclusive BOOLEAN, max NUMERIC, max_is_inclusive BOOLEAN, description TEXT, "
                "CONSTRAINT gdcc_ntv UNIQUE (constraint_name, constraint_type, value))"
            )
            con.execute(
                "CREATE TABLE IF NOT EXISTS gpkg_extensions (table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL, "
                "definition TEXT NOT NULL, scope TEXT NOT NULL, CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))"
            )
            for table in ("gpkg_data_columns", "gpkg_data_column_constraints"):
                con.execute(
                    "INSERT OR IGNORE INTO gpkg_extensions (table_name, column_name, extension_name, definition, scope) "
                    "VALUES (?, NULL, 'gpkg_schema', 'http://www.geopackage.org/spec/#extension_schema', 'read-write')",
                    (table,),
                )
            for table, cols in aliases.items():
                for column, title in cols.items():
                    con.execute(
                        "INSERT OR REPLACE INTO gpkg_data_columns (table_name, column_name, name, title) VALUES (?, ?, ?, ?)",
                        (table, column, title, title),
                    )
    except sqlite3.DatabaseError as exc:
        raise OutputError(f"Cannot write the field aliases into {path.name}: {exc}.") from exc
    finally:
        con.close()


# ------------------------------------------------------------------------------------------
# Shapefile


def shapefile_crs(records: Sequence[ProblemRecord], *, projected: bool, gk_zone: int = 0) -> CRS:
    """EPSG:4490, or the county's CGCS2000 3° GK zone without prefix (``gk_zone``, else from the
    longitude of the problems' centre)."""
    if not projected:
        return STORAGE_CRS
    if not gk_zone:
        geoms = [r.geometry for r in records if r.geometry is not None]
        if not geoms:
            raise CRSError(
                "Cannot choose the Gauss-Krüger zone: no problem has a geometry. Set [county] gk_zone in rules.toml."
            )
        minx, _, maxx, _ = shapely.total_bounds(np.array(geoms, dtype=object))
        gk_zone = gk3_zone_from_lon((minx + maxx) / 2)
    return working_crs(gk_zone)


def _encodable(text: str, codec: str) -> tuple[str, str]:
    """``text`` with the characters ``codec`` cannot encode replaced by ``?``, and those characters."""
    try:
        text.encode(codec)
        return text, ""
    except UnicodeEncodeError:
        pass
    lost = []
    out = []
    for ch in text:
        try:
            ch.encode(codec)
            out.append(ch)
        except UnicodeEncodeError:
            lost.append(ch)
            out.append("?")
    return "".join(out), "".join(dict.fromkeys(lost))


def _split_bytes(text: str, codec: str, limit: int = SHP_TEXT_BYTES) -> list[str]:
    """``text`` cut into pieces of at most ``limit`` bytes in ``codec``, never inside a character."""
    if len(text.encode(codec)) <= limit:
        return [text]
    pieces: list[str] = []
    cur: list[str] = []
    size = 0
    for ch in text:
        n = len(ch.encode(codec))
        if size + n > limit:
            pieces.append("".join(cur))
            cur, size = [], 0
        cur.append(ch)
        size += n
    pieces.append("".join(cur))
    return pieces


# Shapefile field declarations; the legend states the same.
SHP_MAX_PARTS = 4  # a text longer than 4 x 254 bytes is cut (with a notice)
_SHP_REAL = (15, 2)
_SHP_INT = (10, 0)


def _shp_columns(
    records: Sequence[ProblemRecord],
    table: pd.DataFrame,
    codec: str,
    notices: list[ExportNotice] | None,
) -> tuple[list[DbfField], list[list[Any]], list[tuple[str, str, str]]]:
    """DBF fields, their columns and legend rows (code, Chinese name, type text) for every
    exported field; texts longer than 254 bytes continue in ``CODE_2``, ``CODE_3`` ...."""
    fields: list[DbfField] = []
    columns: list[list[Any]] = []
    legend: list[tuple[str, str, str]] = []
    ids = [r.problem_id for r in records]

    def note(i: int, f: ExportField, message: str) -> None:
        if notices is not None:
            notices.append(ExportNotice("shapefile", ids[i], f.zh, message))

    for f in EXPORT_FIELDS:
        col = list(table[f.key])
        if f.kind == "real":
            fields.append(DbfField(f.code, "N", *_SHP_REAL))
            columns.append(col)
            legend.append((f.code, f.zh, f"数值 N({_SHP_REAL[0]},{_SHP_REAL[1]})，2位小数"))
            continue
        if f.kind == "int":
            fields.append(DbfField(f.code, "N", *_SHP_INT))
            columns.append(col)
            legend.append((f.code, f.zh, f"整数 N({_SHP_INT[0]},0)"))
            continue
        if f.kind == "date":
            fields.append(DbfField(f.code, "D", 8))
            columns.append([v if isinstance(v, date) else None for v in col])
            legend.append((f.code, f.zh, "日期 D(8)，YYYYMMDD，无日期时为空"))
            continue
        parts_per_row: list[list[str]] = []
        for i, v in enumerate(col):
            text = "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
            if codec == "gbk" and text:
                text, lost = _encodable(text.replace("m²", "平方米"), codec)
                if lost:
                    note(
                        i,
                        f,
                        f"characters not in GBK written as '?': {lost} "
                        "(export with --encoding UTF-8 to keep them)",
                    )
            parts = _split_bytes(text, codec)
            if len(parts) > SHP_MAX_PARTS:
                note(
                    i,
                    f,
                    f"text of {len(text.encode(codec))} bytes cut to {SHP_MAX_PARTS * SHP_TEXT_BYTES} "
                    f"({SHP_MAX_PARTS} fields of {SHP_TEXT_BYTES} bytes)",
                )
                parts = parts[:SHP_MAX_PARTS]
            parts_per_row.append(parts)
        n_parts = max((len(p) for p in parts_per_row), default=1)
        for k in range(n_parts):
            code = f.code if k == 0 else f"{f.code}_{k + 1}"
            piece = [p[k] if k < len(p) else "" for p in parts_per_row]
            width = max((len(x.encode(codec)) for x in piece), default=1) or 1
            fields.append(DbfField(code, "C", width))
            columns.append(piece)
            zh = f.zh if k == 0 else f"{f.zh}（续{k + 1}）"
            what = f"文本 C({width})" + (f"，接在 {f.code} 之后" if k else "")
            legend.append((code, zh, what))
    names = [f.name for f in fields]
    assert len(set(names)) == len(names) and all(len(n) <= 10 for n in names)
    return fields, columns, legend


def write_shapefile(
    records: Sequence[ProblemRecord],
    path: str | Path,
    *,
    today: date,
    encoding: str = "GBK",
    projected: bool = False,
    gk_zone: int = 0,
    notices: list[ExportNotice] | None = None,
) -> Path:
    """Write a shapefile with pinyin field names, a ``.cpg`` and a field legend beside it.

    ``encoding`` is ``GBK`` (``.cpg`` = ``936``, DBF language byte 0x4D, for ArcMap-era county
    systems) or ``UTF-8``. Every field of the GeoPackage export is written, declared as the
    legend states (areas N(15,2), counts N(10,0), dates D, blank when empty); a text longer than
    254 bytes continues in ``CODE_2``, ``CODE_3``, ... (cut after 4 fields). Characters GBK
    cannot hold become ``?`` and, like any cut, are reported in ``notices``. ``projected`` writes
    the county's Gauss-Krüger zone (``gk_zone``, else from the data's longitude) instead of
    EPSG:4490. Returns the ``.shp`` path; the legend is ``<name>_字段说明.txt`` (UTF-8 with BOM).
    """
    path = Path(path)
    if path.suffix.lower() != ".shp":
        path = path.with_suffix(".shp")
    enc = encoding.upper().replace("_", "-")
    if enc in ("UTF8", "UTF-8"):
        enc, cpg, codec = "UTF-8", "UTF-8", "utf-8"
    elif enc in ("GBK", "CP936", "936", "GB2312"):
        enc, cpg, codec = "GBK", "936", "gbk"
    else:
        raise OutputError(
            f"Cannot write {path.name} in encoding {encoding!r}: shapefiles are written as GBK (default) or UTF-8. Pass --encoding GBK or --encoding UTF-8."
        )
    _require_geometry(records, path.name)
    crs = shapefile_crs(records, projected=projected, gk_zone=gk_zone)
    table = problem_table(records, today=today)
    fields, columns, legend_rows = _shp_columns(records, table, codec, notices)
    kinds = set(table.geometry.geom_type)
    if "Point" in kinds and len(kinds) > 1:
        raise SchemaError(
            f"Cannot write {path.name}: a shapefile holds one geometry type; write the point problems "
            "(entered with a lon/lat) to their own shapefile (exports do: <name>_点位.shp)."
        )
    geometry_type = "Point" if kinds == {"Point"} else "MultiPolygon"
    shapes = gpd.GeoDataFrame(geometry=table.geometry.apply(_multi).values, crs=STORAGE_CRS)
    if not crs.equals(STORAGE_CRS):
        shapes = shapes.to_crs(crs)
    stem = path.stem
    legend = path.with_name(f"{stem}_字段说明.txt")
    with _staging(path) as tmp:
        shp = tmp / "export.shp"
        _pyogrio_write(shapes, shp, driver="ESRI Shapefile", geometry_type=geometry_type)
        write_dbf(tmp / "export.dbf", fields, columns, encoding=enc, today=today)
        (tmp / "export.cpg").write_text(cpg, encoding="ascii")
        (tmp / "legend.txt").write_text(_legend_text(legend_rows, enc, crs), encoding="utf-8-sig")
        for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
            if not (tmp / f"export{ext}").exists():
                raise OutputError(f"GDAL did not write the {ext} file of {path.name}.")
        for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
            _move_into_place(tmp / f"export{ext}", path.with_suffix(ext))
        _move_into_place(tmp / "legend.txt", legend)
    return path


def _legend_text(rows: Sequence[tuple[str, str, str]], enc: str, crs: CRS) -> str:
    lines = [
        "字段说明（shapefile 字段名为拼音首字母缩写，不超过10个字节）",
        f"文字编码：{'GBK（.cpg 为 936，DBF 语言标识 0x4D）' if enc == 'GBK' else 'UTF-8（.cpg 为 UTF-8）'}；"
        f"文本每个字段最多 {SHP_TEXT_BYTES} 个字节，更长的文本接续写在“字段名_2”“字段名_3”等字段中"
        f"（最多 {SHP_MAX_PARTS} 段，超出部分截断并在导出时提示）"
        + (
            "；GBK 中没有的字符以“?”代替并在导出时提示（需要保留时请用 UTF-8 导出）。"
            if enc == "GBK"
            else "。"
        ),
        f"坐标系：{crs.name}（EPSG:{crs.to_epsg() or '-'}）；面积为椭球面积。",
        "",
        "字段名\t中文名称\t类型",
    ]
    lines += [f"{code}\t{zh}\t{what}" for code, zh, what in rows]
    return "\r\n".join(lines) + "\r\n"


# ------------------------------------------------------------------------------------------
# GeoJSON and CSV


def write_geojson(
    records: Sequence[ProblemRecord], path: str | Path, *, today: date, epsg: int = 4490
) -> Path:
    """Write GeoJSON in EPSG:4490 (default, with a ``crs`` member) or EPSG:4326; 7 decimals."""
    path = Path(path)
    if epsg not in (4490, 4326):
        raise CRSError(
            f"GeoJSON export is in EPSG:4490 (CGCS2000) or EPSG:4326 (WGS 84), not EPSG:{epsg}. Pass --epsg 4490 or 4326."
        )
    _require_geometry(records, path.name)
    frame = problem_table(records, today=today)
    for f in EXPORT_FIELDS:
        if f.kind == "date":
            frame[f.key] = [d.isoformat() if d is not None else None for d in frame[f.key]]
    frame = frame.to_crs(epsg)
    with _staging(path) as tmp:
        out = tmp / "export.geojson"
        _pyogrio_write(
            frame,
            out,
            driver="GeoJSON",
            layer=path.stem,
            layer_options={"COORDINATE_PRECISION": "7", "RFC7946": "NO", "WRITE_NAME": "YES"},
        )
        _move_into_place(out, path)
    return path


# A text cell starting with one of these is a formula to Excel/WPS (OWASP "CSV injection").
CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_csv_cell(value: Any) -> Any:
    """A text value that Excel would evaluate, prefixed with ``'`` so that it stays text.

    >>> neutralise_csv_cell("=1+1"), neutralise_csv_cell("-2+3"), neutralise_csv_cell("张三")
    ("'=1+1", "'-2+3", '张三')
    """
    if isinstance(value, str) and value.startswith(CSV_FORMULA_START):
        return "'" + value
    return value


def write_csv(records: Sequence[ProblemRecord], path: str | Path, *, today: date) -> Path:
    """Write a CSV with Chinese headers in UTF-8 with BOM (Excel opens it without mojibake).

    Geometry is given as the centre point (中心经度 / 中心纬度, EPSG:4490, 7 decimals). A text
    cell starting with ``= + - @``, a tab or a CR is written with a leading ``'`` (OWASP's rule
    against CSV formula injection); numeric columns (areas, amounts, coordinates) stay numbers,
    negative ones included.
    """
    path = Path(path)
    frame = pd.DataFrame(problem_table(records, today=today).drop(columns="geometry"))
    for f in EXPORT_FIELDS:
        if f.kind == "date":
            frame[f.key] = [d.isoformat() if d is not None else "" for d in frame[f.key]]
    pts = [
        r.geometry.representative_point()
        if r.geometry is not None and not r.geometry.is_empty
        else record_geometry(r)  # a point problem: its own 经度/纬度
        for r in records
    ]
    frame["lon"] = [round(p.x, 7) if p is not None else None for p in pts]
    frame["lat"] = [round(p.y, 7) if p is not None else None for p in pts]
    for f in EXPORT_FIELDS:
        if f.kind in ("text", "date"):
            frame[f.key] = [neutralise_csv_cell(v) for v in frame[f.key]]
    headers = {f.key: f.zh for f in EXPORT_FIELDS} | {"lon": "中心经度", "lat": "中心纬度"}
    frame = frame.rename(columns=headers)
    with _staging(path) as tmp:
        out = tmp / "export.csv"
        try:
            frame.to_csv(out, index=False, encoding="utf-8-sig", lineterminator="\r\n")
        except OSError as exc:
            raise OutputError(f"Cannot write {path.name}: {exc}.") from exc
        _move_into_place(out, path)
    return path


# ------------------------------------------------------------------------------------------
# KML / KMZ


def kml_color(hex_rgb: str, alpha: int = 0xFF) -> str:
    """KML colour ``aabbggrr`` from ``#RRGGBB``.

    >>> kml_color("#FF8C00", 0x80)
    '80008cff'
    """
    h = hex_rgb.lstrip("#")
    rr, gg, bb = h[0:2], h[2:4], h[4:6]
    return f"{alpha:02x}{bb}{gg}{rr}".lower()


_KML_DESCRIPTION = (
    "problem_id",
    "parcel_ids",
    "township_name",
    "village_name",
    "batches",
    "problem_type",
    "status",
    "measure",
    "deadline",
    "responsible_unit",
    "responsible_person",
    "parcel_area_mu",
    "farmland_mu",
    "pbf_mu",
    "illegal_farmland_mu",
    "illegal_pbf_mu",
    "overdue",
    "alerts",
)


_STATUS_MEANING = {
    "未核查": "已下发、尚未核查认定的图斑",
    "未整改": "已认定违法、尚未开始整改",
    "整改中": "正在整改",
    "待验收": "整改完成、等待验收",
    "已销号": "验收合格、已销号",
    "反弹": "销号或认定合法后在新批次中再次发现",
    "退回": "被上级退回、需重新处理",
    "一事一议": "按“一事一议”等待决定",
    "转日常执法": "不属于“大棚房”问题，转日常执法",
    "合法": "核查认定合法（如已批准用地）",
    "其他": "核查认定为其他（如设施农用地，非新增建设）",
}

# Characters XML 1.0 cannot carry, even as character references (C0 controls but tab, LF, CR;
# lone surrogates; U+FFFE/U+FFFF). They are dropped from KML text and each drop is reported.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _style_id(status: str) -> str:
    return "status-" + Status(status).name.lower()


def _ring(coords: np.ndarray) -> str:
    xy = coords[:, :2]
    return " ".join(["%.7f,%.7f"] * len(xy)) % tuple(xy.ravel().tolist())


def _kml_polygon(out: list[str], poly: Any) -> None:
    """A ``<Polygon>``; ``poly`` is already oriented (outer ring counter-clockwise, holes clockwise
    as the KML 2.2 reference asks)."""
    out.append("<Polygon><outerBoundaryIs><LinearRing><coordinates>")
    out.append(_ring(shapely.get_coordinates(poly.exterior)))
    out.append("</coordinates></LinearRing></outerBoundaryIs>")
    for hole in poly.interiors:
        out.append("<innerBoundaryIs><LinearRing><coordinates>")
        out.append(_ring(shapely.get_coordinates(hole)))
        out.append("</coordinates></LinearRing></innerBoundaryIs>")
    out.append("</Polygon>")


def _text(v: Any) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, float):
        return f"{v:.2f}"
    if isinstance(v, date):
        return v.isoformat()
    return str(v)


def _description(values: dict[str, str]) -> str:
    """The Chinese description table (``values`` already XML-escaped). Each row is one line and
    each header ends with a colon, so a reader that shows descriptions as plain text (tags
    dropped) still reads "名称：值" lines."""
    rows = [
        f"<tr><th>{_KML_HEAD[key]}：</th><td>{values[key]}</td></tr>" for key in _KML_DESCRIPTION
    ]
    return '<table border="1" cellpadding="2">\n' + "\n".join(rows) + "\n</table>"


_KML_HEAD = {k: escape(FIELD_BY_KEY[k].zh) for k in _KML_DESCRIPTION}


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


ProgressCallback = Callable[[int, int], None]


def kml_document(
    records: Sequence[ProblemRecord],
    *,
    today: date,
    folders: str = "status",
    name: str = "",
    progress: ProgressCallback | None = None,
    notices: list[ExportNotice] | None = None,
) -> bytes:
    """The KML document (UTF-8 bytes) for ``records``: styles per status, folders per
    ``status`` or ``township``, the top level saying what each folder holds.

    Written in one pass (time linear in the number of problems). Each Placemark has
    ``<Snippet maxLines="0">`` (lists show the 监测编号, not the table), the description table and
    the same fields as plain ``ExtendedData``. Characters XML cannot carry (control characters)
    are dropped and reported in ``notices``. ``progress(done, total)`` is called as placemarks
    are written.
    """
    from parcelwatch.labels import STATUS_STYLE

    if folders not in ("status", "township"):
        raise OutputError(f"KML folders are by 'status' or 'township', not {folders!r}.")
    _require_geometry(records, "KML")
    total = len(records)
    table = problem_table(records, today=today)
    geoms = shapely.orient_polygons(
        np.asarray(table.geometry.to_crs(4326).values, dtype=object), exterior_cw=False
    )
    keys = list(dict.fromkeys(("parcel_id", *_KML_DESCRIPTION)))
    cols = {k: [_text(v) for v in table[k]] for k in keys}
    for k, column in cols.items():
        for i, v in enumerate(column):
            if _XML_ILLEGAL.search(v):
                column[i] = _XML_ILLEGAL.sub("", v)
                if notices is not None:
                    notices.append(
                        ExportNotice(
                            "KML",
                            records[i].problem_id,
                            FIELD_BY_KEY[k].zh,
                            "control characters removed (XML cannot carry them)",
                        )
                    )
    esc = {k: [escape(x) for x in column] for k, column in cols.items()}
    groups: dict[str, list[int]] = {}
    for i in range(total):
        key = (
            cols["status"][i] if folders == "status" else (cols["township_name"][i] or "(未知乡镇)")
        )
        groups.setdefault(key, []).append(i)
    order = (
        [s.value for s in Status if s.value in groups] if folders == "status" else sorted(groups)
    )
    if folders == "status":
        intro = "本文件按整改状态分文件夹，括号内为图斑数：\n" + "\n".join(
            f"{k}（{len(groups[k])}）：{_STATUS_MEANING.get(k, '')}" for k in order
        )
    else:
        intro = (
            "本文件按乡镇分文件夹，每个文件夹是一个乡镇的问题图斑，括号内为图斑数：\n"
            + "\n".join(f"{k}（{len(groups[k])}）" for k in order)
        )
    intro += "\n图斑颜色表示整改状态（与作战图相同）；点击图斑查看详情。"
    out: list[str] = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<kml xmlns="{_KML_NS}">\n<Document>\n',
        f"<name>{escape(_XML_ILLEGAL.sub('', name or '问题图斑'), quote=False)}</name>\n",
        "<open>1</open>\n",
        f"<description>{escape(intro, quote=False)}</description>\n",
    ]
    for status in Status:
        st = STATUS_STYLE.get(status.value, {"color": "#808080", "stroke": "#404040"})
        out.append(
            f'<Style id="{_style_id(status.value)}"><LineStyle><color>{kml_color(st["stroke"])}</color>'
            f"<width>2</width></LineStyle><PolyStyle><color>{kml_color(st['color'], 0x80)}</color>"
            "</PolyStyle></Style>\n"
        )
    done = 0
    step = max(1, min(500, total // 20 or 1))
    for key in order:
        label = escape(_XML_ILLEGAL.sub("", key), quote=False)
        meaning = _STATUS_MEANING.get(key, "") if folders == "status" else f"{label}的问题图斑"
        out.append(
            f"<Folder>\n<name>{label}（{len(groups[key])}）</name>\n"
            f"<description>{escape(meaning, quote=False)}</description>\n"
        )
        for i in groups[key]:
            row = {k: esc[k][i] for k in keys}
            pid = row["problem_id"]
            out.append(
                f'<Placemark id="problem-{pid}">\n'
                f"<name>{row['parcel_id'] or pid}</name>\n"
                '<Snippet maxLines="0"></Snippet>\n'
                f"<description>{_cdata(_description(row))}</description>\n"
                f"<styleUrl>#{_style_id(row['status'])}</styleUrl>\n<ExtendedData>"
            )
            for k in _KML_DESCRIPTION:
                out.append(
                    f'<Data name="{k}"><displayName>{_KML_HEAD[k]}</displayName>'
                    f"<value>{row[k]}</value></Data>"
                )
            out.append("</ExtendedData>\n")
            polys = list(shapely.get_parts(geoms[i])) if geoms[i] is not None else []
            if len(polys) == 1 and polys[0].geom_type == "Point":  # a point problem: a pin
                out.append(
                    f"<Point><coordinates>{polys[0].x:.7f},{polys[0].y:.7f}</coordinates></Point>"
                )
            elif len(polys) == 1:
                _kml_polygon(out, polys[0])
            else:
                out.append("<MultiGeometry>")
                for p in polys:
                    _kml_polygon(out, p)
                out.append("</MultiGeometry>")
            out.append("\n</Placemark>\n")
            done += 1
            if progress is not None and (done % step == 0 or done == total):
                progress(done, total)
        out.append("</Folder>\n")
    out.append("</Document>\n</kml>\n")
    if progress is not None and total == 0:
        progress(0, 0)
    return "".join(out).encode("utf-8")


def write_kml(
    records: Sequence[ProblemRecord],
    path: str | Path,
    *,
    today: date,
    folders: str = "status",
    name: str = "",
    progress: ProgressCallback | None = None,
    notices: list[ExportNotice] | None = None,
) -> Path:
    """Write a KML file for Google Earth / 奥维互动地图 (coordinates lon,lat EPSG:4326, 7 dp).

    ``progress`` and ``notices``: see :func:`kml_document`.
    """
    path = Path(path)
    data = kml_document(
        records, today=today, folders=folders, name=name, progress=progress, notices=notices
    )
    with _staging(path) as tmp:
        out = tmp / "doc.kml"
        out.write_bytes(data)
        _move_into_place(out, path)
    return path


def write_kmz(
    records: Sequence[ProblemRecord],
    path: str | Path,
    *,
    today: date,
    folders: str = "status",
    name: str = "",
    progress: ProgressCallback | None = None,
    notices: list[ExportNotice] | None = None,
) -> Path:
    """Write a KMZ: a zip holding a single ``doc.kml`` (see :func:`kml_document`)."""
    path = Path(path)
    data = kml_document(
        records, today=today, folders=folders, name=name, progress=progress, notices=notices
    )
    with _staging(path) as tmp:
        out = tmp / "export.kmz"
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("doc.kml", data)
        _move_into_place(out, path)
    return path


__all__ += ["ExportNotice", "ProgressCallback", "events_frame", "findings_frame", "kml_document"]
