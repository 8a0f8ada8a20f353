"""回头看: reconcile a classified batch with the ledger. Pure: it only returns the changes.

For every parcel of the batch (卫片 parcels must all be verified, DOMAIN W1):

* **unchanged** - the parcel was already recorded from this batch (checking a batch twice is a
  no-op, not even an event);
* **same** - it is a site already in the ledger: the same parcel id from another batch, or a
  polygon whose overlap covers ``[ledger] same_site_share`` of the smaller polygon, or whose
  intersection over union reaches ``same_site_iou`` (redrawn outlines still match). An open
  problem is *linked*: the parcel id and batch are added, the status is kept, and the candidate
  class and reasons are replaced only when the new ones are more severe;
* **rebound** - the matched problem is 已销号 or was judged 合法 / 其他: it reopens as 反弹 with the
  new parcel as evidence;
* **new** - no match: a new problem in 未核查, due by the 月清 rule.

Buildings of the batch reopen a 已销号 problem when at least ``rebound_building_share`` of the
building lies on it (DOMAIN W9) - except in a batch the problem was already found in (its buildings
show the site before rectification, so checking an old batch again never reopens anything) - unless the problem was closed by 补办手续 / 补办设施农用地备案 /
一事一议 and the building matches one of the problem's recorded footprints (IoU at least
``legalised_building_iou``): a legalised building stays.

Overlaps are ellipsoidal areas in the classification's working CRS; the ledger's EPSG:4490
geometries are reprojected to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from parcelwatch.config import DEFAULT_RULES, Rules
from parcelwatch.crs import STORAGE_CRS, ellipsoidal_area_m2
from parcelwatch.errors import CRSError, SchemaError
from parcelwatch.ledger.model import (
    LEGALISING_MEASURES,
    REBOUND_FROM,
    Change,
    Evidence,
    FootprintFinding,
    LedgerSnapshot,
    ParcelLink,
    ProblemRecord,
    Status,
    batch_year,
    severity,
    verification_due,
)
from parcelwatch.rules.classify import Classification
from parcelwatch.rules.overlay import overlap_pairs

__all__ = ["RecheckResult", "recheck", "OUTCOMES"]

OUTCOMES = ("new", "same", "rebound", "unchanged")
OUTCOME_ZH = {"new": "新增", "same": "已在台账", "rebound": "反弹", "unchanged": "重复核对"}
_ITEM_COLUMNS = [
    "source",
    "source_id",
    "outcome",
    "problem_id",
    "candidate_class",
    "township_name",
    "iou",
    "share",
    "change_index",
]


@dataclass
class RecheckResult:
    """The changes to apply (one per problem) and one row per batch parcel or reopening building.

    ``items`` columns: source (parcel | building), source_id, outcome (new | same | rebound |
    unchanged), problem_id (matched problem, empty for new), candidate_class, township_name,
    iou, share (overlap with the matched site), change_index (position in ``changes`` or -1).
    """

    batch: str
    issued: date
    verify_due: date
    year: int
    changes: list[Change]
    items: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """new / same / unchanged: batch parcels; rebound: problems reopened (by parcels or buildings)."""
        parcels = self.items[self.items["source"] == "parcel"]
        vc = parcels["outcome"].value_counts()
        out = {o: int(vc.get(o, 0)) for o in OUTCOMES}
        out["rebound"] = int(
            self.items.loc[self.items["outcome"] == "rebound", "problem_id"].nunique()
        )
        return out


def _text(values: Any, n: int) -> np.ndarray:
    if values is None:
        return np.full(n, "", dtype=object)
    s = pd.Series(values).astype(object)
    return s.where(s.notna(), "").astype(str).to_numpy(dtype=object)


def _num(values: Any, n: int) -> np.ndarray:
    if values is None:
        return np.full(n, np.nan)
    return pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)


def _opt(v: float) -> float | None:
    return None if v is None or not np.isfinite(v) else float(v)


def _to_storage(geoms: gpd.GeoSeries) -> np.ndarray:
    return np.asarray(geoms.to_crs(STORAGE_CRS).values, dtype=object)


def _match_sites(
    P: np.ndarray, p_area: np.ndarray, L: np.ndarray, crs: Any, rules: Rules
) -> pd.DataFrame:
    """Pairs (parcel position, ledger-parcel position) that are the same site, with IoU and share."""
    if len(P) == 0 or len(L) == 0:
        return pd.DataFrame(
            {"p": np.zeros(0, int), "l": np.zeros(0, int), "iou": np.zeros(0), "share": np.zeros(0)}
        )
    l_area = ellipsoidal_area_m2(L, crs)
    pairs, _ = overlap_pairs(P, L, crs, left_area_m2=p_area, right_area_m2=l_area)
    inter = pairs.area_m2
    a, b = p_area[pairs.left], l_area[pairs.right]
    smaller = np.minimum(a, b)
    union = a + b - inter
    share = np.where(smaller > 0, inter / np.where(smaller > 0, smaller, 1), 0.0)
    iou = np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)
    lr = rules.ledger
    same = (share >= lr.same_site_share) | (iou >= lr.same_site_iou)
    return pd.DataFrame(
        {"p": pairs.left[same], "l": pairs.right[same], "iou": iou[same], "share": share[same]}
    )


def recheck(
    classification: Classification,
    snapshot: LedgerSnapshot,
    *,
    batch: str,
    now: datetime,
    rules: Rules = DEFAULT_RULES,
    issued: date | None = None,
    buildings: gpd.GeoDataFrame | None = None,
) -> RecheckResult:
    """Compare a classified batch with a ledger snapshot; see the module docstring.

    ``issued`` is the date the batch was issued (default: ``now``'s date); ``buildings`` the
    batch's buildings layer in the classification's CRS (``None``: no building rebounds).
    Nothing is modified: the result's ``changes`` go to :meth:`LedgerStore.apply`.
    """
    if not batch or not str(batch).strip():
        raise SchemaError("recheck needs a batch name (批次), e.g. batch='2026年第1批'.")
    parcels = classification.parcels
    crs = parcels.crs
    if crs is None or not crs.is_projected:
        raise CRSError(
            "recheck needs the classification in a metric CRS (the working Gauss-Kruger zone); run classify on layers from load_inputs."
        )
    if buildings is not None and (buildings.crs is None or not buildings.crs.equals(crs)):
        raise CRSError(
            "recheck: the buildings layer must be in the classification's CRS; load all layers with load_inputs."
        )
    issued = issued or now.date()
    lr = rules.ledger
    due = verification_due(issued, lr.verification_due_months)
    year = batch_year(batch, issued.year)

    order = np.argsort(_text(parcels["parcel_id"], len(parcels)), kind="stable")
    parcels = parcels.iloc[order]
    n = len(parcels)
    pid = _text(parcels["parcel_id"], n)
    P = np.asarray(parcels.geometry.values, dtype=object)
    p_area = ellipsoidal_area_m2(P, crs)
    p_store = _to_storage(parcels.geometry)
    cls = _text(parcels.get("problem_class"), n)
    cls = np.where(cls == "", "none", cls)
    town = _text(parcels.get("township_name"), n)

    # --- the ledger side
    lp = snapshot.parcels
    lp_pid = _text(lp["parcel_id"], len(lp))
    lp_batch = _text(lp["batch"], len(lp))
    lp_problem = _text(lp["problem_id"], len(lp))
    recorded = set(zip(lp_pid.tolist(), lp_batch.tolist(), strict=True))
    by_id: dict[str, str] = dict(zip(lp_pid.tolist(), lp_problem.tolist(), strict=True))
    L = (
        np.asarray(lp.geometry.to_crs(crs).values, dtype=object)
        if len(lp)
        else np.zeros(0, dtype=object)
    )
    m = _match_sites(P, p_area, L, crs, rules)
    m["problem_id"] = lp_problem[m["l"].to_numpy()] if len(m) else np.zeros(0, dtype=object)
    best = (
        m.sort_values(
            ["p", "iou", "share", "problem_id"], ascending=[True, False, False, True], kind="stable"
        ).drop_duplicates("p")
        if len(m)
        else m
    )
    match_pid = np.full(n, "", dtype=object)
    match_iou = np.full(n, np.nan)
    match_share = np.full(n, np.nan)
    if len(best):
        match_pid[best["p"].to_numpy()] = best["problem_id"].to_numpy()
        match_iou[best["p"].to_numpy()] = best["iou"].to_numpy()
        match_share[best["p"].to_numpy()] = best["share"].to_numpy()
    id_hit = np.array([by_id.get(p, "") for p in pid], dtype=object)
    other = (id_hit != "") & (
        id_hit != match_pid
    )  # matched by id, not by outline: no overlap figures
    match_iou[other] = np.nan
    match_share[other] = np.nan
    match_pid = np.where(id_hit != "", id_hit, match_pid)
    unchanged = np.array([(p, batch) in recorded for p in pid], dtype=bool)
    unchanged_problem = np.array(
        [
            _recorded_problem(lp_pid, lp_batch, lp_problem, p, batch) if u else ""
            for p, u in zip(pid, unchanged, strict=True)
        ],
        dtype=object,
    )

    recs = snapshot.records
    status_of = np.array([recs[p].status if p in recs else None for p in match_pid], dtype=object)
    rebound = (
        (match_pid != "")
        & ~unchanged
        & np.array([s in REBOUND_FROM for s in status_of], dtype=bool)
    )
    same = (match_pid != "") & ~unchanged & ~rebound
    new = (match_pid == "") & ~unchanged
    outcome = np.select([unchanged, rebound, same], ["unchanged", "rebound", "same"], "new")

    findings = _findings_by_parcel(classification.findings, batch)
    cols = _parcel_columns(parcels, n)

    # --- group per problem
    changes: list[Change] = []
    change_index = np.full(n, -1, dtype=np.int64)
    per_problem: dict[str, list[int]] = {}
    for i in np.flatnonzero(same | rebound):
        per_problem.setdefault(str(match_pid[i]), []).append(int(i))
    b_hits, b_items = _building_rebounds(buildings, snapshot, crs, batch, rules, recs)
    for problem_id in sorted(set(per_problem) | set(b_hits)):
        rows = per_problem.get(problem_id, [])
        change = _existing_change(
            recs[problem_id],
            rows,
            b_hits.get(problem_id, []),
            batch=batch,
            pid=pid,
            cls=cls,
            cols=cols,
            p_store=p_store,
            iou=match_iou,
            share=match_share,
            findings=findings,
            due=due,
        )
        if change is None:
            continue
        change_index[rows] = len(changes)
        b_items.loc[b_items["problem_id"] == problem_id, "change_index"] = len(changes)
        changes.append(change)
    for i in np.flatnonzero(new):
        change_index[i] = len(changes)
        changes.append(
            _new_change(
                int(i),
                batch=batch,
                year=year,
                due=due,
                issued=issued,
                rules=rules,
                pid=pid,
                cls=cls,
                cols=cols,
                p_store=p_store,
                findings=findings,
            )
        )

    item_problem = np.where(unchanged, unchanged_problem, match_pid)
    # where the parcel itself says nothing, report the class and township of the site it matched
    known_cls = np.array(
        [
            recs[p].confirmed_class or recs[p].candidate_class if p in recs else "none"
            for p in item_problem
        ],
        dtype=object,
    )
    known_town = np.array(
        [recs[p].township_name if p in recs else "" for p in item_problem], dtype=object
    )
    items = pd.DataFrame(
        {
            "source": "parcel",
            "source_id": pid,
            "outcome": outcome,
            "problem_id": item_problem,
            "candidate_class": np.where((cls == "none") & (item_problem != ""), known_cls, cls),
            "township_name": np.where((town == "") & (item_problem != ""), known_town, town),
            "iou": match_iou,
            "share": match_share,
            "change_index": change_index,
        }
    )
    if len(b_items):
        items = pd.concat([items, b_items[_ITEM_COLUMNS]], ignore_index=True)
    notes = []
    if buildings is None:
        notes.append(
            "no buildings layer: buildings on closed (已销号) problems were not checked for rebounds"
        )
    return RecheckResult(batch, issued, due, year, changes, items[_ITEM_COLUMNS], notes)


def _recorded_problem(
    lp_pid: np.ndarray, lp_batch: np.ndarray, lp_problem: np.ndarray, p: str, batch: str
) -> str:
    hit = np.flatnonzero((lp_pid == p) & (lp_batch == batch))
    return str(lp_problem[hit[0]]) if len(hit) else ""


def _parcel_columns(parcels: gpd.GeoDataFrame, n: int) -> dict[str, np.ndarray]:
    text = (
        "township_code",
        "township_name",
        "village_code",
        "village_name",
        "reasons",
        "reasons_en",
        "suggested_judgement",
        "approval_refs",
        "priority",
        "alerts",
    )
    nums = ("parcel_area_m2", "farmland_m2", "pbf_m2", "illegal_farmland_m2", "illegal_pbf_m2")
    out = {c: _text(parcels.get(c), n) for c in text}
    out.update({c: _num(parcels.get(c), n) for c in nums})
    return out


def _findings_by_parcel(
    findings: gpd.GeoDataFrame, batch: str
) -> dict[str, list[FootprintFinding]]:
    out: dict[str, list[FootprintFinding]] = {}
    if findings is None or len(findings) == 0:
        return out
    f = findings
    geoms = (
        _to_storage(f.geometry)
        if f.crs is not None
        else np.asarray(f.geometry.values, dtype=object)
    )
    n = len(f)
    cols = {
        c: _text(f.get(c), n)
        for c in (
            "parcel_id",
            "footprint_id",
            "rule_id",
            "problem_class",
            "reason",
            "reason_en",
            "suggested_judgement",
            "document",
        )
    }
    nums = {c: _num(f.get(c), n) for c in ("footprint_m2", "farmland_m2", "pbf_m2")}
    for k in range(n):
        out.setdefault(cols["parcel_id"][k], []).append(
            FootprintFinding(
                cols["parcel_id"][k],
                batch,
                cols["footprint_id"][k],
                cols["rule_id"][k],
                cols["problem_class"][k],
                cols["reason"][k],
                cols["reason_en"][k],
                cols["suggested_judgement"][k],
                cols["document"][k],
                _opt(nums["footprint_m2"][k]),
                _opt(nums["farmland_m2"][k]),
                _opt(nums["pbf_m2"][k]),
                geoms[k],
            )
        )
    return out


def _illegal(cols: dict[str, np.ndarray], i: int) -> float:
    a = cols["illegal_farmland_m2"][i]
    b = cols["illegal_pbf_m2"][i]
    return float((a if np.isfinite(a) else 0.0) + (b if np.isfinite(b) else 0.0))


def _new_change(
    i: int,
    *,
    batch: str,
    year: int,
    due: date,
    issued: date,
    rules: Rules,
    pid: np.ndarray,
    cls: np.ndarray,
    cols: dict[str, np.ndarray],
    p_store: np.ndarray,
    findings: dict[str, list[FootprintFinding]],
) -> Change:
    county = rules.county.code or str(cols["township_code"][i])[:6]
    fields_: dict[str, Any] = {
        "county_code": county,
        "county_name": rules.county.name,
        "township_code": cols["township_code"][i],
        "township_name": cols["township_name"][i],
        "village_code": cols["village_code"][i],
        "village_name": cols["village_name"][i],
        "year": year,
        "first_batch": batch,
        "batches": (batch,),
        "parcel_ids": (pid[i],),
        "candidate_class": cls[i],
        "candidate_reasons": cols["reasons"][i],
        "candidate_reasons_en": cols["reasons_en"][i],
        "suggested_judgement": cols["suggested_judgement"][i],
        "approval_refs": cols["approval_refs"][i],
        "priority": cols["priority"][i],
        "alerts": cols["alerts"][i],
        "verify_due": due,
        "remaining_unrectified_m2": _illegal(cols, i),
        "source": "卫片",
        "found_on": issued,
    }
    for c in ("parcel_area_m2", "farmland_m2", "pbf_m2", "illegal_farmland_m2", "illegal_pbf_m2"):
        fields_[c] = _opt(cols[c][i])
    return Change(
        None,
        Status.UNVERIFIED,
        fields_,
        note=f"{batch} 新图斑 {pid[i]}",
        kind="create",
        batch=batch,
        geometry=p_store[i],
        parcels=(ParcelLink(pid[i], batch, p_store[i], "created", None, None, cls[i]),),
        findings=tuple(findings.get(pid[i], ())),
    )


def _existing_change(
    rec: ProblemRecord,
    rows: Sequence[int],
    b_hits: Sequence[tuple[str, float, str]],
    *,
    batch: str,
    pid: np.ndarray,
    cls: np.ndarray,
    cols: dict[str, np.ndarray],
    p_store: np.ndarray,
    iou: np.ndarray,
    share: np.ndarray,
    findings: dict[str, list[FootprintFinding]],
    due: date,
) -> Change | None:
    """Link parcels to an open problem, or reopen a closed / 合法 / 其他 one as 反弹."""
    reopen = rec.status in REBOUND_FROM
    new_ids = [str(pid[i]) for i in rows if str(pid[i]) not in rec.parcel_ids]
    fields_: dict[str, Any] = {}
    if new_ids:
        fields_["parcel_ids"] = rec.parcel_ids + tuple(dict.fromkeys(new_ids))
    if rows and batch not in rec.batches:
        fields_["batches"] = rec.batches + (batch,)
    worst = min(rows, key=lambda i: (severity(str(cls[i])), str(pid[i]))) if rows else None
    if worst is not None and severity(str(cls[worst])) < severity(rec.candidate_class):
        fields_.update(
            candidate_class=str(cls[worst]),
            candidate_reasons=str(cols["reasons"][worst]),
            candidate_reasons_en=str(cols["reasons_en"][worst]),
            priority=str(cols["priority"][worst]),
            alerts=str(cols["alerts"][worst]),
        )
    links = tuple(
        ParcelLink(
            str(pid[i]),
            batch,
            p_store[i],
            "rebound" if reopen else "linked",
            _opt(iou[i]),
            _opt(share[i]),
            str(cls[i]),
        )
        for i in rows
    )
    found = tuple(f for i in rows for f in findings.get(str(pid[i]), ()))
    if not reopen:
        if not fields_ and not links:
            return None
        upgrade = "candidate_class" in fields_
        note = f"{batch} 图斑 {'、'.join(str(pid[i]) for i in rows)} 与本问题为同一地块" + (
            "，疑似类别升级" if upgrade else ""
        )
        return Change(
            rec.problem_id,
            None,
            fields_,
            note=note,
            expected_version=rec.version,
            kind="link",
            batch=batch,
            parcels=links,
            findings=found,
        )
    sources: list[str] = []
    evidence: list[Evidence] = []
    reasons: list[str] = []
    for i in rows:
        detail = (
            f"与{rec.status.value}问题重叠（交并比 {iou[i]:.2f}，重叠比例 {share[i]:.0%}）"
            if np.isfinite(iou[i])
            else "监测编号相同"
        )
        sources.append(f"{batch}/图斑{pid[i]}")
        evidence.append(Evidence("parcel", str(pid[i]), batch=batch, detail=detail))
        reasons.append(f"图斑{pid[i]}{detail}")
    for bid, _share, detail in b_hits:
        sources.append(f"{batch}/建筑{bid}")
        evidence.append(Evidence("building", bid, batch=batch, detail=detail))
        reasons.append(f"建筑{bid}{detail}")
    if not sources:
        return None
    fields_["rebound_sources"] = rec.rebound_sources + tuple(sources)
    fields_["verify_due"] = due
    if rows:
        fields_["remaining_unrectified_m2"] = max(_illegal(cols, i) for i in rows)
    note = f"反弹：{batch} " + "；".join(reasons)
    return Change(
        rec.problem_id,
        Status.REBOUND,
        fields_,
        note=note,
        evidence=tuple(evidence),
        expected_version=rec.version,
        kind="rebound",
        batch=batch,
        parcels=links,
        findings=found,
    )


def _building_rebounds(
    buildings: gpd.GeoDataFrame | None,
    snapshot: LedgerSnapshot,
    crs: Any,
    batch: str,
    rules: Rules,
    recs: dict[str, ProblemRecord],
) -> tuple[dict[str, list[tuple[str, float, str]]], pd.DataFrame]:
    """Buildings lying on 已销号 problems: {problem_id: [(building_id, share, detail)]} and item rows."""
    empty = pd.DataFrame({c: [] for c in _ITEM_COLUMNS})
    # a batch that found or linked the problem shows it before rectification: not a rebound source
    closed = sorted(
        p for p, r in recs.items() if r.status is Status.CLOSED and batch not in r.batches
    )
    if buildings is None or len(buildings) == 0 or not closed:
        return {}, empty
    lp = snapshot.parcels[snapshot.parcels["problem_id"].isin(closed)]
    parts = pd.concat(
        [
            gpd.GeoDataFrame(
                {"problem_id": closed},
                geometry=gpd.GeoSeries([recs[p].geometry for p in closed], crs=STORAGE_CRS),
            ),
            lp[["problem_id", "geometry"]],
        ],
        ignore_index=True,
    )
    parts = parts[parts.geometry.notna()]
    sites = parts.dissolve(by="problem_id").to_crs(crs)
    site_ids = sites.index.to_numpy()
    S = np.asarray(sites.geometry.values, dtype=object)
    B = np.asarray(buildings.geometry.values, dtype=object)
    b_ids = _text(
        buildings["building_id"]
        if "building_id" in buildings
        else pd.Series(np.arange(len(buildings)).astype(str)),
        len(buildings),
    )
    b_area = ellipsoidal_area_m2(B, crs)
    pairs, _ = overlap_pairs(B, S, crs, left_area_m2=b_area)
    share = pairs.area_m2 / np.where(b_area[pairs.left] > 0, b_area[pairs.left], 1)
    hit = share >= rules.ledger.rebound_building_share
    bl, sl, sh = pairs.left[hit], pairs.right[hit], share[hit]
    if len(bl) == 0:
        return {}, empty
    # legalised buildings: the problem was closed by 补办手续 / 一事一议 and the building is a recorded footprint
    legal = np.zeros(len(bl), dtype=bool)
    f = snapshot.findings
    legalising = {p for p in closed if set(recs[p].measure.split("+")) & LEGALISING_MEASURES}
    f = f[f["problem_id"].isin(legalising) & f.geometry.notna()]
    if len(f):
        F = np.asarray(f.geometry.to_crs(crs).values, dtype=object)
        f_problem = _text(f["problem_id"], len(f))
        f_area = ellipsoidal_area_m2(F, crs)
        fp, _ = overlap_pairs(B[bl], F, crs, left_area_m2=b_area[bl], right_area_m2=f_area)
        inter = fp.area_m2
        union = b_area[bl][fp.left] + f_area[fp.right] - inter
        iou = inter / np.where(union > 0, union, 1)
        ok = (iou >= rules.ledger.legalised_building_iou) & (
            f_problem[fp.right] == site_ids[sl][fp.left]
        )
        legal[np.unique(fp.left[ok])] = True
    hits: dict[str, list[tuple[str, float, str]]] = {}
    rows = []
    for b, s, share_ in zip(bl[~legal], sl[~legal], sh[~legal], strict=True):
        problem_id = str(site_ids[s])
        if f"{batch}/建筑{b_ids[b]}" in recs[problem_id].rebound_sources:
            continue  # this building of this batch already reopened it once
        detail = f" {share_:.0%} 位于已销号问题范围内"
        hits.setdefault(problem_id, []).append((str(b_ids[b]), float(share_), detail))
        rows.append({"source": "building", "source_id": str(b_ids[b]), "outcome": "rebound", "problem_id": problem_id,
                     "candidate_class": recs[problem_id].confirmed_class or recs[problem_id].candidate_class,
                     "township_name": recs[problem_id].township_name, "iou": np.nan, "share": float(share_), "change_index": -1})  # fmt: skip
    return hits, pd.DataFrame(rows, columns=_ITEM_COLUMNS) if rows else empty
