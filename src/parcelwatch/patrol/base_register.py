"""A village's base register (巡查台账底册, SEED-SYSTEMS §B.6; seed 004 四 "提供...巡查台账底册").

``patrol base-register WS --village V`` writes a folder with

* ``{V}底册.xlsx``: sheet 问题台账 (the village's open land-ledger problems: every status but
  已销号, 合法 and 其他), sheet 两违案件 (its open 两违 cases: not 不属实 and not 已销号; 当事人
  masked as 姓 + 某) and sheet 巡查目录 (the catalogue with each item's points, "未填写" when the
  town has not set them);
* ``{V}底册.kmz``: the same problems (the ledger's KML, folders by status) plus a folder 两违案件
  with the cases' polygons or points, for the patrollers' phones (奥维, Google Earth).

Pure builders: the caller selects nothing but the village; no clock (``today`` is passed).
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping, Sequence
from datetime import date
from html import escape
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry.polygon import orient

from parcelwatch.atomic import atomic_path
from parcelwatch.exports.forms import form_workbook as _workbook
from parcelwatch.exports.forms import print_setup as _print_setup
from parcelwatch.exports.forms import write_title as _title
from parcelwatch.exports.layers import kml_document
from parcelwatch.ledger.model import ProblemRecord, Status
from parcelwatch.patrol.scheme import Scheme
from parcelwatch.units import m2_to_mu
from parcelwatch.violations.blacklist import mask_name

__all__ = [
    "CLOSED_PROBLEM",
    "CLOSED_CASE",
    "village_problems",
    "village_cases",
    "write_base_register",
]

CLOSED_PROBLEM = (Status.CLOSED, Status.LEGAL, Status.OTHER)
CLOSED_CASE = ("不属实", "已销号")


def _is_village(name: str, village: str, scheme: Scheme) -> bool:
    return bool(name) and (name == village or scheme.village_name(name) == village)


def village_problems(records: Sequence[ProblemRecord], village: str, scheme: Scheme) -> list[ProblemRecord]:  # fmt: skip
    """The village's open ledger problems (by village name; 马塘 and 马塘村 are the same)."""
    return [
        r
        for r in records
        if r.status not in CLOSED_PROBLEM and _is_village(r.village_name, village, scheme)
    ]


def village_cases(cases: Sequence[Mapping[str, Any]], village: str, scheme: Scheme) -> list[Mapping[str, Any]]:  # fmt: skip
    """The village's open 两违 cases."""
    return [
        c
        for c in cases
        if c.get("status") not in CLOSED_CASE
        and _is_village(c.get("village_name") or "", village, scheme)
    ]


def _mu(m2: float | None) -> float | None:
    return None if m2 is None else round(float(m2_to_mu(m2)), 2)


def _sheet(wb: Any, fm: Any, name: str, title: str, info: str, heads: Sequence[str],
           widths: Sequence[float], rows: Sequence[Sequence[Any]]) -> None:  # fmt: skip
    ws = wb.add_worksheet(name)
    _title(ws, fm, title, info, len(heads) - 1)
    for j, (h, w) in enumerate(zip(heads, widths, strict=True)):
        ws.write_string(2, j, h, fm.head)
        ws.set_column(j, j, w)
    for i, values in enumerate(rows, start=3):
        for j, v in enumerate(values):
            if v is None or v == "":
                ws.write_blank(i, j, None, fm.text)
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                ws.write_number(i, j, v, fm.int if isinstance(v, int) else fm.num2)
            else:
                ws.write_string(i, j, str(v), fm.text)
    _print_setup(ws, header_first=2, header_last=2, widths=[float(w) for w in widths], freeze_col=2)


PROBLEM_HEADS = ["序号", "问题编号", "状态", "问题来源", "乡镇", "村(居)", "位置描述", "图斑面积(亩)", "耕地(亩)",
                 "发现日期", "整改期限", "经度", "纬度"]  # fmt: skip
CASE_HEADS = ["序号", "案件编号", "状态", "当事人", "地点", "违法类型", "建筑面积(㎡)", "占地面积(㎡)", "增量/存量",
              "发现时间", "发现途径", "挂牌督办"]  # fmt: skip
CATALOGUE_HEADS = ["序号", "编号", "巡查目录事项", "牵头部门", "对应分值"]


def _num(v: Any) -> float | None:
    return None if v in (None, "") else float(v)


def _case_kind(c: Mapping[str, Any]) -> str:
    return "、".join(
        k
        for k, f in (("违法占地", "illegal_land"), ("违法建设", "illegal_building"))
        if c.get(f) == "是"
    )


def _case_placemarks(cases: Sequence[Mapping[str, Any]]) -> str:
    out = ["<Folder>\n<name>两违案件</name>\n"]
    for c in cases:
        wkt = c.get("geom_wkt")
        if not wkt:
            continue
        g = shapely.from_wkt(wkt)
        desc = "\n".join(
            f"{k}：{escape(str(v))}"
            for k, v in (
                ("状态", c.get("status")),
                ("当事人", mask_name(c.get("household") or "")),
                ("地点", c.get("address") or ""),
                ("违法类型", _case_kind(c)),
            )  # fmt: skip
        )
        out.append(
            f"<Placemark>\n<name>{escape(c['case_id'])}</name>\n<description>{escape(desc)}</description>\n"
        )
        if g.geom_type == "Point":
            out.append(f"<Point><coordinates>{g.x:.7f},{g.y:.7f}</coordinates></Point>")
        else:
            out.append("<MultiGeometry>")
            for p in shapely.get_parts(g):
                if p.geom_type != "Polygon":
                    continue
                p = orient(p, 1.0)
                rings = [p.exterior, *p.interiors]
                parts = []
                for k, ring in enumerate(rings):
                    tag = "outerBoundaryIs" if k == 0 else "innerBoundaryIs"
                    xy = " ".join(f"{x:.7f},{y:.7f}" for x, y in ring.coords)
                    parts.append(
                        f"<{tag}><LinearRing><coordinates>{xy}</coordinates></LinearRing></{tag}>"
                    )
                out.append("<Polygon>" + "".join(parts) + "</Polygon>")
            out.append("</MultiGeometry>")
        out.append("\n</Placemark>\n")
    out.append("</Folder>\n")
    return "".join(out)


def _point_placemarks(problems: Sequence[ProblemRecord]) -> str:
    """Problems entered as a point (``ledger add --lon --lat``): the ledger's KML draws polygons only."""
    pts = [r for r in problems if r.lon is not None and r.lat is not None]
    if not pts:
        return ""
    out = ["<Folder>\n<name>点位问题</name>\n"]
    for r in pts:
        desc = f"状态：{r.status.value}\n来源：{r.source}\n位置描述：{r.place_text}"
        out.append(
            f'<Placemark id="problem-{escape(r.problem_id)}">\n<name>{escape(r.problem_id)}</name>\n'
            f"<description>{escape(desc)}</description>\n"
            f"<Point><coordinates>{r.lon:.7f},{r.lat:.7f}</coordinates></Point>\n</Placemark>\n"
        )
    out.append("</Folder>\n")
    return "".join(out)


def write_base_register(
    folder: str | Path,
    *,
    village: str,
    problems: Sequence[ProblemRecord],
    cases: Sequence[Mapping[str, Any]],
    scheme: Scheme,
    today: date,
) -> tuple[Path, Path]:
    """Write ``{village}底册.xlsx`` and ``{village}底册.kmz`` into ``folder`` (created)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    xlsx, kmz = folder / f"{village}底册.xlsx", folder / f"{village}底册.kmz"
    info = f"村(居)：{village}　截至 {today.isoformat()}　问题 {len(problems)} 个，两违案件 {len(cases)} 宗"
    prow = [
        [n, r.problem_id, r.status.value, r.source, r.township_name, r.village_name, r.place_text,
         _mu(r.parcel_area_m2), _mu(r.farmland_m2), r.found_on.isoformat() if r.found_on else "",
         r.deadline.isoformat() if r.deadline else "", r.lon, r.lat]
        for n, r in enumerate(problems, start=1)
    ]  # fmt: skip
    crow = [
        [n, c["case_id"], c.get("status") or "", mask_name(c.get("household") or ""), c.get("address") or "",
         _case_kind(c), _num(c.get("floor_area_m2")), _num(c.get("land_area_m2")), c.get("stock") or "",
         str(c.get("found_at") or "")[:16].replace("T", " "), c.get("found_by") or "", c.get("supervision_level") or ""]
        for n, c in enumerate(cases, start=1)
    ]  # fmt: skip
    irow = [
        [n, i.code, i.name, i.dept, float(i.points) if i.points is not None else "未填写"]
        for n, i in enumerate(scheme.catalogue, start=1)
    ]
    with _workbook(xlsx) as (wb, fm):
        _sheet(wb, fm, "问题台账", f"{village}巡查台账底册（问题台账）", info, PROBLEM_HEADS,
               [6, 20, 9, 8, 10, 10, 20, 11, 10, 11, 11, 12, 11], prow)  # fmt: skip
        _sheet(wb, fm, "两违案件", f"{village}巡查台账底册（两违案件）", info, CASE_HEADS,
               [6, 22, 8, 8, 20, 16, 11, 11, 9, 16, 10, 8], crow)  # fmt: skip
        _sheet(wb, fm, "巡查目录", f"{scheme.name}巡查目录清单（附件2）", "对应分值由镇在 patrol.toml 中填写",
               CATALOGUE_HEADS, [6, 8, 30, 14, 9], irow)  # fmt: skip
    drawn = [r for r in problems if r.geometry is not None]
    doc = kml_document(drawn, today=today, name=f"{village}巡查台账底册")
    extra = _point_placemarks([r for r in problems if r.geometry is None]) + _case_placemarks(cases)
    doc = doc.replace(b"</Document>", extra.encode("utf-8") + b"</Document>", 1)

    with atomic_path(kmz) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("doc.kml", doc)
    return xlsx, kmz
