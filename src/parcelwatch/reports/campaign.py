"""The 回头看 campaign and its two-day progress report (SEED-SYSTEMS §E1, seed 000).

Records (audited, :mod:`parcelwatch.reports.records`): ``campaigns``, ``campaign_clues``
(问题线索台账), ``campaign_rechecks`` (原有问题核实) and ``campaign_checks`` (大棚排查 counts per
village: the 应排查 target and the greenhouses visited on a day). The 村两委双签字 are sign-offs
(:mod:`parcelwatch.reports.reportlog`) of ``campaign_submission`` ``{campaign_id}:{village}`` by
村支书 and 村主任.

Decisions where the spec is silent: until the greenhouse registry (0.P8) exists, 应排查 and the
visits are counts entered per village (``campaign_checks``); a problem's 已核实 本期 means its
first recheck fell in the period; the report's village of a ledger problem is its 村 name (else
code). Figures are computed for the report date from the records' own dates (found, visited,
signed), so a report for a past date is reproducible as long as those dates are right.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from parcelwatch.errors import LedgerError, SchemaError
from parcelwatch.labels import CLASS_LABELS
from parcelwatch.reports.records import AuditedBook, Entity, register, text_table
from parcelwatch.reports.rounding import percent_text

__all__ = [
    "CLUE_SOURCES",
    "SUSPECTED",
    "CLUE_STATUSES",
    "RECHECK_RESULTS",
    "CampaignBook",
    "due_dates",
    "default_end",
    "VillageRow",
    "progress_rows",
    "write_progress_xlsx",
]

CLUE_SOURCES = ("村自查", "群众举报", "镇巡查", "卫片", "上级交办")
# what a 回头看 clue is suspected to be: the 大棚房 classes in labels.py's words, and the rest
SUSPECTED = (
    "疑似违建别墅",
    *(CLASS_LABELS["zh"][c] for c in ("I", "II", "III")),
    "未复垦复耕",
    "其他",
)
CLUE_STATUSES = ("待核查", "已核查备案", "不属实", "已入账", "已整改")
RECHECK_RESULTS = ("整改到位", "整改不到位", "反弹回潮", "未复垦复耕")
REPORT_KIND = "回头看进展"
_DPF = ("I", "II", "III")
_IN_PROGRESS = ("未整改", "整改中", "待验收", "反弹")

CAMPAIGNS = register(Entity("campaigns", text_table("campaigns", "campaign_id", (
    "name", "level", "unit", "start", "end", "every_days", "office", "recipient", "doc_ref")),
    "campaign_id", (), "回头看等专项行动"))  # fmt: skip
CLUES = register(Entity("campaign_clues", text_table("campaign_clues", "clue_id", (
    "campaign_id", "village", "source", "found_on", "place_text", "description", "suspected", "lon", "lat",
    "status", "filed_on", "filed_by", "result", "problem_id", "major", "photos")),
    "clue_id", (), "问题线索台账"))  # fmt: skip
RECHECKS = register(Entity("campaign_rechecks", text_table("campaign_rechecks", "recheck_id", (
    "campaign_id", "problem_id", "village", "visited_on", "by", "result")),
    "recheck_id", (), "原有问题核实"))  # fmt: skip
CHECKS = register(Entity("campaign_checks", text_table("campaign_checks", "check_id", (
    "campaign_id", "village", "kind", "on_date", "count")),
    "check_id", (), "大棚排查 (应排查、已排查)"))  # fmt: skip


def default_end(start: date) -> date:
    """Start + 1 month − 1 day [inferred from "用一个月时间"]: 2021-05-19 -> 2021-06-18."""
    y, m = (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    return date(y, m, min(start.day, calendar.monthrange(y, m)[1])) - timedelta(days=1)


def due_dates(start: date, end: date, every: int) -> list[date]:
    """``start + every*k`` for k = 1, 2, … up to and including ``end`` (T-E1-01: 15 dates)."""
    out, k = [], 1
    while start + timedelta(days=every * k) <= end:
        out.append(start + timedelta(days=every * k))
        k += 1
    return out


def _d(v: Any) -> date | None:
    return (
        None if v in (None, "") else (v if isinstance(v, date) else date.fromisoformat(str(v)[:10]))
    )


class CampaignBook:
    """Campaign records of one ledger store."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.book = AuditedBook(store)

    def start(self, *, name: str, unit: str, start: date, user: str, now: datetime, end: date | None = None,
              every_days: int = 2, office: str = "", recipient: str = "", doc_ref: str = "",
              level: str = "镇") -> str:  # fmt: skip
        end = end or default_end(start)
        if end < start or every_days < 1:
            raise SchemaError(
                f"--end {end} is before --start {start}, or --every-days {every_days} < 1."
            )
        row = {"name": name, "level": level, "unit": unit, "start": start, "end": end,
               "every_days": str(every_days), "office": office, "recipient": recipient, "doc_ref": doc_ref}  # fmt: skip
        return self.book.insert(
            CAMPAIGNS.name, row, prefix=f"HTK-{start.year}-", width=2, user=user, now=now
        )

    def campaign(self, campaign_id: str | None = None) -> dict[str, Any]:
        rows = self.book.all(CAMPAIGNS.name)
        if campaign_id:
            return self.book.get(CAMPAIGNS.name, campaign_id)
        if not rows:
            raise LedgerError(
                "No campaign yet: start one with `parcelwatch campaign start WS --name ... --start ...`."
            )
        return rows[-1]

    def schedule(self, campaign_id: str | None = None) -> list[date]:
        c = self.campaign(campaign_id)
        return due_dates(_d(c["start"]), _d(c["end"]), int(c["every_days"]))  # type: ignore[arg-type]

    def add_clue(self, *, village: str, source: str, found_on: date, user: str, now: datetime,
                 place: str = "", description: str = "", suspected: str = "其他", lon: float | None = None,
                 lat: float | None = None, campaign_id: str | None = None, major: bool = False) -> str:  # fmt: skip
        if source not in CLUE_SOURCES:
            raise SchemaError(f"--source {source!r}: use one of {'、'.join(CLUE_SOURCES)}.")
        if suspected not in SUSPECTED:
            raise SchemaError(f"--suspected {suspected!r}: use one of {'、'.join(SUSPECTED)}.")
        c = self.campaign(campaign_id)
        row = {"campaign_id": c["campaign_id"], "village": village, "source": source, "found_on": found_on,
               "place_text": place, "description": description, "suspected": suspected, "lon": lon, "lat": lat,
               "status": "待核查", "major": "是" if major else "否"}  # fmt: skip
        return self.book.insert(
            CLUES.name, row, prefix=f"XS-{found_on.year}-", width=4, user=user, now=now
        )

    def set_clue(self, clue_id: str, *, user: str, now: datetime, status: str | None = None,
                 problem_id: str | None = None, filed_on: date | None = None, filed_by: str | None = None,
                 result: str | None = None, major: bool | None = None) -> bool:  # fmt: skip
        ch: dict[str, Any] = {}
        if problem_id:
            self.store.get(problem_id)  # must exist
            ch.update(problem_id=problem_id, status="已入账")
        if status is not None:
            if status not in CLUE_STATUSES:
                raise SchemaError(f"--status {status!r}: use one of {'、'.join(CLUE_STATUSES)}.")
            ch["status"] = status
        if filed_on is not None:
            ch.update(
                filed_on=filed_on, filed_by=filed_by or "", status=ch.get("status", "已核查备案")
            )
        if result is not None:
            ch["result"] = result
            if result == "不属实":
                ch["status"] = "不属实"
        if major is not None:
            ch["major"] = "是" if major else "否"
        return self.book.update(CLUES.name, clue_id, ch, user=user, now=now)

    def recheck(self, problem_id: str, *, on: date, by: str, result: str, user: str, now: datetime,
                campaign_id: str | None = None) -> str:  # fmt: skip
        """A visit to an original problem. 反弹回潮 on a closed problem moves it to 反弹 in the same
        transaction (T-E1-05)."""
        from parcelwatch.ledger.model import REBOUND_FROM, Change, Status

        if result not in RECHECK_RESULTS:
            raise SchemaError(f"--result {result!r}: use one of {'、'.join(RECHECK_RESULTS)}.")
        rec = self.store.get(problem_id)
        c = self.campaign(campaign_id)
        within = None
        if result == "反弹回潮" and rec.status in REBOUND_FROM:
            change = Change(problem_id, Status.REBOUND, note=f"回头看核实 {on.isoformat()} {by}：反弹回潮",
                            expected_version=rec.version)  # fmt: skip

            def within(conn: Any) -> None:
                self.store._update(conn, change, now=now, user=user)
                self.store._after_write(conn)

        row = {"campaign_id": c["campaign_id"], "problem_id": problem_id,
               "village": rec.village_name or rec.village_code, "visited_on": on, "by": by, "result": result}  # fmt: skip
        return self.book.insert(
            RECHECKS.name, row, prefix="HC-", width=5, user=user, now=now, within=within
        )

    def greenhouses(self, *, village: str, kind: str, on: date, count: int, user: str, now: datetime,
                    campaign_id: str | None = None) -> str:  # fmt: skip
        """``kind`` 应排查 (the village's greenhouses) or 排查 (greenhouses visited on ``on``)."""
        if kind not in ("应排查", "排查") or count < 0:
            raise SchemaError(
                "Greenhouse counts are 应排查 (target) or 排查 (visited), with a count >= 0."
            )
        c = self.campaign(campaign_id)
        row = {
            "campaign_id": c["campaign_id"],
            "village": village,
            "kind": kind,
            "on_date": on,
            "count": str(count),
        }
        return self.book.insert(CHECKS.name, row, prefix="PC-", width=5, user=user, now=now)


@dataclass(frozen=True)
class VillageRow:
    village: str
    target: int
    checked: int
    checked_now: int
    original: int
    verified: int
    verified_now: int
    ok: int
    not_ok: int
    rebound: int
    not_reclaimed: int
    clues: int
    clues_now: int
    villas: int
    filed: int
    fixed: int
    in_progress: int
    signed_on: date | None

    def cells(self) -> list[Any]:
        return [self.village, self.target, self.checked, self.checked_now, percent_text(self.checked, self.target),
                self.original, self.verified, self.verified_now, self.ok, self.not_ok, self.rebound,
                self.not_reclaimed, self.clues, self.clues_now, self.villas, self.filed, self.fixed,
                self.in_progress, f"是({self.signed_on:%m-%d})" if self.signed_on else "否"]  # fmt: skip


HEADERS = (
    ("大棚排查（逢棚必进必查）", ("应排查", "已排查(累计)", "本期", "排查率"), ("个", "个", "个", "%")),
    ("原有问题回头看", ("原有问题", "已核实(累计)", "本期", "整改到位", "整改不到位", "反弹回潮", "未复垦复耕"),
     ("个",) * 7),
    ("新发现问题线索", ("累计", "本期", "其中疑似违建别墅", "已存入台账"), ("条", "条", "条", "条")),
    ("整改", ("立行立改已整改", "整改中"), ("个", "个")),
    ("村两委双签字报回", ("是否/日期",), ("是/否",)),
)  # fmt: skip


def progress_rows(
    *,
    campaign: Mapping[str, Any],
    report_date: date,
    clues: Sequence[Mapping[str, Any]],
    rechecks: Sequence[Mapping[str, Any]],
    checks: Sequence[Mapping[str, Any]],
    problems: Sequence[Any],
    signoffs: Sequence[Mapping[str, Any]],
) -> tuple[int, date, date, list[VillageRow]]:
    """(report number, period start, period end, rows per village) for ``report_date`` (a due date)."""
    start = _d(campaign["start"])
    dues = due_dates(start, _d(campaign["end"]), int(campaign["every_days"]))  # type: ignore[arg-type]
    if report_date not in dues:
        nxt = next((d for d in dues if d > report_date), None)
        raise SchemaError(
            f"--date {report_date}: the reports are due on {dues[0]} ... {dues[-1]} every {campaign['every_days']} days; "
            f"use a due date (next: {nxt})."
        )
    k = dues.index(report_date) + 1
    assert start is not None  # due_dates() above refused a campaign without a start
    p_start: date = (dues[k - 2] if k > 1 else start - timedelta(days=1)) + timedelta(days=1)

    def in_cum(d: Any) -> bool:
        x = _d(d)
        return x is not None and start <= x <= report_date  # type: ignore[operator]

    def in_now(d: Any) -> bool:
        x = _d(d)
        return x is not None and p_start <= x <= report_date

    cid = campaign["campaign_id"]
    clues = [c for c in clues if c["campaign_id"] == cid and in_cum(c["found_on"])]
    rechecks = [r for r in rechecks if r["campaign_id"] == cid and in_cum(r["visited_on"])]
    checks = [c for c in checks if c["campaign_id"] == cid]
    by_id = {p.problem_id: p for p in problems}
    original = [
        p for p in problems
        if (p.confirmed_class or p.candidate_class) in _DPF and p.created_at[:10] < str(campaign["start"])
    ]  # fmt: skip

    def vname(p: Any) -> str:
        return p.village_name or p.village_code or "(未知村)"

    villages = sorted({vname(p) for p in original} | {c["village"] for c in clues} | {c["village"] for c in checks}
                      | {r["village"] for r in rechecks})  # fmt: skip
    rows = []
    for v in villages:
        target = sum(int(c["count"]) for c in checks if c["village"] == v and c["kind"] == "应排查")
        visits = [c for c in checks if c["village"] == v and c["kind"] == "排查"]
        orig = [p for p in original if vname(p) == v]
        latest: dict[str, list[Mapping[str, Any]]] = {}
        for r in sorted(rechecks, key=lambda r: (str(r["visited_on"]), r["recheck_id"])):
            latest.setdefault(r["problem_id"], []).append(r)
        ids = [p.problem_id for p in orig]
        last = {i: latest[i][-1]["result"] for i in ids if i in latest}
        first_now = sum(1 for i in ids if i in latest and in_now(latest[i][0]["visited_on"]))
        fixed_orig = sum(
            1 for i in ids if i in latest and latest[i][-1]["result"] == "整改到位"
            and any(r["result"] == "整改不到位" for r in latest[i][:-1])
        )  # fmt: skip
        vc = [c for c in clues if c["village"] == v]
        linked = [by_id[c["problem_id"]] for c in vc if c.get("problem_id") in by_id]
        signs = [s for s in signoffs if s["object_id"] == f"{cid}:{v}" and in_cum(s["signed_on"])]
        roles = {s["role"]: _d(s["signed_on"]) for s in signs}
        both = [d for d in (roles.get("村支书"), roles.get("村主任")) if d is not None]
        signed = max(both) if len(both) == 2 else None
        rows.append(VillageRow(
            v, target, sum(int(c["count"]) for c in visits if in_cum(c["on_date"])),
            sum(int(c["count"]) for c in visits if in_now(c["on_date"])), len(orig), len(last), first_now,
            sum(r == "整改到位" for r in last.values()), sum(r == "整改不到位" for r in last.values()),
            sum(r == "反弹回潮" for r in last.values()), sum(r == "未复垦复耕" for r in last.values()),
            len(vc), sum(in_now(c["found_on"]) for c in vc), sum(c["suspected"] == "疑似违建别墅" for c in vc),
            sum(bool(c.get("problem_id")) for c in vc), sum(c["status"] == "已整改" for c in vc) + fixed_orig,
            sum(p.status.value in _IN_PROGRESS for p in linked), signed,
        ))  # fmt: skip
    return k, p_start, report_date, rows


def total_cells(rows: Sequence[VillageRow]) -> list[Any]:
    """The 合计 row: sums, 排查率 of the sums, 双签字 as signed/villages."""
    s = [sum(getattr(r, f) for r in rows) for f in ("target", "checked", "checked_now")]
    rest = [sum(getattr(r, f) for r in rows) for f in ("original", "verified", "verified_now", "ok", "not_ok", "rebound",
            "not_reclaimed", "clues", "clues_now", "villas", "filed", "fixed", "in_progress")]  # fmt: skip
    return [
        "合计",
        *s,
        percent_text(s[1], s[0]),
        *rest,
        f"{sum(r.signed_on is not None for r in rows)}/{len(rows)}",
    ]


def write_progress_xlsx(
    path: str | Path,
    *,
    campaign: Mapping[str, Any],
    number: int,
    period: tuple[date, date],
    rows: Sequence[VillageRow],
    clues: Sequence[Mapping[str, Any]],
    rechecks: Sequence[Mapping[str, Any]],
    problems: Mapping[str, Any],
) -> Path:
    """回头看工作进展_第N期.xlsx (§E1.5): 工作进展情况, 问题线索台账, 原有问题核实."""
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
    with _workbook(path) as (wb, fm):
        ws = wb.add_worksheet("工作进展情况")
        leaves = ["村"] + [h for _, hs, _ in HEADERS for h in hs]
        units = [""] + [u for _, _, us in HEADERS for u in us]
        last = len(leaves) - 1
        _title(ws, fm, f"{campaign['unit']}“大棚房”专项清理整治“回头看”工作进展情况（第{number}期）",
               f"报送单位：{campaign['office']}　报送：{campaign['recipient']}　统计期间：{period[0].isoformat()}至"
               f"{period[1].isoformat()}　报送日期：{period[1].isoformat()}", last)  # fmt: skip
        ws.merge_range(2, 0, 3, 0, "村", fm.head)
        col = 1
        for group, hs, _ in HEADERS:
            if len(hs) > 1:
                ws.merge_range(2, col, 2, col + len(hs) - 1, group, fm.head)
            else:
                ws.write_string(2, col, group, fm.head)
            for j, h in enumerate(hs):
                ws.write_string(3, col + j, h, fm.head)
            col += len(hs)
        for j, u in enumerate(units):
            ws.write_string(4, j, u, fm.unit)
            ws.set_column(j, j, 12 if j == 0 else 9)
        for i, r in enumerate([*[r.cells() for r in rows], total_cells(rows)]):
            for j, v in enumerate(r):
                _write(ws, 5 + i, j, v, "int" if isinstance(v, int) else "center", fm)
        sig = 5 + len(rows) + 2
        ws.merge_range(
            sig, 0, sig, last, "办公室主任：＿＿＿＿＿＿　　　　领导小组组长：＿＿＿＿＿＿", fm.info
        )
        _print_setup(ws, header_first=2, header_last=4, last_col=last, freeze_col=1)

        cs = wb.add_worksheet("问题线索台账")
        ch = ["序号", "线索编号", "村", "来源", "发现日期", "位置", "经度", "纬度", "问题描述", "疑似类别", "核查备案日期",
              "核查备案单位", "核查结果", "是否已存入“大棚房”管理台账", "台账问题编号", "处理状态", "重大情况", "照片数", "备注"]  # fmt: skip
        _title(cs, fm, "问题线索台账", f"截至：{period[1].isoformat()}", len(ch) - 1)
        for j, h in enumerate(ch):
            cs.write_string(2, j, h, fm.head)
            cs.set_column(j, j, 12)
        for i, c in enumerate(clues):
            vals = [i + 1, c["clue_id"], c["village"], c["source"], c["found_on"], c.get("place_text"), c.get("lon"),
                    c.get("lat"), c.get("description"), c["suspected"], c.get("filed_on"), c.get("filed_by"),
                    c.get("result"), "是" if c.get("problem_id") else "否", c.get("problem_id"), c["status"],
                    c.get("major"), int(c.get("photos") or 0), ""]  # fmt: skip
            for j, v in enumerate(vals):
                _write(cs, 3 + i, j, v, "int" if isinstance(v, int) else "text", fm)
        _print_setup(cs, header_first=2, header_last=2, last_col=len(ch) - 1)

        rs = wb.add_worksheet("原有问题核实")
        rh = [
            "序号",
            "问题编号",
            "村",
            "类别",
            "整改措施",
            "销号日期",
            "核实日期",
            "核实人",
            "核实结果",
            "影像提示",
            "照片数",
        ]
        _title(rs, fm, "原有问题核实", f"截至：{period[1].isoformat()}", len(rh) - 1)
        for j, h in enumerate(rh):
            rs.write_string(2, j, h, fm.head)
            rs.set_column(j, j, 14)
        for i, rc in enumerate(rechecks):
            p = problems.get(rc["problem_id"])
            vals = [i + 1, rc["problem_id"], rc["village"], p.display_class if p else "", p.measure if p else "",
                    (p.closed_at or "")[:10] if p else "", rc["visited_on"], rc["by"], rc["result"], "", 0]  # fmt: skip
            for j, v in enumerate(vals):
                _write(rs, 3 + i, j, v, "int" if isinstance(v, int) else "text", fm)
        _print_setup(rs, header_first=2, header_last=2, last_col=len(rh) - 1)
    return path


def write_campaign_report(
    store: Any,
    report_date: date,
    path: str | Path,
    *,
    user: str,
    now: datetime,
    campaign_id: str | None = None,
) -> tuple[Path, int, str]:
    """Write report N for ``report_date`` and log it (report_log kind 回头看进展; the same date again
    rewrites the file and updates that row). Returns (path, N, report id)."""
    from parcelwatch.reports.reportlog import ReportLog

    cb = CampaignBook(store)
    c = cb.campaign(campaign_id)
    log = ReportLog(store)
    problems = store.records(geometry=False)
    clues = cb.book.all(CLUES.name)
    rechecks = cb.book.all(RECHECKS.name)
    n, p0, p1, rows = progress_rows(
        campaign=c, report_date=report_date, clues=clues, rechecks=rechecks,
        checks=cb.book.all(CHECKS.name), problems=problems,
        signoffs=log.book.all("signoffs"),
    )  # fmt: skip
    keep = [
        x for x in clues if x["campaign_id"] == c["campaign_id"] and (_d(x["found_on"]) or p1) <= p1
    ]
    done = [
        x
        for x in rechecks
        if x["campaign_id"] == c["campaign_id"] and (_d(x["visited_on"]) or p1) <= p1
    ]
    out = write_progress_xlsx(path, campaign=c, number=n, period=(p0, p1), rows=rows, clues=keep,
                              rechecks=done, problems={p.problem_id: p for p in problems})  # fmt: skip
    rid = log.log_written(kind=REPORT_KIND, period_start=p0, period_end=p1, due=p1, file=out,
                          recipient=str(c.get("recipient") or ""), user=user, now=now)  # fmt: skip
    return out, n, rid


def due_status(
    store: Any, today: date, campaign_id: str | None = None
) -> tuple[tuple[int, date] | None, list[tuple[int, date]]]:
    """(next report (N, date) on or after ``today``, reports due before ``today`` not logged)."""
    from parcelwatch.reports.reportlog import ReportLog

    cb = CampaignBook(store)
    dues = cb.schedule(campaign_id)
    from parcelwatch.reports.reportlog import due_datetime

    rows = ReportLog(store).rows(kind=REPORT_KIND, now=due_datetime(today))
    logged = {r["period_end"] for r in rows}
    nxt = next(((k + 1, d) for k, d in enumerate(dues) if d >= today), None)
    overdue = [(k + 1, d) for k, d in enumerate(dues) if d < today and d.isoformat() not in logged]
    return nxt, overdue
