"""Committed monthly scores (``patrol_scores``, SEED-SYSTEMS §B.2) and the quarter from them.

``patrol score --month M --commit`` stores each village's result of the month as a record
(``PS-{yyyymm}-{seq:03d}``) with an audit event; committing the month again overwrites only the
villages whose figures changed, each change an audit event (kind ``recommit``). The quarterly
grade (R7, R8) is read from the committed months; a month not yet committed is computed from the
current findings and named in the notices, and a committed month that no longer equals what the
current findings give is flagged (a finding changed after the commit), so what was published
stays the record and a later edit cannot silently change it.

Scores are stored as exact decimal text; ``vetoed`` as 是/否 (as every record flag).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from parcelwatch.ledger.records import text_table
from parcelwatch.patrol.records import Entity, PatrolBook, register
from parcelwatch.patrol.scheme import Scheme
from parcelwatch.patrol.scoring import (
    MonthResult,
    QuarterResult,
    VillageMonth,
    competition_ranks,
    quarter_months,
    quarterly,
)

__all__ = [
    "SCORE_FIELDS",
    "CommitResult",
    "scheme_digest",
    "commit_month",
    "committed_month",
    "committed_months",
    "quarter_from_committed",
    "month_notices",
]

#: the figures of a village's month, as stored (besides village, month, computed_at, digest)
SCORE_FIELDS = (
    "base", "bonus", "deduction_town", "deduction_district", "deduction_city", "deduction_province",
    "deduction_hotline_petition", "vetoed", "raw", "score", "rank",
)  # fmt: skip

patrol_scores = text_table(
    "patrol_scores",
    "score_id",
    ("village", "month", *SCORE_FIELDS, "computed_at", "scheme_digest"),
)
ENTITY = Entity("patrol_scores", patrol_scores, "score_id")
register(ENTITY, "村(居)月度巡查考评得分 (patrol score --commit)")


def scheme_digest(path: str | Path) -> str:
    """sha256 of the ``patrol.toml`` the scores were computed with (first 16 hex digits)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def _row(v: VillageMonth) -> dict[str, Any]:
    return {
        "village": v.village,
        "month": v.month,
        "base": v.base,
        "bonus": v.bonus,
        "deduction_town": v.deduction_town,
        "deduction_district": v.deduction_district,
        "deduction_city": v.deduction_city,
        "deduction_province": v.deduction_province,
        "deduction_hotline_petition": v.deduction_hotline_petition,
        "vetoed": v.vetoed,
        "raw": v.raw,
        "score": v.score,
        "rank": v.rank,
    }


def _same(stored: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    for k in SCORE_FIELDS:
        a, b = stored.get(k), new[k]
        if isinstance(b, bool):
            if a != ("是" if b else "否"):
                return False
        elif a is None or Decimal(str(a)) != Decimal(str(b)):
            return False
    return True


@dataclass(frozen=True)
class CommitResult:
    month: str
    created: tuple[str, ...]  # new score records
    changed: tuple[str, ...]  # records overwritten (figures differed)
    unchanged: int


def committed_month(book: PatrolBook, month: str) -> dict[str, dict[str, Any]]:
    """village -> its committed score record of ``month`` (empty when not committed)."""
    return {r["village"]: r for r in book.all("patrol_scores") if r["month"] == month}


def committed_months(book: PatrolBook) -> list[str]:
    return sorted({r["month"] for r in book.all("patrol_scores")})


def commit_month(
    book: PatrolBook, result: MonthResult, *, digest: str, user: str, now: datetime
) -> CommitResult:
    """Store ``result`` as the month's scores: new villages inserted (one transaction), changed
    villages overwritten (one transaction, an audit event each), equal ones left alone."""
    stored = committed_month(book, result.month)
    stamp = {"computed_at": now.isoformat(timespec="seconds"), "scheme_digest": digest}
    new_rows: list[dict[str, Any]] = []
    changes: list[tuple[str, dict[str, Any]]] = []
    unchanged = 0
    for v in result.villages:
        row = _row(v)
        old = stored.get(v.village)
        if old is None:
            new_rows.append({**row, **stamp})
        elif _same(old, row) and old.get("scheme_digest") == digest:
            unchanged += 1
        else:
            changes.append((old["score_id"], {**row, **stamp}))
    changed: list[str] = []
    if changes:
        (first_id, first), *rest = changes
        book.update(
            "patrol_scores",
            first_id,
            first,
            user=user,
            now=now,
            kind="recommit",
            extra=[("patrol_scores", rid, ch, "recommit") for rid, ch in rest],
        )
        changed = [rid for rid, _ in changes]
    created: list[str] = []
    if new_rows:
        prefix = f"PS-{result.month.replace('-', '')}-"
        created = book.insert_many(
            "patrol_scores", new_rows, prefix=prefix, width=3, user=user, now=now
        )
    return CommitResult(result.month, tuple(created), tuple(changed), unchanged)


def month_notices(book: PatrolBook, result: MonthResult) -> list[str]:
    """What a month's bulletin should say about the committed record: not committed yet, or
    villages whose committed score differs from ``result`` (records changed after the commit)."""
    stored = committed_month(book, result.month)
    label = f"{int(result.month[:4])}年{int(result.month[5:])}月"
    if not stored:
        return [f"{label}得分尚未提交 (patrol score --month {result.month} --commit)"]
    out = []
    for v in result.villages:
        rec = stored.get(v.village)
        if rec is None:
            out.append(f"{label} {v.village} 无已提交得分")
        elif not _same(rec, _row(v)):
            out.append(
                f"{label} {v.village} 已提交得分 {Decimal(str(rec['score']))} 与按当前记录计算的 {v.score} 不一致（提交后记录有改动）"
            )
    return out


def _score(rec: Mapping[str, Any]) -> Decimal:
    return Decimal(str(rec["score"]))


def quarter_from_committed(
    book: PatrolBook,
    scheme: Scheme,
    quarter: str,
    live: Sequence[MonthResult],
    *,
    committed_only: bool = False,
) -> tuple[list[QuarterResult], list[MonthResult], list[str]]:
    """The quarter (R7, R8) on the committed monthly scores.

    ``live`` are the three months computed from the current findings (:func:`monthly`); a
    village's month uses its committed score when there is one, else the live one (a notice
    names the month, or with ``committed_only`` a :class:`LedgerError` is raised). A committed
    score that differs from the live one is kept and noticed. Returns the quarter results, the
    three months as used (committed figures where committed, ranks recomputed) and the notices.
    """
    from parcelwatch.errors import LedgerError

    months = quarter_months(quarter)
    if [m.month for m in live] != list(months):
        raise ValueError(f"live months {[m.month for m in live]} are not those of {quarter}")
    notes: list[str] = []
    used: list[MonthResult] = []
    for m in live:
        stored = committed_month(book, m.month)
        label = f"{int(m.month[:4])}年{int(m.month[5:])}月"
        if not stored:
            if committed_only:
                raise LedgerError(
                    f"{label} ({m.month}) has no committed scores. Run `parcelwatch patrol score WS --month {m.month} --commit` first."
                )
            notes.append(
                f"{label}得分尚未提交 (patrol score --month {m.month} --commit)，按当前记录计算"
            )
            used.append(m)
            continue
        villages = []
        for v in m.villages:
            rec = stored.get(v.village)
            if rec is None:
                notes.append(f"{label} {v.village} 无已提交得分，按当前记录计算")
                villages.append(v)
                continue
            if not _same(rec, _row(v)):
                notes.append(
                    f"{label} {v.village} 已提交得分 {Decimal(str(rec['score']))} 与按当前记录计算的 {v.score} 不一致"
                    f"（提交后记录有改动；季度按已提交得分，如需更新请重新 --commit）"
                )
            villages.append(_from_record(v, rec))
        ranks = competition_ranks([x.score for x in villages])
        used.append(
            replace(
                m,
                villages=tuple(replace(x, rank=r) for x, r in zip(villages, ranks, strict=True)),
            )
        )
    scores = {v.village: [mm.village(v.village).score for mm in used] for v in used[0].villages}
    return quarterly(scores, scheme), used, notes


def _from_record(v: VillageMonth, rec: Mapping[str, Any]) -> VillageMonth:
    def d(k: str) -> Decimal:
        return Decimal(str(rec[k]))

    return replace(
        v,
        base=d("base"),
        bonus=d("bonus"),
        deduction_town=d("deduction_town"),
        deduction_district=d("deduction_district"),
        deduction_city=d("deduction_city"),
        deduction_province=d("deduction_province"),
        deduction_hotline_petition=d("deduction_hotline_petition"),
        vetoed=rec.get("vetoed") == "是",
        raw=d("raw"),
        score=d("score"),
    )
