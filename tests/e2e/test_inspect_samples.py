"""`parcelwatch inspect` on every sample layer: encoding, CRS and mapped fields as delivered."""

from __future__ import annotations

import pytest

from parcelwatch.cli import main
from tests.conftest import SAMPLES

CASES = [
    # file, layer, encoding line, CRS, (canonical <- source) pairs
    (
        "卫片图斑_2026年第1批.shp",
        None,
        "gb18030 (from gb18030 fallback: no .cpg, no LDID, text is not UTF-8)",
        "EPSG:4490",
        [
            ("parcel_id", "监测编号"),
            ("township_name", "行政区名称"),
            ("reported_area", "监测面积"),
            ("after_date", "后时相"),
            ("batch", "批次"),
        ],
    ),
    (
        "卫片图斑_2026年第2批.shp",
        None,
        "gb18030 (from gb18030 fallback",
        "EPSG:4490",
        [("parcel_id", "监测编号")],
    ),
    (
        "基础数据.gpkg",
        "DLTB",
        "utf-8 (from format",
        "EPSG:4528",
        [
            ("dlbm", "DLBM"),
            ("tbmj", "TBMJ"),
            ("kcxs", "KCXS"),
            ("tbdlmj", "TBDLMJ"),
            ("zldwdm", "ZLDWDM"),
            ("patch_id", "BSM"),
        ],
    ),
    ("基础数据.gpkg", "YJJBNTTB", "utf-8 (from format", "EPSG:4528", [("pbf_id", "YJJBNTTBBH")]),
    (
        "基础数据.gpkg",
        "XZQ",
        "utf-8 (from format",
        "EPSG:4528",
        [("township_code", "XZQDM"), ("township_name", "XZQMC")],
    ),
    (
        "基础数据.gpkg",
        "CJDCQ",
        "utf-8 (from format",
        "EPSG:4528",
        [("village_code", "ZLDWDM"), ("village_name", "ZLDWMC")],
    ),
    (
        "大棚.geojson",
        None,
        "utf-8 (from format",
        "EPSG:4490",
        [("greenhouse_id", "大棚编号"), ("greenhouse_type", "类型"), ("park_id", "园区编号")],
    ),
    (
        "建筑物.shp",
        None,
        "utf-8 (from cpg",
        "EPSG:4549",
        [("building_id", "JZBH"), ("use", "YT"), ("storeys", "CS"), ("height", "GD")],
    ),
    (
        "审批备案.gpkg",
        "PZYD",
        "utf-8 (from format",
        "EPSG:4490",
        [
            ("approval_id", "批准文号"),
            ("approval_type", "批准类型"),
            ("project_name", "项目名称"),
            ("approval_date", "批准日期"),
            ("filed_use", "备案用途"),
        ],
    ),
    (
        "农业园区.geojson",
        None,
        "utf-8 (from format",
        "EPSG:4490",
        [("park_id", "园区编号"), ("park_name", "园区名称")],
    ),
]


@pytest.mark.parametrize(
    "name,layer,encoding,crs,fields", CASES, ids=[f"{c[0]}:{c[1]}" for c in CASES]
)
def test_inspect_sample_layer(name, layer, encoding, crs, fields, capsys):
    args = ["inspect", str(SAMPLES / name)] + (["--layer", layer] if layer else [])
    code = main(args)
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"encoding:  {encoding}" in out
    assert f"CRS:       {crs}" in out
    for canon, src in fields:
        assert f"{canon:<15} <- {src}" in out


def test_gbk_values_intact():
    from parcelwatch.io.layers import read_layer

    with pytest.warns(Warning, match="repaired"):
        parcels = read_layer(SAMPLES / "卫片图斑_2026年第1批.shp", role="parcels")
    assert set(parcels["township_name"]) == {"禾丰镇", "东河乡", "柳湾镇"}
    assert set(parcels["batch"]) == {"2026年第1批"}
    assert "大棚房" in set(parcels["change_type"])
