"""The report records' view of the one audited-record base (:mod:`parcelwatch.ledger.records`):
巡察整改, documents, organisation, campaigns and the report log :func:`register` their record types
there (one registry, one ``audit_events``, the same guards on both stores); :class:`AuditedBook` is
its :class:`~parcelwatch.ledger.records.RecordBook`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from parcelwatch.ledger.records import ENTITIES as _ALL
from parcelwatch.ledger.records import Entity, RecordBook, audit_events, text_table
from parcelwatch.ledger.records import ensure_tables as ensure_tables
from parcelwatch.ledger.records import register as _register_shared
from parcelwatch.ledger.records import schema_sql as _schema_sql

__all__ = [
    "Entity",
    "AuditedBook",
    "text_table",
    "audit_events",
    "register",
    "schema_sql",
    "ensure_tables",
]

#: the record types of the reports package (all also in the one registry)
ENTITIES: dict[str, Entity] = {}


def register(entity: Entity) -> Entity:
    """Add a record type to the one audited-record registry (:mod:`parcelwatch.ledger.records`)."""
    entity = _register_shared(entity)
    ENTITIES[entity.name] = entity
    return entity


def schema_sql(dialect: str) -> list[str]:
    """Idempotent PostgreSQL DDL, guards and grants of the report record tables."""
    return _schema_sql(dialect, [_ALL[n] for n in ENTITIES])


class AuditedBook(RecordBook):
    """The one audited-record book (:class:`parcelwatch.ledger.records.RecordBook`); ``update``
    answers whether the record changed."""

    def update(  # type: ignore[override]
        self, entity: str, record_id: str, changes: Mapping[str, Any], *, user: str,
        now: datetime, kind: str = "edit", expected_version: int | None = None,
    ) -> bool:  # fmt: skip
        return bool(
            super().update(
                entity,
                record_id,
                changes,
                user=user,
                now=now,
                kind=kind,
                expected_version=expected_version,
            )  # fmt: skip
        )
