"""The county's field lattice: roads, ditches and field blocks, and their land-use patches (DLTB).

The plain is modelled as a rectilinear lattice of road lines (农村道路, 沟渠, 公路, one river in
bigger counties) with field blocks between them, bent by a smooth warp so that no line is
straight. The warp vanishes on the hand-designed *case region* (see :mod:`.cases`), which stays
an exact axis-aligned grid of 300 m x 250 m blocks.

Every lattice cell is a polygon whose vertices are shared exactly with its neighbours (the warp is
a function of position only), so cells form a valid coverage. A block is cut into land-use patches
by straight lines between points on its edges (bilinear coordinates ``u, v`` in [0, 1]); the
patches therefore tile the block exactly. Everything is vectorised with numpy and shapely 2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

__all__ = [
    "DLMC",
    "FARMLAND_CODES",
    "BlockType",
    "Frame",
    "Lattice",
    "Blocks",
    "Patches",
    "CASE_COLS",
    "CASE_ROWS",
    "CASE_PITCH_X",
    "CASE_PITCH_Y",
    "build_lattice",
    "make_blocks",
    "road_cells",
    "noded_geometries",
    "bilinear",
    "quad_polygons",
    "subdivide_blocks",
    "kcxs_for",
]

# 三调 codes used by the sample county (GB/T 21010-2017 names).
DLMC: dict[str, str] = {
    "0101": "水田", "0102": "水浇地", "0103": "旱地", "0201": "果园", "0301": "乔木林地",
    "0307": "其他林地", "0404": "其他草地", "0601": "工业用地", "0702": "农村宅基地",
    "1003": "公路用地", "1006": "农村道路", "1101": "河流水面", "1104": "坑塘水面",
    "1107": "沟渠", "1202": "设施农用地", "1203": "田坎",
}  # fmt: skip
FARMLAND_CODES = ("0101", "0102", "0103")

CASE_COLS = 10
CASE_ROWS = 8
CASE_PITCH_X = 300.0
CASE_PITCH_Y = 250.0
CASE_WIDTH = CASE_COLS * CASE_PITCH_X
CASE_HEIGHT = CASE_ROWS * CASE_PITCH_Y


class BlockType:
    """Integer codes of what a field block holds."""

    FARM = 0
    VILLAGE = 1
    PARK = 2  # greenhouse block inside an agricultural park
    FRINGE = 3  # scattered greenhouses beside a village
    INDUSTRIAL = 4
    FOREST = 5
    LIVESTOCK = 6
    CASE = 9  # hand-designed, see cases.py


@dataclass(frozen=True)
class Frame:
    """County extent in local metres and its placement in EPSG:4549."""

    width: float
    height: float
    origin_x: float  # EPSG:4549 X of local (0, 0)
    origin_y: float
    case_x0: float  # local SW corner of the case region
    case_y0: float

    @property
    def case_box(self) -> tuple[float, float, float, float]:
        return (self.case_x0, self.case_y0, self.case_x0 + CASE_WIDTH, self.case_y0 + CASE_HEIGHT)


@dataclass(frozen=True)
class Lattice:
    """Road lines of the lattice (local metres) and the warp that bends them."""

    frame: Frame
    xl: np.ndarray  # x positions of vertical lines, len ncols + 1 (last = outer edge)
    xw: np.ndarray  # road width at the west side of each column
    xk: np.ndarray  # DLBM of each vertical line
    yl: np.ndarray
    yw: np.ndarray
    yk: np.ndarray
    c0: int  # first case column
    r0: int  # first case row
    warp_amp: np.ndarray  # (2, K)
    warp_dir: np.ndarray  # (2, K)
    warp_len: np.ndarray  # (2, K)
    warp_phase: np.ndarray  # (2, K)

    @property
    def ncols(self) -> int:
        return len(self.xl) - 1

    @property
    def nrows(self) -> int:
        return len(self.yl) - 1

    def taper(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """0 on and near the case region, rising smoothly to 1 about a kilometre away."""
        x0, y0, x1, y1 = self.frame.case_box
        dx = np.maximum(np.maximum(x0 - x, x - x1), 0.0)
        dy = np.maximum(np.maximum(y0 - y, y - y1), 0.0)
        t = np.clip((np.hypot(dx, dy) - 150.0) / 900.0, 0.0, 1.0)
        return t * t * (3.0 - 2.0 * t)

    def to_world(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Warped EPSG:4549 coordinates of local points; shape (..., 2)."""
        x = np.asarray(x, dtype=float)
        y = np.asarray(y, dtype=float)
        t = self.taper(x, y)
        disp = []
        for comp in range(2):
            d = np.zeros_like(x)
            for k in range(self.warp_amp.shape[1]):
                ang = self.warp_dir[comp, k]
                arg = (x * np.cos(ang) + y * np.sin(ang)) / self.warp_len[comp, k]
                d = d + self.warp_amp[comp, k] * np.sin(2 * np.pi * arg + self.warp_phase[comp, k])
            disp.append(d * t)
        return np.stack(
            [self.frame.origin_x + x + disp[0], self.frame.origin_y + y + disp[1]], axis=-1
        )


@dataclass
class Blocks:
    """Field blocks (one per lattice column x row that lies inside the county)."""

    col: np.ndarray
    row: np.ndarray
    x0: np.ndarray  # local, unwarped
    x1: np.ndarray
    y0: np.ndarray
    y1: np.ndarray
    corners: np.ndarray  # (n, 4, 2) world: SW, SE, NE, NW
    case_i: np.ndarray  # case-region column, -1 outside
    case_j: np.ndarray
    dist_case: np.ndarray  # local distance to the case region (0 inside)

    def __len__(self) -> int:
        return len(self.col)

    @property
    def width(self) -> np.ndarray:
        return self.x1 - self.x0

    @property
    def height(self) -> np.ndarray:
        return self.y1 - self.y0

    @property
    def cx(self) -> np.ndarray:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> np.ndarray:
        return (self.y0 + self.y1) / 2

    def polygons(self) -> np.ndarray:
        return quad_polygons(self.corners)


@dataclass
class Patches:
    """Land-use patches: a block and a rectangle (u0, u1, v0, v1) in its bilinear coordinates."""

    block: np.ndarray
    u0: np.ndarray
    u1: np.ndarray
    v0: np.ndarray
    v1: np.ndarray
    dlbm: np.ndarray  # object array of 4-char codes
    pbf: np.ndarray  # bool: part of 永久基本农田

    def __len__(self) -> int:
        return len(self.block)


def _lines(
    case_lo: float,
    n_case: int,
    pitch_case: float,
    extent: float,
    pitch_range: tuple[float, float],
    rng: np.random.Generator,
) -> tuple[np.ndarray, int]:
    case = case_lo + pitch_case * np.arange(n_case + 1)
    left: list[float] = []
    p = case_lo
    while p > 0:
        p -= rng.uniform(*pitch_range)
        left.append(p)
    right: list[float] = []
    p = float(case[-1])
    while p < extent:
        p += rng.uniform(*pitch_range)
        right.append(p)
    return np.r_[left[::-1], case, right], len(left)


def _line_kinds(
    pos: np.ndarray,
    case_first: int,
    n_case: int,
    case_lo: float,
    case_hi: float,
    rng: np.random.Generator,
    *,
    river: bool,
) -> tuple[np.ndarray, np.ndarray]:
    n = len(pos) - 1
    r = rng.random(n)
    kinds = np.where(r < 0.2, "1107", "1006").astype(object)
    width = np.where(r < 0.2, rng.uniform(3.0, 6.0, n), rng.uniform(4.0, 7.0, n))
    main = (np.arange(n) % 7 == rng.integers(0, 7)) & (r > 0.2)
    kinds[main] = "1003"
    width[main] = rng.uniform(10.0, 16.0, main.sum())
    if river and n > 20:
        far = np.flatnonzero((pos[:-1] < case_lo - 1500) | (pos[:-1] > case_hi + 1500))
        far = far[(far > 2) & (far < n - 3)]
        if len(far):
            k = int(rng.choice(far))
            kinds[k] = "1101"
            width[k] = rng.uniform(30.0, 45.0)
    sl = slice(case_first, case_first + n_case + 1)
    kinds[sl] = "1006"
    width[sl] = 6.0
    return kinds, width


def build_lattice(frame: Frame, rng: np.random.Generator, *, river: bool) -> Lattice:
    """Road lines around the fixed case-region grid, and a random smooth warp."""
    xl, c0 = _lines(frame.case_x0, CASE_COLS, CASE_PITCH_X, frame.width, (230.0, 370.0), rng)
    yl, r0 = _lines(frame.case_y0, CASE_ROWS, CASE_PITCH_Y, frame.height, (190.0, 310.0), rng)
    x0, y0, x1, y1 = frame.case_box
    xk, xw = _line_kinds(xl, c0, CASE_COLS, x0, x1, rng, river=river)
    yk, yw = _line_kinds(yl, r0, CASE_ROWS, y0, y1, rng, river=False)
    # Case region: the middle vertical line is a 12 m county road (the township boundary) and the
    # line between rows 3 and 4 is a ditch.
    xk[c0 + 5], xw[c0 + 5] = "1003", 12.0
    yk[r0 + 4] = "1107"
    k = 3
    return Lattice(
        frame=frame,
        xl=xl,
        xw=xw,
        xk=xk,
        yl=yl,
        yw=yw,
        yk=yk,
        c0=c0,
        r0=r0,
        warp_amp=rng.uniform(8.0, 16.0, (2, k)),
        warp_dir=rng.uniform(0, np.pi, (2, k)),
        warp_len=rng.uniform(2500.0, 7000.0, (2, k)),
        warp_phase=rng.uniform(0, 2 * np.pi, (2, k)),
    )


def _inside_outline(
    frame: Frame, x: np.ndarray, y: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """A smooth, irregular county outline (superellipse with harmonic wobble)."""
    a, b = frame.width / 2 * 0.99, frame.height / 2 * 0.99
    dx, dy = x - frame.width / 2, y - frame.height / 2
    theta = np.arctan2(dy / b, dx / a)
    wobble = np.ones_like(theta)
    for k, amp in ((2, 0.04), (3, 0.05), (5, 0.03)):
        wobble += amp * np.sin(k * theta + rng.uniform(0, 2 * np.pi))
    p = 2.8
    r = (np.abs(dx / a) ** p + np.abs(dy / b) ** p) ** (1 / p)
    x0, y0, x1, y1 = frame.case_box
    near_case = (x > x0 - 400) & (x < x1 + 400) & (y > y0 - 400) & (y < y1 + 400)
    return (r < wobble * 0.97) | near_case


def quad_polygons(corners: np.ndarray) -> np.ndarray:
    """Polygons from (n, k, 2) vertex arrays (rings are closed here)."""
    ring = np.concatenate([corners, corners[:, :1, :]], axis=1)
    return shapely.polygons(ring)


def bilinear(corners: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Points at bilinear coordinates (u, v) of quads given as (n, 4, 2) SW, SE, NE, NW."""
    u = u[:, None]
    v = v[:, None]
    return (
        (1 - u) * (1 - v) * corners[:, 0]
        + u * (1 - v) * corners[:, 1]
        + u * v * corners[:, 2]
        + (1 - u) * v * corners[:, 3]
    )


def make_blocks(lat: Lattice, rng: np.random.Generator) -> tuple[Blocks, np.ndarray]:
    """All field blocks inside the county outline; also returns the keep-mask grid (ncols, nrows)."""
    gc, gr = np.meshgrid(np.arange(lat.ncols), np.arange(lat.nrows), indexing="ij")
    cc, rr = gc.ravel(), gr.ravel()
    x0 = lat.xl[cc] + lat.xw[cc]
    x1 = lat.xl[cc + 1]
    y0 = lat.yl[rr] + lat.yw[rr]
    y1 = lat.yl[rr + 1]
    keep = _inside_outline(lat.frame, (x0 + x1) / 2, (y0 + y1) / 2, rng)
    grid = keep.reshape(lat.ncols, lat.nrows)
    cc, rr, x0, x1, y0, y1 = cc[keep], rr[keep], x0[keep], x1[keep], y0[keep], y1[keep]
    xs = np.stack([x0, x1, x1, x0], axis=1)
    ys = np.stack([y0, y0, y1, y1], axis=1)
    corners = lat.to_world(xs, ys)
    ci = cc - lat.c0
    cj = rr - lat.r0
    in_case = (ci >= 0) & (ci < CASE_COLS) & (cj >= 0) & (cj < CASE_ROWS)
    bx0, by0, bx1, by1 = lat.frame.case_box
    ddx = np.maximum(np.maximum(bx0 - x1, x0 - bx1), 0.0)
    ddy = np.maximum(np.maximum(by0 - y1, y0 - by1), 0.0)
    blocks = Blocks(
        col=cc,
        row=rr,
        x0=x0,
        x1=x1,
        y0=y0,
        y1=y1,
        corners=corners,
        case_i=np.where(in_case, ci, -1),
        case_j=np.where(in_case, cj, -1),
        dist_case=np.hypot(ddx, ddy),
    )
    return blocks, grid


def road_cells(lat: Lattice, grid: np.ndarray) -> dict[str, np.ndarray]:
    """Road strips: vertical pieces west of each block, horizontal pieces (with the crossing) south.

    Road cell ``i`` (vertical) and ``n + i`` (horizontal) belong to block ``i`` (blocks and
    ``np.nonzero(grid)`` share the same column-major order). Returns ``col``, ``row``, ``dlbm``,
    ``cx``, ``cy`` (local centre), ``nodes`` (list of two (n, k, 2) world vertex arrays: vertical
    cells with 4 vertices, horizontal cells with 6) and ``geometry`` (plain world polygons).
    """
    cc, rr = np.nonzero(grid)
    # vertical: [xl, xl + xw] x [yl + yw, yl(next)]
    vx0, vx1 = lat.xl[cc], lat.xl[cc] + lat.xw[cc]
    vy0, vy1 = lat.yl[rr] + lat.yw[rr], lat.yl[rr + 1]
    vxs = np.stack([vx0, vx1, vx1, vx0], axis=1)
    vys = np.stack([vy0, vy0, vy1, vy1], axis=1)
    vnodes = lat.to_world(vxs, vys)
    # horizontal: [xl, xl(next)] x [yl, yl + yw], with a vertex where the vertical road meets it
    hx0, hxm, hx1 = lat.xl[cc], lat.xl[cc] + lat.xw[cc], lat.xl[cc + 1]
    hy0, hy1 = lat.yl[rr], lat.yl[rr] + lat.yw[rr]
    hxs = np.stack([hx0, hxm, hx1, hx1, hxm, hx0], axis=1)
    hys = np.stack([hy0, hy0, hy0, hy1, hy1, hy1], axis=1)
    hnodes = lat.to_world(hxs, hys)
    return {
        "col": np.r_[cc, cc],
        "row": np.r_[rr, rr],
        "dlbm": np.r_[lat.xk[cc], lat.yk[rr]].astype(object),
        "cx": np.r_[(vx0 + vx1) / 2, (hx0 + hx1) / 2],
        "cy": np.r_[(vy0 + vy1) / 2, (hy0 + hy1) / 2],
        "nodes": [vnodes, hnodes],
        "geometry": np.r_[quad_polygons(vnodes), quad_polygons(hnodes)],
    }


def _ring_polygons(
    owner: np.ndarray, slot: np.ndarray, t: np.ndarray, xy: np.ndarray
) -> np.ndarray:
    """Polygons from vertex rows ordered by (owner, slot, t); owners must be 0..n-1, all present."""
    order = np.lexsort((t, slot, owner))
    return shapely.polygons(shapely.linearrings(xy[order], indices=owner[order]))


def noded_geometries(
    blocks: Blocks, grid_index: np.ndarray, patches: Patches, roads: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Patch and road polygons of a strict coverage: shared boundaries have the same vertices.

    A strip corner that lies on the edge of a neighbouring patch or road strip (a T-junction) is
    inserted into that edge, so ``shapely.coverage_is_valid`` holds and ``coverage_union`` works.
    Returns (patch polygons, road polygons in the order of ``roads``).
    """
    import pandas as pd

    n = len(patches)
    blk = patches.block
    cu = np.stack([patches.u0, patches.u1, patches.u1, patches.u0], axis=1)
    cv = np.stack([patches.v0, patches.v0, patches.v1, patches.v1], axis=1)
    pts = pd.DataFrame({"b": np.repeat(blk, 4), "u": cu.ravel(), "v": cv.ravel()}).drop_duplicates()
    ids = np.arange(n)
    rows = [
        pd.DataFrame(
            {
                "p": np.repeat(ids, 4),
                "k": np.tile(np.arange(4), n),
                "t": -np.inf,
                "b": np.repeat(blk, 4),
                "u": cu.ravel(),
                "v": cv.ravel(),
            }
        )
    ]
    # horizontal edges: k=0 bottom (v0, u increasing), k=2 top (v1, u decreasing)
    he = pd.DataFrame({"p": np.r_[ids, ids], "k": np.r_[np.zeros(n), np.full(n, 2)], "b": np.r_[blk, blk], "v": np.r_[patches.v0, patches.v1],
                       "lo": np.r_[patches.u0, patches.u0], "hi": np.r_[patches.u1, patches.u1]})  # fmt: skip
    m = he.merge(pts, on=["b", "v"])
    m = m[(m["u"] > m["lo"]) & (m["u"] < m["hi"])]
    rows.append(
        pd.DataFrame(
            {
                "p": m["p"],
                "k": m["k"],
                "t": np.where(m["k"] == 0, m["u"], -m["u"]),
                "b": m["b"],
                "u": m["u"],
                "v": m["v"],
            }
        )
    )
    # vertical edges: k=1 right (u1, v increasing), k=3 left (u0, v decreasing)
    ve = pd.DataFrame({"p": np.r_[ids, ids], "k": np.r_[np.ones(n), np.full(n, 3)], "b": np.r_[blk, blk], "u": np.r_[patches.u1, patches.u0],
                       "lo": np.r_[patches.v0, patches.v0], "hi": np.r_[patches.v1, patches.v1]})  # fmt: skip
    m = ve.merge(pts, on=["b", "u"])
    m = m[(m["v"] > m["lo"]) & (m["v"] < m["hi"])]
    rows.append(
        pd.DataFrame(
            {
                "p": m["p"],
                "k": m["k"],
                "t": np.where(m["k"] == 1, m["v"], -m["v"]),
                "b": m["b"],
                "u": m["u"],
                "v": m["v"],
            }
        )
    )
    allp = pd.concat(rows, ignore_index=True)
    b_arr = allp["b"].to_numpy()
    xy = bilinear(blocks.corners[b_arr], allp["u"].to_numpy(), allp["v"].to_numpy())
    patch_geom = _ring_polygons(
        allp["p"].to_numpy(), allp["k"].to_numpy(), allp["t"].to_numpy(), xy
    )

    # roads: nodes, plus the strip corners of the adjacent blocks that lie on their edges
    nb = len(blocks)
    vnodes, hnodes = roads["nodes"]
    r_owner = [np.repeat(np.arange(nb), 4), np.repeat(nb + np.arange(nb), 6)]
    r_slot = [np.tile(np.arange(4), nb), np.tile(np.arange(6), nb)]
    r_t = [np.full(4 * nb, -np.inf), np.full(6 * nb, -np.inf)]
    r_xy = [vnodes.reshape(-1, 2), hnodes.reshape(-1, 2)]
    pb, pu, pv = pts["b"].to_numpy(), pts["u"].to_numpy(), pts["v"].to_numpy()
    col, row = blocks.col[pb], blocks.row[pb]

    def neighbour(dc: int, dr: int) -> np.ndarray:
        c, r = col + dc, row + dr
        ok = (c >= 0) & (c < grid_index.shape[0]) & (r >= 0) & (r < grid_index.shape[1])
        out = np.full(len(pb), -1, dtype=np.int64)
        out[ok] = grid_index[c[ok], r[ok]]
        return out

    inner_v = (pv > 0) & (pv < 1)
    inner_u = (pu > 0) & (pu < 1)
    east, north = neighbour(1, 0), neighbour(0, 1)
    cases = [
        (
            (pu == 0) & inner_v,
            pb,
            1,
            pv,
        ),  # west edge of the block -> right edge of its vertical road
        (
            (pu == 1) & inner_v & (east >= 0),
            east,
            3,
            -pv,
        ),  # east edge -> left edge of the next vertical road
        (
            (pv == 0) & inner_u,
            nb + pb,
            3,
            -pu,
        ),  # south edge -> upper right segment of its horizontal road
        (
            (pv == 1) & inner_u & (north >= 0),
            nb + north,
            1,
            pu,
        ),  # north edge -> lower right segment
    ]
    for mask, owner, slot, t in cases:
        k = np.flatnonzero(mask)
        r_owner.append(owner[k])
        r_slot.append(np.full(len(k), slot))
        r_t.append(t[k])
        r_xy.append(bilinear(blocks.corners[pb[k]], pu[k], pv[k]))
    road_geom = _ring_polygons(
        np.concatenate(r_owner), np.concatenate(r_slot), np.concatenate(r_t), np.concatenate(r_xy)
    )
    return patch_geom, road_geom


def _group_cumsum(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Cumulative sums restarting at every group (groups given by consecutive counts)."""
    cs = np.cumsum(values)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    offset = np.repeat(np.r_[0.0, cs][starts], counts)
    return cs - offset


def _strips(
    block_ids: np.ndarray,
    n_strips: np.ndarray,
    along_u: np.ndarray,
    rng: np.random.Generator,
    *,
    split_prob: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cut blocks into parallel strips, some strips halved across; returns (block, u0, u1, v0, v1)."""
    blk = np.repeat(block_ids, n_strips)
    w = rng.uniform(0.6, 1.4, len(blk))
    total = np.repeat(np.add.reduceat(w, np.r_[0, np.cumsum(n_strips)[:-1]]), n_strips)
    t1 = _group_cumsum(w, n_strips) / total
    t0 = t1 - w / total
    last = np.r_[np.cumsum(n_strips) - 1]
    t1[last] = 1.0  # exact block edge
    first = np.r_[0, np.cumsum(n_strips)[:-1]]
    t0[first] = 0.0
    # Consecutive strips must share the exact cut value.
    inner = np.ones(len(blk), dtype=bool)
    inner[first] = False
    t0[inner] = t1[np.flatnonzero(inner) - 1]
    orient = np.repeat(along_u, n_strips)
    split = rng.random(len(blk)) < split_prob
    s = rng.uniform(0.35, 0.65, len(blk))
    reps = np.where(split, 2, 1)
    blk2 = np.repeat(blk, reps)
    t0r, t1r, orr, sr = (
        np.repeat(t0, reps),
        np.repeat(t1, reps),
        np.repeat(orient, reps),
        np.repeat(s, reps),
    )
    second = np.zeros(len(blk2), dtype=bool)
    second[np.cumsum(reps)[split] - 1] = True
    is_split = np.repeat(split, reps)
    c0 = np.where(is_split & second, sr, 0.0)
    c1 = np.where(is_split & ~second, sr, 1.0)
    u0 = np.where(orr, t0r, c0)
    u1 = np.where(orr, t1r, c1)
    v0 = np.where(orr, c0, t0r)
    v1 = np.where(orr, c1, t1r)
    return blk2, u0, u1, v0, v1


_FARM_CODES = np.array(
    ["0102", "0103", "0101", "0201", "0301", "0307", "0404", "1104", "1202", "1203"], dtype=object
)
_FARM_WEIGHTS = np.array([0.64, 0.21, 0.01, 0.05, 0.02, 0.02, 0.02, 0.01, 0.01, 0.015])


def subdivide_blocks(
    blocks: Blocks,
    btype: np.ndarray,
    park_1202: np.ndarray,
    pbf_block: np.ndarray,
    mean_farm_patches: float,
    rng: np.random.Generator,
) -> Patches:
    """Land-use patches of every non-case block (case blocks are added by :mod:`.cases`)."""
    ids = np.flatnonzero(btype != BlockType.CASE)
    bt = btype[ids]
    n = np.ones(len(ids), dtype=np.int64)
    farm = bt == BlockType.FARM
    # Strips per farm block: ~Poisson around the mean needed for the DLTB target (halving adds 25 %).
    lam = max(mean_farm_patches / 1.25 - 1.0, 0.5)
    n[farm] = 1 + rng.poisson(lam, farm.sum())
    forest = bt == BlockType.FOREST
    n[forest] = rng.integers(2, 5, forest.sum())
    gh = (bt == BlockType.PARK) | (bt == BlockType.FRINGE)
    n[gh] = rng.integers(1, 3, gh.sum())
    ind = bt == BlockType.INDUSTRIAL
    n[ind] = rng.integers(1, 3, ind.sum())
    wide = blocks.width[ids] >= blocks.height[ids]
    along_u = np.where(farm, rng.random(len(ids)) < 0.7, wide)  # farm strips mostly run N-S
    block_along_u = np.zeros(len(blocks), dtype=bool)
    block_along_u[ids] = along_u
    blk, u0, u1, v0, v1 = _strips(ids, n, along_u, rng, split_prob=0.25)
    t = btype[blk]
    r = rng.random(len(blk))
    dlbm = np.full(len(blk), "0102", dtype=object)
    fm = t == BlockType.FARM
    dlbm[fm] = rng.choice(_FARM_CODES, fm.sum(), p=_FARM_WEIGHTS / _FARM_WEIGHTS.sum())
    dlbm[t == BlockType.VILLAGE] = "0702"
    dlbm[t == BlockType.INDUSTRIAL] = "0601"
    dlbm[t == BlockType.LIVESTOCK] = "1202"
    fo = t == BlockType.FOREST
    dlbm[fo] = np.where(r[fo] < 0.45, "0301", np.where(r[fo] < 0.75, "0307", "0201"))
    pk = t == BlockType.PARK
    dlbm[pk] = np.where(park_1202[blk[pk]], "1202", "0102")
    dlbm[t == BlockType.FRINGE] = "0102"
    # Some farm blocks have a ditch or field road along their west (or south) edge, cut out of
    # the first strip when that strip is whole and at least three times the ditch width.
    au = block_along_u[blk]
    size = np.where(au, blocks.width[blk], blocks.height[blk])
    frac = rng.uniform(3.0, 5.0, len(blk)) / size
    whole = np.where(
        au, (u0 == 0.0) & (v0 == 0.0) & (v1 == 1.0), (v0 == 0.0) & (u0 == 0.0) & (u1 == 1.0)
    )
    span = np.where(au, u1 - u0, v1 - v0)
    e = np.flatnonzero(fm & whole & (span > 3 * frac) & (rng.random(len(blk)) < 0.12))
    eu = au[e]
    d_u1 = np.where(eu, frac[e], 1.0)
    d_v1 = np.where(eu, 1.0, frac[e])
    u0[e] = np.where(eu, frac[e], u0[e])
    v0[e] = np.where(eu, v0[e], frac[e])
    ditch_code = np.where(rng.random(len(e)) < 0.6, "1107", "1006").astype(object)
    blk = np.r_[blk, blk[e]]
    u0, u1 = np.r_[u0, np.zeros(len(e))], np.r_[u1, d_u1]
    v0, v1 = np.r_[v0, np.zeros(len(e))], np.r_[v1, d_v1]
    dlbm = np.r_[dlbm, ditch_code]
    pbf = np.isin(dlbm, FARMLAND_CODES) & pbf_block[blk] & (rng.random(len(blk)) < 0.92)
    return Patches(blk, u0, u1, v0, v1, dlbm, pbf)


def kcxs_for(dlbm: np.ndarray, hilliness: np.ndarray) -> np.ndarray:
    """田坎 coefficient: 0 for 水田/水浇地 and non-farmland; 0.02-0.12 for 旱地 by slope zone."""
    steps = np.array([0.02, 0.05, 0.08, 0.12])
    k = steps[np.clip((hilliness * 4).astype(int), 0, 3)]
    return np.where(dlbm == "0103", k, 0.0)
