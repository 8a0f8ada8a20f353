"""Evidence hints (影像提示) from before/after statistics, the ledger records and the rules. Pure.

A hint helps staff decide where to look; it never changes a status. The rules, in order (the first
that fires wins, so a problem gets at most one hint):

``疑似反弹`` (suspected rebound)
    the problem is 已销号 (or already 反弹, where the image corroborates it) and its parcel has
    changed pixels that look built after (NDVI below ``ndvi_bare_max``, or bright without NIR)
    covering at least ``construction_min_m2``.
``整改存疑`` (rectification doubtful)
    the problem is 整改中, 待验收 or 已销号, its measure includes 拆除, 复耕, 恢复种植条件 or 恢复原状
    (demolition must be followed by restoring the land to cultivation, DOMAIN §3.5-3.6), and at
    least ``unrestored_share_min`` of its building footprints (of the parcel when it has no
    footprint) is still bare, bright or built in the after image.
``整改属实`` (rectification confirmed)
    the same problems, when the footprints are restored instead (a positive hint).
``疑似伪变化`` (suspected pseudo-change)
    any problem whose parcel changed on at most ``no_change_share_max`` of its pixels and on
    less than ``no_change_max_m2``, and none of whose footprints changed on ``change_share_min``.

A parcel with less than ``min_coverage`` valid pixels gets ``imagery_status`` 无影像 and no hint.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from parcelwatch.ledger.model import ProblemRecord, Status

__all__ = ["HINTS", "HINT_COLUMNS", "RESTORING_MEASURES", "evidence_hints"]

HINTS: dict[str, str] = {
    "整改存疑": "rectification doubtful",
    "整改属实": "rectification confirmed",
    "疑似反弹": "suspected rebound",
    "疑似伪变化": "suspected pseudo-change",
}
HINT_COLUMNS = ["problem_id", "hint", "hint_en", "reason", "reason_en", "imagery_status"]
# Measures that end with the land restored to cultivation (拆除 is followed by restoration).
RESTORING_MEASURES = frozenset({"拆除", "复耕", "恢复种植条件", "恢复原状"})
_RECTIFIED = frozenset({Status.RECTIFYING, Status.AWAITING_ACCEPTANCE, Status.CLOSED})
_REBOUND_CHECK = frozenset({Status.CLOSED, Status.REBOUND})


def _pct(x: float) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.0%}"


def _num(x: Any, fmt: str = ".2f") -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, fmt)


def _hint_for(
    rec: ProblemRecord, p: Mapping[str, Any], fp: pd.DataFrame, th: Any
) -> tuple[str, str, str]:
    """(hint, reason zh, reason en) for one problem with imagery; ("", "", "") when none."""
    measures = set(rec.measure.split("+")) if rec.measure else set()
    ndvi = f"NDVI {_num(p['ndvi_before'])}→{_num(p['ndvi_after'])}"
    bright = f"亮度 {_num(p['brightness_before'], '.0f')}→{_num(p['brightness_after'], '.0f')}"
    if rec.status in _REBOUND_CHECK and p["new_built_m2"] >= th.construction_min_m2:
        return (
            "疑似反弹",
            f"状态为{rec.status.value}，后时相影像在图斑内出现约 {p['new_built_m2']:.0f} m² 新变化且呈建筑/裸露特征"
            f"（变化像元 {_pct(p['share_changed'])}，{ndvi}，{bright}），疑似重新建设，请实地核查。",
            f"status {rec.status.label_en}; the after image shows about {p['new_built_m2']:.0f} m² of change that looks built "
            f"(changed pixels {_pct(p['share_changed'])}); possible rebuilding, check on site.",
        )
    if rec.status in _RECTIFIED and measures & RESTORING_MEASURES:
        usable = fp[fp["coverage"] > 0] if len(fp) else fp
        if len(usable):
            weights = usable["n_pixels"] * usable["coverage"]
            unrestored = float((usable["share_after_unrestored"] * weights).sum() / weights.sum())
            where, where_en = (
                f"原建筑位置（{len(usable)} 处）",
                f"the {len(usable)} building footprint(s)",
            )
        else:
            unrestored = float(p["share_after_unrestored"])
            where, where_en = "图斑", "the parcel"
        if unrestored >= th.unrestored_share_min:
            return (
                "整改存疑",
                f"整改措施为{rec.measure}（{rec.status.value}），但后时相影像中{where} {unrestored:.0%} 仍为裸土、建筑或高亮地物，"
                f"未见恢复种植（{ndvi}）。请核实是否已复耕。",
                f"measure {rec.measure} ({rec.status.label_en}) but {unrestored:.0%} of {where_en} is still bare, bright "
                "or built in the after image; cultivation not restored. Verify the rectification.",
            )
        return (
            "整改属实",
            f"整改措施为{rec.measure}，后时相影像中{where}已基本恢复植被（未恢复 {unrestored:.0%}，{ndvi}）。",
            f"measure {rec.measure}; {where_en} shows vegetation again in the after image ({unrestored:.0%} not restored).",
        )
    fp_changed = bool(
        len(fp) and (fp.loc[fp["coverage"] > 0, "share_changed"] >= th.change_share_min).any()
    )
    if (
        p["share_changed"] <= th.no_change_share_max
        and not p["changed_m2"] >= th.no_change_max_m2
        and not fp_changed
    ):
        return (
            "疑似伪变化",
            f"前后时相影像无明显变化（变化像元 {_pct(p['share_changed'])}，约 {_num(p['changed_m2'], '.0f')} m²；{ndvi}；{bright}），疑似伪变化。",
            f"no visible change between the images (changed pixels {_pct(p['share_changed'])}); suspected pseudo-change.",
        )
    return "", "", ""


def evidence_hints(
    parcel_stats: pd.DataFrame,
    records: Sequence[ProblemRecord],
    *,
    rules: Any,
    footprint_stats: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per record: ``HINT_COLUMNS`` (``hint`` empty when none fired).

    ``parcel_stats`` is indexed by problem id (see :func:`~parcelwatch.imagery.stats.zonal_change`);
    ``footprint_stats`` has a ``problem_id`` column and the same statistics per building footprint;
    ``rules`` is a :class:`~parcelwatch.config.Rules` or its ``imagery`` section.
    """
    th = getattr(rules, "imagery", rules)
    fps = (
        footprint_stats
        if footprint_stats is not None
        else pd.DataFrame(columns=["problem_id", "coverage"])
    )
    by_problem = {k: g for k, g in fps.groupby("problem_id")} if len(fps) else {}
    empty_fp = fps.iloc[:0]
    rows = []
    for rec in records:
        pid = rec.problem_id
        if pid not in parcel_stats.index or not parcel_stats.at[pid, "coverage"] >= th.min_coverage:
            cov = parcel_stats.at[pid, "coverage"] if pid in parcel_stats.index else 0.0
            why = "图斑不在影像范围内或全为无效值" if not cov else f"影像仅覆盖图斑 {cov:.0%}"
            rows.append(
                {
                    "problem_id": pid,
                    "hint": "",
                    "hint_en": "",
                    "reason": f"无影像：{why}，未给出提示。",
                    "reason_en": "no imagery over the parcel (outside the rasters or nodata); no hint.",
                    "imagery_status": "无影像",
                }
            )
            continue
        p = parcel_stats.loc[pid].to_dict()
        hint, zh, en = _hint_for(rec, p, by_problem.get(pid, empty_fp), th)
        rows.append(
            {
                "problem_id": pid,
                "hint": hint,
                "hint_en": HINTS.get(hint, ""),
                "reason": zh,
                "reason_en": en,
                "imagery_status": p["imagery_status"],
            }
        )
    return pd.DataFrame(rows, columns=HINT_COLUMNS)
