"""Checks for 纪检监察办 (seed 004 四(四), 六(二); SEED-SYSTEMS §B.7): a pure function over stored
findings. Returned as data (rows with the finding id, the check and the detail)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from parcelwatch.patrol.photos import distance_m
from parcelwatch.patrol.records import entry_from_finding
from parcelwatch.patrol.scheme import FINDER_LABELS, Scheme
from parcelwatch.patrol.scoring import month_of, scoring_month

__all__ = ["integrity"]


def _point(wkt: str | None) -> tuple[float, float] | None:
    if not wkt or not wkt.startswith("POINT"):
        return None
    x, y = wkt[wkt.index("(") + 1 : wkt.index(")")].split()
    return float(x), float(y)


def integrity(
    findings: Sequence[Mapping[str, Any]],
    scheme: Scheme,
    month: str,
    *,
    audit: Sequence[Mapping[str, Any]] = (),
    committed_at: str | None = None,
) -> list[tuple[str, str, str]]:
    """(finding id, check, detail) for the month's findings:

    * 村上报晚于督查发现: a village report of an issue a group/department/higher level found first;
    * 照片时间晚于上报时间: a photo whose EXIF time is after the report;
    * 照片位置偏离: a photo farther than ``photo_max_distance_m`` from the finding's point;
    * 得分提交后修改: with the month's scores committed at ``committed_at`` (ISO time, the latest
      ``patrol score --commit``), a finding scored in the month that was created or changed after
      it (``audit``: the findings' audit events) - the published scores no longer match the records.
    """
    entries = {f["finding_id"]: entry_from_finding(f) for f in findings}
    by_issue: dict[str, list[Any]] = {}
    for e in entries.values():
        by_issue.setdefault(e.issue, []).append(e)
    out = []
    for f in findings:
        e = entries[f["finding_id"]]
        if e.finder_kind != "village_self" or e.reported_at is None:
            continue
        if scoring_month(e, scheme) != month and month_of(e.reported_at) != month:
            continue
        for g in by_issue[e.issue]:
            t = g.reference_time
            if g.finder_kind != "village_self" and t is not None and t < e.reported_at:
                out.append(
                    (
                        e.finding_id,
                        "村上报晚于督查发现",
                        f"{FINDER_LABELS.get(g.finder_kind, g.finder_kind)} {g.finding_id} 于 {t.isoformat()} 发现，村于 {e.reported_at.isoformat()} 上报",
                    )
                )
        here = _point(f.get("geom_wkt"))
        for p in f.get("photos") or []:
            d = dict(kv.split("=", 1) for kv in str(p.get("detail", "")).split(";") if "=" in kv)
            if "exif_time" in d and datetime.fromisoformat(d["exif_time"]) > e.reported_at:
                out.append(
                    (e.finding_id, "照片时间晚于上报时间", f"{p['path']} 拍摄于 {d['exif_time']}")
                )
            if here and "lon" in d and "lat" in d:
                dist = distance_m(here[0], here[1], float(d["lon"]), float(d["lat"]))
                if dist > scheme.photo_max_distance_m:
                    out.append(
                        (e.finding_id, "照片位置偏离", f"{p['path']} 距发现位置 {dist:.0f} 米")
                    )
    if committed_at:
        at = datetime.fromisoformat(committed_at)
        in_month = {fid for fid, e in entries.items() if scoring_month(e, scheme) == month}
        for ev in audit:
            if (
                ev.get("entity", "patrol_findings") != "patrol_findings"
                or ev["record_id"] not in in_month
            ):
                continue
            if datetime.fromisoformat(ev["at"]) > at:
                fields = "、".join(sorted(ev["changes"])) if ev["kind"] != "create" else "新建"
                out.append(
                    (
                        ev["record_id"],
                        "得分提交后修改",
                        f"{ev['at']} {ev['user']} {ev['kind']}（{fields}）；{month} 得分提交于 {committed_at}",
                    )
                )
    return out
