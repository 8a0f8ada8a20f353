"""Versioned schema migrations of the GeoPackage ledger (a backup is written before any change).

Version 1 -> 2: events get ``os_user``, ``hash`` (the hash chain, computed for the existing
history), ``actor`` and ``recorded_at``; the ``transitions`` table and the guards on every ledger
table (see :mod:`parcelwatch.ledger.store`) are installed.

Version 2 -> 3: ``problems`` gets the columns of SEED-SYSTEMS 0.P1 (问题来源, 来源编号, 发现日期 ...,
every :data:`~parcelwatch.ledger.model.FIELDS` column it lacks) with their Chinese aliases; existing
problems and events are untouched (their new fields are empty).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from parcelwatch.errors import LedgerError
from parcelwatch.ledger.sqlstore import EVENT_CONTENT, event_hash

__all__ = ["migrate_gpkg", "backup_path"]

_V1_GUARDS = (
    "problems_need_event_insert",
    "problems_need_event_update",
    "problems_no_delete",
    "events_append_only_update",
    "events_append_only_delete",
)


def backup_path(path: Path, version: int) -> Path:
    """``ledger.schema1-backup.gpkg`` (numbered if that exists)."""
    base = path.with_name(f"{path.stem}.schema{version}-backup{path.suffix}")
    n = 1
    out = base
    while out.exists():
        n += 1
        out = base.with_name(f"{path.stem}.schema{version}-backup-{n}{path.suffix}")
    return out


def migrate_gpkg(path: Path, con: sqlite3.Connection, version: int) -> Path:
    """Migrate the open ledger ``con`` from ``version`` to the current schema; returns the backup."""
    from parcelwatch.ledger.store import _register_writer

    if version not in (1, 2):
        raise LedgerError(
            f"{path} has ledger schema version {version}, which this parcelwatch cannot migrate. Use the matching parcelwatch version."
        )
    backup = backup_path(path, version)
    try:
        target = sqlite3.connect(str(backup))
        with target:
            con.backup(target)
        target.close()
    except sqlite3.DatabaseError as exc:
        raise LedgerError(
            f"Cannot back up {path} to {backup} before migrating it: {exc}. Free disk space and try again; nothing was changed."
        ) from exc
    _register_writer(con)
    try:
        con.execute("BEGIN IMMEDIATE")
        if version == 1:
            _v1_to_v2(con, backup)
        _v2_to_v3(con)
        con.execute("COMMIT")
    except sqlite3.DatabaseError as exc:
        if con.in_transaction:
            con.execute("ROLLBACK")
        raise LedgerError(
            f"Migrating {path} to the current schema failed: {exc}. The file is unchanged; a copy is at {backup}."
        ) from exc
    return backup


def _v2_to_v3(con: sqlite3.Connection) -> None:
    from parcelwatch.ledger.model import FIELDS
    from parcelwatch.ledger.store import _SQL_TYPE

    have = {r[1] for r in con.execute('PRAGMA table_info("problems")')}
    new = [f for f in FIELDS if f.name not in have]
    for f in new:
        con.execute(f'ALTER TABLE problems ADD COLUMN "{f.name}" {_SQL_TYPE[f.kind]}')
    con.executemany(
        "INSERT OR IGNORE INTO gpkg_data_columns (table_name, column_name, name, title, description) VALUES ('problems', ?, ?, ?, ?)",
        [(f.name, f.zh, f.zh, f.en) for f in new],
    )
    con.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")


def _v1_to_v2(con: sqlite3.Connection, backup: Path) -> None:
    from parcelwatch.ledger.store import _EVENT_COLUMNS, _guard_sql, _transition_rows

    for name in _V1_GUARDS:
        con.execute(f'DROP TRIGGER IF EXISTS "{name}"')
    for col in ("os_user", "hash", "actor", "recorded_at"):
        con.execute(f'ALTER TABLE events ADD COLUMN "{col}" TEXT')
    con.execute(
        'CREATE TABLE "transitions" ("from_status" TEXT NOT NULL, "to_status" TEXT NOT NULL, PRIMARY KEY ("from_status", "to_status"))'
    )
    con.executemany("INSERT INTO transitions VALUES (?, ?)", _transition_rows())
    cols = ", ".join(f'"{c}"' for c in EVENT_CONTENT)
    rows = con.execute(f"SELECT fid, {cols} FROM events ORDER BY problem_id, seq").fetchall()
    prev: dict[str, str] = {}
    for r in rows:
        row = dict(zip(EVENT_CONTENT, r[1:], strict=True))
        row["os_user"] = ""
        h = event_hash(prev.get(row["problem_id"]) if row["seq"] > 1 else None, row)
        prev[row["problem_id"]] = h
        con.execute("UPDATE events SET hash = ?, os_user = '' WHERE fid = ?", (h, r[0]))
    for stmt in _guard_sql():
        con.execute(stmt)
    zh = {c: z for c, _, z in _EVENT_COLUMNS}
    con.executemany(
        "INSERT OR IGNORE INTO gpkg_data_columns (table_name, column_name, name, title, description) VALUES ('events', ?, ?, ?, '')",
        [(c, zh[c], zh[c]) for c in ("os_user", "hash", "actor", "recorded_at")],
    )
    con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    con.execute("INSERT INTO meta (key, value) VALUES ('migrated_from_1', ?)", (str(backup.name),))
