"""Monthly village scoring (seed 004 五(二)1-8, SEED-SYSTEMS §B.3) as pure functions.

:func:`monthly` takes every patrol finding that may matter (the month's and earlier ones, since a
village report of April protects against a district finding of May) and returns each village's
score for the month; :func:`quarterly` averages three monthly scores and grades the average.
Scores are :class:`~decimal.Decimal`; :func:`display` rounds half up to 2 decimals (never
Python's banker's ``round``).

The rules, numbered as in SEED-SYSTEMS §B.1:

* R1 a village's own report (``village_self``), verified 属实, with evidence (a photo), reported
  before any town/higher finder found the same issue, earliest of its issue: + item points.
* R2/R3/R5 a town group/department, district, city, province or central finder, 属实, when the
  village had not reported the issue before the finder found it: − points × multiplier
  (central: "veto", the month's score is ``veto_score``).
* R4 a complaint channel (12345, 信访, 市长信箱, 舆情): as R2/R3 with the complaint date
  (投诉之日) as reference.
* R6 score = base + bonus − deduction, capped (and floored if the town set a floor).
* R7/R8 quarter = mean of the three monthly scores; bands top-down; 较差 gets no reward.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from parcelwatch.errors import ConfigError, format_problems
from parcelwatch.patrol.scheme import COMPLAINT_KINDS, FINDER_LABELS, Scheme

__all__ = [
    "Entry",
    "ScoreLine",
    "VillageMonth",
    "MonthResult",
    "QuarterResult",
    "monthly",
    "quarterly",
    "grade_of",
    "competition_ranks",
    "display",
    "month_of",
    "month_bounds",
    "quarter_months",
    "TRUE",
    "FALSE",
    "PENDING",
]

TRUE, FALSE, PENDING = "属实", "不属实", "待核实"
LOCAL_TZ = ZoneInfo("Asia/Shanghai")
TWO = Decimal("0.01")

#: deduction column of each finder kind (the bulletin's 扣分 sub-columns)
DEDUCTION_COLUMN = {
    "town_group": "town",
    "town_dept": "town",
    "district": "district",
    "city": "city",
    "province": "province",
    **{k: "hotline_petition" for k in COMPLAINT_KINDS},
}
_RULE = {
    "town_group": ("R2", "五(二)2 镇巡查督查组发现"),
    "town_dept": ("R2", "五(二)2 镇职能部门发现"),
    "district": ("R3", "五(二)3 区级督查发现"),
    "city": ("R3", "五(二)3 市级督查发现"),
    "province": ("R3", "五(二)3 省级督查发现"),
    "central": ("R5", "五(二)5 中央、国家督查发现"),
}


def display(value: Decimal | int | float) -> Decimal:
    """``value`` rounded half up to 2 decimals (89.665 -> 89.67; 12.5 stays 12.50)."""
    return Decimal(str(value)).quantize(TWO, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Entry:
    """One finding by one finder, as scoring sees it (a row of ``patrol_findings``).

    Times are aware datetimes (or naive = Asia/Shanghai local); ``issue_id`` groups findings of the
    same real-world problem (empty: the finding is its own issue).
    """

    finding_id: str
    village: str
    item_code: str
    finder_kind: str
    verified_result: str = PENDING
    found_at: datetime | None = None
    reported_at: datetime | None = None
    complaint_at: datetime | None = None
    occurred_on: date | None = None
    verified_at: datetime | None = None
    issue_id: str = ""
    photos: int = 0
    finder_name: str = ""

    @property
    def issue(self) -> str:
        return self.issue_id or self.finding_id

    @property
    def reference_time(self) -> datetime | None:
        """When this finder found it: the complaint date for complaint channels (R4)."""
        if self.finder_kind in COMPLAINT_KINDS:
            return self.complaint_at or self.found_at
        if self.finder_kind == "village_self":
            return self.reported_at or self.found_at
        return self.found_at


@dataclass(frozen=True)
class ScoreLine:
    """One finding's effect on a village's month (for the 加扣分明细 sheet)."""

    finding_id: str
    village: str
    item_code: str
    finder_kind: str
    rule: str  # R1..R5, or "" when it does not score
    points: Decimal  # the item's points
    multiplier: Decimal | str  # Decimal, "veto", or 1 for a bonus
    signed: Decimal  # + bonus, - deduction, 0
    basis: str  # 依据 / why it does not score (Chinese)


@dataclass(frozen=True)
class VillageMonth:
    village: str
    month: str
    base: Decimal
    bonus: Decimal
    deduction_town: Decimal
    deduction_district: Decimal
    deduction_city: Decimal
    deduction_province: Decimal
    deduction_hotline_petition: Decimal
    vetoed: bool
    raw: Decimal
    score: Decimal
    rank: int = 0
    lines: tuple[ScoreLine, ...] = ()

    @property
    def deduction(self) -> Decimal:
        return (
            self.deduction_town
            + self.deduction_district
            + self.deduction_city
            + self.deduction_province
            + self.deduction_hotline_petition
        )


@dataclass(frozen=True)
class MonthResult:
    month: str
    villages: tuple[VillageMonth, ...]
    pending: int = 0  # 待核实 findings of the month (not scored)
    out_of_catalogue: int = 0  # 目录外 findings (never scored)
    not_true: int = 0  # 不属实
    lines: tuple[ScoreLine, ...] = field(default=())

    def village(self, name: str) -> VillageMonth:
        for v in self.villages:
            if v.village == name:
                return v
        raise KeyError(name)


@dataclass(frozen=True)
class QuarterResult:
    village: str
    scores: tuple[Decimal, ...]
    average: Decimal  # 2-dp, half up
    grade: str
    reward: bool
    rank: int = 0


def _local(t: datetime | date | None) -> date | None:
    if t is None:
        return None
    if isinstance(t, datetime):
        if t.tzinfo is not None:
            t = t.astimezone(LOCAL_TZ)
        return t.date()
    return t


def month_of(t: datetime | date | None) -> str:
    """``YYYY-MM`` of ``t``'s local date in Asia/Shanghai ('' for None)."""
    d = _local(t)
    return f"{d.year:04d}-{d.month:02d}" if d else ""


def month_bounds(month: str) -> tuple[date, date]:
    """First and last day of ``YYYY-MM``."""
    y, m = (int(x) for x in month.split("-"))
    first = date(y, m, 1)
    nxt = date(y + (m == 12), m % 12 + 1, 1)
    return first, date.fromordinal(nxt.toordinal() - 1)


def quarter_months(quarter: str) -> tuple[str, str, str]:
    """``2026Q2`` -> (2026-04, 2026-05, 2026-06)."""
    text = quarter.strip().upper()
    if len(text) != 6 or text[4] != "Q" or text[5] not in "1234" or not text[:4].isdigit():
        raise ConfigError(f"Quarter {quarter!r} is not like 2026Q2 (year, Q, 1-4).")
    y, q = int(text[:4]), int(text[5])
    return tuple(f"{y:04d}-{3 * (q - 1) + i:02d}" for i in (1, 2, 3))  # type: ignore[return-value]


def _cmp_time(t: datetime | None) -> datetime | None:
    if t is None:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=LOCAL_TZ)


def scoring_month(e: Entry, scheme: Scheme) -> str:
    """The month an entry counts in (``[scheme] score_month_by``)."""
    by = scheme.score_month_by
    if by == "found_at":
        return month_of(e.reference_time)
    if by == "occurred_on":
        return month_of(e.occurred_on)
    return month_of(e.verified_at)


def monthly(
    entries: Iterable[Entry],
    scheme: Scheme,
    month: str,
    *,
    villages: Sequence[str] | None = None,
) -> MonthResult:
    """Every village's score for ``month`` (``YYYY-MM``) under rules R1-R6; ranks by score.

    ``entries`` should hold the month's findings and the earlier findings of the same issues.
    ``villages`` defaults to the scheme's villages (every village has a score each month), plus any
    village a finding names. Raises :class:`ConfigError` naming the items used by a 属实 finding
    of the month that have no points (附件2).
    """
    all_e = list(entries)
    first, _last = month_bounds(month)
    by_issue: dict[str, list[Entry]] = {}
    for e in all_e:
        by_issue.setdefault(e.issue, []).append(e)

    in_month = [e for e in all_e if scoring_month(e, scheme) == month]
    pending = sum(1 for e in in_month if e.verified_result == PENDING)
    not_true = sum(1 for e in in_month if e.verified_result == FALSE)
    out_cat = sum(
        1
        for e in in_month
        if e.verified_result != FALSE
        and (not e.item_code or scheme.item(e.item_code, first) is None)
    )

    def eligible(e: Entry) -> bool:
        return (
            e.verified_result == TRUE
            and bool(e.item_code)
            and scheme.item(e.item_code, first) is not None
            and scoring_month(e, scheme) == month
        )

    missing = sorted(
        {
            f"{e.item_code} {scheme.item(e.item_code, first).name}"  # type: ignore[union-attr]
            for e in in_month
            if eligible(e) and scheme.item(e.item_code, first).points is None  # type: ignore[union-attr]
        }
    )
    if missing:
        raise ConfigError(
            format_problems(
                f"巡查目录事项 {'、'.join(missing)} 未填写对应分值（附件2）",
                [],
                fix="请在 patrol.toml [catalogue] items 中填写 points 后再计分 (fill in the item's points, then score again).",
            )
        )

    def pts(e: Entry) -> Decimal:
        item = scheme.item(e.item_code, first)
        assert item is not None and item.points is not None
        return item.points

    def village_reported_before(e: Entry) -> bool:
        ref = _cmp_time(e.reference_time)
        if ref is None:
            return False
        return any(
            f.finder_kind == "village_self"
            and f.reported_at is not None
            and _cmp_time(f.reported_at) < ref  # type: ignore[operator]
            for f in by_issue[e.issue]
        )

    def earliest_village(e: Entry) -> bool:
        reports = [
            f
            for f in by_issue[e.issue]
            if f.finder_kind == "village_self" and f.reported_at is not None
        ]
        best = min(reports, key=lambda f: (_cmp_time(f.reported_at), f.finding_id))
        return best.finding_id == e.finding_id

    def bonus_why_not(f: Entry) -> str:
        if f.reported_at is None:
            return "无上报时间，不加分"
        if f.photos < 1:
            return "无佐证材料(照片)，不加分（资料不完善）"
        rep = _cmp_time(f.reported_at)
        for g in by_issue[f.issue]:
            t = _cmp_time(g.reference_time)
            if (
                g.finder_kind != "village_self"
                and g.verified_result == TRUE
                and t is not None
                and t <= rep  # type: ignore[operator]
            ):
                return f"{FINDER_LABELS.get(g.finder_kind, g.finder_kind)}先发现({g.finding_id})，村上报不加分"
        if scheme.timely_days is not None and f.occurred_on is not None:
            lag = (_local(f.reported_at) - f.occurred_on).days  # type: ignore[operator]
            if lag > scheme.timely_days:
                return f"上报晚于发生{lag}天(超过{scheme.timely_days}天)，不加分"
        if not earliest_village(f):
            return "同一问题已由本村较早上报加分"
        return ""

    names = list(villages) if villages is not None else list(scheme.villages)
    for e in in_month:
        if e.village not in names:
            names.append(e.village)

    lines: list[ScoreLine] = []
    acc: dict[str, dict[str, Decimal]] = {
        v: {
            k: Decimal(0)
            for k in ("bonus", "town", "district", "city", "province", "hotline_petition")
        }
        for v in names
    }
    vetoed: dict[str, bool] = dict.fromkeys(names, False)
    deducted_issues: set[tuple[str, str]] = set()
    for e in sorted(in_month, key=lambda x: x.finding_id):
        if e.verified_result == PENDING:
            continue
        if e.verified_result == FALSE:
            lines.append(
                ScoreLine(
                    e.finding_id,
                    e.village,
                    e.item_code,
                    e.finder_kind,
                    "",
                    Decimal(0),
                    Decimal(1),
                    Decimal(0),
                    "核实不属实，不计分",
                )
            )
            continue
        if not eligible(e):
            lines.append(
                ScoreLine(
                    e.finding_id,
                    e.village,
                    e.item_code,
                    e.finder_kind,
                    "",
                    Decimal(0),
                    Decimal(1),
                    Decimal(0),
                    "不属于巡查目录，不计分",
                )
            )
            continue
        p = pts(e)
        if e.finder_kind == "village_self":
            why = bonus_why_not(e)
            if why:
                lines.append(
                    ScoreLine(
                        e.finding_id,
                        e.village,
                        e.item_code,
                        e.finder_kind,
                        "",
                        p,
                        Decimal(1),
                        Decimal(0),
                        why,
                    )
                )
            else:
                acc[e.village]["bonus"] += p
                lines.append(
                    ScoreLine(
                        e.finding_id,
                        e.village,
                        e.item_code,
                        e.finder_kind,
                        "R1",
                        p,
                        Decimal(1),
                        p,
                        "五(二)1 村(居)主动巡查发现并上报，按对应分值加分",
                    )
                )
            continue
        if village_reported_before(e):
            lines.append(
                ScoreLine(
                    e.finding_id,
                    e.village,
                    e.item_code,
                    e.finder_kind,
                    "",
                    p,
                    Decimal(1),
                    Decimal(0),
                    "村(居)此前已上报，不扣分",
                )
            )
            continue
        if scheme.one_deduction_per_issue and (e.village, e.issue) in deducted_issues:
            lines.append(
                ScoreLine(
                    e.finding_id,
                    e.village,
                    e.item_code,
                    e.finder_kind,
                    "",
                    p,
                    Decimal(1),
                    Decimal(0),
                    "同一问题已扣分",
                )
            )
            continue
        deducted_issues.add((e.village, e.issue))
        m = scheme.multipliers.get(e.finder_kind, Decimal(1))
        if e.finder_kind in COMPLAINT_KINDS:
            rule, text = "R4", f"五(二)4 {FINDER_LABELS[e.finder_kind]}反映问题属实且此前未上报"
        else:
            rule, text = _RULE[e.finder_kind]
            text += "且村(居)此前没有上报"
        if m == "veto":
            vetoed[e.village] = True
            lines.append(
                ScoreLine(
                    e.finding_id,
                    e.village,
                    e.item_code,
                    e.finder_kind,
                    rule,
                    p,
                    "veto",
                    Decimal(0),
                    text + "，一票否决，当月积分为0",
                )
            )
            continue
        assert isinstance(m, Decimal)
        amount = p * m
        acc[e.village][DEDUCTION_COLUMN[e.finder_kind]] += amount
        lines.append(
            ScoreLine(
                e.finding_id,
                e.village,
                e.item_code,
                e.finder_kind,
                rule,
                p,
                m,
                -amount,
                f"{text}，按{_fmt_mult(m)}倍扣分",
            )
        )

    out = []
    for v in names:
        a = acc[v]
        deduction = a["town"] + a["district"] + a["city"] + a["province"] + a["hotline_petition"]
        raw = scheme.base + a["bonus"] - deduction
        if vetoed[v]:
            score = scheme.veto_score
        else:
            score = min(scheme.cap, raw)
            if scheme.floor is not None:
                score = max(scheme.floor, score)
        out.append(
            VillageMonth(
                v, month, scheme.base, a["bonus"], a["town"], a["district"], a["city"], a["province"],
                a["hotline_petition"], vetoed[v], raw, score,
                lines=tuple(x for x in lines if x.village == v),
            )
        )  # fmt: skip
    ranks = competition_ranks([x.score for x in out])
    out = [_with_rank(x, r) for x, r in zip(out, ranks, strict=True)]
    return MonthResult(month, tuple(out), pending, out_cat, not_true, tuple(lines))


def _with_rank(v: VillageMonth, rank: int) -> VillageMonth:
    from dataclasses import replace

    return replace(v, rank=rank)


def _fmt_mult(m: Decimal) -> str:
    return str(m.normalize()) if m == m.to_integral_value() else str(m)


def competition_ranks(values: Sequence[Decimal]) -> list[int]:
    """Competition ranking, highest first: 100, 60, 60, 58 -> 1, 2, 2, 4."""
    return [1 + sum(1 for w in values if w > v) for v in values]


def grade_of(average: Decimal, scheme: Scheme) -> str:
    """The grade of a quarterly average (already 2-dp) under ``[grading] bands``."""
    value = average
    if scheme.band_rounding == "integer_half_up":
        value = average.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    for band in scheme.bands:
        if band.admits(value):
            return band.grade
    raise ConfigError("[grading] bands: no band admits every average; end with min = -inf.")


def quarterly(scores: Mapping[str, Sequence[Decimal]], scheme: Scheme) -> list[QuarterResult]:
    """Quarter results (R7, R8) from each village's three monthly scores (in month order).

    The average is the sum over 3, rounded half up to 2 decimals; the grade is read from that
    2-dp value (or from its integer with ``band_rounding = "integer_half_up"``).
    """
    out = []
    for village, s in scores.items():
        if len(s) != 3:
            raise ConfigError(
                f"Village {village} has {len(s)} monthly scores for the quarter; a quarter needs 3. Score the missing months first."
            )
        avg = display(sum(s, Decimal(0)) / 3)
        g = grade_of(avg, scheme)
        out.append(QuarterResult(village, tuple(s), avg, g, g not in scheme.no_reward_grades))
    ranks = competition_ranks([q.average for q in out])
    from dataclasses import replace

    return [replace(q, rank=r) for q, r in zip(out, ranks, strict=True)]
