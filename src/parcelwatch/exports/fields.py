"""The exported problem table: one field list shared by every format.

Each :class:`ExportField` has an English key (GeoPackage, GeoJSON column), an ASCII pinyin code
of at most 10 bytes (shapefile DBF field name, national conventions such as JCBH, XZQDM, ZGZT),
the Chinese name users read (GeoPackage alias, CSV header, KML description, shapefile legend)
and a kind (``text``, ``real``, ``int``, ``date``). :func:`problem_table` turns ledger records into
a GeoDataFrame with these columns (areas in 亩 and m², 2 decimals; ids as text).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import geopandas as gpd
import shapely

from parcelwatch.crs import STORAGE_CRS
from parcelwatch.ledger.figures import half_up, mu_value
from parcelwatch.ledger.model import ProblemRecord, class_label, is_overdue

__all__ = [
    "ExportField",
    "EXPORT_FIELDS",
    "FIELD_BY_KEY",
    "problem_table",
    "record_geometry",
    "record_values",
]


@dataclass(frozen=True)
class ExportField:
    """One exported column: English key, shapefile code (ASCII, <= 10 bytes), Chinese name, kind."""

    key: str
    code: str
    zh: str
    kind: str  # text | real | int | date
    shp: bool = True  # written to the shapefile (every field is; long texts continue in CODE_2 ...)


def _f(key: str, code: str, zh: str, kind: str = "text", shp: bool = True) -> ExportField:
    return ExportField(key, code, zh, kind, shp)


EXPORT_FIELDS: tuple[ExportField, ...] = (
    _f("parcel_id", "JCBH", "监测编号"),
    _f("problem_id", "WTBH", "问题编号"),
    _f("parcel_ids", "QBJCBH", "全部监测编号"),
    _f("county_code", "XJDM", "县级代码"),
    _f("county_name", "XJMC", "县(市、区)"),
    _f("township_code", "XZQDM", "乡镇代码"),
    _f("township_name", "XZQMC", "乡镇名称"),
    _f("village_code", "CDM", "村代码"),
    _f("village_name", "CMC", "村名称"),
    _f("batches", "PC", "批次"),
    _f("candidate_class", "YSLX", "疑似类别"),
    _f("confirmed_class", "RDLX", "认定类别"),
    _f("problem_type", "WTLX", "问题类型"),
    _f("judgement", "HCJL", "核查结论"),
    _f("judgement_type", "JLLX", "核查结论类型"),
    _f("status", "ZGZT", "整改状态"),
    _f("measure", "ZGCS", "整改措施"),
    _f("deadline", "ZGSX", "整改时限", "date"),
    _f("verify_due", "HCQX", "核查期限", "date"),
    _f("responsible_unit", "ZRDW", "责任单位"),
    _f("responsible_person", "ZRR", "责任人"),
    _f("decision_ref", "JDWH", "决定文号"),
    _f("parcel_area_mu", "TBMJ", "图斑面积(亩)", "real"),
    _f("parcel_area_m2", "TBMJM2", "图斑面积(平方米)", "real"),
    _f("farmland_mu", "GDMJ", "耕地面积(亩)", "real"),
    _f("pbf_mu", "YNMJ", "永农面积(亩)", "real"),
    _f("illegal_farmland_mu", "WFGD", "违法占用耕地(亩)", "real"),
    _f("illegal_farmland_m2", "WFGDM2", "违法占用耕地(平方米)", "real"),
    _f("illegal_pbf_mu", "WFYN", "违法占用永农(亩)", "real"),
    _f("illegal_pbf_m2", "WFYNM2", "违法占用永农(平方米)", "real"),
    _f("remaining_mu", "SYMJ", "剩余未整改(亩)", "real"),
    _f("overdue", "YQ", "是否逾期"),
    _f("alerts", "JS", "警示"),
    _f("project_name", "XMMC", "项目名称"),
    _f("owner_name", "JSZT", "建设主体"),
    _f("acceptance_result", "YSJG", "验收结果"),
    _f("acceptance_date", "YSRQ", "验收日期", "date"),
    _f("rebound_count", "FTCS", "反弹次数", "int"),
    _f("closed_at", "XHSJ", "销号时间"),
    _f("candidate_reasons", "YSYJ", "疑似依据"),
    _f("notes", "BZ", "备注"),
    # SEED-SYSTEMS 0.P1: where a problem came from (卫片, 巡查, 巡察, 举报 ...)
    _f("source", "WTLY", "问题来源"),
    _f("source_ref", "LYBH", "来源编号"),
    _f("found_on", "FXRQ", "发现日期", "date"),
    _f("place_text", "WZMS", "位置描述"),
)
FIELD_BY_KEY: dict[str, ExportField] = {f.key: f for f in EXPORT_FIELDS}

assert all(len(f.code.encode("ascii")) <= 10 for f in EXPORT_FIELDS)
assert len({f.code for f in EXPORT_FIELDS}) == len(EXPORT_FIELDS)


def _mu(m2: float | None) -> float | None:
    """亩, rounded half-up to 2 decimals (one rounding rule: parcelwatch.ledger.figures)."""
    return mu_value(m2)


def _m2(m2: float | None) -> float | None:
    return None if m2 is None else float(half_up(float(m2)))


def record_values(rec: ProblemRecord, *, today: date) -> dict[str, Any]:
    """The exported values of one problem, by :data:`EXPORT_FIELDS` key (no geometry)."""
    return {
        "parcel_id": rec.parcel_ids[0] if rec.parcel_ids else "",
        "problem_id": rec.problem_id,
        "parcel_ids": "、".join(rec.parcel_ids),
        "county_code": rec.county_code,
        "county_name": rec.county_name,
        "township_code": rec.township_code,
        "township_name": rec.township_name,
        "village_code": rec.village_code,
        "village_name": rec.village_name,
        "batches": "、".join(rec.batches),
        "candidate_class": class_label(rec.candidate_class or "none"),
        "confirmed_class": class_label(rec.confirmed_class),
        "problem_type": rec.display_class,
        "judgement": rec.judgement,
        "judgement_type": rec.judgement_type,
        "status": rec.status.value,
        "measure": rec.measure,
        "deadline": rec.deadline,
        "verify_due": rec.verify_due,
        "responsible_unit": rec.responsible_unit,
        "responsible_person": rec.responsible_person,
        "decision_ref": rec.decision_ref,
        "parcel_area_mu": _mu(rec.parcel_area_m2),
        "parcel_area_m2": _m2(rec.parcel_area_m2),
        "farmland_mu": _mu(rec.farmland_m2),
        "pbf_mu": _mu(rec.pbf_m2),
        "illegal_farmland_mu": _mu(rec.illegal_farmland_m2),
        "illegal_farmland_m2": _m2(rec.illegal_farmland_m2),
        # blank (not 0) when no 永农 layer was given: not checked
        "illegal_pbf_mu": _mu(rec.illegal_pbf_m2) if rec.pbf_m2 is not None else None,
        "illegal_pbf_m2": _m2(rec.illegal_pbf_m2),
        "remaining_mu": _mu(rec.remaining_unrectified_m2),
        "overdue": "是" if is_overdue(rec, today) else "否",
        "alerts": rec.alerts,
        "project_name": rec.project_name,
        "owner_name": rec.owner_name,
        "acceptance_result": rec.acceptance_result,
        "acceptance_date": rec.acceptance_date,
        "rebound_count": int(rec.rebound_count),
        "closed_at": rec.closed_at,
        "candidate_reasons": rec.candidate_reasons,
        "notes": rec.notes,
        "source": rec.source or "卫片",
        "source_ref": rec.source_ref,
        "found_on": rec.found_on,
        "place_text": rec.place_text,
    }


def record_geometry(rec: ProblemRecord) -> Any:
    """The polygon of a problem, else the point of one entered with a lon/lat (SEED-SYSTEMS 0.P1:
    经度/纬度 and no polygon), else ``None``."""
    if rec.geometry is not None or rec.lon is None or rec.lat is None:
        return rec.geometry
    return shapely.Point(float(rec.lon), float(rec.lat))


def problem_table(records: Sequence[ProblemRecord], *, today: date) -> gpd.GeoDataFrame:
    """Problems as a GeoDataFrame (EPSG:4490) with one column per :data:`EXPORT_FIELDS` key; a
    point problem's geometry is its point (:func:`record_geometry`)."""
    rows = [record_values(r, today=today) for r in records]
    data = {f.key: [row[f.key] for row in rows] for f in EXPORT_FIELDS}
    frame = gpd.GeoDataFrame(
        data, geometry=gpd.GeoSeries([record_geometry(r) for r in records], crs=STORAGE_CRS)
    )
    for f in EXPORT_FIELDS:
        if f.kind == "real":
            frame[f.key] = frame[f.key].astype("float64")
        elif f.kind == "int":
            frame[f.key] = frame[f.key].astype("int64")
        elif f.kind == "text":
            frame[f.key] = frame[f.key].astype(object)
    return frame
