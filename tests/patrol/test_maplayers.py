"""Map layers: findings coloured by status, 两违 cases, the village score choropleth of a month."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import geopandas as gpd
import shapely

from parcelwatch.maps.battle_map import build_map
from parcelwatch.patrol.maplayers import case_layer, finding_layer, score_colour, score_layer
from parcelwatch.patrol.scoring import monthly
from tests.patrol.test_scoring import SCHEME, other


def test_layers_colours_labels_and_page():
    fs = [
        {"finding_id": "XC-1", "village": "马塘村", "item_code": "ZR-02", "finder_name": "马塘村", "verified_result": "属实", "geom_wkt": "POINT (113 23.7)"},
        {"finding_id": "XC-2", "village": "马塘村", "item_code": "", "finder_name": "G3", "verified_result": "待核实", "geom_wkt": "POINT (113.01 23.7)"},
        {"finding_id": "XC-3", "village": "马塘村", "item_code": "ZR-01", "finder_name": "G3", "verified_result": "不属实", "geom_wkt": None},
    ]  # fmt: skip
    fl = finding_layer(fs, {"ZR-02": "违法建筑"})
    assert fl["fill"].tolist() == ["#d62728", "#f39c12"] and fl.geometry.geom_type.tolist() == [
        "Polygon",
        "Polygon",
    ]
    assert (
        fl["label"].iloc[0] == "XC-1 马塘村 违法建筑 马塘村 属实"
        and "目录外" in fl["label"].iloc[1]
    )
    # the point is drawn as a 15 m disc: area ~ pi * 15^2 = 707 m² (polygon with 32 sides: 702)
    area = fl.to_crs(4547).area.iloc[0]
    assert 690 < area < 710
    cl = case_layer(
        [
            {
                "case_id": "LW-1",
                "status": "反弹",
                "township_name": "太平镇",
                "geom_wkt": "POLYGON ((113 23, 113.001 23, 113.001 23.001, 113 23))",
            }
        ]
    )
    assert cl["fill"].tolist() == ["#8c0000"]
    res = monthly(
        [other("central", "ZR-01", "2026-04-10T10:00", v="龙湾村")],
        SCHEME,
        "2026-04",
        villages=["马塘村", "龙湾村"],
    )
    villages = gpd.GeoDataFrame(
        {"village_name": ["马塘村", "龙湾村", "别村"]},
        geometry=[
            shapely.box(113, 23.7, 113.01, 23.71),
            shapely.box(113.01, 23.7, 113.02, 23.71),
            shapely.box(113.02, 23.7, 113.03, 23.71),
        ],
        crs=4490,
    )
    sl = score_layer(villages, res)
    assert sl["label"].tolist() == [
        "马塘村 2026-04 得分 60.00 第1名",
        "龙湾村 2026-04 得分 0.00（一票否决） 第2名",
    ]
    assert (
        sl["fill"].tolist()
        == [score_colour(Decimal(60)), score_colour(Decimal(0))]
        == ["#d73027", "#d73027"]
    )
    assert score_colour(Decimal("90")) == "#1a9850" and score_colour(Decimal("75")) == "#fee08b"
    page = build_map(gpd.GeoDataFrame({"problem_id": [], "status": []}, geometry=[], crs=4490),
                     context={"patrol_findings": fl, "village_scores": sl, "violation_cases": cl}, generated_at=datetime(2026, 5, 1, tzinfo=timezone.utc))  # fmt: skip
    for text in (
        "巡查发现(按核实状态)",
        "村(居)巡查考评得分",
        "两违案件",
        "龙湾村 2026-04 得分 0.00（一票否决）",
        "#8c0000",
    ):
        assert text in page
