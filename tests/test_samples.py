"""Tests of the synthetic sample county (parcelwatch.samples).

The planted expectations in expected.json are re-derived here from the *written files* with an
independent implementation of the default rules (ellipsoidal areas with pyproj Geod, overlays
with geopandas), so a mistake in the generator's own bookkeeping cannot hide itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
import shapely
from pyproj import Geod

from parcelwatch.errors import OutputError
from parcelwatch.samples import SCALES, make_samples
from tests.conftest import SamplesMade, samples_made

GEOD = Geod(a=6378137.0, f=1 / 298.257222101)
M2_PER_MU = 10000.0 / 15.0
P1 = "卫片图斑_2026年第1批.shp"
P2 = "卫片图斑_2026年第2批.shp"
B1 = "建筑物.shp"
B2 = "建筑物_2026年第2批.shp"
FILES = [
    "基础数据.gpkg", P1, P2, "大棚.geojson", B1, B2, "审批备案.gpkg", "农业园区.geojson",
    "imagery/before.tif", "imagery/after.tif", "卫片线索明细表.xlsx", "EXPECTED.md", "expected.json", "README.md",
]  # fmt: skip
LAYERS = [
    ("基础数据.gpkg", "DLTB"), ("基础数据.gpkg", "YJJBNTTB"), ("基础数据.gpkg", "XZQ"), ("基础数据.gpkg", "CJDCQ"),
    (P1, None), (P2, None), ("大棚.geojson", None), (B1, None), (B2, None), ("审批备案.gpkg", "PZYD"), ("农业园区.geojson", None),
]  # fmt: skip
PARCEL_FIELDS = [
    "监测编号",
    "行政区代码",
    "行政区名称",
    "监测面积",
    "前时相",
    "后时相",
    "批次",
    "图斑类型",
]


def read(d: Path, name: str, layer: str | None = None) -> gpd.GeoDataFrame:
    enc = "GB18030" if name.startswith("卫片图斑") else None
    return pyogrio.read_dataframe(d / name, layer=layer, encoding=enc)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """`make_samples(scale="small", seed=0)`, once per session (a background job started at the
    session's first test: see tests/conftest.py). The tests only read the files."""
    return samples_made(tmp_path_factory)


@pytest.fixture(scope="module")
def small_again(samples_made_by_cli: SamplesMade) -> Path:
    """A second, independent generation with the same seed (for the byte-identical check): the
    one `parcelwatch samples make DIR` wrote (small, seed 0 by default; its printed tables are
    checked in tests/test_cli_progress.py)."""
    assert samples_made_by_cli.exit_code == 0, samples_made_by_cli.output
    return samples_made_by_cli.out


@pytest.fixture(scope="module")
def expected(small: tuple[Path, dict[str, Any]]) -> dict[str, Any]:
    return json.loads((small[0] / "expected.json").read_text(encoding="utf-8"))


# ---- files ------------------------------------------------------------------------------------


def test_every_file_exists_and_small_is_under_10_mb(small: tuple[Path, dict[str, Any]]) -> None:
    d, manifest = small
    for f in FILES:
        assert (d / f).is_file(), f
    for key, value in manifest.items():
        if isinstance(value, Path):
            assert value.is_file() and value.parent.is_relative_to(d), key
    total = sum(p.stat().st_size for p in d.rglob("*") if p.is_file())
    assert total <= 10 * 1024 * 1024, total
    assert manifest["counts"]["parcels_batch1"] == len(read(d, P1))


def test_same_seed_same_features_other_seed_differs(
    small: tuple[Path, dict[str, Any]], small_again: Path, tmp_path: Path
) -> None:
    d1 = small[0]
    for name, layer in LAYERS:
        a, b = read(d1, name, layer), read(small_again, name, layer)
        pd.testing.assert_frame_equal(a.drop(columns="geometry"), b.drop(columns="geometry"))
        assert (a.geometry.to_wkb() == b.geometry.to_wkb()).all(), name
    for img in ("before", "after"):
        with (
            rasterio.open(d1 / f"imagery/{img}.tif") as x,
            rasterio.open(small_again / f"imagery/{img}.tif") as y,
        ):
            assert np.array_equal(x.read(), y.read())
    # byte-identical files (fixed DBF / GeoPackage / xlsx timestamps): regenerating the committed
    # sample must not produce a diff
    for f in FILES:
        assert (d1 / f).read_bytes() == (small_again / f).read_bytes(), f
    make_samples(tmp_path, scale="small", seed=1)
    a, b = read(d1, "基础数据.gpkg", "DLTB"), read(tmp_path, "基础数据.gpkg", "DLTB")
    assert len(a) != len(b) or not (a.geometry.to_wkb() == b.geometry.to_wkb()).all()
    # the planted cases do not depend on the seed
    e0 = json.loads((d1 / "expected.json").read_text(encoding="utf-8"))
    e1 = json.loads((tmp_path / "expected.json").read_text(encoding="utf-8"))
    assert [
        (r["case"], r["parcel_id"], r["footprint_id"], r["expected_class"]) for r in e0["cases"]
    ] == [(r["case"], r["parcel_id"], r["footprint_id"], r["expected_class"]) for r in e1["cases"]]


def test_parcels_are_gbk_without_cpg_and_ldid_zero(small: tuple[Path, dict[str, Any]]) -> None:
    d = small[0]
    for name in (P1, P2):
        shp = d / name
        assert not shp.with_suffix(".cpg").exists()
        raw = shp.with_suffix(".dbf").read_bytes()
        assert raw[29] == 0
        names = []
        for off in range(32, int.from_bytes(raw[8:10], "little") - 1, 32):
            names.append(raw[off : off + 11].split(b"\x00", 1)[0])
        assert [n.decode("gbk") for n in names] == PARCEL_FIELDS
        assert all(len(n) <= 10 for n in names)
        assert "2026年第".encode("gbk") in raw and "2026年第".encode() not in raw
        gdf = pyogrio.read_dataframe(shp, encoding="GB18030")
        assert list(gdf.columns[:-1]) == PARCEL_FIELDS
        assert gdf.crs.to_epsg() == 4490
        assert set(gdf["行政区名称"]) <= {"禾丰镇", "东河乡", "柳湾镇"}
        assert gdf["批次"].str.match(r"^2026年第[12]批$").all()
        assert (
            gdf["监测编号"].is_unique and gdf["监测编号"].str.match(r"^3707902026Q[12]\d{3}$").all()
        )
        assert gdf["行政区代码"].str.match(r"^370790\d{3}$").all()
        assert set(gdf["图斑类型"]) <= {"新增建设用地", "大棚房", "推填土", "其他"}
        # without an encoding GDAL cannot know: the names come out garbled
        plain = pyogrio.read_dataframe(shp)
        assert "监测编号" not in plain.columns


def test_parcel_area_is_in_mu(small: tuple[Path, dict[str, Any]]) -> None:
    gdf = read(small[0], P1)
    geoms = shapely.make_valid(gdf.geometry.values)
    area = np.array([abs(GEOD.geometry_area_perimeter(g)[0]) for g in geoms]) / M2_PER_MU
    assert np.allclose(gdf["监测面积"], area, atol=0.006)


def test_exactly_one_invalid_parcel_repairs(
    small: tuple[Path, dict[str, Any]], expected: dict[str, Any]
) -> None:
    p1, p2 = read(small[0], P1), read(small[0], P2)
    bad = p1.loc[~p1.is_valid, "监测编号"].tolist()
    assert bad == [expected["invalid_parcel"]["parcel_id"]]
    fixed = shapely.make_valid(p1.geometry[~p1.is_valid].iloc[0])
    assert fixed.is_valid and fixed.geom_type in ("Polygon", "MultiPolygon") and fixed.area > 0
    assert p2.is_valid.all()


def test_buildings_are_utf8_with_cpg_in_plain_gk(small: tuple[Path, dict[str, Any]]) -> None:
    d = small[0]
    for name in (B1, B2):
        assert (d / name).with_suffix(".cpg").read_text().strip().upper() == "UTF-8"
        b = read(d, name)
        assert b.crs.to_epsg() == 4549
        assert list(b.columns[:-1]) == ["JZBH", "YT", "CS", "GD"]
        assert b["JZBH"].is_unique
        assert b.total_bounds[0] < 1_000_000  # no zone prefix
        missing = b["YT"].isna().mean()
        assert 0.05 < missing < 0.15
        assert b["CS"].isna().any() and b["GD"].isna().any()
        assert "住宅" in set(b["YT"].dropna())


def test_dltb_is_a_coverage_with_consistent_areas(small: tuple[Path, dict[str, Any]]) -> None:
    d = small[0]
    dltb = read(d, "基础数据.gpkg", "DLTB")
    assert dltb.crs.to_epsg() == 4528
    assert dltb.total_bounds[0] > 40_000_000
    assert dltb["BSM"].is_unique
    union = shapely.union_all(dltb.geometry.values)
    assert abs(dltb.area.sum() - union.area) / union.area < 1e-6
    assert dltb.is_valid.all() and shapely.coverage_is_valid(
        dltb.geometry.values
    )  # shared vertices
    assert np.allclose(dltb["TBDLMJ"], dltb["TBMJ"] - dltb["KCMJ"], atol=1e-6)
    assert np.allclose(dltb["KCMJ"], np.round(dltb["TBMJ"] * dltb["KCXS"], 2), atol=1e-6)
    sample = dltb.sample(200, random_state=0)
    ll = sample.to_crs(4490)
    ell = np.array([abs(GEOD.geometry_area_perimeter(g)[0]) for g in ll.geometry])
    assert np.abs(ell - sample["TBMJ"]).max() <= 0.0051
    farm = dltb["DLBM"].isin(["0101", "0102", "0103"])
    assert dltb.loc[farm, "TBMJ"].sum() > 0.5 * dltb["TBMJ"].sum()
    assert (dltb.loc[~dltb["DLBM"].eq("0103"), "KCXS"] == 0).all()
    assert dltb["ZLDWDM"].str.match(r"^370790\d{6}0000000$").all()
    villages = read(d, "基础数据.gpkg", "CJDCQ")
    towns = read(d, "基础数据.gpkg", "XZQ")
    assert set(dltb["ZLDWDM"].str[:12]) <= set(villages["ZLDWDM"])
    assert villages["ZLDWDM"].str.match(r"^370790\d{6}$").all()
    assert set(villages["ZLDWDM"].str[:9]) == set(towns["XZQDM"])
    assert towns["XZQDM"].tolist()[:3] == ["370790100", "370790101", "370790102"]
    assert towns["XZQMC"].tolist()[:3] == ["禾丰镇", "东河乡", "柳湾镇"]
    for layer in (villages, towns):  # coverages of the same area
        assert abs(layer.area.sum() - union.area) / union.area < 1e-6
    # every village name matches the DLTB name for its code
    names = dict(zip(villages["ZLDWDM"], villages["ZLDWMC"], strict=True))
    assert (dltb["ZLDWMC"] == dltb["ZLDWDM"].str[:12].map(names)).all()


def test_pbf_is_a_subset_of_farmland_patches(small: tuple[Path, dict[str, Any]]) -> None:
    d = small[0]
    dltb = read(d, "基础数据.gpkg", "DLTB")
    pbf = read(d, "基础数据.gpkg", "YJJBNTTB")
    farm = dltb[dltb["DLBM"].isin(["0101", "0102", "0103"])]
    wkb = set(farm.geometry.to_wkb())
    assert pbf.geometry.to_wkb().isin(wkb).all()
    assert 0.4 < pbf["TBMJ"].sum() / farm["TBMJ"].sum() < 0.75
    assert pbf["YJJBNTTBBH"].is_unique


def test_greenhouses_parks_and_approvals(small: tuple[Path, dict[str, Any]]) -> None:
    d = small[0]
    raw = json.loads((d / "大棚.geojson").read_text(encoding="utf-8"))
    assert "4490" in raw["crs"]["properties"]["name"]
    gh = read(d, "大棚.geojson")
    assert gh.crs.to_epsg() == 4490 and gh["大棚编号"].is_unique
    assert set(gh["类型"]) == {"日光温室", "塑料大棚", "连栋温室"}
    assert gh["园区编号"].isna().any() and (gh["园区编号"] == "YQ001").any()
    parks = read(d, "农业园区.geojson")
    assert parks.crs.to_epsg() == 4490 and "YQ001" in set(parks["园区编号"])
    assert set(gh["园区编号"].dropna()) <= set(parks["园区编号"])
    pz = read(d, "审批备案.gpkg", "PZYD")
    assert pz.crs.to_epsg() == 4490
    assert pd.api.types.is_datetime64_any_dtype(pz["批准日期"])
    assert set(pz["批准类型"]) <= {"建设用地", "农转用", "设施农用地备案", "临时用地"}
    assert {
        "鲁政土字〔2025〕123号",
        "禾临用〔2026〕3号",
        "禾自然资设备〔2025〕7号",
        "禾自然资设备〔2025〕12号",
    } <= set(pz["批准文号"])
    assert pz["批准文号"].is_unique
    filed = pz["批准类型"] == "设施农用地备案"
    assert pz.loc[filed, "备案用途"].notna().all() and pz.loc[~filed, "备案用途"].isna().all()


def test_clue_table_has_title_units_and_header_on_row_3(small: tuple[Path, dict[str, Any]]) -> None:
    from openpyxl import load_workbook

    d = small[0]
    wb = load_workbook(d / "卫片线索明细表.xlsx", read_only=False)
    ws = wb.active
    assert ws.cell(1, 1).value == "禾丰县2026年第1批卫片执法线索明细表"
    assert any(str(r) == "A1:K1" for r in ws.merged_cells.ranges)
    header = [ws.cell(3, c).value for c in range(1, 12)]
    assert header == [
        "序号",
        "监测批次",
        "线索编号",
        "县(市、区)",
        "乡镇(街道)",
        "监测面积(亩)",
        "耕地面积(亩)",
        "核查结果",
        "整改状态",
        "剩余未整改面积(亩)",
        "备注",
    ]
    p1 = read(d, P1)
    ids = [ws.cell(r, 3).value for r in range(4, 4 + len(p1))]
    assert ids == p1["监测编号"].tolist()
    assert all(ws.cell(r, 3).data_type == "s" for r in range(4, 4 + len(p1)))
    assert ws.cell(4 + len(p1), 1).value == "合计"
    areas = [ws.cell(r, 6).value for r in range(4, 4 + len(p1))]
    assert np.allclose(areas, p1["监测面积"])


def test_imagery_pair(small: tuple[Path, dict[str, Any]], expected: dict[str, Any]) -> None:
    d = small[0]
    with rasterio.open(d / "imagery/before.tif") as b, rasterio.open(d / "imagery/after.tif") as a:
        for src in (a, b):
            assert src.count == 4 and src.dtypes == ("uint16",) * 4 and src.nodata == 0
            assert src.crs.to_epsg() == 4549 and src.res == (2.0, 2.0)
            assert (src.width, src.height) == (1000, 750)
            assert src.descriptions == ("Blue", "Green", "Red", "NIR")
            assert src.profile["tiled"] and src.compression.name.lower() == "deflate"
            assert src.tags(ns="IMAGE_STRUCTURE").get("PREDICTOR") == "2"
        before, after, transform = b.read().astype(float), a.read().astype(float), b.transform
    parcels = read(d, P1).to_crs(4549).set_index("监测编号")

    def ndvi(img: np.ndarray, geom: shapely.Geometry) -> float:
        from rasterio.features import geometry_mask

        m = geometry_mask([geom], out_shape=img.shape[1:], transform=transform, invert=True)
        red, nir = img[2][m], img[3][m]
        return float(np.mean((nir - red) / (nir + red)))

    sites = {s["case"]: s for s in expected["imagery"]["sites"] if s["batch"] == 1}
    pseudo = shapely.make_valid(parcels.geometry[sites["C16"]["parcel_id"]])
    assert abs(ndvi(before, pseudo) - ndvi(after, pseudo)) < 0.02 and ndvi(after, pseudo) > 0.7
    bld = read(d, B1).set_index("JZBH")
    c08 = next(r for r in expected["cases"] if r["case"] == "C08")
    g = bld.geometry[c08["footprint_id"]]
    assert ndvi(before, g) < 0.2 and ndvi(after, g) > 0.7  # restored to crop
    c01 = [r for r in expected["cases"] if r["case"] == "C01"]
    g = bld.geometry[c01[0]["footprint_id"]]
    assert ndvi(after, g) < 0.2  # still bare: rectification doubtful
    r02 = next(r for r in expected["cases"] if r["case"] == "C02" and r["batch"] == 2)
    g = read(d, B2).set_index("JZBH").geometry[r02["footprint_id"]]
    assert (
        np.mean(before[3][_mask(g, before, transform)])
        > 4000
        > np.mean(after[3][_mask(g, after, transform)])
    )


def _mask(g: shapely.Geometry, img: np.ndarray, transform: Any) -> np.ndarray:
    from rasterio.features import geometry_mask

    return geometry_mask([g], out_shape=img.shape[1:], transform=transform, invert=True)


# ---- expectations -------------------------------------------------------------------------------


def test_expected_md_table_and_json_agree(
    small: tuple[Path, dict[str, Any]], expected: dict[str, Any]
) -> None:
    md = (small[0] / "EXPECTED.md").read_text(encoding="utf-8")
    lines = md.splitlines()
    head = lines.index("| case | batch | parcel_id | footprint_id | expected_class | rule | note |")
    rows = []
    for line in lines[head + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split(" | ")])
    assert len(rows) == len(expected["cases"])
    for md_row, js in zip(rows, expected["cases"], strict=True):
        assert md_row[0] == js["case"] and md_row[2] == js["parcel_id"]
        assert md_row[3] == (js["footprint_id"] or "—") and md_row[4] == js["expected_class"]
    assert {r["expected_class"] for r in expected["cases"]} == {
        "I",
        "II",
        "III",
        "conversion",
        "none",
    }


def test_expected_ids_exist(small: tuple[Path, dict[str, Any]], expected: dict[str, Any]) -> None:
    d = small[0]
    pid = {1: set(read(d, P1)["监测编号"]), 2: set(read(d, P2)["监测编号"])}
    bid = {1: set(read(d, B1)["JZBH"]), 2: set(read(d, B2)["JZBH"])}
    for r in expected["cases"]:
        assert r["parcel_id"] in pid[r["batch"]], r
        if r["footprint_id"]:
            assert r["footprint_id"] in bid[r["batch"]], r
    for p in expected["parcels"]:
        assert p["parcel_id"] in pid[p["batch"]]
        if p.get("same_as"):
            assert p["same_as"] in pid[1]
    # every batch-1 parcel of the small county is documented
    assert {p["parcel_id"] for p in expected["parcels"] if p["batch"] == 1} == pid[1]
    for s in expected["imagery"]["sites"]:
        assert s["parcel_id"] in pid[s["batch"]]


def test_batch2_recheck(small: tuple[Path, dict[str, Any]], expected: dict[str, Any]) -> None:
    d = small[0]
    p1 = read(d, P1).to_crs(4549).set_index("监测编号")
    p2 = read(d, P2).to_crs(4549).set_index("监测编号")
    g1 = shapely.make_valid(p1.geometry.values)
    for p in (p for p in expected["parcels"] if p["batch"] == 2):
        g = p2.geometry[p["parcel_id"]]
        if p["recheck"] == "new":
            assert not shapely.intersects(g1, g).any(), p["parcel_id"]
            continue
        a = shapely.make_valid(p1.geometry[p["same_as"]])
        iou = a.intersection(g).area / a.union(g).area
        assert abs(iou - p["iou"]) < 1e-3
        assert iou > 0.999 or 0.6 <= iou <= 0.9, (p["parcel_id"], iou)
    kinds = [p["recheck"] for p in expected["parcels"] if p["batch"] == 2]
    assert kinds.count("rebound") == 1 and kinds.count("new") >= 2
    assert sum(1 for p in expected["parcels"] if p["batch"] == 2 and p.get("iou") == 1.0) >= 1
    # the rebound building is new in batch 2, on the site of the closed Class II case
    r02 = next(r for r in expected["cases"] if r["case"] == "C02" and r["batch"] == 2)
    c02 = next(r for r in expected["cases"] if r["case"] == "C02" and r["batch"] == 1)
    b1, b2 = read(d, B1).set_index("JZBH"), read(d, B2).set_index("JZBH")
    assert r02["footprint_id"] not in b1.index and c02["footprint_id"] not in b2.index
    assert b2.geometry[r02["footprint_id"]].intersects(b1.geometry[c02["footprint_id"]])


# ---- independent re-derivation of the classes ---------------------------------------------------


def _ell_area(g: shapely.Geometry) -> float:
    if g.is_empty:
        return 0.0
    ll = gpd.GeoSeries([g], crs=4549).to_crs(4490).iloc[0]
    return abs(GEOD.geometry_area_perimeter(ll)[0])


def _classify(
    d: Path, batch: int, limit: float
) -> tuple[dict[tuple[str, str], str], dict[str, dict[str, Any]]]:
    """Classes of every (parcel, footprint) pair and per-parcel summaries, from the files only."""
    dltb = read(d, "基础数据.gpkg", "DLTB").to_crs(4549)
    pbf = read(d, "基础数据.gpkg", "YJJBNTTB").to_crs(4549)
    gh = read(d, "大棚.geojson").to_crs(4549)
    parks = read(d, "农业园区.geojson").to_crs(4549)
    pz = read(d, "审批备案.gpkg", "PZYD").to_crs(4549)
    parcels = read(d, P1 if batch == 1 else P2).to_crs(4549)
    parcels["geometry"] = shapely.make_valid(parcels.geometry.values)
    blds = read(d, B1 if batch == 1 else B2)
    farm_u = shapely.union_all(
        np.r_[
            dltb[dltb["DLBM"].isin(["0101", "0102", "0103"])].geometry.values, pbf.geometry.values
        ]
    )
    pbf_u = shapely.union_all(pbf.geometry.values)
    gh_u = shapely.union_all(gh.geometry.values)
    park_u = shapely.union_all(parks.geometry.values)
    filing_u = shapely.union_all(pz[pz["批准类型"] == "设施农用地备案"].geometry.values)
    permits = pz[pz["批准类型"].isin(["建设用地", "农转用", "临时用地"])]
    caretaker = {"看护房", "管护房", "管理房"}
    agri = caretaker | {"农机库", "农资仓库", "畜禽舍"}
    pairs = gpd.sjoin(blds, parcels[["监测编号", "geometry"]], predicate="intersects")
    out: dict[tuple[str, str], str] = {}
    summary: dict[str, dict[str, Any]] = {
        p: {"class": "none", "pbf_m2": 0.0, "farm_m2": 0.0} for p in parcels["监测编号"]
    }
    rank = {"I": 4, "II": 3, "III": 2, "conversion": 1, "none": 0}
    pgeom = parcels.set_index("监测编号").geometry
    for _, b in pairs.iterrows():
        g = b.geometry
        inside = g.intersection(pgeom[b["监测编号"]])
        if inside.area < 0.01:
            continue
        area = _ell_area(g)
        farm = _ell_area(g.intersection(farm_u))
        on_farm = farm >= 1.0 and farm >= 0.1 * area
        in_gh = g.intersection(gh_u).area / g.area >= 0.5
        dist = g.distance(gh_u)
        context = (
            dist <= 50
            or g.intersection(park_u).area / g.area > 0.5
            or g.intersection(filing_u).area / g.area > 0.5
        )
        on_filing = g.intersection(filing_u).area / g.area > 0.5
        use = b["YT"] if isinstance(b["YT"], str) and b["YT"] else None
        storeys = 1 if pd.isna(b["CS"]) else int(b["CS"])
        cover = max((g.intersection(a).area / g.area for a in permits.geometry), default=0.0)
        if cover >= 0.9:
            cls = "none"
        elif use in caretaker and (in_gh or dist <= 10):
            cls = "III" if storeys >= 2 or area > limit else "none"
        elif use is not None and use not in agri and on_filing:
            cls = "I"
        elif in_gh and on_farm:
            cls = "II"
        elif (
            on_farm
            and context
            and ((use is not None and use not in agri) or (use is None and area >= 30))
        ):
            cls = "I"
        elif on_farm and not context:
            cls = "conversion"
        else:
            cls = "none"
        out[(b["监测编号"], b["JZBH"])] = cls
        s = summary[b["监测编号"]]
        if rank[cls] > rank[s["class"]]:
            s["class"] = cls
        if cls != "none":
            s["pbf_m2"] += _ell_area(inside.intersection(pbf_u))
            s["farm_m2"] += _ell_area(inside.intersection(farm_u))
    return out, summary


@pytest.mark.parametrize("batch", [1, 2])
def test_planted_classes_rederived_from_files(
    small: tuple[Path, dict[str, Any]], expected: dict[str, Any], batch: int
) -> None:
    d = small[0]
    north, summary = _classify(d, batch, 22.5)
    unset, _ = _classify(d, batch, 15.0)
    rows = [r for r in expected["cases"] if r["batch"] == batch]
    for r in rows:
        if r["footprint_id"] is None:
            assert not any(k[0] == r["parcel_id"] for k in north), r["case"]
            continue
        key = (r["parcel_id"], r["footprint_id"])
        assert north[key] == r["expected_class"], (r["case"], key)
        assert unset[key] == r["expected_class_region_unset"], (r["case"], key)
    # parcel level: class, priority (永农 occupied), alert (other 耕地 >= 10 亩 ...)
    for p in (p for p in expected["parcels"] if p["batch"] == batch):
        s = summary[p["parcel_id"]]
        assert s["class"] == p["expected_class"], p["parcel_id"]
        assert (s["pbf_m2"] >= 1.0) == (p["priority"] == "high"), p["parcel_id"]
        other_mu = (s["farm_m2"] - s["pbf_m2"]) / M2_PER_MU
        alert = s["pbf_m2"] / M2_PER_MU >= 5 or other_mu >= 10 or p["farmland_mu"] >= 100
        assert alert == p["alert"], p["parcel_id"]


def test_planted_case_coverage(expected: dict[str, Any]) -> None:
    rules = {r["rule"] for r in expected["cases"]}
    assert {"class1.non_agri_use_in_park", "class1.non_agri_use_on_filing", "class1.unknown_use_near_greenhouse",
            "class2.building_in_greenhouse", "class3.caretaker_storeys", "class3.caretaker_oversize",
            "class3.caretaker_within_limit", "conversion.farmland_outside_context", "approval.construction",
            "approval.temporary", "facility.caretaker_on_filing", "parcel.no_buildings"} <= rules  # fmt: skip
    parcels = {p["parcel_id"]: p for p in expected["parcels"]}
    assert any(p["priority"] == "high" for p in parcels.values())
    assert any(p["alert"] for p in parcels.values())
    assert any(len(p["township_shares"]) > 1 for p in parcels.values())
    shared = [r["footprint_id"] for r in expected["cases"] if r["case"] == "C17"]
    assert len(shared) == 2 and shared[0] == shared[1]
    c07 = next(r for r in expected["cases"] if r["case"] == "C07")
    assert c07["expected_class"] == "none" and c07["expected_class_region_unset"] == "III"


# ---- scales and errors ----------------------------------------------------------------------------


def test_medium_counts_within_20_percent() -> None:
    """The medium county as built (what make_samples then writes: the writing is the small
    county's, tested above) has its scale's feature counts, each within 20 %."""
    from parcelwatch.samples.county import build_county

    spec = SCALES["medium"]
    county = build_county(spec, 0)
    for got, target in ((len(county.dltb), spec.dltb), (len(county.greenhouses), spec.greenhouses),
                        (len(county.buildings1), spec.buildings), (len(county.parcels1), spec.parcels),
                        (len(county.parcels2), spec.parcels)):  # fmt: skip
        assert 0.8 * target <= got <= 1.2 * target, (got, target)


def test_unwritable_output_raises_output_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="Cannot write the sample county"):
        make_samples(blocker / "sub", scale="small")


def test_unknown_scale_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="huge"):
        make_samples(tmp_path, scale="huge")
