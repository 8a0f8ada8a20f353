"""The shared ledger on PostgreSQL/PostGIS: the same :class:`SqlStore` statements, schema ``pw``.

One database per county. ``parcelwatch store init URL`` (:func:`init_store`, run by the database
administrator) creates the schema owned by the NOLOGIN role ``pw_owner``, the group roles
``pw_county`` (everything), ``pw_township`` (its township's problems: status and staff fields,
events) and ``pw_reader`` (read only), the triggers and the row-level security policies (FORCE).
``parcelwatch store users URL add NAME`` (:func:`add_user`) creates one login per person and
records their scope in ``pw.user_scope``. parcelwatch itself refuses to work as a superuser or a
role that bypasses row-level security.

Guards in the database (hold for psql and QGIS too):

* a problem's ``version`` goes up by exactly one on every UPDATE, and at COMMIT the new version
  has its event, whose ``to_status`` is the problem's status (deferred constraint trigger);
* an event carries the next ``seq`` of its problem, starts from the problem's current status and
  is a transition of ``pw.transitions``; ``actor`` is the database login (``session_user``) and
  ``recorded_at`` the server's clock;
* events, batch parcels and findings are append-only (UPDATE, DELETE and TRUNCATE refused even for
  the owner); problems are never deleted.

No password is ever taken on the command line or stored: libpq reads ``~/.pgpass``, a service file
(``postgresql:///pw?service=county``) or ``PGPASSWORD`` from the environment.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from parcelwatch.errors import (
    ConfigError,
    LedgerBusyError,
    LedgerConflictError,
    LedgerError,
    LedgerPermissionError,
    NotInTownshipError,
    ParcelwatchError,
)
from parcelwatch.ledger.model import FIELDS, TRANSITIONS, Status
from parcelwatch.ledger.sqlstore import SqlStore, os_user_name, record_schema_sql
from parcelwatch.ledger.store import LedgerStore

__all__ = [
    "PG_SCHEMA_VERSION",
    "PgStore",
    "init_store",
    "add_user",
    "list_users",
    "engine_for",
    "is_server_url",
    "safe_url",
]

PG_SCHEMA_VERSION = 3
_ROLE_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def is_server_url(text: str) -> bool:
    return str(text).startswith(("postgresql:", "postgres:", "postgresql+psycopg:"))


def _url(text: str) -> sa.engine.URL:
    try:
        url = sa.engine.make_url(text)
    except sa.exc.ArgumentError as exc:
        raise ConfigError(
            f"{text!r} is not a PostgreSQL address. Use postgresql://HOST/DB or postgresql:///DB?service=NAME."
        ) from exc
    if url.password:
        raise ConfigError(
            "The store address contains a password. Never put a password on the command line or in the workspace: "
            "put it in ~/.pgpass (or %APPDATA%\\postgresql\\pgpass.conf on Windows), a pg_service.conf service, "
            "or the PGPASSWORD environment variable, and give the address without it."
        )
    return url.set(drivername="postgresql+psycopg")


def safe_url(text: str) -> str:
    """The address as shown in messages (never with a password)."""
    return (
        _url(text).render_as_string(hide_password=True).replace("postgresql+psycopg", "postgresql")
    )


def engine_for(text: str) -> sa.engine.Engine:
    return sa.create_engine(_url(text), pool_pre_ping=False)


# ------------------------------------------------------------------------------------------
# Schema (DDL in PostgreSQL's own SQL; the statements the ledger runs are in sqlstore)

_PG_TYPE = {
    "text": "text",
    "int": "integer",
    "real": "double precision",
    "date": "date",
    "status": "text",
    "list": "text",
    "evidence": "text",
}
# What a township user may change on a problem (its staff fields and what a status change sets).
_TOWNSHIP_LOCKED = {
    "problem_id", "county_code", "county_name", "township_code", "township_name", "village_code",
    "village_name", "year", "first_batch", "batches", "parcel_ids", "candidate_class",
    "candidate_reasons", "candidate_reasons_en", "suggested_judgement", "approval_refs",
    "parcel_area_m2", "farmland_m2", "pbf_m2", "illegal_farmland_m2", "illegal_pbf_m2",
    "created_at", "rebound_sources", "source", "found_on",
}  # fmt: skip


def _problem_columns_sql() -> str:
    cols = ["fid bigserial PRIMARY KEY", f"geom geometry(MultiPolygon, {4490})"]
    statuses = ", ".join(f"'{s.value}'" for s in Status)
    for f in FIELDS:
        extra = ""
        if f.name == "problem_id":
            extra = " NOT NULL UNIQUE"
        elif f.name == "version":
            extra = " NOT NULL CHECK (version >= 1)"
        elif f.name == "status":
            extra = f" NOT NULL CHECK (status IN ({statuses}))"
        cols.append(f'"{f.name}" {_PG_TYPE[f.kind]}{extra}')
    return ",\n  ".join(cols)


def _ddl() -> list[str]:
    return [
        f"CREATE TABLE pw.problems (\n  {_problem_columns_sql()}\n)",
        "CREATE INDEX problems_geom ON pw.problems USING gist (geom)",
        "CREATE INDEX problems_town_status ON pw.problems (township_code, status)",
        """CREATE TABLE pw.events (
  fid bigserial PRIMARY KEY,
  problem_id text NOT NULL REFERENCES pw.problems (problem_id) DEFERRABLE INITIALLY DEFERRED,
  seq integer NOT NULL, at text NOT NULL, "user" text NOT NULL, kind text NOT NULL,
  from_status text, to_status text NOT NULL, measure text, note text, evidence text, batch text,
  changes text NOT NULL, os_user text, hash text,
  actor text NOT NULL DEFAULT session_user,
  recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  UNIQUE (problem_id, seq))""",
        """CREATE TABLE pw.problem_parcels (
  fid bigserial PRIMARY KEY, geom geometry(MultiPolygon, 4490),
  problem_id text NOT NULL REFERENCES pw.problems (problem_id) DEFERRABLE INITIALLY DEFERRED,
  parcel_id text NOT NULL, batch text NOT NULL, role text, iou double precision,
  share double precision, candidate_class text, added_at text)""",
        "CREATE INDEX problem_parcels_parcel ON pw.problem_parcels (parcel_id, batch)",
        "CREATE INDEX problem_parcels_problem ON pw.problem_parcels (problem_id)",
        """CREATE TABLE pw.findings (
  fid bigserial PRIMARY KEY, geom geometry(MultiPolygon, 4490),
  problem_id text NOT NULL REFERENCES pw.problems (problem_id) DEFERRABLE INITIALLY DEFERRED,
  parcel_id text, batch text, footprint_id text, rule_id text, problem_class text, reason text,
  reason_en text, suggested_judgement text, document text, footprint_m2 double precision,
  farmland_m2 double precision, pbf_m2 double precision)""",
        "CREATE INDEX findings_problem ON pw.findings (problem_id)",
        """CREATE TABLE pw.batches (
  fid bigserial PRIMARY KEY, batch text NOT NULL UNIQUE, issued date, year integer,
  verify_due date, first_checked_at text, last_checked_at text, checked_by text,
  parcel_count integer, new_count integer, same_count integer, rebound_count integer,
  unchanged_count integer, rules_digest text, sources text)""",
        "CREATE TABLE pw.meta (fid bigserial PRIMARY KEY, key text NOT NULL UNIQUE, value text)",
        "CREATE TABLE pw.transitions (from_status text NOT NULL, to_status text NOT NULL, PRIMARY KEY (from_status, to_status))",
        """CREATE TABLE pw.user_scope (
  username name NOT NULL, township_code text, read_only boolean NOT NULL DEFAULT false,
  UNIQUE (username, township_code))""",
        # -- scope helpers (SECURITY DEFINER: they read user_scope and problems past RLS)
        """CREATE FUNCTION pw.is_county() RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pw, pg_temp AS $$
  SELECT EXISTS (SELECT 1 FROM pw.user_scope WHERE username = session_user AND township_code IS NULL) $$""",
        """CREATE FUNCTION pw.in_scope(code text) RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pw, pg_temp AS $$
  SELECT EXISTS (SELECT 1 FROM pw.user_scope WHERE username = session_user
                 AND (township_code IS NULL OR township_code = code)) $$""",
        """CREATE FUNCTION pw.problem_in_scope(pid text) RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pw, pg_temp AS $$
  SELECT pw.is_county() OR EXISTS (SELECT 1 FROM pw.problems p WHERE p.problem_id = pid
                                   AND pw.in_scope(p.township_code)) $$""",
        """CREATE FUNCTION pw.problem_exists(pid text) RETURNS boolean LANGUAGE sql STABLE SECURITY DEFINER
  SET search_path = pw, pg_temp AS $$
  SELECT EXISTS (SELECT 1 FROM pw.problems p WHERE p.problem_id = pid) $$""",
        # -- guards
        """CREATE FUNCTION pw.problem_version_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.version IS DISTINCT FROM 1 THEN
      RAISE EXCEPTION 'parcelwatch ledger: problem % is inserted with version 1 and its first event', NEW.problem_id
        USING ERRCODE = 'check_violation';
    END IF;
  ELSIF NEW.version IS DISTINCT FROM OLD.version + 1 OR NEW.problem_id IS DISTINCT FROM OLD.problem_id THEN
    RAISE EXCEPTION 'parcelwatch ledger: problem %: version must go from % to %, got %', OLD.problem_id,
      OLD.version, OLD.version + 1, NEW.version USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$""",
        """CREATE TRIGGER problem_version_guard BEFORE INSERT OR UPDATE ON pw.problems
  FOR EACH ROW EXECUTE FUNCTION pw.problem_version_guard()""",
        """CREATE FUNCTION pw.problem_event_required() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pw, pg_temp AS $$
DECLARE cur record;
BEGIN
  SELECT p.version, p.status INTO cur FROM pw.problems p WHERE p.problem_id = NEW.problem_id;
  IF NOT EXISTS (SELECT 1 FROM pw.events e WHERE e.problem_id = NEW.problem_id
                 AND e.seq = cur.version AND e.to_status = cur.status) THEN
    RAISE EXCEPTION 'parcelwatch ledger: problem % changed to version % without its event', NEW.problem_id, cur.version
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NULL;
END $$""",
        """CREATE CONSTRAINT TRIGGER problem_event_required AFTER INSERT OR UPDATE ON pw.problems
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION pw.problem_event_required()""",
        """CREATE FUNCTION pw.event_guard() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
  SET search_path = pw, pg_temp AS $$
DECLARE cur record; top integer;
BEGIN
  IF NEW.actor IS DISTINCT FROM session_user::text THEN
    RAISE EXCEPTION 'parcelwatch ledger: an event is recorded under the login that writes it (%), not %',
      session_user, NEW.actor USING ERRCODE = 'insufficient_privilege';
  END IF;
  NEW.recorded_at := clock_timestamp();
  SELECT COALESCE(MAX(e.seq), 0) INTO top FROM pw.events e WHERE e.problem_id = NEW.problem_id;
  IF NEW.seq IS DISTINCT FROM top + 1 THEN
    RAISE EXCEPTION 'parcelwatch ledger: event % of problem % is not the next (%)', NEW.seq, NEW.problem_id, top + 1
      USING ERRCODE = 'check_violation';
  END IF;
  SELECT p.version, p.status INTO cur FROM pw.problems p WHERE p.problem_id = NEW.problem_id;
  IF NEW.seq = 1 THEN
    IF FOUND OR NEW.from_status IS NOT NULL OR NEW.kind IS DISTINCT FROM 'create' THEN
      RAISE EXCEPTION 'parcelwatch ledger: the first event of problem % is its creation', NEW.problem_id
        USING ERRCODE = 'check_violation';
    END IF;
  ELSE
    IF NOT FOUND OR NEW.seq IS DISTINCT FROM cur.version + 1 OR NEW.from_status IS DISTINCT FROM cur.status THEN
      RAISE EXCEPTION 'parcelwatch ledger: event % of problem % must start from its current status % (version %)',
        NEW.seq, NEW.problem_id, cur.status, cur.version USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.from_status IS DISTINCT FROM NEW.to_status AND NOT EXISTS (
        SELECT 1 FROM pw.transitions t WHERE t.from_status = NEW.from_status AND t.to_status = NEW.to_status) THEN
      RAISE EXCEPTION 'parcelwatch ledger: % -> % is not in the transition table', NEW.from_status, NEW.to_status
        USING ERRCODE = 'check_violation';
    END IF;
  END IF;
  RETURN NEW;
END $$""",
        "CREATE TRIGGER event_guard BEFORE INSERT ON pw.events FOR EACH ROW EXECUTE FUNCTION pw.event_guard()",
        """CREATE FUNCTION pw.forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'parcelwatch ledger: % is append-only (% refused)', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$""",
        *[
            f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON pw.{t} FOR EACH ROW EXECUTE FUNCTION pw.forbid_change()"
            for t in ("events", "problem_parcels", "findings")
        ],
        *[
            f"CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON pw.{t} FOR EACH STATEMENT EXECUTE FUNCTION pw.forbid_change()"
            for t in ("events", "problem_parcels", "findings", "problems")
        ],
        "CREATE TRIGGER problems_no_delete BEFORE DELETE ON pw.problems FOR EACH ROW EXECUTE FUNCTION pw.forbid_change()",
        # -- row-level security (FORCE: the owner too)
        *[
            s
            for t in ("problems", "events", "problem_parcels", "findings")
            for s in (
                f"ALTER TABLE pw.{t} ENABLE ROW LEVEL SECURITY",
                f"ALTER TABLE pw.{t} FORCE ROW LEVEL SECURITY",
            )
        ],
        "CREATE POLICY scope ON pw.problems USING (pw.in_scope(township_code)) WITH CHECK (pw.in_scope(township_code))",
        *[
            f"CREATE POLICY scope ON pw.{t} USING (pw.problem_in_scope(problem_id)) WITH CHECK (pw.problem_in_scope(problem_id))"
            for t in ("events", "problem_parcels", "findings")
        ],
        # -- grants
        "GRANT USAGE ON SCHEMA pw TO pw_reader, pw_township, pw_county",
        "GRANT SELECT ON pw.problems, pw.events, pw.problem_parcels, pw.findings, pw.batches, pw.meta, pw.transitions TO pw_reader, pw_township, pw_county",
        "GRANT INSERT ON pw.events, pw.meta TO pw_township, pw_county",
        "GRANT USAGE ON ALL SEQUENCES IN SCHEMA pw TO pw_township, pw_county",
        "GRANT INSERT, UPDATE ON pw.problems, pw.batches TO pw_county",
        "GRANT INSERT ON pw.problem_parcels, pw.findings TO pw_county",
        _township_grant(),
        "GRANT EXECUTE ON FUNCTION pw.is_county(), pw.in_scope(text), pw.problem_in_scope(text), pw.problem_exists(text) TO pw_reader, pw_township, pw_county",
    ]


def _township_grant() -> str:
    return "GRANT UPDATE ({}) ON pw.problems TO pw_township".format(
        ", ".join(f'"{f.name}"' for f in FIELDS if f.name not in _TOWNSHIP_LOCKED)
    )


_ROLES = ("pw_owner", "pw_reader", "pw_township", "pw_county")


def _exec(conn: sa.Connection, sql: str, params: Any = None) -> Any:
    if params is None:  # no parameters: '%' in PL/pgSQL bodies is not a placeholder
        return conn.exec_driver_sql(sql.replace("%", "%%"))
    return conn.exec_driver_sql(sql, params)


def init_store(url: str, *, now_iso: str, county_code: str = "", county_name: str = "") -> str:
    """Create or upgrade the shared ledger at ``url`` (idempotent); returns what was done.

    Run by the database administrator (a superuser or the database owner). Creates PostGIS, the
    roles, schema ``pw`` owned by ``pw_owner``, tables, guards, policies and grants, and records
    the schema version; a second run finds the version and changes nothing.
    """
    engine = engine_for(url)
    try:
        with engine.begin() as conn:
            _exec(conn, "SELECT pg_advisory_xact_lock(hashtext('pw:init'))")
            for role in _ROLES:
                if not _exec(conn, "SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).first():
                    _exec(conn, f"CREATE ROLE {role} NOLOGIN")
            _exec(conn, "ALTER ROLE pw_owner BYPASSRLS")
            _exec(conn, "CREATE EXTENSION IF NOT EXISTS postgis")
            has = _exec(conn, "SELECT 1 FROM pg_namespace WHERE nspname = 'pw'").first()
            if has:
                ver = _exec(conn, "SELECT value FROM pw.meta WHERE key = 'schema_version'").scalar()
                if ver is not None and int(ver) == PG_SCHEMA_VERSION:
                    _exec(conn, "SET LOCAL ROLE pw_owner")
                    for stmt in record_schema_sql("postgresql"):  # record tables added later
                        _exec(conn, stmt)
                    _exec(conn, "RESET ROLE")
                    return f"{safe_url(url)}: the ledger schema is at version {ver}; nothing to do."
                if ver is not None and int(ver) == 2:  # 2 -> 3: the 0.P1 problem columns
                    _exec(conn, "SET LOCAL ROLE pw_owner")
                    for f in FIELDS:
                        _exec(
                            conn,
                            f'ALTER TABLE pw.problems ADD COLUMN IF NOT EXISTS "{f.name}" {_PG_TYPE[f.kind]}',
                        )
                    _exec(conn, _township_grant())
                    for stmt in record_schema_sql("postgresql"):
                        _exec(conn, stmt)
                    _exec(conn, "UPDATE pw.meta SET value = '3' WHERE key = 'schema_version'")
                    _exec(conn, "RESET ROLE")
                    return f"{safe_url(url)}: migrated the ledger schema from version 2 to 3 (problem sources, 0.P1)."
                if ver is not None and int(ver) > PG_SCHEMA_VERSION:
                    raise LedgerError(
                        f"{safe_url(url)} has ledger schema version {ver}; this parcelwatch knows {PG_SCHEMA_VERSION}. Upgrade parcelwatch."
                    )
                raise LedgerError(
                    f"{safe_url(url)} has a schema pw without a parcelwatch ledger version. Drop it or use another database."
                )
            _exec(conn, "CREATE SCHEMA pw AUTHORIZATION pw_owner")
            _exec(conn, "SET LOCAL ROLE pw_owner")
            for stmt in [*_ddl(), *record_schema_sql("postgresql")]:
                _exec(conn, stmt)
            conn.exec_driver_sql(
                "INSERT INTO pw.transitions VALUES (%s, %s)",
                sorted({(t.source.value, t.target.value) for t in TRANSITIONS}),
            )
            conn.exec_driver_sql(
                "INSERT INTO pw.meta (key, value) VALUES (%s, %s)",
                [
                    ("schema_version", str(PG_SCHEMA_VERSION)),
                    ("created_at", now_iso),
                    ("county_code", county_code),
                    ("county_name", county_name),
                    ("generator", "parcelwatch"),
                ],
            )
            _exec(conn, "RESET ROLE")
            dbname = _exec(conn, "SELECT current_database()").scalar()
            _exec(
                conn,
                f"ALTER DATABASE \"{dbname}\" SET idle_in_transaction_session_timeout = '10min'",
            )
    except sa.exc.DBAPIError as exc:
        raise LedgerError(
            f"Cannot set up the shared ledger at {safe_url(url)}: {str(exc.orig).strip()}. "
            "Run `parcelwatch store init` as the database administrator (PostgreSQL superuser or database owner) "
            "on a database with PostGIS installed (Debian: apt install postgresql-15-postgis-3)."
        ) from exc
    finally:
        engine.dispose()
    return f"{safe_url(url)}: created the ledger schema version {PG_SCHEMA_VERSION} (schema pw, roles pw_county / pw_township / pw_reader)."


def add_user(
    url: str,
    name: str,
    *,
    township: str | None = None,
    county: bool = False,
    read_only: bool = False,
) -> str:
    """Create (or extend) the login ``name`` with its scope; no password is set here."""
    if not _ROLE_RE.match(name):
        raise ConfigError(
            f"User name {name!r}: use lower-case letters, digits and _ (a PostgreSQL login), e.g. zhang_san."
        )
    if county == bool(township):
        raise ConfigError("Give exactly one of --township CODE or --county.")
    if township and not re.fullmatch(r"\d{9}(\d{3})?", township):
        raise ConfigError(
            f"Township code {township!r} is not a 9-digit 乡镇 code (or its 12-digit 区划代码)."
        )
    code = township[:9] if township else None
    group = "pw_reader" if read_only else ("pw_county" if county else "pw_township")
    engine = engine_for(url)
    try:
        with engine.begin() as conn:
            if not _exec(conn, "SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).first():
                _exec(conn, f'CREATE ROLE "{name}" LOGIN')
            _exec(conn, f'GRANT {group} TO "{name}"')
            _exec(
                conn,
                "INSERT INTO pw.user_scope (username, township_code, read_only) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                (name, code, read_only),
            )
    except sa.exc.DBAPIError as exc:
        raise LedgerError(
            f"Cannot add user {name} at {safe_url(url)}: {str(exc.orig).strip()}. Run it as the database administrator after `parcelwatch store init`."
        ) from exc
    finally:
        engine.dispose()
    scope = "the whole county" if county else f"township {code}"
    return (
        f"User {name}: {scope}{' (read only)' if read_only else ''}. Set the password with psql's \\password {name} "
        "and give it to the person for their ~/.pgpass; parcelwatch never takes it."
    )


def list_users(url: str) -> list[dict[str, Any]]:
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            rows = _exec(
                conn,
                "SELECT username::text, township_code, read_only FROM pw.user_scope ORDER BY username, township_code NULLS FIRST",
            )
            return [
                {"user": r[0], "scope": r[1] or "county", "read_only": bool(r[2])} for r in rows
            ]
    except sa.exc.DBAPIError as exc:
        raise LedgerError(
            f"Cannot list users at {safe_url(url)}: {str(exc.orig).strip()}."
        ) from exc
    finally:
        engine.dispose()


# ------------------------------------------------------------------------------------------
# The store


class PgStore(SqlStore, LedgerStore):
    """The ledger in PostgreSQL/PostGIS (see the module docstring). Many offices, one server."""

    def __init__(self, url: str, *, os_user: str | None = None, lock_timeout_s: int = 5) -> None:
        self.url = url
        self.location = safe_url(url)
        self.os_user = os_user if os_user is not None else os_user_name()
        self._lock_timeout = int(lock_timeout_s)
        self._engine = engine_for(url)
        try:
            with self._engine.connect() as conn:
                who = _exec(
                    conn,
                    "SELECT current_user::text, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user",
                ).first()
                if who is not None and (who[1] or who[2]):
                    raise LedgerPermissionError(
                        f"{self.location}: parcelwatch does not work as {who[0]}, a PostgreSQL superuser or a role that bypasses row-level security. "
                        "Connect with your own login (created by `parcelwatch store users URL add NAME ...`)."
                    )
                ver = _exec(
                    conn,
                    "SELECT value FROM pw.meta WHERE key = 'schema_version'",
                ).scalar()
        except sa.exc.DBAPIError as exc:
            self._engine.dispose()
            raise LedgerError(
                f"Cannot open the shared ledger {self.location}: {str(exc.orig).strip()}. "
                "Check the address, that `parcelwatch store init` ran there and that your login was added with `parcelwatch store users`."
            ) from exc
        except ParcelwatchError:
            self._engine.dispose()
            raise
        if ver is None or int(ver) != PG_SCHEMA_VERSION:
            self._engine.dispose()
            raise LedgerError(
                f"{self.location} has ledger schema version {ver}; this parcelwatch uses {PG_SCHEMA_VERSION}. "
                "Ask the administrator to run `parcelwatch store init URL` (it migrates)."
            )

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> PgStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- hooks of SqlStore

    def _start_write(self, conn: sa.Connection) -> None:
        _exec(conn, f"SET LOCAL lock_timeout = '{self._lock_timeout}s'")
        _exec(conn, "SET LOCAL statement_timeout = '300s'")

    def _serialise(self, conn: sa.Connection, key: str) -> None:
        _exec(conn, "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"pw:{key}",))

    def _not_visible(self, conn: sa.Connection, problem_id: str) -> LedgerError:
        if _exec(conn, "SELECT pw.problem_exists(%s)", (problem_id,)).scalar():
            return NotInTownshipError(
                f"Problem {problem_id} is not in your township: your login may see and change only the problems of its township. "
                "Ask the county office to change it, or check the id."
            )
        return super()._not_visible(conn, problem_id)

    def _translate(self, exc: sa.exc.DBAPIError) -> ParcelwatchError | None:
        state = getattr(exc.orig, "sqlstate", None) or ""
        text = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else ""
        if state in ("55P03", "57014"):
            return LedgerBusyError(
                f"The shared ledger {self.location} is busy ({text}): another user holds these problems. Run the command again in a moment."
            )
        if state in ("40001", "40P01", "23505"):
            return LedgerConflictError(
                f"Someone else changed the same records at the same moment ({text}). Nothing was changed; reload and run the command again."
            )
        if state == "42501":
            return LedgerPermissionError(
                f"Your login may not do this on {self.location} ({text}). "
                "Township users change the status and staff fields of their own township's problems; geometry, township and batch imports belong to the county."
            )
        return None

    # -- admin / verify helpers

    def trigger_names(self) -> set[str]:
        with self._engine.connect() as conn:
            rows = _exec(
                conn,
                "SELECT tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'pw' AND NOT t.tgisinternal",
            )
            return {r[0] for r in rows}

    def stored_transitions(self) -> set[tuple[str, str]]:
        with self._engine.connect() as conn:
            return {
                (r[0], r[1])
                for r in _exec(conn, "SELECT from_status, to_status FROM pw.transitions")
            }


PG_TRIGGERS: Sequence[str] = (
    "problem_version_guard",
    "problem_event_required",
    "event_guard",
    "events_append_only",
    "problem_parcels_append_only",
    "findings_append_only",
    "events_no_truncate",
    "problems_no_delete",
)
