"""Patrol findings, complaints and visits in the ledger store, with an append-only audit history.

The tables are SQLAlchemy Core ``Table`` objects on the ledger's metadata
(:data:`parcelwatch.ledger.sqlstore.metadata`, schema ``pw`` on PostgreSQL, none on SQLite), so the
GeoPackage and the PostgreSQL store both carry them; :func:`ensure_tables` creates them the first
time a patrol command opens a ledger. Every insert or change of a record is one transaction that
writes the row (``UPDATE ... WHERE id = ? AND version = ?``) and one ``audit_events`` row (who,
when, what changed, SEED-SYSTEMS §0.1); database triggers refuse any UPDATE or DELETE of
``audit_events``. :meth:`PatrolBook.replay` rebuilds a table from its audit events.

Geometry is kept as WKT text in EPSG:4490 (``geom_wkt``): a point from the photo or ``--lon/--lat``,
or a drawn polygon. Times are ISO 8601 text with their offset.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from parcelwatch.errors import LedgerConflictError, LedgerError
from parcelwatch.ledger.sqlstore import SqlStore, metadata
from parcelwatch.patrol.scheme import COMPLAINT_KINDS, FINDER_KINDS, Scheme
from parcelwatch.patrol.scoring import FALSE, PENDING, TRUE, Entry

__all__ = [
    "ENTITIES",
    "PatrolBook",
    "RecordBook",
    "register",
    "ensure_tables",
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


@dataclass(frozen=True)
class Entity:
    """A record type: its table, id column, id pattern and the JSON-list columns."""

    name: str
    table: sa.Table
    id_col: str
    lists: tuple[str, ...] = ()
    doc: str = ""  # what a county user calls one record (for messages), e.g. 巡察整改事项

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
audit_events = sa.Table(
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

ENTITIES: dict[str, Entity] = {
    "patrol_findings": Entity(
        "patrol_findings", patrol_findings, "finding_id", ("photos", "enforcement_docs")
    ),
    "complaints": Entity("complaints", complaints, "complaint_id"),
    "patrol_visits": Entity(
        "patrol_visits",
        patrol_visits,
        "visit_id",
        ("people", "items_checked", "finding_ids", "evidence"),
    ),
    "patrol_people": Entity("patrol_people", patrol_people, "person_id"),
}
_TABLES = [e.table for e in ENTITIES.values()] + [audit_events]

_AUDIT_MSG = "parcelwatch: audit_events is append-only (history of records)."
_SQLITE_GUARDS = [
    f'CREATE TRIGGER IF NOT EXISTS "audit_events_no_{op.lower()}" BEFORE {op} ON "audit_events" '
    f"BEGIN SELECT RAISE(ABORT, '{_AUDIT_MSG}'); END"
    for op in ("UPDATE", "DELETE")
]
_RECORD_TABLES = ("patrol_findings", "complaints", "patrol_visits", "patrol_people")


def register(entity: Entity, doc: str) -> None:
    """Add a record type (its table is already on ``metadata``) to the book and the audit.

    The one registry of audited record types: patrol, 两违 (:mod:`parcelwatch.violations.records`)
    and the report records (:mod:`parcelwatch.reports.records`) all share ``audit_events``."""
    ENTITIES[entity.name] = entity
    _TABLES.insert(-1, entity.table)
    _TABLE_DOCS[entity.name] = doc


def pg_schema_sql(tables: Sequence[sa.Table], record_tables: Sequence[str]) -> list[str]:
    """Idempotent PostgreSQL DDL and grants for record ``tables`` (``record_tables`` writable)."""
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateTable

    d = postgresql.dialect()
    out = [str(CreateTable(t, if_not_exists=True).compile(dialect=d)).strip() for t in tables]
    out.append(
        "GRANT SELECT ON "
        + ", ".join(f"pw.{t.name}" for t in tables)
        + " TO pw_reader, pw_township, pw_county"
    )
    if record_tables:
        out.append(
            "GRANT INSERT, UPDATE ON "
            + ", ".join(f"pw.{t}" for t in record_tables)
            + " TO pw_township, pw_county"
        )
    out.append("GRANT USAGE ON ALL SEQUENCES IN SCHEMA pw TO pw_township, pw_county")
    return out


def schema_sql(dialect: str) -> list[str]:
    """Idempotent DDL, guards and grants of the patrol tables (PostgreSQL ``store init``).

    On SQLite (GeoPackage) nothing is needed here: :func:`ensure_tables` creates the tables the
    first time a patrol command opens the ledger.
    """
    if dialect != "postgresql":
        return []
    out = pg_schema_sql(
        [ENTITIES[t].table for t in _RECORD_TABLES] + [audit_events], _RECORD_TABLES
    )
    out += [
        "DROP TRIGGER IF EXISTS audit_events_append_only ON pw.audit_events",
        "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON pw.audit_events FOR EACH ROW EXECUTE FUNCTION pw.forbid_change()",
        "DROP TRIGGER IF EXISTS audit_events_no_truncate ON pw.audit_events",
        "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON pw.audit_events FOR EACH STATEMENT EXECUTE FUNCTION pw.forbid_change()",
        "GRANT INSERT ON pw.audit_events TO pw_township, pw_county",
    ]
    return out


_TABLE_DOCS = {
    "patrol_findings": "巡查发现 (村上报、督查组和上级发现), seed 004",
    "complaints": "投诉举报 (12345、信访、市长信箱、舆情)",
    "patrol_visits": "巡查记录 (督查组和村巡查)",
    "patrol_people": "村(居)巡查员 (不少于2名村(居)干部)",
    "audit_events": "记录修改历史 (append-only)",
}


def ensure_tables(store: SqlStore) -> None:
    """Make sure the patrol tables exist: created on a GeoPackage, checked on PostgreSQL (where
    the administrator's ``parcelwatch store init`` creates them, :func:`schema_sql`)."""
    with store._tx(False) as conn:
        existing = set(sa.inspect(conn).get_table_names(schema=_schema(conn)))
        dialect = conn.dialect.name
    missing = [t for t in _TABLES if t.name not in existing]
    if not missing:
        return
    if dialect != "sqlite":
        raise LedgerError(
            f"The shared ledger {store.location} has no patrol tables ({', '.join(t.name for t in missing)}). "
            "The database administrator runs `parcelwatch store init URL` once more to add them; nothing was changed."
        )
    with store._tx(True) as conn:
        metadata.create_all(conn, tables=missing, checkfirst=True)
        for stmt in _SQLITE_GUARDS:
            conn.exec_driver_sql(stmt)
        has_contents = conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE name = 'gpkg_contents'"
        ).first()
        if has_contents:  # QGIS lists attribute tables registered in gpkg_contents
            for t in missing:
                conn.exec_driver_sql(
                    "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES (?, 'attributes', ?, ?, 0)",
                    (t.name, t.name, _TABLE_DOCS.get(t.name, t.name)),
                )


def _schema(conn: sa.Connection) -> str | None:
    smap = conn.get_execution_options().get("schema_translate_map") or {}
    return smap.get("pw", "pw") if conn.dialect.name != "sqlite" else None


def _iso(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _stored(entity: Entity, name: str, value: Any) -> str | None:
    if name in entity.lists:
        return json.dumps(list(value or []), ensure_ascii=False, sort_keys=True)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(_iso(value))


def _loaded(entity: Entity, row: Any) -> dict[str, Any]:
    out = dict(row)
    out.pop("fid", None)
    for name in entity.lists:
        out[name] = json.loads(out.get(name) or "[]")
    return out


class PatrolBook:
    """Records (patrol, 两违 ...) of one ledger store, with their audit history (tables created on
    first use in a GeoPackage)."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        ensure_tables(store)

    # -- reading

    def all(self, entity: str) -> list[dict[str, Any]]:
        e = ENTITIES[entity]
        with self.store._tx(False) as conn:
            rows = conn.execute(sa.select(e.table).order_by(e.table.c[e.id_col]))
            return [_loaded(e, r._mapping) for r in rows]

    def get(self, entity: str, record_id: str) -> dict[str, Any]:
        e = ENTITIES[entity]
        with self.store._tx(False) as conn:
            row = conn.execute(sa.select(e.table).where(e.table.c[e.id_col] == record_id)).first()
        if row is None:
            raise LedgerError(
                f"No {entity} record {record_id!r} in {self.store.location}. List them with `parcelwatch patrol list WS`."
            )
        return _loaded(e, row._mapping)

    def audit(
        self, entity: str | None = None, record_id: str | None = None
    ) -> list[dict[str, Any]]:
        q = sa.select(audit_events).order_by(
            audit_events.c.entity, audit_events.c.record_id, audit_events.c.seq
        )
        if entity:
            q = q.where(audit_events.c.entity == entity)
        if record_id:
            q = q.where(audit_events.c.record_id == record_id)
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
                rec[k] = v[1] if ev["kind"] != "create" else v
            rec["version"] = ev["seq"]
        out = []
        for rid in sorted(state):
            out.append(_loaded(e, {k: state[rid].get(k) for k in [e.id_col, "version", *e.fields]}))
        return out

    # -- writing

    def _next_id(self, conn: sa.Connection, e: Entity, prefix: str, width: int) -> str:
        col = e.table.c[e.id_col]
        top = conn.execute(
            sa.select(sa.func.max(col)).where(
                col.like(prefix + "%"), sa.func.length(col) == len(prefix) + width
            )
        ).scalar()
        return f"{prefix}{(int(top[len(prefix) :]) + 1) if top else 1:0{width}d}"

    def _audit(
        self,
        conn: sa.Connection,
        entity: str,
        record_id: str,
        seq: int,
        kind: str,
        changes: Mapping[str, Any],
        *,
        user: str,
        now: datetime,
    ) -> None:
        conn.execute(
            sa.insert(audit_events).values(
                entity=entity,
                record_id=record_id,
                seq=seq,
                at=now.isoformat(timespec="seconds"),
                user=user,
                os_user=self.store.os_user,
                kind=kind,
                changes=json.dumps(dict(changes), ensure_ascii=False, sort_keys=True),
            )
        )

    def insert_many(
        self,
        entity: str,
        rows: Sequence[Mapping[str, Any]],
        *,
        prefix: Sequence[str] | str,
        width: int,
        user: str,
        now: datetime,
    ) -> list[str]:
        """Insert records (one transaction, all or nothing); returns their new ids.

        ``prefix`` is the id prefix of every row (or one per row); ids continue the highest stored.
        """
        if not user.strip():
            raise LedgerError("Every patrol record names who entered it: pass --user NAME.")
        e = ENTITIES[entity]
        prefixes = [prefix] * len(rows) if isinstance(prefix, str) else list(prefix)
        ids: list[str] = []
        with self.store._tx(True) as conn:
            nxt: dict[str, int] = {}
            for row, pfx in zip(rows, prefixes, strict=True):
                unknown = set(row) - set(e.fields)
                if unknown:
                    raise LedgerError(f"{entity}: unknown field(s) {', '.join(sorted(unknown))}.")
                if pfx not in nxt:
                    nxt[pfx] = int(self._next_id(conn, e, pfx, width)[len(pfx) :])
                rid = f"{pfx}{nxt[pfx]:0{width}d}"
                nxt[pfx] += 1
                values = {k: _stored(e, k, row.get(k)) for k in e.fields}
                self._audit(conn, entity, rid, 1, "create", values, user=user, now=now)
                conn.execute(sa.insert(e.table).values(**{e.id_col: rid, "version": 1}, **values))
                ids.append(rid)
        return ids

    def update(
        self,
        entity: str,
        record_id: str,
        changes: Mapping[str, Any],
        *,
        user: str,
        now: datetime,
        kind: str = "edit",
        expected_version: int | None = None,
        extra: Iterable[tuple[str, str, Mapping[str, Any], str]] = (),
    ) -> int:
        """Change one record (and optionally others, ``extra`` = (entity, id, changes, kind)) in
        one transaction; returns the number of records changed."""
        if not user.strip():
            raise LedgerError("Every patrol change names who made it: pass --user NAME.")
        todo = [(entity, record_id, changes, kind, expected_version)]
        todo += [(en, rid, ch, k, None) for en, rid, ch, k in extra]
        n = 0
        with self.store._tx(True) as conn:
            for ent, rid, ch, k, expv in todo:
                e = ENTITIES[ent]
                unknown = set(ch) - set(e.fields)
                if unknown:
                    raise LedgerError(f"{ent}: unknown field(s) {', '.join(sorted(unknown))}.")
                row = conn.execute(
                    sa.select(e.table).where(e.table.c[e.id_col] == rid).with_for_update()
                ).first()
                if row is None:
                    raise LedgerError(f"No {ent} record {rid!r} in {self.store.location}.")
                m = row._mapping
                version = int(m["version"])
                if expv is not None and expv != version:
                    raise LedgerConflictError(
                        f"{ent} {rid} was changed by someone else (you edited version {expv}, it now has {version}). Nothing was changed; reload it and retry."
                    )
                diff = {}
                for name, value in ch.items():
                    new = _stored(e, name, value)
                    if new != m[name]:
                        diff[name] = [m[name], new]
                if not diff:
                    continue
                self._audit(conn, ent, rid, version + 1, k, diff, user=user, now=now)
                res = conn.execute(
                    sa.update(e.table)
                    .where(e.table.c[e.id_col] == rid, e.table.c.version == version)
                    .values(version=version + 1, **{name: v[1] for name, v in diff.items()})
                )
                if res.rowcount != 1:  # pragma: no cover - guarded by the locked read
                    raise LedgerConflictError(
                        f"{ent} {rid} changed meanwhile; nothing was changed."
                    )
                n += 1
        return n


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


RecordBook = PatrolBook
