"""Satellite change parcels (卫片图斑) of the background: sites, outlines and batch-2 redraws.

Background parcels sit in *slots*: the four quadrants of field blocks outside the case region.
One slot holds at most one parcel per batch, so parcels of a batch never overlap. A parcel is a
16-vertex outline around a rectangle, each vertex pushed outwards by a few metres (as an image
interpreter draws around a change with some margin); the outline always contains its rectangle.

Site kinds (by block type): bare earth works on fields (推填土), greenhouse construction (其他),
new houses at village edges and new factory sheds (新增建设用地), and -- for medium and large
counties only -- new buildings on farmland (新增建设用地) or inside greenhouse blocks (大棚房),
whose classification is left to the rules.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from .landscape import Blocks, BlockType, bilinear

__all__ = ["Sites", "outline_vertices", "outline_polygons", "pick_sites", "redraw_sites", "iou"]

CHANGE_TYPE = {
    "bare": "推填土",
    "greenhouse": "其他",
    "village": "新增建设用地",
    "industrial": "新增建设用地",
    "new_building": "新增建设用地",
    "greenhouse_building": "大棚房",
}

_NEW_USES = np.array(
    ["住宅", "厂房", "仓储", None, "餐饮", "畜禽舍", "住宿", "农资仓库"], dtype=object
)
_NEW_USE_P = np.array([0.3, 0.22, 0.14, 0.12, 0.06, 0.08, 0.04, 0.04])
# (min, max) size in metres along x and y for each use above
_NEW_SIZE = {
    "住宅": (10, 14, 8, 11), "厂房": (20, 45, 15, 30), "仓储": (12, 30, 10, 20), None: (6, 20, 6, 15),
    "餐饮": (12, 25, 10, 15), "畜禽舍": (10, 12, 30, 50), "住宿": (12, 20, 10, 14), "农资仓库": (8, 15, 6, 10),
}  # fmt: skip


@dataclass
class Sites:
    """Background parcel sites; rectangles in block-local metres."""

    block: np.ndarray
    slot: np.ndarray  # block * 4 + quadrant
    kind: (
        np.ndarray
    )  # object: bare / greenhouse / village / industrial / new_building / greenhouse_building
    x0: np.ndarray
    y0: np.ndarray
    x1: np.ndarray
    y1: np.ndarray
    b_x0: np.ndarray  # new building rectangle (nan when none)
    b_y0: np.ndarray
    b_x1: np.ndarray
    b_y1: np.ndarray
    b_use: np.ndarray

    def __len__(self) -> int:
        return len(self.block)

    @property
    def has_building(self) -> np.ndarray:
        return ~np.isnan(self.b_x0)


def outline_vertices(
    x0: np.ndarray,
    y0: np.ndarray,
    x1: np.ndarray,
    y1: np.ndarray,
    rng: np.random.Generator,
    jitter: float = 3.0,
) -> np.ndarray:
    """(n, 16, 2) outline vertices around rectangles (vectorised twin of ``cases._outline``)."""
    n = len(x0)
    f = np.array([0.25, 0.5, 0.75])[None, :] + rng.uniform(-0.08, 0.08, (n, 3))
    d = rng.uniform(0.0, jitter, (n, 16))
    w, h = (x1 - x0)[:, None], (y1 - y0)[:, None]
    xs = np.concatenate(
        [(x0 - d[:, 0])[:, None], x0[:, None] + w * f, (x1 + d[:, 5])[:, None], x1[:, None] + d[:, 7:10],
         (x1 + d[:, 10])[:, None], x1[:, None] - w * f, (x0 - d[:, 11])[:, None], x0[:, None] - d[:, 12:15]],
        axis=1,
    )  # fmt: skip
    ys = np.concatenate(
        [(y0 - d[:, 1])[:, None], y0[:, None] - d[:, 2:5], (y0 - d[:, 6])[:, None], y0[:, None] + h * f,
         (y1 + d[:, 15])[:, None], y1[:, None] + d[:, 2:5][:, ::-1], (y1 + d[:, 6])[:, None], y1[:, None] - h * f],
        axis=1,
    )  # fmt: skip
    return np.stack([xs, ys], axis=2)


def outline_polygons(blocks: Blocks, block: np.ndarray, verts: np.ndarray) -> np.ndarray:
    """World polygons of block-local outline vertices (bilinear mapping into the block)."""
    c = blocks.corners[block]
    w, h = blocks.width[block], blocks.height[block]
    pts = np.stack(
        [bilinear(c, verts[:, k, 0] / w, verts[:, k, 1] / h) for k in range(verts.shape[1])], axis=1
    )
    ring = np.concatenate([pts, pts[:, :1]], axis=1)
    return shapely.polygons(ring)


_KIND_OF_TYPE = {
    BlockType.FARM: "bare",
    BlockType.FOREST: "bare",
    BlockType.PARK: "greenhouse",
    BlockType.FRINGE: "greenhouse",
    BlockType.LIVESTOCK: "greenhouse",
    BlockType.VILLAGE: "village",
    BlockType.INDUSTRIAL: "industrial",
}


def pick_sites(
    blocks: Blocks,
    btype: np.ndarray,
    eligible: np.ndarray,
    used: np.ndarray,
    n: int,
    rng: np.random.Generator,
    *,
    with_buildings: bool,
) -> Sites:
    """Choose ``n`` free slots and lay out a site in each.

    ``used`` is a boolean array over all slots (len(blocks) * 4), updated in place.
    """
    slots = np.flatnonzero(np.repeat(eligible, 4) & ~used)
    kind_block = np.array([_KIND_OF_TYPE.get(int(t), "bare") for t in btype], dtype=object)
    kind = kind_block[slots // 4]
    # Weight the mix towards farm sites; greenhouse and village sites are rarer per slot.
    weight = np.select(
        [kind == "bare", kind == "greenhouse", kind == "village", kind == "industrial"],
        [1.0, 2.0, 1.5, 2.0],
        1.0,
    )
    n = min(n, len(slots))
    pick = np.sort(rng.choice(slots, n, replace=False, p=weight / weight.sum()))
    used[pick] = True
    blk, quad = pick // 4, pick % 4
    kind = kind_block[blk].copy()
    if with_buildings:
        farm = kind == "bare"
        kind[farm & (rng.random(n) < 0.6)] = "new_building"
        gh = kind == "greenhouse"
        kind[gh & (rng.random(n) < 0.3)] = "greenhouse_building"
    qw, qh = blocks.width[blk] / 2, blocks.height[blk] / 2
    cx = (quad % 2 + 0.5) * qw + rng.uniform(-0.08, 0.08, n) * qw
    cy = (quad // 2 + 0.5) * qh + rng.uniform(-0.08, 0.08, n) * qh
    hw = rng.uniform(0.12, 0.3, n) * qw
    hh = rng.uniform(0.12, 0.3, n) * qh
    bx0 = np.full(n, np.nan)
    by0, bx1, by1 = bx0.copy(), bx0.copy(), bx0.copy()
    use = np.full(n, None, dtype=object)
    nb = np.flatnonzero((kind == "new_building") | (kind == "greenhouse_building"))
    if len(nb):
        u = rng.choice(_NEW_USES, len(nb), p=_NEW_USE_P)
        u[kind[nb] == "greenhouse_building"] = rng.choice(
            np.array(["餐饮", "住宅", None, "看护房", "仓储"], dtype=object),
            (kind[nb] == "greenhouse_building").sum(),
        )
        lim = np.array(
            [_NEW_SIZE.get(x, _NEW_SIZE[None]) if x != "看护房" else (4, 7, 4, 6) for x in u],
            dtype=float,
        )
        sx = rng.uniform(lim[:, 0], lim[:, 1])
        sy = rng.uniform(lim[:, 2], lim[:, 3])
        sx = np.minimum(sx, 0.6 * qw[nb])
        sy = np.minimum(sy, 0.6 * qh[nb])
        bx0[nb], bx1[nb] = cx[nb] - sx / 2, cx[nb] + sx / 2
        by0[nb], by1[nb] = cy[nb] - sy / 2, cy[nb] + sy / 2
        use[nb] = u
        hw[nb] = np.minimum(np.maximum(hw[nb], sx / 2 + rng.uniform(6, 15, len(nb))), 0.38 * qw[nb])
        hh[nb] = np.minimum(np.maximum(hh[nb], sy / 2 + rng.uniform(6, 15, len(nb))), 0.38 * qh[nb])
    return Sites(blk, pick, kind, cx - hw, cy - hh, cx + hw, cy + hh, bx0, by0, bx1, by1, use)


def redraw_sites(blocks: Blocks, sites: Sites, rng: np.random.Generator) -> Sites:
    """The same sites drawn again by another interpreter: shifted by a few metres and rescaled.

    The rectangle still contains the site's building, if any, and stays inside its slot.
    """
    n = len(sites)
    w, h = sites.x1 - sites.x0, sites.y1 - sites.y0
    cx = (sites.x0 + sites.x1) / 2 + rng.uniform(-0.08, 0.08, n) * w
    cy = (sites.y0 + sites.y1) / 2 + rng.uniform(-0.08, 0.08, n) * h
    hw = w / 2 * rng.uniform(0.88, 1.15, n)
    hh = h / 2 * rng.uniform(0.88, 1.15, n)
    x0, x1, y0, y1 = cx - hw, cx + hw, cy - hh, cy + hh
    b = sites.has_building
    x0[b] = np.minimum(x0[b], sites.b_x0[b] - 3)
    x1[b] = np.maximum(x1[b], sites.b_x1[b] + 3)
    y0[b] = np.minimum(y0[b], sites.b_y0[b] - 3)
    y1[b] = np.maximum(y1[b], sites.b_y1[b] + 3)
    quad = sites.slot % 4
    qw, qh = blocks.width[sites.block] / 2, blocks.height[sites.block] / 2
    qx0, qy0 = (quad % 2) * qw, (quad // 2) * qh
    x0, x1 = np.maximum(x0, qx0 + 0.04 * qw), np.minimum(x1, qx0 + 0.96 * qw)
    y0, y1 = np.maximum(y0, qy0 + 0.04 * qh), np.minimum(y1, qy0 + 0.96 * qh)
    return Sites(
        sites.block,
        sites.slot,
        sites.kind,
        x0,
        y0,
        x1,
        y1,
        sites.b_x0,
        sites.b_y0,
        sites.b_x1,
        sites.b_y1,
        sites.b_use,
    )


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of paired (valid) polygons."""
    inter = shapely.area(shapely.intersection(a, b))
    return inter / (shapely.area(a) + shapely.area(b) - inter)
