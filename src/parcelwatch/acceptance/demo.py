"""The demo's acceptance round: greenhouse registry, 追责问责 and the self-score (issue 13)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio

from parcelwatch.acceptance.accountability import (
    add_case,
    add_sanction,
    set_funds,
    statistics,
    write_accountability_form,
)
from parcelwatch.acceptance.greenhouses import (
    coverage,
    import_greenhouses,
    record_visits,
    write_registry_layer,
    write_registry_xlsx,
)
from parcelwatch.acceptance.records import RecordBook
from parcelwatch.acceptance.report import (
    ANSWERS_FILE,
    score_lines,
    score_workspace,
    write_score_form,
)

__all__ = ["DEMO_ANSWERS", "acceptance_round"]

#: the demo county's manual answers (illustrative)
DEMO_ANSWERS = """\
# 考核验收 manual answers for the demo county (illustrative)
[period]
start = 2026-03-01
end = 2026-07-31
batches = ["2026年第1批"]

[records]
map_run = true        # the demo writes battle_map.html
parks_layer = true    # 农业园区.geojson with names

[manual."1.1"]
present = 3
[manual."1.2"]
done = true
[manual."2.1"]
level = "主要负责人"
[manual."2.2"]
done = true
[manual."2.3"]
party_instruction = true
gov_instruction = true
meeting = true
[manual."3"]
done = true
[manual."4"]
level = "不到位"
[manual."5.3"]
done = true
[manual."6.0"]
done = true
[manual."6.2.1"]
plan_with_main_leader = true
[manual."6.2.5"]
done = true
[manual."8.1"]
done = true
[manual."8.2"]
done = false

[problem."370790-2026-000002"]
debris_cleared = "是"
[problem."370790-2026-000008"]
debris_cleared = "是"
"""


def _registry_frame(samples_dir: Path) -> gpd.GeoDataFrame:
    """The sample greenhouses with their 乡镇 and 村 (from the outlines' centres); 组 is 1组 [demo]."""
    gh = pyogrio.read_dataframe(samples_dir / "大棚.geojson")
    base = samples_dir / "基础数据.gpkg"
    towns = pyogrio.read_dataframe(base, layer="XZQ").to_crs(gh.crs)[["XZQMC", "geometry"]]
    villages = pyogrio.read_dataframe(base, layer="CJDCQ").to_crs(gh.crs)[["ZLDWMC", "geometry"]]
    pts = gpd.GeoDataFrame(
        {"i": range(len(gh))}, geometry=gh.geometry.representative_point(), crs=gh.crs
    )
    t = gpd.sjoin(pts, towns, predicate="within", how="left").drop_duplicates("i").set_index("i")
    v = gpd.sjoin(pts, villages, predicate="within", how="left").drop_duplicates("i").set_index("i")
    out = gpd.GeoDataFrame(
        {
            "乡镇": t["XZQMC"].reindex(range(len(gh))).to_numpy(),
            "村": v["ZLDWMC"].reindex(range(len(gh))).to_numpy(),
            "组": "1组",
            "类型": gh["类型"].to_numpy(),
            "园区": gh["园区编号"].to_numpy(),
            "标识": ["全" if i % 4 else "不全" for i in range(len(gh))],
        },
        geometry=gh.geometry.to_numpy(),
        crs=gh.crs,
    )
    return out[out["乡镇"].notna() & out["村"].notna()].reset_index(drop=True)


def acceptance_round(
    ws: Any,
    samples_dir: Path,
    out_dir: Path,
    outputs: dict[str, Path],
    *,
    user: str,
    now: datetime,
    today: date,
) -> list[str]:
    """Registry + visits, sanctions/cases/funds, then the 追责问责 form and the self-score."""
    book = RecordBook(ws.store)
    reg_in = _registry_frame(samples_dir)
    ids = import_greenhouses(book, reg_in, source="大棚.geojson", user=user, now=now)
    visited = [n for i, n in enumerate(ids) if i % 5]  # 4 in 5 entered and checked
    record_visits(book, visited, on=date(2026, 4, 20), by="县自验组", user=user, now=now)
    registry = book.all("greenhouse_registry")
    cov = coverage(registry)
    folder = out_dir / "acceptance"
    folder.mkdir(parents=True, exist_ok=True)
    write_registry_xlsx(registry, folder / "棚室台账.xlsx", county_name=ws.rules.county.name)
    write_registry_layer(registry, folder / "棚室台账.gpkg")
    outputs["greenhouse registry (棚室台账, Excel with coverage)"] = folder / "棚室台账.xlsx"
    outputs["greenhouse registry map layer"] = folder / "棚室台账.gpkg"

    add_sanction(book, person="张某", unit="禾丰镇人民政府", position="副镇长", public_official=True,
                 category="党纪处分", type="警告", decided_on=date(2026, 6, 1), township="禾丰镇",
                 decision_ref="禾纪发〔2026〕3号", user=user, now=now)  # fmt: skip
    add_sanction(book, person="李某", unit="东河乡国土所", position="所长", public_official=True,
                 category="政务处分", type="记过", decided_on=date(2026, 6, 5), township="东河乡",
                 user=user, now=now)  # fmt: skip
    add_case(book, case_no="禾纪立〔2026〕2号", filed_on=date(2026, 5, 20), persons=2, kind="纪律审查",
             township="禾丰镇", user=user, now=now)  # fmt: skip
    closed = [r for r in ws.store.records(geometry=False) if r.status.value == "已销号"]
    if closed:
        set_funds(book, closed[0], suspected_wan=Decimal("12.5"), in_recovery_wan=Decimal("4.5"),
                  special_account="是", user=user, now=now)  # fmt: skip
    st = statistics(
        book.all("acc_sanctions"),
        book.all("acc_cases"),
        ws.store.records(geometry=False),
        {f["problem_id"]: f for f in book.all("acc_funds")},
    )
    write_accountability_form(
        st, folder / "大棚房问题追责问责县级统计表.xlsx", county_name=ws.rules.county.name
    )
    outputs["追责问责 county statistics form"] = folder / "大棚房问题追责问责县级统计表.xlsx"

    answers = ws.path / ANSWERS_FILE
    answers.write_text(DEMO_ANSWERS, encoding="utf-8")
    res = score_workspace(ws)
    write_score_form(res, folder / "考核验收评分表.xlsx", county_name=ws.rules.county.name, scored_on=today,
                     period="2026-03-01 至 2026-07-31")  # fmt: skip
    text = "\n".join(score_lines(res)) + "\n"
    (folder / "自评得分.txt").write_text(text, encoding="utf-8")
    outputs["考核验收评分表 (100-point self-score)"] = folder / "考核验收评分表.xlsx"
    outputs["self-score listing (acceptance score)"] = folder / "自评得分.txt"
    done = sum(c.visited for c in cov)
    total = sum(c.registered for c in cov)
    return [
        f"Acceptance: {total} 个棚室登记, {done} 个已入棚核查; 追责问责 {sum(st.total.counts)} 人次, "
        f"立案 {st.total.cases} 件; 自评得分 {res.total}（{res.veto_text}）"
    ]
