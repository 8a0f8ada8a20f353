"""Problems entered as a point (SEED-SYSTEMS 0.P1: 经度/纬度, no polygon) are never silently dropped
from an export (issue 12).

Decision: polygon layers stay polygon-only. The GeoPackage holds the points in its own layer
``problem_points``; the shapefile and the GeoJSON get a point file beside the polygon one
(``问题图斑_点位.shp`` / ``.geojson``: one geometry type per file); the KML/KMZ has them as pins
among the polygons; the CSV and forms carry every problem. Each point problem gets a notice per
format that put it elsewhere.

Hand-made ledger: one 巡查 polygon and one 巡察 point (113.6E, 35.3N), so every polygon layer has 1
feature, every point layer 1 feature at exactly (113.6, 35.3), and the CSV 2 rows.
"""

from __future__ import annotations

import csv
import zipfile
from datetime import date, datetime, timedelta, timezone

import pyogrio
import shapely

from parcelwatch.cli import main
from parcelwatch.ledger.add import NewProblem, add_problem
from parcelwatch.ledger.workspace import open_workspace
from parcelwatch.pipeline import export, export_all

NOW = datetime(2025, 1, 2, 10, tzinfo=timezone(timedelta(hours=8)))
TODAY = date(2025, 1, 3)


def _ws(tmp_path):
    path = tmp_path / "ws"
    assert main(["init", str(path), "--county-code", "370790", "--county-name", "获嘉县"]) == 0
    with open_workspace(path) as w:
        poly = add_problem(w.store, NewProblem("巡查", "太山镇", geometry=shapely.box(113.5, 35.2, 113.501, 35.201),
                                               fields={"source_ref": "XC-1"}), user="u", now=NOW, rules=w.rules)  # fmt: skip
        point = add_problem(w.store, NewProblem("巡察", "太山镇", lon=113.6, lat=35.3), user="u", now=NOW,
                            rules=w.rules)  # fmt: skip
    return path, poly, point


def test_point_problems_go_to_a_point_layer_with_a_notice(tmp_path):
    path, poly, point = _ws(tmp_path)
    notices: list = []
    with open_workspace(path) as w:
        paths = export_all(w, tmp_path / "out", today=TODAY, notices=notices)
    gpkg = paths["gpkg"]
    layers = dict(pyogrio.list_layers(gpkg))
    assert layers["problems"] == "MultiPolygon" and layers["problem_points"] == "Point"
    polys = pyogrio.read_dataframe(gpkg, layer="problems")
    pts = pyogrio.read_dataframe(gpkg, layer="problem_points")
    assert list(polys["problem_id"]) == [poly] and list(pts["problem_id"]) == [point]
    assert (pts.geometry.x[0], pts.geometry.y[0], pts["source"][0]) == (113.6, 35.3, "巡察")
    shp = pyogrio.read_dataframe(paths["shp_points"], encoding="GBK")
    assert paths["shp_points"].name == "问题图斑_点位.shp" and shp.geom_type.tolist() == ["Point"]
    assert len(pyogrio.read_dataframe(paths["shp"])) == 1
    gj = pyogrio.read_dataframe(paths["geojson_points"])
    assert list(gj["problem_id"]) == [point] and gj.geom_type.tolist() == ["Point"]
    kml = paths["kml"].read_text(encoding="utf-8")
    assert "<Point><coordinates>113.6000000,35.3000000</coordinates></Point>" in kml
    assert kml.count("<Placemark") == 2
    with zipfile.ZipFile(paths["kmz"]) as z:
        assert b"<Point>" in z.read("doc.kml")
    with open(paths["csv"], encoding="utf-8-sig", newline="") as fh:
        rows = {r["问题编号"]: r for r in csv.DictReader(fh)}
    assert (rows[point]["中心经度"], rows[point]["中心纬度"], rows[point]["问题来源"]) == (
        "113.6",
        "35.3",
        "巡察",
    )
    said = {(n.fmt, n.problem_id) for n in notices if n.field == "几何"}
    assert said == {("shapefile", point), ("GeoPackage", point), ("GeoJSON", point)}


def test_one_format_export_writes_the_point_file_too(tmp_path):
    path, _, point = _ws(tmp_path)
    notices: list = []
    with open_workspace(path) as w:
        written = export(w, "geojson", tmp_path / "p.geojson", today=TODAY, notices=notices)
        shp = export(w, "shp", tmp_path / "p.shp", today=TODAY)
    assert [p.name for p in written] == ["p.geojson", "p_点位.geojson"]
    assert [n.problem_id for n in notices] == [point] and "p_点位.geojson" in notices[0].message
    assert (tmp_path / "p_点位.shp").exists() and tmp_path / "p_点位.dbf" in shp


def test_the_cli_says_where_point_problems_went_not_that_values_were_lost(tmp_path, capsys):
    """`export --format all` of a ledger with one point problem: stderr has a note naming it and
    where each format put it, and no "could not be written exactly" warning (nothing was lost)."""
    path, _, point = _ws(tmp_path)
    assert main(["export", str(path), "--format", "all", "-o", str(tmp_path / "out"), "--today", "2025-01-03"]) == 0  # fmt: skip
    err = capsys.readouterr().err
    assert f"Note: 1 point problem(s) (经度/纬度, no polygon) are in the point layers, not the polygon ones: {point}" in err  # fmt: skip
    assert "问题图斑_点位.shp" in err and "problem_points" in err
    assert "could not be written exactly" not in err
