"""The README demo, run as a user runs it: `parcelwatch demo` from the repository root."""

from __future__ import annotations

import pyogrio

from tests.conftest import DemoRun


def test_demo_runs_and_prints_where_outputs_are(demo_run: DemoRun) -> None:
    """The session's one demo run (tests/conftest.py: `python -m parcelwatch demo -o OUT` from
    the repository root, exit code 0)."""
    out, text = demo_run.out, demo_run.stdout
    assert "parcels            30  gb18030 (gb18030 fallback)" in text
    assert "EPSG:4528 CGCS2000 / 3-degree Gauss-Kruger zone 40" in text
    assert "repaired 1 invalid polygon(s)" in text
    assert "clue table 卫片线索明细表.xlsx: header on row 3, 30 clues joined by 线索编号" in text
    for line in ("第一类    3", "第二类    2", "第三类    2", "耕地非农化  6"):
        assert line in text
    assert "Outputs:" in text and str(out.resolve()) in text
    layers = {n for n, _ in pyogrio.list_layers(out / "validated_layers.gpkg")}
    assert {"parcels", "farmland", "buildings", "approvals"} <= layers
    parcels = pyogrio.read_dataframe(out / "validated_layers.gpkg", layer="parcels")
    assert "禾丰镇" in set(parcels["township_name"])  # GBK text intact end to end
    assert parcels.crs.to_epsg() == 4490
    cls = pyogrio.read_dataframe(out / "classification.gpkg", layer="parcels")
    assert (cls["problem_class"] != "none").sum() == 13
    # the ledger round: batch 1 -> staff decisions -> batch 2 with its rebound
    assert "新增问题 30，已在台账 0，反弹 0" in text
    assert "3707902026Q1002 -> 370790-2026-000002: 已销号（拆除）" in text
    assert "新增问题 5，已在台账 7，反弹 1" in text
    assert "反弹问题：370790-2026-000002" in text
    assert "3707902026Q1008 -> 370790-2026-000008: 已销号（拆除）" in text
    assert (
        "整改完成率 25.00%（1/4）" in text
    )  # 1 closed of 4 confirmed (the other closed one rebounded)
    assert "违法占用耕地面积比例" in text and "8.58%（正常）" in text
    problems = pyogrio.read_dataframe(out / "workspace" / "ledger.gpkg", layer="problems")
    assert len(problems) == 35
    # a 巡查 and a 巡察 problem next to the 卫片 ones, in a copy of the ledger
    sources = pyogrio.read_dataframe(out / "workspace-sources" / "ledger.gpkg", layer="problems")
    assert sources["source"].value_counts().to_dict() == {"卫片": 35, "巡查": 1, "巡察": 1}
    # ... entered as points (经度/纬度, no polygon), drawn as markers on that ledger's battle map
    found = sources[sources["source"] != "卫片"]
    assert found.geometry.isna().all() and found["lon"].notna().all()
    assert "battle_map_sources.html" in text and (out / "battle_map_sources.html").exists()
    # the 巡察 report (1 item, not yet done) and the first 回头看 two-day report
    assert (
        "截至2026年11月7日，巡察反馈的1个具体问题，已完成整改0个，未整改（正在整改）1项，整改完成率为0%"
        in text
    )
    for name in ("巡察整改台账.xlsx", "巡察整改情况.md", "回头看工作进展_第1期.xlsx"):
        assert (out / name).exists(), name
    assert (out / "问题台账.xlsx").exists()
    for name in (
        "问题图斑.gpkg",
        "问题图斑.shp",
        "问题图斑.cpg",
        "问题图斑_字段说明.txt",
        "问题图斑.geojson",
        "问题图斑.csv",
        "问题图斑.kml",
        "问题图斑.kmz",
        "大棚房问题县级自验表.xlsx",
        "乡镇整改进度.xlsx",
        "违法占用耕地面积比例.xlsx",
    ):
        assert (out / "exports" / name).exists(), name
    assert "battle_map.html" in text and "exports" in text
    # imagery evidence on the sample pair
    assert "370790-2026-000001 整改存疑" in text and "370790-2026-000002 疑似反弹" in text
    assert (out / "workspace" / "imagery" / "evidence" / "370790-2026-000002.html").exists()
    assert "data:image/png;base64," in (out / "battle_map.html").read_text(encoding="utf-8")
    # one month of town patrols (issue 14): the bulletin, and findings + score choropleth on the map
    assert (
        "Town patrol, 2026-04: 25 findings in 12 villages" in text
        and " 1 申家屯村   +5.00 -0.00 = 65.00" in text
        and "committed as 12 score records (patrol score --commit)" in text
    )
    assert (out / "巡查考评通报_2026年04月.xlsx").exists()
    page = (out / "battle_map.html").read_text(encoding="utf-8")
    assert (
        "巡查发现(按核实状态)" in page
        and "村(居)巡查考评得分" in page
        and "申家屯村 2026-04 得分 65.00" in page
    )
    # county acceptance (issue 13): registry, 追责问责 form, self-score
    acc = out / "acceptance"
    for name in (
        "棚室台账.xlsx",
        "棚室台账.gpkg",
        "大棚房问题追责问责县级统计表.xlsx",
        "考核验收评分表.xlsx",
        "自评得分.txt",
    ):
        assert (acc / name).exists(), name
    assert "Acceptance: 1279 个棚室登记, 1023 个已入棚核查; 追责问责 2 人次, 立案 1 件" in text
    listing = (acc / "自评得分.txt").read_text(encoding="utf-8").splitlines()
    assert len(listing) == 36 and listing[-1].split()[:3] == ["合计", "100.00", "54.00"]
    assert "自评得分 54.00（一票否决：否）" in text
    assert any(
        x.startswith("6.3.2") and "涉嫌骗取 12.50 万元，已追回 0.00 万元" in x for x in listing
    )
