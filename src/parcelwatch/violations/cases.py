"""两违 cases as pure rules: settings, status transitions and what each needs, 增量/存量 and 顶风突击,
the governed area (治理面积) of a year, progress against the target and the calendar (序时进度).

Areas are :class:`~decimal.Decimal` m²; percentages are rounded half up to 2 decimals for display.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from parcelwatch.errors import ConfigError, StatusTransitionError

__all__ = [
    "ViolationSettings",
    "settings_from_mapping",
    "STATUSES",
    "DISPOSALS",
    "transition_problems",
    "check_transition",
    "classify_stock",
    "check_disposed_area",
    "governed_m2",
    "Progress",
    "progress",
    "time_progress",
    "cumulative",
    "new_cases",
    "pct",
]

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
STATUSES = ("待核实", "不属实", "已认定", "已制止", "处置中", "已处置", "已销号", "反弹")
DISPOSALS = ("拆除", "没收", "完善手续", "保留临时使用")
DEMOLITION_MODES = ("自拆", "助拆", "强拆")
POST_USES = ("宜耕", "宜建", "宜绿", "还路", "治乱", "添景", "未利用")
DISPOSED = ("已处置", "已销号")
OPEN = ("已认定", "已制止", "处置中")
_NEXT = {
    "待核实": ("已认定", "不属实"),
    "已认定": ("已制止", "处置中"),
    "已制止": ("处置中",),
    "处置中": ("已处置",),
    "已处置": ("已销号",),
    "已销号": ("反弹",),
    "反弹": ("已制止", "处置中"),
    "不属实": (),
}


@dataclass(frozen=True)
class ViolationSettings:
    """``[violations]`` (SEED-SYSTEMS §A.2); every default is marked [inferred] there."""

    action_start: date = date(2017, 4, 24)
    defiance_since: date = date(2014, 1, 1)
    area_basis: str = "floor"
    counted_disposals: tuple[str, ...] = DISPOSALS
    priority_tags: tuple[str, ...] = ("六先拆", "四重点", "五部位")
    same_site_share: float = 0.5
    same_site_iou: float = 0.3


def settings_from_mapping(
    data: Mapping[str, Any], *, where: str = "[violations]"
) -> ViolationSettings:
    known = set(ViolationSettings.__dataclass_fields__)
    bad = [k for k in data if k not in known]
    if bad:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(bad)}; known: {', '.join(sorted(known))}."
        )
    kw: dict[str, Any] = {}
    for k in ("action_start", "defiance_since"):
        if k in data:
            v = data[k]
            kw[k] = v if isinstance(v, date) else date.fromisoformat(str(v))
    if "area_basis" in data:
        if data["area_basis"] not in ("floor", "land"):
            raise ConfigError(
                f"{where} area_basis = {data['area_basis']!r}: use floor (建筑面积) or land (占地面积)."
            )
        kw["area_basis"] = data["area_basis"]
    if "counted_disposals" in data:
        bad = [d for d in data["counted_disposals"] if d not in DISPOSALS]
        if bad:
            raise ConfigError(
                f"{where} counted_disposals: {', '.join(bad)} not in {', '.join(DISPOSALS)}."
            )
        kw["counted_disposals"] = tuple(data["counted_disposals"])
    for k in ("priority_tags",):
        if k in data:
            kw[k] = tuple(str(x) for x in data[k])
    for k in ("same_site_share", "same_site_iou"):
        if k in data:
            kw[k] = float(data[k])
    return ViolationSettings(**kw)


def _d(v: Any) -> Decimal | None:
    if v is None or v == "":
        return None
    return Decimal(str(v))


def basis_area(case: Mapping[str, Any], settings: ViolationSettings) -> Decimal | None:
    return _d(case.get("floor_area_m2" if settings.area_basis == "floor" else "land_area_m2"))


def check_disposed_area(case: Mapping[str, Any], settings: ViolationSettings) -> list[str]:
    """``0 < disposed_area_m2 <= basis area`` (建筑面积 or 占地面积 per ``area_basis``)."""
    area = _d(case.get("disposed_area_m2"))
    if area is None:
        return []
    basis = basis_area(case, settings)
    name = "建筑面积 floor_area_m2" if settings.area_basis == "floor" else "占地面积 land_area_m2"
    if area <= 0:
        return [f"disposed_area_m2 = {area}: 治理面积须大于0"]
    if basis is not None and area > basis:
        return [
            f"disposed_area_m2 = {area} exceeds the case's {name} = {basis} (治理面积不能超过{name.split()[0]})"
        ]
    return []


def transition_problems(
    case: Mapping[str, Any],
    target: str,
    *,
    note: str = "",
    settings: ViolationSettings = ViolationSettings(),
) -> list[str]:
    """Why ``case`` (a dict with its new values applied) cannot move to ``target`` ([] = it can)."""
    cur = case.get("status") or "待核实"
    if target not in STATUSES:
        return [f"status {target!r} is not one of {'、'.join(STATUSES)}"]
    if target not in _NEXT.get(cur, ()):
        allowed = "、".join(_NEXT.get(cur, ())) or "none"
        return [f"{cur} -> {target} is not allowed (from {cur}: {allowed})"]
    out = []
    if target == "已认定" and not (case.get("illegal_land") or case.get("illegal_building")):
        out.append("illegal_land / illegal_building: 认定须为违法占地或违法建设 (at least one)")
    if target == "不属实" and not note:
        out.append("note: 认定不属实须写明理由")
    if target == "已制止" and not case.get("stopped_at"):
        out.append("stopped_at: 制止时间")
    if target in ("处置中", "已处置") and case.get("disposal") not in DISPOSALS:
        out.append(f"disposal: 处置方式 ({'、'.join(DISPOSALS)})")
    if target == "已处置":
        if not case.get("disposed_on"):
            out.append("disposed_on: 处置日期")
        if _d(case.get("disposed_area_m2")) is None:
            out.append("disposed_area_m2: 治理面积")
        if case.get("disposal") == "拆除" and case.get("demolition_mode") not in DEMOLITION_MODES:
            out.append(f"demolition_mode: 拆除方式 ({'、'.join(DEMOLITION_MODES)})")
        out += check_disposed_area(case, settings)
    if target == "已销号":
        if case.get("post_use") not in POST_USES:
            out.append(f"post_use: 拆后利用 ({'、'.join(POST_USES)})")
        if case.get("disposal") == "拆除" and case.get("debris_cleared") != "是":
            out.append("debris_cleared: 拆后建筑垃圾须清理 (是)")
    if target == "反弹" and not note:
        out.append("note: 反弹须写明依据 (violations compare)")
    return out


def check_transition(
    case: Mapping[str, Any],
    target: str,
    *,
    note: str = "",
    settings: ViolationSettings = ViolationSettings(),
) -> None:
    problems = transition_problems(case, target, note=note, settings=settings)
    if problems:
        raise StatusTransitionError(
            f"Case {case.get('case_id', '?')}: cannot move to {target}; missing or wrong: "
            + "; ".join(problems)
            + ". Nothing was changed."
        )


def classify_stock(started: date | None, settings: ViolationSettings) -> tuple[str, bool]:
    """(增量 or 存量, 顶风突击) from the construction start (增量 from ``action_start`` on)."""
    if started is None:
        return "存量", False
    return (
        "增量" if started >= settings.action_start else "存量"
    ), started >= settings.defiance_since


def _local_date(v: Any) -> date | None:
    if v is None or v == "":
        return None
    if isinstance(v, datetime):
        return (v.astimezone(LOCAL_TZ) if v.tzinfo else v).date()
    if isinstance(v, date):
        return v
    text = str(v)
    if len(text) > 10:
        return _local_date(datetime.fromisoformat(text))
    return date.fromisoformat(text)


def governed_m2(
    cases: Iterable[Mapping[str, Any]],
    year: int,
    settings: ViolationSettings,
    *,
    scope: str = "county",
    as_of: date | None = None,
    by_disposal: bool = False,
) -> Any:
    """治理面积 of ``year``: Σ disposed_area_m2 of 已处置/已销号 cases with a counted disposal and
    the local date of ``disposed_on`` in ``year`` (and ≤ ``as_of``); ``scope`` a town code."""
    total = Decimal(0)
    parts = dict.fromkeys(DISPOSALS, Decimal(0))
    for c in cases:
        if c.get("status") not in DISPOSED or c.get("disposal") not in settings.counted_disposals:
            continue
        if (
            scope != "county"
            and c.get("township_code") != scope
            and c.get("township_name") != scope
        ):
            continue
        day = _local_date(c.get("disposed_on"))
        if day is None or day.year != year or (as_of is not None and day > as_of):
            continue
        a = _d(c.get("disposed_area_m2")) or Decimal(0)
        total += a
        parts[c["disposal"]] += a
    return (total, parts) if by_disposal else total


def pct(x: Decimal) -> Decimal:
    """A ratio as a percentage, half up to 2 decimals (0.875 -> 87.50)."""
    return (x * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def time_progress(as_of: date) -> Decimal:
    """序时进度: day of year / days in the year (2019-06-30 -> 181/365)."""
    days = (date(as_of.year, 12, 31) - date(as_of.year, 1, 1)).days + 1
    return Decimal(as_of.timetuple().tm_yday) / Decimal(days)


@dataclass(frozen=True)
class Progress:
    year: int
    governed_m2: Decimal
    target_m2: Decimal
    progress: Decimal  # ratio
    time_progress: Decimal | None  # ratio, when as_of is inside the year
    gap_points: Decimal | None  # (progress − time progress) × 100, 2 dp half up


def progress(cases: Sequence[Mapping[str, Any]], year: int, target_m2: Decimal | float, settings: ViolationSettings,
             *, scope: str = "county", as_of: date | None = None) -> Progress:  # fmt: skip
    target = Decimal(str(target_m2))
    if target <= 0:
        raise ConfigError(f"The {year} target must be > 0 m² (got {target}).")
    gov = governed_m2(cases, year, settings, scope=scope, as_of=as_of)
    ratio = gov / target
    tp = gap = None
    if as_of is not None and as_of.year == year:
        tp = time_progress(as_of)
        gap = ((ratio - tp) * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return Progress(year, gov, target, ratio, tp, gap)


def cumulative(cases: Sequence[Mapping[str, Any]], targets: Mapping[int, Decimal | float], settings: ViolationSettings,
               *, as_of: date | None = None) -> tuple[Decimal, Decimal, Decimal]:  # fmt: skip
    """(governed, target, ratio) summed over the target years."""
    gov = sum((governed_m2(cases, y, settings, as_of=as_of) for y in targets), Decimal(0))
    tgt = sum((Decimal(str(t)) for t in targets.values()), Decimal(0))
    return gov, tgt, gov / tgt


def new_cases(
    cases: Iterable[Mapping[str, Any]], month: str
) -> tuple[int, Decimal, list[Mapping[str, Any]]]:
    """增量 cases found in ``month`` (local date of ``found_at``): count, area (basis: floor, else land)."""
    hits = [
        c
        for c in cases
        if c.get("stock") == "增量"
        and c.get("status") != "不属实"
        and (d := _local_date(c.get("found_at"))) is not None
        and f"{d.year:04d}-{d.month:02d}" == month
    ]
    area = sum(
        ((_d(c.get("floor_area_m2")) or _d(c.get("land_area_m2")) or Decimal(0)) for c in hits),
        Decimal(0),
    )
    return len(hits), area, hits
