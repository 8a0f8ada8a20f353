"""The self-score from a workspace, its text listing and the 考核验收评分表 (SEED-SYSTEMS §D.5)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import wcwidth

from parcelwatch.acceptance.answers import load_answers
from parcelwatch.acceptance.scheme import GROUP_ORDER, Scheme, half_up, load_scheme
from parcelwatch.acceptance.score import (
    AcceptanceData,
    Greenhouse,
    ProblemFacts,
    ScoreResult,
    score,
)
from parcelwatch.exports.forms import (
    form_workbook as _workbook,
)
from parcelwatch.exports.forms import (
    print_setup as _print_setup,
)
from parcelwatch.exports.forms import (
    write_title as _title,
)
from parcelwatch.ledger.model import ProblemRecord

__all__ = ["ANSWERS_FILE", "SCORE_COLUMNS", "score_workspace", "score_lines", "write_score_form"]

ANSWERS_FILE = "acceptance.toml"
SCORE_COLUMNS = (
    "序号",
    "考核项目",
    "子项",
    "考核内容",
    "赋分（分）",
    "得分（分）",
    "扣分原因",
    "计分方式",
    "依据数据",
)
SIGNATURE = (
    "自验组负责同志签字：　　　　　　自验组成员签字：　　　　　　填表日期：　　年　　月　　日"
)


def score_workspace(
    ws: Any, answers: Path | None = None, scheme: Scheme | None = None
) -> ScoreResult:
    """Score an open workspace: its ledger problems plus ``acceptance.toml`` (or ``answers``)."""
    from parcelwatch.acceptance.records import RecordBook

    book = RecordBook(ws.store)
    problems = ws.store.records(geometry=True)
    facts = facts_from_ledger(problems, {f["problem_id"]: f for f in book.all("acc_funds")})
    gh = [greenhouse_for_score(g) for g in book.all("greenhouse_registry")]
    base = AcceptanceData(
        problems=problems,
        facts=facts,
        greenhouses=gh,
        sanctions=sum(1 for s in book.all("acc_sanctions") if s.get("public_official") == "是"),
        cases=len(book.all("acc_cases")),
    )
    data = load_answers(answers or ws.path / ANSWERS_FILE, base)
    return score(scheme or load_scheme(), data)


def facts_from_ledger(
    problems: Sequence[ProblemRecord], funds: Mapping[str, Mapping[str, Any]]
) -> dict[str, ProblemFacts]:
    """The per-problem facts the score reads, from the ledger's §0.P1 fields (垃圾清理, 复垦复耕,
    排查遗漏, 涉嫌骗取资金) and the 专户管理 of ``acc_funds``; the answers file may still set them."""
    from parcelwatch.acceptance.accountability import funds_wan

    out = {}
    for r in problems:
        f = funds.get(r.problem_id, {})
        sus = funds_wan(r, funds)[0]
        has_sus = r.funds_suspected_wan is not None or bool(f.get("funds_suspected_wan"))
        fact = ProblemFacts(
            debris_cleared=r.debris_cleared or "",
            reclaimed=r.reclaimed or "",
            omitted_in_survey=r.omitted_in_survey or "",
            special_account=f.get("special_account") or "",
            funds_suspected_wan=sus if has_sus else None,
        )
        if fact != ProblemFacts():
            out[r.problem_id] = fact
    return out


def greenhouse_for_score(g: dict[str, Any]) -> Greenhouse:
    """A stored registry row as the score sees it."""
    return Greenhouse(
        greenhouse_no=g["greenhouse_no"],
        village=g.get("village") or "",
        place=g.get("place_text") or g.get("village") or "",
        owner=g.get("owner") or "",
        type=g.get("type") or "",
        size_m2=float(g["size_m2"]) if g.get("size_m2") else None,
        land_transfer=g.get("land_transfer") or "",
        built_on=g.get("built_on") or "",
        production_status=g.get("production_status") or "",
        signage=g.get("signage") or "",
        last_visit_on=date.fromisoformat(g["last_visit_on"][:10])
        if g.get("last_visit_on")
        else None,
    )


def _fmt(v: Any) -> str:
    return f"{half_up(v)}"


def _width(text: str) -> int:
    """Display columns (a CJK character is two), from wcwidth's Unicode tables."""
    return int(wcwidth.width(text))


def _pad(text: str, width: int) -> str:
    return text + " " * max(1, width - _width(text))


def score_lines(res: ScoreResult) -> list[str]:
    """One line per item (序号 内容 赋分 得分 方式 依据), then the total and the veto state."""
    out = [
        _pad("序号", 7)
        + _pad("考核内容（摘要）", 36)
        + _pad("赋分", 8)
        + _pad("得分", 8)
        + _pad("方式", 10)
        + "依据"
    ]
    for s in res.items:
        line = (
            _pad(s.item.id, 7)
            + _pad(s.item.short, 36)
            + _pad(_fmt(s.item.max), 8)
            + _pad(_fmt(s.score), 8)
            + _pad(s.method, 10)
            + s.evidence
        )
        if s.reason and s.score < s.item.max or s.method == "人工调整":
            line += f"　扣分原因：{s.reason}"
        out.append(line)
    out.append(
        _pad("合计", 43)
        + _pad(_fmt(res.scheme.total), 8)
        + _pad(_fmt(res.total), 8)
        + _pad("", 10)
        + res.veto_text
    )
    return out


def write_score_form(
    res: ScoreResult,
    path: str | Path,
    *,
    county_name: str = "",
    scored_on: date,
    period: str = "",
) -> None:
    """Write sheet 考核验收评分表: 9 columns, 序号 and 考核项目 merged per group, 合计, veto, signatures."""
    last = len(SCORE_COLUMNS) - 1
    with _workbook(Path(path)) as (wb, fm):
        ws = wb.add_worksheet("考核验收评分表")
        _title(
            ws,
            fm,
            f"宁夏“大棚房”问题专项清理整治行动考核验收评分表（{county_name}自评）",
            f"评分日期：{scored_on.isoformat()}　统计期间：{period}",
            last,
        )
        for c, h in enumerate(SCORE_COLUMNS):
            ws.write_string(2, c, h, fm.head)
        widths = (6, 18, 12, 60, 9, 9, 30, 10, 40)
        for c, w in enumerate(widths):
            ws.set_column(c, c, w)
        row = 3
        for key in GROUP_ORDER:
            items = [s for s in res.items if s.item.group == key]
            if not items:
                continue
            group = res.scheme.groups[key]
            first = row
            for s in items:
                text = s.item.text + ("（自评预估）" if key == "七" else "")
                ws.write_string(row, 2, s.item.subgroup, fm.text)
                ws.write_string(row, 3, text, fm.text)
                ws.write_number(row, 4, float(s.item.max), fm.num2)
                ws.write_number(row, 5, float(half_up(s.score)), fm.num2)
                ws.write_string(
                    row,
                    6,
                    s.reason if (s.score < s.item.max or s.method == "人工调整") else "",
                    fm.text,
                )
                ws.write_string(row, 7, s.method, fm.center)
                ws.write_string(row, 8, s.evidence, fm.text)
                row += 1
            if row - 1 > first:
                ws.merge_range(first, 0, row - 1, 0, key, fm.center)
                ws.merge_range(first, 1, row - 1, 1, group.heading, fm.text)
            else:
                ws.write_string(first, 0, key, fm.center)
                ws.write_string(first, 1, group.heading, fm.text)
        ws.merge_range(row, 0, row, 3, "合计", fm.total_text)
        ws.write_number(row, 4, float(res.scheme.total), fm.total_num2)
        ws.write_number(row, 5, float(res.total), fm.total_num2)
        ws.merge_range(row, 6, row, last, "", fm.total_text)
        row += 1
        ws.merge_range(
            row,
            0,
            row,
            last,
            f"考核结果：{res.veto_text.replace('一票否决：', '一票否决 ')}",
            fm.info,
        )
        _print_setup(ws, header_first=2, header_last=2, widths=[float(w) for w in widths])
        ws.merge_range(row + 2, 0, row + 2, last, SIGNATURE, fm.info)
