"""One month of town patrols on the sample county, for the README demo (fixed clock, reproducible).

The sample villages (CJDCQ) are grouped by township into patrol groups; ``patrol.toml`` gets the
illustrative points of SEED-SYSTEMS §B.3 (ZR-01 = 2, ZR-02 = 2, NY-05 = 1, NY-02 = 1, because the
seed's 附件2 is missing). Villages report, groups and higher levels find, a 12345 complaint comes
in, the lead departments verify, and the month is scored and written as the bulletin.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd

from parcelwatch.patrol import findings as F
from parcelwatch.patrol.bulletin import write_month_bulletin
from parcelwatch.patrol.maplayers import finding_layer, score_layer
from parcelwatch.patrol.records import PatrolBook
from parcelwatch.patrol.scheme import PATROL_FILE, load_scheme, template_toml
from parcelwatch.patrol.scores import commit_month, scheme_digest
from parcelwatch.patrol.scoring import LOCAL_TZ, display

__all__ = ["DEMO_POINTS", "run_patrol_month"]

DEMO_POINTS = {"ZR-01": 2, "ZR-02": 2, "NY-05": 1, "NY-02": 1}
_GROUP_NAMES = (
    "第一巡查督查组",
    "第二巡查督查组",
    "第三巡查督查组",
    "第四巡查督查组",
    "第五巡查督查组",
)


def _at(d: date, hour: int) -> datetime:
    return datetime(d.year, d.month, d.day, hour, tzinfo=LOCAL_TZ)


def run_patrol_month(
    ws: Any,
    villages: gpd.GeoDataFrame,
    out_dir: Path,
    *,
    month: str = "2026-04",
    user: str = "综合行政执法办",
) -> tuple[list[str], dict[str, Path], dict[str, gpd.GeoDataFrame]]:
    """Run the month; returns summary lines, outputs and the map layers (findings, scores)."""
    v = villages.to_crs(4490).sort_values("village_code")
    names = v["village_name"].astype(str).tolist()
    codes = v["village_code"].astype(str).tolist()
    towns: dict[str, list[str]] = {}
    for code, name in zip(codes, names, strict=True):
        towns.setdefault(code[:9], []).append(name)
    groups = [
        (f"G{i + 1}", _GROUP_NAMES[i % len(_GROUP_NAMES)], vs, "")
        for i, vs in enumerate(towns.values())
    ]
    (ws.path / PATROL_FILE).write_text(
        template_toml(name="样例县大巡查", groups=groups, points=DEMO_POINTS), encoding="utf-8"
    )
    scheme = load_scheme(ws.path / PATROL_FILE)
    book = PatrolBook(ws.store)
    pts = dict(zip(names, v.geometry.representative_point(), strict=True))
    first = date.fromisoformat(month + "-01")
    now = _at(first + timedelta(days=29), 18)

    def spot(name: str, k: int) -> tuple[float, float]:
        p = pts[name]
        return p.x + 0.0008 * (k % 3), p.y + 0.0006 * (k // 3)

    n = 0
    for i, name in enumerate(names):
        for k in range(i % 4):  # 0-3 village reports, verified
            day = first + timedelta(days=2 + 3 * k + i % 5)
            lon, lat = spot(name, k)
            item = ("ZR-02", "ZR-01", "NY-02")[k % 3]
            fid, _ = F.report(book, scheme, village=name, item=item, occurred=day, reported_at=_at(day, 15), place=f"{name}村委会附近",
                              content="巡查发现并上报", by="村巡查员", lon=lon, lat=lat, user=user, now=now)  # fmt: skip
            # the demo has no photo files: the evidence is recorded as a reference so R1 applies
            book.update(
                "patrol_findings",
                fid,
                {
                    "photos": [
                        {
                            "kind": "photo",
                            "path": f"photos/{fid}.jpg",
                            "sha256": "",
                            "detail": "demo",
                        }
                    ]
                },
                user=user,
                now=now,
            )
            dept = scheme.item(item).dept  # type: ignore[union-attr]
            F.verify(
                book,
                scheme,
                fid,
                result="属实",
                by=dept,
                at=_at(day + timedelta(days=1), 10),
                user=user,
                now=now,
            )
            n += 1
        if i % 3 == 1:  # the group finds an unreported site
            day = first + timedelta(days=10 + i % 7)
            lon, lat = spot(name, 5)
            fid, _ = F.find(book, scheme, village=name, item="ZR-01", finder_kind="town_group", finder_name=groups[0][1], found_at=_at(day, 10),
                            place=f"{name}村东", content="未上报的违法用地", lon=lon, lat=lat, user=user, now=now)  # fmt: skip
            F.verify(
                book,
                scheme,
                fid,
                result="属实",
                by="自然资源所",
                at=_at(day + timedelta(days=1), 10),
                user=user,
                now=now,
            )
            n += 1
        if i % 5 == 2:  # a district inspection finds abandoned farmland (×1); one is not true
            day = first + timedelta(days=18)
            lon, lat = spot(name, 4)
            fid, _ = F.find(book, scheme, village=name, item="NY-05", finder_kind="district", finder_name="区农业农村局", found_at=_at(day, 9),
                            place=f"{name}村北", content="撂荒耕地", lon=lon, lat=lat, user=user, now=now)  # fmt: skip
            F.verify(
                book,
                scheme,
                fid,
                result="属实" if i % 2 else "不属实",
                by="农业农村办",
                at=_at(day + timedelta(days=2), 9),
                user=user,
                now=now,
            )
            n += 1
    cid = F.add_complaint(book, scheme, channel="12345", received_at=_at(first + timedelta(days=20), 9), village=names[-1], item="ZR-02",
                          content="群众反映有人建房", ref="12345-2026-0420-017", user=user, now=now)  # fmt: skip
    F.find_from_complaint(book, scheme, cid, user=user, now=now)
    F.verify_complaint(
        book,
        cid,
        "属实",
        by="自然资源所",
        at=_at(first + timedelta(days=22), 10),
        user=user,
        now=now,
    )
    n += 1
    result = F.score_month(book, scheme, month)
    committed = commit_month(
        book, result, digest=scheme_digest(ws.path / PATROL_FILE), user=user, now=now
    )
    findings = book.all("patrol_findings")
    y, m = month.split("-")
    path = write_month_bulletin(
        result,
        scheme,
        out_dir / f"巡查考评通报_{y}年{m}月.xlsx",
        findings={f["finding_id"]: f for f in findings},
    )
    lines = [
        f"Town patrol, {month}: {n} findings in {len(names)} villages; scores (60 base, 100 cap):"
    ]
    for vm in sorted(result.villages, key=lambda x: (x.rank, x.village)):
        lines.append(
            f"  {vm.rank:>2} {vm.village:<6} +{display(vm.bonus)} -{display(vm.deduction)} = {display(vm.score)}"
        )
    lines.append(f"  committed as {len(committed.created)} score records (patrol score --commit)")
    items = {i.code: i.name for i in scheme.catalogue}
    layers = {
        "patrol_findings": finding_layer(findings, items),
        "village_scores": score_layer(v.assign(village_name=names), result),
    }
    return lines, {f"patrol bulletin {month} (巡查考评通报)": path}, layers
