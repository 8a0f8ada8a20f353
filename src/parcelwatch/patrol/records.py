"""Patrol findings, complaints, visits and village patrollers: record types of the one audited-record
base, :mod:`parcelwatch.ledger.records` (tables on both stores, an append-only ``audit_events`` row
per change, database guards, replay). :class:`PatrolBook` is that base's :class:`RecordBook`; the
base's names (``Entity``, ``register``, ``ensure_tables`` ...) are re-exported here for older callers.

Geometry is kept as WKT text in EPSG:4490 (``geom_wkt``): a point from the photo or ``--lon/--lat``,
or a drawn polygon. Times are ISO 8601 text with their offset.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from parcelwatch.errors import LedgerError
from parcelwatch.ledger.records import (
    ENTITIES,
    Entity,
    RecordBook,
    audit_events,
    ensure_tables,
    read_if_present,
    register,
)
from parcelwatch.ledger.records import schema_sql as _schema_sql
from parcelwatch.ledger.records import text_table as _text_table
from parcelwatch.patrol.scheme import COMPLAINT_KINDS, FINDER_KINDS, Scheme
from parcelwatch.patrol.scoring import FALSE, PENDING, TRUE, Entry

__all__ = [
    "ENTITIES",
    "Entity",
    "PatrolBook",
    "RecordBook",
    "register",
    "ensure_tables",
    "schema_sql",
    "audit_events",
    "read_if_present",
    "entry_from_finding",
    "CHANNEL_KIND",
    "VERIFY_RESULTS",
]

VERIFY_RESULTS = (PENDING, TRUE, FALSE)

#: complaint channel (0.P5) -> finder kind of R4
CHANNEL_KIND = {
    "12345": "hotline_12345",
    "举报电话": "petition_town",  # the town's own hotline: town level ×1 [inferred]
    "镇信访": "petition_town",
    "区信访": "petition_district",
    "市信访": "petition_city",
    "省信访": "petition_province",
    "市长信箱": "mayor_mailbox",
    "舆情": "public_opinion",
}
assert set(CHANNEL_KIND.values()) <= COMPLAINT_KINDS


_FINDING_COLS = (
    "village", "item_code", "finder_kind", "finder_name", "reporter", "occurred_on", "found_at",
    "reported_at", "complaint_id", "complaint_at", "place_text", "content", "photos",
    "verified_result", "verified_by", "verified_at", "verify_override", "issue_id",
    "enforcement_docs", "ledger_problem_id", "violation_case_id", "notes", "geom_wkt",
)  # fmt: skip
_COMPLAINT_COLS = (
    "channel", "ref", "received_at", "village", "item_code", "content", "verified", "verified_at", "resolved",
    "resolved_on", "major_impact", "finding_id", "problem_id", "case_id",
)  # fmt: skip
_VISIT_COLS = (
    "by_kind", "by_unit", "people", "village", "started_at", "ended_at", "route_wkt", "area_text",
    "items_checked", "finding_ids", "notes", "evidence",
)  # fmt: skip

_PEOPLE_COLS = ("name", "village", "role", "phone", "valid_from", "valid_to")

patrol_people = _text_table("patrol_people", "person_id", _PEOPLE_COLS)
patrol_findings = _text_table("patrol_findings", "finding_id", _FINDING_COLS)
complaints = _text_table("complaints", "complaint_id", _COMPLAINT_COLS)
patrol_visits = _text_table("patrol_visits", "visit_id", _VISIT_COLS)

_PATROL = (
    register(Entity("patrol_findings", patrol_findings, "finding_id", ("photos", "enforcement_docs"),
                    "巡查发现 (村上报、督查组和上级发现), seed 004")),
    register(Entity("complaints", complaints, "complaint_id", (), "投诉举报 (12345、信访、市长信箱、舆情)")),
    register(Entity("patrol_visits", patrol_visits, "visit_id", ("people", "items_checked", "finding_ids", "evidence"),
                    "巡查记录 (督查组和村巡查)")),
    register(Entity("patrol_people", patrol_people, "person_id", (), "村(居)巡查员 (不少于2名村(居)干部)")),
)  # fmt: skip
_RECORD_TABLES = tuple(e.name for e in _PATROL)


def schema_sql(dialect: str) -> list[str]:
    """Idempotent DDL, guards and grants of the patrol tables (PostgreSQL ``store init``)."""
    return _schema_sql(dialect, _PATROL)


#: the patrol records' book: the one audited-record book of :mod:`parcelwatch.ledger.records`
PatrolBook = RecordBook


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def entry_from_finding(f: Mapping[str, Any]) -> Entry:
    """A stored finding as the scoring function sees it."""
    occ = f.get("occurred_on")
    return Entry(
        f["finding_id"],
        f.get("village") or "",
        f.get("item_code") or "",
        f.get("finder_kind") or "",
        f.get("verified_result") or PENDING,
        found_at=_dt(f.get("found_at")),
        reported_at=_dt(f.get("reported_at")),
        complaint_at=_dt(f.get("complaint_at")),
        occurred_on=date.fromisoformat(occ[:10]) if occ else None,
        verified_at=_dt(f.get("verified_at")),
        issue_id=f.get("issue_id") or "",
        photos=len(f.get("photos") or []),
        finder_name=f.get("finder_name") or "",
    )


def check_finder_kind(kind: str) -> str:
    if kind not in FINDER_KINDS:
        raise LedgerError(
            f"Finder kind {kind!r} is not one of {', '.join(FINDER_KINDS)} (seed 004 五(二)1-5)."
        )
    return kind


def scheme_village(scheme: Scheme, name: str) -> str:
    v = scheme.village_name(name)
    if v is None:
        raise LedgerError(
            f"Village {name!r} is not in patrol.toml [[organisation.groups]] ({'、'.join(scheme.villages[:8])}...). "
            "Use a configured name, or add the village to its group."
        )
    return v
