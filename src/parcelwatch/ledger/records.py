"""Audited records in the ledger store (SEED-SYSTEMS §0.1): the one base of every record type
beside the problems (patrol findings, 两违 cases, 巡察整改 items, report log, 追责问责, 棚室台账 ...).

A record type is an :class:`Entity`: a SQLAlchemy Core table of text columns on the ledger's
:data:`~parcelwatch.ledger.sqlstore.metadata` (schema ``pw`` on PostgreSQL, none in a GeoPackage)
with a text id and a ``version``. Modules :func:`register` their types in the one registry
(:data:`ENTITIES`); all share one ``audit_events`` table. Every insert or change is one
transaction that writes one ``audit_events`` row (who, when, what changed) and then the record
(``UPDATE ... WHERE id = ? AND version = ?``); :meth:`RecordBook.replay` rebuilds a table from its
audit events alone.

Both stores carry the tables and the same guards in the database (they hold for QGIS and psql too):

* ``audit_events`` is append-only (UPDATE, DELETE, on PostgreSQL also TRUNCATE, refused) and an
  event carries the next ``seq`` of its record;
* a record is inserted with version 1 and its ``create`` event, changes only to the next version
  with that version's event, keeps its id, and is never deleted;
* GeoPackage: every write needs the function only parcelwatch's connections register (as the
  ledger tables, :mod:`parcelwatch.ledger.store`); :func:`ensure_tables` creates missing tables
  and guards the first time a book opens the file;
* PostgreSQL: ``parcelwatch store init`` runs :func:`schema_sql` (idempotent): the tables, guard
  triggers, an ``actor`` column (the database login, ``session_user``) on ``audit_events``, grants,
  and row-level security on every record type with a township column (:attr:`Entity.scope_col`):
  a township login sees and writes only its township's records and their audit events, as for
  problems.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa

from parcelwatch.errors import LedgerConflictError, LedgerError
from parcelwatch.ledger.sqlstore import SqlStore, metadata

if TYPE_CHECKING:
    from parcelwatch.ledger.store import LedgerStore

    AnyStore = SqlStore | LedgerStore

__all__ = [
    "ENTITIES",
    "Entity",
    "RecordBook",
    "audit_events",
    "text_table",
    "register",
    "schema_sql",
    "ensure_tables",
    "read_if_present",
    "guard_trigger_names",
    "table_schema",
]

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
AUDIT_DOC = "记录修改历史 (append-only)"


@dataclass(frozen=True)
class Entity:
    """A record type: its table, id column, JSON-list columns, what a county user calls one record
    (for messages and the GeoPackage table description) and its township column, if any.

    ``scope`` names the column row-level security scopes by on PostgreSQL: a 9-digit township
    code, or a township name (resolved through the ledger's problems). Default: ``township_code``
    when the table has it, else none (every login with access sees every row)."""

    name: str
    table: sa.Table
    id_col: str
    lists: tuple[str, ...] = ()
    doc: str = ""
    scope: str | None = None

    @property
    def fields(self) -> list[str]:
        return [c.name for c in self.table.c if c.name not in ("fid", self.id_col, "version")]

    @property
    def scope_col(self) -> str | None:
        if self.scope is not None:
            return self.scope or None
        return "township_code" if "township_code" in self.table.c else None


def text_table(name: str, id_col: str, cols: Sequence[str]) -> sa.Table:
    """A record table: ``fid``, the unique text id, ``version`` and text columns."""
    return sa.Table(
        name,
        metadata,
        sa.Column("fid", sa.Integer, primary_key=True),
        sa.Column(id_col, sa.Text, nullable=False, unique=True),
        sa.Column("version", sa.Integer, nullable=False),
        *[sa.Column(c, sa.Text) for c in cols],
    )


#: every registered record type, by name
ENTITIES: dict[str, Entity] = {}


def register(entity: Entity, doc: str | None = None) -> Entity:
    """Add a record type (its table already on ``metadata``) to the one registry; returns it."""
    if doc is not None and doc != entity.doc:
        entity = Entity(entity.name, entity.table, entity.id_col, entity.lists, doc, entity.scope)
    if entity.table.metadata is not metadata:
        raise ValueError(f"record table {entity.table.name} is not on the ledger's metadata")
    ENTITIES[entity.name] = entity
    return entity


def _tables() -> list[sa.Table]:
    return [e.table for e in ENTITIES.values()] + [audit_events]


# ------------------------------------------------------------------------------------------
# Guards: GeoPackage (SQLite triggers)

_WRITER_FN = "parcelwatch_writer"  # registered only on parcelwatch's connections (ledger.store)
_AUDIT_MSG = "parcelwatch: audit_events is append-only (history of records)."


def _sqlite_guards(entities: Iterable[Entity]) -> dict[str, str]:
    """name -> CREATE TRIGGER for ``audit_events`` and each record table."""
    out = {}
    for op in ("UPDATE", "DELETE"):
        name = f"audit_events_no_{op.lower()}"
        out[name] = (
            f'CREATE TRIGGER IF NOT EXISTS "{name}" BEFORE {op} ON "audit_events" '
            f"BEGIN SELECT RAISE(ABORT, '{_AUDIT_MSG}'); END"
        )
    out["audit_events_next_seq"] = (
        'CREATE TRIGGER IF NOT EXISTS "audit_events_next_seq" BEFORE INSERT ON "audit_events" '
        f"WHEN {_WRITER_FN}() IS NOT 1 OR NEW.seq IS NOT (SELECT COALESCE(MAX(seq), 0) + 1 FROM "
        '"audit_events" WHERE entity = NEW.entity AND record_id = NEW.record_id) '
        "BEGIN SELECT RAISE(ABORT, 'parcelwatch: an audit event is written only by parcelwatch, "
        "with the next sequence number of its record.'); END"
    )
    for e in entities:
        t, i = e.table.name, e.id_col
        msg = f"parcelwatch: {t} is changed only by parcelwatch, each change with its audit event and the next version"

        def has_event(seq: str, t: str = t, i: str = i, name: str = e.name) -> str:
            return (
                f"EXISTS (SELECT 1 FROM \"audit_events\" a WHERE a.entity = '{name}' "
                f'AND a.record_id = NEW."{i}" AND a.seq = {seq})'
            )

        out[f"{t}_record_insert"] = (
            f'CREATE TRIGGER IF NOT EXISTS "{t}_record_insert" BEFORE INSERT ON "{t}" '
            f"WHEN {_WRITER_FN}() IS NOT 1 OR NEW.version IS NOT 1 OR NOT {has_event('1')} "
            f"BEGIN SELECT RAISE(ABORT, '{msg}.'); END"
        )
        out[f"{t}_record_update"] = (
            f'CREATE TRIGGER IF NOT EXISTS "{t}_record_update" BEFORE UPDATE ON "{t}" '
            f'WHEN {_WRITER_FN}() IS NOT 1 OR NEW.version IS NOT OLD.version + 1 OR NEW."{i}" IS NOT OLD."{i}" '
            f"OR NOT {has_event('NEW.version')} BEGIN SELECT RAISE(ABORT, '{msg}.'); END"
        )
        out[f"{t}_record_no_delete"] = (
            f'CREATE TRIGGER IF NOT EXISTS "{t}_record_no_delete" BEFORE DELETE ON "{t}" '
            f"BEGIN SELECT RAISE(ABORT, 'parcelwatch: records of {t} are never deleted (history).'); END"
        )
    return out


def guard_trigger_names() -> set[str]:
    """The guard triggers a GeoPackage has once every registered record type was opened."""
    return set(_sqlite_guards(ENTITIES.values()))


# ------------------------------------------------------------------------------------------
# PostgreSQL DDL (store init)

_PG_FUNCTIONS = [
    # a record row: version 1 on insert, +1 on update, id unchanged (TG_ARGV[0] = id column)
    """CREATE OR REPLACE FUNCTION pw.record_version_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.version IS DISTINCT FROM 1 THEN
      RAISE EXCEPTION 'parcelwatch: % % is inserted with version 1 and its create event', TG_TABLE_NAME,
        to_jsonb(NEW) ->> TG_ARGV[0] USING ERRCODE = 'check_violation';
    END IF;
  ELSIF NEW.version IS DISTINCT FROM OLD.version + 1
        OR (to_jsonb(NEW) ->> TG_ARGV[0]) IS DISTINCT FROM (to_jsonb(OLD) ->> TG_ARGV[0]) THEN
    RAISE EXCEPTION 'parcelwatch: % %: version must go from % to % (id unchanged)', TG_TABLE_NAME,
      to_jsonb(OLD) ->> TG_ARGV[0], OLD.version, OLD.version + 1 USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$""",
    # at COMMIT every record version has its audit event (TG_ARGV: entity, id column)
    """CREATE OR REPLACE FUNCTION pw.record_event_required() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pw, pg_temp AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pw.audit_events a WHERE a.entity = TG_ARGV[0]
                 AND a.record_id = to_jsonb(NEW) ->> TG_ARGV[1] AND a.seq = NEW.version) THEN
    RAISE EXCEPTION 'parcelwatch: % % changed to version % without its audit event', TG_ARGV[0],
      to_jsonb(NEW) ->> TG_ARGV[1], NEW.version USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NULL;
END $$""",
    """CREATE OR REPLACE FUNCTION pw.audit_event_guard() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pw, pg_temp AS $$
DECLARE top integer;
BEGIN
  IF NEW.actor IS DISTINCT FROM session_user::text THEN
    RAISE EXCEPTION 'parcelwatch: an audit event is recorded under the login that writes it (%), not %',
      session_user, NEW.actor USING ERRCODE = 'insufficient_privilege';
  END IF;
  NEW.recorded_at := clock_timestamp();
  SELECT COALESCE(MAX(a.seq), 0) INTO top FROM pw.audit_events a
   WHERE a.entity = NEW.entity AND a.record_id = NEW.record_id;
  IF NEW.seq IS DISTINCT FROM top + 1 THEN
    RAISE EXCEPTION 'parcelwatch: audit event % of % % is not the next (%)', NEW.seq, NEW.entity,
      NEW.record_id, top + 1 USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$""",
    # a township given as its code, or as its name (resolved through the ledger's problems)
    """CREATE OR REPLACE FUNCTION pw.township_in_scope(t text) RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pw, pg_temp AS $$
  SELECT pw.is_county() OR pw.in_scope(t) OR EXISTS (
    SELECT 1 FROM pw.problems p WHERE p.township_name = t AND pw.in_scope(p.township_code)) $$""",
    "CREATE TABLE IF NOT EXISTS pw.record_types (entity text PRIMARY KEY, table_name text NOT NULL, id_col text NOT NULL, scope_col text)",
    # the audit events of a record are in scope when the record is (a create event before its row
    # exists: the township it is created with)
    """CREATE OR REPLACE FUNCTION pw.audit_in_scope(ent text, rid text, changes text) RETURNS boolean
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pw, pg_temp AS $$
DECLARE rt record; code text; found_row boolean;
BEGIN
  IF pw.is_county() THEN RETURN true; END IF;
  SELECT * INTO rt FROM pw.record_types r WHERE r.entity = ent;
  IF NOT FOUND OR rt.scope_col IS NULL THEN RETURN true; END IF;
  EXECUTE format('SELECT %I, true FROM pw.%I WHERE %I = $1', rt.scope_col, rt.table_name, rt.id_col)
    INTO code, found_row USING rid;
  IF found_row IS NULL THEN
    BEGIN
      code := changes::jsonb ->> rt.scope_col;
    EXCEPTION WHEN others THEN
      code := NULL;
    END;
  END IF;
  RETURN code IS NOT NULL AND pw.township_in_scope(code);
END $$""",
]


def schema_sql(dialect: str, entities: Iterable[Entity] | None = None) -> list[str]:
    """Idempotent PostgreSQL DDL, guards, grants and row-level security of the record tables
    (all registered ones, or ``entities``) and ``audit_events``. Nothing on SQLite: there
    :func:`ensure_tables` creates the tables the first time a book opens the GeoPackage."""
    if dialect != "postgresql":
        return []
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateTable

    ents = list(ENTITIES.values() if entities is None else entities)
    d = postgresql.dialect()
    out = [
        str(CreateTable(t, if_not_exists=True).compile(dialect=d)).strip()
        for t in [audit_events, *(e.table for e in ents)]
    ]
    out += [
        "ALTER TABLE pw.audit_events ADD COLUMN IF NOT EXISTS actor text NOT NULL DEFAULT session_user",
        "ALTER TABLE pw.audit_events ADD COLUMN IF NOT EXISTS recorded_at timestamptz NOT NULL DEFAULT clock_timestamp()",
        *_PG_FUNCTIONS,
        "DROP TRIGGER IF EXISTS audit_events_append_only ON pw.audit_events",
        "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON pw.audit_events FOR EACH ROW EXECUTE FUNCTION pw.forbid_change()",
        "DROP TRIGGER IF EXISTS audit_events_no_truncate ON pw.audit_events",
        "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON pw.audit_events FOR EACH STATEMENT EXECUTE FUNCTION pw.forbid_change()",
        "DROP TRIGGER IF EXISTS audit_event_guard ON pw.audit_events",
        "CREATE TRIGGER audit_event_guard BEFORE INSERT ON pw.audit_events FOR EACH ROW EXECUTE FUNCTION pw.audit_event_guard()",
        "ALTER TABLE pw.audit_events ENABLE ROW LEVEL SECURITY",
        "ALTER TABLE pw.audit_events FORCE ROW LEVEL SECURITY",
        "DROP POLICY IF EXISTS scope ON pw.audit_events",
        "CREATE POLICY scope ON pw.audit_events USING (pw.audit_in_scope(entity, record_id, changes)) "
        "WITH CHECK (pw.audit_in_scope(entity, record_id, changes))",
    ]
    for e in ents:
        t, i = e.table.name, e.id_col
        out += [
            f"DROP TRIGGER IF EXISTS {t}_version_guard ON pw.{t}",
            f"CREATE TRIGGER {t}_version_guard BEFORE INSERT OR UPDATE ON pw.{t} FOR EACH ROW EXECUTE FUNCTION pw.record_version_guard('{i}')",
            f"DROP TRIGGER IF EXISTS {t}_event_required ON pw.{t}",
            f"CREATE CONSTRAINT TRIGGER {t}_event_required AFTER INSERT OR UPDATE ON pw.{t} DEFERRABLE INITIALLY DEFERRED "
            f"FOR EACH ROW EXECUTE FUNCTION pw.record_event_required('{e.name}', '{i}')",
            f"DROP TRIGGER IF EXISTS {t}_no_delete ON pw.{t}",
            f"CREATE TRIGGER {t}_no_delete BEFORE DELETE ON pw.{t} FOR EACH ROW EXECUTE FUNCTION pw.forbid_change()",
            f"DROP TRIGGER IF EXISTS {t}_no_truncate ON pw.{t}",
            f"CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON pw.{t} FOR EACH STATEMENT EXECUTE FUNCTION pw.forbid_change()",
            f"INSERT INTO pw.record_types VALUES ('{e.name}', '{t}', '{i}', "
            + (f"'{e.scope_col}'" if e.scope_col else "NULL")
            + ") ON CONFLICT (entity) DO UPDATE SET table_name = EXCLUDED.table_name, "
            "id_col = EXCLUDED.id_col, scope_col = EXCLUDED.scope_col",
            f"DROP POLICY IF EXISTS scope ON pw.{t}",
        ]
        if e.scope_col:
            c = e.scope_col
            out += [
                f"ALTER TABLE pw.{t} ENABLE ROW LEVEL SECURITY",
                f"ALTER TABLE pw.{t} FORCE ROW LEVEL SECURITY",
                f'CREATE POLICY scope ON pw.{t} USING (pw.township_in_scope("{c}")) WITH CHECK (pw.township_in_scope("{c}"))',
            ]
        else:
            out.append(f"ALTER TABLE pw.{t} DISABLE ROW LEVEL SECURITY")
    names = ", ".join(f"pw.{e.table.name}" for e in ents)
    out += [
        "GRANT SELECT ON pw.audit_events, pw.record_types"
        + (f", {names}" if names else "")
        + " TO pw_reader, pw_township, pw_county",
        "GRANT INSERT ON pw.audit_events TO pw_township, pw_county",
        "GRANT USAGE ON ALL SEQUENCES IN SCHEMA pw TO pw_township, pw_county",
        "GRANT EXECUTE ON FUNCTION pw.township_in_scope(text), pw.audit_in_scope(text, text, text) TO pw_reader, pw_township, pw_county",
    ]
    if names:
        out.append(f"GRANT INSERT, UPDATE ON {names} TO pw_township, pw_county")
    return out


# ------------------------------------------------------------------------------------------
# Creating / checking the tables of a store


def table_schema(conn: sa.Connection) -> str | None:
    """The schema the record tables are in on ``conn`` (``pw`` on PostgreSQL, None in SQLite),
    for ``sa.inspect(conn).get_table_names(schema=...)``."""
    smap = conn.get_execution_options().get("schema_translate_map") or {}
    return smap.get("pw", "pw") if conn.dialect.name != "sqlite" else None


def ensure_tables(any_store: AnyStore) -> None:
    """Make sure every registered record table (and ``audit_events``) exists with its guards:
    created in a GeoPackage; checked on PostgreSQL (where ``parcelwatch store init`` creates
    them, :func:`schema_sql`)."""
    store = cast(SqlStore, any_store)
    with store._tx(False) as conn:
        dialect = conn.dialect.name
        existing = set(sa.inspect(conn).get_table_names(schema=table_schema(conn)))
        triggers = (
            {r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
            if dialect == "sqlite"
            else set()
        )  # fmt: skip
    tables = _tables()
    missing = [t for t in tables if t.name not in existing]
    guards = _sqlite_guards(ENTITIES.values()) if dialect == "sqlite" else {}
    if not missing and set(guards) <= triggers:
        return
    if dialect != "sqlite":
        raise LedgerError(
            f"The shared ledger {store.location} has no record tables {', '.join(t.name for t in missing)} yet "
            "(added by a newer parcelwatch). The database administrator runs `parcelwatch store init URL` "
            "once more to add them; nothing was changed."
        )
    docs = {e.table.name: e.doc or e.name for e in ENTITIES.values()} | {"audit_events": AUDIT_DOC}
    with store._tx(True) as conn:
        metadata.create_all(conn, tables=missing, checkfirst=True)
        for name, stmt in guards.items():
            if name not in triggers:
                conn.exec_driver_sql(stmt)
        if conn.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'gpkg_contents'").first():
            for t in missing:  # QGIS lists attribute tables registered in gpkg_contents
                conn.exec_driver_sql(
                    "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) "
                    "VALUES (?, 'attributes', ?, ?, 0)",
                    (t.name, t.name, docs.get(t.name, t.name)),
                )


def read_if_present(any_store: AnyStore, entity: str) -> list[dict[str, Any]]:
    """The rows of ``entity`` without creating anything (``[]`` when the table does not exist)."""
    store = cast(SqlStore, any_store)
    e = ENTITIES[entity]
    with store._tx(False) as conn:
        if e.table.name not in sa.inspect(conn).get_table_names(schema=table_schema(conn)):
            return []
        rows = conn.execute(sa.select(e.table).order_by(e.table.c[e.id_col]))
        return [_loaded(e, r._mapping) for r in rows]


# ------------------------------------------------------------------------------------------
# Values


def _stored(entity: Entity, name: str, value: Any) -> str | None:
    if name in entity.lists:
        return json.dumps(list(value or []), ensure_ascii=False, sort_keys=True)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def _loaded(entity: Entity, row: Mapping[Any, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k != "fid"}
    for name in entity.lists:
        out[name] = json.loads(out.get(name) or "[]")
    return out


_CHUNK = 500  # ids per IN (...) list: well under SQLite's 999 bound parameters


def _check_fields(e: Entity, names: Iterable[str]) -> None:
    unknown = set(names) - set(e.fields)
    if unknown:
        raise LedgerError(f"{e.name}: unknown field(s) {', '.join(sorted(unknown))}.")


# ------------------------------------------------------------------------------------------
# The book


class RecordBook:
    """The registered records of one ledger store, with their audit history (tables created on
    first use in a GeoPackage)."""

    def __init__(self, store: AnyStore, *, ensure: bool = True) -> None:
        self.store = cast(SqlStore, store)
        if ensure:  # False: reading tables known to exist, creating nothing
            ensure_tables(self.store)

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
                f"No {e.doc or entity} record {record_id!r} in {self.store.location}."
            )
        return _loaded(e, row._mapping)

    def audit(
        self, entity: str | None = None, record_id: str | None = None
    ) -> list[dict[str, Any]]:
        """The audit events (of one record type / record), ordered by entity, record and seq."""
        q = sa.select(audit_events).order_by(
            audit_events.c.entity, audit_events.c.record_id, audit_events.c.seq
        )
        if entity:
            q = q.where(audit_events.c.entity == entity)
        if record_id is not None:
            q = q.where(audit_events.c.record_id == record_id)
        with self.store._tx(False) as conn:
            rows = [dict(r._mapping) for r in conn.execute(q)]
        for r in rows:
            r.pop("fid", None)
            r["changes"] = json.loads(r["changes"])
        return rows

    def replay(
        self, entity: str, *, until: Callable[[dict[str, Any]], bool] | None = None
    ) -> list[dict[str, Any]]:
        """The table ``entity`` rebuilt from its audit events alone (ordered by id);
        ``until(event) -> bool`` keeps only the events it accepts (e.g. those on or before a date)."""
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

    def _audit_rows(
        self, conn: sa.Connection, events: Sequence[tuple[str, str, int, str, Mapping[str, Any]]],
        *, user: str, now: datetime,
    ) -> None:  # fmt: skip
        """Append audit events (entity, record id, seq, kind, changes), one statement for all."""
        if not events:
            return
        at, os_user = now.isoformat(timespec="seconds"), getattr(self.store, "os_user", "")
        conn.execute(
            sa.insert(audit_events),
            [
                {
                    "entity": entity,
                    "record_id": rid,
                    "seq": seq,
                    "at": at,
                    "user": user,
                    "os_user": os_user,
                    "kind": kind,
                    "changes": json.dumps(dict(changes), ensure_ascii=False, sort_keys=True),
                }
                for entity, rid, seq, kind, changes in events
            ],
        )

    @staticmethod
    def _next_number(conn: sa.Connection, e: Entity, prefix: str, width: int) -> int:
        col = e.table.c[e.id_col]
        top = conn.execute(
            sa.select(sa.func.max(col)).where(
                col.like(prefix + "%"), sa.func.length(col) == len(prefix) + width
            )
        ).scalar()
        return int(top[len(prefix) :]) + 1 if top else 1

    def _create_many(
        self, conn: sa.Connection, e: Entity, items: Sequence[tuple[str, Mapping[str, Any]]], *,
        user: str, now: datetime,
    ) -> None:  # fmt: skip
        """Insert records (id, fields) with their ``create`` events: the events first (the
        guards look for them), each table in one statement."""
        values = [(rid, {k: _stored(e, k, row.get(k)) for k in e.fields}) for rid, row in items]
        self._audit_rows(
            conn, [(e.name, rid, 1, "create", v) for rid, v in values], user=user, now=now
        )
        if values:
            conn.execute(
                sa.insert(e.table), [{e.id_col: rid, "version": 1, **v} for rid, v in values]
            )

    @staticmethod
    def _who(user: str) -> None:
        if not user.strip():
            raise LedgerError("Every record and change names who made it: pass --user NAME.")

    def insert_many(
        self,
        entity: str,
        rows: Sequence[Mapping[str, Any]],
        *,
        user: str,
        now: datetime,
        prefix: Sequence[str] | str = "",
        width: int = 4,
        ids: Sequence[str] | None = None,
        within: Callable[[sa.Connection], Any] | None = None,
        updates: Sequence[tuple[str, str, Mapping[str, Any]]] = (),
    ) -> list[str]:
        """Insert records in one transaction (all or nothing); returns their ids.

        Ids are given (``ids``: codes; a taken one is refused) or ``prefix`` (one, or one per row)
        + the next number, ``width`` digits, continuing the highest stored. ``updates`` (entity,
        id, changes) are ``edit`` changes of existing records made in the same transaction, and
        ``within(conn)`` runs in it too (e.g. the ledger change the records imply)."""
        with self.store._tx(True) as conn:
            out = self._insert_rows(conn, entity, rows, user=user, now=now, prefix=prefix,
                                    width=width, ids=ids)  # fmt: skip
            if updates:
                self._change_many(
                    conn, [(en, rid, ch, "edit", None) for en, rid, ch in updates],
                    user=user, now=now,
                )  # fmt: skip
            if within is not None:
                within(conn)
        return out

    def insert_sets(
        self, sets: Sequence[tuple[str, Sequence[Mapping[str, Any]], Mapping[str, Any]]], *,
        user: str, now: datetime,
    ) -> list[list[str]]:  # fmt: skip
        """Insert records of several types in ONE transaction (all or nothing): each set is
        (entity, rows, options of :meth:`insert_many`: ``prefix``, ``width``, ``ids``)."""
        with self.store._tx(True) as conn:
            return [
                self._insert_rows(conn, entity, rows, user=user, now=now, **dict(opts))
                for entity, rows, opts in sets
            ]

    def _insert_rows(
        self, conn: sa.Connection, entity: str, rows: Sequence[Mapping[str, Any]], *, user: str,
        now: datetime, prefix: Sequence[str] | str = "", width: int = 4,
        ids: Sequence[str] | None = None,
    ) -> list[str]:  # fmt: skip
        self._who(user)
        e = ENTITIES[entity]
        for row in rows:
            _check_fields(e, row)
        prefixes = [prefix] * len(rows) if isinstance(prefix, str) else list(prefix)
        if ids is not None and len(ids) != len(rows):
            raise ValueError("one id per row")
        out: list[str] = []
        self.store._serialise(conn, f"record:{entity}")
        if ids is not None:
            present, seen = self._present(conn, e, ids), set()
            taken = None
            for rid in ids:  # the first stored or repeated id, in the rows' order
                if rid in present or rid in seen:
                    taken = rid
                    break
                seen.add(rid)
            if taken is not None:
                raise LedgerError(
                    f"{e.doc or entity} {taken} is already recorded in {self.store.location}; nothing was added."
                )
            out = list(ids)
        else:
            nxt: dict[str, int] = {}
            for pfx in prefixes:
                if pfx not in nxt:
                    nxt[pfx] = self._next_number(conn, e, pfx, width)
                out.append(f"{pfx}{nxt[pfx]:0{width}d}")
                nxt[pfx] += 1
        self._create_many(conn, e, list(zip(out, rows, strict=True)), user=user, now=now)
        return out

    @staticmethod
    def _present(conn: sa.Connection, e: Entity, ids: Sequence[str]) -> set[str]:
        """Those of ``ids`` stored as records of ``e``."""
        col, found = e.table.c[e.id_col], set[str]()
        unique = list(dict.fromkeys(ids))
        for i in range(0, len(unique), _CHUNK):
            found.update(
                conn.execute(sa.select(col).where(col.in_(unique[i : i + _CHUNK]))).scalars()
            )
        return found

    def insert(
        self, entity: str, row: Mapping[str, Any], *, prefix: str, width: int, user: str,
        now: datetime, within: Callable[[sa.Connection], Any] | None = None,
    ) -> str:  # fmt: skip
        """Insert one record with the next id ``prefix`` + number; returns the id."""
        return self.insert_many(
            entity, [row], prefix=prefix, width=width, user=user, now=now, within=within
        )[0]

    def insert_with_ids(
        self, entity: str, rows: Sequence[tuple[str, Mapping[str, Any]]], *, user: str,
        now: datetime,
    ) -> list[str]:  # fmt: skip
        """Insert records whose ids are given (codes), all in one transaction; refuses a taken id."""
        return self.insert_many(
            entity, [r for _, r in rows], ids=[i for i, _ in rows], user=user, now=now
        )

    def _change_many(
        self, conn: sa.Connection,
        todo: Sequence[tuple[str, str, Mapping[str, Any], str, int | None]], *,
        user: str, now: datetime,
    ) -> int:  # fmt: skip
        """Apply changes (entity, id, changes, kind, expected version or None) in order; returns
        the number of changes made (those that changed nothing are not counted). The records are
        read (locked, in sorted order) and written a type at a time in a few statements; a
        record changed twice gets two versions, as one by one."""
        per: dict[str, list[str]] = {}
        for entity, rid, changes, _, _ in todo:
            _check_fields(ENTITIES[entity], changes)
            per.setdefault(entity, []).append(rid)
        current: dict[tuple[str, str], dict[str, Any]] = {}
        for entity, rids in per.items():
            e = ENTITIES[entity]
            col, unique = e.table.c[e.id_col], sorted(set(rids))
            for i in range(0, len(unique), _CHUNK):
                q = sa.select(e.table).where(col.in_(unique[i : i + _CHUNK])).with_for_update()
                for row in conn.execute(q):
                    current[(entity, row._mapping[e.id_col])] = dict(row._mapping)
        events: list[tuple[str, str, int, str, Mapping[str, Any]]] = []
        # entity, id, version before, the values written
        writes: list[tuple[str, str, int, dict[str, Any]]] = []
        for entity, rid, changes, kind, expected in todo:
            e = ENTITIES[entity]
            m = current.get((entity, rid))
            if m is None:
                raise LedgerError(f"No {e.doc or entity} record {rid!r} in {self.store.location}.")
            version = int(m["version"])
            if expected is not None and expected != version:
                raise LedgerConflictError(
                    f"{entity} {rid} was changed by someone else (you edited version {expected}, it now has {version}). "
                    "Nothing was changed; reload it and retry."
                )
            diff = {}
            for name, value in changes.items():
                new = _stored(e, name, value)
                if new != m[name]:
                    diff[name] = [m[name], new]
            if not diff:
                continue
            events.append((entity, rid, version + 1, kind, diff))
            writes.append((entity, rid, version, {name: v[1] for name, v in diff.items()}))
            m.update({name: v[1] for name, v in diff.items()}, version=version + 1)
        self._audit_rows(conn, events, user=user, now=now)
        # one UPDATE statement per record type and set of changed columns; a record changed
        # twice is written in two rounds (each write moves its version by exactly one)
        while writes:
            later, seen = [], set()
            groups: dict[
                tuple[str, tuple[str, ...]], list[tuple[str, str, int, dict[str, Any]]]
            ] = {}
            for w in writes:
                if (w[0], w[1]) in seen:
                    later.append(w)
                    continue
                seen.add((w[0], w[1]))
                groups.setdefault((w[0], tuple(sorted(w[3]))), []).append(w)
            for (entity, names), group in groups.items():
                t = ENTITIES[entity].table
                stmt = (
                    sa.update(t)
                    .where(
                        t.c[ENTITIES[entity].id_col] == sa.bindparam("_id"),
                        t.c.version == sa.bindparam("_old"),
                    )
                    .values(
                        version=sa.bindparam("_new"), **{n: sa.bindparam(f"_v_{n}") for n in names}
                    )
                )
                params = [
                    {"_id": rid, "_old": old, "_new": old + 1, **{f"_v_{n}": v[n] for n in names}}
                    for _, rid, old, v in group
                ]
                res = conn.execute(stmt, params)
                if res.rowcount not in (-1, len(params)):  # pragma: no cover - rows are locked
                    raise LedgerConflictError(
                        f"{entity}: records changed meanwhile; nothing was changed."
                    )
            writes = later
        return len(events)

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
        one transaction; returns the number of changes made (0: nothing differed)."""
        self._who(user)
        todo: list[tuple[str, str, Mapping[str, Any], str, int | None]] = [
            (entity, record_id, changes, kind, expected_version)
        ]
        todo += [(en, rid, ch, k, None) for en, rid, ch, k in extra]
        with self.store._tx(True) as conn:
            return self._change_many(conn, todo, user=user, now=now)

    def upsert(
        self, entity: str, record_id: str, changes: Mapping[str, Any], *, user: str, now: datetime
    ) -> None:
        """Create ``record_id`` with ``changes``, or change it, with its audit event."""
        self._who(user)
        e = ENTITIES[entity]
        _check_fields(e, changes)
        with self.store._tx(True) as conn:
            self.store._serialise(conn, f"record:{entity}")
            if self._present(conn, e, [record_id]):
                self._change_many(
                    conn, [(entity, record_id, changes, "edit", None)], user=user, now=now
                )
            else:
                self._create_many(conn, e, [(record_id, changes)], user=user, now=now)


# ------------------------------------------------------------------------------------------
# Copying records between stores (``parcelwatch store copy``)


def load_record_modules() -> None:
    """Import every record type's module (each registers its tables and guards)."""
    import importlib

    from parcelwatch.ledger.sqlstore import RECORD_MODULES

    for name in RECORD_MODULES:  # every record type known to this parcelwatch
        importlib.import_module(name)


def prepare_copy(source: AnyStore, target: AnyStore) -> None:
    """Before :func:`copy_records`: the target gets the record tables when the source has records
    (created in a GeoPackage; on PostgreSQL a clear error if ``store init`` has not added them)."""
    load_record_modules()
    src = cast(SqlStore, source)
    with src._tx(False) as sconn:
        if "audit_events" not in sa.inspect(sconn).get_table_names(schema=table_schema(sconn)):
            return
    ensure_tables(target)


def copy_records(source: AnyStore, target: AnyStore, conn: sa.Connection) -> int:
    """Copy the audited records ``target`` lacks from ``source``, inside the target's open write
    transaction ``conn``; returns the number of audit events added.

    Each record's audit events are replayed through the target's guards: the event, then the
    record at that version. Events keep their time, ``--user``, OS user, kind and changes (on
    PostgreSQL ``actor`` is the login that copies). A record the target already has continues
    from its last event when the events agree; a different history is refused by id."""
    load_record_modules()
    src = cast(SqlStore, source)
    with src._tx(False) as sconn:
        present = set(sa.inspect(sconn).get_table_names(schema=table_schema(sconn)))
        if "audit_events" not in present:
            return 0
        cols = [c for c in audit_events.c if c.name != "fid"]
        src_events = [
            dict(r._mapping)
            for r in sconn.execute(
                sa.select(*cols).order_by(
                    audit_events.c.entity, audit_events.c.record_id, audit_events.c.seq
                )
            )
        ]
    if not src_events:
        return 0
    tgt = cast(SqlStore, target)
    have_tables = set(sa.inspect(conn).get_table_names(schema=table_schema(conn)))
    unknown = sorted({e["entity"] for e in src_events} - set(ENTITIES))
    missing = sorted(
        {ENTITIES[e["entity"]].table.name for e in src_events if e["entity"] in ENTITIES}
        - have_tables
    ) + (["audit_events"] if "audit_events" not in have_tables else [])
    if unknown or missing:
        raise LedgerError(
            f"{tgt.location} cannot take the records of {src.location}: "
            + (f"record types unknown to this parcelwatch: {', '.join(unknown)}. " if unknown else "")
            + (f"tables missing there: {', '.join(missing)} (open the target once with a record "
               "command, or run `parcelwatch store init` on a server). " if missing else "")
            + "Nothing was copied."
        )  # fmt: skip
    have: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    for r in conn.execute(
        sa.select(*cols).order_by(
            audit_events.c.entity, audit_events.c.record_id, audit_events.c.seq
        )
    ):
        m = r._mapping
        have.setdefault((m["entity"], m["record_id"]), []).append(_event_key(m))
    by_record: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for ev in src_events:
        by_record.setdefault((ev["entity"], ev["record_id"]), []).append(ev)
    added = 0
    for (entity, rid), evs in sorted(by_record.items()):
        e = ENTITIES[entity]
        done = have.get((entity, rid), [])
        if len(done) > len(evs) or done != [_event_key(x) for x in evs[: len(done)]]:
            raise LedgerConflictError(
                f"{e.doc or entity} {rid} has a different history in {tgt.location} than in {src.location} "
                f"({len(done)} audit events there, {len(evs)} here). Nothing was copied; decide which is right."
            )
        state: dict[str, Any] = {}
        for n, ev in enumerate(evs):
            changes = json.loads(ev["changes"])
            if ev["kind"] == "create":
                state = dict(changes)
            else:
                state.update({k: v[1] for k, v in changes.items()})
            if n < len(done):
                continue
            conn.execute(sa.insert(audit_events).values(**ev))
            values = {k: state.get(k) for k in e.fields}
            if ev["seq"] == 1:
                conn.execute(sa.insert(e.table).values(**{e.id_col: rid, "version": 1}, **values))
            else:
                conn.execute(
                    sa.update(e.table)
                    .where(e.table.c[e.id_col] == rid)
                    .values(version=ev["seq"], **values)
                )
            added += 1
    return added


def _event_key(m: Mapping[Any, Any]) -> tuple[Any, ...]:
    return (m["seq"], m["at"], m["user"], m["kind"], m["changes"])


def missing_guards(store: AnyStore) -> list[str]:
    """The record guard triggers missing (dropped) in ``store``, for ``ledger verify``: those of
    every registered record table present, and of ``audit_events``."""
    load_record_modules()
    s = cast(SqlStore, store)
    with s._tx(False) as conn:
        present = set(sa.inspect(conn).get_table_names(schema=table_schema(conn)))
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            have = {r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'")}  # fmt: skip
        else:
            have = {
                r[0]
                for r in conn.exec_driver_sql(
                    "SELECT tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'pw' AND NOT t.tgisinternal"
                )
            }
    if "audit_events" not in present:
        return []
    ents = [e for e in ENTITIES.values() if e.table.name in present]
    if sqlite:
        want = list(_sqlite_guards(ents))
    else:
        want = ["audit_events_append_only", "audit_events_no_truncate", "audit_event_guard"]
        for e in ents:
            t = e.table.name
            want += [
                f"{t}_version_guard",
                f"{t}_event_required",
                f"{t}_no_delete",
                f"{t}_no_truncate",
            ]
    return [w for w in want if w not in have]


def record_findings(store: AnyStore) -> list[tuple[str, str]]:
    """(record id, what) for every audited record that differs from the replay of its audit
    events (a row edited past the guards, an event removed), for ``ledger verify``."""
    load_record_modules()
    s = cast(SqlStore, store)
    with s._tx(False) as conn:
        present = set(sa.inspect(conn).get_table_names(schema=table_schema(conn)))
    if "audit_events" not in present:
        return []
    book = RecordBook(s, ensure=False)
    out: list[tuple[str, str]] = []
    for name, e in sorted(ENTITIES.items()):
        if e.table.name not in present:
            continue
        stored = {r[e.id_col]: r for r in book.all(name)}
        replayed = {r[e.id_col]: r for r in book.replay(name)}
        for rid in sorted(set(stored) | set(replayed)):
            if rid not in replayed:
                out.append((rid, f"{name} {rid} has no audit events"))
            elif rid not in stored:
                out.append((rid, f"{name} {rid} has audit events but no row (deleted)"))
            elif stored[rid] != replayed[rid]:
                diff = sorted(k for k in stored[rid] if stored[rid][k] != replayed[rid].get(k))
                out.append(
                    (rid, f"{name} {rid} differs from its audit history in {', '.join(diff)}")
                )
    return out
