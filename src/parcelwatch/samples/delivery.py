"""Write the sample county as a county office would receive it.

Every format quirk here is deliberate, because real deliveries have it:

* the 卫片 parcels are a **GBK shapefile without .cpg** and with LDID byte 0 (ArcMap-era style),
  in lon/lat EPSG:4490, with Chinese field names (<= 10 bytes in GBK);
* the buildings are a **UTF-8 shapefile with .cpg** in EPSG:4549 (no zone prefix);
* the base data (DLTB ...) are a GeoPackage in the **zone-prefixed** EPSG:4528;
* greenhouses and parks are GeoJSON in EPSG:4490 with a ``crs`` member;
* the clue table is an Excel workbook whose header row is the *third* row.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyarrow as pa
import pyogrio
import shapely

from ..units import M2_PER_MU
from .county import BATCH_NAMES, SampleCounty
from .divisions import COUNTY_NAME
from .geodesy import GEOGRAPHIC, GK_PREFIXED, ellipsoidal_area, to_lonlat, to_prefixed

__all__ = ["FILES", "write_all", "write_gbk_shapefile", "farmland_mu", "remove_dataset"]

FILES: dict[str, str] = {
    "basedata": "基础数据.gpkg",
    "parcels_batch1": "卫片图斑_2026年第1批.shp",
    "parcels_batch2": "卫片图斑_2026年第2批.shp",
    "greenhouses": "大棚.geojson",
    "buildings": "建筑物.shp",
    "buildings_batch2": "建筑物_2026年第2批.shp",
    "approvals": "审批备案.gpkg",
    "parks": "农业园区.geojson",
    "imagery_before": "imagery/before.tif",
    "imagery_after": "imagery/after.tif",
    "clue_table": "卫片线索明细表.xlsx",
    "rules": "rules.toml",
    "expected_md": "EXPECTED.md",
    "expected_json": "expected.json",
    "readme": "README.md",
}
# The county's rules file: only what differs from parcelwatch's defaults.
COUNTY_RULES = """# 禾丰县 rules: only what differs from `parcelwatch rules defaults`.
[county]
code = "370790"
name = "禾丰县"
region = "north"   # Shandong: caretaker rooms up to 22.5 m² (a provincial decision)

[ledger]
new_construction_farmland_m2 = 100000.0   # 2026 新增建设占用耕地 (150 亩), from the county's land-supply records
"""
# Fixed timestamps so that regenerating the committed sample gives byte-identical files.
EXPORT_DATE = "2026-04-02"
_SHP_OPTIONS = {"RESIZE": "YES", "DBF_DATE_LAST_UPDATE": EXPORT_DATE}
_SHP_SIDECARS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".shp.xml")


def remove_dataset(path: Path) -> None:
    """Delete a file, or a shapefile with all its sidecar files."""
    if path.suffix.lower() == ".shp":
        stem = path.with_suffix("")
        for ext in _SHP_SIDECARS:
            p = Path(str(stem) + ext)
            if p.exists():
                p.unlink()
    elif path.exists():
        path.unlink()


def _lonlat(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    out = gdf.copy()
    out.geometry = gpd.GeoSeries(to_lonlat(gdf.geometry.values), crs=GEOGRAPHIC, index=gdf.index)
    return out.set_crs(GEOGRAPHIC, allow_override=True)


def write_gbk_shapefile(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """Write a GBK shapefile with no .cpg and DBF LDID byte 0, and check the bytes are GBK.

    GDAL writes a ``.cpg`` for ``encoding="GBK"``; it is removed so that readers must guess, as
    with real ArcMap-era deliveries. The LDID (DBF header byte 29) is forced to 0 as well.
    """
    remove_dataset(path)
    pyogrio.write_dataframe(
        gdf, path, driver="ESRI Shapefile", encoding="GBK", layer_options=_SHP_OPTIONS
    )
    cpg = path.with_suffix(".cpg")
    if cpg.exists():
        cpg.unlink()
    dbf = path.with_suffix(".dbf")
    with dbf.open("r+b") as f:
        head = f.read(32)
        if head[29] != 0:
            f.seek(29)
            f.write(b"\x00")
    raw = dbf.read_bytes()
    header_len = int.from_bytes(raw[8:10], "little")
    names = []
    for off in range(32, header_len - 1, 32):
        if raw[off] == 0x0D:
            break
        names.append(raw[off : off + 11].split(b"\x00", 1)[0].decode("gbk"))
    expected = [c for c in gdf.columns if c != gdf.geometry.name]
    if names != expected or raw[29] != 0:
        raise RuntimeError(
            f"{dbf}: DBF field names {names} are not the GBK bytes of {expected}"
        )  # pragma: no cover


def _write_gpkg_layers(path: Path, layers: dict[str, gpd.GeoDataFrame]) -> None:
    remove_dataset(path)
    for name, gdf in layers.items():
        pyogrio.write_dataframe(gdf, path, layer=name, driver="GPKG")


def _write_geojson(gdf: gpd.GeoDataFrame, path: Path) -> None:
    remove_dataset(path)
    pyogrio.write_dataframe(
        gdf, path, driver="GeoJSON", layer_options={"COORDINATE_PRECISION": 8, "RFC7946": "NO"}
    )


def _write_approvals(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """PZYD with a real DATE column (pyogrio maps dates from Arrow date32)."""
    remove_dataset(path)
    ll = _lonlat(gdf)
    table = pa.table(ll.to_arrow(geometry_encoding="WKB"))
    idx = table.schema.get_field_index("批准日期")
    table = table.set_column(idx, "批准日期", pa.array(list(gdf["批准日期"]), type=pa.date32()))
    pyogrio.write_arrow(
        table,
        path,
        layer="PZYD",
        driver="GPKG",
        geometry_name="geometry",
        geometry_type="Polygon",
        crs=GEOGRAPHIC,
    )


def farmland_mu(parcels: gpd.GeoDataFrame, dltb: gpd.GeoDataFrame) -> np.ndarray:
    """耕地 inside each parcel in 亩: Σ ellipsoidal overlap with 0101/0102/0103 x TBDLMJ / TBMJ."""
    farm = dltb[dltb["DLBM"].isin(["0101", "0102", "0103"])]
    pg = shapely.make_valid(parcels.geometry.values)
    fg = farm.geometry.values
    pi, fi = shapely.STRtree(fg).query(pg, predicate="intersects")
    pieces = shapely.intersection(pg[pi], fg[fi])
    ratio = (farm["TBDLMJ"].to_numpy() / farm["TBMJ"].to_numpy())[fi]
    area = ellipsoidal_area(pieces) * ratio
    out = np.zeros(len(parcels))
    np.add.at(out, pi, area)
    return out / M2_PER_MU


def _write_clue_table(county: SampleCounty, path: Path) -> None:
    """The county's 卫片线索明细表 for batch 1 (title row, units row, header on row 3, totals)."""
    import xlsxwriter

    remove_dataset(path)
    p = county.parcels1
    farm = np.round(farmland_mu(p, county.dltb), 2)
    remarks = county.remarks
    ids = p["监测编号"].astype(str).to_numpy()
    towns = p["行政区名称"].astype(str).to_numpy()
    area = p["监测面积"].to_numpy(dtype=float)
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    created = datetime.fromisoformat(EXPORT_DATE).replace(tzinfo=timezone.utc)
    wb.set_properties(
        {
            "title": f"{COUNTY_NAME}{BATCH_NAMES[1]}卫片执法线索明细表",
            "author": "禾丰县自然资源局",
            "created": created,
        }
    )
    ws = wb.add_worksheet("线索明细")
    title = wb.add_format(
        {"bold": True, "font_size": 16, "align": "center", "valign": "vcenter", "font_name": "宋体"}
    )
    unit = wb.add_format({"align": "right", "font_name": "宋体"})
    head = wb.add_format(
        {
            "bold": True,
            "border": 1,
            "align": "center",
            "valign": "vcenter",
            "text_wrap": True,
            "bg_color": "#D9E1F2",
            "font_name": "宋体",
        }
    )
    txt = wb.add_format({"border": 1, "num_format": "@", "font_name": "宋体"})
    num = wb.add_format({"border": 1, "num_format": "0.00", "font_name": "宋体"})
    intf = wb.add_format({"border": 1, "align": "center", "font_name": "宋体"})
    tot = wb.add_format({"border": 1, "bold": True, "align": "center", "font_name": "宋体"})
    totn = wb.add_format({"border": 1, "bold": True, "num_format": "0.00", "font_name": "宋体"})
    headers = [
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
    widths = [6, 14, 20, 12, 12, 13, 13, 12, 12, 16, 24]
    for k, w in enumerate(widths):
        ws.set_column(k, k, w)
    ws.set_row(0, 30)
    ws.merge_range(
        0, 0, 0, len(headers) - 1, f"{COUNTY_NAME}{BATCH_NAMES[1]}卫片执法线索明细表", title
    )
    ws.merge_range(
        1,
        0,
        1,
        len(headers) - 1,
        "填报单位：禾丰县自然资源局　　　　面积单位：亩　　　　导出日期：2026年4月2日",
        unit,
    )
    ws.set_row(2, 32)
    for k, h in enumerate(headers):
        ws.write_string(2, k, h, head)
    r = 3
    for k in range(len(p)):
        pid = ids[k]
        ws.write_number(r, 0, k + 1, intf)
        ws.write_string(r, 1, BATCH_NAMES[1], txt)
        ws.write_string(r, 2, pid, txt)
        ws.write_string(r, 3, COUNTY_NAME, txt)
        ws.write_string(r, 4, towns[k], txt)
        ws.write_number(r, 5, float(area[k]), num)
        ws.write_number(r, 6, float(farm[k]), num)
        ws.write_string(r, 7, "未核查", txt)
        ws.write_blank(r, 8, None, txt)
        ws.write_blank(r, 9, None, num)
        ws.write_string(r, 10, remarks.get(pid, ""), txt)
        r += 1
    ws.write_string(r, 0, "合计", tot)
    ws.merge_range(r, 1, r, 4, f"{len(p)}个图斑", tot)
    ws.write_formula(r, 5, f"=SUM(F4:F{r})", totn, float(np.round(area.sum(), 2)))
    ws.write_formula(r, 6, f"=SUM(G4:G{r})", totn, float(np.round(farm.sum(), 2)))
    for col in (7, 8, 9, 10):
        ws.write_blank(r, col, None, tot)
    ws.freeze_panes(3, 0)
    wb.close()


@contextmanager
def _fixed_gdal_date() -> Iterator[None]:
    """Make GDAL stamp GeoPackages with EXPORT_DATE instead of now (restored afterwards)."""
    key = "OGR_CURRENT_DATE"
    old = pyogrio.get_gdal_config_option(key)
    pyogrio.set_gdal_config_options({key: f"{EXPORT_DATE}T00:00:00.000Z"})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({key: old})


def write_all(county: SampleCounty, out: Path) -> dict[str, Any]:
    """Write every sample file into ``out``; return the manifest."""
    with _fixed_gdal_date():
        return _write_all(county, out)


def _write_all(county: SampleCounty, out: Path) -> dict[str, Any]:
    from .expected import write_expected, write_readme
    from .imagery import write_imagery

    paths = {k: out / v for k, v in FILES.items()}
    imagery_dir = out / "imagery"
    if imagery_dir.exists() and not imagery_dir.is_dir():
        imagery_dir.unlink()
    imagery_dir.mkdir(exist_ok=True)

    def prefixed(g: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        o = g.copy()
        o.geometry = gpd.GeoSeries(to_prefixed(g.geometry.values), index=g.index)
        return o.set_crs(GK_PREFIXED, allow_override=True)

    _write_gpkg_layers(
        paths["basedata"],
        {
            "DLTB": prefixed(county.dltb),
            "YJJBNTTB": prefixed(county.pbf),
            "XZQ": prefixed(county.townships),
            "CJDCQ": prefixed(county.villages),
        },
    )
    write_gbk_shapefile(_lonlat(county.parcels1), paths["parcels_batch1"])
    write_gbk_shapefile(_lonlat(county.parcels2), paths["parcels_batch2"])
    _write_geojson(_lonlat(county.greenhouses), paths["greenhouses"])
    _write_geojson(_lonlat(county.parks), paths["parks"])
    for key, gdf in (("buildings", county.buildings1), ("buildings_batch2", county.buildings2)):
        remove_dataset(paths[key])
        pyogrio.write_dataframe(
            gdf,
            paths[key],
            driver="ESRI Shapefile",
            encoding="UTF-8",
            layer_options=_SHP_OPTIONS,
        )
    _write_approvals(county.approvals, paths["approvals"])
    _write_clue_table(county, paths["clue_table"])
    paths["rules"].write_text(COUNTY_RULES, encoding="utf-8")
    write_imagery(county, paths["imagery_before"], paths["imagery_after"])
    expected = write_expected(county, paths["expected_md"], paths["expected_json"])
    counts = {
        "DLTB": len(county.dltb),
        "YJJBNTTB": len(county.pbf),
        "XZQ": len(county.townships),
        "CJDCQ": len(county.villages),
        "parcels_batch1": len(county.parcels1),
        "parcels_batch2": len(county.parcels2),
        "greenhouses": len(county.greenhouses),
        "buildings": len(county.buildings1),
        "buildings_batch2": len(county.buildings2),
        "approvals": len(county.approvals),
        "parks": len(county.parks),
        "planted_findings": len(expected["cases"]),
    }
    write_readme(county, paths["readme"], counts)
    manifest: dict[str, Any] = dict(paths)
    manifest["counts"] = counts
    manifest["scale"] = county.spec.name
    manifest["seed"] = county.seed
    return manifest
