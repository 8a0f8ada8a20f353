"""两违 records in the ledger store (cases, parties, case parties, blacklist, targets), each change
with an audit event: record types of the one audited-record base, :mod:`parcelwatch.ledger.records`
(both stores; on PostgreSQL the cases are scoped by ``township_code`` with row-level security).

Cases keep their geometry as WKT (EPSG:4490) in ``geom_wkt``, as patrol findings do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from parcelwatch.errors import LedgerError
from parcelwatch.ledger.records import ENTITIES, Entity, RecordBook, register
from parcelwatch.ledger.records import schema_sql as _schema_sql
from parcelwatch.ledger.records import text_table as _text_table
from parcelwatch.ledger.sqlstore import metadata
from parcelwatch.violations.blacklist import (
    BLACKLIST_TAG,
    blacklist_matches,
    check_listable,
    hash_id,
    id_tail,
)
from parcelwatch.violations.cases import (
    ViolationSettings,
    check_disposed_area,
    check_transition,
    classify_stock,
)
from parcelwatch.violations.compare import CompareRow, compare

__all__ = [
    "schema_sql",
    "add_party",
    "add_case",
    "update_case",
    "set_target",
    "targets",
    "blacklist_add",
    "blacklist_remove",
    "record_compare",
    "FOUND_BY",
]

FOUND_BY = ("村网格巡查", "镇巡查", "卫片", "航拍", "举报", "物业", "数字城管", "上级交办", "其他")

_CASE_COLS = (
    "status", "county_code", "township_code", "township_name", "village_code", "village_name", "household",
    "party_id", "address", "illegal_land", "illegal_building", "building_types", "zones", "safety_hazard",
    "priority_tags", "impact", "land_area_m2", "floor_area_m2", "construction_started", "stock", "defiant",
    "construction_stage", "found_at", "found_by", "found_ref", "stopped_at", "disposal", "demolition_mode",
    "disposed_on", "disposed_area_m2", "post_use", "debris_cleared", "supervision_level", "supervision_since",
    "planned_published_on", "demolition_published_on", "serious", "ledger_problem_id", "finding_ids",
    "evidence", "notes", "geom_wkt",
)  # fmt: skip
violation_cases = _text_table("violation_cases", "case_id", _CASE_COLS)
violation_parties = _text_table(
    "violation_parties", "party_id", ("kind", "name", "id_hash", "id_tail", "credit_code")
)
violation_case_parties = _text_table(
    "violation_case_parties", "link_id", ("case_id", "party_id", "role")
)
violation_blacklist = _text_table(
    "violation_blacklist", "entry_id",
    ("party_id", "case_ids", "reason", "listed_on", "listed_by", "approved_ref", "published_on",
     "credit_pushed_on", "removed_on", "removal_reason"),
)  # fmt: skip
violation_targets = _text_table(
    "violation_targets", "target_id", ("year", "scope", "target_m2", "basis", "methods")
)
no_violation_units = _text_table(
    "no_violation_units", "entry_id", ("unit", "status", "accepted_on", "doc_ref")
)

_ENTITIES = (
    (Entity("violation_cases", violation_cases, "case_id", ("building_types", "zones", "priority_tags", "finding_ids", "evidence")), "两违台账"),
    (Entity("violation_parties", violation_parties, "party_id"), "两违当事人 (证件号只存哈希和后4位)"),
    (Entity("violation_case_parties", violation_case_parties, "link_id"), "两违利益链条"),
    (Entity("violation_blacklist", violation_blacklist, "entry_id", ("case_ids",)), "两违黑名单"),
    (Entity("violation_targets", violation_targets, "target_id", ("methods",)), "两违年度目标"),
    (Entity("no_violation_units", no_violation_units, "entry_id"), "“无违建”创建"),
)  # fmt: skip
for _e, _doc in _ENTITIES:
    register(_e, _doc)
_NAMES = tuple(e.name for e, _ in _ENTITIES)
assert all(e.table.metadata is metadata for e, _ in _ENTITIES)


def schema_sql(dialect: str) -> list[str]:
    """Idempotent PostgreSQL DDL and grants of the 两违 tables (GeoPackage: created on first use)."""
    return _schema_sql(dialect, [ENTITIES[n] for n in _NAMES])


def add_party(book: RecordBook, *, kind: str, name: str, id_number: str = "", credit_code: str = "",
              user: str, now: datetime) -> str:  # fmt: skip
    """A builder (个人 or 单位); an ID number is stored only as its sha256 and last 4 characters."""
    if kind not in ("个人", "单位"):
        raise LedgerError(f"Party kind {kind!r}: use 个人 or 单位.")
    row = {"kind": kind, "name": name, "id_hash": hash_id(id_number) if id_number else None,
           "id_tail": id_tail(id_number) if id_number else None, "credit_code": credit_code}  # fmt: skip
    (pid,) = book.insert_many("violation_parties", [row], prefix="P-", width=6, user=user, now=now)
    return pid


def add_case(
    book: RecordBook,
    settings: ViolationSettings,
    *,
    county_code: str,
    found_at: datetime,
    found_by: str,
    fields: Mapping[str, Any],
    user: str,
    now: datetime,
) -> tuple[str, list[str]]:
    """A new case (待核实): 增量/存量 and 顶风突击 computed, blacklisted party tagged; returns notices."""
    if found_by not in FOUND_BY:
        raise LedgerError(f"found_by {found_by!r}: use one of {'、'.join(FOUND_BY)}.")
    row: dict[str, Any] = {
        "status": "待核实",
        "county_code": county_code,
        "found_at": found_at,
        "found_by": found_by,
        **fields,
    }
    raw = row.get("construction_started")
    started = (
        date.fromisoformat(raw)
        if isinstance(raw, str) and raw
        else raw
        if isinstance(raw, date)
        else None
    )
    stock, defiant = classify_stock(started, settings)
    row.setdefault("stock", stock)
    row["defiant"] = defiant
    problems = check_disposed_area(row, settings)
    if problems:
        raise LedgerError("; ".join(problems))
    notes: list[str] = []
    if row.get("party_id"):
        party = book.get("violation_parties", row["party_id"])
        hits, warns = blacklist_matches(
            party, book.all("violation_parties"), book.all("violation_blacklist")
        )
        notes += warns
        if hits:
            row["priority_tags"] = [*list(row.get("priority_tags") or []), BLACKLIST_TAG]
            notes.append(f"当事人在两违黑名单中({', '.join(hits)})")
    year = found_at.year
    (cid,) = book.insert_many(
        "violation_cases", [row], prefix=f"LW-{county_code}-{year}-", width=6, user=user, now=now
    )
    return cid, notes


#: allowed values of the case's list fields (SEED-SYSTEMS §A.2; seed 003 二(一))
LIST_VALUES = {
    "building_types": ("危房", "出租房", "铁皮房", "广告牌", "临时搭盖", "多次加层", "其他"),
    "zones": ("镇级规划区", "城乡结合部", "城中村", "公路沿线", "其他"),
}


def _list_fields(case_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """List fields given as text (``--field building_types=危房、出租房``) split on 、 , ; and checked."""
    import re

    out = dict(fields)
    for name in ("building_types", "zones", "priority_tags"):
        v = out.get(name)
        if isinstance(v, str):
            out[name] = [x.strip() for x in re.split(r"[、,，;；]", v) if x.strip()]
        allowed = LIST_VALUES.get(name)
        if allowed and name in out:
            bad = [x for x in out[name] or [] if x not in allowed]
            if bad:
                raise LedgerError(
                    f"Case {case_id}: {name} {'、'.join(bad)} not allowed; use {'、'.join(allowed)}. Nothing was changed."
                )
    return out


def update_case(book: RecordBook, settings: ViolationSettings, case_id: str, *, status: str | None = None,
                fields: Mapping[str, Any] | None = None, note: str = "", user: str, now: datetime) -> None:  # fmt: skip
    """Change a case's fields and/or status; the transition's requirements are checked on the
    case with the new values applied; nothing is written when they are not met."""
    case = book.get("violation_cases", case_id)
    fields = _list_fields(case_id, fields or {})
    new = {**case, **dict(fields or {})}
    for k, v in list(new.items()):
        if isinstance(v, (date, datetime, Decimal)):
            new[k] = v.isoformat() if not isinstance(v, Decimal) else str(v)
    changes = dict(fields or {})
    if status and status != case["status"]:
        check_transition(new, status, note=note, settings=settings)
        changes["status"] = status
    problems = check_disposed_area(new, settings)
    if problems:
        raise LedgerError(f"Case {case_id}: " + "; ".join(problems) + ". Nothing was changed.")
    if note:
        changes["notes"] = ((case.get("notes") or "") + "\n" + note).strip()
    book.update(
        "violation_cases", case_id, changes, user=user, now=now, kind="status" if status else "edit"
    )


def set_target(book: RecordBook, *, year: int, target_m2: float, scope: str = "county", basis: str = "floor",
               user: str, now: datetime) -> str:  # fmt: skip
    if target_m2 <= 0:
        raise LedgerError(f"Target for {year} must be > 0 m².")
    (tid,) = book.insert_many("violation_targets", [{"year": year, "scope": scope, "target_m2": target_m2, "basis": basis}],
                              prefix="T-", width=6, user=user, now=now)  # fmt: skip
    return tid


def targets(book: RecordBook, scope: str = "county") -> dict[int, Decimal]:
    """year -> target m² (the latest entry of a year wins)."""
    out: dict[int, Decimal] = {}
    for t in book.all("violation_targets"):
        if t["scope"] == scope:
            out[int(t["year"])] = Decimal(t["target_m2"])
    return out


def blacklist_add(book: RecordBook, *, party_id: str, case_ids: Sequence[str], reason: str, listed_on: date,
                  approved_ref: str = "", user: str, now: datetime) -> str:  # fmt: skip
    cases = [book.get("violation_cases", c) for c in case_ids]
    check_listable(party_id, cases)
    row = {"party_id": party_id, "case_ids": list(case_ids), "reason": reason, "listed_on": listed_on,
           "listed_by": user, "approved_ref": approved_ref}  # fmt: skip
    (eid,) = book.insert_many(
        "violation_blacklist", [row], prefix="BL-", width=6, user=user, now=now
    )
    return eid


def blacklist_remove(
    book: RecordBook, entry_id: str, *, reason: str, on: date, user: str, now: datetime
) -> None:
    if not reason.strip():
        raise LedgerError(f"Removing {entry_id} from the blacklist needs a reason (--reason).")
    if book.get("violation_blacklist", entry_id).get("removed_on"):
        raise LedgerError(f"{entry_id} was already removed.")
    book.update(
        "violation_blacklist",
        entry_id,
        {"removed_on": on, "removal_reason": reason},
        user=user,
        now=now,
        kind="remove",
    )


def record_compare(book: RecordBook, settings: ViolationSettings, parcels: Any, *, run: str, found_by: str,
                   county_code: str, record: bool, user: str, now: datetime) -> list[CompareRow]:  # fmt: skip
    """Compare parcels with the cases; with ``record``, 未登记 parcels become 待核实 cases and
    疑似反弹 cases move to 反弹 (a parcel already recorded for ``run`` is not recorded again)."""
    import shapely

    rows = compare(parcels, book.all("violation_cases"), settings)
    if not record:
        return rows
    done = {c.get("found_ref") for c in book.all("violation_cases")}
    geoms = dict(
        zip(
            parcels.get("parcel_id", parcels.index).astype(str),
            parcels.to_crs(4490).geometry.values,
            strict=True,
        )
    )
    for r in rows:
        ref = f"{run}:{r.parcel_id}"
        if r.outcome == "未登记" and ref not in done:
            add_case(book, settings, county_code=county_code, found_at=now, found_by=found_by,
                     fields={"found_ref": ref, "geom_wkt": shapely.to_wkt(geoms[r.parcel_id], rounding_precision=8),
                             "notes": f"{run} 比对未登记图斑 {r.parcel_id}"},
                     user=user, now=now)  # fmt: skip
        elif r.outcome == "疑似反弹":
            update_case(book, settings, r.case_id, status="反弹", note=f"{run} 图斑 {r.parcel_id} 与已拆除案件重叠 (IoU {r.iou:.2f})",
                        user=user, now=now)  # fmt: skip
    return rows


#: roles along the 利益链条 (seed 003 四(一)3 "施工、设计、监理、供水、供电、建材")
CHAIN_ROLES = ("建设", "施工", "设计", "监理", "供水", "供电", "建材")


def add_case_party(
    book: RecordBook, *, case_id: str, party_id: str, role: str, user: str, now: datetime
) -> str:
    """Record a party's role in a case (violation_case_parties, audited); one row per case, party
    and role."""
    if role not in CHAIN_ROLES:
        raise LedgerError(f"Role {role!r}: use one of {'、'.join(CHAIN_ROLES)} (利益链条).")
    book.get("violation_cases", case_id)
    book.get("violation_parties", party_id)
    for r in book.all("violation_case_parties"):
        if (r["case_id"], r["party_id"], r["role"]) == (case_id, party_id, role):
            raise LedgerError(
                f"{party_id} is already recorded as {role} of {case_id} ({r['link_id']})."
            )
    (lid,) = book.insert_many(
        "violation_case_parties",
        [{"case_id": case_id, "party_id": party_id, "role": role}],
        prefix="CP-",
        width=6,
        user=user,
        now=now,
    )
    return lid


NO_VIOLATION_STATUSES = ("创建中", "申请验收", "已验收", "未通过")
_BLOCKING = ("已认定", "已制止", "处置中")


def set_no_violation_unit(book: RecordBook, *, unit: str, status: str, on: date | None = None,
                          doc_ref: str = "", user: str, now: datetime) -> str:  # fmt: skip
    """“无违建”创建 (seed 003) of a village or town: create or move its entry. 已验收 needs the date
    and is refused while the unit (村 or 乡镇 name) has a case 已认定, 已制止 or 处置中 [inferred]."""
    if status not in NO_VIOLATION_STATUSES:
        raise LedgerError(f"Status {status!r}: use one of {'、'.join(NO_VIOLATION_STATUSES)}.")
    if status == "已验收":
        if on is None:
            raise LedgerError(f"{unit}: 已验收 needs the acceptance date (--on).")
        open_cases = [
            c["case_id"]
            for c in book.all("violation_cases")
            if c.get("status") in _BLOCKING
            and unit in (c.get("village_name"), c.get("township_name"))
        ]
        if open_cases:
            raise LedgerError(
                f"{unit} cannot be 已验收 while it has 两违 cases not yet disposed: {'、'.join(open_cases)} "
                "(已认定/已制止/处置中). Dispose of them first; nothing was changed."
            )
    changes = {"unit": unit, "status": status, "accepted_on": on if status == "已验收" else None,
               "doc_ref": doc_ref or None}  # fmt: skip
    for r in book.all("no_violation_units"):
        if r["unit"] == unit:
            book.update(
                "no_violation_units", r["entry_id"], changes, user=user, now=now, kind="status"
            )
            return str(r["entry_id"])
    (eid,) = book.insert_many(
        "no_violation_units", [changes], prefix="WJ-", width=6, user=user, now=now
    )
    return eid
