"""A deterministic, realistic synthetic sample county: 禾丰县 (370790), Shandong greenhouse country.

:func:`make_samples` builds the county and writes every sample file (see ``data/samples/README.md``
for the file contracts). The same ``scale`` and ``seed`` always give the same features; the
planted cases (:mod:`.cases`) are identical for every seed, only the background changes.

Scales (targets; the exact counts are returned in the manifest):

========  ============  ========  ==========  ============  =========  ==================
scale     extent        DLTB      greenhouse  buildings     parcels    townships
========  ============  ========  ==========  ============  =========  ==================
small     6 x 5 km      ~4 000    ~900        ~2 600        30 + 13    3
medium    21 x 16 km    ~50 000   ~20 000     ~20 000       ~5 000     10
large     62 x 52 km    ~500 000  ~200 000    ~200 000      ~50 000    30
========  ============  ========  ==========  ============  =========  ==================
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import OutputError
from ..units import M2_PER_MU
from . import cases as cs
from .approvals import background_approvals
from .divisions import COUNTY_CODE, nearest_seed, township_names, village_names
from .geodesy import GK_PLAIN, ellipsoidal_area, lonlat_to_gk
from .landscape import (
    DLMC,
    Blocks,
    BlockType,
    Frame,
    Lattice,
    Patches,
    build_lattice,
    kcxs_for,
    make_blocks,
    noded_geometries,
    road_cells,
    subdivide_blocks,
)
from .parcels import (
    CHANGE_TYPE,
    Sites,
    iou,
    outline_polygons,
    outline_vertices,
    pick_sites,
    redraw_sites,
)
from .structures import (
    MULTI,
    SOLAR,
    TUNNEL,
    Rects,
    building_attributes,
    caretaker_rooms,
    factories,
    farm_stores,
    greenhouse_rows,
    livestock_sheds,
    rect_polygons,
    village_houses,
)

__all__ = ["ScaleSpec", "SCALES", "SampleCounty", "build_county", "make_samples"]

log = logging.getLogger(__name__)

CENTRE_LONLAT = (118.75, 36.86)
REGION = "north"
BATCH_NAMES = {1: "2026年第1批", 2: "2026年第2批"}


@dataclass(frozen=True)
class ScaleSpec:
    """Size of a sample county and its feature targets."""

    name: str
    width: float
    height: float
    case_x0: float
    case_y0: float
    townships: int
    dltb: int
    greenhouses: int
    buildings: int
    parcels: int  # batch-1 parcels including the planted ones
    new_buildings: bool  # background sites may hold new buildings whose class is left to the rules
    river: bool


SCALES: dict[str, ScaleSpec] = {
    "small": ScaleSpec("small", 6000, 5000, 800, 1200, 3, 4000, 900, 2600, 30, False, False),
    "medium": ScaleSpec(
        "medium", 21000, 16000, 8000, 7000, 10, 50_000, 20_000, 20_000, 5000, True, True
    ),
    "large": ScaleSpec(
        "large", 62000, 52000, 28000, 24000, 30, 500_000, 200_000, 200_000, 50_000, True, True
    ),
}


@dataclass
class SampleCounty:
    """Every layer of a sample county, geometries in EPSG:4549 (metres)."""

    spec: ScaleSpec
    seed: int
    frame: Frame
    dltb: gpd.GeoDataFrame
    pbf: gpd.GeoDataFrame
    townships: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    greenhouses: gpd.GeoDataFrame
    greenhouses_before_hidden: list[str]
    buildings1: gpd.GeoDataFrame
    buildings2: gpd.GeoDataFrame
    parks: gpd.GeoDataFrame
    approvals: gpd.GeoDataFrame
    parcels1: gpd.GeoDataFrame
    parcels2: gpd.GeoDataFrame
    design: cs.CaseDesign
    parcel_ids: dict[str, str]  # case parcel key -> 监测编号
    building_ids: dict[str, str]  # case building key -> JZBH
    imagery_box: tuple[float, float, float, float]  # EPSG:4549
    bare_before: list[shapely.Geometry] = field(default_factory=list)
    bare_after: list[shapely.Geometry] = field(default_factory=list)
    hidden_before: list[str] = field(default_factory=list)  # building ids absent on before.tif
    remarks: dict[str, str] = field(default_factory=dict)  # 监测编号 -> 备注 for the clue table
    background_kind: dict[str, str] = field(default_factory=dict)  # 监测编号 -> site kind
    background_source: dict[str, str | None] = field(
        default_factory=dict
    )  # batch-2 id -> batch-1 id
    background_iou: dict[str, float] = field(
        default_factory=dict
    )  # batch-2 id -> IoU with its source
    timings: dict[str, float] = field(default_factory=dict)


def _frame(spec: ScaleSpec) -> Frame:
    cx, cy = lonlat_to_gk(*CENTRE_LONLAT)
    return Frame(
        width=spec.width,
        height=spec.height,
        origin_x=float(round(cx - spec.width / 2)),
        origin_y=float(round(cy - spec.height / 2)),
        case_x0=spec.case_x0,
        case_y0=spec.case_y0,
    )


def _case_to_world(
    frame: Frame, box: tuple[float, float, float, float]
) -> tuple[float, float, float, float]:
    ox, oy = frame.origin_x + frame.case_x0, frame.origin_y + frame.case_y0
    return (ox + box[0], oy + box[1], ox + box[2], oy + box[3])


def _case_ring(frame: Frame, ring: list[tuple[float, float]]) -> shapely.Polygon:
    ox, oy = frame.origin_x + frame.case_x0, frame.origin_y + frame.case_y0
    return shapely.Polygon([(ox + x, oy + y) for x, y in ring])


def _divisions(
    spec: ScaleSpec,
    frame: Frame,
    lat: Lattice,
    blocks: Blocks,
    roads: dict[str, np.ndarray],
    rng: np.random.Generator,
    n_villages: int,
) -> dict[str, Any]:
    """Village and township of every block and road cell; names, codes and seeds.

    Villages are Voronoi regions of village seeds over lattice cells (so village boundaries follow
    roads and ditches); townships are groups of whole villages around township seeds. The case
    region is split by hand: west half 禾丰镇 (villages a south, b north), east half 东河乡 (c, d).
    """
    cx0, cy0 = frame.case_x0, frame.case_y0
    cell_cx = np.r_[blocks.cx, roads["cx"]]
    cell_cy = np.r_[blocks.cy, roads["cy"]]
    ci = np.r_[blocks.col, roads["col"]] - lat.c0
    cj = np.r_[blocks.row, roads["row"]] - lat.r0
    in_case = (ci >= 0) & (ci < 10) & (cj >= 0) & (cj < 8)
    pts = np.column_stack([cell_cx, cell_cy])
    # village seeds: the four case villages, then random blocks away from the case region
    case_keys = ["a", "b", "c", "d"]
    case_seeds = np.array(
        [
            (cx0 + 750, cy0 + 500),
            (cx0 + 750, cy0 + 1500),
            (cx0 + 2250, cy0 + 500),
            (cx0 + 2250, cy0 + 1500),
        ]
    )
    pool = np.flatnonzero(blocks.dist_case > 600)
    extra = np.sort(
        rng.choice(pool, min(len(pool), max(n_villages - 4, 2 * spec.townships)), replace=False)
    )
    v_seed = np.vstack([case_seeds, np.column_stack([blocks.cx[extra], blocks.cy[extra]])])
    v_case = np.array(case_keys + [""] * len(extra), dtype=object)
    village = nearest_seed(pts, v_seed)
    key_index = {k: i for i, k in enumerate(case_keys)}
    cc = np.flatnonzero(in_case)
    village[cc] = [
        key_index[cs.case_village(int(a), int(b))] for a, b in zip(ci[cc], cj[cc], strict=True)
    ]
    # township seeds: the two case halves, then farthest-point sampling over the county
    far = np.flatnonzero(blocks.dist_case > min(2500.0, 0.6 * blocks.dist_case.max()))
    far = rng.choice(far, min(len(far), 60 * spec.townships), replace=False)
    cand = np.column_stack([blocks.cx[far], blocks.cy[far]])
    t_seed = np.array([(cx0 + 750.0, cy0 + 1000.0), (cx0 + 2250.0, cy0 + 1000.0)])
    while len(t_seed) < spec.townships:
        dmin = np.sqrt(((cand[:, None, :] - t_seed[None, :, :]) ** 2).sum(axis=2)).min(axis=1)
        t_seed = np.vstack([t_seed, cand[np.argmax(dmin)]])
    rest = t_seed[2:]
    t_seed = np.vstack([t_seed[:2], rest[np.lexsort((rest[:, 0], -rest[:, 1]))]])
    n_t = len(t_seed)
    v_town = nearest_seed(v_seed, t_seed)
    v_town[:4] = [0, 0, 1, 1]
    for t in range(2, n_t):  # every township gets at least one village
        if not (v_town == t).any():
            free_v = np.flatnonzero(v_case == "")
            d = ((v_seed[free_v] - t_seed[t]) ** 2).sum(axis=1)
            v_town[free_v[np.argmin(d)]] = t
    town = v_town[village]
    t_names = township_names(n_t)
    t_codes = [f"{COUNTY_CODE}{100 + t}" for t in range(n_t)]
    v_code = np.empty(len(v_seed), dtype=object)
    for t in range(n_t):  # case villages first, then north-west to south-east
        vs = np.flatnonzero(v_town == t)
        rank = np.lexsort((v_seed[vs, 0], -v_seed[vs, 1], [0 if v_case[v] else 1 for v in vs]))
        for k, v in enumerate(vs[rank]):
            v_code[v] = f"{t_codes[t]}{201 + k}"
    v_name = np.array(village_names(len(v_seed), rng), dtype=object)
    return {
        "town": town,
        "village": village,
        "t_names": t_names,
        "t_codes": t_codes,
        "v_code": v_code,
        "v_name": v_name,
        "v_seed": v_seed,
        "v_town": v_town,
        "v_case": v_case,
    }


def _block_types(
    spec: ScaleSpec,
    blocks: Blocks,
    grid_index: np.ndarray,
    village_of_block: np.ndarray,
    div: dict[str, Any],
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """What every block holds: village, greenhouse park, fringe greenhouses, industry, forest ..."""
    n = len(blocks)
    btype = np.full(n, BlockType.FARM, dtype=np.int64)
    park_id = np.full(n, -1, dtype=np.int64)
    case = blocks.case_i >= 0
    for b in np.flatnonzero(case):
        key = (int(blocks.case_i[b]), int(blocks.case_j[b]))
        if key in cs.PARK_BLOCKS or key == (4, 6):
            btype[b] = BlockType.CASE
        elif key in cs.VILLAGE_BLOCKS:
            btype[b] = BlockType.VILLAGE
    free = (~case) & (blocks.dist_case >= 300)

    def neighbours(ids: np.ndarray) -> np.ndarray:
        out = []
        for dc, dr in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            c, r = blocks.col[ids] + dc, blocks.row[ids] + dr
            ok = (c >= 0) & (c < grid_index.shape[0]) & (r >= 0) & (r < grid_index.shape[1])
            nb = grid_index[c[ok], r[ok]]
            out.append(nb[nb >= 0])
        return np.unique(np.concatenate(out)) if out else np.zeros(0, dtype=np.int64)

    # per-block expectations (see module structures): greenhouses and buildings per block type
    gh_park, gh_fringe = 36.0, 22.0
    rooms_per_gh = 0.18
    n_park = int(round(spec.greenhouses * 0.85 / gh_park))
    n_fringe = int(round(spec.greenhouses * 0.15 / gh_fringe))
    n_ind = max(2, int(round(n * 0.006)))
    n_live = max(1, int(round(n * 0.003)))
    new_b = 0.3 * spec.parcels if spec.new_buildings else 0.0
    houses = (
        spec.buildings - rooms_per_gh * spec.greenhouses - 4 * n_ind - 24 * n_live - new_b - 250
    )
    n_village_blocks = max(len(div["v_seed"]), int(round(houses / 132.0)))
    # 1. village settlements: the free block nearest to each (non-case) village seed
    vfree = np.flatnonzero(free)
    non_case_villages = np.flatnonzero(div["v_case"] == "")
    d2 = (blocks.cx[vfree] - div["v_seed"][village_of_block[vfree], 0]) ** 2 + (
        blocks.cy[vfree] - div["v_seed"][village_of_block[vfree], 1]
    ) ** 2
    order = np.lexsort((d2, village_of_block[vfree]))
    vv, first = np.unique(village_of_block[vfree][order], return_index=True)
    first_blocks = vfree[order][first[np.isin(vv, non_case_villages)]]
    btype[first_blocks] = BlockType.VILLAGE
    extra = n_village_blocks - len(first_blocks)
    if extra > 0:
        cand = neighbours(first_blocks)
        cand = cand[free[cand] & (btype[cand] == BlockType.FARM)]
        btype[rng.choice(cand, min(extra, len(cand)), replace=False)] = BlockType.VILLAGE
    # 2. greenhouse parks: clusters around random centres
    pid = 0
    placed = 0
    while placed < n_park:
        pool = np.flatnonzero(free & (btype == BlockType.FARM))
        if len(pool) == 0:
            break
        centre = rng.choice(pool)
        members = [centre]
        ring = neighbours(np.array([centre]))
        ring = ring[free[ring] & (btype[ring] == BlockType.FARM)]
        members += list(ring[rng.random(len(ring)) < 0.8])
        if len(members) >= 3:
            ring2 = neighbours(np.array(members))
            ring2 = ring2[free[ring2] & (btype[ring2] == BlockType.FARM) & ~np.isin(ring2, members)]
            members += list(ring2[rng.random(len(ring2)) < 0.25])
        members_a = np.array(members[: max(1, n_park - placed)])
        btype[members_a] = BlockType.PARK
        park_id[members_a] = pid
        pid += 1
        placed += len(members_a)
    # 3. fringe greenhouses next to villages
    cand = neighbours(np.flatnonzero(btype == BlockType.VILLAGE))
    cand = cand[free[cand] & (btype[cand] == BlockType.FARM)]
    btype[rng.choice(cand, min(n_fringe, len(cand)), replace=False)] = BlockType.FRINGE
    # 4. industry (small clusters), livestock farms, forests
    pool = np.flatnonzero(free & (btype == BlockType.FARM))
    seeds = rng.choice(pool, max(1, n_ind // 3), replace=False)
    ind = np.unique(np.r_[seeds, neighbours(seeds)])
    ind = ind[free[ind] & (btype[ind] == BlockType.FARM)][:n_ind]
    btype[ind] = BlockType.INDUSTRIAL
    pool = np.flatnonzero(free & (btype == BlockType.FARM))
    btype[rng.choice(pool, min(n_live, len(pool)), replace=False)] = BlockType.LIVESTOCK
    pool = np.flatnonzero(free & (btype == BlockType.FARM))
    btype[rng.choice(pool, int(0.03 * len(pool)), replace=False)] = BlockType.FOREST
    park_1202 = (btype == BlockType.PARK) & (rng.random(n) < 0.35)
    pbf_block = np.where(
        btype == BlockType.FARM,
        rng.random(n) < 0.65,
        (btype == BlockType.FRINGE) & (rng.random(n) < 0.3),
    )
    for b in np.flatnonzero(case):
        key = (int(blocks.case_i[b]), int(blocks.case_j[b]))
        if key in cs.FORCED_BLOCKS:
            pbf_block[b] = cs.FORCED_BLOCKS[key]
    return {"btype": btype, "park_id": park_id, "park_1202": park_1202, "pbf_block": pbf_block}


def _case_block_index(blocks: Blocks) -> dict[tuple[int, int], int]:
    ids = np.flatnonzero(blocks.case_i >= 0)
    return {(int(blocks.case_i[b]), int(blocks.case_j[b])): int(b) for b in ids}


def _case_rects(
    frame: Frame,
    blocks: Blocks,
    cbi: dict[tuple[int, int], int],
    boxes: list[tuple[float, float, float, float]],
    kinds: list[Any],
) -> Rects:
    """Case-local boxes as block-local rectangles of the case block holding their centre."""
    blk, x0, x1, y0, y1 = [], [], [], [], []
    for b in boxes:
        i = int(((b[0] + b[2]) / 2) // 300)
        j = int(((b[1] + b[3]) / 2) // 250)
        bx, by = cs.block_origin(i, j)
        blk.append(cbi[(i, j)])
        x0.append(b[0] - bx)
        x1.append(b[2] - bx)
        y0.append(b[1] - by)
        y1.append(b[3] - by)
    return Rects(
        np.array(blk, dtype=np.int64),
        np.array(x0),
        np.array(x1),
        np.array(y0),
        np.array(y1),
        np.array(kinds, dtype=object),
    )


def _ids(prefix: str, n: int, width: int = 5) -> np.ndarray:
    w = max(width, len(str(n)))
    return np.array([f"{prefix}{k:0{w}d}" for k in range(1, n + 1)], dtype=object)


def build_county(spec: ScaleSpec, seed: int) -> SampleCounty:
    """Build every layer of the sample county in memory (EPSG:4549)."""
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    ss = np.random.SeedSequence([seed, list(SCALES).index(spec.name)])
    (r_lat, r_out, r_div, r_type, r_land, r_gh, r_bld, r_par, r_app) = (
        np.random.default_rng(s) for s in ss.spawn(9)
    )
    frame = _frame(spec)
    lat = build_lattice(frame, r_lat, river=spec.river)
    blocks, keep_grid = make_blocks(lat, r_out)
    grid_index = np.full(keep_grid.shape, -1, dtype=np.int64)
    grid_index[blocks.col, blocks.row] = np.arange(len(blocks))
    roads = road_cells(lat, keep_grid)
    cbi = _case_block_index(blocks)
    if len(cbi) != 80:  # pragma: no cover - guaranteed by the outline
        raise RuntimeError("the case region is not fully inside the county outline")
    n_villages_target = {"small": 12, "medium": 90, "large": 800}[spec.name]
    div = _divisions(spec, frame, lat, blocks, roads, r_div, n_villages_target)
    nb = len(blocks)
    village_of_block = div["village"][:nb]
    types = _block_types(spec, blocks, grid_index, village_of_block, div, r_type)
    btype = types["btype"]
    timings["lattice"] = time.perf_counter() - t0

    # ---- land use (DLTB) --------------------------------------------------------------------
    design = cs.design_cases()
    n_road = len(roads["geometry"])
    farm_blocks = int((btype == BlockType.FARM).sum())
    other = {
        BlockType.VILLAGE: 1,
        BlockType.PARK: 1.5,
        BlockType.FRINGE: 1.5,
        BlockType.INDUSTRIAL: 1.5,
        BlockType.FOREST: 3.5,
        BlockType.LIVESTOCK: 1,
        BlockType.CASE: 1.1,
    }
    n_other = sum(v * int((btype == k).sum()) for k, v in other.items())
    mean_farm = max((spec.dltb - n_road - n_other) / max(farm_blocks, 1), 2.0)
    patches = subdivide_blocks(
        blocks, btype, types["park_1202"], types["pbf_block"], mean_farm, r_land
    )
    # case blocks with explicit patches
    cb, cu0, cu1, cv0, cv1, cd = [], [], [], [], [], []
    for key, rects in design.block_patches.items():
        b = cbi[key]
        w, h = blocks.width[b], blocks.height[b]
        for x0, y0, x1, y1, code in rects:
            cb.append(b)
            cu0.append(x0 / w)
            cu1.append(x1 / w)
            cv0.append(y0 / h)
            cv1.append(y1 / h)
            cd.append(code)
    patches = Patches(
        np.r_[patches.block, cb], np.r_[patches.u0, cu0], np.r_[patches.u1, cu1], np.r_[patches.v0, cv0], np.r_[patches.v1, cv1],
        np.r_[patches.dlbm, np.array(cd, dtype=object)], np.r_[patches.pbf, np.zeros(len(cb), dtype=bool)],
    )  # fmt: skip
    forced = np.zeros(nb, dtype=bool)
    for key in cs.FORCED_BLOCKS:
        forced[cbi[key]] = True
    fp = forced[patches.block]
    patches.dlbm[fp] = "0102"
    patches.pbf[fp] = types["pbf_block"][patches.block[fp]]
    patch_geom, road_geom = noded_geometries(blocks, grid_index, patches, roads)
    hill = 0.5 + 0.5 * np.sin(blocks.cx / 4100.0 + seed) * np.cos(blocks.cy / 3300.0 - seed)
    dltb_geom = np.r_[patch_geom, road_geom]
    dlbm = np.r_[patches.dlbm, roads["dlbm"]].astype(object)
    village_idx = np.r_[village_of_block[patches.block], div["village"][nb:]]
    hill_all = np.r_[hill[patches.block], hill[grid_index[roads["col"], roads["row"]]]]
    kcxs = kcxs_for(dlbm, hill_all)
    kcxs[np.r_[fp, np.zeros(n_road, dtype=bool)]] = 0.0
    pbf_flag = np.r_[patches.pbf, np.zeros(n_road, dtype=bool)]
    # order: by village, then north to south, west to east
    cen = shapely.centroid(dltb_geom)
    cxy = shapely.get_coordinates(cen)
    order = np.lexsort(
        (cxy[:, 0], -np.round(cxy[:, 1], -1), div["v_code"][village_idx].astype(str))
    )
    dltb_geom, dlbm, village_idx, kcxs, pbf_flag = (
        dltb_geom[order],
        dlbm[order],
        village_idx[order],
        kcxs[order],
        pbf_flag[order],
    )
    tbmj = np.round(ellipsoidal_area(dltb_geom), 2)
    kcmj = np.round(tbmj * kcxs, 2)
    zldwdm = np.array([f"{c}0000000" for c in div["v_code"][village_idx]], dtype=object)
    dltb = gpd.GeoDataFrame(
        {
            "BSM": np.arange(1, len(dltb_geom) + 1, dtype=np.int64) + 100000,
            "DLBM": dlbm,
            "DLMC": np.array([DLMC[x] for x in dlbm], dtype=object),
            "TBMJ": tbmj,
            "KCXS": kcxs,
            "KCMJ": kcmj,
            "TBDLMJ": np.round(tbmj - kcmj, 2),
            "ZLDWDM": zldwdm,
            "ZLDWMC": div["v_name"][village_idx],
        },
        geometry=dltb_geom,
        crs=GK_PLAIN,
    )
    pbf_rows = np.flatnonzero(pbf_flag)
    pbf = gpd.GeoDataFrame(
        {
            "BSM": np.arange(1, len(pbf_rows) + 1, dtype=np.int64) + 500000,
            "YJJBNTTBBH": np.array(
                [f"{COUNTY_CODE}{k:07d}" for k in range(1, len(pbf_rows) + 1)], dtype=object
            ),
            "DLBM": dlbm[pbf_rows],
            "TBMJ": tbmj[pbf_rows],
            "ZLDWDM": zldwdm[pbf_rows],
        },
        geometry=dltb_geom[pbf_rows],
        crs=GK_PLAIN,
    )
    timings["dltb"] = time.perf_counter() - t0

    # ---- administrative divisions --------------------------------------------------------
    cell_geom = np.r_[blocks.polygons(), roads["geometry"]]
    vill = div["village"]
    v_polys = []
    v_used = np.unique(vill)
    srt = np.argsort(vill, kind="stable")
    bounds = np.searchsorted(vill[srt], v_used)
    bounds = np.r_[bounds, len(vill)]
    for k in range(len(v_used)):
        g = shapely.coverage_union_all(cell_geom[srt[bounds[k] : bounds[k + 1]]])
        if not g.is_valid:
            g = shapely.union_all(cell_geom[srt[bounds[k] : bounds[k + 1]]])
        v_polys.append(g)
    villages = gpd.GeoDataFrame(
        {"ZLDWDM": div["v_code"][v_used], "ZLDWMC": div["v_name"][v_used]},
        geometry=np.array(v_polys, dtype=object),
        crs=GK_PLAIN,
    )
    v_town = div["v_town"][v_used]
    t_polys = []
    for t in range(len(div["t_codes"])):
        gs = villages.geometry.values[v_town == t]
        g = shapely.coverage_union_all(np.asarray(gs, dtype=object))
        if not g.is_valid:
            g = shapely.union_all(np.asarray(gs, dtype=object))
        t_polys.append(g)
    townships = gpd.GeoDataFrame(
        {"XZQDM": div["t_codes"], "XZQMC": div["t_names"]},
        geometry=np.array(t_polys, dtype=object),
        crs=GK_PLAIN,
    )
    villages = villages.sort_values("ZLDWDM", ignore_index=True)
    timings["divisions"] = time.perf_counter() - t0

    # ---- greenhouses ----------------------------------------------------------------------
    park_blocks = np.flatnonzero(btype == BlockType.PARK)
    fringe_blocks = np.flatnonzero(btype == BlockType.FRINGE)
    pk_kind = r_gh.choice(
        np.array([SOLAR, TUNNEL, MULTI], dtype=object), len(park_blocks), p=[0.6, 0.3, 0.1]
    )
    fr_kind = r_gh.choice(np.array([SOLAR, TUNNEL], dtype=object), len(fringe_blocks))
    gh_bg = greenhouse_rows(
        blocks,
        np.r_[park_blocks, fringe_blocks],
        np.r_[pk_kind, fr_kind],
        np.r_[np.ones(len(park_blocks)), np.full(len(fringe_blocks), 0.45)],
        r_gh,
    )
    case_gh = _case_rects(
        frame,
        blocks,
        cbi,
        [g.box for g in design.greenhouses],
        [g.kind for g in design.greenhouses],
    )
    gh_all = Rects.concat([case_gh, gh_bg])
    gh_geom = rect_polygons(blocks, gh_all)
    pk_name = {
        p: f"YQ{p + 2:03d}" for p in np.unique(types["park_id"][types["park_id"] >= 0]).tolist()
    }
    gh_park = np.r_[
        [g.park for g in design.greenhouses],
        [pk_name.get(int(p)) for p in types["park_id"][gh_bg.block]],
    ].astype(object)
    gh_ids = _ids("G", len(gh_all))
    greenhouses = gpd.GeoDataFrame(
        {"大棚编号": gh_ids, "类型": gh_all.kind, "园区编号": gh_park},
        geometry=gh_geom,
        crs=GK_PLAIN,
    )
    gh_hidden = [gh_ids[k] for k, g in enumerate(design.greenhouses) if not g.before]

    # ---- parks ----------------------------------------------------------------------------
    park_rows = [
        ("YQ001", "禾丰县现代农业蔬菜产业园", shapely.box(*_case_to_world(frame, design.park_box)))
    ]
    polys = blocks.polygons()
    pids = types["park_id"]
    for p, name in pk_name.items():
        members = polys[pids == p]
        g = shapely.union_all(shapely.buffer(members, 8.0, join_style="mitre")).buffer(
            -8.0, join_style="mitre"
        )
        t = int(div["town"][np.flatnonzero(pids == p)[0]])
        label = ("设施蔬菜", "现代农业", "果蔬", "高效农业", "食用菌")[p % 5]
        park_rows.append((name, f"{div['t_names'][t]}{label}产业园{'' if p < 5 else p + 1}", g))
    parks = gpd.GeoDataFrame(
        {"园区编号": [r[0] for r in park_rows], "园区名称": [r[1] for r in park_rows]},
        geometry=[r[2] for r in park_rows],
        crs=GK_PLAIN,
    )
    timings["greenhouses"] = time.perf_counter() - t0

    # ---- case parcels ----------------------------------------------------------------------
    case_parcels = {p.key: _case_ring(frame, p.ring) for p in design.parcels}

    # ---- background parcel sites -----------------------------------------------------------
    eligible = (blocks.case_i < 0) & (blocks.dist_case >= 300)
    used = np.zeros(nb * 4, dtype=bool)
    n_case1 = sum(1 for p in design.parcels if p.batch == 1)
    n_case2 = sum(1 for p in design.parcels if p.batch == 2)
    n_bg1 = spec.parcels - n_case1
    sites1 = pick_sites(
        blocks, btype, eligible, used, n_bg1, r_par, with_buildings=spec.new_buildings
    )
    n1 = len(sites1)
    pick = r_par.permutation(n1)
    n_re, n_same = max(2, int(0.2 * n1)), max(1, int(0.05 * n1))
    re_idx, same_idx = np.sort(pick[:n_re]), np.sort(pick[n_re : n_re + n_same])
    n_bg2 = max(spec.parcels - n_case2 - n_re - n_same, 3) if spec.name != "small" else 3
    sites_new = pick_sites(
        blocks, btype, eligible, used, n_bg2, r_par, with_buildings=spec.new_buildings
    )
    take = _take_sites
    redrawn = redraw_sites(blocks, take(sites1, re_idx), r_par)
    v1 = outline_vertices(sites1.x0, sites1.y0, sites1.x1, sites1.y1, r_par)
    geo1 = outline_polygons(blocks, sites1.block, v1)
    vr = outline_vertices(redrawn.x0, redrawn.y0, redrawn.x1, redrawn.y1, r_par)
    geo_re = outline_polygons(blocks, redrawn.block, vr)
    vn = outline_vertices(sites_new.x0, sites_new.y0, sites_new.x1, sites_new.y1, r_par)
    geo_new = outline_polygons(blocks, sites_new.block, vn)
    timings["parcels"] = time.perf_counter() - t0

    # ---- buildings -------------------------------------------------------------------------
    village_blocks = np.flatnonzero(btype == BlockType.VILLAGE)
    ind_blocks = np.flatnonzero(btype == BlockType.INDUSTRIAL)
    live_blocks = np.flatnonzero(btype == BlockType.LIVESTOCK)
    store_blocks = np.flatnonzero((btype == BlockType.PARK) & types["park_1202"])
    with_rooms = np.r_[
        [g.kind == SOLAR for g in design.greenhouses], np.ones(len(gh_bg), dtype=bool)
    ]
    rooms = caretaker_rooms(gh_all.take(with_rooms), r_bld)
    bg = Rects.concat([village_houses(blocks, village_blocks, r_bld), rooms, factories(blocks, ind_blocks, r_bld),
                       livestock_sheds(blocks, live_blocks, r_bld), farm_stores(blocks, store_blocks, r_bld)])  # fmt: skip
    bg_geom = rect_polygons(blocks, bg)
    attrs = building_attributes(bg.kind, r_bld)
    # On filed facility land every building has a recorded agricultural use.
    filed = ((btype == BlockType.PARK) & types["park_1202"]) | (btype == BlockType.LIVESTOCK)
    default_use = {"caretaker": "看护房", "store": "农资仓库", "shed": "畜禽舍"}
    miss = filed[bg.block] & pd.isna(attrs["YT"])
    attrs["YT"][miss] = [default_use.get(k, "看护房") for k in bg.kind[miss]]
    # drop background buildings near the planted cases (they would blur the expectations)
    guard = shapely.union_all(
        shapely.buffer(np.array(list(case_parcels.values()), dtype=object), 5.0)
    )
    case_b_geom = np.array(
        [shapely.box(*_case_to_world(frame, b.box)) for b in design.buildings], dtype=object
    )
    site_b = np.flatnonzero(sites1.has_building)
    site_b_new = np.flatnonzero(sites_new.has_building)
    site_geom1 = _site_building_geoms(blocks, sites1, site_b)
    site_geom_new = _site_building_geoms(blocks, sites_new, site_b_new)
    blockers = np.r_[case_b_geom, site_geom1, site_geom_new]
    tree = shapely.STRtree(blockers)
    hit = np.zeros(len(bg_geom), dtype=bool)
    hit[np.unique(tree.query(bg_geom, predicate="intersects")[0])] = True
    hit |= shapely.intersects(bg_geom, guard)
    keep = ~hit
    bg_geom = bg_geom[keep]
    attrs = {k: v[keep] for k, v in attrs.items()}
    # case buildings first (stable ids), then new site buildings, then the background
    cb1 = list(design.buildings)
    n_case_b = len(cb1)
    site_use1 = sites1.b_use[site_b]
    site_use_new = sites_new.b_use[site_b_new]
    sa1 = _site_building_attrs(site_use1, r_bld)
    sa2 = _site_building_attrs(site_use_new, r_bld)
    n_total = n_case_b + len(site_b) + len(site_b_new) + len(bg_geom)
    b_ids = _ids("B", n_total)
    building_ids = {b.key: b_ids[k] for k, b in enumerate(cb1)}
    yt = np.r_[np.array([b.use for b in cb1], dtype=object), site_use1, site_use_new, attrs["YT"]]
    csn = np.r_[
        [np.nan if b.storeys is None else b.storeys for b in cb1], sa1["CS"], sa2["CS"], attrs["CS"]
    ]
    gd = np.r_[
        [np.nan if b.height is None else b.height for b in cb1], sa1["GD"], sa2["GD"], attrs["GD"]
    ]
    geom = np.r_[case_b_geom, site_geom1, site_geom_new, bg_geom]
    in1 = np.r_[
        [b.batch1 for b in cb1],
        np.ones(len(site_b), dtype=bool),
        np.zeros(len(site_b_new), dtype=bool),
        np.ones(len(bg_geom), dtype=bool),
    ]
    in2 = np.r_[
        [b.batch2 for b in cb1], np.ones(len(site_b) + len(site_b_new) + len(bg_geom), dtype=bool)
    ]
    all_b = gpd.GeoDataFrame(
        {"JZBH": b_ids, "YT": yt, "CS": pd.array(csn, dtype="Int64"), "GD": gd},
        geometry=geom,
        crs=GK_PLAIN,
    )
    buildings1 = all_b[in1].reset_index(drop=True)
    buildings2 = all_b[in2].reset_index(drop=True)
    hidden_before = [building_ids[b.key] for b in cb1 if b.batch1 and not b.before]
    timings["buildings"] = time.perf_counter() - t0

    # ---- approvals ---------------------------------------------------------------------------
    reserved = {a.doc for a in design.approvals}
    app_bg = background_approvals(
        blocks, btype, types["park_1202"], div["v_name"][village_of_block], r_app, reserved
    )
    app_case = pd.DataFrame(
        {
            "批准文号": [a.doc for a in design.approvals],
            "批准类型": [a.kind for a in design.approvals],
            "项目名称": [a.project for a in design.approvals],
            "批准日期": [a.day for a in design.approvals],
            "备案用途": [a.use for a in design.approvals],
            "geometry": [shapely.box(*_case_to_world(frame, a.box)) for a in design.approvals],
        }
    )
    approvals = gpd.GeoDataFrame(
        pd.concat([app_case, app_bg], ignore_index=True), geometry="geometry", crs=GK_PLAIN
    )

    # ---- parcel tables -------------------------------------------------------------------------
    k1 = [p for p in design.parcels if p.batch == 1]
    k2 = [p for p in design.parcels if p.batch == 2]
    bg_kind1 = sites1.kind
    parcels1, ids1, remarks = _parcel_table(
        1, [case_parcels[p.key] for p in k1], [p.change_type for p in k1], [p.remark for p in k1],
        geo1, np.array([CHANGE_TYPE[k] for k in bg_kind1], dtype=object), townships,
    )  # fmt: skip
    parcel_ids = {p.key: ids1[k] for k, p in enumerate(k1)}
    bg1_ids = ids1[len(k1) :]
    bg2_geom = np.r_[geo_re, geo1[same_idx], geo_new]
    bg2_kind = np.r_[sites1.kind[re_idx], sites1.kind[same_idx], sites_new.kind]
    parcels2, ids2, remarks2 = _parcel_table(
        2, [case_parcels[p.key] for p in k2], [p.change_type for p in k2], [p.remark for p in k2],
        bg2_geom, np.array([CHANGE_TYPE[k] for k in bg2_kind], dtype=object), townships,
    )  # fmt: skip
    parcel_ids.update({p.key: ids2[k] for k, p in enumerate(k2)})
    # background batch-2 provenance (for expected.json): which batch-1 parcel each one repeats
    bg2_src = np.r_[bg1_ids[re_idx], bg1_ids[same_idx], np.full(len(geo_new), None, dtype=object)]
    bg2_iou = np.r_[
        iou(shapely.make_valid(geo1[re_idx]), geo_re),
        np.ones(len(same_idx)),
        np.full(len(geo_new), np.nan),
    ]
    remarks.update(remarks2)
    background_source = dict(zip(ids2[len(k2) :].tolist(), bg2_src.tolist(), strict=True))
    background_iou = dict(zip(ids2[len(k2) :].tolist(), bg2_iou.tolist(), strict=True))
    background_kind = dict(zip(bg1_ids.tolist(), bg_kind1.tolist(), strict=True))
    background_kind.update(zip(ids2[len(k2) :].tolist(), bg2_kind.tolist(), strict=True))
    timings["tables"] = time.perf_counter() - t0

    box = _case_to_world(frame, cs.CASE_IMAGERY_BOX)
    county = SampleCounty(
        spec=spec, seed=seed, frame=frame, dltb=dltb, pbf=pbf, townships=townships, villages=villages,
        greenhouses=greenhouses, greenhouses_before_hidden=gh_hidden, buildings1=buildings1, buildings2=buildings2,
        parks=parks, approvals=approvals, parcels1=parcels1, parcels2=parcels2, design=design,
        parcel_ids=parcel_ids, building_ids=building_ids, imagery_box=box,
        bare_before=[shapely.box(*_case_to_world(frame, b)) for b in design.bare_before],
        bare_after=[shapely.box(*_case_to_world(frame, b)) for b in design.bare_after],
        hidden_before=hidden_before, timings=timings, remarks=remarks, background_kind=background_kind,
        background_source=background_source, background_iou=background_iou,
    )  # fmt: skip
    return county


def _take_sites(s: Sites, idx: np.ndarray) -> Sites:
    return Sites(
        *(
            getattr(s, f)[idx]
            for f in (
                "block",
                "slot",
                "kind",
                "x0",
                "y0",
                "x1",
                "y1",
                "b_x0",
                "b_y0",
                "b_x1",
                "b_y1",
                "b_use",
            )
        )
    )


def _site_building_geoms(blocks: Blocks, sites: Sites, idx: np.ndarray) -> np.ndarray:
    r = Rects(
        sites.block[idx],
        sites.b_x0[idx],
        sites.b_x1[idx],
        sites.b_y0[idx],
        sites.b_y1[idx],
        sites.b_use[idx],
    )
    return rect_polygons(blocks, r)


def _site_building_attrs(use: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    n = len(use)
    cs_ = rng.choice([1.0, 2.0, 3.0], n, p=[0.6, 0.33, 0.07])
    cs_[np.isin(use, ["看护房", "畜禽舍", "农资仓库"])] = 1.0
    gd = np.round(cs_ * 3.2 + rng.uniform(-0.3, 0.6, n), 1)
    gd[rng.random(n) < 0.15] = np.nan
    cs_[rng.random(n) < 0.05] = np.nan
    return {"CS": cs_, "GD": gd}


def _parcel_table(
    batch: int,
    case_geoms: list[shapely.Geometry],
    case_types: list[str],
    case_remarks: list[str],
    bg_geoms: np.ndarray,
    bg_types: np.ndarray,
    townships: gpd.GeoDataFrame,
) -> tuple[gpd.GeoDataFrame, np.ndarray, dict[str, str]]:
    """监测编号, township (largest share), 监测面积 (亩), dates, 批次, 图斑类型 for one batch.

    Returns the table (cases first, background by township and position), the ids in input
    order, and the non-empty remarks (备注) by id.
    """
    geoms = np.r_[np.array(case_geoms, dtype=object), bg_geoms]
    n_case = len(case_geoms)
    valid = shapely.make_valid(geoms)
    tw = townships.geometry.values
    tree = shapely.STRtree(tw)
    pi, ti = tree.query(valid, predicate="intersects")
    share = shapely.area(shapely.intersection(valid[pi], tw[ti]))
    best = np.full(len(geoms), -1, dtype=np.int64)
    pairs = pd.DataFrame({"p": pi, "t": ti, "a": share})
    top = pairs.loc[pairs.groupby("p")["a"].idxmax()]
    best[top["p"].to_numpy()] = top["t"].to_numpy()
    # background numbering: by township, then north to south, west to east
    cen = shapely.get_coordinates(shapely.centroid(valid))
    bg = np.arange(n_case, len(geoms))
    order = bg[np.lexsort((cen[bg, 0], -np.round(cen[bg, 1], -1), best[bg]))]
    perm = np.r_[np.arange(n_case), order]
    geoms, valid, best = geoms[perm], valid[perm], best[perm]
    types = np.r_[np.array(case_types, dtype=object), bg_types][perm]
    remarks = np.r_[np.array(case_remarks, dtype=object), np.full(len(bg_geoms), "", dtype=object)][
        perm
    ]
    n = len(geoms)
    w = max(3, len(str(n)))
    ids = np.array([f"{COUNTY_CODE}2026Q{batch}{k:0{w}d}" for k in range(1, n + 1)], dtype=object)
    codes = townships["XZQDM"].to_numpy()[best]
    names = townships["XZQMC"].to_numpy()[best]
    area_mu = np.round(ellipsoidal_area(valid) / M2_PER_MU, 2)
    if batch == 1:
        before, after = (
            np.full(n, "2025-10-15", dtype=object),
            np.array(["2026-03-12", "2026-03-20", "2026-03-27"], dtype=object)[best % 3],
        )
    else:
        before, after = (
            np.full(n, "2026-03-20", dtype=object),
            np.array(["2026-06-10", "2026-06-18"], dtype=object)[best % 2],
        )
    gdf = gpd.GeoDataFrame(
        {
            "监测编号": ids,
            "行政区代码": codes,
            "行政区名称": names,
            "监测面积": area_mu,
            "前时相": before,
            "后时相": after,
            "批次": np.full(n, BATCH_NAMES[batch], dtype=object),
            "图斑类型": types,
        },
        geometry=geoms,
        crs=GK_PLAIN,
    )
    # ids in the original (case first, background in site order) order
    inv = np.empty(n, dtype=np.int64)
    inv[perm] = np.arange(n)
    return gdf, ids[inv], {i: r for i, r in zip(ids.tolist(), remarks.tolist(), strict=True) if r}


def make_samples(
    out_dir: str | Path,
    *,
    scale: str = "small",
    seed: int = 0,
    on_stage: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Write the sample county into ``out_dir``; return {logical name -> Path} plus ``counts``.

    ``scale`` is "small" (committed under data/samples, <= 10 MB), "medium" or "large". The same
    scale and seed always give the same features. Raises :class:`~parcelwatch.errors.OutputError`
    when ``out_dir`` cannot be created or written. ``on_stage(name)`` is called as each stage
    starts (the CLI renders it).
    """
    stage = on_stage or (lambda _name: None)
    from .delivery import write_all  # local import: delivery imports this module's types

    if scale not in SCALES:
        raise ValueError(f"Unknown sample scale {scale!r}; choose one of {', '.join(SCALES)}.")
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".parcelwatch-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise OutputError(
            f"Cannot write the sample county to {out}: {exc}. Choose a writable folder (--out / out_dir)."
        ) from exc
    t0 = time.perf_counter()
    stage("生成县域要素")
    county = build_county(SCALES[scale], seed)
    log.info("built %s sample county (seed %d) in %.1f s", scale, seed, time.perf_counter() - t0)
    stage("写出文件")
    try:
        manifest = write_all(county, out)
    except OSError as exc:
        raise OutputError(
            f"Cannot write the sample county to {out}: {exc}. Check free disk space and permissions."
        ) from exc
    manifest["seconds"] = round(time.perf_counter() - t0, 1)
    return manifest
