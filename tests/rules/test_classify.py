"""Hand-drawn scenes for every rule: firing, not firing, exactly at thresholds, edge cases.

All scenes are in EPSG:4549 (GK zone 40) around (X0, Y0), 110 km east of the central meridian,
where a planar square of A m² has an ellipsoidal area of A / 1.000297 (the GK areal scale). The
expected numbers in the docstrings use that factor.
"""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from parcelwatch.config import DEFAULT_RULES, rules_from_mapping
from parcelwatch.crs import ellipsoidal_area_m2
from parcelwatch.errors import CRSError, SchemaError
from parcelwatch.rules.classify import classify
from tests.conftest import X0, Y0

K = 1.000297  # planar GK area / ellipsoidal area here


def box(x0, y0, x1, y1):
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def layer(rows, **cols):
    """rows: list of (id, geometry, *values) with column names from cols (in order)."""
    names = list(cols)
    data = {names[0]: [r[0] for r in rows]}
    for j, n in enumerate(names[1:], start=2):
        data[n] = [r[j] if len(r) > j else None for r in rows]
    return gpd.GeoDataFrame(data, geometry=[r[1] for r in rows], crs=4549)


def parcels(*rows):
    return layer(rows, parcel_id=1)


def farmland(*rows):
    """rows: (patch_id, geom, dlbm, tbmj, tbdlmj)."""
    return layer(rows, patch_id=1, dlbm=1, tbmj=1, tbdlmj=1)


def buildings(*rows):
    """rows: (building_id, geom, use, storeys)."""
    g = layer(rows, building_id=1, use=1, storeys=1)
    g["storeys"] = g["storeys"].astype("Int64")
    return g


def greenhouses(*rows):
    return layer(rows, greenhouse_id=1)


def approvals(*rows):
    """rows: (approval_id, geom, approval_type, filed_use)."""
    return layer(rows, approval_id=1, approval_type=1, filed_use=1)


FARM = farmland(
    ("T1", box(0, 0, 1000, 1000), "0103", 1.0e6, 0.9e6),
    ("T2", box(1000, 0, 2000, 1000), "0702", 1.0e6, 1.0e6),
)
GH = greenhouses(("G1", box(100, 100, 110, 180)))
P1 = parcels(("P1", box(50, 50, 400, 400)))


def run(b, *, parcels_=P1, farmland_=FARM, greenhouses_=GH, rules=DEFAULT_RULES, **kw):
    return classify(
        parcels_, farmland=farmland_, greenhouses=greenhouses_, buildings=b, rules=rules, **kw
    )


def fired(result, fid=None):
    f = result.findings
    if fid is not None:
        f = f[f["footprint_id"] == fid]
    return sorted(f["rule_id"])


# ------------------------------------------------------------------ Class II


def test_class2_catering_inside_greenhouse():
    """B1 = 6 x 20 m = 120 m² planar (119.96 m² ellipsoidal), wholly inside G1 on 旱地 with
    KCXS 0.1: farmland 119.96 x 0.9 = 107.97 m² = 0.16 亩."""
    r = run(buildings(("B1", box(102, 120, 108, 140), "餐饮", 1)))
    assert fired(r) == ["class2.building_in_greenhouse"]
    f = r.findings.iloc[0]
    assert f.footprint_m2 == pytest.approx(120 / K, abs=0.01)
    assert f.farmland_m2 == pytest.approx(0.9 * 120 / K, abs=0.01)
    assert f.reason == "建筑B1（餐饮，120.0 m²）100% 位于大棚G1内，占用耕地0.16亩 → 疑似第二类"
    assert "suspected Class II" in f.reason_en
    p = r.parcels.iloc[0]
    assert p.problem_class == "II" and p.classes == "II" and p.priority == "normal"
    assert p.building_in_greenhouse_m2 == pytest.approx(120 / K, abs=0.01)


def test_class2_unknown_use_counts():
    r = run(buildings(("B1", box(102, 120, 108, 140), None, None)))
    assert fired(r) == ["class2.building_in_greenhouse"]
    assert "用途不详" in r.findings.iloc[0].reason


def test_class2_needs_farmland():
    """The same building on 农村宅基地 (T2) is not on farmland: nothing fires."""
    gh = greenhouses(("G9", box(1100, 100, 1110, 180)))
    p = parcels(("P9", box(1050, 50, 1400, 400)))
    r = run(buildings(("B1", box(1102, 120, 1108, 140), "餐饮", 1)), parcels_=p, greenhouses_=gh)
    assert fired(r) == []
    assert r.parcels.iloc[0].problem_class == "none"


def test_inside_share_exactly_at_threshold():
    """B half inside G1 (x 105..115 against G1 x 100..110): share is 0.5 up to rounding; the
    rule fires when the share reaches the key, and not when the key is a hair above it. (The
    east half is ~1e-8 smaller on the ellipsoid than the west half: the GK scale grows eastward.)"""
    b = buildings(("B1", box(105, 120, 115, 130), "餐饮", 1))
    share = run(b).footprints["greenhouse_share"].iloc[0]
    assert share == pytest.approx(0.5, abs=1e-7)
    at = rules_from_mapping({"greenhouse": {"inside_share": float(share)}})
    above = rules_from_mapping({"greenhouse": {"inside_share": float(share) + 1e-9}})
    assert "class2.building_in_greenhouse" in fired(run(b, rules=at))
    assert "class2.building_in_greenhouse" not in fired(run(b, rules=above))


# ------------------------------------------------------------------ Class III


def test_caretaker_within_limit_is_fine():
    """4 x 3 m = 12 m² single-storey caretaker room 2 m from G1: nothing fires."""
    r = run(buildings(("C1", box(112, 100, 116, 103), "看护房", 1)))
    assert fired(r) == []


def test_caretaker_two_storeys():
    r = run(buildings(("C2", box(112, 100, 116, 103), "管护房", 2)))
    assert fired(r) == ["class3.caretaker_storeys"]
    assert (
        r.findings.iloc[0].reason
        == "看护房C2（2层，12.0 m²）距大棚G1 2.0 m，超过单层标准 → 疑似第三类"
    )


def test_caretaker_limit_by_region_and_strictest_when_unset():
    """5 x 4 m = 20 m² planar (19.99 m²): over the south 15 m², within the north 22.5 m²."""
    b = buildings(("C3", box(112, 100, 117, 104), "看护房", 1))
    unset = run(b)
    assert fired(unset) == ["class3.caretaker_oversize"]
    assert "超过最严标准（未设置县域所属地区）15 m²" in unset.findings.iloc[0].reason
    north = run(b, rules=rules_from_mapping({"county": {"region": "north"}}))
    assert fired(north) == []
    south = run(b, rules=rules_from_mapping({"county": {"region": "south"}}))
    assert "超过南方标准15 m²" in south.findings.iloc[0].reason


def test_caretaker_limit_exactly_at_threshold():
    b = buildings(("C3", box(112, 100, 117, 104), "看护房", 1))
    area = float(ellipsoidal_area_m2(b.geometry.values, b.crs)[0])
    at = rules_from_mapping({"greenhouse": {"caretaker_limit_south_m2": area}})
    below = rules_from_mapping({"greenhouse": {"caretaker_limit_south_m2": area - 1e-6}})
    assert fired(run(b, rules=at)) == []  # "above the limit" is strict
    assert fired(run(b, rules=below)) == ["class3.caretaker_oversize"]


def test_caretaker_distance_threshold():
    """C at 10 m from G1 is checked (<= 10 m); at 10.5 m it is not a greenhouse caretaker room
    (and, 10.5 m from a greenhouse on farmland, it is a caretaker use: no Class I either)."""
    at10 = buildings(("C4", box(120, 100, 124, 103), "看护房", 2))
    at105 = buildings(("C5", box(120.5, 100, 124.5, 103), "看护房", 2))
    assert fired(run(at10)) == ["class3.caretaker_storeys"]
    assert fired(run(at105)) == []


# ------------------------------------------------------------------ Class I


def test_class1_residential_near_greenhouse():
    """B3 = 10 x 10 m villa 40 m from G1, on farmland, outside greenhouses -> Class I."""
    r = run(buildings(("B3", box(150, 150, 160, 160), "别墅", 2)))
    assert fired(r) == ["class1.non_agricultural_in_context"]
    assert (
        r.findings.iloc[0].reason
        == "建筑B3（别墅，100.0 m²）位于大棚外、距大棚G1 40.0 m，占用耕地0.13亩 → 疑似第一类"
    )


def test_class1_context_distance_threshold():
    """Exactly 50 m from G1 is in context (<= 50); 50.5 m is not, so it becomes conversion."""
    at50 = run(buildings(("B", box(160, 100, 170, 110), "餐饮", 1)))
    beyond = run(buildings(("B", box(160.5, 100, 170.5, 110), "餐饮", 1)))
    assert fired(at50) == ["class1.non_agricultural_in_context"]
    assert fired(beyond) == ["conversion.building_on_farmland"]


def test_class1_unknown_use_needs_30_m2():
    """Unknown use outside greenhouses: 6 x 5 = 30 m² planar is 29.99 m² ellipsoidal (< 30),
    so it is not Class I but, being in context, not conversion either; 6 x 5.01 is."""
    small = run(buildings(("U1", box(150, 150, 156, 155), None, 1)))
    big = run(buildings(("U2", box(150, 150, 156, 155.01), None, 1)))
    assert fired(small) == []
    assert fired(big) == ["class1.non_agricultural_in_context"]


def test_class1_agricultural_use_is_not_class1():
    r = run(buildings(("A1", box(150, 150, 160, 160), "农机库", 1)))
    assert fired(r) == []


def test_class1_in_park():
    """No greenhouse nearby, but inside an agricultural park -> in context -> Class I."""
    parks = layer([("K1", box(200, 200, 400, 400))], park_id=1)
    b = buildings(("B5", box(300, 300, 310, 310), "会所", 1))
    r = classify(P1, farmland=FARM, greenhouses=GH, buildings=b, parks=parks)
    assert fired(r) == ["class1.non_agricultural_in_context"]
    assert "位于农业园区K1内" in r.findings.iloc[0].reason


def test_class1_on_filed_facility_land_whatever_the_land_class():
    """A steel plant on 设施农用地 (1202) inside a 设施农用地备案 polygon: Class I (filing changed),
    though it is not on 耕地; the filing does not clear it."""
    farm = farmland(("T3", box(0, 0, 1000, 1000), "1202", 1e6, 1e6))
    filing = approvals(("禾设备〔2025〕7号", box(200, 200, 400, 400), "设施农用地备案", "蔬菜种植"))
    b = buildings(("S1", box(300, 300, 340, 320), "厂房", 1))
    r = classify(P1, farmland=farm, greenhouses=GH, buildings=b, approvals=filing)
    assert fired(r) == ["class1.filed_facility_land_changed"]
    f = r.findings.iloc[0]
    assert f.document == "禾设备〔2025〕7号"
    assert "位于设施农用地备案禾设备〔2025〕7号范围内" in f.reason


# ------------------------------------------------------------------ conversion and approvals


FAR_PARCEL = parcels(("P2", box(600, 600, 800, 800)))


def test_conversion_far_from_everything():
    r = run(buildings(("F1", box(700, 700, 720, 720), "住宅", 1)), parcels_=FAR_PARCEL)
    assert fired(r) == ["conversion.building_on_farmland"]
    assert r.parcels.iloc[0].problem_class == "conversion"


def test_conversion_on_pbf_is_high_priority():
    """The building (400 m²) lies half on 永久基本农田: priority high, reason says 0.30 亩."""
    pbf = layer([("Y1", box(600, 600, 710, 800))], pbf_id=1)
    r = classify(
        FAR_PARCEL,
        farmland=FARM,
        pbf=pbf,
        greenhouses=GH,
        buildings=buildings(("F1", box(700, 700, 720, 720), "住宅", 1)),
    )
    assert r.parcels.iloc[0].priority == "high"
    assert "涉及永久基本农田0.30亩" in r.findings.iloc[0].reason
    assert r.parcels.iloc[0].illegal_pbf_m2 == pytest.approx(200 / K, abs=0.01)


@pytest.mark.parametrize("kind,judgement", [("建设用地", "合法"), ("临时用地", "其他(临时用地)")])
def test_approval_covering_clears(kind, judgement):
    ap = approvals(("鲁政土字〔2025〕123号", box(690, 690, 730, 730), kind, None))
    b = buildings(("F1", box(700, 700, 720, 720), "厂房", 1))
    r = classify(FAR_PARCEL, farmland=FARM, greenhouses=GH, buildings=b, approvals=ap)
    assert fired(r) == ["approval.covered"]
    f = r.findings.iloc[0]
    assert (
        f.problem_class == "none"
        and f.suggested_judgement == judgement
        and f.document == "鲁政土字〔2025〕123号"
    )
    p = r.parcels.iloc[0]
    assert (
        p.problem_class == "none"
        and p.suggested_judgement == judgement
        and p.approval_refs == "鲁政土字〔2025〕123号"
    )


def test_approval_cover_exactly_at_threshold():
    """The approval covers x 700..718 of a 700..720 building: 90 % (up to rounding)."""
    b = buildings(("F1", box(700, 700, 720, 720), "厂房", 1))
    ap = approvals(("A1", box(690, 690, 718, 730), "农转用", None))
    share = (
        classify(FAR_PARCEL, farmland=FARM, buildings=b, approvals=ap)
        .footprints["legal_share"]
        .iloc[0]
    )
    assert share == pytest.approx(0.9, abs=1e-7)
    at = rules_from_mapping({"approval": {"cover_share": float(share)}})
    above = rules_from_mapping({"approval": {"cover_share": float(share) + 1e-9}})
    assert fired(classify(FAR_PARCEL, farmland=FARM, buildings=b, approvals=ap, rules=at)) == [
        "approval.covered"
    ]
    assert fired(classify(FAR_PARCEL, farmland=FARM, buildings=b, approvals=ap, rules=above)) == [
        "conversion.building_on_farmland"
    ]


# ------------------------------------------------------------------ geometry edge cases


def test_on_farmland_thresholds_and_slivers():
    """A 20 x 20 building over the 耕地 (T1, x < 1000) / 宅基地 (T2) line:
    x 995..1015 -> 100 m² of 400 on farmland = 25 % -> on farmland;
    x 998.5..1018.5 -> 30 m² = 7.5 % < 10 % -> not on farmland;
    a 2 x 2 m shed with 0.4 m² (10 %) on farmland is a sliver (< 1 m²) even with the share
    key at 0."""
    p = parcels(("PX", box(900, 600, 1100, 800)))
    cases = {
        "on": box(995, 700, 1015, 720),
        "share": box(998.5, 700, 1018.5, 720),
        "sliver": box(999.8, 700, 1001.8, 702),
    }
    no_share = rules_from_mapping({"geometry": {"min_overlap_share": 0.0}})
    for name, geom in cases.items():
        r = run(
            buildings((name, geom, "住宅", 1)),
            parcels_=p,
            rules=no_share if name == "sliver" else DEFAULT_RULES,
        )
        on = bool(r.footprints["on_farmland"].iloc[0])
        assert on is (name == "on"), name


def test_min_overlap_share_exactly_at_threshold():
    b = buildings(("E", box(998, 700, 1018, 720), "住宅", 1))  # 10 % on farmland
    p = parcels(("PX", box(900, 600, 1100, 800)))
    fp = run(b, parcels_=p).footprints.iloc[0]
    share = fp.farmland_gross_m2 / fp.area_m2
    assert share == pytest.approx(0.10, abs=1e-7)
    at = rules_from_mapping({"geometry": {"min_overlap_share": float(share)}})
    above = rules_from_mapping({"geometry": {"min_overlap_share": float(share) + 1e-9}})
    assert bool(run(b, parcels_=p, rules=at).footprints["on_farmland"].iloc[0])
    assert not bool(run(b, parcels_=p, rules=above).footprints["on_farmland"].iloc[0])


def test_edge_touching():
    """A building sharing an edge with G1 (x 110..116) is outside it (share 0) but 0 m away;
    a building touching the parcel only along an edge is not in that parcel."""
    r = run(buildings(("T", box(110, 120, 116, 140), "餐饮", 1)))
    fp = r.footprints.iloc[0]
    assert fp.greenhouse_share == 0 and fp.greenhouse_distance_m == 0
    assert fired(r) == ["class1.non_agricultural_in_context"]
    touching = run(buildings(("T2", box(400, 100, 420, 120), "餐饮", 1)))
    assert len(touching.footprints) == 0 and touching.parcels.iloc[0].building_count == 0


def test_holes_and_multipolygons():
    """Farmland with a hole where the building stands: not on farmland. A multipolygon parcel
    counts buildings in both parts."""
    holed = shapely.Polygon(
        box(0, 0, 1000, 1000).exterior.coords, [box(690, 690, 730, 730).exterior.coords]
    )
    farm = farmland(("T1", holed, "0103", 1e6, 1e6))
    b = buildings(
        ("F1", box(700, 700, 720, 720), "住宅", 1), ("F2", box(100, 700, 120, 720), "住宅", 1)
    )
    multi = parcels(("PM", shapely.MultiPolygon([box(600, 600, 800, 800), box(50, 600, 200, 800)])))
    r = classify(multi, farmland=farm, buildings=b)
    assert r.parcels.iloc[0].building_count == 2
    assert fired(r) == ["conversion.building_on_farmland"]
    assert r.findings.iloc[0].footprint_id == "F2"
    expected_farm = (40000 + 30000 - 1600) / K  # K varies by ~1e-5 over the 700 m between parts
    assert r.parcels.iloc[0].farmland_m2 == pytest.approx(expected_farm, rel=1e-5)


def test_footprint_crossing_two_parcels():
    """F straddles P2 and P3 (x 690..710 across the line x = 700): a finding in each, with
    200 m² planar inside each; the footprint itself is judged whole (400 m²)."""
    ps = parcels(("P2", box(600, 600, 700, 800)), ("P3", box(700, 600, 800, 800)))
    r = classify(ps, farmland=FARM, buildings=buildings(("F", box(690, 700, 710, 720), "住宅", 1)))
    f = r.findings.sort_values("parcel_id")
    assert list(f["parcel_id"]) == ["P2", "P3"]
    assert list(f["in_parcel_m2"].round(2)) == [round(200 / K, 2)] * 2
    assert list(f["footprint_m2"].round(2)) == [round(400 / K, 2)] * 2
    assert list(r.parcels["building_m2"].round(2)) == [round(200 / K, 2)] * 2


def test_parcel_crossing_two_townships():
    """P (x 50..400) lies 250 m in T-A (x < 300) and 100 m in T-B: township T-A."""
    towns = layer(
        [
            ("370790100", box(-1000, -1000, 300, 2000), "禾丰镇"),
            ("370790101", box(300, -1000, 2000, 2000), "东河乡"),
        ],
        township_code=1,
        township_name=1,
    )
    r = classify(P1, farmland=FARM, townships=towns)
    assert r.parcels.iloc[0].township_code == "370790100"
    assert r.parcels.iloc[0].township_name == "禾丰镇"


def test_alerts_at_criminal_thresholds():
    """A 100 x 70 m factory (7000 m² planar = 6997.9 m² = 10.50 亩) on farmland with KCXS 0 ->
    other-耕地 alert (>= 10 亩); on 永农 it is the 永农 alert (>= 5 亩); a 1000 x 1000 farmland
    parcel (~1499.6 亩) is a >= 100 亩 parcel."""
    farm = farmland(("T1", box(0, 0, 3000, 3000), "0101", 9e6, 9e6))
    big = parcels(("PB", box(1000, 1000, 2000, 2000)))
    b = buildings(("BIG", box(1100, 1100, 1200, 1170), "厂房", 1))
    r = classify(big, farmland=farm, buildings=b)
    p = r.parcels.iloc[0]
    assert p.illegal_farmland_mu == pytest.approx(7000 / K / 666.6667, abs=0.01)
    assert "违法占用耕地10.50亩，达到10亩刑事移送标准" in p.alerts
    assert "达到100亩大图斑标准" in p.alerts
    pbf = layer([("Y", box(1000, 1000, 2000, 2000))], pbf_id=1)
    r2 = classify(big, farmland=farm, pbf=pbf, buildings=b)
    assert "违法占用永久基本农田10.50亩，达到5亩刑事移送标准" in r2.parcels.iloc[0].alerts
    assert r2.parcels.iloc[0].priority == "high"


def test_most_severe_class_and_all_listed():
    b = buildings(
        ("B1", box(102, 120, 108, 140), "餐饮", 1),
        ("C2", box(112, 100, 116, 103), "看护房", 2),
        ("B3", box(150, 150, 160, 160), "住宅", 1),
    )
    p = run(b).parcels.iloc[0]
    assert p.problem_class == "I" and p.classes == "I,II,III"
    assert "图斑候选类别：疑似第一类" in p.reasons


# ------------------------------------------------------------------ layers missing, empty, wrong


def test_missing_layers_silence_rules_and_say_so():
    r = classify(P1, farmland=FARM, buildings=buildings(("B1", box(102, 120, 108, 140), "餐饮", 1)))
    skipped = dict(r.skipped)
    assert skipped["class2.building_in_greenhouse"] == "no greenhouses layer"
    assert skipped["class1.filed_facility_land_changed"] == "no approvals layer"
    assert "class1.non_agricultural_in_context" not in skipped


def test_empty_layers():
    r = classify(
        P1,
        farmland=FARM.iloc[:0],
        greenhouses=GH.iloc[:0],
        buildings=buildings(("B1", box(102, 120, 108, 140), "餐饮", 1)).iloc[:0],
        approvals=approvals(("A", box(0, 0, 1, 1), "建设用地", None)).iloc[:0],
        pbf=FARM.iloc[:0],
    )
    assert r.skipped == []
    assert r.parcels.iloc[0].problem_class == "none"
    assert r.parcels.iloc[0].farmland_m2 == 0
    assert len(r.findings) == 0


def test_refuses_geographic_or_mixed_crs():
    with pytest.raises(CRSError, match="needs layers in a metric CRS"):
        classify(P1.to_crs(4490))
    with pytest.raises(CRSError, match="the farmland layer is in .*Reproject"):
        classify(P1, farmland=FARM.to_crs(4528))


def test_refuses_raw_columns():
    raw = FARM.rename(columns={"dlbm": "DLBM"})
    with pytest.raises(SchemaError, match="farmland layer lacks the canonical column\\(s\\) dlbm"):
        classify(P1, farmland=raw)


def test_inputs_not_modified():
    b = buildings(("B1", box(102, 120, 108, 140), "餐饮", 1))
    before = (P1.copy(), b.copy())
    run(b)
    assert P1.equals(before[0]) and b.equals(before[1])


def test_invalid_footprint_repaired_by_loader_then_classified(tmp_path):
    """A bowtie building (two 50 m² triangles) inside G1... is repaired by read_layer and judged."""
    import pyogrio

    from parcelwatch.io.layers import read_layer

    bow = shapely.Polygon(
        [
            (X0 + 101, Y0 + 120),
            (X0 + 109, Y0 + 140),
            (X0 + 109, Y0 + 120),
            (X0 + 101, Y0 + 140),
            (X0 + 101, Y0 + 120),
        ]
    )
    raw = gpd.GeoDataFrame({"JZBH": ["BW"], "YT": ["餐饮"], "CS": [1]}, geometry=[bow], crs=4549)
    pyogrio.write_dataframe(raw, tmp_path / "建筑物.gpkg")
    with pytest.warns(Warning, match="repaired"):
        b = read_layer(tmp_path / "建筑物.gpkg", role="buildings")
    r = run(b)
    assert fired(r) == ["class2.building_in_greenhouse"]
    assert r.findings.iloc[0].footprint_m2 == pytest.approx(80 / K, abs=0.01)
