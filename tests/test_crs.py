"""Zones, CRS suggestions, ellipsoidal areas against pyproj.Geod, and GCJ-02."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS

from parcelwatch import crs as crsmod
from parcelwatch.errors import CRSError
from parcelwatch.units import M2_PER_MU, m2_to_mu, mu_to_m2


def test_mu():
    """1 亩 = 10000/15 m²; 1 公顷 = 15 亩."""
    assert M2_PER_MU == pytest.approx(666.6666666667)
    assert m2_to_mu(10000.0) == pytest.approx(15.0)
    assert mu_to_m2(1.5) == pytest.approx(1000.0)


@pytest.mark.parametrize(
    "zone,prefixed,epsg",
    [
        (25, True, 4513),
        (35, True, 4523),
        (40, True, 4528),
        (45, True, 4533),
        (25, False, 4534),
        (40, False, 4549),
        (45, False, 4554),
    ],
)
def test_gk3_epsg(zone, prefixed, epsg):
    assert crsmod.gk3_epsg(zone, prefixed=prefixed) == epsg
    assert crsmod.gk3_zone_of_crs(CRS.from_epsg(epsg)) == zone
    op = CRS.from_epsg(epsg).coordinate_operation
    assert (
        next(p.value for p in op.params if "natural origin" in p.name and "Longitude" in p.name)
        == 3 * zone
    )


def test_zone_bounds():
    with pytest.raises(CRSError, match="zone 46 is outside China's zones 25-45"):
        crsmod.gk3_epsg(46, prefixed=True)
    assert crsmod.gk3_zone_from_lon(118.5) == 40  # CM 120 covers 118.5..121.5
    assert crsmod.gk3_zone_from_lon(118.49) == 39
    assert crsmod.gk3_zone_of_crs(CRS.from_epsg(4490)) is None
    assert (
        crsmod.gk3_zone_of_crs(
            CRS.from_proj4("+proj=tmerc +lon_0=117 +k=1 +x_0=500000 +ellps=GRS80")
        )
        == 39
    )


def test_suggestions():
    assert crsmod.suggest_crs((40_390_000, 4_080_000, 40_391_000, 4_081_000)).startswith(
        "EPSG:4528"
    )
    assert crsmod.suggest_crs((20_390_000, 4_080_000, 20_391_000, 4_081_000)).startswith(
        "EPSG:4498"
    )  # 6-degree zone 20
    assert "EPSG:4534-4554" in crsmod.suggest_crs((390_000, 4_080_000, 391_000, 4_081_000))
    assert crsmod.suggest_crs((118.7, 36.8, 118.8, 36.9)).startswith("EPSG:4490")
    assert crsmod.suggest_crs((-5, 50, -4, 51)).startswith("none recognisable")


def test_area_of_known_square_matches_geod():
    """A 0.01° x 0.01° cell at 36.85N. By hand: 0.01° of latitude is ~1109.6 m (meridian arc),
    0.01° of longitude is N·cos(36.855°)·π/180·0.01 = ~891.96 m, so ~989,700 m². Geod and the LAEA
    method must agree with each other to 1e-8 (they differ only in how an edge runs between vertices)."""
    cell = shapely.box(118.75, 36.85, 118.76, 36.86)
    geod = crsmod.geod_area_m2(cell)
    assert geod == pytest.approx(1109.6 * 891.96, rel=1e-3)
    assert crsmod.ellipsoidal_area_m2([cell], 4490)[0] == pytest.approx(geod, rel=1e-8)


@settings(max_examples=60, deadline=None)
@given(
    lon=st.floats(74, 134),
    lat=st.floats(18, 53),
    w=st.floats(5, 3000),
    h=st.floats(5, 3000),
    skew=st.floats(-0.4, 0.4),
)
def test_area_matches_geod_anywhere_in_china(lon, lat, w, h, skew):
    """Parcel-sized quadrilaterals anywhere in China, delivered in their GK zone. The delivered
    region has straight edges *in GK*; densified to 2 m (so that geodesic and GK-straight edges
    coincide), pyproj.Geod's area of it equals ours to 5e-8 relative (the centroid-scale method is
    exact up to (width/R)²/12, 9e-9 for a 2 km-wide polygon). (Without densifying, a
    1.3 km edge 80 km off the central meridian bows ~4 mm away from the geodesic: areas then
    differ by up to ~4e-5 on long thin slivers, which is a different region, not an error.)"""
    zone = crsmod.gk3_zone_from_lon(lon)
    gk = CRS.from_epsg(crsmod.gk3_epsg(zone, prefixed=True))
    tr = pyproj.Transformer.from_crs(4490, gk, always_xy=True)
    x, y = tr.transform(lon, lat)
    quad = shapely.Polygon([(x, y), (x + w, y + skew * h), (x + w, y + h), (x, y + h)])
    if not quad.is_valid:
        return
    area = crsmod.ellipsoidal_area_m2([quad], gk)[0]
    back = pyproj.Transformer.from_crs(gk, 4490, always_xy=True)
    dense = shapely.segmentize(quad, 2.0)
    lonlat = shapely.transform(
        dense, lambda xy: np.column_stack(back.transform(xy[:, 0], xy[:, 1]))
    )
    assert area == pytest.approx(crsmod.geod_area_m2(lonlat), rel=5e-8, abs=1e-4)


@settings(max_examples=30, deadline=None)
@given(lon=st.floats(74, 134), lat=st.floats(18, 53), size=st.floats(10, 3000))
def test_geographic_input_matches_geod(lon, lat, size):
    """Lon/lat input (equal-area path): a square of ~size metres agrees with Geod to 1e-6."""
    d = size / 111_000
    cell = shapely.box(lon, lat, lon + d, lat + d)
    assert crsmod.ellipsoidal_area_m2([cell], 4490)[0] == pytest.approx(
        crsmod.geod_area_m2(cell), rel=1e-6
    )


def test_area_independent_of_batch_and_zero_for_empty():
    a = shapely.box(390000, 4080000, 390100, 4080100)
    far = shapely.box(400000, 4090000, 400100, 4090100)
    alone = crsmod.ellipsoidal_area_m2([a], 4549)[0]
    together = crsmod.ellipsoidal_area_m2([a, far, shapely.Polygon(), None], 4549)
    assert together[0] == pytest.approx(alone, rel=1e-9)
    assert list(together[2:]) == [0.0, 0.0]


def test_gk_plane_area_is_larger_than_ellipsoidal_off_meridian():
    """110 km east of the central meridian the GK scale is ~1.00015, areas ~1.0003 too large."""
    sq = shapely.box(390000, 4080000, 390100, 4080100)
    ratio = sq.area / crsmod.ellipsoidal_area_m2([sq], 4549)[0]
    assert 1.0002 < ratio < 1.0004


def test_gcj02_round_trip_and_offset_size():
    lon, lat = np.array([118.75, 106.14]), np.array([36.86, 29.60])
    glon, glat = crsmod.wgs84_to_gcj02(lon, lat)
    assert np.all(np.abs(glon - lon) > 0.002)  # hundreds of metres
    wlon, wlat = crsmod.gcj02_to_wgs84(glon, glat)
    np.testing.assert_allclose(wlon, lon, atol=1e-8)
    np.testing.assert_allclose(wlat, lat, atol=1e-8)


def test_areas_of_a_large_array_are_those_of_each_element_alone():
    """60,000 discs (over the threaded path) give bit for bit the areas of 1,000-element calls
    (below it): an element's area never depends on what it is passed with, so a batch and the
    whole county give the same bits."""
    import numpy as np
    import shapely

    from parcelwatch.crs import ellipsoidal_area_m2

    rng = np.random.default_rng(0)
    x, y = rng.uniform(3.8e5, 4.2e5, 60_000), rng.uniform(4.0e6, 4.1e6, 60_000)
    discs = shapely.buffer(shapely.points(x, y), rng.uniform(5, 200, 60_000))
    whole = ellipsoidal_area_m2(discs, 4549)
    parts = np.concatenate(
        [ellipsoidal_area_m2(discs[i : i + 1000], 4549) for i in range(0, 60_000, 1000)]
    )
    assert np.array_equal(whole, parts)
    assert np.all(whole > 0)


def test_lon_lat_areas_of_a_large_array_are_those_of_the_whole_unthreaded():
    """Lon/lat input goes through the equal-area projection centred on the whole array (rounded
    to 0.1 degree), transformed in halves on two threads for more than 20,000 geometries: the
    areas are bit for bit those of one transformation of the whole array."""
    import numpy as np
    import shapely

    from parcelwatch import crs as crsmod

    rng = np.random.default_rng(1)
    x, y = rng.uniform(117.0, 117.5, 30_000), rng.uniform(36.5, 37.0, 30_000)
    boxes = shapely.box(x, y, x + 0.001, y + 0.0008)
    got = crsmod.ellipsoidal_area_m2(boxes, 4490)
    tr = crsmod._transformer(crsmod.STORAGE_CRS.to_wkt(), crsmod._laea_wkt(117.3, 36.8))
    want = shapely.area(
        shapely.transform(boxes, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
    )
    assert np.array_equal(got, want)
    assert 7_000 < got.min() and got.max() < 8_000  # ~89 m x ~89 m at 36.5-37 N


def test_classification_written_in_storage_crs_on_threads_is_to_crs_exactly():
    """A classification of more than 20,000 parcels is reprojected to EPSG:4490 on worker
    threads before it is written: the coordinates are bit for bit those of ``to_crs`` (the same
    PROJ transformation), the attributes and index unchanged."""
    import geopandas as gpd

    from parcelwatch.pipeline.inputs import _in_storage_crs, _to_crs

    n = 25_000
    x = 390_000.0 + 30.0 * (np.arange(n) % 500)
    y = 4_080_000.0 + 30.0 * (np.arange(n) // 500)
    frame = gpd.GeoDataFrame(
        {"parcel_id": [f"P{i}" for i in range(n)]},
        geometry=shapely.box(x, y, x + 20.0, y + 25.0),
        crs=4549,
        index=np.arange(n) * 2,
    )
    want = frame.to_crs(4490)
    got = _in_storage_crs(frame)
    assert got.crs.equals(want.crs) and list(got.columns) == list(want.columns)
    assert got.geometry.name == want.geometry.name
    assert got.index.equals(want.index) and got["parcel_id"].equals(want["parcel_id"])
    assert shapely.equals_exact(got.geometry.values, want.geometry.values, tolerance=0).all()
    assert np.array_equal(
        shapely.get_coordinates(got.geometry.values), shapely.get_coordinates(want.geometry.values)
    )
    # and the other way, as delivered lon/lat parcels are brought into the working zone
    back = _to_crs(want, frame.crs)
    again = want.to_crs(frame.crs)
    assert back.index.equals(again.index) and back.crs.equals(again.crs)
    assert np.array_equal(
        shapely.get_coordinates(back.geometry.values),
        shapely.get_coordinates(again.geometry.values),
    )
