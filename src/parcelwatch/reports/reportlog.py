"""The report log (报送记录, SEED-SYSTEMS 0.P4) and sign-offs (0.P3), as audited records.

* ``report_log``: ``report_id`` ``RPT-{seq:06d}``, ``kind``, ``period_start``, ``period_end``,
  ``due_at``, ``submitted_at``, ``submitted_by``, ``recipient``, ``file``, ``sha256``. A report is
  on time when ``submitted_at <= due_at``; a due date given without a time means 23:59:59 local
  time (Asia/Shanghai) [inferred]. A command that writes a periodic report logs it with
  :meth:`ReportLog.log_written` (same kind and period twice: one row, file and hash updated).
* ``signoffs``: ``signoff_id`` ``QZ-{seq:06d}``, ``object_kind`` (campaign_submission, form,
  report), ``object_id``, ``role``, ``name``, ``signed_on``, ``evidence``, ``sha256``.
  :func:`signature_block` gives the lines a form prints: filled when signed, blank otherwise.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from parcelwatch.errors import InputError, SchemaError
from parcelwatch.reports.records import AuditedBook, Entity, register, text_table

__all__ = [
    "ReportLog",
    "LOG",
    "SIGNOFFS",
    "due_datetime",
    "is_late",
    "signature_block",
    "Signature",
]

TZ = ZoneInfo("Asia/Shanghai")
LOG = register(
    Entity(
        "report_log",
        text_table(
            "report_log",
            "report_id",
            (
                "kind",
                "period_start",
                "period_end",
                "due_at",
                "submitted_at",
                "submitted_by",
                "recipient",
                "file",
                "sha256",
            ),
        ),  # fmt: skip
        "report_id",
        (),
        "报送记录",
    )
)
SIGNOFFS = register(
    Entity(
        "signoffs",
        text_table(
            "signoffs",
            "signoff_id",
            ("object_kind", "object_id", "role", "name", "signed_on", "evidence", "sha256"),
        ),
        "signoff_id",
        (),
        "签字记录",
    )
)


def due_datetime(due: date | datetime | str) -> datetime:
    """A due time; a plain date means the end of that day in Asia/Shanghai [inferred]."""
    if isinstance(due, str):
        due = datetime.fromisoformat(due) if "T" in due else date.fromisoformat(due)
    if isinstance(due, datetime):
        return due if due.tzinfo else due.replace(tzinfo=TZ)
    return datetime.combine(due, time(23, 59, 59), tzinfo=TZ)


def is_late(row: dict[str, Any], now: datetime) -> bool:
    """Submitted after its due time, or not submitted and the due time has passed."""
    due = due_datetime(row["due_at"])
    sub = row.get("submitted_at")
    return (due_datetime(sub) > due) if sub else now > due


def _sha256(path: str | Path) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError as exc:
        raise InputError(f"Cannot read {path}: {exc}. Check the file path.") from exc


class ReportLog:
    """The report log and sign-offs of one ledger store."""

    def __init__(self, store: Any) -> None:
        self.book = AuditedBook(store)

    def add(
        self,
        *,
        kind: str,
        due: date | datetime,
        user: str,
        now: datetime,
        period_start: date | None = None,
        period_end: date | None = None,
        submitted: datetime | None = None,
        recipient: str = "",
        file: str | Path | None = None,
    ) -> str:
        if not kind.strip():
            raise SchemaError("--kind is empty (e.g. 周三信息, 回头看进展, 巡察周通报).")
        row = {
            "kind": kind, "period_start": period_start, "period_end": period_end,
            "due_at": due_datetime(due).isoformat(), "recipient": recipient,
            "submitted_at": due_datetime(submitted).isoformat() if submitted else None,
            "submitted_by": user if submitted else None,
            "file": str(file) if file else None, "sha256": _sha256(file) if file else None,
        }  # fmt: skip
        return self.book.insert(LOG.name, row, prefix="RPT-", width=6, user=user, now=now)

    def log_written(
        self,
        *,
        kind: str,
        period_start: date,
        period_end: date,
        due: date | datetime,
        file: str | Path,
        recipient: str,
        user: str,
        now: datetime,
    ) -> str:
        """Log a generated periodic report (not yet submitted); the same kind and period again
        updates that row's file and hash instead of adding one."""
        for r in self.book.all(LOG.name):
            if r["kind"] == kind and r["period_end"] == period_end.isoformat():
                self.book.update(
                    LOG.name,
                    r["report_id"],
                    {"file": str(file), "sha256": _sha256(file)},
                    user=user,
                    now=now,
                )
                return str(r["report_id"])
        return self.add(kind=kind, due=due, user=user, now=now, period_start=period_start,
                        period_end=period_end, recipient=recipient, file=file)  # fmt: skip

    def submit(self, report_id: str, *, at: datetime, user: str, now: datetime) -> bool:
        return self.book.update(
            LOG.name, report_id, {"submitted_at": due_datetime(at).isoformat(), "submitted_by": user},
            user=user, now=now, kind="submit",
        )  # fmt: skip

    def rows(
        self, *, kind: str | None = None, late: bool = False, now: datetime
    ) -> list[dict[str, Any]]:
        out = [r for r in self.book.all(LOG.name) if kind is None or r["kind"] == kind]
        for r in out:
            r["late"] = is_late(r, now)
        return [r for r in out if r["late"]] if late else out

    def sign(
        self,
        *,
        object_kind: str,
        object_id: str,
        role: str,
        name: str,
        signed_on: date,
        user: str,
        now: datetime,
        evidence: str | Path | None = None,
    ) -> str:
        if not (role.strip() and name.strip()):
            raise SchemaError("A sign-off needs the role (e.g. 村支书) and the name.")
        row = {"object_kind": object_kind, "object_id": object_id, "role": role, "name": name,
               "signed_on": signed_on, "evidence": str(evidence) if evidence else None,
               "sha256": _sha256(evidence) if evidence else None}  # fmt: skip
        return self.book.insert(SIGNOFFS.name, row, prefix="QZ-", width=6, user=user, now=now)

    def signoffs(self, object_kind: str, object_id: str) -> list[dict[str, Any]]:
        return [
            s
            for s in self.book.all(SIGNOFFS.name)
            if s["object_kind"] == object_kind and s["object_id"] == object_id
        ]


@dataclass(frozen=True)
class Signature:
    role: str
    name: str = ""
    signed_on: str = ""

    def text(self) -> str:
        """ "村支书：张三　2021-05-24" when signed, "村支书：＿＿＿＿　日期：＿＿＿＿" otherwise."""
        if self.name:
            return f"{self.role}：{self.name}　{self.signed_on}"
        return f"{self.role}：＿＿＿＿＿＿　日期：＿＿＿＿年＿＿月＿＿日"


def signature_block(signoffs: Sequence[dict[str, Any]], roles: Sequence[str]) -> list[Signature]:
    """One line per role: the latest sign-off of that role, or a blank line."""
    out = []
    for role in roles:
        hits = [s for s in signoffs if s["role"] == role]
        if hits:
            s = max(hits, key=lambda s: (str(s.get("signed_on")), s["signoff_id"]))
            out.append(Signature(role, s["name"], str(s.get("signed_on") or "")))
        else:
            out.append(Signature(role))
    return out
