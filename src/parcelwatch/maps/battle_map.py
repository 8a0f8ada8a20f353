"""build_map(): the 挂图作战 battle map as one self-contained HTML page.

Input is a GeoDataFrame of problems (one row per ledger problem) with the columns in
:data:`MAP_COLUMNS` (missing optional columns are shown as blank). Geometry is simplified for
display only (``simplify_m`` <= 0.5 m, in the metric CRS) and written with 6 decimals (~0.1 m);
the ledger is never touched. Everything the page needs is inlined; see :mod:`.offline`.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from parcelwatch import crs as crsmod
from parcelwatch.errors import InputError
from parcelwatch.labels import CLASS_LABELS, CLASS_ORDER, OVERDUE_STYLE, STATUS_EN, STATUS_STYLE
from parcelwatch.ledger.figures import figure_rows_from_view, map_figures
from parcelwatch.maps.offline import assert_offline, leaflet_assets, own_asset

__all__ = ["MAP_COLUMNS", "STATUS_STYLE", "Basemap", "build_map", "CONTEXT_STYLE"]

# column -> Chinese popup label (English in the page's second language table)
MAP_COLUMNS: dict[str, str] = {
    "problem_id": "问题编号",
    "parcel_ids": "监测编号",
    "batch": "批次",
    "township_name": "乡镇",
    "village_name": "村",
    "status": "整改状态",
    "candidate_class": "疑似类别",
    "confirmed_class": "认定类别",
    "reasons": "判定依据",
    "parcel_area_mu": "图斑面积(亩)",
    "farmland_mu": "耕地(亩)",
    "pbf_mu": "永久基本农田(亩)",
    "measure": "整改措施",
    "deadline": "整改期限",
    "days_overdue": "逾期天数",
    "responsible_unit": "责任单位",
    "responsible_person": "责任人",
    "recent_events": "最近记录",
    "source": "问题来源",
    "chip_before": "前时相",
    "chip_after": "后时相",
}

FARMLAND_CODES = ("0101", "0102", "0103")  # 耕地: 水田, 水浇地, 旱地 (DOMAIN §4.1)
# Status colours, English labels and class names: one source, parcelwatch.labels.
# Every class has its layer, 非大棚房 and 无 included (the words of labels.CLASS_LABELS).
CLASS_NAMES = {c: CLASS_LABELS["zh"][c] for c in CLASS_ORDER}
CONTEXT_STYLE: dict[str, dict[str, Any]] = {
    "townships": {
        "label": "乡镇界线",
        "color": "#333333",
        "weight": 2,
        "fill": False,
        "dashArray": "8 4",
        "visible": True,
    },
    "farmland": {
        "label": "耕地",
        "color": "#c8a400",
        "weight": 0.5,
        "fill": True,
        "fillOpacity": 0.25,
        "visible": False,
    },
    "pbf": {
        "label": "永久基本农田",
        "color": "#d4a017",
        "weight": 1,
        "fill": True,
        "fillOpacity": 0.2,
        "dashArray": "2 3",
        "visible": False,
    },
    "greenhouses": {
        "label": "大棚",
        "color": "#5f9ea0",
        "weight": 1,
        "fill": True,
        "fillOpacity": 0.4,
        "visible": False,
    },
    "buildings": {
        "label": "建筑物",
        "color": "#555555",
        "weight": 1,
        "fill": True,
        "fillOpacity": 0.5,
        "visible": False,
    },
    # patrol and 两违 layers: each feature carries its own ``fill`` colour and a ``label`` tooltip
    "village_scores": {
        "label": "村(居)巡查考评得分",
        "color": "#444444",
        "weight": 1,
        "fill": True,
        "fillOpacity": 0.45,
        "visible": False,
        "interactive": True,
    },
    "patrol_findings": {
        "label": "巡查发现(按核实状态)",
        "color": "#222222",
        "weight": 1,
        "fill": True,
        "fillOpacity": 0.85,
        "visible": True,
        "interactive": True,
    },
    "violation_cases": {
        "label": "两违案件",
        "color": "#8c0000",
        "weight": 1.5,
        "fill": True,
        "fillOpacity": 0.6,
        "visible": False,
        "interactive": True,
    },
}


@dataclass(frozen=True)
class Basemap:
    """``none``; ``tianditu`` (needs ``key``); ``xyz`` (an intranet template); ``image`` (a data
    URI with lon/lat bounds); ``amap`` (高德, GCJ-02: vectors are shifted for display only)."""

    kind: str = "none"
    url: str = ""
    key: str = ""
    image_data_uri: str = ""
    image_bounds: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    attribution: str = ""
    key_at_view: bool = False  # tianditu: the page asks for the key; it is never in the file

    def config(self) -> dict[str, Any]:
        if self.kind == "tianditu":
            if not self.key and not self.key_at_view:
                raise InputError(
                    "The 天地图 basemap needs a key (tk). Either pass --tianditu-key-at-view (the page asks for the key when "
                    "opened and keeps it in the browser, never in the file), or give the key with --tianditu-key or as "
                    "tianditu_key under [map] in the workspace's rules.toml (it is then written into the HTML in clear)."
                )
            tpl = "https://t{s}.tianditu.gov.cn/%s_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER=%s&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk="
            key = "" if self.key_at_view else self.key
            return {
                "kind": "tianditu",
                "layers": [tpl % ("vec", "vec") + key, tpl % ("cva", "cva") + key],
                "subdomains": "01234567",
                "attribution": "天地图",
                "askKey": self.key_at_view,
            }
        if self.kind == "xyz":
            return {"kind": "xyz", "layers": [self.url], "attribution": self.attribution}
        if self.kind == "amap":
            return {
                "kind": "amap",
                "layers": [
                    "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}"
                ],
                "subdomains": "1234",
                "attribution": "高德",
                "notice": "底图为高德地图（GCJ-02），图斑已仅为显示临时偏移以对齐底图；面积与导出均使用CGCS2000原始坐标。",
            }
        if self.kind == "image":
            return {"kind": "image", "data": self.image_data_uri, "bounds": self.image_bounds}
        if self.kind == "none":
            return {"kind": "none"}
        raise InputError(
            f"Unknown basemap {self.kind!r}: use none, tianditu, xyz:URL, image:GEOTIFF or amap."
        )


def _to_display(frame: gpd.GeoDataFrame, simplify_m: float, gcj02: bool) -> np.ndarray:
    """Simplify in a metric CRS (display only), then lon/lat (optionally shifted to GCJ-02)."""
    g = frame
    if g.crs is None:
        raise InputError("build_map: the problems layer has no CRS.")
    if g.crs.is_geographic:
        lon = float(np.nanmean(g.total_bounds[[0, 2]])) if len(g) else 117.0
        g = g.to_crs(crsmod.working_crs(crsmod.gk3_zone_from_lon(lon)))
    geoms = np.asarray(g.geometry.values, dtype=object)
    if simplify_m > 0:
        geoms = shapely.simplify(geoms, simplify_m, preserve_topology=True)
    lonlat = gpd.GeoSeries(geoms, crs=g.crs).to_crs(4326).values
    if gcj02:

        def shift(xy: np.ndarray) -> np.ndarray:
            lon, lat = crsmod.wgs84_to_gcj02(xy[:, 0], xy[:, 1])
            return np.column_stack([lon, lat])

        lonlat = shapely.transform(lonlat, shift)
    return shapely.set_precision(np.asarray(lonlat, dtype=object), 1e-6)


def _jsonable(v: Any) -> Any:
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return None
    if v is pd.NaT or (not isinstance(v, (list, tuple, np.ndarray, dict)) and pd.isna(v)):
        return None
    if isinstance(v, (pd.Timestamp, datetime)):
        return v.strftime("%Y-%m-%d")
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return round(float(v), 2)
    if isinstance(v, float):
        return round(v, 2)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, (list, tuple, np.ndarray)):
        return [_jsonable(x) for x in v]
    return v


_SCALE = 1_000_000  # coordinates as integer micro-degrees (~0.1 m)


def _encode_geometry(geom: Any) -> list[Any]:
    """Polygon/MultiPolygon -> [[ring, ...], ...]; a ring is [x0, y0, dx1, dy1, ...] in 1e-6 deg.

    A Point (a problem entered with a lon/lat, SEED-SYSTEMS 0.P1) -> [x, y]: the page draws it as
    a marker in its status colour."""
    if geom.geom_type == "Point":
        return [int(round(geom.x * _SCALE)), int(round(geom.y * _SCALE))]
    polys = [geom] if geom.geom_type == "Polygon" else list(getattr(geom, "geoms", []))
    out = []
    for poly in polys:
        if poly.is_empty or poly.geom_type != "Polygon":
            continue
        rings = []
        for ring in (poly.exterior, *poly.interiors):
            xy = np.rint(np.asarray(ring.coords)[:, :2] * _SCALE).astype(np.int64)
            d = np.vstack([xy[:1], np.diff(xy, axis=0)])
            rings.append(d.ravel().tolist())
        out.append(rings)
    return out


def _features(frame: gpd.GeoDataFrame, columns: Sequence[str], geoms: np.ndarray) -> dict[str, Any]:
    """Columnar, compact feature data (keys once, delta-encoded coordinates); see battle_map.js."""
    cols = [c for c in columns if c in frame.columns]
    values = [[_jsonable(v) for v in frame[c].tolist()] for c in cols]
    return {
        "columns": cols,
        "values": values,
        "geoms": [_encode_geometry(g) if g is not None and not g.is_empty else [] for g in geoms],
        "scale": _SCALE,
    }


def build_map(
    problems: gpd.GeoDataFrame,
    *,
    title: str = "问题图斑挂图作战图",
    county_name: str = "",
    data_date: str = "",
    generated_at: datetime | None = None,
    context: Mapping[str, gpd.GeoDataFrame] | None = None,
    basemap: Basemap | None = None,
    simplify_m: float = 0.5,
    links: Sequence[tuple[str, str]] = (),
    farmland_codes: Sequence[str] = FARMLAND_CODES,
    warning: str = "",
) -> str:
    """The whole page as a string. ``generated_at`` is passed in (pure function; without it the
    page shows no generation time).

    ``warning`` (e.g. the ledger check's tamper warning) is shown as a red banner at the top.

    The statistics panel shows figures computed here by :mod:`parcelwatch.ledger.figures` (the
    page only looks them up by township), so the map says what the forms and ``ledger stats``
    say. The ``farmland`` context layer shows 耕地 only (DLBM in ``farmland_codes``, default
    0101/0102/0103); 永久基本农田 is its own layer (``pbf``).
    """
    if simplify_m > 0.5:
        raise InputError("build_map: simplify_m must be at most 0.5 m (display only).")
    basemap = basemap or Basemap()
    bm = basemap.config()
    gcj = basemap.kind == "amap"
    missing = [c for c in ("problem_id", "status") if c not in problems.columns]
    if missing:
        raise InputError(f"build_map: the problems layer lacks {', '.join(missing)}.")
    frame = problems.copy()
    if "overdue" not in frame:
        frame["overdue"] = False
    cls = (
        frame["confirmed_class"]
        if "confirmed_class" in frame
        else pd.Series(None, index=frame.index)
    )
    cand = (
        frame["candidate_class"]
        if "candidate_class" in frame
        else pd.Series("none", index=frame.index)
    )
    frame["map_class"] = cls.where(cls.isin(list(CLASS_NAMES)), cand).fillna("none")
    frame.loc[~frame["map_class"].isin(list(CLASS_NAMES)), "map_class"] = "none"
    cols = [*MAP_COLUMNS, "overdue", "map_class", "status_en"]
    frame["status_en"] = frame["status"].map(STATUS_EN)
    data = _features(frame, cols, _to_display(frame, simplify_m, gcj))
    figures = map_figures(figure_rows_from_view(frame))
    ctx = {}
    for name, layer in (context or {}).items():
        if layer is not None and name == "farmland" and "dlbm" in layer.columns:
            layer = layer[
                layer["dlbm"].isin(list(farmland_codes))
            ]  # 耕地 only, not every land class
        if layer is None or len(layer) == 0 or name not in CONTEXT_STYLE:
            continue
        keep = [
            c
            for c in (
                "township_name",
                "dlbm",
                "greenhouse_id",
                "building_id",
                "use",
                "fill",
                "label",
            )
            if c in layer.columns
        ]
        geoms = _to_display(layer, 0.5 if name != "townships" else 2.0, gcj)
        ctx[name] = {"style": CONTEXT_STYLE[name], "data": _features(layer, keep, geoms)}
    generated = generated_at.strftime("%Y-%m-%d %H:%M") if generated_at is not None else ""
    config = {
        "title": title,
        "county": county_name,
        "dataDate": data_date,
        "generated": generated,
        "statusStyle": STATUS_STYLE,
        "overdueStyle": OVERDUE_STYLE,
        "figures": figures,
        "statusEn": STATUS_EN,
        "classNames": CLASS_NAMES,
        "labels": MAP_COLUMNS,
        "basemap": bm,
        "links": [{"label": a, "href": b} for a, b in links],
        "warning": warning,
    }
    css_leaflet, js_leaflet = leaflet_assets()
    page = own_asset("battle_map.html")
    replacements = {
        "{{TITLE}}": html.escape(f"{county_name}{title}"),
        "{{LEAFLET_CSS}}": css_leaflet,
        "{{OWN_CSS}}": own_asset("battle_map.css"),
        "{{LEAFLET_JS}}": js_leaflet,
        "{{OWN_JS}}": own_asset("battle_map.js"),
        "{{CONFIG_JSON}}": _script_json(config),
        "{{DATA_JSON}}": _script_json(data),
        "{{CONTEXT_JSON}}": _script_json(ctx),
    }
    page = re.sub(r"\{\{[A-Z_]+\}\}", lambda m: replacements.get(m.group(0), m.group(0)), page)
    assert_offline(page)
    return page


# Characters that could end or alter the <script> element the JSON sits in ("</script>",
# "<!--" enters the parser's double-escaped state), or that older JS parsers treat as line ends.
_SCRIPT_UNSAFE = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def _script_json(obj: Any) -> str:
    """JSON safe inside <script type="application/json">: no value can end or alter the element.

    ``<``, ``>``, ``&``, U+2028 and U+2029 only occur inside JSON strings, where the \\u escapes
    decode to the same text (``JSON.parse`` gives back every value unchanged).
    """
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False).translate(
        _SCRIPT_UNSAFE
    )
