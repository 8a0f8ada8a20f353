"""``WS/acceptance.toml``: the manual answers, overrides and the records the ledger lacks (§D.3).

Sections:

* ``[period]`` ``start``, ``end`` (dates), ``batches`` (item 5.2);
* ``[manual."ID"]`` answers: ``done = true|false``, ``level = "..."`` (tiered items), 1.1
  ``present = N``, 2.3 ``party_instruction/gov_instruction/meeting``, 6.2.1 ``plan_with_main_leader``;
* ``[override."ID"]`` ``score`` and ``reason`` (the reason is required and shown on the form);
* ``[records]`` ``map_run``, ``parks_layer``, ``signoffs = [roles]``, ``sanctions``, ``cases``;
* ``[[document]]`` (kind, title, leader_role), ``[[report]]`` (kind, due, submitted),
  ``[[complaint]]`` (channel, resolved, major_impact), ``[problem."ID"]`` facts
  (debris_cleared, reclaimed, omitted_in_survey, special_account, funds_suspected_wan, doubtful).

Until the document register, report log, complaints and sign-off tables exist in the store, those
records are read from this file.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import tomllib

from parcelwatch.acceptance.score import (
    AcceptanceData,
    Complaint,
    Document,
    ProblemFacts,
    ReportEntry,
)
from parcelwatch.errors import ConfigError, InputError

__all__ = ["load_answers"]

_YES_NO = ("是", "否", "")


def _date(where: str, v: Any) -> date:
    if isinstance(v, date):
        return v
    try:
        return date.fromisoformat(str(v))
    except ValueError as exc:
        raise ConfigError(f"{where}: {v!r} is not a date; write it like 2019-03-20.") from exc


def _decimal(where: str, v: Any) -> Decimal:
    try:
        return Decimal(str(v))
    except InvalidOperation as exc:
        raise ConfigError(f"{where}: {v!r} is not a number.") from exc


def _facts(path: Path, pid: str, raw: dict[str, Any], base: ProblemFacts) -> ProblemFacts:
    w = f'{path} [problem."{pid}"]'
    kw: dict[str, Any] = {}
    for key in ("debris_cleared", "reclaimed", "omitted_in_survey", "special_account"):
        if key in raw:
            v = str(raw[key])
            if v not in _YES_NO:
                raise ConfigError(f"{w} {key} = {v!r}: write 是 or 否.")
            kw[key] = v
    if "funds_suspected_wan" in raw:
        kw["funds_suspected_wan"] = _decimal(f"{w} funds_suspected_wan", raw["funds_suspected_wan"])
    if "doubtful" in raw:
        kw["doubtful"] = bool(raw["doubtful"])
    unknown = set(raw) - {*kw, "doubtful"}
    if unknown:
        raise ConfigError(f"{w}: unknown key(s) {', '.join(sorted(unknown))}.")
    return replace(base, **kw)  # the store's facts (funds) kept unless the file sets them


def load_answers(path: Path, data: AcceptanceData) -> AcceptanceData:
    """``data`` completed with the answers file at ``path`` (absent file: ``data`` unchanged)."""
    path = Path(path)
    if not path.exists():
        return data
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a valid UTF-8 TOML file ({exc}).") from exc
    period = raw.get("period", {})
    records = raw.get("records", {})
    overrides: dict[str, tuple[Decimal, str]] = {}
    for iid, o in raw.get("override", {}).items():
        w = f'{path} [override."{iid}"]'
        if "score" not in o or not str(o.get("reason", "")).strip():
            raise ConfigError(f"{w}: needs score and a reason (the reason is shown on the form).")
        overrides[iid] = (_decimal(f"{w} score", o["score"]), str(o["reason"]).strip())
    docs = [
        Document(str(d["kind"]), str(d.get("title", "")), str(d.get("leader_role", "")))
        for d in raw.get("document", [])
    ]
    reports = [
        ReportEntry(
            str(r["kind"]),
            _date(f"{path} [[report]] {n} due", r["due"]),
            _date(f"{path} [[report]] {n} submitted", r["submitted"])
            if r.get("submitted")
            else None,
        )
        for n, r in enumerate(raw.get("report", []), start=1)
    ]
    complaints = [
        Complaint(
            str(c["channel"]),
            bool(c.get("resolved", False)),
            bool(c.get("major_impact", False)),
            str(c.get("ref", "")),
        )
        for c in raw.get("complaint", [])
    ]
    facts = dict(data.facts)
    for pid, f in raw.get("problem", {}).items():
        facts[pid] = _facts(path, pid, f, facts.get(pid, ProblemFacts()))
    return replace(
        data,
        facts=facts,
        batches=tuple(period.get("batches", data.batches)),
        period_start=_date(f"{path} [period] start", period["start"])
        if "start" in period
        else data.period_start,
        period_end=_date(f"{path} [period] end", period["end"])
        if "end" in period
        else data.period_end,
        map_run=bool(records.get("map_run", data.map_run)),
        parks_layer=bool(records.get("parks_layer", data.parks_layer)),
        signoff_roles=frozenset(records.get("signoffs", data.signoff_roles)),
        sanctions=int(records.get("sanctions", data.sanctions)),
        cases=int(records.get("cases", data.cases)),
        documents=[*data.documents, *docs],
        reports=[*data.reports, *reports],
        complaints=[*data.complaints, *complaints],
        manual={**data.manual, **raw.get("manual", {})},
        overrides={**data.overrides, **overrides},
    )
