"""Acceptance records in the ledger store, each change with an append-only audit event.

Tables (SQLAlchemy Core, on the ledger's :data:`~parcelwatch.ledger.sqlstore.metadata`, so both the
GeoPackage and PostgreSQL stores carry them; created on first use in a GeoPackage):

* ``acc_sanctions`` - 追责问责 sanctions (SEED-SYSTEMS §C.2);
* ``acc_cases`` - 立案查处 cases;
* ``acc_funds`` - per-problem 涉农资金 facts the ledger does not hold yet (涉嫌骗取, 正在追回, 专户);
* ``greenhouse_registry`` and ``greenhouse_visits`` - the 棚室台账 and its visits (0.P8).

Every insert or change writes the row (``UPDATE ... WHERE id = ? AND version = ?``) and one
``audit_events`` row in the same transaction; triggers refuse UPDATE/DELETE of ``audit_events``.
:meth:`RecordBook.replay` rebuilds a table from its audit events. The ``audit_events`` table is the
generic one of SEED-SYSTEMS §0.1, shared with the patrol records when those are installed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from parcelwatch.errors import LedgerConflictError, LedgerError
from parcelwatch.ledger.sqlstore import SqlStore, metadata

__all__ = ["ENTITIES", "RecordBook", "audit_events"]


def _audit_table() -> sa.Table:
    try:  # the patrol records define the same generic table; share it when they are installed
        from parcelwatch.patrol.records import audit_events as shared  # type: ignore[import-not-found]

        return shared  # type: ignore[no-any-return]
    except ImportError:
        pass
    if "audit_events" in metadata.tables:
        return metadata.tables["audit_events"]
    return sa.Table(
        "audit_events",
        metadata,
        sa.Column("fid", sa.Integer, primary_key=True),
        sa.Column("entity", sa.Text, nullable=False),
        sa.Column("record_id", sa.Text, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("at", sa.Text, nullable=False),
        sa.Column("user", sa.Text, nullable=False),
        sa.Column("os_user", sa.Text),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("changes", sa.Text, nullable=False),
        sa.UniqueConstraint("entity", "record_id", "seq", name="audit_events_entity_record_seq"),
    )


audit_events = _audit_table()


@dataclass(frozen=True)
class Entity:
    name: str
    table: sa.Table
    id_col: str
    doc: str
    lists: tuple[str, ...] = ()

    @property
    def fields(self) -> list[str]:
        return [c.name for c in self.table.c if c.name not in ("fid", self.id_col, "version")]


def _text_table(name: str, id_col: str, cols: Sequence[str]) -> sa.Table:
    return sa.Table(
        name,
        metadata,
        sa.Column("fid", sa.Integer, primary_key=True),
        sa.Column(id_col, sa.Text, nullable=False, unique=True),
        sa.Column("version", sa.Integer, nullable=False),
        *[sa.Column(c, sa.Text) for c in cols],
    )


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

ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        Entity("acc_sanctions", _text_table("acc_sanctions", "sanction_id", _SANCTION), "sanction_id", "追责问责 处分", ("links",)),
        Entity("acc_cases", _text_table("acc_cases", "case_no", _CASE), "case_no", "追责问责 立案查处", ("links",)),
        Entity("acc_funds", _text_table("acc_funds", "problem_id", _FUNDS), "problem_id", "涉农资金 (涉嫌骗取、正在追回、专户)"),
        Entity("greenhouse_registry", _text_table("greenhouse_registry", "greenhouse_no", _GREENHOUSE), "greenhouse_no", "棚室台账"),
        Entity("greenhouse_visits", _text_table("greenhouse_visits", "visit_id", _VISIT), "visit_id", "入棚核查记录"),
    )
}  # fmt: skip
_TABLES = [e.table for e in ENTITIES.values()] + [audit_events]
_MSG = "parcelwatch: audit_events is append-only (history of records)."
_SQLITE_GUARDS = [
    f'CREATE TRIGGER IF NOT EXISTS "audit_events_no_{op.lower()}" BEFORE {op} ON "audit_events" '
    f"BEGIN SELECT RAISE(ABORT, '{_MSG}'); END"
    for op in ("UPDATE", "DELETE")
]


def ensure_tables(store: SqlStore) -> None:
    """Create the acceptance tables in a GeoPackage the first time; on PostgreSQL refuse clearly."""
    with store._tx(False) as conn:
        dialect = conn.dialect.name
        schema = None if dialect == "sqlite" else "pw"
        existing = set(sa.inspect(conn).get_table_names(schema=schema))
    missing = [t for t in _TABLES if t.name not in existing]
    if not missing:
        return
    if dialect != "sqlite":
        raise LedgerError(
            f"The shared ledger {store.location} has no acceptance tables ({', '.join(t.name for t in missing)}). "
            "This version of parcelwatch creates them only in a GeoPackage workspace (`store init` does "
            "not add them yet); keep acceptance records in a GeoPackage workspace. Nothing was changed."
        )
    with store._tx(True) as conn:
        metadata.create_all(conn, tables=missing, checkfirst=True)
        for stmt in _SQLITE_GUARDS:
            conn.exec_driver_sql(stmt)
        if conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'gpkg_contents'").first():
            for t in missing:
                doc = ENTITIES[t.name].doc if t.name in ENTITIES else "记录的修改历史 (append-only)"
                conn.exec_driver_sql(
                    "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) "
                    "VALUES (?, 'attributes', ?, ?, 0)",
                    (t.name, t.name, doc),
                )


def _stored(e: Entity, name: str, value: Any) -> str | None:
    if name in e.lists:
        return json.dumps(list(value or []), ensure_ascii=False)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def _loaded(e: Entity, row: Mapping[Any, Any]) -> dict[str, Any]:
    out = dict(row)
    out.pop("fid", None)
    for name in e.lists:
        out[name] = json.loads(out.get(name) or "[]")
    return out


class RecordBook:
    """The acceptance records of one ledger store (tables created on first use in a GeoPackage)."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        ensure_tables(store)

    def all(self, entity: str) -> list[dict[str, Any]]:
        e = ENTITIES[entity]
        with self.store._tx(False) as conn:
            rows = conn.execute(sa.select(e.table).order_by(e.table.c[e.id_col]))
            return [_loaded(e, r._mapping) for r in rows]

    def audit(self, entity: str) -> list[dict[str, Any]]:
        q = (
            sa.select(audit_events)
            .where(audit_events.c.entity == entity)
            .order_by(audit_events.c.record_id, audit_events.c.seq)
        )
        with self.store._tx(False) as conn:
            rows = [dict(r._mapping) for r in conn.execute(q)]
        for r in rows:
            r.pop("fid", None)
            r["changes"] = json.loads(r["changes"])
        return rows

    def replay(self, entity: str) -> list[dict[str, Any]]:
        """The table ``entity`` rebuilt from its audit events alone (ordered by id)."""
        e = ENTITIES[entity]
        state: dict[str, dict[str, Any]] = {}
        for ev in self.audit(entity):
            rec = state.setdefault(
                ev["record_id"], {e.id_col: ev["record_id"], **dict.fromkeys(e.fields)}
            )
            for k, v in ev["changes"].items():
                rec[k] = v if ev["kind"] == "create" else v[1]
            rec["version"] = ev["seq"]
        return [
            _loaded(e, {k: state[rid].get(k) for k in [e.id_col, "version", *e.fields]})
            for rid in sorted(state)
        ]

    def _audit(self, conn: sa.Connection, entity: str, rid: str, seq: int, kind: str, changes: Mapping[str, Any], user: str, now: datetime) -> None:  # fmt: skip
        conn.execute(
            sa.insert(audit_events).values(
                entity=entity,
                record_id=rid,
                seq=seq,
                at=now.isoformat(timespec="seconds"),
                user=user,
                os_user=getattr(self.store, "os_user", ""),
                kind=kind,
                changes=json.dumps(dict(changes), ensure_ascii=False, sort_keys=True),
            )
        )

    @staticmethod
    def _next(conn: sa.Connection, e: Entity, prefix: str, width: int) -> int:
        col = e.table.c[e.id_col]
        top = conn.execute(
            sa.select(sa.func.max(col)).where(
                col.like(prefix + "%"), sa.func.length(col) == len(prefix) + width
            )
        ).scalar()
        return int(top[len(prefix) :]) + 1 if top else 1

    def insert_many(
        self,
        entity: str,
        rows: Sequence[Mapping[str, Any]],
        *,
        user: str,
        now: datetime,
        ids: Sequence[str] | None = None,
        prefix: str = "",
        width: int = 4,
    ) -> list[str]:
        """Insert records in one transaction (all or nothing); ids given, or ``prefix`` + a sequence."""
        if not user.strip():
            raise LedgerError("Every record names who entered it: pass --user NAME.")
        e = ENTITIES[entity]
        out: list[str] = []
        with self.store._tx(True) as conn:
            nxt = self._next(conn, e, prefix, width) if ids is None else 0
            for n, row in enumerate(rows):
                unknown = set(row) - set(e.fields)
                if unknown:
                    raise LedgerError(f"{entity}: unknown field(s) {', '.join(sorted(unknown))}.")
                rid = ids[n] if ids is not None else f"{prefix}{nxt + n:0{width}d}"
                exists = conn.execute(
                    sa.select(e.table.c[e.id_col]).where(e.table.c[e.id_col] == rid)
                ).first()
                if exists:
                    raise LedgerError(
                        f"{entity}: {rid} exists already in {self.store.location}; nothing was added."
                    )
                values = {k: _stored(e, k, row.get(k)) for k in e.fields}
                self._audit(conn, entity, rid, 1, "create", values, user, now)
                conn.execute(sa.insert(e.table).values(**{e.id_col: rid, "version": 1}, **values))
                out.append(rid)
        return out

    def upsert(
        self, entity: str, rid: str, changes: Mapping[str, Any], *, user: str, now: datetime
    ) -> None:
        """Create ``rid`` with ``changes``, or change it (version checked), with its audit event."""
        if not user.strip():
            raise LedgerError("Every change names who made it: pass --user NAME.")
        e = ENTITIES[entity]
        with self.store._tx(True) as conn:
            row = conn.execute(sa.select(e.table).where(e.table.c[e.id_col] == rid)).first()
            if row is None:
                values = {k: _stored(e, k, changes.get(k)) for k in e.fields}
                self._audit(conn, entity, rid, 1, "create", values, user, now)
                conn.execute(sa.insert(e.table).values(**{e.id_col: rid, "version": 1}, **values))
                return
            m = row._mapping
            version = int(m["version"])
            diff = {
                k: [m[k], _stored(e, k, v)] for k, v in changes.items() if _stored(e, k, v) != m[k]
            }
            if not diff:
                return
            self._audit(conn, entity, rid, version + 1, "edit", diff, user, now)
            res = conn.execute(
                sa.update(e.table)
                .where(e.table.c[e.id_col] == rid, e.table.c.version == version)
                .values(version=version + 1, **{k: v[1] for k, v in diff.items()})
            )
            if res.rowcount != 1:
                raise LedgerConflictError(f"{entity} {rid} changed meanwhile; nothing was changed.")


def read_if_present(store: SqlStore, entity: str) -> list[dict[str, Any]]:
    """The rows of ``entity`` without creating anything (``[]`` when the table does not exist)."""
    e = ENTITIES[entity]
    with store._tx(False) as conn:
        schema = None if conn.dialect.name == "sqlite" else "pw"
        if e.table.name not in sa.inspect(conn).get_table_names(schema=schema):
            return []
        rows = conn.execute(sa.select(e.table).order_by(e.table.c[e.id_col]))
        return [_loaded(e, r._mapping) for r in rows]
