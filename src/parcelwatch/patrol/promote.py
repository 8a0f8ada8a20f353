"""Promotion of a verified patrol finding into the land ledger (SEED-SYSTEMS §B.8).

The new problem carries the finding id in ``parcel_ids`` and a ``problem_parcels`` row (parcel id
= the finding id, batch ``巡查``) with the finding's polygon, so a later 卫片 batch over the same
site is matched to it by ``check`` (same site, not new); the finding gets ``ledger_problem_id``.
The two writes are separate transactions of the two record kinds; promoting again after a failure
between them finds the problem by its parcel link and only sets the finding's link.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import geopandas as gpd
import shapely

from parcelwatch.crs import geod_area_m2
from parcelwatch.errors import GeometryError, LedgerError
from parcelwatch.ledger.model import Change, Evidence, ParcelLink
from parcelwatch.patrol.records import PatrolBook
from parcelwatch.patrol.scheme import FINDER_LABELS, Scheme
from parcelwatch.patrol.scoring import TRUE

__all__ = [
    "PATROL_BATCH",
    "promote_to_ledger",
    "promote_to_violations",
    "match_batch",
    "overlap_m2",
]

PATROL_BATCH = "巡查"


def overlap_m2(
    site: Any, layer: gpd.GeoDataFrame | None, codes: tuple[str, ...] | None = None
) -> float | None:
    """Ellipsoidal m² of ``site`` (EPSG:4490) covered by ``layer`` (only ``dlbm`` in ``codes``)."""
    if layer is None:
        return None
    if layer.crs is None:
        raise GeometryError("The overlay layer has no CRS; give a layer with a .prj / CRS.")
    lyr = layer.to_crs(4490)
    if codes is not None and "dlbm" in lyr.columns:
        lyr = lyr[lyr["dlbm"].astype(str).isin(codes)]
    hits = lyr.geometry.values[lyr.sindex.query(site, predicate="intersects")]
    if len(hits) == 0:
        return 0.0
    inter = shapely.intersection(shapely.union_all(shapely.make_valid(hits)), site)
    return geod_area_m2(inter)


def promote_to_ledger(
    store: Any,
    book: PatrolBook,
    scheme: Scheme,
    finding_id: str,
    *,
    geometry: Any = None,
    farmland: gpd.GeoDataFrame | None = None,
    pbf: gpd.GeoDataFrame | None = None,
    farmland_codes: tuple[str, ...] | None = None,
    township_name: str = "",
    user: str,
    now: datetime,
) -> str:
    """Create a ledger problem (未核查) from a 属实 finding and link both ways; returns its id.

    ``geometry`` is the site polygon in EPSG:4490 (default: the finding's own polygon). A finding
    with only a point cannot be matched by a later 卫片 batch, so a polygon is required.
    """
    f = book.get("patrol_findings", finding_id)
    if f.get("ledger_problem_id"):
        raise LedgerError(f"{finding_id} is already in the ledger as {f['ledger_problem_id']}.")
    if f.get("verified_result") != TRUE:
        raise LedgerError(
            f"{finding_id} is {f.get('verified_result') or '待核实'}; only a finding verified 属实 goes into the ledger (`parcelwatch patrol verify`)."
        )
    site = geometry
    if site is None and f.get("geom_wkt", "") and not f["geom_wkt"].startswith("POINT"):
        site = shapely.from_wkt(f["geom_wkt"])
    if site is None or shapely.is_empty(site) or site.geom_type not in ("Polygon", "MultiPolygon"):
        raise GeometryError(
            f"{finding_id} has no site polygon. Pass --geometry FILE with the site outline (drawn in QGIS, EPSG:4490 or a GK zone)."
        )
    site = shapely.make_valid(site)
    existing = store.problems_for_parcel(finding_id, PATROL_BATCH)
    if existing:
        pid = existing[0]
    else:
        item = scheme.item(f["item_code"]) if f.get("item_code") else None
        found = (f.get("occurred_on") or f.get("found_at") or now.date().isoformat())[:10]
        ev = tuple(
            Evidence("photo", p["path"], p["sha256"], detail=p.get("detail", ""))
            for p in f.get("photos") or []
        )
        note = (
            f"来源：巡查 {finding_id}（{FINDER_LABELS.get(f['finder_kind'], f['finder_kind'])}"
            f"{'，' + item.name if item else ''}，发现日期 {found}）{f.get('place_text') or ''} {f.get('content') or ''}"
        ).strip()
        fields = {
            "village_name": f["village"],
            "township_name": township_name,
            "year": date.fromisoformat(found).year,
            "first_batch": PATROL_BATCH,
            "batches": [PATROL_BATCH],
            "parcel_ids": [finding_id],
            "parcel_area_m2": geod_area_m2(site),
            "farmland_m2": overlap_m2(site, farmland, farmland_codes),
            "pbf_m2": overlap_m2(site, pbf),
            "notes": note,
        }
        change = Change(
            kind="create",
            fields={k: v for k, v in fields.items() if v not in (None, "")},
            geometry=site,
            evidence=ev,
            batch=PATROL_BATCH,
            parcels=(ParcelLink(finding_id, PATROL_BATCH, site, role="created"),),
            source=f"巡查 {finding_id}",
        )
        result = store.apply([change], user=user, now=now)
        pid = result.problem_ids[0]
    book.update(
        "patrol_findings",
        finding_id,
        {"ledger_problem_id": pid, "geom_wkt": shapely.to_wkt(site, rounding_precision=8)},
        user=user,
        now=now,
        kind="promote",
    )
    return pid


def promote_to_violations(
    book: PatrolBook,
    settings: Any,
    finding_id: str,
    *,
    county_code: str,
    fields: dict[str, Any] | None = None,
    user: str,
    now: datetime,
) -> str:
    """A 两违 case (待核实) from a 属实 finding: ``found_by`` 村网格巡查 (village report) or 镇巡查
    (everyone else), ``found_ref`` = the finding id, ``finding_ids`` on the case and
    ``violation_case_id`` on the finding (SEED-SYSTEMS §B.8)."""
    from parcelwatch.violations import records as violation_records

    f = book.get("patrol_findings", finding_id)
    if f.get("violation_case_id"):
        raise LedgerError(f"{finding_id} is already 两违 case {f['violation_case_id']}.")
    if f.get("verified_result") != TRUE:
        raise LedgerError(
            f"{finding_id} is {f.get('verified_result') or '待核实'}; only a finding verified 属实 becomes a 两违 case."
        )
    existing = [
        c["case_id"] for c in book.all("violation_cases") if c.get("found_ref") == finding_id
    ]
    if existing:
        cid = existing[0]
    else:
        found_at = datetime.fromisoformat(
            f.get("reported_at") or f.get("complaint_at") or f["found_at"]
        )
        row = {
            "village_name": f["village"],
            "address": f.get("place_text") or "",
            "found_ref": finding_id,
            "finding_ids": [finding_id],
            "illegal_land": True if f.get("item_code") == "ZR-01" else None,
            "illegal_building": True if f.get("item_code") == "ZR-02" else None,
            "geom_wkt": f.get("geom_wkt"),
            "evidence": f.get("photos") or [],
            "notes": f"来源：巡查 {finding_id} {f.get('content') or ''}".strip(),
            **(fields or {}),
        }
        cid, _ = violation_records.add_case(
            book, settings, county_code=county_code, found_at=found_at,
            found_by="村网格巡查" if f["finder_kind"] == "village_self" else "镇巡查",
            fields={k: v for k, v in row.items() if v not in (None, "", [])}, user=user, now=now,
        )  # fmt: skip
    book.update(
        "patrol_findings",
        finding_id,
        {"violation_case_id": cid},
        user=user,
        now=now,
        kind="promote",
    )
    return cid


def match_batch(
    store: Any, book: PatrolBook, scheme: Scheme, batch: str
) -> list[tuple[str, str, float]]:
    """New problems of ``batch`` that a village reported before the batch was issued: same village
    (when the problem has one), within ``same_issue_distance_m``; (problem id, finding id, metres).
    Evidence the village reported first; it changes no score (SEED-SYSTEMS §B.8)."""
    from parcelwatch.crs import gk3_zone_from_lon, working_crs

    table = store.batches()
    row = table[table["batch"] == batch]
    if row.empty:
        raise LedgerError(
            f"No batch {batch!r} in the ledger. Check the name with `parcelwatch ledger stats WS`."
        )
    issued = date.fromisoformat(str(row["issued"].iloc[0])[:10])
    problems = [r for r in store.records() if r.first_batch == batch and r.geometry is not None]
    reports = [
        f
        for f in book.all("patrol_findings")
        if f["finder_kind"] == "village_self" and f.get("reported_at") and (f.get("geom_wkt") or "").startswith("POINT")
        and datetime.fromisoformat(f["reported_at"]).date() < issued
    ]  # fmt: skip
    if not problems or not reports:
        return []
    lon = shapely.from_wkt(reports[0]["geom_wkt"]).x
    metric = working_crs(gk3_zone_from_lon(lon))
    pg = gpd.GeoSeries([p.geometry for p in problems], crs=4490).to_crs(metric).values
    fg = (
        gpd.GeoSeries([shapely.from_wkt(f["geom_wkt"]) for f in reports], crs=4490)
        .to_crs(metric)
        .values
    )
    out = []
    for p, geom in zip(problems, pg, strict=True):
        for f, pt in zip(reports, fg, strict=True):
            if p.village_name and scheme.village_name(p.village_name) not in (None, f["village"]):
                continue
            if (
                p.village_name
                and scheme.village_name(p.village_name) is None
                and p.village_name != f["village"]
            ):
                continue
            d = float(shapely.distance(geom, pt))
            if d <= scheme.same_issue_distance_m:
                out.append((p.problem_id, f["finding_id"], d))
    return out
