"""The battle map in real headless Chromium with the network disabled."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import geopandas as gpd
import pytest
import shapely

from parcelwatch.errors import InputError, OutputError
from parcelwatch.labels import STATUS_STYLE
from parcelwatch.maps.battle_map import Basemap, build_map
from parcelwatch.maps.offline import assert_offline
from tests.conftest import X0, Y0

STATUSES = ["未核查", "未整改", "整改中", "待验收", "已销号", "反弹", "合法", "其他"]


def problems(n=48):
    """n parcels of 200 x 150 m on a grid; status cycles through STATUSES, township alternates,
    every 6th is overdue."""
    rows = []
    for i in range(n):
        x, y = X0 + (i % 8) * 300, Y0 + (i // 8) * 300
        rows.append(
            dict(
                problem_id=f"370790-2026-{i:06d}",
                parcel_ids=f"3707902026Q{i:03d}",
                status=STATUSES[i % len(STATUSES)],
                candidate_class=["I", "II", "III", "conversion", "none"][i % 5],
                township_name=["禾丰镇", "东河乡"][i % 2],
                village_name="张家村",
                reasons="建筑B1（餐饮，120.0 m²）100% 位于大棚G1内 → 疑似第二类 <script>alert(1)</script>",
                parcel_area_mu=10.0,
                farmland_mu=8.0,
                pbf_mu=0.0,
                deadline=dt.date(2026, 12, 31),
                overdue=i % 6 == 0,
                days_overdue=5 if i % 6 == 0 else 0,
                responsible_unit="禾丰镇人民政府",
                responsible_person="张三",
                recent_events=["2026-11-01 李四 未核查→未整改"],
                geometry=shapely.box(x, y, x + 200, y + 150),
            )
        )
    return gpd.GeoDataFrame(rows, crs=4549)


@pytest.fixture
def map_file(tmp_path):
    g = problems()
    path = tmp_path / "map.html"
    path.write_text(
        build_map(
            g,
            county_name="禾丰县",
            data_date="2026-11-20",
            generated_at=dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.timezone.utc),
        ),
        encoding="utf-8",
    )
    return path, g


def test_loads_offline_without_errors_and_draws_every_visible_status(map_file, offline_page):
    path, g = map_file
    pg = offline_page()
    page = pg.open(path)
    assert pg.errors == [] and pg.remote == []
    drawn = page.evaluate("pw.drawnByStatus()")
    expected = Counter(s for s in g["status"] if STATUS_STYLE[s]["visible"])
    assert drawn == dict(expected)
    assert "合法" not in drawn and "其他" not in drawn  # hidden by default
    assert page.inner_text("#pw-title") == "禾丰县问题图斑挂图作战图"
    # the reason's markup is shown as text, never executed
    page.evaluate("pw.search('3707902026Q001')")
    assert "<script>alert(1)</script>" in page.inner_text(".leaflet-popup-content")
    pg.screenshot("battle_map_overview.png")


def test_search_flies_and_opens_popup(map_file, offline_page):
    path, _ = map_file
    pg = offline_page()
    page = pg.open(path)
    page.fill("#pw-search", "3707902026Q009")
    page.click("#pw-search-go")
    assert page.evaluate("pw.openPopupId()") == "370790-2026-000009"
    text = page.inner_text(".leaflet-popup-content")
    assert "监测编号" in text and "3707902026Q009" in text and "禾丰镇人民政府" in text
    page.fill("#pw-search", "3707902026Q006")  # 合法: hidden by the status filter
    page.click("#pw-search-go")
    assert "被筛选隐藏" in page.inner_text("#pw-search-msg")
    pg.screenshot("battle_map_search.png")


def test_township_filter_hides_others(map_file, offline_page):
    path, g = map_file
    pg = offline_page()
    page = pg.open(path)
    page.select_option("#pw-township", "东河乡")
    drawn = page.evaluate("pw.drawnByStatus()")
    visible = g[
        (g["township_name"] == "东河乡") & g["status"].map(lambda s: STATUS_STYLE[s]["visible"])
    ]
    assert drawn == dict(Counter(visible["status"]))
    assert sum(drawn.values()) < sum(
        Counter(s for s in g["status"] if STATUS_STYLE[s]["visible"]).values()
    )
    page.check("#pw-overdue")
    overdue = visible[visible["overdue"]]
    assert page.evaluate("pw.drawnByStatus()") == dict(Counter(overdue["status"]))
    pg.screenshot("battle_map_township.png")


def test_online_basemap_fails_quietly_offline(tmp_path, offline_page):
    path = tmp_path / "tdt.html"
    path.write_text(
        build_map(problems(8), basemap=Basemap("tianditu", key="TESTKEY")), encoding="utf-8"
    )
    pg = offline_page()
    page = pg.open(path)
    assert page.evaluate("Object.values(pw.drawnByStatus()).reduce((a, b) => a + b, 0)") == 6
    assert all("tianditu.gov.cn" in u for u in pg.remote)  # tiles only, refused; page still works


def test_offline_guard_and_arguments():
    with pytest.raises(OutputError, match="remote resource"):
        assert_offline('<script src="https://cdn.example.org/leaflet.js"></script>')
    with pytest.raises(OutputError, match="remote resource"):
        assert_offline("<style>@import url(https://x.org/a.css);</style>")
    with pytest.raises(InputError, match="needs a key"):
        build_map(problems(2), basemap=Basemap("tianditu"))
    with pytest.raises(InputError, match="at most 0.5 m"):
        build_map(problems(2), simplify_m=1.0)
    html = build_map(problems(2), basemap=Basemap("amap"))
    assert "GCJ-02" in html and "仅为显示" in html
