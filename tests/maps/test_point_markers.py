"""Point problems (SEED-SYSTEMS 0.P1: entered with a lon/lat, stored with 经度/纬度 and no polygon)
are drawn on the battle map as markers in their status colour, with popups, found by search and
counted in the township table like the polygons (issue 12, done-when 3).

Hand-made ledger: one 卫片 polygon (未整改) and two 巡查/巡察 points (未核查, 整改中) in 禾丰镇, so the
township row counts 3 problems, and the map draws exactly 2 markers, yellow and orange as
``STATUS_STYLE`` says.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import shapely

from parcelwatch.labels import STATUS_STYLE
from parcelwatch.ledger.model import ProblemRecord, Status
from parcelwatch.maps.battle_map import build_map
from parcelwatch.maps.view import problems_view

TODAY = date(2026, 11, 7)
NOW = datetime(2026, 11, 7, 8, tzinfo=timezone(timedelta(hours=8)))


def _records() -> list[ProblemRecord]:
    poly = shapely.box(120.0, 36.0, 120.001, 36.001)
    return [
        ProblemRecord(problem_id="370790-2026-000001", status=Status.ILLEGAL, geometry=poly,
                      township_name="禾丰镇", source="卫片", year=2026, parcel_area_m2=9000.0),
        ProblemRecord(problem_id="370790-2026-000002", status=Status.UNVERIFIED, geometry=None,
                      lon=120.003, lat=36.0005, township_name="禾丰镇", source="巡查", year=2026),
        ProblemRecord(problem_id="370790-2026-000003", status=Status.RECTIFYING, geometry=None,
                      lon=120.004, lat=36.0005, township_name="禾丰镇", source="巡察", year=2026),
    ]  # fmt: skip


def test_point_problems_are_markers_in_the_status_colour(tmp_path, offline_page):
    view = problems_view(_records(), {}, today=TODAY)
    assert [g.geom_type for g in view.geometry] == ["Polygon", "Point", "Point"]
    path = tmp_path / "map.html"
    path.write_text(build_map(view, generated_at=NOW), encoding="utf-8")
    pg = offline_page()
    page = pg.open(path)
    markers = {m["problem_id"]: m for m in page.evaluate("window.pw.markers()")}
    assert set(markers) == {"370790-2026-000002", "370790-2026-000003"}
    for pid, status in (("370790-2026-000002", "未核查"), ("370790-2026-000003", "整改中")):
        assert markers[pid]["status"] == status
        assert markers[pid]["fillColor"] == STATUS_STYLE[status]["color"]
    # counted like the polygons: 3 problems in 禾丰镇, by status 1 + 1 + 1
    row = page.query_selector_all("#pw-by-township tbody tr")[0]
    cells = [td.inner_text() for td in row.query_selector_all("td")]
    assert cells[:2] == ["禾丰镇", "3"]
    assert page.evaluate("window.pw.drawnByStatus()") == {"未整改": 1, "未核查": 1, "整改中": 1}
    # searchable, with a popup naming the source
    assert page.evaluate("window.pw.search('370790-2026-000003')") is True
    assert page.evaluate("window.pw.openPopupId()") == "370790-2026-000003"
    popup = page.inner_text(".leaflet-popup-content")
    assert "巡察" in popup and "整改中" in popup
    assert pg.errors == [] and pg.remote == []
