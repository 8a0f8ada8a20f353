"""Reusing the overlaps of identical geometries (永农 patches that are 三调 patches as they are).

Hand-drawn in EPSG:4549: F is a 4 x 2 grid of 100 m squares; Q holds F's squares 1, 2 and 5 as
they are, square 6 with its vertices starting at another corner (same shape, not identical), and
a 50 m square (20-70) of its own. Parcels: L0 (50-250, 50-150) across squares 0-2 and 4-6 (row 1
is squares 4-7), so on Q 0-4: 100 x 50, 50 x 50, 100 x 50, 50 x 50 and 20 x 20 m; L1
(260-340, 110-190) on squares 6 and 7, so on Q 3 only (40 x 80 m).
"""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import CRS

from parcelwatch.rules.overlay import identical_in, overlap_pairs, pairs_via_identical

CRS_ = CRS.from_epsg(4549)
X0, Y0 = 390_000.0, 4_080_000.0


def sq(x0, y0, x1, y1):
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def test_identical_in_finds_only_identical_geometries():
    F = np.array(
        [
            sq(100 * (i % 4), 100 * (i // 4), 100 * (i % 4) + 100, 100 * (i // 4) + 100)
            for i in range(8)
        ],
        dtype=object,
    )
    rotated = shapely.Polygon(np.roll(np.asarray(F[6].exterior.coords)[:-1], 1, axis=0))
    Q = np.array([F[1], F[2], F[5], rotated, sq(20, 20, 70, 70)], dtype=object)
    Q = shapely.from_wkb(shapely.to_wkb(Q))  # other objects, same coordinates
    assert identical_in(Q, F).tolist() == [1, 2, 5, -1, -1]
    assert rotated.equals(F[6])  # the same shape, but not the same vertices: computed directly

    L = np.array([sq(50, 50, 250, 150), sq(260, 110, 340, 190)], dtype=object)
    known, _ = overlap_pairs(L, F, CRS_)
    direct, _ = overlap_pairs(L, Q, CRS_)
    reused = pairs_via_identical(L, Q, identical_in(Q, F), known, CRS_)
    assert reused.left.tolist() == direct.left.tolist() == [0, 0, 0, 0, 0, 1]
    assert reused.right.tolist() == direct.right.tolist() == [0, 1, 2, 3, 4, 3]
    assert reused.area_m2.tobytes() == direct.area_m2.tobytes()  # bit for bit
    # planar m² / 1.0003 (the GK areal scale 110 km from the central meridian)
    planar = np.array([5000, 2500, 5000, 2500, 400, 3200])
    assert np.allclose(reused.area_m2, planar / 1.0003, rtol=2e-5)
