"""Checking a batch against the ledger (回头看): load, classify, reconcile, record.

:func:`check_batch` is the whole job the CLI (``parcelwatch check``), the README demo and the
province run call; :class:`CheckSummary` is what it did. The pure parts are
:func:`parcelwatch.rules.classify.classify` and :func:`parcelwatch.ledger.recheck.recheck`; the
one write is :meth:`parcelwatch.ledger.store.LedgerStore.apply` (one transaction).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from threading import Thread
from typing import Any

import pandas as pd

from parcelwatch.errors import InputError, LedgerConflictError
from parcelwatch.ledger.model import class_label
from parcelwatch.ledger.recheck import OUTCOME_ZH, OUTCOMES, recheck
from parcelwatch.ledger.store import BatchInfo
from parcelwatch.ledger.workspace import Workspace, opened
from parcelwatch.pipeline.inputs import classify_inputs, older_objects_frozen
from parcelwatch.pipeline.reference import closed_problem_boxes, load_batch_inputs

__all__ = ["CheckSummary", "check_batch"]


@dataclass
class CheckSummary:
    """What :func:`check_batch` did. ``items``: one row per batch parcel (and per building that
    reopened a problem) with its outcome and problem id; see :class:`RecheckResult`."""

    batch: str
    issued: date
    verify_due: date
    counts: dict[str, int]
    items: pd.DataFrame
    new_ids: list[str]
    same_ids: list[str]
    rebound_ids: list[str]
    events: int
    rules_digest: str
    notes: list[str] = field(default_factory=list)

    def _pivot(self, key: str) -> pd.DataFrame:
        """Parcels per outcome; a reopened problem counts once however many parcels/buildings hit it."""
        items = self.items
        rebound = items["outcome"] == "rebound"
        items = pd.concat([items[~rebound], items[rebound].drop_duplicates("problem_id")])
        if len(items) == 0:
            return pd.DataFrame(columns=list(OUTCOMES))
        t = items.assign(**{key: items[key].replace("", "(未知)")}).pivot_table(
            index=key, columns="outcome", values="source_id", aggfunc="count", fill_value=0
        )
        return t.reindex(columns=list(OUTCOMES), fill_value=0).astype(int)

    def by_class(self) -> pd.DataFrame:
        """Counts of each outcome by candidate class (Chinese labels)."""
        t = self._pivot("candidate_class")
        t.index = [class_label(c) if c != "(未知)" else c for c in t.index]
        t.index.name = "类别"
        return t

    def by_township(self) -> pd.DataFrame:
        """Counts of each outcome by township."""
        t = self._pivot("township_name")
        t.index.name = "乡镇"
        return t

    def lines(self) -> list[str]:
        """A short text report (Chinese outcome names)."""
        c = self.counts
        out = [
            f"批次 {self.batch}（下发 {self.issued.isoformat()}，核查期限 {self.verify_due.isoformat()}）：",
            f"  新增问题 {c['new']}，已在台账 {c['same']}，反弹 {c['rebound']}，重复核对 {c['unchanged']}；写入事件 {self.events} 条",
        ]
        for title, table in (("按类别", self.by_class()), ("按乡镇", self.by_township())):
            if len(table):
                out.append(f"  {title}：")
                for name, row in zip(table.index, table.to_dict("records"), strict=True):
                    parts = "，".join(f"{OUTCOME_ZH[o]} {row[o]}" for o in OUTCOMES if row[o])
                    out.append(f"    {name}：{parts}")
        if self.rebound_ids:
            out.append("  反弹问题：" + "、".join(self.rebound_ids))
        out += [f"  注：{n}" for n in self.notes]
        return out


def _import_record_modules() -> None:
    from parcelwatch.ledger.records import load_record_modules

    try:
        load_record_modules()
    except ImportError:
        pass  # the tamper check imports them again and reports it


@older_objects_frozen()
def check_batch(
    ws: Workspace | str | Path,
    sources: Mapping[str, Any],
    *,
    batch: str,
    now: datetime,
    user: str,
    issued: date | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> CheckSummary:
    """Classify a batch with the workspace rules and reconcile it with the ledger (回头看).

    ``sources`` maps layer roles (parcels, farmland, pbf, greenhouses, buildings, approvals, parks,
    townships, villages) to files (``file`` or ``file:LAYER`` or a LayerSource). All changes are
    applied in one transaction; checking the same batch again changes nothing.
    ``progress(done, total)`` follows the recording; ``on_stage(name)`` is called as each stage
    starts (the CLI renders both).
    """
    stage = on_stage or (lambda _name: None)

    if "parcels" not in sources or sources["parcels"] is None:
        raise InputError("check_batch needs the batch's parcels layer (--parcels).")
    # the record types' modules, which the ledger's check before its first write reads, are
    # imported beside the layers' loading (which waits on GDAL and GEOS, not on Python)
    Thread(target=_import_record_modules, daemon=True).start()
    with opened(ws) as w:
        rules = w.rules
        stage("读取图层")
        # layers given here win; the other roles come from the registered reference layers,
        # read by the extents of the batch's parcels (and of closed problems, for rebounds)
        closed_at_start = w.store.snapshot()
        inputs = load_batch_inputs(
            w.path,
            sources,
            rules=rules,
            extra_building_boxes=lambda crs: closed_problem_boxes(closed_at_start, crs),
        )
        stage("叠加分析与分类")
        result = classify_inputs(inputs, rules=rules)
        for attempt in (1, 2):
            try:
                return _reconcile(
                    w,
                    inputs,
                    result,
                    batch=batch,
                    now=now,
                    user=user,
                    issued=issued,
                    progress=progress,
                    stage=stage,
                )
            except LedgerConflictError as exc:
                # Someone changed the ledger between our read and our write: read it again and
                # redo the reconciliation once; a second loss is reported with the right advice.
                if attempt == 2:
                    raise LedgerConflictError(
                        f"The ledger was changed by someone else while the check of batch {batch} ran ({exc}). "
                        "Nothing of this check was recorded. Run the same check again: it reads the current ledger "
                        "(checking a batch twice changes nothing)."
                    ) from exc
    raise AssertionError("unreachable")  # pragma: no cover


def _reconcile(
    w: Workspace,
    inputs: Any,
    result: Any,
    *,
    batch: str,
    now: datetime,
    user: str,
    issued: date | None,
    progress: Callable[[int, int], None] | None,
    stage: Callable[[str], None] = lambda _name: None,
) -> CheckSummary:
    """Read the ledger, reconcile the classified batch with it and record the changes."""
    stage("回头看核对")
    rules = w.rules
    snap = w.store.snapshot()
    rc = recheck(
        result,
        snap,
        batch=batch,
        now=now,
        rules=rules,
        issued=issued,
        buildings=inputs.get("buildings"),
    )
    notes = [
        *(f"WARNING: {n}" for n in inputs.notices),
        *inputs.notes,
        *result.notes,
        *rc.notes,
        *(f"rule {rid} did not run: {why}" for rid, why in result.skipped),
    ]
    layer_batches = (
        result.parcels["batch"].dropna().astype(str).unique().tolist()
        if "batch" in result.parcels
        else []
    )
    if layer_batches and batch not in layer_batches:
        notes.append(
            f"the parcels' own 批次 field says {', '.join(layer_batches[:3])}, not {batch}; check --batch"
        )
    counts = rc.counts()
    known = set(w.store.batches()["batch"]) if rc.changes == [] else set()
    events = 0
    ids: list[str | None] = []
    if rc.changes or batch not in known:
        stage("写入台账")
        info = BatchInfo(
            batch,
            rc.issued,
            rc.year,
            rc.verify_due,
            int(len(result.parcels)),
            counts,
            result.rules_digest,
            {
                **{role: str(getattr(rep, "where", "")) for role, rep in inputs.reports.items()},
                # the loader's data-quality notices, kept with the batch record
                **({"notices": "\n".join(inputs.notices)} if inputs.notices else {}),
            },
        )
        applied = w.store.apply(
            rc.changes,
            user=user,
            now=now,
            batch=info,
            rules_digest=result.rules_digest,
            progress=progress,
        )
        events = len(applied.events)
        ids = applied.problem_ids
    items = rc.items.copy()
    if ids:
        idx = items["change_index"].to_numpy()
        new_rows = (items["outcome"] == "new").to_numpy() & (idx >= 0)
        items.loc[new_rows, "problem_id"] = [ids[i] for i in idx[new_rows]]
    same_ids = sorted(set(items.loc[items["outcome"] == "same", "problem_id"]))
    return CheckSummary(
        batch,
        rc.issued,
        rc.verify_due,
        counts,
        items,
        new_ids=[str(p) for p in items.loc[items["outcome"] == "new", "problem_id"]],
        same_ids=[str(p) for p in same_ids],
        rebound_ids=sorted(
            {str(p) for p in items.loc[items["outcome"] == "rebound", "problem_id"]}
        ),
        events=events,
        rules_digest=result.rules_digest,
        notes=notes,
    )
