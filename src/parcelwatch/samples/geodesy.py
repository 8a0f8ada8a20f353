"""Coordinate systems and exact ellipsoidal areas of the sample county.

The county is modelled in CGCS2000 3-degree Gauss-Kruger zone 40 without zone prefix
(EPSG:4549, central meridian 120 E, false easting 500 000 m). The same projection *with* the zone
prefix (EPSG:4528) differs only by 40 000 000 m of false easting, so converting between the two
is an exact shift of X. Areas are ellipsoidal on the CGCS2000 ellipsoid, computed with
:class:`pyproj.Geod` (Karney's geodesic polygon area) on the lon/lat vertices, ring by ring.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import shapely
from pyproj import Geod, Transformer

__all__ = [
    "GK_PLAIN",
    "GK_PREFIXED",
    "GEOGRAPHIC",
    "ZONE_PREFIX_OFFSET",
    "CGCS2000_GEOD",
    "to_prefixed",
    "to_lonlat",
    "lonlat_to_gk",
    "ellipsoidal_area",
]

GK_PLAIN = "EPSG:4549"
GK_PREFIXED = "EPSG:4528"
GEOGRAPHIC = "EPSG:4490"
ZONE_PREFIX_OFFSET = 40_000_000.0
CGCS2000_GEOD = Geod(a=6378137.0, f=1.0 / 298.257222101)


@lru_cache(maxsize=2)
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def to_prefixed(geoms: np.ndarray) -> np.ndarray:
    """Shift EPSG:4549 geometries to the zone-prefixed EPSG:4528 (X + 40 000 000 m)."""
    return shapely.transform(geoms, lambda xy: xy + np.array([ZONE_PREFIX_OFFSET, 0.0]))


def to_lonlat(geoms: np.ndarray) -> np.ndarray:
    """Transform EPSG:4549 geometries to CGCS2000 lon/lat (EPSG:4490, x = lon)."""
    tr = _transformer(GK_PLAIN, GEOGRAPHIC)

    def _fwd(xy: np.ndarray) -> np.ndarray:
        lon, lat = tr.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([lon, lat])

    return shapely.transform(geoms, _fwd)


def lonlat_to_gk(lon: float, lat: float) -> tuple[float, float]:
    """EPSG:4549 coordinates of one CGCS2000 lon/lat point."""
    x, y = _transformer(GEOGRAPHIC, GK_PLAIN).transform(lon, lat)
    return float(x), float(y)


def ellipsoidal_area(geoms_gk: np.ndarray) -> np.ndarray:
    """Ellipsoidal (CGCS2000) area in m² of EPSG:4549 (multi)polygons.

    Exterior rings count positive and holes negative, whatever their orientation. The result is
    the same as ``abs(Geod.geometry_area_perimeter(lonlat_polygon)[0])`` for valid polygons.

    >>> import shapely
    >>> a = ellipsoidal_area(np.array([shapely.box(388000, 4081000, 388100, 4081100)]))
    >>> bool(abs(a[0] - 10000) < 5)
    True
    """
    geoms_gk = np.asarray(geoms_gk, dtype=object)
    out = np.zeros(len(geoms_gk))
    if len(geoms_gk) == 0:
        return out
    parts, part_owner = shapely.get_parts(geoms_gk, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    if len(rings) == 0:
        return out
    # The first ring of every polygon part is its exterior.
    is_exterior = np.r_[True, ring_part[1:] != ring_part[:-1]]
    coords, ring_of_coord = shapely.get_coordinates(rings, return_index=True)
    lon, lat = _transformer(GK_PLAIN, GEOGRAPHIC).transform(coords[:, 0], coords[:, 1])
    bounds = np.r_[0, np.flatnonzero(np.diff(ring_of_coord)) + 1, len(ring_of_coord)]
    ring_area = np.empty(len(rings))
    area_fn = CGCS2000_GEOD.polygon_area_perimeter
    for k in range(len(rings)):
        s, e = bounds[k], bounds[k + 1]
        ring_area[k] = abs(area_fn(lon[s:e], lat[s:e])[0])
    signed = np.where(is_exterior, ring_area, -ring_area)
    np.add.at(out, part_owner[ring_part], signed)
    return out
