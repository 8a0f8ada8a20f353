"""A 两违 case sent to the land ledger (``violations to-ledger``, SEED-SYSTEMS §A.5).

The case becomes a ledger problem through the same path as ``ledger add --source 两违
--source-ref LW-…`` (:func:`parcelwatch.ledger.add.add_problem`): its polygon (or point), its
township and village, 发现日期 = the case's local ``found_at`` date, 位置描述 = its address; with
reference layers (三调 land use, 永久基本农田 ...) the 违法占用耕地 figures come from the same
overlay ``check`` runs. The link is stored on both sides: the problem's ``source_ref`` is the
case id and the case gets ``ledger_problem_id`` (audited).

The two writes are transactions of two record kinds; sending again after a failure between them
finds the problem by its ``source_ref`` and only sets the case's link.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import shapely

from parcelwatch.config import DEFAULT_RULES, Rules
from parcelwatch.errors import GeometryError, LedgerError
from parcelwatch.ledger.add import NewProblem, add_problem
from parcelwatch.patrol.records import RecordBook
from parcelwatch.violations.cases import _local_date

__all__ = ["case_to_ledger"]


def case_to_ledger(
    store: Any,
    book: RecordBook,
    case_id: str,
    *,
    township: str = "",
    reference: Mapping[str, Any] | None = None,
    rules: Rules = DEFAULT_RULES,
    user: str,
    now: datetime,
) -> str:
    """Create the ledger problem of a 两违 case (未核查, source 两违) and link both ways.

    ``reference``: loaded reference layers by role, in one working CRS (as
    :func:`parcelwatch.pipeline.load_inputs` returns them), for the overlay; ``None``: areas only."""
    case = book.get("violation_cases", case_id)
    if case.get("ledger_problem_id"):
        raise LedgerError(
            f"{case_id} is already in the land ledger as {case['ledger_problem_id']}."
        )
    if case.get("status") == "不属实":
        raise LedgerError(
            f"{case_id} was found 不属实; only a real case goes into the land ledger."
        )
    existing = [r.problem_id for r in store.records() if r.source_ref == case_id]
    if existing:
        pid = existing[0]
    else:
        wkt = case.get("geom_wkt")
        if not wkt:
            raise GeometryError(
                f"{case_id} has no place. Draw the site and store it on the case first "
                "(violations compare records the parcel), or add the problem with `parcelwatch ledger add --source 两违`."
            )
        geom = shapely.from_wkt(wkt)
        town = township or case.get("township_name") or case.get("township_code") or ""
        if not town:
            raise LedgerError(
                f"{case_id} has no township; pass --township (乡镇 name or 9-digit code)."
            )
        point = geom.geom_type == "Point"
        fields = {"source_ref": case_id}
        if case.get("address"):
            fields["place_text"] = case["address"]
        new = NewProblem(
            "两违",
            town,
            case.get("village_name") or case.get("village_code") or "",
            None if point else geom,
            geom.x if point else None,
            geom.y if point else None,
            _local_date(case.get("found_at")),
            fields,
            f"两违案件 {case_id}（{case.get('found_by') or ''}）",
        )
        pid = add_problem(
            store, new, user=user, now=now, rules=rules, reference=None if point else reference
        )
    book.update(
        "violation_cases",
        case_id,
        {"ledger_problem_id": pid},
        user=user,
        now=now,
        kind="to_ledger",
    )
    return pid
