"""Where the ledger lives: the :class:`LedgerStore` interface and its GeoPackage implementation.

Callers (the workspace, the CLI, Excel import) only use :class:`LedgerStore`; a PostgreSQL/PostGIS
store for many users can implement the same methods later without touching them.

:class:`GpkgStore` keeps everything in one GeoPackage file that QGIS opens directly:

* ``problems`` (features, MultiPolygon, EPSG:4490): one row per problem with every
  :data:`~parcelwatch.ledger.model.FIELDS` column and a ``version``; Chinese aliases in
  ``gpkg_data_columns``;
* ``problem_parcels`` (features): every batch parcel recorded on a problem, as drawn in its batch;
* ``findings`` (features): the classification findings (building footprints) of each problem;
* ``events`` (attributes, append-only): problem_id, seq, at, user, kind, from/to status,
  measure, note, evidence (JSON), batch, changes (JSON);
* ``batches`` (attributes): one row per checked batch; ``meta`` (attributes): schema version and
  the rules digest of every run.

Writes go through :mod:`sqlite3` with the five ``ST_`` functions the GeoPackage R-tree triggers
call registered on the connection, in WAL mode, each batch of changes in one ``BEGIN IMMEDIATE``
transaction: a crash or ``kill -9`` leaves the file as it was before or after, never in between.
Every update is ``UPDATE ... WHERE problem_id=? AND version=?`` after its event was inserted in the
same transaction; a version that moved is a :class:`~parcelwatch.errors.LedgerConflictError`.
Triggers refuse a change of a problem without its event, any update or delete of events, and an
event that is not the next legal transition (``transitions`` table in the file); every write to
the other ledger tables needs a function only parcelwatch's connections register. The statements
themselves are in :mod:`parcelwatch.ledger.sqlstore` (shared with the PostgreSQL store).
"""

from __future__ import annotations

import math
import os
import sqlite3
import struct
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
import sqlalchemy as sa
from pyproj import CRS

from parcelwatch.atomic import commit_file
from parcelwatch.crs import STORAGE_CRS
from parcelwatch.errors import LedgerBusyError, LedgerError, ParcelwatchError
from parcelwatch.ledger.model import (
    FIELDS,
    TRANSITIONS,
    Change,
    Event,
    LedgerSnapshot,
    ProblemRecord,
    Status,
)
from parcelwatch.ledger.sqlstore import (
    PROBLEM_COLUMNS,
    SqlStore,
    column_value,
    conflict_error,
    jdump,
    os_user_name,
)

__all__ = [
    "SCHEMA_VERSION",
    "LedgerStore",
    "LedgerSnapshot",
    "BatchInfo",
    "ApplyResult",
    "GpkgStore",
    "open_store",
    "records_frame",
    "gpkg_geometry_blob",
    "geometry_from_blob",
]

SCHEMA_VERSION = 3
SRS_ID = 4490
Progress = Callable[[int, int], None]


# ------------------------------------------------------------------------------------------
# The interface


@dataclass(frozen=True)
class BatchInfo:
    """One checked batch, recorded with the changes it caused."""

    batch: str
    issued: date | None
    year: int
    verify_due: date | None
    parcel_count: int
    counts: Mapping[str, int] = field(default_factory=dict)
    rules_digest: str = ""
    sources: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ApplyResult:
    """What one transaction did: the problem id per change (``None``: nothing changed) and events."""

    problem_ids: list[str | None]
    events: list[Event]

    @property
    def changed(self) -> int:
        return sum(1 for p in self.problem_ids if p is not None)


class LedgerStore(ABC):
    """The ledger's storage. Every method that writes is one transaction (all or nothing)."""

    location: str

    @abstractmethod
    def get(self, problem_id: str) -> ProblemRecord:
        """One problem with its geometry; :class:`LedgerError` naming the id if unknown."""

    @abstractmethod
    def records(
        self, problem_ids: Iterable[str] | None = None, *, geometry: bool = True
    ) -> list[ProblemRecord]:
        """Problems by id (all when ``None``), ordered by id; unknown ids are left out."""

    @abstractmethod
    def snapshot(self) -> LedgerSnapshot:
        """Problems, their batch parcels and findings, read in one transaction."""

    @abstractmethod
    def events(self, problem_id: str | None = None) -> list[Event]:
        """The history of one problem (or all), in order."""

    @abstractmethod
    def problems_for_parcel(self, parcel_id: str, batch: str | None = None) -> list[str]:
        """Ids of the problems a batch parcel was recorded on."""

    @abstractmethod
    def apply(
        self,
        changes: Sequence[Change],
        *,
        user: str,
        now: datetime,
        batch: BatchInfo | None = None,
        rules_digest: str = "",
        progress: Progress | None = None,
    ) -> ApplyResult:
        """Apply every change in one transaction, or none (the first error rolls back)."""

    @abstractmethod
    def batches(self) -> pd.DataFrame:
        """The checked batches."""

    @abstractmethod
    def meta(self) -> dict[str, str]:
        """Schema version, county and run records."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection."""

    def __enter__(self) -> LedgerStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def records_frame(records: Sequence[ProblemRecord]) -> gpd.GeoDataFrame:
    """Problems as a GeoDataFrame (EPSG:4490), one column per field; status as its Chinese value."""
    data: dict[str, list[Any]] = {f.name: [getattr(r, f.name) for r in records] for f in FIELDS}
    data["status"] = [r.status.value for r in records]
    geoms = [r.geometry for r in records]
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geoms, crs=STORAGE_CRS))


# ------------------------------------------------------------------------------------------
# GeoPackage geometry blobs (GPKG header + ISO WKB)

_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}


def gpkg_geometry_blob(geom: Any, srs_id: int = SRS_ID) -> bytes | None:
    """A GeoPackage geometry blob: 'GP', version 0, flags, srs_id, xy envelope, ISO WKB."""
    if geom is None:
        return None
    if shapely.is_empty(geom):
        flags = 0b0001_0001  # little endian, no envelope, empty
        return (
            b"GP"
            + bytes([0, flags])
            + struct.pack("<i", srs_id)
            + shapely.to_wkb(geom, flavor="iso", byte_order=1)
        )
    return gpkg_blob_from_wkb(
        shapely.to_wkb(geom, flavor="iso", byte_order=1), shapely.bounds(geom), srs_id
    )


def gpkg_blob_from_wkb(wkb: bytes, bounds: Sequence[float], srs_id: int = SRS_ID) -> bytes:
    """:func:`gpkg_geometry_blob` of a non-empty geometry from its ISO WKB (little endian) and
    its bounds (minx, miny, maxx, maxy)."""
    minx, miny, maxx, maxy = bounds
    return (
        b"GP"
        + bytes([0, 0b0000_0011])  # little endian, envelope [minx, maxx, miny, maxy]
        + struct.pack("<i", srs_id)
        + struct.pack("<4d", minx, maxx, miny, maxy)
        + wkb
    )


_LAST_PARTS: tuple[bytes, tuple[int, tuple[float, ...] | None, int]] | None = None


def _blob_parts(blob: bytes) -> tuple[int, tuple[float, ...] | None, int]:
    # the GeoPackage R-tree triggers ask for a new row's emptiness and four bounds one call
    # each: the last blob's header is kept (one tuple, swapped whole: safe across threads)
    global _LAST_PARTS
    last = _LAST_PARTS
    if last is not None and last[0] == blob:
        return last[1]
    parts = _parse_blob_parts(blob)
    _LAST_PARTS = (blob, parts)
    return parts


def _parse_blob_parts(blob: bytes) -> tuple[int, tuple[float, ...] | None, int]:
    if blob[:2] != b"GP":
        raise LedgerError(
            "A geometry in the ledger is not a GeoPackage geometry blob. The file was changed by another program; restore it from a backup."
        )
    flags = blob[3]
    order = "<" if flags & 1 else ">"
    env_kind = (flags >> 1) & 0b111
    size = _ENVELOPE_BYTES.get(env_kind, 0)
    env = struct.unpack(order + "4d", blob[8:40]) if size else None
    return flags, env, 8 + size


def geometry_from_blob(blob: bytes | None) -> Any:
    """The shapely geometry in a GeoPackage blob (``None`` for NULL)."""
    if blob is None:
        return None
    _, _, offset = _blob_parts(bytes(blob))
    return shapely.from_wkb(bytes(blob)[offset:])


def _st_is_empty(blob: bytes | None) -> int | None:
    if blob is None:
        return None
    flags, env, offset = _blob_parts(bytes(blob))
    if flags & 0b1_0000:
        return 1
    if env is not None and math.isfinite(env[0] + env[1] + env[2] + env[3]):
        return 0  # a finite envelope has coordinates: not empty (no need to decode the WKB)
    return int(bool(shapely.is_empty(shapely.from_wkb(bytes(blob)[offset:]))))


def _st_bound(index: int) -> Callable[[bytes | None], float | None]:
    # index into (minx, maxx, miny, maxy) as stored in the envelope
    def bound(blob: bytes | None) -> float | None:
        if blob is None:
            return None
        flags, env, offset = _blob_parts(bytes(blob))
        if env is None:
            g = shapely.from_wkb(bytes(blob)[offset:])
            if shapely.is_empty(g):
                return None
            b = shapely.bounds(g)
            env = (b[0], b[2], b[1], b[3])
        return float(env[index])

    return bound


def _register_functions(con: sqlite3.Connection) -> None:
    """The five functions GeoPackage R-tree triggers call (DESIGN.md, ledger store notes)."""
    con.create_function("ST_IsEmpty", 1, _st_is_empty, deterministic=True)
    for name, i in (("ST_MinX", 0), ("ST_MaxX", 1), ("ST_MinY", 2), ("ST_MaxY", 3)):
        con.create_function(name, 1, _st_bound(i), deterministic=True)


# ------------------------------------------------------------------------------------------
# Schema

_SQL_TYPE = {
    "text": "TEXT",
    "int": "INTEGER",
    "real": "REAL",
    "date": "DATE",
    "status": "TEXT",
    "list": "TEXT",
    "evidence": "TEXT",
}
_PROBLEM_COLUMNS = [f.name for f in FIELDS]

_PARCEL_COLUMNS = (
    ("problem_id", "TEXT NOT NULL", "问题编号"),
    ("parcel_id", "TEXT NOT NULL", "监测编号"),
    ("batch", "TEXT NOT NULL", "批次"),
    ("role", "TEXT", "记录方式"),
    ("iou", "REAL", "交并比"),
    ("share", "REAL", "重叠比例"),
    ("candidate_class", "TEXT", "疑似类别"),
    ("added_at", "TEXT", "记录时间"),
)
_FINDING_COLUMNS = (
    ("problem_id", "TEXT NOT NULL", "问题编号"), ("parcel_id", "TEXT", "监测编号"), ("batch", "TEXT", "批次"), ("footprint_id", "TEXT", "建筑编号"),
    ("rule_id", "TEXT", "规则"), ("problem_class", "TEXT", "疑似类别"), ("reason", "TEXT", "依据"), ("reason_en", "TEXT", "依据(英文)"),
    ("suggested_judgement", "TEXT", "建议核查结论"), ("document", "TEXT", "相关批文"), ("footprint_m2", "REAL", "建筑面积(m²)"),
    ("farmland_m2", "REAL", "占用耕地(m²)"), ("pbf_m2", "REAL", "占用永久基本农田(m²)"),
)  # fmt: skip
_EVENT_COLUMNS = (
    ("problem_id", "TEXT NOT NULL", "问题编号"), ("seq", "INTEGER NOT NULL", "序号"), ("at", "TEXT NOT NULL", "时间"), ("user", "TEXT NOT NULL", "操作人"),
    ("kind", "TEXT NOT NULL", "类型"), ("from_status", "TEXT", "原状态"), ("to_status", "TEXT NOT NULL", "新状态"), ("measure", "TEXT", "整改措施"),
    ("note", "TEXT", "说明"), ("evidence", "TEXT", "佐证材料"), ("batch", "TEXT", "批次"), ("changes", "TEXT NOT NULL", "变更内容"),
    ("os_user", "TEXT", "系统用户"), ("hash", "TEXT", "校验值"), ("actor", "TEXT", "数据库用户"),
    ("recorded_at", "TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))", "记录时间"),
)  # fmt: skip
_BATCH_COLUMNS = (
    ("batch", "TEXT NOT NULL UNIQUE", "批次"), ("issued", "DATE", "下发日期"), ("year", "INTEGER", "年度"), ("verify_due", "DATE", "核查期限"),
    ("first_checked_at", "TEXT", "首次核对时间"), ("last_checked_at", "TEXT", "最近核对时间"), ("checked_by", "TEXT", "核对人"),
    ("parcel_count", "INTEGER", "图斑数"), ("new_count", "INTEGER", "新增问题"), ("same_count", "INTEGER", "已在台账"),
    ("rebound_count", "INTEGER", "反弹"), ("unchanged_count", "INTEGER", "重复核对"), ("rules_digest", "TEXT", "规则摘要"), ("sources", "TEXT", "输入图层"),
)  # fmt: skip
_META_COLUMNS = (("key", "TEXT NOT NULL UNIQUE", "键"), ("value", "TEXT", "值"))

_GPKG_CORE = [
    "CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL,srs_id INTEGER NOT NULL PRIMARY KEY,organization TEXT NOT NULL,organization_coordsys_id INTEGER NOT NULL,definition  TEXT NOT NULL,description TEXT)",
    "CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY,data_type TEXT NOT NULL,identifier TEXT UNIQUE,description TEXT DEFAULT '',last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),min_x DOUBLE, min_y DOUBLE,max_x DOUBLE, max_y DOUBLE,srs_id INTEGER,CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))",
    "CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL,column_name TEXT NOT NULL,geometry_type_name TEXT NOT NULL,srs_id INTEGER NOT NULL,z TINYINT NOT NULL,m TINYINT NOT NULL,CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),CONSTRAINT uk_gc_table_name UNIQUE (table_name),CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))",
    "CREATE TABLE gpkg_extensions (table_name TEXT,column_name TEXT,extension_name TEXT NOT NULL,definition TEXT NOT NULL,scope TEXT NOT NULL,CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))",
    "CREATE TABLE gpkg_data_columns (table_name TEXT NOT NULL,column_name TEXT NOT NULL,name TEXT,title TEXT,description TEXT,mime_type TEXT,constraint_name TEXT,CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name),CONSTRAINT gdc_tn UNIQUE (table_name, name))",
    "CREATE TABLE gpkg_data_column_constraints (constraint_name TEXT NOT NULL,constraint_type TEXT NOT NULL,value TEXT,min NUMERIC,min_is_inclusive BOOLEAN,max NUMERIC,max_is_inclusive BOOLEAN,description TEXT,CONSTRAINT gdcc_ntv UNIQUE (constraint_name, constraint_type, value))",
]

_RTREE_TRIGGERS = [
    'CREATE TRIGGER "rtree_{t}_geom_insert" AFTER INSERT ON "{t}" WHEN (new."geom" NOT NULL AND NOT ST_IsEmpty(NEW."geom")) BEGIN INSERT OR REPLACE INTO "rtree_{t}_geom" VALUES (NEW."fid",ST_MinX(NEW."geom"), ST_MaxX(NEW."geom"),ST_MinY(NEW."geom"), ST_MaxY(NEW."geom")); END',
    'CREATE TRIGGER "rtree_{t}_geom_update6" AFTER UPDATE OF "geom" ON "{t}" WHEN OLD."fid" = NEW."fid" AND (NEW."geom" NOTNULL AND NOT ST_IsEmpty(NEW."geom")) AND (OLD."geom" NOTNULL AND NOT ST_IsEmpty(OLD."geom")) BEGIN UPDATE "rtree_{t}_geom" SET minx = ST_MinX(NEW."geom"), maxx = ST_MaxX(NEW."geom"),miny = ST_MinY(NEW."geom"), maxy = ST_MaxY(NEW."geom") WHERE id = NEW."fid";END',
    'CREATE TRIGGER "rtree_{t}_geom_update7" AFTER UPDATE OF "geom" ON "{t}" WHEN OLD."fid" = NEW."fid" AND (NEW."geom" NOTNULL AND NOT ST_IsEmpty(NEW."geom")) AND (OLD."geom" ISNULL OR ST_IsEmpty(OLD."geom")) BEGIN INSERT INTO "rtree_{t}_geom" VALUES (NEW."fid",ST_MinX(NEW."geom"), ST_MaxX(NEW."geom"),ST_MinY(NEW."geom"), ST_MaxY(NEW."geom")); END',
    'CREATE TRIGGER "rtree_{t}_geom_update2" AFTER UPDATE OF "geom" ON "{t}" WHEN OLD."fid" = NEW."fid" AND (NEW."geom" ISNULL OR ST_IsEmpty(NEW."geom")) BEGIN DELETE FROM "rtree_{t}_geom" WHERE id = OLD."fid"; END',
    'CREATE TRIGGER "rtree_{t}_geom_update5" AFTER UPDATE ON "{t}" WHEN OLD."fid" != NEW."fid" AND (NEW."geom" NOTNULL AND NOT ST_IsEmpty(NEW."geom")) BEGIN DELETE FROM "rtree_{t}_geom" WHERE id = OLD."fid"; INSERT OR REPLACE INTO "rtree_{t}_geom" VALUES (NEW."fid",ST_MinX(NEW."geom"), ST_MaxX(NEW."geom"),ST_MinY(NEW."geom"), ST_MaxY(NEW."geom")); END',
    'CREATE TRIGGER "rtree_{t}_geom_update4" AFTER UPDATE ON "{t}" WHEN OLD."fid" != NEW."fid" AND (NEW."geom" ISNULL OR ST_IsEmpty(NEW."geom")) BEGIN DELETE FROM "rtree_{t}_geom" WHERE id IN (OLD."fid", NEW."fid"); END',
    'CREATE TRIGGER "rtree_{t}_geom_delete" AFTER DELETE ON "{t}" WHEN old."geom" NOT NULL BEGIN DELETE FROM "rtree_{t}_geom" WHERE id = OLD."fid"; END',
]

_GUARD_MSG = "parcelwatch ledger: {what}. Change problems with `parcelwatch ledger set` or `import-xlsx`, which record an event for every change."
_WRITER_FN = "parcelwatch_writer"  # registered only on parcelwatch's own connections
_GUARDS = [
    'CREATE TRIGGER "problems_need_event_insert" BEFORE INSERT ON "problems" WHEN NEW.version IS NOT 1 OR NEW.status IS NOT (SELECT to_status FROM "events" WHERE problem_id = NEW.problem_id AND seq = 1) BEGIN SELECT RAISE(ABORT, \'{m1}\'); END',
    'CREATE TRIGGER "problems_need_event_update" BEFORE UPDATE ON "problems" WHEN NEW.version IS NOT OLD.version + 1 OR NEW.problem_id IS NOT OLD.problem_id OR NEW.status IS NOT (SELECT to_status FROM "events" WHERE problem_id = NEW.problem_id AND seq = NEW.version) BEGIN SELECT RAISE(ABORT, \'{m2}\'); END',
    'CREATE TRIGGER "problems_no_delete" BEFORE DELETE ON "problems" BEGIN SELECT RAISE(ABORT, \'{m3}\'); END',
    'CREATE TRIGGER "events_append_only_update" BEFORE UPDATE ON "events" BEGIN SELECT RAISE(ABORT, \'{m4}\'); END',
    'CREATE TRIGGER "events_append_only_delete" BEFORE DELETE ON "events" BEGIN SELECT RAISE(ABORT, \'{m4}\'); END',
    'CREATE TRIGGER "events_next_seq" BEFORE INSERT ON "events" WHEN NEW.seq IS NOT (SELECT COALESCE(MAX(seq), 0) + 1 FROM "events" WHERE problem_id = NEW.problem_id) OR (NEW.seq > 1 AND NEW.seq IS NOT (SELECT version + 1 FROM "problems" WHERE problem_id = NEW.problem_id)) BEGIN SELECT RAISE(ABORT, \'{m5}\'); END',
    'CREATE TRIGGER "events_first_is_create" BEFORE INSERT ON "events" WHEN NEW.seq = 1 AND (NEW.from_status IS NOT NULL OR NEW.kind IS NOT \'create\' OR EXISTS (SELECT 1 FROM "problems" WHERE problem_id = NEW.problem_id)) BEGIN SELECT RAISE(ABORT, \'{m6}\'); END',
    'CREATE TRIGGER "events_from_current_status" BEFORE INSERT ON "events" WHEN NEW.seq > 1 AND NEW.from_status IS NOT (SELECT status FROM "problems" WHERE problem_id = NEW.problem_id) BEGIN SELECT RAISE(ABORT, \'{m7}\'); END',
    'CREATE TRIGGER "events_legal_transition" BEFORE INSERT ON "events" WHEN NEW.seq > 1 AND NEW.from_status IS NOT NEW.to_status AND NOT EXISTS (SELECT 1 FROM "transitions" t WHERE t.from_status = NEW.from_status AND t.to_status = NEW.to_status) BEGIN SELECT RAISE(ABORT, \'{m8}\'); END',
]
# Tables only parcelwatch writes: every write needs the function parcelwatch registers on its own
# connections (QGIS, sqlite3 and GDAL get "no such function: parcelwatch_writer"); rows of
# problem_parcels and findings are never updated or deleted, not even by parcelwatch.
_WRITER_ONLY = ("problem_parcels", "findings", "batches", "meta", "transitions")
_NEVER_CHANGED = ("problem_parcels", "findings", "transitions")
GUARD_TRIGGERS = tuple(
    [g.split('"')[1] for g in _GUARDS]
    + [
        f"{t}_parcelwatch_only_{op.lower()}"
        for t in _WRITER_ONLY
        for op in ("INSERT", "UPDATE", "DELETE")
    ]
    + [f"{t}_never_{op.lower()}" for t in _NEVER_CHANGED for op in ("UPDATE", "DELETE")]
)


def _guard_sql() -> list[str]:
    msgs = {
        "m1": _GUARD_MSG.format(what="a problem is inserted only with its first event"),
        "m2": _GUARD_MSG.format(what="a problem changes only with its event and the next version"),
        "m3": _GUARD_MSG.format(what="problems are never deleted"),
        "m4": _GUARD_MSG.format(what="the events table is append-only"),
        "m5": _GUARD_MSG.format(what="an event must carry the next sequence number of its problem (version + 1)"),
        "m6": _GUARD_MSG.format(what="the first event of a problem is its creation, written with the problem"),
        "m7": _GUARD_MSG.format(what="an event must start from the current status of its problem"),
        "m8": _GUARD_MSG.format(what="that status change is not in the transition table (`parcelwatch ledger transitions`)"),
    }  # fmt: skip
    out = [g.format(**msgs) for g in _GUARDS]
    for t in _WRITER_ONLY:
        msg = f"parcelwatch ledger: table {t} is written only by parcelwatch."
        for op in ("INSERT", "UPDATE", "DELETE"):
            out.append(
                f'CREATE TRIGGER "{t}_parcelwatch_only_{op.lower()}" BEFORE {op} ON "{t}" '
                f"WHEN {_WRITER_FN}() IS NOT 1 BEGIN SELECT RAISE(ABORT, '{msg}'); END"
            )
    for t in _NEVER_CHANGED:
        msg = f"parcelwatch ledger: rows of {t} are never changed or deleted (history)."
        for op in ("UPDATE", "DELETE"):
            out.append(
                f'CREATE TRIGGER "{t}_never_{op.lower()}" BEFORE {op} ON "{t}" BEGIN SELECT RAISE(ABORT, \'{msg}\'); END'
            )
    return out


def _srs_definition() -> str:
    return CRS.from_epsg(SRS_ID).to_wkt("WKT1_GDAL")


def _transition_rows() -> list[tuple[str, str]]:
    pairs = {(t.source.value, t.target.value) for t in TRANSITIONS}
    return sorted(pairs)


def _schema_sql() -> list[str]:
    stmts = list(_GPKG_CORE)

    def feature_table(name: str, cols: Sequence[tuple[str, str]]) -> None:
        body = ", ".join(f'"{c}" {t}' for c, t in cols)
        stmts.append(
            f'CREATE TABLE "{name}" ("fid" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, "geom" MULTIPOLYGON, {body})'
        )
        stmts.append(
            f'CREATE VIRTUAL TABLE "rtree_{name}_geom" USING rtree(id, minx, maxx, miny, maxy)'
        )
        stmts.extend(t.format(t=name) for t in _RTREE_TRIGGERS)

    def attribute_table(name: str, cols: Sequence[tuple[str, str]]) -> None:
        body = ", ".join(f'"{c}" {t}' for c, t in cols)
        stmts.append(
            f'CREATE TABLE "{name}" ("fid" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, {body})'
        )

    pcols = [
        (
            f.name,
            _SQL_TYPE[f.kind]
            + (
                " NOT NULL UNIQUE"
                if f.name == "problem_id"
                else " NOT NULL"
                if f.name in ("version", "status")
                else ""
            ),
        )
        for f in FIELDS
    ]
    feature_table("problems", pcols)
    feature_table("problem_parcels", [(c, t) for c, t, _ in _PARCEL_COLUMNS])
    feature_table("findings", [(c, t) for c, t, _ in _FINDING_COLUMNS])
    attribute_table("events", [(c, t) for c, t, _ in _EVENT_COLUMNS])
    attribute_table("batches", [(c, t) for c, t, _ in _BATCH_COLUMNS])
    attribute_table("meta", [(c, t) for c, t, _ in _META_COLUMNS])
    stmts += [
        'CREATE UNIQUE INDEX "events_problem_seq" ON "events" (problem_id, seq)',
        'CREATE INDEX "problem_parcels_parcel" ON "problem_parcels" (parcel_id, batch)',
        'CREATE INDEX "problem_parcels_problem" ON "problem_parcels" (problem_id)',
        'CREATE INDEX "findings_problem" ON "findings" (problem_id)',
        'CREATE INDEX "problems_status" ON "problems" (status)',
    ]
    stmts.append(
        'CREATE TABLE "transitions" ("from_status" TEXT NOT NULL, "to_status" TEXT NOT NULL, PRIMARY KEY ("from_status", "to_status"))'
    )
    stmts += _guard_sql()
    return stmts


_TABLE_DOCS = {
    "problems": ("features", "问题台账 (one row per problem / site)"),
    "problem_parcels": ("features", "卫片图斑 recorded on each problem, as drawn in each batch"),
    "findings": ("features", "classification findings (building footprints) of each problem"),
    "events": ("attributes", "history of every change (append-only)"),
    "batches": ("attributes", "checked batches (批次)"),
    "meta": ("attributes", "schema version and run records"),
}


def _metadata_rows(con: sqlite3.Connection) -> None:
    con.executemany(
        "INSERT INTO gpkg_spatial_ref_sys VALUES (?,?,?,?,?,?)",
        [
            (
                "Undefined cartesian SRS",
                -1,
                "NONE",
                -1,
                "undefined",
                "undefined cartesian coordinate reference system",
            ),
            (
                "Undefined geographic SRS",
                0,
                "NONE",
                0,
                "undefined",
                "undefined geographic coordinate reference system",
            ),
            (
                "WGS 84 geodetic",
                4326,
                "EPSG",
                4326,
                CRS.from_epsg(4326).to_wkt("WKT1_GDAL"),
                "longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid",
            ),
            (
                "China Geodetic Coordinate System 2000",
                SRS_ID,
                "EPSG",
                SRS_ID,
                _srs_definition(),
                "CGCS2000 longitude/latitude (storage CRS of parcelwatch)",
            ),
        ],
    )
    for table, (dtype, desc) in _TABLE_DOCS.items():
        con.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES (?,?,?,?,?)",
            (table, dtype, table, desc, SRS_ID if dtype == "features" else 0),
        )
        if dtype == "features":
            con.execute(
                "INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', 'MULTIPOLYGON', ?, 0, 0)",
                (table, SRS_ID),
            )
            con.execute(
                "INSERT INTO gpkg_extensions VALUES (?, 'geom', 'gpkg_rtree_index', 'http://www.geopackage.org/spec120/#extension_rtree', 'write-only')",
                (table,),
            )
    con.executemany(
        "INSERT INTO gpkg_extensions VALUES (?, NULL, 'gpkg_schema', 'http://www.geopackage.org/spec/#extension_schema', 'read-write')",
        [("gpkg_data_columns",), ("gpkg_data_column_constraints",)],
    )
    aliases: list[tuple[str, str, str, str]] = [("problems", f.name, f.zh, f.en) for f in FIELDS]
    aliases += [("problem_parcels", c, zh, "") for c, _, zh in _PARCEL_COLUMNS]
    aliases += [("findings", c, zh, "") for c, _, zh in _FINDING_COLUMNS]
    aliases += [("events", c, zh, "") for c, _, zh in _EVENT_COLUMNS]
    aliases += [("batches", c, zh, "") for c, _, zh in _BATCH_COLUMNS]
    con.executemany(
        "INSERT INTO gpkg_data_columns (table_name, column_name, name, title, description) VALUES (?,?,?,?,?)",
        [(t, c, zh, zh, en) for t, c, zh, en in aliases],
    )
    con.executemany(
        "INSERT INTO gpkg_data_column_constraints (constraint_name, constraint_type, value, description) VALUES ('parcelwatch_status', 'enum', ?, ?)",
        [(s.value, s.label_en) for s in Status],
    )
    con.execute(
        "UPDATE gpkg_data_columns SET constraint_name = 'parcelwatch_status' WHERE table_name = 'problems' AND column_name = 'status'"
    )


# ------------------------------------------------------------------------------------------
# GeoPackage store

_jdump = jdump
_column_value = column_value
_conflict = conflict_error
_PROBLEM_COLUMNS = PROBLEM_COLUMNS


def _register_writer(con: sqlite3.Connection) -> None:
    con.create_function(_WRITER_FN, 0, lambda: 1, deterministic=True)


_UNC = ("\\\\", "//")
_NETWORK_FS = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "fuse.sshfs", "afs", "ncpfs", "davfs", "fuse.rclone"}  # fmt: skip


def network_share(path: Path, mounts: str = "/proc/mounts") -> str:
    """Why ``path`` is on a network share ('' when it is on a local disk)."""
    text = str(path)
    if text.startswith(_UNC):
        return f"{text} is a UNC network path"
    try:
        target = os.path.realpath(path)
        best, fstype = "", ""
        with open(mounts, encoding="utf-8") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) >= 3:
                    mount = parts[1].replace("\\040", " ")
                    if (target == mount or target.startswith(mount.rstrip("/") + "/")) and len(
                        mount
                    ) > len(best):
                        best, fstype = mount, parts[2]
    except OSError:
        return ""
    return f"{text} is on a {fstype} network file system ({best})" if fstype in _NETWORK_FS else ""


class GpkgStore(SqlStore, LedgerStore):
    """The ledger in one GeoPackage file (see the module docstring). One office, one disk."""

    def __init__(
        self, path: str | Path, *, busy_timeout_ms: int = 15_000, os_user: str | None = None
    ) -> None:
        self.path = Path(path)
        self.location = str(self.path)
        self.os_user = os_user if os_user is not None else os_user_name()
        if not self.path.is_file():
            raise LedgerError(
                f"No ledger at {self.path}. Create a workspace with `parcelwatch init WS`."
            )
        why = network_share(self.path)
        if why:
            raise LedgerError(
                f"{why}. A GeoPackage ledger must stay on a local disk (SQLite's WAL needs one machine). "
                "For a ledger several offices share, put it on the county's server: `parcelwatch init WS --store postgresql://HOST/DB`."
            )
        self._busy_ms = busy_timeout_ms
        self._conn_options = {"schema_translate_map": {"pw": None}}
        self._engine = sa.create_engine(
            "sqlite://",
            creator=lambda: self._connect(self.path, busy_timeout_ms),
            poolclass=sa.pool.StaticPool,
        )

        @sa.event.listens_for(self._engine, "begin")
        def _begin(conn: sa.Connection) -> None:
            mode = "IMMEDIATE" if conn.get_execution_options().get("pw_write") else "DEFERRED"
            conn.exec_driver_sql(f"BEGIN {mode}")

        self._check_schema()

    # -- connection and schema

    @staticmethod
    def _connect(path: Path, busy_timeout_ms: int) -> sqlite3.Connection:
        try:
            con = sqlite3.connect(
                str(path),
                isolation_level=None,
                timeout=busy_timeout_ms / 1000,
                check_same_thread=False,
            )
            _register_functions(con)
            _register_writer(con)
            con.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            mode = con.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise LedgerError(
                    f"{path}: cannot switch the ledger to WAL journaling (got {mode}). Keep the workspace on a local disk, not a network share."
                )
            con.execute("PRAGMA synchronous = FULL")
        except sqlite3.DatabaseError as exc:
            raise LedgerError(
                f"Cannot open the ledger {path}: {exc}. Is it a parcelwatch ledger (ledger.gpkg) on a local disk?"
            ) from exc
        return con

    def _check_schema(self) -> None:
        with self._engine.connect() as conn:
            self._check_schema_on(conn.connection.driver_connection)

    def _check_schema_on(self, con: Any) -> None:
        try:
            app = con.execute("PRAGMA application_id").fetchone()[0]
            row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise LedgerError(
                f"{self.path} is not a parcelwatch ledger ({exc}). Point to the workspace's ledger.gpkg, or create one with `parcelwatch init WS`."
            ) from exc
        if app != 0x47504B47 or row is None:
            raise LedgerError(
                f"{self.path} is not a parcelwatch ledger. Create one with `parcelwatch init WS`."
            )
        version = int(row[0])
        if version < SCHEMA_VERSION:
            from parcelwatch.ledger.migrate import migrate_gpkg

            migrate_gpkg(self.path, con, version)
        elif version > SCHEMA_VERSION:
            raise LedgerError(
                f"{self.path} has ledger schema version {row[0]}; this parcelwatch reads version {SCHEMA_VERSION}. Use the matching parcelwatch version."
            )

    @classmethod
    def create(
        cls, path: str | Path, *, now: datetime, county_code: str = "", county_name: str = ""
    ) -> GpkgStore:
        """Create an empty ledger at ``path`` (written beside it, then renamed into place)."""
        path = Path(path)
        if path.exists():
            raise LedgerError(
                f"{path} already exists. Open it, or choose another workspace folder."
            )
        why = network_share(path.parent)
        if why:
            raise LedgerError(
                f"{why}. A GeoPackage ledger must stay on a local disk. For a shared ledger use `parcelwatch init WS --store postgresql://HOST/DB`."
            )
        tmp = path.with_name(path.name + ".creating")
        for extra in (
            tmp,
            Path(str(tmp) + "-wal"),
            Path(str(tmp) + "-shm"),
            Path(str(tmp) + "-journal"),
        ):
            if extra.exists():
                extra.unlink()
        try:
            con = sqlite3.connect(str(tmp), isolation_level=None)
            _register_functions(con)
            _register_writer(con)
            con.execute("PRAGMA application_id = 1196444487")  # 'GPKG'
            con.execute("PRAGMA user_version = 10400")  # GeoPackage 1.4
            con.execute("BEGIN")
            for stmt in _schema_sql():
                con.execute(stmt)
            _metadata_rows(con)
            con.executemany(
                "INSERT INTO transitions (from_status, to_status) VALUES (?, ?)",
                _transition_rows(),
            )
            at = now.isoformat(timespec="seconds")
            con.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)",
                [
                    ("schema_version", str(SCHEMA_VERSION)),
                    ("created_at", at),
                    ("county_code", county_code),
                    ("county_name", county_name),
                    ("generator", "parcelwatch"),
                ],
            )
            con.execute("COMMIT")
            con.close()
            commit_file(tmp, path, mode=None)
        except (OSError, sqlite3.DatabaseError) as exc:
            raise LedgerError(
                f"Cannot create the ledger {path}: {exc}. Check the folder is writable and on a local disk."
            ) from exc
        finally:
            if tmp.exists():
                tmp.unlink()
        return cls(path)

    def close(self) -> None:
        self._engine.dispose()

    # -- hooks of SqlStore

    def _after_write(self, conn: sa.Connection) -> None:
        conn.exec_driver_sql(
            "UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE table_name IN ('problems','problem_parcels','findings','events','batches','meta')"
        )

    def _translate(self, exc: sa.exc.DBAPIError) -> ParcelwatchError | None:
        text = str(exc.orig)
        if "locked" in text or "busy" in text:
            return LedgerBusyError(
                f"The ledger {self.path} is busy ({text}); another parcelwatch command or QGIS edit session holds it. "
                "Finish or close that, then run the command again."
            )
        return None

    # -- diagnostics

    def integrity_check(self) -> str:
        """``PRAGMA integrity_check`` ('ok' when the file is sound)."""
        with self._engine.connect() as conn:
            return str(conn.exec_driver_sql("PRAGMA integrity_check").scalar())

    def trigger_names(self) -> set[str]:
        """The triggers in the file (``ledger verify`` checks every guard is there)."""
        with self._engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            return {r[0] for r in rows}

    def table_columns(self) -> dict[str, list[str]]:
        """Columns of every ledger table, as the file has them."""
        out = {}
        with self._engine.connect() as conn:
            for t in (
                "problems",
                "problem_parcels",
                "findings",
                "events",
                "batches",
                "meta",
                "transitions",
            ):
                out[t] = [r[1] for r in conn.exec_driver_sql(f'PRAGMA table_info("{t}")')]
        return out  # fmt: skip

    def stored_transitions(self) -> set[tuple[str, str]]:
        with self._engine.connect() as conn:
            return {tuple(r) for r in conn.exec_driver_sql("SELECT from_status, to_status FROM transitions")}  # type: ignore[misc]  # fmt: skip


def expected_columns() -> dict[str, list[str]]:
    """The columns parcelwatch creates in each ledger table of the GeoPackage."""
    return {
        "problems": ["fid", "geom", *PROBLEM_COLUMNS],
        "problem_parcels": ["fid", "geom", *[c for c, _, _ in _PARCEL_COLUMNS]],
        "findings": ["fid", "geom", *[c for c, _, _ in _FINDING_COLUMNS]],
        "events": ["fid", *[c for c, _, _ in _EVENT_COLUMNS]],
        "batches": ["fid", *[c for c, _, _ in _BATCH_COLUMNS]],
        "meta": ["fid", *[c for c, _, _ in _META_COLUMNS]],
        "transitions": ["from_status", "to_status"],
    }


def open_store(location: str | Path) -> LedgerStore:
    """The ledger at ``location``: a ``postgresql://`` address or a GeoPackage file."""
    text = str(location)
    if text.startswith(("postgresql:", "postgres:")):
        from parcelwatch.ledger.pgstore import PgStore

        return PgStore(text)
    return GpkgStore(text)
