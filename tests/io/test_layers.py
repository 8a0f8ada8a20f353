"""read_layer on every format and every bad-input case; each error message is asserted."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

from parcelwatch import crs as crsmod
from parcelwatch.config import rules_from_mapping
from parcelwatch.errors import CRSError, DataQualityWarning, GeometryError, InputError, SchemaError
from parcelwatch.io.layers import inspect_path, load_layer, read_layer
from parcelwatch.pipeline import LayerSource, load_inputs
from tests.conftest import X0, Y0, square, write_shapefile

BOWTIE = shapely.Polygon([(X0, Y0), (X0 + 100, Y0 + 100), (X0 + 100, Y0), (X0, Y0 + 100), (X0, Y0)])


# ------------------------------------------------------------------ formats


@pytest.mark.parametrize(
    "driver,suffix",
    [
        ("GPKG", ".gpkg"),
        ("GeoJSON", ".geojson"),
        ("OpenFileGDB", ".gdb"),
        ("KML", ".kml"),
        ("FlatGeobuf", ".fgb"),
    ],
)
def test_reads_any_gdal_format(tmp_path, gk_parcels, driver, suffix):
    gdf = gk_parcels()
    if driver == "KML":
        gdf = gdf.to_crs(4326).rename(columns={"监测编号": "Name"})
    path = tmp_path / f"卫片图斑{suffix}"
    pyogrio.write_dataframe(gdf, path, driver=driver)
    frame = read_layer(
        path,
        role="parcels",
        rules=rules_from_mapping({"fields": {"parcels": {"parcel_id": ["Name"]}}}),
    )
    assert sorted(frame["parcel_id"]) == ["3707902026Q001", "3707902026Q002", "3707902026Q003"]
    if driver != "KML":
        assert (
            dict(zip(frame["parcel_id"], frame["township_name"], strict=True))["3707902026Q002"]
            == "东河乡"
        )


def test_multilayer_source_needs_layer_or_role(tmp_path, gk_parcels):
    path = tmp_path / "基础数据.gpkg"
    pyogrio.write_dataframe(gk_parcels(), path, layer="JCTB")
    dltb = gpd.GeoDataFrame({"DLBM": ["0103"]}, geometry=[square(X0, Y0, 500)], crs=4549)
    pyogrio.write_dataframe(dltb, path, layer="DLTB")
    with pytest.raises(
        InputError, match=r"holds 2 layers \(JCTB, DLTB\); say which one with --layer"
    ):
        load_layer(path)
    assert load_layer(path, role="farmland").report.layer == "DLTB"
    with pytest.raises(InputError, match="has no layer 'XZQ'. Its layers: JCTB, DLTB"):
        load_layer(path, layer="XZQ")


def test_role_recognised_from_fields(tmp_path, gk_parcels):
    path = write_shapefile(gk_parcels().assign(后时相=["2026-03-01"] * 3), tmp_path / "data.shp")
    assert load_layer(path).report.role == "parcels"


# ------------------------------------------------------------------ bad input


def test_missing_required_field_lists_aliases(tmp_path, gk_parcels):
    path = write_shapefile(
        gk_parcels().rename(columns={"监测编号": "编码X"}), tmp_path / "卫片.shp"
    )
    with pytest.raises(SchemaError) as err:
        load_layer(path, role="parcels")
    msg = str(err.value)
    assert "卫片.shp" in msg
    assert "no 监测编号 field (parcel_id): tried JCBH, TBBH, 监测编号, 图斑编号, 线索编号" in msg
    assert "Fields present: 编码X" in msg
    assert "[fields.parcels]" in msg


def test_rules_file_alias_fixes_missing_field(tmp_path, gk_parcels):
    path = write_shapefile(gk_parcels().rename(columns={"监测编号": "XSBH2"}), tmp_path / "p.shp")
    rules = rules_from_mapping({"fields": {"parcels": {"parcel_id": ["XSBH2"]}}})
    assert load_layer(path, role="parcels", rules=rules).report.field_map["parcel_id"] == "XSBH2"


def test_farmland_without_code_or_name(tmp_path):
    gdf = gpd.GeoDataFrame({"CODE9": ["0101"]}, geometry=[square(X0, Y0, 100)], crs=4549)
    path = tmp_path / "DLTB.gpkg"
    pyogrio.write_dataframe(gdf, path)
    with pytest.raises(SchemaError, match=r"no land-use code field: tried DLBM, 地类编码, DLDM"):
        load_layer(path, role="farmland")


def test_duplicate_ids_named_with_rows(tmp_path, gk_parcels):
    gdf = gk_parcels(4)
    gdf.loc[2, "监测编号"] = gdf.loc[0, "监测编号"]
    path = write_shapefile(gdf, tmp_path / "卫片.shp")
    with pytest.raises(
        SchemaError,
        match=r"field 监测编号: 1 id\(s\) appear more than once: 3707902026Q001 at FID 0, 2",
    ):
        load_layer(path, role="parcels")


def test_missing_id_value(tmp_path, gk_parcels):
    gdf = gk_parcels()
    gdf.loc[1, "监测编号"] = None
    path = write_shapefile(gdf, tmp_path / "p.shp")
    with pytest.raises(
        SchemaError, match=r"field 监测编号: 1 feature\(s\) have no id: feature FID 1"
    ):
        load_layer(path, role="parcels")


def test_null_and_empty_geometry(tmp_path, gk_parcels):
    gdf = gk_parcels(3)
    gdf.loc[1, "geometry"] = None
    gdf.loc[2, "geometry"] = shapely.Polygon()
    path = tmp_path / "p.gpkg"
    pyogrio.write_dataframe(gdf, path)
    with pytest.raises(GeometryError) as err:
        load_layer(path, role="parcels")
    msg = str(err.value)
    assert "2 feature(s) have no geometry (null or empty)" in msg
    assert "feature FID 1 (监测编号 3707902026Q002)" in msg
    assert "feature FID 2 (监测编号 3707902026Q003)" in msg


def test_invalid_geometry_repaired_and_counted(tmp_path, gk_parcels):
    """A bowtie of two triangles: make_valid gives two triangles of 2,500 m² each (GK plane)."""
    gdf = gk_parcels(2)
    gdf.loc[1, "geometry"] = BOWTIE
    path = write_shapefile(gdf, tmp_path / "p.shp")
    with pytest.warns(
        DataQualityWarning,
        match=r"1 invalid polygon\(s\) repaired with make_valid: feature FID 1 \(监测编号 3707902026Q002\) \[Self-intersection",
    ):
        loaded = load_layer(path, role="parcels")
    assert loaded.report.repaired == 1
    assert len(loaded.frame) == 2  # never dropped
    repaired = loaded.frame.geometry.iloc[1]
    assert repaired.is_valid and repaired.geom_type == "MultiPolygon"
    assert repaired.area == pytest.approx(5000.0)


def test_wrong_geometry_type(tmp_path, gk_parcels):
    gdf = gk_parcels(2)
    gdf = gdf.set_geometry(gdf.geometry.centroid)
    path = write_shapefile(gdf, tmp_path / "p.shp")
    with pytest.raises(
        GeometryError, match=r"2 feature\(s\) are not polygons \(Point\): feature FID 0"
    ):
        load_layer(path, role="parcels")


def test_unreadable_file(tmp_path):
    path = tmp_path / "broken.shp"
    path.write_bytes(b"this is not a shapefile at all")
    (tmp_path / "broken.dbf").write_bytes(b"\x03garbage")
    with pytest.raises(InputError, match=r"Cannot (open|read) .*broken.shp.*(corrupt|complete)"):
        load_layer(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(InputError, match="File not found: .*nope.shp"):
        load_layer(tmp_path / "nope.shp")
    (tmp_path / "a.shp").write_bytes(b"")
    with pytest.raises(
        InputError, match="is a folder, not a layer file. Name one of the files in it: a.shp"
    ):
        load_layer(tmp_path)


def test_empty_layer(tmp_path, gk_parcels):
    path = tmp_path / "p.gpkg"
    pyogrio.write_dataframe(gk_parcels().iloc[:0], path)
    with pytest.raises(InputError, match=r"the layer is empty \(0 features\)"):
        load_layer(path, role="parcels")
    assert len(load_layer(path, role="parcels", allow_empty=True).frame) == 0


def test_missing_crs_refused_with_suggestion(tmp_path, gk_parcels):
    gdf = gk_parcels().to_crs(4528)  # zone-prefixed X
    path = write_shapefile(gdf, tmp_path / "p.shp")
    path.with_suffix(".prj").unlink()
    with pytest.raises(CRSError) as err:
        load_layer(path, role="parcels")
    msg = str(err.value)
    assert "the layer has no CRS" in msg
    assert "EPSG:4528 (CGCS2000 3-degree Gauss-Kruger zone 40" in msg
    assert "--crs" in msg
    loaded = load_layer(path, role="parcels", crs="EPSG:4528")
    assert loaded.frame.crs.to_epsg() == 4528
    assert loaded.report.crs_source.startswith("given with --crs")


def test_missing_crs_lonlat_suggestion(tmp_path, gk_parcels):
    path = write_shapefile(gk_parcels().to_crs(4490), tmp_path / "p.shp")
    path.with_suffix(".prj").unlink()
    with pytest.raises(
        CRSError, match=r"EPSG:4490 \(CGCS2000 longitude/latitude\).*zone is 40 \(EPSG:4549\)"
    ):
        load_layer(path, role="parcels")


def test_declared_crs_contradicted_by_coordinates(tmp_path, gk_parcels):
    gdf = gk_parcels().set_crs(4490, allow_override=True)  # metres labelled as degrees
    path = write_shapefile(gdf, tmp_path / "p.shp")
    with pytest.raises(
        CRSError,
        match=r"is longitude/latitude but the coordinates reach x=390500.*Likely CRS: a CGCS2000 3-degree Gauss-Kruger CRS without zone prefix",
    ):
        load_layer(path, role="parcels")


def test_prefixed_crs_without_prefix_refused(tmp_path, gk_parcels):
    gdf = gk_parcels().set_crs(4528, allow_override=True)
    path = tmp_path / "p.gpkg"
    pyogrio.write_dataframe(gdf, path)
    with pytest.raises(CRSError, match="expects the zone number 40 in front of X"):
        load_layer(path, role="parcels")


def test_layers_that_do_not_line_up(tmp_path, gk_parcels):
    """Parcels in zone 40 but labelled zone 39 land 270 km away from the farmland."""
    parcels = write_shapefile(gk_parcels(), tmp_path / "卫片.shp")
    farmland = gpd.GeoDataFrame({"DLBM": ["0101"]}, geometry=[square(X0, Y0, 1000)], crs=4549)
    pyogrio.write_dataframe(farmland, tmp_path / "DLTB.gpkg")
    wrong = gk_parcels().set_crs(4548, allow_override=True)  # zone 39 label
    write_shapefile(wrong, tmp_path / "wrong.shp")
    ok = load_inputs({"parcels": parcels, "farmland": tmp_path / "DLTB.gpkg"})
    assert ok.zone == 40 and ok.working_crs.to_epsg() == 4549
    with pytest.raises(
        CRSError, match=r"Layers do not line up: .*DLTB.gpkg \[farmland.*wrong.shp \[parcels"
    ):
        load_inputs({"parcels": tmp_path / "wrong.shp", "farmland": tmp_path / "DLTB.gpkg"})


def test_layers_in_different_crs_are_reprojected(tmp_path, gk_parcels):
    write_shapefile(gk_parcels().to_crs(4490), tmp_path / "p.shp")
    farmland = gpd.GeoDataFrame(
        {"DLBM": ["0101"]}, geometry=[square(X0, Y0, 1000)], crs=4549
    ).to_crs(4528)
    pyogrio.write_dataframe(farmland, tmp_path / "f.gpkg")
    inputs = load_inputs(
        {"parcels": tmp_path / "p.shp", "farmland": LayerSource(tmp_path / "f.gpkg")}
    )
    assert inputs.layers["parcels"].crs.equals(inputs.layers["farmland"].crs)
    assert inputs.layers["parcels"].geometry.iloc[0].bounds[0] == pytest.approx(X0, abs=1e-3)


def test_several_problems_reported_at_once(tmp_path, gk_parcels):
    gdf = gk_parcels(4)
    gdf.loc[1, "监测编号"] = gdf.loc[0, "监测编号"]
    gdf.loc[3, "geometry"] = None
    path = tmp_path / "p.gpkg"
    pyogrio.write_dataframe(gdf, path)
    with pytest.raises(SchemaError, match=r"2 problem\(s\)") as err:
        load_layer(path, role="parcels")
    assert "appear more than once" in str(err.value) and "no geometry" in str(err.value)
    reports = inspect_path(path, role="parcels")
    assert len(reports[0].errors) == 2


# ------------------------------------------------------------------ content handling


def test_erdiao_codes_and_names_mapped(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"DLMC": ["水田", "旱地", "有林地", "村庄", "神秘地"]},
        geometry=[square(X0 + 100 * i, Y0, 100) for i in range(5)],
        crs=4549,
    )
    path = tmp_path / "landuse.gpkg"
    pyogrio.write_dataframe(gdf, path)
    with pytest.warns(DataQualityWarning, match="神秘地"):
        loaded = load_layer(path, role="farmland")
    codes = loaded.frame["dlbm"]
    assert list(codes[:4]) == ["0101", "0103", "0301", "0702"] and codes.isna().iloc[4]
    assert any("approximately" in n for n in loaded.report.notes)
    gdf2 = gpd.GeoDataFrame(
        {"DLBM": ["011", "013", "122"]},
        geometry=[square(X0 + 100 * i, Y0, 100) for i in range(3)],
        crs=4549,
    )
    pyogrio.write_dataframe(gdf2, tmp_path / "erdiao.gpkg")
    assert list(read_layer(tmp_path / "erdiao.gpkg", role="farmland")["dlbm"]) == [
        "0101",
        "0103",
        "1202",
    ]


def test_reported_area_unit_sniffed(tmp_path, gk_parcels):
    """100 m squares: ~9,998 m² ellipsoidal = 15.0 亩, so 监测面积 = 15.0 is in 亩."""
    loaded = load_layer(write_shapefile(gk_parcels(), tmp_path / "p.shp"), role="parcels")
    assert any("is in 亩" in n for n in loaded.report.notes)
    assert loaded.frame["reported_area_m2"].iloc[0] == pytest.approx(10000.0)
    in_m2 = gk_parcels(3, 监测面积=[9998.0, 9998.0, 5000.0])
    with pytest.warns(
        DataQualityWarning,
        match=r"1 feature\(s\) differ from their geometry area by more than 5%: feature FID 2",
    ):
        loaded = load_layer(write_shapefile(in_m2, tmp_path / "q.shp"), role="parcels")
    assert any("is in m²" in n for n in loaded.report.notes)
    in_ha = gk_parcels(3, 监测面积=[1.0, 1.0, 1.0])
    loaded = load_layer(write_shapefile(in_ha, tmp_path / "h.shp"), role="parcels")
    assert any("is in 公顷" in n for n in loaded.report.notes)
    nonsense = gk_parcels(3, 监测面积=[3.0, 3.0, 3.0])
    with pytest.warns(DataQualityWarning, match="neither in m², 亩 nor 公顷"):
        loaded = load_layer(write_shapefile(nonsense, tmp_path / "n.shp"), role="parcels")
    assert "reported_area_m2" not in loaded.frame


def test_dates_parsed_and_bad_dates_named(tmp_path, gk_parcels):
    gdf = gk_parcels(3, 后时相=["2026-03-20", "20260321", "三月"])
    with pytest.warns(
        DataQualityWarning, match=r"field 后时相: 1 value\(s\) are not dates .*FID 2.*'三月'"
    ):
        frame = read_layer(write_shapefile(gdf, tmp_path / "p.shp"), role="parcels")
    assert str(frame["after_date"].iloc[1].date()) == "2026-03-21"


def test_constant_id_field_is_not_an_id(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"Id": [0, 0, 0], "Floor": [1, 2, 3]},
        geometry=[square(X0 + 50 * i, Y0, 20) for i in range(3)],
        crs=4549,
    )
    path = tmp_path / "buildings.gpkg"
    pyogrio.write_dataframe(gdf, path)
    loaded = load_layer(path, role="buildings")
    assert list(loaded.frame["building_id"]) == ["B000001", "B000002", "B000003"]
    assert list(loaded.frame["storeys"]) == [1, 2, 3]


def test_geojson_gcj02_warned_and_corrected(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"adcode": ["370783"], "name": ["寿光市"], "source": ["高德"]},
        geometry=[shapely.box(118.7, 36.8, 118.8, 36.9)],
        crs=4326,
    )
    path = tmp_path / "boundary.geojson"
    pyogrio.write_dataframe(gdf, path)
    with pytest.warns(DataQualityWarning, match="looks like GCJ-02"):
        load_layer(path, role="townships")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataQualityWarning)
        fixed = load_layer(path, role="townships", gcj02=True).frame
    # the GCJ-02 offset here is about +0.0050 lon / -0.0010 lat (hundreds of metres)
    x0 = fixed.geometry.iloc[0].bounds[0]
    assert 118.69 < x0 < 118.6995
    corrected = shapely.get_coordinates(fixed.geometry.iloc[0])
    lon, lat = crsmod.wgs84_to_gcj02(corrected[:, 0], corrected[:, 1])
    original = shapely.get_coordinates(gdf.geometry.iloc[0])
    np.testing.assert_allclose(np.column_stack([lon, lat]), original, atol=1e-7)


def test_dates_as_counties_write_them_month_precision_kept(tmp_path, gk_parcels):
    """前时相/后时相 as delivered: 2026-09 and 202609 (months), 20260915, 2026/9/15, and the Excel
    serial day number 46280 (1899-12-30 + 46280 days = 2026-09-15). Before: the months and the
    serial number were emptied with a warning."""
    gdf = gk_parcels(5, 前时相=["2026-09", "202609", "20260915", "2026/9/15", "46280"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataQualityWarning)  # no value is lost
        loaded = load_layer(write_shapefile(gdf, tmp_path / "p.shp"), role="parcels")
    frame = loaded.frame
    assert [d.date().isoformat() for d in frame["before_date"]] == [
        "2026-09-01",
        "2026-09-01",
        "2026-09-15",
        "2026-09-15",
        "2026-09-15",
    ]
    assert list(frame["before_date_precision"]) == ["month", "month", "day", "day", "day"]
    assert any("2 value(s) give a month only" in n for n in loaded.report.notes)


def test_dates_of_a_large_layer_parse_as_each_value_alone():
    """A layer of 400 rows with few distinct dates is parsed value by value once (the distinct
    values), and gives for every row what parsing that row alone gives: dates, precision (day /
    month / empty) and which rows are bad (here 'abc' at rows 3, 13, 23, ... : 40 bad rows)."""
    import datetime as dt

    import pandas as pd

    from parcelwatch.io.layers import _parse_dates

    pool = [
        "2026-09",
        "20260915",
        " 2026/9/15 ",
        "abc",
        None,
        "",
        "46280",
        "2025年9月15日",
        dt.date(2026, 1, 2),
        "202609",
    ]
    big = pd.Series([pool[i % len(pool)] for i in range(400)], dtype=object)
    parsed, precision, bad = _parse_dates(big)
    assert len(bad) == 40 and bad[:2] == [3, 13]
    for i in range(len(pool)):
        one, one_prec, one_bad = _parse_dates(big.iloc[[i]])
        rows = big.index[big.index % len(pool) == i]
        assert (
            parsed[rows].isna().all()
            if pd.isna(one.iloc[0])
            else (parsed[rows] == one.iloc[0]).all()
        )
        assert (
            precision[rows].isna().all()
            if pd.isna(one_prec.iloc[0])
            else (precision[rows] == one_prec.iloc[0]).all()
        )
        assert bool(one_bad) == (i == 3)
    assert parsed[1] == pd.Timestamp("2026-09-15") and precision[0] == "month"
    assert parsed.dtype == "datetime64[ns]" and str(precision.dtype) == "string"
