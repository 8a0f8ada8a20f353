"""The town's patrol scheme and catalogue (``WS/patrol.toml``), loaded into frozen values.

Everything but the item points comes from seed 004 (SEED-SYSTEMS §B.2); the seed's 附件2 with the
items' 对应分值 is missing, so points are the town's configuration. :func:`load_scheme` validates
the whole file and raises once with every problem; :func:`items_without_points` lists the items
that still need a value (``parcelwatch patrol config check``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import tomllib

from parcelwatch.errors import ConfigError, format_problems

__all__ = [
    "FINDER_KINDS",
    "COMPLAINT_KINDS",
    "FINDER_LABELS",
    "CatalogueItem",
    "Band",
    "Group",
    "Scheme",
    "PATROL_FILE",
    "load_scheme",
    "scheme_from_mapping",
    "template_toml",
    "items_without_points",
]

PATROL_FILE = "patrol.toml"

#: finder kind -> Chinese label (R1-R5)
FINDER_LABELS: dict[str, str] = {
    "village_self": "村(居)自查上报",
    "town_group": "镇巡查督查组",
    "town_dept": "镇职能部门",
    "district": "区级督查",
    "city": "市级督查",
    "province": "省级督查",
    "central": "中央、国家督查",
    "hotline_12345": "12345",
    "petition_town": "镇信访",
    "petition_district": "区信访",
    "petition_city": "市信访",
    "petition_province": "省信访",
    "mayor_mailbox": "市长信箱",
    "public_opinion": "舆情",
}
FINDER_KINDS = tuple(FINDER_LABELS)
COMPLAINT_KINDS = frozenset(
    {
        "hotline_12345",
        "petition_town",
        "petition_district",
        "petition_city",
        "petition_province",
        "mayor_mailbox",
        "public_opinion",
    }
)
_DEFAULT_MULTIPLIERS: dict[str, Any] = {
    "town_group": 1,
    "town_dept": 1,
    "district": 1,
    "city": 2,
    "province": 3,
    "central": "veto",
    "hotline_12345": 1,
    "petition_town": 1,
    "petition_district": 1,
    "petition_city": 2,
    "petition_province": 3,
    "mayor_mailbox": 2,
    "public_opinion": 1,
}


@dataclass(frozen=True)
class CatalogueItem:
    """One item of the 巡查目录清单 (附件2); ``points`` is ``None`` until the town fills it."""

    code: str
    name: str
    dept: str
    points: Decimal | None = None
    valid_from: date | None = None
    valid_to: date | None = None

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )


@dataclass(frozen=True)
class Band:
    """A grade band (R7): an average meets it when ``>= min`` (``> min`` if not inclusive)."""

    grade: str
    min: Decimal | None  # None = minus infinity
    inclusive: bool = True

    def admits(self, value: Decimal) -> bool:
        if self.min is None:
            return True
        return value >= self.min if self.inclusive else value > self.min


@dataclass(frozen=True)
class Group:
    """A 巡查督查组 and the villages it covers (in the order of ``patrol.toml``)."""

    id: str
    name: str
    villages: tuple[str, ...]
    area_text: str = ""


@dataclass(frozen=True)
class Scheme:
    """The scoring scheme (R1-R8) with its organisation and catalogue."""

    name: str = "大巡查"
    base: Decimal = Decimal(60)
    cap: Decimal = Decimal(100)
    floor: Decimal | None = None
    veto_score: Decimal = Decimal(0)
    score_month_by: str = "verified_at"
    band_rounding: str = "none"
    dept_due_day: int = 5
    bulletin_due_day: int = 10
    min_patrollers_per_village: int = 2
    min_group_visits_per_village_month: int = 1
    same_issue_distance_m: float = 50.0
    same_issue_days: int = 90
    timely_days: int | None = None
    one_deduction_per_issue: bool = False
    photo_max_distance_m: float = 500.0
    multipliers: Mapping[str, Decimal | str] = field(
        default_factory=lambda: {
            k: (v if v == "veto" else Decimal(v)) for k, v in _DEFAULT_MULTIPLIERS.items()
        }
    )
    bands: tuple[Band, ...] = (
        Band("优秀", Decimal(90), True),
        Band("良好", Decimal(80), True),
        Band("一般", Decimal(70), True),
        Band("合格", Decimal(60), False),
        Band("较差", None, True),
    )
    no_reward_grades: tuple[str, ...] = ("较差",)
    groups: tuple[Group, ...] = ()
    catalogue: tuple[CatalogueItem, ...] = ()

    @property
    def villages(self) -> tuple[str, ...]:
        """Every village of every group, in group order then file order."""
        return tuple(v for g in self.groups for v in g.villages)

    def group_of(self, village: str) -> Group | None:
        return next((g for g in self.groups if village in g.villages), None)

    def village_name(self, name: str) -> str | None:
        """The configured village a user's spelling means (马塘, 马塘村, 马塘村委会), or None."""
        name = name.strip()
        if name in self.villages:
            return name
        stem = _village_stem(name)
        hits = [v for v in self.villages if _village_stem(v) == stem]
        return hits[0] if len(hits) == 1 else None

    def item(self, code: str, day: date | None = None) -> CatalogueItem | None:
        """The catalogue item ``code`` valid on ``day`` (the latest ``valid_from`` wins)."""
        hits = [i for i in self.catalogue if i.code == code and (day is None or i.valid_on(day))]
        if not hits:
            return None
        return max(hits, key=lambda i: i.valid_from or date.min)

    @property
    def depts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(i.dept for i in self.catalogue))


def _village_stem(name: str) -> str:
    for suffix in ("村民委员会", "居民委员会", "村委会", "居委会", "社区", "居委", "村"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def items_without_points(scheme: Scheme) -> list[CatalogueItem]:
    """Catalogue items whose 对应分值 is not filled in (the seed's 附件2 is missing)."""
    return [i for i in scheme.catalogue if i.points is None]


# ------------------------------------------------------------------------------------------
# Loading and validation

_SCHEME_KEYS = {
    "name",
    "base",
    "cap",
    "floor",
    "veto_score",
    "score_month_by",
    "band_rounding",
    "dept_due_day",
    "bulletin_due_day",
    "min_patrollers_per_village",
    "min_group_visits_per_village_month",
    "same_issue_distance_m",
    "same_issue_days",
    "timely_days",
    "one_deduction_per_issue",
    "photo_max_distance_m",
}
_TOP_KEYS = {"scheme", "multipliers", "grading", "organisation", "catalogue"}
_MONTH_BY = ("verified_at", "found_at", "occurred_on")
_BAND_ROUNDING = ("none", "integer_half_up")


def _dec(value: Any, where: str, problems: list[str], *, empty_ok: bool = False) -> Decimal | None:
    if empty_ok and value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        problems.append(f"{where} = {value!r} is not a number")
        return None
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        problems.append(f"{where} = {value!r} is not a number")
        return None
    if not d.is_finite():
        problems.append(f"{where} = {value!r} must be a finite number")
        return None
    return d


def _unknown(keys: Any, allowed: set[str], where: str, problems: list[str]) -> None:
    import difflib

    for k in keys:
        if k not in allowed:
            close = difflib.get_close_matches(k, sorted(allowed), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"unknown key {where}{k}{hint}")


def _day(value: Any, where: str, problems: list[str]) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        problems.append(f"{where} = {value!r} is not a date (write 2026-01-01)")
        return None


def scheme_from_mapping(data: Mapping[str, Any], *, where: str = "patrol.toml") -> Scheme:
    """Build a :class:`Scheme` from parsed TOML; every problem is collected, then raised once."""
    problems: list[str] = []
    _unknown(data, _TOP_KEYS, "", problems)
    s = dict(data.get("scheme", {}))
    _unknown(s, _SCHEME_KEYS, "[scheme] ", problems)
    kw: dict[str, Any] = {}
    if "name" in s:
        kw["name"] = str(s["name"])
    for key in ("base", "cap", "veto_score"):
        if key in s:
            kw[key] = _dec(s[key], f"[scheme] {key}", problems)
    if "floor" in s:
        kw["floor"] = _dec(s["floor"], "[scheme] floor", problems, empty_ok=True)
    if "score_month_by" in s:
        if s["score_month_by"] not in _MONTH_BY:
            problems.append(
                f"[scheme] score_month_by = {s['score_month_by']!r}: use one of {', '.join(_MONTH_BY)}"
            )
        kw["score_month_by"] = s["score_month_by"]
    if "band_rounding" in s:
        if s["band_rounding"] not in _BAND_ROUNDING:
            problems.append(
                f"[scheme] band_rounding = {s['band_rounding']!r}: use one of {', '.join(_BAND_ROUNDING)}"
            )
        kw["band_rounding"] = s["band_rounding"]
    for key in ("dept_due_day", "bulletin_due_day"):
        if key in s:
            v = s[key]
            if not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= 28:
                problems.append(f"[scheme] {key} = {v!r}: a day of the month 1-28")
            kw[key] = v
    for key in (
        "min_patrollers_per_village",
        "min_group_visits_per_village_month",
        "same_issue_days",
    ):
        if key in s:
            v = s[key]
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                problems.append(f"[scheme] {key} = {v!r}: a whole number >= 0")
            kw[key] = v
    for key in ("same_issue_distance_m", "photo_max_distance_m"):
        if key in s:
            v = s[key]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0:
                problems.append(f"[scheme] {key} = {v!r}: metres >= 0")
            kw[key] = float(v) if isinstance(v, (int, float)) else 0.0
    if "timely_days" in s:
        v = s["timely_days"]
        if v == "":
            kw["timely_days"] = None
        elif isinstance(v, int) and not isinstance(v, bool) and v >= 0:
            kw["timely_days"] = v
        else:
            problems.append(f'[scheme] timely_days = {v!r}: days >= 0, or "" for no limit')
    if "one_deduction_per_issue" in s:
        if not isinstance(s["one_deduction_per_issue"], bool):
            problems.append("[scheme] one_deduction_per_issue: true or false")
        kw["one_deduction_per_issue"] = bool(s["one_deduction_per_issue"])

    mult = dict(Scheme().multipliers)
    for k, v in dict(data.get("multipliers", {})).items():
        if k not in _DEFAULT_MULTIPLIERS:
            _unknown([k], set(_DEFAULT_MULTIPLIERS), "[multipliers] ", problems)
            continue
        if v == "veto":
            mult[k] = "veto"
        else:
            d = _dec(v, f"[multipliers] {k}", problems)
            if d is not None and d < 0:
                problems.append(f'[multipliers] {k} = {v!r}: a factor >= 0 or "veto"')
            if d is not None:
                mult[k] = d
    kw["multipliers"] = mult

    g = dict(data.get("grading", {}))
    _unknown(g, {"bands", "no_reward_grades"}, "[grading] ", problems)
    if "bands" in g:
        bands = []
        for n, b in enumerate(g["bands"], start=1):
            w = f"[grading] bands[{n}]"
            if not isinstance(b, dict) or "grade" not in b or "min" not in b:
                problems.append(f'{w}: write {{ grade = "优秀", min = 90.0, inclusive = true }}')
                continue
            mn = b["min"]
            low = (
                None
                if isinstance(mn, float) and math.isinf(mn) and mn < 0
                else _dec(mn, f"{w} min", problems)
            )
            bands.append(Band(str(b["grade"]), low, bool(b.get("inclusive", True))))
        if bands and bands[-1].min is not None:
            problems.append(
                "[grading] bands: the last band must have min = -inf so that every average gets a grade"
            )
        mins = [b.min for b in bands if b.min is not None]
        if mins != sorted(mins, reverse=True):
            problems.append("[grading] bands: list the bands from the highest min to the lowest")
        kw["bands"] = tuple(bands)
    if "no_reward_grades" in g:
        kw["no_reward_grades"] = tuple(str(x) for x in g["no_reward_grades"])

    groups = []
    seen_v: dict[str, str] = {}
    org = dict(data.get("organisation", {}))
    _unknown(org, {"groups"}, "[organisation] ", problems)
    for n, grp in enumerate(org.get("groups", []), start=1):
        w = f"[[organisation.groups]] #{n}"
        if not isinstance(grp, dict) or not grp.get("id") or not grp.get("villages"):
            problems.append(f"{w}: needs id, name and villages")
            continue
        _unknown(grp, {"id", "name", "villages", "area_text"}, f"{w} ", problems)
        for v in grp["villages"]:
            if v in seen_v:
                problems.append(f"{w}: village {v} is already in group {seen_v[v]}")
            seen_v[v] = str(grp["id"])
        groups.append(
            Group(
                str(grp["id"]),
                str(grp.get("name", grp["id"])),
                tuple(str(v) for v in grp["villages"]),
                str(grp.get("area_text", "")),
            )
        )
    kw["groups"] = tuple(groups)

    cat = dict(data.get("catalogue", {}))
    _unknown(cat, {"items"}, "[catalogue] ", problems)
    items = []
    for n, it in enumerate(cat.get("items", []), start=1):
        w = f"[catalogue] items[{n}]"
        if (
            not isinstance(it, dict)
            or not it.get("code")
            or not it.get("name")
            or not it.get("dept")
        ):
            problems.append(f"{w}: needs code, name and dept")
            continue
        w = f"[catalogue] item {it['code']}"
        _unknown(
            it, {"code", "name", "dept", "points", "valid_from", "valid_to"}, f"{w} ", problems
        )
        pts = _dec(it["points"], f"{w} points", problems, empty_ok=True) if "points" in it else None
        if pts is not None and pts < 0:
            problems.append(
                f"{w} points = {pts}: points are >= 0 (the rule decides bonus or deduction)"
            )
        items.append(
            CatalogueItem(
                str(it["code"]),
                str(it["name"]),
                str(it["dept"]),
                pts,
                _day(it.get("valid_from"), f"{w} valid_from", problems),
                _day(it.get("valid_to"), f"{w} valid_to", problems),
            )
        )
    by_code: dict[str, list[CatalogueItem]] = {}
    for it in items:
        by_code.setdefault(it.code, []).append(it)
    for code, versions in by_code.items():
        if len(versions) > 1:
            starts = [v.valid_from for v in versions]
            if len(set(starts)) != len(starts):
                problems.append(
                    f"[catalogue] item {code} is listed {len(versions)} times with the same valid_from; give each version its own valid_from"
                )
    kw["catalogue"] = tuple(items)

    if problems:
        raise ConfigError(
            format_problems(
                f"{where}: {len(problems)} problem(s) in the patrol scheme",
                problems,
                fix=f"Edit {where} (see `parcelwatch patrol init` for the commented template).",
                limit=20,
            )
        )
    return Scheme(**kw)


def load_scheme(path: str | Path) -> Scheme:
    """Read and validate ``patrol.toml``."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(
            f"No patrol scheme at {p}. Write the template with `parcelwatch patrol init WS`, then fill in the item points (附件2)."
        )
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p} is not valid TOML (UTF-8): {exc}. Fix the line it names.") from exc
    return scheme_from_mapping(data, where=str(p))


# ------------------------------------------------------------------------------------------
# Template (seed 004; the points are left empty because the seed's 附件2 is missing)

_CATALOGUE: Sequence[tuple[str, str, str]] = (
    ("ZR-01", "违法用地", "自然资源所"),
    ("ZR-02", "违法建筑", "自然资源所"),
    ("NY-01", "农村非法占用宅基地", "农业农村办"),
    ("NY-02", "野外用火(露天焚烧)", "农业农村办"),
    ("NY-03", "漫水河", "农业农村办"),
    ("NY-04", "禁养区畜禽养殖(含反弹复养、原址新建)", "农业农村办"),
    ("NY-05", "撂荒耕地及复耕", "农业农村办"),
    ("NY-06", "“非农化、非粮化”", "农业农村办"),
    ("JF-01", "城镇、村庄规划", "经济发展办"),
    ("JF-02", "道路交通安全(路长制)", "经济发展办"),
    ("ST-01", "固废物非法处理", "生态环境保护办"),
    ("ST-02", "大气污染", "生态环境保护办"),
    ("ST-03", "水污染", "生态环境保护办"),
    ("ST-04", "土污染", "生态环境保护办"),
    ("ST-05", "饮用水源保护", "生态环境保护办"),
    ("ST-06", "农业污染", "生态环境保护办"),
    ("ST-07", "生活污染", "生态环境保护办"),
    ("ST-08", "工业污染", "生态环境保护办"),
    ("YJ-01", "安全生产", "应急管理办"),
    ("YJ-02", "防风防汛", "应急管理办"),
    ("YJ-03", "减灾救灾", "应急管理办"),
    ("SY-01", "动物防疫", "畜牧兽医站"),
    ("SY-02", "乱抛弃病死畜禽", "畜牧兽医站"),
    ("LY-01", "违法占用林地", "林业站"),
    ("LY-02", "野生动物保护", "林业站"),
    ("LY-03", "违规砍伐", "林业站"),
)
_GROUPS: Sequence[tuple[str, str, Sequence[str], str]] = (
    ("G1", "第一巡查督查组", ("太平居委",), "墟镇范围(东至富康华府、龙湾工业大道,南至环城路沙塘变电站,西至沙塘太平围村,北至太平初级中学)"),
    ("G2", "第二巡查督查组", ("楼星村", "大楼村", "大南村", "中南村", "南北村", "蒲兴村", "南蒲村", "沙塘村", "团结村"), ""),
    ("G3", "第三巡查督查组", ("马塘村", "天塘村", "马岳村", "天良村", "北坑村", "年丰村", "石桐村", "金门村"), "马岳、盈富工业园区"),
    ("G4", "第四巡查督查组", ("龙湾村", "秦皇村", "山心村", "郭屋村", "车公洞村"), "龙湾工业园区"),
)  # fmt: skip


def _q(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def template_toml(
    *,
    name: str = "太平镇大巡查",
    groups: Sequence[tuple[str, str, Sequence[str], str]] = _GROUPS,
    points: Mapping[str, float] | None = None,
) -> str:
    """The commented ``patrol.toml`` of seed 004 (points empty unless given: 附件2 is missing)."""
    points = points or {}
    lines = [
        "# parcelwatch patrol scheme (大巡查), seed 004 五(二)1-8. Checked by `parcelwatch patrol config check WS`.",
        "# Every value is from the seed except where marked [inferred]. The seed's 附件2 (巡查目录清单 with",
        "# each item's 对应分值) is missing: fill in `points` for every item before scoring.",
        "",
        "[scheme]",
        f"name = {_q(name)}",
        "base = 60                 # R6 每月的基础分值为60分",
        "cap = 100                 # R6 每月所得总分不超过100分",
        'floor = ""                # no lower bound in the seed [inferred]; a number clamps',
        "veto_score = 0            # R5 一票否决, 当月积分为0",
        'score_month_by = "verified_at"   # verified_at | found_at | occurred_on [inferred]',
        'band_rounding = "none"    # none | integer_half_up [inferred]',
        "dept_due_day = 5          # 次月5日前报综合行政执法办",
        "bulletin_due_day = 10     # 每月10日前通报",
        "min_patrollers_per_village = 2          # 不少于2名村(居)干部",
        "min_group_visits_per_village_month = 1  # 附件1 missing [inferred]",
        "same_issue_distance_m = 50              # [inferred]",
        "same_issue_days = 90                    # [inferred]",
        'timely_days = ""          # 及时上报: no number in the seed [inferred]',
        "one_deduction_per_issue = false         # [inferred]",
        "photo_max_distance_m = 500              # photo farther than this from its finding: warning [inferred]",
        "",
        '[multipliers]             # finder kind -> factor, or "veto" (R2-R5)',
    ]
    for k, v in _DEFAULT_MULTIPLIERS.items():
        lines.append(f"{k} = {_q(v) if isinstance(v, str) else v}")
    lines += [
        "",
        "[grading]                 # R7, R8: applied top-down to the quarterly average",
        "bands = [",
        '  { grade = "优秀", min = 90.0, inclusive = true },',
        '  { grade = "良好", min = 80.0, inclusive = true },',
        '  { grade = "一般", min = 70.0, inclusive = true },',
        '  { grade = "合格", min = 60.0, inclusive = false },   # "61至69"; (60, 70) for fractions [inferred]',
        '  { grade = "较差", min = -inf, inclusive = true },    # "低于60分(含60分)"',
        "]",
        'no_reward_grades = ["较差"]',
    ]
    for gid, gname, villages, area in groups:
        lines += ["", "[[organisation.groups]]", f"id = {_q(gid)}", f"name = {_q(gname)}"]
        lines.append("villages = [" + ", ".join(_q(v) for v in villages) + "]")
        if area:
            lines.append(f"area_text = {_q(area)}")
    lines += ["", "[catalogue]                # 附件2; fill in points (对应分值)", "items = ["]
    for code, iname, dept in _CATALOGUE:
        pts = points.get(code)
        p = f", points = {pts}" if pts is not None else ""
        lines.append(f"  {{ code = {_q(code)}, name = {_q(iname)}, dept = {_q(dept)}{p} }},")
    lines += ["]", ""]
    return "\n".join(lines)
