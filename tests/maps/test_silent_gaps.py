"""Silent gaps: a figure from a layer that was not given says 未检查 (never 0); a parcel outside
the farmland layer's coverage is noted as such.

Before: with no 永农 layer the ledger form, the criminal-threshold list and the exports showed
违法占用永久基本农田 0.00, and a parcel half outside the DLTB looked half non-farmland.
"""

from __future__ import annotations

import warnings
from datetime import date, datetime, timezone

import geopandas as gpd
import numpy as np
import openpyxl
import pyogrio
import pytest
import shapely

from parcelwatch.exports.forms import write_ledger_form
from parcelwatch.ledger import open_workspace
from parcelwatch.pipeline import (
    check_batch,
    classify_inputs,
    init_workspace,
    load_inputs,
    write_map,
)
from tests.conftest import X0, Y0, write_shapefile

NOW = datetime(2026, 4, 2, 9, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """J1: a 100 m x 100 m parcel whose west half lies on a 旱地 patch and whose east half is
    outside the DLTB layer (coverage 50 %); a two-storey house of 20 m x 20 m on the 旱地 (a
    conversion candidate). No 永农 layer, no approvals."""
    d = tmp_path_factory.mktemp("gaps")
    parcels = gpd.GeoDataFrame(
        {"监测编号": ["J1"]}, geometry=[shapely.box(X0, Y0, X0 + 100, Y0 + 100)], crs=4549
    )
    write_shapefile(parcels, d / "卫片图斑.shp")
    farm = gpd.GeoDataFrame(
        {"DLBM": ["0103"]}, geometry=[shapely.box(X0 - 200, Y0 - 200, X0 + 50, Y0 + 300)], crs=4549
    )
    pyogrio.write_dataframe(farm, d / "三调.gpkg", layer="DLTB")
    b = gpd.GeoDataFrame(
        {"JZBH": ["B1"], "YT": ["住宅"], "CS": [2]},
        geometry=[shapely.box(X0 + 10, Y0 + 10, X0 + 30, Y0 + 30)],
        crs=4549,
    )
    pyogrio.write_dataframe(b, d / "建筑物.geojson")
    return {
        "parcels": d / "卫片图斑.shp",
        "farmland": f"{d / '三调.gpkg'}:DLTB",
        "buildings": d / "建筑物.geojson",
    }


def test_classification_notes_the_parcel_outside_the_farmland_layer(sources):
    result = classify_inputs(load_inputs(sources))
    p = result.parcels.set_index("parcel_id").loc["J1"]
    assert p["farmland_coverage"] == pytest.approx(0.5, abs=1e-6)
    assert "图斑50%在地类图斑（三调）图层范围外：该部分未检查是否占用耕地" in p["reasons"]
    assert any("outside the farmland layer's coverage" in n and "J1" in n for n in result.notes)
    assert np.isnan(p["pbf_m2"]) and np.isnan(p["illegal_pbf_m2"])  # no 永农 layer: unknown, not 0
    assert p["problem_class"] == "conversion"


def test_ledger_form_and_map_say_not_checked(sources, tmp_path, offline_page):
    ws = init_workspace(tmp_path / "ws", county_code="370790", now=NOW)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_batch(ws, sources, batch="2026年第1批", now=NOW, user="test", issued=date(2026, 4, 1))
    records = open_workspace(tmp_path / "ws").store.records()
    assert records[0].pbf_m2 is None and records[0].illegal_pbf_m2 is None
    form = write_ledger_form(records, tmp_path / "台账.xlsx", today=date(2026, 4, 2))
    table = [
        tuple(r)
        for r in openpyxl.load_workbook(form, read_only=True)["问题台账"].iter_rows(
            values_only=True
        )
    ]
    col = {h: j for j, h in enumerate(table[2])}
    row = table[3]
    for name in (
        "永久基本农田面积(亩)",
        "永久基本农田面积(平方米)",
        "违法占用永久基本农田(亩)",
        "违法占用永久基本农田(平方米)",
    ):
        assert row[col[name]] == "未检查", name
    assert isinstance(row[col["违法占用耕地(亩)"]], float)  # the farmland layer was given: a number
    path = write_map(tmp_path / "ws", tmp_path / "map.html", today=date(2026, 4, 2), now=NOW)[0]
    pg = offline_page()
    page = pg.open(path)
    assert page.evaluate("pw.search('J1')")
    popup = page.inner_text(".leaflet-popup-content")
    assert "永久基本农田(亩)\t未检查" in popup or "永久基本农田(亩)\n未检查" in popup, popup
