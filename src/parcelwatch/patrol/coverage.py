"""The monthly meeting's three checks (seed 004 六(六)): 巡查是否到位, 台账是否规范, 资料是否完善.

A pure function over stored records (dicts as :class:`~parcelwatch.patrol.records.PatrolBook`
returns them); ``today`` is passed in for the "待核实 after 10 days" count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from parcelwatch.patrol.scheme import Scheme
from parcelwatch.patrol.scoring import LOCAL_TZ, month_bounds, month_of

__all__ = ["VillageCoverage", "coverage", "PENDING_DAYS"]

PENDING_DAYS = 10  # findings still 待核实 this many days after they were found [inferred]


@dataclass(frozen=True)
class VillageCoverage:
    village: str
    group_visits: int
    min_group_visits: int
    patrollers: int
    min_patrollers: int
    village_reports: int
    reports_with_photo: int
    pending_overdue: int
    flags: tuple[str, ...]

    @property
    def photo_share(self) -> float:
        return self.reports_with_photo / self.village_reports if self.village_reports else 0.0


def _local_date(text: str | None) -> date | None:
    if not text:
        return None
    t = datetime.fromisoformat(text)
    return (t.astimezone(LOCAL_TZ) if t.tzinfo else t).date()


def _active(p: Mapping[str, Any], first: date, last: date) -> bool:
    start = date.fromisoformat(p["valid_from"]) if p.get("valid_from") else date.min
    end = date.fromisoformat(p["valid_to"]) if p.get("valid_to") else date.max
    return start <= last and end >= first


def coverage(
    findings: Sequence[Mapping[str, Any]],
    visits: Sequence[Mapping[str, Any]],
    people: Sequence[Mapping[str, Any]],
    scheme: Scheme,
    month: str,
    *,
    today: date,
) -> list[VillageCoverage]:
    """Per village of the scheme: group visits, patrollers, village reports and the flags
    巡查不到位 (visits below the minimum), 村巡查员不足N名, 台账不规范 (a finding of the month
    without place, content or occurrence date), 资料不完善 (a village report without a photo)."""
    first, last = month_bounds(month)
    out = []
    for v in scheme.villages:
        fs = [
            f
            for f in findings
            if f.get("village") == v
            and month_of(
                _local_date(f.get("reported_at") or f.get("complaint_at") or f.get("found_at"))
            )
            == month
        ]
        own = [f for f in fs if f.get("finder_kind") == "village_self"]
        with_photo = sum(1 for f in own if f.get("photos"))
        gv = sum(
            1
            for x in visits
            if x.get("village") == v
            and x.get("by_kind") == "group"
            and month_of(_local_date(x.get("started_at"))) == month
        )
        ppl = sum(
            1
            for p in people
            if p.get("village") == v
            and (p.get("role") or "村巡查员") == "村巡查员"
            and _active(p, first, last)
        )
        overdue = sum(
            1
            for f in fs
            if f.get("verified_result") in (None, "", "待核实")
            and (found := _local_date(f.get("complaint_at") or f.get("found_at"))) is not None
            and today - found > timedelta(days=PENDING_DAYS)
        )
        flags = []
        if gv < scheme.min_group_visits_per_village_month:
            flags.append("巡查不到位")
        if ppl < scheme.min_patrollers_per_village:
            flags.append(f"村巡查员不足{scheme.min_patrollers_per_village}名")
        if any(
            not f.get("place_text")
            or not f.get("content")
            or (f.get("finder_kind") == "village_self" and not f.get("occurred_on"))
            for f in fs
        ):
            flags.append("台账不规范")
        if with_photo < len(own):
            flags.append("资料不完善")
        out.append(
            VillageCoverage(
                v, gv, scheme.min_group_visits_per_village_month, ppl, scheme.min_patrollers_per_village,
                len(own), with_photo, overdue, tuple(flags),
            )
        )  # fmt: skip
    return out
