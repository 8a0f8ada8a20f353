"""classify(): per-footprint findings and per-parcel candidates, with reasons. Pure.

Inputs are canonical GeoDataFrames (see :mod:`parcelwatch.io.schema`) in one metric CRS (the
county's Gauss-Kruger zone, as :func:`parcelwatch.pipeline.load_inputs` returns them). A layer
passed as ``None`` is missing: the rules that need it do not run and the result says so; an empty
layer is present and simply holds nothing.

Buildings are considered where they overlap a parcel by at least ``geometry.min_overlap_m2``.
Rules judge the whole footprint; a footprint crossing two parcels gives a finding in each, and
parcel totals take the share of the footprint that lies in the parcel.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from parcelwatch.config import DEFAULT_RULES, Rules
from parcelwatch.crs import ellipsoidal_area_m2
from parcelwatch.errors import CRSError, SchemaError
from parcelwatch.rules.catalog import (
    APPROVAL_EN,
    APPROVAL_RULE_ID,
    APPROVAL_ZH,
    CATALOG,
    CLASS_LABELS,
    CLASS_ORDER,
    use_category,
)
from parcelwatch.rules.overlay import (
    THREADS,
    Pairs,
    id_rank,
    identical_in,
    max_by,
    overlap_pairs,
    pairs_via_identical,
    sum_by,
)
from parcelwatch.units import m2_to_mu

__all__ = ["Classification", "classify"]

_USE_EN = {
    "住宅": "residential",
    "别墅": "villa",
    "餐饮": "catering",
    "住宿": "lodging",
    "娱乐": "entertainment",
    "会所": "club",
    "会议": "conference",
    "养老": "elderly care",
    "厂房": "factory",
    "仓储": "warehouse",
    "看护房": "caretaker room",
    "管护房": "caretaker room",
    "管理房": "caretaker room",
}
_REGION_EN = {
    "北方标准": "north",
    "南方标准": "south",
    "严寒地区标准": "severe-cold",
    "最严标准（未设置县域所属地区）": "strictest (the county's region is not set)",
}


@dataclass
class Classification:
    """The result of :func:`classify`."""

    parcels: gpd.GeoDataFrame
    findings: gpd.GeoDataFrame
    footprints: pd.DataFrame
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rules_digest: str = ""

    def counts(self) -> dict[str, int]:
        """Parcels per candidate class (I, II, III, conversion, none)."""
        vc = self.parcels["problem_class"].value_counts()
        return {c: int(vc.get(c, 0)) for c in (*CLASS_ORDER, "none")}


def _check_crs(parcels: gpd.GeoDataFrame, layers: dict[str, gpd.GeoDataFrame | None]) -> None:
    if parcels.crs is None or not parcels.crs.is_projected:
        raise CRSError(
            f"classify needs layers in a metric CRS (the county's Gauss-Kruger zone); the parcels are in "
            f"{parcels.crs.name if parcels.crs else 'no CRS'}. Load them with parcelwatch.load_inputs, "
            "which reprojects every layer to the working zone."
        )
    for name, g in layers.items():
        if g is not None and (g.crs is None or not g.crs.equals(parcels.crs)):
            raise CRSError(
                f"classify: the {name} layer is in {g.crs.name if g.crs is not None else 'no CRS'}, the parcels in "
                f"{parcels.crs.name}. Reproject with .to_crs(parcels.crs), or load all layers with load_inputs."
            )


def _need(frame: gpd.GeoDataFrame, role: str, cols: tuple[str, ...]) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"classify: the {role} layer lacks the canonical column(s) {', '.join(missing)}. Load it with read_layer(..., role='{role}')."
        )


def _geoms(frame: gpd.GeoDataFrame | None) -> np.ndarray:
    if frame is None:
        return np.zeros(0, dtype=object)
    return np.asarray(frame.geometry.values, dtype=object)


def _type_mask(types: pd.Series, words: tuple[str, ...]) -> np.ndarray:
    text = types.fillna("").astype(str)
    mask = np.zeros(len(text), dtype=bool)
    for w in words:
        mask |= text.str.contains(w, regex=False).to_numpy()
    return mask


def classify(
    parcels: gpd.GeoDataFrame,
    *,
    farmland: gpd.GeoDataFrame | None = None,
    pbf: gpd.GeoDataFrame | None = None,
    greenhouses: gpd.GeoDataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    approvals: gpd.GeoDataFrame | None = None,
    parks: gpd.GeoDataFrame | None = None,
    townships: gpd.GeoDataFrame | None = None,
    villages: gpd.GeoDataFrame | None = None,
    rules: Rules = DEFAULT_RULES,
) -> Classification:
    """Classify every parcel; see the module docstring. Does not modify its inputs."""
    layers = {
        "farmland": farmland,
        "pbf": pbf,
        "greenhouses": greenhouses,
        "buildings": buildings,
        "approvals": approvals,
        "parks": parks,
        "townships": townships,
        "villages": villages,
    }
    _check_crs(parcels, layers)
    _need(parcels, "parcels", ("parcel_id",))
    if farmland is not None:
        _need(farmland, "farmland", ("dlbm",))
    if buildings is not None:
        _need(buildings, "buildings", ("building_id",))
    if approvals is not None:
        _need(approvals, "approvals", ("approval_id", "approval_type"))
    crs = parcels.crs
    present = {k for k, v in layers.items() if v is not None}
    skipped = [
        (r.id, "no " + " / ".join(n for n in r.needs if n not in present) + " layer")
        for r in CATALOG
        if not set(r.needs) <= present
    ]
    notes: list[str] = []

    P = _geoms(parcels)
    p_area = ellipsoidal_area_m2(P, crs)
    with ThreadPoolExecutor(1) as beside:
        return _classify(parcels, layers, P, p_area, present, skipped, notes, rules, crs, beside)


def _classify(
    parcels: gpd.GeoDataFrame,
    layers: dict[str, gpd.GeoDataFrame | None],
    P: np.ndarray,
    p_area: np.ndarray,
    present: set[str],
    skipped: list[tuple[str, str]],
    notes: list[str],
    rules: Rules,
    crs: Any,
    beside: ThreadPoolExecutor,
) -> Classification:
    farmland, pbf, greenhouses, buildings, approvals, parks, townships, villages = (
        layers[k]
        for k in ("farmland", "pbf", "greenhouses", "buildings", "approvals", "parks", "townships", "villages")
    )  # fmt: skip
    g = rules.geometry
    n_p = len(P)
    # --- farmland (耕地) and 永久基本农田 in each parcel
    farm_job: Future[tuple[Pairs, np.ndarray | None]] | None = None
    if farmland is not None:
        farm_mask = farmland["dlbm"].isin(rules.farmland.codes).to_numpy()
        F_all = _geoms(farmland)
        ratio_all = np.ones(len(F_all))
        if rules.farmland.deduct_tiankan and {"tbdlmj", "tbmj"} <= set(farmland.columns):
            r = farmland["tbdlmj"].to_numpy(dtype=float) / farmland["tbmj"].to_numpy(dtype=float)
            ratio_all = np.where(np.isfinite(r) & (r > 0) & (r <= 1), r, 1.0)
        F, ratio = F_all[farm_mask], ratio_all[farm_mask]
        # One overlay with every land-use patch (耕地 from the farmland ones, coverage from all),
        # the largest: it runs on a thread beside the greenhouse, approval and building overlays
        # below (so one's index building and sorting fill the time the other's intersections
        # leave a core idle). It gets its own copy of the parcels: a GEOS prepared geometry must
        # not be used by two threads at once, and both sides prepare parcels. Nothing else may
        # prepare the land-use patches until it is done (the building metrics do); reading them
        # is safe (GEOS computes a geometry's envelope when it builds it).
        P_own = shapely.from_wkb(shapely.to_wkb(P)) if THREADS > 1 else P
        farm_job = beside.submit(overlap_pairs, P_own, F_all, crs, left_area_m2=p_area)
    else:
        F, ratio, p_farm = np.zeros(0, dtype=object), np.ones(0), np.full(n_p, np.nan)
        p_cover = np.full(n_p, np.nan)
        notes.append("no farmland layer: 耕地 areas are unknown")

    # --- greenhouses in each parcel
    G = _geoms(greenhouses)
    pg, _ = overlap_pairs(P, G, crs, left_area_m2=p_area, min_area_m2=g.min_overlap_m2)
    p_gh_count = np.bincount(pg.left, minlength=n_p)[:n_p] if len(pg) else np.zeros(n_p, int)
    p_gh_area = sum_by(pg.left, pg.area_m2, n_p)

    # --- approvals by kind
    A = _geoms(approvals)
    a_rules = rules.approval
    if approvals is not None:
        a_types = approvals["approval_type"]
        kind_masks = {
            "legal": _type_mask(a_types, a_rules.legal_types),
            "temporary": _type_mask(a_types, a_rules.temporary_types),
            "facility": _type_mask(a_types, a_rules.facility_types),
        }
        kind_masks["legal"] &= ~kind_masks["facility"]
        unknown_types = approvals.loc[
            ~(kind_masks["legal"] | kind_masks["temporary"] | kind_masks["facility"]),
            "approval_type",
        ]
        if len(unknown_types):
            notes.append(
                f"{len(unknown_types)} approval(s) of unrecognised type ({', '.join(sorted(set(map(str, unknown_types)))[:5])}) "
                "do not clear any building; add the type to [approval] legal_types / temporary_types / facility_types"
            )
        pa, _ = overlap_pairs(P, A, crs, left_area_m2=p_area)
        p_share = {
            k: np.minimum(
                sum_by(pa.left[m[pa.right]], pa.area_m2[m[pa.right]], n_p)
                / np.where(p_area > 0, p_area, 1),
                1.0,
            )
            for k, m in kind_masks.items()
        }
    else:
        kind_masks = {}
        p_share = {k: np.full(n_p, np.nan) for k in ("legal", "temporary", "facility")}

    # --- buildings overlapping parcels
    B_all = _geoms(buildings)
    b_all_area = ellipsoidal_area_m2(B_all, crs) if len(B_all) else np.zeros(0)
    pb, _ = overlap_pairs(
        P, B_all, crs, left_area_m2=p_area, right_area_m2=b_all_area, min_area_m2=g.min_overlap_m2
    )

    Q = _geoms(pbf)
    # 永农 patches identical to a 耕地 patch reuse its overlaps (no second intersection). Found
    # while the land-use overlay runs: bounds and exact equality read the patches and prepare
    # nothing, so they may share them with that thread.
    q_twin = identical_in(Q, F) if farmland is not None else np.full(len(Q), -1)
    if farm_job is not None:
        pf, _ = farm_job.result()
        on_farm = farm_mask[pf.right]
        p_farm = sum_by(pf.left[on_farm], pf.area_m2[on_farm] * ratio_all[pf.right[on_farm]], n_p)
        # a share for a notice: rounded to 1e-6 so that the order the patches were read in (whole
        # files or the reference store's extents) cannot change it in the last bits
        p_cover = np.round(
            np.minimum(sum_by(pf.left, pf.area_m2, n_p) / np.where(p_area > 0, p_area, 1), 1.0), 6
        )
    if pbf is not None:
        if farmland is not None:
            # the parcel pairs ``pf`` index every land-use patch (F_all); ``q_twin`` indexes 耕地 (F)
            farm_pos = np.r_[np.flatnonzero(farm_mask), -1]  # q_twin == -1 picks the -1 sentinel
            q_twin_all = farm_pos[q_twin]
            pq = pairs_via_identical(P, Q, q_twin_all, pf, crs, left_area_m2=p_area)
        else:
            pq = overlap_pairs(P, Q, crs, left_area_m2=p_area)[0]
        p_pbf = sum_by(pq.left, pq.area_m2, n_p)
    else:
        p_pbf = np.full(n_p, np.nan)

    cand = np.unique(pb.right)
    B = B_all[cand]
    b_area = b_all_area[cand]
    pos_of = np.full(len(B_all), -1, dtype=np.int64)
    pos_of[cand] = np.arange(len(cand))
    m = _footprint_metrics(
        buildings,
        cand,
        B,
        b_area,
        F,
        ratio,
        Q,
        G,
        greenhouses,
        A,
        approvals,
        kind_masks,
        parks,
        rules,
        crs,
        q_twin,
        beside,
    )

    # --- rules
    fired: list[tuple[str, np.ndarray]] = []
    run_rules = [r for r in CATALOG if set(r.needs) <= present]
    if len(m):
        covered = m["covered"].to_numpy()
        any_fired = np.zeros(len(m), dtype=bool)
        for rule in run_rules:
            hit = np.asarray(rule.fires(m, rules), dtype=bool)
            any_fired |= hit
            fired.append((rule.id, hit & ~covered))
        approved = covered & (any_fired | m["on_farmland"].to_numpy())
        fired.append((APPROVAL_RULE_ID, approved))

    findings = _findings(fired, m, pb, pos_of, cand, parcels, buildings, rules)

    # --- parcel aggregation
    alloc = pb.area_m2 / np.where(b_all_area[pb.right] > 0, b_all_area[pb.right], 1)
    bpos = pos_of[pb.right]
    col = lambda name: m[name].to_numpy(dtype=float)[bpos] if len(m) else np.zeros(0)  # noqa: E731
    out = parcels.copy()
    out["parcel_area_m2"] = p_area
    out["farmland_m2"] = p_farm
    out["pbf_m2"] = p_pbf
    out["greenhouse_count"] = p_gh_count
    out["greenhouse_m2"] = p_gh_area
    out["building_count"] = (
        np.bincount(pb.left, minlength=n_p)[:n_p] if len(pb) else np.zeros(n_p, int)
    )
    out["building_m2"] = sum_by(pb.left, pb.area_m2, n_p)
    out["building_farmland_m2"] = sum_by(pb.left, col("farmland_m2") * alloc, n_p)
    out["building_pbf_m2"] = sum_by(pb.left, col("pbf_m2") * alloc, n_p)
    out["building_in_greenhouse_m2"] = sum_by(pb.left, col("greenhouse_inside_m2") * alloc, n_p)
    for k in ("legal", "temporary", "facility"):
        out[f"approval_{k}_share"] = p_share[k]
    _parcel_classes(out, findings, m, pb, bpos, alloc, rules)
    if pbf is None:  # not checked: unknown, never 0
        out["building_pbf_m2"] = np.nan
        out["illegal_pbf_m2"] = np.nan
    _coverage(out, p_cover, notes)
    _admin(out, townships, villages, P, p_area, crs)
    for c in [c for c in out.columns if c.endswith("_m2")]:
        out[c.replace("_m2", "_mu")] = m2_to_mu(out[c])
    return Classification(out, findings, m, skipped, notes, rules.digest())


def _footprint_metrics(
    buildings,
    cand,
    B,
    b_area,
    F,
    ratio,
    Q,
    G,
    greenhouses,
    A,
    approvals,
    kind_masks,
    parks,
    rules,
    crs,
    q_twin=None,
    beside=None,
) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """One row per candidate building: areas on farmland/永农/greenhouses/parks/approvals.

    With ``beside`` (a one-thread executor, idle) the overlay with the 耕地 patches runs there
    while this thread does the greenhouse, park and approval ones; it gets its own copy of the
    buildings, since both overlays may prepare them (a GEOS prepared geometry is not for two
    threads)."""
    n = len(B)
    g, gh = rules.geometry, rules.greenhouse
    if buildings is None or n == 0:
        return pd.DataFrame()
    src = buildings.iloc[cand]
    m = pd.DataFrame(
        {
            "building_id": src["building_id"].to_numpy(),
            "use": src["use"].to_numpy() if "use" in src else np.full(n, None, dtype=object),
            "storeys": src["storeys"].to_numpy()
            if "storeys" in src
            else pd.array([pd.NA] * n, dtype="Int64"),
            "area_m2": b_area,
        }
    )
    m["use_category"] = use_category(m["use"], rules).to_numpy()
    land_use = ("farmland_gross_m2", "farmland_m2", "pbf_m2", "on_farmland")
    for c in land_use:  # filled below, once the overlay with the 耕地 patches is in
        m[c] = np.nan
    if beside is not None and THREADS > 1 and len(F):
        bf_job = beside.submit(
            overlap_pairs, shapely.from_wkb(shapely.to_wkb(B)), F, crs, left_area_m2=b_area
        )
    else:
        bf_job = None
        bf, _ = overlap_pairs(B, F, crs, left_area_m2=b_area)
    # greenhouses: inside share, the main one, and the nearest within the context distance
    bg, _ = overlap_pairs(B, G, crs, left_area_m2=b_area)
    inside = sum_by(bg.left, bg.area_m2, n)
    m["greenhouse_inside_m2"] = np.minimum(inside, b_area)
    m["greenhouse_share"] = np.minimum(inside / np.where(b_area > 0, b_area, 1), 1.0)
    m["in_greenhouse"] = m["greenhouse_share"].to_numpy() >= gh.inside_share
    gh_ids = (
        greenhouses["greenhouse_id"].to_numpy()
        if greenhouses is not None and "greenhouse_id" in greenhouses
        else np.arange(len(G)).astype(str)
    )
    gh_rank = id_rank(gh_ids)
    best, _ = max_by(bg.left, bg.area_m2, n, tiebreak=gh_rank[bg.right] if len(bg) else None)
    main = np.full(n, None, dtype=object)
    main[best >= 0] = gh_ids[bg.right[best[best >= 0]]]
    dist = np.full(n, np.inf)
    near = np.full(n, None, dtype=object)
    if len(G):
        reach = max(gh.context_distance_m, gh.caretaker_distance_m)
        bi, gi = shapely.STRtree(G).query_nearest(
            B, max_distance=reach, return_distance=False, all_matches=True
        )
        d = shapely.distance(B[bi], G[gi])
        first, _ = max_by(bi, -d, n, tiebreak=gh_rank[gi])  # nearest, ties to the smallest id
        ok = first >= 0
        dist[ok] = d[first[ok]]
        near[ok] = gh_ids[gi[first[ok]]]
    m["greenhouse_id"] = np.where(pd.isna(main), near, main)
    m["greenhouse_distance_m"] = dist
    # parks
    K = _geoms(parks)
    bk, _ = overlap_pairs(B, K, crs, left_area_m2=b_area)
    park_ids = (
        parks["park_id"].to_numpy()
        if parks is not None and "park_id" in parks
        else np.arange(len(K)).astype(str)
    )
    best, best_val = max_by(
        bk.left, bk.area_m2, n, tiebreak=id_rank(park_ids)[bk.right] if len(bk) else None
    )
    m["park_id"] = np.where(
        best >= 0, park_ids[bk.right[np.maximum(best, 0)]] if len(bk) else None, None
    )
    m["in_park"] = (best_val / np.where(b_area > 0, b_area, 1)) >= gh.park_inside_share
    # approvals by kind
    ba, _ = overlap_pairs(B, A, crs, left_area_m2=b_area)
    a_ids = (
        approvals["approval_id"].to_numpy() if approvals is not None else np.zeros(0, dtype=object)
    )
    filed_use = (
        approvals["filed_use"].to_numpy()
        if approvals is not None and "filed_use" in approvals
        else np.full(len(A), None, dtype=object)
    )
    for kind in ("legal", "temporary", "facility"):
        mask = kind_masks.get(kind, np.zeros(len(A), dtype=bool))
        sel = mask[ba.right] if len(ba) else np.zeros(0, dtype=bool)
        share = np.minimum(
            sum_by(ba.left[sel], ba.area_m2[sel], n) / np.where(b_area > 0, b_area, 1), 1.0
        )
        best, _ = max_by(
            ba.left[sel],
            ba.area_m2[sel],
            n,
            tiebreak=id_rank(a_ids)[ba.right[sel]] if sel.any() else None,
        )
        ids = np.full(n, None, dtype=object)
        if sel.any():
            ids[best >= 0] = a_ids[ba.right[sel][best[best >= 0]]]
            if kind == "facility":
                fu = np.full(n, None, dtype=object)
                fu[best >= 0] = filed_use[ba.right[sel][best[best >= 0]]]
                m["filed_use"] = fu
        m[f"{kind}_share"] = share
        m[f"{kind}_id"] = ids
    m["on_filing"] = m["facility_share"].to_numpy() >= rules.approval.filing_inside_share
    m["in_context"] = (
        (m["greenhouse_distance_m"].to_numpy() <= gh.context_distance_m)
        | m["in_park"].to_numpy()
        | m["on_filing"].to_numpy()
    )
    cover = rules.approval.cover_share
    m["covered"] = (m["legal_share"].to_numpy() >= cover) | (
        m["temporary_share"].to_numpy() >= cover
    )
    # farmland and 永农
    if bf_job is not None:
        bf, _ = bf_job.result()
    m["farmland_gross_m2"] = sum_by(bf.left, bf.area_m2, n)
    m["farmland_m2"] = sum_by(bf.left, bf.area_m2 * ratio[bf.right], n)
    if q_twin is not None and len(F):
        bq = pairs_via_identical(B, Q, q_twin, bf, crs, left_area_m2=b_area)
    else:
        bq, _ = overlap_pairs(B, Q, crs, left_area_m2=b_area)
    m["pbf_m2"] = sum_by(bq.left, bq.area_m2, n)
    occupied = np.maximum(m["farmland_gross_m2"].to_numpy(), m["pbf_m2"].to_numpy())
    m["on_farmland"] = (occupied >= g.min_overlap_m2) & (occupied >= g.min_overlap_share * b_area)
    return m


def _fmt_use(u: object) -> tuple[str, str]:
    if u is None or (isinstance(u, float) and np.isnan(u)) or str(u).strip() == "":
        return "用途不详", "use unknown"
    s = str(u)
    return s, _USE_EN.get(s, s)


def _findings(fired, m, pb, pos_of, cand, parcels, buildings, rules) -> gpd.GeoDataFrame:  # type: ignore[no-untyped-def]
    cols = [
        "parcel_id",
        "footprint_id",
        "rule_id",
        "problem_class",
        "reason",
        "reason_en",
        "footprint_m2",
        "farmland_m2",
        "pbf_m2",
        "greenhouse_share",
        "greenhouse_id",
        "greenhouse_distance_m",
        "in_parcel_m2",
        "suggested_judgement",
        "document",
    ]
    if not fired or len(m) == 0:
        return gpd.GeoDataFrame({c: [] for c in cols}, geometry=gpd.GeoSeries([], crs=parcels.crs))
    classes = {r.id: r for r in CATALOG}
    limit, region = rules.caretaker_limit_m2()
    rows_rule, rows_b = [], []
    for rule_id, hit in fired:
        idx = np.flatnonzero(hit)
        rows_rule += [rule_id] * len(idx)
        rows_b.append(idx)
    b = np.concatenate(rows_b) if rows_b else np.zeros(0, int)
    f = pd.DataFrame({"rule_id": rows_rule, "b": b})
    # one row per parcel the footprint overlaps
    link = pd.DataFrame({"b": pos_of[pb.right], "p": pb.left, "in_parcel_m2": pb.area_m2})
    f = f.merge(link, on="b", how="inner")
    f["fid_sort"] = m["building_id"].to_numpy()[f["b"].to_numpy()] if len(f) else []
    f = f.sort_values(["p", "rule_id", "fid_sort"], kind="stable").reset_index(drop=True)
    mm = m.iloc[f["b"].to_numpy()].reset_index(drop=True)
    f["parcel_id"] = parcels["parcel_id"].to_numpy()[f["p"].to_numpy()]
    f["footprint_id"] = mm["building_id"].to_numpy()
    f["problem_class"] = [
        classes[r].problem_class if r in classes else "none" for r in f["rule_id"]
    ]
    f["footprint_m2"] = mm["area_m2"].to_numpy()
    f["farmland_m2"] = mm["farmland_m2"].to_numpy()
    f["pbf_m2"] = mm["pbf_m2"].to_numpy()
    f["greenhouse_share"] = mm["greenhouse_share"].to_numpy()
    f["greenhouse_id"] = mm["greenhouse_id"].to_numpy()
    gd = mm["greenhouse_distance_m"].to_numpy(dtype=float)
    f["greenhouse_distance_m"] = np.where(np.isfinite(gd), gd, np.nan)
    legal = mm["legal_share"].to_numpy() >= rules.approval.cover_share
    f["suggested_judgement"] = np.where(  # type: ignore[call-overload]
        f["rule_id"] == APPROVAL_RULE_ID, np.where(legal, "合法", "其他(临时用地)"), None
    )
    f["document"] = np.where(
        f["rule_id"] == APPROVAL_RULE_ID,
        np.where(legal, mm["legal_id"], mm["temporary_id"]),
        np.where(f["rule_id"] == "class1.filed_facility_land_changed", mm["facility_id"], None),
    )
    zh, en = [], []
    for (
        rule_id,
        mrow_fid,
        use,
        area,
        storeys,
        farm,
        pbf_m2,
        gshare,
        gid,
        gdist,
        in_park,
        park,
        fac_id,
        leg_s,
        tmp_s,
        leg_id,
        tmp_id,
    ) in zip(
        *(
            c.tolist()
            for c in (
                f["rule_id"],
                mm["building_id"],
                mm["use"],
                mm["area_m2"],
                mm["storeys"],
                mm["farmland_m2"],
                mm["pbf_m2"],
                mm["greenhouse_share"],
                mm["greenhouse_id"],
                mm["greenhouse_distance_m"],
                mm["in_park"],
                mm["park_id"],
                mm["facility_id"],
                mm["legal_share"],
                mm["temporary_share"],
                mm["legal_id"],
                mm["temporary_id"],
            )
        ),
        strict=True,  # lists: iterating Arrow-backed columns is slow
    ):
        use_zh, use_en = _fmt_use(use)
        if gshare >= rules.greenhouse.inside_share:
            gh_where, gh_where_en = f"位于大棚{gid}内", f"inside greenhouse {gid}"
        elif np.isfinite(gdist):
            gh_where, gh_where_en = (
                f"距大棚{gid} {gdist:.1f} m",
                f"{gdist:.1f} m from greenhouse {gid}",
            )
        else:
            gh_where, gh_where_en = "附近无大棚", "no greenhouse nearby"
        if np.isfinite(gdist) and gdist <= rules.greenhouse.context_distance_m:
            context, context_en = gh_where, gh_where_en
        elif in_park:
            context, context_en = f"位于农业园区{park}内", f"inside agricultural park {park}"
        else:
            context, context_en = (
                f"位于设施农用地备案{fac_id}范围内",
                f"on filed facility land {fac_id}",
            )
        values = {
            "fid": mrow_fid,
            "use": use_zh,
            "use_en": use_en,
            "area": area,
            "storeys": "?" if pd.isna(storeys) else int(storeys),
            "farm_mu": m2_to_mu(farm),
            "gh_share": gshare,
            "gh": gid,
            "gh_where": gh_where,
            "gh_where_en": gh_where_en,
            "context": context,
            "context_en": context_en,
            "filing": fac_id,
            "limit": f"{limit:g}",
            "region": region,
            "region_en": _REGION_EN.get(region, region),
        }
        if rule_id == APPROVAL_RULE_ID:
            legal_hit = leg_s >= rules.approval.cover_share
            values.update(
                share=leg_s if legal_hit else tmp_s,
                kind="批准用地" if legal_hit else "临时用地",
                kind_en="approved construction land" if legal_hit else "temporary land",
                doc=leg_id if legal_hit else tmp_id,
                judgement="合法" if legal_hit else "其他（临时用地）",
                judgement_en="legal" if legal_hit else "other (temporary land)",
            )
            z, e = APPROVAL_ZH.format(**values), APPROVAL_EN.format(**values)
        else:
            rule = classes[rule_id]
            z, e = rule.zh.format(**values), rule.en.format(**values)
        if rule_id != APPROVAL_RULE_ID and pbf_m2 >= rules.geometry.min_overlap_m2:
            z += f"（涉及永久基本农田{m2_to_mu(pbf_m2):.2f}亩）"
            e += f" (involves {m2_to_mu(pbf_m2):.2f} mu of permanent basic farmland)"
        zh.append(z)
        en.append(e)
    f["reason"] = zh
    f["reason_en"] = en
    geom = buildings.geometry.values[cand[f["b"].to_numpy()]] if len(f) else []
    return gpd.GeoDataFrame(f[cols], geometry=gpd.GeoSeries(geom, crs=parcels.crs))


def _runs(keys: np.ndarray, values: list) -> tuple[np.ndarray, list[list]]:  # type: ignore[type-arg]
    """The distinct keys of sorted ``keys`` and, for each, its run of ``values``."""
    if len(keys) == 0:
        return np.zeros(0, dtype=np.int64), []
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    ends = np.r_[starts[1:], len(keys)]
    return keys[starts], [values[a:b] for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]


def _parcel_classes(out, findings, m, pb, bpos, alloc, rules) -> None:  # type: ignore[no-untyped-def]
    n_p = len(out)
    parcel_ids = out["parcel_id"].to_numpy()
    problem = findings[findings["problem_class"].isin(CLASS_ORDER)]
    order = {c: i for i, c in enumerate(CLASS_ORDER)}
    # each finding's parcel (position in ``out``); the findings keep their order within a parcel
    ids = pd.Index(parcel_ids)
    if ids.is_unique:
        fpos = ids.get_indexer(findings["parcel_id"].to_numpy())
    else:  # the last parcel of an id, as a dict from id to position gives
        pid_pos = {pid: i for i, pid in enumerate(parcel_ids)}
        fpos = np.array([pid_pos[p] for p in findings["parcel_id"]], dtype=np.int64)
    # classes: a parcel's distinct problem classes in CLASS_ORDER
    ranks = findings["problem_class"].map(order)
    has_rank = ranks.notna().to_numpy()
    cl = (
        pd.DataFrame({"pos": fpos[has_rank], "rank": ranks.to_numpy()[has_rank].astype(int)})
        .drop_duplicates()
        .sort_values(["pos", "rank"], kind="stable")
    )
    first = np.full(n_p, "none", dtype=object)
    joined = np.full(n_p, "", dtype=object)
    cl_pos = cl["pos"].to_numpy()
    cl_text = [CLASS_ORDER[r] for r in cl["rank"].tolist()]
    at, parts = _runs(cl_pos, cl_text)
    first[at] = [p[0] for p in parts]
    joined[at] = [",".join(p) for p in parts]
    out["problem_class"] = first
    out["classes"] = joined
    reasons = np.full(n_p, "", dtype=object)
    reasons_en = np.full(n_p, "", dtype=object)
    by_parcel = np.argsort(fpos, kind="stable")  # a parcel's findings in their order
    at, parts = _runs(
        fpos[by_parcel], findings["reason"].to_numpy(dtype=object)[by_parcel].tolist()
    )
    reasons[at] = ["；".join(p) for p in parts]
    at, parts = _runs(
        fpos[by_parcel], findings["reason_en"].to_numpy(dtype=object)[by_parcel].tolist()
    )
    reasons_en[at] = [" ; ".join(p) for p in parts]
    # occupation by problem footprints (share of each footprint inside the parcel)
    prob_b = np.zeros(len(m), dtype=bool)
    if len(problem):
        ids = set(problem["footprint_id"])
        prob_b = m["building_id"].isin(ids).to_numpy()
    is_prob = prob_b[bpos] if len(bpos) else np.zeros(0, dtype=bool)
    farm = m["farmland_m2"].to_numpy()[bpos] if len(m) else np.zeros(0)
    pbf = m["pbf_m2"].to_numpy()[bpos] if len(m) else np.zeros(0)
    occ_pbf = sum_by(pb.left[is_prob], (pbf * alloc)[is_prob], n_p)
    occ_other = sum_by(pb.left[is_prob], (np.maximum(farm - pbf, 0) * alloc)[is_prob], n_p)
    out["illegal_pbf_m2"] = occ_pbf
    out["illegal_farmland_m2"] = occ_other
    a = rules.alert
    has_problem = out["problem_class"].to_numpy() != "none"
    out["priority"] = np.where(
        has_problem & (occ_pbf >= rules.geometry.min_overlap_m2),
        "high",
        np.where(has_problem, "normal", ""),
    )
    alerts: list[list[str]] = [[] for _ in range(n_p)]
    for i in np.flatnonzero(m2_to_mu(occ_pbf) >= a.pbf_mu).tolist():
        alerts[i].append(
            f"违法占用永久基本农田{m2_to_mu(occ_pbf[i]):.2f}亩，达到{a.pbf_mu:g}亩刑事移送标准"
        )
    for i in np.flatnonzero(m2_to_mu(occ_other) >= a.farmland_mu).tolist():
        alerts[i].append(
            f"违法占用耕地{m2_to_mu(occ_other[i]):.2f}亩，达到{a.farmland_mu:g}亩刑事移送标准"
        )
    farm_mu = m2_to_mu(out["farmland_m2"].fillna(0).to_numpy())
    for i in np.flatnonzero(farm_mu >= a.large_parcel_farmland_mu).tolist():
        alerts[i].append(
            f"图斑内耕地{farm_mu[i]:.2f}亩，达到{a.large_parcel_farmland_mu:g}亩大图斑标准"
        )
    out["alerts"] = ["；".join(x) for x in alerts]
    # suggested judgement where nothing is a problem but approvals clear it
    is_approval = (findings["rule_id"] == APPROVAL_RULE_ID).to_numpy()
    approved = findings[is_approval]
    sugg = np.full(n_p, "", dtype=object)
    docs = np.full(n_p, "", dtype=object)
    for i, j, d in zip(
        fpos[is_approval].tolist(),
        approved["suggested_judgement"],
        approved["document"],
        strict=True,
    ):
        if not has_problem[i]:
            sugg[i] = j if not sugg[i] or sugg[i] == j else "合法/其他"
            docs[i] = ",".join(sorted(set(filter(None, [*docs[i].split(","), str(d)]))))
    legal_share = out["approval_legal_share"].fillna(0).to_numpy()
    temp_share = out["approval_temporary_share"].fillna(0).to_numpy()
    cover = rules.approval.cover_share
    sugg = np.where((sugg == "") & ~has_problem & (legal_share >= cover), "合法", sugg)
    sugg = np.where((sugg == "") & ~has_problem & (temp_share >= cover), "其他(临时用地)", sugg)
    out["suggested_judgement"] = sugg
    out["approval_refs"] = docs
    label = CLASS_LABELS["zh"]
    out["reasons"] = [
        r + (f"。图斑候选类别：疑似{label[c]}" if c != "none" else "") + ("；" + al if al else "")
        for r, c, al in zip(reasons, first, out["alerts"], strict=True)
    ]
    out["reasons_en"] = reasons_en


COVERAGE_MIN = 0.99  # a parcel less covered than this by the land-use layer is noted


def _coverage(out: gpd.GeoDataFrame, cover: np.ndarray, notes: list[str]) -> None:
    """Share of each parcel inside the farmland (land-use) layer's coverage; a parcel partly or
    wholly outside is noted in its reasons: its 耕地 there was not checked (it is not 0)."""
    out["farmland_coverage"] = cover
    outside = np.isfinite(cover) & (cover < COVERAGE_MIN)
    if not outside.any():
        return
    note = [
        f"图斑{(1 - c):.0%}在地类图斑（三调）图层范围外：该部分未检查是否占用耕地" if o else ""
        for c, o in zip(cover, outside, strict=True)
    ]
    out["reasons"] = [
        r + ("；" if r and n else "") + n for r, n in zip(out["reasons"], note, strict=True)
    ]
    out["reasons_en"] = [
        r
        + (" ; " if r and o else "")
        + (
            f"{(1 - c):.0%} of the parcel lies outside the land-use layer: farmland there not checked"
            if o
            else ""
        )
        for r, c, o in zip(out["reasons_en"], cover, outside, strict=True)
    ]
    notes.append(
        f"{int(outside.sum())} parcel(s) lie partly or wholly outside the farmland layer's coverage "
        "(耕地 there not checked): " + ", ".join(map(str, out.loc[outside, "parcel_id"].head(5)))
    )


def _admin(out, townships, villages, P, p_area, crs) -> None:  # type: ignore[no-untyped-def]
    """Village and township of each parcel: the zone holding its largest share."""
    from parcelwatch.rules.overlay import largest_share

    for zones, kind in ((villages, "village"), (townships, "township")):
        if zones is None or not len(zones):
            continue
        k = largest_share(P, _geoms(zones), crs, geom_area_m2=p_area)
        found = k >= 0
        for col in (f"{kind}_code", f"{kind}_name"):
            values = (
                zones[col].to_numpy() if col in zones else np.full(len(zones), None, dtype=object)
            )
            keep = out[col].to_numpy(dtype=object) if col in out else None  # the parcel's own field
            out[col] = np.where(found, values[np.maximum(k, 0)], keep)
    if (
        (townships is None or not len(townships))
        and "village_code" in out
        and "township_code" not in out
    ):
        out["township_code"] = out["village_code"].str[:9]
