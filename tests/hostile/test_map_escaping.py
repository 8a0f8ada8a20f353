"""Issue 18 points 1, 2: no value can end the page's scripts, and popups show values as text.

Each hostile value sets ``window.__pwned`` if any of it ever runs as script or HTML, and
``<!--<script>`` (before the fix) made the HTML parser swallow the rest of the page, so
``window.pw`` never appeared. Run in real headless Chromium with the network off.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import geopandas as gpd
import pytest
import shapely

from parcelwatch.maps.battle_map import _script_json, build_map
from parcelwatch.maps.offline import assert_offline
from tests.conftest import X0, Y0

NOW = dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.timezone.utc)
HOSTILE = [
    "<!--<script>",
    "</script><script>window.__pwned=1</script>",
    "<img src=x onerror=window.__pwned=1>",
    "a\u2028b\u2029c",
    "<!--",
    "]]></script><svg onload=window.__pwned=1>",
    "& &amp; &lt; <b>粗</b>",
    "<img src=//evil.example/x.png>",
]


def frame(value: str) -> gpd.GeoDataFrame:
    """Two problems: the hostile value as person, parcel id and township of the first; a normal second."""
    rows = []
    for i, (pid, town, person) in enumerate(
        [(value, value, value), ("3707902026Q002", "禾丰镇", "张三")]
    ):
        rows.append(
            dict(problem_id=f"370790-2026-{i:06d}", parcel_ids=pid, status="未整改", township_name=town, village_name=value if i == 0 else "",
                 reasons=value, measure=value, responsible_unit=value, responsible_person=person, recent_events=[value],
                 geometry=shapely.box(X0 + 300 * i, Y0, X0 + 300 * i + 200, Y0 + 150))
        )  # fmt: skip
    return gpd.GeoDataFrame(rows, crs=4549)


@pytest.mark.parametrize("value", HOSTILE)
def test_script_json_round_trips_and_cannot_end_the_script(value):
    text = _script_json({"v": value, "k": [value]})
    assert not re.search(r"[<>&\u2028\u2029]", text)
    assert json.loads(text) == {"v": value, "k": [value]}


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_value_neither_blanks_the_map_nor_runs(value, tmp_path, offline_page):
    path = tmp_path / "map.html"
    path.write_text(
        build_map(frame(value), county_name=value, data_date="2026-11-20", generated_at=NOW),
        encoding="utf-8",
    )
    pg = offline_page()
    page = pg.open(path)  # waits for window.pw.ready: the page's scripts ran
    assert page.evaluate("window.__pwned") is None
    assert page.evaluate("pw.drawnByStatus()") == {"未整改": 2}
    # the hostile parcel id is found (the map's search splits ids at spaces and commas)
    query = value if not re.search(r"[\s,，;；]", value) else "370790-2026-000000"
    assert page.evaluate(f"pw.search({json.dumps(query)})")
    assert page.evaluate("pw.openPopupId()") == "370790-2026-000000"
    popup = page.inner_text(".leaflet-popup-content")
    assert value.replace("\u2028", "").replace("\u2029", "")[:6] in popup.replace(
        "\u2028", ""
    ).replace("\u2029", "")
    assert (
        page.locator(
            ".leaflet-popup-content img, .leaflet-popup-content svg, .leaflet-popup-content b"
        ).count()
        == 0
    )
    # the township filter offers the value as text and still filters
    page.evaluate(f"pw.setTownship({json.dumps(value)})")
    assert page.evaluate("pw.drawnByStatus()") == {"未整改": 1}
    assert page.evaluate("window.__pwned") is None
    assert pg.errors == [] and pg.remote == []


def test_url_like_note_does_not_stop_the_map(tmp_path):
    """Point 2: before the fix the offline check refused the whole map, calling the note a bug."""
    g = frame(
        "<img src=//evil.example/x.png> url(//evil.example/a.css) @import url(https://evil.example/b.css)"
    )
    page = build_map(g, generated_at=NOW)
    assert_offline(page)  # the page's own assets are offline
    assert "evil.example" in page


def test_offline_check_still_catches_a_remote_asset_of_the_page():
    from parcelwatch.errors import OutputError

    page = '<html><script id="pw-data" type="application/json">{"a":"x"}</script><script src="https://cdn.example/x.js"></script></html>'
    with pytest.raises(OutputError, match="remote resource"):
        assert_offline(page)


def test_split_pages_of_townships_that_slug_alike_do_not_overwrite_each_other():
    """ "a b", "a_b" and "A_B" all become "a_b" in a file name; before, one page overwrote the other."""
    from parcelwatch.maps.view import _unique_hrefs

    hrefs = _unique_hrefs("map", ["a b", "a_b_2", "a_b", "A_B", "x\x01y", ""])
    assert hrefs == [
        "map_a_b.html",
        "map_a_b_2.html",
        "map_a_b_3.html",
        "map_A_B_4.html",
        "map_x_y.html",
        "map_未知乡镇.html",
    ]
    assert len({h.lower() for h in hrefs}) == len(hrefs)
