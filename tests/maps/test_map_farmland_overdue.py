"""The map's 耕地 layer shows 耕地 only; overdue keeps the status colour (headless Chromium)."""

from __future__ import annotations

import datetime as dt
import json
import re

import geopandas as gpd
import numpy as np
import shapely

from parcelwatch.labels import OVERDUE_STYLE
from parcelwatch.maps.battle_map import build_map
from tests.conftest import X0, Y0


def _problems(overdue_status: str = "未核查") -> gpd.GeoDataFrame:
    """P1: an overdue problem in ``overdue_status``; P2: a 未整改 problem, not overdue."""
    return gpd.GeoDataFrame(
        {
            "problem_id": ["370790-2026-000001", "370790-2026-000002"],
            "status": [overdue_status, "未整改"],
            "township_name": ["禾丰镇", "禾丰镇"],
            "overdue": [True, False],
            "days_overdue": [12, 0],
        },
        geometry=[
            shapely.box(X0, Y0, X0 + 300, Y0 + 300),
            shapely.box(X0 + 600, Y0, X0 + 900, Y0 + 300),
        ],
        crs=4549,
    )


def _context_json(html: str) -> dict:
    return json.loads(
        re.search(
            r'<script id="pw-context" type="application/json">(.*?)</script>', html, re.S
        ).group(1)
    )


def test_farmland_layer_holds_only_0101_0102_0103_and_pbf_is_its_own_layer():
    """A DLTB with 水田 0101, 旱地 0103, 乔木林地 0301 and 村庄 0702 (as a real DLTB delivers it): the
    耕地 layer draws the first two only; 永久基本农田 is a layer of its own."""
    dltb = gpd.GeoDataFrame(
        {"dlbm": ["0101", "0103", "0301", "0702"]},
        geometry=[shapely.box(X0 + 1000 * i, Y0, X0 + 1000 * i + 900, Y0 + 900) for i in range(4)],
        crs=4549,
    )
    pbf = gpd.GeoDataFrame(
        {"dlbm": ["0101"]}, geometry=[shapely.box(X0, Y0, X0 + 500, Y0 + 500)], crs=4549
    )
    ctx = _context_json(build_map(_problems(), context={"farmland": dltb, "pbf": pbf}))
    farm = ctx["farmland"]["data"]
    assert sorted(farm["values"][farm["columns"].index("dlbm")]) == ["0101", "0103"]
    assert (
        ctx["farmland"]["style"]["label"] == "耕地"
        and ctx["pbf"]["style"]["label"] == "永久基本农田"
    )
    assert len(ctx["pbf"]["data"]["geoms"]) == 1


def _png_pixels(png: bytes) -> np.ndarray:
    import warnings

    from rasterio.errors import NotGeoreferencedWarning
    from rasterio.io import MemoryFile

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # a screenshot, not a map
        with MemoryFile(png) as mem, mem.open() as src:
            return np.moveaxis(src.read()[:3], 0, -1).reshape(-1, 3).astype(int)


def test_overdue_unverified_stays_yellow_with_a_neutral_outline_and_the_legend_says_so(
    tmp_path, offline_page
):
    """At county zoom the overdue 未核查 parcel is a small square. Before the fix its thick dark-red
    (#b00000) outline made it look 未整改 (red); now no pixel of it is red, its fill is the
    未核查 yellow and its outline is the black dashed overdue mark."""
    path = tmp_path / "map.html"
    path.write_text(
        build_map(_problems(), generated_at=dt.datetime(2026, 11, 7, tzinfo=dt.timezone.utc)),
        encoding="utf-8",
    )
    pg = offline_page(viewport=(900, 700))
    page = pg.open(path)
    page.evaluate("pw.map.setZoom(13, {animate: false})")
    box = page.evaluate(
        """() => { var out = null; pw.map.eachLayer(function (l) {
            if (l.feature && l.feature.properties.problem_id === '370790-2026-000001') {
              var b = l.getBounds(), a = pw.map.latLngToContainerPoint(b.getNorthWest()), c = pw.map.latLngToContainerPoint(b.getSouthEast());
              var r = pw.map.getContainer().getBoundingClientRect();
              out = {x: r.left + a.x - 3, y: r.top + a.y - 3, width: c.x - a.x + 6, height: c.y - a.y + 6, style: l.options}; } });
          return out; }"""
    )
    assert box is not None and 8 < box["width"] < 60  # small at this zoom: outline and fill compete
    px = _png_pixels(page.screenshot(clip={k: box[k] for k in ("x", "y", "width", "height")}))
    r, g, b = px[:, 0], px[:, 1], px[:, 2]
    red_like = (r > 140) & (g < 90) & (b < 90)
    yellow_like = (r > 180) & (g > 180) & (b < 140)
    dark = (r < 60) & (g < 60) & (b < 60)
    assert red_like.sum() == 0, "an overdue 未核查 parcel must not look red"
    assert yellow_like.sum() > 0.2 * len(px) and dark.sum() > 0
    assert (
        box["style"]["fillColor"] == "#FFFF00" and box["style"]["color"] == OVERDUE_STYLE["color"]
    )
    legend = page.inner_text("#pw-legend")
    assert OVERDUE_STYLE["label"] in legend and "逾期未整改" not in legend
    pg.screenshot("battle_map_overdue.png")
