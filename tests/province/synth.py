"""A tiny synthetic province built in code: 2 x 2 counties whose borders cut farmland.

Counties are 0.02 deg squares near 117.0E 36.0N (all in Gauss-Kruger zone 39). Farmland fields
(0.002 deg cells with 0.0003 deg roads between them) are laid over the whole province and then
cut at the county borders, each piece going into its own county's 三调 file, as real deliveries
are. Every county also has parcels centred on a border: the parcel belongs to one county (its
XZQDM) but half of it lies on the neighbour's farmland. A building sits in the middle of each
parcel (on the border for the straddling ones, with its centre on the neighbour's side, so it is
in the neighbour's building file), some with a greenhouse nearby.

Deliveries are written in different formats: GBK shapefiles without .cpg for one county's parcels,
GeoJSON for another's, GeoPackage for the rest. Everything is EPSG:4490 (lon/lat).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from parcelwatch.samples.delivery import write_gbk_shapefile

LON0, LAT0, SIZE = 117.0, 36.0, 0.02
COUNTIES = {"370101": (0, 0), "370102": (1, 0), "370103": (0, 1), "370104": (1, 1)}
BATCH = "2026-1"
CELL, ROAD = 0.002, 0.0003
CRS = "EPSG:4490"


def county_box(code: str) -> shapely.Polygon:
    i, j = COUNTIES[code]
    return shapely.box(
        LON0 + i * SIZE, LAT0 + j * SIZE, LON0 + (i + 1) * SIZE, LAT0 + (j + 1) * SIZE
    )


def county_of(points: np.ndarray) -> np.ndarray:
    codes = np.array(list(COUNTIES))
    out = np.empty(len(points), dtype=object)
    for c in codes:
        out[shapely.contains_xy(county_box(c), shapely.get_x(points), shapely.get_y(points))] = c
    return out


def build() -> dict[str, dict[str, gpd.GeoDataFrame]]:
    """{county: {role: GeoDataFrame with delivery (Chinese) field names}}."""
    rng = np.random.default_rng(16)
    n = int(round(2 * SIZE / CELL))
    fields, codes = [], []
    for a in range(n):
        for b in range(n):
            x, y = (
                LON0 + a * CELL + ROAD / 2 + 0.0004,
                LAT0 + b * CELL + ROAD / 2 + 0.0007,
            )  # offset: cells straddle borders
            fields.append(shapely.box(x, y, x + CELL - ROAD, y + CELL - ROAD))
            codes.append(rng.choice(["0101", "0103", "0103", "0201", "0702"]))
    out: dict[str, dict[str, gpd.GeoDataFrame]] = {c: {} for c in COUNTIES}
    for code in COUNTIES:
        pieces = shapely.intersection(np.array(fields), county_box(code))
        keep = ~shapely.is_empty(pieces) & (shapely.area(pieces) > 0)
        geoms = pieces[keep]
        dl = np.array(codes)[keep]
        out[code]["farmland"] = gpd.GeoDataFrame(
            {
                "BSM": [f"{code}T{k:04d}" for k in range(len(geoms))],
                "DLBM": dl,
                "ZLDWDM": code + "001001",
            },
            geometry=list(geoms),
            crs=CRS,
        )
        # 永久基本农田: every second farmland piece of code 0103
        q = np.flatnonzero(dl == "0103")[::2]
        out[code]["pbf"] = gpd.GeoDataFrame(
            {"YJJBNTTBBH": [f"{code}P{k:04d}" for k in range(len(q))], "DLBM": dl[q]},
            geometry=list(geoms[q]),
            crs=CRS,
        )
        out[code]["townships"] = gpd.GeoDataFrame(
            {"XZQDM": [code + "001"], "XZQMC": [f"{code}镇"]}, geometry=[county_box(code)], crs=CRS
        )
    # parcels: 8 inside each county, plus 12 centred on the two internal border lines
    centres: list[tuple[float, float]] = []
    for i, j in COUNTIES.values():
        for _ in range(8):
            centres.append(
                (
                    LON0 + (i + rng.uniform(0.1, 0.9)) * SIZE,
                    LAT0 + (j + rng.uniform(0.1, 0.9)) * SIZE,
                )
            )
    for k in range(6):  # straddling the vertical border (lon0 + SIZE) and the horizontal one
        centres.append((LON0 + SIZE + rng.uniform(-0.0002, 0.0002), LAT0 + (0.2 + 0.3 * k) * SIZE))
        centres.append((LON0 + (0.2 + 0.3 * k) * SIZE, LAT0 + SIZE + rng.uniform(-0.0002, 0.0002)))
    centres_a = np.array(centres)
    half = rng.uniform(0.0008, 0.0015, size=(len(centres_a), 2))
    parcel_geoms = shapely.box(
        centres_a[:, 0] - half[:, 0],
        centres_a[:, 1] - half[:, 1],
        centres_a[:, 0] + half[:, 0],
        centres_a[:, 1] + half[:, 1],
    )
    owner = county_of(shapely.points(centres_a))
    # buildings: one per parcel, nudged 0.0001 deg so that a border parcel's building centre lies across the border
    bc = centres_a + np.array([0.00012, 0.00012])
    bh = rng.uniform(0.00008, 0.00018, size=(len(bc), 2))
    bgeoms = shapely.box(
        bc[:, 0] - bh[:, 0], bc[:, 1] - bh[:, 1], bc[:, 0] + bh[:, 0], bc[:, 1] + bh[:, 1]
    )
    b_owner = county_of(shapely.points(bc))
    uses = rng.choice(["住宅", "餐饮", "看护房", "仓储", "种植"], size=len(bc))
    # greenhouses next to every third building
    g_idx = np.arange(0, len(bc), 3)
    gc = bc[g_idx] + np.array([0.0005, 0.0])
    ggeoms = shapely.box(gc[:, 0] - 0.0003, gc[:, 1] - 0.0001, gc[:, 0] + 0.0003, gc[:, 1] + 0.0001)
    g_owner = county_of(shapely.points(gc))
    for code in COUNTIES:
        m = owner == code
        out[code]["parcels"] = gpd.GeoDataFrame(
            {"JCBH": [f"{code}-{k:03d}" for k in range(int(m.sum()))], "XZQDM": code, "PC": BATCH},
            geometry=list(parcel_geoms[m]),
            crs=CRS,
        )
        mb = b_owner == code
        out[code]["buildings"] = gpd.GeoDataFrame(
            {"JZBH": [f"{code}B{k:03d}" for k in range(int(mb.sum()))], "YT": uses[mb], "CS": 2},
            geometry=list(bgeoms[mb]),
            crs=CRS,
        )
        mg = g_owner == code
        out[code]["greenhouses"] = gpd.GeoDataFrame(
            {"DPBH": [f"{code}G{k:03d}" for k in range(int(mg.sum()))], "DPLX": "塑料大棚"},
            geometry=list(ggeoms[mg]),
            crs=CRS,
        )
    return out


FILES = {
    "parcels": "卫片图斑.*",
    "farmland": "基础数据.gpkg:DLTB",
    "pbf": "基础数据.gpkg:YJJBNTTB",
    "townships": "基础数据.gpkg:XZQ",
    "buildings": "建筑物.gpkg",
    "greenhouses": "大棚.gpkg",
}


def write_deliveries(root: Path, data: dict[str, dict[str, gpd.GeoDataFrame]]) -> dict[str, str]:
    """One folder per county; returns the per-role file spec inside each folder (for `pack`).

    County 370101's parcels are a GBK shapefile without .cpg, 370102's GeoJSON, the others'
    GeoPackage: `pack --parcels "卫片图斑.*"` finds each county's one file.
    """
    for code, layers in data.items():
        d = root / code
        d.mkdir(parents=True, exist_ok=True)
        for layer in ("DLTB", "YJJBNTTB", "XZQ"):
            role = {"DLTB": "farmland", "YJJBNTTB": "pbf", "XZQ": "townships"}[layer]
            pyogrio.write_dataframe(layers[role], d / "基础数据.gpkg", layer=layer, driver="GPKG")
        pyogrio.write_dataframe(layers["buildings"], d / "建筑物.gpkg", driver="GPKG")
        pyogrio.write_dataframe(layers["greenhouses"], d / "大棚.gpkg", driver="GPKG")
        if code == "370101":
            write_gbk_shapefile(layers["parcels"], d / "卫片图斑.shp")
        elif code == "370102":
            pyogrio.write_dataframe(layers["parcels"], d / "卫片图斑.geojson", driver="GeoJSON")
        else:
            pyogrio.write_dataframe(layers["parcels"], d / "卫片图斑.gpkg", driver="GPKG")
    return FILES


def parcels_file(root: Path, code: str) -> Path:
    for name in ("卫片图斑.shp", "卫片图斑.geojson", "卫片图斑.gpkg"):
        if (root / code / name).exists():
            return root / code / name
    raise FileNotFoundError(code)


def write_merged(root: Path, data: dict[str, dict[str, gpd.GeoDataFrame]]) -> dict[str, Path]:
    """Province-wide files of each reference role (every county's delivery, concatenated)."""
    root.mkdir(parents=True, exist_ok=True)
    paths = {}
    for role in ("farmland", "pbf", "townships", "buildings", "greenhouses", "parcels"):
        frame = pd.concat([data[c][role] for c in COUNTIES], ignore_index=True)
        paths[role] = root / f"{role}.gpkg"
        pyogrio.write_dataframe(gpd.GeoDataFrame(frame, crs=CRS), paths[role], driver="GPKG")
    return paths
