"""Acceptance records: record types of the one audited-record base, :mod:`parcelwatch.ledger.records`.

* ``acc_sanctions`` - 追责问责 sanctions (SEED-SYSTEMS §C.2);
* ``acc_cases`` - 立案查处 cases;
* ``acc_funds`` - per-problem 专户管理 (``special_account``, §C.2 "plus special_account"); the money
  itself is the ledger's funds fields (§0.P1). Rows written by earlier versions may still carry
  涉嫌骗取 / 正在追回 here: they are read only where the problem has no ledger value;
* ``greenhouse_registry`` and ``greenhouse_visits`` - the 棚室台账 and its visits (0.P8).

Both stores carry them with the base's guards (append-only audit events, version + event per
change); on PostgreSQL ``store init`` creates them, and sanctions, cases and greenhouses are scoped
by their ``township`` (a code or a name) with row-level security.
"""

from __future__ import annotations

from parcelwatch.ledger.records import (
    ENTITIES,
    Entity,
    RecordBook,
    audit_events,
    ensure_tables,
    read_if_present,
    register,
    text_table,
)
from parcelwatch.ledger.records import schema_sql as _schema_sql

__all__ = [
    "ENTITIES",
    "RecordBook",
    "audit_events",
    "read_if_present",
    "schema_sql",
    "ensure_tables",
]

_SANCTION = (
    "person_name", "unit", "position", "township", "public_official", "category", "type",
    "decided_on", "decision_ref", "reason", "campaign", "links",
)  # fmt: skip
_CASE = ("filed_on", "kind", "persons_involved", "township", "campaign", "links")
_FUNDS = ("funds_suspected_wan", "funds_in_recovery_wan", "special_account")
_GREENHOUSE = (
    "township", "village", "group_name", "park_id", "owner", "type", "size_m2", "land_transfer",
    "built_on", "production_status", "signage", "place_text", "last_visit_on", "last_visit_by",
    "geom_wkt",
)  # fmt: skip
_VISIT = ("greenhouse_no", "visited_on", "visited_by", "notes")

_ACCEPTANCE = (
    register(Entity("acc_sanctions", text_table("acc_sanctions", "sanction_id", _SANCTION), "sanction_id",
                    lists=("links",), doc="追责问责 处分", scope="township")),
    register(Entity("acc_cases", text_table("acc_cases", "case_no", _CASE), "case_no",
                    lists=("links",), doc="追责问责 立案查处", scope="township")),
    register(Entity("acc_funds", text_table("acc_funds", "problem_id", _FUNDS), "problem_id",
                    doc="涉农资金 专户管理")),
    register(Entity("greenhouse_registry", text_table("greenhouse_registry", "greenhouse_no", _GREENHOUSE),
                    "greenhouse_no", doc="棚室台账", scope="township")),
    register(Entity("greenhouse_visits", text_table("greenhouse_visits", "visit_id", _VISIT), "visit_id",
                    doc="入棚核查记录")),
)  # fmt: skip


def schema_sql(dialect: str) -> list[str]:
    """Idempotent PostgreSQL DDL, guards, grants and row-level security of the acceptance tables."""
    return _schema_sql(dialect, _ACCEPTANCE)
