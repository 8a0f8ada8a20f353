"""EXPECTED.md / expected.json (the planted cases with hand-computable numbers) and README.md.

The numbers are measured on the written layers: footprint areas are ellipsoidal (CGCS2000,
:class:`pyproj.Geod`), distances are planar in EPSG:4549, 耕地 in a parcel is
Σ overlap x TBDLMJ / TBMJ (DOMAIN.md G7). Before writing, every planted expectation is checked
against a small reference implementation of the default rules (:func:`reference_class`); a
mismatch is a bug in the case design and raises instead of writing a wrong EXPECTED.md.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..units import M2_PER_MU
from .divisions import COUNTY_CODE, COUNTY_NAME
from .geodesy import ellipsoidal_area
from .landscape import FARMLAND_CODES

if TYPE_CHECKING:
    from .county import SampleCounty

__all__ = [
    "RULES",
    "FootprintMetrics",
    "footprint_metrics",
    "reference_class",
    "write_expected",
    "write_readme",
]

RULES: dict[str, Any] = {
    "farmland_min_m2": 1.0,
    "farmland_min_share": 0.10,
    "greenhouse_inside_share": 0.50,
    "context_distance_m": 50.0,
    "caretaker_near_m": 10.0,
    "caretaker_limit_m2": {"south": 15.0, "north": 22.5, "severe_cold": 30.0, "unset": 15.0},
    "class1_unknown_min_m2": 30.0,
    "approval_cover_share": 0.90,
    "alert_pbf_mu": 5.0,
    "alert_farmland_mu": 10.0,
    "alert_parcel_farmland_mu": 100.0,
}
CARETAKER_USES = ("看护房", "管护房", "管理房")
AGRI_USES = ("看护房", "管护房", "管理房", "农机库", "农资仓库", "畜禽舍")
SEVERITY = {"I": 4, "II": 3, "III": 2, "conversion": 1, "none": 0}


@dataclass
class FootprintMetrics:
    """What the rules need to know about one footprint (areas m², distances m)."""

    area_m2: float
    planar_m2: float
    farmland_m2: float  # overlap with 耕地 or 永农 (ellipsoidal)
    pbf_m2: float
    greenhouse_share: float
    greenhouse_distance_m: float
    park_share: float
    filing_share: float
    approval_share: float
    approval_doc: str | None
    approval_type: str | None
    use: str | None
    storeys: int | None


@dataclass
class _Footprint:
    """A footprint inside one parcel, with its reference class."""

    id: str
    cls: str
    cls_unset: str
    suggested: str | None
    metrics: FootprintMetrics
    share_in_parcel: float
    occ_farm_m2: float  # problem footprints only: 耕地 or 永农 occupied inside the parcel
    occ_pbf_m2: float


def _union(geoms: Iterable[shapely.Geometry]) -> shapely.Geometry:
    arr = np.asarray(list(geoms), dtype=object)
    return shapely.union_all(arr) if len(arr) else shapely.Polygon()


class _Context:
    """Layers of one batch prepared for footprint metrics (EPSG:4549)."""

    def __init__(self, county: SampleCounty) -> None:
        d = county.dltb
        self.farm = d[d["DLBM"].isin(FARMLAND_CODES)]
        self.farm_tree = shapely.STRtree(self.farm.geometry.values)
        self.pbf_tree = shapely.STRtree(county.pbf.geometry.values)
        self.gh = county.greenhouses.geometry.values
        self.gh_tree = shapely.STRtree(self.gh)
        self.parks = county.parks.geometry.values
        a = county.approvals
        self.filings = a[a["批准类型"] == "设施农用地备案"].geometry.values
        perm = a[a["批准类型"].isin(["建设用地", "农转用", "临时用地"])]
        self.permits = perm.geometry.values
        self.permit_doc = perm["批准文号"].to_numpy()
        self.permit_type = perm["批准类型"].to_numpy()
        self.pbf = county.pbf.geometry.values

    def near(
        self, tree: shapely.STRtree, geoms: np.ndarray, g: shapely.Geometry, dist: float = 0.0
    ) -> shapely.Geometry:
        idx = tree.query(g.buffer(dist) if dist else g, predicate="intersects")
        return _union(geoms[idx])


def footprint_metrics(
    ctx: _Context, g: shapely.Geometry, use: str | None, storeys: int | None
) -> FootprintMetrics:
    area = float(ellipsoidal_area(np.array([g]))[0])
    farm_union = shapely.union(
        ctx.near(ctx.farm_tree, ctx.farm.geometry.values, g), ctx.near(ctx.pbf_tree, ctx.pbf, g)
    )
    farm = float(ellipsoidal_area(np.array([g.intersection(farm_union)]))[0])
    pbf = float(ellipsoidal_area(np.array([g.intersection(ctx.near(ctx.pbf_tree, ctx.pbf, g))]))[0])
    gh_near = ctx.gh[ctx.gh_tree.query(g, predicate="dwithin", distance=500.0)]
    gh_u = _union(gh_near)
    gh_share = g.intersection(gh_u).area / g.area
    gh_dist = float(shapely.distance(g, gh_u)) if len(gh_near) else float("inf")
    park_share = g.intersection(_union(ctx.parks)).area / g.area
    filing_share = g.intersection(_union(ctx.filings)).area / g.area
    shares = (
        shapely.area(shapely.intersection(ctx.permits, g)) / g.area
        if len(ctx.permits)
        else np.zeros(0)
    )
    k = int(np.argmax(shares)) if len(shares) else -1
    return FootprintMetrics(
        area_m2=area,
        planar_m2=float(g.area),
        farmland_m2=farm,
        pbf_m2=pbf,
        greenhouse_share=float(gh_share),
        greenhouse_distance_m=gh_dist,
        park_share=float(park_share),
        filing_share=float(filing_share),
        approval_share=float(shares[k]) if k >= 0 else 0.0,
        approval_doc=str(ctx.permit_doc[k]) if k >= 0 and shares[k] > 0 else None,
        approval_type=str(ctx.permit_type[k]) if k >= 0 and shares[k] > 0 else None,
        use=use,
        storeys=storeys,
    )


def reference_class(m: FootprintMetrics, region: str = "north") -> tuple[str, str | None]:
    """Class of one footprint under the default rules, and the suggested judgement if approved.

    A plain restatement of the rules in the case brief, used only to check the planted cases.
    """
    r = RULES
    if m.approval_share >= r["approval_cover_share"]:
        return "none", ("其他" if m.approval_type == "临时用地" else "合法")
    on_farm = (
        m.farmland_m2 >= r["farmland_min_m2"]
        and m.farmland_m2 >= r["farmland_min_share"] * m.area_m2
    )
    inside_gh = m.greenhouse_share >= r["greenhouse_inside_share"]
    context = (
        m.greenhouse_distance_m <= r["context_distance_m"]
        or m.park_share > 0.5
        or m.filing_share > 0.5
    )
    caretaker = m.use in CARETAKER_USES
    agri = m.use in AGRI_USES
    limit = r["caretaker_limit_m2"][region]
    if caretaker and (inside_gh or m.greenhouse_distance_m <= r["caretaker_near_m"]):
        if (m.storeys or 1) >= 2 or m.area_m2 > limit:
            return "III", None
        return "none", None
    if m.use is not None and not agri and m.filing_share > 0.5:
        return "I", None
    if inside_gh and on_farm:
        return "II", None
    if (
        on_farm
        and context
        and (
            (m.use is not None and not agri)
            or (m.use is None and m.area_m2 >= r["class1_unknown_min_m2"])
        )
    ):
        return "I", None
    if on_farm and not context:
        return "conversion", None
    return "none", None


def _r2(x: float) -> float:
    return float(round(x, 2))


def _mu(m2: float) -> float:
    return float(round(m2 / M2_PER_MU, 4))


def _parcel_record(
    county: SampleCounty,
    ctx: _Context,
    pid: str,
    pgeom: shapely.Geometry,
    buildings: gpd.GeoDataFrame,
    case: str,
    batch: int,
) -> dict[str, Any]:
    valid = shapely.make_valid(pgeom)
    area = float(ellipsoidal_area(np.array([valid]))[0])
    farm_idx = ctx.farm_tree.query(valid, predicate="intersects")
    farm_rows = ctx.farm.iloc[farm_idx]
    pieces = shapely.intersection(farm_rows.geometry.values, valid)
    farmland = float(
        (ellipsoidal_area(pieces) * (farm_rows["TBDLMJ"] / farm_rows["TBMJ"]).to_numpy()).sum()
    )
    pbf_u = ctx.near(ctx.pbf_tree, ctx.pbf, valid)
    pbf_in = float(ellipsoidal_area(np.array([valid.intersection(pbf_u)]))[0])
    tw = county.townships
    shares = {
        c: float(valid.intersection(g).area / valid.area)
        for c, g in zip(tw["XZQDM"], tw.geometry.values, strict=True)
        if valid.intersects(g)
    }
    idx = buildings.sindex.query(valid, predicate="intersects")
    fps = []
    for k in idx:
        row = buildings.iloc[k]
        g = row.geometry
        inter = g.intersection(valid)
        if inter.area < 0.01:
            continue
        use = None if pd.isna(row["YT"]) else str(row["YT"])
        st = None if pd.isna(row["CS"]) else int(row["CS"])
        m = footprint_metrics(ctx, g, use, st)
        cls, sugg = reference_class(m, "north")
        cls_unset, _ = reference_class(m, "unset")
        occ_farm = occ_pbf = 0.0
        if cls != "none":
            farm_part = inter.intersection(
                shapely.union(ctx.near(ctx.farm_tree, ctx.farm.geometry.values, inter), pbf_u)
            )
            occ_farm = float(ellipsoidal_area(np.array([farm_part]))[0])
            occ_pbf = float(ellipsoidal_area(np.array([inter.intersection(pbf_u)]))[0])
        fps.append(
            _Footprint(
                str(row["JZBH"]),
                cls,
                cls_unset,
                sugg,
                m,
                float(inter.area / g.area),
                occ_farm,
                occ_pbf,
            )
        )
    worst = max((f.cls for f in fps), key=lambda c: SEVERITY[c], default="none")
    worst_unset = max((f.cls_unset for f in fps), key=lambda c: SEVERITY[c], default="none")
    occ_pbf = sum(f.occ_pbf_m2 for f in fps)
    occ_other = sum(f.occ_farm_m2 for f in fps) - occ_pbf
    reasons = []
    if occ_pbf / M2_PER_MU >= RULES["alert_pbf_mu"]:
        reasons.append(f"永久基本农田 {occ_pbf / M2_PER_MU:.2f} 亩 ≥ 5 亩")
    if occ_other / M2_PER_MU >= RULES["alert_farmland_mu"]:
        reasons.append(f"其他耕地 {occ_other / M2_PER_MU:.2f} 亩 ≥ 10 亩")
    if farmland / M2_PER_MU >= RULES["alert_parcel_farmland_mu"]:
        reasons.append(f"图斑内耕地 {farmland / M2_PER_MU:.2f} 亩 ≥ 100 亩")
    return {
        "parcel_id": pid,
        "batch": batch,
        "case": case,
        "expected_class": worst,
        "expected_class_region_unset": worst_unset,
        "priority": "high" if occ_pbf >= 1.0 else "normal",
        "alert": bool(reasons),
        "alert_reason": "; ".join(reasons),
        "area_m2": _r2(area),
        "area_mu": _mu(area),
        "farmland_mu": _mu(farmland),
        "pbf_mu": _mu(pbf_in),
        "occupied_farmland_mu": _mu(occ_other + occ_pbf),
        "occupied_pbf_mu": _mu(occ_pbf),
        "township_code": max(shares, key=lambda c: shares[c]),
        "township_shares": {c: round(s, 4) for c, s in shares.items()},
        "footprints": [f.id for f in fps],
        "_fps": fps,
    }


def _fp_json(f: _Footprint) -> dict[str, Any]:
    m = f.metrics
    return {
        "area_m2": _r2(m.area_m2),
        "planar_area_m2": _r2(m.planar_m2),
        "farmland_overlap_m2": _r2(m.farmland_m2),
        "pbf_overlap_m2": _r2(m.pbf_m2),
        "greenhouse_share": round(m.greenhouse_share, 4),
        "greenhouse_distance_m": None
        if not np.isfinite(m.greenhouse_distance_m)
        else _r2(m.greenhouse_distance_m),
        "in_park": m.park_share > 0.5,
        "on_filing": m.filing_share > 0.5,
        "approval_share": round(m.approval_share, 4),
        "approval_doc": m.approval_doc,
        "use": m.use,
        "storeys": m.storeys,
        "share_in_parcel": round(f.share_in_parcel, 4),
    }


def _note(base: str, f: _Footprint) -> str:
    m = f.metrics
    bits = [base, f"footprint {m.area_m2:.2f} m² (ellipsoidal; planar {m.planar_m2:.2f})"]
    if m.farmland_m2 > 0:
        bits.append(f"on 耕地 {m.farmland_m2:.2f} m²")
    if m.pbf_m2 > 0:
        bits.append(f"on 永农 {m.pbf_m2:.2f} m²")
    if m.greenhouse_share > 0:
        bits.append(f"inside greenhouse {m.greenhouse_share:.0%}")
    elif np.isfinite(m.greenhouse_distance_m):
        bits.append(f"{m.greenhouse_distance_m:.1f} m to nearest greenhouse")
    else:
        bits.append("no greenhouse within 500 m")
    if f.share_in_parcel < 0.999:
        bits.append(f"{f.share_in_parcel:.0%} inside this parcel")
    return "; ".join(bits)


def write_expected(county: SampleCounty, md_path: Path, json_path: Path) -> dict[str, Any]:
    """Measure the planted cases, check them against the reference rules, write both files."""
    design = county.design
    ctx = _Context(county)
    pid = county.parcel_ids
    bid = county.building_ids
    parcels = {1: county.parcels1.set_index("监测编号"), 2: county.parcels2.set_index("监测编号")}
    blds = {1: county.buildings1, 2: county.buildings2}
    by_key = {p.key: p for p in design.parcels}
    precs: dict[str, dict[str, Any]] = {}
    for p in design.parcels:
        rec = _parcel_record(
            county,
            ctx,
            pid[p.key],
            parcels[p.batch].geometry[pid[p.key]],
            blds[p.batch],
            p.cases[0],
            p.batch,
        )
        rec["change_type"] = p.change_type
        rec["title"] = design.titles.get(p.cases[0], "")
        if p.batch == 2:
            rec["recheck"] = p.recheck
            rec["same_as"] = pid[p.same_as] if p.same_as else None
            if p.same_as:
                a = shapely.make_valid(parcels[1].geometry[pid[p.same_as]])
                b = shapely.make_valid(parcels[2].geometry[pid[p.key]])
                rec["iou"] = round(float(a.intersection(b).area / a.union(b).area), 4)
        precs[p.key] = rec
    # --- check the design against the reference rules ---------------------------------------
    problems = []
    rows = []
    for f in design.findings:
        rec = precs[f.parcel]
        batch = by_key[f.parcel].batch
        fp = None
        if f.building is not None:
            jz = bid[f.building]
            fp = next((x for x in rec["_fps"] if x.id == jz), None)
            if fp is None:
                problems.append(f"{f.case}: building {jz} not in parcel {rec['parcel_id']}")
                continue
            if fp.cls != f.expected or (f.unset_region_class or f.expected) != fp.cls_unset:
                problems.append(
                    f"{f.case}/{f.building}: design says {f.expected}, rules give {fp.cls} (unset {fp.cls_unset})"
                )
            if f.suggested != fp.suggested:
                problems.append(f"{f.case}/{f.building}: suggested {f.suggested} vs {fp.suggested}")
        elif rec["footprints"]:
            problems.append(
                f"{f.case}: parcel {rec['parcel_id']} should have no footprint, has {rec['footprints']}"
            )
        row = {
            "case": f.case,
            "title": design.titles.get(f.case, ""),
            "batch": batch,
            "parcel_id": rec["parcel_id"],
            "footprint_id": bid[f.building] if f.building else None,
            "expected_class": f.expected,
            "expected_class_region_unset": f.unset_region_class or f.expected,
            "rule": f.rule,
            "note": _note(f.note, fp) if fp else f.note,
            "suggested": f.suggested,
            "approval_doc": f.approval,
        }
        if batch == 2:
            row["recheck"] = rec["recheck"]
            row["same_as"] = rec["same_as"]
        if fp:
            row["footprint"] = _fp_json(fp)
        rows.append(row)
    # every footprint in a case parcel must be a planted one
    planted = {(r["parcel_id"], r["footprint_id"]) for r in rows}
    for rec in precs.values():
        for x in rec["_fps"]:
            if (rec["parcel_id"], x.id) not in planted:
                problems.append(
                    f"unplanned footprint {x.id} ({x.cls}) in case parcel {rec['parcel_id']}"
                )
    # background parcels of the small county: expected none (checked with the same rules)
    background = []
    if county.spec.name == "small":
        src = county.background_source
        ious = county.background_iou
        for p_id, kind in sorted(county.background_kind.items()):
            batch = int(p_id[11])  # 3707902026Q1xxx / Q2xxx
            rec = _parcel_record(
                county, ctx, p_id, parcels[batch].geometry[p_id], blds[batch], "background", batch
            )
            if rec["expected_class"] != "none" or rec["expected_class_region_unset"] != "none":
                problems.append(f"background parcel {p_id} ({kind}) is {rec['expected_class']}")
            rec["change_type"] = str(parcels[batch].loc[p_id, "图斑类型"])
            rec["title"] = f"background: {kind}"
            if batch == 2:
                rec["recheck"] = "same" if src.get(p_id) else "new"
                rec["same_as"] = src.get(p_id)
                rec["iou"] = None if src.get(p_id) is None else round(float(ious[p_id]), 4)
            background.append(rec)
    if problems:
        raise RuntimeError(
            "planted cases do not match the reference rules:\n  " + "\n  ".join(problems)
        )
    inv = county.parcels1.set_index("监测编号").geometry[pid["C11"]]
    repaired = shapely.make_valid(inv)
    invalid = {
        "parcel_id": pid["C11"],
        "case": "C11",
        "batch": 1,
        "is_valid": bool(inv.is_valid),
        "reason": shapely.is_valid_reason(inv),
        "repair": "shapely.make_valid",
        "repaired_type": repaired.geom_type,
        "repaired_parts": int(shapely.get_num_geometries(repaired)),
        "repaired_area_m2": _r2(float(ellipsoidal_area(np.array([repaired]))[0])),
        "repaired_area_mu": _mu(float(ellipsoidal_area(np.array([repaired]))[0])),
        "note": "the east end of the ring is a bowtie (digitising error): the edges from ring vertex 4 to 5 and from 6 to 7 (1-based) cross 15 m east of the site; 监测面积 was computed on the repaired geometry",
    }
    images: list[dict[str, Any]] = [
        {**im, "parcel_id": pid[im["case"]], "batch": 1} for im in design.imagery
    ]
    images.append(
        {
            "case": "C02",
            "scenario": "疑似反弹",
            "parcel_id": pid["R02"],
            "batch": 2,
            "before": "大棚薄膜",
            "after": "新建房屋屋顶",
            "hint": "疑似反弹",
        }
    )
    for im in images:
        im.update(
            _site_stats(md_path.parent / "imagery", parcels[im["batch"]].geometry[im["parcel_id"]])
        )
    parcel_list = [
        {k: v for k, v in r.items() if k != "_fps"} for r in list(precs.values()) + background
    ]
    doc: dict[str, Any] = {
        "county": {
            "code": COUNTY_CODE,
            "name": COUNTY_NAME,
            "region": "north",
            "scale": county.spec.name,
            "seed": county.seed,
        },
        "rules": RULES,
        "cases": rows,
        "parcels": parcel_list,
        "invalid_parcel": invalid,
        "imagery": {
            "before": "imagery/before.tif",
            "after": "imagery/after.tif",
            "before_date": "2025-10-15",
            "after_date": "2026-06-18",
            "box_epsg4549": [round(v, 2) for v in county.imagery_box],
            "sites": images,
        },
    }
    json_path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    md_path.write_text(_markdown(doc), encoding="utf-8")
    return doc


def _site_stats(folder: Path, parcel: shapely.Geometry) -> dict[str, float]:
    """Per-parcel change statistics of the image pair.

    Mean NDVI on both images and the share of pixels whose NDVI fell / rose by more than 0.3;
    mean visible brightness (B+G+R)/3 and the share of pixels whose brightness changed by more
    than 25 %. NDVI cannot tell a roof from greenhouse film (both about 0.06-0.08), brightness can.
    """
    import rasterio
    from rasterio.features import geometry_mask

    ndvi, bright = [], []
    for name in ("before.tif", "after.tif"):
        with rasterio.open(folder / name) as src:
            img = src.read().astype(float)
            mask = geometry_mask(
                [shapely.make_valid(parcel)],
                out_shape=img.shape[1:],
                transform=src.transform,
                invert=True,
            )
        red, nir = img[2][mask], img[3][mask]
        ndvi.append((nir - red) / np.maximum(nir + red, 1.0))
        bright.append(img[:3, mask].mean(axis=0))
    dn = ndvi[1] - ndvi[0]
    db = np.abs(bright[1] - bright[0]) / np.maximum(bright[0], 1.0)
    return {
        "ndvi_before": round(float(ndvi[0].mean()), 3),
        "ndvi_after": round(float(ndvi[1].mean()), 3),
        "share_ndvi_drop": round(float((dn < -0.3).mean()), 3),
        "share_ndvi_rise": round(float((dn > 0.3).mean()), 3),
        "brightness_before": round(float(bright[0].mean()), 1),
        "brightness_after": round(float(bright[1].mean()), 1),
        "share_brightness_change": round(float((db > 0.25).mean()), 3),
    }


def _md_cell(x: Any) -> str:
    if x is None:
        return "—"
    return str(x).replace("|", "\\|").replace("\n", " ")


def _markdown(doc: dict[str, Any]) -> str:
    c = doc["county"]
    r = doc["rules"]
    L = [
        f"# EXPECTED: planted cases of the sample county {c['name']} ({c['code']}), scale {c['scale']}, seed {c['seed']}",
        "",
        "Generated by `parcelwatch samples make` together with the data, and checked at generation time against a",
        "plain restatement of the default rules (`parcelwatch.samples.expected.reference_class`); `tests/test_samples.py`",
        "re-derives every class independently from the written files. The same rows are in `expected.json` (`cases`).",
        "",
        "**Conventions.** Footprint areas are ellipsoidal (CGCS2000, pyproj `Geod` on lon/lat vertices); planar areas are",
        "EPSG:4549. 耕地 = DLBM 0101/0102/0103; 耕地 in a parcel = Σ overlap × TBDLMJ/TBMJ (all planted sites lie on 水浇地",
        "0102 with KCXS 0, so the factor is 1). 1 亩 = 10000/15 m². Region: **north** (看护房 limit 22.5 m²).",
        "",
        f"**Rules (defaults).** On farmland: overlap with 耕地 or 永农 ≥ {r['farmland_min_m2']} m² and ≥ {r['farmland_min_share']:.0%} of the footprint. Inside a",
        f"greenhouse: ≥ {r['greenhouse_inside_share']:.0%} within greenhouse polygons. Agricultural context: within {r['context_distance_m']:.0f} m of a greenhouse, or",
        "inside a park or a 设施农用地备案 polygon. III: 看护房/管护房/管理房 inside or within 10 m of a greenhouse with ≥ 2 storeys",
        "or above the regional limit (north 22.5, south 15, severe cold 30, unset 15 m²). II: inside a greenhouse, on farmland, not",
        "a caretaker room within limits. I: outside greenhouses, on farmland, in context, non-agricultural use or unknown use",
        "≥ 30 m²; or any non-agricultural use on a 设施农用地备案 polygon. Conversion: on farmland outside context. Covered ≥ 90 %",
        "by 建设用地/农转用 → none, suggested 合法; by 临时用地 → none, suggested 其他. Parcel class = most severe (I > II > III >",
        "conversion); priority high when 永农 is occupied; alert at 永农 ≥ 5 亩, other 耕地 ≥ 10 亩 illegally occupied, or ≥ 100 亩",
        "耕地 in the parcel.",
        "",
        "## Planted footprints",
        "",
        "| case | batch | parcel_id | footprint_id | expected_class | rule | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in doc["cases"]:
        note = row["note"]
        if row.get("suggested"):
            note += f"; suggested {row['suggested']} ({row['approval_doc']})"
        if row["expected_class_region_unset"] != row["expected_class"]:
            note += f"; region unset → {row['expected_class_region_unset']}"
        if row["batch"] == 2:
            note += f"; recheck {row['recheck']}" + (
                f" of {row['same_as']}" if row.get("same_as") else ""
            )
        L.append(
            "| "
            + " | ".join(
                _md_cell(x)
                for x in (
                    row["case"],
                    row["batch"],
                    row["parcel_id"],
                    row["footprint_id"],
                    row["expected_class"],
                    row["rule"],
                    note,
                )
            )
            + " |"
        )
    L += [
        "",
        "## Parcels",
        "",
        "Case titles: "
        + "; ".join(
            sorted(
                {f"{p['case']} = {p['title']}" for p in doc["parcels"] if p["case"] != "background"}
            )
        ),
        "",
    ]
    L += [
        "| parcel_id | batch | case | expected_class | priority | alert | area 亩 | 耕地 亩 | 永农 亩 | occupied 耕地 亩 | township | recheck |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in doc["parcels"]:
        rc = p.get("recheck", "")
        if p.get("same_as"):
            rc += f" of {p['same_as']} (IoU {p['iou']})"
        town = p["township_code"] + (
            ""
            if len(p["township_shares"]) == 1
            else " (" + ", ".join(f"{k} {v:.1%}" for k, v in p["township_shares"].items()) + ")"
        )
        alert = ("yes: " + p["alert_reason"]) if p["alert"] else "no"
        cls = p["expected_class"] + (
            ""
            if p["expected_class_region_unset"] == p["expected_class"]
            else f" (unset: {p['expected_class_region_unset']})"
        )
        L.append(
            "| "
            + " | ".join(
                _md_cell(x)
                for x in (
                    p["parcel_id"],
                    p["batch"],
                    p["case"],
                    cls,
                    p["priority"],
                    alert,
                    f"{p['area_mu']:.2f}",
                    f"{p['farmland_mu']:.2f}",
                    f"{p['pbf_mu']:.2f}",
                    f"{p['occupied_farmland_mu']:.2f}",
                    town,
                    rc,
                )
            )
            + " |"
        )
    inv = doc["invalid_parcel"]
    L += [
        "",
        "## Invalid geometry",
        "",
        f"Parcel **{inv['parcel_id']}** (case {inv['case']}) has a self-intersecting ring ({inv['reason']}): {inv['note']}.",
        f"`shapely.make_valid` repairs it into a {inv['repaired_type']} of {inv['repaired_parts']} part(s), {inv['repaired_area_m2']:.2f} m² = {inv['repaired_area_mu']:.2f} 亩 (ellipsoidal).",
        "",
        "## Batch 2 (recheck)",
        "",
        "`卫片图斑_2026年第2批.shp` is judged with `建筑物_2026年第2批.shp` (the later state: C01, C02 and C08 buildings demolished,",
        "the rebound restaurant R02 and the new factory N1 added). `recheck`: **same** = the same site as the batch-1 parcel",
        "`same_as` (redrawn, IoU given, or identical); **rebound** = same site as a batch-1 parcel that the demo closes (已销号) after",
        "demolition, and a new building stands there again (反弹); **new** = a site not in batch 1.",
        "",
        "## Imagery hints",
        "",
        f"`{doc['imagery']['before']}` ({doc['imagery']['before_date']}) and `{doc['imagery']['after']}` ({doc['imagery']['after_date']}), 2 m, EPSG:4549, box {doc['imagery']['box_epsg4549']}.",
        "Each site tells its own story (a synthetic pair cannot be one consistent timeline for every case):",
        "",
        "| case | parcel_id | batch | scenario | before | after | expected hint | NDVI before → after | pixels NDVI −0.3 / +0.3 | pixels brightness ±25 % |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in doc["imagery"]["sites"]:
        L.append(
            "| "
            + " | ".join(
                _md_cell(x)
                for x in (
                    s["case"],
                    s["parcel_id"],
                    s["batch"],
                    s["scenario"],
                    s["before"],
                    s["after"],
                    s["hint"],
                    f"{s['ndvi_before']:.2f} → {s['ndvi_after']:.2f}",
                    f"{s['share_ndvi_drop']:.1%} / {s['share_ndvi_rise']:.1%}",
                    f"{s['share_brightness_change']:.1%}",
                )
            )
            + " |"
        )
    L += [
        "",
        "Statistics are over the whole parcel (EPSG:4549 pixels whose centre is inside it). Only the planted sites differ;",
        "everywhere else both images show the same land cover (the after image is 1.5 % brighter overall, with independent",
        "pixel noise). NDVI cannot tell a roof from greenhouse film (both about 0.06-0.08): use brightness for those sites.",
        "",
    ]
    return "\n".join(L)


def write_readme(county: SampleCounty, path: Path, counts: dict[str, int]) -> None:
    """data/samples/README.md: every file, its format, CRS, encoding and fields."""
    s = county.spec
    text = f"""# Sample county 禾丰县 (370790) — synthetic test data

Made by `parcelwatch samples make DIR --scale {s.name} --seed {county.seed}` (library: `parcelwatch.samples.make_samples`).
Everything here is **fictional**: a county in Shandong greenhouse country centred at about 118.75 E, 36.86 N, in
CGCS2000 3-degree Gauss-Kruger zone 40 (central meridian 120 E). Region for caretaker-room limits: **north** (22.5 m²).
The planted test cases and their hand-checked answers are in `EXPECTED.md` / `expected.json`.

| file | format | CRS | encoding | features |
|---|---|---|---|---|
| `基础数据.gpkg` | GeoPackage, layers DLTB, YJJBNTTB, XZQ, CJDCQ | **EPSG:4528** (zone-prefixed, X ≈ 40 3xx xxx) | UTF-8 | {counts["DLTB"]} / {counts["YJJBNTTB"]} / {counts["XZQ"]} / {counts["CJDCQ"]} |
| `卫片图斑_2026年第1批.shp` | shapefile, polygons | EPSG:4490 (lon/lat, .prj) | **GBK, no .cpg, LDID 0** | {counts["parcels_batch1"]} |
| `卫片图斑_2026年第2批.shp` | same as batch 1 | EPSG:4490 | GBK, no .cpg, LDID 0 | {counts["parcels_batch2"]} |
| `大棚.geojson` | GeoJSON with `crs` member | EPSG:4490 | UTF-8 | {counts["greenhouses"]} |
| `建筑物.shp` | shapefile, polygons (state at batch 1) | **EPSG:4549** (no zone prefix) | UTF-8, `.cpg` = `UTF-8` | {counts["buildings"]} |
| `建筑物_2026年第2批.shp` | same, state at batch 2 | EPSG:4549 | UTF-8 with .cpg | {counts["buildings_batch2"]} |
| `审批备案.gpkg` | GeoPackage, layer PZYD | EPSG:4490 | UTF-8 | {counts["approvals"]} |
| `农业园区.geojson` | GeoJSON with `crs` member | EPSG:4490 | UTF-8 | {counts["parks"]} |
| `imagery/before.tif`, `imagery/after.tif` | GeoTIFF, 4 bands B/G/R/NIR, uint16 reflectance × 10000, nodata 0, 2 m, tiled, DEFLATE + predictor 2 | EPSG:4549 | — | 1000 × 750 px |
| `卫片线索明细表.xlsx` | Excel: merged title row 1, units row 2, **header row 3**, one row per batch-1 parcel, totals row 合计 | — | — | {counts["parcels_batch1"]} rows |
| `EXPECTED.md`, `expected.json` | planted cases and parcel-level expectations | — | UTF-8 | {counts["planted_findings"]} rows |

## Fields

**DLTB** (三调地类图斑; a full coverage of the county without gaps or overlaps, neighbours share their vertices so
`shapely.coverage_is_valid` holds): `BSM` int (unique), `DLBM` 4-char 三调 code
(0101 水田, 0102 水浇地, 0103 旱地, 0201 果园, 0301 乔木林地, 0307 其他林地, 0404 其他草地, 0601 工业用地, 0702 农村宅基地,
1003 公路用地, 1006 农村道路, 1101 河流水面, 1104 坑塘水面, 1107 沟渠, 1202 设施农用地, 1203 田坎), `DLMC` name, `TBMJ` float m²
(ellipsoidal area, pyproj Geod on CGCS2000, rounded 0.01), `KCXS` 田坎 coefficient (0 except 旱地 0.02-0.12), `KCMJ` =
round(TBMJ × KCXS, 2), `TBDLMJ` = TBMJ − KCMJ, `ZLDWDM` 19 digits (12-digit village code + `0000000`), `ZLDWMC` village name.

**YJJBNTTB** (永久基本农田图斑, copies of about 60 % of the 耕地 patches): `BSM`, `YJJBNTTBBH` str, `DLBM`, `TBMJ`, `ZLDWDM`.
**XZQ** (townships): `XZQDM` 9 digits (370790100, 370790101 …), `XZQMC`. **CJDCQ** (villages): `ZLDWDM` 12 digits, `ZLDWMC`.

**卫片图斑** (GBK; field names are GBK bytes, ≤ 10 bytes): `监测编号` str unique (`3707902026Q1001` …), `行政区代码` 9-digit
township code (the township holding the largest share), `行政区名称`, `监测面积` float **亩** (2 dp; ellipsoidal area of the
repaired geometry), `前时相` / `后时相` str `YYYY-MM-DD`, `批次` (`2026年第1批` / `2026年第2批`), `图斑类型` (新增建设用地 / 大棚房 /
推填土 / 其他). Read with an explicit encoding (`encoding="GB18030"`): without `.cpg` and with LDID 0, GDAL falls back to
ISO-8859-1 and shows mojibake. One batch-1 parcel (`{county.parcel_ids["C11"]}`) is an invalid bowtie polygon on purpose.

**大棚.geojson**: `大棚编号` (G00001 …), `类型` (日光温室 / 塑料大棚 / 连栋温室), `园区编号` (park id, or null outside parks).

**建筑物.shp**: `JZBH` (B00001 …), `YT` 用途 (住宅, 别墅, 餐饮, 住宿, 养老, 厂房, 仓储, 看护房, 管护房, 管理房, 农机库, 农资仓库,
畜禽舍; empty = unknown, about 10 %), `CS` 层数 int (some empty), `GD` height m float (some empty).
`建筑物_2026年第2批.shp` is the later state used with the batch-2 parcels (demolished buildings gone, new ones added).

**审批备案.gpkg / PZYD**: `批准文号` (鲁政土字〔2025〕123号, 禾自然资设备〔2025〕7号, 禾临用〔2026〕3号 …), `批准类型` (建设用地 /
农转用 / 设施农用地备案 / 临时用地), `项目名称`, `批准日期` (GeoPackage DATE), `备案用途` (蔬菜种植, 食用菌生产, 育苗, 畜禽养殖 for
设施农用地备案; null otherwise). A 设施农用地备案 is a filing for agricultural facilities, not a permit for non-agricultural
building.

**农业园区.geojson**: `园区编号` (YQ001 …), `园区名称`.

**卫片线索明细表.xlsx** (sheet 线索明细): 序号, 监测批次, 线索编号 (= 监测编号, stored as text), 县(市、区), 乡镇(街道),
监测面积(亩), 耕地面积(亩) (Σ overlap with 耕地 × TBDLMJ/TBMJ), 核查结果 (未核查), 整改状态, 剩余未整改面积(亩), 备注; last row 合计.

## Where the planted cases are

All planted cases lie in a hand-designed 3 km × 2 km district (10 × 8 field blocks of 300 m × 250 m) west of the county
centre, split by a 12 m county road into 禾丰镇 (west) and 东河乡 (east); the agricultural park YQ001 (禾丰县现代农业蔬菜产业园)
is its north-west part, and the imagery covers its western 2 km × 1.5 km. The district is identical for every seed and
scale; the rest of the county (the background) is random but contains no rule violations at scale `small` (every
background parcel is documented in `expected.json` with class `none`).

## Scales

`small` is committed here (≤ 10 MB). `--scale medium` (~5 000 parcels per batch, ~50 000 DLTB patches, ~20 000
greenhouses, ~20 000 buildings) and `--scale large` (≥ 50 000 parcels, ~500 000 patches, ~200 000 greenhouses and
buildings) write the same files with the same planted cases, for benchmarks. The same seed always gives the same features.
"""
    path.write_text(text, encoding="utf-8")
