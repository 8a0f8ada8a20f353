"""Every label a user reads for statuses and classes, in Chinese and English, with colours and order.

One source: the ledger model, the rules catalog, the battle map, the Excel forms and the CLI take
their words, colours and orders from here (base module: imports nothing from parcelwatch).

* **Statuses** (DOMAIN §9.4): the Chinese name is the stored value. Colours: 未核查 yellow, 合法
  green and the red of 未整改 follow a real county style file (DOMAIN §3.4); the others are ours.
* **Classes** (DOMAIN §1.2, §7): 第一类, 第二类, 第三类, 耕地非农化, in this order everywhere
  (most severe first), then 非大棚房 (handed to routine enforcement) and 无. A class the system
  found but no one has confirmed is a candidate, labelled with the prefix 疑似.
* **Overdue** is not a status: the map marks it with its own outline (:data:`OVERDUE_STYLE`) and
  keeps the status colour.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "STATUS_ORDER",
    "STATUS_EN",
    "STATUS_STYLE",
    "OVERDUE_STYLE",
    "CLASS_ORDER",
    "CLASS_LABELS",
    "CONFIRMED_CLASS_CODES",
    "CANDIDATE_PREFIX",
    "class_label",
    "candidate_label",
    "TRANSITION_MEANING_ZH",
    "MEASURE_ORDER",
    "MEASURE_EN",
    "FIGURE_LABELS",
]

# Status values in workflow order (the order of every table by status).
STATUS_ORDER: tuple[str, ...] = (
    "未核查",
    "合法",
    "其他",
    "未整改",
    "整改中",
    "待验收",
    "已销号",
    "退回",
    "一事一议",
    "转日常执法",
    "反弹",
)
STATUS_EN: dict[str, str] = {
    "未核查": "not verified",
    "合法": "legal",
    "其他": "other (not new construction)",
    "未整改": "confirmed illegal, not rectified",
    "整改中": "being rectified",
    "待验收": "awaiting acceptance",
    "已销号": "closed",
    "退回": "returned by the upper level",
    "一事一议": "case-by-case decision pending",
    "转日常执法": "handed to routine enforcement",
    "反弹": "rebound (reopened)",
}
# Fill colour, outline colour and whether the map shows the status by default.
STATUS_STYLE: dict[str, dict[str, Any]] = {
    "未核查": {"color": "#FFFF00", "stroke": "#9a8a00", "visible": True},
    "未整改": {"color": "#FF0000", "stroke": "#990000", "visible": True},
    "整改中": {"color": "#FF8C00", "stroke": "#a35400", "visible": True},
    "待验收": {"color": "#1E90FF", "stroke": "#0b4f8f", "visible": True},
    "已销号": {"color": "#00A651", "stroke": "#006130", "visible": True},
    "反弹": {"color": "#C000C0", "stroke": "#600060", "visible": True},
    "退回": {"color": "#FF69B4", "stroke": "#a03a6c", "visible": True},
    "一事一议": {"color": "#8B5A2B", "stroke": "#4a2e12", "visible": True},
    "转日常执法": {"color": "#808080", "stroke": "#404040", "visible": True},
    "合法": {"color": "#00CC33", "stroke": "#007a1f", "visible": False},
    "其他": {"color": "#0000FF", "stroke": "#000080", "visible": False},
}
# Overdue (逾期): a black dashed outline over the unchanged status fill, plus a label in the legend.
OVERDUE_STYLE: dict[str, Any] = {
    "color": "#000000",
    "weight": 3,
    "dashArray": "2 4",
    "label": "逾期（黑色虚线边框；填充色仍为整改状态）",
    "label_en": "overdue (black dashed outline; the fill keeps the status colour)",
}

# Class codes, most severe first; the first four are the problem classes.
CLASS_ORDER: tuple[str, ...] = ("I", "II", "III", "conversion", "non_dpf", "none")
CLASS_LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "I": "第一类",
        "II": "第二类",
        "III": "第三类",
        "conversion": "耕地非农化",
        "non_dpf": "非大棚房",
        "none": "无",
    },
    "en": {
        "I": "Class I",
        "II": "Class II",
        "III": "Class III",
        "conversion": "farmland conversion",
        "non_dpf": "not 大棚房",
        "none": "none",
    },
}
# What staff may confirm (the Excel dropdown offers these labels).
CONFIRMED_CLASS_CODES: tuple[str, ...] = ("I", "II", "III", "conversion", "non_dpf")
CANDIDATE_PREFIX = "疑似"

# Rectification measures (整改措施; the Chinese word is the stored value), in dropdown order.
MEASURE_ORDER: tuple[str, ...] = (
    "拆除",
    "复耕",
    "恢复种植条件",
    "恢复原状",
    "补办手续",
    "补办设施农用地备案",
    "没收",
    "罚款",
    "移送",
    "一事一议",
)
MEASURE_EN: dict[str, str] = {
    "拆除": "demolition",
    "复耕": "restored to cultivation",
    "恢复种植条件": "planting conditions restored",
    "恢复原状": "restored to the original state",
    "补办手续": "approval obtained afterwards",
    "补办设施农用地备案": "facility-farmland filing made afterwards",
    "没收": "confiscation",
    "罚款": "fine",
    "移送": "referred (to the police / discipline inspection)",
    "一事一议": "case-by-case decision",
}

# The ledger's figures (ledger.figures: one definition each), as every table and form heads them.
FIGURE_LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "count": "问题个数",
        "confirmed": "认定违法",
        "closed": "已销号(认定违法)",
        "rectifying": "整改中(含待验收)",
        "overdue": "逾期",
        "completion_rate": "整改完成率",
        "parcel": "图斑面积",
        "illegal_confirmed": "违法占用耕地（已认定）",
        "illegal_candidate": "疑似违法占用耕地（未认定）",
        "remaining": "剩余未整改面积（已认定）",
    },
    "en": {
        "count": "problems",
        "confirmed": "confirmed illegal",
        "closed": "closed (confirmed illegal)",
        "rectifying": "being rectified (incl. awaiting acceptance)",
        "overdue": "overdue",
        "completion_rate": "completion rate",
        "parcel": "parcel area",
        "illegal_confirmed": "farmland occupied illegally (confirmed)",
        "illegal_candidate": "farmland occupied, suspected (not confirmed)",
        "remaining": "area still to rectify (confirmed)",
    },
}


# What each status change means, in Chinese (by the English meaning in the transition table).
TRANSITION_MEANING_ZH: dict[str, str] = {
    "verified legal / not new construction": "核查为合法 / 非新增建设用地",
    "confirmed illegal (已认定违法)": "认定违法",
    "not 大棚房: handed to routine enforcement": "非\u201c大棚房\u201d问题，转日常执法",
    "referred for a case-by-case decision": "报请\u201c一事一议\u201d",
    "reopened / re-verified / returned": "反弹重开 / 重新核查 / 上级退回",
    "rectification started": "开始整改",
    "case-by-case / routine enforcement": "\u201c一事一议\u201d / 转日常执法",
    "rectified, awaiting acceptance": "整改完成，待验收",
    "accepted and closed (销号)": "验收合格，销号",
    "acceptance refused by the upper level": "上级验收不通过，退回",
    "rectification resumed": "继续整改",
    "back to confirmed illegal": "重新认定违法",
    "re-verification": "重新核查",
    "judgement resubmitted": "重新报送核查结论",
    "closed by the decision": "按\u201c一事一议\u201d决定销号",
    "decision: handle as illegal": "决定按违法处理",
    "decision: rectify as decided": "按决定整改",
    "found again / closure refused at a spot check": "再次发现（反弹） / 抽查不通过退回",
    "taken back for re-verification": "收回重新核查",
    "taken back into the campaign": "收回专项整治",
    "rebound confirmed illegal": "反弹认定违法",
    "rebound being rectified": "反弹整改中",
    "rebound verified legal / other": "反弹核查为合法 / 其他",
}


def class_label(code: str | None, lang: str = "zh") -> str:
    """The label of a class code (``''`` for none given; unknown codes are returned as they are)."""
    if not code:
        return ""
    return CLASS_LABELS[lang].get(code, code)


def candidate_label(code: str | None) -> str:
    """A class the system found, not confirmed: 疑似第一类 ...; ``无`` for none."""
    if not code or code == "none":
        return CLASS_LABELS["zh"]["none"]
    return CANDIDATE_PREFIX + class_label(code)
