"""Audited records in the ledger store (SEED-SYSTEMS §0.1): one table per record type on the
ledger's SQLAlchemy metadata, every insert or change one transaction that also writes an
append-only ``audit_events`` row (who, when, what changed), refused UPDATE/DELETE by triggers.

Both stores carry the tables: on a GeoPackage :func:`ensure_tables` creates them on first use; on
PostgreSQL the administrator's ``parcelwatch store init`` runs :func:`schema_sql`. Replaying the
audit events of a record type rebuilds its table exactly (:meth:`AuditedBook.replay`).

There is one ``audit_events`` table and one registry of audited record types: both are
:mod:`parcelwatch.patrol.records`'s. :func:`register` adds the record types defined here to it, so
one ``ensure_tables`` creates the union of tables on a GeoPackage, and ``store init`` creates
``audit_events`` (with its append-only triggers) once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from parcelwatch.errors import LedgerConflictError, LedgerError
from parcelwatch.ledger.sqlstore import SqlStore
from parcelwatch.patrol.records import Entity, PatrolBook, audit_events, pg_schema_sql
from parcelwatch.patrol.records import _text_table as text_table
from parcelwatch.patrol.records import ensure_tables as _ensure_shared
from parcelwatch.patrol.records import register as _register_shared

__all__ = [
    "Entity",
    "AuditedBook",
    "text_table",
    "audit_events",
    "register",
    "schema_sql",
    "ensure_tables",
]


ENTITIES: dict[str, Entity] = {}


def register(entity: Entity) -> Entity:
    """Add a record type to this module's registry and to the one audited-record registry of
    :mod:`parcelwatch.patrol.records` (whose ``ensure_tables`` creates every registered table and
    the single ``audit_events`` table on a GeoPackage)."""
    ENTITIES[entity.name] = entity
    _register_shared(entity, entity.doc or entity.name)
    return entity


def schema_sql(dialect: str) -> list[str]:
    """Idempotent PostgreSQL DDL and grants of the tables registered here.

    ``audit_events`` and its append-only triggers are not repeated: they come once from
    :func:`parcelwatch.patrol.records.schema_sql` (also a ``RECORD_MODULES`` entry)."""
    if dialect != "postgresql":
        return []
    tables = [e.table for e in ENTITIES.values()]
    return pg_schema_sql(tables, [t.name for t in tables])


def ensure_tables(store: SqlStore) -> None:
    """Create the record tables (and ``audit_events``) on a GeoPackage; check them on PostgreSQL."""
    _ensure_shared(store)


def _stored(entity: Entity, name: str, value: Any) -> str | None:
    if name in entity.lists:
        return json.dumps(list(value or []), ensure_ascii=False)
    if value is None or value == "":
        return None
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def _loaded(entity: Entity, row: Mapping[Any, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k != "fid"}
    for name in entity.lists:
        out[name] = json.loads(out.get(name) or "[]")
    return out


class AuditedBook(PatrolBook):
    """The registered records of one ledger store, with their audit history: the one audited-record
    helper (:class:`parcelwatch.patrol.records.PatrolBook`: same tables created on first use, same
    ``audit_events`` row per change) with the report records' id and replay rules."""

    # -- reading

    def get(self, entity: str, record_id: str) -> dict[str, Any]:
        e = ENTITIES[entity]
        with self.store._tx(False) as conn:
            row = conn.execute(sa.select(e.table).where(e.table.c[e.id_col] == record_id)).first()
        if row is None:
            raise LedgerError(f"No {e.doc or entity} {record_id!r} in {self.store.location}.")
        return _loaded(e, row._mapping)

    # narrower than PatrolBook's until the one audited-record base (issue 13) unifies them
    def audit(  # type: ignore[override]
        self, entity: str, record_id: str | None = None
    ) -> list[dict[str, Any]]:
        q = sa.select(audit_events).where(audit_events.c.entity == entity)
        if record_id is not None:
            q = q.where(audit_events.c.record_id == record_id)
        q = q.order_by(audit_events.c.record_id, audit_events.c.seq)
        with self.store._tx(False) as conn:
            rows = [dict(r._mapping) for r in conn.execute(q)]
        for r in rows:
            r.pop("fid", None)
            r["changes"] = json.loads(r["changes"])
        return rows

    def replay(self, entity: str, *, until: Any = None) -> list[dict[str, Any]]:
        """The table rebuilt from its audit events alone; ``until(event) -> bool`` keeps only
        the events it accepts (e.g. those on or before a date)."""
        e = ENTITIES[entity]
        state: dict[str, dict[str, Any]] = {}
        for ev in self.audit(entity):
            if until is not None and not until(ev):
                continue
            rid = ev["record_id"]
            rec = state.setdefault(rid, {e.id_col: rid, **dict.fromkeys(e.fields)})
            for k, v in ev["changes"].items():
                rec[k] = v if ev["kind"] == "create" else v[1]
            rec["version"] = ev["seq"]
        return [
            _loaded(e, {k: state[rid].get(k) for k in [e.id_col, "version", *e.fields]})
            for rid in sorted(state)
        ]

    # -- writing

    def insert(
        self, entity: str, row: Mapping[str, Any], *, prefix: str, width: int, user: str,
        now: datetime, within: Any = None,
    ) -> str:  # fmt: skip
        """Insert one record with the next id ``prefix`` + number; returns the id.

        ``within(conn)`` runs in the same transaction (e.g. the ledger change a record implies):
        if either fails, neither is written."""
        if not user.strip():
            raise LedgerError("Every record names who entered it: pass --user NAME.")
        e = ENTITIES[entity]
        unknown = set(row) - set(e.fields)
        if unknown:
            raise LedgerError(f"{entity}: unknown field(s) {', '.join(sorted(unknown))}.")
        with self.store._tx(True) as conn:
            self.store._serialise(conn, f"record:{entity}")
            col = e.table.c[e.id_col]
            top = conn.execute(
                sa.select(sa.func.max(col)).where(
                    col.like(prefix + "%"), sa.func.length(col) == len(prefix) + width
                )
            ).scalar()
            rid = f"{prefix}{(int(top[len(prefix) :]) + 1) if top else 1:0{width}d}"
            values = {k: _stored(e, k, row.get(k)) for k in e.fields}
            self._audit(conn, entity, rid, 1, "create", values, user=user, now=now)
            conn.execute(sa.insert(e.table).values(**{e.id_col: rid, "version": 1}, **values))
            if within is not None:
                within(conn)
        return rid

    def insert_with_ids(
        self,
        entity: str,
        rows: Sequence[tuple[str, Mapping[str, Any]]],
        *,
        user: str,
        now: datetime,
    ) -> list[str]:
        """Insert records whose ids are given (codes), all in one transaction; refuses a taken id."""
        if not user.strip():
            raise LedgerError("Every record names who entered it: pass --user NAME.")
        e = ENTITIES[entity]
        with self.store._tx(True) as conn:
            for rid, row in rows:
                unknown = set(row) - set(e.fields)
                if unknown:
                    raise LedgerError(f"{entity}: unknown field(s) {', '.join(sorted(unknown))}.")
                taken = conn.execute(
                    sa.select(e.table.c.version).where(e.table.c[e.id_col] == rid)
                ).first()
                if taken is not None:
                    raise LedgerError(
                        f"{e.doc or entity} {rid} is already recorded; nothing was changed."
                    )
                values = {k: _stored(e, k, row.get(k)) for k in e.fields}
                self._audit(conn, entity, rid, 1, "create", values, user=user, now=now)
                conn.execute(sa.insert(e.table).values(**{e.id_col: rid, "version": 1}, **values))
        return [rid for rid, _ in rows]

    def update(  # type: ignore[override]  # returns bool, PatrolBook an int (issue 13 unifies)
        self, entity: str, record_id: str, changes: Mapping[str, Any], *, user: str,
        now: datetime, kind: str = "edit", expected_version: int | None = None,
    ) -> bool:  # fmt: skip
        """Change one record (``UPDATE ... WHERE id = ? AND version = ?``); False if unchanged."""
        if not user.strip():
            raise LedgerError("Every change names who made it: pass --user NAME.")
        e = ENTITIES[entity]
        unknown = set(changes) - set(e.fields)
        if unknown:
            raise LedgerError(f"{entity}: unknown field(s) {', '.join(sorted(unknown))}.")
        with self.store._tx(True) as conn:
            row = conn.execute(
                sa.select(e.table).where(e.table.c[e.id_col] == record_id).with_for_update()
            ).first()
            if row is None:
                raise LedgerError(f"No {e.doc or entity} {record_id!r} in {self.store.location}.")
            m = row._mapping
            version = int(m["version"])
            if expected_version is not None and expected_version != version:
                raise LedgerConflictError(
                    f"{record_id} was changed by someone else (you edited version {expected_version}, it now has {version}). "
                    "Nothing was changed; reload it and retry."
                )
            diff = {}
            for name, value in changes.items():
                new = _stored(e, name, value)
                if new != m[name]:
                    diff[name] = [m[name], new]
            if not diff:
                return False
            self._audit(conn, entity, record_id, version + 1, kind, diff, user=user, now=now)
            res = conn.execute(
                sa.update(e.table)
                .where(e.table.c[e.id_col] == record_id, e.table.c.version == version)
                .values(version=version + 1, **{k: v[1] for k, v in diff.items()})
            )
            if res.rowcount != 1:  # pragma: no cover - guarded by the locked read
                raise LedgerConflictError(f"{record_id} changed meanwhile; nothing was changed.")
        return True
