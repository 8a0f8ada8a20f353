"""Vector exports of the ledger for county review: GeoPackage, shapefile, GeoJSON, CSV, KML, KMZ.

Every writer takes the problems to export (ledger records with geometry, chosen with
:func:`select_problems`), writes to a temporary name beside the target and renames it into place,
so a failed export leaves nothing half-written. Columns come from
:data:`parcelwatch.exports.fields.EXPORT_FIELDS` (one table for every format).

* GeoPackage: layers ``problems`` (EPSG:4490), ``findings`` and ``events``; Chinese aliases in
  ``gpkg_data_columns`` (the GeoPackage schema extension), which QGIS shows as field aliases.
* Shapefile: GBK with a ``.cpg`` of ``936`` (UTF-8 on request), ASCII pinyin field names of at
  most 10 bytes, a legend ``<name>_字段说明.txt`` (UTF-8 with BOM) giving each field's Chinese name,
  and a CGCS2000 ``.prj`` (geographic EPSG:4490, or the county's 3° Gauss-Krüger zone).
* GeoJSON (EPSG:4490, or 4326 on request) and CSV (UTF-8 with BOM, Chinese headers).
* KML / KMZ written with :mod:`xml.etree`: one shared style per status, a folder per status or
  township, Placemark name = 监测编号, a Chinese description table; a KMZ holds one ``doc.kml``.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from html import escape
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio
import shapely
from pyproj import CRS

from parcelwatch.crs import STORAGE_CRS, ellipsoidal_area_m2, gk3_zone_from_lon, working_crs
from parcelwatch.errors import CRSError, OutputError, SchemaError
from parcelwatch.exports.fields import EXPORT_FIELDS, FIELD_BY_KEY, problem_table
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
        if key in ("none", "无"):
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
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=target.parent))
    except OSError as exc:
        raise OutputError(
            f"Cannot write {target}: {exc}. Check the folder exists and is writable, or choose another with -o."
        ) from exc
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _move_into_place(src: Path, dst: Path) -> None:
    try:
        os.replace(src, dst)
    except OSError as exc:
        raise OutputError(
            f"Cannot write {dst}: {exc}. Close the file if another program (QGIS, Excel, ArcMap) has it open, then try again."
        ) from exc


def _pyogrio_write(frame: Any, path: Path, **kwargs: Any) -> None:
    try:
        pyogrio.write_dataframe(frame, path, use_arrow=True, **kwargs)
    except Exception as exc:  # pyogrio/GDAL errors have no common base class
        raise OutputError(
            f"GDAL could not write {path.name} ({kwargs.get('driver', '')}, layer {kwargs.get('layer', '-')}): {exc}. "
            "Check the disk has room and the folder is writable."
        ) from exc


def _require_geometry(records: Sequence[ProblemRecord], what: str) -> None:
    missing = [r.problem_id for r in records if r.geometry is None]
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


def write_gpkg(
    records: Sequence[ProblemRecord],
    path: str | Path,
    *,
    today: date,
    events: Sequence[Event] = (),
    findings: gpd.GeoDataFrame | None = None,
) -> Path:
    """Write layers ``problems``, ``findings`` (when given) and ``events`` with Chinese aliases.

    Aliases are rows of ``gpkg_data_columns`` (name and title = the Chinese name), registered with
    the ``gpkg_schema`` extension as the GeoPackage standard requires; QGIS shows them.
    """
    path = Path(path)
    _require_geometry(records, path.name)
    ids = {r.problem_id for r in records}
    problems = _as_dates(problem_table(records, today=today))
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
        _move_into_place(out, path)
    return path


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


def _fit_text(value: Any, encoding: str, limit: int = SHP_TEXT_BYTES) -> Any:
    """Text representable in ``encoding`` (unencodable characters become ``?``) within ``limit`` bytes."""
    if not isinstance(value, str):
        return value
    raw = value.encode(encoding, errors="replace")
    if len(raw) <= limit:
        return raw.decode(encoding)
    return raw[:limit].decode(encoding, errors="ignore")


def write_shapefile(
    records: Sequence[ProblemRecord],
    path: str | Path,
    *,
    today: date,
    encoding: str = "GBK",
    projected: bool = False,
    gk_zone: int = 0,
) -> Path:
    """Write a shapefile with pinyin field names, a ``.cpg`` and a field legend beside it.

    ``encoding`` is ``GBK`` (``.cpg`` = ``936``, for ArcMap-era county systems) or ``UTF-8``.
    Text values are cut to 254 bytes in that encoding. ``projected`` writes the county's
    Gauss-Krüger zone (``gk_zone``, else from the data's longitude) instead of EPSG:4490.
    Returns the ``.shp`` path; the legend is ``<name>_字段说明.txt`` (UTF-8 with BOM).
    """
    path = Path(path)
    if path.suffix.lower() != ".shp":
        path = path.with_suffix(".shp")
    enc = encoding.upper().replace("_", "-")
    if enc in ("UTF8", "UTF-8"):
        enc, cpg = "UTF-8", "UTF-8"
    elif enc in ("GBK", "CP936", "936", "GB2312"):
        enc, cpg = "GBK", "936"
    else:
        raise OutputError(
            f"Cannot write {path.name} in encoding {encoding!r}: shapefiles are written as GBK (default) or UTF-8. Pass --encoding GBK or --encoding UTF-8."
        )
    _require_geometry(records, path.name)
    crs = shapefile_crs(records, projected=projected, gk_zone=gk_zone)
    fields = [f for f in EXPORT_FIELDS if f.shp]
    table = _as_dates(problem_table(records, today=today))
    data = {}
    for f in fields:
        col = table[f.key]
        data[f.code] = col.map(lambda v: _fit_text(v, enc)) if f.kind == "text" else col
    frame = gpd.GeoDataFrame(data, geometry=table.geometry.apply(_multi).values, crs=STORAGE_CRS)
    if not crs.equals(STORAGE_CRS):
        frame = frame.to_crs(crs)
    stem = path.stem
    legend = path.with_name(f"{stem}_字段说明.txt")
    with _staging(path) as tmp:
        shp = tmp / "export.shp"
        _pyogrio_write(
            frame,
            shp,
            driver="ESRI Shapefile",
            encoding=enc,
            geometry_type="MultiPolygon",
        )
        (tmp / "export.cpg").write_text(cpg, encoding="ascii")
        (tmp / "legend.txt").write_text(_legend_text(fields, enc, crs), encoding="utf-8-sig")
        for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
            if not (tmp / f"export{ext}").exists():
                raise OutputError(f"GDAL did not write the {ext} file of {path.name}.")
        for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
            _move_into_place(tmp / f"export{ext}", path.with_suffix(ext))
        _move_into_place(tmp / "legend.txt", legend)
    return path


def _legend_text(fields: Sequence[Any], enc: str, crs: CRS) -> str:
    kinds = {"text": "文本", "real": "数值(2位小数)", "int": "整数", "date": "日期"}
    lines = [
        "字段说明（shapefile 字段名为拼音首字母缩写，不超过10个字节）",
        f"文字编码：{'GBK（.cpg 为 936）' if enc == 'GBK' else 'UTF-8（.cpg 为 UTF-8）'}；"
        f"文本值超过 {SHP_TEXT_BYTES} 个字节的部分已截断，编码中没有的字符以“?”代替。",
        f"坐标系：{crs.name}（EPSG:{crs.to_epsg() or '-'}）；面积为椭球面积。",
        "",
        "字段名\t中文名称\t类型",
    ]
    lines += [f"{f.code}\t{f.zh}\t{kinds[f.kind]}" for f in fields]
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
        else None
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


def _style_id(status: str) -> str:
    return "status-" + Status(status).name.lower()


def _coords(ring: Any) -> str:
    return " ".join(f"{x:.7f},{y:.7f}" for x, y in np.asarray(ring.coords)[:, :2])


def _kml_polygon(parent: ET.Element, poly: Any) -> None:
    p = ET.SubElement(parent, "Polygon")
    ET.SubElement(
        ET.SubElement(ET.SubElement(p, "outerBoundaryIs"), "LinearRing"), "coordinates"
    ).text = _coords(poly.exterior)
    for hole in poly.interiors:
        ET.SubElement(
            ET.SubElement(ET.SubElement(p, "innerBoundaryIs"), "LinearRing"), "coordinates"
        ).text = _coords(hole)


def _description(values: dict[str, Any]) -> str:
    rows = []
    for key in _KML_DESCRIPTION:
        v = values.get(key)
        if v is None or (isinstance(v, float) and np.isnan(v)):
            text = ""
        elif isinstance(v, float):
            text = f"{v:.2f}"
        elif isinstance(v, date):
            text = v.isoformat()
        else:
            text = str(v)
        rows.append(f"<tr><th>{escape(FIELD_BY_KEY[key].zh)}</th><td>{escape(text)}</td></tr>")
    return '<table border="1" cellpadding="2">' + "".join(rows) + "</table>"


def kml_document(
    records: Sequence[ProblemRecord], *, today: date, folders: str = "status", name: str = ""
) -> bytes:
    """The KML document (UTF-8 bytes) for ``records``: styles per status, folders per
    ``status`` or ``township``."""
    from parcelwatch.maps.battle_map import STATUS_STYLE

    if folders not in ("status", "township"):
        raise OutputError(f"KML folders are by 'status' or 'township', not {folders!r}.")
    _require_geometry(records, "KML")
    table = problem_table(records, today=today)
    lonlat = table.geometry.to_crs(4326)
    ET.register_namespace("", _KML_NS)
    kml = ET.Element("kml", xmlns=_KML_NS)
    doc = ET.SubElement(kml, "Document")
    ET.SubElement(doc, "name").text = name or "问题图斑"
    for status in Status:
        st = STATUS_STYLE.get(status.value, {"color": "#808080", "stroke": "#404040"})
        style = ET.SubElement(doc, "Style", id=_style_id(status.value))
        line = ET.SubElement(style, "LineStyle")
        ET.SubElement(line, "color").text = kml_color(st["stroke"])
        ET.SubElement(line, "width").text = "2"
        poly = ET.SubElement(style, "PolyStyle")
        ET.SubElement(poly, "color").text = kml_color(st["color"], 0x80)
    values = table.drop(columns="geometry").to_dict("records")
    groups: dict[str, list[int]] = {}
    for i, v in enumerate(values):
        key = v["status"] if folders == "status" else (v["township_name"] or "(未知乡镇)")
        groups.setdefault(key, []).append(i)
    order = (
        [s.value for s in Status if s.value in groups] if folders == "status" else sorted(groups)
    )
    cdata: list[str] = []
    for key in order:
        folder = ET.SubElement(doc, "Folder")
        ET.SubElement(folder, "name").text = f"{key}（{len(groups[key])}）"
        for i in groups[key]:
            v = values[i]
            pm = ET.SubElement(folder, "Placemark", id="problem-" + v["problem_id"])
            ET.SubElement(pm, "name").text = v["parcel_id"] or v["problem_id"]
            ET.SubElement(pm, "description").text = f"\x00CDATA{len(cdata)}\x00"
            cdata.append(_description(v))
            ET.SubElement(pm, "styleUrl").text = "#" + _style_id(v["status"])
            ext = ET.SubElement(pm, "ExtendedData")
            for k in ("problem_id", "status", "township_name", "parcel_area_mu"):
                d = ET.SubElement(ext, "Data", name=k)
                ET.SubElement(d, "displayName").text = FIELD_BY_KEY[k].zh
                val = v[k]
                ET.SubElement(d, "value").text = (
                    f"{val:.2f}" if isinstance(val, float) else str(val or "")
                )
            geom = lonlat.iloc[i]
            polys = list(shapely.get_parts(geom)) if geom is not None else []
            if len(polys) == 1:
                _kml_polygon(pm, polys[0])
            else:
                mg = ET.SubElement(pm, "MultiGeometry")
                for p in polys:
                    _kml_polygon(mg, p)
    ET.indent(kml, space=" ")
    text = ET.tostring(kml, encoding="unicode", xml_declaration=False)
    for n, html in enumerate(cdata):
        safe = html.replace("]]>", "]]]]><![CDATA[>")
        text = text.replace(f"\x00CDATA{n}\x00", f"<![CDATA[{safe}]]>", 1)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n").encode("utf-8")


def write_kml(
    records: Sequence[ProblemRecord],
    path: str | Path,
    *,
    today: date,
    folders: str = "status",
    name: str = "",
) -> Path:
    """Write a KML file for Google Earth / 奥维互动地图 (coordinates lon,lat EPSG:4326, 7 dp)."""
    path = Path(path)
    data = kml_document(records, today=today, folders=folders, name=name)
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
) -> Path:
    """Write a KMZ: a zip holding a single ``doc.kml``."""
    path = Path(path)
    data = kml_document(records, today=today, folders=folders, name=name)
    with _staging(path) as tmp:
        out = tmp / "export.kmz"
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("doc.kml", data)
        _move_into_place(out, path)
    return path


__all__ += ["events_frame", "findings_frame", "kml_document"]
