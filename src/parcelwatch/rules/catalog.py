"""The rule catalog: each rule has a stable id, the class it suggests, the rules-file keys it
reads, the layers it needs, and reason templates in Chinese and English.

Rule *logic* is a small vectorised function over the footprint metrics table (one row per
building); :func:`parcelwatch.rules.classify.classify` concatenates what fired. Everything is a
candidate (疑似), never a verdict.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from parcelwatch.config import Rules
from parcelwatch.labels import CLASS_LABELS as ALL_CLASS_LABELS
from parcelwatch.labels import CLASS_ORDER as PROBLEM_CLASS_ORDER

__all__ = ["Rule", "CATALOG", "CLASS_ORDER", "CLASS_LABELS", "use_category"]

# Most severe first (a parcel's class is the first of its findings' classes in this order).
CLASS_ORDER = PROBLEM_CLASS_ORDER[:4]  # I, II, III, conversion (parcelwatch.labels)
CLASS_LABELS = {
    lang: {c: labels[c] for c in (*CLASS_ORDER, "none")}
    for lang, labels in ALL_CLASS_LABELS.items()
}


def use_category(uses: pd.Series, rules: Rules) -> pd.Series:
    """Classify recorded uses: caretaker, agricultural, unknown, or a non-agricultural category.

    Matching is by substring, in this order: caretaker, agricultural, then the non-agricultural
    vocabularies; a value matching none is 'other' (treated as non-agricultural, and said so).
    """
    v = rules.vocabulary
    text = uses.fillna("").astype(str).str.strip()
    out = pd.Series("other", index=uses.index, dtype=object)
    unknown = text.isin(v.unknown) | (text == "")
    assigned = unknown.copy()
    out[unknown] = "unknown"
    for name, words in (
        ("caretaker", v.caretaker),
        ("agricultural", v.agricultural),
        ("residential", v.residential),
        ("catering", v.catering),
        ("lodging", v.lodging),
        ("leisure", v.leisure),
        ("industrial", v.industrial),
    ):
        words = tuple(w for w in words if w)
        if not words:
            continue
        hit = ~assigned & text.str.contains("|".join(map(_escape, words)), regex=True)
        out[hit] = name
        assigned |= hit
    return out


def _escape(word: str) -> str:
    import re

    return re.escape(word)


NON_AGRICULTURAL = ("residential", "catering", "lodging", "leisure", "industrial", "other")


@dataclass(frozen=True)
class Rule:
    id: str
    problem_class: str  # I, II, III, conversion, none
    needs: tuple[str, ...]  # layers the rule cannot run without
    keys: tuple[str, ...]  # rules-file keys it reads
    zh: str
    en: str
    fires: Callable[[pd.DataFrame, Rules], np.ndarray]


def _caretaker_near(m: pd.DataFrame, r: Rules) -> np.ndarray:
    return (m["use_category"] == "caretaker").to_numpy() & (
        m["in_greenhouse"].to_numpy()
        | (m["greenhouse_distance_m"].to_numpy() <= r.greenhouse.caretaker_distance_m)
    )


def _class3_storeys(m: pd.DataFrame, r: Rules) -> np.ndarray:
    storeys = m["storeys"].astype("Float64").fillna(0).to_numpy(dtype=float)
    return _caretaker_near(m, r) & (storeys > r.greenhouse.caretaker_max_storeys)


def _class3_oversize(m: pd.DataFrame, r: Rules) -> np.ndarray:
    limit, _ = r.caretaker_limit_m2()
    return _caretaker_near(m, r) & (m["area_m2"].to_numpy() > limit)


def _caretaker_ok(m: pd.DataFrame, r: Rules) -> np.ndarray:
    return _caretaker_near(m, r) & ~_class3_storeys(m, r) & ~_class3_oversize(m, r)


def _class2(m: pd.DataFrame, r: Rules) -> np.ndarray:
    return m["in_greenhouse"].to_numpy() & m["on_farmland"].to_numpy() & ~_caretaker_ok(m, r)


def _non_agri(m: pd.DataFrame) -> np.ndarray:
    return m["use_category"].isin(NON_AGRICULTURAL).to_numpy()


def _class1_context(m: pd.DataFrame, r: Rules) -> np.ndarray:
    unknown_big = (m["use_category"] == "unknown").to_numpy() & (
        m["area_m2"].to_numpy() >= r.greenhouse.class1_min_area_m2
    )
    return (
        ~m["in_greenhouse"].to_numpy()
        & m["on_farmland"].to_numpy()
        & m["in_context"].to_numpy()
        & (_non_agri(m) | unknown_big)
    )


def _class1_filing(m: pd.DataFrame, r: Rules) -> np.ndarray:
    return m["on_filing"].to_numpy() & _non_agri(m)


def _conversion(m: pd.DataFrame, r: Rules) -> np.ndarray:
    return m["on_farmland"].to_numpy() & ~m["in_context"].to_numpy() & ~m["on_filing"].to_numpy()


CATALOG: tuple[Rule, ...] = (
    Rule(
        "class1.filed_facility_land_changed",
        "I",
        ("buildings", "approvals"),
        ("approval.facility_types", "approval.filing_inside_share"),
        "建筑{fid}（{use}，{area:.1f} m²）位于设施农用地备案{filing}范围内，用途为非农业 → 疑似第一类（备案设施农用地改变用途）",
        "Building {fid} ({use_en}, {area:.1f} m²) stands on filed facility land {filing} with a non-agricultural use -> suspected Class I (filed facility land changed to other use)",
        _class1_filing,
    ),
    Rule(
        "class1.non_agricultural_in_context",
        "I",
        ("buildings", "farmland"),
        ("greenhouse.context_distance_m", "greenhouse.class1_min_area_m2", "vocabulary.*"),
        "建筑{fid}（{use}，{area:.1f} m²）位于大棚外、{context}，占用耕地{farm_mu:.2f}亩 → 疑似第一类",
        "Building {fid} ({use_en}, {area:.1f} m²) outside greenhouses, {context_en}, occupies {farm_mu:.2f} mu of farmland -> suspected Class I",
        _class1_context,
    ),
    Rule(
        "class2.building_in_greenhouse",
        "II",
        ("buildings", "greenhouses", "farmland"),
        ("greenhouse.inside_share",),
        "建筑{fid}（{use}，{area:.1f} m²）{gh_share:.0%} 位于大棚{gh}内，占用耕地{farm_mu:.2f}亩 → 疑似第二类",
        "Building {fid} ({use_en}, {area:.1f} m²) lies {gh_share:.0%} inside greenhouse {gh}, occupies {farm_mu:.2f} mu of farmland -> suspected Class II",
        _class2,
    ),
    Rule(
        "class3.caretaker_storeys",
        "III",
        ("buildings", "greenhouses"),
        ("greenhouse.caretaker_distance_m", "greenhouse.caretaker_max_storeys"),
        "看护房{fid}（{storeys}层，{area:.1f} m²）{gh_where}，超过单层标准 → 疑似第三类",
        "Caretaker room {fid} ({storeys} storeys, {area:.1f} m²) {gh_where_en}, more than one storey -> suspected Class III",
        _class3_storeys,
    ),
    Rule(
        "class3.caretaker_oversize",
        "III",
        ("buildings", "greenhouses"),
        ("county.region", "greenhouse.caretaker_limit_*"),
        "看护房{fid}（{area:.1f} m²）{gh_where}，超过{region}{limit} m² → 疑似第三类",
        "Caretaker room {fid} ({area:.1f} m²) {gh_where_en}, larger than the {region_en} limit of {limit} m² -> suspected Class III",
        _class3_oversize,
    ),
    Rule(
        "conversion.building_on_farmland",
        "conversion",
        ("buildings", "farmland"),
        ("geometry.min_overlap_m2", "geometry.min_overlap_share"),
        "建筑{fid}（{use}，{area:.1f} m²）占用耕地{farm_mu:.2f}亩，不在农业设施范围内，无批准用地手续 → 疑似耕地非农化",
        "Building {fid} ({use_en}, {area:.1f} m²) occupies {farm_mu:.2f} mu of farmland outside any agricultural context, with no approval -> suspected farmland conversion",
        _conversion,
    ),
)

APPROVAL_RULE_ID = "approval.covered"
APPROVAL_ZH = "建筑{fid}（{area:.1f} m²）{share:.0%} 位于{kind}{doc}范围内 → 不作为问题，建议认定为{judgement}"
APPROVAL_EN = "Building {fid} ({area:.1f} m²) lies {share:.0%} within {kind_en} {doc} -> not a problem; suggested judgement {judgement_en}"
