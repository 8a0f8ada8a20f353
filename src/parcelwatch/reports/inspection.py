"""The 巡察整改 report (SEED-SYSTEMS §E2, seed 001): feedback items -> measures, the responsible
leader and unit, a dated action log, and the figures as of a date with 整改完成率 in whole percent,
rounded half-up (2 of 3 -> 67%).

Records (each insert or change with an audit event, :mod:`parcelwatch.reports.records`):

* ``inspection_items`` (巡察整改事项) ``XCZG-{year}-{seq:03d}``;
* ``inspection_actions`` (整改进展记录) ``XCJZ-{year}-{seq:04d}``: the dated actions of an item;
* ``documents`` (a minimal 0.P6 document register) ``WJ-{year}-{seq:04d}``: the 规章制度 counted as
  "修订完善各类规章制度N项" when tagged with the feedback reference.

**As of a date D** (decision where the spec is silent): an item's state is its audit history
replayed up to the end of D (Asia/Shanghai), so later edits never change a past report. Items
entered *after* D (back-filled, e.g. a campaign typed in afterwards) have no state at D; they are
taken in their current state, and the business dates still decide: an item counts only if its
feedback came on or before D, is done only if it was completed on or before D, and the report
says how many items were back-filled.

**Link to the ledger** [inferred, SEED-SYSTEMS T-E2-08]: an item linked to ledger problems is
shown 反弹 (and not counted done) while any of them is 反弹 as of D; an item with no status of its
own (未整改/整改中) whose linked problems are all closed (已销号, 合法, 其他) as of D counts as
完成 on the latest closing date.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from parcelwatch.errors import LedgerError, SchemaError
from parcelwatch.reports.records import (
    AuditedBook,
    Entity,
    register,
    text_table,
)
from parcelwatch.reports.records import schema_sql as _records_schema_sql
from parcelwatch.reports.rounding import half_up, percent_text, rate

__all__ = [
    "ITEM_SOURCES",
    "ITEM_STATUSES",
    "InspectionBook",
    "ItemState",
    "InspectionFigures",
    "inspection_figures",
    "figure_sentence",
    "unit_lines",
    "write_inspection_xlsx",
    "inspection_markdown",
    "schema_sql",
    "figures_as_of",
    "WEEKLY_KIND",
    "week_period",
    "weekly_rows",
    "write_weekly_xlsx",
    "write_inspection_weekly",
]

ITEM_SOURCES = ("巡察", "巡视", "督察", "审计", "其他")
ITEM_STATUSES = ("未整改", "整改中", "已完成")
DONE = "已完成"
REBOUND = "反弹"
TZ = "Asia/Shanghai"

_ITEM_COLS = (
    "unit", "source", "feedback_ref", "feedback_on", "aspect", "problem_no", "title", "description",
    "typical_case", "measures", "responsible_leader", "responsible_unit", "due", "status",
    "completed_on", "closed_on", "decision_ref", "problem_ids", "note",
)  # fmt: skip
ITEMS = register(
    Entity(
        "inspection_items",
        text_table("inspection_items", "item_id", _ITEM_COLS),
        "item_id",
        ("measures", "problem_ids"),
        "巡察整改事项",
    )
)
ACTIONS = register(
    Entity(
        "inspection_actions",
        text_table("inspection_actions", "action_id", ("item_id", "on_date", "text", "evidence")),
        "action_id",
        (),
        "巡察整改进展记录",
    )
)
DOCUMENTS = register(
    Entity(
        "documents",
        text_table(
            "documents", "doc_id", ("kind", "title", "ref", "issued_on", "issuer", "tags", "file")
        ),
        "doc_id",
        ("tags",),
        "文件登记 (方案、制度、批示、会议)",
    )
)


def schema_sql(dialect: str) -> list[str]:
    """DDL of the record tables (PostgreSQL ``store init``; see :mod:`parcelwatch.reports.records`)."""
    return _records_schema_sql(dialect)


def _add_months(d: date, months: int) -> date:
    m = d.month - 1 + months
    y, m = d.year + m // 12, m % 12 + 1
    return date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def _date(text: Any) -> date | None:
    if text in (None, ""):
        return None
    return text if isinstance(text, date) else date.fromisoformat(str(text)[:10])


def _local_day(at: str) -> date:
    return datetime.fromisoformat(at).astimezone(ZoneInfo(TZ)).date()


class InspectionBook:
    """巡察整改 items, their actions and documents in one ledger store."""

    def __init__(self, store: Any) -> None:
        self.book = AuditedBook(store)

    # -- writing

    def add_item(
        self,
        *,
        unit: str,
        feedback_ref: str,
        feedback_on: date,
        aspect: str,
        problem_no: int,
        title: str,
        measures: Sequence[str],
        responsible_leader: str,
        responsible_unit: str,
        user: str,
        now: datetime,
        source: str = "巡察",
        description: str = "",
        typical_case: str = "",
        due: date | None = None,
        problem_ids: Sequence[str] = (),
        inspection_months: int = 4,
    ) -> str:
        """Record one feedback problem; ``due`` defaults to ``feedback_on`` + 4 months [inferred]."""
        if source not in ITEM_SOURCES:
            raise SchemaError(
                f"来源 (--source) {source!r} is not one of {'、'.join(ITEM_SOURCES)}."
            )
        for name, value in (
            ("--aspect", aspect),
            ("--title", title),
            ("--feedback-ref", feedback_ref),
        ):
            if not str(value).strip():
                raise SchemaError(
                    f"{name} is empty; every 巡察 problem names its 方面, title and feedback."
                )
        ms = [m.strip() for m in measures if m.strip()]
        if not ms:
            raise SchemaError(
                "Give at least one 整改措施 (--measure); they are counted as 制定整改措施N项."
            )
        if problem_no < 1:
            raise SchemaError(f"--no {problem_no}: the problem's number in the report starts at 1.")
        if problem_ids:
            known = {
                r.problem_id for r in self.book.store.records(list(problem_ids), geometry=False)
            }
            missing = [p for p in problem_ids if p not in known]
            if missing:
                raise LedgerError(
                    f"--problem {', '.join(missing)}: no such problem in the ledger. Add it first with `parcelwatch ledger add`."
                )
        row = {
            "unit": unit, "source": source, "feedback_ref": feedback_ref, "feedback_on": feedback_on,
            "aspect": aspect, "problem_no": str(problem_no), "title": title, "description": description,
            "typical_case": typical_case, "measures": ms, "responsible_leader": responsible_leader,
            "responsible_unit": responsible_unit,
            "due": due or _add_months(feedback_on, inspection_months), "status": "未整改",
            "problem_ids": list(problem_ids),
        }  # fmt: skip
        return self.book.insert(
            ITEMS.name, row, prefix=f"XCZG-{feedback_on.year}-", width=3, user=user, now=now
        )

    def add_action(
        self, item_id: str, *, on: date, text: str, user: str, now: datetime, evidence: str = ""
    ) -> str:
        """A dated action of an item (整改进展)."""
        self.book.get(ITEMS.name, item_id)
        if not text.strip():
            raise SchemaError("--text is empty: say what was done on that day.")
        return self.book.insert(
            ACTIONS.name,
            {"item_id": item_id, "on_date": on, "text": text.strip(), "evidence": evidence},
            prefix=f"XCJZ-{on.year}-",
            width=4,
            user=user,
            now=now,
        )

    def set_item(
        self,
        item_id: str,
        *,
        user: str,
        now: datetime,
        status: str | None = None,
        completed_on: date | None = None,
        closed_on: date | None = None,
        decision_ref: str | None = None,
        due: date | None = None,
        note: str | None = None,
        problem_ids: Sequence[str] | None = None,
    ) -> bool:
        """Change an item; 已完成 needs its completion date (T-E2-06)."""
        cur = self.book.get(ITEMS.name, item_id)
        changes: dict[str, Any] = {}
        if status is not None:
            if status not in ITEM_STATUSES:
                raise SchemaError(f"--status {status!r}: use one of {'、'.join(ITEM_STATUSES)}.")
            changes["status"] = status
        if completed_on is not None:
            changes["completed_on"] = completed_on
        for k, v in (
            ("closed_on", closed_on),
            ("decision_ref", decision_ref),
            ("due", due),
            ("note", note),
        ):
            if v is not None:
                changes[k] = v
        if problem_ids is not None:
            changes["problem_ids"] = list(problem_ids)
        final_status = changes.get("status", cur["status"])
        final_done = changes.get("completed_on", cur["completed_on"])
        if final_status == DONE and not final_done:
            raise SchemaError(
                f"{item_id}: 已完成 needs the completion date (--completed 2024-12-20). Nothing was changed."
            )
        if final_status != DONE and "completed_on" in changes:
            raise SchemaError(
                f"{item_id}: --completed is only for --status 已完成. Nothing was changed."
            )
        return self.book.update(ITEMS.name, item_id, changes, user=user, now=now)

    def add_document(
        self, *, kind: str, title: str, issued_on: date, user: str, now: datetime,
        ref: str = "", issuer: str = "", tags: Sequence[str] = (), file: str = "",
    ) -> str:  # fmt: skip
        if not title.strip() or not kind.strip():
            raise SchemaError("A document needs --kind and --title.")
        return self.book.insert(
            DOCUMENTS.name,
            {"kind": kind, "title": title, "ref": ref, "issued_on": issued_on, "issuer": issuer,
             "tags": list(tags), "file": file},
            prefix=f"WJ-{issued_on.year}-", width=4, user=user, now=now,
        )  # fmt: skip

    # -- reading as of a date

    def state_as_of(self, entity: str, as_of: date) -> tuple[list[dict[str, Any]], int]:
        """Records as of the end of ``as_of`` (see the module docstring) and how many were back-filled."""
        kept = self.book.replay(entity, until=lambda ev: _local_day(ev["at"]) <= as_of)
        known = {r[ENTITY_ID[entity]] for r in kept}
        late = [r for r in self.book.all(entity) if r[ENTITY_ID[entity]] not in known]
        return kept + late, len(late)


ENTITY_ID = {e.name: e.id_col for e in (ITEMS, ACTIONS, DOCUMENTS)}


# ------------------------------------------------------------------------------------------
# Figures (pure)


@dataclass(frozen=True)
class ItemState:
    """One item as of the report date."""

    item: Mapping[str, Any]
    status: str  # 已完成 / 整改中 / 未整改 / 反弹
    done: bool
    completed_on: date | None
    overdue: bool
    actions: tuple[Mapping[str, Any], ...] = ()
    note: str = ""


@dataclass(frozen=True)
class InspectionFigures:
    as_of: date
    feedback_ref: str
    feedback_on: date | None
    unit: str
    items: tuple[ItemState, ...]
    aspects: int
    problems: int
    measures: int
    done: int
    in_progress: int
    regulations: int
    overdue: int
    backfilled: int = 0
    units: tuple[tuple[str, str, int, int, int, int, bool], ...] = field(default=())

    @property
    def rate_text(self) -> str:
        """整改完成率 in whole percent, half-up ("67%")."""
        return percent_text(self.done, self.problems, 0)

    @property
    def rate_value(self) -> float | None:
        r = rate(self.done, self.problems)
        return None if r is None else float(half_up(r, 4))


_CLOSED_LEDGER = ("已销号", "合法", "其他")


def inspection_figures(
    items: Sequence[Mapping[str, Any]],
    actions: Sequence[Mapping[str, Any]],
    documents: Sequence[Mapping[str, Any]],
    *,
    as_of: date,
    problems: Mapping[str, Any] | None = None,
    feedback_ref: str | None = None,
    backfilled: int = 0,
) -> InspectionFigures:
    """The §E2.3 figures of one feedback as of ``as_of``.

    ``items``/``actions``/``documents`` are the records as of that date; ``problems`` maps ledger
    problem ids to their records as of that date (for the 反弹 / closed link rule).
    """
    probs = problems or {}
    chosen = [i for i in items if (_date(i.get("feedback_on")) or as_of) <= as_of]
    refs = sorted({i["feedback_ref"] for i in chosen})
    if feedback_ref is None:
        if len(refs) > 1:
            raise LedgerError(
                f"The ledger holds items of {len(refs)} feedbacks ({'；'.join(refs)}); choose one with --feedback-ref."
            )
        feedback_ref = refs[0] if refs else ""
    chosen = sorted(
        (i for i in chosen if i["feedback_ref"] == feedback_ref),
        key=lambda i: (int(i.get("problem_no") or 0), i["item_id"]),
    )
    by_item: dict[str, list[Mapping[str, Any]]] = {}
    for a in sorted(actions, key=lambda a: (str(a.get("on_date")), a["action_id"])):
        if (_date(a.get("on_date")) or as_of) <= as_of:
            by_item.setdefault(a["item_id"], []).append(a)
    states = []
    for it in chosen:
        linked = [probs[p] for p in it.get("problem_ids") or [] if p in probs]
        status = it.get("status") or "未整改"
        completed = _date(it.get("completed_on"))
        note = ""
        done = status == DONE and completed is not None and completed <= as_of
        if status == DONE and not done:
            status = "整改中"
        if linked and any(getattr(r.status, "value", r.status) == REBOUND for r in linked):
            status, done = REBOUND, False
            note = "关联台账问题反弹：" + "、".join(
                r.problem_id for r in linked if getattr(r.status, "value", r.status) == REBOUND
            )
        elif (
            not done
            and linked
            and all(getattr(r.status, "value", r.status) in _CLOSED_LEDGER for r in linked)
        ):
            days = [_date(r.closed_at) for r in linked if r.closed_at]
            completed = max((d for d in days if d), default=None)
            if completed is not None and completed <= as_of:
                status, done = DONE, True
                note = "关联台账问题已销号"
        due = _date(it.get("due"))
        overdue = not done and due is not None and due < as_of
        states.append(
            ItemState(
                it,
                status,
                done,
                completed if done else None,
                overdue,
                tuple(by_item.get(it["item_id"], ())),
                note,
            )
        )
    regs = [
        d for d in documents
        if d.get("kind") == "规章制度" and feedback_ref in (d.get("tags") or [])
        and (_date(d.get("issued_on")) or as_of) <= as_of
    ]  # fmt: skip
    n = len(states)
    n_done = sum(s.done for s in states)
    unit_rows: dict[str, list[ItemState]] = {}
    for s in states:
        unit_rows.setdefault(s.item.get("responsible_unit") or "(未定责任单位)", []).append(s)
    overall = rate(n_done, n)
    units = []
    for u, ss in unit_rows.items():
        d = sum(s.done for s in ss)
        od = sum(s.overdue for s in ss)
        r = rate(d, len(ss))
        chase = od > 0 or (overall is not None and r is not None and r < overall)
        leader = "、".join(
            dict.fromkeys(
                s.item.get("responsible_leader") or ""
                for s in ss
                if s.item.get("responsible_leader")
            )
        )
        units.append((u, leader, len(ss), d, len(ss) - d, od, chase))
    first = chosen[0] if chosen else {}
    return InspectionFigures(
        as_of=as_of,
        feedback_ref=feedback_ref,
        feedback_on=_date(first.get("feedback_on")),
        unit=str(first.get("unit") or ""),
        items=tuple(states),
        aspects=len({s.item.get("aspect") for s in states}),
        problems=n,
        measures=sum(len(s.item.get("measures") or []) for s in states),
        done=n_done,
        in_progress=n - n_done,
        regulations=len(regs),
        overdue=sum(s.overdue for s in states),
        backfilled=backfilled,
        units=tuple(units),
    )


def _cn_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def figure_sentence(f: InspectionFigures) -> str:
    """截至2025年2月14日，巡察反馈的3个具体问题，已完成整改2个，未整改（正在整改）1项，整改完成率为67%，修订完善各类规章制度1项。"""
    return (
        f"截至{_cn_date(f.as_of)}，巡察反馈的{f.problems}个具体问题，已完成整改{f.done}个，"
        f"未整改（正在整改）{f.in_progress}项，整改完成率为{f.rate_text}，修订完善各类规章制度{f.regulations}项。"
    )


def unit_lines(f: InspectionFigures) -> list[str]:
    """One line per responsible unit: "村镇规划建设办公室：3 项，已完成 2，正在整改 1，逾期 0"."""
    return [
        f"{u}：{n} 项，已完成 {d}，正在整改 {p}，逾期 {od}" + ("（督办）" if chase else "")
        for u, _, n, d, p, od, chase in f.units
    ]


def _actions_text(actions: Sequence[Mapping[str, Any]]) -> str:
    parts = []
    for a in actions:
        d = _date(a.get("on_date"))
        parts.append(f"{d.month}月{d.day}日，{a['text']}" if d else str(a["text"]))
    return "；".join(parts)


#: the signature block of the 巡察 report [inferred: the seed's report is signed by the 党委]
SIGN_ROLES = ("党委书记", "填表人")


def write_inspection_xlsx(
    f: InspectionFigures, path: str | Path, *, signatures: Sequence[Any] = ()
) -> Path:
    """巡察整改台账.xlsx: sheets 整改台账, 整改统计, 整改进展记录 (§E2.5), written atomically.

    ``signatures`` (:func:`parcelwatch.reports.reportlog.signature_block`) are printed two rows
    under the 整改台账 table (blank lines for roles nobody signed)."""
    from parcelwatch.exports.forms import (
        form_workbook as _workbook,
    )
    from parcelwatch.exports.forms import (
        print_setup as _print_setup,
    )
    from parcelwatch.exports.forms import (
        write_cell as _write,
    )
    from parcelwatch.exports.forms import (
        write_title as _title,
    )

    path = Path(path)
    heads = ["序号", "方面", "问题", "具体表现（典型案例）", "整改措施", "责任领导", "责任单位", "完成时限",
             "整改状态", "整改情况", "完成日期", "销号日期", "关联台账问题编号"]  # fmt: skip
    kinds = [
        "int",
        "text",
        "text",
        "text",
        "text",
        "center",
        "text",
        "date",
        "center",
        "text",
        "date",
        "date",
        "text",
    ]
    with _workbook(path) as (wb, fm):
        ws = wb.add_worksheet("整改台账")
        last = len(heads) - 1
        fb_on = f"（{f.feedback_on.isoformat()}）" if f.feedback_on else ""
        _title(
            ws,
            fm,
            f"{f.unit}巡察反馈问题整改台账",
            f"反馈意见：{f.feedback_ref}{fb_on}　截至：{f.as_of.isoformat()}",
            last,
        )
        for j, h in enumerate(heads):
            ws.write_string(2, j, h, fm.head)
            ws.set_column(j, j, 30 if kinds[j] == "text" else 11)
        for i, s in enumerate(f.items):
            it = s.item
            shown = "已完成" if s.done else ("反弹" if s.status == REBOUND else "正在推进中")
            values = [
                int(it.get("problem_no") or i + 1), it.get("aspect"), it.get("title"),
                it.get("typical_case") or it.get("description"),
                "；".join(f"{k}. {m}" for k, m in enumerate(it.get("measures") or [], start=1)),
                it.get("responsible_leader"), it.get("responsible_unit"), _date(it.get("due")), shown,
                _actions_text(s.actions) + (f"（{s.note}）" if s.note else ""), s.completed_on,
                _date(it.get("closed_on")) if s.done else None, "、".join(it.get("problem_ids") or []),
            ]  # fmt: skip
            for j, v in enumerate(values):
                _write(ws, 3 + i, j, v, kinds[j], fm)
        tr = 3 + len(f.items)
        ws.merge_range(
            tr, 0, tr, last, f"合计：{f.problems}个问题，{f.measures}项措施", fm.total_text
        )
        if signatures:  # two rows under the table (SEED-SYSTEMS 0.P3)
            text = "　　　　".join(s.text() for s in signatures)
            ws.merge_range(tr + 2, 0, tr + 2, last, text, fm.info)
        _print_setup(ws, header_first=2, header_last=2, last_col=last, freeze_col=1)

        st = wb.add_worksheet("整改统计")
        sheads = ["截至日期", "反馈方面(个)", "反馈问题(个)", "整改措施(项)", "已完成整改(个)",
                  "未整改(正在整改)(项)", "整改完成率", "修订完善规章制度(项)", "逾期(个)", "整改完成率(数值)"]  # fmt: skip
        _title(
            st, fm, f"{f.unit}巡察反馈问题整改统计", f"反馈意见：{f.feedback_ref}", len(sheads) - 2
        )
        for j, h in enumerate(sheads):
            st.write_string(2, j, h, fm.head)
            st.set_column(j, j, 14)
        _write(st, 3, 0, f.as_of, "date", fm)
        for j, v in enumerate((f.aspects, f.problems, f.measures, f.done, f.in_progress), start=1):
            _write(st, 3, j, v, "int", fm)
        _write(st, 3, 6, f.rate_text, "center", fm)
        _write(st, 3, 7, f.regulations, "int", fm)
        _write(st, 3, 8, f.overdue, "int", fm)
        if f.rate_value is not None:
            st.write_number(3, 9, f.rate_value, fm.num2)
        st.set_column(9, 9, None, None, {"hidden": True})
        _print_setup(st, header_first=2, header_last=2, last_col=8)

        lg = wb.add_worksheet("整改进展记录")
        lheads = ["序号", "问题", "日期", "进展", "佐证"]
        _title(
            lg,
            fm,
            f"{f.unit}巡察反馈问题整改进展记录",
            f"截至：{f.as_of.isoformat()}",
            len(lheads) - 1,
        )
        for j, h in enumerate(lheads):
            lg.write_string(2, j, h, fm.head)
            lg.set_column(j, j, 40 if j in (1, 3) else 12)
        r = 3
        for s in f.items:
            for a in s.actions:
                for j, (v, k) in enumerate(((r - 2, "int"), (s.item.get("title"), "text"), (_date(a.get("on_date")), "date"),
                                            (a.get("text"), "text"), (a.get("evidence"), "text"))):  # fmt: skip
                    _write(lg, r, j, v, k, fm)
                r += 1
        _print_setup(lg, header_first=2, header_last=2, last_col=len(lheads) - 1)
    return path


def inspection_markdown(f: InspectionFigures, *, contact: str = "") -> str:
    """巡察整改情况.md, ready to paste into the 公布 document (structure of seed 001)."""
    done = [s for s in f.items if s.done]
    rest = [s for s in f.items if not s.done]
    fb = f"{_cn_date(f.feedback_on)}" if f.feedback_on else ""
    lines = [
        f"# {f.unit}关于巡察反馈意见整改进展情况的通报",
        "",
        "## 一、整改工作情况",
        "",
        f"{fb}，巡察组反馈了巡察意见（{f.feedback_ref}），共{f.aspects}个方面{f.problems}个问题，制定整改措施{f.measures}项。"
        + figure_sentence(f),
        "",
        "## 二、巡察反馈问题整改落实情况",
        "",
        "### （一）集中整改期内已经完成的整改事项",
        "",
    ]

    def block(s: ItemState, state: str) -> list[str]:
        it = s.item
        acts = _actions_text(s.actions)
        return [
            f"问题{it.get('problem_no')}：{it.get('title')}",
            "",
            f"具体表现：{it.get('typical_case') or it.get('description') or ''}",
            "",
            f"责任领导：{it.get('responsible_leader') or ''}",
            "",
            f"责任部门：{it.get('responsible_unit') or ''}",
            "",
            f"整改情况：{state}。"
            + (f"{acts}。" if acts else "")
            + (f"（{s.note}）" if s.note else ""),
            "",
        ]

    for s in done:
        lines += block(s, "已完成")
    lines += [
        "### （二）正在推进整改的问题",
        "",
        f"截至目前，共计{len(rest)}个问题正在整改过程中，仍需深化整改。",
        "",
    ]
    for s in rest:
        lines += block(s, "反弹" if s.status == REBOUND else "正在推进中")
    lines += ["## 三、下一步整改工作安排", "", "（请在此填写下一步整改工作安排。）", ""]
    if contact:
        lines += [f"欢迎广大干部群众对巡察整改落实情况进行监督。联系方式：{contact}", ""]
    if f.backfilled:
        lines += [f"注：{f.backfilled}项记录在{_cn_date(f.as_of)}之后补录，按其整改日期统计。", ""]
    return "\n".join(lines)


def figures_as_of(store: Any, as_of: date, feedback_ref: str | None = None) -> InspectionFigures:
    """:func:`inspection_figures` of the records in ``store`` as of ``as_of`` (ledger problems
    replayed to that date for the link rule)."""
    from parcelwatch.ledger.stats import records_as_of

    book = InspectionBook(store)
    items, late = book.state_as_of(ITEMS.name, as_of)
    actions, _ = book.state_as_of(ACTIONS.name, as_of)
    docs, _ = book.state_as_of(DOCUMENTS.name, as_of)
    probs = {r.problem_id: r for r in records_as_of(store.events(), as_of)}
    return inspection_figures(
        items,
        actions,
        docs,
        as_of=as_of,
        problems=probs,
        feedback_ref=feedback_ref,
        backfilled=late,
    )


# ------------------------------------------------------------------------------------------
# The weekly bulletin chasing slow units (seed 001 "整改工作周通报制度，对整改进度缓慢的单位及时提醒督办")

WEEKLY_KIND = "巡察周通报"
WEEKLY_HEADS = ("序号", "责任单位", "责任领导", "整改事项(项)", "已完成", "正在整改", "逾期", "完成率",
                "是否督办")  # fmt: skip


def week_period(week_of: date) -> tuple[date, date]:
    """The week a bulletin covers: ``week_of`` and the six days after it [inferred: the bulletin
    states the figures as of the week's last day, and is due that day]."""
    from datetime import timedelta

    return week_of, week_of + timedelta(days=6)


def weekly_rows(f: InspectionFigures) -> list[list[Any]]:
    """One row per responsible unit (§E2.5 周通报) then 合计: items, done, in progress, overdue,
    完成率 in whole percent half-up, and 督办 (是 when the unit has an overdue item or a rate below
    the overall rate, §E2.3)."""
    rows: list[list[Any]] = [
        [k, u, leader, n, d, p, od, percent_text(d, n, 0), "是" if chase else "否"]
        for k, (u, leader, n, d, p, od, chase) in enumerate(f.units, start=1)
    ]
    chased = sum(1 for *_, chase in f.units if chase)
    rows.append(["合计", "", "", f.problems, f.done, f.in_progress, f.overdue, f.rate_text,
                 f"{chased}个单位"])  # fmt: skip
    return rows


def write_weekly_xlsx(f: InspectionFigures, path: str | Path, *, period: tuple[date, date]) -> Path:
    """巡察整改周通报.xlsx, sheet 周通报 (§E2.5), written atomically; the 督办 units are named under
    the table."""
    from parcelwatch.exports.forms import form_workbook, print_setup, write_cell, write_title

    path = Path(path)
    kinds = ["int", "text", "center", "int", "int", "int", "int", "center", "center"]
    rows = weekly_rows(f)
    with form_workbook(path) as (wb, fm):
        ws = wb.add_worksheet("周通报")
        last = len(WEEKLY_HEADS) - 1
        write_title(ws, fm, f"{f.unit}巡察反馈问题整改周通报",
               f"统计周期：{period[0].isoformat()}至{period[1].isoformat()}　截至：{f.as_of.isoformat()}　"
               f"反馈意见：{f.feedback_ref}", last)  # fmt: skip
        for j, h in enumerate(WEEKLY_HEADS):
            ws.write_string(2, j, h, fm.head)
            ws.set_column(j, j, 24 if j == 1 else 12)
        for i, values in enumerate(rows[:-1]):
            for j, v in enumerate(values):
                write_cell(ws, 3 + i, j, v, kinds[j], fm)
        tr = 3 + len(rows) - 1
        for j, v in enumerate(rows[-1]):
            if v == "":
                ws.write_blank(tr, j, None, fm.total_text)
            elif isinstance(v, int):
                ws.write_number(tr, j, v, fm.total_int)
            else:
                ws.write_string(tr, j, str(v), fm.total_text)
        chased = [u for u in f.units if u[6]]
        text = (
            "提醒督办：" + "；".join(f"{u}（逾期{od}项，完成率{percent_text(d, n, 0)}）"
                                   for u, _, n, d, _p, od, _c in chased)
            if chased else "本周无需督办的单位。"
        )  # fmt: skip
        ws.merge_range(tr + 2, 0, tr + 2, last, text + "　" + figure_sentence(f), fm.info)
        print_setup(ws, header_first=2, header_last=2, last_col=last, freeze_col=2)
    return path


def write_inspection_weekly(
    store: Any,
    week_of: date,
    path: str | Path,
    *,
    user: str,
    now: datetime,
    feedback_ref: str | None = None,
    recipient: str = "",
) -> tuple[Path, InspectionFigures, str]:
    """The weekly bulletin of the week starting ``week_of`` (figures as of its last day), logged in
    the report log as kind 巡察周通报 (the same week again rewrites the file and updates that row).
    Returns (path, figures, report id)."""
    from parcelwatch.reports.reportlog import ReportLog

    start, end = week_period(week_of)
    f = figures_as_of(store, end, feedback_ref)
    if not f.items:
        raise LedgerError(
            f"No 巡察整改 item as of {end.isoformat()}: enter them first with `parcelwatch inspection add`."
        )
    out = write_weekly_xlsx(f, path, period=(start, end))
    rid = ReportLog(store).log_written(kind=WEEKLY_KIND, period_start=start, period_end=end, due=end,
                                       file=out, recipient=recipient, user=user, now=now)  # fmt: skip
    return out, f, rid
