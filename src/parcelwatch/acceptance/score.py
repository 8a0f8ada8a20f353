"""The 100-point acceptance self-score (SEED-SYSTEMS §D.2-D.5): a pure function of the data.

:func:`score` takes an :class:`AcceptanceData` (ledger problems plus the other records and the
manual answers) and returns one :class:`ItemScore` per scheme item with its evidence (依据) and,
when points are lost, the reason (扣分原因). All arithmetic is :class:`decimal.Decimal`; the
display rounds half up. Rules for each item are in :data:`_RULES`, keyed by item id; an item whose
data is absent and that has no manual answer scores 0 and says what is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from parcelwatch.acceptance.scheme import GROUP_ORDER, Item, Scheme, half_up
from parcelwatch.errors import ConfigError
from parcelwatch.ledger.model import ProblemRecord, Status

__all__ = [
    "AcceptanceData",
    "Complaint",
    "Document",
    "Greenhouse",
    "ItemScore",
    "ProblemFacts",
    "ReportEntry",
    "ScoreResult",
    "score",
    "PETITION_CHANNELS",
]

ZERO = Decimal(0)
DPF = ("I", "II", "III")
PETITION_CHANNELS = frozenset({"镇信访", "区信访", "县信访", "市信访", "省信访"})
_METHOD = {"auto": "自动", "manual": "人工", "mixed": "自动"}
_REGISTRY_FIELDS = (
    ("greenhouse_no", "编号"),
    ("place", "地点"),
    ("owner", "主体"),
    ("type", "类型"),
    ("size_m2", "规模"),
    ("land_transfer", "流转"),
    ("built_on", "建设时间"),
    ("production_status", "生产情况"),
)


@dataclass(frozen=True)
class Greenhouse:
    """One registry greenhouse, as far as the score needs it (0.P8)."""

    greenhouse_no: str
    village: str = ""
    place: str = ""
    owner: str = ""
    type: str = ""
    size_m2: float | None = None
    land_transfer: str = ""
    built_on: str = ""
    production_status: str = ""
    signage: str = ""
    last_visit_on: date | None = None


@dataclass(frozen=True)
class Document:
    """A register document (0.P6): its kind and, for 领导小组 files, the leader's role."""

    kind: str
    title: str = ""
    leader_role: str = ""


@dataclass(frozen=True)
class ReportEntry:
    """A report-log row (0.P4): on time when submitted on or before its due date."""

    kind: str
    due: date
    submitted: date | None = None

    @property
    def on_time(self) -> bool:
        return self.submitted is not None and self.submitted <= self.due


@dataclass(frozen=True)
class Complaint:
    channel: str
    resolved: bool
    major_impact: bool = False
    ref: str = ""


@dataclass(frozen=True)
class ProblemFacts:
    """Per-problem facts of §0.P1 that the score reads (是/否/"" fields, funds in 万元)."""

    debris_cleared: str = ""
    reclaimed: str = ""
    omitted_in_survey: str = ""
    special_account: str = ""
    funds_suspected_wan: Decimal | None = None
    doubtful: bool = False  # imagery hint 整改存疑


@dataclass
class AcceptanceData:
    problems: Sequence[ProblemRecord]
    facts: Mapping[str, ProblemFacts] = field(default_factory=dict)
    batches: Sequence[str] = ()  # item 5.2: the batches to check (empty: every problem)
    period_start: date | None = None
    period_end: date | None = None
    map_run: bool = False
    parks_layer: bool = False
    greenhouses: Sequence[Greenhouse] = ()
    signoff_roles: frozenset[str] = frozenset()
    documents: Sequence[Document] = ()
    reports: Sequence[ReportEntry] = ()
    complaints: Sequence[Complaint] = ()
    sanctions: int = 0
    cases: int = 0
    manual: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    overrides: Mapping[str, tuple[Decimal, str]] = field(default_factory=dict)

    def fact(self, problem_id: str) -> ProblemFacts:
        return self.facts.get(problem_id, ProblemFacts())

    def has_doc(self, kind: str) -> bool:
        return any(d.kind == kind for d in self.documents)


@dataclass(frozen=True)
class ItemScore:
    item: Item
    score: Decimal
    method: str  # 自动 | 人工 | 人工调整
    evidence: str
    reason: str = ""  # 扣分原因


@dataclass(frozen=True)
class ScoreResult:
    scheme: Scheme
    items: tuple[ItemScore, ...]
    vetoed: bool
    veto_reason: str

    @property
    def total(self) -> Decimal:
        return half_up(sum((s.score for s in self.items), ZERO))

    def group_total(self, key: str) -> Decimal:
        return half_up(sum((s.score for s in self.items if s.item.group == key), ZERO))

    @property
    def veto_text(self) -> str:
        return f"一票否决：是（{self.veto_reason}）" if self.vetoed else "一票否决：否"

    def get(self, item_id: str) -> ItemScore:
        for s in self.items:
            if s.item.id == item_id:
                return s
        raise KeyError(item_id)


# ------------------------------------------------------------------------------------------
# Helpers

_Out = tuple[Decimal, str, str]  # score, evidence, reason


def _ids(recs: Sequence[ProblemRecord], limit: int = 5) -> str:
    ids = [r.problem_id for r in recs]
    more = f" 等 {len(ids)} 个" if len(ids) > limit else ""
    return "、".join(ids[:limit]) + more


def _dpf(r: ProblemRecord) -> bool:
    if r.status in (Status.LEGAL, Status.OTHER, Status.ROUTINE):
        return False
    return (r.confirmed_class or r.candidate_class) in DPF or r.judgement_type == "大棚房"


def _illegal(r: ProblemRecord) -> bool:
    return r.judgement == "违法"


def _closed(r: ProblemRecord) -> bool:
    return r.status == Status.CLOSED


def _doubtful(d: AcceptanceData, r: ProblemRecord) -> bool:
    return d.fact(r.problem_id).doubtful or "整改存疑" in (r.alerts or "")


def _all_or_nothing(item: Item, ok: bool, evidence: str, reason: str) -> _Out:
    return (item.max, evidence, "") if ok else (ZERO, evidence, reason)


def _deduct(item: Item, per: Decimal, count: int) -> Decimal:
    """``max(0, max - per × count)`` (扣完为止)."""
    return max(ZERO, item.max - per * count)


def _manual(d: AcceptanceData, item: Item) -> Mapping[str, Any] | None:
    return d.manual.get(item.id)


def _unanswered(item: Item) -> _Out:
    return (
        ZERO,
        f'未填写：acceptance.toml [manual."{item.id}"]',
        "无人工答复",
    )


def _yes(m: Mapping[str, Any], key: str, item: Item) -> bool:
    v = m.get(key)
    if not isinstance(v, bool):
        raise ConfigError(
            f'acceptance.toml [manual."{item.id}"] {key} = {v!r}: write true or false.'
        )
    return v


def _doc_item(d: AcceptanceData, item: Item) -> tuple[_Out, bool]:
    """all-or-nothing on a manual ``done`` or on the documents of ``params.kinds``."""
    m = _manual(d, item)
    if m is not None and "done" in m:
        ok = _yes(m, "done", item)
        return _all_or_nothing(
            item, ok, "人工答复：" + ("有" if ok else "没有"), "人工答复：没有"
        ), True
    kinds = list(item.params.get("kinds", []))
    if not kinds:
        return _unanswered(item), True
    have = [k for k in kinds if d.has_doc(k)]
    miss = [k for k in kinds if k not in have]
    ev = (
        "文件登记："
        + ("、".join(have) if have else "无")
        + (f"；缺 {'、'.join(miss)}" if miss else "")
    )
    return _all_or_nothing(item, not miss, ev, f"缺 {'、'.join(miss)}"), False


def _tier(item: Item, level: str) -> Decimal:
    tiers = {k: Decimal(str(v)) for k, v in item.params["tiers"].items()}
    if level not in tiers:
        raise ConfigError(
            f'acceptance.toml [manual."{item.id}"] level = {level!r}: use one of {", ".join(tiers)}.'
        )
    return tiers[level]


# ------------------------------------------------------------------------------------------
# The item rules (each returns score, evidence, reason and whether a manual answer was used)


def _r_1_1(d: AcceptanceData, item: Item) -> tuple[_Out, bool]:
    per = item.dec("per")
    kinds = list(item.params["kinds"])
    m = _manual(d, item)
    if m is not None and "present" in m:
        n = int(m["present"])
        if not 0 <= n <= len(kinds):
            raise ConfigError(
                f'acceptance.toml [manual."1.1"] present = {n}: a count from 0 to {len(kinds)}.'
            )
        missing = len(kinds) - n
        ev = f"人工答复：{n}/{len(kinds)} 项方案"
        manual = True
    else:
        missing_kinds = [k for k in kinds if not d.has_doc(k)]
        missing = len(missing_kinds)
        ev = f"文件登记：{len(kinds) - missing}/{len(kinds)} 项" + (
            f"；缺 {'、'.join(missing_kinds)}" if missing_kinds else ""
        )
        manual = False
    s = _deduct(item, per, missing)
    return (s, ev, f"少 {missing} 项，扣 {per * missing}" if missing else ""), manual


def _r_2_1(d: AcceptanceData, item: Item) -> tuple[_Out, bool]:
    m = _manual(d, item)
    if m is not None and "level" in m:
        level, manual = str(m["level"]), True
    else:
        roles = [x.leader_role for x in d.documents if x.kind == "领导小组文件"]
        level = (
            "主要负责人"
            if "主要负责人" in roles
            else ("分管负责人" if "分管负责人" in roles else "其他")
        )
        manual = False
        if not roles:
            return (ZERO, "文件登记：无领导小组文件", "未成立领导小组"), False
    s = _tier(item, level)
    return (s, f"组长：{level}", "" if s == item.max else f"组长为{level}"), manual


def _r_2_3(d: AcceptanceData, item: Item) -> tuple[_Out, bool]:
    m = _manual(d, item)
    if m is not None:
        party = _yes(m, "party_instruction", item)
        gov = _yes(m, "gov_instruction", item)
        meeting = _yes(m, "meeting", item)
        manual = True
    else:
        party, gov, meeting = (
            d.has_doc("党委批示"),
            d.has_doc("政府批示"),
            d.has_doc("专题会议纪要"),
        )
        manual = False
    missing = [n for n, ok in (("党委批示", party), ("政府批示", gov)) if not ok]
    instr = (
        ZERO
        if len(missing) == 2
        else item.dec("instruction") - item.dec("per_missing") * len(missing)
    )
    s = instr + (item.dec("meeting") if meeting else ZERO)
    reason = "；".join(
        ([f"缺 {'、'.join(missing)}"] if missing else []) + ([] if meeting else ["未召开专题会议"])
    )
    ev = f"批示：党委{'有' if party else '无'}、政府{'有' if gov else '无'}；专题会议：{'有' if meeting else '无'}"
    return (s, ev, reason), manual


def _r_manual_yes(d: AcceptanceData, item: Item) -> tuple[_Out, bool]:
    m = _manual(d, item)
    if m is None or "done" not in m:
        if item.params.get("kinds"):
            return _doc_item(d, item)
        return _unanswered(item), True
    ok = _yes(m, "done", item)
    return _all_or_nothing(
        item, ok, "人工答复：" + ("有" if ok else "没有"), "人工答复：没有"
    ), True


def _r_4(d: AcceptanceData, item: Item) -> tuple[_Out, bool]:
    m = _manual(d, item)
    if m is None or "level" not in m:
        return _unanswered(item), True
    level = str(m["level"])
    s = _tier(item, level)
    return (s, f"人工答复：{level}", "" if s == item.max else f"政策宣传{level}"), True


def _r_5_1(d: AcceptanceData, item: Item) -> tuple[_Out, bool]:
    if not d.problems:
        return (ZERO, "问题台账为空", "没有问题台账"), False
    survey, signoff, per = item.dec("survey"), item.dec("signoff"), item.dec("per_omission")
    gh = list(d.greenhouses)
    visited = sum(1 for g in gh if g.last_visit_on is not None)
    full = bool(gh) and visited == len(gh)
    chain = list(item.params["chain"])
    missing = [c for c in chain if c not in d.signoff_roles]
    omitted = [r for r in d.problems if d.fact(r.problem_id).omitted_in_survey == "是"]
    s = (survey if full else ZERO) + (ZERO if missing else signoff)
    s = max(ZERO, s - per * len(omitted))
    ev = (
        f"入棚核查 {visited}/{len(gh)}；签字背书"
        + ("齐全" if not missing else f"缺 {'、'.join(missing)}")
        + f"；遗漏 {len(omitted)} 户"
    )
    reasons = []
    if not full:
        reasons.append("棚室未全部入棚核查" if gh else "无棚室台账，无法证明全面排查")
    if missing:
        reasons.append(f"签字背书缺 {'、'.join(missing)}")
    if omitted:
        reasons.append(f"遗漏 {len(omitted)} 户：{_ids(omitted)}")
    return (s, ev, "；".join(reasons)), False


def _r_5_2(d: AcceptanceData, item: Item) -> tuple[_Out, bool]:
    named = set(d.batches)
    scope = [r for r in d.problems if not named or named & set(r.batches)]
    left = [r for r in scope if r.status == Status.UNVERIFIED]
    label = "批次 " + "、".join(sorted(named)) if named else "全部批次"
    if not scope:
        return (ZERO, f"{label}：无问题", "该批次没有排查记录"), False
    ev = f"{label}：{len(left)} 个未核查" + (f"：{_ids(left)}" if left else "")
    return _all_or_nothing(item, not left, ev, f"{len(left)} 个未核查：{_ids(left)}"), False


def _r_5_4(d: AcceptanceData, item: Item) -> tuple[_Out, bool]:
    if not d.problems:
        return (ZERO, "问题台账为空", "没有问题台账"), False
    left = [r for r in d.problems if r.status == Status.UNVERIFIED]
    noclass = [
        r
        for r in d.problems
        if _illegal(r) and r.judgement_type == "大棚房" and r.confirmed_class not in DPF
    ]
    bad = left + noclass
    ev = f"未核查 {len(left)} 个；违法大棚房未定类 {len(noclass)} 个"
    return _all_or_nothing(item, not bad, ev, f"未完善：{_ids(bad)}"), False


def _r_5_5(d: AcceptanceData, item: Item) -> tuple[_Out, bool]:
    gh = list(d.greenhouses)
    if not gh:
        return (ZERO, "无棚室台账", "没有棚室统计台账"), False
    incomplete = [
        g.greenhouse_no for g in gh if any(getattr(g, f) in (None, "") for f, _ in _REGISTRY_FIELDS)
    ]
    level = "不详实" if incomplete else "详实"
    s = _tier(item, level)
    ev = f"棚室台账 {len(gh)} 个，{len(incomplete)} 个信息不全"
    return (s, ev, f"信息不全：{'、'.join(incomplete[:5])}" if incomplete else ""), False


def _r_5_6(d: AcceptanceData, item: Item) -> tuple[_Out, bool]:
    gh = list(d.greenhouses)
    signs = [g.signage for g in gh]
    if gh and all(s == "全" for s in signs):
        level = "全"
    elif any(s in ("全", "不全") for s in signs):
        level = "不全"
    else:
        level = "无"
    s = _tier(item, level)
    n_full = sum(1 for x in signs if x == "全")
    ev = f"标识齐全 {n_full}/{len(gh)}"
    return (s, ev, "" if s == item.max else f"标识{level}"), False


def _r_6_1_1(d: AcceptanceData, item: Item) -> tuple[_Out, bool]:
    m = _manual(d, item)
    if m is not None and "done" in m:
        return _r_manual_yes(d, item)
    return _all_or_nothing(
        item,
        d.parks_layer,
        "农业园区图层：" + ("有" if d.parks_layer else "无"),
        "农业园区未上图建库",
    ), False


def _r_6_1_2(d: AcceptanceData, item: Item) -> tuple[_Out, bool]:
    n = len(d.greenhouses)
    return _all_or_nothing(item, n > 0, f"棚室台账 {n} 个", "设施农业未上图建库"), False


def _r_6_1_3(d: AcceptanceData, item: Item) -> tuple[_Out, bool]:
    dpf = [r for r in d.problems if _dpf(r)]
    bad = [
        r for r in dpf if r.geometry is None or r.confirmed_class not in DPF or r.deadline is None
    ]
    if not dpf:
        return (ZERO, "无大棚房问题点位", "问题点位未上图建库"), False
    ev = f"大棚房问题 {len(dpf)} 个，缺图斑/类别/整改时限 {len(bad)} 个"
    return _all_or_nothing(item, not bad, ev, f"缺图斑、类别或整改时限：{_ids(bad)}"), False


def _r_6_1_4(d: AcceptanceData, item: Item) -> tuple[_Out, bool]:
    closed = sum(1 for r in d.problems if _closed(r))
    ok = d.map_run and closed > 0
    ev = f"挂图：{'有' if d.map_run else '无'}；已销号 {closed} 个"
    reason = "；".join(
        (["未生成作战图"] if not d.map_run else []) + (["无销号记录"] if not closed else [])
    )
    return _all_or_nothing(item, ok, ev, reason), False


def _r_6_2_1(d: AcceptanceData, item: Item) -> tuple[_Out, bool]:
    m = _manual(d, item)
    if m is not None and "plan_with_main_leader" in m:
        plan = _yes(m, "plan_with_main_leader", item)
    else:
        plan = d.has_doc("整改工作方案")
    illegal = [r for r in d.problems if _illegal(r)]
    incomplete = [
        r
        for r in illegal
        if not (r.responsible_unit and r.responsible_person and r.measure and r.deadline)
    ]
    lists = bool(illegal) and not incomplete
    s = (item.dec("plan") if plan else ZERO) + (item.dec("lists") if lists else ZERO)
    ev = f"整改工作方案：{'有' if plan else '无'}；责任/整改清单 {len(illegal) - len(incomplete)}/{len(illegal)} 完整"
    reasons = (["无整改工作方案"] if not plan else []) + (
        [f"清单不全：{_ids(incomplete)}"] if incomplete else ([] if illegal else ["无违法问题清单"])
    )
    return (s, ev, "；".join(reasons)), m is not None


def _r_6_2_2(d: AcceptanceData, item: Item) -> tuple[_Out, bool]:
    demolished = [r for r in d.problems if _closed(r) and "拆除" in r.measure]
    bad = [r for r in demolished if d.fact(r.problem_id).debris_cleared != "是" or _doubtful(d, r)]
    ev = f"{len(demolished)} 个拆除问题中 {len(bad)} 个未确认清理" + (
        f"：{_ids(bad)}" if bad else ""
    )
    return _all_or_nothing(
        item, not bad, ev, f"{len(bad)} 个拆除问题未确认垃圾清理：{_ids(bad)}"
    ), False


def _r_6_2_3(d: AcceptanceData, item: Item) -> tuple[_Out, bool]:
    scope = [
        r
        for r in d.problems
        if _closed(r) and _illegal(r) and r.illegal_occupied_m2 > 0 and "拆除" in r.measure
    ]
    bad = [
        r
        for r in scope
        if not ("恢复种植条件" in r.measure or "复耕" in r.measure) or r.acceptance_result != "合格"
    ]
    ev = f"{len(scope)} 个拆除占耕问题中 {len(scope) - len(bad)} 个恢复种植条件并验收合格"
    return _all_or_nothing(item, not bad, ev, f"未恢复或未验收合格：{_ids(bad)}"), False


def _r_6_2_4(d: AcceptanceData, item: Item) -> tuple[_Out, bool]:
    scope = [r for r in d.problems if "复耕" in r.measure]
    bad = [
        r
        for r in scope
        if not _closed(r) or d.fact(r.problem_id).reclaimed != "是" or _doubtful(d, r)
    ]
    ev = f"{len(scope)} 个复耕问题中 {len(bad)} 个未到位" + (f"：{_ids(bad)}" if bad else "")
    return _all_or_nothing(item, not bad, ev, f"复耕未到位或整改存疑：{_ids(bad)}"), False


def _case_by_case(r: ProblemRecord) -> bool:
    return r.status == Status.CASE_BY_CASE or "一事一议" in r.measure


def _r_6_2_6(d: AcceptanceData, item: Item) -> tuple[_Out, bool]:
    scope = [r for r in d.problems if _case_by_case(r)]
    if not scope:
        return (item.max, "没有“一事一议”事项", ""), False
    bad = [r for r in scope if not r.decision_ref]
    ev = f"“一事一议” {len(scope)} 个，缺批复文号 {len(bad)} 个"
    return _all_or_nothing(item, not bad, ev, f"手续不全：{_ids(bad)}"), False


def _r_6_2_7(d: AcceptanceData, item: Item) -> tuple[_Out, bool]:
    judged = [r for r in d.problems if r.status != Status.UNVERIFIED]
    with_ev = [r for r in judged if any(e.kind in ("photo", "document") for e in r.evidence)]
    if judged and len(with_ev) == len(judged):
        level = "完善"
    elif with_ev:
        level = "不完善"
    else:
        level = "没有"
    s = _tier(item, level)
    lacking = [r for r in judged if r not in with_ev]
    ev = f"已核查 {len(judged)} 个中 {len(with_ev)} 个有举证资料"
    return (
        s,
        ev,
        f"举证{level}：{_ids(lacking)}" if lacking else ("" if judged else "没有举证"),
    ), False


def _r_6_2_8(d: AcceptanceData, item: Item) -> tuple[_Out, bool]:
    scope = [r for r in d.problems if "补办设施农用地备案" in r.measure]
    if not scope:
        return (item.max, "没有需备案的问题", ""), False
    bad = [r for r in scope if not r.decision_ref]
    ev = f"备案 {len(scope)} 个，缺备案编号 {len(bad)} 个"
    return _all_or_nothing(item, not bad, ev, f"未完成备案：{_ids(bad)}"), False


def _r_6_3_1(d: AcceptanceData, item: Item) -> tuple[_Out, bool]:
    scope = [r for r in d.problems if r.confirmed_class in ("I", "II")]
    bad = [r for r in scope if not ("罚款" in r.measure or "没收" in r.measure)]
    ev = f"Ⅰ、Ⅱ类 {len(scope)} 个，未处罚 {len(bad)} 个"
    return _all_or_nothing(item, not bad, ev, f"未处罚：{_ids(bad)}"), False


def _r_6_3_2(d: AcceptanceData, item: Item) -> tuple[_Out, bool]:
    sus = [(r, d.fact(r.problem_id).funds_suspected_wan or ZERO) for r in d.problems]
    suspected = sum((s for _, s in sus), ZERO)
    if suspected == 0:
        return (item.max, "无涉嫌骗取资金", ""), False
    recovered = sum(
        (Decimal(str(r.funds_recovered_wan)) for r, s in sus if s > 0 and r.funds_recovered_wan),
        ZERO,
    )
    no_account = [r for r, s in sus if s > 0 and d.fact(r.problem_id).special_account != "是"]
    ok = recovered == suspected and not no_account
    ev = f"涉嫌骗取 {half_up(suspected)} 万元，已追回 {half_up(recovered)} 万元"
    reasons = (
        [f"尚有 {half_up(suspected - recovered)} 万元未追回"] if recovered != suspected else []
    ) + ([f"未专户管理：{_ids(no_account)}"] if no_account else [])
    return _all_or_nothing(item, ok, ev, "；".join(reasons)), False


def _r_6_3_3(d: AcceptanceData, item: Item) -> tuple[_Out, bool]:
    n = d.sanctions + d.cases
    ev = f"追责问责：处分 {d.sanctions} 人次，立案 {d.cases} 件"
    return _all_or_nothing(item, n > 0, ev, "没有移交追责问责记录"), False


def _wednesdays(start: date, end: date) -> list[date]:
    first = start + timedelta(days=(2 - start.weekday()) % 7)
    out = []
    while first <= end:
        out.append(first)
        first += timedelta(days=7)
    return out


def _r_7_1(d: AcceptanceData, item: Item) -> tuple[_Out, bool]:
    if d.period_start is None or d.period_end is None:
        return (
            ZERO,
            "统计期间未设：acceptance.toml [period] start、end",
            "无统计期间，无法核对周三信息报送",
        ), False
    weds = _wednesdays(d.period_start, d.period_end)
    entries = {r.due: r for r in d.reports if r.kind == "周三信息"}
    submitted = [r for r in entries.values() if r.submitted is not None]
    if not submitted:
        return (ZERO, f"{len(weds)} 个周三，0 次报送", "没有坚持周三信息报送"), False
    late = [w for w in weds if w not in entries or not entries[w].on_time]
    s = _deduct(item, item.dec("per"), len(late))
    ev = f"{len(weds)} 个周三，{len(late)} 次不及时或未报"
    reason = f"不及时 {len(late)} 次：" + "、".join(w.isoformat() for w in late[:5]) if late else ""
    return (s, ev, reason), False


def _r_7_2(d: AcceptanceData, item: Item) -> tuple[_Out, bool]:
    kinds = set(item.params["kinds"])
    scope = [r for r in d.reports if r.kind in kinds]
    late = [r for r in scope if not r.on_time]
    s = _deduct(item, item.dec("per"), len(late))
    ev = f"应报 {len(scope)} 份，不及时 {len(late)} 份"
    if not scope:
        return (ZERO, "报送记录：无", "没有报送记录"), False
    return (
        s,
        ev,
        "不及时：" + "、".join(f"{r.kind}({r.due})" for r in late) if late else "",
    ), False


def _r_9(d: AcceptanceData, item: Item) -> tuple[_Out, bool]:
    petitions = [c for c in d.complaints if c.channel in PETITION_CHANNELS]
    open_ = [c for c in petitions if not c.resolved]
    s = _deduct(item, item.dec("per"), len(open_))
    ev = f"上访 {len(petitions)} 次，未有效处理 {len(open_)} 次"
    return (s, ev, f"未有效处理 {len(open_)} 次" if open_ else ""), False


_RULES: dict[str, Callable[[AcceptanceData, Item], tuple[_Out, bool]]] = {
    "1.1": _r_1_1,
    "1.2": _r_manual_yes,
    "2.1": _r_2_1,
    "2.2": _r_manual_yes,
    "2.3": _r_2_3,
    "3": _r_manual_yes,
    "4": _r_4,
    "5.1": _r_5_1,
    "5.2": _r_5_2,
    "5.3": _r_manual_yes,
    "5.4": _r_5_4,
    "5.5": _r_5_5,
    "5.6": _r_5_6,
    "6.0": _r_manual_yes,
    "6.1.1": _r_6_1_1,
    "6.1.2": _r_6_1_2,
    "6.1.3": _r_6_1_3,
    "6.1.4": _r_6_1_4,
    "6.2.1": _r_6_2_1,
    "6.2.2": _r_6_2_2,
    "6.2.3": _r_6_2_3,
    "6.2.4": _r_6_2_4,
    "6.2.5": _r_manual_yes,
    "6.2.6": _r_6_2_6,
    "6.2.7": _r_6_2_7,
    "6.2.8": _r_6_2_8,
    "6.3.1": _r_6_3_1,
    "6.3.2": _r_6_3_2,
    "6.3.3": _r_6_3_3,
    "7.1": _r_7_1,
    "7.2": _r_7_2,
    "8.1": _r_manual_yes,
    "8.2": _r_manual_yes,
    "9": _r_9,
}


# Items whose rule is "every applicable problem ..." score 0 on an empty ledger (no rectification
# to judge) rather than full points by vacuous truth [inferred]; with problems but none applicable
# they score full points.
_NEEDS_LEDGER = frozenset({"6.2.2", "6.2.3", "6.2.4", "6.3.1"})


def score(scheme: Scheme, data: AcceptanceData) -> ScoreResult:
    """Score every item of ``scheme`` on ``data`` (overrides applied last, reason kept)."""
    unknown = sorted(set(data.overrides) - {i.id for i in scheme.items})
    if unknown:
        raise ConfigError(f"acceptance.toml [override]: no item {', '.join(unknown)}.")
    out: list[ItemScore] = []
    for item in scheme.items:
        rule = _RULES.get(item.id)
        if rule is None:
            raise ConfigError(f"Acceptance item {item.id} has no rule in parcelwatch.")
        if item.id in _NEEDS_LEDGER and not data.problems:
            (s, ev, reason), manual = (ZERO, "问题台账为空", "没有问题台账"), False
        else:
            (s, ev, reason), manual = rule(data, item)
        s = max(ZERO, min(item.max, s)) + ZERO  # + 0 turns -0 into 0
        method = "人工" if manual or item.source == "manual" else _METHOD[item.source]
        if item.id in data.overrides:
            value, why = data.overrides[item.id]
            if not ZERO <= value <= item.max:
                raise ConfigError(
                    f'acceptance.toml [override."{item.id}"] score = {value}: between 0 and {item.max}.'
                )
            ev = f"{ev}（计算得分 {half_up(s)}）"
            s, method, reason = value, "人工调整", why
        out.append(ItemScore(item, s, method, ev, reason))
    petitions = [c for c in data.complaints if c.channel in PETITION_CHANNELS]
    vetoed = any(c.major_impact and not c.resolved for c in petitions)
    ordered = sorted(out, key=lambda x: GROUP_ORDER.index(x.item.group))
    return ScoreResult(scheme, tuple(ordered), vetoed, "信访维稳" if vetoed else "")
