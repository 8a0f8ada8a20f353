"""Move a ledger between stores with ids, versions and the full history (``parcelwatch store copy``).

:func:`copy_ledger` replays the source's events into the target, one problem at a time, through
the target's own guards: the first event then the problem row, each later event then the row at
that version. Event rows keep their time, ``--user``, OS user and hash, so the hash chain verifies
on the target. A problem the target already has is continued from its version when its events
agree with the source's (so a second run changes nothing); one that differs is refused by id.
Batch parcels, findings, batches and meta keys the target lacks are added, and the audited records
(patrol, 两违, reports, acceptance; :func:`parcelwatch.ledger.records.copy_records`) with their
audit history. All in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from parcelwatch.errors import LedgerConflictError, LedgerError
from parcelwatch.ledger.model import apply_event
from parcelwatch.ledger.sqlstore import (
    EVENT_CONTENT,
    PROBLEM_COLUMNS,
    SqlStore,
    batches,
    column_value,
    event_from_row,
    events,
    findings,
    meta,
    problem_parcels,
    problems,
)

__all__ = ["CopyResult", "copy_ledger"]

_LOCAL_META = {"schema_version", "created_at", "generator", "migrated_from_1"}


class _Row:
    def __init__(self, d: dict[str, Any]) -> None:
        self.__dict__.update(d)


@dataclass
class CopyResult:
    problems_added: int = 0
    events_added: int = 0
    parcels_added: int = 0
    findings_added: int = 0
    batches_added: int = 0
    record_events_added: int = 0

    @property
    def changed(self) -> bool:
        return any(vars(self).values())

    def line(self) -> str:
        if not self.changed:
            return "Nothing to copy: the target already has every problem, event, parcel and batch."
        return (
            f"Copied {self.problems_added} new problems, {self.events_added} events, {self.parcels_added} batch parcels, "
            f"{self.findings_added} findings, {self.batches_added} batches and "
            f"{self.record_events_added} record changes (patrol, 两违, reports, acceptance records)."
        )


def _rows(conn: sa.Connection, table: sa.Table) -> list[dict[str, Any]]:
    cols = [c for c in table.c if c.name != "fid"]
    return [dict(r._mapping) for r in conn.execute(sa.select(*cols).order_by(table.c.fid))]


def copy_ledger(source: SqlStore, target: SqlStore) -> CopyResult:
    """Copy everything ``target`` lacks from ``source`` (see the module docstring)."""
    src_events = source.event_rows()
    with source._tx(False) as conn:
        src_geom = {
            r.problem_id: r.geom
            for r in conn.execute(sa.select(problems.c.problem_id, problems.c.geom))
        }
        src_parcels = _rows(conn, problem_parcels)
        src_findings = _rows(conn, findings)
        src_batches = _rows(conn, batches)
        src_meta = {r["key"]: r["value"] for r in _rows(conn, meta)}
    by_pid: dict[str, list[dict[str, Any]]] = {}
    for r in src_events:
        by_pid.setdefault(r["problem_id"], []).append(r)
    from parcelwatch.ledger.records import copy_records, prepare_copy

    prepare_copy(source, target)
    result = CopyResult()
    with target._tx(True) as conn:
        target._serialise(conn, "create")
        dst_meta = {r["key"]: r["value"] for r in _rows(conn, meta)}
        if (
            src_meta.get("county_code")
            and dst_meta.get("county_code")
            and src_meta["county_code"] != dst_meta["county_code"]
        ):
            raise LedgerError(
                f"The source ledger is county {src_meta['county_code']}, the target {target.location} county {dst_meta['county_code']}. "
                "Copy into the ledger of the same county."
            )
        have: dict[str, list[str | None]] = {}
        for pid, _seq, h in conn.execute(
            sa.select(events.c.problem_id, events.c.seq, events.c.hash).order_by(
                events.c.problem_id, events.c.seq
            )
        ):
            have.setdefault(pid, []).append(h)
        for pid, evs in sorted(by_pid.items()):
            done = have.get(pid, [])
            if len(done) > len(evs) or done != [e["hash"] for e in evs[: len(done)]]:
                raise LedgerConflictError(
                    f"Problem {pid} has a different history in {target.location} than in {source.location} "
                    f"({len(done)} events there, {len(evs)} here). Nothing was copied; decide which ledger is right and copy that one."
                )
            record = None
            for e in evs[: len(done)]:
                record = apply_event(record, event_from_row(_Row(e)))
            for e in evs[len(done) :]:
                record = apply_event(record, event_from_row(_Row(e)))
                conn.execute(
                    sa.insert(events).values(**{c: e[c] for c in EVENT_CONTENT}, hash=e["hash"])
                )
                values = {c: column_value(c, getattr(record, c)) for c in PROBLEM_COLUMNS}
                if e["seq"] == 1:
                    conn.execute(sa.insert(problems).values(geom=src_geom.get(pid), **values))
                    result.problems_added += 1
                else:
                    conn.execute(
                        sa.update(problems).where(problems.c.problem_id == pid).values(**values)
                    )
                result.events_added += 1
        for table, rows, key, attr in (
            (problem_parcels, src_parcels, ("problem_id", "parcel_id", "batch", "role"), "parcels_added"),
            (findings, src_findings, ("problem_id", "parcel_id", "batch", "footprint_id", "rule_id"), "findings_added"),
            (batches, src_batches, ("batch",), "batches_added"),
        ):  # fmt: skip
            present = {tuple(r) for r in conn.execute(sa.select(*[table.c[k] for k in key]))}
            new = [r for r in rows if tuple(r[k] for k in key) not in present]
            if new:
                conn.execute(sa.insert(table), new)
                setattr(result, attr, getattr(result, attr) + len(new))
        missing = {k: v for k, v in src_meta.items() if k not in dst_meta and k not in _LOCAL_META}
        for k, v in missing.items():
            conn.execute(sa.insert(meta).values(key=k, value=v))
        for k in ("county_code", "county_name"):
            if src_meta.get(k) and not dst_meta.get(k):
                conn.execute(sa.update(meta).where(meta.c.key == k).values(value=src_meta[k]))
        result.record_events_added = copy_records(source, target, conn)
        if result.changed:
            target._after_write(conn)
    return result
