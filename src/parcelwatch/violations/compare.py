"""Comparison of aerial/satellite change parcels with 两违 cases (SEED-SYSTEMS §A.5).

Same-site test as the ledger's recheck: overlap ≥ ``same_site_share`` of the smaller polygon, or
IoU ≥ ``same_site_iou``, measured in the county's Gauss-Kruger zone. Outcomes per parcel:
已登记 (an open case), 疑似反弹 (a 已销号 case disposed by 拆除), 未登记 (nothing).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import shapely

from parcelwatch.crs import gk3_zone_from_lon, working_crs
from parcelwatch.errors import CRSError
from parcelwatch.violations.cases import ViolationSettings

__all__ = ["CompareRow", "compare"]

_OPEN = ("待核实", "已认定", "已制止", "处置中", "已处置", "反弹")


@dataclass(frozen=True)
class CompareRow:
    parcel_id: str
    outcome: str  # 已登记 | 疑似反弹 | 未登记
    case_id: str
    share: float
    iou: float


def compare(
    parcels: gpd.GeoDataFrame,
    cases: Sequence[Mapping[str, Any]],
    settings: ViolationSettings,
    *,
    id_column: str = "parcel_id",
) -> list[CompareRow]:
    """Each parcel's outcome against the cases (dicts with ``geom_wkt`` in EPSG:4490)."""
    if parcels.crs is None:
        raise CRSError("The compared parcels have no CRS; give a layer with a .prj / CRS.")
    p4490 = parcels.to_crs(4490)
    if len(p4490) == 0:
        return []
    lon = float(p4490.geometry.union_all().centroid.x)
    crs = working_crs(gk3_zone_from_lon(lon))
    geo_cases = [
        c for c in cases if c.get("geom_wkt") and not str(c["geom_wkt"]).startswith("POINT")
    ]
    case_geoms = gpd.GeoSeries(
        [shapely.from_wkt(c["geom_wkt"]) for c in geo_cases], crs=4490
    ).to_crs(crs)
    pg = p4490.geometry.to_crs(crs)
    tree = shapely.STRtree(case_geoms.values) if len(case_geoms) else None
    out = []
    ids = (
        p4490[id_column].astype(str).tolist()
        if id_column in p4490.columns
        else [str(i) for i in p4490.index]
    )
    for pid, geom in zip(ids, pg.values, strict=True):
        best: tuple[int, float, float, int] | None = None  # (priority, iou, share, index)
        for j in tree.query(geom, predicate="intersects") if tree is not None else []:
            cg = case_geoms.values[j]
            inter = shapely.area(shapely.intersection(geom, cg))
            smaller = min(shapely.area(geom), shapely.area(cg))
            union = shapely.area(geom) + shapely.area(cg) - inter
            share = inter / smaller if smaller > 0 else 0.0
            iou = inter / union if union > 0 else 0.0
            if share < settings.same_site_share and iou < settings.same_site_iou:
                continue
            c = geo_cases[j]
            prio = (
                0
                if c.get("status") in _OPEN
                else 1
                if c.get("status") == "已销号" and c.get("disposal") == "拆除"
                else 2
            )
            cand = (prio, -iou, -share, int(j))
            if prio < 2 and (best is None or cand < best):
                best = cand
        if best is None:
            out.append(CompareRow(pid, "未登记", "", 0.0, 0.0))
        else:
            c = geo_cases[best[3]]
            out.append(
                CompareRow(
                    pid, "已登记" if best[0] == 0 else "疑似反弹", c["case_id"], -best[2], -best[1]
                )
            )
    return out
