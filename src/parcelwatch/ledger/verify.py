"""Is the ledger still what parcelwatch wrote? (``parcelwatch ledger verify WS``)

The database guards stop edits made with QGIS or sqlite3/psql, but a person with the file (or the
database owner) can drop a trigger first. :func:`verify_store` finds what such edits leave behind:

* a guard trigger missing, or a column added to a ledger table (GeoPackage); a guard trigger of
  the audited record tables missing, or a record that differs from the replay of its audit events
  (:mod:`parcelwatch.ledger.records`);
* the transition table in the database differing from parcelwatch's;
* events whose problem does not exist (orphans), a problem without events, gaps in ``seq``;
* an event that does not start from the status the previous one ended in, or whose status change
  is not in the transition table (a forged 未整改 -> 已销号);
* an event whose hash does not match the chain (each event stores sha256 of the previous event's
  hash and its own content: a rewritten or deleted event breaks every later one);
* a problem row that differs from the replay of its events.

The fast form (:func:`quick_check`, run before every write, export and map) checks the triggers,
the columns and that every problem's version equals its number of events and its last ``seq``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from parcelwatch.errors import LedgerError
from parcelwatch.ledger.model import TRANSITIONS, apply_event
from parcelwatch.ledger.sqlstore import event_from_row, event_hash, events, problems

__all__ = ["Finding", "VerifyReport", "verify_store", "quick_check", "tamper_warning"]

_PAIRS = {(t.source.value, t.target.value) for t in TRANSITIONS}


@dataclass(frozen=True)
class Finding:
    """One thing wrong: the problem id ('' for the ledger as a whole) and what."""

    problem_id: str
    what: str


@dataclass
class VerifyReport:
    location: str
    findings: list[Finding] = field(default_factory=list)
    problems_checked: int = 0
    events_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def problem_ids(self) -> list[str]:
        return sorted({f.problem_id for f in self.findings if f.problem_id})

    def lines(self, limit: int = 50) -> list[str]:
        if self.ok:
            return [
                f"{self.location}: ledger verified: {self.problems_checked} problems, {self.events_checked} events, "
                "guards in place, hash chain and replay agree."
            ]
        out = [
            f"{self.location}: the ledger was changed outside parcelwatch ({len(self.findings)} findings):"
        ]
        out += [
            f"  - {f.problem_id + ': ' if f.problem_id else ''}{f.what}"
            for f in self.findings[:limit]
        ]
        if len(self.findings) > limit:
            out.append(f"  ... and {len(self.findings) - limit} more")
        if self.problem_ids:
            out.append("Problems affected: " + ", ".join(self.problem_ids))
        out.append(
            "Restore the ledger from a backup (or the migration backup), or ask the county office; "
            "do not keep working on a ledger whose history was edited."
        )
        return out


def _structure(store: Any) -> list[Finding]:
    out: list[Finding] = []
    from parcelwatch.ledger.store import GUARD_TRIGGERS, GpkgStore, expected_columns

    if isinstance(store, GpkgStore):
        have = store.trigger_names()
        out += [
            Finding("", f"guard trigger {t} is missing (dropped)")
            for t in GUARD_TRIGGERS
            if t not in have
        ]
        cols = store.table_columns()
        for table, expected in expected_columns().items():
            extra = [c for c in cols.get(table, []) if c not in expected]
            missing = [c for c in expected if c not in cols.get(table, [])]
            if extra:
                out.append(Finding("", f"table {table} has columns parcelwatch did not create: {', '.join(extra)}"))  # fmt: skip
            if missing:
                out.append(Finding("", f"table {table} lacks columns: {', '.join(missing)}"))
    else:
        from parcelwatch.ledger.pgstore import PG_TRIGGERS

        have = store.trigger_names()
        out += [Finding("", f"guard trigger {t} is missing (dropped)") for t in PG_TRIGGERS if t not in have]  # fmt: skip
    from parcelwatch.ledger.records import missing_guards

    out += [
        Finding("", f"record guard trigger {t} is missing (dropped)") for t in missing_guards(store)
    ]
    stored = store.stored_transitions()
    if stored != _PAIRS:
        added = sorted(stored - _PAIRS)
        out.append(
            Finding(
                "",
                "the transition table in the database was changed"
                + (f" (added: {', '.join(a + '->' + b for a, b in added)})" if added else ""),
            )
        )
    return out


def quick_check(store: Any) -> list[Finding]:
    """The fast form: guards, columns, and version = number of events = last seq per problem."""
    out = _structure(store)
    e = events
    counts = (
        sa.select(e.c.problem_id, sa.func.count().label("n"), sa.func.max(e.c.seq).label("top"))
        .group_by(e.c.problem_id)
        .subquery()
    )
    q = (
        sa.select(problems.c.problem_id, problems.c.version, counts.c.n, counts.c.top)
        .select_from(problems.outerjoin(counts, counts.c.problem_id == problems.c.problem_id))
        .where(
            sa.or_(
                counts.c.n.is_(None),
                counts.c.n != problems.c.version,
                counts.c.top != problems.c.version,
            )
        )
    )
    orphans = (
        sa.select(e.c.problem_id)
        .distinct()
        .where(~sa.exists().where(problems.c.problem_id == e.c.problem_id))
    )
    with store._tx(False) as conn:
        for pid, version, n, top in conn.execute(q):
            out.append(Finding(pid, f"version {version} but {n or 0} events (last seq {top or 0})"))
        for (pid,) in conn.execute(orphans):
            out.append(Finding(pid, "events of a problem that is not in the ledger (orphans)"))
    return out


def _chain(pid: str, rows: list[dict[str, Any]], out: list[Finding]) -> None:
    prev_hash: str | None = None
    prev_to: str | None = None
    for i, r in enumerate(rows, start=1):
        if r["seq"] != i:
            out.append(Finding(pid, f"event seq {r['seq']} where {i} was expected (gap or duplicate)"))  # fmt: skip
            return
        want = event_hash(prev_hash, r)
        if r.get("hash") != want:
            out.append(Finding(pid, f"event {r['seq']} does not match the hash chain (rewritten, inserted or an earlier event removed)"))  # fmt: skip
        if i == 1:
            if r["from_status"] is not None or r["kind"] != "create":
                out.append(Finding(pid, "the first event is not the creation"))
        else:
            if r["from_status"] != prev_to:
                out.append(Finding(pid, f"event {r['seq']} starts from {r['from_status']} but the problem was {prev_to}"))  # fmt: skip
            if (
                r["from_status"] != r["to_status"]
                and (r["from_status"], r["to_status"]) not in _PAIRS
            ):
                out.append(Finding(pid, f"event {r['seq']}: {r['from_status']} -> {r['to_status']} is not an allowed transition (forged)"))  # fmt: skip
        prev_hash = r.get("hash")
        prev_to = r["to_status"]


def verify_store(store: Any) -> VerifyReport:
    """Every check of the module docstring; the report names the problems affected."""
    report = VerifyReport(store.location)
    report.findings += quick_check(store)
    from parcelwatch.ledger.records import missing_guards, record_findings

    report.findings += [
        Finding("", f"record guard trigger {t} is missing (dropped)") for t in missing_guards(store)
    ]
    report.findings += [Finding("", what) for _, what in record_findings(store)]
    rows = store.event_rows()
    by_pid: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_pid[r["problem_id"]].append(r)
    records = {r.problem_id: r for r in store.records(geometry=False)}
    report.problems_checked = len(records)
    report.events_checked = len(rows)
    for pid, evs in sorted(by_pid.items()):
        _chain(pid, evs, report.findings)
        if pid not in records:
            continue
        try:
            rec = None
            for r in evs:
                rec = apply_event(rec, event_from_row(_Row(r)))
        except (LedgerError, ValueError, KeyError) as exc:
            report.findings.append(Finding(pid, f"its events cannot be replayed ({exc})"))
            continue
        if rec != records[pid]:
            diff = [
                k
                for k in records[pid].__dataclass_fields__
                if k != "geometry" and getattr(rec, k) != getattr(records[pid], k)
            ]
            report.findings.append(
                Finding(pid, f"the problem row differs from the replay of its events in: {', '.join(diff)}")
            )  # fmt: skip
    _dedupe(report.findings)
    return report


class _Row:
    def __init__(self, d: dict[str, Any]) -> None:
        self.__dict__.update(d)


def _dedupe(findings: list[Finding]) -> None:
    seen: set[Finding] = set()
    keep = []
    for f in findings:
        if f not in seen:
            seen.add(f)
            keep.append(f)
    findings[:] = keep


def tamper_warning(store: Any) -> str:
    """The fast check as one warning line for pages and exports ('' when the ledger is sound).

    Map and export code put this text visibly on what they write when it is not empty.
    """
    found = quick_check(store)
    if not found:
        return ""
    ids = sorted({f.problem_id for f in found if f.problem_id})
    where = f"（问题 {', '.join(ids[:10])}{' 等' if len(ids) > 10 else ''}）" if ids else ""
    return (
        f"警告：台账在 parcelwatch 之外被改动{where}，本成果可能不可信。请运行 parcelwatch ledger verify 查看详情。"
        f" / WARNING: the ledger was changed outside parcelwatch ({found[0].what}); run `parcelwatch ledger verify`."
    )
