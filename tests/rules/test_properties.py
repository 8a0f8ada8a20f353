"""Invariants of classify on random scenes (hypothesis).

* 耕地 area in a parcel <= the parcel's area (farmland is a coverage, as DLTB is);
* the order of features does not change any result;
* moving the whole scene north does not change any class or finding;
* splitting a farmland polygon in two (same attributes) does not change any parcel's areas.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parcelwatch.rules.classify import classify
from tests.conftest import X0, Y0

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
USES = ["住宅", "餐饮", "看护房", "农机库", "厂房", None]


@st.composite
def scenes(draw):
    """A 4 x 4 grid of 100 m farmland cells, 1-4 parcels, 1-6 greenhouses, 1-10 buildings."""
    codes = draw(
        st.lists(st.sampled_from(["0101", "0103", "0702", "1202"]), min_size=16, max_size=16)
    )
    cells = [
        shapely.box(
            X0 + 100 * (i % 4), Y0 + 100 * (i // 4), X0 + 100 * (i % 4 + 1), Y0 + 100 * (i // 4 + 1)
        )
        for i in range(16)
    ]
    kcxs = draw(st.lists(st.sampled_from([0.0, 0.05, 0.1]), min_size=16, max_size=16))
    farm = gpd.GeoDataFrame(
        {
            "patch_id": [f"T{i}" for i in range(16)],
            "dlbm": codes,
            "tbmj": 1e4,
            "tbdlmj": [1e4 * (1 - k) for k in kcxs],
        },
        geometry=cells,
        crs=4549,
    )

    def rect(min_w, max_w, min_h, max_h):
        x = draw(st.integers(0, 380)) + 0.5 * draw(st.integers(0, 1))
        y = draw(st.integers(0, 380))
        w = draw(st.integers(min_w, max_w))
        h = draw(st.integers(min_h, max_h))
        return shapely.box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + h)

    n_p = draw(st.integers(1, 4))
    parcels = gpd.GeoDataFrame(
        {"parcel_id": [f"P{i}" for i in range(n_p)]},
        geometry=[rect(30, 200, 30, 200) for _ in range(n_p)],
        crs=4549,
    )
    n_g = draw(st.integers(1, 6))
    gh = gpd.GeoDataFrame(
        {"greenhouse_id": [f"G{i}" for i in range(n_g)]},
        geometry=[rect(8, 12, 40, 80) for _ in range(n_g)],
        crs=4549,
    )
    n_b = draw(st.integers(1, 10))
    b = gpd.GeoDataFrame(
        {
            "building_id": [f"B{i}" for i in range(n_b)],
            "use": [draw(st.sampled_from(USES)) for _ in range(n_b)],
            "storeys": pd.array([draw(st.integers(1, 3)) for _ in range(n_b)], dtype="Int64"),
        },
        geometry=[rect(3, 25, 3, 25) for _ in range(n_b)],
        crs=4549,
    )
    return parcels, farm, gh, b


def _run(parcels, farm, gh, b):
    return classify(parcels, farmland=farm, greenhouses=gh, buildings=b)


def _key(result):
    p = result.parcels.sort_values("parcel_id").reset_index(drop=True)
    f = result.findings.sort_values(["parcel_id", "footprint_id", "rule_id"]).reset_index(drop=True)
    return p, f


@SETTINGS
@given(scenes())
def test_farmland_within_parcel_area(scene):
    p = _run(*scene).parcels
    assert (p["farmland_m2"] <= p["parcel_area_m2"] * (1 + 1e-9)).all()
    assert (p["building_farmland_m2"] <= p["building_m2"] * (1 + 1e-9)).all()


@SETTINGS
@given(scenes(), st.randoms(use_true_random=False))
def test_feature_order_does_not_matter(scene, rnd):
    base_p, base_f = _key(_run(*scene))
    shuffled = []
    for g in scene:
        idx = list(range(len(g)))
        rnd.shuffle(idx)
        shuffled.append(g.iloc[idx])
    p, f = _key(_run(*shuffled))
    pd.testing.assert_frame_equal(
        p.drop(columns="geometry"), base_p.drop(columns="geometry"), check_exact=False, rtol=1e-9
    )
    pd.testing.assert_frame_equal(
        f.drop(columns="geometry"), base_f.drop(columns="geometry"), check_exact=False, rtol=1e-9
    )


@SETTINGS
@given(scenes(), st.integers(-2000, 2000))
def test_translation_north_does_not_change_results(scene, dy):
    base_p, base_f = _key(_run(*scene))
    moved = [g.set_geometry(g.geometry.translate(0, dy)) for g in scene]
    p, f = _key(_run(*moved))
    assert list(p["problem_class"]) == list(base_p["problem_class"])
    assert list(p["classes"]) == list(base_p["classes"])
    assert list(zip(f["parcel_id"], f["footprint_id"], f["rule_id"], strict=True)) == list(
        zip(base_f["parcel_id"], base_f["footprint_id"], base_f["rule_id"], strict=True)
    )
    np.testing.assert_allclose(p["farmland_m2"], base_p["farmland_m2"], rtol=1e-6, atol=1e-6)


@SETTINGS
@given(scenes(), st.integers(0, 15), st.floats(0.05, 0.95))
def test_splitting_farmland_changes_nothing(scene, cell, at):
    parcels, farm, gh, b = scene
    base_p, base_f = _key(_run(parcels, farm, gh, b))
    x0, y0, x1, y1 = farm.geometry.iloc[cell].bounds
    xs = x0 + at * (x1 - x0)
    left = farm.iloc[[cell]].set_geometry([shapely.box(x0, y0, xs, y1)], crs=4549)
    right = farm.iloc[[cell]].set_geometry([shapely.box(xs, y0, x1, y1)], crs=4549)
    split = pd.concat([farm.drop(index=farm.index[cell]), left, right], ignore_index=True)
    p, f = _key(_run(parcels, split, gh, b))
    np.testing.assert_allclose(p["farmland_m2"], base_p["farmland_m2"], rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(
        p["building_farmland_m2"], base_p["building_farmland_m2"], rtol=1e-9, atol=1e-6
    )
    assert list(p["classes"]) == list(base_p["classes"])
