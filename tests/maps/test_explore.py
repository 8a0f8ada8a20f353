"""parcelwatch.explore: a folium map with the battle map's status styles, offline."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import folium
import geopandas as gpd
import pytest
import shapely

import parcelwatch
from parcelwatch.errors import InputError
from parcelwatch.labels import OVERDUE_STYLE, STATUS_STYLE
from parcelwatch.maps.offline import REMOTE_REFERENCE, assert_offline


def _view() -> gpd.GeoDataFrame:
    """Two hand-drawn problems: one overdue 整改中 (class II confirmed), one 未核查 with a note
    that looks like markup."""
    return gpd.GeoDataFrame(
        {
            "problem_id": ["P1", "P2"],
            "status": ["整改中", "未核查"],
            "candidate_class": ["II", "none"],
            "confirmed_class": ["II", None],
            "measure": ["拆除", "<img src=//evil.example/x.png>"],
            "deadline": [date(2026, 6, 30), None],
            "overdue": [True, False],
            "days_overdue": [1, 0],
        },
        geometry=[
            shapely.box(390_000, 4_080_000, 390_100, 4_080_100),
            shapely.box(390_200, 4_080_000, 390_300, 4_080_100),
        ],
        crs=4549,
    )


def test_explore_frame_styles_popups_and_no_remote_asset(tmp_path: Path) -> None:
    m = parcelwatch.explore(_view())
    assert isinstance(m, folium.Map)
    out = tmp_path / "explore.html"
    m.save(str(out))
    page = out.read_text(encoding="utf-8")
    # folium's CDN links are gone, Leaflet is inlined; the notebook's iframe is offline too
    assert not REMOTE_REFERENCE.search(page)
    assert "cdn.jsdelivr" not in page and "code.jquery.com" not in page
    assert_offline(page)
    assert not REMOTE_REFERENCE.search(m._repr_html_().replace("&quot;", '"'))
    # status styles from labels.STATUS_STYLE, the overdue outline on P1 only
    assert STATUS_STYLE["整改中"]["color"] in page and STATUS_STYLE["未核查"]["color"] in page
    assert OVERDUE_STYLE["dashArray"] in page

    # Chinese labels: layer names and popup field names and values
    def has(text: str) -> bool:  # as written, or as folium's JSON writes it (\uXXXX)
        return text in page or json.dumps(text)[1:-1] in page

    assert has("整改中（1）") and has("未核查（1）")
    assert has("认定类别") and has("第二类") and has("疑似第二类")
    # markup in a value is escaped (folium's popup inserts values as HTML)
    assert "<img src=//evil.example" not in page


def test_explore_renders_offline_in_chromium(tmp_path: Path, offline_page) -> None:
    out = tmp_path / "explore.html"
    parcelwatch.explore(_view()).save(str(out))
    p = offline_page()
    p.page.goto(out.resolve().as_uri())
    p.page.wait_for_function(
        "typeof L !== 'undefined' && document.querySelector('.leaflet-container')"
    )
    n = p.page.evaluate(
        """() => { let n = 0; for (const k of Object.keys(window)) {
             if (window[k] instanceof L.GeoJSON) n += window[k].getLayers().length; } return n; }"""
    )
    assert n == 2
    legend = p.page.inner_text(".leaflet-control-layers")
    assert "整改中（1）" in legend and "未核查（1）" in legend
    assert p.remote == [] and p.errors == []


def test_explore_workspace(demo_run, tmp_path: Path) -> None:
    """The demo's workspace (read-only): one layer per status with the ledger's counts; with a
    day given the overdue problems get the overdue outline, without one none do."""
    from collections import Counter

    from parcelwatch.ledger import open_workspace

    with open_workspace(demo_run.workspace) as ws:
        ledger = Counter(r.status.value for r in ws.store.records(geometry=False))
    m = parcelwatch.explore(demo_run.workspace, today=date(2026, 11, 7))
    assert isinstance(m, folium.Map)
    page = m.get_root().render()
    for status, n in ledger.items():
        assert json.dumps(f"{status}（{n}）")[1:-1] in page, status
    assert OVERDUE_STYLE["dashArray"] in page
    assert (
        OVERDUE_STYLE["dashArray"]
        not in parcelwatch.explore(demo_run.workspace).get_root().render()
    )


def test_explore_refuses_bad_input() -> None:
    with pytest.raises(InputError, match="no status column"):
        parcelwatch.explore(_view().drop(columns="status"))
    bad = _view()
    bad.loc[0, "status"] = "整改"
    with pytest.raises(InputError, match="unknown status 整改"):
        parcelwatch.explore(bad)
    with pytest.raises(InputError, match="expected a workspace"):
        parcelwatch.explore(42)
