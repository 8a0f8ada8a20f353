"""The demo's battle map of the sample ledger, in headless Chromium with the network disabled."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timezone

import pytest

from parcelwatch.labels import STATUS_STYLE
from parcelwatch.ledger import open_workspace
from parcelwatch.pipeline import write_map


@pytest.fixture(scope="module")
def demo(demo_run):
    return demo_run.out, demo_run  # the session's demo, read-only


def test_demo_map_matches_the_ledger(demo, offline_page):
    out, result = demo
    path = result.outputs["battle map (挂图作战, opens offline)"]
    assert path.exists() and path.stat().st_size < 20 * 2**20
    ws = open_workspace(out / "workspace")
    ledger = Counter(r.status.value for r in ws.store.records())
    pg = offline_page()
    page = pg.open(path)
    assert pg.errors == [] and pg.remote == []
    drawn = page.evaluate("pw.drawnByStatus()")
    assert drawn == {s: n for s, n in ledger.items() if STATUS_STYLE[s]["visible"]}
    assert "反弹" in drawn and "未整改" in drawn
    # turning the hidden statuses on shows every problem of the ledger
    page.check("input[data-status='合法']")
    page.check("input[data-status='其他']")
    assert page.evaluate("pw.drawnByStatus()") == dict(ledger)
    pg.screenshot("demo_battle_map.png")


def test_demo_map_search_and_township_filter(demo, offline_page):
    out, result = demo
    pg = offline_page()
    page = pg.open(result.outputs["battle map (挂图作战, opens offline)"])
    page.fill("#pw-search", "3707902026Q1002")
    page.press("#pw-search", "Enter")
    popup = page.inner_text(".leaflet-popup-content")
    assert "370790-2026-000002" in popup and "反弹" in popup and "禾丰镇" in popup
    assert "已销号" in popup  # the history shows it was closed before the rebound
    pg.screenshot("demo_battle_map_popup.png")
    ws = open_workspace(out / "workspace")
    records = ws.store.records()
    town = Counter(r.township_name for r in records if STATUS_STYLE[r.status.value]["visible"])
    page.select_option("#pw-township", "柳湾镇")
    drawn = page.evaluate("pw.drawnByStatus()")
    assert sum(drawn.values()) == town["柳湾镇"] < sum(town.values())
    pg.screenshot("demo_battle_map_township.png")


def test_split_by_township_writes_an_index(demo, tmp_path, offline_page):
    out, _ = demo
    files = write_map(
        out / "workspace",
        tmp_path / "map.html",
        today=date(2026, 11, 7),
        now=datetime(2026, 11, 7, tzinfo=timezone.utc),
        split_by_township=True,
    )
    assert files[0].name == "map.html" and len(files) == 4
    assert {f.name for f in files[1:]} == {"map_禾丰镇.html", "map_东河乡.html", "map_柳湾镇.html"}
    pg = offline_page()
    page = pg.open(files[0])
    assert page.locator("#pw-links a").count() == 3
    page.click("#pw-links a >> text=柳湾镇")
    page.wait_for_function("window.pw && window.pw.ready && document.title.includes('柳湾镇')")
    assert pg.errors == []


def test_unknown_township_is_a_clear_error(demo, tmp_path):
    from parcelwatch.errors import InputError

    out, _ = demo
    with pytest.raises(
        InputError,
        match="No problems in township\\(s\\) 不存在镇. Townships in the ledger: 东河乡, 柳湾镇, 禾丰镇",
    ):
        write_map(
            out / "workspace",
            tmp_path / "m.html",
            today=date(2026, 11, 7),
            now=datetime(2026, 11, 7, tzinfo=timezone.utc),
            townships=["不存在镇"],
        )
