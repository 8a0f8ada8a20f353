"""Pure, vectorised overlay metrics: which geometries overlap which, and by how much.

Candidate pairs come from an STRtree; where one geometry lies within the other the overlap is
the smaller one's area and no intersection is computed; the remaining intersections run in GEOS
on worker threads (shapely 2 releases the GIL). Areas are ellipsoidal (CGCS2000) m².
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import CRS

from parcelwatch.crs import ellipsoidal_area_m2

__all__ = [
    "Pairs",
    "overlap_pairs",
    "sum_by",
    "max_by",
    "id_rank",
    "largest_share",
    "identical_in",
    "pairs_via_identical",
    "THREADS",
]


def id_rank(ids: np.ndarray) -> np.ndarray:
    """Rank of each id in sorted order (a numeric tie-break key independent of feature order)."""
    order = np.argsort(np.asarray(ids).astype(str), kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank


THREADS = max(1, min(4, os.cpu_count() or 1))
_CHUNK = 20_000  # elements per task at most
_MIN_SPLIT = 2_000  # fewer elements run on the calling thread


def _parallel(
    func: Callable[..., np.ndarray], *arrays: np.ndarray, owner: np.ndarray | None = None
) -> np.ndarray:
    """Apply a vectorised shapely function over chunks on worker threads.

    ``owner`` (one key per element) keeps every element with the same key on one thread: a GEOS
    prepared geometry builds its indexes lazily on first use and is not safe to use from two
    threads at once, so the pairs of one prepared container must not be split across threads
    (two threads testing parcels against the same prepared township crashed the process).
    """
    n = len(arrays[0])
    if n <= _MIN_SPLIT or THREADS == 1:
        return func(*arrays)
    if owner is not None:
        order = np.argsort(owner, kind="stable")
        keys = np.asarray(owner)[order]
        cuts = [0]
        for k in range(1, THREADS):
            at = int(np.searchsorted(keys, keys[min(n - 1, k * n // THREADS)], side="left"))
            if at > cuts[-1]:
                cuts.append(at)
        cuts.append(n)
        with ThreadPoolExecutor(THREADS) as pool:
            parts = list(
                pool.map(
                    lambda ab: func(*(a[order[ab[0] : ab[1]]] for a in arrays)),
                    zip(cuts[:-1], cuts[1:], strict=False),
                )
            )
        out = np.empty(n, dtype=parts[0].dtype if parts else bool)
        out[order] = np.concatenate(parts)
        return out
    step = min(_CHUNK, -(-n // THREADS))  # a small batch's few thousand still on every thread
    bounds = list(range(0, n, step)) + [n]
    with ThreadPoolExecutor(THREADS) as pool:
        parts = list(
            pool.map(
                lambda ab: func(*(a[ab[0] : ab[1]] for a in arrays)),
                zip(bounds[:-1], bounds[1:], strict=False),
            )
        )
    return np.concatenate(parts)


@dataclass(frozen=True)
class Pairs:
    """Overlapping pairs: left index, right index (positions), overlap in ellipsoidal m²."""

    left: np.ndarray
    right: np.ndarray
    area_m2: np.ndarray

    def __len__(self) -> int:
        return len(self.left)

    def keep(self, mask: np.ndarray) -> Pairs:
        return Pairs(self.left[mask], self.right[mask], self.area_m2[mask])


def overlap_pairs(
    left: np.ndarray,
    right: np.ndarray,
    crs: CRS,
    *,
    left_area_m2: np.ndarray | None = None,
    right_area_m2: np.ndarray | None = None,
    min_area_m2: float = 0.0,
    with_geometry: bool = False,
) -> tuple[Pairs, np.ndarray | None]:
    """Every (left, right) pair whose overlap is at least ``min_area_m2`` (and > 0).

    ``left``/``right`` are arrays of shapely polygons in the metric ``crs``. Passing their
    ellipsoidal areas avoids recomputing them for the containment shortcut. With
    ``with_geometry`` the overlap pieces are returned too (aligned to the pairs).
    """
    left = np.asarray(left, dtype=object)
    right = np.asarray(right, dtype=object)
    empty = Pairs(np.zeros(0, int), np.zeros(0, int), np.zeros(0))
    if len(left) == 0 or len(right) == 0:
        return empty, (np.zeros(0, dtype=object) if with_geometry else None)
    tree = shapely.STRtree(right)
    # bounding-box candidates only: an exact 'intersects' test would cost as much as it saves,
    # since the intersection (or containment) below decides the overlap anyway
    li, ri = tree.query(left)
    if len(li) == 0:
        return empty, (np.zeros(0, dtype=object) if with_geometry else None)
    # pairs in (left, right) order, whatever the tree's packing: per-left sums then add up in the
    # same order for the whole layer and for any subset of it read by extent (same bits)
    order = np.lexsort((ri, li))
    li, ri = li[order], ri[order]
    lg, rg = left[li], right[ri]
    # Containment is only possible where one bounding box lies inside the other; test only those,
    # with the prepared (container) geometry as the first argument, as GEOS needs.
    lb, rb = shapely.bounds(left), shapely.bounds(right)
    lbp, rbp = lb[li], rb[ri]
    l_box_in_r = (
        (lbp[:, 0] >= rbp[:, 0])
        & (lbp[:, 1] >= rbp[:, 1])
        & (lbp[:, 2] <= rbp[:, 2])
        & (lbp[:, 3] <= rbp[:, 3])
    )
    r_box_in_l = (
        (rbp[:, 0] >= lbp[:, 0])
        & (rbp[:, 1] >= lbp[:, 1])
        & (rbp[:, 2] <= lbp[:, 2])
        & (rbp[:, 3] <= lbp[:, 3])
    )
    l_in_r = np.zeros(len(li), dtype=bool)
    if l_box_in_r.any():
        shapely.prepare(right)
        l_in_r[l_box_in_r] = _parallel(
            shapely.covers, rg[l_box_in_r], lg[l_box_in_r], owner=ri[l_box_in_r]
        )
    r_in_l = np.zeros(len(li), dtype=bool)
    cand = r_box_in_l & ~l_in_r
    if cand.any():
        shapely.prepare(left)
        r_in_l[cand] = _parallel(shapely.covers, lg[cand], rg[cand], owner=li[cand])
    need = ~l_in_r & ~r_in_l
    if left_area_m2 is None:
        left_area_m2 = ellipsoidal_area_m2(left, crs)
    area = np.empty(len(li))
    area[l_in_r] = left_area_m2[li[l_in_r]]
    if right_area_m2 is not None:
        area[r_in_l] = right_area_m2[ri[r_in_l]]
    elif r_in_l.any():
        area[r_in_l] = ellipsoidal_area_m2(rg[r_in_l], crs)
    pieces = None
    if need.any():
        inter = _parallel(shapely.intersection, lg[need], rg[need])
        area[need] = ellipsoidal_area_m2(inter, crs)
    if with_geometry:
        pieces = np.empty(len(li), dtype=object)
        pieces[l_in_r] = lg[l_in_r]
        pieces[r_in_l] = rg[r_in_l]
        if need.any():
            pieces[need] = inter
    keep = (area > 0) & (area >= min_area_m2)
    pairs = Pairs(li[keep], ri[keep], area[keep])
    return pairs, (pieces[keep] if pieces is not None else None)


def identical_in(geoms: np.ndarray, other: np.ndarray) -> np.ndarray:
    """For each geometry, the position of an identical one (same vertices in the same order) in
    ``other``, or -1. Candidates share their bounding box exactly; ``equals_exact`` with zero
    tolerance confirms them. (永久基本农田 patches are usually 三调 patches as they are.)"""
    geoms = np.asarray(geoms, dtype=object)
    other = np.asarray(other, dtype=object)
    out = np.full(len(geoms), -1, dtype=np.int64)
    if len(geoms) == 0 or len(other) == 0:
        return out
    keys = np.concatenate([shapely.bounds(other), shapely.bounds(geoms)])
    src = np.r_[np.zeros(len(other), dtype=np.int8), np.ones(len(geoms), dtype=np.int8)]
    pos = np.r_[np.arange(len(other)), np.arange(len(geoms))]
    order = np.lexsort((src, keys[:, 3], keys[:, 2], keys[:, 1], keys[:, 0]))
    k = keys[order]
    start = np.r_[True, ~np.all(k[1:] == k[:-1], axis=1)]
    first = order[np.flatnonzero(start)[np.cumsum(start) - 1]]  # first member of each one's group
    mine = src[order] == 1
    cand = mine & (src[first] == 0) & np.all(np.isfinite(k), axis=1)
    g, o = pos[order][cand], pos[first][cand]
    ok = shapely.equals_exact(geoms[g], other[o], tolerance=0.0)
    out[g[ok]] = o[ok]
    return out


def pairs_via_identical(
    left: np.ndarray,
    right: np.ndarray,
    twin: np.ndarray,
    known: Pairs,
    crs: CRS,
    *,
    left_area_m2: np.ndarray | None = None,
) -> Pairs:
    """``overlap_pairs(left, right)`` (with ``min_area_m2=0``) when ``right[j]`` is identical to
    the geometry at position ``twin[j]`` (>= 0) of a layer whose pairs with ``left`` are ``known``
    (also with ``min_area_m2=0``): those pairs are reused, no intersection is computed again, and
    the result equals the direct one bit for bit (same pieces, same order of pairs)."""
    right = np.asarray(right, dtype=object)
    has = twin >= 0
    rest = np.flatnonzero(~has)
    rp, _ = overlap_pairs(left, right[rest], crs, left_area_m2=left_area_m2)
    js = np.flatnonzero(has)
    fs = twin[js]
    o = np.argsort(fs, kind="stable")
    js, fs = js[o], fs[o]
    lo = np.searchsorted(fs, known.right, side="left")
    counts = np.searchsorted(fs, known.right, side="right") - lo
    rep = np.repeat(np.arange(len(known)), counts)
    offs = np.arange(len(rep)) - np.repeat(np.cumsum(counts) - counts, counts)
    li = np.r_[rp.left, known.left[rep]].astype(np.int64)
    ri = np.r_[rest[rp.right], js[lo[rep] + offs]].astype(np.int64)
    area = np.r_[rp.area_m2, known.area_m2[rep]]
    order = np.lexsort((ri, li))
    return Pairs(li[order], ri[order], area[order])


def sum_by(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Sum ``values`` into ``n`` bins by ``index`` (np.bincount with float weights)."""
    if len(index) == 0:
        return np.zeros(n)
    return np.bincount(index, weights=values, minlength=n)[:n]


def max_by(
    index: np.ndarray, values: np.ndarray, n: int, tiebreak: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per bin: the position (into ``values``) of the largest value, or -1, and that value.

    Ties go to the smallest ``tiebreak`` (e.g. the rank of the other feature's id), so results do
    not depend on feature order.
    """
    best = np.full(n, -1, dtype=np.int64)
    best_val = np.zeros(n)
    if len(index) == 0:
        return best, best_val
    keys = (-values, index) if tiebreak is None else (tiebreak, -values, index)
    order = np.lexsort(keys)  # by bin, largest first, then smallest tiebreak
    first = np.ones(len(order), dtype=bool)
    first[1:] = index[order][1:] != index[order][:-1]
    sel = order[first]
    best[index[sel]] = sel
    best_val[index[sel]] = values[sel]
    return best, best_val


def largest_share(
    geoms: np.ndarray, zones: np.ndarray, crs: CRS, *, geom_area_m2: np.ndarray | None = None
) -> np.ndarray:
    """For each geometry, the position of the zone (township, village) holding most of it, or -1."""
    pairs, _ = overlap_pairs(geoms, zones, crs, left_area_m2=geom_area_m2)
    best, _ = max_by(pairs.left, pairs.area_m2, len(geoms), tiebreak=pairs.right)
    out = np.full(len(geoms), -1, dtype=np.int64)
    ok = best >= 0
    out[ok] = pairs.right[best[ok]]
    return out
