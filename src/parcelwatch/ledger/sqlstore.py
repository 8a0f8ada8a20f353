"""The ledger's SQL, written once with SQLAlchemy 2 Core, for the GeoPackage and PostgreSQL stores.

:class:`SqlStore` implements every :class:`~parcelwatch.ledger.store.LedgerStore` method with
the ``Table`` objects below; :class:`~parcelwatch.ledger.store.GpkgStore` (SQLite, one file) and
:class:`~parcelwatch.ledger.pgstore.PgStore` (PostgreSQL/PostGIS, schema ``pw``) only supply the
engine, the geometry encoding and the way a write transaction starts and locks. A record type added
later gets its ``Table`` here and is then multi-user on both stores.

A change is one transaction: the problem row is read (``FOR UPDATE`` on PostgreSQL; SQLite holds
the whole file from ``BEGIN IMMEDIATE``), the transition checked in Python against the version that
was read, the event inserted (with the hash of the previous event of that problem and its own
content: :func:`event_hash`), then ``UPDATE ... WHERE problem_id = ? AND version = ?``. Database
triggers (each store's DDL) refuse anything else, even from QGIS or psql.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime
from operator import itemgetter
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.functions import GenericFunction

from parcelwatch.crs import STORAGE_CRS
from parcelwatch.errors import (
    DataQualityWarning,
    LedgerBusyError,
    LedgerConflictError,
    LedgerError,
    LedgerPermissionError,
    ParcelwatchError,
)
from parcelwatch.ledger.model import (
    FIELD_BY_NAME,
    FIELDS,
    Change,
    Event,
    Evidence,
    FootprintFinding,
    LedgerSnapshot,
    ParcelLink,
    ProblemRecord,
    Status,
    apply_event,
    from_plain,
    plan_create,
    plan_event,
    problem_id_prefix,
    to_plain,
)

__all__ = ["SqlStore", "event_hash", "TABLES", "metadata", "os_user_name"]

SRS_ID = 4490
Progress = Callable[[int, int], None]


# ------------------------------------------------------------------------------------------
# Geometry: GeoPackage blob on SQLite, PostGIS geometry (sent and read as ISO WKB) on PostgreSQL


class _GeomIn(GenericFunction):  # type: ignore[type-arg]
    name = "pw_geom_in"
    inherit_cache = True


class _GeomOut(GenericFunction):  # type: ignore[type-arg]
    name = "pw_geom_out"
    inherit_cache = True


@compiles(_GeomIn)
def _geom_in_default(element: Any, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(_GeomIn, "postgresql")
def _geom_in_pg(element: Any, compiler: Any, **kw: Any) -> str:
    return f"ST_GeomFromWKB({compiler.process(element.clauses, **kw)}, {SRS_ID})"


@compiles(_GeomOut)
def _geom_out_default(element: Any, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(_GeomOut, "postgresql")
def _geom_out_pg(element: Any, compiler: Any, **kw: Any) -> str:
    return f"ST_AsBinary({compiler.process(element.clauses, **kw)})"


def _multi(geom: Any) -> Any:
    if geom is None:
        return None
    if isinstance(geom, shapely.Polygon):
        return shapely.MultiPolygon([geom])
    if isinstance(geom, shapely.GeometryCollection) and not isinstance(geom, shapely.MultiPolygon):
        polys = [
            g
            for g in shapely.get_parts(geom)
            if isinstance(g, (shapely.Polygon, shapely.MultiPolygon))
        ]
        parts = [p for g in polys for p in shapely.get_parts(g)]
        return shapely.MultiPolygon(parts) if parts else shapely.MultiPolygon()
    return geom


class Geom(sa.types.UserDefinedType):  # type: ignore[type-arg]
    """A MultiPolygon in EPSG:4490 (shapely in Python)."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return f"geometry(MultiPolygon, {SRS_ID})"

    def bind_expression(self, bindvalue: Any) -> Any:
        return _GeomIn(bindvalue, type_=self)

    def column_expression(self, col: Any) -> ColumnElement[Any]:
        return _GeomOut(col, type_=self)

    def bind_processor(self, dialect: Any) -> Callable[[Any], Any]:
        # bytes are already encoded for this database (see :func:`encode_geometries`)
        name = dialect.name
        return lambda g: g if isinstance(g, bytes) else _encode_one(name, g)

    def result_processor(self, dialect: Any, coltype: Any) -> Callable[[Any], Any]:
        if dialect.name == "sqlite":
            from parcelwatch.ledger.store import geometry_from_blob

            return geometry_from_blob
        return lambda b: None if b is None else shapely.from_wkb(bytes(b))


def _encode_one(dialect: str, g: Any) -> bytes | None:
    """What :class:`Geom` binds for one geometry: a GeoPackage blob (SQLite) or ISO WKB."""
    if dialect == "sqlite":
        from parcelwatch.ledger.store import gpkg_geometry_blob

        return gpkg_geometry_blob(_multi(g))
    return None if g is None else shapely.to_wkb(_multi(g), flavor="iso")


def encode_geometries(dialect: str, geoms: Sequence[Any]) -> list[bytes | None]:
    """What :class:`Geom` binds for each geometry (a GeoPackage blob on SQLite, ISO WKB on
    PostgreSQL), for many at once: polygons become one-part multipolygons and are encoded in
    one vectorised call each; anything else goes one by one as the bind does."""
    arr = np.empty(len(geoms), dtype=object)
    arr[:] = list(geoms)
    out: list[bytes | None] = [None] * len(arr)
    present = ~shapely.is_missing(arr)
    kind = shapely.get_type_id(arr)
    simple = present & ((kind == 3) | (kind == 6)) & ~shapely.is_empty(arr)
    idx = np.flatnonzero(simple)
    if len(idx):
        multi = arr[idx].copy()
        polys = kind[idx] == 3
        if polys.any():
            multi[polys] = shapely.multipolygons(multi[polys][:, np.newaxis])
        wkb = shapely.to_wkb(multi, flavor="iso", byte_order=1)
        if dialect == "sqlite":
            from parcelwatch.ledger.store import gpkg_blob_from_wkb

            bounds = shapely.bounds(multi).tolist()
            for i, w, b in zip(idx.tolist(), wkb.tolist(), bounds, strict=True):
                out[i] = gpkg_blob_from_wkb(w, b)
        else:
            for i, w in zip(idx.tolist(), wkb.tolist(), strict=True):
                out[i] = w
    for i in np.flatnonzero(present & ~simple).tolist():
        out[i] = _encode_one(dialect, arr[i])
    return out


# ------------------------------------------------------------------------------------------
# Tables (schema "pw" on PostgreSQL; translated to no schema on SQLite)

_SA_TYPE: dict[str, Any] = {
    "text": sa.Text,
    "int": sa.Integer,
    "real": sa.Float,
    "date": sa.Date,
    "status": sa.Text,
    "list": sa.Text,
    "evidence": sa.Text,
}
PROBLEM_COLUMNS = [f.name for f in FIELDS]
metadata = sa.MetaData(schema="pw")

problems = sa.Table(
    "problems",
    metadata,
    sa.Column("fid", sa.Integer, primary_key=True),
    sa.Column("geom", Geom()),
    *[sa.Column(f.name, _SA_TYPE[f.kind]) for f in FIELDS if f.name != "fid"],
)
problem_parcels = sa.Table(
    "problem_parcels",
    metadata,
    sa.Column("fid", sa.Integer, primary_key=True),
    sa.Column("geom", Geom()),
    *[
        sa.Column(c, t)
        for c, t in (
            ("problem_id", sa.Text), ("parcel_id", sa.Text), ("batch", sa.Text), ("role", sa.Text),
            ("iou", sa.Float), ("share", sa.Float), ("candidate_class", sa.Text), ("added_at", sa.Text),
        )
    ],
)  # fmt: skip
findings = sa.Table(
    "findings",
    metadata,
    sa.Column("fid", sa.Integer, primary_key=True),
    sa.Column("geom", Geom()),
    *[
        sa.Column(c, t)
        for c, t in (
            ("problem_id", sa.Text), ("parcel_id", sa.Text), ("batch", sa.Text), ("footprint_id", sa.Text),
            ("rule_id", sa.Text), ("problem_class", sa.Text), ("reason", sa.Text), ("reason_en", sa.Text),
            ("suggested_judgement", sa.Text), ("document", sa.Text), ("footprint_m2", sa.Float),
            ("farmland_m2", sa.Float), ("pbf_m2", sa.Float),
        )
    ],
)  # fmt: skip
EVENT_CONTENT = (
    "problem_id", "seq", "at", "user", "kind", "from_status", "to_status", "measure", "note",
    "evidence", "batch", "changes", "os_user",
)  # fmt: skip
events = sa.Table(
    "events",
    metadata,
    sa.Column("fid", sa.Integer, primary_key=True),
    *[sa.Column(c, sa.Integer if c == "seq" else sa.Text) for c in EVENT_CONTENT],
    sa.Column("hash", sa.Text),
    sa.Column("actor", sa.Text),  # the database login (PostgreSQL: DEFAULT current_user)
)
batches = sa.Table(
    "batches",
    metadata,
    sa.Column("fid", sa.Integer, primary_key=True),
    *[
        sa.Column(c, t)
        for c, t in (
            ("batch", sa.Text), ("issued", sa.Date), ("year", sa.Integer), ("verify_due", sa.Date),
            ("first_checked_at", sa.Text), ("last_checked_at", sa.Text), ("checked_by", sa.Text),
            ("parcel_count", sa.Integer), ("new_count", sa.Integer), ("same_count", sa.Integer),
            ("rebound_count", sa.Integer), ("unchanged_count", sa.Integer), ("rules_digest", sa.Text),
            ("sources", sa.Text),
        )
    ],
)  # fmt: skip
meta = sa.Table(
    "meta",
    metadata,
    sa.Column("fid", sa.Integer, primary_key=True),
    sa.Column("key", sa.Text),
    sa.Column("value", sa.Text),
)
transitions = sa.Table(
    "transitions",
    metadata,
    sa.Column("from_status", sa.Text, primary_key=True),
    sa.Column("to_status", sa.Text, primary_key=True),
)
TABLES = {
    t.name: t for t in (problems, problem_parcels, findings, events, batches, meta, transitions)
}

#: Modules that register record types in the one audited-record registry
#: (:mod:`parcelwatch.ledger.records`: patrol records, 两违 cases, 巡察整改 items, acceptance
#: records ...). ``store init`` imports them all, then creates every registered table with its
#: guards and grants (PostgreSQL); on a GeoPackage the tables are created on first use.
RECORD_MODULES = (
    "parcelwatch.patrol.records",
    "parcelwatch.patrol.scores",
    "parcelwatch.violations.records",
    "parcelwatch.reports.tables",
    "parcelwatch.acceptance.records",
)


def record_schema_sql(dialect: str) -> list[str]:
    """The DDL of every registered record table for ``dialect`` (idempotent)."""
    import importlib

    from parcelwatch.ledger import records

    for name in RECORD_MODULES:
        importlib.import_module(name)
    return records.schema_sql(dialect)


# ------------------------------------------------------------------------------------------
# Helpers


_JDUMP = json.JSONEncoder(ensure_ascii=False, sort_keys=True).encode  # json.dumps' own, built once


def jdump(value: Any) -> str:
    return _JDUMP(value)


def column_value(name: str, value: Any) -> Any:
    """A record field as stored: JSON text for lists and evidence, ``date`` for dates."""
    kind = FIELD_BY_NAME[name].kind
    if kind == "date":
        if value is None or value == "":
            return None
        return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    plain = to_plain(name, value)
    if kind in ("list", "evidence"):
        return jdump(plain or [])
    return plain


_KIND = {f.name: f.kind for f in FIELDS}


def _column_from_plain(name: str, plain: Any) -> Any:
    """``column_value(name, from_plain(name, plain))`` for a value as :func:`plan_create` wrote
    it into an event (text, numbers and integers are already what the column holds; a list is
    a list of text; a date ISO text)."""
    kind = _KIND[name]
    if kind in ("text", "real", "int"):
        return plain
    if kind == "list":
        return jdump(plain or [])
    if kind == "date":
        return date.fromisoformat(plain[:10]) if plain else None
    return column_value(name, from_plain(name, plain))


def os_user_name() -> str:
    """The operating-system user running parcelwatch (recorded beside ``--user``)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return str(os.getuid()) if hasattr(os, "getuid") else "?"


def event_row(ev: Event, os_user: str) -> dict[str, Any]:
    """An event's stored content (every column :func:`event_hash` covers)."""
    return {
        "problem_id": ev.problem_id,
        "seq": ev.seq,
        "at": ev.at,
        "user": ev.user,
        "kind": ev.kind,
        "from_status": ev.from_status.value if ev.from_status else None,
        "to_status": ev.to_status.value,
        "measure": ev.measure,
        "note": ev.note,
        "evidence": jdump([e.to_plain() for e in ev.evidence]),
        "batch": ev.batch,
        "changes": jdump(dict(ev.changes)),
        "os_user": os_user,
    }


_HASH_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


def event_hash(prev_hash: str | None, row: dict[str, Any]) -> str:
    """sha256 of the previous event's hash (of the same problem) and this event's content.

    Rewriting, removing or inserting an event anywhere but at the end of a problem's history
    breaks every later hash, which ``parcelwatch ledger verify`` recomputes.
    """
    content = _HASH_JSON([prev_hash or "", *[row.get(c) for c in EVENT_CONTENT]])
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def event_from_row(r: Any) -> Event:
    return Event(
        r.problem_id,
        int(r.seq),
        r.at,
        r.user,
        r.kind,
        Status(r.from_status) if r.from_status else None,
        Status(r.to_status),
        r.measure or "",
        r.note or "",
        tuple(Evidence.from_plain(e) for e in json.loads(r.evidence or "[]")),
        r.batch or "",
        json.loads(r.changes),
    )


_EVENT_COLS = [events.c[c] for c in EVENT_CONTENT if c != "os_user"]


def conflict_error(change: Change, expected: int, actual: int) -> LedgerConflictError:
    where = f" ({change.source})" if change.source else ""
    return LedgerConflictError(
        f"Problem {change.problem_id}{where} was changed by someone else: you edited version {expected}, the ledger now has version {actual}. "
        "Nothing was changed. Reload the problem (`parcelwatch ledger show WS ID`, or export the Excel again), "
        "redo your change on the current version and retry."
    )


# ------------------------------------------------------------------------------------------
# The store


class SqlStore:
    """Every ledger statement, on an SQLAlchemy engine (see the module docstring).

    Subclasses set ``_engine``, ``location`` and override the hooks ``_start_write``,
    ``_serialise``, ``_after_write``, ``_translate`` and ``_not_visible``.
    """

    location: str
    _engine: sa.engine.Engine
    _conn_options: dict[str, Any] = {}
    os_user: str = ""

    # -- hooks

    def _start_write(self, conn: sa.Connection) -> None:
        """Run at the start of every write transaction (timeouts on PostgreSQL)."""

    def _serialise(self, conn: sa.Connection, key: str) -> None:
        """Make transactions that take the same ``key`` run one after another (SQLite: already)."""

    def _after_write(self, conn: sa.Connection) -> None:
        """Run before COMMIT of a write that changed something (GeoPackage: last_change)."""

    def _translate(self, exc: sa.exc.DBAPIError) -> ParcelwatchError | None:
        """The project's error for a database error (busy, conflict, permission), if known."""
        return None

    def _not_visible(self, conn: sa.Connection, problem_id: str) -> LedgerError:
        """The error for a problem the select did not return (PostgreSQL: maybe out of scope)."""
        return LedgerError(
            f"No problem {problem_id!r} in the ledger {self.location}. List the ids with `parcelwatch ledger list WS`."
        )

    _verified = False

    def _warn_if_tampered(self) -> None:
        """The fast ``ledger verify`` before the first write of this store (a visible warning)."""
        if self._verified:
            return
        self._verified = True
        from parcelwatch.ledger.verify import tamper_warning

        text = tamper_warning(self)
        if text:
            warnings.warn(text, DataQualityWarning, stacklevel=3)

    # -- transactions

    @contextmanager
    def _tx(self, write: bool) -> Iterator[sa.Connection]:
        try:
            with self._engine.connect() as conn:
                conn.execution_options(pw_write=write, **self._conn_options)
                with conn.begin():
                    if write:
                        self._start_write(conn)
                    yield conn
        except sa.exc.DBAPIError as exc:
            mapped = self._translate(exc)
            if mapped is not None:
                raise mapped from exc
            raise LedgerError(
                f"The ledger {self.location} refused the operation: {str(exc.orig).strip()}. Nothing was changed."
            ) from exc

    # -- reading

    @staticmethod
    def _records_from_rows(rows: Iterable[Any], geometry: bool) -> list[ProblemRecord]:
        out = []
        for row in rows:
            m = row._mapping
            values = {name: from_plain(name, _plain(name, m[name])) for name in PROBLEM_COLUMNS}
            out.append(ProblemRecord(**values, geometry=m["geom"] if geometry else None))
        return out

    def _select_records(
        self,
        conn: sa.Connection,
        ids: Sequence[str] | None,
        geometry: bool,
        *,
        for_update: bool = False,
    ) -> list[ProblemRecord]:
        cols: list[Any] = [problems.c[c] for c in PROBLEM_COLUMNS]
        cols.append(problems.c.geom if geometry else sa.null().label("geom"))
        if ids is None:
            rows = list(conn.execute(sa.select(*cols).order_by(problems.c.problem_id)))
        else:
            rows = []
            # sorted: transactions locking (FOR UPDATE) overlapping sets lock them in one order
            uniq = sorted(set(ids))
            for i in range(0, len(uniq), 500):
                q = sa.select(*cols).where(problems.c.problem_id.in_(uniq[i : i + 500]))
                if for_update:
                    q = q.with_for_update()
                rows += list(conn.execute(q))
            rows.sort(key=lambda r: r.problem_id)
        return self._records_from_rows(rows, geometry)

    def get(self, problem_id: str) -> ProblemRecord:
        with self._tx(False) as conn:
            recs = self._select_records(conn, [problem_id], True)
            if not recs:
                raise self._not_visible(conn, problem_id)
        return recs[0]

    def records(
        self, problem_ids: Iterable[str] | None = None, *, geometry: bool = True
    ) -> list[ProblemRecord]:
        with self._tx(False) as conn:
            return self._select_records(
                conn, None if problem_ids is None else list(problem_ids), geometry
            )

    def snapshot(self) -> LedgerSnapshot:
        pcols = ("problem_id", "parcel_id", "batch", "role")
        fcols = ("problem_id", "parcel_id", "batch", "footprint_id", "rule_id", "problem_class")
        with self._tx(False) as conn:
            recs = self._select_records(conn, None, True)
            prow = list(
                conn.execute(
                    sa.select(
                        *[problem_parcels.c[c] for c in pcols], problem_parcels.c.geom
                    ).order_by(problem_parcels.c.fid)
                )
            )
            frow = list(
                conn.execute(
                    sa.select(*[findings.c[c] for c in fcols], findings.c.geom).order_by(
                        findings.c.fid
                    )
                )
            )
        parcels = gpd.GeoDataFrame(
            {k: [r[i] for r in prow] for i, k in enumerate(pcols)},
            geometry=gpd.GeoSeries([r[-1] for r in prow], crs=STORAGE_CRS),
        )
        finds = gpd.GeoDataFrame(
            {k: [r[i] for r in frow] for i, k in enumerate(fcols)},
            geometry=gpd.GeoSeries([r[-1] for r in frow], crs=STORAGE_CRS),
        )
        return LedgerSnapshot({r.problem_id: r for r in recs}, parcels, finds)

    def events(self, problem_id: str | None = None) -> list[Event]:
        q = sa.select(*_EVENT_COLS)
        if problem_id is None:
            q = q.order_by(events.c.problem_id, events.c.seq)
        else:
            q = q.where(events.c.problem_id == problem_id).order_by(events.c.seq)
        with self._tx(False) as conn:
            rows = list(conn.execute(q))
        return [event_from_row(r) for r in rows]

    def event_rows(self) -> list[dict[str, Any]]:
        """Every stored event column (with ``hash``, ``os_user`` and ``actor``), for verify/copy."""
        with self._tx(False) as conn:
            rows = conn.execute(
                sa.select(*[events.c[c] for c in (*EVENT_CONTENT, "hash", "actor")]).order_by(
                    events.c.problem_id, events.c.seq
                )
            )
            return [dict(r._mapping) for r in rows]

    def problems_for_parcel(self, parcel_id: str, batch: str | None = None) -> list[str]:
        q = sa.select(problem_parcels.c.problem_id).distinct()
        q = q.where(problem_parcels.c.parcel_id == str(parcel_id))
        if batch:
            q = q.where(problem_parcels.c.batch == batch)
        with self._tx(False) as conn:
            return [r[0] for r in conn.execute(q.order_by(problem_parcels.c.problem_id))]

    def batches(self) -> pd.DataFrame:
        cols = [c for c in batches.c if c.name != "fid"]
        with self._tx(False) as conn:
            rows = list(conn.execute(sa.select(*cols).order_by(batches.c.fid)))
        df = pd.DataFrame([tuple(r) for r in rows], columns=[c.name for c in cols])
        for c in ("issued", "verify_due"):
            df[c] = [v.isoformat() if isinstance(v, date) else v for v in df[c]]
        return df

    def meta(self) -> dict[str, str]:
        with self._tx(False) as conn:
            rows = conn.execute(sa.select(meta.c.key, meta.c.value).order_by(meta.c.fid))
            return {k: v for k, v in rows}

    # -- writing

    @staticmethod
    def _next_seq(conn: sa.Connection, prefix: str) -> int:
        top = conn.execute(
            sa.select(sa.func.max(problems.c.problem_id)).where(
                problems.c.problem_id.like(prefix + "%"),
                sa.func.length(problems.c.problem_id) == len(prefix) + 6,
            )
        ).scalar()
        return int(top[len(prefix) :]) + 1 if top else 1

    def apply(
        self,
        changes: Sequence[Change],
        *,
        user: str,
        now: datetime,
        batch: Any = None,
        rules_digest: str = "",
        progress: Progress | None = None,
    ) -> Any:
        from parcelwatch.ledger.store import ApplyResult

        if not user.strip():
            raise LedgerError("Every ledger change records who made it: pass a user name (--user).")
        self._warn_if_tampered()
        at = now.isoformat(timespec="seconds")
        ids: list[str | None] = []
        evs: list[Event] = []
        next_seq: dict[str, int] = {}
        total = len(changes)
        with self._tx(True) as conn:
            if batch is not None or any(c.kind == "create" for c in changes):
                self._serialise(conn, "create")
            # Consecutive creations are written together (one executemany per table: a batch's
            # thousands of new problems cost a few statements, not a few per problem), and so
            # are consecutive updates; each run is written before the next, so the order of
            # effects is kept.
            creates: list[Change] = []

            def flush() -> None:
                for ev in self._create_many(
                    conn, creates, now=now, user=user, next_seq=next_seq, at=at
                ):
                    evs.append(ev)
                    ids.append(ev.problem_id)
                    if progress is not None:
                        progress(len(ids), total)
                creates.clear()

            updates: list[Change] = []
            pending: set[str | None] = set()  # the problems of ``updates``

            def flush_updates() -> None:
                for ev in self._update_many(conn, updates, now=now, user=user, at=at):
                    if ev is not None:
                        evs.append(ev)
                    ids.append(ev.problem_id if ev is not None else None)
                    if progress is not None:
                        progress(len(ids), total)
                updates.clear()
                pending.clear()

            for change in changes:
                if change.kind == "create":
                    flush_updates()
                    creates.append(change)
                else:
                    flush()
                    if change.problem_id in pending:
                        flush_updates()  # a problem changed again: after its earlier change
                    updates.append(change)
                    pending.add(change.problem_id)
            flush_updates()
            flush()
            if batch is not None:
                self._record_batch(conn, batch, at=at, user=user)
            if evs or batch is not None:
                self._serialise(conn, "run")
                n_runs = conn.execute(
                    sa.select(sa.func.count()).select_from(meta).where(meta.c.key.like("run:%"))
                ).scalar_one()
                run = {
                    "at": at,
                    "user": user,
                    "os_user": self.os_user,
                    "batch": batch.batch if batch else "",
                    "events": len(evs),
                    "rules_digest": rules_digest,
                }
                conn.execute(sa.insert(meta).values(key=f"run:{n_runs + 1:06d}", value=jdump(run)))
                self._after_write(conn)
        return ApplyResult(ids, evs)

    def _create_many(
        self,
        conn: sa.Connection,
        changes: Sequence[Change],
        *,
        now: datetime,
        user: str,
        next_seq: dict[str, int],
        at: str,
    ) -> list[Event]:
        """Create one problem per change: every table written with one executemany.

        The same checks as one by one: a parcel of a batch already on a problem (in the ledger
        or earlier in ``changes``) refuses the whole transaction; the database's guards see
        each problem's first event before the problem (events are inserted first).
        """
        if not changes:
            return []
        pairs = {(str(p.parcel_id), p.batch) for c in changes for p in c.parcels}
        linked = self._linked_parcels(conn, pairs)
        county_code: str | None = None
        if any(not c.fields.get("county_code") for c in changes):
            code = conn.execute(sa.select(meta.c.value).where(meta.c.key == "county_code")).scalar()
            county_code = code or None
        blank_record = ProblemRecord()
        blank = {c: column_value(c, getattr(blank_record, c)) for c in PROBLEM_COLUMNS}
        ev_rows: list[dict[str, Any]] = []
        prob_rows: list[dict[str, Any]] = []
        link_rows: list[dict[str, Any]] = []
        find_rows: list[dict[str, Any]] = []
        out: list[Event] = []
        for change in changes:
            for p in change.parcels:
                key = (str(p.parcel_id), p.batch)
                if key in linked:
                    raise LedgerConflictError(
                        f"Parcel {p.parcel_id} of batch {p.batch} is already recorded on problem {linked[key]} (another run recorded it meanwhile). "
                        "Nothing was changed; run the check again: it reloads the ledger and links the parcel instead."
                    )
            fields_ = dict(change.fields)
            if not fields_.get("county_code") and county_code:
                fields_["county_code"] = county_code
                change = replace(change, fields=fields_)
            prefix = problem_id_prefix(
                str(fields_.get("county_code") or ""), int(fields_.get("year") or now.year)
            )
            seq = next_seq.get(prefix) or self._next_seq(conn, prefix)
            next_seq[prefix] = seq + 1
            problem_id = f"{prefix}{seq:06d}"
            for p in change.parcels:
                linked[(str(p.parcel_id), p.batch)] = problem_id
            ev = plan_create(problem_id, change, now=now, user=user)
            row = event_row(ev, self.os_user)
            row["hash"] = event_hash(None, row)  # a creation is its problem's first event
            ev_rows.append(row)
            # a new record is the blank one but for the fields its creation sets: only those
            # are converted (the same values as converting every column)
            values = dict(blank)
            values["problem_id"] = problem_id
            for c, v in ev.changes.items():
                if c in blank:
                    values[c] = _column_from_plain(c, v)
            # what apply_event sets on every event
            values["version"] = column_value("version", ev.seq)
            values["updated_at"] = column_value("updated_at", ev.at)
            values["updated_by"] = column_value("updated_by", ev.user)
            prob_rows.append({"geom": change.geometry, **values})
            link_rows += _link_rows(problem_id, change.parcels, at)
            find_rows += _finding_rows(problem_id, change.findings)
            out.append(ev)
        for rows in (prob_rows, link_rows, find_rows):  # the geometries encoded in one go
            blobs = encode_geometries(conn.dialect.name, [r["geom"] for r in rows])
            for r, blob in zip(rows, blobs, strict=True):
                r["geom"] = blob
        for table, rows in (
            (events, ev_rows),
            (problems, prob_rows),
            (problem_parcels, link_rows),
            (findings, find_rows),
        ):
            _insert_rows(conn, table, rows)
        return out

    @staticmethod
    def _linked_parcels(
        conn: sa.Connection, pairs: set[tuple[str, str]], chunk: int = 500
    ) -> dict[tuple[str, str], str]:
        """The problem each (parcel id, batch) pair is already recorded on, for those that are."""
        out: dict[tuple[str, str], str] = {}
        by_batch: dict[str, list[str]] = {}
        for pid, b in pairs:
            by_batch.setdefault(b, []).append(pid)
        for b, pids in by_batch.items():
            pids.sort()
            for i in range(0, len(pids), chunk):
                rows = conn.execute(
                    sa.select(problem_parcels.c.parcel_id, problem_parcels.c.problem_id).where(
                        problem_parcels.c.batch == b,
                        problem_parcels.c.parcel_id.in_(pids[i : i + chunk]),
                    )
                )
                for pid, problem_id in rows:
                    out.setdefault((pid, b), problem_id)
        return out

    def _update_many(
        self, conn: sa.Connection, changes: Sequence[Change], *, now: datetime, user: str,
        at: str,
    ) -> list[Event | None]:  # fmt: skip
        """Apply updates of distinct problems in order, a few statements for many: the records
        read (locked) in lists of 500, then every event, change of record and new link written
        with one executemany per table. ``None`` where nothing changed."""
        if not changes:
            return []
        for change in changes:
            if not change.problem_id:
                raise LedgerError(
                    "A ledger change names no problem id. Give the id (e.g. 370790-2026-000001)."
                )
        found = {
            r.problem_id: r
            for r in self._select_records(
                conn, [str(c.problem_id) for c in changes], False, for_update=True
            )
        }
        planned: list[tuple[Change, Any, Event | None, int]] = []
        for change in changes:
            record = found.get(str(change.problem_id))
            if record is None:
                err = self._not_visible(conn, str(change.problem_id))
                if change.source:
                    err.args = (f"{err.args[0]} ({change.source})",)
                raise err
            expected = (
                change.expected_version if change.expected_version is not None else record.version
            )
            if record.version != expected:
                raise conflict_error(change, expected, record.version)
            ev = plan_event(record, change, seq=record.version + 1, now=now, user=user)
            planned.append((change, record, ev, expected))
        done = [(c, r, ev, x) for c, r, ev, x in planned if ev is not None]
        prev_hash = self._last_hashes(conn, [r.problem_id for _, r, _, _ in done])
        ev_rows: list[dict[str, Any]] = []
        by_cols: dict[tuple[str, ...], list[dict[str, Any]]] = {}  # one UPDATE per set of columns
        link_rows: list[dict[str, Any]] = []
        find_rows: list[dict[str, Any]] = []
        for change, record, ev, expected in done:
            assert ev is not None
            row = event_row(ev, self.os_user)
            row["hash"] = event_hash(prev_hash.get((record.problem_id, record.version)), row)
            ev_rows.append(row)
            after = apply_event(record, ev)
            cols = [c for c in ev.changes if c in FIELD_BY_NAME] + ["updated_at", "updated_by"]
            values = {c: column_value(c, getattr(after, c)) for c in dict.fromkeys(cols)}
            values["version"] = after.version
            values.update(b_problem_id=record.problem_id, b_expected=expected)
            by_cols.setdefault(tuple(values), []).append(values)
            link_rows += _link_rows(record.problem_id, change.parcels, at)
            find_rows += _finding_rows(record.problem_id, change.findings)
        if ev_rows:
            conn.execute(sa.insert(events), ev_rows)
        for rows in by_cols.values():
            res = conn.execute(
                sa.update(problems).where(
                    problems.c.problem_id == sa.bindparam("b_problem_id"),
                    problems.c.version == sa.bindparam("b_expected"),
                ),
                rows,
            )
            if res.rowcount not in (-1, len(rows)):  # pragma: no cover - the rows are locked
                raise LedgerConflictError(
                    "Problems were changed meanwhile; nothing was changed. Run it again."
                )
        if link_rows:
            conn.execute(sa.insert(problem_parcels), link_rows)
        if find_rows:
            conn.execute(sa.insert(findings), find_rows)
        return [ev for _, _, ev, _ in planned]

    @staticmethod
    def _last_hashes(conn: sa.Connection, ids: Sequence[str]) -> dict[tuple[str, int], str]:
        """(problem id, seq) -> hash of the events of ``ids``."""
        out: dict[tuple[str, int], str] = {}
        uniq = list(dict.fromkeys(ids))
        for i in range(0, len(uniq), 500):
            q = sa.select(events.c.problem_id, events.c.seq, events.c.hash).where(
                events.c.problem_id.in_(uniq[i : i + 500])
            )
            for pid, seq, h in conn.execute(q):
                out[(pid, int(seq))] = h
        return out

    def _update(
        self, conn: sa.Connection, change: Change, *, now: datetime, user: str
    ) -> Event | None:
        """One update inside a transaction (its event, or ``None`` when nothing changed)."""
        at = now.isoformat(timespec="seconds")
        return self._update_many(conn, [change], now=now, user=user, at=at)[0]

    def _record_batch(self, conn: sa.Connection, b: Any, *, at: str, user: str) -> None:
        c = b.counts
        row = conn.execute(
            sa.select(batches.c.fid).where(batches.c.batch == b.batch).with_for_update()
        ).first()
        common = {
            "last_checked_at": at,
            "checked_by": user,
            "parcel_count": b.parcel_count,
            "unchanged_count": c.get("unchanged", 0),
            "rules_digest": b.rules_digest,
            "sources": jdump(dict(b.sources)),
        }
        if row is None:
            conn.execute(
                sa.insert(batches).values(
                    batch=b.batch,
                    issued=b.issued,
                    year=b.year,
                    verify_due=b.verify_due,
                    first_checked_at=at,
                    new_count=c.get("new", 0),
                    same_count=c.get("same", 0),
                    rebound_count=c.get("rebound", 0),
                    **common,
                )
            )
        else:
            conn.execute(
                sa.update(batches)
                .where(batches.c.batch == b.batch)
                .values(
                    new_count=batches.c.new_count + c.get("new", 0),
                    same_count=batches.c.same_count + c.get("same", 0),
                    rebound_count=batches.c.rebound_count + c.get("rebound", 0),
                    **common,
                )
            )


def _insert_rows(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    """``conn.execute(sa.insert(table), rows)``; on SQLite, rows of the same columns go to the
    driver's executemany as tuples (SQLAlchemy's per-row parameter processing was a fifth of
    a batch's creations), with dates as SQLAlchemy's SQLite dialect stores them."""
    if not rows:
        return
    cols = list(rows[0])
    if conn.dialect.name != "sqlite" or any(len(r) != len(cols) for r in rows):
        conn.execute(sa.insert(table), rows)
        return
    dates = [c for c in cols if isinstance(table.c[c].type, sa.Date)]
    if dates:
        rows = [{**r, **{c: _sqlite_date(r[c]) for c in dates}} for r in rows]
    q = conn.dialect.identifier_preparer.quote
    sql = (
        f"INSERT INTO {q(table.name)} ({', '.join(q(c) for c in cols)}) "
        f"VALUES ({', '.join('?' * len(cols))})"
    )
    get = itemgetter(*cols)
    conn.exec_driver_sql(
        sql, [get(r) for r in rows] if len(cols) > 1 else [(r[cols[0]],) for r in rows]
    )


def _sqlite_date(v: Any) -> Any:
    # SQLAlchemy's SQLite DATE storage format (a datetime keeps only its date)
    return None if v is None else f"{v.year:04d}-{v.month:02d}-{v.day:02d}"


def _link_rows(problem_id: str, parcels: Sequence[ParcelLink], at: str) -> list[dict[str, Any]]:
    return [
        {
            "geom": p.geometry,
            "problem_id": problem_id,
            "parcel_id": str(p.parcel_id),
            "batch": p.batch,
            "role": p.role,
            "iou": p.iou,
            "share": p.share,
            "candidate_class": p.candidate_class,
            "added_at": at,
        }
        for p in parcels
    ]


def _finding_rows(problem_id: str, finds: Sequence[FootprintFinding]) -> list[dict[str, Any]]:
    return [
        {
            "geom": f.geometry,
            "problem_id": problem_id,
            "parcel_id": f.parcel_id,
            "batch": f.batch,
            "footprint_id": f.footprint_id,
            "rule_id": f.rule_id,
            "problem_class": f.problem_class,
            "reason": f.reason,
            "reason_en": f.reason_en,
            "suggested_judgement": f.suggested_judgement,
            "document": f.document,
            "footprint_m2": f.footprint_m2,
            "farmland_m2": f.farmland_m2,
            "pbf_m2": f.pbf_m2,
        }
        for f in finds
    ]


def _plain(name: str, value: Any) -> Any:
    """A stored value as :func:`from_plain` reads it (dates come back as ``date``)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    return value


# re-exported for the error classes some callers catch
__all__ += ["LedgerBusyError", "LedgerPermissionError"]
