"""The real public layers in ../shared/realdata load as a user would load them.

These files are third-party data (see each SOURCE.md) kept beside the repository, not in it. With
the environment variable ``CI`` set (CI clones main with shared/ beside it) a missing folder fails
loudly; in a user's clone with nothing beside it the module is skipped with a one-line reason.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import shapely

from parcelwatch import crs as crsmod
from parcelwatch.errors import DataQualityWarning
from parcelwatch.io.layers import load_layer, read_layer
from parcelwatch.units import m2_to_mu
from tests.conftest import REALDATA, require_realdata

require_realdata()

BANZHU = REALDATA / "banzhu-village-landuse-grid-bishan-chongqing" / "斑竹村10000.shp"
AMAP = REALDATA / "cn-admin-amap-cnmaps" / "chongqing_districts_counties.geojson"
TIANDITU = REALDATA / "cn-admin-tianditu-fastgeocn" / "chongqing_districts_counties.geojson"
SHENZHEN = REALDATA / "shenzhen-futian-buildings-mapgis" / "building-500.geojson"


def test_realdata_present():
    for p in (BANZHU, AMAP, TIANDITU, SHENZHEN):
        assert p.exists(), f"{p} is missing: ../shared/realdata is incomplete"


def test_banzhu_grid_zone_prefixed_gk_and_erdiao_names():
    """SOURCE.md: 10,653 cells of 666.67 m² (1 亩), 水田 3248, 旱地 3489, 710.2 ha, zone 35."""
    loaded = load_layer(BANZHU)
    frame, rep = loaded.frame, loaded.report
    assert rep.role == "farmland"
    assert rep.encoding.encoding == "utf-8" and rep.encoding.source == "cpg"
    assert frame.crs.to_epsg() == 4523
    assert len(frame) == 10653
    counts = frame["dlbm"].value_counts()
    assert counts["0101"] == 3248 and counts["0103"] == 3489
    assert counts["1202"] == 30  # 设施农用地
    assert frame["dlbm"].notna().all()
    area = crsmod.ellipsoidal_area_m2(frame.geometry.values, frame.crs)
    # each cell is 666.67 m² in the GK plane; at 1.1° from the central meridian the ellipsoidal
    # area is ~0.02 % smaller
    assert np.median(area) == pytest.approx(666.67, rel=5e-4)
    assert area.sum() / 1e4 == pytest.approx(710.2, rel=1e-3)
    assert m2_to_mu(area.mean()) == pytest.approx(1.0, rel=5e-4)
    assert any("二调 class names mapped approximately" in n for n in rep.notes)


def test_amap_boundaries_warned_as_gcj02_and_correction_moves_them_onto_cgcs2000():
    with pytest.warns(DataQualityWarning, match=r"looks like GCJ-02 .*field 'source' says '高德'"):
        raw = read_layer(AMAP, role="townships")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataQualityWarning)
        fixed = read_layer(AMAP, role="townships", gcj02=True)
        ref = read_layer(TIANDITU, role="townships", rules=_gb_alias())
    ref = ref.assign(code=ref["township_code"].str[3:]).set_index("code")
    raw, fixed = raw.set_index("township_code"), fixed.set_index("township_code")
    common = raw.index.intersection(ref.index)
    assert len(common) == 38

    def shift(frame):
        a = shapely.centroid(frame.loc[common].geometry.values)
        b = shapely.centroid(ref.loc[common].geometry.values)
        return np.median(shapely.get_x(a) - shapely.get_x(b)), np.median(
            shapely.get_y(a) - shapely.get_y(b)
        )

    dx_raw, dy_raw = shift(raw)
    dx_fix, dy_fix = shift(fixed)
    assert dx_raw > 0.003 and dy_raw < -0.001  # ~400 m east, ~280 m south (SOURCE.md)
    assert abs(dx_fix) < 0.001 and abs(dy_fix) < 0.001


def _gb_alias():
    from parcelwatch.config import rules_from_mapping

    return rules_from_mapping({"fields": {"townships": {"township_code": ["gb"]}}})


def test_shenzhen_buildings_with_floor_field_and_default_id():
    loaded = load_layer(SHENZHEN, role="buildings")
    frame = loaded.frame
    assert len(frame) == 459
    assert frame["building_id"].is_unique
    assert frame["storeys"].between(1, 55).all()
    assert loaded.report.field_map["storeys"] == "Floor"
    assert any("holds the same value" in n for n in loaded.report.notes)
