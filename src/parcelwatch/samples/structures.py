"""Greenhouses, buildings and agricultural parks laid out inside field blocks (vectorised).

Layouts are computed in block-local metres (``x`` east, ``y`` north from the block's SW corner) and
mapped into the warped block with bilinear coordinates, so every structure stays inside its block.

* 日光温室 (solar greenhouses): long east-west rectangles (60-100 m x 8-12 m) in rows, often with a
  small caretaker room at the west end;
* 塑料大棚 (plastic tunnels): north-south rectangles (8-10 m x 50-80 m) side by side;
* 连栋温室 (multi-span): big blocks (30-60 m x 50-100 m);
* village houses: one main building per courtyard lot, in rows;
* factories (厂房/仓储) on industrial land, livestock sheds (畜禽舍) on facility land.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .landscape import Blocks, bilinear, quad_polygons

__all__ = [
    "Rects",
    "rect_polygons",
    "greenhouse_rows",
    "caretaker_rooms",
    "village_houses",
    "factories",
    "livestock_sheds",
    "farm_stores",
    "building_attributes",
]

SOLAR, TUNNEL, MULTI = "日光温室", "塑料大棚", "连栋温室"


@dataclass
class Rects:
    """Axis-aligned rectangles in block-local metres."""

    block: np.ndarray
    x0: np.ndarray
    x1: np.ndarray
    y0: np.ndarray
    y1: np.ndarray
    kind: np.ndarray  # object array (greenhouse type or building use category)

    def __len__(self) -> int:
        return len(self.block)

    def take(self, mask: np.ndarray) -> Rects:
        return Rects(
            self.block[mask],
            self.x0[mask],
            self.x1[mask],
            self.y0[mask],
            self.y1[mask],
            self.kind[mask],
        )

    @staticmethod
    def concat(parts: list[Rects]) -> Rects:
        return Rects(
            *(
                np.concatenate([getattr(p, f) for p in parts])
                for f in ("block", "x0", "x1", "y0", "y1", "kind")
            )
        )

    @staticmethod
    def empty() -> Rects:
        z = np.zeros(0)
        return Rects(np.zeros(0, dtype=np.int64), z, z, z, z, np.zeros(0, dtype=object))


def rect_polygons(blocks: Blocks, r: Rects) -> np.ndarray:
    """World polygons of block-local rectangles (bilinear mapping into the warped block)."""
    if len(r) == 0:
        return np.zeros(0, dtype=object)
    c = blocks.corners[r.block]
    w, h = blocks.width[r.block], blocks.height[r.block]
    us = [r.x0 / w, r.x1 / w, r.x1 / w, r.x0 / w]
    vs = [r.y0 / h, r.y0 / h, r.y1 / h, r.y1 / h]
    pts = np.stack([bilinear(c, u, v) for u, v in zip(us, vs, strict=True)], axis=1)
    return quad_polygons(pts)


def _grid(
    ids: np.ndarray,
    bw: np.ndarray,
    bh: np.ndarray,
    sx: np.ndarray,
    sy: np.ndarray,
    gx: np.ndarray,
    gy: np.ndarray,
    margin: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Regular grid of sx x sy rectangles with gaps gx, gy, centred in each block.

    Returns (block, x0, y0, sx, sy, col, row) per rectangle.
    """
    ncol = np.maximum(np.floor((bw - 2 * margin + gx) / (sx + gx)), 0).astype(np.int64)
    nrow = np.maximum(np.floor((bh - 2 * margin + gy) / (sy + gy)), 0).astype(np.int64)
    offx = (bw - (ncol * sx + (ncol - 1).clip(0) * gx)) / 2
    offy = (bh - (nrow * sy + (nrow - 1).clip(0) * gy)) / 2
    count = ncol * nrow
    rep = np.repeat(np.arange(len(ids)), count)
    k = np.arange(count.sum()) - np.repeat(np.r_[0, np.cumsum(count)[:-1]], count)
    col = k % np.maximum(ncol[rep], 1)
    row = k // np.maximum(ncol[rep], 1)
    x0 = offx[rep] + col * (sx[rep] + gx[rep])
    y0 = offy[rep] + row * (sy[rep] + gy[rep])
    return ids[rep], x0, y0, sx[rep], sy[rep], col, row


def greenhouse_rows(
    blocks: Blocks, ids: np.ndarray, kinds: np.ndarray, fill: np.ndarray, rng: np.random.Generator
) -> Rects:
    """Greenhouses filling blocks ``ids`` (one type per block); ``fill`` = share of slots used."""
    n = len(ids)
    bw, bh = blocks.width[ids], blocks.height[ids]
    solar, tunnel = kinds == SOLAR, kinds == TUNNEL
    sx = np.where(
        solar,
        rng.uniform(60, 100, n),
        np.where(tunnel, rng.uniform(8, 10, n), rng.uniform(30, 60, n)),
    )
    sy = np.where(
        solar,
        rng.uniform(8, 12, n),
        np.where(tunnel, rng.uniform(50, 80, n), rng.uniform(50, 100, n)),
    )
    gx = np.where(
        solar,
        rng.uniform(12, 18, n),
        np.where(tunnel, rng.uniform(2, 4, n), rng.uniform(10, 20, n)),
    )
    gy = np.where(
        solar,
        rng.uniform(8, 14, n),
        np.where(tunnel, rng.uniform(6, 10, n), rng.uniform(10, 20, n)),
    )
    blk, x0, y0, w, h, _, _ = _grid(ids, bw, bh, sx, sy, gx, gy, margin=12.0)
    kind_of = dict(zip(ids.tolist(), kinds.tolist(), strict=True))
    fill_of = np.zeros(len(blocks))
    fill_of[ids] = fill
    keep = rng.random(len(blk)) < fill_of[blk]
    kind = np.array([kind_of[b] for b in blk[keep].tolist()], dtype=object)
    return Rects(blk[keep], x0[keep], x0[keep] + w[keep], y0[keep], y0[keep] + h[keep], kind)


def caretaker_rooms(gh: Rects, rng: np.random.Generator) -> Rects:
    """Small single-storey rooms (12 or 13 m²) just outside some greenhouses.

    Solar greenhouses get one at the west end (25 %), tunnels at the south end (10 %), multi-span
    houses on the west side (50 %). All stay within 2-3 m of their greenhouse.
    """
    p = np.select([gh.kind == SOLAR, gh.kind == TUNNEL], [0.25, 0.10], 0.5)
    sel = rng.random(len(gh)) < p
    g = gh.take(sel)
    n = len(g)
    depth = np.where(rng.random(n) < 0.5, 3.0, 3.25)
    solar, tunnel = g.kind == SOLAR, g.kind == TUNNEL
    ymid = (g.y0 + g.y1) / 2
    xmid = (g.x0 + g.x1) / 2
    # west end (solar, multi): depth east-west, 4 m north-south; tunnel: 4 m wide, depth north-south
    gap = np.where(tunnel, 1.5, 2.0)
    x1 = np.where(tunnel, xmid + 2.0, g.x0 - gap)
    x0 = np.where(tunnel, xmid - 2.0, g.x0 - gap - depth)
    y1 = np.where(tunnel, g.y0 - gap, ymid + 2.0)
    y0 = np.where(tunnel, g.y0 - gap - depth, ymid - 2.0)
    multi = ~(solar | tunnel)
    y0 = np.where(multi, g.y0 + 5.0, y0)
    y1 = np.where(multi, g.y0 + 9.0, y1)
    return Rects(g.block, x0, x1, y0, y1, np.full(n, "caretaker", dtype=object))


def village_houses(blocks: Blocks, ids: np.ndarray, rng: np.random.Generator) -> Rects:
    """Courtyard houses: one main building at the north side of each lot (88 % of lots built)."""
    n = len(ids)
    px, py = rng.uniform(16, 20, n), rng.uniform(20, 24, n)
    blk, x0, y0, w, h, _, _ = _grid(
        ids, blocks.width[ids], blocks.height[ids], px, py, np.zeros(n), np.zeros(n), margin=8.0
    )
    m = len(blk)
    hw = np.minimum(rng.uniform(10.0, 13.0, m), w - 3.0)
    hd = rng.uniform(7.0, 9.0, m)
    hx0 = x0 + (w - hw) / 2
    hy1 = y0 + h - 2.0
    keep = rng.random(m) < 0.88
    return Rects(
        blk[keep],
        hx0[keep],
        (hx0 + hw)[keep],
        (hy1 - hd)[keep],
        hy1[keep],
        np.full(keep.sum(), "house", dtype=object),
    )


def factories(blocks: Blocks, ids: np.ndarray, rng: np.random.Generator) -> Rects:
    """Two to six large sheds per industrial block."""
    n = len(ids)
    bw, bh = blocks.width[ids], blocks.height[ids]
    nx, ny = rng.integers(2, 4, n), rng.integers(1, 3, n)
    cw, ch = (bw - 20) / nx, (bh - 20) / ny
    sx = cw * rng.uniform(0.5, 0.75, n)
    sy = ch * rng.uniform(0.45, 0.7, n)
    blk, x0, y0, w, h, _, _ = _grid(ids, bw, bh, sx, sy, cw - sx, ch - sy, margin=10.0)
    return Rects(blk, x0, x0 + w, y0, y0 + h, np.full(len(blk), "factory", dtype=object))


def livestock_sheds(blocks: Blocks, ids: np.ndarray, rng: np.random.Generator) -> Rects:
    """Long north-south animal sheds (10-12 m x 60-80 m)."""
    n = len(ids)
    blk, x0, y0, w, h, _, _ = _grid(
        ids, blocks.width[ids], blocks.height[ids], rng.uniform(10, 12, n), rng.uniform(60, 80, n),
        rng.uniform(10, 14, n), rng.uniform(15, 25, n), margin=15.0,
    )  # fmt: skip
    return Rects(blk, x0, x0 + w, y0, y0 + h, np.full(len(blk), "shed", dtype=object))


def farm_stores(blocks: Blocks, ids: np.ndarray, rng: np.random.Generator) -> Rects:
    """One machinery or input store (7 m x 15 m) in the south-west margin of some blocks."""
    keep = ids[rng.random(len(ids)) < 0.5]
    n = len(keep)
    return Rects(
        keep,
        np.full(n, 3.0),
        np.full(n, 18.0),
        np.full(n, 1.5),
        np.full(n, 8.5),
        np.full(n, "store", dtype=object),
    )


def building_attributes(kind: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """用途 (YT), 层数 (CS) and 高度 (GD, m) for background buildings by category.

    YT is None for about 10 % of buildings (unknown use); CS and GD are sometimes missing too.
    """
    n = len(kind)
    r = rng.random(n)
    yt = np.full(n, None, dtype=object)
    house = kind == "house"
    house_uses = np.array(["住宅", "仓储", "厂房", "餐饮", "住宿", "养老"], dtype=object)
    yt[house] = rng.choice(house_uses, house.sum(), p=[0.955, 0.02, 0.01, 0.007, 0.004, 0.004])
    care = kind == "caretaker"
    yt[care] = rng.choice(
        np.array(["看护房", "管护房", "管理房"], dtype=object), care.sum(), p=[0.78, 0.11, 0.11]
    )
    fac = kind == "factory"
    yt[fac] = np.where(rng.random(fac.sum()) < 0.7, "厂房", "仓储")
    yt[kind == "shed"] = "畜禽舍"
    store = kind == "store"
    yt[store] = np.where(rng.random(store.sum()) < 0.5, "农机库", "农资仓库")
    yt[r < 0.10] = None
    cs = np.ones(n, dtype=float)
    cs[house] = rng.choice([1.0, 2.0, 3.0], house.sum(), p=[0.64, 0.34, 0.02])
    cs[fac] = rng.choice([1.0, 2.0, 3.0], fac.sum(), p=[0.6, 0.3, 0.1])
    cs[house & (rng.random(n) < 0.06)] = np.nan
    per_storey = np.select([house, fac, kind == "shed"], [3.1, 5.0, 4.0], 2.9)
    gd = np.round(cs * per_storey + rng.uniform(-0.3, 0.5, n), 1)
    gd[rng.random(n) < 0.08] = np.nan
    gd[np.isnan(cs)] = np.nan
    return {"YT": yt, "CS": cs, "GD": gd}
