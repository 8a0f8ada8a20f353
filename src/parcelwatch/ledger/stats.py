"""Ledger statistics: counts and areas by status, class and township, 整改完成率, and the county's
违法占用耕地面积比例 (DOMAIN §3.7, W8). Pure: records and rules in, a value out.

Every figure is defined once in :mod:`parcelwatch.ledger.figures` (认定违法, 整改完成率,
违法占用耕地（已认定） vs 疑似（未认定）, order, half-up rounding at display); this module adds the
year's ratio:

* **违法占用耕地面积比例** = Σ 耕地 (永农 included) occupied by the problem buildings of the
  认定违法 problems of the year ÷ ``[ledger] new_construction_farmland_m2``, the year's 耕地
  occupied by new construction land. Rectified problems still count: the ratio measures the
  occupation that happened in the year. Unknown (``None``) while that total is 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd

from parcelwatch.config import DEFAULT_RULES, Rules
from parcelwatch.errors import LedgerError
from parcelwatch.ledger.figures import (
    Figures,
    as_table,
    figure_rows,
    figures,
    figures_by,
    mu_text,
    rate_text,
)
from parcelwatch.ledger.model import Event, ProblemRecord, replay

__all__ = ["LedgerStats", "ledger_stats", "records_as_of", "group_table", "GROUP_KEYS"]

#: ``ledger stats --by``: the record attribute each grouping reads
GROUP_KEYS = {
    "township": ("乡镇", lambda r: r.township_name or r.township_code or "(未知乡镇)"),
    "village": ("村", lambda r: r.village_name or r.village_code or "(未知村)"),
    "unit": ("责任单位", lambda r: r.responsible_unit or "(未定责任单位)"),
    "leader": ("责任领导", lambda r: r.responsible_leader or "(未定责任领导)"),
    "source": ("问题来源", lambda r: r.source or "卫片"),
}


def records_as_of(
    events: Sequence[Event], as_of: date, *, tz: str = "Asia/Shanghai"
) -> list[ProblemRecord]:
    """Every problem as it stood at the end of ``as_of`` (local date in ``tz``), by replaying the
    events whose time falls on or before that day; problems created later are absent.

    Later events never change the result, so a report for a past date is the same whenever it
    is printed (SEED-SYSTEMS 0.P1 ``--as-of``).
    """
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    kept = [e for e in events if datetime.fromisoformat(e.at).astimezone(zone).date() <= as_of]
    return sorted(replay(kept).values(), key=lambda r: r.problem_id)


def group_table(records: Sequence[ProblemRecord], by: str, *, today: date) -> pd.DataFrame:
    """Counts (整改完成率 as a half-up percent string) and areas (亩) grouped by ``by``.

    The figures of each group are :func:`parcelwatch.ledger.figures.figures` (the one definition
    of every figure); groups in name order."""
    from parcelwatch.ledger.figures import percent_text

    if by not in GROUP_KEYS:
        raise LedgerError(f"--by {by!r}: group by one of {', '.join(GROUP_KEYS)}.")
    label, key = GROUP_KEYS[by]
    rows = figure_rows(records, today=today)
    rows[label] = [key(r) for r in records]
    groups = {str(k): g for k, g in rows.groupby(label, sort=True)} if len(rows) else {}
    out = as_table([figures(g, k) for k, g in groups.items()], label)
    out["rate"] = [
        percent_text(int(c), int(n)) for c, n in zip(out["closed"], out["confirmed"], strict=True)
    ]
    return out


@dataclass
class LedgerStats:
    """The figures ``parcelwatch ledger stats`` prints (areas in 亩 in the tables)."""

    total: int
    by_status: pd.DataFrame  # index 状态 (figures.as_table columns; areas in 亩, unrounded)
    by_class: (
        pd.DataFrame
    )  # index 类别 (confirmed, else 疑似 + candidate), order I, II, III, 非农化
    by_township: pd.DataFrame  # index 乡镇
    confirmed: int
    closed_confirmed: int
    completion_rate: float | None
    overdue: int
    year: int
    illegal_farmland_m2: float
    new_construction_farmland_m2: float
    ratio: float | None
    ratio_level: str  # 问责 / 预警 / 正常 / 未知
    county: Figures | None = None  # the county's figures (parcelwatch.ledger.figures)

    def ratio_text(self) -> str:
        """One line on the 违法占用耕地面积比例 for reports."""
        mu = mu_text(self.illegal_farmland_m2)
        if self.ratio is None:
            return (
                f"{self.year}年违法占用耕地（已认定）{mu} 亩；违法占用耕地面积比例未知：在 rules.toml 的 [ledger] "
                "new_construction_farmland_m2 填写本年度新增建设占用耕地总面积（m²）后计算"
            )
        return (
            f"{self.year}年违法占用耕地（已认定）{mu} 亩 ÷ 新增建设占用耕地 {mu_text(self.new_construction_farmland_m2)} 亩 "
            f"= {rate_text(self.ratio)}（{self.ratio_level}）"
        )


def ledger_stats(
    records: Sequence[ProblemRecord],
    *,
    rules: Rules = DEFAULT_RULES,
    today: date,
    year: int | None = None,
) -> LedgerStats:
    """Statistics of ``records`` as of ``today``; the ratio is for ``year`` (default today's year)."""
    year = year or today.year
    rows = figure_rows(records, today=today)
    county = figures(rows)
    illegal = float(rows.loc[rows["confirmed"] & (rows["year"] == year), "illegal_m2"].sum())
    total_new = rules.ledger.new_construction_farmland_m2
    ratio = illegal / total_new if total_new > 0 else None
    if ratio is None:
        level = "未知"
    elif ratio >= rules.ledger.ratio_alert:
        level = f"达到{rules.ledger.ratio_alert:.0%}问责标准"
    elif ratio >= rules.ledger.ratio_warning:
        level = f"达到{rules.ledger.ratio_warning:.0%}预警线"
    else:
        level = "正常"
    return LedgerStats(
        total=county.count,
        by_status=as_table(figures_by(rows, "status"), "状态"),
        by_class=as_table(figures_by(rows, "class"), "类别"),
        by_township=as_table(figures_by(rows, "township"), "乡镇"),
        confirmed=county.confirmed,
        closed_confirmed=county.closed,
        completion_rate=county.completion_rate,
        overdue=county.overdue,
        year=year,
        illegal_farmland_m2=illegal,
        new_construction_farmland_m2=total_new,
        ratio=ratio,
        ratio_level=level,
        county=county,
    )
