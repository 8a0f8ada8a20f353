"""Battle-map layers for patrol findings (by status), 两违 cases and the village score choropleth
of a month. Pure builders: records and a village layer in, GeoDataFrames (EPSG:4490) out, with a
``fill`` colour and a Chinese ``label`` per feature (the map's context layers draw them).

A finding or case known only by a point is drawn as a 15 m disc so it can be seen and clicked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import geopandas as gpd
import shapely

from parcelwatch.crs import gk3_zone_from_lon, working_crs
from parcelwatch.patrol.scoring import MonthResult, display

__all__ = [
    "FINDING_COLOURS",
    "SCORE_BANDS",
    "finding_layer",
    "case_layer",
    "score_layer",
    "score_colour",
]

FINDING_COLOURS = {"待核实": "#f39c12", "属实": "#d62728", "不属实": "#9e9e9e"}
CASE_COLOURS = {"待核实": "#f39c12", "已认定": "#d62728", "已制止": "#e377c2", "处置中": "#9467bd",
                "已处置": "#2ca02c", "已销号": "#1f77b4", "反弹": "#8c0000", "不属实": "#9e9e9e"}  # fmt: skip
#: (lower bound, colour, legend): the month's score, from the grade bands of R7
SCORE_BANDS: Sequence[tuple[Decimal, str, str]] = (
    (Decimal(90), "#1a9850", "≥90"),
    (Decimal(80), "#91cf60", "80–89.99"),
    (Decimal(70), "#fee08b", "70–79.99"),
    (Decimal("60.01"), "#fc8d59", "60.01–69.99"),
    (Decimal("-1e9"), "#d73027", "≤60"),
)
_DISC_M = 15.0


def score_colour(score: Decimal) -> str:
    return next(c for low, c, _ in SCORE_BANDS if score >= low)


def _shapes(wkts: Sequence[str | None]) -> gpd.GeoSeries:
    geoms = [shapely.from_wkt(w) if w else None for w in wkts]
    s = gpd.GeoSeries(geoms, crs=4490)
    pts = [i for i, g in enumerate(geoms) if g is not None and g.geom_type == "Point"]
    if pts:
        lon = float(s.iloc[pts[0]].x)
        metric = working_crs(gk3_zone_from_lon(lon))
        discs = s.iloc[pts].to_crs(metric).buffer(_DISC_M, quad_segs=8).to_crs(4490)
        s.iloc[pts] = discs.values
    return s


def finding_layer(
    findings: Sequence[Mapping[str, Any]], item_names: Mapping[str, str] | None = None
) -> gpd.GeoDataFrame:
    """Findings with a position, coloured by verification status (待核实/属实/不属实)."""
    item_names = item_names or {}
    rows = [f for f in findings if f.get("geom_wkt")]
    labels = [
        f"{f['finding_id']} {f['village']} {item_names.get(f.get('item_code') or '', f.get('item_code') or '目录外')}"
        f" {f.get('finder_name') or ''} {f.get('verified_result') or '待核实'}"
        for f in rows
    ]
    fills = [FINDING_COLOURS.get(f.get("verified_result") or "待核实", "#999999") for f in rows]
    return gpd.GeoDataFrame(
        {"label": labels, "fill": fills}, geometry=_shapes([f["geom_wkt"] for f in rows]), crs=4490
    )


def case_layer(cases: Sequence[Mapping[str, Any]]) -> gpd.GeoDataFrame:
    """两违 cases with a geometry, coloured by status."""
    rows = [c for c in cases if c.get("geom_wkt")]
    labels = [
        f"{c['case_id']} {c.get('township_name') or ''}{c.get('village_name') or ''} {c['status']}"
        for c in rows
    ]
    fills = [CASE_COLOURS.get(c["status"], "#999999") for c in rows]
    return gpd.GeoDataFrame(
        {"label": labels, "fill": fills}, geometry=_shapes([c["geom_wkt"] for c in rows]), crs=4490
    )


def score_layer(
    villages: gpd.GeoDataFrame, result: MonthResult, *, name_column: str = "village_name"
) -> gpd.GeoDataFrame:
    """The village polygons coloured by the month's score (villages without a score are left out)."""
    scores = {v.village: v for v in result.villages}
    frame = villages.to_crs(4490)
    names = frame[name_column].astype(str).tolist()
    keep = [i for i, n in enumerate(names) if n in scores]
    out = frame.iloc[keep]
    vm = [scores[names[i]] for i in keep]
    labels = [
        f"{v.village} {result.month} 得分 {display(v.score)}{'（一票否决）' if v.vetoed else ''} 第{v.rank}名"
        for v in vm
    ]
    return gpd.GeoDataFrame(
        {"label": labels, "fill": [score_colour(v.score) for v in vm]},
        geometry=out.geometry.values,
        crs=4490,
    )
