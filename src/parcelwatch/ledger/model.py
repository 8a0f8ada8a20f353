"""The ledger (台账) as pure data: statuses, the transition table, vocabularies, records, events.

Nothing here touches a file, a database or the clock: time comes in as ``now=``. The store
(:mod:`parcelwatch.ledger.store`) asks :func:`plan_event` to turn a requested :class:`Change`
into an :class:`Event` (validating it against the transition table), writes the event, then
writes ``apply_event(record, event)``. :func:`replay` runs the same :func:`apply_event` over the
stored events, so the current state can always be rebuilt from the history.

Status workflow (DOMAIN §9.4; the Chinese values are stored as they are)::

    未核查 ──> 合法 | 其他 | 未整改(已认定违法) | 转日常执法 | 一事一议(待决定)
    未整改 ──> 整改中 ──> 待验收 ──> 已销号 ──> 反弹 (reopened by a later batch)
                           └──> 退回 (returned by the upper level) ──> 整改中 | 未整改 | ...

Transition table (``TRANSITIONS``; "needs" = fields that must be filled once the change is
applied, ``note`` = the change must say why):

=============  ==============  =========================  ======================================
from           to              needs                      meaning
=============  ==============  =========================  ======================================
未核查         合法            judgement_type             verified legal (批准用地, 增减挂钩 ...)
未核查         其他            judgement_type             not new construction (设施农用地 ...)
未核查         未整改          confirmed_class            confirmed illegal (已认定违法)
未核查         转日常执法      note                       not 大棚房: routine enforcement
未核查         一事一议        note                       referred for a case-by-case decision
合法 / 其他    反弹            note                       found again on a later batch
合法 / 其他    未核查          note                       re-verification (重新核查)
合法 / 其他    退回            note                       judgement returned by the upper level
未整改         整改中          measure                    rectification started
未整改         一事一议        note                       referred for a case-by-case decision
未整改         转日常执法      note                       not 大棚房: routine enforcement
整改中         待验收          measure                    rectified, awaiting acceptance
整改中         一事一议        note                       referred for a case-by-case decision
待验收         已销号          measure                    accepted and closed (销号)
待验收         退回            note                       acceptance refused by the upper level
退回           整改中          measure                    rectification resumed
退回           未整改          confirmed_class            back to confirmed-illegal
退回           未核查          note                       re-verification
退回           合法 / 其他     judgement_type             judgement resubmitted
一事一议       已销号          decision_ref               closed by the decision (never auto)
一事一议       未整改          confirmed_class, note      decision: handle as illegal
一事一议       整改中          measure, decision_ref      decision: rectify as decided
已销号         反弹            note                       found again on a later batch
已销号         退回            note                       closure refused at a spot check
转日常执法     未核查          note                       taken back for re-verification
转日常执法     未整改          confirmed_class, note      taken back into the campaign
反弹           未整改          confirmed_class            rebound confirmed illegal
反弹           整改中          measure                    rebound being rectified
反弹           合法 / 其他     judgement_type             rebound verified legal / other
反弹           一事一议        note                       referred for a case-by-case decision
反弹           转日常执法      note                       routine enforcement
=============  ==============  =========================  ======================================

Effects of entering a status (part of the event, so replay reproduces them): 合法 / 其他 set
``judgement`` to 合法 / 其他, 未整改 and 整改中 set it to 违法; 未核查 clears the judgement and confirmed class;
已销号 records ``closed_at`` and sets the remaining unrectified area to 0 (a closing change that
names a larger remaining area is refused; closing a 一事一议 case without a measure records the
measure 一事一议); 反弹 counts ``rebound_count`` and clears the old 整改期限
(the verification due date of the new batch applies until a new deadline is set). A measure containing
一事一议 also needs ``decision_ref`` to close.
"""

from __future__ import annotations

import calendar
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

from parcelwatch.errors import LedgerError, SchemaError, StatusTransitionError, format_problems
from parcelwatch.labels import (
    CLASS_LABELS,
    CLASS_ORDER,
    CONFIRMED_CLASS_CODES,
    MEASURE_ORDER,
    STATUS_EN,
    candidate_label,
)

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "Status",
    "Transition",
    "TRANSITIONS",
    "allowed_targets",
    "JUDGEMENTS",
    "JUDGEMENT_TYPES",
    "MEASURES",
    "LEGALISING_MEASURES",
    "CONFIRMED_CLASSES",
    "CANDIDATE_CLASS_LABELS",
    "OPEN_STATUSES",
    "REBOUND_FROM",
    "FieldSpec",
    "FIELDS",
    "EDIT_DATE_MIN",
    "EDIT_DATE_MAX",
    "MAX_AMOUNT",
    "EDITABLE_FIELDS",
    "Evidence",
    "ProblemRecord",
    "ParcelLink",
    "FootprintFinding",
    "Change",
    "ChangeIssue",
    "Event",
    "LedgerSnapshot",
    "check_change",
    "plan_event",
    "plan_create",
    "apply_event",
    "replay",
    "verification_due",
    "effective_deadline",
    "is_overdue",
    "parse_measure",
    "parse_confirmed_class",
    "class_label",
    "severity",
    "to_plain",
    "from_plain",
    "problem_id_prefix",
    "batch_year",
]


class Status(str, Enum):
    """A problem's status; the value is the Chinese name stored in the ledger."""

    UNVERIFIED = "未核查"
    LEGAL = "合法"
    OTHER = "其他"
    ILLEGAL = "未整改"
    RECTIFYING = "整改中"
    AWAITING_ACCEPTANCE = "待验收"
    CLOSED = "已销号"
    RETURNED = "退回"
    CASE_BY_CASE = "一事一议"
    ROUTINE = "转日常执法"
    REBOUND = "反弹"

    def __str__(self) -> str:
        return self.value

    @property
    def label_en(self) -> str:
        """English label (for English reports and logs)."""
        return _STATUS_EN[self]

    @classmethod
    def parse(cls, text: str | Status) -> Status:
        """Read a status from its Chinese value, English name/label or a common alias."""
        if isinstance(text, Status):
            return text
        key = str(text).strip()
        for s in cls:
            if key in (s.value, s.name, s.label_en) or key.lower() in (
                s.name.lower(),
                s.label_en.lower(),
            ):
                return s
        if key in _STATUS_ALIASES:
            return _STATUS_ALIASES[key]
        raise SchemaError(f"Unknown status {key!r}. Use one of: {', '.join(s.value for s in cls)}.")


_STATUS_EN = {s: STATUS_EN[s.value] for s in Status}
_STATUS_ALIASES = {
    "已认定违法": Status.ILLEGAL,
    "违法": Status.ILLEGAL,
    "已认定违法/未整改": Status.ILLEGAL,
    "销号": Status.CLOSED,
    "重开": Status.REBOUND,
    "非新增": Status.OTHER,
    "其他(非新增)": Status.OTHER,
    "一事一议(待决定)": Status.CASE_BY_CASE,
    "转日常执法(非大棚房)": Status.ROUTINE,
    "反弹(重开)": Status.REBOUND,
}

# Problems that still need work (used for "overdue").
OPEN_STATUSES = frozenset(
    {
        Status.UNVERIFIED,
        Status.ILLEGAL,
        Status.RECTIFYING,
        Status.RETURNED,
        Status.CASE_BY_CASE,
        Status.REBOUND,
    }
)
# A new parcel or building found on a problem in one of these statuses reopens it as 反弹.
REBOUND_FROM = frozenset({Status.CLOSED, Status.LEGAL, Status.OTHER})
# Statuses whose verification deadline (核查期限, 月清) still applies when no 整改期限 is set.
_VERIFY_PENDING = frozenset({Status.UNVERIFIED, Status.REBOUND, Status.RETURNED})


@dataclass(frozen=True)
class Transition:
    """One allowed status change, the fields it needs and what it means."""

    source: Status
    target: Status
    needs: tuple[str, ...] = ()
    meaning: str = ""


def _t(source: str, targets: str, needs: str = "", meaning: str = "") -> list[Transition]:
    req = tuple(n.strip() for n in needs.split(",") if n.strip())
    return [Transition(Status(source), Status(t.strip()), req, meaning) for t in targets.split("|")]


S = Status
TRANSITIONS: tuple[Transition, ...] = tuple(
    [
        *_t("未核查", "合法|其他", "judgement_type", "verified legal / not new construction"),
        *_t("未核查", "未整改", "confirmed_class", "confirmed illegal (已认定违法)"),
        *_t("未核查", "转日常执法", "note", "not 大棚房: handed to routine enforcement"),
        *_t("未核查", "一事一议", "note", "referred for a case-by-case decision"),
        *_t("合法", "反弹|未核查|退回", "note", "reopened / re-verified / returned"),
        *_t("其他", "反弹|未核查|退回", "note", "reopened / re-verified / returned"),
        *_t("未整改", "整改中", "measure", "rectification started"),
        *_t("未整改", "一事一议|转日常执法", "note", "case-by-case / routine enforcement"),
        *_t("整改中", "待验收", "measure", "rectified, awaiting acceptance"),
        *_t("整改中", "一事一议", "note", "referred for a case-by-case decision"),
        *_t("待验收", "已销号", "measure", "accepted and closed (销号)"),
        *_t("待验收", "退回", "note", "acceptance refused by the upper level"),
        *_t("退回", "整改中", "measure", "rectification resumed"),
        *_t("退回", "未整改", "confirmed_class", "back to confirmed illegal"),
        *_t("退回", "未核查", "note", "re-verification"),
        *_t("退回", "合法|其他", "judgement_type", "judgement resubmitted"),
        *_t("一事一议", "已销号", "decision_ref", "closed by the decision"),
        *_t("一事一议", "未整改", "confirmed_class,note", "decision: handle as illegal"),
        *_t("一事一议", "整改中", "measure,decision_ref", "decision: rectify as decided"),
        *_t("已销号", "反弹|退回", "note", "found again / closure refused at a spot check"),
        *_t("转日常执法", "未核查", "note", "taken back for re-verification"),
        *_t("转日常执法", "未整改", "confirmed_class,note", "taken back into the campaign"),
        *_t("反弹", "未整改", "confirmed_class", "rebound confirmed illegal"),
        *_t("反弹", "整改中", "measure", "rebound being rectified"),
        *_t("反弹", "合法|其他", "judgement_type", "rebound verified legal / other"),
        *_t("反弹", "一事一议|转日常执法", "note", "case-by-case / routine enforcement"),
    ]
)
del S
_ALLOWED: dict[Status, dict[Status, Transition]] = {}
for _tr in TRANSITIONS:
    _ALLOWED.setdefault(_tr.source, {})[_tr.target] = _tr


def allowed_targets(source: Status) -> list[Status]:
    """The statuses a problem in ``source`` may move to, in table order."""
    return list(_ALLOWED.get(source, {}))


# ------------------------------------------------------------------------------------------
# Vocabularies (DOMAIN §1.4, §3.4, §3.6)

JUDGEMENTS = ("合法", "其他", "违法")
JUDGEMENT_TYPES: dict[str, tuple[str, ...]] = {
    "合法": (
        "批准建设用地",
        "增减挂钩建新区",
        "批准基础设施用地",
        "农村宅基地批准",
        "其他批准用地",
    ),
    "其他": (
        "设施农用地",
        "农村道路",
        "临时用地",
        "伪变化",
        "实地未变化",
        "未动工",
        "旧有建筑",
        "非新增建设用地",
    ),
    "违法": (
        "未批先建",
        "少批多占",
        "非法批地",
        "农村乱占耕地建房",
        "大棚房",
        "违法采矿",
        "擅自改变用途",  # seed 001 problem 3 (placement under 违法 inferred, SEED-SYSTEMS 0.P1)
        "耕地撂荒",  # seed 001 problem 2
        "其他违法",
    ),
}
MEASURES = MEASURE_ORDER  # parcelwatch.labels
# Measures after which the building legally stays (a matching building is no rebound).
LEGALISING_MEASURES = frozenset({"补办手续", "补办设施农用地备案", "一事一议"})
CONFIRMED_CLASSES: dict[str, str] = {c: CLASS_LABELS["zh"][c] for c in CONFIRMED_CLASS_CODES}
CANDIDATE_CLASS_LABELS: dict[str, str] = {
    **{k: v for k, v in CONFIRMED_CLASSES.items() if k != "non_dpf"},
    "none": CLASS_LABELS["zh"]["none"],
}
_CLASS_ALIASES = {
    "一类": "I", "二类": "II", "三类": "III", "1": "I", "2": "II", "3": "III",
    "非农化": "conversion", "耕地非农化": "conversion", "非大棚房转日常执法": "non_dpf", "非大棚房(转日常执法)": "non_dpf",
}  # fmt: skip
_SEVERITY = {**{c: i for i, c in enumerate(CLASS_ORDER)}, "": len(CLASS_ORDER)}


def severity(cls: str | None) -> int:
    """Rank of a class, most severe first (I < II < III < conversion < none)."""
    return _SEVERITY.get(cls or "", len(CLASS_ORDER))


def class_label(cls: str | None) -> str:
    """Chinese label of a candidate or confirmed class code."""
    if not cls:
        return ""
    return CONFIRMED_CLASSES.get(cls) or CANDIDATE_CLASS_LABELS.get(cls) or cls


def parse_confirmed_class(text: str) -> str:
    """A confirmed class code from a code (I, II, III, conversion, non_dpf) or its Chinese label."""
    key = str(text).strip()
    if key in CONFIRMED_CLASSES:
        return key
    for code, label in CONFIRMED_CLASSES.items():
        if key == label:
            return code
    if key.replace(" ", "") in _CLASS_ALIASES:
        return _CLASS_ALIASES[key.replace(" ", "")]
    raise SchemaError(
        f"Unknown class {key!r}. Use one of: "
        + ", ".join(f"{c} ({lbl})" for c, lbl in CONFIRMED_CLASSES.items())
        + "."
    )


def parse_measure(text: str) -> str:
    """Normalise a measure: one of MEASURES or several joined by '+' (e.g. 拆除+复耕)."""
    parts = [p.strip() for p in re.split(r"[+＋、,，/]", str(text)) if p.strip()]
    bad = [p for p in parts if p not in MEASURES]
    if bad:
        raise SchemaError(
            f"Unknown rectification measure {'、'.join(bad)}. Use one of {'、'.join(MEASURES)}, "
            "or several joined by '+' (e.g. 拆除+复耕)."
        )
    return "+".join(dict.fromkeys(parts))


# ------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class FieldSpec:
    """A problem field: storage kind, Chinese and English labels, and whether staff edit it."""

    name: str
    kind: str  # text | int | real | date | status | list | evidence
    zh: str
    en: str
    editable: bool = False


def _fs(name: str, kind: str, zh: str, en: str, editable: bool = False) -> FieldSpec:
    return FieldSpec(name, kind, zh, en, editable)


FIELDS: tuple[FieldSpec, ...] = (
    _fs("problem_id", "text", "问题编号", "problem id"),
    _fs("version", "int", "版本", "version (changes with every event)"),
    _fs("status", "status", "状态", "status"),
    _fs("county_code", "text", "县级代码", "county code"),
    _fs("county_name", "text", "县(市、区)", "county"),
    _fs("township_code", "text", "乡镇代码", "township code"),
    _fs("township_name", "text", "乡镇(街道)", "township"),
    _fs("village_code", "text", "村代码", "village code"),
    _fs("village_name", "text", "村", "village"),
    _fs("year", "int", "年度", "year of the first batch"),
    _fs("first_batch", "text", "首次批次", "batch that created the problem"),
    _fs("batches", "list", "批次", "batches the site was found in"),
    _fs("parcel_ids", "list", "监测编号", "source parcel ids (JCBH)"),
    _fs("candidate_class", "text", "疑似类别", "candidate class from classification"),
    _fs("candidate_reasons", "text", "疑似依据", "candidate reasons (zh)"),
    _fs("candidate_reasons_en", "text", "疑似依据(英文)", "candidate reasons (en)"),
    _fs("suggested_judgement", "text", "建议核查结论", "suggested judgement"),
    _fs("approval_refs", "text", "相关批文", "approvals found on the parcel"),
    _fs("priority", "text", "优先级", "priority"),
    _fs("alerts", "text", "警示", "alerts (criminal threshold, large parcel)"),
    _fs("judgement", "text", "核查结论", "judgement (合法/其他/违法)"),
    _fs(
        "judgement_type", "text", "核查结论类型", "judgement type (设施农用地, 临时用地 ...)", True
    ),
    _fs("confirmed_class", "text", "认定类别", "confirmed class", True),
    _fs("measure", "text", "整改措施", "rectification measure", True),
    _fs("decision_ref", "text", "决定文号", "decision / filing reference", True),
    _fs("deadline", "date", "整改期限", "rectification deadline", True),
    _fs("verify_due", "date", "核查期限", "verification due date (月清)"),
    _fs("responsible_unit", "text", "责任单位", "responsible unit", True),
    _fs("responsible_person", "text", "责任人", "responsible person", True),
    _fs("parcel_area_m2", "real", "图斑面积(m²)", "parcel area, m²"),
    _fs("farmland_m2", "real", "耕地面积(m²)", "耕地 in the parcel, m²"),
    _fs("pbf_m2", "real", "永久基本农田面积(m²)", "永久基本农田 in the parcel, m²"),
    _fs(
        "illegal_farmland_m2",
        "real",
        "违法占用耕地(m²)",
        "耕地 (not 永农) occupied by problem buildings, m²",
    ),
    _fs(
        "illegal_pbf_m2",
        "real",
        "违法占用永久基本农田(m²)",
        "永久基本农田 occupied by problem buildings, m²",
    ),
    _fs(
        "remaining_unrectified_m2",
        "real",
        "剩余未整改面积(m²)",
        "remaining unrectified area, m²",
        True,
    ),
    _fs("project_name", "text", "项目名称", "project name", True),
    _fs("owner_name", "text", "建设主体", "builder / owner", True),
    _fs("investment_wan", "real", "建设总投资(万元)", "total investment, 10k yuan", True),
    _fs("subsidy_central_wan", "real", "中央财政补助(万元)", "central subsidy, 10k yuan", True),
    _fs(
        "subsidy_provincial_wan", "real", "省级财政补助(万元)", "provincial subsidy, 10k yuan", True
    ),
    _fs("subsidy_city_wan", "real", "市级财政补助(万元)", "city subsidy, 10k yuan", True),
    _fs("subsidy_county_wan", "real", "县级财政补助(万元)", "county subsidy, 10k yuan", True),
    _fs("funds_recovered_wan", "real", "资金追回(万元)", "subsidies recovered, 10k yuan", True),
    _fs("acceptance_result", "text", "验收结果", "acceptance result (合格/不合格)", True),
    _fs("acceptance_date", "date", "验收日期", "acceptance date", True),
    _fs("evidence", "evidence", "佐证材料", "evidence (paths and sha256)"),
    _fs("notes", "text", "备注", "notes", True),
    _fs("rebound_count", "int", "反弹次数", "times reopened"),
    _fs("rebound_sources", "list", "反弹来源", "what reopened it (batch/parcel or building)"),
    _fs("created_at", "text", "创建时间", "created at"),
    _fs("updated_at", "text", "更新时间", "updated at"),
    _fs("updated_by", "text", "更新人", "updated by"),
    _fs("closed_at", "text", "销号时间", "closed at"),
    # SEED-SYSTEMS 0.P1: problems from every source (schema 3)
    _fs("source", "text", "问题来源", "where the problem came from (卫片, 巡查, 巡察 ...)"),
    _fs("source_ref", "text", "来源编号", "finding / clue / 巡察 item / complaint id", True),
    _fs("found_on", "date", "发现日期", "date found (a batch's issued date for 卫片)"),
    _fs("place_text", "text", "位置描述", "place description", True),
    _fs("bounds_text", "text", "四至", "bounds (东至…南至…西至…北至…)", True),
    _fs("construction_year", "int", "建设年份", "year built (1900-2100)", True),
    _fs("responsible_leader", "text", "责任领导", "responsible leader", True),
    _fs("debris_cleared", "text", "垃圾清理", "debris cleared (是/否)", True),
    _fs("reclaimed", "text", "复垦复耕到位", "reclaimed / recultivated (是/否)", True),
    _fs(
        "funds_suspected_wan",
        "real",
        "涉嫌骗取资金(万元)",
        "funds suspected defrauded, 10k yuan",
        True,
    ),
    _fs(
        "funds_in_recovery_wan",
        "real",
        "正在追回资金(万元)",
        "funds being recovered, 10k yuan",
        True,
    ),
    _fs("supervision_level", "text", "挂牌督办", "supervision level (县/市/省)", True),
    _fs("omitted_in_survey", "text", "排查遗漏", "missed in the survey (是/否)", True),
    _fs("transferred_to", "text", "移送单位", "transferred to (unit)", True),
    _fs("transferred_on", "date", "移送日期", "transferred on", True),
    _fs("lon", "real", "经度", "longitude of a point problem (EPSG:4490)"),
    _fs("lat", "real", "纬度", "latitude of a point problem (EPSG:4490)"),
)
#: 问题来源 (SEED-SYSTEMS 0.P1); ``check`` sets 卫片.
SOURCES: tuple[str, ...] = ("卫片", "巡查", "巡察", "举报", "两违", "回头看", "上级交办", "其他")
_YES_NO = ("是", "否")
_CHOICES: dict[str, tuple[str, ...]] = {
    "debris_cleared": _YES_NO,
    "reclaimed": _YES_NO,
    "omitted_in_survey": _YES_NO,
    "supervision_level": ("县", "市", "省"),
    "source": SOURCES,
}
FIELD_BY_NAME: dict[str, FieldSpec] = {f.name: f for f in FIELDS}
EDITABLE_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.editable)
# Fields only classification/recheck may set (never staff).
_SYSTEM_KINDS = frozenset({"create", "link", "rebound"})
_ACCEPTANCE = ("合格", "不合格")
_ACCEPTANCE_ALIASES = {"是": "合格", "否": "不合格"}
_FUNDS = ("funds_suspected_wan", "funds_recovered_wan", "funds_in_recovery_wan")

# Dates a user may enter (整改期限, 验收日期): the exported sheet's own data validation uses the
# same bounds, so a date Excel accepts is a date the ledger accepts and vice versa.
EDIT_DATE_MIN = date(2000, 1, 1)
EDIT_DATE_MAX = date(2100, 12, 31)
# Areas (m²) and amounts (万元) a user may enter: 1e12 m² is a million km², 1e12 万元 ten times a
# year of China's GDP. Larger is a typo, and would not fit a shapefile's numeric field.
MAX_AMOUNT = 1e12


@dataclass(frozen=True)
class Evidence:
    """A piece of evidence: a photo/document (path + sha256) or a parcel/building from a batch."""

    kind: str  # photo | document | parcel | building
    ref: str  # file path, or parcel/building id
    sha256: str = ""
    batch: str = ""
    detail: str = ""

    def to_plain(self) -> dict[str, str]:
        return {
            k: v
            for k, v in (
                ("kind", self.kind),
                ("ref", self.ref),
                ("sha256", self.sha256),
                ("batch", self.batch),
                ("detail", self.detail),
            )
            if v
        }

    @classmethod
    def from_plain(cls, d: Mapping[str, Any]) -> Evidence:
        return cls(
            str(d.get("kind", "")),
            str(d.get("ref", "")),
            str(d.get("sha256", "")),
            str(d.get("batch", "")),
            str(d.get("detail", "")),
        )


@dataclass(frozen=True)
class ProblemRecord:
    """One problem (one site) in the ledger. Areas in m² (ellipsoidal); money in 万元."""

    problem_id: str = ""
    version: int = 0
    status: Status = Status.UNVERIFIED
    county_code: str = ""
    county_name: str = ""
    township_code: str = ""
    township_name: str = ""
    village_code: str = ""
    village_name: str = ""
    year: int | None = None
    first_batch: str = ""
    batches: tuple[str, ...] = ()
    parcel_ids: tuple[str, ...] = ()
    candidate_class: str = "none"
    candidate_reasons: str = ""
    candidate_reasons_en: str = ""
    suggested_judgement: str = ""
    approval_refs: str = ""
    priority: str = ""
    alerts: str = ""
    judgement: str = ""
    judgement_type: str = ""
    confirmed_class: str = ""
    measure: str = ""
    decision_ref: str = ""
    deadline: date | None = None
    verify_due: date | None = None
    responsible_unit: str = ""
    responsible_person: str = ""
    parcel_area_m2: float | None = None
    farmland_m2: float | None = None
    pbf_m2: float | None = None
    illegal_farmland_m2: float | None = None
    illegal_pbf_m2: float | None = None
    remaining_unrectified_m2: float | None = None
    project_name: str = ""
    owner_name: str = ""
    investment_wan: float | None = None
    subsidy_central_wan: float | None = None
    subsidy_provincial_wan: float | None = None
    subsidy_city_wan: float | None = None
    subsidy_county_wan: float | None = None
    funds_recovered_wan: float | None = None
    acceptance_result: str = ""
    acceptance_date: date | None = None
    evidence: tuple[Evidence, ...] = ()
    notes: str = ""
    rebound_count: int = 0
    rebound_sources: tuple[str, ...] = ()
    created_at: str = ""
    updated_at: str = ""
    updated_by: str = ""
    closed_at: str = ""
    source: str = ""
    source_ref: str = ""
    found_on: date | None = None
    place_text: str = ""
    bounds_text: str = ""
    construction_year: int | None = None
    responsible_leader: str = ""
    debris_cleared: str = ""
    reclaimed: str = ""
    funds_suspected_wan: float | None = None
    funds_in_recovery_wan: float | None = None
    supervision_level: str = ""
    omitted_in_survey: str = ""
    transferred_to: str = ""
    transferred_on: date | None = None
    lon: float | None = None
    lat: float | None = None
    geometry: Any = field(default=None, compare=False, repr=False)  # shapely, EPSG:4490

    @property
    def illegal_occupied_m2(self) -> float:
        """耕地 occupied by the problem's buildings, 永农 included (the 违法占用耕地 figure)."""
        return float((self.illegal_farmland_m2 or 0.0) + (self.illegal_pbf_m2 or 0.0))

    @property
    def display_class(self) -> str:
        """The confirmed class if set, else the candidate class (prefixed 疑似)."""
        if self.confirmed_class:
            return class_label(self.confirmed_class)
        return candidate_label(self.candidate_class)

    def values(self) -> dict[str, Any]:
        """Field values (no geometry) as a dict."""
        return {f.name: getattr(self, f.name) for f in FIELDS}


_RECORD_FIELDS = {f.name for f in fields(ProblemRecord)} - {"geometry"}
assert _RECORD_FIELDS == set(FIELD_BY_NAME), "FIELDS and ProblemRecord disagree"


def to_plain(name: str, value: Any) -> Any:
    """A field value as JSON-able plain data (dates ISO, tuples lists, statuses text)."""
    kind = FIELD_BY_NAME[name].kind
    if value is None:
        return None
    if kind == "status":
        return Status(value).value
    if kind == "date":
        return value.isoformat() if isinstance(value, date) else str(value)
    if kind == "list":
        return list(value)
    if kind == "evidence":
        return [e.to_plain() for e in value]
    if kind == "real":
        v = float(value)
        return None if math.isnan(v) else v
    return value


def from_plain(name: str, value: Any) -> Any:
    """The inverse of :func:`to_plain`."""
    kind = FIELD_BY_NAME[name].kind
    if kind == "status":
        return Status(value) if value else Status.UNVERIFIED
    if kind == "date":
        return date.fromisoformat(str(value)[:10]) if value else None
    if kind == "list":
        if isinstance(value, str):
            value = json.loads(value) if value else []
        return tuple(str(v) for v in (value or ()))
    if kind == "evidence":
        if isinstance(value, str):
            value = json.loads(value) if value else []
        return tuple(Evidence.from_plain(v) for v in (value or ()))
    if kind == "real":
        return (
            None
            if value is None or (isinstance(value, float) and math.isnan(value))
            else float(value)
        )
    if kind == "int":
        if name in ("year", "construction_year"):
            return None if value is None else int(value)
        return int(value or 0)
    return "" if value is None else str(value)


@dataclass(frozen=True)
class ParcelLink:
    """A batch parcel recorded on a problem (the site as drawn in that batch), EPSG:4490."""

    parcel_id: str
    batch: str
    geometry: Any
    role: str = "created"  # created | linked | rebound
    iou: float | None = None
    share: float | None = None
    candidate_class: str = "none"


@dataclass(frozen=True)
class FootprintFinding:
    """A classification finding kept with the problem (used to tell legalised buildings apart)."""

    parcel_id: str
    batch: str
    footprint_id: str
    rule_id: str
    problem_class: str
    reason: str
    reason_en: str = ""
    suggested_judgement: str = ""
    document: str = ""
    footprint_m2: float | None = None
    farmland_m2: float | None = None
    pbf_m2: float | None = None
    geometry: Any = None


@dataclass(frozen=True)
class Change:
    """A requested change to one problem (or a new problem when ``kind == "create"``).

    ``fields`` holds new values by field name; ``status`` the target status (``None`` keeps it);
    ``expected_version`` the version the caller read (``None``: the current one, no check).
    """

    problem_id: str | None = None
    status: Status | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)
    note: str = ""
    evidence: tuple[Evidence, ...] = ()
    expected_version: int | None = None
    kind: str = "update"  # update | create | link | rebound
    batch: str = ""
    geometry: Any = None
    parcels: tuple[ParcelLink, ...] = ()
    findings: tuple[FootprintFinding, ...] = ()
    source: str = ""  # where the change came from, for reports (e.g. "问题台账!R12")


@dataclass(frozen=True)
class ChangeIssue:
    """Why a change cannot be applied: the field, the value and the problem with it."""

    field: str
    value: Any
    message: str
    transition: bool = False


@dataclass(frozen=True)
class Event:
    """One entry of the append-only history of a problem."""

    problem_id: str
    seq: int
    at: str  # ISO 8601 with time zone
    user: str
    kind: str  # create | update | transition | link | rebound
    from_status: Status | None
    to_status: Status
    measure: str = ""
    note: str = ""
    evidence: tuple[Evidence, ...] = ()
    batch: str = ""
    changes: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class LedgerSnapshot:
    """What recheck needs from the ledger, read at one moment (geometries in EPSG:4490)."""

    records: dict[str, ProblemRecord]
    parcels: gpd.GeoDataFrame  # problem_id, parcel_id, batch, role, geometry
    findings: (
        gpd.GeoDataFrame
    )  # problem_id, parcel_id, batch, footprint_id, rule_id, problem_class, geometry


# ------------------------------------------------------------------------------------------
# Deadlines


def verification_due(issued: date, months: int = 1) -> date:
    """月清: the last day of the month ``months`` after the month ``issued`` falls in.

    >>> verification_due(date(2026, 3, 15)), verification_due(date(2026, 12, 1))
    (datetime.date(2026, 4, 30), datetime.date(2027, 1, 31))
    >>> verification_due(date(2026, 1, 31), 0)
    datetime.date(2026, 1, 31)
    """
    m = issued.month - 1 + months
    y, m = issued.year + m // 12, m % 12 + 1
    return date(y, m, calendar.monthrange(y, m)[1])


def effective_deadline(record: ProblemRecord) -> date | None:
    """The 整改期限 if set; else, while verification is pending, the 核查期限 (月清)."""
    if record.deadline is not None:
        return record.deadline
    if record.status in _VERIFY_PENDING:
        return record.verify_due
    return None


def is_overdue(record: ProblemRecord, today: date) -> bool:
    """Past its deadline and still open (not 待验收, 已销号, 合法, 其他 or 转日常执法)."""
    due = effective_deadline(record)
    return record.status in OPEN_STATUSES and due is not None and today > due


# ------------------------------------------------------------------------------------------
# Planning and applying changes


def _iso(now: datetime) -> str:
    if now.tzinfo is None or now.utcoffset() is None:
        raise LedgerError(
            "The time passed as now= has no time zone. Pass an aware datetime, e.g. "
            "datetime(2026, 11, 7, 9, 0, tzinfo=ZoneInfo('Asia/Shanghai')) (the CLI passes its clock)."
        )
    return now.isoformat(timespec="seconds")


def normalise_value(name: str, value: Any) -> Any:
    """Coerce an edited value to the field's type; raise SchemaError with the fix."""
    spec = FIELD_BY_NAME[name]
    if value is None or (isinstance(value, str) and value.strip() == ""):
        if spec.kind == "int" and name == "construction_year":
            return None
        return None if spec.kind in ("real", "date") else ""
    if spec.kind == "date":
        if isinstance(value, datetime):
            day = value.date()
        elif isinstance(value, date):
            day = value
        else:
            try:
                day = date.fromisoformat(str(value).strip()[:10])
            except ValueError as exc:
                raise SchemaError(
                    f"{spec.zh} ({name}): {value!r} is not a date. Write it as 2026-12-31."
                ) from exc
        if not EDIT_DATE_MIN <= day <= EDIT_DATE_MAX:
            raise SchemaError(
                f"{spec.zh} ({name}): {day.isoformat()} is outside {EDIT_DATE_MIN.isoformat()} .. "
                f"{EDIT_DATE_MAX.isoformat()}; write the real date, e.g. 2026-12-31."
            )
        return day
    if spec.kind == "int":
        try:
            f = float(str(value).strip())
            if not f.is_integer():
                raise ValueError(value)
            n = int(f)
        except ValueError as exc:
            raise SchemaError(f"{spec.zh} ({name}): {value!r} is not a whole number.") from exc
        if name == "construction_year" and not 1900 <= n <= 2100:
            raise SchemaError(f"{spec.zh} ({name}): {n} must be a year between 1900 and 2100.")
        return n
    if spec.kind == "real":
        if isinstance(value, bool):
            raise SchemaError(f"{spec.zh} ({name}): {value!r} is not a number.")
        try:
            v = float(value)
        except (TypeError, ValueError, OverflowError) as exc:
            raise SchemaError(f"{spec.zh} ({name}): {value!r} is not a number.") from exc
        if not math.isfinite(v):
            raise SchemaError(
                f"{spec.zh} ({name}): {value!r} is not a finite number (inf, nan and values beyond "
                "1e308 are refused); write the real amount, e.g. 12.5."
            )
        if v < 0:
            raise SchemaError(f"{spec.zh} ({name}): {value!r} must be a number >= 0.")
        if v > MAX_AMOUNT:
            raise SchemaError(
                f"{spec.zh} ({name}): {v:.3e} is larger than any real area or amount (at most {MAX_AMOUNT:.0e}); check the unit and the digits."
            )
        return v
    text = str(value).strip()
    if name == "measure":
        return parse_measure(text)
    if name == "confirmed_class":
        return parse_confirmed_class(text)
    if name == "acceptance_result":
        text = _ACCEPTANCE_ALIASES.get(text, text)  # the seed's forms write 是/否
    if name in _CHOICES and text not in _CHOICES[name]:
        raise SchemaError(
            f"{spec.zh} ({name}): {text!r} must be one of {'、'.join(_CHOICES[name])} (or empty)."
        )
    if name == "acceptance_result" and text not in _ACCEPTANCE:
        raise SchemaError(
            f"{spec.zh} ({name}): {text!r} must be 合格 or 不合格 (是/否 also accepted) or empty."
        )
    return text


def _entering_effects(
    record: ProblemRecord, target: Status, updates: dict[str, Any], at: str
) -> None:
    """Fields a status sets by itself (see the module docstring)."""
    if target in (Status.LEGAL, Status.OTHER):
        updates["judgement"] = target.value
    elif target in (Status.ILLEGAL, Status.RECTIFYING):
        updates["judgement"] = "违法"
    elif target is Status.UNVERIFIED:
        updates.setdefault("judgement", "")
        updates.setdefault("judgement_type", "")
        updates.setdefault("confirmed_class", "")
    elif target is Status.CLOSED:
        updates["closed_at"] = at
        updates.setdefault("remaining_unrectified_m2", 0.0)
        if record.status is Status.CASE_BY_CASE and not updates.get("measure", record.measure):
            updates["measure"] = (
                "一事一议"  # closed by the decision itself: the measure is the decision
            )
    elif target is Status.REBOUND:
        updates["rebound_count"] = record.rebound_count + 1
        updates["closed_at"] = ""
        updates.setdefault("deadline", None)  # the old 整改期限 belonged to the closed round


#: the former private name (kept for callers and tests that import it)
_normalise_value = normalise_value


def check_change(record: ProblemRecord, change: Change) -> tuple[list[ChangeIssue], dict[str, Any]]:
    """Every issue with applying ``change`` to ``record``, and the normalised field updates."""
    issues: list[ChangeIssue] = []
    updates: dict[str, Any] = {}
    for name, value in change.fields.items():
        spec = FIELD_BY_NAME.get(name)
        if spec is None or name in ("problem_id", "version", "status"):
            issues.append(ChangeIssue(name, value, f"{name} is not a field that can be changed"))
            continue
        if not spec.editable and change.kind not in _SYSTEM_KINDS:
            issues.append(
                ChangeIssue(
                    name, value, f"{spec.zh} ({name}) is filled by parcelwatch and cannot be edited"
                )
            )
            continue
        if change.kind in _SYSTEM_KINDS and not spec.editable:
            updates[name] = (
                from_plain(name, to_plain(name, value))
                if value is not None
                else from_plain(name, None)
            )
            continue
        try:
            updates[name] = normalise_value(name, value)
        except SchemaError as exc:
            issues.append(ChangeIssue(name, value, str(exc)))
    target = change.status if change.status is not None else record.status
    moving = target is not record.status
    if moving:
        tr = _ALLOWED.get(record.status, {}).get(target)
        if tr is None:
            allowed = "、".join(s.value for s in allowed_targets(record.status)) or "none"
            issues.append(
                ChangeIssue(
                    "status",
                    target.value,
                    f"status {record.status.value} -> {target.value} is not allowed; from {record.status.value} "
                    f"the allowed next statuses are: {allowed} (see `parcelwatch ledger transitions`)",
                    transition=True,
                )
            )
        else:
            after = replace(record, **{k: v for k, v in updates.items()})
            for need in tr.needs:
                if need == "note":
                    if not change.note.strip():
                        issues.append(
                            ChangeIssue(
                                "note",
                                "",
                                f"{record.status.value} -> {target.value} needs a note saying why (--note / 备注)",
                                True,
                            )
                        )
                elif not getattr(after, need):
                    spec = FIELD_BY_NAME[need]
                    hint = _NEED_HINT.get(need, "")
                    issues.append(
                        ChangeIssue(
                            need,
                            "",
                            f"{record.status.value} -> {target.value} needs {spec.zh} ({need}){hint}",
                            True,
                        )
                    )
            judgement = {Status.LEGAL: "合法", Status.OTHER: "其他"}.get(target)
            jt = after.judgement_type
            if judgement and jt and jt not in JUDGEMENT_TYPES[judgement]:
                issues.append(
                    ChangeIssue(
                        "judgement_type",
                        jt,
                        f"{jt!r} is not a {judgement} type; use one of {'、'.join(JUDGEMENT_TYPES[judgement])}",
                        True,
                    )
                )
            if target is Status.CLOSED:
                remaining = updates.get("remaining_unrectified_m2")
                if remaining:
                    issues.append(
                        ChangeIssue(
                            "remaining_unrectified_m2",
                            remaining,
                            "a problem cannot be closed (已销号) with unrectified area left; set it to 0 or keep the problem open",
                            True,
                        )
                    )
                if "一事一议" in (after.measure or "") and not after.decision_ref:
                    issues.append(
                        ChangeIssue(
                            "decision_ref",
                            "",
                            "closing a 一事一议 case needs the decision reference (决定文号, --decision-ref)",
                            True,
                        )
                    )
    elif (
        "judgement_type" in updates
        and updates["judgement_type"]
        and record.judgement in JUDGEMENT_TYPES
    ):
        jt = updates["judgement_type"]
        if jt not in JUDGEMENT_TYPES[record.judgement]:
            issues.append(
                ChangeIssue(
                    "judgement_type",
                    jt,
                    f"{jt!r} is not a {record.judgement} type; use one of {'、'.join(JUDGEMENT_TYPES[record.judgement])}",
                )
            )
    funds = {k: updates.get(k, getattr(record, k)) for k in _FUNDS}
    if funds["funds_suspected_wan"] is not None and any(k in updates for k in _FUNDS):
        got = (funds["funds_recovered_wan"] or 0.0) + (funds["funds_in_recovery_wan"] or 0.0)
        if got > funds["funds_suspected_wan"] + 1e-9:
            issues.append(
                ChangeIssue(
                    "funds_in_recovery_wan",
                    funds["funds_in_recovery_wan"],
                    f"资金追回 {funds['funds_recovered_wan'] or 0:g} + 正在追回 {funds['funds_in_recovery_wan'] or 0:g} "
                    f"exceeds 涉嫌骗取资金 {funds['funds_suspected_wan']:g} (万元); lower them or raise funds_suspected_wan",
                )
            )
    if not moving and record.status is Status.CLOSED and updates.get("remaining_unrectified_m2"):
        issues.append(
            ChangeIssue(
                "remaining_unrectified_m2",
                updates["remaining_unrectified_m2"],
                "a closed (已销号) problem has no unrectified area; reopen it first",
            )
        )
    return issues, updates


_NEED_HINT = {
    "judgement_type": " (e.g. 设施农用地, 临时用地, 伪变化, 批准建设用地; --judgement-type / 核查结论类型)",
    "confirmed_class": " (I, II, III, conversion or non_dpf; --class / 认定类别)",
    "measure": " (e.g. 拆除+复耕, 补办设施农用地备案; --measure / 整改措施)",
    "decision_ref": " (the 一事一议 decision reference; --decision-ref / 决定文号)",
}


def _raise_issues(problem_id: str, issues: Sequence[ChangeIssue]) -> None:
    lines = [f"{i.field}: {i.message}" for i in issues]
    head = f"Problem {problem_id}: the change was refused ({len(issues)} issue{'s' if len(issues) > 1 else ''})"
    msg = format_problems(
        head,
        lines,
        fix="Nothing was changed. Fix the values named above and run the command again.",
    )
    if any(i.transition for i in issues):
        raise StatusTransitionError(msg)
    raise SchemaError(msg)


def plan_event(
    record: ProblemRecord, change: Change, *, seq: int, now: datetime, user: str
) -> Event | None:
    """The event that applies ``change`` to ``record`` (``None`` if it changes nothing).

    Raises :class:`StatusTransitionError` (a transition not in the table, or its needs unmet) or
    :class:`~parcelwatch.errors.SchemaError` (a bad value), naming the problem, field and fix.
    """
    at = _iso(now)
    issues, updates = check_change(record, change)
    if issues:
        _raise_issues(record.problem_id, issues)
    target = change.status if change.status is not None else record.status
    if target is not record.status:
        _entering_effects(record, target, updates, at)
    if change.note:
        updates.setdefault("notes", change.note)
    if change.evidence:
        known = {(e.kind, e.ref, e.sha256, e.batch) for e in record.evidence}
        new = tuple(e for e in change.evidence if (e.kind, e.ref, e.sha256, e.batch) not in known)
        if new:
            updates["evidence"] = record.evidence + new
    diff = {k: to_plain(k, v) for k, v in updates.items() if getattr(record, k) != v}
    if target is not record.status:
        diff["status"] = target.value
    if not diff:
        return None
    kind = (
        change.kind if change.kind != "update" else ("transition" if "status" in diff else "update")
    )
    after_measure = updates.get("measure", record.measure)
    return Event(
        record.problem_id,
        seq,
        at,
        user,
        kind,
        record.status,
        target,
        after_measure or "",
        change.note,
        tuple(change.evidence),
        change.batch,
        diff,
    )


def _normal_text(v: Any) -> Any:
    return "" if v is None else str(v)


def _normal_real(v: Any) -> Any:
    if v is None:
        return None
    f = float(v)
    return None if math.isnan(f) else f


def _normal_list(v: Any) -> Any:
    return [] if v is None else [str(x) for x in v]


def _normal_date(v: Any) -> Any:
    if v is None:
        return None
    p = v.isoformat() if isinstance(v, date) else str(v)
    return date.fromisoformat(p[:10]).isoformat() if p else None


def _normaliser(name: str, kind: str) -> Callable[[Any], Any]:
    """``to_plain(from_plain(to_plain(v)))`` for field ``name``: a value as a creation stores it
    (written out for the common kinds: a batch creates thousands of problems, ~25 fields each)."""
    if kind == "text":
        return _normal_text
    if kind == "real":
        return _normal_real
    if kind == "list":
        return _normal_list
    if kind == "date":
        return _normal_date
    if kind == "int":
        if name in ("year", "construction_year"):
            return lambda v: None if v is None else int(v)
        return lambda v: int(v or 0)
    return lambda v: to_plain(name, from_plain(name, to_plain(name, v)))


_NORMAL: dict[str, Callable[[Any], Any]] = {f.name: _normaliser(f.name, f.kind) for f in FIELDS}

_BLANK_PLAIN: dict[str, Any] = {}


def _blank_plain() -> dict[str, Any]:
    """Every field of a blank record as stored (computed once: a batch creates thousands)."""
    if not _BLANK_PLAIN:
        blank = ProblemRecord()
        _BLANK_PLAIN.update({f.name: to_plain(f.name, getattr(blank, f.name)) for f in FIELDS})
    return _BLANK_PLAIN


def plan_create(problem_id: str, change: Change, *, now: datetime, user: str) -> Event:
    """The first event of a new problem: every initial field value."""
    at = _iso(now)
    values = dict(change.fields)
    status = change.status or Status.UNVERIFIED
    unknown = [
        k for k in values if k not in FIELD_BY_NAME or k in ("problem_id", "version", "status")
    ]
    if unknown:
        raise SchemaError(f"New problem {problem_id}: unknown field(s) {', '.join(unknown)}.")
    plain = {k: _NORMAL[k](v) for k, v in values.items()}
    plain["problem_id"] = problem_id
    plain["status"] = status.value
    plain["created_at"] = at
    if change.evidence:
        plain["evidence"] = [e.to_plain() for e in change.evidence]
    if change.note:
        plain.setdefault("notes", change.note)
    blank = _blank_plain()  # a new record's values before its creation (its id aside)
    diff = {
        k: v for k, v in plain.items() if k == "status" or (k != "problem_id" and blank[k] != v)
    }
    return Event(
        problem_id,
        1,
        at,
        user,
        "create",
        None,
        status,
        str(plain.get("measure") or ""),
        change.note,
        tuple(change.evidence),
        change.batch,
        diff,
    )


def apply_event(record: ProblemRecord | None, event: Event) -> ProblemRecord:
    """The record after ``event``: its changes, version = seq, updated_at/by from the event."""
    base = record if record is not None else ProblemRecord(problem_id=event.problem_id)
    values = {k: from_plain(k, v) for k, v in event.changes.items()}
    values.update(version=event.seq, updated_at=event.at, updated_by=event.user)
    return replace(base, **values)


def replay(events: Iterable[Event]) -> dict[str, ProblemRecord]:
    """Rebuild every problem (without geometry) from its events, checking the history is whole.

    Raises :class:`LedgerError` if a problem's events skip a number or disagree about the
    status they start from.
    """
    ordered = sorted(events, key=lambda e: (e.problem_id, e.seq))
    out: dict[str, ProblemRecord] = {}
    for ev in ordered:
        cur = out.get(ev.problem_id)
        expected = 1 if cur is None else cur.version + 1
        if ev.seq != expected:
            raise LedgerError(
                f"History of problem {ev.problem_id} is broken: event {ev.seq} follows version {expected - 1}. Restore the ledger from a backup."
            )
        if cur is not None and ev.from_status is not cur.status:
            raise LedgerError(
                f"History of problem {ev.problem_id} is broken: event {ev.seq} starts from {ev.from_status} but the problem was {cur.status}. Restore the ledger from a backup."
            )
        out[ev.problem_id] = apply_event(cur, ev)
    return out


# ------------------------------------------------------------------------------------------
# Ids


def batch_year(batch: str, fallback: int) -> int:
    """The year named in a batch name (``2026年第1批`` -> 2026), else ``fallback``.

    >>> batch_year("2026年第1批", 2000), batch_year("Q3", 2025)
    (2026, 2025)
    """
    m = re.search(r"(?<!\d)(19\d\d|20\d\d)(?!\d)", batch)
    return int(m.group(1)) if m else fallback


def problem_id_prefix(county_code: str, year: int) -> str:
    """``370790-2026-``: ids are the prefix plus a 6-digit sequence."""
    code = re.sub(r"\D", "", county_code or "")[:6] or "000000"
    return f"{code}-{year}-"
