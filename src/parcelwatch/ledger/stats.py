"""Ledger statistics: counts and areas by status, class and township, 整改完成率, and the county's
违法占用耕地面积比例 (DOMAIN §3.7, W8). Pure: records and rules in, a value out.

* **整改完成率** = problems 已销号 among the problems confirmed illegal (judgement 违法: ever put in
  未整改 / 整改中 and not re-verified since) ÷ those confirmed-illegal problems.
* **违法占用耕地面积比例** = Σ 耕地 (永农 included) occupied by the problem buildings of the
  confirmed-illegal problems of the year ÷ ``[ledger] new_construction_farmland_m2``, the year's
  耕地 occupied by new construction land. Rectified problems still count: the ratio measures the
  occupation that happened in the year. Unknown (``None``) while that total is 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import pandas as pd

from parcelwatch.config import DEFAULT_RULES, Rules
from parcelwatch.ledger.model import ProblemRecord, Status, is_overdue
from parcelwatch.units import m2_to_mu

__all__ = ["LedgerStats", "ledger_stats"]


@dataclass
class LedgerStats:
    """The figures ``parcelwatch ledger stats`` prints (areas in 亩 in the tables)."""

    total: int
    by_status: pd.DataFrame  # index 状态: count, parcel_mu, illegal_farmland_mu, remaining_mu
    by_class: pd.DataFrame  # index 类别 (confirmed, else 疑似 + candidate)
    by_township: pd.DataFrame  # index 乡镇 with count, confirmed, closed, overdue and areas
    confirmed: int
    closed_confirmed: int
    completion_rate: float | None
    overdue: int
    year: int
    illegal_farmland_m2: float
    new_construction_farmland_m2: float
    ratio: float | None
    ratio_level: str  # 问责 / 预警 / 正常 / 未知

    def ratio_text(self) -> str:
        """One line on the 违法占用耕地面积比例 for reports."""
        mu = m2_to_mu(self.illegal_farmland_m2)
        if self.ratio is None:
            return (
                f"{self.year}年违法占用耕地 {mu:.2f} 亩；违法占用耕地面积比例未知：在 rules.toml 的 [ledger] "
                "new_construction_farmland_m2 填写本年度新增建设占用耕地总面积（m²）后计算"
            )
        return (
            f"{self.year}年违法占用耕地 {mu:.2f} 亩 ÷ 新增建设占用耕地 {m2_to_mu(self.new_construction_farmland_m2):.2f} 亩 "
            f"= {self.ratio:.2%}（{self.ratio_level}）"
        )


def _table(frame: pd.DataFrame, key: str, order: Sequence[str] | None = None) -> pd.DataFrame:
    g = frame.groupby(key, sort=True, dropna=False)
    out = pd.DataFrame(
        {
            "count": g.size(),
            "confirmed": g["confirmed"].sum(),
            "closed": g["closed"].sum(),
            "overdue": g["overdue"].sum(),
            "parcel_mu": g["parcel_mu"].sum().round(2),
            "illegal_farmland_mu": g["illegal_mu"].sum().round(2),
            "remaining_mu": g["remaining_mu"].sum().round(2),
        }
    )
    if order is not None:
        out = out.reindex([o for o in order if o in out.index])
    out.index.name = key
    return out.astype({"count": int, "confirmed": int, "closed": int, "overdue": int})


def ledger_stats(
    records: Sequence[ProblemRecord],
    *,
    rules: Rules = DEFAULT_RULES,
    today: date,
    year: int | None = None,
) -> LedgerStats:
    """Statistics of ``records`` as of ``today``; the ratio is for ``year`` (default today's year)."""
    year = year or today.year
    confirmed = [r.judgement == "违法" for r in records]
    frame = pd.DataFrame(
        {
            "状态": [r.status.value for r in records],
            "类别": [r.display_class for r in records],
            "乡镇": [r.township_name or "(未知乡镇)" for r in records],
            "confirmed": confirmed,
            "closed": [
                c and r.status is Status.CLOSED for c, r in zip(confirmed, records, strict=True)
            ],
            "overdue": [is_overdue(r, today) for r in records],
            "parcel_mu": [m2_to_mu(r.parcel_area_m2 or 0.0) for r in records],
            "illegal_mu": [m2_to_mu(r.illegal_occupied_m2) for r in records],
            "remaining_mu": [m2_to_mu(r.remaining_unrectified_m2 or 0.0) for r in records],
        }
    )
    n_conf = int(sum(confirmed))
    n_closed = int(frame["closed"].sum()) if len(frame) else 0
    illegal = float(
        sum(
            r.illegal_occupied_m2
            for r, c in zip(records, confirmed, strict=True)
            if c and r.year == year
        )
    )
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
        total=len(records),
        by_status=_table(frame, "状态", [s.value for s in Status]),
        by_class=_table(frame, "类别"),
        by_township=_table(frame, "乡镇"),
        confirmed=n_conf,
        closed_confirmed=n_closed,
        completion_rate=(n_closed / n_conf) if n_conf else None,
        overdue=int(frame["overdue"].sum()) if len(frame) else 0,
        year=year,
        illegal_farmland_m2=illegal,
        new_construction_farmland_m2=total_new,
        ratio=ratio,
        ratio_level=level,
    )
